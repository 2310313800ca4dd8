//! Loops, branches, calls, raises, tuples.
mod common;
use common::*;
use hypersonic_ir::builder::FunctionBuilder;
use hypersonic_ir::*;

fn c_int(b: &mut FunctionBuilder, v: i64) -> ValueId {
    b.emit(Op::Const(Const::Int(v)), Type::I64)
}

/// s = 0; for i in range(n): if i % 3 == 0: continue; if s > limit: break; s += i*i
#[test]
fn loop_with_break_and_continue() {
    let mut b = FunctionBuilder::new("loopy", vec![Type::I64, Type::I64], Type::I64);
    let n = b.emit(Op::Param(0), Type::I64);
    let limit = b.emit(Op::Param(1), Type::I64);
    let s = b.add_local("s", Type::I64);
    let z = c_int(&mut b, 0);
    b.push(Stmt::Store { local: s, value: z });
    for_range(&mut b, n, |b, i| {
        let three = c_int(b, 3);
        let m = b.emit(Op::Binary(BinaryOp::Mod, i, three), Type::I64);
        let zero = c_int(b, 0);
        let c = b.emit(Op::Compare(CmpOp::Eq, m, zero), Type::BOOL);
        b.open_block();
        b.push(Stmt::Continue);
        let then_block = b.close_block();
        b.push(Stmt::If {
            cond: c,
            then_block,
            else_block: Block::default(),
        });
        let sv = b.emit(Op::LoadLocal(s), Type::I64);
        let over = b.emit(Op::Compare(CmpOp::Gt, sv, limit), Type::BOOL);
        b.open_block();
        b.push(Stmt::Break);
        let then_block = b.close_block();
        b.push(Stmt::If {
            cond: over,
            then_block,
            else_block: Block::default(),
        });
        let sq = b.emit(Op::Binary(BinaryOp::Mul, i, i), Type::I64);
        let s2 = b.emit(Op::Binary(BinaryOp::Add, sv, sq), Type::I64);
        b.push(Stmt::Store {
            local: s,
            value: s2,
        });
    });
    let r = b.emit(Op::LoadLocal(s), Type::I64);
    b.push(Stmt::Return { value: Some(r) });
    let h = single(b.finish());
    let reference = |n: i64, limit: i64| {
        let mut s = 0i64;
        for i in 0..n {
            if i % 3 == 0 {
                continue;
            }
            if s > limit {
                break;
            }
            s += i * i;
        }
        s
    };
    let mut r = Rng(4);
    for _ in 0..300 {
        let n = (r.next() % 500) as i64 - 10;
        let limit = (r.next() % 100_000) as i64;
        assert_eq!(
            call1(&h, &[n as u64, limit as u64]) as i64,
            reference(n, limit),
            "{n} {limit}"
        );
    }
}

#[test]
fn nested_ifs_and_early_returns() {
    let mut b = FunctionBuilder::new("classify", vec![Type::I64], Type::I64);
    let x = b.emit(Op::Param(0), Type::I64);
    let zero = c_int(&mut b, 0);
    let neg = b.emit(Op::Compare(CmpOp::Lt, x, zero), Type::BOOL);
    b.open_block();
    {
        let m100 = c_int(&mut b, -100);
        let big = b.emit(Op::Compare(CmpOp::Lt, x, m100), Type::BOOL);
        b.open_block();
        let r = c_int(&mut b, -2);
        b.push(Stmt::Return { value: Some(r) });
        let t = b.close_block();
        b.open_block();
        let r = c_int(&mut b, -1);
        b.push(Stmt::Return { value: Some(r) });
        let e = b.close_block();
        b.push(Stmt::If {
            cond: big,
            then_block: t,
            else_block: e,
        });
    }
    let then_block = b.close_block();
    b.open_block();
    {
        let is0 = b.emit(Op::Compare(CmpOp::Eq, x, zero), Type::BOOL);
        b.open_block();
        b.push(Stmt::Return { value: Some(zero) });
        let t = b.close_block();
        b.push(Stmt::If {
            cond: is0,
            then_block: t,
            else_block: Block::default(),
        });
    }
    let else_block = b.close_block();
    b.push(Stmt::If {
        cond: neg,
        then_block,
        else_block,
    });
    let one = c_int(&mut b, 1);
    // Select is evaluated eagerly and works on any type.
    let big = c_int(&mut b, 1000);
    let gt = b.emit(Op::Compare(CmpOp::Gt, x, big), Type::BOOL);
    let two = c_int(&mut b, 2);
    let r = b.emit(Op::Select(gt, two, one), Type::I64);
    b.push(Stmt::Return { value: Some(r) });
    let h = single(b.finish());
    let mut r = Rng(6);
    for _ in 0..1000 {
        let x = r.i64();
        let want = if x < 0 {
            if x < -100 {
                -2
            } else {
                -1
            }
        } else if x == 0 {
            0
        } else if x > 1000 {
            2
        } else {
            1
        };
        assert_eq!(call1(&h, &[x as u64]) as i64, want, "{x}");
    }
}

