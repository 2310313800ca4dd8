"""NumPy arrays of every dtype and layout, buffer-protocol objects, attributes,
indexing and writes in place."""

import array

import numpy as np
import pytest

from harness import (ALL_DTYPES, COMPLEX_DTYPES, FLOAT_DTYPES, INT_DTYPES, check, layouts, njit,
                     random_array)


def _rtol(dtype):
    return 1e-5 if np.dtype(dtype) in (np.float32, np.complex64) else 1e-12


def sum_1d(a):
    s = 0
    for i in range(a.shape[0]):
        s += int(a[i])
    return s


def sum_1d_float(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i]
    return s


def sum_1d_complex(a):
    s = 0j
    for i in range(a.shape[0]):
        s += a[i] * (i + 1)
    return s


def _summer(dtype):
    kind = np.dtype(dtype).kind
    return {"b": sum_1d, "i": sum_1d, "u": sum_1d, "f": sum_1d_float, "c": sum_1d_complex}[kind]


def one_d_views(a):
    return {"contiguous": a, "step2": a[::2], "reversed": a[::-1], "step-3": a[-2::-3],
            "single": a[3:4], "empty": a[:0]}


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
def test_1d_every_dtype_and_view(dtype):
    f = _summer(dtype)
    cf = njit(f)
    base = random_array(37, dtype, seed=50)
    for name, a in one_d_views(base).items():
        check(f, a, cfunc=cf, rtol=_rtol(dtype))


def sum_2d(a):
    s = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            s += a[i, j] * (i + 2 * j + 1)
    return s


def sum_2d_int(a):
    s = 0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            s += int(a[i, j]) * (i + 2 * j + 1)
    return s


def sum_2d_complex(a):
    s = 0j
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            s += a[i, j] * (i + 2 * j + 1)
    return s


@pytest.mark.parametrize("dtype", INT_DTYPES + FLOAT_DTYPES + COMPLEX_DTYPES,
                         ids=lambda d: np.dtype(d).name)
def test_2d_every_layout(dtype):
    f = {"i": sum_2d_int, "u": sum_2d_int, "f": sum_2d, "c": sum_2d_complex}[np.dtype(dtype).kind]
    cf = njit(f)
    base = random_array((9, 14), dtype, seed=51)
    for name, a in layouts(base).items():
        check(f, a, cfunc=cf, rtol=_rtol(dtype))


def test_3d_and_4d():
    def total(a):
        s = 0.0
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                for k in range(a.shape[2]):
                    s += a[i, j, k] * (i - j + 2 * k)
        return s

    def total4(a):
        s = 0
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                for k in range(a.shape[2]):
                    for m in range(a.shape[3]):
                        s += a[i, j, k, m] * (i + 1) * (m + 1)
        return s

    cf = njit(total)
    base = random_array((4, 5, 6), np.float64, seed=52)
    for a in (base, np.asfortranarray(base), base.transpose(2, 0, 1), base[::-1, 1::2, ::3],
              base[:, :0]):
        check(total, a, cfunc=cf)
    cf = njit(total4)
    b4 = random_array((2, 3, 4, 5), np.int64, seed=53)
    for a in (b4, b4.transpose(3, 1, 2, 0), b4[:, ::2, ::-1]):
        check(total4, a, cfunc=cf)


def test_attributes():
    def attrs(a):
        return a.shape, a.ndim, a.size, a.strides

    def attrs1(a):
        return a.shape[0], a.ndim, a.size, a.strides[0], len(a)

    cf = njit(attrs)
    base = random_array((6, 10), np.float64, seed=54)
    for name, a in layouts(base).items():
        check(attrs, a, cfunc=cf)
    cf = njit(attrs1)
    for dtype in (np.int8, np.int32, np.float64, np.complex128):
        base = random_array(20, dtype, seed=55)
        for name, a in one_d_views(base).items():
            check(attrs1, a, cfunc=cf)
    cf = njit(attrs)
    base3 = random_array((3, 4, 5), np.int16, seed=56)
    check(attrs, base3, cfunc=cf)
    check(attrs, base3[::-1, :, ::2], cfunc=cf)
    check(attrs, np.zeros((0, 4, 2), dtype=np.int16), cfunc=cf)


