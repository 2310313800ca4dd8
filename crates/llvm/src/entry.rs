//! The host entry wrapper `i32 @<name>__entry(ptr args, ptr result)`, with the
//! 8-byte slot ABI of `hypersonic_ir::abi`.

use hypersonic_ir::{Function, Scalar, Type};
use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::module::Linkage;
use inkwell::values::{
    BasicMetadataValueEnum, BasicValue, BasicValueEnum, FunctionValue, PointerValue,
};

use crate::function::{ModGen, R};
use crate::{types, CodegenError};

pub(crate) fn entry_name(f: &Function) -> String {
    format!("{}__entry", f.name)
}

pub(crate) fn build_entry<'ctx>(
    m: &ModGen<'_, 'ctx>,
    f: &Function,
    body: FunctionValue<'ctx>,
) -> R<FunctionValue<'ctx>> {
    let ctx = m.ctx;
    let ptr = ctx.ptr_type(inkwell::AddressSpace::default());
    let fnty = ctx.i32_type().fn_type(&[ptr.into(), ptr.into()], false);
    let w = m
        .module
        .add_function(&entry_name(f), fnty, Some(Linkage::External));
    crate::attrs::add_fn_attrs(ctx, w);
    let b = ctx.create_builder();
    let entry = ctx.append_basic_block(w, "entry");
    b.position_at_end(entry);
    let missing = || CodegenError::Llvm("entry wrapper parameters".into());
    let args = w.get_nth_param(0).ok_or_else(missing)?.into_pointer_value();
    let result = w.get_nth_param(1).ok_or_else(missing)?.into_pointer_value();
    let ret_t = types::ty(ctx, &f.ret);
    let ret_slot = b.build_alloca(ret_t, "ret")?;
    let mut slot = 0u64;
    let mut argv: Vec<BasicMetadataValueEnum> = vec![ret_slot.into()];
    for p in &f.params {
        argv.push(unpack(ctx, &b, p, args, &mut slot)?.into());
    }
    let status = b
        .build_call(body, &argv, "status")?
        .try_as_basic_value()
        .basic()
        .ok_or_else(|| CodegenError::Llvm("body returned void".into()))?
        .into_int_value();
    let ok = b.build_int_compare(
        inkwell::IntPredicate::EQ,
        status,
        ctx.i32_type().const_zero(),
        "",
    )?;
    let ok_bb = ctx.append_basic_block(w, "ok");
    let done = ctx.append_basic_block(w, "done");
    b.build_conditional_branch(ok, ok_bb, done)?;
    b.position_at_end(ok_bb);
    if f.ret != Type::None {
        let v = b.build_load(ret_t, ret_slot, "")?;
        let mut slot = 0u64;
        pack(ctx, &b, &f.ret, v, result, &mut slot)?;
    }
    b.build_unconditional_branch(done)?;
    b.position_at_end(done);
    b.build_return(Some(&status))?;
    Ok(w)
}

fn slot_ptr<'ctx>(
    ctx: &'ctx Context,
    b: &Builder<'ctx>,
    base: PointerValue<'ctx>,
    slot: u64,
    byte: u64,
) -> R<PointerValue<'ctx>> {
    let off = ctx.i64_type().const_int(slot * 8 + byte, false);
    // SAFETY (for LLVM): the caller provides `abi::args_slots` slots.
    Ok(unsafe { b.build_in_bounds_gep(ctx.i8_type(), base, &[off], "")? })
}

