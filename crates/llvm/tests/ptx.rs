//! PTX generation: kernels built by hand in IR, compiled for sm_70, sm_80 and
//! sm_90, assembled by `ptxas` (from the `nvidia-cuda-nvcc-cu12` wheel), and
//! checked for the instructions they must contain.
//!
//! `ptxas` is found through `$HYPERSONIC_PTXAS`, the repository's `.venv`, or
//! `PATH`; a missing `ptxas` fails the tests (CI installs it) unless
//! `HYPERSONIC_SKIP_PTXAS=1`.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use common::for_range;
use hypersonic_ir::*;
use hypersonic_llvm::ptx::{
    compile_ptx, compile_ptx_timed, find_libdevice, Ptx, PtxOptions, PtxTimes,
};
use hypersonic_testkit::{a1, kernel, kernels, module, Case};

const ARCHES: [(u32, u32); 3] = [(7, 0), (8, 0), (9, 0)];

fn venv_site_packages() -> Vec<PathBuf> {
    let mut out = vec![];
    let roots = [
        PathBuf::from("/work/main/.venv/lib"),
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/lib"),
    ];
    for root in roots {
        if let Ok(rd) = std::fs::read_dir(&root) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("python3") {
                    out.push(e.path().join("site-packages"));
                }
            }
        }
    }
    out
}

fn libdevice() -> PathBuf {
    find_libdevice(&venv_site_packages()).expect(
        "libdevice.10.bc not found: pip install nvidia-cuda-nvcc-cu12 into .venv \
         or set HYPERSONIC_LIBDEVICE",
    )
}

/// `None` only when `HYPERSONIC_SKIP_PTXAS=1`.
fn ptxas() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HYPERSONIC_PTXAS") {
        return Some(PathBuf::from(p));
    }
    for sp in venv_site_packages() {
        let p = sp.join("nvidia/cuda_nvcc/bin/ptxas");
        if p.is_file() {
            return Some(p);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join("ptxas");
            if p.is_file() {
                return Some(p);
            }
        }
    }
    if std::env::var("HYPERSONIC_SKIP_PTXAS").as_deref() == Ok("1") {
        return None;
    }
    panic!(
        "ptxas not found: install the `nvidia-cuda-nvcc-cu12` wheel into the repository's \
         .venv, put ptxas on PATH or set HYPERSONIC_PTXAS (HYPERSONIC_SKIP_PTXAS=1 skips \
         assembling, for machines without it)"
    );
}

/// Assembles `ptx` with `ptxas -v`; panics with ptxas's message on failure.
/// Returns ptxas's report (registers, spills).
fn assemble(ptx: &Ptx, cc: (u32, u32)) -> String {
    let arch = arch(cc);
    static N: AtomicU64 = AtomicU64::new(0);
    let Some(ptxas) = ptxas() else {
        return String::new();
    };
    let file = std::env::temp_dir().join(format!(
        "hs_ptx_{}_{}_{}.ptx",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        ptx.entry_name
    ));
    std::fs::write(&file, &ptx.text).unwrap();
    let mut cmd = Command::new(&ptxas);
    cmd.arg("-v").arg("--gpu-name").arg(&arch);
    if !ptx.text.contains(".entry") {
        cmd.arg("-c");
    }
    let out = cmd.arg("-o").arg("/dev/null").arg(&file).output().unwrap();
    let report = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        panic!(
            "ptxas failed on {} for {}:\n{report}\n--- PTX ---\n{}",
            ptx.entry_name, arch, ptx.text
        );
    }
    let _ = std::fs::remove_file(&file);
    report
}

fn arch(cc: (u32, u32)) -> String {
    format!("sm_{}{}", cc.0, cc.1)
}

fn opts(cc: (u32, u32)) -> PtxOptions {
    PtxOptions {
        cc,
        libdevice: Some(libdevice()),
        ..PtxOptions::default()
    }
}

