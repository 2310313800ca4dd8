"""Compile errors: hypersonic.TypingError (a TypeError) naming the file, line and
column, showing the line with a caret under the offending code, and saying in words
what is wrong.  Bad input never crashes the process."""

import inspect
import os
import re

import numpy as np
import pytest

from harness import TypingError, hypersonic_only, njit

THIS_FILE = os.path.basename(__file__)


def locate(func, snippet):
    """(line number in this file, column (0-based) in that line, the line) of the first
    occurrence of ``snippet`` in ``func``'s source."""
    lines, start = inspect.getsourcelines(func)
    for k, line in enumerate(lines):
        if snippet in line:
            return start + k, line.index(snippet), line.rstrip("\n")
    raise AssertionError(f"{snippet!r} not in the source of {func.__name__}")


def assert_points_at(message, func, snippet, span=None):
    """The message names this file and the line of ``snippet``, shows that line, and
    puts a ``^`` under the offending code (somewhere within ``span``, default the
    snippet itself)."""
    span = span or snippet
    lineno, col, line = locate(func, snippet)
    assert THIS_FILE in message, f"file name missing from:\n{message}"
    located = re.findall(rf":{lineno}:(\d+)", message)
    assert located or re.search(rf"\bline {lineno}\b", message), (
        f"line {lineno} missing from:\n{message}"
    )
    if located:  # file:line:column -- the column must be inside the offending code
        assert any(col + 1 <= int(c) <= col + len(span) for c in located), (
            f"column {located} is not within {span!r} (columns {col + 1}..{col + len(span)})"
        )
    code = line.strip()
    indent = len(line) - len(line.lstrip())
    msg_lines = message.splitlines()
    for idx, shown in enumerate(msg_lines):
        pos = shown.find(code)
        if pos < 0 or "^" in shown:
            continue
        lo = pos + (col - indent)
        for nxt in msg_lines[idx + 1: idx + 4]:
            if "^" in nxt:
                caret = nxt.index("^")
                assert lo <= caret < lo + len(span), (
                    f"the caret is not under {span!r}:\n{shown}\n{nxt}"
                )
                return
    raise AssertionError(f"no source line with a caret under it in:\n{message}")


def assert_says(message, *patterns):
    for pattern in patterns:
        assert re.search(pattern, message, re.IGNORECASE), (
            f"{pattern!r} not found in:\n{message}"
        )


# --- unknown names ---------------------------------------------------------------------


def uses_unknown_name(x):
    y = x * 2
    return y + undefined_thing_42  # noqa: F821


def test_unknown_name_raises_typing_error():
    f = njit(uses_unknown_name)
    with pytest.raises(TypingError):
        f(1)


@hypersonic_only("our diagnostic format")
def test_unknown_name_message():
    with pytest.raises(TypingError) as excinfo:
        njit(uses_unknown_name)(1)
    msg = str(excinfo.value)
    assert_points_at(msg, uses_unknown_name, "undefined_thing_42")
    assert_says(msg, "undefined_thing_42", r"not defined|unknown|undefined|no (variable|name)")


# --- type mismatch ------------------------------------------------------------------------


def adds_array_to_tuple(a, t):
    n = a.shape[0]
    return a + t, n


def test_type_mismatch_raises_typing_error():
    f = njit(adds_array_to_tuple)
    with pytest.raises(TypingError):
        f(np.arange(3.0), (1, 2))


@hypersonic_only("our diagnostic format; Numba's TypingError is not a TypeError")
def test_type_mismatch_message():
    with pytest.raises(TypeError) as excinfo:  # TypingError is a TypeError
        njit(adds_array_to_tuple)(np.arange(3.0), (1, 2))
    assert isinstance(excinfo.value, TypingError)
    msg = str(excinfo.value)
    assert_points_at(msg, adds_array_to_tuple, "a + t")
    assert_says(msg, r"`\+`|\badd", r"array|float64\[", r"not (defined|supported)|cannot|can't")


def calls_with_wrong_type(x):
    return len(x) + 1


@hypersonic_only("our diagnostic format")
def test_len_of_a_number_message():
    with pytest.raises(TypingError) as excinfo:
        njit(calls_with_wrong_type)(3.5)
    msg = str(excinfo.value)
    assert_points_at(msg, calls_with_wrong_type, "len(x)")
    assert_says(msg, "len", "float")


# --- unsupported constructs -------------------------------------------------------------------


def uses_with_statement(x):
    total = x
    with open(os.devnull) as fh:  # noqa: F841
        total += 1
    return total


def uses_list_comprehension(n):
    squares = [i * i for i in range(n)]
    return len(squares)


@hypersonic_only("Numba's UnsupportedError is not a TypingError")
def test_with_statement_message():
    with pytest.raises(TypingError) as excinfo:
        njit(uses_with_statement)(1)
    msg = str(excinfo.value)
    assert_points_at(msg, uses_with_statement, "with open(", span="with open(os.devnull) as fh:")
    assert_says(msg, r"\bwith\b", r"not supported|unsupported|cannot|can't")


@hypersonic_only("Numba supports list comprehensions")
def test_list_comprehension_message():
    with pytest.raises(TypingError) as excinfo:
        njit(uses_list_comprehension)(4)
    msg = str(excinfo.value)
    assert_points_at(msg, uses_list_comprehension, "[i * i for i in range(n)]")
    assert_says(msg, r"comprehension|list", r"not supported|unsupported|cannot|can't")


def plain_with_with(x):
    with open(os.devnull):
        return x


def calls_uncompilable_plain_function(x):
    return plain_with_with(x) + 1


@hypersonic_only("Numba refuses every plain Python callee, without saying why")
def test_uncompilable_plain_callee_says_why():
    with pytest.raises(TypingError) as excinfo:
        njit(calls_uncompilable_plain_function)(1)
    msg = str(excinfo.value)
    # It says why: the `with` statement inside the callee, shown where it is.
    assert_points_at(msg, plain_with_with, "with open(", span="with open(os.devnull):")
    assert_says(msg, r"\bwith\b", r"not supported|unsupported|cannot|can't")


# --- errors never poison the dispatcher or crash -----------------------------------------------


def test_dispatcher_still_works_after_a_typing_error():
    def f(a, b):
        return a + b

    cf = njit(f)
    with pytest.raises(TypingError):
        cf(np.arange(3.0), (1, 2))
    assert cf(2, 3) == 5
    assert cf(2.5, 3) == 5.5


def test_wrong_number_of_arguments_is_a_type_error():
    def f(a, b):
        return a + b

    cf = njit(f)
    with pytest.raises(TypeError):
        cf(1)
    with pytest.raises(TypeError):
        cf(1, 2, 3)
    assert cf(1, 2) == 3


@hypersonic_only("hypersonic.TypingError is a TypeError")
def test_typing_error_is_a_type_error():
    import hypersonic

    assert hypersonic.TypingError is TypingError
    assert issubclass(TypingError, TypeError)


def test_unsupported_argument_type_is_a_type_error():
    def f(x):
        return x

    cf = njit(f)
    with pytest.raises((TypeError, TypingError)):  # Numba's TypingError is no TypeError
        cf(object())
    assert cf(4) == 4
