//! The warp-scan idiom, run as the sequential scan it computes.
//!
//! Kernels scan a warp with log2(32) shuffle steps (Hillis and Steele):
//!
//! ```python
//! offset = 1
//! while offset < 32:
//!     other = cuda.shfl_up_sync(0xFFFFFFFF, value, offset)
//!     if lane >= offset:
//!         value += other
//!     offset *= 2
//! ```
//!
//! A GPU runs each step as one instruction for the 32 lanes. The SIMT lowering
//! would run each step as a pass over the block's threads (a snapshot of
//! `value` for the shuffle, then a masked update): five passes where one
//! sequential pass per warp computes the same result, lane `l` ending with
//! `value[0] + ... + value[l]`. For integer operations that are associative
//! and commutative (wrapping `+`, `*`, `&`, `|`, `^`, `min`, `max`) both orders
//! give the same bits (`max(a, b)` and `min(a, b)` come as a select on a
//! comparison); a floating-point `+` rounds differently in each order,
//! so it stays a shuffle loop.
//!
//! The loop qualifies when it is exactly that: its exit test leaves once
//! `offset` passes 16 (and not before), `offset` starts at 1 and doubles at the
//! end of the body, the shuffle is `shfl_up` of `value` by `offset` with width
//! 32, the update is `value = value op other` under `lane >= offset`, `lane`
//! is the thread's lane ([`GeometryValues::lane`]), and nothing outside the
//! loop reads `offset` or `other`. The planner only looks for it where every
//! thread of the block runs the loop.

use hypersonic_ir::{
    BinaryOp, Block, CmpOp, Const, Function, LocalId, Op, Scalar, Shuffle, Stmt, Type, UnaryOp,
    ValueId,
};
use inkwell::types::{IntType, VectorType};
use inkwell::values::{BasicValue, IntValue, PointerValue, VectorValue};
use inkwell::IntPredicate as IP;

use super::geometry::{block_definitions, GeometryValues, Lane};
use super::plan::uses;
use super::WARP;
use crate::function::{FnGen, R};
use crate::types;

/// A recognised warp scan: every lane's `value` becomes the `op`-combination
/// of the values of its warp's lanes up to and including its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WarpScan {
    pub value: LocalId,
    pub op: BinaryOp,
    pub scalar: Scalar,
    pub lane: Lane,
}

