"""Pytest configuration for the differential test suite.

The suite compares ``njit(f)(*args)`` with ``f(*args)`` run by CPython.  It runs
against Hypersonic by default; to check the tests themselves, run it against Numba:

    HYPERSONIC_TEST_AGAINST=numba .venv/bin/python -m pytest tests/python -q
    .venv/bin/python -m pytest tests/python -q --against=numba

Tests marked ``hypersonic_only`` (our error format, code Numba refuses, ...) are
skipped in that mode.
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
for path in (HERE, ROOT):  # harness.py, and the kernels/ package
    if path not in sys.path:
        sys.path.insert(0, path)


def pytest_addoption(parser):
    parser.addoption(
        "--against",
        choices=["hypersonic", "numba"],
        default=None,
        help="compiler under test (default: $HYPERSONIC_TEST_AGAINST or hypersonic)",
    )


def pytest_configure(config):
    against = config.getoption("--against", default=None)
    if against:
        os.environ["HYPERSONIC_TEST_AGAINST"] = against
    config.addinivalue_line(
        "markers",
        "hypersonic_only(reason): Hypersonic behaviour Numba does not share; "
        "skipped when testing against Numba",
    )
    try:
        from hypothesis import HealthCheck, settings

        # The first call of a compiled function compiles it: no per-example deadline.
        settings.register_profile(
            "hypersonic",
            deadline=None,
            max_examples=300,
            suppress_health_check=[HealthCheck.too_slow],
        )
        settings.load_profile("hypersonic")
    except ImportError:  # pragma: no cover
        pass


def pytest_report_header(config):
    return "compiler under test: " + os.environ.get("HYPERSONIC_TEST_AGAINST", "hypersonic")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("HYPERSONIC_TEST_AGAINST", "hypersonic") != "numba":
        return
    for item in items:
        marker = item.get_closest_marker("hypersonic_only")
        if marker is not None:
            reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
            item.add_marker(pytest.mark.skip(reason="hypersonic only: " + reason))
