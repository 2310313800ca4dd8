//! Calls: Python builtins, `math`, NumPy scalar functions, type objects, and
//! other Python functions.

use hypersonic_ir::{BinaryOp, CmpOp, Const, MathFn, Op, Scalar, Type, UnaryOp, ValueId};
use ruff_text_size::{Ranged, TextRange};

use crate::lower::{FnLower, Value, R};
use crate::parse::ast;
use crate::typing;

/// Unary float functions, by their `math` and NumPy names.
fn unary_math(name: &str) -> Option<MathFn> {
    use MathFn::*;
    Some(match name {
        "sin" => Sin,
        "cos" => Cos,
        "tan" => Tan,
        "asin" | "arcsin" => Asin,
        "acos" | "arccos" => Acos,
        "atan" | "arctan" => Atan,
        "sinh" => Sinh,
        "cosh" => Cosh,
        "tanh" => Tanh,
        "asinh" | "arcsinh" => Asinh,
        "acosh" | "arccosh" => Acosh,
        "atanh" | "arctanh" => Atanh,
        "exp" => Exp,
        "exp2" => Exp2,
        "expm1" => Expm1,
        "log" => Log,
        "log2" => Log2,
        "log10" => Log10,
        "log1p" => Log1p,
        "sqrt" => Sqrt,
        "cbrt" => Cbrt,
        "floor" => Floor,
        "ceil" => Ceil,
        "trunc" => Trunc,
        "rint" => Rint,
        "fabs" => Fabs,
        "erf" => Erf,
        "erfc" => Erfc,
        "gamma" => Gamma,
        "lgamma" => Lgamma,
        _ => return None,
    })
}

fn binary_math(name: &str) -> Option<MathFn> {
    use MathFn::*;
    Some(match name {
        "atan2" | "arctan2" => Atan2,
        "hypot" => Hypot,
        "fmod" => Fmod,
        "copysign" => Copysign,
        "nextafter" => Nextafter,
        "pow" => Pow,
        _ => return None,
    })
}

impl FnLower<'_, '_> {
    pub(crate) fn call(&mut self, c: &ast::ExprCall) -> R<Value> {
        // Methods on values: `z.conjugate()`.
        if let ast::Expr::Attribute(a) = &*c.func {
            if a.attr.id.as_str() == "conjugate" {
                let v = self.expr(&a.value)?;
                return match v {
                    Value::V(v, Type::Scalar(s)) => {
                        self.expect_args(c, 0, 0, "conjugate")?;
                        if s.is_complex() {
                            let comp = Type::Scalar(s.component());
                            let re = self.b.emit(Op::ComplexReal(v), comp.clone());
                            let im = self.b.emit(Op::ComplexImag(v), comp.clone());
                            let nim = self.b.emit(Op::Unary(UnaryOp::Neg, im), comp);
                            let t = Type::Scalar(s);
                            Ok(Value::V(self.b.emit(Op::ComplexNew(re, nim), t.clone()), t))
                        } else {
                            Ok(Value::V(v, Type::Scalar(s)))
                        }
                    }
                    Value::Unknown => Ok(Value::Unknown),
                    _ => Err(self.error(
                        a.attr.range,
                        "`conjugate()` needs a number",
                        "call it on a complex number",
                    )),
                };
            }
        }
        let callee = self.expr(&c.func)?;
        match callee {
            Value::Builtin(name) => self.call_builtin(&name, c),
            Value::Func(src) => self.call_function(&src, c),
            Value::Exception(name) => Err(self.unsupported(
                c.range(),
                format!("`{name}` can only be used in a `raise` statement"),
                format!("write `raise {name}(\"message\")`"),
            )),
            Value::Unknown => {
                self.eval_args(c)?;
                Ok(Value::Unknown)
            }
            Value::Module(m) => Err(self.error(
                c.func.range(),
                format!("module `{m}` is not callable"),
                if matches!(m.as_str(), "math" | "numpy" | "np") {
                    format!("call one of its functions, e.g. `{m}.sqrt(x)`")
                } else {
                    format!(
                        "call one of its functions, e.g. `{m}.name(...)`, not the module itself"
                    )
                },
            )),
            Value::V(_, t) => Err(self.error(
                c.func.range(),
                format!("{} is not callable", typing::describe(&t)),
                "call a function, or remove the parentheses",
            )),
        }
    }

    fn eval_args(&mut self, c: &ast::ExprCall) -> R<Vec<Value>> {
        let mut out = vec![];
        for a in c.arguments.args.iter() {
            out.push(self.expr(a)?);
        }
        Ok(out)
    }

    fn expect_args(&self, c: &ast::ExprCall, min: usize, max: usize, name: &str) -> R<()> {
        if let Some(kw) = c.arguments.keywords.first() {
            return Err(self.unsupported(
                kw.range,
                format!("keyword arguments to `{name}` are not supported"),
                "pass the arguments by position",
            ));
        }
        let n = c.arguments.args.len();
        if n < min || n > max {
            let want = if min == max {
                format!("{min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(self.error(
                c.range(),
                format!(
                    "`{name}` takes {want} argument{} but {n} {} given",
                    if max == 1 { "" } else { "s" },
                    if n == 1 { "was" } else { "were" }
                ),
                format!("pass {want} argument{}", if max == 1 { "" } else { "s" }),
            ));
        }
        Ok(())
    }

    /// The scalar arguments of a call; `None` when some type is unknown.
    pub(crate) fn scalar_args(
        &mut self,
        c: &ast::ExprCall,
        name: &str,
    ) -> R<Option<Vec<(ValueId, Scalar)>>> {
        let vals = self.eval_args(c)?;
        let mut out = vec![];
        let mut unknown = false;
        for (v, e) in vals.into_iter().zip(c.arguments.args.iter()) {
            match v {
                Value::V(v, Type::Scalar(s)) => out.push((v, s)),
                Value::Unknown => unknown = true,
                Value::V(_, t) => {
                    return Err(self.error(
                        e.range(),
                        format!("`{name}` needs a number, got {}", typing::describe(&t)),
                        match t {
                            Type::Array { .. } => {
                                "apply it to one element at a time, e.g. in a loop over `a[i]`"
                            }
                            _ => "pass a number",
                        },
                    ))
                }
                _ => {
                    return Err(self.error(
                        e.range(),
                        format!("`{name}` needs a number"),
                        format!("pass a number (an int, float or complex value), e.g. `{name}(x)`"),
                    ))
                }
            }
        }
        Ok(if unknown { None } else { Some(out) })
    }

    /// Converts to the float type a math function computes in.
    fn as_float(
        &mut self,
        (v, s): (ValueId, Scalar),
        name: &str,
        range: TextRange,
    ) -> R<(ValueId, Scalar)> {
        if s.is_complex() {
            return Err(self.error(
                range,
                format!("`{name}` is not supported on complex numbers"),
                "apply it to the real and imaginary parts, or use `abs(z)`",
            ));
        }
        let t = if s == Scalar::F32 {
            Scalar::F32
        } else {
            Scalar::F64
        };
        Ok((self.cast_scalar(v, s, t), t))
    }

    fn math(&mut self, f: MathFn, args: Vec<ValueId>, t: Scalar) -> Value {
        let rt = if f.is_predicate() {
            Type::BOOL
        } else {
            Type::Scalar(t)
        };
        Value::V(self.b.emit(Op::Math(f, args), rt.clone()), rt)
    }

