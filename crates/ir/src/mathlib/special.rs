//! `erf`, `erfc`, `tgamma`, `lgamma` (float64).

use super::consts::*;
use super::exp::{clamp_int, exp_poly, reduce};
use super::log::log_dd;
use super::trig::sinpi;
use super::{Cx, DD, V};
use crate::types::Scalar;

const ERFCX: [&[f64]; 7] = [
    &ERFCX_0, &ERFCX_1, &ERFCX_2, &ERFCX_3, &ERFCX_4, &ERFCX_5, &ERFCX_6,
];

/// `erfc(a)` for `a ≥ 1.25`: `exp(-a²) erfcx(a)`, with `a²` in double-double
/// and `erfcx` a polynomial per interval (coefficients chosen by selects,
/// one Horner evaluation); 0 beyond 28.
fn erfc_big(cx: &mut Cx, a: V) -> V {
    let len = ERFCX.iter().map(|c| c.len()).max().unwrap();
    let mut centre = cx.c(0.0);
    let mut coef: Vec<V> = (0..len).map(|_| cx.c(0.0)).collect();
    for (i, poly) in ERFCX.iter().enumerate() {
        let lo = ERFCX_BREAKS[i];
        let hi = ERFCX_BREAKS[i + 1];
        let inside = cx.gec(a, lo);
        centre = cx.selc(inside, (lo + hi) / 2.0, centre);
        for (k, c) in coef.iter_mut().enumerate() {
            let v = poly.get(k).copied().unwrap_or(0.0);
            *c = cx.selc(inside, v, *c);
        }
    }
    let t = cx.sub(a, centre);
    let mut acc = coef[len - 1];
    for &c in coef.iter().rev().skip(1) {
        acc = cx.mul(acc, t);
        acc = cx.add(acc, c);
    }
    let q = cx.two_prod(a, a);
    let nh = cx.neg(q.h);
    let nl = cx.neg(q.l);
    let x2 = cx.dd(nh, nl);
    let (n, r) = reduce(cx, x2);
    let y = exp_poly(cx, r);
    let v = cx.mul(y, acc);
    let ni = clamp_int(cx, n, 1200.0);
    let res = cx.scale(v, ni);
    let far = cx.gtc(a, 28.0);
    cx.selc(far, 0.0, res)
}

/// `erf x - x` over `x` for `|x| < 3/4`: `x + x E(x²)`.
fn erf_small(cx: &mut Cx, x: V) -> (V, V) {
    let z = cx.mul(x, x);
    let e = cx.poly(z, &ERF_0);
    let xe = cx.mul(x, e);
    (xe, cx.add(x, xe))
}

pub(super) fn erf(cx: &mut Cx, x: V) -> V {
    let a = cx.abs(x);
    let (_, r0) = erf_small(cx, a);
    let s = cx.addc(a, -1.0);
    let r1 = cx.poly(s, &ERF_1);
    let ec = erfc_big(cx, a);
    let r2 = cx.rsubc(1.0, ec);
    let in1 = cx.gec(a, 0.75);
    let res = cx.sel(in1, r1, r0);
    let in2 = cx.gec(a, 1.25);
    let res = cx.sel(in2, r2, res);
    let sat = cx.gec(a, 6.0);
    let res = cx.selc(sat, 1.0, res);
    let res = cx.copysign(res, x);
    let nan = cx.isnan(x);
    cx.sel(nan, x, res)
}

pub(super) fn erfc(cx: &mut Cx, x: V) -> V {
    let a = cx.abs(x);
    // |x| < 3/4: (1 - x) - x E(x²).
    let (xe, _) = erf_small(cx, x);
    let omx = cx.rsubc(1.0, x);
    let r0 = cx.sub(omx, xe);
    // 3/4 ≤ |x| < 5/4.
    let s = cx.addc(a, -1.0);
    let c1 = cx.poly(s, &ERFC_1);
    let e1 = cx.poly(s, &ERF_1);
    let e1 = cx.addc(e1, 1.0);
    let xneg = cx.ltc(x, 0.0);
    let r1 = cx.sel(xneg, e1, c1);
    // |x| ≥ 5/4.
    let cb = erfc_big(cx, a);
    let cbn = cx.rsubc(2.0, cb);
    let r2 = cx.sel(xneg, cbn, cb);
    let in1 = cx.gec(a, 0.75);
    let res = cx.sel(in1, r1, r0);
    let in2 = cx.gec(a, 1.25);
    let res = cx.sel(in2, r2, res);
    let nan = cx.isnan(x);
    cx.sel(nan, x, res)
}

