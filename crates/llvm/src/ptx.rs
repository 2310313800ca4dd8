//! Hypersonic IR kernels → PTX through LLVM's NVPTX backend.
//!
//! The kernel's parameters follow the slot ABI of `hypersonic_ir::abi`: one
//! 64-bit `.param` per slot, in order, so that the runtime passes the same slot
//! buffer to `cuLaunchKernel` (one pointer per slot) that the host entry gets.
//! Transcendental math calls libdevice (`__nv_*`), linked from `libdevice.10.bc`
//! and internalised before optimisation.

use hypersonic_ir::Module;

use crate::CodegenError;

#[derive(Clone, Debug)]
pub struct PtxOptions {
    /// Compute capability, e.g. `(8, 0)` for `sm_80`.
    pub cc: (u32, u32),
    pub fastmath: bool,
    pub opt_level: u8,
    /// `libdevice.10.bc`; `None` searches the CUDA toolkit and the NVIDIA wheels
    /// (see [`find_libdevice`]).
    pub libdevice: Option<std::path::PathBuf>,
}

impl Default for PtxOptions {
    fn default() -> Self {
        PtxOptions {
            cc: (8, 0),
            fastmath: false,
            opt_level: 3,
            libdevice: None,
        }
    }
}

/// PTX text of one module, with its kernel (or device function) entry.
#[derive(Clone, Debug)]
pub struct Ptx {
    pub text: String,
    /// The `.entry` (kernel) or `.func` (device function) symbol.
    pub entry_name: String,
    /// Number of 64-bit parameter slots the kernel takes.
    pub param_slots: usize,
}

/// Compiles `module`, whose entry is a kernel (or, with `device`, a device
/// function with the internal status ABI), to PTX.
pub fn compile_ptx(module: &Module, opts: &PtxOptions, device: bool) -> Result<Ptx, CodegenError> {
    let _ = (module, opts, device);
    Err(CodegenError::Unsupported("PTX backend: not yet".into()))
}

/// Finds `libdevice.10.bc`: `$HYPERSONIC_LIBDEVICE`, `$CUDA_HOME`/`$CUDA_PATH`,
/// `/usr/local/cuda`, then the `nvidia-cuda-nvcc-cu12` / `nvidia-nvvm` wheels
/// in the running Python's `sys.path` (passed by the caller as `search`).
pub fn find_libdevice(search: &[std::path::PathBuf]) -> Option<std::path::PathBuf> {
    let _ = search;
    None
}
