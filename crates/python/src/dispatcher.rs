//! The call path of `@njit` functions: argument kinds → cached specialization →
//! native call, without touching Python code in the steady state.

use std::sync::{Arc, RwLock};

use numpy::npyffi;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use crate::marshal::array_view;
use crate::specialization::{CompiledFunction, Specialization};

/// One code per argument (tuples add one per item): what decides the specialization.
type Key = SmallVec<[u32; 8]>;

const BOOL: u32 = 1;
const INT: u32 = 2;
const FLOAT: u32 = 3;
const COMPLEX: u32 = 4;
const NONE: u32 = 5;
const TUPLE: u32 = 0x2000_0000;
const NUMPY_SCALAR: u32 = 0x4000_0000;
const ARRAY: u32 = 0x8000_0000;

/// Appends the key codes of `obj`; false when the fast path does not know it
/// (big integers, buffer objects...), which then goes through Python.
fn push_key(py: Python<'_>, obj: &Bound<'_, PyAny>, key: &mut Key) -> bool {
    let ptr = obj.as_ptr();
    // SAFETY: exact type checks on a live object.
    unsafe {
        if ffi::PyFloat_CheckExact(ptr) != 0 {
            key.push(FLOAT);
            return true;
        }
        if ffi::PyLong_CheckExact(ptr) != 0 {
            let mut overflow = 0;
            ffi::PyLong_AsLongLongAndOverflow(ptr, &mut overflow);
            // Integers beyond int64 are typed uint64 (or refused) by Python's typeof.
            key.push(INT);
            return overflow == 0;
        }
        if ffi::PyBool_Check(ptr) != 0 {
            key.push(BOOL);
            return true;
        }
        if ptr == ffi::Py_None() {
            key.push(NONE);
            return true;
        }
        if ffi::PyComplex_CheckExact(ptr) != 0 {
            key.push(COMPLEX);
            return true;
        }
    }
    if let Some(view) = array_view(py, obj) {
        let layout = view.layout as u32;
        key.push(ARRAY | (view.dtype as u32) << 16 | (view.ndim as u32) << 8 | layout);
        return true;
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        key.push(TUPLE | t.len() as u32);
        return t.iter().all(|item| push_key(py, &item, key));
    }
    // SAFETY: PyArray_IsAnyScalar-like check through NumPy's generic type.
    let generic = unsafe {
        let api = npyffi::PY_ARRAY_API.get_type_object(py, npyffi::NpyTypes::PyGenericArrType_Type);
        ffi::PyObject_TypeCheck(ptr, api) != 0
    };
    if generic {
        if let Ok(dtype) = obj.getattr("dtype") {
            if let Ok(num) = dtype.getattr("num").and_then(|n| n.extract::<i32>()) {
                if let Some(s) = crate::marshal::scalar_of_typenum(num) {
                    key.push(NUMPY_SCALAR | s as u32);
                    return true;
                }
            }
        }
    }
    false
}

/// Base class of `hypersonic.dispatcher.Dispatcher`, which supplies
/// `_compile_for(args)` (a cache miss) and `_call_slow(args, kwargs)`.
#[pyclass(frozen, subclass, module = "hypersonic._core")]
pub struct Dispatcher {
    cache: RwLock<FxHashMap<Key, Arc<Specialization>>>,
}

impl Dispatcher {
    fn lookup(&self, key: &Key) -> Option<Arc<Specialization>> {
        self.cache.read().ok()?.get(key).cloned()
    }

    /// Calls with arguments the fast path recognises; on a miss asks Python to
    /// compile (or choose) a specialization and remembers it for this key.
    fn call_with_key(
        slf: &Bound<'_, Self>,
        key: Key,
        args: &Bound<'_, PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        if let Some(spec) = slf.get().lookup(&key) {
            return spec.call(py, args);
        }
        let compiled = slf.call_method1("_compile_for", (args,))?;
        let spec = compiled.cast::<CompiledFunction>()?.get().spec.clone();
        if let Ok(mut cache) = slf.get().cache.write() {
            cache.insert(key, spec.clone());
        }
        spec.call(py, args)
    }
}

#[pymethods]
impl Dispatcher {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        Dispatcher {
            cache: RwLock::new(FxHashMap::default()),
        }
    }

    #[pyo3(signature = (*args, **kwargs))]
    fn __call__(
        slf: &Bound<'_, Self>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        if kwargs.is_some_and(|k| !k.is_empty()) {
            return slf
                .call_method1("_call_slow", (args, kwargs))
                .map(Bound::unbind);
        }
        let mut key = Key::new();
        if args.iter().all(|a| push_key(py, &a, &mut key)) {
            return Self::call_with_key(slf, key, args);
        }
        slf.call_method1("_call_slow", (args, py.None()))
            .map(Bound::unbind)
    }

    /// Calls with arguments `_call_slow` has normalised; never re-enters it.
    fn _call_converted(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let mut key = Key::new();
        if args.iter().all(|a| push_key(py, &a, &mut key)) {
            return Self::call_with_key(slf, key, args);
        }
        // Still unknown to the fast path (e.g. an int beyond int64): no caching.
        let compiled = slf.call_method1("_compile_for", (args,))?;
        compiled
            .cast::<CompiledFunction>()?
            .get()
            .spec
            .call(py, args)
    }

    /// Forgets which specialization each argument kind maps to.
    fn _clear_cache(&self) {
        if let Ok(mut c) = self.cache.write() {
            c.clear();
        }
    }
}
