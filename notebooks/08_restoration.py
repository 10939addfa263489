# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Denoising and deblurring (§4, Appendix C)
#
# The paper's headline image results: MGDL above SGDL by 0.16–4.23 dB in denoising (Table 2)
# and by 0.85–2.84 dB in deblurring (Table 3). An observed image $\hat{\mathbf f} = \mathbf A\mathbf f + \epsilon$
# is restored by a network $\mathcal N_\Theta$ from pixel coordinates to grey levels, laid out on
# the pixel grid as the image $\mathbf N_\Theta$. $\mathbf A$ is the identity (denoising) or a
# Gaussian blur of standard deviation $\hat\sigma$ (deblurring, with noise $\sigma = 3$). The
# model is Rudin–Osher–Fatemi total variation, eq. (18),
#
# $$\mathcal G(\Theta) = \tfrac12\|\hat{\mathbf f} - \mathbf A\mathbf N_\Theta\|_F^2 + \lambda\|\mathbf B\mathbf N_\Theta\|_{1,1},$$
#
# with $\mathbf B$ the first-order differences. The network is trained on its splitting (22),
#
# $$\mathcal L(\Theta, \mathbf u) = \tfrac12\|\hat{\mathbf f} - \mathbf A\mathbf N_\Theta\|_F^2 + \tfrac\beta2\|\mathbf u - \mathbf B\mathbf N_\Theta\|_F^2 + \lambda\|\mathbf u\|_{1,1},$$
#
# by the proximity-gradient algorithm (20)–(21): each epoch first sets
#
# $$\mathbf u^{k+1} = \operatorname{prox}_{\alpha\lambda/\beta\|\cdot\|_{1,1}}(\alpha\mathbf B\mathbf N_{\Theta^k} + (1-\alpha)\mathbf u^k)$$
#
# (soft-thresholding), then takes one Adam step on $\mathcal L(\Theta, \mathbf u^{k+1})$. MGDL's
# grade $l \ge 2$ trains $\mathbf g_l = \epsilon_l\mathcal N_{\Theta_l} + \mathbf g_{l-1}$ on the frozen
# features of the grades before it, objective (24), with $\mathbf u$ carried over and Adam
# restarted; $\epsilon_l$ is the RMS of $\mathbf g_{l-1} - \hat{\mathbf f}$, as the authors compute it.
#
# Everything follows the authors' code (`mgdl_core.restoration`): structures (29) and (33),
# $\alpha = 0.99$, their best $(\lambda, \beta, \eta)$ for Butterfly (used for every cell: the other
# cells' choices are not in their repository), the blur's $6\hat\sigma + 1$ taps with a symmetric
# boundary, forward differences, the final PSNR reported. The noise is drawn from NumPy's
# generator with seed 0 (theirs from JAX's): another realisation, which moves an input's PSNR
# by about 0.01 dB on a 512² image and 0.2 dB on a 32² one.

# %% tags=["parameters"]
profile = "quick"

# %% tags=["hide-input"]
# %matplotlib inline
from myst_nb import glue
from mgdl_core.book_style import glue_figure, use_book_style

from mgdl_core.plans import page_plan
from mgdl_core.records import default_runs_dir
from mgdl_core.restoration import RESTORATION_PROFILES, RestorationRun, grade_psnrs
from mgdl_core.restoration_plots import inputs_figure, training_figure
from mgdl_core.restoration_report import (ENERGY_ROOM, PSNR_ROOM, energy_text, pairs_by_cell, psnr_drops, restoration_claims,
                                          table_glue, table_rows)
from mgdl_core.sweep import sweep
use_book_style()  # the figures' text sizes for the book's column: mgdl_core.book_style

PLAN = page_plan("restoration", profile)
denoise = [RestorationRun.profile(profile, image=name, problem="denoise", noise=s, method=m)
           for name in PLAN["images"] for s in PLAN["noises"] for m in ("sgdl", "mgdl")]
deblur = [RestorationRun.profile(profile, image=name, problem="deblur", blur=b, method=m)
          for name in PLAN["images"] for b in PLAN["blurs"] for m in ("sgdl", "mgdl")]
