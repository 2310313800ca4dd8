//! Array loads, stores, views and strides; vectorisation of contiguous loops.
mod common;
use common::*;
use hypersonic_ir::builder::FunctionBuilder;
use hypersonic_ir::*;
use hypersonic_llvm::HostOptions;

fn array_slots<T>(data: &[T], shape: &[i64], strides: &[i64]) -> Vec<u64> {
    let mut v = vec![data.as_ptr() as u64];
    v.extend(shape.iter().map(|x| *x as u64));
    v.extend(strides.iter().map(|x| *x as u64));
    v
}

/// s = 0.0; for i in range(a.shape[0]): s += a[i]; return s
fn sum1d(layout: Layout, dtype: Scalar) -> Function {
    let at = arr(dtype, 1, layout);
    let t = Type::Scalar(dtype);
    let mut b = FunctionBuilder::new(format!("sum1d_{layout:?}"), vec![at.clone()], t.clone());
    let a = b.emit(Op::Param(0), at);
    let n = b.emit(Op::ArrayDim(a, 0), Type::I64);
    let s = b.add_local("s", t.clone());
    let z = b.emit(Op::Const(Const::Float(0.0)), t.clone());
    b.push(Stmt::Store { local: s, value: z });
    for_range(&mut b, n, |b, i| {
        let x = b.emit(Op::ArrayLoad(a, vec![i]), t.clone());
        let sv = b.emit(Op::LoadLocal(s), t.clone());
        let s2 = b.emit(Op::Binary(BinaryOp::Add, sv, x), t.clone());
        b.push(Stmt::Store {
            local: s,
            value: s2,
        });
    });
    let r = b.emit(Op::LoadLocal(s), t);
    b.push(Stmt::Return { value: Some(r) });
    b.finish()
}

#[test]
fn sum_1d_contiguous_and_strided() {
    let mut r = Rng(31);
    let data: Vec<f64> = (0..1001)
        .map(|_| r.f64() / 1e3)
        .map(|x| if x.is_finite() { x } else { 1.0 })
        .collect();
    let hc = single(sum1d(Layout::C, Scalar::F64));
    let ha = single(sum1d(Layout::A, Scalar::F64));
    let want: f64 = data.iter().fold(0.0, |s, x| s + x);
    assert_eq!(
        f64::from_bits(call1(&hc, &array_slots(&data, &[1001], &[8]))),
        want
    );
    assert_eq!(
        f64::from_bits(call1(&ha, &array_slots(&data, &[1001], &[8]))),
        want
    );
    // Every third element, and backwards (negative stride from the last element).
    let want3: f64 = data.iter().step_by(3).fold(0.0, |s, x| s + x);
    assert_eq!(
        f64::from_bits(call1(&ha, &array_slots(&data, &[334], &[24]))),
        want3
    );
    let back: f64 = data.iter().rev().fold(0.0, |s, x| s + x);
    let last = &data[1000..];
    let slots = vec![last.as_ptr() as u64, 1001, (-8i64) as u64];
    assert_eq!(f64::from_bits(call1(&ha, &slots)), back);
}

