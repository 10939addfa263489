"""Multi-grade deep learning (§3): grade by grade on residuals, earlier grades frozen.

Grade l trains a shallow network N_{D_l} on D_l = {x_{lℓ}, e_{lℓ}} (eq. 3), where x_{lℓ} are the
frozen features of the grades before it (the last hidden layer of grade l − 1, fed by grade
l − 2's, and so on) and e_{lℓ} is the residual of the sum of the earlier grades' outputs:
e_1 = y, e_{l+1} = e_l − g_l(Θ_l*; x). The final model is ḡ_L = Σ_l g_l (the additive
composition below eq. 3). Each grade is trained by GD (eq. 4) through :func:`~mgdl_core.core.training.train`.

The frozen features are computed once per grade on each split and cached, never per step, so a
grade's step costs the same however deep the frozen stack (the authors' code does the same;
shared/notes/performance.md §2). Each grade starts a fresh optimiser, and by default every
grade is initialised from the same seed (the authors reuse one PRNG key).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .data import Dataset, Split
from .nets import Network, Widths, init_params
from .objectives import HALF_MSE, Objective
from .step import Step, mlp_features, mlp_forward
from .training import Callback, Outcome, TrainConfig, TrainResult, train


@dataclass
class MGDLModel:
    """The trained grades Θ_1*, …, Θ_L*; ``predict`` evaluates ḡ_L(x) = Σ_l ε_l·g_l(Θ_l*; x), where
    ``scales`` holds the ε_l of eq. (24) (restoration; none, or all 1, for regression)."""

    grades: list[Network]
    scales: list[float] = field(default_factory=list)

    def features(self, x: torch.Tensor, upto: int) -> torch.Tensor:
        """x_l: the input of grade ``upto`` (1-based), i.e. the frozen features of grades < upto."""
        h = x
        for net in self.grades[:upto - 1]:
            h = mlp_features(net.branches[0], h)
        return h

    def predict(self, x: torch.Tensor, grades: int | None = None) -> torch.Tensor:
        """ḡ_l(x) for the first ``grades`` grades (all by default), recomputing every feature."""
        h, out = x, None
        for l, net in enumerate(self.grades[:grades], start=1):
            y = mlp_forward(net.branches[0], h)
            if l <= len(self.scales) and self.scales[l - 1] != 1.0:
                y = self.scales[l - 1] * y
            out = y if out is None else out + y
            h = mlp_features(net.branches[0], h)
        return out

    def num_parameters(self) -> list[int]:
        return [g.num_parameters() for g in self.grades]


@dataclass
class MGDLResult:
    """The model, each grade's :class:`TrainResult` and the loss of ḡ_l after each grade."""

    model: MGDLModel
    grade_results: list[TrainResult]
    losses: dict[str, list[float]]  # "train"/"val"/"test" → loss of ḡ_l after grade l
    # ḡ_L on every split, as the grade loop summed it (with the grade scales ε_l of eq. 24)
    predictions: dict[str, torch.Tensor] | None = None

    @property
    def outcome(self) -> Outcome:
        return Outcome.DIVERGED if any(r.outcome == Outcome.DIVERGED for r in self.grade_results) else Outcome.COMPLETED

    @property
    def diverged_epoch(self) -> int | None:
        """Epoch of divergence counted over all grades (grade epochs added up)."""
        done = 0
        for r in self.grade_results:
            if r.outcome == Outcome.DIVERGED:
                return done + (r.diverged_epoch or 0)
            done += r.epochs_run
        return None

    @property
    def final_train_loss(self) -> float:
        return math.nan if self.outcome == Outcome.DIVERGED else self.losses["train"][-1]

    def history(self) -> dict[str, np.ndarray]:
        """All grades' histories on one epoch axis (grade epochs added up), with the grade of
        every loss record (``grade``), eigenvalue record (``eig_grade``) and PSNR record
        (``psnr_grade``, restoration)."""
        out: dict[str, list] = {}
        offset = 0
        for l, r in enumerate(self.grade_results, start=1):
            for k, v in r.history.items():
                out.setdefault(k, []).append(v + offset if k.endswith("epoch") else v)
            for key, grade_key in (("epoch", "grade"), ("eig_epoch", "eig_grade"), ("psnr_epoch", "psnr_grade")):
                if key in r.history:
                    out.setdefault(grade_key, []).append(np.full(len(r.history[key]), l))
            offset += r.epochs_run
        return {k: np.concatenate(v) for k, v in out.items()}


