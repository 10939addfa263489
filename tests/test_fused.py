"""The oneDNN fast path (mgdl_core.core.fused) against the reference step: the same gradients and
updates to rounding, as close to a float64 run as the reference is, taken only where eligible."""
from __future__ import annotations

import pytest
import torch

from mgdl_core.core import fused
from mgdl_core.core.nets import Network, msdl_network, sgdl_network
from mgdl_core.core.objectives import HALF_MSE, Shifted
from mgdl_core.core.step import Adam, AdamState, GradientDescent, adam_step_, gd_step_, gradients
from step_resume import step_straight_and_resumed

pytestmark = pytest.mark.skipif(not fused.available(), reason="this PyTorch has no oneDNN linear op")

N = 8192  # with 128-wide layers: exactly fused.MIN_WORK


def _data(n=N, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 2, generator=g)
    return x, (torch.sin(7 * x[:, :1]) * torch.cos(5 * x[:, 1:])).contiguous()


def _net(seed=0, dtype=torch.float32):
    return sgdl_network("[2]->[128]x3->[1]", init="glorot", seed=seed, dtype=dtype)


def _rel(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    va, vb = torch.cat([t.reshape(-1).double() for t in a]), torch.cat([t.reshape(-1).double() for t in b])
    return ((va - vb).abs().max() / vb.abs().max()).item()


@pytest.mark.parametrize("shift", [False, True])
def test_fused_gradients_equal_the_reference_to_rounding(shift):
    net = _net()
    x, y = _data()
    objective = Shifted(HALF_MSE, 0.1 * y) if shift else HALF_MSE
    assert fused.eligible(net, x, 0.0)
    got = fused.gradients(net.branches[0], x, y, objective, fused.FeatureMajorBuffers(net.branches[0], N))
    _, ref = gradients(net, x, y, objective=objective)
    assert [t.shape for t in got] == [t.shape for t in ref]
    # float32 sums over N = 8,192 samples in another order: ≈ √N·ε32 ≈ 1e-5 of the largest entry
    # (measured 1e-6 against the reference, 2e-7 against float64)
    assert _rel(got, ref) < 1e-5
    _, exact = gradients(net.to(torch.float64), x.double(), y.double(), objective=objective)
    assert _rel(got, exact) < 1e-5


@pytest.mark.parametrize("kind", ["gd", "adam"])
def test_fused_steps_track_the_reference_steps_and_a_float64_run(kind):
    x, y = _data()
    fast, ref, exact = _net(), _net(), _net(dtype=torch.float64)
    step = GradientDescent(0.05) if kind == "gd" else Adam(1e-3)
    state, state64 = AdamState.zeros_like(ref), AdamState.zeros_like(exact)
    for _ in range(5):
        step(fast, x, y, HALF_MSE)
        if kind == "gd":
            gd_step_(ref, x, y, 0.05)
            gd_step_(exact, x.double(), y.double(), 0.05)
        else:
            adam_step_(ref, x, y, 1e-3, state)
            adam_step_(exact, x.double(), y.double(), 1e-3, state64)
    assert step._fused.buffers is not None  # the fused path ran
    # the float64 run is the oracle: the fused float32 path is within 1e-5 of it, and no farther
    # than the reference float32 step (measured: 100x closer for GD, whose reference weight
    # update accumulates 8,192 terms in one MKL GEMM; as close for Adam)
    far = _rel(ref.tensors(), exact.tensors())
    assert _rel(fast.tensors(), exact.tensors()) < 1e-5
    # + about one float32 rounding (ε32 = 1.2e-7) where far is itself ~ε32 (Adam: 4e-7)
    assert _rel(fast.tensors(), exact.tensors()) <= 2 * far + 1e-7
    assert _rel(fast.tensors(), ref.tensors()) <= 2 * far + 1e-6  # ≤ 3·far + ε32 by the triangle


def test_fused_adam_resumes_bit_for_bit():
    x, y = _data()
    a, b = _net(1), _net(1)
    step_straight_and_resumed(lambda: Adam(1e-3), a, b, x, y, HALF_MSE, 2, 2)
    assert all(torch.equal(p, q) for p, q in zip(a.tensors(), b.tensors()))


def test_the_fused_path_is_taken_only_where_eligible(monkeypatch):
    x, y = _data()
    assert not fused.eligible(_net(dtype=torch.float64), x.double(), 0.0)  # float64
    assert not fused.eligible(_net(), x, 0.5)  # ReLU'(0) = 1/2 (the §5–§7 runs)
    assert not fused.eligible(_net(), x[:1024], 0.0)  # too small to pay
    assert not fused.eligible(msdl_network(init="he"), x[:, :1], 0.0)  # several branches
    assert not fused.eligible(Network([_net().branches[0]], (2.0,)), x, 0.0)  # a scaled input
    monkeypatch.setenv("MGDL_FUSED", "0")
    assert not fused.available() and not fused.eligible(_net(), x, 0.0)
    step, ref = GradientDescent(0.05), GradientDescent(0.05)
    a, b = _net(), _net()
    step(a, x, y, HALF_MSE)
    gd_step_(b, x, y, 0.05)
    assert step._fused.buffers is None and all(torch.equal(p, q) for p, q in zip(a.tensors(), b.tensors()))
    assert fused.describe() == "off"
