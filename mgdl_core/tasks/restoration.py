"""Image denoising and deblurring (§4 Tables 2–3, Figs 7–14; §6 Figs 21–24) with SGDL and MGDL.

A network maps every pixel's coordinates to an intensity and is trained on the ROF objective of
Appendix C (:mod:`mgdl_core.core.rof`) by the proximity-gradient algorithm (20)–(21), through the one
training loop (:func:`mgdl_core.core.training.train`) and the one grade loop
(:func:`mgdl_core.core.mgdl.grade_loop`, "offset" mode with ε_l). The protocols are the authors' code
(shared/notes/anchor-repo.md §2.2, §2.3, §4.3), in :data:`RESTORATION_PROFILES`:

- **§4** (Tables 2–3): structures (29)/(33); Adam at a constant rate; α = 0.99; u⁰ = 0 carried
  across grades, Adam restarted per grade; ε_1 = 1 and ε_l = RMS(g_{l−1} − f̂) (for deblurring
  the *unblurred* prediction against the blurred observation, as their code computes it);
  forward differences, Neumann boundary; 2·10⁴ epochs (per grade); PSNR every 100 epochs and
  the *final* PSNR reported. (λ, β, lr) are the authors' best on Butterfly (σ = 10, σ̂ = 3),
  used for every cell: the other cells' choices are not in their repository.
- **§6** (Figs 21–24): structures (27)/(31) on the authors' small images (Butterfly 64², Barbara
  32²), plain GD on the summed objective, backward differences, no ε, 10⁵ epochs. Where their
  code departs from itself we take the consistent reading: the u-update uses B of the whole image
  g_l (their MGDL used B of the grade's output alone), and u stacks [D_v; D_h] as in training.

Degradations (:func:`degrade`): f̂ = f + (σ/255)·n, or f̂ = A f + (3/255)·n with A the blur of
:class:`~mgdl_core.core.operators.GaussianBlur`; n standard normal from ``numpy.random.default_rng
(noise_seed)``, unclipped. The authors drew n from JAX's PRNGKey(0): another realisation. The
input's PSNR then differs by about 4.3·√(2/N) dB on N pixels: 0.01 dB on 512², 0.1 dB on §6's
64², 0.2 dB on the quick profile's 32².

The record keeps the PSNR history (``psnr_epoch``, ``psnr``), the objective (22)/(24) as the loss
history, and the reconstruction (``test_pred``, the image in row-major order); ``test_loss`` is
½·MSE against the clean image, so PSNR = −10·log10(2·test_loss) as for regression.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from ..core.data import Dataset, Split
from ..core.operators import FiniteDifference, GaussianBlur, Identity
from ..core.rof import Auxiliary, ProxGradient, RofObjective
from ..core.step import forward
from ..core.training import Recorder, TrainState
from ..errors import Bound, ConfigError, bounded, check_bounds, plain
from ..runtime import get_dtype
from .base import RunConfig, check_profile, config_device
from .fit import FitPlan, RunSummary
from .grids import pixel_grid, psnr
from .images import image_profile_lines

PROBLEMS = ("denoise", "deblur")
DEBLUR_NOISE = 3.0  # σ of the noise added to a blurred image (on the 0–255 scale), §4
PAPER_NOISES = (10, 20, 30, 40, 50, 60)  # Table 2's columns
PAPER_BLURS = (3, 5, 7)  # Table 3's columns (σ̂)
# The ranges a configuration and the mgdl command's options accept (one constant each, read by both)
MAX_NOISE = 255.0  # σ on the 0–255 scale
MAX_BLUR = 100.0  # the Gaussian's σ̂, in pixels
MAX_WEIGHT = 1e6  # λ of eq. (18), β of eq. (22)
S4_IMAGES = ("butterfly", "pirate", "chest")
S6_DENOISE = {"butterfly": (slice(None), slice(None)), "barbara": (slice(0, 256), slice(256, None))}

# The authors' best (λ, β, lr) per method and problem, from their notebooks (Butterfly σ = 10, σ̂ = 3).
S4_HYPER = {("denoise", "sgdl"): dict(lr=5e-3, beta=0.1, lam=1e-4),
            ("denoise", "mgdl"): dict(lr=5e-3, beta=1.0, lam=1e-2),
            ("deblur", "sgdl"): dict(lr=5e-3, beta=0.1, lam=0.1),
            ("deblur", "mgdl"): dict(lr=5e-3, beta=0.01, lam=0.1)}
# §6 denoising, their best Butterfly σ = 10 runs (anchor-repo.md §4.3).
S6_HYPER = {"sgdl": dict(lr=1e-5, beta=1e-2, lam=0.7), "mgdl": dict(lr=5e-5, beta=1e-3, lam=1e-4)}

_S4 = dict(section=4, optimizer="adam", init="glorot", relu_prime_at_zero=0.0, seed=0, record_every=100,
           psnr_every=100, differences="forward", grade_scaling=True)
_S6 = dict(section=6, optimizer="gd", init="he-jax", relu_prime_at_zero=0.5, seed=42, record_every=100,
           psnr_every=100, differences="backward", grade_scaling=False)
RESTORATION_PROFILES: dict[int, dict[str, dict[str, object]]] = {
    4: {"paper": dict(_S4, epochs=20_000), "quick": dict(_S4, epochs=300, psnr_every=10, record_every=10,
                                                         quick_side=32)},
    6: {"paper": dict(_S6, epochs=100_000), "quick": dict(_S6, epochs=3_000)},
}


def degrade(clean: np.ndarray, problem: str, noise: float, blur: float = 0.0, noise_seed: int = 0) -> np.ndarray:
    """The observation f̂: f + (σ/255)·n (denoise) or A f + (σ/255)·n (deblur, A the Gaussian blur
    of σ̂ = ``blur``), n ~ N(0, 1) from ``default_rng(noise_seed)``, unclipped, float64."""
    clean = np.asarray(clean, dtype=np.float64)
    n = np.random.default_rng(noise_seed).standard_normal(clean.shape)
    base = clean if problem == "denoise" else GaussianBlur(blur)(torch.from_numpy(clean)).numpy()
    return base + (noise / 255.0) * n


def rms_scale(accumulated: torch.Tensor, observed: torch.Tensor) -> float:
    """ε_l of eq. (24) as the authors compute it: RMS(g_{l−1} − f̂) on every pixel."""
    return float(torch.sqrt(torch.mean((accumulated - observed) ** 2)))


@dataclass(frozen=True)
class RestorationRun(RunConfig):
    """One denoising or deblurring run on ``image``: ``problem`` "denoise" (noise σ = ``noise``)
    or "deblur" (blur σ̂ = ``blur``, noise 3/255), as section ``section`` (4 or 6) prepares it.
    :meth:`profile` gives the authors' protocol; the dataclass defaults are §4's MGDL."""

    method: str = "mgdl"
    lr: float = 5e-3
    epochs: int = 20_000
    image: str = "butterfly"
    problem: str = "denoise"
    # σ on the 0–255 scale; None: 10 to denoise, the paper's 3 to deblur
    noise: float | None = bounded(None, Bound(0.0, MAX_NOISE))
    # the Gaussian's σ̂ in pixels (deblur); below 10⁻³ its kernel's σ̂² underflows
    blur: float = bounded(0.0, Bound(0.0, MAX_BLUR, floor=1e-3))
    section: int = 4
    lam: float = bounded(1e-2, Bound(0.0, MAX_WEIGHT))  # λ of eq. (18)
    beta: float = bounded(1.0, Bound(0.0, MAX_WEIGHT, low_open=True))  # β of eq. (22)
    alpha: float = bounded(0.99, Bound(0.0, 1.0, low_open=True))  # the prox step's α, eq. (21)
    optimizer: str = "adam"
    init: str = "glorot"
    relu_prime_at_zero: float = 0.0
    seed: int = 0
    differences: str = "forward"
    grade_scaling: bool = True  # ε_l of eq. (24) (§4); §6's code uses none
    psnr_every: int = bounded(100, Bound(1, 10**9, integer=True))
    downscale: int = bounded(1, Bound(1, 4096, integer=True))
    noise_seed: int = bounded(0, Bound(0, 2**32 - 1, integer=True))
    image_sha256: str | None = None

    kind: ClassVar[str] = "restoration"
    task: ClassVar[str] = "restoration"
    methods: ClassVar[tuple[str, ...]] = ("sgdl", "mgdl")
    batchable: ClassVar[bool] = False  # one u per run: the stacked sweep does not carry it
    command: ClassVar[str] = "restore"
    options: ClassVar[tuple[str, ...]] = ("image", "section", "optimizer", "problem", "noise", "blur", "lam", "beta")
    about: ClassVar[str] = ("denoising / deblurring of §4 (Tables 2–3) and §6 (Figs 21–24) on the ROF objective "
                            "(Appendix C), SGDL / MGDL; --problem denoise --noise SIGMA or --problem deblur --blur SIGMA_HAT")

    @classmethod
    def cli_fields(cls, args, lr: float | None) -> dict:
        if args.method == "msdl" or args.section == 5:
            raise ConfigError("restore trains --method sgdl or mgdl, in --section 4 or 6")
        problem = "denoise" if args.problem is None else args.problem
        fields = {"image": "butterfly" if args.image is None else args.image,
                  "section": 4 if args.section is None else args.section, "problem": problem}
        if problem == "deblur":
            if args.blur is None:
                raise ConfigError("--problem deblur needs --blur SIGMA_HAT (the paper's 3, 5 or 7)")
            if args.noise is not None:
                raise ConfigError("--noise is denoising's: a blurred image gets the paper's noise σ = 3")
            fields["blur"] = args.blur
        else:
            if args.blur is not None:
                raise ConfigError("--blur is deblurring's: add --problem deblur")
            fields["noise"] = 10.0 if args.noise is None else args.noise
        return fields | {name: getattr(args, name) for name in ("lam", "beta", "optimizer")
                         if getattr(args, name) is not None}

    @classmethod
    def profile_lines(cls) -> list[str]:
        return image_profile_lines(RESTORATION_PROFILES)

    def title(self) -> str:
        level = f"σ={self.noise:g}" if self.problem == "denoise" else f"σ̂={self.blur:g}"
        return f"{self.image} (§{self.section}) {self.problem} {level}"

    def summary_lines(self, summary) -> list[str]:
        first = super().summary_lines(summary)[0]
        lines = [first, f"  objective (22)/(24) at the end: {summary.train_loss:.4e}"]
        if not summary.diverged:
            lines.append(f"  PSNR against the clean image: {restoration_psnr(summary):.2f} dB"
                         + (" (after each grade: " + ", ".join(f"{p:.2f}" for p in grade_psnrs(summary)) + ")"
                            if self.graded else ""))
        return lines

    @classmethod
    def sweep_table(cls, results) -> list[str]:
        return [f"{'η':>10} {'λ':>10} {'β':>10} {'outcome':>14} {'PSNR':>7}"] + [
            f"{r.config.lr:10.4g} {r.config.lam:10.4g} {r.config.beta:10.4g} {r.outcome:>14} {restoration_psnr(r):7.2f}"
            for r in results]

    def __post_init__(self) -> None:
        from ..core.step import STEPS
        from .images import available_images, resolve_image_field

        section = plain(self.section)
        if isinstance(section, bool) or section not in RESTORATION_PROFILES:
            raise ConfigError(f"restoration is in sections 4 and 6, not {self.section!r}")
        if self.problem not in PROBLEMS:
            raise ConfigError(f"unknown problem {self.problem!r}: use 'denoise' or 'deblur'")
        if self.method not in self.methods:
            raise ConfigError(f"restoration trains 'sgdl' or 'mgdl', not {self.method!r}")
        resolve_image_field(self, list(S6_DENOISE) if section == 6 else available_images(), section == 4,
                            f"§{section} restoration")
        if section == 6 and self.problem != "denoise":
            raise ConfigError("§6 restores by denoising only (Figs 21–24)")
        put = lambda k, v: object.__setattr__(self, k, v)
        if self.noise is None:
            put("noise", DEBLUR_NOISE if self.problem == "deblur" else 10.0)
        check_bounds(self)
        if self.problem == "deblur" and self.blur == 0:
            raise ConfigError("deblurring needs a blur: set blur to the Gaussian's σ̂ (the paper's 3, 5, 7)")
        if self.problem == "denoise" and self.blur != 0:
            raise ConfigError("a blur belongs to problem='deblur'")
        if self.optimizer not in STEPS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}: use one of {', '.join(STEPS)}")
        if self.differences not in FiniteDifference.DIRECTIONS:
            raise ConfigError(f"unknown differences {self.differences!r}: use 'forward' or 'backward'")
        if not isinstance(self.grade_scaling, bool):
            raise ConfigError(f"grade_scaling must be True or False, got {self.grade_scaling!r}")
        if self.early_stopping:
            raise ConfigError("restoration has no validation pixels to stop on: the authors train every "
                              "epoch and report the final PSNR")
        self._check()

    @classmethod
    def profile_values(cls, profile: str, overrides: dict) -> dict:
        """The authors' protocol for ``section`` (default 4), ``problem`` and ``method``; the
        quick profile downscales to a side of at most ``quick_side`` (32) for §4."""
        from .images import quick_downscale

        section = overrides.get("section", 4)
        if section not in RESTORATION_PROFILES:
            raise ConfigError(f"restoration is in sections 4 and 6, not {section!r}")
        values = dict(RESTORATION_PROFILES[section][check_profile(profile)])
        method, problem = overrides.get("method", cls.method), overrides.get("problem", cls.problem)
        values.update(S6_HYPER.get(method, {}) if section == 6 else S4_HYPER.get((problem, method), {}))
        side = values.pop("quick_side", None)
        if side is not None and "downscale" not in overrides:
            values["downscale"] = quick_downscale(overrides.get("image", cls.image), side)
        if problem == "deblur":
            values["noise"] = DEBLUR_NOISE
        return values

    @property
    def inputs(self) -> int:
        return 2

    def default_structure(self) -> str:
        return {4: {"sgdl": "(29)", "mgdl": "(33)"}, 6: {"sgdl": "(27)", "mgdl": "(31)"}}[self.section][self.method]

    # --- data ----------------------------------------------------------------------------------
    def clean_image(self) -> np.ndarray:
        """The ground truth as this run sees it: §4 the whole image (area-downscaled by
        ``downscale``), §6 the authors' small image (Barbara's top-right quadrant; every 2nd,
        then every 4th pixel)."""
        from ..errors import as_config_error
        from .baselines import downscale
        from .images import load_image

        with as_config_error():
            image = load_image(self.image, self.image_sha256)
        if self.section == 6:
            rows, cols = S6_DENOISE[self.image]
            image = image[rows, cols][::2, ::2][::4, ::4]
        return downscale(image, self.downscale) if self.downscale > 1 else np.asarray(image, dtype=np.float64)

    def observation(self) -> np.ndarray:
        return degrade(self.clean_image(), self.problem, self.noise, self.blur, self.noise_seed)

    def operators(self):
        """(A, B): the degradation and the TV differences of this run."""
        return (GaussianBlur(self.blur) if self.problem == "deblur" else Identity(),
                FiniteDifference(self.differences))

    def dataset(self) -> Dataset:
        """Train: every pixel's coordinates and the observation f̂; test: the same pixels and the
        clean image (what PSNR is measured against; never trained on)."""
        clean = self.clean_image()
        dtype, device = get_dtype(self.dtype), config_device(self)
        x = torch.as_tensor(pixel_grid(*clean.shape).reshape(-1, 2), dtype=dtype, device=device)
        col = lambda a: torch.as_tensor(a.reshape(-1, 1), dtype=dtype, device=device)
        return Dataset(train=Split(x, col(self.observation())), test=Split(x, col(clean)))

    def objective(self) -> RofObjective:
        A, B = self.operators()
        return RofObjective(self.clean_image().shape, A, B, self.beta, self.lam)

    def fit_plan(self, data: Dataset) -> FitPlan:
        """(20)–(21) on (22): SGDL, or MGDL grade by grade on (22) then (24) in "offset" mode,
        u carried across grades (u⁰ = 0), the inner optimiser restarted per grade."""
        rof = self.objective()
        rof.aux = Auxiliary(torch.zeros(2 * rof.shape[0], rof.shape[1], dtype=data.train.x.dtype,
                                        device=data.train.x.device))

        def carry_u(result) -> None:  # a grade trained before an interruption: the u it left
            rof.aux.u = result.step_state["u"].to(dtype=data.train.x.dtype, device=data.train.x.device)

        return FitPlan(objective=rof, make_step=lambda cfg, objective: ProxGradient(cfg.make_step(), objective, self.alpha),
                       mode="offset", scale=rms_scale if self.grade_scaling else None,
                       grade_objective=rof.for_grade, carry=carry_u, grade_splits=("train",))

    def extra_callbacks(self, data: Dataset) -> list:
        return [PsnrRecorder(self.psnr_every, data.test.y)]


class PsnrRecorder(Recorder):
    """PSNR of the reconstruction g against the clean image every ``every`` epochs, at 0 and at
    the end (Figs 8–14): ``psnr_epoch`` and ``psnr`` in the history."""

    epoch_key = "psnr_epoch"
    at_end = True

    def __init__(self, every: int, clean: torch.Tensor):
        super().__init__(every)
        self.clean = clean

    def record(self, state: TrainState) -> None:
        with torch.no_grad():
            image = state.objective.image(forward(state.net, state.data.train.x))
        state.append("psnr_epoch", state.epoch)
        state.append("psnr", psnr(image, self.clean))


def restoration_psnr(summary: RunSummary) -> float:
    """The final PSNR of a restoration run against the clean image (eq. 34)."""
    return math.nan if summary.diverged else -10.0 * math.log10(2.0 * summary.test_loss)


def grade_psnrs(summary: RunSummary) -> list[float]:
    """The PSNR at the end of each MGDL grade (SGDL: one value)."""
    h = summary.history
    if "psnr_grade" not in h:
        return [float(h["psnr"][-1])]
    grades = h["psnr_grade"]
    return [float(h["psnr"][np.flatnonzero(grades == g)[-1]]) for g in np.unique(grades)]
