mod common;
use std::collections::HashMap;

use common::*;
use hypersonic_frontend::*;
use hypersonic_ir::printer::print_module;
use hypersonic_ir::{
    AtomicOp, Block, Geometry, Layout, Module, Op, Scalar, Shuffle, Space, Stmt, Type,
};

struct KEnv {
    names: HashMap<String, Global>,
    bytes: Option<Vec<u8>>,
}

impl Environment for KEnv {
    fn resolve(&self, _func: &SourceFunction, name: &str) -> Option<Global> {
        self.names.get(name).cloned()
    }
    fn array_bytes(&self, _data: u64, nbytes: usize) -> Option<Vec<u8>> {
        self.bytes.clone().filter(|b| b.len() >= nbytes)
    }
}

fn kenv() -> KEnv {
    let mut m = env().0;
    m.insert("cuda".into(), Global::Module("hypersonic.cuda".into()));
    m.insert(
        "float32".into(),
        Global::Builtin("hypersonic.float32".into()),
    );
    m.insert("int32".into(), Global::Builtin("hypersonic.int32".into()));
    m.insert("TPB".into(), Global::Const(ConstValue::Int(16)));
    KEnv {
        names: m,
        bytes: None,
    }
}

fn kopts() -> Options {
    Options {
        kind: FunctionKind::Kernel,
        ..Options::default()
    }
}

fn kernel_with(e: &KEnv, text: &str, args: &[Type]) -> Result<Compiled, Diagnostic> {
    compile(&src(1, text), args, None, e, &kopts())
}

fn kernel(text: &str, args: &[Type]) -> Module {
    match kernel_with(&kenv(), text, args) {
        Ok(c) => {
            assert_eq!(c.ret, Type::None);
            c.module
        }
        Err(d) => panic!("{}", d.rendered),
    }
}

fn kernel_err(text: &str, args: &[Type]) -> Diagnostic {
    match kernel_with(&kenv(), text, args) {
        Ok(c) => panic!("expected an error, got\n{}", print_module(&c.module)),
        Err(d) => d,
    }
}

/// Every op and statement of a module, flattened.
fn ops(m: &Module) -> (Vec<Op>, Vec<Stmt>) {
    fn walk(b: &Block, ops: &mut Vec<Op>, stmts: &mut Vec<Stmt>) {
        for s in &b.stmts {
            match s {
                Stmt::Let { op, .. } => ops.push(op.clone()),
                Stmt::If {
                    then_block,
                    else_block,
                    ..
                } => {
                    walk(then_block, ops, stmts);
                    walk(else_block, ops, stmts);
                }
                Stmt::Loop { body } => walk(body, ops, stmts),
                _ => {}
            }
            stmts.push(s.clone());
        }
    }
    let (mut o, mut s) = (vec![], vec![]);
    for f in &m.functions {
        walk(&f.body, &mut o, &mut s);
    }
    (o, s)
}

fn count_barriers(m: &Module) -> usize {
    ops(m)
        .1
        .iter()
        .filter(|s| matches!(s, Stmt::Barrier { .. }))
        .count()
}

#[test]
fn vector_add() {
    let m = kernel(
        "def add(a, b, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = a[i] + b[i]
",
        &[
            arr(Scalar::F32, 1),
            arr(Scalar::F32, 1),
            arr(Scalar::F32, 1),
        ],
    );
    let (o, _) = ops(&m);
    for g in [Geometry::ThreadIdx, Geometry::BlockIdx, Geometry::BlockDim] {
        assert!(o
            .iter()
            .any(|op| matches!(op, Op::Geometry(x, _) if *x == g)));
    }
    assert_eq!(m.function(m.entry).ret, Type::None);
}

#[test]
fn vector_add_with_explicit_geometry_and_early_return() {
    let m = kernel(
        "def add(a, b, out):
    tx = cuda.threadIdx.x
    bx = cuda.blockIdx.x
    bw = cuda.blockDim.x
    i = tx + bx * bw
    if i >= out.size:
        return
    out[i] = a[i] + b[i]
",
        &[
            arr(Scalar::F64, 1),
            arr(Scalar::F64, 1),
            arr(Scalar::F64, 1),
        ],
    );
    println!("{}", print_module(&m));
}

