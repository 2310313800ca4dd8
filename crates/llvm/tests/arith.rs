//! Integer, float, complex arithmetic, comparisons and casts against Rust references
//! with Python's semantics.
mod common;
use common::*;
use hypersonic_ir::*;

fn bin(s: Scalar, o: BinaryOp) -> hypersonic_llvm::HostModule {
    let t = Type::Scalar(s);
    single(unary_fn("bin", vec![t.clone(), t.clone()], t, |p| {
        Op::Binary(o, p[0], p[1])
    }))
}

fn py_floordiv(a: i64, b: i64) -> i64 {
    if b == 0 {
        return 0;
    }
    let q = a.wrapping_div(b);
    if a.wrapping_rem(b) != 0 && ((a < 0) != (b < 0)) {
        q - 1
    } else {
        q
    }
}

fn py_mod(a: i64, b: i64) -> i64 {
    if b == 0 {
        return 0;
    }
    let r = a.wrapping_rem(b);
    if r != 0 && ((r < 0) != (b < 0)) {
        r + b
    } else {
        r
    }
}

#[test]
fn int_wrapping_add_sub_mul() {
    let (add, sub, mul) = (
        bin(Scalar::I64, BinaryOp::Add),
        bin(Scalar::I64, BinaryOp::Sub),
        bin(Scalar::I64, BinaryOp::Mul),
    );
    let mut r = Rng(0x1234_5678_9abc_def1);
    for _ in 0..2000 {
        let (a, b) = (r.i64(), r.i64());
        let args = [a as u64, b as u64];
        assert_eq!(call1(&add, &args) as i64, a.wrapping_add(b));
        assert_eq!(call1(&sub, &args) as i64, a.wrapping_sub(b));
        assert_eq!(call1(&mul, &args) as i64, a.wrapping_mul(b));
    }
    // Narrow types wrap at their width; results come back sign-extended.
    let add8 = bin(Scalar::I8, BinaryOp::Add);
    let mul32 = bin(Scalar::U32, BinaryOp::Mul);
    for _ in 0..500 {
        let (a, b) = (r.next() as i8, r.next() as i8);
        assert_eq!(
            call1(&add8, &[a as u8 as u64, b as u8 as u64]) as i64,
            a.wrapping_add(b) as i64
        );
        let (a, b) = (r.next() as u32, r.next() as u32);
        assert_eq!(
            call1(&mul32, &[a as u64, b as u64]),
            a.wrapping_mul(b) as u64
        );
    }
}

#[test]
fn int_floordiv_mod_python_semantics() {
    let (fd, md) = (
        bin(Scalar::I64, BinaryOp::FloorDiv),
        bin(Scalar::I64, BinaryOp::Mod),
    );
    let run =
        |h: &hypersonic_llvm::HostModule, a: i64, b: i64| call1(h, &[a as u64, b as u64]) as i64;
    assert_eq!(run(&fd, -7, 2), -4);
    assert_eq!(run(&md, -7, 2), 1);
    assert_eq!(run(&md, 7, -2), -1);
    assert_eq!(run(&fd, 7, -2), -4);
    assert_eq!(run(&fd, 5, 0), 0);
    assert_eq!(run(&md, 5, 0), 0);
    assert_eq!(run(&fd, i64::MIN, -1), i64::MIN);
    assert_eq!(run(&md, i64::MIN, -1), 0);
    let mut r = Rng(77);
    for _ in 0..3000 {
        let (a, b) = (r.i64(), r.i64());
        assert_eq!(run(&fd, a, b), py_floordiv(a, b), "{a} // {b}");
        assert_eq!(run(&md, a, b), py_mod(a, b), "{a} % {b}");
    }
    // Narrow signed and unsigned types.
    let fd8 = bin(Scalar::I8, BinaryOp::FloorDiv);
    let md8 = bin(Scalar::I8, BinaryOp::Mod);
    for a in i8::MIN..=i8::MAX {
        for b in [-128i8, -7, -2, -1, 0, 1, 3, 127] {
            let args = [a as u8 as u64, b as u8 as u64];
            let want_q = if b == -1 {
                a.wrapping_neg()
            } else {
                py_floordiv(a as i64, b as i64) as i8
            };
            assert_eq!(call1(&fd8, &args) as i8, want_q, "{a} // {b}");
            assert_eq!(
                call1(&md8, &args) as i8,
                py_mod(a as i64, b as i64) as i8,
                "{a} % {b}"
            );
        }
    }
    let fdu = bin(Scalar::U64, BinaryOp::FloorDiv);
    let mdu = bin(Scalar::U64, BinaryOp::Mod);
    for _ in 0..500 {
        let (a, b) = (r.next(), r.next() >> (r.next() % 64));
        let (q, m) = (a.checked_div(b).unwrap_or(0), a.checked_rem(b).unwrap_or(0));
        assert_eq!(call1(&fdu, &[a, b]), q);
        assert_eq!(call1(&mdu, &[a, b]), m);
    }
}

