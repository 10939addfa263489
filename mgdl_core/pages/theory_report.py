"""What the theory page shows: the problems, the claims it checks and its figures (§2–3, §6,
Appendices A–B; notebooks/03_theory.py).

- Theorems 1–2: :func:`rate_rows` and :func:`rate_claims` put α̂ (the largest ‖H‖ recorded along
  a tracked run, :func:`mgdl_core.theory.convergence.alpha_by_grade`) next to the run's rate and outcome;
  :func:`rate_bound_figure` draws 2/α̂ over the §5 sweep. :func:`alpha_after_start`,
  :func:`alpha_scale_text` and :func:`edge_claims` set the quick runs' α̂ beside the committed
  paper-scale runs' (``results/``), where every grade's α̂ sits at 2/η.
- Theorems 4–5: :func:`grade_problem` is one two-layer grade (8) on a few points of Setting 1
  with a smooth (softplus) or the paper's ReLU activation, and :func:`linearisation_figure`
  and :func:`path_claims` show GD beside (7).
- Theorem 3: :func:`convex_rows` and :func:`convex_claims` compare MGDL with convex grades to
  MGDL with GD grades (:mod:`mgdl_core.theory.convex_grades`).

The checked claims are decisions with room (:func:`mgdl_core.pages.claims.decide`), never raw numbers,
except those read from committed results, which are the same on every machine. Printed text
writes α̂ as "alpha_hat": a combining circumflex lands on the next character in monospace.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Callable

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..core.training import Outcome
from ..tasks.synthetic import get_setting
from ..theory.convergence import LinearisedPath, alpha_by_grade
from ..theory.convex import (ACTIVATION_DERIVATIVES, random_two_layer, two_layer_derivatives, two_layer_loss,
                             with_bias_column)
from ..theory.convex_grades import TwoLayerMGDL
from .claims import decide, grade_starts
from .figures import figure_legend, loss_vs_rate_figure
from .plots import COLORS, LABELS

# Rooms of the checked claims on α̂ (factors): the largest ‖H‖ recorded along a run near the edge
# of stability moved by 5 % (SGDL, Setting 1) and by 24 % (MGDL's grade 4, Setting 2) between two
# numeric paths on one machine, so a claim is made on η·max α̂ (which moved by under 6 %) and on
# SGDL's α̂ against MGDL's first grade (ratios of 3 and more).
RATE_ROOM = 1.08
RATIO_ROOM = 1.25
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    name: ACTIVATION_DERIVATIVES[name][0] for name in ("softplus", "relu")}


def _label(run) -> str:
    c = run.config
    return f"Setting {c.setting} {c.method.upper()} η={c.lr:g}"


def rate_rows(runs: Sequence) -> list[tuple[str, float, list[float]]]:
    """(label, η, α̂ per grade) of each tracked run."""
    return [(_label(r), float(r.config.lr), alpha_by_grade(r)) for r in runs]


def rate_text(runs: Sequence) -> str:
    """A short table of η α̂ per grade (the theorems want η α̂ < 2), for the reader."""
    lines = []
    for label, lr, alphas in rate_rows(runs):
        lines.append(f"{label}: alpha_hat = {', '.join(f'{a:.1f}' for a in alphas)}")
        lines.append(f"  η·alpha_hat = {', '.join(f'{lr * a:.2f}' for a in alphas)}")
    return "\n".join(lines)


def alpha_after_start(run) -> list[float]:
    """Per grade, the largest ‖H‖ recorded after the grade's initialisation (the spectra taken
    while it trains; :func:`mgdl_core.pages.claims.grade_starts` marks the others), NaN for a grade
    with no spectrum after its start. Beside :func:`~mgdl_core.theory.convergence.alpha_by_grade`, which
    includes the start: where they differ, the start was sharper than anything GD kept."""
    h = run.history
    norms = np.asarray(h["hessian_norm"], dtype=np.float64)
    grades = np.asarray(h["eig_grade"]) if "eig_grade" in h else np.ones(norms.size, int)
    later = ~grade_starts(run)
    return [float(norms[(grades == g) & later].max()) if ((grades == g) & later).any() else math.nan
            for g in np.unique(grades)]


def _epochs(run) -> str:
    """The run's scale in words: its epochs (per grade for MGDL) and whether it stopped early."""
    c = run.config
    stop = ", early stopping" if getattr(c, "early_stopping", False) else ""
    return f"{c.epochs:,} epochs{' per grade' if c.graded else ''}{stop}"