const MATMUL: &str = "def fast_matmul(A, B, C):
    sA = cuda.shared.array(shape=(TPB, TPB), dtype=float32)
    sB = cuda.shared.array(shape=(TPB, TPB), dtype=float32)
    x, y = cuda.grid(2)
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    bpg = cuda.gridDim.x
    if x >= C.shape[0] and y >= C.shape[1]:
        return
    tmp = 0.
    for i in range(bpg):
        sA[tx, ty] = A[x, ty + i * TPB]
        sB[tx, ty] = B[tx + i * TPB, y]
        cuda.syncthreads()
        for j in range(TPB):
            tmp += sA[tx, j] * sB[j, ty]
        cuda.syncthreads()
    C[x, y] = tmp
";

#[test]
fn tiled_matmul() {
    let m = kernel(
        MATMUL,
        &[
            arr(Scalar::F32, 2),
            arr(Scalar::F32, 2),
            arr(Scalar::F32, 2),
        ],
    );
    let (o, _) = ops(&m);
    let shared: Vec<_> = o
        .iter()
        .filter(|op| matches!(op, Op::SharedArray { .. }))
        .collect();
    assert_eq!(shared.len(), 2);
    assert!(matches!(
        shared[0],
        Op::SharedArray { dtype: Scalar::F32, shape, dynamic: false } if shape == &vec![16, 16]
    ));
    assert_eq!(count_barriers(&m), 2);
    let f = m.function(m.entry);
    assert!(f.locals.iter().any(|l| l.name == "sA"
        && l.ty
            == Type::Array {
                dtype: Scalar::F32,
                ndim: 2,
                layout: Layout::C,
                space: Space::Shared
            }));
}

#[test]
fn block_reduction() {
    let m = kernel(
        "def reduce(a, out):
    sdata = cuda.shared.array(256, np.float64)
    tid = cuda.threadIdx.x
    i = cuda.grid(1)
    if i < a.shape[0]:
        sdata[tid] = a[i]
    else:
        sdata[tid] = 0.0
    cuda.syncthreads()
    s = cuda.blockDim.x // 2
    while s > 0:
        if tid < s:
            sdata[tid] += sdata[tid + s]
        cuda.syncthreads()
        s //= 2
    if tid == 0:
        out[cuda.blockIdx.x] = sdata[0]
",
        &[arr(Scalar::F64, 1), arr(Scalar::F64, 1)],
    );
    assert_eq!(count_barriers(&m), 2);
}

#[test]
fn histogram_with_atomics() {
    let m = kernel(
        "def hist(data, bins, nbins):
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for i in range(start, data.shape[0], stride):
        b = int(data[i] * nbins)
        if b >= nbins:
            b = nbins - 1
        cuda.atomic.add(bins, b, 1)
",
        &[arr(Scalar::F64, 1), arr(Scalar::I32, 1), Type::I64],
    );
    let (o, _) = ops(&m);
    assert!(o.iter().any(|op| matches!(
        op,
        Op::Atomic {
            op: AtomicOp::Add,
            ..
        }
    )));
}

#[test]
fn shared_histogram_with_atomics_and_barriers() {
    let m = kernel(
        "def hist(data, bins):
    local = cuda.shared.array(16, int32)
    t = cuda.threadIdx.x
    if t < 16:
        local[t] = 0
    cuda.syncthreads()
    i = cuda.grid(1)
    if i < data.shape[0]:
        old = cuda.atomic.add(local, data[i] % 16, 1)
    cuda.syncthreads()
    if t < 16:
        cuda.atomic.add(bins, (t,), local[t])
    cuda.atomic.max(bins, -1, 5)
    cuda.atomic.cas(bins, 0, 1, 2)
    cuda.atomic.compare_and_swap(bins, 1, 2)
",
        &[arr(Scalar::I64, 1), arr(Scalar::I32, 1)],
    );
    let (o, _) = ops(&m);
    assert_eq!(
        o.iter()
            .filter(|op| matches!(op, Op::Atomic { .. }))
            .count(),
        3
    );
    assert_eq!(
        o.iter()
            .filter(|op| matches!(op, Op::AtomicCas { .. }))
            .count(),
        2
    );
}

