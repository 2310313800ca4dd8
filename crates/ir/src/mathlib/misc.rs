//! `cbrt`, `hypot`, `fmod`, `ldexp`, `nextafter`: for float64, and for float32
//! without any float64 operation (the float type is `cx.f`).

use super::{Cx, V};
use crate::types::Scalar;

/// The binary format of `cx.f`.
struct Fmt {
    /// The integer type of the bits.
    int: Scalar,
    /// Significand bits (without the implicit one).
    mant: i64,
    bias: i64,
    /// The all-ones exponent field.
    emax: i64,
}

fn fmt(cx: &Cx) -> Fmt {
    if cx.f == Scalar::F32 {
        Fmt {
            int: Scalar::I32,
            mant: 23,
            bias: 127,
            emax: 255,
        }
    } else {
        Fmt {
            int: Scalar::I64,
            mant: 52,
            bias: 1023,
            emax: 2047,
        }
    }
}

impl Fmt {
    fn min_normal(&self) -> f64 {
        2f64.powi(1 - self.bias as i32)
    }
}

/// `2^k` for an integer `k` (of the format's integer type) in the normal range.
fn pow2(cx: &mut Cx, ft: &Fmt, k: V) -> V {
    let e = cx.addc(k, ft.bias as f64);
    let sh = cx.int(ft.mant, ft.int);
    let b = cx.shl(e, sh);
    cx.float_of_bits(b)
}

/// The biased exponent field and the significand bits of `bits` (a non-negative float's).
fn split(cx: &mut Cx, ft: &Fmt, b: V) -> (V, V) {
    let sh = cx.int(ft.mant, ft.int);
    let e = cx.shr(b, sh);
    let em = cx.int(ft.emax, ft.int);
    let e = cx.and(e, em);
    let mm = cx.int((1i64 << ft.mant) - 1, ft.int);
    let m = cx.and(b, mm);
    (e, m)
}

pub(super) fn fmod(cx: &mut Cx, x: V, y: V) -> V {
    let ft = fmt(cx);
    let ax = cx.abs(x);
    let ay = cx.abs(y);
    let bx = cx.bits(ax);
    let by = cx.bits(ay);
    let (ex, mx) = split(cx, &ft, bx);
    let (ey, my) = split(cx, &ft, by);
    let zero = cx.int(0, ft.int);
    let one = cx.int(1, ft.int);
    let implicit = cx.int(1i64 << ft.mant, ft.int);
    let xn = cx.ne(ex, zero);
    let hx = cx.sel(xn, implicit, zero);
    let mx = cx.or(mx, hx);
    let yn = cx.ne(ey, zero);
    let hy = cx.sel(yn, implicit, zero);
    let my = cx.or(my, hy);
    let ex = cx.max(ex, one);
    let ey = cx.max(ey, one);
    // Long division: r = mx 2^(ex-ey) mod my, `chunk` bits at a time (r < my,
    // so r << chunk still fits the integer type).
    let chunk = if ft.int == Scalar::I32 { 7 } else { 10 };
    let r0 = cx.bin(crate::ops::BinaryOp::Mod, mx, my);
    let rl = cx.local(r0);
    let d0 = cx.sub(ex, ey);
    let dl = cx.local(d0);
    cx.loop_(|cx| {
        let d = cx.load(dl);
        let z = cx.int(0, ft.int);
        let done = cx.le(d, z);
        cx.break_if(done);
        let ch = cx.int(chunk, ft.int);
        let s = cx.min(d, ch);
        let r = cx.load(rl);
        let r = cx.shl(r, s);
        let r = cx.bin(crate::ops::BinaryOp::Mod, r, my);
        cx.store(rl, r);
        let d = cx.sub(d, s);
        cx.store(dl, d);
    });
    let r = cx.load(rl);
    let rf = cx.cast(r, cx.f);
    // r 2^(ey - bias - mant), exact: two steps, the first one exact.
    let k = cx.addc(ey, -(ft.bias + ft.mant) as f64);
    let one_i = cx.int(1, ft.int);
    let k1 = cx.shr(k, one_i);
    let k2 = cx.sub(k, k1);
    let p1 = pow2(cx, &ft, k1);
    let p2 = pow2(cx, &ft, k2);
    let res = cx.mul(rf, p1);
    let res = cx.mul(res, p2);
    let res = cx.copysign(res, x);
    let less = cx.lt(ax, ay);
    let res = cx.sel(less, x, res);
    // NaN for y = 0, x infinite, or a NaN; x for y infinite.
    let y0 = cx.eqc(ay, 0.0);
    let xi = cx.isinf(x);
    let xnan = cx.isnan(x);
    let ynan = cx.isnan(y);
    let bad = cx.or(y0, xi);
    let bad = cx.or(bad, xnan);
    let bad = cx.or(bad, ynan);
    let nan = cx.c(f64::NAN);
    cx.sel(bad, nan, res)
}

