"""Records you can trust (issue 10): every read verified, a damaged file reported (never served,
never a traceback) with the way out, per-record locks, stale leftovers removed, an early first
checkpoint, strict JSON. Tiny runs in float64, so the whole file takes seconds."""
import json
import math
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from mgdl_core.runs import checkpoints, records
from mgdl_core.errors import ConfigError, CorruptRecord
from mgdl_core.tasks.synthetic import SyntheticRun
from mgdl_core.runs.recorded import load_record, run_recorded
from mgdl_core.runs.checkpoints import Checkpointer
from mgdl_core.runs.records import RECORD_FILES, is_complete, read_summary, record_dir, write_record
from mgdl_core.runs.recorded import check_runs_dir
from mgdl_core.runs.files import ensure_writable, json_safe, to_json
from mgdl_core.core.training import Callback

ROOT = Path(__file__).resolve().parents[1]


def _tiny(**kw) -> SyntheticRun:
    base = dict(setting=1, method="sgdl", structure="[1]->[4]->[1]", lr=0.05, epochs=20, record_every=10,
                dtype="float64", device="cpu")
    return SyntheticRun(**{**base, **kw})


def _partial(folder: Path) -> Path:
    return folder.with_name(folder.name + ".partial")


class Stop(Callback):
    """Raises at the first check at or after ``epoch`` (of ``grade``): an interruption."""

    every = 100

    def __init__(self, epoch: int, grade: int | None = None):
        self.epoch, self.grade = epoch, grade

    def on_epoch(self, state) -> None:
        if state.epoch >= self.epoch and state.grade == self.grade:
            raise RuntimeError("stopped (injected)")


class Trained(Callback):
    """Counts the trainings that start (a cached run starts none)."""

    def __init__(self, log: list):
        self.log = log

    def on_start(self, state) -> None:
        if state.grade in (None, 1):
            self.log.append(threading.get_ident())


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("recorded")
    cfg = _tiny()
    run_recorded(cfg, out)
    return out, cfg


@pytest.fixture
def record(recorded, tmp_path):
    """A fresh copy of one good record: (runs folder, configuration, record folder)."""
    out, cfg = recorded
    shutil.copytree(out, tmp_path / "runs")
    return tmp_path / "runs", cfg, record_dir(tmp_path / "runs", "synthetic", cfg)


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 8):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def _reseal(folder: Path, **changes) -> None:
    """Rewrite summary.json with consistent checksums after a deliberate change (a forger's edit)."""
    meta = json.loads((folder / "summary.json").read_text())
    meta.update(changes)
    meta["files"] = {n: records.sha256_hex((folder / n).read_bytes()) for n in RECORD_FILES}
    meta.pop("sha256")
    meta["sha256"] = records.seal_digest(meta)
    (folder / "summary.json").write_text(json.dumps(meta))


# ------------------------------------------------------------------ issue point 3: damaged files

@pytest.mark.parametrize("damage", [truncate, garble])
@pytest.mark.parametrize("name", ["summary.json", *RECORD_FILES])
def test_a_damaged_file_is_reported_and_force_recovers(record, name, damage):
    out, cfg, folder = record
    damage(folder / name)
    with pytest.raises(CorruptRecord) as err:
        load_record(folder)
    assert err.value.file == name and err.value.folder == folder
    assert str(err.value).startswith(f"corrupt: {folder / name}") and f"delete {folder} or run with --force" in str(err.value)
    with pytest.raises(CorruptRecord, match=name):
        run_recorded(cfg, out)  # the same command again: the same clear report, no traceback
    fixed = run_recorded(cfg, out, force=True)
    again = load_record(folder)
    assert again.train_loss == fixed.train_loss and again.config == cfg


def test_a_missing_file_is_reported(record):
    out, cfg, folder = record
    (folder / "history.npz").unlink()
    with pytest.raises(CorruptRecord, match="history.npz.*missing"):
        load_record(folder)


