//! Functions, blocks, statements and operations.

use crate::gpu::{AtomicOp, Axis, BarrierReduce, BitFn, FenceScope, Geometry, Shuffle, Vote};
use crate::types::{Scalar, Type};

/// An SSA value defined by exactly one [`Stmt::Let`] (or a parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub u32);

/// A mutable, typed variable slot of a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocalId(pub u32);

/// A function of the module, by its index in [`Module::functions`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FuncId(pub u32);

/// An exception that compiled code can raise, by index in [`Module::exceptions`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExcId(pub u32);

/// A source position (1-based line and column in the user's file), kept on
/// statements so that backends can attach debug locations and diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Loc {
    pub line: u32,
    pub col: u32,
}

/// A compilation unit: the entry function is `functions[entry]`, and every
/// function it calls, directly or not, is in `functions` too.
#[derive(Clone, Debug, Default)]
pub struct Module {
    pub functions: Vec<Function>,
    pub entry: FuncId,
    /// Exceptions raised by compiled code. On the host a function returns a
    /// status: 0 for success, `k + 1` for `exceptions[k]`.
    pub exceptions: Vec<Exception>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Exception {
    /// The Python class name, a builtin exception such as `"ZeroDivisionError"`.
    pub class: String,
    /// The constant message, possibly empty.
    pub message: String,
}

impl Module {
    pub fn function(&self, id: FuncId) -> &Function {
        &self.functions[id.0 as usize]
    }

    /// Adds `exc` to the exception table (once) and returns its id.
    pub fn intern_exception(&mut self, exc: Exception) -> ExcId {
        if let Some(i) = self.exceptions.iter().position(|e| *e == exc) {
            return ExcId(i as u32);
        }
        self.exceptions.push(exc);
        ExcId(self.exceptions.len() as u32 - 1)
    }
}

#[derive(Clone, Debug)]
pub struct Function {
    /// A unique, symbol-safe name (`ragged_sum__i64_arr_f64_1d_C`).
    pub name: String,
    /// The parameter types; parameter `i` is read with [`Op::Param`]`(i)`.
    pub params: Vec<Type>,
    pub ret: Type,
    pub locals: Vec<Local>,
    /// The type of every value, indexed by [`ValueId`].
    pub values: Vec<Type>,
    pub body: Block,
}

impl Function {
    pub fn value_type(&self, v: ValueId) -> &Type {
        &self.values[v.0 as usize]
    }

    pub fn local(&self, l: LocalId) -> &Local {
        &self.locals[l.0 as usize]
    }
}

#[derive(Clone, Debug)]
pub struct Local {
    /// The Python name, or a name the front end made up (`$range_stop`).
    pub name: String,
    pub ty: Type,
}

#[derive(Clone, Debug, Default)]
pub struct Block {
    pub stmts: Vec<Stmt>,
}

#[derive(Clone, Debug)]
pub enum Stmt {
    /// Defines `value` as the result of `op`.
    Let { value: ValueId, op: Op, loc: Loc },
    /// Writes `value` to a local slot; the types are equal.
    Store { local: LocalId, value: ValueId },
    /// Writes one element: `array[indices] = value`. Indices are already
    /// wrapped and checked; `value` has the array's dtype.
    ArrayStore {
        array: ValueId,
        indices: Vec<ValueId>,
        value: ValueId,
        loc: Loc,
    },
    If {
        cond: ValueId,
        then_block: Block,
        else_block: Block,
    },
    /// Repeats `body` until a `Break` (of this loop) or a `Return` leaves it.
    Loop { body: Block },
    /// Leaves the innermost enclosing `Loop`.
    Break,
    /// Starts the next iteration of the innermost enclosing `Loop`.
    Continue,
    /// Returns `value`, of the function's return type; `None` when it is `Type::None`.
    Return { value: Option<ValueId> },
    /// Raises a Python exception (on devices without exceptions: records it and stops the thread).
    Raise { exc: ExcId, loc: Loc },

