//! Lowering expressions: literals, names, operators, comparisons, indexing, attributes.

use hypersonic_ir::{BinaryOp, CmpOp, Const, Op, Scalar, Stmt as IrStmt, Type, UnaryOp, ValueId};
use ruff_text_size::{Ranged, TextRange};

use crate::lower::{const_int, FnLower, Value, R};
use crate::parse::ast;
use crate::typing::{self, describe, unify};

impl FnLower<'_, '_> {
    pub(crate) fn expr(&mut self, e: &ast::Expr) -> R<Value> {
        use ast::Expr as E;
        match e {
            E::NumberLiteral(n) => Ok(match &n.value {
                ast::Number::Int(i) => match i.as_i64() {
                    Some(i) => Value::V(self.int(i), Type::I64),
                    None => {
                        return Err(self.error(
                            n.range,
                            "integer literal too large for int64",
                            "use a float literal or a smaller integer",
                        ))
                    }
                },
                ast::Number::Float(f) => {
                    Value::V(self.konst(Const::Float(*f), Type::F64), Type::F64)
                }
                ast::Number::Complex { real, imag } => {
                    let t = Type::Scalar(Scalar::C128);
                    Value::V(self.konst(Const::Complex(*real, *imag), t.clone()), t)
                }
            }),
            E::BooleanLiteral(b) => Ok(Value::V(
                self.konst(Const::Bool(b.value), Type::BOOL),
                Type::BOOL,
            )),
            E::NoneLiteral(_) => Ok(Value::V(self.konst(Const::None, Type::None), Type::None)),
            E::Name(n) => self.read_var(n.id.as_str(), n.range),
            E::BinOp(b) => {
                let l = self.expr(&b.left)?;
                let r = self.expr(&b.right)?;
                self.pow_const = const_int(&b.right);
                let v = self.binop(b.op, l, r, b.range);
                self.pow_const = None;
                v
            }
            E::UnaryOp(u) => self.unary(u),
            E::BoolOp(b) => self.bool_op(b),
            E::Compare(c) => {
                let v = self.compare(c)?;
                Ok(Value::V(v, Type::BOOL))
            }
            E::If(i) => self.if_expr(i),
            E::Tuple(t) => {
                let mut ids = vec![];
                let mut tys = vec![];
                let mut unknown = false;
                for x in &t.elts {
                    match self.expr(x)? {
                        Value::V(v, ty) => {
                            ids.push(v);
                            tys.push(ty);
                        }
                        Value::Unknown => unknown = true,
                        _ => {
                            return Err(self.unsupported(
                                x.range(),
                                "tuples can hold numbers, arrays and tuples only",
                                "call the function, or leave it out of the tuple",
                            ))
                        }
                    }
                }
                if unknown {
                    return Ok(Value::Unknown);
                }
                let ty = Type::Tuple(tys);
                Ok(Value::V(self.b.emit(Op::MakeTuple(ids), ty.clone()), ty))
            }
            E::Subscript(s) => self.subscript(s),
            E::Attribute(a) => self.attribute(a),
            E::Call(c) => self.call(c),
            E::StringLiteral(s) => Err(self.unsupported(
                s.range,
                "strings are not supported in compiled code",
                "use strings only as the message of `raise` or `assert`",
            )),
            E::FString(s) => Err(self.unsupported(
                s.range,
                "strings are not supported in compiled code",
                "format strings outside the compiled function",
            )),
            E::BytesLiteral(s) => Err(self.unsupported(
                s.range,
                "bytes are not supported in compiled code",
                "use numbers or arrays",
            )),
            E::List(l) => Err(self.unsupported(
                l.range,
                "lists are not supported in compiled code",
                "use a tuple, or a NumPy array passed in as an argument",
            )),
            E::Dict(d) => Err(self.unsupported(
                d.range,
                "dicts are not supported in compiled code",
                "use arrays indexed by integers",
            )),
            E::Set(d) => Err(self.unsupported(
                d.range,
                "sets are not supported in compiled code",
                "use arrays or tuples",
            )),
            E::ListComp(d) => Err(self.unsupported(
                d.range,
                "list comprehensions are not supported in compiled code",
                "write a `for` loop that fills an array",
            )),
            E::SetComp(d) => Err(self.unsupported(
                d.range,
                "set comprehensions are not supported in compiled code",
                "write a `for` loop",
            )),
            E::DictComp(d) => Err(self.unsupported(
                d.range,
                "dict comprehensions are not supported in compiled code",
                "write a `for` loop",
            )),
            E::Generator(d) => Err(self.unsupported(
                d.range,
                "generator expressions are not supported in compiled code",
                "write a `for` loop",
            )),
            E::Lambda(d) => Err(self.unsupported(
                d.range,
                "`lambda` is not supported in compiled code",
                "define a function at module level and call it",
            )),
            E::Yield(d) => Err(self.unsupported(
                d.range,
                "generators (`yield`) are not supported in compiled code",
                "fill an array and return it instead",
            )),
            E::YieldFrom(d) => Err(self.unsupported(
                d.range,
                "generators (`yield from`) are not supported in compiled code",
                "fill an array and return it instead",
            )),
            E::Await(d) => Err(self.unsupported(
                d.range,
                "`await` is not supported in compiled code",
                "call the function outside the compiled code",
            )),
            E::Named(d) => Err(self.unsupported(
                d.range,
                "assignment expressions (`:=`) are not supported",
                "assign on a separate line",
            )),
            E::Starred(d) => Err(self.unsupported(
                d.range,
                "starred expressions are not supported",
                "pass the values one by one",
            )),
            E::Slice(d) => Err(self.unsupported(
                d.range,
                "slices are not supported yet",
                "index single elements in a loop instead",
            )),
            other => Err(self.unsupported(
                other.range(),
                "this expression is not supported in compiled code",
                "rewrite it with numbers, arrays, tuples, operators and function calls, or compute it outside the compiled function",
            )),
        }
    }

