"""The training loop: recording, divergence as an outcome, early stopping, MGDL's cached features."""
import math

import numpy as np
import pytest
import torch

from mgdl_core.core.mgdl import train_mgdl
from mgdl_core.core.nets import mgdl_structure, sgdl_network
from mgdl_core.core.step import loss_value
from mgdl_core.tasks.synthetic import SETTINGS, synthetic_dataset
from mgdl_core.core.training import Callback, EarlyStopping, TrainConfig, train
from mgdl_core.core.data import Split


@pytest.fixture(scope="module")
def data64():
    return synthetic_dataset(1, n_train=256, n_val=128, n_test=512, dtype=torch.float64)


def test_history_records_loss_at_w_k(data64):
    net = sgdl_network("[1]->[16]x2->[1]", dtype=torch.float64)
    r = train(net, data64, TrainConfig(epochs=250, lr=0.05, record_every=100))
    assert r.outcome == "completed" and r.epochs_run == 250
    assert list(r.history["epoch"]) == [0, 100, 200, 250]
    # the recorder calls loss_value on the same W: the same float
    assert r.history["train_loss"][-1] == loss_value(net, data64.train.x, data64.train.y).item()
    assert r.history["train_loss"][-1] < r.history["train_loss"][0]


def test_divergence_is_recorded_not_raised(data64):
    net = sgdl_network("(26)", dtype=torch.float64)
    r = train(net, data64, TrainConfig(epochs=10_000, lr=5.0, record_every=10))
    assert r.outcome == "diverged" and r.diverged_epoch is not None and r.diverged_epoch < 10_000
    assert r.epochs_run == r.diverged_epoch and math.isnan(r.final_train_loss)


def test_early_stopping_rule(data64):
    net = sgdl_network("[1]->[16]->[1]", dtype=torch.float64)
    r = train(net, data64, TrainConfig(epochs=100_000, lr=1e-3, record_every=10, early_stopping=EarlyStopping(5, 1e-3)))
    assert r.outcome == "early_stopped" and r.epochs_run < 100_000 and r.epochs_run % 50 == 0
    val = r.history["val_loss"]
    last, prev = np.mean(val[-5:]), np.mean(val[-10:-5])
    assert abs(last - prev) <= 1e-3 * prev  # the rule's own relative criterion, EarlyStopping(5, 1e-3)


def test_callbacks_called_on_their_period(data64):
    class Count(Callback):
        every = 30

        def on_start(self, s):
            self.seen = []

        def on_epoch(self, s):
            self.seen.append(s.epoch)

    cb = Count()
    train(sgdl_network("[1]->[4]->[1]", dtype=torch.float64), data64, TrainConfig(epochs=100, lr=0.01, record_every=7), [cb])
    assert cb.seen == [30, 60, 90]


@pytest.mark.parametrize("bad", [dict(epochs=10, lr=0.0), dict(epochs=10, lr=float("nan")), dict(epochs=-1, lr=0.1),
                                 dict(epochs=10, lr=0.1, optimizer="sgd"), dict(epochs=10, lr="0.1")])
def test_bad_config_is_a_clear_error(bad):
    with pytest.raises(ValueError):
        TrainConfig(**bad)


def test_nan_data_is_a_clear_error():
    with pytest.raises(ValueError, match="NaN"):
        Split(torch.tensor([[0.0], [math.nan]]), torch.zeros(2, 1))


def test_mgdl_cached_features_equal_recomputation(data64):
    grades = mgdl_structure("(30)")
    res = train_mgdl(grades, data64, TrainConfig(epochs=200, lr=0.05, record_every=50))
    assert len(res.grade_results) == 4 and res.outcome == "completed"
    x, y = data64.train.x, data64.train.y
    for l in range(1, 5):
        recomputed = 0.5 * (res.model.predict(x, grades=l) - y).pow(2).sum().item() / y.shape[0]
        # ḡ_l summed in another order, then 256 non-negative terms: ≲ 1e-13 relative; abs=0, or
        # pytest.approx's default absolute 1e-12 would swamp rel on a loss of ~0.5
        assert res.losses["train"][l - 1] == pytest.approx(recomputed, rel=1e-12, abs=0)
        # grade l's recorded final loss (on cached features and residuals) is the loss of ḡ_l
        assert res.grade_results[l - 1].history["train_loss"][-1] == pytest.approx(recomputed, rel=1e-12, abs=0)
    assert res.losses["train"][-1] < res.losses["train"][0]
    # the caller's targets were not touched
    assert torch.equal(y, synthetic_dataset(1, n_train=256, n_val=128, n_test=512, dtype=torch.float64).train.y)


def test_mgdl_grade_trains_only_its_own_parameters(data64):
    grades = mgdl_structure("(30)")
    res = train_mgdl(grades[:2], data64, TrainConfig(epochs=50, lr=0.05, record_every=50))
    g1 = res.model.grades[0].vector().clone()
    res2 = train_mgdl(grades[:1], data64, TrainConfig(epochs=50, lr=0.05, record_every=50))
    assert torch.equal(g1, res2.model.grades[0].vector())


def test_synthetic_data_follow_eq_5():
    d = synthetic_dataset(1, dtype=torch.float64)
    assert d.train.x.shape == (1024, 1) and d.val.x.shape == (1024, 1) and d.test.x.shape == (10000, 1)
    assert d.train.x[0, 0] == 0 and d.train.x[-1, 0] == 1
    s = SETTINGS[1]
    assert s.kappa == (1.0, 5.5, 10.0)
    xv = d.val.x[:, 0].numpy()
    expect = sum(np.sin(2 * np.pi * k * xv + p) for k, p in zip(s.kappa, s.phi))
    # three sines of arguments up to 2π·10.2: their rounding (ulp(64) ≈ 1.4e-14) sets the room, |y| ≤ 3
    np.testing.assert_allclose(d.val.y[:, 0].numpy(), expect, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="setting"):
        synthetic_dataset(3)


def test_an_outcome_is_its_value_wherever_it_is_written():
    """Records, JSON, checkpoints and printed tables see the same words as before the enum."""
    import io
    import json

    from mgdl_core.core.training import Outcome

    assert [o.value for o in Outcome] == ["completed", "early_stopped", "diverged", "eig_stopped"]
    d = Outcome.DIVERGED
    assert d == "diverged" and str(d) == f"{d}" == "diverged" and f"{d:>10}" == "  diverged"
    assert json.dumps({"outcome": d}) == '{"outcome": "diverged"}'
    buf = io.BytesIO()
    torch.save({"outcome": d.value}, buf)  # what a checkpoint holds: the plain value
    buf.seek(0)
    assert Outcome(torch.load(buf, weights_only=True)["outcome"]) is d
