//! Kernel operations (`hypersonic_ir::gpu`): thread geometry, memory spaces,
//! barriers, atomics, warp functions. Each target lowers them its own way; this
//! module only dispatches. Host code (`@njit`) has none of them.

use hypersonic_ir::{Op, Stmt, Type};
use inkwell::values::BasicValueEnum;

use crate::function::{unsupported, FnGen, R};

mod atomics;
mod bits;
pub(crate) mod host;
mod nvptx;

/// What the generated code runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// The host CPU, called through the host entry ABI.
    Host,
    /// An NVIDIA GPU through LLVM's NVPTX backend (`crate::ptx`).
    Nvptx,
    /// The CPU SIMT lowering (`crate::simt`): a block's threads run in loops.
    Simt,
}

pub(crate) fn lower_op<'a, 'ctx>(
    g: &mut FnGen<'a, 'ctx>,
    op: &'a Op,
    rt: &'a Type,
) -> R<BasicValueEnum<'ctx>> {
    match g.m.target {
        Target::Host => unsupported(format!(
            "{op:?} is a kernel operation; it can only appear in a @cuda.jit kernel"
        )),
        Target::Nvptx => nvptx::lower_op(g, op),
        Target::Simt => crate::simt::lower_op(g, op, rt),
    }
}

pub(crate) fn lower_stmt<'a>(g: &mut FnGen<'a, '_>, s: &'a Stmt) -> R<()> {
    match g.m.target {
        Target::Host => unsupported(format!(
            "{s:?} is a kernel operation; it can only appear in a @cuda.jit kernel"
        )),
        Target::Nvptx => nvptx::lower_stmt(g, s),
        Target::Simt => crate::simt::lower_stmt(g, s),
    }
}