    fn call_builtin(&mut self, qual: &str, c: &ast::ExprCall) -> R<Value> {
        if let Some(p) = crate::cuda::cuda_path(qual) {
            return self.cuda_call(p, c);
        }
        let (module, name) = qual.rsplit_once('.').unwrap_or(("builtins", qual));
        let range = c.range();
        // Type objects used as conversion functions.
        if matches!(
            module,
            "numpy"
                | "hypersonic"
                | "hypersonic.types"
                | "numba"
                | "numba.types"
                | "numba.core.types"
        ) {
            if let Some(to) = Scalar::from_name(name) {
                return self.convert(c, to, name);
            }
        }
        let display = if module == "builtins" {
            name.to_string()
        } else {
            format!("{module}.{name}")
        };
        match (module, name) {
            ("builtins", "int") => return self.convert(c, Scalar::I64, "int"),
            ("builtins", "float") => return self.convert(c, Scalar::F64, "float"),
            ("builtins", "bool") => return self.convert(c, Scalar::Bool, "bool"),
            ("builtins", "complex") => {
                self.expect_args(c, 1, 2, "complex")?;
                let Some(args) = self.scalar_args(c, "complex")? else {
                    return Ok(Value::Unknown);
                };
                let t = Scalar::C128;
                if args.len() == 1 {
                    let v = self.cast_scalar(args[0].0, args[0].1, t);
                    return Ok(Value::V(v, Type::Scalar(t)));
                }
                let re = self.as_float(args[0], "complex", range)?;
                let im = self.as_float(args[1], "complex", range)?;
                let re = self.cast_scalar(re.0, re.1, Scalar::F64);
                let im = self.cast_scalar(im.0, im.1, Scalar::F64);
                return Ok(Value::V(
                    self.b.emit(Op::ComplexNew(re, im), Type::Scalar(t)),
                    Type::Scalar(t),
                ));
            }
            ("builtins", "len") => {
                self.expect_args(c, 1, 1, "len")?;
                let v = self.expr(&c.arguments.args[0])?;
                return match v {
                    Value::Unknown => Ok(Value::Unknown),
                    Value::V(a, Type::Array { .. }) => Ok(Value::V(
                        self.b.emit(Op::ArrayDim(a, 0), Type::I64),
                        Type::I64,
                    )),
                    Value::V(_, Type::Tuple(items)) => {
                        Ok(Value::V(self.int(items.len() as i64), Type::I64))
                    }
                    Value::V(_, t) => Err(self.error(
                        c.arguments.args[0].range(),
                        format!("{} has no length", typing::describe(&t)),
                        "call `len` on an array or a tuple",
                    )),
                    _ => Err(self.error(
                        range,
                        "`len` needs an array or a tuple",
                        "pass an array or a tuple, e.g. `len(a)` or `len(a.shape)`",
                    )),
                };
            }
            ("builtins", "range" | "enumerate") | ("numba" | "hypersonic", "prange") => {
                return Err(self.unsupported(
                    range,
                    format!("`{name}` can only be used as the iterable of a `for` loop"),
                    format!("write `for i in {name}(...):`"),
                ))
            }
            ("builtins", "print") => {
                return Err(self.unsupported(
                    c.func.range(),
                    "`print` is not supported in compiled code yet",
                    "return the values and print them after the call, or debug with \
                     `f.py_func(...)`, which runs the original Python function",
                ))
            }
            ("builtins", "min" | "max") => return self.min_max(c, name == "min"),
            ("builtins", "sum") => return self.reduce_call(c, "sum", &display),
            ("numpy", "sum" | "prod" | "min" | "max" | "amin" | "amax" | "mean") => {
                return self.reduce_call(c, name, &display)
            }
            ("builtins", "abs") | ("numpy", "abs" | "absolute") => {
                self.expect_args(c, 1, 1, &display)?;
                let Some(args) = self.scalar_args(c, &display)? else {
                    return Ok(Value::Unknown);
                };
                let (v, s) = args[0];
                if s.is_complex() {
                    let comp = s.component();
                    let re = self.b.emit(Op::ComplexReal(v), Type::Scalar(comp));
                    let im = self.b.emit(Op::ComplexImag(v), Type::Scalar(comp));
                    return Ok(self.math(MathFn::Hypot, vec![re, im], comp));
                }
                let s2 = if s == Scalar::Bool { Scalar::I64 } else { s };
                let v = self.cast_scalar(v, s, s2);
                if s2.is_unsigned_int() {
                    return Ok(Value::V(v, Type::Scalar(s2)));
                }
                return Ok(Value::V(
                    self.b.emit(Op::Unary(UnaryOp::Abs, v), Type::Scalar(s2)),
                    Type::Scalar(s2),
                ));
            }
            ("builtins", "round") => {
                self.expect_args(c, 1, 2, "round")?;
                let Some(args) = self.scalar_args(c, "round")? else {
                    return Ok(Value::Unknown);
                };
                let (v, s) = args[0];
                if s.is_int() || s == Scalar::Bool {
                    let v = self.cast_scalar(v, s, Scalar::I64);
                    return Ok(Value::V(v, Type::I64));
                }
                let (x, t) = self.as_float(args[0], "round", range)?;
                if args.len() == 1 {
                    let r = self
                        .b
                        .emit(Op::Math(MathFn::Rint, vec![x]), Type::Scalar(t));
                    let i = self.cast_scalar(r, t, Scalar::I64);
                    return Ok(Value::V(i, Type::I64));
                }
                let (n, ns) = args[1];
                if !(ns.is_int() || ns == Scalar::Bool) {
                    return Err(self.error(
                        c.arguments.args[1].range(),
                        "the number of digits must be an integer",
                        "pass an integer, e.g. `round(x, 2)`, or convert with `int(...)`",
                    ));
                }
                let nf = self.cast_scalar(n, ns, t);
                let ten = self.num(t, 10.0);
                let p = self
                    .b
                    .emit(Op::Math(MathFn::Pow, vec![ten, nf]), Type::Scalar(t));
                let y = self
                    .b
                    .emit(Op::Binary(BinaryOp::Mul, x, p), Type::Scalar(t));
                let r = self
                    .b
                    .emit(Op::Math(MathFn::Rint, vec![y]), Type::Scalar(t));
                let q = self
                    .b
                    .emit(Op::Binary(BinaryOp::Div, r, p), Type::Scalar(t));
                return Ok(Value::V(q, Type::Scalar(t)));
            }
            ("builtins", "pow") | ("numpy", "power") | ("numpy", "float_power") => {
                self.expect_args(c, 2, 2, &display)?;
                let Some(args) = self.scalar_args(c, &display)? else {
                    return Ok(Value::Unknown);
                };
                if name == "float_power" {
                    let a = self.as_float(args[0], name, range)?;
                    let b = self.as_float(args[1], name, range)?;
                    let a = self.cast_scalar(a.0, a.1, Scalar::F64);
                    let b = self.cast_scalar(b.0, b.1, Scalar::F64);
                    return Ok(self.math(MathFn::Pow, vec![a, b], Scalar::F64));
                }
                return self.binop_scalars(ast::Operator::Pow, args[0], args[1], range);
            }
            ("builtins", "divmod") => {
                self.expect_args(c, 2, 2, "divmod")?;
                let Some(args) = self.scalar_args(c, "divmod")? else {
                    return Ok(Value::Unknown);
                };
                let q = self.binop_scalars(ast::Operator::FloorDiv, args[0], args[1], range)?;
                let r = self.binop_scalars(ast::Operator::Mod, args[0], args[1], range)?;
                if let (Value::V(q, tq), Value::V(r, tr)) = (q, r) {
                    let t = Type::Tuple(vec![tq, tr]);
                    return Ok(Value::V(
                        self.b.emit(Op::MakeTuple(vec![q, r]), t.clone()),
                        t,
                    ));
                }
                return Ok(Value::Unknown);
            }
            _ => {}
        }
        if module == "cmath" {
            return self.cmath_call(name, &display, c);
        }
        if !matches!(module, "math" | "numpy") {
            return Err(self.unsupported(
                c.func.range(),
                format!("`{display}` is not supported in compiled code"),
                "use Python builtins, `math` and NumPy scalar functions, or a function of your own",
            ));
        }
        self.math_call(module, name, &display, c)
    }

