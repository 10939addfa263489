"""The synthetic regression task of §5 (also used in §6 and §7), and its runs (:class:`SyntheticRun`).

g(x) = Σ_j sin(2π κ_j x + φ_j), x ∈ [0, 1]   (eq. 5), amplitudes 1.

Setting 1: κ = [1, 5.5, 10] (the paper prints "[1, 5, 5, 10]", a garbled [1, 5.5, 10]: the
authors' code uses ``linspace(1, 10, 3)``). Setting 2: κ = [1, 8.25, 15.5, 22.75, 30].
Phases φ_j are the values the authors' code drew (``jax.random.uniform(PRNGKey(0), ...)``),
copied here so that the targets match theirs exactly (shared/notes/anchor-repo.md §0.3).

Splits: 1024 equispaced training points in [0, 1] (both ends included); 1024 validation points,
the authors' exact draw ``jax.random.uniform(PRNGKey(1), (1, 1024))`` reproduced without JAX by
:mod:`mgdl_core.core.jax_random` (``val_seed`` picks another key); 10,000 equispaced test points.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from ..core import native
from ..core.data import Dataset, Split
from ..core.jax_random import prng_key, uniform
from ..core.nets import StructureError, mgdl_structure, sgdl_structure
from ..errors import Bound, ConfigError, as_config_error, bounded, check_bounds
from ..runtime import get_dtype
from .base import METHOD_TABLE, RunConfig, config_device


@dataclass(frozen=True)
class SyntheticSetting:
    """Frequencies κ and phases φ of one setting of eq. (5)."""

    number: int
    kappa: tuple[float, ...]
    phi: tuple[float, ...]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return sum(np.sin(2 * np.pi * k * x + p) for k, p in zip(self.kappa, self.phi))


SETTINGS: dict[int, SyntheticSetting] = {
    1: SyntheticSetting(1, (1.0, 5.5, 10.0), (6.0652933, 1.9772031, 3.9774444)),
    2: SyntheticSetting(2, (1.0, 8.25, 15.5, 22.75, 30.0),
                        (3.6096928, 0.6263458, 2.4702985, 5.618288, 3.7483382)),
}


def get_setting(setting: int) -> SyntheticSetting:
    try:
        return SETTINGS[int(setting)]
    except (KeyError, ValueError, TypeError):
        raise ValueError(f"unknown synthetic setting {setting!r}: use 1 or 2") from None


TRAIN_POINTS = 1024  # eq. (5)'s training grid (§5)


def synthetic_dataset(setting: int, *, n_train: int = TRAIN_POINTS, n_val: int = 1024, n_test: int = 10_000,
                      val_seed: int = 1, dtype: torch.dtype = torch.float32,
                      device: torch.device | str = "cpu") -> Dataset:
    """Train/validation/test splits of setting 1 or 2 as ``[N, 1]`` tensors."""
    g = get_setting(setting)
    x_train = np.linspace(0.0, 1.0, n_train)
    x_val = uniform(prng_key(val_seed), (1, n_val))[0].astype(np.float64)
    x_test = np.linspace(0.0, 1.0, n_test)

    def split(x: np.ndarray) -> Split:
        t = lambda a: torch.as_tensor(a[:, None], dtype=dtype, device=device)
        return Split(t(x), t(g(x)))

    return Dataset(split(x_train), split(x_val), split(x_test))


@dataclass(frozen=True)
class SyntheticRun(RunConfig):
    """One §5–§7 synthetic regression run: eq. (5), setting 1 or 2, by full-batch GD."""

    setting: int = bounded(1, Bound(0, 2**31, integer=True))  # eq. (5)'s setting (1 or 2: SETTINGS)

    kind: ClassVar[str] = "synthetic"
    task: ClassVar[str] = "synthetic"
    thin_predictions: ClassVar[bool] = True  # its prediction is a test curve: every k-th point keeps its shape
    command: ClassVar[str] = "synthetic"
    options: ClassVar[tuple[str, ...]] = ("setting",)
    about: ClassVar[str] = "synthetic regression of §5–§7 (eq. 5), SGDL (26) / MGDL (30) / MSDL"

    def __post_init__(self) -> None:
        check_bounds(self)
        with as_config_error():
            get_setting(self.setting)
        self._check()

    @property
    def inputs(self) -> int:
        return 1

    def default_structure(self) -> str:
        return METHOD_TABLE[self.method].synthetic_structure

    @classmethod
    def native_step(cls, config: dict) -> bool:
        """GD on eq. (1) with one MLP per step (SGDL, MGDL; not MSDL's branches), where a network
        (an MGDL grade: any) is no larger than the kernel takes (:func:`mgdl_core.core.native.small_enough`;
        a grade past it trains on the reference step)."""
        method = METHOD_TABLE.get(config.get("method"))
        if method is None or not method.one_mlp:
            return False
        spec = config.get("structure") or method.synthetic_structure
        try:
            nets = mgdl_structure(spec) if method.graded else [sgdl_structure(spec)]
        except (StructureError, ValueError, TypeError):
            return False
        return any(native.small_enough(TRAIN_POINTS, widths) for widths in nets)

    def dataset(self) -> Dataset:
        return synthetic_dataset(self.setting, dtype=get_dtype(self.dtype), device=config_device(self))

    @classmethod
    def cli_fields(cls, args, lr: float | None) -> dict:
        if lr is None:
            raise ConfigError("the following arguments are required: --lr")
        return {} if args.setting is None else {"setting": args.setting}

    def title(self) -> str:
        return f"setting {self.setting}"

    def replay_epochs(self) -> int:
        """1,000 epochs: about a second."""
        return 1_000
