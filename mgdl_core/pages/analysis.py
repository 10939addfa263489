"""What the §5–§7 pages read off their runs: pure functions over :class:`RunSummary` lists and
their histories, so that a notebook cell is one call and the arithmetic behind a glued number
has a test (``tests/test_analysis.py``).

- Rate sweeps (§5, §7): :func:`split_runs` cuts a flat sweep result into one list per
  (setting, method); :func:`best_loss`, :func:`best_run`, :func:`interval_text` (the widest
  run of rates under a loss level, by :func:`rates_below`),
  :func:`first_diverged` and :func:`loss_table` summarise a list.
- Seeds (§5): :func:`group_by_rate` groups runs by (method, learning rate);
  :func:`loss_range_text`, :func:`seed_spread_text` and :func:`n_diverged` say how the seeds of
  one group differ (the spread itself is :func:`mgdl_core.pages.claims.spread`).
- Spectra of I − ηH (§6, §7): :func:`count_below` per checkpoint, :func:`checkpoints_below`,
  :func:`first_epoch_below`, :func:`min_eigenvalue`, :func:`lowest_where`; MGDL grades on the
  epoch axis: :func:`grade_ends`, :func:`grades_ended_early`.

These are the page's raw numbers (glued into prose, printed in unchecked cells). The checked
statements, decided with room, are :mod:`mgdl_core.pages.claims`.
"""
from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..tasks.fit import RunSummary
from .claims import grade_starts, spread
from .paper_numbers import AUTHORS_GRADE_LOSSES, AUTHORS_TRAIN_LOSS

__all__ = ["split_runs", "best_loss", "best_run", "interval_text", "first_diverged", "loss_text", "loss_table",
           "rates_below", "group_by_rate", "n_diverged", "loss_range_text", "seed_spread_text", "count_below",
           "checkpoints_below", "first_epoch_below", "first_below_text", "min_eigenvalue", "lowest_where",
           "grade_lowest", "grade_ends", "grades_ended_early", "RISE", "SpectrumMeasures", "loss_rises",
           "spectrum_measures"]

RISE = 2.0  # a loss rise: the training loss above RISE × its running minimum (within a grade)


