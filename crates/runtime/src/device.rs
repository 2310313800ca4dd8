//! The [`Device`] trait and what every device shares: buffers, streams, events.

use std::any::Any;
use std::fmt;
use std::sync::Mutex;
use std::time::Instant;

use crate::kernel::{Kernel, LaunchConfig};
use crate::{cuda, vulkan, Result, RuntimeError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    Cpu,
    Cuda,
    Vulkan,
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceKind::Cpu => "cpu",
            DeviceKind::Cuda => "cuda",
            DeviceKind::Vulkan => "vulkan",
        })
    }
}

/// Which device: its kind and its number among the devices of that kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeviceId {
    pub kind: DeviceKind,
    pub index: usize,
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            DeviceKind::Cpu => write!(f, "cpu"),
            k => write!(f, "{k}:{}", self.index),
        }
    }
}

/// What a launch may ask of a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceLimits {
    pub max_threads_per_block: u32,
    pub max_block_dim: [u32; 3],
    pub max_grid_dim: [u32; 3],
    /// Shared memory a block may use without opting in (48 KiB on CUDA).
    pub max_shared_memory_per_block: u64,
    /// Shared memory a block may use at most; the runtime opts in for kernels
    /// that need more than `max_shared_memory_per_block`.
    pub max_shared_memory_per_block_optin: u64,
    pub warp_size: u32,
}

impl Default for DeviceLimits {
    /// CUDA's limits for every compute capability from 7.0 on, without opt-in.
    fn default() -> Self {
        DeviceLimits {
            max_threads_per_block: 1024,
            max_block_dim: [1024, 1024, 64],
            max_grid_dim: [i32::MAX as u32, 65535, 65535],
            max_shared_memory_per_block: 48 * 1024,
            max_shared_memory_per_block_optin: 48 * 1024,
            warp_size: 32,
        }
    }
}

/// A description of one device.
#[derive(Clone, Debug)]
pub struct DeviceInfo {
    pub id: DeviceId,
    pub name: String,
    /// `(major, minor)` on CUDA devices.
    pub compute_capability: Option<(u32, u32)>,
    pub limits: DeviceLimits,
    /// Streaming multiprocessors on a GPU; worker threads on the CPU.
    pub multiprocessors: u32,
    /// Bytes of device memory (of RAM on the CPU; 0 when unknown).
    pub total_memory: u64,
}

/// A device kernels run on. Every method may be called from any thread.
pub trait Device: Send + Sync {
    fn info(&self) -> &DeviceInfo;

    fn id(&self) -> DeviceId {
        self.info().id
    }

    /// Allocates `bytes` bytes of device memory (aligned for any element type,
    /// at least 16 bytes), freed when the buffer is dropped. On the CPU the
    /// memory starts zeroed; on a GPU its contents are undefined.
    fn alloc(&self, bytes: usize) -> Result<DeviceBuffer>;

    /// Wraps memory this device can address that someone else owns (a CuPy or
    /// PyTorch array from `__cuda_array_interface__`); it is not freed on drop.
    ///
    /// # Safety
    /// `addr..addr + bytes` must stay valid device memory of this device for as
    /// long as the buffer (and anything launched with it) lives.
    unsafe fn wrap_foreign(&self, addr: u64, bytes: usize) -> Result<DeviceBuffer>;

    /// Copies `src` to `dst[offset..]`. Returns when `src` may be reused.
    fn copy_htod(
        &self,
        dst: &DeviceBuffer,
        offset: usize,
        src: &[u8],
        stream: Option<&Stream>,
    ) -> Result<()>;

    /// Copies `src[offset..offset + dst.len()]` to `dst`. Returns when the copy is
    /// complete (after the work queued before it on `stream`).
    fn copy_dtoh(
        &self,
        dst: &mut [u8],
        src: &DeviceBuffer,
        offset: usize,
        stream: Option<&Stream>,
    ) -> Result<()>;

    /// Copies `bytes` bytes from `src[src_offset..]` to `dst[dst_offset..]`,
    /// ordered on `stream`.
    #[allow(clippy::too_many_arguments)]
    fn copy_dtod(
        &self,
        dst: &DeviceBuffer,
        dst_offset: usize,
        src: &DeviceBuffer,
        src_offset: usize,
        bytes: usize,
        stream: Option<&Stream>,
    ) -> Result<()>;

    /// Sets `bytes` bytes of `dst` from `offset` to `value`, ordered on `stream`.
    fn memset(
        &self,
        dst: &DeviceBuffer,
        offset: usize,
        bytes: usize,
        value: u8,
        stream: Option<&Stream>,
    ) -> Result<()>;

    /// Compiles and loads `kernel` for this device now rather than at its first
    /// launch (eager signatures).
    fn prepare(&self, kernel: &Kernel) -> Result<()>;

