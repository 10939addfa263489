"""The §5–§7 pages' figure layouts (synthetic regression and the image spectra of §6): each
returns a matplotlib Figure composed of the panels of :mod:`mgdl_core.pages.plots`; the pages glue it
and close it. The image pages' layouts are :mod:`mgdl_core.pages.image_plots`.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence

import matplotlib.pyplot as plt

from ..tasks.fit import RunSummary
from .analysis import best_run
from .plots import (plot_eigen_trajectories, plot_loss_curve, plot_loss_vs_rate, plot_prediction, plot_seed_spread,
                    plot_spectrum_rows)

__all__ = ["loss_vs_rate_figure", "seed_spread_figure", "best_runs_figure", "eigen_loss_figure",
           "prediction_figure", "spectrum_rows_figure", "figure_legend"]


def figure_legend(fig, ncol: int = 2) -> None:
    """One legend for the whole figure, below its panels (constrained layout), of every labelled
    artist of every panel once: inside a panel, a legend covers data."""
    handles, labels = [], []
    for ax in fig.axes:
        for h, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(h)
                labels.append(label)
    for ax in fig.axes:
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    for legend in list(fig.legends):  # an earlier figure legend: this one replaces it
        legend.remove()
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol)


def loss_vs_rate_figure(sweeps: Mapping[tuple[int, str], Sequence[RunSummary]],
                        thresholds: Mapping[int, float] | None = None) -> plt.Figure:
    """Figures 1 and 28: final training loss against the learning rate, one panel per setting
    (in the order of ``sweeps``' keys (setting, method)), one curve per method; with
    ``thresholds``, each setting's loss level as a dashed line; the legend below
    (:func:`figure_legend`)."""
    settings = list(dict.fromkeys(s for s, _ in sweeps))
    fig, axes = plt.subplots(1, len(settings), figsize=(8, 4.2), sharey=True, squeeze=False, layout="constrained")
    for ax, s in zip(axes[0], settings):
        for (setting, m), runs in sweeps.items():
            if setting == s:
                plot_loss_vs_rate(ax, runs, m)
        if thresholds is not None:
            ax.axhline(thresholds[s], color="0.5", ls="--", lw=1)
        ax.set_title(f"Setting {s}", pad=12)  # room above for the ✕ of diverged runs on the top edge
        rates = [r.config.lr for (setting, _), runs in sweeps.items() if setting == s for r in runs]
        ax.set_xlim(min(rates + [1e-3]) / 1.3, max(rates + [0.5]) * 1.3)  # the paper's [0.001, 0.5], always
    for ax in axes[0, 1:]:
        ax.set_ylabel("")  # the axis is shared; its ticks are on the first panel
    figure_legend(fig)
    return fig


def seed_spread_figure(runs: Sequence[RunSummary], methods: Sequence[str], title: str) -> plt.Figure:
    """The final loss of configurations repeated over seeds (:func:`~mgdl_core.pages.plots.plot_seed_spread`),
    one series per method."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for m in methods:
        plot_seed_spread(ax, [r for r in runs if r.config.method == m], m)
    ax.plot([], [], "o", color="0.4", ms=4, label="one seed")
    ax.plot([], [], "x", color="0.4", ms=7, mew=2, label="one seed, diverged (top edge)")
    ax.set_title(title)
    ax.legend(loc="lower left")
    fig.tight_layout()
    return fig


def best_runs_figure(sweeps: Mapping[tuple[int, str], Sequence[RunSummary]],
                     targets: Mapping[int, Callable]) -> plt.Figure:
    """Figure 17: per setting (a row), the loss curves of each method's best run by validation
    loss (:func:`~mgdl_core.pages.analysis.best_run`, left) and their test predictions against
    ``targets[setting]`` (one panel per method). Two methods per setting, as (setting, method)
    keys in the order of ``sweeps``; a method whose runs all diverged leaves its panel empty."""
    settings = list(dict.fromkeys(s for s, _ in sweeps))
    fig = plt.figure(figsize=(8, 6.4 * len(settings)))
    grid = fig.add_gridspec(2 * len(settings), 2)
    for row, s in enumerate(settings):
        loss_ax = fig.add_subplot(grid[2 * row, :])
        methods = [m for setting, m in sweeps if setting == s]
        for col, m in enumerate(methods):
            ax = fig.add_subplot(grid[2 * row + 1, col])
            r = best_run(sweeps[s, m])
            if r is None:
                ax.set_axis_off()
                continue
            plot_loss_curve(loss_ax, r)
            plot_prediction(ax, r, targets[s])
            # the test loss in the title: a legend would cover the target's troughs
            ax.set_title(f"Setting {s}, {m.upper()}, η = {r.config.lr:.3g}\ntest loss {r.test_loss:.1e}")
        loss_ax.set_title(f"Setting {s}: training loss of the best runs")
        loss_ax.legend()
    fig.tight_layout()
    return fig


def eigen_loss_figure(runs: Sequence[RunSummary], titles: Sequence[str | None] | None = None) -> plt.Figure:
    """Figures 2, 3, 16, 25, 26: per run, the tracked eigenvalues of I − ηH on top
    (:func:`~mgdl_core.pages.plots.plot_eigen_trajectories`, with ``titles`` or the default ones)
    and the training loss below, sharing the epoch axis; two runs side by side, more below."""
    columns = min(len(runs), 2)
    blocks = -(-len(runs) // columns)
    fig, axes = plt.subplots(2 * blocks, columns, figsize=(8, 6.4 * blocks), sharex="col", squeeze=False,
                             gridspec_kw=dict(height_ratios=[1.25, 1] * blocks), layout="constrained")
    for k, r in enumerate(runs):
        top, bottom = axes[2 * (k // columns), k % columns], axes[2 * (k // columns) + 1, k % columns]
        plot_eigen_trajectories(top, r, title=None if titles is None else titles[k])
        plot_loss_curve(bottom, r)
        top.set_xlabel("")
        top.tick_params(labelbottom=True)
        bottom.tick_params(labelbottom=True)  # sharex hides them on all but the last row
    for k in range(len(runs), blocks * columns):  # an odd run out leaves its panels empty
        axes[2 * (k // columns), k % columns].set_axis_off()
        axes[2 * (k // columns) + 1, k % columns].set_axis_off()
    figure_legend(fig, ncol=3)  # below: inside a panel it would cover the eigenvalues near −1
    return fig


def prediction_figure(runs: Mapping[Hashable, RunSummary], targets: Mapping[Hashable, Callable],
                      titles: Mapping[Hashable, str]) -> plt.Figure:
    """Figure 27: one panel per run, its test prediction against ``targets[key]``, titled
    ``titles[key]``."""
    columns = min(len(runs), 2)
    rows = -(-len(runs) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(8, 3.4 * rows), squeeze=False)
    for ax in axes.flat[len(runs):]:
        ax.set_axis_off()
    for ax, (key, r) in zip(axes.flat, runs.items()):
        plot_prediction(ax, r, targets[key])
        ax.set_title(f"{titles[key]}, test loss {r.test_loss:.1e}")  # no legend over the curve
    fig.tight_layout()
    return fig


def spectrum_rows_figure(run: RunSummary) -> plt.Figure:
    """The tracked eigenvalues of I − ηH, one row of dots per checkpoint
    (:func:`~mgdl_core.pages.plots.plot_spectrum_rows`, left), and the training loss (right)."""
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
    plot_spectrum_rows(axes[0], run)
    plot_loss_curve(axes[1], run)
    fig.tight_layout()
    return fig


def results_figure(results: Sequence) -> plt.Figure:
    """:func:`eigen_loss_figure` of committed results (:class:`~mgdl_core.runs.results.Result`), or a
    one-line figure saying none is computed yet (a page's figure exists either way)."""
    if results:
        return eigen_loss_figure([r.run for r in results])
    fig = plt.figure(figsize=(6, 0.6))
    fig.text(0.5, 0.5, "not computed at the paper's scale yet", ha="center", va="center")
    return fig


def paper_scale_parts(results: Mapping, methods: Sequence[str], settings: Sequence[int] = (1, 2)) -> dict:
    """What a page's "at the paper's scale" part shows, per setting: (:func:`results_figure` of
    the methods' results, their provenance, the numbers its prose quotes keyed
    ``"<method>-<name>"``, "–" for a run not computed yet: :func:`~mgdl_core.pages.analysis.scale_values`)."""
    from ..runs.results import provenance_text
    from .analysis import SCALE_KEYS, scale_values

    parts = {}
    for s in settings:
        have = [results[s, m] for m in methods if (s, m) in results]
        values = {}
        for m in methods:
            found = scale_values(results[s, m].run) if (s, m) in results else dict.fromkeys(SCALE_KEYS, "–")
            values.update({f"{m}-{name}": v for name, v in found.items()})
        parts[s] = (results_figure(have), provenance_text(have), values)
    return parts
