"""Kernel errors: each a clear Python exception, never a crash (Hypersonic's
messages; Numba's differ, so these are hypersonic-only)."""

import inspect
import os
import re

import numpy as np
import pytest

from cuda_harness import TypingError, cuda, float32, hypersonic_only

pytestmark = hypersonic_only("Hypersonic's checks and messages")

THIS_FILE = os.path.basename(__file__)


def line_of(func, snippet):
    lines, start = inspect.getsourcelines(func)
    for k, line in enumerate(lines):
        if snippet in line:
            return start + k
    raise AssertionError(f"{snippet!r} not in {func.__name__}")


@cuda.jit
def plus_one(a):
    i = cuda.grid(1)
    if i < a.shape[0]:
        a[i] += 1


@pytest.mark.parametrize("config", [(1, 0), (0, 32), (1, (32, 0)), ((2, 0, 1), 1)], ids=str)
def test_zero_sized_launch_raises(device, config):
    a = np.ones(8)
    with pytest.raises(ValueError, match=r"(?i)at least 1|grid|block"):
        plus_one[config](a)


def test_too_many_threads_per_block_raises(device):
    a = np.ones(8)
    with pytest.raises((ValueError, RuntimeError)) as info:
        plus_one[1, 2048](a)
    assert re.search(r"(?i)thread|block", str(info.value)), str(info.value)
    assert "1024" in str(info.value) or "2048" in str(info.value), str(info.value)
    np.testing.assert_array_equal(a, 1.0)  # nothing ran


def test_too_many_threads_in_a_3d_block_raises(device):
    with pytest.raises((ValueError, RuntimeError), match=r"(?i)thread|block"):
        plus_one[1, (32, 32, 2)](np.ones(8))


def test_four_dimensional_grid_raises(device):
    with pytest.raises(ValueError, match=r"(?i)1 to 3 dimensions|dimension"):
        plus_one[(1, 1, 1, 1), 32](np.ones(8))
    with pytest.raises(ValueError, match=r"(?i)dimension"):
        plus_one[1, (1, 1, 1, 1)](np.ones(8))


def test_malformed_configuration_raises(device):
    with pytest.raises((ValueError, TypeError)):
        plus_one[1](np.ones(8))
    with pytest.raises((ValueError, TypeError)):
        plus_one[1, 32, 0, 0, 0](np.ones(8))


def test_kernel_called_without_configuration_raises_type_error(device):
    with pytest.raises(TypeError, match=r"(?i)launch|\[blocks"):
        plus_one(np.ones(8))


@cuda.jit("void(float32[:])")
def eager_f32(a):
    i = cuda.grid(1)
    if i < a.shape[0]:
        a[i] *= 2


def test_wrong_argument_type_for_eager_signature(device):
    with pytest.raises(TypeError, match=r"eager_f32"):
        eager_f32[1, 32](np.ones(8, dtype=np.int64))
    with pytest.raises(TypeError):
        eager_f32[1, 32](np.ones((2, 2), dtype=np.float32))
    a = np.ones(8, dtype=np.float32)
    eager_f32[1, 32](a)  # the right type still works
    np.testing.assert_array_equal(a, 2.0)


def divergent_barrier(a):
    if cuda.threadIdx.x < 5:
        cuda.syncthreads()
    a[cuda.threadIdx.x] = 1.0


def test_barrier_under_divergent_control_flow(device):
    k = cuda.jit(divergent_barrier)
    with pytest.raises(TypingError) as info:
        k[1, 32](np.zeros(32))
    message = str(info.value)
    assert THIS_FILE in message, message
    assert str(line_of(divergent_barrier, "cuda.syncthreads()")) in message, message
    assert "syncthreads" in message


def divergent_barrier_in_loop(a, n):
    for i in range(cuda.threadIdx.x):
        cuda.syncthreads()
    a[0] = n


def test_barrier_in_thread_dependent_loop(device):
    k = cuda.jit(divergent_barrier_in_loop)
    with pytest.raises(TypingError) as info:
        k[1, 32](np.zeros(4), 3)
    assert str(line_of(divergent_barrier_in_loop, "cuda.syncthreads()")) in str(info.value)


def test_uniform_barrier_is_fine(device):
    @cuda.jit
    def uniform(a, n):
        sh = cuda.shared.array(32, dtype=np.float64)
        sh[cuda.threadIdx.x] = a[cuda.threadIdx.x]
        if n > 0:  # the same for every thread
            cuda.syncthreads()
        a[cuda.threadIdx.x] = sh[31 - cuda.threadIdx.x]

    a = np.arange(32.0)
    uniform[1, 32](a, 1)
    np.testing.assert_array_equal(a, np.arange(32.0)[::-1])


def huge_shared(a):
    sh = cuda.shared.array(25600, dtype=np.float32)  # 100 KB
    sh[cuda.threadIdx.x] = a[cuda.threadIdx.x]
    cuda.syncthreads()
    a[cuda.threadIdx.x] = sh[0]


def test_too_much_static_shared_memory(device):
    k = cuda.jit(huge_shared)
    with pytest.raises((TypingError, ValueError, RuntimeError)) as info:
        k[1, 32](np.ones(32, dtype=np.float32))
    message = str(info.value)
    assert re.search(r"(?i)shared", message), message
    assert re.search(r"102400|100 ?K|48 ?K|49152", message), message


@cuda.jit
def dynamic_user(a):
    buf = cuda.shared.array(0, dtype=float32)
    buf[cuda.threadIdx.x] = a[cuda.threadIdx.x]
    cuda.syncthreads()
    a[cuda.threadIdx.x] = buf[0]


def test_too_much_dynamic_shared_memory(device):
    a = np.ones(32, dtype=np.float32)
    with pytest.raises((ValueError, RuntimeError)) as info:
        dynamic_user[1, 32, 0, 64 * 1024](a)
    assert re.search(r"(?i)shared", str(info.value)), str(info.value)
    dynamic_user[1, 32, 0, 32 * 4](a)  # a size that fits still launches
    np.testing.assert_array_equal(a, 1.0)


def test_negative_dynamic_shared_memory(device):
    with pytest.raises((ValueError, RuntimeError)):
        dynamic_user[1, 32, 0, -4](np.ones(32, dtype=np.float32))


def test_device_function_called_from_python_raises(device):
    @cuda.jit(device=True)
    def helper(x):
        return x + 1

    with pytest.raises(TypeError, match=r"(?i)device function"):
        helper(1.0)


def test_intrinsic_called_from_python_raises(device):
    with pytest.raises(RuntimeError, match=r"(?i)kernel"):
        cuda.syncthreads()
    with pytest.raises(RuntimeError, match=r"(?i)kernel"):
        cuda.grid(1)


def test_kernel_that_returns_a_value_is_refused(device):
    def returns(a):
        return 1

    with pytest.raises(TypeError):
        cuda.jit("int64(float64[:])")(returns)


def test_unknown_cuda_attribute_is_a_typing_error(device):
    def typo(a):
        a[0] = cuda.threadIdx.w

    k = cuda.jit(typo)
    with pytest.raises(TypingError, match=r"threadIdx"):
        k[1, 1](np.zeros(1))

