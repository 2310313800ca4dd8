//! Kernel operations that lower the same way on any CPU, whatever runs the
//! threads: atomics become `atomicrmw` / `cmpxchg` (blocks of a CPU launch run
//! on several OS threads, so global-memory atomics really race), fences become
//! `fence`, bit functions become LLVM's bit intrinsics.
//!
//! Atomics on shared and local arrays are plain load-operate-store: a block
//! runs entirely on one OS thread (its threads one after another), so no other
//! OS thread touches its shared memory, and the results are exact.

use hypersonic_ir::{AtomicOp, BitFn, FenceScope, Op, Scalar, Space, Type, ValueId};
use inkwell::llvm_sys::core::LLVMBuildAtomicRMW;
use inkwell::llvm_sys::{LLVMAtomicOrdering, LLVMAtomicRMWBinOp as Rmw};
use inkwell::values::{AsValueRef, BasicValue, BasicValueEnum, PointerValue};
use inkwell::{AtomicOrdering, FloatPredicate as FP, IntPredicate as IP};

use crate::function::{unsupported, FnGen, R};
use crate::types;

/// Atomics, compare-and-swap and bit functions; `None` for other operations.
pub(crate) fn lower_op<'a, 'ctx>(
    g: &mut FnGen<'a, 'ctx>,
    op: &'a Op,
    _rt: &'a Type,
) -> Option<R<BasicValueEnum<'ctx>>> {
    Some(match op {
        Op::Atomic {
            op,
            array,
            indices,
            value,
        } => atomic(g, *op, *array, indices, *value),
        Op::AtomicCas {
            array,
            indices,
            expected,
            desired,
        } => cas(g, *array, indices, *expected, *desired),
        Op::Bit(f, a) => bit(g, *f, *a),
        _ => return None,
    })
}

/// `threadfence*`: a sequentially consistent fence (x86 needs `mfence` for the
/// store-load order that `threadfence` promises).
pub(crate) fn fence(g: &mut FnGen<'_, '_>, scope: FenceScope) -> R<()> {
    let _ = scope;
    g.b.build_fence(AtomicOrdering::SequentiallyConsistent, false, "")?;
    Ok(())
}

fn elem(g: &FnGen<'_, '_>, a: ValueId) -> R<Scalar> {
    match g.ty(a) {
        Type::Array { dtype, .. } => Ok(*dtype),
        t => unsupported(format!("atomic on {t}")),
    }
}

fn rmw<'ctx>(
    g: &FnGen<'_, 'ctx>,
    kind: Rmw,
    p: PointerValue<'ctx>,
    v: BasicValueEnum<'ctx>,
) -> BasicValueEnum<'ctx> {
    // inkwell's `build_atomicrmw` only takes integers; `fadd` needs the C API.
    // SAFETY: the builder is positioned, `p` points to a value of `v`'s type.
    unsafe {
        let r = LLVMBuildAtomicRMW(
            g.b.as_mut_ptr(),
            kind,
            p.as_value_ref(),
            v.as_value_ref(),
            LLVMAtomicOrdering::LLVMAtomicOrderingMonotonic,
            0,
        );
        BasicValueEnum::new(r)
    }
}

fn atomic<'ctx>(
    g: &mut FnGen<'_, 'ctx>,
    op: AtomicOp,
    array: ValueId,
    indices: &[ValueId],
    value: ValueId,
) -> R<BasicValueEnum<'ctx>> {
    let s = elem(g, array)?;
    let p = g.element_ptr(array, indices)?;
    let v = g.v(value)?;
    if block_private(g, array) {
        return plain_rmw(g, op, s, p, v);
    }
    if s.is_float() {
        return Ok(match op {
            AtomicOp::Add => rmw(g, Rmw::LLVMAtomicRMWBinOpFAdd, p, v),
            AtomicOp::Sub => rmw(g, Rmw::LLVMAtomicRMWBinOpFSub, p, v),
            AtomicOp::Max | AtomicOp::Min => float_minmax(g, p, s, v, op == AtomicOp::Max)?,
            AtomicOp::Exch => {
                let it = types::int_bits(g.m.ctx, s.bits());
                let bits = g.b.build_bit_cast(v, it, "")?;
                let old = rmw(g, Rmw::LLVMAtomicRMWBinOpXchg, p, bits);
                g.b.build_bit_cast(old, types::float(g.m.ctx, s), "")?
            }
            _ => return unsupported(format!("atomic {op:?} on {s}")),
        });
    }
    if !s.is_int() {
        return unsupported(format!("atomic {op:?} on {s}"));
    }
    let signed = s.is_signed_int();
    let kind = match op {
        AtomicOp::Add => Rmw::LLVMAtomicRMWBinOpAdd,
        AtomicOp::Sub => Rmw::LLVMAtomicRMWBinOpSub,
        AtomicOp::And => Rmw::LLVMAtomicRMWBinOpAnd,
        AtomicOp::Or => Rmw::LLVMAtomicRMWBinOpOr,
        AtomicOp::Xor => Rmw::LLVMAtomicRMWBinOpXor,
        AtomicOp::Exch => Rmw::LLVMAtomicRMWBinOpXchg,
        AtomicOp::Max if signed => Rmw::LLVMAtomicRMWBinOpMax,
        AtomicOp::Max => Rmw::LLVMAtomicRMWBinOpUMax,
        AtomicOp::Min if signed => Rmw::LLVMAtomicRMWBinOpMin,
        AtomicOp::Min => Rmw::LLVMAtomicRMWBinOpUMin,
        AtomicOp::Inc => Rmw::LLVMAtomicRMWBinOpUIncWrap,
        AtomicOp::Dec => Rmw::LLVMAtomicRMWBinOpUDecWrap,
    };
    Ok(rmw(g, kind, p, v))
}

