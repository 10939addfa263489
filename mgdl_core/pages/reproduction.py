"""The reproduction report: one row per item of the paper, computed from committed results.

Each item of :data:`~mgdl_core.pages.paper_numbers.PAPER_ITEMS` (Theorems 1–5, Appendices A and C,
Figures 1–28, Tables 1–3, and §3's remark α_l ≪ α) gets a :class:`ReportRow`: the paper's claim,
the scale this edition computed it at, our numbers beside the paper's, a verdict and what is
left. Every number comes from ``results/`` (committed, verified when read) or from
:mod:`mgdl_core.pages.paper_numbers`, so the report is the same on every machine and updates itself as
the paper queue (:mod:`mgdl_core.pages.paper`) fills ``results/``. Quick-profile runs, trained anew on
each machine, never enter it: an item computed only at the quick scale is "not tested at scale"
and its page says what the quick run shows.

Verdicts, by rule:

- **Figure 1** (the §5 sweep, :mod:`mgdl_core.pages.sweep_report`): *reproduced* when all 120 rates are
  computed and no rate off an edge disagrees; *contradicted* when more rates disagree than agree;
  otherwise *partly*.
- **Eigenvalue figures** (2, 16, 21–26): the paper contrasts a method that crosses −1 (SGDL,
  MSDL) with MGDL. Measured on the spectra after each grade's initialisation
  (:func:`spectrum_measures`): the share of checkpoints with an eigenvalue of I − ηH below −1,
  the most below −1 at once, and the loss rises (:func:`loss_rises`). The contrast holds when the
  other method is below −1 at a larger share of checkpoints *and* with at least as many
  eigenvalues at once. *Reproduced*: the contrast holds, the other method's loss rises more
  often than MGDL's and, where the paper says MGDL stays in (−1, 1), it does; *partly*: the
  contrast holds but not the rest; *contradicted*: no contrast.
- **Figure 17**: Setting 1 similar (test losses within 10×) and Setting 2 MGDL at least 10×
  lower; **§3's α_l ≪ α**: contradicted when the largest α̂_l of MGDL's grades is above half of
  SGDL's α̂ on the same setting (α̂: the largest tracked Hessian eigenvalue over the run).
- **Tables 1–3** at the middle tier (the paper's protocol on images area-averaged to the side of
  :data:`~mgdl_core.pages.plans.TIER_SIDES`): MGDL's final PSNR above SGDL's cell by cell; *partly*
  when it is in at least half of the computed cells (a reduced size is never *reproduced*), else
  *contradicted*.
- **Theorems 1–2** hold under η < 2/α: where the committed runs violate it, or sit within 5 % of
  it, the theorem is *not tested* at scale (its quick check is on the theory page).
- Items without a committed result are *not tested at scale*, with what the paper queue has left
  for them; illustrations and formulations (Figures 4, 7, 11, Appendices A and C) are *shown*.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..runs.results import Result, load_results
from ..tasks.fit import RunSummary
from ..tasks.images import IMAGES
from .analysis import RISE, SpectrumMeasures, minus_text, loss_rises, spectrum_measures
from .claims import grade_starts
from .paper import paper_items, plan_rows
from .paper_numbers import (AUTHORS_TRAIN_LOSS, PAGE_TITLES, PAPER_ITEMS, PAPER_SWEEP, S6_SETTING2_SGDL_STABLE_EPOCHS,
                            PaperEntry)

__all__ = ["VERDICTS", "ReportRow", "SpectrumMeasures", "loss_rises", "spectrum_measures", "contrast_text",
           "report_rows",
           "verdict_counts", "report_text", "report_markdown", "report_figure", "page_title"]

VERDICTS = ("reproduced", "partly", "contradicted", "not tested at scale", "shown")
SIMILAR = 10.0  # Figure 17: "similar" within this factor, "much better" beyond it
EDGE_OF_THEOREM = 1.05  # η·α̂/2 within 5 % of 1 (or above): the theorems' hypothesis is not met

_RESULTS = {
    **{f"s6-{s}-{m}": f"synthetic/s6-setting{s}-{m}" for s in (1, 2) for m in ("sgdl", "mgdl")},
    **{f"s7-{s}-msdl": f"synthetic/s7-setting{s}-msdl" for s in (1, 2)},
    **{f"den-{n}-{i}-{m}": f"restoration/s6-denoise{n}-{i}-{m}" for n in (10, 30) for i in ("butterfly", "barbara")
       for m in ("sgdl", "mgdl")},
    **{f"img-{i}-{m}": f"image_regression/s6-{i}-{m}" for i in ("cameraman", "barbara", "butterfly")
       for m in ("sgdl", "mgdl")},
}
# The eigenvalue figures: (the other method's result, MGDL's, whether the paper says MGDL stays in (−1, 1)).
_PAIRS = {
    "Figure 2": ("s6-1-sgdl", "s6-1-mgdl", True), "Figure 16": ("s6-2-sgdl", "s6-2-mgdl", True),
    "Figure 21": ("den-10-butterfly-sgdl", "den-10-butterfly-mgdl", True),
    "Figure 22": ("den-30-butterfly-sgdl", "den-30-butterfly-mgdl", True),
    "Figure 23": ("den-10-barbara-sgdl", "den-10-barbara-mgdl", True),
    "Figure 24": ("den-30-barbara-sgdl", "den-30-barbara-mgdl", True),
    "Figure 18": ("img-cameraman-sgdl", "img-cameraman-mgdl", True),
    "Figure 19": ("img-barbara-sgdl", "img-barbara-mgdl", True),
    "Figure 20": ("img-butterfly-sgdl", "img-butterfly-mgdl", True),
    "Figure 25": ("s7-1-msdl", "s6-1-mgdl", False), "Figure 26": ("s7-2-msdl", "s6-2-mgdl", False),
}
_SHOWN = ("Figure 4", "Figure 7", "Figure 11", "Appendix A", "Appendix C")


@dataclass(frozen=True)
class ReportRow:
    """One item of the paper: its claim, the scale we computed it at, ours and the paper's numbers,
    the verdict (one of :data:`VERDICTS`) and what is left (runs and CPU hours, or "")."""

    label: str
    claim: str
    page: str
    scale: str
    ours: str
    paper: str
    verdict: str
    left: str


def contrast_text(other: SpectrumMeasures, mgdl: SpectrumMeasures, name: str) -> str:
    """The paper's contrast between ``name`` (SGDL or MSDL) and MGDL, measured: a sentence that
    sets each of :class:`SpectrumMeasures` side by side and says which way it goes, so that it
    reads the same as the numbers it quotes whatever the results."""

    def way(a: float, b: float, more: str, less: str, same: str) -> str:
        return more if a > b else less if a < b else same

    first = lambda m: "never" if m.first is None else f"epoch {m.first:,}"  # noqa: E731
    return (f"{name} is below −1 at {way(other.share, mgdl.share, 'more', 'fewer', 'as many')} of its "
            f"checkpoints than MGDL ({other.share:.0%} against {mgdl.share:.0%}), with "
            f"{way(other.most, mgdl.most, 'more', 'fewer', 'as many')} eigenvalues below −1 at once (up to "
            f"{other.most} against {mgdl.most}); its lowest eigenvalue is {minus_text(other.lowest)} against "
            f"{minus_text(mgdl.lowest)}, its first crossing at {first(other)} against {first(mgdl)}, and its "
            f"training loss rose above {RISE:g}× its running minimum {other.rises} times against "
            f"{mgdl.rises}")


def _left(label: str, rows: list[dict]) -> str:
    """What the paper queue has left for a figure: runs and CPU hours (or "")."""
    short = label.replace("Figure ", "Fig. ")
    mine = [r for r in rows if r["figure"].split(" (")[0] == short and r["state"] != "committed"]
    if not mine:
        return ""
    hours = sum(r["hours"] for r in mine if not math.isnan(r["hours"]))
    return f"{len(mine)} runs, {hours:.1f} CPU h"


def _not_tested(entry: PaperEntry, rows: list[dict], paper: str = "") -> ReportRow:
    queued = _left(entry.label, rows)
    left = queued or "not in the paper queue"
    return ReportRow(entry.label, entry.claim, entry.page, "quick", "", paper, "not tested at scale", left)


def _small(entry: PaperEntry) -> ReportRow:
    return ReportRow(entry.label, entry.claim, entry.page, "small", "", "", "not tested at scale",
                     "checked on small problems on its page")


def _figure1(entry: PaperEntry, results_dir, rows) -> ReportRow:
    from .sweep_report import load_sweep_results, sweep_runs, sweep_scale_counts

    sweeps = sweep_runs(load_sweep_results(results_dir))
    n = sum(len(v) for v in sweeps.values())
    paper = "; ".join(f"S{s} {m.upper()}: {c.words}" for (s, m), c in PAPER_SWEEP.items())
    if not n:
        return _not_tested(entry, rows, paper)
    c = sweep_scale_counts(sweeps)
    total = sum(1 for i in paper_items() if i.figure == "Fig. 1")
    ours = (f"{n} of {total} rates: {c['agrees']} agree, {c['disagrees']} disagree, "
            f"{c['edge']} on an edge")
    if c["disagrees"] > c["agrees"]:
        verdict = "contradicted"
    elif n == total and c["disagrees"] == 0:
        verdict = "reproduced"
    else:
        verdict = "partly"
    return ReportRow(entry.label, entry.claim, entry.page, "paper", ours, paper, verdict, _left(entry.label, rows))


def _pair(entry: PaperEntry, res: Mapping[str, Result], rows) -> ReportRow:
    other_key, mgdl_key, inside_claimed = _PAIRS[entry.label]
    if other_key not in res or mgdl_key not in res:
        return _not_tested(entry, rows)
    other, mgdl = res[other_key].run, res[mgdl_key].run
    o, m = spectrum_measures(other), spectrum_measures(mgdl)
    name = other.config.method.upper()
    ours = f"{o.text(name)}. {m.text('MGDL')}"
    paper = ""
    if entry.label == "Figure 16":
        paper = f"SGDL in (−1, 1) for the first {S6_SETTING2_SGDL_STABLE_EPOCHS:,} epochs"
    key = (other.config.setting, other.config.method) if hasattr(other.config, "setting") else None
    if key in AUTHORS_TRAIN_LOSS:
        paper += ("; " if paper else "") + f"authors' {name} final loss {AUTHORS_TRAIN_LOSS[key]:.3g}"
    contrast = o.share > m.share and o.most >= m.most
    rest = o.rises > m.rises and (m.lowest > -1 or not inside_claimed)
    verdict = "contradicted" if not contrast else "reproduced" if rest else "partly"
    return ReportRow(entry.label, entry.claim, entry.page, "paper", ours, paper, verdict, _left(entry.label, rows))


def _figure17(entry: PaperEntry, res: Mapping[str, Result], rows) -> ReportRow:
    keys = ["s6-1-sgdl", "s6-1-mgdl", "s6-2-sgdl", "s6-2-mgdl"]
    if not all(k in res for k in keys):
        return _not_tested(entry, rows)
    t = {k: res[k].run.test_loss for k in keys}
    ratio1, ratio2 = t["s6-1-sgdl"] / t["s6-1-mgdl"], t["s6-2-sgdl"] / t["s6-2-mgdl"]
    ours = (f"test loss S1 SGDL {t['s6-1-sgdl']:.2g}, MGDL {t['s6-1-mgdl']:.2g} (×{ratio1:.2g}); "
            f"S2 SGDL {t['s6-2-sgdl']:.2g}, MGDL {t['s6-2-mgdl']:.2g} (×{ratio2:.2g})")
    similar, better = 1 / SIMILAR <= ratio1 <= SIMILAR, ratio2 >= SIMILAR
    verdict = "reproduced" if similar and better else "partly" if similar or better else "contradicted"
    return ReportRow(entry.label, entry.claim, entry.page, "paper", ours, "", verdict, "")


def _figure27(entry: PaperEntry, res: Mapping[str, Result], rows) -> ReportRow:
    keys = ["s7-1-msdl", "s7-2-msdl", "s6-1-mgdl", "s6-2-mgdl"]
    if not all(k in res for k in keys):
        return _not_tested(entry, rows)
    t = {k: res[k].run.test_loss for k in keys}
    ours = (f"MSDL test loss S1 {t['s7-1-msdl']:.2g} (MGDL {t['s6-1-mgdl']:.2g}), "
            f"S2 {t['s7-2-msdl']:.2g} (MGDL {t['s6-2-mgdl']:.2g})")
    paper = f"authors' MSDL S1 final loss {AUTHORS_TRAIN_LOSS[1, 'msdl']:.3g}"
    return ReportRow(entry.label, entry.claim, entry.page, "paper", ours, paper, "shown", "")


def _alpha_rows(entry: PaperEntry, res: Mapping[str, Result]) -> ReportRow:
    """Theorems 1 and 2 and §3's α_l ≪ α from the tracked paper-scale spectra (α̂ is the largest
    Hessian eigenvalue at the checkpoints: a lower bound of the theorems' α over the trajectory)."""
    settings = [s for s in (1, 2) if f"s6-{s}-sgdl" in res and f"s6-{s}-mgdl" in res]
    if not settings:
        return _small(entry)
    parts, verdicts = [], []
    for s in settings:
        sgdl, mgdl = res[f"s6-{s}-sgdl"].run, res[f"s6-{s}-mgdl"].run
        alpha, grades = spectrum_measures(sgdl).alpha, _grade_alphas(mgdl)
        if entry.label == "§3 remark":
            parts.append(f"S{s}: MGDL's α̂_l up to {max(grades):.1f}, SGDL's α̂ {alpha:.1f}")
            verdicts.append("contradicted" if max(grades) > alpha / 2 else "reproduced")
            continue
        run, ratios = (sgdl, [alpha]) if entry.label == "Theorem 1" else (mgdl, grades)
        ratios = [run.config.lr * a / 2 for a in ratios]
        parts.append(f"S{s} {run.config.method.upper()} η·α̂/2 = " + ", ".join(f"{r:.2f}" for r in ratios))
        if max(ratios) * EDGE_OF_THEOREM >= 1:
            verdicts.append("not tested at scale")  # the hypothesis η < 2/α fails or sits at its edge
        else:
            verdicts.append("reproduced" if not run.diverged and loss_rises(run) == 0 else "contradicted")
    tested = [v for v in verdicts if v != "not tested at scale"]
    if not tested:
        verdict = "not tested at scale"
    else:
        verdict = tested[0] if len(set(tested)) == 1 else "partly"
    left = "" if tested else "the hypothesis η < 2/α is not met at the paper's rates"
    return ReportRow(entry.label, entry.claim, entry.page, "paper", "; ".join(parts), "", verdict, left)


