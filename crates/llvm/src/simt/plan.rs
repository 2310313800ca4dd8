//! Barrier fission: the kernel body as a tree of block-level nodes and regions.
//!
//! Every statement of the kernel either runs once per block ("block level":
//! uniform pure values, stores to uniform locals, control flow that contains a
//! barrier or a warp function, jumps out of such loops) or once per thread,
//! inside a *region*: a run of statements between two synchronisation points
//! that becomes one loop over the block's threads. A barrier ends the current
//! region; so does a warp function, whose result needs the other lanes' values
//! (the operand is stored per thread in one region and read in the next).
//!
//! Uniformity comes from `hypersonic_ir::passes::uniformity`. A statement is
//! block level when it is *evaluable* at block level: a pure operation whose
//! operands are block level, or a load of a *block local* (a uniform local that
//! is only ever stored at block level). Block-level lets are hoisted above the
//! pending region, which is safe because they read no memory and no local that
//! the region writes; a block-level store first closes the pending region when
//! that region reads the local.
//!
//! Control flow that contains a synchronisation point stays at block level.
//! An `if` on a thread-dependent condition is *predicated*: its regions run
//! only the threads that took the branch. A loop is predicated when threads
//! may leave it at different times (a `break`/`continue` under a
//! thread-dependent condition) or when it runs under predication: each thread
//! has a state in scratch (entered, sitting out this iteration after a
//! `continue`, or gone after a `break`), its regions run only the threads in
//! the current iteration, and the loop runs while some thread is still in it.
//! A warp function there reads the other lanes' latest values; a lane that
//! does not take part gives its stale one (undefined on a GPU). Barriers stay
//! an error under any predication.
//!
//! Then, per region, which values come from elsewhere: a value defined in one
//! region and used in another is *spilled* to per-thread scratch; a value a
//! block-level statement needs (a uniform condition that is not block level,
//! such as a load) goes to a single *uniform slot* that every thread writes.
//! Locals that are not block locals live per thread in scratch when some region
//! may read them before writing them (they carry a value between regions);
//! otherwise they are ordinary allocas that each thread writes before reading.

use std::collections::{HashMap, HashSet};

use hypersonic_ir::passes::uniformity::Uniformity;
use hypersonic_ir::*;

use super::geometry::GeometryValues;
use super::warp_scan::{self, WarpScan};
use crate::function::{unsupported, R};

pub(crate) type RegionId = usize;

/// A block-level loop whose threads may leave it at different times (or that
/// runs under thread-dependent control): each thread has a per-thread state in
/// scratch, and the loop runs while some thread is still in it.
pub(crate) type LoopId = usize;

/// Which threads run a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pred {
    /// The threads for which the (per-thread) condition is `taken`.
    Cond(ValueId, bool),
    /// The threads still in this predicated loop that have not `continue`d in
    /// the current iteration.
    Loop(LoopId),
}

pub(crate) enum Node<'a> {
    /// A block-level `Let` (pure, operands block level).
    Let(&'a Stmt),
    /// A block-level store to a block local.
    Store(&'a Stmt),
    /// `break`/`continue` of a block-level loop, or `return` of the whole block.
    Jump(&'a Stmt),
    /// A loop over the block's threads.
    Threads(RegionId),
    If {
        cond: ValueId,
        then_: Vec<Node<'a>>,
        else_: Vec<Node<'a>>,
        /// The condition differs between threads: the branches' regions run
        /// only the threads that took them (warp functions only, no barriers).
        predicated: bool,
    },
    Loop {
        body: Vec<Node<'a>>,
        /// A predicated loop, and the region that enters its threads.
        pred: Option<(LoopId, RegionId)>,
    },
    /// A warp scan written as shuffle steps, run as a sequential scan of each
    /// warp's slots of the value (see `warp_scan`).
    WarpScan(WarpScan),
    /// `syncthreads_count/and/or`: a barrier and a reduction over the block.
    Reduce {
        value: ValueId,
        kind: BarrierReduce,
        pred: ValueId,
    },
}

pub(crate) struct Region<'a> {
    pub stmts: Vec<&'a Stmt>,
    /// Which threads run it: conditions of the enclosing predicated `If`s,
    /// with the branch taken, and the enclosing predicated loops, outermost first.
    pub preds: Vec<Pred>,
    /// The innermost enclosing block-level loop, when it is predicated: a
    /// `break`/`continue` in the region leaves it (or this iteration) for the
    /// thread alone.
    pub brk: Option<LoopId>,
    /// This region only enters the threads (those of `preds`) into the loop.
    pub init: Option<LoopId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LocalClass {
    /// One scalar for the block, written at block level only.
    Block,
    /// Per thread in scratch: some region may read it before writing it.
    Scratch,
    /// An alloca that each thread writes before it reads it, in every region.
    Private,
    /// Thread geometry (`tid = cuda.threadIdx.x`): an alloca that each region
    /// fills by recomputing the value (see `geometry`).
    Recomputed,
    /// The induction variable of a lockstep loop (see [`Induction`]): an
    /// alloca that the loop's region fills with `init + (iteration - 1) * step`.
    Induction,
}

/// A local of a lockstep loop that, for every thread still in the loop, holds
/// `init + (k - 1) * step` at the start of iteration `k` (from 1): `init` is
/// thread geometry, `step` a block-level value. The grid-stride loop's
/// `for i in range(cuda.grid(1), n, cuda.gridsize(1))` iterator is one. The
/// loop's region computes it from the iteration number instead of loading it
/// from scratch, so that LLVM sees an index affine in `threadIdx.x` and
/// vectorises the thread loop.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Induction {
    pub local: LocalId,
    pub init: ValueId,
    pub step: ValueId,
}

/// A lockstep loop that is Python's `for ... in range(init, end, step)` over
/// an [`Induction`] with `init` and `step` never negative: a thread is in
/// iteration `k` exactly when `init + (k - 1) * step < end`, so the loop needs
/// no per-thread state. Threads that have left run the (pure) check at the
/// top of the body again and leave again; the block goes on while thread 0's
/// value, the smallest (`init` only adds and multiplies geometry), is below `end`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Counted {
    pub induction: Induction,
    pub end: ValueId,
}

pub(crate) struct Plan<'a> {
    pub nodes: Vec<Node<'a>>,
    pub regions: Vec<Region<'a>>,
    /// Values computed at block level (by block-level lets and reductions).
    pub blocklevel: Vec<bool>,
    /// Values stored per thread in scratch by their defining region.
    pub spilled: Vec<bool>,
    /// Values a block-level statement reads from a single slot that every
    /// thread of the defining region writes (they are uniform).
    pub uniform_slot: Vec<bool>,
    /// Local arrays used outside their defining region: per thread in scratch.
    pub scratch_array: Vec<bool>,
    /// Per region: the values defined elsewhere that it reads.
    pub reloads: Vec<Vec<ValueId>>,
    pub locals: Vec<LocalClass>,
    /// Some thread may `return` before the last region: keep an exited flag.
    pub exited_flag: bool,
    /// How many predicated loops there are.
    pub pred_loops: usize,
    /// Per region: run `threadIdx.y` in the innermost thread loop (instead of
    /// `x`), because its memory accesses are contiguous along `y`.
    pub y_inner: Vec<bool>,
    /// The kernel's accesses are mostly contiguous along `y`: run the blocks
    /// with `blockIdx.y` varying fastest, so that consecutive blocks walk along
    /// memory rather than across rows (pages).
    pub blocks_y_major: bool,
    /// Threads' scratch slots count `y` fastest (`blocks_y_major`, and no
    /// warp function reads other lanes' slots by their linear index).
    pub scratch_y_major: bool,
    /// Values and locals that are pure thread geometry (recomputed, not stored).
    pub geometry: GeometryValues<'a>,
    /// Per predicated loop: its induction locals.
    pub inductions: Vec<Vec<Induction>>,
    /// Per predicated loop: whether it is a counted range loop.
    pub counted: Vec<Option<Counted>>,
    /// Parameters whose arrays only receive accumulating atomics.
    pub private: Vec<super::PrivateArray>,
    /// Values holding one of their arrays, and the parameter.
    pub private_values: std::collections::HashMap<ValueId, u32>,
    /// The counted loop whose iterations the block may share out between
    /// workers (see [`split_loop`]).
    pub split_loop: Option<LoopId>,
    /// Per axis: whether neighbouring blocks may run as one (see `merge`).
    pub mergeable: [bool; 3],
}

