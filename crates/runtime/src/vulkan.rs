//! Vulkan GPUs (AMD, Intel, Apple through MoltenVK, NVIDIA too) and Mesa's
//! lavapipe through ash, with `libvulkan` loaded at run time: without a loader
//! there are simply no Vulkan devices ([`vulkan_unavailable_reason`] says why).
//!
//! **Kernels** are SPIR-V compute shaders from `hypersonic_spirv` using
//! `PhysicalStorageBuffer64` addressing: array slots hold buffer device
//! addresses, so no descriptor sets are needed. The shader's interface (agreed
//! through [`SpirvModule`]):
//! - the block size is specialization constants 0, 1, 2 (x, y, z) and the
//!   dynamic shared memory size in bytes specialization constant 3;
//! - the argument slots are `u64` push constants at offset `8 * i`, followed
//!   by one more `u64`, the device address of the kernel's `u32` status word
//!   (`k + 1` when a thread raised `Module::exceptions[k]`), when
//!   [`SpirvModule::slots_in_push_constants`]; otherwise push constant 0 is
//!   the device address of a buffer holding those same `param_slots + 1` slots;
//! - a kernel that reads `gridDim` gets the launch's grid as three `u32`s
//!   (x, y, z) at [`SpirvModule::grid_offset`] of the push constants.
//!
//! One compute pipeline per (kernel, block shape, dynamic shared bytes), kept
//! per kernel and device, created through one `VkPipelineCache` per device.
//! A grid larger than `maxComputeWorkGroupCount` is split into several
//! `vkCmdDispatchBase` calls: `WorkgroupId` (and `GlobalInvocationId`) include
//! the base in Vulkan, so `blockIdx` stays right, and `gridDim` comes from the
//! push constants. `NumWorkgroups` would not be the whole grid, so a
//! hand-written module that reads it (`Kernel::with_spirv`; `hypersonic_spirv`
//! never emits it) cannot be split (a clear launch error).
//!
//! **Memory** comes from a pool: blocks of device memory (64 MiB, or one per
//! large buffer) each bound to one buffer with `SHADER_DEVICE_ADDRESS`,
//! storage and transfer usage, sub-allocated first-fit (256-byte aligned, free
//! ranges coalesced). Device-local memory where the device has it; when that
//! memory is host-visible and coherent (lavapipe, integrated GPUs) copies from
//! and to the host are `memcpy`s through a persistent mapping, otherwise they
//! go through host-visible staging buffers and `vkCmdCopyBuffer` (forced with
//! `HYPERSONIC_VULKAN_STAGING=1`, to test that path on lavapipe). Memory freed
//! while work is queued returns to the pool when that work completes.
//!
//! **Ordering**: one queue per device; every submission starts with a full
//! memory barrier, so all work on a device runs in submission order (streams
//! are honoured, and serialised with one another, which CUDA allows) and ends
//! with a barrier making its writes visible to the host. Each submission
//! signals the next value of one timeline semaphore; a stream remembers the
//! last value submitted on it, so waiting for a stream is waiting for that
//! value. Launches, device-to-device copies and memsets are asynchronous;
//! copies from and to the host return when complete. Events are timestamp
//! queries (wall-clock instants on queues without timestamps).
//!
//! **Exceptions**: as on CUDA, launches are asynchronous, so the status words
//! of the kernels launched since the last check are read (and reset) at the
//! next synchronisation — `synchronize`, `stream_synchronize`,
//! `event_synchronize`, `copy_dtoh` — which returns
//! [`RuntimeError::KernelRaised`] for the first that raised.
//!
//! **Debugging**: `HYPERSONIC_SPIRV_DUMP=<dir>` writes each kernel's module, as
//! the driver gets it, to `<dir>/<entry>.spv` (read it with `spirv-dis`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ffi::{c_char, CStr, CString};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use ash::vk;

use hypersonic_ir::Exception;
use hypersonic_spirv::{SpirvModule, SpirvOptions};

use crate::device::{
    Device, DeviceBuffer, DeviceId, DeviceInfo, DeviceKind, DeviceLimits, Event, EventInner,
    Stream, StreamInner,
};
use crate::kernel::{Kernel, LaunchConfig};
use crate::{Result, RuntimeError};

/// Alignment (and size granularity) of sub-allocations.
const ALIGN: u64 = 256;
/// Size of a pool block of device memory.
const DEVICE_BLOCK: u64 = 64 << 20;
/// Size of a pool block of host-visible memory (staging, status words, slots).
const HOST_BLOCK: u64 = 8 << 20;
/// Staging copies move at most this many bytes per submission.
const STAGING_CHUNK: u64 = 16 << 20;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------- errors

/// The error for a failed Vulkan call.
pub(crate) fn vk_error(call: &'static str, r: vk::Result) -> RuntimeError {
    let mut message = r.to_string();
    if let Some(hint) = hint(r) {
        message.push_str("; ");
        message.push_str(hint);
    }
    RuntimeError::Vulkan {
        call,
        code: format!("VK_{r:?}"),
        message,
    }
}

fn hint(r: vk::Result) -> Option<&'static str> {
    Some(match r {
        vk::Result::ERROR_DEVICE_LOST => {
            "the GPU stopped (a kernel ran too long or read or wrote outside its arrays); \
             this Vulkan device cannot be used any more: restart the process"
        }
        vk::Result::ERROR_OUT_OF_DEVICE_MEMORY | vk::Result::ERROR_OUT_OF_HOST_MEMORY => {
            "free device arrays that are no longer needed"
        }
        vk::Result::ERROR_INCOMPATIBLE_DRIVER => {
            "the Vulkan driver does not support the Vulkan version Hypersonic needs (1.2): update the driver"
        }
        vk::Result::ERROR_INITIALIZATION_FAILED => "the Vulkan driver could not start",
        vk::Result::ERROR_INVALID_SHADER_NV => "the driver rejected the SPIR-V",
        _ => return None,
    })
}

trait Check<T> {
    fn call(self, call: &'static str) -> Result<T>;
}

impl<T> Check<T> for std::result::Result<T, vk::Result> {
    fn call(self, call: &'static str) -> Result<T> {
        self.map_err(|e| vk_error(call, e))
    }
}

fn is_oom(r: vk::Result) -> bool {
    matches!(
        r,
        vk::Result::ERROR_OUT_OF_DEVICE_MEMORY | vk::Result::ERROR_OUT_OF_HOST_MEMORY
    )
}

// ---------------------------------------------------------------- features

/// What kind of device the driver says it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VulkanDeviceType {
    Discrete,
    Integrated,
    Virtual,
    /// A CPU implementation, such as Mesa's lavapipe.
    Cpu,
    Other,
}

impl VulkanDeviceType {
    fn from_vk(t: vk::PhysicalDeviceType) -> Self {
        match t {
            vk::PhysicalDeviceType::DISCRETE_GPU => Self::Discrete,
            vk::PhysicalDeviceType::INTEGRATED_GPU => Self::Integrated,
            vk::PhysicalDeviceType::VIRTUAL_GPU => Self::Virtual,
            vk::PhysicalDeviceType::CPU => Self::Cpu,
            _ => Self::Other,
        }
    }

    /// Whether this is a real GPU (discrete, integrated or virtual), which a
    /// launch may pick by default; a CPU implementation is only used when
    /// asked for.
    pub fn is_gpu(self) -> bool {
        matches!(self, Self::Discrete | Self::Integrated | Self::Virtual)
    }

    /// Default-selection rank: discrete first, then integrated, then virtual.
    fn rank(self) -> u32 {
        match self {
            Self::Discrete => 0,
            Self::Integrated => 1,
            Self::Virtual => 2,
            Self::Cpu => 3,
            Self::Other => 4,
        }
    }
}

impl fmt::Display for VulkanDeviceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Discrete => "discrete GPU",
            Self::Integrated => "integrated GPU",
            Self::Virtual => "virtual GPU",
            Self::Cpu => "CPU",
            Self::Other => "other",
        })
    }
}

/// Subgroup operations the device supports in compute shaders.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SubgroupOperations {
    pub basic: bool,
    pub vote: bool,
    pub arithmetic: bool,
    pub ballot: bool,
    pub shuffle: bool,
    pub shuffle_relative: bool,
    pub clustered: bool,
    pub quad: bool,
}

/// What a Vulkan device supports, as far as kernels care.
#[derive(Clone, Debug, PartialEq)]
pub struct VulkanFeatures {
    /// The Vulkan version the device supports, `(major, minor, patch)`.
    pub api_version: (u32, u32, u32),
    pub device_type: VulkanDeviceType,
    /// The driver's name and version text (`VkPhysicalDeviceDriverProperties`).
    pub driver: String,
    pub float64: bool,
    pub int64: bool,
    pub int16: bool,
    pub int8: bool,
    pub storage_buffer_8bit: bool,
    pub storage_buffer_16bit: bool,
    /// Required: array arguments are buffer device addresses.
    pub buffer_device_address: bool,
    pub vulkan_memory_model: bool,
    pub vulkan_memory_model_device_scope: bool,
    /// 64-bit integer atomics on buffers and on shared memory.
    pub int64_atomics_buffer: bool,
    pub int64_atomics_shared: bool,
    /// Required: submissions are ordered by one timeline semaphore.
    pub timeline_semaphore: bool,
    /// The subgroup size kernels are compiled for: 32 when the device can be
    /// asked for it (`subgroupSizeControl`), else its default size.
    pub subgroup_size: u32,
    /// The device's default subgroup size and the range it may be asked for.
    pub default_subgroup_size: u32,
    pub min_subgroup_size: u32,
    pub max_subgroup_size: u32,
    pub subgroup_size_control: bool,
    /// Whether a pipeline may require full subgroups (`computeFullSubgroups`).
    pub compute_full_subgroups: bool,
    /// Whether subgroup operations work in compute shaders at all.
    pub subgroups_in_compute: bool,
    pub subgroup_operations: SubgroupOperations,
    /// `VK_EXT_shader_atomic_float`: atomic add on floats in buffers and in
    /// shared memory.
    pub atomic_float32_add: bool,
    pub atomic_float64_add: bool,
    pub atomic_float32_shared_add: bool,
    pub atomic_float64_shared_add: bool,
    pub max_push_constant_bytes: u32,
    /// `maxComputeWorkGroupCount`: blocks per dispatch (larger grids are split).
    pub max_workgroup_count: [u32; 3],
    /// Nanoseconds per timestamp tick; `None` when the compute queue has no
    /// timestamps (events then time on the host).
    pub timestamp_period_ns: Option<f32>,
    /// Whether device memory is host-visible (copies are `memcpy`s).
    pub host_visible_device_memory: bool,
}

// ---------------------------------------------------------------- loader

struct Vulkan {
    /// Kept alive: the instance's functions live in the loaded library.
    _entry: ash::Entry,
    instance: ash::Instance,
    devices: Vec<Arc<VulkanDevice>>,
}