example = denoise[0]
side = example.clean_image().shape[0]
glue("profile", profile, display=False)
glue("size", f"every image area-averaged to {side}×{side} pixels and {example.epochs:,} epochs (per grade for MGDL)"
     if example.downscale > 1 else f"the full images and {example.epochs:,} epochs (per grade for MGDL)", display=False)
glue("paper-epochs", f"{RESTORATION_PROFILES[4]['paper']['epochs']:,}", display=False)

# %% [markdown]
# This page was built with the **{glue:text}`profile`** profile: {glue:text}`size`. At this
# size the page shows the machinery, re-runnable in minutes; it proves nothing about the paper's
# 512² and 1024² images. The paper's protocol is {glue:text}`paper-epochs` epochs per grade on the
# full images (`make book PROFILE=paper`, or one cell from a shell, resumable:
# `python -c "from mgdl_core.restoration import RestorationRun; RestorationRun.profile('paper', image='butterfly', noise=10).run()"`).
#
# ## The degraded images (Figures 7 and 11)

# %% tags=["hide-input"]
fig = inputs_figure([c for c in denoise if c.method == "sgdl"])
glue_figure("fig-noisy", fig)
fig = inputs_figure([c for c in deblur if c.method == "sgdl"])
glue_figure("fig-blurred", fig)

# %% [markdown]
# {numref}`fig-noisy` and {numref}`fig-blurred` show the degraded inputs the networks restore.
#
# ```{glue:figure} fig-noisy
# :name: fig-noisy
# :alt: The noisy test images of the denoising problems, one per image and noise level, with their PSNR.
#
# The paper's Figure 7 at this page's sizes: each image with Gaussian noise of standard
# deviation σ (on the 0–255 scale), unclipped, titled with its PSNR against the clean image
# (20·log10(255/σ) on a large image, 28.13 dB at σ = 10; on a small one the realisation moves
# it by a few tenths of a dB).
# ```
#
# ```{glue:figure} fig-blurred
# :name: fig-blurred
# :alt: The blurred test images of the deblurring problems, one per image and blur level, with their PSNR.
#
# The paper's Figure 11 at this page's sizes: each image blurred by the Gaussian of standard
# deviation σ̂ (6σ̂ + 1 taps, symmetric boundary) plus noise σ = 3, titled with its PSNR.
# ```
#
# ## Tables 2 and 3
#
# Beside the networks, what a reader needs to judge them, from well-kept solvers
# (`mgdl_core.restoration_baselines`): the **ROF model (18) solved directly** with λ tuned
# against the clean image (denoising: a primal–dual method run to a duality gap of 10⁻⁶;
# deblurring: 5,000 Condat–Vũ iterations, without a certificate); scikit-image's
# **TV Chambolle** (isotropic, tolerance and iteration count explicit) tuned the same way;
# **BM3D** at the true σ for denoising, a tuned **Wiener** filter for deblurring. Tuning against
# the clean image is an oracle, as the authors' choice of λ, β and η was: every row is best-case.

# %%
runs = sweep(denoise + deblur, progress=False, out=default_runs_dir())
rows = table_rows(runs, bm3d=PLAN["bm3d"])

# %% tags=["hide-input"]
for key, text in table_glue(rows).items():
    glue(key, text, display=False)

