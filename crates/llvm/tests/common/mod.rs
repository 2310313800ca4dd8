//! Helpers shared by the integration tests: building modules, packing slots,
//! pseudo-random inputs.
#![allow(dead_code)]

use hypersonic_ir::builder::FunctionBuilder;
use hypersonic_ir::*;
use hypersonic_llvm::{HostModule, HostOptions};

pub fn module(functions: Vec<Function>, exceptions: Vec<Exception>) -> Module {
    Module {
        functions,
        entry: FuncId(0),
        exceptions,
    }
}

pub fn compile(m: &Module) -> HostModule {
    HostModule::compile(m, &HostOptions::default()).expect("compiles")
}

pub fn compile_opts(m: &Module, opts: HostOptions) -> HostModule {
    HostModule::compile(m, &opts).expect("compiles")
}

/// Calls the entry point with `args` slots; returns the status and `nret` result slots.
pub fn call(h: &HostModule, args: &[u64], nret: usize) -> (u32, Vec<u64>) {
    let mut out = vec![0xdead_beef_u64; nret.max(1)];
    let st = unsafe { (h.entry())(args.as_ptr(), out.as_mut_ptr()) };
    out.truncate(nret);
    (st, out)
}

pub fn call1(h: &HostModule, args: &[u64]) -> u64 {
    let (st, out) = call(h, args, 1);
    assert_eq!(st, 0, "status");
    out[0]
}

/// A function of one operation on its parameters: `ret op(params...)`.
pub fn unary_fn(
    name: &str,
    params: Vec<Type>,
    ret: Type,
    op: impl FnOnce(&[ValueId]) -> Op,
) -> Function {
    let mut b = FunctionBuilder::new(name, params.clone(), ret.clone());
    let ps: Vec<ValueId> = params
        .iter()
        .enumerate()
        .map(|(i, t)| b.emit(Op::Param(i as u32), t.clone()))
        .collect();
    let r = b.emit(op(&ps), ret);
    b.push(Stmt::Return { value: Some(r) });
    b.finish()
}

pub fn single(f: Function) -> HostModule {
    compile(&module(vec![f], vec![]))
}

/// xorshift64*: deterministic, non-zero, covers all bit patterns.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Mostly small numbers with some extremes, so that sign and edge cases show.
    pub fn i64(&mut self) -> i64 {
        let r = self.next();
        match r % 8 {
            0 => [i64::MIN, i64::MAX, -1, 0, 1, i64::MIN + 1][(r >> 8) as usize % 6],
            1 | 2 => r as i64,
            _ => (r >> 3) as i64 % 1000 - 500,
        }
    }
    pub fn f64(&mut self) -> f64 {
        let r = self.next();
        let u = (r >> 11) as f64 / (1u64 << 53) as f64;
        match r % 16 {
            0 => [
                0.0,
                -0.0,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NAN,
                1e300,
                -1e-300,
            ][(r >> 8) as usize % 7],
            1..=4 => (u - 0.5) * 20.0,
            5 => ((u - 0.5) * 40.0).round(),
            _ => (u - 0.5) * 2000.0,
        }
    }
}

/// Equal as Python would compare results: NaN equals NaN, and zeros keep their sign.
pub fn same_f64(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a == b && a.is_sign_negative() == b.is_sign_negative())
}

pub fn close_f64(a: f64, b: f64, rel: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}

/// Emits `for i in range(n): body(i)` with a `Loop`, a local counter and `Break`.
pub fn for_range(
    b: &mut FunctionBuilder,
    n: ValueId,
    body: impl FnOnce(&mut FunctionBuilder, ValueId),
) {
    let i = b.add_local("i", Type::I64);
    let zero = b.emit(Op::Const(Const::Int(0)), Type::I64);
    b.push(Stmt::Store {
        local: i,
        value: zero,
    });
    b.open_block();
    let iv = b.emit(Op::LoadLocal(i), Type::I64);
    let done = b.emit(Op::Compare(CmpOp::Ge, iv, n), Type::BOOL);
    b.open_block();
    b.push(Stmt::Break);
    let then_block = b.close_block();
    b.push(Stmt::If {
        cond: done,
        then_block,
        else_block: Block::default(),
    });
    let one = b.emit(Op::Const(Const::Int(1)), Type::I64);
    let next = b.emit(Op::Binary(BinaryOp::Add, iv, one), Type::I64);
    b.push(Stmt::Store {
        local: i,
        value: next,
    });
    body(b, iv);
    let body = b.close_block();
    b.push(Stmt::Loop { body });
}

pub fn arr(dtype: Scalar, ndim: u8, layout: Layout) -> Type {
    Type::array(dtype, ndim, layout)
}
