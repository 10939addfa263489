"""The hot loop: a hand-written forward/backward for ReLU MLPs and the GD and Adam updates.

Loss (eq. 1): L = 1/(2N) Σ_ℓ ‖y_ℓ − N(x_ℓ)‖². GD (eq. 2 / eq. 4): W ← W − η ∂L/∂W.

Why by hand: on the CPU this project targets, the same step written with ``nn.Module`` +
autograd is about 2× slower and ``torch.func`` about 4× (shared/notes/performance.md §1); the
hand step agrees with autograd to ~1e-15 in float64 (tests/test_step.py checks it against the
autograd reference :func:`loss_autograd`). Its two tricks: ReLU is applied in place (h > 0 ⇔
z > 0, so no mask is stored), and for GD the weight gradient and the update are one
``addmm_``. ReLU'(0) is taken as 0, like autograd.

Inputs are ``[N, d]`` row-major (samples in rows), targets ``[N, s]``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .nets import Network, Params

_threshold_backward = torch.ops.aten.threshold_backward


def mlp_forward(params: Params, x: torch.Tensor, keep: bool = False):
    """Output of one ReLU MLP; with ``keep`` also every layer's input (for the backward)."""
    acts = [x]
    h = x
    last = len(params) - 1
    for i, (w, b) in enumerate(params):
        z = torch.addmm(b, h, w)
        h = torch.relu_(z) if i < last else z
        if keep and i < last:
            acts.append(h)
    return (h, acts) if keep else h


def mlp_features(params: Params, x: torch.Tensor) -> torch.Tensor:
    """The last hidden layer H_{D-1}(x): what an MGDL grade hands on to the next grade."""
    h = x
    for w, b in params[:-1]:
        h = torch.relu_(torch.addmm(b, h, w))
    return h


def forward(net: Network, x: torch.Tensor) -> torch.Tensor:
    """N(x) = Σ_k N_k(s_k x): the network's prediction."""
    out = None
    for params, s in zip(net.branches, net.scales):
        y = mlp_forward(params, x if s == 1.0 else x * s)
        out = y if out is None else out + y
    return out


def loss_value(net: Network, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """L = 1/(2N) Σ ‖y − N(x)‖² as a 0-d tensor (no sync with the device)."""
    r = forward(net, x) - y
    return 0.5 * r.pow(2).sum() / x.shape[0]


def _branch_forward(net: Network, x: torch.Tensor):
    out, caches = None, []
    for params, s in zip(net.branches, net.scales):
        h, acts = mlp_forward(params, x if s == 1.0 else x * s, keep=True)
        caches.append(acts)
        out = h if out is None else out + h
    return out, caches


def _mlp_backward(params: Params, acts: list[torch.Tensor], g: torch.Tensor,
                  lr: float | None, grads: list[torch.Tensor] | None) -> None:
    """Back-propagate ``g`` = ∂L/∂(output) through one MLP.

    With ``lr`` the GD update is applied in place (weight gradient and update fused in one
    GEMM); otherwise the gradients are appended to ``grads`` in W order (W_1, b_1, ...).
    """
    out: list[tuple[torch.Tensor, torch.Tensor]] = []
    for i in range(len(params) - 1, -1, -1):
        w, b = params[i]
        hin = acts[i]
        gprev = torch.mm(g, w.t()) if i > 0 else None  # before w changes
        if lr is None:
            out.append((torch.mm(hin.t(), g), g.sum(0)))
        else:
            w.addmm_(hin.t(), g, alpha=-lr)
            b.add_(g.sum(0), alpha=-lr)
        if i > 0:
            g = _threshold_backward(gprev, hin, 0.0)
    if grads is not None:
        for gw, gb in reversed(out):
            grads += [gw, gb]


def gradients(net: Network, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(L, ∂L/∂W) with the gradients listed like ``net.tensors()``."""
    out, caches = _branch_forward(net, x)
    r = out - y
    loss = 0.5 * r.pow(2).sum() / x.shape[0]
    g = r * (1.0 / x.shape[0])
    grads: list[torch.Tensor] = []
    for params, acts in zip(net.branches, caches):
        _mlp_backward(params, acts, g, None, grads)
    return loss, grads


def gd_step_(net: Network, x: torch.Tensor, y: torch.Tensor, lr: float) -> torch.Tensor:
    """One full-batch GD step (eq. 2), in place. Returns L at the parameters *before* the step."""
    out, caches = _branch_forward(net, x)
    r = out - y
    loss = 0.5 * r.pow(2).sum() / x.shape[0]
    g = r * (1.0 / x.shape[0])
    for params, acts in zip(net.branches, caches):
        _mlp_backward(params, acts, g, lr, None)
    return loss


@dataclass
class AdamState:
    """Adam's moments (Kingma & Ba), one pair per parameter tensor, and the step count."""

    m: list[torch.Tensor]
    v: list[torch.Tensor]
    t: int = 0
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8

    @classmethod
    def zeros_like(cls, net: Network, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> "AdamState":
        ts = net.tensors()
        return cls([torch.zeros_like(t) for t in ts], [torch.zeros_like(t) for t in ts], 0, betas, eps)

    def state_dict(self) -> dict[str, object]:
        return {"m": self.m, "v": self.v, "t": self.t, "betas": self.betas, "eps": self.eps}


def adam_step_(net: Network, x: torch.Tensor, y: torch.Tensor, lr: float, state: AdamState) -> torch.Tensor:
    """One full-batch Adam step at a constant rate (§4, as the authors' ``optimizers.adam``)."""
    loss, grads = gradients(net, x, y)
    b1, b2 = state.betas
    state.t += 1
    c1, c2 = 1.0 - b1 ** state.t, 1.0 - b2 ** state.t
    params = net.tensors()
    torch._foreach_lerp_(state.m, grads, 1.0 - b1)
    torch._foreach_mul_(state.v, b2)
    torch._foreach_addcmul_(state.v, grads, grads, 1.0 - b2)
    denom = torch._foreach_sqrt(state.v)
    torch._foreach_div_(denom, c2 ** 0.5)
    torch._foreach_add_(denom, state.eps)
    torch._foreach_addcdiv_(params, state.m, denom, -lr / c1)
    return loss


def loss_autograd(net: Network, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Reference (L, ∂L/∂W) by autograd on copies of the parameters: slow, obviously right."""
    leaves = [t.detach().clone().requires_grad_(True) for t in net.tensors()]
    it = iter(leaves)
    out = 0.0
    for params, s in zip(net.branches, net.scales):
        h = x * s
        for i in range(len(params)):
            w, b = next(it), next(it)
            h = h @ w + b
            if i < len(params) - 1:
                h = torch.relu(h)
        out = out + h
    loss = 0.5 * ((out - y) ** 2).sum() / x.shape[0]
    grads = torch.autograd.grad(loss, leaves)
    return loss.detach(), list(grads)
