//! Kernel arguments that only receive atomic accumulations, for per-worker
//! private copies on the CPU.
//!
//! `cuda.atomic.add(hist, data[i], 1)` from every thread of a grid is the
//! textbook histogram. On a GPU the atomics resolve in L2; on the CPU every
//! one is a locked instruction, and two workers adding to the same bins bounce
//! cache lines between cores (a hundred times slower than a private
//! histogram). When an integer array argument is used *only* as the target of
//! atomics of one commutative kind (`add`/`sub`, `max`, `min`, `and`, `or`,
//! `xor`) whose old value is never read, the order in which they apply cannot
//! be observed: each worker may accumulate into a private copy (starting at
//! the operation's identity) with plain read-modify-writes, and fold its copy
//! into the argument at the end. The runtime decides per launch (small arrays
//! only) and tells the block function through `BlockContext::private_mask`.

use std::collections::HashMap;

use hypersonic_ir::{abi, AtomicOp, Block, Function, Layout, Op, Scalar, Stmt, Type, ValueId};

/// A parameter whose array may be privatised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivateArray {
    /// The parameter's index; its bit in `private_mask`.
    pub param: u32,
    /// Its first argument slot (the data pointer; the shape follows).
    pub slot: usize,
    pub ndim: u8,
    pub dtype: Scalar,
    /// How private copies fold into the array: `Add` for `add` and `sub`.
    pub fold: AtomicOp,
    /// The kernel's other array arguments: the analysis holds only if none
    /// of them shares memory with this one (the runtime checks, per launch).
    pub others: Vec<ArraySlot>,
}

/// Where an array argument sits in the argument slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArraySlot {
    /// The data pointer's slot; `ndim` shape slots, then `ndim` strides, follow.
    pub slot: usize,
    pub ndim: u8,
    pub itemsize: u32,
}

/// The privatisable parameters of kernel `f`, and, for each value that holds
/// one of their arrays, the parameter's index.
pub(crate) fn privatizable(f: &Function) -> (Vec<PrivateArray>, HashMap<ValueId, u32>) {
    let mut used = HashMap::new();
    count_uses(&f.body, &mut used);
    // Which parameter's array each value holds: the parameter itself, and
    // loads of locals that only ever hold that one parameter's array.
    let mut holds: HashMap<ValueId, u32> = HashMap::new();
    let mut stored: Vec<LocalStores> = vec![LocalStores::default(); f.locals.len()];
    loop {
        let before = holds.len();
        track(&f.body, f, &mut holds, &mut stored);
        if holds.len() == before {
            break;
        }
    }
    let mut kind = vec![Use::Unused; f.params.len()];
    // A local that mixes a parameter's array with anything else hides the
    // array's uses: no private copy for it.
    for st in &stored {
        if st.params.len() > 1 || (st.other && !st.params.is_empty()) {
            for &p in &st.params {
                kind[p as usize] = Use::Other;
            }
        }
    }
    check(&f.body, &holds, &used, &mut kind);

    let mut out = Vec::new();
    let mut slot = 0usize;
    for (p, ty) in f.params.iter().enumerate() {
        if let (
            Use::Atomic(op),
            Type::Array {
                dtype,
                ndim,
                layout: Layout::C,
                ..
            },
        ) = (kind[p], ty)
        {
            if dtype.is_int() && p < 32 {
                out.push(PrivateArray {
                    param: p as u32,
                    slot,
                    ndim: *ndim,
                    dtype: *dtype,
                    fold: if op == AtomicOp::Sub {
                        AtomicOp::Add
                    } else {
                        op
                    },
                    others: Vec::new(),
                });
            }
        }
        slot += abi::slots(ty);
    }
    let mut arrays = Vec::new();
    let mut slot = 0usize;
    for (p, ty) in f.params.iter().enumerate() {
        if let Type::Array { dtype, ndim, .. } = ty {
            let at = ArraySlot {
                slot,
                ndim: *ndim,
                itemsize: dtype.size(),
            };
            arrays.push((p as u32, at));
        }
        slot += abi::slots(ty);
    }
    for a in &mut out {
        a.others = arrays
            .iter()
            .filter(|(p, _)| *p != a.param)
            .map(|x| x.1)
            .collect();
    }
    let chosen: Vec<u32> = out.iter().map(|a| a.param).collect();
    holds.retain(|_, p| chosen.contains(p));
    (out, holds)
}

