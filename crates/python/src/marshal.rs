//! Python objects ⇄ the 8-byte slot ABI of `hypersonic_ir::abi`.
//!
//! This is the hot path of every call: it reads NumPy arrays' headers directly
//! and never allocates for the common argument lists.

use std::os::raw::c_int;

use hypersonic_ir::{Layout, Scalar, Type};
use numpy::npyffi::{self, PyArrayObject};
use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use smallvec::SmallVec;

pub type Slots = SmallVec<[u64; 24]>;

/// NumPy's type numbers on a platform where `long` is 64 bits (Linux, macOS).
pub fn scalar_of_typenum(n: c_int) -> Option<Scalar> {
    Some(match n {
        0 => Scalar::Bool,
        1 => Scalar::I8,
        2 => Scalar::U8,
        3 => Scalar::I16,
        4 => Scalar::U16,
        5 => Scalar::I32,
        6 => Scalar::U32,
        7 | 9 => Scalar::I64,
        8 | 10 => Scalar::U64,
        11 => Scalar::F32,
        12 => Scalar::F64,
        14 => Scalar::C64,
        15 => Scalar::C128,
        _ => return None,
    })
}

/// The header of a NumPy array argument, if `obj` is an array of a dtype we
/// support in native byte order.
pub struct ArrayView {
    pub dtype: Scalar,
    pub ndim: usize,
    pub layout: Layout,
    raw: *mut PyArrayObject,
}

pub fn array_view(py: Python<'_>, obj: &Bound<'_, PyAny>) -> Option<ArrayView> {
    let ptr = obj.as_ptr();
    // SAFETY: PyArray_Check only reads the type of a live object.
    if unsafe { npyffi::array::PyArray_Check(py, ptr) } == 0 {
        return None;
    }
    let raw = ptr as *mut PyArrayObject;
    // SAFETY: `raw` is an ndarray, so its header and descriptor are valid.
    unsafe {
        let descr = (*raw).descr;
        if (*descr).byteorder as u8 == b'>' {
            return None;
        }
        let dtype = scalar_of_typenum((*descr).type_num)?;
        let flags = (*raw).flags;
        let layout = if flags & npyffi::NPY_ARRAY_C_CONTIGUOUS != 0 {
            Layout::C
        } else if flags & npyffi::NPY_ARRAY_F_CONTIGUOUS != 0 {
            Layout::F
        } else {
            Layout::A
        };
        Some(ArrayView {
            dtype,
            ndim: (*raw).nd as usize,
            layout,
            raw,
        })
    }
}

/// The bytes of a C-contiguous `uint8` NumPy array: `(address, length, writeable)`.
pub fn byte_array(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<(*mut u8, usize, bool)> {
    let view = array_view(py, obj)
        .filter(|v| v.dtype == Scalar::U8 && v.layout == Layout::C)
        .ok_or_else(|| PyTypeError::new_err("expected a contiguous uint8 NumPy array"))?;
    // SAFETY: `view.raw` is a live ndarray; `nd` bounds `dimensions`.
    unsafe {
        let len = (0..view.ndim)
            .map(|k| *(*view.raw).dimensions.add(k) as usize)
            .product();
        let writeable = (*view.raw).flags & npyffi::NPY_ARRAY_WRITEABLE != 0;
        Ok(((*view.raw).data as *mut u8, len, writeable))
    }
}

impl ArrayView {
    fn push_slots(&self, out: &mut Slots) {
        // SAFETY: the array is alive for the duration of the call (the argument
        // tuple holds it) and `nd` bounds both arrays.
        unsafe {
            out.push((*self.raw).data as u64);
            for k in 0..self.ndim {
                out.push(*(*self.raw).dimensions.add(k) as u64);
            }
            for k in 0..self.ndim {
                out.push(*(*self.raw).strides.add(k) as u64);
            }
        }
    }
}

fn mismatch(obj: &Bound<'_, PyAny>, ty: &Type) -> PyErr {
    let tname = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into());
    PyTypeError::new_err(format!(
        "cannot pass a {tname} where the compiled code expects {ty}"
    ))
}

