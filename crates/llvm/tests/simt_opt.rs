//! The CPU SIMT lowering's optimisations, each on the cases it must get right:
//! atomics on shared memory as plain operations, thread loops shortened by a
//! bounds guard, grid-stride loops run with the threads inside.
#![allow(clippy::needless_range_loop)]
mod simt_common;
use hypersonic_ir::*;
use simt_common::*;

fn atomic(k: &mut K, op: AtomicOp, array: ValueId, idx: ValueId, value: ValueId) -> ValueId {
    let Type::Array { dtype, .. } = k.ty(array) else {
        panic!("not an array")
    };
    k.emit(
        Op::Atomic {
            op,
            array,
            indices: vec![idx],
            value,
        },
        Type::Scalar(dtype),
    )
}

/// Every atomic operation on shared memory (int32 and float64), including the
/// old values they return; results go to global memory after a barrier.
fn shared_atomics() -> Function {
    let ti = a1(Scalar::I32);
    let tf = a1(Scalar::F64);
    let mut k = K::new("shared_atomics", vec![ti.clone(), tf.clone(), ti.clone()]);
    let out = k.param(0, ti.clone());
    let fout = k.param(1, tf);
    let tickets = k.param(2, ti);
    let sh = k.shared(Scalar::I32, &[16], false);
    let fsh = k.shared(Scalar::F64, &[4], false);
    let slots = k.shared(Scalar::I32, &[256], false);
    let t = k.tid();
    let t32 = k.geom(Geometry::ThreadIdx, Axis::X);
    let zero = k.i64c(0);
    let is0 = k.cmp(CmpOp::Eq, t, zero);
    k.if_(is0, |k| {
        // Starting values: 0 for add/max/or/xor/inc, big for min/and/dec/sub.
        let init: [(i64, i64); 9] = [
            (0, 0),
            (1, -5),
            (2, 1 << 20),
            (3, -1),
            (4, 0),
            (5, 0),
            (6, 0),
            (7, 1000),
            (8, 500),
        ];
        for (i, v) in init {
            let i = k.i64c(i);
            let v = k.i32c(v);
            k.store(sh, &[i], v);
        }
        for (i, v) in [(0, 0.0), (1, -1.0), (2, 1e9)] {
            let i = k.i64c(i);
            let v = k.f64c(v);
            k.store(fsh, &[i], v);
        }
    });
    let z = k.i32c(0);
    k.store(slots, &[t], z);
    k.barrier();
    let one = k.i32c(1);
    let idx = |k: &mut K, i: i64| k.i64c(i);
    let i0 = idx(&mut k, 0);
    let ticket = atomic(&mut k, AtomicOp::Add, sh, i0, one);
    k.store(tickets, &[t], ticket);
    let three = k.i32c(3);
    let v = k.bin(BinaryOp::Mul, t32, three);
    let i1 = idx(&mut k, 1);
    atomic(&mut k, AtomicOp::Max, sh, i1, v);
    let i2 = idx(&mut k, 2);
    atomic(&mut k, AtomicOp::Min, sh, i2, v);
    let m31 = k.i32c(31);
    let bit = k.bin(BinaryOp::BitAnd, t32, m31);
    let mask = k.bin(BinaryOp::Shl, one, bit);
    let inv = k.i32c(!0x10);
    let i3 = idx(&mut k, 3);
    atomic(&mut k, AtomicOp::And, sh, i3, inv);
    let i4 = idx(&mut k, 4);
    atomic(&mut k, AtomicOp::Or, sh, i4, mask);
    let i5 = idx(&mut k, 5);
    atomic(&mut k, AtomicOp::Xor, sh, i5, mask);
    let lim = k.i32c(40);
    let i6 = idx(&mut k, 6);
    atomic(&mut k, AtomicOp::Inc, sh, i6, lim);
    let big = k.i32c(1 << 20);
    let i7 = idx(&mut k, 7);
    atomic(&mut k, AtomicOp::Dec, sh, i7, big);
    let i8 = idx(&mut k, 8);
    atomic(&mut k, AtomicOp::Sub, sh, i8, one);
    // Per-thread slots: exchange, then compare-and-swap (one that succeeds,
    // one that fails).
    let tp = k.bin(BinaryOp::Add, t32, three);
    let old = atomic(&mut k, AtomicOp::Exch, slots, t, tp);
    let seven = k.i32c(7);
    let e = k.bin(BinaryOp::Add, t32, three);
    let d = k.bin(BinaryOp::Add, t32, seven);
    k.emit(
        Op::AtomicCas {
            array: slots,
            indices: vec![t],
            expected: e,
            desired: d,
        },
        I32,
    );
    let wrong = k.i32c(-1);
    k.emit(
        Op::AtomicCas {
            array: slots,
            indices: vec![t],
            expected: wrong,
            desired: wrong,
        },
        I32,
    );
    let tf64 = k.cast(t, Type::F64);
    let half = k.f64c(0.5);
    let x = k.bin(BinaryOp::Mul, tf64, half);
    let f0 = idx(&mut k, 0);
    atomic(&mut k, AtomicOp::Add, fsh, f0, x);
    let f1 = idx(&mut k, 1);
    atomic(&mut k, AtomicOp::Max, fsh, f1, x);
    let f2 = idx(&mut k, 2);
    atomic(&mut k, AtomicOp::Min, fsh, f2, x);
    k.barrier();
    // out[block * 16 + j] = sh[j]; out[..] also gets each thread's exchange
    // result and slot.
    let b = k.geom(Geometry::BlockIdx, Axis::X);
    let b = k.cast(b, Type::I64);
    let base_mul = k.i64c(16 + 2 * 256);
    let base = k.bin(BinaryOp::Mul, b, base_mul);
    let sixteen = k.i64c(16);
    let four = k.i64c(4);
    let first = k.cmp(CmpOp::Eq, t, zero);
    k.if_(first, |k| {
        for j in 0..9 {
            let j = k.i64c(j);
            let v = k.load(sh, &[j]);
            let o = k.bin(BinaryOp::Add, base, j);
            k.store(out, &[o], v);
        }
        let fb = k.bin(BinaryOp::Mul, b, four);
        for j in 0..3 {
            let j = k.i64c(j);
            let v = k.load(fsh, &[j]);
            let o = k.bin(BinaryOp::Add, fb, j);
            k.store(fout, &[o], v);
        }
    });
    let o = k.bin(BinaryOp::Add, base, sixteen);
    let o = k.bin(BinaryOp::Add, o, t);
    k.store(out, &[o], old);
    let n256 = k.i64c(256);
    let o2 = k.bin(BinaryOp::Add, o, n256);
    let s = k.load(slots, &[t]);
    k.store(out, &[o2], s);
    k.finish()
}

