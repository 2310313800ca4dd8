//! Inlining of calls: a call of a chosen function is replaced by the callee's
//! body, so that a backend that cannot compile some operations inside a
//! separate function (the CPU SIMT lowering with thread geometry, shared
//! arrays, warp functions and barriers) sees them in the kernel body.
//!
//! The inlined body gets fresh [`ValueId`]s and [`LocalId`]s: each callee local
//! becomes a new local of the caller, and each parameter is replaced by the
//! argument value. Returns are rewritten without leaving the structured IR:
//!
//! - a callee whose only `return` is its last top-level statement is spliced
//!   as it is, and the returned value becomes the call's result;
//! - otherwise a `return` stores the value to a *result* local and sets a
//!   *returned* flag local. At the callee's top level (loop depth 0) the
//!   statements that follow a statement that may return run under
//!   `if not returned: ...`; inside a callee loop a `return` also `break`s, and
//!   after a callee loop that may return, `if returned: break` leaves the
//!   enclosing callee loop too. The call's result is a load of the result local.
//!
//! `break` and `continue` of the callee keep referring to the callee's loops,
//! which are nested inside the call site. `raise` stays a `raise`. Recursion
//! among the inlined functions is an [`InlineError`].
//!
//! Guards (rather than a wrapper loop left by `break`) keep a thread-dependent
//! early return a thread-dependent *condition*, which the uniformity analysis
//! and the SIMT lowering handle as they handle any `if`.

use std::collections::HashMap;

use crate::ops::*;
use crate::types::Type;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InlineError {
    /// The functions to inline call each other in a cycle (names, outermost first).
    #[error("cannot inline recursive device functions: {}", .0.join(" -> "))]
    Recursive(Vec<String>),
}

/// `f`'s name without the type suffix the front end appends (`scan__i64_i32` → `scan`).
fn short_name(f: &Function) -> &str {
    f.name.split("__").next().unwrap_or(&f.name)
}

/// Whether each function of `m` uses kernel operations (thread geometry, the
/// lane id, shared/local/constant arrays, warp functions, barriers), itself or
/// through the functions it calls.
pub fn uses_kernel_operations(m: &Module) -> Vec<bool> {
    fn direct(b: &Block, k: &[bool]) -> bool {
        b.stmts.iter().any(|s| match s {
            Stmt::Let { op, .. } => {
                op.is_kernel_only()
                    || matches!(op, Op::Call(g, _) if k.get(g.0 as usize).copied().unwrap_or(false))
            }
            Stmt::Barrier { .. } | Stmt::SyncWarp { .. } => true,
            Stmt::If {
                then_block,
                else_block,
                ..
            } => direct(then_block, k) || direct(else_block, k),
            Stmt::Loop { body } => direct(body, k),
            _ => false,
        })
    }
    let mut k = vec![false; m.functions.len()];
    loop {
        let next: Vec<bool> = m.functions.iter().map(|f| direct(&f.body, &k)).collect();
        if next == k {
            return k;
        }
        k = next;
    }
}

/// `func` with every call of a function that `should_inline` selects replaced
/// by the callee's body, transitively (calls inside inlined bodies are
/// inlined too when selected).
pub fn inline_calls(
    module: &Module,
    func: FuncId,
    should_inline: impl Fn(FuncId, &Function) -> bool,
) -> Result<Function, InlineError> {
    let f = module.function(func);
    let mut inl = Inliner {
        m: module,
        pred: &should_inline,
        values: Vec::with_capacity(f.values.len()),
        locals: Vec::with_capacity(f.locals.len()),
        stack: vec![func],
    };
    let mut frame = Frame {
        f,
        vmap: HashMap::new(),
        lmap: Vec::new(),
        args: Vec::new(),
        ret: None,
    };
    for l in &f.locals {
        frame.lmap.push(inl.new_local(l.name.clone(), l.ty.clone()));
    }
    let stmts = inl.block(&mut frame, &f.body.stmts, 0)?;
    Ok(Function {
        name: f.name.clone(),
        params: f.params.clone(),
        ret: f.ret.clone(),
        locals: inl.locals,
        values: inl.values,
        body: Block { stmts },
    })
}

