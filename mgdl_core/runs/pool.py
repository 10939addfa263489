"""A pool of worker processes that stops like a single run: the CPU backend of :mod:`mgdl_core.runs.sweeps`.

Not :mod:`concurrent.futures`: its call queue hands a worker its next run before the current one
ends (so Ctrl-C still started queued runs), a worker killed by a signal breaks the whole pool
(which then terminates the others before they can checkpoint), and its workers outlive a killed
parent. Here the parent hands out one run at a time to an idle worker over a pipe:

- a worker is given runs only once it says "ready" (its signal handlers are in place);
- on SIGINT/SIGTERM in the parent, the workers still training get SIGINT (their run's
  :class:`~mgdl_core.runs.checkpoints.Checkpointer` saves), queued runs never start, and the
  ``KeyboardInterrupt`` propagates once they have stopped (at most :data:`STOP_GRACE_S`);
- a worker whose parent dies (even by SIGKILL) stops the same way on its own;
- a run that fails in a worker reaches the caller as the same exception, with the worker's
  traceback as its cause (:class:`RemoteTraceback`).
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import multiprocessing as mp
import os
import pickle
import signal
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection, wait

from ..runtime import configure_cpu

STOP_GRACE_S = 60.0  # how long a stopped worker may take to save its checkpoint before it is killed
_PARENT_POLL_S = 0.5


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a sweep worker (its ``__cause__``)."""

    def __str__(self) -> str:
        return "\n" + self.args[0]


@dataclasses.dataclass(eq=False)
class _Worker:
    process: mp.process.BaseProcess
    conn: Connection  # the parent's end of the pipe
    ready: bool = False  # its signal handlers are in place: it may be given runs
    task: int | None = None  # the index of the run it is training


@contextlib.contextmanager
def _sigint_ignored():
    """Workers start with SIGINT ignored (a disposition survives exec): a Ctrl-C while one still
    imports torch must not print its traceback. :func:`_worker` installs its own handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def run_in_processes(fn: Callable, configs, todo: list[int], results: list, n: int, run_args: tuple,
                     on_done) -> None:
    """``results[i] = fn(configs[i], *run_args)`` for each ``i`` in ``todo``, on ``n`` worker
    processes (spawned: a forked child of a process that has used OpenMP threads can hang;
    ``fn`` is a module-level function, sent by reference). A KeyboardInterrupt (SIGINT, or SIGTERM under
    :func:`stopping_signals`) stops the workers' runs with a checkpoint before it propagates."""
    ctx = mp.get_context("spawn")
    pool: list[_Worker] = []
    try:
        with _sigint_ignored():
            for _ in range(n):
                here, there = ctx.Pipe()
                p = ctx.Process(target=_worker, args=(there, os.getpid(), fn, *run_args), daemon=True,
                                name="mgdl-sweep-worker")
                p.start()
                there.close()
                pool.append(_Worker(p, here))
        queue = collections.deque(todo)
        failure: tuple[BaseException, str] | None = None
        while True:
            for w in pool:
                if w.ready and w.task is None and queue and failure is None:
                    w.task = queue.popleft()
                    with contextlib.suppress(OSError):  # it just died: the wait below finds out
                        _send(w.conn, (w.task, configs[w.task]))
            busy = [w for w in pool if w.task is not None]
            starting = [w for w in pool if not w.ready and w.process.exitcode is None] \
                if queue and failure is None else []
            if not busy and not starting:
                break
            for w in _ready(busy + starting):
                if not w.ready:  # its "ready", or its death (then it stays out of `starting`)
                    w.ready = _hello(w)
                    continue
                reply = _receive(w, configs)
                if reply[0] == "done":
                    results[reply[1]] = reply[2]
                    on_done()
                elif reply[0] == "interrupted":  # someone signalled the worker alone: stop all the same
                    raise KeyboardInterrupt(reply[2])
                elif failure is None:  # a run failed: finish the runs in flight, then report it
                    failure = reply[2], reply[3]
        if failure is not None:
            raise failure[0] from (RemoteTraceback(failure[1]) if failure[1] else None)
        if queue:  # every worker died while idle (killed from outside)
            raise RuntimeError(f"the sweep's worker processes exited with {len(queue)} runs left: exit codes "
                               + ", ".join(str(w.process.exitcode) for w in pool))
    except KeyboardInterrupt:
        _stop_workers(pool, results, configs)
        raise
    finally:
        _close(pool)


