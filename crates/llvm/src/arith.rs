//! Unary, binary, comparison and conversion operations, with the exact semantics
//! documented on `hypersonic_ir::ops`: wrapping integers, Python's floor division
//! and modulo (never trapping: x86's `idiv` faults on a zero divisor and on
//! `MIN / -1`), defined shifts, NaN-propagating min/max, saturating float → int.

use hypersonic_ir::{BinaryOp, CmpOp, Scalar, Type, UnaryOp, ValueId};
use inkwell::types::IntType;
use inkwell::values::{BasicValueEnum, FloatValue, FunctionValue, IntValue, StructValue};
use inkwell::{FloatPredicate as FP, IntPredicate as IP};

use crate::function::{unsupported, FnGen, R};
use crate::types;

impl<'a, 'ctx> FnGen<'a, 'ctx> {
    pub(crate) fn unary(&mut self, o: UnaryOp, a: ValueId) -> R<BasicValueEnum<'ctx>> {
        let s = self.scalar_of(a)?;
        let x = self.v(a)?;
        let b = &self.b;
        Ok(match (o, s) {
            (UnaryOp::Not, Scalar::Bool) | (UnaryOp::Invert, Scalar::Bool) => {
                b.build_not(x.into_int_value(), "")?.into()
            }
            (UnaryOp::Invert, s) if s.is_int() => b.build_not(x.into_int_value(), "")?.into(),
            (UnaryOp::Neg, s) if s.is_int() => b.build_int_neg(x.into_int_value(), "")?.into(),
            (UnaryOp::Neg, s) if s.is_float() => {
                b.build_float_neg(x.into_float_value(), "")?.into()
            }
            (UnaryOp::Neg, s) if s.is_complex() => {
                let (re, im) = self.parts(x.into_struct_value())?;
                let re = self.b.build_float_neg(re, "")?;
                let im = self.b.build_float_neg(im, "")?;
                self.make_pair(types::complex(self.m.ctx, s), re.into(), im.into())?
            }
            (UnaryOp::Abs, s) if s.is_unsigned_int() => x,
            (UnaryOp::Abs, s) if s.is_signed_int() => {
                // `llvm.abs` with is_int_min_poison = false: abs(MIN) wraps to MIN.
                let f = self.m.ctx.bool_type().const_zero();
                self.intrinsic("llvm.abs", &[x.get_type()], &[x, f.into()])?
            }
            (UnaryOp::Abs, s) if s.is_float() => {
                self.intrinsic("llvm.fabs", &[x.get_type()], &[x])?
            }
            _ => return unsupported(format!("{o:?} on {s}")),
        })
    }

    pub(crate) fn parts(&self, c: StructValue<'ctx>) -> R<(FloatValue<'ctx>, FloatValue<'ctx>)> {
        let re = self.b.build_extract_value(c, 0, "re")?.into_float_value();
        let im = self.b.build_extract_value(c, 1, "im")?.into_float_value();
        Ok((re, im))
    }

    pub(crate) fn binary(
        &mut self,
        o: BinaryOp,
        a: ValueId,
        b: ValueId,
    ) -> R<BasicValueEnum<'ctx>> {
        let s = self.scalar_of(a)?;
        let (x, y) = (self.v(a)?, self.v(b)?);
        if s == Scalar::Bool {
            return self.bool_binary(o, x.into_int_value(), y.into_int_value());
        }
        if s.is_int() {
            return self.int_binary(o, s, x.into_int_value(), y.into_int_value());
        }
        if s.is_float() {
            return self.float_binary(o, x.into_float_value(), y.into_float_value());
        }
        self.complex_binary(o, s, x.into_struct_value(), y.into_struct_value())
    }

    /// NumPy's boolean arithmetic: `+` is `or`, `*` is `and`.
    fn bool_binary(
        &self,
        o: BinaryOp,
        x: IntValue<'ctx>,
        y: IntValue<'ctx>,
    ) -> R<BasicValueEnum<'ctx>> {
        let b = &self.b;
        Ok(match o {
            BinaryOp::BitAnd | BinaryOp::Mul | BinaryOp::Min => b.build_and(x, y, "")?,
            BinaryOp::BitOr | BinaryOp::Add | BinaryOp::Max => b.build_or(x, y, "")?,
            BinaryOp::BitXor => b.build_xor(x, y, "")?,
            _ => return unsupported(format!("{o:?} on bool")),
        }
        .into())
    }

    pub(crate) fn int_binary(
        &mut self,
        o: BinaryOp,
        s: Scalar,
        x: IntValue<'ctx>,
        y: IntValue<'ctx>,
    ) -> R<BasicValueEnum<'ctx>> {
        let signed = s.is_signed_int();
        let t = x.get_type();
        let bits = s.bits() as u64;
        let b = &self.b;
        Ok(match o {
            BinaryOp::Add => b.build_int_add(x, y, "")?.into(),
            BinaryOp::Sub => b.build_int_sub(x, y, "")?.into(),
            BinaryOp::Mul => b.build_int_mul(x, y, "")?.into(),
            BinaryOp::FloorDiv => self.int_divmod(signed, x, y)?.0.into(),
            BinaryOp::Mod => self.int_divmod(signed, x, y)?.1.into(),
            BinaryOp::Pow => {
                let f = self.ipow_helper(s)?;
                self.b
                    .build_call(f, &[x.into(), y.into()], "")?
                    .try_as_basic_value()
                    .basic()
                    .ok_or_else(|| crate::CodegenError::Llvm("ipow returned void".into()))?
            }
            BinaryOp::BitAnd => b.build_and(x, y, "")?.into(),
            BinaryOp::BitOr => b.build_or(x, y, "")?.into(),
            BinaryOp::BitXor => b.build_xor(x, y, "")?.into(),
            BinaryOp::Shl | BinaryOp::Shr => {
                // Out-of-range counts (including negative ones, seen unsigned) give 0,
                // or all sign bits for an arithmetic right shift.
                let width = t.const_int(bits, false);
                let in_range = b.build_int_compare(IP::ULT, y, width, "")?;
                let masked = b.build_and(y, t.const_int(bits - 1, false), "")?;
                if o == BinaryOp::Shl {
                    let v = b.build_left_shift(x, masked, "")?;
                    b.build_select(in_range, v, t.const_zero(), "")?
                } else if signed {
                    let cnt = b.build_select(in_range, masked, t.const_int(bits - 1, false), "")?;
                    b.build_right_shift(x, cnt.into_int_value(), true, "")?
                        .into()
                } else {
                    let v = b.build_right_shift(x, masked, false, "")?;
                    b.build_select(in_range, v, t.const_zero(), "")?
                }
            }
            BinaryOp::Min | BinaryOp::Max => {
                let name = match (o, signed) {
                    (BinaryOp::Min, true) => "llvm.smin",
                    (BinaryOp::Min, false) => "llvm.umin",
                    (_, true) => "llvm.smax",
                    (_, false) => "llvm.umax",
                };
                self.intrinsic(name, &[t.into()], &[x.into(), y.into()])?
            }
            BinaryOp::Div => return unsupported(format!("true division on {s}")),
        })
    }

    /// Python's `(x // y, x % y)` on integers, with `x // 0 == x % 0 == 0` and
    /// `MIN // -1 == MIN`. The hardware division never sees 0 or -1 as a divisor.
    fn int_divmod(
        &self,
        signed: bool,
        x: IntValue<'ctx>,
        y: IntValue<'ctx>,
    ) -> R<(IntValue<'ctx>, IntValue<'ctx>)> {
        let b = &self.b;
        let t = x.get_type();
        let zero = t.const_zero();
        let one = t.const_int(1, false);
        let y_zero = b.build_int_compare(IP::EQ, y, zero, "")?;
        if !signed {
            let safe = b.build_select(y_zero, one, y, "")?.into_int_value();
            let q = b.build_int_unsigned_div(x, safe, "")?;
            let r = b.build_int_unsigned_rem(x, safe, "")?;
            let q = b.build_select(y_zero, zero, q, "")?.into_int_value();
            return Ok((q, r));
        }
        let minus_one = t.const_all_ones();
        let y_m1 = b.build_int_compare(IP::EQ, y, minus_one, "")?;
        let special = b.build_or(y_zero, y_m1, "")?;
        let safe = b.build_select(special, one, y, "")?.into_int_value();
        // With the divisor replaced by 1: q0 = x, r0 = 0 for both special cases.
        let q0 = b.build_int_signed_div(x, safe, "")?;
        let r0 = b.build_int_signed_rem(x, safe, "")?;
        let neg = b.build_int_neg(q0, "")?;
        let q0 = b.build_select(y_m1, neg, q0, "")?.into_int_value();
        // Floor: when the remainder is non-zero and its sign differs from the divisor's.
        let r_nz = b.build_int_compare(IP::NE, r0, zero, "")?;
        let sx = b.build_xor(r0, y, "")?;
        let diff = b.build_int_compare(IP::SLT, sx, zero, "")?;
        let adj = b.build_and(r_nz, diff, "")?;
        let q = b.build_int_sub(q0, b.build_int_z_extend(adj, t, "")?, "")?;
        let r = b.build_int_add(r0, b.build_select(adj, y, zero, "")?.into_int_value(), "")?;
        let q = b.build_select(y_zero, zero, q, "")?.into_int_value();
        Ok((q, r))
    }

    /// `hs.ipow.<s>(base, exp)`: exponentiation by squaring, wrapping; a negative
    /// exponent gives 0 unless the base is 1 or -1. A separate internal function so
    /// that its loop does not complicate the caller's CFG; the inliner removes it.
    fn ipow_helper(&self, s: Scalar) -> R<FunctionValue<'ctx>> {
        let name = format!("hs.ipow.{}", s.name());
        if let Some(f) = self.m.module.get_function(&name) {
            return Ok(f);
        }
        let ctx = self.m.ctx;
        let t: IntType = types::int(ctx, s);
        let fnty = t.fn_type(&[t.into(), t.into()], false);
        let f = self
            .m
            .module
            .add_function(&name, fnty, Some(inkwell::module::Linkage::Internal));
        crate::attrs::add_fn_attrs(ctx, f);
        let b = ctx.create_builder();
        let entry = ctx.append_basic_block(f, "entry");
        let neg_bb = ctx.append_basic_block(f, "neg");
        let head = ctx.append_basic_block(f, "head");
        let body = ctx.append_basic_block(f, "body");
        let done = ctx.append_basic_block(f, "done");
        let base = f
            .get_nth_param(0)
            .unwrap_or_else(|| t.const_zero().into())
            .into_int_value();
        let exp = f
            .get_nth_param(1)
            .unwrap_or_else(|| t.const_zero().into())
            .into_int_value();
        let zero = t.const_zero();
        let one = t.const_int(1, false);
        b.position_at_end(entry);
        if s.is_signed_int() {
            let is_neg = b.build_int_compare(IP::SLT, exp, zero, "")?;
            b.build_conditional_branch(is_neg, neg_bb, head)?;
        } else {
            b.build_unconditional_branch(head)?;
        }
        b.position_at_end(neg_bb);
        // 1 ** -n == 1; (-1) ** -n == ±1; anything else truncates to 0.
        let is_one = b.build_int_compare(IP::EQ, base, one, "")?;
        let is_m1 = b.build_int_compare(IP::EQ, base, t.const_all_ones(), "")?;
        let odd = b.build_int_compare(IP::NE, b.build_and(exp, one, "")?, zero, "")?;
        let m1_res = b.build_select(odd, t.const_all_ones(), one, "")?;
        let r = b.build_select(is_m1, m1_res, zero.into(), "")?;
        let r = b.build_select(is_one, one.into(), r, "")?;
        b.build_return(Some(&r))?;
        b.position_at_end(head);
        let acc = b.build_phi(t, "acc")?;
        let bs = b.build_phi(t, "b")?;
        let e = b.build_phi(t, "e")?;
        let (accv, bsv, ev) = (
            acc.as_basic_value().into_int_value(),
            bs.as_basic_value().into_int_value(),
            e.as_basic_value().into_int_value(),
        );
        let fin = b.build_int_compare(IP::EQ, ev, zero, "")?;
        b.build_conditional_branch(fin, done, body)?;
        b.position_at_end(body);
        let odd = b.build_int_compare(IP::NE, b.build_and(ev, one, "")?, zero, "")?;
        let prod = b.build_int_mul(accv, bsv, "")?;
        let acc2 = b.build_select(odd, prod, accv, "")?.into_int_value();
        let bs2 = b.build_int_mul(bsv, bsv, "")?;
        let e2 = b.build_right_shift(ev, one, false, "")?;
        b.build_unconditional_branch(head)?;
        acc.add_incoming(&[(&one, entry), (&acc2, body)]);
        bs.add_incoming(&[(&base, entry), (&bs2, body)]);
        e.add_incoming(&[(&exp, entry), (&e2, body)]);
        b.position_at_end(done);
        b.build_return(Some(&accv))?;
        Ok(f)
    }

    fn float_binary(
        &mut self,
        o: BinaryOp,
        x: FloatValue<'ctx>,
        y: FloatValue<'ctx>,
    ) -> R<BasicValueEnum<'ctx>> {
        let b = &self.b;
        let t = x.get_type();
        Ok(match o {
            BinaryOp::Add => b.build_float_add(x, y, "")?.into(),
            BinaryOp::Sub => b.build_float_sub(x, y, "")?.into(),
            BinaryOp::Mul => b.build_float_mul(x, y, "")?.into(),
            BinaryOp::Div => b.build_float_div(x, y, "")?.into(),
            BinaryOp::FloorDiv => self.float_divmod(x, y)?.0.into(),
            BinaryOp::Mod => self.float_divmod(x, y)?.1.into(),
            BinaryOp::Pow => self.intrinsic("llvm.pow", &[t.into()], &[x.into(), y.into()])?,
            BinaryOp::Min => self.intrinsic("llvm.minimum", &[t.into()], &[x.into(), y.into()])?,
            BinaryOp::Max => self.intrinsic("llvm.maximum", &[t.into()], &[x.into(), y.into()])?,
            _ => return unsupported(format!("{o:?} on floats")),
        })
    }

    /// CPython's `float_divmod`, branch-free. A zero divisor gives NumPy's results
    /// (`x // 0.0 == x / 0.0`, `x % 0.0` is NaN); Python raises before getting here.
    fn float_divmod(
        &mut self,
        x: FloatValue<'ctx>,
        y: FloatValue<'ctx>,
    ) -> R<(FloatValue<'ctx>, FloatValue<'ctx>)> {
        let t = x.get_type();
        let zero = t.const_zero();
        let one = t.const_float(1.0);
        let m = self.b.build_float_rem(x, y, "")?;
        let div = self
            .b
            .build_float_div(self.b.build_float_sub(x, m, "")?, y, "")?;
        let m_nz = self.b.build_float_compare(FP::UNE, m, zero, "")?;
        let y_neg = self.b.build_float_compare(FP::OLT, y, zero, "")?;
        let m_neg = self.b.build_float_compare(FP::OLT, m, zero, "")?;
        let signs = self.b.build_int_compare(IP::NE, y_neg, m_neg, "")?;
        let adj = self.b.build_and(m_nz, signs, "")?;
        let m_adj = self.b.build_float_add(m, y, "")?;
        let m1 = self.b.build_select(adj, m_adj, m, "")?;
        let d_adj = self.b.build_float_sub(div, one, "")?;
        let div = self.b.build_select(adj, d_adj, div, "")?.into_float_value();
        let signed_zero_y =
            self.intrinsic("llvm.copysign", &[t.into()], &[zero.into(), y.into()])?;
        let md = self
            .b
            .build_select(m_nz, m1, signed_zero_y, "")?
            .into_float_value();
        let fl = self
            .intrinsic("llvm.floor", &[t.into()], &[div.into()])?
            .into_float_value();
        let frac = self.b.build_float_sub(div, fl, "")?;
        let round_up = self
            .b
            .build_float_compare(FP::OGT, frac, t.const_float(0.5), "")?;
        let fl1 = self.b.build_float_add(fl, one, "")?;
        let fl = self.b.build_select(round_up, fl1, fl, "")?;
        let d_nz = self.b.build_float_compare(FP::UNE, div, zero, "")?;
        let q = self.b.build_float_div(x, y, "")?;
        let signed_zero_q =
            self.intrinsic("llvm.copysign", &[t.into()], &[zero.into(), q.into()])?;
        let fd = self.b.build_select(d_nz, fl, signed_zero_q, "")?;
        let y_zero = self.b.build_float_compare(FP::OEQ, y, zero, "")?;
        let fd = self
            .b
            .build_select(y_zero, q.into(), fd, "")?
            .into_float_value();
        Ok((fd, md))
    }

    fn complex_binary(
        &mut self,
        o: BinaryOp,
        s: Scalar,
        x: StructValue<'ctx>,
        y: StructValue<'ctx>,
    ) -> R<BasicValueEnum<'ctx>> {
        let (a, b) = self.parts(x)?;
        let (c, d) = self.parts(y)?;
        let bl = &self.b;
        let (re, im) = match o {
            BinaryOp::Add => (bl.build_float_add(a, c, "")?, bl.build_float_add(b, d, "")?),
            BinaryOp::Sub => (bl.build_float_sub(a, c, "")?, bl.build_float_sub(b, d, "")?),
            BinaryOp::Mul => {
                let ac = bl.build_float_mul(a, c, "")?;
                let bd = bl.build_float_mul(b, d, "")?;
                let ad = bl.build_float_mul(a, d, "")?;
                let bc = bl.build_float_mul(b, c, "")?;
                (
                    bl.build_float_sub(ac, bd, "")?,
                    bl.build_float_add(ad, bc, "")?,
                )
            }
            BinaryOp::Div => {
                // Smith's algorithm, as CPython's `_Py_c_quot`, with both branches
                // computed and selected (no side effects, no extra blocks).
                let t = a.get_type();
                let abs_c = self
                    .intrinsic("llvm.fabs", &[t.into()], &[c.into()])?
                    .into_float_value();
                let abs_d = self
                    .intrinsic("llvm.fabs", &[t.into()], &[d.into()])?
                    .into_float_value();
                let bl = &self.b;
                let first = bl.build_float_compare(FP::OGE, abs_c, abs_d, "")?;
                // |c| >= |d|
                let r1 = bl.build_float_div(d, c, "")?;
                let den1 = bl.build_float_add(c, bl.build_float_mul(d, r1, "")?, "")?;
                let re1 = bl.build_float_div(
                    bl.build_float_add(a, bl.build_float_mul(b, r1, "")?, "")?,
                    den1,
                    "",
                )?;
                let im1 = bl.build_float_div(
                    bl.build_float_sub(b, bl.build_float_mul(a, r1, "")?, "")?,
                    den1,
                    "",
                )?;
                // |d| > |c|
                let r2 = bl.build_float_div(c, d, "")?;
                let den2 = bl.build_float_add(bl.build_float_mul(c, r2, "")?, d, "")?;
                let re2 = bl.build_float_div(
                    bl.build_float_add(bl.build_float_mul(a, r2, "")?, b, "")?,
                    den2,
                    "",
                )?;
                let im2 = bl.build_float_div(
                    bl.build_float_sub(bl.build_float_mul(b, r2, "")?, a, "")?,
                    den2,
                    "",
                )?;
                (
                    bl.build_select(first, re1, re2, "")?.into_float_value(),
                    bl.build_select(first, im1, im2, "")?.into_float_value(),
                )
            }
            BinaryOp::Pow => self.complex_pow(s, (a, b), (c, d))?,
            _ => return unsupported(format!("{o:?} on {s}")),
        };
        self.make_pair(types::complex(self.m.ctx, s), re.into(), im.into())
    }

    /// CPython's `_Py_c_pow` (without its small-integer-exponent shortcut):
    /// `|x|**re(y) * e**(-arg(x)*im(y))` at angle `arg(x)*re(y) + im(y)*ln|x|`.
    /// `x ** 0 == 1`; `0 ** y == 0` (Python raises for a negative or complex `y`,
    /// which the front end checks first).
    fn complex_pow(
        &mut self,
        s: Scalar,
        (a, b): (FloatValue<'ctx>, FloatValue<'ctx>),
        (c, d): (FloatValue<'ctx>, FloatValue<'ctx>),
    ) -> R<(FloatValue<'ctx>, FloatValue<'ctx>)> {
        let t = a.get_type();
        let tb = t.into();
        let zero = t.const_zero();
        let libm = |g: &Self, name: &str, x: FloatValue<'ctx>, y: FloatValue<'ctx>| {
            let name = if s == Scalar::C64 {
                format!("{name}f")
            } else {
                name.to_string()
            };
            g.libm(&name, t, &[x.into(), y.into()])
                .map(|v| v.into_float_value())
        };
        let f = |g: &Self, name: &str, args: &[FloatValue<'ctx>]| -> R<FloatValue<'ctx>> {
            let args: Vec<BasicValueEnum> = args.iter().map(|x| (*x).into()).collect();
            Ok(g.intrinsic(name, &[tb], &args)?.into_float_value())
        };
        let vabs = libm(self, "hypot", a, b)?;
        let at = libm(self, "atan2", b, a)?;
        let len = f(self, "llvm.pow", &[vabs, c])?;
        let phase = self.b.build_float_mul(at, c, "")?;
        let e = f(self, "llvm.exp", &[self.b.build_float_mul(at, d, "")?])?;
        let len2 = self.b.build_float_div(len, e, "")?;
        let lg = f(self, "llvm.log", &[vabs])?;
        let phase2 = self
            .b
            .build_float_add(phase, self.b.build_float_mul(d, lg, "")?, "")?;
        let d_nz = self.b.build_float_compare(FP::UNE, d, zero, "")?;
        let len = self.b.build_select(d_nz, len2, len, "")?.into_float_value();
        let phase = self
            .b
            .build_select(d_nz, phase2, phase, "")?
            .into_float_value();
        let re = self
            .b
            .build_float_mul(len, f(self, "llvm.cos", &[phase])?, "")?;
        let im = self
            .b
            .build_float_mul(len, f(self, "llvm.sin", &[phase])?, "")?;
        let bl = &self.b;
        let y_zero = bl.build_and(
            bl.build_float_compare(FP::OEQ, c, zero, "")?,
            bl.build_float_compare(FP::OEQ, d, zero, "")?,
            "",
        )?;
        let x_zero = bl.build_and(
            bl.build_float_compare(FP::OEQ, a, zero, "")?,
            bl.build_float_compare(FP::OEQ, b, zero, "")?,
            "",
        )?;
        let re = bl.build_select(x_zero, zero, re, "")?.into_float_value();
        let im = bl.build_select(x_zero, zero, im, "")?.into_float_value();
        let re = bl
            .build_select(y_zero, t.const_float(1.0), re, "")?
            .into_float_value();
        let im = bl.build_select(y_zero, zero, im, "")?.into_float_value();
        Ok((re, im))
    }

    pub(crate) fn compare(&mut self, o: CmpOp, a: ValueId, b: ValueId) -> R<BasicValueEnum<'ctx>> {
        let s = self.scalar_of(a)?;
        let (x, y) = (self.v(a)?, self.v(b)?);
        let bl = &self.b;
        if s.is_complex() {
            let (a, b) = self.parts(x.into_struct_value())?;
            let (c, d) = self.parts(y.into_struct_value())?;
            let bl = &self.b;
            return Ok(match o {
                CmpOp::Eq => bl.build_and(
                    bl.build_float_compare(FP::OEQ, a, c, "")?,
                    bl.build_float_compare(FP::OEQ, b, d, "")?,
                    "",
                )?,
                CmpOp::Ne => bl.build_or(
                    bl.build_float_compare(FP::UNE, a, c, "")?,
                    bl.build_float_compare(FP::UNE, b, d, "")?,
                    "",
                )?,
                _ => return unsupported(format!("{o:?} on {s}")),
            }
            .into());
        }
        if s.is_float() {
            let p = match o {
                CmpOp::Eq => FP::OEQ,
                CmpOp::Ne => FP::UNE,
                CmpOp::Lt => FP::OLT,
                CmpOp::Le => FP::OLE,
                CmpOp::Gt => FP::OGT,
                CmpOp::Ge => FP::OGE,
            };
            return Ok(bl
                .build_float_compare(p, x.into_float_value(), y.into_float_value(), "")?
                .into());
        }
        // bool compares unsigned: False < True.
        let signed = s.is_signed_int();
        let p = match (o, signed) {
            (CmpOp::Eq, _) => IP::EQ,
            (CmpOp::Ne, _) => IP::NE,
            (CmpOp::Lt, true) => IP::SLT,
            (CmpOp::Le, true) => IP::SLE,
            (CmpOp::Gt, true) => IP::SGT,
            (CmpOp::Ge, true) => IP::SGE,
            (CmpOp::Lt, false) => IP::ULT,
            (CmpOp::Le, false) => IP::ULE,
            (CmpOp::Gt, false) => IP::UGT,
            (CmpOp::Ge, false) => IP::UGE,
        };
        Ok(bl
            .build_int_compare(p, x.into_int_value(), y.into_int_value(), "")?
            .into())
    }

    pub(crate) fn cast_op(&mut self, a: ValueId, rt: &Type) -> R<BasicValueEnum<'ctx>> {
        let from = self.scalar_of(a)?;
        let to = match rt {
            Type::Scalar(s) => *s,
            t => return unsupported(format!("cast to {t}")),
        };
        let x = self.v(a)?;
        self.cast(x, from, to)
    }

    /// NumPy's scalar conversions.
    pub(crate) fn cast(
        &mut self,
        x: BasicValueEnum<'ctx>,
        from: Scalar,
        to: Scalar,
    ) -> R<BasicValueEnum<'ctx>> {
        if from == to {
            return Ok(x);
        }
        let ctx = self.m.ctx;
        if from.is_complex() {
            let (re, im) = self.parts(x.into_struct_value())?;
            if to == Scalar::Bool {
                let t = re.get_type();
                let a = self
                    .b
                    .build_float_compare(FP::UNE, re, t.const_zero(), "")?;
                let b = self
                    .b
                    .build_float_compare(FP::UNE, im, t.const_zero(), "")?;
                return Ok(self.b.build_or(a, b, "")?.into());
            }
            if to.is_complex() {
                let re = self.cast(re.into(), from.component(), to.component())?;
                let im = self.cast(im.into(), from.component(), to.component())?;
                return self.make_pair(types::complex(ctx, to), re, im);
            }
            return self.cast(re.into(), from.component(), to);
        }
        if to.is_complex() {
            let re = self.cast(x, from, to.component())?;
            let zero = types::float(ctx, to).const_zero();
            return self.make_pair(types::complex(ctx, to), re, zero.into());
        }
        let b = &self.b;
        if to == Scalar::Bool {
            return Ok(if from.is_float() {
                let f = x.into_float_value();
                b.build_float_compare(FP::UNE, f, f.get_type().const_zero(), "")?
            } else {
                let i = x.into_int_value();
                b.build_int_compare(IP::NE, i, i.get_type().const_zero(), "")?
            }
            .into());
        }
        // Bool converts as an unsigned 0/1.
        let from_signed = from.is_signed_int();
        Ok(match (from.is_float(), to.is_float()) {
            (true, true) => {
                let ft = types::float(ctx, to);
                b.build_float_cast(x.into_float_value(), ft, "")?.into()
            }
            (false, true) => {
                let ft = types::float(ctx, to);
                if from_signed {
                    b.build_signed_int_to_float(x.into_int_value(), ft, "")?
                        .into()
                } else {
                    b.build_unsigned_int_to_float(x.into_int_value(), ft, "")?
                        .into()
                }
            }
            (true, false) => {
                // Truncation toward zero, saturating; NaN gives 0.
                let it = types::int(ctx, to);
                let name = if to.is_signed_int() {
                    "llvm.fptosi.sat"
                } else {
                    "llvm.fptoui.sat"
                };
                self.intrinsic(name, &[it.into(), x.get_type()], &[x])?
            }
            (false, false) => {
                let it = types::int(ctx, to);
                let i = x.into_int_value();
                let (fb, tb) = (from.bits(), to.bits());
                if tb < fb {
                    b.build_int_truncate(i, it, "")?.into()
                } else if tb == fb {
                    i.into()
                } else if from_signed {
                    b.build_int_s_extend(i, it, "")?.into()
                } else {
                    b.build_int_z_extend(i, it, "")?.into()
                }
            }
        })
    }

    /// Calls the LLVM intrinsic `name` overloaded on `tys`.
    /// Calls the intrinsic `name` (overloaded on `tys`); its result.
    pub(crate) fn intrinsic(
        &self,
        name: &str,
        tys: &[inkwell::types::BasicTypeEnum<'ctx>],
        args: &[BasicValueEnum<'ctx>],
    ) -> R<BasicValueEnum<'ctx>> {
        self.intrinsic_call(name, tys, args)?
            .ok_or_else(|| crate::CodegenError::Llvm(format!("{name} returned void")))
    }

    /// Calls the intrinsic `name` (overloaded on `tys`); `None` when it returns void.
    pub(crate) fn intrinsic_call(
        &self,
        name: &str,
        tys: &[inkwell::types::BasicTypeEnum<'ctx>],
        args: &[BasicValueEnum<'ctx>],
    ) -> R<Option<BasicValueEnum<'ctx>>> {
        let intr = inkwell::intrinsics::Intrinsic::find(name)
            .ok_or_else(|| crate::CodegenError::Llvm(format!("no intrinsic {name}")))?;
        let decl = intr
            .get_declaration(self.m.module, tys)
            .ok_or_else(|| crate::CodegenError::Llvm(format!("bad overload of {name}")))?;
        let args: Vec<_> = args.iter().map(|a| (*a).into()).collect();
        Ok(self
            .b
            .build_call(decl, &args, "")?
            .try_as_basic_value()
            .basic())
    }
}
