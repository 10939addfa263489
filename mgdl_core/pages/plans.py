"""The sizes of each book page's experiments under the ``quick`` and ``paper`` profiles.

A page asks ``page_plan("learning_rate", profile)`` and gets its epochs, tracking intervals and
sweep sizes. ``paper`` is the paper's protocol; ``quick`` the same tasks with few epochs and
rates, so that the whole book builds in minutes on a 2-core CPU (CI's profile). They live here,
not in the notebooks, so that a page, the ``mgdl`` command and a test mean the same run by the
same words. The per-run defaults (a single run's epochs and stopping rule) are
:data:`mgdl_core.tasks.base.PROFILES`.
"""
from __future__ import annotations

from types import MappingProxyType

from ..errors import ConfigError
from ..tasks.base import check_profile

_PLANS: dict[str, dict[str, dict[str, object]]] = {
    # Theory (§2–3, §6 Theorems 4–5, Appendix A): the rate-bound part reads the runs of the §5
    # and §6 pages (their plans, the same records); GD beside (7) on one grade of 24 parameters
    # with a dense Hessian per step; MGDL with convex grades on ``points`` of Setting 1 (later
    # grades: the patterns of ``samples`` random directions) beside GD grades of ``width``.
    "theory": {
        "quick": dict(linear_steps=5_000, points=32, grades=3, beta=0.05, width=32, gd_lr=0.005, gd_steps=4_000,
                      samples=300),
        "paper": dict(linear_steps=20_000, points=32, grades=3, beta=0.05, width=32, gd_lr=0.005,
                      gd_steps=100_000, samples=2_000),
    },
    # §4 Table 1, Figs 5–6: every available image (Walnut's file is not public). A run's own sizes
    # (epochs, downscaling, Adam) are its section's protocol: mgdl_core.tasks.image_regression.
    # The Fourier-feature MLP beside the paper's networks: on Cameraman in quick, everywhere in paper.
    "images": {
        "quick": dict(images=("cameraman", "barbara", "butterfly", "pirate", "chest"), fourier_images=("cameraman",)),
        "paper": dict(images=("cameraman", "barbara", "butterfly", "pirate", "chest"),
                      fourier_images=("cameraman", "barbara", "butterfly", "pirate", "chest")),
    },
    # §4 Tables 2–3, Figs 7–14: every cell of the paper in ``paper`` (its protocol: 2·10^4 epochs per
    # grade on the full images); quick: two noise levels and one blur on the three images, each
    # downscaled to 32² for 300 epochs (mgdl_core.tasks.restoration.RESTORATION_PROFILES). BM3D: the
    # bm3d package, 30–60 s per 512² image on this CPU.
    "restoration": {
        "quick": dict(images=("butterfly", "pirate", "chest"), noises=(10, 40), blurs=(3,), bm3d=True),
        "paper": dict(images=("butterfly", "pirate", "chest"), noises=(10, 20, 30, 40, 50, 60), blurs=(3, 5, 7),
                      bm3d=True),
    },
    # §5: 8 or 30 log-spaced rates in [0.001, 0.5]; SGDL's epochs = MGDL's 4 grades together.
    # paper: 10^6 GD epochs (per grade for MGDL) with the authors' early stopping.
    "learning_rate": {
        "quick": dict(rates=8, sgdl_epochs=6_000, mgdl_epochs=1_500, early_stopping=False,
                      img_images=("resolution_chart", "cameraman", "barbara", "pirate"), img_rates=3),
        "paper": dict(rates=30, sgdl_epochs=1_000_000, mgdl_epochs=1_000_000, early_stopping=True,
                      img_images=("resolution_chart", "cameraman", "barbara", "pirate"), img_rates=12),
    },
    # §6: about a dozen spectra per run (per grade for MGDL) in quick; the paper: 10^6 epochs (per
    # grade) with a spectrum every 10^4, as the authors' code. Images (Figure 3): their §6 code
    # trains 5·10^5 epochs (per grade), a spectrum every 10^4. Full size: structure (28), beyond
    # the paper; quick on the §6 Cameraman (4,096 training pixels), paper on Cameraman's whole
    # ¼ grid (16,384 pixels, as in §4).
    # Figs 21–24 (den_*): §6 denoising on the authors' small Butterfly (64²) and Barbara (32²) at
    # σ = 10 and 30, their spectra every 2,000 (SGDL) and 5,000 (MGDL) epochs as their code.
    # Figs 18–20 (s6_*): Cameraman, Barbara's quadrant, Butterfly at the paper's rates; quick halves
    # Butterfly's §6 image (to Cameraman's 4,096 training pixels) and trains a few thousand epochs.
    "eigenvalues": {
        "quick": dict(sgdl_epochs=6_000, mgdl_epochs=1_500, sgdl_every=500, mgdl_every=250, early_stopping=False,
                      img_sgdl_epochs=4_000, img_mgdl_epochs=1_000, img_sgdl_every=500, img_mgdl_every=250,
                      full_epochs=300, full_every=300, full_section=6,
                      s6_images=("cameraman", "barbara", "butterfly"), s6_sgdl_epochs=1_500, s6_mgdl_epochs=400,
                      s6_sgdl_every=500, s6_mgdl_every=200, s6_downscale={"butterfly": 2},
                      den_images=("butterfly", "barbara"), den_noises=(10,), den_sgdl_epochs=1_500,
                      den_mgdl_epochs=400, den_sgdl_every=500, den_mgdl_every=200),
        "paper": dict(sgdl_epochs=1_000_000, mgdl_epochs=1_000_000, sgdl_every=10_000, mgdl_every=10_000,
                      early_stopping=True, img_sgdl_epochs=500_000, img_mgdl_epochs=500_000,
                      img_sgdl_every=10_000, img_mgdl_every=10_000, full_epochs=10_000, full_every=1_000,
                      full_section=4, s6_images=("cameraman", "barbara", "butterfly"), s6_sgdl_epochs=500_000,
                      s6_mgdl_epochs=500_000, s6_sgdl_every=10_000, s6_mgdl_every=10_000, s6_downscale={},
                      den_images=("butterfly", "barbara"), den_noises=(10, 30), den_sgdl_epochs=100_000,
                      den_mgdl_epochs=100_000, den_sgdl_every=2_000, den_mgdl_every=5_000),
    },
    # §7: the MGDL runs are those of the §6 page and the rate sweep reuses the §5 page's MGDL runs
    # (the same configurations, so their records are read, not trained again).
    "msdl": {
        "quick": dict(msdl_epochs=6_000, mgdl_epochs=1_500, msdl_every=500, mgdl_every=250, early_stopping=False,
                      rates=8, sweep_msdl_epochs=3_000),
        "paper": dict(msdl_epochs=1_000_000, mgdl_epochs=1_000_000, msdl_every=10_000, mgdl_every=10_000,
                      early_stopping=True, rates=30, sweep_msdl_epochs=1_000_000),
    },
}


