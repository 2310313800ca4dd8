"""Device arrays: to_device / copy_to_host round trips, device_array(_like),
shapes and dtypes, slicing, host arrays passed to kernels."""

import numpy as np
import pytest

from cuda_harness import blocks_for, cuda, hypersonic_only, random_array

DTYPES = [np.int8, np.uint8, np.int16, np.int32, np.uint32, np.int64, np.uint64,
          np.float32, np.float64, np.complex64, np.complex128, np.bool_]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(7,), (4, 5), (2, 3, 4)], ids=str)
def test_round_trip(device, dtype, shape):
    a = random_array(shape, dtype, seed=len(shape))
    d = cuda.to_device(a)
    assert d.shape == a.shape
    assert d.dtype == a.dtype
    assert d.size == a.size
    assert d.ndim == a.ndim
    back = d.copy_to_host()
    assert isinstance(back, np.ndarray)
    np.testing.assert_array_equal(back, a)
    out = np.zeros_like(a)
    d.copy_to_host(out)
    np.testing.assert_array_equal(out, a)


def test_round_trip_fortran_order(device):
    a = np.asfortranarray(random_array((6, 5), np.float64, seed=1))
    d = cuda.to_device(a)
    np.testing.assert_array_equal(d.copy_to_host(), a)


def test_copy_to_device_overwrites(device):
    a = random_array(50, np.float32, seed=2)
    b = random_array(50, np.float32, seed=3)
    d = cuda.to_device(a)
    d.copy_to_device(b)
    np.testing.assert_array_equal(d.copy_to_host(), b)


def test_device_array_and_like(device):
    d = cuda.device_array((3, 4), dtype=np.int32)
    assert d.shape == (3, 4) and d.dtype == np.int32
    a = random_array((5, 6), np.float32, seed=4)
    like = cuda.device_array_like(a)
    assert like.shape == a.shape and like.dtype == a.dtype
    like.copy_to_device(a)
    np.testing.assert_array_equal(like.copy_to_host(), a)


@cuda.jit
def fill_index(out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = i * 3 + 1


def test_device_array_written_by_kernel(device):
    d = cuda.device_array(300, dtype=np.int64)
    fill_index[blocks_for(300, 128), 128](d)
    np.testing.assert_array_equal(d.copy_to_host(), np.arange(300) * 3 + 1)


def test_slicing(device):
    a = random_array((8, 10), np.float64, seed=5)
    d = cuda.to_device(a)
    np.testing.assert_array_equal(d[2:5].copy_to_host(), a[2:5])
    np.testing.assert_array_equal(d[3].copy_to_host(), a[3])
    np.testing.assert_array_equal(d[:, 4:9].copy_to_host(), a[:, 4:9])
    assert d[1, 2] == a[1, 2]


@cuda.jit
def double(a):
    i = cuda.grid(1)
    if i < a.shape[0]:
        a[i] *= 2


def test_kernel_on_a_slice(device):
    a = random_array(100, np.float64, seed=6)
    d = cuda.to_device(a)
    double[1, 128](d[10:40])
    want = a.copy()
    want[10:40] *= 2
    np.testing.assert_array_equal(d.copy_to_host(), want)


def test_setitem(device):
    a = random_array(20, np.int32, seed=7)
    d = cuda.to_device(a)
    d[3:6] = 99
    a[3:6] = 99
    np.testing.assert_array_equal(d.copy_to_host(), a)


@cuda.jit
def axpy_host(a, x, y):
    i = cuda.grid(1)
    if i < y.shape[0]:
        y[i] += a * x[i]


def test_host_arrays_are_copied_back(device):
    x = random_array(1000, np.float64, seed=8)
    y = random_array(1000, np.float64, seed=9)
    want = y + 2.5 * x
    axpy_host[blocks_for(1000, 256), 256](2.5, x, y)
    np.testing.assert_allclose(y, want, rtol=1e-15)


def test_mixing_host_and_device_arrays(device):
    x = random_array(500, np.float32, seed=10)
    y = random_array(500, np.float32, seed=11)
    d_y = cuda.to_device(y)
    axpy_host[blocks_for(500, 128), 128](np.float32(2.0), x, d_y)
    np.testing.assert_allclose(d_y.copy_to_host(), y + np.float32(2.0) * x, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float32, np.float64, np.uint32],
                         ids=lambda d: np.dtype(d).name)
def test_kernel_on_each_dtype(device, dtype):
    a = random_array(257, dtype, seed=12, low=0, high=50)
    d = cuda.to_device(a)
    double[blocks_for(257, 64), 64](d)
    np.testing.assert_array_equal(d.copy_to_host(), a * 2)


@cuda.jit
def sum_rows(m, out):
    i = cuda.grid(1)
    if i < m.shape[0]:
        s = 0.0
        for j in range(m.shape[1]):
            s += m[i, j]
        out[i] = s


@hypersonic_only("Numba refuses to transfer a non-contiguous host array")
def test_non_contiguous_host_array(device):
    base = random_array((30, 20), np.float64, seed=13)
    view = base[::2, ::3]
    out = np.zeros(view.shape[0])
    sum_rows[1, 32](view, out)
    np.testing.assert_allclose(out, view.sum(axis=1), rtol=1e-12)


def test_fortran_order_device_array(device):
    base = random_array((30, 20), np.float64, seed=13)
    fortran = np.asfortranarray(base)
    out2 = np.zeros(30)
    sum_rows[1, 32](cuda.to_device(fortran), out2)
    np.testing.assert_allclose(out2, base.sum(axis=1), rtol=1e-12)


def test_contiguous_device_arrays_fit_contiguous_signatures(device):
    # A C-contiguous device array is a `float32[::1]` (and a transposed one a
    # Fortran-ordered 2-D array), as in Numba: eager contiguous signatures accept them.
    @cuda.jit("void(float32[::1], float32[::1])")
    def twice(a, out):
        i = cuda.grid(1)
        if i < a.shape[0]:
            out[i] = 2 * a[i]

    a = random_array(300, np.float32, seed=11)
    d_out = cuda.device_array_like(a)
    twice[blocks_for(300, 128), 128](cuda.to_device(a), d_out)
    np.testing.assert_array_equal(d_out.copy_to_host(), 2 * a)

    @cuda.jit("void(float64[::1, :], float64[::1, :])")
    def copy_f(a, out):
        i, j = cuda.grid(2)
        if i < a.shape[0] and j < a.shape[1]:
            out[i, j] = a[i, j]

    m = random_array((5, 7), np.float64, seed=12)
    d_m = cuda.to_device(m).T
    d_o = cuda.device_array((7, 5), np.float64, order="F")
    copy_f[(1, 1), (8, 8)](d_m, d_o)
    np.testing.assert_array_equal(d_o.copy_to_host(), m.T)


def test_layout_matches_numpy_contiguity():
    # The launch path judges C/F/A layout without NumPy; compare with NumPy's flags.
    from hypersonic.cuda.devicearray import _layout_of

    base = np.arange(4 * 5 * 6, dtype=np.float64).reshape(4, 5, 6)
    views = [base, base.T, base[:, ::2], base[1:2], base[:, :1, :], base[..., :0],
             np.asfortranarray(base), base.transpose(1, 0, 2), base[::-1], base[0], base[:, 0, :1],
             np.empty((3, 1)), np.empty((1, 3)).T, np.empty(7)[::3], np.empty((2, 0, 3))]
    for v in views:
        want = "C" if v.flags.c_contiguous else "F" if v.flags.f_contiguous else "A"
        assert _layout_of(v.shape, v.strides, v.itemsize) == want, (v.shape, v.strides)
