"""The numbers a page's prose cites, as ordered dicts of name → formatted text.

A page computes a group of facts with one call and glues them with :func:`glue_facts`, so the
formatting of a number (its digits, "–" for a run not computed yet) is code the tests can call,
not a dozen ``glue`` lines in a notebook. The names are the ``{glue:text}`` roles of the prose;
the order of a dict is the order the page glues them in (an executed notebook's outputs).

The digits follow what each number supports: quick-profile losses and eigenvalues move with the
CPU's rounding in their third digit, so they are written with two (§6's tracked runs); committed
paper-scale data is the same on every machine.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..core.nets import parameter_count, sgdl_structure
from ..runs.results import provenance_text
from ..tasks.grids import psnr, psnr_from_loss
from ..tasks.image_regression import FOURIER_SIDE, SECTION_PROFILES
from ..tasks.restoration import grade_psnrs, restoration_psnr
from . import classical_full
from ..theory.convergence import alpha_by_grade
from ..theory.convex import SUPPORT_CUT
from .analysis import (checkpoints_below, count_below, first_below_text, first_diverged, grade_lowest, interval_text,
                       loss_range_text, lowest_where, min_eigenvalue, n_diverged, seed_spread_text)
from .claims import lowest
from .image_report import BILINEAR_MARGIN, PSNR_ROOM as IMAGE_PSNR_ROOM, TRAIN_ROOM, loss_spikes, paper_gains
from .paper_numbers import AUTHORS_DENOISE_PSNR, PAPER_SWEEP
from .reproduction import contrast_text, spectrum_measures
from .restoration_report import ENERGY_ROOM, PSNR_ROOM, drops_text, psnr_drops, restoration_claims
from .theory_report import EDGE_BAND, RATE_ROOM, RATIO_ROOM, SHRUNK, alpha_after_start, path_glue

NOT_YET = "–"  # a fact of a run that is not computed yet


def glue_facts(facts: Mapping[str, object]) -> None:
    """Glue every fact under its name for the page's prose (myst-nb's ``glue``, not displayed),
    in the dict's order."""
    from myst_nb import glue

    for name, value in facts.items():
        glue(name, value, display=False)


def plan_facts(plan: Mapping[str, object]) -> dict[str, object]:
    """A page plan's sizes under their own names (:func:`~mgdl_core.pages.plans.page_plan`),
    integers with thousands separators."""
    return {key: f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else value
            for key, value in plan.items()}


def _below_text(run, of: str = "of") -> str:
    """"k of n": the checkpoints with an eigenvalue of I − ηH below −1, of the spectra recorded."""
    return f"{checkpoints_below(run)} {of} {len(count_below(run))}"


def sweep_facts(runs: Mapping[tuple[int, str], list], levels: Mapping[int, float]) -> dict[str, object]:
    """A §5 rate sweep per (setting, method): the widest interval of rates whose final loss is
    below the paper's level of the setting, the paper's own words for it, the first rate that
    diverged; the levels; how many intervals are empty."""
    facts: dict[str, object] = {}
    for (s, m), rs in runs.items():
        facts[f"s{s}-{m}-interval"] = interval_text(rs, levels[s])
        facts[f"s{s}-{m}-paper"] = PAPER_SWEEP[s, m].words
        facts[f"s{s}-{m}-diverged"] = first_diverged(rs)
    facts["levels"] = ", ".join(f"{levels[s]:g} for Setting {s}" for s in (1, 2))
    n_empty = sum(interval_text(rs, levels[s]) == "none of the rates" for (s, m), rs in runs.items())
    facts["n-empty"] = f"{n_empty} of the {len(runs)} intervals are empty" if n_empty else "no interval is empty"
    return facts


