"""Issue #28: paths are checked, never trusted; a full disk or a failed write loses nothing
finished and leaves nothing behind; export survives diverged records, short records, odd
names and SIGTERM."""
import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from mgdl_core.core.training import Callback
from mgdl_core.errors import ConfigError, CorruptRecord
from mgdl_core.runs import files, records, results
from mgdl_core.runs.checkpoints import Checkpointer, RunInterrupted, RunStore
from mgdl_core.runs.files import TEMPORARY, atomic_write_bytes, json_bytes, seal_digest, sha256_hex, write_synced
from mgdl_core.runs.recorded import check_runs_dir, load_record, run_recorded
from mgdl_core.runs.locks import record_lock
from mgdl_core.runs.records import config_digest, read_record, record_dir
from mgdl_core.runs.results import export_result, read_result, replay_epochs, replay_result
from mgdl_core.tasks.synthetic import SyntheticRun
# the tiny run and its record fixtures (a module-wide record, a fresh copy per test), shared
from test_record_integrity import _tiny, record, recorded  # noqa: F401, F811

ROOT = Path(__file__).resolve().parents[1]
NO_SPACE = "No space left on device"


@pytest.fixture(autouse=True)
def _no_git(monkeypatch):
    monkeypatch.setattr(records, "git_sha", lambda: "test")  # many records here: skip the git calls


def _temporaries(top: Path) -> list[Path]:
    """Every temporary (``.<name>.tmp-<pid>-…``, ``.<name>.old-<pid>-…``) anywhere under ``top``."""
    return sorted(p for p in top.rglob(".*") if TEMPORARY.match(p.name))


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert text and "\n" not in text and "Traceback" not in text, text
    return text


class Stop(Callback):
    """Raises at the first check at or after ``epoch``: an interruption that leaves a checkpoint."""

    every = 100

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_epoch(self, state) -> None:
        if state.epoch >= self.epoch:
            raise RuntimeError("stopped (injected)")


# ------------------------------------------------------------- 1. paths are checked, never trusted

def _forge_kind(folder: Path, kind: str) -> Path:
    """A consistent forgery (the seal has no key): the record filed under ``kind``, every digest
    and the seal recomputed, the folder renamed to the new hash. It reads back as verified."""
    doc = json.loads((folder / "config.json").read_text())
    doc["kind"] = kind
    data = json_bytes(doc)
    digest = config_digest(kind, doc["config"])
    forged = folder.rename(folder.with_name(digest[:16]))
    (forged / "config.json").write_bytes(data)
    meta = json.loads((forged / "summary.json").read_text())
    meta.pop("sha256")
    meta.update(kind=kind, hash=digest[:16], config_sha256=digest)
    meta["files"]["config.json"] = sha256_hex(data)
    meta["sha256"] = seal_digest(meta)
    (forged / "summary.json").write_text(json.dumps(meta))
    assert read_record(forged).kind == kind
    return forged


@pytest.mark.parametrize("kind", ["../escape", "<absolute>"])
def test_export_refuses_a_forged_kind_that_leads_out_of_results(record, tmp_path, kind):
    out, _, folder = record
    kind = str(tmp_path / "absolute") if kind == "<absolute>" else kind
    forged = _forge_kind(folder, kind)
    with pytest.raises((ConfigError, CorruptRecord)) as info:
        export_result(forged, "x", tmp_path / "results")
    assert "unknown kind" in _one_line(info.value)
    assert not (tmp_path / "escape").exists() and not (tmp_path / "absolute").exists()
    assert _temporaries(tmp_path) == []


def test_export_writes_nothing_through_a_symbolic_link_out_of_results(record, tmp_path):
    out, _, folder = record
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "synthetic").symlink_to(outside)
    with pytest.raises(ConfigError) as info:
        export_result(folder, "x", tmp_path / "results")
    assert "outside" in _one_line(info.value)
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("existing", [False, True])
def test_record_lock_does_not_follow_a_planted_symlink(tmp_path, existing):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "victim"
    if existing:
        target.write_bytes(b"keep")
        os.utime(target, (1e9, 1e9))
    folder = tmp_path / "runs" / "synthetic" / ("0" * 16)
    folder.parent.mkdir(parents=True)
    (folder.parent / f".{folder.name}.lock").symlink_to(target)
    with pytest.raises(ConfigError) as info:
        with record_lock(folder):
            pass
    assert "lock" in _one_line(info.value)
    if existing:
        assert target.read_bytes() == b"keep" and target.stat().st_mtime == 1e9
    else:
        assert not target.exists()