    fn scalar_of(&self, v: &Value, range: TextRange, what: &str) -> R<Option<(ValueId, Scalar)>> {
        match v {
            Value::Unknown => Ok(None),
            Value::V(v, Type::Scalar(s)) => Ok(Some((*v, *s))),
            Value::V(_, t) => Err(self.error(
                range,
                format!("{what} is not defined for {}", describe(t)),
                match t {
                    Type::Array { .. } => {
                        "whole-array arithmetic is not supported yet; index the array, e.g. `a[i]`, in a loop"
                    }
                    _ => "use numbers here",
                },
            )),
            _ => Err(self.error(
                range,
                format!("{what} is not defined for a module, function or class"),
                "call the function, e.g. `f(x)`, or use a number variable",
            )),
        }
    }

    pub(crate) fn binop(
        &mut self,
        op: ast::Operator,
        l: Value,
        r: Value,
        range: TextRange,
    ) -> R<Value> {
        let what = format!("`{}`", op.as_str());
        let (l, r) = match (
            self.scalar_of(&l, range, &what)?,
            self.scalar_of(&r, range, &what)?,
        ) {
            (Some(l), Some(r)) => (l, r),
            _ => return Ok(Value::Unknown),
        };
        let v = self.binop_scalars(op, l, r, range)?;
        Ok(v)
    }

