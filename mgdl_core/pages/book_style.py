"""Figures a reader can read: the book's matplotlib style, and a check that a figure's text
is legible at the width the book shows it.

A figure is stored at ``fig.dpi`` (cropped to what it draws, as the notebook's inline backend
saves it) and shown at its natural width, scaled down to the column when wider: 672 px at a
desktop's 1280 px (sphinx-book-theme 1.3.0, measured in Chromium). A text of ``s`` points on a
figure ``W`` inches wide is then shown at

    s / 72 · min(dpi, 672 / W)   pixels,

which :func:`legibility_problems` requires to be at least :data:`MIN_TEXT_PX` for every text
a reader sees (tick labels included: the figure is drawn first). On a phone the figure keeps
640 px in a box that scrolls sideways (``book/_static/book_fixes.css``), 640/672 of the desktop
size for a figure wider than that: 11.9 px at least. :data:`BOOK_RC` (a page calls
:func:`use_book_style` once) has sizes that pass on figures up to 8 inches wide at 100 dpi;
:func:`glue_figure` checks a figure, glues it for the page and closes it, and
:func:`compact_png` stores a figure as a palette PNG.
"""
from __future__ import annotations

__all__ = ["BOOK_RC", "COLUMN_PX", "MIN_TEXT_PX", "FigureNotLegible", "use_book_style", "shown_text_px",
           "legibility_problems", "check_legible", "glue_figure", "compact_png"]

COLUMN_PX = 672  # the figure column of a page at 1280 px
MIN_TEXT_PX = 12.5  # about the theme's small print (0.8 × its 16 px body is 12.8 px)
BOOK_RC = {
    "figure.dpi": 100,
    "font.size": 11.5,
    "axes.titlesize": 11.5,
    "axes.labelsize": 11.5,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "figure.titlesize": 12,
}


class FigureNotLegible(ValueError):
    """A figure whose text would be shown below :data:`MIN_TEXT_PX` in the book."""


def use_book_style() -> None:
    """Set :data:`BOOK_RC` for the figures drawn from here on (a page calls it once; the
    library's figure functions take their sizes from matplotlib's rc, and set none)."""
    import matplotlib

    matplotlib.rcParams.update(BOOK_RC)


def _shown_width_in(fig) -> float:
    """The width in inches of what the book shows: the figure cropped to what it draws (the
    inline backend saves with ``bbox_inches="tight"``), never less than nothing drawn."""
    box = fig.get_tightbbox(fig.canvas.get_renderer())
    return max(float(box.width), 1e-3) if box is not None else fig.get_figwidth()


def shown_text_px(points: float, fig, width_in: float | None = None) -> float:
    """The height in screen pixels at which the book shows a ``points`` font of ``fig`` (of
    shown width ``width_in``, default: the figure's)."""
    width_in = fig.get_figwidth() if width_in is None else width_in
    return points / 72 * min(fig.dpi, COLUMN_PX / width_in)


def legibility_problems(fig, min_px: float = MIN_TEXT_PX) -> list[str]:
    """Each text of ``fig`` a reader sees (visible, not empty, not an axis of an axes switched off) that
    the book would show below ``min_px``, as ``"'text' at 5.6 px"``; empty when the whole figure
    is legible. The figure is drawn first, without rendering: matplotlib fills in tick labels
    only then."""
    from matplotlib.text import Text

    fig.draw_without_rendering()
    width_in = _shown_width_in(fig)
    hidden = set()  # an axes switched off (an image panel) draws no axis: its title still shows
    for ax in fig.axes:
        if not ax.axison:
            for axis in (ax.xaxis, ax.yaxis):
                hidden |= {*axis.get_ticklabels(which="both"), axis.label, axis.get_offset_text()}
    problems = []
    for t in fig.findobj(Text):
        if not t.get_visible() or not t.get_text().strip() or t in hidden:
            continue
        px = shown_text_px(t.get_fontsize(), fig, width_in)
        if px < min_px - 1e-9:
            problems.append(f"{t.get_text()[:40]!r} at {px:.1f} px")
    return problems


def check_legible(fig, what: str = "figure") -> None:
    """Raise :class:`FigureNotLegible` when :func:`legibility_problems` finds any."""
    problems = legibility_problems(fig)
    if problems:
        width_in = _shown_width_in(fig)
        raise FigureNotLegible(
            f"{what}: {len(problems)} text(s) below {MIN_TEXT_PX} px at the book's width "
            f"({width_in:.1f} in at {fig.dpi:g} dpi, shown "
            f"{min(fig.dpi, COLUMN_PX / width_in) * width_in:.0f} px wide): " + "; ".join(problems[:6]))


def glue_figure(name: str, fig, what: str | None = None) -> None:
    """Check ``fig`` (:func:`check_legible`), glue it under ``name`` for the page (myst-nb's
    ``glue``, not displayed here) and close it."""
    import matplotlib.pyplot as plt
    from myst_nb import glue

    try:
        check_legible(fig, what or name)
        glue(name, fig, display=False)
    finally:
        plt.close(fig)


def compact_png(data: str) -> str:
    """A base64 PNG figure as a 256-colour palette PNG when that is smaller (a plot's lines and
    text need no more colours, and it is a third of the size or less), else unchanged:
    deterministic, so that re-executing a notebook leaves it byte-identical."""
    import base64
    import io

    from PIL import Image

    raw = base64.b64decode(data)
    with Image.open(io.BytesIO(raw)) as im:
        if im.mode == "P":  # compacted already: idempotent
            return data
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    small.save(buf, format="PNG", optimize=True)
    return base64.b64encode(buf.getvalue()).decode() if buf.tell() < len(raw) else data
