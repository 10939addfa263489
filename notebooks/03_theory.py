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
# # The theorems beside the numbers (§2–3, §6, Appendices A–B)
#
# The paper proves five results. This page puts each statement next to a computation that
# tests it, and says where the computation and the statement part ways.
#
# - **Theorems 1 and 2** (§2, §3): GD (2) on the loss (1) of SGDL, and GD (4) on the loss (3)
#   of each MGDL grade, converge when the learning rate is below $2/\alpha$, with
#   $\alpha = \sup\|\mathbf H\|$ over a compact set holding the iterates ($\alpha_l$ for grade
#   $l$). The paper argues $\alpha_l \ll \alpha$, so MGDL tolerates larger rates (below: at
#   the paper's own scale the runs do not bear this out).
# - **Theorems 4 and 5** (§6): GD written as (6) and its linearisation (7),
#   $\tilde W^{k+1} = \mathbf A^{k-1}\tilde W^k - \eta u^{k-1}$ with
#   $\mathbf A^{k-1} = \mathbf I - \eta \mathbf H(W^{k-1})$, converge, and to the same point,
#   when $\tau = \sup\|\mathbf I - \eta\mathbf H\| < 1$.
# - **Theorem 3** (§3, Appendix A): a grade with one hidden ReLU layer, problem (8), has the
#   optimal value of the convex program (9) over the data's activation patterns, and the
#   optimal network is recovered from the program's solution.

# %% tags=["parameters"]
profile = "quick"

# %% tags=["hide-input"]
# %matplotlib inline
import numpy as np
from myst_nb import glue
from mgdl_core.theory import convex_mgdl, gd_mgdl, linearised_gd
from mgdl_core.tasks import get_setting
from mgdl_core.runs import load_results, recorded_sweep
from mgdl_core.pages import (alpha_scale_text, convex_claims, convex_facts, convex_fit_figure, convex_rows,
    edge_claims, glue_facts, glue_figure, grade_problem, linearisation_facts, linearisation_figure, page_plan,
    path_claims, rate_bound_facts, rate_bound_figure, rate_claims, rate_sweep_configs, rate_text, split_runs,
    SWEEP_KEYS, tracked_configs, TRACKED_RATES, use_book_style)

use_book_style()  # the figures' text sizes for the book's column: mgdl_core.pages.book_style

PLAN = page_plan("theory", profile)
glue("profile", profile, display=False)

# %% [markdown]
# This page was built with the **{glue:text}`profile`** profile. Its first part reads the
# runs of the [learning-rate page](05_learning_rate) and the
# [eigenvalue page](06_eigenvalues) (the same configurations, so the same records: nothing is
# trained twice), and the committed paper-scale runs of the eigenvalue page (`results/`); the
# other two parts compute their small problems here.
#
# ## Theorems 1 and 2: the rate bound along real runs
#
# The compact set of the theorems is not known in practice. The eigenvalue tracker records
# $\|\mathbf H\|$ at every checkpoint of a run, so $\hat\alpha$, the largest value recorded,
# is a lower estimate of $\alpha$ along that run (of $\alpha_l$ for each MGDL grade): where
# $\eta\hat\alpha \ge 2$, the theorems' sufficient condition already fails on the run's own
# path.

# %%
# The §6 page's tracked runs and the §5 page's sweep, built by mgdl_core.pages.plans for all three pages.
tracked_runs = tracked_configs(profile)
results = recorded_sweep([*tracked_runs.values(), *rate_sweep_configs(profile)])
tracked = dict(zip(tracked_runs, results[:len(tracked_runs)]))
sweeps = split_runs(results[len(tracked_runs):], SWEEP_KEYS)

# %%
# The numbers of the quick runs, for the reader (not checked: the largest ‖H‖ of a run near the
# edge of stability moves by a few per cent with the CPU's rounding).
print(rate_text(tracked.values()))

# %% [markdown]
# What the quick runs support whatever the machine (the checked output): whether
# $\eta\hat\alpha$ exceeds 2 at some grade (by a factor of at least {glue:text}`rate-room`),
# whether the run trained to its last epoch without diverging, and whether SGDL's
# $\hat\alpha$ is more than twice that of MGDL's first grade (by a factor of at least
# {glue:text}`ratio-room`). A single grade's $\hat\alpha_l$ moves between two numeric paths by
# more than these rooms (the measurements are in `mgdl_core.pages.theory_report`), so it is not
# checked grade by grade.

