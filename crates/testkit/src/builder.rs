//! [`K`]: a thin layer over [`FunctionBuilder`] for writing kernels by hand.

use hypersonic_ir::builder::FunctionBuilder;
use hypersonic_ir::*;

use crate::{I32, U32};

/// A kernel (or device function) under construction: its parameters, the
/// exceptions it may raise, and the other functions of its module.
pub struct K {
    pub b: FunctionBuilder,
    pub params: Vec<Type>,
    pub exceptions: Vec<Exception>,
    /// Functions after the entry: `Op::Call(FuncId(1), ..)` calls the first.
    pub extra: Vec<Function>,
}

impl K {
    /// A kernel (returning `None`) named `name`.
    pub fn new(name: &str, params: Vec<Type>) -> K {
        K::func(name, params, Type::None)
    }
    /// A device function returning `ret`.
    pub fn func(name: &str, params: Vec<Type>, ret: Type) -> K {
        K {
            b: FunctionBuilder::new(name, params.clone(), ret),
            params,
            exceptions: vec![],
            extra: vec![],
        }
    }
    pub fn e(&mut self, op: Op, t: Type) -> ValueId {
        self.b.emit(op, t)
    }
    pub fn ty(&self, v: ValueId) -> Type {
        self.b.value_type(v).clone()
    }
    /// Parameter `i`, typed as declared.
    pub fn param(&mut self, i: u32) -> ValueId {
        let t = self.params[i as usize].clone();
        self.e(Op::Param(i), t)
    }
    /// Every parameter, in order.
    pub fn params(&mut self) -> Vec<ValueId> {
        (0..self.params.len() as u32)
            .map(|i| self.param(i))
            .collect()
    }
    pub fn int(&mut self, s: Scalar, v: i64) -> ValueId {
        self.e(Op::Const(Const::Int(v)), Type::Scalar(s))
    }
    pub fn i64(&mut self, v: i64) -> ValueId {
        self.int(Scalar::I64, v)
    }
    pub fn i32(&mut self, v: i64) -> ValueId {
        self.int(Scalar::I32, v)
    }
    pub fn u32(&mut self, v: u32) -> ValueId {
        self.int(Scalar::U32, v as i64)
    }
    pub fn float(&mut self, s: Scalar, v: f64) -> ValueId {
        self.e(Op::Const(Const::Float(v)), Type::Scalar(s))
    }
    pub fn f64(&mut self, v: f64) -> ValueId {
        self.float(Scalar::F64, v)
    }
    pub fn bool(&mut self, v: bool) -> ValueId {
        self.e(Op::Const(Const::Bool(v)), Type::BOOL)
    }
    /// The constant `v` of `s`: a float for float types, else an integer.
    pub fn num(&mut self, s: Scalar, v: i64) -> ValueId {
        if s.is_float() {
            self.float(s, v as f64)
        } else {
            self.int(s, v)
        }
    }
    pub fn bin(&mut self, o: BinaryOp, a: ValueId, b: ValueId) -> ValueId {
        let t = self.ty(a);
        self.e(Op::Binary(o, a, b), t)
    }
    pub fn un(&mut self, o: UnaryOp, a: ValueId) -> ValueId {
        let t = if o == UnaryOp::Not {
            Type::BOOL
        } else {
            self.ty(a)
        };
        self.e(Op::Unary(o, a), t)
    }
    pub fn cmp(&mut self, o: CmpOp, a: ValueId, b: ValueId) -> ValueId {
        self.e(Op::Compare(o, a, b), Type::BOOL)
    }
    pub fn and(&mut self, a: ValueId, b: ValueId) -> ValueId {
        self.bin(BinaryOp::BitAnd, a, b)
    }
    pub fn cast(&mut self, a: ValueId, s: Scalar) -> ValueId {
        self.e(Op::Cast(a), Type::Scalar(s))
    }
    pub fn math(&mut self, f: MathFn, args: Vec<ValueId>) -> ValueId {
        let t = if f.is_predicate() {
            Type::BOOL
        } else {
            self.ty(args[0])
        };
        self.e(Op::Math(f, args), t)
    }
    /// `threadIdx`, `blockIdx`, `blockDim` or `gridDim` along `a` (int32).
    pub fn geo(&mut self, g: Geometry, a: Axis) -> ValueId {
        self.e(Op::Geometry(g, a), I32)
    }
    /// `threadIdx.x` as an int64.
    pub fn tid(&mut self) -> ValueId {
        let t = self.geo(Geometry::ThreadIdx, Axis::X);
        self.cast(t, Scalar::I64)
    }
    /// `cuda.grid(1)`: `blockIdx.x * blockDim.x + threadIdx.x` as an int64.
    pub fn grid1(&mut self) -> ValueId {
        let bi = self.geo(Geometry::BlockIdx, Axis::X);
        let bd = self.geo(Geometry::BlockDim, Axis::X);
        let t = self.geo(Geometry::ThreadIdx, Axis::X);
        let m = self.bin(BinaryOp::Mul, bi, bd);
        let s = self.bin(BinaryOp::Add, m, t);
        self.cast(s, Scalar::I64)
    }
    /// `a.shape[d]`.
    pub fn dim(&mut self, a: ValueId, d: u8) -> ValueId {
        self.e(Op::ArrayDim(a, d), Type::I64)
    }
    /// `len(a)`.
    pub fn len(&mut self, a: ValueId) -> ValueId {
        self.dim(a, 0)
    }
    /// The dtype of the array `a`.
    pub fn dtype(&self, a: ValueId) -> Scalar {
        match self.ty(a) {
            Type::Array { dtype, .. } => dtype,
            t => panic!("{t} is not an array"),
        }
    }
    pub fn load(&mut self, a: ValueId, idx: &[ValueId]) -> ValueId {
        let d = self.dtype(a);
        self.e(Op::ArrayLoad(a, idx.to_vec()), Type::Scalar(d))
    }
    pub fn store(&mut self, a: ValueId, idx: &[ValueId], v: ValueId) {
        self.b.push(Stmt::ArrayStore {
            array: a,
            indices: idx.to_vec(),
            value: v,
            loc: Loc::default(),
        });
    }
    /// `cuda.shared.array(shape, dtype)` (`dynamic`: `shape == [0]`, sized at launch).
    pub fn shared(&mut self, dtype: Scalar, shape: &[i64], dynamic: bool) -> ValueId {
        self.e(
            Op::SharedArray {
                dtype,
                shape: shape.to_vec(),
                dynamic,
            },
            Type::Array {
                dtype,
                ndim: shape.len() as u8,
                layout: Layout::C,
                space: Space::Shared,
            },
        )
    }
    /// `cuda.local.array(shape, dtype)`.
    pub fn local_array(&mut self, dtype: Scalar, shape: &[i64]) -> ValueId {
        self.e(
            Op::LocalArray {
                dtype,
                shape: shape.to_vec(),
            },
            Type::Array {
                dtype,
                ndim: shape.len() as u8,
                layout: Layout::C,
                space: Space::Local,
            },
        )
    }
    /// `cuda.const.array_like(...)` of float64 values.
    pub fn const_f64(&mut self, values: &[f64]) -> ValueId {
        let data = values.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.const_array(Scalar::F64, &[values.len() as i64], data)
    }
    /// A constant array of `dtype` from its little-endian bytes.
    pub fn const_array(&mut self, dtype: Scalar, shape: &[i64], data: Vec<u8>) -> ValueId {
        self.e(
            Op::ConstArray {
                dtype,
                shape: shape.to_vec(),
                data,
            },
            Type::Array {
                dtype,
                ndim: shape.len() as u8,
                layout: Layout::C,
                space: Space::Constant,
            },
        )
    }
    /// `op(a[i], v)` atomically; the old value.
    pub fn atomic(&mut self, op: AtomicOp, a: ValueId, i: ValueId, v: ValueId) -> ValueId {
        let d = self.dtype(a);
        self.e(
            Op::Atomic {
                op,
                array: a,
                indices: vec![i],
                value: v,
            },
            Type::Scalar(d),
        )
    }
    /// A warp shuffle of `v` over all 32 lanes' mask in segments of `width`.
    pub fn shfl(&mut self, kind: Shuffle, v: ValueId, lane: ValueId, width: i64) -> ValueId {
        let mask = self.u32(u32::MAX);
        let w = self.i32(width);
        let t = self.ty(v);
        self.e(
            Op::WarpShuffle {
                kind,
                mask,
                value: v,
                lane,
                width: w,
            },
            t,
        )
    }
    /// A warp vote over the full mask: a `uint32` ballot, else a bool.
    pub fn vote(&mut self, kind: Vote, p: ValueId) -> ValueId {
        let mask = self.u32(u32::MAX);
        let t = if kind == Vote::Ballot {
            U32
        } else {
            Type::BOOL
        };
        self.e(
            Op::WarpVote {
                kind,
                mask,
                pred: p,
            },
            t,
        )
    }
    pub fn barrier(&mut self) {
        self.b.push(Stmt::Barrier {
            loc: Loc::default(),
        });
    }
    pub fn local(&mut self, name: &str, t: Type) -> LocalId {
        self.b.add_local(name, t)
    }
    pub fn set(&mut self, l: LocalId, v: ValueId) {
        self.b.push(Stmt::Store { local: l, value: v });
    }
    pub fn get(&mut self, l: LocalId) -> ValueId {
        let t = self.b.local_type(l).clone();
        self.e(Op::LoadLocal(l), t)
    }
    pub fn break_(&mut self) {
        self.b.push(Stmt::Break);
    }
    pub fn return_(&mut self) {
        self.b.push(Stmt::Return { value: None });
    }
    pub fn if_(&mut self, c: ValueId, then: impl FnOnce(&mut K)) {
        self.if_else(c, then, |_| {})
    }
    pub fn if_else(&mut self, c: ValueId, then: impl FnOnce(&mut K), els: impl FnOnce(&mut K)) {
        self.b.open_block();
        then(self);
        let then_block = self.b.close_block();
        self.b.open_block();
        els(self);
        let else_block = self.b.close_block();
        self.b.push(Stmt::If {
            cond: c,
            then_block,
            else_block,
        });
    }
    /// `while True: body()`.
    pub fn loop_(&mut self, body: impl FnOnce(&mut K)) {
        self.b.open_block();
        body(self);
        let body = self.b.close_block();
        self.b.push(Stmt::Loop { body });
    }
    /// `while cond(): body()`.
    pub fn while_(&mut self, cond: impl FnOnce(&mut K) -> ValueId, body: impl FnOnce(&mut K)) {
        self.loop_(|k| {
            let c = cond(k);
            let stop = k.un(UnaryOp::Not, c);
            k.if_(stop, |k| k.break_());
            body(k);
        });
    }
    /// `for i in range(start, stop)` over a fresh int64 local; `body` gets `i`.
    pub fn range(&mut self, start: ValueId, stop: ValueId, body: impl FnOnce(&mut K, ValueId)) {
        let l = self.local("i", Type::I64);
        self.set(l, start);
        self.loop_(|k| {
            let i = k.get(l);
            let done = k.cmp(CmpOp::Ge, i, stop);
            k.if_(done, |k| k.break_());
            body(k, i);
            let one = k.i64(1);
            let n = k.bin(BinaryOp::Add, i, one);
            k.set(l, n);
        });
    }
    /// Declares the exception `class(message)`; its id for `Stmt::Raise`.
    pub fn exception(&mut self, class: &str, message: &str) -> ExcId {
        self.exceptions.push(Exception {
            class: class.into(),
            message: message.into(),
        });
        ExcId(self.exceptions.len() as u32 - 1)
    }
    /// `raise class(message)`.
    pub fn raise(&mut self, class: &str, message: &str) {
        let exc = self.exception(class, message);
        self.raise_id(exc);
    }
    pub fn raise_id(&mut self, exc: ExcId) {
        self.b.push(Stmt::Raise {
            exc,
            loc: Loc::default(),
        });
    }
    /// Ends the function (`return` unless it already ended), without checking it.
    pub fn function(mut self) -> Function {
        if !self.b.is_terminated() {
            self.b.push(Stmt::Return { value: None });
        }
        self.b.finish()
    }
    /// The module of this kernel (entry 0) and its `extra` functions, verified.
    pub fn finish(self) -> Module {
        let exceptions = self.exceptions.clone();
        let extra = self.extra.clone();
        let mut functions = vec![self.function()];
        functions.extend(extra);
        let m = Module {
            functions,
            entry: FuncId(0),
            exceptions,
        };
        verify::verify_module(&m).unwrap_or_else(|e| panic!("bad test IR: {e}"));
        m
    }
}

/// The kernel `name(params...)` whose body `body` writes given the parameters' values.
pub fn kernel(name: &str, params: Vec<Type>, body: impl FnOnce(&mut K, &[ValueId])) -> Module {
    let mut k = K::new(name, params);
    let ps = k.params();
    body(&mut k, &ps);
    k.finish()
}
