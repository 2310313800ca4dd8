//! The software math library: IR implementations of the transcendental
//! functions that a device lacks (GLSL.std.450 has no float64 transcendentals,
//! and lacks `expm1`, `erf`, `lgamma`, ... in float32 too). Each function is
//! built once, here, from basic operations that every backend has: arithmetic,
//! comparisons, casts, bit casts, selects, structured control flow, and the
//! native [`MathFn`]s `Sqrt`, `Fabs`, `Floor`, `Ceil`, `Trunc`, `Rint`,
//! `Copysign`, `Fma` and the classification predicates. No implementation
//! calls another transcendental [`Op::Math`]; the pieces they share (the
//! double-double logarithm, the exponential kernel, the trigonometric
//! reduction) are built inline.
//!
//! [`implement`] gives the function for one `(MathFn, Scalar)`;
//! [`lower_math_calls`] replaces the `Op::Math` operations a device cannot do
//! by calls to such functions, added to the module once each.
//!
//! # Algorithms (float64)
//!
//! Written from the mathematics; the polynomial coefficients come from
//! Chebyshev fits made by `coeffs.py` with mpmath (or are Taylor coefficients).
//! Double-double arithmetic (exact sums and products through `Fma`) carries the
//! extra bits where a final rounding must see them.
//!
//! - `exp`, `exp2`: Cody–Waite reduction `x = n ln2 + r` in double-double,
//!   `exp(r) = 1 + r + r² P(r)`, scaling by `2ⁿ` in two exact steps (so that a
//!   subnormal result is rounded once). `expm1`: the same reduction, and
//!   `2ⁿ(1 + e) - 1` in double-double.
//! - `log`, `log2`, `log10`, `log1p`: `x = 2ᵏ m`, `m ∈ [√½, √2)`,
//!   `log m = 2 atanh(s)`, `s = (m-1)/(m+1)`, all in double-double (about 2⁻⁶⁴
//!   relative), then multiplied by `1/ln 2` or `1/ln 10` in double-double.
//! - `pow`: `exp(y log|x|)` with both in double-double, and C99's special cases.
//! - `sin`, `cos`, `tan`: `x = n π/2 + r` with π/2 in three 53-bit parts and
//!   exact products (`Fma`), applied twice (the second pass removes what is left
//!   of a huge `x`); Taylor kernels on `|r| ≤ π/4`. Full accuracy for
//!   `|x| < 2³⁰` (≈ 1.07e9; tested to 1e9), good accuracy up to ~2⁵⁰, and beyond
//!   that the reduction loses bits: the result is still finite and in `[-1, 1]`.
//! - `atan`, `atan2`, `asin`, `acos`: one arctangent core on a double-double
//!   ratio `t ∈ [0, 1]`, reduced by `atan t = atan c + atan((t-c)/(1+tc))`,
//!   `c ∈ {0, ¼, ½, ¾, 1}`; `asin x = atan2(x, √((1-x)(1+x)))` with the square
//!   root in double-double.
//! - `sinh`, `cosh`, `tanh`: from `expm1`/`exp`; `exp(|x| - ln 2)` for large `|x|`.
//! - `asinh`, `acosh`, `atanh`: `log1p`/`log` of rearranged exact forms.
//! - `cbrt`: exponent divided by 3, Newton steps, a final double-double correction.
//! - `hypot`: scaled by powers of two, `√(x² + y²)` with `x²+y²` in double-double.
//! - `erf`, `erfc`: a polynomial in `x²` for `|x| < ¾`, polynomials in `x - 1`
//!   on `[¾, 1¼]`, and `erfc x = exp(-x²) erfcx(x)` beyond, with `x²` in
//!   double-double and `erfcx` fitted piecewise.
//! - `tgamma`, `lgamma`: Stirling's series in double-double for `x ≥ 10`, the
//!   recurrence `Γ(x) = Γ(x+k)/(x(x+1)…)` (product in double-double) below,
//!   fits of `lgamma(1+e)/e` and `lgamma(2+e)/e` near the zeros of `lgamma`, and
//!   the reflection formula with an exact `sin(πx)` for negative `x`.
//! - `fmod`: exact, by integer long division of the significands. `ldexp`:
//!   exponent arithmetic with one rounding for subnormal results. `nextafter`:
//!   integer steps on the bits.
//!
//! # What a backend must preserve
//!
//! The double-double steps rely on every float operation being rounded on its
//! own, as written: no reassociation (fast-math) and no contraction of a
//! multiplication and an addition into a fused multiply-add (the exact
//! products use `Fma` explicitly). A backend compiling these functions must not
//! put fast-math flags on them, and SPIR-V must decorate their float operations
//! `NoContraction` (Vulkan drivers may fuse otherwise; LLVM's NVPTX backend
//! also fuses by default, but PTX uses libdevice instead of this library).
//! A division less accurate than correctly rounded (Vulkan allows 2.5 ulp)
//! adds its error to the few results that end in a plain division (`tan`,
//! `tanh`, `sinh`, `cosh`); the double-double quotients correct theirs.
//!
//! # float32
//!
//! [`implement`] for `F32` computes in float64 (cast in, the float64 algorithm,
//! cast out), for devices that have float64. [`implement_f32_only`] gives
//! implementations that use no float64 at all, for devices without it, for the
//! functions where that is exact or simple: `fmod`, `ldexp`, `nextafter`,
//! `hypot` (float32 with a double-float sum), `cbrt`.

