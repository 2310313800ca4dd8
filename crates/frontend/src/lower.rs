//! AST → IR, with type inference by running the lowering walk to a fixed point.
//!
//! Every walk lowers the whole function with the variable types known so far.
//! An assignment widens its variable's type (NumPy promotion); a return widens the
//! return type; a read of a variable without a type yet gives `Unknown`, which
//! propagates silently. When a walk changes nothing and met no `Unknown`, its IR
//! is final: every store in it already casts to the variable's final type.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use hypersonic_ir::builder::FunctionBuilder;
use hypersonic_ir::{
    Block, CmpOp, Const, Exception, FuncId, Function, Loc, LocalId, Module, Op, Scalar,
    Stmt as IrStmt, Type, ValueId,
};
use ruff_text_size::{Ranged, TextRange};

use crate::diagnostics::diagnostic;
use crate::parse::{ast, parse_function, LineIndex};
use crate::typing::{describe, unify};
use crate::{ConstValue, Diagnostic, DiagnosticKind, Environment, Global, Options, SourceFunction};

pub(crate) type R<T> = Result<T, Diagnostic>;

/// What an expression evaluates to while lowering.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    V(ValueId, Type),
    /// A type not known yet in this walk.
    Unknown,
    Module(String),
    Builtin(String),
    Func(Box<SourceFunction>),
    Exception(String),
}

type SpecKey = (u64, Vec<Type>);

#[derive(PartialEq)]
enum SpecState {
    InProgress,
    /// Compiled against the return-type estimate of a function still in progress.
    Provisional,
    Done,
}

struct Spec {
    id: FuncId,
    state: SpecState,
    ret: Option<Type>,
    deps: HashSet<SpecKey>,
}

/// State shared by every function compiled into one module.
pub(crate) struct Ctx<'e> {
    pub(crate) env: &'e dyn Environment,
    pub(crate) opts: Options,
    pub(crate) module: Module,
    specs: HashMap<SpecKey, Spec>,
    parsed: HashMap<u64, Rc<ast::StmtFunctionDef>>,
    names: HashSet<String>,
    /// The kernel being compiled (`FunctionKind::Kernel`): it returns nothing.
    pub(crate) kernel_entry: Option<(u64, Vec<Type>)>,
    /// The source of every compiled function, to place diagnostics found after lowering.
    pub(crate) sources: HashMap<FuncId, SourceFunction>,
}

/// A compiled specialization and what `inspect_types` shows for it.
pub(crate) struct Lowered {
    pub(crate) id: FuncId,
    pub(crate) ret: Option<Type>,
    pub(crate) annotations: BTreeMap<usize, Vec<(String, Type)>>,
}

impl<'e> Ctx<'e> {
    pub(crate) fn new(env: &'e dyn Environment, opts: Options) -> Self {
        Ctx {
            env,
            opts,
            module: Module::default(),
            specs: HashMap::new(),
            parsed: HashMap::new(),
            names: HashSet::new(),
            kernel_entry: None,
            sources: HashMap::new(),
        }
    }

    pub(crate) fn parse(&mut self, func: &SourceFunction) -> R<Rc<ast::StmtFunctionDef>> {
        if let Some(p) = self.parsed.get(&func.key) {
            return Ok(p.clone());
        }
        let def = parse_function(&func.source).map_err(|(msg, range)| {
            diagnostic(
                func,
                DiagnosticKind::Syntax,
                range,
                msg,
                Some("fix the syntax error; the function must be valid Python".into()),
            )
        })?;
        let def = Rc::new(def);
        self.parsed.insert(func.key, def.clone());
        Ok(def)
    }

    fn in_progress(&self, k: &SpecKey) -> bool {
        self.specs
            .get(k)
            .is_some_and(|s| s.state == SpecState::InProgress)
    }

    fn symbol_name(&mut self, func: &SourceFunction, args: &[Type]) -> String {
        let mut name: String = func
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        if name.is_empty() {
            name.push('f');
        }
        for a in args {
            name.push_str("__");
            name.push_str(&mangle(a));
        }
        let mut unique = name.clone();
        let mut n = 1;
        while !self.names.insert(unique.clone()) {
            n += 1;
            unique = format!("{name}_{n}");
        }
        unique
    }

    /// Compiles (or finds) `func` for `args`; `deps` collects the in-progress
    /// functions whose return-type estimate the result relies on.
    pub(crate) fn specialize(
        &mut self,
        func: &SourceFunction,
        args: &[Type],
        ret: Option<&Type>,
        deps: &mut HashSet<SpecKey>,
    ) -> R<Lowered> {
        let key: SpecKey = (func.key, args.to_vec());
        let id = match self.specs.get(&key) {
            Some(s) => {
                let recompile = match s.state {
                    SpecState::InProgress => {
                        deps.insert(key.clone());
                        false
                    }
                    SpecState::Done => false,
                    SpecState::Provisional => s.deps.iter().any(|d| self.in_progress(d)),
                };
                if !recompile {
                    for d in &s.deps {
                        if self.in_progress(d) {
                            deps.insert(d.clone());
                        }
                    }
                    return Ok(Lowered {
                        id: s.id,
                        ret: s.ret.clone(),
                        annotations: BTreeMap::new(),
                    });
                }
                s.id
            }
            None => {
                let id = FuncId(self.module.functions.len() as u32);
                let name = self.symbol_name(func, args);
                self.module.functions.push(Function {
                    name,
                    params: args.to_vec(),
                    ret: Type::None,
                    locals: vec![],
                    values: vec![],
                    body: Block::default(),
                });
                id
            }
        };
        self.specs.insert(
            key.clone(),
            Spec {
                id,
                state: SpecState::InProgress,
                ret: ret.cloned(),
                deps: HashSet::new(),
            },
        );
        let def = self.parse(func)?;
        self.sources.insert(id, func.clone());
        let name = self.module.functions[id.0 as usize].name.clone();
        let result = FnLower::new(self, func, &def, args, ret, key.clone(), name).run();
        let (f, annotations, my_deps, ret) = match result {
            Ok(x) => x,
            Err(e) => {
                self.specs.remove(&key);
                return Err(e);
            }
        };
        self.module.functions[id.0 as usize] = f;
        let mut my_deps = my_deps;
        my_deps.remove(&key);
        let live: HashSet<SpecKey> = my_deps
            .into_iter()
            .filter(|d| self.in_progress(d))
            .collect();
        deps.extend(live.iter().cloned());
        let spec = self.specs.get_mut(&key).expect("spec registered above");
        spec.state = if live.is_empty() {
            SpecState::Done
        } else {
            SpecState::Provisional
        };
        spec.ret = ret.clone();
        spec.deps = live;
        Ok(Lowered {
            id,
            ret,
            annotations,
        })
    }
}

fn mangle(t: &Type) -> String {
    match t {
        Type::Scalar(s) => s.name().to_string(),
        Type::None => "none".into(),
        Type::Array {
            dtype,
            ndim,
            layout,
            space,
        } => format!("arr_{}_{}d_{:?}_{:?}", dtype.name(), ndim, layout, space),
        Type::Tuple(items) => {
            let inner: Vec<String> = items.iter().map(mangle).collect();
            format!("tup{}_{}_", items.len(), inner.join("_"))
        }
    }
}

struct LoopCtx {
    /// Set to true by a `break`, when the loop has an `else`.
    broken: Option<LocalId>,
    has_break: bool,
    /// The names assigned on every path before the loop (for its `else`).
    entry: HashSet<String>,
}

/// Lowers one specialization of one function.
pub(crate) struct FnLower<'c, 'e> {
    pub(crate) ctx: &'c mut Ctx<'e>,
    pub(crate) func: &'c SourceFunction,
    def: &'c ast::StmtFunctionDef,
    args: Vec<Type>,
    fixed_ret: Option<Type>,
    key: SpecKey,
    name: String,
    index: LineIndex,
    /// Names local to the function (parameters and assigned names).
    local_names: HashSet<String>,
    /// The inferred type of every variable so far, in order of first assignment.
    var_types: Vec<(String, Type)>,
    ret: Option<Type>,
    // Per walk:
    walk_ret: Type,
    pub(crate) b: FunctionBuilder,
    locals: HashMap<String, LocalId>,
    changed: bool,
    unknown: Option<Diagnostic>,
    saw_unknown: bool,
    /// A callee still being compiled has no return type yet: this result is provisional.
    dep_unknown: bool,
    /// Names assigned on some path before the current point (loops count their whole body).
    maybe_assigned: HashSet<String>,
    /// The right operand of the binary operation being lowered, when it is an integer literal.
    pub(crate) pow_const: Option<i64>,
    /// Conditions known at compile time (`x is None`), whose dead branch is not lowered.
    pub(crate) static_bools: HashMap<ValueId, bool>,
    /// Names assigned on every path to the current point.
    definite: HashSet<String>,
    /// Variables read where they may be unassigned: they get a run-time flag
    /// (kept across walks), and such reads raise `UnboundLocalError` as Python does.
    needs_flag: Vec<String>,
    flags: HashMap<String, LocalId>,
    loops: Vec<LoopCtx>,
    deps: HashSet<SpecKey>,
    annotations: BTreeMap<usize, Vec<(String, Type)>>,
    assigned_lines: Vec<(usize, String)>,
}