# %% [markdown]
# Table 2, denoising: our PSNR in dB, and for the networks the paper's (for the full-size images)
# and the difference, ours − paper's; "–": a cell this profile does not run.
#
# | σ | method | Butterfly | Pirate | Chest |
# |---|---|---|---|---|
# | 10 | degraded input | {glue:text}`t2-10-input-butterfly` | {glue:text}`t2-10-input-pirate` | {glue:text}`t2-10-input-chest` |
# |  | SGDL (29) | {glue:text}`t2-10-sgdl-butterfly` | {glue:text}`t2-10-sgdl-pirate` | {glue:text}`t2-10-sgdl-chest` |
# |  | MGDL (33) | {glue:text}`t2-10-mgdl-butterfly` | {glue:text}`t2-10-mgdl-pirate` | {glue:text}`t2-10-mgdl-chest` |
# |  | ROF (18), tuned λ | {glue:text}`t2-10-tv-rof-butterfly` | {glue:text}`t2-10-tv-rof-pirate` | {glue:text}`t2-10-tv-rof-chest` |
# |  | TV Chambolle, tuned | {glue:text}`t2-10-tv-chambolle-butterfly` | {glue:text}`t2-10-tv-chambolle-pirate` | {glue:text}`t2-10-tv-chambolle-chest` |
# |  | BM3D | {glue:text}`t2-10-bm3d-butterfly` | {glue:text}`t2-10-bm3d-pirate` | {glue:text}`t2-10-bm3d-chest` |
# | 20 | degraded input | {glue:text}`t2-20-input-butterfly` | {glue:text}`t2-20-input-pirate` | {glue:text}`t2-20-input-chest` |
# |  | SGDL (29) | {glue:text}`t2-20-sgdl-butterfly` | {glue:text}`t2-20-sgdl-pirate` | {glue:text}`t2-20-sgdl-chest` |
# |  | MGDL (33) | {glue:text}`t2-20-mgdl-butterfly` | {glue:text}`t2-20-mgdl-pirate` | {glue:text}`t2-20-mgdl-chest` |
# |  | ROF (18), tuned λ | {glue:text}`t2-20-tv-rof-butterfly` | {glue:text}`t2-20-tv-rof-pirate` | {glue:text}`t2-20-tv-rof-chest` |
# |  | TV Chambolle, tuned | {glue:text}`t2-20-tv-chambolle-butterfly` | {glue:text}`t2-20-tv-chambolle-pirate` | {glue:text}`t2-20-tv-chambolle-chest` |
# |  | BM3D | {glue:text}`t2-20-bm3d-butterfly` | {glue:text}`t2-20-bm3d-pirate` | {glue:text}`t2-20-bm3d-chest` |
# | 30 | degraded input | {glue:text}`t2-30-input-butterfly` | {glue:text}`t2-30-input-pirate` | {glue:text}`t2-30-input-chest` |
# |  | SGDL (29) | {glue:text}`t2-30-sgdl-butterfly` | {glue:text}`t2-30-sgdl-pirate` | {glue:text}`t2-30-sgdl-chest` |
# |  | MGDL (33) | {glue:text}`t2-30-mgdl-butterfly` | {glue:text}`t2-30-mgdl-pirate` | {glue:text}`t2-30-mgdl-chest` |
# |  | ROF (18), tuned λ | {glue:text}`t2-30-tv-rof-butterfly` | {glue:text}`t2-30-tv-rof-pirate` | {glue:text}`t2-30-tv-rof-chest` |
# |  | TV Chambolle, tuned | {glue:text}`t2-30-tv-chambolle-butterfly` | {glue:text}`t2-30-tv-chambolle-pirate` | {glue:text}`t2-30-tv-chambolle-chest` |
# |  | BM3D | {glue:text}`t2-30-bm3d-butterfly` | {glue:text}`t2-30-bm3d-pirate` | {glue:text}`t2-30-bm3d-chest` |
# | 40 | degraded input | {glue:text}`t2-40-input-butterfly` | {glue:text}`t2-40-input-pirate` | {glue:text}`t2-40-input-chest` |
# |  | SGDL (29) | {glue:text}`t2-40-sgdl-butterfly` | {glue:text}`t2-40-sgdl-pirate` | {glue:text}`t2-40-sgdl-chest` |
# |  | MGDL (33) | {glue:text}`t2-40-mgdl-butterfly` | {glue:text}`t2-40-mgdl-pirate` | {glue:text}`t2-40-mgdl-chest` |
# |  | ROF (18), tuned λ | {glue:text}`t2-40-tv-rof-butterfly` | {glue:text}`t2-40-tv-rof-pirate` | {glue:text}`t2-40-tv-rof-chest` |
# |  | TV Chambolle, tuned | {glue:text}`t2-40-tv-chambolle-butterfly` | {glue:text}`t2-40-tv-chambolle-pirate` | {glue:text}`t2-40-tv-chambolle-chest` |
# |  | BM3D | {glue:text}`t2-40-bm3d-butterfly` | {glue:text}`t2-40-bm3d-pirate` | {glue:text}`t2-40-bm3d-chest` |
# | 50 | degraded input | {glue:text}`t2-50-input-butterfly` | {glue:text}`t2-50-input-pirate` | {glue:text}`t2-50-input-chest` |
# |  | SGDL (29) | {glue:text}`t2-50-sgdl-butterfly` | {glue:text}`t2-50-sgdl-pirate` | {glue:text}`t2-50-sgdl-chest` |
# |  | MGDL (33) | {glue:text}`t2-50-mgdl-butterfly` | {glue:text}`t2-50-mgdl-pirate` | {glue:text}`t2-50-mgdl-chest` |
# |  | ROF (18), tuned λ | {glue:text}`t2-50-tv-rof-butterfly` | {glue:text}`t2-50-tv-rof-pirate` | {glue:text}`t2-50-tv-rof-chest` |
# |  | TV Chambolle, tuned | {glue:text}`t2-50-tv-chambolle-butterfly` | {glue:text}`t2-50-tv-chambolle-pirate` | {glue:text}`t2-50-tv-chambolle-chest` |
# |  | BM3D | {glue:text}`t2-50-bm3d-butterfly` | {glue:text}`t2-50-bm3d-pirate` | {glue:text}`t2-50-bm3d-chest` |
# | 60 | degraded input | {glue:text}`t2-60-input-butterfly` | {glue:text}`t2-60-input-pirate` | {glue:text}`t2-60-input-chest` |
# |  | SGDL (29) | {glue:text}`t2-60-sgdl-butterfly` | {glue:text}`t2-60-sgdl-pirate` | {glue:text}`t2-60-sgdl-chest` |
# |  | MGDL (33) | {glue:text}`t2-60-mgdl-butterfly` | {glue:text}`t2-60-mgdl-pirate` | {glue:text}`t2-60-mgdl-chest` |
# |  | ROF (18), tuned λ | {glue:text}`t2-60-tv-rof-butterfly` | {glue:text}`t2-60-tv-rof-pirate` | {glue:text}`t2-60-tv-rof-chest` |
# |  | TV Chambolle, tuned | {glue:text}`t2-60-tv-chambolle-butterfly` | {glue:text}`t2-60-tv-chambolle-pirate` | {glue:text}`t2-60-tv-chambolle-chest` |
# |  | BM3D | {glue:text}`t2-60-bm3d-butterfly` | {glue:text}`t2-60-bm3d-pirate` | {glue:text}`t2-60-bm3d-chest` |
#
# Table 3, deblurring, the same way (σ̂: the blur's standard deviation; noise σ = 3):
#
# | σ̂ | method | Butterfly | Pirate | Chest |
# |---|---|---|---|---|
# | 3 | degraded input | {glue:text}`t3-3-input-butterfly` | {glue:text}`t3-3-input-pirate` | {glue:text}`t3-3-input-chest` |
# |  | SGDL (29) | {glue:text}`t3-3-sgdl-butterfly` | {glue:text}`t3-3-sgdl-pirate` | {glue:text}`t3-3-sgdl-chest` |
# |  | MGDL (33) | {glue:text}`t3-3-mgdl-butterfly` | {glue:text}`t3-3-mgdl-pirate` | {glue:text}`t3-3-mgdl-chest` |
# |  | ROF (18), tuned λ | {glue:text}`t3-3-tv-rof-butterfly` | {glue:text}`t3-3-tv-rof-pirate` | {glue:text}`t3-3-tv-rof-chest` |
# |  | Wiener, tuned | {glue:text}`t3-3-wiener-butterfly` | {glue:text}`t3-3-wiener-pirate` | {glue:text}`t3-3-wiener-chest` |
# | 5 | degraded input | {glue:text}`t3-5-input-butterfly` | {glue:text}`t3-5-input-pirate` | {glue:text}`t3-5-input-chest` |
# |  | SGDL (29) | {glue:text}`t3-5-sgdl-butterfly` | {glue:text}`t3-5-sgdl-pirate` | {glue:text}`t3-5-sgdl-chest` |
# |  | MGDL (33) | {glue:text}`t3-5-mgdl-butterfly` | {glue:text}`t3-5-mgdl-pirate` | {glue:text}`t3-5-mgdl-chest` |
# |  | ROF (18), tuned λ | {glue:text}`t3-5-tv-rof-butterfly` | {glue:text}`t3-5-tv-rof-pirate` | {glue:text}`t3-5-tv-rof-chest` |
# |  | Wiener, tuned | {glue:text}`t3-5-wiener-butterfly` | {glue:text}`t3-5-wiener-pirate` | {glue:text}`t3-5-wiener-chest` |
# | 7 | degraded input | {glue:text}`t3-7-input-butterfly` | {glue:text}`t3-7-input-pirate` | {glue:text}`t3-7-input-chest` |
# |  | SGDL (29) | {glue:text}`t3-7-sgdl-butterfly` | {glue:text}`t3-7-sgdl-pirate` | {glue:text}`t3-7-sgdl-chest` |
# |  | MGDL (33) | {glue:text}`t3-7-mgdl-butterfly` | {glue:text}`t3-7-mgdl-pirate` | {glue:text}`t3-7-mgdl-chest` |
# |  | ROF (18), tuned λ | {glue:text}`t3-7-tv-rof-butterfly` | {glue:text}`t3-7-tv-rof-pirate` | {glue:text}`t3-7-tv-rof-chest` |
# |  | Wiener, tuned | {glue:text}`t3-7-wiener-butterfly` | {glue:text}`t3-7-wiener-pirate` | {glue:text}`t3-7-wiener-chest` |
#
# ## The question the paper leaves open: optimiser, regulariser, or neither?
#
# What does training actually minimise? The scheme (20)–(21) descends the splitting (22), and
# (22) minimised over $\mathbf u$ is
# $J(\mathbf f) = \tfrac12\|\hat{\mathbf f} - \mathbf A\mathbf f\|_F^2 + \sum h(\mathbf B\mathbf f)$ with $h$ a
# Huber function: $\lambda|t| - \lambda^2/(2\beta)$ where a difference $|t|$ exceeds $\lambda/\beta$
# (total variation), $\beta t^2/2$ below it. So the networks do not minimise the ROF model (18)
# itself, which is $J$'s limit as $\beta \to \infty$. With the authors' values, MGDL denoising
# ($\lambda/\beta = 0.01$) is close to TV; SGDL denoising ($\lambda = 10^{-4}$) barely regularises;
# and in deblurring ($\lambda/\beta$ = 1 and 10) no difference of a $[0, 1]$ image reaches the TV
# part: $J$ is the quadratic smoother $\tfrac12\|\hat{\mathbf f} - \mathbf A\mathbf f\|^2 + \tfrac\beta2\|\mathbf B\mathbf f\|^2$.
#
# $J$ is smooth, so a direct solver minimises it over the pixels with a certificate
# (`restoration_baselines.solve_split`, L-BFGS on the exact gradient). For each network, the table
# below gives $\lambda/\beta$, its final $J$ divided by the minimum of the same $J$, its PSNR and the
# PSNR of that minimiser. A ratio above 1 means training did not solve its own problem; a PSNR
# above the minimiser's means that where training ended was a better image than its model's
# optimum: then the network and its budget regularise, and the objective does not.

