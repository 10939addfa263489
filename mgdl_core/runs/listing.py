"""What a runs folder holds, a row per run: finished records, checkpoints of runs in progress,
and records that fail verification (``mgdl runs``).

:func:`list_runs` walks ``<out>/<kind>/`` as the runs-folder doctor does
(:func:`~mgdl_core.runs.recorded.check_runs_dir`: a record is a folder named by its 16-digit hash,
a checkpoint its ``<hash>.partial/``, and dot-names — locks, the temporaries of writers — are
never runs) and reads each one only through the verified readers:
:func:`~mgdl_core.runs.records.read_record` for a record, :class:`~mgdl_core.runs.checkpoints.RunStore`
for a checkpoint. It only reads: unlike the doctor it removes nothing. A checkpoint does not hold
its configuration (only its record will), so a partial row has no method and no learning rate;
a corrupt one names the file that failed (:class:`~mgdl_core.errors.CorruptRecord`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, CorruptRecord
from .checkpoints import RunStore
from .recorded import kind_folders, run_folders
from .records import read_record

RUN_STATES = ("finished", "partial", "corrupt")
_PARTIAL = ".partial"


@dataclass(frozen=True)
class RunRow:
    """One run under a runs folder. ``state`` is ``finished`` (a verified record), ``partial`` (a
    verified checkpoint: ``epoch`` of ``grade``, MGDL's grade in progress, and ``grades_done``) or
    ``corrupt`` (``file`` failed, ``problem`` says why and how to recover). ``train_loss`` and
    ``seconds`` are the record's (NaN: a diverged run), or the checkpoint's so far."""

    kind: str
    hash: str
    folder: Path
    state: str
    method: str | None = None
    lr: float | None = None
    outcome: str | None = None
    epochs: int | None = None
    grade: int | None = None
    grades_done: int = 0
    train_loss: float | None = None
    seconds: float | None = None
    file: str | None = None
    problem: str | None = None

    @property
    def status(self) -> str:
        """The state in words: ``finished``, ``finished (diverged)``, ``partial at epoch 300``,
        ``partial at epoch 100 of grade 2``, ``partial after grade 1``, ``corrupt: params.pt``."""
        if self.state == "finished":
            return "finished" if self.outcome in (None, "completed") else f"finished ({self.outcome})"
        if self.state == "corrupt":
            return f"corrupt: {self.file}"
        if self.epochs is not None:
            return f"partial at epoch {self.epochs:,}" + (f" of grade {self.grade}" if self.grade else "")
        return f"partial after grade {self.grades_done}" if self.grades_done else "partial (no checkpoint yet)"

    def as_dict(self) -> dict:
        return {"kind": self.kind, "hash": self.hash, "folder": str(self.folder), "state": self.state,
                "status": self.status, "method": self.method, "lr": self.lr, "outcome": self.outcome,
                "epochs": self.epochs, "grade": self.grade, "grades_done": self.grades_done,
                "train_loss": self.train_loss, "seconds": self.seconds, "file": self.file, "problem": self.problem}


def _last(history: dict, key: str = "train_loss") -> float | None:
    values = history.get(key) if isinstance(history, dict) else None
    try:
        return float(values[-1]) if values is not None and len(values) else None
    except (TypeError, ValueError, IndexError):
        return None


def _finished(kind: str, folder: Path) -> RunRow:
    rec = read_record(folder)  # verified: CorruptRecord names the file that fails
    meta, config = rec.meta, rec.config
    nan = lambda v: math.nan if v is None else float(v)
    lr = config.get("lr")
    return RunRow(kind, folder.name, folder, "finished", method=config.get("method"),
                  lr=float(lr) if isinstance(lr, (int, float)) else None, outcome=meta.get("outcome"),
                  epochs=meta.get("epochs_run"), train_loss=nan(meta.get("train_loss")),
                  seconds=nan(meta.get("seconds")))


def _partial(kind: str, folder: Path) -> RunRow:
    store = RunStore(folder)
    grades = store.finished_grades()  # verified, like the snapshot
    snap = store.snapshot()
    seconds = sum(float(g.get("seconds") or 0.0) for g in grades)
    loss = _last(grades[-1].get("history", {})) if grades else None
    if snap is not None:
        seconds += float(snap.get("seconds") or 0.0)
        loss = _last(snap.get("history", {}))
    epoch = None if snap is None else snap.get("epoch")
    grade = None if snap is None else snap.get("grade")
    return RunRow(kind, folder.name[:-len(_PARTIAL)], folder, "partial",
                  epochs=None if epoch is None else int(epoch), grade=None if grade is None else int(grade),
                  grades_done=len(grades), train_loss=loss, seconds=seconds if (snap or grades) else None)


def _sort_key(row: RunRow):
    return (row.kind, row.method is None, row.method or "", math.inf if row.lr is None else row.lr,
            row.hash, row.state == "partial")


def list_runs(out: str | Path, kind: str | None = None, method: str | None = None,
              state: str | None = None) -> list[RunRow]:
    """A :class:`RunRow` per record folder ``<out>/<kind>/<hash>/`` and per checkpoint
    ``<hash>.partial/``, sorted by kind, method, learning rate and hash (partial and corrupt rows,
    with no method, last in their kind); only those of ``kind`` (a kind folder's name), ``method``
    (finished records: a checkpoint does not say) and ``state`` (one of :data:`RUN_STATES`) when
    given. Reads only; a missing or non-folder ``out`` is a :class:`~mgdl_core.errors.ConfigError`."""
    if state is not None and state not in RUN_STATES:
        raise ConfigError(f"state {state!r}: use one of {', '.join(RUN_STATES)}")
    out = Path(out)
    if not out.is_dir():
        raise ConfigError(f"--out {out}: " + ("not a folder" if out.exists() else "no such folder"))
    rows = []
    for kind_dir in kind_folders(out):
        if kind is not None and kind_dir.name != kind:
            continue
        for entry, partial in run_folders(kind_dir):
            name = entry.name
            try:
                rows.append((_partial if partial else _finished)(kind_dir.name, entry))
            except CorruptRecord as exc:
                rows.append(RunRow(kind_dir.name, name[:16], entry, "corrupt", file=exc.file, problem=str(exc)))
            except FileNotFoundError:  # finished, replaced or discarded while we looked
                pass
    rows = [r for r in rows if (method is None or r.method == method) and (state is None or r.state == state)]
    return sorted(rows, key=_sort_key)


def _seconds(s: float | None) -> str:
    if s is None or not math.isfinite(s):
        return "-"
    if s < 60:
        return f"{s:.1f}s"
    if s < 3600:
        return f"{int(s // 60)}m{int(s % 60):02d}s"
    return f"{int(s // 3600)}h{int(s % 3600 // 60):02d}m"


def runs_table(rows: list[RunRow], hash_digits: int = 8) -> list[str]:
    """The rows as an aligned text table (a line each, under a header): kind, hash (its first
    ``hash_digits``, enough for ``mgdl show``), method, learning rate, state, train loss, wall time."""
    dash = lambda v, fmt: "-" if v is None else format(v, fmt)
    cells = [("kind", "hash", "method", "lr", "state", "train loss", "time")] + [
        (r.kind, r.hash[:hash_digits], r.method or "-", dash(r.lr, ".4g"), r.status,
         dash(r.train_loss, ".4e"), _seconds(r.seconds)) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    right = {3, 5, 6}  # numbers
    return ["  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()
            for row in cells]


def runs_count(rows: list[RunRow], out: str | Path, filters: str = "") -> str:
    """The line under ``mgdl runs``' table: how many runs, by state."""
    counts = {state: sum(r.state == state for r in rows) for state in RUN_STATES}
    return (f"{len(rows)} run{'s' * (len(rows) != 1)} under {out}" + (f" ({filters})" if filters else "") + ": "
            + ", ".join(f"{n} {state}" for state, n in counts.items() if n)
            + ("; `mgdl doctor` says why each corrupt one fails" if counts["corrupt"] else ""))
