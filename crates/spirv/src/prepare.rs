//! IR → the one function the generator emits: verification, rewrites of
//! operations into ones the generator knows (float `**` as `math.pow`, complex
//! `**` as real math), the software math library for what GLSL.std.450 lacks,
//! every call inlined into the kernel, and the check that emulated warp
//! functions are reached by the whole block.

use hypersonic_ir::mathlib;
use hypersonic_ir::passes::{inline, uniformity};
use hypersonic_ir::{
    BinaryOp, Block, CmpOp, Const, Function, Loc, MathFn, Module, Op, Scalar, Stmt, Type, ValueId,
};

use crate::{SpirvError, SpirvOptions};

type R<T> = Result<T, SpirvError>;

/// Which math goes to the software math library: every float64 function it
/// has (GLSL.std.450 has no float64 transcendentals; its `fmod`, `ldexp`,
/// `nextafter` and `hypot` are also exact where ours would not be), and for
/// float32 what GLSL.std.450 lacks — computed in float64, or without float64
/// for `fmod`, `ldexp`, `nextafter`, `hypot` and `cbrt` on devices that lack it
/// (there `expm1` and `log1p` stay GLSL-based, and `erf`, `erfc`, `gamma`,
/// `lgamma` are a missing-feature error).
fn lower_software_math(m: &mut Module, opts: &SpirvOptions) -> R<()> {
    if !opts.float64 {
        for f in &m.functions {
            if let Some(mf) = f32_needing_f64(f, &f.body) {
                return Err(SpirvError::MissingFeature {
                    feature: "float64 (shaderFloat64)".into(),
                    why: format!(
                        "the software float32 `{}` computes in float64",
                        mf.libm_name().unwrap_or("?")
                    ),
                });
            }
        }
        // The float64-free versions, under the names `lower_math_calls` looks for.
        for &f in mathlib::F32_ONLY_FUNCTIONS {
            if let Some(mut g) = mathlib::implement_f32_only(f) {
                g.name = mathlib::function_name(f, Scalar::F32);
                if uses_math(m, f, Scalar::F32) {
                    m.functions.push(g);
                }
            }
        }
    }
    let float64 = opts.float64;
    mathlib::lower_math_calls(m, |f, s| match s {
        Scalar::F64 => mathlib::F64_FUNCTIONS.contains(&f),
        Scalar::F32 if float64 => mathlib::F32_FUNCTIONS.contains(&f),
        Scalar::F32 => mathlib::F32_ONLY_FUNCTIONS.contains(&f),
        _ => false,
    });
    Ok(())
}

fn uses_math(m: &Module, mf: MathFn, s: Scalar) -> bool {
    fn walk(f: &Function, b: &Block, mf: MathFn, s: Scalar) -> bool {
        b.stmts.iter().any(|st| match st {
            Stmt::Let {
                op: Op::Math(g, args),
                ..
            } => *g == mf && f.value_type(args[0]).scalar() == Some(s),
            Stmt::If {
                then_block,
                else_block,
                ..
            } => walk(f, then_block, mf, s) || walk(f, else_block, mf, s),
            Stmt::Loop { body } => walk(f, body, mf, s),
            _ => false,
        })
    }
    m.functions.iter().any(|f| walk(f, &f.body, mf, s))
}

/// A float32 function that only the float64-based software library has.
fn f32_needing_f64(f: &Function, b: &Block) -> Option<MathFn> {
    for st in &b.stmts {
        let r = match st {
            Stmt::Let {
                op: Op::Math(g, args),
                ..
            } if f.value_type(args[0]).scalar() == Some(Scalar::F32)
                && !native_math(*g, Scalar::F32)
                && !mathlib::F32_ONLY_FUNCTIONS.contains(g) =>
            {
                Some(*g)
            }
            Stmt::If {
                then_block,
                else_block,
                ..
            } => f32_needing_f64(f, then_block).or_else(|| f32_needing_f64(f, else_block)),
            Stmt::Loop { body } => f32_needing_f64(f, body),
            _ => None,
        };
        if r.is_some() {
            return r;
        }
    }
    None
}

/// The source position the statements of the software math library carry once
/// inlined, so that the generator keeps their float arithmetic uncontracted
/// (`NoContraction`) even under fastmath: their error-free transformations
/// (TwoSum, Dekker products, Cody–Waite reductions) need each operation rounded.
pub(crate) const MATHLIB_LOC: Loc = Loc {
    line: u32::MAX,
    col: u32::MAX,
};

