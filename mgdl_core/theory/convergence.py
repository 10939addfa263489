"""The paper's convergence theorems measured on real iterations (§2–3 Theorems 1–2, §6 Theorems 4–5).

Theorems 1 and 2 say that GD (2) on the loss (1), resp. GD (4) on a grade's loss (3), converges
when η < 2/α (:func:`mgdl_core.theory.hessian.edge_of_stability` is 2/η), α = sup‖H‖ over a compact set
holding the iterates (α_l for grade l). The set is
not known in practice; along an actual run the eigenvalue tracker (:class:`mgdl_core.theory.hessian.
EigenTracker`) records ‖H‖ at every checkpoint, and :func:`alpha_by_grade` takes its maximum,
a lower estimate of α (the sup over the checkpoints, not over a set): η α̂ ≥ 2 already shows the
sufficient condition failing on that run.

Theorems 4 and 5 compare GD written as (6),

    W^{k+1} = A^{k−1} W^k − η u^{k−1} + r^{k−1},   A^{k−1} = I − η H(W^{k−1}),
    u^{k−1} = ∇F(W^{k−1}) − H(W^{k−1}) W^{k−1},

with its linearisation (7), W̃^{k+1} = A^{k−1} W̃^k − η u^{k−1}, from W̃^0 = W^0, W̃^1 = W^1:
if τ = sup‖I − ηH‖ < 1 on a convex compact set holding the iterates, (7) converges (Theorem 4)
and to GD's limit (Theorem 5). :func:`linearised_gd` runs both on any twice-differentiable
F: R^M → R with the dense Hessian at every step (small M), recording ‖W^k − W̃^k‖ and
τ_k = ‖A^k‖ along the path. (7) is evaluated as W̃^{k+1} = W̃^k − η(∇F(W^{k−1}) +
H(W^{k−1})(W̃^k − W^{k−1})), algebraically the same and free of the cancellation between
H W and u when ‖W‖ is large. On a quadratic F, r = 0 and the two sequences are equal
(tests/test_theory.py).

For a ReLU network F is not C²: it is a polynomial in W on each region of fixed activation
patterns, and H is the Hessian there (almost everywhere). ``linearised_gd(patterns=)`` marks the
steps at which a path crosses from one region to another, where the theorems' smoothness fails.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

ScalarFunction = Callable[[torch.Tensor], torch.Tensor]  # F: R^M → R, differentiable by autograd
Derivatives = Callable[[torch.Tensor], tuple[float, torch.Tensor, torch.Tensor]]  # W ↦ (F, ∇F, H)


def alpha_by_grade(run) -> list[float]:
    """α̂ = the largest ‖H‖ recorded along a tracked run, one value per grade (one for SGDL or
    MSDL): Theorem 1's α and Theorem 2's α_l, estimated from below on the run's checkpoints."""
    h = run.history
    if len(h.get("hessian_norm", ())) == 0:
        raise ValueError("the run has no spectra: train it with track_every= (mgdl_core.theory.hessian.EigenTracker)")
    norms = np.asarray(h["hessian_norm"], dtype=np.float64)
    if "eig_grade" not in h:
        return [float(norms.max())]
    grades = np.asarray(h["eig_grade"])
    return [float(norms[grades == g].max()) for g in np.unique(grades)]


@dataclass(frozen=True)
class LinearisedPath:
    """GD (6) beside its linearisation (7), step k = 0 … steps (arrays of steps + 1 entries).

    ``loss``: F(W^k); ``gap``: ‖W^k − W̃^k‖ (inf once (7) overflowed); ``tau``: ‖I − ηH(W^k)‖;
    ``a_min``, ``a_max``: the extreme eigenvalues of I − ηH(W^k); ``step``: ‖W^{k+1} − W^k‖
    (0 at the last); ``crossed``: whether step k → k+1 changed the activation pattern. ``w``, ``w_tilde``: the last iterates; ``outcome``: "converged",
    "diverged" (GD left the floats) or "max_steps"."""

    lr: float
    loss: np.ndarray
    gap: np.ndarray
    tau: np.ndarray
    a_min: np.ndarray
    a_max: np.ndarray
    step: np.ndarray
    crossed: np.ndarray
    w: np.ndarray
    w_tilde: np.ndarray
    outcome: str

    @property
    def tau_sup(self) -> float:
        """max_k ‖I − ηH(W^k)‖ along the path: τ of Theorems 4–5 on the path's own points."""
        return float(np.max(self.tau))


def _check_start(f: ScalarFunction, w0, lr: float, steps: int) -> torch.Tensor:
    if not callable(f):
        raise ValueError("f must be a callable from a parameter vector to a scalar")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"the learning rate must be a positive number, got {lr!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    w = torch.as_tensor(np.asarray(w0) if not isinstance(w0, torch.Tensor) else w0).detach()
    w = w.to(torch.float64).reshape(-1).clone()
    if w.numel() == 0 or not torch.isfinite(w).all():
        raise ValueError("w0 must be a non-empty vector of finite numbers")
    return w


