//! The IR test kernels, written once for every backend. Each returns a
//! verified [`Module`]; [`crate::reference`] computes what each must produce.

use hypersonic_ir::*;

use crate::builder::{kernel, K};
use crate::{a1, a2, I32};

/// Every binary operation defined on integers.
pub const INT_BINARY_OPS: [BinaryOp; 13] = [
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::FloorDiv,
    BinaryOp::Mod,
    BinaryOp::Pow,
    BinaryOp::BitAnd,
    BinaryOp::BitOr,
    BinaryOp::BitXor,
    BinaryOp::Shl,
    BinaryOp::Shr,
    BinaryOp::Min,
    BinaryOp::Max,
];

/// `vecadd_<s>(a, b, out)`: `i = cuda.grid(1); if i < len(out): out[i] = a[i] + b[i]`.
pub fn vecadd(s: Scalar) -> Module {
    kernel(&format!("vecadd_{s}"), vec![a1(s), a1(s), a1(s)], |k, p| {
        let i = k.grid1();
        let n = k.len(p[2]);
        let inb = k.cmp(CmpOp::Lt, i, n);
        k.if_(inb, |k| {
            let x = k.load(p[0], &[i]);
            let y = k.load(p[1], &[i]);
            let z = k.bin(BinaryOp::Add, x, y);
            k.store(p[2], &[i], z);
        });
    })
}

/// `block_sum_<s>(a, out)`: `out[blockIdx.x]` = the sum of the block's
/// elements of `a` (zero past the end), by a tree reduction in a static shared
/// array of 256 elements with a barrier per step (blocks of at most 256
/// threads, a power of two).
pub fn block_sum(s: Scalar) -> Module {
    kernel(&format!("block_sum_{s}"), vec![a1(s), a1(s)], |k, p| {
        let (a, out) = (p[0], p[1]);
        let sh = k.shared(s, &[256], false);
        let t = k.tid();
        let i = k.grid1();
        let n = k.len(a);
        let inb = k.cmp(CmpOp::Lt, i, n);
        k.if_else(
            inb,
            |k| {
                let x = k.load(a, &[i]);
                k.store(sh, &[t], x);
            },
            |k| {
                let z = k.num(s, 0);
                k.store(sh, &[t], z);
            },
        );
        k.barrier();
        let bd = k.geo(Geometry::BlockDim, Axis::X);
        let bd = k.cast(bd, Scalar::I64);
        let two = k.i64(2);
        let s0 = k.bin(BinaryOp::FloorDiv, bd, two);
        let sl = k.local("s", Type::I64);
        k.set(sl, s0);
        k.while_(
            |k| {
                let sv = k.get(sl);
                let z = k.i64(0);
                k.cmp(CmpOp::Gt, sv, z)
            },
            |k| {
                let sv = k.get(sl);
                let act = k.cmp(CmpOp::Lt, t, sv);
                k.if_(act, |k| {
                    let j = k.bin(BinaryOp::Add, t, sv);
                    let x = k.load(sh, &[t]);
                    let y = k.load(sh, &[j]);
                    let z = k.bin(BinaryOp::Add, x, y);
                    k.store(sh, &[t], z);
                });
                k.barrier();
                let two = k.i64(2);
                let ns = k.bin(BinaryOp::FloorDiv, sv, two);
                k.set(sl, ns);
            },
        );
        let z = k.i64(0);
        let first = k.cmp(CmpOp::Eq, t, z);
        k.if_(first, |k| {
            let bi = k.geo(Geometry::BlockIdx, Axis::X);
            let bi = k.cast(bi, Scalar::I64);
            let r = k.load(sh, &[z]);
            k.store(out, &[bi], r);
        });
    })
}

