//! The CPU SIMT lowering: kernels built in IR, run block by block, checked
//! against Rust references on pseudo-random inputs.
#![allow(clippy::needless_range_loop)]
mod simt_common;
use hypersonic_ir::*;
use simt_common::*;

fn rand_vec(r: &mut Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| r.f64()).collect()
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

/// Histogram: `hist[data[i]] += 1` (int64, global), `fhist[data[i]] += w[i]`
/// (float64, global), and a per-block int32 histogram in shared memory merged
/// into `shist` with atomics.
fn histogram(nbins: i64) -> Function {
    let ti = a1(Scalar::I64);
    let tf = a1(Scalar::F64);
    let t32 = a1(Scalar::I32);
    let mut k = K::new(
        "histogram",
        vec![ti.clone(), tf.clone(), ti.clone(), tf.clone(), t32.clone()],
    );
    let data = k.param(0, ti.clone());
    let w = k.param(1, tf.clone());
    let hist = k.param(2, ti);
    let fhist = k.param(3, tf);
    let shist = k.param(4, t32);
    let sh = k.shared(Scalar::I32, &[nbins], false);
    let tid = k.tid();
    let bd = k.geom(Geometry::BlockDim, Axis::X);
    let bd = k.cast(bd, Type::I64);
    let nb = k.i64c(nbins);
    // for j in range(tid, nbins, blockDim.x): sh[j] = 0
    let j = k.local("j", Type::I64);
    k.set(j, tid);
    k.while_(
        |k| {
            let jv = k.get(j);
            k.cmp(CmpOp::Lt, jv, nb)
        },
        |k| {
            let jv = k.get(j);
            let z = k.i32c(0);
            k.store(sh, &[jv], z);
            let n = k.bin(BinaryOp::Add, jv, bd);
            k.set(j, n);
        },
    );
    k.barrier();
    let i = k.grid1();
    let n = k.dim(data, 0);
    let inb = k.cmp(CmpOp::Lt, i, n);
    k.if_(inb, |k| {
        let bin = k.load(data, &[i]);
        let one = k.i64c(1);
        k.emit(
            Op::Atomic {
                op: AtomicOp::Add,
                array: hist,
                indices: vec![bin],
                value: one,
            },
            Type::I64,
        );
        let x = k.load(w, &[i]);
        k.emit(
            Op::Atomic {
                op: AtomicOp::Add,
                array: fhist,
                indices: vec![bin],
                value: x,
            },
            Type::F64,
        );
        let one = k.i32c(1);
        k.emit(
            Op::Atomic {
                op: AtomicOp::Add,
                array: sh,
                indices: vec![bin],
                value: one,
            },
            I32,
        );
    });
    k.barrier();
    k.set(j, tid);
    k.while_(
        |k| {
            let jv = k.get(j);
            k.cmp(CmpOp::Lt, jv, nb)
        },
        |k| {
            let jv = k.get(j);
            let c = k.load(sh, &[jv]);
            k.emit(
                Op::Atomic {
                    op: AtomicOp::Add,
                    array: shist,
                    indices: vec![jv],
                    value: c,
                },
                I32,
            );
            let n = k.bin(BinaryOp::Add, jv, bd);
            k.set(j, n);
        },
    );
    k.finish()
}

fn check_histogram(parallel: Option<usize>) {
    let nbins = 37usize;
    let km = compile(vec![histogram(nbins as i64)], vec![]);
    let mut r = Rng(99);
    let n = 20000usize;
    let data: Vec<i64> = (0..n).map(|_| r.below(nbins as u64) as i64).collect();
    // Weights that add exactly in any order: multiples of 1/8.
    let w: Vec<f64> = (0..n).map(|_| r.below(64) as f64 / 8.0).collect();
    let hist = vec![0i64; nbins];
    let fhist = vec![0f64; nbins];
    let shist = vec![0i32; nbins];
    let mut args = arr_slots(&data, &[n as i64]);
    args.extend(arr_slots(&w, &[n as i64]));
    args.extend(arr_slots(&hist, &[nbins as i64]));
    args.extend(arr_slots(&fhist, &[nbins as i64]));
    args.extend(arr_slots(&shist, &[nbins as i64]));
    let tpb = 128u32;
    let grid = [(n as u32).div_ceil(tpb), 1, 1];
    let st = match parallel {
        None => launch(&km, &args, grid, [tpb, 1, 1], 0),
        Some(workers) => launch_parallel(&km, &args, grid, [tpb, 1, 1], workers),
    };
    assert_eq!(st, 0);
    let mut want = vec![0i64; nbins];
    let mut fwant = vec![0f64; nbins];
    for i in 0..n {
        want[data[i] as usize] += 1;
        fwant[data[i] as usize] += w[i];
    }
    assert_eq!(hist, want);
    assert_eq!(fhist, fwant);
    assert_eq!(shist.iter().map(|&x| x as i64).collect::<Vec<_>>(), want);
}

#[test]
fn histogram_atomics() {
    check_histogram(None);
}

#[test]
fn histogram_atomics_on_several_os_threads() {
    for _ in 0..3 {
        check_histogram(Some(4));
    }
}

/// Warp sum with `shfl_down_sync` in a uniform loop, and an inclusive scan with
/// `shfl_up_sync`: `red[warp] = sum`, `scan[i] = prefix sum in the warp`.
fn warp_kernels() -> Function {
    let ti = a1(Scalar::I64);
    let mut k = K::new("warp", vec![ti.clone(), ti.clone(), ti.clone()]);
    let a = k.param(0, ti.clone());
    let red = k.param(1, ti.clone());
    let scan = k.param(2, ti);
    let i = k.grid1();
    let x0 = k.load(a, &[i]);
    let v = k.local("v", Type::I64);
    k.set(v, x0);
    let off = k.local("off", I32);
    let sixteen = k.i32c(16);
    k.set(off, sixteen);
    k.while_(
        |k| {
            let o = k.get(off);
            let z = k.i32c(0);
            k.cmp(CmpOp::Gt, o, z)
        },
        |k| {
            let o = k.get(off);
            let vv = k.get(v);
            let y = k.shfl(Shuffle::Down, vv, o, 32);
            let s = k.bin(BinaryOp::Add, vv, y);
            k.set(v, s);
            let two = k.i32c(2);
            let h = k.bin(BinaryOp::FloorDiv, o, two);
            k.set(off, h);
        },
    );
    let lane = k.emit(Op::LaneId, I32);
    let z = k.i32c(0);
    let is0 = k.cmp(CmpOp::Eq, lane, z);
    k.if_(is0, |k| {
        let vv = k.get(v);
        let s32 = k.i64c(32);
        let wi = k.bin(BinaryOp::FloorDiv, i, s32);
        k.store(red, &[wi], vv);
    });
    // Inclusive scan, unrolled over d = 1, 2, 4, 8, 16.
    k.set(v, x0);
    for d in [1i64, 2, 4, 8, 16] {
        let dv = k.i32c(d);
        let vv = k.get(v);
        let y = k.shfl(Shuffle::Up, vv, dv, 32);
        let ge = k.cmp(CmpOp::Ge, lane, dv);
        k.if_(ge, |k| {
            let s = k.bin(BinaryOp::Add, vv, y);
            k.set(v, s);
        });
    }
    let vv = k.get(v);
    k.store(scan, &[i], vv);
    k.finish()
}

