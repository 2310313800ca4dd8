//! `!llvm.loop` hints on the thread loops.
//!
//! A thread loop runs `blockDim` iterations, often only 8 to 32 along the
//! innermost dimension of a 2-D block. Left alone, the loop vectoriser
//! interleaves four vectors (a 32-iteration minimum for eight lanes), so a
//! 16-wide block row never reaches the vector body and runs scalar. One vector
//! per iteration keeps every row of eight threads or more vectorised; LLVM
//! still chooses the vector width.

use inkwell::context::Context;
use inkwell::llvm_sys::core::{
    LLVMConstInt, LLVMGetMDKindIDInContext, LLVMInt32TypeInContext, LLVMMDNodeInContext2,
    LLVMMDStringInContext2, LLVMMetadataAsValue, LLVMSetMetadata, LLVMValueAsMetadata,
};
use inkwell::llvm_sys::debuginfo::{LLVMMetadataReplaceAllUsesWith, LLVMTemporaryMDNode};
use inkwell::values::{AsValueRef, InstructionValue};

/// Tags `latch` (the loop's back-edge branch) with a loop ID asking the
/// vectoriser for no interleaving.
pub(crate) fn no_interleave(ctx: &Context, latch: InstructionValue<'_>) {
    const KIND: &str = "llvm.loop";
    const HINT: &str = "llvm.loop.interleave.count";
    // SAFETY: every reference is created in `ctx` and used at once; the
    // temporary node is consumed by the replacement, which makes the loop ID
    // refer to itself as LLVM requires.
    unsafe {
        let c = ctx.raw();
        let name = LLVMMDStringInContext2(c, HINT.as_ptr().cast(), HINT.len());
        let one = LLVMValueAsMetadata(LLVMConstInt(LLVMInt32TypeInContext(c), 1, 0));
        let mut hint_ops = [name, one];
        let hint = LLVMMDNodeInContext2(c, hint_ops.as_mut_ptr(), hint_ops.len());
        let temp = LLVMTemporaryMDNode(c, std::ptr::null_mut(), 0);
        let mut id_ops = [temp, hint];
        let id = LLVMMDNodeInContext2(c, id_ops.as_mut_ptr(), id_ops.len());
        LLVMMetadataReplaceAllUsesWith(temp, id);
        let kind = LLVMGetMDKindIDInContext(c, KIND.as_ptr().cast(), KIND.len() as u32);
        LLVMSetMetadata(latch.as_value_ref(), kind, LLVMMetadataAsValue(c, id));
    }
}