def alpha_scale_text(quick: Mapping[tuple[int, str], object], paper: Mapping[tuple[int, str], object]) -> str:
    """Per tracked run (setting, method): 2/η, then alpha_hat per grade of the ``quick`` run and
    of the ``paper``-scale run (all spectra, and after each grade's initialisation), each with its
    epochs; a run missing from either side reads "not computed"."""
    lines = []
    for key in dict.fromkeys([*quick, *paper]):
        run = quick.get(key) or paper.get(key)
        lines.append(f"{_label(run)}, 2/η = {2 / run.config.lr:.1f}:")
        for name, side in (("quick", quick), ("paper", paper)):
            r = side.get(key)
            if r is None:
                lines.append(f"  {name}: not computed")
                continue
            lines.append(f"  {name} ({_epochs(r)}):")
            lines.append(f"    alpha_hat = {', '.join(f'{a:.1f}' for a in alpha_by_grade(r))}")
            if name == "paper":
                lines.append(f"    after each start: {', '.join(f'{a:.1f}' for a in alpha_after_start(r))}")
    return "\n".join(lines)


# "At the edge of stability": η·alpha_hat after a grade's start within EDGE_BAND of 2 (relative),
# called with EDGE_ROOM. For committed results only: they are the same on every machine.
EDGE_BAND = 0.05
EDGE_ROOM = 0.01


def edge_claims(runs: Mapping[tuple[int, str], object]) -> list[str]:
    """Per run (meant for the committed paper-scale results): does every grade's alpha_hat after its
    initialisation sit within :data:`EDGE_BAND` of 2/η (GD holding the sharpness at the edge of
    stability), called with room :data:`EDGE_ROOM`; then :func:`rate_claims` on the same runs."""
    lines = []
    for key, run in runs.items():
        after = alpha_after_start(run)
        worst = max(abs(run.config.lr * a / 2 - 1) for a in after) if not any(map(math.isnan, after)) else math.nan
        lines.append(f"{_label(run)}: alpha_hat within {EDGE_BAND:.0%} of 2/η")
        lines.append(f"  at every grade (after its start): {decide(worst, '<', EDGE_BAND, EDGE_ROOM)}")
    return lines + rate_claims(runs)


def rate_claims(tracked: Mapping[tuple[int, str], object]) -> list[str]:
    """Per tracked run, keyed (setting, method): does η·α̂ exceed 2 at some grade (the sufficient
    condition of Theorems 1–2 fails on the run's own path), with room :data:`RATE_ROOM`, and did
    the run train without diverging; per setting whose SGDL and MGDL rates are within a factor 2:
    is SGDL's α̂ more than twice MGDL's first-grade α̂_1 (room :data:`RATIO_ROOM`)."""
    lines = []
    for (setting, method), run in tracked.items():
        alphas = alpha_by_grade(run)
        fails = decide(run.config.lr * max(alphas), ">", 2.0, RATE_ROOM, relative=True)
        lines.append(f"{_label(run)}: η·alpha_hat > 2 on its path: {fails}")
        lines.append(f"  trained without diverging: {'yes' if run.outcome == Outcome.COMPLETED else 'no'}")
    for setting in dict.fromkeys(s for s, _ in tracked):
        sgdl, mgdl = tracked.get((setting, "sgdl")), tracked.get((setting, "mgdl"))
        # Only at comparable rates: near the edge of stability λ_max is held near 2/η, so at rates
        # far apart the ratio of α̂ measures the rates, not the networks.
        if sgdl is None or mgdl is None or max(sgdl.config.lr, mgdl.config.lr) > 2 * min(sgdl.config.lr, mgdl.config.lr):
            continue
        ratio = alpha_by_grade(sgdl)[0] / alpha_by_grade(mgdl)[0]
        lines.append(f"Setting {setting}: SGDL's alpha_hat > 2 × MGDL's alpha_hat_1: "
                     f"{decide(ratio, '>', 2.0, RATIO_ROOM, relative=True)}")
    return lines


