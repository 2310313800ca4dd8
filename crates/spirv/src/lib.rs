//! Hypersonic IR kernels → SPIR-V for Vulkan compute, with rspirv.
//!
//! The module uses `PhysicalStorageBuffer64` addressing: array arguments are
//! 64-bit buffer device addresses, so the kernel ABI is CUDA's pointer model.
//! Arguments arrive as the slots of `hypersonic_ir::abi` in push constants
//! (or, when they do not fit, through one device address of a slot buffer).
//!
//! # The module a kernel becomes
//!
//! - SPIR-V 1.5 for `--target-env vulkan1.2`, one `GLCompute` entry point
//!   named after the kernel ([`SpirvModule::entry_name`]), `PhysicalStorageBuffer64`
//!   addressing, the GLSL450 memory model.
//! - **Block shape**: the `WorkgroupSize` built-in is a spec-constant composite of
//!   [`SPEC_BLOCK_X`], [`SPEC_BLOCK_Y`], [`SPEC_BLOCK_Z`] (32-bit, default 1), so one
//!   module serves every block shape: the runtime sets them per launch.
//! - **Dynamic shared memory**: spec constant [`SPEC_DYNAMIC_SHARED_BYTES`] (32-bit,
//!   default 0) is the launch's dynamic shared memory in *bytes*; a dynamic
//!   `cuda.shared.array(0, dtype)` is a `Workgroup` array of `max(1, ceil(bytes /
//!   itemsize))` elements and its `.shape[0]` is `bytes / itemsize`. Dynamic shared
//!   arrays of one dtype alias each other as in CUDA; arrays of *different* dtypes
//!   are separate allocations (SPIR-V cannot alias typed `Workgroup` variables
//!   without the explicit-layout extension).
//! - **Arguments** ([`SpirvModule::slots_in_push_constants`]): when
//!   `8 * (param_slots + 1) <= max_push_constant_bytes`, the push constants are
//!   `param_slots + 1` little-endian `u64`s at offsets `8 * i`: the kernel's ABI slots,
//!   then the device address of the status word. Otherwise the push constants are two
//!   `u64`s: the device address of a buffer holding the `param_slots` slots (8-byte
//!   aligned), then the status word's address. [`SpirvModule::push_constant_bytes`]
//!   is the size of the push-constant range (stage `COMPUTE`, offset 0).
//! - **Grid size**: a kernel that reads `gridDim` takes the grid's block counts
//!   as three little-endian `u32`s (x, y, z) at byte offset
//!   [`SpirvModule::grid_offset`] of the push constants, right after the `u64`s
//!   above (and counted in `push_constant_bytes`; the slots move to the slot
//!   buffer when slots, status address and grid do not all fit). It never reads
//!   `NumWorkgroups`, which is one dispatch's count when the runtime splits a
//!   grid larger than `maxComputeWorkGroupCount` into several
//!   `vkCmdDispatchBase` calls (`WorkgroupId` includes the base, so `blockIdx`
//!   stays right).
//! - **Status word**: a 4-byte-aligned `u32` in device memory that the runtime zeroes
//!   before the launch. A thread that raises `Module::exceptions[k]` stores `k + 1`
//!   with an atomic compare-and-swap from 0 (so the first exception wins) and returns.
//! - Array data pointers are device addresses; an element is at
//!   `data + Σ index * stride` (byte strides from the ABI slots), read through a
//!   `PhysicalStorageBuffer` pointer with `Aligned` = the element (component) size.
//! - Float arithmetic results (`OpFAdd`, `OpFSub`, `OpFMul`, `OpFDiv`, ...) are
//!   decorated `NoContraction`, so that no driver fuses `a * b + c` into one
//!   rounding; with [`SpirvOptions::fastmath`] a kernel's own `+ - * /` may be
//!   contracted, but the software math library's arithmetic never is (its
//!   error-free transformations need each operation rounded).
//! - Device functions are inlined into the kernel (SPIR-V for Vulkan has no
//!   recursion either, and pointers into workgroup memory cannot be passed around).
//!
//! # Warps
//!
//! `cuda.warpsize` is 32 on every device; warp `w` of a block is the threads whose
//! linear index (`x + y * bx + z * bx * by`) is `32 * w .. 32 * w + 31`.
//! - `subgroup_size == 32`: warp functions are `GroupNonUniform*` operations.
//! - `subgroup_size` a larger multiple of 32 (AMD's wave64): each 32-lane part of a
//!   subgroup is one warp; shuffles read within the part, ballots are masked to it.
//! - `subgroup_size < 32` (lavapipe's 8, Intel's 8/16): warp functions go through a
//!   workgroup-memory exchange (one `u64` per thread of the block) between two
//!   workgroup barriers. Such a warp function must be reached by the whole block
//!   (not under thread-dependent control flow): otherwise compilation fails with
//!   [`SpirvError::Unsupported`] naming it.
//!
//! The native modes rely on subgroups being 32-lane-aligned runs of the linear
//! invocation index (as every driver lays them out); the runtime should launch with
//! `requiredSubgroupSize = subgroup_size` and full subgroups where
//! `VK_EXT_subgroup_size_control` is available ([`SpirvModule::subgroup_size`]).

use hypersonic_ir::Module;

mod gen;
mod prepare;

#[cfg(test)]
mod tests;

