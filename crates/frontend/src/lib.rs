//! Python source → Hypersonic's typed IR.
//!
//! The caller (the Python extension, or a Rust test) hands over the source of a
//! function and the types of its arguments, and answers questions about the
//! names the function uses through an [`Environment`]. The front end parses,
//! lowers to the structured IR and infers types in one walk run to a fixed point,
//! and reports every error as a [`Diagnostic`] with the file, line, column and a
//! caret under the code.

use hypersonic_ir::{Layout, Module, Scalar, Type};

mod annotate;
mod builtins;
mod cuda;
mod diagnostics;
mod expr;
mod lower;
mod parse;
mod typing;

/// One Python function to compile, as the caller found it.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceFunction {
    /// Identifies the function (Python's `id()` of the function object), so that
    /// calls and recursion find the same compiled function.
    pub key: u64,
    /// `__name__`.
    pub name: String,
    /// The file the function was defined in (`<string>` when unknown).
    pub filename: String,
    /// The 1-based line in `filename` of the first line of `source`.
    pub first_line: u32,
    /// How many columns `source` was dedented by; added back to every reported column.
    pub col_offset: u32,
    /// The function's source, dedented, starting at its decorators or `def`.
    pub source: String,
}

/// A scalar constant known at compile time.
#[derive(Clone, Debug, PartialEq)]
pub enum ConstValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Complex(f64, f64),
    None,
    Tuple(Vec<ConstValue>),
}

/// What a free name of a function refers to.
#[derive(Clone, Debug, PartialEq)]
pub enum Global {
    /// A module: `"numpy"`, `"math"`, `"cmath"`, `"hypersonic"`.
    Module(String),
    /// A function or type the compiler knows by its qualified name:
    /// `"builtins.abs"`, `"math.sin"`, `"numpy.arctan"`, `"numpy.float32"` (the
    /// NumPy scalar type), `"hypersonic.float32"` (Hypersonic's type object).
    Builtin(String),
    Const(ConstValue),
    /// A global NumPy array, captured as a constant.
    Array {
        dtype: Scalar,
        layout: Layout,
        data: u64,
        shape: Vec<i64>,
        strides: Vec<i64>,
    },
    /// A Python function, plain or decorated with `@njit`: compiled on demand.
    Function(SourceFunction),
    /// A builtin exception class, by name (`"ValueError"`).
    Exception(String),
    /// Something compiled code cannot use; the text says what (`"a str object"`).
    Unsupported(String),
}

/// Answers the front end's questions about names.
pub trait Environment {
    /// What `name`, free in `func`, refers to: `None` when it is not defined.
    fn resolve(&self, func: &SourceFunction, name: &str) -> Option<Global>;

    /// The `nbytes` bytes at address `data` of a global array that `resolve`
    /// returned (for `cuda.const.array_like`); `None` when they cannot be read.
    fn array_bytes(&self, data: u64, nbytes: usize) -> Option<Vec<u8>> {
        let _ = (data, nbytes);
        None
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ErrorModel {
    /// Division by zero raises `ZeroDivisionError` (Numba's default for `@njit`).
    #[default]
    Python,
    /// Division by zero follows NumPy: inf or nan for floats, 0 for integers.
    Numpy,
}

/// What kind of function is being compiled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FunctionKind {
    /// `@njit`: called from Python on the host.
    #[default]
    Host,
    /// `@cuda.jit`: a kernel, launched on a grid; returns nothing, may use `cuda.*`.
    Kernel,
    /// `@cuda.jit(device=True)` compiled on its own (for `compile_ptx(..., device=True)`);
    /// functions called from a kernel are compiled as device code automatically.
    Device,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Host function, kernel or device function.
    pub kind: FunctionKind,
    pub error_model: ErrorModel,
    /// Check every index against the array's shape and raise `IndexError`.
    pub boundscheck: bool,
}

/// The result of compiling one specialization.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The entry function and every function it calls; verified.
    pub module: Module,
    /// The inferred (or declared) return type.
    pub ret: Type,
    /// The source with the type of each variable, as Numba's `inspect_types()` prints it.
    pub annotated_source: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiagnosticKind {
    /// A type does not fit (becomes `hypersonic.TypingError`).
    Typing,
    /// A construct compiled code does not support (also a `TypingError`).
    Unsupported,
    /// The source does not parse (a `SyntaxError`).
    Syntax,
}

/// An error with its place in the user's file.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{rendered}")]
pub struct Diagnostic {
    pub kind: DiagnosticKind,
    /// One line saying what is wrong.
    pub message: String,
    /// What to write instead, when the front end knows.
    pub help: Option<String>,
    pub filename: String,
    /// 1-based line and column in `filename`.
    pub line: u32,
    pub col: u32,
    /// The full text: message, `--> file:line:col`, the source line, a caret, help.
    pub rendered: String,
}

/// Compiles `func` for argument types `args`. With `ret`, the result is
/// converted to that type (an eager signature's return type).
pub fn compile(
    func: &SourceFunction,
    args: &[Type],
    ret: Option<&Type>,
    env: &dyn Environment,
    opts: &Options,
) -> Result<Compiled, Diagnostic> {
    let mut ctx = lower::Ctx::new(env, *opts);
    if opts.kind == FunctionKind::Kernel {
        if let Some(t) = ret.filter(|t| **t != Type::None) {
            return Err(diagnostics::diagnostic(
                func,
                DiagnosticKind::Typing,
                Default::default(),
                format!("a kernel cannot return a value, but the signature says {t}"),
                Some("declare the kernel's signature with a `void` return type".into()),
            ));
        }
        ctx.kernel_entry = Some((func.key, args.to_vec()));
    }
    let mut deps = std::collections::HashSet::new();
    let lowered = ctx.specialize(func, args, ret, &mut deps)?;
    let mut module = std::mem::take(&mut ctx.module);
    module.entry = lowered.id;
    let ret = module.function(lowered.id).ret.clone();
    if let Err(e) = hypersonic_ir::verify::verify_module(&module) {
        return Err(diagnostics::diagnostic(
            func,
            DiagnosticKind::Typing,
            Default::default(),
            format!("internal compiler error: {e}"),
            Some("please report this bug to the Hypersonic developers".into()),
        ));
    }
    if opts.kind != FunctionKind::Host {
        if let Err(e) = hypersonic_ir::passes::uniformity::check_module_barriers(&module) {
            let src = ctx.sources.get(&e.function).unwrap_or(func);
            let mut help = "every thread of a block must reach a barrier, or none: move it out of \
                 the thread-dependent `if` or loop, and guard only the work with the condition"
                .to_string();
            if let Some(c) = e.error.cond_loc {
                help.push_str(&format!(" (the condition is at line {})", c.line));
            }
            return Err(diagnostics::diagnostic_at(
                src,
                DiagnosticKind::Typing,
                e.error.loc,
                e.error.message,
                Some(help),
            ));
        }
    }
    let annotated_source = annotate::annotate(func, &lowered.annotations);
    Ok(Compiled {
        module,
        ret,
        annotated_source,
    })
}