/// Whether `pred` holds for `s` or a statement nested in it (its `if`s'
/// branches, its loop's body), visiting them in order until it does.
pub(crate) fn stmt_has(s: &Stmt, pred: &mut dyn FnMut(&Stmt) -> bool) -> bool {
    pred(s)
        || match s {
            Stmt::If {
                then_block,
                else_block,
                ..
            } => block_has(then_block, pred) || block_has(else_block, pred),
            Stmt::Loop { body } => block_has(body, pred),
            _ => false,
        }
}

/// Whether `pred` holds for a statement of `b`, at any depth (see [`stmt_has`]).
pub(crate) fn block_has(b: &Block, pred: &mut dyn FnMut(&Stmt) -> bool) -> bool {
    b.stmts.iter().any(|s| stmt_has(s, pred))
}

fn op_is(s: &Stmt, pred: impl Fn(&Op) -> bool) -> bool {
    matches!(s, Stmt::Let { op, .. } if pred(op))
}

/// Whether `b` has a warp shuffle or vote (they read other lanes' scratch).
fn exchanges_lanes(b: &Block) -> bool {
    block_has(b, &mut |s| {
        op_is(s, |op| {
            matches!(op, Op::WarpShuffle { .. } | Op::WarpVote { .. })
        })
    })
}

impl Plan<'_> {
    /// What the planner decided, one fact per line, for tests and for whoever
    /// tunes the lowering: regions, lockstep loops (counted or with state),
    /// induction and recomputed locals, private accumulation targets, and
    /// the memory orders.
    pub(crate) fn summary(&self, f: &Function) -> String {
        let names = |ls: Vec<usize>| -> String {
            let mut v: Vec<&str> = ls.iter().map(|&l| f.locals[l].name.as_str()).collect();
            v.sort_unstable();
            v.join(" ")
        };
        let class = |c: LocalClass| {
            (0..self.locals.len())
                .filter(|&l| self.locals[l] == c)
                .collect::<Vec<_>>()
        };
        let counted = self.counted.iter().filter(|c| c.is_some()).count();
        let inductions = self
            .inductions
            .iter()
            .flatten()
            .map(|i| i.local.0 as usize)
            .collect();
        let private: Vec<String> = self
            .private
            .iter()
            .map(|a| format!("{}", a.param))
            .collect();
        let mut scans = Vec::new();
        fn walk(nodes: &[Node], out: &mut Vec<usize>) {
            for n in nodes {
                match n {
                    Node::WarpScan(s) => out.push(s.value.0 as usize),
                    Node::If { then_, else_, .. } => {
                        walk(then_, out);
                        walk(else_, out);
                    }
                    Node::Loop { body, .. } => walk(body, out),
                    _ => {}
                }
            }
        }
        walk(&self.nodes, &mut scans);
        format!(
            "regions: {}\npredicated loops: {}\ncounted loops: {}\ninduction locals: {}\n\
             recomputed locals: {}\nscratch locals: {}\nprivate params: {}\n\
             blocks y-major: {}\nscratch y-major: {}\nwarp scans of: {}\n\
             loop split between workers: {}\n",
            self.regions.len(),
            self.pred_loops,
            counted,
            names(inductions),
            names(class(LocalClass::Recomputed)),
            names(class(LocalClass::Scratch)),
            private.join(" "),
            self.blocks_y_major,
            self.scratch_y_major,
            names(scans),
            self.split_loop.is_some(),
        )
    }
}

/// The `(local, value)` of every store in `s`, at any depth.
pub(crate) fn local_stores(s: &Stmt, out: &mut Vec<(LocalId, ValueId)>) {
    match s {
        Stmt::Store { local, value } => out.push((*local, *value)),
        Stmt::If {
            then_block,
            else_block,
            ..
        } => {
            for t in then_block.stmts.iter().chain(&else_block.stmts) {
                local_stores(t, out);
            }
        }
        Stmt::Loop { body } => {
            for t in &body.stmts {
                local_stores(t, out);
            }
        }
        _ => {}
    }
}

/// The operation of the `let` that defines `v` anywhere in `b`.
fn defined_in(b: &Block, v: ValueId) -> Option<&Op> {
    b.stmts.iter().find_map(|s| match s {
        Stmt::Let { value, op, .. } if *value == v => Some(op),
        Stmt::If {
            then_block,
            else_block,
            ..
        } => defined_in(then_block, v).or_else(|| defined_in(else_block, v)),
        Stmt::Loop { body } => defined_in(body, v),
        _ => None,
    })
}

/// The operation of the `let` among `stmts` that defines `v`.
fn defining_op(stmts: &[Stmt], v: ValueId) -> Option<&Op> {
    stmts.iter().find_map(|s| match s {
        Stmt::Let { value, op, .. } if *value == v => Some(op),
        _ => None,
    })
}

/// The counted loop (a grid-stride loop) of a kernel that is only that loop,
/// when the loop's iterations are independent: a block may then run any
/// share of them, and the runtime spreads one block's iterations over the
/// workers, each streaming through its own contiguous part of the arrays
/// (blocks running side by side would share every page at `gridsize`
/// granularity). The kernel's top level holds block-level statements,
/// regions that only compute per-thread values (each share runs them again),
/// the loop, and nothing after it but a `return`; it has no barrier, warp
/// function, shared memory or early return; and the loop carries no
/// per-thread local from one iteration to the next but its induction locals.
fn split_loop(
    f: &Function,
    geometry: &GeometryValues,
    nodes: &[Node],
    regions: &[Region],
    counted: &[Option<Counted>],
    inductions: &[Vec<Induction>],
) -> Option<LoopId> {
    if uses_shared_memory(&f.body) || exchanges_lanes(&f.body) {
        return None;
    }
    let mut found = None;
    for n in nodes {
        match n {
            Node::Let(_) | Node::Store(_) => {}
            Node::Jump(Stmt::Return { .. }) if found.is_some() => {}
            Node::Threads(r) if found.is_none() => {
                if regions[*r].stmts.iter().any(|s| writes_memory(s)) {
                    return None;
                }
            }
            Node::Loop {
                body,
                pred: Some((lp, _)),
            } if found.is_none() && counted[*lp].is_some() => {
                let per_thread: Vec<_> =
                    body.iter().filter(|n| !matches!(n, Node::Let(_))).collect();
                let [Node::Threads(r)] = per_thread[..] else {
                    return None;
                };
                let reg = &regions[*r];
                let (mut v, mut read, mut written) = (Vec::new(), Vec::new(), Vec::new());
                for s in &reg.stmts {
                    uses(s, &mut v, &mut read, &mut written);
                }
                let mut w = vec![false; f.locals.len()];
                let mut exposed_here = vec![false; f.locals.len()];
                exposed(reg.stmts.iter().copied(), &mut w, &mut exposed_here);
                let carried = written.iter().any(|l| {
                    exposed_here[l.0 as usize] && !inductions[*lp].iter().any(|i| i.local == *l)
                });
                if carried || carries_memory(geometry, reg, &inductions[*lp]) {
                    return None;
                }
                found = Some(*lp);
            }
            _ => return None,
        }
    }
    found
}

