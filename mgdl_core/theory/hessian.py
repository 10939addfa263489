"""The Hessian of the training loss and the extreme eigenvalues of I − ηH (§6).

What is computed. The loss is eq. (1), L(W) = 1/(2N) Σ_ℓ ‖y_ℓ − N(W; x_ℓ)‖², seen as a function
of the single parameter vector W of §2 (each W_j with its columns stacked, then b_j, layer by
layer; for a multi-branch MSDL network, branch after branch: exactly ``Network.vector()``).
H = ∂²L/∂W² is the M × M Hessian. §6 linearises GD (eq. 6–7) around W^k: the iteration matrix is
A = I − ηH, and Theorems 4–5 ask for its spectral norm τ < 1, i.e. all eigenvalues
1 − η·λ(H) inside (−1, 1). An eigenvalue below −1 means λ(H) > 2/η, the "edge of stability"
(:func:`edge_of_stability`); Theorem 1's α = sup ‖H‖ is the same quantity seen from §2.
The paper plots the 10 smallest and 10 largest eigenvalues of I − ηH along training; that is
what :func:`hessian_spectrum` returns and what :class:`EigenTracker` records.

How. Everything runs in float64, whatever the training dtype: the parameters and the data are
copied. :func:`hvp` builds the gradient with ``create_graph=True`` once, and then each product
H v costs one backward pass (double backward). :func:`hessian_spectrum` gives these products to
Lanczos (``scipy.sparse.linalg.eigsh``, ``which='BE'``, 2k eigenvalues from both ends in one
Krylov run): about 110–150 products instead of M. :func:`dense_hessian` builds H column by
column and is the reference; it is used automatically for small M (an MGDL grade of 97
parameters) and in the tests. ``torch.func.hessian`` is not used: it needs gigabytes at
M ≈ 3,000 (shared/notes/performance.md §4).

The ReLU'(0) convention. ReLU is not differentiable at 0, and the convention changes H wherever
a pre-activation is exactly 0. That happens in practice: the §5–§7 networks start with zero
biases, and the synthetic training grid linspace(0, 1, N) contains x = 0, so at initialisation
every first-layer pre-activation at x = 0 is exactly 0 (and so are the deeper ones at that
sample). ``relu_prime_at_zero`` = c makes ReLU'(0) = c (:func:`mgdl_core.core.step.relu_with_prime_at_zero`, traced by
:func:`mgdl_core.core.step.differentiable_forward`):
0 is autograd's, 0.5 is JAX's and so what the authors' *training* used (``jnp.maximum``), 1 is
what the authors' analytic *Hessian* used (``x >= 0``; shared/notes/anchor-repo.md §4).
:class:`EigenTracker` uses the run's own training convention by default, so that H is the
Jacobian of the very gradient map GD iterates; pass 1 to reproduce the authors' first
checkpoint. Elsewhere all conventions agree. (Their analytic SGDL/MSDL Hessian also has a typo
in some residual-curvature blocks, anchor-repo.md §0.5; an autograd Hessian such as this one is
the correct one, so SGDL spectra may differ from the paper's plots by ~0.01 in I − ηH.)

An MGDL grade (§3) is trained as a :class:`Network` of its own parameters on its cached
features and residuals, so the spectrum of a grade is simply the spectrum of that network on
that data: only the grade's own parameters enter H (eq. 3–4).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..core.nets import Network
from ..core.objectives import HALF_MSE, Objective
from ..core.step import check_relu_prime_at_zero, differentiable_forward
from ..core.training import Callback, Outcome, Recorder, TrainState

DENSE_BELOW = 200  # below this many parameters a dense eigen-solve is cheaper than Lanczos
# Up to this many parameters a stalled Lanczos run falls back to the dense method (M products
# plus eigvalsh: seconds at M = 3,265); above it, the dense Hessian costs minutes and gigabytes.
DENSE_FALLBACK_UP_TO = 4_000


class _ProductBudgetSpent(Exception):
    """Lanczos used more Hessian-vector products than the dense method would."""


def edge_of_stability(eta: float) -> float:
    """2/η: GD at rate η is locally unstable along directions where λ(H) > 2/η (1 − ηλ < −1)."""
    if not (isinstance(eta, (int, float)) and math.isfinite(eta) and eta > 0):
        raise ValueError(f"the learning rate eta must be a positive number, got {eta!r}")
    return 2.0 / eta


def _check_data(net: Network, x: torch.Tensor, y: torch.Tensor) -> None:
    if not isinstance(net, Network):
        raise ValueError(f"net must be a mgdl_core.core.nets.Network, got {type(net).__name__}")
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ValueError(f"x must be [N, d] and y [N, s] with the same N > 0, got {tuple(x.shape)} and {tuple(y.shape)}")
    d_in, d_out = net.widths[0][0], net.widths[0][-1]
    if x.shape[1] != d_in or y.shape[1] != d_out:
        raise ValueError(f"the network maps {d_in} → {d_out} but x has {x.shape[1]} columns and y {y.shape[1]}")


def _loss(net: Network, x: torch.Tensor, y: torch.Tensor, relu_prime_at_zero: float,
          objective: Objective = HALF_MSE) -> torch.Tensor:
    """The objective (eq. 1 by default) with a twice-differentiable graph and the chosen ReLU'(0)."""
    return objective.value(differentiable_forward(net, x, relu_prime_at_zero), y)


