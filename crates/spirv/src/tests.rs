//! Tests: kernels built by hand in IR; every module must pass
//! `spirv-val --target-env vulkan1.2` (Debian's `spirv-tools`).

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use hypersonic_ir::*;
use hypersonic_testkit::{arr, kernels, Case, F32, I32, K};

use crate::*;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Runs `spirv-val` on the module; panics with the disassembly on failure.
fn validate(m: &SpirvModule) {
    let dir = std::env::temp_dir();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!(
        "hypersonic-spirv-test-{}-{n}-{}.spv",
        std::process::id(),
        m.entry_name
    ));
    let bytes: Vec<u8> = m.words.iter().flat_map(|w| w.to_le_bytes()).collect();
    std::fs::write(&path, bytes).expect("write the SPIR-V to a temporary file");
    let out = Command::new("spirv-val")
        .args(["--target-env", "vulkan1.2"])
        .arg(&path)
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => panic!(
            "spirv-val could not be run ({e}): install SPIRV-Tools (Debian/Ubuntu: \
             `apt-get install spirv-tools`) — every SPIR-V module must be validated"
        ),
    };
    if !out.status.success() {
        let dis = Command::new("spirv-dis")
            .arg(&path)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_else(|e| format!("(spirv-dis failed: {e})"));
        let _ = std::fs::remove_file(&path);
        panic!(
            "spirv-val rejected `{}`:\n{}{}\n--- disassembly ---\n{dis}",
            m.entry_name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if let Some(dir) = std::env::var_os("HYPERSONIC_SPIRV_DUMP") {
        let _ = std::fs::copy(
            &path,
            std::path::Path::new(&dir).join(format!("{}.spv", m.entry_name)),
        );
    }
    let _ = std::fs::remove_file(&path);
}

fn compile_ok(m: &Module, opts: &SpirvOptions) -> SpirvModule {
    let t = std::time::Instant::now();
    let r = compile_spirv(m, opts).unwrap_or_else(|e| panic!("compile_spirv failed: {e}"));
    let dt = t.elapsed();
    eprintln!(
        "{}: {} words in {:.3} ms",
        r.entry_name,
        r.words.len(),
        dt.as_secs_f64() * 1e3
    );
    validate(&r);
    r
}

/// Compiles for subgroups of 32, 64 and 8 (native, halves, emulated).
fn compile_all(m: &Module) -> SpirvModule {
    let mut last = None;
    for sg in [32, 64, 8, 16] {
        let opts = SpirvOptions {
            subgroup_size: sg,
            ..SpirvOptions::default()
        };
        last = Some(compile_ok(m, &opts));
    }
    last.unwrap()
}

/// Every kernel of the suite compiles and validates in each subgroup mode.
fn spirv_case(case: Case) {
    compile_all(&case.module);
}

mod suite {
    hypersonic_testkit::suite!(super::spirv_case);
}

fn vadd(s: Scalar) -> Module {
    kernels::vecadd(s)
}

#[test]
fn vector_add_f32_and_f64() {
    let m = compile_all(&vadd(Scalar::F32));
    assert_eq!(m.param_slots, 9);
    assert!(m.slots_in_push_constants);
    assert_eq!(m.push_constant_bytes, 80);
    assert_eq!(m.subgroup_size, None);
    assert!(!m.required_features.contains(&"shaderFloat64".to_string()));
    let m = compile_all(&vadd(Scalar::F64));
    assert!(m.required_features.contains(&"shaderFloat64".to_string()));
    let no_f64 = SpirvOptions {
        float64: false,
        ..SpirvOptions::default()
    };
    match compile_spirv(&vadd(Scalar::F64), &no_f64) {
        Err(SpirvError::MissingFeature { feature, .. }) => assert!(feature.contains("float64")),
        r => panic!("expected a missing float64 feature, got {r:?}"),
    }
    // Every other dtype too, including the 8/16-bit ones and complex numbers.
    for s in Scalar::ALL {
        if s != Scalar::Bool {
            compile_ok(&vadd(s), &SpirvOptions::default());
        }
    }
}

#[test]
fn slots_in_a_buffer_when_push_constants_are_too_small() {
    let opts = SpirvOptions {
        max_push_constant_bytes: 64,
        ..SpirvOptions::default()
    };
    let m = compile_ok(&vadd(Scalar::F32), &opts);
    assert!(!m.slots_in_push_constants);
    assert_eq!(m.push_constant_bytes, 16);
}

#[test]
fn shared_memory_block_reduction() {
    let m = compile_all(&kernels::block_sum(Scalar::F32));
    assert_eq!(m.static_shared_bytes, 1024);
}

/// The suite's histogram counting in `s` on global and shared memory, with
/// native float atomic adds or not.
fn histogram(s: Scalar, native_float: bool) -> (Module, SpirvOptions) {
    let opts = SpirvOptions {
        atomic_float32_add: native_float,
        atomic_float64_add: native_float,
        ..SpirvOptions::default()
    };
    (kernels::histogram(s, s, 16), opts)
}

#[test]
fn atomic_histograms() {
    let (m, o) = histogram(Scalar::I32, false);
    compile_ok(&m, &o);
    let (m, o) = histogram(Scalar::F32, false);
    let sm = compile_ok(&m, &o);
    assert!(!sm
        .required_features
        .contains(&"shaderBufferFloat32AtomicAdd".to_string()));
    let (m, o) = histogram(Scalar::F32, true);
    let sm = compile_ok(&m, &o);
    assert!(sm
        .required_features
        .contains(&"shaderBufferFloat32AtomicAdd".to_string()));
    let (m, o) = histogram(Scalar::I64, false);
    let sm = compile_ok(&m, &o);
    assert!(sm
        .required_features
        .contains(&"shaderBufferInt64Atomics".to_string()));
    let (m, o) = histogram(Scalar::F64, false);
    compile_ok(&m, &o);
    let (m, o) = histogram(Scalar::U32, false);
    compile_ok(&m, &o);
}

/// Every atomic operation on every atomic dtype, global, shared and local.
#[test]
fn every_atomic() {
    for s in [
        Scalar::I32,
        Scalar::U32,
        Scalar::I64,
        Scalar::U64,
        Scalar::F32,
        Scalar::F64,
    ] {
        for space in [Space::Global, Space::Shared, Space::Local] {
            let mut k = K::new(&format!("atomics_{s}_{space:?}"), vec![arr(s, 1)]);
            let g = k.param(0);
            let a = match space {
                Space::Global => g,
                Space::Shared => k.e(
                    Op::SharedArray {
                        dtype: s,
                        shape: vec![8],
                        dynamic: false,
                    },
                    Type::Array {
                        dtype: s,
                        ndim: 1,
                        layout: Layout::C,
                        space,
                    },
                ),
                _ => k.e(
                    Op::LocalArray {
                        dtype: s,
                        shape: vec![8],
                    },
                    Type::Array {
                        dtype: s,
                        ndim: 1,
                        layout: Layout::C,
                        space,
                    },
                ),
            };
            let z = k.i64(0);
            let v = if s.is_float() {
                k.float(s, 2.5)
            } else {
                k.int(s, 3)
            };
            let mut acc = v;
            let ops: &[AtomicOp] = if s.is_float() {
                &[
                    AtomicOp::Add,
                    AtomicOp::Sub,
                    AtomicOp::Max,
                    AtomicOp::Min,
                    AtomicOp::Exch,
                ]
            } else if s.is_unsigned_int() {
                &[
                    AtomicOp::Add,
                    AtomicOp::Sub,
                    AtomicOp::Max,
                    AtomicOp::Min,
                    AtomicOp::And,
                    AtomicOp::Or,
                    AtomicOp::Xor,
                    AtomicOp::Exch,
                    AtomicOp::Inc,
                    AtomicOp::Dec,
                ]
            } else {
                &[
                    AtomicOp::Add,
                    AtomicOp::Sub,
                    AtomicOp::Max,
                    AtomicOp::Min,
                    AtomicOp::And,
                    AtomicOp::Or,
                    AtomicOp::Xor,
                    AtomicOp::Exch,
                ]
            };
            for op in ops {
                let r = k.e(
                    Op::Atomic {
                        op: *op,
                        array: a,
                        indices: vec![z],
                        value: v,
                    },
                    Type::Scalar(s),
                );
                acc = k.bin(BinaryOp::Add, acc, r);
            }
            let r = k.e(
                Op::AtomicCas {
                    array: a,
                    indices: vec![z],
                    expected: acc,
                    desired: v,
                },
                Type::Scalar(s),
            );
            let one = k.i64(1);
            k.store(g, &[one], r);
            let m = k.finish();
            compile_ok(&m, &SpirvOptions::default());
            compile_ok(
                &m,
                &SpirvOptions {
                    atomic_float32_add: true,
                    atomic_float64_add: true,
                    ..SpirvOptions::default()
                },
            );
        }
    }
    // Atomics on small integers are refused clearly.
    let mut k = K::new("atomic_i8", vec![arr(Scalar::I8, 1)]);
    let a = k.param(0);
    let z = k.i64(0);
    let v = k.int(Scalar::I8, 1);
    k.e(
        Op::Atomic {
            op: AtomicOp::Add,
            array: a,
            indices: vec![z],
            value: v,
        },
        Type::Scalar(Scalar::I8),
    );
    let e = compile_spirv(&k.finish(), &SpirvOptions::default()).unwrap_err();
    assert!(e.to_string().contains("int8"), "{e}");
}

#[test]
fn warp_shuffle_reduction_in_each_subgroup_mode() {
    let m = kernels::warp_sum(Scalar::F64);
    for (sg, req, per_thread) in [
        (32, Some(32), 0),
        (64, Some(64), 0),
        (8, None, 8),
        (16, None, 8),
    ] {
        let opts = SpirvOptions {
            subgroup_size: sg,
            ..SpirvOptions::default()
        };
        let r = compile_ok(&m, &opts);
        assert_eq!(r.subgroup_size, req, "subgroup size {sg}");
        assert_eq!(r.shared_bytes_per_thread, per_thread, "subgroup size {sg}");
    }
}

#[test]
fn every_shuffle_kind_and_type() {
    for s in [
        Scalar::I32,
        Scalar::U32,
        Scalar::F32,
        Scalar::I64,
        Scalar::U64,
        Scalar::F64,
    ] {
        let mut k = K::new(&format!("shuffles_{s}"), vec![arr(s, 1)]);
        let a = k.param(0);
        let i = k.grid1();
        let mut v = k.load(a, &[i]);
        for kind in [Shuffle::Idx, Shuffle::Up, Shuffle::Down, Shuffle::Xor] {
            for width in [32, 16, 4] {
                let mask = k.int(Scalar::U32, 0xffff_ffff);
                let lane = k.i32(3);
                let w = k.i32(width);
                let r = k.e(
                    Op::WarpShuffle {
                        kind,
                        mask,
                        value: v,
                        lane,
                        width: w,
                    },
                    Type::Scalar(s),
                );
                v = k.bin(BinaryOp::Add, v, r);
            }
        }
        k.store(a, &[i], v);
        compile_all(&k.finish());
    }
}

#[test]
fn votes_barrier_reductions_fences() {
    let m = compile_all(&kernels::votes());
    assert_eq!(m.static_shared_bytes, 4);
    let r = compile_ok(&kernels::votes(), &SpirvOptions::default());
    assert!(r.required_features.contains(&"subgroupBallot".to_string()));
    assert!(r
        .required_features
        .contains(&"storageBuffer8BitAccess".to_string()));
}

#[test]
fn emulated_warp_function_under_thread_dependent_control_is_an_error() {
    let mut k = K::new("divergent_shuffle", vec![arr(Scalar::F32, 1)]);
    let a = k.param(0);
    let i = k.grid1();
    let t = k.geo(Geometry::ThreadIdx, Axis::X);
    let c32 = k.i32(32);
    let c = k.cmp(CmpOp::Lt, t, c32);
    k.if_(c, |k| {
        let x = k.load(a, &[i]);
        let mask = k.int(Scalar::U32, 0xffff_ffff);
        let one = k.i32(1);
        let w = k.i32(32);
        let r = k.e(
            Op::WarpShuffle {
                kind: Shuffle::Xor,
                mask,
                value: x,
                lane: one,
                width: w,
            },
            F32,
        );
        k.store(a, &[i], r);
    });
    let m = k.finish();
    // Native subgroups: fine.
    compile_ok(&m, &SpirvOptions::default());
    let e = compile_spirv(
        &m,
        &SpirvOptions {
            subgroup_size: 8,
            ..SpirvOptions::default()
        },
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("warp shuffle") && msg.contains("differs between threads"),
        "{msg}"
    );
}

#[test]
fn local_const_and_dynamic_shared_arrays() {
    let mut k = K::new("arrays", vec![arr(Scalar::F32, 1), arr(Scalar::I16, 1)]);
    let (out, small) = (k.param(0), k.param(1));
    let i = k.grid1();
    let lt = Type::Array {
        dtype: Scalar::F32,
        ndim: 2,
        layout: Layout::C,
        space: Space::Local,
    };
    let loc = k.e(
        Op::LocalArray {
            dtype: Scalar::F32,
            shape: vec![4, 3],
        },
        lt.clone(),
    );
    // Through a local variable, as the front end writes `a = cuda.local.array(...)`.
    let var = k.b.add_local("loc", lt.clone());
    k.b.push(Stmt::Store {
        local: var,
        value: loc,
    });
    let loc2 = k.e(Op::LoadLocal(var), lt);
    let data: Vec<u8> = [1.5f64, -2.0, 3.25, 4.0]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let ct = k.e(
        Op::ConstArray {
            dtype: Scalar::F64,
            shape: vec![4],
            data,
        },
        Type::Array {
            dtype: Scalar::F64,
            ndim: 1,
            layout: Layout::C,
            space: Space::Constant,
        },
    );
    let bools = k.e(
        Op::ConstArray {
            dtype: Scalar::Bool,
            shape: vec![3],
            data: vec![1, 0, 1],
        },
        Type::Array {
            dtype: Scalar::Bool,
            ndim: 1,
            layout: Layout::C,
            space: Space::Constant,
        },
    );
    let dyn_t = Type::Array {
        dtype: Scalar::F32,
        ndim: 1,
        layout: Layout::C,
        space: Space::Shared,
    };
    let dynsh = k.e(
        Op::SharedArray {
            dtype: Scalar::F32,
            shape: vec![0],
            dynamic: true,
        },
        dyn_t.clone(),
    );
    let dynsh2 = k.e(
        Op::SharedArray {
            dtype: Scalar::F32,
            shape: vec![0],
            dynamic: true,
        },
        dyn_t,
    );
    let dn = k.e(Op::ArrayDim(dynsh, 0), Type::I64);
    let z = k.i64(0);
    let four = k.i64(4);
    let three = k.i64(3);
    k.range(z, four, |k, r| {
        let z = k.i64(0);
        k.range(z, three, |k, c| {
            let cv = k.load(ct, &[r]);
            let cf = k.cast(cv, Scalar::F32);
            let cc = k.cast(c, Scalar::F32);
            let v = k.bin(BinaryOp::Mul, cf, cc);
            k.store(loc2, &[r, c], v);
        });
    });
    let row = k.e(
        Op::SubArray(loc2, vec![three]),
        Type::Array {
            dtype: Scalar::F32,
            ndim: 1,
            layout: Layout::C,
            space: Space::Local,
        },
    );
    let one = k.i64(1);
    let x = k.load(row, &[one]);
    let t32 = k.geo(Geometry::ThreadIdx, Axis::X);
    let t = k.cast(t32, Scalar::I64);
    let inb = k.cmp(CmpOp::Lt, t, dn);
    k.if_(inb, |k| k.store(dynsh, &[t], x));
    k.b.push(Stmt::Barrier {
        loc: Loc::default(),
    });
    let y = k.load(dynsh2, &[z]);
    let two = k.i64(2);
    let flag = k.load(bools, &[two]);
    let s = k.bin(BinaryOp::Add, x, y);
    let s = k.e(Op::Select(flag, s, x), F32);
    k.store(out, &[i], s);
    let sv = k.load(small, &[i]);
    let sv2 = k.bin(BinaryOp::Mul, sv, sv);
    k.store(small, &[i], sv2);
    let m = compile_all(&k.finish());
    assert_eq!(m.static_shared_bytes, 0);
    assert!(m
        .required_features
        .contains(&"storageBuffer16BitAccess".to_string()));
}

#[test]
fn complex_arithmetic() {
    for s in [Scalar::C64, Scalar::C128] {
        let mut k = K::new(&format!("complex_{s}"), vec![arr(s, 1), Type::Scalar(s)]);
        let (a, c) = (k.param(0), k.param(1));
        let i = k.grid1();
        let x = k.load(a, &[i]);
        let mut v = x;
        for o in [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div] {
            v = k.bin(o, v, c);
        }
        let f = Type::Scalar(s.component());
        let re = k.e(Op::ComplexReal(v), f.clone());
        let im = k.e(Op::ComplexImag(v), f.clone());
        let w = k.e(Op::ComplexNew(im, re), Type::Scalar(s));
        let eq = k.cmp(CmpOp::Eq, v, w);
        let ne = k.cmp(CmpOp::Ne, v, w);
        let b = k.bin(BinaryOp::BitXor, eq, ne);
        let w = k.e(Op::Select(b, v, w), Type::Scalar(s));
        let n = k.e(Op::Unary(UnaryOp::Neg, w), Type::Scalar(s));
        let other = if s == Scalar::C64 {
            Scalar::C128
        } else {
            Scalar::C64
        };
        let conv = k.cast(n, other);
        let back = k.cast(conv, s);
        let fl = k.cast(back, s.component());
        let back2 = k.cast(fl, s);
        let t = k.cast(back2, Scalar::Bool);
        let tc = k.cast(t, s);
        let r = k.bin(BinaryOp::Add, back2, tc);
        if s == Scalar::C64 {
            // Complex power through real math (complex128 needs float64 math).
            let p = k.bin(BinaryOp::Pow, r, c);
            k.store(a, &[i], p);
        } else {
            k.store(a, &[i], r);
        }
        compile_ok(&k.finish(), &SpirvOptions::default());
    }
}

#[test]
fn every_math_function_on_f32_and_f64() {
    for (s, m) in math_kernels(&ALL_MATH) {
        let r = compile_ok(&m, &SpirvOptions::default());
        assert_eq!(
            r.required_features.contains(&"shaderFloat64".to_string()),
            s == Scalar::F64 || ALL_MATH.iter().any(|f| !crate::prepare::native_math(*f, s)),
        );
    }
}

const ALL_MATH: [MathFn; 42] = [
    MathFn::Sin,
    MathFn::Cos,
    MathFn::Tan,
    MathFn::Asin,
    MathFn::Acos,
    MathFn::Atan,
    MathFn::Atan2,
    MathFn::Sinh,
    MathFn::Cosh,
    MathFn::Tanh,
    MathFn::Asinh,
    MathFn::Acosh,
    MathFn::Atanh,
    MathFn::Exp,
    MathFn::Exp2,
    MathFn::Expm1,
    MathFn::Log,
    MathFn::Log2,
    MathFn::Log10,
    MathFn::Log1p,
    MathFn::Sqrt,
    MathFn::Cbrt,
    MathFn::Pow,
    MathFn::Hypot,
    MathFn::Floor,
    MathFn::Ceil,
    MathFn::Trunc,
    MathFn::Rint,
    MathFn::Fabs,
    MathFn::Fmod,
    MathFn::Copysign,
    MathFn::Nextafter,
    MathFn::Ldexp,
    MathFn::IsNan,
    MathFn::IsInf,
    MathFn::IsFinite,
    MathFn::Signbit,
    MathFn::Fma,
    MathFn::Erf,
    MathFn::Erfc,
    MathFn::Gamma,
    MathFn::Lgamma,
];

/// A kernel applying each of `fns` in turn (on float32 and on float64).
fn math_kernels(fns: &[MathFn]) -> Vec<(Scalar, Module)> {
    let mut out = vec![];
    for s in [Scalar::F32, Scalar::F64] {
        let mut k = K::new(&format!("math_{s}"), vec![arr(s, 1), arr(Scalar::Bool, 1)]);
        let (a, flags) = (k.param(0), k.param(1));
        let i = k.grid1();
        let x = k.load(a, &[i]);
        let mut acc = x;
        let mut b = k.e(Op::Const(Const::Bool(false)), Type::BOOL);
        let mut n = 0;
        for &f in fns {
            n += 1;
            let args = match f {
                MathFn::Ldexp => {
                    let e = k.i32(3);
                    vec![acc, e]
                }
                _ => vec![acc; f.arity()],
            };
            if f.is_predicate() {
                let r = k.e(Op::Math(f, args), Type::BOOL);
                b = k.bin(BinaryOp::BitOr, b, r);
            } else {
                acc = k.e(Op::Math(f, args), Type::Scalar(s));
            }
        }
        for o in [
            BinaryOp::FloorDiv,
            BinaryOp::Mod,
            BinaryOp::Min,
            BinaryOp::Max,
            BinaryOp::Sub,
            BinaryOp::Div,
        ] {
            acc = k.bin(o, acc, x);
        }
        if s == Scalar::F32 {
            acc = k.bin(BinaryOp::Pow, acc, x);
        }
        let ab = k.e(Op::Unary(UnaryOp::Abs, acc), Type::Scalar(s));
        let ng = k.e(Op::Unary(UnaryOp::Neg, ab), Type::Scalar(s));
        k.store(a, &[i], ng);
        k.store(flags, &[i], b);
        eprintln!("{s}: {n} math functions");
        out.push((s, k.finish()));
    }
    out
}

#[test]
fn float32_math_without_float64() {
    let no_f64 = SpirvOptions {
        float64: false,
        ..SpirvOptions::default()
    };
    // What works without float64: GLSL.std.450, our own expm1/log1p, and the
    // library's float64-free fmod, ldexp, nextafter, hypot, cbrt.
    let ok: Vec<MathFn> = ALL_MATH
        .iter()
        .copied()
        .filter(|f| {
            crate::prepare::native_math(*f, Scalar::F32)
                || hypersonic_ir::mathlib::F32_ONLY_FUNCTIONS.contains(f)
        })
        .collect();
    let (s, m) = math_kernels(&ok).remove(0);
    assert_eq!(s, Scalar::F32);
    let r = compile_ok(&m, &no_f64);
    assert!(!r.required_features.contains(&"shaderFloat64".to_string()));
    let (_, m) = math_kernels(&[MathFn::Erf]).remove(0);
    match compile_spirv(&m, &no_f64) {
        Err(SpirvError::MissingFeature { feature, why }) => {
            assert!(
                feature.contains("float64") && why.contains("erf"),
                "{feature}: {why}"
            )
        }
        r => panic!("expected a missing float64 feature, got {r:?}"),
    }
}

/// Integer arithmetic on every integer type, casts between all scalars, bit functions.
#[test]
fn integers_casts_and_bits() {
    let ints = [
        Scalar::I8,
        Scalar::I16,
        Scalar::I32,
        Scalar::I64,
        Scalar::U8,
        Scalar::U16,
        Scalar::U32,
        Scalar::U64,
    ];
    for s in ints {
        let mut k = K::new(&format!("ints_{s}"), vec![arr(s, 1), Type::Scalar(s)]);
        let (a, y) = (k.param(0), k.param(1));
        let i = k.grid1();
        let x = k.load(a, &[i]);
        let mut v = x;
        for o in kernels::INT_BINARY_OPS {
            v = k.bin(o, v, y);
        }
        for u in [UnaryOp::Neg, UnaryOp::Invert, UnaryOp::Abs] {
            v = k.e(Op::Unary(u, v), Type::Scalar(s));
        }
        for c in [
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::Gt,
            CmpOp::Ge,
            CmpOp::Eq,
            CmpOp::Ne,
        ] {
            let b = k.cmp(c, v, y);
            v = k.e(Op::Select(b, v, y), Type::Scalar(s));
        }
        for to in Scalar::ALL {
            let c = k.cast(v, to);
            let back = k.cast(c, s);
            v = k.bin(BinaryOp::Add, v, back);
        }
        if s.size() >= 4 {
            for f in [BitFn::Popc, BitFn::Clz, BitFn::Ffs] {
                let r = k.e(Op::Bit(f, v), I32);
                let r = k.cast(r, s);
                v = k.bin(BinaryOp::Add, v, r);
            }
            v = k.e(Op::Bit(BitFn::Brev, v), Type::Scalar(s));
            let fs = if s.size() == 4 {
                Scalar::F32
            } else {
                Scalar::F64
            };
            let f = k.e(Op::Bitcast(v), Type::Scalar(fs));
            v = k.e(Op::Bitcast(f), Type::Scalar(s));
        }
        k.store(a, &[i], v);
        compile_ok(&k.finish(), &SpirvOptions::default());
    }
    // Bool arithmetic and comparisons, float → int saturation from both widths.
    let mut k = K::new("bools", vec![arr(Scalar::Bool, 1), arr(Scalar::F64, 1)]);
    let (a, f) = (k.param(0), k.param(1));
    let i = k.grid1();
    let x = k.load(a, &[i]);
    let t = k.e(Op::Const(Const::Bool(true)), Type::BOOL);
    let mut v = x;
    for o in [
        BinaryOp::Add,
        BinaryOp::Mul,
        BinaryOp::BitXor,
        BinaryOp::Min,
        BinaryOp::Max,
    ] {
        v = k.bin(o, v, t);
    }
    for c in [
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
        CmpOp::Eq,
        CmpOp::Ne,
    ] {
        v = k.cmp(c, v, x);
    }
    v = k.e(Op::Unary(UnaryOp::Not, v), Type::BOOL);
    let fv = k.load(f, &[i]);
    for s in Scalar::ALL {
        let c = k.cast(fv, s);
        let b = k.cast(c, Scalar::Bool);
        v = k.bin(BinaryOp::BitAnd, v, b);
        let f32v = k.cast(fv, Scalar::F32);
        let c = k.cast(f32v, s);
        let b = k.cast(c, Scalar::Bool);
        v = k.bin(BinaryOp::BitOr, v, b);
    }
    k.store(a, &[i], v);
    compile_ok(&k.finish(), &SpirvOptions::default());
}

/// Tuples (static and dynamic indexing), strided 2-D arrays (layout A and F),
/// tuple parameters, nested control flow with continue/break/return.
#[test]
fn tuples_strided_arrays_and_control_flow() {
    let a2 = Type::array(Scalar::F32, 2, Layout::A);
    let f2 = Type::array(Scalar::F64, 2, Layout::F);
    let tup = Type::Tuple(vec![Type::I64, F32, Type::Scalar(Scalar::C128)]);
    let mut k = K::new("tuples", vec![a2.clone(), f2, tup.clone()]);
    let (a, f, t) = (k.param(0), k.param(1), k.param(2));
    let n0 = k.e(Op::ArrayDim(a, 0), Type::I64);
    let n1 = k.e(Op::ArrayDim(a, 1), Type::I64);
    let st = k.e(Op::ArrayStride(a, 1), Type::I64);
    let t0 = k.e(Op::TupleGet(t, 0), Type::I64);
    let pair = k.e(
        Op::MakeTuple(vec![n0, n1, st, t0]),
        Type::Tuple(vec![Type::I64; 4]),
    );
    let z = k.i64(0);
    k.range(z, n0, |k, r| {
        let z = k.i64(0);
        k.range(z, n1, |k, c| {
            let two = k.i64(2);
            let m = k.bin(BinaryOp::Mod, c, two);
            let z = k.i64(0);
            let even = k.cmp(CmpOp::Eq, m, z);
            // (The loop's increment is skipped by `continue`: only break below ends it.)
            k.if_else(
                even,
                |k| {
                    let d = k.e(Op::TupleIndex(pair, c), Type::I64);
                    let df = k.cast(d, Scalar::F32);
                    k.store(a, &[r, c], df);
                },
                |k| {
                    let v = k.load(f, &[c, r]);
                    let big = k.float(Scalar::F64, 1e9);
                    let over = k.cmp(CmpOp::Gt, v, big);
                    k.if_(over, |k| k.b.push(Stmt::Return { value: None }));
                },
            );
            let row = k.e(
                Op::SubArray(a, vec![r]),
                Type::array(Scalar::F32, 1, Layout::A),
            );
            let x = k.load(row, &[c]);
            let zf = k.float(Scalar::F32, 0.0);
            let neg = k.cmp(CmpOp::Lt, x, zf);
            k.if_(neg, |k| k.b.push(Stmt::Break));
        });
    });
    let tl = k.b.add_local("t", tup.clone());
    k.b.push(Stmt::Store {
        local: tl,
        value: t,
    });
    let t2 = k.e(Op::LoadLocal(tl), tup);
    let c = k.e(Op::TupleGet(t2, 2), Type::Scalar(Scalar::C128));
    let re = k.e(Op::ComplexReal(c), Type::F64);
    let z = k.i64(0);
    k.store(f, &[z, z], re);
    // An infinite loop left only by return.
    k.loop_(|k| {
        let x = k.load(f, &[z, z]);
        let zf = k.float(Scalar::F64, 0.0);
        let c = k.cmp(CmpOp::Ge, x, zf);
        k.if_else(
            c,
            |k| k.b.push(Stmt::Return { value: None }),
            |k| k.b.push(Stmt::Continue),
        );
    });
    compile_all(&k.finish());
}

/// The `spirv-dis --raw-id` text of a module.
fn disassemble(m: &SpirvModule) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!(
        "hypersonic-spirv-dis-{}-{n}.spv",
        std::process::id()
    ));
    let bytes: Vec<u8> = m.words.iter().flat_map(|w| w.to_le_bytes()).collect();
    std::fs::write(&path, bytes).expect("write the SPIR-V to a temporary file");
    let out = Command::new("spirv-dis")
        .arg("--raw-id")
        .arg(&path)
        .output()
        .expect("spirv-dis (SPIRV-Tools) disassembles the module");
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success(), "spirv-dis failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The result ids of the float arithmetic instructions of a disassembly, and
/// the ids decorated `NoContraction`.
fn float_arithmetic_and_no_contraction(
    dis: &str,
) -> (Vec<String>, std::collections::HashSet<String>) {
    let mut arith = vec![];
    let mut decorated = std::collections::HashSet::new();
    for line in dis.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["OpDecorate", id, "NoContraction"] => {
                decorated.insert(id.to_string());
            }
            [id, "=", op, ..]
                if ["OpFAdd", "OpFSub", "OpFMul", "OpFDiv", "OpFNegate"].contains(op) =>
            {
                arith.push(id.to_string())
            }
            _ => {}
        }
    }
    (arith, decorated)
}

