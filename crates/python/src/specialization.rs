//! One compiled specialization: native code for one list of argument types,
//! and `_core.compile`, which makes it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use hypersonic_frontend::FunctionKind;
use hypersonic_ir::{abi, abi::HostEntry, Type};
use hypersonic_llvm::{HostModule, HostOptions};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::errors::{internal_error, log_enabled, panic_text, typing_error};
use crate::front::{exception_classes, raised, run_front_end, Flags};
use crate::marshal::{pack, unpack, Slots};

pub struct Specialization {
    pub params: Vec<Type>,
    pub ret: Type,
    entry: HostEntry,
    ret_slots: usize,
    nogil: bool,
    /// `(exception class, message)` for status `k + 1`.
    exceptions: Vec<(Py<PyAny>, String)>,
    /// The native code; `entry` points into it.
    host: HostModule,
    annotated_source: String,
    ir_text: String,
    frontend_time: std::time::Duration,
    /// Python objects the code points into (captured global arrays).
    _keepalive: Vec<Py<PyAny>>,
}

impl Specialization {
    /// Packs `args`, runs the native code and converts the result.
    pub fn call(&self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        if args.len() != self.params.len() {
            return Err(PyTypeError::new_err(format!(
                "the compiled function takes {} arguments, {} given",
                self.params.len(),
                args.len()
            )));
        }
        let mut slots = Slots::new();
        for (arg, ty) in args.iter().zip(&self.params) {
            pack(&arg, ty, &mut slots)?;
        }
        let mut ret: Slots = smallvec::smallvec![0u64; self.ret_slots.max(1)];
        let entry = self.entry;
        let (args_ptr, ret_ptr) = (slots.as_ptr() as usize, ret.as_mut_ptr() as usize);
        // SAFETY: the slots follow the ABI the entry was compiled for, and the
        // arrays they point to are kept alive by `args` for the whole call.
        let run = move || unsafe { entry(args_ptr as *const u64, ret_ptr as *mut u64) };
        let status = if self.nogil { py.detach(run) } else { run() };
        if status != 0 {
            return Err(self.exception(py, status));
        }
        let mut pos = 0;
        unpack(py, &self.ret, &ret, &mut pos)
    }

    fn exception(&self, py: Python<'_>, status: u32) -> PyErr {
        raised(py, &self.exceptions, status)
    }
}

/// What Python sees of a specialization.
#[pyclass(frozen, module = "hypersonic._core")]
pub struct CompiledFunction {
    pub spec: Arc<Specialization>,
}

#[pymethods]
impl CompiledFunction {
    #[pyo3(signature = (*args))]
    fn __call__(&self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        self.spec.call(py, args)
    }

    #[getter]
    fn ret_type(&self) -> String {
        type_text(&self.spec.ret)
    }

    #[getter]
    fn arg_types(&self) -> Vec<String> {
        self.spec.params.iter().map(type_text).collect()
    }

    #[getter]
    fn annotated_source(&self) -> &str {
        &self.spec.annotated_source
    }

    /// Hypersonic's typed IR.
    #[getter]
    fn ir(&self) -> &str {
        &self.spec.ir_text
    }

    fn llvm_ir(&self) -> String {
        self.spec.host.llvm_ir()
    }

    fn asm(&self) -> String {
        self.spec.host.asm()
    }

    /// Seconds spent in each compiler stage: `(front end, LLVM codegen,
    /// LLVM optimisation, native code generation)`.
    #[getter]
    fn compile_times(&self) -> (f64, f64, f64, f64) {
        let t = self.spec.host.compile_times();
        (
            self.spec.frontend_time.as_secs_f64(),
            t.codegen.as_secs_f64(),
            t.optimize.as_secs_f64(),
            t.jit.as_secs_f64(),
        )
    }

    /// The address of the native entry point (for ctypes and tests).
    #[getter]
    fn address(&self) -> usize {
        self.spec.entry as usize
    }
}

/// Type text that `type_text::parse_type` and `hypersonic.types.parse_type` read back.
pub fn type_text(t: &Type) -> String {
    match t {
        Type::Tuple(items) => format!(
            "Tuple({})",
            items.iter().map(type_text).collect::<Vec<_>>().join(", ")
        ),
        t => t.to_string(),
    }
}

/// `compile(source_info, arg_types, ret_type, options)`: compiles one host
/// specialization. `source_info` comes from `hypersonic._resolve.source_info`,
/// types are type strings, `options` a dict (`fastmath`, `boundscheck`,
/// `error_model`, `nogil`).
#[pyfunction]
#[pyo3(signature = (source_info, arg_types, ret_type, options))]
pub fn compile(
    py: Python<'_>,
    source_info: &Bound<'_, PyAny>,
    arg_types: Vec<String>,
    ret_type: Option<String>,
    options: &Bound<'_, PyDict>,
) -> PyResult<CompiledFunction> {
    let flags = Flags(options);
    let out = run_front_end(
        py,
        source_info,
        &arg_types,
        ret_type.as_deref(),
        &flags,
        FunctionKind::Host,
    )?;
    let ret = out.compiled.ret.clone();
    if contains_array(&ret) {
        return Err(typing_error(
            py,
            format!(
                "{} returns an array ({ret}), which compiled functions cannot return yet; write the result into an array argument instead",
                out.name
            ),
        ));
    }
    let host_opts = HostOptions {
        opt_level: 3,
        fastmath: flags.get("fastmath")?,
    };
    let host = catch_unwind(AssertUnwindSafe(|| {
        HostModule::compile(&out.compiled.module, &host_opts)
    }))
    .map_err(|p| internal_error(py, &format!("the LLVM backend panicked: {}", panic_text(p))))?
    .map_err(|e| internal_error(py, &e.to_string()))?;
    if log_enabled() {
        eprintln!("[hypersonic] LLVM IR of {}:\n{}", out.name, host.llvm_ir());
    }
    let spec = Specialization {
        ret_slots: abi::slots(&ret),
        ret,
        params: out.params,
        entry: host.entry(),
        nogil: flags.get("nogil")?,
        exceptions: exception_classes(py, &out.compiled.module)?,
        host,
        annotated_source: out.compiled.annotated_source,
        ir_text: hypersonic_ir::printer::print_module(&out.compiled.module),
        frontend_time: out.time,
        _keepalive: out.keepalive,
    };
    Ok(CompiledFunction {
        spec: Arc::new(spec),
    })
}

fn contains_array(t: &Type) -> bool {
    match t {
        Type::Array { .. } => true,
        Type::Tuple(items) => items.iter().any(contains_array),
        _ => false,
    }
}
