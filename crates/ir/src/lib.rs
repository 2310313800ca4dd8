//! The structured, typed intermediate representation that every Hypersonic backend
//! consumes.
//!
//! A [`Function`] is a tree of [`Block`]s: control flow stays structured (`if`,
//! `loop`, `break`, `continue`, `return`) because SPIR-V needs structured control
//! flow and the CPU SIMT lowering splits regions at barriers. Inside a block,
//! [`Stmt::Let`] defines SSA values; Python variables live in typed [`Local`] slots
//! that are read with [`Op::LoadLocal`] and written with [`Stmt::Store`] (the LLVM
//! backend turns them into registers with `mem2reg`, SPIR-V keeps them as
//! `Function` variables).
//!
//! The IR is fully typed and explicit: every implicit conversion of Python has
//! become an [`Op::Cast`], every negative-index wrap and every error check the
//! chosen error model asks for is spelled out by the front end, so a backend
//! only translates.

pub mod abi;
pub mod builder;
pub mod gpu;
pub mod mathlib;
pub mod ops;
pub mod passes;
pub mod printer;
pub mod types;
pub mod verify;

pub use gpu::*;
pub use ops::*;
pub use types::*;