def test_indexing_with_negative_indices():
    def corners(a):
        return a[0, 0], a[0, -1], a[-1, 0], a[-1, -1], a[-2, 1]

    def chained(a, i, j):
        return a[i][j], a[i, j], a[-i - 1][-j - 1]

    cf = njit(corners)
    base = random_array((5, 7), np.int64, seed=57)
    for name, a in layouts(base).items():
        if a.size and a.shape[0] >= 2 and a.shape[1] >= 2:
            check(corners, a, cfunc=cf)
    cf = njit(chained)
    for name, a in layouts(random_array((5, 7), np.float64, seed=58)).items():
        if a.size:
            for i in range(a.shape[0]):
                for j in range(a.shape[1]):
                    check(chained, a, i, j, cfunc=cf)


def test_negative_index_1d():
    def f(a, i):
        return a[-1] + a[-i]

    cf = njit(f)
    a = random_array(10, np.float64, seed=59)
    for i in range(1, 11):
        check(f, a, i, cfunc=cf)
    check(f, a[::-2], 3, cfunc=cf)


# --- writes in place ----------------------------------------------------------------


def fill_1d(a, start):
    for i in range(a.shape[0]):
        a[i] = start + i * 3


def scale_2d(a, k):
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            a[i, j] = a[i, j] * k + i - j


def write_rows(a):
    for i in range(a.shape[0]):
        row = a[i]
        for j in range(a.shape[1]):
            row[j] = i * 100 + j
    a[-1][-1] = -5


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.uint16, np.int64, np.float32,
                                   np.float64], ids=lambda d: np.dtype(d).name)
def test_write_1d_in_place_no_copy(dtype):
    cf = njit(fill_1d)
    base = random_array(21, dtype, seed=60)
    for name, view in one_d_views(base).items():
        before = base.copy()
        check(fill_1d, view, 2, cfunc=cf)  # CPython and compiled agree on copies
        result = cf(view, 2)  # now on the caller's own array
        assert result is None
        expected_view = np.array([2 + 3 * i for i in range(view.shape[0])]).astype(dtype)
        np.testing.assert_array_equal(view, expected_view)
        # Only the elements the view covers changed in the underlying array.
        changed = base != before
        mask = np.zeros(base.shape, dtype=bool)
        mask_view = mask[::2] if name == "step2" else None
        if name == "contiguous":
            mask[:] = True
        elif name == "step2":
            mask_view[:] = True
        elif name == "reversed":
            mask[:] = True
        elif name == "step-3":
            mask[-2::-3] = True
        elif name == "single":
            mask[3:4] = True
        assert not (changed & ~mask).any(), f"{name}: wrote outside the view"


def test_write_2d_in_place_every_layout():
    cf = njit(scale_2d)
    for name in ["C", "F", "T", "strided", "reversed", "empty-rows", "empty-cols"]:
        base = random_array((8, 12), np.float64, seed=61)
        view = layouts(base)[name]
        expected = view * 1.5 + np.arange(view.shape[0])[:, None] - np.arange(view.shape[1])
        check(scale_2d, view, 1.5, cfunc=cf)
        before_ptr = view.__array_interface__["data"][0]
        cf(view, 1.5)
        assert view.__array_interface__["data"][0] == before_ptr
        np.testing.assert_allclose(view, expected, rtol=1e-15)
    # Writing through a view changes the array it views.
    base = random_array((8, 12), np.float64, seed=62)
    orig = base.copy()
    cf(base.T, 2.0)
    np.testing.assert_allclose(base, (orig.T * 2.0 + np.arange(12)[:, None] - np.arange(8)).T)


def test_write_through_row_views():
    cf = njit(write_rows)
    for dtype in (np.int64, np.float64):
        base = random_array((4, 6), dtype, seed=63)
        for name in ["C", "F", "strided"]:
            check(write_rows, layouts(base)[name], cfunc=cf)
        a = np.zeros((3, 4), dtype=dtype)
        a[:] = 7
        cf(a)
        assert a[2, 3] == -5 and a[1, 2] == 102 and a[0, 0] == 0


