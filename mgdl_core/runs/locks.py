"""Record locks: one exclusive, re-entrant lock per record folder, between threads and processes.

:func:`record_lock` holds ``<kind>/.<hash>.lock`` while a run goes from its cache look-up to its
written record (:func:`mgdl_core.runs.recorded.run_recorded`), so an identical run started twice
trains once. POSIX locks with ``flock``; Windows, which has no ``fcntl``, with ``msvcrt.locking``
on byte 0 (a blocked wait polls). Both release with their process, even a killed one. A lock
file planted in a shared runs folder (a link, a FIFO, a folder) is refused, never followed.
"""
from __future__ import annotations

import errno
import io
import logging
import os
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ConfigError
try:  # POSIX: flock; Windows has no fcntl, and locks through msvcrt (the same guarantees: see _lock)
    import fcntl
except ImportError:  # pragma: no cover - exercised by tests/test_lock_portable.py with fcntl hidden
    fcntl = None
try:
    import msvcrt
except ImportError:
    msvcrt = None

_log = logging.getLogger("mgdl_core.runs.records")  # the waiting message's logger, as before the split

_held = threading.local()  # the lock files this thread holds (a lock is re-entrant per thread)
# created when missing, never truncated, never through a symbolic link, never blocking on a FIFO
_LOCK_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_CLOEXEC", 0))
_LOCK_POLL_S = 0.05  # how often a blocked msvcrt lock tries again


def _lock(f, *, blocking: bool) -> None:
    """Take the exclusive lock of the open lock file ``f``; without ``blocking``, raise
    :class:`BlockingIOError` when another holder has it. Both ways release with their process,
    even a killed one: ``flock`` (POSIX), else a lock on byte 0 through ``msvcrt.locking``
    (Windows, where a blocking wait is a poll)."""
    if fcntl is not None:
        fcntl.flock(f, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        return
    if msvcrt is None:
        raise ConfigError("record locking needs fcntl (POSIX) or msvcrt (Windows); this Python has neither")
    while True:
        f.seek(0)
        try:
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
            return
        except OSError:
            if not blocking:
                raise BlockingIOError(errno.EAGAIN, "the record lock is held") from None
        time.sleep(_LOCK_POLL_S)


def _unlock(f) -> None:
    if fcntl is not None:
        fcntl.flock(f, fcntl.LOCK_UN)
    else:
        f.seek(0)
        msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)


def _open_lock(path: Path) -> io.TextIOWrapper:
    """The lock file ``path`` opened to ``flock`` it. Something planted at its name in a shared
    runs folder (a symbolic link to another file, a FIFO, a folder) is refused with a
    :class:`~mgdl_core.errors.ConfigError`, never followed, created or written."""
    if path.is_symlink():  # where O_NOFOLLOW is missing; with it, the open refuses a link anyway
        raise ConfigError(f"{path}: the lock file is a symbolic link: remove it")
    try:
        fd = os.open(path, _LOCK_FLAGS, 0o666)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
            raise ConfigError(f"{path}: not a lock file (a link, folder or FIFO): remove it") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ConfigError(f"{path}: not a lock file: remove it")
    return os.fdopen(fd, "a")


@contextmanager
def record_lock(folder: str | Path) -> Iterator[None]:
    """Hold the exclusive lock of the record ``folder`` (and its ``.partial``): an ``flock`` on
    ``<kind>/.<hash>.lock`` (a ``msvcrt`` lock on Windows: :func:`_lock`). Blocks while another
    process or thread holds it; re-entrant within a thread. The lock file is never deleted (deleting lock files races with their users); the
    lock itself ends with the process that held it, even under SIGKILL."""
    folder = Path(folder)
    path = folder.with_name(f".{folder.name}.lock")
    held: set[str] = _held.__dict__.setdefault("paths", set())
    key = os.path.abspath(path)
    if key in held:
        yield
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _open_lock(path) as f:
        try:
            _lock(f, blocking=False)
        except BlockingIOError:
            _log.warning("mgdl_core: waiting for another process running the same configuration (%s)", folder)
            _lock(f, blocking=True)
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)
            _unlock(f)
