"""The facts pages glue (mgdl_core.pages.facts) against hand computation on hand-made runs: names,
order, digits, and the "–" of a run not computed yet."""
from __future__ import annotations

import math
from types import MappingProxyType, SimpleNamespace

import numpy as np
import torch

from mgdl_core.pages import facts
from mgdl_core.pages.facts import (NOT_YET, draw_facts, glue_facts, image_spectra_facts, msdl_run_facts, plan_facts,
                                   tracked_run_facts)
from mgdl_core.tasks.fit import RunSummary
from mgdl_core.tasks.synthetic import SyntheticRun


def _tracked(lr=0.08, loss=2.345e-3):
    # three checkpoints: 0, 1 and 2 eigenvalues below -1; the lowest -1.25 at epoch 200
    smallest = np.array([[-0.9, 0.5], [-1.1, 0.2], [-1.25, -1.01]])
    history = {"eig_epoch": np.array([0, 100, 200]), "eig_smallest": smallest,
               "eig_largest": np.ones((3, 2)), "lambda_max": np.array([10.0, 26.25, 28.125])}
    return RunSummary(SyntheticRun(method="sgdl", lr=lr), "completed", None, loss, loss, loss, 200, 1.0, history)


def test_glue_facts_glues_every_fact_in_order_and_displays_nothing(monkeypatch):
    import myst_nb

    seen = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: seen.append((name, value, display)))
    glue_facts({"b": 1, "a": "x", "c": 2.5})
    assert seen == [("b", 1, False), ("a", "x", False), ("c", 2.5, False)]


def test_plan_facts_write_integers_with_separators_and_leave_the_rest():
    plan = MappingProxyType(dict(sgdl_epochs=1_000_000, every=500, early_stopping=True, images=("a", "b"), rate=0.5))
    assert plan_facts(plan) == dict(sgdl_epochs="1,000,000", every="500", early_stopping=True, images=("a", "b"),
                                    rate=0.5)


def test_tracked_run_facts_are_the_hand_counts():
    got = tracked_run_facts(_tracked(), "s1-sgdl")
    assert list(got) == [f"s1-sgdl-{k}" for k in ("max-below", "first-below", "min-eig", "loss", "lmax", "eos",
                                                  "n-below", "eta")]
    assert got["s1-sgdl-max-below"] == 2
    assert got["s1-sgdl-min-eig"] == "-1.25"
    assert got["s1-sgdl-loss"] == "2.3e-03"
    assert got["s1-sgdl-lmax"] == "28.1"  # 28.125 to one decimal (round half to even)
    assert got["s1-sgdl-eos"] == "25.0"  # 2 / 0.08
    assert got["s1-sgdl-n-below"] == "2 of its 3"
    assert got["s1-sgdl-eta"] == "0.08"
    assert "100" in got["s1-sgdl-first-below"]  # the first checkpoint below -1


def test_msdl_run_facts_split_the_initialisation_from_the_training():
    got = msdl_run_facts(_tracked(), "s1-msdl")
    assert got == {"s1-msdl-checkpoints-below": "2 of 3", "s1-msdl-min-eig": "-1.25", "s1-msdl-loss": "2.3e-03",
                   "s1-msdl-start-min": "-0.90", "s1-msdl-later-min": "-1.25"}


def test_image_spectra_facts_give_psnr_from_the_test_loss():
    run = _tracked(loss=1e-3)
    got = image_spectra_facts(run, "img-sgdl")
    # eq. (34) on [0, 1] intensities; the loss (1) is half the mean squared error
    assert got["img-sgdl-psnr"] == f"{-10 * math.log10(2 * 1e-3):.2f} dB" == "26.99 dB"
    assert got["img-sgdl-n-below"] == "2 of 3" and got["img-sgdl-min-eig"] == "-1.250"
    assert got["img-sgdl-epochs"] == "200"


