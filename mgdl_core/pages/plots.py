"""Figures shared by the notebooks: loss against learning rate, loss curves, predictions.

Only matplotlib; every function draws into axes it is given, so a notebook composes panels.
The pages' layouts of these panels are :mod:`mgdl_core.pages.figures` (§5–§7) and
:mod:`mgdl_core.pages.image_plots` (the image pages).
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from matplotlib.ticker import FuncFormatter, NullFormatter

from ..tasks.base import METHOD_TABLE
from ..tasks.fit import RunSummary

COLORS = {name: m.colour for name, m in METHOD_TABLE.items()}
# the eigenvalue axis stops here: what matters is near −1, and an initialisation can be at −20
EIG_FLOOR = -3.0
LABELS = {name: m.label for name, m in METHOD_TABLE.items()}
# a frame of matplotlib's player: a base64 PNG in a JavaScript string, continued with "\\" + newline
_FRAME = re.compile(r'(data:image/png;base64,)([A-Za-z0-9+/=\\\n]+)')
_FONT_AWESOME_LINK = re.compile(r'<link\s+rel="stylesheet"\s+href="https?://[^"]*font-awesome[^"]*"\s*/?>', re.S)


def plot_loss_vs_rate(ax, runs: Sequence[RunSummary], method: str, key: str = "train_loss") -> None:
    """Final loss against learning rate (Figure 1); diverged runs are drawn as ✕ on the top edge
    and labelled NaN, as in the paper."""
    lrs = np.array([r.config.lr for r in runs])
    loss = np.array([getattr(r, key) for r in runs])
    bad = ~np.isfinite(loss)
    ax.loglog(lrs[~bad], loss[~bad], "o-", color=COLORS[method], label=LABELS[method], ms=4)
    if bad.any():
        ax.plot(lrs[bad], np.full(bad.sum(), 1.0), "x", color=COLORS[method], ms=8, mew=2,
                transform=ax.get_xaxis_transform(), clip_on=False,
                label=f"{LABELS[method]} diverged")
    ax.xaxis.set_minor_formatter(NullFormatter())  # labelled minor ticks collide on a short log axis
    ax.set_xlabel("learning rate η")
    ax.set_ylabel("final training loss")


def plot_seed_spread(ax, runs: Sequence[RunSummary], method: str) -> None:
    """Final training loss against learning rate for runs that differ only in their seed: one
    dot per seed (jittered sideways so that they don't hide each other), the median as a line,
    diverged seeds as ✕ on the top edge. Shows how much of a final loss is the run, not the method."""
    by_rate: dict[float, list[float]] = {}
    for r in runs:
        by_rate.setdefault(r.config.lr, []).append(r.train_loss)
    lrs = np.array(sorted(by_rate))
    color = COLORS[method]
    medians = []
    for lr in lrs:
        loss = np.array(by_rate[lr])
        ok = np.isfinite(loss)
        jitter = lr * 1.06 ** np.linspace(-1, 1, loss.size)  # a few percent on the log axis
        ax.plot(jitter[ok], loss[ok], "o", color=color, ms=4, alpha=0.7)
        if (~ok).any():
            ax.plot(jitter[~ok], np.ones((~ok).sum()), "x", color=color, ms=7, mew=2,
                    transform=ax.get_xaxis_transform(), clip_on=False)
        medians.append(np.median(loss[ok]) if ok.any() else np.nan)
    ax.loglog(lrs, medians, "-", color=color, lw=1.5, label=f"{LABELS[method]}: median of {len(runs) // len(lrs)} seeds")
    ax.set_xlabel("learning rate η")
    ax.set_ylabel("final training loss")


def epoch_axis(ax, run: RunSummary | None = None) -> None:
    """An epoch x-axis: ticks as 500k, 1M, 1.5M (no "1e6" offset to collide with the label),
    labelled "epoch", with "(grades added up)" for a run trained grade by grade."""
    def fmt(x, _):
        if abs(x) >= 1e6:
            return f"{x / 1e6:g}M"
        return f"{x / 1e3:g}k" if abs(x) >= 1e4 else f"{x:g}"

    ax.xaxis.set_major_formatter(FuncFormatter(fmt))
    graded = run is not None and run.config.graded
    ax.set_xlabel("epoch (grades added up)" if graded else "epoch")


def plot_loss_curve(ax, run: RunSummary, label: str | None = None) -> None:
    """Training loss against epoch; MGDL grade boundaries as dotted lines."""
    h = run.history
    m = run.config.method
    ax.semilogy(h["epoch"], h["train_loss"], color=COLORS[m], label=label or f"{LABELS[m]}, η = {run.config.lr:.3g}")
    if "grade" in h:
        for e in h["epoch"][np.flatnonzero(np.diff(h["grade"])) + 1]:
            ax.axvline(e, color="0.7", ls=":", lw=1)
    epoch_axis(ax, run)
    ax.set_ylabel("training loss")


def plot_prediction(ax, run: RunSummary, target) -> None:
    """Prediction on the test grid against the target function."""
    ax.plot(run.test_x, target(run.test_x), color="0.6", lw=2.5, label="target g(x)")
    ax.plot(run.test_x, run.test_pred, color=COLORS[run.config.method], lw=1,
            label=f"{LABELS[run.config.method]} (test loss {run.test_loss:.1e})")
    ax.set_xlabel("x")


def plot_eigen_trajectories(ax, run: RunSummary, title: str | None = None) -> None:
    """The 10 smallest eigenvalues of I − ηH over training, one line each (the paper's indices
    0–9), and the band the 10 largest span (their ten lines would merge into one), with the ±1
    lines of Theorems 4–5 (the paper's Figures 2, 16, 25, 26)."""
    h = run.history
    e, small, large = h["eig_epoch"], h["eig_smallest"], h["eig_largest"]
    cmap = __import__("matplotlib").colormaps["viridis"]
    k = small.shape[1]
    ax.fill_between(e, large.min(axis=1), large.max(axis=1), color="0.55", alpha=0.45, lw=0,
                    label=f"{large.shape[1]} largest (band)")
    for i in range(k):
        ax.plot(e, small[:, i], color=cmap(i / max(k - 1, 1)), lw=1.2, label=f"index {i}" if i in (0, k - 1) else None)
    for level in (-1, 1):
        ax.axhline(level, color="k", lw=0.8, ls=":")
    if "eig_grade" in h:
        for b in e[np.flatnonzero(np.diff(h["eig_grade"])) + 1]:
            ax.axvline(b, color="0.7", ls=":", lw=1)
    low = float(np.nanmin(small))
    if low < EIG_FLOOR:  # a freshly initialised network far below −1 would flatten the rest
        ax.set_ylim(bottom=EIG_FLOOR)
        ax.text(0.02, 0.02, f"lowest {low:.3g}, below the axis".replace("-", "−"), transform=ax.transAxes,
                ha="left", va="bottom", bbox=dict(facecolor="white", alpha=0.85, lw=0, pad=1.5))
    epoch_axis(ax, run)
    ax.set_ylabel("eigenvalues of I − ηH")
    m = run.config.method
    ax.set_title(title or f"{LABELS[m]}, η = {run.config.lr:g}")


def plot_spectrum_rows(ax, run: RunSummary) -> None:
    """The tracked eigenvalues of I − ηH (smallest and largest) as dots, one row per checkpoint
    at the height of its epoch, with the ±1 lines: for runs with few, far apart spectra."""
    h = run.history
    for e, lo, hi in zip(h["eig_epoch"], h["eig_smallest"], h["eig_largest"]):
        vals = np.concatenate([lo, hi])
        ax.plot(vals, np.full(vals.size, e), "o", ms=4, color="0.25")  # a row per checkpoint: one colour
    for level in (-1, 1):
        ax.axvline(level, color="k", lw=0.8, ls=":")
    ax.set_xlabel("eigenvalues of I − ηH (10 smallest, 10 largest)")
    ax.set_ylabel("epoch")


def spectrum_player(runs: Sequence[RunSummary], frames: int = 12, dpi: int = 100, name: str = "spectrum",
                    alt: str | None = None) -> str:
    """A self-contained HTML animation (matplotlib ``to_jshtml``: a slider and play buttons,
    plain JavaScript, works in the static book with no kernel and no internet).

    Frame t shows, for every run, the tracked eigenvalues of I − ηH at the checkpoint t/frames
    of the way through its training (left) and its loss curve with that epoch marked (right);
    its title says, per run, the epoch and how many eigenvalues are below −1. It is drawn in
    the book's style (:data:`~mgdl_core.pages.book_style.BOOK_RC`, checked legible), its frames are
    palette PNGs (:func:`~mgdl_core.pages.book_style.compact_png`), its image has ``alt`` text (by
    default, what the frames show) and sits in a box that scrolls sideways on a phone
    (``book/_static/book_fixes.css``). The random element id matplotlib generates is replaced
    by ``name`` so that re-executing the notebook gives identical output. A page glues it and
    captions it with ``glue:figure``.
    """
    import html as html_lib

    import matplotlib.pyplot as plt

    from .book_style import BOOK_RC, compact_png

    with plt.rc_context(BOOK_RC):
        html = _draw_player(runs, frames, dpi, name)
    # matplotlib links Font Awesome from a CDN for the player's buttons; the book's theme already
    # ships those icons, and an offline book must make no network request at all.
    html = _FONT_AWESOME_LINK.sub("", html)
    html = _FRAME.sub(lambda m: m[1] + compact_png(m[2].replace("\\\n", "")), html)
    for uid in set(re.findall(r"_anim_img([0-9a-f]{32})", html)):
        html = html.replace(uid, name)
    if alt is None:
        who = " and ".join(f"{LABELS[r.config.method]} (η = {r.config.lr:g})" for r in runs)
        k = runs[0].history["eig_smallest"].shape[1]
        alt = (f"Animation, {frames} frames through training: for {who}, the {k} smallest and {k} largest "
               "eigenvalues of I − ηH as dots against the ±1 lines (left) and the training loss with the "
               "frame's epoch marked (right).")
    img = re.compile(r'<img id="_anim_img' + re.escape(name) + r'"[^>]*>')
    if len(img.findall(html)) != 1:
        raise RuntimeError("matplotlib's player markup changed: expected one <img id=\"_anim_img...\">")
    return img.sub(lambda m: f'<div class="mgdl-scroll">{m[0][:-1].rstrip("/")} alt="{html_lib.escape(alt)}"></div>',
                   html, count=1)


def _draw_player(runs: Sequence[RunSummary], frames: int, dpi: int, name: str) -> str:
    """:func:`spectrum_player`'s animation, drawn under the current rc."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    from .book_style import check_legible

    fig, (ax_eig, ax_loss) = plt.subplots(1, 2, figsize=(8, 4.0), dpi=dpi,
                                          gridspec_kw=dict(width_ratios=[1.25, 1]))
    lows = [r.history["eig_smallest"].min() for r in runs]
    highs = [r.history["eig_largest"].max() for r in runs]
    for r in runs:
        plot_loss_curve(ax_loss, r, label=LABELS[r.config.method])
    ax_loss.legend(loc="upper right")
    markers = [ax_loss.axvline(0, color=COLORS[r.config.method], lw=1, alpha=0.6) for r in runs]
    dots = []
    for row, r in enumerate(runs):
        (d,) = ax_eig.plot([], [], "o", color=COLORS[r.config.method], ms=5,
                           label=f"{LABELS[r.config.method]}, η = {r.config.lr:g}")
        dots.append(d)
    for level in (-1, 1):
        ax_eig.axvline(level, color="k", lw=0.8, ls=":")
    lo, hi = min(min(lows), -1.05), max(max(highs), 1.05)
    ax_eig.set_xlim(lo - 0.04 * (hi - lo), hi + 0.04 * (hi - lo))  # room for a dot's radius at both ends
    ax_eig.set_ylim(-0.5, len(runs) - 0.5)
    ax_eig.set_yticks(range(len(runs)), [LABELS[r.config.method] for r in runs])
    ax_eig.set_xlabel("eigenvalues of I − ηH")
    # one title line per run; a placeholder of full length so that tight_layout leaves room
    title = ax_eig.set_title("\n".join(f"{LABELS[r.config.method]}: epoch 0,000,000, 10 below −1" for r in runs),
                             loc="left")
    fig.tight_layout()
    check_legible(fig, f"player {name}")

    def draw(t: int):
        parts = []
        for row, (r, d, m) in enumerate(zip(runs, dots, markers)):
            h = r.history
            i = min(round(t / max(frames - 1, 1) * (len(h["eig_epoch"]) - 1)), len(h["eig_epoch"]) - 1)
            vals = np.concatenate([h["eig_smallest"][i], h["eig_largest"][i]])
            d.set_data(vals, np.full(vals.size, row))
            epoch = h["eig_epoch"][i]
            m.set_xdata([epoch, epoch])
            parts.append(f"{LABELS[r.config.method]}: epoch {int(epoch):,}, {(h['eig_smallest'][i] < -1).sum()} below −1")
        title.set_text("\n".join(parts))
        return dots + markers + [title]

    anim = FuncAnimation(fig, draw, frames=frames, blit=False)
    html = anim.to_jshtml(fps=2, default_mode="once")
    plt.close(fig)
    return html
