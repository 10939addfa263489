"""Paper-scale results committed with the book: compact, verified exports of run records.

A record (``runs/<kind>/<hash>/``, :mod:`mgdl_core.runs.records`) holds everything a run left, the
trained weights included. A *result* is what a book page needs of a record made elsewhere (a
long paper-profile run on some machine), small enough to commit:

    results/<kind>/<name>/
        config.json      the record's configuration, as it was ({"kind", "config"})
        result.json      provenance (git SHA, device, library and torch versions, date, wall
                         time, the record's hash), final metrics, how the arrays were thinned,
                         the SHA-256 of every file, and a seal over all of it
        history.npz      the record's history: per-row series (loss, epoch, grade) thinned to at
                         most ``max_rows`` rows, all rows up to ``whole_epochs`` kept (what a
                         replay compares); spectra and other per-checkpoint arrays whole
        predictions.npz  the test predictions: a synthetic run's thinned to at most 1,000 points,
                         an image task's (the reconstructed image) whole

No pickles, no weights. :func:`export_result` writes one (``mgdl export``), :func:`read_result`
reads it back as a :class:`~mgdl_core.tasks.base.RunSummary` (verified: seal, file digests,
the configuration still a valid configuration of this code with the same content hash), and
:func:`replay_result` re-trains its first epochs with the current code and compares the loss
history, so a result that no longer matches the code fails (tests/test_results.py).
"""
from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.training import Outcome
from ..errors import ConfigError, CorruptRecord, UnreadableRecord
from ..runtime import default_folder
from ..tasks.fit import RunSummary
from ..tasks.kinds import KINDS
from .files import (TEMPORARY, json_bytes, json_safe, npz_bytes, parse_json, parse_npz, remove_path, replace_folder,
                    seal_digest, sha256_hex, sigterm_interrupts, write_failed, write_synced, writer_alive)
from .records import hashed_fields, matching_digest, read_record

RESULT_FILES = ("config.json", "history.npz", "predictions.npz")
_NAME_MAX = 100  # characters of a result's name
_NAME = re.compile(rf"[A-Za-z0-9_-][A-Za-z0-9._-]{{0,{_NAME_MAX - 1}}}")  # whole: fullmatch, not match
# Per-checkpoint arrays (spectra): never thinned, whatever their length.
_SPECTRUM_KEYS = ("eig_", "lambda_max", "hessian_norm")
RESULT_VERSION = 1
_PROVENANCE = ("hash", "outcome", "diverged_epoch", "train_loss", "val_loss", "test_loss", "grade_train_losses",
               "epochs_run", "seconds", "seed", "git_sha", "library_version", "created", "config_sha256")


def results_dir() -> Path:
    """``MGDL_RESULTS_DIR`` if set, else the checkout's ``results/`` folder (the committed
    results), else ``results/`` of the working directory for an installed copy."""
    return default_folder("MGDL_RESULTS_DIR", "results")


def _per_row(key: str, value, n: int) -> bool:
    return not key.startswith(_SPECTRUM_KEYS) and np.shape(value)[:1] == (n,)


def _thin_rows(history: dict[str, np.ndarray], max_rows: int, whole_epochs: int) -> dict[str, np.ndarray]:
    epochs = np.asarray(history.get("epoch", ()))
    n = epochs.size
    if n <= max_rows:
        return dict(history)
    head = np.flatnonzero(epochs <= whole_epochs)
    rest = np.setdiff1d(np.arange(n), head)
    room = max(max_rows - head.size, 2)
    keep = np.union1d(head, rest[np.unique(np.linspace(0, rest.size - 1, room).astype(int))])
    if "grade" in history:  # the last row of every grade (its final loss) survives the thinning
        grades = np.asarray(history["grade"])
        keep = np.union1d(keep, np.flatnonzero(np.r_[grades[1:] != grades[:-1], True]))
    return {k: (np.asarray(v)[keep] if _per_row(k, v, n) else v) for k, v in history.items()}


