"""K copies of one ReLU MLP trained by GD in one computation: the GPU path of a sweep.

The K models share a structure and differ in their learning rate (and, through their
initial parameters, in their seed). Weights are stacked as ``W [K, d_in, d_out]`` and every
layer is one batched matmul, so a 32-rate sweep on a GPU costs about what one run costs (the
GPU is idle at these sizes). η_k is folded into the output gradient, which is exact because
back-propagation is linear in it; a model whose rule says stop (divergence, early stopping)
gets η_k = 0 and stays frozen while the others go on, so each model ends exactly where its
separate run would (tests/test_sweep.py checks this against separate runs in float64).

On the CPU this path is slower than a loop of single-model steps (MKL's small batched GEMMs;
shared/notes/performance.md §3), so CPU sweeps use processes instead (:mod:`mgdl_core.runs.sweeps`).
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import torch

from .nets import Network, Params
from .objectives import HALF_MSE, Objective
from .step import mlp_features, mlp_forward, relu_backward
from .training import Outcome, TrainConfig, TrainResult, is_diverged

BatchedParams = list[tuple[torch.Tensor, torch.Tensor]]  # W [K, a, b], b [K, 1, b]


def stack_params(params: Sequence[Params]) -> BatchedParams:
    """K single-model parameter lists → one stacked list (new tensors)."""
    return [(torch.stack([p[i][0] for p in params]), torch.stack([p[i][1] for p in params]).unsqueeze(1))
            for i in range(len(params[0]))]


def unstack_params(bparams: BatchedParams, k: int) -> Params:
    return [(w[k].clone(), b[k, 0].clone()) for w, b in bparams]


def batched_features(bp: BatchedParams, x: torch.Tensor) -> torch.Tensor:
    """Last hidden layer of each of the K models: ``[K, N, width]``."""
    return mlp_features(bp, x)


def batched_forward(bp: BatchedParams, x: torch.Tensor) -> torch.Tensor:
    return mlp_forward(bp, x)


def batched_losses(bp: BatchedParams, x: torch.Tensor, y: torch.Tensor,
                   objective: Objective = HALF_MSE) -> torch.Tensor:
    """The objective of each model (eq. 1 by default): ``[K]``."""
    return objective.value(mlp_forward(bp, x), y)


def batched_gd_step_(bp: BatchedParams, x: torch.Tensor, y: torch.Tensor, lrs: torch.Tensor,
                     relu_prime_at_zero: float = 0.0, objective: Objective = HALF_MSE) -> None:
    """One GD step of every model, in place; ``lrs`` is ``[K]`` (0 freezes a model)."""
    out, acts, zs = mlp_forward(bp, x, True, relu_prime_at_zero)
    g = objective.output_gradient(out, y, lrs.view(-1, 1, 1))
    for i in range(len(bp) - 1, -1, -1):
        w, b = bp[i]
        hin = acts[i]
        gprev = torch.bmm(g, w.transpose(1, 2)) if i > 0 else None
        if hin.ndim == 2:
            w.sub_(torch.matmul(hin.t(), g))
        else:
            w.baddbmm_(hin.transpose(1, 2), g, alpha=-1.0)
        b.sub_(g.sum(1, keepdim=True))
        if i > 0:
            g = relu_backward(gprev, hin, zs[i - 1] if zs is not None else None, relu_prime_at_zero)


def train_batched(params: Sequence[Params], x: torch.Tensor, y: torch.Tensor,
                  lrs: Sequence[float], config: TrainConfig,
                  val: tuple[torch.Tensor, torch.Tensor] | None = None,
                  objective: Objective = HALF_MSE) -> list[TrainResult]:
    """Train K models (initial ``params[k]``, rate ``lrs[k]``) by full-batch GD, the way
    :func:`mgdl_core.core.training.train` trains each of them (same recording, divergence and early
    stopping rules), and return one :class:`TrainResult` per model.

    ``x``/``y`` (and ``val``) are ``[N, d]`` shared by all models or ``[K, N, d]`` per model
    (an MGDL grade's features and residuals differ from model to model).
    """
    if config.optimizer != "gd":
        raise ValueError("the batched sweep implements GD only; run Adam sweeps with backend='processes'")
    K = len(params)
    bp = stack_params(params)
    lr = torch.tensor([float(v) for v in lrs], dtype=x.dtype, device=x.device)
    active = torch.ones(K, dtype=torch.bool)
    hist: list[dict[str, list[float]]] = [{"epoch": [], "train_loss": [], "val_loss": []} for _ in range(K)]
    outcome = [Outcome.COMPLETED] * K
    stopped_at = [config.epochs] * K
    diverged_at: list[int | None] = [None] * K
    prev_mean: list[float | None] = [None] * K
    rule = config.early_stopping
    check_every = config.record_every * rule.smooth if rule else 0
    start = time.perf_counter()

    def record(epoch: int) -> None:
        with torch.no_grad():
            tr = batched_losses(bp, x, y, objective).tolist()
            va = batched_losses(bp, *val, objective).tolist() if val is not None else [math.nan] * K
        for k in range(K):
            if not active[k] or (hist[k]["epoch"] and hist[k]["epoch"][-1] == epoch):
                continue
            hist[k]["epoch"].append(epoch)
            hist[k]["train_loss"].append(tr[k])
            hist[k]["val_loss"].append(va[k])
            if is_diverged(tr[k], config.diverge_above):
                outcome[k], diverged_at[k] = Outcome.DIVERGED, epoch
                _freeze(k, epoch)
            elif check_every and epoch % check_every == 0 and epoch > 0:
                key = "val_loss" if val is not None else "train_loss"
                mean = float(np.mean(hist[k][key][-rule.smooth:]))
                if rule.should_stop(prev_mean[k], mean):
                    outcome[k] = Outcome.EARLY_STOPPED
                    _freeze(k, epoch)
                prev_mean[k] = mean

    def _freeze(k: int, epoch: int) -> None:
        active[k] = False
        lr[k] = 0.0
        stopped_at[k] = epoch

    record(0)
    epoch = 0
    while epoch < config.epochs and bool(active.any()):
        stop = min(config.epochs, (epoch // config.record_every + 1) * config.record_every)
        for epoch in range(epoch + 1, stop + 1):
            batched_gd_step_(bp, x, y, lr, config.relu_prime_at_zero, objective)
        record(epoch)
    record(epoch)  # the final epoch of models that ran to the end
    seconds = (time.perf_counter() - start) / K  # each model's share: summing runs gives the wall time
    return [TrainResult(Network([unstack_params(bp, k)]), {key: np.asarray(v) for key, v in hist[k].items()},
                        outcome[k], stopped_at[k] if outcome[k] != Outcome.COMPLETED else epoch, diverged_at[k], seconds)
            for k in range(K)]
