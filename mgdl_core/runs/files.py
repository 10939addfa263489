"""Files that are whole or absent: strict JSON, checksums, synced atomic writes and folder
replacement, and the parsers that turn a damaged file into a :class:`~mgdl_core.errors.CorruptRecord`.

The byte level under records (:mod:`mgdl_core.runs.records`), checkpoints
(:mod:`mgdl_core.runs.checkpoints`) and exported results (:mod:`mgdl_core.runs.results`).
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError, CorruptRecord

# Temporary names: ".<name>.tmp-<pid>-..." (a file or record being written), ".<hash>.old-<pid>-..."
# (a replaced record being deleted). The pid tells check_runs_dir whether the writer still lives.
TEMPORARY = re.compile(r"^\..+\.(?:tmp|old)-(\d+)(?:-.*)?$")


def json_safe(obj):
    """``obj`` as strict JSON can hold it: NaN and ±inf as ``None`` (``null``), NumPy scalars,
    arrays and tensors as Python numbers and lists, tuples as lists, paths as strings."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (np.ndarray, torch.Tensor)):
        return json_safe(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def to_json(obj, **kwargs) -> str:
    """``json.dumps`` of :func:`json_safe` (``obj``); never writes the non-JSON ``NaN``."""
    return json.dumps(json_safe(obj), allow_nan=False, **kwargs)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def seal_digest(meta: dict) -> str:
    """The checksum of a JSON-safe dict, independent of key order and layout."""
    return sha256_hex(json.dumps(meta, sort_keys=True, allow_nan=False, separators=(",", ":")).encode())


def unique_tag() -> str:
    """A name suffix no other writer uses: pid first (for check_runs_dir), then thread and time."""
    return f"{os.getpid()}-{threading.get_ident()}-{time.time_ns()}"


def write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where directories cannot be fsynced)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{unique_tag()}")
    write_synced(tmp, data)
    os.replace(tmp, path)


def torch_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def npz_bytes(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def short_error(exc: BaseException) -> str:
    """An exception as a few words for a one-line message."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:120]}" if text else type(exc).__name__


def ensure_writable(out: str | Path) -> Path:
    """``out`` created (with its parents) and probed by writing and deleting a small file, so a
    folder that cannot take a record is refused before any training, not after it.

    Raises :class:`~mgdl_core.errors.ConfigError` ("--out <path>: <why>") for a path that is a
    file, lies under a file (``/dev/null/x``), cannot be created (``/proc/x``) or written
    (read-only)."""
    path = Path(out)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"--out {path}: exists and is not a folder") from None
    except OSError as exc:
        raise ConfigError(f"--out {path}: cannot create the folder ({exc.strerror or exc})") from None
    probe = path / f".mgdl-probe.tmp-{unique_tag()}"
    try:
        write_synced(probe, b"probe")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"--out {path}: cannot write there ({exc.strerror or exc})") from None
    return path


def json_bytes(obj) -> bytes:
    return to_json(obj, indent=2).encode()


def replace_folder(tmp: Path, folder: Path) -> None:
    """Rename the finished folder ``tmp`` to ``folder``; an existing ``folder`` is moved aside
    first and deleted after, so a reader sees the old one or the new one, never neither."""
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old-{unique_tag()}")
        os.rename(folder, old)
        os.rename(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, folder)
    fsync_dir(folder.parent)


def parse_json(folder: Path, name: str, data: bytes) -> dict:
    try:
        doc = json.loads(data.decode())
    except (UnicodeDecodeError, ValueError) as exc:
        raise CorruptRecord(folder, name, f"not valid JSON: {short_error(exc)}") from None
    if not isinstance(doc, dict):
        raise CorruptRecord(folder, name, "not a JSON object")
    return doc


def parse_npz(folder: Path, name: str, data: bytes) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as exc:  # noqa: BLE001 - any failure to parse is a corrupt file
        raise CorruptRecord(folder, name, f"unreadable: {short_error(exc)}") from None
