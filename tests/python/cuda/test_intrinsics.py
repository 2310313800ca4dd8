"""Warp functions, block-wide votes, fences, bit intrinsics, fma, local and
constant arrays, math functions, and @njit functions called from kernels."""

import math

import numpy as np
import pytest

from cuda_harness import FULL_MASK, IS_NUMBA, blocks_for, cuda, njit, random_array

TPB = 64  # two full warps


# -- warp shuffles --------------------------------------------------------------------------

@cuda.jit
def shuffles(vals, idx_out, up_out, down_out, xor_out):
    i = cuda.grid(1)
    lane = cuda.laneid
    v = vals[i]
    a = cuda.shfl_sync(FULL_MASK, v, (lane * 7 + 3) % 32)
    b = cuda.shfl_up_sync(FULL_MASK, v, 3)
    c = cuda.shfl_down_sync(FULL_MASK, v, 5)
    d = cuda.shfl_xor_sync(FULL_MASK, v, 6)
    idx_out[i] = a
    up_out[i] = b
    down_out[i] = c
    xor_out[i] = d


def shuffle_model(vals):
    n = vals.shape[0]
    idx, up, down, xor = (np.empty_like(vals) for _ in range(4))
    for i in range(n):
        base, lane = i - i % 32, i % 32
        idx[i] = vals[base + (lane * 7 + 3) % 32]
        up[i] = vals[i] if lane < 3 else vals[i - 3]
        down[i] = vals[i] if lane + 5 >= 32 else vals[i + 5]
        xor[i] = vals[base + (lane ^ 6)]
    return idx, up, down, xor


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float32, np.float64, np.uint32],
                         ids=lambda d: np.dtype(d).name)
def test_shuffles(device, dtype):
    vals = random_array(TPB * 2, dtype, seed=1, low=0, high=1000)
    outs = [np.zeros_like(vals) for _ in range(4)]
    shuffles[2, TPB](vals, *outs)
    for got, want, name in zip(outs, shuffle_model(vals), ("shfl", "up", "down", "xor")):
        np.testing.assert_array_equal(got, want, err_msg=name)


