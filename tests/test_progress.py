"""Progress where people run things: a bar on a terminal or in a kernel, a status line a minute
in a batch log (a non-terminal stderr), nothing under ``--quiet`` or ``TQDM_DISABLE``."""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mgdl_core.core import progress
from mgdl_core.core.progress import StatusLines, progress_meter, progress_mode
from mgdl_core.runs.sweeps import sweep
from mgdl_core.tasks.synthetic import SyntheticRun

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^\[\d\d:\d\d:\d\d\] .*\d+/\d+ epoch \(\d+%\), loss=\S+, lr=\S+, \S+ elapsed", re.M)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def progress_on(monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)


def test_the_mode_follows_where_the_output_goes(progress_on, monkeypatch):
    assert progress_mode(None, io.StringIO()) == "lines"
    assert progress_mode(None, _Tty()) == "bar"
    assert progress_mode(True, _Tty()) == "off"
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert progress_mode(None, _Tty()) == "off"
    assert isinstance(progress_meter(10, disable=None), progress._Off)


def test_status_lines_count_and_estimate_the_time_left():
    out = io.StringIO()
    s = StatusLines(100, "SGDL η=0.1", "epoch", every_s=0, file=out)
    s.set_postfix(loss="1.000e-02", lr="0.1")
    s.update(25)
    s.update(75)
    s.update(0)  # no progress, no line
    s.close()  # nothing new since the latest line
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert "SGDL η=0.1: 25/100 epoch (25%), loss=1.000e-02, lr=0.1" in lines[0]
    assert "left" in lines[0] and "left" not in lines[-1]
    assert "100/100 epoch (100%)" in lines[-1]


def test_status_lines_wait_for_their_interval(monkeypatch):
    out, clock = io.StringIO(), [0.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    s = StatusLines(10, every_s=60, file=out)
    s.update(5)
    assert out.getvalue() == ""  # within the first minute: silent
    clock[0] = 61.0
    s.update(1)
    clock[0] = 62.0
    s.update(1)  # a second line only a minute after the first
    s.close()  # the closing line reports the end
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "6/10" in lines[0] and "7/10" in lines[1]

    quiet = StatusLines(10, every_s=60, file=io.StringIO())
    quiet.update(10)
    quiet.close()
    assert quiet.file.getvalue() == ""  # a run shorter than the interval stays silent


def _mgdl_run(tmp_path, *extra):
    env = {k: v for k, v in os.environ.items() if k != "TQDM_DISABLE"}
    env.update(MGDL_STATUS_EVERY="0", MGDL_RUNS_DIR=str(tmp_path / "runs"))
    return subprocess.run([sys.executable, "-m", "mgdl_core", "run", "synthetic", "--lr", "0.05", "--epochs", "3000",
                           "--method", "sgdl", "--dtype", "float64", "--structure", "[1]->[16]->[16]->[1]",  # a small net: 2 s
                           "--out", str(tmp_path / "runs"), *extra],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)


def test_a_batch_log_gets_status_lines_and_quiet_silences_them(tmp_path):
    done = _mgdl_run(tmp_path)
    assert done.returncode == 0, done.stderr
    lines = LINE.findall(done.stderr)
    assert len(lines) >= 3, done.stderr  # one per 1000 epochs with MGDL_STATUS_EVERY=0
    assert "\r" not in done.stderr  # no bar redrawn in a log
    quiet = _mgdl_run(tmp_path, "--force", "--quiet")
    assert quiet.returncode == 0, quiet.stderr
    assert not LINE.search(quiet.stderr) and "elapsed" not in quiet.stderr


def test_a_sweep_counts_its_runs_in_a_log(progress_on, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(progress, "STATUS_EVERY_S", 0.0)
    configs = [SyntheticRun(method="sgdl", lr=lr, epochs=20, dtype="float64") for lr in (0.01, 0.02)]
    sweep(configs, backend="serial", out=tmp_path)
    err = capsys.readouterr().err
    assert "sweep: 1/2 run (50%)" in err and "sweep: 2/2 run (100%)" in err
    sweep(configs, backend="serial", out=tmp_path, force=True, progress=False)
    assert "sweep:" not in capsys.readouterr().err


def test_a_jupyter_kernel_gets_the_widget_bar(progress_on, monkeypatch):
    """In a kernel (IPython's ZMQInteractiveShell) stderr is no terminal, yet a bar is drawn:
    ``tqdm.auto`` makes it a widget there. A plain IPython terminal shell does not count."""
    import types

    ZMQInteractiveShell = type("ZMQInteractiveShell", (), {})
    TerminalInteractiveShell = type("TerminalInteractiveShell", (), {})
    for shell, mode in ((ZMQInteractiveShell(), "bar"), (TerminalInteractiveShell(), "lines"), (None, "lines")):
        monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda s=shell: s))
        assert progress_mode(None, io.StringIO()) == mode
