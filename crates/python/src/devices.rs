//! Devices, device memory, streams, events and kernel launches, for
//! `hypersonic.cuda`.

use std::sync::Arc;

use hypersonic_runtime::RuntimeError;
use hypersonic_runtime::{Device, DeviceBuffer, DeviceKind, Event, LaunchConfig, Stream};
use pyo3::exceptions::{PyMemoryError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::front::raised;
use crate::kernel::CompiledKernel;
use crate::marshal::{byte_array, pack, Slots};

/// A runtime error as the Python exception a user expects.
pub fn runtime_error(py: Python<'_>, e: RuntimeError, kernel: Option<&CompiledKernel>) -> PyErr {
    let errors = py.import("hypersonic.errors");
    let class = |name: &str| errors.as_ref().ok().and_then(|m| m.getattr(name).ok());
    let with = |name: &str, fallback: fn(String) -> PyErr, msg: String| match class(name) {
        Some(cls) => match cls.cast_into::<pyo3::types::PyType>() {
            Ok(t) => PyErr::from_type(t, msg),
            Err(_) => fallback(msg),
        },
        None => fallback(msg),
    };
    match e {
        RuntimeError::KernelRaised { status, .. } if kernel.is_some() => {
            raised(py, &kernel.expect("checked").exceptions, status)
        }
        RuntimeError::InvalidLaunch(_) => with("LaunchError", PyValueError::new_err, e.to_string()),
        RuntimeError::Cuda { .. } => with("CudaError", PyRuntimeError::new_err, e.to_string()),
        RuntimeError::OutOfMemory { .. } => PyMemoryError::new_err(e.to_string()),
        RuntimeError::InvalidMemory(_) | RuntimeError::InvalidOperation(_) => {
            PyValueError::new_err(e.to_string())
        }
        RuntimeError::Compile { .. } => with(
            "InternalCompilerError",
            PyRuntimeError::new_err,
            e.to_string(),
        ),
        _ => PyRuntimeError::new_err(e.to_string()),
    }
}

fn kind_name(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::Cpu => "cpu",
        DeviceKind::Cuda => "cuda",
        DeviceKind::Vulkan => "vulkan",
    }
}

#[pyclass(frozen, name = "Device", module = "hypersonic._core")]
pub struct PyDevice {
    pub device: Arc<dyn Device>,
}

#[pymethods]
impl PyDevice {
    #[getter]
    fn kind(&self) -> &'static str {
        kind_name(self.device.info().id.kind)
    }

    #[getter]
    fn index(&self) -> usize {
        self.device.info().id.index
    }

    #[getter]
    fn name(&self) -> String {
        self.device.info().name.clone()
    }

    #[getter]
    fn compute_capability(&self) -> Option<(u32, u32)> {
        self.device.info().compute_capability
    }

    /// The device's limits, as a dict.
    #[getter]
    fn limits<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let info = self.device.info();
        let l = &info.limits;
        let d = PyDict::new(py);
        d.set_item("max_threads_per_block", l.max_threads_per_block)?;
        d.set_item("max_block_dim", l.max_block_dim)?;
        d.set_item("max_grid_dim", l.max_grid_dim)?;
        d.set_item("max_shared_memory_per_block", l.max_shared_memory_per_block)?;
        d.set_item("warp_size", l.warp_size)?;
        d.set_item("multiprocessors", info.multiprocessors)?;
        d.set_item("total_memory", info.total_memory)?;
        Ok(d)
    }

    fn alloc(slf: &Bound<'_, Self>, nbytes: usize) -> PyResult<PyDeviceBuffer> {
        let py = slf.py();
        let buffer = slf
            .get()
            .device
            .alloc(nbytes)
            .map_err(|e| runtime_error(py, e, None))?;
        Ok(PyDeviceBuffer {
            buffer,
            device: slf.clone().unbind(),
            _owner: None,
        })
    }

    /// Memory another library owns (`__cuda_array_interface__`); `owner` is
    /// kept alive while the buffer lives.
    fn wrap(
        slf: &Bound<'_, Self>,
        address: u64,
        nbytes: usize,
        owner: Py<PyAny>,
    ) -> PyResult<PyDeviceBuffer> {
        let py = slf.py();
        // SAFETY: the caller vouches (through __cuda_array_interface__) that
        // `address` holds `nbytes` bytes of this device's memory; `owner` keeps
        // them alive as long as this buffer.
        let buffer = unsafe { slf.get().device.wrap_foreign(address, nbytes) }
            .map_err(|e| runtime_error(py, e, None))?;
        Ok(PyDeviceBuffer {
            buffer,
            device: slf.clone().unbind(),
            _owner: Some(owner),
        })
    }

    fn synchronize(&self, py: Python<'_>) -> PyResult<()> {
        let device = self.device.clone();
        py.detach(move || device.synchronize())
            .map_err(|e| runtime_error(py, e, None))
    }

    fn stream(slf: &Bound<'_, Self>) -> PyResult<PyStream> {
        let stream = slf
            .get()
            .device
            .create_stream()
            .map_err(|e| runtime_error(slf.py(), e, None))?;
        Ok(PyStream {
            stream,
            device: slf.get().device.clone(),
        })
    }

    fn event(slf: &Bound<'_, Self>) -> PyResult<PyEvent> {
        let event = slf
            .get()
            .device
            .create_event()
            .map_err(|e| runtime_error(slf.py(), e, None))?;
        Ok(PyEvent {
            event,
            device: slf.get().device.clone(),
        })
    }

    fn __repr__(&self) -> String {
        let info = self.device.info();
        format!("<Device {} {:?}>", info.id, info.name)
    }
}