def test_find_record_takes_a_folder_or_a_hex_prefix_never_a_pattern(record, tmp_path):
    from mgdl_core.runs.recorded import find_record

    out, _, folder = record
    assert find_record(out, str(folder)) == folder
    assert find_record(out, folder.name[:5]) == folder
    assert find_record(out, folder.name[:5].upper()) == folder
    (out / "README").write_text("not a kind")  # files and hidden folders under --out are skipped
    (out / ".hidden" / folder.name).mkdir(parents=True)
    assert find_record(out, folder.name) == folder
    # a record outside --out that a glob of "*/<text>*" would reach
    other = tmp_path / "OTHER"
    shutil.copytree(folder, other / "x")
    for text in ("../../OTHER/x", "../OTHER/x", "**", "*", "?", "[0-9a-f]*", "", folder.name + "\n",
                 folder.name + "0", "/", "synthetic/" + folder.name[:4], "g00d"):
        with pytest.raises(ConfigError) as info:
            find_record(out, text)
        _one_line(info.value)
    missing = "f" * 16 if not folder.name.startswith("f") else "0" * 16
    with pytest.raises(ConfigError, match="no record"):
        find_record(out, missing)
    twin = folder.with_name(folder.name[:4] + ("0" * 12 if folder.name[4:] != "0" * 12 else "1" * 12))
    shutil.copytree(folder, twin)
    with pytest.raises(ConfigError, match="matches 2 records"):
        find_record(out, folder.name[:4])
    assert find_record(out, folder.name) == folder


# ---------------------------------------- 2. a failed write loses nothing and leaves nothing behind

def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, NO_SPACE)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    monkeypatch.setattr(os, "fsync", _no_space)  # a full disk found at the flush
    with pytest.raises(OSError, match=NO_SPACE):
        atomic_write_bytes(path, b"new" * 1000)
    with pytest.raises(OSError, match=NO_SPACE):
        write_synced(tmp_path / "g.bin", b"new")
    monkeypatch.undo()
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


