//! `@cuda.jit` kernels compiled for the CPU: a block becomes one function that
//! runs its threads in loops (see DESIGN.md, "SIMT kernels on the CPU are
//! compiled, never simulated").
//!
//! A barrier splits the kernel body into regions; each region is a loop over the
//! block's threads. Values live across a barrier are kept per thread in the
//! block's scratch memory; values the uniformity analysis proves equal across the
//! block stay scalar. Shared memory is the worker's buffer from the
//! [`BlockContext`](hypersonic_ir::abi::BlockContext). Warp functions run over
//! 32-lane groups. Atomics are the CPU's atomic instructions.
//!
//! Device functions that use kernel operations (themselves or through their
//! callees) are inlined into the kernel first
//! (`hypersonic_ir::passes::inline`); other device functions stay calls, run
//! per thread inside the thread loops.
//!
//! [`plan`] decides what runs at block level and what per thread (barrier
//! fission), [`emit`] generates the block function, reusing the host code
//! generator (`FnGen`) for every operation; the kernel operations that depend
//! on the running thread are lowered here ([`lower_op`]) from [`ThreadState`].

mod alias;
mod emit;
mod geometry;
pub(crate) mod loop_hints;
mod merge;
mod plan;
mod privatize;
mod warp_scan;

pub use privatize::{ArraySlot, PrivateArray};

use std::cell::Cell;
use std::collections::HashMap;

use hypersonic_ir::abi::BlockEntry;
use hypersonic_ir::{Geometry, Module, Op, Scalar, Stmt, Type};
use inkwell::module::Linkage;
use inkwell::types::BasicType;
use inkwell::values::{BasicValue, BasicValueEnum, IntValue, PointerValue};
use inkwell::AddressSpace;

use crate::function::{unsupported, FnGen, R};
use crate::{types, CodegenError, HostModule, HostOptions};

/// Threads of a warp.
pub(crate) const WARP: u64 = 32;

/// A kernel compiled to a CPU block function.
pub struct SimtModule {
    host: HostModule,
    static_shared: u64,
    scratch_per_thread: u64,
    blocks_y_major: bool,
    mergeable: [bool; 3],
    splittable: bool,
    private: Vec<PrivateArray>,
    plan_summary: String,
}

impl SimtModule {
    /// Compiles `module`, whose entry is a kernel (returns `None`, parameters in
    /// the slot ABI), to a block function.
    pub fn compile(module: &Module, opts: &HostOptions) -> Result<SimtModule, CodegenError> {
        let entry = module
            .functions
            .get(module.entry.0 as usize)
            .ok_or_else(|| CodegenError::Unsupported("module without its entry".into()))?;
        if entry.ret != Type::None {
            return Err(CodegenError::Unsupported(format!(
                "a kernel returns nothing; `{}` returns {}",
                entry.name, entry.ret
            )));
        }
        // Device functions that use kernel operations run inside the kernel's
        // thread loops: inline them (their barriers and warp functions then
        // split regions like the kernel's own).
        let inlined = inline_kernel_functions(module)?;
        let module = inlined.as_ref().unwrap_or(module);
        let mu = hypersonic_ir::passes::uniformity::analyze_module(module);
        let uni = &mu.functions[module.entry.0 as usize];
        let plan = plan::plan(module, uni)?;
        let shared = emit::shared_layout(module);
        let scratch = Cell::new(0u64);
        let host = crate::jit::compile_with(module, opts, &|ctx, llmod, machine| {
            let (name, per_thread) =
                emit::codegen(ctx, llmod, machine, module, opts, &plan, &shared)?;
            scratch.set(per_thread);
            Ok(name)
        })?;
        if std::env::var("HYPERSONIC_LOG").is_ok_and(|v| v == "debug" || v == "1") {
            eprintln!(
                "[hypersonic] CPU SIMT LLVM IR of {}:\n{}",
                entry.name,
                host.llvm_ir()
            );
        }
        let entry = module.function(module.entry);
        let mergeable = plan.mergeable;
        let axes: Vec<&str> = ["x", "y", "z"]
            .iter()
            .zip(mergeable)
            .filter_map(|(n, m)| m.then_some(*n))
            .collect();
        let plan_summary = format!(
            "{}blocks mergeable along: {}\n",
            plan.summary(entry),
            if axes.is_empty() {
                "-".into()
            } else {
                axes.join(", ")
            }
        );
        Ok(SimtModule {
            host,
            static_shared: shared.total,
            scratch_per_thread: scratch.get(),
            blocks_y_major: plan.blocks_y_major,
            mergeable,
            splittable: plan.split_loop.is_some(),
            private: plan.private.clone(),
            plan_summary,
        })
    }

    /// The block function: runs every thread of the block that `ctx` describes.
    pub fn block_entry(&self) -> BlockEntry {
        let f = self.host.entry_fn();
        // SAFETY: the entry is the `i32 (ptr args, ptr ctx)` block wrapper; both
        // signatures are two pointers to a `u32` status.
        unsafe { std::mem::transmute::<hypersonic_ir::abi::HostEntry, BlockEntry>(f) }
    }