def test_an_incomplete_folder_is_retrained_not_served(record):
    out, cfg, folder = record
    (folder / "summary.json").unlink()
    assert not is_complete(folder)
    with pytest.raises(CorruptRecord, match="summary.json.*incomplete"):
        load_record(folder)
    assert run_recorded(cfg, out).outcome == "completed" and is_complete(folder)


@pytest.mark.parametrize("damage", [truncate, garble])
def test_a_damaged_checkpoint_is_reported_and_force_recovers(tmp_path, damage):
    cfg = _tiny(epochs=400, record_every=50)
    with pytest.raises(RuntimeError, match="injected"):
        run_recorded(cfg, tmp_path, first_checkpoint_s=0.0, callbacks=[Stop(200)])
    partial = _partial(record_dir(tmp_path, "synthetic", cfg))
    damage(partial / "snapshot.pt")
    with pytest.raises(CorruptRecord) as err:
        run_recorded(cfg, tmp_path)
    assert err.value.file == "snapshot.pt" and err.value.folder == partial and "--force" in str(err.value)
    assert run_recorded(cfg, tmp_path, force=True).epochs_run == 400


def test_a_damaged_mgdl_grade_checkpoint_is_reported(tmp_path):
    cfg = _tiny(method="mgdl", structure="[1]->[4]->[1];[4]->[4]->[1]", grade_epochs=(200, 200))
    with pytest.raises(RuntimeError, match="injected"):
        run_recorded(cfg, tmp_path, callbacks=[Stop(100, grade=2)])
    partial = _partial(record_dir(tmp_path, "synthetic", cfg))
    garble(partial / "grade_1.pt")
    with pytest.raises(CorruptRecord, match="grade_1.pt"):
        run_recorded(cfg, tmp_path)
    assert run_recorded(cfg, tmp_path, force=True).outcome == "completed"


# ---------------------------------------------------------- issue point 4: wrong results served

def test_an_edited_config_is_detected(record):
    out, cfg, folder = record
    doc = json.loads((folder / "config.json").read_text())
    doc["config"]["lr"] = 0.9
    (folder / "config.json").write_text(json.dumps(doc, indent=2))
    with pytest.raises(CorruptRecord, match="config.json.*checksum"):
        load_record(folder)
    with pytest.raises(CorruptRecord):
        run_recorded(cfg, out)
    # checksums made consistent again: the configuration no longer matches the folder's hash
    _reseal(folder)
    with pytest.raises(CorruptRecord, match="config.json.*hashes to") as err:
        read_summary(folder)
    assert err.value.file == "config.json"


def test_an_edited_method_with_matching_checksums_is_detected(record):
    out, cfg, folder = record
    doc = json.loads((folder / "config.json").read_text())
    doc["config"]["method"] = "mgdl"
    (folder / "config.json").write_text(json.dumps(doc))
    _reseal(folder)
    with pytest.raises(CorruptRecord, match="filed under"):
        run_recorded(cfg, out)


def test_an_edited_summary_is_detected(record):
    out, cfg, folder = record
    meta = json.loads((folder / "summary.json").read_text())
    meta["train_loss"] = 1e-9
    (folder / "summary.json").write_text(json.dumps(meta))
    with pytest.raises(CorruptRecord, match="summary.json.*checksum"):
        load_record(folder)


def test_a_flipped_byte_in_the_parameters_is_detected(record):
    out, cfg, folder = record
    path = folder / "params.pt"
    stored = torch.load(path, weights_only=True)
    raw = stored[0].numpy().tobytes()
    data = bytearray(path.read_bytes())
    at = data.find(raw) + 3  # inside the first tensor's values
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    # torch itself loads the damaged file without a word ...
    assert not torch.equal(torch.load(path, weights_only=True)[0], stored[0])
    # ... the record does not
    with pytest.raises(CorruptRecord, match="params.pt.*checksum"):
        load_record(folder)


