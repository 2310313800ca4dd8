//! Kernel operations on NVIDIA GPUs (`Target::Nvptx`): NVVM intrinsics for the
//! thread geometry, barriers and warp functions; globals in the shared (3) and
//! constant (4) address spaces; LLVM atomics, which the NVPTX backend selects
//! as `atom.*` / `red.*`.
//!
//! Arrays keep one generic pointer type whatever their space: shared and
//! constant globals are `addrspacecast` to generic pointers, and LLVM's
//! address-space inference (which the NVPTX pipeline runs after inlining)
//! recovers `ld.shared`, `atom.shared`, `ld.const`, ... from the casts.

use hypersonic_ir::{
    AtomicOp, BarrierReduce, FenceScope, Geometry, Op, Scalar, Shuffle, Space, Stmt, Type, ValueId,
    Vote,
};
use inkwell::llvm_sys::LLVMAtomicRMWBinOp as Rmw;
use inkwell::module::Linkage;
use inkwell::types::BasicType;
use inkwell::values::{BasicValue, BasicValueEnum, IntValue, PointerValue};
use inkwell::{AddressSpace, AtomicOrdering, IntPredicate as IP};

use super::atomics::{elem, float_minmax, rmw};
use super::bits::bit;
use crate::function::{unsupported, FnGen, R};
use crate::{types, CodegenError};

/// NVPTX's address spaces.
pub(crate) const GLOBAL: u16 = 1;
pub(crate) const SHARED: u16 = 3;
pub(crate) const CONSTANT: u16 = 4;

/// The symbol of the dynamic shared memory (`extern __shared__` in CUDA C).
pub(crate) const DYNAMIC_SHARED: &str = "__hypersonic_dynamic_shared";

pub(crate) fn lower_op<'a, 'ctx>(g: &mut FnGen<'a, 'ctx>, op: &'a Op) -> R<BasicValueEnum<'ctx>> {
    match op {
        Op::Geometry(k, axis) => {
            let reg = match k {
                Geometry::ThreadIdx => "tid",
                Geometry::BlockDim => "ntid",
                Geometry::BlockIdx => "ctaid",
                Geometry::GridDim => "nctaid",
            };
            let ax = ["x", "y", "z"][axis.index()];
            g.intrinsic(&format!("llvm.nvvm.read.ptx.sreg.{reg}.{ax}"), &[], &[])
        }
        Op::LaneId => g.intrinsic("llvm.nvvm.read.ptx.sreg.laneid", &[], &[]),
        Op::SharedArray {
            dtype,
            shape,
            dynamic,
        } => shared_array(g, *dtype, shape, *dynamic),
        Op::LocalArray { dtype, shape } => {
            let n = elements(shape)?;
            let t = types::mem_scalar(g.m.ctx, *dtype).array_type(n);
            let slot = g.entry_alloca(t.into(), "local")?;
            if let Some(i) = slot.as_instruction_value() {
                let _ = i.set_alignment(16);
            }
            array_value(g, slot, *dtype, shape, None)
        }
        Op::ConstArray { dtype, shape, data } => {
            let ctx = g.m.ctx;
            let init = ctx.const_string(data, false);
            let gv = g.m.module.add_global(
                init.get_type(),
                Some(AddressSpace::from(CONSTANT)),
                "hs_const",
            );
            gv.set_initializer(&init);
            gv.set_constant(true);
            gv.set_linkage(Linkage::Internal);
            gv.set_alignment(16);
            let p = generic(g, gv.as_pointer_value())?;
            array_value(g, p, *dtype, shape, None)
        }
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
        } => {
            let s = elem(g, *array)?;
            let p = g.element_ptr(*array, indices)?;
            let it = match s {
                s if (s.is_int() || s.is_float()) && s.size() >= 4 => {
                    types::int_bits(g.m.ctx, s.bits())
                }
                s => {
                    return unsupported(format!(
                        "atomic compare-and-swap on {s}: it takes 32- or 64-bit elements"
                    ))
                }
            };
            let (e, d) = (g.v(*expected)?, g.v(*desired)?);
            let e = g.b.build_bit_cast(e, it, "")?;
            let d = g.b.build_bit_cast(d, it, "")?;
            let r = g.b.build_cmpxchg(
                p,
                e,
                d,
                AtomicOrdering::Monotonic,
                AtomicOrdering::Monotonic,
            )?;
            let old = g.b.build_extract_value(r, 0, "old")?;
            Ok(g.b.build_bit_cast(old, types::scalar(g.m.ctx, s), "")?)
        }
        Op::WarpShuffle {
            kind,
            mask,
            value,
            lane,
            width,
        } => shuffle(g, *kind, *mask, *value, *lane, *width),
        Op::WarpVote { kind, mask, pred } => {
            let (m, p) = (g.v(*mask)?, g.v(*pred)?);
            let name = match kind {
                Vote::All => "llvm.nvvm.vote.all.sync",
                Vote::Any => "llvm.nvvm.vote.any.sync",
                Vote::Ballot => "llvm.nvvm.vote.ballot.sync",
            };
            g.intrinsic(name, &[], &[m, p])
        }
        Op::BarrierReduce(kind, pred) => {
            let i32t = g.m.ctx.i32_type();
            let p = g.v(*pred)?.into_int_value();
            let p = g.b.build_int_z_extend(p, i32t, "")?;
            let name = match kind {
                BarrierReduce::Count => "llvm.nvvm.barrier0.popc",
                BarrierReduce::And => "llvm.nvvm.barrier0.and",
                BarrierReduce::Or => "llvm.nvvm.barrier0.or",
            };
            let r = g.intrinsic(name, &[], &[p.into()])?.into_int_value();
            if *kind == BarrierReduce::Count {
                return Ok(r.into());
            }
            // CUDA's `__syncthreads_and/or` return 0 or 1.
            let nz = g.b.build_int_compare(IP::NE, r, i32t.const_zero(), "")?;
            Ok(g.b.build_int_z_extend(nz, i32t, "")?.into())
        }
        Op::Bit(f, a) => bit(g, *f, *a),
        _ => unsupported(format!("{op:?} is not a kernel operation")),
    }
}

