"""A grade of one hidden ReLU layer as a convex program (Appendix A, Theorem 3; Pilanci & Ergen 2020).

The non-convex problem of a two-layer grade, eq. (8),

    min_{w_j, α_j}  ½‖Σ_j α_j (X w_j)_+ − e‖² + β/2 Σ_j (‖w_j‖² + α_j²),

has the same optimal value as the convex program (9) over the activation patterns
D_i = Diag(1[X w ≥ 0]) of the data,

    min_{u_i, v_i}  ½‖Σ_i D_i X (u_i − v_i) − e‖² + β Σ_i (‖u_i‖ + ‖v_i‖)
    s.t.  (2D_i − I) X u_i ≥ 0,  (2D_i − I) X v_i ≥ 0,

once the grade has at least m* = #{u_i* ≠ 0} + #{v_i* ≠ 0} neurons; :func:`recover_network` is
Theorem 3's map from (u*, v*) to the neurons of (8). The network has no biases (as in (8)): to
fit an offset, append a column of ones to X (:func:`with_bias_column`).

- :func:`activation_patterns`: all patterns, enumerated exactly for d ≤ 2 (the hyperplanes
  through 0 perpendicular to the rows of X cut the plane into at most 2N sectors, one pattern
  each); for d > 2 a documented random sample (the patterns of ``samples`` Gaussian directions,
  as pilancilab/scnn samples them), whose program is then an upper bound on (8)'s optimum.
- :func:`solve_convex_grade`: program (9) by cvxpy (the optional extra ``convex``), with its
  constraints; the result says which patterns carry neurons.
- :func:`two_layer_loss`: eq. (8) as a torch function of the grade's parameter vector (what GD
  trains, :mod:`mgdl_core.theory.convergence`); :func:`two_layer_objective` evaluates it at a network;
  :func:`two_layer_derivatives` gives its value, gradient and Hessian in closed form.

tests/test_convex.py checks the enumeration against brute-force sampling, the recovered
network's objective against the program's optimum, and the optimum against 20 GD runs of (8).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

# The cut below which a u_i or v_i of program (9) counts as zero, relative to the largest (and to
# ‖e‖/‖X‖₂): :attr:`ConvexGrade.active`.
SUPPORT_CUT = 1e-4


def with_bias_column(x: np.ndarray) -> np.ndarray:
    """[x, 1]: the data of a grade with an offset, for the bias-free network of (8)."""
    x = np.asarray(x, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    return np.hstack([x, np.ones((x.shape[0], 1))])


def _check_data(x: np.ndarray, e: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"X must be an N × d matrix, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("X contains NaN or Inf values")
    if e is not None:
        e = np.asarray(e, dtype=np.float64).reshape(-1)
        if e.shape[0] != x.shape[0] or not np.isfinite(e).all():
            raise ValueError(f"e must hold N = {x.shape[0]} finite values, got {e.shape[0]}")
    return x, e


def _patterns_of(x: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """The distinct nonzero patterns 1[X w ≥ 0] of the given directions (one per column)."""
    signs = (x @ directions >= 0).T
    signs = signs[signs.any(axis=1)]  # D = 0 contributes nothing to (9)
    return np.unique(signs, axis=0)


def activation_patterns(x: np.ndarray, samples: int | None = None, seed: int = 0) -> np.ndarray:
    """The activation patterns of X as a boolean array [P, N] (row i: the diagonal of D_i).

    d ≤ 2 and ``samples`` None: every pattern, exactly (the all-zero pattern, which adds nothing
    to (9), left out). Otherwise the patterns of ``samples`` directions drawn from N(0, I) with
    ``seed``: a subset, so the program's optimum can only be higher than (8)'s."""
    x, _ = _check_data(x)
    d = x.shape[1]
    if samples is None:
        if d > 2:
            raise ValueError(f"exact enumeration is for d <= 2 (here d = {d}); pass samples= to sample patterns")
        if d == 1:
            return _patterns_of(x, np.array([[1.0, -1.0]]))
        # the boundary of row n is the line w ⟂ x_n: angles θ_n ± π/2; a direction strictly inside
        # each sector between consecutive boundary angles gives that sector's pattern, and a
        # direction on a boundary repeats the pattern of the sector where x_nᵀw > 0
        rows = x[np.linalg.norm(x, axis=1) > 0]
        if rows.shape[0] == 0:
            return np.ones((1, x.shape[0]), dtype=bool)
        base = np.arctan2(rows[:, 1], rows[:, 0])
        cuts = np.sort(np.mod(np.concatenate([base + math.pi / 2, base - math.pi / 2]), 2 * math.pi))
        gaps = np.diff(np.concatenate([cuts, cuts[:1] + 2 * math.pi]))
        mids = cuts + gaps / 2
        directions = np.stack([np.cos(mids), np.sin(mids)])
        on_cuts = np.stack([np.cos(cuts), np.sin(cuts)])
        return _patterns_of(x, np.hstack([directions, on_cuts]))
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a positive integer, got {samples!r}")
    rng = np.random.default_rng(seed)
    return _patterns_of(x, rng.standard_normal((d, samples)))


@dataclass(frozen=True)
class ConvexGrade:
    """A solution of program (9): ``u``, ``v`` [P, d], the patterns [P, N], the optimal value,
    the solver's status and time, and the active neurons m* of Theorem 3."""

    u: np.ndarray
    v: np.ndarray
    patterns: np.ndarray
    value: float
    status: str
    seconds: float
    tol: float
    scale: float

    @property
    def active(self) -> np.ndarray:
        """Which of the 2P vectors (u_1 … u_P, v_1 … v_P) carry a neuron: norm above ``tol`` times
        the largest, and above ``tol`` times ``scale`` = ‖e‖/‖X‖₂ (a u_i below that changes the
        fit by less than ``tol``·‖e‖, since ‖D_i X u_i‖ ≤ ‖X‖₂‖u_i‖). An interior-point solver
        returns no exact zeros, only norms at its own precision, so an absolute cut near that
        precision counts solver noise as neurons, and how many cross it depends on rounding (the
        theory page's grade 2 had 33 or 34 "neurons" by CPU under a cut of 10⁻⁷). Its real neurons
        sit above 10⁻³ of the largest and its zeros below 10⁻⁵, a decade from the cut on either
        side (tests/test_convex.py checks the gap)."""
        norms = np.linalg.norm(np.concatenate([self.u, self.v]), axis=1)
        if not norms.size:
            return np.zeros(0, dtype=bool)
        return (norms > self.tol * norms.max()) & (norms > self.tol * self.scale)

    @property
    def m_star(self) -> int:
        return int(self.active.sum())

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The recovered network on new inputs (Σ_j α_j (w_jᵀx)_+), through :func:`recover_network`."""
        w, alpha = recover_network(self)
        return np.maximum(np.asarray(x, dtype=np.float64) @ w, 0.0) @ alpha


def solve_convex_grade(x: np.ndarray, e: np.ndarray, beta: float, patterns: np.ndarray | None = None,
                       solver: str = "CLARABEL", tol: float = SUPPORT_CUT) -> ConvexGrade:
    """Program (9) for the data X [N, d], the residual e [N] and β > 0, over ``patterns``
    (default: :func:`activation_patterns`, exact for d ≤ 2). ``tol`` is the norm, relative to the
    largest u_i or v_i (and to ‖e‖/‖X‖₂), below which a u_i or v_i counts as zero (no neuron):
    :attr:`ConvexGrade.active`. CLARABEL (the default) is asked for a duality gap and
    feasibility of 10⁻¹⁰, so that the zeros it returns lie far below that cut."""
    try:
        import cvxpy as cp
    except ImportError:
        raise ImportError("the convex program needs cvxpy: pip install -e '.[convex]'") from None
    x, e = _check_data(x, e)
    if isinstance(beta, bool) or not (isinstance(beta, (int, float)) and math.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be a positive number, got {beta!r}")
    patterns = activation_patterns(x) if patterns is None else np.asarray(patterns, dtype=bool)
    if patterns.ndim != 2 or patterns.shape[1] != x.shape[0]:
        raise ValueError(f"patterns must be a [P, N = {x.shape[0]}] boolean array, got {patterns.shape}")
    p, d = patterns.shape[0], x.shape[1]
    u, v = cp.Variable((p, d)), cp.Variable((p, d))
    dx = [patterns[i][:, None] * x for i in range(p)]  # D_i X
    sx = [(2.0 * patterns[i][:, None] - 1.0) * x for i in range(p)]  # (2D_i − I) X
    fit = sum(dx[i] @ (u[i] - v[i]) for i in range(p)) - e
    objective = 0.5 * cp.sum_squares(fit) + beta * sum(cp.norm(u[i], 2) + cp.norm(v[i], 2) for i in range(p))
    constraints = [c for i in range(p) for c in (sx[i] @ u[i] >= 0, sx[i] @ v[i] >= 0)]
    problem = cp.Problem(cp.Minimize(objective), constraints)
    start = time.perf_counter()
    options = dict(tol_gap_abs=1e-9, tol_gap_rel=1e-9, tol_feas=1e-9) if solver == "CLARABEL" else {}
    problem.solve(solver=solver, **options)
    if problem.status not in ("optimal", "optimal_inaccurate"):
        raise RuntimeError(f"program (9) was not solved: {problem.status}")
    scale = float(np.linalg.norm(e) / max(np.linalg.norm(x, 2), np.finfo(float).tiny))
    return ConvexGrade(np.asarray(u.value), np.asarray(v.value), patterns, float(problem.value), problem.status,
                       time.perf_counter() - start, tol, scale)


def recover_network(solution: ConvexGrade) -> tuple[np.ndarray, np.ndarray]:
    """Theorem 3: (w, α) = (u*/√‖u*‖, √‖u*‖) for each u_i* ≠ 0 and (v*/√‖v*‖, −√‖v*‖) for each
    v_i* ≠ 0: W [d, m*] and α [m*]."""
    ws, alphas = [], []
    vectors = np.concatenate([solution.u, solution.v])
    signs = np.concatenate([np.ones(len(solution.u)), -np.ones(len(solution.v))])
    for a, sign in zip(vectors[solution.active], signs[solution.active]):
        norm = float(np.linalg.norm(a))
        ws.append(a / math.sqrt(norm))
        alphas.append(sign * math.sqrt(norm))
    d = solution.u.shape[1]
    return (np.stack(ws, axis=1) if ws else np.zeros((d, 0))), np.asarray(alphas)


def _split(vector: torch.Tensor, x: torch.Tensor, e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """W [d, m] and α [m] of the vector (vec W, α), after checking the shapes of all three."""
    if x.ndim != 2 or e.ndim != 1 or e.shape[0] != x.shape[0]:
        raise ValueError(f"x must be [N, d] and e [N], got {tuple(x.shape)} and {tuple(e.shape)}")
    d = x.shape[1]
    m, rest = divmod(vector.numel(), d + 1)
    if rest or m < 1 or vector.ndim != 1:
        raise ValueError(f"a vector of m·(d + 1) entries is needed for d = {d}, got shape {tuple(vector.shape)}")
    return vector[:d * m].reshape(d, m), vector[d * m:]


def two_layer_loss(vector: torch.Tensor, x: torch.Tensor, e: torch.Tensor, beta: float,
                   activation: Callable[[torch.Tensor], torch.Tensor] = torch.relu) -> torch.Tensor:
    """Eq. (8) as a differentiable function of the vector (vec W, α) of a grade with m =
    len(vector) / (d + 1) neurons (W [d, m] stored row by row, then α [m]): what GD trains.
    ``activation`` replaces the ReLU, e.g. by a smooth softplus where a theorem needs σ ∈ C²."""
    w, alpha = _split(vector, x, e)
    fit = activation(x @ w) @ alpha - e
    return 0.5 * fit @ fit + 0.5 * beta * (w.pow(2).sum() + alpha @ alpha)


def _relu_derivatives(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    # σ'(0) = 0 and σ'' = 0: what autograd differentiates torch.relu to (its backward is z > 0)
    return torch.relu(z), (z > 0).to(z.dtype), torch.zeros_like(z)


def _softplus_derivatives(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    s = torch.sigmoid(z)
    return torch.nn.functional.softplus(z), s, s * (1.0 - s)


# σ, σ' and σ'' of each activation two_layer_derivatives knows, by the torch function two_layer_loss takes.
ACTIVATION_DERIVATIVES = {"relu": (torch.relu, _relu_derivatives),
                          "softplus": (torch.nn.functional.softplus, _softplus_derivatives)}


def two_layer_derivatives(vector: torch.Tensor, x: torch.Tensor, e: torch.Tensor, beta: float,
                          activation: str = "relu") -> tuple[float, torch.Tensor, torch.Tensor]:
    """F, ∇F and the dense Hessian H of :func:`two_layer_loss` at ``vector``, in closed form (a few
    small matrix products instead of one backward pass per parameter: the theory page takes all
    three at each of 20,000 steps).

    With Z = XW, S = σ(Z), r = Sα − e and J = ∂(Sα)/∂(vec W, α) = [X_ik σ'(Z_ij) α_j | S_ij]:
    ∇F = Jᵀr + β(vec W, α) and H = JᵀJ + Σ_i r_i ∇²(Sα)_i + βI, whose second-order part is
    δ_jp Σ_i r_i α_j σ''(Z_ij) X_ik X_il between W_kj and W_lp, δ_jp Σ_i r_i σ'(Z_ij) X_ik between
    W_kj and α_p, and 0 between α's. A ReLU grade takes autograd's σ'(0) = 0 and σ'' = 0: H is
    then the Hessian on the region of the current activation pattern (tests/test_theory.py
    checks all three against autograd)."""
    if activation not in ACTIVATION_DERIVATIVES:
        raise ValueError(f"unknown activation {activation!r}: use {', '.join(ACTIVATION_DERIVATIVES)}")
    w, alpha = _split(vector, x, e)
    (n, d), m = x.shape, alpha.numel()
    s, d1, d2 = ACTIVATION_DERIVATIVES[activation][1](x @ w)
    r = s @ alpha - e
    value = float(0.5 * r @ r + 0.5 * beta * (w.pow(2).sum() + alpha @ alpha))
    jac = torch.cat([(x[:, :, None] * (d1 * alpha)[:, None, :]).reshape(n, d * m), s], dim=1)
    grad = jac.T @ r + beta * vector
    h = jac.T @ jac + beta * torch.eye(vector.numel(), dtype=vector.dtype)
    # W_kj, W_lj: Σ_i r_i α_j σ''(Z_ij) X_ik X_il, on the diagonal j = p of the [d, m, d, m] block
    curv = ((x[:, :, None] * (r[:, None] * alpha * d2)[:, None, :]).reshape(n, d * m).T @ x).view(d, m, d)
    h[:d * m, :d * m].view(d, m, d, m).diagonal(0, 1, 3).add_(curv.permute(0, 2, 1))
    # W_kj, α_j: Σ_i r_i σ'(Z_ij) X_ik, on the diagonal j = p of the [d, m, m] block (and its transpose)
    cross = x.T @ (r[:, None] * d1)
    h[:d * m, d * m:].view(d, m, m).diagonal(0, 1, 2).add_(cross)
    h[d * m:, :d * m].view(m, d, m).diagonal(0, 0, 2).add_(cross)
    return value, grad, 0.5 * (h + h.T)  # symmetric to the last bit, as eigvalsh assumes


def random_two_layer(d: int, width: int, generator: torch.Generator) -> np.ndarray:
    """A random start of (8) as its parameter vector: W ~ N(0, 1/d) [d, width], α ~ N(0, 1/width)
    (float64), the scaling of a He-like initialisation for a grade with d inputs."""
    w = torch.randn(d, width, generator=generator, dtype=torch.float64) / math.sqrt(d)
    a = torch.randn(width, generator=generator, dtype=torch.float64) / math.sqrt(width)
    return pack_two_layer(w.numpy(), a.numpy())


def pack_two_layer(w: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The vector (vec W, α) of :func:`two_layer_loss` from W [d, m] and α [m]."""
    return np.concatenate([np.asarray(w, dtype=np.float64).reshape(-1), np.asarray(alpha, dtype=np.float64)])


def unpack_two_layer(vector: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """W [d, m] and α [m] from the vector of :func:`two_layer_loss`."""
    vector = np.asarray(vector, dtype=np.float64).reshape(-1)
    m, rest = divmod(vector.size, d + 1)
    if rest:
        raise ValueError(f"a vector of m·(d + 1) entries is needed for d = {d}, got {vector.size}")
    return vector[:d * m].reshape(d, m), vector[d * m:]


def two_layer_objective(w: np.ndarray, alpha: np.ndarray, x: np.ndarray, e: np.ndarray, beta: float) -> float:
    """Eq. (8) at a network W [d, m], α [m]: ½‖(X W)_+ α − e‖² + β/2 (‖W‖_F² + ‖α‖²)."""
    x, e = _check_data(x, e)
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 2 or w.shape[0] != x.shape[1] or np.shape(alpha) != (w.shape[1],):
        raise ValueError(f"W must be [d = {x.shape[1]}, m] and alpha [m], got {w.shape} and {np.shape(alpha)}")
    if w.shape[1] == 0:
        return float(0.5 * e @ e)
    vector = torch.from_numpy(pack_two_layer(w, alpha))
    return float(two_layer_loss(vector, torch.from_numpy(x), torch.from_numpy(e), beta))
