//! A readable text form of the IR, for `HYPERSONIC_LOG`, tests and `inspect_types`.

use std::fmt::Write;

use crate::ops::*;

pub fn print_module(m: &Module) -> String {
    let mut out = String::new();
    for (i, e) in m.exceptions.iter().enumerate() {
        let _ = writeln!(out, "exception #{i} = {}({:?})", e.class, e.message);
    }
    for f in &m.functions {
        out.push_str(&print_function(f));
        out.push('\n');
    }
    out
}

pub fn print_function(f: &Function) -> String {
    let mut out = String::new();
    let params: Vec<String> = f.params.iter().map(|t| t.to_string()).collect();
    let _ = writeln!(out, "fn {}({}) -> {} {{", f.name, params.join(", "), f.ret);
    for (i, l) in f.locals.iter().enumerate() {
        let _ = writeln!(out, "  local %{}: {}  # {}", i, l.ty, l.name);
    }
    print_block(f, &f.body, 1, &mut out);
    out.push_str("}\n");
    out
}

fn v(x: &ValueId) -> String {
    format!("v{}", x.0)
}

fn vs(xs: &[ValueId]) -> String {
    xs.iter().map(v).collect::<Vec<_>>().join(", ")
}

fn print_block(f: &Function, b: &Block, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    for s in &b.stmts {
        match s {
            Stmt::Let { value, op, .. } => {
                let _ = writeln!(
                    out,
                    "{pad}{}: {} = {}",
                    v(value),
                    f.value_type(*value),
                    print_op(op)
                );
            }
            Stmt::Store { local, value } => {
                let _ = writeln!(out, "{pad}%{} = {}", local.0, v(value));
            }
            Stmt::ArrayStore {
                array,
                indices,
                value,
                ..
            } => {
                let _ = writeln!(out, "{pad}{}[{}] = {}", v(array), vs(indices), v(value));
            }
            Stmt::If {
                cond,
                then_block,
                else_block,
            } => {
                let _ = writeln!(out, "{pad}if {} {{", v(cond));
                print_block(f, then_block, depth + 1, out);
                if !else_block.stmts.is_empty() {
                    let _ = writeln!(out, "{pad}}} else {{");
                    print_block(f, else_block, depth + 1, out);
                }
                let _ = writeln!(out, "{pad}}}");
            }
            Stmt::Loop { body } => {
                let _ = writeln!(out, "{pad}loop {{");
                print_block(f, body, depth + 1, out);
                let _ = writeln!(out, "{pad}}}");
            }
            Stmt::Break => {
                let _ = writeln!(out, "{pad}break");
            }
            Stmt::Continue => {
                let _ = writeln!(out, "{pad}continue");
            }
            Stmt::Return { value } => {
                let _ = match value {
                    Some(x) => writeln!(out, "{pad}return {}", v(x)),
                    None => writeln!(out, "{pad}return"),
                };
            }
            Stmt::Raise { exc, .. } => {
                let _ = writeln!(out, "{pad}raise #{}", exc.0);
            }
            Stmt::Barrier { .. } => {
                let _ = writeln!(out, "{pad}barrier");
            }
            Stmt::Fence(scope) => {
                let _ = writeln!(out, "{pad}fence.{}", format!("{scope:?}").to_lowercase());
            }
            Stmt::SyncWarp { mask, .. } => {
                let _ = writeln!(out, "{pad}syncwarp {}", v(mask));
            }
        }
    }
}

fn print_op(op: &Op) -> String {
    match op {
        Op::Param(i) => format!("param {i}"),
        Op::Const(c) => format!("const {c:?}"),
        Op::LoadLocal(l) => format!("load %{}", l.0),
        Op::Unary(o, a) => format!("{o:?} {}", v(a)).to_lowercase(),
        Op::Binary(o, a, b) => format!("{} {}, {}", format!("{o:?}").to_lowercase(), v(a), v(b)),
        Op::Compare(o, a, b) => {
            format!("cmp.{} {}, {}", format!("{o:?}").to_lowercase(), v(a), v(b))
        }
        Op::Cast(a) => format!("cast {}", v(a)),
        Op::Bitcast(a) => format!("bitcast {}", v(a)),
        Op::Select(c, a, b) => format!("select {}, {}, {}", v(c), v(a), v(b)),
        Op::Math(m, args) => format!("math.{} {}", format!("{m:?}").to_lowercase(), vs(args)),
        Op::Call(fid, args) => format!("call @{}({})", fid.0, vs(args)),
        Op::ArrayDim(a, k) => format!("dim {}, {k}", v(a)),
        Op::ArrayStride(a, k) => format!("stride {}, {k}", v(a)),
        Op::ArrayLoad(a, idx) => format!("{}[{}]", v(a), vs(idx)),
        Op::SubArray(a, idx) => format!("view {}[{}]", v(a), vs(idx)),
        Op::MakeTuple(items) => format!("tuple({})", vs(items)),
        Op::TupleGet(t, i) => format!("{}.{i}", v(t)),
        Op::TupleIndex(t, i) => format!("{}[{}]", v(t), v(i)),
        Op::ComplexNew(a, b) => format!("complex {}, {}", v(a), v(b)),
        Op::ComplexReal(a) => format!("real {}", v(a)),
        Op::ComplexImag(a) => format!("imag {}", v(a)),
        Op::Geometry(g, axis) => format!("{g:?}.{axis:?}").to_lowercase(),
        Op::LaneId => "laneid".into(),
        Op::SharedArray {
            dtype,
            shape,
            dynamic,
        } => format!(
            "shared.array({dtype}, {shape:?}{})",
            if *dynamic { ", dynamic" } else { "" }
        ),
        Op::LocalArray { dtype, shape } => format!("local.array({dtype}, {shape:?})"),
        Op::ConstArray { dtype, shape, .. } => format!("const.array({dtype}, {shape:?})"),
        Op::Atomic {
            op,
            array,
            indices,
            value,
        } => format!(
            "atomic.{} {}[{}], {}",
            format!("{op:?}").to_lowercase(),
            v(array),
            vs(indices),
            v(value)
        ),
        Op::AtomicCas {
            array,
            indices,
            expected,
            desired,
        } => format!(
            "atomic.cas {}[{}], {}, {}",
            v(array),
            vs(indices),
            v(expected),
            v(desired)
        ),
        Op::WarpShuffle {
            kind,
            mask,
            value,
            lane,
            width,
        } => format!(
            "shfl.{} {}, {}, {}, {}",
            format!("{kind:?}").to_lowercase(),
            v(mask),
            v(value),
            v(lane),
            v(width)
        ),
        Op::WarpVote { kind, mask, pred } => format!(
            "vote.{} {}, {}",
            format!("{kind:?}").to_lowercase(),
            v(mask),
            v(pred)
        ),
        Op::BarrierReduce(kind, pred) => {
            format!("barrier.{} {}", format!("{kind:?}").to_lowercase(), v(pred))
        }
        Op::Bit(f, a) => format!("{} {}", format!("{f:?}").to_lowercase(), v(a)),
    }
}
