//! The front end's [`Environment`], answered by `hypersonic._resolve` in Python.

use std::cell::RefCell;

use hypersonic_frontend::{ConstValue, Environment, Global, SourceFunction};
use hypersonic_ir::{Layout, Scalar};
use pyo3::prelude::*;
use pyo3::types::{PyComplex, PyTuple};

/// Resolves names by calling `hypersonic._resolve.resolve(key, name)`, and keeps
/// alive every Python object that compiled code will point into (global arrays).
pub struct PyEnvironment<'py> {
    resolve: Bound<'py, PyAny>,
    pub keepalive: RefCell<Vec<Py<PyAny>>>,
}

impl<'py> PyEnvironment<'py> {
    pub fn new(py: Python<'py>) -> PyResult<Self> {
        Ok(PyEnvironment {
            resolve: py.import("hypersonic._resolve")?.getattr("resolve")?,
            keepalive: RefCell::new(Vec::new()),
        })
    }

    fn describe(&self, func: &SourceFunction, name: &str) -> PyResult<Option<Global>> {
        let answer = self.resolve.call1((func.key, name))?;
        if answer.is_none() {
            return Ok(None);
        }
        global_from(&answer, &self.keepalive).map(Some)
    }
}

impl Environment for PyEnvironment<'_> {
    fn array_bytes(&self, data: u64, nbytes: usize) -> Option<Vec<u8>> {
        if self.keepalive.borrow().is_empty() || data == 0 {
            return None;
        }
        // SAFETY: the front end only asks for the span of a global NumPy array
        // that `resolve` returned; that array is held in `keepalive` (and by the
        // function's globals), so its buffer is alive and at least this long.
        Some(unsafe { std::slice::from_raw_parts(data as *const u8, nbytes) }.to_vec())
    }

    fn resolve(&self, func: &SourceFunction, name: &str) -> Option<Global> {
        match self.describe(func, name) {
            Ok(g) => g,
            Err(e) => Some(Global::Unsupported(format!(
                "something Hypersonic could not inspect ({e})"
            ))),
        }
    }
}

/// `(key, name, filename, first_line, col_offset, source)` from `_resolve.source_info`.
pub fn source_function(info: &Bound<'_, PyAny>) -> PyResult<SourceFunction> {
    let (key, name, filename, first_line, col_offset, source): (
        u64,
        String,
        String,
        u32,
        u32,
        String,
    ) = info.extract()?;
    Ok(SourceFunction {
        key,
        name,
        filename,
        first_line,
        col_offset,
        source,
    })
}

fn global_from(d: &Bound<'_, PyAny>, keepalive: &RefCell<Vec<Py<PyAny>>>) -> PyResult<Global> {
    let d = d.cast::<PyTuple>()?;
    let kind: String = d.get_item(0)?.extract()?;
    let arg = d.get_item(1)?;
    Ok(match kind.as_str() {
        "module" => Global::Module(arg.extract()?),
        "builtin" => Global::Builtin(arg.extract()?),
        "exception" => Global::Exception(arg.extract()?),
        "unsupported" => Global::Unsupported(arg.extract()?),
        "function" => Global::Function(source_function(&arg)?),
        "const" => match const_from(&arg)? {
            Some(c) => Global::Const(c),
            None => Global::Unsupported(format!("the constant {arg}")),
        },
        "array" => {
            let dtype: String = d.get_item(2)?.extract()?;
            let layout: String = d.get_item(3)?.extract()?;
            keepalive.borrow_mut().push(arg.unbind());
            Global::Array {
                dtype: Scalar::from_name(&dtype).unwrap_or(Scalar::F64),
                layout: match layout.as_str() {
                    "C" => Layout::C,
                    "F" => Layout::F,
                    _ => Layout::A,
                },
                data: d.get_item(4)?.extract()?,
                shape: d.get_item(5)?.extract()?,
                strides: d.get_item(6)?.extract()?,
            }
        }
        other => Global::Unsupported(format!("an object the resolver called {other:?}")),
    })
}

fn const_from(v: &Bound<'_, PyAny>) -> PyResult<Option<ConstValue>> {
    Ok(Some(if v.is_none() {
        ConstValue::None
    } else if let Ok(b) = v.cast::<pyo3::types::PyBool>() {
        ConstValue::Bool(b.is_true())
    } else if let Ok(i) = v.extract::<i64>() {
        if v.is_instance_of::<pyo3::types::PyFloat>() {
            ConstValue::Float(v.extract()?)
        } else {
            ConstValue::Int(i)
        }
    } else if let Ok(u) = v.extract::<u64>() {
        ConstValue::Int(u as i64)
    } else if let Ok(f) = v.extract::<f64>() {
        ConstValue::Float(f)
    } else if let Ok(c) = v.cast::<PyComplex>() {
        ConstValue::Complex(c.real(), c.imag())
    } else if let Ok(t) = v.cast::<PyTuple>() {
        let mut items = Vec::with_capacity(t.len());
        for item in t.iter() {
            match const_from(&item)? {
                Some(c) => items.push(c),
                None => return Ok(None),
            }
        }
        ConstValue::Tuple(items)
    } else {
        return Ok(None);
    }))
}
