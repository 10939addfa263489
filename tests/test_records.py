"""Durable runs: cache hits, atomic records, kill -9 + resume, half-finished sweeps, no pickles."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from mgdl_core.runs import checkpoints, records
from mgdl_core.tasks.synthetic import SyntheticRun
from mgdl_core.runs.recorded import load_record, run_recorded
from mgdl_core.runs.records import config_hash, is_complete, record_dir
from mgdl_core.runs.sweeps import sweep

ROOT = Path(__file__).resolve().parents[1]


def _small(method="sgdl", **kw):
    base = dict(setting=1, method=method, lr=0.05, epochs=300, dtype="float64", device="cpu", record_every=50)
    if method == "mgdl":
        base["grade_epochs"] = (100, 100, 100, 100)
    return SyntheticRun(**{**base, **kw})


def test_config_hash_is_stable_and_content_based():
    a, b = _small(), _small()
    assert config_hash("synthetic", a) == config_hash("synthetic", b)
    assert config_hash("synthetic", a) != config_hash("synthetic", a.replace(lr=0.06))
    assert len(config_hash("synthetic", a)) == 16


def test_record_is_written_and_a_second_call_is_a_cache_hit(tmp_path, monkeypatch):
    cfg = _small("mgdl")
    first = run_recorded(cfg, tmp_path)
    folder = record_dir(tmp_path, "synthetic", cfg)
    assert is_complete(folder)
    meta = json.loads((folder / "summary.json").read_text())
    for key in ("seed", "git_sha", "env_torch", "env_numpy", "env_device", "seconds", "outcome"):
        assert key in meta
    assert not folder.with_name(folder.name + ".partial").exists()

    def boom(*a, **k):
        raise AssertionError("a cached run must not train")

    monkeypatch.setattr(SyntheticRun, "run", boom)
    again = run_recorded(cfg, tmp_path)
    assert again.train_loss == first.train_loss
    np.testing.assert_array_equal(again.history["train_loss"], first.history["train_loss"])
    np.testing.assert_array_equal(again.test_pred, first.test_pred)
    assert all(torch.equal(a, b) for a, b in zip(again.params, first.params))
    monkeypatch.undo()
    forced = run_recorded(cfg, tmp_path, force=True)
    assert forced.train_loss == first.train_loss


def test_records_load_without_pickle(tmp_path):
    cfg = _small()
    run_recorded(cfg, tmp_path)
    folder = record_dir(tmp_path, "synthetic", cfg)
    torch.load(folder / "params.pt", weights_only=True)
    np.load(folder / "history.npz", allow_pickle=False)
    assert load_record(folder).config == cfg


def test_a_failure_while_writing_leaves_no_complete_looking_record(tmp_path, monkeypatch):
    cfg = _small(epochs=50)

    def fail(*a, **k):
        raise OSError("disk full (injected)")

    monkeypatch.setattr(records.np, "savez", fail)
    with pytest.raises(OSError, match="injected"):
        run_recorded(cfg, tmp_path)
    folder = record_dir(tmp_path, "synthetic", cfg)
    assert not folder.exists() and not is_complete(folder)
    monkeypatch.undo()
    assert run_recorded(cfg, tmp_path).outcome == "completed"
    assert is_complete(folder)


KILL_SCRIPT = textwrap.dedent("""
    import sys
    from mgdl_core.runs import run_recorded
    from mgdl_core.tasks import SyntheticRun
    cfg = SyntheticRun(**eval(sys.argv[2]))
    run_recorded(cfg, sys.argv[1], every_seconds=0.0)