def rate_bound_figure(sweeps: Mapping[tuple[int, str], Sequence], tracked: Mapping[tuple[int, str], object]
                      ) -> plt.Figure:
    """The §5 sweep (final loss against η, crosses: diverged) with 2/α̂ of each tracked run as a
    vertical line: solid for SGDL, dotted per MGDL grade (grade numbers on top)."""
    fig = loss_vs_rate_figure(sweeps)
    settings = list(dict.fromkeys(s for s, _ in sweeps))
    for ax, s in zip(fig.axes, settings):
        for (setting, method), run in tracked.items():
            if setting != s:
                continue
            alphas = alpha_by_grade(run)
            for g, a in enumerate(alphas, start=1):
                ax.axvline(2 / a, color=COLORS[method], lw=1.2, ls="-" if len(alphas) == 1 else ":")
                if len(alphas) > 1:  # staggered down the top edge, so that close lines' numbers do not overprint
                    ax.text(2 / a, 0.97 - 0.07 * (g - 1), str(g), color=COLORS[method], ha="center", va="top",
                            transform=ax.get_xaxis_transform())
            ax.plot([], [], color=COLORS[method], ls="-" if len(alphas) == 1 else ":",
                    label=rf"$2/\hat\alpha$, {LABELS[method]} at η = {run.config.lr:g}")
    figure_legend(fig)
    return fig


@dataclass(frozen=True)
class GradeProblem:
    """One two-layer grade (8): its objective F of the parameter vector, the start W^0 and, for a
    ReLU grade, the activation pattern map (None for a smooth grade, which has no kinks)."""

    activation: str
    objective: Callable[[torch.Tensor], torch.Tensor]
    start: np.ndarray
    patterns: Callable[[torch.Tensor], torch.Tensor] | None
    # W ↦ (F, ∇F, H) in closed form, for linearised_gd (None: autograd on ``objective``)
    derivatives: Callable[[torch.Tensor], tuple[float, torch.Tensor, torch.Tensor]] | None = None
    n: int = 0  # points
    width: int = 0  # neurons
    beta: float = 0.0  # weight decay