    pub(crate) fn binop_scalars(
        &mut self,
        op: ast::Operator,
        (a, sa): (ValueId, Scalar),
        (b, sb): (ValueId, Scalar),
        range: TextRange,
    ) -> R<Value> {
        use ast::Operator as O;
        let python = self.ctx.opts.error_model == crate::ErrorModel::Python;
        let (t, bop) = match op {
            O::Add => (typing::arith(sa, sb), BinaryOp::Add),
            O::Sub => (typing::arith(sa, sb), BinaryOp::Sub),
            O::Mult => (typing::arith(sa, sb), BinaryOp::Mul),
            O::Div => (typing::true_div(sa, sb), BinaryOp::Div),
            O::FloorDiv => (typing::arith(sa, sb), BinaryOp::FloorDiv),
            O::Mod => (typing::arith(sa, sb), BinaryOp::Mod),
            O::Pow => (typing::arith(sa, sb), BinaryOp::Pow),
            O::BitAnd | O::BitOr | O::BitXor | O::LShift | O::RShift => {
                let Some(t) = typing::bitwise(sa, sb) else {
                    return Err(self.error(
                        range,
                        format!("`{}` needs integers, got `{sa}` and `{sb}`", op.as_str()),
                        "convert the operands with `int(...)`",
                    ));
                };
                let bop = match op {
                    O::BitAnd => BinaryOp::BitAnd,
                    O::BitOr => BinaryOp::BitOr,
                    O::BitXor => BinaryOp::BitXor,
                    O::LShift => BinaryOp::Shl,
                    _ => BinaryOp::Shr,
                };
                // Shifting bools is shifting ints.
                let t = if t == Scalar::Bool && matches!(bop, BinaryOp::Shl | BinaryOp::Shr) {
                    Scalar::I64
                } else {
                    t
                };
                let x = self.cast_scalar(a, sa, t);
                let y = self.cast_scalar(b, sb, t);
                return Ok(Value::V(
                    self.b.emit(Op::Binary(bop, x, y), Type::Scalar(t)),
                    Type::Scalar(t),
                ));
            }
            O::MatMult => {
                return Err(self.unsupported(
                    range,
                    "`@` (matrix multiplication) is not supported",
                    "write the loops explicitly",
                ))
            }
        };
        // `z ** k` with a small integer constant: repeated multiplication.
        if op == O::Pow && t.is_complex() && (sb.is_int() || sb == Scalar::Bool) {
            if let Some(k) = self.pow_const.take().filter(|k| (0..=64).contains(k)) {
                let z = self.cast_scalar(a, sa, t);
                let mut acc = self.num(t, 1.0);
                for _ in 0..k {
                    acc = self.complex_mul(acc, z, t);
                }
                return Ok(Value::V(acc, Type::Scalar(t)));
            }
        }
        let x = self.cast_scalar(a, sa, t);
        let y = self.cast_scalar(b, sb, t);
        let ty = Type::Scalar(t);
        if t.is_complex() {
            return self.complex_binop(op, x, y, t, range);
        }
        if python && matches!(bop, BinaryOp::Div | BinaryOp::FloorDiv | BinaryOp::Mod) {
            let z = self.zero(t);
            let is0 = self.cmp(CmpOp::Eq, y, z);
            self.raise_if(is0, "ZeroDivisionError", "division by zero", range);
        }
        // Integer powers stay integers (as in Numba): `2 ** -1 == 0`, but
        // `0 ** -1` raises as in Python.
        if python && bop == BinaryOp::Pow && t.is_int() && !t.is_unsigned_int() {
            let z = self.zero(t);
            let base0 = self.cmp(CmpOp::Eq, x, z);
            let neg = self.cmp(CmpOp::Lt, y, z);
            let both = self
                .b
                .emit(Op::Binary(BinaryOp::BitAnd, base0, neg), Type::BOOL);
            self.raise_if(
                both,
                "ZeroDivisionError",
                "0 cannot be raised to a negative power",
                range,
            );
        }
        Ok(Value::V(self.b.emit(Op::Binary(bop, x, y), ty.clone()), ty))
    }

    pub(crate) fn parts(&mut self, v: ValueId, t: Scalar) -> (ValueId, ValueId) {
        let c = Type::Scalar(t.component());
        let re = self.b.emit(Op::ComplexReal(v), c.clone());
        let im = self.b.emit(Op::ComplexImag(v), c);
        (re, im)
    }

    pub(crate) fn fbin(&mut self, op: BinaryOp, a: ValueId, b: ValueId, c: Scalar) -> ValueId {
        self.b.emit(Op::Binary(op, a, b), Type::Scalar(c))
    }

    pub(crate) fn complex_mul(&mut self, x: ValueId, y: ValueId, t: Scalar) -> ValueId {
        let c = t.component();
        let (a, b) = self.parts(x, t);
        let (cc, d) = self.parts(y, t);
        let ac = self.fbin(BinaryOp::Mul, a, cc, c);
        let bd = self.fbin(BinaryOp::Mul, b, d, c);
        let ad = self.fbin(BinaryOp::Mul, a, d, c);
        let bc = self.fbin(BinaryOp::Mul, b, cc, c);
        let re = self.fbin(BinaryOp::Sub, ac, bd, c);
        let im = self.fbin(BinaryOp::Add, ad, bc, c);
        self.b.emit(Op::ComplexNew(re, im), Type::Scalar(t))
    }

