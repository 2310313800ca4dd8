//! IR kernels for the runtime's tests.
#![allow(dead_code)]

use hypersonic_ir::builder::FunctionBuilder;
use hypersonic_ir::*;

/// `i = cuda.grid(1); if i < c.shape[0]: c[i] = a[i] + b[i]` over float64
/// 1-D arrays, as the kernel `name`.
pub fn vadd_module(name: &str) -> Module {
    let t = Type::array(Scalar::F64, 1, Layout::C);
    let i32t = Type::Scalar(Scalar::I32);
    let mut b = FunctionBuilder::new(name, vec![t.clone(), t.clone(), t.clone()], Type::None);
    let a = b.emit(Op::Param(0), t.clone());
    let bb = b.emit(Op::Param(1), t.clone());
    let c = b.emit(Op::Param(2), t);
    let bi = b.emit(Op::Geometry(Geometry::BlockIdx, Axis::X), i32t.clone());
    let bd = b.emit(Op::Geometry(Geometry::BlockDim, Axis::X), i32t.clone());
    let ti = b.emit(Op::Geometry(Geometry::ThreadIdx, Axis::X), i32t.clone());
    let p = b.emit(Op::Binary(BinaryOp::Mul, bi, bd), i32t.clone());
    let s = b.emit(Op::Binary(BinaryOp::Add, p, ti), i32t);
    let i = b.emit(Op::Cast(s), Type::I64);
    let n = b.emit(Op::ArrayDim(c, 0), Type::I64);
    let inb = b.emit(Op::Compare(CmpOp::Lt, i, n), Type::BOOL);
    b.open_block();
    let x = b.emit(Op::ArrayLoad(a, vec![i]), Type::F64);
    let y = b.emit(Op::ArrayLoad(bb, vec![i]), Type::F64);
    let z = b.emit(Op::Binary(BinaryOp::Add, x, y), Type::F64);
    b.push(Stmt::ArrayStore {
        array: c,
        indices: vec![i],
        value: z,
        loc: Loc::default(),
    });
    let then_block = b.close_block();
    b.open_block();
    let else_block = b.close_block();
    b.push(Stmt::If {
        cond: inb,
        then_block,
        else_block,
    });
    b.push(Stmt::Return { value: None });
    Module {
        functions: vec![b.finish()],
        entry: FuncId(0),
        exceptions: vec![],
    }
}
