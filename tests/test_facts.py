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
