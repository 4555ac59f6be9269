"""The version of jupyter_dl: the one place it is written (hatch reads it; a test keeps js/package.json in step)."""

__version__ = "0.1.0"
