"""Classical baselines for image regression, and the Fourier-feature input map.

Table 1 of the paper compares networks by the PSNR they reach on each image (§4). To judge
those numbers a reader needs the rows a classical method gives on the same split: the
networks train on the ¼ grid ``image[::2, ::2]`` and are tested on every pixel, and a
bilinear or bicubic interpolation of that same grid fills in the other ¾ without any
training. This module gives

- :func:`interpolate_training_grid`: every pixel reconstructed from the training grid only;
- :func:`psnr_table_row`: PSNR on the training grid, on all pixels (the paper's TePSNR) and on
  the held-out ¾ (:func:`train_mask`, :func:`heldout_mask`);
- :func:`downscale`: block means, to repeat the comparison on a coarser image;
- :func:`fourier_frequencies` and :func:`fourier_features`: the random Fourier-feature map of
  Tancik et al. (2020), "Fourier features let networks learn high frequency functions", a
  standard way to help a plain network fit the high frequencies of an image.

Conventions are those of :mod:`mgdl_core.tasks.grids`: pixel (i, j) lies at (j/W, i/H), and the
training pixels are those with an even row and an even column.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy.interpolate import RegularGridInterpolator
from scipy.sparse.linalg import spsolve

from .grids import psnr

INTERPOLATIONS = ("bilinear", "bicubic")
_SCIPY_METHOD = {"bilinear": "linear", "bicubic": "cubic"}
_MIN_POINTS = {"bilinear": 2, "bicubic": 4}  # training samples per axis each method needs


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_image(image: np.ndarray, what: str = "image") -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"the {what} must be a greyscale image (a 2-D array), got shape {image.shape}")
    if image.size == 0:
        raise ValueError(f"the {what} has no pixels: shape {image.shape}")
    if not np.isfinite(image).all():
        raise ValueError(f"the {what} contains NaN or Inf values")
    return image.astype(np.float64)


def downscale(image: np.ndarray, factor: int) -> np.ndarray:
    """The mean of each ``factor``×``factor`` block of ``image``.

    If a side is not a multiple of ``factor``, its last ``side % factor`` rows (or columns) are
    cropped first: the result has shape ``(H // factor, W // factor)``. Factor 1 returns a copy.
    """
    image = _check_image(image)
    if not _is_int(factor) or factor < 1:
        raise ValueError(f"the downscaling factor must be a positive integer, got {factor!r}")
    h, w = image.shape[0] // factor, image.shape[1] // factor
    if h < 4 or w < 4:
        raise ValueError(f"downscaling a {image.shape[0]}×{image.shape[1]} image by {factor} "
                         f"leaves {h}×{w} pixels; at least 4×4 are needed")
    blocks = image[:h * factor, :w * factor].reshape(h, factor, w, factor)
    return blocks.mean(axis=(1, 3))


def _check_shape(shape: tuple[int, int]) -> tuple[int, int]:
    shape = tuple(shape)
    if len(shape) != 2 or not all(_is_int(n) and n >= 1 for n in shape):
        raise ValueError(f"an image shape is two positive integers (height, width), got {shape!r}")
    return int(shape[0]), int(shape[1])


def train_mask(shape: tuple[int, int]) -> np.ndarray:
    """Boolean mask of the training ¼ grid: True where the row AND the column are even."""
    h, w = _check_shape(shape)
    mask = np.zeros((h, w), dtype=bool)
    mask[::2, ::2] = True
    return mask


def heldout_mask(shape: tuple[int, int]) -> np.ndarray:
    """Boolean mask of the pixels never trained on (¾ of them for even sizes)."""
    return ~train_mask(shape)


def interpolate_training_grid(image: np.ndarray, method: str = "bicubic") -> np.ndarray:
    """Every pixel of ``image`` reconstructed from its training grid ``image[::2, ::2]`` alone.

    ``method`` is ``"bilinear"`` (scipy's ``"linear"``) or ``"bicubic"`` (scipy's ``"cubic"``:
    the tensor-product not-a-knot cubic spline, which reproduces cubic polynomials). The
    samples sit at rows 0, 2, 4, … and columns 0, 2, 4, …; for an even side the last row or
    column lies beyond the last sample and is extrapolated. The result has the image's shape and
    equals it at the training pixels. Bicubic needs at least 4 samples per axis (a side ≥ 7),
    bilinear at least 2 (a side ≥ 3).

    The cubic spline's coefficients are solved for with the direct ``spsolve``: scipy's default
    iterative solver stops at a tolerance of 1e-6 and misses the training pixels by ~1e-4. The
    direct solve is exact but costs about 1 s for a 512² image and 6 s (0.8 GB) for 1024².
    """
    image = _check_image(image)
    if method not in INTERPOLATIONS:
        raise ValueError(f"unknown interpolation method {method!r}; choose one of {', '.join(INTERPOLATIONS)}")
    rows = np.arange(0, image.shape[0], 2, dtype=np.float64)
    cols = np.arange(0, image.shape[1], 2, dtype=np.float64)
    need = _MIN_POINTS[method]
    if len(rows) < need or len(cols) < need:
        raise ValueError(f"{method} interpolation needs at least {need} training samples per axis "
                         f"(a side of at least {2 * need - 1} pixels); a {image.shape[0]}×"
                         f"{image.shape[1]} image has {len(rows)}×{len(cols)}")
    solver = {"solver": spsolve} if method == "bicubic" else {}
    interp = RegularGridInterpolator((rows, cols), image[::2, ::2], method=_SCIPY_METHOD[method],
                                     bounds_error=False, fill_value=None, **solver)
    i, j = np.meshgrid(np.arange(image.shape[0], dtype=np.float64),
                       np.arange(image.shape[1], dtype=np.float64), indexing="ij")
    return interp(np.stack([i, j], axis=-1))


def psnr_table_row(prediction: np.ndarray, image: np.ndarray) -> dict[str, float]:
    """PSNR (eq. 34, dB) of ``prediction`` against ``image`` on three pixel sets: ``"train"``
    (the ¼ grid), ``"test_all"`` (every pixel: the paper's TePSNR) and ``"test_heldout"``
    (the ¾ never trained on)."""
    prediction = _check_image(prediction, "prediction")
    image = _check_image(image)
    if prediction.shape != image.shape:
        raise ValueError(f"prediction and image differ in shape: {prediction.shape} vs {image.shape}")
    train = train_mask(image.shape)
    return {"train": psnr(prediction[train], image[train]),
            "test_all": psnr(prediction, image),
            "test_heldout": psnr(prediction[~train], image[~train])}


def fourier_frequencies(count: int, scale: float, seed: int, inputs: int = 2) -> torch.Tensor:
    """``[count, inputs]`` float64 frequencies B drawn from N(0, scale²), on the CPU from
    ``torch.Generator().manual_seed(seed)``, so the same seed gives the same B on every device."""
    if not _is_int(count) or count < 1:
        raise ValueError(f"the number of frequencies must be a positive integer, got {count!r}")
    if not _is_int(inputs) or inputs < 1:
        raise ValueError(f"the input dimension must be a positive integer, got {inputs!r}")
    if not (isinstance(scale, (int, float, np.floating)) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"the frequency scale must be a positive finite number, got {scale!r}")
    if not _is_int(seed):
        raise ValueError(f"the seed must be an integer, got {seed!r}")
    gen = torch.Generator().manual_seed(int(seed))
    return torch.randn((int(count), int(inputs)), generator=gen, dtype=torch.float64) * float(scale)


def fourier_features(x: torch.Tensor, frequencies: torch.Tensor) -> torch.Tensor:
    """γ(x) = [cos(2π x Bᵀ), sin(2π x Bᵀ)]: ``x`` [N, d] and B [count, d] give [N, 2·count], in
    ``x``'s dtype and on its device (B is cast and moved to them)."""
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or not x.is_floating_point():
        got = f"shape {tuple(x.shape)}, {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a 2-D floating-point tensor [N, d], got {got}")
    if not isinstance(frequencies, torch.Tensor) or frequencies.ndim != 2:
        raise ValueError("frequencies must be a 2-D tensor [count, d], as fourier_frequencies returns")
    if frequencies.shape[1] != x.shape[1]:
        raise ValueError(f"x has {x.shape[1]} input features but the frequencies have "
                         f"{frequencies.shape[1]}: shapes {tuple(x.shape)} and {tuple(frequencies.shape)}")
    proj = 2 * math.pi * (x @ frequencies.to(device=x.device, dtype=x.dtype).T)
    return torch.cat([torch.cos(proj), torch.sin(proj)], dim=1)
