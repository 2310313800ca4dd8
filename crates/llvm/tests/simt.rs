//! The CPU SIMT lowering: kernels built in IR, run block by block, checked
//! against Rust references on pseudo-random inputs.
#![allow(clippy::needless_range_loop)]
mod simt_common;
use hypersonic_ir::*;
use simt_common::*;

fn rand_vec(r: &mut Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| r.f64()).collect()
}

/// `i = cuda.grid(1); if i < a.shape[0]: c[i] = a[i] + b[i]`
fn vecadd() -> Function {
    let t = a1(Scalar::F64);
    let mut k = K::new("vecadd", vec![t.clone(), t.clone(), t.clone()]);
    let a = k.param(0, t.clone());
    let b = k.param(1, t.clone());
    let c = k.param(2, t);
    let i = k.grid1();
    let n = k.dim(a, 0);
    let inb = k.cmp(CmpOp::Lt, i, n);
    k.if_(inb, |k| {
        let x = k.load(a, &[i]);
        let y = k.load(b, &[i]);
        let s = k.bin(BinaryOp::Add, x, y);
        k.store(c, &[i], s);
    });
    k.finish()
}

#[test]
fn vector_add() {
    let km = compile(vec![vecadd()], vec![]);
    assert_eq!(km.static_shared_bytes(), 0);
    let mut r = Rng(7);
    for n in [1usize, 100, 1000, 10007] {
        let a = rand_vec(&mut r, n);
        let b = rand_vec(&mut r, n);
        let mut c = vec![0.0f64; n];
        let mut args = arr_slots(&a, &[n as i64]);
        args.extend(arr_slots(&b, &[n as i64]));
        args.extend(arr_slots(&c, &[n as i64]));
        let tpb = 128u32;
        let blocks = (n as u32).div_ceil(tpb);
        assert_eq!(launch(&km, &args, [blocks, 1, 1], [tpb, 1, 1], 0), 0);
        c.iter_mut().for_each(|_| {});
        for i in 0..n {
            assert_eq!(c[i], a[i] + b[i], "n={n} i={i}");
        }
    }
}

/// Naive 2-D matmul: `i, j = cuda.grid(2)` (x → column).
fn matmul_naive() -> Function {
    let t = a2(Scalar::F64);
    let mut k = K::new("matmul", vec![t.clone(), t.clone(), t.clone()]);
    let a = k.param(0, t.clone());
    let b = k.param(1, t.clone());
    let c = k.param(2, t);
    let bx = k.geom(Geometry::BlockIdx, Axis::X);
    let by = k.geom(Geometry::BlockIdx, Axis::Y);
    let dx = k.geom(Geometry::BlockDim, Axis::X);
    let dy = k.geom(Geometry::BlockDim, Axis::Y);
    let tx = k.geom(Geometry::ThreadIdx, Axis::X);
    let ty = k.geom(Geometry::ThreadIdx, Axis::Y);
    let col = k.bin(BinaryOp::Mul, bx, dx);
    let col = k.bin(BinaryOp::Add, col, tx);
    let col = k.cast(col, Type::I64);
    let row = k.bin(BinaryOp::Mul, by, dy);
    let row = k.bin(BinaryOp::Add, row, ty);
    let row = k.cast(row, Type::I64);
    let m = k.dim(c, 0);
    let n = k.dim(c, 1);
    let kk = k.dim(a, 1);
    let c1 = k.cmp(CmpOp::Lt, row, m);
    let c2 = k.cmp(CmpOp::Lt, col, n);
    let ok = k.and(c1, c2);
    k.if_(ok, |k| {
        let acc = k.local("acc", Type::F64);
        let z = k.f64c(0.0);
        k.set(acc, z);
        let zero = k.i64c(0);
        k.range(zero, kk, |k, p| {
            let x = k.load(a, &[row, p]);
            let y = k.load(b, &[p, col]);
            let xy = k.bin(BinaryOp::Mul, x, y);
            let s = k.get(acc);
            let s = k.bin(BinaryOp::Add, s, xy);
            k.set(acc, s);
        });
        let s = k.get(acc);
        k.store(c, &[row, col], s);
    });
    k.finish()
}

fn matmul_ref(a: &[f64], b: &[f64], m: usize, kk: usize, n: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0;
            for p in 0..kk {
                s += a[i * kk + p] * b[p * n + j];
            }
            c[i * n + j] = s;
        }
    }
    c
}

