//! Locals that only ever hold thread geometry, recomputed instead of stored.
//!
//! `tid = cuda.threadIdx.x` or `x, y = cuda.grid(2)` at the top of a kernel
//! with barriers would otherwise live per thread in scratch: written in the
//! first region, read back in every later one. Their value is a pure function
//! of the thread's and block's coordinates, so each region recomputes it in a
//! few integer instructions, and LLVM then sees `threadIdx.x` itself (a loop
//! induction variable) where it would see an opaque load. That also lets a
//! region guarded by `if tid < s` run only its first `s` threads (see
//! [`x_bound`]).
//!
//! A local qualifies when, in the kernel body's top-level statement list, it is
//! first given constants (the front end's zero initialisation), then stored
//! exactly once with a recomputable value, and nothing reads or writes it
//! anywhere else before that store or stores it anywhere after.

use std::collections::{HashMap, HashSet};

use hypersonic_ir::{
    Axis, BinaryOp, Block, CmpOp, Function, Geometry, LocalId, Op, Stmt, Type, ValueId,
};

/// For each local of `f`: the statements (in order) that recompute the value it
/// holds, the last one defining `value`; `None` when it does not qualify.
#[derive(Clone)]
pub(crate) struct Recompute<'a> {
    pub stmts: Vec<&'a Stmt>,
    pub value: ValueId,
}

pub(crate) fn recomputable_locals(f: &Function) -> Vec<Option<Recompute<'_>>> {
    let defs = definitions(f);
    let mut out = vec![None; f.locals.len()];
    // Per local: Some(value) once its one real store has been seen.
    let mut state: Vec<Option<Option<ValueId>>> = vec![Some(None); f.locals.len()];
    for s in &f.body.stmts {
        if let Stmt::Store { local, value } = s {
            let st = &mut state[local.0 as usize];
            match (*st, defs.get(value).map(|d| d.1)) {
                (Some(None), Some(Op::Const(_))) => {}
                (Some(None), Some(_)) => *st = Some(Some(*value)),
                _ => *st = None,
            }
            continue;
        }
        // Any other mention: a read is fine after the store, a write never.
        let (mut read, mut written) = (Vec::new(), Vec::new());
        mentions(s, &mut read, &mut written);
        for l in written {
            state[l.0 as usize] = None;
        }
        for l in read {
            if let Some(None) = state[l.0 as usize] {
                state[l.0 as usize] = None;
            }
        }
    }
    for (l, st) in state.into_iter().enumerate() {
        if let Some(Some(v)) = st {
            if is_int(f.value_type(v)) {
                let mut stmts = Vec::new();
                if collect(v, &defs, &mut stmts, &mut HashSet::new()) {
                    out[l] = Some(Recompute { stmts, value: v });
                }
            }
        }
    }
    out
}

/// The threads of a region predicated on `cond` (taken) all have
/// `threadIdx.x < bound`: `cond` is `X < b`, `X <= b` or `b > X` with `X` the
/// thread's `threadIdx.x` (directly, widened, or through a recomputed local)
/// and `b` a value of the block. Returns `b` and whether the bound is `b + 1`.
pub(crate) fn x_bound(
    f: &Function,
    cond: ValueId,
    recompute: &[Option<Recompute<'_>>],
) -> Option<(ValueId, bool)> {
    let defs = definitions(f);
    let Some((_, Op::Compare(op, a, b))) = defs.get(&cond) else {
        return None;
    };
    let (x, b, inclusive) = match op {
        CmpOp::Lt => (*a, *b, false),
        CmpOp::Le => (*a, *b, true),
        CmpOp::Gt => (*b, *a, false),
        CmpOp::Ge => (*b, *a, true),
        _ => return None,
    };
    (is_int(f.value_type(b)) && is_thread_x(f, x, &defs, recompute)).then_some((b, inclusive))
}

fn is_thread_x(
    f: &Function,
    v: ValueId,
    defs: &HashMap<ValueId, (&Stmt, &Op)>,
    recompute: &[Option<Recompute<'_>>],
) -> bool {
    match defs.get(&v).map(|d| d.1) {
        Some(Op::Geometry(Geometry::ThreadIdx, Axis::X)) => true,
        // Widening keeps the value (threadIdx is non-negative).
        Some(Op::Cast(w)) => {
            let widens = match (f.value_type(*w), f.value_type(v)) {
                (Type::Scalar(a), Type::Scalar(b)) => {
                    a.is_int() && b.is_int() && b.size() >= a.size()
                }
                _ => false,
            };
            widens && is_thread_x(f, *w, defs, recompute)
        }
        Some(Op::LoadLocal(l)) => recompute
            .get(l.0 as usize)
            .and_then(|r| r.as_ref())
            .is_some_and(|r| is_thread_x(f, r.value, defs, recompute)),
        _ => false,
    }
}

fn is_int(t: &Type) -> bool {
    matches!(t, Type::Scalar(s) if s.is_int())
}

/// Adds the statements computing `v` (operands first) to `out`; false when
/// some operand is not pure geometry arithmetic.
fn collect<'a>(
    v: ValueId,
    defs: &HashMap<ValueId, (&'a Stmt, &'a Op)>,
    out: &mut Vec<&'a Stmt>,
    seen: &mut HashSet<ValueId>,
) -> bool {
    if seen.contains(&v) {
        return true;
    }
    let Some(&(stmt, op)) = defs.get(&v) else {
        return false;
    };
    let ok = match op {
        Op::Geometry(..) | Op::Const(_) => true,
        Op::Cast(_) | Op::MakeTuple(_) | Op::TupleGet(..) => true,
        Op::Binary(BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul, ..) => true,
        _ => false,
    };
    if !ok || !op.operands().iter().all(|&w| collect(w, defs, out, seen)) {
        return false;
    }
    seen.insert(v);
    out.push(stmt);
    true
}

/// Every `Let` of `f`, by the value it defines.
fn definitions(f: &Function) -> HashMap<ValueId, (&Stmt, &Op)> {
    fn walk<'a>(b: &'a Block, d: &mut HashMap<ValueId, (&'a Stmt, &'a Op)>) {
        for s in &b.stmts {
            match s {
                Stmt::Let { value, op, .. } => {
                    d.insert(*value, (s, op));
                }
                Stmt::If {
                    then_block,
                    else_block,
                    ..
                } => {
                    walk(then_block, d);
                    walk(else_block, d);
                }
                Stmt::Loop { body } => walk(body, d),
                _ => {}
            }
        }
    }
    let mut d = HashMap::new();
    walk(&f.body, &mut d);
    d
}

/// The locals `s` reads and writes, at any depth.
fn mentions(s: &Stmt, read: &mut Vec<LocalId>, written: &mut Vec<LocalId>) {
    match s {
        Stmt::Let {
            op: Op::LoadLocal(l),
            ..
        } => read.push(*l),
        Stmt::Store { local, .. } => written.push(*local),
        Stmt::If {
            then_block,
            else_block,
            ..
        } => {
            for t in then_block.stmts.iter().chain(&else_block.stmts) {
                mentions(t, read, written);
            }
        }
        Stmt::Loop { body } => {
            for t in &body.stmts {
                mentions(t, read, written);
            }
        }
        _ => {}
    }
}
