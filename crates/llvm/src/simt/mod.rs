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

use hypersonic_ir::{abi::BlockEntry, Module};

use crate::{CodegenError, HostOptions};

/// A kernel compiled to a CPU block function.
pub struct SimtModule {}

impl SimtModule {
    pub fn compile(module: &Module, opts: &HostOptions) -> Result<SimtModule, CodegenError> {
        let _ = (module, opts);
        Err(CodegenError::Unsupported(
            "CPU SIMT lowering: not yet".into(),
        ))
    }

    /// The block function.
    pub fn block_entry(&self) -> BlockEntry {
        unimplemented!()
    }

    /// Bytes of static shared memory the kernel needs per block.
    pub fn static_shared_bytes(&self) -> u64 {
        0
    }

    /// Bytes of scratch memory per thread of a block.
    pub fn scratch_bytes_per_thread(&self) -> u64 {
        0
    }

    pub fn llvm_ir(&self) -> String {
        String::new()
    }
}