const TILE: i64 = 16;

/// Tiled matmul with two shared tiles and `syncthreads` inside a uniform loop.
fn matmul_tiled() -> Function {
    let t = a2(Scalar::F64);
    let mut k = K::new("matmul_tiled", vec![t.clone(), t.clone(), t.clone()]);
    let a = k.param(0, t.clone());
    let b = k.param(1, t.clone());
    let c = k.param(2, t);
    let sa = k.shared(Scalar::F64, &[TILE, TILE], false);
    let sb = k.shared(Scalar::F64, &[TILE, TILE], false);
    let tx = k.geom(Geometry::ThreadIdx, Axis::X);
    let ty = k.geom(Geometry::ThreadIdx, Axis::Y);
    let bx = k.geom(Geometry::BlockIdx, Axis::X);
    let by = k.geom(Geometry::BlockIdx, Axis::Y);
    let tile = k.i32c(TILE);
    let col = k.bin(BinaryOp::Mul, bx, tile);
    let col = k.bin(BinaryOp::Add, col, tx);
    let col = k.cast(col, Type::I64);
    let row = k.bin(BinaryOp::Mul, by, tile);
    let row = k.bin(BinaryOp::Add, row, ty);
    let row = k.cast(row, Type::I64);
    let tx = k.cast(tx, Type::I64);
    let ty = k.cast(ty, Type::I64);
    let m = k.dim(c, 0);
    let n = k.dim(c, 1);
    let kk = k.dim(a, 1);
    let acc = k.local("acc", Type::F64);
    let z = k.f64c(0.0);
    k.set(acc, z);
    let t64 = k.i64c(TILE);
    let t1 = k.i64c(TILE - 1);
    let nt = k.bin(BinaryOp::Add, kk, t1);
    let nt = k.bin(BinaryOp::FloorDiv, nt, t64);
    let zero = k.i64c(0);
    k.range(zero, nt, |k, it| {
        let base = k.bin(BinaryOp::Mul, it, t64);
        let ac = k.bin(BinaryOp::Add, base, tx);
        let br = k.bin(BinaryOp::Add, base, ty);
        let r_ok = k.cmp(CmpOp::Lt, row, m);
        let ac_ok = k.cmp(CmpOp::Lt, ac, kk);
        let ok = k.and(r_ok, ac_ok);
        k.if_else(
            ok,
            |k| {
                let x = k.load(a, &[row, ac]);
                k.store(sa, &[ty, tx], x);
            },
            |k| {
                let z = k.f64c(0.0);
                k.store(sa, &[ty, tx], z);
            },
        );
        let c_ok = k.cmp(CmpOp::Lt, col, n);
        let br_ok = k.cmp(CmpOp::Lt, br, kk);
        let ok = k.and(c_ok, br_ok);
        k.if_else(
            ok,
            |k| {
                let x = k.load(b, &[br, col]);
                k.store(sb, &[ty, tx], x);
            },
            |k| {
                let z = k.f64c(0.0);
                k.store(sb, &[ty, tx], z);
            },
        );
        k.barrier();
        let zero = k.i64c(0);
        k.range(zero, t64, |k, p| {
            let x = k.load(sa, &[ty, p]);
            let y = k.load(sb, &[p, tx]);
            let xy = k.bin(BinaryOp::Mul, x, y);
            let s = k.get(acc);
            let s = k.bin(BinaryOp::Add, s, xy);
            k.set(acc, s);
        });
        k.barrier();
    });
    let r_ok = k.cmp(CmpOp::Lt, row, m);
    let c_ok = k.cmp(CmpOp::Lt, col, n);
    let ok = k.and(r_ok, c_ok);
    k.if_(ok, |k| {
        let s = k.get(acc);
        k.store(c, &[row, col], s);
    });
    k.finish()
}

fn run_matmul(km: &hypersonic_llvm::simt::SimtModule, m: usize, kk: usize, n: usize, seed: u64) {
    let mut r = Rng(seed);
    let a = rand_vec(&mut r, m * kk);
    let b = rand_vec(&mut r, kk * n);
    let c = vec![f64::NAN; m * n];
    let mut args = arr_slots(&a, &[m as i64, kk as i64]);
    args.extend(arr_slots(&b, &[kk as i64, n as i64]));
    args.extend(arr_slots(&c, &[m as i64, n as i64]));
    let t = TILE as u32;
    let grid = [(n as u32).div_ceil(t), (m as u32).div_ceil(t), 1];
    assert_eq!(launch(km, &args, grid, [t, t, 1], 0), 0);
    let want = matmul_ref(&a, &b, m, kk, n);
    for i in 0..m * n {
        assert!(
            (c[i] - want[i]).abs() <= 1e-12 * (1.0 + want[i].abs()),
            "{m}x{kk}x{n} at {i}: {} vs {}",
            c[i],
            want[i]
        );
    }
}