/// `lgamma(z)` by Stirling's series for a double-double `z ≥ 10`, as a double-double.
fn stirling(cx: &mut Cx, z: DD) -> DD {
    let l = log_dd(cx, z.h);
    let c = cx.div(z.l, z.h);
    let l = cx.dd_add1(l, c);
    let mh = cx.c(-0.5);
    let a = cx.dd_add1(z, mh);
    let p = cx.dd_mul(a, l);
    let one = cx.c(1.0);
    let w = cx.div(one, z.h);
    let w2 = cx.mul(w, w);
    let s = cx.poly(w2, &STIRLING);
    let s = cx.mul(s, w);
    let nz = cx.dd_neg(z);
    let r = cx.dd_add(p, nz);
    let hl = cx.ddc(HALF_LN_2PI);
    let r = cx.dd_add(r, hl);
    cx.dd_add1(r, s)
}

/// `Γ(z) = y 2ⁿ` for a double-double `z > 0` (up to ~190): shifted up to
/// `z + k ≥ 10` with the product `z (z+1) … (z+k-1)` in double-double.
fn gamma_pos(cx: &mut Cx, z0: DD) -> (V, V) {
    let mut z = z0;
    let mut p = cx.ddc((1.0, 0.0));
    for _ in 0..10 {
        let c = cx.ltc(z.h, 10.0);
        let pz = cx.dd_mul(p, z);
        p = cx.dd_sel(c, pz, p);
        let one = cx.c(1.0);
        let z1 = cx.dd_add1(z, one);
        z = cx.dd_sel(c, z1, z);
    }
    let g = stirling(cx, z);
    let (n, r) = reduce(cx, g);
    let y = exp_poly(cx, r);
    let y = cx.div(y, p.h);
    let c = cx.div(p.l, p.h);
    let c = cx.rsubc(1.0, c);
    let y = cx.mul(y, c);
    let ni = clamp_int(cx, n, 1900.0);
    // Normalise y to [1, 2) (it is about 1/P): the caller may divide by it.
    let b = cx.bits(y);
    let sh = cx.int(52, Scalar::I64);
    let e = cx.shr(b, sh);
    let mask = cx.int(0x7ff, Scalar::I64);
    let e = cx.and(e, mask);
    let e = cx.addc(e, -1023.0);
    let lo = cx.int(-1000, Scalar::I64);
    let hi = cx.int(1000, Scalar::I64);
    let e = cx.max(e, lo);
    let e = cx.min(e, hi);
    let ne = cx.neg(e);
    let p2 = cx.pow2(ne);
    let y = cx.mul(y, p2);
    let ni = cx.add(ni, e);
    (y, ni)
}

pub(super) fn tgamma(cx: &mut Cx, x: V) -> V {
    // x > 0.
    let xd = cx.dd1(x);
    let (y, n) = gamma_pos(cx, xd);
    let pos = cx.scale(y, n);
    // Exact factorials for integers 1..=23.
    let mut fact = cx.c(1.0);
    for i in 2..=22 {
        let lt = cx.gtc(x, i as f64);
        let f = cx.mulc(fact, i as f64);
        fact = cx.sel(lt, f, fact);
    }
    let t = cx.trunc(x);
    let int = cx.eq(t, x);
    let small_int = cx.lec(x, 23.0);
    let exact = cx.and(int, small_int);
    let pos = cx.sel(exact, fact, pos);
    let over = cx.gtc(x, 171.7);
    let pos = cx.selc(over, f64::INFINITY, pos);
    // x < 0: π / (sin(πx) Γ(1-x)).
    let one = cx.c(1.0);
    let nx = cx.neg(x);
    let w = cx.two_sum(one, nx);
    let (yn, nn) = gamma_pos(cx, w);
    let sp = sinpi(cx, x);
    let d = cx.mul(sp, yn);
    let pi = cx.c(PI.0);
    let q = cx.div(pi, d);
    let nneg = cx.neg(nn);
    let neg = cx.scale(q, nneg);
    let zero = cx.c(0.0);
    let zs = cx.copysign(zero, sp);
    let far = cx.ltc(x, -190.0);
    let neg = cx.sel(far, zs, neg);
    let nan = cx.c(f64::NAN);
    let neg = cx.sel(int, nan, neg);
    let xneg = cx.ltc(x, 0.0);
    let res = cx.sel(xneg, neg, pos);
    let inf = cx.c(f64::INFINITY);
    let zinf = cx.copysign(inf, x);
    let x0 = cx.eqc(x, 0.0);
    let res = cx.sel(x0, zinf, res);
    let isnan = cx.isnan(x);
    cx.sel(isnan, x, res)
}