def page_plan(page: str, profile: str) -> MappingProxyType:
    """The read-only sizes of ``page``'s experiments under ``profile`` (``quick`` or ``paper``)."""
    if page not in _PLANS:
        raise ConfigError(f"unknown page {page!r}: the pages with a plan are {', '.join(_PLANS)}")
    return MappingProxyType(_PLANS[page][check_profile(profile)])


def pages() -> list[str]:
    """The pages that have a plan."""
    return list(_PLANS)


# The runs several pages share, built in one place so that the pages ask for the same
# configurations (hence read the same records) and cannot drift apart.
# The paper's rates of the §6 tracked runs (Figures 2 and 16), chosen there by validation loss.
TRACKED_RATES = MappingProxyType({(1, "sgdl"): 0.08, (1, "mgdl"): 0.06, (2, "sgdl"): 0.005, (2, "mgdl"): 0.2})
SWEEP_KEYS = ((1, "sgdl"), (1, "mgdl"), (2, "sgdl"), (2, "mgdl"))


def tracked_configs(profile: str) -> dict:
    """The §6 page's SGDL and MGDL runs with spectra, keyed (setting, method), at the paper's
    rates (:data:`TRACKED_RATES`) and the ``eigenvalues`` plan's sizes."""
    from ..tasks.synthetic import SyntheticRun

    plan = page_plan("eigenvalues", profile)
    return {(s, m): SyntheticRun(setting=s, method=m, lr=lr, epochs=plan[f"{m}_epochs"],
                                 track_every=plan[f"{m}_every"], early_stopping=plan["early_stopping"])
            for (s, m), lr in TRACKED_RATES.items()}


