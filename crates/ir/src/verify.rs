//! Checks the invariants backends rely on: values are defined before use in an
//! enclosing scope, each value is defined once, operand types fit their operation,
//! `break`/`continue` sit inside a loop, and returns match the signature.

use std::collections::HashSet;

use crate::gpu::{BitFn, Space, Vote};
use crate::ops::*;
use crate::types::{Scalar, Type};

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("IR verification failed in `{function}`: {message}")]
pub struct VerifyError {
    pub function: String,
    pub message: String,
}

pub fn verify_module(m: &Module) -> Result<(), VerifyError> {
    if m.entry.0 as usize >= m.functions.len() {
        return Err(VerifyError {
            function: "<module>".into(),
            message: format!("entry @{} does not exist", m.entry.0),
        });
    }
    for f in &m.functions {
        verify_function(m, f)?;
    }
    Ok(())
}

pub fn verify_function(m: &Module, f: &Function) -> Result<(), VerifyError> {
    let mut v = Verifier {
        m,
        f,
        defined: HashSet::new(),
        scopes: vec![Vec::new()],
        loop_depth: 0,
    };
    v.block(&f.body).map_err(|message| VerifyError {
        function: f.name.clone(),
        message,
    })
}

struct Verifier<'a> {
    m: &'a Module,
    f: &'a Function,
    /// Every value defined so far, to catch double definitions.
    defined: HashSet<ValueId>,
    /// Values visible in each open scope.
    scopes: Vec<Vec<ValueId>>,
    loop_depth: usize,
}

type Res = Result<(), String>;

