//! Scalar operations with the semantics documented on `hypersonic_ir::ops`, as
//! the LLVM backend computes them: wrapping integers, Python's floor division
//! and modulo (a zero divisor gives 0, `MIN // -1 == MIN`), defined shifts,
//! NaN-propagating min/max, saturating float → int; math through GLSL.std.450.

use hypersonic_ir::{BinaryOp, BitFn, CmpOp, MathFn, Scalar, UnaryOp, ValueId};
use rspirv::dr::{InsertPoint, Instruction, Operand};
use rspirv::spirv::{GlslStd450Op as GL, Op as O, Word};

use super::{internal, unsupported, Gen, R};

impl Gen<'_> {
    /// The label of the block being built.
    pub fn current_label(&self) -> R<Word> {
        let m = self.b.module_ref();
        let (f, b) = (
            self.b
                .selected_function()
                .ok_or_else(|| internal("no function"))?,
            self.b
                .selected_block()
                .ok_or_else(|| internal("no block"))?,
        );
        m.functions[f].blocks[b]
            .label_id()
            .ok_or_else(|| internal("block without label"))
    }

    /// `OpPhi` with a result id chosen in advance.
    pub fn phi(&mut self, ty: Word, id: Word, incoming: &[(Word, Word)]) -> R<()> {
        let ops = incoming
            .iter()
            .flat_map(|(v, l)| [Operand::IdRef(*v), Operand::IdRef(*l)])
            .collect();
        self.b
            .insert_into_block(
                InsertPoint::End,
                Instruction::new(O::Phi, Some(ty), Some(id), ops),
            )
            .map_err(internal)
    }

    /// An instruction with a result id chosen in advance.
    pub fn op_id(&mut self, o: O, ty: Word, id: Word, args: &[Word]) -> R<()> {
        let ops = args.iter().map(|a| Operand::IdRef(*a)).collect();
        self.b
            .insert_into_block(
                InsertPoint::End,
                Instruction::new(o, Some(ty), Some(id), ops),
            )
            .map_err(internal)
    }

    fn bool_op(&mut self, o: O, args: &[Word]) -> R<Word> {
        let bt = self.t_bool();
        self.op(o, bt, args)
    }

    pub fn unary(&mut self, o: UnaryOp, a: ValueId) -> R<Word> {
        let s = self.scalar_of(a)?;
        let x = self.v(a)?;
        let t = self.scalar_ty(s);
        match (o, s) {
            (UnaryOp::Not | UnaryOp::Invert, Scalar::Bool) => self.op(O::LogicalNot, t, &[x]),
            (UnaryOp::Invert, s) if s.is_int() => self.op(O::Not, t, &[x]),
            (UnaryOp::Neg, s) if s.is_int() => self.op(O::SNegate, t, &[x]),
            (UnaryOp::Neg, s) if s.is_float() || s.is_complex() => self.op(O::FNegate, t, &[x]),
            (UnaryOp::Abs, s) if s.is_unsigned_int() => Ok(x),
            (UnaryOp::Abs, s) if s.is_signed_int() => {
                let z = self.c_int(s.bits(), 0);
                let n = self.op(O::SNegate, t, &[x])?;
                let lt = self.bool_op(O::SLessThan, &[x, z])?;
                self.select(t, lt, n, x)
            }
            (UnaryOp::Abs, s) if s.is_float() => self.glsl(t, GL::FAbs, &[x]),
            _ => unsupported(format!("{o:?} on {s}")),
        }
    }

    pub fn binary(&mut self, o: BinaryOp, a: ValueId, b: ValueId) -> R<Word> {
        let s = self.scalar_of(a)?;
        let (x, y) = (self.v(a)?, self.v(b)?);
        if s == Scalar::Bool {
            let t = self.t_bool();
            return match o {
                BinaryOp::BitAnd | BinaryOp::Mul | BinaryOp::Min => {
                    self.op(O::LogicalAnd, t, &[x, y])
                }
                BinaryOp::BitOr | BinaryOp::Add | BinaryOp::Max => {
                    self.op(O::LogicalOr, t, &[x, y])
                }
                BinaryOp::BitXor => self.op(O::LogicalNotEqual, t, &[x, y]),
                _ => unsupported(format!("{o:?} on bool")),
            };
        }
        if s.is_int() {
            return self.int_binary(o, s, x, y);
        }
        if s.is_float() {
            return self.float_binary(o, s, x, y);
        }
        self.complex_binary(o, s, x, y)
    }

    fn int_binary(&mut self, o: BinaryOp, s: Scalar, x: Word, y: Word) -> R<Word> {
        let t = self.scalar_ty(s);
        let bits = s.bits();
        let signed = s.is_signed_int();
        match o {
            BinaryOp::Add => self.op(O::IAdd, t, &[x, y]),
            BinaryOp::Sub => self.op(O::ISub, t, &[x, y]),
            BinaryOp::Mul => self.op(O::IMul, t, &[x, y]),
            BinaryOp::FloorDiv => Ok(self.int_divmod(s, x, y)?.0),
            BinaryOp::Mod => Ok(self.int_divmod(s, x, y)?.1),
            BinaryOp::Pow => self.ipow(s, x, y),
            BinaryOp::BitAnd => self.op(O::BitwiseAnd, t, &[x, y]),
            BinaryOp::BitOr => self.op(O::BitwiseOr, t, &[x, y]),
            BinaryOp::BitXor => self.op(O::BitwiseXor, t, &[x, y]),
            BinaryOp::Shl | BinaryOp::Shr => {
                let width = self.c_int(bits, bits as i64);
                let in_range = self.bool_op(O::ULessThan, &[y, width])?;
                let m = self.c_int(bits, bits as i64 - 1);
                let masked = self.op(O::BitwiseAnd, t, &[y, m])?;
                let z = self.c_int(bits, 0);
                if o == BinaryOp::Shl {
                    let v = self.op(O::ShiftLeftLogical, t, &[x, masked])?;
                    self.select(t, in_range, v, z)
                } else if signed {
                    let cnt = self.select(t, in_range, masked, m)?;
                    self.op(O::ShiftRightArithmetic, t, &[x, cnt])
                } else {
                    let v = self.op(O::ShiftRightLogical, t, &[x, masked])?;
                    self.select(t, in_range, v, z)
                }
            }
            BinaryOp::Min | BinaryOp::Max => {
                let lt = if signed { O::SLessThan } else { O::ULessThan };
                let c = self.bool_op(lt, &[x, y])?;
                if o == BinaryOp::Min {
                    self.select(t, c, x, y)
                } else {
                    self.select(t, c, y, x)
                }
            }
            BinaryOp::Div => unsupported(format!("true division on {s}")),
        }
    }

    /// Python's `(x // y, x % y)` with `x // 0 == x % 0 == 0` and `MIN // -1 == MIN`;
    /// the hardware division never sees 0 or -1.
    fn int_divmod(&mut self, s: Scalar, x: Word, y: Word) -> R<(Word, Word)> {
        let t = self.scalar_ty(s);
        let bits = s.bits();
        let zero = self.c_int(bits, 0);
        let one = self.c_int(bits, 1);
        let y_zero = self.bool_op(O::IEqual, &[y, zero])?;
        if !s.is_signed_int() {
            let safe = self.select(t, y_zero, one, y)?;
            let q = self.op(O::UDiv, t, &[x, safe])?;
            let r = self.op(O::UMod, t, &[x, safe])?;
            let q = self.select(t, y_zero, zero, q)?;
            return Ok((q, r));
        }
        let m1 = self.c_int(bits, -1);
        let y_m1 = self.bool_op(O::IEqual, &[y, m1])?;
        let special = self.bool_op(O::LogicalOr, &[y_zero, y_m1])?;
        let safe = self.select(t, special, one, y)?;
        let q0 = self.op(O::SDiv, t, &[x, safe])?;
        let r0 = self.op(O::SRem, t, &[x, safe])?;
        let neg = self.op(O::SNegate, t, &[q0])?;
        let q0 = self.select(t, y_m1, neg, q0)?;
        let r_nz = self.bool_op(O::INotEqual, &[r0, zero])?;
        let sx = self.op(O::BitwiseXor, t, &[r0, y])?;
        let diff = self.bool_op(O::SLessThan, &[sx, zero])?;
        let adj = self.bool_op(O::LogicalAnd, &[r_nz, diff])?;
        let q1 = self.op(O::ISub, t, &[q0, one])?;
        let q = self.select(t, adj, q1, q0)?;
        let r1 = self.op(O::IAdd, t, &[r0, y])?;
        let r = self.select(t, adj, r1, r0)?;
        let q = self.select(t, y_zero, zero, q)?;
        Ok((q, r))
    }

    /// Exponentiation by squaring, wrapping; a negative exponent gives 0 unless
    /// the base is 1 or -1.
    fn ipow(&mut self, s: Scalar, x: Word, y: Word) -> R<Word> {
        let t = self.scalar_ty(s);
        let bits = s.bits();
        let zero = self.c_int(bits, 0);
        let one = self.c_int(bits, 1);
        let signed = s.is_signed_int();
        let neg = if signed {
            Some(self.bool_op(O::SLessThan, &[y, zero])?)
        } else {
            None
        };
        let e0 = match neg {
            Some(n) => self.select(t, n, zero, y)?,
            None => y,
        };
        let pre = self.current_label()?;
        let (header, body, cont, merge) = (
            self.new_label(),
            self.new_label(),
            self.new_label(),
            self.new_label(),
        );
        let (acc, bs, e) = (self.b.id(), self.b.id(), self.b.id());
        let (acc2, bs2, e2) = (self.b.id(), self.b.id(), self.b.id());
        self.branch(header)?;
        self.begin(header)?;
        self.phi(t, acc, &[(one, pre), (acc2, cont)])?;
        self.phi(t, bs, &[(x, pre), (bs2, cont)])?;
        self.phi(t, e, &[(e0, pre), (e2, cont)])?;
        let fin = self.bool_op(O::IEqual, &[e, zero])?;
        self.loop_merge(merge, cont)?;
        self.branch_cond(fin, merge, body)?;
        self.begin(body)?;
        let low = self.op(O::BitwiseAnd, t, &[e, one])?;
        let odd = self.bool_op(O::INotEqual, &[low, zero])?;
        let prod = self.op(O::IMul, t, &[acc, bs])?;
        self.op_id(O::Select, t, acc2, &[odd, prod, acc])?;
        self.op_id(O::IMul, t, bs2, &[bs, bs])?;
        self.op_id(O::ShiftRightLogical, t, e2, &[e, one])?;
        self.branch(cont)?;
        self.begin(cont)?;
        self.branch(header)?;
        self.begin(merge)?;
        let Some(neg) = neg else {
            return Ok(acc);
        };
        let m1 = self.c_int(bits, -1);
        let is_one = self.bool_op(O::IEqual, &[x, one])?;
        let is_m1 = self.bool_op(O::IEqual, &[x, m1])?;
        let low = self.op(O::BitwiseAnd, t, &[y, one])?;
        let odd = self.bool_op(O::INotEqual, &[low, zero])?;
        let m1r = self.select(t, odd, m1, one)?;
        let r = self.select(t, is_m1, m1r, zero)?;
        let r = self.select(t, is_one, one, r)?;
        self.select(t, neg, r, acc)
    }

    /// The float's bits as an integer of its width, and back.
    pub fn fbits(&mut self, s: Scalar, x: Word) -> R<Word> {
        let it = self.t_int(s.bits());
        self.op(O::Bitcast, it, &[x])
    }
    pub fn fbits_to_float(&mut self, s: Scalar, x: Word) -> R<Word> {
        let ft = self.t_float(s.bits());
        self.op(O::Bitcast, ft, &[x])
    }

    fn sign_mask(&mut self, s: Scalar) -> Word {
        self.c_int(s.bits(), i64::MIN >> (64 - s.bits()))
    }

    pub fn copysign(&mut self, s: Scalar, x: Word, y: Word) -> R<Word> {
        let it = self.t_int(s.bits());
        let (bx, by) = (self.fbits(s, x)?, self.fbits(s, y)?);
        let sm = self.sign_mask(s);
        let inv = self.op(O::Not, it, &[sm])?;
        let mag = self.op(O::BitwiseAnd, it, &[bx, inv])?;
        let sg = self.op(O::BitwiseAnd, it, &[by, sm])?;
        let r = self.op(O::BitwiseOr, it, &[mag, sg])?;
        self.fbits_to_float(s, r)
    }

    fn is_nan(&mut self, x: Word) -> R<Word> {
        self.bool_op(O::IsNan, &[x])
    }

    fn float_binary(&mut self, o: BinaryOp, s: Scalar, x: Word, y: Word) -> R<Word> {
        let t = self.scalar_ty(s);
        match o {
            BinaryOp::Add => self.op(O::FAdd, t, &[x, y]),
            BinaryOp::Sub => self.op(O::FSub, t, &[x, y]),
            BinaryOp::Mul => self.op(O::FMul, t, &[x, y]),
            BinaryOp::Div => self.op(O::FDiv, t, &[x, y]),
            BinaryOp::FloorDiv => Ok(self.float_divmod(s, x, y)?.0),
            BinaryOp::Mod => Ok(self.float_divmod(s, x, y)?.1),
            BinaryOp::Pow => self.math_vals(MathFn::Pow, s, &[x, y]),
            BinaryOp::Min | BinaryOp::Max => {
                // NaN-propagating, -0 < +0 (LLVM's `minimum`/`maximum`).
                let nx = self.is_nan(x)?;
                let ny = self.is_nan(y)?;
                let any_nan = self.bool_op(O::LogicalOr, &[nx, ny])?;
                let nan = self.op(O::FAdd, t, &[x, y])?;
                let lt = self.bool_op(O::FOrdLessThan, &[x, y])?;
                let gt = self.bool_op(O::FOrdGreaterThan, &[x, y])?;
                let it = self.t_int(s.bits());
                let (bx, by) = (self.fbits(s, x)?, self.fbits(s, y)?);
                let (first, second, eq_op) = if o == BinaryOp::Min {
                    (x, y, O::BitwiseOr)
                } else {
                    (y, x, O::BitwiseAnd)
                };
                let eqb = self.op(eq_op, it, &[bx, by])?;
                let eq = self.fbits_to_float(s, eqb)?;
                let r = self.select(t, gt, second, eq)?;
                let r = self.select(t, lt, first, r)?;
                self.select(t, any_nan, nan, r)
            }
            _ => unsupported(format!("{o:?} on {s}")),
        }
    }

    /// CPython's `float_divmod`; a zero divisor gives NumPy's results.
    fn float_divmod(&mut self, s: Scalar, x: Word, y: Word) -> R<(Word, Word)> {
        let t = self.scalar_ty(s);
        let zero = self.c_float(s.bits(), 0.0);
        let one = self.c_float(s.bits(), 1.0);
        let half = self.c_float(s.bits(), 0.5);
        let m = self.op(O::FRem, t, &[x, y])?;
        let xm = self.op(O::FSub, t, &[x, m])?;
        let div = self.op(O::FDiv, t, &[xm, y])?;
        let m_nz = self.bool_op(O::FUnordNotEqual, &[m, zero])?;
        let y_neg = self.bool_op(O::FOrdLessThan, &[y, zero])?;
        let m_neg = self.bool_op(O::FOrdLessThan, &[m, zero])?;
        let signs = self.bool_op(O::LogicalNotEqual, &[y_neg, m_neg])?;
        let adj = self.bool_op(O::LogicalAnd, &[m_nz, signs])?;
        let m_adj = self.op(O::FAdd, t, &[m, y])?;
        let m1 = self.select(t, adj, m_adj, m)?;
        let d_adj = self.op(O::FSub, t, &[div, one])?;
        let div = self.select(t, adj, d_adj, div)?;
        let szy = self.copysign(s, zero, y)?;
        let md = self.select(t, m_nz, m1, szy)?;
        let fl = self.glsl(t, GL::Floor, &[div])?;
        let frac = self.op(O::FSub, t, &[div, fl])?;
        let up = self.bool_op(O::FOrdGreaterThan, &[frac, half])?;
        let fl1 = self.op(O::FAdd, t, &[fl, one])?;
        let fl = self.select(t, up, fl1, fl)?;
        let d_nz = self.bool_op(O::FUnordNotEqual, &[div, zero])?;
        let q = self.op(O::FDiv, t, &[x, y])?;
        let szq = self.copysign(s, zero, q)?;
        let fd = self.select(t, d_nz, fl, szq)?;
        let y_zero = self.bool_op(O::FOrdEqual, &[y, zero])?;
        let fd = self.select(t, y_zero, q, fd)?;
        Ok((fd, md))
    }

    fn part(&mut self, s: Scalar, c: Word, k: u32) -> R<Word> {
        let ft = self.t_float(s.bits());
        self.opx(
            O::CompositeExtract,
            ft,
            vec![Operand::IdRef(c), Operand::LiteralBit32(k)],
        )
    }

    fn complex_binary(&mut self, o: BinaryOp, s: Scalar, x: Word, y: Word) -> R<Word> {
        let vt = self.scalar_ty(s);
        let ft = self.t_float(s.bits());
        match o {
            BinaryOp::Add => return self.op(O::FAdd, vt, &[x, y]),
            BinaryOp::Sub => return self.op(O::FSub, vt, &[x, y]),
            _ => {}
        }
        let (a, b) = (self.part(s, x, 0)?, self.part(s, x, 1)?);
        let (c, d) = (self.part(s, y, 0)?, self.part(s, y, 1)?);
        let (re, im) = match o {
            BinaryOp::Mul => {
                let ac = self.op(O::FMul, ft, &[a, c])?;
                let bd = self.op(O::FMul, ft, &[b, d])?;
                let ad = self.op(O::FMul, ft, &[a, d])?;
                let bc = self.op(O::FMul, ft, &[b, c])?;
                (
                    self.op(O::FSub, ft, &[ac, bd])?,
                    self.op(O::FAdd, ft, &[ad, bc])?,
                )
            }
            BinaryOp::Div => {
                // Smith's algorithm, as CPython's `_Py_c_quot`, both branches selected.
                let abs_c = self.glsl(ft, GL::FAbs, &[c])?;
                let abs_d = self.glsl(ft, GL::FAbs, &[d])?;
                let first = self.bool_op(O::FOrdGreaterThanEqual, &[abs_c, abs_d])?;
                let r1 = self.op(O::FDiv, ft, &[d, c])?;
                let dr1 = self.op(O::FMul, ft, &[d, r1])?;
                let den1 = self.op(O::FAdd, ft, &[c, dr1])?;
                let br1 = self.op(O::FMul, ft, &[b, r1])?;
                let n1 = self.op(O::FAdd, ft, &[a, br1])?;
                let re1 = self.op(O::FDiv, ft, &[n1, den1])?;
                let ar1 = self.op(O::FMul, ft, &[a, r1])?;
                let n2 = self.op(O::FSub, ft, &[b, ar1])?;
                let im1 = self.op(O::FDiv, ft, &[n2, den1])?;
                let r2 = self.op(O::FDiv, ft, &[c, d])?;
                let cr2 = self.op(O::FMul, ft, &[c, r2])?;
                let den2 = self.op(O::FAdd, ft, &[cr2, d])?;
                let ar2 = self.op(O::FMul, ft, &[a, r2])?;
                let n3 = self.op(O::FAdd, ft, &[ar2, b])?;
                let re2 = self.op(O::FDiv, ft, &[n3, den2])?;
                let br2 = self.op(O::FMul, ft, &[b, r2])?;
                let n4 = self.op(O::FSub, ft, &[br2, a])?;
                let im2 = self.op(O::FDiv, ft, &[n4, den2])?;
                (
                    self.select(ft, first, re1, re2)?,
                    self.select(ft, first, im1, im2)?,
                )
            }
            _ => return unsupported(format!("{o:?} on {s}")),
        };
        self.op(O::CompositeConstruct, vt, &[re, im])
    }

    pub fn compare(&mut self, o: CmpOp, a: ValueId, b: ValueId) -> R<Word> {
        let s = self.scalar_of(a)?;
        let (x, y) = (self.v(a)?, self.v(b)?);
        if s.is_complex() {
            let (p, q) = (self.part(s, x, 0)?, self.part(s, x, 1)?);
            let (r, t) = (self.part(s, y, 0)?, self.part(s, y, 1)?);
            return match o {
                CmpOp::Eq => {
                    let e1 = self.bool_op(O::FOrdEqual, &[p, r])?;
                    let e2 = self.bool_op(O::FOrdEqual, &[q, t])?;
                    self.bool_op(O::LogicalAnd, &[e1, e2])
                }
                CmpOp::Ne => {
                    let e1 = self.bool_op(O::FUnordNotEqual, &[p, r])?;
                    let e2 = self.bool_op(O::FUnordNotEqual, &[q, t])?;
                    self.bool_op(O::LogicalOr, &[e1, e2])
                }
                _ => unsupported(format!("{o:?} on {s}")),
            };
        }
        if s.is_float() {
            let p = match o {
                CmpOp::Eq => O::FOrdEqual,
                CmpOp::Ne => O::FUnordNotEqual,
                CmpOp::Lt => O::FOrdLessThan,
                CmpOp::Le => O::FOrdLessThanEqual,
                CmpOp::Gt => O::FOrdGreaterThan,
                CmpOp::Ge => O::FOrdGreaterThanEqual,
            };
            return self.bool_op(p, &[x, y]);
        }
        if s == Scalar::Bool {
            match o {
                CmpOp::Eq => return self.bool_op(O::LogicalEqual, &[x, y]),
                CmpOp::Ne => return self.bool_op(O::LogicalNotEqual, &[x, y]),
                _ => {
                    // False < True: compare as 0/1.
                    let u = self.t_u32();
                    let (one, zero) = (self.c_u32(1), self.c_u32(0));
                    let xi = self.select(u, x, one, zero)?;
                    let yi = self.select(u, y, one, zero)?;
                    return self.int_compare(o, false, xi, yi);
                }
            }
        }
        self.int_compare(o, s.is_signed_int(), x, y)
    }

    fn int_compare(&mut self, o: CmpOp, signed: bool, x: Word, y: Word) -> R<Word> {
        let p = match (o, signed) {
            (CmpOp::Eq, _) => O::IEqual,
            (CmpOp::Ne, _) => O::INotEqual,
            (CmpOp::Lt, true) => O::SLessThan,
            (CmpOp::Le, true) => O::SLessThanEqual,
            (CmpOp::Gt, true) => O::SGreaterThan,
            (CmpOp::Ge, true) => O::SGreaterThanEqual,
            (CmpOp::Lt, false) => O::ULessThan,
            (CmpOp::Le, false) => O::ULessThanEqual,
            (CmpOp::Gt, false) => O::UGreaterThan,
            (CmpOp::Ge, false) => O::UGreaterThanEqual,
        };
        self.bool_op(p, &[x, y])
    }

    /// NumPy's scalar conversions.
    pub fn cast(&mut self, x: Word, from: Scalar, to: Scalar) -> R<Word> {
        if from == to {
            return Ok(x);
        }
        if from.is_complex() {
            let re = self.part(from, x, 0)?;
            if to == Scalar::Bool {
                let im = self.part(from, x, 1)?;
                let z = self.c_float(from.bits(), 0.0);
                let a = self.bool_op(O::FUnordNotEqual, &[re, z])?;
                let b = self.bool_op(O::FUnordNotEqual, &[im, z])?;
                return self.bool_op(O::LogicalOr, &[a, b]);
            }
            if to.is_complex() {
                let im = self.part(from, x, 1)?;
                let re = self.cast(re, from.component(), to.component())?;
                let im = self.cast(im, from.component(), to.component())?;
                let vt = self.scalar_ty(to);
                return self.op(O::CompositeConstruct, vt, &[re, im]);
            }
            return self.cast(re, from.component(), to);
        }
        if to.is_complex() {
            let re = self.cast(x, from, to.component())?;
            let z = self.c_float(to.bits(), 0.0);
            let vt = self.scalar_ty(to);
            return self.op(O::CompositeConstruct, vt, &[re, z]);
        }
        let tt = self.scalar_ty(to);
        if to == Scalar::Bool {
            return if from.is_float() {
                let z = self.c_float(from.bits(), 0.0);
                self.bool_op(O::FUnordNotEqual, &[x, z])
            } else {
                let z = self.c_int(from.bits(), 0);
                self.bool_op(O::INotEqual, &[x, z])
            };
        }
        if from == Scalar::Bool {
            let one = self.c_scalar(to, 1.0, 1);
            let zero = self.c_scalar(to, 0.0, 0);
            return self.select(tt, x, one, zero);
        }
        match (from.is_float(), to.is_float()) {
            (true, true) => self.op(O::FConvert, tt, &[x]),
            (false, true) => {
                let o = if from.is_signed_int() {
                    O::ConvertSToF
                } else {
                    O::ConvertUToF
                };
                self.op(o, tt, &[x])
            }
            (true, false) => self.float_to_int(x, from, to),
            (false, false) => {
                let (fb, tb) = (from.bits(), to.bits());
                if fb == tb {
                    Ok(x)
                } else if tb < fb || !from.is_signed_int() {
                    self.op(O::UConvert, tt, &[x])
                } else {
                    // Sign extension as `(zext(x) ^ m) - m` with `m = 1 << (fb - 1)`,
                    // not `OpSConvert`: Mesa 22's NIR (lavapipe on Debian 12) folds a
                    // signed comparison of `OpSConvert(x)` with a constant
                    // (`int64(threadIdx.x) < 4`) to false.
                    let z = self.op(O::UConvert, tt, &[x])?;
                    let m = self.c_int(tb, 1i64 << (fb - 1));
                    let flipped = self.op(O::BitwiseXor, tt, &[z, m])?;
                    self.op(O::ISub, tt, &[flipped, m])
                }
            }
        }
    }

    /// Truncation toward zero, saturating; NaN gives 0 (LLVM's `fptosi.sat`).
    fn float_to_int(&mut self, x: Word, from: Scalar, to: Scalar) -> R<Word> {
        let fb = from.bits();
        let ft = self.t_float(fb);
        let n = to.bits();
        let wide = n.max(32);
        let wt = self.t_int(wide);
        let zero_f = self.c_float(fb, 0.0);
        let r = if to.is_signed_int() {
            let lo = self.c_float(fb, -(2f64.powi(n as i32 - 1)));
            let hi = self.c_float(fb, 2f64.powi(n as i32 - 1));
            let ge = self.bool_op(O::FOrdGreaterThanEqual, &[x, lo])?;
            let lt = self.bool_op(O::FOrdLessThan, &[x, hi])?;
            let ok = self.bool_op(O::LogicalAnd, &[ge, lt])?;
            let safe = self.select(ft, ok, x, zero_f)?;
            let conv = self.op(O::ConvertFToS, wt, &[safe])?;
            let max = self.c_int(wide, (1i64 << (n - 1)).wrapping_sub(1));
            let min = self.c_int(
                wide,
                if n == 64 {
                    i64::MIN
                } else {
                    -(1i64 << (n - 1))
                },
            );
            let zero = self.c_int(wide, 0);
            let big = self.bool_op(O::FOrdGreaterThanEqual, &[x, hi])?;
            let small = self.bool_op(O::FOrdLessThan, &[x, lo])?;
            let out = self.select(wt, small, min, zero)?;
            let out = self.select(wt, big, max, out)?;
            self.select(wt, ok, conv, out)?
        } else {
            let t = self.glsl(ft, GL::Trunc, &[x])?;
            let hi = self.c_float(fb, 2f64.powi(n as i32));
            let ge = self.bool_op(O::FOrdGreaterThanEqual, &[t, zero_f])?;
            let lt = self.bool_op(O::FOrdLessThan, &[t, hi])?;
            let ok = self.bool_op(O::LogicalAnd, &[ge, lt])?;
            let safe = self.select(ft, ok, t, zero_f)?;
            let conv = self.op(O::ConvertFToU, wt, &[safe])?;
            let max = self.c_int(
                wide,
                if n == 64 {
                    -1
                } else {
                    ((1u64 << n) - 1) as i64
                },
            );
            let zero = self.c_int(wide, 0);
            let big = self.bool_op(O::FOrdGreaterThanEqual, &[x, hi])?;
            let out = self.select(wt, big, max, zero)?;
            self.select(wt, ok, conv, out)?
        };
        if wide == n {
            Ok(r)
        } else {
            let tt = self.t_int(n);
            self.op(O::UConvert, tt, &[r])
        }
    }

    pub fn math(&mut self, f: MathFn, args: &[ValueId]) -> R<Word> {
        if args.len() != f.arity() {
            return unsupported(format!("{f:?} with {} operands", args.len()));
        }
        let s = self.scalar_of(args[0])?;
        if !s.is_float() {
            return unsupported(format!("{f:?} on {s}"));
        }
        let mut vals = vec![];
        for a in args {
            vals.push(self.v(*a)?);
        }
        if f == MathFn::Ldexp {
            // The exponent as an int32, clamped (as the LLVM backend does).
            let es = self.scalar_of(args[1])?;
            vals[1] = self.ldexp_exponent(es, vals[1])?;
        }
        self.math_vals(f, s, &vals)
    }

    fn ldexp_exponent(&mut self, s: Scalar, v: Word) -> R<Word> {
        if s == Scalar::I32 {
            return Ok(v);
        }
        if !s.is_int() {
            return self.cast(v, s, Scalar::I32);
        }
        let v64 = self.cast(v, s, Scalar::I64)?;
        let t = self.t_u64();
        let hi = self.c_int(64, 100_000);
        let lo = self.c_int(64, -100_000);
        let gt = self.bool_op(O::SGreaterThan, &[v64, hi])?;
        let v64 = self.select(t, gt, hi, v64)?;
        let lt = self.bool_op(O::SLessThan, &[v64, lo])?;
        let v64 = self.select(t, lt, lo, v64)?;
        let u = self.t_u32();
        self.op(O::UConvert, u, &[v64])
    }

    /// `f` on already-evaluated operands of float type `s`.
    pub fn math_vals(&mut self, f: MathFn, s: Scalar, v: &[Word]) -> R<Word> {
        use MathFn::*;
        let t = self.scalar_ty(s);
        let bits = s.bits();
        let x = v[0];
        if !crate::prepare::native_math(f, s) {
            return unsupported(format!(
                "math function {} on {s} (GLSL.std.450 has none)",
                f.libm_name().unwrap_or("?")
            ));
        }
        let gl = |g: &mut Self, o: GL| g.glsl(t, o, v);
        match f {
            Sin => gl(self, GL::Sin),
            Cos => gl(self, GL::Cos),
            Tan => gl(self, GL::Tan),
            Asin => gl(self, GL::Asin),
            Acos => gl(self, GL::Acos),
            Atan => gl(self, GL::Atan),
            Atan2 => gl(self, GL::Atan2),
            Sinh => gl(self, GL::Sinh),
            Cosh => gl(self, GL::Cosh),
            Tanh => gl(self, GL::Tanh),
            Asinh => gl(self, GL::Asinh),
            Acosh => gl(self, GL::Acosh),
            Atanh => gl(self, GL::Atanh),
            Exp => gl(self, GL::Exp),
            Exp2 => gl(self, GL::Exp2),
            Log => gl(self, GL::Log),
            Log2 => gl(self, GL::Log2),
            Sqrt => gl(self, GL::Sqrt),
            Floor => gl(self, GL::Floor),
            Ceil => gl(self, GL::Ceil),
            Trunc => gl(self, GL::Trunc),
            Rint => gl(self, GL::RoundEven),
            Fabs => gl(self, GL::FAbs),
            Fma => self.fma(s, v[0], v[1], v[2]),
            Log10 => {
                let l = self.glsl(t, GL::Log2, &[x])?;
                let c = self.c_float(bits, std::f64::consts::LOG10_2);
                self.op(O::FMul, t, &[l, c])
            }
            Fmod => self.op(O::FRem, t, &[x, v[1]]),
            Copysign => self.copysign(s, x, v[1]),
            IsNan => self.bool_op(O::IsNan, &[x]),
            IsInf => self.bool_op(O::IsInf, &[x]),
            IsFinite => {
                let n = self.bool_op(O::IsNan, &[x])?;
                let i = self.bool_op(O::IsInf, &[x])?;
                let ni = self.bool_op(O::LogicalOr, &[n, i])?;
                self.bool_op(O::LogicalNot, &[ni])
            }
            Signbit => {
                let b = self.fbits(s, x)?;
                let z = self.c_int(bits, 0);
                self.bool_op(O::SLessThan, &[b, z])
            }
            Pow => self.pow(s, x, v[1]),
            Hypot => self.hypot(s, x, v[1]),
            Ldexp => self.ldexp(s, x, v[1]),
            Nextafter => self.nextafter(s, x, v[1]),
            Expm1 => {
                // Kahan: (e^x - 1) * x / log(e^x), exact where e^x rounds to 1.
                let one = self.c_float(bits, 1.0);
                let m1 = self.c_float(bits, -1.0);
                let inf = self.c_float(bits, f64::INFINITY);
                let u = self.glsl(t, GL::Exp, &[x])?;
                let um1 = self.op(O::FSub, t, &[u, one])?;
                let lu = self.glsl(t, GL::Log, &[u])?;
                let p = self.op(O::FMul, t, &[um1, x])?;
                let r = self.op(O::FDiv, t, &[p, lu])?;
                let is_m1 = self.bool_op(O::FOrdEqual, &[um1, m1])?;
                let r = self.select(t, is_m1, m1, r)?;
                let is_inf = self.bool_op(O::FOrdEqual, &[u, inf])?;
                let r = self.select(t, is_inf, inf, r)?;
                let is_one = self.bool_op(O::FOrdEqual, &[u, one])?;
                self.select(t, is_one, x, r)
            }
            Log1p => {
                let one = self.c_float(bits, 1.0);
                let inf = self.c_float(bits, f64::INFINITY);
                let u = self.op(O::FAdd, t, &[x, one])?;
                let lu = self.glsl(t, GL::Log, &[u])?;
                let um1 = self.op(O::FSub, t, &[u, one])?;
                let p = self.op(O::FMul, t, &[lu, x])?;
                let r = self.op(O::FDiv, t, &[p, um1])?;
                let is_inf = self.bool_op(O::FOrdEqual, &[u, inf])?;
                let r = self.select(t, is_inf, inf, r)?;
                let is_one = self.bool_op(O::FOrdEqual, &[u, one])?;
                self.select(t, is_one, x, r)
            }
            Cbrt => {
                // exp2(log2|x| / 3) with the sign, one Newton step.
                let ax = self.glsl(t, GL::FAbs, &[x])?;
                let l = self.glsl(t, GL::Log2, &[ax])?;
                let third = self.c_float(bits, 1.0 / 3.0);
                let l3 = self.op(O::FMul, t, &[l, third])?;
                let r = self.glsl(t, GL::Exp2, &[l3])?;
                let r2 = self.op(O::FMul, t, &[r, r])?;
                let r3 = self.op(O::FMul, t, &[r2, r])?;
                let diff = self.op(O::FSub, t, &[r3, ax])?;
                let three = self.c_float(bits, 3.0);
                let den = self.op(O::FMul, t, &[r2, three])?;
                let q = self.op(O::FDiv, t, &[diff, den])?;
                let r = self.op(O::FSub, t, &[r, q])?;
                let r = self.copysign(s, r, x)?;
                let z = self.c_float(bits, 0.0);
                let is_z = self.bool_op(O::FOrdEqual, &[x, z])?;
                let n = self.bool_op(O::IsNan, &[x])?;
                let i = self.bool_op(O::IsInf, &[x])?;
                let sp = self.bool_op(O::LogicalOr, &[is_z, n])?;
                let sp = self.bool_op(O::LogicalOr, &[sp, i])?;
                self.select(t, sp, x, r)
            }
            Erf | Erfc | Gamma | Lgamma => Err(internal("software math")),
        }
    }

    /// An arithmetic instruction the driver must not fuse with another
    /// (`NoContraction`): the error-free transformations depend on it.
    fn exact(&mut self, o: O, t: Word, args: &[Word]) -> R<Word> {
        let c = std::mem::replace(&mut self.contract, false);
        let r = self.op(o, t, args);
        self.contract = c;
        r
    }

    /// `a * b + c` rounded once. Vulkan lets GLSL.std.450's `Fma` be a multiply
    /// and an add (lavapipe's is), so: float64 by Dekker's exact product and an
    /// exact sum — exact whenever the result is representable (what the
    /// double-double arithmetic of the math library needs), else within an ulp;
    /// float32 in float64 (where the device has it; else GLSL's `Fma`).
    fn fma(&mut self, s: Scalar, a: Word, b: Word, c: Word) -> R<Word> {
        let t = self.scalar_ty(s);
        if s == Scalar::F32 {
            if !self.opts.float64 {
                return self.glsl(t, GL::Fma, &[a, b, c]);
            }
            let d = self.t_float(64);
            let (a, b, c) = (
                self.op(O::FConvert, d, &[a])?,
                self.op(O::FConvert, d, &[b])?,
                self.op(O::FConvert, d, &[c])?,
            );
            let p = self.exact(O::FMul, d, &[a, b])?;
            let r = self.exact(O::FAdd, d, &[p, c])?;
            return self.op(O::FConvert, t, &[r]);
        }
        let split = |g: &mut Self, x: Word| -> R<(Word, Word)> {
            let k = g.c_float(64, 134_217_729.0); // 2^27 + 1
            let cx = g.exact(O::FMul, t, &[k, x])?;
            let d = g.exact(O::FSub, t, &[cx, x])?;
            let hi = g.exact(O::FSub, t, &[cx, d])?;
            let lo = g.exact(O::FSub, t, &[x, hi])?;
            Ok((hi, lo))
        };
        // Dekker's TwoProduct: p + e == a * b exactly.
        let p = self.exact(O::FMul, t, &[a, b])?;
        let (ah, al) = split(self, a)?;
        let (bh, bl) = split(self, b)?;
        let hh = self.exact(O::FMul, t, &[ah, bh])?;
        let e1 = self.exact(O::FSub, t, &[hh, p])?;
        let hl = self.exact(O::FMul, t, &[ah, bl])?;
        let e2 = self.exact(O::FAdd, t, &[e1, hl])?;
        let lh = self.exact(O::FMul, t, &[al, bh])?;
        let e3 = self.exact(O::FAdd, t, &[e2, lh])?;
        let ll = self.exact(O::FMul, t, &[al, bl])?;
        let e = self.exact(O::FAdd, t, &[e3, ll])?;
        // Knuth's TwoSum: s + u == p + c exactly.
        let sum = self.exact(O::FAdd, t, &[p, c])?;
        let bv = self.exact(O::FSub, t, &[sum, p])?;
        let av = self.exact(O::FSub, t, &[sum, bv])?;
        let db = self.exact(O::FSub, t, &[c, bv])?;
        let da = self.exact(O::FSub, t, &[p, av])?;
        let u = self.exact(O::FAdd, t, &[da, db])?;
        let tail = self.exact(O::FAdd, t, &[u, e])?;
        let r = self.exact(O::FAdd, t, &[sum, tail])?;
        // Where the product is not finite, or zero (underflow), the plain sum.
        let plain = self.exact(O::FAdd, t, &[p, c])?;
        let fin_n = self.bool_op(O::IsNan, &[p])?;
        let fin_i = self.bool_op(O::IsInf, &[p])?;
        let z = self.c_float(64, 0.0);
        let p0 = self.bool_op(O::FOrdEqual, &[p, z])?;
        let sp = self.bool_op(O::LogicalOr, &[fin_n, fin_i])?;
        let sp = self.bool_op(O::LogicalOr, &[sp, p0])?;
        // Huge operands would overflow the split: the hardware's Fma there.
        let big = self.c_float(64, 2f64.powi(995));
        let aa = self.glsl(t, GL::FAbs, &[a])?;
        let ab = self.glsl(t, GL::FAbs, &[b])?;
        let ba = self.bool_op(O::FOrdGreaterThan, &[aa, big])?;
        let bb = self.bool_op(O::FOrdGreaterThan, &[ab, big])?;
        let huge = self.bool_op(O::LogicalOr, &[ba, bb])?;
        let hw = self.glsl(t, GL::Fma, &[a, b, c])?;
        let r = self.select(t, sp, plain, r)?;
        self.select(t, huge, hw, r)
    }

    /// C's `pow` on top of GLSL's (defined only for `x > 0`).
    fn pow(&mut self, s: Scalar, x: Word, y: Word) -> R<Word> {
        let t = self.scalar_ty(s);
        let bits = s.bits();
        let zero = self.c_float(bits, 0.0);
        let one = self.c_float(bits, 1.0);
        let half = self.c_float(bits, 0.5);
        let inf = self.c_float(bits, f64::INFINITY);
        let nan = self.c_float(bits, f64::NAN);
        let ax = self.glsl(t, GL::FAbs, &[x])?;
        let r = self.glsl(t, GL::Pow, &[ax, y])?;
        // y an integer, and odd?
        let ty = self.glsl(t, GL::Trunc, &[y])?;
        let yi = self.bool_op(O::FOrdEqual, &[ty, y])?;
        let hy = self.op(O::FMul, t, &[y, half])?;
        let thy = self.glsl(t, GL::Trunc, &[hy])?;
        let even = self.bool_op(O::FOrdEqual, &[thy, hy])?;
        let not_even = self.bool_op(O::LogicalNot, &[even])?;
        let odd = self.bool_op(O::LogicalAnd, &[yi, not_even])?;
        let x_neg = self.bool_op(O::FOrdLessThan, &[x, zero])?;
        // Negative base: sign from an odd integer exponent, NaN for a non-integer one.
        let neg_r = self.op(O::FNegate, t, &[r])?;
        let flip = self.bool_op(O::LogicalAnd, &[x_neg, odd])?;
        let r = self.select(t, flip, neg_r, r)?;
        let not_int = self.bool_op(O::LogicalNot, &[yi])?;
        let bad = self.bool_op(O::LogicalAnd, &[x_neg, not_int])?;
        let y_inf = self.bool_op(O::IsInf, &[y])?;
        let not_inf = self.bool_op(O::LogicalNot, &[y_inf])?;
        let bad = self.bool_op(O::LogicalAnd, &[bad, not_inf])?;
        let r = self.select(t, bad, nan, r)?;
        // Zero base: 0 or inf, signed for odd integer exponents.
        let x_zero = self.bool_op(O::FOrdEqual, &[x, zero])?;
        let y_neg = self.bool_op(O::FOrdLessThan, &[y, zero])?;
        let zr = self.select(t, y_neg, inf, zero)?;
        let zr_signed = self.copysign(s, zr, x)?;
        let zr = self.select(t, odd, zr_signed, zr)?;
        let r = self.select(t, x_zero, zr, r)?;
        // pow(x, 0) == pow(1, y) == 1, even for NaN.
        let y_zero = self.bool_op(O::FOrdEqual, &[y, zero])?;
        let x_one = self.bool_op(O::FOrdEqual, &[x, one])?;
        let unit = self.bool_op(O::LogicalOr, &[y_zero, x_one])?;
        // pow(-1, ±inf) == 1.
        let m1 = self.c_float(bits, -1.0);
        let x_m1 = self.bool_op(O::FOrdEqual, &[x, m1])?;
        let m1inf = self.bool_op(O::LogicalAnd, &[x_m1, y_inf])?;
        let unit = self.bool_op(O::LogicalOr, &[unit, m1inf])?;
        let nx = self.bool_op(O::IsNan, &[x])?;
        let ny = self.bool_op(O::IsNan, &[y])?;
        let anynan = self.bool_op(O::LogicalOr, &[nx, ny])?;
        let sum = self.op(O::FAdd, t, &[x, y])?;
        let r = self.select(t, anynan, sum, r)?;
        self.select(t, unit, one, r)
    }

    fn hypot(&mut self, s: Scalar, x: Word, y: Word) -> R<Word> {
        let t = self.scalar_ty(s);
        let bits = s.bits();
        let a = self.glsl(t, GL::FAbs, &[x])?;
        let b = self.glsl(t, GL::FAbs, &[y])?;
        let gt = self.bool_op(O::FOrdGreaterThan, &[a, b])?;
        let m = self.select(t, gt, a, b)?;
        let n = self.select(t, gt, b, a)?;
        let q = self.op(O::FDiv, t, &[n, m])?;
        let q2 = self.op(O::FMul, t, &[q, q])?;
        let one = self.c_float(bits, 1.0);
        let s1 = self.op(O::FAdd, t, &[q2, one])?;
        let sq = self.glsl(t, GL::Sqrt, &[s1])?;
        let r = self.op(O::FMul, t, &[m, sq])?;
        let zero = self.c_float(bits, 0.0);
        let m0 = self.bool_op(O::FOrdEqual, &[m, zero])?;
        let r = self.select(t, m0, zero, r)?;
        let nx = self.bool_op(O::IsNan, &[x])?;
        let ny = self.bool_op(O::IsNan, &[y])?;
        let nan = self.bool_op(O::LogicalOr, &[nx, ny])?;
        let sum = self.op(O::FAdd, t, &[a, b])?;
        let r = self.select(t, nan, sum, r)?;
        let ix = self.bool_op(O::IsInf, &[x])?;
        let iy = self.bool_op(O::IsInf, &[y])?;
        let inf_any = self.bool_op(O::LogicalOr, &[ix, iy])?;
        let inf = self.c_float(bits, f64::INFINITY);
        self.select(t, inf_any, inf, r)
    }

    /// `x * 2**n` as three exact scalings by powers of two built from bits.
    fn ldexp(&mut self, s: Scalar, x: Word, n: Word) -> R<Word> {
        let t = self.scalar_ty(s);
        let u = self.t_u32();
        let (limit, mant, bias) = if s == Scalar::F32 {
            (300i64, 23u32, 127i64)
        } else {
            (2200, 52, 1023)
        };
        let hi = self.c_u32(limit as u32);
        let lo = self.c_int(32, -limit);
        let gt = self.bool_op(O::SGreaterThan, &[n, hi])?;
        let n = self.select(u, gt, hi, n)?;
        let lt = self.bool_op(O::SLessThan, &[n, lo])?;
        let n = self.select(u, lt, lo, n)?;
        let three = self.c_u32(3);
        let n1 = self.op(O::SDiv, u, &[n, three])?;
        let two_n1 = self.op(O::IAdd, u, &[n1, n1])?;
        let n3 = self.op(O::ISub, u, &[n, two_n1])?;
        let it = self.t_int(s.bits());
        let mut r = x;
        for part in [n1, n1, n3] {
            let b = self.c_u32(bias as u32);
            let e = self.op(O::IAdd, u, &[part, b])?;
            let e = if s == Scalar::F64 {
                self.op(O::UConvert, it, &[e])?
            } else {
                e
            };
            let sh = self.c_int(s.bits(), mant as i64);
            let bitsv = self.op(O::ShiftLeftLogical, it, &[e, sh])?;
            let p = self.fbits_to_float(s, bitsv)?;
            r = self.op(O::FMul, t, &[r, p])?;
        }
        Ok(r)
    }

    fn nextafter(&mut self, s: Scalar, x: Word, y: Word) -> R<Word> {
        let t = self.scalar_ty(s);
        let it = self.t_int(s.bits());
        let bits = s.bits();
        let ix = self.fbits(s, x)?;
        let one = self.c_int(bits, 1);
        let up = self.op(O::IAdd, it, &[ix, one])?;
        let down = self.op(O::ISub, it, &[ix, one])?;
        let zero = self.c_float(bits, 0.0);
        let y_gt = self.bool_op(O::FOrdGreaterThan, &[y, x])?;
        let x_pos = self.bool_op(O::FOrdGreaterThan, &[x, zero])?;
        let mag_up = self.bool_op(O::LogicalEqual, &[y_gt, x_pos])?;
        let rb = self.select(it, mag_up, up, down)?;
        let r = self.fbits_to_float(s, rb)?;
        // From zero: the smallest subnormal toward y.
        let tiny_b = self.c_int(bits, 1);
        let tiny = self.fbits_to_float(s, tiny_b)?;
        let tiny = self.copysign(s, tiny, y)?;
        let x0 = self.bool_op(O::FOrdEqual, &[x, zero])?;
        let r = self.select(t, x0, tiny, r)?;
        let eq = self.bool_op(O::FOrdEqual, &[x, y])?;
        let r = self.select(t, eq, y, r)?;
        let nx = self.bool_op(O::IsNan, &[x])?;
        let ny = self.bool_op(O::IsNan, &[y])?;
        let nan = self.bool_op(O::LogicalOr, &[nx, ny])?;
        let sum = self.op(O::FAdd, t, &[x, y])?;
        self.select(t, nan, sum, r)
    }

    /// Bit functions on 32- or 64-bit integers (GLSL's bit instructions are
    /// 32-bit only on Vulkan: 64-bit operands are split into halves).
    pub fn bit(&mut self, f: BitFn, a: ValueId) -> R<Word> {
        let s = self.scalar_of(a)?;
        let x = self.v(a)?;
        let u = self.t_u32();
        if s.size() == 4 {
            return self.bit32(f, x);
        }
        if s.size() != 8 {
            return unsupported(format!("{f:?} on {s}"));
        }
        let u64t = self.t_u64();
        let lo = self.op(O::UConvert, u, &[x])?;
        let sh = self.c_u64(32);
        let hi64 = self.op(O::ShiftRightLogical, u64t, &[x, sh])?;
        let hi = self.op(O::UConvert, u, &[hi64])?;
        let zero = self.c_u32(0);
        let c32 = self.c_u32(32);
        match f {
            BitFn::Popc => {
                let a = self.bit32(BitFn::Popc, lo)?;
                let b = self.bit32(BitFn::Popc, hi)?;
                self.op(O::IAdd, u, &[a, b])
            }
            BitFn::Clz => {
                let ch = self.bit32(BitFn::Clz, hi)?;
                let cl = self.bit32(BitFn::Clz, lo)?;
                let cl = self.op(O::IAdd, u, &[cl, c32])?;
                let hz = self.bool_op(O::INotEqual, &[hi, zero])?;
                self.select(u, hz, ch, cl)
            }
            BitFn::Ffs => {
                let fl = self.bit32(BitFn::Ffs, lo)?;
                let fh = self.bit32(BitFn::Ffs, hi)?;
                let fh32 = self.op(O::IAdd, u, &[fh, c32])?;
                let hnz = self.bool_op(O::INotEqual, &[hi, zero])?;
                let fh = self.select(u, hnz, fh32, zero)?;
                let lnz = self.bool_op(O::INotEqual, &[lo, zero])?;
                self.select(u, lnz, fl, fh)
            }
            BitFn::Brev => {
                let rl = self.bit32(BitFn::Brev, lo)?;
                let rh = self.bit32(BitFn::Brev, hi)?;
                let rl = self.op(O::UConvert, u64t, &[rl])?;
                let rh = self.op(O::UConvert, u64t, &[rh])?;
                let rl = self.op(O::ShiftLeftLogical, u64t, &[rl, sh])?;
                self.op(O::BitwiseOr, u64t, &[rl, rh])
            }
        }
    }

    fn bit32(&mut self, f: BitFn, x: Word) -> R<Word> {
        let u = self.t_u32();
        match f {
            BitFn::Popc => self.op(O::BitCount, u, &[x]),
            BitFn::Clz => {
                // FindUMsb(0) == -1, so 31 - msb is 32 for 0.
                let msb = self.glsl(u, GL::FindUMsb, &[x])?;
                let c31 = self.c_u32(31);
                self.op(O::ISub, u, &[c31, msb])
            }
            BitFn::Ffs => {
                // FindILsb(0) == -1.
                let lsb = self.glsl(u, GL::FindILsb, &[x])?;
                let one = self.c_u32(1);
                self.op(O::IAdd, u, &[lsb, one])
            }
            BitFn::Brev => self.op(O::BitReverse, u, &[x]),
        }
    }
}