/// CPython's `float_divmod`.
fn py_fdivmod(vx: f64, wx: f64) -> (f64, f64) {
    let mut m = vx % wx;
    let mut div = (vx - m) / wx;
    if m != 0.0 {
        if (wx < 0.0) != (m < 0.0) {
            m += wx;
            div -= 1.0;
        }
    } else {
        m = 0.0f64.copysign(wx);
    }
    let fd = if div != 0.0 {
        let mut f = div.floor();
        if div - f > 0.5 {
            f += 1.0;
        }
        f
    } else {
        0.0f64.copysign(vx / wx)
    };
    (fd, m)
}

#[test]
fn float_floordiv_mod_python_semantics() {
    let (fd, md) = (
        bin(Scalar::F64, BinaryOp::FloorDiv),
        bin(Scalar::F64, BinaryOp::Mod),
    );
    let run = |h: &hypersonic_llvm::HostModule, a: f64, b: f64| {
        f64::from_bits(call1(h, &[a.to_bits(), b.to_bits()]))
    };
    assert_eq!(run(&fd, -7.5, 2.0), -4.0);
    assert_eq!(run(&md, -7.5, 2.0), 0.5);
    assert_eq!(run(&md, 7.5, -2.0), -0.5);
    assert_eq!(run(&fd, 7.0, -2.0), -4.0);
    assert!(same_f64(run(&md, -4.0, 2.0), 0.0));
    assert!(same_f64(run(&md, 4.0, -2.0), -0.0));
    let mut r = Rng(99);
    for _ in 0..3000 {
        let (a, b) = (r.f64(), r.f64());
        if b == 0.0 {
            continue;
        }
        let (q, m) = py_fdivmod(a, b);
        assert!(
            same_f64(run(&fd, a, b), q),
            "{a} // {b}: {} vs {q}",
            run(&fd, a, b)
        );
        assert!(
            same_f64(run(&md, a, b), m),
            "{a} % {b}: {} vs {m}",
            run(&md, a, b)
        );
    }
    // NumPy's answers for a zero divisor.
    assert_eq!(run(&fd, 1.0, 0.0), f64::INFINITY);
    assert!(run(&md, 1.0, 0.0).is_nan());
    // float32
    let fd32 = bin(Scalar::F32, BinaryOp::FloorDiv);
    let got = f32::from_bits(call1(
        &fd32,
        &[(-7.5f32).to_bits() as u64, 2.0f32.to_bits() as u64],
    ) as u32);
    assert_eq!(got, -4.0);
}

fn py_ipow(base: i64, exp: i64) -> i64 {
    if exp < 0 {
        return match base {
            1 => 1,
            -1 => {
                if exp % 2 == 0 {
                    1
                } else {
                    -1
                }
            }
            _ => 0,
        };
    }
    if exp <= u32::MAX as i64 {
        return base.wrapping_pow(exp as u32);
    }
    let (mut acc, mut b, mut e) = (1i64, base, exp);
    while e > 0 {
        if e & 1 == 1 {
            acc = acc.wrapping_mul(b);
        }
        b = b.wrapping_mul(b);
        e >>= 1;
    }
    acc
}

#[test]
fn int_and_float_pow() {
    let p = bin(Scalar::I64, BinaryOp::Pow);
    let mut r = Rng(5);
    for _ in 0..2000 {
        let base = r.i64() % 20;
        let exp = if r.next().is_multiple_of(4) {
            r.i64()
        } else {
            r.i64() % 70
        };
        assert_eq!(
            call1(&p, &[base as u64, exp as u64]) as i64,
            py_ipow(base, exp),
            "{base} ** {exp}"
        );
    }
    assert_eq!(call1(&p, &[3, 4]) as i64, 81);
    assert_eq!(call1(&p, &[(-1i64) as u64, (-3i64) as u64]) as i64, -1);
    assert_eq!(call1(&p, &[2, (-3i64) as u64]) as i64, 0);
    let pu = bin(Scalar::U8, BinaryOp::Pow);
    assert_eq!(call1(&pu, &[3, 5]) as u8, 3u8.wrapping_pow(5));
    let pf = bin(Scalar::F64, BinaryOp::Pow);
    for _ in 0..500 {
        let (a, b) = (r.f64(), r.f64() / 100.0);
        let got = f64::from_bits(call1(&pf, &[a.to_bits(), b.to_bits()]));
        assert!(same_f64(got, a.powf(b)), "{a} ** {b}");
    }
}

