"""Classical restorers for the paper's denoising and deblurring tasks, and the objective that judges them.

The networks of §§4–6 minimise the ROF model of Appendix C, eq. (18), over their parameters;
a classical baseline minimises the same objective directly over the pixels, or replaces it by
a standard restorer. This module gives:

- :func:`rof_energy`: eq. (18), G(f) = ½‖f̂ − A f‖²_F + λ‖B f‖_{1,1}, in float64. Every method,
  network or classical, is compared by this number (and by PSNR).
- :func:`solve_rof`: a direct solver of eq. (18) with the given A and B (anisotropic TV):
  accelerated Chambolle–Pock with a primal–dual gap certificate for A = I, Condat–Vũ otherwise;
  :func:`solve_rof_grid` runs it at many λ at once (a tuning grid).
- :func:`tv_chambolle`, :func:`wiener_deblur`, :func:`bm3d_denoise`: the skimage / bm3d
  baselines of shared/notes/anchors.md §3.2, with the pitfalls found there handled.
- :func:`tune`: oracle parameter selection by PSNR against the clean image.

skimage and bm3d are optional: they are imported only by the functions that use them.
"""
from __future__ import annotations

import importlib
import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence, Union

import numpy as np
import torch

from ..core.operators import Identity, gaussian_taps
from ..runtime import intra_op_threads
from .grids import psnr

Array = Union[np.ndarray, torch.Tensor]

# The accelerated Chambolle–Pock run's first primal step. Any value converges (only τ₀σ₀‖B‖² ≤ 1
# matters); on Butterfly 64² and 512², τ₀ ∈ [1, 30] needed the same number of iterations to within
# 30 %, and τ₀ = 0.1 needed 3–7 times more.
_CP_TAU0 = 5.0
# Condat–Vũ: the dual step as a fraction of 1/‖B‖². On Butterfly with σ̂ = 3 and λ ∈ [1e-4, 1e-3]
# a small dual step (0.03–0.1) lowered the energy fastest over 1000 iterations.
_CV_DUAL = 0.1
_GAP_EVERY = 10      # the gap costs about one iteration; checking every 10th adds ~10 %
_ENERGY_EVERY = 100  # the deblurring solver's stopping window


@dataclass(frozen=True)
class RofSolution:
    """A solution of eq. (18): the image (float64), iterations run, its energy, the primal–dual
    gap certifying it (A = I only; None otherwise) and the wall time in seconds."""

    image: np.ndarray
    iterations: int
    energy: float
    gap: float | None
    seconds: float


@dataclass(frozen=True)
class TunedResult:
    """The outcome of :func:`tune`: the best value, its image and PSNR, and every value's PSNR."""

    value: float
    image: np.ndarray
    psnr: float
    psnrs: dict[float, float]