def test_a_failed_record_write_is_one_clear_error_and_leaves_nothing(tmp_path, monkeypatch):
    from mgdl_core.runs.files import WriteFailed

    cfg, out = _tiny(), tmp_path / "runs"
    folder = record_dir(out, "synthetic", cfg)
    real, calls = files.write_synced, []

    def half_then_full(path, data):  # the third file: half of it written, then the disk is full
        calls.append(path)
        if len(calls) == 3:
            Path(path).write_bytes(data[:len(data) // 2])
            raise OSError(errno.ENOSPC, NO_SPACE)
        real(path, data)

    monkeypatch.setattr(records, "write_synced", half_then_full)
    with pytest.raises(WriteFailed) as info:
        run_recorded(cfg, out)
    text = _one_line(info.value)
    assert str(folder) in text and NO_SPACE in text and info.value.errno == errno.ENOSPC
    assert isinstance(info.value, OSError)
    assert not folder.exists() and _temporaries(out) == []
    monkeypatch.undo()
    assert run_recorded(cfg, out).outcome == "completed" and load_record(folder).config == cfg


def test_a_failed_rename_keeps_the_old_record(record, monkeypatch):
    from mgdl_core.runs.files import WriteFailed

    out, cfg, folder = record
    before = (folder / "summary.json").read_bytes()
    real = os.rename

    def refuse_the_new_one(src, dst):
        if Path(src).name.startswith(f".{folder.name}.tmp-"):
            raise OSError(errno.EIO, "Input/output error")
        return real(src, dst)

    monkeypatch.setattr(os, "rename", refuse_the_new_one)
    with pytest.raises(WriteFailed):
        run_recorded(cfg, out, force=True)
    monkeypatch.undo()
    assert (folder / "summary.json").read_bytes() == before and load_record(folder).config == cfg
    assert _temporaries(out) == []


class _State:
    epoch, grade = 100, None

    def snapshot(self) -> dict:
        return {"epoch": self.epoch}


def test_a_failing_checkpoint_warns_once_and_training_goes_on(capsys):
    saves = []

    def save(snap):
        saves.append(snap)
        raise OSError(errno.ENOSPC, NO_SPACE)

    ck, state = Checkpointer(save, every_seconds=0.0, first_seconds=0.0), _State()
    ck.on_start(state)
    for _ in range(3):
        ck.on_epoch(state)  # no exception: the run goes on
    ck.on_end(state)
    assert len(saves) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "checkpoints are failing" in err[0] and NO_SPACE in err[0]
    ck.on_start(state)
    ck._on_signal(signal.SIGTERM, None)  # a signal still stops it, saying what was not saved
    with pytest.raises(RunInterrupted, match="could not be written"):
        ck.on_epoch(state)
    assert signal.getsignal(signal.SIGTERM) is not ck._on_signal


class _DiskFull:
    """ENOSPC from the ``n``-th write to a regular file on (``os.write`` writes half of its data
    first; ``os.fsync`` fails at the flush) until :meth:`free`; ``n=None`` only counts."""

    def __init__(self, monkeypatch, how: str, n: int | None):
        self.how, self.n, self.count, self.fired = how, n, 0, False
        self.real = getattr(os, how)
        monkeypatch.setattr(os, how, self)
        self.monkeypatch = monkeypatch

    def __call__(self, fd, *args):
        if stat.S_ISREG(os.fstat(fd).st_mode):
            self.count += 1
            if self.n is not None and self.count >= self.n:
                self.fired = True
                if self.how == "write" and len(args[0]) > 1:
                    self.real(fd, bytes(args[0])[:len(args[0]) // 2])
                raise OSError(errno.ENOSPC, NO_SPACE)
        return self.real(fd, *args)

    def free(self) -> None:
        self.monkeypatch.setattr(os, self.how, self.real)


@pytest.mark.parametrize("how", ["write", "fsync"])
def test_a_full_disk_at_any_write_loses_nothing_and_leaves_nothing(tmp_path, monkeypatch, capsys, how):
    """A run with checkpoints (every check) and its record; the disk fills at the n-th write, for
    every n: the run ends with one line (ConfigError at the probe, WriteFailed at the record),
    no temporary is left, the last good checkpoint verifies, and once space is freed the same
    call finishes with the result of an uninterrupted run."""
    from mgdl_core.runs.files import WriteFailed

    cfg = _tiny(epochs=300)
    kw = dict(every_seconds=0.0, first_checkpoint_s=0.0)
    counter = _DiskFull(monkeypatch, how, None)
    clean = run_recorded(cfg, tmp_path / "clean", **kw)
    counter.free()
    writes = counter.count
    assert writes >= 6  # the probe, checkpoints, five record files
    for n in range(1, writes + 1):
        out = tmp_path / f"n{n}"
        full = _DiskFull(monkeypatch, how, n)
        with pytest.raises((ConfigError, WriteFailed)) as info:
            run_recorded(cfg, out, **kw)
        full.free()
        assert full.fired and NO_SPACE in _one_line(info.value)
        assert _temporaries(out) == [], n
        partial = record_dir(out, "synthetic", cfg).with_name(record_dir(out, "synthetic", cfg).name + ".partial")
        if partial.exists():
            RunStore(partial).verify()  # the last good checkpoint is whole
        err = capsys.readouterr().err
        assert err.count("checkpoints are failing") <= 1
        again = run_recorded(cfg, out, **kw)  # space freed: the same call finishes
        assert again.train_loss == clean.train_loss
        check = check_runs_dir(out)
        assert check == [] and _temporaries(out) == []


def test_the_doctor_removes_dead_writers_temporaries_whatever_their_age_and_counts(record):
    out, cfg, folder = record
    kind = folder.parent
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    young = kind / f".{folder.name}.tmp-{dead.pid}-3-4"  # a killed writer's, seconds old
    young.mkdir()
    (young / "params.pt").write_bytes(b"half")
    alive = kind / f".{folder.name}.tmp-{os.getpid()}-1-2"  # a writer that still runs
    alive.mkdir()
    ckpt = _tiny(epochs=400)
    with pytest.raises(RuntimeError):
        run_recorded(ckpt, out, first_checkpoint_s=0.0, callbacks=[Stop(200)])
    partial = record_dir(out, "synthetic", ckpt).with_name(record_dir(out, "synthetic", ckpt).name + ".partial")
    leftover = partial / f".snapshot.pt.tmp-{dead.pid}-5"
    leftover.write_bytes(b"half")
    check = check_runs_dir(out)
    assert check == [] and dict(check) == {}
    assert not young.exists() and not leftover.exists() and alive.exists()
    assert (check.records, check.checkpoints, check.removed) == (1, 1, 2)


# ------------------------------------------------------------------------------------ 3. export

def _exportable(tmp_path, **kw):
    config = SyntheticRun(**{**dict(setting=1, method="sgdl", lr=0.05, epochs=300, record_every=10), **kw})
    run_recorded(config, tmp_path / "runs")
    return record_dir(tmp_path / "runs", "synthetic", config), config


def test_a_diverged_record_with_nan_rows_exports_and_replays(tmp_path):
    record, _ = _exportable(tmp_path, setting=2, lr=0.5, record_every=100)
    history = np.load(record / "history.npz")
    assert np.isnan(history["train_loss"]).any()  # NaN in the record: the replay has it at the same row
    result = read_result(export_result(record, "diverged", tmp_path / "results", replay=None))
    check = replay_result(result)
    assert result.run.diverged and check.ok and check.max_rel_diff == 0


@pytest.mark.parametrize("method", ["sgdl", "mgdl"])
def test_the_replay_is_capped_at_the_records_own_length(tmp_path, monkeypatch, method):
    kw = dict(method=method, epochs=400, grade_epochs=(100, 100, 100, 100)) if method == "mgdl" else {}
    record, config = _exportable(tmp_path, **kw)
    ran = 100 if method == "mgdl" else 300  # the record's first grade, or its whole run
    assert config.replay_epochs() > ran
    asked, real = [], SyntheticRun.run

    def spy(self, *args, **kwargs):
        asked.append(self.grade_epochs[0] if self.grade_epochs else self.epochs)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SyntheticRun, "run", spy)
    result = read_result(export_result(record, "short", tmp_path / "results", replay=None))
    assert asked == [ran]
    assert replay_epochs(result) == ran and replay_result(result, 5_000).epochs == ran


@pytest.mark.parametrize("name", ["ok\n", "a" * 101, "a/b", "..", ".hidden", "a\tb", "a\x00b", "", "\u00fc",
                                  "a\\b", "x" * 10_000])
def test_an_export_name_with_a_separator_control_character_or_too_long_is_refused(record, tmp_path, name):
    out, _, folder = record
    with pytest.raises(ConfigError) as info:
        export_result(folder, name, tmp_path / "results")
    assert len(_one_line(info.value)) < 300
    assert not (tmp_path / "results").exists() or _temporaries(tmp_path / "results") == []


def test_an_export_name_of_100_characters_is_fine(record, tmp_path):
    out, _, folder = record
    assert export_result(folder, "a" * 100, tmp_path / "results").name == "a" * 100


def test_an_interrupted_export_leaves_no_temporary(record, tmp_path, monkeypatch):
    out, _, folder = record
    target = tmp_path / "results"

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(results, "read_result", interrupt)
    with pytest.raises(KeyboardInterrupt):
        export_result(folder, "x", target)
    monkeypatch.undo()
    assert list((target / "synthetic").iterdir()) == []
    script = textwrap.dedent("""
        import os, signal, sys
        from mgdl_core.runs import results
        real = results.read_result
        def read_after_sigterm(folder):
            os.kill(os.getpid(), signal.SIGTERM)
            return real(folder)
        results.read_result = read_after_sigterm
        try:
            results.export_result(sys.argv[1], "x", sys.argv[2])
        except KeyboardInterrupt:
            sys.exit(143)
    """)
    proc = subprocess.run([sys.executable, "-c", script, str(folder), str(target)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 143, proc.stderr
    assert list((target / "synthetic").iterdir()) == []