#[test]
fn warp_shuffle_reduction_and_scan() {
    let km = compile(vec![warp_kernels()], vec![]);
    let mut r = Rng(5);
    let n = 512usize;
    let a: Vec<i64> = (0..n).map(|_| r.below(1000) as i64 - 500).collect();
    let red = vec![0i64; n / 32];
    let scan = vec![0i64; n];
    let mut args = arr_slots(&a, &[n as i64]);
    args.extend(arr_slots(&red, &[(n / 32) as i64]));
    args.extend(arr_slots(&scan, &[n as i64]));
    assert_eq!(launch(&km, &args, [4, 1, 1], [128, 1, 1], 0), 0);
    for w in 0..n / 32 {
        let lanes = &a[w * 32..w * 32 + 32];
        assert_eq!(red[w], lanes.iter().sum::<i64>(), "warp {w}");
        let mut s = 0;
        for l in 0..32 {
            s += lanes[l];
            assert_eq!(scan[w * 32 + l], s, "scan warp {w} lane {l}");
        }
    }
}

/// Shuffles with a width, xor and idx; a partial last warp; shuffles inside a
/// thread-dependent `if` that whole warps take.
fn shuffle_variants() -> Function {
    let ti = a1(Scalar::I32);
    let mut k = K::new(
        "shuffles",
        vec![ti.clone(), ti.clone(), ti.clone(), ti.clone()],
    );
    let a = k.param(0, ti.clone());
    let o1 = k.param(1, ti.clone());
    let o2 = k.param(2, ti.clone());
    let o3 = k.param(3, ti);
    let i = k.tid();
    let x = k.load(a, &[i]);
    let three = k.i32c(3);
    let y = k.shfl(Shuffle::Xor, x, three, 8);
    k.store(o1, &[i], y);
    let five = k.i32c(5);
    let z = k.shfl(Shuffle::Idx, x, five, 16);
    let two = k.i32c(2);
    let z2 = k.shfl(Shuffle::Down, z, two, 4);
    k.store(o2, &[i], z2);
    // Whole warps 0 and 2 take the branch.
    let w = k.i64c(32);
    let wi = k.bin(BinaryOp::FloorDiv, i, w);
    let two64 = k.i64c(2);
    let par = k.bin(BinaryOp::Mod, wi, two64);
    let zero = k.i64c(0);
    let even = k.cmp(CmpOp::Eq, par, zero);
    k.if_else(
        even,
        |k| {
            let one = k.i32c(1);
            let s = k.shfl(Shuffle::Up, x, one, 32);
            let s = k.bin(BinaryOp::Add, s, x);
            k.store(o3, &[i], s);
        },
        |k| {
            let m = k.i32c(-1);
            k.store(o3, &[i], m);
        },
    );
    k.finish()
}

#[test]
fn shuffle_width_xor_idx_partial_warp_and_divergent_if() {
    let km = compile(vec![shuffle_variants()], vec![]);
    let n = 100usize; // 3 full warps and one of 4 lanes
    let a: Vec<i32> = (0..n as i32).map(|x| x * 7 + 1).collect();
    let o1 = vec![0i32; n];
    let o2 = vec![0i32; n];
    let o3 = vec![0i32; n];
    let mut args = arr_slots(&a, &[n as i64]);
    for o in [&o1, &o2, &o3] {
        args.extend(arr_slots(o, &[n as i64]));
    }
    assert_eq!(launch(&km, &args, [1, 1, 1], [n as u32, 1, 1], 0), 0);
    let exists = |t: usize| t < n;
    for t in 0..n {
        let lane = t % 32;
        let base = t - lane;
        // xor 3 within groups of 8
        let src = lane ^ 3;
        let want = if src < (lane & !7) + 8 && exists(base + src) {
            a[base + src]
        } else {
            a[t]
        };
        assert_eq!(o1[t], want, "xor at {t}");
        // idx 5 within groups of 16, then down 2 within groups of 4
        let z = |t: usize| {
            let lane = t % 32;
            let s = (lane & !15) + 5;
            if exists(t - lane + s) {
                a[t - lane + s]
            } else {
                a[t]
            }
        };
        let want = if (lane & 3) + 2 < 4 && exists(t + 2) {
            z(t + 2)
        } else {
            z(t)
        };
        assert_eq!(o2[t], want, "idx/down at {t}");
        let want = if (t / 32) % 2 == 0 {
            a[t] + if lane >= 1 { a[t - 1] } else { a[t] }
        } else {
            -1
        };
        assert_eq!(o3[t], want, "up in if at {t}");
    }
}

/// ballot/all/any over `a[i] > 0`, and syncthreads_count/and/or.
fn votes() -> Function {
    let ti = a1(Scalar::I64);
    let tu = a1(Scalar::U32);
    let tb = a1(Scalar::I32);
    let mut k = K::new(
        "votes",
        vec![ti.clone(), tu.clone(), tb.clone(), tb.clone()],
    );
    let a = k.param(0, ti);
    let ob = k.param(1, tu);
    let oa = k.param(2, tb.clone());
    let oc = k.param(3, tb);
    let i = k.grid1();
    let tid = k.tid();
    let x = k.load(a, &[i]);
    let z = k.i64c(0);
    let p = k.cmp(CmpOp::Gt, x, z);
    let bal = k.vote(Vote::Ballot, u32::MAX, p);
    k.store(ob, &[i], bal);
    let all = k.vote(Vote::All, 0x0000_ffff, p);
    let any = k.vote(Vote::Any, u32::MAX, p);
    let all = k.cast(all, I32);
    let any = k.cast(any, I32);
    let two = k.i32c(2);
    let any2 = k.bin(BinaryOp::Mul, any, two);
    let s = k.bin(BinaryOp::Add, all, any2);
    k.store(oa, &[i], s);
    let cnt = k.emit(Op::BarrierReduce(BarrierReduce::Count, p), I32);
    let and = k.emit(Op::BarrierReduce(BarrierReduce::And, p), I32);
    let or = k.emit(Op::BarrierReduce(BarrierReduce::Or, p), I32);
    let is0 = k.cmp(CmpOp::Eq, tid, z);
    k.if_(is0, |k| {
        let b = k.geom(Geometry::BlockIdx, Axis::X);
        let b = k.cast(b, Type::I64);
        let three = k.i64c(3);
        let b3 = k.bin(BinaryOp::Mul, b, three);
        k.store(oc, &[b3], cnt);
        let one = k.i64c(1);
        let b31 = k.bin(BinaryOp::Add, b3, one);
        k.store(oc, &[b31], and);
        let two = k.i64c(2);
        let b32 = k.bin(BinaryOp::Add, b3, two);
        k.store(oc, &[b32], or);
    });
    k.finish()
}

