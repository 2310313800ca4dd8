//! What the kernels of [`crate::kernels`] compute, in plain Rust.

/// [`crate::kernels::vecadd`].
pub fn vecadd<T: Copy + std::ops::Add<Output = T>>(a: &[T], b: &[T]) -> Vec<T> {
    a.iter().zip(b).map(|(&x, &y)| x + y).collect()
}

/// [`crate::kernels::block_sum`]: the sum of each block of `tpb` elements.
pub fn block_sums(a: &[f64], tpb: usize) -> Vec<f64> {
    a.chunks(tpb).map(|c| c.iter().sum()).collect()
}

/// [`crate::kernels::histogram`] (both outputs): the count of each `x % nbins`.
pub fn histogram(data: &[i64], nbins: usize) -> Vec<i64> {
    let mut h = vec![0i64; nbins];
    for &x in data {
        h[x.rem_euclid(nbins as i64) as usize] += 1;
    }
    h
}

/// [`crate::kernels::warp_sum`]: the sum of each warp of 32.
pub fn warp_sums<T: Copy + std::iter::Sum<T>>(a: &[T]) -> Vec<T> {
    a.chunks(32).map(|w| w.iter().copied().sum()).collect()
}

/// [`crate::kernels::warp_scan`]'s `scan`: the inclusive prefix sums of each warp of 32.
pub fn warp_scan(a: &[i64]) -> Vec<i64> {
    let mut out = Vec::with_capacity(a.len());
    for w in a.chunks(32) {
        let mut s = 0;
        for &x in w {
            s += x;
            out.push(s);
        }
    }
    out
}

/// [`crate::kernels::votes`] for the thread `t` of a block of `block`
/// threads: `(ballot, x, flag)`. Warps are 32 lanes; in a partial last warp
/// a shuffle from a lane that does not exist returns the caller's value.
pub fn votes(t: usize, block: usize) -> (u32, i32, bool) {
    let warp = t / 32;
    let lanes = (block - warp * 32).min(32);
    let lanes_t = || (0..lanes).map(|l| warp * 32 + l);
    let mut ballot = 0u32;
    for (l, t) in lanes_t().enumerate() {
        ballot |= ((t % 3 == 0) as u32) << l;
    }
    let all = lanes_t().all(|t| t < 40);
    let any = lanes_t().any(|t| t >= 40);
    let lane = (t % 32) as i32;
    let src = lane ^ 5;
    let xs = if (src as usize) < lanes { src } else { lane };
    let seg = lane & !7;
    let up = if lane - 3 >= seg { lane - 3 } else { lane };
    let preds: Vec<bool> = (0..block).map(|t| t % 3 == 0).collect();
    let count = preds.iter().filter(|&&p| p).count() as i32;
    let and = preds.iter().all(|&p| p) as i32;
    let or = preds.iter().any(|&p| p) as i32;
    let x = xs + 100 * up + 10_000 * count + 1_000_000 * (and + 2 * or) + 4_000_000 * any as i32;
    (ballot, x, all)
}

/// [`crate::kernels::int_ops`] of `x` and `y`: `([x // y, x % y, x ** 3, x >> (y & 70)], sat)`.
pub fn int_ops(x: i64, y: i64) -> ([i64; 4], i32) {
    let (q, m) = if y == 0 {
        (0, 0)
    } else if y == -1 {
        (x.wrapping_neg(), 0)
    } else {
        let (q, m) = (x / y, x % y);
        if m != 0 && ((m < 0) != (y < 0)) {
            (q - 1, m + y)
        } else {
            (q, m)
        }
    };
    let p = x.wrapping_mul(x).wrapping_mul(x);
    let sh = y & 70;
    let s = if (0..64).contains(&sh) {
        x >> sh
    } else if x < 0 {
        -1
    } else {
        0
    };
    let f = x as f64 * 1e-9;
    let sat = if f.is_nan() {
        0
    } else {
        f.clamp(i32::MIN as f64, i32::MAX as f64) as i32
    };
    ([q, m, p, s], sat)
}

/// The error of `got` in units in the last place of `want` (float64's, or
/// float32's when `single`).
pub fn ulps(got: f64, want: f64, single: bool) -> f64 {
    let ulp = if single {
        ((want as f32).abs() as f64 * f32::EPSILON as f64).max(1e-38)
    } else {
        (want.abs() * f64::EPSILON).max(f64::MIN_POSITIVE)
    };
    ((got - want) / ulp).abs()
}

/// [`crate::kernels::atoms`] over `data` in blocks of 64: `(bins, ctr, out)`.
pub fn atoms(data: &[i64]) -> (Vec<f32>, u32, Vec<f64>) {
    let mut bins = vec![0f32; 16];
    for &x in data {
        bins[x.rem_euclid(16) as usize] += 0.5;
    }
    let out = (0..data.len())
        .map(|g| {
            let j = (g % 64 + 1) % 64;
            4.0 * j as f64 + 64.0
        })
        .collect();
    (bins, data.len() as u32 % 10, out)
}

/// [`crate::kernels::early_return`]: `a[i ^ 1]` (for an even length).
pub fn swap_pairs<T: Copy>(a: &[T]) -> Vec<T> {
    (0..a.len()).map(|i| a[i ^ 1]).collect()
}

/// [`crate::kernels::calls`] without the raise: `sqrt(a[i]) * a[0]`.
pub fn calls(a: &[f64]) -> Vec<f64> {
    a.iter().map(|x| x.sqrt() * a[0]).collect()
}

/// [`crate::kernels::reverse`] in blocks of `tpb`.
pub fn reverse(a: &[f32], tpb: usize) -> Vec<f32> {
    (0..a.len())
        .map(|i| {
            let (b, t) = (i / tpb, i % tpb);
            a[b * tpb + tpb - 1 - t] + tpb as f32
        })
        .collect()
}

/// [`crate::kernels::sign_extension`] of 8 values, in one block of at least 8 threads.
pub fn sign_extension(vals: &[i32]) -> Vec<i64> {
    let mut want = vec![0i64; 24];
    for t in 0..8 {
        if t < 4 {
            want[t] = 1;
        }
        want[8 + t] = vals[t] as i64;
        want[16 + t] = (i64::from(vals[t]) < -2) as i64;
    }
    want
}

/// `a @ b` for row-major `m x k` and `k x n` matrices.
pub fn matmul(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
        }
    }
    c
}

/// `out[data[i]] += w[i]` over `nbins` bins.
pub fn weighted_histogram(data: &[i64], w: &[f64], nbins: usize) -> Vec<f64> {
    let mut out = vec![0.0; nbins];
    for (&d, &x) in data.iter().zip(w) {
        out[d as usize] += x;
    }
    out
}
