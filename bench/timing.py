"""Interleaved timing: alternatives are timed block by block in one process (A, B, A, B, ...),
so that a noisy, shared machine slows them alike and their ratio stays meaningful."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def interleave(variants: dict[str, Callable[[], None]], repeats: int = 200, blocks: int = 9,
               warmup: int = 20) -> dict[str, float]:
    """Median seconds per call of each variant over ``blocks`` interleaved blocks."""
    for fn in variants.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(blocks):
        for name, fn in variants.items():
            t = time.perf_counter()
            for _ in range(repeats):
                fn()
            times[name].append((time.perf_counter() - t) / repeats)
    return {k: statistics.median(v) for k, v in times.items()}


def table(rows: list[list[str]], header: list[str]) -> str:
    """A Markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def eager_model(params) -> "torch.nn.Sequential":
    """The same ReLU MLP as ``nn.Linear`` + ``nn.ReLU`` layers (the eager-autograd reference of
    the step benchmarks), from a list of (W [d_in, d_out], b) pairs."""
    import torch

    layers = []
    for i, (w, b) in enumerate(params):
        lin = torch.nn.Linear(*w.shape, dtype=w.dtype, device=w.device)
        with torch.no_grad():
            lin.weight.copy_(w.t())
            lin.bias.copy_(b)
        layers.append(lin)
        if i < len(params) - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)
