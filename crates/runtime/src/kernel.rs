//! Kernels and their per-device images, and launch configurations.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use hypersonic_ir::abi::{self, BlockEntry};
use hypersonic_ir::{Exception, Module};
use hypersonic_llvm::ptx::{compile_ptx, Ptx, PtxOptions};
use hypersonic_llvm::simt::{PrivateArray, SimtModule};
use hypersonic_llvm::HostOptions;
use hypersonic_spirv::{compile_spirv, SpirvModule, SpirvOptions};

use crate::device::DeviceLimits;
use crate::{cuda, vulkan, Result, RuntimeError};

/// How a kernel is launched: `grid` blocks of `block` threads, each block with
/// `dynamic_shared_bytes` bytes of dynamic shared memory after the kernel's
/// static shared arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaunchConfig {
    pub grid: [u32; 3],
    pub block: [u32; 3],
    pub dynamic_shared_bytes: u64,
}

const AXES: [&str; 3] = ["x", "y", "z"];

impl LaunchConfig {
    /// A 1-D launch of `blocks` blocks of `threads` threads.
    pub fn linear(blocks: u32, threads: u32) -> LaunchConfig {
        LaunchConfig {
            grid: [blocks, 1, 1],
            block: [threads, 1, 1],
            dynamic_shared_bytes: 0,
        }
    }

    pub fn threads_per_block(&self) -> u64 {
        self.block.iter().map(|&d| d as u64).product()
    }

    pub fn blocks(&self) -> u64 {
        self.grid.iter().map(|&d| d as u64).product()
    }

    /// Checks the configuration against a device's limits, for a kernel with
    /// `static_shared_bytes` of static shared memory.
    pub fn validate(&self, limits: &DeviceLimits, static_shared_bytes: u64) -> Result<()> {
        let bad = |m: String| Err(RuntimeError::InvalidLaunch(m));
        for (what, dims) in [("grid", &self.grid), ("block", &self.block)] {
            for (axis, &d) in AXES.iter().zip(dims) {
                if d == 0 {
                    return bad(format!(
                        "{what} dimension {axis} is 0: every grid and block dimension must be at least 1"
                    ));
                }
            }
        }
        let threads = self.threads_per_block();
        if threads > limits.max_threads_per_block as u64 {
            return bad(format!(
                "block of {threads} threads ({}x{}x{}): a block may have at most {} threads",
                self.block[0], self.block[1], self.block[2], limits.max_threads_per_block
            ));
        }
        for ((axis, &d), &max) in AXES.iter().zip(&self.block).zip(&limits.max_block_dim) {
            if d > max {
                return bad(format!(
                    "block dimension {axis} is {d}: a block may have at most {max} threads along {axis}"
                ));
            }
        }
        for ((axis, &d), &max) in AXES.iter().zip(&self.grid).zip(&limits.max_grid_dim) {
            if d > max {
                return bad(format!(
                    "grid dimension {axis} is {d}: a grid may have at most {max} blocks along {axis}"
                ));
            }
        }
        let limit = limits
            .max_shared_memory_per_block
            .max(limits.max_shared_memory_per_block_optin);
        let shared = static_shared_bytes.saturating_add(self.dynamic_shared_bytes);
        if shared > limit {
            return bad(format!(
                "{shared} bytes of shared memory per block ({static_shared_bytes} static + {} dynamic): \
                 a block may use at most {limit} bytes on this device",
                self.dynamic_shared_bytes
            ));
        }
        Ok(())
    }
}

/// A kernel compiled for the CPU: its block function (see
/// [`BlockContext`](crate::abi::BlockContext)) and the memory it needs.
pub struct CpuImage {
    entry: BlockEntry,
    static_shared_bytes: u64,
    scratch_bytes_per_thread: u64,
    /// Nanoseconds of worker time per block at the last launch (0: none yet).
    block_nanos: AtomicU64,
    /// The compiled code (kept alive) and what its compiler decided; `None`
    /// for a hand-made image.
    module: Option<SimtModule>,
}

