"""§5 at the paper's scale: the claims the paper reads off its Figure 1, as data, and the
committed paper-scale sweep runs (``results/synthetic/s5-…``) held against them, rate by rate.

The paper (§5): "SGDL achieves a loss below 0.001 when the learning rate η lies in
[0.03, 0.08], whereas MGDL maintains this performance over a broader interval of [0.01, 0.3].
SGDL fails to converge when η > 0.3. In Setting 2 […] SGDL struggles with convergence for
η > 0.006 and performs best at η = 0.005. By contrast, MGDL […] with the loss staying below
0.01 for η in 0.08 and 0.3." So at a rate η the paper expects one of

* ``"below"``: a final training loss below the setting's level (10⁻³, 10⁻²);
* ``"fails"``: no convergence (divergence, or for Setting 2's SGDL "struggles");
* ``"converges"``: below the rate where SGDL fails, outside its good interval: a finite loss,
  not below the level (the paper's SGDL fails only above that rate);
* ``"not below"``: anywhere else (MGDL outside its interval: the paper says nothing about
  divergence there);
* ``"edge"``: within 10 % of an end it states, which it rounds: no verdict there.

A computed run agrees when its outcome matches: below the level for ``"below"``; finite and not
below for ``"converges"``; diverged or not below for ``"fails"`` and ``"not below"``. The results
are committed, so the comparison is exact, with no room for rounding (the quick sweep's claims,
trained anew on every machine, keep a 2× room); what a single draw of the rounding cannot say,
more draws can: the paper queue trains three more seeds of each disagreeing rate
(:data:`mgdl_core.pages.paper.FIG1_DRAW_RATES`), read by :func:`load_sweep_draws` and
:func:`draws_text`. Setting 2's SGDL has
no good interval: the paper gives its best rate, not a loss below 10⁻², and its §6 run at that
rate ends at 0.36 (the authors' notebook), so no rate is expected below the level.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import ConfigError
from ..tasks.fit import RunSummary
from .paper_numbers import EDGE, PAPER_SWEEP, SweepClaim

__all__ = ["SweepClaim", "PAPER_SWEEP", "EDGE", "result_name", "load_sweep_results", "sweep_runs",
           "sweep_provenance", "expected", "agreement", "sweep_scale_report", "sweep_scale_counts",
           "disagreements_text", "load_sweep_draws", "draws_text", "same_rate"]


_NAME = re.compile(r"^s5-setting(\d)-(sgdl|mgdl)-eta([0-9.e-]+)$")
_DRAW = re.compile(r"^s5-setting(\d)-(sgdl|mgdl)-eta([0-9.e-]+)-seed(\d+)$")


def same_rate(a: float, b: float) -> bool:
    """Whether two learning rates are the same grid rate (to 0.1 %: a rate written with four
    digits, as in :func:`result_name`, matches the grid's)."""
    return abs(a / b - 1) < 1e-3


def result_name(setting: int, method: str, lr: float) -> str:
    """The name a §5 paper-scale run is exported under: ``s5-setting1-sgdl-eta0.07267``."""
    return f"s5-setting{setting}-{method}-eta{lr:.4g}"


def load_sweep_results(out: str | Path | None = None) -> dict[tuple[int, str], list]:
    """Every committed §5 result (a :class:`~mgdl_core.runs.results.Result`, verified when read), as
    ``{(setting, method): results}`` sorted by rate; a (setting, method) with none is absent."""
    from ..runs.results import list_results, read_result

    found: dict[tuple[int, str], list] = {}
    for folder in list_results(out):
        if folder.parent.name == "synthetic" and _NAME.match(folder.name):
            result = read_result(folder)
            c = result.run.config
            if folder.name != result_name(c.setting, c.method, c.lr):  # a hand-named export gone wrong
                raise ConfigError(f"{folder} holds Setting {c.setting} {c.method} at η = {c.lr:g}: its name "
                                  f"should be {result_name(c.setting, c.method, c.lr)}")
            found.setdefault((c.setting, c.method), []).append(result)
    return {key: sorted(rs, key=lambda r: r.run.config.lr) for key, rs in sorted(found.items())}


def sweep_runs(results: Mapping[tuple[int, str], Sequence]) -> dict[tuple[int, str], list[RunSummary]]:
    """The runs of :func:`load_sweep_results`' results, for the figures and the report."""
    return {key: [r.run for r in rs] for key, rs in results.items()}


def sweep_provenance(results: Mapping[tuple[int, str], Sequence]) -> str:
    """One caption for all of a sweep's results: how many, how long each took, where, when."""
    every = [r for rs in results.values() for r in rs]
    if not every:
        return "none computed yet"
    minutes = sorted(r.meta.get("seconds", 0) / 60 for r in every)
    devices = sorted({str(r.meta.get("env_device", "?")) for r in every})
    shas = sorted({r.short_sha for r in every})
    days = sorted({str(r.meta.get("created", ""))[:10] for r in every})
    torch = sorted({str(r.meta.get("env_torch", "?")) for r in every})
    return (f"{len(every)} run{'s' if len(every) != 1 else ''} of {minutes[0]:.1f} to {minutes[-1]:.0f} min each on {', '.join(devices)} "
            f"(torch {', '.join(torch)}, mgdl_core at {', '.join(shas)}, {', '.join(days)})")


def expected(run: RunSummary) -> str:
    """What the paper expects of ``run``'s (setting, method) at its rate (:class:`SweepClaim`)."""
    return PAPER_SWEEP[run.config.setting, run.config.method].expects(run.config.lr)


def agreement(run: RunSummary) -> tuple[str, str]:
    """(our outcome in words, ``"agrees"`` / ``"disagrees"`` / ``"edge"``) for a committed
    paper-scale sweep run against :func:`expected`: the final loss against the level, exactly."""
    claim, want = PAPER_SWEEP[run.config.setting, run.config.method], expected(run)
    if run.diverged or not math.isfinite(run.train_loss):
        ours = "diverged"
    else:
        ours = "below" if run.train_loss < claim.level else "not below"
    if want == "edge":
        return ours, "edge"
    ok = {"below": ours == "below", "converges": ours == "not below",
          "fails": ours in ("diverged", "not below"), "not below": ours in ("diverged", "not below")}[want]
    return ours, "agrees" if ok else "disagrees"


def sweep_scale_report(sweeps: Mapping[tuple[int, str], Sequence[RunSummary]],
                       keys: Sequence[tuple[int, str]]) -> str:
    """The checked text of §5's paper-scale part: per (setting, method) of ``keys``, the paper's
    claim and one short line per computed rate (η, final loss, ours, the paper's, verdict)."""
    lines = []
    for key in keys:
        claim = PAPER_SWEEP[key]
        lines.append(f"Setting {key[0]} {key[1].upper()} (level {claim.level:g})")
        lines.append(f"  paper: {claim.words}")
        runs = sweeps.get(key, [])
        if not runs:
            lines.append("  not computed at the paper's scale yet")
            continue
        lines.append(f"  {'η':>7}  {'loss':>8}  {'ours':<10} {'paper':<10} verdict")
        for r in runs:
            ours, verdict = agreement(r)
            loss = "–" if ours == "diverged" else f"{r.train_loss:.2g}"
            lines.append(f"  {r.config.lr:>7.3g}  {loss:>8}  {ours:<10} {expected(r):<10} {verdict}")
    return "\n".join(lines)


def sweep_scale_counts(sweeps: Mapping[tuple[int, str], Sequence[RunSummary]]) -> dict[str, int]:
    """How many computed rates agree, disagree or are on an edge, over all sweeps."""
    counts = {"runs": 0, "agrees": 0, "disagrees": 0, "edge": 0}
    for runs in sweeps.values():
        for r in runs:
            counts["runs"] += 1
            counts[agreement(r)[1]] += 1
    return counts


def disagreements_text(sweeps: Mapping[tuple[int, str], Sequence[RunSummary]]) -> str:
    """The runs that disagree with the paper, in words for the prose ("none" when none do)."""
    parts = []
    for (setting, method), runs in sweeps.items():
        for r in runs:
            ours, verdict = agreement(r)
            if verdict == "disagrees":
                loss = "diverged" if ours == "diverged" else f"ends at {r.train_loss:.2g} after {r.epochs_run:,} epochs"
                want = {"below": "a loss below", "converges": "convergence to a loss not below",
                        "fails": "no loss below", "not below": "no loss below"}[expected(r)]
                parts.append(f"Setting {setting} {method.upper()} at η = {r.config.lr:.3g} {loss}, where the paper "
                             f"expects {want} {PAPER_SWEEP[setting, method].level:g}")
    return "; ".join(parts) if parts else "none"


def load_sweep_draws(out: str | Path | None = None) -> dict[tuple[int, str, float], list]:
    """The committed extra draws of Figure 1's rates (``s5-…-seed0``; a
    :class:`~mgdl_core.runs.results.Result` each, verified when read), by (setting, method, rate)."""
    from ..runs.results import list_results, read_result

    found: dict[tuple[int, str, float], list] = {}
    for folder in list_results(out):
        m = _DRAW.match(folder.name)
        if folder.parent.name == "synthetic" and m:
            result = read_result(folder)
            c = result.run.config
            if folder.name != f"{result_name(c.setting, c.method, c.lr)}-seed{c.seed}":
                raise ConfigError(f"{folder} holds Setting {c.setting} {c.method} at η = {c.lr:g}, seed {c.seed}")
            found.setdefault((c.setting, c.method, c.lr), []).append(result)
    return {k: sorted(v, key=lambda r: r.run.config.seed) for k, v in sorted(found.items())}


def draws_text(sweeps: Mapping[tuple[int, str], Sequence[RunSummary]], draws: Mapping[tuple[int, str, float], Sequence],
               rates: Mapping[tuple[int, str], Sequence[float]]) -> str:
    """Per rate of ``rates`` (:data:`mgdl_core.pages.paper.FIG1_DRAW_RATES`), the verdict of the
    authors' draw (seed 42) and of each extra draw committed, in short lines."""
    lines = []
    for (setting, method), wanted in rates.items():
        for lr in wanted:
            first = [r for r in sweeps.get((setting, method), []) if same_rate(r.config.lr, lr)]
            extra = next((v for (s, m, x), v in draws.items() if (s, m) == (setting, method) and same_rate(x, lr)), [])
            runs = first + [r.run for r in extra]
            lines.append(f"Setting {setting} {method.upper()} η={lr:.3g}, {len(runs)} draw{'s' if len(runs) != 1 else ''}:")
            if not runs:
                lines.append("  none computed yet")
            for r in runs:
                ours, verdict = agreement(r)
                loss = "–" if ours == "diverged" else f"{r.train_loss:.2g}"
                lines.append(f"  seed {r.config.seed:>2}: {loss:>8} {ours:<9} {verdict}")
    return "\n".join(lines)