@dataclass
class GradeLoop:
    """What the grade loop leaves: ḡ_L on every split (``predictions``), the objective of ḡ_l on
    every split after each grade l (``losses[split][l - 1]``; ``[K]`` for stacked models) and
    how many grades ran."""

    predictions: dict[str, torch.Tensor]
    losses: dict[str, list[torch.Tensor]]
    grades_run: int


def grade_loop(n_grades: int, splits: dict[str, Split], train_grade: Callable[..., object | None], *,
               mode: str = "residual", objective: Objective = HALF_MSE,
               predict: Callable = mlp_forward, features: Callable = mlp_features,
               scale: Callable[[torch.Tensor, torch.Tensor], float] | None = None) -> GradeLoop:
    """Grade by grade (eq. 3): grade l trains on the frozen features of the grades before it,
    cached once per grade on every split, never per step.

    ``train_grade(l, data)`` (``data`` a :class:`Dataset` of features and targets; in "offset"
    mode also ``offset=``, the training split's ḡ_{l−1}) trains grade l and returns its
    parameters — one model's, or K stacked models' for the batched sweep — or ``None`` to stop
    (a diverged grade). ``predict``/``features`` evaluate those parameters (one model or K).

    ``mode="residual"`` (regression, §3): grade l's targets are e_l = y − ḡ_{l−1}, new tensors (the
    caller's are never changed). ``mode="offset"``: the targets stay y and the grade minimises
    ``objective``(ḡ_{l−1} + g_l) through :class:`~mgdl_core.core.objectives.Shifted`, the form the
    restoration objectives (Appendix C, eq. 24) need; for eq. (1) both modes are the same problem.
    ``scale(ḡ_{l−1}, y)`` ("offset" mode only) gives grade l ≥ 2 its normalisation ε_l of eq. (24):
    the grade adds ε_l·g_l (``train_grade`` gets ``scale=ε_l``); ε_1 = 1.
    """
    if mode not in ("residual", "offset"):
        raise ValueError(f"unknown grade mode {mode!r}: use 'residual' or 'offset'")
    if scale is not None and mode != "offset":
        raise ValueError("a grade scale ε_l belongs to 'offset' mode (eq. 24)")
    feats = {k: s.x for k, s in splits.items()}
    targets = {k: s.y.clone() for k, s in splits.items()}
    acc: dict[str, torch.Tensor] = {}
    losses: dict[str, list[torch.Tensor]] = {k: [] for k in splits}
    run = 0
    for l in range(1, n_grades + 1):
        data = Dataset(*(Split.trusted(feats[k], targets[k]) if k in feats else None
                         for k in ("train", "val", "test")))
        eps = 1.0
        if mode == "offset" and acc:
            if scale is None:
                params = train_grade(l, data, offset=acc["train"])
            else:
                eps = float(scale(acc["train"], splits["train"].y))
                params = train_grade(l, data, offset=acc["train"], scale=eps)
        else:
            params = train_grade(l, data)
        if params is None:
            break
        run = l
        with torch.no_grad():
            for k in splits:
                pred = predict(params, feats[k])
                if eps != 1.0:
                    pred = eps * pred
                acc[k] = pred if k not in acc else acc[k] + pred
                if mode == "residual":
                    targets[k] = targets[k] - pred
                losses[k].append(objective.value(acc[k], splits[k].y))
                if l < n_grades:
                    feats[k] = features(params, feats[k])  # cached once per grade
    return GradeLoop(acc, losses, run)