#[test]
fn ballot_all_any_and_syncthreads_count() {
    let km = compile(vec![votes()], vec![]);
    let mut r = Rng(3);
    let tpb = 96usize;
    let nb = 4usize;
    let n = tpb * nb;
    let mut a: Vec<i64> = (0..n).map(|_| r.below(3) as i64 - 1).collect();
    // Block 1: all positive; block 2: none.
    a[tpb..2 * tpb].iter_mut().for_each(|x| *x = 5);
    a[2 * tpb..3 * tpb].iter_mut().for_each(|x| *x = -5);
    let ob = vec![0u32; n];
    let oa = vec![0i32; n];
    let oc = vec![0i32; 3 * nb];
    let mut args = arr_slots(&a, &[n as i64]);
    args.extend(arr_slots(&ob, &[n as i64]));
    args.extend(arr_slots(&oa, &[n as i64]));
    args.extend(arr_slots(&oc, &[3 * nb as i64]));
    assert_eq!(
        launch(&km, &args, [nb as u32, 1, 1], [tpb as u32, 1, 1], 0),
        0
    );
    for t in 0..n {
        let base = t - t % 32;
        let mut bal = 0u32;
        for l in 0..32 {
            if a[base + l] > 0 {
                bal |= 1 << l;
            }
        }
        assert_eq!(ob[t], bal, "ballot at {t}");
        let all = (bal & 0xffff) == 0xffff;
        let any = bal != 0;
        assert_eq!(oa[t], all as i32 + 2 * any as i32, "all/any at {t}");
    }
    for b in 0..nb {
        let c = a[b * tpb..(b + 1) * tpb].iter().filter(|&&x| x > 0).count() as i32;
        assert_eq!(oc[3 * b], c, "count of block {b}");
        assert_eq!(oc[3 * b + 1], (c == tpb as i32) as i32, "and of block {b}");
        assert_eq!(oc[3 * b + 2], (c > 0) as i32, "or of block {b}");
    }
}

/// Dynamic shared memory: each block reverses its slice through shared memory.
fn reverse_dynamic() -> Function {
    let t = a1(Scalar::F32);
    let mut k = K::new("reverse", vec![t.clone(), t.clone()]);
    let a = k.param(0, t.clone());
    let out = k.param(1, t);
    let sh = k.shared(Scalar::F32, &[0], true);
    let tid = k.tid();
    let i = k.grid1();
    let x = k.load(a, &[i]);
    k.store(sh, &[tid], x);
    k.barrier();
    let bd = k.geom(Geometry::BlockDim, Axis::X);
    let bd = k.cast(bd, Type::I64);
    let one = k.i64c(1);
    let j = k.bin(BinaryOp::Sub, bd, one);
    let j = k.bin(BinaryOp::Sub, j, tid);
    // Read the length of the dynamic array too: out = sh[j] + len.
    let len = k.dim(sh, 0);
    let lenf = k.cast(len, F32);
    let y = k.load(sh, &[j]);
    let y = k.bin(BinaryOp::Add, y, lenf);
    k.store(out, &[i], y);
    k.finish()
}

#[test]
fn dynamic_shared_memory() {
    let km = compile(vec![reverse_dynamic()], vec![]);
    let tpb = 64usize;
    let n = tpb * 3;
    let a: Vec<f32> = (0..n).map(|x| x as f32 * 0.5).collect();
    let out = vec![0f32; n];
    let mut args = arr_slots(&a, &[n as i64]);
    args.extend(arr_slots(&out, &[n as i64]));
    assert_eq!(
        launch(&km, &args, [3, 1, 1], [tpb as u32, 1, 1], (tpb * 4) as u64),
        0
    );
    for i in 0..n {
        let b = i / tpb;
        let t = i % tpb;
        assert_eq!(out[i], a[b * tpb + tpb - 1 - t] + tpb as f32, "at {i}");
    }
}

/// A local array filled before a barrier and read after it, and a device
/// function call: `out[i] = f(sum(loc), a[i])` with `f(x, y) = x * y + 1`.
fn local_and_call() -> (Function, Function) {
    let t = a1(Scalar::F64);
    let mut k = K::new("local_call", vec![t.clone(), t.clone()]);
    let a = k.param(0, t.clone());
    let out = k.param(1, t);
    let i = k.grid1();
    let x = k.load(a, &[i]);
    let loc = k.local_array(Scalar::F64, &[4]);
    for j in 0..4 {
        let jv = k.i64c(j);
        let jf = k.f64c(j as f64);
        let y = k.bin(BinaryOp::Mul, x, jf);
        k.store(loc, &[jv], y);
    }
    k.barrier();
    let s = k.local("s", Type::F64);
    let z = k.f64c(0.0);
    k.set(s, z);
    let zero = k.i64c(0);
    let four = k.i64c(4);
    k.range(zero, four, |k, j| {
        let y = k.load(loc, &[j]);
        let sv = k.get(s);
        let sv = k.bin(BinaryOp::Add, sv, y);
        k.set(s, sv);
    });
    let sv = k.get(s);
    let r = k.emit(Op::Call(FuncId(1), vec![sv, x]), Type::F64);
    k.store(out, &[i], r);
    let kernel = k.finish();
    let mut f = K::func("f", vec![Type::F64, Type::F64], Type::F64);
    let p = f.param(0, Type::F64);
    let q = f.param(1, Type::F64);
    let m = f.bin(BinaryOp::Mul, p, q);
    let one = f.f64c(1.0);
    let r = f.bin(BinaryOp::Add, m, one);
    f.b.push(Stmt::Return { value: Some(r) });
    (kernel, f.b.finish())
}

