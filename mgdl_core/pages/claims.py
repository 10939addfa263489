"""Claims a page can check: statements about runs stated at the precision they survive.

A notebook's checked output (``# NBVAL_CHECK_OUTPUT``) is compared character by character on
every machine that runs the tests. Training at the edge of stability is chaotic: a change of
CPU, BLAS kernel or summation order moves the second digit of a loss, and a count of
eigenvalues below −1 moves by one whenever an eigenvalue hovers at −1. So a checked output
states *decisions with room* instead of raw numbers:

- :func:`decide` answers "is ``value`` ``<`` (or ``>``) ``threshold``?" with ``yes`` or ``no``
  only when the value clears the threshold by at least ``room``; otherwise it says "too close
  to call". A checked "yes" is then a claim that holds wherever rounding moves the value by
  less than ``room``; a value that drifts into the band changes the printed text and fails
  the test, which is the point: the page's claim no longer holds there.
- :class:`Check` is one such statement with its value, threshold and room: its checked
  ``line()`` and, where the answer is "too close to call", its ``lean()``: the value, which way
  it leans and by how much against the room (a number that differs from machine to machine,
  printed in an unchecked cell: :func:`leans`).
- The spectrum helpers (:func:`grade_starts`, :func:`lowest`, :func:`share_below`) split a
  run's tracked spectra into the initialisation of each grade (before any step: the paper's
  plots leave these out) and the training after it, the two places where the paper's
  "eigenvalues below −1" claims differ.

The raw numbers stay on the page, glued into the prose and in unchecked cells: they may differ
from machine to machine, which is fine for prose.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..tasks.fit import RunSummary

__all__ = ["decide", "Check", "leans", "leans_text", "grade_starts", "lowest", "share_below", "spectrum_checks", "spectrum_claims", "later_spectra",
           "diverged_rates", "spread"]

# The room of each spectrum claim. An initialisation's spectrum depends on the initial weights
# only (Lanczos in float64 pins it to ~1e-8), so a small room suffices; the training after it is
# chaotic near the edge of stability, where the smallest eigenvalue moved by 0.13 between two
# numeric paths on one machine (SGDL, Setting 1, η = 0.08), hence the wide rooms.
START_ROOM = 0.005
SHARE_ROOM = 0.15
LATER_ROOM = 0.3
# Fewer spectra than this after the initialisations are too few for a claim about the training:
# "stays above −1" on three checkpoints asserts little (a quick run spaced for speed, not a test).
MIN_SPECTRA = 8


def decide(value: float, op: str, threshold: float, room: float, *, relative: bool = False) -> str:
    """``"yes"`` / ``"no"`` for ``value op threshold`` when ``value`` is at least ``room`` away
    from ``threshold``, else ``"too close to call"``.

    ``op`` is ``"<"`` or ``">"``. With ``relative=True`` the room is a factor on a log scale
    (``room=2``: the value must be 2× below or above the threshold), for losses and other
    positive quantities compared to an order of magnitude. NaN (a diverged run) is never a yes.
    """
    if op not in ("<", ">"):
        raise ValueError(f"op must be '<' or '>', got {op!r}")
    if relative and not (room >= 1 and threshold > 0):
        raise ValueError(f"a relative room is a factor >= 1 on a positive threshold, got {room}, {threshold}")
    if not relative and room < 0:
        raise ValueError(f"room must be >= 0, got {room}")
    if math.isnan(value):
        return "no (diverged)"
    if relative:
        if value <= 0:
            gap = math.inf if op == "<" else -math.inf
        else:
            gap = math.log(threshold / value) if op == "<" else math.log(value / threshold)
        room = math.log(room)
    else:
        gap = threshold - value if op == "<" else value - threshold
    if gap >= room:
        return "yes"
    if gap <= -room:
        return "no"
    return "too close to call"


@dataclass(frozen=True)
class Check:
    """A statement about a value, decided with room: "``value`` ``op`` ``threshold``?" (see
    :func:`decide`). ``if_nan`` is the answer when the value is NaN (a diverged run), e.g.
    "no (MGDL diverged)"; ``shown`` formats the value, the threshold and the gap in :meth:`lean`
    (significant digits, so that a gap of 0.003 does not print as 0.00)."""

    statement: str
    value: float
    op: str
    threshold: float
    room: float
    relative: bool = False
    if_nan: str = "no (diverged)"
    shown: str = ".3g"

    def answer(self) -> str:
        if math.isnan(self.value):
            return self.if_nan
        return decide(self.value, self.op, self.threshold, self.room, relative=self.relative)

    def line(self) -> str:
        """The checked line, answer first (on a phone a long line is cut at about 40 characters)."""
        return f"{self.answer()}: {self.statement}"

    def lean(self) -> str:
        """For a "too close to call": which way the value leans, the value, and by how much,
        inside a room of how much ("" when the answer is decided). Rounding moves such a value by up to
        the room, which is why the checked line cannot decide."""
        if self.answer() != "too close to call":
            return ""
        v, t = self.value, self.threshold
        if self.relative:
            gap = t / v if self.op == "<" else v / t
            way = "yes" if gap > 1 else "no" if gap < 1 else "neither way"
            return (f"leans {way}: {v:{self.shown}} against {t:{self.shown}} "
                    f"(a factor {max(gap, 1 / gap):.2f}; room {self.room:g}x)")
        gap = t - v if self.op == "<" else v - t
        way = "yes" if gap > 0 else "no" if gap < 0 else "neither way"
        return f"leans {way}: {v:{self.shown}} against {t:{self.shown}} (by {abs(gap):{self.shown}}; room {self.room:g})"


def leans(checks: Sequence[Check]) -> list[str]:
    """Every check that is too close to call: its statement, then its :meth:`Check.lean` on the
    next line, indented (two short lines fit a phone's and a desktop's output box)."""
    return [f"{c.statement}:\n  {lean}" for c in checks if (lean := c.lean())]


def leans_text(named: Mapping[str, Sequence[Check]]) -> str:
    """For a page's unchecked cell under its checked lines: per name (a run, an image), the
    :func:`leans` of its undecided checks, indented; a name with none is left out, and a page
    whose every line is decided says so."""
    lines = []
    for name, checks in named.items():
        if undecided := leans(checks):
            lines += [f"{name}:", *(f"  {line}" for lean in undecided for line in lean.splitlines())]
    return "\n".join(lines) or "every checked line above is decided"


def grade_starts(run: RunSummary) -> np.ndarray:
    """Per tracked spectrum: True where it is taken at a grade's initialisation, before any
    step (epoch 0 of SGDL/MSDL; the first spectrum of every MGDL grade)."""
    h = run.history
    if "eig_grade" in h:
        g = np.asarray(h["eig_grade"])
        return np.r_[True, g[1:] != g[:-1]]
    return np.asarray(h["eig_epoch"]) == 0


def lowest(run: RunSummary, *, at_start: bool) -> float:
    """The smallest tracked eigenvalue of I − ηH at the grades' initialisations
    (``at_start=True``) or over the training after them (``False``); NaN when there is none."""
    mask = grade_starts(run) == at_start
    vals = np.asarray(run.history["eig_smallest"])[mask]
    return float(vals.min()) if vals.size else math.nan


def share_below(run: RunSummary, level: float = -1.0) -> float:
    """The fraction of the spectra after the grades' initialisations with an eigenvalue below
    ``level``: a count over many checkpoints, compared to a threshold with room by
    :func:`decide` (one eigenvalue hovering at −1 moves it by one checkpoint only)."""
    mask = ~grade_starts(run)
    below = (np.asarray(run.history["eig_smallest"])[mask] < level).any(axis=1)
    return float(below.mean()) if below.size else math.nan


def spectrum_checks(run: RunSummary, label: str = "") -> list[Check]:
    """The checks about a run's tracked spectra of I − ηH (``label`` prefixes each statement):

    1. below −1 at a grade's initialisation (before any step)?
    2. below −1 at more than half of the spectra after the initialisations (a run that
       crosses the edge of stability as a rule, as the paper's SGDL)?
    3. if not: does the smallest eigenvalue stay above −1 after the initialisations, by more
       than ``LATER_ROOM``? "too close to call" here means the run rides −1.

    With fewer than :data:`MIN_SPECTRA` spectra after the initialisations, 2 and 3 are left out
    (:func:`spectrum_claims` says so in a line of its own).
    """
    checks = [Check(f"{label}below -1 at initialisation", lowest(run, at_start=True), "<", -1, START_ROOM)]
    if later_spectra(run) < MIN_SPECTRA:
        return checks
    checks.append(Check(f"{label}below -1 at most checkpoints after it", share_below(run), ">", 0.5, SHARE_ROOM))
    if checks[1].answer() != "yes":
        checks.append(Check(f"{label}stays above -1 after it (room {LATER_ROOM})", lowest(run, at_start=False), ">",
                            -1, LATER_ROOM))
    return checks


def later_spectra(run: RunSummary) -> int:
    """How many tracked spectra come after the grades' initialisations."""
    return int((~grade_starts(run)).sum())


def spectrum_claims(run: RunSummary) -> list[str]:
    """The checked lines of :func:`spectrum_checks`, one per check, and a line saying when there
    are too few spectra after the initialisations for a claim about the training."""
    checks, n = spectrum_checks(run), later_spectra(run)
    lines = [c.line() for c in checks]
    if n < MIN_SPECTRA:
        lines.append(f"{n} spectr{'um' if n == 1 else 'a'} after it: too few to say more (< {MIN_SPECTRA})")
    return lines


def diverged_rates(runs: Sequence[RunSummary]) -> str:
    """The learning rates of the runs that diverged, as text: "η = 0.2, 0.5" or "no rate"."""
    bad = sorted(r.config.lr for r in runs if r.diverged)
    return "no rate" if not bad else "η = " + ", ".join(f"{lr:.3g}" for lr in bad)


def spread(values: Sequence[float]) -> float:
    """The relative spread ``(max - min) / median`` of final losses over seeds or rounding
    modes (NaN when any run diverged): how much of a loss is the run, not the method."""
    v = np.asarray(values, dtype=float)
    if v.size == 0 or np.isnan(v).any():
        return math.nan
    return float((v.max() - v.min()) / np.median(v))
