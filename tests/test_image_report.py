"""The §4 regression page's full-size rows and the paper's gains (mgdl_core.pages.image_report)."""
import numpy as np

from mgdl_core.tasks.baselines import interpolate_training_grid
from mgdl_core.tasks.grids import psnr
from mgdl_core.pages.image_report import (PSNRRow, full_size_claims, full_size_rows, full_size_text, paper_gains)
from mgdl_core.pages.paper_numbers import PAPER_TABLE1


def test_paper_gains_are_the_extremes_of_mgdl_minus_sgdl_tepsnr():
    gains = [PAPER_TABLE1[name]["mgdl"][1] - PAPER_TABLE1[name]["sgdl"][1] for name in PAPER_TABLE1]
    assert paper_gains() == (min(gains), max(gains))
    assert paper_gains({"a": {"sgdl": (0, 20.0), "mgdl": (0, 21.5)}, "b": {"sgdl": (0, 30.0), "mgdl": (0, 29.0)}}) == (-1.0, 1.5)


def test_full_size_rows_are_the_interpolations_psnr_on_every_and_held_out_pixel():
    rng = np.random.default_rng(0)
    image = rng.random((16, 12))
    rows = full_size_rows({"cameraman": image})
    assert [r.method for r in rows] == ["bilinear", "bicubic"]
    for r in rows:  # brute force: interpolate, then PSNR over every pixel and over the odd ones
        pred = interpolate_training_grid(image, r.method)
        held = np.ones(image.shape, bool)
        held[::2, ::2] = False
        assert np.isclose(r.test_all, psnr(pred, image)) and np.isclose(r.test_heldout, psnr(pred[held], image[held]))
    text = full_size_text(rows, {"cameraman": image.shape})
    assert "cameraman, 16x12:" in text and "paper SGDL" in text and f"{PAPER_TABLE1['cameraman']['mgdl'][1]:7.2f}" in text
    assert "\u0302" not in text


def test_full_size_claims_call_bilinear_against_the_papers_tepsnr_with_room():
    sgdl, mgdl = PAPER_TABLE1["cameraman"]["sgdl"][1], PAPER_TABLE1["cameraman"]["mgdl"][1]
    row = lambda te: PSNRRow("cameraman", "bilinear", np.inf, te, te - 1)
    assert full_size_claims([row(mgdl + 0.5)]) == ["yes: cameraman, bilinear above the paper's MGDL (TePSNR)",
                                                   "yes: cameraman, bilinear above the paper's SGDL (TePSNR)"]
    lines = full_size_claims([row(mgdl + 0.001)])
    assert lines[0].startswith("too close to call") and lines[1].startswith("yes")
    assert full_size_claims([row(sgdl - 1)])[1].startswith("no")
    # only bilinear rows of images the paper has are claimed
    assert full_size_claims([PSNRRow("cameraman", "bicubic", np.inf, 99, 99), PSNRRow("mine", "bilinear", 1, 1, 1)]) == []
