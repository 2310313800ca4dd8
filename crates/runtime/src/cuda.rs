//! NVIDIA GPUs through the CUDA driver API (cudarc, `libcuda` loaded at run
//! time). Nothing here touches the driver before [`cuda_available`] has found
//! the library: cudarc panics, rather than erring, on a missing library.
//!
//! One primary context per device, retained on first use and made current on
//! the calling thread before each driver call. Kernels are loaded from PTX
//! with `cuModuleLoadDataEx` (the JIT's error log goes into the error) and
//! cached per kernel and device; a launch passes one pointer per 64-bit slot.
//!
//! A kernel that raises records `k + 1` in its module's status word
//! ([`STATUS_SYMBOL`]). Launches are asynchronous, so, as CUDA reports its own
//! errors, the runtime reads the status words of the kernels launched since the
//! last check at the next synchronisation (`synchronize`, `stream_synchronize`,
//! `event_synchronize`, `copy_dtoh`), resets them, and returns
//! [`RuntimeError::KernelRaised`] for the first that raised.

use std::ffi::{c_void, CString};
use std::mem::MaybeUninit;
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::{result, sys, DriverError};

use hypersonic_ir::Exception;
use hypersonic_llvm::ptx::STATUS_SYMBOL;

use crate::device::{
    Device, DeviceBuffer, DeviceId, DeviceInfo, DeviceKind, DeviceLimits, Event, EventInner,
    Stream, StreamInner,
};
use crate::kernel::{Kernel, LaunchConfig};
use crate::{Result, RuntimeError};

use sys::CUdevice_attribute as A;
use sys::CUfunction_attribute as F;
use sys::CUresult as R;

// ---------------------------------------------------------------- errors

/// The error for a failed driver call.
pub(crate) fn cuda_error(call: &'static str, e: DriverError) -> RuntimeError {
    let code = e
        .error_name()
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_else(|_| format!("{:?}", e.0));
    let mut message = e
        .error_string()
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "no description from the driver".into());
    if let Some(hint) = hint(e.0) {
        message.push_str("; ");
        message.push_str(hint);
    }
    RuntimeError::Cuda {
        call,
        code,
        message,
    }
}

fn hint(code: sys::CUresult) -> Option<&'static str> {
    Some(match code {
        R::CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES => {
            "the kernel needs more registers than a block of this size can have: launch fewer threads per block"
        }
        R::CUDA_ERROR_ILLEGAL_ADDRESS | R::CUDA_ERROR_MISALIGNED_ADDRESS => {
            "a thread read or wrote outside its arrays; the CUDA context cannot be used any more: restart the process"
        }
        R::CUDA_ERROR_LAUNCH_FAILED | R::CUDA_ERROR_ASSERT => {
            "the CUDA context cannot be used any more: restart the process"
        }
        R::CUDA_ERROR_UNSUPPORTED_PTX_VERSION => {
            "the NVIDIA driver is older than the PTX ISA this kernel was compiled to: update the driver"
        }
        R::CUDA_ERROR_NO_BINARY_FOR_GPU | R::CUDA_ERROR_INVALID_PTX => {
            "the PTX was compiled for a newer GPU than this one"
        }
        R::CUDA_ERROR_STUB_LIBRARY => {
            "this libcuda is the toolkit's stub, not a driver: install the NVIDIA driver"
        }
        R::CUDA_ERROR_NO_DEVICE => "the driver found no GPU",
        R::CUDA_ERROR_OUT_OF_MEMORY => "free device arrays that are no longer needed",
        _ => return None,
    })
}

