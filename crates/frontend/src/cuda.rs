//! Numba's CUDA kernel language: `cuda.threadIdx.x`, `cuda.grid`, shared,
//! local and constant arrays, barriers, atomics, warp functions and
//! intrinsics, lowered to the kernel operations of the IR.
//!
//! Names arrive from the environment as `Global::Module("hypersonic.cuda")`
//! (or `"numba.cuda"`) and as `Global::Builtin("hypersonic.cuda.<path>")`; both
//! spellings are normalised to `hypersonic.cuda.<path>`.

use hypersonic_ir::{
    AtomicOp, Axis, BarrierReduce, BitFn, Const, FenceScope, Geometry, MathFn, Op, Scalar, Shuffle,
    Space, Stmt as IrStmt, Type, ValueId, Vote,
};
use ruff_text_size::{Ranged, TextRange};

use crate::lower::{const_int, FnLower, Value, R};
use crate::parse::ast;
use crate::typing::describe;
use crate::{ConstValue, FunctionKind, Global};

/// The path of a CUDA name below the `cuda` module: `Some("")` for the module
/// itself, `Some("shared.array")` for `cuda.shared.array`.
pub(crate) fn cuda_path(qual: &str) -> Option<&str> {
    for m in ["hypersonic.cuda", "numba.cuda"] {
        if qual == m {
            return Some("");
        }
        if let Some(rest) = qual.strip_prefix(m).and_then(|r| r.strip_prefix('.')) {
            return Some(rest);
        }
    }
    None
}

const GEOMETRY: &[&str] = &["threadIdx", "blockIdx", "blockDim", "gridDim"];

/// Every name of `cuda` that kernels can use.
const TOP: &[&str] = &[
    "threadIdx",
    "blockIdx",
    "blockDim",
    "gridDim",
    "grid",
    "gridsize",
    "laneid",
    "warpsize",
    "shared",
    "local",
    "const",
    "syncthreads",
    "syncthreads_count",
    "syncthreads_and",
    "syncthreads_or",
    "threadfence",
    "threadfence_block",
    "threadfence_system",
    "syncwarp",
    "atomic",
    "shfl_sync",
    "shfl_up_sync",
    "shfl_down_sync",
    "shfl_xor_sync",
    "ballot_sync",
    "all_sync",
    "any_sync",
    "activemask",
    "fma",
    "popc",
    "clz",
    "ffs",
    "brev",
];

const ATOMICS: &[&str] = &[
    "add",
    "sub",
    "max",
    "min",
    "and_",
    "or_",
    "xor",
    "exch",
    "inc",
    "dec",
    "cas",
    "compare_and_swap",
];