    /// Launches `kernel` over `config.grid` blocks of `config.block` threads,
    /// with `args` its argument slots (see [`crate::abi`]). On the CPU the launch
    /// is complete when this returns; on a GPU it is queued on `stream` (the
    /// default stream when `None`).
    ///
    /// # Safety
    /// The slots must be valid for the kernel's parameter types: every array
    /// slot group must describe memory of this device (its address, shape and
    /// strides within one live buffer) that no one else writes meanwhile.
    unsafe fn launch(
        &self,
        kernel: &Kernel,
        config: &LaunchConfig,
        args: &[u64],
        stream: Option<&Stream>,
    ) -> Result<()>;

    /// Waits for all work queued on this device.
    fn synchronize(&self) -> Result<()>;

    fn create_stream(&self) -> Result<Stream>;

    /// Waits for all work queued on `stream`.
    fn stream_synchronize(&self, stream: &Stream) -> Result<()>;

    fn create_event(&self) -> Result<Event>;

    /// Records `event` on `stream`: it completes when the work queued before it has.
    fn record_event(&self, event: &Event, stream: Option<&Stream>) -> Result<()>;

    /// Waits until `event` completes.
    fn event_synchronize(&self, event: &Event) -> Result<()>;

    /// Whether `event` has completed (a never-recorded event has).
    fn event_query(&self, event: &Event) -> Result<bool>;

    /// Milliseconds between two recorded, completed events.
    fn event_elapsed_ms(&self, start: &Event, end: &Event) -> Result<f32>;
}

impl fmt::Debug for dyn Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Device({}, {:?})", self.id(), self.info().name)
    }
}

/// A range of device memory: owned (freed on drop) or foreign.
pub struct DeviceBuffer {
    addr: u64,
    size: usize,
    device: DeviceId,
    /// Frees the memory when dropped; `None` for foreign memory.
    owner: Option<Box<dyn Any + Send + Sync>>,
}

impl DeviceBuffer {
    /// # Safety
    /// `addr..addr + size` is device memory of `device`, kept valid by `owner`
    /// (or by someone else, for as long as the buffer lives, when `owner` is `None`).
    pub(crate) unsafe fn new(
        device: DeviceId,
        addr: u64,
        size: usize,
        owner: Option<Box<dyn Any + Send + Sync>>,
    ) -> DeviceBuffer {
        DeviceBuffer {
            addr,
            size,
            device,
            owner,
        }
    }

    /// The device address of the first byte: what goes into an array's data slot.
    pub fn addr(&self) -> u64 {
        self.addr
    }

    pub fn size(&self) -> usize {
        self.size
    }

    pub fn device(&self) -> DeviceId {
        self.device
    }

    /// Whether the memory belongs to someone else (see [`Device::wrap_foreign`]).
    pub fn is_foreign(&self) -> bool {
        self.owner.is_none()
    }

    /// Checks that `self` belongs to `device` and that `offset..offset + len` is
    /// inside it; `what` names the operand in the message.
    pub(crate) fn check(
        &self,
        device: DeviceId,
        offset: usize,
        len: usize,
        what: &str,
    ) -> Result<()> {
        if self.device != device {
            return Err(RuntimeError::InvalidMemory(format!(
                "the {what} buffer lives on {}, not on {device}: copy it to {device} first",
                self.device
            )));
        }
        match offset.checked_add(len) {
            Some(end) if end <= self.size => Ok(()),
            _ => Err(RuntimeError::InvalidMemory(format!(
                "{len} bytes at offset {offset} do not fit in the {what} buffer of {} bytes",
                self.size
            ))),
        }
    }
}

impl fmt::Debug for DeviceBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceBuffer")
            .field("device", &self.device)
            .field("addr", &format_args!("{:#x}", self.addr))
            .field("size", &self.size)
            .field("foreign", &self.is_foreign())
            .finish()
    }
}

/// A queue of work on a device. On the CPU every operation completes before it
/// returns, so a stream only orders nothing; on CUDA it is a `CUstream`.
pub struct Stream {
    pub(crate) device: DeviceId,
    pub(crate) inner: StreamInner,
}

pub(crate) enum StreamInner {
    Cpu,
    Cuda(cuda::CudaStream),
    Vulkan(vulkan::VulkanStream),
}

impl Stream {
    pub fn device(&self) -> DeviceId {
        self.device
    }

    pub(crate) fn check(stream: Option<&Stream>, device: DeviceId) -> Result<()> {
        match stream {
            Some(s) if s.device != device => Err(RuntimeError::InvalidOperation(format!(
                "a stream of {} cannot order work on {device}",
                s.device
            ))),
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Stream({})", self.device)
    }
}

/// A point in a stream's work, for waiting and timing.
pub struct Event {
    pub(crate) device: DeviceId,
    pub(crate) inner: EventInner,
}

pub(crate) enum EventInner {
    /// When the event was last recorded.
    Cpu(Mutex<Option<Instant>>),
    Cuda(cuda::CudaEvent),
    Vulkan(vulkan::VulkanEvent),
}

impl Event {
    pub fn device(&self) -> DeviceId {
        self.device
    }

    pub(crate) fn check(&self, device: DeviceId) -> Result<()> {
        if self.device != device {
            return Err(RuntimeError::InvalidOperation(format!(
                "an event of {} cannot be used on {device}",
                self.device
            )));
        }
        Ok(())
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Event({})", self.device)
    }
}
