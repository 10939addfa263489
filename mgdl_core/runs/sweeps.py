"""Many runs of one experiment — learning rates and/or seeds — in one call.

Backends:

- ``"processes"``: independent single-thread processes, one per core. The CPU default: on the
  2-core machines this project is measured on, batching models is slower than a loop and two
  threads per process are slower than one (shared/notes/performance.md §3, §5.4).
- ``"batched"``: the K runs as one stacked computation (:mod:`mgdl_core.core.batched`). The CUDA
  default, for SGDL and MGDL with GD, when the runs differ only in learning rate and seed.
- ``"serial"``: a plain loop in this process (also what one worker does).
- ``"ray"``: one Ray task per run (the optional extra ``pip install -e '.[ray]'``).

Every backend returns the same :class:`RunSummary` list, in the order of ``configs``, and a
diverged run is a result (``outcome == "diverged"``), never an exception that stops the others.

Stopping: SIGINT (Ctrl-C) or SIGTERM stops a sweep like a single run. The runs in flight save a
checkpoint (their :class:`~mgdl_core.runs.checkpoints.Checkpointer`), queued runs never start, and
:class:`SweepInterrupted` says how many finished; the same sweep again resumes. Workers watch
their parent and stop (checkpointing first) when it dies, even by SIGKILL.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ..core.batched import stack_params, train_batched
from ..core.mgdl import MGDLModel, MGDLResult, grade_loop
from ..core.nets import init_params, mgdl_structure, sgdl_structure
from ..core.step import forward
from ..core.progress import progress_meter
from ..core.training import Outcome
from ..errors import ConfigError, check_int
from ..runtime import configure_cpu, get_device, get_dtype
from ..tasks.fit import RunSummary, summarize
from ..tasks.synthetic import SyntheticRun
from .numeric_paths import NATIVE_PATH, path_fields
from .pool import STOP_GRACE_S, run_in_processes
from .recorded import load_record, run_recorded
from .records import default_runs_dir, environment_summary, is_complete, record_dir, write_record

BACKENDS = ("auto", "serial", "processes", "batched", "ray")
MAX_WORKERS = 256  # more processes than this is a typo, not a machine


class SweepInterrupted(KeyboardInterrupt):
    """A sweep stopped by SIGINT/SIGTERM after its runs in flight were checkpointed.

    ``results`` holds the finished runs in input order (``None`` for the others); ``signum`` the
    signal; ``finished``, ``checkpointed`` and ``not_started`` count the runs by what is on disk.
    """

    def __init__(self, signum: int, results: list, checkpointed: int, resume_hint: str):
        self.signum, self.results = signum, results
        self.finished = sum(r is not None for r in results)
        self.checkpointed = checkpointed
        self.not_started = len(results) - self.finished - checkpointed
        super().__init__(f"sweep interrupted by {signal.Signals(signum).name}: {self.finished} of {len(results)} "
                         f"runs finished, {checkpointed} interrupted with a checkpoint, {self.not_started} "
                         f"not started; {resume_hint}")


def log_rates(low: float, high: float, count: int) -> np.ndarray:
    """``count`` learning rates spaced evenly on a log scale over [low, high]."""
    if not (0 < low <= high) or count < 1:
        raise ValueError(f"need 0 < low <= high and count >= 1, got {low}, {high}, {count}")
    return np.geomspace(low, high, count)


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _run_one(config: SyntheticRun, out: str | None = None, force: bool = False,
             checkpoint_every: float | None = None) -> RunSummary:
    if out is None:
        return config.run()
    every = {} if checkpoint_every is None else {"every_seconds": checkpoint_every}
    return run_recorded(config, out, force=force, **every)


def _batchable(configs: Sequence[SyntheticRun]) -> bool:
    """Whether runs can train as one stacked computation: GD runs of SGDL or MGDL that differ
    only in learning rate and seed (one seed when the seed also draws the data's features)."""
    first = configs[0]
    same = all(dataclasses.replace(c, lr=first.lr, seed=first.seed) == first for c in configs)
    one_dataset = getattr(first, "encoding", "none") == "none" or len({c.seed for c in configs}) == 1
    return (same and one_dataset and first.batchable and first.method in ("sgdl", "mgdl") and first.optimizer == "gd"
            and first.track_every == 0 and not getattr(first, "snapshot_epochs", ()))


@contextlib.contextmanager
def stopping_signals():
    """While inside, SIGTERM stops this process as Ctrl-C does (a ``KeyboardInterrupt``), and the
    yielded dict's ``"signum"`` says which signal came. Main thread only (elsewhere: no change);
    a signal the caller ignores (``nohup``, a background job) stays ignored. A run's
    Checkpointer takes the signals over while it trains and hands them back after."""
    got: dict[str, int] = {}
    if threading.current_thread() is not threading.main_thread():
        yield got
        return

    def on_signal(signum, frame):
        got["signum"] = signum
        raise KeyboardInterrupt  # no message, as Python's own: the catcher words it

    old = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig, handler in old.items():
        if handler is not signal.SIG_IGN:
            signal.signal(sig, on_signal)
    try:
        yield got
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def sweep(configs: Sequence[SyntheticRun], *, backend: str = "auto", workers: int | None = None,
          progress: bool | None = None, out: str | Path | None = None, force: bool = False,
          address: str | None = None, checkpoint_every: float | None = None) -> list[RunSummary]:
    """Run every configuration; results in input order.

    ``auto`` picks ``batched`` on CUDA (when the runs can be batched) and ``processes`` on the
    CPU when there is more than one run and more than one core. With ``out`` every run goes
    through its durable record (:func:`~mgdl_core.runs.recorded.run_recorded`, checkpointing every
    ``checkpoint_every`` seconds): runs already recorded are returned without training, so a
    sweep killed half way keeps its finished runs and only runs the rest.

    ``progress`` (processes and serial backends): ``None`` counts the finished runs as a bar on a
    terminal or in a Jupyter kernel and as a status line a minute elsewhere, nothing when
    ``TQDM_DISABLE`` is set (:func:`~mgdl_core.core.progress.progress_meter`); ``False`` never.

    SIGINT or SIGTERM raises :class:`SweepInterrupted` (a ``KeyboardInterrupt``) once the runs
    in flight have saved their checkpoints; queued runs are not started. Bad arguments (and a
    missing Ray for ``backend="ray"``) raise :class:`~mgdl_core.errors.ConfigError` before any run.
    """
    configs = list(configs)
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if not configs:
        raise ConfigError("a sweep needs at least one configuration")
    if workers is not None:
        workers = check_int("workers", workers, 1, MAX_WORKERS)
    if backend == "ray":
        _import_ray()
    if backend == "batched" and not all(_batchable([c]) for c in configs):  # before --out is made
        raise ConfigError(_NOT_BATCHABLE)
    if backend == "batched" and any(path_fields(c.kind, vars(c)) == NATIVE_PATH for c in configs):
        raise ConfigError("the batched backend trains K stacked models on the reference step, but with MGDL_NATIVE=1 "
                          "these runs are the C kernel's (their records say so): use --backend processes, "
                          "or unset MGDL_NATIVE")
    if out is not None:
        from .files import ensure_writable

        out = ensure_writable(out)
    results: list[RunSummary | None] = [None] * len(configs)
    if out is not None and not force:
        for i, c in enumerate(configs):
            if is_complete(record_dir(out, c.kind, c)):
                results[i] = load_record(record_dir(out, c.kind, c))
    todo = [i for i, r in enumerate(results) if r is None]
    if not todo:
        return results
    chosen = _pick_backend(backend, [configs[i] for i in todo])
    with stopping_signals() as got:
        try:
            _run_backend(chosen, configs, todo, results, workers=workers, progress=progress, out=out, force=force,
                         address=address, checkpoint_every=checkpoint_every, explicit_batched=backend == "batched")
        except KeyboardInterrupt as exc:
            signum = getattr(exc, "signum", None) or got.get("signum", signal.SIGINT)
            raise _interrupted(signum, configs, results, out) from None
    return results


_NOT_BATCHABLE = ("a batched sweep needs GD runs of SGDL or MGDL that differ only in lr and seed (no track_every, "
                  "no snapshots, no restoration's u; Adam runs: use processes)")


def recorded_sweep(configs: Sequence[SyntheticRun], **kw) -> list[RunSummary]:
    """The book's one way to run its configurations: :func:`sweep` into the runs folder the
    command line shares (:func:`~mgdl_core.runs.records.default_runs_dir`), so a run recorded by
    either is read, not trained again; progress shows where someone watches (a widget bar in
    JupyterLab, nothing under the book's runner). ``kw`` goes to :func:`sweep`."""
    return sweep(configs, out=kw.pop("out", None) or default_runs_dir(), **kw)


def _pick_backend(backend: str, configs: list[SyntheticRun]) -> str:
    if backend != "auto":
        return backend
    if get_device(configs[0].device).type == "cuda":
        return "batched"
    return "processes" if len(configs) > 1 and available_cores() > 1 else "serial"


def _interrupted(signum: int, configs, results, out) -> SweepInterrupted:
    """What a stopped sweep leaves: finished records, checkpoints of the runs in flight."""
    if out is None:
        return SweepInterrupted(signum, results, 0, "without a record folder (out=...) nothing was kept")
    checkpointed = 0
    for c, r in zip(configs, results):
        folder = record_dir(out, c.kind, c)
        checkpointed += r is None and folder.with_name(folder.name + ".partial").is_dir()
    return SweepInterrupted(signum, results, checkpointed, "run the same command again to resume")


def _run_backend(backend: str, configs, todo: list[int], results: list, *, workers, progress, out, force,
                 address, checkpoint_every, explicit_batched: bool) -> None:
    """Fill ``results[i]`` for each ``i`` in ``todo``, as the runs finish."""
    out = None if out is None else str(out)
    if backend == "ray":
        return _sweep_ray(configs, todo, results, out, force, address, workers, checkpoint_every)
    if backend == "batched":
        return _sweep_batched(configs, todo, results, out, force, checkpoint_every, strict=explicit_batched)
    bar = progress_meter(len(todo), "sweep", "run", disable=progress is False)
    try:
        if backend == "serial":
            for i in todo:
                results[i] = _run_one(configs[i], out, force, checkpoint_every)
                bar.update()
        else:
            run_in_processes(_run_one, configs, todo, results, min(workers or available_cores(), len(todo)),
                             (out, force, checkpoint_every), bar.update)
    finally:
        bar.close()


def _sweep_batched(configs, todo, results, out, force, checkpoint_every, strict: bool) -> None:
    """Runs that differ only in lr/seed form one batch; others (MSDL, Adam) run one by one,
    unless the batched backend was asked for by name (``strict``)."""
    groups: dict[SyntheticRun, list[int]] = {}
    for i in todo:
        groups.setdefault(dataclasses.replace(configs[i], lr=1.0, seed=0), []).append(i)
    for idx in groups.values():
        members = [configs[i] for i in idx]
        if not _batchable(members):
            if strict:
                raise ConfigError(_NOT_BATCHABLE)
            for i in idx:
                results[i] = _run_one(configs[i], out, force, checkpoint_every)
            continue
        done = run_batched(members)
        if out is not None:
            env = environment_summary(get_device(members[0].device))
            for c, r in zip(members, done):
                write_record(record_dir(out, c.kind, c), c.kind, r, env)
        for i, r in zip(idx, done):
            results[i] = r


# --- Ray -------------------------------------------------------------------------------------

def _import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("the ray backend needs Ray, an optional extra: pip install -e '.[ray]'") from None
    return ray


def _sweep_ray(configs, todo, results, out, force, address, workers, checkpoint_every) -> None:
    """One Ray task per run (one CPU each): a local Ray by default (``workers`` CPUs, else all),
    a cluster with ``address``. With ``out``, every worker must see the same folder (a shared
    file system). Ctrl-C cancels the queued tasks and interrupts the running ones (Ray raises
    KeyboardInterrupt in them; their Checkpointer saves)."""
    ray = _import_ray()
    if not ray.is_initialized():
        on_sigterm = signal.getsignal(signal.SIGTERM)
        ray.init(address=address, num_cpus=workers if address is None else None,
                 include_dashboard=False, log_to_driver=False)
        # Ray's driver takes SIGTERM over (a C handler that aborts, saving nothing): take it back.
        if on_sigterm is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, on_sigterm)
    task = ray.remote(num_cpus=1)(_run_one)
    out = None if out is None else str(Path(out).resolve())
    pending = {task.remote(configs[i], out, force, checkpoint_every): i for i in todo}
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            results[pending.pop(ready[0])] = ray.get(ready[0])
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref)
        with contextlib.suppress(Exception):  # cancelled tasks end in TaskCancelledError
            ray.wait(list(pending), num_returns=len(pending), timeout=STOP_GRACE_S)
        raise


