mod common;
use common::*;
use hypersonic_ir::{Scalar, Type};

fn c128() -> Type {
    Type::Scalar(Scalar::C128)
}

#[test]
fn frexp_modf_remainder_types() {
    let c = ok("def f(x):\n    return math.frexp(x)\n", &[Type::F64]);
    assert_eq!(c.ret, Type::Tuple(vec![Type::F64, Type::I64]));
    let c = ok("def f(x):\n    return np.frexp(x)\n", &[Type::F64]);
    assert_eq!(
        c.ret,
        Type::Tuple(vec![Type::F64, Type::Scalar(Scalar::I32)])
    );
    let c = ok("def f(x):\n    return math.modf(x)\n", &[Type::I64]);
    assert_eq!(c.ret, Type::Tuple(vec![Type::F64, Type::F64]));
    let c = ok(
        "def f(x, y):\n    return math.remainder(x, y)\n",
        &[Type::F64, Type::I64],
    );
    assert_eq!(c.ret, Type::F64);
}

#[test]
fn numpy_functions_on_complex() {
    let c = ok(
        "def f(z):\n    return np.exp(z) + np.log(z) + np.sqrt(z) + np.sin(z) + np.cos(z) + np.tanh(z)\n",
        &[c128()],
    );
    assert_eq!(c.ret, c128());
    let d = err("def f(z):\n    return np.arcsinh(z)\n", &[c128()]);
    assert!(d.rendered.contains("complex"), "{}", d.rendered);
}

#[test]
fn is_none_prunes_the_dead_branch() {
    let src = "def f(a, b):\n    if b is None:\n        return a\n    return a + b\n";
    assert_eq!(ok(src, &[Type::I64, Type::None]).ret, Type::I64);
    assert_eq!(ok(src, &[Type::I64, Type::F64]).ret, Type::F64);
    let src = "def f(a, b):\n    return 0 if b is not None else a\n";
    assert_eq!(ok(src, &[Type::F64, Type::None]).ret, Type::F64);
    let d = err("def f(a, b):\n    return a is b\n", &[Type::I64, Type::I64]);
    assert!(
        d.rendered.contains("`is` is only supported with `None`"),
        "{}",
        d.rendered
    );
}

#[test]
fn tuple_comparisons() {
    let t3 = Type::Tuple(vec![Type::I64, Type::F64, Type::I64]);
    let t2 = Type::Tuple(vec![Type::I64, Type::I64]);
    let c = ok(
        "def f(t, u):\n    return t == u, t != u, t < u, t >= u\n",
        &[t3.clone(), t2.clone()],
    );
    assert_eq!(c.ret, Type::Tuple(vec![Type::BOOL; 4]));
    let d = err("def f(t, u):\n    return t < u\n", &[t2, Type::I64]);
    assert!(d.rendered.contains("not defined"), "{}", d.rendered);
}

fn raises(c: &hypersonic_frontend::Compiled, class: &str) -> bool {
    c.module.exceptions.iter().any(|e| e.class == class)
}

#[test]
fn int_power_of_zero_to_negative_raises() {
    let c = ok("def f(a, b):\n    return a ** b\n", &[Type::I64, Type::I64]);
    assert_eq!(c.ret, Type::I64);
    assert!(c
        .module
        .exceptions
        .iter()
        .any(|e| e.message == "0 cannot be raised to a negative power"));
}

#[test]
fn possibly_unassigned_reads_raise_unbound_local_error() {
    let c = ok(
        "def f(c):\n    if c > 0:\n        x = 1\n    return x\n",
        &[Type::I64],
    );
    assert!(raises(&c, "UnboundLocalError"));
    let c = ok(
        "def f(n):\n    for i in range(n):\n        pass\n    return i\n",
        &[Type::I64],
    );
    assert!(raises(&c, "UnboundLocalError"));
    // Assigned on every path: no check.
    let c = ok(
        "def f(c):\n    if c > 0:\n        x = 1\n    elif c < 0:\n        return 0\n    else:\n        x = 2\n    return x\n",
        &[Type::I64],
    );
    assert!(!raises(&c, "UnboundLocalError"));
    let c = ok(
        "def f(n):\n    s = 0\n    for i in range(n):\n        s += i\n    return s\n",
        &[Type::I64],
    );
    assert!(!raises(&c, "UnboundLocalError"));
}

#[test]
fn reductions_over_arrays_and_tuples() {
    let c = ok(
        "def f(a):\n    return sum(a), min(a), max(a), np.mean(a)\n",
        &[arr(Scalar::I32, 1)],
    );
    assert_eq!(
        c.ret,
        Type::Tuple(vec![
            Type::I64,
            Type::Scalar(Scalar::I32),
            Type::Scalar(Scalar::I32),
            Type::F64
        ])
    );
    let c = ok(
        "def f(a):\n    return np.sum(a), np.max(a), np.prod(a)\n",
        &[arr(Scalar::F64, 3)],
    );
    assert_eq!(c.ret, Type::Tuple(vec![Type::F64; 3]));
    let c = ok(
        "def f(t):\n    return sum(t)\n",
        &[Type::Tuple(vec![Type::I64, Type::F64])],
    );
    assert_eq!(c.ret, Type::F64);
    let d = err("def f(a):\n    return sum(a)\n", &[arr(Scalar::F64, 2)]);
    assert!(d.rendered.contains("np.sum(a)"), "{}", d.rendered);
}

#[test]
fn print_has_a_clear_diagnostic() {
    let d = err("def f(x):\n    print(x)\n", &[Type::I64]);
    assert!(
        d.rendered.contains("`print` is not supported"),
        "{}",
        d.rendered
    );
    assert!(d.rendered.contains("py_func"), "{}", d.rendered);
}

#[test]
fn cmath_functions() {
    let mut e = env();
    e.0.insert(
        "cmath".to_string(),
        hypersonic_frontend::Global::Module("cmath".into()),
    );
    let c = compile_with(
        &e,
        "def f(z):\n    return cmath.exp(z) + cmath.sqrt(z), cmath.phase(z), cmath.polar(z)\n",
        &[Type::F64],
    )
    .unwrap_or_else(|d| panic!("{}", d.rendered));
    assert_eq!(
        c.ret,
        Type::Tuple(vec![
            c128(),
            Type::F64,
            Type::Tuple(vec![Type::F64, Type::F64])
        ])
    );
}
