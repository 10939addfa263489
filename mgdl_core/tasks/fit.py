"""One fit path for every task: a configured run trained (one network, or grade by grade) and
summarised into what it leaves behind (:class:`RunSummary`).

Synthetic regression (§5–§7), image regression (§4–§6) and restoration (§4, §6) all train
here; what differs between them is a :class:`FitPlan`, the parameters of the one training loop
(:func:`mgdl_core.core.training.train`) and the one grade loop (:func:`mgdl_core.core.mgdl.train_mgdl`):
the objective (eq. 1, or the ROF objective (22)/(24) of Appendix C), the step (GD or Adam, or
the proximal step (20)–(21)), how grades compose ("residual", eq. 3, or "offset" with grade
scales ε_l, eq. 24) and what a finished grade carries to the next (the ROF ``u`` of eq. 20).
The batched sweep (:func:`mgdl_core.runs.sweeps.run_batched`) trains K models through the same
grade loop and summarises them here too (:func:`summarize`).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch

from ..core.data import Dataset
from ..core.mgdl import train_mgdl
from ..core.nets import Network, mgdl_structure
from ..core.objectives import HALF_MSE, Objective
from ..core.step import Step, forward
from ..core.training import Callback, Outcome, TrainConfig, TrainResult, train
from .memory import check_memory


class Store(Protocol):
    """Where a run keeps its checkpoints while it trains (:class:`mgdl_core.runs.checkpoints.RunStore`):
    named here, so a task trains with one without importing the layer that writes it."""

    def snapshot(self) -> dict | None:
        """The last checkpoint of the network in training, if any."""

    def finished_grades(self) -> list[dict]:
        """The MGDL grades already finished, as :meth:`save_grade` saved them."""

    def save_grade(self, grade: int, result: TrainResult) -> None:
        """Keep a finished grade (1-based), so a resumed run starts after it."""

    def checkpointer(self) -> Callback:
        """The callback that writes checkpoints while the network trains."""


@dataclass(frozen=True)
class FitPlan:
    """What a task's training is, beyond its configuration's rate and epochs: the defaults are
    regression (eq. 1 by GD or Adam, grades on residuals, eq. 3).

    ``make_step(config, objective)`` builds the step (default: the config's GD or Adam);
    ``mode``, ``scale``, ``grade_objective`` and ``carry`` are :func:`~mgdl_core.core.mgdl.train_mgdl`'s;
    ``grade_splits`` are the splits the grade loop composes (restoration's test split is its
    training pixels against the clean image, so its grades see only "train")."""

    objective: Objective = HALF_MSE
    make_step: Callable[[TrainConfig, Objective], Step] | None = None
    mode: str = "residual"
    scale: Callable[[torch.Tensor, torch.Tensor], float] | None = None
    grade_objective: Callable[[torch.Tensor, float], Objective] | None = None
    carry: Callable[[TrainResult], None] | None = None
    grade_splits: tuple[str, ...] = ("train", "val", "test")


def run_callbacks(config, callbacks=(), store: Store | None = None) -> list:
    """The callbacks a configured run trains with: eigenvalue tracking (and its stop) when
    ``track_every`` is set, then ``callbacks``, then the store's checkpointer (last, so a
    checkpoint holds what every other callback recorded at that epoch)."""
    callbacks = list(callbacks)
    if config.track_every > 0:
        from ..theory.hessian import EigenTracker

        callbacks = [EigenTracker(config.track_every, config.track_k), *callbacks]
        if getattr(config, "eig_stop", None) is not None:
            from ..theory.hessian import EigenStop

            callbacks.insert(1, EigenStop(config.track_every, config.eig_stop))
    if store is not None:
        callbacks.append(store.checkpointer())
    return callbacks


def train_and_summarize(config, data: Dataset, structure: str, callbacks=(),
                        store: Store | None = None) -> "RunSummary":
    """Train ``config`` (any task's :class:`~mgdl_core.tasks.base.RunConfig`) on ``data`` by its
    :meth:`fit_plan` and summarise it, resuming from ``store``; a structure that cannot fit in
    memory is refused first (:func:`check_memory`)."""
    check_memory(config, data)
    plan = config.fit_plan(data)
    device, dtype = data.train.x.device, data.train.x.dtype
    resume = store.snapshot() if store is not None else None
    callbacks = run_callbacks(config, callbacks, store)
    if config.graded:
        grades = mgdl_structure(structure)
        epochs = config.grade_epochs or (config.epochs,) * len(grades)
        finished = [grade_result(g, grades[l]) for l, g in enumerate(store.finished_grades())] if store else []
        splits = [getattr(data, k) if k in plan.grade_splits else None for k in ("train", "val", "test")]
        res = train_mgdl(grades, Dataset(*splits), [config.train_config(e) for e in epochs], init=config.init,
                         seed=config.seed, callbacks=callbacks, finished=finished, resume=resume,
                         on_grade_end=store.save_grade if store is not None else None,
                         objective=plan.objective, mode=plan.mode, scale=plan.scale,
                         grade_objective=plan.grade_objective, make_step=plan.make_step, carry=plan.carry)
        hist, outcome, diverged = res.history(), res.outcome, res.diverged_epoch
        with torch.no_grad():
            pred = res.model.predict(data.test.x)
        grade_losses = res.losses["train"]
        nets, seconds = res.model.grades, sum(r.seconds for r in res.grade_results)  # across interruptions
    else:
        net = config.network(structure, dtype=dtype, device=device)
        train_config = config.train_config()
        step = plan.make_step(train_config, plan.objective) if plan.make_step is not None else None
        r = train(net, data, train_config, callbacks, resume=resume, objective=plan.objective, step=step)
        hist, outcome, diverged = r.history, r.outcome, r.diverged_epoch
        with torch.no_grad():
            pred = forward(net, data.test.x)
        grade_losses, nets, seconds = [], [net], r.seconds
    return summarize(config, data, hist, outcome, diverged, pred, grade_losses, [n.vector().cpu() for n in nets],
                     seconds)


def summarize(config, data, hist: dict[str, np.ndarray], outcome: Outcome, diverged: int | None,
              pred: torch.Tensor, grade_losses: list[float], params: list[torch.Tensor],
              seconds: float) -> "RunSummary":
    """A :class:`RunSummary` from a finished run (shared by the serial and batched paths)."""
    ok = outcome != Outcome.DIVERGED
    test_loss = HALF_MSE.value(pred, data.test.y).item() if ok else math.nan
    return RunSummary(
        config=config, outcome=outcome, diverged_epoch=diverged,
        train_loss=float(hist["train_loss"][-1]) if ok else math.nan,
        val_loss=float(hist["val_loss"][-1]) if ok else math.nan,
        test_loss=test_loss, epochs_run=int(hist["epoch"][-1]), seconds=seconds,
        history=hist, grade_train_losses=grade_losses,
        test_x=(data.test.x[:, 0] if data.test.x.shape[1] == 1 else data.test.x).cpu().double().numpy(),
        test_pred=pred[:, 0].cpu().double().numpy(),
        params=params)


@dataclass
class RunSummary:
    """What a run leaves behind: final losses (0.5·MSE, eq. 1), histories and predictions."""

    config: object  # the run's RunConfig
    outcome: Outcome
    diverged_epoch: int | None
    train_loss: float
    val_loss: float
    test_loss: float
    epochs_run: int
    seconds: float
    history: dict[str, np.ndarray] = field(repr=False)
    grade_train_losses: list[float] = field(default_factory=list)
    test_x: np.ndarray | None = field(default=None, repr=False)
    test_pred: np.ndarray | None = field(default=None, repr=False)
    params: list[torch.Tensor] = field(default_factory=list, repr=False)

    @property
    def diverged(self) -> bool:
        return self.outcome == Outcome.DIVERGED


def grade_result(saved: dict, widths) -> TrainResult:
    """A finished MGDL grade as saved by :meth:`mgdl_core.runs.checkpoints.RunStore.save_grade` (the :class:`Store`)."""
    vec = [t for t in saved["params"]]
    params = [(vec[2 * i], vec[2 * i + 1]) for i in range(len(vec) // 2)]
    return TrainResult(Network([params]), {k: v.numpy() for k, v in saved["history"].items()},
                       Outcome(saved["outcome"]), int(saved["epochs_run"]), saved["diverged_epoch"], float(saved["seconds"]),
                       saved.get("step_state"))