/// The warp scan that the loop with this `body` computes, if it is one;
/// `before`: the statements ahead of the loop in its block.
pub(crate) fn recognise(
    f: &Function,
    geometry: &GeometryValues<'_>,
    before: &[Stmt],
    body: &Block,
) -> Option<WarpScan> {
    let defs = block_definitions(body);
    let op_of = |v: ValueId| defs.get(&v).map(|d| d.1);
    // Only lets that compute (no memory, nothing that can raise).
    if !defs.values().all(|(_, op)| computes(op)) {
        return None;
    }
    // The local a value reads, through casts.
    let local_read = |mut v: ValueId| loop {
        match op_of(v)? {
            Op::LoadLocal(l) => return Some(*l),
            Op::Cast(w) => v = *w,
            _ => return None,
        }
    };
    let int_const = |v: ValueId| match op_of(v)? {
        Op::Const(Const::Int(i)) => Some(*i),
        _ => None,
    };

    // The statements other than lets: exit test, [store of the shuffle],
    // guarded update, doubling of `offset`.
    let mut rest = body.stmts.iter().filter(|s| !matches!(s, Stmt::Let { .. }));
    let Some(Stmt::If {
        cond: exit,
        then_block,
        else_block,
    }) = rest.next()
    else {
        return None;
    };
    if !else_block.stmts.is_empty() || !ends_with_only(then_block, |s| matches!(s, Stmt::Break)) {
        return None;
    }
    let mut next = rest.next()?;
    let mut other_local = None;
    if let Stmt::Store { local, value } = next {
        other_local = Some((*local, *value));
        next = rest.next()?;
    }
    let Stmt::If {
        cond: guard,
        then_block: update,
        else_block: no_update,
    } = next
    else {
        return None;
    };
    let Some(Stmt::Store {
        local: off,
        value: doubled,
    }) = rest.next()
    else {
        return None;
    };
    if rest.next().is_some() || !no_update.stmts.is_empty() {
        return None;
    }
    let off = *off;

    // The loop leaves once `offset` passes 16: false for 1, 2, 4, 8, 16, true for 32.
    let leaves = |c: ValueId, o: i64| -> Option<bool> {
        let (negate, c) = match op_of(c)? {
            Op::Unary(UnaryOp::Not, c) => (true, *c),
            _ => (false, c),
        };
        let Op::Compare(cmp, a, b) = op_of(c)? else {
            return None;
        };
        let (cmp, k) = if local_read(*a) == Some(off) {
            (*cmp, int_const(*b)?)
        } else if local_read(*b) == Some(off) {
            (cmp.swapped(), int_const(*a)?)
        } else {
            return None;
        };
        Some(cmp.holds(o, k) != negate)
    };
    let mut offsets = (0..5).map(|k| 1i64 << k);
    if !offsets.all(|o| leaves(*exit, o) == Some(false)) || leaves(*exit, 32) != Some(true) {
        return None;
    }
    // `offset` doubles, and starts at 1.
    let doubles = match op_of(*doubled)? {
        Op::Binary(BinaryOp::Mul, a, b) => {
            (local_read(*a) == Some(off) && int_const(*b) == Some(2))
                || (local_read(*b) == Some(off) && int_const(*a) == Some(2))
        }
        Op::Binary(BinaryOp::Shl, a, b) => local_read(*a) == Some(off) && int_const(*b) == Some(1),
        Op::Binary(BinaryOp::Add, a, b) => {
            local_read(*a) == Some(off) && local_read(*b) == Some(off)
        }
        _ => false,
    };
    if !doubles || !starts_at_one(before, off, geometry) {
        return None;
    }

    // The shuffle: `shfl_up(value, offset)` over whole warps.
    let shuffles: Vec<_> = defs
        .iter()
        .filter_map(|(v, (_, op))| match op {
            Op::WarpShuffle {
                kind,
                value,
                lane,
                width,
                ..
            } => Some((*v, *kind, *value, *lane, *width)),
            _ => None,
        })
        .collect();
    let [(shfl, Shuffle::Up, shuffled, delta, width)] = shuffles[..] else {
        return None;
    };
    let Some(Op::LoadLocal(value)) = op_of(shuffled) else {
        return None;
    };
    let value = *value;
    if local_read(delta) != Some(off) || int_const(width) != Some(WARP as i64) {
        return None;
    }
    // `other`: the shuffle's result, directly or through its local.
    if let Some((l, v)) = other_local {
        if v != shfl || l == value || l == off {
            return None;
        }
    }
    let is_other = |v: ValueId| {
        v == shfl || matches!(other_local, Some((l, _)) if op_of(v) == Some(&Op::LoadLocal(l)))
    };

    // The update: `if lane >= offset: value = value op other`.
    let Op::Compare(cmp, a, b) = op_of(*guard)? else {
        return None;
    };
    let (lane, o) = match cmp {
        CmpOp::Ge => (*a, *b),
        CmpOp::Le => (*b, *a),
        _ => return None,
    };
    if local_read(o) != Some(off) {
        return None;
    }
    let lane = geometry.lane(lane)?;
    let mut stores = Vec::new();
    for s in &update.stmts {
        match s {
            Stmt::Let { .. } => {}
            Stmt::Store { local, value } => stores.push((*local, *value)),
            _ => return None,
        }
    }
    let [(target, combined)] = stores[..] else {
        return None;
    };
    let (op, x, y) = match op_of(combined)? {
        Op::Binary(op, x, y) => (*op, *x, *y),
        // Python's `max(a, b)`/`min(a, b)`: a select on a comparison.
        Op::Select(c, p, q) => match op_of(*c)? {
            Op::Compare(cmp, a, b) if (*a, *b) == (*p, *q) || (*a, *b) == (*q, *p) => {
                let picks_greater = matches!(cmp, CmpOp::Gt | CmpOp::Ge) == (*a == *p);
                let op = if picks_greater {
                    BinaryOp::Max
                } else {
                    BinaryOp::Min
                };
                match cmp {
                    CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => (op, *p, *q),
                    _ => return None,
                }
            }
            _ => return None,
        },
        _ => return None,
    };
    let reads_value = |v: ValueId| op_of(v) == Some(&Op::LoadLocal(value));
    let operands_ok = (reads_value(x) && is_other(y)) || (reads_value(y) && is_other(x));
    let Type::Scalar(scalar) = f.local(value).ty else {
        return None;
    };
    let same_type = [shfl, combined]
        .iter()
        .all(|v| f.value_type(*v) == &Type::Scalar(scalar));
    if target != value
        || !operands_ok
        || !same_type
        || !scalar.is_int()
        || scalar == Scalar::Bool
        || !matches!(
            op,
            BinaryOp::Add
                | BinaryOp::Mul
                | BinaryOp::BitAnd
                | BinaryOp::BitOr
                | BinaryOp::BitXor
                | BinaryOp::Min
                | BinaryOp::Max
        )
    {
        return None;
    }
    // `offset` and `other` end the loop with values nobody reads.
    let outside_reads = |l: LocalId| {
        let inside = defs
            .values()
            .filter(|(_, op)| **op == Op::LoadLocal(l))
            .count();
        geometry.loads_of(l) != inside
    };
    if outside_reads(off) || other_local.is_some_and(|(l, _)| outside_reads(l)) {
        return None;
    }
    Some(WarpScan {
        value,
        op,
        scalar,
        lane,
    })
}