def test_an_outdated_record_without_checksums_is_reported_as_such(record):
    out, cfg, folder = record
    meta = json.loads((folder / "summary.json").read_text())
    for key in ("files", "config_sha256", "sha256"):
        meta.pop(key)
    meta["record_version"] = 1
    (folder / "summary.json").write_text(json.dumps(meta))
    with pytest.raises(CorruptRecord, match="outdated record version 1.*--force"):
        load_record(folder)


def test_a_copied_record_is_verified_by_its_folder_name(record, tmp_path):
    out, cfg, folder = record
    copy = tmp_path / "elsewhere" / folder.name
    shutil.copytree(folder, copy)
    assert load_record(copy).config == cfg
    renamed = tmp_path / "elsewhere" / "0123456789abcdef"
    shutil.copytree(folder, renamed)
    with pytest.raises(CorruptRecord, match="filed under 0123456789abcdef"):
        load_record(renamed)


# --------------------------------------------------------------------- issue point 8: strict JSON

def test_a_diverged_run_writes_strict_json(tmp_path):
    cfg = _tiny(lr=50.0, epochs=100)
    result = run_recorded(cfg, tmp_path)
    assert result.outcome == "diverged" and math.isnan(result.train_loss)
    folder = record_dir(tmp_path, "synthetic", cfg)

    def refuse(name):
        raise AssertionError(f"{name} is not JSON")

    meta = json.loads((folder / "summary.json").read_text(), parse_constant=refuse)
    assert meta["train_loss"] is None and meta["test_loss"] is None
    again = load_record(folder)
    assert math.isnan(again.train_loss) and math.isnan(again.test_loss) and again.outcome == "diverged"


def test_json_safe_and_to_json():
    obj = {"a": math.nan, "b": [np.float32(1.5), math.inf, -math.inf], "c": (np.int64(3), np.bool_(True)),
           "d": np.array([1.0, np.nan]), "e": Path("/x"), 1: None}
    assert json_safe(obj) == {"a": None, "b": [1.5, None, None], "c": [3, True], "d": [1.0, None],
                              "e": "/x", "1": None}
    assert json.loads(to_json(obj))["b"] == [1.5, None, None]
    with pytest.raises(TypeError):
        to_json({"x": object()})


# ----------------------------------------------------------- issue point 1: --out checked first