/// `out[i] = a[i] * b[i] + c[i]` plus `exp(a[i])` (the software math library on
/// float64) on `s`.
fn mul_add_exp(s: Scalar) -> Module {
    let mut k = K::new(
        &format!("mul_add_exp_{s}"),
        vec![arr(s, 1), arr(s, 1), arr(s, 1), arr(s, 1)],
    );
    let (a, b, c, out) = (k.param(0), k.param(1), k.param(2), k.param(3));
    let i = k.grid1();
    let n = k.e(Op::ArrayDim(out, 0), Type::I64);
    let inb = k.cmp(CmpOp::Lt, i, n);
    k.if_(inb, |k| {
        let (x, y, z) = (k.load(a, &[i]), k.load(b, &[i]), k.load(c, &[i]));
        let p = k.bin(BinaryOp::Mul, x, y);
        let r = k.bin(BinaryOp::Add, p, z);
        let e = k.e(Op::Math(MathFn::Exp, vec![x]), Type::Scalar(s));
        let r = k.bin(BinaryOp::Add, r, e);
        k.store(out, &[i], r);
    });
    k.finish()
}

#[test]
fn float_arithmetic_is_not_contracted_unless_fastmath() {
    for s in [Scalar::F32, Scalar::F64] {
        // Without fastmath: every float operation is rounded on its own.
        let m = compile_ok(&mul_add_exp(s), &SpirvOptions::default());
        let (arith, decorated) = float_arithmetic_and_no_contraction(&disassemble(&m));
        assert!(arith.len() >= 3, "{s}: {arith:?}");
        for id in &arith {
            assert!(decorated.contains(id), "{s}: {id} lacks NoContraction");
        }
        // Under fastmath the kernel's own `a * b + c` may be fused; the math
        // library's arithmetic (float64 `exp`, inlined) may not.
        let fast = SpirvOptions {
            fastmath: true,
            ..SpirvOptions::default()
        };
        let m = compile_ok(&mul_add_exp(s), &fast);
        let (arith, decorated) = float_arithmetic_and_no_contraction(&disassemble(&m));
        let free = arith.iter().filter(|id| !decorated.contains(*id)).count();
        assert_eq!(free, 3, "{s}: the kernel's two adds and one multiply");
        if s == Scalar::F64 {
            assert!(
                arith.len() > 10 && decorated.len() >= arith.len() - 3,
                "{s}: the math library's exp keeps NoContraction ({} of {})",
                decorated.len(),
                arith.len()
            );
        }
    }
}

