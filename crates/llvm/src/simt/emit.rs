//! The block function: block-level statements as straight-line code, each
//! region as a loop nest over the block's threads (`z`, `y`, `x`, with `x`
//! innermost so that `threadIdx.x` is the induction variable the vectoriser
//! sees).
//!
//! Scratch memory is laid out per item (a spilled value, a per-thread local, a
//! local array, the exited flags) as `nthreads` consecutive elements: item `i`
//! of thread `t` is at `scratch + offset_i * nthreads + t * size_i`, so a region
//! reads and writes its items with unit stride across threads.

use std::collections::HashMap;

use hypersonic_ir::{
    BarrierReduce, Block, Function, LocalId, Module as IrModule, Op, Shuffle, Stmt, Type, ValueId,
    Vote,
};
use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::targets::{TargetData, TargetMachine};
use inkwell::types::{BasicMetadataTypeEnum, BasicTypeEnum};
use inkwell::values::{BasicMetadataValueEnum, BasicValue, BasicValueEnum, IntValue, PointerValue};
use inkwell::{AddressSpace, IntPredicate as IP};

use super::geometry::{AxisEqual, Recompute, Step};
use super::loop_hints::{AccessGroup, ThreadLoopId};
use super::plan::{
    uses, Counted, Induction, LocalClass, LoopId, Node, Plan, Pred, Region, RegionId,
};
use super::warp_scan;
use super::{array_value, ThreadState, WARP};
use crate::function::{internal_name, unsupported, FnGen, ModGen, R};
use crate::{attrs, types, CodegenError, HostOptions};

pub(crate) struct SharedLayout {
    pub offsets: HashMap<usize, u64>,
    pub total: u64,
}

/// Static shared arrays of the kernel body, each 16-byte aligned, in order.
pub(crate) fn shared_layout(m: &IrModule) -> SharedLayout {
    fn walk(b: &hypersonic_ir::Block, l: &mut SharedLayout) {
        for s in &b.stmts {
            match s {
                Stmt::Let {
                    op:
                        op @ Op::SharedArray {
                            dtype,
                            shape,
                            dynamic: false,
                        },
                    ..
                } => {
                    let n: i64 = shape.iter().product();
                    let bytes = (n.max(0) as u64) * dtype.size() as u64;
                    l.offsets.insert(op as *const Op as usize, l.total);
                    l.total += bytes.div_ceil(16) * 16;
                }
                Stmt::If {
                    then_block,
                    else_block,
                    ..
                } => {
                    walk(then_block, l);
                    walk(else_block, l);
                }
                Stmt::Loop { body } => walk(body, l),
                _ => {}
            }
        }
    }
    let mut l = SharedLayout {
        offsets: HashMap::new(),
        total: 0,
    };
    walk(&m.function(m.entry).body, &mut l);
    l
}

/// Emits the module; returns the block wrapper's symbol and the scratch bytes
/// per thread.
pub(crate) fn codegen<'ctx>(
    ctx: &'ctx Context,
    llmod: &Module<'ctx>,
    machine: &TargetMachine,
    ir: &IrModule,
    opts: &HostOptions,
    plan: &Plan<'_>,
    shared: &SharedLayout,
) -> R<(String, u64)> {
    let ptr = ctx.ptr_type(AddressSpace::default());
    let entry_idx = ir.entry.0 as usize;
    let mut funcs = Vec::with_capacity(ir.functions.len());
    let inline = Attribute::get_named_enum_kind_id("alwaysinline");
    for (i, f) in ir.functions.iter().enumerate() {
        let mut params: Vec<BasicMetadataTypeEnum> = vec![ptr.into()];
        params.extend(
            f.params
                .iter()
                .map(|p| BasicMetadataTypeEnum::from(types::ty(ctx, p))),
        );
        let name = if i == entry_idx {
            params.push(ptr.into());
            format!("hs.simt.{}", f.name)
        } else {
            internal_name(f)
        };
        let fnty = ctx.i32_type().fn_type(&params, false);
        let fv = llmod.add_function(&name, fnty, Some(Linkage::Internal));
        attrs::add_fn_attrs(ctx, fv);
        attrs::prefer_wide_vectors(ctx, fv);
        attrs::add_ret_out_attrs(ctx, fv);
        if i != entry_idx {
            // Device functions run per thread inside the thread loops: inline them.
            fv.add_attribute(AttributeLoc::Function, ctx.create_enum_attribute(inline, 0));
        }
        funcs.push(fv);
    }
    let mg = ModGen {
        ctx,
        module: llmod,
        ir,
        funcs,
        fastmath: opts.fastmath,
        target: crate::kernel::Target::Simt,
    };
    for (i, (f, fv)) in ir.functions.iter().zip(&mg.funcs).enumerate() {
        if i != entry_idx {
            let mut g = FnGen::new(&mg, f, *fv)?;
            g.emit_body()?;
        }
    }
    let f = ir.function(ir.entry);
    let body = mg.funcs[entry_idx];
    let td = machine.get_target_data();
    let per_thread = {
        let mut g = FnGen::new(&mg, f, body)?;
        let ctxp = body
            .get_nth_param(1 + f.params.len() as u32)
            .ok_or_else(|| CodegenError::Llvm("block function without ctx".into()))?
            .into_pointer_value();
        let mut e = Emitter::new(&mut g, plan, &td, ctxp, shared)?;
        e.nodes(&mut g, &plan.nodes)?;
        if !g.terminated() {
            g.b.build_return(Some(&ctx.i32_type().const_zero()))?;
        }
        let items: Vec<_> = e.items.iter().map(|&p| p.into()).collect();
        super::alias::tag(ctx, body, e.shared.into(), &items, &e.nonneg_items);
        if opts.fastmath {
            crate::fastmath::apply(body, &g.strict);
        }
        e.per_thread
    };
    let name = build_wrapper(&mg, f, body)?;
    Ok((name, per_thread))
}

/// `i32 @<name>__simt_block(ptr args, ptr ctx)`.
fn build_wrapper<'ctx>(
    m: &ModGen<'_, 'ctx>,
    f: &Function,
    body: inkwell::values::FunctionValue<'ctx>,
) -> R<String> {
    let ctx = m.ctx;
    let ptr = ctx.ptr_type(AddressSpace::default());
    let name = format!("{}__simt_block", f.name);
    let fnty = ctx.i32_type().fn_type(&[ptr.into(), ptr.into()], false);
    let w = m.module.add_function(&name, fnty, Some(Linkage::External));
    attrs::add_fn_attrs(ctx, w);
    attrs::prefer_wide_vectors(ctx, w);
    let b = ctx.create_builder();
    let entry = ctx.append_basic_block(w, "entry");
    b.position_at_end(entry);
    let missing = || CodegenError::Llvm("block wrapper parameters".into());
    let args = w.get_nth_param(0).ok_or_else(missing)?.into_pointer_value();
    let bctx = w.get_nth_param(1).ok_or_else(missing)?.into_pointer_value();
    let ret_slot = b.build_alloca(types::ty(ctx, &Type::None), "ret")?;
    let mut slot = 0u64;
    let mut argv: Vec<BasicMetadataValueEnum> = vec![ret_slot.into()];
    for p in &f.params {
        argv.push(crate::entry::unpack(ctx, &b, p, args, &mut slot)?.into());
    }
    argv.push(bctx.into());
    let status = b
        .build_call(body, &argv, "status")?
        .try_as_basic_value()
        .basic()
        .ok_or_else(|| CodegenError::Llvm("block body returned void".into()))?;
    b.build_return(Some(&status))?;
    Ok(name)
}

fn is_bool(t: BasicTypeEnum<'_>) -> bool {
    t.is_int_type() && t.into_int_type().get_bit_width() == 1
}

/// Per local of `f`: whether it is an integer that only ever holds
/// non-negative values (below its sign bit) built from thread geometry and
/// small constants (the zero it starts with).
/// Such a local in scratch loses the geometry's `!range` on its way through
/// memory; its loads get it back, so LLVM still folds negative-index wraps.
fn nonneg_locals(f: &Function) -> Vec<bool> {
    use hypersonic_ir::Scalar as S;
    // Bits of an integer type, for the integers a range applies to.
    let width = |t: &Type| match t {
        Type::Scalar(S::I32 | S::U32) => Some(32),
        Type::Scalar(S::I64 | S::U64) => Some(64),
        _ => None,
    };
    let d: HashMap<ValueId, &Op> = super::geometry::definitions(f)
        .into_iter()
        .map(|(v, (_, op))| (v, op))
        .collect();
    // An upper bound on the bits of a value that is never negative: thread
    // geometry, small constants, and sums, products and casts of them that
    // cannot overflow (`cuda.grid(1)` in `int64`).
    fn bits(
        v: ValueId,
        f: &Function,
        d: &HashMap<ValueId, &Op>,
        width: &dyn Fn(&Type) -> Option<u32>,
        depth: u32,
    ) -> Option<u32> {
        let w = width(f.value_type(v))?;
        if depth == 0 {
            return None;
        }
        let rec = |x: ValueId| bits(x, f, d, width, depth - 1);
        let b = match d.get(&v)? {
            Op::Geometry(..) => 31,
            Op::Const(hypersonic_ir::Const::Int(c)) if (0..i32::MAX as i64).contains(c) => 31,
            Op::Cast(x) => rec(*x)?,
            Op::Binary(hypersonic_ir::BinaryOp::Add, x, y) => rec(*x)?.max(rec(*y)?) + 1,
            Op::Binary(hypersonic_ir::BinaryOp::Mul, x, y) => rec(*x)? + rec(*y)?,
            Op::TupleGet(t, k) => match d.get(t)? {
                Op::MakeTuple(items) => rec(*items.get(*k as usize)?)?,
                _ => return None,
            },
            _ => return None,
        };
        (b < w).then_some(b)
    }
    let mut st = Vec::new();
    for s in &f.body.stmts {
        super::plan::local_stores(s, &mut st);
    }
    let mut ok: Vec<bool> = f.locals.iter().map(|l| width(&l.ty).is_some()).collect();
    for (l, v) in st {
        let l = l.0;
        let w = width(&f.locals[l as usize].ty);
        let fits = match (w, bits(v, f, &d, &width, 16)) {
            (Some(w), Some(b)) => b < w,
            _ => false,
        };
        if !fits {
            ok[l as usize] = false;
        }
    }
    ok
}

#[derive(Clone, Copy)]
enum Item {
    Val(ValueId),
    Local(u32),
    Arr(ValueId),
    Exited,
    /// Per thread, for a predicated loop: the last iteration the thread sits
    /// out (`i64::MAX` once it has left the loop).
    LoopState(LoopId),
}