#[test]
fn warp_scan() {
    let m = kernel(
        "def scan(a):
    lane = cuda.laneid
    i = cuda.grid(1)
    v = a[i]
    d = 1
    while d < cuda.warpsize:
        n = cuda.shfl_up_sync(0xffffffff, v, d)
        if lane >= d:
            v += n
        d *= 2
    a[i] = v
    total = cuda.shfl_sync(0xffffffff, v, 31)
    down = cuda.shfl_down_sync(0xffffffff, v, 1)
    x = cuda.shfl_xor_sync(0xffffffff, v > 0, 1)
    b = cuda.ballot_sync(0xffffffff, v > 0)
    ok = cuda.all_sync(cuda.activemask(), v > 0) or cuda.any_sync(0xffffffff, x)
    cuda.syncwarp()
    cuda.syncwarp(0xffff)
",
        &[arr(Scalar::F32, 1)],
    );
    let (o, s) = ops(&m);
    assert!(o.iter().any(|op| matches!(
        op,
        Op::WarpShuffle {
            kind: Shuffle::Up,
            ..
        }
    )));
    assert_eq!(
        o.iter()
            .filter(|op| matches!(op, Op::WarpShuffle { .. }))
            .count(),
        4
    );
    assert!(o.iter().any(|op| matches!(op, Op::LaneId)));
    assert_eq!(
        s.iter()
            .filter(|s| matches!(s, Stmt::SyncWarp { .. }))
            .count(),
        2
    );
}

#[test]
fn dynamic_shared_memory() {
    let m = kernel(
        "def k(a):
    buf = cuda.shared.array(0, dtype=np.float32)
    t = cuda.threadIdx.x
    buf[t] = a[t]
    cuda.syncthreads()
    a[t] = buf[cuda.blockDim.x - 1 - t]
",
        &[arr(Scalar::F32, 1)],
    );
    let (o, _) = ops(&m);
    assert!(o.iter().any(|op| matches!(
        op,
        Op::SharedArray { dynamic: true, shape, .. } if shape == &vec![0]
    )));
}

#[test]
fn device_function_calls() {
    let mut e = kenv();
    e.names.insert(
        "clamp".into(),
        Global::Function(SourceFunction {
            key: 7,
            name: "clamp".into(),
            filename: "/path/file.py".into(),
            first_line: 3,
            col_offset: 0,
            source: "def clamp(x, lo, hi):
    t = cuda.threadIdx.x
    return min(max(x, lo), hi) + t * 0
"
            .into(),
        }),
    );
    let c = kernel_with(
        &e,
        "def k(a):
    i = cuda.grid(1)
    if i < a.size:
        a[i] = clamp(a[i], 0.0, 1.0)
",
        &[arr(Scalar::F64, 1)],
    )
    .unwrap_or_else(|d| panic!("{}", d.rendered));
    assert_eq!(c.module.functions.len(), 2);
    // The same device function is refused in host code.
    let d = compile(
        &src(1, "def h(a):\n    return clamp(a[0], 0.0, 1.0)\n"),
        &[arr(Scalar::F64, 1)],
        None,
        &e,
        &Options::default(),
    )
    .unwrap_err();
    assert!(
        d.message
            .contains("`cuda.threadIdx` can only be used in a @cuda.jit kernel or device function"),
        "{}",
        d.rendered
    );
    assert_eq!(d.line, 4);
}

#[test]
fn grid_stride_loop() {
    let m = kernel(
        "def k(x, out):
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for i in range(start, x.shape[0], stride):
        out[i] = math.sin(x[i]) * cuda.fma(x[i], 2.0, 1.0)
",
        &[arr(Scalar::F64, 1), arr(Scalar::F64, 1)],
    );
    let (o, _) = ops(&m);
    assert!(o
        .iter()
        .any(|op| matches!(op, Op::Geometry(Geometry::GridDim, _))));
    assert!(o
        .iter()
        .any(|op| matches!(op, Op::Math(hypersonic_ir::MathFn::Fma, _))));
}