/// `histogram_<g>_<s>(data, hist, shist)`: for each `i < len(data)`, with
/// `bin = data[i] % nbins`: `hist[bin] += 1` by a global atomic of `g`, and
/// the same into a per-block shared histogram of `s` (zeroed first, by a
/// block-strided loop), which is then merged into `shist` with global atomics.
pub fn histogram(g: Scalar, s: Scalar, nbins: i64) -> Module {
    let params = vec![a1(Scalar::I64), a1(g), a1(s)];
    kernel(&format!("histogram_{g}_{s}"), params, |k, p| {
        let (data, hist, shist) = (p[0], p[1], p[2]);
        let sh = k.shared(s, &[nbins], false);
        let t = k.tid();
        let bd = k.geo(Geometry::BlockDim, Axis::X);
        let bd = k.cast(bd, Scalar::I64);
        let nb = k.i64(nbins);
        let j = k.local("j", Type::I64);
        let strided = |k: &mut K, body: &dyn Fn(&mut K, ValueId)| {
            k.set(j, t);
            k.while_(
                |k| {
                    let jv = k.get(j);
                    k.cmp(CmpOp::Lt, jv, nb)
                },
                |k| {
                    let jv = k.get(j);
                    body(k, jv);
                    let n = k.bin(BinaryOp::Add, jv, bd);
                    k.set(j, n);
                },
            );
        };
        strided(k, &|k, jv| {
            let z = k.num(s, 0);
            k.store(sh, &[jv], z);
        });
        k.barrier();
        let i = k.grid1();
        let n = k.len(data);
        let inb = k.cmp(CmpOp::Lt, i, n);
        k.if_(inb, |k| {
            let x = k.load(data, &[i]);
            let bin = k.bin(BinaryOp::Mod, x, nb);
            let one = k.num(g, 1);
            k.atomic(AtomicOp::Add, hist, bin, one);
            let one = k.num(s, 1);
            k.atomic(AtomicOp::Add, sh, bin, one);
        });
        k.barrier();
        strided(k, &|k, jv| {
            let c = k.load(sh, &[jv]);
            k.atomic(AtomicOp::Add, shist, jv, c);
        });
    })
}

/// `warp_sum_<s>(a, out)`: `v = a[i]; for off in 16, 8, 4, 2, 1: v +=
/// shfl_down_sync(-1, v, off)`; lane 0 writes its warp's sum to `out[i // 32]`.
pub fn warp_sum(s: Scalar) -> Module {
    kernel(&format!("warp_sum_{s}"), vec![a1(s), a1(s)], |k, p| {
        let (a, out) = (p[0], p[1]);
        let i = k.grid1();
        let x = k.load(a, &[i]);
        let vl = k.local("v", Type::Scalar(s));
        k.set(vl, x);
        let ol = k.local("off", I32);
        let sixteen = k.i32(16);
        k.set(ol, sixteen);
        k.loop_(|k| {
            let off = k.get(ol);
            let z = k.i32(0);
            let done = k.cmp(CmpOp::Le, off, z);
            k.if_(done, |k| k.break_());
            let v = k.get(vl);
            let o = k.shfl(Shuffle::Down, v, off, 32);
            let sum = k.bin(BinaryOp::Add, v, o);
            k.set(vl, sum);
            let two = k.i32(2);
            let h = k.bin(BinaryOp::FloorDiv, off, two);
            k.set(ol, h);
        });
        let lane = k.e(Op::LaneId, I32);
        let z = k.i32(0);
        let first = k.cmp(CmpOp::Eq, lane, z);
        k.if_(first, |k| {
            let v = k.get(vl);
            let thirty_two = k.i64(32);
            let w = k.bin(BinaryOp::FloorDiv, i, thirty_two);
            k.store(out, &[w], v);
        });
    })
}