mod consts;
mod exp;
mod log;
mod misc;
mod special;
mod trig;

use std::collections::HashMap;

use crate::builder::FunctionBuilder;
use crate::ops::*;
use crate::types::{Scalar, Type};

pub(crate) type V = ValueId;

/// A double-double value `h + l` with `|l| ≤ ulp(h)/2` (or close to it).
#[derive(Clone, Copy, Debug)]
pub(crate) struct DD {
    pub h: V,
    pub l: V,
}

/// The functions [`implement`] covers for float64.
pub const F64_FUNCTIONS: &[MathFn] = &[
    MathFn::Exp,
    MathFn::Exp2,
    MathFn::Expm1,
    MathFn::Log,
    MathFn::Log2,
    MathFn::Log10,
    MathFn::Log1p,
    MathFn::Pow,
    MathFn::Sin,
    MathFn::Cos,
    MathFn::Tan,
    MathFn::Asin,
    MathFn::Acos,
    MathFn::Atan,
    MathFn::Atan2,
    MathFn::Sinh,
    MathFn::Cosh,
    MathFn::Tanh,
    MathFn::Asinh,
    MathFn::Acosh,
    MathFn::Atanh,
    MathFn::Cbrt,
    MathFn::Hypot,
    MathFn::Erf,
    MathFn::Erfc,
    MathFn::Gamma,
    MathFn::Lgamma,
    MathFn::Fmod,
    MathFn::Ldexp,
    MathFn::Nextafter,
];

/// The functions [`implement`] covers for float32 (GLSL.std.450 has the others).
pub const F32_FUNCTIONS: &[MathFn] = &[
    MathFn::Expm1,
    MathFn::Log1p,
    MathFn::Cbrt,
    MathFn::Erf,
    MathFn::Erfc,
    MathFn::Gamma,
    MathFn::Lgamma,
    MathFn::Hypot,
    MathFn::Fmod,
    MathFn::Nextafter,
    MathFn::Ldexp,
];

/// The functions [`implement_f32_only`] covers.
pub const F32_ONLY_FUNCTIONS: &[MathFn] = &[
    MathFn::Fmod,
    MathFn::Ldexp,
    MathFn::Nextafter,
    MathFn::Hypot,
    MathFn::Cbrt,
];

/// The symbol of the software version of `f` on `s`: `hs_math_exp_f64`.
pub fn function_name(f: MathFn, s: Scalar) -> String {
    let base = f.libm_name().unwrap_or("unknown");
    let t = if s == Scalar::F32 { "f32" } else { "f64" };
    format!("hs_math_{base}_{t}")
}

/// The parameter types of the software version of `f` on `s`.
fn signature(f: MathFn, s: Scalar) -> Vec<Type> {
    let mut params = vec![Type::Scalar(s); f.arity()];
    if f == MathFn::Ldexp {
        params[1] = Type::Scalar(Scalar::I32);
    }
    params
}

