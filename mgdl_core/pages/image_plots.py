"""The image pages' figure layouts: Fig. 5 (Cameraman's snapshots), Fig. 6 (loss curves and
predictions per image), Fig. 15 (loss against learning rate per image) and Figs 18–20 (the
spectra of I − ηH per image). Each returns a matplotlib Figure; the pages glue it.

Text sizes are set for a figure shown at the column's width (about 7 inches): 9-point labels.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..tasks.fit import RunSummary
from ..tasks.image_regression import parse_grades
from ..tasks.images import IMAGES
from .figures import figure_legend
from .image_report import network_row, snapshots
from .plots import LABELS, plot_eigen_trajectories, plot_loss_curve, plot_loss_vs_rate

FONT = 10
# The pages embed every figure as a PNG in a committed notebook. 93 dpi makes a 7.2-inch figure
# the column's 672 px (mgdl_core.pages.book_style), where its 10-point titles are shown at 12.9 px.
DPI = 93


def image_title(name: str) -> str:
    """An image as the paper names it (a user's file keeps its path)."""
    return IMAGES[name].paper_name if name in IMAGES else name


def show_image(ax, image: np.ndarray, title: str) -> None:
    """A greyscale image in [0, 1] on ``ax``, unsmoothed, with ``title`` and no axes."""
    ax.imshow(np.clip(image, 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize=FONT)
    ax.axis("off")


def fig5_figure(sgdl: RunSummary, mgdl: RunSummary) -> plt.Figure:
    """Fig. 5: (a)–(b) the loss curves; SGDL's predictions at its kept epochs, and MGDL's last
    grade at the same epochs of that grade, each titled with its PSNR on every pixel."""
    image = sgdl.config.image_array()
    s_snaps, m_snaps = snapshots(sgdl, image), snapshots(mgdl, image)
    cols = max(len(s_snaps), len(m_snaps), 2)
    fig = plt.figure(figsize=(7.2, 2.3 + 1.9 * 2))
    grid = fig.add_gridspec(3, cols, height_ratios=[1.25, 1, 1])
    for i, run in enumerate((sgdl, mgdl)):
        ax = fig.add_subplot(grid[0, i * cols // 2:(i + 1) * cols // 2])
        plot_loss_curve(ax, run)
        ax.set_title(f"({'ab'[i]}) {LABELS[run.config.method]} loss", fontsize=FONT)
        ax.tick_params(labelsize=FONT)
        ax.xaxis.label.set_size(FONT)
        ax.yaxis.label.set_size(FONT)
    letters = iter("cdefghijklmn")
    for row, (run, snaps) in enumerate(((sgdl, s_snaps), (mgdl, m_snaps)), start=1):
        grade = f" grade {len(parse_grades(run.config))}" if run.config.graded else ""  # the snapshots' grade
        for col, (epoch, img, psnr) in enumerate(snaps):
            show_image(fig.add_subplot(grid[row, col]), img,
                  f"({next(letters)}) {LABELS[run.config.method]}{grade}\nepoch {epoch}: {psnr:.2f} dB")
    fig.tight_layout()
    return fig


def fig6_figure(pairs: Mapping[str, tuple[RunSummary, RunSummary]]) -> plt.Figure:
    """Fig. 6: per image, SGDL's and MGDL's loss curves and their predictions (PSNR on every pixel)."""
    from matplotlib.ticker import NullFormatter

    fig, axes = plt.subplots(len(pairs), 4, figsize=(7.2, 2.3 * len(pairs)),
                             gridspec_kw={"width_ratios": [1.5, 1.5, 1, 1]}, squeeze=False)
    for row, (name, (sgdl, mgdl)) in zip(axes, pairs.items()):
        image = sgdl.config.image_array()
        for ax, run in zip(row[:2], (sgdl, mgdl)):
            plot_loss_curve(ax, run)
            ax.set_title(f"{image_title(name)}: {LABELS[run.config.method]} loss", fontsize=FONT)
            ax.tick_params(labelsize=FONT)
            ax.yaxis.set_minor_formatter(NullFormatter())  # in a small panel they overprint each other
            ax.set_xlabel("")
            ax.set_ylabel("")
        for ax, run in zip(row[2:], (sgdl, mgdl)):
            r = network_row(run, image)
            show_image(ax, run.test_pred.reshape(image.shape), f"{LABELS[run.config.method]}: {r.test_all:.2f} dB")
    fig.tight_layout()
    return fig


def fig15_figure(runs: Mapping[str, Sequence[RunSummary]]) -> plt.Figure:
    """Fig. 15: final training loss against the learning rate, SGDL and MGDL, one panel per
    image (two per row); a diverged run is marked at the top of its panel."""
    rows = -(-len(runs) // 2)
    fig, axes = plt.subplots(rows, 2, figsize=(7.2, 2.9 * rows), squeeze=False)
    for ax in axes.flat[len(runs):]:
        ax.set_axis_off()
    for ax, (name, rs) in zip(axes.flat, runs.items()):
        for method in ("sgdl", "mgdl"):
            plot_loss_vs_rate(ax, [r for r in rs if r.config.method == method], method)
        ax.set_title(image_title(name), fontsize=FONT)
        ax.tick_params(labelsize=FONT)
        ax.xaxis.label.set_size(FONT)
        ax.yaxis.label.set_size(FONT)
    axes.flat[0].legend()
    fig.tight_layout()
    return fig


def eigen_figure(pairs: Mapping[str, tuple[RunSummary, RunSummary]], height: float = 3.2) -> plt.Figure:
    """Figs 18–24: per image (or cell), the 10 smallest eigenvalues (lines) and the band of the 10
    largest of I − ηH along SGDL's and MGDL's training, with the ±1 lines; ``height`` inches per
    row, the legend below the panels."""
    fig, axes = plt.subplots(len(pairs), 2, figsize=(7.2, height * len(pairs) + 0.4), squeeze=False, dpi=DPI,
                             layout="constrained")
    for row, (name, (sgdl, mgdl)) in zip(axes, pairs.items()):
        for ax, run in zip(row, (sgdl, mgdl)):
            plot_eigen_trajectories(ax, run, f"{image_title(name)}: {LABELS[run.config.method]}, η = {run.config.lr:g}")
            ax.tick_params(labelsize=FONT)
    figure_legend(fig, ncol=3)
    return fig