#[test]
fn grid_size_comes_from_the_push_constants() {
    let m = compile_all(&kernels::grid_size());
    assert!(m.slots_in_push_constants);
    // Three slots and the status address, then x, y, z.
    assert_eq!(m.grid_offset, Some(32));
    assert_eq!(m.push_constant_bytes, 44);
    let dis = disassemble(&m);
    assert!(!dis.contains("NumWorkgroups"), "{dis}");
    assert!(dis.contains(" 6 Offset 40"), "{dis}");
    // No grid: no extra bytes.
    let m = compile_ok(&vadd(Scalar::F32), &SpirvOptions::default());
    assert_eq!((m.grid_offset, m.push_constant_bytes), (None, 80));
    // Slots in a buffer: the two addresses, then the grid.
    let opts = SpirvOptions {
        max_push_constant_bytes: 40,
        ..SpirvOptions::default()
    };
    let m = compile_ok(&kernels::grid_size(), &opts);
    assert!(!m.slots_in_push_constants);
    assert_eq!((m.grid_offset, m.push_constant_bytes), (Some(16), 28));
    let too_small = SpirvOptions {
        max_push_constant_bytes: 24,
        ..SpirvOptions::default()
    };
    assert!(matches!(
        compile_spirv(&kernels::grid_size(), &too_small),
        Err(SpirvError::MissingFeature { .. })
    ));
}
