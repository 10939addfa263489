"""The `mgdl` command line: runs, cache, sweeps, show, and one clear line for every bad argument."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mgdl_core.cli import main, parse_rates

ROOT = Path(__file__).resolve().parents[1]


def _run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_run_then_cache_then_show(tmp_path, capsys):
    args = ["run", "synthetic", "--lr", "0.05", "--epochs", "200", "--method", "sgdl", "--out", str(tmp_path),
            "--dtype", "float64", "--quiet"]
    rc, out, _ = _run(capsys, *args, "--json")
    assert rc == 0
    first = json.loads(out)
    assert first["outcome"] == "completed" and first["epochs_run"] == 200
    rc, out, _ = _run(capsys, *args, "--json")
    assert json.loads(out)["train_loss"] == first["train_loss"]
    record = Path(first["record"])
    rc, out, _ = _run(capsys, "show", record.name[:8], "--out", str(tmp_path))
    assert rc == 0 and "SGDL" in out and "record:" in out
    rc, out, _ = _run(capsys, "show", str(record), "--json")
    assert json.loads(out)["config"]["lr"] == 0.05


def test_sweep_lists_outcomes_including_divergence(tmp_path, capsys):
    rc, out, _ = _run(capsys, "sweep", "synthetic", "--method", "sgdl", "--lrs", "0.01,5", "--epochs", "300",
                      "--out", str(tmp_path), "--backend", "serial", "--quiet", "--json")
    assert rc == 0
    res = json.loads(out)
    assert [r["outcome"] for r in res] == ["completed", "diverged"]


def test_parse_rates():
    assert parse_rates("0.1,0.2") == [0.1, 0.2]
    r = parse_rates("0.001:0.5:30")
    assert len(r) == 30 and r[0] == 0.001 and r[-1] == 0.5  # np.geomspace returns its endpoints exactly


@pytest.mark.parametrize("argv,needle", [
    (["run", "nosuch", "--lr", "0.1"], "unknown experiment"),
    (["run", "synthetic", "--lr", "0.1", "--method", "xgdl"], "--method"),
    (["run", "synthetic", "--lr", "-0.1"], "in (0, 1000]"),
    (["run", "synthetic", "--lr", "0"], "in (0, 1000]"),
    (["run", "synthetic", "--lr", "abc"], "not a number"),
    (["run", "synthetic", "--lr", "0.1", "--device", "tpu"], "unknown device"),
    (["sweep", "synthetic", "--lrs", "0.5:0.001:4"], "empty"),
    (["sweep", "synthetic", "--lrs", "0.1:0.5"], "LOW:HIGH:COUNT"),
    (["sweep", "synthetic", "--lrs", ","], "empty"),
    (["sweep", "synthetic", "--lrs", "0.1,x"], "not a number"),
    (["show", "0000"], "no record"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_arguments_are_one_line_and_exit_2(capsys, argv, needle, tmp_path):
    rc, out, err = _run(capsys, *argv, *(["--out", str(tmp_path)] if argv[0] in ("run", "show") else []))
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("mgdl: error:") and needle in err
    assert "Traceback" not in err


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_clear_error(capsys):
    rc, _, err = _run(capsys, "run", "synthetic", "--lr", "0.1", "--device", "cuda")
    assert rc == 2 and "CUDA is not available" in err


def test_console_entry_points():
    out = subprocess.run([sys.executable, "-m", "mgdl_core", "list"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and "synthetic" in out.stdout and "--profile paper" in out.stdout


@pytest.mark.parametrize("structure,method", [("garbage", "sgdl"), ("(26)", "mgdl"), ("(28)", "sgdl"),
                                              ("[2]->[8]x4->[1]", "msdl")])
def test_structures_that_do_not_fit_are_one_line(capsys, structure, method, tmp_path):
    rc, _, err = _run(capsys, "run", "synthetic", "--lr", "0.1", "--method", method, "--structure", structure,
                      "--out", str(tmp_path))
    assert rc == 2 and err.startswith("mgdl: error:") and err.count("\n") == 1


def test_custom_mgdl_grades_from_the_command_line(capsys, tmp_path):
    rc, out, _ = _run(capsys, "run", "synthetic", "--lr", "0.05", "--method", "mgdl", "--epochs", "50",
                      "--structure", "[1]->[16]->[1];[16]->[16]->[1]", "--out", str(tmp_path), "--quiet", "--json")
    assert rc == 0 and len(json.loads(out)["grade_train_losses"]) == 2