/// Operations that only compute (the idiom's arithmetic, loads of locals, the shuffle).
fn computes(op: &Op) -> bool {
    match op {
        Op::Const(_) | Op::LoadLocal(_) | Op::Cast(_) | Op::Compare(..) | Op::Select(..) => true,
        Op::Unary(UnaryOp::Not | UnaryOp::Neg | UnaryOp::Invert, _) => true,
        Op::Binary(b, ..) => !matches!(
            b,
            BinaryOp::Div | BinaryOp::FloorDiv | BinaryOp::Mod | BinaryOp::Pow
        ),
        Op::WarpShuffle { .. } => true,
        _ => false,
    }
}

/// Whether `b` is lets followed by one statement that `last` accepts.
fn ends_with_only(b: &Block, last: impl Fn(&Stmt) -> bool) -> bool {
    match b.stmts.split_last() {
        Some((s, lets)) => last(s) && lets.iter().all(|s| matches!(s, Stmt::Let { .. })),
        None => false,
    }
}

/// Whether the last write of `off` among `before` stores the constant 1.
fn starts_at_one(before: &[Stmt], off: LocalId, geometry: &GeometryValues<'_>) -> bool {
    for s in before.iter().rev() {
        let (mut v, mut r, mut w) = (Vec::new(), Vec::new(), Vec::new());
        uses(s, &mut v, &mut r, &mut w);
        if w.contains(&off) {
            return matches!(s, Stmt::Store { local, value } if *local == off
                && matches!(geometry.op_of(*value), Some(Op::Const(Const::Int(1)))));
        }
    }
    false
}

