"""The file layer's error, in a module of its own so that every io module can raise it."""
from __future__ import annotations


class OutputError(RuntimeError):
    """An HDF5 output is missing, partial, foreign or malformed. The message names the file."""
