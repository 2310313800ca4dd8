mod common;
use common::*;
use hypersonic_ir::*;
use hypersonic_llvm::{HostModule, HostOptions};
use std::time::Instant;

#[test]
fn add_and_timings() {
    let f = unary_fn("add", vec![Type::I64, Type::I64], Type::I64, |p| {
        Op::Binary(BinaryOp::Add, p[0], p[1])
    });
    let m = module(vec![f], vec![]);
    for opt in [0u8, 1, 2, 3] {
        for _ in 0..3 {
            let t = Instant::now();
            let h = HostModule::compile(
                &m,
                &HostOptions {
                    opt_level: opt,
                    fastmath: false,
                },
            )
            .unwrap();
            let total = t.elapsed();
            println!("O{opt}: total {total:?} {:?}", h.compile_times());
            assert_eq!(call1(&h, &[2, 40]), 42);
        }
    }
    let h = compile(&m);
    let ir = h.llvm_ir();
    let asm = h.asm();
    println!("{ir}\n{asm}");
    assert!(ir.contains("add__entry"));
    assert!(asm.contains("add__entry"));
}
