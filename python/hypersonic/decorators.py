"""``@njit`` and ``@jit``, with Numba's calling conventions."""

from __future__ import annotations

from .dispatcher import Dispatcher, check_options
from . import types as hstypes


def _signatures(sig_or_list):
    if sig_or_list is None:
        return []
    if isinstance(sig_or_list, list):
        return [hstypes.parse_signature(s) for s in sig_or_list]
    return [hstypes.parse_signature(sig_or_list)]


def jit(signature_or_function=None, **options):
    """Compiles a function to native code (Numba's ``@jit`` in nopython mode).

    Use it bare (``@jit``), with options (``@jit(nopython=True, fastmath=True)``), or
    with signatures, which compile eagerly and fix the accepted types
    (``@jit(float64(float64, int64))``, ``@jit(['int32(int32)', 'float64(float64)'])``).
    """
    merged = check_options(options)
    if callable(signature_or_function) and not isinstance(signature_or_function, hstypes.Type):
        return Dispatcher(signature_or_function, merged)
    sigs = _signatures(signature_or_function)

    def decorate(func):
        return Dispatcher(func, merged, sigs)

    return decorate


def njit(*args, **options):
    """``jit`` with ``nopython=True``: the same thing in Hypersonic, which always
    compiles to native code."""
    if options.get("nopython") is False:
        raise TypeError("njit always compiles in nopython mode; remove nopython=False")
    options["nopython"] = True
    return jit(*args, **options)