    fn math_call(
        &mut self,
        module: &str,
        name: &str,
        display: &str,
        c: &ast::ExprCall,
    ) -> R<Value> {
        let range = c.range();
        let np = module == "numpy";
        let unknown_fn = || {
            let creates = matches!(
                name,
                "zeros"
                    | "ones"
                    | "empty"
                    | "full"
                    | "array"
                    | "asarray"
                    | "arange"
                    | "linspace"
                    | "zeros_like"
                    | "ones_like"
                    | "empty_like"
                    | "full_like"
                    | "copy"
                    | "eye"
                    | "identity"
            );
            let help = if np && creates {
                format!(
                    "creating arrays is not supported in compiled code yet: call `np.{name}` \
                     before the compiled function and pass the array in as an argument"
                )
            } else {
                "use a `math` or NumPy scalar function such as `math.sin` or `np.arctan`, \
                 or write the computation as a loop"
                    .to_string()
            };
            (
                format!("`{display}` is not supported in compiled code"),
                help,
            )
        };
        // math.floor/ceil/trunc give Python ints.
        if !np && matches!(name, "floor" | "ceil" | "trunc") {
            self.expect_args(c, 1, 1, display)?;
            let Some(args) = self.scalar_args(c, display)? else {
                return Ok(Value::Unknown);
            };
            let (v, s) = args[0];
            if s.is_int() || s == Scalar::Bool {
                return Ok(Value::V(self.cast_scalar(v, s, Scalar::I64), Type::I64));
            }
            let (x, t) = self.as_float(args[0], display, range)?;
            let f = unary_math(name).unwrap_or(MathFn::Floor);
            let r = self.b.emit(Op::Math(f, vec![x]), Type::Scalar(t));
            return Ok(Value::V(self.cast_scalar(r, t, Scalar::I64), Type::I64));
        }
        if matches!(name, "isnan" | "isinf" | "isfinite") {
            self.expect_args(c, 1, 1, display)?;
            let Some(args) = self.scalar_args(c, display)? else {
                return Ok(Value::Unknown);
            };
            let (v, s) = args[0];
            if s.is_int() || s == Scalar::Bool {
                let r = name == "isfinite";
                return Ok(Value::V(self.konst(Const::Bool(r), Type::BOOL), Type::BOOL));
            }
            let (x, t) = self.as_float((v, s), display, range)?;
            let f = match name {
                "isnan" => MathFn::IsNan,
                "isinf" => MathFn::IsInf,
                _ => MathFn::IsFinite,
            };
            return Ok(self.math(f, vec![x], t));
        }
        if name == "log" && !np && c.arguments.args.len() == 2 {
            let Some(args) = self.scalar_args(c, display)? else {
                return Ok(Value::Unknown);
            };
            let (x, tx) = self.as_float(args[0], display, range)?;
            let (b, tb) = self.as_float(args[1], display, range)?;
            let t = if tx == Scalar::F32 && tb == Scalar::F32 {
                Scalar::F32
            } else {
                Scalar::F64
            };
            let x = self.cast_scalar(x, tx, t);
            let b = self.cast_scalar(b, tb, t);
            let lx = self.b.emit(Op::Math(MathFn::Log, vec![x]), Type::Scalar(t));
            let lb = self.b.emit(Op::Math(MathFn::Log, vec![b]), Type::Scalar(t));
            return Ok(Value::V(
                self.b
                    .emit(Op::Binary(BinaryOp::Div, lx, lb), Type::Scalar(t)),
                Type::Scalar(t),
            ));
        }
        if let Some(f) = unary_math(name) {
            if np && matches!(name, "gamma" | "lgamma" | "erf" | "erfc") {
                let (m, h) = unknown_fn();
                return Err(self.unsupported(c.func.range(), m, h));
            }
            self.expect_args(c, 1, 1, display)?;
            let Some(args) = self.scalar_args(c, display)? else {
                return Ok(Value::Unknown);
            };
            if np && args[0].1.is_complex() {
                if let Some(v) = self.complex_unary(name, args[0].0, args[0].1) {
                    return Ok(v);
                }
            }
            let (x, t) = self.as_float(args[0], display, range)?;
            return Ok(self.math(f, vec![x], t));
        }
        if let Some(f) = binary_math(name) {
            if name == "pow" && np {
                let (m, h) = unknown_fn();
                return Err(self.unsupported(c.func.range(), m, h));
            }
            self.expect_args(c, 2, 2, display)?;
            let Some(args) = self.scalar_args(c, display)? else {
                return Ok(Value::Unknown);
            };
            let (a, ta) = self.as_float(args[0], display, range)?;
            let (b, tb) = self.as_float(args[1], display, range)?;
            let t = if ta == Scalar::F32 && tb == Scalar::F32 {
                Scalar::F32
            } else {
                Scalar::F64
            };
            let a = self.cast_scalar(a, ta, t);
            let b = self.cast_scalar(b, tb, t);
            return Ok(self.math(f, vec![a, b], t));
        }
        match name {
            "frexp" => {
                self.expect_args(c, 1, 1, display)?;
                let Some(args) = self.scalar_args(c, display)? else {
                    return Ok(Value::Unknown);
                };
                let (x, t) = self.as_float(args[0], display, range)?;
                // NumPy gives an int32 exponent, `math` a Python int.
                let et = if np { Scalar::I32 } else { Scalar::I64 };
                let (m, e) = self.frexp(x, t, et);
                let ty = Type::Tuple(vec![Type::Scalar(t), Type::Scalar(et)]);
                Ok(Value::V(
                    self.b.emit(Op::MakeTuple(vec![m, e]), ty.clone()),
                    ty,
                ))
            }
            "modf" => {
                self.expect_args(c, 1, 1, display)?;
                let Some(args) = self.scalar_args(c, display)? else {
                    return Ok(Value::Unknown);
                };
                let (x, t) = self.as_float(args[0], display, range)?;
                let ft = Type::Scalar(t);
                let tr = self.b.emit(Op::Math(MathFn::Trunc, vec![x]), ft.clone());
                let inf = self.b.emit(Op::Math(MathFn::IsInf, vec![x]), Type::BOOL);
                let d = self.fbin(BinaryOp::Sub, x, tr, t);
                let z = self.zero(t);
                let d = self.b.emit(Op::Select(inf, z, d), ft.clone());
                // The fractional part keeps the sign of `x` (also for -0.0 and -inf).
                let fr = self
                    .b
                    .emit(Op::Math(MathFn::Copysign, vec![d, x]), ft.clone());
                let ty = Type::Tuple(vec![ft.clone(), ft]);
                Ok(Value::V(
                    self.b.emit(Op::MakeTuple(vec![fr, tr]), ty.clone()),
                    ty,
                ))
            }
            "remainder" if !np => {
                self.expect_args(c, 2, 2, display)?;
                let Some(args) = self.scalar_args(c, display)? else {
                    return Ok(Value::Unknown);
                };
                let (a, ta) = self.as_float(args[0], display, range)?;
                let (b, tb) = self.as_float(args[1], display, range)?;
                let a = self.cast_scalar(a, ta, Scalar::F64);
                let b = self.cast_scalar(b, tb, Scalar::F64);
                let r = self.ieee_remainder(a, b, range);
                Ok(Value::V(r, Type::F64))
            }
            "ldexp" => {
                self.expect_args(c, 2, 2, display)?;
                let Some(args) = self.scalar_args(c, display)? else {
                    return Ok(Value::Unknown);
                };
                let (x, t) = self.as_float(args[0], display, range)?;
                let (n, ns) = args[1];
                if !(ns.is_int() || ns == Scalar::Bool) {
                    return Err(self.error(
                        c.arguments.args[1].range(),
                        "the exponent of `ldexp` must be an integer",
                        "pass an integer, e.g. `math.ldexp(x, 3)`, or convert with `int(...)`",
                    ));
                }
                let n = self.cast_scalar(n, ns, Scalar::I32);
                Ok(self.math(MathFn::Ldexp, vec![x, n], t))
            }
            "degrees" | "rad2deg" | "radians" | "deg2rad" => {
                self.expect_args(c, 1, 1, display)?;
                let Some(args) = self.scalar_args(c, display)? else {
                    return Ok(Value::Unknown);
                };
                let (x, t) = self.as_float(args[0], display, range)?;
                let k = if matches!(name, "degrees" | "rad2deg") {
                    180.0 / std::f64::consts::PI
                } else {
                    std::f64::consts::PI / 180.0
                };
                let k = self.num(t, k);
                Ok(Value::V(
                    self.b
                        .emit(Op::Binary(BinaryOp::Mul, x, k), Type::Scalar(t)),
                    Type::Scalar(t),
                ))
            }
            "minimum" | "maximum" | "fmin" | "fmax" if np => {
                self.expect_args(c, 2, 2, display)?;
                let Some(args) = self.scalar_args(c, display)? else {
                    return Ok(Value::Unknown);
                };
                let t = typing::compare(args[0].1, args[1].1);
                let a = self.cast_scalar(args[0].0, args[0].1, t);
                let b = self.cast_scalar(args[1].0, args[1].1, t);
                if t.is_complex() {
                    return Err(self.error(
                        range,
                        format!("`{display}` is not supported on complex numbers"),
                        "apply it to the real parts, e.g. `z.real`",
                    ));
                }
                let op = if name.ends_with("min") || name == "minimum" {
                    BinaryOp::Min
                } else {
                    BinaryOp::Max
                };
                Ok(Value::V(
                    self.b.emit(Op::Binary(op, a, b), Type::Scalar(t)),
                    Type::Scalar(t),
                ))
            }
            "square" if np => {
                self.expect_args(c, 1, 1, display)?;
                let Some(args) = self.scalar_args(c, display)? else {
                    return Ok(Value::Unknown);
                };
                let (v, s) = args[0];
                let s2 = if s == Scalar::Bool { Scalar::I64 } else { s };
                let v = self.cast_scalar(v, s, s2);
                if s2.is_complex() {
                    let r = self.complex_mul(v, v, s2);
                    return Ok(Value::V(r, Type::Scalar(s2)));
                }
                Ok(Value::V(
                    self.b
                        .emit(Op::Binary(BinaryOp::Mul, v, v), Type::Scalar(s2)),
                    Type::Scalar(s2),
                ))
            }
            "reciprocal" if np => {
                self.expect_args(c, 1, 1, display)?;
                let Some(args) = self.scalar_args(c, display)? else {
                    return Ok(Value::Unknown);
                };
                let (v, s) = args[0];
                if s.is_int() || s == Scalar::Bool {
                    let s2 = if s == Scalar::Bool { Scalar::I64 } else { s };
                    let v = self.cast_scalar(v, s, s2);
                    let one = self.num(s2, 1.0);
                    return Ok(Value::V(
                        self.b
                            .emit(Op::Binary(BinaryOp::FloorDiv, one, v), Type::Scalar(s2)),
                        Type::Scalar(s2),
                    ));
                }
                let (x, t) = self.as_float((v, s), display, range)?;
                let one = self.num(t, 1.0);
                Ok(Value::V(
                    self.b
                        .emit(Op::Binary(BinaryOp::Div, one, x), Type::Scalar(t)),
                    Type::Scalar(t),
                ))
            }
            "sign" if np => {
                self.expect_args(c, 1, 1, display)?;
                let Some(args) = self.scalar_args(c, display)? else {
                    return Ok(Value::Unknown);
                };
                let (v, s) = args[0];
                let s2 = if s == Scalar::Bool { Scalar::I64 } else { s };
                if s2.is_complex() {
                    return Err(self.error(
                        range,
                        "`numpy.sign` is not supported on complex numbers",
                        "apply it to `z.real`, or compute `z / abs(z)` for the complex sign",
                    ));
                }
                let v = self.cast_scalar(v, s, s2);
                let z = self.zero(s2);
                let one = self.num(s2, 1.0);
                let m1 = if s2.is_unsigned_int() {
                    z
                } else {
                    self.num(s2, -1.0)
                };
                let pos = self.cmp(CmpOp::Gt, v, z);
                let neg = self.cmp(CmpOp::Lt, v, z);
                let t = Type::Scalar(s2);
                // Zero and NaN give themselves.
                let inner = self.b.emit(Op::Select(neg, m1, v), t.clone());
                Ok(Value::V(
                    self.b.emit(Op::Select(pos, one, inner), t.clone()),
                    t,
                ))
            }
            _ => {
                let (m, h) = unknown_fn();
                Err(self.unsupported(c.func.range(), m, h))
            }
        }
    }