/// The low 64 bits of a Python integer, wrapping as a C cast would.
fn int_bits(obj: &Bound<'_, PyAny>) -> PyResult<u64> {
    // SAFETY: obj is a live object; the mask variant never overflows.
    let v = unsafe { ffi::PyLong_AsUnsignedLongLongMask(obj.as_ptr()) };
    if v == u64::MAX {
        if let Some(e) = PyErr::take(obj.py()) {
            return Err(e);
        }
    }
    Ok(v)
}

/// Appends the slots of `obj` converted to `ty`.
pub fn pack(obj: &Bound<'_, PyAny>, ty: &Type, out: &mut Slots) -> PyResult<()> {
    let py = obj.py();
    match ty {
        Type::Scalar(s) => pack_scalar(obj, *s, out),
        Type::None => Ok(()),
        Type::Array {
            dtype,
            ndim,
            layout,
            ..
        } => {
            if let Ok(t) = obj.cast::<PyTuple>() {
                return pack_device_array(t, *ndim as usize, ty, out);
            }
            let view = array_view(py, obj).ok_or_else(|| mismatch(obj, ty))?;
            let layout_ok = match layout {
                Layout::A => true,
                Layout::C => view.layout == Layout::C || view.ndim <= 1 && view.layout != Layout::A,
                Layout::F => {
                    view.layout != Layout::A && (view.layout == Layout::F || view.ndim <= 1)
                }
            };
            if view.dtype != *dtype || view.ndim != *ndim as usize || !layout_ok {
                return Err(mismatch(obj, ty));
            }
            view.push_slots(out);
            Ok(())
        }
        Type::Tuple(items) => {
            let t = obj.cast::<PyTuple>().map_err(|_| mismatch(obj, ty))?;
            if t.len() != items.len() {
                return Err(mismatch(obj, ty));
            }
            for (item, ity) in t.iter().zip(items) {
                pack(&item, ity, out)?;
            }
            Ok(())
        }
    }
}

/// An array in device memory, given as `(address, shape, strides)` by the
/// Python side (which checked its dtype and layout against the kernel's types).
fn pack_device_array(
    t: &Bound<'_, PyTuple>,
    ndim: usize,
    ty: &Type,
    out: &mut Slots,
) -> PyResult<()> {
    let (address, shape, strides): (u64, Vec<i64>, Vec<i64>) =
        t.extract().map_err(|_| mismatch(t.as_any(), ty))?;
    if shape.len() != ndim || strides.len() != ndim {
        return Err(mismatch(t.as_any(), ty));
    }
    out.push(address);
    out.extend(shape.iter().map(|&n| n as u64));
    out.extend(strides.iter().map(|&s| s as u64));
    Ok(())
}

fn pack_scalar(obj: &Bound<'_, PyAny>, s: Scalar, out: &mut Slots) -> PyResult<()> {
    let ptr = obj.as_ptr();
    // SAFETY: type checks on a live object.
    let (is_float, is_complex) =
        unsafe { (ffi::PyFloat_Check(ptr) != 0, ffi::PyComplex_Check(ptr) != 0) };
    if s == Scalar::Bool {
        out.push(obj.is_truthy()? as u64);
    } else if s.is_int() {
        let bits = if is_float {
            let f = unsafe { ffi::PyFloat_AsDouble(ptr) };
            f as i64 as u64
        } else if unsafe { ffi::PyLong_Check(ptr) } != 0 {
            int_bits(obj)?
        } else if is_complex {
            return Err(mismatch(obj, &Type::Scalar(s)));
        } else {
            // NumPy scalars and other numbers: through __index__ or __int__.
            let i = obj.call_method0("__int__")?;
            int_bits(&i)?
        };
        out.push(bits);
    } else if s.is_float() {
        let f = if is_float {
            unsafe { ffi::PyFloat_AsDouble(ptr) }
        } else if is_complex {
            return Err(mismatch(obj, &Type::Scalar(s)));
        } else {
            obj.extract::<f64>()?
        };
        out.push(if s == Scalar::F32 {
            (f as f32).to_bits() as u64
        } else {
            f.to_bits()
        });
    } else {
        let (re, im) = if is_complex {
            unsafe {
                (
                    ffi::PyComplex_RealAsDouble(ptr),
                    ffi::PyComplex_ImagAsDouble(ptr),
                )
            }
        } else if let Some(c) = complex_of(obj)? {
            c
        } else {
            (obj.extract::<f64>()?, 0.0)
        };
        if s == Scalar::C64 {
            out.push((re as f32).to_bits() as u64 | ((im as f32).to_bits() as u64) << 32);
        } else {
            out.push(re.to_bits());
            out.push(im.to_bits());
        }
    }
    Ok(())
}