pub(crate) fn lower_stmt<'a>(g: &mut FnGen<'a, '_>, s: &'a Stmt) -> R<()> {
    match s {
        Stmt::Barrier { .. } => {
            g.intrinsic_call("llvm.nvvm.barrier0", &[], &[])?;
        }
        Stmt::Fence(scope) => {
            let name = match scope {
                FenceScope::Block => "llvm.nvvm.membar.cta",
                FenceScope::Device => "llvm.nvvm.membar.gl",
                FenceScope::System => "llvm.nvvm.membar.sys",
            };
            g.intrinsic_call(name, &[], &[])?;
        }
        Stmt::SyncWarp { mask, .. } => {
            let m = g.v(*mask)?;
            g.intrinsic_call("llvm.nvvm.bar.warp.sync", &[], &[m])?;
        }
        _ => return unsupported(format!("{s:?} is not a kernel statement")),
    }
    Ok(())
}

fn elements(shape: &[i64]) -> R<u32> {
    let n: i64 = shape.iter().product();
    u32::try_from(n).or_else(|_| unsupported(format!("array of shape {shape:?} is too large")))
}

/// A pointer in another address space, cast to a generic one.
fn generic<'ctx>(g: &FnGen<'_, 'ctx>, p: PointerValue<'ctx>) -> R<PointerValue<'ctx>> {
    let generic = g.m.ctx.ptr_type(AddressSpace::default());
    Ok(g.b.build_address_space_cast(p, generic, "")?)
}

