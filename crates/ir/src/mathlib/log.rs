//! Logarithms in double-double, `pow`, and the inverse hyperbolic functions (float64).

use super::consts::*;
use super::exp::exp_dd;
use super::{Cx, DD, V};
use crate::types::Scalar;

/// `log(1 + f)` for an exact `f ∈ [√½ - 1, √2 - 1]`, as a double-double
/// (about 2⁻⁶⁴ relative): `2 atanh(s)`, `s = f / (2 + f)`.
pub(super) fn log1p_core(cx: &mut Cx, f: V) -> DD {
    let two = cx.c(2.0);
    let d = cx.fast_two_sum(two, f);
    let fd = cx.dd1(f);
    let s = cx.dd_div(fd, d);
    let z = cx.dd_mul(s, s);
    let s3 = cx.dd_mul(s, z);
    let tt = cx.ddc(TWO_THIRDS);
    let c = cx.dd_mul(s3, tt);
    let t = cx.poly(z.h, &LOG_T);
    let s5 = cx.mul(s3.h, z.h);
    let rem = cx.mul(s5, t);
    let s2h = cx.add(s.h, s.h);
    let s2l = cx.add(s.l, s.l);
    let h1 = cx.two_sum(s2h, c.h);
    let lo = cx.add(s2l, c.l);
    let lo = cx.add(lo, rem);
    let lo = cx.add(h1.l, lo);
    cx.fast_two_sum(h1.h, lo)
}

/// `x = 2ᵏ m`, `m ∈ [√½, √2)`, for a positive finite `x` (subnormals too):
/// `k` as a float and `log m` as a double-double.
pub(super) fn log_parts(cx: &mut Cx, x: V) -> (V, DD) {
    let sub = cx.ltc(x, f64::MIN_POSITIVE);
    let xs = cx.mulc(x, 2f64.powi(54));
    let xs = cx.sel(sub, xs, x);
    let zero = cx.c(0.0);
    let kadj = cx.selc(sub, -54.0, zero);
    let b = cx.bits(xs);
    let sh = cx.int(52, Scalar::I64);
    let e = cx.shr(b, sh);
    let mask = cx.int(0x7ff, Scalar::I64);
    let e = cx.and(e, mask);
    let e = cx.addc(e, -1023.0);
    let mm = cx.int(0x000f_ffff_ffff_ffff, Scalar::I64);
    let mb = cx.and(b, mm);
    let one_bits = cx.int(0x3ff0_0000_0000_0000, Scalar::I64);
    let mb = cx.or(mb, one_bits);
    let m = cx.float_of_bits(mb);
    let big = cx.gtc(m, std::f64::consts::SQRT_2);
    let mh = cx.mulc(m, 0.5);
    let m = cx.sel(big, mh, m);
    let e1 = cx.addc(e, 1.0);
    let e = cx.sel(big, e1, e);
    let k = cx.cast(e, Scalar::F64);
    let k = cx.add(k, kadj);
    let f = cx.addc(m, -1.0);
    (k, log1p_core(cx, f))
}

/// `k ln 2 + lm` as a double-double.
fn with_k(cx: &mut Cx, k: V, lm: DD) -> DD {
    let l2 = cx.ddc(LN2);
    let kl = cx.dd_mul1(l2, k);
    cx.dd_add(kl, lm)
}

/// `log x` of a positive finite `x` as a double-double.
pub(super) fn log_dd(cx: &mut Cx, x: V) -> DD {
    let (k, lm) = log_parts(cx, x);
    with_k(cx, k, lm)
}

/// C's special values of a logarithm: NaN below 0, `-inf` at 0, `inf` at `inf`.
fn log_specials(cx: &mut Cx, x: V, res: V) -> V {
    let inf = cx.eqc(x, f64::INFINITY);
    let res = cx.selc(inf, f64::INFINITY, res);
    let zero = cx.eqc(x, 0.0);
    let res = cx.selc(zero, f64::NEG_INFINITY, res);
    let neg = cx.ltc(x, 0.0);
    let res = cx.selc(neg, f64::NAN, res);
    let nan = cx.isnan(x);
    cx.sel(nan, x, res)
}

pub(super) fn log(cx: &mut Cx, x: V) -> V {
    let l = log_dd(cx, x);
    let r = cx.round(l);
    log_specials(cx, x, r)
}

pub(super) fn log2(cx: &mut Cx, x: V) -> V {
    let (k, lm) = log_parts(cx, x);
    let il = cx.ddc(INV_LN2);
    let p = cx.dd_mul(lm, il);
    let s = cx.dd_add1(p, k);
    let r = cx.round(s);
    log_specials(cx, x, r)
}