/// An IR function computing `f` on `s` (`F64`, or `F32` through float64) from
/// basic operations only, named [`function_name`]; its parameters are `f`'s
/// operands (`(float, int32)` for `Ldexp`) and it returns the float. `None`
/// where this library has no implementation (the functions every device has
/// natively, such as `Sqrt`, and non-float types).
pub fn implement(f: MathFn, s: Scalar) -> Option<Function> {
    match s {
        Scalar::F64 if F64_FUNCTIONS.contains(&f) => {}
        Scalar::F32 if F32_FUNCTIONS.contains(&f) => {}
        _ => return None,
    }
    if s == Scalar::F32 && f == MathFn::Nextafter {
        // Steps of float32, not of float64.
        let mut g = implement_f32_only(f)?;
        g.name = function_name(f, s);
        return Some(g);
    }
    let params = signature(f, s);
    let mut cx = Cx::new(function_name(f, s), params.clone(), Type::Scalar(s));
    let mut args: Vec<V> = (0..params.len() as u32).map(|i| cx.param(i)).collect();
    if s == Scalar::F32 {
        for a in args.iter_mut().take(if f == MathFn::Ldexp { 1 } else { 2 }) {
            if *cx.ty(*a) == Type::Scalar(Scalar::F32) {
                *a = cx.cast(*a, Scalar::F64);
            }
        }
    }
    let r = build_f64(&mut cx, f, &args);
    let r = if s == Scalar::F32 {
        cx.cast(r, Scalar::F32)
    } else {
        r
    };
    Some(cx.finish(r))
}

/// Like [`implement`] for `F32`, but with no float64 operation at all (for
/// devices without float64), for [`F32_ONLY_FUNCTIONS`].
pub fn implement_f32_only(f: MathFn) -> Option<Function> {
    if !F32_ONLY_FUNCTIONS.contains(&f) {
        return None;
    }
    let params = signature(f, Scalar::F32);
    let name = format!("{}_nof64", function_name(f, Scalar::F32));
    let mut cx = Cx::new(name, params.clone(), Type::Scalar(Scalar::F32));
    cx.f = Scalar::F32;
    let args: Vec<V> = (0..params.len() as u32).map(|i| cx.param(i)).collect();
    let r = match f {
        MathFn::Fmod => misc::fmod(&mut cx, args[0], args[1]),
        MathFn::Ldexp => misc::ldexp(&mut cx, args[0], args[1]),
        MathFn::Nextafter => misc::nextafter(&mut cx, args[0], args[1]),
        MathFn::Hypot => misc::hypot(&mut cx, args[0], args[1]),
        MathFn::Cbrt => misc::cbrt(&mut cx, args[0]),
        _ => unreachable!(),
    };
    Some(cx.finish(r))
}

/// The float64 algorithm of `f` on `args` (float64, and int32 for `Ldexp`).
fn build_f64(cx: &mut Cx, f: MathFn, a: &[V]) -> V {
    use MathFn::*;
    cx.f = Scalar::F64;
    match f {
        Exp => exp::exp(cx, a[0]),
        Exp2 => exp::exp2(cx, a[0]),
        Expm1 => exp::expm1(cx, a[0]),
        Sinh => exp::sinh(cx, a[0]),
        Cosh => exp::cosh(cx, a[0]),
        Tanh => exp::tanh(cx, a[0]),
        Log => log::log(cx, a[0]),
        Log2 => log::log2(cx, a[0]),
        Log10 => log::log10(cx, a[0]),
        Log1p => log::log1p(cx, a[0]),
        Pow => log::pow(cx, a[0], a[1]),
        Asinh => log::asinh(cx, a[0]),
        Acosh => log::acosh(cx, a[0]),
        Atanh => log::atanh(cx, a[0]),
        Sin => trig::sin(cx, a[0]),
        Cos => trig::cos(cx, a[0]),
        Tan => trig::tan(cx, a[0]),
        Asin => trig::asin(cx, a[0]),
        Acos => trig::acos(cx, a[0]),
        Atan => trig::atan(cx, a[0]),
        Atan2 => trig::atan2(cx, a[0], a[1]),
        Erf => special::erf(cx, a[0]),
        Erfc => special::erfc(cx, a[0]),
        Gamma => special::tgamma(cx, a[0]),
        Lgamma => special::lgamma(cx, a[0]),
        Cbrt => misc::cbrt(cx, a[0]),
        Hypot => misc::hypot(cx, a[0], a[1]),
        Fmod => misc::fmod(cx, a[0], a[1]),
        Ldexp => misc::ldexp(cx, a[0], a[1]),
        Nextafter => misc::nextafter(cx, a[0], a[1]),
        _ => unreachable!("{f:?} has no software implementation"),
    }
}

