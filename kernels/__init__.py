"""Example kernels.  Each module defines one compiled kernel (``KERNEL``, decorated with
``@njit``; the plain Python function is ``KERNEL.py_func``), ``make_inputs(size, rng)``,
``compute(func, args)`` (runs ``func`` on fresh copies of the inputs and returns what
to compare), ``check(got, want)``, and the sizes ``DEMO_SIZE`` / ``TEST_SIZE``.
A module whose kernel calls other compiled functions also defines ``PLAIN``, the
kernel in plain Python all the way down (``KERNEL.py_func`` would call compiled code)."""

MODULES = ["ragged_sum", "mandelbrot", "lu", "nbody", "primes", "stencil"]