#[test]
fn local_array_across_a_barrier_and_device_function() {
    let (kf, ff) = local_and_call();
    let km = compile(vec![kf, ff], vec![]);
    assert!(km.scratch_bytes_per_thread() >= 32);
    let mut r = Rng(17);
    let n = 256usize;
    let a = rand_vec(&mut r, n);
    let out = vec![0f64; n];
    let mut args = arr_slots(&a, &[n as i64]);
    args.extend(arr_slots(&out, &[n as i64]));
    assert_eq!(launch(&km, &args, [4, 1, 1], [64, 1, 1], 0), 0);
    for i in 0..n {
        let x = a[i];
        let s = x * 0.0 + x * 1.0 + x * 2.0 + x * 3.0;
        assert_eq!(out[i], s * x + 1.0, "at {i}");
    }
}

/// Grid-stride loop: `for i in range(cuda.grid(1), n, cuda.gridsize(1))`.
fn grid_stride() -> Function {
    let t = a1(Scalar::F64);
    let mut k = K::new("grid_stride", vec![t.clone(), t.clone()]);
    let a = k.param(0, t.clone());
    let out = k.param(1, t);
    let start = k.grid1();
    let gd = k.geom(Geometry::GridDim, Axis::X);
    let bd = k.geom(Geometry::BlockDim, Axis::X);
    let stride = k.bin(BinaryOp::Mul, gd, bd);
    let stride = k.cast(stride, Type::I64);
    let n = k.dim(a, 0);
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
            let two = k.f64c(2.0);
            let y = k.bin(BinaryOp::Mul, x, two);
            k.store(out, &[iv], y);
            let nx = k.bin(BinaryOp::Add, iv, stride);
            k.set(i, nx);
        },
    );
    k.finish()
}

#[test]
fn grid_stride_loop() {
    let km = compile(vec![grid_stride()], vec![]);
    let mut r = Rng(23);
    let n = 10_000usize;
    let a = rand_vec(&mut r, n);
    let out = vec![0f64; n];
    let mut args = arr_slots(&a, &[n as i64]);
    args.extend(arr_slots(&out, &[n as i64]));
    assert_eq!(launch(&km, &args, [7, 1, 1], [96, 1, 1], 0), 0);
    for i in 0..n {
        assert_eq!(out[i], a[i] * 2.0);
    }
}

/// `if a[i] < 0: raise ValueError`, after a barrier; stores before it.
fn raising() -> Function {
    let t = a1(Scalar::F64);
    let mut k = K::new("raising", vec![t.clone(), t.clone()]);
    let a = k.param(0, t.clone());
    let out = k.param(1, t);
    let i = k.grid1();
    let x = k.load(a, &[i]);
    k.store(out, &[i], x);
    k.barrier();
    let z = k.f64c(0.0);
    let neg = k.cmp(CmpOp::Lt, x, z);
    k.if_(neg, |k| {
        k.b.push(Stmt::Raise {
            exc: ExcId(0),
            loc: Loc::default(),
        })
    });
    k.finish()
}

#[test]
fn kernel_that_raises() {
    let km = compile(
        vec![raising()],
        vec![Exception {
            class: "ValueError".into(),
            message: "negative".into(),
        }],
    );
    let n = 128usize;
    let mut a: Vec<f64> = (0..n).map(|x| x as f64).collect();
    let out = vec![0f64; n];
    let mut args = arr_slots(&a, &[n as i64]);
    args.extend(arr_slots(&out, &[n as i64]));
    assert_eq!(launch(&km, &args, [2, 1, 1], [64, 1, 1], 0), 0);
    a[100] = -1.0;
    assert_eq!(launch(&km, &args, [2, 1, 1], [64, 1, 1], 0), 1);
}

/// `if i >= n: return` before a barrier: exited threads do not hold the block.
fn early_return() -> Function {
    let t = a1(Scalar::F64);
    let mut k = K::new("early_return", vec![t.clone(), t.clone()]);
    let a = k.param(0, t.clone());
    let out = k.param(1, t);
    let sh = k.shared(Scalar::F64, &[64], false);
    let tid = k.tid();
    let i = k.grid1();
    let n = k.dim(a, 0);
    let ge = k.cmp(CmpOp::Ge, i, n);
    k.if_(ge, |k| k.b.push(Stmt::Return { value: None }));
    let x = k.load(a, &[i]);
    k.store(sh, &[tid], x);
    k.barrier();
    // out[i] = sh[tid] + sh[tid ^ 1] when the neighbour exists
    let one = k.i64c(1);
    let nb = k.bin(BinaryOp::BitXor, tid, one);
    let bi = k.geom(Geometry::BlockIdx, Axis::X);
    let bd = k.geom(Geometry::BlockDim, Axis::X);
    let base = k.bin(BinaryOp::Mul, bi, bd);
    let base = k.cast(base, Type::I64);
    let gi = k.bin(BinaryOp::Add, base, nb);
    let ok = k.cmp(CmpOp::Lt, gi, n);
    let y = k.load(sh, &[tid]);
    k.if_else(
        ok,
        |k| {
            let w = k.load(sh, &[nb]);
            let s = k.bin(BinaryOp::Add, y, w);
            k.store(out, &[i], s);
        },
        |k| k.store(out, &[i], y),
    );
    k.finish()
}

#[test]
fn early_return_before_a_barrier() {
    let km = compile(vec![early_return()], vec![]);
    let n = 101usize;
    let a: Vec<f64> = (0..n).map(|x| x as f64).collect();
    let out = vec![0f64; n];
    let mut args = arr_slots(&a, &[n as i64]);
    args.extend(arr_slots(&out, &[n as i64]));
    assert_eq!(launch(&km, &args, [2, 1, 1], [64, 1, 1], 0), 0);
    for i in 0..n {
        let nb = i ^ 1;
        let want = if nb < n { a[i] + a[nb] } else { a[i] };
        assert_eq!(out[i], want, "at {i}");
    }
}

#[test]
fn barrier_under_thread_dependent_condition_is_an_error() {
    let t = a1(Scalar::F64);
    let mut k = K::new("bad", vec![t.clone()]);
    let _a = k.param(0, t);
    let tid = k.tid();
    let z = k.i64c(16);
    let lt = k.cmp(CmpOp::Lt, tid, z);
    k.if_(lt, |k| k.barrier());
    let err = try_compile(vec![k.finish()]).err().expect("an error");
    assert!(err.to_string().contains("syncthreads"), "{err}");
}

// ---- device functions that use kernel operations (inlined) ----

