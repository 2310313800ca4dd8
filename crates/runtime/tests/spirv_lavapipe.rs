//! SPIR-V kernels built in IR, compiled by `hypersonic_spirv` and executed on
//! the Vulkan device (lavapipe in CI): integer semantics, float64 math through
//! the shared math library (in ulps against the host libm), warps emulated on
//! 8-lane subgroups, atomics, local/const/dynamic arrays.

#![allow(dead_code, clippy::needless_range_loop, clippy::type_complexity)]
use hypersonic_ir::builder::FunctionBuilder;
use hypersonic_ir::*;
use hypersonic_runtime::*;
use std::sync::Arc;

fn vk() -> Option<Arc<VulkanDevice>> {
    let devs = vulkan_devices();
    devs.iter().find(|d| d.unusable_reason().is_none()).cloned()
}
fn bytes_of<T: Copy>(v: &[T]) -> Vec<u8> {
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
        .to_vec()
}
fn upload<T: Copy>(d: &dyn Device, v: &[T]) -> DeviceBuffer {
    let b = d.alloc(std::mem::size_of_val(v).max(8)).unwrap();
    d.copy_htod(&b, 0, &bytes_of(v), None).unwrap();
    b
}
fn download<T: Copy + Default>(d: &dyn Device, b: &DeviceBuffer, n: usize) -> Vec<T> {
    let mut out = vec![T::default(); n];
    let bytes = unsafe {
        std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<u8>(), n * std::mem::size_of::<T>())
    };
    d.copy_dtoh(bytes, b, 0, None).unwrap();
    out
}
const I32: Type = Type::Scalar(Scalar::I32);
const U32: Type = Type::Scalar(Scalar::U32);
const F32: Type = Type::Scalar(Scalar::F32);

fn arr(s: Scalar, nd: u8) -> Type {
    Type::array(s, nd, Layout::C)
}

/// A thin layer over `FunctionBuilder` for writing kernels.
struct K {
    b: FunctionBuilder,
    params: Vec<Type>,
    exceptions: Vec<Exception>,
    extra: Vec<Function>,
}

