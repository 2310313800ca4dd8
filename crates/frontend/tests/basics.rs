mod common;
use common::*;
use hypersonic_ir::{Scalar, Type};

#[test]
fn ragged_sum() {
    let c = ok(
        "def ragged_sum(X, jind):
    s = 0
    for i in range(jind.shape[0] - 1):
        for j in range(jind[i], jind[i + 1]):
            s += np.arctan(X[j] * i * j)
    return s
",
        &[arr(Scalar::F64, 1), arr(Scalar::I64, 1)],
    );
    assert_eq!(c.ret, Type::F64);
    assert!(
        c.annotated_source.contains("s: float64"),
        "{}",
        c.annotated_source
    );
    println!("{}", hypersonic_ir::printer::print_module(&c.module));
    println!("{}", c.annotated_source);
}

#[test]
fn accumulator_widens() {
    let c = ok(
        "def f(n):
    s = 0
    for i in range(n):
        s += 0.5
    return s
",
        &[Type::I64],
    );
    assert_eq!(c.ret, Type::F64);
}

#[test]
fn return_paths_unify() {
    let c = ok(
        "def f(x):
    if x > 0:
        return 1
    return 2.5
",
        &[Type::I64],
    );
    assert_eq!(c.ret, Type::F64);
    let c = ok(
        "def f(x):
    if x > 0:
        return 1
    else:
        return 2
",
        &[Type::I64],
    );
    assert_eq!(c.ret, Type::I64);
}

#[test]
fn no_return_is_none() {
    let c = ok(
        "def f(a):
    for i in range(a.shape[0]):
        a[i] = i * 2
",
        &[arr(Scalar::F64, 1)],
    );
    assert_eq!(c.ret, Type::None);
}

#[test]
fn mandelbrot() {
    let c = ok(
        "def mandel(x, y, max_iters):
    c = complex(x, y)
    z = 0.0j
    for i in range(max_iters):
        z = z * z + c
        if abs(z) > 2:
            return i
    return 255
",
        &[Type::F64, Type::F64, Type::I64],
    );
    assert_eq!(c.ret, Type::I64);
}

#[test]
fn recursion() {
    let text = "def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)
";
    let mut e = env();
    e.0.insert(
        "fib".into(),
        hypersonic_frontend::Global::Function(src(7, text)),
    );
    let c =
        hypersonic_frontend::compile(&src(7, text), &[Type::I64], None, &e, &Default::default())
            .unwrap_or_else(|d| panic!("{}", d.rendered));
    assert_eq!(c.ret, Type::I64);
    assert_eq!(c.module.functions.len(), 1);
}

#[test]
fn mutual_recursion_and_calls() {
    let even = "def is_even(n):
    if n == 0:
        return True
    return is_odd(n - 1)
";
    let odd = "def is_odd(n):
    if n == 0:
        return False
    return is_even(n - 1)
";
    let helper = "def helper(x, y=2):
    return x * y + 0.5
";
    let main = "def main(n):
    return is_even(n), helper(n), helper(n, y=3.0)
";
    let mut e = env();
    e.0.insert(
        "is_even".into(),
        hypersonic_frontend::Global::Function(src(1, even)),
    );
    e.0.insert(
        "is_odd".into(),
        hypersonic_frontend::Global::Function(src(2, odd)),
    );
    e.0.insert(
        "helper".into(),
        hypersonic_frontend::Global::Function(src(3, helper)),
    );
    let c =
        hypersonic_frontend::compile(&src(4, main), &[Type::I64], None, &e, &Default::default())
            .unwrap_or_else(|d| panic!("{}", d.rendered));
    assert_eq!(c.ret, Type::Tuple(vec![Type::BOOL, Type::F64, Type::F64]));
}

#[test]
fn no_base_case() {
    let text = "def g(n):
    return g(n - 1)
";
    let mut e = env();
    e.0.insert(
        "g".into(),
        hypersonic_frontend::Global::Function(src(9, text)),
    );
    let d =
        hypersonic_frontend::compile(&src(9, text), &[Type::I64], None, &e, &Default::default())
            .unwrap_err();
    assert!(d.message.contains("recursive"), "{}", d.rendered);
}