def test_draw_facts_count_the_draws_at_or_above_the_level_and_mark_missing_ones():
    res = lambda loss: SimpleNamespace(run=SimpleNamespace(train_loss=loss))  # noqa: E731
    draws = {(1, "sgdl"): {"seed0": res(0.02), "seed1": res(0.005)}, (1, "mgdl"): {},
             (2, "mgdl"): {"seed0": res(0.01), "seed1": res(0.04), "seed2": res(0.02)}}
    got = draw_facts(draws, {1: 0.01, 2: 0.02})
    assert got["draws-s1-sgdl-n"] == 2 and got["draws-s1-sgdl-range"] == "0.005 to 0.02"
    assert got["draws-s1-sgdl-factor"] == "4.0" and got["draws-s1-sgdl-above"] == 1
    assert got["draws-s1-mgdl-range"] == NOT_YET and got["draws-s1-mgdl-factor"] == NOT_YET
    assert got["draws-s2-mgdl-above"] == 2  # 0.04 and 0.02 (at the level counts)
    assert got["draw-levels"] == "0.01 in Setting 1, 0.02 in Setting 2"
    assert got["draws-sgdl"] == "SGDL's 2 draws in Setting 1 end at 0.005 to 0.02"
    draws[1, "sgdl"] = {"seed0": res(0.02)}
    assert "not computed yet" in draw_facts(draws, {1: 0.01, 2: 0.02})["draws-sgdl"]


def test_full_size_facts_say_dash_without_a_spectrum_after_the_initialisation(monkeypatch):
    h = {"eig_epoch": np.array([0]), "eig_seconds": np.array([30.0]), "eig_hvps": np.array([121]),
         "lambda_max": np.array([12.34])}
    config = SimpleNamespace(lr=0.01, dataset=lambda: SimpleNamespace(train=SimpleNamespace(x=np.zeros((4096, 2)))))
    run = SimpleNamespace(history=h, config=config, params=[torch.zeros(1000)], test_loss=1e-2)
    got = facts.full_size_facts(run)
    assert got["full-lmax"] == NOT_YET and got["full-lmax-start"] == "12.3"
    assert got["full-pixels"] == "4,096" and got["full-params"] == "1,000" and got["full-hvps"] == "121"
    assert got["full-seconds"] == "about a minute" and got["full-eos"] == "200"
    assert got["full-dense"] == "1e+06 entries, 0 GB in float64"
    h["eig_epoch"], h["lambda_max"] = np.array([0, 300]), np.array([12.34, 40.06])
    h["eig_seconds"] = np.array([400.0, 500.0])
    got = facts.full_size_facts(run)
    assert got["full-lmax"] == "40.1" and got["full-seconds"] == "about 8 minutes"


def _run(lr, loss, method="sgdl", seed=42):
    diverged = loss is None
    value = math.nan if diverged else loss
    return RunSummary(SyntheticRun(method=method, lr=lr, seed=seed), "diverged" if diverged else "completed",
                      5 if diverged else None, value, value, value, 10, 1.0, {})


def test_sweep_facts_name_each_interval_and_count_the_empty_ones():
    from mgdl_core.pages import PAPER_SWEEP
    from mgdl_core.pages.facts import sweep_facts

    sgdl = [_run(0.01, 5e-3), _run(0.02, 8e-4), _run(0.05, 2e-4), _run(0.1, None)]
    mgdl = [_run(0.01, 5e-3, "mgdl"), _run(0.02, 4e-3, "mgdl")]
    got = sweep_facts({(1, "sgdl"): sgdl, (1, "mgdl"): mgdl}, {1: 1e-3, 2: 0.02})
    assert got["s1-sgdl-interval"] == "[0.02, 0.05]" and got["s1-mgdl-interval"] == "none of the rates"
    assert got["s1-sgdl-diverged"] == "η ≥ 0.1" and got["s1-sgdl-paper"] == PAPER_SWEEP[1, "sgdl"].words
    assert got["levels"] == "0.001 for Setting 1, 0.02 for Setting 2"
    assert got["n-empty"] == "1 of the 2 intervals are empty"
    assert sweep_facts({(1, "sgdl"): sgdl}, {1: 1e-3, 2: 0.02})["n-empty"] == "no interval is empty"


