//! Speed of CPU SIMT block functions against the same algorithm as a host loop
//! (what `@njit` compiles) and a plain Rust loop. Run with
//! `cargo test --release -p hypersonic-llvm --test simt_bench -- --ignored --nocapture`.
#![allow(clippy::needless_range_loop)]
mod simt_common;
use std::time::Instant;

use hypersonic_ir::builder::FunctionBuilder;
use hypersonic_ir::*;
use hypersonic_llvm::{HostModule, HostOptions};
use simt_common::*;

fn best(reps: usize, mut f: impl FnMut()) -> f64 {
    let mut b = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        f();
        b = b.min(t.elapsed().as_secs_f64());
    }
    b
}

fn host(f: Function) -> HostModule {
    let m = Module {
        functions: vec![f],
        entry: FuncId(0),
        exceptions: vec![],
    };
    HostModule::compile(&m, &HostOptions::default()).expect("host compile")
}

/// `for i in range(a.shape[0]): c[i] = a[i] + b[i]` as a host function.
fn host_vecadd() -> Function {
    let t = a1(Scalar::F64);
    let mut k = K {
        b: FunctionBuilder::new("hadd", vec![t.clone(), t.clone(), t.clone()], Type::None),
    };
    let a = k.param(0, t.clone());
    let b = k.param(1, t.clone());
    let c = k.param(2, t);
    let n = k.dim(a, 0);
    let z = k.i64c(0);
    k.range(z, n, |k, i| {
        let x = k.load(a, &[i]);
        let y = k.load(b, &[i]);
        let s = k.bin(BinaryOp::Add, x, y);
        k.store(c, &[i], s);
    });
    k.finish()
}

#[test]
#[ignore]
fn bench_vector_add_and_tiled_matmul() {
    for n in [1usize << 14, 1 << 22] {
        vector_add(n);
    }
    tiled_matmul();
}

fn vector_add(n: usize) {
    let reps = if n < 100_000 { 2000 } else { 30 };
    let mut r = Rng(1);
    let a: Vec<f64> = (0..n).map(|_| r.f64()).collect();
    let b: Vec<f64> = (0..n).map(|_| r.f64()).collect();
    let c = vec![0f64; n];
    let mut args = arr_slots(&a, &[n as i64]);
    args.extend(arr_slots(&b, &[n as i64]));
    args.extend(arr_slots(&c, &[n as i64]));
    let km = compile(vec![vecadd()], vec![]);
    let tpb = 256u32;
    let grid = [(n as u32).div_ceil(tpb), 1, 1];
    let t_simt = best(reps, || {
        launch(&km, &args, grid, [tpb, 1, 1], 0);
    });
    let hm = host(host_vecadd());
    let mut out = [0u64; 1];
    let t_host = best(reps, || unsafe {
        (hm.entry())(args.as_ptr(), out.as_mut_ptr());
    });
    let mut c2 = vec![0f64; n];
    let t_rust = best(reps, || {
        for i in 0..n {
            c2[i] = a[i] + b[i];
        }
        std::hint::black_box(&mut c2);
    });
    let unguarded = {
        let t = a1(Scalar::F64);
        let mut k = K::new("vecadd_nb", vec![t.clone(), t.clone(), t.clone()]);
        let a = k.param(0, t.clone());
        let b = k.param(1, t.clone());
        let c = k.param(2, t);
        let i = k.grid1();
        let x = k.load(a, &[i]);
        let y = k.load(b, &[i]);
        let s = k.bin(BinaryOp::Add, x, y);
        k.store(c, &[i], s);
        compile(vec![k.finish()], vec![])
    };
    let t_unguarded = best(reps, || {
        launch(&unguarded, &args, grid, [tpb, 1, 1], 0);
    });
    let t_1024 = best(reps, || {
        launch(
            &km,
            &args,
            [(n as u32).div_ceil(1024), 1, 1],
            [1024, 1, 1],
            0,
        );
    });
    println!(
        "vector add n={n}: without the bounds check {:.1} us, 1024 threads per block {:.1} us",
        t_unguarded * 1e6,
        t_1024 * 1e6
    );
    println!(
        "vector add n={n}: simt {:.1} us, host loop {:.1} us, rust {:.1} us (simt/host {:.2}x)",
        t_simt * 1e6,
        t_host * 1e6,
        t_rust * 1e6,
        t_simt / t_host
    );
}

fn tiled_matmul() {
    let mut r = Rng(2);
    let m = 512usize;
    let a: Vec<f64> = (0..m * m).map(|_| r.f64()).collect();
    let b: Vec<f64> = (0..m * m).map(|_| r.f64()).collect();
    let c = vec![0f64; m * m];
    let mut args = arr_slots(&a, &[m as i64, m as i64]);
    args.extend(arr_slots(&b, &[m as i64, m as i64]));
    args.extend(arr_slots(&c, &[m as i64, m as i64]));
    let tiled = compile(vec![matmul_tiled()], vec![]);
    let naive = compile(vec![matmul_naive()], vec![]);
    let g = (m as u32).div_ceil(16);
    let t_tiled = best(3, || {
        launch(&tiled, &args, [g, g, 1], [16, 16, 1], 0);
    });
    let t_naive = best(3, || {
        launch(&naive, &args, [g, g, 1], [16, 16, 1], 0);
    });
    let mut c2 = vec![0f64; m * m];
    let t_rust = best(3, || {
        // i-k-j order, the cache-friendly plain loop.
        c2.iter_mut().for_each(|x| *x = 0.0);
        for i in 0..m {
            for p in 0..m {
                let x = a[i * m + p];
                for j in 0..m {
                    c2[i * m + j] += x * b[p * m + j];
                }
            }
        }
        std::hint::black_box(&mut c2);
    });
    let t_rust_ijk = best(3, || {
        for i in 0..m {
            for j in 0..m {
                let mut s = 0.0;
                for p in 0..m {
                    s += a[i * m + p] * b[p * m + j];
                }
                c2[i * m + j] = s;
            }
        }
        std::hint::black_box(&mut c2);
    });
    println!(
        "matmul {m}x{m}: simt tiled {:.1} ms, simt naive {:.1} ms, rust ikj {:.1} ms, rust ijk {:.1} ms",
        t_tiled * 1e3,
        t_naive * 1e3,
        t_rust * 1e3,
        t_rust_ijk * 1e3
    );
}

#[test]
#[ignore]
fn dump_ir() {
    let which = std::env::var("SIMT_DUMP").unwrap_or_default();
    let k = match which.as_str() {
        "tiled" => compile(vec![matmul_tiled()], vec![]),
        "naive" => compile(vec![matmul_naive()], vec![]),
        _ => compile(vec![vecadd()], vec![]),
    };
    println!("{}", k.llvm_ir());
}