def export_result(record: str | Path, name: str, out: str | Path | None = None, *, max_rows: int = 2_000,
                  whole_epochs: int = 5_000, max_points: int = 1_000, replay: int | None = 0) -> Path:
    """Write the verified record folder ``record`` as the result ``<out>/<kind>/<name>/`` (out:
    :func:`results_dir`) and return its folder. The export is written to a temporary folder, read
    back verified and (``replay`` epochs, None: :func:`replay_epochs`, 0: none; at most the
    record's own) replayed there; only then does it replace an older result of that name, which
    is kept when anything fails (:class:`ReplayMismatch`, a full disk:
    :class:`~mgdl_core.runs.files.WriteFailed`, an interruption: SIGTERM as Ctrl-C), and the
    temporary folder is removed whatever happens.

    Paths are checked, not trusted: ``name`` is refused unless it is 1 to 100 ASCII letters,
    digits, '-', '_' or '.' (not first) (:class:`~mgdl_core.errors.ConfigError`); the record's
    kind must be a known one (:data:`~mgdl_core.tasks.kinds.KINDS`; the record's seal has no key)
    and every folder written must resolve inside ``out`` (no symbolic link out of it), else
    :class:`~mgdl_core.errors.CorruptRecord` or ``ConfigError`` before anything is written."""
    _check_name(name)
    rec = read_record(record)  # verified, or CorruptRecord
    if rec.kind not in KINDS:  # before any path is built from it
        raise CorruptRecord(rec.folder, "config.json", f"unknown kind {rec.kind[:40]!r}")
    if rec.meta.get("outcome") not in (Outcome.COMPLETED, Outcome.EARLY_STOPPED, Outcome.DIVERGED):
        raise ConfigError(f"{record} did not finish (outcome {rec.meta.get('outcome')!r})")
    sealed = parse_json(rec.folder, "summary.json", (rec.folder / "summary.json").read_bytes()).get("sha256")
    history = _thin_rows(rec.history, max_rows, whole_epochs)
    pred = rec.predictions
    # a synthetic run's test curve is thinned; an image task's prediction is the image, kept whole
    thin = KINDS[rec.kind].thin_predictions
    step = max(1, math.ceil(np.asarray(pred["test_x"]).shape[0] / max_points)) if thin else 1
    # a user's image by its hash and file name (no local path leaves the machine); the numeric path
    # is in the digest below, not a field of the configuration
    config = {k: v for k, v in hashed_fields(rec.config, rec.kind).items() if k != "numeric_path"}
    # the record's own digest where it is one of this configuration's names (its numeric path is the
    # record's, not this machine's setting), else this machine's
    digest = matching_digest(rec.kind, config, rec.meta.get("config_sha256"))
    blobs = {"config.json": json_bytes({"kind": rec.kind, "config": config}),
             "history.npz": npz_bytes(history),
             "predictions.npz": npz_bytes({k: np.asarray(v)[::step] for k, v in pred.items()})}
    meta = json_safe({
        "result_version": RESULT_VERSION, "kind": rec.kind, **{k: rec.meta.get(k) for k in _PROVENANCE},
        **{k: v for k, v in rec.meta.items() if k.startswith("env_")},
        "thinning": {"max_rows": max_rows, "whole_epochs": whole_epochs, "prediction_step": step,
                     "rows": int(np.size(history.get("epoch", ()))), "record_rows": int(np.size(rec.history.get("epoch", ())))},
        "config_sha256": digest, "hash": digest[:16],
        "record_sha256": sealed,
        "files": {k: sha256_hex(v) for k, v in blobs.items()},
    })
    meta["sha256"] = seal_digest(meta)
    root = Path(out or results_dir())
    kind_dir = root / rec.kind
    try:
        kind_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{kind_dir}: cannot create the folder ({exc.strerror or exc})") from None
    folder, tmp = _inside(root, kind_dir / name), _inside(root, kind_dir / f".{name}.tmp-{os.getpid()}")
    _remove_dead_temporaries(kind_dir, name)
    remove_path(tmp)  # this pid's own, left by a process that had it before
    with sigterm_interrupts():  # SIGTERM runs the finally below, as Ctrl-C does
        try:
            try:
                tmp.mkdir()
                for file, data in {**blobs, "result.json": json_bytes(meta)}.items():
                    write_synced(tmp / file, data)
            except OSError as exc:
                raise write_failed(f"the result {folder}", exc) from exc
            result = read_result(tmp)
            epochs = replay_epochs(result) if replay is None else replay
            if epochs:
                check = replay_result(result, epochs)
                if not check.ok:
                    raise ReplayMismatch(f"{record}: the current code does not reproduce its first {check.epochs:,} "
                                         f"epochs ({check}); nothing was exported")
            try:
                replace_folder(tmp, folder)  # an older result moves aside until this one is in place
            except OSError as exc:
                raise write_failed(f"the result {folder}", exc) from exc
        finally:
            remove_path(tmp)
    return folder