/// Replaces every `Op::Math(f, args)` on float type `s` where
/// `needs_software(f, s)` (and this library implements `f` on `s`) by an
/// `Op::Call` of the function [`implement`] builds, appended to the module once
/// per `(f, s)` (reused when a function of that name is already there). A
/// `Ldexp` exponent that is not `int32` is clamped and converted first.
pub fn lower_math_calls(module: &mut Module, needs_software: impl Fn(MathFn, Scalar) -> bool) {
    let mut ids: HashMap<(MathFn, Scalar), FuncId> = HashMap::new();
    let original = module.functions.len();
    for fi in 0..original {
        let mut body = std::mem::take(&mut module.functions[fi].body);
        let mut values = std::mem::take(&mut module.functions[fi].values);
        let mut get = |f: MathFn, s: Scalar| -> Option<FuncId> {
            if !needs_software(f, s) {
                return None;
            }
            if let Some(id) = ids.get(&(f, s)) {
                return Some(*id);
            }
            let name = function_name(f, s);
            let id = match module.functions.iter().position(|g| g.name == name) {
                Some(i) => FuncId(i as u32),
                None => {
                    let func = implement(f, s)?;
                    module.functions.push(func);
                    FuncId(module.functions.len() as u32 - 1)
                }
            };
            ids.insert((f, s), id);
            Some(id)
        };
        lower_block(&mut body, &mut values, &mut get);
        module.functions[fi].body = body;
        module.functions[fi].values = values;
    }
}

fn lower_block(
    block: &mut Block,
    values: &mut Vec<Type>,
    get: &mut impl FnMut(MathFn, Scalar) -> Option<FuncId>,
) {
    let stmts = std::mem::take(&mut block.stmts);
    for mut stmt in stmts {
        match &mut stmt {
            Stmt::Let { op, loc, .. } => {
                if let Op::Math(f, args) = op {
                    let s = values[args[0].0 as usize].scalar();
                    if let Some(fid) = s.filter(|s| s.is_float()).and_then(|s| get(*f, s)) {
                        let mut args = args.clone();
                        if *f == MathFn::Ldexp {
                            args[1] = ldexp_exponent(block, values, args[1], *loc);
                        }
                        *op = Op::Call(fid, args);
                    }
                }
            }
            Stmt::If {
                then_block,
                else_block,
                ..
            } => {
                lower_block(then_block, values, get);
                lower_block(else_block, values, get);
            }
            Stmt::Loop { body } => lower_block(body, values, get),
            _ => {}
        }
        block.stmts.push(stmt);
    }
}

/// An `int32` exponent for `ldexp` from any scalar: integers are clamped to
/// ±100000 (beyond which every float over- or underflows), floats truncated.
fn ldexp_exponent(block: &mut Block, values: &mut Vec<Type>, v: V, loc: Loc) -> V {
    let s = values[v.0 as usize].scalar().unwrap_or(Scalar::I32);
    if s == Scalar::I32 {
        return v;
    }
    let mut let_ = |op: Op, ty: Type| {
        values.push(ty);
        let value = ValueId(values.len() as u32 - 1);
        block.stmts.push(Stmt::Let { value, op, loc });
        value
    };
    let i32t = Type::Scalar(Scalar::I32);
    if !s.is_int() {
        return let_(Op::Cast(v), i32t);
    }
    let w = let_(Op::Cast(v), Type::I64);
    let hi = let_(Op::Const(Const::Int(100_000)), Type::I64);
    let lo = let_(Op::Const(Const::Int(-100_000)), Type::I64);
    let w = let_(Op::Binary(BinaryOp::Min, w, hi), Type::I64);
    let w = if s.is_signed_int() {
        let_(Op::Binary(BinaryOp::Max, w, lo), Type::I64)
    } else {
        w
    };
    let_(Op::Cast(w), i32t)
}

