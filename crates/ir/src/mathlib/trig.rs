//! Trigonometric functions and their inverses (float64).

use super::consts::*;
use super::{Cx, DD, V};
use crate::types::Scalar;

/// One pass of `x = n π/2 + r`: π/2 in three 53-bit parts, each product
/// exact through `Fma`, the sum in double-double.
fn reduce_once(cx: &mut Cx, x: DD) -> (V, DD) {
    let t = cx.mulc(x.h, TWO_OVER_PI);
    let n = cx.rint(t);
    let p1c = cx.c(PIO2_1);
    let p1 = cx.two_prod(n, p1c);
    // Exact (Sterbenz): n π/2 is within a factor 2 of x when n ≠ 0.
    let a = cx.sub(x.h, p1.h);
    let np1l = cx.neg(p1.l);
    let s = cx.two_sum(a, np1l);
    let p2c = cx.c(PIO2_2);
    let p2 = cx.two_prod(n, p2c);
    let np2h = cx.neg(p2.h);
    let s2 = cx.two_sum(s.h, np2h);
    let tail = cx.add(s.l, s2.l);
    let tail = cx.sub(tail, p2.l);
    let p3 = cx.mulc(n, PIO2_3);
    let tail = cx.sub(tail, p3);
    let tail = cx.add(tail, x.l);
    let r = cx.fast_two_sum(s2.h, tail);
    (n, r)
}

/// `x = q π/2 + r`, `|r| ≲ π/4`: the quadrant `q mod 4` as an `int64` and `r`.
fn reduce(cx: &mut Cx, x: V) -> (V, DD) {
    let xd = cx.dd1(x);
    let (n1, r1) = reduce_once(cx, xd);
    let (n2, r) = reduce_once(cx, r1);
    // Beyond ~2^100 the two passes do not reach |r| ≤ π/4 (and at the top of
    // the range n π/2 overflows): any finite r then, so that results stay in [-1, 1].
    let ar = cx.abs(r.h);
    let ok = cx.lec(ar, 1.0);
    let z0 = cx.c(0.0);
    let half = cx.c(0.5);
    let rh = cx.sel(ok, r.h, half);
    let rl = cx.sel(ok, r.l, z0);
    let r = cx.dd(rh, rl);
    // n1 mod 4, exactly, for any integer-valued n1.
    let q = cx.mulc(n1, 0.25);
    let q = cx.floor(q);
    let q = cx.mulc(q, 4.0);
    let q1 = cx.sub(n1, q);
    let qs = cx.add(q1, n2);
    let fin = cx.isfinite(qs);
    let z = cx.c(0.0);
    let qs = cx.sel(fin, qs, z);
    let qi = cx.cast(qs, Scalar::I64);
    let three = cx.int(3, Scalar::I64);
    let qi = cx.and(qi, three);
    (qi, r)
}

/// `sin(r)` for a double-double `|r| ≲ π/4` (good to `|r| ≤ π/2`).
pub(super) fn sin_k(cx: &mut Cx, r: DD) -> V {
    let z = cx.mul(r.h, r.h);
    let s = cx.poly(z, &SIN_S);
    let v = cx.mul(z, r.h);
    let vs = cx.mul(v, s);
    let hz = cx.mulc(z, 0.5);
    let c = cx.rsubc(1.0, hz);
    let corr = cx.mul(r.l, c);
    let t = cx.add(vs, corr);
    cx.add(r.h, t)
}

/// `cos(r)` for a double-double `|r| ≲ π/4`.
fn cos_k(cx: &mut Cx, r: DD) -> V {
    let z = cx.mul(r.h, r.h);
    let nz = cx.neg(z);
    let zl = cx.fma(r.h, r.h, nz);
    let c = cx.poly(z, &COS_C);
    let z2 = cx.mul(z, z);
    let z2c = cx.mul(z2, c);
    let hz = cx.mulc(z, 0.5);
    let w = cx.rsubc(1.0, hz);
    let one_w = cx.rsubc(1.0, w);
    let e = cx.sub(one_w, hz);
    let hzl = cx.mulc(zl, 0.5);
    let rl = cx.mul(r.h, r.l);
    let t = cx.add(hzl, rl);
    let t = cx.sub(z2c, t);
    let t = cx.add(e, t);
    cx.add(w, t)
}

fn quadrant_bits(cx: &mut Cx, q: V) -> (V, V) {
    let one = cx.int(1, Scalar::I64);
    let two = cx.int(2, Scalar::I64);
    let z = cx.int(0, Scalar::I64);
    let odd = cx.and(q, one);
    let odd = cx.ne(odd, z);
    let hi = cx.and(q, two);
    let hi = cx.ne(hi, z);
    (odd, hi)
}

fn clamp1(cx: &mut Cx, v: V) -> V {
    let one = cx.c(1.0);
    let m1 = cx.c(-1.0);
    let v = cx.min(v, one);
    cx.max(v, m1)
}

