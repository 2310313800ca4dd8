mod common;
use common::*;
use hypersonic_frontend::DiagnosticKind;
use hypersonic_ir::{Scalar, Type};

#[test]
fn unknown_name() {
    let d = err(
        "def f(x):
    s = foo(x)
    return s
",
        &[Type::I64],
    );
    assert_eq!(d.message, "name `foo` is not defined");
    assert_eq!((d.line, d.col), (11, 9));
    assert!(d.rendered.contains("/path/file.py:11:9"), "{}", d.rendered);
    assert!(d.rendered.contains("^^^"), "{}", d.rendered);
    assert!(d.help.as_deref().unwrap().contains("define `foo`"));
    println!("{}", d.rendered);
}

#[test]
fn unsupported_constructs() {
    for (text, word) in [
        ("def f(x):\n    with x:\n        pass\n", "`with`"),
        (
            "def f(x):\n    try:\n        pass\n    except:\n        pass\n",
            "`try`",
        ),
        ("def f(x):\n    g = lambda y: y\n    return x\n", "lambda"),
        ("def f(x):\n    l = [1, 2]\n    return x\n", "lists"),
        ("def f(x):\n    s = 'abc'\n    return x\n", "strings"),
        ("def f(x):\n    global y\n    return x\n", "global"),
    ] {
        let d = err(text, &[Type::I64]);
        assert_eq!(d.kind, DiagnosticKind::Unsupported, "{}", d.rendered);
        assert!(d.message.contains(word), "{}", d.rendered);
        assert_eq!(d.line, 11);
        assert!(d.help.is_some());
    }
}

#[test]
fn type_errors() {
    let d = err(
        "def f(x, a):\n    return x + a\n",
        &[Type::I64, arr(Scalar::F64, 1)],
    );
    assert_eq!(d.kind, DiagnosticKind::Typing);
    assert_eq!((d.line, d.col), (11, 12));
    let d = err("def f(x):\n    return x[0]\n", &[Type::F64]);
    assert!(d.message.contains("cannot be indexed"), "{}", d.rendered);
    let d = err("def f(a):\n    return a[0, 1]\n", &[arr(Scalar::F64, 1)]);
    assert!(d.message.contains("too many indices"), "{}", d.rendered);
    let d = err("def f(x):\n    return x(1)\n", &[Type::F64]);
    assert!(d.message.contains("not callable"), "{}", d.rendered);
    let d = err(
        "def f(x, a):\n    y = x\n    y = a\n    return y\n",
        &[Type::I64, arr(Scalar::F64, 1)],
    );
    assert!(d.message.contains("`y` holds"), "{}", d.rendered);
    assert_eq!(d.line, 12);
    let d = err("def f(x):\n    return math.sin(x, x)\n", &[Type::F64]);
    assert!(d.message.contains("takes 1 argument"), "{}", d.rendered);
}

#[test]
fn used_before_assignment() {
    let d = err(
        "def f(x):\n    y = z + 1\n    z = 2\n    return y\n",
        &[Type::I64],
    );
    assert!(d.message.contains("`z` is used before"), "{}", d.rendered);
}

#[test]
fn unsupported_global() {
    let mut e = env();
    e.0.insert(
        "name".into(),
        hypersonic_frontend::Global::Unsupported("a str object".into()),
    );
    let d = compile_with(&e, "def f(x):\n    return name\n", &[Type::I64]).unwrap_err();
    assert!(d.message.contains("is a str object"), "{}", d.rendered);
}

#[test]
fn syntax_error() {
    let d = err("def f(x):\n    return x +\n", &[Type::I64]);
    assert_eq!(d.kind, DiagnosticKind::Syntax);
    assert_eq!(d.line, 11);
}

#[test]
fn col_offset() {
    let mut s = src(1, "def f(x):\n    return foo\n");
    s.col_offset = 4;
    let d = hypersonic_frontend::compile(&s, &[Type::I64], None, &env(), &Default::default())
        .unwrap_err();
    assert_eq!((d.line, d.col), (11, 16));
    assert!(
        d.rendered.contains("11 |         return foo"),
        "{}",
        d.rendered
    );
}

#[test]
fn mixed_returns() {
    let d = err("def f(x):\n    if x > 0:\n        return 1\n", &[Type::I64]);
    assert!(d.message.contains("nothing on others"), "{}", d.rendered);
    let d = err(
        "def f(x):\n    if x > 0:\n        return\n    return 2\n",
        &[Type::I64],
    );
    assert!(
        d.message.contains("nothing on other paths") || d.message.contains("nothing on others"),
        "{}",
        d.rendered
    );
}

#[test]
fn wrong_argument_count_to_user_function() {
    let g = "def g(a, b):\n    return a + b\n";
    let mut e = env();
    e.0.insert("g".into(), hypersonic_frontend::Global::Function(src(5, g)));
    let d = compile_with(&e, "def f(x):\n    return g(x, x, x)\n", &[Type::I64]).unwrap_err();
    assert!(
        d.message.contains("takes 2 arguments but 3 were given"),
        "{}",
        d.rendered
    );
    assert_eq!((d.line, d.col), (11, 12));
}

#[test]
fn error_inside_callee_points_into_callee() {
    let mut g = src(5, "def g(a):\n    return a + undefined_thing\n");
    g.filename = "/other/mod.py".into();
    g.first_line = 40;
    let mut e = env();
    e.0.insert("g".into(), hypersonic_frontend::Global::Function(g));
    let d = compile_with(&e, "def f(x):\n    return g(x)\n", &[Type::I64]).unwrap_err();
    assert_eq!(d.filename, "/other/mod.py");
    assert_eq!(d.line, 41);
}