#[test]
fn shifts_and_bits() {
    let shl = bin(Scalar::I64, BinaryOp::Shl);
    let shr = bin(Scalar::I64, BinaryOp::Shr);
    let shru = bin(Scalar::U32, BinaryOp::Shr);
    let and = bin(Scalar::I64, BinaryOp::BitAnd);
    let xor = bin(Scalar::I64, BinaryOp::BitXor);
    let mut r = Rng(11);
    for _ in 0..2000 {
        let a = r.i64();
        let c = (r.next() % 80) as i64 - 8;
        let args = [a as u64, c as u64];
        let want_l = if (0..64).contains(&c) { a << c } else { 0 };
        let want_r = if (0..64).contains(&c) {
            a >> c
        } else if a < 0 {
            -1
        } else {
            0
        };
        assert_eq!(call1(&shl, &args) as i64, want_l, "{a} << {c}");
        assert_eq!(call1(&shr, &args) as i64, want_r, "{a} >> {c}");
        let au = r.next() as u32;
        let want_u = if (0..32).contains(&c) { au >> c } else { 0 };
        assert_eq!(call1(&shru, &[au as u64, c as u32 as u64]) as u32, want_u);
        let b = r.i64();
        assert_eq!(call1(&and, &[a as u64, b as u64]) as i64, a & b);
        assert_eq!(call1(&xor, &[a as u64, b as u64]) as i64, a ^ b);
    }
}

#[test]
fn min_max_propagate_nan() {
    let mn = bin(Scalar::F64, BinaryOp::Min);
    let mx = bin(Scalar::F64, BinaryOp::Max);
    let imn = bin(Scalar::I64, BinaryOp::Min);
    let umx = bin(Scalar::U64, BinaryOp::Max);
    let mut r = Rng(3);
    for _ in 0..1000 {
        let (a, b) = (r.f64(), r.f64());
        let args = [a.to_bits(), b.to_bits()];
        let want_min = if a.is_nan() || b.is_nan() {
            f64::NAN
        } else {
            a.minimum_ref(b)
        };
        let want_max = if a.is_nan() || b.is_nan() {
            f64::NAN
        } else {
            a.maximum_ref(b)
        };
        assert!(
            same_f64(f64::from_bits(call1(&mn, &args)), want_min),
            "min({a}, {b})"
        );
        assert!(
            same_f64(f64::from_bits(call1(&mx, &args)), want_max),
            "max({a}, {b})"
        );
        let (x, y) = (r.i64(), r.i64());
        assert_eq!(call1(&imn, &[x as u64, y as u64]) as i64, x.min(y));
        assert_eq!(call1(&umx, &[x as u64, y as u64]), (x as u64).max(y as u64));
    }
}

trait MinMaxRef {
    fn minimum_ref(self, o: f64) -> f64;
    fn maximum_ref(self, o: f64) -> f64;
}
impl MinMaxRef for f64 {
    // IEEE 754-2019 minimum/maximum: -0 < +0.
    fn minimum_ref(self, o: f64) -> f64 {
        if self == o {
            if self.is_sign_negative() {
                self
            } else {
                o
            }
        } else {
            self.min(o)
        }
    }
    fn maximum_ref(self, o: f64) -> f64 {
        if self == o {
            if self.is_sign_negative() {
                o
            } else {
                self
            }
        } else {
            self.max(o)
        }
    }
}

