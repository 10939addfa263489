"""Progress of a run where someone watches it, wherever that is.

- on a terminal: a tqdm bar, updated every few epochs with the loss and the rate;
- in a Jupyter kernel: the same bar as a widget (``tqdm.auto``);
- anywhere else (``nohup``, a batch scheduler's log, a pipe): one status line every
  :data:`STATUS_EVERY_S` seconds (``MGDL_STATUS_EVERY`` overrides it) with the epoch, loss,
  rate and time left, so a log shows life without filling with carriage returns;
- nothing when asked (``disable=True``, the command line's ``--quiet``) or when
  ``TQDM_DISABLE`` is set (the book's runner and the tests set it: a static page shows no bars).

:func:`progress_meter` picks one of these; :class:`ProgressBar` is the training loop's callback
(:func:`mgdl_core.core.training.train`) on top of it, and sweeps count their runs with it.
"""
from __future__ import annotations

import os
import sys
import time
from typing import TextIO

from ..runtime import env_number
from .training import Callback, TrainState

STATUS_EVERY_S = 60.0  # seconds between two status lines when the output is not a terminal
_TRUE = ("1", "on", "true", "yes")


def _in_kernel() -> bool:
    """Whether this process is a Jupyter kernel (where ``tqdm.auto`` draws a widget)."""
    shell = sys.modules.get("IPython")
    try:
        ip = shell.get_ipython() if shell is not None else None
    except Exception:  # noqa: BLE001 - an odd IPython must not break a run
        return False
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def progress_mode(disable: bool | None = None, stream: TextIO | None = None) -> str:
    """``"off"``, ``"bar"`` (a terminal or a Jupyter kernel) or ``"lines"`` (anywhere else)."""
    if disable or os.environ.get("TQDM_DISABLE", "").strip().lower() in _TRUE:
        return "off"
    stream = stream or sys.stderr
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # a closed or odd stream
        tty = False
    return "bar" if tty or _in_kernel() else "lines"


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    h, m = divmod(s // 60, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s % 60:02d}s" if m else f"{s}s")


class StatusLines:
    """tqdm's ``update``/``set_postfix``/``close`` as one plain line every ``every_s`` seconds
    (and one when it closes, if it printed any): ``desc: 1200/30000 epoch (4%), loss=…, lr=…,
    2m10s elapsed, ~52m left``."""

    def __init__(self, total: int | None, desc: str = "", unit: str = "it", initial: int = 0,
                 every_s: float | None = None, file: TextIO | None = None):
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        self.every_s = STATUS_EVERY_S if every_s is None else every_s
        self.file = file or sys.stderr
        self._start_n, self._start = initial, time.monotonic()
        self._last, self._printed, self._postfix = self._start, None, {}

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if n and now - self._last >= self.every_s:
            self._last = now
            self._print(now)

    def set_postfix(self, **kw) -> None:
        self._postfix = kw

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self._start
        count = f"{self.n}/{self.total}" if self.total else f"{self.n}"
        share = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        parts = [f"{count} {self.unit}{share}", *(f"{k}={v}" for k, v in self._postfix.items()),
                 f"{_duration(elapsed)} elapsed"]
        done = self.n - self._start_n
        if self.total and 0 < done and self.n < self.total:
            parts.append(f"~{_duration(elapsed / done * (self.total - self.n))} left")
        return (f"{self.desc}: " if self.desc else "") + ", ".join(parts)

    def _print(self, now: float) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {self.line(now)}", file=self.file, flush=True)
        self._printed = self.n

    def close(self) -> None:
        """One last line, if lines were printed and the count moved since the latest."""
        if self._printed is not None and self._printed != self.n:
            self._print(time.monotonic())
        self._printed = None


class _Off:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **kw) -> None:
        pass

    def close(self) -> None:
        pass


def status_every() -> float:
    """Seconds between status lines: ``MGDL_STATUS_EVERY`` if set, else :data:`STATUS_EVERY_S`."""
    given = env_number("MGDL_STATUS_EVERY")
    return STATUS_EVERY_S if given is None else given


def progress_meter(total: int | None, desc: str = "", unit: str = "it", initial: int = 0,
                   disable: bool | None = None):
    """A counter with tqdm's ``update``/``set_postfix``/``close``: a bar, status lines or nothing
    (:func:`progress_mode`)."""
    mode = progress_mode(disable)
    if mode == "off":
        return _Off()
    if mode == "lines":
        return StatusLines(total, desc, unit, initial, every_s=status_every())
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc or None, unit=unit, initial=initial, leave=False)


class ProgressBar(Callback):
    """The progress of one training run (:func:`progress_meter`), with the loss and the rate,
    updated every ``every`` epochs; ``disable=True`` silences it."""

    def __init__(self, every: int = 1000, desc: str = "", disable: bool | None = None):
        self.every, self.desc, self.disable = every, desc, disable

    def on_start(self, state: TrainState) -> None:
        desc = self.desc + (f" grade {state.grade}" if state.grade else "")
        self._bar = progress_meter(state.config.epochs, desc.strip(), "epoch", state.epoch, self.disable)
        self._at = state.epoch

    def on_epoch(self, state: TrainState) -> None:
        if state.history.get("train_loss"):
            self._bar.set_postfix(loss=f"{state.history['train_loss'][-1]:.3e}", lr=f"{state.config.lr:g}")
        self._bar.update(state.epoch - self._at)
        self._at = state.epoch

    def on_end(self, state: TrainState) -> None:
        self.on_epoch(state)
        self._bar.close()

    def on_abort(self, state: TrainState) -> None:
        self._bar.close()