// SAFETY: Vulkan instances may be used from any thread (the calls we make on
// them are not externally synchronised).
unsafe impl Send for Vulkan {}
unsafe impl Sync for Vulkan {}

static VULKAN: OnceLock<std::result::Result<Vulkan, String>> = OnceLock::new();

fn vulkan() -> std::result::Result<&'static Vulkan, &'static str> {
    VULKAN
        .get_or_init(load_vulkan)
        .as_ref()
        .map_err(|s| s.as_str())
}

/// Whether a Vulkan loader is present and lists at least one device (usable
/// or not). Never panics.
pub fn vulkan_available() -> bool {
    vulkan_unavailable_reason().is_none()
}

/// Why there are no Vulkan devices (`None` when there are): no `libvulkan`,
/// the instance could not be created, or the loader found no device.
pub fn vulkan_unavailable_reason() -> Option<String> {
    match vulkan() {
        Err(reason) => Some(reason.to_string()),
        Ok(v) if v.devices.is_empty() => Some("the Vulkan loader found no device".into()),
        Ok(_) => None,
    }
}

/// Every Vulkan device, in the loader's order (its index in `vulkan:N`).
pub(crate) fn devices() -> &'static [Arc<VulkanDevice>] {
    vulkan().map(|v| v.devices.as_slice()).unwrap_or(&[])
}

fn version_tuple(v: u32) -> (u32, u32, u32) {
    (
        vk::api_version_major(v),
        vk::api_version_minor(v),
        vk::api_version_patch(v),
    )
}

fn load_vulkan() -> std::result::Result<Vulkan, String> {
    // SAFETY: loads libvulkan and looks up vkGetInstanceProcAddr; fails cleanly.
    let entry = unsafe { ash::Entry::load() }
        .map_err(|e| format!("no Vulkan loader (libvulkan could not be loaded: {e})"))?;
    // SAFETY: a global command of a loaded entry.
    let loader = match unsafe { entry.try_enumerate_instance_version() } {
        Ok(Some(v)) => v,
        Ok(None) => vk::API_VERSION_1_0,
        Err(e) => return Err(vk_error("vkEnumerateInstanceVersion", e).to_string()),
    };
    if loader < vk::API_VERSION_1_1 {
        let (a, b, _) = version_tuple(loader);
        return Err(format!(
            "the Vulkan loader supports Vulkan {a}.{b}; Hypersonic needs 1.2: update libvulkan"
        ));
    }
    let api = loader.min(vk::API_VERSION_1_3);
    // SAFETY: a global command of a loaded entry.
    let instance_exts =
        unsafe { entry.enumerate_instance_extension_properties(None) }.unwrap_or_default();
    let has_ext = |name: &CStr| {
        instance_exts
            .iter()
            .any(|e| e.extension_name_as_c_str().is_ok_and(|n| n == name))
    };
    let mut ext_names: Vec<*const c_char> = Vec::new();
    let mut flags = vk::InstanceCreateFlags::empty();
    // MoltenVK (Apple) devices are listed only to instances that ask for them.
    if has_ext(ash::khr::portability_enumeration::NAME) {
        ext_names.push(ash::khr::portability_enumeration::NAME.as_ptr());
        flags |= vk::InstanceCreateFlags::ENUMERATE_PORTABILITY_KHR;
    }
    let app = vk::ApplicationInfo::default()
        .application_name(c"hypersonic")
        .engine_name(c"hypersonic")
        .api_version(api);
    let info = vk::InstanceCreateInfo::default()
        .application_info(&app)
        .enabled_extension_names(&ext_names)
        .flags(flags);
    // SAFETY: valid create info; the instance lives for the process.
    let instance = unsafe { entry.create_instance(&info, None) }
        .map_err(|e| vk_error("vkCreateInstance", e).to_string())?;
    // SAFETY: a live instance.
    let physical = unsafe { instance.enumerate_physical_devices() }
        .map_err(|e| vk_error("vkEnumeratePhysicalDevices", e).to_string())?;
    let devices = physical
        .into_iter()
        .enumerate()
        .map(|(i, pd)| Arc::new(VulkanDevice::describe(&instance, pd, i)))
        .collect();
    Ok(Vulkan {
        _entry: entry,
        instance,
        devices,
    })
}

// ---------------------------------------------------------------- the device

/// One Vulkan device. Listing it costs nothing; its logical device, queue and
/// memory pool are created on first use.
pub struct VulkanDevice {
    info: DeviceInfo,
    features: VulkanFeatures,
    physical: vk::PhysicalDevice,
    queue_family: u32,
    /// Why the device cannot run kernels, if it cannot.
    unusable: Option<String>,
    /// Extensions to enable on the logical device.
    extensions: Vec<&'static CStr>,
    ctx: OnceLock<std::result::Result<Arc<Ctx>, RuntimeError>>,
    /// Kernels with a status word launched since the last check.
    pending: Mutex<Vec<Arc<LoadedShader>>>,
    stats: Arc<Stats>,
}

/// How much work a device's kernel cache has done (see [`VulkanDevice::stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VulkanStats {
    /// `vkCreateShaderModule` calls (one per kernel and device).
    pub shader_modules: u64,
    /// `vkCreateComputePipelines` calls (one per kernel, block shape and
    /// dynamic shared size).
    pub pipelines: u64,
    /// Command buffers submitted.
    pub submissions: u64,
}

#[derive(Default)]
struct Stats {
    shader_modules: AtomicU64,
    pipelines: AtomicU64,
    submissions: AtomicU64,
}

impl VulkanDevice {
    fn describe(instance: &ash::Instance, pd: vk::PhysicalDevice, index: usize) -> VulkanDevice {
        // SAFETY: `pd` came from this instance; every query below only fills
        // structures we own, chained only for the versions the device has.
        let props = unsafe { instance.get_physical_device_properties(pd) };
        let api = props.api_version;
        let v12 = api >= vk::API_VERSION_1_2;
        let v13 = api >= vk::API_VERSION_1_3;
        let exts: Vec<CString> = unsafe { instance.enumerate_device_extension_properties(pd) }
            .unwrap_or_default()
            .iter()
            .filter_map(|e| e.extension_name_as_c_str().ok().map(CStr::to_owned))
            .collect();
        let has_ext = |n: &CStr| exts.iter().any(|e| e.as_c_str() == n);
        let atomic_float_ext = has_ext(ash::ext::shader_atomic_float::NAME);

        let mut subgroup = vk::PhysicalDeviceSubgroupProperties::default();
        let mut driver = vk::PhysicalDeviceDriverProperties::default();
        let mut sg_control = vk::PhysicalDeviceSubgroupSizeControlProperties::default();
        let mut maint3 = vk::PhysicalDeviceMaintenance3Properties::default();
        let mut props2 = vk::PhysicalDeviceProperties2::default()
            .push_next(&mut subgroup)
            .push_next(&mut maint3);
        if v12 {
            props2 = props2.push_next(&mut driver);
        }
        if v13 {
            props2 = props2.push_next(&mut sg_control);
        }
        unsafe { instance.get_physical_device_properties2(pd, &mut props2) };
        let props = props2.properties;

        let mut f11 = vk::PhysicalDeviceVulkan11Features::default();
        let mut f12 = vk::PhysicalDeviceVulkan12Features::default();
        let mut f13 = vk::PhysicalDeviceVulkan13Features::default();
        let mut fatomic = vk::PhysicalDeviceShaderAtomicFloatFeaturesEXT::default();
        let mut f2 = vk::PhysicalDeviceFeatures2::default();
        if v12 {
            f2 = f2.push_next(&mut f11).push_next(&mut f12);
        }
        if v13 {
            f2 = f2.push_next(&mut f13);
        }
        if atomic_float_ext {
            f2 = f2.push_next(&mut fatomic);
        }
        unsafe { instance.get_physical_device_features2(pd, &mut f2) };
        let core = f2.features;

        let families = unsafe { instance.get_physical_device_queue_family_properties(pd) };
        let mem = unsafe { instance.get_physical_device_memory_properties(pd) };

        // A compute queue; a compute-only one (async compute) is as good as any.
        let family = families
            .iter()
            .position(|f| f.queue_flags.contains(vk::QueueFlags::COMPUTE));
        let timestamps = family.is_some_and(|f| families[f].timestamp_valid_bits > 0)
            && props.limits.timestamp_period > 0.0;

        let name = props
            .device_name_as_c_str()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|_| format!("Vulkan device {index}"));
        let driver_text = if v12 {
            let n = driver
                .driver_name_as_c_str()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let i = driver
                .driver_info_as_c_str()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            format!("{n} {i}").trim().to_string()
        } else {
            String::new()
        };

        let b = |x: vk::Bool32| x == vk::TRUE;
        let ops = subgroup.supported_operations;
        let sg_control_ok = v13
            && b(f13.subgroup_size_control)
            && sg_control
                .required_subgroup_size_stages
                .contains(vk::ShaderStageFlags::COMPUTE);
        let (min_sg, max_sg) = if v13 {
            (sg_control.min_subgroup_size, sg_control.max_subgroup_size)
        } else {
            (subgroup.subgroup_size, subgroup.subgroup_size)
        };
        // Warp functions are cheapest where a subgroup is a warp.
        let subgroup_size = if sg_control_ok && min_sg <= 32 && 32 <= max_sg {
            32
        } else {
            subgroup.subgroup_size
        };
        let device_type = VulkanDeviceType::from_vk(props.device_type);
        let host_visible_device_memory =
            choose_memory_type(&mem, u32::MAX, MemKind::Device, device_type)
                .is_some_and(|t| is_host_coherent(&mem, t));
        let features = VulkanFeatures {
            api_version: version_tuple(api),
            device_type,
            driver: driver_text,
            float64: b(core.shader_float64),
            int64: b(core.shader_int64),
            int16: b(core.shader_int16),
            int8: b(f12.shader_int8),
            storage_buffer_8bit: b(f12.storage_buffer8_bit_access),
            storage_buffer_16bit: b(f11.storage_buffer16_bit_access),
            buffer_device_address: b(f12.buffer_device_address),
            vulkan_memory_model: b(f12.vulkan_memory_model),
            vulkan_memory_model_device_scope: b(f12.vulkan_memory_model_device_scope),
            int64_atomics_buffer: b(f12.shader_buffer_int64_atomics),
            int64_atomics_shared: b(f12.shader_shared_int64_atomics),
            timeline_semaphore: b(f12.timeline_semaphore),
            subgroup_size,
            default_subgroup_size: subgroup.subgroup_size,
            min_subgroup_size: min_sg,
            max_subgroup_size: max_sg,
            subgroup_size_control: sg_control_ok,
            compute_full_subgroups: v13 && b(f13.compute_full_subgroups),
            subgroups_in_compute: subgroup
                .supported_stages
                .contains(vk::ShaderStageFlags::COMPUTE),
            subgroup_operations: SubgroupOperations {
                basic: ops.contains(vk::SubgroupFeatureFlags::BASIC),
                vote: ops.contains(vk::SubgroupFeatureFlags::VOTE),
                arithmetic: ops.contains(vk::SubgroupFeatureFlags::ARITHMETIC),
                ballot: ops.contains(vk::SubgroupFeatureFlags::BALLOT),
                shuffle: ops.contains(vk::SubgroupFeatureFlags::SHUFFLE),
                shuffle_relative: ops.contains(vk::SubgroupFeatureFlags::SHUFFLE_RELATIVE),
                clustered: ops.contains(vk::SubgroupFeatureFlags::CLUSTERED),
                quad: ops.contains(vk::SubgroupFeatureFlags::QUAD),
            },
            atomic_float32_add: atomic_float_ext && b(fatomic.shader_buffer_float32_atomic_add),
            atomic_float64_add: atomic_float_ext && b(fatomic.shader_buffer_float64_atomic_add),
            atomic_float32_shared_add: atomic_float_ext
                && b(fatomic.shader_shared_float32_atomic_add),
            atomic_float64_shared_add: atomic_float_ext
                && b(fatomic.shader_shared_float64_atomic_add),
            max_push_constant_bytes: props.limits.max_push_constants_size,
            max_workgroup_count: props.limits.max_compute_work_group_count,
            timestamp_period_ns: timestamps.then_some(props.limits.timestamp_period),
            host_visible_device_memory,
        };