def seed_facts(by_seed: Mapping[tuple[str, float], list], rates: list[float], n_seeds: int) -> dict[str, object]:
    """Draws of the initial weights at a few rates (§5), ``by_seed`` keyed (method, rate): per
    method and rate the range of final losses, how many diverged, the spread; the rates."""
    facts: dict[str, object] = {"n-seeds": n_seeds}
    for m in ("sgdl", "mgdl"):
        for i, lr in enumerate(rates):
            facts[f"seed-{m}-{i}"] = loss_range_text(by_seed[m, lr])
            facts[f"seed-{m}-{i}-diverged"] = n_diverged(by_seed[m, lr])
            facts[f"seed-{m}-{i}-spread"] = seed_spread_text(by_seed[m, lr])
    for i, lr in enumerate(rates):
        facts[f"seed-lr-{i}"] = f"{lr:.3g}"
    return facts


def tracked_run_facts(run, tag: str) -> dict[str, object]:
    """A §6 synthetic run with spectra (Figures 2 and 16): how many eigenvalues of I − ηH below −1
    at most and at how many checkpoints, the first epoch below, the lowest eigenvalue, the final
    training loss, the largest Hessian eigenvalue beside the edge of stability 2/η, and η."""
    return {
        f"{tag}-max-below": int(count_below(run).max()),
        f"{tag}-first-below": first_below_text(run),
        f"{tag}-min-eig": f"{min_eigenvalue(run):.2f}",
        f"{tag}-loss": f"{run.train_loss:.1e}",
        f"{tag}-lmax": f"{run.history['lambda_max'].max():.1f}",
        f"{tag}-eos": f"{2 / run.config.lr:.1f}",
        f"{tag}-n-below": _below_text(run, "of its"),
        f"{tag}-eta": f"{run.config.lr:g}",
    }


def msdl_run_facts(run, tag: str) -> dict[str, object]:
    """A §7 run with spectra (Figures 25–26), MSDL or MGDL: at how many checkpoints an eigenvalue
    of I − ηH is below −1, the lowest, the final training loss, and the lowest at a grade's (or
    the network's) initialisation and after it."""
    return {
        f"{tag}-checkpoints-below": _below_text(run),
        f"{tag}-min-eig": f"{min_eigenvalue(run):.2f}",
        f"{tag}-loss": f"{run.train_loss:.1e}",
        f"{tag}-start-min": f"{lowest(run, at_start=True):.2f}",
        f"{tag}-later-min": f"{lowest(run, at_start=False):.2f}",
    }


def image_spectra_facts(run, tag: str) -> dict[str, object]:
    """An image-regression run with spectra (Figure 3): eigenvalues below −1 (at most at once, at
    how many checkpoints), the lowest and where, the test PSNR and the epochs run."""
    return {
        f"{tag}-max-below": int(count_below(run).max()),
        f"{tag}-n-below": _below_text(run),
        f"{tag}-min-eig": f"{min_eigenvalue(run):.3f}",
        f"{tag}-min-where": lowest_where(run),
        f"{tag}-psnr": f"{psnr_from_loss(run.test_loss):.2f} dB",
        f"{tag}-epochs": f"{int(run.epochs_run):,}",
    }


def draw_facts(draws: Mapping[tuple[int, str], Mapping[str, object]], levels: Mapping[int, float]
               ) -> dict[str, object]:
    """Committed draws of the initial weights (:class:`~mgdl_core.runs.results.Result` s) per
    (setting, method): how many, the range of their final training losses and its factor, how
    many end at or above the paper's level of the setting (``levels``, §5); the levels; SGDL's
    draws in Setting 1 in a sentence."""
    facts: dict[str, object] = {}
    for (s, m), found in draws.items():
        losses = [r.run.train_loss for r in found.values()]
        facts[f"draws-s{s}-{m}-n"] = len(losses)
        facts[f"draws-s{s}-{m}-range"] = f"{min(losses):.2g} to {max(losses):.2g}" if losses else NOT_YET
        facts[f"draws-s{s}-{m}-factor"] = f"{max(losses) / min(losses):.1f}" if losses else NOT_YET
        facts[f"draws-s{s}-{m}-above"] = sum(v >= levels[s] for v in losses)
    facts["draw-levels"] = ", ".join(f"{levels[s]:g} in Setting {s}" for s in (1, 2))
    facts["draw-level-1"] = f"{levels[1]:g}"
    facts["draw-level-2"] = f"{levels[2]:g}"
    sgdl = [r.run.train_loss for r in draws[1, "sgdl"].values()]
    facts["draws-sgdl"] = ("SGDL's other draws are not computed yet (queued: `mgdl paper plan`)" if len(sgdl) < 2
                           else f"SGDL's {len(sgdl)} draws in Setting 1 end at {min(sgdl):.2g} to {max(sgdl):.2g}")
    return facts