/// Emits `scan` over the threads' slots of its value (`slots`: thread `t`'s at
/// index `t`). Warps are cut from the linear thread index; a `ThreadX` lane is
/// the warp lane when the block is one-dimensional or `blockDim.x` is a
/// multiple of 32, and otherwise the shuffle steps run as written.
pub(crate) fn emit<'ctx>(
    g: &mut FnGen<'_, 'ctx>,
    scan: &WarpScan,
    slots: PointerValue<'ctx>,
    nthreads: IntValue<'ctx>,
    bdx: IntValue<'ctx>,
) -> R<()> {
    let i64t = g.m.ctx.i64_type();
    let warp = i64t.const_int(WARP, false);
    let done = g.new_block("wscan.done");
    let sequential = g.new_block("wscan.warps");
    match scan.lane {
        Lane::Exact => {
            g.b.build_unconditional_branch(sequential)?;
        }
        Lane::ThreadX => {
            let low = g.b.build_and(bdx, i64t.const_int(WARP - 1, false), "")?;
            let whole = g.b.build_int_compare(IP::EQ, low, i64t.const_zero(), "")?;
            let flat = g.b.build_int_compare(IP::EQ, nthreads, bdx, "")?;
            let ok = g.b.build_or(whole, flat, "lanes.linear")?;
            let steps = g.new_block("wscan.steps");
            g.b.build_conditional_branch(ok, sequential, steps)?;
            g.b.position_at_end(steps);
            shuffle_steps(g, scan, slots, nthreads, bdx)?;
            g.b.build_unconditional_branch(done)?;
        }
    }

    // For each warp: a whole one is scanned in vector registers, a partial
    // last one lane by lane.
    let elem = types::ty(g.m.ctx, &Type::Scalar(scan.scalar));
    g.b.position_at_end(sequential);
    let from = g.current();
    let head = g.new_block("wscan.warp");
    let first = g.new_block("wscan.first");
    let whole = g.new_block("wscan.whole");
    let partial = g.new_block("wscan.partial");
    let lanes = g.new_block("wscan.lane");
    let latch = g.new_block("wscan.next");
    g.b.build_unconditional_branch(head)?;
    g.b.position_at_end(head);
    let base = g.b.build_phi(i64t, "warp")?;
    let b = base.as_basic_value().into_int_value();
    let more = g.b.build_int_compare(IP::ULT, b, nthreads, "")?;
    g.b.build_conditional_branch(more, first, done)?;
    g.b.position_at_end(first);
    let end = g.b.build_int_nuw_add(b, warp, "")?;
    let short = g.b.build_int_compare(IP::ULT, nthreads, end, "")?;
    g.b.build_conditional_branch(short, partial, whole)?;

    g.b.position_at_end(whole);
    scan_in_registers(g, scan, slot(g, elem, slots, b)?)?;
    g.b.build_unconditional_branch(latch)?;

    // acc = v[base]; for t in base + 1 .. n: v[t] = acc = acc op v[t]
    g.b.position_at_end(partial);
    let acc0 =
        g.b.build_load(elem, slot(g, elem, slots, b)?, "")?
            .into_int_value();
    let one = i64t.const_int(1, false);
    let t0 = g.b.build_int_nuw_add(b, one, "")?;
    let any = g.b.build_int_compare(IP::ULT, t0, nthreads, "")?;
    g.b.build_conditional_branch(any, lanes, latch)?;
    g.b.position_at_end(lanes);
    let t = g.b.build_phi(i64t, "t")?;
    let acc = g.b.build_phi(elem, "acc")?;
    let tv = t.as_basic_value().into_int_value();
    let p = slot(g, elem, slots, tv)?;
    let x = g.b.build_load(elem, p, "")?.into_int_value();
    let acc_v = acc.as_basic_value().into_int_value();
    let next_acc = g
        .int_binary(scan.op, scan.scalar, acc_v, x)?
        .into_int_value();
    g.b.build_store(p, next_acc)?;
    let t_next = g.b.build_int_nuw_add(tv, one, "")?;
    let again = g.b.build_int_compare(IP::ULT, t_next, nthreads, "")?;
    let here = g.current();
    g.b.build_conditional_branch(again, lanes, latch)?;
    t.add_incoming(&[(&t0, partial), (&t_next, here)]);
    acc.add_incoming(&[(&acc0, partial), (&next_acc, here)]);

    g.b.position_at_end(latch);
    let b_next = g.b.build_int_nuw_add(b, warp, "")?;
    g.b.build_unconditional_branch(head)?;
    base.add_incoming(&[(&i64t.const_zero(), from), (&b_next, latch)]);
    g.b.position_at_end(done);
    Ok(())
}