#[pyclass(frozen, name = "DeviceBuffer", module = "hypersonic._core")]
pub struct PyDeviceBuffer {
    buffer: DeviceBuffer,
    device: Py<PyDevice>,
    _owner: Option<Py<PyAny>>,
}

fn stream_of(stream: &Option<Py<PyStream>>) -> Option<&Stream> {
    stream.as_ref().map(|s| &s.get().stream)
}

#[pymethods]
impl PyDeviceBuffer {
    #[getter]
    fn address(&self) -> u64 {
        self.buffer.addr()
    }

    #[getter]
    fn nbytes(&self) -> usize {
        self.buffer.size()
    }

    #[getter]
    fn device(&self, py: Python<'_>) -> Py<PyDevice> {
        self.device.clone_ref(py)
    }

    /// Copies the bytes of `src` (a contiguous `uint8` array) to `offset`.
    #[pyo3(signature = (src, offset=0, stream=None))]
    fn copy_from_host(
        &self,
        py: Python<'_>,
        src: &Bound<'_, PyAny>,
        offset: usize,
        stream: Option<Py<PyStream>>,
    ) -> PyResult<()> {
        let (ptr, len, _) = byte_array(py, src)?;
        // SAFETY: `src` is a live contiguous array of `len` bytes for the copy.
        let bytes = unsafe { std::slice::from_raw_parts(ptr as *const u8, len) };
        let device = &self.device.get().device;
        device
            .copy_htod(&self.buffer, offset, bytes, stream_of(&stream))
            .map_err(|e| runtime_error(py, e, None))
    }

    /// Copies `len(dst)` bytes from `offset` into `dst` (a writable contiguous `uint8` array).
    #[pyo3(signature = (dst, offset=0, stream=None))]
    fn copy_to_host(
        &self,
        py: Python<'_>,
        dst: &Bound<'_, PyAny>,
        offset: usize,
        stream: Option<Py<PyStream>>,
    ) -> PyResult<()> {
        let (ptr, len, writeable) = byte_array(py, dst)?;
        if !writeable {
            return Err(PyValueError::new_err("copy_to_host needs a writable array"));
        }
        // SAFETY: `dst` is a live, writable contiguous array of `len` bytes.
        let bytes = unsafe { std::slice::from_raw_parts_mut(ptr, len) };
        let device = &self.device.get().device;
        device
            .copy_dtoh(bytes, &self.buffer, offset, stream_of(&stream))
            .map_err(|e| runtime_error(py, e, None))
    }
}

#[pyclass(frozen, name = "Stream", module = "hypersonic._core")]
pub struct PyStream {
    stream: Stream,
    device: Arc<dyn Device>,
}