#[test]
fn unary_ops() {
    let neg = single(unary_fn("neg", vec![Type::I64], Type::I64, |p| {
        Op::Unary(UnaryOp::Neg, p[0])
    }));
    let abs = single(unary_fn("abs", vec![Type::I64], Type::I64, |p| {
        Op::Unary(UnaryOp::Abs, p[0])
    }));
    let inv = single(unary_fn("inv", vec![Type::I64], Type::I64, |p| {
        Op::Unary(UnaryOp::Invert, p[0])
    }));
    let fabs = single(unary_fn("fabs", vec![Type::F64], Type::F64, |p| {
        Op::Unary(UnaryOp::Abs, p[0])
    }));
    let not = single(unary_fn("not", vec![Type::BOOL], Type::BOOL, |p| {
        Op::Unary(UnaryOp::Not, p[0])
    }));
    let mut r = Rng(8);
    for _ in 0..1000 {
        let a = r.i64();
        assert_eq!(call1(&neg, &[a as u64]) as i64, a.wrapping_neg());
        assert_eq!(call1(&abs, &[a as u64]) as i64, a.wrapping_abs());
        assert_eq!(call1(&inv, &[a as u64]) as i64, !a);
        let x = r.f64();
        assert!(same_f64(
            f64::from_bits(call1(&fabs, &[x.to_bits()])),
            x.abs()
        ));
    }
    assert_eq!(call1(&not, &[1]), 0);
    assert_eq!(call1(&not, &[0]), 1);
}

fn cast_fn(from: Scalar, to: Scalar) -> hypersonic_llvm::HostModule {
    single(unary_fn(
        "cast",
        vec![Type::Scalar(from)],
        Type::Scalar(to),
        |p| Op::Cast(p[0]),
    ))
}

#[test]
fn casts() {
    let f2i = cast_fn(Scalar::F64, Scalar::I64);
    let f2i32 = cast_fn(Scalar::F64, Scalar::I32);
    let f2u8 = cast_fn(Scalar::F64, Scalar::U8);
    let f2b = cast_fn(Scalar::F64, Scalar::Bool);
    let i2b = cast_fn(Scalar::I64, Scalar::Bool);
    let i2f = cast_fn(Scalar::I64, Scalar::F64);
    let u2f = cast_fn(Scalar::U64, Scalar::F64);
    let i2i8 = cast_fn(Scalar::I64, Scalar::I8);
    let i8to64 = cast_fn(Scalar::I8, Scalar::I64);
    let u16to64 = cast_fn(Scalar::U16, Scalar::I64);
    let b2f = cast_fn(Scalar::Bool, Scalar::F64);
    let f2f32 = cast_fn(Scalar::F64, Scalar::F32);
    let c2f = cast_fn(Scalar::C128, Scalar::F64);
    let f2c = cast_fn(Scalar::F64, Scalar::C128);
    let c2b = cast_fn(Scalar::C128, Scalar::Bool);
    let mut r = Rng(21);
    for _ in 0..2000 {
        let x = r.f64()
            * if r.next().is_multiple_of(3) {
                1e17
            } else {
                1.0
            };
        let xb = [x.to_bits()];
        // Rust's `as` saturates and maps NaN to 0, like llvm.fptosi.sat.
        assert_eq!(call1(&f2i, &xb) as i64, x as i64, "{x}");
        assert_eq!(call1(&f2i32, &xb) as i32, x as i32, "{x}");
        assert_eq!(call1(&f2u8, &xb) as u8, x as u8, "{x}");
        assert_eq!(call1(&f2b, &xb), (x != 0.0 || x.is_nan()) as u64, "{x}");
        assert_eq!(
            f32::from_bits(call1(&f2f32, &xb) as u32).to_bits(),
            (x as f32).to_bits()
        );
        let i = r.i64();
        assert_eq!(call1(&i2b, &[i as u64]), (i != 0) as u64);
        assert_eq!(f64::from_bits(call1(&i2f, &[i as u64])), i as f64);
        assert_eq!(f64::from_bits(call1(&u2f, &[i as u64])), i as u64 as f64);
        assert_eq!(call1(&i2i8, &[i as u64]) as i64, i as i8 as i64);
        assert_eq!(call1(&i8to64, &[i as u8 as u64]) as i64, i as i8 as i64);
        assert_eq!(call1(&u16to64, &[i as u16 as u64]) as i64, i as u16 as i64);
        let (re, im) = (r.f64(), r.f64());
        assert!(same_f64(
            f64::from_bits(call1(&c2f, &[re.to_bits(), im.to_bits()])),
            re
        ));
        assert_eq!(
            call1(&c2b, &[re.to_bits(), im.to_bits()]),
            (re != 0.0 || im != 0.0 || re.is_nan() || im.is_nan()) as u64
        );
        let (st, out) = call(&f2c, &[re.to_bits()], 2);
        assert_eq!(st, 0);
        assert!(same_f64(f64::from_bits(out[0]), re) && out[1] == 0);
    }
    assert_eq!(f64::from_bits(call1(&b2f, &[1])), 1.0);
    assert_eq!(call1(&f2i, &[f64::NAN.to_bits()]), 0);
    assert_eq!(call1(&f2i, &[1e300f64.to_bits()]) as i64, i64::MAX);
}

