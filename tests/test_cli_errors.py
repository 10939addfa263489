"""Every refusal of the `mgdl` command is one line on stderr and exit status 2, before any
training; corrupt records are reported with their recovery; `--json` is strict JSON."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mgdl_core import cli
from mgdl_core.cli import main

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["--method", "sgdl", "--epochs", "100", "--dtype", "float64", "--quiet"]


def _run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def _assert_refused(rc, err, needle=""):
    assert rc == 2, err
    assert err.count("\n") == 1 and err.startswith("mgdl: error: ") and len(err) > len("mgdl: error: \n")
    assert "Traceback" not in err and needle in err, err


@pytest.mark.parametrize("argv,needle", [
    (["run", "synthetic", "--lr", "0.1", "--epochs", "1e400"], "--epochs"),
    (["run", "synthetic", "--lr", "0.1", "--epochs", "1e99"], "1_000_000_000"),
    (["run", "synthetic", "--lr", "0.1", "--epochs", "2.5"], "epochs must be an integer"),
    (["run", "synthetic", "--lr", "0.1", "--epochs", "nan"], "epochs must be an integer"),
    (["run", "synthetic", "--lr", "0.1", "--seed", "4294967296"], "--seed"),
    (["run", "synthetic", "--lr", "0.1", "--seed", "-1"], "--seed"),
    (["run", "synthetic", "--lr", "1e300"], "in (0, 1000]"),
    (["run", "synthetic", "--lr", "1e400"], "must be a finite number"),
    (["run", "synthetic", "--lr", "nan"], "must be a finite number"),
    (["run", "synthetic", "--lr", "0.1", "--track-every", "-5"], "--track-every"),
    (["run", "synthetic", "--lr", "0.1", "--checkpoint-every", "-1"], "--checkpoint-every"),
    (["run", "synthetic", "--lr", "0.1", "--checkpoint-every", "inf"], "--checkpoint-every"),
    (["run", "synthetic", "--lr", "0.1", "--relu-prime-at-zero", "nan"], "relu_prime_at_zero"),
    (["run", "synthetic", "--lr", "0.1", "--method", "sgdl", "--structure", "[1]->[100000000]->[1]"], "GiB"),
    (["run", "synthetic", "--lr", "0.1", "--method", "sgdl", "--structure", "[1]->[64]x100000->[1]"], "GiB"),
    (["sweep", "synthetic", "--lrs", "0.1:0.5:1000000"], "at most 10_000"),
    (["sweep", "synthetic", "--lrs", ",".join(["0.1"] * 10_001)], "at most 10_000"),
    (["sweep", "synthetic", "--lrs", "0.1:1e300:3"], "in (0, 1000]"),
    (["sweep", "synthetic", "--lrs", "0.1", "--workers", "100000"], "--workers"),
    (["sweep", "synthetic", "--lrs", "0.1", "--workers", "1e400"], "--workers"),
    (["sweep", "synthetic", "--lrs", "0.1", "--address", "10.0.0.1:6379"], "--backend ray"),
])
def test_bad_invocations_are_one_line_exit_2(capsys, tmp_path, argv, needle):
    start = time.perf_counter()
    rc, _, err = _run(capsys, *argv, "--out", str(tmp_path / "runs"))
    _assert_refused(rc, err, needle)
    assert time.perf_counter() - start < 5  # refused up front: no allocation, no training
    assert not [p for p in (tmp_path / "runs").glob("*/*") if not p.name.startswith(".")]  # no record, no checkpoint


@pytest.mark.parametrize("command", ["run", "sweep"])
@pytest.mark.parametrize("out", ["a-file", "/proc/mgdl-x", "/dev/null/x"])
def test_a_bad_out_is_refused_before_training(capsys, tmp_path, command, out):
    if out == "a-file":
        out = tmp_path / "a-file"
        out.write_text("not a folder")
    rates = ["--lr", "0.05"] if command == "run" else ["--lrs", "0.05,0.06", "--backend", "serial"]
    start = time.perf_counter()
    rc, stdout, err = _run(capsys, command, "synthetic", *rates, "--method", "sgdl", "--epochs", "200000",
                           "--out", str(out), "--quiet")
    assert time.perf_counter() - start < 1.0  # 200,000 epochs would take minutes
    _assert_refused(rc, err, "--out")
    assert stdout == ""


def test_ray_backend_without_ray_is_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    rc, _, err = _run(capsys, "sweep", "synthetic", "--lrs", "0.01,0.1", "--backend", "ray", *QUICK,
                      "--out", str(tmp_path))
    _assert_refused(rc, err, "pip install -e '.[ray]'")
    assert not (tmp_path / "synthetic").exists()


def test_diverged_run_is_strict_json_with_null(capsys, tmp_path):
    rc, out, _ = _run(capsys, "run", "synthetic", "--lr", "5", *QUICK, "--out", str(tmp_path), "--json")
    assert rc == 0 and "NaN" not in out
    d = json.loads(out)  # the strict parser below would choke on NaN as well
    json.loads(out, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert d["outcome"] == "diverged" and d["train_loss"] is None and d["test_loss"] is None
    rc, out, _ = _run(capsys, "show", d["record"], "--json")
    assert rc == 0 and json.loads(out)["val_loss"] is None
    rc, out, _ = _run(capsys, "sweep", "synthetic", "--lrs", "0.05,5", *QUICK, "--backend", "serial",
                      "--out", str(tmp_path), "--json")
    assert rc == 0 and [r["train_loss"] is None for r in json.loads(out)] == [False, True]


def _record(capsys, out: Path, lr: str = "0.05") -> Path:
    rc, stdout, _ = _run(capsys, "run", "synthetic", "--lr", lr, *QUICK, "--out", str(out), "--json")
    assert rc == 0
    return Path(json.loads(stdout)["record"])


@pytest.mark.parametrize("damage", ["summary.json", "config.json", "params.pt"])
def test_a_corrupt_record_is_one_line_with_the_way_out(capsys, tmp_path, damage):
    record = _record(capsys, tmp_path)
    path = record / damage
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])  # cut short
    args = ["run", "synthetic", "--lr", "0.05", *QUICK, "--out", str(tmp_path)]
    for argv in (args, ["show", str(record)], ["show", record.name[:8], "--out", str(tmp_path)],
                 ["sweep", "synthetic", "--lrs", "0.05,0.06", *QUICK, "--out", str(tmp_path)]):
        rc, _, err = _run(capsys, *argv)
        _assert_refused(rc, err, "corrupt: ")
        assert "--force" in err and str(record) in err
    rc, out, _ = _run(capsys, *args, "--force", "--json")  # the way out it offers
    assert rc == 0 and json.loads(out)["outcome"] == "completed"


def test_doctor_reports_corrupt_records_and_removes_stale_temporaries(capsys, tmp_path):
    good, bad = _record(capsys, tmp_path / "a"), _record(capsys, tmp_path / "a", lr="0.06")
    (bad / "history.npz").write_bytes(b"garbage")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()  # a pid that no longer runs
    stale = good.parent / f".{good.name}.tmp-{dead}-1"
    stale.mkdir()
    (stale / "params.pt").write_bytes(b"half")
    os.utime(stale, (time.time() - 7200,) * 2)  # two hours old
    rc, out, err = _run(capsys, "doctor", "--out", str(tmp_path / "a"))
    assert rc == 1 and err == ""
    lines = out.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"corrupt: {bad / 'history.npz'}") and "1 corrupt" in lines[1]
    assert not stale.exists() and good.exists()
    rc, out, _ = _run(capsys, "run", "synthetic", "--lr", "0.06", *QUICK, "--out", str(tmp_path / "a"), "--force")
    assert rc == 0
    rc, out, _ = _run(capsys, "doctor", "--out", str(tmp_path / "a"))
    assert rc == 0 and "verifies" in out
    rc, _, err = _run(capsys, "doctor", "--out", str(tmp_path / "nothing-here"))
    _assert_refused(rc, err, "no such folder")


def test_an_interrupt_never_prints_a_bare_prefix(capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt  # no message: what Python's own SIGINT handler raises

    monkeypatch.setitem(cli.HANDLERS, "list", interrupted)
    rc, _, err = _run(capsys, "list")
    assert rc == 130 and err == "mgdl: interrupted by SIGINT\n"


def test_checkpoint_every_reaches_the_run(capsys, tmp_path, monkeypatch):
    import mgdl_core.runs.recorded as recorded

    seen = []
    real = recorded.run_recorded

    def spy(config, out, **kw):
        seen.append(kw.get("every_seconds"))
        return real(config, out, **kw)

    monkeypatch.setattr(recorded, "run_recorded", spy)
    monkeypatch.setattr("mgdl_core.runs.sweeps.run_recorded", spy)
    rc, _, _ = _run(capsys, "run", "synthetic", "--lr", "0.05", *QUICK, "--out", str(tmp_path), "--checkpoint-every", "7")
    assert rc == 0
    rc, _, _ = _run(capsys, "sweep", "synthetic", "--lrs", "0.06,0.07", *QUICK, "--backend", "serial",
                    "--out", str(tmp_path), "--checkpoint-every", "0.5")
    assert rc == 0 and seen == [7.0, 0.5, 0.5]


@pytest.mark.skipif(sys.platform != "linux", reason="POSIX signals")
def test_sigterm_to_a_single_run_saves_a_checkpoint_and_exits_143(tmp_path):
    import signal

    proc = subprocess.Popen([sys.executable, "-m", "mgdl_core", "run", "synthetic", "--lr", "0.05", "--method", "sgdl",
                             "--epochs", "1000000", "--out", str(tmp_path), "--quiet"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("synthetic/.*.lock")):  # the run has its lock: it is about to train
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err.count("\n") == 1 and err.startswith("mgdl: ") and "run the same command again" in err
    assert list(tmp_path.glob("synthetic/*.partial/snapshot.pt"))


# --- the image verbs ---------------------------------------------------------------------------

@pytest.mark.parametrize("argv,needle", [
    (["run", "image", "--image", "nosuch"], "nosuch"),
    (["run", "image", "--image", "walnut"], "Walnut"),
    (["run", "image", "--image", "/no/such/file.png"], "no such file"),
    (["run", "image", "--method", "msdl"], "MSDL is a one-input"),
    (["run", "image", "--section", "6", "--image", "chest"], "§6 image regression uses"),
    (["run", "image", "--section", "7"], "--section"),
    (["run", "image", "--optimizer", "lbfgs"], "--optimizer"),
    (["run", "image", "--encoding", "wavelet"], "--encoding"),
    (["run", "image", "--lr", "-1"], "in (0, 1000]"),
    (["run", "image", "--structure", "[1]->[32]->[1]", "--method", "sgdl"], "does not fit"),
    (["sweep", "image", "--lrs", "0.1:1e300:3"], "in (0, 1000]"),
    (["sweep", "image", "--section", "4", "--lrs", "0.01,0.1", "--backend", "batched"], "batched"),
])
def test_bad_image_invocations_are_one_line_exit_2(capsys, tmp_path, paper_images, monkeypatch, argv, needle):
    monkeypatch.setenv("MGDL_DATA_DIR", str(paper_images))
    rc, _, err = _run(capsys, *argv, "--out", str(tmp_path / "runs"))
    _assert_refused(rc, err, needle)
    assert not [p for p in (tmp_path / "runs").glob("*/*") if not p.name.startswith(".")]


def test_a_corrupt_image_file_is_one_line_exit_2(capsys, tmp_path):
    bad = tmp_path / "photo.png"
    bad.write_bytes(b"not a png")
    rc, _, err = _run(capsys, "run", "image", "--image", str(bad), "--out", str(tmp_path / "runs"))
    _assert_refused(rc, err, "cannot read")


def test_image_run_on_a_users_colour_non_square_file(capsys, tmp_path):
    from PIL import Image
    import numpy as np

    path = tmp_path / "photo.png"
    Image.fromarray((np.random.default_rng(0).random((24, 36, 3)) * 255).astype("uint8")).save(path)
    rc, out, err = _run(capsys, "run", "image", "--image", str(path), "--method", "mgdl", "--epochs", "20",
                        "--quiet", "--json", "--out", str(tmp_path / "runs"))
    assert rc == 0, err
    assert err.startswith("mgdl: warning: photo.png is a RGB colour image; converted to greyscale")
    assert "warnings.warn" not in err and err.count("\n") == 1  # one line, no source line
    summary = json.loads(out)
    assert summary["outcome"] == "completed" and summary["config"]["image"] == str(path.resolve())
    assert len(summary["config"]["image_sha256"]) == 64 and len(summary["grade_train_losses"]) == 4