/// Builds a function expression by expression: a thin layer over
/// [`FunctionBuilder`] whose float constants and operations are of type `f`.
pub(crate) struct Cx {
    b: FunctionBuilder,
    /// The parameter types (the builder does not expose them).
    params: Vec<Type>,
    /// The float type of constants made with [`Cx::c`].
    pub f: Scalar,
}

impl Cx {
    fn new(name: String, params: Vec<Type>, ret: Type) -> Cx {
        Cx {
            b: FunctionBuilder::new(name, params.clone(), ret),
            params,
            f: Scalar::F64,
        }
    }

    fn param(&mut self, i: u32) -> V {
        let t = self.params[i as usize].clone();
        self.b.emit(Op::Param(i), t)
    }

    fn finish(mut self, r: V) -> Function {
        self.b.push(Stmt::Return { value: Some(r) });
        self.b.finish()
    }

    pub fn ty(&self, v: V) -> &Type {
        self.b.value_type(v)
    }

    fn sc(&self, v: V) -> Scalar {
        self.ty(v).scalar().expect("a scalar")
    }

    pub fn emit(&mut self, op: Op, ty: Type) -> V {
        self.b.emit(op, ty)
    }

    /// A float constant of type `self.f`.
    pub fn c(&mut self, x: f64) -> V {
        let t = Type::Scalar(self.f);
        self.emit(Op::Const(Const::Float(x)), t)
    }

    pub fn int(&mut self, x: i64, s: Scalar) -> V {
        self.emit(Op::Const(Const::Int(x)), Type::Scalar(s))
    }

    pub fn bin(&mut self, o: BinaryOp, a: V, b: V) -> V {
        let t = self.ty(a).clone();
        self.emit(Op::Binary(o, a, b), t)
    }
    pub fn add(&mut self, a: V, b: V) -> V {
        self.bin(BinaryOp::Add, a, b)
    }
    pub fn sub(&mut self, a: V, b: V) -> V {
        self.bin(BinaryOp::Sub, a, b)
    }
    pub fn mul(&mut self, a: V, b: V) -> V {
        self.bin(BinaryOp::Mul, a, b)
    }
    pub fn div(&mut self, a: V, b: V) -> V {
        self.bin(BinaryOp::Div, a, b)
    }
    pub fn min(&mut self, a: V, b: V) -> V {
        self.bin(BinaryOp::Min, a, b)
    }
    pub fn max(&mut self, a: V, b: V) -> V {
        self.bin(BinaryOp::Max, a, b)
    }
    pub fn and(&mut self, a: V, b: V) -> V {
        self.bin(BinaryOp::BitAnd, a, b)
    }
    pub fn or(&mut self, a: V, b: V) -> V {
        self.bin(BinaryOp::BitOr, a, b)
    }
    pub fn shl(&mut self, a: V, b: V) -> V {
        self.bin(BinaryOp::Shl, a, b)
    }
    pub fn shr(&mut self, a: V, b: V) -> V {
        self.bin(BinaryOp::Shr, a, b)
    }
    pub fn neg(&mut self, a: V) -> V {
        let t = self.ty(a).clone();
        self.emit(Op::Unary(UnaryOp::Neg, a), t)
    }
    pub fn not(&mut self, a: V) -> V {
        self.emit(Op::Unary(UnaryOp::Not, a), Type::BOOL)
    }
    /// `a + k`, `a * k`, ... with a float constant `k` of `a`'s type.
    pub fn addc(&mut self, a: V, k: f64) -> V {
        let k = self.konst(a, k);
        self.add(a, k)
    }
    pub fn mulc(&mut self, a: V, k: f64) -> V {
        let k = self.konst(a, k);
        self.mul(a, k)
    }
    /// `k - a`.
    pub fn rsubc(&mut self, k: f64, a: V) -> V {
        let k = self.konst(a, k);
        self.sub(k, a)
    }
    /// A constant of the same type as `like` (float or integer).
    pub fn konst(&mut self, like: V, k: f64) -> V {
        let t = self.ty(like).clone();
        let s = t.scalar().unwrap();
        let c = if s.is_float() {
            Const::Float(k)
        } else {
            Const::Int(k as i64)
        };
        self.emit(Op::Const(c), t)
    }

