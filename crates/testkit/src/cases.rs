//! The suite: each kernel of [`crate::kernels`] with random inputs, launch
//! geometries and the check of its results against [`crate::reference`].
//! [`crate::suite!`] makes one test per case for a backend.

use hypersonic_ir::Scalar;

use crate::host::{Array, Case, Run};
use crate::kernels as kern;
use crate::reference as r;
use crate::Rng;

fn floats(s: Scalar, v: &[f64]) -> Array {
    match s {
        Scalar::F32 => Array::vec(&v.iter().map(|&x| x as f32).collect::<Vec<_>>()),
        Scalar::F64 => Array::vec(v),
        _ => panic!("{s} is not a float dtype"),
    }
}

fn assert_floats(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}: element {i} is {g}, want {w}"
        );
    }
}

/// [`kern::vecadd`] on float `s`: 1, 1000 and 100 003 elements.
pub fn vecadd(s: Scalar) -> Case {
    let mut rng = Rng::new(17);
    let runs = [(1usize, 32u32), (1000, 128), (100_003, 256)]
        .into_iter()
        .map(|(n, tpb)| {
            let a = rng.vec(n, Rng::f64);
            let b = rng.vec(n, Rng::f64);
            let (fa, fb) = (floats(s, &a), floats(s, &b));
            // float32: the sums of the rounded inputs.
            let want: Vec<f64> = if s == Scalar::F32 {
                let sums = r::vecadd(&fa.get::<f32>(), &fb.get::<f32>());
                sums.into_iter().map(f64::from).collect()
            } else {
                r::vecadd(&a, &b)
            };
            let label = format!("{n} elements in blocks of {tpb}");
            Run::over(
                label.clone(),
                n,
                tpb,
                vec![fa, fb, Array::out(s, &[n as i64])],
            )
            .check(move |out| assert_floats(&out[2].floats(), &want, 0.0, &label))
        })
        .collect();
    Case {
        module: kern::vecadd(s),
        runs,
    }
}

/// [`kern::block_sum`] on float `s`, multiples of 1/8 (exact sums).
pub fn block_sum(s: Scalar) -> Case {
    let mut rng = Rng::new(11);
    let runs = [(1000usize, 256u32), (4096, 128), (77, 64)]
        .into_iter()
        .map(|(n, tpb)| {
            let a = rng.vec(n, Rng::eighth);
            let want = r::block_sums(&a, tpb as usize);
            let label = format!("{n} elements in blocks of {tpb}");
            let out = Array::out(s, &[want.len() as i64]);
            Run::over(label.clone(), n, tpb, vec![floats(s, &a), out])
                .check(move |out| assert_floats(&out[1].floats(), &want, 0.0, &label))
        })
        .collect();
    Case {
        module: kern::block_sum(s),
        runs,
    }
}

fn counts(a: &Array) -> Vec<i64> {
    match a.dtype {
        Scalar::I32 => a.get::<i32>().into_iter().map(i64::from).collect(),
        Scalar::U32 => a.get::<u32>().into_iter().map(i64::from).collect(),
        Scalar::I64 => a.get::<i64>(),
        Scalar::U64 => a.get::<u64>().into_iter().map(|x| x as i64).collect(),
        Scalar::F32 | Scalar::F64 => a.floats().into_iter().map(|x| x as i64).collect(),
        d => panic!("no counts in {d}"),
    }
}

/// [`kern::histogram`] counting in `g` (global) and `s` (shared) over 37 bins.
pub fn histogram(g: Scalar, s: Scalar) -> Case {
    let nbins = 37usize;
    let mut rng = Rng::new(99);
    let runs = [(20_000usize, 128u32), (1000, 32)]
        .into_iter()
        .map(|(n, tpb)| {
            let data = rng.vec(n, |r| r.int(1, 1_000_000));
            let want = r::histogram(&data, nbins);
            let label = format!("{n} values in blocks of {tpb}");
            let args = vec![
                Array::vec(&data),
                Array::zeros(g, &[nbins as i64]),
                Array::zeros(s, &[nbins as i64]),
            ];
            Run::over(label.clone(), n, tpb, args).check(move |out| {
                assert_eq!(counts(&out[1]), want, "{label}: global");
                assert_eq!(counts(&out[2]), want, "{label}: merged from shared");
            })
        })
        .collect();
    Case {
        module: kern::histogram(g, s, nbins as i64),
        runs,
    }
}

/// [`kern::warp_sum`] on float `s`: 256 multiples of 1/8 in blocks of 64.
pub fn warp_sum(s: Scalar) -> Case {
    let n = 256usize;
    let a = Rng::new(5).vec(n, Rng::eighth);
    let want = r::warp_sums(&a);
    let out = Array::out(s, &[n as i64 / 32]);
    let run = Run::linear("256 elements", 4, 64, vec![floats(s, &a), out])
        .check(move |out| assert_floats(&out[1].floats(), &want, 0.0, "warp sums"));
    Case {
        module: kern::warp_sum(s),
        runs: vec![run],
    }
}