def denoise_paper_facts(results: Mapping[str, object]) -> dict[str, object]:
    """§6 denoising of Butterfly at σ = 10 at the paper's scale (Figure 21), committed
    :class:`~mgdl_core.runs.results.Result` s keyed by method: per method the lowest eigenvalue
    after the initialisations, the gap to the authors' PSNR and the PSNR; the noisy input's PSNR;
    with both methods, the contrast of their spectra, MGDL's lowest per grade and in how many
    grades that lowest is the grade's last spectrum; where the results were computed."""
    facts: dict[str, object] = {}
    for m, res in results.items():
        facts[f"den-paper-{m}-later"] = f"{lowest(res.run, at_start=False):.2f}"
        facts[f"den-paper-{m}-gap"] = (
            f"{abs(restoration_psnr(res.run) - AUTHORS_DENOISE_PSNR[10, 'butterfly', m]):.2f}")
        facts[f"den-paper-{m}-psnr"] = f"{restoration_psnr(res.run):.2f}"
    if results:
        config = next(iter(results.values())).run.config
        facts["den-paper-input"] = f"{psnr(config.observation(), config.clean_image()):.2f}"
    if len(results) == 2:
        facts["den-paper-contrast"] = contrast_text(spectrum_measures(results["sgdl"].run),
                                                    spectrum_measures(results["mgdl"].run), "SGDL")
        lows = grade_lowest(results["mgdl"].run)
        facts["den-paper-grade-lows"] = ", ".join(f"{low:.2f}" for low, _ in lows)
        facts["den-paper-grades-descending"] = f"{sum(last for _, last in lows)} of its {len(lows)}"
    facts["den-paper-provenance"] = provenance_text(results.values())
    return facts


def full_size_facts(run) -> dict[str, object]:
    """SGDL (28) at full size with spectra: its rate, training pixels and parameters, the median
    Hessian-vector products and wall time of a spectrum (said coarsely: it varies from run to
    run), the largest Hessian eigenvalue at the initialisation and after it, what a dense Hessian
    would weigh, the edge of stability 2/η and the test PSNR."""
    h = run.history
    sec = float(np.median(h["eig_seconds"]))
    later = np.asarray(h["eig_epoch"]) > 0  # the first spectrum is the initialisation
    n_params = run.params[0].numel()
    return {
        "full-lr": f"{run.config.lr:g}",
        "full-pixels": f"{run.config.dataset().train.x.shape[0]:,}",
        "full-params": f"{n_params:,}",
        "full-hvps": f"{int(np.median(h['eig_hvps']))}",
        "full-seconds": "about a minute" if sec < 120 else f"about {round(sec / 60)} minutes",
        "full-lmax-start": f"{h['lambda_max'][0]:.1f}",
        "full-lmax": f"{np.asarray(h['lambda_max'])[later].max():.1f}" if later.any() else NOT_YET,
        "full-dense": f"{n_params ** 2:.2g} entries, {n_params ** 2 * 8 / 1e9:.0f} GB in float64",
        "full-eos": f"{2 / run.config.lr:.0f}",
        "full-psnr": f"{psnr_from_loss(run.test_loss):.2f} dB",
    }