/// Whether the split loop's region may pass a value from one iteration to a
/// later one of the same thread through memory, or let two iterations' writes
/// race: an array (by the local it is read from) that the region stores to,
/// or updates atomically and also reads, unless every access to it is at the
/// same indices, one of them the loop's variable (`x[i] = x[i] * 2` touches
/// a different element in every iteration; `out[t] += x[i]` and `last[0] =
/// x[i]` the same one); or a write to anything but a local's array (a view).
/// Atomic updates alone commute.
fn carries_memory(geo: &GeometryValues, reg: &Region, inductions: &[Induction]) -> bool {
    // The loop's variables: the induction locals and locals given their value.
    let mut vars: Vec<LocalId> = inductions.iter().map(|i| i.local).collect();
    for s in &reg.stmts {
        if let Stmt::Store { local, value } = s {
            if geo
                .unwrapped_load_of(*value)
                .is_some_and(|l| vars.contains(&l))
            {
                vars.push(*local);
            }
        }
    }
    // Per array root (the local its value is loaded from): index keys of the
    // accesses, whether any writes, whether any reads.
    #[derive(Default)]
    struct Accesses {
        keys: Vec<Vec<Result<LocalId, ValueId>>>,
        stores: bool,
        atomics: bool,
        reads: bool,
    }
    let mut by_root: HashMap<LocalId, Accesses> = HashMap::new();
    let mut unrooted_write = false;
    let mut visit = |array: ValueId, idx: &[ValueId], write: bool, atomic: bool| {
        let Some(Op::LoadLocal(root)) = geo.op_of(array) else {
            unrooted_write |= write;
            return;
        };
        let key = idx
            .iter()
            .map(|i| geo.unwrapped_load_of(*i).ok_or(*i))
            .collect();
        let a = by_root.entry(*root).or_default();
        a.keys.push(key);
        a.stores |= write && !atomic;
        a.atomics |= atomic;
        a.reads |= !write;
    };
    for s in &reg.stmts {
        stmt_has(s, &mut |s| {
            match s {
                Stmt::Let {
                    op: Op::ArrayLoad(a, idx),
                    ..
                } => visit(*a, idx, false, false),
                Stmt::Let {
                    op: Op::Atomic { array, indices, .. } | Op::AtomicCas { array, indices, .. },
                    ..
                } => visit(*array, indices, true, true),
                Stmt::ArrayStore { array, indices, .. } => visit(*array, indices, true, false),
                _ => {}
            }
            false
        });
    }
    if unrooted_write {
        return true;
    }
    by_root.values().any(|a| {
        (a.stores || (a.atomics && a.reads))
            && !(a.keys.windows(2).all(|w| w[0] == w[1])
                && a.keys[0]
                    .iter()
                    .any(|k| matches!(k, Ok(l) if vars.contains(l))))
    })
}

/// Whether `s` itself is an array store or an atomic.
fn is_memory_write(s: &Stmt) -> bool {
    matches!(s, Stmt::ArrayStore { .. })
        || op_is(s, |op| {
            matches!(op, Op::Atomic { .. } | Op::AtomicCas { .. })
        })
}

/// Whether `s` writes memory (array stores or atomics, at any depth).
fn writes_memory(s: &Stmt) -> bool {
    stmt_has(s, &mut is_memory_write)
}

/// Whether `b` writes memory (array stores or atomics, at any depth).
fn stores_memory(b: &Block) -> bool {
    block_has(b, &mut is_memory_write)
}

/// Whether `b` makes a shared array (at any depth).
fn uses_shared_memory(b: &Block) -> bool {
    block_has(b, &mut |s| {
        op_is(s, |op| matches!(op, Op::SharedArray { .. }))
    })
}

/// Whether `b` reads or writes arrays (loads, stores or atomics, at any depth).
pub(crate) fn accesses_memory(b: &Block) -> bool {
    block_has(b, &mut |s| {
        is_memory_write(s) || op_is(s, |op| matches!(op, Op::ArrayLoad(..)))
    })
}

/// Statements that synchronise threads (split regions).
pub(crate) fn is_sync_op(op: &Op) -> bool {
    matches!(
        op,
        Op::WarpShuffle { .. } | Op::WarpVote { .. } | Op::BarrierReduce(..)
    )
}

struct Facts<'a> {
    m: &'a Module,
    /// Whether each function synchronises threads, itself or through calls.
    fn_sync: Vec<bool>,
}

impl Facts<'_> {
    fn has_sync(&self, b: &Block) -> bool {
        b.stmts.iter().any(|s| self.stmt_sync(s))
    }

    fn stmt_sync(&self, s: &Stmt) -> bool {
        match s {
            Stmt::Barrier { .. } | Stmt::SyncWarp { .. } => true,
            Stmt::Let { op, .. } => {
                is_sync_op(op) || matches!(op, Op::Call(f, _) if self.fn_sync[f.0 as usize])
            }
            Stmt::If {
                then_block,
                else_block,
                ..
            } => self.has_sync(then_block) || self.has_sync(else_block),
            Stmt::Loop { body } => self.has_sync(body),
            _ => false,
        }
    }

    fn has_barrier(&self, b: &Block) -> bool {
        b.stmts.iter().any(|s| match s {
            Stmt::Barrier { .. } => true,
            Stmt::Let { op, .. } => {
                matches!(op, Op::BarrierReduce(..))
                    || matches!(op, Op::Call(f, _) if self.fn_sync[f.0 as usize])
            }
            Stmt::If {
                then_block,
                else_block,
                ..
            } => self.has_barrier(then_block) || self.has_barrier(else_block),
            Stmt::Loop { body } => self.has_barrier(body),
            _ => false,
        })
    }
}

fn compute_fn_sync(m: &Module) -> Vec<bool> {
    let mut sync = vec![false; m.functions.len()];
    loop {
        let facts = Facts {
            m,
            fn_sync: sync.clone(),
        };
        let next: Vec<bool> = m
            .functions
            .iter()
            .map(|f| facts.has_sync(&f.body))
            .collect();
        let _ = facts.m;
        if next == sync {
            return sync;
        }
        sync = next;
    }
}

/// `break`/`continue` that leave this block (not inside a nested loop).
fn has_escape(b: &Block) -> bool {
    escapes(&b.stmts)
}

/// Whether a `break` or `continue` among `stmts` (or in their `if`s, not in
/// nested loops) leaves the enclosing loop or iteration.
fn escapes(stmts: &[Stmt]) -> bool {
    stmts.iter().any(|s| match s {
        Stmt::Break | Stmt::Continue => true,
        Stmt::If {
            then_block,
            else_block,
            ..
        } => has_escape(then_block) || has_escape(else_block),
        _ => false,
    })
}

/// `(line ..., column ...)` of the first barrier in `b`, if it has a location.
fn first_barrier_loc(b: &Block) -> String {
    for s in &b.stmts {
        let l = match s {
            Stmt::Barrier { .. }
            | Stmt::Let {
                op: Op::BarrierReduce(..),
                ..
            } => loc_of(s),
            Stmt::If {
                then_block,
                else_block,
                ..
            } => first_barrier_loc(then_block) + &first_barrier_loc(else_block),
            Stmt::Loop { body } => first_barrier_loc(body),
            _ => String::new(),
        };
        if !l.is_empty() {
            return l;
        }
    }
    String::new()
}