impl K {
    fn new(name: &str, params: Vec<Type>) -> K {
        K {
            b: FunctionBuilder::new(name, params.clone(), Type::None),
            params,
            exceptions: vec![],
            extra: vec![],
        }
    }
    fn e(&mut self, op: Op, t: Type) -> ValueId {
        self.b.emit(op, t)
    }
    fn param(&mut self, i: u32) -> ValueId {
        let t = self.params[i as usize].clone();
        self.e(Op::Param(i), t)
    }
    fn int(&mut self, s: Scalar, v: i64) -> ValueId {
        self.e(Op::Const(Const::Int(v)), Type::Scalar(s))
    }
    fn i64(&mut self, v: i64) -> ValueId {
        self.int(Scalar::I64, v)
    }
    fn i32(&mut self, v: i64) -> ValueId {
        self.int(Scalar::I32, v)
    }
    fn float(&mut self, s: Scalar, v: f64) -> ValueId {
        self.e(Op::Const(Const::Float(v)), Type::Scalar(s))
    }
    fn ty(&self, v: ValueId) -> Type {
        self.b.value_type(v).clone()
    }
    fn bin(&mut self, o: BinaryOp, a: ValueId, b: ValueId) -> ValueId {
        let t = self.ty(a);
        self.e(Op::Binary(o, a, b), t)
    }
    fn cmp(&mut self, o: CmpOp, a: ValueId, b: ValueId) -> ValueId {
        self.e(Op::Compare(o, a, b), Type::BOOL)
    }
    fn cast(&mut self, a: ValueId, s: Scalar) -> ValueId {
        self.e(Op::Cast(a), Type::Scalar(s))
    }
    fn geo(&mut self, g: Geometry) -> ValueId {
        self.e(Op::Geometry(g, Axis::X), I32)
    }
    /// `blockIdx.x * blockDim.x + threadIdx.x` as an int64.
    fn global_id(&mut self) -> ValueId {
        let bi = self.geo(Geometry::BlockIdx);
        let bd = self.geo(Geometry::BlockDim);
        let t = self.geo(Geometry::ThreadIdx);
        let m = self.bin(BinaryOp::Mul, bi, bd);
        let s = self.bin(BinaryOp::Add, m, t);
        self.cast(s, Scalar::I64)
    }
    fn load(&mut self, a: ValueId, idx: &[ValueId]) -> ValueId {
        let t = match self.ty(a) {
            Type::Array { dtype, .. } => Type::Scalar(dtype),
            _ => panic!("not an array"),
        };
        self.e(Op::ArrayLoad(a, idx.to_vec()), t)
    }
    fn store(&mut self, a: ValueId, idx: &[ValueId], v: ValueId) {
        self.b.push(Stmt::ArrayStore {
            array: a,
            indices: idx.to_vec(),
            value: v,
            loc: Loc::default(),
        });
    }
    fn if_(&mut self, c: ValueId, then: impl FnOnce(&mut K)) {
        self.if_else(c, then, |_| {})
    }
    fn if_else(&mut self, c: ValueId, then: impl FnOnce(&mut K), els: impl FnOnce(&mut K)) {
        self.b.open_block();
        then(self);
        let t = self.b.close_block();
        self.b.open_block();
        els(self);
        let e = self.b.close_block();
        self.b.push(Stmt::If {
            cond: c,
            then_block: t,
            else_block: e,
        });
    }
    fn loop_(&mut self, body: impl FnOnce(&mut K)) {
        self.b.open_block();
        body(self);
        let body = self.b.close_block();
        self.b.push(Stmt::Loop { body });
    }
    /// `for i in range(start, stop)` over a fresh int64 local; `body` gets `i`.
    fn range(&mut self, start: ValueId, stop: ValueId, body: impl FnOnce(&mut K, ValueId)) {
        let l = self.b.add_local("i", Type::I64);
        self.b.push(Stmt::Store {
            local: l,
            value: start,
        });
        self.loop_(|k| {
            let i = k.e(Op::LoadLocal(l), Type::I64);
            let done = k.cmp(CmpOp::Ge, i, stop);
            k.if_(done, |k| k.b.push(Stmt::Break));
            body(k, i);
            let one = k.i64(1);
            let n = k.bin(BinaryOp::Add, i, one);
            k.b.push(Stmt::Store { local: l, value: n });
        });
    }
    fn raise(&mut self, class: &str) {
        self.exceptions.push(Exception {
            class: class.into(),
            message: String::new(),
        });
        let exc = ExcId(self.exceptions.len() as u32 - 1);
        self.b.push(Stmt::Raise {
            exc,
            loc: Loc::default(),
        });
    }
    fn finish(mut self) -> Module {
        self.b.push(Stmt::Return { value: None });
        let mut functions = vec![self.b.finish()];
        functions.extend(self.extra);
        let m = Module {
            functions,
            entry: FuncId(0),
            exceptions: self.exceptions,
        };
        verify::verify_module(&m).unwrap_or_else(|e| panic!("bad test IR: {e}"));
        m
    }
}

fn warp_reduce() -> Module {
    let mut k = K::new("warp_sum", vec![arr(Scalar::F64, 1), arr(Scalar::F64, 1)]);
    let (a, out) = (k.param(0), k.param(1));
    let i = k.global_id();
    let x = k.load(a, &[i]);
    let vl = k.b.add_local("v", Type::F64);
    k.b.push(Stmt::Store {
        local: vl,
        value: x,
    });
    let ol = k.b.add_local("off", I32);
    let sixteen = k.i32(16);
    k.b.push(Stmt::Store {
        local: ol,
        value: sixteen,
    });
    k.loop_(|k| {
        let off = k.e(Op::LoadLocal(ol), I32);
        let z = k.i32(0);
        let done = k.cmp(CmpOp::Le, off, z);
        k.if_(done, |k| k.b.push(Stmt::Break));
        let v = k.e(Op::LoadLocal(vl), Type::F64);
        let mask = k.int(Scalar::U32, 0xffff_ffff);
        let w = k.i32(32);
        let o = k.e(
            Op::WarpShuffle {
                kind: Shuffle::Down,
                mask,
                value: v,
                lane: off,
                width: w,
            },
            Type::F64,
        );
        let s = k.bin(BinaryOp::Add, v, o);
        k.b.push(Stmt::Store {
            local: vl,
            value: s,
        });
        let two = k.i32(2);
        let h = k.bin(BinaryOp::FloorDiv, off, two);
        k.b.push(Stmt::Store {
            local: ol,
            value: h,
        });
    });
    // Also: ballot of (lane % 3 == 0) and xor-shuffle of the lane id.
    let lane = k.e(Op::LaneId, I32);
    let z = k.i32(0);
    let first = k.cmp(CmpOp::Eq, lane, z);
    k.if_(first, |k| {
        let v = k.e(Op::LoadLocal(vl), Type::F64);
        let thirty_two = k.i64(32);
        let w = k.bin(BinaryOp::FloorDiv, i, thirty_two);
        k.store(out, &[w], v);
    });
    k.finish()
}