def _gradient_graph(net: Network, x: torch.Tensor, y: torch.Tensor, relu_prime_at_zero: float,
                    objective: Objective = HALF_MSE):
    """(W as a float64 leaf, ∂L/∂W with its graph kept for a second backward)."""
    relu_prime_at_zero = check_relu_prime_at_zero(relu_prime_at_zero)
    _check_data(net, x, y)
    w = net.vector().detach().to(torch.float64).clone().requires_grad_(True)
    x64 = x.detach().to(dtype=torch.float64, device=w.device)
    y64 = y.detach().to(dtype=torch.float64, device=w.device)
    with torch.enable_grad():
        loss = _loss(net.with_vector(w), x64, y64, relu_prime_at_zero, objective)
        (g,) = torch.autograd.grad(loss, w, create_graph=True)
    return w, g


def hvp(net: Network, x: torch.Tensor, y: torch.Tensor, relu_prime_at_zero: float = 0.0,
        objective: Objective = HALF_MSE) -> Callable[[torch.Tensor], torch.Tensor]:
    """v ↦ H v for the Hessian of eq. (1) in the vector W of §2, in float64.

    The gradient graph is built once here; each call of the returned function is one backward
    pass. ``v`` may be a torch tensor or a NumPy array of M entries; the result is a float64
    tensor of M entries. The network is not modified (its parameters are copied).
    """
    w, g = _gradient_graph(net, x, y, relu_prime_at_zero, objective)
    m = w.numel()

    def product(v) -> torch.Tensor:
        v = torch.as_tensor(np.ascontiguousarray(v) if isinstance(v, np.ndarray) else v)
        v = v.to(dtype=torch.float64, device=w.device).reshape(-1)
        if v.numel() != m:
            raise ValueError(f"the vector has {v.numel()} entries, the network {m}")
        (hv,) = torch.autograd.grad(g, w, v, retain_graph=True)
        return hv

    product.size = m  # type: ignore[attr-defined]
    return product


def dense_hessian(net: Network, x: torch.Tensor, y: torch.Tensor, relu_prime_at_zero: float = 0.0,
                  chunk: int = 8, objective: Objective = HALF_MSE) -> torch.Tensor:
    """The full M × M Hessian (float64) from H e_i for every i, symmetrised. M products: use it
    for validation and small networks.

    ``chunk`` columns go through one batched backward (``is_grads_batched``): about 2× faster
    than one at a time for narrow multi-branch networks, no slower for (26); larger chunks
    outgrow the cache (shared/notes/performance.md §4). ``chunk=1`` is a plain loop.
    """
    if not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    w, g = _gradient_graph(net, x, y, relu_prime_at_zero, objective)
    m = w.numel()
    h = torch.empty(m, m, dtype=torch.float64, device=w.device)
    for start in range(0, m, chunk):
        stop = min(start + chunk, m)
        if stop - start == 1:
            e = torch.zeros(m, dtype=torch.float64, device=w.device)
            e[start] = 1.0
            h[start] = torch.autograd.grad(g, w, e, retain_graph=True)[0]
            continue
        eye = torch.zeros(stop - start, m, dtype=torch.float64, device=w.device)
        eye[torch.arange(stop - start), torch.arange(start, stop)] = 1.0
        # Row i = (H e_i)^T = column i, H being symmetric.
        h[start:stop] = torch.autograd.grad(g, w, eye, retain_graph=True, is_grads_batched=True)[0]
    return 0.5 * (h + h.t())


@dataclass(frozen=True)
class Spectrum:
    """Extreme eigenvalues of I − ηH at one W (§6), both arrays ascending.

    ``smallest`` = the k smallest eigenvalues of I − ηH (from the k largest of H; < −1 means
    λ(H) > 2/η); ``largest`` = the k largest (from the k smallest of H). ``hvps`` counts the
    Hessian-vector products used (M for the dense method).
    """

    smallest: np.ndarray
    largest: np.ndarray
    lambda_max: float
    lambda_min: float
    eta: float
    method: str
    hvps: int

    @property
    def hessian_norm(self) -> float:
        """‖H‖ = max |λ(H)| (the α of Theorem 1 at this W)."""
        return max(abs(self.lambda_max), abs(self.lambda_min))

    @property
    def tau(self) -> float:
        """‖I − ηH‖ (the τ of Theorems 4–5 at this W)."""
        return float(max(abs(self.smallest[0]), abs(self.largest[-1])))