/// g(x) = x * 2 raising ValueError when x < 0; f(x) = g(x) + 1.
fn caller_callee() -> Module {
    let mut g = FunctionBuilder::new("g", vec![Type::I64], Type::I64);
    let x = g.emit(Op::Param(0), Type::I64);
    let zero = c_int(&mut g, 0);
    let neg = g.emit(Op::Compare(CmpOp::Lt, x, zero), Type::BOOL);
    g.open_block();
    g.push(Stmt::Raise {
        exc: ExcId(1),
        loc: Loc::default(),
    });
    let t = g.close_block();
    g.push(Stmt::If {
        cond: neg,
        then_block: t,
        else_block: Block::default(),
    });
    let two = c_int(&mut g, 2);
    let r = g.emit(Op::Binary(BinaryOp::Mul, x, two), Type::I64);
    g.push(Stmt::Return { value: Some(r) });

    let mut f = FunctionBuilder::new("f", vec![Type::I64], Type::I64);
    let x = f.emit(Op::Param(0), Type::I64);
    let y = f.emit(Op::Call(FuncId(1), vec![x]), Type::I64);
    let one = c_int(&mut f, 1);
    let r = f.emit(Op::Binary(BinaryOp::Add, y, one), Type::I64);
    f.push(Stmt::Return { value: Some(r) });
    module(
        vec![f.finish(), g.finish()],
        vec![
            Exception {
                class: "ZeroDivisionError".into(),
                message: String::new(),
            },
            Exception {
                class: "ValueError".into(),
                message: "negative".into(),
            },
        ],
    )
}

#[test]
fn call_and_raise_propagation() {
    let m = caller_callee();
    for opt in [0, 3] {
        let h = compile_opts(
            &m,
            hypersonic_llvm::HostOptions {
                opt_level: opt,
                fastmath: false,
            },
        );
        let mut r = Rng(10);
        for _ in 0..300 {
            let x = r.i64() / 4;
            let (st, out) = call(&h, &[x as u64], 1);
            if x < 0 {
                assert_eq!(st, 2, "ValueError is exceptions[1]");
            } else {
                assert_eq!(st, 0);
                assert_eq!(out[0] as i64, x * 2 + 1);
            }
        }
        assert!(h.llvm_ir().contains("f__entry"));
        assert!(h.asm().contains("f__entry"));
    }
}

