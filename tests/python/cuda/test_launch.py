"""Launch configurations, thread geometry, forall, streams, events,
synchronize, detect and is_available."""

import io
import contextlib

import numpy as np
import pytest

from cuda_harness import IS_NUMBA, SIMULATOR, blocks_for, cuda, random_array


@cuda.jit
def geometry_1d(out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i, 0] = cuda.threadIdx.x
        out[i, 1] = cuda.blockIdx.x
        out[i, 2] = cuda.blockDim.x
        out[i, 3] = cuda.gridDim.x
        out[i, 4] = cuda.gridsize(1)
        out[i, 5] = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x


@pytest.mark.parametrize("n,tpb", [(1, 1), (100, 32), (1000, 128), (129, 64)])
def test_1d_geometry(device, n, tpb):
    out = np.full((n, 6), -1, dtype=np.int64)
    blocks = blocks_for(n, tpb)
    d = cuda.to_device(out)
    geometry_1d[blocks, tpb](d)
    got = d.copy_to_host()
    i = np.arange(n)
    np.testing.assert_array_equal(got[:, 0], i % tpb)
    np.testing.assert_array_equal(got[:, 1], i // tpb)
    np.testing.assert_array_equal(got[:, 2], tpb)
    np.testing.assert_array_equal(got[:, 3], blocks)
    np.testing.assert_array_equal(got[:, 4], blocks * tpb)
    np.testing.assert_array_equal(got[:, 5], i)


@cuda.jit
def index_2d(out):
    x, y = cuda.grid(2)
    if x < out.shape[0] and y < out.shape[1]:
        out[x, y] = x * 1000 + y


@cuda.jit
def geometry_2d(out):
    x, y = cuda.grid(2)
    w, h = cuda.gridsize(2)
    if x < out.shape[0] and y < out.shape[1]:
        out[x, y, 0] = cuda.threadIdx.x + 100 * cuda.threadIdx.y
        out[x, y, 1] = cuda.blockIdx.x + 100 * cuda.blockIdx.y
        out[x, y, 2] = cuda.blockDim.x + 100 * cuda.blockDim.y
        out[x, y, 3] = cuda.gridDim.x + 100 * cuda.gridDim.y
        out[x, y, 4] = w + 1000 * h


@pytest.mark.parametrize("shape,block", [((5, 7), (2, 3)), ((33, 17), (16, 8)), ((1, 40), (1, 32))])
def test_2d_grid(device, shape, block):
    grid = (blocks_for(shape[0], block[0]), blocks_for(shape[1], block[1]))
    out = np.zeros(shape, dtype=np.int64)
    index_2d[grid, block](out)  # a host array: written back after the launch
    x, y = np.indices(shape)
    np.testing.assert_array_equal(out, x * 1000 + y)
    geo = cuda.to_device(np.zeros(shape + (5,), dtype=np.int64))
    geometry_2d[grid, block](geo)
    g = geo.copy_to_host()
    np.testing.assert_array_equal(g[..., 0], (x % block[0]) + 100 * (y % block[1]))
    np.testing.assert_array_equal(g[..., 1], (x // block[0]) + 100 * (y // block[1]))
    np.testing.assert_array_equal(g[..., 2], block[0] + 100 * block[1])
    np.testing.assert_array_equal(g[..., 3], grid[0] + 100 * grid[1])
    np.testing.assert_array_equal(g[..., 4], grid[0] * block[0] + 1000 * grid[1] * block[1])


@cuda.jit
def index_3d(out):
    x, y, z = cuda.grid(3)
    if x < out.shape[0] and y < out.shape[1] and z < out.shape[2]:
        out[x, y, z] = x * 10000 + y * 100 + z + 1000000 * (
            cuda.threadIdx.z + cuda.blockDim.z * cuda.blockIdx.z - z)  # z, recomputed: 0


@cuda.jit
def gridsize_3d(out):
    a, b, c = cuda.gridsize(3)
    if cuda.grid(1) == 0 and cuda.threadIdx.y == 0 and cuda.threadIdx.z == 0 \
            and cuda.blockIdx.y == 0 and cuda.blockIdx.z == 0:
        out[0] = a
        out[1] = b
        out[2] = c
        out[3] = cuda.gridDim.z
        out[4] = cuda.blockDim.z


@pytest.mark.parametrize("shape,block", [((3, 4, 5), (2, 2, 2)), ((9, 5, 11), (4, 2, 4))])
def test_3d_grid(device, shape, block):
    grid = tuple(blocks_for(n, b) for n, b in zip(shape, block))
    out = cuda.device_array(shape, dtype=np.int64)
    index_3d[grid, block](out)
    x, y, z = np.indices(shape)
    np.testing.assert_array_equal(out.copy_to_host(), x * 10000 + y * 100 + z)
    sizes = np.zeros(5, dtype=np.int64)
    gridsize_3d[grid, block](sizes)
    np.testing.assert_array_equal(
        sizes, [grid[0] * block[0], grid[1] * block[1], grid[2] * block[2], grid[2], block[2]])


@cuda.jit
def add_one(a):
    i = cuda.grid(1)
    if i < a.shape[0]:
        a[i] += 1


@pytest.mark.parametrize("n", [1, 100, 1000])
def test_forall(device, n):
    a = random_array(n, np.float64, seed=n)
    d = cuda.to_device(a)
    add_one.forall(n)(d)
    np.testing.assert_array_equal(d.copy_to_host(), a + 1)


def test_forall_with_tpb(device):
    a = random_array(300, np.int32, seed=3)
    d = cuda.to_device(a)
    add_one.forall(300, tpb=64)(d)
    np.testing.assert_array_equal(d.copy_to_host(), a + 1)


def test_tuple_and_int_configurations(device):
    a = random_array(70, np.int64, seed=4)
    d = cuda.to_device(a)
    add_one[(3,), (32,)](d)
    add_one[3, (32, 1, 1)](d)
    add_one[(3, 1, 1), 32](d)
    np.testing.assert_array_equal(d.copy_to_host(), a + 3)


def test_stream_launch_and_events(device):
    n = 2000
    a = random_array(n, np.float32, seed=5)
    stream = cuda.stream()
    start, end = cuda.event(), cuda.event()
    start.record(stream)
    d = cuda.to_device(a, stream=stream)
    add_one[blocks_for(n, 128), 128, stream](d)
    add_one[blocks_for(n, 128), 128, stream, 0](d)
    got = d.copy_to_host(stream=stream)
    end.record(stream)
    end.synchronize()
    stream.synchronize()
    np.testing.assert_array_equal(got, (a + 1) + 1)
    assert start.elapsed_time(end) >= 0.0
    if not SIMULATOR:  # the simulator has no cuda.event_elapsed_time
        assert cuda.event_elapsed_time(start, end) >= 0.0


def test_two_streams(device):
    a = random_array(500, np.float64, seed=6)
    b = random_array(500, np.float64, seed=7)
    s1, s2 = cuda.stream(), cuda.stream()
    da = cuda.to_device(a, stream=s1)
    db = cuda.to_device(b, stream=s2)
    add_one[4, 128, s1](da)
    add_one[4, 128, s2](db)
    s1.synchronize()
    s2.synchronize()
    np.testing.assert_array_equal(da.copy_to_host(), a + 1)
    np.testing.assert_array_equal(db.copy_to_host(), b + 1)


def test_synchronize(device):
    a = random_array(256, np.float32, seed=8)
    d = cuda.to_device(a)
    add_one[2, 128](d)
    cuda.synchronize()
    np.testing.assert_array_equal(d.copy_to_host(), a + 1)


def test_is_available_is_a_bool(device):
    assert isinstance(cuda.is_available(), bool)
    if device == "cuda":
        assert cuda.is_available()


def test_detect_mentions_the_device(device):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cuda.detect()
    text = out.getvalue()
    if SIMULATOR:
        assert "SIMULATOR" in text
    elif IS_NUMBA:
        assert "CUDA" in text
    else:
        assert f"{device}:" in text.lower(), text
        assert cuda.current_device().name in text


def test_kernel_launch_writes_back_host_arrays(device):
    """Host NumPy arrays passed to a kernel are written back, as in Numba."""
    a = random_array(300, np.int32, seed=9)
    host = a.copy()
    add_one[3, 128](host)
    np.testing.assert_array_equal(host, a + 1)


@cuda.jit
def scale_into(src, factor, dst):
    i = cuda.grid(1)
    if i < dst.shape[0]:
        dst[i] = src[i] * factor


@pytest.mark.parametrize("factor", [2, 0.5, np.float32(3.0)])
def test_scalar_arguments(device, factor):
    src = random_array(100, np.float64, seed=10)
    dst = np.zeros_like(src)
    scale_into[1, 128](src, factor, dst)
    np.testing.assert_allclose(dst, src * factor)


def test_launch_more_threads_than_work(device):
    a = random_array(5, np.float64, seed=11)
    d = cuda.to_device(a)
    add_one[4, 256](d)
    np.testing.assert_array_equal(d.copy_to_host(), a + 1)