def _check_name(name) -> str:
    """``name`` if it can name a result (a folder: 1 to 100 ASCII letters, digits,
    '-', '_' or '.', not first: no separator, no control character, not '..'), else a one-line
    :class:`~mgdl_core.errors.ConfigError`."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        long = isinstance(name, str) and len(name) > 60
        shown = f"{name[:60]!r}… ({len(name)} characters)" if long else repr(name)
        raise ConfigError(f"a result name is 1 to {_NAME_MAX} ASCII letters, digits, '-', '_' or '.' "
                          f"(not first), got {shown}")
    return name


def _inside(root: Path, path: Path) -> Path:
    """``path`` if it resolves inside ``root`` (resolved: no symbolic link leads out), else
    :class:`~mgdl_core.errors.ConfigError`."""
    base, resolved = root.resolve(), path.resolve()
    if resolved == base or not resolved.is_relative_to(base):
        raise ConfigError(f"{path} resolves to {resolved}, outside {base}: refused (a symbolic link?)")
    return path


def _remove_dead_temporaries(kind_dir: Path, name: str) -> None:
    """The temporary folders of earlier exports of ``name`` whose process is gone."""
    prefix = f".{name}.tmp-"
    for p in kind_dir.iterdir():
        if p.name.startswith(prefix) and TEMPORARY.match(p.name) and not writer_alive(p.name):
            remove_path(p)


class ReplayMismatch(RuntimeError):
    """A result whose first epochs the current code does not reproduce."""


@dataclass(frozen=True)
class Result:
    """A verified result: its run (a :class:`RunSummary`, no weights) and its provenance."""

    folder: Path
    run: RunSummary
    meta: dict

    @property
    def short_sha(self) -> str:
        """The git SHA it was computed at, 7 digits, "-dirty" when the tree had uncommitted changes."""
        sha = str(self.meta.get("git_sha", "?"))
        return sha[:7] + ("-dirty" if sha.endswith("-dirty") else "")

    @property
    def caption(self) -> str:
        """Where and how it was computed, for a figure's caption."""
        m = self.meta
        when, sha = str(m.get("created", ""))[:10], self.short_sha
        return (f"{m.get('epochs_run', 0):,} epochs in {m.get('seconds', 0) / 60:.0f} min on "
                f"{m.get('env_device', '?')} (torch {m.get('env_torch', '?')}, mgdl_core "
                f"{m.get('library_version', '?')} at {sha}, {when})")


