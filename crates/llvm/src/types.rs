//! IR types → LLVM types.
//!
//! Registers hold `bool` as `i1`; memory (array elements, argument slots) holds it
//! as one byte. Complex numbers are `{f, f}` structs, arrays are
//! `{ptr, [n x i64] shape, [n x i64] strides}` (the kernel argument ABI), tuples are
//! structs of their items and `None` is the empty struct.

use hypersonic_ir::{Scalar, Type};
use inkwell::context::Context;
use inkwell::types::{BasicType, BasicTypeEnum, FloatType, IntType, StructType};
use inkwell::AddressSpace;

/// The register type of a scalar.
pub(crate) fn scalar<'c>(ctx: &'c Context, s: Scalar) -> BasicTypeEnum<'c> {
    match s {
        Scalar::Bool => ctx.bool_type().into(),
        Scalar::C64 | Scalar::C128 => complex(ctx, s).into(),
        s if s.is_float() => float(ctx, s).into(),
        s => int(ctx, s).into(),
    }
}

/// The in-memory type of a scalar array element (`bool` is a byte).
pub(crate) fn mem_scalar<'c>(ctx: &'c Context, s: Scalar) -> BasicTypeEnum<'c> {
    match s {
        Scalar::Bool => ctx.i8_type().into(),
        s => scalar(ctx, s),
    }
}

/// The float type of a float scalar, or of one component of a complex scalar.
pub(crate) fn float(ctx: &Context, s: Scalar) -> FloatType<'_> {
    match s.component() {
        Scalar::F32 => ctx.f32_type(),
        _ => ctx.f64_type(),
    }
}

/// The integer type of an integer (or `bool`, as `i1`) scalar, or of a float's bits.
pub(crate) fn int(ctx: &Context, s: Scalar) -> IntType<'_> {
    int_bits(ctx, s.bits())
}

pub(crate) fn int_bits(ctx: &Context, bits: u32) -> IntType<'_> {
    match bits {
        1 => ctx.bool_type(),
        8 => ctx.i8_type(),
        16 => ctx.i16_type(),
        32 => ctx.i32_type(),
        128 => ctx.i128_type(),
        _ => ctx.i64_type(),
    }
}

pub(crate) fn complex(ctx: &Context, s: Scalar) -> StructType<'_> {
    let f = float(ctx, s);
    ctx.struct_type(&[f.into(), f.into()], false)
}

pub(crate) fn array(ctx: &Context, ndim: u8) -> StructType<'_> {
    let dims = ctx.i64_type().array_type(ndim as u32);
    ctx.struct_type(
        &[
            ctx.ptr_type(AddressSpace::default()).into(),
            dims.into(),
            dims.into(),
        ],
        false,
    )
}

/// The register type of any IR type.
pub(crate) fn ty<'c>(ctx: &'c Context, t: &Type) -> BasicTypeEnum<'c> {
    match t {
        Type::Scalar(s) => scalar(ctx, *s),
        Type::None => ctx.struct_type(&[], false).into(),
        Type::Array { ndim, .. } => array(ctx, *ndim).into(),
        Type::Tuple(items) => {
            let fields: Vec<BasicTypeEnum> = items.iter().map(|t| ty(ctx, t)).collect();
            ctx.struct_type(&fields, false).as_basic_type_enum()
        }
    }
}