    pub fn math(&mut self, f: MathFn, args: &[V]) -> V {
        let t = if f.is_predicate() {
            Type::BOOL
        } else {
            self.ty(args[0]).clone()
        };
        self.emit(Op::Math(f, args.to_vec()), t)
    }
    pub fn fma(&mut self, a: V, b: V, c: V) -> V {
        self.math(MathFn::Fma, &[a, b, c])
    }
    pub fn abs(&mut self, a: V) -> V {
        self.math(MathFn::Fabs, &[a])
    }
    pub fn sqrt(&mut self, a: V) -> V {
        self.math(MathFn::Sqrt, &[a])
    }
    pub fn floor(&mut self, a: V) -> V {
        self.math(MathFn::Floor, &[a])
    }
    pub fn trunc(&mut self, a: V) -> V {
        self.math(MathFn::Trunc, &[a])
    }
    pub fn rint(&mut self, a: V) -> V {
        self.math(MathFn::Rint, &[a])
    }
    /// The magnitude of `mag` with the sign of `sign`.
    pub fn copysign(&mut self, mag: V, sign: V) -> V {
        self.math(MathFn::Copysign, &[mag, sign])
    }
    pub fn isnan(&mut self, a: V) -> V {
        self.math(MathFn::IsNan, &[a])
    }
    pub fn isinf(&mut self, a: V) -> V {
        self.math(MathFn::IsInf, &[a])
    }
    pub fn isfinite(&mut self, a: V) -> V {
        self.math(MathFn::IsFinite, &[a])
    }

    pub fn cmp(&mut self, o: CmpOp, a: V, b: V) -> V {
        self.emit(Op::Compare(o, a, b), Type::BOOL)
    }
    pub fn lt(&mut self, a: V, b: V) -> V {
        self.cmp(CmpOp::Lt, a, b)
    }
    pub fn le(&mut self, a: V, b: V) -> V {
        self.cmp(CmpOp::Le, a, b)
    }
    pub fn gt(&mut self, a: V, b: V) -> V {
        self.cmp(CmpOp::Gt, a, b)
    }
    pub fn ge(&mut self, a: V, b: V) -> V {
        self.cmp(CmpOp::Ge, a, b)
    }
    pub fn eq(&mut self, a: V, b: V) -> V {
        self.cmp(CmpOp::Eq, a, b)
    }
    pub fn ne(&mut self, a: V, b: V) -> V {
        self.cmp(CmpOp::Ne, a, b)
    }
    /// Comparisons with a constant of `a`'s type.
    pub fn ltc(&mut self, a: V, k: f64) -> V {
        let k = self.konst(a, k);
        self.lt(a, k)
    }
    pub fn lec(&mut self, a: V, k: f64) -> V {
        let k = self.konst(a, k);
        self.le(a, k)
    }
    pub fn gtc(&mut self, a: V, k: f64) -> V {
        let k = self.konst(a, k);
        self.gt(a, k)
    }
    pub fn gec(&mut self, a: V, k: f64) -> V {
        let k = self.konst(a, k);
        self.ge(a, k)
    }
    pub fn eqc(&mut self, a: V, k: f64) -> V {
        let k = self.konst(a, k);
        self.eq(a, k)
    }

    pub fn sel(&mut self, c: V, a: V, b: V) -> V {
        let t = self.ty(a).clone();
        self.emit(Op::Select(c, a, b), t)
    }
    /// `c ? k : b` with a constant `k` of `b`'s type.
    pub fn selc(&mut self, c: V, k: f64, b: V) -> V {
        let k = self.konst(b, k);
        self.sel(c, k, b)
    }

    pub fn cast(&mut self, a: V, s: Scalar) -> V {
        self.emit(Op::Cast(a), Type::Scalar(s))
    }
    /// The bits of a float as a signed integer of its size.
    pub fn bits(&mut self, a: V) -> V {
        let s = if self.sc(a) == Scalar::F32 {
            Scalar::I32
        } else {
            Scalar::I64
        };
        self.emit(Op::Bitcast(a), Type::Scalar(s))
    }
    /// The float whose bits are the integer `i` (of 32 or 64 bits).
    pub fn float_of_bits(&mut self, i: V) -> V {
        let s = if self.sc(i).size() == 4 {
            Scalar::F32
        } else {
            Scalar::F64
        };
        self.emit(Op::Bitcast(i), Type::Scalar(s))
    }