        let unusable = if !v12 {
            let (a, b, _) = features.api_version;
            Some(format!(
                "the driver supports Vulkan {a}.{b}; Hypersonic needs Vulkan 1.2: update the driver"
            ))
        } else if !features.buffer_device_address {
            Some("the device lacks bufferDeviceAddress, which every kernel needs (array arguments are buffer device addresses)".into())
        } else if !features.timeline_semaphore {
            Some("the device lacks timelineSemaphore".into())
        } else if family.is_none() {
            Some("the device has no compute queue".into())
        } else {
            None
        };
        let mut extensions = Vec::new();
        if atomic_float_ext {
            extensions.push(ash::ext::shader_atomic_float::NAME);
        }
        if has_ext(ash::khr::portability_subset::NAME) {
            extensions.push(ash::khr::portability_subset::NAME);
        }

        let l = &props.limits;
        let shared = l.max_compute_shared_memory_size as u64;
        let cuda = DeviceLimits::default();
        let limits = DeviceLimits {
            max_threads_per_block: l.max_compute_work_group_invocations,
            max_block_dim: l.max_compute_work_group_size,
            // Grids larger than a dispatch may have are split (see the module
            // documentation), so CUDA's grid limits hold everywhere.
            max_grid_dim: [
                cuda.max_grid_dim[0].max(l.max_compute_work_group_count[0]),
                cuda.max_grid_dim[1].max(l.max_compute_work_group_count[1]),
                cuda.max_grid_dim[2].max(l.max_compute_work_group_count[2]),
            ],
            max_shared_memory_per_block: shared,
            max_shared_memory_per_block_optin: shared,
            warp_size: 32,
        };
        let total_memory = mem.memory_heaps[..mem.memory_heap_count as usize]
            .iter()
            .filter(|h| h.flags.contains(vk::MemoryHeapFlags::DEVICE_LOCAL))
            .map(|h| h.size)
            .sum();
        VulkanDevice {
            info: DeviceInfo {
                id: DeviceId {
                    kind: DeviceKind::Vulkan,
                    index,
                },
                name,
                compute_capability: None,
                limits,
                // Vulkan does not say how many compute units a device has.
                multiprocessors: 0,
                total_memory,
            },
            features,
            physical: pd,
            queue_family: family.unwrap_or(0) as u32,
            unusable,
            extensions,
            ctx: OnceLock::new(),
            pending: Mutex::new(Vec::new()),
            stats: Arc::default(),
        }
    }

    pub fn features(&self) -> &VulkanFeatures {
        &self.features
    }

    /// Why this device cannot run kernels (`None` when it can).
    pub fn unusable_reason(&self) -> Option<&str> {
        self.unusable.as_deref()
    }

    /// Counts of compiled shader modules, pipelines and submissions so far.
    pub fn stats(&self) -> VulkanStats {
        VulkanStats {
            shader_modules: self.stats.shader_modules.load(Ordering::Relaxed),
            pipelines: self.stats.pipelines.load(Ordering::Relaxed),
            submissions: self.stats.submissions.load(Ordering::Relaxed),
        }
    }

    /// The options kernels are compiled with for this device.
    pub fn spirv_options(&self) -> SpirvOptions {
        let f = &self.features;
        SpirvOptions {
            subgroup_size: f.subgroup_size,
            float64: f.float64,
            int64: f.int64,
            atomic_float32_add: f.atomic_float32_add,
            atomic_float64_add: f.atomic_float64_add,
            max_push_constant_bytes: f.max_push_constant_bytes,
            fastmath: false,
        }
    }

    /// Whether the device has the feature named as in `VkPhysicalDevice*Features`
    /// (or a subgroup operation bit, `subgroupBallot`); `None` for names we do
    /// not know, which the driver then judges.
    fn has_feature(&self, name: &str) -> Option<bool> {
        let f = &self.features;
        let ops = &f.subgroup_operations;
        let sub = |op: bool| f.subgroups_in_compute && op;
        Some(match name {
            "bufferDeviceAddress" => f.buffer_device_address,
            "shaderInt64" => f.int64,
            "shaderFloat64" => f.float64,
            "shaderInt16" => f.int16,
            "shaderInt8" => f.int8,
            "storageBuffer8BitAccess" => f.storage_buffer_8bit,
            "storageBuffer16BitAccess" => f.storage_buffer_16bit,
            "shaderBufferInt64Atomics" => f.int64_atomics_buffer,
            "shaderSharedInt64Atomics" => f.int64_atomics_shared,
            "shaderBufferFloat32AtomicAdd" => f.atomic_float32_add,
            "shaderBufferFloat64AtomicAdd" => f.atomic_float64_add,
            "shaderSharedFloat32AtomicAdd" => f.atomic_float32_shared_add,
            "shaderSharedFloat64AtomicAdd" => f.atomic_float64_shared_add,
            "vulkanMemoryModel" => f.vulkan_memory_model,
            "vulkanMemoryModelDeviceScope" => f.vulkan_memory_model_device_scope,
            "subgroupBasic" => sub(ops.basic),
            "subgroupVote" => sub(ops.vote),
            "subgroupArithmetic" => sub(ops.arithmetic),
            "subgroupBallot" => sub(ops.ballot),
            "subgroupShuffle" => sub(ops.shuffle),
            "subgroupShuffleRelative" => sub(ops.shuffle_relative),
            "subgroupClustered" => sub(ops.clustered),
            "subgroupQuad" => sub(ops.quad),
            _ => return None,
        })
    }

    /// Whether a launch may pick this device by default: a usable real GPU.
    pub(crate) fn is_default_candidate(&self) -> bool {
        self.unusable.is_none() && self.features.device_type.is_gpu()
    }

    pub(crate) fn rank(&self) -> u32 {
        self.features.device_type.rank()
    }

    fn label(&self) -> String {
        format!("{} ({})", self.info.id, self.info.name)
    }

    /// The logical device, created on first use.
    fn ctx(&self) -> Result<&Arc<Ctx>> {
        self.ctx
            .get_or_init(|| {
                if let Some(why) = &self.unusable {
                    return Err(RuntimeError::NoDevice(format!(
                        "{} cannot run kernels: {why}",
                        self.label()
                    )));
                }
                let v = vulkan().map_err(|r| RuntimeError::NoDevice(r.to_string()))?;
                Ctx::create(self, &v.instance).map(Arc::new)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    fn oom(&self, bytes: u64) -> RuntimeError {
        RuntimeError::OutOfMemory {
            device: self.label(),
            bytes,
        }
    }
}

// ---------------------------------------------------------------- memory

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum MemKind {
    /// Where arrays live: device-local memory.
    Device,
    /// Host-visible, coherent memory: staging, status words, slot buffers.
    Host,
}

fn is_host_coherent(mem: &vk::PhysicalDeviceMemoryProperties, t: u32) -> bool {
    mem.memory_types[t as usize]
        .property_flags
        .contains(vk::MemoryPropertyFlags::HOST_VISIBLE | vk::MemoryPropertyFlags::HOST_COHERENT)
}

/// The memory type for `kind` among `allowed` (a bit per type), best first.
fn choose_memory_type(
    mem: &vk::PhysicalDeviceMemoryProperties,
    allowed: u32,
    kind: MemKind,
    device_type: VulkanDeviceType,
) -> Option<u32> {
    use vk::MemoryPropertyFlags as P;
    let local = P::DEVICE_LOCAL;
    let host = P::HOST_VISIBLE | P::HOST_COHERENT;
    let preferences: &[(P, P)] = match (kind, device_type) {
        // A discrete GPU's host-visible device memory is small (BAR): keep it.
        (MemKind::Device, VulkanDeviceType::Discrete) => &[
            (local, P::HOST_VISIBLE),
            (local, P::empty()),
            (P::empty(), P::empty()),
        ],
        // Unified memory: device-local and mapped, copies are memcpys.
        (MemKind::Device, _) => &[
            (local | host, P::empty()),
            (local, P::empty()),
            (P::empty(), P::empty()),
        ],
        (MemKind::Host, _) => &[(host | P::HOST_CACHED, P::empty()), (host, P::empty())],
    };
    let types = &mem.memory_types[..mem.memory_type_count as usize];
    preferences.iter().find_map(|&(want, avoid)| {
        types.iter().enumerate().find_map(|(i, t)| {
            (allowed & (1 << i) != 0
                && t.property_flags.contains(want)
                && !t.property_flags.intersects(avoid))
            .then_some(i as u32)
        })
    })
}

/// One `VkDeviceMemory` bound to one buffer that spans it.
struct Block {
    memory: vk::DeviceMemory,
    buffer: vk::Buffer,
    /// The buffer's device address.
    addr: u64,
    size: u64,
    /// The persistent mapping of host-visible, coherent memory, else null.
    mapped: *mut u8,
    kind: MemKind,
    /// A block made for one large allocation, freed with it.
    dedicated: bool,
}

// SAFETY: Vulkan handles may be used from any thread; the mapping is plain
// memory whose ranges belong to the allocations made from it.
unsafe impl Send for Block {}
unsafe impl Sync for Block {}

struct BlockState {
    block: Arc<Block>,
    /// Free ranges `(offset, len)`, sorted, never adjacent.
    free: Vec<(u64, u64)>,
}

impl BlockState {
    fn take(&mut self, size: u64) -> Option<u64> {
        let i = self.free.iter().position(|&(_, len)| len >= size)?;
        let (off, len) = self.free[i];
        if len == size {
            self.free.remove(i);
        } else {
            self.free[i] = (off + size, len - size);
        }
        Some(off)
    }

    fn give(&mut self, off: u64, size: u64) {
        let i = self.free.partition_point(|&(o, _)| o < off);
        self.free.insert(i, (off, size));
        // Merge with the next range, then with the previous one.
        if i + 1 < self.free.len() && self.free[i].0 + self.free[i].1 == self.free[i + 1].0 {
            self.free[i].1 += self.free[i + 1].1;
            self.free.remove(i + 1);
        }
        if i > 0 && self.free[i - 1].0 + self.free[i - 1].1 == self.free[i].0 {
            self.free[i - 1].1 += self.free[i].1;
            self.free.remove(i);
        }
    }

    fn is_empty(&self) -> bool {
        self.free.len() == 1 && self.free[0] == (0, self.block.size)
    }
}

#[derive(Default)]
struct Pool {
    /// Every block, by its buffer's device address.
    blocks: BTreeMap<u64, BlockState>,
    /// Frees waiting for the submission value they follow to complete.
    deferred: Vec<(u64, Arc<Block>, u64, u64)>,
}

/// A range of a pool block; returned to the pool when dropped.
pub(crate) struct Allocation {
    ctx: Arc<Ctx>,
    block: Arc<Block>,
    offset: u64,
    size: u64,
}

impl Allocation {
    fn addr(&self) -> u64 {
        self.block.addr + self.offset
    }

    /// The mapped bytes, when host-visible.
    fn ptr(&self) -> Option<*mut u8> {
        // SAFETY: inside the block's mapping.
        (!self.block.mapped.is_null())
            .then(|| unsafe { self.block.mapped.add(self.offset as usize) })
    }
}

impl Drop for Allocation {
    fn drop(&mut self) {
        self.ctx.release(self.block.clone(), self.offset, self.size);
    }
}

// ---------------------------------------------------------------- context

/// A device's logical device, queue, submissions and memory.
struct Ctx {
    device: ash::Device,
    queue: vk::Queue,
    /// Signalled with the value of each submission as it completes.
    timeline: vk::Semaphore,
    sub: Mutex<Submitter>,
    pool: Mutex<Pool>,
    pipeline_cache: vk::PipelineCache,
    mem: vk::PhysicalDeviceMemoryProperties,
    device_type: VulkanDeviceType,
    /// Whether pipelines may ask for a subgroup size (and for full subgroups).
    subgroup_size_control: bool,
    compute_full_subgroups: bool,
    /// Copy through staging buffers even where device memory is host-visible
    /// (`HYPERSONIC_VULKAN_STAGING=1`: exercises a discrete GPU's copy path
    /// on lavapipe).
    staging_only: bool,
    /// The subgroup sizes one may ask for.
    subgroup_size_range: (u32, u32),
    /// `maxComputeWorkGroupCount`.
    max_dispatch: [u32; 3],
    max_push_constant_bytes: u32,
    timestamp_period_ns: Option<f32>,
    label: String,
    stats: Arc<Stats>,
}

struct Submitter {
    pool: vk::CommandPool,
    free: Vec<vk::CommandBuffer>,
    /// The value of the last submission.
    submitted: u64,
    in_flight: VecDeque<InFlight>,
}

/// What a submission keeps alive until it completes.
type Keep = Vec<Box<dyn Send>>;

struct InFlight {
    value: u64,
    cmd: vk::CommandBuffer,
    _keep: Keep,
}

// SAFETY: Vulkan handles may be used from any thread; the command pool and the
// queue are only used under the `sub` lock.
unsafe impl Send for Ctx {}
unsafe impl Sync for Ctx {}

impl Ctx {
    fn create(d: &VulkanDevice, instance: &ash::Instance) -> Result<Ctx> {
        let f = &d.features;
        let pd = d.physical;
        let v13 = f.api_version >= (1, 3, 0);
        // Enable what kernels may use, as far as the device has it.
        let core = vk::PhysicalDeviceFeatures::default()
            .shader_float64(f.float64)
            .shader_int64(f.int64)
            .shader_int16(f.int16);
        let mut f11 = vk::PhysicalDeviceVulkan11Features::default()
            .storage_buffer16_bit_access(f.storage_buffer_16bit);
        let mut f12 = vk::PhysicalDeviceVulkan12Features::default()
            .buffer_device_address(true)
            .timeline_semaphore(true)
            .shader_int8(f.int8)
            .storage_buffer8_bit_access(f.storage_buffer_8bit)
            .vulkan_memory_model(f.vulkan_memory_model)
            .vulkan_memory_model_device_scope(f.vulkan_memory_model_device_scope)
            .shader_buffer_int64_atomics(f.int64_atomics_buffer)
            .shader_shared_int64_atomics(f.int64_atomics_shared);
        let mut f13 = vk::PhysicalDeviceVulkan13Features::default()
            .subgroup_size_control(f.subgroup_size_control)
            .compute_full_subgroups(f.compute_full_subgroups);
        let mut fatomic = vk::PhysicalDeviceShaderAtomicFloatFeaturesEXT::default()
            .shader_buffer_float32_atomic_add(f.atomic_float32_add)
            .shader_buffer_float64_atomic_add(f.atomic_float64_add)
            .shader_shared_float32_atomic_add(f.atomic_float32_shared_add)
            .shader_shared_float64_atomic_add(f.atomic_float64_shared_add);
        let priorities = [1.0f32];
        let queues = [vk::DeviceQueueCreateInfo::default()
            .queue_family_index(d.queue_family)
            .queue_priorities(&priorities)];
        let ext_names: Vec<*const c_char> = d.extensions.iter().map(|e| e.as_ptr()).collect();
        let mut info = vk::DeviceCreateInfo::default()
            .queue_create_infos(&queues)
            .enabled_extension_names(&ext_names)
            .enabled_features(&core)
            .push_next(&mut f11)
            .push_next(&mut f12);
        if v13 {
            info = info.push_next(&mut f13);
        }
        if d.extensions.contains(&ash::ext::shader_atomic_float::NAME) {
            info = info.push_next(&mut fatomic);
        }
        // SAFETY: `pd` belongs to `instance`; only supported features and
        // extensions are enabled.
        let device = unsafe { instance.create_device(pd, &info, None) }.call("vkCreateDevice")?;
        // SAFETY: a queue family and index we asked for.
        let queue = unsafe { device.get_device_queue(d.queue_family, 0) };
        // SAFETY: a live device, valid create infos; the handles are destroyed
        // never (the device lives for the process).
        let mut type_info = vk::SemaphoreTypeCreateInfo::default()
            .semaphore_type(vk::SemaphoreType::TIMELINE)
            .initial_value(0);
        let timeline = unsafe {
            device.create_semaphore(
                &vk::SemaphoreCreateInfo::default().push_next(&mut type_info),
                None,
            )
        }
        .call("vkCreateSemaphore")?;
        let pool = unsafe {
            device.create_command_pool(
                &vk::CommandPoolCreateInfo::default()
                    .queue_family_index(d.queue_family)
                    .flags(vk::CommandPoolCreateFlags::RESET_COMMAND_BUFFER),
                None,
            )
        }
        .call("vkCreateCommandPool")?;
        let pipeline_cache =
            unsafe { device.create_pipeline_cache(&vk::PipelineCacheCreateInfo::default(), None) }
                .call("vkCreatePipelineCache")?;
        // SAFETY: `pd` belongs to `instance`.
        let mem = unsafe { instance.get_physical_device_memory_properties(pd) };
        Ok(Ctx {
            device,
            queue,
            timeline,
            sub: Mutex::new(Submitter {
                pool,
                free: Vec::new(),
                submitted: 0,
                in_flight: VecDeque::new(),
            }),
            pool: Mutex::new(Pool::default()),
            pipeline_cache,
            mem,
            device_type: f.device_type,
            staging_only: std::env::var("HYPERSONIC_VULKAN_STAGING").is_ok_and(|v| v == "1"),
            subgroup_size_control: f.subgroup_size_control,
            compute_full_subgroups: f.compute_full_subgroups,
            subgroup_size_range: (f.min_subgroup_size, f.max_subgroup_size),
            max_dispatch: f.max_workgroup_count,
            max_push_constant_bytes: f.max_push_constant_bytes,
            timestamp_period_ns: f.timestamp_period_ns,
            label: d.label(),
            stats: d.stats.clone(),
        })
    }

    // ------------------------------------------------------------ memory

    fn oom(&self, bytes: u64) -> RuntimeError {
        RuntimeError::OutOfMemory {
            device: self.label.clone(),
            bytes,
        }
    }

    /// `bytes` bytes (at least 1) of `kind` memory, 256-byte aligned.
    fn alloc(self: &Arc<Self>, bytes: u64, kind: MemKind) -> Result<Allocation> {
        let size = bytes
            .max(1)
            .checked_next_multiple_of(ALIGN)
            .ok_or_else(|| self.oom(bytes))?;
        let block_size = match kind {
            MemKind::Device => DEVICE_BLOCK,
            MemKind::Host => HOST_BLOCK,
        };
        let dedicated = size > block_size / 4;
        // Memory freed by completed work comes back first.
        self.retire()?;
        if !dedicated {
            let mut pool = lock(&self.pool);
            if let Some(a) = pool
                .blocks
                .values_mut()
                .filter(|b| b.block.kind == kind && !b.block.dedicated)
                .find_map(|b| b.take(size).map(|off| (b.block.clone(), off)))
            {
                return Ok(self.allocation(a.0, a.1, size));
            }
        }
        let new_size = if dedicated { size } else { block_size };
        let block = match self.create_block(new_size, kind, dedicated) {
            Ok(b) => b,
            Err(e @ RuntimeError::OutOfMemory { .. }) => {
                // Wait for queued work to give its memory back, then try again.
                self.wait(lock(&self.sub).submitted)?;
                self.retire()?;
                if !dedicated {
                    let mut pool = lock(&self.pool);
                    if let Some(a) = pool
                        .blocks
                        .values_mut()
                        .filter(|b| b.block.kind == kind && !b.block.dedicated)
                        .find_map(|b| b.take(size).map(|off| (b.block.clone(), off)))
                    {
                        return Ok(self.allocation(a.0, a.1, size));
                    }
                }
                match self.create_block(size, kind, true) {
                    Ok(b) => b,
                    Err(RuntimeError::OutOfMemory { .. }) => {
                        return Err(match e {
                            RuntimeError::OutOfMemory { device, .. } => {
                                RuntimeError::OutOfMemory { device, bytes }
                            }
                            e => e,
                        })
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        let mut state = BlockState {
            free: vec![(0, block.size)],
            block: block.clone(),
        };
        let off = state
            .take(size)
            .expect("a new block holds its first allocation");
        lock(&self.pool).blocks.insert(block.addr, state);
        Ok(self.allocation(block, off, size))
    }

    fn allocation(self: &Arc<Self>, block: Arc<Block>, offset: u64, size: u64) -> Allocation {
        Allocation {
            ctx: self.clone(),
            block,
            offset,
            size,
        }
    }

    fn create_block(&self, size: u64, kind: MemKind, dedicated: bool) -> Result<Arc<Block>> {
        let d = &self.device;
        let usage = vk::BufferUsageFlags::STORAGE_BUFFER
            | vk::BufferUsageFlags::TRANSFER_SRC
            | vk::BufferUsageFlags::TRANSFER_DST
            | vk::BufferUsageFlags::SHADER_DEVICE_ADDRESS;
        // SAFETY: valid create infos on a live device; everything created here
        // is destroyed on the error paths or by `destroy_block`.
        unsafe {
            let buffer = match d.create_buffer(
                &vk::BufferCreateInfo::default()
                    .size(size)
                    .usage(usage)
                    .sharing_mode(vk::SharingMode::EXCLUSIVE),
                None,
            ) {
                Ok(b) => b,
                Err(e) if is_oom(e) => return Err(self.oom(size)),
                Err(e) => return Err(vk_error("vkCreateBuffer", e)),
            };
            let req = d.get_buffer_memory_requirements(buffer);
            let Some(type_index) =
                choose_memory_type(&self.mem, req.memory_type_bits, kind, self.device_type)
            else {
                d.destroy_buffer(buffer, None);
                return Err(RuntimeError::Vulkan {
                    call: "vkGetBufferMemoryRequirements",
                    code: "no memory type".into(),
                    message: format!(
                        "{} has no {} memory type for device-address buffers",
                        self.label,
                        match kind {
                            MemKind::Device => "device",
                            MemKind::Host => "host-visible, coherent",
                        }
                    ),
                });
            };
            let mut flags = vk::MemoryAllocateFlagsInfo::default()
                .flags(vk::MemoryAllocateFlags::DEVICE_ADDRESS);
            let memory = match d.allocate_memory(
                &vk::MemoryAllocateInfo::default()
                    .allocation_size(req.size)
                    .memory_type_index(type_index)
                    .push_next(&mut flags),
                None,
            ) {
                Ok(m) => m,
                Err(e) => {
                    d.destroy_buffer(buffer, None);
                    return Err(if is_oom(e) {
                        self.oom(size)
                    } else {
                        vk_error("vkAllocateMemory", e)
                    });
                }
            };
            let fail = |e: RuntimeError| {
                d.destroy_buffer(buffer, None);
                d.free_memory(memory, None);
                Err(e)
            };
            if let Err(e) = d.bind_buffer_memory(buffer, memory, 0) {
                return fail(vk_error("vkBindBufferMemory", e));
            }
            let map = match kind {
                MemKind::Device => !self.staging_only,
                MemKind::Host => true,
            };
            let mapped = if map && is_host_coherent(&self.mem, type_index) {
                match d.map_memory(memory, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty()) {
                    Ok(p) => p.cast::<u8>(),
                    Err(e) => return fail(vk_error("vkMapMemory", e)),
                }
            } else {
                std::ptr::null_mut()
            };
            let addr =
                d.get_buffer_device_address(&vk::BufferDeviceAddressInfo::default().buffer(buffer));
            Ok(Arc::new(Block {
                memory,
                buffer,
                addr,
                size,
                mapped,
                kind,
                dedicated,
            }))
        }
    }

    fn destroy_block(&self, b: &Block) {
        // SAFETY: no allocation of the block is alive and no queued work uses
        // it (frees are deferred until the work completes).
        unsafe {
            self.device.destroy_buffer(b.buffer, None);
            self.device.free_memory(b.memory, None);
        }
    }

    /// Returns a range to its block now, or when the queued work completes.
    fn release(&self, block: Arc<Block>, offset: u64, size: u64) {
        let submitted = lock(&self.sub).submitted;
        let done = self.completed().unwrap_or(0);
        let mut pool = lock(&self.pool);
        if done >= submitted {
            self.give_back(&mut pool, &block, offset, size);
        } else {
            pool.deferred.push((submitted, block, offset, size));
        }
    }

    fn give_back(&self, pool: &mut Pool, block: &Arc<Block>, offset: u64, size: u64) {
        let Some(state) = pool.blocks.get_mut(&block.addr) else {
            return;
        };
        state.give(offset, size);
        if !state.is_empty() {
            return;
        }
        // Keep one empty pool block of each kind; free the rest.
        let keep = !block.dedicated
            && !pool.blocks.values().any(|s| {
                !Arc::ptr_eq(&s.block, block) && s.block.kind == block.kind && !s.block.dedicated
            });
        if !keep {
            if let Some(state) = pool.blocks.remove(&block.addr) {
                self.destroy_block(&state.block);
            }
        }
    }

    /// The block holding `addr..addr + len` and the offset of `addr` in it.
    fn locate(&self, addr: u64, len: u64) -> Result<(Arc<Block>, u64)> {
        let pool = lock(&self.pool);
        pool.blocks
            .range(..=addr)
            .next_back()
            .filter(|(base, s)| addr + len <= *base + s.block.size)
            .map(|(base, s)| (s.block.clone(), addr - base))
            .ok_or_else(|| {
                RuntimeError::InvalidMemory(format!(
                    "address {addr:#x} is not memory of {}",
                    self.label
                ))
            })
    }

    // ------------------------------------------------------------ submissions

    /// The value of the last completed submission.
    fn completed(&self) -> Result<u64> {
        // SAFETY: a live timeline semaphore.
        unsafe { self.device.get_semaphore_counter_value(self.timeline) }
            .call("vkGetSemaphoreCounterValue")
    }

    /// Waits until submission `value` has completed.
    fn wait(&self, value: u64) -> Result<()> {
        if value == 0 || self.completed()? >= value {
            return Ok(());
        }
        let sems = [self.timeline];
        let values = [value];
        // SAFETY: a live timeline semaphore and a value that was submitted.
        unsafe {
            self.device.wait_semaphores(
                &vk::SemaphoreWaitInfo::default()
                    .semaphores(&sems)
                    .values(&values),
                u64::MAX,
            )
        }
        .call("vkWaitSemaphores")?;
        self.retire()
    }

    /// Recycles the command buffers and frees the memory of completed work.
    fn retire(&self) -> Result<()> {
        let done = self.completed()?;
        let finished: Vec<InFlight> = {
            let mut sub = lock(&self.sub);
            let mut finished = Vec::new();
            while sub.in_flight.front().is_some_and(|f| f.value <= done) {
                let f = sub.in_flight.pop_front().expect("checked");
                sub.free.push(f.cmd);
                finished.push(f);
            }
            finished
        };
        // Dropped without the lock: what they keep may free memory.
        drop(finished);
        let mut pool = lock(&self.pool);
        if pool.deferred.iter().any(|d| d.0 <= done) {
            let deferred = std::mem::take(&mut pool.deferred);
            for (value, block, off, size) in deferred {
                if value <= done {
                    self.give_back(&mut pool, &block, off, size);
                } else {
                    pool.deferred.push((value, block, off, size));
                }
            }
        }
        Ok(())
    }

    /// Records commands with `record` and submits them after everything
    /// submitted before; `keep` lives until they complete. Returns the
    /// submission's value, and notes it as `stream`'s last.
    fn submit(
        &self,
        stream: Option<&Stream>,
        keep: Keep,
        record: impl FnOnce(&ash::Device, vk::CommandBuffer) -> Result<()>,
    ) -> Result<u64> {
        let d = &self.device;
        let mut sub = lock(&self.sub);
        let cmd = match sub.free.pop() {
            Some(c) => c,
            None => {
                // SAFETY: the pool is used under the `sub` lock only.
                unsafe {
                    d.allocate_command_buffers(
                        &vk::CommandBufferAllocateInfo::default()
                            .command_pool(sub.pool)
                            .level(vk::CommandBufferLevel::PRIMARY)
                            .command_buffer_count(1),
                    )
                }
                .call("vkAllocateCommandBuffers")?[0]
            }
        };
        let all = vk::PipelineStageFlags::ALL_COMMANDS;
        let recorded = (|| {
            // SAFETY: a command buffer of our pool, not in use (new or
            // retired), recorded and submitted under the `sub` lock.
            unsafe {
                d.reset_command_buffer(cmd, vk::CommandBufferResetFlags::empty())
                    .call("vkResetCommandBuffer")?;
                d.begin_command_buffer(
                    cmd,
                    &vk::CommandBufferBeginInfo::default()
                        .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT),
                )
                .call("vkBeginCommandBuffer")?;
                // Everything before, then this.
                let before = [vk::MemoryBarrier::default()
                    .src_access_mask(vk::AccessFlags::MEMORY_WRITE)
                    .dst_access_mask(vk::AccessFlags::MEMORY_READ | vk::AccessFlags::MEMORY_WRITE)];
                d.cmd_pipeline_barrier(
                    cmd,
                    all,
                    all,
                    vk::DependencyFlags::empty(),
                    &before,
                    &[],
                    &[],
                );
                record(d, cmd)?;
                // Writes visible to the host once the submission completes.
                let after = [vk::MemoryBarrier::default()
                    .src_access_mask(vk::AccessFlags::MEMORY_WRITE)
                    .dst_access_mask(vk::AccessFlags::HOST_READ | vk::AccessFlags::HOST_WRITE)];
                d.cmd_pipeline_barrier(
                    cmd,
                    all,
                    vk::PipelineStageFlags::HOST,
                    vk::DependencyFlags::empty(),
                    &after,
                    &[],
                    &[],
                );
                d.end_command_buffer(cmd).call("vkEndCommandBuffer")
            }
        })();
        if let Err(e) = recorded {
            sub.free.push(cmd);
            return Err(e);
        }
        let value = sub.submitted + 1;
        let signals = [self.timeline];
        let values = [value];
        let cmds = [cmd];
        let mut timeline =
            vk::TimelineSemaphoreSubmitInfo::default().signal_semaphore_values(&values);
        let info = vk::SubmitInfo::default()
            .command_buffers(&cmds)
            .signal_semaphores(&signals)
            .push_next(&mut timeline);
        // SAFETY: the queue is used under the `sub` lock only; the command
        // buffer is recorded; the value is larger than every earlier one.
        if let Err(e) = unsafe { d.queue_submit(self.queue, &[info], vk::Fence::null()) } {
            sub.free.push(cmd);
            return Err(vk_error("vkQueueSubmit", e));
        }
        sub.submitted = value;
        sub.in_flight.push_back(InFlight {
            value,
            cmd,
            _keep: keep,
        });
        drop(sub);
        self.stats.submissions.fetch_add(1, Ordering::Relaxed);
        if let Some(Stream {
            inner: StreamInner::Vulkan(s),
            ..
        }) = stream
        {
            s.last.fetch_max(value, Ordering::AcqRel);
        }
        Ok(value)
    }

    /// Waits for everything submitted so far.
    fn wait_all(&self) -> Result<()> {
        let submitted = lock(&self.sub).submitted;
        self.wait(submitted)
    }
}

// ---------------------------------------------------------------- streams, events

/// A Vulkan stream: the value of its last submission (see the module documentation).
pub(crate) struct VulkanStream {
    last: AtomicU64,
}

pub(crate) struct VulkanEvent {
    ctx: Arc<Ctx>,
    /// One timestamp query, when the queue has timestamps.
    query_pool: Option<vk::QueryPool>,
    state: Mutex<EventState>,
}

#[derive(Default)]
struct EventState {
    /// The submission that completes the event; `None` before it is recorded.
    value: Option<u64>,
    /// Without timestamps: when the event was seen to complete.
    host_time: Option<Instant>,
}

impl Drop for VulkanEvent {
    fn drop(&mut self) {
        if let Some(pool) = self.query_pool {
            // A recorded timestamp may still be queued.
            let value = lock(&self.state).value.unwrap_or(0);
            let _ = self.ctx.wait(value);
            // SAFETY: created by us; no queued work uses it any more.
            unsafe { self.ctx.device.destroy_query_pool(pool, None) };
        }
    }
}

// ---------------------------------------------------------------- kernels

/// A kernel's shader module on one device, with its pipelines.
pub(crate) struct LoadedShader {
    ctx: Arc<Ctx>,
    spirv: Arc<SpirvModule>,
    module: vk::ShaderModule,
    layout: vk::PipelineLayout,
    conv: Conventions,
    entry: CString,
    /// One pipeline per (block shape, dynamic shared bytes).
    pipelines: Mutex<HashMap<([u32; 3], u32), vk::Pipeline>>,
    /// The kernel's `u32` status word, in host-visible memory.
    status: Allocation,
    /// Whether the shader reads `NumWorkgroups` (its grid cannot be split).
    reads_num_workgroups: bool,
    kernel: String,
    exceptions: Vec<Exception>,
}

// SAFETY: Vulkan handles may be used from any thread; the pipeline map is locked.
unsafe impl Send for LoadedShader {}
unsafe impl Sync for LoadedShader {}

impl Drop for LoadedShader {
    fn drop(&mut self) {
        // Submissions keep their shader alive, so no queued work uses these.
        let d = &self.ctx.device;
        // SAFETY: created by us, destroyed once.
        unsafe {
            for (_, p) in lock(&self.pipelines).drain() {
                d.destroy_pipeline(p, None);
            }
            d.destroy_pipeline_layout(self.layout, None);
            d.destroy_shader_module(self.module, None);
        }
    }
}

impl LoadedShader {
    fn status_ptr(&self) -> *mut u32 {
        self.status
            .ptr()
            .expect("status words are host-visible")
            .cast()
    }

    /// Reads and clears the status word; call after the work has completed.
    fn take_status(&self) -> u32 {
        let p = self.status_ptr();
        // SAFETY: a 4-byte word of coherent, mapped memory the device wrote
        // before the completed submission's host barrier.
        unsafe {
            let s = std::ptr::read_volatile(p);
            if s != 0 {
                std::ptr::write_volatile(p, 0);
            }
            s
        }
    }

    fn raised(&self, status: u32) -> RuntimeError {
        RuntimeError::KernelRaised {
            kernel: self.kernel.clone(),
            status,
            exception: (status as usize)
                .checked_sub(1)
                .and_then(|k| self.exceptions.get(k))
                .cloned(),
        }
    }

    /// The pipeline for a block shape and dynamic shared size, created on first use.
    fn pipeline(&self, dev: &VulkanDevice, block: [u32; 3], dynamic: u32) -> Result<vk::Pipeline> {
        let mut pipelines = lock(&self.pipelines);
        if let Some(&p) = pipelines.get(&(block, dynamic)) {
            return Ok(p);
        }
        let data: Vec<u8> = [block[0], block[1], block[2], dynamic]
            .iter()
            .flat_map(|v| v.to_ne_bytes())
            .collect();
        let entries: Vec<vk::SpecializationMapEntry> = (0..4)
            .map(|i| vk::SpecializationMapEntry {
                constant_id: i,
                offset: 4 * i,
                size: 4,
            })
            .collect();
        let spec = vk::SpecializationInfo::default()
            .map_entries(&entries)
            .data(&data);
        // Warp functions compiled as subgroup operations of `n` lanes need
        // subgroups of exactly `n` lanes, full ones where the device can
        // promise that (which needs whole subgroups along x).
        let ctx = &self.ctx;
        let (lo, hi) = ctx.subgroup_size_range;
        let required_size = self
            .conv
            .subgroup_size
            .filter(|&n| ctx.subgroup_size_control && lo <= n && n <= hi);
        let full =
            required_size.is_some_and(|n| ctx.compute_full_subgroups && block[0].is_multiple_of(n));
        let mut required = vk::PipelineShaderStageRequiredSubgroupSizeCreateInfo::default()
            .required_subgroup_size(required_size.unwrap_or(0));
        let mut stage = vk::PipelineShaderStageCreateInfo::default()
            .stage(vk::ShaderStageFlags::COMPUTE)
            .module(self.module)
            .name(&self.entry)
            .specialization_info(&spec);
        if required_size.is_some() {
            stage = stage.push_next(&mut required);
        }
        if full {
            stage = stage.flags(vk::PipelineShaderStageCreateFlags::REQUIRE_FULL_SUBGROUPS);
        }
        let info = vk::ComputePipelineCreateInfo::default()
            .stage(stage)
            .layout(self.layout)
            .flags(vk::PipelineCreateFlags::DISPATCH_BASE);
        // SAFETY: a live shader module and layout; the pipeline cache is
        // internally synchronised.
        let p = unsafe {
            self.ctx
                .device
                .create_compute_pipelines(self.ctx.pipeline_cache, &[info], None)
        }
        .map_err(|(_, e)| {
            let mut err = vk_error("vkCreateComputePipelines", e);
            if let RuntimeError::Vulkan { message, .. } = &mut err {
                message.push_str(&format!(
                    "; kernel `{}` with blocks of {}x{}x{} threads and {dynamic} bytes of dynamic shared memory",
                    self.kernel, block[0], block[1], block[2]
                ));
            }
            err
        })?[0];
        dev.stats.pipelines.fetch_add(1, Ordering::Relaxed);
        pipelines.insert((block, dynamic), p);
        Ok(p)
    }
}

/// How a module is launched, from [`SpirvModule`].
struct Conventions {
    /// Size of the push-constant range: `8 * (param_slots + 1)` with the slots
    /// in push constants, else 16 (the slot buffer's address, the status
    /// word's address).
    push_bytes: u32,
    /// Workgroup memory per thread on top of the static shared memory.
    shared_per_thread: u64,
    /// Vulkan feature names the device must have.
    required_features: Vec<String>,
    /// The subgroup size the module's warp functions assume, if any.
    subgroup_size: Option<u32>,
    /// Where the grid size goes in the push constants, if the module reads it.
    grid_offset: Option<u32>,
}

impl Conventions {
    fn of(m: &SpirvModule) -> Conventions {
        Conventions {
            push_bytes: m.push_constant_bytes,
            shared_per_thread: m.shared_bytes_per_thread,
            required_features: m.required_features.clone(),
            subgroup_size: m.subgroup_size,
            grid_offset: m.grid_offset,
        }
    }
}

/// Whether SPIR-V `words` decorate a variable (or member) `BuiltIn NumWorkgroups`.
fn reads_num_workgroups(words: &[u32]) -> bool {
    const OP_DECORATE: u32 = 71;
    const OP_MEMBER_DECORATE: u32 = 72;
    const BUILTIN: u32 = 11;
    const NUM_WORKGROUPS: u32 = 24;
    let mut i = 5;
    while i < words.len() {
        let (count, op) = ((words[i] >> 16) as usize, words[i] & 0xffff);
        if count == 0 {
            break;
        }
        let ins = &words[i..(i + count).min(words.len())];
        match op {
            OP_DECORATE if ins.len() >= 4 && ins[2] == BUILTIN && ins[3] == NUM_WORKGROUPS => {
                return true
            }
            OP_MEMBER_DECORATE
                if ins.len() >= 5 && ins[3] == BUILTIN && ins[4] == NUM_WORKGROUPS =>
            {
                return true
            }
            _ => {}
        }
        i += count;
    }
    false
}

impl VulkanDevice {
    /// The kernel's shader on this device, compiled and created on first use.
    fn loaded(&self, kernel: &Kernel) -> Result<Arc<LoadedShader>> {
        let mut cache = kernel.vulkan.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = cache.get(&self.info.id.index) {
            return Ok(l.clone());
        }
        let ctx = self.ctx()?.clone();
        let spirv = kernel.spirv(&self.spirv_options())?;
        let compile_error = |message: String| RuntimeError::Compile {
            kernel: kernel.name().into(),
            target: self.label(),
            message,
        };
        if let Some(dir) = std::env::var_os("HYPERSONIC_SPIRV_DUMP") {
            // Debugging aid: the module as the driver gets it (`spirv-dis` reads it).
            let bytes: Vec<u8> = spirv.words.iter().flat_map(|w| w.to_le_bytes()).collect();
            let _ = std::fs::write(
                std::path::Path::new(&dir).join(format!("{}.spv", spirv.entry_name)),
                bytes,
            );
        }
        let conv = Conventions::of(&spirv);
        let push_bytes = conv.push_bytes;
        if let Some(missing) = conv
            .required_features
            .iter()
            .find(|f| self.has_feature(f) == Some(false))
        {
            return Err(compile_error(format!(
                "the device lacks {missing}, which this kernel needs"
            )));
        }
        if push_bytes > ctx.max_push_constant_bytes {
            return Err(compile_error(format!(
                "the kernel's {} argument slots need {push_bytes} bytes of push constants; \
                 the device has {}",
                spirv.param_slots, ctx.max_push_constant_bytes
            )));
        }
        let entry = CString::new(spirv.entry_name.as_str())
            .map_err(|_| compile_error("the entry name contains a NUL byte".into()))?;
        let d = &ctx.device;
        // SAFETY: SPIR-V words from our compiler (or the caller of
        // `Kernel::with_spirv`); the driver checks them.
        let module = unsafe {
            d.create_shader_module(
                &vk::ShaderModuleCreateInfo::default().code(&spirv.words),
                None,
            )
        }
        .map_err(|e| {
            let mut err = vk_error("vkCreateShaderModule", e);
            if let RuntimeError::Vulkan { message, .. } = &mut err {
                message.push_str(&format!("; kernel `{}`", kernel.name()));
            }
            err
        })?;
        self.stats.shader_modules.fetch_add(1, Ordering::Relaxed);
        let ranges = [vk::PushConstantRange::default()
            .stage_flags(vk::ShaderStageFlags::COMPUTE)
            .offset(0)
            .size(push_bytes)];
        // SAFETY: a valid create info on a live device.
        let layout = match unsafe {
            d.create_pipeline_layout(
                &vk::PipelineLayoutCreateInfo::default().push_constant_ranges(&ranges),
                None,
            )
        } {
            Ok(l) => l,
            Err(e) => {
                // SAFETY: created above, used by nothing.
                unsafe { d.destroy_shader_module(module, None) };
                return Err(vk_error("vkCreatePipelineLayout", e));
            }
        };
        let status = match ctx.alloc(4, MemKind::Host) {
            Ok(s) => s,
            Err(e) => {
                // SAFETY: created above, used by nothing.
                unsafe {
                    d.destroy_pipeline_layout(layout, None);
                    d.destroy_shader_module(module, None);
                }
                return Err(e);
            }
        };
        let loaded = Arc::new(LoadedShader {
            reads_num_workgroups: reads_num_workgroups(&spirv.words),
            ctx: ctx.clone(),
            spirv,
            module,
            layout,
            conv,
            entry,
            pipelines: Mutex::new(HashMap::new()),
            status,
            kernel: kernel.name().into(),
            exceptions: kernel.exceptions().to_vec(),
        });
        // SAFETY: a fresh 4-byte host-visible word.
        unsafe { std::ptr::write_volatile(loaded.status_ptr(), 0) };
        cache.insert(self.info.id.index, loaded.clone());
        Ok(loaded)
    }

    /// Reports the first exception raised by a kernel launched since the last
    /// check; the work has completed.
    fn check_raised(&self) -> Result<()> {
        let pending = std::mem::take(&mut *lock(&self.pending));
        let mut first = None;
        for k in pending {
            let status = k.take_status();
            if status != 0 && first.is_none() {
                first = Some(k.raised(status));
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// The block of `buf` and the offset of `offset` in it, checked.
    fn resolve(
        &self,
        ctx: &Ctx,
        buf: &DeviceBuffer,
        offset: usize,
        len: usize,
        what: &str,
    ) -> Result<(Arc<Block>, u64)> {
        buf.check(self.id(), offset, len, what)?;
        ctx.locate(buf.addr() + offset as u64, len as u64)
    }
}

// ---------------------------------------------------------------- the Device trait

impl Device for VulkanDevice {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn alloc(&self, bytes: usize) -> Result<DeviceBuffer> {
        let ctx = self.ctx()?;
        let a = ctx
            .alloc(bytes as u64, MemKind::Device)
            .map_err(|e| match e {
                RuntimeError::OutOfMemory { .. } => self.oom(bytes as u64),
                e => e,
            })?;
        let addr = a.addr();
        // SAFETY: `a` owns `addr..addr + bytes` (and more) and frees it on drop.
        Ok(unsafe { DeviceBuffer::new(self.id(), addr, bytes, Some(Box::new(a))) })
    }

    unsafe fn wrap_foreign(&self, addr: u64, bytes: usize) -> Result<DeviceBuffer> {
        let _ = (addr, bytes);
        Err(RuntimeError::InvalidMemory(format!(
            "{} cannot use memory allocated elsewhere (foreign arrays such as CuPy's or \
             PyTorch's are CUDA memory): copy the data to the host, then to a device array",
            self.label()
        )))
    }

    fn copy_htod(
        &self,
        dst: &DeviceBuffer,
        offset: usize,
        src: &[u8],
        stream: Option<&Stream>,
    ) -> Result<()> {
        Stream::check(stream, self.id())?;
        dst.check(self.id(), offset, src.len(), "destination")?;
        if src.is_empty() {
            return Ok(());
        }
        let ctx = self.ctx()?;
        let (block, off) = self.resolve(ctx, dst, offset, src.len(), "destination")?;
        if !block.mapped.is_null() {
            // Queued work may still read or write this memory.
            ctx.wait_all()?;
            // SAFETY: checked to be inside a live, mapped block; the device is idle.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    src.as_ptr(),
                    block.mapped.add(off as usize),
                    src.len(),
                )
            };
            return Ok(());
        }
        let chunk = (src.len() as u64).min(STAGING_CHUNK);
        let staging = ctx.alloc(chunk, MemKind::Host)?;
        let sptr = staging.ptr().expect("staging memory is host-visible");
        let mut last = 0;
        for (i, part) in src.chunks(chunk as usize).enumerate() {
            // The staging buffer is reused: wait for the previous chunk.
            ctx.wait(last)?;
            // SAFETY: `part` fits in the staging allocation, which no queued work uses.
            unsafe { std::ptr::copy_nonoverlapping(part.as_ptr(), sptr, part.len()) };
            let (sbuf, soff) = (staging.block.buffer, staging.offset);
            let region = [vk::BufferCopy {
                src_offset: soff,
                dst_offset: off + (i as u64) * chunk,
                size: part.len() as u64,
            }];
            last = ctx.submit(stream, Vec::new(), |d, cmd| {
                // SAFETY: both ranges are inside live buffers.
                unsafe { d.cmd_copy_buffer(cmd, sbuf, block.buffer, &region) };
                Ok(())
            })?;
        }
        ctx.wait(last)
    }

    fn copy_dtoh(
        &self,
        dst: &mut [u8],
        src: &DeviceBuffer,
        offset: usize,
        stream: Option<&Stream>,
    ) -> Result<()> {
        Stream::check(stream, self.id())?;
        src.check(self.id(), offset, dst.len(), "source")?;
        let ctx = self.ctx()?;
        if dst.is_empty() {
            ctx.wait_all()?;
            return self.check_raised();
        }
        let (block, off) = self.resolve(ctx, src, offset, dst.len(), "source")?;
        if !block.mapped.is_null() {
            ctx.wait_all()?;
            // SAFETY: checked to be inside a live, mapped block; the device is idle.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    block.mapped.add(off as usize),
                    dst.as_mut_ptr(),
                    dst.len(),
                )
            };
            return self.check_raised();
        }
        let chunk = (dst.len() as u64).min(STAGING_CHUNK);
        let staging = ctx.alloc(chunk, MemKind::Host)?;
        let sptr = staging.ptr().expect("staging memory is host-visible");
        for (i, part) in dst.chunks_mut(chunk as usize).enumerate() {
            let (sbuf, soff) = (staging.block.buffer, staging.offset);
            let region = [vk::BufferCopy {
                src_offset: off + (i as u64) * chunk,
                dst_offset: soff,
                size: part.len() as u64,
            }];
            let v = ctx.submit(stream, Vec::new(), |d, cmd| {
                // SAFETY: both ranges are inside live buffers.
                unsafe { d.cmd_copy_buffer(cmd, block.buffer, sbuf, &region) };
                Ok(())
            })?;
            // Everything before it has completed too (submissions are ordered).
            ctx.wait(v)?;
            // SAFETY: the copy into the staging allocation has completed.
            unsafe { std::ptr::copy_nonoverlapping(sptr, part.as_mut_ptr(), part.len()) };
        }
        self.check_raised()
    }

    fn copy_dtod(
        &self,
        dst: &DeviceBuffer,
        dst_offset: usize,
        src: &DeviceBuffer,
        src_offset: usize,
        bytes: usize,
        stream: Option<&Stream>,
    ) -> Result<()> {
        Stream::check(stream, self.id())?;
        dst.check(self.id(), dst_offset, bytes, "destination")?;
        src.check(self.id(), src_offset, bytes, "source")?;
        if bytes == 0 {
            return Ok(());
        }
        let ctx = self.ctx()?;
        let (db, doff) = self.resolve(ctx, dst, dst_offset, bytes, "destination")?;
        let (sb, soff) = self.resolve(ctx, src, src_offset, bytes, "source")?;
        let (s_addr, d_addr, n) = (sb.addr + soff, db.addr + doff, bytes as u64);
        if s_addr < d_addr + n && d_addr < s_addr + n {
            // vkCmdCopyBuffer forbids overlapping ranges: go through a temporary.
            let tmp = ctx.alloc(n, MemKind::Device)?;
            let (tb, toff) = (tmp.block.buffer, tmp.offset);
            ctx.submit(stream, vec![Box::new(tmp)], |d, cmd| {
                // SAFETY: ranges inside live buffers; the barrier orders the two copies.
                unsafe {
                    d.cmd_copy_buffer(
                        cmd,
                        sb.buffer,
                        tb,
                        &[vk::BufferCopy {
                            src_offset: soff,
                            dst_offset: toff,
                            size: n,
                        }],
                    );
                    let b = [vk::MemoryBarrier::default()
                        .src_access_mask(vk::AccessFlags::TRANSFER_WRITE)
                        .dst_access_mask(vk::AccessFlags::TRANSFER_READ)];
                    d.cmd_pipeline_barrier(
                        cmd,
                        vk::PipelineStageFlags::TRANSFER,
                        vk::PipelineStageFlags::TRANSFER,
                        vk::DependencyFlags::empty(),
                        &b,
                        &[],
                        &[],
                    );
                    d.cmd_copy_buffer(
                        cmd,
                        tb,
                        db.buffer,
                        &[vk::BufferCopy {
                            src_offset: toff,
                            dst_offset: doff,
                            size: n,
                        }],
                    );
                }
                Ok(())
            })?;
            return Ok(());
        }
        let region = [vk::BufferCopy {
            src_offset: soff,
            dst_offset: doff,
            size: n,
        }];
        ctx.submit(stream, Vec::new(), |d, cmd| {
            // SAFETY: both ranges are inside live buffers.
            unsafe { d.cmd_copy_buffer(cmd, sb.buffer, db.buffer, &region) };
            Ok(())
        })?;
        Ok(())
    }

    fn memset(
        &self,
        dst: &DeviceBuffer,
        offset: usize,
        bytes: usize,
        value: u8,
        stream: Option<&Stream>,
    ) -> Result<()> {
        Stream::check(stream, self.id())?;
        dst.check(self.id(), offset, bytes, "destination")?;
        if bytes == 0 {
            return Ok(());
        }
        let ctx = self.ctx()?;
        let (block, off) = self.resolve(ctx, dst, offset, bytes, "destination")?;
        let (start, end) = (off, off + bytes as u64);
        // vkCmdFillBuffer writes whole 4-byte words: fill the aligned middle,
        // copy the ragged ends from a small buffer of `value` bytes.
        let mid_start = start.next_multiple_of(4).min(end);
        let mid_end = (end / 4 * 4).max(mid_start);
        let mut edges = Vec::new();
        if mid_start > start {
            edges.push((start, mid_start - start));
        }
        if end > mid_end {
            edges.push((mid_end, end - mid_end));
        }
        let pattern = if edges.is_empty() {
            None
        } else {
            let a = ctx.alloc(4, MemKind::Host)?;
            // SAFETY: a fresh host-visible allocation of at least 4 bytes.
            unsafe { std::ptr::write_bytes(a.ptr().expect("host-visible"), value, 4) };
            Some(a)
        };
        let pat = pattern.as_ref().map(|a| (a.block.buffer, a.offset));
        let keep: Keep = match pattern {
            Some(a) => vec![Box::new(a)],
            None => Vec::new(),
        };
        let word = u32::from_ne_bytes([value; 4]);
        ctx.submit(stream, keep, |d, cmd| {
            // SAFETY: every range is inside the destination's live buffer.
            unsafe {
                if mid_end > mid_start {
                    d.cmd_fill_buffer(cmd, block.buffer, mid_start, mid_end - mid_start, word);
                }
                if let Some((pbuf, poff)) = pat {
                    let regions: Vec<vk::BufferCopy> = edges
                        .iter()
                        .map(|&(o, n)| vk::BufferCopy {
                            src_offset: poff,
                            dst_offset: o,
                            size: n,
                        })
                        .collect();
                    d.cmd_copy_buffer(cmd, pbuf, block.buffer, &regions);
                }
            }
            Ok(())
        })?;
        Ok(())
    }

    fn prepare(&self, kernel: &Kernel) -> Result<()> {
        self.loaded(kernel).map(|_| ())
    }

    unsafe fn launch(
        &self,
        kernel: &Kernel,
        config: &LaunchConfig,
        args: &[u64],
        stream: Option<&Stream>,
    ) -> Result<()> {
        Stream::check(stream, self.id())?;
        let loaded = self.loaded(kernel)?;
        let spirv = &loaded.spirv;
        kernel.check_args(args, spirv.param_slots)?;
        // Per-thread workgroup memory (the warp exchange) counts as static.
        let shared = loaded
            .conv
            .shared_per_thread
            .saturating_mul(config.threads_per_block())
            .saturating_add(spirv.static_shared_bytes);
        config.validate(&self.info.limits, shared)?;
        let dynamic = u32::try_from(config.dynamic_shared_bytes).map_err(|_| {
            RuntimeError::InvalidLaunch(format!(
                "{} bytes of dynamic shared memory is more than any Vulkan device has",
                config.dynamic_shared_bytes
            ))
        })?;
        let ctx = &loaded.ctx;
        let max = ctx.max_dispatch;
        let split = (0..3).any(|a| config.grid[a] > max[a]);
        if split && loaded.reads_num_workgroups {
            let a = (0..3).find(|&a| config.grid[a] > max[a]).unwrap_or(0);
            return Err(RuntimeError::InvalidLaunch(format!(
                "grid dimension {} is {}: {} runs at most {} blocks along {} in one dispatch, and \
                 kernel `{}` reads the grid size, so its grid cannot be split; launch fewer, \
                 larger blocks",
                ["x", "y", "z"][a],
                config.grid[a],
                self.label(),
                max[a],
                ["x", "y", "z"][a],
                kernel.name()
            )));
        }
        let pipeline = loaded.pipeline(self, config.block, dynamic)?;
        let status = loaded.status.addr();
        let mut keep: Keep = vec![Box::new(loaded.clone())];
        let words: Vec<u64> = if spirv.slots_in_push_constants {
            args.iter().copied().chain([status]).collect()
        } else {
            // The slots in a buffer of their own, alive until the launch completes.
            let buf = ctx.alloc(8 * args.len() as u64, MemKind::Host)?;
            let p = buf.ptr().expect("host-visible");
            // SAFETY: a fresh host-visible allocation of 8 bytes per slot.
            unsafe { std::ptr::copy_nonoverlapping(args.as_ptr().cast::<u8>(), p, 8 * args.len()) };
            let addr = buf.addr();
            keep.push(Box::new(buf));
            vec![addr, status]
        };
        let mut push: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        if let Some(off) = loaded.conv.grid_offset {
            // `gridDim`: the whole grid, whatever the dispatches it is split into.
            if (off as usize) < push.len() {
                return Err(RuntimeError::InvalidLaunch(format!(
                    "kernel `{}` puts the grid size at byte {off} of its push constants, \
                     inside its {} bytes of slots",
                    kernel.name(),
                    push.len()
                )));
            }
            push.resize(off as usize, 0);
            push.extend(config.grid.iter().flat_map(|g| g.to_le_bytes()));
        }
        if push.len() as u32 > loaded.conv.push_bytes {
            return Err(RuntimeError::InvalidLaunch(format!(
                "kernel `{}` declares {} bytes of push constants, but its slots take {}",
                kernel.name(),
                loaded.conv.push_bytes,
                push.len()
            )));
        }
        let grid = config.grid;
        let layout = loaded.layout;
        ctx.submit(stream, keep, |d, cmd| {
            // SAFETY: a pipeline and layout of this device, push constants
            // within the layout's range, group counts within the device's limits.
            unsafe {
                d.cmd_bind_pipeline(cmd, vk::PipelineBindPoint::COMPUTE, pipeline);
                d.cmd_push_constants(cmd, layout, vk::ShaderStageFlags::COMPUTE, 0, &push);
                if !split {
                    d.cmd_dispatch(cmd, grid[0], grid[1], grid[2]);
                } else {
                    for z in (0..grid[2]).step_by(max[2] as usize) {
                        for y in (0..grid[1]).step_by(max[1] as usize) {
                            for x in (0..grid[0]).step_by(max[0] as usize) {
                                d.cmd_dispatch_base(
                                    cmd,
                                    x,
                                    y,
                                    z,
                                    (grid[0] - x).min(max[0]),
                                    (grid[1] - y).min(max[1]),
                                    (grid[2] - z).min(max[2]),
                                );
                            }
                        }
                    }
                }
            }
            Ok(())
        })?;
        let mut pending = lock(&self.pending);
        if !pending.iter().any(|k| Arc::ptr_eq(k, &loaded)) {
            pending.push(loaded);
        }
        Ok(())
    }

    fn synchronize(&self) -> Result<()> {
        let Some(Ok(ctx)) = self.ctx.get() else {
            return Ok(()); // nothing was ever queued
        };
        ctx.wait_all()?;
        self.check_raised()
    }

    fn create_stream(&self) -> Result<Stream> {
        self.ctx()?;
        Ok(Stream {
            device: self.id(),
            inner: StreamInner::Vulkan(VulkanStream {
                last: AtomicU64::new(0),
            }),
        })
    }

    fn stream_synchronize(&self, stream: &Stream) -> Result<()> {
        Stream::check(Some(stream), self.id())?;
        let ctx = self.ctx()?;
        if let StreamInner::Vulkan(s) = &stream.inner {
            ctx.wait(s.last.load(Ordering::Acquire))?;
        }
        self.check_raised()
    }

    fn create_event(&self) -> Result<Event> {
        let ctx = self.ctx()?.clone();
        let query_pool = match ctx.timestamp_period_ns {
            // SAFETY: a valid create info on a live device.
            Some(_) => Some(
                unsafe {
                    ctx.device.create_query_pool(
                        &vk::QueryPoolCreateInfo::default()
                            .query_type(vk::QueryType::TIMESTAMP)
                            .query_count(1),
                        None,
                    )
                }
                .call("vkCreateQueryPool")?,
            ),
            None => None,
        };
        Ok(Event {
            device: self.id(),
            inner: EventInner::Vulkan(VulkanEvent {
                ctx,
                query_pool,
                state: Mutex::new(EventState::default()),
            }),
        })
    }

    fn record_event(&self, event: &Event, stream: Option<&Stream>) -> Result<()> {
        Stream::check(stream, self.id())?;
        event.check(self.id())?;
        let e = vulkan_event(event)?;
        let ctx = &e.ctx;
        let mut state = lock(&e.state);
        // A timestamp query may only be rewritten once its last write is done.
        ctx.wait(state.value.unwrap_or(0))?;
        let value = match e.query_pool {
            Some(pool) => ctx.submit(stream, Vec::new(), |d, cmd| {
                // SAFETY: a live query pool of this device, not in use.
                unsafe {
                    d.cmd_reset_query_pool(cmd, pool, 0, 1);
                    d.cmd_write_timestamp(cmd, vk::PipelineStageFlags::BOTTOM_OF_PIPE, pool, 0);
                }
                Ok(())
            })?,
            None => {
                // No timestamps: the event completes when the work before it
                // has, and that is when its time is taken.
                let v = match stream {
                    Some(Stream {
                        inner: StreamInner::Vulkan(s),
                        ..
                    }) => s.last.load(Ordering::Acquire),
                    _ => lock(&ctx.sub).submitted,
                };
                ctx.wait(v)?;
                state.host_time = Some(Instant::now());
                v
            }
        };
        state.value = Some(value);
        Ok(())
    }

    fn event_synchronize(&self, event: &Event) -> Result<()> {
        event.check(self.id())?;
        let e = vulkan_event(event)?;
        let value = lock(&e.state).value.unwrap_or(0);
        e.ctx.wait(value)?;
        self.check_raised()
    }

    fn event_query(&self, event: &Event) -> Result<bool> {
        event.check(self.id())?;
        let e = vulkan_event(event)?;
        let value = lock(&e.state).value.unwrap_or(0);
        Ok(e.ctx.completed()? >= value)
    }

    fn event_elapsed_ms(&self, start: &Event, end: &Event) -> Result<f32> {
        start.check(self.id())?;
        end.check(self.id())?;
        let (a, b) = (vulkan_event(start)?, vulkan_event(end)?);
        let not_recorded = || {
            RuntimeError::InvalidOperation(
                "elapsed time between events that were not both recorded: record each event first"
                    .into(),
            )
        };
        let (va, vb) = (
            lock(&a.state).value.ok_or_else(not_recorded)?,
            lock(&b.state).value.ok_or_else(not_recorded)?,
        );
        let ctx = &a.ctx;
        for v in [va, vb] {
            if ctx.completed()? < v {
                return Err(RuntimeError::InvalidOperation(
                    "elapsed time of an event that has not completed: synchronize on it first"
                        .into(),
                ));
            }
        }
        let ns = match (a.query_pool, b.query_pool, ctx.timestamp_period_ns) {
            (Some(pa), Some(pb), Some(period)) => {
                let read = |pool| -> Result<u64> {
                    let mut t = [0u64; 1];
                    // SAFETY: a query written by a completed submission.
                    unsafe {
                        ctx.device.get_query_pool_results(
                            pool,
                            0,
                            &mut t,
                            vk::QueryResultFlags::TYPE_64 | vk::QueryResultFlags::WAIT,
                        )
                    }
                    .call("vkGetQueryPoolResults")?;
                    Ok(t[0])
                };
                let (ta, tb) = (read(pa)?, read(pb)?);
                (tb as i128 - ta as i128) as f64 * period as f64
            }
            _ => {
                let (ha, hb) = (lock(&a.state).host_time, lock(&b.state).host_time);
                match (ha, hb) {
                    (Some(x), Some(y)) if y >= x => (y - x).as_nanos() as f64,
                    (Some(x), Some(y)) => -((x - y).as_nanos() as f64),
                    _ => return Err(not_recorded()),
                }
            }
        };
        Ok((ns / 1e6) as f32)
    }
}

fn vulkan_event(event: &Event) -> Result<&VulkanEvent> {
    match &event.inner {
        EventInner::Vulkan(e) => Ok(e),
        _ => Err(RuntimeError::InvalidOperation(
            "an event of another kind of device on a Vulkan device".into(),
        )),
    }
}
