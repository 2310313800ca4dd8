//! `!llvm.loop` metadata of the thread loops.
//!
//! A thread loop runs `blockDim` iterations, often only 8 to 32 along the
//! innermost dimension of a 2-D block. Left alone, the loop vectoriser
//! interleaves four vectors (a 32-iteration minimum for eight lanes), so a
//! 16-wide block row never reaches the vector body and runs scalar. One vector
//! per iteration keeps every row of eight threads or more vectorised; LLVM
//! still chooses the vector width. Rows of a kernel whose blocks merge along
//! the loop's axis are long (whole array rows, see `merge`): two vectors per
//! iteration there, two independent chains of arithmetic (the 5-point
//! stencil example: 4.8-5.4 ms with one, 4.2-4.6 ms with two).
//!
//! The threads of a region are also independent in memory: two threads that
//! touch the same location between barriers, one of them writing and not
//! atomically, race, and the results of a racing kernel are undefined on a GPU
//! too. So the array accesses of a thread loop carry
//! `!llvm.mem.parallel_loop_access` naming the loop, which tells the
//! vectoriser that no iteration depends on another through them: no run-time
//! checks that two arrays overlap (each a dozen instructions per entry into
//! a 16-thread row), and vector code where they could not be ruled out. The
//! loop counts as parallel only when every memory access in it is marked, so
//! accesses the mark would not be true of (atomics, the plain updates of
//! private accumulation copies, neighbour lanes' scratch slots) are left
//! unmarked and keep LLVM's own analysis.

use inkwell::context::Context;
use inkwell::llvm_sys::core::{
    LLVMConstInt, LLVMGetMDKindIDInContext, LLVMInt1TypeInContext, LLVMInt32TypeInContext,
    LLVMMDNodeInContext2, LLVMMDStringInContext2, LLVMMetadataAsValue, LLVMSetMetadata,
    LLVMValueAsMetadata,
};
use inkwell::llvm_sys::debuginfo::{LLVMMetadataReplaceAllUsesWith, LLVMTemporaryMDNode};
use inkwell::llvm_sys::prelude::LLVMMetadataRef;
use inkwell::memory_buffer::MemoryBuffer;
use inkwell::values::{AsValueRef, InstructionValue};

use crate::CodegenError;

/// The access group of a kernel's thread loops, and the ID of one loop.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ThreadLoopId {
    id: LLVMMetadataRef,
    group: LLVMMetadataRef,
}

/// A kernel's access group: one for all its thread loops (an access is only
/// in the loops around it, and thread loops do not nest).
#[derive(Clone, Copy, Debug)]
pub(crate) struct AccessGroup(LLVMMetadataRef);

impl AccessGroup {
    /// An access group is a distinct node without operands, which LLVM's C
    /// API cannot build: it is read from a parsed snippet (metadata belongs to
    /// the context, and outlives the snippet's module).
    pub(crate) fn new(ctx: &Context) -> Result<AccessGroup, CodegenError> {
        const SNIPPET: &str = "define void @f(ptr %p) {\n  \
            %x = load i8, ptr %p, !llvm.access.group !0\n  ret void\n}\n!0 = distinct !{}\n";
        let fail = |what: &str| CodegenError::Llvm(format!("access group: {what}"));
        let buf = MemoryBuffer::create_from_memory_range_copy(SNIPPET.as_bytes(), "group");
        let m = ctx
            .create_module_from_ir(buf)
            .map_err(|e| fail(&e.to_string()))?;
        let load = m
            .get_first_function()
            .and_then(|f| f.get_first_basic_block())
            .and_then(|b| b.get_first_instruction())
            .ok_or_else(|| fail("no load"))?;
        let kind = ctx.get_kind_id("llvm.access.group");
        let node = load.get_metadata(kind).ok_or_else(|| fail("no node"))?;
        // SAFETY: `node` is a metadata node of `ctx`, which keeps it alive.
        Ok(AccessGroup(unsafe {
            LLVMValueAsMetadata(node.as_value_ref())
        }))
    }

    /// Puts `access` in the group.
    pub(crate) fn add(self, ctx: &Context, access: InstructionValue<'_>) {
        set(ctx, access, "llvm.access.group", self.0);
    }
}

impl ThreadLoopId {
    /// A new loop's ID: distinct (it refers to itself, as LLVM requires),
    /// asking for `interleave` vectors per iteration and declaring `group`
    /// parallel; with `vectorize` false, also asking to stay scalar (a loop
    /// over one thread).
    pub(crate) fn new(
        ctx: &Context,
        group: AccessGroup,
        vectorize: bool,
        interleave: u64,
    ) -> ThreadLoopId {
        // SAFETY: every reference is created in `ctx` and used at once; the
        // temporary node is consumed by the replacement, which makes the loop
        // ID refer to itself.
        unsafe {
            let c = ctx.raw();
            let string = |s: &str| LLVMMDStringInContext2(c, s.as_ptr().cast(), s.len());
            let node =
                |ops: &mut [LLVMMetadataRef]| LLVMMDNodeInContext2(c, ops.as_mut_ptr(), ops.len());
            let count = LLVMValueAsMetadata(LLVMConstInt(LLVMInt32TypeInContext(c), interleave, 0));
            let interleave = node(&mut [string("llvm.loop.interleave.count"), count]);
            let parallel = node(&mut [string("llvm.loop.parallel_accesses"), group.0]);
            let temp = LLVMTemporaryMDNode(c, std::ptr::null_mut(), 0);
            let id = if vectorize {
                node(&mut [temp, interleave, parallel])
            } else {
                let off = LLVMValueAsMetadata(LLVMConstInt(LLVMInt1TypeInContext(c), 0, 0));
                let scalar = node(&mut [string("llvm.loop.vectorize.enable"), off]);
                node(&mut [temp, interleave, parallel, scalar])
            };
            LLVMMetadataReplaceAllUsesWith(temp, id);
            ThreadLoopId { id, group: group.0 }
        }
    }

    /// Makes `latch` (the loop's back-edge branch) the loop's.
    pub(crate) fn attach(self, ctx: &Context, latch: InstructionValue<'_>) {
        set(ctx, latch, "llvm.loop", self.id);
    }

    /// Marks `access` as independent between the loop's iterations.
    pub(crate) fn mark_parallel(self, ctx: &Context, access: InstructionValue<'_>) {
        AccessGroup(self.group).add(ctx, access);
    }
}

fn set(ctx: &Context, inst: InstructionValue<'_>, kind: &str, node: LLVMMetadataRef) {
    // SAFETY: `node` was created in `ctx`, and `inst` belongs to it.
    unsafe {
        let c = ctx.raw();
        let kind = LLVMGetMDKindIDInContext(c, kind.as_ptr().cast(), kind.len() as u32);
        LLVMSetMetadata(inst.as_value_ref(), kind, LLVMMetadataAsValue(c, node));
    }
}