def read_result(folder: str | Path) -> Result:
    """The result in ``folder``, verified: its seal, every file's digest, the final metrics against
    the last history rows, and its configuration, which must still be a valid configuration of
    the current code hashing to the hash it was exported under (else
    :class:`~mgdl_core.errors.CorruptRecord`: re-run it or remove it). The seal has no key: this
    catches damage and code drift, not a deliberate forgery (the replay tests the head of the
    history against the code; the rest is the exporter's word)."""
    folder = Path(folder)
    if not (folder / "result.json").is_file():
        raise FileNotFoundError(f"no result in {folder} (result.json missing)")
    meta = parse_json(folder, "result.json", (folder / "result.json").read_bytes())
    sealed = meta.pop("sha256", None)
    if sealed != seal_digest(meta):
        raise CorruptRecord(folder, "result.json", "checksum mismatch: the file was changed or damaged")
    if meta.get("result_version") != RESULT_VERSION:
        raise CorruptRecord(folder, "result.json", f"result version {meta.get('result_version')!r}, "
                                                   f"this library reads {RESULT_VERSION}")
    files = meta.get("files")
    if not isinstance(files, dict):
        raise CorruptRecord(folder, "result.json", "no file digests")
    blobs = {}
    for file in RESULT_FILES:
        path = folder / file
        blobs[file] = path.read_bytes() if path.is_file() else None
        if blobs[file] is None or sha256_hex(blobs[file]) != files.get(file):
            raise CorruptRecord(folder, file, "missing or changed: checksum mismatch")
    doc = parse_json(folder, "config.json", blobs["config.json"])
    kinds = KINDS
    if doc.get("kind") not in kinds or doc.get("kind") != meta.get("kind"):
        raise CorruptRecord(folder, "config.json", f"unknown or mismatched kind {doc.get('kind')!r}")
    try:
        config = kinds[doc["kind"]](**doc["config"])
    except (TypeError, ValueError) as exc:  # verified data this code cannot rebuild: never "corrupt"
        raise UnreadableRecord(folder, str(exc), meta.get("git_sha")) from None
    digest = matching_digest(doc["kind"], dataclasses.asdict(config), meta.get("config_sha256"))
    if digest != meta.get("config_sha256") or digest[:16] != meta.get("hash"):
        raise CorruptRecord(folder, "config.json", f"the current code hashes this configuration to {digest[:16]}, "
                                                   f"the result was exported as {meta.get('hash')}: re-run it")
    history = parse_npz(folder, "history.npz", blobs["history.npz"])
    pred = parse_npz(folder, "predictions.npz", blobs["predictions.npz"])
    try:
        nan = lambda v: math.nan if v is None else float(v)
        n = np.size(history["epoch"])
        if n == 0 or any(np.shape(history[k])[:1] != (n,) for k in ("train_loss", "val_loss")):
            raise ValueError("the loss rows are empty or of unequal length")
        if not {"test_x", "test_pred"} <= pred.keys():
            raise ValueError("test_x or test_pred missing")
        train = nan(meta["train_loss"])
        if meta["outcome"] in (Outcome.COMPLETED, Outcome.EARLY_STOPPED) and not math.isclose(train, float(history["train_loss"][-1]), rel_tol=1e-6):
            raise ValueError(f"the final train loss {train} is not the history's last row")
        run = RunSummary(config=config, outcome=meta["outcome"], diverged_epoch=meta["diverged_epoch"],
                         train_loss=train, val_loss=nan(meta["val_loss"]),
                         test_loss=nan(meta["test_loss"]), epochs_run=int(meta["epochs_run"]),
                         seconds=float(meta["seconds"]), history=history,
                         grade_train_losses=[nan(v) for v in meta["grade_train_losses"]],
                         test_x=pred["test_x"], test_pred=pred["test_pred"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptRecord(folder, "result.json", f"inconsistent ({type(exc).__name__}: {exc})") from None
    return Result(folder, run, meta)


def list_results(out: str | Path | None = None) -> list[Path]:
    """Every result folder under ``out`` (default :func:`results_dir`), sorted."""
    root = Path(out or results_dir())
    return sorted(p.parent for p in root.glob("*/*/result.json") if not p.parent.name.startswith("."))


def load_results(names: dict[str, str], out: str | Path | None = None) -> dict[str, Result]:
    """The results ``{key: "<kind>/<name>"}`` that exist (verified), leaving out missing ones."""
    root = Path(out or results_dir())
    return {key: read_result(root / where) for key, where in names.items() if (root / where / "result.json").is_file()}


@dataclass(frozen=True)
class Replay:
    """A replay of a result's first ``epochs`` with the current code: the largest relative
    difference of the training loss over the rows both have, and whether it is within ``rtol``."""

    epochs: int
    rows: int
    max_rel_diff: float
    rtol: float

    @property
    def ok(self) -> bool:
        return self.rows > 0 and self.max_rel_diff <= self.rtol


def replay_epochs(result: Result) -> int:
    """How far a routine check replays: 1,000 epochs of a synthetic run (about a second), two
    recording periods of an image task (a few seconds at the paper's image sizes); never more
    than the result ran."""
    return min(result.run.config.replay_epochs(), _recorded_epochs(result))


def _recorded_epochs(result: Result) -> int:
    """How many epochs the result's first grade ran (all of a single-network run), or up to
    its divergence: the last epoch of its history's first grade, which thinning keeps."""
    h = result.run.history
    e = np.asarray(h["epoch"])
    g = np.asarray(h["grade"]) if "grade" in h else np.zeros_like(e)
    return int(e[g == g[0]].max()) if e.size else 0


def replay_tolerance(config) -> float:
    """What rounding allows over a replay of 1,000 epochs on another numeric path. Replayed on the
    path that trained it, every committed run reproduces bit for bit (relative difference 0). On
    another path of the same CPU (``MKL_CBWR=COMPATIBLE``, ATen's default kernels and OpenBLAS's
    Haswell ones instead of AVX-512) the §5 and §6 results differed, over their first 1,000
    epochs, by up to 1.3·10⁻³ for MGDL and 4.4·10⁻⁵ for MSDL, and by up to 17 % for SGDL at the
    edge of stability (η = 0.263 and 0.404 on Setting 1: 12 % and 17 %; 8 % and 2 % by epoch 200),
    where GD amplifies a change in the last bit. So 35 % for SGDL (twice the worst seen) and 1 %
    for the others: on another machine a replay of SGDL checks the code only that far."""
    return 0.35 if config.method == "sgdl" else 0.01


def replay_result(result: Result, epochs: int = 1_000, rtol: float | None = None) -> Replay:
    """Re-train ``result``'s configuration for its first ``epochs`` (MGDL: grade 1 only; no
    spectra; at most the epochs its first grade ran) and compare the training loss
    at every row of grade 1 with epoch ≤ ``epochs``, within ``rtol`` (default
    :func:`replay_tolerance`). NaN (or ±inf) on both sides at a row is a match, on one side only
    a mismatch; a record that diverged within ``epochs`` must be replayed to a divergence at the
    same epoch."""
    config = result.run.config
    epochs = min(int(epochs), _recorded_epochs(result))
    changes: dict = {"epochs": epochs, "track_every": 0}
    if config.graded:
        from ..core.nets import mgdl_structure

        grades = len(mgdl_structure(config.structure or config.default_structure()))
        changes["grade_epochs"] = (epochs,) + (0,) * (grades - 1)
    replayed = config.replace(**changes).run()

    def rows(h):
        e = np.asarray(h["epoch"])
        g = np.asarray(h["grade"]) if "grade" in h else np.ones_like(e)
        mask = (e <= epochs) & (g == g[0]) if e.size else np.zeros(0, bool)
        return dict(zip(e[mask].tolist(), np.asarray(h["train_loss"])[mask].tolist()))

    ours, theirs = rows(replayed.history), rows(result.run.history)
    common = sorted(set(ours) & set(theirs))
    a, b = np.array([ours[k] for k in common], dtype=float), np.array([theirs[k] for k in common], dtype=float)
    finite = np.isfinite(a) & np.isfinite(b)
    diffs = np.abs(a - b)[finite] / np.maximum(np.abs(b[finite]), 1e-300)
    # a diverged record replays when the replay diverges at the same epoch, with the same rows before
    same_end = (not result.run.diverged or result.run.diverged_epoch > epochs
                or (replayed.diverged and replayed.diverged_epoch == result.run.diverged_epoch))
    if not common or (np.isfinite(a) != np.isfinite(b)).any() or not same_end:
        worst = math.inf
    else:
        worst = float(np.max(diffs)) if diffs.size else 0.0
    return Replay(epochs, len(common), worst, replay_tolerance(config) if rtol is None else rtol)


def provenance_text(results) -> str:
    """Each result's method and :attr:`Result.caption`, for a figure's caption ("none yet")."""
    return "; ".join(f"{r.run.config.method.upper()}: {r.caption}" for r in results) or "none yet"


def result_text(result: Result) -> str:
    """One line per result for a README or a log."""
    r = result.run
    return f"{result.folder.parent.name}/{result.folder.name}: {r.outcome}, train loss {r.train_loss:.3g}; {result.caption}"
