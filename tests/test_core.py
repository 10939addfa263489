"""The core's pieces against direct computation: the objective against autograd, the steps
against torch.optim (and against themselves across a checkpoint), the grade loop's two modes
against each other, and the reshaped core against the numbers the previous core produced."""
from __future__ import annotations

import hashlib
import json
import os
import platform
from pathlib import Path

import numpy as np
import pytest
import torch

from mgdl_core.tasks.synthetic import SyntheticRun
from mgdl_core.core.mgdl import grade_loop
from mgdl_core.core.nets import Network, init_params, sgdl_network
from mgdl_core.core.objectives import HALF_MSE, Shifted
from mgdl_core.core.step import STEPS, Adam, GradientDescent, gradients, loss_autograd, mlp_features, mlp_forward
from mgdl_core.runs.sweeps import run_batched
from mgdl_core.tasks.synthetic import synthetic_dataset
from mgdl_core.core.data import Split
from mgdl_core.core.training import TrainConfig, train
from step_resume import step_straight_and_resumed

REFERENCE = Path(__file__).parent / "data" / "core_reference.json"


def _data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, generator=g, dtype=torch.float64)
    return x, torch.sin(6 * x) + 0.1 * torch.randn(n, 1, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("shape", [(50, 1), (3, 50, 1)])
def test_half_mse_gradient_is_the_autograd_gradient_of_its_value(shape):
    pred = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    target = torch.randn(shape[-2], 1, dtype=torch.float64)
    value = HALF_MSE.value(pred, target)
    (auto,) = torch.autograd.grad(value.sum(), pred)
    # elementwise (pred − target)/N both ways: a couple of roundings per entry, relative to it
    assert torch.allclose(HALF_MSE.output_gradient(pred.detach(), target), auto, rtol=1e-15, atol=0)
    direct = 0.5 * ((pred.detach() - target) ** 2).mean(dim=(-2, -1))
    # sums of 50 non-negative terms in two ways: each within 49·u of the exact, so 2·49·u apart
    assert torch.allclose(value.detach(), direct, rtol=2e-14, atol=0)


def test_half_mse_scale_multiplies_each_stacked_model():
    pred, target = torch.randn(3, 20, 1, dtype=torch.float64), torch.randn(20, 1, dtype=torch.float64)
    scale = torch.tensor([0.0, 0.5, 2.0], dtype=torch.float64).view(-1, 1, 1)
    g, g1 = HALF_MSE.output_gradient(pred, target, scale), HALF_MSE.output_gradient(pred, target)
    assert torch.allclose(g, g1 * scale, rtol=1e-15, atol=0)  # scales 0, ½, 2: powers of two, exact in binary


def test_shifted_objective_is_the_objective_at_offset_plus_prediction():
    pred, target = torch.randn(30, 1, dtype=torch.float64), torch.randn(30, 1, dtype=torch.float64)
    offset = torch.randn(30, 1, dtype=torch.float64)
    shifted = Shifted(HALF_MSE, offset)
    # offset + pred is pred + offset exactly (IEEE addition commutes): the same floats
    assert shifted.value(pred, target).item() == HALF_MSE.value(pred + offset, target).item()
    assert torch.equal(shifted.output_gradient(pred, target), HALF_MSE.output_gradient(pred + offset, target))


def test_hand_gradient_of_another_objective_matches_autograd():
    """The backward starts from any objective's output gradient (here a shifted one)."""
    net = sgdl_network("[1]->[16]x2->[1]", seed=1, dtype=torch.float64)
    x, y = _data()
    shifted = Shifted(HALF_MSE, torch.linspace(-1, 1, x.shape[0], dtype=torch.float64)[:, None])
    _, grads = gradients(net, x, y, objective=shifted)
    _, ref = loss_autograd(net, x, y, objective=shifted)
    # 64-sample sums through 3 layers, possibly in another order: ≲ 1e-13 of the largest entry
    scale = max(r.abs().max().item() for r in ref)
    assert max((g - r).abs().max().item() for g, r in zip(grads, ref)) <= 1e-12 * scale


def test_gradient_descent_step_equals_torch_sgd():
    net = sgdl_network("[1]->[16]x2->[1]", seed=0, dtype=torch.float64)
    ref = [t.clone().requires_grad_(True) for t in net.tensors()]
    opt = torch.optim.SGD(ref, lr=0.05)
    x, y = _data()
    step = STEPS["gd"](0.05)
    for _ in range(5):
        step(net, x, y, HALF_MSE)
        opt.zero_grad()
        copy = Network([[(ref[2 * i], ref[2 * i + 1]) for i in range(3)]])
        loss_autograd_value = HALF_MSE.value(mlp_forward(copy.branches[0], x), y)
        loss_autograd_value.backward()
        opt.step()
    # 5 steps, each one rounding of W plus η × the gradient's (64-sample sums): ≲ 1e-14 of max |W|
    # (measured 1e-15)
    scale = max(t.abs().max().item() for t in ref)
    assert max((a - b).abs().max().item() for a, b in zip(net.tensors(), ref)) <= 1e-13 * scale


def test_adam_step_object_equals_torch_adam_and_resumes_exactly():
    x, y = _data()
    net = sgdl_network("[1]->[16]x2->[1]", seed=0, dtype=torch.float64)
    ref = [t.clone().requires_grad_(True) for t in net.tensors()]
    opt = torch.optim.Adam(ref, lr=1e-2)
    step = Adam(1e-2)
    for _ in range(6):
        step(net, x, y, HALF_MSE)
        opt.zero_grad()
        HALF_MSE.value(mlp_forward([(ref[2 * i], ref[2 * i + 1]) for i in range(3)], x), y).backward()
        opt.step()
    # Adam moves a weight by ≤ lr per step, so its rounding is absolute: the weights' ulps (|W| ≤ 3.3)
    # plus lr × the relative rounding of m̂/√v̂ (~1e-12 for |∇| ≥ 5e-3); measured: equal
    assert max((a - b).abs().max().item() for a, b in zip(net.tensors(), ref)) < 1e-12

    # 3 steps, a checkpoint of the step's state, 3 more in a fresh step object: bit for bit
    a, b = sgdl_network("[1]->[16]x2->[1]", seed=2), sgdl_network("[1]->[16]x2->[1]", seed=2)
    xa, ya = x.float(), y.float()
    step_straight_and_resumed(lambda: Adam(1e-2), a, b, xa, ya, HALF_MSE, 3, 3)
    assert all(torch.equal(p, q) for p, q in zip(a.tensors(), b.tensors()))


def test_train_takes_a_step_object():
    data = synthetic_dataset(1, dtype=torch.float64)
    cfg = TrainConfig(epochs=50, lr=0.05, record_every=10)
    a, b = sgdl_network("[1]->[8]x2->[1]", seed=0, dtype=torch.float64), sgdl_network("[1]->[8]x2->[1]", seed=0, dtype=torch.float64)
    ra = train(a, data, cfg)
    rb = train(b, data, cfg, step=GradientDescent(0.05))
    assert np.array_equal(ra.history["train_loss"], rb.history["train_loss"])
    with pytest.raises(ValueError, match="unknown optimizer 'sgd'"):
        TrainConfig(epochs=1, lr=0.1, optimizer="sgd")


def test_grade_loop_offset_mode_solves_the_same_problem_as_residual_mode():
    """For eq. (1), fitting e_l = y − ḡ_{l−1} and fitting y with ḡ_{l−1} as an offset are one problem."""
    x, y = _data(128)
    splits = {"train": Split(x, y)}
    widths = [(1, 16, 1), (16, 16, 1), (16, 16, 1)]
    cfg = TrainConfig(epochs=200, lr=0.1, record_every=50)

    def trainer(l, data, offset=None):
        net = Network([init_params(widths[l - 1], "he", seed=l, dtype=torch.float64)])
        objective = HALF_MSE if offset is None else Shifted(HALF_MSE, offset)
        train(net, data, cfg, objective=objective)
        return net.branches[0]

    residual = grade_loop(3, splits, trainer, mode="residual")
    offset = grade_loop(3, splits, trainer, mode="offset")
    assert residual.grades_run == offset.grades_run == 3
    # 600 GD steps whose residuals round differently (y − ḡ vs ḡ + N): ≲ 600·128·ε ≈ 2e-11 of the
    # predictions' scale before growth, 1e-10 allows some (measured 1e-15); a loss moves by
    # 2·Δ/|residual| ≈ 6·Δ relative
    for a, b in zip(residual.losses["train"], offset.losses["train"]):
        assert a.item() == pytest.approx(b.item(), rel=1e-9, abs=0)
    pred = offset.predictions["train"]
    assert torch.allclose(residual.predictions["train"], pred, rtol=0, atol=1e-10 * pred.abs().max())
    assert residual.losses["train"][-1] < residual.losses["train"][0]
    with pytest.raises(ValueError, match="unknown grade mode"):
        grade_loop(1, splits, trainer, mode="sum")


def test_grade_loop_caches_features_and_never_changes_the_targets():
    x, y = _data(32)
    y0 = y.clone()
    seen = []

    def trainer(l, data):
        seen.append(data.train.x)
        return init_params((data.train.x.shape[1], 8, 1), "he", seed=l, dtype=torch.float64)

    out = grade_loop(2, {"train": Split(x, y)}, trainer)
    first = init_params((1, 8, 1), "he", seed=1, dtype=torch.float64)
    assert torch.equal(seen[1], mlp_features(first, x))
    assert torch.equal(y, y0) and out.grades_run == 2


# --- the reshaped core against the previous one ----------------------------------------------

def _digest(arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a.detach().cpu().numpy() if torch.is_tensor(a) else np.asarray(a)).tobytes())
    return h.hexdigest()