/// The module with the selected calls inlined into its entry; functions no
/// longer reachable from the entry are dropped (and the others renumbered).
pub fn inline_into_entry(
    module: &Module,
    should_inline: impl Fn(FuncId, &Function) -> bool,
) -> Result<Module, InlineError> {
    let entry = inline_calls(module, module.entry, should_inline)?;
    let n = module.functions.len();
    // Reachability from the new entry.
    let mut keep = vec![false; n];
    keep[module.entry.0 as usize] = true;
    let mut work = vec![&entry];
    while let Some(f) = work.pop() {
        let mut callees = Vec::new();
        calls(&f.body, &mut callees);
        for g in callees {
            let i = g.0 as usize;
            if i < n && !keep[i] {
                keep[i] = true;
                work.push(&module.functions[i]);
            }
        }
    }
    let mut renumber = vec![FuncId(0); n];
    let mut functions = Vec::new();
    for i in 0..n {
        if keep[i] {
            renumber[i] = FuncId(functions.len() as u32);
            functions.push(if i == module.entry.0 as usize {
                entry.clone()
            } else {
                module.functions[i].clone()
            });
        }
    }
    for f in &mut functions {
        renumber_calls(&mut f.body, &renumber);
    }
    Ok(Module {
        functions,
        entry: renumber[module.entry.0 as usize],
        exceptions: module.exceptions.clone(),
    })
}

fn calls(b: &Block, out: &mut Vec<FuncId>) {
    for s in &b.stmts {
        match s {
            Stmt::Let {
                op: Op::Call(g, _), ..
            } => out.push(*g),
            Stmt::If {
                then_block,
                else_block,
                ..
            } => {
                calls(then_block, out);
                calls(else_block, out);
            }
            Stmt::Loop { body } => calls(body, out),
            _ => {}
        }
    }
}

fn renumber_calls(b: &mut Block, map: &[FuncId]) {
    for s in &mut b.stmts {
        match s {
            Stmt::Let {
                op: Op::Call(g, _), ..
            } => *g = map[g.0 as usize],
            Stmt::If {
                then_block,
                else_block,
                ..
            } => {
                renumber_calls(then_block, map);
                renumber_calls(else_block, map);
            }
            Stmt::Loop { body } => renumber_calls(body, map),
            _ => {}
        }
    }
}

/// Whether `s` is or contains a `return` (of the function it belongs to).
fn contains_return(s: &Stmt) -> bool {
    match s {
        Stmt::Return { .. } => true,
        Stmt::If {
            then_block,
            else_block,
            ..
        } => {
            then_block.stmts.iter().any(contains_return)
                || else_block.stmts.iter().any(contains_return)
        }
        Stmt::Loop { body } => body.stmts.iter().any(contains_return),
        _ => false,
    }
}

/// How the returns of an inlined callee are rewritten.
enum Ret {
    /// The only return is the last top-level statement: its value (mapped),
    /// once seen, is the call's result.
    Direct(Option<ValueId>),
    /// Returns store to `result` (when the callee returns a value) and set `flag`.
    Guarded {
        result: Option<LocalId>,
        flag: LocalId,
    },
}

/// One function being copied: the root, or an inlined callee.
struct Frame<'f> {
    f: &'f Function,
    vmap: HashMap<ValueId, ValueId>,
    lmap: Vec<LocalId>,
    /// The argument values of an inlined call, which its `Param`s become.
    args: Vec<ValueId>,
    /// `None` for the root function, whose returns stay returns.
    ret: Option<Ret>,
}

impl Frame<'_> {
    fn v(&self, v: ValueId) -> ValueId {
        // Every operand is defined before its use, so it is mapped already;
        // an unmapped one (malformed input) is left for the verifier to report.
        self.vmap.get(&v).copied().unwrap_or(v)
    }

    fn l(&self, l: LocalId) -> LocalId {
        self.lmap.get(l.0 as usize).copied().unwrap_or(l)
    }

    fn vs(&self, vs: &[ValueId]) -> Vec<ValueId> {
        vs.iter().map(|v| self.v(*v)).collect()
    }
}

struct Inliner<'m, 'p> {
    m: &'m Module,
    pred: &'p dyn Fn(FuncId, &Function) -> bool,
    values: Vec<Type>,
    locals: Vec<Local>,
    /// The functions being inlined, outermost first (the root included).
    stack: Vec<FuncId>,
}