#[test]
fn shared_memory_atomics_are_exact() {
    let km = compile(vec![shared_atomics()], vec![]);
    let ir = km.llvm_ir();
    assert!(
        !ir.contains("atomicrmw") && !ir.contains("cmpxchg"),
        "shared-memory atomics are plain operations:\n{ir}"
    );
    let blocks = 3usize;
    for nt in [1usize, 37, 200] {
        let per = 16 + 2 * 256;
        let out = vec![0i32; blocks * per];
        let fout = vec![0f64; blocks * 4];
        let tickets = vec![0i32; nt];
        let mut args = arr_slots(&out, &[out.len() as i64]);
        args.extend(arr_slots(&fout, &[fout.len() as i64]));
        args.extend(arr_slots(&tickets, &[nt as i64]));
        assert_eq!(
            launch(&km, &args, [blocks as u32, 1, 1], [nt as u32, 1, 1], 0),
            0
        );
        let n = nt as i32;
        let (mut or, mut xor) = (0i32, 0i32);
        for t in 0..n {
            or |= 1 << (t & 31);
            xor ^= 1 << (t & 31);
        }
        let want = [
            n,
            (3 * (n - 1)).max(-5),
            0,
            !0x10,
            or,
            xor,
            n % 41,
            1000 - n,
            500 - n,
        ];
        let mut ts: Vec<i32> = tickets.clone();
        ts.sort();
        assert_eq!(ts, (0..n).collect::<Vec<_>>(), "the add's old values");
        for b in 0..blocks {
            let o = &out[b * per..];
            assert_eq!(&o[..9], &want, "block {b}, {nt} threads");
            for t in 0..nt {
                assert_eq!(o[16 + t], 0, "exchange returns the old value");
                assert_eq!(o[16 + 256 + t], t as i32 + 7, "compare-and-swap");
            }
            let f = &fout[b * 4..];
            let sum: f64 = (0..nt).map(|t| t as f64 * 0.5).sum();
            assert_eq!(f[0], sum);
            assert_eq!(f[1], (nt as f64 - 1.0) * 0.5);
            assert_eq!(f[2], 0.0);
        }
    }
}