#[test]
fn comparisons() {
    let ops = [
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
    ];
    let mut r = Rng(42);
    for o in ops {
        let fi = single(unary_fn(
            "cmpi",
            vec![Type::I64, Type::I64],
            Type::BOOL,
            |p| Op::Compare(o, p[0], p[1]),
        ));
        let fu = single(unary_fn(
            "cmpu",
            vec![Type::Scalar(Scalar::U64); 2],
            Type::BOOL,
            |p| Op::Compare(o, p[0], p[1]),
        ));
        let ff = single(unary_fn(
            "cmpf",
            vec![Type::F64, Type::F64],
            Type::BOOL,
            |p| Op::Compare(o, p[0], p[1]),
        ));
        for _ in 0..300 {
            let (a, b) = (
                r.i64(),
                if r.next().is_multiple_of(4) {
                    0
                } else {
                    r.i64()
                },
            );
            let want = |x: std::cmp::Ordering| match o {
                CmpOp::Eq => x.is_eq(),
                CmpOp::Ne => x.is_ne(),
                CmpOp::Lt => x.is_lt(),
                CmpOp::Le => x.is_le(),
                CmpOp::Gt => x.is_gt(),
                CmpOp::Ge => x.is_ge(),
            };
            assert_eq!(call1(&fi, &[a as u64, b as u64]) == 1, want(a.cmp(&b)));
            assert_eq!(
                call1(&fu, &[a as u64, b as u64]) == 1,
                want((a as u64).cmp(&(b as u64)))
            );
            let (x, y) = (r.f64(), r.f64());
            let wf = match x.partial_cmp(&y) {
                Some(ord) => want(ord),
                None => o == CmpOp::Ne,
            };
            assert_eq!(
                call1(&ff, &[x.to_bits(), y.to_bits()]) == 1,
                wf,
                "{x} {o:?} {y}"
            );
        }
    }
}

fn cmul(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    (a.0 * b.0 - a.1 * b.1, a.0 * b.1 + a.1 * b.0)
}

#[test]
fn complex_arithmetic() {
    let c = Scalar::C128;
    let mul = bin(c, BinaryOp::Mul);
    let div = bin(c, BinaryOp::Div);
    let add = bin(c, BinaryOp::Add);
    let eq = single(unary_fn("ceq", vec![Type::Scalar(c); 2], Type::BOOL, |p| {
        Op::Compare(CmpOp::Eq, p[0], p[1])
    }));
    let ne = single(unary_fn("cne", vec![Type::Scalar(c); 2], Type::BOOL, |p| {
        Op::Compare(CmpOp::Ne, p[0], p[1])
    }));
    let mut r = Rng(17);
    for _ in 0..1000 {
        let a = (
            (r.next() % 2000) as f64 / 7.0 - 140.0,
            (r.next() % 2000) as f64 / 3.0 - 300.0,
        );
        let b = (
            (r.next() % 2000) as f64 / 11.0 - 90.0,
            (r.next() % 2000) as f64 / 13.0 - 77.0,
        );
        let args = [a.0.to_bits(), a.1.to_bits(), b.0.to_bits(), b.1.to_bits()];
        let (st, m) = call(&mul, &args, 2);
        assert_eq!(st, 0);
        let want = cmul(a, b);
        assert_eq!((f64::from_bits(m[0]), f64::from_bits(m[1])), want);
        let (_, d) = call(&div, &args, 2);
        let (dre, dim) = (f64::from_bits(d[0]), f64::from_bits(d[1]));
        // (a / b) * b ≈ a
        let back = cmul((dre, dim), b);
        let scale = a.0.abs().max(a.1.abs()).max(1.0);
        assert!(
            (back.0 - a.0).abs() <= 1e-12 * scale && (back.1 - a.1).abs() <= 1e-12 * scale,
            "{a:?}/{b:?}"
        );
        let (_, s) = call(&add, &args, 2);
        assert_eq!(
            (f64::from_bits(s[0]), f64::from_bits(s[1])),
            (a.0 + b.0, a.1 + b.1)
        );
        assert_eq!(call1(&eq, &args), (a == b) as u64);
        assert_eq!(call1(&ne, &args), (a != b) as u64);
        assert_eq!(call1(&eq, &[args[0], args[1], args[0], args[1]]), 1);
    }
    // (1+2j)/(3+4j) == (0.44+0.08j) as Python computes it.
    let args = [1f64, 2.0, 3.0, 4.0].map(f64::to_bits);
    let (_, d) = call(&div, &args, 2);
    assert_eq!((f64::from_bits(d[0]), f64::from_bits(d[1])), (0.44, 0.08));
    // complex64 travels in one slot.
    let mul64 = bin(Scalar::C64, BinaryOp::Mul);
    let pack = |re: f32, im: f32| re.to_bits() as u64 | (im.to_bits() as u64) << 32;
    let out = call1(&mul64, &[pack(1.5, -2.0), pack(0.5, 4.0)]);
    assert_eq!(
        (
            f32::from_bits(out as u32),
            f32::from_bits((out >> 32) as u32)
        ),
        (1.5 * 0.5 + 8.0, 6.0 - 1.0)
    );
}

