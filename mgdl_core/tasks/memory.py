"""What a run needs in memory, and what the machine has: a structure that cannot fit is refused
before anything is allocated (:class:`~mgdl_core.errors.ConfigError`), not minutes into allocation.

:func:`check_memory` runs at the top of every training path
(:func:`mgdl_core.tasks.base.train_and_summarize`); ``MGDL_MEMORY_LIMIT_GB`` overrides the limit.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch

from ..core.data import Dataset
from ..core.nets import MSDL_SCALES, mgdl_structure, parameter_count, parse_structure
from ..errors import ConfigError
from ..runtime import env_number, get_dtype


def _trained_networks(config) -> list[tuple[tuple[int, ...], int]]:
    """(widths, branches) of each network a run trains: one, or one per MGDL grade."""
    spec = config.structure or config.default_structure()
    if config.graded:
        return [(w, 1) for w in mgdl_structure(spec)]
    return [(parse_structure(spec), len(MSDL_SCALES) if config.method == "msdl" else 1)]


def estimate_memory_bytes(config, data: Dataset | None = None) -> int:
    """What training ``config`` needs in memory, estimated from its structure and data sizes
    before anything is allocated (``data``: its dataset, built when not given).

    Counted, in the run's dtype: parameters three times (the weights, their gradient step, a
    checkpoint copy); what one full-batch step keeps for the backward pass, for every training
    point (each layer's activations, the pre-activations when ReLU'(0) != 0, the gradients of
    two consecutive layers) or what a forward pass on the largest split holds (two consecutive
    layers), whichever is more; MGDL's cached features and residuals; the data. With eigenvalue
    tracking, Lanczos' Krylov basis, the dense Hessian where it may be used, and the
    double-backward graph. Against the growth of resident memory in CPU runs it was within 40 %
    (SGDL, MGDL, MSDL structures of 0.3–7.5 GiB; ``[1]->[200000]->[1]``: 7.5 GiB both). It
    exists to refuse a structure that cannot fit at once, not to fail minutes into allocation."""
    from ..theory.hessian import DENSE_FALLBACK_UP_TO

    data = config.dataset() if data is None else data
    item = get_dtype(config.dtype).itemsize
    sizes = [s.x.shape[0] for s in (data.train, data.val, data.test) if s is not None]
    n_train, columns = data.train.x.shape
    nets = _trained_networks(config)
    keep_z = config.relu_prime_at_zero != 0.0

    def pair(w: tuple[int, ...]) -> int:  # two consecutive layers: what a forward pass holds at once
        return max(a + b for a, b in zip(w, w[1:]))

    def kept_per_point(w: tuple[int, ...]) -> int:
        return sum(w) + (sum(w[1:-1]) if keep_z else 0) + pair(w)

    params = sum(parameter_count(w) * b for w, b in nets)
    step = n_train * max(b * kept_per_point(w) for w, b in nets)
    evaluate = max(sizes) * max(b * pair(w) for w, b in nets)
    features = sum(sizes) * (max(w[-2] for w, _ in nets) + 2) if config.graded else 0
    total = item * (3 * params + max(step, evaluate) + features + sum(sizes) * (columns + 1))
    if config.track_every > 0:
        m = max(parameter_count(w) * b for w, b in nets)
        dense = 8 * m * m if m <= DENSE_FALLBACK_UP_TO else 0
        total += 8 * m * (8 * config.track_k + 4) + dense + 3 * item * step
    return int(total)


def memory_limit_bytes(device: torch.device) -> float:
    """The memory a run may use on ``device``: ``$MGDL_MEMORY_LIMIT_GB`` (GiB) when set, else what
    is free now: the GPU's free memory on CUDA; on the CPU ``MemAvailable`` (Linux), lowered to
    what the cgroup still allows in a container; unknown (no limit) elsewhere."""
    limit = env_number("MGDL_MEMORY_LIMIT_GB")
    if limit is not None:
        return limit * 2**30
    if device.type == "cuda":
        return float(torch.cuda.mem_get_info(device)[0])
    limits = []
    try:
        meminfo = Path("/proc/meminfo").read_text()
        limits += [int(line.split()[1]) * 1024 for line in meminfo.splitlines() if line.startswith("MemAvailable:")]
    except (OSError, ValueError, IndexError):
        pass
    try:
        cap = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if cap != "max":
            limits.append(int(cap) - int(Path("/sys/fs/cgroup/memory.current").read_text()))
    except (OSError, ValueError):
        pass
    return float(min(limits)) if limits else math.inf


def _gib(n: float) -> str:
    """A size in GiB, with the digits a small one needs (0.0034 GiB, not 0.0)."""
    return f"{n / 2**30:,.1f} GiB" if n >= 2**30 else f"{n / 2**30:.2g} GiB"


def check_memory(config, data: Dataset) -> None:
    """Refuse (:class:`~mgdl_core.errors.ConfigError`) a run whose :func:`estimate_memory_bytes`
    exceeds :func:`memory_limit_bytes` of its device, before the network is allocated."""
    device = data.train.x.device
    need, limit = estimate_memory_bytes(config, data), memory_limit_bytes(device)
    if need > limit:
        params = sum(parameter_count(w) * b for w, b in _trained_networks(config))
        raise ConfigError(
            f"structure {config.structure or config.default_structure()!r} needs an estimated "
            f"{_gib(need)} ({params:,} parameters, activations for {data.train.x.shape[0]:,} "
            f"training points), more than the {_gib(limit)} available on {device}; "
            "set MGDL_MEMORY_LIMIT_GB to override")
