//! Hypersonic's runtime: devices, device memory and kernel launches.
//!
//! Host (`@njit`) calls need no runtime beyond the slot ABI of
//! [`hypersonic_ir::abi`], which the Python extension packs directly. GPU
//! kernels (`@cuda.jit`) run on a [`Device`]:
//!
//! - [`CpuDevice`]: the CPU, through the compiled SIMT lowering (one block
//!   function per kernel, blocks spread over rayon). Always present.
//! - [`CudaDevice`]: an NVIDIA GPU through the CUDA driver API (cudarc, loaded at
//!   run time: the same binary runs on machines with and without a driver).
//! - [`VulkanDevice`]: any Vulkan 1.2 GPU (AMD, Intel, Apple through MoltenVK)
//!   and Mesa's lavapipe, through ash with `libvulkan` loaded at run time;
//!   kernels are SPIR-V from `hypersonic_spirv`.
//!
//! Launch arguments are the kernel's 8-byte slots as for the host entry (see
//! [`abi`]); [`KernelArgs`] packs them. Array slots hold device addresses:
//! [`DeviceBuffer::addr`].

pub use hypersonic_ir::abi;

mod args;
mod cpu;
mod cuda;
mod device;
mod kernel;
mod private_copies;
mod vulkan;

use std::sync::{Arc, OnceLock};

pub use args::KernelArgs;
pub use cpu::CpuDevice;
pub use cuda::{cuda_available, cuda_driver_version, cuda_unavailable_reason, CudaDevice};
pub use device::{
    Device, DeviceBuffer, DeviceId, DeviceInfo, DeviceKind, DeviceLimits, Event, Stream,
};
pub use kernel::{CpuImage, Kernel, LaunchConfig};
pub use vulkan::{
    vulkan_available, vulkan_unavailable_reason, SubgroupOperations, VulkanDevice,
    VulkanDeviceType, VulkanFeatures, VulkanStats,
};

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

/// Everything that can go wrong in the runtime. Each message says what happened
/// and, where there is one, what to do.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RuntimeError {
    /// The launch configuration or the arguments do not fit the kernel or the device.
    #[error("invalid launch: {0}")]
    InvalidLaunch(String),
    /// A thread of the kernel raised `exception` (status `k + 1` for
    /// `Module::exceptions[k]`).
    #[error("{}", raised_message(.kernel, *.status, .exception.as_ref()))]
    KernelRaised {
        kernel: String,
        status: u32,
        exception: Option<hypersonic_ir::Exception>,
    },
    /// A CUDA driver call failed: `call` is the driver function, `code` the
    /// `CUresult` name, `message` the driver's explanation and our advice.
    #[error("{call} failed: {code} ({message})")]
    Cuda {
        call: &'static str,
        code: String,
        message: String,
    },
    /// A Vulkan call failed: `call` is the Vulkan function, `code` the
    /// `VkResult` name, `message` what it means and our advice.
    #[error("{call} failed: {code} ({message})")]
    Vulkan {
        call: &'static str,
        code: String,
        message: String,
    },
    /// No such device, or the requested kind of device is not available.
    #[error("{0}")]
    NoDevice(String),
    /// A copy or memset outside a buffer, or a buffer of another device.
    #[error("invalid memory operation: {0}")]
    InvalidMemory(String),
    /// A stream or event used wrongly (on another device, not recorded).
    #[error("invalid operation: {0}")]
    InvalidOperation(String),
    #[error("out of memory on {device}: could not allocate {bytes} bytes")]
    OutOfMemory { device: String, bytes: u64 },
    /// The kernel could not be compiled for the device.
    #[error("could not compile kernel `{kernel}` for {target}: {message}")]
    Compile {
        kernel: String,
        target: String,
        message: String,
    },
}

fn raised_message(kernel: &str, status: u32, exc: Option<&hypersonic_ir::Exception>) -> String {
    match exc {
        Some(e) if e.message.is_empty() => format!("kernel `{kernel}` raised {}", e.class),
        Some(e) => format!("kernel `{kernel}` raised {}: {}", e.class, e.message),
        None => format!("kernel `{kernel}` failed with status {status}"),
    }
}

static CPU: OnceLock<Arc<CpuDevice>> = OnceLock::new();

/// The CPU device (one per process).
pub fn cpu_device() -> Arc<CpuDevice> {
    CPU.get_or_init(|| Arc::new(CpuDevice::new())).clone()
}

/// The CUDA devices, in driver order; empty without a driver or a GPU.
pub fn cuda_devices() -> Vec<Arc<dyn Device>> {
    cuda::devices()
        .map(|ds| ds.iter().map(|d| d.clone() as Arc<dyn Device>).collect())
        .unwrap_or_default()
}

/// The Vulkan devices, in the loader's order (`vulkan:N` is the N-th), usable
/// or not ([`VulkanDevice::unusable_reason`]); empty without a Vulkan loader.
pub fn vulkan_devices() -> Vec<Arc<VulkanDevice>> {
    vulkan::devices().to_vec()
}