fn votes_kernel() -> Module {
    let mut k = K::new("votes", vec![arr(Scalar::U32, 1), arr(Scalar::I32, 1)]);
    let (out, x) = (k.param(0), k.param(1));
    let i = k.global_id();
    let t = k.geo(Geometry::ThreadIdx);
    let three = k.i32(3);
    let r = k.bin(BinaryOp::Mod, t, three);
    let z = k.i32(0);
    let p = k.cmp(CmpOp::Eq, r, z);
    let mask = k.int(Scalar::U32, 0xffff_ffff);
    let ballot = k.e(
        Op::WarpVote {
            kind: Vote::Ballot,
            mask,
            pred: p,
        },
        U32,
    );
    k.store(out, &[i], ballot);
    let lane = k.e(Op::LaneId, I32);
    let five = k.i32(5);
    let w = k.i32(32);
    let xs = k.e(
        Op::WarpShuffle {
            kind: Shuffle::Xor,
            mask,
            value: lane,
            lane: five,
            width: w,
        },
        I32,
    );
    let w8 = k.i32(8);
    let up = k.e(
        Op::WarpShuffle {
            kind: Shuffle::Up,
            mask,
            value: lane,
            lane: three,
            width: w8,
        },
        I32,
    );
    let hundred = k.i32(100);
    let up100 = k.bin(BinaryOp::Mul, up, hundred);
    let s = k.bin(BinaryOp::Add, xs, up100);
    let c = k.e(Op::BarrierReduce(BarrierReduce::Count, p), I32);
    let c10k = k.i32(10000);
    let c = k.bin(BinaryOp::Mul, c, c10k);
    let s = k.bin(BinaryOp::Add, s, c);
    k.store(x, &[i], s);
    k.finish()
}

#[test]
fn exec_warps_and_votes() {
    let Some(d) = vk() else { return };
    let opts = d.spirv_options();
    eprintln!("device {} subgroup {}", d.info().name, opts.subgroup_size);
    let kernel = Kernel::new(warp_reduce());
    let n = 256usize;
    let a: Vec<f64> = (0..n).map(|i| (i * i % 97) as f64 * 0.5).collect();
    let da = upload(&*d, &a);
    let dout = d.alloc(8 * n / 32).unwrap();
    let mut args = KernelArgs::new();
    args.contiguous_array(da.addr(), &[n as i64], 8);
    args.contiguous_array(dout.addr(), &[(n / 32) as i64], 8);
    unsafe { d.launch(&kernel, &LaunchConfig::linear(4, 64), args.as_slice(), None) }.unwrap();
    let out: Vec<f64> = download(&*d, &dout, n / 32);
    for w in 0..n / 32 {
        let want: f64 = a[32 * w..32 * w + 32].iter().sum();
        assert_eq!(out[w], want, "warp {w}");
    }
    let kernel = Kernel::new(votes_kernel());
    let n = 96usize; // blocks of 48: one full warp and a partial one
    let dout = d.alloc(4 * n).unwrap();
    let dx = d.alloc(4 * n).unwrap();
    let mut args = KernelArgs::new();
    args.contiguous_array(dout.addr(), &[n as i64], 4);
    args.contiguous_array(dx.addr(), &[n as i64], 4);
    unsafe { d.launch(&kernel, &LaunchConfig::linear(2, 48), args.as_slice(), None) }.unwrap();
    let out: Vec<u32> = download(&*d, &dout, n);
    let xs: Vec<i32> = download(&*d, &dx, n);
    for g in 0..n {
        let t = g % 48;
        let warp = t / 32;
        let lanes = if warp == 0 { 32 } else { 16 };
        let mut want = 0u32;
        for l in 0..lanes {
            if (warp * 32 + l) % 3 == 0 {
                want |= 1 << l;
            }
        }
        assert_eq!(out[g], want, "ballot of thread {g}");
        let lane = (t % 32) as i32;
        let src = lane ^ 5;
        let x = if (src as usize) < lanes { src } else { lane }; // partial warp: own value
        let seg = lane & !7;
        let up = if lane - 3 >= seg { lane - 3 } else { lane };
        let count = (0..48).filter(|t| t % 3 == 0).count() as i32;
        assert_eq!(
            xs[g],
            x + 100 * up + 10000 * count,
            "shuffles of thread {g}"
        );
    }
}