#[test]
fn local_and_const_arrays_and_intrinsics() {
    let mut e = kenv();
    let vals: Vec<f64> = vec![1.0, 2.0, 3.0, 4.0];
    e.bytes = Some(vals.iter().flat_map(|v| v.to_le_bytes()).collect());
    e.names.insert(
        "COEFFS".into(),
        Global::Array {
            dtype: Scalar::F64,
            layout: Layout::C,
            data: 0x1000,
            shape: vec![2, 2],
            strides: vec![8, 16], // F order: the constant must come out transposed
        },
    );
    let c = kernel_with(
        &e,
        "def k(out, bits):
    c = cuda.const.array_like(COEFFS)
    tmp = cuda.local.array((2, 2), np.float64)
    for i in range(2):
        for j in range(2):
            tmp[i, j] = c[i, j]
    out[0] = tmp[0, 1]
    bits[0] = cuda.popc(bits[1]) + cuda.clz(bits[2]) + cuda.ffs(bits[3])
    bits[4] = cuda.brev(np.uint32(bits[5]))
    n = cuda.syncthreads_count(out[0] > 0)
    m = cuda.syncthreads_and(1) + cuda.syncthreads_or(n)
    cuda.threadfence()
    cuda.threadfence_block()
    cuda.threadfence_system()
",
        &[arr(Scalar::F64, 1), arr(Scalar::I64, 1)],
    )
    .unwrap_or_else(|d| panic!("{}", d.rendered));
    let (o, _) = ops(&c.module);
    let data = o
        .iter()
        .find_map(|op| match op {
            Op::ConstArray { data, .. } => Some(data.clone()),
            _ => None,
        })
        .unwrap();
    let got: Vec<f64> = data
        .chunks(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(got, vec![1.0, 3.0, 2.0, 4.0]);
    assert!(o.iter().any(|op| matches!(op, Op::LocalArray { .. })));
    assert_eq!(o.iter().filter(|op| matches!(op, Op::Bit(..))).count(), 4);
    assert_eq!(
        o.iter()
            .filter(|op| matches!(op, Op::BarrierReduce(..)))
            .count(),
        3
    );
}

#[test]
fn numba_spellings() {
    let mut e = kenv();
    e.names
        .insert("numba".into(), Global::Module("numba".into()));
    e.names
        .insert("ncuda".into(), Global::Module("numba.cuda".into()));
    e.names.insert(
        "grid".into(),
        Global::Builtin("hypersonic.cuda.grid".into()),
    );
    e.names.insert(
        "syncthreads".into(),
        Global::Builtin("hypersonic.cuda.syncthreads".into()),
    );
    kernel_with(
        &e,
        "def k(a):
    s = ncuda.shared.array(32, numba.float32)
    t = numba.cuda.threadIdx.x
    s[t] = a[grid(1)]
    syncthreads()
    a[t] = s[31 - t]
",
        &[arr(Scalar::F32, 1)],
    )
    .unwrap_or_else(|d| panic!("{}", d.rendered));
}

// ---- diagnostics ----------------------------------------------------------------

#[test]
fn barrier_under_thread_condition() {
    let d = kernel_err(
        "def k(a):
    if cuda.threadIdx.x < 5:
        a[0] = 1
        cuda.syncthreads()
",
        &[arr(Scalar::F32, 1)],
    );
    assert!(
        d.message
            .contains("`cuda.syncthreads()` is reached only by some threads of a block"),
        "{}",
        d.rendered
    );
    assert!(d.message.contains("line 11"), "{}", d.rendered);
    assert_eq!((d.line, d.col), (13, 9), "{}", d.rendered);
    println!("{}", d.rendered);
}

#[test]
fn barrier_in_loop_with_thread_dependent_exit() {
    let d = kernel_err(
        "def k(a):
    for i in range(10):
        if a[cuda.threadIdx.x] > i:
            break
        cuda.syncthreads()
",
        &[arr(Scalar::F32, 1)],
    );
    assert!(d.message.contains("loop"), "{}", d.rendered);
    // Through a local that holds a thread-dependent value.
    let d = kernel_err(
        "def k(a):
    n = cuda.threadIdx.x % 4
    for i in range(n):
        cuda.syncthreads()
",
        &[arr(Scalar::F32, 1)],
    );
    assert!(
        d.message.contains("reached only by some threads"),
        "{}",
        d.rendered
    );
    // Through a device function that waits at a barrier.
    let mut e = kenv();
    e.names.insert(
        "sync".into(),
        Global::Function(SourceFunction {
            key: 9,
            name: "sync".into(),
            filename: "/path/file.py".into(),
            first_line: 3,
            col_offset: 0,
            source: "def sync():\n    cuda.syncthreads()\n".into(),
        }),
    );
    let d = kernel_with(
        &e,
        "def k(a):
    if cuda.laneid == 0:
        sync()
",
        &[arr(Scalar::F32, 1)],
    )
    .unwrap_err();
    assert!(d.message.contains("`sync`"), "{}", d.rendered);
}

#[test]
fn kernel_returning_a_value() {
    let d = kernel_err(
        "def k(a):
    return a[0]
",
        &[arr(Scalar::F32, 1)],
    );
    assert!(
        d.message
            .contains("a kernel cannot return a value; write results into an array argument"),
        "{}",
        d.rendered
    );
}

#[test]
fn non_constant_shared_shape() {
    let d = kernel_err(
        "def k(a, n):
    s = cuda.shared.array(n, float32)
",
        &[arr(Scalar::F32, 1), Type::I64],
    );
    assert!(
        d.message.contains("compile-time constant"),
        "{}",
        d.rendered
    );
    let d = kernel_err(
        "def k(a):
    s = cuda.shared.array(16, np.sin)
",
        &[arr(Scalar::F32, 1)],
    );
    assert!(d.message.contains("unsupported dtype"), "{}", d.rendered);
}

#[test]
fn cuda_in_host_code() {
    let mut e = kenv();
    e.names.remove("TPB");
    let d = compile(
        &src(1, "def h(a):\n    a[0] = cuda.threadIdx.x\n"),
        &[arr(Scalar::F32, 1)],
        None,
        &e,
        &Options::default(),
    )
    .unwrap_err();
    assert!(
        d.message
            .contains("`cuda.threadIdx` can only be used in a @cuda.jit kernel or device function"),
        "{}",
        d.rendered
    );
    let d = compile(
        &src(1, "def h(a):\n    cuda.syncthreads()\n"),
        &[arr(Scalar::F32, 1)],
        None,
        &e,
        &Options::default(),
    )
    .unwrap_err();
    assert!(d.message.contains("`cuda.syncthreads`"), "{}", d.rendered);
}

#[test]
fn unknown_attributes_and_argument_counts() {
    let d = kernel_err(
        "def k(a):\n    a[0] = cuda.threadIdy.x\n",
        &[arr(Scalar::F32, 1)],
    );
    assert!(d.message.contains("`threadIdy`"), "{}", d.rendered);
    assert!(
        d.help.as_deref().unwrap_or("").contains("cuda.threadIdx"),
        "{}",
        d.rendered
    );
    let d = kernel_err(
        "def k(a):\n    a[0] = cuda.threadIdx.w\n",
        &[arr(Scalar::F32, 1)],
    );
    assert!(d.message.contains("`w`"), "{}", d.rendered);
    let d = kernel_err(
        "def k(a):\n    cuda.atomic.ad(a, 0, 1)\n",
        &[arr(Scalar::F32, 1)],
    );
    assert!(
        d.help.as_deref().unwrap_or("").contains("cuda.atomic.add"),
        "{}",
        d.rendered
    );
    let d = kernel_err(
        "def k(a):\n    cuda.syncthreads(1)\n",
        &[arr(Scalar::F32, 1)],
    );
    assert!(d.message.contains("takes 0 arguments"), "{}", d.rendered);
    let d = kernel_err(
        "def k(a):\n    cuda.atomic.add(a, 0)\n",
        &[arr(Scalar::F32, 1)],
    );
    assert!(
        d.message.contains("missing the argument `val`"),
        "{}",
        d.rendered
    );
    let d = kernel_err(
        "def k(a):\n    cuda.atomic.xor(a, 0, 1)\n",
        &[arr(Scalar::F32, 1)],
    );
    assert!(d.message.contains("float32"), "{}", d.rendered);
    let d = kernel_err("def k(a):\n    x = cuda.grid(4)\n", &[arr(Scalar::F32, 1)]);
    assert!(d.message.contains("1, 2 or 3"), "{}", d.rendered);
}

#[test]
fn device_function_on_its_own() {
    let c = compile(
        &src(
            1,
            "def dev(a, i):\n    return a[i] * cuda.blockDim.x + cuda.laneid\n",
        ),
        &[arr(Scalar::F32, 1), Type::I64],
        None,
        &kenv(),
        &Options {
            kind: FunctionKind::Device,
            ..Options::default()
        },
    )
    .unwrap_or_else(|d| panic!("{}", d.rendered));
    assert_eq!(c.ret, Type::F64);
}