    fn complex_binop(
        &mut self,
        op: ast::Operator,
        x: ValueId,
        y: ValueId,
        t: Scalar,
        range: TextRange,
    ) -> R<Value> {
        use ast::Operator as O;
        let c = t.component();
        let ty = Type::Scalar(t);
        let v = match op {
            O::Add | O::Sub => {
                let bop = if op == O::Add { BinaryOp::Add } else { BinaryOp::Sub };
                let (a, b) = self.parts(x, t);
                let (cc, d) = self.parts(y, t);
                let re = self.fbin(bop, a, cc, c);
                let im = self.fbin(bop, b, d, c);
                self.b.emit(Op::ComplexNew(re, im), ty.clone())
            }
            O::Mult => self.complex_mul(x, y, t),
            O::Div => {
                let (a, b) = self.parts(x, t);
                let (cc, d) = self.parts(y, t);
                if self.ctx.opts.error_model == crate::ErrorModel::Python {
                    let z = self.zero(c);
                    let r0 = self.cmp(CmpOp::Eq, cc, z);
                    let i0 = self.cmp(CmpOp::Eq, d, z);
                    let both = self.b.emit(Op::Binary(BinaryOp::BitAnd, r0, i0), Type::BOOL);
                    self.raise_if(both, "ZeroDivisionError", "complex division by zero", range);
                }
                let cc2 = self.fbin(BinaryOp::Mul, cc, cc, c);
                let d2 = self.fbin(BinaryOp::Mul, d, d, c);
                let den = self.fbin(BinaryOp::Add, cc2, d2, c);
                let ac = self.fbin(BinaryOp::Mul, a, cc, c);
                let bd = self.fbin(BinaryOp::Mul, b, d, c);
                let bc = self.fbin(BinaryOp::Mul, b, cc, c);
                let ad = self.fbin(BinaryOp::Mul, a, d, c);
                let nre = self.fbin(BinaryOp::Add, ac, bd, c);
                let nim = self.fbin(BinaryOp::Sub, bc, ad, c);
                let re = self.fbin(BinaryOp::Div, nre, den, c);
                let im = self.fbin(BinaryOp::Div, nim, den, c);
                self.b.emit(Op::ComplexNew(re, im), ty.clone())
            }
            _ => {
                return Err(self.error(
                    range,
                    format!("`{}` is not supported on complex numbers", op.as_str()),
                    "use `+`, `-`, `*` and `/` on complex numbers, or `**` with a small integer constant",
                ))
            }
        };
        Ok(Value::V(v, ty))
    }

    fn unary(&mut self, u: &ast::ExprUnaryOp) -> R<Value> {
        if u.op == ast::UnaryOp::Not {
            let c = self.cond(&u.operand)?;
            return Ok(Value::V(
                self.b.emit(Op::Unary(UnaryOp::Not, c), Type::BOOL),
                Type::BOOL,
            ));
        }
        let v = self.expr(&u.operand)?;
        let Some((x, s)) = self.scalar_of(&v, u.range, &format!("unary `{}`", u.op.as_str()))?
        else {
            return Ok(Value::Unknown);
        };
        let s2 = if s == Scalar::Bool { Scalar::I64 } else { s };
        let x = self.cast_scalar(x, s, s2);
        let t = Type::Scalar(s2);
        let v = match u.op {
            ast::UnaryOp::UAdd => x,
            ast::UnaryOp::USub => {
                if s2.is_complex() {
                    let c = s2.component();
                    let (re, im) = self.parts(x, s2);
                    let nre = self.b.emit(Op::Unary(UnaryOp::Neg, re), Type::Scalar(c));
                    let nim = self.b.emit(Op::Unary(UnaryOp::Neg, im), Type::Scalar(c));
                    self.b.emit(Op::ComplexNew(nre, nim), t.clone())
                } else {
                    self.b.emit(Op::Unary(UnaryOp::Neg, x), t.clone())
                }
            }
            ast::UnaryOp::Invert => {
                if !s2.is_int() {
                    return Err(self.error(
                        u.range,
                        format!("`~` needs an integer, got `{s}`"),
                        "convert the operand with `int(...)`",
                    ));
                }
                self.b.emit(Op::Unary(UnaryOp::Invert, x), t.clone())
            }
            ast::UnaryOp::Not => unreachable_not(),
        };
        Ok(Value::V(v, t))
    }

    /// A bool-valued or temp-local short-circuit `a and b` / `a or b` giving an operand.
    fn bool_op(&mut self, bo: &ast::ExprBoolOp) -> R<Value> {
        let name = format!("$boolop{}", bo.range.start().to_usize());
        let first = self.expr(&bo.values[0])?;
        self.assign(&name, first.clone(), bo.range)?;
        self.bool_op_rest(bo, &name, first, 1)?;
        match self.temp(name.clone()) {
            Some(l) => {
                let t = self.b.local_type(l).clone();
                Ok(Value::V(self.b.emit(Op::LoadLocal(l), t.clone()), t))
            }
            None => Ok(Value::Unknown),
        }
    }

    fn bool_op_rest(&mut self, bo: &ast::ExprBoolOp, name: &str, prev: Value, k: usize) -> R<()> {
        let Some(next) = bo.values.get(k) else {
            return Ok(());
        };
        let c = self.truthy(prev, bo.values[k - 1].range())?;
        let go = if bo.op == ast::BoolOp::And {
            c
        } else {
            self.b.emit(Op::Unary(UnaryOp::Not, c), Type::BOOL)
        };
        self.b.open_block();
        let r = (|| -> R<()> {
            let v = self.expr(next)?;
            self.assign(name, v.clone(), next.range())?;
            self.bool_op_rest(bo, name, v, k + 1)
        })();
        let then_block = self.b.close_block();
        r?;
        self.b.push(IrStmt::If {
            cond: go,
            then_block,
            else_block: Default::default(),
        });
        Ok(())
    }

