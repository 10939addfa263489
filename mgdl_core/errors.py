"""The library's exception types — what a caller (the ``mgdl`` command, a notebook) can catch —
and the small checks that raise them.

- :class:`ConfigError`: a configuration or argument refused *before* any work starts (a
  ``ValueError``, so ``except ValueError`` keeps working). The CLI prints it as one line and
  exits with status 2.
- :class:`CorruptRecord`: a run record (or its ``.partial`` checkpoint) failed verification on
  read; it is never served. The message says which file and how to recover.

The checks (:func:`check_int`, :func:`check_number`, :func:`plain`) coerce NumPy scalars to
Python numbers where that is what the caller meant (``np.int64(10)`` epochs): a configuration
holds plain ``int``/``float`` values, so it hashes and compares like the same numbers typed in.
Booleans are never numbers here (``epochs=True`` is refused).
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np


class ConfigError(ValueError):
    """A bad configuration, argument or output folder, found before training starts."""


class CorruptRecord(RuntimeError):
    """A record or checkpoint whose files or configuration fail verification."""

    def __init__(self, folder: str | Path, file: str, reason: str = ""):
        self.folder, self.file, self.reason = Path(folder), file, reason
        why = f" ({reason})" if reason else ""
        super().__init__(f"corrupt: {self.folder / file}{why} — delete {self.folder} or run with --force")

    def __reduce__(self):  # so that it crosses a process boundary (a sweep's worker) intact
        return type(self), (self.folder, self.file, self.reason)


def plain(value):
    """``value`` with NumPy scalars turned into Python ones (``np.bool_`` into ``bool``) and
    sequences (lists, tuples, 1-D arrays) into tuples of those; anything else unchanged."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(plain(v) for v in value)
    return value


def check_int(name: str, value, low: int, high: int) -> int:
    """``value`` as an ``int`` in [low, high], else :class:`ConfigError`."""
    value = plain(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be an integer in [{low}, {high:_}], got {value:_}")
    return value


def check_number(name: str, value, low: float, high: float, *, low_open: bool = False,
                 what: str = "") -> float:
    """``value`` as a finite ``float`` in [low, high] (``(low, high]`` with ``low_open``), else
    :class:`ConfigError`; ``what`` names the quantity in the message (default: ``name``)."""
    value = plain(value)
    label = what or name
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{label} must be a number, got {value!r}")
    try:
        value = float(value)
    except OverflowError:  # an int beyond the float range
        raise ConfigError(f"{label} must be a finite number, got {value!r}") from None
    inside = (low < value if low_open else low <= value) and value <= high
    if not (math.isfinite(value) and inside):
        bounds = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        raise ConfigError(f"{label} must be a finite number in {bounds}, got {value!r}")
    return value


@contextmanager
def as_config_error() -> Iterator[None]:
    """Report a ``ValueError`` raised by another module's check (a dtype, a structure) inside the
    block as a :class:`ConfigError` with the same message."""
    try:
        yield
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
