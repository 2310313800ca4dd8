//! Hypersonic's types: NumPy's scalar kinds, arrays of them, tuples and `None`.

use std::fmt;

pub use crate::gpu::Space;

/// A scalar kind, named as NumPy names its dtypes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scalar {
    Bool,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F32,
    F64,
    C64,
    C128,
}

impl Scalar {
    pub const ALL: [Scalar; 13] = [
        Scalar::Bool,
        Scalar::I8,
        Scalar::I16,
        Scalar::I32,
        Scalar::I64,
        Scalar::U8,
        Scalar::U16,
        Scalar::U32,
        Scalar::U64,
        Scalar::F32,
        Scalar::F64,
        Scalar::C64,
        Scalar::C128,
    ];

    /// NumPy's name for the dtype (`"int64"`, `"complex128"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Scalar::Bool => "bool",
            Scalar::I8 => "int8",
            Scalar::I16 => "int16",
            Scalar::I32 => "int32",
            Scalar::I64 => "int64",
            Scalar::U8 => "uint8",
            Scalar::U16 => "uint16",
            Scalar::U32 => "uint32",
            Scalar::U64 => "uint64",
            Scalar::F32 => "float32",
            Scalar::F64 => "float64",
            Scalar::C64 => "complex64",
            Scalar::C128 => "complex128",
        }
    }

    pub fn from_name(name: &str) -> Option<Scalar> {
        Scalar::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .or(match name {
                "boolean" | "bool_" | "b1" => Some(Scalar::Bool),
                "intp" | "int_" => Some(Scalar::I64),
                "uintp" => Some(Scalar::U64),
                "float_" | "double" => Some(Scalar::F64),
                "single" => Some(Scalar::F32),
                "complex_" | "cdouble" => Some(Scalar::C128),
                "csingle" => Some(Scalar::C64),
                _ => None,
            })
    }

    /// Size in bytes of one element.
    pub fn size(self) -> u32 {
        match self {
            Scalar::Bool | Scalar::I8 | Scalar::U8 => 1,
            Scalar::I16 | Scalar::U16 => 2,
            Scalar::I32 | Scalar::U32 | Scalar::F32 => 4,
            Scalar::I64 | Scalar::U64 | Scalar::F64 | Scalar::C64 => 8,
            Scalar::C128 => 16,
        }
    }

    /// Width in bits of an integer, float, or of one complex component.
    pub fn bits(self) -> u32 {
        match self {
            Scalar::Bool => 1,
            Scalar::C64 => 32,
            Scalar::C128 => 64,
            s => s.size() * 8,
        }
    }

    pub fn is_int(self) -> bool {
        self.is_signed_int() || self.is_unsigned_int()
    }
    pub fn is_signed_int(self) -> bool {
        matches!(self, Scalar::I8 | Scalar::I16 | Scalar::I32 | Scalar::I64)
    }
    pub fn is_unsigned_int(self) -> bool {
        matches!(self, Scalar::U8 | Scalar::U16 | Scalar::U32 | Scalar::U64)
    }
    pub fn is_float(self) -> bool {
        matches!(self, Scalar::F32 | Scalar::F64)
    }
    pub fn is_complex(self) -> bool {
        matches!(self, Scalar::C64 | Scalar::C128)
    }

    /// The float type of one component of a complex number (or the float itself).
    pub fn component(self) -> Scalar {
        match self {
            Scalar::C64 => Scalar::F32,
            Scalar::C128 => Scalar::F64,
            s => s,
        }
    }

    pub fn signed_int(bits: u32) -> Scalar {
        match bits {
            8 => Scalar::I8,
            16 => Scalar::I16,
            32 => Scalar::I32,
            _ => Scalar::I64,
        }
    }

    pub fn unsigned_int(bits: u32) -> Scalar {
        match bits {
            8 => Scalar::U8,
            16 => Scalar::U16,
            32 => Scalar::U32,
            _ => Scalar::U64,
        }
    }
}

/// Memory layout of an array, known at compile time. `C` and `F` promise
/// contiguity (a backend may use the element size as the innermost stride);
/// `A` is any strided layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    C,
    F,
    A,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    Scalar(Scalar),
    /// Python's `None`: the return type of a function that returns nothing.
    None,
    Array {
        dtype: Scalar,
        ndim: u8,
        layout: Layout,
        /// Where the elements live; host code only has `Space::Global`.
        space: Space,
    },
    Tuple(Vec<Type>),
}

impl Type {
    pub const BOOL: Type = Type::Scalar(Scalar::Bool);
    pub const I64: Type = Type::Scalar(Scalar::I64);
    pub const F64: Type = Type::Scalar(Scalar::F64);

    /// An array in global memory (every array a host function sees).
    pub fn array(dtype: Scalar, ndim: u8, layout: Layout) -> Type {
        Type::Array {
            dtype,
            ndim,
            layout,
            space: Space::Global,
        }
    }

    /// The type of `a[i0, .., ik]` fixing the first `fixed` axes of an array
    /// (the result of [`crate::Op::SubArray`]): C stays C, anything else becomes A.
    pub fn view(&self, fixed: usize) -> Option<Type> {
        match self {
            Type::Array {
                dtype,
                ndim,
                layout,
                space,
            } if fixed < *ndim as usize => Some(Type::Array {
                dtype: *dtype,
                ndim: ndim - fixed as u8,
                layout: if *layout == Layout::C {
                    Layout::C
                } else {
                    Layout::A
                },
                space: *space,
            }),
            _ => None,
        }
    }

    pub fn scalar(&self) -> Option<Scalar> {
        match self {
            Type::Scalar(s) => Some(*s),
            _ => None,
        }
    }

    pub fn is_scalar(&self) -> bool {
        matches!(self, Type::Scalar(_))
    }

    pub fn is_array(&self) -> bool {
        matches!(self, Type::Array { .. })
    }

    /// The byte offset of the innermost dimension's stride when the layout makes it
    /// a compile-time constant (the element size), if so.
    pub fn contiguous_axis(&self) -> Option<u8> {
        match self {
            Type::Array { ndim, layout, .. } if *ndim > 0 => match layout {
                Layout::C => Some(*ndim - 1),
                Layout::F => Some(0),
                Layout::A => None,
            },
            _ => None,
        }
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Type {
    /// Numba's spelling: `float64`, `array(float64, 2d, C)`, `UniTuple(int64 x 2)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Scalar(s) => write!(f, "{s}"),
            Type::None => f.write_str("none"),
            Type::Array {
                dtype,
                ndim,
                layout,
                space: Space::Global,
            } => write!(f, "array({dtype}, {ndim}d, {layout:?})"),
            Type::Array {
                dtype,
                ndim,
                layout,
                space,
            } => write!(
                f,
                "array({dtype}, {ndim}d, {layout:?}, {})",
                format!("{space:?}").to_lowercase()
            ),
            Type::Tuple(items) => {
                if !items.is_empty() && items.iter().all(|t| *t == items[0]) {
                    write!(f, "UniTuple({} x {})", items[0], items.len())
                } else {
                    f.write_str("Tuple(")?;
                    for (i, t) in items.iter().enumerate() {
                        if i > 0 {
                            f.write_str(", ")?;
                        }
                        write!(f, "{t}")?;
                    }
                    f.write_str(")")
                }
            }
        }
    }
}