pub(super) fn ldexp(cx: &mut Cx, x: V, n: V) -> V {
    let ft = fmt(cx);
    // The exponent, clamped (beyond ±100000 every float over- or underflows).
    let n = if ft.int == Scalar::I32 {
        let hi = cx.int(1000, Scalar::I32);
        let lo = cx.int(-1000, Scalar::I32);
        let n = cx.min(n, hi);
        cx.max(n, lo)
    } else {
        cx.cast(n, Scalar::I64)
    };
    let ax = cx.abs(x);
    let sub = cx.ltc(ax, ft.min_normal());
    let xs = cx.mulc(x, 2f64.powi(ft.mant as i32 + 2));
    let xs = cx.sel(sub, xs, x);
    let zero = cx.int(0, ft.int);
    let adj = cx.int(-(ft.mant + 2), ft.int);
    let adj = cx.sel(sub, adj, zero);
    let b = cx.bits(xs);
    let sh = cx.int(ft.mant, ft.int);
    let e = cx.shr(b, sh);
    let em = cx.int(ft.emax, ft.int);
    let e = cx.and(e, em);
    let t = cx.add(e, n);
    let t = cx.add(t, adj);
    // Keep the sign and significand, replace the exponent.
    let clear = cx.shl(em, sh);
    let inv = cx.emit(
        crate::ops::Op::Unary(crate::ops::UnaryOp::Invert, clear),
        crate::types::Type::Scalar(ft.int),
    );
    let keep = cx.and(b, inv);
    let tc = cx.max(t, zero);
    let tc = cx.min(tc, em);
    let tf = cx.shl(tc, sh);
    let nb = cx.or(keep, tf);
    let normal = cx.float_of_bits(nb);
    // t < 1: y ∈ [1, 2) times 2^(1-bias) (exact) times 2^(t-1), rounded once.
    let biasf = cx.int(ft.bias, ft.int);
    let bb = cx.shl(biasf, sh);
    let yb = cx.or(keep, bb);
    let y = cx.float_of_bits(yb);
    let y = cx.mulc(y, ft.min_normal());
    let tm = cx.addc(t, -1.0);
    let lim = cx.int(-(ft.mant + 3), ft.int);
    let tm = cx.max(tm, lim);
    let p = pow2(cx, &ft, tm);
    let under = cx.mul(y, p);
    let one = cx.int(1, ft.int);
    let is_normal = cx.ge(t, one);
    let res = cx.sel(is_normal, normal, under);
    let inf = cx.c(f64::INFINITY);
    let inf = cx.copysign(inf, x);
    let over = cx.ge(t, em);
    let res = cx.sel(over, inf, res);
    let fin = cx.isfinite(x);
    let z = cx_zero(cx);
    let nz = cx.ne(ax, z);
    let ok = cx.and(fin, nz);
    let xx = cx.add(x, x);
    cx.sel(ok, res, xx)
}

fn cx_zero(cx: &mut Cx) -> V {
    cx.c(0.0)
}

pub(super) fn nextafter(cx: &mut Cx, x: V, y: V) -> V {
    let ft = fmt(cx);
    let b = cx.bits(x);
    let xpos = cx.gtc(x, 0.0);
    let ygt = cx.gt(y, x);
    let nygt = cx.not(ygt);
    let up = cx.sel(xpos, ygt, nygt);
    let one = cx.int(1, ft.int);
    let m1 = cx.int(-1, ft.int);
    let step = cx.sel(up, one, m1);
    let nb = cx.add(b, step);
    let res = cx.float_of_bits(nb);
    let tiny = cx.float_of_bits(one);
    let tiny = cx.copysign(tiny, y);
    let x0 = cx.eqc(x, 0.0);
    let res = cx.sel(x0, tiny, res);
    let same = cx.eq(x, y);
    let res = cx.sel(same, y, res);
    let xn = cx.isnan(x);
    let yn = cx.isnan(y);
    let n = cx.or(xn, yn);
    let s = cx.add(x, y);
    cx.sel(n, s, res)
}

