mod common;
use common::*;
use hypersonic_ir::{Scalar, Type};

/// Odd inputs must give diagnostics (or code), never panics.
#[test]
fn odd_inputs_do_not_panic() {
    let cases = [
        "",
        "x = 1\n",
        "def f(x):\n",
        "def f(x):\n    for v in ():\n        pass\n    return x\n",
        "def f(x):\n    return min(())\n",
        "def f(x):\n    return x[()]\n",
        "def f(x, x):\n    return x\n",
        "def f(x):\n    raise ValueError\n",
        "def f(x):\n    return\n",
        "def f(x):\n    if x:\n        return 1\n",
        "def f(x):\n    while True:\n        return 1\n",
        "def f(x):\n    y = (1, 2.0)\n    return y[x]\n",
        "def f(x):\n    a, b = x\n    return a\n",
        "def f(x):\n    x[0] = 1\n",
        "def f(*a):\n    return 1\n",
        "def f(x):\n    return f\n",
        "def f(x):\n    print(x)\n",
        "def f(x):\n    return x is None\n",
        "def f(x):\n    return 99999999999999999999999\n",
        "def f(x):\n    return np.foo(x)\n",
        "def f(x):\n    return math.sin(1j)\n",
        "def f(x):\n    return 1 < 2j\n",
        "def f(x):\n    y: int = 3\n    return y << 2.0\n",
    ];
    for text in cases {
        let _ = compile_with(&env(), text, &[Type::I64]);
        let _ = compile_with(&env(), text, &[arr(Scalar::F64, 0)]);
        let _ = compile_with(&env(), text, &[Type::Tuple(vec![])]);
    }
}