    /// NumPy's elementary functions on a complex scalar, from real operations.
    /// `None` for functions without a complex version here.
    fn complex_unary(&mut self, name: &str, z: ValueId, s: Scalar) -> Option<Value> {
        use MathFn as M;
        let c = s.component();
        let (a, b) = self.parts(z, s);
        let mk = |me: &mut Self, re: ValueId, im: ValueId| {
            let t = Type::Scalar(s);
            Value::V(me.b.emit(Op::ComplexNew(re, im), t.clone()), t)
        };
        Some(match name {
            "exp" => {
                let ea = self.fmath(M::Exp, vec![a], c);
                let cb = self.fmath(M::Cos, vec![b], c);
                let sb = self.fmath(M::Sin, vec![b], c);
                let re = self.fbin(BinaryOp::Mul, ea, cb, c);
                let im = self.fbin(BinaryOp::Mul, ea, sb, c);
                // exp(x + 0j) is exactly real.
                let z0 = self.zero(c);
                let b0 = self.cmp(CmpOp::Eq, b, z0);
                let im = self.b.emit(Op::Select(b0, b, im), Type::Scalar(c));
                mk(self, re, im)
            }
            "log" | "log2" | "log10" => {
                let r = self.fmath(M::Hypot, vec![a, b], c);
                let re = self.fmath(M::Log, vec![r], c);
                let im = self.fmath(M::Atan2, vec![b, a], c);
                if name == "log" {
                    mk(self, re, im)
                } else {
                    let k = if name == "log2" {
                        std::f64::consts::LOG2_E
                    } else {
                        std::f64::consts::LOG10_E
                    };
                    let k = self.num(c, k);
                    let re = self.fbin(BinaryOp::Mul, re, k, c);
                    let im = self.fbin(BinaryOp::Mul, im, k, c);
                    mk(self, re, im)
                }
            }
            "sqrt" => {
                // t = sqrt((|a| + |z|) / 2); a >= 0: (t, b / 2t), else (|b| / 2t, ±t).
                let r = self.fmath(M::Hypot, vec![a, b], c);
                let aa = self.fmath(M::Fabs, vec![a], c);
                let sum = self.fbin(BinaryOp::Add, aa, r, c);
                let half = self.num(c, 0.5);
                let h = self.fbin(BinaryOp::Mul, sum, half, c);
                let t = self.fmath(M::Sqrt, vec![h], c);
                let two = self.num(c, 2.0);
                let t2 = self.fbin(BinaryOp::Mul, t, two, c);
                let q = self.fbin(BinaryOp::Div, b, t2, c);
                let ab = self.fmath(M::Fabs, vec![b], c);
                let qa = self.fbin(BinaryOp::Div, ab, t2, c);
                let st = self.fmath(M::Copysign, vec![t, b], c);
                let z0 = self.zero(c);
                let pos = self.cmp(CmpOp::Ge, a, z0);
                let ct = Type::Scalar(c);
                let re = self.b.emit(Op::Select(pos, t, qa), ct.clone());
                let im = self.b.emit(Op::Select(pos, q, st), ct.clone());
                // sqrt(0 + bj) with b == 0: (0, b).
                let r0 = self.cmp(CmpOp::Eq, r, z0);
                let re = self.b.emit(Op::Select(r0, z0, re), ct.clone());
                let im = self.b.emit(Op::Select(r0, b, im), ct);
                mk(self, re, im)
            }
            "sin" | "cos" | "sinh" | "cosh" => {
                let sa = self.fmath(M::Sin, vec![a], c);
                let ca = self.fmath(M::Cos, vec![a], c);
                let sb = self.fmath(M::Sin, vec![b], c);
                let cb = self.fmath(M::Cos, vec![b], c);
                let sha = self.fmath(M::Sinh, vec![a], c);
                let cha = self.fmath(M::Cosh, vec![a], c);
                let shb = self.fmath(M::Sinh, vec![b], c);
                let chb = self.fmath(M::Cosh, vec![b], c);
                let (re, im) = match name {
                    "sin" => (
                        self.fbin(BinaryOp::Mul, sa, chb, c),
                        self.fbin(BinaryOp::Mul, ca, shb, c),
                    ),
                    "cos" => {
                        let re = self.fbin(BinaryOp::Mul, ca, chb, c);
                        let im = self.fbin(BinaryOp::Mul, sa, shb, c);
                        let im = self.b.emit(Op::Unary(UnaryOp::Neg, im), Type::Scalar(c));
                        (re, im)
                    }
                    "sinh" => (
                        self.fbin(BinaryOp::Mul, sha, cb, c),
                        self.fbin(BinaryOp::Mul, cha, sb, c),
                    ),
                    _ => (
                        self.fbin(BinaryOp::Mul, cha, cb, c),
                        self.fbin(BinaryOp::Mul, sha, sb, c),
                    ),
                };
                mk(self, re, im)
            }
            "tan" | "tanh" => {
                // tanh(a+bi) = (sinh 2a + i sin 2b) / (cosh 2a + cos 2b);
                // tan(a+bi) = (sin 2a + i sinh 2b) / (cos 2a + cosh 2b).
                let two = self.num(c, 2.0);
                let a2 = self.fbin(BinaryOp::Mul, a, two, c);
                let b2 = self.fbin(BinaryOp::Mul, b, two, c);
                let (n_re, n_im, d1, d2) = if name == "tanh" {
                    (
                        self.fmath(M::Sinh, vec![a2], c),
                        self.fmath(M::Sin, vec![b2], c),
                        self.fmath(M::Cosh, vec![a2], c),
                        self.fmath(M::Cos, vec![b2], c),
                    )
                } else {
                    (
                        self.fmath(M::Sin, vec![a2], c),
                        self.fmath(M::Sinh, vec![b2], c),
                        self.fmath(M::Cos, vec![a2], c),
                        self.fmath(M::Cosh, vec![b2], c),
                    )
                };
                let den = self.fbin(BinaryOp::Add, d1, d2, c);
                let re = self.fbin(BinaryOp::Div, n_re, den, c);
                let im = self.fbin(BinaryOp::Div, n_im, den, c);
                mk(self, re, im)
            }
            _ => return None,
        })
    }