fn has_return_stmt(b: &Block) -> bool {
    block_has(b, &mut |s| matches!(s, Stmt::Return { .. }))
}

fn has_return(s: &Stmt) -> bool {
    stmt_has(s, &mut |s| matches!(s, Stmt::Return { .. }))
}

/// Every value a statement reads (nested statements included), and every local
/// it reads or writes.
pub(crate) fn uses(
    s: &Stmt,
    vals: &mut Vec<ValueId>,
    read: &mut Vec<LocalId>,
    written: &mut Vec<LocalId>,
) {
    match s {
        Stmt::Let { op, .. } => {
            vals.extend(op.operands());
            if let Op::LoadLocal(l) = op {
                read.push(*l);
            }
        }
        Stmt::Store { local, value } => {
            vals.push(*value);
            written.push(*local);
        }
        Stmt::ArrayStore {
            array,
            indices,
            value,
            ..
        } => {
            vals.push(*array);
            vals.extend(indices.iter().copied());
            vals.push(*value);
        }
        Stmt::If {
            cond,
            then_block,
            else_block,
        } => {
            vals.push(*cond);
            for t in then_block.stmts.iter().chain(&else_block.stmts) {
                uses(t, vals, read, written);
            }
        }
        Stmt::Loop { body } => {
            for t in &body.stmts {
                uses(t, vals, read, written);
            }
        }
        Stmt::Return { value: Some(v) } => vals.push(*v),
        Stmt::SyncWarp { mask, .. } => vals.push(*mask),
        _ => {}
    }
}

struct Sched<'a, 'f> {
    f: &'a Function,
    facts: &'f Facts<'a>,
    u: &'f Uniformity,
    cand: &'f [bool],
    blocklevel: Vec<bool>,
    regions: Vec<Region<'a>>,
    violations: HashSet<LocalId>,
    thread_return: bool,
    reduce: bool,
    pred_loops: usize,
    /// `threadIdx` axes each value depends on ([`tid_axes`]).
    axes: &'f [u8],
    geometry: &'f GeometryValues<'a>,
    /// Per predicated loop, its induction locals (see [`Induction`]).
    inductions: Vec<Vec<Induction>>,
    counted: Vec<Option<Counted>>,
}

/// Whether a `break`/`continue` of the loop with this body sits under a
/// thread-dependent condition (not counting nested loops).
fn varying_exit(b: &Block, u: &Uniformity, under: bool) -> bool {
    b.stmts.iter().any(|s| match s {
        Stmt::Break | Stmt::Continue => under,
        Stmt::If {
            cond,
            then_block,
            else_block,
        } => {
            let under = under || !u.is_uniform_value(*cond);
            varying_exit(then_block, u, under) || varying_exit(else_block, u, under)
        }
        _ => false,
    })
}

fn loc_of(s: &Stmt) -> String {
    match s {
        Stmt::Let { loc, .. }
        | Stmt::ArrayStore { loc, .. }
        | Stmt::Raise { loc, .. }
        | Stmt::Barrier { loc }
        | Stmt::SyncWarp { loc, .. } => format!(" (line {}, column {})", loc.line, loc.col),
        _ => String::new(),
    }
}