#[test]
fn contiguous_float_sum_vectorizes_under_fastmath() {
    let m = module(vec![sum1d(Layout::C, Scalar::F64)], vec![]);
    let fast = compile_opts(
        &m,
        HostOptions {
            opt_level: 3,
            fastmath: true,
        },
    );
    let strict = compile_opts(
        &m,
        HostOptions {
            opt_level: 3,
            fastmath: false,
        },
    );
    let ir = fast.llvm_ir();
    let vector = ir.contains("x double>");
    println!(
        "fastmath sum: vector IR = {vector}; compile {:?}",
        fast.compile_times()
    );
    let asm = fast.asm();
    println!(
        "fastmath asm uses ymm: {}, zmm: {}",
        asm.contains("ymm"),
        asm.contains("zmm")
    );
    assert!(vector, "{ir}");
    // The JIT's machine code itself: VEX prefixes (0xC4/0xC5) mean AVX encodings,
    // i.e. MCJIT honoured the host `target-cpu`/`target-features` attributes.
    let code = unsafe { std::slice::from_raw_parts(fast.entry() as *const u8, 128) };
    if let Ok(path) = std::env::var("HS_DUMP_JIT") {
        std::fs::write(path, code).unwrap();
    }
    println!(
        "JIT code has VEX prefixes: {}",
        code.windows(1).any(|w| w[0] == 0xc5 || w[0] == 0xc4)
    );
    // Without fastmath, the sum must stay in order (no reassociation).
    assert!(
        !strict.llvm_ir().contains("reduce.fadd"),
        "strict sums must not be reassociated"
    );
    let data: Vec<f64> = (0..1000).map(|i| i as f64 * 0.5).collect();
    let got = f64::from_bits(call1(&fast, &array_slots(&data, &[1000], &[8])));
    assert_eq!(got, data.iter().sum::<f64>());
    // Throughput, printed only.
    let big: Vec<f64> = (0..1_000_000).map(|i| (i % 7) as f64).collect();
    for (name, h) in [("fastmath", &fast), ("strict", &strict)] {
        let slots = array_slots(&big, &[big.len() as i64], &[8]);
        let t = std::time::Instant::now();
        for _ in 0..20 {
            std::hint::black_box(call1(h, &slots));
        }
        println!("{name}: 1e6-element sum in {:?}", t.elapsed() / 20);
    }
}

/// out[i, j] = a[i, j] * 2 + i * 10 + j over a 2-D array, then the sum of row `r` via SubArray.
fn fill_and_row_sum(layout: Layout) -> Function {
    let at = arr(Scalar::F64, 2, layout);
    let mut b = FunctionBuilder::new(
        format!("fill_{layout:?}"),
        vec![at.clone(), Type::I64],
        Type::F64,
    );
    let a = b.emit(Op::Param(0), at.clone());
    let row = b.emit(Op::Param(1), Type::I64);
    let n0 = b.emit(Op::ArrayDim(a, 0), Type::I64);
    let n1 = b.emit(Op::ArrayDim(a, 1), Type::I64);
    for_range(&mut b, n0, |b, i| {
        for_range(b, n1, |b, j| {
            let x = b.emit(Op::ArrayLoad(a, vec![i, j]), Type::F64);
            let two = b.emit(Op::Const(Const::Float(2.0)), Type::F64);
            let x2 = b.emit(Op::Binary(BinaryOp::Mul, x, two), Type::F64);
            let ten = b.emit(Op::Const(Const::Int(10)), Type::I64);
            let i10 = b.emit(Op::Binary(BinaryOp::Mul, i, ten), Type::I64);
            let ij = b.emit(Op::Binary(BinaryOp::Add, i10, j), Type::I64);
            let ijf = b.emit(Op::Cast(ij), Type::F64);
            let v = b.emit(Op::Binary(BinaryOp::Add, x2, ijf), Type::F64);
            b.push(Stmt::ArrayStore {
                array: a,
                indices: vec![i, j],
                value: v,
                loc: Loc::default(),
            });
        });
    });
    let view_t = arr(
        Scalar::F64,
        1,
        if layout == Layout::C {
            Layout::C
        } else {
            Layout::A
        },
    );
    let v = b.emit(Op::SubArray(a, vec![row]), view_t.clone());
    let len = b.emit(Op::ArrayDim(v, 0), Type::I64);
    let s = b.add_local("s", Type::F64);
    let z = b.emit(Op::Const(Const::Float(0.0)), Type::F64);
    b.push(Stmt::Store { local: s, value: z });
    for_range(&mut b, len, |b, k| {
        let x = b.emit(Op::ArrayLoad(v, vec![k]), Type::F64);
        let sv = b.emit(Op::LoadLocal(s), Type::F64);
        let s2 = b.emit(Op::Binary(BinaryOp::Add, sv, x), Type::F64);
        b.push(Stmt::Store {
            local: s,
            value: s2,
        });
    });
    let r = b.emit(Op::LoadLocal(s), Type::F64);
    b.push(Stmt::Return { value: Some(r) });
    b.finish()
}