/// The Vulkan GPUs a launch may pick by default, best first: usable discrete
/// GPUs, then integrated ones, then virtual ones (never a CPU implementation
/// such as lavapipe).
fn vulkan_gpus() -> Vec<Arc<VulkanDevice>> {
    let mut gpus: Vec<_> = vulkan::devices()
        .iter()
        .filter(|d| d.is_default_candidate())
        .cloned()
        .collect();
    gpus.sort_by_key(|d| d.rank()); // stable: loader order within a type
    gpus
}

/// Every device, in the order a launch prefers them: CUDA devices, Vulkan
/// GPUs (discrete, then integrated), the CPU, then the other Vulkan devices
/// (lavapipe, and devices that cannot run kernels), which are only used when
/// asked for.
pub fn devices() -> Vec<Arc<dyn Device>> {
    let mut all = cuda_devices();
    let gpus = vulkan_gpus();
    all.extend(gpus.iter().map(|d| d.clone() as Arc<dyn Device>));
    all.push(cpu_device());
    all.extend(
        vulkan::devices()
            .iter()
            .filter(|d| !gpus.iter().any(|g| Arc::ptr_eq(g, d)))
            .map(|d| d.clone() as Arc<dyn Device>),
    );
    all
}

/// The device named by `spec`: `cpu`, `cuda` (CUDA device 0), `cuda:N`,
/// `vulkan` (Vulkan device 0) or `vulkan:N` (lavapipe included).
pub fn device_from_spec(spec: &str) -> Result<Arc<dyn Device>> {
    let spec = spec.trim().to_ascii_lowercase();
    let number = |s: &str| -> Result<usize> {
        s.parse().map_err(|_| {
            RuntimeError::NoDevice(format!(
                "unknown device `{spec}`: write `cpu`, `cuda`, `cuda:N`, `vulkan` or `vulkan:N` \
                 with N a device number"
            ))
        })
    };
    match spec.as_str() {
        "cpu" => Ok(cpu_device()),
        "cuda" | "gpu" => cuda_device(0),
        "vulkan" => vulkan_device(0),
        s if s.starts_with("cuda:") => cuda_device(number(&s["cuda:".len()..])?),
        s if s.starts_with("vulkan:") => vulkan_device(number(&s["vulkan:".len()..])?),
        _ => Err(RuntimeError::NoDevice(format!(
            "unknown device `{spec}`: write `cpu`, `cuda`, `cuda:N`, `vulkan` or `vulkan:N`"
        ))),
    }
}

/// Vulkan device `n` (in the loader's order), when it can run kernels.
pub fn vulkan_device(n: usize) -> Result<Arc<dyn Device>> {
    let devs = vulkan::devices();
    match devs.get(n) {
        Some(d) => match d.unusable_reason() {
            None => Ok(d.clone()),
            Some(why) => Err(RuntimeError::NoDevice(format!(
                "Vulkan device {n} ({}) cannot run kernels: {why}",
                d.info().name
            ))),
        },
        None if devs.is_empty() => Err(RuntimeError::NoDevice(format!(
            "no Vulkan device: {}",
            vulkan_unavailable_reason().unwrap_or_else(|| "none found".into())
        ))),
        None => Err(RuntimeError::NoDevice(format!(
            "no Vulkan device {n}: there {} {} (numbered from 0)",
            if devs.len() == 1 { "is" } else { "are" },
            devs.len()
        ))),
    }
}

/// CUDA device `n`.
pub fn cuda_device(n: usize) -> Result<Arc<dyn Device>> {
    let devs = cuda::devices()?;
    match devs.get(n) {
        Some(d) => Ok(d.clone()),
        None if devs.is_empty() => Err(RuntimeError::NoDevice(
            "no CUDA device: the driver found no GPU".into(),
        )),
        None => Err(RuntimeError::NoDevice(format!(
            "no CUDA device {n}: there {} {} (numbered from 0)",
            if devs.len() == 1 { "is" } else { "are" },
            devs.len()
        ))),
    }
}

/// The device kernels run on unless told otherwise: `$HYPERSONIC_DEVICE`
/// (`cpu`, `cuda`, `cuda:N`, `vulkan`, `vulkan:N`) when set, else the first
/// CUDA device when there is one, else the best Vulkan GPU (discrete before
/// integrated; not lavapipe) when there is one, else the CPU.
pub fn default_device() -> Result<Arc<dyn Device>> {
    match std::env::var("HYPERSONIC_DEVICE") {
        Ok(spec) if !spec.trim().is_empty() => device_from_spec(&spec).map_err(|e| match e {
            RuntimeError::NoDevice(m) => {
                RuntimeError::NoDevice(format!("HYPERSONIC_DEVICE={spec}: {m}"))
            }
            e => e,
        }),
        _ => Ok(cuda_devices()
            .into_iter()
            .next()
            .or_else(|| {
                vulkan_gpus()
                    .into_iter()
                    .next()
                    .map(|d| d as Arc<dyn Device>)
            })
            .unwrap_or_else(|| cpu_device())),
    }
}