/// Shared or local memory: only this OS thread touches it during the block.
fn block_private(g: &FnGen<'_, '_>, a: ValueId) -> bool {
    matches!(
        g.ty(a),
        Type::Array {
            space: Space::Shared | Space::Local,
            ..
        }
    )
}

/// An atomic as load, operate, store (same results as the atomic instruction);
/// returns the old value.
fn plain_rmw<'ctx>(
    g: &mut FnGen<'_, 'ctx>,
    op: AtomicOp,
    s: Scalar,
    p: PointerValue<'ctx>,
    v: BasicValueEnum<'ctx>,
) -> R<BasicValueEnum<'ctx>> {
    let old = g.load_scalar(p, s)?;
    let new: BasicValueEnum = if s.is_float() {
        let (o, x) = (old.into_float_value(), v.into_float_value());
        match op {
            AtomicOp::Add => g.b.build_float_add(o, x, "")?.into(),
            AtomicOp::Sub => g.b.build_float_sub(o, x, "")?.into(),
            // As the compare-and-swap loop: store only while `old < v`
            // (`old > v` for min), so NaNs never get in and stay once there.
            AtomicOp::Max | AtomicOp::Min => {
                let pred = if op == AtomicOp::Max {
                    FP::OLT
                } else {
                    FP::OGT
                };
                let go = g.b.build_float_compare(pred, o, x, "")?;
                g.b.build_select(go, x, o, "")?
            }
            AtomicOp::Exch => v,
            _ => return unsupported(format!("atomic {op:?} on {s}")),
        }
    } else if s.is_int() {
        let (o, x) = (old.into_int_value(), v.into_int_value());
        let signed = s.is_signed_int();
        let pick = |g: &FnGen<'_, 'ctx>, p: IP| -> R<BasicValueEnum<'ctx>> {
            let c = g.b.build_int_compare(p, o, x, "")?;
            Ok(g.b.build_select(c, o, x, "")?)
        };
        match op {
            AtomicOp::Add => g.b.build_int_add(o, x, "")?.into(),
            AtomicOp::Sub => g.b.build_int_sub(o, x, "")?.into(),
            AtomicOp::And => g.b.build_and(o, x, "")?.into(),
            AtomicOp::Or => g.b.build_or(o, x, "")?.into(),
            AtomicOp::Xor => g.b.build_xor(o, x, "")?.into(),
            AtomicOp::Exch => v,
            AtomicOp::Max => pick(g, if signed { IP::SGT } else { IP::UGT })?,
            AtomicOp::Min => pick(g, if signed { IP::SLT } else { IP::ULT })?,
            // `old >= v ? 0 : old + 1` (LLVM's `uinc_wrap`).
            AtomicOp::Inc => {
                let t = o.get_type();
                let wrap = g.b.build_int_compare(IP::UGE, o, x, "")?;
                let inc = g.b.build_int_add(o, t.const_int(1, false), "")?;
                g.b.build_select(wrap, t.const_zero(), inc, "")?
            }
            // `old == 0 || old > v ? v : old - 1` (LLVM's `udec_wrap`).
            AtomicOp::Dec => {
                let t = o.get_type();
                let zero = g.b.build_int_compare(IP::EQ, o, t.const_zero(), "")?;
                let above = g.b.build_int_compare(IP::UGT, o, x, "")?;
                let wrap = g.b.build_or(zero, above, "")?;
                let dec = g.b.build_int_sub(o, t.const_int(1, false), "")?;
                g.b.build_select(wrap, x, dec, "")?
            }
        }
    } else {
        return unsupported(format!("atomic {op:?} on {s}"));
    };
    g.store_scalar(p, s, new)?;
    Ok(old)
}