/// `warp_scan_<s>(a, red, scan)`: the warp sum by `shfl_down_sync` into
/// `red[i // 32]` (from lane 0), and the inclusive prefix sum of each warp by
/// `shfl_up_sync` (adding only from lanes `>= d`) into `scan[i]`.
pub fn warp_scan(s: Scalar) -> Module {
    kernel(
        &format!("warp_scan_{s}"),
        vec![a1(s), a1(s), a1(s)],
        |k, p| {
            let (a, red, scan) = (p[0], p[1], p[2]);
            let i = k.grid1();
            let x0 = k.load(a, &[i]);
            let v = k.local("v", Type::Scalar(s));
            k.set(v, x0);
            let off = k.local("off", I32);
            let sixteen = k.i32(16);
            k.set(off, sixteen);
            k.while_(
                |k| {
                    let o = k.get(off);
                    let z = k.i32(0);
                    k.cmp(CmpOp::Gt, o, z)
                },
                |k| {
                    let o = k.get(off);
                    let vv = k.get(v);
                    let y = k.shfl(Shuffle::Down, vv, o, 32);
                    let sum = k.bin(BinaryOp::Add, vv, y);
                    k.set(v, sum);
                    let two = k.i32(2);
                    let h = k.bin(BinaryOp::FloorDiv, o, two);
                    k.set(off, h);
                },
            );
            let lane = k.e(Op::LaneId, I32);
            let z = k.i32(0);
            let is0 = k.cmp(CmpOp::Eq, lane, z);
            k.if_(is0, |k| {
                let vv = k.get(v);
                let s32 = k.i64(32);
                let wi = k.bin(BinaryOp::FloorDiv, i, s32);
                k.store(red, &[wi], vv);
            });
            k.set(v, x0);
            for d in [1i64, 2, 4, 8, 16] {
                let dv = k.i32(d);
                let vv = k.get(v);
                let y = k.shfl(Shuffle::Up, vv, dv, 32);
                let ge = k.cmp(CmpOp::Ge, lane, dv);
                k.if_(ge, |k| {
                    let sum = k.bin(BinaryOp::Add, vv, y);
                    k.set(v, sum);
                });
            }
            let vv = k.get(v);
            k.store(scan, &[i], vv);
        },
    )
}

/// `votes(ballots, x, flags)` with `t = threadIdx.x`, `p = t % 3 == 0`:
/// `ballots[i] = ballot_sync(-1, p)`; `flags[i] = all_sync(-1, t < 40)`;
/// `x[i] = shfl_xor_sync(-1, laneid, 5) + 100 * shfl_up_sync(-1, laneid, 3,
/// width=8) + 10000 * syncthreads_count(p) + 10^6 * (syncthreads_and(p) + 2 *
/// syncthreads_or(p)) + 4 * 10^6 * any_sync(-1, t >= 40)`; with a
/// `syncwarp` and block, device and system fences.
pub fn votes() -> Module {
    let params = vec![a1(Scalar::U32), a1(Scalar::I32), a1(Scalar::Bool)];
    kernel("votes", params, |k, p| {
        let (out, x, flags) = (p[0], p[1], p[2]);
        let i = k.grid1();
        let t = k.geo(Geometry::ThreadIdx, Axis::X);
        let three = k.i32(3);
        let r = k.bin(BinaryOp::Mod, t, three);
        let z = k.i32(0);
        let pr = k.cmp(CmpOp::Eq, r, z);
        let ballot = k.vote(Vote::Ballot, pr);
        let forty = k.i32(40);
        let q = k.cmp(CmpOp::Lt, t, forty);
        let all = k.vote(Vote::All, q);
        let nq = k.un(UnaryOp::Not, q);
        let any = k.vote(Vote::Any, nq);
        let mask = k.u32(u32::MAX);
        k.b.push(Stmt::SyncWarp {
            mask,
            loc: Loc::default(),
        });
        k.store(out, &[i], ballot);
        k.store(flags, &[i], all);
        let lane = k.e(Op::LaneId, I32);
        let five = k.i32(5);
        let xs = k.shfl(Shuffle::Xor, lane, five, 32);
        let up = k.shfl(Shuffle::Up, lane, three, 8);
        let hundred = k.i32(100);
        let up100 = k.bin(BinaryOp::Mul, up, hundred);
        let mut acc = k.bin(BinaryOp::Add, xs, up100);
        for (r, w) in [
            (BarrierReduce::Count, 10_000),
            (BarrierReduce::And, 1_000_000),
            (BarrierReduce::Or, 2_000_000),
        ] {
            let c = k.e(Op::BarrierReduce(r, pr), I32);
            let w = k.i32(w);
            let c = k.bin(BinaryOp::Mul, c, w);
            acc = k.bin(BinaryOp::Add, acc, c);
        }
        let any = k.cast(any, Scalar::I32);
        let w = k.i32(4_000_000);
        let any = k.bin(BinaryOp::Mul, any, w);
        acc = k.bin(BinaryOp::Add, acc, any);
        k.store(x, &[i], acc);
        for s in [FenceScope::Block, FenceScope::Device, FenceScope::System] {
            k.b.push(Stmt::Fence(s));
        }
    })
}