@pytest.mark.parametrize("bad", ["FILE", "FILE/sub", "/proc/x", "/dev/null/x", "/proc/self"])
def test_an_unwritable_out_is_refused_before_training(tmp_path, monkeypatch, bad):
    (tmp_path / "FILE").write_text("not a folder")
    out = str(tmp_path / bad) if bad.startswith("FILE") else bad

    def boom(*a, **k):
        raise AssertionError("trained although the output folder is unusable")

    monkeypatch.setattr(SyntheticRun, "run", boom)
    with pytest.raises(ConfigError, match=f"^--out {out}: "):
        run_recorded(_tiny(), out)
    with pytest.raises(ConfigError):
        ensure_writable(out)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_out_is_refused(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(ConfigError, match="cannot write there"):
            ensure_writable(tmp_path)
    finally:
        tmp_path.chmod(0o700)


def test_ensure_writable_creates_and_leaves_nothing(tmp_path):
    out = ensure_writable(tmp_path / "a" / "b")
    assert out.is_dir() and list(out.iterdir()) == []


# ------------------------------------------------- issue point 6: checkpoints, leftovers, locks

def test_the_first_checkpoint_comes_early_then_every_interval(monkeypatch):
    """first_seconds after the start, then every every_seconds (a fake clock: 1 s per 100 epochs)."""
    from mgdl_core.core.nets import sgdl_network
    from mgdl_core.tasks.synthetic import synthetic_dataset
    from mgdl_core.core.training import TrainConfig, train

    clock = [0.0]

    class Tick(Callback):
        every = 100

        def on_epoch(self, state):
            clock[0] += 1.0

    monkeypatch.setattr(records.time, "monotonic", lambda: clock[0])
    saved = []
    data = synthetic_dataset(1, n_train=16, n_val=8, n_test=8, dtype=torch.float64)
    ckpt = Checkpointer(lambda snap: saved.append(snap["epoch"]), every_seconds=5.0, first_seconds=2.0)
    train(sgdl_network("[1]->[2]->[1]", dtype=torch.float64), data, TrainConfig(epochs=1500, lr=0.01),
          [Tick(), ckpt])
    assert saved == [200, 700, 1200]
    assert Checkpointer(lambda s: None, every_seconds=1.0, first_seconds=10.0).first_seconds == 1.0


def test_an_interrupted_run_has_its_early_checkpoint_and_resumes_exactly(tmp_path):
    cfg = _tiny(epochs=600, record_every=50)
    with pytest.raises(RuntimeError, match="injected"):
        run_recorded(cfg, tmp_path, every_seconds=1e9, first_checkpoint_s=0.0, callbacks=[Stop(300)])
    snap = checkpoints.load_checkpoint(_partial(record_dir(tmp_path, "synthetic", cfg)) / "snapshot.pt")
    assert snap["epoch"] == 100  # the first check; the interval (1e9 s) never came
    resumed, straight = run_recorded(cfg, tmp_path), cfg.run()
    assert all(torch.equal(a, b) for a, b in zip(resumed.params, straight.params))
    for key in straight.history:
        np.testing.assert_array_equal(resumed.history[key], straight.history[key])


KILL_SCRIPT = textwrap.dedent("""
    import sys
    from mgdl_core.runs import run_recorded
    from mgdl_core.tasks import SyntheticRun
    run_recorded(SyntheticRun(**eval(sys.argv[2])), sys.argv[1], every_seconds=1e9, first_checkpoint_s=0.5)
""")


def test_a_kill_soon_after_the_start_leaves_a_checkpoint(tmp_path):
    cfg = _tiny(epochs=10**7, record_every=100)
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT)
    snap = _partial(record_dir(tmp_path, "synthetic", cfg)) / "snapshot.pt"
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path), repr(cfg.__dict__)], cwd=ROOT,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.time() + 60
        while not snap.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert checkpoints.load_checkpoint(snap)["epoch"] > 0


def test_check_runs_dir_reports_damage_and_removes_stale_leftovers(record):
    out, cfg, folder = record
    kind = folder.parent
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    old = time.time() - 7200
    stale = [kind / f".{folder.name}.tmp-{dead.pid}-1-2", kind / f".{folder.name}.old-{dead.pid}-1-2"]
    for p in stale:
        p.mkdir()
        (p / "params.pt").write_bytes(b"x")
        os.utime(p, (old, old))
    alive = kind / f".{folder.name}.tmp-{os.getpid()}-1-2"  # a writer that still runs
    alive.mkdir()
    os.utime(alive, (old, old))
    young = kind / f".{folder.name}.tmp-{dead.pid}-3-4"  # too recent to be called stale
    young.mkdir()
    # a second record, damaged, and a damaged checkpoint
    bad_cfg = cfg.replace(seed=7)
    run_recorded(bad_cfg, out)
    bad = record_dir(out, "synthetic", bad_cfg)
    garble(bad / "params.pt")
    ckpt_cfg = _tiny(epochs=400)
    with pytest.raises(RuntimeError):
        run_recorded(ckpt_cfg, out, first_checkpoint_s=0.0, callbacks=[Stop(200)])
    partial = _partial(record_dir(out, "synthetic", ckpt_cfg))
    truncate(partial / "snapshot.pt")
    leftover = partial / f".snapshot.pt.tmp-{dead.pid}-5"
    leftover.write_bytes(b"half")
    os.utime(leftover, (old, old))

    problems = dict(check_runs_dir(out))
    assert set(problems) == {bad, partial}
    assert "params.pt" in problems[bad] and "--force" in problems[bad] and "snapshot.pt" in problems[partial]
    assert not any(p.exists() for p in stale) and not leftover.exists()
    assert alive.exists() and not young.exists()  # a dead writer's, however recent
    assert dict(check_runs_dir(out)).keys() == {bad, partial}
    assert alive.exists()
    with pytest.raises(ConfigError):
        check_runs_dir(out / "nothing-here")