""")


@pytest.mark.parametrize("method,kw", [("sgdl", dict(epochs=3000)),
                                       ("mgdl", dict(grade_epochs=(1500, 1500, 1500, 1500)))])
def test_kill_9_then_resume_equals_an_uninterrupted_run(tmp_path, method, kw):
    cfg = _small(method, record_every=100, **kw)
    out = tmp_path / "killed"
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT)
    partial = record_dir(out, "synthetic", cfg).with_name(record_dir(out, "synthetic", cfg).name + ".partial")
    proc = subprocess.Popen([sys.executable, str(script), str(out), repr(cfg.__dict__)], cwd=ROOT,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.time() + 120
        # wait for a checkpoint well inside the run (MGDL: inside grade 2 or later)
        while time.time() < deadline:
            snap = partial / "snapshot.pt"
            if snap.exists():
                try:
                    s = checkpoints.load_checkpoint(snap)
                except FileNotFoundError:  # removed at the end of its grade
                    s = None
                if s and s["epoch"] >= 1000 if method == "sgdl" else (s and (s["grade"] or 0) >= 2 and s["epoch"] >= 500):
                    break
            time.sleep(0.05)
        else:
            pytest.fail("no checkpoint appeared")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert not is_complete(record_dir(out, "synthetic", cfg))
    resumed = run_recorded(cfg, out)
    straight = cfg.run()
    assert resumed.outcome == straight.outcome and resumed.epochs_run == straight.epochs_run
    for key in straight.history:
        np.testing.assert_array_equal(resumed.history[key], straight.history[key])
    assert all(torch.equal(a, b) for a, b in zip(resumed.params, straight.params))


def test_sigint_checkpoints_and_the_rerun_resumes(tmp_path):
    cfg = _small(epochs=200_000, record_every=100)
    out = tmp_path / "int"
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT.replace("every_seconds=0.0", "every_seconds=1e9"))
    proc = subprocess.Popen([sys.executable, str(script), str(out), repr(cfg.__dict__)], cwd=ROOT,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, stderr=subprocess.PIPE, text=True)
    # SIGINT once the run is training: its handler is installed then. Before it, a SIGINT is lost
    # where the suite was started in the background (a shell without job control makes background
    # commands ignore SIGINT, and the child inherits that), and the run goes on for 200,000 epochs.
    lock = record_dir(out, "synthetic", cfg).with_name(f".{record_dir(out, 'synthetic', cfg).name}.lock")
    deadline = time.monotonic() + 120
    while not lock.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()  # never leave a 200,000-epoch run behind
        proc.wait()
    assert proc.returncode != 0 and "resume" in err
    partial = record_dir(out, "synthetic", cfg).with_name(record_dir(out, "synthetic", cfg).name + ".partial")
    snap = checkpoints.load_checkpoint(partial / "snapshot.pt")
    assert 0 < snap["epoch"] < 200_000


def test_a_half_finished_sweep_only_runs_the_rest(tmp_path, monkeypatch):
    configs = [_small(lr=lr, epochs=100) for lr in (0.01, 0.02, 0.04)]
    sweep(configs[:2], backend="serial", out=tmp_path, progress=False)
    ran = []
    original = SyntheticRun.run

    def counting(self, *a, **k):
        ran.append(self.lr)
        return original(self, *a, **k)

    monkeypatch.setattr(SyntheticRun, "run", counting)
    results = sweep(configs, backend="serial", out=tmp_path, progress=False)
    assert ran == [0.04]
    assert [r.config.lr for r in results] == [0.01, 0.02, 0.04]


def test_a_tracked_run_resumes_from_a_weights_only_snapshot(tmp_path):
    """Snapshots hold eigenvalue arrays too: they must load with weights_only and resume exactly."""
    import io

    from mgdl_core.theory.hessian import EigenTracker
    from mgdl_core.core.nets import sgdl_network
    from mgdl_core.runs.checkpoints import Checkpointer
    from mgdl_core.tasks.synthetic import synthetic_dataset
    from mgdl_core.core.training import TrainConfig, train

    data = synthetic_dataset(1, n_train=128, n_val=64, n_test=64, dtype=torch.float64)
    config = TrainConfig(epochs=400, lr=0.05, record_every=50)
    snaps = []

    def keep(snap):
        buf = io.BytesIO()
        torch.save(snap, buf)
        buf.seek(0)
        snaps.append(torch.load(buf, weights_only=True))

    t_straight, t_resumed = EigenTracker(100, k=3), EigenTracker(100, k=3)
    straight = train(sgdl_network("[1]->[8]x2->[1]", dtype=torch.float64), data, config,
                     [t_straight, Checkpointer(keep, every_seconds=0.0, check_every=100)])
    middle = next(s for s in snaps if s["epoch"] == 200)
    resumed = train(sgdl_network("[1]->[8]x2->[1]", dtype=torch.float64, seed=99), data, config,
                    [t_resumed, Checkpointer(lambda s: None, every_seconds=1e9)], resume=middle)
    assert t_resumed.alpha == t_straight.alpha
    assert resumed.epochs_run == straight.epochs_run
    for key in straight.history:
        if key != "eig_seconds":  # wall time, the one thing that may differ
            np.testing.assert_array_equal(resumed.history[key], straight.history[key])
    assert torch.equal(resumed.net.vector(), straight.net.vector())


def test_resume_between_record_periods_adds_no_record(tmp_path):
    """A checkpoint at epoch 100 of a run recorded every 75 epochs must not add a record at 100."""
    from mgdl_core.theory.hessian import EigenTracker
    from mgdl_core.core.nets import sgdl_network
    from mgdl_core.runs.checkpoints import Checkpointer
    from mgdl_core.tasks.synthetic import synthetic_dataset
    from mgdl_core.core.training import TrainConfig, train

    data = synthetic_dataset(1, n_train=64, n_val=32, n_test=32, dtype=torch.float64)
    config = TrainConfig(epochs=300, lr=0.05, record_every=75)
    snaps = []
    straight = train(sgdl_network("[1]->[4]->[1]", dtype=torch.float64), data, config,
                     [EigenTracker(75, k=2), Checkpointer(snaps.append, every_seconds=0.0, check_every=100)])
    snap = next(s for s in snaps if s["epoch"] == 100)
    snap = {**snap, "history": {k: torch.as_tensor(v) for k, v in snap["history"].items()}}
    resumed = train(sgdl_network("[1]->[4]->[1]", dtype=torch.float64), data, config,
                    [EigenTracker(75, k=2)], resume=snap)
    for key in ("epoch", "eig_epoch", "train_loss"):
        np.testing.assert_array_equal(resumed.history[key], straight.history[key])


def test_an_error_inside_training_restores_the_signal_handlers(tmp_path):
    from mgdl_core.core.nets import sgdl_network
    from mgdl_core.runs.checkpoints import Checkpointer
    from mgdl_core.tasks.synthetic import synthetic_dataset
    from mgdl_core.core.training import Callback, TrainConfig, train

    class Boom(Callback):
        every = 50

        def on_epoch(self, state):
            raise RuntimeError("boom")

    before = signal.getsignal(signal.SIGINT)
    data = synthetic_dataset(1, n_train=32, n_val=16, n_test=16)
    with pytest.raises(RuntimeError, match="boom"):
        train(sgdl_network("[1]->[4]->[1]"), data, TrainConfig(epochs=200, lr=0.01),
              [Checkpointer(lambda s: None), Boom()])
    assert signal.getsignal(signal.SIGINT) is before


def test_git_sha_is_dirty_on_a_changed_file_unless_that_file_is_excluded(tmp_path, monkeypatch):
    """``mgdl paper classical`` rewrites its own committed table after every cell: that change alone
    must not stamp the table "-dirty" (it did until stop 40); any other change still does."""
    from mgdl_core.runs import records as rec

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    for name in ("table.json", "code.py"):
        (tmp_path / name).write_text("1\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
    monkeypatch.setattr(rec, "PROJECT_ROOT", tmp_path)
    monkeypatch.setattr(rec, "checkout_root", lambda: tmp_path)
    clean = rec.git_sha()
    assert len(clean) == 40 and not clean.endswith("-dirty")
    (tmp_path / "table.json").write_text("2\n")
    assert rec.git_sha() == clean + "-dirty"
    assert rec.git_sha(exclude=[tmp_path / "table.json"]) == clean
    (tmp_path / "code.py").write_text("2\n")
    assert rec.git_sha(exclude=[tmp_path / "table.json"]) == clean + "-dirty"
