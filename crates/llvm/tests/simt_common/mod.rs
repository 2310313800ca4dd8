//! A tiny launcher for CPU SIMT block functions and a kernel-building helper.
#![allow(dead_code)]

use hypersonic_ir::abi::BlockContext;
use hypersonic_ir::builder::FunctionBuilder;
use hypersonic_ir::*;
use hypersonic_llvm::simt::SimtModule;
use hypersonic_llvm::HostOptions;

pub fn compile(functions: Vec<Function>, exceptions: Vec<Exception>) -> SimtModule {
    let m = Module {
        functions,
        entry: FuncId(0),
        exceptions,
    };
    match SimtModule::compile(&m, &HostOptions::default()) {
        Ok(k) => k,
        Err(e) => panic!("compile: {e}"),
    }
}

pub fn try_compile(functions: Vec<Function>) -> Result<SimtModule, hypersonic_llvm::CodegenError> {
    let m = Module {
        functions,
        entry: FuncId(0),
        exceptions: vec![],
    };
    SimtModule::compile(&m, &HostOptions::default())
}

/// 16-byte aligned zeroed bytes.
fn buffer(bytes: u64) -> Vec<u128> {
    vec![0u128; (bytes as usize).div_ceil(16).max(1)]
}

fn blocks(grid: [u32; 3]) -> Vec<[u32; 3]> {
    let mut v = Vec::new();
    for z in 0..grid[2] {
        for y in 0..grid[1] {
            for x in 0..grid[0] {
                v.push([x, y, z]);
            }
        }
    }
    v
}

/// Runs blocks `ids` one after the other with one worker's buffers.
fn run_blocks(
    k: &SimtModule,
    args: &[u64],
    ids: &[[u32; 3]],
    grid: [u32; 3],
    block: [u32; 3],
    dynamic: u64,
) -> u32 {
    let nthreads = block.iter().map(|&d| d as u64).product::<u64>();
    let mut shared = buffer(k.static_shared_bytes() + dynamic);
    let scratch_bytes = k.scratch_bytes_per_thread() * nthreads;
    let guard = hypersonic_ir::abi::SCRATCH_GUARD_BYTES;
    let mut scratch = buffer(scratch_bytes + 2 * guard);
    // Fill with garbage: the block function must not rely on zeroed buffers.
    for x in shared.iter_mut().chain(scratch.iter_mut()) {
        *x = 0xa5a5_a5a5_a5a5_a5a5_a5a5_a5a5_a5a5_a5a5;
    }
    let f = k.block_entry();
    for &b in ids {
        let ctx = BlockContext {
            block_idx: b,
            block_dim: block,
            grid_dim: grid,
            private_mask: 0,
            shared: shared.as_mut_ptr() as *mut u8,
            dynamic_shared_bytes: dynamic,
            scratch: unsafe { (scratch.as_mut_ptr() as *mut u8).add(guard as usize) },
            scratch_bytes,
            split_part: 0,
            split_parts: 1,
        };
        let st = unsafe { f(args.as_ptr(), &ctx) };
        if st != 0 {
            return st;
        }
    }
    0
}

/// Runs the grid, block after block; returns the first nonzero status.
pub fn launch(k: &SimtModule, args: &[u64], grid: [u32; 3], block: [u32; 3], dynamic: u64) -> u32 {
    run_blocks(k, args, &blocks(grid), grid, block, dynamic)
}

/// Runs the grid on `workers` OS threads (blocks dealt round-robin).
pub fn launch_parallel(
    k: &SimtModule,
    args: &[u64],
    grid: [u32; 3],
    block: [u32; 3],
    workers: usize,
) -> u32 {
    let all = blocks(grid);
    let args_addr = args.as_ptr() as usize;
    let nargs = args.len();
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..workers)
            .map(|w| {
                let mine: Vec<[u32; 3]> = all.iter().copied().skip(w).step_by(workers).collect();
                s.spawn(move || {
                    // SAFETY: `args` outlives the scope.
                    let args =
                        unsafe { std::slice::from_raw_parts(args_addr as *const u64, nargs) };
                    run_blocks(k, args, &mine, grid, block, 0)
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap())
            .find(|&s| s != 0)
            .unwrap_or(0)
    })
}