#[test]
fn exec_integer_semantics() {
    let Some(d) = vk() else { return };
    // out[i, 0..4] = a // b, a % b, a ** 3 (wrapping), a >> (b & 70)
    let mut k = K::new(
        "ints",
        vec![
            arr(Scalar::I64, 1),
            arr(Scalar::I64, 1),
            Type::array(Scalar::I64, 2, Layout::C),
            arr(Scalar::I32, 1),
        ],
    );
    let (a, b, out, sat) = (k.param(0), k.param(1), k.param(2), k.param(3));
    let i = k.global_id();
    let n = k.e(Op::ArrayDim(a, 0), Type::I64);
    let inb = k.cmp(CmpOp::Lt, i, n);
    k.if_(inb, |k| {
        let x = k.load(a, &[i]);
        let y = k.load(b, &[i]);
        let q = k.bin(BinaryOp::FloorDiv, x, y);
        let r = k.bin(BinaryOp::Mod, x, y);
        let three = k.i64(3);
        let p = k.bin(BinaryOp::Pow, x, three);
        let c70 = k.i64(70);
        let sh = k.bin(BinaryOp::BitAnd, y, c70);
        let s = k.bin(BinaryOp::Shr, x, sh);
        for (j, v) in [q, r, p, s].into_iter().enumerate() {
            let jj = k.i64(j as i64);
            k.store(out, &[i, jj], v);
        }
        let f = k.cast(x, Scalar::F64);
        let big = k.float(Scalar::F64, 1e-9);
        let f = k.bin(BinaryOp::Mul, f, big);
        let c = k.cast(f, Scalar::I32);
        k.store(sat, &[i], c);
    });
    let kernel = Kernel::new(k.finish());
    let mut av: Vec<i64> = vec![
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
    let mut bv: Vec<i64> = vec![2, 2, -2, -2, -1, 1, 3, 0, 3, -5, 1000, 0];
    let mut r = 12345u64;
    for _ in 0..200 {
        r = r
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        av.push((r >> 1) as i64 - (1 << 62));
        r = r
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        bv.push(((r >> 33) % 2001) as i64 - 1000);
    }
    let n = av.len();
    let (da, db) = (upload(&*d, &av), upload(&*d, &bv));
    let dout = d.alloc(8 * 4 * n).unwrap();
    let dsat = d.alloc(4 * n).unwrap();
    let mut args = KernelArgs::new();
    args.contiguous_array(da.addr(), &[n as i64], 8);
    args.contiguous_array(db.addr(), &[n as i64], 8);
    args.contiguous_array(dout.addr(), &[n as i64, 4], 8);
    args.contiguous_array(dsat.addr(), &[n as i64], 4);
    unsafe {
        d.launch(
            &kernel,
            &LaunchConfig::linear((n as u32).div_ceil(64), 64),
            args.as_slice(),
            None,
        )
    }
    .unwrap();
    let out: Vec<i64> = download(&*d, &dout, 4 * n);
    let sat: Vec<i32> = download(&*d, &dsat, n);
    for i in 0..n {
        let (x, y) = (av[i], bv[i]);
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
        assert_eq!(&out[4 * i..4 * i + 4], &[q, m, p, s], "x={x} y={y}");
        let f = x as f64 * 1e-9;
        let want = if f.is_nan() {
            0
        } else {
            f.clamp(i32::MIN as f64, i32::MAX as f64) as i32
        };
        assert_eq!(sat[i], want, "saturating cast of {f}");
    }
}

#[test]
fn exec_math_f64_and_f32() {
    let Some(d) = vk() else { return };
    let fns: &[(MathFn, fn(f64) -> f64)] = &[
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
    for s in [Scalar::F64, Scalar::F32] {
        let mut k = K::new("math", vec![arr(s, 1), Type::array(s, 2, Layout::C)]);
        let (a, out) = (k.param(0), k.param(1));
        let i = k.global_id();
        let n = k.e(Op::ArrayDim(a, 0), Type::I64);
        let inb = k.cmp(CmpOp::Lt, i, n);
        k.if_(inb, |k| {
            let x = k.load(a, &[i]);
            for (j, (f, _)) in fns.iter().enumerate() {
                let r = k.e(Op::Math(*f, vec![x]), Type::Scalar(s));
                let jj = k.i64(j as i64);
                k.store(out, &[i, jj], r);
            }
        });
        let kernel = Kernel::new(k.finish());
        let xs: Vec<f64> = (0..500).map(|i| 0.013 + i as f64 * 0.0371).collect();
        let n = xs.len();
        let nf = fns.len();
        let (da, dout) = if s == Scalar::F64 {
            (upload(&*d, &xs), d.alloc(8 * n * nf).unwrap())
        } else {
            let x32: Vec<f32> = xs.iter().map(|x| *x as f32).collect();
            (upload(&*d, &x32), d.alloc(4 * n * nf).unwrap())
        };
        let mut args = KernelArgs::new();
        args.contiguous_array(da.addr(), &[n as i64], s.size() as i64);
        args.contiguous_array(dout.addr(), &[n as i64, nf as i64], s.size() as i64);
        unsafe {
            d.launch(
                &kernel,
                &LaunchConfig::linear((n as u32).div_ceil(64), 64),
                args.as_slice(),
                None,
            )
        }
        .unwrap();
        let got: Vec<f64> = if s == Scalar::F64 {
            download(&*d, &dout, n * nf)
        } else {
            download::<f32>(&*d, &dout, n * nf)
                .into_iter()
                .map(|x| x as f64)
                .collect()
        };
        for (j, (f, reff)) in fns.iter().enumerate() {
            let mut worst = 0f64;
            for i in 0..n {
                let x = if s == Scalar::F64 {
                    xs[i]
                } else {
                    xs[i] as f32 as f64
                };
                let want = reff(x);
                let g = got[i * nf + j];
                let ulp = if s == Scalar::F64 {
                    (want.abs() * f64::EPSILON).max(f64::MIN_POSITIVE)
                } else {
                    ((want as f32).abs() as f64 * f32::EPSILON as f64).max(1e-38)
                };
                let e = ((g - want) / ulp).abs();
                if e > worst {
                    eprintln!("  {f:?}({x:e}) = {g:e}, want {want:e}: {e:.1}");
                }
                worst = worst.max(e);
            }
            eprintln!("{s} {f:?}: worst {worst:.1} ulp");
            if s == Scalar::F64 {
                assert!(worst <= 4.0, "{f:?} {worst} ulp");
            }
        }
    }
}

#[test]
fn exec_atomics_and_arrays() {
    let Some(d) = vk() else { return };
    // float32 histogram through CAS (global + shared), u32 inc, local/const/dynamic arrays.
    let mut k = K::new(
        "atoms",
        vec![
            arr(Scalar::I64, 1),
            arr(Scalar::F32, 1),
            arr(Scalar::U32, 1),
            arr(Scalar::F64, 1),
        ],
    );
    let (data, bins, ctr, out) = (k.param(0), k.param(1), k.param(2), k.param(3));
    let i = k.global_id();
    let x = k.load(data, &[i]);
    let sixteen = k.i64(16);
    let bin = k.bin(BinaryOp::Mod, x, sixteen);
    let half = k.float(Scalar::F32, 0.5);
    k.e(
        Op::Atomic {
            op: AtomicOp::Add,
            array: bins,
            indices: vec![bin],
            value: half,
        },
        F32,
    );
    let z = k.i64(0);
    let lim = k.int(Scalar::U32, 9);
    k.e(
        Op::Atomic {
            op: AtomicOp::Inc,
            array: ctr,
            indices: vec![z],
            value: lim,
        },
        U32,
    );
    let sh_t = Type::Array {
        dtype: Scalar::F64,
        ndim: 1,
        layout: Layout::C,
        space: Space::Shared,
    };
    let dynsh = k.e(
        Op::SharedArray {
            dtype: Scalar::F64,
            shape: vec![0],
            dynamic: true,
        },
        sh_t,
    );
    let t32 = k.geo(Geometry::ThreadIdx);
    let t = k.cast(t32, Scalar::I64);
    let data_c: Vec<u8> = [1.5f64, -2.0, 3.25, 4.0]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let ct = k.e(
        Op::ConstArray {
            dtype: Scalar::F64,
            shape: vec![4],
            data: data_c,
        },
        Type::Array {
            dtype: Scalar::F64,
            ndim: 1,
            layout: Layout::C,
            space: Space::Constant,
        },
    );
    let loc = k.e(
        Op::LocalArray {
            dtype: Scalar::F64,
            shape: vec![4],
        },
        Type::Array {
            dtype: Scalar::F64,
            ndim: 1,
            layout: Layout::C,
            space: Space::Local,
        },
    );
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
    k.b.push(Stmt::Barrier {
        loc: Loc::default(),
    });
    let bd = k.geo(Geometry::BlockDim);
    let bd = k.cast(bd, Scalar::I64);
    let one = k.i64(1);
    let t1 = k.bin(BinaryOp::Add, t, one);
    let j = k.bin(BinaryOp::Mod, t1, bd);
    let nb = k.e(Op::ArrayDim(dynsh, 0), Type::I64);
    let w = k.load(dynsh, &[j]);
    let nbf = k.cast(nb, Scalar::F64);
    let r = k.bin(BinaryOp::Add, w, nbf);
    k.store(out, &[i], r);
    let kernel = Kernel::new(k.finish());
    let n = 256usize;
    let xs: Vec<i64> = (0..n as i64).map(|i| i * 7 % 23).collect();
    let dd = upload(&*d, &xs);
    let db = upload(&*d, &[0f32; 16]);
    let dc = upload(&*d, &[0u32; 1]);
    let dout = d.alloc(8 * n).unwrap();
    let mut args = KernelArgs::new();
    args.contiguous_array(dd.addr(), &[n as i64], 8);
    args.contiguous_array(db.addr(), &[16], 4);
    args.contiguous_array(dc.addr(), &[1], 4);
    args.contiguous_array(dout.addr(), &[n as i64], 8);
    let cfg = LaunchConfig {
        grid: [4, 1, 1],
        block: [64, 1, 1],
        dynamic_shared_bytes: 64 * 8,
    };
    unsafe { d.launch(&kernel, &cfg, args.as_slice(), None) }.unwrap();
    let bins: Vec<f32> = download(&*d, &db, 16);
    for b in 0..16 {
        let want = xs.iter().filter(|x| **x % 16 == b as i64).count() as f32 * 0.5;
        assert_eq!(bins[b], want, "bin {b}");
    }
    let c: Vec<u32> = download(&*d, &dc, 1);
    assert_eq!(c[0], (n as u32) % 10);
    let out: Vec<f64> = download(&*d, &dout, n);
    for g in 0..n {
        let t = g % 64;
        let j = (t + 1) % 64;
        assert_eq!(out[g], 4.0 * j as f64 + 64.0, "thread {g}");
    }
}

#[test]
fn exec_fma_is_fused() {
    let Some(d) = vk() else { return };
    let mut k = K::new("fma", vec![arr(Scalar::F64, 1)]);
    let a = k.param(0);
    let (z, o, t) = (k.i64(0), k.i64(1), k.i64(2));
    let x = k.load(a, &[z]);
    let y = k.load(a, &[o]);
    let c = k.load(a, &[t]);
    let r = k.e(Op::Math(MathFn::Fma, vec![x, y, c]), Type::F64);
    k.store(a, &[z], r);
    let kernel = Kernel::new(k.finish());
    let v = [
        1.0 + 2f64.powi(-30),
        1.0 + 2f64.powi(-30),
        -(1.0 + 2f64.powi(-29)),
    ];
    let da = upload(&*d, &v);
    let mut args = KernelArgs::new();
    args.contiguous_array(da.addr(), &[3], 8);
    unsafe { d.launch(&kernel, &LaunchConfig::linear(1, 1), args.as_slice(), None) }.unwrap();
    let r: Vec<f64> = download(&*d, &da, 1);
    eprintln!("fma = {:e} (exact {:e})", r[0], 2f64.powi(-60));
}

#[test]
fn exec_early_return_then_emulated_shuffle() {
    let Some(d) = vk() else { return };
    let mut k = K::new("early_return", vec![arr(Scalar::F32, 1)]);
    let a = k.param(0);
    let i = k.global_id();
    let n = k.e(Op::ArrayDim(a, 0), Type::I64);
    let c = k.cmp(CmpOp::Ge, i, n);
    k.if_(c, |k| k.b.push(Stmt::Return { value: None }));
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
    let kernel = Kernel::new(k.finish());
    let n = 100usize;
    let v: Vec<f32> = (0..n).map(|i| i as f32).collect();
    let da = upload(&*d, &v);
    let mut args = KernelArgs::new();
    args.contiguous_array(da.addr(), &[n as i64], 4);
    unsafe { d.launch(&kernel, &LaunchConfig::linear(2, 64), args.as_slice(), None) }.unwrap();
    let r: Vec<f32> = download(&*d, &da, n);
    for i in 0..n {
        assert_eq!(r[i], (i ^ 1) as f32, "element {i}");
    }
}