fn nonfinite_nan(cx: &mut Cx, x: V, res: V) -> V {
    let fin = cx.isfinite(x);
    let nan = cx.sub(x, x);
    cx.sel(fin, res, nan)
}

pub(super) fn sin(cx: &mut Cx, x: V) -> V {
    let (q, r) = reduce(cx, x);
    let s = sin_k(cx, r);
    let c = cos_k(cx, r);
    let (odd, hi) = quadrant_bits(cx, q);
    let v = cx.sel(odd, c, s);
    let nv = cx.neg(v);
    let res = cx.sel(hi, nv, v);
    let res = clamp1(cx, res);
    let ax = cx.abs(x);
    let tiny = cx.ltc(ax, 2f64.powi(-27));
    let res = cx.sel(tiny, x, res);
    nonfinite_nan(cx, x, res)
}

pub(super) fn cos(cx: &mut Cx, x: V) -> V {
    let (q, r) = reduce(cx, x);
    let s = sin_k(cx, r);
    let c = cos_k(cx, r);
    let (odd, _) = quadrant_bits(cx, q);
    let one = cx.int(1, Scalar::I64);
    let two = cx.int(2, Scalar::I64);
    let z = cx.int(0, Scalar::I64);
    let q1 = cx.add(q, one);
    let neg = cx.and(q1, two);
    let neg = cx.ne(neg, z);
    let v = cx.sel(odd, s, c);
    let nv = cx.neg(v);
    let res = cx.sel(neg, nv, v);
    let res = clamp1(cx, res);
    nonfinite_nan(cx, x, res)
}

pub(super) fn tan(cx: &mut Cx, x: V) -> V {
    let (q, r) = reduce(cx, x);
    let s = sin_k(cx, r);
    let c = cos_k(cx, r);
    let (odd, _) = quadrant_bits(cx, q);
    let even = cx.div(s, c);
    let nc = cx.neg(c);
    let oddv = cx.div(nc, s);
    let res = cx.sel(odd, oddv, even);
    let ax = cx.abs(x);
    let tiny = cx.ltc(ax, 2f64.powi(-27));
    let res = cx.sel(tiny, x, res);
    nonfinite_nan(cx, x, res)
}

/// `atan t` for a double-double `t ∈ [0, 1]`: `atan c + atan((t-c)/(1+tc))`,
/// `c = j/4` nearest to `t`.
fn atan01(cx: &mut Cx, t: DD) -> DD {
    let t4 = cx.mulc(t.h, 4.0);
    let j = cx.rint(t4);
    let c = cx.mulc(j, 0.25);
    let d = cx.sub(t.h, c);
    let num = cx.two_sum(d, t.l);
    let p = cx.two_prod(t.h, c);
    let one = cx.c(1.0);
    let den = cx.fast_two_sum(one, p.h);
    let tlc = cx.mul(t.l, c);
    let dl = cx.add(p.l, tlc);
    let dl = cx.add(den.l, dl);
    let den = cx.fast_two_sum(den.h, dl);
    let u = cx.dd_div(num, den);
    let z = cx.mul(u.h, u.h);
    let a = cx.poly(z, &ATAN_A);
    let uz = cx.mul(u.h, z);
    let tail = cx.mul(uz, a);
    let tail = cx.add(tail, u.l);
    let au = cx.fast_two_sum(u.h, tail);
    let mut base = cx.ddc((0.0, 0.0));
    for (k, cst) in [ATAN_C1, ATAN_C2, ATAN_C3, ATAN_C4].into_iter().enumerate() {
        let is = cx.eqc(j, (k + 1) as f64);
        let b = cx.ddc(cst);
        base = cx.dd_sel(is, b, base);
    }
    cx.dd_add(base, au)
}

/// The angle in `[0, π/2]` whose tangent is `num/den`, for double-doubles
/// `num, den ≥ 0` (not both 0, neither infinite).
fn atan2_dd(cx: &mut Cx, num: DD, den: DD) -> DD {
    let swap = cx.gt(num.h, den.h);
    let p = cx.dd_sel(swap, den, num);
    let q = cx.dd_sel(swap, num, den);
    let t = cx.dd_div(p, q);
    let a = atan01(cx, t);
    let pi2 = cx.ddc(PI_2);
    let na = cx.dd_neg(a);
    let comp = cx.dd_add(pi2, na);
    cx.dd_sel(swap, comp, a)
}

pub(super) fn atan(cx: &mut Cx, x: V) -> V {
    let a = cx.abs(x);
    let ad = cx.dd1(a);
    let one = cx.c(1.0);
    let od = cx.dd1(one);
    let th = atan2_dd(cx, ad, od);
    let r = cx.round(th);
    let inf = cx.isinf(a);
    let r = cx.selc(inf, PI_2.0, r);
    let r = cx.copysign(r, x);
    let nan = cx.isnan(x);
    cx.sel(nan, x, r)
}