trait Check<T> {
    fn call(self, call: &'static str) -> Result<T>;
}

impl<T> Check<T> for std::result::Result<T, DriverError> {
    fn call(self, call: &'static str) -> Result<T> {
        self.map_err(|e| cuda_error(call, e))
    }
}

// ---------------------------------------------------------------- driver

/// Every driver function the runtime calls, as cudarc's CUDA 12.6 bindings name them.
const DRIVER_FUNCTIONS: &[&str] = &[
    "cuInit",
    "cuDriverGetVersion",
    "cuGetErrorName",
    "cuGetErrorString",
    "cuDeviceGetCount",
    "cuDeviceGet",
    "cuDeviceGetName",
    "cuDeviceGetAttribute",
    "cuDeviceTotalMem_v2",
    "cuDevicePrimaryCtxRetain",
    "cuCtxSetCurrent",
    "cuCtxSynchronize",
    "cuMemAlloc_v2",
    "cuMemFree_v2",
    "cuMemcpyHtoDAsync_v2",
    "cuMemcpyDtoHAsync_v2",
    "cuMemcpyDtoDAsync_v2",
    "cuMemsetD8Async",
    "cuPointerGetAttribute",
    "cuModuleLoadDataEx",
    "cuModuleGetFunction",
    "cuModuleUnload",
    "cuModuleGetGlobal_v2",
    "cuMemcpyDtoH_v2",
    "cuMemcpyHtoD_v2",
    "cuFuncGetAttribute",
    "cuFuncSetAttribute",
    "cuLaunchKernel",
    "cuStreamCreate",
    "cuStreamDestroy_v2",
    "cuStreamSynchronize",
    "cuEventCreate",
    "cuEventRecord",
    "cuEventSynchronize",
    "cuEventQuery",
    "cuEventElapsedTime",
    "cuEventDestroy_v2",
];

struct Driver {
    version: i32,
    devices: usize,
}

static DRIVER: OnceLock<std::result::Result<Driver, String>> = OnceLock::new();

fn driver() -> std::result::Result<&'static Driver, &'static str> {
    DRIVER
        .get_or_init(load_driver)
        .as_ref()
        .map_err(|s| s.as_str())
}

fn load_driver() -> std::result::Result<Driver, String> {
    // SAFETY: only tries to open the library.
    if !unsafe { sys::is_culib_present() } {
        return Err("no CUDA driver (libcuda.so not found)".into());
    }
    // cudarc panics when a symbol is missing (a driver older than CUDA 11):
    // look for every function we call first.
    // SAFETY: the library is present (checked above), so `culib` does not panic;
    // looking a symbol up calls nothing.
    let lib = unsafe { sys::culib() };
    for name in DRIVER_FUNCTIONS {
        // SAFETY: only looks the symbol up.
        if unsafe { lib.get::<*const c_void>(name.as_bytes()) }.is_err() {
            return Err(format!(
                "the CUDA driver lacks {name}: it is older than CUDA 11; update the NVIDIA driver"
            ));
        }
    }
    std::panic::catch_unwind(|| {
        result::init().map_err(|e| cuda_error("cuInit", e).to_string())?;
        let mut version = 0;
        // SAFETY: an out-pointer to a local.
        unsafe { sys::cuDriverGetVersion(&mut version) }
            .result()
            .map_err(|e| cuda_error("cuDriverGetVersion", e).to_string())?;
        let devices = result::device::get_count()
            .map_err(|e| cuda_error("cuDeviceGetCount", e).to_string())?;
        Ok(Driver {
            version,
            devices: devices.max(0) as usize,
        })
    })
    .unwrap_or_else(|_| {
        Err("the CUDA driver lacks functions Hypersonic needs: it is older than CUDA 11; update the NVIDIA driver".into())
    })
}

/// Whether a CUDA driver is present, initialises, and has at least one GPU.
/// Never panics.
pub fn cuda_available() -> bool {
    cuda_unavailable_reason().is_none()
}

/// Why CUDA cannot be used (`None` when it can): no driver library, `cuInit`
/// failed, or no GPU.
pub fn cuda_unavailable_reason() -> Option<String> {
    match driver() {
        Err(reason) => Some(reason.to_string()),
        Ok(d) if d.devices == 0 => Some("the CUDA driver found no GPU".into()),
        Ok(_) => None,
    }
}

/// The driver's CUDA version, `(12, 6)` for 12.6, when a driver is loaded.
pub fn cuda_driver_version() -> Option<(u32, u32)> {
    let v = driver().ok()?.version;
    Some(((v / 1000) as u32, ((v % 1000) / 10) as u32))
}

static DEVICES: OnceLock<std::result::Result<Vec<Arc<CudaDevice>>, RuntimeError>> = OnceLock::new();

/// Every CUDA device, in driver order (one value per device for the process).
pub(crate) fn devices() -> Result<&'static [Arc<CudaDevice>]> {
    DEVICES
        .get_or_init(|| {
            let d = driver().map_err(|r| RuntimeError::NoDevice(format!("no CUDA device: {r}")))?;
            (0..d.devices)
                .map(|i| CudaDevice::open(i).map(Arc::new))
                .collect()
        })
        .as_ref()
        .map(|v| v.as_slice())
        .map_err(Clone::clone)
}