    /// `c[0] + x (c[1] + x (c[2] + ...))`.
    pub fn poly(&mut self, x: V, c: &[f64]) -> V {
        let mut acc = self.konst(x, c[c.len() - 1]);
        for &k in c.iter().rev().skip(1) {
            acc = self.mul(acc, x);
            acc = self.addc(acc, k);
        }
        acc
    }

    // ---- structured control flow through locals ----

    pub fn local(&mut self, init: V) -> LocalId {
        let t = self.ty(init).clone();
        let l = self.b.add_local("$m", t);
        self.store(l, init);
        l
    }
    pub fn store(&mut self, local: LocalId, value: V) {
        self.b.push(Stmt::Store { local, value });
    }
    pub fn load(&mut self, l: LocalId) -> V {
        let t = self.b.local_type(l).clone();
        self.emit(Op::LoadLocal(l), t)
    }
    /// `loop { body(cx) }`; the body leaves with [`Cx::break_`].
    pub fn loop_(&mut self, body: impl FnOnce(&mut Cx)) {
        self.b.open_block();
        body(self);
        let body = self.b.close_block();
        self.b.push(Stmt::Loop { body });
    }
    pub fn break_if(&mut self, cond: V) {
        self.b.open_block();
        self.b.push(Stmt::Break);
        let then_block = self.b.close_block();
        self.b.push(Stmt::If {
            cond,
            then_block,
            else_block: Block::default(),
        });
    }

    // ---- double-double arithmetic (float64) ----

    pub fn dd(&mut self, h: V, l: V) -> DD {
        DD { h, l }
    }
    pub fn ddc(&mut self, k: (f64, f64)) -> DD {
        let h = self.c(k.0);
        let l = self.c(k.1);
        DD { h, l }
    }
    /// `a` as a double-double with a zero tail.
    pub fn dd1(&mut self, a: V) -> DD {
        let l = self.konst(a, 0.0);
        DD { h: a, l }
    }
    /// `a + b` exactly (Knuth).
    pub fn two_sum(&mut self, a: V, b: V) -> DD {
        let s = self.add(a, b);
        let bb = self.sub(s, a);
        let ab = self.sub(s, bb);
        let e1 = self.sub(a, ab);
        let e2 = self.sub(b, bb);
        let l = self.add(e1, e2);
        DD { h: s, l }
    }
    /// `a + b` exactly when `|a| ≥ |b|` (Dekker).
    pub fn fast_two_sum(&mut self, a: V, b: V) -> DD {
        let s = self.add(a, b);
        let t = self.sub(s, a);
        let l = self.sub(b, t);
        DD { h: s, l }
    }
    /// `a * b` exactly (through `Fma`).
    pub fn two_prod(&mut self, a: V, b: V) -> DD {
        let p = self.mul(a, b);
        let np = self.neg(p);
        let l = self.fma(a, b, np);
        DD { h: p, l }
    }
    pub fn dd_add(&mut self, x: DD, y: DD) -> DD {
        let s = self.two_sum(x.h, y.h);
        let t = self.add(x.l, y.l);
        let l = self.add(s.l, t);
        self.fast_two_sum(s.h, l)
    }
    pub fn dd_add1(&mut self, x: DD, y: V) -> DD {
        let s = self.two_sum(x.h, y);
        let l = self.add(s.l, x.l);
        self.fast_two_sum(s.h, l)
    }
    pub fn dd_neg(&mut self, x: DD) -> DD {
        let h = self.neg(x.h);
        let l = self.neg(x.l);
        DD { h, l }
    }
    pub fn dd_mul(&mut self, x: DD, y: DD) -> DD {
        let p = self.two_prod(x.h, y.h);
        let a = self.mul(x.h, y.l);
        let b = self.mul(x.l, y.h);
        let t = self.add(a, b);
        let l = self.add(p.l, t);
        self.fast_two_sum(p.h, l)
    }
    pub fn dd_mul1(&mut self, x: DD, y: V) -> DD {
        let p = self.two_prod(x.h, y);
        let b = self.mul(x.l, y);
        let l = self.add(p.l, b);
        self.fast_two_sum(p.h, l)
    }
    /// `x / y` to about 2⁻¹⁰⁴.
    pub fn dd_div(&mut self, x: DD, y: DD) -> DD {
        let q = self.div(x.h, y.h);
        // r = x - q y, exactly enough: x.h - q y.h through Fma.
        let nq = self.neg(q);
        let r = self.fma(nq, y.h, x.h);
        let r = self.add(r, x.l);
        let qyl = self.mul(q, y.l);
        let r = self.sub(r, qyl);
        let l = self.div(r, y.h);
        self.fast_two_sum(q, l)
    }
    pub fn round(&mut self, x: DD) -> V {
        self.add(x.h, x.l)
    }
    pub fn dd_sel(&mut self, c: V, a: DD, b: DD) -> DD {
        let h = self.sel(c, a.h, b.h);
        let l = self.sel(c, a.l, b.l);
        DD { h, l }
    }
    /// `√x` of a double-double `x ≥ 0`, as a double-double.
    pub fn dd_sqrt(&mut self, x: DD) -> DD {
        let s = self.sqrt(x.h);
        let ns = self.neg(s);
        let r = self.fma(ns, s, x.h);
        let r = self.add(r, x.l);
        let d = self.add(s, s);
        let l = self.div(r, d);
        // √0: the tail would be 0/0.
        let zero = self.eqc(s, 0.0);
        let l = self.selc(zero, 0.0, l);
        DD { h: s, l }
    }

