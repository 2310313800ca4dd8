//! `exp`, `exp2`, `expm1` and the hyperbolic functions built on them (float64).

use super::consts::*;
use super::{Cx, DD, V};
use crate::types::Scalar;

/// Cody–Waite: `x = n ln2 + r` with `|r| ≲ ln2/2`; `n` as a float, `r` as a
/// double-double (ln2 in a 42-bit head, so that `n · head` is exact, and a
/// double-double tail through exact products). `x` is a double-double.
pub(super) fn reduce(cx: &mut Cx, x: DD) -> (V, DD) {
    let t = cx.mulc(x.h, INV_LN2.0);
    let n = cx.rint(t);
    let nn = cx.neg(n);
    let hi = cx.c(LN2_HI42);
    // Exact: n·head has at most 53 bits and is within a factor 2 of x.h.
    let a = cx.fma(nn, hi, x.h);
    let lo = cx.c(LN2_LO42.0);
    let p = cx.two_prod(n, lo);
    let np = cx.neg(p.h);
    let s = cx.two_sum(a, np);
    let t1 = cx.sub(s.l, p.l);
    let t2 = cx.mulc(n, LN2_LO42.1);
    let t1 = cx.sub(t1, t2);
    let tail = cx.add(t1, x.l);
    let r = cx.fast_two_sum(s.h, tail);
    (n, r)
}

/// `exp(r)` for a double-double `|r| ≤ 0.35`, as one float in `[0.7, 1.42]`.
pub(super) fn exp_poly(cx: &mut Cx, r: DD) -> V {
    let z = r.h;
    let p = cx.poly(z, &EXP_P);
    let z2 = cx.mul(z, z);
    let q = cx.mul(z2, p);
    // exp(h + l) ≈ exp(h) (1 + l): l (1 + h) to first order.
    let onez = cx.addc(z, 1.0);
    let lq = cx.mul(r.l, onez);
    let q = cx.add(q, lq);
    let one = cx.c(1.0);
    let s = cx.fast_two_sum(one, z);
    let t = cx.add(s.l, q);
    cx.add(s.h, t)
}

/// `n` (a float holding an integer) as an `int64` clamped to `±lim`.
pub(super) fn clamp_int(cx: &mut Cx, n: V, lim: f64) -> V {
    let hi = cx.c(lim);
    let lo = cx.c(-lim);
    let n = cx.min(n, hi);
    let n = cx.max(n, lo);
    cx.cast(n, Scalar::I64)
}

/// `exp(x)` of a double-double, with overflow to `inf` and underflow to 0
/// (subnormal results rounded once).
pub(super) fn exp_dd(cx: &mut Cx, x: DD) -> V {
    let (n, r) = reduce(cx, x);
    let y = exp_poly(cx, r);
    let ni = clamp_int(cx, n, 1200.0);
    let res = cx.scale(y, ni);
    let big = cx.gtc(x.h, 710.0);
    let res = cx.selc(big, f64::INFINITY, res);
    let small = cx.ltc(x.h, -746.0);
    cx.selc(small, 0.0, res)
}

pub(super) fn exp(cx: &mut Cx, x: V) -> V {
    let xd = cx.dd1(x);
    exp_dd(cx, xd)
}

pub(super) fn exp2(cx: &mut Cx, x: V) -> V {
    let n = cx.rint(x);
    let f = cx.sub(x, n);
    let l2 = cx.c(LN2.0);
    let t = cx.two_prod(f, l2);
    let tl = cx.mulc(f, LN2.1);
    let tl = cx.add(t.l, tl);
    let t = cx.fast_two_sum(t.h, tl);
    let y = exp_poly(cx, t);
    let ni = clamp_int(cx, n, 1200.0);
    let res = cx.scale(y, ni);
    let big = cx.gec(x, 1024.0);
    let res = cx.selc(big, f64::INFINITY, res);
    let small = cx.ltc(x, -1080.0);
    let res = cx.selc(small, 0.0, res);
    let nan = cx.isnan(x);
    cx.sel(nan, x, res)
}