/// Compiles for every architecture, assembles, checks that the PTX contains
/// each of `expect`; returns the sm_80 PTX and its ptxas report.
fn check(m: &Module, expect: &[&str]) -> (Ptx, String, PtxTimes) {
    let mut keep = None;
    for cc in ARCHES {
        let arch = arch(cc);
        let (ptx, times) = compile_ptx_timed(m, &opts(cc), false)
            .unwrap_or_else(|e| panic!("{} for sm_{}{}: {e}", m.functions[0].name, cc.0, cc.1));
        assert!(
            !ptx.text.contains("__nvvm_reflect"),
            "unresolved __nvvm_reflect"
        );
        assert!(
            ptx.text.contains(".entry"),
            "no kernel entry:\n{}",
            ptx.text
        );
        assert!(
            !ptx.text.contains(".extern .func"),
            "calls an undefined function:\n{}",
            ptx.text
        );
        for e in expect {
            assert!(
                ptx.text.contains(e),
                "{} for {}: no `{e}` in\n{}",
                ptx.entry_name,
                arch,
                ptx.text
            );
        }
        if let Some(dir) = std::env::var_os("HYPERSONIC_PTX_DUMP") {
            let file = PathBuf::from(dir).join(format!("{}_{arch}.ptx", ptx.entry_name));
            std::fs::write(file, &ptx.text).unwrap();
        }
        let report = assemble(&ptx, cc);
        if cc == (8, 0) {
            keep = Some((ptx, report, times));
        }
    }
    keep.unwrap()
}

/// Every kernel of the suite compiles for each architecture and assembles.
fn ptx_case(case: Case) {
    check(&case.module, &[]);
}

mod suite {
    hypersonic_testkit::suite!(super::ptx_case);
}

#[test]
fn vector_add_f32_f64() {
    let (ptx, report, times) = check(
        &kernels::vecadd(Scalar::F32),
        &[
            ".visible .entry vecadd_float32(",
            "ld.global.f32",
            "st.global.f32",
            "add.rn.f32",
            "%tid.x",
            "%ctaid.x",
            "%ntid.x",
        ],
    );
    assert_eq!(ptx.param_slots, 9);
    assert_eq!(ptx.text.matches(".param .u64").count(), 9, "{}", ptx.text);
    println!("vecadd_float32 ptxas -v:\n{report}");
    println!("compile_ptx times (vecadd, no libdevice): {:?}", times);
    check(
        &kernels::vecadd(Scalar::F64),
        &["ld.global.f64", "add.rn.f64", "st.global.f64"],
    );
}

#[test]
fn shared_memory_block_reduction() {
    let f = kernels::block_sum(Scalar::F32);
    let (_, report, _) = check(
        &f,
        &[
            ".shared .align 16 .b8",
            "bar.sync",
            "ld.shared.f32",
            "st.shared.f32",
        ],
    );
    println!("block_sum ptxas -v:\n{report}");
}

