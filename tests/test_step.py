"""The hand-written step against autograd (float64), and GD/Adam updates against direct formulas."""
import pytest
import torch

from mgdl_core.core.nets import msdl_network, sgdl_network
from mgdl_core.core.step import (AdamState, adam_step_, check_relu_prime_at_zero, gd_step_, gradients, loss_autograd,
                            relu_with_prime_at_zero)
from mgdl_core.core.training import TrainConfig


def _data(n=64, d=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, d, generator=g, dtype=torch.float64)
    y = torch.sin(6 * x.sum(1, keepdim=True))
    return x, y


@pytest.mark.parametrize("structure,init,d", [("(26)", "he", 1), ("[2]->[16]x3->[1]", "glorot", 2),
                                              ("[1]->[8]->[1]", "he", 1)])
def test_hand_gradient_equals_autograd(structure, init, d):
    net = sgdl_network(structure, init=init, seed=3, dtype=torch.float64)
    x, y = _data(d=d)
    loss, grads = gradients(net, x, y)
    ref_loss, ref_grads = loss_autograd(net, x, y)
    # abs=0: pytest.approx's default absolute 1e-12 would otherwise swamp rel on a loss of ~0.25
    assert loss.item() == pytest.approx(ref_loss.item(), rel=1e-12, abs=0)
    # 64-sample sums through ≤ 5 layers, possibly in another order: ≲ 1e-13 of the largest entry
    # (measured: equal)
    scale = max(r.abs().max() for r in ref_grads)
    for g, r in zip(grads, ref_grads):
        assert torch.allclose(g, r, atol=1e-12 * scale, rtol=0)


@pytest.mark.parametrize("c", [0.0, 0.5, 1.0])
def test_relu_with_prime_at_zero_has_derivative_c_at_zero(c):
    z = torch.tensor([-1.0, 0.0, 0.0, 2.0], dtype=torch.float64, requires_grad=True)
    out = relu_with_prime_at_zero(z, c)
    assert torch.equal(out.detach(), torch.relu(z.detach()))
    (g,) = torch.autograd.grad(out.sum(), z)
    assert g.tolist() == [0.0, c, c, 1.0]


def _grid_with_zero(n=65):
    # x = 0 exactly, as in the §5 training grid: with zero biases every pre-activation there is 0
    x = torch.linspace(0, 1, n, dtype=torch.float64)[:, None]
    return x, torch.sin(6 * x + 1)  # y(0) ≠ 0, as g(0) in Setting 1: the residual at x = 0 is not 0


@pytest.mark.parametrize("c", [0.5, 1.0])
@pytest.mark.parametrize("make", [lambda: sgdl_network("[1]->[16]x3->[1]", init="he", seed=2, dtype=torch.float64),
                                  lambda: msdl_network(seed=1, dtype=torch.float64)])
def test_relu_prime_at_zero_convention_equals_autograd_at_exact_zeros(make, c):
    net = make()
    x, y = _grid_with_zero()
    _, grads = gradients(net, x, y, relu_prime_at_zero=c)
    _, ref = loss_autograd(net, x, y, relu_prime_at_zero=c)
    # relative: the MSDL gradient reaches 49 (as in test_msdl_gradient_equals_autograd)
    scale = max(r.abs().max().item() for r in ref)
    assert max((g - r).abs().max().item() for g, r in zip(grads, ref)) <= 1e-12 * scale
    # and the convention does change the gradient here (otherwise the test would prove nothing):
    # by 4e-3 to 5e-2, against rounding ~1e-14
    _, grads0 = gradients(net, x, y)
    assert max((g - g0).abs().max().item() for g, g0 in zip(grads, grads0)) > 1e-6
    # the fused GD step follows the same convention
    before = [t.clone() for t in net.tensors()]
    gd_step_(net, x, y, 0.05, relu_prime_at_zero=c)
    # one step: a rounding of W plus η × the gradient's; W and η∇ are O(1) (≤ 3.2 and ≤ 2.5)
    for t, t0, r in zip(net.tensors(), before, ref):
        assert torch.allclose(t, t0 - 0.05 * r, atol=1e-12, rtol=0)


def test_relu_prime_at_zero_bad_values():
    for bad in (-0.1, 1.5, "half", True, float("nan")):
        with pytest.raises(ValueError, match="relu_prime_at_zero"):
            check_relu_prime_at_zero(bad)
        with pytest.raises(ValueError, match="relu_prime_at_zero"):
            TrainConfig(epochs=1, lr=0.1, relu_prime_at_zero=bad)
    assert check_relu_prime_at_zero(0) == 0.0


def test_msdl_gradient_equals_autograd():
    net = msdl_network(seed=1, dtype=torch.float64)
    x, y = _data()
    _, grads = gradients(net, x, y)
    _, ref = loss_autograd(net, x, y)
    assert len(grads) == len(ref) == 40
    # 64-sample sums through 5 layers and 4 branches: ≲ 1e-13 of the largest entry (≈ 50)
    scale = max(r.abs().max().item() for r in ref)
    assert max((g - r).abs().max().item() for g, r in zip(grads, ref)) <= 1e-12 * scale


def test_fused_gd_step_equals_w_minus_eta_grad():
    net = sgdl_network("(26)", seed=0, dtype=torch.float64)
    x, y = _data()
    before = [t.clone() for t in net.tensors()]
    _, ref = loss_autograd(net, x, y)
    assert gd_step_(net, x, y, 0.05) is None  # the step computes no loss it does not use
    # one step: a rounding of W plus η × the gradient's; W and η∇ are O(1) (|W| ≤ 3.3)
    for t, t0, g in zip(net.tensors(), before, ref):
        assert torch.allclose(t, t0 - 0.05 * g, atol=1e-12, rtol=0)


def test_adam_step_equals_torch_adam():
    net = sgdl_network("[1]->[16]x2->[1]", seed=0, dtype=torch.float64)
    ref = [t.clone().requires_grad_(True) for t in net.tensors()]
    opt = torch.optim.Adam(ref, lr=1e-2, betas=(0.9, 0.999), eps=1e-8)
    x, y = _data()
    state = AdamState.zeros_like(net)
    for _ in range(5):
        adam_step_(net, x, y, 1e-2, state)
        opt.zero_grad()
        # the same loss through autograd on the reference leaves
        it = iter(ref)
        h = x
        for i in range(3):
            w, b = next(it), next(it)
            h = h @ w + b
            if i < 2:
                h = torch.relu(h)
        (0.5 * ((h - y) ** 2).sum() / x.shape[0]).backward()
        opt.step()
    # Adam moves a weight by ≤ lr per step, so its rounding is absolute: the weights' ulps (|W| ≤ 3.3)
    # plus lr × the relative rounding of m̂/√v̂
    for t, r in zip(net.tensors(), ref):
        assert torch.allclose(t, r.detach(), atol=1e-12, rtol=0)
