//! Which values of a kernel are the same for every thread of a block
//! ("uniform") and which may differ ("varying"), and the check that every
//! block barrier is reached by the whole block.
//!
//! Varying sources: `threadIdx`, the lane id, the results of atomics, warp
//! shuffles and warp votes, loads from arrays at varying indices, and every
//! load from a `Local` or `Shared` array (another thread may have written a
//! shared element). Varying-ness flows through operations, through locals (a
//! local is varying when some store writes a varying value into it, or happens
//! under varying control), and through calls (with [`analyze_module`]).
//! `blockIdx`, `blockDim`, `gridDim`, kernel parameters, constants, global and
//! constant arrays read at uniform indices, and `syncthreads_count`-style
//! reductions are uniform.
//!
//! Control is varying inside an `If` whose condition is varying, and inside a
//! `Loop` that a `break`, `continue` or `return` under a varying condition can
//! leave. A `return` under a varying condition outside any loop (the common
//! `if i >= n: return` at the top of a kernel) does not make the code after it
//! varying: the threads that returned have exited, and an exited thread does
//! not hold up a barrier (as on NVIDIA GPUs); the CPU SIMT lowering must treat
//! exited threads the same way. `raise` (which stops the thread) is treated
//! like such an exit.
//!
//! Array *handles* of `cuda.local.array` are uniform (every thread has its own
//! copy at the same place, so `.shape` is uniform); their elements are not.

use std::collections::HashMap;

use crate::gpu::{Geometry, Space};
use crate::ops::*;
use crate::types::Type;

/// The result of [`analyze`]: whether each value and local of a function is uniform.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Uniformity {
    varying_values: Vec<bool>,
    varying_locals: Vec<bool>,
    /// Whether the function's return value may differ between threads.
    ret_varying: bool,
}

impl Uniformity {
    pub fn is_uniform_value(&self, v: ValueId) -> bool {
        !self
            .varying_values
            .get(v.0 as usize)
            .copied()
            .unwrap_or(true)
    }

    pub fn is_uniform_local(&self, l: LocalId) -> bool {
        !self
            .varying_locals
            .get(l.0 as usize)
            .copied()
            .unwrap_or(true)
    }

    /// Whether the value the function returns may differ between threads.
    pub fn is_uniform_return(&self) -> bool {
        !self.ret_varying
    }
}

/// A barrier that only some threads of a block may reach.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BarrierError {
    /// Where the barrier (or the call that reaches one) is.
    pub loc: Loc,
    /// Where the thread-dependent condition that guards it is, when known.
    pub cond_loc: Option<Loc>,
    pub message: String,
}

/// A [`BarrierError`] in one function of a module.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct ModuleBarrierError {
    pub function: FuncId,
    pub error: BarrierError,
}

/// Analyses one function on its own: its parameters are uniform (as a
/// kernel's are) and the result of every call is assumed varying.
pub fn analyze(func: &Function) -> Uniformity {
    let params = vec![false; func.params.len()];
    analyze_with(func, &params, &|_| true)
}

/// Analyses one function given which parameters are varying and, for each
/// callee, whether its result is varying when its arguments are uniform.
pub fn analyze_with(
    func: &Function,
    varying_params: &[bool],
    callee_varying: &dyn Fn(FuncId) -> bool,
) -> Uniformity {
    let mut a = Analysis {
        f: func,
        params: varying_params,
        callee_varying,
        vv: vec![false; func.values.len()],
        vl: vec![false; func.locals.len()],
        ret: false,
        changed: true,
        calls: None,
    };
    while a.changed {
        a.changed = false;
        a.block(&func.body, false);
    }
    Uniformity {
        varying_values: a.vv,
        varying_locals: a.vl,
        ret_varying: a.ret,
    }
}

/// Per-function uniformity for a whole module, with facts flowing through
/// calls: a callee's parameter is varying when some call site passes a varying
/// argument or calls it under varying control. The entry's parameters are
/// uniform.
#[derive(Clone, Debug, Default)]
pub struct ModuleUniformity {
    pub functions: Vec<Uniformity>,
    /// Whether each function waits at a block barrier, itself or through a call.
    pub has_barrier: Vec<bool>,
}