#[pymethods]
impl PyStream {
    fn synchronize(&self, py: Python<'_>) -> PyResult<()> {
        self.device
            .stream_synchronize(&self.stream)
            .map_err(|e| runtime_error(py, e, None))
    }
}

#[pyclass(frozen, name = "Event", module = "hypersonic._core")]
pub struct PyEvent {
    event: Event,
    device: Arc<dyn Device>,
}

#[pymethods]
impl PyEvent {
    #[pyo3(signature = (stream=None))]
    fn record(&self, py: Python<'_>, stream: Option<Py<PyStream>>) -> PyResult<()> {
        self.device
            .record_event(&self.event, stream_of(&stream))
            .map_err(|e| runtime_error(py, e, None))
    }

    fn synchronize(&self, py: Python<'_>) -> PyResult<()> {
        self.device
            .event_synchronize(&self.event)
            .map_err(|e| runtime_error(py, e, None))
    }

    /// Makes later work wait for this event. Streams here do not reorder work
    /// across each other's events, so waiting for the event itself is exact.
    #[pyo3(signature = (stream=None))]
    fn wait(&self, py: Python<'_>, stream: Option<Py<PyStream>>) -> PyResult<()> {
        let _ = stream;
        self.synchronize(py)
    }

    fn query(&self, py: Python<'_>) -> PyResult<bool> {
        self.device
            .event_query(&self.event)
            .map_err(|e| runtime_error(py, e, None))
    }

    /// Milliseconds from this event to `end`.
    fn elapsed_ms(&self, py: Python<'_>, end: &Bound<'_, PyEvent>) -> PyResult<f32> {
        self.device
            .event_elapsed_ms(&self.event, &end.get().event)
            .map_err(|e| runtime_error(py, e, None))
    }
}

/// Every device: CUDA GPUs first, then the CPU.
#[pyfunction]
pub fn devices() -> Vec<PyDevice> {
    hypersonic_runtime::devices()
        .into_iter()
        .map(|device| PyDevice { device })
        .collect()
}

/// The device launches use by default: `HYPERSONIC_DEVICE` (`cpu`, `cuda[:N]`,
/// `vulkan[:N]`), else the best present (a CUDA GPU, a Vulkan GPU, the CPU).
#[pyfunction]
pub fn default_device(py: Python<'_>) -> PyResult<PyDevice> {
    hypersonic_runtime::default_device()
        .map(|device| PyDevice { device })
        .map_err(|e| runtime_error(py, e, None))
}

/// Why CUDA is not available, or None when it is.
#[pyfunction]
pub fn cuda_unavailable_reason() -> Option<String> {
    hypersonic_runtime::cuda_unavailable_reason()
}

/// `launch(kernel, device, grid, block, dynamic_shared_bytes, stream, args)`.
/// Array arguments are NumPy arrays (host memory: the CPU device) or
/// `(address, shape, strides)` tuples (device memory).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn launch(
    py: Python<'_>,
    kernel: &Bound<'_, CompiledKernel>,
    device: &Bound<'_, PyDevice>,
    grid: [u32; 3],
    block: [u32; 3],
    dynamic_shared_bytes: u64,
    stream: Option<Py<PyStream>>,
    args: &Bound<'_, PyTuple>,
) -> PyResult<()> {
    let k = kernel.get();
    if args.len() != k.params.len() {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "the kernel takes {} arguments, {} given",
            k.params.len(),
            args.len()
        )));
    }
    let mut slots = Slots::new();
    for (arg, ty) in args.iter().zip(&k.params) {
        pack(&arg, ty, &mut slots)?;
    }
    let config = LaunchConfig {
        grid,
        block,
        dynamic_shared_bytes,
    };
    let device = device.get().device.clone();
    let runtime_kernel = k.runtime.clone();
    let stream_ref = stream.as_ref().map(|s| s.get());
    let result = py.detach(|| {
        // SAFETY: the slots hold the addresses of arrays that `args` keeps alive
        // for the whole call (the launch is synchronous on the CPU; on CUDA the
        // caller keeps device arrays alive), packed for the kernel's parameter types.
        unsafe {
            device.launch(
                &runtime_kernel,
                &config,
                &slots,
                stream_ref.map(|s| &s.stream),
            )
        }
    });
    result.map_err(|e| runtime_error(py, e, Some(k)))
}