#[test]
fn matmul_naive_2d() {
    let km = compile(vec![matmul_naive()], vec![]);
    run_matmul(&km, 70, 33, 50, 1);
    run_matmul(&km, 16, 16, 16, 2);
}

#[test]
fn matmul_tiled_shared() {
    let km = compile(vec![matmul_tiled()], vec![]);
    assert_eq!(km.static_shared_bytes(), 2 * 16 * 16 * 8);
    run_matmul(&km, 70, 33, 50, 3);
    run_matmul(&km, 64, 64, 64, 4);
    run_matmul(&km, 5, 100, 3, 5);
}

/// Block tree reduction in shared memory: `out[blockIdx.x] = sum(block's a)`.
fn block_reduce() -> Function {
    let t = a1(Scalar::F64);
    let mut k = K::new("block_sum", vec![t.clone(), t.clone()]);
    let a = k.param(0, t.clone());
    let out = k.param(1, t);
    let sh = k.shared(Scalar::F64, &[256], false);
    let tid = k.tid();
    let i = k.grid1();
    let n = k.dim(a, 0);
    let inb = k.cmp(CmpOp::Lt, i, n);
    k.if_else(
        inb,
        |k| {
            let x = k.load(a, &[i]);
            k.store(sh, &[tid], x);
        },
        |k| {
            let z = k.f64c(0.0);
            k.store(sh, &[tid], z);
        },
    );
    k.barrier();
    let s = k.local("s", I32);
    let bd = k.geom(Geometry::BlockDim, Axis::X);
    let two = k.i32c(2);
    let half = k.bin(BinaryOp::FloorDiv, bd, two);
    k.set(s, half);
    k.while_(
        |k| {
            let sv = k.get(s);
            let z = k.i32c(0);
            k.cmp(CmpOp::Gt, sv, z)
        },
        |k| {
            let sv = k.get(s);
            let s64 = k.cast(sv, Type::I64);
            let lt = k.cmp(CmpOp::Lt, tid, s64);
            k.if_(lt, |k| {
                let j = k.bin(BinaryOp::Add, tid, s64);
                let x = k.load(sh, &[tid]);
                let y = k.load(sh, &[j]);
                let z = k.bin(BinaryOp::Add, x, y);
                k.store(sh, &[tid], z);
            });
            k.barrier();
            let sv = k.get(s);
            let two = k.i32c(2);
            let h = k.bin(BinaryOp::FloorDiv, sv, two);
            k.set(s, h);
        },
    );
    let zero = k.i64c(0);
    let is0 = k.cmp(CmpOp::Eq, tid, zero);
    k.if_(is0, |k| {
        let x = k.load(sh, &[zero]);
        let b = k.geom(Geometry::BlockIdx, Axis::X);
        let b = k.cast(b, Type::I64);
        k.store(out, &[b], x);
    });
    k.finish()
}

#[test]
fn block_tree_reduction() {
    let km = compile(vec![block_reduce()], vec![]);
    let mut r = Rng(11);
    for (n, tpb) in [(1000usize, 256u32), (4096, 128), (77, 64)] {
        let a = rand_vec(&mut r, n);
        let blocks = (n as u32).div_ceil(tpb);
        let out = vec![0.0f64; blocks as usize];
        let mut args = arr_slots(&a, &[n as i64]);
        args.extend(arr_slots(&out, &[blocks as i64]));
        assert_eq!(launch(&km, &args, [blocks, 1, 1], [tpb, 1, 1], 0), 0);
        for bi in 0..blocks as usize {
            let lo = bi * tpb as usize;
            let hi = (lo + tpb as usize).min(n);
            let want: f64 = a[lo..hi].iter().sum();
            assert!(
                (out[bi] - want).abs() < 1e-9,
                "block {bi}: {} vs {want}",
                out[bi]
            );
        }
    }
}