    fn if_expr(&mut self, i: &ast::ExprIf) -> R<Value> {
        let name = format!("$ifexp{}", i.range.start().to_usize());
        let c = self.cond(&i.test)?;
        if let Some(&k) = self.static_bools.get(&c) {
            return self.expr(if k { &i.body } else { &i.orelse });
        }
        self.b.open_block();
        let r = (|| -> R<()> {
            let v = self.expr(&i.body)?;
            self.assign(&name, v, i.body.range())
        })();
        let then_block = self.b.close_block();
        r?;
        self.b.open_block();
        let r = (|| -> R<()> {
            let v = self.expr(&i.orelse)?;
            self.assign(&name, v, i.orelse.range())
        })();
        let else_block = self.b.close_block();
        r?;
        self.b.push(IrStmt::If {
            cond: c,
            then_block,
            else_block,
        });
        match self.temp(name) {
            Some(l) => {
                let t = self.b.local_type(l).clone();
                Ok(Value::V(self.b.emit(Op::LoadLocal(l), t.clone()), t))
            }
            None => Ok(Value::Unknown),
        }
    }

    fn compare_pair(
        &mut self,
        op: ast::CmpOp,
        l: &Value,
        r: &Value,
        range: TextRange,
    ) -> R<ValueId> {
        if matches!(op, ast::CmpOp::Is | ast::CmpOp::IsNot) {
            return self.compare_is(op == ast::CmpOp::Is, l, r, range);
        }
        if let (Value::V(a, ta @ Type::Tuple(_)), Value::V(b, tb @ Type::Tuple(_)))
        | (Value::V(a, ta), Value::V(b, tb @ Type::Tuple(_)))
        | (Value::V(a, ta @ Type::Tuple(_)), Value::V(b, tb)) = (l, r)
        {
            if matches!(
                op,
                ast::CmpOp::In | ast::CmpOp::NotIn | ast::CmpOp::Is | ast::CmpOp::IsNot
            ) {
                return Err(self.unsupported(
                    range,
                    format!(
                        "`{}` on tuples is not supported in compiled code",
                        op.as_str()
                    ),
                    "compare the items one by one with `==`",
                ));
            }
            let (ta, tb) = (ta.clone(), tb.clone());
            return self.compare_tuples(op, *a, &ta, *b, &tb, range);
        }
        let cop = match op {
            ast::CmpOp::Eq => CmpOp::Eq,
            ast::CmpOp::NotEq => CmpOp::Ne,
            ast::CmpOp::Lt => CmpOp::Lt,
            ast::CmpOp::LtE => CmpOp::Le,
            ast::CmpOp::Gt => CmpOp::Gt,
            ast::CmpOp::GtE => CmpOp::Ge,
            other => {
                return Err(self.unsupported(
                    range,
                    format!("`{}` is not supported in compiled code", other.as_str()),
                    "compare numbers with `==`, `!=`, `<`, `<=`, `>`, `>=`",
                ))
            }
        };
        let what = format!("`{}`", op.as_str());
        let (Some((a, sa)), Some((b, sb))) = (
            self.scalar_of(l, range, &what)?,
            self.scalar_of(r, range, &what)?,
        ) else {
            return Ok(self.konst(Const::Bool(false), Type::BOOL));
        };
        let t = typing::compare(sa, sb);
        let x = self.cast_scalar(a, sa, t);
        let y = self.cast_scalar(b, sb, t);
        if t.is_complex() {
            if !matches!(cop, CmpOp::Eq | CmpOp::Ne) {
                return Err(self.error(
                    range,
                    "complex numbers can only be compared with `==` and `!=`",
                    "compare `abs(z)` or the real parts instead",
                ));
            }
            let (a, b) = self.parts(x, t);
            let (c, d) = self.parts(y, t);
            let re = self.cmp(cop, a, c);
            let im = self.cmp(cop, b, d);
            let join = if cop == CmpOp::Eq {
                BinaryOp::BitAnd
            } else {
                BinaryOp::BitOr
            };
            return Ok(self.b.emit(Op::Binary(join, re, im), Type::BOOL));
        }
        Ok(self.cmp(cop, x, y))
    }