/// The names below a namespace of `cuda` (`cuda.shared.*`, `cuda.threadIdx.*`).
fn members(ns: &str) -> Option<&'static [&'static str]> {
    Some(match ns {
        "threadIdx" | "blockIdx" | "blockDim" | "gridDim" => &["x", "y", "z"],
        "shared" | "local" => &["array"],
        "const" => &["array_like"],
        "atomic" => ATOMICS,
        _ => return None,
    })
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The known names closest to `name`, best first.
fn close_names(name: &str, known: &[&str]) -> Vec<String> {
    let mut scored: Vec<(usize, &str)> = known
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, k)| {
            *d <= 2.max(name.len() / 3)
                || k.starts_with(name)
                || name.starts_with(*k)
                || k.to_lowercase() == name.to_lowercase()
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(4)
        .map(|(_, k)| k.to_string())
        .collect()
}

fn geometry(name: &str) -> Option<Geometry> {
    Some(match name {
        "threadIdx" => Geometry::ThreadIdx,
        "blockIdx" => Geometry::BlockIdx,
        "blockDim" => Geometry::BlockDim,
        "gridDim" => Geometry::GridDim,
        _ => return None,
    })
}

fn axis(name: &str) -> Option<Axis> {
    Some(match name {
        "x" => Axis::X,
        "y" => Axis::Y,
        "z" => Axis::Z,
        _ => return None,
    })
}

const I32: Type = Type::Scalar(Scalar::I32);
const U32: Type = Type::Scalar(Scalar::U32);

impl FnLower<'_, '_> {
    /// Whether `cuda.*` may be used: kernels and the device functions they call.
    pub(crate) fn device_code(&self) -> bool {
        self.ctx.opts.kind != FunctionKind::Host
    }

    fn host_error(&self, range: TextRange, display: &str) -> crate::Diagnostic {
        self.error(
            range,
            format!("`cuda.{display}` can only be used in a @cuda.jit kernel or device function"),
            "compile the function with `@cuda.jit` (or `@cuda.jit(device=True)` for a function \
             called from kernels); host `@njit` code runs on the CPU, outside any thread block",
        )
    }

    /// A reference to `cuda.<path>`: geometry registers and `laneid`/`warpsize`
    /// become values; everything else stays a name to call. Unknown names are
    /// reported with the closest known ones.
    pub(crate) fn cuda_ref(&mut self, path: &str, range: TextRange) -> R<Value> {
        if path.is_empty() {
            return Ok(Value::Module("hypersonic.cuda".into()));
        }
        let parts: Vec<&str> = path.split('.').collect();
        if !TOP.contains(&parts[0]) {
            return Err(self.unknown_attr("cuda", parts[0], TOP, range));
        }
        if parts.len() >= 2 {
            match members(parts[0]) {
                Some(known) if known.contains(&parts[1]) && parts.len() == 2 => {}
                Some(known) if !known.contains(&parts[1]) => {
                    return Err(self.unknown_attr(
                        &format!("cuda.{}", parts[0]),
                        parts[1],
                        known,
                        range,
                    ))
                }
                _ => {
                    return Err(self.error(
                        range,
                        format!("`cuda.{path}` does not exist"),
                        format!(
                            "`cuda.{}` has no attributes here",
                            parts[..parts.len() - 1].join(".")
                        ),
                    ))
                }
            }
        }
        match parts.as_slice() {
            [g, a] if GEOMETRY.contains(g) => {
                if !self.device_code() {
                    return Err(self.host_error(range, g));
                }
                let (Some(g), Some(a)) = (geometry(g), axis(a)) else {
                    unreachable!("checked above")
                };
                Ok(Value::V(self.b.emit(Op::Geometry(g, a), I32), I32))
            }
            ["laneid"] => {
                if !self.device_code() {
                    return Err(self.host_error(range, "laneid"));
                }
                Ok(Value::V(self.b.emit(Op::LaneId, I32), I32))
            }
            ["warpsize"] => {
                if !self.device_code() {
                    return Err(self.host_error(range, "warpsize"));
                }
                Ok(Value::V(self.konst(Const::Int(32), I32), I32))
            }
            _ => Ok(Value::Builtin(format!("hypersonic.cuda.{path}"))),
        }
    }

    fn unknown_attr(
        &self,
        owner: &str,
        attr: &str,
        known: &[&str],
        range: TextRange,
    ) -> crate::Diagnostic {
        let close = close_names(attr, known);
        let help = if close.is_empty() {
            format!(
                "`{owner}` provides {}",
                known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            format!(
                "did you mean {}?",
                close
                    .iter()
                    .map(|k| format!("`{owner}.{k}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )
        };
        self.error(
            range,
            format!("`{owner}` has no attribute `{attr}` in compiled code"),
            help,
        )
    }

    /// A call of `cuda.<path>(...)`.
    pub(crate) fn cuda_call(&mut self, path: &str, c: &ast::ExprCall) -> R<Value> {
        if !self.device_code() {
            return Err(self.host_error(c.func.range(), path));
        }
        let range = c.range();
        let display = format!("cuda.{path}");
        let parts: Vec<&str> = path.split('.').collect();
        match parts.as_slice() {
            ["grid"] | ["gridsize"] => self.grid(c, path == "grid", &display),
            ["shared", "array"] | ["local", "array"] => {
                let args = self.cuda_args(c, &["shape", "dtype"], 2, &display)?;
                let (Some(shape_e), Some(dtype_e)) = (args[0], args[1]) else {
                    unreachable!("both required")
                };
                let shape = self.const_shape(shape_e, &display)?;
                let dtype = self.dtype_arg(dtype_e, &display)?;
                if dtype.is_complex() && parts[0] == "shared" {
                    // Complex shared arrays are fine for the IR; nothing to refuse.
                }
                if shape.iter().any(|&n| n < 0) {
                    return Err(self.error(
                        shape_e.range(),
                        format!("the shape of `{display}` has a negative dimension"),
                        "give every dimension a size of at least 1",
                    ));
                }
                let shared = parts[0] == "shared";
                let dynamic = shared && shape.contains(&0);
                if dynamic && shape.len() != 1 {
                    return Err(self.error(
                        shape_e.range(),
                        "a dynamic shared array (a size of 0) must be one-dimensional",
                        "write `cuda.shared.array(0, dtype)` and index it with one index",
                    ));
                }
                let (op, space) = if shared {
                    (
                        Op::SharedArray {
                            dtype,
                            shape: if dynamic { vec![0] } else { shape.clone() },
                            dynamic,
                        },
                        Space::Shared,
                    )
                } else {
                    (
                        Op::LocalArray {
                            dtype,
                            shape: shape.clone(),
                        },
                        Space::Local,
                    )
                };
                let ty = Type::Array {
                    dtype,
                    ndim: shape.len() as u8,
                    layout: hypersonic_ir::Layout::C,
                    space,
                };
                Ok(Value::V(self.b.emit(op, ty.clone()), ty))
            }
            ["const", "array_like"] => self.const_array(c, &display),
            ["syncthreads"] => {
                self.cuda_args(c, &[], 0, &display)?;
                let loc = self.loc_of(range);
                self.b.push(IrStmt::Barrier { loc });
                Ok(self.none())
            }
            ["syncthreads_count" | "syncthreads_and" | "syncthreads_or"] => {
                let args = self.cuda_args(c, &["predicate"], 1, &display)?;
                let e = args[0].expect("required");
                let v = self.expr(e)?;
                if let Value::Unknown = v {
                    return Ok(Value::Unknown);
                }
                let p = self.truthy(v, e.range())?;
                let k = match path {
                    "syncthreads_count" => BarrierReduce::Count,
                    "syncthreads_and" => BarrierReduce::And,
                    _ => BarrierReduce::Or,
                };
                let loc = self.loc_of(range);
                let saved = self.b.loc();
                self.b.set_loc(loc);
                let r = self.b.emit(Op::BarrierReduce(k, p), I32);
                self.b.set_loc(saved);
                Ok(Value::V(r, I32))
            }
            ["threadfence" | "threadfence_block" | "threadfence_system"] => {
                self.cuda_args(c, &[], 0, &display)?;
                let scope = match path {
                    "threadfence" => FenceScope::Device,
                    "threadfence_block" => FenceScope::Block,
                    _ => FenceScope::System,
                };
                self.b.push(IrStmt::Fence(scope));
                Ok(self.none())
            }
            ["syncwarp"] => {
                let args = self.cuda_args(c, &["mask"], 0, &display)?;
                let mask = match args[0] {
                    Some(e) => match self.mask_arg(e, &display)? {
                        Some(m) => m,
                        None => return Ok(Value::Unknown),
                    },
                    None => self.konst(Const::Int(0xffff_ffff), U32),
                };
                let loc = self.loc_of(range);
                self.b.push(IrStmt::SyncWarp { mask, loc });
                Ok(self.none())
            }
            ["atomic", op] => self.atomic(c, op, &display),
            ["shfl_sync" | "shfl_up_sync" | "shfl_down_sync" | "shfl_xor_sync"] => {
                let third = match path {
                    "shfl_sync" => "src_lane",
                    "shfl_xor_sync" => "lane_mask",
                    _ => "delta",
                };
                let args = self.cuda_args(c, &["mask", "value", third], 3, &display)?;
                let (m, v, l) = (args[0].unwrap(), args[1].unwrap(), args[2].unwrap());
                let Some(mask) = self.mask_arg(m, &display)? else {
                    return Ok(Value::Unknown);
                };
                let value = self.expr(v)?;
                let lane = self.expr(l)?;
                let (Value::V(value, vt), Value::V(lane, lt)) = (value, lane) else {
                    return Ok(Value::Unknown);
                };
                let s = match (&vt, &lt) {
                    (Type::Scalar(s), Type::Scalar(ls)) if ls.is_int() || *ls == Scalar::Bool => *s,
                    (Type::Scalar(_), t) => {
                        return Err(self.error(
                            l.range(),
                            format!(
                                "the lane of `{display}` must be an integer, not {}",
                                describe(t)
                            ),
                            "pass an integer lane, delta or mask",
                        ))
                    }
                    (t, _) => {
                        return Err(self.error(
                            v.range(),
                            format!("`{display}` cannot shuffle {}", describe(t)),
                            "shuffle one number at a time: int32, int64, uint32, uint64, \
                             float32, float64 or bool",
                        ))
                    }
                };
                let Type::Scalar(ls) = lt else { unreachable!() };
                let kind = match path {
                    "shfl_sync" => Shuffle::Idx,
                    "shfl_up_sync" => Shuffle::Up,
                    "shfl_down_sync" => Shuffle::Down,
                    _ => Shuffle::Xor,
                };
                let carrier =
                    match s {
                        Scalar::Bool => Scalar::I32,
                        Scalar::I32
                        | Scalar::I64
                        | Scalar::U32
                        | Scalar::U64
                        | Scalar::F32
                        | Scalar::F64 => s,
                        _ => return Err(self.error(
                            v.range(),
                            format!("`{display}` cannot shuffle a value of type `{s}`"),
                            "convert it to int32, int64, uint32, uint64, float32 or float64 first",
                        )),
                    };
                let value = self.cast_scalar(value, s, carrier);
                let lane = self.cast_scalar(lane, ls, Scalar::I32);
                let width = self.konst(Const::Int(32), I32);
                let r = self.b.emit(
                    Op::WarpShuffle {
                        kind,
                        mask,
                        value,
                        lane,
                        width,
                    },
                    Type::Scalar(carrier),
                );
                let r = self.cast_scalar(r, carrier, s);
                Ok(Value::V(r, Type::Scalar(s)))
            }
            ["ballot_sync" | "all_sync" | "any_sync"] => {
                let args = self.cuda_args(c, &["mask", "predicate"], 2, &display)?;
                let (m, p) = (args[0].unwrap(), args[1].unwrap());
                let Some(mask) = self.mask_arg(m, &display)? else {
                    return Ok(Value::Unknown);
                };
                let pv = self.expr(p)?;
                if let Value::Unknown = pv {
                    return Ok(Value::Unknown);
                }
                let pred = self.truthy(pv, p.range())?;
                let (kind, ty) = match path {
                    "ballot_sync" => (Vote::Ballot, U32),
                    "all_sync" => (Vote::All, Type::BOOL),
                    _ => (Vote::Any, Type::BOOL),
                };
                let r = self.b.emit(Op::WarpVote { kind, mask, pred }, ty.clone());
                Ok(Value::V(r, ty))
            }
            ["activemask"] => {
                self.cuda_args(c, &[], 0, &display)?;
                // Every lane is reported active for now: kernels compiled by
                // Hypersonic reconverge after each branch, and the CPU SIMT
                // lowering runs whole warps. A real `activemask` op can replace this.
                Ok(Value::V(self.konst(Const::Int(0xffff_ffff), U32), U32))
            }
            ["fma"] => {
                self.cuda_args(c, &["a", "b", "c"], 3, &display)?;
                let Some(args) = self.scalar_args(c, &display)? else {
                    return Ok(Value::Unknown);
                };
                if let Some((_, s)) = args.iter().find(|(_, s)| s.is_complex()) {
                    return Err(self.error(
                        range,
                        format!("`{display}` is not defined for `{s}`"),
                        "pass real numbers",
                    ));
                }
                let t = if args.iter().all(|(_, s)| *s == Scalar::F32) {
                    Scalar::F32
                } else {
                    Scalar::F64
                };
                let ops: Vec<ValueId> = args
                    .iter()
                    .map(|(v, s)| self.cast_scalar(*v, *s, t))
                    .collect();
                let r = self.b.emit(Op::Math(MathFn::Fma, ops), Type::Scalar(t));
                Ok(Value::V(r, Type::Scalar(t)))
            }
            ["popc" | "clz" | "ffs" | "brev"] => {
                self.cuda_args(c, &["x"], 1, &display)?;
                let Some(args) = self.scalar_args(c, &display)? else {
                    return Ok(Value::Unknown);
                };
                let (v, s) = args[0];
                let t = match s {
                    Scalar::Bool | Scalar::I8 | Scalar::I16 => Scalar::I32,
                    Scalar::U8 | Scalar::U16 => Scalar::U32,
                    s if s.is_int() => s,
                    _ => {
                        return Err(self.error(
                            c.arguments.args[0].range(),
                            format!("`{display}` needs an integer, got `{s}`"),
                            "convert the value with `int(...)` or `np.uint32(...)`",
                        ))
                    }
                };
                let v = self.cast_scalar(v, s, t);
                let f = match path {
                    "popc" => BitFn::Popc,
                    "clz" => BitFn::Clz,
                    "ffs" => BitFn::Ffs,
                    _ => BitFn::Brev,
                };
                let rt = if f == BitFn::Brev {
                    Type::Scalar(t)
                } else {
                    I32
                };
                Ok(Value::V(self.b.emit(Op::Bit(f, v), rt.clone()), rt))
            }
            _ => Err(self.error(
                c.func.range(),
                format!("`{display}` is not callable"),
                if GEOMETRY.contains(&parts[0]) || matches!(parts[0], "laneid" | "warpsize") {
                    format!("read it as a value: `{display}`, without parentheses")
                } else {
                    "call one of its functions".to_string()
                },
            )),
        }
    }

    fn none(&mut self) -> Value {
        Value::V(self.konst(Const::None, Type::None), Type::None)
    }

    /// Matches the arguments of a call against parameter names (positional or
    /// keyword); the first `required` are required.
    fn cuda_args<'a>(
        &self,
        c: &'a ast::ExprCall,
        names: &[&str],
        required: usize,
        display: &str,
    ) -> R<Vec<Option<&'a ast::Expr>>> {
        let args = &c.arguments.args;
        let sig = if names.is_empty() {
            "no arguments".to_string()
        } else {
            format!("({})", names.join(", "))
        };
        if args.len() > names.len() {
            return Err(self.error(
                c.range(),
                format!(
                    "`{display}` takes {} argument{} but {} {} given",
                    names.len(),
                    if names.len() == 1 { "" } else { "s" },
                    args.len(),
                    if args.len() == 1 { "was" } else { "were" }
                ),
                format!(
                    "call it as `{display}{}`",
                    if names.is_empty() {
                        "()".to_string()
                    } else {
                        sig.clone()
                    }
                ),
            ));
        }
        let mut out: Vec<Option<&ast::Expr>> = vec![None; names.len()];
        for (i, a) in args.iter().enumerate() {
            if let ast::Expr::Starred(s) = a {
                return Err(self.unsupported(
                    s.range,
                    "`*args` in calls is not supported",
                    "pass the arguments one by one",
                ));
            }
            out[i] = Some(a);
        }
        for kw in &c.arguments.keywords {
            let pos = kw
                .arg
                .as_ref()
                .and_then(|n| names.iter().position(|p| *p == n.id.as_str()));
            let Some(pos) = pos else {
                return Err(self.error(
                    kw.range,
                    format!(
                        "`{display}` has no parameter `{}`",
                        kw.arg.as_ref().map_or("**", |n| n.id.as_str())
                    ),
                    format!("its parameters are {sig}"),
                ));
            };
            if out[pos].is_some() {
                return Err(self.error(
                    kw.range,
                    format!("`{display}` got two values for `{}`", names[pos]),
                    "pass each argument once",
                ));
            }
            out[pos] = Some(&kw.value);
        }
        if let Some(k) = out[..required].iter().position(|a| a.is_none()) {
            return Err(self.error(
                c.range(),
                format!("`{display}` is missing the argument `{}`", names[k]),
                format!("call it as `{display}{sig}`"),
            ));
        }
        Ok(out)
    }

    /// A warp mask converted to `uint32`; `None` while its type is unknown.
    fn mask_arg(&mut self, e: &ast::Expr, display: &str) -> R<Option<ValueId>> {
        match self.expr(e)? {
            Value::Unknown => Ok(None),
            Value::V(v, Type::Scalar(s)) if s.is_int() || s == Scalar::Bool => {
                Ok(Some(self.cast_scalar(v, s, Scalar::U32)))
            }
            Value::V(_, t) => Err(self.error(
                e.range(),
                format!(
                    "the mask of `{display}` must be an integer, not {}",
                    describe(&t)
                ),
                "pass a 32-bit lane mask, e.g. `0xffffffff` for the whole warp",
            )),
            _ => Err(self.error(
                e.range(),
                format!("the mask of `{display}` must be an integer"),
                "pass a 32-bit lane mask, e.g. `0xffffffff` for the whole warp",
            )),
        }
    }

    /// `cuda.grid(n)` / `cuda.gridsize(n)`, in int64.
    fn grid(&mut self, c: &ast::ExprCall, grid: bool, display: &str) -> R<Value> {
        let args = self.cuda_args(c, &["ndim"], 1, display)?;
        let e = args[0].expect("required");
        let n = match self.const_eval(e) {
            Some(ConstValue::Int(n)) if (1..=3).contains(&n) => n as usize,
            _ => {
                return Err(self.error(
                    e.range(),
                    format!("`{display}` takes a constant number of dimensions: 1, 2 or 3"),
                    format!("write `{display}(1)`, `{display}(2)` or `{display}(3)`"),
                ))
            }
        };
        let mut items = vec![];
        for &ax in &Axis::ALL[..n] {
            let (a, b) = if grid {
                (Geometry::BlockIdx, Geometry::BlockDim)
            } else {
                (Geometry::BlockDim, Geometry::GridDim)
            };
            let x = self.b.emit(Op::Geometry(a, ax), I32);
            let y = self.b.emit(Op::Geometry(b, ax), I32);
            let x = self.cast_scalar(x, Scalar::I32, Scalar::I64);
            let y = self.cast_scalar(y, Scalar::I32, Scalar::I64);
            let mut v = self
                .b
                .emit(Op::Binary(hypersonic_ir::BinaryOp::Mul, x, y), Type::I64);
            if grid {
                let t = self.b.emit(Op::Geometry(Geometry::ThreadIdx, ax), I32);
                let t = self.cast_scalar(t, Scalar::I32, Scalar::I64);
                v = self
                    .b
                    .emit(Op::Binary(hypersonic_ir::BinaryOp::Add, t, v), Type::I64);
            }
            items.push(v);
        }
        if n == 1 {
            return Ok(Value::V(items[0], Type::I64));
        }
        let ty = Type::Tuple(vec![Type::I64; n]);
        Ok(Value::V(self.b.emit(Op::MakeTuple(items), ty.clone()), ty))
    }

    /// Evaluates a compile-time constant: literals, global constants, tuples
    /// of them and integer arithmetic on them.
    pub(crate) fn const_eval(&self, e: &ast::Expr) -> Option<ConstValue> {
        use ast::Expr as E;
        match e {
            E::NumberLiteral(_) | E::UnaryOp(_) if const_int(e).is_some() => {
                const_int(e).map(ConstValue::Int)
            }
            E::BooleanLiteral(b) => Some(ConstValue::Bool(b.value)),
            E::Tuple(t) => t
                .elts
                .iter()
                .map(|x| self.const_eval(x))
                .collect::<Option<Vec<_>>>()
                .map(ConstValue::Tuple),
            E::Name(n) => {
                if self.is_local_name(n.id.as_str()) {
                    return None;
                }
                match self.ctx.env.resolve(self.func, n.id.as_str()) {
                    Some(Global::Const(c)) => Some(c),
                    _ => None,
                }
            }
            E::BinOp(b) => {
                let (Some(ConstValue::Int(x)), Some(ConstValue::Int(y))) =
                    (self.const_eval(&b.left), self.const_eval(&b.right))
                else {
                    return None;
                };
                use ast::Operator as O;
                Some(ConstValue::Int(match b.op {
                    O::Add => x.checked_add(y)?,
                    O::Sub => x.checked_sub(y)?,
                    O::Mult => x.checked_mul(y)?,
                    O::FloorDiv if y != 0 => {
                        x.div_euclid(y) - i64::from(x.rem_euclid(y) != 0 && y < 0)
                    }
                    O::LShift if (0..63).contains(&y) => x.checked_shl(y as u32)?,
                    O::Pow if (0..63).contains(&y) => x.checked_pow(y as u32)?,
                    _ => return None,
                }))
            }
            _ => None,
        }
    }

    fn const_shape(&self, e: &ast::Expr, display: &str) -> R<Vec<i64>> {
        let bad = || {
            self.error(
                e.range(),
                format!(
                    "the shape of `{display}` must be a compile-time constant: an integer or a \
                     tuple of integers, written as literals or global constants"
                ),
                "define the size as a global constant (e.g. `TPB = 16` at module level) and \
                 write `cuda.shared.array((TPB, TPB), float32)`; for a size known only at \
                 launch, use dynamic shared memory: `cuda.shared.array(0, float32)`",
            )
        };
        match self.const_eval(e) {
            Some(ConstValue::Int(n)) => Ok(vec![n]),
            Some(ConstValue::Tuple(items)) if !items.is_empty() && items.len() <= 8 => items
                .iter()
                .map(|i| match i {
                    ConstValue::Int(n) => Ok(*n),
                    _ => Err(bad()),
                })
                .collect(),
            _ => Err(bad()),
        }
    }

    /// A dtype given as `np.float32`, `float32`, `numba.float32`,
    /// `types.float32` or `"float32"`.
    fn dtype_arg(&mut self, e: &ast::Expr, display: &str) -> R<Scalar> {
        let bad = |s: &Self, what: String| {
            s.error(
                e.range(),
                format!("unsupported dtype for `{display}`: {what}"),
                "pass a NumPy or Numba scalar type, e.g. `np.float32`, `float32` or `np.int64`",
            )
        };
        if let ast::Expr::StringLiteral(s) = e {
            let name = s.value.to_str();
            return Scalar::from_name(name).ok_or_else(|| bad(self, format!("\"{name}\"")));
        }
        match self.expr(e)? {
            Value::Builtin(q) => {
                let (module, name) = q.rsplit_once('.').unwrap_or(("builtins", &q));
                let known_module = matches!(
                    module,
                    "numpy"
                        | "hypersonic"
                        | "hypersonic.types"
                        | "numba"
                        | "numba.types"
                        | "numba.core.types"
                );
                let s = match (module, name) {
                    ("builtins", "float") => Some(Scalar::F64),
                    ("builtins", "int") => Some(Scalar::I64),
                    ("builtins", "bool") => Some(Scalar::Bool),
                    ("builtins", "complex") => Some(Scalar::C128),
                    _ if known_module => Scalar::from_name(name),
                    _ => None,
                };
                s.ok_or_else(|| bad(self, format!("`{q}`")))
            }
            Value::V(_, t) => Err(bad(self, describe(&t))),
            _ => Err(bad(self, "this value".into())),
        }
    }

    /// `cuda.const.array_like(arr)` of a global NumPy array.
    fn const_array(&mut self, c: &ast::ExprCall, display: &str) -> R<Value> {
        let args = self.cuda_args(c, &["ary"], 1, display)?;
        let e = args[0].expect("required");
        let global = match e {
            ast::Expr::Name(n) if !self.is_local_name(n.id.as_str()) => {
                self.ctx.env.resolve(self.func, n.id.as_str())
            }
            _ => None,
        };
        let Some(Global::Array {
            dtype,
            data,
            shape,
            strides,
            ..
        }) = global
        else {
            return Err(self.error(
                e.range(),
                format!("`{display}` needs a global NumPy array"),
                "define the array at module level (e.g. `COEFFS = np.array([...])`) and pass \
                 its name: `cuda.const.array_like(COEFFS)`",
            ));
        };
        let size = dtype.size() as i64;
        let count: i64 = shape.iter().product();
        let mut bytes = Vec::with_capacity((count * size).max(0) as usize);
        if count > 0 {
            // The byte range the array spans (strides may be negative).
            let (mut lo, mut hi) = (0i64, 0i64);
            for (n, s) in shape.iter().zip(&strides) {
                let far = (n - 1) * s;
                lo += far.min(0);
                hi += far.max(0);
            }
            let span = (hi - lo + size) as usize;
            let Some(raw) = self
                .ctx
                .env
                .array_bytes((data as i64 + lo) as u64, span)
                .filter(|r| r.len() >= span)
            else {
                return Err(self.error(
                    e.range(),
                    format!("the contents of the array passed to `{display}` are not available"),
                    "pass a global NumPy array whose data the compiler can read",
                ));
            };
            // Gather the elements in C order.
            let mut idx = vec![0i64; shape.len()];
            for _ in 0..count {
                let off: i64 = idx.iter().zip(&strides).map(|(i, s)| i * s).sum::<i64>() - lo;
                bytes.extend_from_slice(&raw[off as usize..(off + size) as usize]);
                for k in (0..idx.len()).rev() {
                    idx[k] += 1;
                    if idx[k] < shape[k] {
                        break;
                    }
                    idx[k] = 0;
                }
            }
        }
        let ty = Type::Array {
            dtype,
            ndim: shape.len() as u8,
            layout: hypersonic_ir::Layout::C,
            space: Space::Constant,
        };
        let op = Op::ConstArray {
            dtype,
            shape,
            data: bytes,
        };
        Ok(Value::V(self.b.emit(op, ty.clone()), ty))
    }

    /// `cuda.atomic.<op>(array, idx, value)` and `cas`.
    fn atomic(&mut self, c: &ast::ExprCall, op: &str, display: &str) -> R<Value> {
        let (arr_e, idx_e, vals): (&ast::Expr, Option<&ast::Expr>, Vec<&ast::Expr>) = match op {
            "cas" => {
                let a = self.cuda_args(c, &["array", "idx", "old", "val"], 4, display)?;
                (a[0].unwrap(), a[1], vec![a[2].unwrap(), a[3].unwrap()])
            }
            "compare_and_swap" => {
                let a = self.cuda_args(c, &["array", "old", "val"], 3, display)?;
                (a[0].unwrap(), None, vec![a[1].unwrap(), a[2].unwrap()])
            }
            _ => {
                let a = self.cuda_args(c, &["array", "idx", "val"], 3, display)?;
                (a[0].unwrap(), a[1], vec![a[2].unwrap()])
            }
        };
        let arr = self.expr(arr_e)?;
        let (arr, aty) =
            match arr {
                Value::Unknown => {
                    if let Some(i) = idx_e {
                        self.expr(i)?;
                    }
                    for v in vals {
                        self.expr(v)?;
                    }
                    return Ok(Value::Unknown);
                }
                Value::V(a, t @ Type::Array { .. }) => (a, t),
                Value::V(_, t) => return Err(self.error(
                    arr_e.range(),
                    format!("`{display}` needs an array, got {}", describe(&t)),
                    "pass the array and the index of the element, e.g. `cuda.atomic.add(a, i, 1)`",
                )),
                _ => return Err(self.error(
                    arr_e.range(),
                    format!("`{display}` needs an array"),
                    "pass the array and the index of the element, e.g. `cuda.atomic.add(a, i, 1)`",
                )),
            };
        let Type::Array {
            dtype, ndim, space, ..
        } = aty.clone()
        else {
            unreachable!()
        };
        if space == Space::Constant {
            return Err(self.error(
                arr_e.range(),
                format!("`{display}` cannot change a constant array"),
                "use a global or shared array",
            ));
        }
        let int_only = matches!(op, "and_" | "or_" | "xor" | "cas" | "compare_and_swap");
        let unsigned_only = matches!(op, "inc" | "dec");
        let ok = match dtype {
            Scalar::I32 | Scalar::I64 | Scalar::U32 | Scalar::U64 => {
                !unsigned_only || dtype.is_unsigned_int()
            }
            Scalar::F32 | Scalar::F64 => !int_only && !unsigned_only,
            _ => false,
        };
        if !ok {
            let want = if unsigned_only {
                "uint32 or uint64"
            } else if int_only {
                "int32, int64, uint32 or uint64"
            } else {
                "int32, int64, uint32, uint64, float32 or float64"
            };
            return Err(self.error(
                arr_e.range(),
                format!("`{display}` is not supported on an array of `{dtype}`"),
                format!("`{display}` works on arrays of {want}"),
            ));
        }
        // The indices.
        let indices = match idx_e {
            None => {
                if ndim != 1 {
                    return Err(self.error(
                        arr_e.range(),
                        format!("`{display}` needs a one-dimensional array"),
                        "use `cuda.atomic.cas(array, index, old, value)` for other arrays",
                    ));
                }
                Some(vec![self.int(0)])
            }
            Some(e) => self.atomic_indices(arr, ndim, e, display)?,
        };
        let mut operands = vec![];
        let mut unknown = indices.is_none();
        for v in &vals {
            match self.expr(v)? {
                Value::Unknown => unknown = true,
                Value::V(x, Type::Scalar(s)) if !s.is_complex() => {
                    operands.push(self.cast_scalar(x, s, dtype))
                }
                Value::V(_, t) => {
                    return Err(self.error(
                        v.range(),
                        format!("`{display}` needs a real number, got {}", describe(&t)),
                        "pass one number",
                    ))
                }
                _ => {
                    return Err(self.error(
                        v.range(),
                        format!("`{display}` needs a number"),
                        "pass one number",
                    ))
                }
            }
        }
        if unknown {
            return Ok(Value::Unknown);
        }
        let indices = indices.unwrap_or_default();
        let t = Type::Scalar(dtype);
        let op = match op {
            "cas" | "compare_and_swap" => Op::AtomicCas {
                array: arr,
                indices,
                expected: operands[0],
                desired: operands[1],
            },
            _ => Op::Atomic {
                op: match op {
                    "add" => AtomicOp::Add,
                    "sub" => AtomicOp::Sub,
                    "max" => AtomicOp::Max,
                    "min" => AtomicOp::Min,
                    "and_" => AtomicOp::And,
                    "or_" => AtomicOp::Or,
                    "xor" => AtomicOp::Xor,
                    "exch" => AtomicOp::Exch,
                    "inc" => AtomicOp::Inc,
                    _ => AtomicOp::Dec,
                },
                array: arr,
                indices,
                value: operands[0],
            },
        };
        Ok(Value::V(self.b.emit(op, t.clone()), t))
    }

    /// The wrapped `i64` indices of an atomic's element: an integer or a tuple
    /// of `ndim` integers.
    fn atomic_indices(
        &mut self,
        arr: ValueId,
        ndim: u8,
        e: &ast::Expr,
        display: &str,
    ) -> R<Option<Vec<ValueId>>> {
        let wrong = |s: &Self, n: usize| {
            s.error(
                e.range(),
                format!(
                    "`{display}` needs the index of one element: {ndim} integer{} for this \
                     {ndim}-dimensional array, got {n}",
                    if ndim == 1 { "" } else { "s" }
                ),
                if ndim == 1 {
                    "pass one integer index".to_string()
                } else {
                    format!("pass a tuple of {ndim} integers, e.g. `(i, j)`")
                },
            )
        };
        let items: Vec<(Value, TextRange, Option<i64>)> = match e {
            ast::Expr::Tuple(t) => {
                let mut out = vec![];
                for x in &t.elts {
                    out.push((self.expr(x)?, x.range(), const_int(x)));
                }
                out
            }
            _ => match self.expr(e)? {
                Value::V(t, Type::Tuple(tys)) => tys
                    .into_iter()
                    .enumerate()
                    .map(|(k, ty)| {
                        let x = self.b.emit(Op::TupleGet(t, k as u32), ty.clone());
                        (Value::V(x, ty), e.range(), None)
                    })
                    .collect(),
                v => vec![(v, e.range(), const_int(e))],
            },
        };
        if items.len() != ndim as usize {
            if items.iter().any(|(v, ..)| matches!(v, Value::Unknown)) {
                return Ok(None);
            }
            return Err(wrong(self, items.len()));
        }
        let mut out = vec![];
        let mut unknown = false;
        for (k, (v, r, konst)) in items.into_iter().enumerate() {
            let Some(i) = self.int_arg(v, r, "an atomic's index")? else {
                unknown = true;
                continue;
            };
            let dim = self.b.emit(Op::ArrayDim(arr, k as u8), Type::I64);
            out.push(self.wrap_index(i, dim, konst, r));
        }
        Ok(if unknown { None } else { Some(out) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_suggestions() {
        assert_eq!(cuda_path("hypersonic.cuda"), Some(""));
        assert_eq!(cuda_path("numba.cuda.shared.array"), Some("shared.array"));
        assert_eq!(cuda_path("hypersonic.cudax"), None);
        assert_eq!(close_names("threadIdy", TOP)[0], "threadIdx");
        assert!(close_names("synchthreads", TOP).contains(&"syncthreads".to_string()));
    }
}