/// [`kern::warp_scan`] on int64: 512 values in blocks of 128.
pub fn warp_scan() -> Case {
    let n = 512usize;
    let a = Rng::new(5).vec(n, |r| r.int(-500, 500));
    let (red, scan) = (r::warp_sums(&a), r::warp_scan(&a));
    let args = vec![
        Array::vec(&a),
        Array::out(Scalar::I64, &[n as i64 / 32]),
        Array::out(Scalar::I64, &[n as i64]),
    ];
    let run = Run::linear("512 values", 4, 128, args).check(move |out| {
        assert_eq!(out[1].get::<i64>(), red, "warp sums");
        assert_eq!(out[2].get::<i64>(), scan, "warp scans");
    });
    Case {
        module: kern::warp_scan(Scalar::I64),
        runs: vec![run],
    }
}

/// [`kern::votes`] in blocks of 48 (a full warp and a partial one) and of 64.
pub fn votes() -> Case {
    let runs = [48usize, 64]
        .into_iter()
        .map(|block| {
            let n = 2 * block;
            let args = vec![
                Array::out(Scalar::U32, &[n as i64]),
                Array::out(Scalar::I32, &[n as i64]),
                Array::out(Scalar::Bool, &[n as i64]),
            ];
            Run::linear(format!("blocks of {block}"), 2, block as u32, args).check(move |out| {
                let (b, x, f) = (
                    out[0].get::<u32>(),
                    out[1].get::<i32>(),
                    out[2].get::<bool>(),
                );
                for g in 0..n {
                    let (wb, wx, wf) = r::votes(g % block, block);
                    assert_eq!(b[g], wb, "ballot of thread {g} (blocks of {block})");
                    assert_eq!(
                        x[g], wx,
                        "shuffles and counts of thread {g} (blocks of {block})"
                    );
                    assert_eq!(f[g], wf, "all of thread {g} (blocks of {block})");
                }
            })
        })
        .collect();
    Case {
        module: kern::votes(),
        runs,
    }
}

/// [`kern::int_ops`]: edge cases (zero and -1 divisors, `i64::MIN`, shifts past
/// 63) and 200 random pairs.
pub fn int_ops() -> Case {
    let mut a: Vec<i64> = vec![
        7,
        -7,
        7,
        -7,
        i64::MIN,
        i64::MIN,
        0,
        5,
        1 << 62,
        -(1 << 62),
        123456789012345,
        -3,
    ];
    let mut b: Vec<i64> = vec![2, 2, -2, -2, -1, 1, 3, 0, 3, -5, 1000, 0];
    let mut rng = Rng::new(12345);
    for _ in 0..200 {
        a.push(rng.int(i64::MIN / 2, i64::MAX / 2));
        b.push(rng.int(-1000, 1001));
    }
    let n = a.len();
    let args = vec![
        Array::vec(&a),
        Array::vec(&b),
        Array::out(Scalar::I64, &[n as i64, 4]),
        Array::out(Scalar::I32, &[n as i64]),
    ];
    let run = Run::over(format!("{n} pairs"), n, 64, args).check(move |out| {
        let (o, s) = (out[2].get::<i64>(), out[3].get::<i32>());
        for i in 0..n {
            let (x, y) = (a[i], b[i]);
            let (want, sat) = r::int_ops(x, y);
            assert_eq!(&o[4 * i..4 * i + 4], &want, "x={x} y={y}");
            assert_eq!(s[i], sat, "saturating cast of {x} * 1e-9");
        }
    });
    Case {
        module: kern::int_ops(),
        runs: vec![run],
    }
}

/// [`kern::math`] on float `s`: 500 points of `[0.013, 18.5]` and 500 random
/// ones. Float64 within 4 ulps of the host's libm (the shared math library);
/// float32 within 4 ulps or, as Vulkan's GLSL.std.450 only promises about 11
/// bits for some functions (lavapipe's `atan(0.013)` is 170 ulps off), within
/// 2^-12 relatively or 2^-21 absolutely. The worst errors are printed.
pub fn math(s: Scalar) -> Case {
    let mut rng = Rng::new(77);
    let mut xs: Vec<f64> = (0..500).map(|i| 0.013 + i as f64 * 0.0371).collect();
    xs.extend(rng.vec(500, |r| r.f64_in(0.01, 18.5)));
    let single = s == Scalar::F32;
    if single {
        xs = xs.iter().map(|&x| x as f32 as f64).collect();
    }
    let (n, nf) = (xs.len(), kern::MATH.len());
    let args = vec![floats(s, &xs), Array::out(s, &[n as i64, nf as i64])];
    let run = Run::over(format!("{n} points"), n, 64, args).check(move |out| {
        let got = out[1].floats();
        for (j, (f, reff)) in kern::MATH.iter().enumerate() {
            let mut worst = (0f64, 0f64);
            for (i, &x) in xs.iter().enumerate() {
                let (g, want) = (got[i * nf + j], reff(x));
                let e = r::ulps(g, want, single);
                if e > worst.0 {
                    worst = (e, x);
                }
                let loose = (g - want).abs() <= (want.abs() * 2f64.powi(-12)).max(2f64.powi(-21));
                assert!(
                    e <= 4.0 || single && loose,
                    "{s} {f:?}({x:e}) = {g:e}, want {want:e}: {e:.1} ulps"
                );
            }
            eprintln!("{s} {f:?}: worst {:.2} ulp at {:e}", worst.0, worst.1);
        }
    });
    Case {
        module: kern::math(s),
        runs: vec![run],
    }
}

