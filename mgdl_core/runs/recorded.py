"""Runs through their records: train once, read back verified, resume what was interrupted;
and the runs-folder doctor.

:func:`run_recorded` is the one way a configuration becomes a record (``<out>/<kind>/<hash>/``,
:mod:`mgdl_core.runs.records`) with checkpoints while it trains (:mod:`mgdl_core.runs.checkpoints`);
:func:`load_record` reads one back as a :class:`~mgdl_core.tasks.base.RunSummary`, rebuilding
its configuration by kind (:data:`mgdl_core.tasks.kinds.KINDS`); :func:`check_runs_dir` verifies
a whole runs folder.
"""
from __future__ import annotations

import math
import os
import re
import shutil
import time
from pathlib import Path

from ..core.training import Outcome
from ..errors import ConfigError, CorruptRecord
from ..runtime import get_device
from ..tasks.base import RunConfig, RunSummary, config_device
from ..tasks.kinds import KINDS
from .checkpoints import RunStore
from .files import TEMPORARY, ensure_writable
from .records import environment_summary, is_complete, read_record, record_dir, record_lock, write_record


def run_recorded(config: RunConfig, out: str | Path = "runs", *, force: bool = False,
                 every_seconds: float = 60.0, first_checkpoint_s: float = 10.0, callbacks=()) -> RunSummary:
    """The run of ``config`` through its record: returned from ``<out>/<kind>/<hash>/`` when it
    exists (no training, the record verified), else trained — resuming from ``<hash>.partial/``
    when an earlier attempt was interrupted — and recorded. ``force`` re-runs from scratch,
    replacing a record or checkpoint that failed verification.

    Checkpoints are written ``first_checkpoint_s`` after training starts, then every
    ``every_seconds`` (and on SIGINT/SIGTERM). Before any training, ``out`` is created and probed
    (:func:`~mgdl_core.runs.files.ensure_writable`), the device, the memory (:func:`~mgdl_core.tasks.memory.check_memory`)
    and any checkpoint are checked: a refusal is a :class:`~mgdl_core.errors.ConfigError`, a
    damaged record or checkpoint (without ``force``) a :class:`~mgdl_core.errors.CorruptRecord`.

    The record's lock is held from the look-up to the written record, so the same run asked for
    twice at once trains once: the second call waits, then returns the first one's record."""
    folder = record_dir(out, config.kind, config)
    store = RunStore(folder.with_name(folder.name + ".partial"), every_seconds, first_checkpoint_s)
    if not force and is_complete(folder):  # the common case, without waiting for the lock
        return load_record(folder)
    ensure_writable(out)
    config_device(config)
    with record_lock(folder):
        if not force and is_complete(folder):  # recorded by whoever held the lock before us
            return load_record(folder)
        if force:
            store.discard()
        else:
            store.verify()
        summary = config.run(callbacks=callbacks, store=store)
        write_record(folder, config.kind, summary, environment_summary(get_device(config.device)))
        store.discard()
    return summary


def load_record(folder: str | Path) -> RunSummary:
    """A :class:`RunSummary` from a record folder, verified first (tensors and JSON only, no
    pickles): a record that fails raises :class:`~mgdl_core.errors.CorruptRecord`."""
    rec = read_record(folder)
    meta, folder = rec.meta, rec.folder
    kinds = KINDS
    if rec.kind not in kinds:
        raise CorruptRecord(folder, "config.json", f"unknown kind {rec.kind!r}")
    try:
        config = kinds[rec.kind](**rec.config)
    except (TypeError, ValueError) as exc:
        raise CorruptRecord(folder, "config.json", f"not a valid configuration: {exc}") from None
    nan = lambda v: math.nan if v is None else float(v)
    try:
        return RunSummary(config=config, outcome=Outcome(meta["outcome"]), diverged_epoch=meta["diverged_epoch"],
                          train_loss=nan(meta["train_loss"]), val_loss=nan(meta["val_loss"]),
                          test_loss=nan(meta["test_loss"]), epochs_run=int(meta["epochs_run"]),
                          seconds=float(meta["seconds"]), history=rec.history,
                          grade_train_losses=[nan(v) for v in meta["grade_train_losses"]],
                          test_x=rec.predictions["test_x"], test_pred=rec.predictions["test_pred"],
                          params=rec.params)
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptRecord(folder, "summary.json", f"a field is missing or wrong ({type(exc).__name__}: {exc})") from None


# ---------------------------------------------------------------------------------- runs folder

_HASH = re.compile(r"^[0-9a-f]{16}$")


def _writer_alive(name: str) -> bool:
    pid = int(TEMPORARY.match(name).group(1))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _remove_if_stale(path: Path, stale_after_s: float) -> None:
    try:
        age = time.time() - path.lstat().st_mtime
    except FileNotFoundError:
        return
    if age > stale_after_s and not _writer_alive(path.name):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def check_runs_dir(out: str | Path, *, remove_stale: bool = True,
                   stale_after_s: float = 3600) -> list[tuple[Path, str]]:
    """Verify every record (``<out>/<kind>/<hash>/``, read as a run would read it) and every
    ``.partial`` checkpoint under ``out``; return ``(folder, problem)`` for each one that fails
    (the problem is the :class:`~mgdl_core.errors.CorruptRecord` message). With
    ``remove_stale``, temporary leftovers of killed writers (``.<name>.tmp-<pid>-…``,
    ``.<hash>.old-<pid>-…``) older than ``stale_after_s`` whose process is gone are deleted."""
    out = Path(out)
    if not out.is_dir():
        raise ConfigError(f"--out {out}: no such folder")
    problems: list[tuple[Path, str]] = []

    def sweep_temporary(folder: Path) -> None:
        if remove_stale:
            for p in folder.iterdir():
                if TEMPORARY.match(p.name):
                    _remove_if_stale(p, stale_after_s)

    sweep_temporary(out)
    for kind in sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")):
        sweep_temporary(kind)
        for entry in sorted(kind.iterdir()):
            name = entry.name
            try:
                if _HASH.match(name) and entry.is_dir():
                    load_record(entry)
                elif name.endswith(".partial") and _HASH.match(name[:-len(".partial")]) and entry.is_dir():
                    sweep_temporary(entry)
                    RunStore(entry).verify()
            except CorruptRecord as exc:
                problems.append((entry, str(exc)))
            except FileNotFoundError:  # finished or replaced while we looked: nothing to check
                pass
    return problems
