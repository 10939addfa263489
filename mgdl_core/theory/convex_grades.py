"""MGDL whose grades are two-layer ReLU networks (§3, Appendix A), each grade solved as the convex
program (9) or trained by GD on the non-convex problem (8), on the features of the grades before it.

Grade l sees the features x_l (x_1 = the data) with a column of ones, X_l = [x_l, 1], and the
residual e_l (e_1 = y, eq. (3)), and fits g_l = (X_l W_l)_+ α_l by minimising (8) with weight
β. Its hidden layer is the next grade's features, x_{l+1} = (X_l W_l)_+ (for a convex grade the
ReLU layer Theorem 3 recovers from (u*, v*)), and e_{l+1} = e_l − g_l(x_l). So MGDL with L such
grades is L convex programs (the paper's §3 remark after Theorem 2).

The first grade of 1-D data has d = 2 and every activation pattern is enumerated, so its program
is exactly (8)'s global optimum. A later grade has d = m*_{l−1} + 1 > 2 inputs and uses the
patterns of ``samples`` random directions (:func:`mgdl_core.theory.convex.activation_patterns`), a subset:
its program's optimum is then an upper bound on (8)'s, which GD may in principle beat.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from .convergence import gradient_descent
from .convex import (activation_patterns, random_two_layer, recover_network, solve_convex_grade, two_layer_loss,
                     two_layer_objective, unpack_two_layer, with_bias_column)


@dataclass(frozen=True)
class TwoLayerGrade:
    """One grade: W [d_l + 1, m_l] (last row: the biases), α [m_l], the objective (8) it reached,
    the MGDL training loss after it (eq. (3): 1/(2N) ‖e_{l+1}‖²), its neurons (m_l* for a convex
    grade; for GD those with |α_j|‖w_j‖ above 10⁻³ of the largest), its time and its number of
    activation patterns P_l (0 for GD)."""

    w: np.ndarray
    alpha: np.ndarray
    objective: float
    loss: float
    neurons: int
    seconds: float
    patterns: int

    def hidden(self, x: np.ndarray) -> np.ndarray:
        """The grade's ReLU layer on features x [N, d_l]: the next grade's features."""
        return np.maximum(with_bias_column(x) @ self.w, 0.0)

    def output(self, x: np.ndarray) -> np.ndarray:
        return self.hidden(x) @ self.alpha


@dataclass(frozen=True)
class TwoLayerMGDL:
    """The grades of a two-layer MGDL fit, ``method`` "convex" or "gd"."""

    method: str
    beta: float
    grades: tuple[TwoLayerGrade, ...]

    def predict(self, x: np.ndarray, grades: int | None = None) -> np.ndarray:
        """Σ_l g_l(x_l) over the first ``grades`` grades (all by default), x [N] or [N, d]."""
        x = np.asarray(x, dtype=np.float64)
        features, out = (x[:, None] if x.ndim == 1 else x), 0.0
        for grade in self.grades[:grades]:
            out = out + grade.output(features)
            features = grade.hidden(features)
        return np.asarray(out)

    @property
    def losses(self) -> list[float]:
        return [g.loss for g in self.grades]

    @property
    def seconds(self) -> float:
        return sum(g.seconds for g in self.grades)


def _check(x: np.ndarray, y: np.ndarray, n_grades: int, beta: float) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if x.ndim != 2 or x.shape[0] != y.shape[0] or x.shape[0] < 2:
        raise ValueError(f"x must be [N] or [N, d] and y [N] with N ≥ 2, got {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("x and y must be finite")
    if isinstance(n_grades, bool) or not isinstance(n_grades, int) or n_grades < 1:
        raise ValueError(f"n_grades must be a positive integer, got {n_grades!r}")
    if isinstance(beta, bool) or not (isinstance(beta, (int, float)) and math.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be a positive number, got {beta!r}")
    return x, y


def _active(w: np.ndarray, alpha: np.ndarray) -> int:
    size = np.abs(alpha) * np.linalg.norm(w, axis=0)
    return int((size > 1e-3 * size.max()).sum()) if size.size and size.max() > 0 else 0


def _grade(w: np.ndarray, alpha: np.ndarray, features: np.ndarray, e: np.ndarray, beta: float,
           neurons: int, seconds: float, patterns: int) -> tuple[TwoLayerGrade, np.ndarray]:
    xb = with_bias_column(features)
    residual = e - np.maximum(xb @ w, 0.0) @ alpha
    grade = TwoLayerGrade(w, alpha, two_layer_objective(w, alpha, xb, e, beta), float(residual @ residual) /
                          (2 * e.size), neurons, seconds, patterns)
    return grade, residual


def convex_mgdl(x: np.ndarray, y: np.ndarray, n_grades: int, beta: float, samples: int = 1000,
                seed: int = 0) -> TwoLayerMGDL:
    """MGDL with ``n_grades`` grades, grade l the convex program (9) on [x_l, 1] and e_l
    (cvxpy; every pattern when d_l + 1 ≤ 2, else those of ``samples`` directions drawn with
    ``seed`` + l), its network recovered by Theorem 3."""
    x, y = _check(x, y, n_grades, beta)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a positive integer, got {samples!r}")
    features, e, grades = x, y, []
    for level in range(n_grades):
        xb = with_bias_column(features)
        start = time.perf_counter()
        patterns = activation_patterns(xb) if xb.shape[1] <= 2 else activation_patterns(xb, samples, seed + level)
        solution = solve_convex_grade(xb, e, beta, patterns)
        w, alpha = recover_network(solution)
        seconds = time.perf_counter() - start
        if w.shape[1] == 0:
            if not grades:
                raise ValueError(f"beta = {beta:g} is so large that the first grade has no neuron: lower it")
            break  # nothing left for later grades to learn from at this β
        grade, e = _grade(w, alpha, features, e, beta, solution.m_star, seconds, patterns.shape[0])
        grades.append(grade)
        features = grade.hidden(features)
    return TwoLayerMGDL("convex", float(beta), tuple(grades))


def gd_mgdl(x: np.ndarray, y: np.ndarray, n_grades: int, beta: float, width: int, lr: float, steps: int,
            seed: int = 0) -> TwoLayerMGDL:
    """The same MGDL with each grade's (8) trained by ``steps`` steps of GD (2) at rate ``lr``,
    ``width`` neurons per grade, from :func:`mgdl_core.theory.convex.random_two_layer` (float64). A grade
    whose GD leaves the floats stops there; its loss is then NaN (a recorded outcome)."""
    x, y = _check(x, y, n_grades, beta)
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive integer, got {width!r}")
    if isinstance(lr, bool) or not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"the learning rate must be a positive number, got {lr!r}")
    features, e, grades = x, y, []
    generator = torch.Generator().manual_seed(seed)
    for _ in range(n_grades):
        xb = with_bias_column(features)
        d = xb.shape[1]
        xt, et = torch.from_numpy(xb), torch.from_numpy(e)
        start = time.perf_counter()
        vector, _ = gradient_descent(lambda v: two_layer_loss(v, xt, et, beta), random_two_layer(d, width, generator),
                                     lr, steps)
        seconds = time.perf_counter() - start
        w, alpha = unpack_two_layer(vector, d)
        grade, e = _grade(w, alpha, features, e, beta, _active(w, alpha), seconds, 0)
        grades.append(grade)
        features = grade.hidden(features)
    return TwoLayerMGDL("gd", float(beta), tuple(grades))
