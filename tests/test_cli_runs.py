"""`mgdl runs` (a table of a runs folder: finished, partial, corrupt) and `mgdl sweep
--print-commands` (a `mgdl run` line per configuration, for a scheduler's job array, that
trains the sweep's configuration to the same record). Tiny runs in float64: seconds in all."""
import json
import math
import shlex
from pathlib import Path

import pytest

from mgdl_core import cli, cli_parser
from mgdl_core.cli import main
from mgdl_core.cli_parser import build_parser
from test_runs_hardening import Stop
from mgdl_core.runs.listing import list_runs, runs_table
from mgdl_core.runs.recorded import run_recorded
from mgdl_core.runs.records import config_hash, record_dir
from mgdl_core.tasks.synthetic import SyntheticRun

MGDL = "[1]->[4]->[1];[4]->[4]->[1]"


def _tiny(**kw) -> SyntheticRun:  # as tests/test_record_integrity.py's
    base = dict(setting=1, method="sgdl", structure="[1]->[4]->[1]", lr=0.05, epochs=20, record_every=10,
                dtype="float64", device="cpu")
    return SyntheticRun(**{**base, **kw})




def _run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A runs folder with two finished records (SGDL, MGDL), a diverged one, a checkpoint of an
    interrupted run (at epoch 100) and a record with a garbled params.pt: (folder, {name: hash})."""
    out = tmp_path_factory.mktemp("runs")
    done, mgdl, diverged = _tiny(), _tiny(method="mgdl", structure=MGDL, lr=0.1), _tiny(lr=50.0, epochs=100)
    for cfg in (done, mgdl, diverged):
        run_recorded(cfg, out)
    partial = _tiny(epochs=400, record_every=50)
    with pytest.raises(RuntimeError, match="injected"):
        run_recorded(partial, out, every_seconds=1e9, first_checkpoint_s=0.0, callbacks=[Stop(200)])
    bad = _tiny(seed=7)
    run_recorded(bad, out)
    params = record_dir(out, "synthetic", bad) / "params.pt"
    data = bytearray(params.read_bytes())
    data[len(data) // 2] ^= 0x5A
    params.write_bytes(bytes(data))
    return out, {name: config_hash("synthetic", c) for name, c in
                 (("done", done), ("mgdl", mgdl), ("diverged", diverged), ("partial", partial), ("bad", bad))}


def _rows(text: str) -> dict[str, str]:
    """The table's rows by their (8-digit) hash."""
    return {line.split()[1]: line for line in text.splitlines()[1:] if line.startswith("synthetic ")}


# ------------------------------------------------------------------------------- mgdl runs

def test_the_table_has_a_row_per_record_and_checkpoint(runs, capsys):
    out, h = runs
    rc, text, err = _run(capsys, "runs", "--out", out)
    assert rc == 0 and err == ""
    assert text.splitlines()[0].split() == ["kind", "hash", "method", "lr", "state", "train", "loss", "time"]
    rows = _rows(text)
    assert set(rows) == {v[:8] for v in h.values()}
    assert rows[h["done"][:8]].split()[2:5] == ["sgdl", "0.05", "finished"]
    assert rows[h["mgdl"][:8]].split()[2:5] == ["mgdl", "0.1", "finished"]
    assert "finished (diverged)" in rows[h["diverged"][:8]] and " nan " in rows[h["diverged"][:8]]
    assert "partial at epoch 100" in rows[h["partial"][:8]]
    assert "corrupt: params.pt" in rows[h["bad"][:8]]
    assert text.splitlines()[-1].endswith("5 runs under " + str(out) + ": 3 finished, 1 partial, 1 corrupt; "
                                          "`mgdl doctor` says why each corrupt one fails")