impl<'a> Sched<'a, '_> {
    /// Whether a region ends before any of `rest` (the statements after the
    /// current one) runs per thread: they start with a synchronisation point
    /// or the kernel's `return`, or are block-level lets up to one or to the
    /// end of the block.
    fn ends_region(&self, rest: &[Stmt]) -> bool {
        for s in rest {
            match s {
                Stmt::Let { op, .. } if is_sync_op(op) => return true,
                Stmt::Let { op, .. } if self.evaluable(op) => {}
                Stmt::Barrier { .. } | Stmt::Return { .. } => return true,
                _ => return false,
            }
        }
        true
    }

    fn evaluable(&self, op: &Op) -> bool {
        let pure = match op {
            Op::Param(_)
            | Op::Const(_)
            | Op::Unary(..)
            | Op::Binary(..)
            | Op::Compare(..)
            | Op::Cast(_)
            | Op::Bitcast(_)
            | Op::Select(..)
            | Op::Math(..)
            | Op::ArrayDim(..)
            | Op::ArrayStride(..)
            | Op::SubArray(..)
            | Op::MakeTuple(_)
            | Op::TupleGet(..)
            | Op::TupleIndex(..)
            | Op::ComplexNew(..)
            | Op::ComplexReal(_)
            | Op::ComplexImag(_)
            | Op::SharedArray { .. }
            | Op::ConstArray { .. }
            | Op::Bit(..) => true,
            Op::Geometry(g, _) => *g != Geometry::ThreadIdx,
            Op::LoadLocal(l) => self.cand[l.0 as usize],
            _ => false,
        };
        pure && op.operands().iter().all(|v| self.blocklevel[v.0 as usize])
    }

    /// Whether a loop without barriers should run as a block-level
    /// predicated loop, one iteration of every thread after another, rather
    /// than each thread's whole loop in turn: a loop that threads leave at
    /// different times (a grid-stride `for i in range(start, n, stride)`)
    /// and that indexes arrays by thread. Each thread walking the whole array
    /// with a stride of the grid's size before the next starts misses the
    /// caches; in lockstep, consecutive threads touch consecutive elements.
    /// Threads are independent between barriers, and each thread's iterations
    /// keep their order, so any race-free kernel gives the same results.
    fn lockstep(&self, body: &Block) -> bool {
        fn indexed(b: &Block, axes: &[u8]) -> bool {
            b.stmts.iter().any(|s| match s {
                Stmt::If {
                    then_block,
                    else_block,
                    ..
                } => indexed(then_block, axes) || indexed(else_block, axes),
                Stmt::Loop { body } => indexed(body, axes),
                _ => {
                    access_of(s).is_some_and(|(_, idx)| idx.iter().any(|i| axes[i.0 as usize] != 0))
                }
            })
        }
        !self.facts.has_sync(body)
            && !has_return_stmt(body)
            && ((varying_exit(body, self.u, false) && indexed(body, self.axes))
                || self.streaming(body))
    }

    /// Whether some loop directly in `b` (or in its `if`s) is [`Self::streaming`].
    fn has_streaming_loop(&self, b: &Block) -> bool {
        b.stmts.iter().any(|s| match s {
            Stmt::Loop { body } => {
                !self.facts.has_sync(body) && !has_return_stmt(body) && self.streaming(body)
            }
            Stmt::If {
                then_block,
                else_block,
                ..
            } => self.has_streaming_loop(then_block) || self.has_streaming_loop(else_block),
            _ => false,
        })
    }

    /// A loop that walks memory across threads: some array access in it has
    /// its contiguous index depend on the thread and an index that changes
    /// from iteration to iteration (`B[k, j]` in `for k in range(n): acc +=
    /// A[i, k] * B[k, j]`). Each thread walking its own column to the end
    /// before the next starts strides through memory; in lockstep the
    /// threads of an iteration read along a row, and the thread loop
    /// vectorises. The loop's state per thread (`acc`) moves to scratch.
    fn streaming(&self, body: &Block) -> bool {
        // Locals the loop writes, and the values of its body that change
        // with the iteration (computed from them).
        let (mut v, mut r, mut written) = (Vec::new(), Vec::new(), Vec::new());
        for s in &body.stmts {
            uses(s, &mut v, &mut r, &mut written);
        }
        let mut varying: HashSet<ValueId> = HashSet::new();
        let mut found = false;
        fn walk(
            b: &Block,
            f: &Function,
            axes: &[u8],
            written: &[LocalId],
            varying: &mut HashSet<ValueId>,
            found: &mut bool,
        ) {
            for s in &b.stmts {
                if let Stmt::Let { value, op, .. } = s {
                    let vary = match op {
                        Op::LoadLocal(l) => written.contains(l),
                        _ => op.operands().iter().any(|o| varying.contains(o)),
                    };
                    if vary {
                        varying.insert(*value);
                    }
                }
                if let Some((a, idx)) = access_of(s) {
                    // Only memory worth walking in order: a shared (or local)
                    // array stays in the core's cache, and a short loop over
                    // it unrolls inside each thread instead, vectorised
                    // across threads (the tiled matmul's `sA[tx, k] * sB[k, ty]`).
                    let global = matches!(
                        f.value_type(a),
                        Type::Array {
                            space: Space::Global,
                            ..
                        }
                    );
                    let along_threads =
                        contiguous_index(f, a, idx).is_some_and(|i| axes[i.0 as usize] != 0);
                    *found |= global && along_threads && idx.iter().any(|i| varying.contains(i));
                }
                match s {
                    Stmt::If {
                        then_block,
                        else_block,
                        ..
                    } => {
                        walk(then_block, f, axes, written, varying, found);
                        walk(else_block, f, axes, written, varying, found);
                    }
                    Stmt::Loop { body } => walk(body, f, axes, written, varying, found),
                    _ => {}
                }
            }
        }
        walk(body, self.f, self.axes, &written, &mut varying, &mut found);
        found
    }

    /// The induction locals of the lockstep loop with this `body`, preceded
    /// in its block by `before`: each stored at the top of the body (before
    /// anything but lets and `if ...: break`) as its own value at the start of
    /// the iteration plus a block-level step, stored nowhere else in the loop,
    /// read nowhere outside it, and given a thread-geometry value just before it.
    fn inductions_of(&self, before: &[Stmt], body: &Block) -> Vec<Induction> {
        let f = self.f;
        let only_breaks = |b: &Block| {
            b.stmts
                .iter()
                .all(|s| matches!(s, Stmt::Let { .. } | Stmt::Break))
        };
        let mut found = Vec::new();
        for (k, s) in body.stmts.iter().enumerate() {
            match s {
                Stmt::Let { .. } => {}
                Stmt::If {
                    then_block,
                    else_block,
                    ..
                } if only_breaks(then_block) && only_breaks(else_block) => {}
                Stmt::Store { local, value } => {
                    let loaded_here = |v: ValueId| {
                        body.stmts[..k].iter().any(|t| {
                            matches!(t, Stmt::Let { value, op: Op::LoadLocal(l), .. }
                                if *value == v && l == local)
                        })
                    };
                    let step = match defining_op(&body.stmts[..k], *value) {
                        Some(Op::Binary(BinaryOp::Add, a, b)) if loaded_here(*a) => Some(*b),
                        Some(Op::Binary(BinaryOp::Add, a, b)) if loaded_here(*b) => Some(*a),
                        _ => None,
                    };
                    // The same step every iteration: defined before the loop, or a constant.
                    let invariant = |v: &ValueId| {
                        self.blocklevel[v.0 as usize]
                            && match defined_in(body, *v) {
                                Some(op) => matches!(op, Op::Const(_)),
                                None => true,
                            }
                    };
                    if let Some(step) = step.filter(invariant) {
                        found.push((*local, step));
                    }
                }
                _ => break,
            }
        }
        found
            .into_iter()
            .filter_map(|(local, step)| {
                let (mut r, mut w) = (Vec::new(), Vec::new());
                for t in &body.stmts {
                    let mut v = Vec::new();
                    uses(t, &mut v, &mut r, &mut w);
                }
                if w.iter().filter(|l| **l == local).count() != 1 {
                    return None;
                }
                // Read nowhere but in this body.
                let (mut all_r, mut all_w) = (Vec::new(), Vec::new());
                for t in &f.body.stmts {
                    let mut v = Vec::new();
                    uses(t, &mut v, &mut all_r, &mut all_w);
                }
                let reads_here = r.iter().filter(|l| **l == local).count();
                if all_r.iter().filter(|l| **l == local).count() != reads_here {
                    return None;
                }
                // The last mention before the loop gives it its first value.
                let last = before.iter().rev().find(|t| {
                    let (mut v, mut r, mut w) = (Vec::new(), Vec::new(), Vec::new());
                    uses(t, &mut v, &mut r, &mut w);
                    r.contains(&local) || w.contains(&local)
                })?;
                let Stmt::Store { local: l, value } = last else {
                    return None;
                };
                (*l == local && self.geometry.value(*value).is_some()).then_some(Induction {
                    local,
                    init: *value,
                    step,
                })
            })
            .collect()
    }

    /// `induction` as a counted range loop (see [`Counted`]): the body starts
    /// with pure lets and `if not (i < end if step > 0 else i > end): break`
    /// (the front end's `range` test) on the induction's value at the
    /// iteration's start, has no other way out of the loop, and `init`,
    /// `step` are never negative.
    fn counted_range(&self, body: &Block, ind: Induction) -> Option<Counted> {
        let geo = self.geometry;
        if !geo.nonneg(ind.init) || !geo.nonneg(ind.step) {
            return None;
        }
        let k = body
            .stmts
            .iter()
            .position(|s| !matches!(s, Stmt::Let { .. }))?;
        let (pre, rest) = body.stmts.split_at(k);
        let Stmt::If {
            cond,
            then_block,
            else_block,
        } = &rest[0]
        else {
            return None;
        };
        if !(else_block.stmts.is_empty() && matches!(then_block.stmts.as_slice(), [Stmt::Break])) {
            return None;
        }
        // Threads that have left run these again: nothing that touches memory.
        let pure = pre.iter().all(|s| {
            matches!(
                s,
                Stmt::Let {
                    op: Op::Const(_)
                        | Op::LoadLocal(_)
                        | Op::Compare(..)
                        | Op::Select(..)
                        | Op::Unary(..)
                        | Op::Binary(..)
                        | Op::Cast(_),
                    ..
                }
            )
        });
        // No other way out of the loop (breaks of nested loops are theirs).
        if !pure || escapes(&rest[1..]) || rest[1..].iter().any(has_return) {
            return None;
        }
        let def = |v: ValueId| self.geometry.op_of(v);
        let Some(Op::Unary(UnaryOp::Not, sel)) = defining_op(pre, *cond) else {
            return None;
        };
        let is_iv =
            |v: &ValueId| matches!(defining_op(pre, *v), Some(Op::LoadLocal(l)) if *l == ind.local);
        let invariant = |v: &ValueId| {
            self.blocklevel[v.0 as usize]
                && defined_in(body, *v).is_none_or(|op| matches!(op, Op::Const(_)))
        };
        // A constant positive step: the front end tests `i < end` alone.
        let positive_const = matches!(def(ind.step), Some(Op::Const(Const::Int(c))) if *c > 0);
        if let Some(Op::Compare(CmpOp::Lt, i, end)) = defining_op(pre, *sel) {
            return (positive_const && is_iv(i) && invariant(end)).then_some(Counted {
                induction: ind,
                end: *end,
            });
        }
        let Some(Op::Select(pos, lt, gt)) = defining_op(pre, *sel) else {
            return None;
        };
        let Some(Op::Compare(CmpOp::Gt, st, zero)) = def(*pos) else {
            return None;
        };
        if !matches!(def(*zero), Some(Op::Const(Const::Int(0)))) {
            return None;
        }
        let (Some(Op::Compare(CmpOp::Lt, i1, end)), Some(Op::Compare(CmpOp::Gt, i2, end2))) =
            (defining_op(pre, *lt), defining_op(pre, *gt))
        else {
            return None;
        };
        (*st == ind.step && is_iv(i1) && is_iv(i2) && end == end2 && invariant(end)).then_some(
            Counted {
                induction: ind,
                end: *end,
            },
        )
    }

    /// Notes stores to candidate block locals inside a per-thread statement.
    fn note_thread_stmt(&mut self, s: &Stmt) {
        let (mut v, mut r, mut w) = (vec![], vec![], vec![]);
        uses(s, &mut v, &mut r, &mut w);
        for l in w {
            if self.cand[l.0 as usize] {
                self.violations.insert(l);
            }
        }
        if has_return(s) {
            self.thread_return = true;
        }
    }

    fn flush(
        &mut self,
        out: &mut Vec<Node<'a>>,
        pend: &mut Vec<&'a Stmt>,
        preds: &[Pred],
        lp: Option<LoopId>,
    ) {
        if !pend.is_empty() {
            self.regions.push(Region {
                stmts: std::mem::take(pend),
                preds: preds.to_vec(),
                brk: lp,
                init: None,
            });
            out.push(Node::Threads(self.regions.len() - 1));
        }
    }

    /// Plans block `b`. `preds`: which threads run it (empty: the whole
    /// block); `lp`: the innermost enclosing block-level loop when it is predicated.
    fn block(&mut self, b: &'a Block, preds: &[Pred], lp: Option<LoopId>) -> R<Vec<Node<'a>>> {
        let mut out = Vec::new();
        let mut pend: Vec<&'a Stmt> = Vec::new();
        for (si, s) in b.stmts.iter().enumerate() {
            match s {
                Stmt::Let { value, op, .. } => match op {
                    Op::WarpShuffle { .. } | Op::WarpVote { .. } => {
                        self.flush(&mut out, &mut pend, preds, lp);
                        pend.push(s);
                    }
                    Op::BarrierReduce(kind, pred) => {
                        if !preds.is_empty() {
                            return unsupported(format!(
                                "syncthreads_{} under thread-dependent control flow{}",
                                format!("{kind:?}").to_lowercase(),
                                loc_of(s)
                            ));
                        }
                        self.flush(&mut out, &mut pend, preds, lp);
                        self.reduce = true;
                        out.push(Node::Reduce {
                            value: *value,
                            kind: *kind,
                            pred: *pred,
                        });
                        self.blocklevel[value.0 as usize] = true;
                    }
                    Op::Call(fid, _) if self.facts.fn_sync[fid.0 as usize] => {
                        return unsupported(format!(
                            "the CPU SIMT lowering does not support a call to `{}`, a device function that synchronises threads (syncthreads or warp functions){}",
                            self.facts.m.function(*fid).name,
                            loc_of(s)
                        ));
                    }
                    _ if self.evaluable(op) => {
                        out.push(Node::Let(s));
                        self.blocklevel[value.0 as usize] = true;
                    }
                    _ => {
                        self.note_thread_stmt(s);
                        pend.push(s);
                    }
                },
                Stmt::Store { local, value } => {
                    let l = local.0 as usize;
                    if self.cand[l] && self.blocklevel[value.0 as usize] && preds.is_empty() {
                        let reads = pend.iter().any(|p| {
                            let (mut v, mut r, mut w) = (vec![], vec![], vec![]);
                            uses(p, &mut v, &mut r, &mut w);
                            r.contains(local)
                        });
                        if reads {
                            self.flush(&mut out, &mut pend, preds, lp);
                        }
                        out.push(Node::Store(s));
                    } else {
                        self.note_thread_stmt(s);
                        pend.push(s);
                    }
                }
                Stmt::If {
                    cond,
                    then_block,
                    else_block,
                } => {
                    let sync = self.facts.has_sync(then_block) || self.facts.has_sync(else_block);
                    let escape = has_escape(then_block) || has_escape(else_block);
                    // A streaming loop inside runs in lockstep under the
                    // condition: the `if` becomes a predicated block-level node.
                    let streams = lp.is_none()
                        && !escape
                        && !has_return_stmt(then_block)
                        && !has_return_stmt(else_block)
                        && (self.has_streaming_loop(then_block)
                            || self.has_streaming_loop(else_block));
                    // In a predicated loop, `break`/`continue` are per thread.
                    if !sync && !streams && (!escape || lp.is_some()) {
                        self.note_thread_stmt(s);
                        // A store by one lane of each warp (`if lane == 31:`)
                        // at the end of a region: a region of its own, whose
                        // thread loop visits those threads alone (see
                        // `GeometryValues::axis_equal`), instead of a
                        // vectorised loop scattering under a mask. (Not for
                        // one thread, `if tid == 0:`: a region that reads a
                        // value the previous one just stored waits for that
                        // region's stores to reach the cache, which costs
                        // more than the scatters when they went to memory.)
                        let alone = preds.is_empty()
                            && lp.is_none()
                            && else_block.stmts.is_empty()
                            && stores_memory(then_block)
                            && self
                                .geometry
                                .axis_equal(*cond)
                                .is_some_and(|eq| eq.every.is_some())
                            && self.ends_region(&b.stmts[si + 1..]);
                        if alone {
                            self.flush(&mut out, &mut pend, preds, lp);
                        }
                        pend.push(s);
                        if alone {
                            self.flush(&mut out, &mut pend, preds, lp);
                        }
                        continue;
                    }
                    self.flush(&mut out, &mut pend, preds, lp);
                    if self.u.is_uniform_value(*cond) {
                        let then_ = self.block(then_block, preds, lp)?;
                        let else_ = self.block(else_block, preds, lp)?;
                        out.push(Node::If {
                            cond: *cond,
                            then_,
                            else_,
                            predicated: false,
                        });
                        continue;
                    }
                    if self.facts.has_barrier(then_block) || self.facts.has_barrier(else_block) {
                        return unsupported(
                            "syncthreads() under a condition that differs between the threads of a block: every thread of the block must reach the same barriers",
                        );
                    }
                    if escape && lp.is_none() {
                        return unsupported(
                            "the CPU SIMT lowering does not support a thread-dependent break or continue out of a loop that contains warp functions",
                        );
                    }
                    let mut p = preds.to_vec();
                    p.push(Pred::Cond(*cond, true));
                    let then_ = self.block(then_block, &p, lp)?;
                    p.pop();
                    p.push(Pred::Cond(*cond, false));
                    let else_ = self.block(else_block, &p, lp)?;
                    out.push(Node::If {
                        cond: *cond,
                        then_,
                        else_,
                        predicated: true,
                    });
                }
                Stmt::Loop { body } => {
                    if preds.is_empty() && lp.is_none() {
                        if let Some(scan) =
                            warp_scan::recognise(self.f, self.geometry, &b.stmts[..si], body)
                        {
                            self.note_thread_stmt(s);
                            self.flush(&mut out, &mut pend, preds, lp);
                            out.push(Node::WarpScan(scan));
                            continue;
                        }
                    }
                    // A grid-stride or streaming loop runs in lockstep (see `lockstep`).
                    let lockstep = lp.is_none() && self.lockstep(body);
                    if !self.facts.has_sync(body) && !lockstep {
                        self.note_thread_stmt(s);
                        pend.push(s);
                        continue;
                    }
                    self.flush(&mut out, &mut pend, preds, lp);
                    // Threads leave at different times, or only some run it.
                    if preds.is_empty() && !varying_exit(body, self.u, false) {
                        let body = self.block(body, preds, None)?;
                        out.push(Node::Loop { body, pred: None });
                        continue;
                    }
                    if self.facts.has_barrier(body) {
                        return unsupported(format!(
                            "syncthreads() inside a loop that the threads of a block leave at different times, or that only some threads run{}: every thread of the block must reach the same barriers",
                            first_barrier_loc(body)
                        ));
                    }
                    let l = self.pred_loops;
                    self.pred_loops += 1;
                    self.regions.push(Region {
                        stmts: Vec::new(),
                        preds: preds.to_vec(),
                        brk: None,
                        init: Some(l),
                    });
                    let init = self.regions.len() - 1;
                    let mut p = preds.to_vec();
                    p.push(Pred::Loop(l));
                    let regions_before = self.regions.len();
                    let body_nodes = self.block(body, &p, Some(l))?;
                    let one_region = self.regions.len() == regions_before + 1
                        && body_nodes
                            .iter()
                            .all(|n| matches!(n, Node::Let(_) | Node::Threads(_)));
                    let found = if lockstep && one_region {
                        self.inductions_of(&b.stmts[..si], body)
                    } else {
                        Vec::new()
                    };
                    let counted = found.iter().find_map(|ind| self.counted_range(body, *ind));
                    self.inductions.push(found);
                    self.counted.push(counted);
                    out.push(Node::Loop {
                        body: body_nodes,
                        pred: Some((l, init)),
                    });
                }
                Stmt::Break | Stmt::Continue => {
                    if lp.is_some() {
                        pend.push(s);
                        break;
                    }
                    self.flush(&mut out, &mut pend, preds, lp);
                    out.push(Node::Jump(s));
                    break;
                }
                Stmt::Return { .. } => {
                    if preds.is_empty() {
                        self.flush(&mut out, &mut pend, preds, lp);
                        out.push(Node::Jump(s));
                    } else {
                        self.thread_return = true;
                        pend.push(s);
                    }
                    break;
                }
                Stmt::Raise { .. } => {
                    pend.push(s);
                    break;
                }
                Stmt::Barrier { .. } => {
                    if !preds.is_empty() {
                        return unsupported(format!(
                            "syncthreads() under a condition that differs between the threads of a block{}: every thread of the block must reach the same barriers",
                            loc_of(s)
                        ));
                    }
                    self.flush(&mut out, &mut pend, preds, lp);
                }
                Stmt::SyncWarp { .. } => self.flush(&mut out, &mut pend, preds, lp),
                Stmt::ArrayStore { .. } | Stmt::Fence(_) => pend.push(s),
            }
        }
        self.flush(&mut out, &mut pend, preds, lp);
        Ok(out)
    }
}

