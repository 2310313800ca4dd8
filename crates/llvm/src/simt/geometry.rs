//! Locals that only ever hold thread geometry, recomputed instead of stored.
//!
//! `tid = cuda.threadIdx.x` or `x, y = cuda.grid(2)` at the top of a kernel
//! with barriers would otherwise live per thread in scratch: written in the
//! first region, read back in every later one. Their value is a pure function
//! of the thread's and block's coordinates, so each region recomputes it in a
//! few integer instructions, and LLVM then sees `threadIdx.x` itself (a loop
//! induction variable) where it would see an opaque load. That also lets a
//! region guarded by `if tid < s` or `if i < n` (`i` from `cuda.grid`) run
//! only the threads that pass (see [`GeometryValues::axis_bound`]).
//!
//! A local qualifies when, in the kernel body's top-level statement list, it is
//! first given constants (the front end's zero initialisation), then stored
//! exactly once with a recomputable value, and nothing reads or writes it
//! anywhere else before that store or stores it anywhere after.

use std::collections::{HashMap, HashSet};

use hypersonic_ir::{BinaryOp, Block, CmpOp, Function, Geometry, LocalId, Op, Stmt, Type, ValueId};

use super::plan::uses;
use super::WARP;

/// How to recompute a value from thread geometry: `steps` in order, the last
/// one giving `value`.
#[derive(Clone, Debug)]
pub(crate) struct Recompute<'a> {
    pub steps: Vec<Step<'a>>,
    pub value: ValueId,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Step<'a> {
    /// Lower this (pure) statement again.
    Emit(&'a Stmt),
    /// `value` (a load of a recomputed local) is the value `of`, recomputed before.
    Alias { value: ValueId, of: ValueId },
}

/// What of a kernel's values and locals is pure thread geometry.
pub(crate) struct GeometryValues<'a> {
    f: &'a Function,
    defs: HashMap<ValueId, (&'a Stmt, &'a Op)>,
    /// Per local: the value of its one real store, when it qualifies.
    stored: Vec<Option<ValueId>>,
    /// Per local: how to recompute it, when it qualifies.
    pub locals: Vec<Option<Recompute<'a>>>,
}

impl<'a> GeometryValues<'a> {
    pub(crate) fn new(f: &'a Function) -> GeometryValues<'a> {
        let defs = definitions(f);
        let stored = stored_once(f, &defs);
        let locals = stored
            .iter()
            .map(|v| {
                let v = (*v)?;
                is_int(f.value_type(v)).then_some(())?;
                recompute_value(v, &defs, &stored)
            })
            .collect();
        GeometryValues {
            f,
            defs,
            stored,
            locals,
        }
    }

    /// The operation defining `v` (anywhere in the kernel).
    pub(crate) fn op_of(&self, v: ValueId) -> Option<&'a Op> {
        self.defs.get(&v).map(|d| d.1)
    }

    /// The local whose value `v` is: a read of it, or Python's wrap of a
    /// negative index around one (`x < 0 ? x + n : x`).
    pub(crate) fn unwrapped_load_of(&self, v: ValueId) -> Option<LocalId> {
        match self.op_of(v)? {
            Op::LoadLocal(l) => Some(*l),
            Op::Select(c, wrapped, x) => {
                let Some(Op::Compare(CmpOp::Lt, cx, _)) = self.op_of(*c) else {
                    return None;
                };
                let Some(Op::Binary(BinaryOp::Add, wx, _)) = self.op_of(*wrapped) else {
                    return None;
                };
                (cx == x && wx == x).then_some(())?;
                self.unwrapped_load_of(*x)
            }
            _ => None,
        }
    }

    /// [`Self::thread_axis`] of the value a qualifying local holds.
    pub(crate) fn local_axis(&self, l: LocalId) -> Option<(usize, Option<ValueId>)> {
        self.thread_axis(self.stored.get(l.0 as usize).copied()??)
    }

    /// How many `Let`s of the kernel (at any depth) load local `l`.
    pub(crate) fn loads_of(&self, l: LocalId) -> usize {
        self.defs
            .values()
            .filter(|(_, op)| **op == Op::LoadLocal(l))
            .count()
    }

