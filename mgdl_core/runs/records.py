"""Durable runs: one verified record folder per configuration, locks, checkpoints and resume.

A run of configuration ``c`` lives in ``<out>/<kind>/<hash>/`` where ``hash`` is the content
hash of ``c`` (:func:`config_hash`). The folder holds

- ``config.json``   the configuration (and its kind),
- ``summary.json``  outcome, final losses, epochs, wall time, seed, library/torch/numpy versions,
                    git SHA, device, and the checksums that make the record verifiable,
- ``history.npz``   loss (and later eigenvalue) histories,
- ``predictions.npz`` the test inputs and predictions,
- ``params.pt``     the final parameters: a list of tensors (``torch.load(weights_only=True)``).

No pickles of Python objects anywhere.

**Verified on every read.** ``summary.json`` carries the SHA-256 of every other file
(``files``), of the configuration's hash payload (``config_sha256``, whose first 16 hex digits
are the folder's name) and of itself (``sha256``, over its other fields). :func:`read_record`
checks all of them and that every file parses; a record that fails raises
:class:`~mgdl_core.errors.CorruptRecord` ("corrupt: <file> (why) — delete <folder> or run with
--force") and is never served. Records of version 1 (written before checksums) cannot be
verified and are reported the same way, as outdated; since the version is part of the hash they
are never looked up by a current run (they are caches: the run is simply trained again).

**JSON.** ``summary.json`` and ``config.json`` are strict JSON: NaN and ±infinity (a diverged
run's losses) are written as ``null`` (:func:`json_safe`), and read back as ``math.nan``.

**Atomic, locked writes.** A record folder appears only complete: it is written under a
temporary name (``.<hash>.tmp-<pid>-…``) and renamed into place. Writers of one record take its
lock (``<kind>/.<hash>.lock``, :func:`~mgdl_core.runs.locks.record_lock`), and :func:`~mgdl_core.runs.recorded.run_recorded`
holds it from the cache look-up to the written record, so an identical run started twice trains
once: the second waits, then reads (the lock itself, POSIX and Windows: :mod:`mgdl_core.runs.locks`). Readers take no lock: they read every file through one
handle on the folder, so a record replaced meanwhile (``--force``) is seen whole, old or new.

**Checkpoints** of runs in progress (``<hash>.partial/``) are :mod:`mgdl_core.runs.checkpoints`.

The byte level (strict JSON, checksums, atomic writes) is :mod:`mgdl_core.runs.files`; running a
configuration through its record, reading one back as a summary and the runs-folder doctor
(:func:`~mgdl_core.runs.recorded.check_runs_dir`) are :mod:`mgdl_core.runs.recorded`.
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

import numpy as np
import torch

from .. import __version__
from ..errors import ConfigError, CorruptRecord
from ..runtime import PROJECT_ROOT, checkout_root, default_folder, get_device

from .locks import record_lock
from .numeric_paths import NATIVE_PATH, PATH_KEY, REFERENCE_PATH, cpu_paths, path_fields
from .files import (TEMPORARY, json_bytes, json_safe, npz_bytes, parse_json, parse_npz, remove_path, replace_folder,
                    seal_digest, sha256_hex, short_error, torch_bytes, unique_tag, write_failed, write_synced)

RECORD_VERSION = 2  # 2: checksums; part of the configuration hash, so v1 records are not looked up
# The files whose SHA-256 summary.json lists (summary.json itself is written last).
RECORD_FILES = ("config.json", "history.npz", "predictions.npz", "params.pt")


# ---------------------------------------------------------------------------------------- JSON

def _default_device(device) -> bool:
    """Whether ``device`` names the device ``None`` means here (``"cpu"`` on a machine without
    CUDA, ``"cuda"``/``"cuda:0"`` on one with it): the same computation as ``None``."""
    try:
        asked, default = torch.device(device), get_device(None)
    except (RuntimeError, TypeError, ValueError):
        return False
    return asked.type == default.type and (asked.index or 0) == (default.index or 0)


def hashed_fields(config: dict, kind: str | None = None) -> dict:
    """What a configuration's hash covers: every field, but one computation one hash — a user's
    image file by its SHA-256 and its file name, not by the folder it lies in (a record, and an
    exported result, which keeps only the name, is the same computation wherever the file is),
    a device that is this machine's default as ``None`` (``device="cpu"`` on a CPU machine is
    ``device=None`` there), and the numeric path where it is not the default one:
    :data:`NATIVE_PATH` where the run takes the C kernel (``MGDL_NATIVE=1``, a task of ``kind``
    it serves), :data:`REFERENCE_PATH` where a run that could take the fused step takes the
    reference one (``MGDL_FUSED=0``). The records of two paths never mix."""
    out = config
    image = config.get("image")
    if config.get("image_sha256") and isinstance(image, str):
        out = {**out, "image": PurePath(image).name}
    if config.get("device") is not None and _default_device(config["device"]):
        out = {**out, "device": None}
    return {**{k: v for k, v in out.items() if k != PATH_KEY}, **path_fields(kind, config)}


def _digest(kind: str, fields: dict, version: int = RECORD_VERSION) -> str:
    payload = json.dumps({"kind": kind, "config": fields, "v": version}, sort_keys=True, default=str)
    return sha256_hex(payload.encode())


def config_digest(kind: str, config: dict, version: int = RECORD_VERSION, *, legacy: bool = False) -> str:
    """The SHA-256 of a configuration's :func:`hashed_fields` (``legacy``: of every field as
    written, the rule before these normalisations, so older records still verify)."""
    return _digest(kind, config if legacy else hashed_fields(config, kind), version)


def matching_digest(kind: str, config: dict, expected: str | None) -> str:
    """The digest of ``config`` that a record or result was sealed with, among the names one
    configuration may have had on any machine: this machine's :func:`hashed_fields`, every field
    as written (older records), the device as ``None`` (sealed where that device was the
    default), with or without :data:`REFERENCE_PATH` or :data:`NATIVE_PATH` (sealed on another path);
    this machine's digest when none matches (the caller reports the mismatch)."""
    here = config_digest(kind, config)
    if here == expected:
        return here
    base = {k: v for k, v in hashed_fields(config, kind).items() if k != PATH_KEY}
    names = [config, {**config, "device": None}, base, {**base, "device": None}]
    for fields in names + [{**f, **path} for path in (REFERENCE_PATH, NATIVE_PATH) for f in names[2:]]:
        if _digest(kind, fields) == expected:
            return expected
    return here