#[test]
fn atomics() {
    let f = kernel(
        "histogram",
        vec![
            a1(Scalar::I32),
            a1(Scalar::I32),
            a1(Scalar::F32),
            a1(Scalar::F64),
            a1(Scalar::U32),
            a1(Scalar::U64),
            a1(Scalar::I64),
        ],
        |k, p| {
            let i = k.grid1();
            let v = k.load(p[0], &[i]);
            let m = k.int(Scalar::I32, 15);
            let bin = k.bin(BinaryOp::BitAnd, v, m);
            let bin = k.cast(bin, Scalar::I64);
            let one = k.int(Scalar::I32, 1);
            k.atomic(AtomicOp::Add, p[1], bin, one);
            k.atomic(AtomicOp::Sub, p[1], bin, one);
            k.atomic(AtomicOp::Max, p[1], bin, v);
            k.atomic(AtomicOp::Min, p[1], bin, v);
            k.atomic(AtomicOp::And, p[1], bin, v);
            k.atomic(AtomicOp::Or, p[1], bin, v);
            k.atomic(AtomicOp::Xor, p[1], bin, v);
            k.atomic(AtomicOp::Exch, p[1], bin, v);
            let f1 = k.float(Scalar::F32, 1.5);
            k.atomic(AtomicOp::Add, p[2], bin, f1);
            k.atomic(AtomicOp::Sub, p[2], bin, f1);
            let fv = k.cast(v, Scalar::F32);
            k.atomic(AtomicOp::Max, p[2], bin, fv);
            k.atomic(AtomicOp::Min, p[2], bin, fv);
            k.atomic(AtomicOp::Exch, p[2], bin, fv);
            let d1 = k.float(Scalar::F64, 0.25);
            k.atomic(AtomicOp::Add, p[3], bin, d1);
            let dv = k.cast(v, Scalar::F64);
            k.atomic(AtomicOp::Max, p[3], bin, dv);
            let uv = k.cast(v, Scalar::U32);
            k.atomic(AtomicOp::Inc, p[4], bin, uv);
            k.atomic(AtomicOp::Dec, p[4], bin, uv);
            k.atomic(AtomicOp::Max, p[4], bin, uv);
            let u64v = k.cast(v, Scalar::U64);
            k.atomic(AtomicOp::Inc, p[5], bin, u64v);
            k.atomic(AtomicOp::Min, p[5], bin, u64v);
            let lv = k.cast(v, Scalar::I64);
            k.atomic(AtomicOp::Add, p[6], bin, lv);
            k.atomic(AtomicOp::Max, p[6], bin, lv);
            // Compare-and-swap on int32 and float64; the results feed a store so
            // that they are used.
            let old = k.b.emit(
                Op::AtomicCas {
                    array: p[1],
                    indices: vec![bin],
                    expected: v,
                    desired: one,
                },
                Type::Scalar(Scalar::I32),
            );
            k.store(p[1], &[i], old);
            let z = k.float(Scalar::F64, 0.0);
            let oldd = k.b.emit(
                Op::AtomicCas {
                    array: p[3],
                    indices: vec![bin],
                    expected: z,
                    desired: dv,
                },
                Type::Scalar(Scalar::F64),
            );
            k.store(p[3], &[i], oldd);
        },
    );
    let (_, report, _) = check(
        &f,
        &[
            "atom.global.add.f32",
            "atom.global.add.f64",
            "atom.global.add.u32",
            "atom.global.max.s32",
            "atom.global.min.s32",
            "atom.global.max.u32",
            "atom.global.inc.u32",
            "atom.global.dec.u32",
            "atom.global.cas.b64", // 64-bit inc: a compare-and-swap loop
            "atom.global.and.b32",
            "atom.global.or.b32",
            "atom.global.xor.b32",
            "atom.global.exch.b32",
            "atom.global.cas.b32",
            "atom.global.cas.b64",
            "atom.global.add.u64",
            "atom.global.max.s64",
            "atom.global.min.u64",
        ],
    );
    println!("histogram ptxas -v:\n{report}");
}

#[test]
fn shared_atomics() {
    let f = kernels::histogram(Scalar::F32, Scalar::F32, 16);
    check(&f, &["atom.shared.add.f32", "atom.global.add.f32"]);
}

fn shuffle_reduce(s: Scalar) -> Module {
    kernel(&format!("warp_sum_{s}"), vec![a1(s), a1(s)], |k, p| {
        let i = k.grid1();
        let mut v = k.load(p[0], &[i]);
        let mask = k.int(Scalar::U32, 0xffff_ffff);
        let width = k.int(Scalar::I32, 32);
        for off in [16, 8, 4, 2, 1] {
            let d = k.int(Scalar::I32, off);
            let o = k.b.emit(
                Op::WarpShuffle {
                    kind: Shuffle::Down,
                    mask,
                    value: v,
                    lane: d,
                    width,
                },
                Type::Scalar(s),
            );
            v = k.bin(BinaryOp::Add, v, o);
        }
        let w16 = k.int(Scalar::I32, 16);
        let zero = k.int(Scalar::I32, 0);
        let one = k.int(Scalar::I32, 1);
        for (kind, lane, width) in [
            (Shuffle::Idx, zero, width),
            (Shuffle::Up, one, w16),
            (Shuffle::Xor, one, width),
        ] {
            let o = k.b.emit(
                Op::WarpShuffle {
                    kind,
                    mask,
                    value: v,
                    lane,
                    width,
                },
                Type::Scalar(s),
            );
            v = k.bin(BinaryOp::Add, v, o);
        }
        k.store(p[1], &[i], v);
    })
}