/// `i, j = cuda.grid(2)`; a block's tile goes through shared memory with a
/// barrier in between: `out[i, j] = 2 * a[i, j] + tile[ty, tx]` read back at
/// the transposed position inside the block, with `j` (contiguous) along
/// `threadIdx.y`, so thread loops run `y` innermost.
fn tile_2d() -> Function {
    let t = a2(Scalar::F64);
    let mut k = K::new("tile_2d", vec![t.clone(), t.clone()]);
    let a = k.param(0, t.clone());
    let out = k.param(1, t);
    let tile = k.shared(Scalar::F64, &[8, 8], false);
    let g = |k: &mut K, ax: Axis| {
        let bi = k.geom(Geometry::BlockIdx, ax);
        let bd = k.geom(Geometry::BlockDim, ax);
        let t = k.geom(Geometry::ThreadIdx, ax);
        let p = k.bin(BinaryOp::Mul, bi, bd);
        let s = k.bin(BinaryOp::Add, p, t);
        k.cast(s, Type::I64)
    };
    let i = g(&mut k, Axis::X);
    let j = g(&mut k, Axis::Y);
    let tx = k.geom(Geometry::ThreadIdx, Axis::X);
    let tx = k.cast(tx, Type::I64);
    let ty = k.geom(Geometry::ThreadIdx, Axis::Y);
    let ty = k.cast(ty, Type::I64);
    let n = k.dim(a, 0);
    let m = k.dim(a, 1);
    let ok_i = k.cmp(CmpOp::Lt, i, n);
    let ok_j = k.cmp(CmpOp::Lt, j, m);
    let ok = k.and(ok_i, ok_j);
    let z = k.f64c(-1.0);
    k.store(tile, &[tx, ty], z);
    k.if_(ok, |k| {
        let v = k.load(a, &[i, j]);
        k.store(tile, &[tx, ty], v);
    });
    k.barrier();
    k.if_(ok, |k| {
        let v = k.load(a, &[i, j]);
        let two = k.f64c(2.0);
        let v = k.bin(BinaryOp::Mul, v, two);
        let w = k.load(tile, &[ty, tx]);
        let s = k.bin(BinaryOp::Add, v, w);
        k.store(out, &[i, j], s);
    });
    k.finish()
}

#[test]
fn thread_loops_follow_the_contiguous_axis() {
    let km = compile(vec![tile_2d()], vec![]);
    let mut r = Rng(5);
    for (n, m, bx, by) in [(13usize, 21usize, 8u32, 8u32), (8, 8, 8, 8), (30, 5, 4, 8)] {
        let a: Vec<f64> = (0..n * m).map(|_| r.f64()).collect();
        let out = vec![0f64; n * m];
        let mut args = arr_slots(&a, &[n as i64, m as i64]);
        args.extend(arr_slots(&out, &[n as i64, m as i64]));
        let grid = [(n as u32).div_ceil(bx), (m as u32).div_ceil(by), 1];
        assert_eq!(launch(&km, &args, grid, [bx, by, 1], 0), 0);
        for i in 0..n {
            for j in 0..m {
                let (bi, bj) = (i / bx as usize * bx as usize, j / by as usize * by as usize);
                let (tx, ty) = (i - bi, j - bj);
                // tile[ty, tx] holds a[bi + ty, bj + tx] (or -1 outside a, or
                // when the block is not square and nobody wrote it).
                let (si, sj) = (bi + ty, bj + tx);
                let w = if ty < bx as usize && tx < by as usize {
                    if si < n && sj < m {
                        a[si * m + sj]
                    } else {
                        -1.0
                    }
                } else {
                    f64::NAN
                };
                if w.is_nan() {
                    continue;
                }
                assert_eq!(out[i * m + j], 2.0 * a[i * m + j] + w, "({i}, {j})");
            }
        }
    }
}

/// A grid-stride loop with a per-thread value carried across iterations:
/// `acc = 0; for i in range(start, n, stride): acc = acc * 0.5 + a[i];
/// out[i] = acc` and, after the loop, `last[start] = acc`, where each
/// thread's iteration order matters.
fn grid_stride_carried() -> Function {
    let t = a1(Scalar::F64);
    let mut k = K::new("grid_stride_carried", vec![t.clone(), t.clone(), t.clone()]);
    let a = k.param(0, t.clone());
    let out = k.param(1, t.clone());
    let last = k.param(2, t);
    let start = k.grid1();
    let gd = k.geom(Geometry::GridDim, Axis::X);
    let bd = k.geom(Geometry::BlockDim, Axis::X);
    let stride = k.bin(BinaryOp::Mul, gd, bd);
    let stride = k.cast(stride, Type::I64);
    let n = k.dim(a, 0);
    let acc = k.local("acc", Type::F64);
    let z = k.f64c(0.0);
    k.set(acc, z);
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
            let av = k.get(acc);
            let half = k.f64c(0.5);
            let h = k.bin(BinaryOp::Mul, av, half);
            let s = k.bin(BinaryOp::Add, h, x);
            k.set(acc, s);
            k.store(out, &[iv], s);
            let nx = k.bin(BinaryOp::Add, iv, stride);
            k.set(i, nx);
        },
    );
    let av = k.get(acc);
    k.store(last, &[start], av);
    k.finish()
}