fn cas<'ctx>(
    g: &mut FnGen<'_, 'ctx>,
    array: ValueId,
    indices: &[ValueId],
    expected: ValueId,
    desired: ValueId,
) -> R<BasicValueEnum<'ctx>> {
    let s = elem(g, array)?;
    if !(s.is_int() || s.is_float()) {
        return unsupported(format!("atomic compare-and-swap on {s}"));
    }
    let p = g.element_ptr(array, indices)?;
    let it = types::int_bits(g.m.ctx, s.bits());
    let (e, d) = (g.v(expected)?, g.v(desired)?);
    if block_private(g, array) {
        // Compares the bits, as `cmpxchg` does.
        let old = g.load_scalar(p, s)?;
        let ob = g.b.build_bit_cast(old, it, "")?.into_int_value();
        let eb = g.b.build_bit_cast(e, it, "")?.into_int_value();
        let same = g.b.build_int_compare(IP::EQ, ob, eb, "")?;
        let new = g.b.build_select(same, d, old, "")?;
        g.store_scalar(p, s, new)?;
        return Ok(old);
    }
    let e = g.b.build_bit_cast(e, it, "")?;
    let d = g.b.build_bit_cast(d, it, "")?;
    let r = g.b.build_cmpxchg(
        p,
        e,
        d,
        AtomicOrdering::SequentiallyConsistent,
        AtomicOrdering::SequentiallyConsistent,
    )?;
    let old = g.b.build_extract_value(r, 0, "old")?;
    Ok(g.b.build_bit_cast(old, types::scalar(g.m.ctx, s), "")?)
}

/// Float atomic max/min as a compare-and-swap loop, as Numba does it: the store
/// happens only while `old < v` (`old > v` for min), so a NaN operand leaves
/// memory unchanged and a NaN in memory stays. Returns the old value.
fn float_minmax<'ctx>(
    g: &mut FnGen<'_, 'ctx>,
    p: PointerValue<'ctx>,
    s: Scalar,
    v: BasicValueEnum<'ctx>,
    max: bool,
) -> R<BasicValueEnum<'ctx>> {
    let ctx = g.m.ctx;
    let ft = types::float(ctx, s);
    let it = types::int_bits(ctx, s.bits());
    let v = v.into_float_value();
    let first_bits = g.b.build_load(it, p, "old")?;
    if let Some(i) = first_bits.as_instruction_value() {
        let _ = i.set_atomic_ordering(AtomicOrdering::Monotonic);
        let _ = i.set_alignment(s.size());
    }
    let first = g.b.build_bit_cast(first_bits, ft, "")?;
    let start = g.current();
    let head = g.new_block("atomic_minmax");
    let attempt = g.new_block("atomic_cas");
    let done = g.new_block("atomic_done");
    g.b.build_unconditional_branch(head)?;
    g.b.position_at_end(head);
    let old = g.b.build_phi(ft, "old")?;
    let oldv = old.as_basic_value().into_float_value();
    let pred = if max { FP::OLT } else { FP::OGT };
    let go = g.b.build_float_compare(pred, oldv, v, "")?;
    g.b.build_conditional_branch(go, attempt, done)?;
    g.b.position_at_end(attempt);
    let e = g.b.build_bit_cast(oldv, it, "")?;
    let d = g.b.build_bit_cast(v, it, "")?;
    let r = g.b.build_cmpxchg(
        p,
        e,
        d,
        AtomicOrdering::SequentiallyConsistent,
        AtomicOrdering::SequentiallyConsistent,
    )?;
    let seen = g.b.build_extract_value(r, 0, "")?;
    let seen = g.b.build_bit_cast(seen, ft, "")?.into_float_value();
    let ok = g.b.build_extract_value(r, 1, "")?.into_int_value();
    g.b.build_conditional_branch(ok, done, head)?;
    old.add_incoming(&[(&first, start), (&seen, attempt)]);
    g.b.position_at_end(done);
    let res = g.b.build_phi(ft, "")?;
    res.add_incoming(&[(&oldv, head), (&seen, attempt)]);
    Ok(res.as_basic_value())
}

fn bit<'ctx>(g: &mut FnGen<'_, 'ctx>, f: BitFn, a: ValueId) -> R<BasicValueEnum<'ctx>> {
    let ctx = g.m.ctx;
    let s = g.scalar_of(a)?;
    if !s.is_int() {
        return unsupported(format!("{f:?} on {s}"));
    }
    let x = g.v(a)?.into_int_value();
    let t = x.get_type();
    let i32t = ctx.i32_type();
    let to_i32 = |g: &FnGen<'_, 'ctx>, v: BasicValueEnum<'ctx>| -> R<BasicValueEnum<'ctx>> {
        Ok(g.b
            .build_int_truncate_or_bit_cast(v.into_int_value(), i32t, "")?
            .into())
    };
    let no = ctx.bool_type().const_zero();
    Ok(match f {
        BitFn::Popc => {
            let r = g.intrinsic("llvm.ctpop", &[t.into()], &[x.into()])?;
            to_i32(g, r)?
        }
        BitFn::Clz => {
            let r = g.intrinsic("llvm.ctlz", &[t.into()], &[x.into(), no.into()])?;
            to_i32(g, r)?
        }
        BitFn::Ffs => {
            let tz = g.intrinsic("llvm.cttz", &[t.into()], &[x.into(), no.into()])?;
            let tz = to_i32(g, tz)?.into_int_value();
            let one = g.b.build_int_add(tz, i32t.const_int(1, false), "")?;
            let zero = g.b.build_int_compare(IP::EQ, x, t.const_zero(), "")?;
            g.b.build_select(zero, i32t.const_zero(), one, "")?
        }
        BitFn::Brev => g.intrinsic("llvm.bitreverse", &[t.into()], &[x.into()])?,
    })
}