/// `warp_inclusive_scan(value, lane)` as in kernels/gpu/scan.py: a `while`
/// loop of `shfl_up_sync` that returns the scanned value.
fn warp_scan_fn() -> Function {
    let mut f = K::func(
        "warp_inclusive_scan__i64_i32",
        vec![Type::I64, I32],
        Type::I64,
    );
    let p = f.param(0, Type::I64);
    let lane = f.param(1, I32);
    let value = f.local("value", Type::I64);
    f.set(value, p);
    let offset = f.local("offset", I32);
    let one = f.i32c(1);
    f.set(offset, one);
    f.while_(
        |k| {
            let o = k.get(offset);
            let w = k.i32c(32);
            k.cmp(CmpOp::Lt, o, w)
        },
        |k| {
            let o = k.get(offset);
            let v = k.get(value);
            let other = k.shfl(Shuffle::Up, v, o, 32);
            let ge = k.cmp(CmpOp::Ge, lane, o);
            k.if_(ge, |k| {
                let v = k.get(value);
                let s = k.bin(BinaryOp::Add, v, other);
                k.set(value, s);
            });
            let two = k.i32c(2);
            let o2 = k.bin(BinaryOp::Mul, o, two);
            k.set(offset, o2);
        },
    );
    let v = f.get(value);
    f.b.push(Stmt::Return { value: Some(v) });
    f.b.finish()
}

/// The same scan with `for d in range(5): off = 1 << d` and an exclusive
/// result computed after the loop: `return value - own`.
fn warp_exclusive_scan_fn() -> Function {
    let mut f = K::func("warp_exclusive_scan__i64", vec![Type::I64], Type::I64);
    let own = f.param(0, Type::I64);
    let lane = f.emit(Op::LaneId, I32);
    let value = f.local("value", Type::I64);
    f.set(value, own);
    let zero = f.i64c(0);
    let five = f.i64c(5);
    f.range(zero, five, |k, d| {
        let one = k.i64c(1);
        let off = k.bin(BinaryOp::Shl, one, d);
        let off = k.cast(off, I32);
        let v = k.get(value);
        let other = k.shfl(Shuffle::Up, v, off, 32);
        let ge = k.cmp(CmpOp::Ge, lane, off);
        let z = k.i64c(0);
        let add = k.emit(Op::Select(ge, other, z), Type::I64);
        let s = k.bin(BinaryOp::Add, v, add);
        k.set(value, s);
    });
    let v = f.get(value);
    let r = f.bin(BinaryOp::Sub, v, own);
    f.b.push(Stmt::Return { value: Some(r) });
    f.b.finish()
}

/// `inc[i] = warp_inclusive_scan(a[i], tid % 32)`, `exc[i] = warp_exclusive_scan(a[i])`.
fn scan_kernel() -> Function {
    let ti = a1(Scalar::I64);
    let mut k = K::new("scan_kernel", vec![ti.clone(), ti.clone(), ti]);
    let a = k.param(0, a1(Scalar::I64));
    let inc = k.param(1, a1(Scalar::I64));
    let exc = k.param(2, a1(Scalar::I64));
    let i = k.grid1();
    let t = k.geom(Geometry::ThreadIdx, Axis::X);
    let w = k.i32c(32);
    let lane = k.bin(BinaryOp::Mod, t, w);
    let x = k.load(a, &[i]);
    let s = k.emit(Op::Call(FuncId(1), vec![x, lane]), Type::I64);
    k.store(inc, &[i], s);
    let e = k.emit(Op::Call(FuncId(2), vec![x]), Type::I64);
    k.store(exc, &[i], e);
    k.finish()
}

#[test]
fn device_function_with_a_warp_scan_in_a_loop() {
    let km = compile(
        vec![scan_kernel(), warp_scan_fn(), warp_exclusive_scan_fn()],
        vec![],
    );
    let mut r = Rng(41);
    let n = 384usize;
    let a: Vec<i64> = (0..n).map(|_| r.below(2000) as i64 - 1000).collect();
    let inc = vec![0i64; n];
    let exc = vec![0i64; n];
    let mut args = arr_slots(&a, &[n as i64]);
    args.extend(arr_slots(&inc, &[n as i64]));
    args.extend(arr_slots(&exc, &[n as i64]));
    assert_eq!(launch(&km, &args, [3, 1, 1], [128, 1, 1], 0), 0);
    for w in 0..n / 32 {
        let mut s = 0;
        for l in 0..32 {
            let at = w * 32 + l;
            assert_eq!(exc[at], s, "exclusive, warp {w} lane {l}");
            s += a[at];
            assert_eq!(inc[at], s, "inclusive, warp {w} lane {l}");
        }
    }
}

/// `block_sum(x)`: a tree reduction over a shared array indexed by
/// `threadIdx.x`, with `syncthreads` in a loop; 64 threads per block.
fn block_sum_fn() -> Function {
    let mut f = K::func("block_sum__f64", vec![Type::F64], Type::F64);
    let x = f.param(0, Type::F64);
    let sh = f.shared(Scalar::F64, &[64], false);
    let t = f.tid();
    f.store(sh, &[t], x);
    f.barrier();
    let s = f.local("s", Type::I64);
    let half = f.i64c(32);
    f.set(s, half);
    f.while_(
        |k| {
            let sv = k.get(s);
            let z = k.i64c(0);
            k.cmp(CmpOp::Gt, sv, z)
        },
        |k| {
            let sv = k.get(s);
            let lt = k.cmp(CmpOp::Lt, t, sv);
            k.if_(lt, |k| {
                let j = k.bin(BinaryOp::Add, t, sv);
                let p = k.load(sh, &[t]);
                let q = k.load(sh, &[j]);
                let r = k.bin(BinaryOp::Add, p, q);
                k.store(sh, &[t], r);
            });
            k.barrier();
            let two = k.i64c(2);
            let h = k.bin(BinaryOp::FloorDiv, sv, two);
            k.set(s, h);
        },
    );
    let z = f.i64c(0);
    let r = f.load(sh, &[z]);
    f.barrier();
    f.b.push(Stmt::Return { value: Some(r) });
    f.b.finish()
}

/// `out[i] = block_sum(a[i]) + scaled(a[i])` with `scaled(x) = block_sum(2 x)`:
/// nested device functions, two inlined copies of the shared array.
fn block_sum_kernel() -> (Function, Function) {
    let t = a1(Scalar::F64);
    let mut k = K::new("block_sums", vec![t.clone(), t.clone()]);
    let a = k.param(0, t.clone());
    let out = k.param(1, t);
    let i = k.grid1();
    let x = k.load(a, &[i]);
    let s1 = k.emit(Op::Call(FuncId(1), vec![x]), Type::F64);
    let s2 = k.emit(Op::Call(FuncId(2), vec![x]), Type::F64);
    let s = k.bin(BinaryOp::Add, s1, s2);
    k.store(out, &[i], s);
    let mut g = K::func("scaled__f64", vec![Type::F64], Type::F64);
    let x = g.param(0, Type::F64);
    let two = g.f64c(2.0);
    let y = g.bin(BinaryOp::Mul, x, two);
    let r = g.emit(Op::Call(FuncId(1), vec![y]), Type::F64);
    g.b.push(Stmt::Return { value: Some(r) });
    (k.finish(), g.b.finish())
}

