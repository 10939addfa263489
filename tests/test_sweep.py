"""Sweeps: every backend equals separate runs, run for run; divergence is a recorded outcome."""
import math

import numpy as np
import pytest

from mgdl_core.tasks.synthetic import SyntheticRun
from mgdl_core.runs.sweeps import log_rates, sweep


def _configs(method, lrs, epochs=300, **kw):
    return [SyntheticRun(setting=1, method=method, lr=lr, epochs=epochs, dtype="float64",
                         record_every=50, device="cpu", **kw) for lr in lrs]


def _assert_same(a, b):
    assert a.outcome == b.outcome and a.diverged_epoch == b.diverged_epoch
    assert a.epochs_run == b.epochs_run
    assert set(a.history) == set(b.history)
    # Batched (bmm) vs separate (mm), or another process with another thread count: up to 3,000
    # steps whose 1,024-sample sums run in another order. Measured ≤ 2e-13 relative (5e-10 on a
    # weight near 0, hence the weights' room relative to their scale, not to each entry).
    for k in a.history:  # losses (0.4 and up, 1e31 when diverging), epochs and grades
        np.testing.assert_allclose(a.history[k], b.history[k], rtol=1e-10, atol=0)
    if not a.diverged:  # a diverged run's parameters are overflowing garbage, equal only in ratio
        for p, q in zip(a.params, b.params):
            np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=0, atol=1e-10 * np.abs(q.numpy()).max())
        np.testing.assert_allclose(a.test_pred, b.test_pred, rtol=0, atol=1e-10 * np.abs(b.test_pred).max())


@pytest.mark.parametrize("method,relu0", [("sgdl", 0.5), ("mgdl", 0.5), ("sgdl", 0.0)])
def test_batched_sweep_equals_separate_runs(method, relu0):
    # 3.0 diverges for both methods within a few hundred epochs
    configs = _configs(method, [0.01, 0.1, 3.0], grade_epochs=(100, 100, 100, 100) if method == "mgdl" else None,
                       relu_prime_at_zero=relu0)
    separate = [c.run() for c in configs]
    batched = sweep(configs, backend="batched")
    assert [r.outcome for r in separate][-1] == "diverged"
    for a, b in zip(separate, batched):
        _assert_same(a, b)


def test_batched_early_stopping_equals_separate_runs():
    # At η = 1e-9 the mean of 20 recorded losses moves by less than 1e-6 (relative) and the run
    # stops at its second check (epoch 400); at 0.05 it trains on: the batch must stop one model
    # and go on with the other. (Until stop 40 this test ran 3,000 epochs at 0.001 and 0.05, where
    # neither run stops early.)
    configs = [c.replace(early_stopping=True, record_every=10) for c in _configs("sgdl", [1e-9, 0.05], epochs=600)]
    separate = [c.run() for c in configs]
    assert [(r.outcome, r.epochs_run) for r in separate] == [("early_stopped", 400), ("completed", 600)]
    batched = sweep(configs, backend="batched")
    for a, b in zip(separate, batched):
        _assert_same(a, b)


def test_process_sweep_equals_serial_and_keeps_going_after_divergence():
    configs = _configs("sgdl", [0.05, 5.0], epochs=200)
    serial = sweep(configs, backend="serial", progress=False)
    procs = sweep(configs, backend="processes", workers=2, progress=False)
    assert serial[1].diverged and math.isnan(serial[1].train_loss)
    for a, b in zip(serial, procs):
        _assert_same(a, b)


def test_log_rates_and_bad_input():
    r = log_rates(0.001, 0.5, 5)
    assert r[0] == 0.001 and r[-1] == 0.5  # np.geomspace sets both ends exactly
    with pytest.raises(ValueError):
        log_rates(0.5, 0.001, 3)
    with pytest.raises(ValueError):
        sweep([], backend="serial")
    with pytest.raises(ValueError, match="backend"):
        sweep(_configs("sgdl", [0.1]), backend="gpu")
    with pytest.raises(ValueError, match="batched"):
        sweep(_configs("msdl", [0.1]), backend="batched")


def test_ray_backend_equals_serial(tmp_path):
    pytest.importorskip("ray", reason="Ray is an optional extra (pip install -e '.[ray]')")
    configs = _configs("sgdl", [0.05, 5.0], epochs=100)
    serial = sweep(configs, backend="serial", progress=False)
    remote = sweep(configs, backend="ray", out=tmp_path)
    for a, b in zip(serial, remote):
        _assert_same(a, b)


def test_sweep_refuses_bad_arguments_before_any_run(tmp_path, monkeypatch):
    from mgdl_core.errors import ConfigError

    configs = _configs("sgdl", [0.1])
    for workers in (0, 10**6, 2.5):
        with pytest.raises(ConfigError, match="workers"):
            sweep(configs, backend="processes", workers=workers)
    with pytest.raises(ConfigError, match="--out"):
        sweep(configs, backend="serial", out="/dev/null/x")
    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # Ray not installed
    with pytest.raises(ConfigError, match=r"pip install -e '\.\[ray\]'"):
        sweep(configs, backend="ray", out=tmp_path)
    assert not list(tmp_path.iterdir())


def test_a_failing_run_in_a_worker_reaches_the_caller_with_its_traceback(tmp_path):
    from mgdl_core.errors import CorruptRecord
    from mgdl_core.runs.records import record_dir
    from mgdl_core.runs.pool import RemoteTraceback

    configs = _configs("sgdl", [0.1, 0.2, 0.3], epochs=100)
    folder = record_dir(tmp_path, "synthetic", configs[1])
    partial = folder.with_name(folder.name + ".partial")
    partial.mkdir(parents=True)
    (partial / "snapshot.pt").write_bytes(b"not a checkpoint")  # found by the worker that resumes it
    with pytest.raises(CorruptRecord, match="--force") as info:
        sweep(configs, backend="processes", workers=2, progress=False, out=tmp_path)
    assert info.value.folder == partial  # the exception itself, across the process boundary
    assert isinstance(info.value.__cause__, RemoteTraceback) and "Traceback" in str(info.value.__cause__)