impl<'m> Inliner<'m, '_> {
    fn new_value(&mut self, t: Type) -> ValueId {
        self.values.push(t);
        ValueId(self.values.len() as u32 - 1)
    }

    fn new_local(&mut self, name: String, ty: Type) -> LocalId {
        self.locals.push(Local { name, ty });
        LocalId(self.locals.len() as u32 - 1)
    }

    /// `let v: t = op` appended to `out`.
    fn emit(&mut self, out: &mut Vec<Stmt>, op: Op, t: Type, loc: Loc) -> ValueId {
        let value = self.new_value(t);
        out.push(Stmt::Let { value, op, loc });
        value
    }

    fn map_op(fr: &Frame, op: &Op) -> Op {
        let v = |x: &ValueId| fr.v(*x);
        match op {
            Op::Param(i) => Op::Param(*i),
            Op::Const(c) => Op::Const(c.clone()),
            Op::LoadLocal(l) => Op::LoadLocal(fr.l(*l)),
            Op::Unary(o, a) => Op::Unary(*o, v(a)),
            Op::Binary(o, a, b) => Op::Binary(*o, v(a), v(b)),
            Op::Compare(o, a, b) => Op::Compare(*o, v(a), v(b)),
            Op::Cast(a) => Op::Cast(v(a)),
            Op::Bitcast(a) => Op::Bitcast(v(a)),
            Op::Select(c, a, b) => Op::Select(v(c), v(a), v(b)),
            Op::Math(m, args) => Op::Math(*m, fr.vs(args)),
            Op::Call(g, args) => Op::Call(*g, fr.vs(args)),
            Op::ArrayDim(a, k) => Op::ArrayDim(v(a), *k),
            Op::ArrayStride(a, k) => Op::ArrayStride(v(a), *k),
            Op::ArrayLoad(a, idx) => Op::ArrayLoad(v(a), fr.vs(idx)),
            Op::SubArray(a, idx) => Op::SubArray(v(a), fr.vs(idx)),
            Op::MakeTuple(items) => Op::MakeTuple(fr.vs(items)),
            Op::TupleGet(t, i) => Op::TupleGet(v(t), *i),
            Op::TupleIndex(t, i) => Op::TupleIndex(v(t), v(i)),
            Op::ComplexNew(a, b) => Op::ComplexNew(v(a), v(b)),
            Op::ComplexReal(a) => Op::ComplexReal(v(a)),
            Op::ComplexImag(a) => Op::ComplexImag(v(a)),
            Op::Geometry(g, a) => Op::Geometry(*g, *a),
            Op::LaneId => Op::LaneId,
            Op::SharedArray { .. } | Op::LocalArray { .. } | Op::ConstArray { .. } => op.clone(),
            Op::Atomic {
                op: o,
                array,
                indices,
                value,
            } => Op::Atomic {
                op: *o,
                array: v(array),
                indices: fr.vs(indices),
                value: v(value),
            },
            Op::AtomicCas {
                array,
                indices,
                expected,
                desired,
            } => Op::AtomicCas {
                array: v(array),
                indices: fr.vs(indices),
                expected: v(expected),
                desired: v(desired),
            },
            Op::WarpShuffle {
                kind,
                mask,
                value,
                lane,
                width,
            } => Op::WarpShuffle {
                kind: *kind,
                mask: v(mask),
                value: v(value),
                lane: v(lane),
                width: v(width),
            },
            Op::WarpVote { kind, mask, pred } => Op::WarpVote {
                kind: *kind,
                mask: v(mask),
                pred: v(pred),
            },
            Op::BarrierReduce(k, p) => Op::BarrierReduce(*k, v(p)),
            Op::Bit(b, a) => Op::Bit(*b, v(a)),
        }
    }

    /// Copies `stmts` of `fr.f`; `depth` counts the enclosing loops of that
    /// function (not of the call site).
    fn block(
        &mut self,
        fr: &mut Frame<'m>,
        stmts: &'m [Stmt],
        depth: usize,
    ) -> Result<Vec<Stmt>, InlineError> {
        let mut out = Vec::with_capacity(stmts.len());
        for (i, s) in stmts.iter().enumerate() {
            match s {
                Stmt::Let { value, op, loc } => match op {
                    Op::Param(k) if fr.ret.is_some() => {
                        let a = fr.args.get(*k as usize).copied().unwrap_or(*value);
                        fr.vmap.insert(*value, a);
                    }
                    Op::Call(g, args) if (self.pred)(*g, self.m.function(*g)) => {
                        let args = fr.vs(args);
                        let r = self.call(*g, args, *loc, &mut out)?;
                        fr.vmap.insert(*value, r);
                    }
                    _ => {
                        let op = Self::map_op(fr, op);
                        let t = fr.f.value_type(*value).clone();
                        let nv = self.emit(&mut out, op, t, *loc);
                        fr.vmap.insert(*value, nv);
                    }
                },
                Stmt::Store { local, value } => out.push(Stmt::Store {
                    local: fr.l(*local),
                    value: fr.v(*value),
                }),
                Stmt::ArrayStore {
                    array,
                    indices,
                    value,
                    loc,
                } => out.push(Stmt::ArrayStore {
                    array: fr.v(*array),
                    indices: fr.vs(indices),
                    value: fr.v(*value),
                    loc: *loc,
                }),
                Stmt::If {
                    cond,
                    then_block,
                    else_block,
                } => {
                    let cond = fr.v(*cond);
                    let then_block = Block {
                        stmts: self.block(fr, &then_block.stmts, depth)?,
                    };
                    let else_block = Block {
                        stmts: self.block(fr, &else_block.stmts, depth)?,
                    };
                    out.push(Stmt::If {
                        cond,
                        then_block,
                        else_block,
                    });
                }
                Stmt::Loop { body } => {
                    let body = Block {
                        stmts: self.block(fr, &body.stmts, depth + 1)?,
                    };
                    out.push(Stmt::Loop { body });
                }
                Stmt::Break | Stmt::Continue | Stmt::Raise { .. } => out.push(s.clone()),
                Stmt::Barrier { .. } | Stmt::Fence(_) => out.push(s.clone()),
                Stmt::SyncWarp { mask, loc } => out.push(Stmt::SyncWarp {
                    mask: fr.v(*mask),
                    loc: *loc,
                }),
                Stmt::Return { value } => {
                    let value = value.map(|v| fr.v(v));
                    match &mut fr.ret {
                        None => out.push(Stmt::Return { value }),
                        Some(Ret::Direct(r)) => *r = value,
                        Some(Ret::Guarded { result, flag }) => {
                            let (result, flag) = (*result, *flag);
                            if let (Some(r), Some(v)) = (result, value) {
                                out.push(Stmt::Store { local: r, value: v });
                            }
                            let t = self.emit(
                                &mut out,
                                Op::Const(Const::Bool(true)),
                                Type::BOOL,
                                Loc::default(),
                            );
                            out.push(Stmt::Store {
                                local: flag,
                                value: t,
                            });
                            if depth > 0 {
                                out.push(Stmt::Break);
                            }
                            // The rest of the block is unreachable.
                            return Ok(out);
                        }
                    }
                }
            }
            // After a statement that may return: the rest runs only if it did not.
            if let Some(Ret::Guarded { flag, .. }) = fr.ret {
                if contains_return(s) {
                    let loc = Loc::default();
                    if depth == 0 {
                        let rest = &stmts[i + 1..];
                        if !rest.is_empty() {
                            let done = self.emit(&mut out, Op::LoadLocal(flag), Type::BOOL, loc);
                            let go =
                                self.emit(&mut out, Op::Unary(UnaryOp::Not, done), Type::BOOL, loc);
                            let then_block = Block {
                                stmts: self.block(fr, rest, 0)?,
                            };
                            out.push(Stmt::If {
                                cond: go,
                                then_block,
                                else_block: Block::default(),
                            });
                        }
                        return Ok(out);
                    }
                    // Inside a callee loop, an `if` whose returning paths have
                    // left the loop needs nothing; a nested loop left by a
                    // return must leave this loop too.
                    if matches!(s, Stmt::Loop { .. }) {
                        let done = self.emit(&mut out, Op::LoadLocal(flag), Type::BOOL, loc);
                        out.push(Stmt::If {
                            cond: done,
                            then_block: Block {
                                stmts: vec![Stmt::Break],
                            },
                            else_block: Block::default(),
                        });
                    }
                }
            }
        }
        Ok(out)
    }

    /// Inlines a call of `g` with (already mapped) `args` into `out`; returns
    /// the value that stands for the call's result.
    fn call(
        &mut self,
        g: FuncId,
        args: Vec<ValueId>,
        loc: Loc,
        out: &mut Vec<Stmt>,
    ) -> Result<ValueId, InlineError> {
        if let Some(pos) = self.stack.iter().position(|x| *x == g) {
            let mut chain: Vec<String> = self.stack[pos..]
                .iter()
                .map(|f| short_name(self.m.function(*f)).to_string())
                .collect();
            chain.push(short_name(self.m.function(g)).to_string());
            return Err(InlineError::Recursive(chain));
        }
        let callee: &'m Function = self.m.function(g);
        let stmts = &callee.body.stmts;
        let returns = count_returns(&callee.body);
        let direct =
            returns == 0 || (returns == 1 && matches!(stmts.last(), Some(Stmt::Return { .. })));
        let prefix = short_name(callee).to_string();
        let mut fr = Frame {
            f: callee,
            vmap: HashMap::new(),
            lmap: Vec::with_capacity(callee.locals.len()),
            args,
            ret: None,
        };
        for l in &callee.locals {
            let id = self.new_local(format!("{prefix}.{}", l.name), l.ty.clone());
            fr.lmap.push(id);
        }
        fr.ret = Some(if direct {
            Ret::Direct(None)
        } else {
            let result = (callee.ret != Type::None)
                .then(|| self.new_local(format!("{prefix}.$result"), callee.ret.clone()));
            let flag = self.new_local(format!("{prefix}.$returned"), Type::BOOL);
            let f = self.emit(out, Op::Const(Const::Bool(false)), Type::BOOL, loc);
            out.push(Stmt::Store {
                local: flag,
                value: f,
            });
            Ret::Guarded { result, flag }
        });
        self.stack.push(g);
        let body = self.block(&mut fr, stmts, 0)?;
        self.stack.pop();
        out.extend(body);
        Ok(match fr.ret {
            Some(Ret::Direct(Some(v))) => v,
            Some(Ret::Guarded {
                result: Some(r), ..
            }) => self.emit(out, Op::LoadLocal(r), callee.ret.clone(), loc),
            _ => self.emit(out, Op::Const(Const::None), callee.ret.clone(), loc),
        })
    }
}

