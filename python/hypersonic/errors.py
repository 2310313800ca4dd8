"""Exceptions raised by Hypersonic."""


class TypingError(TypeError):
    """A function could not be compiled: an unsupported construct, an unknown
    name, or types that do not fit. The message names the file, line and column,
    shows the line with a caret under the code, and says what to write instead."""


class UnsupportedError(TypingError):
    """Something a user asked for that Hypersonic does not do (yet)."""


class InternalCompilerError(RuntimeError):
    """A bug in Hypersonic. Please report it with the function that caused it."""
