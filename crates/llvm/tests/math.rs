//! Every `MathFn` against Rust's `f64`/`f32` methods or the C library.
mod common;
use common::*;
use hypersonic_ir::*;

extern "C" {
    fn tgamma(x: f64) -> f64;
    fn lgamma(x: f64) -> f64;
    fn erf(x: f64) -> f64;
    fn erfc(x: f64) -> f64;
    fn nextafter(x: f64, y: f64) -> f64;
    fn ldexp(x: f64, n: i32) -> f64;
    fn tgammaf(x: f32) -> f32;
    fn erff(x: f32) -> f32;
}

fn math_fn(f: MathFn, s: Scalar) -> hypersonic_llvm::HostModule {
    let t = Type::Scalar(s);
    let mut params = vec![t.clone(); f.arity()];
    if f == MathFn::Ldexp {
        params[1] = Type::Scalar(Scalar::I32);
    }
    let ret = if f.is_predicate() { Type::BOOL } else { t };
    single(unary_fn(&format!("m_{f:?}"), params, ret, |p| {
        Op::Math(f, p.to_vec())
    }))
}

fn reference(f: MathFn, a: f64, b: f64, c: f64) -> f64 {
    use MathFn::*;
    let bool_ = |x: bool| x as u8 as f64;
    unsafe {
        match f {
            Sin => a.sin(),
            Cos => a.cos(),
            Tan => a.tan(),
            Asin => a.asin(),
            Acos => a.acos(),
            Atan => a.atan(),
            Atan2 => a.atan2(b),
            Sinh => a.sinh(),
            Cosh => a.cosh(),
            Tanh => a.tanh(),
            Asinh => a.asinh(),
            Acosh => a.acosh(),
            Atanh => a.atanh(),
            Exp => a.exp(),
            Exp2 => a.exp2(),
            Expm1 => a.exp_m1(),
            Log => a.ln(),
            Log2 => a.log2(),
            Log10 => a.log10(),
            Log1p => a.ln_1p(),
            Sqrt => a.sqrt(),
            Cbrt => a.cbrt(),
            Pow => a.powf(b),
            Hypot => a.hypot(b),
            Floor => a.floor(),
            Ceil => a.ceil(),
            Trunc => a.trunc(),
            Rint => a.round_ties_even(),
            Fabs => a.abs(),
            Fmod => a % b,
            Copysign => a.copysign(b),
            Erf => erf(a),
            Erfc => erfc(a),
            Gamma => tgamma(a),
            Lgamma => lgamma(a),
            Nextafter => nextafter(a, b),
            Ldexp => ldexp(a, b as i32),
            IsNan => bool_(a.is_nan()),
            IsInf => bool_(a.is_infinite()),
            IsFinite => bool_(a.is_finite()),
            Signbit => bool_(a.is_sign_negative()),
            Fma => a.mul_add(b, c),
        }
    }
}

const ALL: [MathFn; 42] = {
    use MathFn::*;
    [
        Sin, Cos, Tan, Asin, Acos, Atan, Atan2, Sinh, Cosh, Tanh, Asinh, Acosh, Atanh, Exp, Exp2,
        Expm1, Log, Log2, Log10, Log1p, Sqrt, Cbrt, Pow, Hypot, Floor, Ceil, Trunc, Rint, Fabs,
        Fmod, Copysign, Erf, Erfc, Gamma, Lgamma, Nextafter, Ldexp, IsNan, IsInf, IsFinite,
        Signbit, Fma,
    ]
};

#[test]
fn every_math_fn_f64() {
    let mut r = Rng(1234);
    for f in ALL {
        let h = math_fn(f, Scalar::F64);
        for k in 0..400 {
            let mut a = r.f64();
            if k % 3 == 0 {
                a /= 300.0; // inside the domains of asin, atanh, ...
            }
            let b = if f == MathFn::Ldexp {
                ((r.next() % 200) as i64 - 100) as f64
            } else {
                r.f64() / 50.0
            };
            let c = r.f64();
            let bslot = if f == MathFn::Ldexp {
                b as i32 as u32 as u64
            } else {
                b.to_bits()
            };
            let args = [a.to_bits(), bslot, c.to_bits()];
            let out = call1(&h, &args[..f.arity()]);
            let want = reference(f, a, b, c);
            let got = if f.is_predicate() {
                out as u8 as f64
            } else {
                f64::from_bits(out)
            };
            // Intrinsics and libm may differ in the last ulp (e.g. LLVM's constant
            // folding or a vector variant); everything else is exact.
            assert!(
                same_f64(got, want) || close_f64(got, want, 4.0 * f64::EPSILON),
                "{f:?}({a}, {b}, {c}) = {got}, want {want}"
            );
        }
    }
}

#[test]
fn math_fn_f32() {
    let mut r = Rng(99);
    type F32Case = (MathFn, fn(f32) -> f32);
    let cases: [F32Case; 7] = [
        (MathFn::Sqrt, f32::sqrt),
        (MathFn::Sin, f32::sin),
        (MathFn::Exp, f32::exp),
        (MathFn::Atan, f32::atan),
        (MathFn::Floor, f32::floor),
        (MathFn::Gamma, |x| unsafe { tgammaf(x) }),
        (MathFn::Erf, |x| unsafe { erff(x) }),
    ];
    for (f, reference) in cases {
        let h = math_fn(f, Scalar::F32);
        for _ in 0..300 {
            let a = r.f64() as f32 / 10.0;
            let got = f32::from_bits(call1(&h, &[a.to_bits() as u64]) as u32);
            let want = reference(a);
            assert!(
                (got.is_nan() && want.is_nan())
                    || got == want
                    || (got - want).abs() <= 4.0 * f32::EPSILON * want.abs(),
                "{f:?}({a}) = {got}, want {want}"
            );
        }
    }
    let h = math_fn(MathFn::IsNan, Scalar::F32);
    assert_eq!(call1(&h, &[f32::NAN.to_bits() as u64]), 1);
    assert_eq!(call1(&h, &[1.0f32.to_bits() as u64]), 0);
}

#[test]
fn predicates_survive_fastmath() {
    let t = Type::F64;
    let m = module(
        vec![unary_fn("isnan", vec![t], Type::BOOL, |p| {
            Op::Math(MathFn::IsNan, vec![p[0]])
        })],
        vec![],
    );
    let h = compile_opts(
        &m,
        hypersonic_llvm::HostOptions {
            opt_level: 3,
            fastmath: true,
        },
    );
    assert_eq!(call1(&h, &[f64::NAN.to_bits()]), 1);
    assert_eq!(call1(&h, &[2.5f64.to_bits()]), 0);
}