    /// Bytes of static shared memory the kernel needs per block.
    pub fn static_shared_bytes(&self) -> u64 {
        self.static_shared
    }

    /// Bytes of scratch memory per thread of a block.
    pub fn scratch_bytes_per_thread(&self) -> u64 {
        self.scratch_per_thread
    }

    /// Run the blocks with `blockIdx.y` varying fastest (any order of blocks
    /// is valid; this one walks memory in order for kernels whose accesses are
    /// contiguous along `y`).
    pub fn blocks_y_major(&self) -> bool {
        self.blocks_y_major
    }

    /// Per axis: neighbouring blocks along it may run as one wider block
    /// (`k` blocks of `blockDim` as one of `k * blockDim`, `gridDim / k` of
    /// them), because the kernel sees its position there only as a grid index
    /// and grid size (see `merge`).
    pub fn mergeable_axes(&self) -> [bool; 3] {
        self.mergeable
    }

    /// Whether a block may run any share of its grid-stride loop's
    /// iterations (`BlockContext::split_part` of `split_parts`): the kernel
    /// is only that loop, and its iterations are independent.
    pub fn splittable(&self) -> bool {
        self.splittable
    }

    /// Kernel arguments that only receive accumulating atomics: the runtime
    /// may give each worker a private copy (see [`PrivateArray`]).
    pub fn private_arrays(&self) -> &[PrivateArray] {
        &self.private
    }

    /// What the barrier-fission planner decided (see `Plan::summary`).
    pub fn plan_summary(&self) -> &str {
        &self.plan_summary
    }

    /// The optimised LLVM IR.
    pub fn llvm_ir(&self) -> String {
        self.host.llvm_ir()
    }

    /// The native assembly.
    pub fn asm(&self) -> String {
        self.host.asm()
    }

    pub fn compile_times(&self) -> crate::CompileTimes {
        self.host.compile_times()
    }
}

/// `module` with every device function that uses kernel operations (itself
/// or through its callees) inlined into the kernel, or `None` when the kernel
/// calls none.
fn inline_kernel_functions(module: &Module) -> Result<Option<Module>, CodegenError> {
    use hypersonic_ir::passes::inline;
    let kops = inline::uses_kernel_operations(module);
    let entry = module.entry.0 as usize;
    if !kops.iter().enumerate().any(|(i, k)| *k && i != entry) {
        return Ok(None);
    }
    let m = inline::inline_into_entry(module, |g, _| kops[g.0 as usize])
        .map_err(|e| CodegenError::Unsupported(e.to_string()))?;
    hypersonic_ir::verify::verify_module(&m)
        .map_err(|e| CodegenError::Llvm(format!("after inlining device functions: {e}")))?;
    Ok(Some(m))
}