pub(super) fn log10(cx: &mut Cx, x: V) -> V {
    let (k, lm) = log_parts(cx, x);
    let il = cx.ddc(INV_LN10);
    let p = cx.dd_mul(lm, il);
    let l2 = cx.ddc(LOG10_2);
    let kl = cx.dd_mul1(l2, k);
    let s = cx.dd_add(kl, p);
    let r = cx.round(s);
    log_specials(cx, x, r)
}

/// `log(1 + x)` as a double-double, for `x > -1` finite.
pub(super) fn log1p_dd(cx: &mut Cx, x: V) -> DD {
    let near = log1p_core(cx, x);
    let one = cx.c(1.0);
    let u = cx.two_sum(one, x);
    let (k, lm) = log_parts(cx, u.h);
    let far = with_k(cx, k, lm);
    let corr = cx.div(u.l, u.h);
    let far = cx.dd_add1(far, corr);
    let lo = cx.gec(x, std::f64::consts::FRAC_1_SQRT_2 - 1.0);
    let hi = cx.ltc(x, std::f64::consts::SQRT_2 - 1.0);
    let is_near = cx.and(lo, hi);
    cx.dd_sel(is_near, near, far)
}

pub(super) fn log1p(cx: &mut Cx, x: V) -> V {
    let l = log1p_dd(cx, x);
    let r = cx.round(l);
    let ax = cx.abs(x);
    let tiny = cx.ltc(ax, 2f64.powi(-60));
    let r = cx.sel(tiny, x, r);
    let xp1 = cx.addc(x, 1.0);
    log_specials(cx, xp1, r)
}

/// `|x|` raised to `y` through `exp(y log|x|)` in double-double; no special cases.
pub(super) fn pow_abs(cx: &mut Cx, ax: V, y: V) -> V {
    let l = log_dd(cx, ax);
    let p = cx.dd_mul1(l, y);
    let r = exp_dd(cx, p);
    // Overflow of y log|x| itself (the double-double would turn it into NaN).
    let raw = cx.mul(l.h, y);
    let over = cx.isinf(raw);
    let pos = cx.gtc(raw, 0.0);
    let inf = cx.c(f64::INFINITY);
    let zero = cx.c(0.0);
    let lim = cx.sel(pos, inf, zero);
    cx.sel(over, lim, r)
}

pub(super) fn pow(cx: &mut Cx, x: V, y: V) -> V {
    let ax = cx.abs(x);
    let ay = cx.abs(y);
    let r = pow_abs(cx, ax, y);
    // y an integer, and odd.
    let ty = cx.trunc(y);
    let yint = cx.eq(ty, y);
    let hy = cx.mulc(y, 0.5);
    let thy = cx.trunc(hy);
    let half_frac = cx.ne(thy, hy);
    let yodd = cx.and(yint, half_frac);
    let xbits = cx.bits(x);
    let z64 = cx.int(0, Scalar::I64);
    let xsign = cx.lt(xbits, z64);
    let neg_odd = cx.and(xsign, yodd);
    // Finite x < 0: integer y only.
    let nr = cx.neg(r);
    let signed = cx.sel(yodd, nr, r);
    let nan = cx.c(f64::NAN);
    let negres = cx.sel(yint, signed, nan);
    let xneg = cx.ltc(x, 0.0);
    let res = cx.sel(xneg, negres, r);
    // x = ±0: inf for y < 0, 0 for y > 0, signed when y is odd.
    let inf = cx.c(f64::INFINITY);
    let zero = cx.c(0.0);
    let yneg = cx.ltc(y, 0.0);
    let mag0 = cx.sel(yneg, inf, zero);
    let negmag0 = cx.neg(mag0);
    let zres = cx.sel(neg_odd, negmag0, mag0);
    let xzero = cx.eqc(ax, 0.0);
    let res = cx.sel(xzero, zres, res);
    // x = ±inf.
    let ypos = cx.gtc(y, 0.0);
    let magi = cx.sel(ypos, inf, zero);
    let negmagi = cx.neg(magi);
    let ires = cx.sel(neg_odd, negmagi, magi);
    let xinf = cx.eqc(ax, f64::INFINITY);
    let res = cx.sel(xinf, ires, res);
    // y = ±inf: by |x| against 1.
    let big = cx.gtc(ax, 1.0);
    let small = cx.ltc(ax, 1.0);
    let grow = cx.sel(ypos, big, small);
    let shrink = cx.sel(ypos, small, big);
    let one = cx.c(1.0);
    let yres = cx.sel(shrink, zero, one);
    let yres = cx.sel(grow, inf, yres);
    let yinf = cx.eqc(ay, f64::INFINITY);
    let res = cx.sel(yinf, yres, res);
    // NaN, then the two cases that ignore NaN.
    let xn = cx.isnan(x);
    let yn = cx.isnan(y);
    let anyn = cx.or(xn, yn);
    let res = cx.sel(anyn, nan, res);
    let x1 = cx.eqc(x, 1.0);
    let y0 = cx.eqc(y, 0.0);
    let ones = cx.or(x1, y0);
    cx.sel(ones, one, res)
}