    /// The statement defining `v` (anywhere in the kernel).
    pub(crate) fn stmt_of(&self, v: ValueId) -> Option<&'a Stmt> {
        self.defs.get(&v).map(|d| d.0)
    }

    /// How to recompute `v`, if it is pure geometry arithmetic (through
    /// qualifying locals).
    pub(crate) fn value(&self, v: ValueId) -> Option<Recompute<'a>> {
        recompute_value(v, &self.defs, &self.stored)
    }
}

/// Per local: the value of its one real store, when the local qualifies (see
/// the module's documentation).
fn stored_once(f: &Function, defs: &HashMap<ValueId, (&Stmt, &Op)>) -> Vec<Option<ValueId>> {
    // Per local: Some(value) once its one real store has been seen.
    let mut state: Vec<Option<Option<ValueId>>> = vec![Some(None); f.locals.len()];
    for s in &f.body.stmts {
        if let Stmt::Store { local, value } = s {
            let st = &mut state[local.0 as usize];
            match (*st, defs.get(value).map(|d| d.1)) {
                (Some(None), Some(Op::Const(_))) => {}
                (Some(None), Some(_)) => *st = Some(Some(*value)),
                _ => *st = None,
            }
            continue;
        }
        // Any other mention: a read is fine after the store, a write never.
        let (mut vals, mut read, mut written) = (Vec::new(), Vec::new(), Vec::new());
        uses(s, &mut vals, &mut read, &mut written);
        for l in written {
            state[l.0 as usize] = None;
        }
        for l in read {
            if let Some(None) = state[l.0 as usize] {
                state[l.0 as usize] = None;
            }
        }
    }
    state.into_iter().map(Option::flatten).collect()
}

fn recompute_value<'a>(
    v: ValueId,
    defs: &HashMap<ValueId, (&'a Stmt, &'a Op)>,
    stored: &[Option<ValueId>],
) -> Option<Recompute<'a>> {
    let mut steps = Vec::new();
    collect(v, defs, stored, &mut steps, &mut HashSet::new())
        .then_some(Recompute { steps, value: v })
}

impl GeometryValues<'_> {
    /// The threads for which `cond` holds all have `threadIdx.a < bound - offset`
    /// on one axis `a`: `cond` is `G < b`, `G <= b`, `b > G` or `b >= G` with
    /// `G` the thread's `threadIdx.a`, or its index in the grid
    /// `threadIdx.a + offset` (`offset` non-negative, such as
    /// `blockIdx.a * blockDim.a`): directly, widened, or through a qualifying
    /// local or `cuda.grid`'s tuple.
    pub(crate) fn axis_bound(&self, cond: ValueId) -> Option<AxisBound> {
        let Some((_, Op::Compare(op, a, b))) = self.defs.get(&cond) else {
            return None;
        };
        let (g, bound, inclusive) = match op {
            CmpOp::Lt => (*a, *b, false),
            CmpOp::Le => (*a, *b, true),
            CmpOp::Gt => (*b, *a, false),
            CmpOp::Ge => (*b, *a, true),
            _ => return None,
        };
        if !is_int(self.f.value_type(bound)) {
            return None;
        }
        let (axis, offset) = self.thread_axis(g)?;
        Some(AxisBound {
            axis,
            offset,
            bound,
            inclusive,
        })
    }

    /// Whether `v` is never negative: geometry, non-negative constants, and
    /// widening casts, sums and products of such values (through qualifying
    /// locals). Sums and products are taken not to overflow `int64`.
    pub(crate) fn nonneg(&self, v: ValueId) -> bool {
        match self.defs.get(&v).map(|d| d.1) {
            Some(Op::Geometry(..)) => true,
            Some(Op::Const(c)) => matches!(c, hypersonic_ir::Const::Int(i) if *i >= 0),
            Some(Op::Cast(w)) => self.widens(*w, v) && self.nonneg(*w),
            Some(Op::Binary(BinaryOp::Add | BinaryOp::Mul, a, b)) => {
                self.nonneg(*a) && self.nonneg(*b)
            }
            Some(Op::LoadLocal(l)) => self
                .stored
                .get(l.0 as usize)
                .copied()
                .flatten()
                .is_some_and(|s| self.nonneg(s)),
            _ => false,
        }
    }

    /// Whether the cast from `w` to `v` is between integers and keeps every value.
    fn widens(&self, w: ValueId, v: ValueId) -> bool {
        match (self.f.value_type(w), self.f.value_type(v)) {
            (Type::Scalar(a), Type::Scalar(b)) => a.is_int() && b.is_int() && b.size() >= a.size(),
            _ => false,
        }
    }

    /// `Some((a, offset))` when `v` is `threadIdx.a` (`offset` `None`) or
    /// `threadIdx.a + offset` with `offset` non-negative.
    pub(crate) fn thread_axis(&self, v: ValueId) -> Option<(usize, Option<ValueId>)> {
        match self.defs.get(&v).map(|d| d.1)? {
            Op::Geometry(Geometry::ThreadIdx, a) => Some((a.index(), None)),
            // Widening keeps the value (threadIdx is non-negative).
            Op::Cast(w) if self.widens(*w, v) => self.thread_axis(*w),
            Op::LoadLocal(l) => self.thread_axis(self.stored.get(l.0 as usize).copied()??),
            Op::TupleGet(t, k) => match self.defs.get(t).map(|d| d.1)? {
                Op::MakeTuple(items) => self.thread_axis(*items.get(*k as usize)?),
                _ => None,
            },
            Op::Binary(BinaryOp::Add, p, q) => {
                let plus = |t: ValueId, off: ValueId| match self.thread_axis(t) {
                    Some((a, None)) if self.nonneg(off) => Some((a, Some(off))),
                    _ => None,
                };
                plus(*p, *q).or_else(|| plus(*q, *p))
            }
            _ => None,
        }
    }
}