    /// `a is b` / `a is not b`: defined for `None` only, and known at compile time.
    fn compare_is(&mut self, is: bool, l: &Value, r: &Value, range: TextRange) -> R<ValueId> {
        let word = if is { "is" } else { "is not" };
        let none = |v: &Value| matches!(v, Value::V(_, Type::None));
        let known = |v: &Value| matches!(v, Value::V(..));
        if !(none(l) || none(r)) {
            if !known(l) || !known(r) {
                // A type not inferred yet: decided in a later walk.
                return Ok(self.konst(Const::Bool(false), Type::BOOL));
            }
            return Err(self.unsupported(
                range,
                format!("`{word}` is only supported with `None` in compiled code"),
                format!("compare values with `==`, or test `x {word} None`"),
            ));
        }
        if !known(l) || !known(r) {
            return Ok(self.konst(Const::Bool(false), Type::BOOL));
        }
        let same = none(l) && none(r);
        let v = self.konst(Const::Bool(same == is), Type::BOOL);
        self.static_bools.insert(v, same == is);
        Ok(v)
    }

    /// `==`, `!=`, `<`, ... on tuples: item by item, as Python (the first unequal
    /// items decide; if one tuple is a prefix of the other, the shorter is smaller).
    fn compare_tuples(
        &mut self,
        op: ast::CmpOp,
        a: ValueId,
        ta: &Type,
        b: ValueId,
        tb: &Type,
        range: TextRange,
    ) -> R<ValueId> {
        let (Type::Tuple(ia), Type::Tuple(ib)) = (ta, tb) else {
            // A tuple against a number: never equal, and not ordered.
            return match op {
                ast::CmpOp::Eq | ast::CmpOp::NotEq => {
                    Ok(self.konst(Const::Bool(op == ast::CmpOp::NotEq), Type::BOOL))
                }
                _ => Err(self.error(
                    range,
                    format!(
                        "`{}` is not defined between {} and {}",
                        op.as_str(),
                        describe(ta),
                        describe(tb)
                    ),
                    "compare a tuple with a tuple, or a number with a number",
                )),
            };
        };
        let (na, nb) = (ia.len(), ib.len());
        let n = na.min(nb);
        let mut items = vec![];
        for k in 0..n {
            let x = Value::V(
                self.b.emit(Op::TupleGet(a, k as u32), ia[k].clone()),
                ia[k].clone(),
            );
            let y = Value::V(
                self.b.emit(Op::TupleGet(b, k as u32), ib[k].clone()),
                ib[k].clone(),
            );
            items.push((x, y));
        }
        let is_eq = matches!(op, ast::CmpOp::Eq | ast::CmpOp::NotEq);
        if is_eq && na != nb {
            return Ok(self.konst(Const::Bool(op == ast::CmpOp::NotEq), Type::BOOL));
        }
        // Without unequal items, the lengths decide.
        let by_len = match op {
            ast::CmpOp::Eq => true,
            ast::CmpOp::NotEq => false,
            ast::CmpOp::Lt => na < nb,
            ast::CmpOp::LtE => na <= nb,
            ast::CmpOp::Gt => na > nb,
            _ => na >= nb,
        };
        let mut acc = self.konst(Const::Bool(by_len), Type::BOOL);
        for (x, y) in items.into_iter().rev() {
            let eq = self.compare_pair(ast::CmpOp::Eq, &x, &y, range)?;
            let here = if is_eq {
                eq
            } else {
                self.compare_pair(op, &x, &y, range)?
            };
            if is_eq {
                acc = if op == ast::CmpOp::Eq {
                    self.b
                        .emit(Op::Binary(BinaryOp::BitAnd, eq, acc), Type::BOOL)
                } else {
                    let ne = self.b.emit(Op::Unary(UnaryOp::Not, eq), Type::BOOL);
                    self.b
                        .emit(Op::Binary(BinaryOp::BitOr, ne, acc), Type::BOOL)
                };
            } else {
                acc = self.b.emit(Op::Select(eq, acc, here), Type::BOOL);
            }
        }
        Ok(acc)
    }

    /// `a < b < c`: each middle operand is evaluated once, and later ones only while true.
    fn compare(&mut self, c: &ast::ExprCompare) -> R<ValueId> {
        let left = self.expr(&c.left)?;
        if c.ops.len() == 1 {
            let right = self.expr(&c.comparators[0])?;
            let unknown = matches!(left, Value::Unknown) || matches!(right, Value::Unknown);
            let v = self.compare_pair(c.ops[0], &left, &right, c.range)?;
            let _ = unknown;
            return Ok(v);
        }
        let name = format!("$cmp{}", c.range.start().to_usize());
        let l = match self.temp(name.clone()) {
            Some(l) => l,
            None => {
                let l = self.b.add_local(name.clone(), Type::BOOL);
                self.locals_insert(name, l);
                l
            }
        };
        let right = self.expr(&c.comparators[0])?;
        let first = self.compare_pair(c.ops[0], &left, &right, c.range)?;
        self.b.push(IrStmt::Store {
            local: l,
            value: first,
        });
        self.chain(c, l, right, first, 1)?;
        Ok(self.b.emit(Op::LoadLocal(l), Type::BOOL))
    }

