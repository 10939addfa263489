"""Checkpoints of runs in progress: the ``.partial`` folder next to a record, and resume.

While a run is going, ``<out>/<kind>/<hash>.partial/`` keeps its checkpoint: ``snapshot.pt``
(the :meth:`~mgdl_core.core.training.TrainState.snapshot` of the grade in progress, replaced atomically
first ``first_seconds`` after the start, then every ``every_seconds``, and on SIGINT/SIGTERM) and
``grade_<l>.pt`` for each finished MGDL grade. Each file starts with a line holding the SHA-256
of the torch payload that follows (:func:`save_checkpoint`), so a damaged checkpoint is refused
(:class:`~mgdl_core.errors.CorruptRecord`) instead of resuming from garbage. Asking for the run
again resumes from there and ends with the same result as an uninterrupted run
(:func:`mgdl_core.runs.recorded.run_recorded`). Tensors, lists and dicts only: loaded with
``weights_only``, never arbitrary pickles.
"""
from __future__ import annotations

import io
import math
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch

from ..core.training import Callback, Outcome, TrainResult, TrainState
from ..errors import CorruptRecord, check_number
from .files import atomic_write_bytes, sha256_hex, short_error, torch_bytes

CHECKPOINT_HEADER = b"mgdl-checkpoint sha256="


class RunInterrupted(KeyboardInterrupt):
    """Raised after a checkpoint was written because SIGINT/SIGTERM arrived; ``signum`` says which."""

    def __init__(self, message: str, signum: int | None = None):
        super().__init__(message)
        self.signum = signum

    def __reduce__(self):  # keep signum across processes (a sweep's workers)
        return type(self), (str(self), self.signum)


def save_checkpoint(obj, path: Path) -> None:
    """``torch.save(obj)`` behind a line with its SHA-256, written atomically."""
    data = torch_bytes(obj)
    atomic_write_bytes(path, CHECKPOINT_HEADER + sha256_hex(data).encode() + b"\n" + data)


def load_checkpoint(path: Path):
    """A checkpoint written by :func:`save_checkpoint`, verified, loaded with ``weights_only``.
    A damaged one raises :class:`~mgdl_core.errors.CorruptRecord` naming its ``.partial`` folder."""
    path = Path(path)
    head, newline, data = path.read_bytes().partition(b"\n")
    if not head.startswith(CHECKPOINT_HEADER) or not newline:
        raise CorruptRecord(path.parent, path.name, "no checksum line: not an mgdl checkpoint, or cut short")
    if head[len(CHECKPOINT_HEADER):] != sha256_hex(data).encode():
        raise CorruptRecord(path.parent, path.name, "checksum mismatch: damaged or cut short")
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure to load is a corrupt checkpoint
        raise CorruptRecord(path.parent, path.name, f"unreadable: {short_error(exc)}") from None


class Checkpointer(Callback):
    """Saves :meth:`TrainState.snapshot` ``first_seconds`` after training starts (at most, and by
    default, ``every_seconds``), then every ``every_seconds``, and when SIGINT/SIGTERM arrives; after a
    signal it saves and raises :class:`RunInterrupted`. Time and signals are looked at every
    ``check_every`` epochs, never in the middle of a step. One instance serves every grade of
    an MGDL run, so its clock runs on across grades.

    **A checkpoint that cannot be written** (``save`` raises ``OSError``: a full disk) does not
    stop the run: its temporary is gone (:func:`~mgdl_core.runs.files.atomic_write_bytes`), the
    last good checkpoint stays as it was, ``on_failure(exc)`` is called (default: one line on
    stderr, the first time only, :class:`FailureWarning`) and training goes on; the next
    checkpoint is tried at the next interval. A checkpoint costs a few seconds at most, a run
    hours: losing the run to save the checkpoint would be the wrong trade. After a signal the
    run stops all the same, and its message says the checkpoint was not written."""

    def __init__(self, save: Callable[[dict], None], every_seconds: float = 60.0, check_every: int = 100,
                 first_seconds: float | None = None, on_failure: Callable[[OSError], None] | None = None):
        self.save, self.every_seconds, self.every = save, every_seconds, check_every
        self.on_failure = on_failure or FailureWarning()
        self.first_seconds = every_seconds if first_seconds is None else min(first_seconds, every_seconds)
        self._due: float | None = None
        self._signal: int | None = None
        self._old: dict[int, object] = {}

    def on_start(self, state: TrainState) -> None:
        if self._due is None:
            self._due = time.monotonic() + self.first_seconds
        self._signal = None
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, frame) -> None:
        self._signal = signum

    def _restore_handlers(self) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old = {}

    def on_epoch(self, state: TrainState) -> None:
        failed: OSError | None = None
        if self._signal is not None or time.monotonic() >= self._due:
            try:
                self.save(state.snapshot())
            except OSError as exc:  # a full disk: the run goes on (see the class's docstring)
                failed = exc
                self.on_failure(exc)
            self._due = time.monotonic() + self.every_seconds
        if self._signal is not None:
            self._restore_handlers()
            name = signal.Signals(self._signal).name
            saved = ("the checkpoint is saved" if failed is None else
                     f"the checkpoint could not be written ({short_error(failed)}), the last one saved is kept")
            raise RunInterrupted(f"interrupted by {name} at epoch {state.epoch}; {saved}: "
                                 "run the same command again to resume", self._signal)

    def on_end(self, state: TrainState) -> None:
        if self._signal is not None:  # arrived after the last check: honour it all the same
            self.on_epoch(state)
        self._restore_handlers()

    def on_abort(self, state: TrainState) -> None:
        self._restore_handlers()