/// Scans the 32 values at `p` as one vector, in the kernel's own steps:
/// `x = x op (x shifted up by d lanes)` for d = 1, 2, 4, 8, 16, the lanes
/// shifted in holding `op`'s identity. The backend splits the vector into the
/// machine's registers (four on AVX-512 for `int64`).
fn scan_in_registers<'ctx>(
    g: &mut FnGen<'_, 'ctx>,
    scan: &WarpScan,
    p: PointerValue<'ctx>,
) -> R<()> {
    let ctx = g.m.ctx;
    let elem = types::ty(ctx, &Type::Scalar(scan.scalar)).into_int_type();
    let vt = elem.vec_type(WARP as u32);
    let align = (scan.scalar.bits() / 8).max(1);
    let load = g.b.build_load(vt, p, "warp")?;
    if let Some(i) = load.as_instruction_value() {
        let _ = i.set_alignment(align);
    }
    let mut x = load.into_vector_value();
    let fill = identity(scan, elem);
    let fill = VectorType::const_vector(&vec![fill; WARP as usize]);
    let i32t = ctx.i32_type();
    let mut d = 1u64;
    while d < WARP {
        let mask: Vec<_> = (0..WARP)
            .map(|i| i32t.const_int(if i >= d { i - d } else { WARP + i }, false))
            .collect();
        let shifted =
            g.b.build_shuffle_vector(x, fill, VectorType::const_vector(&mask), "")?;
        x = combine(g, scan, x, shifted)?;
        d *= 2;
    }
    let store = g.b.build_store(p, x)?;
    let _ = store.set_alignment(align);
    Ok(())
}

/// `op`'s identity: shifted into the lanes that have no neighbour `d` below.
fn identity<'ctx>(scan: &WarpScan, t: IntType<'ctx>) -> IntValue<'ctx> {
    let bits = scan.scalar.bits();
    let signed = scan.scalar.is_signed_int();
    let top = 1u64 << (bits - 1);
    match (scan.op, signed) {
        (BinaryOp::Mul, _) => t.const_int(1, false),
        (BinaryOp::BitAnd, _) | (BinaryOp::Min, false) => t.const_all_ones(),
        (BinaryOp::Min, true) => t.const_int(top - 1, false),
        (BinaryOp::Max, true) => t.const_int(top, false),
        _ => t.const_zero(),
    }
}

/// `a op b` on vectors of the scan's integers.
fn combine<'ctx>(
    g: &FnGen<'_, 'ctx>,
    scan: &WarpScan,
    a: VectorValue<'ctx>,
    b: VectorValue<'ctx>,
) -> R<VectorValue<'ctx>> {
    let signed = scan.scalar.is_signed_int();
    Ok(match scan.op {
        BinaryOp::Add => g.b.build_int_add(a, b, "")?,
        BinaryOp::Mul => g.b.build_int_mul(a, b, "")?,
        BinaryOp::BitAnd => g.b.build_and(a, b, "")?,
        BinaryOp::BitOr => g.b.build_or(a, b, "")?,
        BinaryOp::BitXor => g.b.build_xor(a, b, "")?,
        op => {
            let name = match (op, signed) {
                (BinaryOp::Min, true) => "llvm.smin",
                (BinaryOp::Min, false) => "llvm.umin",
                (BinaryOp::Max, true) => "llvm.smax",
                _ => "llvm.umax",
            };
            g.intrinsic(name, &[a.get_type().into()], &[a.into(), b.into()])?
                .into_vector_value()
        }
    })
}