# ------------------------------------------------------------------------------- rate sweeps
def rates_below(lrs: Sequence[float], losses: Sequence[float], threshold: float) -> tuple[float, float] | None:
    """The widest run of consecutive grid rates whose loss is below ``threshold`` (NaN counts
    as above), as ``(lowest, highest)`` rate; ``None`` when no rate qualifies."""
    order = np.argsort(lrs)
    lrs = np.asarray(lrs, dtype=float)[order]
    ok = np.nan_to_num(np.asarray(losses, dtype=float)[order], nan=np.inf) < threshold
    best, start = None, None
    for i, flag in enumerate(list(ok) + [False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if best is None or i - start > best[1] - best[0] + 1:
                best = (start, i - 1)
            start = None
    return None if best is None else (float(lrs[best[0]]), float(lrs[best[1]]))


def split_runs(results: Sequence[RunSummary], keys: Sequence[Hashable]) -> dict[Hashable, list[RunSummary]]:
    """``results`` cut into ``len(keys)`` consecutive lists of equal length, one per key: the
    runs of a sweep whose configurations were listed key after key (e.g. (setting, method))."""
    if not keys or len(results) % len(keys):
        raise ValueError(f"{len(results)} results do not split evenly over {len(keys)} keys")
    n = len(results) // len(keys)
    return {key: list(results[i * n:(i + 1) * n]) for i, key in enumerate(keys)}


def best_loss(runs: Sequence[RunSummary], key: str = "train_loss") -> float:
    """The lowest final loss (``key``: train_loss, val_loss, test_loss) of the runs that did not
    diverge; NaN when all did (or there are none)."""
    return min((getattr(r, key) for r in runs if not r.diverged), default=math.nan)


def best_run(runs: Sequence[RunSummary], key: str = "val_loss") -> RunSummary | None:
    """The run with the lowest final ``key`` loss among those that did not diverge (the first
    of equals); ``None`` when all diverged."""
    ok = [r for r in runs if not r.diverged]
    return min(ok, key=lambda r: getattr(r, key)) if ok else None


def interval_text(runs: Sequence[RunSummary], threshold: float) -> str:
    """The widest run of consecutive swept rates whose training loss is below ``threshold``
    (a diverged run's NaN counts as above), as "[0.01, 0.3]", or "none of the rates"."""
    found = rates_below([r.config.lr for r in runs], [r.train_loss for r in runs], threshold)
    return "none of the rates" if found is None else f"[{found[0]:.3g}, {found[1]:.3g}]"


def first_diverged(runs: Sequence[RunSummary]) -> str:
    """The smallest rate that diverged, as "η ≥ 0.2", or "no rate"."""
    bad = [r.config.lr for r in runs if r.diverged]
    return "no rate" if not bad else f"η ≥ {min(bad):.3g}"


def loss_text(run: RunSummary, diverged: str = "diverged") -> str:
    """A run's final training loss as "3.1e-01", or ``diverged`` for a run that diverged."""
    return diverged if run.diverged else f"{run.train_loss:.1e}"


def loss_table(columns: Mapping[str, Sequence[RunSummary]]) -> str:
    """A text table of final training losses: one row per rate, one column per method
    (``{"SGDL": runs, ...}``, the runs of every column in the same rate order)."""
    names = list(columns)
    rows = [f"{'η':>8} " + " ".join(f"{name:>10}" for name in names)]
    for cells in zip(*columns.values()):
        rows.append(f"{cells[0].config.lr:8.4f} " + " ".join(f"{loss_text(r):>10}" for r in cells))
    return "\n".join(rows)


# ------------------------------------------------------------------------------------ seeds
def group_by_rate(runs: Sequence[RunSummary]) -> dict[tuple[str, float], list[RunSummary]]:
    """The runs grouped by (method, learning rate), e.g. the seeds of one configuration; groups
    and the runs inside them keep the order in which they first appear."""
    groups: dict[tuple[str, float], list[RunSummary]] = {}
    for r in runs:
        groups.setdefault((r.config.method, r.config.lr), []).append(r)
    return groups


def n_diverged(runs: Sequence[RunSummary]) -> int:
    """How many of the runs diverged."""
    return sum(r.diverged for r in runs)


def loss_range_text(runs: Sequence[RunSummary]) -> str:
    """The range of final training losses of the runs that did not diverge, as "0.21–0.39", or
    "all diverged"."""
    ok = [r.train_loss for r in runs if not r.diverged]
    return f"{min(ok):.2f}–{max(ok):.2f}" if ok else "all diverged"


def seed_spread_text(runs: Sequence[RunSummary]) -> str:
    """:func:`~mgdl_core.pages.claims.spread` of the final training losses as a percentage ("37%"),
    or "n/a" when a run diverged."""
    if any(r.diverged for r in runs):
        return "n/a"
    return f"{spread([r.train_loss for r in runs]):.0%}"


# ---------------------------------------------------------------------------------- spectra
def count_below(run: RunSummary, level: float = -1.0) -> np.ndarray:
    """How many of the tracked smallest eigenvalues of I − ηH are below ``level``, per checkpoint."""
    return (np.asarray(run.history["eig_smallest"]) < level).sum(axis=1)


def checkpoints_below(run: RunSummary, level: float = -1.0) -> int:
    """At how many checkpoints at least one tracked eigenvalue of I − ηH is below ``level``."""
    return int((count_below(run, level) > 0).sum())


def first_epoch_below(run: RunSummary, level: float = -1.0) -> int | None:
    """The (cumulative) epoch of the first checkpoint with an eigenvalue below ``level``;
    ``None`` when there is none."""
    hit = np.flatnonzero(count_below(run, level) > 0)
    return None if hit.size == 0 else int(run.history["eig_epoch"][hit[0]])


def first_below_text(run: RunSummary, level: float = -1.0) -> str:
    """:func:`first_epoch_below` as "epoch 1,500" or "never"."""
    epoch = first_epoch_below(run, level)
    return "never" if epoch is None else f"epoch {epoch:,}"


def min_eigenvalue(run: RunSummary) -> float:
    """The smallest tracked eigenvalue of I − ηH over all checkpoints, initialisations included."""
    return float(np.asarray(run.history["eig_smallest"])[:, 0].min())


def lowest_where(run: RunSummary) -> str:
    """Where :func:`min_eigenvalue` was taken: "epoch 2,750", and for MGDL ", grade 3", with
    " at its initialisation, before any step" when it is a grade's first spectrum."""
    h = run.history
    i = int(np.argmin(np.asarray(h["eig_smallest"])[:, 0]))
    where = f"epoch {int(h['eig_epoch'][i]):,}"
    if "eig_grade" in h:
        where += f", grade {int(h['eig_grade'][i])}"
        where += " at its initialisation, before any step" if grade_starts(run)[i] else ""
    return where


def grade_lowest(run: RunSummary) -> list[tuple[float, bool]]:
    """Per grade (one for SGDL), the smallest tracked eigenvalue of I − ηH after the grade's
    initialisation, and whether it was taken at the grade's last checkpoint (the eigenvalue was
    still descending when the grade ended). A grade with no spectrum after its start is left out."""
    h = run.history
    smallest = np.asarray(h["eig_smallest"])[:, 0]
    grade = np.asarray(h["eig_grade"]) if "eig_grade" in h else np.ones(smallest.size)
    later = ~grade_starts(run)
    out = []
    for g in dict.fromkeys(grade.tolist()):
        idx = np.flatnonzero((grade == g) & later)
        if idx.size:
            i = idx[np.argmin(smallest[idx])]
            out.append((float(smallest[i]), bool(i == idx[-1])))
    return out


def grade_ends(run: RunSummary) -> list[int]:
    """The cumulative epoch (the epoch axis of MGDL's plots, grades added up) at which each
    grade's recorded history ends, grade by grade."""
    h = run.history
    grades = np.asarray(h["grade"])
    return [int(h["epoch"][np.flatnonzero(grades == g)[-1]]) for g in np.unique(grades)]


def grades_ended_early(run: RunSummary, planned: RunSummary) -> int:
    """How many of ``run``'s grades trained fewer epochs than the same grade of ``planned``
    (e.g. a run with an early-stopping rule against the same run without it)."""
    lengths = np.diff([0, *grade_ends(run)])
    planned_lengths = np.diff([0, *grade_ends(planned)])
    return int(sum(a < b for a, b in zip(lengths, planned_lengths)))


@dataclass(frozen=True)
class SpectrumMeasures:
    """What a tracked run's spectra of I − ηH and its loss show, after each grade's
    initialisation: the ``share`` of checkpoints with an eigenvalue below −1, the ``most`` below −1
    at once, the ``first`` epoch of a crossing (None: never), the ``lowest`` eigenvalue, the loss
    ``rises`` and ``alpha`` = α̂, the largest tracked Hessian eigenvalue."""

    share: float
    most: int
    first: int | None
    lowest: float
    rises: int
    alpha: float

    def parts(self) -> list[str]:
        """The measures as short phrases (ASCII minus): one line each in a printed output."""
        first = "never below -1" if self.first is None else f"first below -1 at epoch {self.first:,}"
        return [f"below -1 at {self.share:.0%} of checkpoints", f"up to {self.most} below -1 at once", first,
                f"lowest {self.lowest:.2f}", f"{self.rises} loss rises above {RISE:g}x the minimum"]

    def text(self, method: str) -> str:
        """The measures in one sentence of prose (typographic minus)."""
        return f"{method}: " + ", ".join(p.replace("-", "−") for p in self.parts()[:4]) + f"; {self.rises} loss rises"


def minus_text(x: float) -> str:
    """A number with a typographic minus."""
    return f"{x:.2f}".replace("-", "−")


def loss_rises(run: RunSummary, factor: float = RISE) -> int:
    """How many times the recorded training loss climbs above ``factor`` × its running minimum
    (the running minimum restarts with each MGDL grade; a diverged tail ends the count)."""
    h = run.history
    loss = np.asarray(h["train_loss"], dtype=float)
    grade = np.asarray(h["grade"]) if "grade" in h else np.zeros(loss.size)
    rises, above, best, current = 0, False, math.inf, None
    for value, g in zip(loss, grade):
        if g != current:
            best, current, above = math.inf, g, False
        if not math.isfinite(value):
            break
        now = value > factor * best
        rises += now and not above
        above, best = now, min(best, value)
    return rises


def spectrum_measures(run: RunSummary) -> SpectrumMeasures:
    """:class:`SpectrumMeasures` of a run with tracked spectra (after the grades' initialisations)."""
    h = run.history
    later = ~grade_starts(run)
    smallest = np.asarray(h["eig_smallest"])[later]
    below = (smallest < -1).sum(axis=1)
    epochs = np.asarray(h["eig_epoch"])[later]
    first = int(epochs[below > 0][0]) if (below > 0).any() else None
    return SpectrumMeasures(share=float((below > 0).mean()), most=int(below.max()), first=first,
                            lowest=float(smallest.min()), rises=loss_rises(run),
                            alpha=float(np.nanmax(np.asarray(h["lambda_max"])[later])))


def scale_lines(run: RunSummary) -> list[str]:
    """A paper-scale run in a few short lines: its final loss beside the authors' (where known),
    its grades' losses, and where its spectra cross −1 (counts and the lowest eigenvalue)."""
    c = run.config
    key = (c.setting, c.method)
    lines = [f"Setting {c.setting} {c.method.upper()} η={c.lr:g}, {run.epochs_run:,} epochs:"]
    authors = f" (authors: {AUTHORS_TRAIN_LOSS[key]:.3g})" if key in AUTHORS_TRAIN_LOSS else ""
    lines.append(f"  final train loss {run.train_loss:.3g}{authors}")
    if run.grade_train_losses:
        lines.append("  grades: " + ", ".join(f"{v:.3g}" for v in run.grade_train_losses))
        if key in AUTHORS_GRADE_LOSSES:
            lines.append("  authors: " + ", ".join(f"{v:.3g}" for v in AUTHORS_GRADE_LOSSES[key]))
    if len(run.history.get("eig_epoch", ())):
        n = len(run.history["eig_epoch"])
        lines.append(f"  below -1 at {checkpoints_below(run)} of {n} checkpoints")
        lines.append(f"  lowest {min_eigenvalue(run):.3f}, {lowest_where(run)}")
    return lines


def scale_report(results: Mapping, keys: Sequence[tuple[int, str]]) -> str:
    """The checked text of a page's paper-scale part: :func:`scale_lines` and, after the grades'
    initialisations, the :class:`SpectrumMeasures` of each (setting, method) in ``keys`` that has a
    result (a :class:`~mgdl_core.runs.results.Result`), and a line for each that has none yet. The data
    are committed, so these are exact facts, with no room: the decisions of
    :func:`mgdl_core.pages.claims.spectrum_claims` are for runs a machine trains itself."""
    lines = []
    for key in keys:
        if key in results:
            run = results[key].run
            lines += scale_lines(run)
            if len(run.history.get("eig_epoch", ())):
                lines.append("  after the initialisations:")
                lines += [f"    {part}" for part in spectrum_measures(run).parts()]
        else:
            lines.append(f"Setting {key[0]} {key[1].upper()}: not computed at the paper's scale yet")
    return "\n".join(lines)


SCALE_KEYS = ("below", "n", "loss", "min-eig", "later-min")


def scale_values(run: RunSummary) -> dict[str, str]:
    """The numbers a page's prose quotes of a paper-scale run, formatted: checkpoints below −1
    (``below``) of ``n``, the final loss, the lowest eigenvalue and the lowest after the grades'
    initialisations (``later-min``)."""
    from .claims import lowest

    return {"below": f"{checkpoints_below(run)}", "n": f"{len(run.history['eig_epoch'])}",
            "loss": f"{run.train_loss:.2g}", "min-eig": f"{min_eigenvalue(run):.2f}",
            "later-min": f"{lowest(run, at_start=False):.2f}"}


def draws_report(draws: Mapping[tuple[int, str], Mapping[str, object]], levels: Mapping[int, float]) -> str:
    """The same paper-scale configuration over several draws (other seeds of the initial weights,
    another numeric path; each a :class:`~mgdl_core.runs.results.Result`): per (setting, method), the
    final training loss of each draw, their relative spread (:func:`~mgdl_core.pages.claims.spread`),
    and whether every draw ends below the setting's level (with a 2× room, as §5's claims). A
    configuration with fewer than two draws is left out."""
    from .claims import decide

    lines = []
    for (setting, method), results in draws.items():
        if len(results) < 2:
            continue  # one draw has no spread: the run is on the page above
        losses = {label: r.run.train_loss for label, r in results.items()}
        lines.append(f"Setting {setting} {method.upper()}, {len(losses)} draws, final train loss:")
        lines += [f"  {label}: {loss:.3g}" for label, loss in losses.items()]
        lines.append(f"  spread (max - min) / median: {spread(list(losses.values())):.2f}")
        answers = {decide(v, "<", levels[setting], 2, relative=True) for v in losses.values()}
        verdict = answers.pop() if len(answers) == 1 else "not at every draw"
        lines.append(f"  below {levels[setting]:g} at every draw: {verdict}")
    return "\n".join(lines)
