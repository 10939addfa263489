"""A sweep stops like a single run: SIGINT (Ctrl-C) or SIGTERM checkpoints the runs in flight,
starts no queued run, exits 130/143 with one line, and leaves no worker behind — nor does the
parent's SIGKILL. The same command then resumes and completes.

Each test runs a real `python -m mgdl_core sweep` with two worker processes: five SGDL runs of
3000 epochs (about 2 s each), so that when the first two have finished, two are training and one
is queued.
"""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RATES, EPOCHS = "0.01:0.05:5", "3000"
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")


def _command(out: Path) -> list[str]:
    return [sys.executable, "-m", "mgdl_core", "sweep", "synthetic", "--method", "sgdl", "--lrs", RATES,
            "--epochs", EPOCHS, "--dtype", "float64", "--backend", "processes", "--workers", "2",
            "--out", str(out), "--quiet"]


def _workers(pid: int) -> list[int]:
    """The live sweep workers among the children of ``pid`` (not its resource tracker)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_text()
        except (OSError, IndexError):  # gone meanwhile
            continue
        if int(fields[1]) == pid and fields[0] != "Z" and "spawn_main" in command:
            kids.append(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _state(out: Path) -> tuple[set[str], set[str]]:
    """(hashes with a finished record, hashes with a ``.partial`` checkpoint)."""
    folder = out / "synthetic"
    if not folder.is_dir():
        return set(), set()
    done = {p.name for p in folder.iterdir() if (p / "summary.json").exists()}
    partial = {p.name[:-len(".partial")] for p in folder.glob("*.partial")}
    return done, partial


def _start_and_wait(out: Path) -> tuple[subprocess.Popen, list[int], set[str]]:
    """The sweep, started in its own process group, once two runs have finished and the next two
    have been training for a moment."""
    proc = subprocess.Popen(_command(out), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while len(_state(out)[0]) < 2:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the first runs did not finish"
        time.sleep(0.05)
    time.sleep(0.7)  # the next two runs are past their start, training
    workers = _workers(proc.pid)
    assert len(workers) == 2
    return proc, workers, _state(out)[0]


def _assert_stopped(proc, workers, done_before, out, signum: int, sent_at: float) -> str:
    _, err = proc.communicate(timeout=90)
    assert time.monotonic() - sent_at < 20, "the sweep took too long to stop"
    assert proc.returncode == 128 + signum
    assert err.count("\n") == 1 and "Traceback" not in err, err
    done, partial = _state(out)
    m = re.fullmatch(rf"mgdl: sweep interrupted by {signal.Signals(signum).name}: (\d+) of 5 runs finished, "
                     r"(\d+) interrupted with a checkpoint, (\d+) not started; run the same command again to resume\n",
                     err)
    assert m, err
    finished, checkpointed, not_started = map(int, m.groups())
    assert (finished, checkpointed) == (len(done), len(partial))
    assert done >= done_before and not done & partial
    # At most the two runs in flight got anything: the queued one never started.
    assert len(done | partial) <= len(done_before) + 2 and not_started >= 1
    assert checkpointed >= 1
    for pid in workers:
        assert not _alive(pid), f"worker {pid} outlived the sweep"
    time.sleep(0.5)
    assert _state(out) == (done, partial), "something still ran after the sweep had exited"
    return err


def test_ctrl_c_checkpoints_the_runs_in_flight_and_the_same_command_resumes(tmp_path):
    proc, workers, done_before = _start_and_wait(tmp_path)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole foreground group
    _assert_stopped(proc, workers, done_before, tmp_path, signal.SIGINT, time.monotonic())
    from mgdl_core.runs.checkpoints import load_checkpoint

    done, partial = _state(tmp_path)
    epochs = [load_checkpoint(tmp_path / "synthetic" / f"{h}.partial" / "snapshot.pt")["epoch"] for h in partial]
    assert all(0 < e < int(EPOCHS) for e in epochs)

    again = subprocess.run(_command(tmp_path), cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stderr
    done_after, partial_after = _state(tmp_path)
    assert len(done_after) == 5 and not partial_after and done_after >= done | partial
    assert again.stdout.count("completed") == 5


def test_sigterm_to_the_parent_stops_the_sweep_like_ctrl_c(tmp_path):
    proc, workers, done_before = _start_and_wait(tmp_path)
    os.kill(proc.pid, signal.SIGTERM)  # `kill PID`, a batch system's stop: the parent alone
    _assert_stopped(proc, workers, done_before, tmp_path, signal.SIGTERM, time.monotonic())


def test_workers_stop_when_the_parent_is_killed(tmp_path):
    proc, workers, done_before = _start_and_wait(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)  # no chance to clean up: the workers must notice
    proc.wait()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers), "workers outlived their killed parent"
    done, partial = _state(tmp_path)
    assert partial, "the runs in flight saved no checkpoint"  # they stopped as on SIGTERM
    assert len(done | partial) <= len(done_before) + 2
