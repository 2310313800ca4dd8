//! Hypersonic IR → LLVM, through inkwell.
//!
//! [`HostModule`] JIT-compiles a module for the machine it runs on and hands out
//! the host entry point described in [`hypersonic_ir::abi`].
//!
//! Layout of the crate, by IR op family: [`types`] (IR types → LLVM types),
//! `function` (structured blocks → CFG, locals, loops, returns and raises),
//! `arith` (unary/binary/compare/cast), `math` (`MathFn`), `memory` (arrays and
//! tuples), `call` (calls and status propagation), `entry` (the slot-ABI
//! wrapper) and `jit` (optimisation, native code, the JIT).

mod arith;
mod attrs;
mod call;
mod entry;
mod fastmath;
mod function;
mod jit;
mod kernel;
mod math;
mod memory;
pub mod ptx;
pub mod simt;
mod types;

use hypersonic_ir::{abi::HostEntry, Module};

pub use jit::{wait_for_background_compiles, HostModule};

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

impl From<inkwell::builder::BuilderError> for CodegenError {
    fn from(e: inkwell::builder::BuilderError) -> Self {
        CodegenError::Llvm(e.to_string())
    }
}

/// Compile-time statistics of a [`HostModule`], for benchmarks and logs.
#[derive(Clone, Copy, Debug, Default)]
pub struct CompileTimes {
    /// IR → LLVM IR, including verification.
    pub codegen: std::time::Duration,
    /// The new pass manager pipeline.
    pub optimize: std::time::Duration,
    /// Native code generation and linking in the JIT.
    pub jit: std::time::Duration,
}

impl HostModule {
    pub fn compile(module: &Module, opts: &HostOptions) -> Result<HostModule, CodegenError> {
        jit::compile(module, opts)
    }

    /// The entry point of `module.entry`, with the slot ABI of [`hypersonic_ir::abi`].
    pub fn entry(&self) -> HostEntry {
        self.entry_fn()
    }
}

/// Starts LLVM's one-time initialisation (targets, the host CPU's features, pass
/// registries, first-use allocations) on a background thread by compiling a tiny
/// function, so that a user's first compile does not pay for it. Returns at once.
pub fn warm_up_in_background() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let _ = std::thread::Builder::new()
            .name("hypersonic-llvm-warm-up".into())
            .spawn(|| {
                use hypersonic_ir::{builder::FunctionBuilder, BinaryOp, FuncId, Op, Stmt, Type};
                let mut b = FunctionBuilder::new("warm_up", vec![Type::I64], Type::I64);
                let x = b.emit(Op::Param(0), Type::I64);
                let y = b.emit(Op::Binary(BinaryOp::Add, x, x), Type::I64);
                b.push(Stmt::Return { value: Some(y) });
                let module = Module {
                    functions: vec![b.finish()],
                    entry: FuncId(0),
                    exceptions: vec![],
                };
                let _ = HostModule::compile(&module, &HostOptions::default());
            })
            .map(jit::track_background);
    });
}