/// `int_ops(a, b, out, sat)` on int64, for `i < len(a)`: `out[i] = (a // b,
/// a % b, a ** 3 (wrapping), a >> (b & 70))` (Python's floor semantics, 0 for a
/// zero divisor, arithmetic shifts saturating at 64) and `sat[i] =
/// int32(float64(a) * 1e-9)` (saturating, NaN to 0).
pub fn int_ops() -> Module {
    let params = vec![
        a1(Scalar::I64),
        a1(Scalar::I64),
        a2(Scalar::I64),
        a1(Scalar::I32),
    ];
    kernel("int_ops", params, |k, p| {
        let (a, b, out, sat) = (p[0], p[1], p[2], p[3]);
        let i = k.grid1();
        let n = k.len(a);
        let inb = k.cmp(CmpOp::Lt, i, n);
        k.if_(inb, |k| {
            let x = k.load(a, &[i]);
            let y = k.load(b, &[i]);
            let q = k.bin(BinaryOp::FloorDiv, x, y);
            let r = k.bin(BinaryOp::Mod, x, y);
            let three = k.i64(3);
            let pw = k.bin(BinaryOp::Pow, x, three);
            let c70 = k.i64(70);
            let sh = k.bin(BinaryOp::BitAnd, y, c70);
            let s = k.bin(BinaryOp::Shr, x, sh);
            for (j, v) in [q, r, pw, s].into_iter().enumerate() {
                let jj = k.i64(j as i64);
                k.store(out, &[i, jj], v);
            }
            let f = k.cast(x, Scalar::F64);
            let scale = k.f64(1e-9);
            let f = k.bin(BinaryOp::Mul, f, scale);
            let c = k.cast(f, Scalar::I32);
            k.store(sat, &[i], c);
        });
    })
}

/// A math function and the host's float64 version of it.
pub type MathRef = (MathFn, fn(f64) -> f64);

/// The math functions [`math`] applies.
pub const MATH: &[MathRef] = &[
    (MathFn::Sin, f64::sin),
    (MathFn::Cos, f64::cos),
    (MathFn::Tan, f64::tan),
    (MathFn::Exp, f64::exp),
    (MathFn::Log, f64::ln),
    (MathFn::Expm1, f64::exp_m1),
    (MathFn::Log1p, f64::ln_1p),
    (MathFn::Atan, f64::atan),
    (MathFn::Sqrt, f64::sqrt),
    (MathFn::Cbrt, f64::cbrt),
    (MathFn::Tanh, f64::tanh),
    (MathFn::Asinh, f64::asinh),
];

/// `math_<s>(a, out)`: `out[i, j] = MATH[j](a[i])` for `i < len(a)`.
pub fn math(s: Scalar) -> Module {
    kernel(&format!("math_{s}"), vec![a1(s), a2(s)], |k, p| {
        let (a, out) = (p[0], p[1]);
        let i = k.grid1();
        let n = k.len(a);
        let inb = k.cmp(CmpOp::Lt, i, n);
        k.if_(inb, |k| {
            let x = k.load(a, &[i]);
            for (j, (f, _)) in MATH.iter().enumerate() {
                let r = k.math(*f, vec![x]);
                let jj = k.i64(j as i64);
                k.store(out, &[i, jj], r);
            }
        });
    })
}

