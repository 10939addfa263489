"""The hot loop: a hand-written forward/backward for ReLU MLPs, and the steps that use it.

The backward starts from the objective's gradient with respect to the network output
(:mod:`mgdl_core.core.objectives`; eq. (1) by default), so any objective trains through the same
code. A *step* is the object the training loop calls once per epoch and checkpoints:
:class:`GradientDescent` (eq. 2 / eq. 4: W ← W − η ∂F/∂W) and :class:`Adam` (§4, a constant
rate, as the authors' ``optimizers.adam``); :data:`STEPS` names them for
:class:`~mgdl_core.core.training.TrainConfig`. A step computes no loss: the loss recorder asks for it
when it records.

Why by hand: on the CPU this project targets, the same step written with ``nn.Module`` +
autograd is about 2× slower and ``torch.func`` about 4× (shared/notes/performance.md §1); the
hand step agrees with autograd to ~1e-15 in float64 (tests/test_step.py checks it against the
autograd reference :func:`loss_autograd`). Its two tricks: ReLU is applied in place (h > 0 ⇔
z > 0, so no mask is stored), and for GD the weight gradient and the update are one
``addmm_``.

ReLU'(0). ReLU has no derivative at 0, and the choice matters here: the §5–§7 networks start with
zero biases and the training grid contains x = 0, so at initialisation every pre-activation at
that sample is exactly 0, and the gradient at W^0 (hence the whole GD path) depends on the value
used there. ``relu_prime_at_zero`` picks it: 0 is PyTorch's (autograd, ``torch.relu``); 0.5 is
JAX's for ``jnp.maximum(z, 0)``, which is what the authors' training differentiated (so the
paper's numbers were made with it; shared/notes/anchor-repo.md); 1 is the authors' analytic
Hessian's. With 0 the step keeps the in-place-ReLU trick; otherwise it keeps the
pre-activations z and multiplies by ReLU'(z) built from sign(z): a few extra elementwise ops per
hidden layer (about +10–30 % per step for (26), bench/bench_step.py).

Inputs are ``[N, d]`` row-major (samples in rows), targets ``[N, s]``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from . import native as native_kernel
from .fused import FusedGradient
from .nets import Network, Params
from .objectives import HALF_MSE, Objective

_threshold_backward = torch.ops.aten.threshold_backward

RELU_PRIME_CONVENTIONS = {0.0: "PyTorch autograd", 0.5: "JAX jnp.maximum (the authors' training)",
                          1.0: "the authors' analytic Hessian"}


def check_relu_prime_at_zero(value) -> float:
    """The ReLU'(0) convention as a float in [0, 1] (a subgradient of ReLU at 0), or a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"relu_prime_at_zero must be a number in [0, 1] (0: PyTorch's convention, "
                         f"0.5: JAX's, the authors' training; 1: the authors' Hessian), got {value!r}")
    return float(value)