class FailureWarning:
    """Reports a checkpoint that could not be written as one line on stderr, the first time
    only (a full disk fails every checkpoint after it); ``failed`` is the last such error."""

    def __init__(self):
        self.failed: OSError | None = None

    def __call__(self, exc: OSError) -> None:
        if self.failed is None:
            print(f"mgdl_core: warning: checkpoints are failing ({short_error(exc)}); training goes on, "
                  "and the last checkpoint saved, if any, is kept", file=sys.stderr, flush=True)
        self.failed = exc


def check_interval(name: str, seconds: float) -> float:
    """A checkpoint interval: a finite number of seconds >= 0 (0: at every check)."""
    return check_number(name, seconds, 0.0, math.inf)


class RunStore:
    """The ``.partial`` folder of one run: in-grade snapshot and finished MGDL grades. A checkpoint
    that cannot be written (a full disk) is reported once on stderr (:class:`FailureWarning`,
    shared by the snapshots and the grades) and the run goes on, as :class:`Checkpointer` says."""

    def __init__(self, folder: Path, every_seconds: float = 60.0, first_seconds: float = 10.0):
        self.folder = Path(folder)
        self.every_seconds = check_interval("every_seconds", every_seconds)
        self.first_seconds = check_interval("first_checkpoint_s", first_seconds)
        self.failures = FailureWarning()

    def snapshot(self) -> dict | None:
        p = self.folder / "snapshot.pt"
        return load_checkpoint(p) if p.exists() else None

    def save_snapshot(self, snap: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        save_checkpoint(snap, self.folder / "snapshot.pt")

    def finished_grades(self) -> list[dict]:
        out, l = [], 1
        while (p := self.folder / f"grade_{l}.pt").exists():
            out.append(load_checkpoint(p))
            l += 1
        return out

    def verify(self) -> None:
        """Load every checkpoint file: :class:`~mgdl_core.errors.CorruptRecord` for a damaged one."""
        self.snapshot()
        self.finished_grades()

    def save_grade(self, grade: int, result: TrainResult) -> None:
        """Keep a finished grade. If it cannot be written, the snapshot stays (a resumed run
        finishes this grade from it) and the run goes on."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            save_checkpoint({"params": [t.detach().cpu() for t in result.net.tensors()],
                             "history": {k: torch.as_tensor(v) for k, v in result.history.items()},
                             "outcome": Outcome(result.outcome).value, "epochs_run": result.epochs_run,
                             "diverged_epoch": result.diverged_epoch, "seconds": result.seconds,
                             "step_state": result.step_state},
                            self.folder / f"grade_{grade}.pt")
        except OSError as exc:
            self.failures(exc)
            return
        snap = self.folder / "snapshot.pt"
        if snap.exists():
            snap.unlink()  # it belonged to the grade just finished

    def checkpointer(self) -> Checkpointer:
        return Checkpointer(self.save_snapshot, self.every_seconds, first_seconds=self.first_seconds,
                            on_failure=self.failures)

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