def hessian_spectrum(net: Network, x: torch.Tensor, y: torch.Tensor, eta: float, k: int = 10,
                     method: str = "lanczos", relu_prime_at_zero: float = 0.0, tol: float = 0.0,
                     dense_below: int = DENSE_BELOW, max_products: int | None = None,
                     objective: Objective = HALF_MSE) -> Spectrum:
    """The k smallest and k largest eigenvalues of I − ηH(W) for ``objective`` (the loss (1) by
    default) of ``net`` on (x, y).

    ``method="lanczos"``: ``eigsh(LinearOperator, k=2k, which="BE", tol=tol, ncv=8k)`` on
    Hessian-vector products (a fixed start vector, so results are reproducible). It switches to the dense
    method when M <= max(2k + 1, ``dense_below``), where ARPACK cannot run or is not worth it,
    and when Lanczos stalls: after ``max_products`` products (default M, what the dense method
    costs, for M <= ``DENSE_FALLBACK_UP_TO``; unbounded above) it gives up and goes dense.
    Stalls happen late in training, when the bottom of the spectrum is a cluster of
    near-zero eigenvalues: a converged MGDL grade (M = 1,089) once took 25,891 products.
    ``method="dense"``: :func:`dense_hessian` + ``torch.linalg.eigvalsh``. If M < k, M values
    are returned at each end. ``Spectrum.hvps`` counts every product, the abandoned ones too.
    """
    if not (isinstance(eta, (int, float)) and math.isfinite(eta) and eta > 0):
        raise ValueError(f"the learning rate eta must be a positive number, got {eta!r}")
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if method not in ("lanczos", "dense"):
        raise ValueError(f"unknown method {method!r}: use 'lanczos' or 'dense'")
    if not (math.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be >= 0 (0: machine precision), got {tol!r}")
    if max_products is not None and (not isinstance(max_products, int) or max_products < 1):
        raise ValueError(f"max_products must be a positive integer or None, got {max_products!r}")
    relu_prime_at_zero = check_relu_prime_at_zero(relu_prime_at_zero)
    _check_data(net, x, y)
    m = net.num_parameters()
    k = int(k)
    if method == "lanczos" and m <= max(2 * k + 1, dense_below):
        method = "dense"
    spent = 0
    if method == "lanczos":
        from scipy.sparse.linalg import LinearOperator, eigsh

        budget = max_products if max_products is not None else (m if m <= DENSE_FALLBACK_UP_TO else None)
        mv = hvp(net, x, y, relu_prime_at_zero, objective)
        count = [0]

        def matvec(v: np.ndarray) -> np.ndarray:
            if budget is not None and count[0] >= budget:
                raise _ProductBudgetSpent
            count[0] += 1
            return mv(v).cpu().numpy()

        op = LinearOperator((m, m), matvec=matvec, dtype=np.float64)
        v0 = np.random.default_rng(0).standard_normal(m)
        # A Krylov basis of 8k vectors (ARPACK's default: 4k + 1) converges on the cluster of
        # near-zero Hessian eigenvalues late in training in 6x fewer products (446 vs 2,838
        # for (26) at epoch 770,000 of the §6 paper run); memory 8k·M doubles.
        ncv = min(m - 1, max(8 * k, 4 * k + 1))
        try:
            lam = np.sort(eigsh(op, k=2 * k, which="BE", tol=tol, v0=v0, ncv=ncv, return_eigenvectors=False))
            low, high, hvps = lam[:k], lam[k:], count[0]
        except _ProductBudgetSpent:
            spent, method = count[0], "dense"
    if method == "dense":
        h = dense_hessian(net, x, y, relu_prime_at_zero, objective=objective)
        lam = torch.linalg.eigvalsh(h).cpu().numpy()
        kk = min(k, m)
        low, high, hvps = lam[:kk], lam[m - kk:], spent + m
    return Spectrum(smallest=np.sort(1.0 - eta * high), largest=np.sort(1.0 - eta * low),
                    lambda_max=float(high[-1]), lambda_min=float(low[0]), eta=float(eta),
                    method=method, hvps=int(hvps))


class EigenTracker(Recorder):
    """Records the extreme eigenvalues of I − ηH during :func:`~mgdl_core.core.training.train` (§6, Fig. 2).

    Every ``every`` epochs, and at epoch 0, at W^k before that epoch's update (the authors'
    protocol, shared/notes/anchor-repo.md §4), with η = ``state.config.lr`` and the training
    split as data, it appends to ``state.history``: ``eig_epoch``, ``eig_smallest`` and
    ``eig_largest`` (k values each, ascending), ``lambda_max`` (of H) and ``hessian_norm``
    (‖H‖), and what each spectrum cost (``eig_seconds``, ``eig_hvps``). ``alpha`` keeps the
    largest ‖H‖ seen (Theorem 1's α, estimated along the path), ``alpha_by_grade`` the same per
    MGDL grade, and ``spectra`` every :class:`Spectrum`.
    Passed to ``train_mgdl``, it tracks each grade's own network on its own features.

    ``relu_prime_at_zero=None`` takes the run's own training convention (``TrainConfig``), so
    H is the Jacobian of the gradient map GD iterates. ``tol`` is ARPACK's relative accuracy:
    1e-8 is far below what a plot resolves and needs fewer products than 0 (machine precision),
    most at late checkpoints where eigenvalues cluster (shared/notes/performance.md §4).
    """

    def __init__(self, every: int, k: int = 10, method: str = "lanczos",
                 relu_prime_at_zero: float | None = None, tol: float = 1e-8):
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError(f"every must be a positive integer number of epochs, got {every!r}")
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        if method not in ("lanczos", "dense"):
            raise ValueError(f"unknown method {method!r}: use 'lanczos' or 'dense'")
        if relu_prime_at_zero is not None:
            relu_prime_at_zero = check_relu_prime_at_zero(relu_prime_at_zero)
        self.every, self.k, self.method = every, k, method
        self.relu_prime_at_zero, self.tol = relu_prime_at_zero, tol
        self.alpha = 0.0
        self.alpha_by_grade: dict[int | None, float] = {}
        self.spectra: list[tuple[int | None, int, Spectrum]] = []  # (grade, epoch, spectrum)

    epoch_key = "eig_epoch"

    def resume(self, state: TrainState) -> None:
        if state.history.get("hessian_norm"):  # resumed: α over the spectra recorded before
            seen = float(np.max(state.history["hessian_norm"]))
            self.alpha = max(self.alpha, seen)
            self.alpha_by_grade[state.grade] = max(self.alpha_by_grade.get(state.grade, 0.0), seen)

    def record(self, state: TrainState) -> None:
        split = state.data.train
        relu0 = state.config.relu_prime_at_zero if self.relu_prime_at_zero is None else self.relu_prime_at_zero
        started = time.perf_counter()
        spec = hessian_spectrum(state.net, split.x, split.y, state.config.lr, self.k, self.method,
                                relu0, self.tol, objective=state.objective)
        state.append("eig_seconds", time.perf_counter() - started)
        state.append("eig_hvps", spec.hvps)
        norm = spec.hessian_norm
        self.alpha = max(self.alpha, norm)
        self.alpha_by_grade[state.grade] = max(self.alpha_by_grade.get(state.grade, 0.0), norm)
        self.spectra.append((state.grade, state.epoch, spec))
        state.append("eig_epoch", state.epoch)
        state.append("eig_smallest", spec.smallest)
        state.append("eig_largest", spec.largest)
        state.append("lambda_max", spec.lambda_max)
        state.append("hessian_norm", norm)


class EigenStop(Callback):
    """The authors' extra rule for §6 image-regression MGDL, which the paper does not state: a
    grade stops as soon as the smallest eigenvalue of I − ηH drops below ``threshold`` (their
    −0.95; ``if i>0 and min_eig < -0.95: break``), except at the grade's first spectrum
    (shared/notes/anchor-repo.md, finding 4). It reads what an :class:`EigenTracker` with the
    same period recorded just before it, and ends the grade with outcome ``"eig_stopped"``.
    """

    def __init__(self, every: int, threshold: float = -0.95):
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError(f"every must be a positive integer number of epochs, got {every!r}")
        if not (isinstance(threshold, (int, float)) and math.isfinite(threshold)):
            raise ValueError(f"threshold must be a finite number, got {threshold!r}")
        self.every, self.threshold = every, float(threshold)

    def on_epoch(self, state: TrainState) -> None:
        epochs = state.history.get("eig_epoch")
        if not epochs or epochs[-1] != state.epoch:
            raise RuntimeError("EigenStop needs an EigenTracker with the same period placed before it")
        if state.epoch > 0 and float(state.history["eig_smallest"][-1][0]) < self.threshold:
            state.stop(Outcome.EIG_STOPPED)