impl GeometryValues<'_> {
    /// Whether `v` is the thread's lane in its warp: `cuda.laneid`
    /// ([`Lane::Exact`]), or `threadIdx.x % 32` / `threadIdx.x & 31`
    /// ([`Lane::ThreadX`]), directly, through integer casts (a lane fits any
    /// integer type) or through qualifying locals.
    pub(crate) fn lane(&self, v: ValueId) -> Option<Lane> {
        let is_const = |c: ValueId, want: i64| matches!(self.op_of(c), Some(Op::Const(hypersonic_ir::Const::Int(i))) if *i == want);
        let thread_x = |x: ValueId| self.thread_axis(x) == Some((0, None));
        match self.op_of(v)? {
            Op::LaneId => Some(Lane::Exact),
            Op::Cast(w) if is_int(self.f.value_type(*w)) && is_int(self.f.value_type(v)) => {
                self.lane(*w)
            }
            Op::LoadLocal(l) => self.lane(self.stored.get(l.0 as usize).copied()??),
            Op::Binary(BinaryOp::Mod, x, c) if is_const(*c, WARP as i64) && thread_x(*x) => {
                Some(Lane::ThreadX)
            }
            Op::Binary(BinaryOp::BitAnd, x, c) | Op::Binary(BinaryOp::BitAnd, c, x)
                if is_const(*c, WARP as i64 - 1) && thread_x(*x) =>
            {
                Some(Lane::ThreadX)
            }
            _ => None,
        }
    }
}

impl GeometryValues<'_> {
    /// The threads for which `cond` holds, when it picks a few of them by
    /// equality: `G == c` (or `c == G`) with `G` the thread's `threadIdx.a`
    /// or its grid index `threadIdx.a + offset` (one index along `a`), or `G`
    /// the lane `threadIdx.x % 32` (one `x` in every 32).
    pub(crate) fn axis_equal(&self, cond: ValueId) -> Option<AxisEqual> {
        let Some((_, Op::Compare(CmpOp::Eq, a, b))) = self.defs.get(&cond) else {
            return None;
        };
        [(*a, *b), (*b, *a)].into_iter().find_map(|(g, value)| {
            if !is_int(self.f.value_type(value)) {
                return None;
            }
            if let Some((axis, offset)) = self.thread_axis(g) {
                return Some(AxisEqual {
                    axis,
                    offset,
                    value,
                    every: None,
                });
            }
            (self.lane(g)? == Lane::ThreadX).then_some(AxisEqual {
                axis: 0,
                offset: None,
                value,
                every: Some(WARP),
            })
        })
    }
}