#[test]
fn tuples_in_and_out() {
    // f(t: (i64, f64, bool), k: i64) -> (f64, i64, (bool, i64 item k of (t0, 7, 9)))
    let tin = Type::Tuple(vec![Type::I64, Type::F64, Type::BOOL]);
    let inner = Type::Tuple(vec![Type::BOOL, Type::I64]);
    let tout = Type::Tuple(vec![Type::F64, Type::I64, inner.clone()]);
    let mut b = FunctionBuilder::new("tup", vec![tin.clone(), Type::I64], tout.clone());
    let t = b.emit(Op::Param(0), tin);
    let k = b.emit(Op::Param(1), Type::I64);
    let a = b.emit(Op::TupleGet(t, 0), Type::I64);
    let x = b.emit(Op::TupleGet(t, 1), Type::F64);
    let flag = b.emit(Op::TupleGet(t, 2), Type::BOOL);
    let seven = c_int(&mut b, 7);
    let nine = c_int(&mut b, 9);
    let uni = b.emit(
        Op::MakeTuple(vec![a, seven, nine]),
        Type::Tuple(vec![Type::I64; 3]),
    );
    let picked = b.emit(Op::TupleIndex(uni, k), Type::I64);
    let nf = b.emit(Op::Unary(UnaryOp::Not, flag), Type::BOOL);
    let inn = b.emit(Op::MakeTuple(vec![nf, picked]), inner);
    let r = b.emit(Op::MakeTuple(vec![x, a, inn]), tout);
    b.push(Stmt::Return { value: Some(r) });
    let h = single(b.finish());
    let mut r = Rng(12);
    for _ in 0..300 {
        let (a, x, fl, k) = (r.i64(), r.f64(), r.next() % 2, r.next() % 3);
        let (st, out) = call(&h, &[a as u64, x.to_bits(), fl, k], 4);
        assert_eq!(st, 0);
        assert!(same_f64(f64::from_bits(out[0]), x));
        assert_eq!(out[1] as i64, a);
        assert_eq!(out[2], 1 - fl);
        assert_eq!(out[3] as i64, [a, 7, 9][k as usize]);
    }
}

#[test]
fn none_function_and_fallthrough() {
    // A function returning None that calls another returning None.
    let mut g = FunctionBuilder::new("noop", vec![Type::I64], Type::None);
    let _ = g.emit(Op::Param(0), Type::I64);
    let mut f = FunctionBuilder::new("outer", vec![Type::I64], Type::None);
    let x = f.emit(Op::Param(0), Type::I64);
    let _ = f.emit(Op::Call(FuncId(1), vec![x]), Type::None);
    let h = compile(&module(vec![f.finish(), g.finish()], vec![]));
    let (st, _) = call(&h, &[5], 0);
    assert_eq!(st, 0);
}

#[test]
fn compile_speed() {
    let m = caller_callee();
    for opt in [0u8, 2, 3] {
        let mut best = std::time::Duration::MAX;
        for _ in 0..5 {
            let t = std::time::Instant::now();
            let h = compile_opts(
                &m,
                hypersonic_llvm::HostOptions {
                    opt_level: opt,
                    fastmath: false,
                },
            );
            best = best.min(t.elapsed());
            assert_eq!(call1(&h, &[20]), 41);
        }
        println!("two-function module at O{opt}: best of 5 = {best:?}");
    }
}

#[test]
fn host_module_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<hypersonic_llvm::HostModule>();
    let h = std::sync::Arc::new(compile(&caller_callee()));
    let threads: Vec<_> = (0..4)
        .map(|k| {
            let h = h.clone();
            std::thread::spawn(move || {
                assert!(!h.asm().is_empty());
                call1(&h, &[k]) as i64
            })
        })
        .collect();
    for (k, t) in threads.into_iter().enumerate() {
        assert_eq!(t.join().unwrap(), k as i64 * 2 + 1);
    }
}

#[test]
fn invalid_ir_is_an_error_not_a_panic() {
    let mut b = FunctionBuilder::new("bad", vec![Type::I64, Type::F64], Type::I64);
    let x = b.emit(Op::Param(0), Type::I64);
    let y = b.emit(Op::Param(1), Type::F64);
    let s = b.emit(Op::Binary(BinaryOp::Add, x, y), Type::I64);
    b.push(Stmt::Return { value: Some(s) });
    let r = hypersonic_llvm::HostModule::compile(
        &module(vec![b.finish()], vec![]),
        &Default::default(),
    );
    assert!(r.is_err());
}