def test_list_runs_reads_through_the_verified_readers_and_sorts(runs):
    out, h = runs
    rows = list_runs(out)
    assert [r.state for r in rows[:3]] == ["finished"] * 3  # by method and rate; then by hash
    assert [r.hash for r in rows[3:]] == sorted([h["partial"], h["bad"]])
    assert [r.method for r in rows[:3]] == ["mgdl", "sgdl", "sgdl"] and rows[1].lr < rows[2].lr  # 0.05, then 50
    by = {r.hash: r for r in rows}
    assert by[h["done"]].epochs == 20 and by[h["done"]].train_loss > 0 and by[h["done"]].seconds >= 0
    assert by[h["diverged"]].outcome == "diverged" and math.isnan(by[h["diverged"]].train_loss)
    part = by[h["partial"]]
    assert part.folder.name == h["partial"] + ".partial" and part.epochs == 100 and part.method is None
    bad = by[h["bad"]]
    assert bad.file == "params.pt" and "checksum mismatch" in bad.problem and "--force" in bad.problem
    assert len(runs_table(rows)) == 6
    assert (out / "synthetic" / h["bad"] / "params.pt").exists()  # it only reads: nothing removed


@pytest.mark.parametrize("argv,expected", [
    (["--state", "finished"], {"done", "mgdl", "diverged"}),
    (["--state", "partial"], {"partial"}),
    (["--state", "corrupt"], {"bad"}),
    (["--method", "mgdl"], {"mgdl"}),
    (["--method", "sgdl", "--state", "finished"], {"done", "diverged"}),
    (["--kind", "synthetic", "--state", "partial"], {"partial"}),
])
def test_filters(runs, capsys, argv, expected):
    out, h = runs
    rc, text, _ = _run(capsys, "runs", "--out", out, *argv)
    assert rc == 0 and set(_rows(text)) == {h[name][:8] for name in expected}


@pytest.mark.parametrize("kind", ["image", "image_regression", "restore"])
def test_a_kind_with_no_runs_says_so(runs, capsys, kind):
    out, _ = runs
    rc, text, _ = _run(capsys, "runs", "--out", out, "--kind", kind)
    assert rc == 0 and text == f"no records under {out} match --kind {kind}\n"


def test_json(runs, capsys):
    out, h = runs
    rc, text, _ = _run(capsys, "runs", "--out", out, "--json")
    assert rc == 0
    rows = {r["hash"]: r for r in json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))}
    assert set(rows) == set(h.values())
    done = rows[h["done"]]
    assert done["state"] == "finished" and done["method"] == "sgdl" and done["lr"] == 0.05
    assert rows[h["diverged"]]["train_loss"] is None and rows[h["diverged"]]["outcome"] == "diverged"
    assert rows[h["partial"]]["state"] == "partial" and rows[h["partial"]]["epochs"] == 100
    assert rows[h["bad"]]["state"] == "corrupt" and rows[h["bad"]]["file"] == "params.pt"
    rc, text, _ = _run(capsys, "runs", "--out", out, "--json", "--state", "partial")
    assert [r["hash"] for r in json.loads(text)] == [h["partial"]]


def test_an_empty_folder_has_no_records(tmp_path, capsys):
    assert _run(capsys, "runs", "--out", tmp_path) == (0, f"no records under {tmp_path}\n", "")
    assert _run(capsys, "runs", "--out", tmp_path, "--json") == (0, "[]\n", "")


def test_the_default_folder_is_the_other_verbs(runs, capsys, monkeypatch):
    out, h = runs
    monkeypatch.setenv("MGDL_RUNS_DIR", str(out))
    rc, text, _ = _run(capsys, "runs", "--state", "partial")
    assert rc == 0 and set(_rows(text)) == {h["partial"][:8]}