def train_mgdl(grades: Sequence[Widths], data: Dataset, config: TrainConfig | Sequence[TrainConfig], *,
               init: str = "he", seed: int = 0, same_seed_per_grade: bool = True,
               callbacks: Sequence[Callback] = (), finished: Sequence[TrainResult] = (),
               resume: dict | None = None,
               on_grade_end: Callable[[int, TrainResult], None] | None = None,
               objective: Objective = HALF_MSE, mode: str = "residual",
               scale: Callable[[torch.Tensor, torch.Tensor], float] | None = None,
               grade_objective: Callable[[torch.Tensor, float], Objective] | None = None,
               make_step: Callable[[TrainConfig, Objective], Step] | None = None,
               carry: Callable[[TrainResult], None] | None = None) -> MGDLResult:
    """Train MGDL grade by grade (eq. 3–4). ``config`` is one config for every grade or one per
    grade. A grade that diverges ends the run (later grades would fit NaN residuals).

    Resuming: ``finished`` are the results of grades already trained (they are not trained
    again; their features and residuals are recomputed, bit for bit as before), ``resume`` a
    snapshot of the grade in progress, and ``on_grade_end(l, result)`` is called after each
    newly trained grade (the durable-run layer saves it there).

    Every task's grades go through here; what differs is a parameter. Regression (§3) minimises
    ``objective`` (eq. 1) on residuals; restoration (Appendix C) trains in ``mode="offset"``
    (:func:`grade_loop`) on ``grade_objective(ḡ_{l−1}, ε_l)`` (eq. 24) with grade scales
    ``scale``, by the step ``make_step(config, objective)`` (default: the config's GD or Adam),
    and ``carry(result)`` restores from a finished grade what the next one starts from (the ROF
    u of eq. 20, in ``result.step_state``)."""
    configs = list(config) if isinstance(config, Sequence) else [config] * len(grades)
    if len(configs) != len(grades):
        raise ValueError(f"{len(configs)} training configs for {len(grades)} grades")
    dtype, device = data.train.x.dtype, data.train.x.device
    splits = {k: s for k, s in (("train", data.train), ("val", data.val), ("test", data.test)) if s is not None}
    nets: list[Network] = []
    scales: list[float] = []
    results: list[TrainResult] = []
    losses: dict[str, list[float]] = {k: [] for k in splits}

    def train_grade(l: int, grade_data: Dataset, offset: torch.Tensor | None = None, scale: float = 1.0):
        widths, cfg = grades[l - 1], configs[l - 1]
        obj = objective if offset is None else grade_objective(offset, scale)
        if widths[0] != grade_data.train.x.shape[1]:
            raise ValueError(f"grade {l} expects {widths[0]} inputs but receives "
                             f"{grade_data.train.x.shape[1]} features")
        net = Network([init_params(widths, init, seed=seed if same_seed_per_grade else seed + l - 1,
                                   dtype=dtype, device=device)])
        if l <= len(finished):
            result = finished[l - 1]
            net = result.net.to(dtype=dtype, device=device)
            result = TrainResult(net, result.history, result.outcome, result.epochs_run,
                                 result.diverged_epoch, result.seconds, result.step_state)
            if carry is not None:
                carry(result)
        else:
            # a snapshot left by a grade that finished just before a kill is stale: ignore it
            fresh = resume is not None and l == len(finished) + 1 and resume.get("grade") == l
            step = make_step(cfg, obj) if make_step is not None else None
            result = train(net, grade_data, cfg, callbacks, grade=l, resume=resume if fresh else None,
                           objective=obj, step=step)
            if on_grade_end is not None:
                on_grade_end(l, result)
        nets.append(net)
        scales.append(scale)
        results.append(result)
        if result.outcome == Outcome.DIVERGED:
            return None
        return net.branches[0]

    loop = grade_loop(len(grades), splits, train_grade, mode=mode, objective=objective, scale=scale)
    losses = {k: [v.item() for v in vals] for k, vals in loop.losses.items()}
    return MGDLResult(MGDLModel(nets, scales), results, losses, loop.predictions)