#[test]
fn many_constructs() {
    let c = ok(
        "def f(a, t, x):
    n = len(a)
    b, cc = t
    b, cc = cc, b
    k = 0
    while k < 10:
        k += 1
        if k == 3:
            continue
        if k > 8:
            break
    else:
        k = -1
    for i in range(n - 1, -1, -1):
        a[i] += x
    for v in a:
        x = x + v
    for i, v in enumerate(a):
        x += i * v
    y = x if x > 0 else -x
    z = 1 < x < 3
    w = k or 2.5
    m = max(1, 2.5, k)
    q = min(t)
    r = x // 3 + x % 3 + 7 // 2 + 2 ** 3 + x ** 0.5
    s = math.floor(x) + round(x) + int(x)
    u = np.float32(x) * np.float32(2)
    assert n >= 0, \"negative\"
    if n > 100:
        raise ValueError(\"too big\")
    return y, z, w, m, q, r, s, u, t[-1], a.shape, a.ndim, a.size
",
        &[
            arr(Scalar::F64, 1),
            Type::Tuple(vec![Type::I64, Type::I64]),
            Type::F64,
        ],
    );
    println!("{}", c.annotated_source);
}

#[test]
fn two_d_arrays_and_views() {
    ok(
        "def f(a):
    s = 0.0
    for row in a:
        for v in row:
            s += v
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            s += a[i, j] + a[i][j] + a[-1, -1]
    return s
",
        &[arr(Scalar::F32, 2)],
    );
}

#[test]
fn runtime_step_and_tuple_index() {
    ok(
        "def f(t, step, i):
    s = 0
    for k in range(0, 10, step):
        s += t[i]
    for v in t:
        s += v
    return s
",
        &[
            Type::Tuple(vec![Type::I64, Type::I64, Type::I64]),
            Type::I64,
            Type::I64,
        ],
    );
}

#[test]
fn error_models_and_boundscheck() {
    use hypersonic_frontend::{compile, ErrorModel, Options};
    let text = "def f(a, x, y):
    return a[x] / y + x // y
";
    let args = [arr(Scalar::F64, 1), Type::I64, Type::I64];
    let py = compile(&src(1, text), &args, None, &env(), &Options::default()).unwrap();
    assert!(py
        .module
        .exceptions
        .iter()
        .any(|e| e.class == "ZeroDivisionError"));
    assert!(!py.module.exceptions.iter().any(|e| e.class == "IndexError"));
    let np = compile(
        &src(1, text),
        &args,
        None,
        &env(),
        &Options {
            error_model: ErrorModel::Numpy,
            boundscheck: true,
            ..Options::default()
        },
    )
    .unwrap();
    assert!(!np
        .module
        .exceptions
        .iter()
        .any(|e| e.class == "ZeroDivisionError"));
    assert!(np.module.exceptions.iter().any(|e| e.class == "IndexError"));
}

#[test]
fn eager_return_type() {
    use hypersonic_frontend::{compile, Options};
    let text = "def f(x):\n    return x * 2\n";
    let c = compile(
        &src(1, text),
        &[Type::I64],
        Some(&Type::F64),
        &env(),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(c.ret, Type::F64);
    assert_eq!(c.module.function(c.module.entry).ret, Type::F64);
}

#[test]
fn complex_ops_and_annotations() {
    let c = ok(
        "def f(z, w):
    a = z * w + z / w - z ** 2
    b = a.real + a.imag + abs(a.conjugate())
    e = z == w
    return b, e
",
        &[Type::Scalar(Scalar::C128), Type::Scalar(Scalar::C64)],
    );
    assert!(
        c.annotated_source.contains("a: complex128"),
        "{}",
        c.annotated_source
    );
    assert!(
        c.annotated_source.contains("b: float64"),
        "{}",
        c.annotated_source
    );
}

#[test]
fn math_and_numpy_calls() {
    ok(
        "def f(x, y, i):
    r = math.sin(x) + math.log(x, 2) + math.atan2(x, y) + math.hypot(x, i) + math.ldexp(x, i)
    r += np.exp2(x) + np.sign(x) + np.minimum(x, i) + np.square(i) + np.deg2rad(x)
    r += math.pi + np.inf * 0 + math.degrees(i) + np.rint(x) + np.power(x, 2)
    k = math.floor(x) + math.ceil(y) + math.trunc(x) + pow(i, 3) + abs(i)
    q, m = divmod(i, 7)
    b = math.isnan(x) or np.isfinite(y)
    s = np.sqrt(y) + np.float64(i) + float(i) + int(x) + complex(x, y).real
    return r, k, q, m, b, s, round(x, 2)
",
        &[
            Type::Scalar(Scalar::F32),
            Type::F64,
            Type::Scalar(Scalar::I32),
        ],
    );
}