/// Gives every `let` of the math library's functions [`MATHLIB_LOC`].
fn mark_math_library(m: &mut Module) {
    fn mark(b: &mut Block) {
        for s in &mut b.stmts {
            match s {
                Stmt::Let { loc, .. } => *loc = MATHLIB_LOC,
                Stmt::If {
                    then_block,
                    else_block,
                    ..
                } => {
                    mark(then_block);
                    mark(else_block);
                }
                Stmt::Loop { body } => mark(body),
                _ => {}
            }
        }
    }
    let names: Vec<String> = [Scalar::F32, Scalar::F64]
        .iter()
        .flat_map(|&s| {
            mathlib::F64_FUNCTIONS
                .iter()
                .chain(mathlib::F32_FUNCTIONS)
                .chain(mathlib::F32_ONLY_FUNCTIONS)
                .map(move |&f| mathlib::function_name(f, s))
        })
        .collect();
    for f in &mut m.functions {
        if names.contains(&f.name) {
            mark(&mut f.body);
        }
    }
}

/// Whether the generator emits `f` on `s` itself (GLSL.std.450 or a few
/// instructions); the rest needs the software math library.
pub(crate) fn native_math(f: MathFn, s: Scalar) -> bool {
    use MathFn::*;
    match f {
        Sqrt | Fabs | Floor | Ceil | Trunc | Rint | Fma | Copysign | IsNan | IsInf | IsFinite
        | Signbit | Fmod | Ldexp | Nextafter | Hypot => true,
        Sin | Cos | Tan | Asin | Acos | Atan | Atan2 | Sinh | Cosh | Tanh | Asinh | Acosh
        | Atanh | Exp | Exp2 | Log | Log2 | Log10 | Pow | Expm1 | Log1p | Cbrt => s == Scalar::F32,
        Erf | Erfc | Gamma | Lgamma => false,
    }
}

pub(crate) fn prepare(module: &Module, opts: &SpirvOptions) -> R<Function> {
    hypersonic_ir::verify::verify_module(module)
        .map_err(|e| SpirvError::Unsupported(e.to_string()))?;
    let mut m = module.clone();
    for f in &mut m.functions {
        let mut values = std::mem::take(&mut f.values);
        rewrite_block(&mut f.body, &mut values);
        f.values = values;
    }
    // Math the target lacks comes from the shared software math library.
    lower_software_math(&mut m, opts)?;
    mark_math_library(&mut m);
    for f in &m.functions {
        if let Some((mf, s, loc)) = first_software_math(f, &f.body) {
            let at = if loc.line > 0 {
                format!(" (line {})", loc.line)
            } else {
                String::new()
            };
            return Err(SpirvError::Unsupported(format!(
                "math function {} on {s}{at}: GLSL.std.450 has no {s} version and the \
                 software math library has none either",
                mf.libm_name().unwrap_or("?"),
            )));
        }
    }
    let inlined = inline::inline_into_entry(&m, |_, _| true)
        .map_err(|e| SpirvError::Unsupported(e.to_string()))?;
    let kernel = inlined.function(inlined.entry).clone();
    if kernel.ret != Type::None {
        return Err(SpirvError::Unsupported(format!(
            "the kernel `{}` returns {}; kernels return nothing",
            kernel.name, kernel.ret
        )));
    }
    if emulated_warps(opts.subgroup_size) {
        check_warp_uniformity(&kernel, opts.subgroup_size)?;
    }
    Ok(kernel)
}

/// Whether warp functions go through the workgroup-memory exchange.
pub(crate) fn emulated_warps(subgroup_size: u32) -> bool {
    subgroup_size < 32 || !subgroup_size.is_multiple_of(32)
}

fn first_software_math(f: &Function, b: &Block) -> Option<(MathFn, Scalar, Loc)> {
    for s in &b.stmts {
        match s {
            Stmt::Let {
                op: Op::Math(mf, args),
                loc,
                ..
            } => {
                let Some(sc) = f.value_type(args[0]).scalar() else {
                    continue;
                };
                if !native_math(*mf, sc) {
                    return Some((*mf, sc, *loc));
                }
            }
            Stmt::If {
                then_block,
                else_block,
                ..
            } => {
                if let Some(r) = first_software_math(f, then_block)
                    .or_else(|| first_software_math(f, else_block))
                {
                    return Some(r);
                }
            }
            Stmt::Loop { body } => {
                if let Some(r) = first_software_math(f, body) {
                    return Some(r);
                }
            }
            _ => {}
        }
    }
    None
}