pub fn analyze_module(m: &Module) -> ModuleUniformity {
    let n = m.functions.len();
    // 1. Whether each function's result is varying with uniform arguments.
    let mut rv = vec![false; n];
    loop {
        let mut changed = false;
        for (i, f) in m.functions.iter().enumerate() {
            if rv[i] {
                continue;
            }
            let params = vec![false; f.params.len()];
            let r = analyze_with(f, &params, &|g| rv[g.0 as usize]);
            if r.ret_varying {
                rv[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    // 2. Varying parameters, from every call site.
    let mut pv: Vec<Vec<bool>> = m
        .functions
        .iter()
        .map(|f| vec![false; f.params.len()])
        .collect();
    let mut result: Vec<Uniformity>;
    loop {
        let mut changed = false;
        result = Vec::with_capacity(n);
        for f in &m.functions {
            let i = result.len();
            let (u, calls) = analyze_calls(f, &pv[i], &|g| rv[g.0 as usize]);
            for c in calls {
                let Some(ps) = pv.get_mut(c.callee.0 as usize) else {
                    continue;
                };
                for (k, vary) in c.args.iter().enumerate() {
                    if (*vary || c.ctrl) && k < ps.len() && !ps[k] {
                        ps[k] = true;
                        changed = true;
                    }
                }
            }
            result.push(u);
        }
        if !changed {
            break;
        }
    }
    // 3. Barriers reached through calls.
    let mut hb: Vec<bool> = m
        .functions
        .iter()
        .map(|f| direct_barrier(&f.body))
        .collect();
    loop {
        let mut changed = false;
        for (i, f) in m.functions.iter().enumerate() {
            if !hb[i] && calls_any(&f.body, &hb) {
                hb[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    ModuleUniformity {
        functions: result,
        has_barrier: hb,
    }
}

/// Checks one function on its own (calls are not followed): every
/// `Barrier` and `BarrierReduce` must be reached by the whole block.
/// `SyncWarp` is not checked.
pub fn check_barriers(func: &Function) -> Result<(), BarrierError> {
    let u = analyze(func);
    Checker {
        u: &u,
        has_barrier: &[],
        names: &[],
        defs: def_locs(func),
    }
    .block(&func.body, None)
}

/// Checks every function of a module, following calls: a call to a function
/// that waits at a barrier counts as a barrier.
pub fn check_module_barriers(m: &Module) -> Result<(), ModuleBarrierError> {
    let mu = analyze_module(m);
    let names: Vec<String> = m.functions.iter().map(|f| f.name.clone()).collect();
    for (i, f) in m.functions.iter().enumerate() {
        Checker {
            u: &mu.functions[i],
            has_barrier: &mu.has_barrier,
            names: &names,
            defs: def_locs(f),
        }
        .block(&f.body, None)
        .map_err(|error| ModuleBarrierError {
            function: FuncId(i as u32),
            error,
        })?;
    }
    Ok(())
}

// ---- the analysis -----------------------------------------------------------

struct CallSite {
    callee: FuncId,
    /// Whether each argument is varying.
    args: Vec<bool>,
    /// Under varying control.
    ctrl: bool,
}

struct Analysis<'a> {
    f: &'a Function,
    params: &'a [bool],
    callee_varying: &'a dyn Fn(FuncId) -> bool,
    vv: Vec<bool>,
    vl: Vec<bool>,
    ret: bool,
    changed: bool,
    /// When set, the last walk records its call sites here.
    calls: Option<Vec<CallSite>>,
}

fn analyze_calls(
    func: &Function,
    varying_params: &[bool],
    callee_varying: &dyn Fn(FuncId) -> bool,
) -> (Uniformity, Vec<CallSite>) {
    let mut a = Analysis {
        f: func,
        params: varying_params,
        callee_varying,
        vv: vec![false; func.values.len()],
        vl: vec![false; func.locals.len()],
        ret: false,
        changed: true,
        calls: None,
    };
    while a.changed {
        a.changed = false;
        a.block(&func.body, false);
    }
    a.calls = Some(Vec::new());
    a.block(&func.body, false);
    let calls = a.calls.take().unwrap_or_default();
    (
        Uniformity {
            varying_values: a.vv,
            varying_locals: a.vl,
            ret_varying: a.ret,
        },
        calls,
    )
}

impl Analysis<'_> {
    fn var(&self, v: ValueId) -> bool {
        self.vv.get(v.0 as usize).copied().unwrap_or(true)
    }

    fn set_value(&mut self, v: ValueId) {
        if let Some(x) = self.vv.get_mut(v.0 as usize) {
            if !*x {
                *x = true;
                self.changed = true;
            }
        }
    }

    fn set_local(&mut self, l: LocalId) {
        if let Some(x) = self.vl.get_mut(l.0 as usize) {
            if !*x {
                *x = true;
                self.changed = true;
            }
        }
    }

    fn block(&mut self, b: &Block, ctrl: bool) {
        for s in &b.stmts {
            match s {
                Stmt::Let { value, op, .. } => {
                    if self.op_varying(op) {
                        self.set_value(*value);
                    }
                    if let (Some(calls), Op::Call(g, args)) = (&mut self.calls, op) {
                        let args = args
                            .iter()
                            .map(|a| self.vv.get(a.0 as usize).copied().unwrap_or(true))
                            .collect();
                        calls.push(CallSite {
                            callee: *g,
                            args,
                            ctrl,
                        });
                    }
                }
                Stmt::Store { local, value } => {
                    if ctrl || self.var(*value) {
                        self.set_local(*local);
                    }
                }
                Stmt::If {
                    cond,
                    then_block,
                    else_block,
                } => {
                    let c = ctrl || self.var(*cond);
                    self.block(then_block, c);
                    self.block(else_block, c);
                }
                Stmt::Loop { body } => {
                    let c = ctrl || loop_exit_cause(body, &self.vv, &HashMap::new()).is_some();
                    self.block(body, c);
                }
                Stmt::Return { value } => {
                    if ctrl || value.is_some_and(|v| self.var(v)) {
                        if !self.ret {
                            self.changed = true;
                        }
                        self.ret = true;
                    }
                }
                Stmt::ArrayStore { .. }
                | Stmt::Break
                | Stmt::Continue
                | Stmt::Raise { .. }
                | Stmt::Barrier { .. }
                | Stmt::Fence(_)
                | Stmt::SyncWarp { .. } => {}
            }
        }
    }

    fn space(&self, a: ValueId) -> Option<Space> {
        match self.f.values.get(a.0 as usize) {
            Some(Type::Array { space, .. }) => Some(*space),
            _ => None,
        }
    }

    fn op_varying(&self, op: &Op) -> bool {
        match op {
            Op::Param(i) => self.params.get(*i as usize).copied().unwrap_or(false),
            Op::Const(_) => false,
            Op::LoadLocal(l) => self.vl.get(l.0 as usize).copied().unwrap_or(true),
            Op::Geometry(g, _) => *g == Geometry::ThreadIdx,
            Op::LaneId => true,
            Op::SharedArray { .. } | Op::LocalArray { .. } | Op::ConstArray { .. } => false,
            Op::Atomic { .. }
            | Op::AtomicCas { .. }
            | Op::WarpShuffle { .. }
            | Op::WarpVote { .. } => true,
            Op::BarrierReduce(..) => false,
            Op::ArrayLoad(a, _) => {
                matches!(self.space(*a), Some(Space::Shared | Space::Local))
                    || op.operands().iter().any(|x| self.var(*x))
            }
            Op::Call(g, args) => (self.callee_varying)(*g) || args.iter().any(|x| self.var(*x)),
            _ => op.operands().iter().any(|x| self.var(*x)),
        }
    }
}

/// Whether a loop with this body may be left (or continued) by some threads
/// and not others: the location of the guarding thread-dependent condition
/// (or `Loc::default()` when unknown).
fn loop_exit_cause(body: &Block, vv: &[bool], defs: &HashMap<ValueId, Loc>) -> Option<Loc> {
    fn scan(
        b: &Block,
        under: Option<Loc>,
        depth: usize,
        vv: &[bool],
        defs: &HashMap<ValueId, Loc>,
    ) -> Option<Loc> {
        for s in &b.stmts {
            match s {
                Stmt::Break | Stmt::Continue if depth == 0 && under.is_some() => return under,
                Stmt::Return { .. } if under.is_some() => return under,
                Stmt::If {
                    cond,
                    then_block,
                    else_block,
                } => {
                    let u = under.or_else(|| {
                        vv.get(cond.0 as usize)
                            .copied()
                            .unwrap_or(true)
                            .then(|| defs.get(cond).copied().unwrap_or_default())
                    });
                    if let Some(l) = scan(then_block, u, depth, vv, defs)
                        .or_else(|| scan(else_block, u, depth, vv, defs))
                    {
                        return Some(l);
                    }
                }
                Stmt::Loop { body } => {
                    let u = under.or_else(|| scan(body, None, 0, vv, defs));
                    if let Some(l) = scan(body, u, depth + 1, vv, defs) {
                        return Some(l);
                    }
                }
                _ => {}
            }
        }
        None
    }
    scan(body, None, 0, vv, defs)
}

fn direct_barrier(b: &Block) -> bool {
    b.stmts.iter().any(|s| match s {
        Stmt::Barrier { .. } => true,
        Stmt::Let {
            op: Op::BarrierReduce(..),
            ..
        } => true,
        Stmt::If {
            then_block,
            else_block,
            ..
        } => direct_barrier(then_block) || direct_barrier(else_block),
        Stmt::Loop { body } => direct_barrier(body),
        _ => false,
    })
}

fn calls_any(b: &Block, hb: &[bool]) -> bool {
    b.stmts.iter().any(|s| match s {
        Stmt::Let {
            op: Op::Call(g, _), ..
        } => hb.get(g.0 as usize).copied().unwrap_or(false),
        Stmt::If {
            then_block,
            else_block,
            ..
        } => calls_any(then_block, hb) || calls_any(else_block, hb),
        Stmt::Loop { body } => calls_any(body, hb),
        _ => false,
    })
}

fn def_locs(f: &Function) -> HashMap<ValueId, Loc> {
    fn walk(b: &Block, out: &mut HashMap<ValueId, Loc>) {
        for s in &b.stmts {
            match s {
                Stmt::Let { value, loc, .. } => {
                    out.insert(*value, *loc);
                }
                Stmt::If {
                    then_block,
                    else_block,
                    ..
                } => {
                    walk(then_block, out);
                    walk(else_block, out);
                }
                Stmt::Loop { body } => walk(body, out),
                _ => {}
            }
        }
    }
    let mut out = HashMap::new();
    walk(&f.body, &mut out);
    out
}

// ---- the barrier check --------------------------------------------------------

/// Why control is varying here.
#[derive(Clone, Copy)]
enum Cause {
    If(Loc),
    Loop(Loc),
}

struct Checker<'a> {
    u: &'a Uniformity,
    has_barrier: &'a [bool],
    names: &'a [String],
    defs: HashMap<ValueId, Loc>,
}

impl Checker<'_> {
    fn block(&self, b: &Block, cause: Option<Cause>) -> Result<(), BarrierError> {
        for s in &b.stmts {
            match s {
                Stmt::Barrier { loc } => self.check(*loc, "`cuda.syncthreads()`", cause)?,
                Stmt::Let {
                    op: Op::BarrierReduce(k, _),
                    loc,
                    ..
                } => {
                    let what = match k {
                        crate::gpu::BarrierReduce::Count => "`cuda.syncthreads_count()`",
                        crate::gpu::BarrierReduce::And => "`cuda.syncthreads_and()`",
                        crate::gpu::BarrierReduce::Or => "`cuda.syncthreads_or()`",
                    };
                    self.check(*loc, what, cause)?
                }
                Stmt::Let {
                    op: Op::Call(g, _),
                    loc,
                    ..
                } if self.has_barrier.get(g.0 as usize).copied().unwrap_or(false) => {
                    let name = self
                        .names
                        .get(g.0 as usize)
                        .map(|n| n.split("__").next().unwrap_or(n).to_string())
                        .unwrap_or_default();
                    let what =
                        format!("the call of `{name}`, which waits at `cuda.syncthreads()`,");
                    self.check(*loc, &what, cause)?
                }
                Stmt::If {
                    cond,
                    then_block,
                    else_block,
                } => {
                    let c = cause.or_else(|| {
                        (!self.u.is_uniform_value(*cond))
                            .then(|| Cause::If(self.defs.get(cond).copied().unwrap_or_default()))
                    });
                    self.block(then_block, c)?;
                    self.block(else_block, c)?;
                }
                Stmt::Loop { body } => {
                    let c = cause.or_else(|| {
                        loop_exit_cause(body, &self.u.varying_values, &self.defs).map(Cause::Loop)
                    });
                    self.block(body, c)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn check(&self, loc: Loc, what: &str, cause: Option<Cause>) -> Result<(), BarrierError> {
        let Some(cause) = cause else {
            return Ok(());
        };
        let (cond_loc, text) = match cause {
            Cause::If(l) => (l, "it is under a thread-dependent condition"),
            Cause::Loop(l) => (
                l,
                "it is inside a loop that some threads leave or skip early, on a thread-dependent condition",
            ),
        };
        let cond_loc = (cond_loc != Loc::default()).then_some(cond_loc);
        let at = match cond_loc {
            Some(l) => format!(" at line {}", l.line),
            None => String::new(),
        };
        Err(BarrierError {
            loc,
            cond_loc,
            message: format!("{what} is reached only by some threads of a block: {text}{at}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::FunctionBuilder;
    use crate::gpu::Axis;
    use crate::types::Scalar;

    fn tid(b: &mut FunctionBuilder) -> ValueId {
        b.emit(
            Op::Geometry(Geometry::ThreadIdx, Axis::X),
            Type::Scalar(Scalar::I32),
        )
    }

    #[test]
    fn barrier_under_thread_condition_is_an_error() {
        let mut b = FunctionBuilder::new("k", vec![], Type::None);
        b.set_loc(Loc { line: 3, col: 5 });
        let t = tid(&mut b);
        let five = b.emit(Op::Const(Const::Int(5)), Type::Scalar(Scalar::I32));
        let c = b.emit(Op::Compare(CmpOp::Lt, t, five), Type::BOOL);
        b.open_block();
        b.push(Stmt::Barrier {
            loc: Loc { line: 4, col: 9 },
        });
        let then_block = b.close_block();
        b.push(Stmt::If {
            cond: c,
            then_block,
            else_block: Block::default(),
        });
        b.push(Stmt::Return { value: None });
        let f = b.finish();
        let u = analyze(&f);
        assert!(!u.is_uniform_value(c));
        let e = check_barriers(&f).unwrap_err();
        assert_eq!(e.loc.line, 4);
        assert_eq!(e.cond_loc.map(|l| l.line), Some(3));
    }

    #[test]
    fn uniform_loop_with_barrier_is_fine_and_varying_locals_propagate() {
        let mut b = FunctionBuilder::new("k", vec![Type::I64], Type::None);
        let n = b.emit(Op::Param(0), Type::I64);
        let i = b.add_local("i", Type::I64);
        let acc = b.add_local("acc", Type::Scalar(Scalar::I32));
        let z = b.emit(Op::Const(Const::Int(0)), Type::I64);
        b.push(Stmt::Store { local: i, value: z });
        let z32 = b.emit(Op::Const(Const::Int(0)), Type::Scalar(Scalar::I32));
        b.push(Stmt::Store {
            local: acc,
            value: z32,
        });
        b.open_block();
        let iv = b.emit(Op::LoadLocal(i), Type::I64);
        let c = b.emit(Op::Compare(CmpOp::Ge, iv, n), Type::BOOL);
        b.open_block();
        b.push(Stmt::Break);
        let brk = b.close_block();
        b.push(Stmt::If {
            cond: c,
            then_block: brk,
            else_block: Block::default(),
        });
        let one = b.emit(Op::Const(Const::Int(1)), Type::I64);
        let nx = b.emit(Op::Binary(BinaryOp::Add, iv, one), Type::I64);
        b.push(Stmt::Store {
            local: i,
            value: nx,
        });
        let t = tid(&mut b);
        b.push(Stmt::Store {
            local: acc,
            value: t,
        });
        b.push(Stmt::Barrier {
            loc: Loc::default(),
        });
        let body = b.close_block();
        b.push(Stmt::Loop { body });
        b.push(Stmt::Return { value: None });
        let f = b.finish();
        let u = analyze(&f);
        assert!(u.is_uniform_local(i));
        assert!(!u.is_uniform_local(acc));
        assert_eq!(check_barriers(&f), Ok(()));
    }
}