#[test]
fn grid_stride_loops_in_lockstep_keep_per_thread_order() {
    let km = compile(vec![grid_stride_carried()], vec![]);
    let mut r = Rng(77);
    for (n, blocks, tpb) in [(10_000usize, 7u32, 96u32), (1000, 3, 64), (5, 2, 32)] {
        let a: Vec<f64> = (0..n).map(|_| r.f64()).collect();
        let threads = (blocks * tpb) as usize;
        let out = vec![0f64; n];
        let last = vec![0f64; threads];
        let mut args = arr_slots(&a, &[n as i64]);
        args.extend(arr_slots(&out, &[n as i64]));
        args.extend(arr_slots(&last, &[threads as i64]));
        assert_eq!(launch(&km, &args, [blocks, 1, 1], [tpb, 1, 1], 0), 0);
        let mut want = vec![0f64; n];
        for s in 0..threads {
            let mut acc = 0.0;
            let mut i = s;
            while i < n {
                acc = acc * 0.5 + a[i];
                want[i] = acc;
                i += threads;
            }
            assert_eq!(last[s], acc, "thread {s}");
        }
        assert_eq!(out, want);
    }
}

/// A tiled dot product with a per-thread accumulator live across barriers:
/// `for t in range(a.shape[0]): tile[tx] = a[t, tx]; sync; for k in
/// range(bd): acc += tile[k] * b[tx, k]; sync` then `out[grid(1)] = acc`.
/// Scratch, shared and global accesses carry distinct alias scopes, so `acc`
/// stays in a register through the inner loop.
fn tiled_dot() -> Function {
    let t2 = a2(Scalar::F64);
    let t1 = a1(Scalar::F64);
    let mut k = K::new("tiled_dot", vec![t2.clone(), t2.clone(), t1.clone()]);
    let a = k.param(0, t2.clone());
    let b = k.param(1, t2);
    let out = k.param(2, t1);
    let tile = k.shared(Scalar::F64, &[64], false);
    let tx = k.tid();
    let bd = k.geom(Geometry::BlockDim, Axis::X);
    let bd = k.cast(bd, Type::I64);
    let tiles = k.dim(a, 0);
    let acc = k.local("acc", Type::F64);
    let z = k.f64c(0.0);
    k.set(acc, z);
    let t = k.local("t", Type::I64);
    let zero = k.i64c(0);
    k.set(t, zero);
    k.while_(
        |k| {
            let tv = k.get(t);
            k.cmp(CmpOp::Lt, tv, tiles)
        },
        |k| {
            let tv = k.get(t);
            let x = k.load(a, &[tv, tx]);
            k.store(tile, &[tx], x);
            k.barrier();
            let kk = k.local("kk", Type::I64);
            let zero = k.i64c(0);
            k.set(kk, zero);
            k.while_(
                |k| {
                    let kv = k.get(kk);
                    k.cmp(CmpOp::Lt, kv, bd)
                },
                |k| {
                    let kv = k.get(kk);
                    let s = k.load(tile, &[kv]);
                    let w = k.load(b, &[tx, kv]);
                    let p = k.bin(BinaryOp::Mul, s, w);
                    let av = k.get(acc);
                    let nv = k.bin(BinaryOp::Add, av, p);
                    k.set(acc, nv);
                    let one = k.i64c(1);
                    let nx = k.bin(BinaryOp::Add, kv, one);
                    k.set(kk, nx);
                },
            );
            k.barrier();
            let one = k.i64c(1);
            let nt = k.bin(BinaryOp::Add, tv, one);
            k.set(t, nt);
        },
    );
    let g = k.grid1();
    let av = k.get(acc);
    k.store(out, &[g], av);
    k.finish()
}