/// [`kern::atoms`]: 256 random values in blocks of 64.
pub fn atoms() -> Case {
    let n = 256usize;
    let data = Rng::new(23).vec(n, |r| r.int(1, 1000));
    let (bins, ctr, want) = r::atoms(&data);
    let args = vec![
        Array::vec(&data),
        Array::zeros(Scalar::F32, &[16]),
        Array::zeros(Scalar::U32, &[1]),
        Array::out(Scalar::F64, &[n as i64]),
    ];
    let run = Run::linear("256 values", 4, 64, args)
        .dynamic_shared(64 * 8)
        .check(move |out| {
            assert_eq!(out[1].get::<f32>(), bins, "float32 histogram");
            assert_eq!(out[2].get::<u32>(), [ctr], "atomic inc");
            assert_eq!(out[3].get::<f64>(), want, "local, constant, dynamic shared");
        });
    Case {
        module: kern::atoms(),
        runs: vec![run],
    }
}

/// [`kern::fma`] of `(1 + 2^-30)^2 - (1 + 2^-29)`: `2^-60` fused; a device
/// that rounds the product first gives 0 (allowed, and printed).
pub fn fma() -> Case {
    let v = [
        1.0 + 2f64.powi(-30),
        1.0 + 2f64.powi(-30),
        -(1.0 + 2f64.powi(-29)),
    ];
    let run = Run::linear("one thread", 1, 1, vec![Array::vec(&v)]).check(|out| {
        let r = out[0].get::<f64>()[0];
        eprintln!("fma = {r:e} (exact {:e})", 2f64.powi(-60));
        assert!(r == 2f64.powi(-60) || r == 0.0, "fma = {r:e}");
    });
    Case {
        module: kern::fma(),
        runs: vec![run],
    }
}

/// [`kern::early_return`]: 100 random float32 in 2 blocks of 64.
pub fn early_return() -> Case {
    let a: Vec<f32> = Rng::new(8).vec(100, |r| r.f64() as f32);
    let want = r::swap_pairs(&a);
    let run = Run::linear("100 elements", 2, 64, vec![Array::vec(&a)])
        .check(move |out| assert_eq!(out[0].get::<f32>(), want));
    Case {
        module: kern::early_return(),
        runs: vec![run],
    }
}

/// [`kern::calls`]: positive inputs, then one negative that raises.
pub fn calls() -> Case {
    let n = 128usize;
    let a = Rng::new(4).vec(n, |r| r.f64_in(0.5, 100.0));
    let want = r::calls(&a);
    let args = |a: &[f64]| vec![Array::vec(a), Array::out(Scalar::F64, &[n as i64])];
    let ok = Run::linear("positive", 2, 64, args(&a))
        .check(move |out| assert_floats(&out[1].floats(), &want, 1e-15, "helper"));
    let mut neg = a.clone();
    neg[100] = -1.0;
    let raising = Run::linear("a negative", 2, 64, args(&neg)).raises("ValueError: negative");
    Case {
        module: kern::calls(),
        runs: vec![ok, raising],
    }
}

/// [`kern::reverse`] in 3 blocks of 64 and of 128 threads.
pub fn reverse() -> Case {
    let mut rng = Rng::new(6);
    let runs = [64usize, 128]
        .into_iter()
        .map(|tpb| {
            let n = tpb * 3;
            let a: Vec<f32> = rng.vec(n, |r| r.eighth() as f32);
            let want = r::reverse(&a, tpb);
            let args = vec![Array::vec(&a), Array::out(Scalar::F32, &[n as i64])];
            Run::linear(format!("blocks of {tpb}"), 3, tpb as u32, args)
                .dynamic_shared(tpb as u64 * 4)
                .check(move |out| assert_eq!(out[1].get::<f32>(), want, "blocks of {tpb}"))
        })
        .collect();
    Case {
        module: kern::reverse(),
        runs,
    }
}