# %%
print(energy_text(rows))

# %% [markdown]
# In {glue:text}`n-better` of the {glue:text}`n-nets` runs the network's final image has a higher
# PSNR than the minimiser of its own objective: there the network and its budget, not the
# objective, did the regularising. In the others training stopped short of an optimum that was
# also the better image. How many runs ended above {glue:text}`energy-room`× their minimum is the third checked line below.
#
# What the rows support on any machine (`mgdl_core.restoration_report.restoration_claims`): a
# PSNR difference is called only beyond {glue:text}`psnr-room` dB, an objective above its minimum
# only beyond {glue:text}`energy-room`×.

# %%
# NBVAL_CHECK_OUTPUT
print("\n".join(restoration_claims(rows)))

# %% tags=["hide-input"]
glue("psnr-room", f"{PSNR_ROOM:g}", display=False)
glue("energy-room", f"{1 + ENERGY_ROOM:g}", display=False)
nets = [r for r in rows if r.minimum is not None]
glue("n-nets", len(nets), display=False)
glue("n-better", sum(r.psnr > r.minimum_psnr for r in nets), display=False)
by = {(r.image, r.problem, r.level, r.method): r for r in rows}
first = PLAN["noises"][0]
for name in PLAN["images"]:
    for m in ("input", "sgdl", "mgdl", "tv-rof", "bm3d"):
        if (name, "denoise", first, m) in by:
            glue(f"{name}-{m}", f"{by[name, 'denoise', first, m].psnr:.2f}", display=False)