    /// `sum(x)`, `np.sum(a)`, `np.prod`, `np.min`/`np.max`/`np.amin`/`np.amax`,
    /// `np.mean`: over every element of an array (1-D only for the builtin), or
    /// over the items of a tuple of numbers.
    fn reduce_call(&mut self, c: &ast::ExprCall, name: &str, display: &str) -> R<Value> {
        let builtin = !display.starts_with("numpy.");
        if let Some(kw) = c.arguments.keywords.first() {
            return Err(self.unsupported(
                kw.range,
                format!("keyword arguments to `{display}` are not supported"),
                format!("write `{display}(a)` and reduce over the whole array"),
            ));
        }
        if c.arguments.args.len() != 1 {
            return Err(self.unsupported(
                c.range(),
                format!("`{display}` is supported with one argument only"),
                format!("write `{display}(a)`; for a start value or an axis, write the loop"),
            ));
        }
        let arg = &c.arguments.args[0];
        let v = self.expr(arg)?;
        match v {
            Value::Unknown => Ok(Value::Unknown),
            Value::V(a, Type::Array { dtype, ndim, .. }) => {
                if builtin && ndim != 1 {
                    return Err(self.unsupported(
                        arg.range(),
                        format!("`{display}` of a {ndim}-D array is not supported"),
                        format!("use `np.{name}(a)` to reduce over every element"),
                    ));
                }
                let op = match name {
                    "min" | "amin" => Reduce::Min,
                    "max" | "amax" => Reduce::Max,
                    "prod" => Reduce::Prod,
                    "mean" => Reduce::Mean,
                    _ => Reduce::Sum,
                };
                if dtype.is_complex() && matches!(op, Reduce::Min | Reduce::Max) {
                    return Err(self.unsupported(
                        arg.range(),
                        format!("`{display}` of a complex array is not supported"),
                        "reduce `a.real` and `a.imag` in a loop, or compare `abs(a[i])`",
                    ));
                }
                Ok(self.reduce_array(a, dtype, ndim, op, builtin, c.range()))
            }
            Value::V(t, Type::Tuple(items))
                if items.iter().all(|t| t.is_scalar()) && !items.is_empty() =>
            {
                if !matches!(name, "sum" | "prod") {
                    return Err(self.unsupported(
                        arg.range(),
                        format!("`{display}` of a tuple is not supported"),
                        format!("use the builtin `{}` on tuples", &name[name.len() - 3..]),
                    ));
                }
                let mut acc = (self.int(if name == "sum" { 0 } else { 1 }), Scalar::I64);
                let op = if name == "sum" {
                    ast::Operator::Add
                } else {
                    ast::Operator::Mult
                };
                for (i, ty) in items.iter().enumerate() {
                    let x = self.b.emit(Op::TupleGet(t, i as u32), ty.clone());
                    let s = ty.scalar().unwrap_or(Scalar::I64);
                    match self.binop_scalars(op, acc, (x, s), c.range())? {
                        Value::V(v, Type::Scalar(s)) => acc = (v, s),
                        other => return Ok(other),
                    }
                }
                Ok(Value::V(acc.0, Type::Scalar(acc.1)))
            }
            Value::V(_, Type::Tuple(items)) if items.is_empty() && name == "sum" => {
                Ok(Value::V(self.int(0), Type::I64))
            }
            Value::V(_, t) => Err(self.error(
                arg.range(),
                format!("`{display}` needs an array, got {}", typing::describe(&t)),
                format!("pass a NumPy array, e.g. `{display}(a)`"),
            )),
            _ => Err(self.error(
                arg.range(),
                format!("`{display}` needs an array"),
                format!("pass a NumPy array, e.g. `{display}(a)`"),
            )),
        }
    }

