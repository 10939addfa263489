"""Many runs of one experiment — learning rates and/or seeds — in one call.

Backends:

- ``"processes"``: independent single-thread processes, one per core. The CPU default: on the
  2-core machines this project is measured on, batching models is slower than a loop and two
  threads per process are slower than one (shared/notes/performance.md §3, §5.4).
- ``"batched"``: the K runs as one stacked computation (:mod:`mgdl_core.batched`). The CUDA
  default, for SGDL and MGDL with GD, when the runs differ only in learning rate and seed.
- ``"serial"``: a plain loop in this process (also what one worker does).

Every backend returns the same :class:`RunSummary` list, in the order of ``configs``, and a
diverged run is a result (``outcome == "diverged"``), never an exception that stops the others.
"""
from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import time
from collections.abc import Sequence
from pathlib import Path
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch

from .batched import batched_features, batched_forward, stack_params, train_batched
from .mgdl import MGDLModel, MGDLResult
from .experiments import DEFAULT_STRUCTURES, RunSummary, SyntheticRun, load_record, run_recorded, summarize
from .records import is_complete, record_dir, write_record
from .nets import init_params, mgdl_structure, sgdl_structure
from .runtime import configure_cpu, environment_summary, get_device, get_dtype
from .step import forward
from .synthetic import synthetic_dataset

BACKENDS = ("auto", "serial", "processes", "batched", "ray")


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


def _run_one(config: SyntheticRun, out: str | None = None, force: bool = False) -> RunSummary:
    return config.run() if out is None else run_recorded(config, out, force=force)


def _batchable(configs: Sequence[SyntheticRun]) -> bool:
    first = configs[0]
    same = all(dataclasses.replace(c, lr=first.lr, seed=first.seed) == first for c in configs)
    return (same and first.kind == "synthetic" and first.method in ("sgdl", "mgdl")
            and first.track_every == 0)


def sweep(configs: Sequence[SyntheticRun], *, backend: str = "auto", workers: int | None = None,
          progress: bool | None = None, out: str | Path | None = None, force: bool = False,
          address: str | None = None) -> list[RunSummary]:
    """Run every configuration; results in input order.

    ``auto`` picks ``batched`` on CUDA (when the runs can be batched) and ``processes`` on the
    CPU when there is more than one run and more than one core. With ``out`` every run goes
    through its durable record (:func:`~mgdl_core.experiments.run_recorded`): runs already
    recorded are returned without training, so a sweep killed half way keeps its finished runs
    and only runs the rest.
    """
    configs = list(configs)
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if not configs:
        raise ValueError("a sweep needs at least one configuration")
    explicit_batched = backend == "batched"
    if out is not None and not force:
        done = {i: load_record(record_dir(out, c.kind, c)) for i, c in enumerate(configs)
                if is_complete(record_dir(out, c.kind, c))}
        if done:
            rest = [c for i, c in enumerate(configs) if i not in done]
            fresh = iter(sweep(rest, backend=backend, workers=workers, progress=progress, out=out, address=address)
                         if rest else [])
            return [done[i] if i in done else next(fresh) for i in range(len(configs))]
    if backend == "auto":
        on_cuda = get_device(configs[0].device).type == "cuda"
        if on_cuda:
            backend = "batched"
        elif len(configs) > 1 and available_cores() > 1:
            backend = "processes"
        else:
            backend = "serial"
    if backend == "ray":
        return _sweep_ray(configs, out, force, address)
    if backend == "batched":
        # Runs that differ only in lr/seed form one batch; others (MSDL, Adam) run one by one.
        groups: dict[SyntheticRun, list[int]] = {}
        for i, c in enumerate(configs):
            groups.setdefault(dataclasses.replace(c, lr=1.0, seed=0), []).append(i)
        ordered: list[RunSummary | None] = [None] * len(configs)
        for key, idx in groups.items():
            members = [configs[i] for i in idx]
            if not _batchable(members):
                if explicit_batched:
                    raise ValueError("a batched sweep needs SGDL or MGDL runs that differ only in lr and seed")
                results = [_run_one(c, out, force) for c in members]
            else:
                results = run_synthetic_batched(members)
                if out is not None:
                    env = environment_summary(get_device(members[0].device))
                    for c, r in zip(members, results):
                        write_record(record_dir(out, c.kind, c), c.kind, r, env)
            for i, r in zip(idx, results):
                ordered[i] = r
        return ordered
    from tqdm.auto import tqdm

    bar = tqdm(total=len(configs), desc="sweep", unit="run", disable=progress is False, leave=False)
    try:
        if backend == "serial":
            results = []
            for c in configs:
                results.append(_run_one(c, out, force))
                bar.update()
            return results
        n = min(workers or available_cores(), len(configs))
        # spawn, not fork: a forked child of a process that has used OpenMP threads can hang.
        pool = ProcessPoolExecutor(n, mp_context=mp.get_context("spawn"), initializer=configure_cpu)
        try:
            futures = [pool.submit(_run_one, c, None if out is None else str(out), force) for c in configs]
            for f in futures:
                f.add_done_callback(lambda _: bar.update())
            results = [f.result() for f in futures]
        except BaseException:  # Ctrl-C: drop the queued runs (finished ones are recorded)
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown()
        return results
    finally:
        bar.close()


