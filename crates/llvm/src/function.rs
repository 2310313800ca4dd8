//! One IR function → one LLVM function: structured blocks become a CFG.
//!
//! Internal ABI: `i32 @hs.<name>(ptr %ret_out, params by value...)`. The status is
//! 0 on success and `k + 1` when `Module::exceptions[k]` was raised; the result is
//! written through `%ret_out` only on success.

use hypersonic_ir::{Block, Const, Function, LocalId, Module as IrModule, Op, Stmt, Type, ValueId};
use inkwell::basic_block::BasicBlock;
use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::module::Module;
use inkwell::values::{BasicValue, BasicValueEnum, FunctionValue, InstructionValue, PointerValue};

use crate::{types, CodegenError};

pub(crate) type R<T> = Result<T, CodegenError>;

pub(crate) fn unsupported<T>(what: impl Into<String>) -> R<T> {
    Err(CodegenError::Unsupported(what.into()))
}

/// Module-wide state shared by every function's code generator.
pub(crate) struct ModGen<'a, 'ctx> {
    pub ctx: &'ctx Context,
    pub module: &'a Module<'ctx>,
    pub ir: &'a IrModule,
    /// The LLVM function of each IR function, by `FuncId`.
    pub funcs: Vec<FunctionValue<'ctx>>,
    pub fastmath: bool,
    /// What the code runs on; decides how kernel operations and math lower.
    pub target: crate::kernel::Target,
}

/// The symbol of an IR function's internal body. The prefix keeps user names from
/// colliding with the libm functions we declare.
pub(crate) fn internal_name(f: &Function) -> String {
    format!("hs.{}", f.name)
}

pub(crate) struct FnGen<'a, 'ctx> {
    pub m: &'a ModGen<'a, 'ctx>,
    pub f: &'a Function,
    pub func: FunctionValue<'ctx>,
    pub b: Builder<'ctx>,
    pub(crate) values: Vec<Option<BasicValueEnum<'ctx>>>,
    pub(crate) locals: Vec<PointerValue<'ctx>>,
    /// (continue target, break target) of each enclosing loop.
    pub(crate) loops: Vec<(BasicBlock<'ctx>, BasicBlock<'ctx>)>,
    ret_out: PointerValue<'ctx>,
    entry: BasicBlock<'ctx>,
    /// Float instructions that must keep IEEE semantics even under fastmath
    /// (the NaN/infinity tests: `nnan` would fold `isnan` to false).
    pub strict: Vec<InstructionValue<'ctx>>,
    /// CPU SIMT lowering: inside a loop over a block's threads, where `return`
    /// goes (the thread exits; the loop moves on to the next thread).
    pub(crate) thread_return: Option<BasicBlock<'ctx>>,
    /// CPU SIMT lowering: the block's context and the current thread.
    pub(crate) simt: Option<Box<crate::simt::ThreadState<'ctx>>>,
}

impl<'a, 'ctx> FnGen<'a, 'ctx> {
    pub(crate) fn new(
        m: &'a ModGen<'a, 'ctx>,
        f: &'a Function,
        func: FunctionValue<'ctx>,
    ) -> R<Self> {
        let b = m.ctx.create_builder();
        let entry = m.ctx.append_basic_block(func, "entry");
        b.position_at_end(entry);
        let ret_out = func
            .get_nth_param(0)
            .ok_or_else(|| CodegenError::Llvm("missing ret_out parameter".into()))?
            .into_pointer_value();
        let mut g = FnGen {
            m,
            f,
            func,
            b,
            values: vec![None; f.values.len()],
            locals: Vec::with_capacity(f.locals.len()),
            loops: Vec::new(),
            ret_out,
            entry,
            strict: Vec::new(),
            thread_return: None,
            simt: None,
        };
        // Locals are entry-block allocas so that mem2reg/SROA promote them; they start
        // zeroed so that a read before any write is defined rather than `undef`.
        for l in &f.locals {
            let t = types::ty(m.ctx, &l.ty);
            let slot = g.b.build_alloca(t, &l.name)?;
            g.b.build_store(slot, t.const_zero())?;
            g.locals.push(slot);
        }
        Ok(g)
    }