pairs = pairs_by_cell(runs)
glue("butterfly-grades", ", ".join(f"{p:.2f}" for p in grade_psnrs(pairs["butterfly", "denoise", first][1])),
     display=False)
glue("first-noise", f"{first:g}", display=False)
glue("sgdl-drops", sum(psnr_drops(s) for s, _ in pairs.values()), display=False)
glue("mgdl-drops", sum(psnr_drops(m) for _, m in pairs.values()), display=False)
glue("n-cells", len(pairs), display=False)
fig = training_figure([pair for (_, problem, level), pair in pairs.items() if (problem, level) == ("denoise", first)])
glue_figure("fig-denoise-training", fig)
fig = training_figure([pair for (_, problem, level), pair in pairs.items() if (problem, level) == ("deblur", PLAN["blurs"][0])])
glue_figure("fig-deblur-training", fig)

# %% [markdown]
# ## PSNR during training (Figures 8–14)
#
# On Butterfly at σ = {glue:text}`first-noise`, SGDL ends at {glue:text}`butterfly-sgdl` dB and MGDL at
# {glue:text}`butterfly-mgdl` dB (after each of its grades: {glue:text}`butterfly-grades` dB); the
# noisy input itself is {glue:text}`butterfly-input` dB, the tuned ROF solution
# {glue:text}`butterfly-tv-rof` dB and BM3D {glue:text}`butterfly-bm3d` dB. The measured classical
# baselines on the paper's full-size images (shared/notes/anchors.md §3) tell the same story:
# tuned TV and BM3D match or beat the paper's network numbers in most cells. A coordinate network
# trained on one noisy image is not a competitive denoiser; the paper's real subject is how
# *stably* the two networks train: in its Figures 8–14 SGDL's PSNR oscillates while MGDL's
# climbs grade by grade. Over this page's {glue:text}`n-cells` cells, SGDL's PSNR fell more than
# 1 dB below its best so far {glue:text}`sgdl-drops` times, MGDL's {glue:text}`mgdl-drops` times
# (within a grade); these runs are short, so few falls are expected either way.
#
# {numref}`fig-denoise-training` and {numref}`fig-deblur-training` follow the PSNR through training.
#
# ```{glue:figure} fig-denoise-training
# :name: fig-denoise-training
# :alt: Denoising: per image, the PSNR of SGDL and MGDL over the epochs, and their restored images.
#
# The paper's Figures 8–10 at this page's sizes (σ = {glue:text}`first-noise`): per image, the PSNR
# of SGDL and of MGDL during training (MGDL's grade boundaries dotted), and their final images
# with their PSNR.
# ```
#
# ```{glue:figure} fig-deblur-training
# :name: fig-deblur-training
# :alt: Deblurring: per image, the PSNR of SGDL and MGDL over the epochs, and their restored images.
#
# The paper's Figures 12–14 at this page's sizes: the same for deblurring.
# ```