# %%
# NBVAL_CHECK_OUTPUT
print("\n".join(rate_claims(tracked)))

# %% [markdown]
# The same four runs at the paper's scale ($10^6$ epochs, per grade for MGDL, with the authors'
# early stopping and a spectrum every $10^4$ epochs), trained once and committed to `results/`
# (the [eigenvalue page](06_eigenvalues) shows their spectra), set beside the quick ones.
# "After each start" leaves out the spectrum taken at a grade's initialisation, before any step.

# %%
# The quick runs beside the committed paper-scale ones (the quick numbers move with the CPU).
paper = {key: r.run for key, r in load_results({key: f"synthetic/s6-setting{key[0]}-{key[1]}"
                                                for key in TRACKED_RATES}).items()}
print(alpha_scale_text(tracked, paper))

# %%
# NBVAL_CHECK_OUTPUT
# The paper-scale runs only: committed data, the same on every machine.
print(alpha_scale_text({}, paper).replace("  quick: not computed\n", ""))
print("\n".join(edge_claims(paper)))

# %% tags=["hide-input"]
glue_facts(rate_bound_facts(tracked, paper, TRACKED_RATES, sweeps[1, "sgdl"], page_plan("learning_rate", profile),
                            profile))
fig = rate_bound_figure(sweeps, tracked)
glue_figure("fig-rate-bound", fig)

