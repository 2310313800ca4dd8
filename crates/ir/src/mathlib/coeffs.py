"""Generates the constants of `consts.rs`: Chebyshev fits (mpmath.chebyfit,
near-minimax) of the functions the math library approximates by polynomials,
and high-precision constants split into double-double parts.

    pip install mpmath && python3 coeffs.py > consts.rs && rustfmt consts.rs
"""
import mpmath as mp

mp.mp.prec = 160
OUT = []


def d(x):
    return float(x)


def dd(x):
    h = mp.mpf(float(x))
    return float(h), float(x - h)


def emit_const(name, x):
    OUT.append(f"pub const {name}: f64 = {d(x)!r};")


def emit_dd(name, x):
    h, l = dd(x)
    OUT.append(f"pub const {name}: (f64, f64) = ({h!r}, {l!r});")


def emit_poly(name, coeffs, comment):
    """coeffs lowest degree first"""
    OUT.append(f"/// {comment}")
    body = ", ".join(repr(float(c)) for c in coeffs)
    OUT.append(f"pub const {name}: [f64; {len(coeffs)}] = [{body}];")


def fit(f, a, b, target, name, comment, rel=True, maxdeg=40):
    """Smallest degree whose fit (before rounding the coefficients to double)
    meets `target` (relative or absolute error of f over [a, b], sampled)."""
    a, b = mp.mpf(a), mp.mpf(b)
    for n in range(6, maxdeg):
        poly = mp.chebyfit(f, [a, b], n)
        c = list(reversed(poly))
        err = 0
        for i in range(400):
            x = a + (b - a) * i / 399
            fx = f(x)
            px = mp.polyval(list(reversed(c)), x)
            e = abs(px - fx)
            if rel:
                e /= abs(fx)
            err = max(err, e)
        if err < target:
            emit_poly(name, c, f"{comment}: degree {n - 1}, max {'relative' if rel else 'absolute'} error {float(err):.2e} on [{float(a)}, {float(b)}]")
            return
    raise SystemExit(f"{name}: no fit")


T = mp.mpf(2) ** -58

# exp(r) = 1 + r + r^2 * P(r), |r| <= ln2/2 (+ a margin)
fit(lambda r: (mp.exp(r) - 1 - r) / r**2 if r != 0 else mp.mpf(0.5), -0.35, 0.35, T,
    "EXP_P", "exp(r) = 1 + r + r^2 P(r)")

# log: 2 atanh(s) = 2s + s^3 (2/3) + s^5 T(s^2), T(z) = sum 2 z^k / (2k + 5): Taylor.
OUT.append("/// 2 atanh(s) = 2s + (2/3) s^3 + s^5 T(s^2): the Taylor coefficients 2/(2k+5).")
OUT.append("pub const LOG_T: [f64; 12] = [" + ", ".join(repr(d(mp.mpf(2) / (2 * k + 5))) for k in range(12)) + "];")

# sin/cos Taylor coefficients: sin r = r + r^3 S(r^2); cos r = 1 - r^2/2 + r^4 C(r^2)
OUT.append("/// sin r = r + r^3 S(r^2): Taylor coefficients (-1)^k / (2k+3)!.")
OUT.append("pub const SIN_S: [f64; 10] = [" + ", ".join(repr(d((-1) ** (k + 1) / mp.factorial(2 * k + 3))) for k in range(10)) + "];")
OUT.append("/// cos r = 1 - r^2/2 + r^4 C(r^2): Taylor coefficients (-1)^k / (2k+4)!.")
OUT.append("pub const COS_C: [f64; 10] = [" + ", ".join(repr(d((-1) ** k / mp.factorial(2 * k + 4))) for k in range(10)) + "];")
OUT.append("/// atan u = u + u^3 A(u^2): Taylor coefficients (-1)^(k+1) / (2k+3).")
OUT.append("pub const ATAN_A: [f64; 11] = [" + ", ".join(repr(d(mp.mpf((-1) ** (k + 1)) / (2 * k + 3))) for k in range(11)) + "];")
for j in range(1, 5):
    emit_dd(f"ATAN_C{j}", mp.atan(mp.mpf(j) / 4))