    // ---- kernels only (see `gpu.rs`) ----
    /// `cuda.syncthreads()`: every thread of the block waits here, and their
    /// memory writes become visible to each other. Only where the whole block
    /// reaches it (the front end rejects a barrier under thread-dependent control flow).
    Barrier { loc: Loc },
    /// `cuda.threadfence*()`.
    Fence(FenceScope),
    /// `cuda.syncwarp(mask)`: the lanes in `mask` (a `uint32`) wait for each other.
    SyncWarp { mask: ValueId, loc: Loc },
}

/// A compile-time constant.
#[derive(Clone, Debug, PartialEq)]
pub enum Const {
    Bool(bool),
    /// An integer of any integer type, as its two's complement bits.
    Int(i64),
    Float(f64),
    Complex(f64, f64),
    None,
    /// A global NumPy array captured at compile time: its address, shape and
    /// byte strides. The runtime keeps the array alive while the code lives.
    Array {
        data: u64,
        shape: Vec<i64>,
        strides: Vec<i64>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// Arithmetic negation (wrapping for integers).
    Neg,
    /// Logical not, on `bool` only.
    Not,
    /// Bitwise not, on integers only (`~x`).
    Invert,
    /// Absolute value of an integer or a float; of a complex, see [`MathFn::Hypot`].
    Abs,
}

/// Binary operations. Both operands and the result have the same scalar type,
/// except where noted; the front end inserts the casts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// Wrapping on integers.
    Add,
    Sub,
    Mul,
    /// True division; floats and complex only.
    Div,
    /// Python's floor division. For integers a zero divisor gives 0 (the front end
    /// checks first under the Python error model) and `MIN // -1` wraps to `MIN`.
    FloorDiv,
    /// Python's modulo: the result has the sign of the divisor. Integer `x % 0` is 0.
    Mod,
    /// Power. Integers: by repeated squaring, wrapping; a negative exponent gives 0
    /// unless the base is 1 or -1. Floats: C's `pow`.
    Pow,
    BitAnd,
    BitOr,
    BitXor,
    /// Shifts on integers; the count has the same type. A count outside
    /// `0..bits` gives 0 (or all sign bits for `Shr` of a negative number).
    Shl,
    Shr,
    /// Minimum/maximum; for floats a NaN operand gives NaN (as Python's `min`
    /// with NaN first does not, but as NumPy's `minimum` does).
    Min,
    Max,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// Whether `a op b` holds, on integers.
    pub fn holds(self, a: i64, b: i64) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        }
    }

    /// The comparison with its operands exchanged: `a op b` is `b op.swapped() a`.
    pub fn swapped(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            c => c,
        }
    }
}

/// Floating-point functions of `math`/NumPy. Operands and result are all the
/// same float type unless noted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MathFn {
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Atan2,
    Sinh,
    Cosh,
    Tanh,
    Asinh,
    Acosh,
    Atanh,
    Exp,
    Exp2,
    Expm1,
    Log,
    Log2,
    Log10,
    Log1p,
    Sqrt,
    Cbrt,
    Pow,
    Hypot,
    Floor,
    Ceil,
    Trunc,
    /// Round half to even (`round`, `np.rint`).
    Rint,
    Fabs,
    Fmod,
    Copysign,
    Erf,
    Erfc,
    Gamma,
    Lgamma,
    Nextafter,
    /// `x * 2**n`: operands `(float, int32)`.
    Ldexp,
    /// Results are `bool`.
    IsNan,
    IsInf,
    IsFinite,
    Signbit,
    /// `a * b + c` rounded once.
    Fma,
}