def grade_problem(activation: str, n: int = 16, width: int = 8, beta: float = 0.1, seed: int = 1,
                  setting: int = 1) -> GradeProblem:
    """Grade (8) on ``n`` points of ``setting`` (the cell midpoints of [0, 1], so that no point is
    x = 0), ``width`` neurons with biases, weight β, from :func:`mgdl_core.theory.convex.random_two_layer`."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}: use {', '.join(ACTIVATIONS)}")
    x = (np.arange(n) + 0.5) / n
    xb = torch.from_numpy(with_bias_column(x))
    e = torch.from_numpy(get_setting(setting)(x))
    start = random_two_layer(2, width, torch.Generator().manual_seed(seed))
    sigma = ACTIVATIONS[activation]
    # the pre-activations [x, 1] W of the layout of two_layer_loss (W first, row by row)
    patterns = (lambda v: (xb @ v[:2 * width].reshape(2, width)) >= 0) if activation == "relu" else None
    return GradeProblem(activation, lambda v: two_layer_loss(v, xb, e, beta, sigma), start, patterns,
                        lambda v: two_layer_derivatives(v, xb, e, beta, activation), n, width, beta)


# A neuron is "shrunk to zero" when its input weights' norm is below this share of the largest.
SHRUNK = 1e-2


def path_glue(label: str, p: LinearisedPath, width: int) -> dict[str, str]:
    """The numbers the theory page's prose quotes about one path of (6)–(7), as text keyed
    ``<activation>-<η>-<what>``: τ_k's largest value on the second half and the share of it above
    1, the steps of the first stretch with τ_k > 1 and how many of them have an eigenvalue of
    I − ηH above 1 (a negative Hessian eigenvalue), the gap's peak (also as the power of ten below
    it: on a path that GD walks chaotically the peak itself moves with rounding, 10–17 for the
    softplus grade at η = 0.025 on two numeric paths) and end and the factor it fell
    by over the last fifth of the path, the last steps' length, the two losses of the last steps
    (a period-two cycle repeats them, lower first) and how closely (a power of ten above the change
    over two steps), and for a ReLU path its kink crossings and how many of the
    ``width`` neurons end with input weights below :data:`SHRUNK` of the largest."""
    tag, tail = label.replace(", η = ", "-"), p.tau[p.tau.size // 2:]
    above = p.tau > 1
    first = int(np.argmin(above)) if not above.all() else above.size  # the first stretch with τ_k > 1
    fifth = p.gap.size // 5
    w = np.linalg.norm(np.asarray(p.w[:-width]).reshape(-1, width), axis=0)
    out = {"tau-tail": f"{tail.max():.4f}", "above-one": f"{(tail > 1).mean():.0%}",
           "tau-max": f"{p.tau_sup:.3f}", "early-steps": f"{first:,}",
           "early-negative": f"{int((p.a_max[:first] > 1).sum()):,}",
           "gap-peak": f"{p.gap.max():.2g}", "gap-end": f"{p.gap[-1]:.1g}",
           "gap-fall": f"{p.gap[-fifth - 1] / p.gap[-1]:.1f}", "step-end": f"{p.step[-2]:.2g}",
           "gap-floor": _power_of_ten(p.gap.max(), math.floor),
           # the lower value first: on a chaotic path which of the two comes last depends on rounding
           "loss-cycle": "{:.4f} and {:.4f}".format(*sorted(p.loss[-2:])),
           "cycle-repeat": _power_of_ten(abs(p.loss[-1] - p.loss[-3]), math.ceil)}
    if p.crossed.any() or label.startswith("relu"):
        out["kinks"] = f"{int(p.crossed.sum()):,}"
        out["shrunk"] = f"{int((w < SHRUNK * w.max()).sum())}"
    return {f"{tag}-{k}": v for k, v in out.items()}


def _power_of_ten(x: float, rounding) -> str:
    """The power of ten below (``math.floor``) or above (``math.ceil``) x > 0, as "10" or "1e-10"; 0 as "0"."""
    return "0" if x == 0 or not math.isfinite(x) else f"{10.0 ** rounding(math.log10(x)):g}"


def _band(values: np.ndarray, windows: int = 250) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(step, min, max) of ``values`` over ``windows`` consecutive windows: a path that chatters
    from step to step (a ReLU grade crossing a kink) drawn as its envelope, not as a solid block."""
    size = max(1, values.size // windows)
    n = values.size // size * size
    blocks = values[:n].reshape(-1, size)
    return np.arange(n).reshape(-1, size)[:, 0], blocks.min(axis=1), blocks.max(axis=1)


# Gaps below this are drawn at it: under it the float64 iterates differ by their rounding, which
# changes with the CPU's kernels (a figure that moves from machine to machine).
GAP_FLOOR = 1e-12


def linearisation_figure(paths: Mapping[str, LinearisedPath]) -> plt.Figure:
    """Per activation (a row: the smooth grade, then the ReLU grade): τ_k = ‖I − ηH(W^k)‖ (left;
    the dotted line is 1, the axis cut at 1.2) and ‖W^k − W̃^k‖ from k = 2 on (right; W̃ = W at
    k = 0, 1 by construction), each rate a colour, drawn as the band between the smallest and
    the largest value over windows of the path (:func:`_band`); gaps below :data:`GAP_FLOOR`
    drawn at it."""
    activations = list(dict.fromkeys(label.split(",")[0] for label in paths))
    rates = sorted({p.lr for p in paths.values()})
    fig, axes = plt.subplots(len(activations), 2, figsize=(8, 3.6 * len(activations)), sharex=True, squeeze=False)
    for label, p in paths.items():
        row = axes[activations.index(label.split(",")[0])]
        color = plt.get_cmap("tab10")(rates.index(p.lr))
        for ax, values in ((row[0], p.tau), (row[1], np.maximum(p.gap[2:], GAP_FLOOR))):
            k, low, high = _band(values)
            ax.fill_between(k, low, high, color=color, alpha=0.35, lw=0)
            ax.plot(k, high, color=color, lw=1, label=f"η = {p.lr:g}")
    for row, activation in zip(axes, activations):
        row[0].axhline(1.0, color="k", lw=0.8, ls=":")
        row[0].set_ylim(0.98, 1.2)
        name = {"relu": "ReLU"}.get(activation, activation)
        row[0].set(ylabel=r"$\tau_k = \|I - \eta H(W^k)\|$", title=rf"{name}: $\tau_k$ (axis cut at 1.2)")
        row[1].set_yscale("log")
        row[1].set_ylim(bottom=GAP_FLOOR / 2)
        row[1].set(ylabel=r"$\|W^k - \tilde W^k\|$", title=f"{name}: GD (6) against (7), floor 1e-12")
        row[1].legend(loc="lower left")
    for ax in axes[-1]:
        ax.set_xlabel("step k")
    fig.tight_layout()
    return fig


def path_claims(paths: Mapping[str, LinearisedPath]) -> list[str]:
    """Per path, with room (these are deterministic float64 iterations of 24 parameters, but
    the ReLU paths chatter across kinks): is τ_k < 1 on the second half of the path (room
    10⁻⁴); do GD and (7) part (peak gap above 1, 3× room); do they meet (gap at the end below
    10⁻³, 2× room)."""
    lines = []
    for label, p in paths.items():
        tail = p.tau[p.tau.size // 2:]
        lines.append(f"{label}:")
        lines.append(f"  τ_k < 1 on the second half: {decide(float(tail.max()), '<', 1.0, 1e-4)}")
        lines.append(f"  they part, gap above 1: {decide(float(p.gap.max()), '>', 1.0, 3.0, relative=True)}")
        lines.append(f"  they meet, gap at the end below 1e-3: {decide(float(p.gap[-1]), '<', 1e-3, 2.0, relative=True)}")
    return lines


def convex_rows(fits: Sequence[TwoLayerMGDL]) -> str:
    """Per fit and grade: the training loss (3) after it, the objective (8) and the neurons (no
    times: a committed notebook must not change between builds; bench/bench_convex_mgdl.py)."""
    lines = [f"{'grade':<8}{'loss (3)':>10}{'(8)':>9}{'neurons':>9}"]
    for fit in fits:
        lines.append(f"{fit.method}:")
        for level, g in enumerate(fit.grades, start=1):
            lines.append(f"  {level:<6}{g.loss:>10.2e}{g.objective:>9.3f}{g.neurons:>9d}")
    return "\n".join(lines)


def convex_claims(convex: TwoLayerMGDL, gd: TwoLayerMGDL) -> list[str]:
    """Grade 1's convex optimum against GD's (8) (Theorem 3: global, so never above it), and the
    final training losses compared with a 2× room."""
    first = decide(gd.grades[0].objective / convex.grades[0].objective, ">", 1.0, 1.02, relative=True)
    final = decide(convex.losses[-1], "<", gd.losses[-1], 2.0, relative=True)
    return [f"grade 1: GD's objective (8) above the convex optimum (2% room): {first}",
            f"after {len(convex.grades)} grades: convex MGDL's loss below GD MGDL's (2× room): {final}"]


def convex_fit_figure(x: np.ndarray, y: np.ndarray, fits: Sequence[TwoLayerMGDL]) -> plt.Figure:
    """The data and each fit's prediction after each grade (one panel per fit)."""
    grid = np.linspace(float(np.min(x)), float(np.max(x)), 400)
    fig, axes = plt.subplots(1, len(fits), figsize=(8, 4.2), sharey=True, squeeze=False, layout="constrained")
    for ax, fit in zip(axes[0], fits):
        ax.plot(x, y, "o", color="0.3", ms=4, label="data")
        for level in range(1, len(fit.grades) + 1):
            ax.plot(grid, fit.predict(grid, level), lw=1.2, label=f"after grade {level}")
        ax.set(title=f"MGDL, {'convex program (9)' if fit.method == 'convex' else 'GD on (8)'} per grade", xlabel="x")
    figure_legend(fig, ncol=4)  # below: inside a panel it hides data points
    return fig