/// The array struct `{data, shape, strides}` of a C-contiguous allocation.
/// `len` replaces the (single) extent when it is only known at run time.
fn array_value<'ctx>(
    g: &FnGen<'_, 'ctx>,
    data: PointerValue<'ctx>,
    dtype: Scalar,
    shape: &[i64],
    len: Option<IntValue<'ctx>>,
) -> R<BasicValueEnum<'ctx>> {
    let ctx = g.m.ctx;
    let i64t = ctx.i64_type();
    let ndim = shape.len();
    let dims_t = i64t.array_type(ndim as u32);
    let mut strides = vec![0i64; ndim];
    let mut acc = dtype.size() as i64;
    for k in (0..ndim).rev() {
        strides[k] = acc;
        acc *= shape[k];
    }
    let consts = |xs: &[i64]| {
        let vals: Vec<_> = xs.iter().map(|x| i64t.const_int(*x as u64, true)).collect();
        i64t.const_array(&vals)
    };
    let mut shape_v = consts(shape);
    if let Some(n) = len {
        shape_v =
            g.b.build_insert_value(shape_v, n, 0, "")?
                .into_array_value();
    }
    let _ = dims_t;
    let t = types::array(ctx, ndim as u8);
    let s = g.b.build_insert_value(t.get_undef(), data, 0, "")?;
    let s =
        g.b.build_insert_value(s.into_struct_value(), shape_v, 1, "")?;
    let s =
        g.b.build_insert_value(s.into_struct_value(), consts(&strides), 2, "")?;
    Ok(s.as_basic_value_enum())
}