#[test]
fn two_d_load_store_and_subarray() {
    let mut r = Rng(55);
    let (n0, n1) = (13usize, 17usize);
    // C-contiguous.
    let mut c: Vec<f64> = (0..n0 * n1).map(|_| (r.next() % 1000) as f64).collect();
    let orig = c.clone();
    let h = single(fill_and_row_sum(Layout::C));
    let row = 5;
    let got = f64::from_bits(call1(
        &h,
        &[
            array_slots(&c, &[n0 as i64, n1 as i64], &[n1 as i64 * 8, 8]),
            vec![row],
        ]
        .concat(),
    ));
    for i in 0..n0 {
        for j in 0..n1 {
            assert_eq!(c[i * n1 + j], orig[i * n1 + j] * 2.0 + (i * 10 + j) as f64);
        }
    }
    let want: f64 = (0..n1)
        .map(|j| c[row as usize * n1 + j])
        .fold(0.0, |s, x| s + x);
    assert_eq!(got, want);
    // Non-contiguous: the transpose of a (n1, n0) buffer, seen as (n0, n1) with
    // strides (8, n0*8), through a layout-A function.
    let mut buf: Vec<f64> = (0..n0 * n1).map(|_| (r.next() % 1000) as f64).collect();
    let orig = buf.clone();
    let h = single(fill_and_row_sum(Layout::A));
    let got = f64::from_bits(call1(
        &h,
        &[
            array_slots(&buf, &[n0 as i64, n1 as i64], &[8, n0 as i64 * 8]),
            vec![row],
        ]
        .concat(),
    ));
    let at = |buf: &[f64], i: usize, j: usize| buf[j * n0 + i];
    for i in 0..n0 {
        for j in 0..n1 {
            assert_eq!(at(&buf, i, j), at(&orig, i, j) * 2.0 + (i * 10 + j) as f64);
        }
    }
    let want: f64 = (0..n1)
        .map(|j| at(&buf, row as usize, j))
        .fold(0.0, |s, x| s + x);
    assert_eq!(got, want);
    buf.clear();
    c.clear();
}