def _tier(entry: PaperEntry, results, rows) -> ReportRow:
    """Tables 1–3 from the middle tier (the paper's protocol on area-averaged images,
    :data:`~mgdl_core.pages.plans.TIER_SIDES`): in how many computed cells MGDL's final PSNR (TePSNR for
    Table 1) is above SGDL's. A reduced size is never *reproduced*: *partly* when MGDL is above in
    at least half of the cells, else *contradicted*."""
    from .plans import TIER_SIDES
    from .restoration_report import restoration_level

    items = [i for i in paper_items() if i.figure == entry.label]
    found = load_results({i.name: i.name for i in items}, results)
    runs = {}
    for item in items:
        if item.name in found:
            c = found[item.name].run.config
            level = restoration_level(c) if c.kind == "restoration" else None
            runs[c.image, level, c.method] = found[item.name].run
    cells = [k[:2] for k in runs if k[2] == "sgdl" and k[:2] + ("mgdl",) in runs]
    if not cells:
        return _not_tested(entry, rows)
    gains = [_final_psnr(runs[cell + ("mgdl",)]) - _final_psnr(runs[cell + ("sgdl",)]) for cell in cells]
    above = sum(g > 0 for g in gains)
    side = TIER_SIDES["images" if entry.label == "Table 1" else "restoration"]
    ours = (f"the paper's protocol on images of at most {side}² pixels: MGDL above SGDL in {above} of {len(cells)} "
            f"cells ({len(items) // 2} planned), MGDL − SGDL from {min(gains):+.2f} to {max(gains):+.2f} dB")
    verdict = "partly" if 2 * above >= len(cells) else "contradicted"
    return ReportRow(entry.label, entry.claim, entry.page, f"≤{side}²", ours.replace("-", "−"), "", verdict,
                     _left(entry.label, rows))