#[test]
fn complex_pow() {
    let p = bin(Scalar::C128, BinaryOp::Pow);
    let run = |a: (f64, f64), b: (f64, f64)| {
        let (st, o) = call(&p, &[a.0, a.1, b.0, b.1].map(f64::to_bits), 2);
        assert_eq!(st, 0);
        (f64::from_bits(o[0]), f64::from_bits(o[1]))
    };
    // Values from CPython.
    let (re, im) = run((1.0, 2.0), (0.5, 0.25));
    assert!(
        close_f64(re, 0.8259032269525077, 1e-14) && close_f64(im, 0.7767752634267686, 1e-14),
        "{re} {im}"
    );
    let (re, im) = run((-2.0, 0.0), (0.5, 0.0));
    assert!(re.abs() < 1e-15 && close_f64(im, std::f64::consts::SQRT_2, 1e-14));
    assert_eq!(run((3.0, 4.0), (0.0, 0.0)), (1.0, 0.0));
    assert_eq!(run((0.0, 0.0), (2.0, 0.0)), (0.0, 0.0));
    let (re, im) = run((3.0, 4.0), (2.0, 0.0));
    assert!(close_f64(re, -7.0, 1e-14) && close_f64(im, 24.0, 1e-14));
}

/// The unoptimised path (no inlining, no mem2reg) computes the same results.
#[test]
fn opt_level_zero_agrees() {
    let mut r = Rng(909);
    for o in [
        BinaryOp::Pow,
        BinaryOp::FloorDiv,
        BinaryOp::Mod,
        BinaryOp::Shr,
    ] {
        let t = Type::I64;
        let m = module(
            vec![unary_fn("o0", vec![t.clone(), t.clone()], t, |p| {
                Op::Binary(o, p[0], p[1])
            })],
            vec![],
        );
        let h0 = compile_opts(
            &m,
            hypersonic_llvm::HostOptions {
                opt_level: 0,
                fastmath: false,
            },
        );
        let h3 = compile(&m);
        for _ in 0..300 {
            let args = [r.i64() as u64, (r.i64() % 70) as u64];
            assert_eq!(call1(&h0, &args), call1(&h3, &args), "{o:?} {args:?}");
        }
    }
}

#[test]
fn global_array_constant() {
    let data: Vec<i64> = (0..10).map(|i| i * i).collect();
    let at = Type::array(Scalar::I64, 1, Layout::C);
    // return G[k] for a global array G captured at compile time.
    let mut b = hypersonic_ir::builder::FunctionBuilder::new("glob", vec![Type::I64], Type::I64);
    let k = b.emit(Op::Param(0), Type::I64);
    let g = b.emit(
        Op::Const(Const::Array {
            data: data.as_ptr() as u64,
            shape: vec![10],
            strides: vec![8],
        }),
        at,
    );
    let x = b.emit(Op::ArrayLoad(g, vec![k]), Type::I64);
    b.push(Stmt::Return { value: Some(x) });
    let h = single(b.finish());
    for k in 0..10u64 {
        assert_eq!(call1(&h, &[k]) as i64, data[k as usize]);
    }
}
