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
# The paper's headline image results: MGDL above SGDL by {glue:text}`paper-denoise-gains` dB in
# denoising (Table 2) and by {glue:text}`paper-deblur-gains` dB in deblurring (Table 3). An observed image $\hat{\mathbf f} = \mathbf A\mathbf f + \epsilon$
# is restored by a network $\mathcal N_\Theta$ from pixel coordinates to grey levels, laid out on
# the pixel grid as the image $\mathbf N_\Theta$. $\mathbf A$ is the identity (denoising) or a
# Gaussian blur of standard deviation $\hat\sigma$ (deblurring, with noise σ = {glue:text}`deblur-noise`). The
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
# Everything follows the authors' code (`mgdl_core.tasks.restoration`): structures (29) and (33),
# $\alpha = 0.99$, their best $(\lambda, \beta, \eta)$ for Butterfly (used for every cell: the other
# cells' choices are not in their repository), the blur's $6\hat\sigma + 1$ taps with a symmetric
# boundary, forward differences, the final PSNR reported. The noise is drawn from NumPy's
# generator with seed 0 (theirs from JAX's): another realisation. One realisation's input PSNR
# lies within {glue:text}`full-deviation` dB of its expected value on the full images and within
# {glue:text}`page-deviation` dB on this page's ({glue:text}`input-side`).

# %% tags=["parameters"]
profile = "quick"

# %% tags=["hide-input"]
# %matplotlib inline
from myst_nb import glue
from mgdl_core.tasks import RESTORATION_PROFILES, RestorationRun
from mgdl_core.runs import load_results, provenance_text, recorded_sweep
from mgdl_core.pages import (classical_full_facts, glue_facts, glue_figure, inputs_figure, page_plan, page_status,
    restoration_facts, restoration_tier_configs, restoration_tier_name, TIER_SIDES, training_figure, use_book_style)

from mgdl_core.pages import classical_full
from mgdl_core.pages.restoration_report import (energy_text, input_deviation, nominal_input_psnr, pairs_by_cell,
                                                paper_gain_range, restoration_claims, table_markdown, table_rows)
from IPython.display import Markdown
use_book_style()  # the figures' text sizes for the book's column: mgdl_core.pages.book_style

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
scale = (f"{side}×{side}, {example.epochs:,} epochs per grade, {profile} profile" if example.downscale > 1
         else f"full images, {example.epochs:,} epochs per grade")
glue("scale", scale, display=False)
glue("input-side", f"{side}×{side}" if example.downscale > 1 else "full size", display=False)
for problem in ("denoise", "deblur"):
    low, high = paper_gain_range(problem)
    glue(f"paper-{problem}-gains", f"{low:.2f}–{high:.2f}", display=False)
glue("deblur-noise", f"{deblur[0].noise:g}", display=False)
glue("nominal-10", f"{nominal_input_psnr(10):.2f}", display=False)
full_configs = [RestorationRun.profile("paper", image=name, problem="denoise", noise=s)
                for name in PLAN["images"] for s in PLAN["noises"]]
glue("full-deviation", f"{input_deviation(full_configs):.2f}", display=False)
glue("page-deviation", f"{input_deviation(denoise):.2f}", display=False)

# %% [markdown]
# This page was built with the **{glue:text}`profile`** profile: {glue:text}`size`. At this
# size the page shows the machinery; it proves nothing about the paper's 512² and 1024² images. The paper's protocol is {glue:text}`paper-epochs` epochs per grade on the
# full images (`make book PROFILE=paper`, or one cell from a shell, resumable:
# `python -c "from mgdl_core.tasks.restoration import RestorationRun; RestorationRun.profile('paper', image='butterfly', noise=10).run()"`).
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
# The paper's Figure 7 at this page's size ({glue:text}`input-side`): each image with Gaussian
# noise of standard deviation σ (on the 0–255 scale), unclipped, titled with its PSNR against the
# clean image (expected: 20·log10(255/σ), {glue:text}`nominal-10` dB at σ = 10; these lie within
# {glue:text}`page-deviation` dB of it).
# ```
#
# ```{glue:figure} fig-blurred
# :name: fig-blurred
# :alt: The blurred test images of the deblurring problems, one per image and blur level, with their PSNR.
#
# The paper's Figure 11 at this page's size ({glue:text}`input-side`): each image blurred by the
# Gaussian of standard deviation $\hat\sigma$ ($6\hat\sigma + 1$ taps, symmetric boundary) plus
# noise σ = {glue:text}`deblur-noise`, titled with its PSNR.
# ```
#
# ## Tables 2 and 3
#
# Beside the networks, what a reader needs to judge them, from well-kept solvers
# (`mgdl_core.tasks.restoration_baselines`): the **ROF model (18) solved directly** with λ tuned
# against the clean image (denoising: a primal–dual method run to a duality gap of 10⁻⁶;
# deblurring: 5,000 Condat–Vũ iterations, without a certificate); scikit-image's
# **TV Chambolle** (isotropic, tolerance and iteration count explicit) tuned the same way;
# **BM3D** at the true σ for denoising, a tuned **Wiener** filter for deblurring. Tuning against
# the clean image is an oracle, as the authors' choice of λ, β and η was: every row is best-case.