    /// Folds every element of an array (row-major order) into one value.
    fn reduce_array(
        &mut self,
        a: ValueId,
        dtype: Scalar,
        ndim: u8,
        op: Reduce,
        builtin: bool,
        range: TextRange,
    ) -> Value {
        use hypersonic_ir::Stmt as S;
        // The accumulator type: NumPy widens small integers and bools for sums.
        let acc_t = match op {
            Reduce::Min | Reduce::Max => dtype,
            Reduce::Mean if !(dtype.is_float() || dtype.is_complex()) => Scalar::F64,
            _ if dtype == Scalar::Bool || dtype.is_signed_int() => Scalar::I64,
            _ if dtype.is_unsigned_int() => Scalar::U64,
            _ => dtype,
        };
        let at = Type::Scalar(acc_t);
        let off = range.start().to_usize();
        let acc = self.b.add_local(format!("$acc{off}"), at.clone());
        let dims: Vec<ValueId> = (0..ndim)
            .map(|k| self.b.emit(Op::ArrayDim(a, k), Type::I64))
            .collect();
        let init = match op {
            Reduce::Sum | Reduce::Mean => self.zero(acc_t),
            Reduce::Prod => self.num(acc_t, 1.0),
            Reduce::Min | Reduce::Max => {
                // No identity: an empty array raises, else start from the first element.
                let mut size = self.int(1);
                for d in &dims {
                    size = self.b.emit(Op::Binary(BinaryOp::Mul, size, *d), Type::I64);
                }
                let z = self.int(0);
                let empty = self.cmp(CmpOp::Eq, size, z);
                let msg = match (builtin, op) {
                    (true, Reduce::Min) => "min() arg is an empty sequence",
                    (true, _) => "max() arg is an empty sequence",
                    (false, Reduce::Min) => {
                        "zero-size array to reduction operation minimum which has no identity"
                    }
                    (false, _) => {
                        "zero-size array to reduction operation maximum which has no identity"
                    }
                };
                self.raise_if(empty, "ValueError", msg, range);
                self.b.open_block();
                let idx = vec![z; ndim as usize];
                let first = self.b.emit(Op::ArrayLoad(a, idx), Type::Scalar(dtype));
                self.b.push(S::Store {
                    local: acc,
                    value: first,
                });
                let then_block = self.b.close_block();
                let nonempty = self.b.emit(Op::Unary(UnaryOp::Not, empty), Type::BOOL);
                self.b.push(S::If {
                    cond: nonempty,
                    then_block,
                    else_block: Default::default(),
                });
                self.zero(acc_t)
            }
        };
        if !matches!(op, Reduce::Min | Reduce::Max) {
            self.b.push(S::Store {
                local: acc,
                value: init,
            });
        }
        let counters: Vec<_> = (0..ndim)
            .map(|k| self.b.add_local(format!("$red{off}_{k}"), Type::I64))
            .collect();
        // Builds the loops from the outside in; closes them from the inside out.
        let mut idx = vec![];
        for k in 0..ndim as usize {
            let z = self.int(0);
            self.b.push(S::Store {
                local: counters[k],
                value: z,
            });
            self.b.open_block();
            let i = self.b.emit(Op::LoadLocal(counters[k]), Type::I64);
            let more = self.cmp(CmpOp::Lt, i, dims[k]);
            let done = self.b.emit(Op::Unary(UnaryOp::Not, more), Type::BOOL);
            self.b.open_block();
            self.b.push(S::Break);
            let then_block = self.b.close_block();
            self.b.push(S::If {
                cond: done,
                then_block,
                else_block: Default::default(),
            });
            let one = self.int(1);
            let next = self.b.emit(Op::Binary(BinaryOp::Add, i, one), Type::I64);
            self.b.push(S::Store {
                local: counters[k],
                value: next,
            });
            idx.push(i);
        }
        let x = self.b.emit(Op::ArrayLoad(a, idx), Type::Scalar(dtype));
        let x = self.cast_scalar(x, dtype, acc_t);
        let cur = self.b.emit(Op::LoadLocal(acc), at.clone());
        let new = match op {
            Reduce::Sum | Reduce::Mean if acc_t.is_complex() => {
                let (xr, xi) = self.parts(x, acc_t);
                let (cr, ci) = self.parts(cur, acc_t);
                let comp = acc_t.component();
                let re = self.fbin(BinaryOp::Add, cr, xr, comp);
                let im = self.fbin(BinaryOp::Add, ci, xi, comp);
                self.b.emit(Op::ComplexNew(re, im), at.clone())
            }
            Reduce::Prod if acc_t.is_complex() => self.complex_mul(cur, x, acc_t),
            Reduce::Sum | Reduce::Mean => self.fbin(BinaryOp::Add, cur, x, acc_t),
            Reduce::Prod => self.fbin(BinaryOp::Mul, cur, x, acc_t),
            Reduce::Min | Reduce::Max if builtin => {
                // Python keeps the first of equal (or unordered) values.
                let better = self.cmp(
                    if op == Reduce::Min {
                        CmpOp::Lt
                    } else {
                        CmpOp::Gt
                    },
                    x,
                    cur,
                );
                self.b.emit(Op::Select(better, x, cur), at.clone())
            }
            Reduce::Min => self.fbin(BinaryOp::Min, cur, x, acc_t),
            Reduce::Max => self.fbin(BinaryOp::Max, cur, x, acc_t),
        };
        self.b.push(S::Store {
            local: acc,
            value: new,
        });
        for _ in 0..ndim {
            let body = self.b.close_block();
            self.b.push(S::Loop { body });
        }
        let mut r = self.b.emit(Op::LoadLocal(acc), at.clone());
        if op == Reduce::Mean {
            let mut size = self.int(1);
            for d in &dims {
                size = self.b.emit(Op::Binary(BinaryOp::Mul, size, *d), Type::I64);
            }
            let n = self.cast_scalar(size, Scalar::I64, acc_t);
            r = if acc_t.is_complex() {
                let (re, im) = self.parts(r, acc_t);
                let comp = acc_t.component();
                let n = self.cast_scalar(size, Scalar::I64, comp);
                let re = self.fbin(BinaryOp::Div, re, n, comp);
                let im = self.fbin(BinaryOp::Div, im, n, comp);
                self.b.emit(Op::ComplexNew(re, im), at.clone())
            } else {
                self.fbin(BinaryOp::Div, r, n, acc_t)
            };
        }
        Value::V(r, at)
    }

