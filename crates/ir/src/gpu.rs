//! The kernel operations of `@cuda.jit` code: thread geometry, memory spaces,
//! barriers, atomics and warp functions. Every device backend implements them:
//! NVPTX with NVVM intrinsics, SPIR-V with Vulkan built-ins and subgroup
//! operations, and the CPU SIMT lowering with loops over threads.

/// One of the three axes of a grid or a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Axis {
    X,
    Y,
    Z,
}

impl Axis {
    pub const ALL: [Axis; 3] = [Axis::X, Axis::Y, Axis::Z];

    pub fn index(self) -> usize {
        self as usize
    }
}

/// The special registers of CUDA's thread geometry. Each reads as `int32`, as
/// in Numba (`cuda.threadIdx.x` is an `int32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Geometry {
    ThreadIdx,
    BlockIdx,
    BlockDim,
    GridDim,
}

/// Where an array's elements live. Host code only sees `Global`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Space {
    /// Device (or host) memory reached through a pointer: arguments.
    #[default]
    Global,
    /// Memory shared by the threads of one block (`cuda.shared.array`).
    Shared,
    /// Memory private to one thread (`cuda.local.array`).
    Local,
    /// Read-only data baked into the kernel (`cuda.const.array_like`).
    Constant,
}

/// Read-modify-write atomics: the operation returns the old value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AtomicOp {
    Add,
    Sub,
    Max,
    Min,
    And,
    Or,
    Xor,
    /// Stores the operand (`cuda.atomic.exch`).
    Exch,
    /// `old >= v ? 0 : old + 1` on unsigned integers (`cuda.atomic.inc`).
    Inc,
    /// `old == 0 || old > v ? v : old - 1` on unsigned integers (`cuda.atomic.dec`).
    Dec,
}

/// Warp shuffles (`cuda.shfl_*_sync`): which lane a thread reads from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shuffle {
    /// From lane `src` (`shfl_sync`).
    Idx,
    /// From `lane - delta`, or its own value below `delta` (`shfl_up_sync`).
    Up,
    /// From `lane + delta`, or its own value past the width (`shfl_down_sync`).
    Down,
    /// From `lane ^ mask` (`shfl_xor_sync`).
    Xor,
}

/// Warp votes over a predicate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Vote {
    /// `bool`: every participating lane's predicate holds.
    All,
    /// `bool`: some participating lane's predicate holds.
    Any,
    /// `uint32`: bit `i` is lane `i`'s predicate.
    Ballot,
}

/// A block-wide barrier that also reduces a predicate (`syncthreads_count`,
/// `_and`, `_or`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BarrierReduce {
    /// `int32`: how many threads passed a true predicate.
    Count,
    /// `int32` 0 or 1, as CUDA returns it.
    And,
    Or,
}

/// Memory fences (`threadfence_block`, `threadfence`, `threadfence_system`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FenceScope {
    Block,
    Device,
    System,
}

/// Integer bit functions of CUDA's intrinsics, on 32- or 64-bit integers; the
/// result is `int32` except for `Brev`, which keeps the operand's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BitFn {
    /// Number of set bits (`cuda.popc`).
    Popc,
    /// Leading zeros (`cuda.clz`).
    Clz,
    /// 1 + index of the lowest set bit, 0 for 0 (`cuda.ffs`).
    Ffs,
    /// Bits reversed (`cuda.brev`).
    Brev,
}