#[test]
fn warp_shuffles() {
    for s in [
        Scalar::I32,
        Scalar::F32,
        Scalar::I64,
        Scalar::F64,
        Scalar::U32,
    ] {
        let (ptx, report, _) = check(
            &shuffle_reduce(s),
            &[
                "shfl.sync.down.b32",
                "shfl.sync.idx.b32",
                "shfl.sync.up.b32",
                "shfl.sync.bfly.b32",
            ],
        );
        if s.size() == 8 {
            // Two 32-bit shuffles per 64-bit value.
            assert!(ptx.text.matches("shfl.sync.down.b32").count() >= 10);
        }
        if s == Scalar::F64 {
            println!("warp_sum_float64 ptxas -v:\n{report}");
        }
    }
}

#[test]
fn votes_syncwarp_barrier_reductions_and_fences() {
    check(
        &kernels::votes(),
        &[
            "vote.sync.all.pred",
            "vote.sync.any.pred",
            "vote.sync.ballot.b32",
            "bar.warp.sync",
            "%laneid",
            "bar.red.popc.u32",
            "bar.red.and.pred",
            "bar.red.or.pred",
            "membar.cta",
            "membar.gl",
            "membar.sys",
        ],
    );
}

#[test]
fn geometry_all_axes() {
    let f = kernel("geometry", vec![a1(Scalar::I32)], |k, p| {
        let mut acc = k.int(Scalar::I32, 0);
        for g in [
            Geometry::ThreadIdx,
            Geometry::BlockIdx,
            Geometry::BlockDim,
            Geometry::GridDim,
        ] {
            for a in Axis::ALL {
                let x = k.geo(g, a);
                acc = k.bin(BinaryOp::Add, acc, x);
            }
        }
        let i = k.grid1();
        k.store(p[0], &[i], acc);
    });
    let expect: Vec<String> = ["tid", "ctaid", "ntid", "nctaid"]
        .iter()
        .flat_map(|r| ["x", "y", "z"].map(|a| format!("%{r}.{a}")))
        .collect();
    let expect: Vec<&str> = expect.iter().map(|s| s.as_str()).collect();
    check(&f, &expect);
}

#[test]
fn bit_functions() {
    let f = kernel(
        "bits",
        vec![a1(Scalar::U32), a1(Scalar::I64), a1(Scalar::I32)],
        |k, p| {
            let i = k.grid1();
            let x = k.load(p[0], &[i]);
            let y = k.load(p[1], &[i]);
            let mut acc = k.int(Scalar::I32, 0);
            for v in [x, y] {
                for f in [BitFn::Popc, BitFn::Clz, BitFn::Ffs] {
                    let r = k.b.emit(Op::Bit(f, v), Type::Scalar(Scalar::I32));
                    acc = k.bin(BinaryOp::Add, acc, r);
                }
            }
            let bx = k.b.emit(Op::Bit(BitFn::Brev, x), Type::Scalar(Scalar::U32));
            let by = k.b.emit(Op::Bit(BitFn::Brev, y), Type::I64);
            k.store(p[0], &[i], bx);
            k.store(p[1], &[i], by);
            k.store(p[2], &[i], acc);
        },
    );
    check(
        &f,
        &[
            "popc.b32", "popc.b64", "clz.b32", "clz.b64", "brev.b32", "brev.b64",
        ],
    );
}