def restoration_facts(rows, pairs, configs, plan: Mapping[str, object]) -> dict[str, object]:
    """The restoration page's Tables 2–3 at this profile in words: the PSNR room, each network's
    λ/β and λ (``configs``: SGDL and MGDL of each problem), the energy room, how many networks end
    above the PSNR of their own energy's minimiser, the first noise level's PSNRs per image and
    method, Butterfly's MGDL PSNR per grade, the first noise and blur levels, the PSNR drops, the
    classical rows the networks beat, the number of cells. ``pairs``: the page's (SGDL, MGDL)
    runs per cell (:func:`~mgdl_core.pages.restoration_report.pairs_by_cell`)."""
    facts: dict[str, object] = {"psnr-room": f"{PSNR_ROOM:g}"}
    for c in configs:
        facts[f"{c.method}-{c.problem}-ratio"] = f"{c.lam / c.beta:g}"
        facts[f"{c.method}-{c.problem}-lam"] = f"{c.lam:g}"
    facts["energy-room"] = f"{1 + ENERGY_ROOM:g}"
    nets = [r for r in rows if r.minimum is not None]
    facts["n-nets"] = len(nets)
    facts["n-better"] = sum(r.psnr > r.minimum_psnr for r in nets)
    by = {(r.image, r.problem, r.level, r.method): r for r in rows}
    first = plan["noises"][0]
    for name in plan["images"]:
        for m in ("input", "sgdl", "mgdl", "tv-rof", "bm3d"):
            if (name, "denoise", first, m) in by:
                facts[f"{name}-{m}"] = f"{by[name, 'denoise', first, m].psnr:.2f}"
    facts["butterfly-grades"] = ", ".join(f"{p:.2f}" for p in grade_psnrs(pairs["butterfly", "denoise", first][1]))
    facts["first-noise"] = f"{first:g}"
    facts["first-blur"] = f"{plan['blurs'][0]:g}"
    facts["drops"] = drops_text(sum(psnr_drops(s) for s, _ in pairs.values()),
                                sum(psnr_drops(m) for _, m in pairs.values()))
    facts["classical-beaten"] = restoration_claims(rows)[-1].split(":")[0]
    facts["n-cells"] = len(pairs)
    return facts


def classical_full_facts(rows) -> dict[str, object]:
    """The classical methods on the full-size images (committed, ``classical_full``): the
    deblurring iterations and the denoising tolerance, how many of the paper's network numbers
    each table's best classical method is above, and what was computed where."""
    facts: dict[str, object] = {"full-deblur-iterations": f"{classical_full.DEBLUR_TV_ITERATIONS:,}",
                                "full-denoise-tol": f"{classical_full.DENOISE_TV_TOL:g}"}
    for (table, method), (above, n) in classical_full.paper_counts(rows).items():
        facts[f"full-t{table}-{method}"] = f"{above} of {n}"
    if rows:
        doc = classical_full.read()
        facts["full-provenance"] = (f"{len(doc['cells'])} cells, "
                                    f"{sum(c['seconds'] for c in doc['cells'].values()) / 60:.0f} CPU min, "
                                    f"mgdl_core at {doc['git_sha'][:7]}, {doc['created'][:10]}")
    else:
        facts["full-provenance"] = "none yet"
    return facts



def _floats(values, digits: str) -> str:
    return ", ".join(f"{v:{digits}}" for v in values)