/// See [`GeometryValues::axis_equal`]: the threads satisfying a condition
/// have `threadIdx[axis] + offset == value`, or with `every`,
/// `threadIdx[axis] % every == value`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AxisEqual {
    pub axis: usize,
    pub offset: Option<ValueId>,
    pub value: ValueId,
    pub every: Option<u64>,
}

/// A value that is the thread's lane (see [`GeometryValues::lane`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lane {
    /// `cuda.laneid`.
    Exact,
    /// `threadIdx.x % 32`: the lane when the block is one-dimensional or its
    /// `x` extent is a multiple of 32 (warps are cut from the linear thread index).
    ThreadX,
}

/// See [`GeometryValues::axis_bound`]: the threads satisfying a condition
/// have `threadIdx[axis] + offset < bound` (`<=` when `inclusive`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct AxisBound {
    pub axis: usize,
    pub offset: Option<ValueId>,
    pub bound: ValueId,
    pub inclusive: bool,
}

fn is_int(t: &Type) -> bool {
    matches!(t, Type::Scalar(s) if s.is_int())
}

/// Adds the steps computing `v` (operands first) to `out`; false when some
/// operand is not pure geometry arithmetic. `stored`: per local, the value its
/// one real store gives, for locals that qualify.
fn collect<'a>(
    v: ValueId,
    defs: &HashMap<ValueId, (&'a Stmt, &'a Op)>,
    stored: &[Option<ValueId>],
    out: &mut Vec<Step<'a>>,
    seen: &mut HashSet<ValueId>,
) -> bool {
    if seen.contains(&v) {
        return true;
    }
    let Some(&(stmt, op)) = defs.get(&v) else {
        return false;
    };
    if let Op::LoadLocal(l) = op {
        // A qualifying local is read only after its one store: its value.
        let Some(of) = stored.get(l.0 as usize).copied().flatten() else {
            return false;
        };
        if !collect(of, defs, stored, out, seen) {
            return false;
        }
        seen.insert(v);
        out.push(Step::Alias { value: v, of });
        return true;
    }
    let ok = matches!(
        op,
        Op::Geometry(..)
            | Op::Const(_)
            | Op::Cast(_)
            | Op::MakeTuple(_)
            | Op::TupleGet(..)
            | Op::Binary(
                BinaryOp::Add
                    | BinaryOp::Sub
                    | BinaryOp::Mul
                    // `lane = tid % 32`, `warp = tid // 32`: pure on
                    // integers (a zero divisor gives 0; the front end's
                    // check, if any, ran where the value was first made).
                    | BinaryOp::FloorDiv
                    | BinaryOp::Mod
                    | BinaryOp::BitAnd
                    | BinaryOp::BitOr
                    | BinaryOp::BitXor
                    | BinaryOp::Shl
                    | BinaryOp::Shr
                    | BinaryOp::Min
                    | BinaryOp::Max,
                ..
            )
    );
    if !ok
        || !op
            .operands()
            .iter()
            .all(|&w| collect(w, defs, stored, out, seen))
    {
        return false;
    }
    seen.insert(v);
    out.push(Step::Emit(stmt));
    true
}

/// Every `Let` of `f`, by the value it defines.
pub(crate) fn definitions(f: &Function) -> HashMap<ValueId, (&Stmt, &Op)> {
    block_definitions(&f.body)
}

/// Every `Let` in `b` (at any depth), by the value it defines.
pub(crate) fn block_definitions(b: &Block) -> HashMap<ValueId, (&Stmt, &Op)> {
    fn walk<'a>(b: &'a Block, d: &mut HashMap<ValueId, (&'a Stmt, &'a Op)>) {
        for s in &b.stmts {
            match s {
                Stmt::Let { value, op, .. } => {
                    d.insert(*value, (s, op));
                }
                Stmt::If {
                    then_block,
                    else_block,
                    ..
                } => {
                    walk(then_block, d);
                    walk(else_block, d);
                }
                Stmt::Loop { body } => walk(body, d),
                _ => {}
            }
        }
    }
    let mut d = HashMap::new();
    walk(b, &mut d);
    d
}