    fn chain(
        &mut self,
        c: &ast::ExprCompare,
        l: hypersonic_ir::LocalId,
        prev: Value,
        ok: ValueId,
        k: usize,
    ) -> R<()> {
        if k >= c.ops.len() {
            return Ok(());
        }
        self.b.open_block();
        let r = (|| -> R<()> {
            let right = self.expr(&c.comparators[k])?;
            let v = self.compare_pair(c.ops[k], &prev, &right, c.range)?;
            self.b.push(IrStmt::Store { local: l, value: v });
            self.chain(c, l, right, v, k + 1)
        })();
        let then_block = self.b.close_block();
        r?;
        self.b.push(IrStmt::If {
            cond: ok,
            then_block,
            else_block: Default::default(),
        });
        Ok(())
    }

    fn subscript(&mut self, s: &ast::ExprSubscript) -> R<Value> {
        let base = self.expr(&s.value)?;
        match base {
            Value::Unknown => {
                if let ast::Expr::Tuple(t) = &*s.slice {
                    for e in &t.elts {
                        self.expr(e)?;
                    }
                } else {
                    self.expr(&s.slice)?;
                }
                Ok(Value::Unknown)
            }
            Value::V(a, ty @ Type::Array { .. }) => {
                let Type::Array { dtype, ndim, .. } = ty.clone() else {
                    return Ok(Value::Unknown);
                };
                let Some(idx) = self.array_indices(a, &ty, &s.slice, false)? else {
                    return Ok(Value::Unknown);
                };
                if idx.len() == ndim as usize {
                    let t = Type::Scalar(dtype);
                    Ok(Value::V(self.b.emit(Op::ArrayLoad(a, idx), t.clone()), t))
                } else {
                    let Some(t) = ty.view(idx.len()) else {
                        return Ok(Value::Unknown);
                    };
                    Ok(Value::V(self.b.emit(Op::SubArray(a, idx), t.clone()), t))
                }
            }
            Value::V(t, Type::Tuple(items)) => {
                if let ast::Expr::Slice(sl) = &*s.slice {
                    return Err(self.unsupported(
                        sl.range,
                        "slicing tuples is not supported",
                        "index the items one by one",
                    ));
                }
                let n = items.len() as i64;
                if let Some(k) = const_int(&s.slice) {
                    let k2 = if k < 0 { k + n } else { k };
                    if k2 < 0 || k2 >= n {
                        return Err(self.error(
                            s.slice.range(),
                            format!("tuple index {k} is out of range for a tuple of {n} items"),
                            format!("use an index from {} to {}", -n, n - 1),
                        ));
                    }
                    let ty = items[k2 as usize].clone();
                    return Ok(Value::V(
                        self.b.emit(Op::TupleGet(t, k2 as u32), ty.clone()),
                        ty,
                    ));
                }
                let iv = self.expr(&s.slice)?;
                let Some(i) = self.int_arg(iv, s.slice.range(), "a tuple index")? else {
                    return Ok(Value::Unknown);
                };
                if items.is_empty() {
                    return Err(self.error(
                        s.range,
                        "indexing an empty tuple",
                        "an empty tuple has no items: remove the index or make the tuple non-empty",
                    ));
                }
                let tupty = Type::Tuple(items.clone());
                let mut u = items[0].clone();
                for it in &items {
                    u = unify(&u, it).ok_or_else(|| {
                        self.error(
                            s.slice.range(),
                            format!(
                                "{} has items of different kinds, so it needs a constant index",
                                describe(&tupty)
                            ),
                            "index it with an integer literal, e.g. `t[0]`",
                        )
                    })?;
                }
                let uni = Type::Tuple(vec![u.clone(); items.len()]);
                let t = self.cast(t, &tupty, &uni).ok_or_else(|| {
                    self.error(
                        s.range,
                        "cannot index this tuple at run time",
                        "index it with an integer literal, e.g. `t[0]`",
                    )
                })?;
                let dim = self.int(n);
                let z = self.int(0);
                let neg = self.cmp(CmpOp::Lt, i, z);
                let w = self.b.emit(Op::Binary(BinaryOp::Add, i, dim), Type::I64);
                let i = self.b.emit(Op::Select(neg, w, i), Type::I64);
                self.bounds_check(i, dim, s.range);
                Ok(Value::V(self.b.emit(Op::TupleIndex(t, i), u.clone()), u))
            }
            Value::V(_, t) => Err(self.error(
                s.value.range(),
                format!("{} cannot be indexed", describe(&t)),
                "index a NumPy array or a tuple, e.g. `a[i]`; a number has no items",
            )),
            _ => Err(self.error(
                s.value.range(),
                "this value cannot be indexed",
                "index a NumPy array or a tuple, e.g. `a[i]`",
            )),
        }
    }