# %%
runs = recorded_sweep(denoise + deblur)
rows = table_rows(runs, bm3d=PLAN["bm3d"])

# %% tags=["hide-input"]
for problem in ("denoise", "deblur"):
    glue(f"table-{problem}", Markdown(table_markdown(rows, problem, f"{side}×{side}")), display=False)

# %% [markdown]
# Table 2, denoising: PSNR in dB. Our rows are computed at {glue:text}`scale`; the paper's two
# rows (in italics) are its Table 2, trained on the full images for {glue:text}`paper-epochs`
# epochs per grade. They are shown for reference, not compared: a difference between runs of
# different sizes measures the size. "–": no such row for that cell.
#
# ```{glue:md} table-denoise
# :format: myst
# ```
#
# Table 3, deblurring, the same way ($\hat\sigma$: the blur's standard deviation; noise
# σ = {glue:text}`deblur-noise`):
#
# ```{glue:md} table-deblur
# :format: myst
# ```
#
# ## The question the paper leaves open: optimiser, regulariser, or neither?
#
# What does training actually minimise? The scheme (20)–(21) descends the splitting (22), and
# (22) minimised over $\mathbf u$ is
# $J(\mathbf f) = \tfrac12\|\hat{\mathbf f} - \mathbf A\mathbf f\|_F^2 + \sum h(\mathbf B\mathbf f)$ with $h$ a
# Huber function: $\lambda|t| - \lambda^2/(2\beta)$ where a difference $|t|$ exceeds $\lambda/\beta$
# (total variation), $\beta t^2/2$ below it. So the networks do not minimise the ROF model (18)
# itself, which is $J$'s limit as $\beta \to \infty$. With the authors' values, MGDL denoising
# ($\lambda/\beta$ = {glue:text}`mgdl-denoise-ratio`) is close to TV; SGDL denoising
# ($\lambda$ = {glue:text}`sgdl-denoise-lam`, $\lambda/\beta$ = {glue:text}`sgdl-denoise-ratio`)
# barely regularises; and in deblurring ($\lambda/\beta$ = {glue:text}`sgdl-deblur-ratio` for
# SGDL, {glue:text}`mgdl-deblur-ratio` for MGDL) no difference of a $[0, 1]$ image reaches the TV
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
# also the better image. How many runs ended above {glue:text}`energy-room`× their minimum is the
# checked line "network runs: objective over {glue:text}`energy-room`× its minimum" below.
#
# What the rows support on any machine (`mgdl_core.pages.restoration_report.restoration_claims`): a
# PSNR difference is called only beyond {glue:text}`psnr-room` dB, an objective above its minimum
# only beyond {glue:text}`energy-room`×.

# %%
# NBVAL_CHECK_OUTPUT
print("\n".join(restoration_claims(rows)))

# %% tags=["hide-input"]
pairs, first = pairs_by_cell(runs), PLAN["noises"][0]
glue_facts(restoration_facts(rows, pairs, (denoise[0], denoise[1], deblur[0], deblur[1]), PLAN))  # SGDL, MGDL each
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
# {glue:text}`butterfly-tv-rof` dB and BM3D {glue:text}`butterfly-bm3d` dB. At this page's size a
# tuned classical method beats both networks in {glue:text}`classical-beaten` (the last checked
# line above); on the full-size images, where the paper's numbers are, see
# [the classical methods at full size](classical-full) below. The paper's subject is how *stably* the two networks train: in its Figures 8–14 SGDL's PSNR
# oscillates while MGDL's climbs grade by grade. Over this page's {glue:text}`n-cells` cells,
# {glue:text}`drops`.
#
# {numref}`fig-denoise-training` and {numref}`fig-deblur-training` follow the PSNR through training.
#
# ```{glue:figure} fig-denoise-training
# :name: fig-denoise-training
# :alt: Denoising: per image, the PSNR of SGDL and MGDL over the epochs, and their restored images.
#
# The paper's Figures 8–10 computed at {glue:text}`scale` (σ = {glue:text}`first-noise`): per
# image, the PSNR of SGDL and of MGDL during training (MGDL's grade boundaries dotted), and their
# final images with their PSNR.
# ```
#
# ```{glue:figure} fig-deblur-training
# :name: fig-deblur-training
# :alt: Deblurring: per image, the PSNR of SGDL and MGDL over the epochs, and their restored images.
#
# The paper's Figures 12–14 computed at {glue:text}`scale` ($\hat\sigma$ =
# {glue:text}`first-blur`): the same for deblurring.
# ```

