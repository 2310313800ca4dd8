//! The pieces of atomic lowering every target shares: `atomicrmw` on any
//! first-class type and the compare-and-swap loop of float max/min.

use hypersonic_ir::{Scalar, Type, ValueId};
use inkwell::llvm_sys::core::LLVMBuildAtomicRMW;
use inkwell::llvm_sys::{LLVMAtomicOrdering, LLVMAtomicRMWBinOp as Rmw};
use inkwell::values::{AsValueRef, BasicValue, BasicValueEnum, PointerValue};
use inkwell::{AtomicOrdering, FloatPredicate as FP};

use crate::function::{unsupported, FnGen, R};
use crate::types;

/// The element type of the array an atomic operates on.
pub(crate) fn elem(g: &FnGen<'_, '_>, a: ValueId) -> R<Scalar> {
    match g.ty(a) {
        Type::Array { dtype, .. } => Ok(*dtype),
        t => unsupported(format!("atomic operation on {t}")),
    }
}

/// A monotonic `atomicrmw` on any first-class type (inkwell's builder only
/// takes integers; `fadd`/`fsub` need the C API).
pub(crate) fn rmw<'ctx>(
    g: &FnGen<'_, 'ctx>,
    op: Rmw,
    p: PointerValue<'ctx>,
    v: BasicValueEnum<'ctx>,
) -> BasicValueEnum<'ctx> {
    // SAFETY: the builder is positioned (every FnGen statement runs inside a
    // block), `p` is a pointer and `v` a value of the element type; the result is
    // a value of `v`'s type.
    unsafe {
        let r = LLVMBuildAtomicRMW(
            g.b.as_mut_ptr(),
            op,
            p.as_value_ref(),
            v.as_value_ref(),
            LLVMAtomicOrdering::LLVMAtomicOrderingMonotonic,
            0,
        );
        BasicValueEnum::new(r)
    }
}

/// Float atomic max/min as a compare-and-swap loop, as Numba does it: the store
/// happens only while `old < v` (`old > v` for min), so a NaN operand leaves
/// memory unchanged and a NaN in memory stays. `ordering` is the `cmpxchg`'s.
/// Returns the old value.
pub(crate) fn float_minmax<'ctx>(
    g: &mut FnGen<'_, 'ctx>,
    p: PointerValue<'ctx>,
    s: Scalar,
    v: BasicValueEnum<'ctx>,
    max: bool,
    ordering: AtomicOrdering,
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
    let r = g.b.build_cmpxchg(p, e, d, ordering, ordering)?;
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