    pub(crate) fn emit_body(&mut self) -> R<()> {
        let body = &self.f.body;
        self.block(body)?;
        if !self.terminated() {
            let bb = self.current();
            if bb != self.entry && bb.get_first_use().is_none() {
                self.b.build_unreachable()?;
            } else {
                // Falling off the end: Python returns None. For any other return
                // type the front end guarantees a return; write zeroes to stay defined.
                if self.f.ret != Type::None {
                    let t = types::ty(self.m.ctx, &self.f.ret);
                    self.b.build_store(self.ret_out, t.const_zero())?;
                }
                self.b
                    .build_return(Some(&self.m.ctx.i32_type().const_zero()))?;
            }
        }
        if self.m.fastmath {
            crate::fastmath::apply(self.func, &self.strict);
        }
        Ok(())
    }

    pub(crate) fn current(&self) -> BasicBlock<'ctx> {
        // The builder is always positioned: `new` positions it and every jump
        // repositions it.
        self.b.get_insert_block().unwrap_or(self.entry)
    }

    pub(crate) fn terminated(&self) -> bool {
        self.current().get_terminator().is_some()
    }

    /// A new block placed after the current one.
    pub(crate) fn new_block(&self, name: &str) -> BasicBlock<'ctx> {
        self.m.ctx.append_basic_block(self.func, name)
    }

    pub(crate) fn v(&self, id: ValueId) -> R<BasicValueEnum<'ctx>> {
        self.values
            .get(id.0 as usize)
            .copied()
            .flatten()
            .ok_or_else(|| {
                CodegenError::Unsupported(format!("v{} used before its definition", id.0))
            })
    }

    pub(crate) fn ty(&self, id: ValueId) -> &'a Type {
        self.f.value_type(id)
    }

    pub(crate) fn scalar_of(&self, id: ValueId) -> R<hypersonic_ir::Scalar> {
        match self.ty(id) {
            Type::Scalar(s) => Ok(*s),
            t => unsupported(format!("expected a scalar, found {t}")),
        }
    }

    /// In a CPU thread loop, an access to a local kept per thread in scratch
    /// touches this thread's slot alone (see `simt::loop_hints`).
    fn mark_own_slot(&self, l: LocalId, access: InstructionValue<'ctx>) {
        if let Some(st) = &self.simt {
            if let (Some(id), true) = (st.parallel_loop, st.slot_locals.contains(&l.0)) {
                id.mark_parallel(self.m.ctx, access);
            }
        }
    }

    pub(crate) fn block(&mut self, blk: &'a Block) -> R<()> {
        for s in &blk.stmts {
            if self.terminated() {
                // Statements after a jump are dead; the IR allows them.
                break;
            }
            self.stmt(s)?;
        }
        Ok(())
    }

    pub(crate) fn stmt(&mut self, s: &'a Stmt) -> R<()> {
        match s {
            Stmt::Let { value, op, .. } => {
                let rt = self.f.values.get(value.0 as usize).ok_or_else(|| {
                    CodegenError::Unsupported(format!("v{} has no type", value.0))
                })?;
                let v = self.op(op, rt)?;
                // A SIMT thread loop over threads for which it is known.
                // A constant also becomes an assumption on the computed
                // value: `j == 0` known false still tells LLVM that `j - 1`
                // is not negative (no wrap-around for `a[j - 1]`).
                let v = match self.simt.as_ref().and_then(|st| st.known.get(value)) {
                    Some(k) => {
                        if let Some(c) = k.get_zero_extended_constant() {
                            let holds = if c == 0 {
                                self.b.build_not(v.into_int_value(), "")?
                            } else {
                                v.into_int_value()
                            };
                            self.intrinsic_call("llvm.assume", &[], &[holds.into()])?;
                        }
                        (*k).into()
                    }
                    None => v,
                };
                self.values[value.0 as usize] = Some(v);
            }
            Stmt::Store { local, value } => {
                let slot = *self
                    .locals
                    .get(local.0 as usize)
                    .ok_or_else(|| CodegenError::Unsupported(format!("no local %{}", local.0)))?;
                let v = self.v(*value)?;
                let st = self.b.build_store(slot, v)?;
                self.mark_own_slot(*local, st);
            }
            Stmt::ArrayStore {
                array,
                indices,
                value,
                ..
            } => self.array_store(*array, indices, *value)?,
            Stmt::If {
                cond,
                then_block,
                else_block,
            } => {
                let c = self.v(*cond)?.into_int_value();
                let then_bb = self.new_block("then");
                let else_bb = self.new_block("else");
                let merge = self.new_block("endif");
                self.b.build_conditional_branch(c, then_bb, else_bb)?;
                for (bb, blk) in [(then_bb, then_block), (else_bb, else_block)] {
                    self.b.position_at_end(bb);
                    self.block(blk)?;
                    if !self.terminated() {
                        self.b.build_unconditional_branch(merge)?;
                    }
                }
                self.b.position_at_end(merge);
            }
            Stmt::Loop { body } => {
                let header = self.new_block("loop");
                let exit = self.new_block("endloop");
                self.b.build_unconditional_branch(header)?;
                self.b.position_at_end(header);
                self.loops.push((header, exit));
                let r = self.block(body);
                self.loops.pop();
                r?;
                if !self.terminated() {
                    self.b.build_unconditional_branch(header)?;
                }
                self.b.position_at_end(exit);
            }
            Stmt::Break | Stmt::Continue => {
                let &(header, exit) = self
                    .loops
                    .last()
                    .ok_or_else(|| CodegenError::Unsupported("break outside a loop".into()))?;
                let target = if matches!(s, Stmt::Break) {
                    exit
                } else {
                    header
                };
                self.b.build_unconditional_branch(target)?;
            }
            Stmt::Return { .. } if self.thread_return.is_some() => {
                let exit = self.thread_return.unwrap_or(self.entry);
                self.b.build_unconditional_branch(exit)?;
            }
            Stmt::Return { value } => {
                if let Some(v) = value {
                    if *self.ty(*v) != Type::None {
                        let v = self.v(*v)?;
                        self.b.build_store(self.ret_out, v)?;
                    }
                }
                self.b
                    .build_return(Some(&self.m.ctx.i32_type().const_zero()))?;
            }
            Stmt::Raise { exc, .. } => {
                let status = self.m.ctx.i32_type().const_int(exc.0 as u64 + 1, false);
                self.b.build_return(Some(&status))?;
            }
            Stmt::Barrier { .. } | Stmt::Fence(_) | Stmt::SyncWarp { .. } => {
                crate::kernel::lower_stmt(self, s)?
            }
        }
        Ok(())
    }

    pub(crate) fn op(&mut self, op: &'a Op, rt: &'a Type) -> R<BasicValueEnum<'ctx>> {
        match op {
            Op::Geometry(..)
            | Op::LaneId
            | Op::SharedArray { .. }
            | Op::LocalArray { .. }
            | Op::ConstArray { .. }
            | Op::Atomic { .. }
            | Op::AtomicCas { .. }
            | Op::WarpShuffle { .. }
            | Op::WarpVote { .. }
            | Op::BarrierReduce(..)
            | Op::Bit(..) => crate::kernel::lower_op(self, op, rt),
            Op::Param(i) => self
                .func
                .get_nth_param(i + 1)
                .ok_or_else(|| CodegenError::Unsupported(format!("no parameter {i}"))),
            Op::Const(c) => self.constant(c, rt),
            Op::LoadLocal(l) => {
                let slot = *self
                    .locals
                    .get(l.0 as usize)
                    .ok_or_else(|| CodegenError::Unsupported(format!("no local %{}", l.0)))?;
                let t = types::ty(self.m.ctx, &self.f.local(*l).ty);
                let v = self.b.build_load(t, slot, "")?;
                if let Some(load) = v.as_instruction_value() {
                    self.mark_own_slot(*l, load);
                }
                Ok(v)
            }
            Op::Unary(o, a) => self.unary(*o, *a),
            Op::Binary(o, a, b) => self.binary(*o, *a, *b),
            Op::Compare(o, a, b) => self.compare(*o, *a, *b),
            Op::Cast(a) => self.cast_op(*a, rt),
            Op::Bitcast(a) => {
                let v = self.v(*a)?;
                Ok(self.b.build_bit_cast(v, types::ty(self.m.ctx, rt), "")?)
            }
            Op::Select(c, a, b) => {
                let c = self.v(*c)?.into_int_value();
                let (a, b) = (self.v(*a)?, self.v(*b)?);
                Ok(self.b.build_select(c, a, b, "")?)
            }
            Op::Math(f, args) => self.math(*f, args),
            Op::Call(fid, args) => self.call(*fid, args),
            Op::ArrayDim(a, k) => self.array_dim(*a, *k),
            Op::ArrayStride(a, k) => Ok(self.array_stride(*a, *k)?.into()),
            Op::ArrayLoad(a, idx) => self.array_load(*a, idx),
            Op::SubArray(a, idx) => self.sub_array(*a, idx, rt),
            Op::MakeTuple(items) => {
                let t = types::ty(self.m.ctx, rt).into_struct_type();
                let mut agg = t.get_undef().as_basic_value_enum();
                for (i, it) in items.iter().enumerate() {
                    let v = self.v(*it)?;
                    agg = self
                        .b
                        .build_insert_value(agg.into_struct_value(), v, i as u32, "")?
                        .as_basic_value_enum();
                }
                Ok(agg)
            }
            Op::TupleGet(t, i) => {
                let agg = self.v(*t)?.into_struct_value();
                Ok(self.b.build_extract_value(agg, *i, "")?)
            }
            Op::TupleIndex(t, i) => self.tuple_index(*t, *i),
            Op::ComplexNew(re, im) => {
                let t = types::ty(self.m.ctx, rt).into_struct_type();
                let (re, im) = (self.v(*re)?, self.v(*im)?);
                self.make_pair(t, re, im)
            }
            Op::ComplexReal(a) | Op::ComplexImag(a) => {
                let agg = self.v(*a)?.into_struct_value();
                let idx = u32::from(matches!(op, Op::ComplexImag(_)));
                Ok(self.b.build_extract_value(agg, idx, "")?)
            }
        }
    }

    pub(crate) fn make_pair(
        &self,
        t: inkwell::types::StructType<'ctx>,
        a: BasicValueEnum<'ctx>,
        b: BasicValueEnum<'ctx>,
    ) -> R<BasicValueEnum<'ctx>> {
        let s = self.b.build_insert_value(t.get_undef(), a, 0, "")?;
        let s = self.b.build_insert_value(s.into_struct_value(), b, 1, "")?;
        Ok(s.as_basic_value_enum())
    }

    fn constant(&self, c: &Const, rt: &Type) -> R<BasicValueEnum<'ctx>> {
        let ctx = self.m.ctx;
        let bad = || unsupported(format!("constant {c:?} of type {rt}"));
        Ok(match (c, rt) {
            (Const::None, _) => types::ty(ctx, rt).const_zero(),
            (Const::Bool(b), Type::Scalar(s))
                if s.is_int() || *s == hypersonic_ir::Scalar::Bool =>
            {
                types::int(ctx, *s).const_int(*b as u64, false).into()
            }
            (Const::Int(i), Type::Scalar(s)) if s.is_int() || *s == hypersonic_ir::Scalar::Bool => {
                types::int(ctx, *s).const_int(*i as u64, false).into()
            }
            (Const::Bool(b), Type::Scalar(s)) if s.is_float() => {
                types::float(ctx, *s).const_float(*b as u8 as f64).into()
            }
            (Const::Int(i), Type::Scalar(s)) if s.is_float() => {
                types::float(ctx, *s).const_float(*i as f64).into()
            }
            (Const::Float(x), Type::Scalar(s)) if s.is_float() => {
                types::float(ctx, *s).const_float(*x).into()
            }
            (Const::Float(x), Type::Scalar(s)) if s.is_complex() => {
                let f = types::float(ctx, *s);
                types::complex(ctx, *s)
                    .const_named_struct(&[f.const_float(*x).into(), f.const_zero().into()])
                    .into()
            }
            (Const::Complex(re, im), Type::Scalar(s)) if s.is_complex() => {
                let f = types::float(ctx, *s);
                types::complex(ctx, *s)
                    .const_named_struct(&[f.const_float(*re).into(), f.const_float(*im).into()])
                    .into()
            }
            (
                Const::Array {
                    data,
                    shape,
                    strides,
                },
                Type::Array { ndim, .. },
            ) if shape.len() == *ndim as usize && strides.len() == *ndim as usize => {
                let i64t = ctx.i64_type();
                let ptr = i64t
                    .const_int(*data, false)
                    .const_to_pointer(ctx.ptr_type(inkwell::AddressSpace::default()));
                let dims = |xs: &[i64]| {
                    let vals: Vec<_> = xs.iter().map(|x| i64t.const_int(*x as u64, true)).collect();
                    i64t.const_array(&vals)
                };
                types::array(ctx, *ndim)
                    .const_named_struct(&[ptr.into(), dims(shape).into(), dims(strides).into()])
                    .into()
            }
            _ => return bad(),
        })
    }
}