/// Locals that some region may read before writing them (on some path from
/// the region's start).
fn exposed<'s>(
    stmts: impl IntoIterator<Item = &'s Stmt>,
    w: &mut Vec<bool>,
    out: &mut Vec<bool>,
) -> bool {
    for s in stmts {
        match s {
            Stmt::Let {
                op: Op::LoadLocal(l),
                ..
            } if !w[l.0 as usize] => out[l.0 as usize] = true,
            Stmt::Store { local, .. } => w[local.0 as usize] = true,
            Stmt::If {
                then_block,
                else_block,
                ..
            } => {
                let mut w1 = w.clone();
                let t1 = exposed(&then_block.stmts, &mut w1, out);
                let mut w2 = w.clone();
                let t2 = exposed(&else_block.stmts, &mut w2, out);
                match (t1, t2) {
                    (true, true) => return true,
                    (true, false) => *w = w2,
                    (false, true) => *w = w1,
                    (false, false) => {
                        for (i, x) in w.iter_mut().enumerate() {
                            *x = w1[i] && w2[i];
                        }
                    }
                }
            }
            Stmt::Loop { body } => {
                let mut w1 = w.clone();
                exposed(&body.stmts, &mut w1, out);
            }
            Stmt::Break | Stmt::Continue | Stmt::Return { .. } | Stmt::Raise { .. } => return true,
            _ => {}
        }
    }
    false
}