def _send(conn, obj) -> None:
    # Plain pickles, not multiprocessing's: those pass tensors through shared memory whose file
    # descriptor is fetched from the sender, which a stopping worker may no longer be.
    conn.send_bytes(pickle.dumps(obj))


def _hello(w: _Worker) -> bool:
    """Whether the starting worker ``w`` says it is ready (else it died: it is let go)."""
    try:
        return pickle.loads(w.conn.recv_bytes()) == "ready"
    except (EOFError, OSError):
        w.process.join(1.0)
        return False


def _ready(busy: list[_Worker], timeout: float | None = None) -> list[_Worker]:
    """The workers among ``busy`` with a message, or dead."""
    by_handle = {}
    for w in busy:
        by_handle[w.conn] = by_handle[w.process.sentinel] = w
    return list(dict.fromkeys(by_handle[h] for h in wait(list(by_handle), timeout)))


def _receive(w: _Worker, configs) -> tuple:
    """A worker's reply, and the worker is free again; one that died without replying is a
    failed run."""
    i, w.task = w.task, None
    try:
        if w.conn.poll():
            return pickle.loads(w.conn.recv_bytes())
    except (EOFError, OSError):
        pass
    w.process.join(1.0)
    w.process.kill()
    c = configs[i]
    return "error", i, RuntimeError(f"a sweep worker (pid {w.process.pid}) died, exit code "
                                    f"{w.process.exitcode}, while it trained {c.method} lr={c.lr:g}"), ""


def _stop_workers(pool: list[_Worker], results: list, configs) -> None:
    """Ask the workers still training to checkpoint and stop (SIGINT: their Checkpointer saves and
    raises); wait up to :data:`STOP_GRACE_S` for them, and kill any left (a second Ctrl-C: now)."""
    busy = [w for w in pool if w.task is not None]  # a dead one may still have left its reply
    for w in busy:
        if w.process.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(w.process.pid, signal.SIGINT)
    deadline = time.monotonic() + STOP_GRACE_S
    try:
        while busy and time.monotonic() < deadline:
            for w in _ready(busy, deadline - time.monotonic()):
                reply = _receive(w, configs)
                if reply[0] == "done":  # it finished before it saw the signal: keep it
                    results[reply[1]] = reply[2]
                busy.remove(w)
    except KeyboardInterrupt:
        pass
    for w in busy:
        w.process.kill()


def _close(pool: list[_Worker]) -> None:
    """Idle workers are told to exit, those still starting are killed; none outlives this call."""
    for w in pool:
        if not w.ready:  # nothing to lose, and its imports could take a while
            w.process.kill()
        with contextlib.suppress(OSError):
            _send(w.conn, None)
    for w in pool:
        w.process.join(5.0)
        if w.process.is_alive():
            w.process.kill()
            w.process.join()
        w.conn.close()


def _worker(conn, parent: int, fn: Callable, *fn_args) -> None:
    """A sweep worker: says it is ready, then trains the runs it is sent, one at a time, until
    told to stop (``None``).

    SIGINT/SIGTERM outside training raise KeyboardInterrupt (inside, the run's Checkpointer saves
    first); either way the worker reports the run as interrupted and exits quietly. It started
    with SIGINT ignored and is given runs only once its handlers are in place (its "ready"), so
    a stop sent to a worker with a run is never lost."""
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.default_int_handler)
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
        configure_cpu()
        _send(conn, "ready")
        while (task := pickle.loads(conn.recv_bytes())) is not None:
            i, config = task
            try:
                reply = ("done", i, fn(config, *fn_args))
            except KeyboardInterrupt as exc:
                _send(conn, ("interrupted", i, str(exc)))
                return
            except Exception as exc:  # reported to the parent, which raises it
                reply = ("error", i, _picklable(exc), traceback.format_exc())
            _send(conn, reply)
    except (KeyboardInterrupt, EOFError, OSError):  # stopped while idle, or the parent is gone
        pass


def _watch_parent(parent: int) -> None:
    """When the parent dies (even by SIGKILL) the worker is re-parented: stop like on SIGTERM, so
    the run in flight saves its checkpoint; exit hard if that has not happened within a minute."""
    while os.getppid() == parent:
        time.sleep(_PARENT_POLL_S)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(STOP_GRACE_S)
    os._exit(1)


def _picklable(exc: Exception) -> Exception:
    """``exc`` if it survives the pipe, else a RuntimeError with its message."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
