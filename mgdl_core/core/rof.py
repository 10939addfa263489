"""The ROF objectives of Appendix C and their proximity-gradient step (eqs. 18–25).

A restoration network maps every pixel's coordinates to an intensity; its outputs, laid out on
the pixel grid, are the image N_Θ (H × W). With A the degradation (:mod:`mgdl_core.core.operators`:
the identity for denoising, a Gaussian blur for deblurring) and B the first-order differences
of total variation, the model is

- eq. (18), G(Θ) = ½‖f̂ − A N_Θ‖²_F + λ‖B N_Θ‖_{1,1}, the model itself
  (:func:`mgdl_core.tasks.restoration_baselines.rof_energy`), and
- eq. (22) (SGDL, and grade 1 of MGDL), its splitting with an auxiliary u ∈ R^{2H×W}:
  L(Θ, u) = ½‖f̂ − A N_Θ‖²_F + β/2‖u − B N_Θ‖²_F + λ‖u‖_{1,1};
- eq. (24) (MGDL grade l ≥ 2), the same with N_Θ replaced by g_l = ε_l N_{Θ_l} + g_{l−1}: the
  grade's output scaled by ε_l and added to the frozen image of the grades before it.

:class:`RofObjective` is (22)/(24) as an objective of the one training loop
(:mod:`mgdl_core.core.objectives`): its value (differentiable, so the Hessian of §6 sees it) and its
gradient with respect to the network output. u is held in an :class:`Auxiliary` that every
grade's objective shares, so u carries across grades as the authors' code carries it.

:class:`ProxGradient` is the algorithm (20)–(21), wrapping any step of :mod:`mgdl_core.core.step`
(Adam in §4, GD in §6): at each epoch k,

    u^{k+1} = prox_{αλ/β‖·‖_{1,1}}(α B g(Θ^k) + (1 − α) u^k)          (20)
    Θ^{k+1} = one step of the inner optimiser on L(Θ, u^{k+1})         (21)

The u-update needs the network's output at Θ^k, which is exactly the forward pass the inner
step makes before its gradient; so instead of a second forward, the step hands the inner step an
objective that performs (20) when it is asked for the gradient at that output. u and the inner
step's state (Adam's moments) are the step's checkpointed state.
"""
from __future__ import annotations

import torch

from .nets import Network
from .operators import FiniteDifference, Identity, soft_threshold
from .step import Step


class Auxiliary:
    """The auxiliary variable u of eq. (19), shared by the objectives of every grade of one run;
    :class:`ProxGradient` is the one writer (eq. 20)."""

    def __init__(self, u: torch.Tensor):
        self.u = u


