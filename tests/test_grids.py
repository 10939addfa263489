"""Images as regression data: the grid, the splits, the §6 subsets and PSNR against direct formulas."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mgdl_core.tasks.image_regression import ImageRegressionRun
from mgdl_core.tasks.grids import eigen_subset, pixel_grid, psnr, psnr_from_loss, regression_dataset, section_image

EPS = np.finfo(np.float64).eps


def test_pixel_grid_follows_the_authors_convention():
    g = pixel_grid(4, 8)
    assert g.shape == (4, 8, 2)
    # feature 0 walks along a row (the column coordinate), feature 1 down a column
    assert g[0, :, 0].tolist() == [j / 8 for j in range(8)]
    assert g[:, 0, 1].tolist() == [i / 4 for i in range(4)]
    assert (g[..., 0] == g[0, :, 0]).all() and (g[..., 1] == g[:, :1, 1]).all()
    with pytest.raises(ValueError):
        pixel_grid(0, 3)


def test_regression_split_is_even_odd_and_all_pixels():
    img = np.arange(36, dtype=np.float64).reshape(6, 6) / 35
    ds = regression_dataset(img, dtype=torch.float64)
    assert ds.train.x.shape == (9, 2) and ds.val.x.shape == (9, 2) and ds.test.x.shape == (36, 2)
    # the training pixel in row i, column j has coordinates (j/6, i/6) and value img[i, j]
    for (cx, cy), v in zip(ds.train.x.tolist(), ds.train.y[:, 0].tolist()):
        i, j = round(cy * 6), round(cx * 6)
        assert i % 2 == 0 and j % 2 == 0 and v == img[i, j]
    for (cx, cy), v in zip(ds.val.x.tolist(), ds.val.y[:, 0].tolist()):
        i, j = round(cy * 6), round(cx * 6)
        assert i % 2 == 1 and j % 2 == 1 and v == img[i, j]
    assert torch.equal(ds.test.y[:, 0], torch.as_tensor(img.reshape(-1)))


def test_bad_images_are_clear_errors():
    with pytest.raises(ValueError, match="greyscale"):
        regression_dataset(np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        regression_dataset(np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="too small"):
        regression_dataset(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="§6 uses"):
        eigen_subset("pirate", np.zeros((8, 8)))


def test_psnr_equals_eq_34_on_the_8_bit_scale():
    rng = np.random.default_rng(0)
    v = rng.integers(0, 256, size=(16, 16)).astype(np.float64)
    v_hat = np.clip(v + rng.normal(0, 7, size=v.shape), 0, 255)
    eq34 = 10 * math.log10(v.size * 255**2 / np.sum((v - v_hat) ** 2))
    # The same MSE two ways: the n-term sums round within n·eps relative; pixels divided by 255 round
    # within eps, moving the MSE by at most 2·eps/RMS relative; PSNR moves 10/ln 10 dB per unit of it.
    rms = 10 ** (-eq34 / 20)
    room = 10 / math.log(10) * (v.size + 2 / rms) * EPS
    assert psnr(v_hat / 255, v / 255) == pytest.approx(eq34, rel=0, abs=room)
    loss = 0.5 * np.mean((v_hat / 255 - v / 255) ** 2)
    assert psnr_from_loss(loss) == pytest.approx(eq34, rel=0, abs=room)
    assert psnr(v, v) == math.inf
    with pytest.raises(ValueError):
        psnr(v[:3], v)
    with pytest.raises(ValueError):
        psnr_from_loss(-1.0)


def test_section_6_images_are_the_authors_pixel_subsets(monkeypatch, paper_images):
    monkeypatch.setenv("MGDL_DATA_DIR", str(paper_images))
    chart = section_image("resolution_chart", 6)
    assert chart.shape == (128, 128)
    from mgdl_core.tasks.images import load_image

    raw = load_image("resolution_chart")
    np.testing.assert_array_equal(chart, 1.0 - raw[::2, ::2])  # inverted in §5–§6
    np.testing.assert_array_equal(section_image("resolution_chart", 4), raw)
    barbara = load_image("barbara")
    np.testing.assert_array_equal(section_image("barbara", 6), barbara[:256, 256:][::2, ::2])
    assert section_image("butterfly", 6).shape == (256, 256)
    assert regression_dataset(chart).train.x.shape == (4096, 2)  # the paper's 64² pixels


def test_image_run_validates_before_training():
    with pytest.raises(ValueError, match="§6 image regression uses"):
        ImageRegressionRun(image="pirate", section=6)
    with pytest.raises(ValueError, match="2 inputs"):
        ImageRegressionRun(structure="[1]->[8]->[1]")
    with pytest.raises(ValueError, match="MSDL"):
        ImageRegressionRun(method="msdl")
    with pytest.raises(ValueError, match="learning rate"):
        ImageRegressionRun(lr=-1)
    assert ImageRegressionRun(method="mgdl").default_structure() == "(31)"
    assert ImageRegressionRun(section=4, image="pirate").default_structure() == "(28)"


def test_image_run_trains_and_records_psnr_consistent_losses(monkeypatch, tmp_path, paper_images):
    monkeypatch.setenv("MGDL_DATA_DIR", str(paper_images))
    from mgdl_core.runs.recorded import load_record, run_recorded

    cfg = ImageRegressionRun(image="cameraman", method="mgdl", lr=0.2, epochs=40, record_every=20,
                             structure="[2]->[8]->[1];[8]->[8]->[1]", dtype="float64")
    r = run_recorded(cfg, tmp_path)
    assert r.outcome == "completed" and len(r.grade_train_losses) == 2
    assert r.grade_train_losses[1] <= r.grade_train_losses[0]
    assert r.test_x.shape == (128 * 128, 2) and r.test_pred.shape == (128 * 128,)
    # test = every pixel of the §6 image: the recorded test loss is ½·MSE against it
    img = section_image("cameraman", 6)
    # the same n squares (all >= 0) summed in another order: within n·eps relative
    assert r.test_loss == pytest.approx(0.5 * np.mean((r.test_pred - img.reshape(-1)) ** 2), rel=img.size * EPS, abs=0)
    from mgdl_core.runs.records import record_dir

    again = load_record(record_dir(tmp_path, cfg.kind, cfg))
    assert again.config == cfg and again.test_loss == r.test_loss
