//! One compiled specialization: native code for one list of argument types,
//! and `_core.compile`, which makes it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use hypersonic_frontend::{DiagnosticKind, ErrorModel, Options};
use hypersonic_ir::{abi, abi::HostEntry, Type};
use hypersonic_llvm::{HostModule, HostOptions};
use pyo3::exceptions::{PyRuntimeError, PySyntaxError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::environment::{source_function, PyEnvironment};
use crate::marshal::{pack, unpack, Slots};
use crate::type_text::parse_type;

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
        match self.exceptions.get(status as usize - 1) {
            Some((class, message)) => {
                let class = class.bind(py);
                let err = if message.is_empty() {
                    class.call0()
                } else {
                    class.call1((message.as_str(),))
                };
                match err {
                    Ok(e) => PyErr::from_value(e),
                    Err(e) => e,
                }
            }
            None => PyRuntimeError::new_err(format!(
                "compiled code failed with unknown status {status}"
            )),
        }
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

fn typing_error(py: Python<'_>, message: String) -> PyErr {
    match py
        .import("hypersonic.errors")
        .and_then(|m| m.getattr("TypingError"))
    {
        Ok(cls) => PyErr::from_type(cls.cast_into().expect("TypingError is a type"), message),
        Err(e) => e,
    }
}

fn internal_error(py: Python<'_>, what: &str) -> PyErr {
    let message = format!(
        "internal compiler error: {what}. This is a bug in Hypersonic; please report it with the function that caused it"
    );
    match py
        .import("hypersonic.errors")
        .and_then(|m| m.getattr("InternalCompilerError"))
    {
        Ok(cls) => PyErr::from_type(cls.cast_into().expect("a type"), message),
        Err(e) => e,
    }
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

fn log_enabled() -> bool {
    std::env::var("HYPERSONIC_LOG").is_ok_and(|v| v == "debug" || v == "1")
}

/// `compile(source_info, arg_types, ret_type, options)`: compiles one
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
    let func = source_function(source_info)?;
    let params = arg_types
        .iter()
        .map(|t| parse_type(t).map_err(PyTypeError::new_err))
        .collect::<PyResult<Vec<_>>>()?;
    let declared_ret = ret_type
        .as_deref()
        .map(|t| parse_type(t).map_err(PyTypeError::new_err))
        .transpose()?;
    let flag = |k: &str| -> PyResult<bool> {
        Ok(match options.get_item(k)? {
            Some(v) => v.is_truthy()?,
            None => false,
        })
    };
    let error_model = match options.get_item("error_model")? {
        Some(v) if v.extract::<String>()? == "numpy" => ErrorModel::Numpy,
        _ => ErrorModel::Python,
    };
    let fe_opts = Options {
        kind: hypersonic_frontend::FunctionKind::Host,
        error_model,
        boundscheck: flag("boundscheck")?,
    };
    let host_opts = HostOptions {
        opt_level: 3,
        fastmath: flag("fastmath")?,
    };
    let nogil = flag("nogil")?;

    let env = PyEnvironment::new(py)?;
    let started = std::time::Instant::now();
    let compiled = catch_unwind(AssertUnwindSafe(|| {
        hypersonic_frontend::compile(&func, &params, declared_ret.as_ref(), &env, &fe_opts)
    }))
    .map_err(|p| internal_error(py, &format!("the front end panicked: {}", panic_text(p))))?;
    let compiled = compiled.map_err(|d| match d.kind {
        DiagnosticKind::Syntax => PySyntaxError::new_err(d.rendered),
        _ => typing_error(py, d.rendered),
    })?;
    if contains_array(&compiled.ret) {
        return Err(typing_error(
            py,
            format!(
                "{} returns an array ({}), which compiled functions cannot return yet; write the result into an array argument instead",
                func.name, compiled.ret
            ),
        ));
    }
    let frontend_time = started.elapsed();
    let ir_text = hypersonic_ir::printer::print_module(&compiled.module);
    if log_enabled() {
        eprintln!("[hypersonic] typed IR of {}:\n{ir_text}", func.name);
    }
    let host = catch_unwind(AssertUnwindSafe(|| {
        HostModule::compile(&compiled.module, &host_opts)
    }))
    .map_err(|p| internal_error(py, &format!("the LLVM backend panicked: {}", panic_text(p))))?
    .map_err(|e| internal_error(py, &e.to_string()))?;
    if log_enabled() {
        eprintln!("[hypersonic] LLVM IR of {}:\n{}", func.name, host.llvm_ir());
    }
    let builtins = py.import("builtins")?;
    let exceptions = compiled
        .module
        .exceptions
        .iter()
        .map(|e| {
            let class = builtins.getattr(e.class.as_str()).unwrap_or_else(|_| {
                builtins
                    .getattr("RuntimeError")
                    .expect("RuntimeError exists")
            });
            (class.unbind(), e.message.clone())
        })
        .collect();
    let spec = Specialization {
        ret_slots: abi::slots(&compiled.ret),
        ret: compiled.ret,
        params,
        entry: host.entry(),
        nogil,
        exceptions,
        host,
        annotated_source: compiled.annotated_source,
        ir_text,
        frontend_time,
        _keepalive: env.keepalive.into_inner(),
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