pub fn arr_slots<T>(data: &[T], shape: &[i64]) -> Vec<u64> {
    let size = std::mem::size_of::<T>() as i64;
    let mut strides = vec![0i64; shape.len()];
    let mut s = size;
    for k in (0..shape.len()).rev() {
        strides[k] = s;
        s *= shape[k];
    }
    let mut v = vec![data.as_ptr() as u64];
    v.extend(shape.iter().map(|x| *x as u64));
    v.extend(strides.iter().map(|x| *x as u64));
    v
}

pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn f64(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub const I32: Type = Type::Scalar(Scalar::I32);
pub const U32: Type = Type::Scalar(Scalar::U32);
pub const F32: Type = Type::Scalar(Scalar::F32);

pub fn a1(dtype: Scalar) -> Type {
    Type::array(dtype, 1, Layout::C)
}
pub fn a2(dtype: Scalar) -> Type {
    Type::array(dtype, 2, Layout::C)
}

/// A kernel under construction.
pub struct K {
    pub b: FunctionBuilder,
}

impl K {
    pub fn new(name: &str, params: Vec<Type>) -> K {
        K {
            b: FunctionBuilder::new(name, params, Type::None),
        }
    }
    pub fn func(name: &str, params: Vec<Type>, ret: Type) -> K {
        K {
            b: FunctionBuilder::new(name, params, ret),
        }
    }
    pub fn finish(mut self) -> Function {
        if !self.b.is_terminated() {
            self.b.push(Stmt::Return { value: None });
        }
        self.b.finish()
    }
    pub fn ty(&self, v: ValueId) -> Type {
        self.b.value_type(v).clone()
    }
    pub fn emit(&mut self, op: Op, t: Type) -> ValueId {
        self.b.emit(op, t)
    }
    pub fn param(&mut self, i: u32, t: Type) -> ValueId {
        self.b.emit(Op::Param(i), t)
    }
    pub fn i64c(&mut self, x: i64) -> ValueId {
        self.b.emit(Op::Const(Const::Int(x)), Type::I64)
    }
    pub fn i32c(&mut self, x: i64) -> ValueId {
        self.b.emit(Op::Const(Const::Int(x)), I32)
    }
    pub fn u32c(&mut self, x: u32) -> ValueId {
        self.b.emit(Op::Const(Const::Int(x as i64)), U32)
    }
    pub fn f64c(&mut self, x: f64) -> ValueId {
        self.b.emit(Op::Const(Const::Float(x)), Type::F64)
    }
    pub fn geom(&mut self, g: Geometry, a: Axis) -> ValueId {
        self.b.emit(Op::Geometry(g, a), I32)
    }
    pub fn tid(&mut self) -> ValueId {
        let t = self.geom(Geometry::ThreadIdx, Axis::X);
        self.cast(t, Type::I64)
    }
    /// `blockIdx.x * blockDim.x + threadIdx.x` as `i64` (`cuda.grid(1)`).
    pub fn grid1(&mut self) -> ValueId {
        let bi = self.geom(Geometry::BlockIdx, Axis::X);
        let bd = self.geom(Geometry::BlockDim, Axis::X);
        let t = self.geom(Geometry::ThreadIdx, Axis::X);
        let p = self.bin(BinaryOp::Mul, bi, bd);
        let s = self.bin(BinaryOp::Add, p, t);
        self.cast(s, Type::I64)
    }
    pub fn cast(&mut self, v: ValueId, t: Type) -> ValueId {
        self.b.emit(Op::Cast(v), t)
    }
    pub fn bin(&mut self, op: BinaryOp, a: ValueId, b: ValueId) -> ValueId {
        let t = self.ty(a);
        self.b.emit(Op::Binary(op, a, b), t)
    }
    pub fn cmp(&mut self, op: CmpOp, a: ValueId, b: ValueId) -> ValueId {
        self.b.emit(Op::Compare(op, a, b), Type::BOOL)
    }
    pub fn and(&mut self, a: ValueId, b: ValueId) -> ValueId {
        self.bin(BinaryOp::BitAnd, a, b)
    }
    pub fn not(&mut self, a: ValueId) -> ValueId {
        self.b.emit(Op::Unary(UnaryOp::Not, a), Type::BOOL)
    }
    pub fn dim(&mut self, a: ValueId, k: u8) -> ValueId {
        self.b.emit(Op::ArrayDim(a, k), Type::I64)
    }
    pub fn load(&mut self, a: ValueId, idx: &[ValueId]) -> ValueId {
        let Type::Array { dtype, .. } = self.ty(a) else {
            panic!("not an array")
        };
        self.b
            .emit(Op::ArrayLoad(a, idx.to_vec()), Type::Scalar(dtype))
    }
    pub fn store(&mut self, a: ValueId, idx: &[ValueId], v: ValueId) {
        self.b.push(Stmt::ArrayStore {
            array: a,
            indices: idx.to_vec(),
            value: v,
            loc: Loc::default(),
        });
    }
    pub fn shared(&mut self, dtype: Scalar, shape: &[i64], dynamic: bool) -> ValueId {
        self.b.emit(
            Op::SharedArray {
                dtype,
                shape: shape.to_vec(),
                dynamic,
            },
            Type::Array {
                dtype,
                ndim: shape.len() as u8,
                layout: Layout::C,
                space: Space::Shared,
            },
        )
    }
    pub fn local_array(&mut self, dtype: Scalar, shape: &[i64]) -> ValueId {
        self.b.emit(
            Op::LocalArray {
                dtype,
                shape: shape.to_vec(),
            },
            Type::Array {
                dtype,
                ndim: shape.len() as u8,
                layout: Layout::C,
                space: Space::Local,
            },
        )
    }
    pub fn local(&mut self, name: &str, t: Type) -> LocalId {
        self.b.add_local(name, t)
    }
    pub fn set(&mut self, l: LocalId, v: ValueId) {
        self.b.push(Stmt::Store { local: l, value: v });
    }
    pub fn get(&mut self, l: LocalId) -> ValueId {
        let t = self.b.local_type(l).clone();
        self.b.emit(Op::LoadLocal(l), t)
    }
    pub fn barrier(&mut self) {
        self.b.push(Stmt::Barrier {
            loc: Loc::default(),
        });
    }
    pub fn if_(&mut self, c: ValueId, then: impl FnOnce(&mut K)) {
        self.if_else(c, then, |_| {});
    }
    pub fn if_else(&mut self, c: ValueId, then: impl FnOnce(&mut K), els: impl FnOnce(&mut K)) {
        self.b.open_block();
        then(self);
        let then_block = self.b.close_block();
        self.b.open_block();
        els(self);
        let else_block = self.b.close_block();
        self.b.push(Stmt::If {
            cond: c,
            then_block,
            else_block,
        });
    }
    /// `while cond(): body()`.
    pub fn while_(&mut self, cond: impl FnOnce(&mut K) -> ValueId, body: impl FnOnce(&mut K)) {
        self.b.open_block();
        let c = cond(self);
        let nc = self.not(c);
        self.if_(nc, |k| k.b.push(Stmt::Break));
        body(self);
        let body = self.b.close_block();
        self.b.push(Stmt::Loop { body });
    }
    /// `for i in range(start, stop)`.
    pub fn range(&mut self, start: ValueId, stop: ValueId, body: impl FnOnce(&mut K, ValueId)) {
        let it = self.local("$it", Type::I64);
        self.set(it, start);
        self.b.open_block();
        let i = self.get(it);
        let done = self.cmp(CmpOp::Ge, i, stop);
        self.if_(done, |k| k.b.push(Stmt::Break));
        let one = self.i64c(1);
        let n = self.bin(BinaryOp::Add, i, one);
        self.set(it, n);
        body(self, i);
        let body = self.b.close_block();
        self.b.push(Stmt::Loop { body });
    }
    pub fn shfl(&mut self, kind: Shuffle, v: ValueId, lane: ValueId, width: i64) -> ValueId {
        let mask = self.u32c(u32::MAX);
        let w = self.i32c(width);
        let t = self.ty(v);
        self.b.emit(
            Op::WarpShuffle {
                kind,
                mask,
                value: v,
                lane,
                width: w,
            },
            t,
        )
    }
    pub fn vote(&mut self, kind: Vote, mask: u32, p: ValueId) -> ValueId {
        let m = self.u32c(mask);
        let t = if kind == Vote::Ballot {
            U32
        } else {
            Type::BOOL
        };
        self.b.emit(
            Op::WarpVote {
                kind,
                mask: m,
                pred: p,
            },
            t,
        )
    }
}

// ---- kernels shared by the tests and the benchmark ----

/// `i = cuda.grid(1); if i < a.shape[0]: c[i] = a[i] + b[i]`
pub fn vecadd() -> Function {
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

/// Naive 2-D matmul: `i, j = cuda.grid(2)` (x → column).
pub fn matmul_naive() -> Function {
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

pub const TILE: i64 = 16;

/// Tiled matmul with two shared tiles and `syncthreads` inside a uniform loop.
pub fn matmul_tiled() -> Function {
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