/// How a parameter's array is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Use {
    Unused,
    /// Only as the target of accumulating atomics of this kind (`Add` and
    /// `Sub` count as one) whose old value is unused.
    Atomic(AtomicOp),
    Other,
}

#[derive(Clone, Default)]
struct LocalStores {
    /// The parameters whose arrays are stored into the local.
    params: Vec<u32>,
    /// Something else is stored into it too.
    other: bool,
}

/// How many times each value is used in `b` (operands, stored values, conditions).
fn count_uses(b: &Block, used: &mut HashMap<ValueId, usize>) {
    let (mut vals, mut read, mut written) = (Vec::new(), Vec::new(), Vec::new());
    for s in &b.stmts {
        super::plan::uses(s, &mut vals, &mut read, &mut written);
    }
    for v in vals {
        *used.entry(v).or_default() += 1;
    }
}

fn track(b: &Block, f: &Function, holds: &mut HashMap<ValueId, u32>, stored: &mut [LocalStores]) {
    for s in &b.stmts {
        match s {
            Stmt::Let { value, op, .. } => match op {
                Op::Param(p) if f.params[*p as usize].is_array() => {
                    holds.insert(*value, *p);
                }
                Op::LoadLocal(l) => {
                    let st = &stored[l.0 as usize];
                    if let ([p], false) = (st.params.as_slice(), st.other) {
                        holds.insert(*value, *p);
                    }
                }
                _ => {}
            },
            Stmt::Store { local, value } => {
                let st = &mut stored[local.0 as usize];
                match holds.get(value) {
                    Some(p) if !st.params.contains(p) => st.params.push(*p),
                    Some(_) => {}
                    None => st.other = true,
                }
            }
            Stmt::If {
                then_block,
                else_block,
                ..
            } => {
                track(then_block, f, holds, stored);
                track(else_block, f, holds, stored);
            }
            Stmt::Loop { body } => track(body, f, holds, stored),
            _ => {}
        }
    }
}

fn check(
    b: &Block,
    holds: &HashMap<ValueId, u32>,
    used: &HashMap<ValueId, usize>,
    kind: &mut [Use],
) {
    let other = |kind: &mut [Use], vals: &[ValueId]| {
        for w in vals {
            if let Some(&q) = holds.get(w) {
                kind[q as usize] = Use::Other;
            }
        }
    };
    for s in &b.stmts {
        match s {
            Stmt::Let {
                value,
                op:
                    Op::Atomic {
                        op: aop,
                        array,
                        indices,
                        value: v,
                    },
                ..
            } if holds.contains_key(array) => {
                let p = holds[array] as usize;
                let accumulating = matches!(
                    aop,
                    AtomicOp::Add
                        | AtomicOp::Sub
                        | AtomicOp::Max
                        | AtomicOp::Min
                        | AtomicOp::And
                        | AtomicOp::Or
                        | AtomicOp::Xor
                );
                let old_unused = !used.contains_key(value);
                let class = |k: AtomicOp| if k == AtomicOp::Sub { AtomicOp::Add } else { k };
                kind[p] = match kind[p] {
                    _ if !accumulating || !old_unused => Use::Other,
                    Use::Unused => Use::Atomic(*aop),
                    Use::Atomic(k) if class(k) == class(*aop) => Use::Atomic(k),
                    _ => Use::Other,
                };
                other(kind, indices);
                other(kind, &[*v]);
            }
            // The copy has the array's shape and strides: reading them is fine.
            Stmt::Let {
                op: Op::ArrayDim(..) | Op::ArrayStride(..),
                ..
            } => {}
            Stmt::Let { op, .. } => other(kind, &op.operands()),
            // A store of the array into a local is tracked (see `track`).
            Stmt::Store { .. } => {}
            Stmt::ArrayStore {
                array,
                indices,
                value,
                ..
            } => {
                other(kind, indices);
                other(kind, &[*array, *value]);
            }
            Stmt::If {
                then_block,
                else_block,
                ..
            } => {
                check(then_block, holds, used, kind);
                check(else_block, holds, used, kind);
            }
            Stmt::Loop { body } => check(body, holds, used, kind),
            Stmt::Return { value: Some(v) } => other(kind, &[*v]),
            _ => {}
        }
    }
}