    /// `cmath` functions: arguments become complex128.
    fn cmath_call(&mut self, name: &str, display: &str, c: &ast::ExprCall) -> R<Value> {
        let t = Scalar::C128;
        let comp = Scalar::F64;
        if name == "rect" {
            self.expect_args(c, 2, 2, display)?;
            let Some(args) = self.scalar_args(c, display)? else {
                return Ok(Value::Unknown);
            };
            let (r, tr) = self.as_float(args[0], display, c.range())?;
            let (p, tp) = self.as_float(args[1], display, c.range())?;
            let r = self.cast_scalar(r, tr, comp);
            let p = self.cast_scalar(p, tp, comp);
            let cp = self.fmath(MathFn::Cos, vec![p], comp);
            let sp = self.fmath(MathFn::Sin, vec![p], comp);
            let re = self.fbin(BinaryOp::Mul, r, cp, comp);
            let im = self.fbin(BinaryOp::Mul, r, sp, comp);
            let ty = Type::Scalar(t);
            return Ok(Value::V(
                self.b.emit(Op::ComplexNew(re, im), ty.clone()),
                ty,
            ));
        }
        self.expect_args(c, 1, 1, display)?;
        let Some(args) = self.scalar_args(c, display)? else {
            return Ok(Value::Unknown);
        };
        let z = self.cast_scalar(args[0].0, args[0].1, t);
        let (re, im) = self.parts(z, t);
        match name {
            "phase" | "polar" => {
                let ph = self.fmath(MathFn::Atan2, vec![im, re], comp);
                if name == "phase" {
                    return Ok(Value::V(ph, Type::F64));
                }
                let r = self.fmath(MathFn::Hypot, vec![re, im], comp);
                let ty = Type::Tuple(vec![Type::F64, Type::F64]);
                Ok(Value::V(
                    self.b.emit(Op::MakeTuple(vec![r, ph]), ty.clone()),
                    ty,
                ))
            }
            "isnan" | "isinf" | "isfinite" => {
                let f = match name {
                    "isnan" => MathFn::IsNan,
                    "isinf" => MathFn::IsInf,
                    _ => MathFn::IsFinite,
                };
                let a = self.fmath(f, vec![re], comp);
                let b = self.fmath(f, vec![im], comp);
                let join = if name == "isfinite" {
                    BinaryOp::BitAnd
                } else {
                    BinaryOp::BitOr
                };
                Ok(Value::V(
                    self.b.emit(Op::Binary(join, a, b), Type::BOOL),
                    Type::BOOL,
                ))
            }
            _ => match self.complex_unary(name, z, t) {
                Some(v) => Ok(v),
                None => Err(self.unsupported(
                    c.func.range(),
                    format!("`{display}` is not supported in compiled code"),
                    "use `cmath.exp`, `log`, `log10`, `sqrt`, `sin`, `cos`, `tan`, `sinh`, \
                     `cosh`, `tanh`, `phase`, `polar` or `rect`, or write it with real operations",
                )),
            },
        }
    }

    fn fmath(&mut self, f: MathFn, args: Vec<ValueId>, t: Scalar) -> ValueId {
        let rt = if f.is_predicate() {
            Type::BOOL
        } else {
            Type::Scalar(t)
        };
        self.b.emit(Op::Math(f, args), rt)
    }

    /// `math.frexp`: `x == m * 2**e` with `0.5 <= |m| < 1`; zero, infinities and
    /// NaN give `(x, 0)`. Computed in float64 (exact for float32 too).
    fn frexp(&mut self, x: ValueId, t: Scalar, et: Scalar) -> (ValueId, ValueId) {
        use MathFn as M;
        let d = Scalar::F64;
        let x = self.cast_scalar(x, t, d);
        let fin = self.fmath(M::IsFinite, vec![x], d);
        let z = self.zero(d);
        let nz = self.cmp(CmpOp::Ne, x, z);
        let ok = self
            .b
            .emit(Op::Binary(BinaryOp::BitAnd, fin, nz), Type::BOOL);
        let one = self.num(d, 1.0);
        let x1 = self.b.emit(Op::Select(ok, x, one), Type::F64);
        // Subnormals: scale into the normal range first.
        let ax = self.fmath(M::Fabs, vec![x1], d);
        let min_normal = self.num(d, f64::MIN_POSITIVE);
        let small = self.cmp(CmpOp::Lt, ax, min_normal);
        let scale = self.num(d, 2f64.powi(54));
        let xs = self.fbin(BinaryOp::Mul, x1, scale, d);
        let xs = self.b.emit(Op::Select(small, xs, x1), Type::F64);
        let m54 = self.num(d, -54.0);
        let bias = self.b.emit(Op::Select(small, m54, z), Type::F64);
        let axs = self.fmath(M::Fabs, vec![xs], d);
        let l = self.fmath(M::Log2, vec![axs], d);
        let l = self.fmath(M::Floor, vec![l], d);
        let e = self.fbin(BinaryOp::Add, l, one, d);
        let ne = self.b.emit(Op::Unary(UnaryOp::Neg, e), Type::F64);
        let ne = self.cast_scalar(ne, d, Scalar::I32);
        let m = self.fmath(M::Ldexp, vec![xs, ne], d);
        // `log2` may be off by one next to powers of two: fix up.
        let am = self.fmath(M::Fabs, vec![m], d);
        let big = self.cmp(CmpOp::Ge, am, one);
        let half = self.num(d, 0.5);
        let two = self.num(d, 2.0);
        let tiny = self.cmp(CmpOp::Lt, am, half);
        let mh = self.fbin(BinaryOp::Mul, m, half, d);
        let m2 = self.fbin(BinaryOp::Mul, m, two, d);
        let m = self.b.emit(Op::Select(big, mh, m), Type::F64);
        let m = self.b.emit(Op::Select(tiny, m2, m), Type::F64);
        let ep = self.fbin(BinaryOp::Add, e, one, d);
        let em = self.fbin(BinaryOp::Sub, e, one, d);
        let e = self.b.emit(Op::Select(big, ep, e), Type::F64);
        let e = self.b.emit(Op::Select(tiny, em, e), Type::F64);
        let e = self.fbin(BinaryOp::Add, e, bias, d);
        let m = self.b.emit(Op::Select(ok, m, x), Type::F64);
        let e = self.b.emit(Op::Select(ok, e, z), Type::F64);
        (self.cast_scalar(m, d, t), self.cast_scalar(e, d, et))
    }