def rate_bound_facts(tracked: Mapping[tuple[int, str], object], paper: Mapping[tuple[int, str], object],
                     rates: Mapping[tuple[int, str], float], sgdl_sweep: list, sweep_plan: Mapping[str, object],
                     profile: str) -> dict[str, object]:
    """The theory page's Theorems 1–2 in numbers: the rooms of its checked lines, per tracked run
    (setting, method) its rate η, 2/η, epochs, the sharpness α̂ per grade (eq. (23)'s largest
    eigenvalue of H) and ηα̂; per committed paper-scale run α̂ per grade, after each grade's
    start, and the grades whose start was sharper ("–" for a run not committed); Setting 1's
    SGDL/MGDL α̂ ratios, SGDL's bound 2/α̂ against the largest rate its sweep (``sgdl_sweep``)
    trains without diverging, Setting 2's rate ratio and the sweep's scale."""
    facts: dict[str, object] = {"rate-room": f"{RATE_ROOM:g}", "ratio-room": f"{RATIO_ROOM:g}",
                                "edge-band": f"{EDGE_BAND:.0%}"}
    for (s, m), lr in rates.items():
        facts[f"s{s}-{m}-eta"] = f"{lr:g}"
        facts[f"s{s}-{m}-edge"] = f"{2 / lr:.1f}"
        facts[f"s{s}-{m}-epochs"] = f"{tracked[s, m].config.epochs:,}"
    alphas = {key: alpha_by_grade(run) for key, run in tracked.items()}
    for (s, m), a in alphas.items():
        facts[f"s{s}-{m}-alpha"] = _floats(a, ".1f")
        facts[f"s{s}-{m}-eta-alpha"] = _floats((rates[s, m] * v for v in a), ".2f")
    for (s, m) in rates:
        run = paper.get((s, m))
        by_grade, after = (alpha_by_grade(run), alpha_after_start(run)) if run else ([], [])
        facts[f"s{s}-{m}-paper-alpha"] = _floats(by_grade, ".1f") if run else NOT_YET
        facts[f"s{s}-{m}-paper-after"] = _floats(after, ".1f") if run else NOT_YET
        sharp = [str(g) for g, (a, b) in enumerate(zip(by_grade, after), 1) if a > b]
        facts[f"s{s}-{m}-start-grades"] = ", ".join(sharp) or "none"
    facts["s1-paper-ratio"] = (f"{alpha_by_grade(paper[1, 'sgdl'])[0] / alpha_by_grade(paper[1, 'mgdl'])[0]:.2f}"
                               if {(1, "sgdl"), (1, "mgdl")} <= paper.keys() else NOT_YET)
    sgdl_alpha = alphas[1, "sgdl"][0]
    facts["s1-sgdl-bound"] = f"{2 / sgdl_alpha:.3f}"
    facts["s1-ratio"] = _floats((sgdl_alpha / v for v in alphas[1, "mgdl"]), ".1f")
    largest_ok = max(r.config.lr for r in sgdl_sweep if r.outcome == "completed")
    facts["s1-sgdl-largest"] = f"{largest_ok:.3g}"
    facts["s1-sgdl-beyond"] = f"{largest_ok * sgdl_alpha / 2:.1f}"
    facts["s2-rate-ratio"] = f"{rates[2, 'mgdl'] / rates[2, 'sgdl']:g}"
    facts["sweep-scale"] = (f"{profile} profile: {sweep_plan['rates']} rates, {sweep_plan['sgdl_epochs']:,} epochs for "
                            f"SGDL and {sweep_plan['mgdl_epochs']:,} per grade for MGDL")
    return facts


def regression_plan_facts(configs: list, profile: str) -> dict[str, object]:
    """§4's image regression at this profile (``configs``: the page's runs, the first one's size
    and rate standing for all): the epochs of the paper's protocol, Adam's rate, SGDL (28)'s
    parameters, the Fourier features' reference side and count, and the scale in words."""
    example = configs[0]
    side = example.image_array().shape[0]
    epochs = f"{example.epochs:,}"
    reduced = example.downscale > 1
    return {
        "profile": profile,
        "s4-paper-epochs": f"{SECTION_PROFILES[4]['paper']['epochs']:,}",
        "s4-lr": f"{example.lr:g}",
        "sgdl-params": f"{parameter_count(sgdl_structure('(28)')):,}",
        "fourier-side": FOURIER_SIDE,
        "fourier-count": next(c.fourier_count for c in configs if c.encoding == "fourier"),
        "s4-scale": f"{profile} profile: " + (f"{side}×{side} pixels" if reduced else "full images")
                    + f", {epochs} epochs (per grade for MGDL)",
        "s4-size": (f"every image area-averaged to {side}×{side} pixels (a training grid of "
                    f"{(side // 2) ** 2:,} points) and {epochs} epochs") if reduced else
                   f"the full images and {epochs} epochs",
    }