def rate_sweep_configs(profile: str) -> list:
    """The §5 page's sweep: for each (setting, method) of :data:`SWEEP_KEYS` in turn, one run per
    rate of the ``learning_rate`` plan (log-spaced over [0.001, 0.5])."""
    from ..runs.sweeps import log_rates
    from ..tasks.synthetic import SyntheticRun

    plan = page_plan("learning_rate", profile)
    return [SyntheticRun(setting=s, method=m, lr=float(lr),
                         epochs=plan["sgdl_epochs"] if m == "sgdl" else plan["mgdl_epochs"],
                         early_stopping=plan["early_stopping"])
            for s, m in SWEEP_KEYS for lr in log_rates(0.001, 0.5, plan["rates"])]


# §5's ReLU'(0) detail: grade 1 of Setting 1's MGDL alone, long enough for the convention to show
# (about 10 s per run on a CPU core), the same in every profile.
RELU0_EPOCHS = 100_000


def relu0_configs() -> dict:
    """The §5 page's two runs on ReLU'(0), keyed by its value: the first MGDL grade of Setting 1
    at η = 0.06 (structure [1]→[32]→[1]) from the same initialisation, with JAX's ReLU'(0) = 1/2
    (the authors', every other run of the page) and PyTorch's 0."""
    from ..tasks.synthetic import SyntheticRun

    return {c: SyntheticRun(setting=1, method="mgdl", lr=0.06, epochs=RELU0_EPOCHS, structure="[1]->[32]->[1]",
                            relu_prime_at_zero=c) for c in (0.5, 0.0)}


# The paper's MSDL rates of §7 (Figures 25–26); its MGDL runs are the §6 tracked ones.
MSDL_RATES = MappingProxyType({1: 0.004, 2: 0.006})


def msdl_tracked_configs(profile: str) -> dict:
    """The §7 page's MSDL runs with spectra, keyed (setting, "msdl"), at :data:`MSDL_RATES` and
    the ``msdl`` plan's sizes."""
    from ..tasks.synthetic import SyntheticRun

    plan = page_plan("msdl", profile)
    return {(s, "msdl"): SyntheticRun(setting=s, method="msdl", lr=lr, epochs=plan["msdl_epochs"],
                                      track_every=plan["msdl_every"], early_stopping=plan["early_stopping"])
            for s, lr in MSDL_RATES.items()}


def msdl_page_configs(profile: str) -> tuple[dict, list]:
    """The §7 page's runs. With spectra, keyed (setting, method) in the page's order: MSDL at
    :data:`MSDL_RATES` (:func:`msdl_tracked_configs`) beside §6's MGDL (:func:`tracked_configs`).
    And Figure 28's sweep: for settings 1 then 2, MSDL then MGDL, one run per rate of the ``msdl``
    plan (log-spaced over [0.001, 0.5])."""
    from ..runs.sweeps import log_rates
    from ..tasks.synthetic import SyntheticRun

    plan = page_plan("msdl", profile)
    msdl, mgdl = msdl_tracked_configs(profile), tracked_configs(profile)
    tracked = {(s, m): (msdl if m == "msdl" else mgdl)[s, m] for s in (1, 2) for m in ("msdl", "mgdl")}
    swept = [SyntheticRun(setting=s, method=m, lr=float(lr),
                          epochs=plan["sweep_msdl_epochs"] if m == "msdl" else plan["mgdl_epochs"],
                          early_stopping=plan["early_stopping"])
             for s in (1, 2) for m in ("msdl", "mgdl") for lr in log_rates(0.001, 0.5, plan["rates"])]
    return tracked, swept


def denoise_configs(profile: str) -> list:
    """The §6 page's denoising runs with spectra (Figures 21–24): each image and noise level of
    the ``eigenvalues`` plan, SGDL then MGDL, the authors' §6 protocol."""
    from ..tasks.restoration import RestorationRun

    plan = page_plan("eigenvalues", profile)
    return [RestorationRun.profile(profile, section=6, image=name, noise=sigma, method=m,
                                   epochs=plan[f"den_{m}_epochs"], track_every=plan[f"den_{m}_every"])
            for name in plan["den_images"] for sigma in plan["den_noises"] for m in ("sgdl", "mgdl")]


