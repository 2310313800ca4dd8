//! The LLVM pass pipeline run on a module before NVPTX code generation.
//!
//! `ptxas` is an optimising compiler in its own right (register allocation,
//! scheduling, CSE, LICM and unrolling on SASS), so LLVM's job for PTX is
//! narrower than for a CPU: turn the front end's memory-based locals into SSA,
//! inline device functions and libdevice, prove what the GPU's ranges allow
//! (thread indices are never negative, so Python's negative-index wrap-around
//! folds away), hoist and simplify loops, and unroll them. `default<O2>` does
//! all that and much more that `ptxas` redoes; on the example kernels of
//! `kernels/gpu` the pipeline below gives the same `ptxas` registers and SASS
//! size (within a few instructions, sometimes fewer) in 60-70% of the time
//! (see `benches/cuda_kernels.py`).

/// The new pass manager's pipeline text for `opt_level` (0 to 3): 0 runs
/// `default<O0>` (what must run: always-inline), 1 and 2 the pipeline above,
/// 3 LLVM's full `default<O3>`.
pub fn pipeline(opt_level: u8) -> String {
    match opt_level {
        0 => "default<O0>".into(),
        1 | 2 => LEAN.join(","),
        _ => "default<O3>".into(),
    }
}

/// `instcombine` as the default pipelines run it: without the fixpoint
/// verification that the bare pass name asks for (which aborts the process).
const LEAN: [&str; 3] = [
    // Ranges of the special registers first (`tid.x` < 1024, ...), then the
    // locals to SSA and a first clean-up, so the inliner sees small callees.
    "function(nvvm-intr-range,sroa<modify-cfg>,early-cse,simplifycfg,\
     instcombine<no-verify-fixpoint>)",
    // Device functions and libdevice into their callers; argument attributes
    // (`readonly`, `nocapture`) let code generation use `ld.global.nc`.
    "cgscc(inline,function-attrs)",
    // The function simplification of `default<O2>`, trimmed: range-based
    // folding (CVP), loop rotation and hoisting, induction variables, full
    // unrolling of constant trip counts, GVN, dead stores, and finally
    // partial/runtime unrolling as NVPTX's cost model asks.
    "function(sroa<modify-cfg>,early-cse<memssa>,correlated-propagation,\
     instcombine<no-verify-fixpoint>,simplifycfg,loop-mssa(loop-rotate,licm),\
     loop(indvars,loop-deletion,loop-unroll-full),gvn,instcombine<no-verify-fixpoint>,\
     dse,simplifycfg,loop-unroll<O2>,instcombine<no-verify-fixpoint>,simplifycfg),\
     globaldce",
];