    fn attribute(&mut self, a: &ast::ExprAttribute) -> R<Value> {
        let base = self.expr(&a.value)?;
        let attr = a.attr.id.as_str();
        match base {
            Value::Unknown => Ok(Value::Unknown),
            Value::Module(m) => {
                let pyname = match m.as_str() {
                    "np" => "numpy",
                    other => other,
                };
                let c = match attr {
                    "pi" => Some(std::f64::consts::PI),
                    "e" => Some(std::f64::consts::E),
                    "tau" => Some(std::f64::consts::TAU),
                    "inf" => Some(f64::INFINITY),
                    "nan" => Some(f64::NAN),
                    _ => None,
                };
                if let (Some(c), "math" | "numpy" | "cmath") = (c, pyname) {
                    return Ok(Value::V(self.konst(Const::Float(c), Type::F64), Type::F64));
                }
                let q = format!("{pyname}.{attr}");
                if let Some(p) = crate::cuda::cuda_path(&q) {
                    return self.cuda_ref(p, a.range);
                }
                Ok(Value::Builtin(q))
            }
            Value::V(v, Type::Array { dtype, ndim, .. }) => match attr {
                "shape" | "strides" => {
                    let mut items = vec![];
                    for k in 0..ndim {
                        items.push(if attr == "shape" {
                            self.b.emit(Op::ArrayDim(v, k), Type::I64)
                        } else {
                            self.b.emit(Op::ArrayStride(v, k), Type::I64)
                        });
                    }
                    let t = Type::Tuple(vec![Type::I64; ndim as usize]);
                    Ok(Value::V(self.b.emit(Op::MakeTuple(items), t.clone()), t))
                }
                "ndim" => Ok(Value::V(self.int(ndim as i64), Type::I64)),
                "size" => {
                    let mut acc = self.int(1);
                    for k in 0..ndim {
                        let d = self.b.emit(Op::ArrayDim(v, k), Type::I64);
                        acc = self.b.emit(Op::Binary(BinaryOp::Mul, acc, d), Type::I64);
                    }
                    Ok(Value::V(acc, Type::I64))
                }
                "itemsize" => Ok(Value::V(self.int(dtype.size() as i64), Type::I64)),
                _ => Err(self.unsupported(
                    a.attr.range,
                    format!("array attribute `{attr}` is not supported"),
                    "use `shape`, `ndim`, `size`, `strides` or `itemsize`",
                )),
            },
            Value::V(v, Type::Scalar(s)) => match attr {
                "real" | "imag" if s.is_complex() => {
                    let c = Type::Scalar(s.component());
                    let op = if attr == "real" {
                        Op::ComplexReal(v)
                    } else {
                        Op::ComplexImag(v)
                    };
                    Ok(Value::V(self.b.emit(op, c.clone()), c))
                }
                "real" => Ok(Value::V(v, Type::Scalar(s))),
                "imag" => Ok(Value::V(self.zero(s), Type::Scalar(s))),
                _ => Err(self.error(
                    a.attr.range,
                    format!("`{s}` has no attribute `{attr}` in compiled code"),
                    "numbers support `.real`, `.imag` and `.conjugate()`",
                )),
            },
            Value::V(_, t) => Err(self.error(
                a.attr.range,
                format!("{} has no attribute `{attr}`", describe(&t)),
                "remove the attribute access",
            )),
            Value::Builtin(b) => {
                let q = format!("{b}.{attr}");
                if let Some(p) = crate::cuda::cuda_path(&q) {
                    return self.cuda_ref(p, a.range);
                }
                Ok(Value::Builtin(q))
            }
            _ => Err(self.unsupported(
                a.attr.range,
                format!("attribute `{attr}` is not supported here"),
                "use module functions and constants such as `math.sin` or `np.pi`",
            )),
        }
    }
}

fn unreachable_not() -> ValueId {
    ValueId(u32::MAX)
}