impl Verifier<'_> {
    fn ty(&self, v: ValueId) -> &Type {
        self.f.value_type(v)
    }

    fn visible(&self, v: ValueId) -> Res {
        if self.scopes.iter().any(|s| s.contains(&v)) {
            Ok(())
        } else {
            Err(format!("v{} is used where it is not defined", v.0))
        }
    }

    fn nested(&mut self, b: &Block) -> Res {
        self.scopes.push(Vec::new());
        let r = self.block(b);
        self.scopes.pop();
        r
    }

    fn block(&mut self, b: &Block) -> Res {
        for s in &b.stmts {
            self.stmt(s)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &Stmt) -> Res {
        match s {
            Stmt::Let { value, op, .. } => {
                if value.0 as usize >= self.f.values.len() {
                    return Err(format!("v{} has no type", value.0));
                }
                for o in op.operands() {
                    self.visible(o)?;
                }
                self.op(*value, op)?;
                if !self.defined.insert(*value) {
                    return Err(format!("v{} is defined twice", value.0));
                }
                self.scopes.last_mut().unwrap().push(*value);
            }
            Stmt::Store { local, value } => {
                self.visible(*value)?;
                let lt = &self.f.local(*local).ty;
                if lt != self.ty(*value) {
                    return Err(format!(
                        "store of {} into local %{} of type {lt}",
                        self.ty(*value),
                        local.0
                    ));
                }
            }
            Stmt::ArrayStore {
                array,
                indices,
                value,
                ..
            } => {
                self.visible(*array)?;
                self.visible(*value)?;
                for i in indices {
                    self.visible(*i)?;
                }
                self.array_access(*array, indices)?;
                if let Type::Array { dtype, .. } = self.ty(*array) {
                    if self.ty(*value) != &Type::Scalar(*dtype) {
                        return Err(format!(
                            "store of {} into array of {dtype}",
                            self.ty(*value)
                        ));
                    }
                }
            }
            Stmt::If {
                cond,
                then_block,
                else_block,
            } => {
                self.visible(*cond)?;
                self.expect(*cond, &Type::BOOL, "if condition")?;
                self.nested(then_block)?;
                self.nested(else_block)?;
            }
            Stmt::Loop { body } => {
                self.loop_depth += 1;
                let r = self.nested(body);
                self.loop_depth -= 1;
                r?;
            }
            Stmt::Break | Stmt::Continue => {
                if self.loop_depth == 0 {
                    return Err("break or continue outside a loop".into());
                }
            }
            Stmt::Return { value } => match value {
                Some(x) => {
                    self.visible(*x)?;
                    self.expect(*x, &self.f.ret.clone(), "return value")?;
                }
                None => {
                    if self.f.ret != Type::None {
                        return Err(format!(
                            "return without a value from a function returning {}",
                            self.f.ret
                        ));
                    }
                }
            },
            Stmt::Raise { exc, .. } => {
                if exc.0 as usize >= self.m.exceptions.len() {
                    return Err(format!("raise of unknown exception #{}", exc.0));
                }
            }
            Stmt::Barrier { .. } | Stmt::Fence(_) => {}
            Stmt::SyncWarp { mask, .. } => {
                self.visible(*mask)?;
                self.expect(*mask, &Type::Scalar(Scalar::U32), "warp mask")?;
            }
        }
        Ok(())
    }

    fn expect(&self, v: ValueId, want: &Type, what: &str) -> Res {
        if self.ty(v) == want {
            Ok(())
        } else {
            Err(format!(
                "{what} v{} is {}, expected {want}",
                v.0,
                self.ty(v)
            ))
        }
    }

    fn result_is(&self, rt: &Type, want: &Type) -> Res {
        if rt == want {
            Ok(())
        } else {
            Err(format!("result is {rt}, expected {want}"))
        }
    }

    fn element(&self, array: ValueId) -> Result<Type, String> {
        match self.ty(array) {
            Type::Array { dtype, .. } => Ok(Type::Scalar(*dtype)),
            t => Err(format!("{t} is not an array")),
        }
    }

    /// The result of an allocation op: a C-layout array of `shape` in `space`.
    fn allocation(&self, rt: &Type, dtype: Scalar, shape: &[i64], space: Space) -> Res {
        if shape.is_empty() || shape.iter().any(|&n| n < 0) {
            return Err(format!("bad array shape {shape:?}"));
        }
        self.result_is(
            rt,
            &Type::Array {
                dtype,
                ndim: shape.len() as u8,
                layout: crate::types::Layout::C,
                space,
            },
        )
    }

    fn scalar(&self, v: ValueId) -> Result<Scalar, String> {
        self.ty(v)
            .scalar()
            .ok_or_else(|| format!("v{} is {}, expected a scalar", v.0, self.ty(v)))
    }

    fn array_access(&self, array: ValueId, indices: &[ValueId]) -> Res {
        self.array_prefix(array, indices, false)
    }

    /// `partial`: indices fix fewer axes than the array has (a view).
    fn array_prefix(&self, array: ValueId, indices: &[ValueId], partial: bool) -> Res {
        match self.ty(array) {
            Type::Array { ndim, .. } if !partial && *ndim as usize == indices.len() => {}
            Type::Array { ndim, .. } if partial && (*ndim as usize) > indices.len() => {}
            t => return Err(format!("indexing {t} with {} indices", indices.len())),
        }
        for i in indices {
            self.expect(*i, &Type::I64, "index")?;
        }
        Ok(())
    }

    fn op(&self, result: ValueId, op: &Op) -> Res {
        let rt = self.ty(result).clone();
        match op {
            Op::Param(i) => {
                let p = self.f.params.get(*i as usize).ok_or("no such parameter")?;
                if *p != rt {
                    return Err(format!("param {i} is {p}, value says {rt}"));
                }
            }
            Op::Const(_) | Op::LoadLocal(_) => {
                if let Op::LoadLocal(l) = op {
                    if self.f.local(*l).ty != rt {
                        return Err(format!("load of local %{} with the wrong type", l.0));
                    }
                }
            }
            Op::Unary(o, a) => {
                let s = self.scalar(*a)?;
                let ok = match o {
                    UnaryOp::Not => s == Scalar::Bool,
                    UnaryOp::Invert => s.is_int() || s == Scalar::Bool,
                    UnaryOp::Neg => s != Scalar::Bool,
                    UnaryOp::Abs => s.is_int() || s.is_float(),
                };
                if !ok || rt != Type::Scalar(s) {
                    return Err(format!("{o:?} on {s} giving {rt}"));
                }
            }
            Op::Binary(o, a, b) => {
                let (sa, sb) = (self.scalar(*a)?, self.scalar(*b)?);
                if sa != sb || rt != Type::Scalar(sa) {
                    return Err(format!("{o:?} on {sa} and {sb} giving {rt}"));
                }
                if *o == BinaryOp::Div && !(sa.is_float() || sa.is_complex()) {
                    return Err(format!("true division on {sa}"));
                }
            }
            Op::Compare(_, a, b) => {
                let (sa, sb) = (self.scalar(*a)?, self.scalar(*b)?);
                if sa != sb || rt != Type::BOOL {
                    return Err(format!("comparison of {sa} and {sb} giving {rt}"));
                }
            }
            Op::Cast(a) => {
                self.scalar(*a)?;
                if !rt.is_scalar() {
                    return Err(format!("cast to {rt}"));
                }
            }
            Op::Bitcast(a) => {
                let s = self.scalar(*a)?;
                match rt.scalar() {
                    Some(r)
                        if r.size() == s.size()
                            && !r.is_complex()
                            && !s.is_complex()
                            && r != Scalar::Bool
                            && s != Scalar::Bool => {}
                    _ => return Err(format!("bitcast of {s} to {rt}")),
                }
            }
            Op::Select(c, a, b) => {
                self.expect(*c, &Type::BOOL, "select condition")?;
                if self.ty(*a) != &rt || self.ty(*b) != &rt {
                    return Err("select operands differ from its type".into());
                }
            }
            Op::Math(m, args) => {
                if args.len() != m.arity() {
                    return Err(format!("{m:?} takes {} operands", m.arity()));
                }
                let s = self.scalar(args[0])?;
                if !s.is_float() {
                    return Err(format!("{m:?} on {s}"));
                }
                let want = if m.is_predicate() {
                    Type::BOOL
                } else {
                    Type::Scalar(s)
                };
                if rt != want {
                    return Err(format!("{m:?} giving {rt}"));
                }
            }
            Op::Call(fid, args) => {
                let callee = self
                    .m
                    .functions
                    .get(fid.0 as usize)
                    .ok_or_else(|| format!("call of unknown function @{}", fid.0))?;
                let tys: Vec<Type> = args.iter().map(|a| self.ty(*a).clone()).collect();
                if tys != callee.params || rt != callee.ret {
                    return Err(format!("call of `{}` with mismatched types", callee.name));
                }
            }
            Op::ArrayDim(a, k) | Op::ArrayStride(a, k) => match self.ty(*a) {
                Type::Array { ndim, .. } if k < ndim && rt == Type::I64 => {}
                t => return Err(format!("axis {k} of {t}")),
            },
            Op::ArrayLoad(a, idx) => {
                self.array_access(*a, idx)?;
                if let Type::Array { dtype, .. } = self.ty(*a) {
                    if rt != Type::Scalar(*dtype) {
                        return Err(format!("load from array of {dtype} giving {rt}"));
                    }
                }
            }
            Op::SubArray(a, idx) => {
                self.array_prefix(*a, idx, true)?;
                if self.ty(*a).view(idx.len()).as_ref() != Some(&rt) {
                    return Err(format!("view of {} giving {rt}", self.ty(*a)));
                }
            }
            Op::MakeTuple(items) => {
                let tys: Vec<Type> = items.iter().map(|a| self.ty(*a).clone()).collect();
                if rt != Type::Tuple(tys) {
                    return Err("tuple type differs from its items".into());
                }
            }
            Op::TupleGet(t, i) => match self.ty(*t) {
                Type::Tuple(items) if items.get(*i as usize) == Some(&rt) => {}
                t => return Err(format!("item {i} of {t} giving {rt}")),
            },
            Op::TupleIndex(t, i) => {
                self.expect(*i, &Type::I64, "tuple index")?;
                match self.ty(*t) {
                    Type::Tuple(items) if items.iter().all(|x| *x == rt) => {}
                    t => return Err(format!("dynamic index into {t}")),
                }
            }
            Op::ComplexNew(a, b) => {
                let (sa, sb) = (self.scalar(*a)?, self.scalar(*b)?);
                match rt.scalar() {
                    Some(c) if c.is_complex() && c.component() == sa && sa == sb => {}
                    _ => return Err(format!("complex from {sa} and {sb} giving {rt}")),
                }
            }
            Op::Geometry(..) | Op::LaneId => self.result_is(&rt, &Type::Scalar(Scalar::I32))?,
            Op::SharedArray {
                dtype,
                shape,
                dynamic,
            } => {
                if *dynamic && shape.len() != 1 {
                    return Err("a dynamic shared array is 1-D".into());
                }
                self.allocation(&rt, *dtype, shape, Space::Shared)?
            }
            Op::LocalArray { dtype, shape } => self.allocation(&rt, *dtype, shape, Space::Local)?,
            Op::ConstArray { dtype, shape, data } => {
                self.allocation(&rt, *dtype, shape, Space::Constant)?;
                let n: i64 = shape.iter().product();
                if data.len() as i64 != n * dtype.size() as i64 {
                    return Err("constant array data does not match its shape".into());
                }
            }
            Op::Atomic {
                array,
                indices,
                value,
                ..
            } => {
                self.array_access(*array, indices)?;
                let elem = self.element(*array)?;
                self.expect(*value, &elem, "atomic operand")?;
                self.result_is(&rt, &elem)?;
            }
            Op::AtomicCas {
                array,
                indices,
                expected,
                desired,
            } => {
                self.array_access(*array, indices)?;
                let elem = self.element(*array)?;
                self.expect(*expected, &elem, "expected value")?;
                self.expect(*desired, &elem, "desired value")?;
                self.result_is(&rt, &elem)?;
            }
            Op::WarpShuffle {
                mask,
                value,
                lane,
                width,
                ..
            } => {
                self.expect(*mask, &Type::Scalar(Scalar::U32), "warp mask")?;
                self.expect(*lane, &Type::Scalar(Scalar::I32), "shuffle lane")?;
                self.expect(*width, &Type::Scalar(Scalar::I32), "shuffle width")?;
                let s = self.scalar(*value)?;
                if s.size() != 4 && s.size() != 8 || s.is_complex() {
                    return Err(format!("shuffle of {s}"));
                }
                self.result_is(&rt, self.ty(*value))?;
            }
            Op::WarpVote { kind, mask, pred } => {
                self.expect(*mask, &Type::Scalar(Scalar::U32), "warp mask")?;
                self.expect(*pred, &Type::BOOL, "vote predicate")?;
                let want = if *kind == Vote::Ballot {
                    Type::Scalar(Scalar::U32)
                } else {
                    Type::BOOL
                };
                self.result_is(&rt, &want)?;
            }
            Op::BarrierReduce(_, pred) => {
                self.expect(*pred, &Type::BOOL, "barrier predicate")?;
                self.result_is(&rt, &Type::Scalar(Scalar::I32))?;
            }
            Op::Bit(f, a) => {
                let s = self.scalar(*a)?;
                if !s.is_int() || s.size() < 4 {
                    return Err(format!("{f:?} on {s}"));
                }
                let want = if *f == BitFn::Brev {
                    Type::Scalar(s)
                } else {
                    Type::Scalar(Scalar::I32)
                };
                self.result_is(&rt, &want)?;
            }
            Op::ComplexReal(a) | Op::ComplexImag(a) => {
                let s = self.scalar(*a)?;
                if !s.is_complex() || rt != Type::Scalar(s.component()) {
                    return Err(format!("component of {s} giving {rt}"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::FunctionBuilder;

    fn module(f: Function) -> Module {
        Module {
            functions: vec![f],
            entry: FuncId(0),
            exceptions: vec![],
        }
    }

    #[test]
    fn accepts_a_simple_function() {
        let mut b = FunctionBuilder::new("add", vec![Type::I64, Type::I64], Type::I64);
        let x = b.emit(Op::Param(0), Type::I64);
        let y = b.emit(Op::Param(1), Type::I64);
        let s = b.emit(Op::Binary(BinaryOp::Add, x, y), Type::I64);
        b.push(Stmt::Return { value: Some(s) });
        assert_eq!(verify_module(&module(b.finish())), Ok(()));
    }

    #[test]
    fn rejects_mixed_operand_types() {
        let mut b = FunctionBuilder::new("bad", vec![Type::I64, Type::F64], Type::I64);
        let x = b.emit(Op::Param(0), Type::I64);
        let y = b.emit(Op::Param(1), Type::F64);
        let s = b.emit(Op::Binary(BinaryOp::Add, x, y), Type::I64);
        b.push(Stmt::Return { value: Some(s) });
        let err = verify_module(&module(b.finish())).unwrap_err();
        assert!(err.message.contains("Add on int64 and float64"), "{err}");
    }

    #[test]
    fn rejects_a_value_used_outside_its_block() {
        let mut b = FunctionBuilder::new("scope", vec![Type::BOOL], Type::I64);
        let c = b.emit(Op::Param(0), Type::BOOL);
        b.open_block();
        let one = b.emit(Op::Const(Const::Int(1)), Type::I64);
        let then_block = b.close_block();
        b.push(Stmt::If {
            cond: c,
            then_block,
            else_block: Block::default(),
        });
        b.push(Stmt::Return { value: Some(one) });
        let err = verify_module(&module(b.finish())).unwrap_err();
        assert!(err.message.contains("not defined"), "{err}");
    }

    #[test]
    fn rejects_break_outside_a_loop() {
        let mut b = FunctionBuilder::new("brk", vec![], Type::None);
        b.push(Stmt::Break);
        assert!(verify_module(&module(b.finish())).is_err());
    }
}