pub(crate) fn unpack<'ctx>(
    ctx: &'ctx Context,
    b: &Builder<'ctx>,
    t: &Type,
    args: PointerValue<'ctx>,
    slot: &mut u64,
) -> R<BasicValueEnum<'ctx>> {
    Ok(match t {
        Type::None => types::ty(ctx, t).const_zero(),
        Type::Scalar(s) if s.is_complex() => {
            let f = types::float(ctx, *s);
            let (re_p, im_p) = if *s == Scalar::C64 {
                (
                    slot_ptr(ctx, b, args, *slot, 0)?,
                    slot_ptr(ctx, b, args, *slot, 4)?,
                )
            } else {
                (
                    slot_ptr(ctx, b, args, *slot, 0)?,
                    slot_ptr(ctx, b, args, *slot + 1, 0)?,
                )
            };
            *slot += hypersonic_ir::abi::slots(t) as u64;
            let re = b.build_load(f, re_p, "")?;
            let im = b.build_load(f, im_p, "")?;
            let s = b.build_insert_value(types::complex(ctx, *s).get_undef(), re, 0, "")?;
            b.build_insert_value(s.into_struct_value(), im, 1, "")?
                .as_basic_value_enum()
        }
        Type::Scalar(s) => {
            let p = slot_ptr(ctx, b, args, *slot, 0)?;
            *slot += 1;
            let v = b.build_load(types::mem_scalar(ctx, *s), p, "")?;
            if *s == Scalar::Bool {
                let byte = v.into_int_value();
                b.build_int_compare(
                    inkwell::IntPredicate::NE,
                    byte,
                    byte.get_type().const_zero(),
                    "",
                )?
                .into()
            } else {
                v
            }
        }
        Type::Array { ndim, .. } => {
            let st = types::array(ctx, *ndim);
            let ptr_t = ctx.ptr_type(inkwell::AddressSpace::default());
            let data = b.build_load(ptr_t, slot_ptr(ctx, b, args, *slot, 0)?, "data")?;
            *slot += 1;
            let dims_t = ctx.i64_type().array_type(*ndim as u32);
            let mut shape = dims_t.get_undef();
            for k in 0..*ndim as u64 {
                let v = b.build_load(ctx.i64_type(), slot_ptr(ctx, b, args, *slot + k, 0)?, "")?;
                shape = b
                    .build_insert_value(shape, v, k as u32, "")?
                    .into_array_value();
            }
            *slot += *ndim as u64;
            let mut strides = dims_t.get_undef();
            for k in 0..*ndim as u64 {
                let v = b.build_load(ctx.i64_type(), slot_ptr(ctx, b, args, *slot + k, 0)?, "")?;
                strides = b
                    .build_insert_value(strides, v, k as u32, "")?
                    .into_array_value();
            }
            *slot += *ndim as u64;
            let s = b.build_insert_value(st.get_undef(), data, 0, "")?;
            let s = b.build_insert_value(s.into_struct_value(), shape, 1, "")?;
            b.build_insert_value(s.into_struct_value(), strides, 2, "")?
                .as_basic_value_enum()
        }
        Type::Tuple(items) => {
            let st = types::ty(ctx, t).into_struct_type();
            let mut agg = st.get_undef();
            for (i, it) in items.iter().enumerate() {
                let v = unpack(ctx, b, it, args, slot)?;
                agg = b
                    .build_insert_value(agg, v, i as u32, "")?
                    .into_struct_value();
            }
            agg.as_basic_value_enum()
        }
    })
}

/// Writes `v` to result slots. Scalars fill their whole slot (sign- or
/// zero-extended) so that the runtime never reads stale high bytes.
fn pack<'ctx>(
    ctx: &'ctx Context,
    b: &Builder<'ctx>,
    t: &Type,
    v: BasicValueEnum<'ctx>,
    out: PointerValue<'ctx>,
    slot: &mut u64,
) -> R<()> {
    let i64t = ctx.i64_type();
    match t {
        Type::None => {}
        Type::Scalar(s) if s.is_complex() => {
            let sv = v.into_struct_value();
            let re = b.build_extract_value(sv, 0, "")?;
            let im = b.build_extract_value(sv, 1, "")?;
            if *s == Scalar::C64 {
                b.build_store(slot_ptr(ctx, b, out, *slot, 0)?, re)?;
                b.build_store(slot_ptr(ctx, b, out, *slot, 4)?, im)?;
            } else {
                b.build_store(slot_ptr(ctx, b, out, *slot, 0)?, re)?;
                b.build_store(slot_ptr(ctx, b, out, *slot + 1, 0)?, im)?;
            }
            *slot += hypersonic_ir::abi::slots(t) as u64;
        }
        Type::Scalar(s) => {
            let p = slot_ptr(ctx, b, out, *slot, 0)?;
            *slot += 1;
            let wide: BasicValueEnum = match *s {
                Scalar::F64 => v,
                Scalar::F32 => {
                    let bits = b.build_bit_cast(v, ctx.i32_type(), "")?.into_int_value();
                    b.build_int_z_extend(bits, i64t, "")?.into()
                }
                Scalar::I64 | Scalar::U64 => v,
                s if s.is_signed_int() => {
                    b.build_int_s_extend(v.into_int_value(), i64t, "")?.into()
                }
                _ => b.build_int_z_extend(v.into_int_value(), i64t, "")?.into(),
            };
            b.build_store(p, wide)?;
        }
        Type::Array { ndim, .. } => {
            let sv = v.into_struct_value();
            let data = b.build_extract_value(sv, 0, "")?;
            b.build_store(slot_ptr(ctx, b, out, *slot, 0)?, data)?;
            *slot += 1;
            for part in [1u32, 2] {
                let dims = b.build_extract_value(sv, part, "")?.into_array_value();
                for k in 0..*ndim as u32 {
                    let d = b.build_extract_value(dims, k, "")?;
                    b.build_store(slot_ptr(ctx, b, out, *slot, 0)?, d)?;
                    *slot += 1;
                }
            }
        }
        Type::Tuple(items) => {
            let sv = v.into_struct_value();
            for (i, it) in items.iter().enumerate() {
                let x = b.build_extract_value(sv, i as u32, "")?;
                pack(ctx, b, it, x, out, slot)?;
            }
        }
    }
    Ok(())
}