// ---------------------------------------------------------------- contexts

/// A device's primary context.
pub(crate) struct Ctx {
    raw: sys::CUcontext,
}

// SAFETY: a CUDA context may be made current on any thread.
unsafe impl Send for Ctx {}
unsafe impl Sync for Ctx {}

impl Ctx {
    /// Makes the context current on this thread.
    fn bind(&self) -> Result<()> {
        // SAFETY: a retained primary context, never released.
        unsafe { result::ctx::set_current(self.raw) }.call("cuCtxSetCurrent")
    }
}

struct CudaAlloc {
    ctx: Arc<Ctx>,
    ptr: sys::CUdeviceptr,
}

impl Drop for CudaAlloc {
    fn drop(&mut self) {
        if self.ctx.bind().is_ok() {
            // SAFETY: allocated by cuMemAlloc in this context, freed once.
            let _ = unsafe { sys::cuMemFree_v2(self.ptr) };
        }
    }
}

pub(crate) struct CudaStream {
    ctx: Arc<Ctx>,
    raw: sys::CUstream,
}

// SAFETY: CUDA streams may be used from any thread.
unsafe impl Send for CudaStream {}
unsafe impl Sync for CudaStream {}

impl Drop for CudaStream {
    fn drop(&mut self) {
        if self.ctx.bind().is_ok() {
            // SAFETY: created by cuStreamCreate, destroyed once; queued work
            // still completes.
            let _ = unsafe { result::stream::destroy(self.raw) };
        }
    }
}

pub(crate) struct CudaEvent {
    ctx: Arc<Ctx>,
    raw: sys::CUevent,
}

// SAFETY: CUDA events may be used from any thread.
unsafe impl Send for CudaEvent {}
unsafe impl Sync for CudaEvent {}

impl Drop for CudaEvent {
    fn drop(&mut self) {
        if self.ctx.bind().is_ok() {
            // SAFETY: created by cuEventCreate, destroyed once.
            let _ = unsafe { result::event::destroy(self.raw) };
        }
    }
}

/// A kernel's module loaded on one device.
pub(crate) struct LoadedKernel {
    ctx: Arc<Ctx>,
    module: sys::CUmodule,
    function: sys::CUfunction,
    param_slots: usize,
    static_shared_bytes: u64,
    max_threads_per_block: u32,
    registers: u32,
    /// The dynamic shared memory the function has been opted in to.
    dynamic_shared_optin: Mutex<u64>,
    /// The device address of the module's status word, when it has one.
    status: Option<sys::CUdeviceptr>,
    kernel: String,
    exceptions: Vec<Exception>,
}