pub(super) fn expm1(cx: &mut Cx, x: V) -> V {
    // |x| < 0.35: x + x² P(x).
    let p = cx.poly(x, &EXP_P);
    let x2 = cx.mul(x, x);
    let q = cx.mul(x2, p);
    let small_res = cx.add(x, q);
    // Otherwise 2ⁿ (1 + e) - 1, e = expm1(r), in double-double.
    let xd = cx.dd1(x);
    let (n, r) = reduce(cx, xd);
    let z = r.h;
    let pz = cx.poly(z, &EXP_P);
    let z2 = cx.mul(z, z);
    let qz = cx.mul(z2, pz);
    let onez = cx.addc(z, 1.0);
    let lq = cx.mul(r.l, onez);
    let qz = cx.add(qz, lq);
    let one = cx.c(1.0);
    let a = cx.fast_two_sum(one, z);
    let al = cx.add(a.l, qz);
    let a = cx.fast_two_sum(a.h, al);
    // n ≤ 53: 2ⁿ is exact and the -1 matters.
    let nm = clamp_int(cx, n, 60.0);
    let p2 = cx.pow2(nm);
    let sh = cx.mul(a.h, p2);
    let sl = cx.mul(a.l, p2);
    let m1 = cx.c(-1.0);
    let u = cx.two_sum(sh, m1);
    let t = cx.add(u.l, sl);
    let mid_res = cx.add(u.h, t);
    // n ≥ 54: -1 is below half an ulp.
    let y = cx.round(a);
    let nb = clamp_int(cx, n, 1200.0);
    let big_res = cx.scale(y, nb);
    let nbig = cx.gec(n, 54.0);
    let res = cx.sel(nbig, big_res, mid_res);
    let ax = cx.abs(x);
    let is_small = cx.ltc(ax, 0.35);
    let res = cx.sel(is_small, small_res, res);
    let tiny = cx.ltc(ax, 2f64.powi(-54));
    let res = cx.sel(tiny, x, res);
    let over = cx.gtc(x, 710.0);
    let res = cx.selc(over, f64::INFINITY, res);
    let under = cx.ltc(x, -40.0);
    let res = cx.selc(under, -1.0, res);
    let nan = cx.isnan(x);
    cx.sel(nan, x, res)
}

/// `exp(a - ln 2) = exp(a)/2` for large `a`, rounded once.
fn half_exp(cx: &mut Cx, a: V) -> V {
    let l2 = cx.c(-LN2.0);
    let s = cx.two_sum(a, l2);
    let l = cx.addc(s.l, -LN2.1);
    let d = cx.fast_two_sum(s.h, l);
    let r = exp_dd(cx, d);
    let over = cx.gtc(a, 800.0);
    cx.selc(over, f64::INFINITY, r)
}

pub(super) fn sinh(cx: &mut Cx, x: V) -> V {
    let a = cx.abs(x);
    let e = expm1(cx, a);
    let e1 = cx.addc(e, 1.0);
    let q = cx.div(e, e1);
    let s = cx.add(e, q);
    let mid = cx.mulc(s, 0.5);
    let big = half_exp(cx, a);
    let is_big = cx.gec(a, 22.0);
    let res = cx.sel(is_big, big, mid);
    let tiny = cx.ltc(a, 2f64.powi(-28));
    let res = cx.sel(tiny, a, res);
    cx.copysign(res, x)
}

pub(super) fn cosh(cx: &mut Cx, x: V) -> V {
    let a = cx.abs(x);
    let e = exp(cx, a);
    let he = cx.mulc(e, 0.5);
    let half = cx.c(0.5);
    let hi = cx.div(half, e);
    let mid = cx.add(he, hi);
    let big = half_exp(cx, a);
    let is_big = cx.gec(a, 22.0);
    cx.sel(is_big, big, mid)
}

pub(super) fn tanh(cx: &mut Cx, x: V) -> V {
    let a = cx.abs(x);
    let a2 = cx.add(a, a);
    let e = expm1(cx, a2);
    let e2 = cx.addc(e, 2.0);
    let small = cx.div(e, e2);
    let two = cx.c(2.0);
    let q = cx.div(two, e2);
    let large = cx.rsubc(1.0, q);
    let ge1 = cx.gec(a, 1.0);
    let res = cx.sel(ge1, large, small);
    let sat = cx.gtc(a, 22.0);
    let res = cx.selc(sat, 1.0, res);
    let tiny = cx.ltc(a, 2f64.powi(-55));
    let res = cx.sel(tiny, a, res);
    cx.copysign(res, x)
}