def test_a_new_writer_clears_the_leftovers_of_killed_ones(record):
    out, cfg, folder = record
    leftover = folder.with_name(f".{folder.name}.tmp-{os.getpid()}-0-0")
    leftover.mkdir()
    run_recorded(cfg, out, force=True)
    assert not leftover.exists() and load_record(folder).config == cfg


def test_identical_runs_in_threads_train_once(tmp_path):
    for round_ in range(25):
        cfg = _tiny(seed=round_)
        trained, errors, results = [], [], []
        barrier = threading.Barrier(3)

        def go():
            try:
                barrier.wait()
                results.append(run_recorded(cfg, tmp_path, callbacks=[Trained(trained)]))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=go) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors and len(trained) == 1, (round_, errors, trained)
        assert all(torch.equal(r.params[0], results[0].params[0]) for r in results)


def _race_worker(out: str, rounds: int, barrier, log: str) -> None:
    """One of several processes running the same configurations at the same moments."""
    pid = os.getpid()
    for r in range(rounds):
        cfg = _tiny(seed=r)
        barrier.wait()
        trained: list = []
        summary = run_recorded(cfg, out, callbacks=[Trained(trained)])
        if trained:
            with open(log, "a") as f:
                f.write(f"{r} {pid}\n")
        # then every process replaces the record while the others read it
        folder = record_dir(out, "synthetic", cfg)
        write_record(folder, "synthetic", summary, {"device": "cpu"})
        assert load_record(folder).config == cfg


def test_identical_runs_in_processes_train_once_and_writers_never_clash(tmp_path):
    ctx = mp.get_context("spawn")
    rounds, n = 20, 3
    barrier = ctx.Barrier(n)
    log = tmp_path / "trained.log"
    procs = [ctx.Process(target=_race_worker, args=(str(tmp_path / "runs"), rounds, barrier, str(log)))
             for _ in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
    assert [p.exitcode for p in procs] == [0] * n
    lines = log.read_text().split()
    assert sorted(int(r) for r in lines[::2]) == list(range(rounds))  # every round trained exactly once
    assert check_runs_dir(tmp_path / "runs") == []


def test_readers_never_see_a_half_replaced_record(record):
    out, cfg, folder = record
    summary = load_record(folder)
    stop = threading.Event()
    errors: list[BaseException] = []
    reads = [0]

    def write():
        try:
            for _ in range(60):
                write_record(folder, "synthetic", summary, {"device": "cpu"})
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def read():
        while not stop.is_set():
            try:
                assert load_record(folder).config == cfg
                reads[0] += 1
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
                return

    writers = [threading.Thread(target=write) for _ in range(2)]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert not errors, errors[:3]
    assert reads[0] > 0
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.")] == [f".{folder.name}.lock"]


def test_without_folder_handles_a_record_is_read_by_path_and_verified(record, monkeypatch):
    """Windows has no ``dir_fd``: the record is then read file by file, still verified."""
    out, cfg, folder = record
    through_handle = records.read_record(folder).meta
    monkeypatch.setattr(records, "_DIR_FD", False)
    assert records.read_record(folder).meta == through_handle
    garble(folder / "params.pt")
    with pytest.raises(CorruptRecord, match="params.pt"):
        records.read_record(folder)
    with pytest.raises(FileNotFoundError):
        records.read_record(folder.with_name("nope"))