struct Emitter<'p, 'a, 'ctx> {
    plan: &'p Plan<'a>,
    nthreads: IntValue<'ctx>,
    bdim: [IntValue<'ctx>; 3],
    /// `blockDim` as `i32`.
    block_dim: [IntValue<'ctx>; 3],
    /// `BlockContext::split_part` and `split_parts` (`i32`).
    split: [IntValue<'ctx>; 2],
    /// Per-thread storage: base pointer and element size.
    vals: HashMap<ValueId, (PointerValue<'ctx>, u64, BasicTypeEnum<'ctx>)>,
    locals: HashMap<u32, (PointerValue<'ctx>, u64)>,
    /// Per scratch local, the alloca that a region works on (see `region`).
    local_copies: HashMap<u32, PointerValue<'ctx>>,
    arrays: HashMap<ValueId, (PointerValue<'ctx>, u64, &'a Op)>,
    exited: Option<PointerValue<'ctx>>,
    uslots: HashMap<ValueId, PointerValue<'ctx>>,
    /// Per predicated loop: the per-thread states and the iteration counter.
    loop_state: Vec<PointerValue<'ctx>>,
    loop_iter: Vec<PointerValue<'ctx>>,
    /// (continue target, break target) of the enclosing block-level loops.
    loops: Vec<(
        inkwell::basic_block::BasicBlock<'ctx>,
        inkwell::basic_block::BasicBlock<'ctx>,
    )>,
    per_thread: u64,
    /// The base of shared memory and of each scratch item.
    shared: PointerValue<'ctx>,
    items: Vec<PointerValue<'ctx>>,
    /// Per scratch item: a local that only ever holds non-negative `i32`
    /// geometry (`tx = cuda.threadIdx.x`), whose loads carry `!range`.
    nonneg_items: Vec<bool>,
    /// The accesses the thread loops run in parallel (see `loop_hints`).
    access_group: AccessGroup,
}

/// `a + b` with both `nuw` and `nsw` (a thread-loop counter below `blockDim`).
fn nuw_nsw_add<'ctx>(
    g: &FnGen<'_, 'ctx>,
    a: IntValue<'ctx>,
    b: IntValue<'ctx>,
) -> R<IntValue<'ctx>> {
    let v = g.b.build_int_nuw_add(a, b, "")?;
    if let Some(i) = v.as_instruction() {
        let _ = i.set_no_signed_wrap_flag(true);
    }
    Ok(v)
}

fn gep<'ctx>(
    g: &FnGen<'_, 'ctx>,
    p: PointerValue<'ctx>,
    off: IntValue<'ctx>,
) -> R<PointerValue<'ctx>> {
    // SAFETY (for LLVM): offsets stay inside the runtime's scratch/shared buffers.
    Ok(unsafe { g.b.build_in_bounds_gep(g.m.ctx.i8_type(), p, &[off], "")? })
}

impl<'p, 'a, 'ctx> Emitter<'p, 'a, 'ctx> {
    fn new(
        g: &mut FnGen<'a, 'ctx>,
        plan: &'p Plan<'a>,
        td: &TargetData,
        ctxp: PointerValue<'ctx>,
        shared: &SharedLayout,
    ) -> R<Self> {
        let ctx = g.m.ctx;
        let i32t = ctx.i32_type();
        let i64t = ctx.i64_type();
        let ptr_t = ctx.ptr_type(AddressSpace::default());
        let field =
            |g: &FnGen<'a, 'ctx>, off: u64, t: BasicTypeEnum<'ctx>| -> R<BasicValueEnum<'ctx>> {
                let p = gep(g, ctxp, i64t.const_int(off, false))?;
                Ok(g.b.build_load(t, p, "")?)
            };
        // The geometry is non-negative and fits an `i32` (the runtime checks
        // launches against CUDA's limits): `!range` lets LLVM fold the
        // negative-index wrap-around of indices computed from it.
        let range = ctx.get_kind_id("range");
        let three = |base: u64, lo: u64| -> R<[IntValue<'ctx>; 3]> {
            let mut r = [i32t.const_zero(); 3];
            let md = ctx.metadata_node(&[
                i32t.const_int(lo, false).into(),
                i32t.const_int(i32::MAX as u64, false).into(),
            ]);
            for (k, x) in r.iter_mut().enumerate() {
                let v = field(g, base + 4 * k as u64, i32t.into())?.into_int_value();
                if let Some(i) = v.as_instruction() {
                    let _ = i.set_metadata(md, range);
                }
                *x = v;
            }
            Ok(r)
        };
        let block_idx = three(0, 0)?;
        let block_dim = three(12, 1)?;
        let grid_dim = three(24, 1)?;
        let private_mask = field(g, 36, i32t.into())?.into_int_value();
        let sharedp = field(g, 40, ptr_t.into())?.into_pointer_value();
        let dynamic_bytes = field(g, 48, i64t.into())?.into_int_value();
        let scratch = field(g, 56, ptr_t.into())?.into_pointer_value();
        let split = [
            field(g, 72, i32t.into())?.into_int_value(),
            field(g, 76, i32t.into())?.into_int_value(),
        ];
        let mut bdim = [i64t.const_zero(); 3];
        for k in 0..3 {
            bdim[k] = g.b.build_int_z_extend(block_dim[k], i64t, "")?;
        }
        let n = g.b.build_int_nuw_mul(bdim[0], bdim[1], "")?;
        let nthreads = g.b.build_int_nuw_mul(n, bdim[2], "nthreads")?;
        g.simt = Some(Box::new(ThreadState {
            block_idx,
            block_dim,
            grid_dim,
            shared: sharedp,
            dynamic_bytes,
            static_shared: shared.total,
            shared_offsets: shared.offsets.clone(),
            tid_xyz: None,
            tid: None,
            private: plan.private_values.clone(),
            private_mask,
            parallel_loop: None,
            slot_locals: Default::default(),
            known: Default::default(),
        }));

        // Scratch layout.
        let f = g.f;
        let mut items: Vec<(Item, u64, u32)> = Vec::new();
        let mut ops: HashMap<ValueId, &'a Op> = HashMap::new();
        for reg in &plan.regions {
            for s in &reg.stmts {
                if let Stmt::Let { value, op, .. } = s {
                    ops.insert(*value, op);
                }
            }
        }
        for (i, sp) in plan.spilled.iter().enumerate() {
            if *sp {
                let t = types::ty(ctx, f.value_type(ValueId(i as u32)));
                items.push((
                    Item::Val(ValueId(i as u32)),
                    td.get_abi_size(&t),
                    td.get_abi_alignment(&t),
                ));
            }
        }
        for (i, c) in plan.locals.iter().enumerate() {
            if *c == LocalClass::Scratch {
                let t = types::ty(ctx, &f.locals[i].ty);
                items.push((
                    Item::Local(i as u32),
                    td.get_abi_size(&t),
                    td.get_abi_alignment(&t),
                ));
            }
        }
        for (i, sa) in plan.scratch_array.iter().enumerate() {
            if *sa {
                let v = ValueId(i as u32);
                let Some(Op::LocalArray { dtype, shape }) = ops.get(&v) else {
                    return unsupported("local array without its definition");
                };
                let n: i64 = shape.iter().product();
                let bytes = (n.max(1) as u64 * dtype.size() as u64).div_ceil(16) * 16;
                items.push((Item::Arr(v), bytes, 16));
            }
        }
        if plan.exited_flag {
            items.push((Item::Exited, 1, 1));
        }
        for l in 0..plan.pred_loops {
            if plan.counted[l].is_none() {
                items.push((Item::LoopState(l), 8, 8));
            }
        }
        items.sort_by_key(|it| std::cmp::Reverse(it.2));
        let nonneg = nonneg_locals(f);
        let mut off = 0u64;
        let mut e = Emitter {
            plan,
            nthreads,
            bdim,
            block_dim,
            split,
            vals: HashMap::new(),
            locals: HashMap::new(),
            local_copies: HashMap::new(),
            arrays: HashMap::new(),
            exited: None,
            uslots: HashMap::new(),
            loop_state: vec![scratch; plan.pred_loops],
            loop_iter: Vec::new(),
            loops: Vec::new(),
            per_thread: 0,
            shared: sharedp,
            items: Vec::new(),
            nonneg_items: Vec::new(),
            access_group: AccessGroup::new(ctx)?,
        };
        for (it, size, align) in items {
            let align = align.max(1) as u64;
            off = off.div_ceil(align) * align;
            let o =
                g.b.build_int_nuw_mul(i64t.const_int(off, false), nthreads, "")?;
            let base = gep(g, scratch, o)?;
            e.items.push(base);
            e.nonneg_items
                .push(matches!(it, Item::Local(l) if nonneg[l as usize]));
            let bytes =
                g.b.build_int_nuw_mul(i64t.const_int(size, false), nthreads, "")?;
            match it {
                Item::Val(v) => {
                    let t = types::ty(ctx, f.value_type(v));
                    e.vals.insert(v, (base, size, t));
                }
                Item::Local(l) => {
                    // Locals start zeroed, as on the host; the front end's
                    // own initialisation at the top of the kernel, when it
                    // comes first, already writes every thread's slot.
                    if !written_first(f, LocalId(l)) {
                        g.b.build_memset(base, align as u32, ctx.i8_type().const_zero(), bytes)?;
                    }
                    e.locals.insert(l, (base, size));
                    let t = types::ty(ctx, &f.locals[l as usize].ty);
                    e.local_copies.insert(l, g.entry_alloca(t, "thread.local")?);
                }
                Item::Arr(v) => {
                    e.arrays.insert(v, (base, size, ops[&v]));
                }
                Item::Exited => {
                    g.b.build_memset(base, 1, ctx.i8_type().const_zero(), bytes)?;
                    e.exited = Some(base);
                }
                // Written by the loop's entering region before any read.
                Item::LoopState(l) => e.loop_state[l] = base,
            }
            off += size;
        }
        e.per_thread = off.div_ceil(16) * 16;
        if let Some(st) = g.simt.as_mut() {
            st.slot_locals = e.locals.keys().copied().collect();
        }
        for (i, u) in plan.uniform_slot.iter().enumerate() {
            if *u {
                let v = ValueId(i as u32);
                let t = types::ty(ctx, f.value_type(v));
                let slot = g.entry_alloca(t, "uniform")?;
                // A slot that no thread writes (a predicated region that no
                // thread runs) is read as zero, never as undef.
                g.b.build_store(slot, t.const_zero())?;
                e.uslots.insert(v, slot);
            }
        }
        for _ in 0..plan.pred_loops {
            let it = g.entry_alloca(i64t.into(), "iteration")?;
            e.loop_iter.push(it);
        }
        Ok(e)
    }