pub(super) fn hypot(cx: &mut Cx, x: V, y: V) -> V {
    let f32 = cx.f == Scalar::F32;
    let (big, small, down, up) = if f32 {
        (
            2f64.powi(40),
            2f64.powi(-40),
            2f64.powi(-80),
            2f64.powi(100),
        )
    } else {
        (
            2f64.powi(500),
            2f64.powi(-500),
            2f64.powi(-600),
            2f64.powi(600),
        )
    };
    let ax = cx.abs(x);
    let ay = cx.abs(y);
    let a = cx.max(ax, ay);
    let b = cx.min(ax, ay);
    let one = cx.c(1.0);
    let is_big = cx.gtc(a, big);
    let is_small = cx.ltc(a, small);
    let s = cx.selc(is_big, down, one);
    let s = cx.selc(is_small, up, s);
    let inv = cx.selc(is_big, 1.0 / down, one);
    let inv = cx.selc(is_small, 1.0 / up, inv);
    let as_ = cx.mul(a, s);
    let bs = cx.mul(b, s);
    let a2 = cx.two_prod(as_, as_);
    let b2 = cx.two_prod(bs, bs);
    let sum = cx.dd_add(a2, b2);
    let r = cx.dd_sqrt(sum);
    let r = cx.round(r);
    let res = cx.mul(r, inv);
    let b0 = cx.eqc(b, 0.0);
    let res = cx.sel(b0, a, res);
    let xn = cx.isnan(x);
    let yn = cx.isnan(y);
    let n = cx.or(xn, yn);
    let nan = cx.c(f64::NAN);
    let res = cx.sel(n, nan, res);
    let xi = cx.isinf(x);
    let yi = cx.isinf(y);
    let i = cx.or(xi, yi);
    cx.selc(i, f64::INFINITY, res)
}

pub(super) fn cbrt(cx: &mut Cx, x: V) -> V {
    let ft = fmt(cx);
    let a = cx.abs(x);
    let sub = cx.ltc(a, ft.min_normal());
    let sc = if cx.f == Scalar::F32 { 24 } else { 54 };
    let as_ = cx.mulc(a, 2f64.powi(sc));
    let as_ = cx.sel(sub, as_, a);
    let b = cx.bits(as_);
    let (e, m) = split(cx, &ft, b);
    let bias_bits = cx.int(ft.bias << ft.mant, ft.int);
    let mb = cx.or(m, bias_bits);
    let m = cx.float_of_bits(mb);
    let e = cx.addc(e, -ft.bias as f64);
    let zero = cx.int(0, ft.int);
    let adj = cx.int(-sc as i64, ft.int);
    let adj = cx.sel(sub, adj, zero);
    let e = cx.add(e, adj);
    // e = 3q + r, r ∈ {0, 1, 2}: cbrt(x) = 2^q cbrt(m 2^r).
    let three = cx.int(3, ft.int);
    let q = cx.bin(crate::ops::BinaryOp::FloorDiv, e, three);
    let q3 = cx.mul(q, three);
    let r = cx.sub(e, q3);
    let one = cx.int(1, ft.int);
    let two = cx.int(2, ft.int);
    let r1 = cx.eq(r, one);
    let r2 = cx.eq(r, two);
    let k = cx.c(1.0);
    let k = cx.selc(r1, 2.0, k);
    let k = cx.selc(r2, 4.0, k);
    let v = cx.mul(m, k);
    let g = cx.c(1.0);
    let g = cx.selc(r1, 2f64.cbrt(), g);
    let g = cx.selc(r2, 4f64.cbrt(), g);
    // cbrt(m) ≈ 0.74 + 0.26 m on [1, 2] (1.5%), then Newton.
    let y0 = cx.mulc(m, 0.26);
    let y0 = cx.addc(y0, 0.7402);
    let mut y = cx.mul(y0, g);
    let iters = if cx.f == Scalar::F32 { 2 } else { 3 };
    for _ in 0..iters {
        // y ← (2y + v/y²) / 3
        let y2 = cx.mul(y, y);
        let q = cx.div(v, y2);
        let yy = cx.add(y, y);
        let s = cx.add(yy, q);
        y = cx.mulc(s, 1.0 / 3.0);
    }
    // One correction with the residual v - y³ in double-float.
    let y2 = cx.two_prod(y, y);
    let y3 = cx.dd_mul1(y2, y);
    let d = cx.sub(v, y3.h);
    let d = cx.sub(d, y3.l);
    let three = cx_three(cx);
    let t = cx.mul(y2.h, three);
    let c = cx.div(d, t);
    let y = cx.add(y, c);
    let p = pow2(cx, &ft, q);
    let res = cx.mul(y, p);
    let res = cx.copysign(res, x);
    let fin = cx.isfinite(x);
    let z = cx_zero(cx);
    let nz = cx.ne(a, z);
    let ok = cx.and(fin, nz);
    let xx = cx.add(x, x);
    cx.sel(ok, res, xx)
}

fn cx_three(cx: &mut Cx) -> V {
    cx.c(3.0)
}
