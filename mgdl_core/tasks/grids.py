"""Images as regression data: pixel-coordinate grids, the ¼-grid split, the §6 pixel subsets, PSNR.

The paper treats a greyscale image as a function f: [0, 1)² → R from pixel coordinates to
intensity (§4). Conventions follow the authors' code (shared/notes/anchor-repo.md, "common
conventions"), because the paper does not state them:

- the coordinates of an n-pixel axis are {0, 1/n, …, (n − 1)/n}; input feature 0 is the column
  coordinate and feature 1 the row coordinate;
- intensities are the 8-bit values divided by 255, not centred;
- regression split: train = even rows and even columns (¼ of the pixels), validation = odd rows
  and odd columns (another ¼, for early stopping only), test = every pixel;
- §5–§6 invert the resolution chart first (255 − x), and §6 trains on a smaller image
  (:func:`eigen_subset`) so that the Hessian of the paper's dense method stayed affordable.

PSNR is eq. (34), 10·log10(n·255² / ‖v − v̂‖²_F) on the 8-bit scale, which on the [0, 1] scale
is −10·log10(MSE); for the regression loss L = ½·MSE of eq. (1) it is −10·log10(2L).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..core.data import Dataset, Split
from .images import load_image

# §6 pixel subsets (anchor-repo.md §4.2): what the authors' eigenvalue code cut from each image.
EIGEN_SUBSETS = {
    "resolution_chart": (slice(None), slice(None)),
    "cameraman": (slice(None), slice(None)),
    "barbara": (slice(0, 256), slice(256, None)),  # the top-right quadrant
    "butterfly": (slice(None), slice(None)),
}
INVERTED_IN_S5_S6 = ("resolution_chart",)


def pixel_grid(height: int, width: int) -> np.ndarray:
    """``[height, width, 2]`` coordinates: [..., 0] the column's j/width, [..., 1] the row's i/height."""
    if height < 1 or width < 1:
        raise ValueError(f"an image needs at least one pixel, got {height}×{width}")
    cols = np.arange(width) / width
    rows = np.arange(height) / height
    c, r = np.meshgrid(cols, rows)
    return np.stack([c, r], axis=-1)


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"expected a greyscale image (a 2-D array), got shape {image.shape}; "
                         f"load colour images with mgdl_core.tasks.images.load_image, which converts them")
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise ValueError(f"the image is too small to split into train and validation pixels: {image.shape}")
    if not np.isfinite(image).all():
        raise ValueError("the image contains NaN or Inf values")
    return image.astype(np.float64)


def _split(coords: np.ndarray, image: np.ndarray, dtype: torch.dtype, device) -> Split:
    x = torch.as_tensor(coords.reshape(-1, 2), dtype=dtype, device=device)
    y = torch.as_tensor(image.reshape(-1, 1), dtype=dtype, device=device)
    return Split(x, y)


def regression_dataset(image: np.ndarray, dtype: torch.dtype = torch.float32,
                       device: torch.device | str = "cpu") -> Dataset:
    """Train/validation/test splits of an image (§4): ¼ grid, the other ¼ grid, every pixel."""
    image = _check_image(image)
    coords = pixel_grid(*image.shape)
    return Dataset(train=_split(coords[::2, ::2], image[::2, ::2], dtype, device),
                   val=_split(coords[1::2, 1::2], image[1::2, 1::2], dtype, device),
                   test=_split(coords, image, dtype, device))


def section_image(name: str, section: int, sha256: str | None = None) -> np.ndarray:
    """A named test image (or a file, of SHA-256 ``sha256``: :func:`load_image`) as the paper's
    section ``section`` uses it: §5 and §6 invert the resolution chart; §6 further cuts
    :func:`eigen_subset`."""
    if section not in (4, 5, 6):
        raise ValueError(f"images are used in sections 4, 5 and 6, not {section!r}")
    image = load_image(name, sha256)
    key = name.lower().replace(" ", "_")
    if section in (5, 6) and key in INVERTED_IN_S5_S6:
        image = 1.0 - image
    return eigen_subset(key, image) if section == 6 else image


def eigen_subset(name: str, image: np.ndarray) -> np.ndarray:
    """The §6 image: the authors' cut of ``image`` (Barbara: its top-right quadrant), then every
    second row and column. Training on its ¼ grid gives 64² = 4,096 pixels (128² for Butterfly)."""
    if name not in EIGEN_SUBSETS:
        raise ValueError(f"§6 uses the images {', '.join(EIGEN_SUBSETS)}, not {name!r}")
    rows, cols = EIGEN_SUBSETS[name]
    return _check_image(image)[rows, cols][::2, ::2]


def psnr(prediction: np.ndarray | torch.Tensor, target: np.ndarray | torch.Tensor) -> float:
    """Eq. (34) for images on the [0, 1] scale: −10·log10(mean squared error), in dB."""
    p = torch.as_tensor(prediction, dtype=torch.float64).reshape(-1)
    t = torch.as_tensor(target, dtype=torch.float64).reshape(-1)
    if p.shape != t.shape:
        raise ValueError(f"prediction and target differ in size: {p.numel()} vs {t.numel()} pixels")
    mse = torch.mean((p - t) ** 2).item()
    return math.inf if mse == 0 else -10.0 * math.log10(mse)


def psnr_from_loss(loss: float) -> float:
    """PSNR of a prediction whose regression loss (eq. 1, ½·MSE) is ``loss``: −10·log10(2·loss)."""
    if not loss >= 0:
        raise ValueError(f"a loss must be >= 0, got {loss!r}")
    return math.inf if loss == 0 else -10.0 * math.log10(2.0 * loss)