impl LoadedKernel {
    /// Reads and clears the status word (waiting for the work queued before
    /// on blocking streams); `Ok(0)` when nothing was raised.
    fn take_status(&self) -> Result<u32> {
        let Some(addr) = self.status else {
            return Ok(0);
        };
        let mut status = 0u32;
        // SAFETY: a 4-byte global of a loaded module; synchronous copies on the
        // legacy default stream, into and from a local.
        unsafe {
            sys::cuMemcpyDtoH_v2((&mut status as *mut u32).cast(), addr, 4)
                .result()
                .call("cuMemcpyDtoH")?;
            if status != 0 {
                let zero = 0u32;
                sys::cuMemcpyHtoD_v2(addr, (&zero as *const u32).cast(), 4)
                    .result()
                    .call("cuMemcpyHtoD")?;
            }
        }
        Ok(status)
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
}

// SAFETY: CUDA modules and functions may be used from any thread.
unsafe impl Send for LoadedKernel {}
unsafe impl Sync for LoadedKernel {}

impl Drop for LoadedKernel {
    fn drop(&mut self) {
        if self.ctx.bind().is_ok() {
            // SAFETY: loaded by cuModuleLoadDataEx, unloaded once.
            let _ = unsafe { sys::cuModuleUnload(self.module) };
        }
    }
}

// ---------------------------------------------------------------- the device

/// One NVIDIA GPU.
pub struct CudaDevice {
    info: DeviceInfo,
    dev: sys::CUdevice,
    /// The primary context, retained on first use (it costs device memory).
    ctx: OnceLock<std::result::Result<Arc<Ctx>, RuntimeError>>,
    /// Kernels with a status word launched since the last check.
    pending: Mutex<Vec<Arc<LoadedKernel>>>,
}

impl CudaDevice {
    fn open(ordinal: usize) -> Result<CudaDevice> {
        let dev = result::device::get(ordinal as i32).call("cuDeviceGet")?;
        let attr = |a: sys::CUdevice_attribute| -> Result<u32> {
            // SAFETY: `dev` came from cuDeviceGet.
            unsafe { result::device::get_attribute(dev, a) }
                .call("cuDeviceGetAttribute")
                .map(|v| v.max(0) as u32)
        };
        let name = result::device::get_name(dev).call("cuDeviceGetName")?;
        // SAFETY: `dev` came from cuDeviceGet.
        let total_memory =
            unsafe { result::device::total_mem(dev) }.call("cuDeviceTotalMem")? as u64;
        let shared = attr(A::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK)? as u64;
        let limits = DeviceLimits {
            max_threads_per_block: attr(A::CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK)?,
            max_block_dim: [
                attr(A::CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X)?,
                attr(A::CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y)?,
                attr(A::CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z)?,
            ],
            max_grid_dim: [
                attr(A::CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X)?,
                attr(A::CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y)?,
                attr(A::CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z)?,
            ],
            max_shared_memory_per_block: shared,
            max_shared_memory_per_block_optin: (attr(
                A::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
            )? as u64)
                .max(shared),
            warp_size: attr(A::CU_DEVICE_ATTRIBUTE_WARP_SIZE)?,
        };
        let cc = (
            attr(A::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?,
            attr(A::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?,
        );
        Ok(CudaDevice {
            info: DeviceInfo {
                id: DeviceId {
                    kind: DeviceKind::Cuda,
                    index: ordinal,
                },
                name,
                compute_capability: Some(cc),
                limits,
                multiprocessors: attr(A::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)?,
                total_memory,
            },
            dev,
            ctx: OnceLock::new(),
            pending: Mutex::new(Vec::new()),
        })
    }

    /// The primary context, current on this thread.
    fn ctx(&self) -> Result<&Arc<Ctx>> {
        let ctx = self
            .ctx
            .get_or_init(|| {
                // SAFETY: `dev` came from cuDeviceGet.
                let raw = unsafe { result::primary_ctx::retain(self.dev) }
                    .call("cuDevicePrimaryCtxRetain")?;
                Ok(Arc::new(Ctx { raw }))
            })
            .as_ref()
            .map_err(Clone::clone)?;
        ctx.bind()?;
        Ok(ctx)
    }

    fn stream_raw(stream: Option<&Stream>) -> sys::CUstream {
        match stream {
            Some(Stream {
                inner: StreamInner::Cuda(s),
                ..
            }) => s.raw,
            _ => std::ptr::null_mut(),
        }
    }

    fn event_raw(event: &Event) -> Result<sys::CUevent> {
        match &event.inner {
            EventInner::Cuda(e) => Ok(e.raw),
            _ => Err(RuntimeError::InvalidOperation(
                "an event of another kind of device on a CUDA device".into(),
            )),
        }
    }

    /// Reports the first exception raised by a kernel launched since the last
    /// check (see the module documentation); the context is current.
    fn check_raised(&self) -> Result<()> {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        let mut first = None;
        for k in pending {
            let status = k.take_status()?;
            if status != 0 && first.is_none() {
                first = Some(k.raised(status));
            }
        }
        first.map_or(Ok(()), Err)
    }

    fn sync_stream(raw: sys::CUstream) -> Result<()> {
        // SAFETY: a live stream of the current context, or the default stream.
        unsafe { result::stream::synchronize(raw) }.call("cuStreamSynchronize")
    }

    /// The kernel's module on this device, compiled and loaded on first use.
    fn loaded(&self, kernel: &Kernel) -> Result<Arc<LoadedKernel>> {
        let mut cache = kernel.cuda.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = cache.get(&self.info.id.index) {
            return Ok(l.clone());
        }
        let cc = self.info.compute_capability.unwrap_or((7, 0));
        let ptx = kernel.ptx(cc)?;
        let ctx = self.ctx()?.clone();
        let text = CString::new(ptx.text.as_str()).map_err(|_| RuntimeError::Compile {
            kernel: kernel.name().into(),
            target: format!("CUDA sm_{}{}", cc.0, cc.1),
            message: "the PTX text contains a NUL byte".into(),
        })?;
        let module = load_module(&text)?;
        let loaded = (|| {
            let entry =
                CString::new(ptx.entry_name.as_str()).map_err(|_| RuntimeError::Compile {
                    kernel: kernel.name().into(),
                    target: format!("CUDA sm_{}{}", cc.0, cc.1),
                    message: "the entry name contains a NUL byte".into(),
                })?;
            // SAFETY: a module just loaded in the current context.
            let function = unsafe { result::module::get_function(module, entry) }
                .call("cuModuleGetFunction")?;
            let fattr = |a: sys::CUfunction_attribute| -> Result<u64> {
                // SAFETY: a function of a loaded module.
                unsafe { result::function::get_function_attribute(function, a) }
                    .call("cuFuncGetAttribute")
                    .map(|v| v.max(0) as u64)
            };
            let status = match CString::new(STATUS_SYMBOL) {
                // SAFETY: a module just loaded in the current context.
                Ok(name) => match unsafe { result::module::get_global(module, name) } {
                    Ok((addr, bytes)) if bytes >= 4 => Some(addr),
                    _ => None, // a kernel that cannot raise has no status word
                },
                Err(_) => None,
            };
            Ok(LoadedKernel {
                status,
                kernel: kernel.name().into(),
                exceptions: kernel.exceptions().to_vec(),
                ctx: ctx.clone(),
                module,
                function,
                param_slots: ptx.param_slots,
                static_shared_bytes: fattr(F::CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES)?,
                max_threads_per_block: fattr(F::CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK)? as u32,
                registers: fattr(F::CU_FUNC_ATTRIBUTE_NUM_REGS)? as u32,
                dynamic_shared_optin: Mutex::new(0),
            })
        })();
        let loaded = match loaded {
            Ok(l) => Arc::new(l),
            Err(e) => {
                // SAFETY: loaded above, not referenced elsewhere.
                let _ = unsafe { sys::cuModuleUnload(module) };
                return Err(e);
            }
        };
        cache.insert(self.info.id.index, loaded.clone());
        Ok(loaded)
    }
}

/// Loads PTX in the current context; a failure carries the JIT's error log.
fn load_module(text: &CString) -> Result<sys::CUmodule> {
    let mut log = vec![0u8; 16 * 1024];
    let mut options = [
        sys::CUjit_option::CU_JIT_ERROR_LOG_BUFFER,
        sys::CUjit_option::CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
    ];
    let mut values: [*mut c_void; 2] = [log.as_mut_ptr().cast(), log.len() as *mut c_void];
    let mut module = MaybeUninit::uninit();
    // SAFETY: a NUL-terminated image, option arrays of two entries, a log
    // buffer of the size given.
    let r = unsafe {
        sys::cuModuleLoadDataEx(
            module.as_mut_ptr(),
            text.as_ptr().cast(),
            options.len() as u32,
            options.as_mut_ptr(),
            values.as_mut_ptr(),
        )
    };
    match r.result() {
        // SAFETY: initialised on success.
        Ok(()) => Ok(unsafe { module.assume_init() }),
        Err(e) => {
            let mut err = cuda_error("cuModuleLoadDataEx", e);
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            let log = String::from_utf8_lossy(&log[..end]);
            if let (RuntimeError::Cuda { message, .. }, false) = (&mut err, log.trim().is_empty()) {
                message.push_str("; the PTX JIT compiler said: ");
                message.push_str(log.trim());
            }
            Err(err)
        }
    }
}

impl Device for CudaDevice {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn alloc(&self, bytes: usize) -> Result<DeviceBuffer> {
        let ctx = self.ctx()?.clone();
        // cuMemAlloc refuses 0 bytes; an empty array still gets an address.
        // SAFETY: the context is current.
        let ptr = unsafe { result::malloc_sync(bytes.max(1)) }.map_err(|e| {
            if e.0 == R::CUDA_ERROR_OUT_OF_MEMORY {
                RuntimeError::OutOfMemory {
                    device: format!("{} ({})", self.info.id, self.info.name),
                    bytes: bytes as u64,
                }
            } else {
                cuda_error("cuMemAlloc", e)
            }
        })?;
        let owner = CudaAlloc { ctx, ptr };
        // SAFETY: `owner` frees exactly this allocation.
        Ok(unsafe { DeviceBuffer::new(self.id(), ptr, bytes, Some(Box::new(owner))) })
    }

    unsafe fn wrap_foreign(&self, addr: u64, bytes: usize) -> Result<DeviceBuffer> {
        if bytes > 0 {
            self.ctx()?;
            let mut ordinal: i32 = -1;
            // SAFETY: an out-pointer to an i32, as the attribute requires.
            let r = unsafe {
                sys::cuPointerGetAttribute(
                    (&mut ordinal as *mut i32).cast(),
                    sys::CUpointer_attribute::CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
                    addr,
                )
            };
            if let Err(e) = r.result() {
                return Err(RuntimeError::InvalidMemory(format!(
                    "address {addr:#x} is not memory the CUDA driver knows ({})",
                    cuda_error("cuPointerGetAttribute", e)
                )));
            }
            if ordinal >= 0 && ordinal as usize != self.info.id.index {
                return Err(RuntimeError::InvalidMemory(format!(
                    "address {addr:#x} is memory of cuda:{ordinal}, not of {}",
                    self.info.id
                )));
            }
        }
        // SAFETY: the caller vouches for the memory.
        Ok(unsafe { DeviceBuffer::new(self.id(), addr, bytes, None) })
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
        self.ctx()?;
        let raw = Self::stream_raw(stream);
        // SAFETY: the range is inside the buffer; we wait for the copy below,
        // so `src` outlives it even when it is pinned memory.
        unsafe { result::memcpy_htod_async(dst.addr() + offset as u64, src, raw) }
            .call("cuMemcpyHtoDAsync")?;
        Self::sync_stream(raw)
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
        if dst.is_empty() {
            return Ok(());
        }
        self.ctx()?;
        let raw = Self::stream_raw(stream);
        // SAFETY: the range is inside the buffer; we wait for the copy below.
        unsafe { result::memcpy_dtoh_async(dst, src.addr() + offset as u64, raw) }
            .call("cuMemcpyDtoHAsync")?;
        Self::sync_stream(raw)?;
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
        self.ctx()?;
        // SAFETY: both ranges are inside live buffers.
        unsafe {
            result::memcpy_dtod_async(
                dst.addr() + dst_offset as u64,
                src.addr() + src_offset as u64,
                bytes,
                Self::stream_raw(stream),
            )
        }
        .call("cuMemcpyDtoDAsync")
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
        self.ctx()?;
        // SAFETY: the range is inside a live buffer.
        unsafe {
            result::memset_d8_async(
                dst.addr() + offset as u64,
                value,
                bytes,
                Self::stream_raw(stream),
            )
        }
        .call("cuMemsetD8Async")
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
        kernel.check_args(args, loaded.param_slots)?;
        config.validate(&self.info.limits, loaded.static_shared_bytes)?;
        let threads = config.threads_per_block();
        if threads > loaded.max_threads_per_block as u64 {
            return Err(RuntimeError::InvalidLaunch(format!(
                "block of {threads} threads: kernel `{}` uses {} registers per thread, so a block \
                 may have at most {} threads on {} ({}); launch fewer threads per block",
                kernel.name(),
                loaded.registers,
                loaded.max_threads_per_block,
                self.info.id,
                self.info.name
            )));
        }
        self.ctx()?;
        let dynamic = config.dynamic_shared_bytes;
        if loaded.static_shared_bytes + dynamic > self.info.limits.max_shared_memory_per_block {
            // More than the default 48 KiB: opt in, as far as this launch needs.
            let mut optin = loaded
                .dynamic_shared_optin
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if *optin < dynamic {
                // SAFETY: a function of a loaded module; the size was validated.
                unsafe {
                    result::function::set_function_attribute(
                        loaded.function,
                        F::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                        dynamic as i32,
                    )
                }
                .call("cuFuncSetAttribute")?;
                *optin = dynamic;
            }
        }
        let mut slots = args.to_vec();
        let mut params: Vec<*mut c_void> = slots
            .iter_mut()
            .map(|s| (s as *mut u64).cast::<c_void>())
            .collect();
        let [gx, gy, gz] = config.grid;
        let [bx, by, bz] = config.block;
        // SAFETY: one pointer per 64-bit parameter slot of the kernel (checked
        // count), each to a live u64 (the driver copies them before returning);
        // the slots' contents are the caller's promise.
        unsafe {
            result::launch_kernel(
                loaded.function,
                (gx, gy, gz),
                (bx, by, bz),
                dynamic as u32,
                Self::stream_raw(stream),
                &mut params,
            )
        }
        .call("cuLaunchKernel")?;
        if loaded.status.is_some() {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            if !pending.iter().any(|k| Arc::ptr_eq(k, &loaded)) {
                pending.push(loaded);
            }
        }
        Ok(())
    }

    fn synchronize(&self) -> Result<()> {
        if self.ctx.get().is_none() {
            return Ok(()); // nothing was ever queued
        }
        self.ctx()?;
        result::ctx::synchronize().call("cuCtxSynchronize")?;
        self.check_raised()
    }

    fn create_stream(&self) -> Result<Stream> {
        let ctx = self.ctx()?.clone();
        let raw =
            result::stream::create(result::stream::StreamKind::Default).call("cuStreamCreate")?;
        Ok(Stream {
            device: self.id(),
            inner: StreamInner::Cuda(CudaStream { ctx, raw }),
        })
    }

    fn stream_synchronize(&self, stream: &Stream) -> Result<()> {
        Stream::check(Some(stream), self.id())?;
        self.ctx()?;
        Self::sync_stream(Self::stream_raw(Some(stream)))?;
        self.check_raised()
    }

    fn create_event(&self) -> Result<Event> {
        let ctx = self.ctx()?.clone();
        let raw =
            result::event::create(sys::CUevent_flags::CU_EVENT_DEFAULT).call("cuEventCreate")?;
        Ok(Event {
            device: self.id(),
            inner: EventInner::Cuda(CudaEvent { ctx, raw }),
        })
    }

    fn record_event(&self, event: &Event, stream: Option<&Stream>) -> Result<()> {
        Stream::check(stream, self.id())?;
        event.check(self.id())?;
        let raw = Self::event_raw(event)?;
        self.ctx()?;
        // SAFETY: a live event and stream of this context.
        unsafe { result::event::record(raw, Self::stream_raw(stream)) }.call("cuEventRecord")
    }

    fn event_synchronize(&self, event: &Event) -> Result<()> {
        event.check(self.id())?;
        let raw = Self::event_raw(event)?;
        self.ctx()?;
        // SAFETY: a live event of this context.
        unsafe { result::event::synchronize(raw) }.call("cuEventSynchronize")?;
        self.check_raised()
    }

    fn event_query(&self, event: &Event) -> Result<bool> {
        event.check(self.id())?;
        let raw = Self::event_raw(event)?;
        self.ctx()?;
        // SAFETY: a live event of this context.
        match unsafe { result::event::query(raw) } {
            Ok(()) => Ok(true),
            Err(e) if e.0 == R::CUDA_ERROR_NOT_READY => Ok(false),
            Err(e) => Err(cuda_error("cuEventQuery", e)),
        }
    }

    fn event_elapsed_ms(&self, start: &Event, end: &Event) -> Result<f32> {
        start.check(self.id())?;
        end.check(self.id())?;
        let (a, b) = (Self::event_raw(start)?, Self::event_raw(end)?);
        self.ctx()?;
        // SAFETY: live events of this context.
        unsafe { result::event::elapsed(a, b) }.call("cuEventElapsedTime")
    }
}