# %% [markdown]
# {numref}`fig-rate-bound` sets each tracked run's $2/\hat\alpha$ against the §5 sweep's final losses.
#
# ```{glue:figure} fig-rate-bound
# :name: fig-rate-bound
# :alt: Two log-log panels, Setting 1 and 2: final training loss of SGDL and MGDL against the learning rate, with vertical lines at 2 over the largest Hessian eigenvalue of each tracked run (one per MGDL grade, numbered).
#
# The §5 sweep (final training loss against η; crosses: diverged), with $2/\hat\alpha$ of the
# tracked runs of §6 as vertical lines: SGDL (26) solid, each MGDL (30) grade dotted and
# numbered. Setting 1 left, Setting 2 right. Computed at the {glue:text}`sweep-scale`; the
# tracked runs trained {glue:text}`s1-sgdl-epochs` epochs for SGDL and {glue:text}`s1-mgdl-epochs`
# per grade for MGDL (the paper's scale is $10^6$).
# ```
#
# Setting 1, quick runs: SGDL at η = {glue:text}`s1-sgdl-eta` has $\hat\alpha$ =
# {glue:text}`s1-sgdl-alpha`, so $\eta\hat\alpha$ = {glue:text}`s1-sgdl-eta-alpha`: above 2,
# yet the run trains. This is the edge of stability, the regime the
# [eigenvalue page](06_eigenvalues) shows: the sharpest Hessian eigenvalue rises to about
# $2/\eta$ and GD keeps it there, oscillating in that direction while the loss still falls. The
# sweep trains SGDL without divergence up to η = {glue:text}`s1-sgdl-largest`,
# {glue:text}`s1-sgdl-beyond` times the bound $2/\hat\alpha$ = {glue:text}`s1-sgdl-bound` of its
# η = {glue:text}`s1-sgdl-eta` run. Theorems 1–2 give a *sufficient* condition; the runs train
# without diverging beyond it. (A caveat in the other direction: $\hat\alpha$ is measured at one
# rate, and the path of GD, hence its $\hat\alpha$, changes with η.)
#
# MGDL at η = {glue:text}`s1-mgdl-eta` has, after {glue:text}`s1-mgdl-epochs` epochs per grade,
# $\hat\alpha_l$ = {glue:text}`s1-mgdl-alpha` for grades 1–4 ($\eta\hat\alpha_l$ =
# {glue:text}`s1-mgdl-eta-alpha`): SGDL's $\hat\alpha$ is {glue:text}`s1-ratio` times these.
# That is a property of short runs, not of MGDL. At the paper's scale the same runs give SGDL
# $\hat\alpha$ = {glue:text}`s1-sgdl-paper-alpha` and MGDL's grades
# {glue:text}`s1-mgdl-paper-alpha` ({glue:text}`s1-mgdl-paper-after` after each grade's
# initialisation), against $2/\eta$ = {glue:text}`s1-mgdl-edge` for MGDL: after its start, every
# grade's $\hat\alpha_l$ lies within {glue:text}`edge-band` of $2/\eta$: GD rides the edge of
# stability, the sharpness rising until the rate stops it at $2/\eta$. SGDL's
# $\hat\alpha$ lies beyond its own $2/\eta$ = {glue:text}`s1-sgdl-edge` (its eigenvalues of
# $\mathbf I - \eta\mathbf H$ cross −1, as in the paper's Figure 2), and is
# {glue:text}`s1-paper-ratio` times MGDL's first grade's: **the paper's
# "$\alpha_l \ll \alpha$" does not hold at its own scale**, and the quick runs' small
# $\hat\alpha_1$ only shows that {glue:text}`s1-mgdl-epochs` epochs end before the sharpness has
# risen to $2/\eta$. Where a grade's $\hat\alpha_l$ over all its spectra is larger than after its
# start (grade {glue:text}`s1-mgdl-start-grades` here), its initialisation was sharper than
# $2/\eta$ and GD left that region.
#
# Setting 2 (SGDL η = {glue:text}`s2-sgdl-eta`, MGDL η = {glue:text}`s2-mgdl-eta`), quick runs:
# SGDL's $\hat\alpha$ is {glue:text}`s2-sgdl-alpha` ($\eta\hat\alpha$ =
# {glue:text}`s2-sgdl-eta-alpha`), MGDL's {glue:text}`s2-mgdl-alpha` ($\eta\hat\alpha_l$ =
# {glue:text}`s2-mgdl-eta-alpha`). At the paper's scale SGDL's is
# {glue:text}`s2-sgdl-paper-alpha` ($2/\eta$ = {glue:text}`s2-sgdl-edge`) and MGDL's grades'
# {glue:text}`s2-mgdl-paper-after` after each start ($2/\eta$ = {glue:text}`s2-mgdl-edge`):
# MGDL's sit at their $2/\eta$ (within {glue:text}`edge-band`), SGDL's beyond it, and both train
# where the theorems' condition fails. The two rates are {glue:text}`s2-rate-ratio` times apart
# and each run's sharpness is set by its own rate (at or beyond its $2/\eta$), so in Setting 2
# the ratio of the $\hat\alpha$ measures the rates, not the networks; it is not compared there.
#
# ## Theorems 4 and 5: GD and its linearisation
#
# Here one grade of (8) is small enough to take the dense Hessian at every step:
# {glue:text}`lin-n` points of Setting 1, {glue:text}`lin-width` neurons with biases, weight decay
# β = {glue:text}`lin-beta` ({glue:text}`lin-params` parameters). GD (6) runs beside
# (7) from $\tilde W^0 = W^0$, $\tilde W^1 = W^1$ (`mgdl_core.theory.convergence.linearised_gd`), with
# $\tau_k = \|\mathbf I - \eta\mathbf H(W^k)\|$ recorded along the path, at two rates and for
# two activations: a smooth softplus, for which $\mathcal F$ is $C^\infty$ as the theorems
# assume, and the paper's ReLU, for which it is not.

# %%
paths, problems = {}, {}
for activation in ("softplus", "relu"):
    problem = problems[activation] = grade_problem(activation)
    for eta in (0.01, 0.025):
        paths[f"{activation}, η = {eta:g}"] = linearised_gd(problem.objective, problem.start, eta, PLAN["linear_steps"],
                                                            patterns=problem.patterns, derivatives=problem.derivatives)

# %%
# The numbers, for the reader (not checked).
for label, p in paths.items():
    half = p.tau.size // 2
    print(f"{label}: τ max {p.tau_sup:.3f}, on the 2nd half {p.tau[half:].max():.5f};")
    kinks = f"; kinks crossed at {int(p.crossed.sum())} steps" if label.startswith("relu") else ""
    print(f"  gap peak {p.gap.max():.2g}, end {p.gap[-1]:.2g}{kinks}")

# %%
# NBVAL_CHECK_OUTPUT
print("\n".join(path_claims(paths)))