    // ---- powers of two (float64) ----

    /// `2^k` for an `int64` `k` in `[-1022, 1023]`.
    pub fn pow2(&mut self, k: V) -> V {
        let e = self.addc(k, 1023.0);
        let sh = self.int(52, Scalar::I64);
        let b = self.shl(e, sh);
        self.float_of_bits(b)
    }
    /// `x * 2^n` for an `int64` `n` in `[-2000, 2000]`, in two exact-or-final
    /// steps (`x` within a few binades of 1): a subnormal result is rounded once.
    pub fn scale(&mut self, x: V, n: V) -> V {
        let one = self.int(1, Scalar::I64);
        let n1 = self.shr(n, one);
        let n2 = self.sub(n, n1);
        let p1 = self.pow2(n1);
        let p2 = self.pow2(n2);
        let y = self.mul(x, p1);
        self.mul(y, p2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::verify_module;

    fn verifies(f: Function) {
        let m = Module {
            functions: vec![f],
            entry: FuncId(0),
            exceptions: vec![],
        };
        verify_module(&m).expect("verifies");
    }

    #[test]
    fn every_implementation_verifies() {
        for &f in F64_FUNCTIONS {
            verifies(implement(f, Scalar::F64).unwrap());
        }
        for &f in F32_FUNCTIONS {
            verifies(implement(f, Scalar::F32).unwrap());
        }
        for &f in F32_ONLY_FUNCTIONS {
            let g = implement_f32_only(f).unwrap();
            assert!(g.values.iter().all(|t| *t != Type::F64), "{}", g.name);
            verifies(g);
        }
    }

    #[test]
    fn lowering_replaces_only_what_the_device_lacks() {
        let mut b = FunctionBuilder::new("k", vec![Type::F64], Type::F64);
        let x = b.emit(Op::Param(0), Type::F64);
        let s = b.emit(Op::Math(MathFn::Sqrt, vec![x]), Type::F64);
        let e = b.emit(Op::Math(MathFn::Exp, vec![s]), Type::F64);
        b.push(Stmt::Return { value: Some(e) });
        let mut m = Module {
            functions: vec![b.finish()],
            entry: FuncId(0),
            exceptions: vec![],
        };
        lower_math_calls(&mut m, |f, _| f != MathFn::Sqrt);
        assert_eq!(m.functions.len(), 2);
        assert_eq!(m.functions[1].name, "hs_math_exp_f64");
        let ops: Vec<&Op> = m.functions[0]
            .body
            .stmts
            .iter()
            .filter_map(|s| match s {
                Stmt::Let { op, .. } => Some(op),
                _ => None,
            })
            .collect();
        assert!(matches!(ops[1], Op::Math(MathFn::Sqrt, _)));
        assert!(matches!(ops[2], Op::Call(FuncId(1), _)));
        verify_module(&m).expect("verifies");
    }
}