def _same_machine(ref: dict) -> bool:
    """Whether this machine computes as the one that wrote the reference: then the numbers must
    be identical bit for bit; elsewhere rounding differs and they must agree to 1e-4."""
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
               platform.processor()) if os.path.exists("/proc/cpuinfo") else platform.processor()
    here = {"torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability(), "cpu": cpu}
    return here == ref["machine"] and not os.environ.get("MKL_CBWR")


def _check(losses, digest, ref) -> None:
    if _same_machine(REF):
        assert [float(v).hex() for v in losses] == [float(v).hex() for v in ref["train_loss"]]
        assert digest == ref["params_sha256"]
    else:  # float32 runs whose rounding differs and grows through training (measured 5e-6)
        np.testing.assert_allclose(losses, ref["train_loss"], rtol=1e-4)


REF = json.loads(REFERENCE.read_text())


@pytest.mark.parametrize("name", sorted(REF["runs"]))
def test_reshaped_core_reproduces_the_previous_core(name):
    ref = REF["runs"][name]
    s = SyntheticRun(**ref["config"]).run()
    _check(s.history["train_loss"], _digest(s.params), ref)


def test_reshaped_batched_sweep_reproduces_the_previous_one():
    ref = REF["batched_mgdl"]
    runs = run_batched([SyntheticRun(method="mgdl", lr=r, epochs=ref["epochs"], record_every=ref["record_every"])
                                  for r in ref["rates"]])
    for s, r in zip(runs, ref["results"]):
        _check(s.history["train_loss"], _digest(s.params), r)


def test_reshaped_adam_reproduces_the_previous_one():
    net = sgdl_network("(26)", init="he", seed=3)
    r = train(net, synthetic_dataset(1), TrainConfig(epochs=100, lr=1e-3, optimizer="adam", record_every=10))
    _check(r.history["train_loss"], _digest(net.tensors()), REF["adam"])


def test_batched_image_sweep_equals_separate_runs(paper_images, monkeypatch):
    """The batched path on an image task (GD, §5's protocol) against a direct loop of runs."""
    monkeypatch.setenv("MGDL_DATA_DIR", str(paper_images))
    from mgdl_core.tasks.image_regression import ImageRegressionRun

    configs = [ImageRegressionRun(image="cameraman", section=5, method=m, lr=lr, epochs=30, record_every=10,
                                  downscale=8, dtype="float64", init="glorot", seed=0, relu_prime_at_zero=0.0,
                                  structure="[2]->[16]x2->[1]" if m == "sgdl" else "[2]->[16]->[1];[16]->[16]->[1]")
               for m in ("sgdl", "mgdl") for lr in (0.05, 0.3)]
    for group in (configs[:2], configs[2:]):
        for together, alone in zip(run_batched(group), [c.run() for c in group]):
            # bmm vs mm: 30 steps of 1,024-sample sums in another order, ≲ 30·1024·ε ≈ 7e-12 relative
            # to the scale of what is summed (measured 1e-15)
            np.testing.assert_allclose(together.history["train_loss"], alone.history["train_loss"], rtol=1e-10)
            np.testing.assert_allclose(together.test_pred, alone.test_pred, rtol=0,
                                       atol=1e-10 * np.abs(alone.test_pred).max())
