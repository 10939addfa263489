"""The library's exception types — what a caller (the ``mgdl`` command, a notebook) can catch —
and the small checks that raise them.

- :class:`ConfigError`: a configuration or argument refused *before* any work starts (a
  ``ValueError``, so ``except ValueError`` keeps working). The CLI prints it as one line and
  exits with status 2.
- :class:`CorruptRecord`: a run record (or its ``.partial`` checkpoint) failed verification on
  read; it is never served. The message says which file and how to recover.

A field's range is declared once, as a :class:`Bound` in its dataclass field's metadata
(:func:`bounded`): the configuration's check (:func:`check_bounds`) and the ``mgdl`` command's
argument types (:meth:`Bound.parse`, found by :func:`field_bound`) read the same object, so the
library and the command never disagree about what a value may be.

The checks (:func:`check_int`, :func:`check_number`, :func:`plain`) coerce NumPy scalars to
Python numbers where that is what the caller meant (``np.int64(10)`` epochs): a configuration
holds plain ``int``/``float`` values, so it hashes and compares like the same numbers typed in.
Booleans are never numbers here (``epochs=True`` is refused).
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


class UnreadableRecord(ConfigError):
    """A record or result whose files verify but whose configuration this code cannot rebuild (a
    field it no longer has, a range it now refuses): the data is intact, so nothing is to be
    deleted; the code that wrote it (its git SHA) reads it."""

    def __init__(self, folder: str | Path, reason: str, git_sha: str | None = None):
        self.folder, self.reason, self.git_sha = Path(folder), reason, git_sha
        by = f" (git {git_sha[:12]})" if git_sha else ""
        super().__init__(f"{self.folder}: its files verify, but this code cannot read its configuration ({reason}); "
                         f"nothing was changed: read it with the code that wrote it{by}")

    def __reduce__(self):
        return type(self), (self.folder, self.reason, self.git_sha)


def check_path_text(text: str, what: str) -> Path:
    """A path given as text (an option, an image), refused in one line when no system could use
    it: empty, with a NUL, a part longer than 255 bytes or 4,095 bytes in all."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{what} is empty: give a path")
    data = text.encode("utf-8", "surrogateescape")
    if b"\0" in data or len(data) > 4095 or any(len(part) > 255 for part in data.split(b"/")):
        raise ConfigError(f"{what} {text[:40]!r}{'…' if len(text) > 40 else ''}: not a usable path "
                          "(a NUL, a name over 255 bytes or 4,095 bytes in all)")
    return Path(text)


@dataclass(frozen=True)
class Bound:
    """The range of one numeric field: [low, high] (``(low, high]`` with ``low_open``), an
    integer with ``integer``; ``floor`` refuses magnitudes in (0, floor), values that underflow
    in the computation (a blur of σ̂ = 1e-200 squares to 0); ``what`` names the quantity in
    messages (default: the field's name)."""

    low: float
    high: float
    integer: bool = False
    low_open: bool = False
    floor: float = 0.0
    what: str = ""

    def check(self, name: str, value):
        """``value`` checked and coerced (``int`` or finite ``float``), else :class:`ConfigError`."""
        if self.integer:
            return check_int(self.what or name, value, int(self.low), int(self.high))
        value = check_number(name, value, self.low, self.high, low_open=self.low_open, what=self.what)
        if 0 < abs(value) < self.floor:
            raise ConfigError(f"{self.what or name} must be 0 or at least {self.floor:g} (a smaller value "
                              f"underflows), got {value!r}")
        return value

    def parse(self, name: str, text: str):
        """A value typed on the command line (``20000``, ``2e4``, ``20_000``), checked."""
        try:
            number = float(text)
        except ValueError:
            raise ConfigError(f"{self.what or name}: not a number: {text!r}") from None
        if self.integer:
            try:
                value = int(text)
            except ValueError:
                if not math.isfinite(number) or not number.is_integer():
                    raise ConfigError(f"{self.what or name} must be an integer, got {text!r}") from None
                value = int(number)
            return self.check(name, value)
        return self.check(name, number)


def bounded(default, bound: Bound):
    """A dataclass field with a default and its :class:`Bound` (read by :func:`check_bounds`)."""
    return dataclasses.field(default=default, metadata={"bound": bound})


def field_bounds(cls) -> dict[str, Bound]:
    """Every field's :class:`Bound` on dataclass ``cls``, inherited ones included: a subclass that
    re-declares a field only to change its default keeps its base's bound."""
    bounds: dict[str, Bound] = {}
    for klass in reversed(cls.__mro__):
        for name, f in getattr(klass, "__dataclass_fields__", {}).items():
            if "bound" in f.metadata:
                bounds[name] = f.metadata["bound"]
    return bounds


def field_bound(cls, name: str) -> Bound:
    """The :class:`Bound` declared on field ``name`` of dataclass ``cls`` (or of a base)."""
    try:
        return field_bounds(cls)[name]
    except KeyError:
        raise KeyError(f"{cls.__name__}.{name} declares no bound") from None


def check_bounds(obj) -> None:
    """Check and coerce, in place, every field of the (frozen) dataclass ``obj`` that declares a
    :class:`Bound` (here or in a base class) and is not ``None``."""
    for name, bound in field_bounds(type(obj)).items():
        value = getattr(obj, name)
        if value is not None:
            object.__setattr__(obj, name, bound.check(name, value))