def test_seed_facts_per_method_and_rate_in_the_pages_order():
    from mgdl_core.pages.facts import seed_facts

    by_seed = {("sgdl", 0.0349): [_run(0.0349, 1e-3, seed=s) for s in (42, 43)] + [_run(0.0349, None, seed=44)],
               ("mgdl", 0.0349): [_run(0.0349, 2e-3, "mgdl", s) for s in (42, 43, 44)]}
    got = seed_facts(by_seed, [0.0349], 3)
    assert list(got) == ["n-seeds", "seed-sgdl-0", "seed-sgdl-0-diverged", "seed-sgdl-0-spread", "seed-mgdl-0",
                         "seed-mgdl-0-diverged", "seed-mgdl-0-spread", "seed-lr-0"]
    assert got["n-seeds"] == 3 and got["seed-lr-0"] == "0.0349"
    assert got["seed-sgdl-0-diverged"] == 1 and got["seed-mgdl-0-diverged"] == 0


def test_classical_full_facts_count_the_committed_cells_or_say_none_yet():
    from mgdl_core.pages import classical_full
    from mgdl_core.pages.facts import classical_full_facts

    none = classical_full_facts([])
    assert none["full-provenance"] == "none yet"
    assert none["full-deblur-iterations"] == f"{classical_full.DEBLUR_TV_ITERATIONS:,}"
    rows = classical_full.read_rows()  # committed, verified when read
    got = classical_full_facts(rows)
    counts = classical_full.paper_counts(rows)
    assert {k: v for k, v in got.items() if k.startswith("full-t")} == {
        f"full-t{t}-{m}": f"{above} of {n}" for (t, m), (above, n) in counts.items()}
    doc = classical_full.read()
    assert got["full-provenance"].startswith(f"{len(doc['cells'])} cells, ")
    assert len({(r.image, r.problem, r.level) for r in rows}) == len(doc["cells"])


def _spectra(norms, grades=None, lr=0.1, epochs=1000):
    h = {"hessian_norm": np.array(norms, dtype=float), "eig_epoch": np.arange(len(norms)) * 100}
    if grades is not None:
        h["eig_grade"] = np.array(grades)
    return SimpleNamespace(history=h, config=SimpleNamespace(lr=lr, epochs=epochs))


def test_rate_bound_facts_are_the_hand_computed_sharpness_and_bounds():
    from mgdl_core.pages.facts import rate_bound_facts

    rates = {(1, "sgdl"): 0.08, (1, "mgdl"): 0.06, (2, "sgdl"): 0.005, (2, "mgdl"): 0.2}
    tracked = {(1, "sgdl"): _spectra([10, 30, 25], epochs=2000),       # α̂ = 30
               (1, "mgdl"): _spectra([20, 15, 12, 10], [1, 1, 2, 2]),  # α̂_l = 20, 12
               (2, "sgdl"): _spectra([100, 300]), (2, "mgdl"): _spectra([4, 5], [1, 1])}
    # committed paper-scale MGDL only: grade 1 is sharpest at its start (40 > 33), grade 2 is not
    paper = {(1, "mgdl"): _spectra([40, 33, 20, 31], [1, 1, 2, 2])}
    sweep = [SimpleNamespace(config=SimpleNamespace(lr=lr), outcome=o)
             for lr, o in ((0.1, "completed"), (0.2, "completed"), (0.3, "diverged"))]
    got = rate_bound_facts(tracked, paper, rates, sweep, {"rates": 30, "sgdl_epochs": 1000, "mgdl_epochs": 500},
                           "quick")
    assert list(got)[:6] == ["rate-room", "ratio-room", "edge-band", "s1-sgdl-eta", "s1-sgdl-edge", "s1-sgdl-epochs"]
    assert got["s1-sgdl-edge"] == "25.0" and got["s1-sgdl-epochs"] == "2,000"
    assert got["s1-sgdl-alpha"] == "30.0" and got["s1-sgdl-eta-alpha"] == "2.40"
    assert got["s1-mgdl-alpha"] == "20.0, 12.0" and got["s1-mgdl-eta-alpha"] == "1.20, 0.72"
    assert got["s1-mgdl-paper-alpha"] == "40.0, 31.0" and got["s1-mgdl-paper-after"] == "33.0, 31.0"
    assert got["s1-mgdl-start-grades"] == "1"
    assert got["s1-sgdl-paper-alpha"] == got["s1-sgdl-paper-after"] == NOT_YET
    assert got["s1-sgdl-start-grades"] == "none" and got["s1-paper-ratio"] == NOT_YET
    assert got["s1-sgdl-bound"] == "0.067" and got["s1-ratio"] == "1.5, 2.5"
    assert got["s1-sgdl-largest"] == "0.2" and got["s1-sgdl-beyond"] == "3.0"  # 0.2 · 30 / 2
    assert got["s2-rate-ratio"] == "40"
    assert got["sweep-scale"] == "quick profile: 30 rates, 1,000 epochs for SGDL and 500 per grade for MGDL"
    paper[1, "sgdl"] = _spectra([60, 50])
    assert rate_bound_facts(tracked, paper, rates, sweep, {"rates": 1, "sgdl_epochs": 1, "mgdl_epochs": 1},
                            "paper")["s1-paper-ratio"] == "1.50"  # 60 / 40