impl CpuImage {
    /// A block function written by hand or compiled elsewhere.
    ///
    /// # Safety
    /// `entry` must follow the block function contract of
    /// [`BlockEntry`](crate::abi::BlockEntry) for the kernel's argument slots,
    /// touch no more than `static_shared_bytes` + the dynamic shared bytes of
    /// shared memory and `scratch_bytes_per_thread` scratch bytes per thread,
    /// and be safe to call from several threads at once.
    pub unsafe fn new(
        entry: BlockEntry,
        static_shared_bytes: u64,
        scratch_bytes_per_thread: u64,
    ) -> CpuImage {
        CpuImage {
            entry,
            static_shared_bytes,
            scratch_bytes_per_thread,
            block_nanos: AtomicU64::new(0),
            module: None,
        }
    }

    fn compiled(module: SimtModule) -> CpuImage {
        CpuImage {
            entry: module.block_entry(),
            static_shared_bytes: module.static_shared_bytes(),
            scratch_bytes_per_thread: module.scratch_bytes_per_thread(),
            block_nanos: AtomicU64::new(0),
            module: Some(module),
        }
    }

    pub fn entry(&self) -> BlockEntry {
        self.entry
    }

    pub fn static_shared_bytes(&self) -> u64 {
        self.static_shared_bytes
    }

    pub fn scratch_bytes_per_thread(&self) -> u64 {
        self.scratch_bytes_per_thread
    }

    /// Run the blocks with `blockIdx.y` varying fastest: the kernel's memory
    /// accesses are contiguous along `y`, and any order of blocks is valid.
    pub fn blocks_y_major(&self) -> bool {
        self.module.as_ref().is_some_and(SimtModule::blocks_y_major)
    }

    /// Per axis: whether neighbouring blocks may run as one wider block (see
    /// `SimtModule::mergeable_axes`).
    pub fn mergeable_axes(&self) -> [bool; 3] {
        self.module
            .as_ref()
            .map_or([false; 3], SimtModule::mergeable_axes)
    }

    /// Whether a block may run a share of its loop's iterations (see
    /// `SimtModule::splittable`).
    pub fn splittable(&self) -> bool {
        self.module.as_ref().is_some_and(SimtModule::splittable)
    }

    /// What a block of this kernel cost at its last launch (worker
    /// nanoseconds; 0 before the first): the CPU device decides from it
    /// whether a grid is worth spreading over its workers.
    pub fn block_nanos(&self) -> u64 {
        self.block_nanos.load(Ordering::Relaxed)
    }

    pub fn set_block_nanos(&self, nanos: u64) {
        self.block_nanos.store(nanos, Ordering::Relaxed);
    }

    /// Array arguments each worker may accumulate into privately (see
    /// `BlockContext::private_mask`).
    pub fn private_arrays(&self) -> &[PrivateArray] {
        self.module.as_ref().map_or(&[], SimtModule::private_arrays)
    }

    /// What the SIMT planner decided (empty for a hand-made image).
    pub fn plan_summary(&self) -> String {
        self.module
            .as_ref()
            .map(|m| m.plan_summary().to_string())
            .unwrap_or_default()
    }

    /// The optimised LLVM IR of the block function (empty for a hand-made image).
    pub fn llvm_ir(&self) -> String {
        self.module
            .as_ref()
            .map(SimtModule::llvm_ir)
            .unwrap_or_default()
    }

    /// The host assembly of the block function (empty for a hand-made image).
    pub fn asm(&self) -> String {
        self.module
            .as_ref()
            .map(SimtModule::asm)
            .unwrap_or_default()
    }
}