    fn nodes(&mut self, g: &mut FnGen<'a, 'ctx>, nodes: &'p [Node<'a>]) -> R<()> {
        for n in nodes {
            if g.terminated() {
                break;
            }
            match n {
                Node::Let(s) | Node::Store(s) => g.stmt(s)?,
                Node::Jump(s) => match s {
                    Stmt::Break | Stmt::Continue => {
                        let &(head, exit) = self.loops.last().ok_or_else(|| {
                            CodegenError::Unsupported("break outside a loop".into())
                        })?;
                        let t = if matches!(s, Stmt::Break) { exit } else { head };
                        g.b.build_unconditional_branch(t)?;
                    }
                    _ => {
                        g.b.build_return(Some(&g.m.ctx.i32_type().const_zero()))?;
                    }
                },
                Node::Threads(r) => self.region(g, *r)?,
                Node::If {
                    cond,
                    then_,
                    else_,
                    predicated,
                } => {
                    if *predicated {
                        self.nodes(g, then_)?;
                        if !g.terminated() {
                            self.nodes(g, else_)?;
                        }
                        continue;
                    }
                    let c = self.block_value(g, *cond)?.into_int_value();
                    let then_bb = g.new_block("uthen");
                    let else_bb = g.new_block("uelse");
                    let merge = g.new_block("uendif");
                    g.b.build_conditional_branch(c, then_bb, else_bb)?;
                    for (bb, body) in [(then_bb, then_), (else_bb, else_)] {
                        g.b.position_at_end(bb);
                        self.nodes(g, body)?;
                        if !g.terminated() {
                            g.b.build_unconditional_branch(merge)?;
                        }
                    }
                    g.b.position_at_end(merge);
                }
                Node::Loop { body, pred } => {
                    let head = g.new_block("uloop");
                    let exit = g.new_block("uendloop");
                    if let Some((l, init)) = *pred {
                        let counted = self.plan.counted[l];
                        if counted.is_none() {
                            self.region(g, init)?;
                        }
                        let i64t = g.m.ctx.i64_type();
                        let last = match counted {
                            Some(c) if self.plan.split_loop == Some(l) => {
                                Some(self.split_window(g, l, &c)?)
                            }
                            _ => {
                                g.b.build_store(self.loop_iter[l], i64t.const_zero())?;
                                None
                            }
                        };
                        g.b.build_unconditional_branch(head)?;
                        g.b.position_at_end(head);
                        let it =
                            g.b.build_load(i64t, self.loop_iter[l], "iter")?
                                .into_int_value();
                        let it = g.b.build_int_nuw_add(it, i64t.const_int(1, false), "")?;
                        g.b.build_store(self.loop_iter[l], it)?;
                        let mut any = match counted {
                            Some(c) => self.thread0_in_range(g, l, &c)?,
                            None => self.any_in_loop(g, l)?,
                        };
                        if let Some(last) = last {
                            let mine = g.b.build_int_compare(IP::ULE, it, last, "")?;
                            any = g.b.build_and(any, mine, "")?;
                        }
                        let body_bb = g.new_block("uloop.body");
                        g.b.build_conditional_branch(any, body_bb, exit)?;
                        g.b.position_at_end(body_bb);
                    } else {
                        g.b.build_unconditional_branch(head)?;
                        g.b.position_at_end(head);
                    }
                    self.loops.push((head, exit));
                    let r = self.nodes(g, body);
                    self.loops.pop();
                    r?;
                    if !g.terminated() {
                        g.b.build_unconditional_branch(head)?;
                    }
                    g.b.position_at_end(exit);
                }
                Node::Reduce { value, kind, pred } => self.reduce(g, *value, *kind, *pred)?,
                // A result that no region reads (the value is not kept per thread) needs no scan.
                Node::WarpScan(scan) => {
                    if let Some(&(slots, _)) = self.locals.get(&scan.value.0) {
                        warp_scan::emit(g, scan, slots, self.nthreads, self.bdim[0])?;
                    }
                }
            }
        }
        Ok(())
    }

    /// A value read at block level: computed there, or from its uniform slot.
    fn block_value(&self, g: &FnGen<'a, 'ctx>, v: ValueId) -> R<BasicValueEnum<'ctx>> {
        if self.plan.blocklevel[v.0 as usize] {
            return g.v(v);
        }
        let slot = self
            .uslots
            .get(&v)
            .ok_or_else(|| CodegenError::Llvm(format!("v{} has no uniform slot", v.0)))?;
        let t = types::ty(g.m.ctx, g.f.value_type(v));
        Ok(g.b.build_load(t, *slot, "")?)
    }

    fn slot_ptr(
        &self,
        g: &FnGen<'a, 'ctx>,
        base: PointerValue<'ctx>,
        size: u64,
        tid: IntValue<'ctx>,
    ) -> R<PointerValue<'ctx>> {
        let i64t = g.m.ctx.i64_type();
        let o =
            g.b.build_int_nuw_mul(tid, i64t.const_int(size, false), "")?;
        gep(g, base, o)
    }

    /// `v`'s value in thread `tid`'s scratch slot; `parallel` marks the
    /// access when `tid` is the thread loop's own thread.
    fn load_val(
        &self,
        g: &FnGen<'a, 'ctx>,
        v: ValueId,
        tid: IntValue<'ctx>,
        parallel: Option<ThreadLoopId>,
    ) -> R<BasicValueEnum<'ctx>> {
        let (base, size, t) = self.vals[&v];
        let p = self.slot_ptr(g, base, size, tid)?;
        let ty = if is_bool(t) {
            // Bytes in scratch (see `store_val`).
            g.m.ctx.i8_type().into()
        } else {
            t
        };
        let val = g.b.build_load(ty, p, "")?;
        if let (Some(id), Some(load)) = (parallel, val.as_instruction_value()) {
            id.mark_parallel(g.m.ctx, load);
        }
        if is_bool(t) {
            let zero = g.m.ctx.i8_type().const_zero();
            return Ok(g
                .b
                .build_int_compare(IP::NE, val.into_int_value(), zero, "")?
                .into());
        }
        Ok(val)
    }

    /// Stores this thread's `val` of spilled value `v` (an access of this
    /// thread's own slot, marked parallel). Booleans go in as bytes, which the
    /// loop vectoriser loads as a vector (an `i1` per byte it would gather one
    /// by one).
    fn store_val(
        &self,
        g: &FnGen<'a, 'ctx>,
        v: ValueId,
        val: BasicValueEnum<'ctx>,
        tid: IntValue<'ctx>,
    ) -> R<()> {
        let (base, size, t) = self.vals[&v];
        let p = self.slot_ptr(g, base, size, tid)?;
        let val = if is_bool(t) {
            g.b.build_int_z_extend(val.into_int_value(), g.m.ctx.i8_type(), "")?
                .into()
        } else {
            val
        };
        let st = g.b.build_store(p, val)?;
        if let Some(id) = g.simt.as_ref().and_then(|s| s.parallel_loop) {
            id.mark_parallel(g.m.ctx, st);
        }
        Ok(())
    }

    /// Emits region `r`: its thread loops, in parts along the innermost axis
    /// when equality tests of that axis decide its control flow (see [`Peel`]).
    fn region(&mut self, g: &mut FnGen<'a, 'ctx>, r: RegionId) -> R<()> {
        self.prefetch_next_blocks(g, &self.plan.regions[r])?;
        let Some((axis, tests)) = self.peelable_tests(r) else {
            return self.thread_loops(g, r, None);
        };
        let i64t = g.m.ctx.i64_type();
        let mut picked = Vec::new();
        for (cond, eq) in &tests {
            let Some((c, off)) = self.block_operands(g, eq.value, eq.offset, true)? else {
                return self.thread_loops(g, r, None);
            };
            picked.push((*cond, g.b.build_int_sub(c, off, "picked")?));
        }
        // The picked indices in order (one test: both the same).
        let first = picked[0].1;
        let last = picked.last().map_or(first, |p| p.1);
        let less = g.b.build_int_compare(IP::SLT, first, last, "")?;
        let lo = g.b.build_select(less, first, last, "")?.into_int_value();
        let hi = g.b.build_select(less, last, first, "")?.into_int_value();
        let one = i64t.const_int(1, false);
        let lo1 = g.b.build_int_add(lo, one, "")?;
        let hi1 = g.b.build_int_add(hi, one, "")?;
        let after_lo = g.b.build_int_compare(IP::SGT, hi, lo, "")?;
        let hi_begin = g.b.build_select(after_lo, hi, lo1, "")?.into_int_value();
        let bool_t = g.m.ctx.bool_type();
        let none_hold: Vec<_> = picked
            .iter()
            .map(|(c, _)| (*c, bool_t.const_zero()))
            .collect();
        let at =
            |g: &mut FnGen<'a, 'ctx>, p: IntValue<'ctx>| -> R<Vec<(ValueId, IntValue<'ctx>)>> {
                picked
                    .iter()
                    .map(|(c, t)| Ok((*c, g.b.build_int_compare(IP::EQ, *t, p, "")?)))
                    .collect()
            };
        let mut parts = vec![
            (None, Some(lo), none_hold.clone(), false),
            (Some(lo), Some(lo1), at(g, lo)?, true),
        ];
        if picked.len() > 1 {
            parts.push((Some(lo1), Some(hi), none_hold.clone(), false));
            parts.push((Some(hi_begin), Some(hi1), at(g, hi)?, true));
        }
        parts.push((Some(hi1), None, none_hold, false));
        for (begin, end, known, single) in parts {
            let peel = Peel {
                axis,
                begin,
                end,
                known,
                single,
            };
            self.thread_loops(g, r, Some(&peel))?;
        }
        Ok(())
    }

    /// Equality tests worth peeling region `r` by: one or two `Let`s of the
    /// region (at any depth) that compare the innermost loop axis' thread or
    /// grid index with a block-level value (`j == 0`, `j == m - 1`), when some
    /// `if` of the region reads or writes memory under a condition (masked
    /// loads and stores, or scatters, in a vectorised loop). Only in regions
    /// all threads run, whose thread loops no equality guard narrows already.
    fn peelable_tests(&self, r: RegionId) -> Option<(usize, Vec<(ValueId, AxisEqual)>)> {
        let reg = &self.plan.regions[r];
        if !reg.preds.is_empty() || reg.init.is_some() || reg.brk.is_some() {
            return None;
        }
        let geo = &self.plan.geometry;
        if let Some(guard) = self.whole_region_guard(reg) {
            if guard.iter().any(|c| geo.axis_equal(*c).is_some()) {
                return None;
            }
        }
        let axis = if self.plan.y_inner[r] { 1 } else { 0 };
        let mut tests: Vec<(ValueId, AxisEqual)> = Vec::new();
        let mut guarded_memory = false;
        fn walk(
            stmts: &mut dyn Iterator<Item = &Stmt>,
            geo: &super::geometry::GeometryValues<'_>,
            axis: usize,
            tests: &mut Vec<(ValueId, AxisEqual)>,
            guarded_memory: &mut bool,
        ) {
            for s in stmts {
                match s {
                    Stmt::Let { value, .. } => {
                        if let Some(eq) = geo.axis_equal(*value) {
                            if eq.axis == axis && eq.every.is_none() {
                                tests.push((*value, eq));
                            }
                        }
                    }
                    Stmt::If {
                        then_block,
                        else_block,
                        ..
                    } => {
                        *guarded_memory |= super::plan::accesses_memory(then_block)
                            || super::plan::accesses_memory(else_block);
                        walk(
                            &mut then_block.stmts.iter().chain(&else_block.stmts),
                            geo,
                            axis,
                            tests,
                            guarded_memory,
                        );
                    }
                    _ => {}
                }
            }
        }
        walk(
            &mut reg.stmts.iter().copied(),
            geo,
            axis,
            &mut tests,
            &mut guarded_memory,
        );
        (guarded_memory && (1..=2).contains(&tests.len())).then_some((axis, tests))
    }

    /// The loops over region `r`'s threads; with `peel`, over one part of
    /// them only, in which the peeled guard is known.
    fn thread_loops(
        &mut self,
        g: &mut FnGen<'a, 'ctx>,
        r: RegionId,
        peel: Option<&Peel<'ctx>>,
    ) -> R<()> {
        let ctx = g.m.ctx;
        let i64t = ctx.i64_type();
        let i32t = ctx.i32_type();
        let reg = &self.plan.regions[r];
        // The thread loop nest: `z` outermost; `x` innermost unless the
        // region's accesses are contiguous along `y` (any order of a region's
        // threads is a valid schedule: they only meet at barriers).
        let order: [usize; 3] = if self.plan.y_inner[r] {
            [2, 0, 1]
        } else {
            [2, 1, 0]
        };
        let names = ["tx", "ty", "tz"];
        let heads: Vec<_> = order.iter().map(|&a| g.new_block(names[a])).collect();
        let latches: Vec<_> = order
            .iter()
            .map(|&a| g.new_block(&format!("{}.next", names[a])))
            .collect();
        let xl = latches[2];
        let exit = g.new_block("threads.end");
        // A region for the threads with `threadIdx.x < b` or `i < n` (a grid
        // index) loops over those alone.
        let mut ends = self.thread_ends(g, reg)?;
        if let Some(p) = peel {
            self.peel_part(g, p, &mut ends)?;
            if let Some(st) = g.simt.as_mut() {
                st.known = p.known.iter().copied().collect();
            }
        }
        self.prefetch_ahead(g, reg)?;
        if ends.bounded {
            let mut none = ctx.bool_type().const_zero();
            for (b, e) in ends.begin.iter().zip(ends.end) {
                let empty = g.b.build_int_compare(IP::UGE, *b, e, "")?;
                none = g.b.build_or(none, empty, "")?;
            }
            g.b.build_conditional_branch(none, exit, heads[0])?;
        } else {
            g.b.build_unconditional_branch(heads[0])?;
        }
        let pre_branch = g.current();
        // `threadIdx` counts in `i32` from 0 with `nuw nsw` steps: LLVM knows
        // it is non-negative, so sign extensions become zero extensions.
        let mut phis = Vec::with_capacity(3);
        let mut xyz = [i32t.const_zero(); 3];
        for k in 0..3 {
            g.b.position_at_end(heads[k]);
            let phi = g.b.build_phi(i32t, names[order[k]])?;
            xyz[order[k]] = phi.as_basic_value().into_int_value();
            phis.push(phi);
            if k < 2 {
                g.b.build_unconditional_branch(heads[k + 1])?;
            }
        }
        let [xv, yv, zv] = xyz;
        let z64 = g.b.build_int_z_extend(zv, i64t, "")?;
        let y64 = g.b.build_int_z_extend(yv, i64t, "")?;
        let x64 = g.b.build_int_z_extend(xv, i64t, "")?;
        let t = g.b.build_int_nuw_mul(z64, self.bdim[1], "")?;
        let t = g.b.build_int_nuw_add(t, y64, "")?;
        let t = g.b.build_int_nuw_mul(t, self.bdim[0], "")?;
        let tid = g.b.build_int_nuw_add(t, x64, "tid")?;
        let xyz = [xv, yv, zv];
        // A part of a peeled region that is one index along the axis: its
        // innermost loop stays scalar (LLVM may still vectorise an outer one).
        let vectorize = peel.is_none_or(|p| !p.single);
        let inner = order[2];
        let interleave = if self.plan.mergeable[inner] { 2 } else { 1 };
        let loop_id = ThreadLoopId::new(ctx, self.access_group, vectorize, interleave);
        if let Some(st) = g.simt.as_mut() {
            st.tid = Some(tid);
            st.tid_xyz = Some(xyz);
            st.parallel_loop = Some(loop_id);
        }
        // From here on, `tid` is the thread's slot in scratch: `y` fastest
        // when the kernel's accesses run along `y` (and no warp function
        // needs warps' lanes next to each other), so the thread loops read
        // and write their scratch items contiguously.
        let tid = if self.plan.scratch_y_major {
            let s = g.b.build_int_nuw_mul(z64, self.bdim[0], "")?;
            let s = g.b.build_int_nuw_add(s, x64, "")?;
            let s = g.b.build_int_nuw_mul(s, self.bdim[1], "")?;
            g.b.build_int_nuw_add(s, y64, "slot")?
        } else {
            tid
        };
        // The region's accesses to a scratch local go to a copy of the
        // thread's slot, stored back at the end of the thread's iteration:
        // the copy becomes SSA values, where a load after a (masked) store to
        // the slot would wait for the store to reach memory.
        let (mut vals, mut read, mut written) = (Vec::new(), Vec::new(), Vec::new());
        for s in &reg.stmts {
            super::plan::uses(s, &mut vals, &mut read, &mut written);
        }
        let mut saved_locals = Vec::new();
        let mut write_back = Vec::new();
        for (&l, &(base, size)) in &self.locals {
            let p = self.slot_ptr(g, base, size, tid)?;
            saved_locals.push((l, g.locals[l as usize]));
            let id = LocalId(l);
            if !read.contains(&id) && !written.contains(&id) {
                g.locals[l as usize] = p;
                continue;
            }
            let t = types::ty(ctx, &g.f.locals[l as usize].ty);
            let copy = self.local_copies[&l];
            let v = g.b.build_load(t, p, "")?;
            if let Some(i) = v.as_instruction_value() {
                loop_id.mark_parallel(ctx, i);
            }
            g.b.build_store(copy, v)?;
            g.locals[l as usize] = copy;
            if written.contains(&id) {
                write_back.push((copy, p, t));
            }
        }
        // Threads that returned skip the rest of the block.
        let tret = g.new_block("thread.return");
        if let Some(ex) = self.exited {
            let p = gep(g, ex, tid)?;
            let f = g.b.build_load(ctx.i8_type(), p, "exited")?.into_int_value();
            let gone =
                g.b.build_int_compare(IP::NE, f, ctx.i8_type().const_zero(), "")?;
            let live = g.new_block("thread.live");
            g.b.build_conditional_branch(gone, xl, live)?;
            g.b.position_at_end(live);
        }
        g.thread_return = Some(tret);
        // Values from other regions.
        for &v in &self.plan.reloads[r] {
            let val = if let Some(&(base, size, op)) = self.arrays.get(&v) {
                self.local_array(g, base, size, op, tid)?
            } else {
                self.load_val(g, v, tid, g.simt.as_ref().and_then(|s| s.parallel_loop))?
            };
            g.values[v.0 as usize] = Some(val);
        }
        // Locals holding thread geometry: recomputed, not reloaded.
        // Only those the region reads: the others' block-level operands may
        // not be computed yet (a region before the local's store).
        let mut recomputed = Vec::new();
        for (l, class) in self.plan.locals.iter().enumerate() {
            if *class != LocalClass::Recomputed || !read.contains(&LocalId(l as u32)) {
                continue;
            }
            let Some(rc) = &self.plan.geometry.locals[l] else {
                continue;
            };
            let v = self.recompute(g, rc, &mut recomputed)?;
            g.b.build_store(g.locals[l], v)?;
        }
        // Induction locals of the lockstep loop this region is the body of.
        if let Some(&Pred::Loop(l)) = reg.preds.last() {
            for ind in &self.plan.inductions[l] {
                let v = self.induction(g, l, ind, &mut recomputed)?;
                g.b.build_store(g.locals[ind.local.0 as usize], v)?;
            }
        }
        // A loop's entering region: the threads outside it have left it.
        let never = i64t.const_int(i64::MAX as u64, false);
        if let Some(l) = reg.init {
            let p = self.slot_ptr(g, self.loop_state[l], 8, tid)?;
            g.b.build_store(p, never)?;
        }
        // Predicated regions run only the threads that took the branch and
        // that are in this iteration of the enclosing predicated loops.
        for (k, &pred) in reg.preds.iter().enumerate() {
            let on = g.new_block("thread.on");
            match pred {
                // The loop bounds run only threads that pass.
                Pred::Cond(..) if ends.implied_preds.contains(&k) => {
                    g.b.build_unconditional_branch(on)?;
                }
                Pred::Cond(c, taken) => {
                    let cv = g.v(c)?.into_int_value();
                    if taken {
                        g.b.build_conditional_branch(cv, on, xl)?;
                    } else {
                        g.b.build_conditional_branch(cv, xl, on)?;
                    }
                }
                // A counted loop's threads test their own range at the top of the body.
                Pred::Loop(l) if self.plan.counted[l].is_some() => {
                    g.b.build_unconditional_branch(on)?;
                }
                Pred::Loop(l) => {
                    let p = self.slot_ptr(g, self.loop_state[l], 8, tid)?;
                    let st = g.b.build_load(i64t, p, "")?.into_int_value();
                    let it =
                        g.b.build_load(i64t, self.loop_iter[l], "")?
                            .into_int_value();
                    let inside = g.b.build_int_compare(IP::SLT, st, it, "")?;
                    g.b.build_conditional_branch(inside, on, xl)?;
                }
            }
            g.b.position_at_end(on);
        }
        if let Some(l) = reg.init {
            let p = self.slot_ptr(g, self.loop_state[l], 8, tid)?;
            g.b.build_store(p, i64t.const_zero())?;
        }
        // `break`/`continue` of a predicated loop: this thread leaves the loop
        // or sits out the rest of this iteration.
        let jumps = match reg.brk {
            // A counted loop has no state: `break` (its range test) just
            // moves on to the next thread; it has no `continue`.
            Some(l) if self.plan.counted[l].is_some() => {
                g.loops.push((xl, xl));
                true
            }
            Some(l) => {
                let brk = g.new_block("thread.break");
                let cont = g.new_block("thread.continue");
                let here = g.current();
                let p = self.slot_ptr(g, self.loop_state[l], 8, tid)?;
                g.b.position_at_end(brk);
                g.b.build_store(p, never)?;
                g.b.build_unconditional_branch(xl)?;
                g.b.position_at_end(cont);
                let it =
                    g.b.build_load(i64t, self.loop_iter[l], "")?
                        .into_int_value();
                g.b.build_store(p, it)?;
                g.b.build_unconditional_branch(xl)?;
                g.b.position_at_end(here);
                g.loops.push((cont, brk));
                true
            }
            None => false,
        };
        for (k, s) in reg.stmts.iter().enumerate() {
            if g.terminated() {
                break;
            }
            match s {
                // The loop bounds run exactly the threads that pass the guard.
                Stmt::If { then_block, .. } if ends.guard_implied && k + 1 == reg.stmts.len() => {
                    g.block(then_block)?
                }
                Stmt::Let { value, op, .. } => {
                    let val = match op {
                        Op::WarpShuffle {
                            kind,
                            mask,
                            value: src,
                            lane,
                            width,
                        } => self.shuffle(g, *kind, *mask, *src, *lane, *width, tid)?,
                        Op::WarpVote { kind, mask, pred } => {
                            self.vote(g, *kind, *mask, *pred, tid)?
                        }
                        Op::LocalArray { .. } if self.arrays.contains_key(value) => {
                            let (base, size, op) = self.arrays[value];
                            self.local_array(g, base, size, op, tid)?
                        }
                        _ => {
                            g.stmt(s)?;
                            g.v(*value)?
                        }
                    };
                    g.values[value.0 as usize] = Some(val);
                    if self.vals.contains_key(value) {
                        self.store_val(g, *value, val, tid)?;
                    }
                    if let Some(slot) = self.uslots.get(value) {
                        g.b.build_store(*slot, val)?;
                    }
                }
                _ => g.stmt(s)?,
            }
        }
        if jumps {
            g.loops.pop();
        }
        if !g.terminated() {
            g.b.build_unconditional_branch(xl)?;
        }
        g.b.position_at_end(tret);
        if let Some(ex) = self.exited {
            let p = gep(g, ex, tid)?;
            g.b.build_store(p, ctx.i8_type().const_int(1, false))?;
        }
        g.b.build_unconditional_branch(xl)?;
        // Every way out of a thread's iteration passes the innermost latch.
        g.b.position_at_end(xl);
        for (copy, p, t) in write_back {
            let v = g.b.build_load(t, copy, "")?;
            let st = g.b.build_store(p, v)?;
            loop_id.mark_parallel(ctx, st);
        }
        // Latches.
        for k in (0..3).rev() {
            let a = order[k];
            g.b.position_at_end(latches[k]);
            let step = i32t.const_int(ends.step[a], false);
            let n = nuw_nsw_add(g, xyz[a], step)?;
            let c = g.b.build_int_compare(IP::ULT, n, ends.end[a], "")?;
            let out = if k == 0 { exit } else { latches[k - 1] };
            let br = g.b.build_conditional_branch(c, heads[k], out)?;
            if k == 2 {
                loop_id.attach(ctx, br);
            }
            let from = heads.get(k.wrapping_sub(1)).copied().unwrap_or(pre_branch);
            phis[k].add_incoming(&[(&ends.begin[a], from), (&n, latches[k])]);
        }
        g.b.position_at_end(exit);
        // Per-thread values are gone after the loop.
        g.thread_return = None;
        if let Some(st) = g.simt.as_mut() {
            st.tid = None;
            st.tid_xyz = None;
            st.parallel_loop = None;
            st.known.clear();
        }
        for (l, p) in saved_locals {
            g.locals[l as usize] = p;
        }
        for &v in self.plan.reloads[r].iter().chain(&recomputed) {
            g.values[v.0 as usize] = None;
        }
        for s in &reg.stmts {
            if let Stmt::Let { value, .. } = s {
                g.values[value.0 as usize] = None;
            }
        }
        Ok(())
    }

    /// The ends of the region's thread loops. A condition of its predicates,
    /// or a conjunct of the guard that is all the region does (see
    /// [`Self::whole_region_guard`]), of the form `G < b` (see
    /// [`super::geometry::GeometryValues::axis_bound`], `b` and `G`'s offset
    /// block-level) ends its axis' loop at `b - offset`, clamped to the block.
    /// The predicates are still tested per thread; the guard is not when every
    /// conjunct became a bound.
    fn thread_ends(&self, g: &mut FnGen<'a, 'ctx>, reg: &Region<'a>) -> R<ThreadEnds<'ctx>> {
        let zero = g.m.ctx.i32_type().const_zero();
        let mut ends = ThreadEnds {
            begin: [zero; 3],
            end: self.block_dim,
            step: [1; 3],
            picked: [false; 3],
            bounded: false,
            guard_implied: false,
            implied_preds: Vec::new(),
        };
        if reg.init.is_some() {
            // The entering region marks every thread, taken or not.
            return Ok(ends);
        }
        for (k, &p) in reg.preds.iter().enumerate() {
            if let Pred::Cond(c, true) = p {
                let mut all = true;
                for x in self.pred_conjuncts(g.f, c) {
                    // Evaluated in an earlier region: block-level code may
                    // have changed a local since, so only values count.
                    let bounded = self.bound_axis(g, x, false, &mut ends)?;
                    ends.bounded |= bounded;
                    all &= bounded;
                }
                if all {
                    ends.implied_preds.push(k);
                }
            }
        }
        if let Some(conjuncts) = self.whole_region_guard(reg) {
            ends.guard_implied = true;
            for c in conjuncts {
                let bounded = self.bound_axis(g, c, true, &mut ends)?;
                ends.bounded |= bounded;
                ends.guard_implied &= bounded;
            }
        }
        Ok(ends)
    }

    /// Lowers `end[axis]` to the threads that satisfy `cond`, when `cond` is
    /// an axis bound with block-level operands (values, or with `locals` also
    /// reads of locals only the block writes), or `end` to no threads when
    /// `cond` is itself such a value and false (`blockIdx.x > 0`).
    fn bound_axis(
        &self,
        g: &mut FnGen<'a, 'ctx>,
        cond: ValueId,
        locals: bool,
        ends: &mut ThreadEnds<'ctx>,
    ) -> R<bool> {
        if let Some(eq) = self.plan.geometry.axis_equal(cond) {
            return self.pick_threads(g, eq, locals, ends);
        }
        let Some(ab) = self.plan.geometry.axis_bound(cond) else {
            if g.f.value_type(cond) != &Type::BOOL {
                return Ok(false);
            }
            let Some(c) = self.block_value_now(g, cond, locals)? else {
                return Ok(false);
            };
            let zero = g.m.ctx.i32_type().const_zero();
            ends.end[0] =
                g.b.build_select(c.into_int_value(), ends.end[0], zero, "end")?
                    .into_int_value();
            return Ok(true);
        };
        let i64t = g.m.ctx.i64_type();
        let Some((b, off)) = self.block_operands(g, ab.bound, ab.offset, locals)? else {
            return Ok(false);
        };
        let signed = matches!(g.f.value_type(ab.bound), Type::Scalar(s) if s.is_signed_int());
        let (lt, le) = if signed {
            (IP::SLT, IP::SLE)
        } else {
            (IP::ULT, IP::ULE)
        };
        let dim = self.bdim[ab.axis];
        // Threads `t < b - off` (`t <= b - off`), none when `b - off` is
        // below 0 (or 0): `b - off` is only used when it is not negative, so
        // it cannot overflow (`off` is).
        let none = if ab.inclusive {
            g.b.build_int_compare(lt, b, off, "")?
        } else {
            g.b.build_int_compare(le, b, off, "")?
        };
        let d = g.b.build_int_sub(b, off, "")?;
        let small = g.b.build_int_compare(lt, d, dim, "")?;
        let last = if ab.inclusive {
            g.b.build_int_add(d, i64t.const_int(1, false), "")?
        } else {
            d
        };
        let e = g.b.build_select(small, last, dim, "")?.into_int_value();
        let e =
            g.b.build_select(none, i64t.const_zero(), e, "")?
                .into_int_value();
        let e = g.b.build_int_truncate(e, g.m.ctx.i32_type(), "")?;
        ends.end_by(g, ab.axis, e)?;
        Ok(true)
    }

    /// Narrows `ends` to one part of a peeled region (its range along the
    /// axis, clamped to the block).
    fn peel_part(
        &self,
        g: &mut FnGen<'a, 'ctx>,
        p: &Peel<'ctx>,
        ends: &mut ThreadEnds<'ctx>,
    ) -> R<()> {
        let i64t = g.m.ctx.i64_type();
        let i32t = g.m.ctx.i32_type();
        let dim = self.bdim[p.axis];
        let clamp = |g: &mut FnGen<'a, 'ctx>, v: IntValue<'ctx>| -> R<IntValue<'ctx>> {
            let neg = g.b.build_int_compare(IP::SLT, v, i64t.const_zero(), "")?;
            let v =
                g.b.build_select(neg, i64t.const_zero(), v, "")?
                    .into_int_value();
            let big = g.b.build_int_compare(IP::SGT, v, dim, "")?;
            let v = g.b.build_select(big, dim, v, "")?.into_int_value();
            Ok(g.b.build_int_truncate(v, i32t, "")?)
        };
        let a = p.axis;
        if let Some(b) = p.begin {
            let b = clamp(g, b)?;
            let later = g.b.build_int_compare(IP::UGT, b, ends.begin[a], "")?;
            ends.begin[a] =
                g.b.build_select(later, b, ends.begin[a], "")?
                    .into_int_value();
        }
        if let Some(e) = p.end {
            let e = clamp(g, e)?;
            ends.end_by(g, a, e)?;
        }
        ends.bounded = true;
        Ok(())
    }

    /// Narrows `ends` to the threads of an [`AxisEqual`] condition with
    /// block-level operands: one index along its axis, or every 32nd from
    /// the lane's value. None when the value is out of range.
    fn pick_threads(
        &self,
        g: &mut FnGen<'a, 'ctx>,
        eq: AxisEqual,
        locals: bool,
        ends: &mut ThreadEnds<'ctx>,
    ) -> R<bool> {
        let a = eq.axis;
        if ends.picked[a] {
            return Ok(false);
        }
        let i64t = g.m.ctx.i64_type();
        let i32t = g.m.ctx.i32_type();
        let Some((c, off)) = self.block_operands(g, eq.value, eq.offset, locals)? else {
            return Ok(false);
        };
        let t = g.b.build_int_sub(c, off, "")?;
        let limit = match eq.every {
            Some(every) => i64t.const_int(every, false),
            None => self.bdim[a],
        };
        let low = g.b.build_int_compare(IP::SGE, t, i64t.const_zero(), "")?;
        let high = g.b.build_int_compare(IP::SLT, t, limit, "")?;
        let valid = g.b.build_and(low, high, "")?;
        let t32 = g.b.build_int_truncate(t, i32t, "")?;
        let zero = i32t.const_zero();
        let first = g.b.build_select(valid, t32, zero, "")?.into_int_value();
        let last = match eq.every {
            Some(_) => ends.end[a],
            None => nuw_nsw_add(g, first, i32t.const_int(1, false))?,
        };
        let last = g.b.build_select(valid, last, zero, "")?.into_int_value();
        ends.end_by(g, a, last)?;
        ends.begin[a] = first;
        if let Some(every) = eq.every {
            ends.step[a] = every;
        }
        ends.picked[a] = true;
        Ok(true)
    }

    /// Emits the steps of `rc` in this thread's context; the values it
    /// defines (to forget after the region) go to `defined`.
    fn recompute(
        &self,
        g: &mut FnGen<'a, 'ctx>,
        rc: &Recompute<'a>,
        defined: &mut Vec<ValueId>,
    ) -> R<BasicValueEnum<'ctx>> {
        for step in &rc.steps {
            match *step {
                Step::Emit(s) => {
                    if let Stmt::Let { value, .. } = s {
                        // Block-level values are already there, for the whole block.
                        if !self.plan.blocklevel[value.0 as usize] {
                            g.stmt(s)?;
                            defined.push(*value);
                        }
                    }
                }
                Step::Alias { value, of } => {
                    if !self.plan.blocklevel[value.0 as usize] {
                        g.values[value.0 as usize] = Some(g.v(of)?);
                        defined.push(value);
                    }
                }
            }
        }
        g.v(rc.value)
    }

    /// Whether thread 0 (whose counted-loop value is the smallest of the
    /// block's) is still in range: `init(0) + (iteration - 1) * step < end`.
    fn thread0_in_range(
        &self,
        g: &mut FnGen<'a, 'ctx>,
        l: LoopId,
        c: &Counted,
    ) -> R<IntValue<'ctx>> {
        let v = self.thread0_value(g, l, c)?;
        let end = g.v(c.end)?.into_int_value();
        let signed = matches!(g.f.value_type(c.end), Type::Scalar(s) if !s.is_unsigned_int());
        let lt = if signed { IP::SLT } else { IP::ULT };
        Ok(g.b.build_int_compare(lt, v, end, "in.range")?)
    }

    /// This block's share of the iterations of the split loop `l` (see
    /// `plan::split_loop`): part `p` of `P` of thread 0's `K` iterations
    /// (thread 0 runs the most), `K / P` each and one more for the first
    /// `K % P` parts. Sets the iteration counter before the share's first
    /// iteration and returns its last.
    fn split_window(&self, g: &mut FnGen<'a, 'ctx>, l: LoopId, c: &Counted) -> R<IntValue<'ctx>> {
        let i64t = g.m.ctx.i64_type();
        let one = i64t.const_int(1, false);
        g.b.build_store(self.loop_iter[l], one)?;
        let first = self.thread0_value(g, l, c)?;
        let first = g.b.build_int_s_extend_or_bit_cast(first, i64t, "")?;
        let end = g.v(c.end)?.into_int_value();
        let signed = matches!(g.f.value_type(c.end), Type::Scalar(s) if !s.is_unsigned_int());
        let end = g.b.build_int_cast_sign_flag(end, i64t, signed, "")?;
        let step = g.v(c.induction.step)?.into_int_value();
        let step = g.b.build_int_s_extend_or_bit_cast(step, i64t, "")?;
        // K = ceil((end - first) / step) when end > first; a zero step
        // (which never ends) gives every iteration to every part.
        let lt = if signed { IP::SLT } else { IP::ULT };
        let some = g.b.build_int_compare(lt, first, end, "")?;
        let zero_step = g.b.build_int_compare(IP::EQ, step, i64t.const_zero(), "")?;
        let divisor = g.b.build_select(zero_step, one, step, "")?.into_int_value();
        let span = g.b.build_int_sub(end, first, "")?;
        let span = g.b.build_int_add(span, divisor, "")?;
        let span = g.b.build_int_sub(span, one, "")?;
        let k = g.b.build_int_unsigned_div(span, divisor, "")?;
        let k =
            g.b.build_select(some, k, i64t.const_zero(), "")?
                .into_int_value();
        let part = g.b.build_int_z_extend(self.split[0], i64t, "")?;
        let parts = g.b.build_int_z_extend(self.split[1], i64t, "")?;
        let parts =
            g.b.build_select(
                g.b.build_int_compare(IP::EQ, parts, i64t.const_zero(), "")?,
                one,
                parts,
                "",
            )?
            .into_int_value();
        let each = g.b.build_int_unsigned_div(k, parts, "")?;
        let extra = g.b.build_int_unsigned_rem(k, parts, "")?;
        let start = |g: &mut FnGen<'a, 'ctx>, p: IntValue<'ctx>| -> R<IntValue<'ctx>> {
            let base = g.b.build_int_mul(each, p, "")?;
            let few = g.b.build_int_compare(IP::ULT, p, extra, "")?;
            let more = g.b.build_select(few, p, extra, "")?.into_int_value();
            Ok(g.b.build_int_add(base, more, "")?)
        };
        let lo = start(g, part)?;
        let next = g.b.build_int_add(part, one, "")?;
        let hi = start(g, next)?;
        let all = i64t.const_int(u64::MAX, false);
        let hi = g.b.build_select(zero_step, all, hi, "")?.into_int_value();
        let lo =
            g.b.build_select(zero_step, i64t.const_zero(), lo, "")?
                .into_int_value();
        // The counter counts iterations from 1: the share's first is `lo + 1`.
        g.b.build_store(self.loop_iter[l], lo)?;
        Ok(hi)
    }

    /// Thread 0's induction value in this iteration of counted loop `l`.
    fn thread0_value(&self, g: &mut FnGen<'a, 'ctx>, l: LoopId, c: &Counted) -> R<IntValue<'ctx>> {
        let i32t = g.m.ctx.i32_type();
        let zero = [i32t.const_zero(); 3];
        let saved = g.simt.as_mut().map(|st| {
            let old = (st.tid_xyz, st.tid);
            st.tid_xyz = Some(zero);
            st.tid = Some(g.m.ctx.i64_type().const_zero());
            old
        });
        let mut defined = Vec::new();
        let v = self.induction(g, l, &c.induction, &mut defined);
        if let (Some(st), Some((xyz, tid))) = (g.simt.as_mut(), saved) {
            st.tid_xyz = xyz;
            st.tid = tid;
        }
        for d in defined {
            g.values[d.0 as usize] = None;
        }
        Ok(v?.into_int_value())
    }

    /// In the region of a counted loop (a grid-stride loop), asks the caches
    /// now for the elements the block's threads read `PREFETCH_AHEAD`
    /// iterations later from arrays indexed by the loop's variable. A block
    /// of a grid-stride loop reads a block-wide piece every `gridsize`
    /// elements: pieces too far apart for the hardware prefetchers to follow,
    /// so each iteration would wait for memory (measured on the shared-memory
    /// histogram, 64 blocks of 128: 7.8 ms; the same work in blocks of 512,
    /// 4.4 ms). Prefetches never fault, past an array's end included.
    fn prefetch_ahead(&self, g: &mut FnGen<'a, 'ctx>, reg: &Region<'a>) -> R<()> {
        let Some(&Pred::Loop(l)) = reg.preds.last() else {
            return Ok(());
        };
        let Some(c) = self.plan.counted[l] else {
            return Ok(());
        };
        let Some((axis, _)) = self.plan.geometry.thread_axis(c.induction.init) else {
            return Ok(());
        };
        // The loop variable: the induction local, or a local given its value
        // (`for i in range(...)` copies the hidden iterator into `i`). Only
        // speed is at stake when this guesses wrong: prefetches never fault.
        let geo = &self.plan.geometry;
        let mut vars = vec![c.induction.local];
        for s in &reg.stmts {
            if let Stmt::Store { local, value } = s {
                if geo.unwrapped_load_of(*value) == Some(c.induction.local) {
                    vars.push(*local);
                }
            }
        }
        let mut arrays = Vec::new();
        for s in &reg.stmts {
            loads_at(s, &vars, geo, &mut arrays);
        }
        if arrays.is_empty() || !self.plan.blocklevel[c.induction.step.0 as usize] {
            return Ok(());
        }
        let ctx = g.m.ctx;
        let i64t = ctx.i64_type();
        let v0 = self.thread0_value(g, l, &c)?;
        let v0 = g.b.build_int_s_extend_or_bit_cast(v0, i64t, "")?;
        let step = g.v(c.induction.step)?.into_int_value();
        let step = g.b.build_int_s_extend_or_bit_cast(step, i64t, "")?;
        let ahead =
            g.b.build_int_mul(step, i64t.const_int(PREFETCH_AHEAD, false), "")?;
        let first = g.b.build_int_add(v0, ahead, "ahead")?;
        // The block's piece: blockDim elements.
        for a in arrays {
            self.prefetch_piece(g, a, first, self.bdim[axis], PREFETCH_LINES)?;
        }
        Ok(())
    }

    /// Prefetches `count` elements of 1-D array `a` (a block-level value)
    /// from index `first` on, at most `lines` cache lines.
    fn prefetch_piece(
        &self,
        g: &mut FnGen<'a, 'ctx>,
        a: ValueId,
        first: IntValue<'ctx>,
        count: IntValue<'ctx>,
        lines: u64,
    ) -> R<()> {
        let Some(arr) = self.block_value_now(g, a, true)? else {
            return Ok(());
        };
        let ctx = g.m.ctx;
        let i64t = ctx.i64_type();
        let arr = arr.into_struct_value();
        let data = g.b.build_extract_value(arr, 0, "")?.into_pointer_value();
        let strides = g.b.build_extract_value(arr, 2, "")?.into_array_value();
        let stride = g.b.build_extract_value(strides, 0, "")?.into_int_value();
        let off = g.b.build_int_mul(first, stride, "")?;
        // SAFETY (for LLVM): only prefetched, never dereferenced.
        let start = unsafe { g.b.build_gep(ctx.i8_type(), data, &[off], "")? };
        let span = g.b.build_int_mul(count, stride, "")?;
        let most = i64t.const_int(lines * 64, false);
        let small = g.b.build_int_compare(IP::ULT, span, most, "")?;
        let span = g.b.build_select(small, span, most, "")?.into_int_value();
        self.prefetch_lines(g, start, span)
    }

    /// A region that reads 1-D arrays at the thread's grid index (`a[i]` with
    /// `i = cuda.grid(1)`) prefetches what the block `NEXT_BLOCKS` ahead
    /// will read there: a worker runs consecutive blocks, and one block's few
    /// lines are too short a stream for the hardware prefetchers to run ahead.
    fn prefetch_next_blocks(&self, g: &mut FnGen<'a, 'ctx>, reg: &Region<'a>) -> R<()> {
        if reg.preds.iter().any(|p| matches!(p, Pred::Loop(_))) {
            return Ok(());
        }
        let geo = &self.plan.geometry;
        let mut offset = None;
        let mut vars = Vec::new();
        for l in 0..g.f.locals.len() {
            if let Some((0, Some(off))) = geo.local_axis(LocalId(l as u32)) {
                vars.push(LocalId(l as u32));
                offset.get_or_insert(off);
            }
        }
        let mut arrays = Vec::new();
        for s in &reg.stmts {
            loads_at(s, &vars, geo, &mut arrays);
        }
        let Some(off) = offset else {
            return Ok(());
        };
        if arrays.is_empty() {
            return Ok(());
        }
        let Some(off) = self.block_int(g, off, true)? else {
            return Ok(());
        };
        let ctx = g.m.ctx;
        let i64t = ctx.i64_type();
        let ahead =
            g.b.build_int_mul(self.bdim[0], i64t.const_int(NEXT_BLOCKS, false), "")?;
        let first = g.b.build_int_add(off, ahead, "")?;
        for a in arrays {
            self.prefetch_piece(g, a, first, self.bdim[0], 2 * PREFETCH_LINES)?;
        }
        Ok(())
    }

    /// Prefetches the cache lines of `span` bytes from `start` (reads, kept in
    /// every cache level).
    fn prefetch_lines(
        &self,
        g: &mut FnGen<'a, 'ctx>,
        start: PointerValue<'ctx>,
        span: IntValue<'ctx>,
    ) -> R<()> {
        let ctx = g.m.ctx;
        let i64t = ctx.i64_type();
        let i32t = ctx.i32_type();
        {
            let head = g.new_block("prefetch");
            let done = g.new_block("prefetch.done");
            let pre = g.current();
            g.b.build_unconditional_branch(head)?;
            g.b.position_at_end(head);
            let at = g.b.build_phi(i64t, "at")?;
            let p = unsafe {
                g.b.build_gep(
                    ctx.i8_type(),
                    start,
                    &[at.as_basic_value().into_int_value()],
                    "",
                )?
            };
            let (rw, locality, data_cache) = (0, 3, 1);
            g.intrinsic_call(
                "llvm.prefetch",
                &[p.get_type().into()],
                &[
                    p.into(),
                    i32t.const_int(rw, false).into(),
                    i32t.const_int(locality, false).into(),
                    i32t.const_int(data_cache, false).into(),
                ],
            )?;
            let next = g.b.build_int_add(
                at.as_basic_value().into_int_value(),
                i64t.const_int(64, false),
                "",
            )?;
            let more = g.b.build_int_compare(IP::SLT, next, span, "")?;
            let latch = g.current();
            g.b.build_conditional_branch(more, head, done)?;
            at.add_incoming(&[(&i64t.const_zero(), pre), (&next, latch)]);
            g.b.position_at_end(done);
        }
        Ok(())
    }

    /// `init + (iteration - 1) * step`: the induction local's value at the
    /// start of this iteration of lockstep loop `l`, for a thread still in it.
    fn induction(
        &self,
        g: &mut FnGen<'a, 'ctx>,
        l: LoopId,
        ind: &Induction,
        defined: &mut Vec<ValueId>,
    ) -> R<BasicValueEnum<'ctx>> {
        let i64t = g.m.ctx.i64_type();
        let geo = &self.plan.geometry;
        let Some(rc) = geo.value(ind.init) else {
            return unsupported("an induction without its initial value");
        };
        let init = self.recompute(g, &rc, defined)?.into_int_value();
        let step = g.v(ind.step)?.into_int_value();
        let it =
            g.b.build_load(i64t, self.loop_iter[l], "")?
                .into_int_value();
        let k = g.b.build_int_sub(it, i64t.const_int(1, false), "k")?;
        let k = g.b.build_int_cast(k, step.get_type(), "")?;
        // Both non-negative: so is the index (the loop stops before it
        // overflows), which lets LLVM drop Python's negative-index wrap.
        let v = if geo.nonneg(ind.init) && geo.nonneg(ind.step) {
            let kstep = g.b.build_int_nuw_mul(k, step, "")?;
            if let Some(i) = kstep.as_instruction() {
                let _ = i.set_no_signed_wrap_flag(true);
            }
            let v = nuw_nsw_add(g, init, kstep)?;
            // Reassociation drops the flags; the assumption keeps the sign.
            let nonneg =
                g.b.build_int_compare(IP::SGE, v, v.get_type().const_zero(), "")?;
            g.intrinsic_call("llvm.assume", &[], &[nonneg.into()])?;
            v
        } else {
            let kstep = g.b.build_int_mul(k, step, "")?;
            g.b.build_int_add(init, kstep, "")?
        };
        Ok(v.into())
    }

    /// `value` and `offset` (0 when `None`) as [`Self::block_int`]s: the
    /// operands of an axis bound or equality.
    fn block_operands(
        &self,
        g: &mut FnGen<'a, 'ctx>,
        value: ValueId,
        offset: Option<ValueId>,
        locals: bool,
    ) -> R<Option<(IntValue<'ctx>, IntValue<'ctx>)>> {
        let Some(v) = self.block_int(g, value, locals)? else {
            return Ok(None);
        };
        let off = match offset {
            Some(o) => self.block_int(g, o, locals)?,
            None => Some(g.m.ctx.i64_type().const_zero()),
        };
        Ok(off.map(|o| (v, o)))
    }

    /// Integer `v` widened to `i64`, when its value is the same for the whole
    /// block and known before the region's threads run (see
    /// [`Self::uniform_value`]).
    fn block_int(
        &self,
        g: &mut FnGen<'a, 'ctx>,
        v: ValueId,
        locals: bool,
    ) -> R<Option<IntValue<'ctx>>> {
        let Some(x) = self.block_value_now(g, v, locals)? else {
            return Ok(None);
        };
        let signed = matches!(g.f.value_type(v), Type::Scalar(s) if s.is_signed_int());
        Ok(Some(g.b.build_int_cast_sign_flag(
            x.into_int_value(),
            g.m.ctx.i64_type(),
            signed,
            "",
        )?))
    }

    /// [`Self::uniform_value`], leaving the values of the region as they
    /// were (its own statements define them again, later).
    fn block_value_now(
        &self,
        g: &mut FnGen<'a, 'ctx>,
        v: ValueId,
        locals: bool,
    ) -> R<Option<BasicValueEnum<'ctx>>> {
        let mut shadowed = Vec::new();
        let x = self.uniform_value(g, v, locals, &mut shadowed);
        for (d, old) in shadowed.into_iter().rev() {
            g.values[d.0 as usize] = old;
        }
        x
    }

    /// `v`'s value for the whole block, computed at the region's start: a
    /// block-level value; a read of a local only the block writes, when
    /// `locals` or when the kernel stores it once (an array parameter); an
    /// array's dimension or stride from such a value; or an item of a tuple
    /// of such values. Values defined on the
    /// way go to `shadowed` with what they replaced.
    fn uniform_value(
        &self,
        g: &mut FnGen<'a, 'ctx>,
        v: ValueId,
        locals: bool,
        shadowed: &mut Vec<(ValueId, Option<BasicValueEnum<'ctx>>)>,
    ) -> R<Option<BasicValueEnum<'ctx>>> {
        if self.plan.blocklevel[v.0 as usize] {
            return Ok(Some(g.v(v)?));
        }
        match self.plan.geometry.op_of(v) {
            Some(Op::LoadLocal(l)) => {
                let block = self.plan.locals[l.0 as usize] == LocalClass::Block;
                if !block || !(locals || stores_to(&g.f.body, *l) == 1) {
                    return Ok(None);
                }
                let t = types::ty(g.m.ctx, g.f.value_type(v));
                Ok(Some(g.b.build_load(t, g.locals[l.0 as usize], "")?))
            }
            // `A.shape[1]`: an item of a tuple built here.
            Some(Op::TupleGet(t, k)) => match self.plan.geometry.op_of(*t) {
                Some(Op::MakeTuple(items)) => match items.get(*k as usize) {
                    Some(&item) => self.uniform_value(g, item, locals, shadowed),
                    None => Ok(None),
                },
                _ => Ok(None),
            },
            // `m - 1`: arithmetic on such values, evaluated here.
            Some(op @ (Op::Const(_) | Op::Cast(_) | Op::Unary(..) | Op::Binary(..))) => {
                let Some(def) = self.plan.geometry.stmt_of(v) else {
                    return Ok(None);
                };
                for w in op.operands() {
                    let Some(x) = self.uniform_value(g, w, locals, shadowed)? else {
                        return Ok(None);
                    };
                    shadowed.push((w, g.values[w.0 as usize]));
                    g.values[w.0 as usize] = Some(x);
                }
                shadowed.push((v, g.values[v.0 as usize]));
                g.stmt(def)?;
                Ok(Some(g.v(v)?))
            }
            Some(Op::ArrayDim(a, _) | Op::ArrayStride(a, _)) => {
                let Some(av) = self.uniform_value(g, *a, locals, shadowed)? else {
                    return Ok(None);
                };
                let Some(def) = self.plan.geometry.stmt_of(v) else {
                    return Ok(None);
                };
                shadowed.push((*a, g.values[a.0 as usize]));
                g.values[a.0 as usize] = Some(av);
                shadowed.push((v, g.values[v.0 as usize]));
                g.stmt(def)?;
                Ok(Some(g.v(v)?))
            }
            _ => Ok(None),
        }
    }

    /// The conjuncts of the condition of an `if` (without `else`) that is all
    /// the region does: the statements before it only compute values and
    /// private locals used within the region, so a thread that fails the
    /// condition has no effect.
    fn whole_region_guard(&self, reg: &Region<'a>) -> Option<Vec<ValueId>> {
        let (last, before) = reg.stmts.split_last()?;
        let Stmt::If {
            cond, else_block, ..
        } = last
        else {
            return None;
        };
        if !else_block.stmts.is_empty() || !before.iter().all(|s| self.unobservable(s)) {
            return None;
        }
        let mut out = Vec::new();
        self.conjuncts(*cond, before, &mut out);
        Some(out)
    }

    /// Whether a thread that skips `s` changes nothing another thread, or a
    /// later region, sees.
    fn unobservable(&self, s: &Stmt) -> bool {
        match s {
            Stmt::Let { value, op, .. } => {
                let v = value.0 as usize;
                !self.plan.spilled[v]
                    && !self.plan.uniform_slot[v]
                    && matches!(
                        op,
                        Op::Const(_)
                            | Op::LoadLocal(_)
                            | Op::Geometry(..)
                            | Op::Unary(..)
                            | Op::Binary(..)
                            | Op::Compare(..)
                            | Op::Cast(_)
                            | Op::Select(..)
                            | Op::ArrayDim(..)
                            | Op::ArrayLoad(..)
                            | Op::MakeTuple(_)
                            | Op::TupleGet(..)
                    )
            }
            Stmt::Store { local, .. } => self.plan.locals[local.0 as usize] == LocalClass::Private,
            Stmt::If {
                then_block,
                else_block,
                ..
            } => then_block
                .stmts
                .iter()
                .chain(&else_block.stmts)
                .all(|s| self.unobservable(s)),
            _ => false,
        }
    }

    /// The conjuncts of a predicate's condition, computed in an earlier
    /// region: split at a short-circuit `and` in the kernel's top-level
    /// statements when its local is stored nowhere else.
    fn pred_conjuncts(&self, f: &'a Function, cond: ValueId) -> Vec<ValueId> {
        let mut out = Vec::new();
        if let Some(Op::LoadLocal(l)) = self.plan.geometry.op_of(cond) {
            if stores_to(&f.body, *l) == 2 {
                let top: Vec<&'a Stmt> = f.body.stmts.iter().collect();
                self.conjuncts(cond, &top, &mut out);
                return out;
            }
        }
        out.push(cond);
        out
    }

    /// Splits `cond` at the front end's short-circuit `and`: `a and b` is
    /// `c = a; if a { ...; c = b }` then `load c` (`stmts` precede the load).
    fn conjuncts(&self, cond: ValueId, stmts: &[&'a Stmt], out: &mut Vec<ValueId>) {
        if let Some(Op::LoadLocal(c)) = self.plan.geometry.op_of(cond) {
            if let Some((a, b, inner, at)) = short_circuit_and(*c, stmts) {
                self.conjuncts(a, &stmts[..at], out);
                let inner: Vec<&'a Stmt> = inner.iter().collect();
                self.conjuncts(b, &inner, out);
                return;
            }
        }
        out.push(cond);
    }

    /// Whether some thread of the block is still in predicated loop `l`
    /// (has not left it, returned or raised).
    fn any_in_loop(&self, g: &mut FnGen<'a, 'ctx>, l: LoopId) -> R<IntValue<'ctx>> {
        let ctx = g.m.ctx;
        let i64t = ctx.i64_type();
        let pre = g.current();
        let head = g.new_block("any");
        let next = g.new_block("any.next");
        let done = g.new_block("any.end");
        g.b.build_unconditional_branch(head)?;
        g.b.position_at_end(head);
        let t = g.b.build_phi(i64t, "t")?;
        let tv = t.as_basic_value().into_int_value();
        let p = self.slot_ptr(g, self.loop_state[l], 8, tv)?;
        let st = g.b.build_load(i64t, p, "")?.into_int_value();
        let never = i64t.const_int(i64::MAX as u64, false);
        let mut inside = g.b.build_int_compare(IP::NE, st, never, "")?;
        if let Some(ex) = self.exited {
            let p = gep(g, ex, tv)?;
            let f = g.b.build_load(ctx.i8_type(), p, "")?.into_int_value();
            let live =
                g.b.build_int_compare(IP::EQ, f, ctx.i8_type().const_zero(), "")?;
            inside = g.b.build_and(inside, live, "")?;
        }
        let head_end = g.current();
        g.b.build_conditional_branch(inside, done, next)?;
        g.b.position_at_end(next);
        let tn = g.b.build_int_nuw_add(tv, i64t.const_int(1, false), "")?;
        let more = g.b.build_int_compare(IP::ULT, tn, self.nthreads, "")?;
        g.b.build_conditional_branch(more, head, done)?;
        t.add_incoming(&[(&i64t.const_zero(), pre), (&tn, next)]);
        g.b.position_at_end(done);
        let phi = g.b.build_phi(ctx.bool_type(), "any")?;
        let yes = ctx.bool_type().const_int(1, false);
        let no = ctx.bool_type().const_zero();
        phi.add_incoming(&[(&yes, head_end), (&no, next)]);
        Ok(phi.as_basic_value().into_int_value())
    }

    fn local_array(
        &self,
        g: &FnGen<'a, 'ctx>,
        base: PointerValue<'ctx>,
        size: u64,
        op: &Op,
        tid: IntValue<'ctx>,
    ) -> R<BasicValueEnum<'ctx>> {
        let Op::LocalArray { dtype, shape } = op else {
            return unsupported("local array");
        };
        let p = self.slot_ptr(g, base, size, tid)?;
        array_value(g, p, *dtype, shape, None)
    }

    /// `lane & 31` and the warp's first thread.
    fn lane_of(
        &self,
        g: &FnGen<'a, 'ctx>,
        tid: IntValue<'ctx>,
    ) -> R<(IntValue<'ctx>, IntValue<'ctx>)> {
        let i64t = g.m.ctx.i64_type();
        let lane =
            g.b.build_and(tid, i64t.const_int(WARP - 1, false), "lane")?;
        let base = g.b.build_int_nuw_sub(tid, lane, "warp")?;
        Ok((lane, base))
    }

    #[allow(clippy::too_many_arguments)]
    fn shuffle(
        &self,
        g: &mut FnGen<'a, 'ctx>,
        kind: Shuffle,
        mask: ValueId,
        value: ValueId,
        lane: ValueId,
        width: ValueId,
        tid: IntValue<'ctx>,
    ) -> R<BasicValueEnum<'ctx>> {
        let _ = mask;
        let own = g.v(value)?;
        if !self.vals.contains_key(&value) {
            // Defined at block level: every lane holds the same value.
            return Ok(own);
        }
        let i64t = g.m.ctx.i64_type();
        let (ln, base) = self.lane_of(g, tid)?;
        let lv = g.v(lane)?.into_int_value();
        let w =
            g.b.build_int_s_extend(g.v(width)?.into_int_value(), i64t, "")?;
        let one = i64t.const_int(1, false);
        let wm1 = g.b.build_int_sub(w, one, "")?;
        let inseg = g.b.build_and(ln, wm1, "")?;
        let seg = g.b.build_int_sub(ln, inseg, "seg")?;
        if matches!(kind, Shuffle::Up | Shuffle::Down) {
            // Only the delta's low five bits count, as in PTX's `shfl.sync`.
            let d =
                g.b.build_int_truncate_or_bit_cast(lv, g.m.ctx.i32_type(), "")?;
            let d = g.b.build_int_z_extend(d, i64t, "")?;
            let d = g.b.build_and(d, i64t.const_int(WARP - 1, false), "delta")?;
            let ok = if kind == Shuffle::Up {
                g.b.build_int_compare(IP::UGE, inseg, d, "")?
            } else {
                let s = g.b.build_int_add(inseg, d, "")?;
                g.b.build_int_compare(IP::ULT, s, w, "")?
            };
            let src_tid = if kind == Shuffle::Up {
                g.b.build_int_sub(tid, d, "")?
            } else {
                g.b.build_int_add(tid, d, "")?
            };
            let exists = g.b.build_int_compare(IP::ULT, src_tid, self.nthreads, "")?;
            let ok = g.b.build_and(ok, exists, "")?;
            // Read the neighbour's slot whether or not this lane takes it: at
            // most 31 slots away (within the scratch guard, see
            // `SCRATCH_GUARD_BYTES`), at an address affine in the thread, so
            // the thread loop loads a vector where a select of the address
            // would gather.
            let other = self.load_val(g, value, src_tid, None)?;
            return Ok(g.b.build_select(ok, other, own, "shfl")?);
        }
        let l = g.b.build_int_s_extend(lv, i64t, "")?;
        let (src, ok) = if kind == Shuffle::Idx {
            let s = g.b.build_and(l, wm1, "")?;
            (
                g.b.build_int_add(seg, s, "")?,
                g.m.ctx.bool_type().const_int(1, false),
            )
        } else {
            let s = g.b.build_xor(ln, l, "")?;
            let end = g.b.build_int_add(seg, w, "")?;
            (s, g.b.build_int_compare(IP::ULT, s, end, "")?)
        };
        let in_warp =
            g.b.build_int_compare(IP::ULT, src, i64t.const_int(WARP, false), "")?;
        let src_tid = g.b.build_int_add(base, src, "")?;
        let exists = g.b.build_int_compare(IP::ULT, src_tid, self.nthreads, "")?;
        let ok = g.b.build_and(ok, in_warp, "")?;
        let ok = g.b.build_and(ok, exists, "")?;
        let from = g.b.build_select(ok, src_tid, tid, "")?.into_int_value();
        self.load_val(g, value, from, None)
    }

    fn vote(
        &self,
        g: &mut FnGen<'a, 'ctx>,
        kind: Vote,
        mask: ValueId,
        pred: ValueId,
        tid: IntValue<'ctx>,
    ) -> R<BasicValueEnum<'ctx>> {
        let ctx = g.m.ctx;
        let i64t = ctx.i64_type();
        let i32t = ctx.i32_type();
        let (_, base) = self.lane_of(g, tid)?;
        // Lanes that exist in this (possibly partial) last warp.
        let n = g.b.build_int_nuw_sub(self.nthreads, base, "")?;
        let full =
            g.b.build_int_compare(IP::UGE, n, i64t.const_int(WARP, false), "")?;
        let shifted = g.b.build_left_shift(i64t.const_int(1, false), n, "")?;
        let part = g.b.build_int_sub(shifted, i64t.const_int(1, false), "")?;
        let part = g.b.build_int_truncate(part, i32t, "")?;
        let exist =
            g.b.build_select(full, i32t.const_all_ones(), part, "")?
                .into_int_value();
        let m = g.v(mask)?.into_int_value();
        let eff = g.b.build_and(m, exist, "eff")?;
        let ballot = if self.vals.contains_key(&pred) {
            let last =
                g.b.build_int_sub(self.nthreads, i64t.const_int(1, false), "")?;
            let mut acc = i32t.const_zero();
            for j in 0..WARP {
                let t = g.b.build_int_add(base, i64t.const_int(j, false), "")?;
                let lt = g.b.build_int_compare(IP::ULT, t, self.nthreads, "")?;
                let t = g.b.build_select(lt, t, last, "")?.into_int_value();
                let p = self.load_val(g, pred, t, None)?.into_int_value();
                let bit = g.b.build_int_z_extend(p, i32t, "")?;
                let bit = g.b.build_left_shift(bit, i32t.const_int(j, false), "")?;
                acc = g.b.build_or(acc, bit, "")?;
            }
            g.b.build_and(acc, eff, "ballot")?
        } else {
            let p = g.v(pred)?.into_int_value();
            g.b.build_select(p, eff, i32t.const_zero(), "ballot")?
                .into_int_value()
        };
        Ok(match kind {
            Vote::Ballot => ballot.into(),
            Vote::All => g.b.build_int_compare(IP::EQ, ballot, eff, "all")?.into(),
            Vote::Any => {
                g.b.build_int_compare(IP::NE, ballot, i32t.const_zero(), "any")?
                    .into()
            }
        })
    }

    /// `syncthreads_count/and/or`: counts the live threads whose predicate holds.
    fn reduce(
        &mut self,
        g: &mut FnGen<'a, 'ctx>,
        value: ValueId,
        kind: BarrierReduce,
        pred: ValueId,
    ) -> R<()> {
        let ctx = g.m.ctx;
        let i64t = ctx.i64_type();
        let i32t = ctx.i32_type();
        let pre = g.current();
        let head = g.new_block("reduce");
        let next = g.new_block("reduce.next");
        let done = g.new_block("reduce.end");
        let zero = i64t.const_zero();
        let uniform = if self.vals.contains_key(&pred) {
            None
        } else {
            Some(self.block_value(g, pred)?.into_int_value())
        };
        g.b.build_unconditional_branch(head)?;
        g.b.position_at_end(head);
        let t = g.b.build_phi(i64t, "t")?;
        let cnt = g.b.build_phi(i64t, "count")?;
        let live = g.b.build_phi(i64t, "live")?;
        let tv = t.as_basic_value().into_int_value();
        let cv = cnt.as_basic_value().into_int_value();
        let lv = live.as_basic_value().into_int_value();
        let alive = match self.exited {
            Some(ex) => {
                let p = gep(g, ex, tv)?;
                let f = g.b.build_load(ctx.i8_type(), p, "")?.into_int_value();
                g.b.build_int_compare(IP::EQ, f, ctx.i8_type().const_zero(), "")?
            }
            None => ctx.bool_type().const_int(1, false),
        };
        let p = match uniform {
            Some(u) => u,
            None => self.load_val(g, pred, tv, None)?.into_int_value(),
        };
        let hit = g.b.build_and(p, alive, "")?;
        let hit = g.b.build_int_z_extend(hit, i64t, "")?;
        let a = g.b.build_int_z_extend(alive, i64t, "")?;
        let cn = g.b.build_int_add(cv, hit, "")?;
        let ln = g.b.build_int_add(lv, a, "")?;
        g.b.build_unconditional_branch(next)?;
        g.b.position_at_end(next);
        let tn = g.b.build_int_nuw_add(tv, i64t.const_int(1, false), "")?;
        let c = g.b.build_int_compare(IP::ULT, tn, self.nthreads, "")?;
        g.b.build_conditional_branch(c, head, done)?;
        let body_end = head;
        t.add_incoming(&[(&zero, pre), (&tn, next)]);
        cnt.add_incoming(&[(&zero, pre), (&cn, next)]);
        live.add_incoming(&[(&zero, pre), (&ln, next)]);
        let _ = body_end;
        g.b.position_at_end(done);
        let count = g.b.build_int_truncate(cn, i32t, "")?;
        let r: IntValue = match kind {
            BarrierReduce::Count => count,
            BarrierReduce::And => {
                let c = g.b.build_int_compare(IP::EQ, cn, ln, "")?;
                g.b.build_int_z_extend(c, i32t, "")?
            }
            BarrierReduce::Or => {
                let c = g.b.build_int_compare(IP::NE, cn, zero, "")?;
                g.b.build_int_z_extend(c, i32t, "")?
            }
        };
        g.values[value.0 as usize] = Some(r.into());
        Ok(())
    }
}

