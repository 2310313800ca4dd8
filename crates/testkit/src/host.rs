//! Host-side arrays and suite cases: what to launch, on which inputs, and how
//! to check the results against the reference.

use hypersonic_ir::{Module, Scalar};

/// A Rust element type of a NumPy dtype.
pub trait Elem: Copy + Default + PartialEq + std::fmt::Debug + 'static {
    const SCALAR: Scalar;
}

macro_rules! elems {
    ($($t:ty => $s:ident),*) => {
        $(impl Elem for $t { const SCALAR: Scalar = Scalar::$s; })*
    };
}
elems!(i8 => I8, i16 => I16, i32 => I32, i64 => I64, u8 => U8, u16 => U16, u32 => U32,
       u64 => U64, f32 => F32, f64 => F64, bool => Bool);

/// The bytes of plain-old-data elements.
pub fn bytes_of<T: Copy>(v: &[T]) -> Vec<u8> {
    // SAFETY: plain-old-data elements, read as bytes.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
        .to_vec()
}

/// Elements from their bytes (`b.len()` a multiple of the element size).
pub fn from_bytes<T: Copy + Default>(b: &[u8]) -> Vec<T> {
    let n = b.len() / std::mem::size_of::<T>();
    let mut v = vec![T::default(); n];
    // SAFETY: plain-old-data elements, sizes match.
    unsafe {
        std::ptr::copy_nonoverlapping(
            b.as_ptr(),
            v.as_mut_ptr().cast::<u8>(),
            n * std::mem::size_of::<T>(),
        )
    };
    v
}

/// A C-contiguous host array: dtype, shape and bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    pub dtype: Scalar,
    pub shape: Vec<i64>,
    pub bytes: Vec<u8>,
}

impl Array {
    /// The array of `shape` holding `data` (row-major).
    pub fn new<T: Elem>(shape: &[i64], data: &[T]) -> Array {
        assert_eq!(
            shape.iter().product::<i64>() as usize,
            data.len(),
            "shape {shape:?}"
        );
        Array {
            dtype: T::SCALAR,
            shape: shape.to_vec(),
            bytes: bytes_of(data),
        }
    }
    /// The 1-D array of `data`.
    pub fn vec<T: Elem>(data: &[T]) -> Array {
        Array::new(&[data.len() as i64], data)
    }
    /// An array whose bytes are all `byte` (0 for accumulators, else a poison
    /// that shows elements the kernel failed to write).
    pub fn filled(dtype: Scalar, shape: &[i64], byte: u8) -> Array {
        let n = shape.iter().product::<i64>() as usize * dtype.size() as usize;
        Array {
            dtype,
            shape: shape.to_vec(),
            bytes: vec![byte; n],
        }
    }
    pub fn zeros(dtype: Scalar, shape: &[i64]) -> Array {
        Array::filled(dtype, shape, 0)
    }
    /// An output the kernel overwrites entirely: poisoned bytes (`0xa5`).
    pub fn out(dtype: Scalar, shape: &[i64]) -> Array {
        Array::filled(dtype, shape, 0xa5)
    }
    pub fn len(&self) -> usize {
        self.shape.iter().product::<i64>() as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn itemsize(&self) -> usize {
        self.dtype.size() as usize
    }
    /// The elements (the dtype must be `T`'s).
    pub fn get<T: Elem>(&self) -> Vec<T> {
        assert_eq!(self.dtype, T::SCALAR, "reading a {} array", self.dtype);
        if T::SCALAR == Scalar::Bool {
            // Only 0 and 1 are bools (an unwritten, poisoned element is neither).
            if let Some(i) = self.bytes.iter().position(|&b| b > 1) {
                panic!("element {i} is no bool: {:#x}", self.bytes[i]);
            }
        }
        from_bytes(&self.bytes)
    }
    /// The elements of a float array as float64.
    pub fn floats(&self) -> Vec<f64> {
        match self.dtype {
            Scalar::F32 => self.get::<f32>().into_iter().map(f64::from).collect(),
            Scalar::F64 => self.get::<f64>(),
            d => panic!("{d} is not a float dtype"),
        }
    }
}

/// The slots of a C-contiguous array argument (`hypersonic_ir::abi`): the data
/// address, the shape, the strides in bytes.
pub fn array_slots(data: u64, shape: &[i64], itemsize: i64) -> Vec<u64> {
    let mut strides = vec![0i64; shape.len()];
    let mut s = itemsize;
    for d in (0..shape.len()).rev() {
        strides[d] = s;
        s *= shape[d];
    }
    let mut v = vec![data];
    v.extend(shape.iter().map(|&x| x as u64));
    v.extend(strides.iter().map(|&x| x as u64));
    v
}

/// The argument slots of an entry taking the arrays `args` at `addrs`, checked
/// against `hypersonic_ir::abi::args_slots` of the module's entry.
pub fn pack(module: &Module, args: &[Array], addrs: &[u64]) -> Vec<u64> {
    let entry = &module.functions[module.entry.0 as usize];
    let mut slots = vec![];
    for (a, &addr) in args.iter().zip(addrs) {
        slots.extend(array_slots(addr, &a.shape, a.itemsize() as i64));
    }
    assert_eq!(
        slots.len(),
        hypersonic_ir::abi::args_slots(&entry.params),
        "the arguments of `{}`",
        entry.name
    );
    slots
}

/// What the checks get: the arrays after the launch (inputs included).
pub type Check = Box<dyn Fn(&[Array])>;

/// One launch of a suite kernel: geometry, arguments, and the check of the results.
pub struct Run {
    /// Says which run failed.
    pub label: String,
    pub grid: [u32; 3],
    pub block: [u32; 3],
    pub dynamic_shared_bytes: u64,
    /// One array per kernel parameter (every suite kernel takes arrays).
    pub args: Vec<Array>,
    /// The exception (`"ValueError: negative"`) the launch must raise, if any.
    pub raises: Option<String>,
    pub check: Check,
}

impl Run {
    /// A 1-D launch of `grid` blocks of `block` threads.
    pub fn linear(label: impl Into<String>, grid: u32, block: u32, args: Vec<Array>) -> Run {
        Run {
            label: label.into(),
            grid: [grid, 1, 1],
            block: [block, 1, 1],
            dynamic_shared_bytes: 0,
            args,
            raises: None,
            check: Box::new(|_| {}),
        }
    }
    /// Enough blocks of `block` threads for `n` threads.
    pub fn over(label: impl Into<String>, n: usize, block: u32, args: Vec<Array>) -> Run {
        Run::linear(label, (n as u32).div_ceil(block).max(1), block, args)
    }
    pub fn check(mut self, f: impl Fn(&[Array]) + 'static) -> Run {
        self.check = Box::new(f);
        self
    }
    pub fn raises(mut self, what: &str) -> Run {
        self.raises = Some(what.into());
        self
    }
    pub fn dynamic_shared(mut self, bytes: u64) -> Run {
        self.dynamic_shared_bytes = bytes;
        self
    }
}

/// A kernel of the suite and the launches that test it.
pub struct Case {
    pub module: Module,
    pub runs: Vec<Run>,
}

impl Case {
    /// The entry point's name.
    pub fn name(&self) -> &str {
        &self.module.functions[self.module.entry.0 as usize].name
    }
}