#[test]
fn device_function_with_thread_index_shared_array_and_barriers() {
    let (kf, gf) = block_sum_kernel();
    // Inlined, the kernel verifies and its barriers are still block-wide.
    let m = Module {
        functions: vec![kf.clone(), block_sum_fn(), gf.clone()],
        entry: FuncId(0),
        exceptions: vec![],
    };
    let kops = hypersonic_ir::passes::inline::uses_kernel_operations(&m);
    assert_eq!(kops, vec![true, true, true]);
    let inlined =
        hypersonic_ir::passes::inline::inline_into_entry(&m, |g, _| kops[g.0 as usize]).unwrap();
    assert_eq!(inlined.functions.len(), 1);
    hypersonic_ir::verify::verify_module(&inlined).unwrap();
    hypersonic_ir::passes::uniformity::check_module_barriers(&inlined).unwrap();
    let km = compile(vec![kf, block_sum_fn(), gf], vec![]);
    assert_eq!(km.static_shared_bytes(), 2 * 64 * 8);
    let mut r = Rng(43);
    let n = 256usize;
    let a: Vec<f64> = (0..n).map(|_| (r.below(1000) as f64) - 500.0).collect();
    let out = vec![0f64; n];
    let mut args = arr_slots(&a, &[n as i64]);
    args.extend(arr_slots(&out, &[n as i64]));
    assert_eq!(launch(&km, &args, [4, 1, 1], [64, 1, 1], 0), 0);
    for b in 0..4 {
        let s: f64 = a[b * 64..b * 64 + 64].iter().sum();
        for t in 0..64 {
            assert_eq!(out[b * 64 + t], 3.0 * s, "block {b} thread {t}");
        }
    }
}

/// `half_pair(v)`: `if lane >= 16: return v` then `return v + shfl_down(v, 1, 16)`:
/// a thread-dependent early return guards the shuffle.
fn half_pair_fn() -> Function {
    let mut f = K::func("half_pair__i32", vec![I32], I32);
    let v = f.param(0, I32);
    let lane = f.emit(Op::LaneId, I32);
    let sixteen = f.i32c(16);
    let hi = f.cmp(CmpOp::Ge, lane, sixteen);
    f.if_(hi, |k| k.b.push(Stmt::Return { value: Some(v) }));
    let one = f.i32c(1);
    let y = f.shfl(Shuffle::Down, v, one, 16);
    let s = f.bin(BinaryOp::Add, v, y);
    f.b.push(Stmt::Return { value: Some(s) });
    f.b.finish()
}

#[test]
fn device_function_with_an_early_return_before_a_shuffle() {
    let ti = a1(Scalar::I32);
    let mut k = K::new("half_pairs", vec![ti.clone(), ti.clone()]);
    let a = k.param(0, ti.clone());
    let out = k.param(1, ti);
    let i = k.tid();
    let x = k.load(a, &[i]);
    let r = k.emit(Op::Call(FuncId(1), vec![x]), I32);
    k.store(out, &[i], r);
    let km = compile(vec![k.finish(), half_pair_fn()], vec![]);
    let n = 64usize;
    let a: Vec<i32> = (0..n as i32).map(|x| x * x + 3).collect();
    let out = vec![0i32; n];
    let mut args = arr_slots(&a, &[n as i64]);
    args.extend(arr_slots(&out, &[n as i64]));
    assert_eq!(launch(&km, &args, [1, 1, 1], [n as u32, 1, 1], 0), 0);
    for t in 0..n {
        let lane = t % 32;
        let want = if lane >= 16 {
            a[t]
        } else if lane % 16 < 15 {
            a[t] + a[t + 1]
        } else {
            2 * a[t]
        };
        assert_eq!(out[t], want, "at {t}");
    }
}

#[test]
fn recursive_device_function_with_kernel_operations_is_an_error() {
    let mut k = K::new("rec", vec![]);
    let z = k.i64c(3);
    k.emit(Op::Call(FuncId(1), vec![z]), Type::I64);
    let kf = k.finish();
    let mut f = K::func("down__i64", vec![Type::I64], Type::I64);
    let n = f.param(0, Type::I64);
    let t = f.tid();
    let zero = f.i64c(0);
    let done = f.cmp(CmpOp::Le, n, zero);
    f.if_(done, |k| k.b.push(Stmt::Return { value: Some(t) }));
    let one = f.i64c(1);
    let m = f.bin(BinaryOp::Sub, n, one);
    let r = f.emit(Op::Call(FuncId(1), vec![m]), Type::I64);
    f.b.push(Stmt::Return { value: Some(r) });
    let err = try_compile(vec![kf, f.b.finish()]).err().expect("an error");
    assert!(err.to_string().contains("recursive"), "{err}");
    assert!(err.to_string().contains("down -> down"), "{err}");
}

// ---- warp functions in loops under thread-dependent control ----

/// One step of `v += shfl_down_sync(FULL, v, off)` over a warp of 32 lanes.
fn shfl_down_add(v: &mut [i64], off: usize) {
    let old = v.to_vec();
    for l in 0..v.len() {
        v[l] += if l + off < v.len() {
            old[l + off]
        } else {
            old[l]
        };
    }
}