fn count_returns(b: &Block) -> usize {
    b.stmts
        .iter()
        .map(|s| match s {
            Stmt::Return { .. } => 1,
            Stmt::If {
                then_block,
                else_block,
                ..
            } => count_returns(then_block) + count_returns(else_block),
            Stmt::Loop { body } => count_returns(body),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::FunctionBuilder;
    use crate::verify::verify_module;

    // ---- a tiny interpreter for integers, booleans and tuples ----

    #[derive(Clone, Debug, PartialEq)]
    enum V {
        I(i64),
        B(bool),
        T(Vec<V>),
        N,
    }

    impl V {
        fn i(&self) -> i64 {
            match self {
                V::I(x) => *x,
                v => panic!("{v:?} is not an int"),
            }
        }
        fn b(&self) -> bool {
            match self {
                V::B(x) => *x,
                v => panic!("{v:?} is not a bool"),
            }
        }
    }

    enum Flow {
        Next,
        Break,
        Continue,
        Return(V),
    }

    struct Env<'a> {
        m: &'a Module,
        args: Vec<V>,
        vals: Vec<V>,
        locals: Vec<V>,
    }

    fn run(m: &Module, f: &Function, args: Vec<V>) -> V {
        let mut e = Env {
            m,
            args,
            vals: vec![V::N; f.values.len()],
            locals: vec![V::N; f.locals.len()],
        };
        match e.block(&f.body) {
            Flow::Return(v) => v,
            _ => V::N,
        }
    }

    impl Env<'_> {
        fn block(&mut self, b: &Block) -> Flow {
            for s in &b.stmts {
                match s {
                    Stmt::Let { value, op, .. } => {
                        let v = self.eval(op);
                        self.vals[value.0 as usize] = v;
                    }
                    Stmt::Store { local, value } => {
                        self.locals[local.0 as usize] = self.vals[value.0 as usize].clone()
                    }
                    Stmt::If {
                        cond,
                        then_block,
                        else_block,
                    } => {
                        let b = if self.vals[cond.0 as usize].b() {
                            then_block
                        } else {
                            else_block
                        };
                        match self.block(b) {
                            Flow::Next => {}
                            f => return f,
                        }
                    }
                    Stmt::Loop { body } => loop {
                        match self.block(body) {
                            Flow::Next | Flow::Continue => {}
                            Flow::Break => break,
                            Flow::Return(v) => return Flow::Return(v),
                        }
                    },
                    Stmt::Break => return Flow::Break,
                    Stmt::Continue => return Flow::Continue,
                    Stmt::Return { value } => {
                        return Flow::Return(
                            value.map_or(V::N, |v| self.vals[v.0 as usize].clone()),
                        )
                    }
                    s => panic!("cannot interpret {s:?}"),
                }
            }
            Flow::Next
        }

        fn eval(&mut self, op: &Op) -> V {
            let v = |x: &ValueId| self.vals[x.0 as usize].clone();
            match op {
                Op::Param(i) => self.args[*i as usize].clone(),
                Op::Const(Const::Int(x)) => V::I(*x),
                Op::Const(Const::Bool(x)) => V::B(*x),
                Op::Const(Const::None) => V::N,
                Op::LoadLocal(l) => self.locals[l.0 as usize].clone(),
                Op::Unary(UnaryOp::Not, a) => V::B(!v(a).b()),
                Op::Binary(o, a, b) => {
                    let (a, b) = (v(a).i(), v(b).i());
                    V::I(match o {
                        BinaryOp::Add => a + b,
                        BinaryOp::Sub => a - b,
                        BinaryOp::Mul => a * b,
                        o => panic!("{o:?}"),
                    })
                }
                Op::Compare(o, a, b) => {
                    let (a, b) = (v(a).i(), v(b).i());
                    V::B(o.holds(a, b))
                }
                Op::MakeTuple(items) => V::T(items.iter().map(v).collect()),
                Op::TupleGet(t, i) => match v(t) {
                    V::T(items) => items[*i as usize].clone(),
                    x => panic!("{x:?}"),
                },
                Op::Call(g, args) => {
                    let args = args.iter().map(v).collect();
                    run(self.m, self.m.function(*g), args)
                }
                op => panic!("cannot interpret {op:?}"),
            }
        }
    }

    // ---- building test functions ----

    struct B(FunctionBuilder);

    impl B {
        fn int(&mut self, x: i64) -> ValueId {
            self.0.emit(Op::Const(Const::Int(x)), Type::I64)
        }
        fn param(&mut self, i: u32) -> ValueId {
            self.0.emit(Op::Param(i), Type::I64)
        }
        fn bin(&mut self, o: BinaryOp, a: ValueId, b: ValueId) -> ValueId {
            self.0.emit(Op::Binary(o, a, b), Type::I64)
        }
        fn cmp(&mut self, o: CmpOp, a: ValueId, b: ValueId) -> ValueId {
            self.0.emit(Op::Compare(o, a, b), Type::BOOL)
        }
        fn get(&mut self, l: LocalId) -> ValueId {
            let t = self.0.local_type(l).clone();
            self.0.emit(Op::LoadLocal(l), t)
        }
        fn set(&mut self, l: LocalId, v: ValueId) {
            self.0.push(Stmt::Store { local: l, value: v });
        }
        fn if_(&mut self, c: ValueId, then: impl FnOnce(&mut B)) {
            self.0.open_block();
            then(self);
            let then_block = self.0.close_block();
            self.0.push(Stmt::If {
                cond: c,
                then_block,
                else_block: Block::default(),
            });
        }
        fn ret(&mut self, v: Option<ValueId>) {
            self.0.push(Stmt::Return { value: v });
        }
        /// `for x in range(start, stop): body(x)` over local `x`.
        fn range(
            &mut self,
            x: LocalId,
            start: i64,
            stop: ValueId,
            body: impl FnOnce(&mut B, ValueId),
        ) {
            let s = self.int(start);
            self.set(x, s);
            self.0.open_block();
            let xv = self.get(x);
            let done = self.cmp(CmpOp::Ge, xv, stop);
            self.if_(done, |b| b.0.push(Stmt::Break));
            body(self, xv);
            let one = self.int(1);
            let xv = self.get(x);
            let n = self.bin(BinaryOp::Add, xv, one);
            self.set(x, n);
            let body = self.0.close_block();
            self.0.push(Stmt::Loop { body });
        }
    }

    fn pair() -> Type {
        Type::Tuple(vec![Type::I64, Type::I64])
    }

    /// `find(n, t)`: the first `(i, j)` in `range(n)²` with `i * j == t`, from
    /// two nested loops, or `(-1, -1)`.
    fn find() -> Function {
        let mut b = B(FunctionBuilder::new(
            "find__i64_i64",
            vec![Type::I64; 2],
            pair(),
        ));
        let n = b.param(0);
        let t = b.param(1);
        let i = b.0.add_local("i", Type::I64);
        let j = b.0.add_local("j", Type::I64);
        b.range(i, 0, n, |b, iv| {
            b.range(j, 0, n, |b, jv| {
                let p = b.bin(BinaryOp::Mul, iv, jv);
                let hit = b.cmp(CmpOp::Eq, p, t);
                b.if_(hit, |b| {
                    let r = b.0.emit(Op::MakeTuple(vec![iv, jv]), pair());
                    b.ret(Some(r));
                });
            });
        });
        let m = b.int(-1);
        let r = b.0.emit(Op::MakeTuple(vec![m, m]), pair());
        b.ret(Some(r));
        b.0.finish()
    }

    /// `clamp(x)`: `0` below 0, `10` above 10, else `2x` through a local.
    fn clamp() -> Function {
        let mut b = B(FunctionBuilder::new("clamp", vec![Type::I64], Type::I64));
        let x = b.param(0);
        let z = b.int(0);
        let neg = b.cmp(CmpOp::Lt, x, z);
        b.if_(neg, |b| b.ret(Some(z)));
        let ten = b.int(10);
        let big = b.cmp(CmpOp::Gt, x, ten);
        b.if_(big, |b| b.ret(Some(ten)));
        let y = b.0.add_local("y", Type::I64);
        let two = b.bin(BinaryOp::Add, x, x);
        b.set(y, two);
        let yv = b.get(y);
        b.ret(Some(yv));
        b.0.finish()
    }

    /// `plain(a, b)`: one return at the end, through a parameter.
    fn plain() -> Function {
        let mut b = B(FunctionBuilder::new("plain", vec![Type::I64; 2], Type::I64));
        let x = b.param(0);
        let y = b.param(1);
        let s = b.bin(BinaryOp::Sub, x, y);
        b.ret(Some(s));
        b.0.finish()
    }

    /// `main(n, t)`: sums, over `k in range(3)`, `find(n, t + k)` encoded as
    /// `100 i + j`, `clamp(t - k)` and `plain(k, t)`.
    fn main_fn() -> Function {
        let mut b = B(FunctionBuilder::new("main", vec![Type::I64; 2], Type::I64));
        let n = b.param(0);
        let t = b.param(1);
        let acc = b.0.add_local("acc", Type::I64);
        let k = b.0.add_local("k", Type::I64);
        let z = b.int(0);
        b.set(acc, z);
        let three = b.int(3);
        b.range(k, 0, three, |b, kv| {
            let tk = b.bin(BinaryOp::Add, t, kv);
            let r = b.0.emit(Op::Call(FuncId(1), vec![n, tk]), pair());
            let i = b.0.emit(Op::TupleGet(r, 0), Type::I64);
            let j = b.0.emit(Op::TupleGet(r, 1), Type::I64);
            let h = b.int(100);
            let e = b.bin(BinaryOp::Mul, i, h);
            let e = b.bin(BinaryOp::Add, e, j);
            let tmk = b.bin(BinaryOp::Sub, t, kv);
            let c = b.0.emit(Op::Call(FuncId(2), vec![tmk]), Type::I64);
            let p = b.0.emit(Op::Call(FuncId(3), vec![kv, t]), Type::I64);
            let a = b.get(acc);
            let a = b.bin(BinaryOp::Add, a, e);
            let a = b.bin(BinaryOp::Add, a, c);
            let a = b.bin(BinaryOp::Add, a, p);
            let thousand = b.int(1000);
            let a = b.bin(BinaryOp::Mul, a, thousand);
            b.set(acc, a);
        });
        let a = b.get(acc);
        b.ret(Some(a));
        b.0.finish()
    }

    fn module(functions: Vec<Function>) -> Module {
        Module {
            functions,
            entry: FuncId(0),
            exceptions: vec![],
        }
    }

    fn has_call(b: &Block) -> bool {
        let mut c = Vec::new();
        calls(b, &mut c);
        !c.is_empty()
    }

    #[test]
    fn returns_from_nested_loops_multiple_returns_tuples_and_locals() {
        let m = module(vec![main_fn(), find(), clamp(), plain()]);
        verify_module(&m).unwrap();
        let f = inline_calls(&m, FuncId(0), |_, _| true).unwrap();
        assert!(!has_call(&f.body));
        // The callees' locals (`i`, `j`, `y`) and the result/flag locals are new locals.
        assert!(f.locals.iter().any(|l| l.name == "find.j"));
        assert!(f.locals.iter().any(|l| l.name == "clamp.y"));
        assert!(f.locals.iter().any(|l| l.name == "find.$returned"));
        assert!(!f.locals.iter().any(|l| l.name.starts_with("plain.")));
        let inlined = module(vec![f.clone()]);
        verify_module(&inlined).unwrap_or_else(|e| {
            panic!("{e}\n{}", crate::printer::print_function(&f));
        });
        for n in 0..6 {
            for t in -3..20 {
                let args = vec![V::I(n), V::I(t)];
                let want = run(&m, &m.functions[0], args.clone());
                let got = run(&inlined, &inlined.functions[0], args);
                assert_eq!(got, want, "n={n} t={t}");
            }
        }
    }

    #[test]
    fn inlining_only_the_selected_functions_and_pruning() {
        let m = module(vec![main_fn(), find(), clamp(), plain()]);
        let out = inline_into_entry(&m, |g, _| g != FuncId(2)).unwrap();
        // `find` and `plain` are gone, `clamp` stays as a call (renumbered).
        assert_eq!(out.functions.len(), 2);
        assert_eq!(out.functions[1].name, "clamp");
        let mut c = Vec::new();
        calls(&out.functions[0].body, &mut c);
        assert_eq!(c, vec![FuncId(1)]);
        verify_module(&out).unwrap();
        for t in -3..20 {
            let args = vec![V::I(4), V::I(t)];
            assert_eq!(
                run(&out, &out.functions[0], args.clone()),
                run(&m, &m.functions[0], args)
            );
        }
    }

    /// `outer(x)` calls `clamp` from inside a loop that it leaves by a return,
    /// and returns nothing from one path: nested inlining, `None` results.
    #[test]
    fn nested_inlining_and_returns_inside_a_callee_loop() {
        // side(x) -> None: `if x > 2: return` then falls off the end.
        let mut s = B(FunctionBuilder::new("side", vec![Type::I64], Type::None));
        let x = s.param(0);
        let two = s.int(2);
        let c = s.cmp(CmpOp::Gt, x, two);
        s.if_(c, |b| b.ret(None));
        let side = s.0.finish();
        // outer(x): for i in range(100): if clamp(x + i) == 10: return i; side(i)  ; return -1
        let mut o = B(FunctionBuilder::new("outer", vec![Type::I64], Type::I64));
        let x = o.param(0);
        let i = o.0.add_local("i", Type::I64);
        let hundred = o.int(100);
        o.range(i, 0, hundred, |b, iv| {
            let xi = b.bin(BinaryOp::Add, x, iv);
            let c = b.0.emit(Op::Call(FuncId(2), vec![xi]), Type::I64);
            let ten = b.int(10);
            let hit = b.cmp(CmpOp::Eq, c, ten);
            b.if_(hit, |b| b.ret(Some(iv)));
            b.0.emit(Op::Call(FuncId(3), vec![iv]), Type::None);
        });
        let m1 = o.int(-1);
        o.ret(Some(m1));
        let outer = o.0.finish();
        // main(x): outer(x) + outer(x - 7)
        let mut k = B(FunctionBuilder::new("main", vec![Type::I64], Type::I64));
        let x = k.param(0);
        let a = k.0.emit(Op::Call(FuncId(1), vec![x]), Type::I64);
        let seven = k.int(7);
        let x7 = k.bin(BinaryOp::Sub, x, seven);
        let b2 = k.0.emit(Op::Call(FuncId(1), vec![x7]), Type::I64);
        let s = k.bin(BinaryOp::Add, a, b2);
        k.ret(Some(s));
        let m = module(vec![k.0.finish(), outer, clamp(), side]);
        verify_module(&m).unwrap();
        let out = inline_into_entry(&m, |_, _| true).unwrap();
        assert_eq!(out.functions.len(), 1);
        verify_module(&out).unwrap();
        for x in -20..20 {
            let args = vec![V::I(x)];
            assert_eq!(
                run(&out, &out.functions[0], args.clone()),
                run(&m, &m.functions[0], args),
                "x={x}"
            );
        }
    }

    #[test]
    fn recursion_is_an_error() {
        // f(x) = g(x); g(x) = f(x)
        let mut fs = Vec::new();
        for (name, callee) in [("main", 1), ("f__i64", 2), ("g__i64", 1)] {
            let mut b = B(FunctionBuilder::new(name, vec![Type::I64], Type::I64));
            let x = b.param(0);
            let r = b.0.emit(Op::Call(FuncId(callee), vec![x]), Type::I64);
            b.ret(Some(r));
            fs.push(b.0.finish());
        }
        let m = module(fs);
        let e = inline_calls(&m, FuncId(0), |_, _| true).unwrap_err();
        assert_eq!(
            e,
            InlineError::Recursive(vec!["f".into(), "g".into(), "f".into()])
        );
        assert!(e.to_string().contains("f -> g -> f"), "{e}");
        // Not inlining the cycle is fine.
        assert!(inline_calls(&m, FuncId(0), |g, _| g == FuncId(1)).is_ok());
    }

    #[test]
    fn kernel_operations_are_found_through_calls() {
        let mut a = B(FunctionBuilder::new("k", vec![], Type::None));
        a.0.emit(Op::Call(FuncId(1), vec![]), Type::I64);
        a.ret(None);
        let mut b = B(FunctionBuilder::new("mid", vec![], Type::I64));
        let r = b.0.emit(Op::Call(FuncId(2), vec![]), Type::I64);
        b.ret(Some(r));
        let mut c = B(FunctionBuilder::new("leaf", vec![], Type::I64));
        let t = c.0.emit(
            Op::Geometry(crate::gpu::Geometry::ThreadIdx, crate::gpu::Axis::X),
            Type::Scalar(crate::types::Scalar::I32),
        );
        let t = c.0.emit(Op::Cast(t), Type::I64);
        c.ret(Some(t));
        let mut d = B(FunctionBuilder::new("pure", vec![], Type::I64));
        let z = d.int(0);
        d.ret(Some(z));
        let m = module(vec![a.0.finish(), b.0.finish(), c.0.finish(), d.0.finish()]);
        assert_eq!(uses_kernel_operations(&m), vec![true, true, true, false]);
    }
}