/// `atoms(data, bins, ctr, out)` in blocks of 64 with 64 float64 of dynamic
/// shared memory: `cuda.atomic.add(bins, data[i] % 16, 0.5)` (float32),
/// `cuda.atomic.inc(ctr, 0, 9)`; a local array `loc[j] = C[j] * t` from the
/// constant array `C = [1.5, -2, 3.25, 4]`; `dyn[t] = loc[3]`; a barrier;
/// `out[i] = dyn[(t + 1) % blockDim.x] + len(dyn)`.
pub fn atoms() -> Module {
    let params = vec![
        a1(Scalar::I64),
        a1(Scalar::F32),
        a1(Scalar::U32),
        a1(Scalar::F64),
    ];
    kernel("atoms", params, |k, p| {
        let (data, bins, ctr, out) = (p[0], p[1], p[2], p[3]);
        let i = k.grid1();
        let x = k.load(data, &[i]);
        let sixteen = k.i64(16);
        let bin = k.bin(BinaryOp::Mod, x, sixteen);
        let half = k.float(Scalar::F32, 0.5);
        k.atomic(AtomicOp::Add, bins, bin, half);
        let z = k.i64(0);
        let lim = k.u32(9);
        k.atomic(AtomicOp::Inc, ctr, z, lim);
        let dynsh = k.shared(Scalar::F64, &[0], true);
        let t = k.tid();
        let ct = k.const_f64(&[1.5, -2.0, 3.25, 4.0]);
        let loc = k.local_array(Scalar::F64, &[4]);
        let four = k.i64(4);
        k.range(z, four, |k, j| {
            let c = k.load(ct, &[j]);
            let tf = k.cast(t, Scalar::F64);
            let v = k.bin(BinaryOp::Mul, c, tf);
            k.store(loc, &[j], v);
        });
        let three = k.i64(3);
        let v = k.load(loc, &[three]);
        k.store(dynsh, &[t], v);
        k.barrier();
        let bd = k.geo(Geometry::BlockDim, Axis::X);
        let bd = k.cast(bd, Scalar::I64);
        let one = k.i64(1);
        let t1 = k.bin(BinaryOp::Add, t, one);
        let j = k.bin(BinaryOp::Mod, t1, bd);
        let nb = k.len(dynsh);
        let w = k.load(dynsh, &[j]);
        let nbf = k.cast(nb, Scalar::F64);
        let r = k.bin(BinaryOp::Add, w, nbf);
        k.store(out, &[i], r);
    })
}

/// `fma(a)`: `a[0] = math.fma(a[0], a[1], a[2])` (float64, one thread).
pub fn fma() -> Module {
    kernel("fma", vec![a1(Scalar::F64)], |k, p| {
        let a = p[0];
        let (z, o, t) = (k.i64(0), k.i64(1), k.i64(2));
        let x = k.load(a, &[z]);
        let y = k.load(a, &[o]);
        let c = k.load(a, &[t]);
        let r = k.math(MathFn::Fma, vec![x, y, c]);
        k.store(a, &[z], r);
    })
}

/// `early_return(a)`: `if i >= len(a): return`, then (not divergent: every
/// thread left returned) `a[i] = shfl_xor_sync(-1, a[i], 1)` on float32.
pub fn early_return() -> Module {
    kernel("early_return", vec![a1(Scalar::F32)], |k, p| {
        let a = p[0];
        let i = k.grid1();
        let n = k.len(a);
        let c = k.cmp(CmpOp::Ge, i, n);
        k.if_(c, |k| k.return_());
        let x = k.load(a, &[i]);
        let one = k.i32(1);
        let r = k.shfl(Shuffle::Xor, x, one, 32);
        k.store(a, &[i], r);
    })
}