/// `if warp % 2 == 0:` a `while off > 0` shfl_down reduction whose counter is
/// stored under the condition (so the analysis calls it varying), repeated
/// `warp % 3 + 1` times by an outer loop (nested predicated loops);
/// `elif lane < 16:` an inclusive scan over `for off in (1, 2, 4, 8)` with
/// width 16.
fn loops_under_if() -> Function {
    let ti = a1(Scalar::I64);
    let mut k = K::new("loops_under_if", vec![ti.clone(), ti.clone()]);
    let a = k.param(0, ti.clone());
    let out = k.param(1, ti);
    let i = k.tid();
    let x = k.load(a, &[i]);
    let v = k.local("v", Type::I64);
    k.set(v, x);
    let w32 = k.i64c(32);
    let warp = k.bin(BinaryOp::FloorDiv, i, w32);
    let lane = k.emit(Op::LaneId, I32);
    let two = k.i64c(2);
    let par = k.bin(BinaryOp::Mod, warp, two);
    let zero = k.i64c(0);
    let even = k.cmp(CmpOp::Eq, par, zero);
    k.if_else(
        even,
        |k| {
            let three = k.i64c(3);
            let reps = k.bin(BinaryOp::Mod, warp, three);
            let one = k.i64c(1);
            let reps = k.bin(BinaryOp::Add, reps, one);
            let zero = k.i64c(0);
            k.range(zero, reps, |k, _| {
                let off = k.local("off", I32);
                let sixteen = k.i32c(16);
                k.set(off, sixteen);
                k.while_(
                    |k| {
                        let o = k.get(off);
                        let z = k.i32c(0);
                        k.cmp(CmpOp::Gt, o, z)
                    },
                    |k| {
                        let o = k.get(off);
                        let vv = k.get(v);
                        let y = k.shfl(Shuffle::Down, vv, o, 32);
                        let s = k.bin(BinaryOp::Add, vv, y);
                        k.set(v, s);
                        let two = k.i32c(2);
                        let h = k.bin(BinaryOp::FloorDiv, o, two);
                        k.set(off, h);
                    },
                );
            });
        },
        |k| {
            let sixteen = k.i32c(16);
            let lo = k.cmp(CmpOp::Lt, lane, sixteen);
            k.if_(lo, |k| {
                let offs: Vec<ValueId> = [1, 2, 4, 8].iter().map(|&d| k.i32c(d)).collect();
                let tup = k.emit(Op::MakeTuple(offs), Type::Tuple(vec![I32; 4]));
                let zero = k.i64c(0);
                let four = k.i64c(4);
                k.range(zero, four, |k, j| {
                    let o = k.emit(Op::TupleIndex(tup, j), I32);
                    let vv = k.get(v);
                    let y = k.shfl(Shuffle::Up, vv, o, 16);
                    let ge = k.cmp(CmpOp::Ge, lane, o);
                    k.if_(ge, |k| {
                        let s = k.bin(BinaryOp::Add, vv, y);
                        k.set(v, s);
                    });
                });
            });
        },
    );
    let vv = k.get(v);
    k.store(out, &[i], vv);
    k.finish()
}

#[test]
fn warp_loops_under_thread_dependent_conditions() {
    let km = compile(vec![loops_under_if()], vec![]);
    let mut r = Rng(47);
    let n = 192usize; // 6 warps
    let a: Vec<i64> = (0..n).map(|_| r.below(200) as i64 - 100).collect();
    let out = vec![0i64; n];
    let mut args = arr_slots(&a, &[n as i64]);
    args.extend(arr_slots(&out, &[n as i64]));
    assert_eq!(launch(&km, &args, [1, 1, 1], [n as u32, 1, 1], 0), 0);
    for w in 0..n / 32 {
        let mut v = a[w * 32..w * 32 + 32].to_vec();
        if w % 2 == 0 {
            for _ in 0..w % 3 + 1 {
                for off in [16, 8, 4, 2, 1] {
                    shfl_down_add(&mut v, off);
                }
            }
        } else {
            for l in 0..16 {
                v[l] = a[w * 32..w * 32 + l + 1].iter().sum();
            }
        }
        assert_eq!(&out[w * 32..w * 32 + 32], &v[..], "warp {w}");
    }
}

/// Lanes leave at different times: pairs of lanes (`lane >> 1`) run
/// `(lane >> 1) % 4 + 1` iterations of `v += shfl_xor(v, 1)`, skip an
/// iteration (`continue`) when `(pair + k) % 3 == 0`, and `break` once `v`
/// exceeds a bound; every participating lane reads a participating partner.
fn varying_trip_counts() -> Function {
    let ti = a1(Scalar::I64);
    let mut k = K::new("varying_trips", vec![ti.clone(), ti.clone(), ti.clone()]);
    let a = k.param(0, ti.clone());
    let out = k.param(1, ti.clone());
    let iters = k.param(2, ti);
    let i = k.tid();
    let x = k.load(a, &[i]);
    let v = k.local("v", Type::I64);
    k.set(v, x);
    let lane = k.emit(Op::LaneId, I32);
    let one32 = k.i32c(1);
    let pair = k.bin(BinaryOp::Shr, lane, one32);
    let pair = k.cast(pair, Type::I64);
    let four = k.i64c(4);
    let cnt = k.bin(BinaryOp::Mod, pair, four);
    let one = k.i64c(1);
    let cnt = k.bin(BinaryOp::Add, cnt, one);
    let kk = k.local("k", Type::I64);
    let ran = k.local("ran", Type::I64);
    let zero = k.i64c(0);
    k.set(kk, zero);
    k.set(ran, zero);
    k.while_(
        |k| {
            let kv = k.get(kk);
            k.cmp(CmpOp::Lt, kv, cnt)
        },
        |k| {
            let kv = k.get(kk);
            let one = k.i64c(1);
            let kn = k.bin(BinaryOp::Add, kv, one);
            k.set(kk, kn);
            let pk = k.bin(BinaryOp::Add, pair, kn);
            let three = k.i64c(3);
            let m = k.bin(BinaryOp::Mod, pk, three);
            let zero = k.i64c(0);
            let skip = k.cmp(CmpOp::Eq, m, zero);
            k.if_(skip, |k| k.b.push(Stmt::Continue));
            let vv = k.get(v);
            let y = k.shfl(Shuffle::Xor, vv, one32, 32);
            let s = k.bin(BinaryOp::Add, vv, y);
            k.set(v, s);
            let r = k.get(ran);
            let r = k.bin(BinaryOp::Add, r, one);
            k.set(ran, r);
            let bound = k.i64c(150);
            let big = k.cmp(CmpOp::Gt, s, bound);
            k.if_(big, |k| k.b.push(Stmt::Break));
        },
    );
    let vv = k.get(v);
    k.store(out, &[i], vv);
    let r = k.get(ran);
    k.store(iters, &[i], r);
    k.finish()
}

