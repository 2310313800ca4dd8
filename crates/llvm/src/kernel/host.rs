//! Kernel operations that lower the same way on any CPU, whatever runs the
//! threads: atomics become `atomicrmw` / `cmpxchg` (blocks of a CPU launch run
//! on several OS threads, so global-memory atomics really race), fences become
//! `fence`, bit functions become LLVM's bit intrinsics.
//!
//! Atomics on shared and local arrays are plain load-operate-store: a block
//! runs entirely on one OS thread (its threads one after another), so no other
//! OS thread touches its shared memory, and the results are exact.

use hypersonic_ir::{AtomicOp, FenceScope, Op, Scalar, Space, Type, ValueId};
use inkwell::llvm_sys::LLVMAtomicRMWBinOp as Rmw;
use inkwell::values::{BasicValueEnum, PointerValue};
use inkwell::{AtomicOrdering, FloatPredicate as FP, IntPredicate as IP};

use super::atomics::{elem, float_minmax, rmw};
use super::bits::bit;
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
    // A worker's private copy of an accumulation target (its old value is
    // never read): plain when the runtime privatised it for this launch.
    let private = g
        .simt
        .as_ref()
        .and_then(|st| Some((*st.private.get(&array)?, st.private_mask)));
    if let Some((param, mask)) = private {
        let bit = mask.get_type().const_int(1 << param, false);
        let on = g.b.build_and(mask, bit, "")?;
        let on =
            g.b.build_int_compare(IP::NE, on, bit.get_type().const_zero(), "")?;
        let (plain, shared, done) = (
            g.new_block("atomic.private"),
            g.new_block("atomic.shared"),
            g.new_block("atomic.done"),
        );
        g.b.build_conditional_branch(on, plain, shared)?;
        g.b.position_at_end(plain);
        let a = plain_rmw(g, op, s, p, v)?;
        let from_plain = g.current();
        g.b.build_unconditional_branch(done)?;
        g.b.position_at_end(shared);
        let b = atomic_rmw(g, op, s, p, v)?;
        let from_shared = g.current();
        g.b.build_unconditional_branch(done)?;
        g.b.position_at_end(done);
        let phi = g.b.build_phi(a.get_type(), "old")?;
        phi.add_incoming(&[(&a, from_plain), (&b, from_shared)]);
        return Ok(phi.as_basic_value());
    }
    atomic_rmw(g, op, s, p, v)
}

/// The atomic instruction(s) for `op` on `p`; returns the old value.
fn atomic_rmw<'ctx>(
    g: &mut FnGen<'_, 'ctx>,
    op: AtomicOp,
    s: Scalar,
    p: PointerValue<'ctx>,
    v: BasicValueEnum<'ctx>,
) -> R<BasicValueEnum<'ctx>> {
    if s.is_float() {
        return Ok(match op {
            AtomicOp::Add => rmw(g, Rmw::LLVMAtomicRMWBinOpFAdd, p, v),
            AtomicOp::Sub => rmw(g, Rmw::LLVMAtomicRMWBinOpFSub, p, v),
            AtomicOp::Max | AtomicOp::Min => float_minmax(
                g,
                p,
                s,
                v,
                op == AtomicOp::Max,
                AtomicOrdering::SequentiallyConsistent,
            )?,
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
