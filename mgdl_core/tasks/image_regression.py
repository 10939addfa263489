"""Image regression runs (§4 Table 1, §5 Fig. 15, §6 Figs 3 and 18–20): pixel coordinates → intensity.

One configuration, :class:`ImageRegressionRun`, for the three sections that regress images; what
differs between them is the authors' protocol, which :data:`SECTION_PROFILES` holds (read from
their code, shared/notes/anchor-repo.md §2.1, §3.2, §4.2):

- **§4** (Table 1, Figs 5–6): structures (28)/(32), **Adam** at a constant 1e-3, Glorot-normal
  weights and N(0, 0.01²) biases (their ``stax`` code; our draw is torch's, seeded, not JAX's),
  10^4 epochs (per grade for MGDL), loss recorded every 10 epochs, early stopping at a relative
  change of 1e-4. Test predictions are kept at the epochs of Fig. 5 (``snapshot_epochs``).
- **§5** (Fig. 15): the same networks trained by **GD** for 10^5 epochs over the rates of
  [0.001, 1], early stopping at 1e-6; the resolution chart inverted.
- **§6** (Figs 3, 18–20): the authors' smaller pixel subsets (:func:`mgdl_core.tasks.grids.eigen_subset`)
  and structures (27)/(31), GD, He-normal weights drawn as theirs, 5·10^5 epochs.

The ``quick`` profile keeps each protocol but trains on a downscaled image (``downscale``, an area
average) for fewer epochs, so that a page builds on a 2-core CPU; the page says so.

Splits (:mod:`mgdl_core.tasks.grids`): train on the ¼ grid, early-stop on the other ¼, test on every
pixel (the paper's TePSNR; :func:`mgdl_core.tasks.baselines.psnr_table_row` adds the held-out ¾).
PSNR is eq. (34), −10·log10(2L) for the regression loss L of eq. (1).

``image`` is one of the paper's images by name or a path to a user's own file (colour is
converted to grey with a warning; any H × W works). A file's SHA-256 becomes part of the
configuration, so its record names the exact image. ``encoding="fourier"`` feeds the network
Fourier features of the coordinates instead (:func:`mgdl_core.tasks.baselines.fourier_features`): the
coordinate network a user of such models reaches for, beside the paper's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from ..core.data import Dataset, Split
from ..core.nets import format_structure, parse_structure
from ..core.step import forward
from ..core.training import Callback, TrainState
from ..errors import Bound, ConfigError, as_config_error, bounded, check_int, plain
from ..runtime import get_dtype
from .base import RunConfig, check_profile, config_device
from .images import image_profile_lines, image_side, quick_downscale, resolve_image_field

IMAGE_STRUCTURES = {4: {"sgdl": "(28)", "mgdl": "(32)"}, 5: {"sgdl": "(28)", "mgdl": "(32)"},
                    6: {"sgdl": "(27)", "mgdl": "(31)"}}
ENCODINGS = ("none", "fourier")
# Fourier features' σ, in cycles per unit length, is the image side / FOURIER_SIDE when a profile
# sets it: on the quick Cameraman (64²) the validation PSNR was 21.8, 21.4 and 20.2 dB for
# σ = 1, 2.5, 5 (the networks memorise the training grid at every σ), and a frequency the grid
# can hold scales with its resolution (σ = 8 at 512², near Tancik et al.'s 10 there).
FOURIER_SIDE = 64
FIG5_EPOCHS = (9800, 9850, 9900, 9950)
# The learning rates of the paper's Figs 3 and 18–20 (§6): image → (SGDL's, MGDL's).
S6_RATES = {"resolution_chart": (0.02, 0.2), "cameraman": (0.1, 0.2), "barbara": (0.08, 0.2),
            "butterfly": (0.05, 0.05)}

# The authors' protocol per section (``paper``) and its CPU-sized version (``quick``).
# ``quick_side``: the quick profile downscales the image until its side is at most this.
_S4 = dict(optimizer="adam", lr=1e-3, init="glorot", relu_prime_at_zero=0.0, seed=0, record_every=10,
           early_stopping=True, rel_error=1e-4)
_S5 = dict(optimizer="gd", init="glorot", relu_prime_at_zero=0.0, seed=0, record_every=10,
           early_stopping=True, rel_error=1e-6)
_S6 = dict(optimizer="gd", init="he-jax", relu_prime_at_zero=0.5, seed=42, record_every=100,
           early_stopping=True)
SECTION_PROFILES: dict[int, dict[str, dict[str, object]]] = {
    4: {"paper": dict(_S4, epochs=10_000, snapshot_epochs=FIG5_EPOCHS),
        "quick": dict(_S4, epochs=600, early_stopping=False, quick_side=64, snapshot_epochs=(450, 500, 550, 600))},
    5: {"paper": dict(_S5, epochs=100_000),
        "quick": dict(_S5, epochs=200, early_stopping=False, quick_side=64)},
    6: {"paper": dict(_S6, epochs=500_000),
        "quick": dict(_S6, epochs=2_000, early_stopping=False)},
}
# The authors' §6 early-stopping tolerances differ by method (anchor-repo.md §4.2).
_S6_REL_ERROR = {"sgdl": 1e-4, "mgdl": 1e-5}


@dataclass(frozen=True)
class ImageRegressionRun(RunConfig):
    """One image-regression run on ``image`` as the paper's section ``section`` prepares it.

    The dataclass defaults are the §6 protocol of the authors' code (plain GD, He-normal weights,
    zero biases, structures (27) and (31)); :meth:`profile` gives any section's protocol."""

    method: str = "sgdl"
    lr: float = 0.02
    epochs: int = 2_000
    image: str = "resolution_chart"
    section: int = 6
    optimizer: str = "gd"
    # the early-stopping tolerance; the authors' §6 image code: 1e-4 for SGDL, 1e-5 for MGDL
    rel_error: float = bounded(1e-6, Bound(0.0, 1.0, low_open=True))
    # The authors' unstated §6 image-MGDL rule: end a grade when min eig(I − ηH) < eig_stop (−0.95)
    eig_stop: float | None = bounded(None, Bound(-1e6, 1e6))
    # area-average the image by this factor first (the quick profile's size)
    downscale: int = bounded(1, Bound(1, 4096, integer=True))
    encoding: str = "none"  # "fourier": Fourier features of the coordinates as the input
    fourier_count: int = bounded(128, Bound(1, 4096, integer=True))  # frequencies (2 · count inputs)
    # their standard deviation (Tancik et al. 2020 use 10 for images)
    fourier_scale: float = bounded(10.0, Bound(0.0, 1e4, low_open=True))
    snapshot_epochs: tuple[int, ...] = ()  # keep the test prediction at these epochs (last grade)
    image_sha256: str | None = None  # set from the file when ``image`` is a path

    kind: ClassVar[str] = "image_regression"
    task: ClassVar[str] = "image-regression"
    methods: ClassVar[tuple[str, ...]] = ("sgdl", "mgdl")
    command: ClassVar[str] = "image"
    options: ClassVar[tuple[str, ...]] = ("image", "section", "optimizer", "encoding")
    about: ClassVar[str] = ("image regression of §4 (Table 1), §5 (Fig. 15) and §6 (Figs 3, 18–20), SGDL / MGDL; "
                            "--image NAME or a path to your own file")

    @classmethod
    def cli_fields(cls, args, lr: float | None) -> dict:
        fields = {"image": "cameraman" if args.image is None else args.image,
                  "section": 4 if args.section is None else args.section}
        return fields | {name: getattr(args, name) for name in ("optimizer", "encoding") if getattr(args, name) is not None}

    @classmethod
    def profile_lines(cls) -> list[str]:
        return image_profile_lines(SECTION_PROFILES)

    def title(self) -> str:
        return f"{self.image} (§{self.section})"

    def measure_lines(self, summary) -> list[str]:
        if summary.diverged:
            return []
        from .grids import psnr_from_loss

        return [f"  PSNR (eq. 34): TrPSNR {psnr_from_loss(summary.train_loss):.2f} dB  "
                f"TePSNR {psnr_from_loss(summary.test_loss):.2f} dB (every pixel)"]

    def __post_init__(self) -> None:
        from .grids import EIGEN_SUBSETS
        from .images import available_images

        section = plain(self.section)
        if isinstance(section, bool) or not isinstance(section, int) or section not in IMAGE_STRUCTURES:
            raise ConfigError(f"image regression is in sections 4, 5 and 6, not {self.section!r}")
        if self.method == "msdl":
            raise ConfigError("MSDL is a one-input (synthetic) model; image regression takes 'sgdl' or 'mgdl'")
        resolve_image_field(self, list(EIGEN_SUBSETS) if section == 6 else available_images(),
                            section != 6, f"§{section} image regression")
        if self.encoding not in ENCODINGS:
            raise ConfigError(f"unknown encoding {self.encoding!r}: use one of {', '.join(ENCODINGS)}")
        self._check()
        if not isinstance(self.snapshot_epochs, tuple):
            raise ConfigError(f"snapshot_epochs must be a tuple of epochs, got {self.snapshot_epochs!r}")
        object.__setattr__(self, "snapshot_epochs", tuple(sorted(check_int("snapshot_epochs", e, 1, 10**9)
                                                                 for e in self.snapshot_epochs)))
        if self.eig_stop is not None and self.track_every == 0:
            raise ConfigError("eig_stop reads the tracked spectra: set track_every > 0 as well")

    @classmethod
    def profile_values(cls, profile: str, overrides: dict) -> dict:
        """A section's protocol (``section`` and ``method`` from ``overrides``; default §6, SGDL)."""
        section = overrides.get("section", 6)
        if section not in SECTION_PROFILES:
            raise ConfigError(f"image regression is in sections 4, 5 and 6, not {section!r}")
        values = dict(SECTION_PROFILES[section][check_profile(profile)])
        side = values.pop("quick_side", None)
        if section == 6:
            values["rel_error"] = _S6_REL_ERROR.get(overrides.get("method", "sgdl"), 1e-6)
        image = overrides.get("image", cls.image)
        if side is not None and "downscale" not in overrides:
            values["downscale"] = quick_downscale(image, side)
        if overrides.get("encoding") == "fourier" and "fourier_scale" not in overrides:
            size = image_side(image)
            if size is not None:
                values["fourier_scale"] = size / overrides.get("downscale", values.get("downscale", 1)) / FOURIER_SIDE
        return values

    @property
    def inputs(self) -> int:
        return 2 * self.fourier_count if self.encoding == "fourier" else 2

    def default_structure(self) -> str:
        spec = IMAGE_STRUCTURES[self.section][self.method]
        if self.encoding == "none":
            return spec
        from ..core.nets import MGDL_STRUCTURES

        if self.graded:  # grade 1 reads the features; later grades are unchanged
            grades = [parse_structure(g) for g in MGDL_STRUCTURES[spec.strip("()")]]
            grades[0] = (self.inputs,) + grades[0][1:]
            return "; ".join(format_structure(g) for g in grades)
        return format_structure((self.inputs,) + parse_structure(spec)[1:])

    def image_array(self) -> np.ndarray:
        """The image this run regresses, as its section prepares it and downscaled (2-D, [0, 1])."""
        from .baselines import downscale
        from .grids import section_image

        with as_config_error():
            image = section_image(self.image, self.section, self.image_sha256)
        return downscale(image, self.downscale) if self.downscale > 1 else image

    def dataset(self) -> Dataset:
        from .grids import regression_dataset

        data = regression_dataset(self.image_array(), dtype=get_dtype(self.dtype), device=config_device(self))
        if self.encoding == "none":
            return data
        from .baselines import fourier_features, fourier_frequencies

        freq = fourier_frequencies(self.fourier_count, self.fourier_scale, self.seed)
        return Dataset(*(Split(fourier_features(s.x, freq), s.y) for s in (data.train, data.val, data.test)))

    def extra_callbacks(self, data: Dataset) -> list:
        if not self.snapshot_epochs:
            return []
        grade = len(parse_grades(self)) if self.graded else None
        return [PredictionSnapshots(self.snapshot_epochs, grade)]


