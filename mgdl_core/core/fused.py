"""A faster gradient for large float32 MLPs on the CPU: oneDNN GEMMs, bias and ReLU fused.

The hand-written step of :mod:`mgdl_core.core.step` runs its GEMMs through MKL (``addmm``), which
on some CPUs (AMD hosts: MKL takes its AVX2 path) reaches about half of what the oneDNN kernels
PyTorch also ships reach, and pays memory passes for the bias copy in every ``addmm``, the
separate ReLU and the bias-gradient sum. This path keeps every activation *feature-major* with
a row of ones appended, ``A_i = [H_iᵀ; 1]`` of shape ``[d_i + 1, N]``, so that:

- the bias is one more column of the weight, ``Wa_i = [W_iᵀ b_i]``, and every GEMM takes its
  operands without a copy (``torch.ops.mkldnn._linear_pointwise``, the op Inductor itself emits);
- ReLU is fused into the forward GEMM, the ReLU mask is applied in place in the backward;
- the weight-gradient GEMM returns ``[∂W; ∂b]`` at once (no ``g.sum(0)`` pass).

bench/bench_image_step.py measures it on (28) with N = 16,384 (Adam): 0.47–0.53× the time of the
MKL step on this project's AMD EPYC host. It is the same mathematics with another rounding: not
bit-identical to the reference step (GEMM blocking, the bias summed inside the dot product),
about 1e-6 relative on the parameters after a few steps, as far from a float64 run as the
reference is (tests/test_fused.py). So it is used only where it pays and where a user can tell:

- float32 on the CPU, one branch with scale 1 (SGDL, an MGDL grade), ReLU'(0) = 0 (the mask
  ``A > 0`` is exactly ``z > 0`` then; the §5–§7 runs use 1/2 and never take this path), and at
  least :data:`MIN_WORK` = N · (widest layer) (the path is slower on small networks);
- ``MGDL_FUSED=0`` turns it off (the reference path everywhere); the run records say which path
  ran (:func:`mgdl_core.runs.records.environment_summary`).

``torch.ops.mkldnn._linear_pointwise`` is a private op: torch is pinned exactly (pyproject), and
when the op is missing the reference path runs.
"""
from __future__ import annotations


import torch

from .nets import Network, Params
from ..runtime import env_flag
from .objectives import Objective

MIN_WORK = 1 << 20  # N · widest layer: 8,192 pixels through 128-wide layers
_threshold_backward_out = torch.ops.aten.threshold_backward.grad_input


def available() -> bool:
    """Whether this PyTorch has the oneDNN op and ``MGDL_FUSED`` does not turn the path off."""
    if not env_flag("MGDL_FUSED"):
        return False
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def eligible(net: Network, x: torch.Tensor, relu_prime_at_zero: float) -> bool:
    """Whether a step of ``net`` on ``x`` takes the fused path (see the module's conditions)."""
    if not (x.device.type == "cpu" and x.dtype == torch.float32 and x.ndim == 2 and net.dtype == torch.float32
            and len(net.branches) == 1 and net.scales == (1.0,) and relu_prime_at_zero == 0.0):
        return False
    widths = net.widths[0]
    return len(widths) >= 3 and x.shape[0] * max(widths) >= MIN_WORK and available()


class FeatureMajorBuffers:
    """The augmented transposed weights ``Wa_i`` (refreshed from the parameters every step: the
    update writes the parameters) and the input ``[xᵀ; 1]`` of one network on one data size."""

    def __init__(self, params: Params, n: int):
        dtype, last = params[0][0].dtype, len(params) - 1
        self.wa = []
        for i, (w, _) in enumerate(params):
            d_in, d_out = w.shape
            t = torch.zeros(d_out + (i < last), d_in + 1, dtype=dtype)
            if i < last:
                t[d_out, d_in] = 1.0  # carries the ones row on to the next layer
            self.wa.append(t)
        self.xa = torch.ones(params[0][0].shape[0] + 1, n, dtype=dtype)
        self.n = n


def gradients(params: Params, x: torch.Tensor, y: torch.Tensor, objective: Objective,
              buffers: FeatureMajorBuffers) -> list[torch.Tensor]:
    """∂F/∂(W_1, b_1, …) of one ReLU MLP (ReLU'(0) = 0), listed like ``Network.tensors()``."""
    linear = torch.ops.mkldnn._linear_pointwise  # (X, W, B, attr, scalars, algo) -> X Wᵀ (+ B)
    last = len(params) - 1
    wa = buffers.wa
    for i, (w, b) in enumerate(params):
        d_in, d_out = w.shape
        wa[i][:d_out, :d_in].copy_(w.t())
        wa[i][:d_out, d_in].copy_(b)
    xa = buffers.xa
    xa[:-1].copy_(x.t())
    acts, a = [xa], xa
    for i in range(last):
        a = linear(wa[i], a.t(), None, "relu", [], "")  # [d_out + 1, N]: ReLU(Wᵀh + b), then the ones
        acts.append(a)
    out = torch.mm(wa[last], a)  # [d_L, N]
    g = objective.output_gradient(out.t(), y).t().contiguous()  # (∂F/∂out)ᵀ
    grads: list[torch.Tensor] = [torch.empty(0)] * (2 * len(params))
    for i in range(last, -1, -1):
        w, _ = params[i]
        d_in = w.shape[0]
        a = acts[i]
        gwb = torch.mm(a, g.t()) if i == last else linear(a, g, None, "none", [], "")  # [d_in + 1, d_out]
        grads[2 * i], grads[2 * i + 1] = gwb[:d_in], gwb[d_in]
        if i > 0:
            if i == last:
                gp = torch.mul(w, g) if w.shape[1] == 1 else torch.mm(w, g)  # an outer product for d_L = 1
            else:
                gp = linear(w, g.t(), None, "none", [], "")  # [d_in, N] = W G
            g = _threshold_backward_out(gp, a[:d_in], 0.0, grad_input=gp)  # the ReLU mask, in place
    return grads


class FusedGradient:
    """What a step object holds to use the fused path: decided once, on its first call."""

    def __init__(self) -> None:
        self.buffers: FeatureMajorBuffers | None = None
        self.decided = False

    def __call__(self, net: Network, x: torch.Tensor, y: torch.Tensor, objective: Objective,
                 relu_prime_at_zero: float) -> list[torch.Tensor] | None:
        """The gradients by the fused path, or ``None`` when this step does not take it."""
        if not self.decided:
            self.decided = True
            if eligible(net, x, relu_prime_at_zero):
                self.buffers = FeatureMajorBuffers(net.branches[0], x.shape[0])
        if self.buffers is None or x.shape[0] != self.buffers.n:
            return None
        return gradients(net.branches[0], x, y, objective, self.buffers)


def describe() -> str:
    """For run records: whether large float32 CPU steps take this path."""
    return f"oneDNN feature-major for N·width ≥ {MIN_WORK:,} (mgdl_core.core.fused)" if available() else "off"