    /// `math.remainder(x, y)`: IEEE 754 remainder, exactly as CPython computes it.
    fn ieee_remainder(&mut self, x: ValueId, y: ValueId, range: TextRange) -> ValueId {
        use MathFn as M;
        let d = Scalar::F64;
        let ax = self.fmath(M::Fabs, vec![x], d);
        let ay = self.fmath(M::Fabs, vec![y], d);
        let m = self.fmath(M::Fmod, vec![ax, ay], d);
        let c = self.fbin(BinaryOp::Sub, ay, m, d);
        let diff = self.fbin(BinaryOp::Sub, ax, m, d);
        let half = self.num(d, 0.5);
        let two = self.num(d, 2.0);
        let hd = self.fbin(BinaryOp::Mul, half, diff, d);
        let h = self.fmath(M::Fmod, vec![hd, ay], d);
        let h2 = self.fbin(BinaryOp::Mul, two, h, d);
        let tie = self.fbin(BinaryOp::Sub, m, h2, d);
        let nc = self.b.emit(Op::Unary(UnaryOp::Neg, c), Type::F64);
        let lt = self.cmp(CmpOp::Lt, m, c);
        let gt = self.cmp(CmpOp::Gt, m, c);
        let r = self.b.emit(Op::Select(gt, nc, tie), Type::F64);
        let r = self.b.emit(Op::Select(lt, m, r), Type::F64);
        let one = self.num(d, 1.0);
        let sx = self.fmath(M::Copysign, vec![one, x], d);
        let res = self.fbin(BinaryOp::Mul, sx, r, d);
        // Special values.
        let xfin = self.fmath(M::IsFinite, vec![x], d);
        let yfin = self.fmath(M::IsFinite, vec![y], d);
        let xnan = self.fmath(M::IsNan, vec![x], d);
        let ynan = self.fmath(M::IsNan, vec![y], d);
        let xinf = self.fmath(M::IsInf, vec![x], d);
        let both = self
            .b
            .emit(Op::Binary(BinaryOp::BitAnd, xfin, yfin), Type::BOOL);
        let z = self.zero(d);
        let y0 = self.cmp(CmpOp::Eq, y, z);
        let bad1 = self
            .b
            .emit(Op::Binary(BinaryOp::BitAnd, xfin, y0), Type::BOOL);
        let yok = self.b.emit(Op::Unary(UnaryOp::Not, ynan), Type::BOOL);
        let bad2 = self
            .b
            .emit(Op::Binary(BinaryOp::BitAnd, xinf, yok), Type::BOOL);
        let bad = self
            .b
            .emit(Op::Binary(BinaryOp::BitOr, bad1, bad2), Type::BOOL);
        if self.ctx.opts.error_model == crate::ErrorModel::Python {
            self.raise_if(bad, "ValueError", "math domain error", range);
        }
        let other = self.b.emit(Op::Select(ynan, y, x), Type::F64);
        let other = self.b.emit(Op::Select(xnan, x, other), Type::F64);
        let r = self.b.emit(Op::Select(both, res, other), Type::F64);
        let nan = self.num(d, f64::NAN);
        self.b.emit(Op::Select(bad, nan, r), Type::F64)
    }

    fn convert(&mut self, c: &ast::ExprCall, to: Scalar, name: &str) -> R<Value> {
        self.expect_args(c, 0, 1, name)?;
        if c.arguments.args.is_empty() {
            return Ok(Value::V(self.zero(to), Type::Scalar(to)));
        }
        if to == Scalar::Bool {
            let v = self.expr(&c.arguments.args[0])?;
            if let Value::Unknown = v {
                return Ok(Value::Unknown);
            }
            let b = self.truthy(v, c.arguments.args[0].range())?;
            return Ok(Value::V(b, Type::BOOL));
        }
        let Some(args) = self.scalar_args(c, name)? else {
            return Ok(Value::Unknown);
        };
        let (v, s) = args[0];
        if s.is_complex() && !to.is_complex() {
            return Err(self.error(
                c.arguments.args[0].range(),
                format!("cannot convert a complex number with `{name}`"),
                "take `.real` or `abs(z)` first",
            ));
        }
        Ok(Value::V(self.cast_scalar(v, s, to), Type::Scalar(to)))
    }

    fn min_max(&mut self, c: &ast::ExprCall, is_min: bool) -> R<Value> {
        let name = if is_min { "min" } else { "max" };
        if !c.arguments.keywords.is_empty() || c.arguments.args.is_empty() {
            return Err(self.error(
                c.range(),
                format!("`{name}` needs two or more numbers, or one tuple"),
                format!("write `{name}(a, b)` or `{name}(t)`"),
            ));
        }
        let mut items: Vec<(ValueId, Scalar)> = vec![];
        if c.arguments.args.len() == 1 {
            let v = self.expr(&c.arguments.args[0])?;
            match v {
                Value::Unknown => return Ok(Value::Unknown),
                Value::V(t, Type::Tuple(tys))
                    if !tys.is_empty() && tys.iter().all(|t| t.is_scalar()) =>
                {
                    for (i, ty) in tys.iter().enumerate() {
                        let x = self.b.emit(Op::TupleGet(t, i as u32), ty.clone());
                        items.push((x, ty.scalar().unwrap_or(Scalar::I64)));
                    }
                }
                Value::V(a, Type::Array { dtype, ndim: 1, .. }) => {
                    if dtype.is_complex() {
                        return Err(self.error(
                            c.range(),
                            format!("`{name}` is not defined for complex numbers"),
                            "compare `abs(z)` instead",
                        ));
                    }
                    let op = if is_min { Reduce::Min } else { Reduce::Max };
                    return Ok(self.reduce_array(a, dtype, 1, op, true, c.range()));
                }
                Value::V(_, t) => {
                    return Err(self.error(
                        c.arguments.args[0].range(),
                        format!("`{name}` of {} is not supported", typing::describe(&t)),
                        format!("pass two or more numbers, a tuple of numbers, or a 1-D array; for a 2-D array use `np.{name}(a)`"),
                    ))
                }
                _ => {
                    return Err(self.error(
                        c.range(),
                        format!("`{name}` needs numbers"),
                        format!("write `{name}(a, b)` with numbers, or `{name}(t)` with a tuple or 1-D array"),
                    ))
                }
            }
        } else {
            let Some(args) = self.scalar_args(c, name)? else {
                return Ok(Value::Unknown);
            };
            items = args;
        }
        let mut t = items[0].1;
        for (_, s) in &items[1..] {
            t = typing::compare(t, *s);
        }
        if t.is_complex() {
            return Err(self.error(
                c.range(),
                format!("`{name}` is not defined for complex numbers"),
                "compare `abs(z)` instead",
            ));
        }
        let mut acc = self.cast_scalar(items[0].0, items[0].1, t);
        for (v, s) in &items[1..] {
            let x = self.cast_scalar(*v, *s, t);
            // Python keeps the first of equal (or unordered) values.
            let better = self.cmp(if is_min { CmpOp::Lt } else { CmpOp::Gt }, x, acc);
            acc = self.b.emit(Op::Select(better, x, acc), Type::Scalar(t));
        }
        Ok(Value::V(acc, Type::Scalar(t)))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Reduce {
    Sum,
    Prod,
    Min,
    Max,
    Mean,
}