class RofObjective:
    """Eqs. (22)/(24): L = ½‖f̂ − A g‖²_F + β/2‖u − B g‖²_F + λ‖u‖_{1,1}, g = scale·N + offset.

    ``pred`` is the network's output on every pixel in row-major order ([H·W, 1]); ``target`` is
    the observation f̂ in the same layout. ``offset`` ([H, W], the image of the earlier grades) and
    ``scale`` (ε_l) make a grade's objective (:meth:`for_grade`); u lives in ``aux``."""

    equation = "(22)"

    def __init__(self, shape: tuple[int, int], A=None, B=None, beta: float = 0.1, lam: float = 0.01,
                 aux: Auxiliary | None = None, offset: torch.Tensor | None = None, scale: float = 1.0):
        self.shape = (int(shape[0]), int(shape[1]))
        self.A = Identity() if A is None else A
        self.B = FiniteDifference("forward") if B is None else B
        if not beta > 0 or not lam >= 0:
            raise ValueError(f"the ROF objective needs β > 0 and λ >= 0, got β={beta!r}, λ={lam!r}")
        self.beta, self.lam = float(beta), float(lam)
        self.aux = aux
        self.offset, self.scale = offset, float(scale)
        if offset is not None:
            self.equation = "(24)"

    def for_grade(self, offset: torch.Tensor, scale: float) -> "RofObjective":
        """Eq. (24) for a grade that adds ``scale``·N to ``offset`` (same u, same A, B, β, λ)."""
        return RofObjective(self.shape, self.A, self.B, self.beta, self.lam, self.aux,
                            offset.reshape(self.shape), scale)

    def start(self, like: torch.Tensor) -> None:
        """u⁰ = 0 (the authors' ``zeros_like(B img)``), unless a u is already held."""
        if self.aux is None:
            h, w = self.shape
            self.aux = Auxiliary(like.new_zeros(2 * h, w))

    @property
    def u(self) -> torch.Tensor:
        if self.aux is None:
            raise RuntimeError("the ROF objective has no u yet: call start() (the ProxGradient step does)")
        return self.aux.u

    def image(self, pred: torch.Tensor) -> torch.Tensor:
        """g = scale·N + offset on the pixel grid ([H, W])."""
        if pred.ndim != 2 or pred.shape[0] != self.shape[0] * self.shape[1]:
            raise ValueError(f"the ROF objective trains one model on {self.shape[0]}×{self.shape[1]} pixels: "
                             f"expected an output [{self.shape[0] * self.shape[1]}, 1], got {tuple(pred.shape)}")
        g = pred.reshape(self.shape)
        if self.scale != 1.0:
            g = self.scale * g
        return g if self.offset is None else g + self.offset

    def _target(self, target: torch.Tensor) -> torch.Tensor:
        if target.numel() != self.shape[0] * self.shape[1]:
            raise ValueError(f"the observation has {target.numel()} values, not the {self.shape[0]}×{self.shape[1]} "
                             "pixels of this objective")
        return target.reshape(self.shape)

    def value(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        g, f = self.image(pred), self._target(target)
        u = self.u
        return (0.5 * (f - self.A(g)).pow(2).sum() + 0.5 * self.beta * (u - self.B(g)).pow(2).sum()
                + self.lam * u.abs().sum())

    def output_gradient(self, pred: torch.Tensor, target: torch.Tensor,
                        scale: float | torch.Tensor = 1.0) -> torch.Tensor:
        """∂L/∂N = scale_l·[Aᵀ(A g − f̂) + β Bᵀ(B g − u)], as an [H·W, 1] column."""
        g, f = self.image(pred), self._target(target)
        grad = self.A.adjoint(self.A(g) - f) + self.beta * self.B.adjoint(self.B(g) - self.u)
        return grad.reshape(-1, 1) * (self.scale * scale)

    def prox_update(self, pred: torch.Tensor, alpha: float) -> None:
        """Eq. (20): u ← prox_{αλ/β‖·‖₁}(α B g + (1 − α) u), at the output ``pred`` of Θ^k."""
        u = self.u
        self.aux.u = soft_threshold(alpha * self.B(self.image(pred)) + (1.0 - alpha) * u,
                                    alpha * self.lam / self.beta)

    def __repr__(self) -> str:
        return (f"RofObjective{self.equation}({self.shape[0]}×{self.shape[1]}, A={self.A!r}, B={self.B!r}, "
                f"β={self.beta:g}, λ={self.lam:g}, ε={self.scale:g})")


class _UpdatingU:
    """What the inner step of :class:`ProxGradient` minimises: L(Θ, u) whose gradient, asked for at
    the output of Θ^k (once per step, as every step of :mod:`mgdl_core.core.step` asks), first moves u
    by eq. (20)."""

    def __init__(self, objective: RofObjective, alpha: float):
        self.objective, self.alpha = objective, alpha

    def value(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.objective.value(pred, target)

    def output_gradient(self, pred: torch.Tensor, target: torch.Tensor,
                        scale: float | torch.Tensor = 1.0) -> torch.Tensor:
        with torch.no_grad():
            self.objective.prox_update(pred, self.alpha)
        return self.objective.output_gradient(pred, target, scale)


class ProxGradient(Step):
    """The proximity-gradient algorithm (20)–(21) on a :class:`RofObjective`: the u-update, then
    one step of ``inner`` (:class:`~mgdl_core.core.step.Adam` in §4, GD in §6) on L(Θ, u^{k+1}).
    ``alpha`` is the authors' 0.99. Its state is u and the inner step's state."""

    name = "prox-gradient"

    def __init__(self, inner: Step, objective: RofObjective, alpha: float = 0.99):
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
        self.inner, self.objective, self.alpha = inner, objective, float(alpha)
        self._bound = _UpdatingU(objective, self.alpha)

    @property
    def lr(self) -> float:
        return self.inner.lr

    def __call__(self, net: Network, x: torch.Tensor, y: torch.Tensor, objective) -> None:
        if objective is not self.objective:
            raise ValueError("a ProxGradient step updates the u of the objective it was made for; "
                             "train with objective=step.objective")
        self.objective.start(y)
        self.inner(net, x, y, self._bound)

    def state_dict(self) -> dict | None:
        return {"u": self.objective.u.detach().cpu().clone() if self.objective.aux is not None else None,
                "inner": self.inner.state_dict()}

    def load_state_dict(self, sd: dict | None, net: Network) -> None:
        if not sd:
            return
        if sd.get("u") is not None:
            like = net.tensors()[0]
            u = sd["u"].to(dtype=like.dtype, device=like.device)
            if self.objective.aux is None:
                self.objective.aux = Auxiliary(u)
            else:
                self.objective.aux.u = u
        self.inner.load_state_dict(sd.get("inner"), net)