/// The device function `helper(x, a)` of [`calls`]: `if x < 0: raise
/// ValueError("negative")` (exception 0); `return sqrt(x) * a[0]` (float64).
pub fn calls_helper() -> Function {
    let mut h = K::func("helper", vec![Type::F64, a1(Scalar::F64)], Type::F64);
    let (x, a) = (h.param(0), h.param(1));
    let z = h.f64(0.0);
    let neg = h.cmp(CmpOp::Lt, x, z);
    h.if_(neg, |h| h.raise_id(ExcId(0)));
    let r = h.math(MathFn::Sqrt, vec![x]);
    let zi = h.i64(0);
    let a0 = h.load(a, &[zi]);
    let r = h.bin(BinaryOp::Mul, r, a0);
    h.b.push(Stmt::Return { value: Some(r) });
    h.function()
}

/// The exceptions of [`calls`].
pub fn calls_exceptions() -> Vec<Exception> {
    vec![
        Exception {
            class: "ValueError".into(),
            message: "negative".into(),
        },
        Exception {
            class: "OverflowError".into(),
            message: "too large".into(),
        },
    ]
}

/// `calls(a, out)`: `out[i] = helper(a[i], a)` ([`calls_helper`], which raises
/// `ValueError("negative")` for `a[i] < 0`); `if out[i] > 1e300: raise
/// OverflowError("too large")`.
pub fn calls() -> Module {
    let mut k = K::new("calls", vec![a1(Scalar::F64), a1(Scalar::F64)]);
    for e in calls_exceptions() {
        k.exception(&e.class, &e.message);
    }
    k.extra.push(calls_helper());
    let (a, out) = (k.param(0), k.param(1));
    let i = k.grid1();
    let x = k.load(a, &[i]);
    let r = k.e(Op::Call(FuncId(1), vec![x, a]), Type::F64);
    k.store(out, &[i], r);
    let big = k.f64(1e300);
    let over = k.cmp(CmpOp::Gt, r, big);
    k.if_(over, |k| k.raise_id(ExcId(1)));
    k.finish()
}

/// `reverse(a, out)` with `sh = cuda.shared.array(0, float32)` (dynamic, one
/// element per thread): `sh[t] = a[i]`; a barrier; `out[i] =
/// sh[blockDim.x - 1 - t] + len(sh)`.
pub fn reverse() -> Module {
    let t = a1(Scalar::F32);
    kernel("reverse", vec![t.clone(), t], |k, p| {
        let (a, out) = (p[0], p[1]);
        let sh = k.shared(Scalar::F32, &[0], true);
        let tid = k.tid();
        let i = k.grid1();
        let x = k.load(a, &[i]);
        k.store(sh, &[tid], x);
        k.barrier();
        let bd = k.geo(Geometry::BlockDim, Axis::X);
        let bd = k.cast(bd, Scalar::I64);
        let one = k.i64(1);
        let j = k.bin(BinaryOp::Sub, bd, one);
        let j = k.bin(BinaryOp::Sub, j, tid);
        let len = k.len(sh);
        let lenf = k.cast(len, Scalar::F32);
        let y = k.load(sh, &[j]);
        let y = k.bin(BinaryOp::Add, y, lenf);
        k.store(out, &[i], y);
    })
}

