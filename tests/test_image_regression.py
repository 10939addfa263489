"""Image regression runs (§4–§6): the sections' protocols, the user's own file, Fourier features,
Fig. 5's snapshots, and the §4 page's table and claims, against direct computation."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mgdl_core.errors import ConfigError
from mgdl_core.runs.recorded import load_record, run_recorded
from mgdl_core.tasks.grids import psnr, regression_dataset
from mgdl_core.tasks.image_regression import SECTION_PROFILES, ImageRegressionRun, PredictionSnapshots
from mgdl_core.pages.image_report import PSNRRow, loss_spikes, network_row, snapshots, table1_claims, table1_text
from mgdl_core.runs.records import record_dir

TINY = dict(structure="[2]->[8]x2->[1]", dtype="float64")
EPS, EPS32 = np.finfo(np.float64).eps, np.finfo(np.float32).eps
DB = 10 / math.log(10)  # dB a PSNR moves per unit relative change of its MSE


def _psnr_room(n: int, db: float) -> float:
    """How far two evaluations of one PSNR of ``db`` dB over ``n`` pixels (0–1 scale) may differ: the
    n-term means of squares round within n·eps relative, pixels rounded within 2·eps move the MSE by
    at most 4·eps/RMS relative."""
    return DB * (n + 4 / 10 ** (-db / 20)) * EPS


@pytest.fixture(autouse=True)
def _images(paper_images, monkeypatch):
    monkeypatch.setenv("MGDL_DATA_DIR", str(paper_images))


def test_section_profiles_are_the_authors_protocols():
    s4 = ImageRegressionRun.profile("paper", section=4, image="cameraman", method="mgdl")
    assert (s4.optimizer, s4.lr, s4.init, s4.epochs, s4.record_every, s4.rel_error) == ("adam", 1e-3, "glorot", 10_000, 10, 1e-4)
    assert s4.early_stopping and s4.downscale == 1 and s4.snapshot_epochs == (9800, 9850, 9900, 9950)
    assert s4.train_config().optimizer == "adam" and s4.default_structure() == "(32)"
    s5 = ImageRegressionRun.profile("paper", section=5, image="pirate", method="sgdl", lr=0.1)
    assert (s5.optimizer, s5.epochs, s5.rel_error, s5.default_structure()) == ("gd", 100_000, 1e-6, "(28)")
    s6 = ImageRegressionRun.profile("paper", section=6, image="barbara", method="mgdl", lr=0.2)
    assert (s6.init, s6.rel_error, s6.default_structure()) == ("he-jax", 1e-5, "(31)")
    # quick: every §4 image downscaled to at most 64 pixels a side
    for name, factor in (("cameraman", 4), ("barbara", 8), ("pirate", 16)):
        q = ImageRegressionRun.profile("quick", section=4, image=name)
        assert q.downscale == factor and q.image_array().shape == (64, 64)
        assert q.epochs == SECTION_PROFILES[4]["quick"]["epochs"]


def test_downscaled_image_is_the_block_mean():
    run = ImageRegressionRun(image="cameraman", section=4, downscale=4, **TINY)
    full = ImageRegressionRun(image="cameraman", section=4, **TINY).image_array()
    # a mean of 16 nonnegative pixels: any summation order is within 16·eps relative
    assert run.image_array()[3, 5] == pytest.approx(full[12:16, 20:24].mean(), rel=16 * EPS, abs=0)


def test_users_colour_non_square_file(tmp_path):
    from PIL import Image

    path = tmp_path / "photo.png"
    rgb = (np.random.default_rng(1).random((20, 30, 3)) * 255).astype("uint8")
    Image.fromarray(rgb).save(path)
    with pytest.warns(UserWarning, match="greyscale"):
        run = ImageRegressionRun(image=str(path), section=4, method="sgdl", epochs=10, **TINY)
        data = run.dataset()
    assert run.image_sha256 is not None and len(run.image_sha256) == 64
    assert data.train.x.shape == (10 * 15, 2) and data.test.x.shape == (600, 2)
    Image.fromarray(rgb[::-1]).save(path)  # the file changed: the configuration still reads (a record
    rebuilt = ImageRegressionRun(image=str(path), section=4, image_sha256=run.image_sha256, **TINY)
    with pytest.raises(ConfigError, match="changed since this configuration was made"):  # never trains on it
        rebuilt.dataset()
    with pytest.raises(ConfigError, match="changed since this configuration was made"):  # nor does the first
        run.dataset()


def test_fourier_features_feed_the_network():
    run = ImageRegressionRun(image="cameraman", section=4, encoding="fourier", fourier_count=16, downscale=8,
                             method="sgdl", dtype="float64")
    assert run.inputs == 32 and run.default_structure().startswith("[32]->[128]")
    data = run.dataset()
    plain = regression_dataset(run.image_array(), dtype=torch.float64)
    from mgdl_core.tasks.baselines import fourier_features, fourier_frequencies

    expect = fourier_features(plain.train.x, fourier_frequencies(16, run.fourier_scale, run.seed))
    # the same function on the same coordinates and frequencies: bitwise
    assert torch.equal(data.train.x, expect) and torch.equal(data.train.y, plain.train.y)
    mgdl = run.replace(method="mgdl")
    assert mgdl.default_structure().split(";")[0].startswith("[32]->")


def test_snapshots_keep_the_models_error_at_the_asked_epochs(tmp_path):
    for method, structure in (("sgdl", "[2]->[8]x2->[1]"), ("mgdl", "[2]->[8]->[1];[8]->[8]->[1]")):
        cfg = ImageRegressionRun(image="cameraman", section=4, method=method, lr=1e-2, optimizer="adam", epochs=30,
                                 record_every=10, downscale=8, structure=structure, dtype="float64",
                                 snapshot_epochs=(20, 30))
        r = run_recorded(cfg, tmp_path)
        snaps = snapshots(r)
        assert [e for e, _, _ in snaps] == [20, 30]  # for MGDL: epochs within its last grade
        # the last snapshot is the final model: its image and PSNR are the run's
        image = cfg.image_array()
        # the snapshot keeps the error in float32: within half a float32 ulp of |error| (and the float64
        # roundings of error + image, far below that)
        error = r.test_pred - image.reshape(-1)
        np.testing.assert_allclose(snaps[-1][1].reshape(-1), r.test_pred, rtol=0, atol=EPS32 * np.abs(error).max())
        # squares of float32-rounded errors: the MSE within eps32 relative (plus the n-term sums' n·eps)
        assert snaps[-1][2] == pytest.approx(psnr(r.test_pred, image), abs=DB * (EPS32 + error.size * EPS))
        again = load_record(record_dir(tmp_path, cfg.kind, cfg))
        assert np.array_equal(again.history["snap_error"], r.history["snap_error"])


def test_network_row_psnrs_against_direct_computation():
    cfg = ImageRegressionRun(image="cameraman", section=4, method="sgdl", epochs=20, downscale=8, **TINY)
    r = cfg.run()
    image = cfg.image_array()
    row = network_row(r, image)
    pred = r.test_pred.reshape(image.shape)
    held = np.ones(image.shape, bool)
    held[::2, ::2] = False
    # test_all and train come from the run's ½·MSE losses: the same pixels, summed in another order
    assert row.test_all == pytest.approx(psnr(pred, image), abs=_psnr_room(image.size, row.test_all))
    assert row.test_heldout == psnr(pred[held], image[held])  # the same psnr of the same pixels: bitwise
    train = psnr(pred[::2, ::2], image[::2, ::2])
    assert row.train == pytest.approx(train, abs=_psnr_room(image[::2, ::2].size, row.train))


def test_table1_claims_answer_only_beyond_the_room():
    rows = [PSNRRow("cameraman", "sgdl", 27.0, 24.0, 23.0), PSNRRow("cameraman", "mgdl", 31.0, 24.3, 23.1),
            PSNRRow("cameraman", "bilinear", math.inf, 25.0, 24.0),
            PSNRRow("barbara", "sgdl", math.nan, math.nan, math.nan), PSNRRow("barbara", "mgdl", 24.0, 23.0, 22.0)]
    lines = table1_claims(rows, train_room=2.0, room=0.5)
    assert lines[:4] == ["cameraman:", "  yes: MGDL above SGDL, TrPSNR", "  too close to call: MGDL above SGDL, TePSNR",
                         "  no: a network 1 dB above bilinear, held-out ¾"]
    assert lines[4:7] == ["barbara:", "  yes (SGDL diverged): MGDL above SGDL, TrPSNR",
                          "  yes (SGDL diverged): MGDL above SGDL, TePSNR"]
    text = table1_text(rows)
    assert "27.05/24.79" in text and max(len(line) for line in text.splitlines()) <= 60


def test_loss_spikes_counts_rises_above_twice_the_lowest_within_a_grade():
    class Run:
        history = {"train_loss": np.array([1.0, 0.5, 1.2, 0.4, 0.3, 2.0, 1.0, 0.1]),
                   "grade": np.array([1, 1, 1, 1, 2, 2, 2, 2])}
    # grade 1: 1.2 > 2·0.5; grade 2 restarts its minimum at 0.3: 2.0 > 0.6 and 1.0 > 0.6
    assert loss_spikes(Run()) == 3
    Run.history = {"train_loss": np.array([1.0, 0.9, 0.8])}
    assert loss_spikes(Run()) == 0


def test_prediction_snapshots_skip_other_grades():
    cb = PredictionSnapshots((50, 100), grade=4)
    assert cb.every == 50


def test_mgdl_below_sgdl_with_room_and_divergence():
    from mgdl_core.pages.image_report import mgdl_below_sgdl

    assert mgdl_below_sgdl(0.02, 0.009) == "yes"
    assert mgdl_below_sgdl(0.02, 0.016).startswith("too close")
    assert mgdl_below_sgdl(0.01, 0.03) == "no"
    assert mgdl_below_sgdl(math.nan, 0.03) == "yes (SGDL diverged)"
    assert mgdl_below_sgdl(0.01, math.nan) == "no (MGDL diverged)"