enum Source {
    /// Compiled on demand for each device.
    Ir {
        module: Arc<Module>,
        host: HostOptions,
        ptx: PtxOptions,
    },
    /// Images given ready-made; a device with none cannot run the kernel.
    Images,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A `@cuda.jit` kernel for one argument signature: its IR, and its images for
/// the devices it has been launched on (compiled on first use, then kept).
pub struct Kernel {
    id: u64,
    name: String,
    param_slots: usize,
    exceptions: Vec<Exception>,
    source: Source,
    cpu: OnceLock<Result<CpuImage, String>>,
    /// PTX per compute capability.
    ptx: Mutex<HashMap<(u32, u32), Arc<Ptx>>>,
    /// The given PTX of an image-only kernel.
    fixed_ptx: Option<Arc<Ptx>>,
    /// The loaded CUDA module per CUDA device index.
    pub(crate) cuda: Mutex<HashMap<usize, Arc<cuda::LoadedKernel>>>,
    /// SPIR-V per set of device features (see [`Kernel::spirv`]).
    spirv: Mutex<HashMap<SpirvKey, Arc<SpirvModule>>>,
    /// The given SPIR-V of an image-only kernel.
    fixed_spirv: Option<Arc<SpirvModule>>,
    /// The shader module (and its pipelines) per Vulkan device index.
    pub(crate) vulkan: Mutex<HashMap<usize, Arc<vulkan::LoadedShader>>>,
}

/// The [`SpirvOptions`] that make a difference to the SPIR-V, as a map key.
type SpirvKey = (u32, bool, bool, bool, bool, u32, bool);

fn spirv_key(o: &SpirvOptions) -> SpirvKey {
    (
        o.subgroup_size,
        o.float64,
        o.int64,
        o.atomic_float32_add,
        o.atomic_float64_add,
        o.max_push_constant_bytes,
        o.fastmath,
    )
}

impl Kernel {
    /// A kernel whose entry function is `module.entry`, compiled with default options.
    pub fn new(module: impl Into<Arc<Module>>) -> Kernel {
        Kernel::with_options(module, HostOptions::default(), PtxOptions::default())
    }

    /// A kernel compiled with `host` for the CPU and `ptx` for CUDA devices (its
    /// `cc` is replaced by each device's compute capability).
    pub fn with_options(
        module: impl Into<Arc<Module>>,
        host: HostOptions,
        ptx: PtxOptions,
    ) -> Kernel {
        let module = module.into();
        let entry = module.function(module.entry);
        Kernel {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            name: entry.name.clone(),
            param_slots: abi::args_slots(&entry.params),
            exceptions: module.exceptions.clone(),
            source: Source::Ir { module, host, ptx },
            cpu: OnceLock::new(),
            ptx: Mutex::new(HashMap::new()),
            fixed_ptx: None,
            cuda: Mutex::new(HashMap::new()),
            spirv: Mutex::new(HashMap::new()),
            fixed_spirv: None,
            vulkan: Mutex::new(HashMap::new()),
        }
    }

    /// A kernel from ready-made images: a CPU block function, PTX, or both.
    pub fn from_images(
        name: impl Into<String>,
        param_slots: usize,
        exceptions: Vec<Exception>,
        cpu: Option<CpuImage>,
        ptx: Option<Ptx>,
    ) -> Kernel {
        let name = name.into();
        let cpu_cell = OnceLock::new();
        let _ = cpu_cell.set(cpu.ok_or_else(|| "the kernel was given no CPU image".to_string()));
        Kernel {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            name,
            param_slots,
            exceptions,
            source: Source::Images,
            cpu: cpu_cell,
            ptx: Mutex::new(HashMap::new()),
            fixed_ptx: ptx.map(Arc::new),
            cuda: Mutex::new(HashMap::new()),
            spirv: Mutex::new(HashMap::new()),
            fixed_spirv: None,
            vulkan: Mutex::new(HashMap::new()),
        }
    }

    /// Gives an image-only kernel (see [`Kernel::from_images`]) its SPIR-V for
    /// Vulkan devices, used as it is whatever the device's features. Its
    /// `param_slots` must be the kernel's.
    pub fn with_spirv(mut self, spirv: SpirvModule) -> Kernel {
        self.fixed_spirv = Some(Arc::new(spirv));
        self
    }

    /// A number unique to this kernel in the process.
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The number of 8-byte argument slots a launch passes.
    pub fn param_slots(&self) -> usize {
        self.param_slots
    }