impl<'c, 'e> FnLower<'c, 'e> {
    fn new(
        ctx: &'c mut Ctx<'e>,
        func: &'c SourceFunction,
        def: &'c ast::StmtFunctionDef,
        args: &[Type],
        ret: Option<&Type>,
        key: SpecKey,
        name: String,
    ) -> Self {
        FnLower {
            ctx,
            func,
            def,
            args: args.to_vec(),
            fixed_ret: ret.cloned(),
            key,
            index: LineIndex::new(&func.source),
            local_names: HashSet::new(),
            var_types: Vec::new(),
            ret: ret.cloned(),
            walk_ret: Type::None,
            b: FunctionBuilder::new(name.clone(), args.to_vec(), Type::None),
            name,
            locals: HashMap::new(),
            changed: false,
            unknown: None,
            saw_unknown: false,
            dep_unknown: false,
            maybe_assigned: HashSet::new(),
            pow_const: None,
            static_bools: HashMap::new(),
            definite: HashSet::new(),
            needs_flag: Vec::new(),
            flags: HashMap::new(),
            loops: Vec::new(),
            deps: HashSet::new(),
            annotations: BTreeMap::new(),
            assigned_lines: Vec::new(),
        }
    }

    // ---- diagnostics -------------------------------------------------------

    pub(crate) fn error(
        &self,
        range: TextRange,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Diagnostic {
        diagnostic(
            self.func,
            DiagnosticKind::Typing,
            range,
            message,
            Some(help.into()),
        )
    }

    pub(crate) fn unsupported(
        &self,
        range: TextRange,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Diagnostic {
        diagnostic(
            self.func,
            DiagnosticKind::Unsupported,
            range,
            message,
            Some(help.into()),
        )
    }

    pub(crate) fn loc_of(&self, range: TextRange) -> Loc {
        let (line, col) = self.index.locate(range.start().to_usize());
        Loc {
            line: self.func.first_line.max(1) + line as u32,
            col: self.func.col_offset + col as u32 + 1,
        }
    }

    /// Records that a value's type is not known yet in this walk.
    pub(crate) fn mark_unknown(&mut self, diag: impl FnOnce(&Self) -> Diagnostic) -> Value {
        self.saw_unknown = true;
        if self.unknown.is_none() {
            self.unknown = Some(diag(self));
        }
        Value::Unknown
    }

    // ---- the fixed point ---------------------------------------------------

    #[allow(clippy::type_complexity)]
    fn run(
        mut self,
    ) -> R<(
        Function,
        BTreeMap<usize, Vec<(String, Type)>>,
        HashSet<SpecKey>,
        Option<Type>,
    )> {
        let def = self.def;
        let params = &def.parameters;
        if let Some(v) = &params.vararg {
            return Err(self.unsupported(
                v.range,
                "`*args` parameters are not supported",
                "list the parameters one by one",
            ));
        }
        if let Some(v) = &params.kwarg {
            return Err(self.unsupported(
                v.range,
                "`**kwargs` parameters are not supported",
                "list the parameters one by one",
            ));
        }
        let pnames: Vec<&ast::ParameterWithDefault> = params
            .posonlyargs
            .iter()
            .chain(&params.args)
            .chain(&params.kwonlyargs)
            .collect();
        if pnames.len() != self.args.len() {
            return Err(self.error(
                def.name.range,
                format!(
                    "`{}` takes {} arguments but was compiled for {}",
                    def.name.id,
                    pnames.len(),
                    self.args.len()
                ),
                "pass one argument per parameter",
            ));
        }
        for p in &pnames {
            self.local_names.insert(p.parameter.name.id.to_string());
        }
        let mut names = HashSet::new();
        collect_assigned(&def.body, &mut names);
        self.local_names.extend(names);
        for (p, t) in pnames.iter().zip(self.args.clone()) {
            self.var_types.push((p.parameter.name.id.to_string(), t));
        }

        for _ in 0..40 {
            self.walk()?;
            if !self.changed {
                if self.saw_unknown {
                    return Err(self.unknown.take().unwrap_or_else(|| {
                        self.error(
                            def.name.range,
                            "could not infer the types of this function",
                            "give the variables a value before they are used",
                        )
                    }));
                }
                let mut b = std::mem::replace(
                    &mut self.b,
                    FunctionBuilder::new(String::new(), vec![], Type::None),
                );
                b.set_ret(self.ret.clone().unwrap_or(Type::None));
                let f = b.finish();
                let mut ann: BTreeMap<usize, Vec<(String, Type)>> = BTreeMap::new();
                for (line, name) in &self.assigned_lines {
                    if let Some(t) = self.var_type(name) {
                        let e = ann.entry(*line).or_default();
                        if !e.iter().any(|(n, _)| n == name) {
                            e.push((name.clone(), t.clone()));
                        }
                    }
                }
                self.annotations = ann;
                let ret = if self.dep_unknown && self.ret.is_none() {
                    None
                } else {
                    Some(f.ret.clone())
                };
                return Ok((f, std::mem::take(&mut self.annotations), self.deps, ret));
            }
        }
        Err(self.error(
            def.name.range,
            "type inference did not settle",
            "give each variable one kind of value (e.g. always a float): use a new name where the kind changes",
        ))
    }

    /// Whether `name` is a parameter or a variable of the function (not a global).
    pub(crate) fn is_local_name(&self, name: &str) -> bool {
        self.local_names.contains(name)
    }

    /// Whether this function is the kernel being compiled.
    fn is_kernel(&self) -> bool {
        self.ctx.kernel_entry.as_ref() == Some(&self.key)
    }

    fn var_type(&self, name: &str) -> Option<&Type> {
        self.var_types
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t)
    }

    fn walk(&mut self) -> R<()> {
        let def = self.def;
        self.changed = false;
        self.saw_unknown = false;
        self.dep_unknown = false;
        self.maybe_assigned.clear();
        self.static_bools.clear();
        self.definite.clear();
        self.flags.clear();
        self.unknown = None;
        self.loops.clear();
        self.locals.clear();
        self.assigned_lines.clear();
        let ret = self.ret.clone().unwrap_or(Type::None);
        self.walk_ret = ret.clone();
        self.b = FunctionBuilder::new(self.name.clone(), self.args.clone(), ret);
        if let Some(s) = self.ctx.specs.get_mut(&self.key) {
            s.ret = self.ret.clone();
        }
        for (name, ty) in self.var_types.clone() {
            let l = self.b.add_local(name.clone(), ty.clone());
            self.locals.insert(name, l);
            // Zero scalars so that no path reads an undefined slot.
            if let Type::Scalar(s) = ty {
                let z = self.zero(s);
                self.b.push(IrStmt::Store { local: l, value: z });
            }
        }
        for name in self.needs_flag.clone() {
            let l = self.b.add_local(format!("$bound_{name}"), Type::BOOL);
            let f = self.konst(Const::Bool(false), Type::BOOL);
            self.b.push(IrStmt::Store { local: l, value: f });
            self.flags.insert(name, l);
        }
        let pnames: Vec<String> = def
            .parameters
            .posonlyargs
            .iter()
            .chain(&def.parameters.args)
            .chain(&def.parameters.kwonlyargs)
            .map(|p| p.parameter.name.id.to_string())
            .collect();
        for (i, (name, t)) in pnames.iter().zip(self.args.clone()).enumerate() {
            let v = self.b.emit(Op::Param(i as u32), t.clone());
            let l = self.locals[name];
            let lt = self.b.local_type(l).clone();
            if let Some(c) = self.cast(v, &t, &lt) {
                self.b.push(IrStmt::Store { local: l, value: c });
            }
        }
        self.maybe_assigned.extend(pnames.iter().cloned());
        self.definite.extend(pnames.iter().cloned());
        for n in &pnames {
            if let Some(&l) = self.flags.get(n) {
                let t = self.konst(Const::Bool(true), Type::BOOL);
                self.b.push(IrStmt::Store { local: l, value: t });
            }
        }
        let line = self.index.locate(def.name.range.start().to_usize()).0;
        for n in &pnames {
            self.assigned_lines.push((line, n.clone()));
        }
        let terminated = self.block(&def.body)?;
        if !terminated {
            let end = def.body.last().map(|s| s.range()).unwrap_or(def.name.range);
            self.ret_none(end)?;
        } else if !self.b.is_terminated() {
            // Every path returned inside nested blocks; close the body explicitly
            // so that no backend sees a function that can fall off its end.
            if let Some(Type::Scalar(s)) = &self.ret.clone() {
                let z = self.zero(*s);
                if self.b.value_type(z) == &Type::Scalar(*s) {
                    self.b.push(IrStmt::Return { value: Some(z) });
                }
            }
        }
        Ok(())
    }

    fn ret_none(&mut self, range: TextRange) -> R<()> {
        match &self.ret {
            None => {
                self.ret = Some(Type::None);
                self.changed = true;
            }
            Some(Type::None) => {}
            Some(t) => {
                if self.fixed_ret.is_some() {
                    return Err(self.error(
                        range,
                        format!("this path returns nothing, but the signature says {t}"),
                        "return a value on every path",
                    ));
                }
                return Err(self.error(
                    range,
                    format!("the function returns {t} on some paths and nothing on others"),
                    "return a value on every path, or on none",
                ));
            }
        }
        self.b.push(IrStmt::Return { value: None });
        Ok(())
    }

    // ---- variables ---------------------------------------------------------

    pub(crate) fn read_var(&mut self, name: &str, range: TextRange) -> R<Value> {
        if self.locals.contains_key(name)
            && !name.starts_with('$')
            && self.local_names.contains(name)
            && !self.definite.contains(name)
        {
            // Assigned on some paths only: check at run time, as Python does.
            match self.flags.get(name) {
                Some(&flag) => {
                    let f = self.b.emit(Op::LoadLocal(flag), Type::BOOL);
                    let nf = self
                        .b
                        .emit(Op::Unary(hypersonic_ir::UnaryOp::Not, f), Type::BOOL);
                    let msg = format!(
                        "cannot access local variable '{name}' where it is not associated with a value"
                    );
                    self.raise_if(nf, "UnboundLocalError", &msg, range);
                }
                None => {
                    if !self.needs_flag.iter().any(|n| n == name) {
                        self.needs_flag.push(name.to_string());
                    }
                    self.changed = true;
                }
            }
            // Later reads on this path cannot fail.
            self.definite.insert(name.to_string());
        }
        if let Some(&l) = self.locals.get(name) {
            let t = self.b.local_type(l).clone();
            return Ok(Value::V(self.b.emit(Op::LoadLocal(l), t.clone()), t));
        }
        if self.local_names.contains(name) && !self.maybe_assigned.contains(name) {
            return Err(self.error(
                range,
                format!("variable `{name}` is used before it is assigned"),
                format!("assign `{name}` a value before this line"),
            ));
        }
        if self.local_names.contains(name) {
            let n = name.to_string();
            return Ok(self.mark_unknown(|s| {
                s.error(
                    range,
                    format!("variable `{n}` may be used before it is assigned"),
                    format!("assign `{n}` a value before this line, on every path"),
                )
            }));
        }
        self.global(name, range)
    }

    fn global(&mut self, name: &str, range: TextRange) -> R<Value> {
        let g = self.ctx.env.resolve(self.func, name).or_else(|| {
            if BUILTIN_FUNCS.contains(&name) {
                Some(Global::Builtin(format!("builtins.{name}")))
            } else if BUILTIN_EXCEPTIONS.contains(&name) {
                Some(Global::Exception(name.to_string()))
            } else {
                None
            }
        });
        let Some(g) = g else {
            return Err(self.error(
                range,
                format!("name `{name}` is not defined"),
                format!(
                    "define `{name}` at module level before calling the function, or pass it as an argument"
                ),
            ));
        };
        Ok(match g {
            Global::Module(m) => match crate::cuda::cuda_path(&m) {
                Some(p) => return self.cuda_ref(p, range),
                None => Value::Module(m),
            },
            Global::Builtin(b) => match crate::cuda::cuda_path(&b) {
                Some(p) => return self.cuda_ref(p, range),
                None => Value::Builtin(b),
            },
            Global::Const(c) => self.const_value(&c),
            Global::Array {
                dtype,
                layout,
                data,
                shape,
                strides,
            } => {
                let ty = Type::array(dtype, shape.len() as u8, layout);
                let v = self.b.emit(
                    Op::Const(Const::Array {
                        data,
                        shape,
                        strides,
                    }),
                    ty.clone(),
                );
                Value::V(v, ty)
            }
            Global::Function(f) => Value::Func(Box::new(f)),
            Global::Exception(e) => Value::Exception(e),
            Global::Unsupported(what) => {
                return Err(self.error(
                    range,
                    format!("`{name}` is {what}; compiled code can use numbers, tuples, NumPy arrays and functions"),
                    format!("pass the value of `{name}` as an argument, or compute it inside the function"),
                ))
            }
        })
    }

    fn const_value(&mut self, c: &ConstValue) -> Value {
        let (op, ty) = match c {
            ConstValue::Bool(b) => (Const::Bool(*b), Type::BOOL),
            ConstValue::Int(i) => (Const::Int(*i), Type::I64),
            ConstValue::Float(f) => (Const::Float(*f), Type::F64),
            ConstValue::Complex(r, i) => (Const::Complex(*r, *i), Type::Scalar(Scalar::C128)),
            ConstValue::None => (Const::None, Type::None),
            ConstValue::Tuple(items) => {
                let mut ids = vec![];
                let mut tys = vec![];
                for it in items {
                    match self.const_value(it) {
                        Value::V(v, t) => {
                            ids.push(v);
                            tys.push(t);
                        }
                        _ => return Value::Unknown,
                    }
                }
                let ty = Type::Tuple(tys);
                return Value::V(self.b.emit(Op::MakeTuple(ids), ty.clone()), ty);
            }
        };
        Value::V(self.b.emit(Op::Const(op), ty.clone()), ty)
    }

    /// A slot for a front-end temporary whose type is inferred like a variable's.
    pub(crate) fn temp(&mut self, name: String) -> Option<LocalId> {
        self.locals.get(&name).copied()
    }

    pub(crate) fn locals_insert(&mut self, name: String, l: LocalId) {
        self.locals.insert(name, l);
    }

    /// `name = value`: widens the variable's type and stores, cast to the slot's type.
    pub(crate) fn assign(&mut self, name: &str, value: Value, range: TextRange) -> R<()> {
        self.definite.insert(name.to_string());
        if let (Some(&flag), Value::V(..)) = (self.flags.get(name), &value) {
            let t = self.konst(Const::Bool(true), Type::BOOL);
            self.b.push(IrStmt::Store {
                local: flag,
                value: t,
            });
        }
        let (v, t) = match value {
            Value::V(v, t) => (v, t),
            Value::Unknown => return Ok(()),
            _ => {
                return Err(self.unsupported(
                    range,
                    format!("cannot assign a module, function or class to `{name}`"),
                    "call it, or use it directly instead of storing it in a variable",
                ))
            }
        };
        self.maybe_assigned.insert(name.to_string());
        if !name.starts_with('$') {
            let line = self.index.locate(range.start().to_usize()).0;
            self.assigned_lines.push((line, name.to_string()));
        }
        let cur = self.var_type(name).cloned();
        let new = match &cur {
            None => t.clone(),
            Some(c) => match unify(c, &t) {
                Some(u) => u,
                None => {
                    return Err(self.error(
                        range,
                        format!(
                            "`{name}` holds {} here but {} elsewhere",
                            describe(&t),
                            describe(c)
                        ),
                        "use a different variable name for values of a different kind".to_string(),
                    ))
                }
            },
        };
        if cur.as_ref() != Some(&new) {
            self.changed = true;
            match self.var_types.iter_mut().find(|(n, _)| n == name) {
                Some(e) => e.1 = new.clone(),
                None => self.var_types.push((name.to_string(), new.clone())),
            }
        }
        let l = match self.locals.get(name) {
            Some(&l) => l,
            None => {
                let l = self.b.add_local(name.to_string(), new.clone());
                self.locals.insert(name.to_string(), l);
                l
            }
        };
        let lt = self.b.local_type(l).clone();
        if let Some(c) = self.cast(v, &t, &lt) {
            self.b.push(IrStmt::Store { local: l, value: c });
        }
        Ok(())
    }

    // ---- small IR helpers --------------------------------------------------

    pub(crate) fn konst(&mut self, c: Const, ty: Type) -> ValueId {
        self.b.emit(Op::Const(c), ty)
    }

    pub(crate) fn num(&mut self, s: Scalar, x: f64) -> ValueId {
        let c = if s == Scalar::Bool {
            Const::Bool(x != 0.0)
        } else if s.is_int() {
            Const::Int(x as i64)
        } else if s.is_float() {
            Const::Float(x)
        } else {
            Const::Complex(x, 0.0)
        };
        self.konst(c, Type::Scalar(s))
    }

    pub(crate) fn zero(&mut self, s: Scalar) -> ValueId {
        self.num(s, 0.0)
    }

    pub(crate) fn int(&mut self, i: i64) -> ValueId {
        self.konst(Const::Int(i), Type::I64)
    }

    pub(crate) fn cmp(&mut self, op: CmpOp, a: ValueId, b: ValueId) -> ValueId {
        self.b.emit(Op::Compare(op, a, b), Type::BOOL)
    }

    /// Converts `v` from `from` to `to`; `None` when no conversion exists.
    pub(crate) fn cast(&mut self, v: ValueId, from: &Type, to: &Type) -> Option<ValueId> {
        if from == to {
            return Some(v);
        }
        match (from, to) {
            (Type::Scalar(f), Type::Scalar(t)) => Some(self.cast_scalar(v, *f, *t)),
            (Type::Tuple(fs), Type::Tuple(ts)) if fs.len() == ts.len() => {
                let mut items = vec![];
                for (i, (f, t)) in fs.iter().zip(ts).enumerate() {
                    let x = self.b.emit(Op::TupleGet(v, i as u32), f.clone());
                    items.push(self.cast(x, f, t)?);
                }
                Some(self.b.emit(Op::MakeTuple(items), to.clone()))
            }
            _ => None,
        }
    }

    pub(crate) fn cast_scalar(&mut self, v: ValueId, from: Scalar, to: Scalar) -> ValueId {
        if from == to {
            return v;
        }
        if to.is_complex() {
            let comp = to.component();
            let (re, im) = if from.is_complex() {
                let fc = from.component();
                let re = self.b.emit(Op::ComplexReal(v), Type::Scalar(fc));
                let im = self.b.emit(Op::ComplexImag(v), Type::Scalar(fc));
                (
                    self.cast_scalar(re, fc, comp),
                    self.cast_scalar(im, fc, comp),
                )
            } else {
                (self.cast_scalar(v, from, comp), self.zero(comp))
            };
            return self.b.emit(Op::ComplexNew(re, im), Type::Scalar(to));
        }
        if from.is_complex() {
            let fc = from.component();
            if to == Scalar::Bool {
                let re = self.b.emit(Op::ComplexReal(v), Type::Scalar(fc));
                let im = self.b.emit(Op::ComplexImag(v), Type::Scalar(fc));
                let z = self.zero(fc);
                let a = self.cmp(CmpOp::Ne, re, z);
                let b = self.cmp(CmpOp::Ne, im, z);
                return self
                    .b
                    .emit(Op::Binary(hypersonic_ir::BinaryOp::BitOr, a, b), Type::BOOL);
            }
            let re = self.b.emit(Op::ComplexReal(v), Type::Scalar(fc));
            return self.cast_scalar(re, fc, to);
        }
        self.b.emit(Op::Cast(v), Type::Scalar(to))
    }

    /// Emits `if cond { raise class(message) }`.
    pub(crate) fn raise_if(&mut self, cond: ValueId, class: &str, message: &str, range: TextRange) {
        let exc = self.ctx.module.intern_exception(Exception {
            class: class.into(),
            message: message.into(),
        });
        let loc = self.loc_of(range);
        self.b.open_block();
        self.b.push(IrStmt::Raise { exc, loc });
        let then_block = self.b.close_block();
        self.b.push(IrStmt::If {
            cond,
            then_block,
            else_block: Block::default(),
        });
    }

    /// The truth value of a scalar, as Python's `bool(x)`.
    pub(crate) fn truthy(&mut self, v: Value, range: TextRange) -> R<ValueId> {
        match v {
            Value::V(v, Type::Scalar(s)) => Ok(self.cast_scalar(v, s, Scalar::Bool)),
            Value::V(_, t) => Err(self.error(
                range,
                format!("{} cannot be used as a condition", describe(&t)),
                "compare it explicitly, e.g. `x > 0`",
            )),
            Value::Unknown => Ok(self.konst(Const::Bool(false), Type::BOOL)),
            _ => Err(self.error(
                range,
                "a module or function cannot be used as a condition",
                "call the function, e.g. `if f(x):`, or compare a number, e.g. `if x > 0:`",
            )),
        }
    }

    // ---- statements --------------------------------------------------------

    /// Lowers a block; returns whether control cannot fall off its end.
    fn block(&mut self, body: &[ast::Stmt]) -> R<bool> {
        for s in body {
            self.b.set_loc(self.loc_of(s.range()));
            if self.stmt(s)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn nested(&mut self, body: &[ast::Stmt]) -> R<(Block, bool)> {
        self.b.open_block();
        let r = self.block(body);
        let blk = self.b.close_block();
        Ok((blk, r?))
    }

    fn stmt(&mut self, s: &ast::Stmt) -> R<bool> {
        use ast::Stmt as S;
        match s {
            S::Pass(_) => Ok(false),
            S::Expr(e) => {
                if matches!(*e.value, ast::Expr::StringLiteral(_)) {
                    return Ok(false); // a docstring
                }
                self.expr(&e.value)?;
                Ok(false)
            }
            S::Assign(a) => {
                let v = self.expr(&a.value)?;
                for t in &a.targets {
                    self.assign_target(t, v.clone())?;
                }
                Ok(false)
            }
            S::AnnAssign(a) => {
                if let Some(value) = &a.value {
                    let v = self.expr(value)?;
                    self.assign_target(&a.target, v)?;
                }
                Ok(false)
            }
            S::AugAssign(a) => {
                self.aug_assign(a)?;
                Ok(false)
            }
            S::Return(r) => {
                match &r.value {
                    None => self.ret_none(r.range)?,
                    Some(e) => {
                        let v = self.expr(e)?;
                        self.ret_value(v, e.range())?;
                    }
                }
                Ok(true)
            }
            S::If(i) => self.if_stmt(i),
            S::While(w) => self.while_stmt(w),
            S::For(f) => self.for_stmt(f),
            S::Break(b) => {
                let Some(lp) = self.loops.last_mut() else {
                    return Err(self.error(
                        b.range,
                        "`break` outside a loop",
                        "remove the `break`, or put it inside a `for` or `while` loop",
                    ));
                };
                lp.has_break = true;
                if let Some(flag) = lp.broken {
                    let t = self.konst(Const::Bool(true), Type::BOOL);
                    self.b.push(IrStmt::Store {
                        local: flag,
                        value: t,
                    });
                }
                self.b.push(IrStmt::Break);
                Ok(true)
            }
            S::Continue(c) => {
                if self.loops.is_empty() {
                    return Err(self.error(
                        c.range,
                        "`continue` outside a loop",
                        "remove the `continue`, or put it inside a `for` or `while` loop",
                    ));
                }
                self.b.push(IrStmt::Continue);
                Ok(true)
            }
            S::Raise(r) => self.raise_stmt(r),
            S::Assert(a) => {
                let c = self.cond(&a.test)?;
                let msg = match &a.msg {
                    None => String::new(),
                    Some(m) => match &**m {
                        ast::Expr::StringLiteral(s) => s.value.to_str().to_string(),
                        other => {
                            return Err(self.unsupported(
                                other.range(),
                                "the message of `assert` must be a string literal",
                                "write the message as a constant string",
                            ))
                        }
                    },
                };
                let nc = self
                    .b
                    .emit(Op::Unary(hypersonic_ir::UnaryOp::Not, c), Type::BOOL);
                self.raise_if(nc, "AssertionError", &msg, a.range);
                Ok(false)
            }
            S::FunctionDef(f) => Err(self.unsupported(
                f.name.range,
                "functions defined inside compiled functions are not supported",
                "define the function at module level and call it",
            )),
            S::ClassDef(c) => Err(self.unsupported(
                c.name.range,
                "classes are not supported in compiled code",
                "define the class outside the compiled function",
            )),
            S::With(w) => Err(self.unsupported(
                stmt_head(w.range),
                "`with` statements are not supported in compiled code",
                "move the `with` block outside the compiled function",
            )),
            S::Try(t) => Err(self.unsupported(
                stmt_head(t.range),
                "`try` statements are not supported in compiled code",
                "check the condition with `if` and `raise` instead of catching exceptions",
            )),
            S::Global(g) => Err(self.unsupported(
                g.range,
                "`global` statements are not supported in compiled code",
                "pass the value in as an argument and return the new value",
            )),
            S::Nonlocal(g) => Err(self.unsupported(
                g.range,
                "`nonlocal` statements are not supported in compiled code",
                "pass the value in as an argument and return the new value",
            )),
            S::Import(i) => Err(self.unsupported(
                i.range,
                "`import` is not supported inside compiled functions",
                "import the module at the top of the file",
            )),
            S::ImportFrom(i) => Err(self.unsupported(
                i.range,
                "`import` is not supported inside compiled functions",
                "import the module at the top of the file",
            )),
            S::Delete(d) => Err(self.unsupported(
                d.range,
                "`del` is not supported in compiled code",
                "remove the `del` statement",
            )),
            S::Match(m) => Err(self.unsupported(
                stmt_head(m.range),
                "`match` statements are not supported in compiled code",
                "use `if`/`elif` chains",
            )),
            other => Err(self.unsupported(
                stmt_head(other.range()),
                "this statement is not supported in compiled code",
                "rewrite it with assignments, `if`, `for` and `while`",
            )),
        }
    }

    fn ret_value(&mut self, v: Value, range: TextRange) -> R<()> {
        let (v, t) = match v {
            Value::V(v, t) => (v, t),
            Value::Unknown => return Ok(()),
            _ => {
                return Err(self.unsupported(
                    range,
                    "cannot return a module, function or class",
                    "return numbers, tuples or arrays",
                ))
            }
        };
        if t == Type::None {
            return self.ret_none(range);
        }
        if self.is_kernel() {
            return Err(self.error(
                range,
                "a kernel cannot return a value; write results into an array argument",
                "store the result in an array passed to the kernel, e.g. `out[i] = value`, \
                 and end the kernel with a bare `return` (or none)",
            ));
        }
        let new = match (&self.ret, &self.fixed_ret) {
            (_, Some(fixed)) => {
                if unify(fixed, &t).is_none() {
                    return Err(self.error(
                        range,
                        format!("returns {} but the signature says {fixed}", describe(&t)),
                        "return a value of the declared type, or change the signature",
                    ));
                }
                fixed.clone()
            }
            (None, None) => t.clone(),
            (Some(Type::None), None) => {
                return Err(self.error(
                    range,
                    format!(
                        "the function returns {} here but nothing on other paths",
                        describe(&t)
                    ),
                    "return a value on every path, or on none",
                ))
            }
            (Some(c), None) => match unify(c, &t) {
                Some(u) => u,
                None => {
                    return Err(self.error(
                        range,
                        format!(
                            "returns {} here but {} elsewhere",
                            describe(&t),
                            describe(c)
                        ),
                        "return values of one kind from every path",
                    ))
                }
            },
        };
        if self.ret.as_ref() != Some(&new) {
            self.ret = Some(new.clone());
            self.changed = true;
        }
        if let Some(c) = self.cast(v, &t, &self.b_ret()) {
            self.b.push(IrStmt::Return { value: Some(c) });
        } else {
            self.b.push(IrStmt::Return { value: None });
        }
        Ok(())
    }

    /// The return type this walk's builder was started with.
    fn b_ret(&self) -> Type {
        self.walk_ret.clone()
    }

    fn assign_target(&mut self, target: &ast::Expr, v: Value) -> R<()> {
        use ast::Expr as E;
        match target {
            E::Name(n) => self.assign(n.id.as_str(), v, n.range),
            E::Tuple(ast::ExprTuple { elts, range, .. })
            | E::List(ast::ExprList { elts, range, .. }) => match v {
                Value::Unknown => {
                    for e in elts {
                        self.assign_target(e, Value::Unknown)?;
                    }
                    Ok(())
                }
                Value::V(t, Type::Tuple(items)) => {
                    if items.len() != elts.len() {
                        return Err(self.error(
                            *range,
                            format!(
                                "cannot unpack a tuple of {} items into {} targets",
                                items.len(),
                                elts.len()
                            ),
                            "use as many names as the tuple has items",
                        ));
                    }
                    for (i, (e, ty)) in elts.iter().zip(items).enumerate() {
                        let x = self.b.emit(Op::TupleGet(t, i as u32), ty.clone());
                        self.assign_target(e, Value::V(x, ty))?;
                    }
                    Ok(())
                }
                Value::V(_, t) => Err(self.error(
                    *range,
                    format!("cannot unpack {}", describe(&t)),
                    "unpack tuples only, e.g. `a, b = t`",
                )),
                _ => Err(self.error(
                    *range,
                    "cannot unpack this value",
                    "unpack a tuple, e.g. `n, m = a.shape`",
                )),
            },
            E::Subscript(s) => {
                let base = self.expr(&s.value)?;
                let (arr, aty) =
                    match base {
                        Value::Unknown => {
                            self.index_exprs(&s.slice)?;
                            return Ok(());
                        }
                        Value::V(a, t @ Type::Array { .. }) => (a, t),
                        Value::V(_, t) => {
                            return Err(self.error(
                                s.value.range(),
                                format!("cannot assign to an item of {}", describe(&t)),
                                "only array elements can be assigned, e.g. `a[i] = x`",
                            ))
                        }
                        _ => return Err(self.error(
                            s.value.range(),
                            "cannot assign to an item of this value",
                            "assign to an array element, e.g. `a[i] = x`; tuples cannot be changed",
                        )),
                    };
                let Some(idx) = self.array_indices(arr, &aty, &s.slice, true)? else {
                    return Ok(());
                };
                self.array_store(arr, &aty, idx, v, target.range())
            }
            E::Attribute(a) => Err(self.unsupported(
                a.range,
                "assigning to attributes is not supported",
                "assign to a variable or an array element",
            )),
            E::Starred(s) => Err(self.unsupported(
                s.range,
                "starred assignment is not supported",
                "unpack into a fixed number of names",
            )),
            other => Err(self.error(
                other.range(),
                "cannot assign to this expression",
                "assign to a name, a tuple of names or an array element",
            )),
        }
    }

    fn array_store(
        &mut self,
        arr: ValueId,
        aty: &Type,
        idx: Vec<ValueId>,
        v: Value,
        range: TextRange,
    ) -> R<()> {
        let Type::Array { dtype, .. } = aty else {
            return Ok(());
        };
        let (v, t) = match v {
            Value::V(v, t) => (v, t),
            Value::Unknown => return Ok(()),
            _ => {
                return Err(self.error(
                    range,
                    "cannot store this value in an array",
                    "store a number, e.g. `a[i] = x`; copy arrays element by element in a loop",
                ))
            }
        };
        let Type::Scalar(s) = t else {
            return Err(self.error(
                range,
                format!("cannot store {} in an array element", describe(&t)),
                "store one number per element",
            ));
        };
        let c = self.cast_scalar(v, s, *dtype);
        let loc = self.loc_of(range);
        self.b.push(IrStmt::ArrayStore {
            array: arr,
            indices: idx,
            value: c,
            loc,
        });
        Ok(())
    }

    fn aug_assign(&mut self, a: &ast::StmtAugAssign) -> R<()> {
        use ast::Expr as E;
        match &*a.target {
            E::Name(n) => {
                let cur = self.read_var(n.id.as_str(), n.range)?;
                let rhs = self.expr(&a.value)?;
                let r = self.binop(a.op, cur, rhs, a.range)?;
                self.assign(n.id.as_str(), r, n.range)
            }
            E::Subscript(s) => {
                let base = self.expr(&s.value)?;
                let (arr, aty) =
                    match base {
                        Value::V(arr, t @ Type::Array { .. }) => (arr, t),
                        Value::Unknown => {
                            self.index_exprs(&s.slice)?;
                            self.expr(&a.value)?;
                            return Ok(());
                        }
                        Value::V(_, t) => {
                            return Err(self.error(
                                s.value.range(),
                                format!("cannot assign to an item of {}", describe(&t)),
                                "only array elements can be assigned, e.g. `a[i] += x`",
                            ))
                        }
                        _ => return Err(self.error(
                            s.value.range(),
                            "cannot assign to an item of this value",
                            "assign to an array element, e.g. `a[i] = x`; tuples cannot be changed",
                        )),
                    };
                let Some(idx) = self.array_indices(arr, &aty, &s.slice, true)? else {
                    self.expr(&a.value)?;
                    return Ok(());
                };
                let Type::Array { dtype, .. } = aty else {
                    return Ok(());
                };
                let cur = self
                    .b
                    .emit(Op::ArrayLoad(arr, idx.clone()), Type::Scalar(dtype));
                let rhs = self.expr(&a.value)?;
                let r = self.binop(a.op, Value::V(cur, Type::Scalar(dtype)), rhs, a.range)?;
                self.array_store(arr, &aty, idx, r, a.range)
            }
            other => Err(self.unsupported(
                other.range(),
                "cannot use augmented assignment on this target",
                "use a name or an array element",
            )),
        }
    }

    fn if_stmt(&mut self, i: &ast::StmtIf) -> R<bool> {
        let c = self.cond(&i.test)?;
        if let Some(&k) = self.static_bools.get(&c) {
            // Known at compile time (`x is None`): only the taken branch is compiled.
            return if k {
                self.block(&i.body)
            } else {
                self.elif_chain(&i.elif_else_clauses)
            };
        }
        let before = self.definite.clone();
        let (then_block, t1) = self.nested(&i.body)?;
        let after_then = std::mem::replace(&mut self.definite, before);
        self.b.open_block();
        let t2 = self.elif_chain(&i.elif_else_clauses);
        let else_block = self.b.close_block();
        let t2 = t2?;
        self.join_definite(after_then, t1, t2);
        self.b.push(IrStmt::If {
            cond: c,
            then_block,
            else_block,
        });
        Ok(t1 && t2)
    }

    /// After an `if`: the names assigned on both branches (a branch that
    /// cannot fall through does not count). `self.definite` holds the else branch's.
    fn join_definite(&mut self, then: HashSet<String>, then_term: bool, else_term: bool) {
        match (then_term, else_term) {
            (false, false) => self.definite.retain(|n| then.contains(n)),
            (false, true) => self.definite = then,
            _ => {}
        }
    }

    fn elif_chain(&mut self, clauses: &[ast::ElifElseClause]) -> R<bool> {
        let Some((first, rest)) = clauses.split_first() else {
            return Ok(false);
        };
        match &first.test {
            None => self.block(&first.body),
            Some(test) => {
                let c = self.cond(test)?;
                if let Some(&k) = self.static_bools.get(&c) {
                    return if k {
                        self.block(&first.body)
                    } else {
                        self.elif_chain(rest)
                    };
                }
                let before = self.definite.clone();
                let (then_block, t1) = self.nested(&first.body)?;
                let after_then = std::mem::replace(&mut self.definite, before);
                self.b.open_block();
                let t2 = self.elif_chain(rest);
                let else_block = self.b.close_block();
                let t2 = t2?;
                self.join_definite(after_then, t1, t2);
                self.b.push(IrStmt::If {
                    cond: c,
                    then_block,
                    else_block,
                });
                Ok(t1 && t2)
            }
        }
    }

    /// Opens a loop context; with an `else` clause, a flag records `break`.
    fn open_loop(&mut self, has_else: bool, offset: usize) -> Option<LocalId> {
        let flag = if has_else {
            let l = self.b.add_local(format!("$broken{offset}"), Type::BOOL);
            let f = self.konst(Const::Bool(false), Type::BOOL);
            self.b.push(IrStmt::Store { local: l, value: f });
            Some(l)
        } else {
            None
        };
        self.loops.push(LoopCtx {
            broken: flag,
            has_break: false,
            entry: self.definite.clone(),
        });
        flag
    }

    /// Closes the loop context and lowers the `else` clause; returns whether the loop had a `break`.
    fn close_loop(&mut self, flag: Option<LocalId>, orelse: &[ast::Stmt]) -> R<(bool, bool)> {
        let lp = self.loops.pop();
        let has_break = lp.as_ref().is_some_and(|l| l.has_break);
        if let Some(lp) = lp {
            self.definite = lp.entry;
        }
        let mut else_term = false;
        if let Some(flag) = flag {
            let f = self.b.emit(Op::LoadLocal(flag), Type::BOOL);
            let nf = self
                .b
                .emit(Op::Unary(hypersonic_ir::UnaryOp::Not, f), Type::BOOL);
            let (then_block, t) = self.nested(orelse)?;
            else_term = t;
            self.b.push(IrStmt::If {
                cond: nf,
                then_block,
                else_block: Block::default(),
            });
        }
        Ok((has_break, else_term))
    }

    /// `if not cond: break`, at the top of a loop body.
    fn break_unless(&mut self, cond: ValueId) {
        let nc = self
            .b
            .emit(Op::Unary(hypersonic_ir::UnaryOp::Not, cond), Type::BOOL);
        self.b.open_block();
        self.b.push(IrStmt::Break);
        let then_block = self.b.close_block();
        self.b.push(IrStmt::If {
            cond: nc,
            then_block,
            else_block: Block::default(),
        });
    }

    fn while_stmt(&mut self, w: &ast::StmtWhile) -> R<bool> {
        let before = self.definite.clone();
        let r = self.while_inner(w);
        // The body may run zero times (or stop half-way at a `break`).
        self.definite = before;
        r
    }

    fn while_inner(&mut self, w: &ast::StmtWhile) -> R<bool> {
        collect_assigned(&w.body, &mut self.maybe_assigned);
        let forever = matches!(&*w.test, ast::Expr::BooleanLiteral(b) if b.value);
        let flag = self.open_loop(!w.orelse.is_empty(), w.range.start().to_usize());
        self.b.open_block();
        let r = (|| -> R<()> {
            if !forever {
                let c = self.cond(&w.test)?;
                self.break_unless(c);
            }
            self.block(&w.body)?;
            Ok(())
        })();
        let body = self.b.close_block();
        r?;
        self.b.push(IrStmt::Loop { body });
        let (has_break, else_term) = self.close_loop(flag, &w.orelse)?;
        Ok(forever && !has_break || (!w.orelse.is_empty() && else_term && !has_break))
    }

    fn for_stmt(&mut self, f: &ast::StmtFor) -> R<bool> {
        let before = self.definite.clone();
        let r = self.for_inner(f);
        self.definite = before;
        r
    }

    fn for_inner(&mut self, f: &ast::StmtFor) -> R<bool> {
        use ast::Expr as E;
        collect_assigned(&f.body, &mut self.maybe_assigned);
        if let E::Call(call) = &*f.iter {
            if matches!(&*call.func, E::Name(_) | E::Attribute(_)) {
                if let Value::Builtin(q) = self.expr(&call.func)? {
                    match q.as_str() {
                        "builtins.range" | "numba.prange" | "hypersonic.prange"
                        | "numpy.arange" => return self.for_range(f, call),
                        "builtins.enumerate" => return self.for_enumerate(f, call),
                        _ => {}
                    }
                }
            }
        }
        let it = self.expr(&f.iter)?;
        self.for_sequence(f, it, None)
    }

    fn for_range(&mut self, f: &ast::StmtFor, call: &ast::ExprCall) -> R<bool> {
        let args = &call.arguments.args;
        if !call.arguments.keywords.is_empty() || args.is_empty() || args.len() > 3 {
            return Err(self.error(
                call.range(),
                format!(
                    "`range` takes 1 to 3 positional arguments, got {}",
                    args.len()
                ),
                "write `range(stop)`, `range(start, stop)` or `range(start, stop, step)`",
            ));
        }
        let mut vals = vec![];
        for a in args.iter() {
            let v = self.expr(a)?;
            vals.push(self.int_arg(v, a.range(), "range")?);
        }
        let const_step = if args.len() == 3 {
            const_int(&args[2])
        } else {
            Some(1)
        };
        if const_step == Some(0) {
            return Err(self.error(
                args[2].range(),
                "`range` step must not be zero",
                "use a positive or negative step",
            ));
        }
        let (start, stop, step) = match vals.as_slice() {
            [Some(stop)] => (self.int(0), *stop, self.int(1)),
            [Some(a), Some(b)] => (*a, *b, self.int(1)),
            [Some(a), Some(b), Some(c)] => (*a, *b, *c),
            _ => {
                // Some bound has no type yet: still walk the body for inference.
                return self.for_body_only(f);
            }
        };
        if const_step.is_none() {
            let z = self.int(0);
            let is0 = self.cmp(CmpOp::Eq, step, z);
            self.raise_if(
                is0,
                "ValueError",
                "range() arg 3 must not be zero",
                call.range(),
            );
        }
        let off = f.range.start().to_usize();
        let counter = self.b.add_local(format!("$i{off}"), Type::I64);
        self.b.push(IrStmt::Store {
            local: counter,
            value: start,
        });
        let flag = self.open_loop(!f.orelse.is_empty(), off);
        self.b.open_block();
        let r = (|| -> R<()> {
            let i = self.b.emit(Op::LoadLocal(counter), Type::I64);
            let cond = match const_step {
                Some(s) if s > 0 => self.cmp(CmpOp::Lt, i, stop),
                Some(_) => self.cmp(CmpOp::Gt, i, stop),
                None => {
                    let z = self.int(0);
                    let pos = self.cmp(CmpOp::Gt, step, z);
                    let lt = self.cmp(CmpOp::Lt, i, stop);
                    let gt = self.cmp(CmpOp::Gt, i, stop);
                    self.b.emit(Op::Select(pos, lt, gt), Type::BOOL)
                }
            };
            self.break_unless(cond);
            let next = self
                .b
                .emit(Op::Binary(hypersonic_ir::BinaryOp::Add, i, step), Type::I64);
            self.b.push(IrStmt::Store {
                local: counter,
                value: next,
            });
            self.assign_target(&f.target, Value::V(i, Type::I64))?;
            self.block(&f.body)?;
            Ok(())
        })();
        let body = self.b.close_block();
        r?;
        self.b.push(IrStmt::Loop { body });
        self.close_loop(flag, &f.orelse)?;
        Ok(false)
    }

    /// Walks a loop body whose iteration space is not typed yet.
    fn for_body_only(&mut self, f: &ast::StmtFor) -> R<bool> {
        self.assign_target(&f.target, Value::Unknown)?;
        let flag = self.open_loop(!f.orelse.is_empty(), f.range.start().to_usize());
        self.b.open_block();
        let r = self.block(&f.body);
        let body = self.b.close_block();
        r?;
        self.b.push(IrStmt::Loop { body });
        self.close_loop(flag, &f.orelse)?;
        Ok(false)
    }

    fn for_enumerate(&mut self, f: &ast::StmtFor, call: &ast::ExprCall) -> R<bool> {
        let args = &call.arguments.args;
        if args.len() != 1 || !call.arguments.keywords.is_empty() {
            return Err(self.error(
                call.range(),
                "`enumerate` takes one argument here",
                "write `for i, x in enumerate(a)`",
            ));
        }
        let it = self.expr(&args[0])?;
        self.for_sequence(f, it, Some(call.range()))
    }

    /// `for x in array_or_tuple` (with `enumerate` when `enumerate` is set).
    fn for_sequence(
        &mut self,
        f: &ast::StmtFor,
        it: Value,
        enumerate: Option<TextRange>,
    ) -> R<bool> {
        let (seq, ty) = match it {
            Value::Unknown => return self.for_body_only(f),
            Value::V(v, t @ (Type::Array { .. } | Type::Tuple(_))) => (v, t),
            Value::V(_, t) => {
                return Err(self.error(
                    f.iter.range(),
                    format!("cannot iterate over {}", describe(&t)),
                    "loop over `range(...)`, an array or a tuple",
                ))
            }
            _ => {
                return Err(self.error(
                    f.iter.range(),
                    "cannot iterate over this value",
                    "loop over `range(...)`, an array or a tuple",
                ))
            }
        };
        // Tuples whose items differ are made uniform first so that a run-time index works.
        let (seq, ty) = match &ty {
            Type::Tuple(items) if !items.is_empty() && items.iter().any(|t| *t != items[0]) => {
                let mut u = items[0].clone();
                for t in items {
                    u = unify(&u, t).ok_or_else(|| {
                        self.error(
                            f.iter.range(),
                            format!(
                                "cannot loop over {}: its items have different kinds",
                                describe(&ty)
                            ),
                            "loop over a tuple of numbers of one kind",
                        )
                    })?;
                }
                let target = Type::Tuple(vec![u; items.len()]);
                let c = self.cast(seq, &ty, &target).ok_or_else(|| {
                    self.error(
                        f.iter.range(),
                        "cannot loop over this tuple",
                        "loop over a tuple whose items are all numbers, or all arrays of one type",
                    )
                })?;
                (c, target)
            }
            _ => (seq, ty),
        };
        if matches!(&ty, Type::Tuple(items) if items.is_empty()) {
            // Nothing to iterate over: the body never runs.
            self.assign_target(&f.target, Value::Unknown)?;
            return Ok(false);
        }
        let len = match &ty {
            Type::Array { .. } => self.b.emit(Op::ArrayDim(seq, 0), Type::I64),
            Type::Tuple(items) => self.int(items.len() as i64),
            _ => unreachable_value(),
        };
        let off = f.range.start().to_usize();
        let counter = self.b.add_local(format!("$i{off}"), Type::I64);
        let z = self.int(0);
        self.b.push(IrStmt::Store {
            local: counter,
            value: z,
        });
        let flag = self.open_loop(!f.orelse.is_empty(), off);
        self.b.open_block();
        let r = (|| -> R<()> {
            let i = self.b.emit(Op::LoadLocal(counter), Type::I64);
            let c = self.cmp(CmpOp::Lt, i, len);
            self.break_unless(c);
            let one = self.int(1);
            let next = self
                .b
                .emit(Op::Binary(hypersonic_ir::BinaryOp::Add, i, one), Type::I64);
            self.b.push(IrStmt::Store {
                local: counter,
                value: next,
            });
            let item = match &ty {
                Type::Array { dtype, ndim, .. } => {
                    if *ndim == 1 {
                        let t = Type::Scalar(*dtype);
                        Value::V(self.b.emit(Op::ArrayLoad(seq, vec![i]), t.clone()), t)
                    } else {
                        let t = ty.view(1).expect("a view of an N-d array");
                        Value::V(self.b.emit(Op::SubArray(seq, vec![i]), t.clone()), t)
                    }
                }
                Type::Tuple(items) => {
                    let t = items[0].clone();
                    Value::V(self.b.emit(Op::TupleIndex(seq, i), t.clone()), t)
                }
                _ => Value::Unknown,
            };
            match enumerate {
                None => self.assign_target(&f.target, item)?,
                Some(range) => match &*f.target {
                    ast::Expr::Tuple(t) if t.elts.len() == 2 => {
                        self.assign_target(&t.elts[0], Value::V(i, Type::I64))?;
                        self.assign_target(&t.elts[1], item)?;
                    }
                    _ => {
                        return Err(self.error(
                            range,
                            "`enumerate` needs two loop variables",
                            "write `for i, x in enumerate(a)`",
                        ))
                    }
                },
            }
            self.block(&f.body)?;
            Ok(())
        })();
        let body = self.b.close_block();
        r?;
        self.b.push(IrStmt::Loop { body });
        self.close_loop(flag, &f.orelse)?;
        Ok(false)
    }

    fn raise_stmt(&mut self, r: &ast::StmtRaise) -> R<bool> {
        let Some(exc) = &r.exc else {
            return Err(self.unsupported(
                r.range,
                "re-raising with a bare `raise` is not supported",
                "raise a specific exception, e.g. `raise ValueError(\"...\")`",
            ));
        };
        let (callee, args): (&ast::Expr, &[ast::Expr]) = match &**exc {
            ast::Expr::Call(c) => (&c.func, &c.arguments.args),
            other => (other, &[]),
        };
        let class = match self.expr(callee)? {
            Value::Exception(name) => name,
            _ => {
                return Err(self.error(
                    callee.range(),
                    "only builtin exception classes can be raised",
                    "raise a builtin exception such as `ValueError(\"...\")`",
                ))
            }
        };
        let message = match args {
            [] => String::new(),
            [ast::Expr::StringLiteral(s)] => s.value.to_str().to_string(),
            [other, ..] => {
                return Err(self.unsupported(
                    other.range(),
                    "the exception message must be one string literal",
                    "write a constant message, e.g. `raise ValueError(\"x must be positive\")`",
                ))
            }
        };
        let exc = self
            .ctx
            .module
            .intern_exception(Exception { class, message });
        let loc = self.loc_of(r.range);
        self.b.push(IrStmt::Raise { exc, loc });
        Ok(true)
    }

    /// Lowers a condition to a `bool` value, short-circuiting `and`/`or`.
    pub(crate) fn cond(&mut self, e: &ast::Expr) -> R<ValueId> {
        match e {
            ast::Expr::BoolOp(bo) => {
                let name = format!("$cond{}", e.range().start().to_usize());
                let l = match self.temp(name.clone()) {
                    Some(l) => l,
                    None => {
                        let l = self.b.add_local(name.clone(), Type::BOOL);
                        self.locals.insert(name, l);
                        l
                    }
                };
                let first = self.cond(&bo.values[0])?;
                self.b.push(IrStmt::Store {
                    local: l,
                    value: first,
                });
                self.short_circuit(bo.op, l, &bo.values[1..], first)?;
                Ok(self.b.emit(Op::LoadLocal(l), Type::BOOL))
            }
            ast::Expr::UnaryOp(u) if u.op == ast::UnaryOp::Not => {
                let c = self.cond(&u.operand)?;
                let n = self
                    .b
                    .emit(Op::Unary(hypersonic_ir::UnaryOp::Not, c), Type::BOOL);
                if let Some(&k) = self.static_bools.get(&c) {
                    self.static_bools.insert(n, !k);
                }
                Ok(n)
            }
            _ => {
                let v = self.expr(e)?;
                self.truthy(v, e.range())
            }
        }
    }

    fn short_circuit(
        &mut self,
        op: ast::BoolOp,
        l: LocalId,
        rest: &[ast::Expr],
        prev: ValueId,
    ) -> R<()> {
        let Some((next, rest)) = rest.split_first() else {
            return Ok(());
        };
        // `a and b` evaluates b only when a holds; `a or b` only when it does not.
        let go = if op == ast::BoolOp::And {
            prev
        } else {
            self.b
                .emit(Op::Unary(hypersonic_ir::UnaryOp::Not, prev), Type::BOOL)
        };
        self.b.open_block();
        let r = (|| -> R<()> {
            let c = self.cond(next)?;
            self.b.push(IrStmt::Store { local: l, value: c });
            self.short_circuit(op, l, rest, c)
        })();
        let then_block = self.b.close_block();
        r?;
        self.b.push(IrStmt::If {
            cond: go,
            then_block,
            else_block: Block::default(),
        });
        Ok(())
    }

    /// Evaluates the index expressions of an untyped subscript, for inference only.
    fn index_exprs(&mut self, slice: &ast::Expr) -> R<()> {
        match slice {
            ast::Expr::Tuple(t) => {
                for e in &t.elts {
                    self.expr(e)?;
                }
            }
            e => {
                self.expr(e)?;
            }
        }
        Ok(())
    }

    /// The wrapped (and, with `boundscheck`, checked) `i64` indices for `arr[slice]`.
    /// `full`: the indices must name one element.
    pub(crate) fn array_indices(
        &mut self,
        arr: ValueId,
        aty: &Type,
        slice: &ast::Expr,
        full: bool,
    ) -> R<Option<Vec<ValueId>>> {
        let Type::Array { ndim, .. } = aty else {
            return Ok(None);
        };
        let exprs: Vec<&ast::Expr> = match slice {
            ast::Expr::Tuple(t) => t.elts.iter().collect(),
            e => vec![e],
        };
        if exprs.len() > *ndim as usize {
            return Err(self.error(
                slice.range(),
                format!(
                    "too many indices: the array has {ndim} dimension{} but {} indices were given",
                    if *ndim == 1 { "" } else { "s" },
                    exprs.len()
                ),
                format!("index with at most {ndim} integers"),
            ));
        }
        if full && exprs.len() < *ndim as usize {
            return Err(self.unsupported(
                slice.range(),
                format!(
                    "assigning to a part of a {ndim}-dimensional array with {} indices is not supported",
                    exprs.len()
                ),
                format!("assign one element at a time, with {ndim} indices"),
            ));
        }
        let mut out = vec![];
        let mut unknown = false;
        for (k, e) in exprs.into_iter().enumerate() {
            if let ast::Expr::Slice(s) = e {
                return Err(self.unsupported(
                    s.range,
                    "slices are not supported yet",
                    "index single elements in a loop instead",
                ));
            }
            let v = self.expr(e)?;
            let Some(i) = self.int_arg(v, e.range(), "index")? else {
                unknown = true;
                continue;
            };
            let dim = self.b.emit(Op::ArrayDim(arr, k as u8), Type::I64);
            let i = self.wrap_index(i, dim, const_int(e), e.range());
            out.push(i);
        }
        Ok(if unknown { None } else { Some(out) })
    }

    /// `i < 0 ? i + dim : i`, with a bounds check when asked for.
    pub(crate) fn wrap_index(
        &mut self,
        i: ValueId,
        dim: ValueId,
        konst: Option<i64>,
        range: TextRange,
    ) -> ValueId {
        let i = if konst.is_some_and(|c| c >= 0) {
            i
        } else {
            let z = self.int(0);
            let neg = self.cmp(CmpOp::Lt, i, z);
            let w = self
                .b
                .emit(Op::Binary(hypersonic_ir::BinaryOp::Add, i, dim), Type::I64);
            self.b.emit(Op::Select(neg, w, i), Type::I64)
        };
        if self.ctx.opts.boundscheck {
            self.bounds_check(i, dim, range);
        }
        i
    }

    pub(crate) fn bounds_check(&mut self, i: ValueId, dim: ValueId, range: TextRange) {
        let z = self.int(0);
        let lo = self.cmp(CmpOp::Lt, i, z);
        let hi = self.cmp(CmpOp::Ge, i, dim);
        let bad = self.b.emit(
            Op::Binary(hypersonic_ir::BinaryOp::BitOr, lo, hi),
            Type::BOOL,
        );
        self.raise_if(bad, "IndexError", "index out of bounds", range);
    }

    /// An integer (or bool) operand converted to `i64`; `None` while unknown.
    pub(crate) fn int_arg(&mut self, v: Value, range: TextRange, what: &str) -> R<Option<ValueId>> {
        match v {
            Value::Unknown => Ok(None),
            Value::V(v, Type::Scalar(s)) if s.is_int() || s == Scalar::Bool => {
                Ok(Some(self.cast_scalar(v, s, Scalar::I64)))
            }
            Value::V(_, t) => Err(self.error(
                range,
                format!("{what} must be an integer, not {}", describe(&t)),
                "convert it with `int(...)`",
            )),
            _ => Err(self.error(
                range,
                format!("{what} must be an integer"),
                "pass an integer, or convert with `int(...)`",
            )),
        }
    }

    /// Calls another Python function, compiled for these argument types.
    pub(crate) fn call_function(&mut self, src: &SourceFunction, call: &ast::ExprCall) -> R<Value> {
        let def = self.ctx.parse(src)?;
        let params: Vec<&ast::ParameterWithDefault> = def
            .parameters
            .posonlyargs
            .iter()
            .chain(&def.parameters.args)
            .chain(&def.parameters.kwonlyargs)
            .collect();
        let args = &call.arguments.args;
        if args.len() > params.len() {
            return Err(self.error(
                call.range(),
                format!(
                    "`{}` takes {} argument{} but {} were given",
                    src.name,
                    params.len(),
                    if params.len() == 1 { "" } else { "s" },
                    args.len()
                ),
                format!("pass {} arguments", params.len()),
            ));
        }
        let mut slots: Vec<Option<&ast::Expr>> = vec![None; params.len()];
        for (i, a) in args.iter().enumerate() {
            if let ast::Expr::Starred(s) = a {
                return Err(self.unsupported(
                    s.range,
                    "`*args` in calls is not supported",
                    "pass the arguments one by one",
                ));
            }
            slots[i] = Some(a);
        }
        for kw in &call.arguments.keywords {
            let Some(name) = &kw.arg else {
                return Err(self.unsupported(
                    kw.range,
                    "`**kwargs` in calls is not supported",
                    "pass the arguments one by one",
                ));
            };
            let Some(pos) = params
                .iter()
                .position(|p| p.parameter.name.id.as_str() == name.id.as_str())
            else {
                return Err(self.error(
                    kw.range,
                    format!("`{}` has no parameter `{}`", src.name, name.id),
                    "use the names of the function's parameters",
                ));
            };
            if slots[pos].is_some() {
                return Err(self.error(
                    kw.range,
                    format!("`{}` got two values for `{}`", src.name, name.id),
                    "pass each argument once",
                ));
            }
            slots[pos] = Some(&kw.value);
        }
        let mut vals = vec![];
        let mut tys = vec![];
        let mut unknown = false;
        for (i, slot) in slots.iter().enumerate() {
            let v = match slot {
                Some(e) => self.expr(e)?,
                None => match params[i].default.as_deref() {
                    Some(d) if is_literal(d) => self.expr(d)?,
                    _ => {
                        return Err(self.error(
                            call.range(),
                            format!(
                                "`{}` is missing the argument `{}`",
                                src.name, params[i].parameter.name.id
                            ),
                            format!("pass {} arguments", params.len()),
                        ))
                    }
                },
            };
            match v {
                Value::V(v, t) => {
                    vals.push(v);
                    tys.push(t);
                }
                Value::Unknown => unknown = true,
                _ => {
                    return Err(self.unsupported(
                        slot.map_or(call.range(), |e| e.range()),
                        "modules, functions and classes cannot be passed as arguments",
                        "pass numbers, tuples or arrays",
                    ))
                }
            }
        }
        if unknown {
            return Ok(Value::Unknown);
        }
        let mut deps = HashSet::new();
        let lowered = self.ctx.specialize(src, &tys, None, &mut deps)?;
        self.deps.extend(deps);
        match lowered.ret {
            Some(ret) => {
                let v = self.b.emit(Op::Call(lowered.id, vals), ret.clone());
                Ok(Value::V(v, ret))
            }
            None if (src.key, tys.clone()) != self.key => {
                self.dep_unknown = true;
                Ok(Value::Unknown)
            }
            None => {
                let name = src.name.clone();
                Ok(self.mark_unknown(|s| {
                    s.error(
                        call.range(),
                        format!("cannot infer the return type of the recursive function `{name}`"),
                        "give the function a base case that returns a value without calling itself",
                    )
                }))
            }
        }
    }
}

fn unreachable_value() -> ValueId {
    ValueId(u32::MAX)
}

/// The range of a compound statement's first line, for carets.
fn stmt_head(r: TextRange) -> TextRange {
    TextRange::at(r.start(), 1.into())
}

/// The value of an integer literal, possibly negated.
pub(crate) fn const_int(e: &ast::Expr) -> Option<i64> {
    match e {
        ast::Expr::NumberLiteral(n) => match &n.value {
            ast::Number::Int(i) => i.as_i64(),
            _ => None,
        },
        ast::Expr::UnaryOp(u) if u.op == ast::UnaryOp::USub => const_int(&u.operand).map(|x| -x),
        _ => None,
    }
}

fn is_literal(e: &ast::Expr) -> bool {
    match e {
        ast::Expr::NumberLiteral(_) | ast::Expr::BooleanLiteral(_) | ast::Expr::NoneLiteral(_) => {
            true
        }
        ast::Expr::UnaryOp(u) => is_literal(&u.operand),
        ast::Expr::Tuple(t) => t.elts.iter().all(is_literal),
        _ => false,
    }
}

pub(crate) const BUILTIN_FUNCS: &[&str] = &[
    "abs",
    "min",
    "max",
    "int",
    "float",
    "bool",
    "complex",
    "round",
    "pow",
    "divmod",
    "len",
    "range",
    "enumerate",
    "sum",
    "print",
];

pub(crate) const BUILTIN_EXCEPTIONS: &[&str] = &[
    "Exception",
    "ValueError",
    "TypeError",
    "IndexError",
    "KeyError",
    "ZeroDivisionError",
    "ArithmeticError",
    "OverflowError",
    "AssertionError",
    "RuntimeError",
    "NotImplementedError",
    "StopIteration",
    "LookupError",
];

fn collect_assigned(body: &[ast::Stmt], out: &mut HashSet<String>) {
    fn target(e: &ast::Expr, out: &mut HashSet<String>) {
        match e {
            ast::Expr::Name(n) => {
                out.insert(n.id.to_string());
            }
            ast::Expr::Tuple(t) => t.elts.iter().for_each(|e| target(e, out)),
            ast::Expr::List(t) => t.elts.iter().for_each(|e| target(e, out)),
            ast::Expr::Starred(s) => target(&s.value, out),
            _ => {}
        }
    }
    for s in body {
        match s {
            ast::Stmt::Assign(a) => a.targets.iter().for_each(|t| target(t, out)),
            ast::Stmt::AugAssign(a) => target(&a.target, out),
            ast::Stmt::AnnAssign(a) => target(&a.target, out),
            ast::Stmt::For(f) => {
                target(&f.target, out);
                collect_assigned(&f.body, out);
                collect_assigned(&f.orelse, out);
            }
            ast::Stmt::While(w) => {
                collect_assigned(&w.body, out);
                collect_assigned(&w.orelse, out);
            }
            ast::Stmt::If(i) => {
                collect_assigned(&i.body, out);
                for c in &i.elif_else_clauses {
                    collect_assigned(&c.body, out);
                }
            }
            ast::Stmt::With(w) => collect_assigned(&w.body, out),
            ast::Stmt::Try(t) => {
                collect_assigned(&t.body, out);
                collect_assigned(&t.orelse, out);
                collect_assigned(&t.finalbody, out);
            }
            _ => {}
        }
    }
}