#[test]
fn warp_functions_in_loops_with_varying_trip_counts() {
    let km = compile(vec![varying_trip_counts()], vec![]);
    let mut r = Rng(53);
    let n = 96usize;
    let a: Vec<i64> = (0..n).map(|_| r.below(60) as i64 - 10).collect();
    let out = vec![0i64; n];
    let iters = vec![0i64; n];
    let mut args = arr_slots(&a, &[n as i64]);
    args.extend(arr_slots(&out, &[n as i64]));
    args.extend(arr_slots(&iters, &[n as i64]));
    assert_eq!(launch(&km, &args, [1, 1, 1], [n as u32, 1, 1], 0), 0);
    let mut distinct = std::collections::HashSet::new();
    for t in (0..n).step_by(2) {
        let pair = (t % 32) >> 1;
        let (mut x, mut y) = (a[t], a[t + 1]);
        let mut ran = 0;
        for kn in 1..=(pair % 4 + 1) as i64 {
            if (pair as i64 + kn) % 3 == 0 {
                continue;
            }
            let s = x + y;
            (x, y) = (s, s);
            ran += 1;
            if s > 150 {
                break;
            }
        }
        distinct.insert(ran);
        assert_eq!((out[t], out[t + 1]), (x, y), "pair at {t}");
        assert_eq!((iters[t], iters[t + 1]), (ran, ran), "iterations at {t}");
    }
    assert!(distinct.len() >= 3, "trip counts {distinct:?}");
}

#[test]
fn barrier_in_a_loop_with_a_varying_trip_count_is_an_error() {
    let t = a1(Scalar::F64);
    let mut k = K::new("bad_loop", vec![t.clone()]);
    let a = k.param(0, t);
    let tid = k.tid();
    let zero = k.i64c(0);
    k.range(zero, tid, |k, j| {
        let x = k.f64c(1.0);
        k.store(a, &[j], x);
        k.barrier();
    });
    let f = k.finish();
    let m = Module {
        functions: vec![f.clone()],
        entry: FuncId(0),
        exceptions: vec![],
    };
    // The front end's check rejects it, and so does the SIMT lowering.
    assert!(hypersonic_ir::passes::uniformity::check_module_barriers(&m).is_err());
    let err = try_compile(vec![f]).err().expect("an error");
    assert!(err.to_string().contains("syncthreads"), "{err}");
    assert!(err.to_string().contains("loop"), "{err}");
}

/// `grow(v)`: `for k in range(8): v = v + shfl_xor(v, 1) + 1; if v > 100:
/// return 10 v` then `return -v`: a return from inside a loop with a warp
/// function, inlined (a per-thread break out of a predicated loop).
fn grow_fn() -> Function {
    let mut f = K::func("grow__i64", vec![Type::I64], Type::I64);
    let p = f.param(0, Type::I64);
    let v = f.local("v", Type::I64);
    f.set(v, p);
    let zero = f.i64c(0);
    let eight = f.i64c(8);
    f.range(zero, eight, |k, _| {
        let vv = k.get(v);
        let one32 = k.i32c(1);
        let y = k.shfl(Shuffle::Xor, vv, one32, 32);
        let s = k.bin(BinaryOp::Add, vv, y);
        let one = k.i64c(1);
        let s = k.bin(BinaryOp::Add, s, one);
        k.set(v, s);
        let hundred = k.i64c(100);
        let big = k.cmp(CmpOp::Gt, s, hundred);
        k.if_(big, |k| {
            let ten = k.i64c(10);
            let r = k.bin(BinaryOp::Mul, s, ten);
            k.b.push(Stmt::Return { value: Some(r) });
        });
    });
    let vv = f.get(v);
    let r = f.emit(Op::Unary(UnaryOp::Neg, vv), Type::I64);
    f.b.push(Stmt::Return { value: Some(r) });
    f.b.finish()
}

/// `out[i] = grow(a[i])`; then, in the kernel itself, a loop that pairs of
/// threads leave by `return` (`w = w + shfl_xor(w, 1) + 1; if w > 60:
/// out2[i] = w; return`, six rounds at most), and after it a store by the
/// threads that stay.
#[test]
fn returns_from_loops_with_warp_functions() {
    let ti = a1(Scalar::I64);
    let mut k = K::new("returns", vec![ti.clone(), ti.clone(), ti.clone()]);
    let a = k.param(0, ti.clone());
    let out = k.param(1, ti.clone());
    let out2 = k.param(2, ti);
    let i = k.tid();
    let x = k.load(a, &[i]);
    let g = k.emit(Op::Call(FuncId(1), vec![x]), Type::I64);
    k.store(out, &[i], g);
    let w = k.local("w", Type::I64);
    let lane = k.emit(Op::LaneId, I32);
    let lane = k.cast(lane, Type::I64);
    let w0 = k.bin(BinaryOp::Sub, x, lane);
    k.set(w, w0);
    let zero = k.i64c(0);
    let six = k.i64c(6);
    k.range(zero, six, |k, _| {
        let vv = k.get(w);
        let one32 = k.i32c(1);
        let y = k.shfl(Shuffle::Xor, vv, one32, 32);
        let s = k.bin(BinaryOp::Add, vv, y);
        let one = k.i64c(1);
        let s = k.bin(BinaryOp::Add, s, one);
        k.set(w, s);
        let sixty = k.i64c(60);
        let big = k.cmp(CmpOp::Gt, s, sixty);
        k.if_(big, |k| {
            k.store(out2, &[i], s);
            k.b.push(Stmt::Return { value: None });
        });
    });
    let vv = k.get(w);
    let m = k.i64c(100_000);
    let r = k.bin(BinaryOp::Add, vv, m);
    k.store(out2, &[i], r);
    let km = compile(vec![k.finish(), grow_fn()], vec![]);
    let mut r = Rng(59);
    let n = 64usize;
    let a: Vec<i64> = (0..n).map(|_| r.below(40) as i64 - 12).collect();
    let out = vec![0i64; n];
    let out2 = vec![0i64; n];
    let mut args = arr_slots(&a, &[n as i64]);
    args.extend(arr_slots(&out, &[n as i64]));
    args.extend(arr_slots(&out2, &[n as i64]));
    assert_eq!(launch(&km, &args, [1, 1, 1], [n as u32, 1, 1], 0), 0);
    let mut returned = 0;
    for t in (0..n).step_by(2) {
        let (mut x, mut y) = (a[t], a[t + 1]);
        let mut res = None;
        for _ in 0..8 {
            let s = x + y + 1;
            (x, y) = (s, s);
            if s > 100 {
                res = Some(10 * s);
                break;
            }
        }
        let want = res.unwrap_or(-x);
        assert_eq!((out[t], out[t + 1]), (want, want), "grow at {t}");
        let (mut x, mut y) = (a[t] - (t % 32) as i64, a[t + 1] - ((t + 1) % 32) as i64);
        let mut want = None;
        for _ in 0..6 {
            let s = x + y + 1;
            (x, y) = (s, s);
            if s > 60 {
                want = Some(s);
                returned += 1;
                break;
            }
        }
        let want = want.unwrap_or(x + 100_000);
        assert_eq!((out2[t], out2[t + 1]), (want, want), "return at {t}");
    }
    assert!(
        returned > 0 && returned < n / 2,
        "{returned} pairs returned"
    );
}
