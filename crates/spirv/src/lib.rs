//! Hypersonic IR kernels → SPIR-V for Vulkan compute, with rspirv.
//!
//! The module uses `PhysicalStorageBuffer64` addressing: array arguments are
//! 64-bit buffer device addresses, so the kernel ABI is CUDA's pointer model.
//! Arguments arrive as the slots of `hypersonic_ir::abi` in push constants
//! (or, when they do not fit, through one device address of a slot buffer).

use hypersonic_ir::Module;

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
    /// device address of a buffer holding the slots).
    pub slots_in_push_constants: bool,
    /// Bytes of static workgroup (shared) memory the kernel declares.
    pub static_shared_bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SpirvError {
    #[error("the device lacks {feature}, which this kernel needs ({why})")]
    MissingFeature { feature: String, why: String },
    #[error("unsupported in the SPIR-V backend: {0}")]
    Unsupported(String),
}

pub fn compile_spirv(module: &Module, opts: &SpirvOptions) -> Result<SpirvModule, SpirvError> {
    let _ = (module, opts);
    Err(SpirvError::Unsupported("not yet".into()))
}
