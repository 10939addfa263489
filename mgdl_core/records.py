"""Durable runs: one record folder per configuration, atomic writes, checkpoints and resume.

A run of configuration ``c`` lives in ``<out>/<kind>/<hash>/`` where ``hash`` is the content
hash of ``c`` (:func:`config_hash`). The folder holds

- ``config.json``   the configuration (and its kind),
- ``summary.json``  outcome, final losses, epochs, wall time, seed, library/torch/numpy versions,
                    git SHA, device,
- ``history.npz``   loss (and later eigenvalue) histories,
- ``predictions.npz`` the test inputs and predictions,
- ``params.pt``     the final parameters: a list of tensors (``torch.load(weights_only=True)``).

No pickles of Python objects anywhere. A record folder appears only complete: it is written
under a temporary name and renamed into place (a rename within one file system is atomic), so
a killed process never leaves a half record that looks complete.

While a run is going, ``<hash>.partial/`` keeps its checkpoint: ``snapshot.pt`` (the
:meth:`~mgdl_core.train.TrainState.snapshot` of the grade in progress, replaced atomically
every ``every_seconds`` and on SIGINT/SIGTERM) and ``grade_<l>.pt`` for each finished MGDL
grade. Asking for the run again resumes from there and ends with the same result as an
uninterrupted run; asking for a finished run returns its record without training.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from . import __version__
from .train import Callback, TrainResult, TrainState

RECORD_VERSION = 1
ROOT = Path(__file__).resolve().parent.parent


class RunInterrupted(KeyboardInterrupt):
    """Raised after a checkpoint was written because SIGINT/SIGTERM arrived."""


def config_hash(kind: str, config) -> str:
    """A stable content hash of a configuration (16 hex digits)."""
    payload = json.dumps({"kind": kind, "config": dataclasses.asdict(config), "v": RECORD_VERSION},
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def git_sha() -> str:
    """The repository's HEAD (with ``-dirty`` when the work tree has changes), or ``unknown``."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_torch_save(obj, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def torch_load(path: Path):
    """Load tensors, lists and dicts only (never arbitrary pickled objects)."""
    return torch.load(path, map_location="cpu", weights_only=True)


class Checkpointer(Callback):
    """Saves :meth:`TrainState.snapshot` every ``every_seconds`` and when SIGINT/SIGTERM
    arrives; after a signal it saves and raises :class:`RunInterrupted`. Signals are acted on
    at the next check (every ``check_every`` epochs), never in the middle of a step."""

    def __init__(self, save: Callable[[dict], None], every_seconds: float = 120.0, check_every: int = 100):
        self.save, self.every_seconds, self.every = save, every_seconds, check_every
        self._signal: int | None = None
        self._old: dict[int, object] = {}

    def on_start(self, state: TrainState) -> None:
        self._last = time.monotonic()
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
        if self._signal is not None or time.monotonic() - self._last >= self.every_seconds:
            self.save(state.snapshot())
            self._last = time.monotonic()
        if self._signal is not None:
            self._restore_handlers()
            raise RunInterrupted(f"interrupted by signal {self._signal} at epoch {state.epoch}; "
                                 "the checkpoint is saved: run the same command again to resume")

    def on_end(self, state: TrainState) -> None:
        if self._signal is not None:  # arrived after the last check: honour it all the same
            self.on_epoch(state)
        self._restore_handlers()

    def on_abort(self, state: TrainState) -> None:
        self._restore_handlers()


class RunStore:
    """The ``.partial`` folder of one run: in-grade snapshot and finished MGDL grades."""

    def __init__(self, folder: Path, every_seconds: float = 120.0):
        self.folder, self.every_seconds = folder, every_seconds

    def snapshot(self) -> dict | None:
        p = self.folder / "snapshot.pt"
        return torch_load(p) if p.exists() else None

    def save_snapshot(self, snap: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_torch_save(snap, self.folder / "snapshot.pt")

    def finished_grades(self) -> list[dict]:
        out, l = [], 1
        while (p := self.folder / f"grade_{l}.pt").exists():
            out.append(torch_load(p))
            l += 1
        return out

    def save_grade(self, grade: int, result: TrainResult) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_torch_save({"params": [t.detach().cpu() for t in result.net.tensors()],
                           "history": {k: torch.as_tensor(v) for k, v in result.history.items()},
                           "outcome": result.outcome, "epochs_run": result.epochs_run,
                           "diverged_epoch": result.diverged_epoch, "seconds": result.seconds},
                          self.folder / f"grade_{grade}.pt")
        snap = self.folder / "snapshot.pt"
        if snap.exists():
            snap.unlink()  # it belonged to the grade just finished

    def checkpointer(self) -> Checkpointer:
        return Checkpointer(self.save_snapshot, self.every_seconds)

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def default_runs_dir() -> Path:
    """Where records go unless told otherwise: ``$MGDL_RUNS_DIR``, else ``runs/`` in the
    project checkout. The notebooks and the command line share it, so they share runs."""
    return Path(os.environ.get("MGDL_RUNS_DIR") or ROOT / "runs")


def record_dir(out: str | Path, kind: str, config) -> Path:
    return Path(out) / kind / config_hash(kind, config)


def write_record(folder: Path, kind: str, summary, environment: dict[str, str]) -> None:
    """Write a finished run's record atomically (temporary folder, then rename)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    cfg = summary.config
    meta = {
        "kind": kind, "hash": folder.name, "record_version": RECORD_VERSION,
        "outcome": summary.outcome, "diverged_epoch": summary.diverged_epoch,
        "train_loss": summary.train_loss, "val_loss": summary.val_loss, "test_loss": summary.test_loss,
        "grade_train_losses": summary.grade_train_losses, "epochs_run": summary.epochs_run,
        "seconds": summary.seconds, "seed": cfg.seed, "git_sha": git_sha(), "library_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **{f"env_{k}": v for k, v in environment.items()},
    }
    (tmp / "config.json").write_text(json.dumps({"kind": kind, "config": dataclasses.asdict(cfg)}, indent=2))
    np.savez(tmp / "history.npz", **summary.history)
    np.savez(tmp / "predictions.npz", test_x=summary.test_x, test_pred=summary.test_pred)
    torch.save([p.detach().cpu() for p in summary.params], tmp / "params.pt")
    # summary.json last: inside the temporary folder it marks the record as complete.
    (tmp / "summary.json").write_text(json.dumps(meta, indent=2, default=_json_default))
    if folder.exists():  # --force: replace the old record
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        os.rename(folder, old)
        os.rename(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, folder)


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o)}")


def read_summary(folder: Path) -> dict:
    """The ``summary.json`` of a record (plus its configuration)."""
    folder = Path(folder)
    meta = json.loads((folder / "summary.json").read_text())
    meta["config"] = json.loads((folder / "config.json").read_text())["config"]
    return meta


def is_complete(folder: Path) -> bool:
    return (Path(folder) / "summary.json").exists()
