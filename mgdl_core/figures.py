"""The §5–§7 pages' figure layouts (synthetic regression and the image spectra of §6): each
returns a matplotlib Figure composed of the panels of :mod:`mgdl_core.plots`; the pages glue it
and close it. The image pages' layouts are :mod:`mgdl_core.image_plots`.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence

import matplotlib.pyplot as plt

from .analysis import best_run
from .experiments import RunSummary
from .plots import (plot_eigen_trajectories, plot_loss_curve, plot_loss_vs_rate, plot_prediction, plot_seed_spread,
                    plot_spectrum_rows)

__all__ = ["loss_vs_rate_figure", "seed_spread_figure", "best_runs_figure", "eigen_loss_figure",
           "prediction_figure", "spectrum_rows_figure"]


def loss_vs_rate_figure(sweeps: Mapping[tuple[int, str], Sequence[RunSummary]],
                        thresholds: Mapping[int, float] | None = None) -> plt.Figure:
    """Figures 1 and 28: final training loss against the learning rate, one panel per setting
    (in the order of ``sweeps``' keys (setting, method)), one curve per method; with
    ``thresholds``, each setting's loss level as a dashed line."""
    settings = list(dict.fromkeys(s for s, _ in sweeps))
    fig, axes = plt.subplots(1, len(settings), figsize=(11, 4), sharey=True, squeeze=False)
    for ax, s in zip(axes[0], settings):
        for (setting, m), runs in sweeps.items():
            if setting == s:
                plot_loss_vs_rate(ax, runs, m)
        if thresholds is not None:
            ax.axhline(thresholds[s], color="0.5", ls="--", lw=1)
        ax.set_title(f"Setting {s}")
    axes[0, 0].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def seed_spread_figure(runs: Sequence[RunSummary], methods: Sequence[str], title: str) -> plt.Figure:
    """The final loss of configurations repeated over seeds (:func:`~mgdl_core.plots.plot_seed_spread`),
    one series per method."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for m in methods:
        plot_seed_spread(ax, [r for r in runs if r.config.method == m], m)
    ax.set_title(title)
    ax.legend(loc="lower left")
    fig.tight_layout()
    return fig


def best_runs_figure(sweeps: Mapping[tuple[int, str], Sequence[RunSummary]],
                     targets: Mapping[int, Callable]) -> plt.Figure:
    """Figure 17: per setting (a row), the loss curves of each method's best run by validation
    loss (:func:`~mgdl_core.analysis.best_run`, left) and their test predictions against
    ``targets[setting]`` (one panel per method). Two methods per setting, as (setting, method)
    keys in the order of ``sweeps``; a method whose runs all diverged leaves its panel empty."""
    settings = list(dict.fromkeys(s for s, _ in sweeps))
    fig, axes = plt.subplots(len(settings), 3, figsize=(14, 6.5), gridspec_kw=dict(width_ratios=[1.2, 1, 1]),
                             squeeze=False)
    for row, s in enumerate(settings):
        methods = [m for setting, m in sweeps if setting == s]
        for col, m in enumerate(methods):
            r = best_run(sweeps[s, m])
            if r is None:
                continue
            plot_loss_curve(axes[row, 0], r)
            plot_prediction(axes[row, col + 1], r, targets[s])
            axes[row, col + 1].set_title(f"Setting {s}, {m.upper()}, η = {r.config.lr:.3g}", fontsize=10)
            axes[row, col + 1].legend(fontsize=7, loc="lower left")
        axes[row, 0].set_title(f"Setting {s}: training loss of the best runs", fontsize=10)
        axes[row, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def eigen_loss_figure(runs: Sequence[RunSummary], titles: Sequence[str | None] | None = None,
                      figsize: tuple[float, float] = (12, 6.5)) -> plt.Figure:
    """Figures 2, 3, 16, 25, 26: one column per run, the tracked eigenvalues of I − ηH on top
    (:func:`~mgdl_core.plots.plot_eigen_trajectories`, with ``titles`` or the default ones)
    and the training loss below, sharing the epoch axis."""
    fig, axes = plt.subplots(2, len(runs), figsize=figsize, sharex="col", squeeze=False)
    for col, r in enumerate(runs):
        plot_eigen_trajectories(axes[0, col], r, title=None if titles is None else titles[col])
        plot_loss_curve(axes[1, col], r)
        axes[0, col].set_xlabel("")
    axes[0, 0].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def prediction_figure(runs: Mapping[Hashable, RunSummary], targets: Mapping[Hashable, Callable],
                      titles: Mapping[Hashable, str]) -> plt.Figure:
    """Figure 27: one panel per run, its test prediction against ``targets[key]``, titled
    ``titles[key]``."""
    fig, axes = plt.subplots(1, len(runs), figsize=(11, 3.5), squeeze=False)
    for ax, (key, r) in zip(axes[0], runs.items()):
        plot_prediction(ax, r, targets[key])
        ax.set_title(titles[key], fontsize=10)
        ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def spectrum_rows_figure(run: RunSummary) -> plt.Figure:
    """The tracked eigenvalues of I − ηH, one row of dots per checkpoint
    (:func:`~mgdl_core.plots.plot_spectrum_rows`, left), and the training loss (right)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
    plot_spectrum_rows(axes[0], run)
    plot_loss_curve(axes[1], run)
    fig.tight_layout()
    return fig


def results_figure(results: Sequence) -> plt.Figure:
    """:func:`eigen_loss_figure` of committed results (:class:`~mgdl_core.results.Result`), or a
    one-line figure saying none is computed yet (a page's figure exists either way)."""
    if results:
        return eigen_loss_figure([r.run for r in results])
    fig = plt.figure(figsize=(6, 0.6))
    fig.text(0.5, 0.5, "not computed at the paper's scale yet", ha="center", va="center")
    return fig


def paper_scale_parts(results: Mapping, methods: Sequence[str], settings: Sequence[int] = (1, 2)) -> dict:
    """What a page's "at the paper's scale" part shows, per setting: (:func:`results_figure` of
    the methods' results, their provenance, the numbers its prose quotes keyed
    ``"<method>-<name>"``, "–" for a run not computed yet: :func:`~mgdl_core.analysis.scale_values`)."""
    from .analysis import SCALE_KEYS, scale_values
    from .results import provenance_text

    parts = {}
    for s in settings:
        have = [results[s, m] for m in methods if (s, m) in results]
        values = {}
        for m in methods:
            found = scale_values(results[s, m].run) if (s, m) in results else dict.fromkeys(SCALE_KEYS, "–")
            values.update({f"{m}-{name}": v for name, v in found.items()})
        parts[s] = (results_figure(have), provenance_text(have), values)
    return parts