/// Which `threadIdx` axes (bit 0: x, 1: y, 2: z) each value depends on,
/// through operations and locals (not through control flow).
fn tid_axes(f: &Function) -> Vec<u8> {
    // Tuples built in place (`cuda.grid(2)`): an item depends on its own value.
    let mut tuples: Vec<Option<&[ValueId]>> = vec![None; f.values.len()];
    fn find<'f>(b: &'f Block, tuples: &mut [Option<&'f [ValueId]>]) {
        for s in &b.stmts {
            match s {
                Stmt::Let {
                    value,
                    op: Op::MakeTuple(items),
                    ..
                } => tuples[value.0 as usize] = Some(items),
                Stmt::If {
                    then_block,
                    else_block,
                    ..
                } => {
                    find(then_block, tuples);
                    find(else_block, tuples);
                }
                Stmt::Loop { body } => find(body, tuples),
                _ => {}
            }
        }
    }
    find(&f.body, &mut tuples);
    fn walk(
        b: &Block,
        tuples: &[Option<&[ValueId]>],
        val: &mut [u8],
        loc: &mut [u8],
        changed: &mut bool,
    ) {
        for s in &b.stmts {
            match s {
                Stmt::Let { value, op, .. } => {
                    let t = match op {
                        Op::Geometry(Geometry::ThreadIdx, a) => 1 << a.index(),
                        Op::LaneId => 1,
                        Op::LoadLocal(l) => loc[l.0 as usize],
                        Op::TupleGet(t, k) => match tuples[t.0 as usize] {
                            Some(items) if (*k as usize) < items.len() => {
                                val[items[*k as usize].0 as usize]
                            }
                            _ => val[t.0 as usize],
                        },
                        _ => op.operands().iter().fold(0, |t, v| t | val[v.0 as usize]),
                    };
                    let d = &mut val[value.0 as usize];
                    if *d | t != *d {
                        *d |= t;
                        *changed = true;
                    }
                }
                Stmt::Store { local, value } => {
                    let t = val[value.0 as usize];
                    let d = &mut loc[local.0 as usize];
                    if *d | t != *d {
                        *d |= t;
                        *changed = true;
                    }
                }
                Stmt::If {
                    then_block,
                    else_block,
                    ..
                } => {
                    walk(then_block, tuples, val, loc, changed);
                    walk(else_block, tuples, val, loc, changed);
                }
                Stmt::Loop { body } => walk(body, tuples, val, loc, changed),
                _ => {}
            }
        }
    }
    let mut val = vec![0u8; f.values.len()];
    let mut loc = vec![0u8; f.locals.len()];
    loop {
        let mut changed = false;
        walk(&f.body, &tuples, &mut val, &mut loc, &mut changed);
        if !changed {
            return val;
        }
    }
}

/// The array and indices `s` reads, writes or updates atomically, if it is
/// such an access (not looking into nested statements).
fn access_of(s: &Stmt) -> Option<(ValueId, &[ValueId])> {
    match s {
        Stmt::Let { op, .. } => match op {
            Op::ArrayLoad(a, idx) => Some((*a, idx)),
            Op::Atomic { array, indices, .. } | Op::AtomicCas { array, indices, .. } => {
                Some((*array, indices))
            }
            _ => None,
        },
        Stmt::ArrayStore { array, indices, .. } => Some((*array, indices)),
        _ => None,
    }
}