# %% tags=["hide-input"]
glue_facts(linearisation_facts(paths, problems, PLAN))  # path_glue per path, the sizes
fig = linearisation_figure(paths)
glue_figure("fig-linearisation", fig)

# %% [markdown]
# {numref}`fig-linearisation` follows $\tau_k$ and the gap between GD and (7) along each path.
#
# ```{glue:figure} fig-linearisation
# :name: fig-linearisation
# :alt: Two rows of panels, a softplus grade and a ReLU grade: left, tau_k, the norm of I minus eta times the Hessian, along the path for each rate, with the line 1; right, the gap between gradient descent and the linearised iteration (7) on a log scale.
#
# One grade of (8), {glue:text}`linear-steps` GD steps from one random start (the
# {glue:text}`profile` profile); top: the
# softplus grade, bottom: the ReLU grade; colour: the rate. Left: $\tau_k$, the spectral norm
# of the iteration matrix at $W^k$ (the dotted line is 1). Right: the distance between GD (6)
# and its linearisation (7). Each curve is drawn as the band between its smallest and largest
# value over each of 250 windows of the path: the ReLU paths change from one step to the next.
# ```
#
# *Smooth grade, η = 0.01.* Over the first {glue:text}`softplus-0.01-early-steps` steps
# $\tau_k > 1$ (up to {glue:text}`softplus-0.01-tau-max`), at
# {glue:text}`softplus-0.01-early-negative` of them because $\mathbf I - \eta\mathbf H$ has an
# eigenvalue above 1, a negative eigenvalue of the Hessian far from a minimiser; so Theorem 4's
# hypothesis holds only on the tail of the path: there $\tau_k$ stays below 1 (at most
# {glue:text}`softplus-0.01-tau-tail` on the second half). The two sequences separate by at most
# {glue:text}`softplus-0.01-gap-peak` and then come together, {glue:text}`softplus-0.01-gap-end`
# apart at the end, the gap still falling (by a factor {glue:text}`softplus-0.01-gap-fall` over
# the last fifth of the path): Theorem 5, observed.
#
# *Smooth grade, η = 0.025.* $\tau_k > 1$ at {glue:text}`softplus-0.025-above-one` of the steps
# of the second half (at most {glue:text}`softplus-0.025-tau-tail`), and GD itself does not
# converge: it ends in a cycle of period two, its loss alternating between
# {glue:text}`softplus-0.025-loss-cycle` (each repeating two steps later to within
# {glue:text}`softplus-0.025-cycle-repeat`) and its step staying at
# {glue:text}`softplus-0.025-step-end` (the edge of stability again). The linearisation leaves GD,
# more than {glue:text}`softplus-0.025-gap-floor` apart at its farthest: (7) is no guide to GD at
# this rate. (GD on this path is sensitive to rounding: how far, between 10 and 17, depends on the
# machine's arithmetic; the cycle's two losses do not.)
#
# *ReLU grade.* $\mathcal F$ is a polynomial in $W$ on each region of fixed activation
# patterns, and $\mathbf H$ is the Hessian there, defined almost everywhere; $\sigma$ is not
# $C^2$, so neither theorem applies. On this path GD crosses a kink (some point's
# pre-activation changes sign) at {glue:text}`relu-0.01-kinks` of the steps at η = 0.01: it
# chatters along a kink, and $\tau_k > 1$ at {glue:text}`relu-0.01-above-one` of the steps of
# the second half (at most {glue:text}`relu-0.01-tau-tail`). GD and (7) stay
# {glue:text}`relu-0.01-gap-end` apart at the end, neither meeting nor parting; at η = 0.025
# ({glue:text}`relu-0.025-kinks` steps across a kink, $\tau_k > 1$ at
# {glue:text}`relu-0.025-above-one` of the second half) they end {glue:text}`relu-0.025-gap-end`
# apart. Weight decay also shrinks unused neurons towards $w_j = 0$, where every point sits on
# their kink: at the end, {glue:text}`relu-0.01-shrunk` (η = 0.01) and
# {glue:text}`relu-0.025-shrunk` (η = 0.025) of the {glue:text}`lin-width` neurons have input
# weights below {glue:text}`shrunk-share` of the largest neuron's. A ReLU grade's minimisers lie where the smoothness
# the theorems need is missing.
#
# ## Theorem 3: each grade as a convex program (Appendix A)
#
# A grade with one hidden ReLU layer, problem (8), is solved globally by the convex program (9)
# over the activation patterns $D_i$ of its data (after Pilanci & Ergen;
# `mgdl_core.theory.convex`, tested in `tests/test_convex.py` against brute-force pattern enumeration,
# the recovered network's objective and GD runs from random starts). MGDL with such grades is a sequence of convex programs: grade $l$
# solves (9) on the features of the grades before it, and the ReLU layer that Theorem 3
# recovers becomes the next grade's features (`mgdl_core.theory.convex_grades`). Beside it, the same
# MGDL with each grade trained by GD on (8).