def run_batched(configs: Sequence[SyntheticRun]) -> list[RunSummary]:
    """SGDL or MGDL GD runs that differ in lr/seed, trained together (see :mod:`mgdl_core.core.batched`):
    synthetic or image-regression runs alike (:func:`_batchable` says which can)."""
    configure_cpu()
    first = configs[0]
    device, dtype = get_device(first.device), get_dtype(first.dtype)
    data = first.dataset()
    lrs = [c.lr for c in configs]
    K = len(configs)
    structure = first.structure or first.default_structure()
    start = time.perf_counter()
    if first.method == "sgdl":
        widths = sgdl_structure(structure)
        params = [init_params(widths, first.init, seed=c.seed, dtype=dtype, device=device) for c in configs]
        res = train_batched(params, data.train.x, data.train.y, lrs, first.train_config(),
                            val=(data.val.x, data.val.y))
        seconds = (time.perf_counter() - start) / K  # each run's share of the one batched computation
        out = []
        for c, r in zip(configs, res):
            net = r.net
            with torch.no_grad():
                pred = forward(net, data.test.x)
            out.append(summarize(c, data, r.history, r.outcome, r.diverged_epoch, pred, [],
                                 [net.vector().cpu()], seconds))
        return out
    grades = mgdl_structure(structure)
    epochs = first.grade_epochs or (first.epochs,) * len(grades)
    splits = {"train": data.train, "val": data.val, "test": data.test}
    alive = [True] * K
    per_model: list[list] = [[] for _ in range(K)]  # grade TrainResults, up to the first divergence

    def train_grade(l: int, grade_data):
        if not any(alive):
            return None
        params = [init_params(grades[l - 1], first.init, seed=c.seed, dtype=dtype, device=device) for c in configs]
        rates = [lr if a else 0.0 for lr, a in zip(lrs, alive)]
        res = train_batched(params, grade_data.train.x, grade_data.train.y, rates, first.train_config(epochs[l - 1]),
                            val=(grade_data.val.x, grade_data.val.y))
        for k in range(K):
            if alive[k]:
                per_model[k].append(res[k])
                alive[k] = res[k].outcome != Outcome.DIVERGED
        return stack_params([r.net.branches[0] for r in res])

    loop = grade_loop(len(grades), splits, train_grade)
    seconds = (time.perf_counter() - start) / K  # each run's share of the one batched computation
    out = []
    for k, c in enumerate(configs):
        # a model's grades up to its first divergence; the loss of ḡ_l after each finished one
        results_k = per_model[k]
        ok = [r.outcome != Outcome.DIVERGED for r in results_k]
        grade_losses = [loop.losses["train"][l][k].item() for l, fine in enumerate(ok) if fine]
        res_k = MGDLResult(MGDLModel([r.net for r in results_k]), results_k, {"train": grade_losses})
        out.append(summarize(c, data, res_k.history(), res_k.outcome, res_k.diverged_epoch,
                             loop.predictions["test"][k], grade_losses, [r.net.vector().cpu() for r in results_k],
                             seconds))
    return out


