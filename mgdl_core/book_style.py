"""Figures a reader can read: the book's matplotlib style, and a check that a figure's text
is legible at the width the book shows it.

A figure is stored at ``fig.dpi`` and shown at its natural width, scaled down to the column
when wider: 672 px at a desktop's 1280 px (sphinx-book-theme 1.3.0, measured in Chromium),
and inside a 640 px box that scrolls sideways on a phone (``book/_static/book_fixes.css``).
A text of ``s`` points on a figure ``W`` inches wide is then shown at

    s / 72 · min(dpi, 672 / W)   pixels,

which :func:`legibility_problems` requires to be at least :data:`MIN_TEXT_PX` (the size of
the theme's small print, 0.8 × its 16 px body) for every visible text. :func:`book_figure`
(a page calls :func:`use_book_style` once) has sizes that pass at up to 8 inches;
:func:`glue_figure` checks a figure, glues it for the page and closes it, and
:func:`compact_png` stores a figure as a palette PNG.
"""
from __future__ import annotations

__all__ = ["BOOK_RC", "COLUMN_PX", "MIN_TEXT_PX", "FigureNotLegible", "use_book_style", "shown_text_px",
           "legibility_problems", "check_legible", "glue_figure", "compact_png"]

COLUMN_PX = 672  # the figure column of a page at 1280 px (and about the phone's scroll box, 640)
MIN_TEXT_PX = 12.5
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


def shown_text_px(points: float, fig) -> float:
    """The height in screen pixels at which the book shows a ``points`` font of ``fig``."""
    width_in = fig.get_figwidth()
    return points / 72 * min(fig.dpi, COLUMN_PX / width_in)


def legibility_problems(fig, min_px: float = MIN_TEXT_PX) -> list[str]:
    """Each visible, non-empty text of ``fig`` that the book would show below ``min_px``, as
    ``"'text' at 5.6 px"``; empty when the whole figure is legible."""
    from matplotlib.text import Text

    problems = []
    for t in fig.findobj(Text):
        if not t.get_visible() or not t.get_text().strip():
            continue
        px = shown_text_px(t.get_fontsize(), fig)
        if px < min_px - 1e-9:
            problems.append(f"{t.get_text()[:40]!r} at {px:.1f} px")
    return problems


def check_legible(fig, what: str = "figure") -> None:
    """Raise :class:`FigureNotLegible` when :func:`legibility_problems` finds any."""
    problems = legibility_problems(fig)
    if problems:
        shown = min(fig.dpi, COLUMN_PX / fig.get_figwidth()) * fig.get_figwidth()
        raise FigureNotLegible(
            f"{what}: {len(problems)} text(s) below {MIN_TEXT_PX} px at the book's width "
            f"({fig.get_figwidth():.1f} in at {fig.dpi:g} dpi, shown {shown:.0f} px wide): "
            + "; ".join(problems[:6]))


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