/// Float `**` becomes `math.pow` (so that the math library covers float64);
/// complex `**` becomes CPython's formula over real math functions.
fn rewrite_block(b: &mut Block, values: &mut Vec<Type>) {
    let stmts = std::mem::take(&mut b.stmts);
    for mut s in stmts {
        match &mut s {
            Stmt::Let {
                value,
                op: Op::Binary(BinaryOp::Pow, x, y),
                loc,
            } => {
                let t = values[value.0 as usize].clone();
                match t.scalar() {
                    Some(sc) if sc.is_float() => {
                        let (x, y) = (*x, *y);
                        if let Stmt::Let { op, .. } = &mut s {
                            *op = Op::Math(MathFn::Pow, vec![x, y]);
                        }
                    }
                    Some(sc) if sc.is_complex() => {
                        let (v, x, y, loc) = (*value, *x, *y, *loc);
                        complex_pow(b, values, sc, v, x, y, loc);
                        continue;
                    }
                    _ => {}
                }
            }
            Stmt::If {
                then_block,
                else_block,
                ..
            } => {
                rewrite_block(then_block, values);
                rewrite_block(else_block, values);
            }
            Stmt::Loop { body } => rewrite_block(body, values),
            _ => {}
        }
        b.stmts.push(s);
    }
}

/// CPython's `_Py_c_pow`, as the LLVM backend computes it:
/// `|x|**re(y) * e**(-arg(x)*im(y))` at angle `arg(x)*re(y) + im(y)*ln|x|`;
/// `x ** 0 == 1`, `0 ** y == 0`.
fn complex_pow(
    b: &mut Block,
    values: &mut Vec<Type>,
    c: Scalar,
    result: ValueId,
    x: ValueId,
    y: ValueId,
    loc: Loc,
) {
    let f = Type::Scalar(c.component());
    let mut emit = |b: &mut Block, op: Op, t: Type| -> ValueId {
        values.push(t);
        let value = ValueId(values.len() as u32 - 1);
        b.stmts.push(Stmt::Let { value, op, loc });
        value
    };
    let a = emit(b, Op::ComplexReal(x), f.clone());
    let bb = emit(b, Op::ComplexImag(x), f.clone());
    let cc = emit(b, Op::ComplexReal(y), f.clone());
    let d = emit(b, Op::ComplexImag(y), f.clone());
    let zero = emit(b, Op::Const(Const::Float(0.0)), f.clone());
    let one = emit(b, Op::Const(Const::Float(1.0)), f.clone());
    let math = |b: &mut Block, emit: &mut dyn FnMut(&mut Block, Op, Type) -> ValueId, m, args| {
        emit(b, Op::Math(m, args), f.clone())
    };
    let vabs = math(b, &mut emit, MathFn::Hypot, vec![a, bb]);
    let at = math(b, &mut emit, MathFn::Atan2, vec![bb, a]);
    let len = math(b, &mut emit, MathFn::Pow, vec![vabs, cc]);
    let phase = emit(b, Op::Binary(BinaryOp::Mul, at, cc), f.clone());
    let atd = emit(b, Op::Binary(BinaryOp::Mul, at, d), f.clone());
    let e = math(b, &mut emit, MathFn::Exp, vec![atd]);
    let len2 = emit(b, Op::Binary(BinaryOp::Div, len, e), f.clone());
    let lg = math(b, &mut emit, MathFn::Log, vec![vabs]);
    let dlg = emit(b, Op::Binary(BinaryOp::Mul, d, lg), f.clone());
    let phase2 = emit(b, Op::Binary(BinaryOp::Add, phase, dlg), f.clone());
    let d_nz = emit(b, Op::Compare(CmpOp::Ne, d, zero), Type::BOOL);
    let len = emit(b, Op::Select(d_nz, len2, len), f.clone());
    let phase = emit(b, Op::Select(d_nz, phase2, phase), f.clone());
    let cs = math(b, &mut emit, MathFn::Cos, vec![phase]);
    let sn = math(b, &mut emit, MathFn::Sin, vec![phase]);
    let re = emit(b, Op::Binary(BinaryOp::Mul, len, cs), f.clone());
    let im = emit(b, Op::Binary(BinaryOp::Mul, len, sn), f.clone());
    let c0 = emit(b, Op::Compare(CmpOp::Eq, cc, zero), Type::BOOL);
    let d0 = emit(b, Op::Compare(CmpOp::Eq, d, zero), Type::BOOL);
    let y_zero = emit(b, Op::Binary(BinaryOp::BitAnd, c0, d0), Type::BOOL);
    let a0 = emit(b, Op::Compare(CmpOp::Eq, a, zero), Type::BOOL);
    let b0 = emit(b, Op::Compare(CmpOp::Eq, bb, zero), Type::BOOL);
    let x_zero = emit(b, Op::Binary(BinaryOp::BitAnd, a0, b0), Type::BOOL);
    let re = emit(b, Op::Select(x_zero, zero, re), f.clone());
    let im = emit(b, Op::Select(x_zero, zero, im), f.clone());
    let re = emit(b, Op::Select(y_zero, one, re), f.clone());
    let im = emit(b, Op::Select(y_zero, zero, im), f.clone());
    b.stmts.push(Stmt::Let {
        value: result,
        op: Op::ComplexNew(re, im),
        loc,
    });
}

