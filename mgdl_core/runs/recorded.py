"""Runs through their records: train once, read back verified, resume what was interrupted;
and the runs-folder doctor.

:func:`run_recorded` is the one way a configuration becomes a record (``<out>/<kind>/<hash>/``,
:mod:`mgdl_core.runs.records`) with checkpoints while it trains (:mod:`mgdl_core.runs.checkpoints`);
:func:`load_record` reads one back as a :class:`~mgdl_core.tasks.base.RunSummary`, rebuilding
its configuration by kind (:data:`mgdl_core.tasks.kinds.KINDS`); :func:`find_record` finds the record
a user names (``mgdl show/export RUN``); :func:`check_runs_dir` verifies a whole runs folder.
"""
from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from pathlib import Path

from ..core.training import Outcome
from ..errors import ConfigError, CorruptRecord, UnreadableRecord
from ..runtime import get_device
from ..tasks.base import RunConfig, config_device
from ..tasks.fit import RunSummary
from ..tasks.kinds import KINDS
from .checkpoints import RunStore
from .files import TEMPORARY, ensure_writable, remove_path, writer_alive
from .locks import record_lock
from .records import environment_summary, is_complete, read_record, record_dir, write_record


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
    except (TypeError, ValueError) as exc:  # verified data this code cannot rebuild: never "corrupt"
        raise UnreadableRecord(folder, str(exc), meta.get("git_sha")) from None
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

_HASH = re.compile(r"^[0-9a-f]{16}\Z")
_PREFIX = re.compile(r"^[0-9a-f]{1,16}\Z")


def find_record(out: str | Path, text: str) -> Path:
    """The record ``text`` names: a record folder's path, or the one record under ``out``
    (``<out>/<kind>/<hash>/``) whose hash starts with ``text`` (hex digits, compared as strings
    with the folders' names: never a pattern, never a path). Anything else, no record or more
    than one is a one-line :class:`~mgdl_core.errors.ConfigError`."""
    folder = Path(text)
    if text and _HASH.match(folder.name) and folder.is_dir() and is_complete(folder):
        return folder
    out, prefix = Path(out), text.lower()
    if not _PREFIX.match(prefix):
        raise ConfigError(f"{_shown(text)} is neither a record folder nor a hash prefix (hex digits, at most 16)")
    matches = [f for k in kind_folders(out) for f, partial in run_folders(k)
               if not partial and f.name.startswith(prefix) and is_complete(f)]
    if len(matches) != 1:
        raise ConfigError(f"no record {text!r} under {out}/" if not matches else
                          f"{text!r} matches {len(matches)} records under {out}/; give more of the hash")
    return matches[0]


def _shown(text: str) -> str:
    """``text`` for a one-line message: escaped (repr) and cut short."""
    return repr(text) if len(text) <= 60 else repr(text[:60]) + "…"


def _folders(parent: Path) -> list[Path]:
    """The folders in ``parent`` (none when it is not a folder), sorted."""
    try:
        return sorted(p for p in parent.iterdir() if p.is_dir())
    except (FileNotFoundError, NotADirectoryError):
        return []


def kind_folders(out: Path) -> list[Path]:
    """The kind folders of a runs folder (``<out>/<kind>/``; dot-names are not kinds), sorted."""
    return [k for k in _folders(out) if not k.name.startswith(".")]


_PARTIAL = ".partial"


def run_folders(kind: Path) -> Iterator[tuple[Path, bool]]:
    """``(folder, partial)`` for each record folder ``<hash>/`` (``partial`` false) and each
    checkpoint ``<hash>.partial/`` (true) in the kind folder ``kind``, sorted: the one walk of a
    runs folder that :func:`find_record`, :func:`check_runs_dir` and ``mgdl runs``
    (:func:`~mgdl_core.runs.listing.list_runs`) share."""
    for entry in _folders(kind):
        name = entry.name
        partial = name.endswith(_PARTIAL) and bool(_HASH.match(name[:-len(_PARTIAL)]))
        if partial or _HASH.match(name):
            yield entry, partial


class RunsCheck(list):
    """What :func:`check_runs_dir` found: a list of ``(folder, problem)`` for each record or
    checkpoint that fails (as before), and how many ``records`` and ``checkpoints`` (``.partial``
    folders) it read and how many temporaries of dead writers it ``removed``; ``unreadable`` lists
    ``(folder, why)`` for records that verify but that this code cannot read (never corrupt)."""

    def __init__(self, problems=(), records: int = 0, checkpoints: int = 0, removed: int = 0):
        super().__init__(problems)
        self.records, self.checkpoints, self.removed = records, checkpoints, removed
        self.unreadable: list[tuple[Path, str]] = []

    def __repr__(self) -> str:
        return (f"RunsCheck({list(self)!r}, records={self.records}, checkpoints={self.checkpoints}, "
                f"removed={self.removed})")


def _remove_if_stale(path: Path, stale_after_s: float) -> bool:
    """Delete the temporary ``path`` when its writer is dead (and it is older than
    ``stale_after_s``); whether it did."""
    try:
        age = time.time() - path.lstat().st_mtime
    except FileNotFoundError:
        return False
    if (stale_after_s > 0 and age < stale_after_s) or writer_alive(path.name):
        return False
    remove_path(path)
    return True


def check_runs_dir(out: str | Path, *, remove_stale: bool = True, stale_after_s: float = 0.0) -> RunsCheck:
    """Verify every record (``<out>/<kind>/<hash>/``, read as a run would read it) and every
    ``.partial`` checkpoint under ``out``; return ``(folder, problem)`` for each one that fails
    (the problem is the :class:`~mgdl_core.errors.CorruptRecord` message), as a
    :class:`RunsCheck` that also counts what was read. With ``remove_stale``, temporary leftovers
    of dead writers (``.<name>.tmp-<pid>-…``, ``.<hash>.old-<pid>-…``: the process ``pid`` is gone)
    are deleted, whatever their age unless ``stale_after_s`` says otherwise (a runs folder shared
    between machines, where a live writer elsewhere looks dead here, wants an hour or so)."""
    out = Path(out)
    if not out.is_dir():
        raise ConfigError(f"--out {out}: no such folder")
    check = RunsCheck()

    def sweep_temporary(folder: Path) -> None:
        if remove_stale:
            for p in folder.iterdir():
                if TEMPORARY.match(p.name):
                    check.removed += _remove_if_stale(p, stale_after_s)

    sweep_temporary(out)
    for kind in kind_folders(out):
        sweep_temporary(kind)
        for entry, partial in run_folders(kind):
            try:
                if not partial:
                    check.records += 1
                    load_record(entry)
                else:
                    check.checkpoints += 1
                    sweep_temporary(entry)
                    RunStore(entry).verify()
            except CorruptRecord as exc:
                check.append((entry, str(exc)))
            except UnreadableRecord as exc:
                check.unreadable.append((entry, str(exc)))
            except FileNotFoundError:  # finished or replaced while we looked: nothing to check
                pass
    return check