def _final_psnr(run: RunSummary) -> float:
    """A network's final PSNR in dB: TePSNR (every pixel) for image regression, the restored
    image's PSNR for restoration."""
    if run.config.kind == "restoration":
        from ..tasks.restoration import restoration_psnr

        return restoration_psnr(run)
    from .image_report import network_row

    return network_row(run, run.config.image_array()).test_all


def _grade_alphas(run: RunSummary) -> list[float]:
    """α̂_l of each MGDL grade: the largest tracked Hessian eigenvalue after its initialisation."""
    h = run.history
    later = ~grade_starts(run)
    grade = np.asarray(h["eig_grade"])[later]
    lam = np.asarray(h["lambda_max"])[later]
    return [float(np.nanmax(lam[grade == g])) for g in np.unique(grade)]


def report_rows(results: str | Path | None = None) -> list[ReportRow]:
    """Every item of the paper in the paper's order of pages, from ``results`` (default
    ``results/``) and :mod:`mgdl_core.pages.paper_numbers`."""
    res = load_results(_RESULTS, results)
    plan = plan_rows(paper_items(), runs=False, results=results, probe=False)
    rows = []
    for entry in PAPER_ITEMS:
        if entry.label in ("Theorem 1", "Theorem 2", "§3 remark"):
            rows.append(_alpha_rows(entry, res))
        elif entry.label == "Figure 1":
            rows.append(_figure1(entry, results, plan))
        elif entry.label in _PAIRS:
            rows.append(_pair(entry, res, plan))
        elif entry.label == "Figure 17":
            rows.append(_figure17(entry, res, plan))
        elif entry.label == "Figure 27":
            rows.append(_figure27(entry, res, plan))
        elif entry.label in ("Table 1", "Table 2", "Table 3"):
            rows.append(_tier(entry, results, plan))
        elif entry.label == "Figure 4":
            have = len(IMAGES)
            rows.append(ReportRow(entry.label, entry.claim, entry.page, "full size", f"{have} of 7 images", "7 images",
                                  "partly" if have < 7 else "shown", "Walnut's file is not public" if have < 7 else ""))
        elif entry.label in ("Theorem 3", "Theorem 4", "Theorem 5"):
            rows.append(_small(entry))
        elif entry.label == "Appendix A":
            rows.append(ReportRow(entry.label, entry.claim, entry.page, "small", "", "", "shown", ""))
        elif entry.label in _SHOWN:
            rows.append(ReportRow(entry.label, entry.claim, entry.page, "quick", "", "", "shown", ""))
        else:
            rows.append(_not_tested(entry, plan))
    return rows


