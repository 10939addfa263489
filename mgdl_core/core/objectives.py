"""What a network is trained to minimise, seen from its output: the objective of the one loop.

The training step back-propagates by hand (:mod:`mgdl_core.core.step`), so an objective gives the
gradient of its value with respect to the network's *output*, ∂F/∂N; everything behind the
output (the layers, the update) is the step's. Besides, it gives its value as a differentiable
torch expression, which the loss recorder, the run summaries and the Hessian (:mod:`mgdl_core.theory.hessian`,
double backward through it) all use, so that none of them writes a loss of its own.

- :class:`HalfMSE` is eq. (1), L = 1/(2N) Σ_ℓ ‖y_ℓ − N(x_ℓ)‖², the loss of every regression task
  (§4–§7). The ROF objectives of Appendix C (eqs. 18, 22, 24) are the next objectives.
- :class:`Shifted` trains a network whose output is added to a fixed offset, F(offset + N):
  an MGDL grade that fits the original target on top of the grades before it ("offset" mode of
  :func:`mgdl_core.core.mgdl.grade_loop`) rather than their residual.

Every method works on one model (``pred`` [N, s]) and on K stacked models (``[K, N, s]``, the
batched sweep of :mod:`mgdl_core.core.batched`), where it returns one value per model.
"""
from __future__ import annotations

from typing import Protocol

import torch


class Objective(Protocol):
    """F(pred, target): a value and its gradient with respect to the network output ``pred``."""

    def value(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """F as a 0-d tensor (``[K]`` for stacked models), differentiable by autograd."""

    def output_gradient(self, pred: torch.Tensor, target: torch.Tensor,
                        scale: float | torch.Tensor = 1.0) -> torch.Tensor:
        """``scale`` · ∂F/∂pred, the tensor the backward pass starts from (``scale`` [K, 1, 1]
        multiplies each stacked model's: the batched GD step folds its rates η_k in here)."""


class HalfMSE:
    """Eq. (1): L = 1/(2N) Σ_ℓ ‖y_ℓ − N(x_ℓ)‖², so ∂L/∂N(x_ℓ) = (N(x_ℓ) − y_ℓ)/N.

    N is the number of samples (``target.shape[-2]``), as the authors' ``0.5*mean((pred-y)**2)``
    for one output. Its PSNR on the [0, 1] scale is −10·log10(2L) (eq. 34, :mod:`mgdl_core.tasks.grids`).
    """

    equation = "(1)"

    def value(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        r = pred - target
        if r.ndim == 3:
            return 0.5 * r.pow(2).sum(dim=(1, 2)) / target.shape[-2]
        return 0.5 * r.pow(2).sum() / target.shape[-2]

    def output_gradient(self, pred: torch.Tensor, target: torch.Tensor,
                        scale: float | torch.Tensor = 1.0) -> torch.Tensor:
        return (pred - target) * (scale / target.shape[-2])

    def __repr__(self) -> str:
        return "HalfMSE()"


HALF_MSE = HalfMSE()


class Shifted:
    """F(offset + pred): ``objective`` applied to ``pred`` plus a fixed ``offset`` (same shape as
    ``pred``, or broadcastable to it). Its gradient in ``pred`` is the objective's at the sum."""

    def __init__(self, objective: Objective, offset: torch.Tensor):
        self.objective, self.offset = objective, offset

    def value(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.objective.value(self.offset + pred, target)

    def output_gradient(self, pred: torch.Tensor, target: torch.Tensor,
                        scale: float | torch.Tensor = 1.0) -> torch.Tensor:
        return self.objective.output_gradient(self.offset + pred, target, scale)

    def __repr__(self) -> str:
        return f"Shifted({self.objective!r}, offset {tuple(self.offset.shape)})"
