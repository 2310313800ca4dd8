//! The argument ABI every device shares.
//!
//! Arguments and results travel through buffers of 8-byte *slots*:
//! - a scalar takes one slot, its value in the low bytes (little-endian;
//!   `bool` is one byte, 0 or 1);
//! - `complex64` takes one slot (real part, then imaginary part, as `f32`);
//!   `complex128` takes two (real, imaginary);
//! - an array of `ndim` dimensions takes `1 + 2 * ndim` slots: the data address,
//!   then the shape, then the strides in bytes, as NumPy's;
//! - a tuple takes its items' slots, one after the other;
//! - `None` takes no slot.
//!
//! The host entry point of a compiled function is
//! `extern "C" fn(args: *const u64, result: *mut u64) -> u32`: it returns 0 on
//! success, or `k + 1` when it raised `Module::exceptions[k]`.

use crate::types::{Scalar, Type};

/// Number of 8-byte slots a value of type `ty` occupies.
pub fn slots(ty: &Type) -> usize {
    match ty {
        Type::Scalar(Scalar::C128) => 2,
        Type::Scalar(_) => 1,
        Type::None => 0,
        Type::Array { ndim, .. } => 1 + 2 * *ndim as usize,
        Type::Tuple(items) => items.iter().map(slots).sum(),
    }
}

/// Number of slots of a whole argument list.
pub fn args_slots(params: &[Type]) -> usize {
    params.iter().map(slots).sum()
}

/// The signature of the host entry point, for documentation and for the runtime.
pub type HostEntry = unsafe extern "C" fn(args: *const u64, result: *mut u64) -> u32;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Layout;

    #[test]
    fn slot_counts() {
        assert_eq!(slots(&Type::I64), 1);
        assert_eq!(slots(&Type::Scalar(Scalar::C128)), 2);
        assert_eq!(slots(&Type::Scalar(Scalar::C64)), 1);
        let a2 = Type::array(Scalar::F32, 2, Layout::A);
        assert_eq!(slots(&a2), 5);
        assert_eq!(slots(&Type::Tuple(vec![Type::I64, a2, Type::None])), 6);
    }
}

/// What the CPU SIMT lowering's block function reads about its block. The
/// runtime fills one per block and calls
/// `extern "C" fn(args: *const u64, ctx: *const BlockContext) -> u32`
/// (the kernel's argument slots as for the host entry; the status as for the host
/// entry, from the first thread that raised).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockContext {
    /// `cuda.blockIdx` of this block.
    pub block_idx: [u32; 3],
    /// `cuda.blockDim`: threads per block on each axis.
    pub block_dim: [u32; 3],
    /// `cuda.gridDim`: blocks on each axis.
    pub grid_dim: [u32; 3],
    /// Bit `p` set: parameter `p`'s array is this worker's private copy (a
    /// kernel argument that only receives accumulating atomics, see the CPU
    /// SIMT lowering's `privatize`), so its atomics need not be atomic.
    pub private_mask: u32,
    /// This worker's shared memory: the kernel's static shared arrays (as many
    /// bytes as the compiled kernel says it needs), then `dynamic_shared_bytes`.
    /// 16-byte aligned; reused from block to block, not zeroed.
    pub shared: *mut u8,
    pub dynamic_shared_bytes: u64,
    /// Per-thread storage for values live across barriers and for local arrays:
    /// `scratch_bytes_per_thread * threads in the block` bytes, 16-byte aligned,
    /// with [`SCRATCH_GUARD_BYTES`] of readable memory before and after.
    pub scratch: *mut u8,
    pub scratch_bytes: u64,
    /// Part `split_part` of `split_parts` (0 of 1 unless the kernel's block
    /// function can split its grid-stride loop, see the CPU SIMT lowering's
    /// `split`): the block runs only that share of the loop's iterations.
    pub split_part: u32,
    pub split_parts: u32,
}

/// Readable bytes (of any content) on each side of a block's scratch memory:
/// a warp shuffle reads its neighbour's slot (up to 32 lanes of up to 16
/// bytes away) unconditionally and keeps only the lanes it needs, so that the
/// thread loop reads contiguous memory instead of gathering.
pub const SCRATCH_GUARD_BYTES: u64 = 512;

/// The block function of a kernel compiled for the CPU.
pub type BlockEntry = unsafe extern "C" fn(args: *const u64, ctx: *const BlockContext) -> u32;
