"""The one error type for bad input from a user.

Every layer raises :class:`UserInputError` with one sentence that says what was
wrong and what to do. The magics turn it into IPython's ``UsageError`` (which
IPython prints as one clean line); the Python API lets it propagate as a
``ValueError`` subclass, which is what Python users expect from bad arguments.
"""


class UserInputError(ValueError):
    """Bad input from the user: the message is one sentence with the fix."""