fn shared_array<'ctx>(
    g: &mut FnGen<'_, 'ctx>,
    dtype: Scalar,
    shape: &[i64],
    dynamic: bool,
) -> R<BasicValueEnum<'ctx>> {
    let ctx = g.m.ctx;
    let module = g.m.module;
    if dynamic {
        // One `.extern .shared` array that every dynamic shared array aliases;
        // its length is the launch's dynamic shared memory over the item size,
        // as in Numba.
        let gv = match module.get_global(DYNAMIC_SHARED) {
            Some(gv) => gv,
            None => {
                let gv = module.add_global(
                    ctx.i8_type().array_type(0),
                    Some(AddressSpace::from(SHARED)),
                    DYNAMIC_SHARED,
                );
                gv.set_linkage(Linkage::External);
                gv.set_alignment(16);
                gv
            }
        };
        let i32t = ctx.i32_type();
        let asm_t = i32t.fn_type(&[], false);
        let asm = ctx.create_inline_asm(
            asm_t,
            "mov.u32 $0, %dynamic_smem_size;".into(),
            "=r".into(),
            false,
            false,
            None,
            false,
        );
        let bytes =
            g.b.build_indirect_call(asm_t, asm, &[], "dynamic_smem_size")?
                .try_as_basic_value()
                .basic()
                .ok_or_else(|| CodegenError::Llvm("inline asm returned void".into()))?
                .into_int_value();
        let i64t = ctx.i64_type();
        let bytes = g.b.build_int_z_extend(bytes, i64t, "")?;
        let size = i64t.const_int(dtype.size() as u64, false);
        let len = g.b.build_int_unsigned_div(bytes, size, "")?;
        let p = generic(g, gv.as_pointer_value())?;
        return array_value(g, p, dtype, &[0], Some(len));
    }
    let n = elements(shape)?;
    let t = types::mem_scalar(ctx, dtype).array_type(n);
    let gv = module.add_global(t, Some(AddressSpace::from(SHARED)), "hs_shared");
    // Shared memory cannot be initialised.
    gv.set_initializer(&t.get_undef());
    gv.set_linkage(Linkage::Internal);
    gv.set_alignment(16);
    let p = generic(g, gv.as_pointer_value())?;
    array_value(g, p, dtype, shape, None)
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
    if s.is_float() {
        return Ok(match op {
            AtomicOp::Add => rmw(g, Rmw::LLVMAtomicRMWBinOpFAdd, p, v),
            // x - v == x + (-v) exactly, and `atom.add.f*` exists where `sub` does not.
            AtomicOp::Sub => {
                let n = g.b.build_float_neg(v.into_float_value(), "")?;
                rmw(g, Rmw::LLVMAtomicRMWBinOpFAdd, p, n.into())
            }
            AtomicOp::Max | AtomicOp::Min => {
                float_minmax(g, p, s, v, op == AtomicOp::Max, AtomicOrdering::Monotonic)?
            }
            AtomicOp::Exch => {
                let it = types::int_bits(g.m.ctx, s.bits());
                let bits = g.b.build_bit_cast(v, it, "")?;
                let old = rmw(g, Rmw::LLVMAtomicRMWBinOpXchg, p, bits);
                g.b.build_bit_cast(old, types::float(g.m.ctx, s), "")?
            }
            _ => return unsupported(format!("atomic {op:?} on {s}")),
        });
    }
    if !s.is_int() || s.size() < 4 {
        // As in Numba: 32- and 64-bit integers (PTX has no narrower atomics).
        return unsupported(format!(
            "atomic {op:?} on {s}: atomics take int32, int64, uint32, uint64, float32 or float64"
        ));
    }
    if matches!(op, AtomicOp::Inc | AtomicOp::Dec) && s.size() == 4 {
        // `atom.inc.u32` / `atom.dec.u32`: LLVM 19 selects `atomicrmw
        // uinc_wrap` as a compare-and-swap loop, NVVM's intrinsics as the
        // instruction. (64-bit `inc`/`dec` have no instruction: those loop.)
        let space = match g.ty(array) {
            Type::Array {
                space: Space::Shared,
                ..
            } => SHARED,
            Type::Array {
                space: Space::Global,
                ..
            } => GLOBAL,
            _ => 0,
        };
        let pt = g.m.ctx.ptr_type(AddressSpace::from(space));
        let p = if space == 0 {
            p
        } else {
            g.b.build_address_space_cast(p, pt, "")?
        };
        let name = if op == AtomicOp::Inc {
            "llvm.nvvm.atomic.load.inc.32"
        } else {
            "llvm.nvvm.atomic.load.dec.32"
        };
        return g.intrinsic(name, &[pt.into()], &[p.into(), v]);
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

fn shuffle<'ctx>(
    g: &mut FnGen<'_, 'ctx>,
    kind: Shuffle,
    mask: ValueId,
    value: ValueId,
    lane: ValueId,
    width: ValueId,
) -> R<BasicValueEnum<'ctx>> {
    let ctx = g.m.ctx;
    let i32t = ctx.i32_type();
    let s = g.scalar_of(value)?;
    let (m, v, l) = (g.v(mask)?, g.v(value)?, g.v(lane)?);
    let w = g.v(width)?.into_int_value();
    // `c` packs the segment mask (32 - width) << 8 and, except for `up`, the
    // clamp 0x1f (as CUDA's `__shfl_*_sync` headers do).
    let seg = g.b.build_int_sub(i32t.const_int(32, false), w, "")?;
    let seg = g.b.build_left_shift(seg, i32t.const_int(8, false), "")?;
    let c = if kind == Shuffle::Up {
        seg
    } else {
        g.b.build_or(seg, i32t.const_int(0x1f, false), "")?
    };
    let k = match kind {
        Shuffle::Idx => "idx",
        Shuffle::Up => "up",
        Shuffle::Down => "down",
        Shuffle::Xor => "bfly",
    };
    let shfl =
        |g: &FnGen<'_, 'ctx>, x: BasicValueEnum<'ctx>, ty: &str| -> R<BasicValueEnum<'ctx>> {
            g.intrinsic(
                &format!("llvm.nvvm.shfl.sync.{k}.{ty}"),
                &[],
                &[m, x, l, c.into()],
            )
        };
    match s.size() {
        4 if s == Scalar::F32 => shfl(g, v, "f32"),
        4 => shfl(g, v, "i32"),
        8 => {
            // Two 32-bit shuffles of the halves.
            let i64t = ctx.i64_type();
            let bits = g.b.build_bit_cast(v, i64t, "")?.into_int_value();
            let lo = g.b.build_int_truncate(bits, i32t, "")?;
            let hi =
                g.b.build_right_shift(bits, i64t.const_int(32, false), false, "")?;
            let hi = g.b.build_int_truncate(hi, i32t, "")?;
            let lo = shfl(g, lo.into(), "i32")?.into_int_value();
            let hi = shfl(g, hi.into(), "i32")?.into_int_value();
            let lo = g.b.build_int_z_extend(lo, i64t, "")?;
            let hi = g.b.build_int_z_extend(hi, i64t, "")?;
            let hi = g.b.build_left_shift(hi, i64t.const_int(32, false), "")?;
            let r = g.b.build_or(hi, lo, "")?;
            Ok(g.b.build_bit_cast(r, types::scalar(ctx, s), "")?)
        }
        _ => unsupported(format!("warp shuffle of {s}")),
    }
}
