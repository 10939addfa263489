"""The C kernel of mgdl_core.core.native against the reference step and a float64 run: the same GD
epochs to rounding, ReLU'(0) honoured, taken only where it applies and only when asked for, in a
hash of its own, and a clean fallback where it cannot be built."""
from __future__ import annotations

import math

import pytest
import torch

from mgdl_core.core import native
from mgdl_core.core.data import Dataset, Split
from mgdl_core.core.nets import Network, init_params, msdl_network, sgdl_network
from mgdl_core.core.objectives import HALF_MSE, Shifted
from mgdl_core.core.step import GradientDescent, gd_step_
from mgdl_core.core.training import Outcome, TrainConfig, train
from mgdl_core.runs.records import config_digest, hashed_fields, matching_digest
from mgdl_core.tasks.restoration import RestorationRun
from mgdl_core.tasks.synthetic import SyntheticRun


@pytest.fixture
def native_on(monkeypatch, tmp_path_factory):
    """``MGDL_NATIVE=1`` with the kernel built into a test folder (once per session)."""
    monkeypatch.setenv("MGDL_NATIVE", "1")
    monkeypatch.setenv("MGDL_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "mgdl-cache"))
    if native._build()[0] is None:
        pytest.skip(f"no C compiler on this machine: {native._build()[1]}")


def _data(n: int, d_in: int, d_out: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, d_in, generator=g) * 2 - 1
    x[n // 2] = 0.0  # with zero biases every first pre-activation at this sample is exactly 0
    y = torch.sin(3 * x.sum(1, keepdim=True)).repeat(1, d_out) + 0.1 * torch.randn(n, d_out, generator=g)
    return x, y


def _net(widths, seed=0, dtype=torch.float32) -> Network:
    return Network([init_params(widths, "he", seed=seed, dtype=dtype)])


# (26) and an MGDL grade as the paper runs them, and widths that leave every tail of the kernel's
# tiles (17 = 16 + 1 columns, 5 rows, 3 outputs; N not a multiple of the 6-row tile)
NETS = [((1, 32, 32, 32, 32, 1), 1024), ((32, 32, 1), 1024), ((3, 17, 8, 5, 3), 301)]


@pytest.mark.parametrize("relu0", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("widths,n", NETS)
def test_native_epochs_are_the_reference_gd_to_rounding(native_on, widths, n, relu0):
    x, y = _data(n, widths[0], widths[-1])
    if widths[0] == 32:
        x = torch.relu(x)  # a grade's features
    fast, ref, exact = _net(widths), _net(widths), _net(widths, dtype=torch.float64)
    lr, epochs = 0.05, 5
    kernel = native.NativeGD(fast.widths[0], n)
    kernel.run(fast, x, y, lr, relu0, epochs)
    for _ in range(epochs):
        gd_step_(ref, x, y, lr, relu0)
        gd_step_(exact, x.double(), y.double(), lr, relu0)
    scale = max(t.abs().max().item() for t in exact.tensors())
    err_fast = max((a.double() - b).abs().max().item() for a, b in zip(fast.tensors(), exact.tensors()))
    err_ref = max((a.double() - b).abs().max().item() for a, b in zip(ref.tensors(), exact.tensors()))
    # float64 is the oracle: a few float32 roundings of the largest parameter per epoch (measured
    # 2e-8 relative after one step of (26); the reference step's thin first layer errs 1e-5 there)
    assert err_fast <= 2e-6 * scale * epochs
    assert err_fast <= max(err_ref, 1e-7 * scale)


def test_relu_prime_at_zero_is_honoured(native_on):
    """At a sample with zero pre-activations the three conventions give three gradients; the
    kernel's match float64's for each."""
    x, y = _data(257, 1, 1)
    outs = []
    for relu0 in (0.0, 0.5, 1.0):
        fast, exact = _net((1, 16, 16, 1)), _net((1, 16, 16, 1), dtype=torch.float64)
        kernel = native.NativeGD(fast.widths[0], 1)
        kernel.run(fast, x[128:129].contiguous(), y[128:129].contiguous(), 0.1, relu0, 1)
        gd_step_(exact, x[128:129].double(), y[128:129].double(), 0.1, relu0)
        for a, b in zip(fast.tensors(), exact.tensors()):
            torch.testing.assert_close(a.double(), b, rtol=1e-6, atol=1e-7)
        outs.append(fast.branches[0][0][1].clone())  # b_1: moved only through ReLU'(0) at this sample
    assert not torch.equal(outs[0], outs[1]) and not torch.equal(outs[1], outs[2])


def test_train_takes_the_kernel_only_when_asked(native_on, monkeypatch):
    x, y = _data(512, 1, 1)
    data = Dataset(Split(x, y))
    config = TrainConfig(epochs=400, lr=0.01, record_every=100, relu_prime_at_zero=0.5)
    calls = []
    real = native.NativeGD.run
    monkeypatch.setattr(native.NativeGD, "run", lambda self, *a: calls.append(a[-1]) or real(self, *a))
    fast = train(sgdl_network("(26)", seed=0), data, config)
    assert calls == [100, 100, 100, 100]  # one call per stretch between two records
    monkeypatch.setenv("MGDL_NATIVE", "0")
    ref = train(sgdl_network("(26)", seed=0), data, config)
    assert len(calls) == 4
    assert list(fast.history["epoch"]) == list(ref.history["epoch"]) == [0, 100, 200, 300, 400]
    # the same run to rounding at a rate well inside the stable range (measured 1e-5 apart; at
    # η = 0.05 GD on this data amplifies the last bit and even float32 and float64 part by 100 %)
    torch.testing.assert_close(torch.tensor(fast.history["train_loss"]), torch.tensor(ref.history["train_loss"]),
                               rtol=1e-4, atol=0)


def test_a_diverging_run_is_an_outcome_on_the_kernel(native_on):
    x, y = _data(256, 1, 1)
    r = train(sgdl_network("(26)", seed=0), Dataset(Split(x, y)), TrainConfig(epochs=1000, lr=50.0, record_every=100))
    assert r.outcome == Outcome.DIVERGED and r.diverged_epoch == 100 and math.isnan(r.final_train_loss)


def test_the_kernel_serves_only_gd_on_eq1_with_one_float32_mlp(native_on):
    x, y = _data(64, 1, 1)
    net = sgdl_network("(26)", seed=0)
    assert native.eligible(net, x, y, HALF_MSE)
    assert not native.eligible(net.to(dtype=torch.float64), x.double(), y.double(), HALF_MSE)
    assert not native.eligible(net, x, y, Shifted(HALF_MSE, torch.zeros_like(y)))
    assert not native.eligible(msdl_network("[1]->[16]->[1]", (1.0, 2.0), seed=0), x, y, HALF_MSE)
    assert not native.eligible(net, torch.cat([x, x], 1)[:, :1], y, HALF_MSE)  # a strided view
    wide = sgdl_network("[1]->[128]x2->[1]", seed=0)  # past MAX_WORK at N = 1,024: MKL's products win there
    x2, y2 = _data(1024, 1, 1)
    assert not native.eligible(wide, x2, y2, HALF_MSE) and native.eligible(net, x2, y2, HALF_MSE)
    step = GradientDescent(0.01)
    step.run(net.to(dtype=torch.float64), x.double(), y.double(), HALF_MSE, 3)  # the reference runs
    assert step._native is None


def test_off_unless_asked_and_a_clean_fallback_without_a_compiler(monkeypatch, tmp_path):
    monkeypatch.delenv("MGDL_NATIVE", raising=False)
    assert not native.enabled() and native.describe() == "off (MGDL_NATIVE unset)"
    monkeypatch.setenv("MGDL_NATIVE", "1")
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    native._build.cache_clear()
    try:
        assert not native.available() and native.describe().startswith("unavailable: no C compiler")
        x, y = _data(64, 1, 1)
        r = train(sgdl_network("(26)", seed=0), Dataset(Split(x, y)), TrainConfig(epochs=20, lr=0.01, record_every=10))
        assert r.outcome == Outcome.COMPLETED  # the reference step ran
    finally:
        native._build.cache_clear()


def test_a_run_on_the_kernel_has_its_own_hash(native_on, monkeypatch):
    sgdl = dict(method="sgdl", lr=0.01, epochs=10)
    fields = {k: v for k, v in vars(SyntheticRun(**sgdl)).items()}
    on = hashed_fields(fields, "synthetic")
    assert on.get("numeric_path") == "native"
    assert "numeric_path" not in hashed_fields({**fields, "method": "msdl"}, "synthetic")
    assert "numeric_path" not in hashed_fields({**fields, "dtype": "float64"}, "synthetic")
    assert "numeric_path" not in hashed_fields({**fields, "structure": "[1]->[128]x4->[1]"}, "synthetic")
    mgdl = vars(SyntheticRun(method="mgdl", lr=0.01, epochs=10))
    assert hashed_fields(dict(mgdl), "synthetic").get("numeric_path") == "native"  # (30)'s grades
    assert "numeric_path" not in hashed_fields(fields, RestorationRun.kind)  # the ROF objectives
    sealed = config_digest("synthetic", fields)
    monkeypatch.setenv("MGDL_NATIVE", "0")
    assert config_digest("synthetic", fields) != sealed  # the reference path's records never mix with it
    assert matching_digest("synthetic", fields, sealed) == sealed  # yet a native record still verifies here


def test_shapes_the_reference_refuses_stay_with_the_reference(native_on):
    """The kernel trusts shapes: a wrong input or target width, or too many layers, is not its to run."""
    net = _net((3, 16, 1))
    x, y = _data(50, 3, 1)
    assert native.eligible(net, x, y, HALF_MSE)
    assert not native.eligible(net, x[:, :1].contiguous(), y, HALF_MSE)
    assert not native.eligible(net, x, y.repeat(1, 2), HALF_MSE)
    with pytest.raises(RuntimeError, match="cannot be multiplied"):  # the reference's own error, no crash
        GradientDescent(0.01).run(net, x[:, :1].contiguous(), y, HALF_MSE, 2)
    deep = _net((1,) + (4,) * native.KERNEL_LAYERS + (1,))
    x1, y1 = _data(50, 1, 1)
    assert not native.eligible(deep, x1, y1, HALF_MSE)
    GradientDescent(0.01).run(deep, x1, y1, HALF_MSE, 2)  # the reference step trains it


@pytest.mark.parametrize("relu0", [0.0, 0.5])
def test_nan_spreads_as_in_the_reference(native_on, relu0):
    x, y = _data(40, 2, 1)
    x[3, 0] = float("nan")
    fast, ref = _net((2, 16, 16, 1)), _net((2, 16, 16, 1))
    native.NativeGD(fast.widths[0], 40).run(fast, x, y, 0.01, relu0, 1)
    gd_step_(ref, x, y, 0.01, relu0)
    for a, b in zip(fast.tensors(), ref.tensors()):
        assert torch.equal(torch.isnan(a), torch.isnan(b))


def test_a_subclass_with_its_own_update_is_never_bypassed(native_on):
    calls = []

    class Counting(GradientDescent):
        def __call__(self, net, x, y, objective):
            calls.append(1)
            super().__call__(net, x, y, objective)

    x, y = _data(64, 1, 1)
    Counting(0.01).run(sgdl_network("(26)", seed=0), x, y, HALF_MSE, 3)
    assert len(calls) == 3


def test_the_hash_and_the_steps_follow_one_rule(native_on, monkeypatch):
    """A run's hash says native exactly when its steps may take the kernel: per task (never an
    image task's, whose network size depends on the image), per grade (any grade small enough)."""
    from mgdl_core.tasks.image_regression import ImageRegressionRun

    mixed = SyntheticRun(method="mgdl", lr=0.01, epochs=30, structure="[1]->[128]->[8]->[1]; [8]->[16]->[1]")
    assert mixed.train_config().native and hashed_fields(vars(mixed), "synthetic").get("numeric_path") == "native"
    calls = []
    real = native.NativeGD.run
    monkeypatch.setattr(native.NativeGD, "run", lambda self, *a: calls.append(self.shape) or real(self, *a))
    mixed.run()
    assert calls and set(calls) == {(8, 16, 1)}  # grade 1 (128 wide) on the reference step, grade 2 on the kernel
    wide = SyntheticRun(method="sgdl", lr=0.01, epochs=10, structure="[1]->[128]x2->[1]")
    assert not wide.train_config().native and "numeric_path" not in hashed_fields(vars(wide), "synthetic")
    assert not ImageRegressionRun.native_step({"method": "sgdl", "optimizer": "gd"})


def test_the_batched_backend_refuses_runs_that_are_the_kernels(native_on, tmp_path):
    from mgdl_core.errors import ConfigError
    from mgdl_core.runs.sweeps import sweep

    configs = [SyntheticRun(method="sgdl", lr=lr, epochs=10) for lr in (0.01, 0.02)]
    with pytest.raises(ConfigError, match="MGDL_NATIVE"):
        sweep(configs, backend="batched", out=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def test_a_compiler_command_with_a_launcher(native_on, monkeypatch):
    monkeypatch.setenv("CC", "env cc")
    native._build.cache_clear()
    try:
        assert native._build()[0] is not None, native._build()[1]
    finally:
        native._build.cache_clear()


@pytest.mark.parametrize("name", ["s5-setting1-mgdl-eta0.001", "s5-setting1-sgdl-eta0.2629"])
def test_committed_paper_runs_replay_on_the_kernel_within_their_tolerance(native_on, name):
    """Committed §5 results (made on the reference step) replayed on the kernel for 1,000 epochs:
    another numeric path, so within replay_tolerance (measured 5e-5 for MGDL; 13 % for SGDL at
    η = 0.263, the edge of stability, where the reference step on another CPU differs by 12 %)."""
    from pathlib import Path

    from mgdl_core.runs.results import read_result, replay_result

    replay = replay_result(read_result(Path(__file__).resolve().parents[1] / "results" / "synthetic" / name))
    assert replay.ok, replay
