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

use super::geometry::definitions;
use super::plan::{is_sync_op, uses};

/// Per axis (x, y, z): whether neighbouring blocks along it may be merged.
pub(crate) fn mergeable_axes(f: &Function) -> [bool; 3] {
    let defs: HashMap<ValueId, &Op> = definitions(f)
        .into_iter()
        .map(|(v, (_, op))| (v, op))
        .collect();
    let block_owned =
        |op: &&Op| is_sync_op(op) || matches!(op, Op::LaneId | Op::SharedArray { .. });
    if defs.values().any(block_owned) || has_barrier_stmt(&f.body) {
        return [false; 3];
    }
    let mut users: HashMap<ValueId, usize> = HashMap::new();
    let (mut vals, mut read, mut written) = (Vec::new(), Vec::new(), Vec::new());
    for s in &f.body.stmts {
        uses(s, &mut vals, &mut read, &mut written);
    }
    for v in vals {
        *users.entry(v).or_default() += 1;
    }
    let uses = |v: ValueId| users.get(&v).copied().unwrap_or(0);
    let mut ok = [true; 3];
    // Values a grid-index or grid-size pattern consumes whole.
    let mut consumed: HashSet<ValueId> = HashSet::new();
    let geo = Geo { f, defs: &defs };
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

/// Whether `b` has a `syncthreads()` or `syncwarp()` statement (the
/// synchronising operations are found among the definitions).
fn has_barrier_stmt(b: &Block) -> bool {
    b.stmts.iter().any(|s| match s {
        Stmt::Barrier { .. } | Stmt::SyncWarp { .. } => true,
        Stmt::If {
            then_block,
            else_block,
            ..
        } => has_barrier_stmt(then_block) || has_barrier_stmt(else_block),
        Stmt::Loop { body } => has_barrier_stmt(body),
        _ => false,
    })
}

/// Matches the grid-index and grid-size patterns in a kernel's definitions.
struct Geo<'d, 'a> {
    f: &'a Function,
    defs: &'d HashMap<ValueId, &'a Op>,
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
            // Geometry stays exact only in integers.
            Op::Cast(w) if matches!(self.f.value_type(v), Type::Scalar(s) if s.is_int()) => {
                match self.defs.get(w)? {
                    Op::Geometry(k, a) if *k == g => Some((a.index(), vec![*w, v])),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}
