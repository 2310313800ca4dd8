"""Exceptions raised by Hypersonic."""


class TypingError(TypeError):
    """A function could not be compiled: an unsupported construct, an unknown
    name, or types that do not fit. The message names the file, line and column,
    shows the line with a caret under the code, and says what to write instead."""


class UnsupportedError(TypingError):
    """Something a user asked for that Hypersonic does not do (yet)."""


class InternalCompilerError(RuntimeError):
    """A bug in Hypersonic. Please report it with the function that caused it."""


class LaunchError(ValueError):
    """A kernel launch that cannot run: a bad grid or block shape, too much
    shared memory, arguments that do not fit. The message names the numbers
    and the limit."""


class CudaError(RuntimeError):
    """A CUDA driver call failed; the message names the call and the driver's error."""