def _stacked_affine(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """h W + b for K stacked models: W [K, a, b], b [K, 1, b], h [N, a] shared or [K, N, a]."""
    return torch.baddbmm(b, h, w) if h.ndim == 3 else torch.matmul(h, w) + b


def mlp_forward(params: Params, x: torch.Tensor, keep: bool = False, relu_prime_at_zero: float = 0.0):
    """Output of one ReLU MLP, or of K stacked ones (W [K, a, b]: :mod:`mgdl_core.core.batched`). With
    ``keep``, also every layer's input and (only when ``relu_prime_at_zero`` is not 0) the hidden
    pre-activations, for the backward."""
    acts = [x]
    zs: list[torch.Tensor] | None = [] if keep and relu_prime_at_zero != 0.0 else None
    h = x
    last = len(params) - 1
    for i, (w, b) in enumerate(params):
        z = torch.addmm(b, h, w) if w.ndim == 2 else _stacked_affine(h, w, b)
        if i == last:
            h = z
        elif zs is not None:
            zs.append(z)
            h = torch.relu(z)
        else:
            h = torch.relu_(z)
        if keep and i < last:
            acts.append(h)
    return (h, acts, zs) if keep else h


def relu_backward(g: torch.Tensor, h: torch.Tensor, z: torch.Tensor | None,
                  relu_prime_at_zero: float) -> torch.Tensor:
    """g · ReLU'(z), with ReLU'(0) = ``relu_prime_at_zero``; ``h`` = ReLU(z) suffices for 0."""
    if z is None or relu_prime_at_zero == 0.0:
        return _threshold_backward(g, h, 0.0)
    s = torch.sign(z)
    if relu_prime_at_zero == 0.5:
        # (sign(z) + 1) / 2 is exactly 0, 1/2, 1: ~2.5x the in-place-ReLU backward, while
        # torch.heaviside costs ~17x on this CPU (bench/bench_step.py measures the whole step).
        d = s.add_(1.0).mul_(0.5)
    else:
        d = torch.where(z > 0, 1.0, torch.where(s == 0, relu_prime_at_zero, 0.0)).to(g.dtype)
    return d.mul_(g)


def mlp_features(params: Params, x: torch.Tensor) -> torch.Tensor:
    """The last hidden layer H_{D-1}(x): what an MGDL grade hands on to the next grade."""
    h = x
    for w, b in params[:-1]:
        h = torch.relu_(torch.addmm(b, h, w) if w.ndim == 2 else _stacked_affine(h, w, b))
    return h


def forward(net: Network, x: torch.Tensor) -> torch.Tensor:
    """N(x) = Σ_k N_k(s_k x): the network's prediction."""
    out = None
    for params, s in zip(net.branches, net.scales):
        y = mlp_forward(params, x if s == 1.0 else x * s)
        out = y if out is None else out + y
    return out


def loss_value(net: Network, x: torch.Tensor, y: torch.Tensor, objective: Objective = HALF_MSE) -> torch.Tensor:
    """The objective at the network's prediction (eq. 1 by default), a 0-d tensor (no sync)."""
    return objective.value(forward(net, x), y)


def _branch_forward(net: Network, x: torch.Tensor, relu_prime_at_zero: float):
    out, caches = None, []
    for params, s in zip(net.branches, net.scales):
        h, acts, zs = mlp_forward(params, x if s == 1.0 else x * s, True, relu_prime_at_zero)
        caches.append((acts, zs))
        out = h if out is None else out + h
    return out, caches


def _mlp_backward(params: Params, acts: list[torch.Tensor], zs: list[torch.Tensor] | None,
                  g: torch.Tensor, lr: float | None, grads: list[torch.Tensor] | None,
                  relu_prime_at_zero: float) -> None:
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
            g = relu_backward(gprev, hin, zs[i - 1] if zs is not None else None, relu_prime_at_zero)
    if grads is not None:
        for gw, gb in reversed(out):
            grads += [gw, gb]


def gradients(net: Network, x: torch.Tensor, y: torch.Tensor, relu_prime_at_zero: float = 0.0,
              objective: Objective = HALF_MSE) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(F, ∂F/∂W) with the gradients listed like ``net.tensors()``."""
    out, caches = _branch_forward(net, x, relu_prime_at_zero)
    return objective.value(out, y), _backward(net, caches, objective.output_gradient(out, y), relu_prime_at_zero)


def _backward(net: Network, caches, g: torch.Tensor, relu_prime_at_zero: float) -> list[torch.Tensor]:
    grads: list[torch.Tensor] = []
    for params, (acts, zs) in zip(net.branches, caches):
        _mlp_backward(params, acts, zs, g, None, grads, relu_prime_at_zero)
    return grads


def gd_step_(net: Network, x: torch.Tensor, y: torch.Tensor, lr: float,
             relu_prime_at_zero: float = 0.0, objective: Objective = HALF_MSE) -> None:
    """One full-batch GD step (eq. 2), in place (weight gradient and update fused in one GEMM)."""
    out, caches = _branch_forward(net, x, relu_prime_at_zero)
    g = objective.output_gradient(out, y)
    for params, (acts, zs) in zip(net.branches, caches):
        _mlp_backward(params, acts, zs, g, lr, None, relu_prime_at_zero)


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


def adam_step_(net: Network, x: torch.Tensor, y: torch.Tensor, lr: float, state: AdamState,
               relu_prime_at_zero: float = 0.0, objective: Objective = HALF_MSE) -> None:
    """One full-batch Adam step at a constant rate (§4, as the authors' ``optimizers.adam``)."""
    out, caches = _branch_forward(net, x, relu_prime_at_zero)
    grads = _backward(net, caches, objective.output_gradient(out, y), relu_prime_at_zero)
    adam_update_(net.tensors(), grads, state, lr)


def adam_update_(params: list[torch.Tensor], grads: list[torch.Tensor], state: AdamState, lr: float) -> None:
    """Adam's update of ``params`` from their gradients (Kingma & Ba, bias-corrected), in place."""
    b1, b2 = state.betas
    state.t += 1
    c1, c2 = 1.0 - b1 ** state.t, 1.0 - b2 ** state.t
    torch._foreach_lerp_(state.m, grads, 1.0 - b1)
    torch._foreach_mul_(state.v, b2)
    torch._foreach_addcmul_(state.v, grads, grads, 1.0 - b2)
    denom = torch._foreach_sqrt(state.v)
    torch._foreach_div_(denom, c2 ** 0.5)
    torch._foreach_add_(denom, state.eps)
    torch._foreach_addcdiv_(params, state.m, denom, -lr / c1)


class Step:
    """One update of ``net``'s parameters from the data (x, y) and an objective, called by the
    training loop once per epoch. ``state_dict`` is what a checkpoint keeps of it (``None``:
    stateless), ``load_state_dict`` puts it back, so a resumed run continues bit for bit."""

    name = "step"

    def __call__(self, net: Network, x: torch.Tensor, y: torch.Tensor, objective: Objective) -> None:
        raise NotImplementedError

    def run(self, net: Network, x: torch.Tensor, y: torch.Tensor, objective: Objective, epochs: int) -> None:
        """``epochs`` updates in a row (what the training loop calls between two callbacks); a
        step with a faster way than one call per epoch overrides it."""
        for _ in range(epochs):
            self(net, x, y, objective)

    def state_dict(self) -> dict | None:
        return None

    def load_state_dict(self, sd: dict | None, net: Network) -> None: ...


class GradientDescent(Step):
    """Full-batch GD at a constant rate (eq. 2 for SGDL, eq. 4 for an MGDL grade). A large float32
    network on the CPU takes the oneDNN gradient of :mod:`mgdl_core.core.fused`; with
    ``MGDL_NATIVE=1`` a float32 run of eq. (1) on the CPU runs its epochs in the C kernel of
    :mod:`mgdl_core.core.native` instead (:meth:`run`)."""

    name = "gd"

    def __init__(self, lr: float, relu_prime_at_zero: float = 0.0, native: bool = True):
        self.lr, self.relu_prime_at_zero = float(lr), float(relu_prime_at_zero)
        self.native = bool(native)  # whether the C kernel may run (where MGDL_NATIVE=1 and it applies)
        self._fused = FusedGradient()
        self._native: native_kernel.NativeGD | None = None  # the kernel's work space, kept between calls

    def run(self, net: Network, x: torch.Tensor, y: torch.Tensor, objective: Objective, epochs: int) -> None:
        # checked on every call (a few µs per stretch of epochs): the kernel trusts what it is given
        if (not self.native or type(self).__call__ is not GradientDescent.__call__
                or not native_kernel.eligible(net, x, y, objective)):
            super().run(net, x, y, objective, epochs)
            return
        if self._native is None or self._native.shape != tuple(net.widths[0]) or self._native.n != x.shape[0]:
            self._native = native_kernel.NativeGD(net.widths[0], x.shape[0])
        self._native.run(net, x, y, self.lr, self.relu_prime_at_zero, epochs)

    def __call__(self, net: Network, x: torch.Tensor, y: torch.Tensor, objective: Objective) -> None:
        grads = self._fused(net, x, y, objective, self.relu_prime_at_zero)
        if grads is None:
            gd_step_(net, x, y, self.lr, self.relu_prime_at_zero, objective)
        else:
            torch._foreach_add_(net.tensors(), grads, alpha=-self.lr)


class Adam(Step):
    """Full-batch Adam at a constant rate (§4); its moments are created at the first step (or
    by a resume) and are its checkpointed state. A large float32 network on the CPU takes the
    oneDNN gradient of :mod:`mgdl_core.core.fused`."""

    name = "adam"

    def __init__(self, lr: float, relu_prime_at_zero: float = 0.0, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        self.lr, self.relu_prime_at_zero = float(lr), float(relu_prime_at_zero)
        self.betas, self.eps = betas, eps
        self.state: AdamState | None = None
        self._fused = FusedGradient()

    def __call__(self, net: Network, x: torch.Tensor, y: torch.Tensor, objective: Objective) -> None:
        if self.state is None:
            self.state = AdamState.zeros_like(net, self.betas, self.eps)
        grads = self._fused(net, x, y, objective, self.relu_prime_at_zero)
        if grads is None:
            adam_step_(net, x, y, self.lr, self.state, self.relu_prime_at_zero, objective)
        else:
            adam_update_(net.tensors(), grads, self.state, self.lr)

    def state_dict(self) -> dict | None:
        return self.state.state_dict() if self.state is not None else None

    def load_state_dict(self, sd: dict | None, net: Network) -> None:
        if not sd:
            return
        device = net.device
        self.state = AdamState([m.to(device) for m in sd["m"]], [v.to(device) for v in sd["v"]], int(sd["t"]),
                               self.betas, self.eps)


STEPS: dict[str, type[Step]] = {"gd": GradientDescent, "adam": Adam}


def relu_with_prime_at_zero(z: torch.Tensor, relu_prime_at_zero: float) -> torch.Tensor:
    """ReLU for autograd with ReLU'(0) = c: z · H_c(z), the step H_c(z) held constant. Same value
    as ReLU, first derivative H_c(z), second derivative 0 (so double backward gives the Hessian)."""
    if relu_prime_at_zero == 0.0:
        return torch.relu(z)
    return z * torch.heaviside(z.detach(), z.new_full((), relu_prime_at_zero))


def differentiable_forward(net: Network, x: torch.Tensor, relu_prime_at_zero: float = 0.0) -> torch.Tensor:
    """N(x) by autograd-traced ops, twice differentiable (ReLU'(0) as chosen, ReLU'' = 0): what
    the Hessian (:mod:`mgdl_core.theory.hessian`) and the reference gradient below differentiate."""
    out = None
    for params, s in zip(net.branches, net.scales):
        h = x if s == 1.0 else x * s
        last = len(params) - 1
        for i, (w, b) in enumerate(params):
            z = torch.addmm(b, h, w)
            if i < last:
                z = relu_with_prime_at_zero(z, relu_prime_at_zero)
            h = z
        out = h if out is None else out + h
    return out


def loss_autograd(net: Network, x: torch.Tensor, y: torch.Tensor, relu_prime_at_zero: float = 0.0,
                  objective: Objective = HALF_MSE) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Reference (F, ∂F/∂W) by autograd on copies of the parameters: slow, obviously right."""
    leaves = [t.detach().clone().requires_grad_(True) for t in net.tensors()]
    it = iter(leaves)
    copy = Network([[(next(it), next(it)) for _ in params] for params in net.branches], net.scales)
    loss = objective.value(differentiable_forward(copy, x, relu_prime_at_zero), y)
    grads = torch.autograd.grad(loss, leaves)
    return loss.detach(), list(grads)