#[test]
fn bool_int_and_complex_elements() {
    // out[i] = (a[i] > 0) stored into a bool array, count returned; complex doubled in place.
    let ai = arr(Scalar::I32, 1, Layout::C);
    let ab = arr(Scalar::Bool, 1, Layout::C);
    let ac = arr(Scalar::C128, 1, Layout::A);
    let mut b = FunctionBuilder::new("elems", vec![ai.clone(), ab.clone(), ac.clone()], Type::I64);
    let a = b.emit(Op::Param(0), ai);
    let o = b.emit(Op::Param(1), ab);
    let c = b.emit(Op::Param(2), ac);
    let n = b.emit(Op::ArrayDim(a, 0), Type::I64);
    let cnt = b.add_local("cnt", Type::I64);
    let z = b.emit(Op::Const(Const::Int(0)), Type::I64);
    b.push(Stmt::Store {
        local: cnt,
        value: z,
    });
    for_range(&mut b, n, |b, i| {
        let x = b.emit(Op::ArrayLoad(a, vec![i]), Type::Scalar(Scalar::I32));
        let z32 = b.emit(Op::Const(Const::Int(0)), Type::Scalar(Scalar::I32));
        let pos = b.emit(Op::Compare(CmpOp::Gt, x, z32), Type::BOOL);
        b.push(Stmt::ArrayStore {
            array: o,
            indices: vec![i],
            value: pos,
            loc: Loc::default(),
        });
        let back = b.emit(Op::ArrayLoad(o, vec![i]), Type::BOOL);
        let as_int = b.emit(Op::Cast(back), Type::I64);
        let cv = b.emit(Op::LoadLocal(cnt), Type::I64);
        let c2 = b.emit(Op::Binary(BinaryOp::Add, cv, as_int), Type::I64);
        b.push(Stmt::Store {
            local: cnt,
            value: c2,
        });
        let z = b.emit(Op::ArrayLoad(c, vec![i]), Type::Scalar(Scalar::C128));
        let zz = b.emit(Op::Binary(BinaryOp::Mul, z, z), Type::Scalar(Scalar::C128));
        b.push(Stmt::ArrayStore {
            array: c,
            indices: vec![i],
            value: zz,
            loc: Loc::default(),
        });
    });
    let r = b.emit(Op::LoadLocal(cnt), Type::I64);
    b.push(Stmt::Return { value: Some(r) });
    let h = single(b.finish());
    let mut r = Rng(2);
    let a: Vec<i32> = (0..100).map(|_| r.next() as i32).collect();
    let mut o = vec![7u8; 100];
    // Complex values interleaved with padding: stride 32 bytes.
    let mut cbuf: Vec<f64> = (0..400).map(|k| (k % 13) as f64 - 6.0).collect();
    let orig = cbuf.clone();
    let slots = [
        array_slots(&a, &[100], &[4]),
        array_slots(&o, &[100], &[1]),
        array_slots(&cbuf, &[100], &[32]),
    ]
    .concat();
    let got = call1(&h, &slots) as i64;
    assert_eq!(got, a.iter().filter(|x| **x > 0).count() as i64);
    for i in 0..100 {
        assert_eq!(o[i], (a[i] > 0) as u8);
        let (re, im) = (orig[4 * i], orig[4 * i + 1]);
        assert_eq!(
            (cbuf[4 * i], cbuf[4 * i + 1]),
            (re * re - im * im, 2.0 * re * im)
        );
        assert_eq!(
            (cbuf[4 * i + 2], cbuf[4 * i + 3]),
            (orig[4 * i + 2], orig[4 * i + 3])
        );
    }
    o.clear();
    cbuf.clear();
}

