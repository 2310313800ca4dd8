//! `@cuda.jit` kernels: compiling them (`compile_kernel`, `compile_ptx`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Arc;

use hypersonic_frontend::FunctionKind;
use hypersonic_ir::{Module, Type};
use hypersonic_llvm::ptx::{compile_ptx_timed, PtxOptions};
use hypersonic_llvm::HostOptions;
use hypersonic_runtime::Kernel;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{internal_error, log_enabled, panic_text};
use crate::front::{exception_classes, run_front_end, Flags};
use crate::specialization::type_text;

/// A kernel compiled by the front end for some argument types; each device
/// compiles its own code from it when it first launches it.
#[pyclass(frozen, module = "hypersonic._core")]
pub struct CompiledKernel {
    pub module: Arc<Module>,
    /// The runtime's kernel: compiles and caches each device's code on first launch.
    pub runtime: Arc<Kernel>,
    pub params: Vec<Type>,
    pub fastmath: bool,
    pub exceptions: Vec<(Py<PyAny>, String)>,
    annotated_source: String,
    ir_text: String,
    _keepalive: Vec<Py<PyAny>>,
}

#[pymethods]
impl CompiledKernel {
    #[getter]
    fn arg_types(&self) -> Vec<String> {
        self.params.iter().map(type_text).collect()
    }

    #[getter]
    fn annotated_source(&self) -> &str {
        &self.annotated_source
    }

    #[getter]
    fn ir(&self) -> &str {
        &self.ir_text
    }

    /// The SPIR-V words for a Vulkan device with `subgroup_size` lanes (and
    /// float64), as bytes; `spirv-dis` reads them.
    #[pyo3(signature = (subgroup_size=32, float64=true))]
    fn spirv<'py>(
        &self,
        py: Python<'py>,
        subgroup_size: u32,
        float64: bool,
    ) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
        let opts = hypersonic_spirv::SpirvOptions {
            subgroup_size,
            float64,
            fastmath: self.fastmath,
            ..hypersonic_spirv::SpirvOptions::default()
        };
        let module = self
            .runtime
            .spirv(&opts)
            .map_err(|e| crate::devices::runtime_error(py, e, None))?;
        let bytes: Vec<u8> = module.words.iter().flat_map(|w| w.to_le_bytes()).collect();
        Ok(pyo3::types::PyBytes::new(py, &bytes))
    }

    /// The CPU fallback's block function: optimised LLVM IR, host assembly,
    /// or (`what="plan"`) what the barrier-fission planner decided.
    #[pyo3(signature = (what="llvm"))]
    fn cpu_code(&self, py: Python<'_>, what: &str) -> PyResult<String> {
        let image = self
            .runtime
            .cpu_image()
            .map_err(|e| crate::devices::runtime_error(py, e, None))?;
        match what {
            "llvm" => Ok(image.llvm_ir()),
            "asm" => Ok(image.asm()),
            "plan" => Ok(image.plan_summary()),
            _ => Err(pyo3::exceptions::PyValueError::new_err(format!(
                "cpu_code(what=...) is 'llvm', 'asm' or 'plan', not {what:?}"
            ))),
        }
    }

    /// PTX for compute capability `cc`.
    fn ptx(&self, py: Python<'_>, cc: (u32, u32)) -> PyResult<String> {
        ptx_text(py, &self.module, cc, self.fastmath, false)
    }
}

/// Where NVIDIA's Python wheels may hold `libdevice.10.bc`: Python's `sys.path`.
fn python_search_path(py: Python<'_>) -> Vec<PathBuf> {
    py.import("sys")
        .and_then(|sys| sys.getattr("path"))
        .and_then(|p| p.extract::<Vec<String>>())
        .map(|v| v.into_iter().map(PathBuf::from).collect())
        .unwrap_or_default()
}

pub fn ptx_text(
    py: Python<'_>,
    module: &Module,
    cc: (u32, u32),
    fastmath: bool,
    device: bool,
) -> PyResult<String> {
    let opts = PtxOptions {
        cc,
        fastmath,
        libdevice_search: python_search_path(py),
        ..PtxOptions::default()
    };
    let (ptx, times) = catch_unwind(AssertUnwindSafe(|| {
        compile_ptx_timed(module, &opts, device)
    }))
    .map_err(|p| internal_error(py, &format!("the PTX backend panicked: {}", panic_text(p))))?
    .map_err(|e| internal_error(py, &e.to_string()))?;
    if log_enabled() {
        eprintln!("[hypersonic] PTX of {}: {times}", ptx.entry_name);
    }
    Ok(ptx.text)
}

/// `compile_kernel(source_info, arg_types, options)`.
#[pyfunction]
pub fn compile_kernel(
    py: Python<'_>,
    source_info: &Bound<'_, PyAny>,
    arg_types: Vec<String>,
    options: &Bound<'_, PyDict>,
) -> PyResult<CompiledKernel> {
    let flags = Flags(options);
    let out = run_front_end(
        py,
        source_info,
        &arg_types,
        None,
        &flags,
        FunctionKind::Kernel,
    )?;
    let fastmath = flags.get("fastmath")?;
    let module = Arc::new(out.compiled.module);
    let runtime = Kernel::with_options(
        module.clone(),
        HostOptions {
            opt_level: 3,
            fastmath,
        },
        PtxOptions {
            fastmath,
            libdevice_search: python_search_path(py),
            ..PtxOptions::default()
        },
    );
    let ir_text = hypersonic_ir::printer::print_module(&module);
    Ok(CompiledKernel {
        exceptions: exception_classes(py, &module)?,
        runtime: Arc::new(runtime),
        module,
        params: out.params,
        fastmath,
        annotated_source: out.compiled.annotated_source,
        ir_text,
        _keepalive: out.keepalive,
    })
}

/// `compile_ptx(source_info, arg_types, ret_type, cc, options)` → `(ptx, return type)`:
/// Numba's `cuda.compile_ptx`, with no GPU and no NVRTC.
#[pyfunction]
#[pyo3(signature = (source_info, arg_types, ret_type, cc, options))]
pub fn compile_ptx(
    py: Python<'_>,
    source_info: &Bound<'_, PyAny>,
    arg_types: Vec<String>,
    ret_type: Option<String>,
    cc: (u32, u32),
    options: &Bound<'_, PyDict>,
) -> PyResult<(String, String)> {
    let flags = Flags(options);
    let device = flags.get("device")?;
    let kind = if device {
        FunctionKind::Device
    } else {
        FunctionKind::Kernel
    };
    let out = run_front_end(
        py,
        source_info,
        &arg_types,
        ret_type.as_deref(),
        &flags,
        kind,
    )?;
    let text = ptx_text(py, &out.compiled.module, cc, flags.get("fastmath")?, device)?;
    Ok((text, type_text(&out.compiled.ret)))
}