/// `sign_extension(out, vals)` with `t = int64(threadIdx.x)`: `if t < 4:
/// out[t] = 1`; `if t < 8: out[8 + t] = int64(vals[t]); out[16 + t] =
/// int64(vals[t]) < -2`: signed comparisons of sign-extended values with
/// constants (which Mesa 22's lavapipe folded to false when the extension was
/// an `OpSConvert`), and negative values extended.
pub fn sign_extension() -> Module {
    let params = vec![a1(Scalar::I64), a1(Scalar::I32)];
    kernel("sign_extension", params, |k, p| {
        let (out, vals) = (p[0], p[1]);
        let t = k.tid();
        let four = k.i64(4);
        let c = k.cmp(CmpOp::Lt, t, four);
        k.if_(c, |k| {
            let one = k.i64(1);
            k.store(out, &[t], one);
        });
        let eight = k.i64(8);
        let c = k.cmp(CmpOp::Lt, t, eight);
        k.if_(c, |k| {
            let x = k.load(vals, &[t]);
            let x = k.cast(x, Scalar::I64);
            let at = k.bin(BinaryOp::Add, t, eight);
            k.store(out, &[at], x);
            let m2 = k.i64(-2);
            let neg = k.cmp(CmpOp::Lt, x, m2);
            let flag = k.cast(neg, Scalar::I64);
            let sixteen = k.i64(16);
            let at = k.bin(BinaryOp::Add, t, sixteen);
            k.store(out, &[at], flag);
        });
    })
}

/// `grid_stride(a, out)`: `for i in range(cuda.grid(1), len(a),
/// cuda.gridsize(1)): out[i] += 2 * a[i]` (float64; accumulated, so that an
/// element visited twice, or never, shows).
pub fn grid_stride() -> Module {
    let t = a1(Scalar::F64);
    kernel("grid_stride", vec![t.clone(), t], |k, p| {
        let (a, out) = (p[0], p[1]);
        let start = k.grid1();
        let gd = k.geo(Geometry::GridDim, Axis::X);
        let bd = k.geo(Geometry::BlockDim, Axis::X);
        let stride = k.bin(BinaryOp::Mul, gd, bd);
        let stride = k.cast(stride, Scalar::I64);
        let n = k.len(a);
        let i = k.local("i", Type::I64);
        k.set(i, start);
        k.while_(
            |k| {
                let iv = k.get(i);
                k.cmp(CmpOp::Lt, iv, n)
            },
            |k| {
                let iv = k.get(i);
                let x = k.load(a, &[iv]);
                let two = k.f64(2.0);
                let y = k.bin(BinaryOp::Mul, x, two);
                let o = k.load(out, &[iv]);
                let y = k.bin(BinaryOp::Add, o, y);
                k.store(out, &[iv], y);
                let nx = k.bin(BinaryOp::Add, iv, stride);
                k.set(i, nx);
            },
        );
    })
}

/// The tile size of [`matmul_tiled`].
pub const TILE: i64 = 16;