def test_table1_facts_per_image_and_the_spikes_of_the_loss_curves():
    from mgdl_core.pages.facts import table1_facts
    from mgdl_core.pages.image_report import PSNRRow, paper_gains

    rows = [PSNRRow("cameraman", m, tr, te, ho) for m, tr, te, ho in
            (("sgdl", 30.04, 25.125, 24.5), ("mgdl", 32.0, 27.0, 26.0), ("bilinear", math.inf, 26.0, 25.0),
             ("sgdl+fourier", 41.26, 20.0, 19.0))]
    spiky = {"train_loss": np.array([1, 0.5, 1.2, 0.4, 0.9])}  # rises above 2 × the lowest so far: 1.2, 0.9
    graded = {"train_loss": np.array([1, 3, 1, 3]), "grade": np.array([1, 1, 2, 2])}  # one per grade
    runs = {("cameraman", "sgdl"): SimpleNamespace(history=spiky), ("cameraman", "mgdl"): SimpleNamespace(history=graded),
            ("cameraman", "sgdl+fourier"): SimpleNamespace(config=SimpleNamespace(fourier_scale=1.0))}
    got = table1_facts(rows, runs, ["cameraman"])
    low, high = paper_gains()
    assert got["paper-gains"] == f"{low:.2f} to {high:.2f}" and low <= high
    assert got["cameraman-sgdl-te"] == "25.12" and got["cameraman-bilinear-heldout"] == "25.00"
    assert got["cameraman-sgdl-spikes"] == 2 and got["cameraman-mgdl-spikes"] == 2
    assert got["cameraman-fourier-train"] == "41.3" and got["cameraman-fourier-heldout"] == "19.00"
    assert list(got)[-1] == "fourier-scale" and got["fourier-scale"] == "1"


def test_regression_plan_facts_say_the_size_a_page_trains_at(tmp_path):
    from PIL import Image

    from mgdl_core.pages.facts import regression_plan_facts
    from mgdl_core.tasks.image_regression import ImageRegressionRun

    path = tmp_path / "own.png"
    Image.fromarray((np.random.default_rng(0).random((256, 256)) * 255).astype("uint8")).save(path)
    configs = [ImageRegressionRun.profile("quick", section=4, image=str(path), method="sgdl"),
               ImageRegressionRun.profile("quick", section=4, image=str(path), method="sgdl", encoding="fourier")]
    got = regression_plan_facts(configs, "quick")
    side = configs[0].image_array().shape[0]
    assert side < 256 and got["s4-scale"] == f"quick profile: {side}×{side} pixels, {configs[0].epochs:,} epochs (per grade for MGDL)"
    assert f"a training grid of {(side // 2) ** 2:,} points" in got["s4-size"]
    assert got["fourier-count"] == configs[1].fourier_count and got["s4-lr"] == f"{configs[0].lr:g}"
    full = [ImageRegressionRun.profile("quick", section=4, image=str(path), method="sgdl", downscale=1)] + configs[1:]
    assert regression_plan_facts(full, "quick")["s4-size"] == f"the full images and {full[0].epochs:,} epochs"


