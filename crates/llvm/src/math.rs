//! `MathFn`: LLVM intrinsics where LLVM has them (they constant-fold, vectorise
//! and lower to single instructions), the C library by name otherwise. The JIT
//! resolves libm symbols from the process.

use hypersonic_ir::{MathFn, Scalar, ValueId};
use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum, InstructionValue};
use inkwell::FloatPredicate as FP;

use crate::function::{unsupported, FnGen, R};
use crate::CodegenError;

impl<'a, 'ctx> FnGen<'a, 'ctx> {
    pub(crate) fn math(&mut self, f: MathFn, args: &[ValueId]) -> R<BasicValueEnum<'ctx>> {
        if args.len() != f.arity() {
            return unsupported(format!("{f:?} with {} operands", args.len()));
        }
        let s = self.scalar_of(args[0])?;
        if !s.is_float() {
            return unsupported(format!("{f:?} on {s}"));
        }
        let vals: Vec<BasicValueEnum<'ctx>> = args.iter().map(|a| self.v(*a)).collect::<R<_>>()?;
        let x = vals[0].into_float_value();
        let t: BasicTypeEnum<'ctx> = x.get_type().into();
        use MathFn::*;
        let intr = |name: &str| -> Option<String> { Some(format!("llvm.{name}")) };
        let intrinsic_name = match f {
            Sqrt => intr("sqrt"),
            Fabs => intr("fabs"),
            Floor => intr("floor"),
            Ceil => intr("ceil"),
            Trunc => intr("trunc"),
            // Round half to even whatever the rounding mode.
            Rint => intr("roundeven"),
            Copysign => intr("copysign"),
            Fma => intr("fma"),
            Pow => intr("pow"),
            Exp => intr("exp"),
            Exp2 => intr("exp2"),
            Log => intr("log"),
            Log2 => intr("log2"),
            Log10 => intr("log10"),
            Sin => intr("sin"),
            Cos => intr("cos"),
            _ => None,
        };
        if let Some(name) = intrinsic_name {
            return self.intrinsic(&name, &[t], &vals);
        }
        match f {
            Fmod => {
                return Ok(self
                    .b
                    .build_float_rem(x, vals[1].into_float_value(), "")?
                    .into())
            }
            IsNan => {
                let c = self.b.build_float_compare(FP::UNO, x, x, "")?;
                self.mark_strict(c.as_instruction());
                return Ok(c.into());
            }
            IsInf | IsFinite => {
                let a = self
                    .intrinsic("llvm.fabs", &[t], &[x.into()])?
                    .into_float_value();
                self.mark_strict(a.as_instruction());
                let inf = x.get_type().const_float(f64::INFINITY);
                let p = if f == IsInf { FP::OEQ } else { FP::OLT };
                let c = self.b.build_float_compare(p, a, inf, "")?;
                self.mark_strict(c.as_instruction());
                return Ok(c.into());
            }
            Signbit => {
                let it = crate::types::int_bits(self.m.ctx, s.bits());
                let bits = self.b.build_bit_cast(x, it, "")?.into_int_value();
                let c = self.b.build_int_compare(
                    inkwell::IntPredicate::SLT,
                    bits,
                    it.const_zero(),
                    "",
                )?;
                return Ok(c.into());
            }
            _ => {}
        }
        let base = f
            .libm_name()
            .ok_or_else(|| CodegenError::Unsupported(format!("{f:?}")))?;
        let name = if s == Scalar::F32 {
            format!("{base}f")
        } else {
            base.to_string()
        };
        if f == Ldexp {
            // C's ldexp takes an `int`; clamp wider exponents instead of wrapping
            // (any |n| beyond 100000 already over/underflows every float).
            let n = self.ldexp_exponent(args[1], vals[1])?;
            return self.libm(&name, x.get_type(), &[x.into(), n.into()]);
        }
        self.libm(&name, x.get_type(), &vals)
    }

    fn mark_strict(&mut self, i: Option<InstructionValue<'ctx>>) {
        if let Some(i) = i {
            self.strict.push(i);
        }
    }

    fn ldexp_exponent(
        &mut self,
        id: ValueId,
        v: BasicValueEnum<'ctx>,
    ) -> R<inkwell::values::IntValue<'ctx>> {
        let s = self.scalar_of(id)?;
        let i32t = self.m.ctx.i32_type();
        if s == Scalar::I32 {
            return Ok(v.into_int_value());
        }
        if !s.is_int() {
            let c = self.cast(v, s, Scalar::I32)?;
            return Ok(c.into_int_value());
        }
        let v = self.cast(v, s, Scalar::I64)?.into_int_value();
        let i64t = self.m.ctx.i64_type();
        let hi = i64t.const_int(100_000, false);
        let lo = i64t.const_int((-100_000i64) as u64, true);
        let v = self.intrinsic("llvm.smin", &[i64t.into()], &[v.into(), hi.into()])?;
        let v = self.intrinsic("llvm.smax", &[i64t.into()], &[v, lo.into()])?;
        Ok(self.b.build_int_truncate(v.into_int_value(), i32t, "")?)
    }

    /// Calls the C library function `name(args) -> ret`, declaring it on first use.
    pub(crate) fn libm(
        &self,
        name: &str,
        ret: inkwell::types::FloatType<'ctx>,
        args: &[BasicValueEnum<'ctx>],
    ) -> R<BasicValueEnum<'ctx>> {
        let module = self.m.module;
        let f = match module.get_function(name) {
            Some(f) => f,
            None => {
                let params: Vec<_> = args.iter().map(|a| a.get_type().into()).collect();
                let f = module.add_function(name, ret.fn_type(&params, false), None);
                let nounwind = Attribute::get_named_enum_kind_id("nounwind");
                f.add_attribute(
                    AttributeLoc::Function,
                    self.m.ctx.create_enum_attribute(nounwind, 0),
                );
                f
            }
        };
        let args: Vec<BasicMetadataValueEnum> = args.iter().map(|a| (*a).into()).collect();
        self.b
            .build_call(f, &args, "")?
            .try_as_basic_value()
            .basic()
            .ok_or_else(|| CodegenError::Llvm(format!("{name} returned void")))
    }
}