pub(super) fn asinh(cx: &mut Cx, x: V) -> V {
    let a = cx.abs(x);
    // a > 2^28: log(2a) = log a + ln 2.
    let l = log_dd(cx, a);
    let l2 = cx.ddc(LN2);
    let huge = cx.dd_add(l, l2);
    let huge = cx.round(huge);
    // a > 2: log(2a + 1/(a + √(a²+1))).
    let a2 = cx.mul(a, a);
    let a21 = cx.addc(a2, 1.0);
    let sq = cx.sqrt(a21);
    let d = cx.add(a, sq);
    let one = cx.c(1.0);
    let inv = cx.div(one, d);
    let twoa = cx.add(a, a);
    let w = cx.add(twoa, inv);
    let lw = log_dd(cx, w);
    let big = cx.round(lw);
    // a ≤ 2: log1p(a + a²/(1 + √(1 + a²))).
    let d1 = cx.addc(sq, 1.0);
    let q = cx.div(a2, d1);
    let v = cx.add(a, q);
    let lv = log1p_dd(cx, v);
    let small = cx.round(lv);
    let is_big = cx.gtc(a, 2.0);
    let res = cx.sel(is_big, big, small);
    let is_huge = cx.gtc(a, 2f64.powi(28));
    let res = cx.sel(is_huge, huge, res);
    let tiny = cx.ltc(a, 2f64.powi(-28));
    let res = cx.sel(tiny, a, res);
    let inf = cx.isinf(a);
    let res = cx.sel(inf, a, res);
    let res = cx.copysign(res, x);
    let nan = cx.isnan(x);
    cx.sel(nan, x, res)
}

pub(super) fn acosh(cx: &mut Cx, x: V) -> V {
    let l = log_dd(cx, x);
    let l2 = cx.ddc(LN2);
    let huge = cx.dd_add(l, l2);
    let huge = cx.round(huge);
    // x > 2: log(2x - 1/(x + √(x²-1))).
    let x2 = cx.mul(x, x);
    let x21 = cx.addc(x2, -1.0);
    let sq = cx.sqrt(x21);
    let d = cx.add(x, sq);
    let one = cx.c(1.0);
    let inv = cx.div(one, d);
    let twox = cx.add(x, x);
    let w = cx.sub(twox, inv);
    let lw = log_dd(cx, w);
    let big = cx.round(lw);
    // 1 ≤ x ≤ 2: t = x - 1, log1p(t + √(2t + t²)).
    let t = cx.addc(x, -1.0);
    let t2 = cx.add(t, t);
    let tt = cx.mul(t, t);
    let s = cx.add(t2, tt);
    let s = cx.sqrt(s);
    let v = cx.add(t, s);
    let lv = log1p_dd(cx, v);
    let small = cx.round(lv);
    let is_big = cx.gtc(x, 2.0);
    let res = cx.sel(is_big, big, small);
    let is_huge = cx.gtc(x, 2f64.powi(28));
    let res = cx.sel(is_huge, huge, res);
    let inf = cx.eqc(x, f64::INFINITY);
    let res = cx.sel(inf, x, res);
    let below = cx.ltc(x, 1.0);
    let res = cx.selc(below, f64::NAN, res);
    let nan = cx.isnan(x);
    cx.sel(nan, x, res)
}

pub(super) fn atanh(cx: &mut Cx, x: V) -> V {
    let a = cx.abs(x);
    let one = cx.c(1.0);
    let om = cx.sub(one, a);
    let twoa = cx.add(a, a);
    // a < 1/2: log1p(2a + 2a²/(1-a)) / 2; else log1p(2a/(1-a)) / 2.
    let ta2 = cx.mul(twoa, a);
    let q = cx.div(ta2, om);
    let v1 = cx.add(twoa, q);
    let v2 = cx.div(twoa, om);
    let lt = cx.ltc(a, 0.5);
    let v = cx.sel(lt, v1, v2);
    let l = log1p_dd(cx, v);
    let r = cx.round(l);
    let res = cx.mulc(r, 0.5);
    let tiny = cx.ltc(a, 2f64.powi(-28));
    let res = cx.sel(tiny, a, res);
    let at1 = cx.eqc(a, 1.0);
    let res = cx.selc(at1, f64::INFINITY, res);
    let above = cx.gtc(a, 1.0);
    let res = cx.selc(above, f64::NAN, res);
    let res = cx.copysign(res, x);
    let nan = cx.isnan(x);
    cx.sel(nan, x, res)
}