#[test]
fn local_const_and_dynamic_shared_arrays() {
    let table: Vec<f32> = vec![1.0, 2.5, -3.0, 4.25];
    let data: Vec<u8> = table.iter().flat_map(|x| x.to_le_bytes()).collect();
    let f = kernel("arrays", vec![a1(Scalar::F64), a1(Scalar::F32)], |k, p| {
        let loc = k.b.emit(
            Op::LocalArray {
                dtype: Scalar::F64,
                shape: vec![16],
            },
            Type::Array {
                dtype: Scalar::F64,
                ndim: 1,
                layout: Layout::C,
                space: Space::Local,
            },
        );
        let cst = k.b.emit(
            Op::ConstArray {
                dtype: Scalar::F32,
                shape: vec![4],
                data,
            },
            Type::Array {
                dtype: Scalar::F32,
                ndim: 1,
                layout: Layout::C,
                space: Space::Constant,
            },
        );
        let dynsh = k.b.emit(
            Op::SharedArray {
                dtype: Scalar::F32,
                shape: vec![0],
                dynamic: true,
            },
            Type::Array {
                dtype: Scalar::F32,
                ndim: 1,
                layout: Layout::C,
                space: Space::Shared,
            },
        );
        let i = k.grid1();
        let t = k.tid();
        let x = k.load(p[0], &[i]);
        let n16 = k.i64(16);
        // loc[j] = x * j for j in range(16); then read loc[x-dependent index].
        for_range(&mut k.b, n16, |b, j| {
            let jf = b.emit(Op::Cast(j), Type::F64);
            let v = b.emit(Op::Binary(BinaryOp::Mul, x, jf), Type::F64);
            b.push(Stmt::ArrayStore {
                array: loc,
                indices: vec![j],
                value: v,
                loc: Loc::default(),
            });
        });
        let m15 = k.i64(15);
        let j = k.bin(BinaryOp::BitAnd, i, m15);
        let lv = k.load(loc, &[j]);
        let m3 = k.i64(3);
        let c = k.bin(BinaryOp::BitAnd, i, m3);
        let cv = k.load(cst, &[c]);
        let cv = k.cast(cv, Scalar::F64);
        let s = k.bin(BinaryOp::Add, lv, cv);
        let sf = k.cast(s, Scalar::F32);
        k.store(dynsh, &[t], sf);
        k.barrier();
        let n = k.len(dynsh);
        let one = k.i64(1);
        let last = k.bin(BinaryOp::Sub, n, one);
        let r = k.load(dynsh, &[last]);
        k.store(p[1], &[i], r);
    });
    check(
        &f,
        &[
            ".local",
            ".const .align 16 .b8",
            "ld.const.f32",
            ".extern .shared .align 16 .b8 __hypersonic_dynamic_shared[]",
            "%dynamic_smem_size",
            "st.shared.f32",
        ],
    );
}

/// Every `MathFn` on `s`, each result stored (predicates as 0/1).
fn all_math(s: Scalar) -> Module {
    use MathFn::*;
    let fns = [
        Sin, Cos, Tan, Asin, Acos, Atan, Atan2, Sinh, Cosh, Tanh, Asinh, Acosh, Atanh, Exp, Exp2,
        Expm1, Log, Log2, Log10, Log1p, Sqrt, Cbrt, Pow, Hypot, Floor, Ceil, Trunc, Rint, Fabs,
        Fmod, Copysign, Erf, Erfc, Gamma, Lgamma, Nextafter, Ldexp, IsNan, IsInf, IsFinite,
        Signbit, Fma,
    ];
    kernel(&format!("math_{s}"), vec![a1(s), a1(s)], |k, p| {
        let i = k.grid1();
        let x = k.load(p[0], &[i]);
        let one = k.i64(1);
        let i1 = k.bin(BinaryOp::Add, i, one);
        let y = k.load(p[0], &[i1]);
        let n = k.cast(y, Scalar::I32);
        for (j, f) in fns.into_iter().enumerate() {
            let args = match f.arity() {
                1 => vec![x],
                2 if f == Ldexp => vec![x, n],
                2 => vec![x, y],
                _ => vec![x, y, x],
            };
            let rt = if f.is_predicate() {
                Type::BOOL
            } else {
                Type::Scalar(s)
            };
            let mut r = k.b.emit(Op::Math(f, args), rt);
            if f.is_predicate() {
                r = k.cast(r, s);
            }
            let base = k.i64(j as i64 * 1024);
            let at = k.bin(BinaryOp::Add, base, i);
            k.store(p[1], &[at], r);
        }
        // Python's float `%` and `//`, `**`, NumPy's NaN-propagating min/max.
        for o in [
            BinaryOp::Mod,
            BinaryOp::FloorDiv,
            BinaryOp::Pow,
            BinaryOp::Min,
            BinaryOp::Max,
        ] {
            let r = k.bin(o, x, y);
            k.store(p[1], &[i], r);
        }
    })
}

#[test]
fn every_math_function_through_libdevice() {
    for s in [Scalar::F32, Scalar::F64] {
        let (ptx, report, times) = check(&all_math(s), &[]);
        assert!(!ptx.text.contains("__nv_"), "libdevice left a call");
        if s == Scalar::F64 {
            println!("math_float64 ptxas -v:\n{report}");
            println!("compile_ptx times (every math fn, f64): {:?}", times);
        }
    }
}