pub(super) fn atan2(cx: &mut Cx, y: V, x: V) -> V {
    let ay = cx.abs(y);
    let ax = cx.abs(x);
    let yd = cx.dd1(ay);
    let xd = cx.dd1(ax);
    let th = atan2_dd(cx, yd, xd);
    let xb = cx.bits(x);
    let z64 = cx.int(0, Scalar::I64);
    let xneg = cx.lt(xb, z64);
    let pi = cx.ddc(PI);
    let nth = cx.dd_neg(th);
    let back = cx.dd_add(pi, nth);
    let th = cx.dd_sel(xneg, back, th);
    let th = cx.round(th);
    let pi_h = cx.c(PI.0);
    let zero = cx.c(0.0);
    let edge = cx.sel(xneg, pi_h, zero);
    let y0 = cx.eqc(ay, 0.0);
    let th = cx.sel(y0, edge, th);
    let xinf = cx.eqc(ax, f64::INFINITY);
    let th = cx.sel(xinf, edge, th);
    let q1 = cx.c(PI.0 * 0.25);
    let q3 = cx.c(PI.0 * 0.75);
    let diag = cx.sel(xneg, q3, q1);
    let half = cx.c(PI_2.0);
    let yi = cx.sel(xinf, diag, half);
    let yinf = cx.eqc(ay, f64::INFINITY);
    let th = cx.sel(yinf, yi, th);
    let res = cx.copysign(th, y);
    let xn = cx.isnan(x);
    let yn = cx.isnan(y);
    let n = cx.or(xn, yn);
    let s = cx.add(x, y);
    cx.sel(n, s, res)
}

/// `1 - a²` for `0 ≤ a ≤ 1`, as a double-double.
fn one_minus_sq(cx: &mut Cx, a: V) -> DD {
    let d1 = cx.rsubc(1.0, a);
    let one = cx.c(1.0);
    let e = cx.two_sum(one, a);
    let w1 = cx.dd_mul1(e, d1);
    let q = cx.two_prod(a, a);
    let nq = cx.neg(q.h);
    let w2 = cx.two_sum(one, nq);
    let l = cx.sub(w2.l, q.l);
    let w2 = cx.fast_two_sum(w2.h, l);
    let ge = cx.gec(a, 0.5);
    cx.dd_sel(ge, w1, w2)
}

pub(super) fn asin(cx: &mut Cx, x: V) -> V {
    let a = cx.abs(x);
    let w = one_minus_sq(cx, a);
    let s = cx.dd_sqrt(w);
    let ad = cx.dd1(a);
    let th = atan2_dd(cx, ad, s);
    let r = cx.round(th);
    let above = cx.gtc(a, 1.0);
    let r = cx.selc(above, f64::NAN, r);
    let r = cx.copysign(r, x);
    let nan = cx.isnan(x);
    cx.sel(nan, x, r)
}

pub(super) fn acos(cx: &mut Cx, x: V) -> V {
    let a = cx.abs(x);
    let w = one_minus_sq(cx, a);
    let s = cx.dd_sqrt(w);
    let ad = cx.dd1(a);
    let th = atan2_dd(cx, s, ad);
    let pi = cx.ddc(PI);
    let nth = cx.dd_neg(th);
    let back = cx.dd_add(pi, nth);
    let xneg = cx.ltc(x, 0.0);
    let th = cx.dd_sel(xneg, back, th);
    let r = cx.round(th);
    let above = cx.gtc(a, 1.0);
    let r = cx.selc(above, f64::NAN, r);
    let nan = cx.isnan(x);
    cx.sel(nan, x, r)
}

/// `sin(π x)` for finite `x`, exact in its argument reduction.
pub(super) fn sinpi(cx: &mut Cx, x: V) -> V {
    let h = cx.mulc(x, 0.5);
    let n = cx.rint(h);
    let n2 = cx.add(n, n);
    let r = cx.sub(x, n2);
    // r ∈ [-1, 1]: fold to [-1/2, 1/2].
    let pos = cx.rsubc(1.0, r);
    let neg = cx.rsubc(-1.0, r);
    let gt = cx.gtc(r, 0.5);
    let lt = cx.ltc(r, -0.5);
    let r2 = cx.sel(lt, neg, r);
    let r2 = cx.sel(gt, pos, r2);
    let pic = cx.c(PI.0);
    let p = cx.two_prod(r2, pic);
    let pl = cx.mulc(r2, PI.1);
    let l = cx.add(p.l, pl);
    let v = cx.fast_two_sum(p.h, l);
    let s = sin_k(cx, v);
    // sin(π n) = ±0 exactly.
    let z = cx.eqc(r2, 0.0);
    let zero = cx.mulc(x, 0.0);
    cx.sel(z, zero, s)
}