/// With emulated warps, every warp function waits at workgroup barriers: the
/// whole block must reach it.
fn check_warp_uniformity(f: &Function, subgroup_size: u32) -> R<()> {
    let u = uniformity::analyze(f);
    let varying = |v: &ValueId| !u.is_uniform_value(*v);
    walk(f, &f.body, None, &varying, subgroup_size)
}

fn warp_op_name(s: &Stmt) -> Option<(&'static str, Loc)> {
    match s {
        Stmt::Let {
            op: Op::WarpShuffle { .. },
            loc,
            ..
        } => Some(("a warp shuffle (`cuda.shfl_*_sync`)", *loc)),
        Stmt::Let {
            op: Op::WarpVote { .. },
            loc,
            ..
        } => Some((
            "a warp vote (`cuda.ballot_sync`/`all_sync`/`any_sync`)",
            *loc,
        )),
        Stmt::SyncWarp { loc, .. } => Some(("`cuda.syncwarp()`", *loc)),
        _ => None,
    }
}

fn walk(
    f: &Function,
    b: &Block,
    cause: Option<&'static str>,
    varying: &dyn Fn(&ValueId) -> bool,
    sg: u32,
) -> R<()> {
    for s in &b.stmts {
        if let (Some((what, loc)), Some(why)) = (warp_op_name(s), cause) {
            let at = if loc.line > 0 {
                format!("line {}: ", loc.line)
            } else {
                String::new()
            };
            return Err(SpirvError::Unsupported(format!(
                "{at}{what} in `{}` is {why}; on this device (subgroups of {sg} lanes) warp \
                 functions are emulated with block-wide barriers, so every thread of the \
                 block must reach them (move it out of the thread-dependent branch, e.g. \
                 compute with all threads and discard the result)",
                f.name.split("__").next().unwrap_or(&f.name)
            )));
        }
        match s {
            Stmt::If {
                cond,
                then_block,
                else_block,
            } => {
                let c = cause.or_else(|| {
                    varying(cond).then_some("under a condition that differs between threads")
                });
                walk(f, then_block, c, varying, sg)?;
                walk(f, else_block, c, varying, sg)?;
            }
            Stmt::Loop { body } => {
                let c = cause.or_else(|| {
                    loop_varying_exit(body, false, 0, varying).then_some(
                        "inside a loop that some threads leave early, on a condition that \
                         differs between threads",
                    )
                });
                walk(f, body, c, varying, sg)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether a loop body may be left or continued by some threads and not others.
fn loop_varying_exit(
    b: &Block,
    under: bool,
    depth: usize,
    varying: &dyn Fn(&ValueId) -> bool,
) -> bool {
    b.stmts.iter().any(|s| match s {
        Stmt::Break | Stmt::Continue => under && depth == 0,
        Stmt::Return { .. } | Stmt::Raise { .. } => under,
        Stmt::If {
            cond,
            then_block,
            else_block,
        } => {
            let u = under || varying(cond);
            loop_varying_exit(then_block, u, depth, varying)
                || loop_varying_exit(else_block, u, depth, varying)
        }
        Stmt::Loop { body } => {
            let u = under || loop_varying_exit(body, false, 0, varying);
            loop_varying_exit(body, u, depth + 1, varying)
        }
        _ => false,
    })
}