/// `matmul_tiled_<s>(a, b, c)`: `c = a @ b` for any shapes, in 2-D blocks of
/// `TILE x TILE` threads on a 2-D grid (x: columns), through two static shared
/// tiles (zero-padded) and a loop over tiles with two barriers per iteration.
pub fn matmul_tiled(s: Scalar) -> Module {
    kernel(
        &format!("matmul_tiled_{s}"),
        vec![a2(s), a2(s), a2(s)],
        |k, p| {
            let (a, b, c) = (p[0], p[1], p[2]);
            let sa = k.shared(s, &[TILE, TILE], false);
            let sb = k.shared(s, &[TILE, TILE], false);
            let tx = k.geo(Geometry::ThreadIdx, Axis::X);
            let ty = k.geo(Geometry::ThreadIdx, Axis::Y);
            let bx = k.geo(Geometry::BlockIdx, Axis::X);
            let by = k.geo(Geometry::BlockIdx, Axis::Y);
            let tile = k.i32(TILE);
            let col = k.bin(BinaryOp::Mul, bx, tile);
            let col = k.bin(BinaryOp::Add, col, tx);
            let col = k.cast(col, Scalar::I64);
            let row = k.bin(BinaryOp::Mul, by, tile);
            let row = k.bin(BinaryOp::Add, row, ty);
            let row = k.cast(row, Scalar::I64);
            let tx = k.cast(tx, Scalar::I64);
            let ty = k.cast(ty, Scalar::I64);
            let m = k.dim(c, 0);
            let n = k.dim(c, 1);
            let kk = k.dim(a, 1);
            let acc = k.local("acc", Type::Scalar(s));
            let z = k.num(s, 0);
            k.set(acc, z);
            let t64 = k.i64(TILE);
            let t1 = k.i64(TILE - 1);
            let nt = k.bin(BinaryOp::Add, kk, t1);
            let nt = k.bin(BinaryOp::FloorDiv, nt, t64);
            let zero = k.i64(0);
            // A tile element from `src[r, c]` when in range, else 0.
            let fill = |k: &mut K,
                        src: ValueId,
                        dst: ValueId,
                        r: ValueId,
                        cc: ValueId,
                        r_lim: ValueId,
                        c_lim: ValueId| {
                let r_ok = k.cmp(CmpOp::Lt, r, r_lim);
                let c_ok = k.cmp(CmpOp::Lt, cc, c_lim);
                let ok = k.and(r_ok, c_ok);
                k.if_else(
                    ok,
                    |k| {
                        let x = k.load(src, &[r, cc]);
                        k.store(dst, &[ty, tx], x);
                    },
                    |k| {
                        let z = k.num(s, 0);
                        k.store(dst, &[ty, tx], z);
                    },
                );
            };
            k.range(zero, nt, |k, it| {
                let base = k.bin(BinaryOp::Mul, it, t64);
                let ac = k.bin(BinaryOp::Add, base, tx);
                let br = k.bin(BinaryOp::Add, base, ty);
                fill(k, a, sa, row, ac, m, kk);
                fill(k, b, sb, br, col, kk, n);
                k.barrier();
                let zero = k.i64(0);
                k.range(zero, t64, |k, q| {
                    let x = k.load(sa, &[ty, q]);
                    let y = k.load(sb, &[q, tx]);
                    let xy = k.bin(BinaryOp::Mul, x, y);
                    let sum = k.get(acc);
                    let sum = k.bin(BinaryOp::Add, sum, xy);
                    k.set(acc, sum);
                });
                k.barrier();
            });
            let r_ok = k.cmp(CmpOp::Lt, row, m);
            let c_ok = k.cmp(CmpOp::Lt, col, n);
            let ok = k.and(r_ok, c_ok);
            k.if_(ok, |k| {
                let sum = k.get(acc);
                k.store(c, &[row, col], sum);
            });
        },
    )
}

/// `float_atomics_<s>(data, w, out)`: `cuda.atomic.add(out, data[i], w[i])`
/// on float `s` in global memory, for `i < len(data)`.
pub fn float_atomics(s: Scalar) -> Module {
    let params = vec![a1(Scalar::I64), a1(s), a1(s)];
    kernel(&format!("float_atomics_{s}"), params, |k, p| {
        let (data, w, out) = (p[0], p[1], p[2]);
        let i = k.grid1();
        let n = k.len(data);
        let inb = k.cmp(CmpOp::Lt, i, n);
        k.if_(inb, |k| {
            let bin = k.load(data, &[i]);
            let x = k.load(w, &[i]);
            k.atomic(AtomicOp::Add, out, bin, x);
        });
    })
}

/// `grid_size(out)`: `out[i] = gridDim.x + gridDim.y + gridDim.z` for
/// `i = cuda.grid(1) < len(out)` (int32).
pub fn grid_size() -> Module {
    kernel("grid_size", vec![a1(Scalar::I32)], |k, p| {
        let out = p[0];
        let i = k.grid1();
        let n = k.len(out);
        let inb = k.cmp(CmpOp::Lt, i, n);
        k.if_(inb, |k| {
            let mut acc = k.i32(0);
            for axis in [Axis::X, Axis::Y, Axis::Z] {
                let g = k.geo(Geometry::GridDim, axis);
                acc = k.bin(BinaryOp::Add, acc, g);
            }
            k.store(out, &[i], acc);
        });
    })
}
