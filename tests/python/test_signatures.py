"""Specialisation, introspection, and eager (declared) signatures."""

import numpy as np
import pytest

from harness import (check, float32, float64, hypersonic_only, int32, int64, jit, njit,
                     random_array, uint64)


def add(a, b):
    return a + b


# --- specialisation ---------------------------------------------------------------------


def test_signatures_grow_per_new_type_set():
    f = njit(add)
    assert f.signatures == []
    assert f(1, 2) == 3
    assert len(f.signatures) == 1
    assert f(5, 7) == 12  # same types: reuses the compiled code
    assert len(f.signatures) == 1
    assert f(1.5, 2.25) == 3.75
    assert len(f.signatures) == 2
    assert f(np.int32(1), np.int32(2)) == 3
    assert len(f.signatures) == 3
    assert f(1, 2.5) == 3.5
    assert len(f.signatures) == 4
    assert f(2.0, 0.5) == 2.5
    assert len(f.signatures) == 4
    assert (int64, int64) in f.signatures
    assert (float64, float64) in f.signatures
    assert (int32, int32) in f.signatures
    assert (int64, float64) in f.signatures


def test_array_layouts_are_distinct_specialisations():
    def first(a):
        return a[0, 0]

    f = njit(first)
    a = random_array((3, 4), np.float64, seed=90)
    assert f(a) == a[0, 0]
    n = len(f.signatures)
    assert f(a + 1) == a[0, 0] + 1
    assert len(f.signatures) == n
    assert f(a[::2, ::2]) == a[0, 0]  # a non-contiguous view
    assert f(np.asfortranarray(a)) == a[0, 0]
    assert f(a.astype(np.float32)) == np.float32(a[0, 0])
    assert len(f.signatures) >= n + 2


def test_py_func():
    f = njit(add)
    assert f.py_func is add
    assert f.py_func(2, 3) == 5
    assert f.py_func([1], [2]) == [1, 2]  # the plain Python function, not compiled


def test_inspect_types(capsys):
    f = njit(add)
    f(1, 2)
    returned = f.inspect_types()
    text = capsys.readouterr().out + (returned if isinstance(returned, str) else "")
    assert "add" in text
    assert "int64" in text


def test_inspect_llvm():
    f = njit(add)
    f(1, 2)
    f(1.0, 2.0)
    ir = f.inspect_llvm()
    assert isinstance(ir, dict)
    assert set(ir) == set(f.signatures)
    for sig, text in ir.items():
        assert isinstance(text, str)
        assert "define" in text
    assert "fadd" in ir[(float64, float64)]
    assert "add " in ir[(int64, int64)] or "add nsw" in ir[(int64, int64)]


def test_inspect_asm():
    f = njit(add)
    f(1, 2)
    asm = f.inspect_asm()
    assert isinstance(asm, dict)
    assert set(asm) == set(f.signatures)
    text = asm[(int64, int64)]
    assert isinstance(text, str)
    assert "ret" in text


# --- eager signatures ------------------------------------------------------------------------


def test_eager_signature_object():
    def div(a, b):
        return a / b

    f = njit(float32(int32, int32))(div)
    assert len(f.signatures) == 1  # compiled at decoration
    got = f(1, 3)
    assert isinstance(got, float)
    assert got == pytest.approx(float(np.float32(1 / 3)), rel=0, abs=0)
    assert got != 1 / 3  # single precision


def test_eager_decorator_form():
    @njit(int64(int64, int64))
    def mul(a, b):
        return a * b

    assert len(mul.signatures) == 1
    assert mul(6, 7) == 42
    assert mul(6.9, 7.9) == 42  # floats are converted to the declared int64, as in Numba
    assert len(mul.signatures) == 1  # ... without compiling anything new


def test_int32_signature_wraps_arguments():
    @njit(int32(int32, int32))
    def f(a, b):
        return a + b

    assert f(2**31, 2**31 + 1) == 1
    assert f(2, 3) == 5
    assert f(2**31 - 1, 1) == -(2**31)


def test_list_of_signatures():
    def twice(x):
        return x * 2

    f = njit([int64(int64), float64(float64)])(twice)
    assert len(f.signatures) == 2
    got_i = f(21)
    got_f = f(1.25)
    assert got_i == 42 and isinstance(got_i, int)
    assert got_f == 2.5 and isinstance(got_f, float)


def test_jit_with_tuple_signature_without_return_type():
    @jit([(int64[:], int64, int64[:])], nopython=True)
    def axpy(x, k, out):
        for i in range(x.shape[0]):
            out[i] = k * x[i] + out[i]

    assert len(axpy.signatures) == 1
    x = random_array(10, np.int64, seed=91)
    out = random_array(10, np.int64, seed=92)
    expected = 3 * x + out
    assert axpy(x, 3, out) is None
    np.testing.assert_array_equal(out, expected)


def test_string_signature():
    @njit("float64(float64, uint64)")
    def f(x, n):
        return x * n + 0.5

    assert len(f.signatures) == 1
    assert f(1.5, 4) == 6.5
    assert f(2.0, np.uint64(3)) == 6.5
    g = njit("int64(int64[:])")(lambda_free_sum)
    assert g(np.arange(10, dtype=np.int64)) == 45


def lambda_free_sum(a):
    s = 0
    for x in a:
        s += x
    return s


def test_array_type_c_contiguous_2d():
    @njit(float64(float64[:, ::1]))
    def total(a):
        s = 0.0
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                s += a[i, j]
        return s

    a = random_array((4, 5), np.float64, seed=93)
    assert total(a) == pytest.approx(a.sum(), rel=1e-14)
    with pytest.raises(TypeError):
        total(np.asfortranarray(a))  # declared C-contiguous
    with pytest.raises(TypeError):
        total(a[:, ::2])


def test_array_type_any_layout_accepts_views():
    @njit(float64(float64[:, :]))
    def corner(a):
        return a[0, 0] + a[-1, -1]

    a = random_array((6, 6), np.float64, seed=94)
    for view in (a, a.T, a[::2, 1::2], np.asfortranarray(a)):
        assert corner(view) == view[0, 0] + view[-1, -1]


def test_arguments_that_fit_no_signature_raise_type_error():
    @njit([int64(int64[:]), float64(float64[:])])
    def first(a):
        return a[0]

    with pytest.raises(TypeError):
        first(np.zeros((2, 2)))
    with pytest.raises(TypeError):
        first(np.zeros(3, dtype=np.complex128))
    assert first(np.arange(3.0) + 1) == 1.0


@hypersonic_only("Numba's message names the argument types, not the declared signatures")
def test_no_matching_signature_message_lists_signatures():
    @njit([int64(int64[:]), float64(float64[:])])
    def first(a):
        return a[0]

    with pytest.raises(TypeError) as excinfo:
        first(np.zeros((2, 2)))
    msg = str(excinfo.value)
    # The argument is a float64 array: "int64" can only come from the listed signatures.
    assert "int64" in msg
    assert msg.count("float64") >= 2


def test_eager_compiled_function_is_checked_against_cpython():
    @njit([float64(float64, float64), int64(int64, int64)])
    def mix(a, b):
        return (a - b) * (a + b) // 3

    for a, b in [(7, 2), (-5, 9)]:
        check(mix.py_func, a, b, cfunc=mix)
    for a, b in [(7.5, 2.0), (-5.25, 9.0)]:
        check(mix.py_func, a, b, cfunc=mix)