def s6_image_configs(profile: str) -> list:
    """The §6 page's image-regression runs with spectra (Figures 18–20): each image of the
    ``eigenvalues`` plan at the paper's rates, SGDL then MGDL."""
    from ..tasks.image_regression import S6_RATES, ImageRegressionRun

    plan = page_plan("eigenvalues", profile)
    return [ImageRegressionRun.profile(profile, section=6, image=name, method=m, lr=S6_RATES[name][i],
                                       epochs=plan[f"s6_{m}_epochs"], track_every=plan[f"s6_{m}_every"],
                                       early_stopping=plan["early_stopping"],
                                       downscale=plan["s6_downscale"].get(name, 1))
            for name in plan["s6_images"] for i, m in enumerate(("sgdl", "mgdl"))]


# The paper's Figure 3 rates (Resolution chart, §6 pixel subset) and this book's rate for the
# full-size network (28), which the paper does not train with spectra.
FIG3_RATES = MappingProxyType({"sgdl": 0.02, "mgdl": 0.2})
FULL_SIZE_RATE = 0.01


def fig3_configs(profile: str) -> dict:
    """The §6 page's Figure 3 runs with spectra, keyed ``sgdl``, ``mgdl`` and ``mgdl-eigstop``
    (MGDL with the authors' rule that stops a grade once the smallest eigenvalue of I − ηH is
    below −0.95), at :data:`FIG3_RATES` and the ``eigenvalues`` plan's sizes."""
    from ..tasks.image_regression import ImageRegressionRun

    plan = page_plan("eigenvalues", profile)
    configs = {m: ImageRegressionRun(image="resolution_chart", method=m, lr=FIG3_RATES[m],
                                     epochs=plan[f"img_{m}_epochs"], track_every=plan[f"img_{m}_every"],
                                     early_stopping=plan["early_stopping"], rel_error=rel_error)
               for m, rel_error in (("sgdl", 1e-4), ("mgdl", 1e-5))}
    configs["mgdl-eigstop"] = configs["mgdl"].replace(eig_stop=-0.95)
    return configs


def full_size_config(profile: str):
    """The §6 page's full-size image network (28), SGDL on Cameraman at :data:`FULL_SIZE_RATE`,
    a spectrum every ``full_every`` epochs of the ``eigenvalues`` plan."""
    from ..tasks.image_regression import ImageRegressionRun

    plan = page_plan("eigenvalues", profile)
    return ImageRegressionRun(image="cameraman", section=plan["full_section"], method="sgdl", structure="(28)",
                              lr=FULL_SIZE_RATE, epochs=plan["full_epochs"], track_every=plan["full_every"],
                              record_every=10)


# The middle tier between quick and full size: the paper's protocol (optimiser, rate, epochs,
# early stopping, hyper-parameters) on each image area-averaged to a side of at most this many
# pixels, where the full size is out of a CPU's reach. Its results carry the side in their names
# and every page that shows them says it. Table 1: Cameraman is 256² already (its full size).
TIER_SIDES = MappingProxyType({"images": 256, "restoration": 64})


def table1_configs(side: int | None = None) -> list:
    """Table 1 at the paper's protocol (§4: Adam, 10^4 epochs per run or grade, early stopping)
    on every image of the ``images`` plan area-averaged to at most ``side`` (default
    :data:`TIER_SIDES`), SGDL then MGDL per image."""
    from ..tasks.image_regression import ImageRegressionRun
    from ..tasks.images import quick_downscale

    side = side or TIER_SIDES["images"]
    return [ImageRegressionRun.profile("paper", section=4, image=name, method=m, downscale=quick_downscale(name, side))
            for name in page_plan("images", "paper")["images"] for m in ("sgdl", "mgdl")]


def restoration_tier_configs(side: int | None = None) -> list:
    """Tables 2 and 3 at the paper's protocol (§4: the authors' hyper-parameters, 2·10^4 epochs
    per run or grade) on each image of the ``restoration`` plan area-averaged to at most ``side``
    (default :data:`TIER_SIDES`): every noise level, then every blur, SGDL then MGDL per cell."""
    from ..tasks.images import quick_downscale
    from ..tasks.restoration import RestorationRun

    side = side or TIER_SIDES["restoration"]
    plan = page_plan("restoration", "paper")
    cells = [("denoise", dict(noise=s)) for s in plan["noises"]] + [("deblur", dict(blur=b)) for b in plan["blurs"]]
    return [RestorationRun.profile("paper", image=name, problem=problem, method=m,
                                   downscale=quick_downscale(name, side), **level)
            for problem, level in cells for name in plan["images"] for m in ("sgdl", "mgdl")]