#[test]
fn complex_arithmetic() {
    for s in [Scalar::C64, Scalar::C128] {
        let f = kernel(
            &format!("complex_{s}"),
            vec![a1(s), a1(s), Type::Scalar(s)],
            |k, p| {
                let i = k.grid1();
                let x = k.load(p[0], &[i]);
                let mut acc = p[2];
                for o in [
                    BinaryOp::Add,
                    BinaryOp::Sub,
                    BinaryOp::Mul,
                    BinaryOp::Div,
                    BinaryOp::Pow,
                ] {
                    let r = k.bin(o, x, acc);
                    acc = k.bin(BinaryOp::Add, acc, r);
                }
                let re = k.b.emit(Op::ComplexReal(acc), Type::Scalar(s.component()));
                let im = k.b.emit(Op::ComplexImag(x), Type::Scalar(s.component()));
                let h = k.b.emit(
                    Op::Math(MathFn::Hypot, vec![re, im]),
                    Type::Scalar(s.component()),
                );
                let c = k.b.emit(Op::ComplexNew(h, re), Type::Scalar(s));
                let acc = k.bin(BinaryOp::Add, acc, c);
                k.store(p[1], &[i], acc);
            },
        );
        let (ptx, _, _) = check(&f, &[]);
        // complex64 takes one slot, complex128 two.
        let slots = if s == Scalar::C64 { 7 } else { 8 };
        assert_eq!(ptx.param_slots, slots);
        assert_eq!(ptx.text.matches(".param .u64").count(), slots);
    }
}

#[test]
fn device_function_call_and_raise() {
    let m = kernels::calls();
    let (ptx, _, _) = check(
        &m,
        &[
            ".visible .global .align 4 .u32 __hypersonic_status",
            "atom.global.cas.b32",
            "sqrt.rn.f64",
        ],
    );
    assert_eq!(ptx.entry_name, "calls");
}

#[test]
fn device_function_mode() {
    let m = module(vec![kernels::calls_helper()], kernels::calls_exceptions());
    for cc in ARCHES {
        let ptx = compile_ptx(&m, &opts(cc), true).expect("compiles");
        assert!(ptx.text.contains(".visible .func"), "{}", ptx.text);
        assert!(ptx.text.contains("helper("), "{}", ptx.text);
        assert!(!ptx.text.contains(".entry"));
        assemble(&ptx, cc);
    }
}

#[test]
fn scalar_and_tuple_parameters() {
    let params = vec![
        Type::BOOL,
        Type::Scalar(Scalar::I8),
        Type::Scalar(Scalar::U16),
        Type::Scalar(Scalar::I32),
        Type::Scalar(Scalar::F32),
        Type::Tuple(vec![Type::I64, Type::F64]),
        Type::array(Scalar::F64, 2, Layout::A),
    ];
    let f = kernel("scalars", params.clone(), |k, p| {
        let a = k.cast(p[0], Scalar::F64);
        let b = k.cast(p[1], Scalar::F64);
        let c = k.cast(p[2], Scalar::F64);
        let d = k.cast(p[3], Scalar::F64);
        let e = k.cast(p[4], Scalar::F64);
        let t0 = k.b.emit(Op::TupleGet(p[5], 0), Type::I64);
        let t1 = k.b.emit(Op::TupleGet(p[5], 1), Type::F64);
        let t0 = k.cast(t0, Scalar::F64);
        let mut s = a;
        for v in [b, c, d, e, t0, t1] {
            s = k.bin(BinaryOp::Add, s, v);
        }
        let i = k.grid1();
        let z = k.i64(0);
        k.store(p[6], &[i, z], s);
    });
    let (ptx, _, _) = check(&f, &["st.global.f64"]);
    let slots = abi::args_slots(&params);
    assert_eq!(slots, 12);
    assert_eq!(ptx.param_slots, slots);
    assert_eq!(ptx.text.matches(".param .u64").count(), slots);
}

#[test]
fn unsupported_architecture_is_an_error() {
    let m = kernels::vecadd(Scalar::F32);
    let e = compile_ptx(&m, &opts((5, 2)), false).unwrap_err();
    assert!(e.to_string().contains("sm_70"), "{e}");
}

