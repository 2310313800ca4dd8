//! `cuda.popc`, `clz`, `ffs`, `brev` on 32- and 64-bit integers, with LLVM's
//! bit intrinsics (every target lowers them natively).

use hypersonic_ir::{BitFn, ValueId};
use inkwell::values::BasicValueEnum;
use inkwell::IntPredicate as IP;

use crate::function::{unsupported, FnGen, R};

pub(crate) fn bit<'ctx>(g: &mut FnGen<'_, 'ctx>, f: BitFn, a: ValueId) -> R<BasicValueEnum<'ctx>> {
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