# %%
x = np.linspace(0.0, 1.0, PLAN["points"])
y = get_setting(1)(x)
convex = convex_mgdl(x, y, PLAN["grades"], PLAN["beta"], samples=PLAN["samples"])
gd = gd_mgdl(x, y, PLAN["grades"], PLAN["beta"], width=PLAN["width"], lr=PLAN["gd_lr"], steps=PLAN["gd_steps"])

# %%
# The numbers, for the reader (not checked). Times: bench/bench_convex_mgdl.py.
print(convex_rows([convex, gd]))

# %%
# NBVAL_CHECK_OUTPUT
print("\n".join(convex_claims(convex, gd)))

# %% tags=["hide-input"]
glue_facts(convex_facts(convex, gd, PLAN))
fig = convex_fit_figure(x, y, [convex, gd])
glue_figure("fig-convex-mgdl", fig)

# %% [markdown]
# {numref}`fig-convex-mgdl` shows what the two kinds of grades fit, grade by grade.
#
# ```{glue:figure} fig-convex-mgdl
# :name: fig-convex-mgdl
# :alt: Two panels: the 32 training points of Setting 1 and the MGDL prediction after each of 3 grades, convex grades (left) and gradient-descent grades (right).
#
# MGDL on {glue:text}`cvx-points` points of Setting 1 (dots), the prediction after each of
# {glue:text}`cvx-grades` grades, β = {glue:text}`cvx-beta` (the {glue:text}`profile` profile). Left: each grade the convex
# program (9), its network recovered by Theorem 3. Right: each grade
# {glue:text}`cvx-width` neurons trained by {glue:text}`cvx-gd-steps` GD steps at
# η = {glue:text}`cvx-gd_lr`.
# ```
#
# The first grade's data is one-dimensional with a bias, so every activation pattern is
# enumerated and its program is exactly (8)'s global optimum: {glue:text}`convex-first`,
# against {glue:text}`gd-first` for GD. Training losses (3) after each grade: convex
# {glue:text}`convex-losses`, GD {glue:text}`gd-losses`. The convex grades use
# {glue:text}`convex-neurons` neurons ($m_l^*$ of Theorem 3: the $u_i$, $v_i$ whose norm is
# above {glue:text}`cvx-cut` of the largest; the solver returns no exact zeros, and is run to a
# feasibility of 10⁻¹⁰, far below that cut: `mgdl_core.theory.convex.solve_convex_grade`) over
# {glue:text}`convex-patterns` patterns; the GD grades have {glue:text}`gd-neurons` neurons
# doing work (of {glue:text}`cvx-width`). Objectives (8) per grade: convex
# {glue:text}`convex-objectives`, GD {glue:text}`gd-objectives`. The two kinds of grade's times
# are measured by `bench/bench_convex_mgdl.py`, not printed here (a committed page must not
# change from one build to the next).
#
# Where the exactness ends: a later grade's features are the previous grade's $m^*_{l-1}$
# ReLU outputs, $d_l = m^*_{l-1} + 1$ inputs, and the patterns can no longer be enumerated; the
# program then uses the patterns of {glue:text}`cvx-samples` random directions (as
# pilancilab/scnn does), a subset, so its optimum is an upper bound on that grade's (8). The
# number of patterns of $N$ points in $d$ dimensions grows like $N^{d-1}$ (at most $2N$ for
# $d = 2$), towards $2^N$ as $d$ approaches $N$ (here the later grades have
# $d$ = {glue:text}`convex-later-d` inputs for {glue:text}`cvx-points` points): the convex
# route is exact for the first grade of low-dimensional data, and a sampled heuristic beyond.