def _as_image(x: Array, what: str) -> torch.Tensor:
    t = torch.as_tensor(x, dtype=torch.float64)
    if t.ndim != 2:
        raise ValueError(f"the {what} must be a 2-D greyscale image, got shape {tuple(t.shape)}")
    if t.numel() == 0:
        raise ValueError(f"the {what} has no pixels: shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"the {what} contains NaN or Inf values")
    return t


def _check_nonnegative(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {value!r}")
    return float(value)


def _energy(f: torch.Tensor, observed: torch.Tensor, A, B, lam: float) -> float:
    return (0.5 * (observed - A(f)).square().sum() + lam * B(f).abs().sum()).item()


def rof_energy(image: Array, observed: Array, A, B, lam: float) -> float:
    """Eq. (18): ½‖f̂ − A f‖²_F + λ‖B f‖_{1,1} (entrywise ℓ1, i.e. anisotropic TV), in float64."""
    f, fhat = _as_image(image, "image"), _as_image(observed, "observation")
    if f.shape != fhat.shape:
        raise ValueError(f"image {tuple(f.shape)} and observation {tuple(fhat.shape)} differ in shape")
    return _energy(f, fhat.to(f.device), A, B, _check_nonnegative(lam, "lam"))


def solve_rof(observed: Array, A, B, lam: float, iterations: int = 5000,
              tol: float = 1e-6) -> RofSolution:
    """Minimise eq. (18) over the pixels, exactly as posed (the given A and B), in float64.

    A = :class:`~mgdl_core.core.operators.Identity` (denoising): Chambolle–Pock's accelerated
    primal–dual method (2011, Alg. 2, using the data term's 1-strong convexity) with the exact
    prox of ½‖f − f̂‖². It stops when the primal–dual gap P(f) − D(p) ≤ tol·P(f), where
    D(p) = ⟨f̂, Bᵀp⟩ − ½‖Bᵀp‖² over ‖p‖∞ ≤ λ, or after ``iterations``. The gap bounds the
    suboptimality of the energy, and ½‖f − f*‖² ≤ gap. It never stops on a relative-energy
    change: the energy can stall while the image is still far from the minimiser (anchors.md §3.2).

    Any other A (deblurring): Condat–Vũ, f ← f − τ(Aᵀ(Af − f̂) + Bᵀp),
    p ← clip(p + σB(2f_new − f), ±λ), with σ = 0.1/‖B‖² and τ = 0.99/(‖A‖²/2 + σ‖B‖²), which
    satisfies the convergence condition 1/τ − σ‖B‖² > ‖A‖²/2; ‖A‖², ‖B‖² are the operators'
    ``norm_squared_bound()``. Its dual needs (AᵀA)⁻¹, which a blur makes hopelessly
    ill-conditioned (cond ≈ 8e5 already on 6 × 6 with σ̂ = 1), so there is no usable gap: it runs
    ``iterations`` steps and stops early only when the energy changed by ≤ tol (relative) over
    the last 100 iterations; ``gap`` is None. Deblurring converges slowly (the blur's small
    singular values): on Butterfly 512², σ̂ = 3, λ = 3e-4 the energy still fell by 5e-4 (relative)
    from iteration 1000 to 3000 and the PSNR by 0.3 dB, so report the iteration count with it.

    ``iterations`` is a cap for A = I and the run length otherwise; ``seconds`` is wall time.
    """
    return solve_rof_grid(observed, A, B, [lam], iterations, tol)[0]


@intra_op_threads(1)  # one small matmul per iteration: see intra_op_threads
def solve_rof_grid(observed: Array, A, B, lams: Sequence[float], iterations: int = 5000,
                   tol: float = 1e-6) -> list[RofSolution]:
    """:func:`solve_rof` at every λ of ``lams`` at once: one run of the solver on the stack of
    len(lams) images, each λ with its own stopping rule (a stopped one is frozen while the others
    go on), so each solution is the one :func:`solve_rof` gives at that λ, up to rounding. On a
    small image the solvers' time goes to calling tiny operations, not to arithmetic: on the
    quick profile's 32² Pirate the 16-λ grid took 2.0× (denoising) and 4.0× (deblurring) less
    time than one solve per λ, with the same pixels to the last bit (bench/bench_rof_grid.py).
    ``seconds`` is the whole grid's."""
    lams = [_check_nonnegative(v, "lam") for v in lams]
    if not lams:
        raise ValueError("solve_rof_grid needs at least one λ")
    tol = _check_nonnegative(tol, "tol")
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 1:
        raise ValueError(f"iterations must be an integer >= 1, got {iterations!r}")
    fhat = _as_image(observed, "observation")
    if tuple(A(torch.zeros_like(fhat)).shape) != tuple(fhat.shape):
        raise ValueError(f"A maps a {tuple(fhat.shape)} image to another shape; eq. (18) needs "
                         f"A f and the observation to have the same shape")
    lam = torch.tensor(lams, dtype=fhat.dtype, device=fhat.device)[:, None, None]
    start = time.perf_counter()
    if isinstance(A, Identity):
        f, k, gap = _chambolle_pock(fhat, B, lam, int(iterations), tol)
    else:
        (f, k), gap = _condat_vu(fhat, A, B, lam, int(iterations), tol), [None] * len(lams)
    seconds = time.perf_counter() - start
    return [RofSolution(image=f[i].cpu().numpy(), iterations=int(k[i]), energy=_energy(f[i], fhat, A, B, v),
                        gap=gap[i], seconds=seconds) for i, v in enumerate(lams)]


def _sums(x: torch.Tensor) -> torch.Tensor:
    """The sum of each image of a stack [K, H, W] (or [K, 2H, W]), as [K]."""
    return x.sum(dim=(-2, -1))


class _Stack:
    """The images of a λ grid still being solved, and the finished ones. Solving continues on the
    unfinished ones only (``lam``, ``state``), so each λ costs what it would cost alone, and the
    per-call overhead of the tiny operations is shared."""

    def __init__(self, lam: torch.Tensor, f: torch.Tensor):
        self.lam, self.left = lam, torch.arange(lam.shape[0])
        self.out = f.clone()
        self.steps = [0] * lam.shape[0]
        self.gaps: list[float | None] = [None] * lam.shape[0]

    def finish(self, done: torch.Tensor, k: int, f: torch.Tensor, gap: torch.Tensor | None, *state: torch.Tensor):
        """Store the images whose λ is ``done`` (a mask over the unfinished ones) and drop them
        from ``f`` and ``state``; returns the remaining (f, *state)."""
        for j, i in enumerate(self.left.tolist()):
            if done[j]:
                self.out[i], self.steps[i] = f[j], k
                self.gaps[i] = None if gap is None else max(float(gap[j]), 0.0)
        keep = ~done
        self.lam, self.left = self.lam[keep], self.left[keep]
        return (f[keep], *(x[keep] for x in state))


def _chambolle_pock(fhat: torch.Tensor, B, lam: torch.Tensor, iterations: int,
                    tol: float) -> tuple[torch.Tensor, list[int], list[float]]:
    """min_f ½‖f − f̂‖² + λ‖Bf‖₁ as the saddle problem min_f max_{‖p‖∞≤λ} ⟨Bf, p⟩ + ½‖f − f̂‖²,
    for each λ of the stack ``lam`` [K, 1, 1] (the images f [K, H, W])."""
    def gap_of(f: torch.Tensor, p: torch.Tensor, lam: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        primal = _sums(0.5 * (f - fhat).square()) + lam[:, 0, 0] * _sums(B(f).abs())
        btp = B.adjoint(p)
        dual = _sums(fhat * btp) - 0.5 * _sums(btp.square())
        return primal, primal - dual

    f = fhat.expand(lam.shape[0], *fhat.shape).clone()
    stack = _Stack(lam, f)
    p = torch.zeros_like(B(f))
    f_bar = f.clone()
    tau = _CP_TAU0
    sigma = 1.0 / (B.norm_squared_bound() * tau)  # τσ‖B‖² = 1, kept by the updates below
    primal, gap = gap_of(f, p, lam)
    k = 0
    # "<=" so that a constant observation or λ = 0 (f = f̂, p = 0: gap 0) returns at once.
    f, p, f_bar = stack.finish(gap <= tol * primal, k, f, gap, p, f_bar)
    while stack.left.numel() and k < iterations:
        k += 1
        lam = stack.lam
        p = (p + sigma * B(f_bar)).clamp(-lam, lam)               # prox of the box's indicator
        f_new = (f - tau * B.adjoint(p) + tau * fhat) / (1.0 + tau)  # exact prox of the data term
        theta = 1.0 / math.sqrt(1.0 + 2.0 * tau)                  # γ = 1: the data term's convexity
        tau, sigma = theta * tau, sigma / theta
        f_bar = f_new + theta * (f_new - f)
        f = f_new
        if k % _GAP_EVERY == 0 or k == iterations:
            primal, gap = gap_of(f, p, lam)
            done = (gap <= tol * primal) | (k == iterations)
            f, p, f_bar = stack.finish(done, k, f, gap, p, f_bar)
    return stack.out, stack.steps, stack.gaps


def _condat_vu(fhat: torch.Tensor, A, B, lam: torch.Tensor, iterations: int,
               tol: float) -> tuple[torch.Tensor, list[int]]:
    """min_f h(f) + λ‖Bf‖₁ with h = ½‖Af − f̂‖² smooth (∇h is ‖A‖²-Lipschitz): gradient steps on h,
    prox steps on the conjugate of λ‖·‖₁ (the projection onto the box [−λ, λ]), for each λ of the
    stack ``lam`` [K, 1, 1]."""
    def energy(f: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
        return _sums(0.5 * (fhat - A(f)).square()) + lam[:, 0, 0] * _sums(B(f).abs())

    sigma = _CV_DUAL / B.norm_squared_bound()
    tau = 0.99 / (A.norm_squared_bound() / 2.0 + sigma * B.norm_squared_bound())
    f = A.adjoint(fhat).expand(lam.shape[0], *fhat.shape).clone()  # Aᵀf̂: f̂ itself for a blur, but defined for any A
    stack = _Stack(lam, f)
    p = torch.zeros_like(B(f))
    last = energy(f, lam)
    for k in range(1, iterations + 1):
        lam = stack.lam
        f_new = f - tau * (A.adjoint(A(f) - fhat) + B.adjoint(p))
        p = (p + sigma * B(2.0 * f_new - f)).clamp(-lam, lam)
        f = f_new
        if k % _ENERGY_EVERY == 0 or k == iterations:  # the last check may come sooner: it only ends the run
            now = energy(f, lam)
            stalled = (last - now).abs() <= tol * now  # over the last _ENERGY_EVERY iterations
            done = torch.ones_like(stalled) if k == iterations else stalled
            f, p, last = stack.finish(done, k, f, None, p, now)
            if not stack.left.numel():
                break
    return stack.out, stack.steps


def split_energy(image: Array, observed: Array, A, B, lam: float, beta: float) -> float:
    """min over u of the splitting (22) at an image f, the objective the networks' training
    minimises in the end: J(f) = ½‖f̂ − A f‖²_F + Σ h(B f), with h the Huber function
    h(t) = β t²/2 for |t| ≤ λ/β and λ|t| − λ²/(2β) beyond (the value of min_u β/2 (u − t)² + λ|u|,
    attained at u = soft(t, λ/β)). As β → ∞ it is eq. (18); where every difference is below λ/β it
    is the quadratic smoother ½‖f̂ − A f‖² + β/2‖B f‖²."""
    f, fhat = _as_image(image, "image"), _as_image(observed, "observation")
    if f.shape != fhat.shape:
        raise ValueError(f"image {tuple(f.shape)} and observation {tuple(fhat.shape)} differ in shape")
    lam, beta = _check_nonnegative(lam, "lam"), _check_nonnegative(beta, "beta")
    return _split_value_grad(f, fhat, A, B, lam, beta)[0]


def _split_value_grad(f: torch.Tensor, fhat: torch.Tensor, A, B, lam: float, beta: float):
    r, t = A(f) - fhat, B(f)
    small = t.abs() <= lam / beta
    huber = torch.where(small, 0.5 * beta * t.square(), lam * t.abs() - lam * lam / (2.0 * beta))
    value = (0.5 * r.square().sum() + huber.sum()).item()
    return value, A.adjoint(r) + B.adjoint((beta * t).clamp(-lam, lam))


@intra_op_threads(1)
def solve_split(observed: Array, A, B, lam: float, beta: float, iterations: int = 20_000,
                tol: float = 1e-10) -> RofSolution:
    """Minimise :func:`split_energy` over the pixels (L-BFGS-B of SciPy on the exact gradient,
    float64): the optimum the SGDL and MGDL runs of (22)/(24) approach. J is smooth (its
    gradient is (‖A‖² + β‖B‖²)-Lipschitz), so the gradient certifies the result: with A = I, J is
    1-strongly convex and J(f) − min J ≤ ‖∇J(f)‖²/2, reported as ``gap``; otherwise ``gap`` is
    None and the stop is SciPy's (``tol`` on the gradient's largest entry, or ``iterations``)."""
    from scipy.optimize import minimize

    lam, beta = _check_nonnegative(lam, "lam"), _check_nonnegative(beta, "beta")
    if beta == 0:
        raise ValueError("beta must be > 0 (β = 0 drops the regulariser from (22))")
    fhat = _as_image(observed, "observation")
    start = time.perf_counter()

    def fun(v: np.ndarray):
        value, grad = _split_value_grad(torch.from_numpy(v).reshape(fhat.shape), fhat, A, B, lam, beta)
        return value, grad.reshape(-1).numpy()

    res = minimize(fun, fhat.reshape(-1).numpy().copy(), jac=True, method="L-BFGS-B",
                   options=dict(maxiter=int(iterations), gtol=tol, ftol=0.0, maxcor=20))
    f = torch.from_numpy(res.x).reshape(fhat.shape)
    value, grad = _split_value_grad(f, fhat, A, B, lam, beta)
    gap = 0.5 * grad.square().sum().item() if isinstance(A, Identity) else None
    return RofSolution(image=f.numpy(), iterations=int(res.nit), energy=value, gap=gap,
                       seconds=time.perf_counter() - start)


def _require(module: str, package: str):
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(f"this baseline needs the '{package}' package: pip install {package}") from err


def _as_numpy_image(x: Array, what: str) -> np.ndarray:
    return _as_image(x, what).cpu().numpy()


def tv_chambolle(observed: Array, weight: float, eps: float = 1e-7,
                 max_num_iter: int = 2000) -> np.ndarray:
    """skimage's ``denoise_tv_chambolle``: *isotropic* TV with skimage's own weight scaling, so
    ``weight`` is not eq. (18)'s λ. ``eps`` and ``max_num_iter`` are always passed: skimage's
    defaults (2e-4, 200) stop after one or two iterations on large flat images (Chest, §3.2)."""
    restoration = _require("skimage.restoration", "scikit-image")
    image = _as_numpy_image(observed, "observation")
    weight = _check_nonnegative(weight, "weight")
    out = restoration.denoise_tv_chambolle(image, weight=weight, eps=eps, max_num_iter=max_num_iter)
    return np.asarray(out, dtype=np.float64)


def gaussian_psf(sigma_hat: float) -> np.ndarray:
    """The PSF whose convolution is :class:`~mgdl_core.core.operators.GaussianBlur` (σ̂) inside the image.

    A is a correlation with ``gaussian_taps`` whose zero offset is tap ``size//2 − 1`` for an even
    size; skimage convolves with the PSF centred on tap ``size//2``. Flipping the taps and, for an
    even size, appending a zero tap makes the two agree (for an odd size both are the same)."""
    taps = gaussian_taps(sigma_hat).numpy()[::-1]
    if taps.size % 2 == 0:
        taps = np.append(taps, 0.0)
    return np.outer(taps, taps)


def wiener_deblur(observed: Array, sigma_hat: float, balance: float) -> np.ndarray:
    """skimage's ``wiener`` (Laplacian regulariser) for the blur A = GaussianBlur(σ̂).

    skimage's Wiener filter works in the Fourier domain, i.e. with periodic boundaries, while A
    pads symmetrically. Padding the observation symmetrically by one kernel width before
    filtering and cropping afterwards keeps the wrap-around away from the image (anchors.md §3.2)."""
    restoration = _require("skimage.restoration", "scikit-image")
    image = _as_numpy_image(observed, "observation")
    balance = _check_nonnegative(balance, "balance")
    psf = gaussian_psf(sigma_hat)
    pad = gaussian_taps(sigma_hat).numel()
    padded = np.pad(image, pad, mode="symmetric")
    out = restoration.wiener(padded, psf, balance)
    return np.asarray(out[pad:-pad, pad:-pad], dtype=np.float64)


def bm3d_denoise(observed: Array, sigma: float) -> np.ndarray:
    """BM3D (default profile) for Gaussian noise of standard deviation ``sigma`` on the 0–255 scale,
    on an image in [0, 1]."""
    bm3d = _require("bm3d", "bm3d")
    image = _as_numpy_image(observed, "observation")
    sigma = _check_nonnegative(sigma, "sigma")
    return np.asarray(bm3d.bm3d(image, sigma / 255.0), dtype=np.float64)


def tune(run: Callable[[float], np.ndarray], values: Sequence[float],
         clean: np.ndarray) -> TunedResult:
    """Run ``run(v)`` for each value and keep the one with the highest PSNR against ``clean``.

    This is oracle selection with the ground truth, as the paper's authors appear to have chosen
    their λ and β (parameter_analysis.ipynb): the result is the method's best case, not what a
    user without the clean image would get. Ties go to the first value."""
    values = list(values)
    if not values:
        raise ValueError("tune needs at least one value to try")
    best: tuple[float, np.ndarray, float] | None = None
    psnrs: dict[float, float] = {}
    for value in values:
        image = np.asarray(run(value), dtype=np.float64)
        score = psnr(image, clean)
        psnrs[value] = score
        if best is None or score > best[2]:
            best = (value, image, score)
    return TunedResult(value=best[0], image=best[1], psnr=best[2], psnrs=psnrs)
