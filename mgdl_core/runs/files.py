"""Files that are whole or absent: strict JSON, checksums, synced atomic writes and folder
replacement, and the parsers that turn a damaged file into a :class:`~mgdl_core.errors.CorruptRecord`.

The byte level under records (:mod:`mgdl_core.runs.records`), checkpoints
(:mod:`mgdl_core.runs.checkpoints`) and exported results (:mod:`mgdl_core.runs.results`).
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Iterator
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


class WriteFailed(OSError):
    """A record, checkpoint or result that could not be written (a full disk, a lost mount, a
    read-only folder): one line naming what and why. Nothing of it is left behind, and whatever
    was there before (an older record, the last checkpoint) is still there."""

    def __init__(self, message: str, errno: int | None = None):
        super().__init__(errno, message)

    def __str__(self) -> str:
        return str(self.strerror)

    def __reduce__(self):  # so that it crosses a process boundary (a sweep's worker) intact
        return type(self), (self.strerror, self.errno)


def write_failed(what: str | Path, exc: OSError) -> WriteFailed:
    """``exc`` (say ENOSPC) as a :class:`WriteFailed` "cannot write <what>: <why>"."""
    return WriteFailed(f"cannot write {what}: {exc.strerror or short_error(exc)}", exc.errno)


# Open a file to write without following a symbolic link planted at its name.
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def write_synced(path: Path, data: bytes) -> None:
    """Write ``data`` to the new file ``path`` (never through a symbolic link) and fsync it. A
    failed write (ENOSPC, EIO) deletes what it wrote of ``path`` before re-raising."""
    fd = os.open(path, _WRITE_FLAGS, 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise


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
    """Replace ``path`` by ``data`` through a synced temporary: ``path`` is the old file or the
    new one, never a mix; a failed write deletes its temporary and leaves the old file."""
    tmp = path.with_name(f".{path.name}.tmp-{unique_tag()}")
    write_synced(tmp, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


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
        try:
            os.rename(tmp, folder)
        except BaseException:
            os.rename(old, folder)  # the old one back in place: nothing is lost
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, folder)
    fsync_dir(folder.parent)


def writer_alive(name: str) -> bool:
    """Whether the process named in the temporary ``name`` (:data:`TEMPORARY`) still runs. A pid
    is this machine's: a writer on another machine sharing the folder looks dead."""
    pid = int(TEMPORARY.match(name).group(1))
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError, ValueError):  # no such process, or no pid at all
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_path(path: Path) -> None:
    """Delete a file, link or folder tree (not what a link points to); gone already is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Inside the block SIGTERM raises ``KeyboardInterrupt`` as Ctrl-C does, so its ``finally``
    clauses run (removing temporaries) instead of the process vanishing. The main thread only;
    elsewhere, and where SIGTERM is handled already, a no-op."""
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def interrupt(signum, frame):
        stop = KeyboardInterrupt(f"interrupted by {signal.Signals(signum).name}")
        stop.signum = signum  # the CLI exits 128 + signum, as for a run
        raise stop

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


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
