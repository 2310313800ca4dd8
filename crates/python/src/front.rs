//! The part of every compile that is the same for host functions and kernels:
//! reading the request from Python, running the front end, and turning its
//! diagnostics (and any panic) into Python exceptions.

use std::panic::{catch_unwind, AssertUnwindSafe};

use hypersonic_frontend::{Compiled, DiagnosticKind, ErrorModel, FunctionKind, Options};
use hypersonic_ir::{Module, Type};
use pyo3::exceptions::{PySyntaxError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::environment::{source_function, PyEnvironment};
use crate::errors::{internal_error, log_enabled, panic_text, typing_error};
use crate::type_text::parse_type;

/// The options dict every compile takes (`fastmath`, `boundscheck`,
/// `error_model`, `nogil`, ...): a missing key is false.
pub struct Flags<'a, 'py>(pub &'a Bound<'py, PyDict>);

impl Flags<'_, '_> {
    pub fn get(&self, key: &str) -> PyResult<bool> {
        Ok(match self.0.get_item(key)? {
            Some(v) => v.is_truthy()?,
            None => false,
        })
    }

    fn error_model(&self) -> PyResult<ErrorModel> {
        Ok(match self.0.get_item("error_model")? {
            Some(v) if v.extract::<String>()? == "numpy" => ErrorModel::Numpy,
            _ => ErrorModel::Python,
        })
    }
}

/// A front-end result with what the Python side must keep.
pub struct FrontEndOutput {
    pub name: String,
    pub params: Vec<Type>,
    pub compiled: Compiled,
    /// Python objects the code points into (captured global arrays).
    pub keepalive: Vec<Py<PyAny>>,
    pub time: std::time::Duration,
}

pub fn parse_types(texts: &[String]) -> PyResult<Vec<Type>> {
    texts
        .iter()
        .map(|t| parse_type(t).map_err(PyTypeError::new_err))
        .collect()
}

pub fn run_front_end(
    py: Python<'_>,
    source_info: &Bound<'_, PyAny>,
    arg_types: &[String],
    ret_type: Option<&str>,
    flags: &Flags<'_, '_>,
    kind: FunctionKind,
) -> PyResult<FrontEndOutput> {
    let func = source_function(source_info)?;
    let params = parse_types(arg_types)?;
    let declared_ret = ret_type
        .map(|t| parse_type(t).map_err(PyTypeError::new_err))
        .transpose()?;
    let options = Options {
        kind,
        error_model: flags.error_model()?,
        boundscheck: flags.get("boundscheck")?,
    };
    let env = PyEnvironment::new(py)?;
    let started = std::time::Instant::now();
    let compiled = catch_unwind(AssertUnwindSafe(|| {
        hypersonic_frontend::compile(&func, &params, declared_ret.as_ref(), &env, &options)
    }))
    .map_err(|p| internal_error(py, &format!("the front end panicked: {}", panic_text(p))))?
    .map_err(|d| match d.kind {
        DiagnosticKind::Syntax => PySyntaxError::new_err(d.rendered),
        _ => typing_error(py, d.rendered),
    })?;
    let time = started.elapsed();
    if log_enabled() {
        let ir_text = hypersonic_ir::printer::print_module(&compiled.module);
        eprintln!(
            "[hypersonic] typed IR of {} (front end {:.2} ms):\n{ir_text}",
            func.name,
            time.as_secs_f64() * 1e3
        );
    }
    Ok(FrontEndOutput {
        name: func.name,
        params,
        compiled,
        keepalive: env.keepalive.into_inner(),
        time,
    })
}

/// Python exception classes for a module's exception table, by status - 1.
pub fn exception_classes(py: Python<'_>, module: &Module) -> PyResult<Vec<(Py<PyAny>, String)>> {
    let builtins = py.import("builtins")?;
    module
        .exceptions
        .iter()
        .map(|e| {
            let class = match builtins.getattr(e.class.as_str()) {
                Ok(c) => c,
                Err(_) => builtins.getattr("RuntimeError")?,
            };
            Ok((class.unbind(), e.message.clone()))
        })
        .collect()
}

/// The exception for status `status` (`k + 1` means `exceptions[k]`).
pub fn raised(py: Python<'_>, exceptions: &[(Py<PyAny>, String)], status: u32) -> PyErr {
    match exceptions.get(status as usize - 1) {
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
        None => pyo3::exceptions::PyRuntimeError::new_err(format!(
            "compiled code failed with unknown status {status}"
        )),
    }
}