/// [`kern::sign_extension`] of edge values (`i32::MIN`, `i32::MAX`, 0, -1,
/// -2, -3) in a block of 16.
pub fn sign_extension() -> Case {
    let vals: Vec<i32> = vec![-5, 3, i32::MIN, -1, 0, i32::MAX, -2, -3];
    let want = r::sign_extension(&vals);
    let args = vec![Array::zeros(Scalar::I64, &[24]), Array::vec(&vals)];
    let run = Run::linear("one block", 1, 16, args)
        .check(move |out| assert_eq!(out[0].get::<i64>(), want));
    Case {
        module: kern::sign_extension(),
        runs: vec![run],
    }
}

/// [`kern::grid_stride`] over 200 000 random float64 with each `(blocks,
/// threads)` of `grids`.
pub fn grid_stride_over(grids: &[(u32, u32)]) -> Case {
    let n = 200_000usize;
    let a = Rng::new(23).vec(n, Rng::f64);
    let runs = grids
        .iter()
        .map(|&(blocks, tpb)| {
            let want: Vec<f64> = a.iter().map(|x| 2.0 * x).collect();
            let args = vec![Array::vec(&a), Array::zeros(Scalar::F64, &[n as i64])];
            let label = format!("{blocks} blocks of {tpb}");
            Run::linear(label.clone(), blocks, tpb, args)
                .check(move |out| assert_floats(&out[1].floats(), &want, 0.0, &label))
        })
        .collect();
    Case {
        module: kern::grid_stride(),
        runs,
    }
}

/// [`kern::grid_stride`] with 7 blocks of 96 and 70 000 blocks of 1.
pub fn grid_stride() -> Case {
    grid_stride_over(&[(7, 96), (70_000, 1)])
}

/// [`kern::matmul_tiled`] on float `s` for shapes that do and do not divide
/// into tiles (float32: small multiples of 1/8, exact).
pub fn matmul_tiled(s: Scalar) -> Case {
    let t = kern::TILE as u32;
    let runs = [
        (70usize, 33usize, 50usize, 3u64),
        (64, 64, 64, 4),
        (5, 100, 3, 5),
    ]
    .into_iter()
    .map(|(m, kk, n, seed)| {
        let mut rng = Rng::new(seed);
        let gen = |r: &mut Rng| {
            if s == Scalar::F32 {
                r.int(-16, 17) as f64 / 8.0
            } else {
                r.f64()
            }
        };
        let a = rng.vec(m * kk, gen);
        let b = rng.vec(kk * n, gen);
        let want = r::matmul(&a, &b, m, kk, n);
        let shaped = |v: &[f64], r: usize, c: usize| {
            let mut x = floats(s, v);
            x.shape = vec![r as i64, c as i64];
            x
        };
        let args = vec![
            shaped(&a, m, kk),
            shaped(&b, kk, n),
            Array::out(s, &[m as i64, n as i64]),
        ];
        let label = format!("{m}x{kk} @ {kk}x{n}");
        Run {
            grid: [(n as u32).div_ceil(t), (m as u32).div_ceil(t), 1],
            block: [t, t, 1],
            ..Run::linear(label.clone(), 1, 1, args)
        }
        .check(move |out| assert_floats(&out[2].floats(), &want, 1e-12, &label))
    })
    .collect();
    Case {
        module: kern::matmul_tiled(s),
        runs,
    }
}

/// [`kern::float_atomics`] on float `s`: 5000 weights, multiples of 1/8
/// (exact in any order), into 13 bins.
pub fn float_atomics(s: Scalar) -> Case {
    let (nbins, n) = (13usize, 5000usize);
    let mut rng = Rng::new(31);
    let data = rng.vec(n, |r| r.below(nbins as u64) as i64);
    let w = rng.vec(n, Rng::eighth);
    let want = r::weighted_histogram(&data, &w, nbins);
    let args = vec![
        Array::vec(&data),
        floats(s, &w),
        Array::zeros(s, &[nbins as i64]),
    ];
    let run = Run::over("5000 weights", n, 128, args)
        .check(move |out| assert_floats(&out[2].floats(), &want, 0.0, "bins"));
    Case {
        module: kern::float_atomics(s),
        runs: vec![run],
    }
}

/// [`kern::grid_size`] on a 3 x 2 x 4 grid of blocks of 32.
pub fn grid_size() -> Case {
    let n = 96usize;
    let run = Run {
        grid: [3, 2, 4],
        ..Run::linear(
            "3x2x4 blocks",
            1,
            32,
            vec![Array::out(Scalar::I32, &[n as i64])],
        )
    }
    .check(move |out| assert_eq!(out[0].get::<i32>(), vec![9; n]));
    Case {
        module: kern::grid_size(),
        runs: vec![run],
    }
}