/// The ends of a region's thread loops (see [`Emitter::thread_ends`]).
struct ThreadEnds<'ctx> {
    /// Per axis, the first thread: 0 or more.
    begin: [IntValue<'ctx>; 3],
    /// Per axis, `blockDim` or less.
    end: [IntValue<'ctx>; 3],
    /// Per axis, the distance between the threads run: 1, or 32 for a lane.
    step: [u64; 3],
    /// Per axis, whether `begin` or `step` was set (at most one equality per axis).
    picked: [bool; 3],
    /// Some end is below `blockDim`.
    bounded: bool,
    /// The ends run exactly the threads that pass the region's guard.
    guard_implied: bool,
    /// The predicates (indices into `Region::preds`) every thread of the
    /// loops passes.
    implied_preds: Vec<usize>,
}

/// One part of a region run in parts along its innermost axis: equality
/// tests of that axis (`j == 0 or j == m - 1` at a stencil's edges, `tid ==
/// 0` before a store) would make a vectorised loop mask its loads and stores
/// (or scatter) for every vector of threads. The axis is cut at the picked
/// indices: the threads below the first, at it, between, at the second, and
/// above, each part with every test's value known.
struct Peel<'ctx> {
    axis: usize,
    /// The part's range along `axis` (`None`: the block's own end), any `i64`.
    begin: Option<IntValue<'ctx>>,
    end: Option<IntValue<'ctx>>,
    /// Each test's value for the part's threads.
    known: Vec<(ValueId, IntValue<'ctx>)>,
    /// The part is one index along `axis`.
    single: bool,
}

impl<'ctx> ThreadEnds<'ctx> {
    /// Ends `axis` at `e` (`i32`) when that is sooner.
    fn end_by(&mut self, g: &FnGen<'_, 'ctx>, axis: usize, e: IntValue<'ctx>) -> R<()> {
        let cur = self.end[axis];
        let sooner = g.b.build_int_compare(IP::ULT, e, cur, "")?;
        self.end[axis] = g.b.build_select(sooner, e, cur, "end")?.into_int_value();
        Ok(())
    }
}

/// Iterations ahead that a grid-stride loop's reads are prefetched.
const PREFETCH_AHEAD: u64 = 4;

/// Blocks ahead whose reads a block prefetches (see `prefetch_next_blocks`).
/// On the scan example (10M elements, 2 cores): none 11.3-13.1 ms, 1 block
/// ahead 10.2-11.3, 2 blocks 9.8-10.0, 4 blocks 10.1-10.9, 8 blocks 10.3-11.6.
const NEXT_BLOCKS: u64 = 2;

/// Cache lines prefetched per array and iteration, at most.
const PREFETCH_LINES: u64 = 16;

/// The arrays that `s` (or statements nested in its `if`s) loads from at an
/// index that is the value of one of `locals` (through Python's
/// negative-index wrap).
fn loads_at(
    s: &Stmt,
    locals: &[LocalId],
    geo: &super::geometry::GeometryValues<'_>,
    out: &mut Vec<ValueId>,
) {
    match s {
        Stmt::Let {
            op: Op::ArrayLoad(a, idx),
            ..
        } if idx.len() == 1 => {
            let at = geo.unwrapped_load_of(idx[0]);
            if at.is_some_and(|l| locals.contains(&l)) && !out.contains(a) {
                out.push(*a);
            }
        }
        Stmt::If {
            then_block,
            else_block,
            ..
        } => {
            for s in then_block.stmts.iter().chain(&else_block.stmts) {
                loads_at(s, locals, geo, out);
            }
        }
        _ => {}
    }
}

/// How many statements anywhere in `b` store to local `l`.
/// Whether the first statement of the kernel's top-level list that mentions
/// local `l` stores it. Top-level statements run for every thread, in the
/// first region (a region that only some threads run is predicated, and a
/// store to a scratch local keeps a guard from bounding its thread loop), so
/// every thread's slot is written before any thread reads it.
fn written_first(f: &Function, l: LocalId) -> bool {
    for s in &f.body.stmts {
        if matches!(s, Stmt::Store { local, .. } if *local == l) {
            return true;
        }
        let (mut v, mut r, mut w) = (Vec::new(), Vec::new(), Vec::new());
        uses(s, &mut v, &mut r, &mut w);
        if r.contains(&l) || w.contains(&l) {
            return false;
        }
    }
    false
}

fn stores_to(b: &Block, l: LocalId) -> usize {
    let mut stores = Vec::new();
    for s in &b.stmts {
        super::plan::local_stores(s, &mut stores);
    }
    stores.iter().filter(|(local, _)| *local == l).count()
}

/// `(a, b, then, at)` when the last store to local `c` in `stmts` is the one
/// in `if a { ...then...; c = b }` (`stmts[at]`, no `else`), after a
/// top-level `c = a`: the front end's `a and b`.
fn short_circuit_and<'a>(
    c: LocalId,
    stmts: &[&'a Stmt],
) -> Option<(ValueId, ValueId, &'a [Stmt], usize)> {
    let stores_c = |s: &Stmt| matches!(s, Stmt::Store { local, .. } if *local == c);
    let at = stmts.iter().rposition(|s| match s {
        Stmt::If { then_block, .. } => then_block.stmts.iter().any(stores_c),
        s => stores_c(s),
    })?;
    let Stmt::If {
        cond: a,
        then_block,
        else_block,
    } = stmts[at]
    else {
        return None;
    };
    let (Some(Stmt::Store { local, value: b }), true) =
        (then_block.stmts.last(), else_block.stmts.is_empty())
    else {
        return None;
    };
    let earlier = &stmts[..at];
    let first = earlier.iter().rposition(|s| stores_c(s))?;
    let first_is_a = matches!(earlier[first], Stmt::Store { value, .. } if value == a);
    let inner = &then_block.stmts[..then_block.stmts.len() - 1];
    (*local == c && first_is_a && !inner.iter().any(stores_c)).then_some((*a, *b, inner, at))
}