/// The shuffle steps as the kernel writes them, for a `threadIdx.x % 32` lane
/// that is not the warp lane (a 2-D block whose `x` extent is not a multiple
/// of 32): for each offset `d`, every thread with `tx % 32 >= d` combines its
/// value with lane `lane - d`'s (its own when `lane < d`, as `shfl_up` gives).
/// Threads are visited from the last down, so each reads its neighbour's value
/// from before the step without a snapshot.
fn shuffle_steps<'ctx>(
    g: &mut FnGen<'_, 'ctx>,
    scan: &WarpScan,
    slots: PointerValue<'ctx>,
    nthreads: IntValue<'ctx>,
    bdx: IntValue<'ctx>,
) -> R<()> {
    let i64t = g.m.ctx.i64_type();
    let elem = types::ty(g.m.ctx, &Type::Scalar(scan.scalar));
    let lane_mask = i64t.const_int(WARP - 1, false);
    let from = g.current();
    let step = g.new_block("wscan.step");
    let threads = g.new_block("wscan.thread");
    let step_next = g.new_block("wscan.step.next");
    let out = g.new_block("wscan.steps.done");
    g.b.build_unconditional_branch(step)?;
    g.b.position_at_end(step);
    let d = g.b.build_phi(i64t, "d")?;
    let dv = d.as_basic_value().into_int_value();
    let more =
        g.b.build_int_compare(IP::ULT, dv, i64t.const_int(WARP, false), "")?;
    let none =
        g.b.build_int_compare(IP::EQ, nthreads, i64t.const_zero(), "")?;
    let run = g.b.build_and(more, g.b.build_not(none, "")?, "")?;
    g.b.build_conditional_branch(run, threads, out)?;
    g.b.position_at_end(threads);
    let t = g.b.build_phi(i64t, "t")?;
    let tv = t.as_basic_value().into_int_value();
    // This iteration's thread: `t - 1` (counting down from `nthreads`).
    let me = g.b.build_int_nuw_sub(tv, i64t.const_int(1, false), "")?;
    let tx = g.b.build_int_unsigned_rem(me, bdx, "")?;
    let user_lane = g.b.build_and(tx, lane_mask, "")?;
    let takes = g.b.build_int_compare(IP::UGE, user_lane, dv, "")?;
    let lane = g.b.build_and(me, lane_mask, "")?;
    let has_src = g.b.build_int_compare(IP::UGE, lane, dv, "")?;
    let src = g.b.build_int_sub(me, dv, "")?;
    let src = g.b.build_select(has_src, src, me, "")?.into_int_value();
    let p = slot(g, elem, slots, me)?;
    let own = g.b.build_load(elem, p, "")?.into_int_value();
    let ps = slot(g, elem, slots, src)?;
    let other = g.b.build_load(elem, ps, "")?.into_int_value();
    let combined = g
        .int_binary(scan.op, scan.scalar, own, other)?
        .into_int_value();
    let new = g.b.build_select(takes, combined, own, "")?;
    g.b.build_store(p, new)?;
    let again = g.b.build_int_compare(IP::NE, me, i64t.const_zero(), "")?;
    let here = g.current();
    g.b.build_conditional_branch(again, threads, step_next)?;
    t.add_incoming(&[(&nthreads, step), (&me, here)]);
    g.b.position_at_end(step_next);
    let d_next = g.b.build_left_shift(dv, i64t.const_int(1, false), "")?;
    g.b.build_unconditional_branch(step)?;
    d.add_incoming(&[(&i64t.const_int(1, false), from), (&d_next, step_next)]);
    g.b.position_at_end(out);
    Ok(())
}

fn slot<'ctx>(
    g: &FnGen<'_, 'ctx>,
    elem: inkwell::types::BasicTypeEnum<'ctx>,
    slots: PointerValue<'ctx>,
    t: IntValue<'ctx>,
) -> R<PointerValue<'ctx>> {
    // SAFETY (for LLVM): `t` is below the block's thread count; the slots hold one per thread.
    Ok(unsafe { g.b.build_in_bounds_gep(elem, slots, &[t], "")? })
}