/// Specialization-constant id of the block size on x (`u32`, default 1).
pub const SPEC_BLOCK_X: u32 = 0;
/// Specialization-constant id of the block size on y (`u32`, default 1).
pub const SPEC_BLOCK_Y: u32 = 1;
/// Specialization-constant id of the block size on z (`u32`, default 1).
pub const SPEC_BLOCK_Z: u32 = 2;
/// Specialization-constant id of the launch's dynamic shared memory in bytes (`u32`, default 0).
pub const SPEC_DYNAMIC_SHARED_BYTES: u32 = 3;

/// What the target device supports; a kernel that needs a missing feature is
/// a clear error naming it.
#[derive(Clone, Debug)]
pub struct SpirvOptions {
    /// The device's subgroup size (lavapipe: 8, AMD: 32 or 64, NVIDIA: 32).
    pub subgroup_size: u32,
    pub float64: bool,
    pub int64: bool,
    /// `VK_EXT_shader_atomic_float`: atomic add on 32- and 64-bit floats in buffers.
    pub atomic_float32_add: bool,
    pub atomic_float64_add: bool,
    /// Bytes of push constants available (`maxPushConstantsSize`).
    pub max_push_constant_bytes: u32,
    /// Numba's `fastmath=True`: the kernel's own float `+ - * /` may be contracted.
    pub fastmath: bool,
}

impl Default for SpirvOptions {
    fn default() -> Self {
        SpirvOptions {
            subgroup_size: 32,
            float64: true,
            int64: true,
            atomic_float32_add: false,
            atomic_float64_add: false,
            max_push_constant_bytes: 128,
            fastmath: false,
        }
    }
}

/// A compiled compute shader and how to launch it.
#[derive(Clone, Debug)]
pub struct SpirvModule {
    pub words: Vec<u32>,
    pub entry_name: String,
    /// Number of 64-bit argument slots.
    pub param_slots: usize,
    /// Whether the slots travel in push constants (else: push constant 0 is the
    /// device address of a buffer holding the slots). Either way the *last* push
    /// constant `u64` is the device address of the `u32` status word.
    pub slots_in_push_constants: bool,
    /// Bytes of static workgroup (shared) memory the kernel declares: its static
    /// shared arrays and the backend's own (the block-reduction counter). Add
    /// `shared_bytes_per_thread * threads per block` and the dynamic shared memory
    /// for the launch's total.
    pub static_shared_bytes: u64,
    /// Size in bytes of the push-constant range (offset 0, compute stage):
    /// `8 * (param_slots + 1)` or 16 (see [`SpirvModule::slots_in_push_constants`]),
    /// plus 12 with [`SpirvModule::grid_offset`].
    pub push_constant_bytes: u32,
    /// `Some(offset)` when the kernel reads `gridDim`: the runtime writes the
    /// launch's grid (blocks along x, y, z; three little-endian `u32`s) at this
    /// byte offset of the push constants, after the `u64`s. `None`: no grid.
    pub grid_offset: Option<u32>,
    /// Workgroup memory per thread of the block that the module declares on top of
    /// `static_shared_bytes` (8 when warp functions are emulated through a
    /// workgroup-memory exchange, else 0).
    pub shared_bytes_per_thread: u64,
    /// The Vulkan features (as named in `VkPhysicalDevice*Features`) a device must
    /// have, and the runtime must enable, to run this module: always
    /// `bufferDeviceAddress` and `shaderInt64`; as used: `shaderFloat64`,
    /// `shaderInt16`, `shaderInt8`, `storageBuffer8BitAccess`,
    /// `storageBuffer16BitAccess`, `shaderBufferInt64Atomics`,
    /// `shaderSharedInt64Atomics`, `shaderBufferFloat32AtomicAdd`,
    /// `shaderBufferFloat64AtomicAdd`, `subgroupBasic`, `subgroupBallot`,
    /// `subgroupShuffle` (the last three: `VkPhysicalDeviceSubgroupProperties::
    /// supportedOperations` bits, compute stage).
    pub required_features: Vec<String>,
    /// `Some(n)` when the module's warp functions are subgroup operations that
    /// assume subgroups of exactly `n` lanes (the runtime should request that size,
    /// with full subgroups, where it can); `None` when the code works with any
    /// subgroup size.
    pub subgroup_size: Option<u32>,
}

impl SpirvModule {
    /// A module with the given words and defaults for the launch conventions:
    /// slots in push constants, no grid size in them, no shared memory, `bufferDeviceAddress` and
    /// `shaderInt64` required, no subgroup-size requirement.
    pub fn new(words: Vec<u32>, entry_name: impl Into<String>, param_slots: usize) -> Self {
        SpirvModule {
            words,
            entry_name: entry_name.into(),
            param_slots,
            slots_in_push_constants: true,
            static_shared_bytes: 0,
            push_constant_bytes: 8 * (param_slots as u32 + 1),
            grid_offset: None,
            shared_bytes_per_thread: 0,
            required_features: vec!["bufferDeviceAddress".into(), "shaderInt64".into()],
            subgroup_size: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SpirvError {
    #[error("the device lacks {feature}, which this kernel needs ({why})")]
    MissingFeature { feature: String, why: String },
    #[error("unsupported in the SPIR-V backend: {0}")]
    Unsupported(String),
}

/// Compiles the kernel `module.entry` (and every function it calls, inlined) to a
/// Vulkan compute shader.
pub fn compile_spirv(module: &Module, opts: &SpirvOptions) -> Result<SpirvModule, SpirvError> {
    if !opts.int64 {
        return Err(SpirvError::MissingFeature {
            feature: "int64 (shaderInt64)".into(),
            why: "array arguments are 64-bit device addresses".into(),
        });
    }
    let kernel = prepare::prepare(module, opts)?;
    gen::generate(&kernel, &module.exceptions, opts)
}