def test_restoration_facts_from_hand_made_rows_and_pairs():
    from mgdl_core.pages.facts import restoration_facts
    from mgdl_core.pages.restoration_report import PSNR_ROOM, RestorationRow

    rows = [RestorationRow("butterfly", "denoise", 10.0, "input", 28.13),
            RestorationRow("butterfly", "denoise", 10.0, "sgdl", 29.0, energy=2.0, minimum=1.9, minimum_psnr=28.0),
            RestorationRow("butterfly", "denoise", 10.0, "mgdl", 30.5, energy=2.0, minimum=1.9, minimum_psnr=31.0),
            RestorationRow("butterfly", "denoise", 10.0, "tv-rof", 31.0, energy=1.9)]
    # PSNR per record: SGDL falls twice by more than 1 dB below its best; MGDL once (29.5 → 28.0 in grade 1; a
    # grade's start is no fall), its grades end at 28.0 and 31.0
    sgdl = SimpleNamespace(history={"psnr": np.array([20.0, 25.0, 23.0, 26.0, 24.5, 29.0])})
    mgdl = SimpleNamespace(history={"psnr": np.array([20.0, 29.5, 28.0, 25.0, 31.0]),
                                    "psnr_grade": np.array([1, 1, 1, 2, 2])})
    pairs = {("butterfly", "denoise", 10.0): (sgdl, mgdl)}
    configs = [SimpleNamespace(method="sgdl", problem="denoise", lam=0.02, beta=0.1),
               SimpleNamespace(method="mgdl", problem="denoise", lam=0.03, beta=0.1)]
    got = restoration_facts(rows, pairs, configs, {"noises": (10.0, 20.0), "blurs": (3.0,), "images": ("butterfly",)})
    assert got["psnr-room"] == f"{PSNR_ROOM:g}"
    assert got["sgdl-denoise-ratio"] == "0.2" and got["mgdl-denoise-lam"] == "0.03"
    assert got["n-nets"] == 2 and got["n-better"] == 1  # SGDL above its minimiser's PSNR, MGDL below
    assert got["butterfly-input"] == "28.13" and got["butterfly-tv-rof"] == "31.00" and "butterfly-bm3d" not in got
    assert got["butterfly-grades"] == "28.00, 31.00"
    assert got["first-noise"] == "10" and got["first-blur"] == "3" and got["n-cells"] == 1
    assert got["drops"].startswith("SGDL's PSNR fell more than 1 dB below its best so far 2 times, MGDL's 1 times")


def test_convex_facts_per_fit_and_grade_with_the_cut_as_a_power_of_ten():
    from mgdl_core.pages.facts import convex_facts
    from mgdl_core.theory.convex import SUPPORT_CUT

    grade = lambda n, obj, pat=0: SimpleNamespace(neurons=n, objective=obj, patterns=pat)  # noqa: E731
    convex = SimpleNamespace(losses=[0.0123, 0.00456], grades=[grade(7, 0.012345, 31), grade(3, 0.0045, 12)])
    gd = SimpleNamespace(losses=[0.02, 0.01], grades=[grade(32, 0.0201), grade(32, 0.0102)])
    plan = dict(points=32, grades=2, beta=0.05, width=32, gd_lr=0.005, samples=300, gd_steps=4_000)
    got = convex_facts(convex, gd, plan)
    assert got["convex-losses"] == "0.012, 0.0046" and got["gd-neurons"] == "32, 32"
    assert got["convex-objectives"] == "0.0123, 0.0045" and got["convex-first"] == "0.012"
    assert got["convex-later-d"] == "8" and got["convex-patterns"] == "31, 12"  # a grade's neurons + a bias
    assert got["cvx-beta"] == "0.05" and got["cvx-gd-steps"] == "4,000"
    assert SUPPORT_CUT == 1e-4 and got["cvx-cut"] == "10⁻⁴"


def test_linearisation_facts_merge_each_paths_numbers_with_the_sizes(monkeypatch):
    from mgdl_core.pages import facts as f

    monkeypatch.setattr(f, "path_glue", lambda label, p, width: {f"{label}-w": width, f"{label}-p": p})
    problems = {"relu": SimpleNamespace(n=16, width=4, beta=0.05, start=np.zeros(24)),
                "smooth": SimpleNamespace(width=6)}
    got = f.linearisation_facts({"relu, η = 0.1": "a", "smooth, η = 0.2": "b"}, problems, {"linear_steps": 5_000})
    assert list(got)[:4] == ["relu, η = 0.1-w", "relu, η = 0.1-p", "smooth, η = 0.2-w", "smooth, η = 0.2-p"]
    assert got["smooth, η = 0.2-w"] == 6 and got["linear-steps"] == "5,000"
    assert (got["lin-n"], got["lin-width"], got["lin-beta"], got["lin-params"]) == (16, 4, "0.05", 24)
