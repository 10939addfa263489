"""Classical baselines and Fourier features against direct computation."""
from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch

from mgdl_core.tasks.baselines import (INTERPOLATIONS, downscale, fourier_features, fourier_frequencies,
                                 heldout_mask, interpolate_training_grid, psnr_table_row, train_mask)

EPS = np.finfo(np.float64).eps
# Roundings, in units of eps·(largest sample), an interpolant's value may carry: bilinear is a sum of
# 4 samples with weights up to 1.5 (extrapolated edges); bicubic solves a not-a-knot spline (2-D
# condition ≲ 60) and sums 16 samples.
ROUNDINGS = {"bilinear": 16, "bicubic": 64}


def _ij(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    return np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")


@pytest.mark.parametrize("shape", [(10, 12), (9, 11), (10, 7)])
def test_bilinear_reproduces_a_plane_everywhere(shape):
    i, j = _ij(*shape)
    plane = 0.3 + 0.02 * i - 0.015 * j
    out = interpolate_training_grid(plane, "bilinear")
    assert out.shape == plane.shape
    # every pixel, including the last row/column that even sizes extrapolate
    np.testing.assert_allclose(out, plane, rtol=0, atol=ROUNDINGS["bilinear"] * EPS * np.abs(plane).max())


@pytest.mark.parametrize("shape", [(12, 14), (11, 13)])
def test_bicubic_reproduces_a_quadratic_everywhere(shape):
    i, j = _ij(*shape)
    quad = 0.2 + 0.01 * i - 0.02 * j + 0.003 * i**2 - 0.001 * j**2 + 0.002 * i * j
    out = interpolate_training_grid(quad, "bicubic")
    np.testing.assert_allclose(out, quad, rtol=0, atol=ROUNDINGS["bicubic"] * EPS * np.abs(quad).max())


@pytest.mark.parametrize("method", INTERPOLATIONS)
def test_interpolation_keeps_the_training_pixels(method):
    image = np.random.default_rng(0).random((16, 13))
    out = interpolate_training_grid(image, method)
    assert out.shape == image.shape
    room = ROUNDINGS[method] * EPS * np.abs(image).max()
    np.testing.assert_allclose(out[::2, ::2], image[::2, ::2], rtol=0, atol=room)
    np.testing.assert_allclose(out[train_mask(image.shape)], image[::2, ::2].ravel(), rtol=0, atol=room)


def test_masks_split_the_pixels():
    assert train_mask((6, 8)).sum() == 12 and heldout_mask((6, 8)).sum() == 36  # exactly ¾
    assert train_mask((5, 7)).sum() == 3 * 4 and heldout_mask((5, 7)).sum() == 35 - 12
    m = train_mask((5, 7))
    assert m.dtype == bool and (m == ~heldout_mask((5, 7))).all()
    rows, cols = np.nonzero(m)
    assert (rows % 2 == 0).all() and (cols % 2 == 0).all()
    with pytest.raises(ValueError, match="two positive integers"):
        train_mask((0, 4))
    with pytest.raises(ValueError, match="two positive integers"):
        heldout_mask((4, 4, 1))


def test_downscale_takes_block_means_and_crops():
    a = np.arange(64, dtype=np.float64).reshape(8, 8)
    expected = np.array([[16 * r + 2 * c + 4.5 for c in range(4)] for r in range(4)])
    np.testing.assert_array_equal(downscale(a, 2), expected)
    b = np.random.default_rng(1).random((9, 11))
    small = downscale(b, 2)
    assert small.shape == (4, 5)
    # a mean of 4 nonnegative pixels: any summation order is within 4·eps relative
    np.testing.assert_allclose(small, b[:8, :10].reshape(4, 2, 5, 2).mean(axis=(1, 3)), rtol=4 * EPS, atol=0)
    copy = downscale(a, 1)
    assert np.array_equal(copy, a) and not np.shares_memory(copy, a)


def test_psnr_table_row_of_a_constant_error():
    image = np.full((6, 7), 0.5)
    row = psnr_table_row(image + 0.1, image)
    assert set(row) == {"train", "test_all", "test_heldout"}
    # (0.5 + 0.1) − 0.5 is 0.1 within 3.5·eps relative, its square within 7.5·eps, the mean of n ≤ 42
    # squares adds n·eps/2; the PSNR moves 10/ln 10 dB per unit relative change of the MSE.
    room = 10 / math.log(10) * (8 + image.size / 2) * EPS
    for key, value in row.items():
        assert value == pytest.approx(20.0, abs=room), key
    # an error only on the held-out pixels leaves the training PSNR infinite
    pred = image + 0.1 * heldout_mask(image.shape)
    row = psnr_table_row(pred, image)
    assert row["train"] == math.inf and row["test_heldout"] == pytest.approx(20.0, abs=room)
    assert row["test_all"] == pytest.approx(-10 * math.log10(0.01 * 30 / 42), abs=room)


def test_fourier_features_at_a_hand_computed_point():
    x = torch.tensor([[0.25, 0.5]], dtype=torch.float32)
    b = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    out = fourier_features(x, b)
    assert out.shape == (1, 6) and out.dtype == torch.float32
    # 2π·x·Bᵀ = 2π·[0.25, 0.5, 0.75]: cos = [0, −1, 0], sin = [1, 0, −1]
    # float32: the argument 2π·x·bᵀ (up to 2π·0.75 ≈ 4.7) rounds within ~eps32·4.7 ≈ 5.6e-7, cos and sin
    # add an ulp: ≈ 7e-7 in all
    torch.testing.assert_close(out, torch.tensor([[0.0, -1.0, 0.0, 1.0, 0.0, -1.0]]), atol=1e-6, rtol=0)
    x64 = torch.rand(5, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    out64 = fourier_features(x64, b)
    assert out64.shape == (5, 6) and out64.dtype == torch.float64
    proj = 2 * math.pi * x64 @ b.T
    # 2π·(x·Bᵀ) against (2π·x)·Bᵀ: the arguments agree within a few eps·|proj|; cos and sin are
    # 1-Lipschitz and round within an eps
    room = 4 * EPS * (proj.abs().max().item() + 1)
    torch.testing.assert_close(out64, torch.cat([proj.cos(), proj.sin()], 1), atol=room, rtol=0)


def test_fourier_frequencies_are_a_seeded_gaussian():
    b = fourier_frequencies(4000, 10.0, seed=3)
    assert b.shape == (4000, 2) and b.dtype == torch.float64 and b.device.type == "cpu"
    expected = torch.randn((4000, 2), generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 10
    assert torch.equal(b, expected) and torch.equal(b, fourier_frequencies(4000, 10.0, seed=3))
    assert not torch.equal(b, fourier_frequencies(4000, 10.0, seed=4))
    # statistical, 8000 draws: the mean's standard error is 10/√8000 ≈ 0.11, the std's ≈ 0.08
    assert abs(b.std().item() - 10.0) < 0.5 and abs(b.mean().item()) < 0.5
    assert fourier_frequencies(3, 1.0, seed=0, inputs=5).shape == (3, 5)


def test_a_real_image_is_reconstructed_plausibly():
    if os.environ.get("MGDL_DATA_DIR"):
        from mgdl_core.tasks.images import load_image

        image = load_image("cameraman")
        assert image.shape == (256, 256)
        low, high = 15.0, 40.0
    else:  # a smooth synthetic image: interpolation does far better on it
        i, j = _ij(64, 64)
        image = 0.5 + 0.3 * np.sin(i / 9.0) * np.cos(j / 7.0)
        low, high = 40.0, math.inf
    rows = {m: psnr_table_row(interpolate_training_grid(image, m), image) for m in INTERPOLATIONS}
    assert low < rows["bicubic"]["test_heldout"] < high
    # exact up to rounding: the training pixels come back within ROUNDINGS["bicubic"]·eps (RMS), ≈ 277 dB
    exact = -20 * math.log10(ROUNDINGS["bicubic"] * EPS)
    assert rows["bicubic"]["train"] > exact and rows["bilinear"]["train"] > exact
    assert rows["bicubic"]["test_all"] > rows["bicubic"]["test_heldout"]


def test_bad_inputs_are_clear_errors():
    image = np.zeros((8, 8))
    with pytest.raises(ValueError, match="unknown interpolation method 'nearest'"):
        interpolate_training_grid(image, "nearest")
    with pytest.raises(ValueError, match="at least 4 training samples per axis"):
        interpolate_training_grid(np.zeros((6, 9)), "bicubic")
    with pytest.raises(ValueError, match="at least 2 training samples per axis"):
        interpolate_training_grid(np.zeros((2, 9)), "bilinear")
    with pytest.raises(ValueError, match="2-D array"):
        interpolate_training_grid(np.zeros((8, 8, 3)))
    with pytest.raises(ValueError, match="NaN or Inf"):
        interpolate_training_grid(np.full((8, 8), np.nan))
    for factor in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            downscale(image, factor)
    with pytest.raises(ValueError, match="at least 4×4"):
        downscale(image, 3)
    with pytest.raises(ValueError, match="differ in shape"):
        psnr_table_row(np.zeros((8, 6)), image)
    with pytest.raises(ValueError, match="positive integer"):
        fourier_frequencies(0, 1.0, seed=0)
    with pytest.raises(ValueError, match="positive finite"):
        fourier_frequencies(4, -1.0, seed=0)
    with pytest.raises(ValueError, match="seed must be an integer"):
        fourier_frequencies(4, 1.0, seed=0.5)
    with pytest.raises(ValueError, match="3 input features but the frequencies have 2"):
        fourier_features(torch.zeros(5, 3), fourier_frequencies(4, 1.0, seed=0))
    with pytest.raises(ValueError, match="floating-point"):
        fourier_features(torch.zeros(5, 2, dtype=torch.int64), fourier_frequencies(4, 1.0, seed=0))
    with pytest.raises(ValueError, match="2-D tensor"):
        fourier_features(torch.zeros(5, 2), torch.zeros(4))
