//! Hypersonic IR → LLVM, through inkwell.
//!
//! [`HostModule`] JIT-compiles a module for the machine it runs on and hands out
//! the host entry point described in [`hypersonic_ir::abi`].

use hypersonic_ir::{abi::HostEntry, Module};

#[derive(Clone, Copy, Debug)]
pub struct HostOptions {
    /// LLVM optimisation level, 0 to 3.
    pub opt_level: u8,
    /// Allow fast-math rewrites (Numba's `fastmath=True`).
    pub fastmath: bool,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            opt_level: 3,
            fastmath: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    #[error("LLVM rejected the generated code: {0}")]
    Llvm(String),
    #[error("unsupported in the LLVM backend: {0}")]
    Unsupported(String),
}

/// A module compiled to native code for this machine. The code lives as long as
/// this value; it may be shared between threads.
pub struct HostModule {}

impl HostModule {
    pub fn compile(module: &Module, opts: &HostOptions) -> Result<HostModule, CodegenError> {
        let _ = (module, opts);
        todo!("LLVM backend")
    }

    /// The entry point of `module.entry`, with the slot ABI of [`hypersonic_ir::abi`].
    pub fn entry(&self) -> HostEntry {
        todo!()
    }

    /// The optimised LLVM IR, as text.
    pub fn llvm_ir(&self) -> String {
        todo!()
    }

    /// The native assembly, as text.
    pub fn asm(&self) -> String {
        todo!()
    }
}