@pytest.mark.parametrize("argv,needle", [
    (["--out", "{tmp}/nothing-here"], "no such folder"),
    (["--out", "{tmp}/a-file"], "not a folder"),
    (["--out", ""], "--out is empty"),
    (["--out", "{tmp}", "--kind", "synthtic"], "unknown --kind 'synthtic'"),
    (["--out", "{tmp}", "--state", "done"], "invalid choice"),
    (["--out", "{tmp}", "--method", "adam"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, needle):
    (tmp_path / "a-file").write_text("x")
    rc, text, err = _run(capsys, "runs", *[a.format(tmp=tmp_path) for a in argv])
    assert rc == 2 and text == "" and err.count("\n") == 1 and err.startswith("mgdl: error:") and needle in err


# ------------------------------------------------------------------ mgdl sweep --print-commands

def _round_trip(sweep_argv: list[str]) -> list[str]:
    """The sweep's printed lines, each checked: parsed by the real parser as `mgdl run`, it is
    the sweep's configuration at that line, with the same hash (its record's folder)."""
    args = build_parser().parse_args(sweep_argv)
    configs = cli.sweep_configs(args)
    lines = cli_parser.sweep_commands(args, configs)
    assert len(lines) == len(configs)
    for line, config in zip(lines, configs):
        argv = shlex.split(line)
        assert argv[:3] == ["mgdl", "run", args.experiment]
        parsed = build_parser().parse_args(argv[1:])
        again = cli.run_config(parsed)
        assert config_hash(again.kind, again) == config_hash(config.kind, config)
        assert again == config and parsed.out == args.out
    return lines


@pytest.mark.parametrize("options", [
    ["synthetic", "--method", "sgdl", "--lrs", "0.001:0.5:7", "--setting", "2", "--epochs", "2e4", "--seed", "3",
     "--dtype", "float64", "--relu-prime-at-zero", "0.5", "--init", "he", "--track-every", "100"],
    ["synthetic", "--lrs", "0.1,0.2", "--structure", MGDL, "--profile", "paper", "--device", "cpu"],
    ["restore", "--method", "sgdl", "--lrs", "0.001,0.01", "--lams", "1e-5:0.1:3", "--betas", "0.01,1", "--lam", "0.5",
     "--problem", "deblur", "--blur", "5", "--section", "4"],
    ["restore", "--lrs", "0.02", "--lams", "0.001", "--noise", "25", "--image", "barbara", "--section", "6"],
    ["restore", "--lrs", "0.003", "--betas", "0.1:10:4"],
    ["image", "--image", "barbara", "--section", "5", "--method", "sgdl", "--lrs", "0.001:1:12", "--optimizer", "adam",
     "--encoding", "fourier"],
])
def test_printed_commands_train_the_sweeps_configurations(options, tmp_path):
    lines = _round_trip(["sweep", *options, "--out", str(tmp_path / "my runs"), "--checkpoint-every", "30", "--quiet"])
    for argv in map(shlex.split, lines):
        assert argv[argv.index("--out") + 1] == str(tmp_path / "my runs")
        assert argv[-3:] == ["--checkpoint-every", "30.0", "--quiet"]
    assert not (tmp_path / "my runs").exists()


def test_a_restore_grid_prints_each_lam_and_beta(tmp_path):
    lines = _round_trip(["sweep", "restore", "--lrs", "0.01,0.1", "--lams", "0.001,0.01", "--betas", "1"])
    assert [shlex.split(line)[3:9] for line in lines] == [
        ["--lr", lr, "--lam", lam, "--beta", "1.0"] for lr in ("0.01", "0.1") for lam in ("0.001", "0.01")]
    assert all("--out" not in line for line in lines)  # the default runs folder, as the sweep's


def test_a_printed_line_runs_to_the_sweeps_record(tmp_path, capsys):
    out = tmp_path / "runs"
    sweep = ["sweep", "synthetic", "--method", "mgdl", "--structure", MGDL, "--lrs", "0.01:0.1:3", "--epochs", "20",
             "--dtype", "float64", "--device", "cpu", "--out", str(out)]
    rc, text, err = _run(capsys, *sweep, "--print-commands")
    assert rc == 0 and err == "" and not out.exists()
    lines = text.splitlines()
    assert len(lines) == 3 and lines[0].startswith("mgdl run synthetic --lr 0.01 --method mgdl --structure ")
    expected = [config_hash("synthetic", c) for c in cli.sweep_configs(build_parser().parse_args(sweep))]
    rc, text, _ = _run(capsys, *shlex.split(lines[1])[1:], "--json", "--quiet")  # the job array's task 2
    assert rc == 0
    record = Path(json.loads(text)["record"])
    assert record.name == expected[1] and record.parent == out / "synthetic"
    assert [p.name for p in (out / "synthetic").iterdir() if not p.name.startswith(".")] == [expected[1]]
    rc, text, _ = _run(capsys, "runs", "--out", out)
    assert rc == 0 and set(_rows(text)) == {expected[1][:8]} and "mgdl" in text and "0.03162" in text


@pytest.mark.parametrize("extra,needle", [
    (["--backend", "serial"], "--backend says how a sweep runs"),
    (["--workers", "2"], "--workers says"),
    (["--address", "ray://x:10001", "--backend", "ray"], "--backend and --address say"),
])
def test_sweep_options_that_no_run_has_are_refused(capsys, tmp_path, extra, needle):
    rc, text, err = _run(capsys, "sweep", "synthetic", "--lrs", "0.1", "--out", tmp_path / "runs", *extra,
                         "--print-commands")
    assert rc == 2 and text == "" and err.count("\n") == 1 and err.startswith("mgdl: error:") and needle in err
    assert not (tmp_path / "runs").exists()


def test_a_refused_configuration_prints_nothing(capsys):
    rc, text, err = _run(capsys, "sweep", "synthetic", "--lrs", "0.1", "--relu-prime-at-zero", "2", "--print-commands")
    assert rc == 2 and text == "" and "relu_prime_at_zero" in err and err.count("\n") == 1


def test_a_users_image_file_round_trips(tmp_path, capsys, monkeypatch):
    """A file of one's own, by a path with a space, or relative with a leading dash: the same
    bytes, the same hash (a relative path: run the lines where the sweep would have run)."""
    import numpy as np
    from PIL import Image

    image = tmp_path / "my photos" / "-cat.png"
    image.parent.mkdir()
    Image.fromarray((np.arange(256).reshape(16, 16) % 251).astype(np.uint8)).save(image)
    lines = _round_trip(["sweep", "image", "--image", str(image), "--method", "sgdl", "--lrs", "0.001,0.01"])
    assert shlex.split(lines[0])[2:6] == ["image", "--lr", "0.001", "--image"]
    monkeypatch.chdir(image.parent)
    rc, text, err = _run(capsys, "sweep", "image", "--image=-cat.png", "--lrs", "0.001", "--print-commands")
    assert rc == 0 and err == ""
    assert text == "mgdl run image --lr 0.001 --image=-cat.png --method mgdl --profile quick\n"
    _round_trip(["sweep", "image", "--image=-cat.png", "--lrs", "0.001,0.01"])


def test_a_damaged_checkpoint_is_a_corrupt_row(runs, tmp_path):
    import shutil

    out, h = runs
    shutil.copytree(out, tmp_path / "runs")
    snapshot = tmp_path / "runs" / "synthetic" / f"{h['partial']}.partial" / "snapshot.pt"
    snapshot.write_bytes(snapshot.read_bytes()[:100])
    (row,) = [r for r in list_runs(tmp_path / "runs") if r.hash == h["partial"]]
    assert row.state == "corrupt" and row.file == "snapshot.pt" and row.folder == snapshot.parent
    assert row.status == "corrupt: snapshot.pt"


def test_the_states_in_words():
    from mgdl_core.runs.listing import RunRow

    row = lambda **kw: RunRow("synthetic", "0" * 16, Path("x"), **kw).status
    assert row(state="finished", outcome="completed") == "finished"
    assert row(state="finished", outcome="early_stopped") == "finished (early_stopped)"
    assert row(state="partial", epochs=12_000) == "partial at epoch 12,000"
    assert row(state="partial", epochs=100, grade=2, grades_done=1) == "partial at epoch 100 of grade 2"
    assert row(state="partial", grades_done=1) == "partial after grade 1"
    assert row(state="partial") == "partial (no checkpoint yet)"