/// Among `idx`, the index on array `a`'s contiguous axis (the last one unless
/// its layout is F).
fn contiguous_index(f: &Function, a: ValueId, idx: &[ValueId]) -> Option<ValueId> {
    let ty = f.value_type(a);
    match ty {
        Type::Array { ndim, .. } if *ndim > 0 => {
            let c = ty.contiguous_axis().unwrap_or(*ndim - 1) as usize;
            idx.get(c).copied()
        }
        _ => None,
    }
}

/// How many memory accesses of these statements are contiguous along
/// `threadIdx.x` and along `y`: the index on an array's contiguous axis (the
/// last one unless the layout is F) depends on that axis (and not on `x`, for `y`).
fn contiguity_score(f: &Function, stmts: &[&Stmt], axes: &[u8]) -> [i32; 2] {
    fn walk(f: &Function, s: &Stmt, axes: &[u8], score: &mut [i32; 2]) {
        if let Some(i) = access_of(s).and_then(|(a, idx)| contiguous_index(f, a, idx)) {
            let d = axes[i.0 as usize];
            if d & 1 != 0 {
                score[0] += 1;
            } else if d & 2 != 0 {
                score[1] += 1;
            }
        }
        match s {
            Stmt::If {
                then_block,
                else_block,
                ..
            } => {
                for t in then_block.stmts.iter().chain(&else_block.stmts) {
                    walk(f, t, axes, score);
                }
            }
            Stmt::Loop { body } => {
                for t in &body.stmts {
                    walk(f, t, axes, score);
                }
            }
            _ => {}
        }
    }
    let mut score = [0i32; 2];
    for s in stmts {
        walk(f, s, axes, &mut score);
    }
    score
}

pub(crate) fn plan<'a>(m: &'a Module, u: &Uniformity) -> R<Plan<'a>> {
    let f = m.function(m.entry);
    let facts = Facts {
        m,
        fn_sync: compute_fn_sync(m),
    };
    let nl = f.locals.len();
    let nv = f.values.len();
    let mut cand: Vec<bool> = (0..nl)
        .map(|l| u.is_uniform_local(LocalId(l as u32)))
        .collect();
    let axes = tid_axes(f);
    let geometry = GeometryValues::new(f);
    let mut sched;
    let nodes = loop {
        sched = Sched {
            axes: &axes,
            f,
            facts: &facts,
            u,
            cand: &cand,
            blocklevel: vec![false; nv],
            regions: Vec::new(),
            violations: HashSet::new(),
            thread_return: false,
            reduce: false,
            pred_loops: 0,
            geometry: &geometry,
            inductions: Vec::new(),
            counted: Vec::new(),
        };
        let nodes = sched.block(&f.body, &[], None)?;
        if sched.violations.is_empty() {
            break nodes;
        }
        let v: Vec<LocalId> = sched.violations.iter().copied().collect();
        for l in v {
            cand[l.0 as usize] = false;
        }
    };
    let _ = sched.f;
    let Sched {
        blocklevel,
        regions,
        thread_return,
        reduce,
        pred_loops,
        inductions,
        counted,
        ..
    } = sched;

    // Where each per-thread value is defined.
    let mut def_region: Vec<Option<RegionId>> = vec![None; nv];
    for (r, reg) in regions.iter().enumerate() {
        for s in &reg.stmts {
            if let Stmt::Let { value, .. } = s {
                def_region[value.0 as usize] = Some(r);
            }
        }
    }
    let is_local_array = |v: ValueId| -> bool {
        regions.iter().any(|reg| {
            reg.stmts.iter().any(
                |s| matches!(s, Stmt::Let { value, op: Op::LocalArray { .. }, .. } if *value == v),
            )
        })
    };
    let mut spilled = vec![false; nv];
    let mut scratch_array = vec![false; nv];
    let mut reloads = vec![Vec::new(); regions.len()];
    let mut exposed_locals = vec![false; nl];
    for (r, reg) in regions.iter().enumerate() {
        let (mut vals, mut read, mut written) = (vec![], vec![], vec![]);
        for s in &reg.stmts {
            uses(s, &mut vals, &mut read, &mut written);
        }
        vals.extend(reg.preds.iter().filter_map(|p| match p {
            Pred::Cond(c, _) => Some(*c),
            Pred::Loop(_) => None,
        }));
        let mut seen = HashSet::new();
        for v in vals {
            if let Some(d) = def_region[v.0 as usize] {
                if d != r && seen.insert(v) {
                    if is_local_array(v) {
                        scratch_array[v.0 as usize] = true;
                    } else {
                        spilled[v.0 as usize] = true;
                    }
                    reloads[r].push(v);
                }
            }
        }
        let mut w = vec![false; nl];
        exposed(reg.stmts.iter().copied(), &mut w, &mut exposed_locals);
    }
    // Block-level readers of per-thread values.
    let mut uniform_slot = vec![false; nv];
    fn walk(nodes: &[Node], bl: &[bool], spilled: &mut [bool], uslot: &mut [bool]) {
        for n in nodes {
            match n {
                Node::If {
                    cond,
                    then_,
                    else_,
                    predicated,
                } => {
                    if !*predicated && !bl[cond.0 as usize] {
                        uslot[cond.0 as usize] = true;
                    }
                    walk(then_, bl, spilled, uslot);
                    walk(else_, bl, spilled, uslot);
                }
                Node::Loop { body, .. } => walk(body, bl, spilled, uslot),
                Node::Reduce { pred, .. } if !bl[pred.0 as usize] => {
                    spilled[pred.0 as usize] = true;
                }
                _ => {}
            }
        }
    }
    walk(&nodes, &blocklevel, &mut spilled, &mut uniform_slot);

    let (private, private_values) = super::privatize::privatizable(f);
    let induction_locals: HashSet<LocalId> = inductions.iter().flatten().map(|i| i.local).collect();
    let locals = (0..nl)
        .map(|l| {
            if cand[l] {
                LocalClass::Block
            } else if induction_locals.contains(&LocalId(l as u32)) {
                LocalClass::Induction
            } else if exposed_locals[l] && geometry.locals[l].is_some() {
                LocalClass::Recomputed
            } else if exposed_locals[l] {
                LocalClass::Scratch
            } else {
                LocalClass::Private
            }
        })
        .collect::<Vec<_>>();
    // A local array kept in a local that carries values between regions
    // (`window = cuda.local.array(...)`, read after a barrier or in a
    // lockstep loop) must be per thread too: the local holds its address.
    for reg in &regions {
        for s in &reg.stmts {
            let mut stores = Vec::new();
            local_stores(s, &mut stores);
            for (l, v) in stores {
                if locals[l.0 as usize] == LocalClass::Scratch && is_local_array(v) {
                    scratch_array[v.0 as usize] = true;
                }
            }
        }
    }
    let scores: Vec<_> = regions
        .iter()
        .map(|reg| contiguity_score(f, &reg.stmts, &axes))
        .collect();
    let total = scores
        .iter()
        .fold([0, 0], |t, s| [t[0] + s[0], t[1] + s[1]]);
    let exited_flag = thread_return && (regions.len() > 1 || reduce);
    let split_loop = if exited_flag || reduce {
        None
    } else {
        split_loop(f, &geometry, &nodes, &regions, &counted, &inductions)
    };
    Ok(Plan {
        mergeable: super::merge::mergeable_axes(f),
        split_loop,
        y_inner: scores.iter().map(|s| s[1] > s[0]).collect(),
        blocks_y_major: total[1] > total[0],
        scratch_y_major: total[1] > total[0] && !exchanges_lanes(&f.body),
        geometry,
        inductions,
        counted,
        private,
        private_values,
        exited_flag,
        pred_loops,
        nodes,
        regions,
        blocklevel,
        spilled,
        uniform_slot,
        scratch_array,
        reloads,
        locals,
    })
}