def _value_and_gradient(f: ScalarFunction, w: torch.Tensor) -> tuple[float, torch.Tensor]:
    w = w.detach().requires_grad_(True)
    with torch.enable_grad():
        value = f(w)
        (g,) = torch.autograd.grad(value, w)
    return float(value.detach()), g.detach()


def _hessian(f: ScalarFunction, w: torch.Tensor) -> torch.Tensor:
    h = torch.autograd.functional.hessian(f, w.detach(), vectorize=True)
    return 0.5 * (h + h.t())


def gradient_descent(f: ScalarFunction, w0, lr: float, steps: int, tol: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """GD (2) on F: (the last W, F(W^k) for k = 0 … the last step), stopping early when
    ‖∇F‖ ≤ ``tol`` or when F or its gradient leaves the floats (the last F is then not finite)."""
    w = _check_start(f, w0, lr, steps)
    if isinstance(tol, bool) or not (isinstance(tol, (int, float)) and tol >= 0):
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")
    losses = []
    for _ in range(steps + 1):
        value, g = _value_and_gradient(f, w)
        if not torch.isfinite(g).all():
            value = math.nan
        losses.append(value)
        if not math.isfinite(value) or float(g.norm()) <= tol or len(losses) == steps + 1:
            break
        w = w - lr * g
    return w.numpy(), np.asarray(losses)


def linearised_gd(f: ScalarFunction, w0, lr: float, steps: int, tol: float = 1e-12,
                  patterns: Callable[[torch.Tensor], torch.Tensor] | None = None,
                  derivatives: Derivatives | None = None) -> LinearisedPath:
    """GD (6) on F from ``w0`` beside the linearised iteration (7) from W̃^0 = W^0, W̃^1 = W^1, for
    ``steps`` steps, with the dense Hessian of F at every iterate (float64). Stops early when GD's
    step falls below ``tol`` (converged) or F leaves the floats (diverged). ``patterns(W)``, if
    given, returns a ReLU network's activation pattern at W: ``crossed[k]`` says whether step
    k → k+1 changed it (crossed a kink, where F is not twice differentiable). ``derivatives(W)``, if
    given, returns (F, ∇F, H) at W, e.g. in closed form (:func:`mgdl_core.theory.convex.two_layer_derivatives`);
    by default autograd differentiates ``f`` (one backward pass per parameter for H)."""
    w = _check_start(f, w0, lr, steps)
    if derivatives is None:
        def derivatives(v: torch.Tensor) -> tuple[float, torch.Tensor, torch.Tensor]:
            return (*_value_and_gradient(f, v), _hessian(f, v))
    rows: dict[str, list[float]] = {k: [] for k in ("loss", "gap", "tau", "a_min", "a_max", "step", "crossed")}
    w_tilde = w.clone()
    before: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []  # (W^j, ∇F(W^j), H(W^j)), j = k−2, k−1
    outcome = "max_steps"
    pattern = patterns(w) if patterns is not None else None
    for k in range(steps + 1):
        value, g, h = derivatives(w)
        if not math.isfinite(value) or not torch.isfinite(g).all():
            outcome = "diverged"
            break
        eig = torch.linalg.eigvalsh(h)
        a_min, a_max = 1.0 - lr * float(eig[-1]), 1.0 - lr * float(eig[0])
        if k == 1:
            w_tilde = w.clone()  # W̃^1 = W^1
        elif k >= 2 and torch.isfinite(w_tilde).all():  # (7): W̃^k = A^{k−2} W̃^{k−1} − η u^{k−2}
            w_old, g_old, h_old = before[0]
            w_tilde = w_tilde - lr * (g_old + h_old @ (w_tilde - w_old))
        gap = float((w - w_tilde).norm())
        if not math.isfinite(gap):
            gap, w_tilde = math.inf, torch.full_like(w, math.inf)
        rows["loss"].append(value)
        rows["gap"].append(gap)
        rows["tau"].append(max(abs(a_min), abs(a_max)))
        rows["a_min"].append(a_min)
        rows["a_max"].append(a_max)
        step = lr * g
        size = 0.0 if k == steps else float(step.norm())
        rows["step"].append(size)
        if k == steps or size <= tol:
            rows["crossed"].append(False)
            outcome = "converged" if k < steps else outcome
            break
        before = (before + [(w, g, h)])[-2:]
        w = w - step
        if patterns is not None:
            new = patterns(w)
            rows["crossed"].append(not torch.equal(new, pattern))
            pattern = new
        else:
            rows["crossed"].append(False)
    arrays = {k: np.asarray(v, dtype=bool if k == "crossed" else np.float64) for k, v in rows.items()}
    return LinearisedPath(float(lr), **arrays, w=w.numpy(), w_tilde=w_tilde.numpy(), outcome=outcome)
