"""Data as the training loop sees it: a split is inputs ``x`` [N, d] and targets ``y`` [N, s];
a dataset is the train, validation (early stopping) and test splits of one regression task.

What every task hands to :func:`mgdl_core.core.training.train` (the §5 functions, pixel grids,
MGDL's cached features), checked once where a user's data come in.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Split:
    """Inputs ``x`` [N, d] and targets ``y`` [N, s] of one data split."""

    x: torch.Tensor
    y: torch.Tensor

    def __post_init__(self) -> None:
        if self.x.ndim != 2 or self.y.ndim != 2 or self.x.shape[0] != self.y.shape[0]:
            raise ValueError(f"a split needs x [N, d] and y [N, s] with the same N, got "
                             f"{tuple(self.x.shape)} and {tuple(self.y.shape)}")
        if not (torch.isfinite(self.x).all() and torch.isfinite(self.y).all()):
            raise ValueError("the data contain NaN or Inf values")

    def to(self, dtype: torch.dtype, device: torch.device) -> "Split":
        return Split(self.x.to(dtype=dtype, device=device), self.y.to(dtype=dtype, device=device))

    @classmethod
    def trusted(cls, x: torch.Tensor, y: torch.Tensor) -> "Split":
        """A split built from tensors the library made itself (an MGDL grade's cached features
        and residuals; ``[K, N, d]`` for stacked models), without the checks of a user's data."""
        split = object.__new__(cls)
        object.__setattr__(split, "x", x)
        object.__setattr__(split, "y", y)
        return split


@dataclass(frozen=True)
class Dataset:
    """Train, validation (early stopping) and test splits of a regression task."""

    train: Split
    val: Split | None = None
    test: Split | None = None

    def to(self, dtype: torch.dtype, device: torch.device) -> "Dataset":
        return Dataset(*(s.to(dtype, device) if s is not None else None
                         for s in (self.train, self.val, self.test)))