@cuda.jit
def warp_sum(vals, out):
    i = cuda.grid(1)
    v = vals[i]
    offset = 16
    while offset > 0:
        v += cuda.shfl_down_sync(FULL_MASK, v, offset)
        offset //= 2
    if cuda.laneid == 0:
        out[i // 32] = v


def test_warp_reduction_with_shfl_down(device):
    vals = random_array(TPB * 3, np.float64, seed=2).round(3)
    out = np.zeros(TPB * 3 // 32)
    warp_sum[3, TPB](vals, out)
    np.testing.assert_allclose(out, vals.reshape(-1, 32).sum(axis=1), rtol=1e-12)


@cuda.jit
def votes(pred_in, ballot_out, all_out, any_out):
    i = cuda.grid(1)
    p = pred_in[i] != 0
    b = cuda.ballot_sync(FULL_MASK, p)
    a = cuda.all_sync(FULL_MASK, p)
    y = cuda.any_sync(FULL_MASK, p)
    ballot_out[i] = b
    all_out[i] = 1 if a else 0
    any_out[i] = 1 if y else 0


def test_ballot_all_any(device):
    pred = (random_array(TPB * 2, np.int32, seed=3, low=0, high=3) > 0).astype(np.int32)
    pred[32:64] = 1     # a warp of all true
    pred[64:96] = 0     # a warp of all false
    pred[100] = 1
    ballot = np.zeros(TPB * 2, dtype=np.uint32)
    all_ = np.zeros(TPB * 2, dtype=np.int32)
    any_ = np.zeros(TPB * 2, dtype=np.int32)
    votes[2, TPB](pred, ballot, all_, any_)
    for w in range(4):
        bits = pred[w * 32:(w + 1) * 32]
        want = sum(1 << k for k in range(32) if bits[k])
        assert np.all(ballot[w * 32:(w + 1) * 32] == want), w
        assert np.all(all_[w * 32:(w + 1) * 32] == int(bits.all())), w
        assert np.all(any_[w * 32:(w + 1) * 32] == int(bits.any())), w


@cuda.jit
def rotate_in_shared(vals, out):
    sh = cuda.shared.array(64, dtype=np.int64)
    t = cuda.threadIdx.x
    sh[t] = vals[t]
    cuda.syncwarp(FULL_MASK)
    lane = t % 32
    out[t] = sh[t - lane + (lane + 1) % 32]


def test_syncwarp(device):
    vals = random_array(64, np.int64, seed=4)
    out = np.zeros(64, dtype=np.int64)
    rotate_in_shared[1, 64](vals, out)
    want = np.concatenate([np.roll(vals[:32], -1), np.roll(vals[32:], -1)])
    np.testing.assert_array_equal(out, want)


@cuda.jit
def lanes(out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i, 0] = cuda.laneid
        out[i, 1] = cuda.warpsize


def test_laneid_and_warpsize(device):
    out = np.zeros((100, 2), dtype=np.int32)
    lanes[1, 100](out)
    np.testing.assert_array_equal(out[:, 0], np.arange(100) % 32)
    assert np.all(out[:, 1] == 32)


# -- block-wide votes and fences ------------------------------------------------------------

@cuda.jit
def block_votes(pred_in, out):
    t = cuda.threadIdx.x
    p = pred_in[cuda.grid(1)]
    c = cuda.syncthreads_count(p)
    a = cuda.syncthreads_and(p)
    o = cuda.syncthreads_or(p)
    if t == 0:
        b = cuda.blockIdx.x
        out[b, 0] = c
        out[b, 1] = a
        out[b, 2] = o


def test_syncthreads_count_and_or(device):
    blocks = 4
    pred = (random_array(blocks * TPB, np.int32, seed=5, low=0, high=4) == 0).astype(np.int32)
    pred[TPB:2 * TPB] = 1
    pred[2 * TPB:3 * TPB] = 0
    out = np.zeros((blocks, 3), dtype=np.int32)
    block_votes[blocks, TPB](pred, out)
    per = pred.reshape(blocks, TPB)
    np.testing.assert_array_equal(out[:, 0], per.sum(axis=1))
    np.testing.assert_array_equal(out[:, 1] != 0, per.all(axis=1))
    np.testing.assert_array_equal(out[:, 2] != 0, per.any(axis=1))


@cuda.jit
def publish(data, flags):
    i = cuda.grid(1)
    if i < data.shape[0]:
        data[i] = i * 2
        cuda.threadfence()
        cuda.threadfence_block()
        cuda.threadfence_system()
        flags[i] = 1


def test_threadfences(device):
    data = np.zeros(200, dtype=np.int64)
    flags = np.zeros(200, dtype=np.int32)
    publish[2, 128](data, flags)
    np.testing.assert_array_equal(data, np.arange(200) * 2)
    assert flags.all()


# -- bit intrinsics and fma -------------------------------------------------------------------

@cuda.jit
def bits32(vals, out):
    i = cuda.grid(1)
    if i < vals.shape[0]:
        v = vals[i]
        out[i, 0] = cuda.popc(v)
        out[i, 1] = cuda.clz(v)
        out[i, 2] = cuda.ffs(v)


def ref_bits32(v):
    v = int(v) & 0xFFFFFFFF
    popc = bin(v).count("1")
    clz = 32 - v.bit_length()
    ffs = (v & -v).bit_length()
    return popc, clz, ffs


@pytest.mark.parametrize("dtype", [np.int32, np.uint32], ids=lambda d: np.dtype(d).name)
def test_popc_clz_ffs(device, dtype):
    vals = random_array(200, dtype, seed=6, low=0, high=2**31 - 1)
    vals[:6] = [0, 1, 2, 0x40000000, 0x7FFFFFFF, 96]
    out = np.zeros((200, 3), dtype=np.int64)
    bits32[2, 128](vals, out)
    want = np.array([ref_bits32(v) for v in vals])
    np.testing.assert_array_equal(out, want)


@cuda.jit
def bits64(vals, out):
    i = cuda.grid(1)
    if i < vals.shape[0]:
        out[i, 0] = cuda.popc(vals[i])
        out[i, 1] = cuda.clz(vals[i])


@pytest.mark.skipif(IS_NUMBA, reason="Numba's simulator formats clz/popc inputs as 32 bits")
def test_popc_clz_64_bit(device):
    vals = random_array(100, np.int64, seed=7, low=0, high=2**62)
    vals[:3] = [1, 2**40, 2**62 + 5]
    out = np.zeros((100, 2), dtype=np.int64)
    bits64[1, 128](vals, out)
    np.testing.assert_array_equal(out[:, 0], [bin(int(v)).count("1") for v in vals])
    np.testing.assert_array_equal(out[:, 1], [64 - int(v).bit_length() for v in vals])


@cuda.jit
def fused(a, b, c, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = cuda.fma(a[i], b[i], c[i])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_fma(device, dtype):
    a, b, c = (random_array(300, dtype, seed=s) for s in (8, 9, 10))
    out = np.zeros_like(a)
    fused[3, 128](a, b, c, out)
    # fma rounds once: compare with the exact product-sum rounded to dtype
    want = (a.astype(np.float64) * b + c) if dtype == np.float32 else a * b + c
    np.testing.assert_allclose(out, want.astype(dtype), rtol=1e-6 if dtype == np.float32 else 1e-12,
                               atol=1e-6)


# -- local and constant arrays -----------------------------------------------------------------

@cuda.jit
def moving_window(a, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        window = cuda.local.array(5, dtype=np.float64)
        for k in range(5):
            window[k] = a[i + k]
        # insertion sort, then the median
        for k in range(1, 5):
            x = window[k]
            j = k - 1
            while j >= 0 and window[j] > x:
                window[j + 1] = window[j]
                j -= 1
            window[j + 1] = x
        out[i] = window[2]


def test_local_array(device):
    a = random_array(205, np.float64, seed=11)
    out = np.zeros(201)
    moving_window[2, 128](a, out)
    want = np.median(np.lib.stride_tricks.sliding_window_view(a, 5), axis=1)
    np.testing.assert_array_equal(out, want)


@cuda.jit
def local_2d(out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        m = cuda.local.array((3, 4), dtype=np.int32)
        for r in range(3):
            for c in range(4):
                m[r, c] = i + r * 4 + c
        s = 0
        for r in range(3):
            s += m[r, 3 - r]
        out[i] = s


def test_local_array_2d(device):
    out = np.zeros(50, dtype=np.int64)
    local_2d[1, 64](out)
    i = np.arange(50)
    np.testing.assert_array_equal(out, 3 * i + 3 + 6 + 9)


COEFFS = np.array([0.5, -1.25, 2.0, 0.125, 3.5], dtype=np.float64)
TABLE = np.arange(12, dtype=np.int32).reshape(3, 4) * 7 + 1


@cuda.jit
def horner_const(x, out):
    i = cuda.grid(1)
    if i < x.shape[0]:
        c = cuda.const.array_like(COEFFS)
        acc = 0.0
        for k in range(c.shape[0]):
            acc = acc * x[i] + c[k]
        out[i] = acc


@cuda.jit
def table_const(out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        t = cuda.const.array_like(TABLE)
        out[i] = t[i % 3, i % 4]


def test_const_array_like(device):
    x = random_array(150, np.float64, seed=12, low=-2, high=2)
    out = np.zeros_like(x)
    horner_const[2, 128](x, out)
    np.testing.assert_allclose(out, np.polyval(COEFFS, x), rtol=1e-12, atol=1e-12)
    t = np.zeros(40, dtype=np.int32)
    table_const[1, 64](t)
    i = np.arange(40)
    np.testing.assert_array_equal(t, TABLE[i % 3, i % 4])


# -- math in kernels -----------------------------------------------------------------------------

@cuda.jit
def math_unary(x, out):
    i = cuda.grid(1)
    if i < x.shape[0]:
        v = x[i]
        out[i, 0] = math.sin(v)
        out[i, 1] = math.cos(v)
        out[i, 2] = math.tan(v)
        out[i, 3] = math.exp(v)
        out[i, 4] = math.log(abs(v) + 1.0)
        out[i, 5] = math.sqrt(abs(v))
        out[i, 6] = math.atan2(v, 1.5)
        out[i, 7] = math.tanh(v)
        out[i, 8] = math.floor(v)
        out[i, 9] = math.pow(abs(v), 1.7)
        out[i, 10] = math.log10(abs(v) + 1.0)
        out[i, 11] = math.erf(v)
        out[i, 12] = math.hypot(v, 2.0)
        out[i, 13] = math.fabs(v)
        out[i, 14] = math.ceil(v)
        out[i, 15] = math.asinh(v)


MATH_REF = [
    np.sin, np.cos, np.tan, np.exp, lambda v: np.log(np.abs(v) + 1.0), lambda v: np.sqrt(np.abs(v)),
    lambda v: np.arctan2(v, 1.5), np.tanh, np.floor, lambda v: np.power(np.abs(v), 1.7),
    lambda v: np.log10(np.abs(v) + 1.0), np.vectorize(math.erf), lambda v: np.hypot(v, 2.0),
    np.fabs, np.ceil, np.arcsinh,
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_math_functions(device, dtype):
    x = random_array(200, dtype, seed=13, low=-3, high=3)
    out = np.zeros((200, len(MATH_REF)), dtype=dtype)
    math_unary[2, 128](x, out)
    rtol = 2e-6 if dtype == np.float32 else 1e-13
    for k, f in enumerate(MATH_REF):
        want = f(x.astype(np.float64)).astype(dtype)
        np.testing.assert_allclose(out[:, k], want, rtol=rtol, atol=rtol, err_msg=f"column {k}")


@cuda.jit
def numpy_math(x, out):
    i = cuda.grid(1)
    if i < x.shape[0]:
        out[i, 0] = np.sin(x[i])
        out[i, 1] = np.exp(x[i] * 0.5)
        out[i, 2] = np.sqrt(x[i] * x[i] + 1.0)
        out[i, 3] = np.arctan(x[i])


def test_numpy_scalar_math(device):
    x = random_array(100, np.float64, seed=14, low=-2, high=2)
    out = np.zeros((100, 4))
    numpy_math[1, 128](x, out)
    np.testing.assert_allclose(out, np.stack([np.sin(x), np.exp(x * 0.5), np.sqrt(x * x + 1.0),
                                              np.arctan(x)], axis=1), rtol=1e-13)


# -- @njit functions from kernels ------------------------------------------------------------------

@njit
def logistic(x):
    return 1.0 / (1.0 + math.exp(-x))


@njit
def poly(x, a, b):
    return a * x * x + b * x + logistic(x)


@cuda.jit
def call_njit(x, out):
    i = cuda.grid(1)
    if i < x.shape[0]:
        out[i] = poly(x[i], 0.5, -2.0)


def test_njit_function_called_from_kernel(device):
    x = random_array(300, np.float64, seed=15, low=-4, high=4)
    out = np.zeros_like(x)
    call_njit[blocks_for(300, 128), 128](x, out)
    np.testing.assert_allclose(out, 0.5 * x * x - 2.0 * x + 1.0 / (1.0 + np.exp(-x)), rtol=1e-13)
    assert poly(1.0, 0.5, -2.0) == pytest.approx(-1.5 + 1.0 / (1.0 + math.exp(-1.0)))


@cuda.jit(device=True)
def mix(a, b, t):
    return a + (b - a) * t


@cuda.jit(device=True)
def mix3(a, b, c, t):
    return mix(mix(a, b, t), mix(b, c, t), t)


@cuda.jit
def bezier(a, b, c, t, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = mix3(a[i], b[i], c[i], t)


def test_device_functions_call_each_other(device):
    a, b, c = (random_array(100, np.float64, seed=s) for s in (16, 17, 18))
    out = np.zeros(100)
    bezier[1, 128](a, b, c, 0.3, out)
    want = (1 - 0.3) ** 2 * a + 2 * 0.3 * 0.7 * b + 0.3 ** 2 * c
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)


@cuda.jit
def shuffle_deltas(vals, deltas, up_out, down_out):
    i = cuda.grid(1)
    d = deltas[cuda.blockIdx.x]
    v = vals[i]
    up_out[i] = cuda.shfl_up_sync(FULL_MASK, v, d)
    down_out[i] = cuda.shfl_down_sync(FULL_MASK, v, d)


def test_shuffle_deltas_at_and_past_the_warp(device):
    # As PTX's shfl.sync, only the delta's low five bits count: 32 is 0, 40 is 8.
    deltas = np.array([0, 1, 7, 31, 32, 40, 1000], dtype=np.uint32)
    vals = random_array(64 * deltas.size, np.int64, seed=41)
    up = np.zeros_like(vals)
    down = np.zeros_like(vals)
    shuffle_deltas[deltas.size, 64](vals, deltas, up, down)
    for b, d in enumerate(deltas):
        d = int(d) % 32
        for t in range(64):
            i, lane = b * 64 + t, t % 32
            assert up[i] == (vals[i - d] if d <= lane else vals[i]), (d, t)
            assert down[i] == (vals[i + d] if lane + d < 32 else vals[i]), (d, t)