/// `lgamma(x)` for `x > 0` finite.
fn lgamma_pos(cx: &mut Cx, x: V) -> V {
    // x < 3/4: lgamma(2+x) - log(x (1+x)).
    let p2 = cx.poly(x, &LGAMMA_2C);
    let one = cx.c(1.0);
    let u = cx.two_sum(one, x);
    let xu = cx.dd_mul1(u, x);
    let l = log_dd(cx, xu.h);
    let c = cx.div(xu.l, xu.h);
    let l = cx.dd_add1(l, c);
    let l = cx.round(l);
    let ra = cx.sub(p2, l);
    // 3/4 ≤ x < 5/4: e = x - 1, e G1(e).
    let e1 = cx.addc(x, -1.0);
    let g1 = cx.poly(e1, &LGAMMA_1);
    let rb = cx.mul(e1, g1);
    // 5/4 ≤ x < 10: x' = x - k ∈ [5/4, 5/2), e = x' - 2, e G2(e), plus log of
    // (x-1)(x-2)…(x-k) in double-double.
    let mut xs = x;
    let mut prod = cx.ddc((1.0, 0.0));
    for _ in 0..8 {
        let c = cx.gec(xs, 2.5);
        let x1 = cx.addc(xs, -1.0);
        let pm = cx.dd_mul1(prod, x1);
        prod = cx.dd_sel(c, pm, prod);
        xs = cx.sel(c, x1, xs);
    }
    let e2 = cx.addc(xs, -2.0);
    let ga = cx.poly(e2, &LGAMMA_2A);
    let gb = cx.poly(e2, &LGAMMA_2B);
    let lo = cx.ltc(e2, -0.25);
    let g2 = cx.sel(lo, ga, gb);
    let r2 = cx.mul(e2, g2);
    let lp = log_dd(cx, prod.h);
    let c = cx.div(prod.l, prod.h);
    let lp = cx.dd_add1(lp, c);
    let rc = cx.dd_add1(lp, r2);
    let rc = cx.round(rc);
    // x ≥ 10: Stirling.
    let xd = cx.dd1(x);
    let st = stirling(cx, xd);
    let rd = cx.round(st);
    // Overflow (x > ~2.5e305): x log x is infinite.
    let lx = log_dd(cx, x);
    let raw = cx.mul(x, lx.h);
    let over = cx.isinf(raw);
    let rd = cx.selc(over, f64::INFINITY, rd);
    let in_b = cx.gec(x, 0.75);
    let res = cx.sel(in_b, rb, ra);
    let in_c = cx.gec(x, 1.25);
    let res = cx.sel(in_c, rc, res);
    let in_d = cx.gec(x, 10.0);
    cx.sel(in_d, rd, res)
}

pub(super) fn lgamma(cx: &mut Cx, x: V) -> V {
    let nx = cx.neg(x);
    let omx = cx.addc(nx, 1.0);
    let xneg = cx.ltc(x, 0.0);
    let xp = cx.sel(xneg, omx, x);
    let lp = lgamma_pos(cx, xp);
    // x < 0: log(π / |sin(πx)|) - lgamma(1 - x).
    let sp = sinpi(cx, x);
    let asp = cx.abs(sp);
    let pi = cx.c(PI.0);
    let q = cx.div(pi, asp);
    let lq = log_dd(cx, q);
    let nlp = cx.neg(lp);
    let r = cx.dd_add1(lq, nlp);
    let neg = cx.round(r);
    let res = cx.sel(xneg, neg, lp);
    // Tiny |x|: -log|x| (π/sin(πx) would overflow for subnormal x).
    let ax = cx.abs(x);
    let la = log_dd(cx, ax);
    let la = cx.round(la);
    let nla = cx.neg(la);
    let tiny = cx.ltc(ax, 2f64.powi(-70));
    let res = cx.sel(tiny, nla, res);
    // lgamma(1) = lgamma(2) = +0.
    let res = cx.addc(res, 0.0);
    // Poles: 0 and the negative integers; infinities.
    let t = cx.trunc(x);
    let int = cx.eq(t, x);
    let le0 = cx.lec(x, 0.0);
    let pole = cx.and(int, le0);
    let inf = cx.eqc(ax, f64::INFINITY);
    let pole = cx.or(pole, inf);
    let res = cx.selc(pole, f64::INFINITY, res);
    let nan = cx.isnan(x);
    cx.sel(nan, x, res)
}