    pub fn module(&self) -> Option<&Module> {
        match &self.source {
            Source::Ir { module, .. } => Some(module),
            Source::Images => None,
        }
    }

    pub fn exceptions(&self) -> &[Exception] {
        &self.exceptions
    }

    /// The exception a status `k + 1` stands for.
    pub fn exception(&self, status: u32) -> Option<&Exception> {
        self.exceptions.get((status as usize).checked_sub(1)?)
    }

    /// The error for a nonzero status of a launch.
    pub(crate) fn raised(&self, status: u32) -> RuntimeError {
        RuntimeError::KernelRaised {
            kernel: self.name.clone(),
            status,
            exception: self.exception(status).cloned(),
        }
    }

    /// The CPU image, compiled on first use (once, even under concurrent launches).
    pub fn cpu_image(&self) -> Result<&CpuImage> {
        let image = self.cpu.get_or_init(|| match &self.source {
            Source::Ir { module, host, .. } => SimtModule::compile(module, host)
                .map(CpuImage::compiled)
                .map_err(|e| e.to_string()),
            Source::Images => Err("the kernel was given no CPU image".to_string()),
        });
        image.as_ref().map_err(|message| RuntimeError::Compile {
            kernel: self.name.clone(),
            target: "the CPU".into(),
            message: message.clone(),
        })
    }

    /// The PTX for compute capability `cc`, compiled on first use.
    pub fn ptx(&self, cc: (u32, u32)) -> Result<Arc<Ptx>> {
        if let Some(p) = &self.fixed_ptx {
            return Ok(p.clone());
        }
        let target = format!("CUDA sm_{}{}", cc.0, cc.1);
        let Source::Ir {
            module, ptx: opts, ..
        } = &self.source
        else {
            return Err(RuntimeError::Compile {
                kernel: self.name.clone(),
                target,
                message: "the kernel was given no PTX".into(),
            });
        };
        let mut cache = self.ptx.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = cache.get(&cc) {
            return Ok(p.clone());
        }
        let opts = PtxOptions { cc, ..opts.clone() };
        let ptx = compile_ptx(module, &opts, false).map_err(|e| RuntimeError::Compile {
            kernel: self.name.clone(),
            target,
            message: e.to_string(),
        })?;
        let ptx = Arc::new(ptx);
        cache.insert(cc, ptx.clone());
        Ok(ptx)
    }

    /// The SPIR-V for a Vulkan device with the features of `opts`, compiled
    /// on first use (once per distinct set of options).
    pub fn spirv(&self, opts: &SpirvOptions) -> Result<Arc<SpirvModule>> {
        if let Some(m) = &self.fixed_spirv {
            return Ok(m.clone());
        }
        let target = "Vulkan (SPIR-V)".to_string();
        let Source::Ir {
            module, host, ptx, ..
        } = &self.source
        else {
            return Err(RuntimeError::Compile {
                kernel: self.name.clone(),
                target,
                message: "the kernel was given no SPIR-V".into(),
            });
        };
        let opts = SpirvOptions {
            fastmath: opts.fastmath || host.fastmath || ptx.fastmath,
            ..opts.clone()
        };
        let key = spirv_key(&opts);
        let mut cache = self.spirv.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = cache.get(&key) {
            return Ok(m.clone());
        }
        let m = compile_spirv(module, &opts).map_err(|e| RuntimeError::Compile {
            kernel: self.name.clone(),
            target,
            message: e.to_string(),
        })?;
        let m = Arc::new(m);
        cache.insert(key, m.clone());
        Ok(m)
    }

    pub(crate) fn check_args(&self, args: &[u64], slots: usize) -> Result<()> {
        if args.len() != slots {
            return Err(RuntimeError::InvalidLaunch(format!(
                "kernel `{}` takes {slots} argument slots, but {} were passed",
                self.name,
                args.len()
            )));
        }
        Ok(())
    }
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("name", &self.name)
            .field("param_slots", &self.param_slots)
            .finish()
    }
}
