//! Hypersonic's test kit: one suite of IR test kernels, written once and
//! instantiated for every backend.
//!
//! - [`kernels`]: the IR kernels, each a function returning a verified
//!   `Module` (vector add, block reduction, histograms, warp reductions and
//!   scans, votes, integer semantics, math functions, atomics, local/const/
//!   dynamic shared arrays, device functions that raise, tiled matmul, ...);
//! - [`reference`]: what each computes, in plain Rust;
//! - [`cases`]: each kernel with deterministic random inputs ([`Rng`], never
//!   zeros), launch geometries and the check against the reference;
//! - [`suite!`]: one `#[test]` per case for a backend, given a function that
//!   takes a [`Case`] (compile it, validate it, or run it on a device);
//! - [`K`]: a kernel-building layer over `FunctionBuilder` for the kernels a
//!   backend's tests write for themselves;
//! - host arrays ([`Array`]), slot packing ([`array_slots`], [`pack`]) and,
//!   with the feature `device`, [`device`]: upload, download and running a
//!   case on a `hypersonic_runtime::Device`.

pub mod builder;
pub mod cases;
#[cfg(feature = "device")]
pub mod device;
pub mod host;
pub mod kernels;
pub mod reference;
mod rng;

pub use builder::{kernel, K};
pub use host::{array_slots, bytes_of, from_bytes, pack, Array, Case, Check, Elem, Run};
pub use rng::Rng;

use hypersonic_ir::{Exception, FuncId, Function, Layout, Module, Scalar, Type};

pub const I32: Type = Type::Scalar(Scalar::I32);
pub const U32: Type = Type::Scalar(Scalar::U32);
pub const F32: Type = Type::Scalar(Scalar::F32);

/// A C-contiguous array type of `ndim` dimensions.
pub fn arr(s: Scalar, ndim: u8) -> Type {
    Type::array(s, ndim, Layout::C)
}

/// A 1-D C-contiguous array type.
pub fn a1(s: Scalar) -> Type {
    arr(s, 1)
}

/// A 2-D C-contiguous array type.
pub fn a2(s: Scalar) -> Type {
    arr(s, 2)
}

/// The module of `functions` (the first is the entry) raising `exceptions`.
pub fn module(functions: Vec<Function>, exceptions: Vec<Exception>) -> Module {
    Module {
        functions,
        entry: FuncId(0),
        exceptions,
    }
}

/// Builds a case of the suite.
pub type CaseFn = fn() -> Case;

/// Every case of the suite by name, for a backend that runs them in a loop
/// rather than as tests of their own.
pub fn all_cases() -> Vec<(&'static str, CaseFn)> {
    suite!(@list)
}

/// One `#[test]` per case of the suite, each calling `$run(case)` (a path to
/// a function taking a [`Case`]: compile it, validate it, run it on a
/// device): `hypersonic_testkit::suite!(run_on_lavapipe);`, in a module of its
/// own, as CubeCL instantiates one test suite per backend.
#[macro_export]
macro_rules! suite {
    ($run:path) => {
        $crate::suite!(@with [tests $run]);
    };
    (@list) => {
        $crate::suite!(@with [list])
    };
    (@with [$($mode:tt)*]) => {
        $crate::suite! { @emit [$($mode)*]
            vecadd_f32 => $crate::cases::vecadd(::hypersonic_ir::Scalar::F32);
            vecadd_f64 => $crate::cases::vecadd(::hypersonic_ir::Scalar::F64);
            block_sum_f32 => $crate::cases::block_sum(::hypersonic_ir::Scalar::F32);
            block_sum_f64 => $crate::cases::block_sum(::hypersonic_ir::Scalar::F64);
            histogram_i32 => $crate::cases::histogram(
                ::hypersonic_ir::Scalar::I32, ::hypersonic_ir::Scalar::I32);
            histogram_u32 => $crate::cases::histogram(
                ::hypersonic_ir::Scalar::U32, ::hypersonic_ir::Scalar::U32);
            histogram_i64_i32 => $crate::cases::histogram(
                ::hypersonic_ir::Scalar::I64, ::hypersonic_ir::Scalar::I32);
            histogram_f32 => $crate::cases::histogram(
                ::hypersonic_ir::Scalar::F32, ::hypersonic_ir::Scalar::F32);
            histogram_f64_u32 => $crate::cases::histogram(
                ::hypersonic_ir::Scalar::F64, ::hypersonic_ir::Scalar::U32);
            warp_sum_f32 => $crate::cases::warp_sum(::hypersonic_ir::Scalar::F32);
            warp_sum_f64 => $crate::cases::warp_sum(::hypersonic_ir::Scalar::F64);
            warp_scan => $crate::cases::warp_scan();
            votes => $crate::cases::votes();
            int_ops => $crate::cases::int_ops();
            math_f32 => $crate::cases::math(::hypersonic_ir::Scalar::F32);
            math_f64 => $crate::cases::math(::hypersonic_ir::Scalar::F64);
            atoms => $crate::cases::atoms();
            fma => $crate::cases::fma();
            early_return => $crate::cases::early_return();
            calls => $crate::cases::calls();
            reverse => $crate::cases::reverse();
            sign_extension => $crate::cases::sign_extension();
            grid_stride => $crate::cases::grid_stride();
            matmul_tiled_f32 => $crate::cases::matmul_tiled(::hypersonic_ir::Scalar::F32);
            matmul_tiled_f64 => $crate::cases::matmul_tiled(::hypersonic_ir::Scalar::F64);
            float_atomics_f32 => $crate::cases::float_atomics(::hypersonic_ir::Scalar::F32);
            float_atomics_f64 => $crate::cases::float_atomics(::hypersonic_ir::Scalar::F64);
            grid_size => $crate::cases::grid_size();
        }
    };
    (@emit [tests $run:path] $($name:ident => $case:expr;)*) => {
        $(
            #[test]
            fn $name() {
                $run($case)
            }
        )*
    };
    (@emit [list] $($name:ident => $case:expr;)*) => {
        vec![$((stringify!($name), (|| $case) as $crate::CaseFn)),*]
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every case's module verifies (`K::finish`), and every run's arrays
    /// fill its entry's slots exactly.
    #[test]
    fn cases_are_well_formed() {
        let cases = all_cases();
        assert!(cases.len() >= 25);
        for (name, case) in cases {
            let c = case();
            assert!(!c.runs.is_empty(), "{name}");
            for r in &c.runs {
                let addrs: Vec<u64> = (0..r.args.len() as u64).map(|i| 0x1000 * (i + 1)).collect();
                let slots = pack(&c.module, &r.args, &addrs);
                assert_eq!(slots[0], 0x1000, "{name}");
            }
        }
    }

    #[test]
    fn slots_of_an_array() {
        assert_eq!(array_slots(64, &[3, 5], 8), vec![64, 3, 5, 40, 8]);
    }
}