#[test]
fn scratch_shared_and_global_accesses_have_distinct_alias_scopes() {
    let km = compile(vec![tiled_dot()], vec![]);
    assert!(km.llvm_ir().contains("!alias.scope"), "{}", km.llvm_ir());
    let mut r = Rng(11);
    for (tiles, tpb, blocks) in [(5usize, 64usize, 3u32), (1, 7, 2), (9, 32, 1)] {
        let a: Vec<f64> = (0..tiles * tpb).map(|_| r.f64()).collect();
        let b: Vec<f64> = (0..tpb * tpb).map(|_| r.f64()).collect();
        let n = blocks as usize * tpb;
        let out = vec![0f64; n];
        let mut args = arr_slots(&a, &[tiles as i64, tpb as i64]);
        args.extend(arr_slots(&b, &[tpb as i64, tpb as i64]));
        args.extend(arr_slots(&out, &[n as i64]));
        assert_eq!(launch(&km, &args, [blocks, 1, 1], [tpb as u32, 1, 1], 0), 0);
        for g in 0..n {
            let tx = g % tpb;
            let mut acc = 0.0;
            for t in 0..tiles {
                for k in 0..tpb {
                    acc += a[t * tpb + k] * b[tx * tpb + k];
                }
            }
            assert_eq!(out[g], acc, "thread {g}");
        }
    }
}

/// Locals live across a barrier: `tx = threadIdx.x` and `gi = cuda.grid(1)`
/// in `int64` (non-negative: their scratch loads carry `!range`) and
/// `m = threadIdx.x` later set to `m - blockDim.x` (negative: no range), read
/// after the barrier: `tile[tx] = a[tx]; sync; m -= bd; out[gi] = tile[tx] +
/// float(m)`.
fn geometry_locals() -> Function {
    let t = a1(Scalar::F64);
    let mut k = K::new("geometry_locals", vec![t.clone(), t.clone()]);
    let a = k.param(0, t.clone());
    let out = k.param(1, t);
    let tile = k.shared(Scalar::F64, &[64], false);
    let tx = k.local("tx", Type::Scalar(Scalar::I32));
    let m = k.local("m", Type::Scalar(Scalar::I32));
    let t0 = k.geom(Geometry::ThreadIdx, Axis::X);
    k.set(tx, t0);
    k.set(m, t0);
    // `gi = int64(blockIdx.x) * int64(blockDim.x) + int64(threadIdx.x)`.
    let gi = k.local("gi", Type::I64);
    let bi = k.geom(Geometry::BlockIdx, Axis::X);
    let bi = k.cast(bi, Type::I64);
    let bd = k.geom(Geometry::BlockDim, Axis::X);
    let bd = k.cast(bd, Type::I64);
    let t64 = k.cast(t0, Type::I64);
    let p = k.bin(BinaryOp::Mul, bi, bd);
    let gv = k.bin(BinaryOp::Add, p, t64);
    k.set(gi, gv);
    let txv = k.get(tx);
    let i = k.cast(txv, Type::I64);
    let x = k.load(a, &[i]);
    k.store(tile, &[i], x);
    k.barrier();
    let mv = k.get(m);
    let bd = k.geom(Geometry::BlockDim, Axis::X);
    let nm = k.bin(BinaryOp::Sub, mv, bd);
    k.set(m, nm);
    let txv = k.get(tx);
    let i = k.cast(txv, Type::I64);
    let s = k.load(tile, &[i]);
    let mv = k.get(m);
    let j = k.cast(mv, Type::I64);
    let w = k.cast(j, Type::Scalar(Scalar::F64));
    let v = k.bin(BinaryOp::Add, s, w);
    let g = k.get(gi);
    k.store(out, &[g], v);
    k.finish()
}

#[test]
fn geometry_locals_keep_their_range_through_scratch() {
    let km = compile(vec![geometry_locals()], vec![]);
    assert!(km.llvm_ir().contains("!range"), "{}", km.llvm_ir());
    let mut r = Rng(3);
    for (tpb, blocks) in [(64usize, 3u32), (5, 2), (1, 1)] {
        let a: Vec<f64> = (0..tpb).map(|_| r.f64()).collect();
        let n = blocks as usize * tpb;
        let out = vec![0f64; n];
        let mut args = arr_slots(&a, &[tpb as i64]);
        args.extend(arr_slots(&out, &[n as i64]));
        assert_eq!(launch(&km, &args, [blocks, 1, 1], [tpb as u32, 1, 1], 0), 0);
        for g in 0..n {
            let tx = g % tpb;
            assert_eq!(out[g], a[tx] + (tx as f64 - tpb as f64), "thread {g}");
        }
    }
}