def verdict_counts(rows: list[ReportRow]) -> dict[str, int]:
    """How many rows have each verdict, in the order of :data:`VERDICTS`."""
    return {v: sum(r.verdict == v for r in rows) for v in VERDICTS}


def report_text(rows: list[ReportRow]) -> str:
    """The checked table: item, scale and verdict, narrow enough for a phone."""
    lines = [f"{'item':11} {'scale':9} verdict"]
    lines += [f"{r.label:11} {r.scale:9} {r.verdict}" for r in rows]
    counts = verdict_counts(rows)
    lines.append("")
    lines += [f"{v}: {n}" for v, n in counts.items()]
    return "\n".join(lines)


def report_markdown(rows: list[ReportRow]) -> str:
    """The full report as Markdown: a section per page of the book (its title linking to it), a
    three-column table per section (item, verdict and scale, the claim with our numbers, the
    paper's and what is left), narrow enough to read on a phone."""
    out = []
    for page in dict.fromkeys(r.page for r in rows):
        out += [f"### [{page_title(page)}]({page}.ipynb)", "", "| item | verdict | the paper's claim; ours |", "|---|---|---|"]
        for r in (r for r in rows if r.page == page):
            parts = [f"{r.claim}."] + [f"**{k}:** {v}." for k, v in (("Ours", r.ours), ("The paper's", r.paper),
                                                                        ("Left", r.left)) if v]
            out.append(f"| {r.label} | **{r.verdict}** ({r.scale}) | {' '.join(parts)} |")
        out.append("")
    return "\n".join(out)