/// `(re, im)` of objects with `__complex__` (NumPy's complex scalars).
fn complex_of(obj: &Bound<'_, PyAny>) -> PyResult<Option<(f64, f64)>> {
    if !obj.hasattr("__complex__")? {
        return Ok(None);
    }
    let c = obj.call_method0("__complex__")?;
    let c = c.cast::<pyo3::types::PyComplex>()?;
    Ok(Some((c.real(), c.imag())))
}

/// Builds the Python value of type `ty` from result slots, advancing `pos`.
pub fn unpack(py: Python<'_>, ty: &Type, slots: &[u64], pos: &mut usize) -> PyResult<Py<PyAny>> {
    let take = |pos: &mut usize| {
        let v = slots[*pos];
        *pos += 1;
        v
    };
    // SAFETY (all ffi constructors below): they return new references or NULL
    // with an exception set, which `from_owned_ptr_or_err` handles.
    let obj =
        |p: *mut ffi::PyObject| unsafe { Bound::from_owned_ptr_or_err(py, p).map(Bound::unbind) };
    match ty {
        Type::None => Ok(py.None()),
        Type::Scalar(s) => {
            let v = take(pos);
            match s {
                Scalar::Bool => Ok(pyo3::types::PyBool::new(py, v & 1 != 0).to_owned().into_any().unbind()),
                Scalar::I8 => obj(unsafe { ffi::PyLong_FromLongLong(v as i8 as i64) }),
                Scalar::I16 => obj(unsafe { ffi::PyLong_FromLongLong(v as i16 as i64) }),
                Scalar::I32 => obj(unsafe { ffi::PyLong_FromLongLong(v as i32 as i64) }),
                Scalar::I64 => obj(unsafe { ffi::PyLong_FromLongLong(v as i64) }),
                Scalar::U8 => obj(unsafe { ffi::PyLong_FromUnsignedLongLong(v as u8 as u64) }),
                Scalar::U16 => obj(unsafe { ffi::PyLong_FromUnsignedLongLong(v as u16 as u64) }),
                Scalar::U32 => obj(unsafe { ffi::PyLong_FromUnsignedLongLong(v as u32 as u64) }),
                Scalar::U64 => obj(unsafe { ffi::PyLong_FromUnsignedLongLong(v) }),
                Scalar::F32 => obj(unsafe { ffi::PyFloat_FromDouble(f32::from_bits(v as u32) as f64) }),
                Scalar::F64 => obj(unsafe { ffi::PyFloat_FromDouble(f64::from_bits(v)) }),
                Scalar::C64 => obj(unsafe {
                    ffi::PyComplex_FromDoubles(
                        f32::from_bits(v as u32) as f64,
                        f32::from_bits((v >> 32) as u32) as f64,
                    )
                }),
                Scalar::C128 => {
                    let im = take(pos);
                    obj(unsafe { ffi::PyComplex_FromDoubles(f64::from_bits(v), f64::from_bits(im)) })
                }
            }
        }
        Type::Tuple(items) => {
            let mut objs = Vec::with_capacity(items.len());
            for t in items {
                objs.push(unpack(py, t, slots, pos)?);
            }
            Ok(PyTuple::new(py, objs)?.into_any().unbind())
        }
        Type::Array { .. } => Err(PyTypeError::new_err(
            "returning an array from compiled code is not supported yet; write the result into an array argument",
        )),
    }
}
