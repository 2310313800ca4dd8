//! Kernels whose blocks along an axis may run as one wider block.
//!
//! A 16 x 16 block walks 16 rows of 64 bytes; a CPU streams memory best along
//! long rows. When a kernel reads its position on an axis only as a grid
//! index (`cuda.grid(n)`, i.e. `blockIdx.a * blockDim.a + threadIdx.a`) and
//! the grid's extent (`cuda.gridsize(n)`, `blockDim.a * gridDim.a`), and its
//! blocks share nothing a block owns (no shared memory, barriers or warp
//! functions), then `k` neighbouring blocks along that axis compute exactly
//! what one block `k` times as wide does: every thread sees the same grid
//! index and grid size. The runtime then launches fewer, wider blocks (see
//! `hypersonic_runtime`'s CPU launch), and the thread loop along the axis runs
//! over whole rows.

use std::collections::{HashMap, HashSet};

use hypersonic_ir::{BinaryOp, Block, Function, Geometry, Op, Stmt, Type, ValueId};

/// Per axis (x, y, z): whether neighbouring blocks along it may be merged.
pub(crate) fn mergeable_axes(f: &Function) -> [bool; 3] {
    let mut defs: HashMap<ValueId, &Op> = HashMap::new();
    let mut users: HashMap<ValueId, usize> = HashMap::new();
    if !collect(&f.body, &mut defs, &mut users) {
        return [false; 3];
    }
    let uses = |v: ValueId| users.get(&v).copied().unwrap_or(0);
    let mut ok = [true; 3];
    // Values a grid-index or grid-size pattern consumes whole.
    let mut consumed: HashSet<ValueId> = HashSet::new();
    let ints = |v: ValueId| matches!(f.value_type(v), Type::Scalar(s) if s.is_int());
    let geo = Geo {
        defs: &defs,
        ints: &ints,
    };
    for op in defs.values() {
        if let Some((axis, parts)) = geo.grid_index(op).or_else(|| geo.grid_size(op)) {
            // The pattern's inner values must have no other use.
            if parts.iter().any(|&p| uses(p) != 1) {
                ok[axis] = false;
            }
            consumed.extend(parts);
        }
    }
    for (&v, op) in &defs {
        if let Op::Geometry(_, a) = op {
            if !consumed.contains(&v) {
                ok[a.index()] = false;
            }
        }
    }
    ok
}

/// Records every value's definition and counts its uses; false when the
/// kernel has something a block owns (shared memory, barriers, warps).
fn collect<'a>(
    b: &'a Block,
    defs: &mut HashMap<ValueId, &'a Op>,
    users: &mut HashMap<ValueId, usize>,
) -> bool {
    fn used(users: &mut HashMap<ValueId, usize>, v: &ValueId) {
        *users.entry(*v).or_default() += 1;
    }
    for s in &b.stmts {
        match s {
            Stmt::Let { value, op, .. } => {
                if matches!(
                    op,
                    Op::LaneId
                        | Op::SharedArray { .. }
                        | Op::WarpShuffle { .. }
                        | Op::WarpVote { .. }
                        | Op::BarrierReduce(..)
                ) {
                    return false;
                }
                op.operands().iter().for_each(|v| used(users, v));
                defs.insert(*value, op);
            }
            Stmt::Barrier { .. } | Stmt::SyncWarp { .. } => return false,
            Stmt::If {
                cond,
                then_block,
                else_block,
            } => {
                used(users, cond);
                if !collect(then_block, defs, users) || !collect(else_block, defs, users) {
                    return false;
                }
                continue;
            }
            Stmt::Loop { body } => {
                if !collect(body, defs, users) {
                    return false;
                }
                continue;
            }
            Stmt::Store { value, .. } => used(users, value),
            Stmt::ArrayStore {
                array,
                indices,
                value,
                ..
            } => {
                used(users, array);
                used(users, value);
                indices.iter().for_each(|v| used(users, v));
            }
            Stmt::Return { value: Some(v) } => used(users, v),
            Stmt::Return { value: None }
            | Stmt::Break
            | Stmt::Continue
            | Stmt::Raise { .. }
            | Stmt::Fence(_) => {}
        }
    }
    true
}

/// Matches the grid-index and grid-size patterns in a kernel's definitions.
struct Geo<'d, 'a> {
    defs: &'d HashMap<ValueId, &'a Op>,
    /// Whether a value is an integer (geometry stays exact only in integers).
    ints: &'d dyn Fn(ValueId) -> bool,
}

impl Geo<'_, '_> {
    /// `op` is `threadIdx.a + blockIdx.a * blockDim.a` (operands in either
    /// order, each possibly cast to another integer type): the axis and the
    /// values it consumes.
    fn grid_index(&self, op: &Op) -> Option<(usize, Vec<ValueId>)> {
        let Op::Binary(BinaryOp::Add, p, q) = op else {
            return None;
        };
        let try_order = |t: ValueId, m: ValueId| -> Option<(usize, Vec<ValueId>)> {
            let (a, mut parts) = self.register(t, Geometry::ThreadIdx)?;
            let Some(Op::Binary(BinaryOp::Mul, x, y)) = self.defs.get(&m) else {
                return None;
            };
            parts.extend(self.product(*x, *y, Geometry::BlockIdx, Geometry::BlockDim, a)?);
            parts.push(m);
            Some((a, parts))
        };
        try_order(*p, *q).or_else(|| try_order(*q, *p))
    }

    /// `op` is `blockDim.a * gridDim.a` (either order, possibly cast).
    fn grid_size(&self, op: &Op) -> Option<(usize, Vec<ValueId>)> {
        let Op::Binary(BinaryOp::Mul, x, y) = op else {
            return None;
        };
        (0..3).find_map(|a| {
            self.product(*x, *y, Geometry::BlockDim, Geometry::GridDim, a)
                .map(|parts| (a, parts))
        })
    }

    /// `x * y` is `g * h` on axis `a`, in either order: the values consumed.
    fn product(
        &self,
        x: ValueId,
        y: ValueId,
        g: Geometry,
        h: Geometry,
        a: usize,
    ) -> Option<Vec<ValueId>> {
        let both = |u: ValueId, w: ValueId| -> Option<Vec<ValueId>> {
            let (au, mut pu) = self.register(u, g)?;
            let (aw, pw) = self.register(w, h)?;
            (au == a && aw == a).then(|| {
                pu.extend(pw);
                pu
            })
        };
        both(x, y).or_else(|| both(y, x))
    }

    /// `v` is geometry register `g` (of some axis), possibly through one cast
    /// to an integer type: the axis and the values that make it up.
    fn register(&self, v: ValueId, g: Geometry) -> Option<(usize, Vec<ValueId>)> {
        match self.defs.get(&v)? {
            Op::Geometry(k, a) if *k == g => Some((a.index(), vec![v])),
            Op::Cast(w) if (self.ints)(v) => match self.defs.get(w)? {
                Op::Geometry(k, a) if *k == g => Some((a.index(), vec![*w, v])),
                _ => None,
            },
            _ => None,
        }
    }
}