def page_title(page: str) -> str:
    """The title of a page in the table of contents."""
    return PAGE_TITLES.get(page, page)


VERDICT_COLOURS = {"reproduced": "#1b7837", "partly": "#a6dba0", "contradicted": "#c2185b",
                   "not tested at scale": "#d9d9d9", "shown": "#9ecae1"}


def report_figure(rows: list[ReportRow]):
    """The verdicts by page: one stacked bar per page of the book, one segment per verdict."""
    import matplotlib.pyplot as plt

    pages = list(dict.fromkeys(r.page for r in rows))
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(pages) + 1.3))
    for y, page in enumerate(pages):
        left = 0
        for verdict in VERDICTS:
            n = sum(r.page == page and r.verdict == verdict for r in rows)
            if n:
                ax.barh(y, n, left=left, color=VERDICT_COLOURS[verdict], edgecolor="white", label=verdict)
                left += n
    ax.set_yticks(range(len(pages)), [page_title(p) for p in pages])
    ax.invert_yaxis()
    ax.set_xlabel("items of the paper")
    handles = dict(zip(*reversed(ax.get_legend_handles_labels())))
    order = [v for v in VERDICTS if v in handles]
    ax.legend([handles[v] for v in order], order, ncol=3, loc="lower center", bbox_to_anchor=(0.45, 1.0), frameon=False, fontsize="small")
    fig.tight_layout()
    return fig
