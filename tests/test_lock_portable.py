"""Record locking without ``fcntl`` (Windows): the library imports, and the ``msvcrt`` path of
:func:`mgdl_core.runs.locks.record_lock` gives the same guarantees — exclusion between threads
and processes' handles, a blocking wait that ends when the holder releases, re-entrancy.

``msvcrt`` exists only on Windows; here a stand-in implements its ``locking`` contract (a
non-blocking lock of a byte range that raises ``OSError`` when held elsewhere) with a
non-blocking ``flock``, so the code path under test is the library's own polling loop."""
from __future__ import annotations

import errno
import fcntl
import subprocess
import sys
import threading
import time
import types

import pytest

from mgdl_core.runs import locks


def _fake_msvcrt() -> types.SimpleNamespace:
    def locking(fd: int, mode: int, nbytes: int) -> None:
        assert nbytes == 1
        if mode == 2:  # LK_NBLCK
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise OSError(errno.EACCES, "Permission denied") from None
        elif mode == 0:  # LK_UNLCK
            fcntl.flock(fd, fcntl.LOCK_UN)
        else:
            raise AssertionError(f"unexpected locking mode {mode}")
    return types.SimpleNamespace(LK_NBLCK=2, LK_UNLCK=0, locking=locking)


@pytest.fixture
def no_fcntl(monkeypatch):
    monkeypatch.setattr(locks, "fcntl", None)
    monkeypatch.setattr(locks, "msvcrt", _fake_msvcrt())
    monkeypatch.setattr(locks, "_LOCK_POLL_S", 0.01)


def test_library_imports_without_fcntl():
    code = ("import sys; sys.modules['fcntl'] = None\n"
            "import mgdl_core, mgdl_core.runs.locks as r, mgdl_core.runs.records, mgdl_core.cli\n"
            "assert r.fcntl is None\nprint('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_lock_excludes_and_waits_without_fcntl(no_fcntl, tmp_path):
    folder = tmp_path / "synthetic" / "abc"
    entered, release, order = threading.Event(), threading.Event(), []

    def holder():
        with locks.record_lock(folder):
            order.append("holder in")
            entered.set()
            release.wait(10)
            order.append("holder out")

    def waiter():
        entered.wait(10)
        with locks.record_lock(folder):
            order.append("waiter in")

    threads = [threading.Thread(target=holder), threading.Thread(target=waiter)]
    for t in threads:
        t.start()
    entered.wait(10)
    time.sleep(0.2)  # the waiter polls the held lock meanwhile
    assert order == ["holder in"]
    release.set()
    for t in threads:
        t.join(10)
    assert order == ["holder in", "holder out", "waiter in"]


def test_lock_is_reentrant_and_released_without_fcntl(no_fcntl, tmp_path):
    folder = tmp_path / "synthetic" / "abc"
    with locks.record_lock(folder):
        with locks.record_lock(folder):  # the same thread again: no deadlock
            pass
    # released: a fresh handle takes it without waiting
    with open(folder.with_name(f".{folder.name}.lock"), "a") as f:
        locks._lock(f, blocking=False)
        locks._unlock(f)


def test_held_lock_refuses_a_nonblocking_try_without_fcntl(no_fcntl, tmp_path):
    folder = tmp_path / "synthetic" / "abc"
    with locks.record_lock(folder):
        with open(folder.with_name(f".{folder.name}.lock"), "a") as f:
            with pytest.raises(BlockingIOError):
                locks._lock(f, blocking=False)


def test_no_lock_primitive_is_a_config_error(monkeypatch, tmp_path):
    monkeypatch.setattr(locks, "fcntl", None)
    monkeypatch.setattr(locks, "msvcrt", None)
    with pytest.raises(locks.ConfigError, match="fcntl"):
        with locks.record_lock(tmp_path / "synthetic" / "abc"):
            pass