def parse_grades(config: ImageRegressionRun) -> list:
    from ..core.nets import mgdl_structure

    return mgdl_structure(config.structure or config.default_structure())


class PredictionSnapshots(Callback):
    """Keeps the test-split error (prediction − target) at the given epochs of one grade (all of
    SGDL's; MGDL's ``grade``), as Fig. 5 shows predictions at iterations 9800–9950.

    For an MGDL grade the test target is the residual e_l, so prediction − target is ḡ_l − y:
    the model's error either way, and y + error is the image shown. Recorded as ``snap_epoch``
    and ``snap_error`` (float32, one row per epoch) in the run's history."""

    def __init__(self, epochs: tuple[int, ...], grade: int | None = None):
        self.epochs, self.grade = frozenset(epochs), grade
        self.every = math.gcd(*epochs) if epochs else 0

    def on_epoch(self, state: TrainState) -> None:
        if state.epoch not in self.epochs or state.grade != self.grade or state.data.test is None:
            return
        if state.epoch in state.history.get("snap_epoch", []):  # a resume re-reaches a kept epoch
            return
        with torch.no_grad():
            error = forward(state.net, state.data.test.x) - state.data.test.y
        state.append("snap_epoch", state.epoch)
        state.append("snap_error", error[:, 0].float().cpu().numpy())
