"""Functions that use ``assert``.

They live outside the test modules because pytest rewrites ``assert`` statements in
test modules (into code calling pytest internals), which would change the function
that the compiler sees.  Pytest does not rewrite this module.
"""


def positive_plus_one(x):
    assert x > 0, "x must be positive"
    return x + 1


def not_three(x):
    assert x != 3
    return x


def checked_mean(a):
    assert a.shape[0] > 0, "empty input"
    s = 0.0
    for x in a:
        s += x
    return s / a.shape[0]
