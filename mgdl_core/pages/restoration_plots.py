"""The restoration page's figures: Figs 7 and 11 (the degraded inputs) and Figs 8–14 (PSNR during
training, and the reconstructions). Each returns a matplotlib Figure for the page to glue; sizes
and fonts as :mod:`mgdl_core.pages.image_plots` (the column's width, 9-point text, 80 dpi)."""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..tasks.fit import RunSummary
from ..tasks.grids import psnr
from ..tasks.restoration import RestorationRun, restoration_psnr
from .image_plots import DPI, FONT, show_image, image_title
from .plots import COLORS, LABELS


def _level(config: RestorationRun) -> str:
    # mathtext: a combining circumflex (σ̂) lands on the next character in the figure's font
    return f"σ = {config.noise:g}" if config.problem == "denoise" else rf"$\hat\sigma$ = {config.blur:g}"


def inputs_figure(configs: Sequence[RestorationRun], columns: int = 3) -> plt.Figure:
    """Figs 7 and 11: each configuration's observation f̂, titled with its PSNR against the clean image."""
    rows = -(-len(configs) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(7.2, 2.5 * rows), squeeze=False, dpi=DPI)
    for ax, c in zip(axes.flat, configs):
        obs = c.observation()
        show_image(ax, obs, f"{image_title(c.image)}, {_level(c)}\n{psnr(obs, c.clean_image()):.2f} dB")
    for ax in axes.flat[len(configs):]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_psnr_curve(ax, run: RunSummary) -> None:
    """PSNR against the epoch (grades' epochs added up for MGDL, grade boundaries dotted)."""
    h = run.history
    ax.plot(h["psnr_epoch"], h["psnr"], lw=0.9, color=COLORS[run.config.method])
    if "psnr_grade" in h:
        for e in h["psnr_epoch"][np.flatnonzero(np.diff(h["psnr_grade"]) != 0)]:
            ax.axvline(e, color="k", ls=":", lw=0.8)
    ax.set_xlabel("epoch", fontsize=FONT)
    ax.set_ylabel("PSNR (dB)", fontsize=FONT)
    ax.tick_params(labelsize=FONT)


def training_figure(pairs: Sequence[tuple[RunSummary, RunSummary]]) -> plt.Figure:
    """Figs 8–14: per cell, SGDL's and MGDL's PSNR during training (one shared axis range) and
    their final reconstructions, titled with the final PSNR."""
    fig, axes = plt.subplots(len(pairs), 4, figsize=(7.2, 2.0 * len(pairs)), squeeze=False, dpi=DPI,
                             gridspec_kw={"width_ratios": [1.5, 1.5, 1, 1]})
    for row, (sgdl, mgdl) in zip(axes, pairs):
        c = sgdl.config
        finite = [p for r in (sgdl, mgdl) for p in r.history["psnr"] if np.isfinite(p)]
        low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
        for ax, run in zip(row[:2], (sgdl, mgdl)):
            plot_psnr_curve(ax, run)
            ax.set_ylim(low - 0.5, high + 0.5)
            ax.set_title(f"{image_title(c.image)}, {_level(c)}: {LABELS[run.config.method]}", fontsize=FONT)
        for ax, run in zip(row[2:], (sgdl, mgdl)):
            image = run.test_pred.reshape(run.config.clean_image().shape)
            show_image(ax, image, f"{LABELS[run.config.method]}: {restoration_psnr(run):.2f} dB")
    fig.tight_layout()
    return fig