def test_stencil_into_output_array():
    def laplacian(src, dst):
        n, m = src.shape
        for i in range(1, n - 1):
            for j in range(1, m - 1):
                dst[i, j] = src[i - 1, j] + src[i + 1, j] + src[i, j - 1] + src[i, j + 1] \
                    - 4.0 * src[i, j]

    cf = njit(laplacian)
    src = random_array((15, 11), np.float64, seed=64)
    for name in ["C", "F", "T"]:
        s = layouts(src)[name]
        d = np.zeros_like(s)
        check(laplacian, s, d, cfunc=cf)


def test_bool_array_read_and_write():
    def f(mask, a):
        c = 0
        for i in range(mask.shape[0]):
            if mask[i]:
                c += 1
            a[i] = not mask[i]
        return c

    cf = njit(f)
    m = random_array(30, np.bool_, seed=65)
    check(f, m, np.zeros(30, dtype=np.bool_), cfunc=cf)
    check(f, m[::-1], np.zeros(30, dtype=np.bool_), cfunc=cf)


def test_complex_array_writes():
    def rotate(a, w):
        for i in range(a.shape[0]):
            a[i] = a[i] * w + a[i].conjugate()

    for dtype in COMPLEX_DTYPES:
        cf = njit(rotate)
        a = random_array(13, dtype, seed=66)
        check(rotate, a, 0.5 + 0.5j, cfunc=cf, rtol=_rtol(dtype))


def test_value_converted_on_store():
    def store(a, x):
        for i in range(a.shape[0]):
            a[i] = x * (i + 1)

    for dtype in (np.int32, np.int16, np.float32):
        cf = njit(store)
        check(store, np.zeros(6, dtype=dtype), 3, cfunc=cf, rtol=1e-6)
    cf = njit(store)
    a = np.zeros(5, dtype=np.int64)
    cf(a, 2.75)  # float stored into an int array truncates
    np.testing.assert_array_equal(a, (2.75 * np.arange(1, 6)).astype(np.int64))


def test_zero_length_arrays():
    def f(a):
        s = 0.0
        for x in a:
            s += x
        n = 0
        for i in range(a.shape[0]):
            n += 1
        return s, n, a.size

    cf = njit(f)
    for a in (np.zeros(0), np.ones(5)[5:], np.ones(10)[::-1][:0]):
        check(f, a, cfunc=cf)


# --- buffer protocol -----------------------------------------------------------------


def buf_sum(a):
    s = 0
    for i in range(len(a)):
        s += a[i] * (i + 1)
    return s


def buf_iter(a):
    s = 0
    for x in a:
        s += x
    return s


def buf_double(a):
    for i in range(len(a)):
        a[i] = a[i] * 2


def test_array_array_as_1d_array():
    cf = njit(buf_sum)
    vals = [int(v) for v in random_array(25, np.int64, seed=67)]
    arr = array.array("l", vals)
    check(buf_sum, arr, cfunc=cf)
    check(buf_sum, array.array("l"), cfunc=cf)
    cf = njit(buf_sum)
    check(buf_sum, array.array("d", [float(v) / 3 for v in vals]), cfunc=cf)
    cf = njit(buf_iter)
    check(buf_iter, arr, cfunc=cf)


def test_array_array_written_in_place():
    cf = njit(buf_double)
    arr = array.array("l", [1, -2, 3, 40, -50])
    check(buf_double, arr, cfunc=cf)
    cf(arr)
    assert arr.tolist() == [2, -4, 6, 80, -100]
    cf2 = njit(buf_double)
    darr = array.array("d", [0.5, -1.25])
    cf2(darr)
    assert darr.tolist() == [1.0, -2.5]


def test_memoryview_as_1d_array():
    cf = njit(buf_sum)
    a = random_array(17, np.float64, seed=68)
    check(buf_sum, memoryview(a), cfunc=cf)
    cf = njit(buf_sum)
    check(buf_sum, memoryview(array.array("l", [3, 1, 4, 1, 5, 9, 2, 6])), cfunc=cf)
    cf = njit(buf_double)
    target = np.arange(6, dtype=np.float64)
    cf(memoryview(target))
    np.testing.assert_array_equal(target, np.arange(6) * 2.0)