def table1_facts(rows, runs: Mapping[tuple[str, str], object], images: list[str]) -> dict[str, object]:
    """Table 1 at this profile in words: the rooms of the checked lines, the paper's MGDL − SGDL
    TePSNR range, per image the TePSNR of SGDL, MGDL and bilinear interpolation, the held-out
    PSNRs and each network's loss spikes; Cameraman's Fourier-feature run (``runs`` keyed (image,
    method), "sgdl+fourier" for it; ``rows``: the page's :class:`PSNRRow` s)."""
    low, high = paper_gains()
    facts: dict[str, object] = {"psnr-room": f"{IMAGE_PSNR_ROOM:g}", "bilinear-margin": f"{BILINEAR_MARGIN:g}",
                                "paper-gains": f"{low:.2f} to {high:.2f}", "train-room": f"{TRAIN_ROOM:g}"}
    by = {(r.image, r.method): r for r in rows}
    for name in images:
        for m in ("sgdl", "mgdl", "bilinear"):
            facts[f"{name}-{m}-te"] = f"{by[name, m].test_all:.2f}"
        for m in ("bilinear", "mgdl", "sgdl"):
            facts[f"{name}-{m}-heldout"] = f"{by[name, m].test_heldout:.2f}"
        for m in ("sgdl", "mgdl"):
            facts[f"{name}-{m}-spikes"] = loss_spikes(runs[name, m])
    fourier = by["cameraman", "sgdl+fourier"]
    facts["cameraman-fourier-train"] = f"{fourier.train:.1f}"
    facts["cameraman-fourier-heldout"] = f"{fourier.test_heldout:.2f}"
    facts["fourier-scale"] = f"{runs['cameraman', 'sgdl+fourier'].config.fourier_scale:g}"
    return facts


def linearisation_facts(paths: Mapping[str, object], problems: Mapping[str, object],
                        plan: Mapping[str, object]) -> dict[str, object]:
    """The theory page's GD (6) beside its linearisation (7): each path's numbers
    (:func:`~mgdl_core.pages.theory_report.path_glue`, ``paths`` labelled "<problem>, η = …"), the
    steps, the share of the rate that shrinks, and the ReLU problem's size."""
    facts: dict[str, object] = {}
    for label, p in paths.items():
        facts.update(path_glue(label, p, problems[label.split(",")[0]].width))
    facts["linear-steps"] = f"{plan['linear_steps']:,}"
    facts["shrunk-share"] = f"{SHRUNK:.0%}"
    problem = problems["relu"]
    for key, value in (("n", problem.n), ("width", problem.width), ("beta", f"{problem.beta:g}"),
                       ("params", problem.start.size)):
        facts[f"lin-{key}"] = value
    return facts


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def convex_facts(convex, gd, plan: Mapping[str, object]) -> dict[str, object]:
    """Appendix A's MGDL with convex grades beside GD grades: per fit the loss after each grade,
    each grade's neurons and objective, the later grades' input widths, the activation patterns
    per convex grade, the plan's sizes and the support cut (as a power of ten)."""
    facts: dict[str, object] = {}
    for name, fit in (("convex", convex), ("gd", gd)):
        facts[f"{name}-losses"] = ", ".join(f"{v:.2g}" for v in fit.losses)
        facts[f"{name}-neurons"] = ", ".join(str(g.neurons) for g in fit.grades)
        facts[f"{name}-objectives"] = ", ".join(f"{g.objective:.3g}" for g in fit.grades)
    facts["convex-later-d"] = " and ".join(str(g.neurons + 1) for g in convex.grades[:-1])
    facts["convex-patterns"] = ", ".join(str(g.patterns) for g in convex.grades)
    facts["convex-first"] = f"{convex.grades[0].objective:.3f}"
    facts["gd-first"] = f"{gd.grades[0].objective:.3f}"
    for key in ("points", "grades", "beta", "width", "gd_lr", "samples"):
        facts[f"cvx-{key}"] = f"{plan[key]:g}"
    facts["cvx-gd-steps"] = f"{plan['gd_steps']:,}"
    facts["cvx-cut"] = "10" + f"{np.log10(SUPPORT_CUT):.0f}".translate(_SUPERSCRIPT)
    return facts