def config_hash(kind: str, config) -> str:
    """A stable content hash of a configuration (16 hex digits): the name of its record folder."""
    return config_digest(kind, dataclasses.asdict(config))[:16]


def git_sha(exclude: Sequence[str | Path] = ()) -> str:
    """The checkout's HEAD (with ``-dirty`` when the work tree has changes), or ``unknown`` (also
    for an installed copy, which names no commit even inside someone else's git repository).
    ``exclude``: files whose changes do not count, e.g. a committed output file the computation
    is itself rewriting (``mgdl paper classical``'s table, dirty from its first cell on)."""
    if checkout_root() is None:
        return "unknown"
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        skip = [f":(exclude){Path(p).resolve()}" for p in exclude]
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", *skip], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# ------------------------------------------------------------------------------------ records

def environment_summary(device: torch.device | None = None) -> dict[str, str]:
    """Versions and device, for run records and the notebooks' provenance cells."""
    import platform

    dev = get_device(device)
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "device": str(dev),
        "threads": str(torch.get_num_threads()),
    }
    if dev.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(dev)
    else:
        info.update(cpu_paths())  # which numeric path a float32 step takes here
        # ATen's kernels (AVX-512, AVX2 or the default ones: ATEN_CPU_CAPABILITY) round differently
        info["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    return info


def default_runs_dir() -> Path:
    """Where records go unless told otherwise: ``$MGDL_RUNS_DIR``, else ``runs/`` in the source
    checkout (the notebooks and the command line share it, so they share runs), else ``runs/``
    of the working directory for an installed copy (:func:`mgdl_core.runtime.default_folder`)."""
    return default_folder("MGDL_RUNS_DIR", "runs")


def record_dir(out: str | Path, kind: str, config) -> Path:
    """``<out>/<kind>/<hash>``; a ``<kind>`` folder that leads outside ``out`` (a symbolic link)
    is a :class:`~mgdl_core.errors.ConfigError`: records are written only inside their folder."""
    kind_dir = Path(out) / kind
    if kind_dir.is_symlink() and not kind_dir.resolve().is_relative_to(Path(out).resolve()):
        raise ConfigError(f"{kind_dir} is a symbolic link out of {out}: records are written only inside it")
    return kind_dir / config_hash(kind, config)


def _remove_leftovers(folder: Path) -> None:
    """Temporary folders of this record's earlier writers: dead, since every writer holds the lock."""
    prefix = f".{folder.name}."
    for p in folder.parent.iterdir():
        if p.name.startswith(prefix) and TEMPORARY.match(p.name):
            remove_path(p)


def write_record(folder: Path, kind: str, summary, environment: dict[str, str]) -> None:
    """Write a finished run's record: files and checksums into a temporary folder, then renamed
    into place (replacing an older record, as ``--force`` does), under the record's lock.

    A write that fails (a full disk: ENOSPC) raises :class:`~mgdl_core.runs.files.WriteFailed`
    ("cannot write the record <folder>: <why>"), deletes its temporary folder and leaves an
    older record as it was."""
    folder = Path(folder)
    cfg = dataclasses.asdict(summary.config)
    digest = config_digest(kind, cfg)
    if folder.name != digest[:16]:
        raise ValueError(f"a record of this configuration belongs in {digest[:16]}/, not {folder.name}/")
    blobs = {
        "config.json": json_bytes({"kind": kind, "config": cfg}),
        "history.npz": npz_bytes(summary.history),
        "predictions.npz": npz_bytes({"test_x": summary.test_x, "test_pred": summary.test_pred}),
        "params.pt": torch_bytes([p.detach().cpu() for p in summary.params]),
    }
    meta = json_safe({
        "kind": kind, "hash": folder.name, "record_version": RECORD_VERSION,
        "outcome": summary.outcome, "diverged_epoch": summary.diverged_epoch,
        "train_loss": summary.train_loss, "val_loss": summary.val_loss, "test_loss": summary.test_loss,
        "grade_train_losses": summary.grade_train_losses, "epochs_run": summary.epochs_run,
        "seconds": summary.seconds, "seed": summary.config.seed, "git_sha": git_sha(),
        "library_version": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **{f"env_{k}": v for k, v in environment.items()},
        "config_sha256": digest, "files": {name: sha256_hex(data) for name, data in blobs.items()},
    })
    meta["sha256"] = seal_digest(meta)
    blobs["summary.json"] = json_bytes(meta)  # last: inside the temporary folder it marks completion
    with record_lock(folder):
        _remove_leftovers(folder)
        tmp = folder.with_name(f".{folder.name}.tmp-{unique_tag()}")
        try:
            tmp.mkdir()
            for name, data in blobs.items():
                write_synced(tmp / name, data)
            replace_folder(tmp, folder)  # --force: readers see the old record or the new one
        except OSError as exc:
            raise write_failed(f"the record {folder}", exc) from exc
        finally:
            if tmp.exists():  # the write failed or was interrupted
                shutil.rmtree(tmp, ignore_errors=True)


_READ_ATTEMPTS = 100  # x 20 ms: how long a reader waits out a replacement under way


def _read_at(dir_fd: int, name: str) -> bytes | None:
    try:
        with open(name, "rb", opener=lambda p, flags: os.open(p, flags, dir_fd=dir_fd)) as f:
            return f.read()
    except FileNotFoundError:
        return None


# Reading through a handle on the folder needs O_DIRECTORY and dir_fd (POSIX; not Windows).
_DIR_FD = hasattr(os, "O_DIRECTORY") and os.open in os.supports_dir_fd


def _read_files(folder: Path) -> dict[str, bytes | None]:
    """Every file of a record (``None`` for a missing one), read through one handle on the folder,
    so that a record being replaced is read whole, old or new, never a mix. A reader that meets
    the replacement half done (the folder gone, or its files deleted under it) tries again.
    Where folders have no handles (Windows) the files are read by path: a record replaced while
    it is read then fails its checksums (:class:`~mgdl_core.errors.CorruptRecord`) instead."""
    if not _DIR_FD:
        if not folder.is_dir():
            raise FileNotFoundError(f"no record at {folder}")
        return {name: (folder / name).read_bytes() if (folder / name).is_file() else None
                for name in ("summary.json", *RECORD_FILES)}
    for attempt in range(_READ_ATTEMPTS):
        last = attempt == _READ_ATTEMPTS - 1
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except (FileNotFoundError, NotADirectoryError):
            # a replacement under way (the old record moved aside), or one that finished between
            # the open and this look (the new record in place, the old one already deleted); two
            # replacements back to back can hide both for an instant, hence a few tries regardless
            if not last and (attempt < 3 or folder.is_dir() or any(folder.parent.glob(f".{folder.name}.old-*"))):
                time.sleep(0.02)
                continue
            raise FileNotFoundError(f"no record at {folder}") from None
        try:
            inode = os.fstat(fd).st_ino
            blobs = {name: _read_at(fd, name) for name in ("summary.json", *RECORD_FILES)}
        finally:
            os.close(fd)
        if last or all(b is not None for b in blobs.values()) or not _moved(folder, inode):
            return blobs
        time.sleep(0.02)
    raise AssertionError("unreachable")


def _moved(folder: Path, inode: int) -> bool:
    try:
        return os.stat(folder).st_ino != inode
    except FileNotFoundError:
        return True


@dataclass
class Record:
    """A verified record: its summary (``meta``), configuration and arrays."""

    folder: Path
    meta: dict
    kind: str
    config: dict
    history: dict[str, np.ndarray]
    predictions: dict[str, np.ndarray]
    params: list[torch.Tensor]


def read_record(folder: str | Path) -> Record:
    """The record in ``folder``, verified: every checksum, the configuration against the hash
    the folder is named by, and every file parsed. Raises
    :class:`~mgdl_core.errors.CorruptRecord` naming the first file that fails, and
    ``FileNotFoundError`` when there is no record folder at all."""
    folder = Path(folder)
    blobs = _read_files(folder)
    if blobs["summary.json"] is None:
        raise CorruptRecord(folder, "summary.json", "missing: the record is incomplete")
    meta = parse_json(folder, "summary.json", blobs["summary.json"])
    version = meta.get("record_version")
    if version != RECORD_VERSION:
        why = (f"record version {version}, newer than this library's {RECORD_VERSION}"
               if isinstance(version, int) and version > RECORD_VERSION else
               f"outdated record version {version}, written without checksums: it cannot be verified")
        raise CorruptRecord(folder, "summary.json", why)
    sealed = meta.pop("sha256", None)
    if sealed != seal_digest(meta):
        raise CorruptRecord(folder, "summary.json", "checksum mismatch: the file was changed or damaged")
    files = meta.get("files") or {}
    for name in RECORD_FILES:
        if blobs[name] is None:
            raise CorruptRecord(folder, name, "missing")
        if sha256_hex(blobs[name]) != files.get(name):
            raise CorruptRecord(folder, name, "checksum mismatch: the file was changed or damaged")
    doc = parse_json(folder, "config.json", blobs["config.json"])
    kind, config = doc.get("kind"), doc.get("config")
    if not isinstance(kind, str) or not isinstance(config, dict) or kind != meta.get("kind"):
        raise CorruptRecord(folder, "config.json", "no configuration of this record's kind")
    digest = matching_digest(kind, config, meta.get("config_sha256"))
    if digest != meta.get("config_sha256") or digest[:16] != folder.name:
        raise CorruptRecord(folder, "config.json", f"the configuration hashes to {digest[:16]}, "
                                                   f"but the record is filed under {folder.name}")
    history = parse_npz(folder, "history.npz", blobs["history.npz"])
    predictions = parse_npz(folder, "predictions.npz", blobs["predictions.npz"])
    try:
        params = torch.load(io.BytesIO(blobs["params.pt"]), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001
        raise CorruptRecord(folder, "params.pt", f"unreadable: {short_error(exc)}") from None
    if not (isinstance(params, list) and all(isinstance(t, torch.Tensor) for t in params)):
        raise CorruptRecord(folder, "params.pt", "not a list of tensors")
    if not {"test_x", "test_pred"} <= predictions.keys():
        raise CorruptRecord(folder, "predictions.npz", "test_x or test_pred missing")
    return Record(folder, meta, kind, config, history, predictions, params)


def read_summary(folder: str | Path) -> dict:
    """The ``summary.json`` of a verified record (plus its configuration under ``config``)."""
    record = read_record(folder)
    return {**record.meta, "config": record.config}


def is_complete(folder: Path) -> bool:
    """Whether ``folder`` holds a finished record (not whether it verifies: :func:`read_record`)."""
    return (Path(folder) / "summary.json").exists()


# ---------------------------------------------------------------------------------- runs folder