def _sweep_ray(configs: Sequence[SyntheticRun], out, force: bool, address: str | None) -> list[RunSummary]:
    """One Ray task per run (one CPU each): a local Ray by default, a cluster with ``address``.
    With ``out``, every worker must see the same folder (a shared file system)."""
    try:
        import ray
    except ImportError:
        raise ValueError("the ray backend needs Ray: pip install -e '.[ray]'") from None
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    task = ray.remote(num_cpus=1)(_run_one)
    out = None if out is None else str(Path(out).resolve())
    return ray.get([task.remote(c, out, force) for c in configs])


def run_synthetic_batched(configs: Sequence[SyntheticRun]) -> list[RunSummary]:
    """SGDL or MGDL runs that differ in lr/seed, trained together (see :mod:`mgdl_core.batched`)."""
    configure_cpu()
    first = configs[0]
    device, dtype = get_device(first.device), get_dtype(first.dtype)
    data = synthetic_dataset(first.setting, dtype=dtype, device=device)
    lrs = [c.lr for c in configs]
    K = len(configs)
    structure = first.structure or DEFAULT_STRUCTURES[first.method]
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
    feats = {k: s.x for k, s in splits.items()}  # [N, d] for grade 1, then [K, N, w]
    resid = {k: s.y.expand(K, *s.y.shape).clone() for k, s in splits.items()}
    acc = {k: torch.zeros_like(resid[k]) for k in splits}
    alive = [True] * K
    per_model: list[list] = [[] for _ in range(K)]  # grade TrainResults, up to the first divergence
    grade_losses: list[list[float]] = [[] for _ in range(K)]
    params_out: list[list[torch.Tensor]] = [[] for _ in range(K)]
    for l, widths in enumerate(grades, start=1):
        params = [init_params(widths, first.init, seed=c.seed, dtype=dtype, device=device) for c in configs]
        rates = [lr if a else 0.0 for lr, a in zip(lrs, alive)]
        res = train_batched(params, feats["train"], resid["train"], rates,
                            first.train_config(epochs[l - 1]), val=(feats["val"], resid["val"])) \
            if any(alive) else []
        if not res:
            break
        bp = stack_params([r.net.branches[0] for r in res])
        with torch.no_grad():
            for k in splits:
                pred = batched_forward(bp, feats[k])
                acc[k] = acc[k] + pred
                resid[k] = resid[k] - pred
                if l < len(grades):
                    feats[k] = batched_features(bp, feats[k])
        for k in range(K):
            if not alive[k]:
                continue
            per_model[k].append(res[k])
            params_out[k].append(res[k].net.vector().cpu())
            if res[k].outcome == "diverged":
                alive[k] = False
            else:
                grade_losses[k].append((0.5 * (acc["train"][k] - data.train.y).pow(2).sum() / data.train.y.shape[0]).item())
    seconds = (time.perf_counter() - start) / K  # each run's share of the one batched computation
    out = []
    for k, c in enumerate(configs):
        res_k = MGDLResult(MGDLModel([r.net for r in per_model[k]]), per_model[k], {"train": grade_losses[k]})
        out.append(summarize(c, data, res_k.history(), res_k.outcome, res_k.diverged_epoch, acc["test"][k],
                             grade_losses[k], params_out[k], seconds))
    return out


def rates_below(lrs: Sequence[float], losses: Sequence[float], threshold: float) -> tuple[float, float] | None:
    """The widest run of consecutive grid rates whose loss is below ``threshold`` (NaN counts
    as above), as ``(lowest, highest)`` rate; ``None`` when no rate qualifies."""
    order = np.argsort(lrs)
    lrs = np.asarray(lrs, dtype=float)[order]
    ok = np.nan_to_num(np.asarray(losses, dtype=float)[order], nan=np.inf) < threshold
    best, start = None, None
    for i, flag in enumerate(list(ok) + [False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if best is None or i - start > best[1] - best[0] + 1:
                best = (start, i - 1)
            start = None
    return None if best is None else (float(lrs[best[0]]), float(lrs[best[1]]))