#[test]
fn compile_times() {
    // Warm up (target initialisation, reading libdevice once).
    let math = all_math(Scalar::F64);
    let simple = kernels::vecadd(Scalar::F32);
    compile_ptx(&math, &opts((8, 0)), false).unwrap();
    let one_fn = kernel("sin_exp", vec![a1(Scalar::F32)], |k, p| {
        let i = k.grid1();
        let x = k.load(p[0], &[i]);
        let s =
            k.b.emit(Op::Math(MathFn::Sin, vec![x]), Type::Scalar(Scalar::F32));
        let e =
            k.b.emit(Op::Math(MathFn::Exp, vec![s]), Type::Scalar(Scalar::F32));
        k.store(p[0], &[i], e);
    });
    for (name, m) in [
        ("vecadd_float32", &simple),
        ("sin_exp float32 (libdevice)", &one_fn),
        ("math_float64 (42 functions)", &math),
    ] {
        let mut best = None::<std::time::Duration>;
        let mut last = None;
        for _ in 0..5 {
            let t = std::time::Instant::now();
            let p = compile_ptx_timed(m, &opts((8, 0)), false).unwrap();
            let d = t.elapsed();
            best = Some(best.map_or(d, |b| b.min(d)));
            last = Some(p.1);
        }
        println!(
            "compile_ptx {name}: best {:?} of 5; stages {:?}",
            best.unwrap(),
            last.unwrap()
        );
    }
}

#[test]
fn integer_arithmetic_and_casts() {
    for s in [Scalar::I32, Scalar::I64, Scalar::U64, Scalar::U8] {
        let f = kernel(
            &format!("ints_{s}"),
            vec![a1(s), a1(Scalar::F64)],
            |k, p| {
                let i = k.grid1();
                let x = k.load(p[0], &[i]);
                let one = k.i64(1);
                let i1 = k.bin(BinaryOp::Add, i, one);
                let y = k.load(p[0], &[i1]);
                let mut acc = x;
                for o in kernels::INT_BINARY_OPS {
                    let r = k.bin(o, acc, y);
                    acc = k.bin(BinaryOp::Add, acc, r);
                }
                let neg = k.b.emit(Op::Unary(UnaryOp::Neg, acc), Type::Scalar(s));
                let abs = k.b.emit(Op::Unary(UnaryOp::Abs, neg), Type::Scalar(s));
                k.store(p[0], &[i], abs);
                // float -> int saturates, int -> float.
                let d = k.load(p[1], &[i]);
                let di = k.cast(d, s);
                let back = k.cast(di, Scalar::F64);
                k.store(p[1], &[i], back);
            },
        );
        check(&f, &[]);
    }
}

#[test]
fn fastmath_and_opt_levels() {
    let m = all_math(Scalar::F32);
    for (fastmath, opt_level) in [(true, 3), (false, 0), (false, 1), (true, 2)] {
        let o = PtxOptions {
            fastmath,
            opt_level,
            ..opts((8, 0))
        };
        let ptx = compile_ptx(&m, &o, false)
            .unwrap_or_else(|e| panic!("fastmath={fastmath} O{opt_level}: {e}"));
        assert!(!ptx.text.contains("__nvvm_reflect"));
        if fastmath {
            // libdevice's flush-to-zero variants, through __nvvm_reflect("__CUDA_FTZ").
            assert!(ptx.text.contains(".ftz.f32"), "{}", ptx.text);
        }
        assemble(&ptx, (8, 0));
    }
}

#[test]
fn narrow_atomics_are_an_error_not_a_crash() {
    let f = kernel("narrow", vec![a1(Scalar::I16)], |k, p| {
        let i = k.grid1();
        let one = k.int(Scalar::I16, 1);
        k.atomic(AtomicOp::Add, p[0], i, one);
    });
    let e = compile_ptx(&f, &opts((8, 0)), false).unwrap_err();
    assert!(e.to_string().contains("int16"), "{e}");
}

/// The tiled matrix multiply of the kernel suite: 2-D shared tiles, 2-D grid,
/// a loop over tiles with two barriers per iteration.
#[test]
fn tiled_matmul_with_2d_shared_tiles() {
    let f = kernels::matmul_tiled(Scalar::F32);
    let (_, report, _) = check(
        &f,
        &[
            "bar.sync",
            "ld.shared.f32",
            "st.shared.f32",
            "%tid.y",
            "%ctaid.y",
        ],
    );
    println!("matmul_tiled ptxas -v:\n{report}");
}