# %% [markdown]
# (restoration-tier)=
# ## At the paper's protocol, on images of at most {glue:text}`tier-side` pixels a side
#
# The middle tier between this page's quick runs and the paper's full images: every cell of
# Tables 2 and 3 with the paper's protocol ({glue:text}`paper-epochs` epochs per run or grade,
# the authors' hyper-parameters) on each image area-averaged to at most
# {glue:text}`tier-side`×{glue:text}`tier-side` pixels (`mgdl_core.pages.plans.restoration_tier_configs`).
# The runs are items of the paper queue (`mgdl paper plan --only restoration/t`), committed in
# `results/` under names that carry the side; the first table counts what is computed and what is
# left, with the hours left on one core of the project's CPU.

# %%
# NBVAL_CHECK_OUTPUT
# The paper queue's part for this page: committed data, the same on every machine.
print(page_status("restoration"))

# %%
# The committed results/ folder (verified when read); a run not exported yet is left out.
tier = load_results({restoration_tier_name(c): restoration_tier_name(c) for c in restoration_tier_configs()})
tier_side = TIER_SIDES["restoration"]
glue("tier-side", f"{tier_side}", display=False)
glue("tier-provenance", provenance_text(tier.values()) if tier else "no run yet", display=False)
tier_rows = table_rows([r.run for r in tier.values()], bm3d=PLAN["bm3d"]) if tier else []
for problem in ("denoise", "deblur"):
    text = (table_markdown(tier_rows, problem, f"{tier_side}×{tier_side}, the paper's protocol")
            if any(r.problem == problem for r in tier_rows) else "No run of this tier is committed yet.")
    glue(f"tier-table-{problem}", Markdown(text), display=False)

# %% [markdown]
# Table 2 at this tier (denoising, PSNR in dB; the paper's rows are its full-size numbers, shown
# for reference, not compared):
#
# ```{glue:md} tier-table-denoise
# :format: myst
# ```
#
# Table 3 at this tier (deblurring):
#
# ```{glue:md} tier-table-deblur
# :format: myst
# ```
#
# Provenance: {glue:text}`tier-provenance`.


# %% [markdown]
# (classical-full)=
# ## The classical methods on the full-size images
#
# The networks' numbers of the paper's Tables 2 and 3 are for the full-size images, which this
# page's networks do not reach (the paper queue trains them at the middle tier above). The
# classical methods take minutes per cell there: `mgdl paper classical` (`mgdl_core.pages.classical_full`)
# computes them on every cell of both tables, on the same observation as a paper-protocol run
# (the noise from NumPy's generator with seed 0), once, and commits them in `results/classical/`:
# the tuned ROF model (18) (denoising: solved to a relative duality gap of
# {glue:text}`full-denoise-tol`, as above; deblurring: {glue:text}`full-deblur-iterations`
# Condat–Vũ iterations, not converged), Chambolle's TV and
# BM3D (denoising) and a Wiener filter (deblurring), each tuned by PSNR against the clean image
# (an oracle, as the authors chose their own parameters). The paper's network numbers are in the
# same table, on the same images, so here the two can be compared.

# %% tags=["hide-input"]
full_rows = classical_full.read_rows()  # committed, verified when read: the same on every machine
for problem in ("denoise", "deblur"):
    methods = ("input", "tv-rof", "tv-chambolle", "bm3d") if problem == "denoise" else ("input", "tv-rof", "wiener")
    text = (table_markdown(full_rows, problem, "full size", methods)
            if any(r.problem == problem for r in full_rows) else "Not computed yet (`mgdl paper classical`).")
    glue(f"full-table-{problem}", Markdown(text), display=False)
glue_facts(classical_full_facts(full_rows))

# %%
# NBVAL_CHECK_OUTPUT
# Committed data: exact. The best tuned classical method against the paper's networks, cell by cell.
print("\n".join(classical_full.paper_claims(full_rows)) if full_rows else "not computed yet")

# %% [markdown]
# Table 2 at full size (denoising, PSNR in dB), the classical methods beside the paper's networks:
#
# ```{glue:md} full-table-denoise
# :format: myst
# ```
#
# Table 3 at full size (deblurring):
#
# ```{glue:md} full-table-deblur
# :format: myst
# ```
#
# Provenance: {glue:text}`full-provenance`.
#
# In the cells computed so far, the best tuned classical method is above the paper's SGDL in
# {glue:text}`full-t2-sgdl` denoising cells and {glue:text}`full-t3-sgdl` deblurring cells, and
# above the paper's MGDL in {glue:text}`full-t2-mgdl` and {glue:text}`full-t3-mgdl`. The
# classical methods are tuned by an oracle and the noise is another realisation than the
# authors' (the input PSNRs differ by at most {glue:text}`full-deviation` dB from their expected
# values), so a margin of a few tenths of a dB is not a verdict on the networks; the paper's
# Tables 2 and 3 compare its two networks with each other only.