/// A "ragged sum": rows of different lengths given by an offsets array.
/// total = Σ_r Σ_{k in offsets[r]..offsets[r+1]} values[k] * (r + 1)
#[test]
fn ragged_sum() {
    let iv = arr(Scalar::I64, 1, Layout::C);
    let fv = arr(Scalar::F64, 1, Layout::C);
    let mut b = FunctionBuilder::new(
        "ragged_sum__i64_arr_f64_1d_C",
        vec![iv.clone(), fv.clone()],
        Type::F64,
    );
    let off = b.emit(Op::Param(0), iv);
    let vals = b.emit(Op::Param(1), fv);
    let n = b.emit(Op::ArrayDim(off, 0), Type::I64);
    let one = b.emit(Op::Const(Const::Int(1)), Type::I64);
    let rows = b.emit(Op::Binary(BinaryOp::Sub, n, one), Type::I64);
    let total = b.add_local("total", Type::F64);
    let z = b.emit(Op::Const(Const::Float(0.0)), Type::F64);
    b.push(Stmt::Store {
        local: total,
        value: z,
    });
    for_range(&mut b, rows, |b, r| {
        let lo = b.emit(Op::ArrayLoad(off, vec![r]), Type::I64);
        let one = b.emit(Op::Const(Const::Int(1)), Type::I64);
        let r1 = b.emit(Op::Binary(BinaryOp::Add, r, one), Type::I64);
        let hi = b.emit(Op::ArrayLoad(off, vec![r1]), Type::I64);
        let w = b.emit(Op::Cast(r1), Type::F64);
        let k = b.add_local("k", Type::I64);
        b.push(Stmt::Store {
            local: k,
            value: lo,
        });
        b.open_block();
        let kv = b.emit(Op::LoadLocal(k), Type::I64);
        let done = b.emit(Op::Compare(CmpOp::Ge, kv, hi), Type::BOOL);
        b.open_block();
        b.push(Stmt::Break);
        let t = b.close_block();
        b.push(Stmt::If {
            cond: done,
            then_block: t,
            else_block: Block::default(),
        });
        let x = b.emit(Op::ArrayLoad(vals, vec![kv]), Type::F64);
        let xw = b.emit(Op::Binary(BinaryOp::Mul, x, w), Type::F64);
        let tv = b.emit(Op::LoadLocal(total), Type::F64);
        let t2 = b.emit(Op::Binary(BinaryOp::Add, tv, xw), Type::F64);
        b.push(Stmt::Store {
            local: total,
            value: t2,
        });
        let one = b.emit(Op::Const(Const::Int(1)), Type::I64);
        let k2 = b.emit(Op::Binary(BinaryOp::Add, kv, one), Type::I64);
        b.push(Stmt::Store {
            local: k,
            value: k2,
        });
        let body = b.close_block();
        b.push(Stmt::Loop { body });
    });
    let tv = b.emit(Op::LoadLocal(total), Type::F64);
    b.push(Stmt::Return { value: Some(tv) });
    let m = module(vec![b.finish()], vec![]);
    let mut r = Rng(71);
    let mut offsets = vec![0i64];
    for _ in 0..200 {
        let last = *offsets.last().unwrap();
        offsets.push(last + (r.next() % 40) as i64);
    }
    let nvals = *offsets.last().unwrap() as usize;
    let values: Vec<f64> = (0..nvals)
        .map(|_| (r.next() % 10_000) as f64 / 100.0)
        .collect();
    let mut want = 0.0;
    for row in 0..200 {
        for k in offsets[row]..offsets[row + 1] {
            want += values[k as usize] * (row + 1) as f64;
        }
    }
    let slots = [
        array_slots(&offsets, &[offsets.len() as i64], &[8]),
        array_slots(&values, &[nvals as i64], &[8]),
    ]
    .concat();
    for fastmath in [false, true] {
        let t = std::time::Instant::now();
        let h = compile_opts(
            &m,
            HostOptions {
                opt_level: 3,
                fastmath,
            },
        );
        println!(
            "ragged_sum fastmath={fastmath}: compiled in {:?}",
            t.elapsed()
        );
        let got = f64::from_bits(call1(&h, &slots));
        if fastmath {
            assert!(close_f64(got, want, 1e-12), "{got} vs {want}");
            println!(
                "ragged_sum vector IR: {}",
                h.llvm_ir().contains("x double>")
            );
        } else {
            assert_eq!(got, want);
        }
        assert!(h.llvm_ir().contains("ragged_sum__i64_arr_f64_1d_C"));
    }
}

#[test]
fn strides_and_dims_ops() {
    let at = arr(Scalar::F32, 3, Layout::C);
    let tt = Type::Tuple(vec![Type::I64; 6]);
    let mut b = FunctionBuilder::new("meta", vec![at.clone()], tt.clone());
    let a = b.emit(Op::Param(0), at);
    let mut items = vec![];
    for k in 0..3 {
        items.push(b.emit(Op::ArrayDim(a, k), Type::I64));
    }
    for k in 0..3 {
        items.push(b.emit(Op::ArrayStride(a, k), Type::I64));
    }
    let t = b.emit(Op::MakeTuple(items), tt);
    b.push(Stmt::Return { value: Some(t) });
    let h = single(b.finish());
    let data = vec![0f32; 2 * 3 * 4];
    let (st, out) = call(&h, &array_slots(&data, &[2, 3, 4], &[48, 16, 4]), 6);
    assert_eq!(st, 0);
    assert_eq!(out, vec![2, 3, 4, 48, 16, 4]);
}