emit_dd("LN2", mp.log(2))
emit_dd("INV_LN2", 1 / mp.log(2))
emit_dd("INV_LN10", 1 / mp.log(10))
emit_dd("LOG10_2", mp.log10(2))
emit_dd("TWO_THIRDS", mp.mpf(2) / 3)
emit_dd("PI", mp.pi)
emit_dd("PI_2", mp.pi / 2)
emit_dd("HALF_LN_2PI", mp.log(2 * mp.pi) / 2)
# ln2 with its low 11 bits cleared, so that k * LN2_HI42 is exact for |k| < 2^11
h = mp.mpf(float(mp.log(2)))
m, e = mp.frexp(h)
h42 = mp.ldexp(mp.floor(mp.ldexp(m, 42)), e - 42)
emit_const("LN2_HI42", h42)
emit_dd("LN2_LO42", mp.log(2) - h42)
# pi/2 in three 53-bit parts
p1 = mp.mpf(float(mp.pi / 2)); p2 = mp.mpf(float(mp.pi / 2 - p1)); p3 = mp.mpf(float(mp.pi / 2 - p1 - p2))
emit_const("PIO2_1", p1); emit_const("PIO2_2", p2); emit_const("PIO2_3", p3)
emit_const("TWO_OVER_PI", 2 / mp.pi)

# Stirling series: lgamma(z) ~ (z-1/2) log z - z + log(2 pi)/2 + sum B_2k / (2k (2k-1) z^(2k-1))
OUT.append("/// Stirling's series: B_2k / (2k (2k-1)), k = 1..")
OUT.append("pub const STIRLING: [f64; 10] = [" + ", ".join(repr(d(mp.bernoulli(2 * k) / (2 * k * (2 * k - 1)))) for k in range(1, 11)) + "];")

# erf
fit(lambda z: (mp.erf(mp.sqrt(z)) / mp.sqrt(z) - 1) if z != 0 else 2 / mp.sqrt(mp.pi) - 1, 0, 0.5625, T,
    "ERF_0", "erf x = x + x E(x^2), |x| < 0.75")
fit(lambda s: mp.erf(1 + s), -0.25, 0.25, T, "ERF_1", "erf(1 + s), |s| <= 1/4")
fit(lambda s: mp.erfc(1 + s), -0.25, 0.25, T, "ERFC_1", "erfc(1 + s), |s| <= 1/4")
ERFCX = [(1.25, 2), (2, 3), (3, 4.5), (4.5, 7), (7, 11), (11, 18), (18, 28)]
for i, (a, b) in enumerate(ERFCX):
    c = (mp.mpf(a) + b) / 2
    fit(lambda t, c=c: mp.exp((c + t) ** 2) * mp.erfc(c + t), a - c, b - c, T, f"ERFCX_{i}",
        f"exp(x^2) erfc(x) at x = {float(c)} + t")
OUT.append("pub const ERFCX_BREAKS: [f64; %d] = [%s];" % (len(ERFCX) + 1, ", ".join(repr(float(a)) for a, _ in ERFCX) + ", " + repr(float(ERFCX[-1][1]))))

# lgamma near its zeros
def lg1(e):
    return mp.loggamma(1 + e) / e if e != 0 else -mp.euler
def lg2(e):
    return mp.loggamma(2 + e) / e if e != 0 else 1 - mp.euler
fit(lg1, -0.25, 0.25, T, "LGAMMA_1", "lgamma(1 + e) / e")
fit(lg2, -0.75, -0.25, T, "LGAMMA_2A", "lgamma(2 + e) / e")
fit(lg2, -0.25, 0.5, T, "LGAMMA_2B", "lgamma(2 + e) / e")
fit(lambda e: mp.loggamma(2 + e), 0, 0.75, T, "LGAMMA_2C", "lgamma(2 + e) (for x = e < 3/4 via lgamma(x) = lgamma(2+x) - log x - log1p x)", rel=False)

print("//! Constants of the math library, generated by `coeffs.py` (mpmath). Do not edit.")
print("#![allow(clippy::excessive_precision, clippy::approx_constant)]")
print()
print("\n".join(OUT))