/// What the block function knows about its block and, inside a loop over the
/// threads, about the current thread.
pub(crate) struct ThreadState<'ctx> {
    pub block_idx: [IntValue<'ctx>; 3],
    pub block_dim: [IntValue<'ctx>; 3],
    pub grid_dim: [IntValue<'ctx>; 3],
    pub shared: PointerValue<'ctx>,
    pub dynamic_bytes: IntValue<'ctx>,
    pub static_shared: u64,
    /// Offset of each static `SharedArray` op in shared memory, by the op's address.
    pub shared_offsets: HashMap<usize, u64>,
    /// `threadIdx` (`i32`) of the current thread, inside a thread loop.
    pub tid_xyz: Option<[IntValue<'ctx>; 3]>,
    /// The thread's linear index in the block (`i64`, x fastest).
    pub tid: Option<IntValue<'ctx>>,
    /// Values holding a privatisable parameter's array, and the parameter.
    pub private: HashMap<hypersonic_ir::ValueId, u32>,
    /// `BlockContext::private_mask` (`i32`).
    pub private_mask: IntValue<'ctx>,
    /// Inside a thread loop: its ID, to mark array accesses with (see
    /// `loop_hints`).
    pub parallel_loop: Option<loop_hints::ThreadLoopId>,
    /// The locals kept per thread in scratch (each thread its own slot).
    pub slot_locals: std::collections::HashSet<u32>,
    /// Conditions known for every thread of the current thread loops (a part
    /// of a peeled region): their `Let` gives this value instead.
    pub known: HashMap<hypersonic_ir::ValueId, IntValue<'ctx>>,
}

fn elements(shape: &[i64]) -> R<u32> {
    let n = shape.iter().try_fold(1i64, |a, &d| a.checked_mul(d));
    match n {
        Some(n) if (0..=u32::MAX as i64).contains(&n) => Ok(n as u32),
        _ => unsupported(format!("array of shape {shape:?} is too large")),
    }
}

/// The array value `{data, shape, C strides}`; `len` replaces a 1-D length.
pub(crate) fn array_value<'ctx>(
    g: &FnGen<'_, 'ctx>,
    data: PointerValue<'ctx>,
    dtype: Scalar,
    shape: &[i64],
    len: Option<IntValue<'ctx>>,
) -> R<BasicValueEnum<'ctx>> {
    let ctx = g.m.ctx;
    let i64t = ctx.i64_type();
    let nd = shape.len() as u32;
    let dims_t = i64t.array_type(nd);
    let mut sh = dims_t.get_undef();
    let mut st = dims_t.get_undef();
    let mut stride = dtype.size() as i64;
    for k in (0..shape.len()).rev() {
        let d: BasicValueEnum = match len {
            Some(l) if shape.len() == 1 => l.into(),
            _ => i64t.const_int(shape[k] as u64, true).into(),
        };
        sh =
            g.b.build_insert_value(sh, d, k as u32, "")?
                .into_array_value();
        st =
            g.b.build_insert_value(st, i64t.const_int(stride as u64, true), k as u32, "")?
                .into_array_value();
        stride *= shape[k].max(1);
    }
    let t = types::array(ctx, nd as u8);
    let s = g.b.build_insert_value(t.get_undef(), data, 0, "")?;
    let s = g.b.build_insert_value(s.into_struct_value(), sh, 1, "")?;
    let s = g.b.build_insert_value(s.into_struct_value(), st, 2, "")?;
    Ok(s.as_basic_value_enum())
}

fn no_state<T>(what: &str) -> R<T> {
    unsupported(format!(
        "{what} in a device function: the CPU SIMT lowering supports it in the kernel body only"
    ))
}

/// Kernel operations under `Target::Simt`.
pub(crate) fn lower_op<'a, 'ctx>(
    g: &mut FnGen<'a, 'ctx>,
    op: &'a Op,
    rt: &'a Type,
) -> R<BasicValueEnum<'ctx>> {
    if let Some(r) = crate::kernel::host::lower_op(g, op, rt) {
        return r;
    }
    let ctx = g.m.ctx;
    match op {
        Op::Geometry(k, axis) => {
            let Some(st) = g.simt.as_ref() else {
                return no_state("cuda.threadIdx/blockIdx/blockDim/gridDim");
            };
            let a = axis.index();
            Ok(match k {
                Geometry::ThreadIdx => match st.tid_xyz {
                    Some(t) => t[a].into(),
                    None => return unsupported("threadIdx outside a loop over threads"),
                },
                Geometry::BlockIdx => st.block_idx[a].into(),
                Geometry::BlockDim => st.block_dim[a].into(),
                Geometry::GridDim => st.grid_dim[a].into(),
            })
        }
        Op::LaneId => {
            let Some(tid) = g.simt.as_ref().and_then(|s| s.tid) else {
                return no_state("cuda.laneid");
            };
            let l = g
                .b
                .build_and(tid, ctx.i64_type().const_int(WARP - 1, false), "")?;
            Ok(g.b.build_int_truncate(l, ctx.i32_type(), "lane")?.into())
        }
        Op::SharedArray {
            dtype,
            shape,
            dynamic,
        } => {
            let Some(st) = g.simt.as_ref() else {
                return no_state("cuda.shared.array");
            };
            let i64t = ctx.i64_type();
            let (off, len) = if *dynamic {
                let n = g.b.build_int_unsigned_div(
                    st.dynamic_bytes,
                    i64t.const_int(dtype.size() as u64, false),
                    "",
                )?;
                (st.static_shared, Some(n))
            } else {
                let off = *st
                    .shared_offsets
                    .get(&(op as *const Op as usize))
                    .ok_or_else(|| CodegenError::Llvm("shared array without an offset".into()))?;
                (off, None)
            };
            let shared = st.shared;
            // SAFETY (for LLVM): the runtime allocates the static and dynamic bytes.
            let p = unsafe {
                g.b.build_in_bounds_gep(
                    ctx.i8_type(),
                    shared,
                    &[i64t.const_int(off, false)],
                    "shared",
                )?
            };
            array_value(g, p, *dtype, shape, len)
        }
        Op::LocalArray { dtype, shape } => {
            let n = elements(shape)?;
            let t = types::mem_scalar(ctx, *dtype).array_type(n.max(1));
            let slot = g.entry_alloca(t.into(), "local")?;
            if let Some(i) = slot.as_instruction_value() {
                let _ = i.set_alignment(16);
            }
            array_value(g, slot, *dtype, shape, None)
        }
        Op::ConstArray { dtype, shape, data } => {
            let init = ctx.const_string(data, false);
            let gv = g
                .m
                .module
                .add_global(init.get_type(), Some(AddressSpace::default()), "hs_const");
            gv.set_initializer(&init);
            gv.set_constant(true);
            gv.set_linkage(Linkage::Private);
            gv.set_alignment(16);
            array_value(g, gv.as_pointer_value(), *dtype, shape, None)
        }
        _ => unsupported(format!(
            "{op:?} in a device function: the CPU SIMT lowering supports warp functions and barriers in the kernel body only"
        )),
    }
}

pub(crate) fn lower_stmt<'a>(g: &mut FnGen<'a, '_>, s: &'a Stmt) -> R<()> {
    match s {
        Stmt::Fence(scope) => crate::kernel::host::fence(g, *scope),
        _ => unsupported(format!(
            "{s:?} in a device function: the CPU SIMT lowering supports barriers and warp functions in the kernel body only"
        )),
    }
}