impl MathFn {
    /// The C library name of the double-precision version (`"atan2"`), where one exists.
    pub fn libm_name(self) -> Option<&'static str> {
        use MathFn::*;
        Some(match self {
            Sin => "sin",
            Cos => "cos",
            Tan => "tan",
            Asin => "asin",
            Acos => "acos",
            Atan => "atan",
            Atan2 => "atan2",
            Sinh => "sinh",
            Cosh => "cosh",
            Tanh => "tanh",
            Asinh => "asinh",
            Acosh => "acosh",
            Atanh => "atanh",
            Exp => "exp",
            Exp2 => "exp2",
            Expm1 => "expm1",
            Log => "log",
            Log2 => "log2",
            Log10 => "log10",
            Log1p => "log1p",
            Sqrt => "sqrt",
            Cbrt => "cbrt",
            Pow => "pow",
            Hypot => "hypot",
            Floor => "floor",
            Ceil => "ceil",
            Trunc => "trunc",
            Rint => "rint",
            Fabs => "fabs",
            Fmod => "fmod",
            Copysign => "copysign",
            Erf => "erf",
            Erfc => "erfc",
            Gamma => "tgamma",
            Lgamma => "lgamma",
            Nextafter => "nextafter",
            Ldexp => "ldexp",
            Fma => "fma",
            IsNan | IsInf | IsFinite | Signbit => return None,
        })
    }

    /// Number of operands.
    pub fn arity(self) -> usize {
        use MathFn::*;
        match self {
            Atan2 | Pow | Hypot | Fmod | Copysign | Nextafter | Ldexp => 2,
            Fma => 3,
            _ => 1,
        }
    }

    /// Whether the result is `bool` rather than the operand's float type.
    pub fn is_predicate(self) -> bool {
        matches!(
            self,
            MathFn::IsNan | MathFn::IsInf | MathFn::IsFinite | MathFn::Signbit
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// The function's `i`-th parameter.
    Param(u32),
    Const(Const),
    LoadLocal(LocalId),
    Unary(UnaryOp, ValueId),
    Binary(BinaryOp, ValueId, ValueId),
    /// Result `bool`; operands share a scalar type (complex: `Eq`/`Ne` only).
    Compare(CmpOp, ValueId, ValueId),
    /// Converts a scalar to the result's scalar type with NumPy's rules: float →
    /// int truncates toward zero (saturating), int → bool and float → bool test
    /// for non-zero, complex → real keeps the real part.
    Cast(ValueId),
    /// Reinterprets the bits of a scalar as another scalar type of the same size
    /// (`float64` ⇄ `int64`/`uint64`, `float32` ⇄ `int32`/`uint32`).
    Bitcast(ValueId),
    /// `cond ? a : b`, both evaluated (no side effects are possible in operands).
    Select(ValueId, ValueId, ValueId),
    /// A math function on float operands (see [`MathFn`] for the exceptions).
    Math(MathFn, Vec<ValueId>),
    /// A call; a nonzero status from the callee propagates as if re-raised.
    Call(FuncId, Vec<ValueId>),
    /// Length of axis `axis` of an array (`i64`).
    ArrayDim(ValueId, u8),
    /// Byte stride of axis `axis` of an array (`i64`).
    ArrayStride(ValueId, u8),
    /// Reads `array[indices]`; indices are `i64`, in bounds and non-negative.
    ArrayLoad(ValueId, Vec<ValueId>),
    /// The view `array[i0, .., ik]` that fixes the first `k < ndim` axes (what
    /// `a[i]` is on a 2-D array); same data, no copy. Indices as for `ArrayLoad`.
    /// The result keeps layout `C` when the source is `C`, else it is `A`.
    SubArray(ValueId, Vec<ValueId>),
    MakeTuple(Vec<ValueId>),
    /// A tuple item at a constant position.
    TupleGet(ValueId, u32),
    /// An item of a tuple whose items share one type, at a run-time `i64`
    /// position that the front end has checked.
    TupleIndex(ValueId, ValueId),
    /// A complex number from two floats of its component type.
    ComplexNew(ValueId, ValueId),
    ComplexReal(ValueId),
    ComplexImag(ValueId),

    // ---- kernels only (see `gpu.rs`) ----
    /// `int32`: a thread-geometry register (`cuda.threadIdx.x`, ...).
    Geometry(Geometry, Axis),
    /// `int32`: this thread's lane in its warp of 32 (`cuda.laneid`).
    LaneId,
    /// A block-shared array (`cuda.shared.array`), C layout, `Space::Shared`.
    /// Each `SharedArray` op is its own allocation per block. `dynamic`: the
    /// 1-D array over the launch's dynamic shared memory (`shape` is `[0]`),
    /// which every dynamic `SharedArray` of the kernel aliases, as in CUDA.
    SharedArray {
        dtype: Scalar,
        shape: Vec<i64>,
        dynamic: bool,
    },
    /// A per-thread array (`cuda.local.array`), C layout, `Space::Local`.
    LocalArray {
        dtype: Scalar,
        shape: Vec<i64>,
    },
    /// Read-only data baked into the kernel (`cuda.const.array_like`): the
    /// elements' bytes, little-endian, C order; C layout, `Space::Constant`.
    ConstArray {
        dtype: Scalar,
        shape: Vec<i64>,
        data: Vec<u8>,
    },
    /// `old = array[indices]; array[indices] = op(old, value)`, atomically;
    /// the result is `old`. Indices as for `ArrayLoad`; `value` has the dtype.
    Atomic {
        op: AtomicOp,
        array: ValueId,
        indices: Vec<ValueId>,
        value: ValueId,
    },
    /// Atomic compare-and-swap: stores `desired` if the element equals
    /// `expected`; the result is the old element.
    AtomicCas {
        array: ValueId,
        indices: Vec<ValueId>,
        expected: ValueId,
        desired: ValueId,
    },
    /// A warp shuffle: `mask` (`uint32`) names the participating lanes,
    /// `lane` (`int32`) is the source lane, delta or xor mask per [`Shuffle`];
    /// `width` (`int32`, a power of two up to 32) splits the warp into groups.
    /// The result has `value`'s type (any 32- or 64-bit scalar).
    WarpShuffle {
        kind: Shuffle,
        mask: ValueId,
        value: ValueId,
        lane: ValueId,
        width: ValueId,
    },
    /// A warp vote on `pred` (`bool`) among the lanes of `mask` (`uint32`).
    WarpVote {
        kind: Vote,
        mask: ValueId,
        pred: ValueId,
    },
    /// A block barrier that reduces `pred` (`bool`) over the block: `int32`.
    BarrierReduce(BarrierReduce, ValueId),
    /// Bit functions of integers (`cuda.popc`, ...).
    Bit(BitFn, ValueId),
}

impl Op {
    /// Whether this operation only exists in kernels.
    pub fn is_kernel_only(&self) -> bool {
        matches!(
            self,
            Op::Geometry(..)
                | Op::LaneId
                | Op::SharedArray { .. }
                | Op::LocalArray { .. }
                | Op::ConstArray { .. }
                | Op::WarpShuffle { .. }
                | Op::WarpVote { .. }
                | Op::BarrierReduce(..)
        )
    }

    /// Every value this operation reads, in order.
    pub fn operands(&self) -> Vec<ValueId> {
        match self {
            Op::Param(_)
            | Op::Const(_)
            | Op::LoadLocal(_)
            | Op::Geometry(..)
            | Op::LaneId
            | Op::SharedArray { .. }
            | Op::LocalArray { .. }
            | Op::ConstArray { .. } => vec![],
            Op::BarrierReduce(_, a) | Op::Bit(_, a) => vec![*a],
            Op::Atomic {
                array,
                indices,
                value,
                ..
            } => std::iter::once(*array)
                .chain(indices.iter().copied())
                .chain(std::iter::once(*value))
                .collect(),
            Op::AtomicCas {
                array,
                indices,
                expected,
                desired,
            } => std::iter::once(*array)
                .chain(indices.iter().copied())
                .chain([*expected, *desired])
                .collect(),
            Op::WarpShuffle {
                mask,
                value,
                lane,
                width,
                ..
            } => vec![*mask, *value, *lane, *width],
            Op::WarpVote { mask, pred, .. } => vec![*mask, *pred],
            Op::Unary(_, a)
            | Op::Cast(a)
            | Op::Bitcast(a)
            | Op::ArrayDim(a, _)
            | Op::ArrayStride(a, _)
            | Op::TupleGet(a, _)
            | Op::ComplexReal(a)
            | Op::ComplexImag(a) => vec![*a],
            Op::Binary(_, a, b)
            | Op::Compare(_, a, b)
            | Op::TupleIndex(a, b)
            | Op::ComplexNew(a, b) => vec![*a, *b],
            Op::Select(c, a, b) => vec![*c, *a, *b],
            Op::Math(_, args) | Op::Call(_, args) | Op::MakeTuple(args) => args.clone(),
            Op::ArrayLoad(a, idx) | Op::SubArray(a, idx) => {
                std::iter::once(*a).chain(idx.iter().copied()).collect()
            }
        }
    }
}

/// Convenience for building types of constants.
pub fn scalar_type(s: Scalar) -> Type {
    Type::Scalar(s)
}
