"""Issue 28, the input side: a record is the data it was trained on and reads without the user's
file; everything a run needs is checked before its folder, its lock and its first epoch (one
line, exit 2); environment variables are parsed strictly; options a task does not use are
refused, not ignored. Each test failed on the code before the fix."""
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mgdl_core.cli import main
from mgdl_core.errors import ConfigError
from mgdl_core.runs.recorded import check_runs_dir, load_record, run_recorded
from mgdl_core.runs.records import record_dir
from mgdl_core.tasks.image_regression import ImageRegressionRun

TINY = dict(section=4, method="sgdl", epochs=20, record_every=10, structure="[2]->[8]->[1]", dtype="float64",
            early_stopping=False, optimizer="gd", lr=0.01)


def _image(path: Path, shape=(16, 16), seed=0) -> Path:
    pixels = (np.random.default_rng(seed).random(shape) * 255).astype("uint8")
    Image.fromarray(pixels).save(path)
    return path


def _refused(capsys, argv, needle="", out: Path | None = None):
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.count("\n") == 1 and err.startswith("mgdl: error: ") and "Traceback" not in err, err
    assert needle in err, err
    if out is not None:
        assert not out.exists(), "refused after creating the runs folder"
    return err


def test_a_file_edited_after_the_configuration_is_never_trained_on(tmp_path):
    """Finding 1: the run hashes the bytes it loads; an edited file is refused, not filed under
    the old hash."""
    path = _image(tmp_path / "mine.png")
    config = ImageRegressionRun(image=str(path), **TINY)
    _image(path, seed=1)  # edited, e.g. during a sweep
    with pytest.raises(ConfigError, match="changed since this configuration was made"):
        run_recorded(config, tmp_path / "runs")
    assert not record_dir(tmp_path / "runs", config.kind, config).exists()


@pytest.mark.parametrize("change", ["move", "delete", "append"])
def test_a_record_reads_without_the_users_file(tmp_path, capsys, change):
    """Finding 2: moving, deleting or appending to the user's image leaves its record readable,
    shown and verified by doctor, never called corrupt."""
    path = _image(tmp_path / "mine.png")
    config = ImageRegressionRun(image=str(path), **TINY)
    run_recorded(config, tmp_path / "runs")
    folder = record_dir(tmp_path / "runs", config.kind, config)
    if change == "move":
        path.rename(tmp_path / "elsewhere.png")
    elif change == "delete":
        path.unlink()
    else:
        with open(path, "ab") as f:
            f.write(b"\0")
    summary = load_record(folder)
    assert summary.config.image_sha256 == config.image_sha256 and summary.epochs_run == 20
    assert main(["show", str(folder)]) == 0
    assert "corrupt" not in capsys.readouterr().err
    assert main(["doctor", "--out", str(tmp_path / "runs")]) == 0
    assert "corrupt" not in capsys.readouterr().out.lower()
    check_runs_dir(tmp_path / "runs")


@pytest.mark.parametrize("shape,extra,needle", [
    ((1, 1), [], "1×1 pixels"),
    ((1, 5000), [], "1×5000 pixels, downscaled by"),
    ((4, 300), [], "4×300 pixels, downscaled by"),
    ((1, 1), ["--profile", "paper"], "at least 4×4"),
])
def test_a_user_image_too_small_is_refused_before_any_work(capsys, tmp_path, shape, extra, needle):
    path = _image(tmp_path / "small.png", shape)
    out = tmp_path / "runs"
    for task in ("image", "restore"):
        _refused(capsys, ["run", task, "--image", str(path), "--epochs", "1", "--quiet", "--out", str(out), *extra],
                 needle, out)


@pytest.mark.parametrize("argv,needle", [
    (["run", "restore", "--problem", "deblur", "--blur", "1e-200"], "underflows"),
    (["run", "image", "--image", "~nosuchuser12345/x.png"], "no such user"),
    (["run", "image", "--image", ""], "empty"),
    (["run", "restore", "--encoding", "fourier"], "--encoding is an option of image"),
    (["run", "restore", "--setting", "2"], "--setting is an option of synthetic"),
    (["run", "synthetic", "--lr", "0.1", "--image", "barbara"], "--image is an option of image and restore"),
    (["run", "synthetic", "--lr", "0.1", "--noise", "10"], "--noise is an option of restore"),
    (["run", "image", "--problem", "deblur"], "--problem is an option of restore"),
    (["sweep", "restore", "--lrs", "1e-3:1e-2:100", "--lams", "1e-3:1e-1:100", "--betas", "1,2"], "20_000 runs"),
])
def test_bad_input_is_one_line_before_any_work(capsys, tmp_path, argv, needle):
    out = tmp_path / "runs"
    start = time.perf_counter()
    _refused(capsys, [*argv, "--out", str(out)], needle, out)
    assert time.perf_counter() - start < 30  # the 10⁶-run grid used to take minutes before its first run


@pytest.mark.parametrize("name,value,needle", [
    ("MGDL_MEMORY_LIMIT_GB", "nan", "MGDL_MEMORY_LIMIT_GB"),
    ("MGDL_MEMORY_LIMIT_GB", "-1", "MGDL_MEMORY_LIMIT_GB"),
    ("MGDL_MEMORY_LIMIT_GB", "inf", "MGDL_MEMORY_LIMIT_GB"),
    ("MGDL_MEMORY_LIMIT_GB", "lots", "MGDL_MEMORY_LIMIT_GB"),
    ("MGDL_FUSED", "maybe", "MGDL_FUSED"),
])
def test_environment_variables_are_parsed_strictly(capsys, tmp_path, monkeypatch, name, value, needle):
    monkeypatch.setenv(name, value)
    out = tmp_path / "runs"
    _refused(capsys, ["run", "synthetic", "--lr", "0.1", "--epochs", "1", "--quiet", "--out", str(out)], needle, out)


@pytest.mark.parametrize("value,on", [("OFF", False), ("Off", False), ("0", False), ("no", False),
                                      ("ON", True), ("1", True), ("", True)])
def test_mgdl_fused_reads_any_case(monkeypatch, value, on):
    from mgdl_core.core.fused import available

    monkeypatch.setenv("MGDL_FUSED", value)
    assert available() is (on and available.__globals__["torch"].backends.mkldnn.is_available())


def test_a_missing_image_is_one_line_that_says_where_it_looked(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("MGDL_DATA_DIR", raising=False)
    monkeypatch.setenv("MGDL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MGDL_DATA_URL", "http://127.0.0.1:9/nothing")  # refused at once, no network
    out = tmp_path / "runs"
    assert main(["run", "image", "--epochs", "1", "--quiet", "--out", str(out)]) == 2
    lines = capsys.readouterr().err.splitlines()  # pooch's "Downloading data from …" note, then the error
    error = [line for line in lines if line.startswith("mgdl: error: ")]
    assert len(error) == 1 and lines[-1] == error[0] and "Traceback" not in "\n".join(lines)
    assert "MGDL_DATA_DIR: not set" in error[0] and "cache:" in error[0] and "Fix:" in error[0]
    assert not out.exists()


def test_a_read_only_out_serves_its_records(capsys, tmp_path, monkeypatch):
    """Finding 6: a finished record is served without probing --out for writing (a read-only
    folder, e.g. a colleague's runs mounted read-only); the probe still guards a new run."""
    from mgdl_core.runs import files

    out = tmp_path / "runs"
    argv = ["run", "synthetic", "--lr", "0.05", "--method", "sgdl", "--epochs", "50", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    first = capsys.readouterr().out

    def read_only(path):
        raise ConfigError(f"--out {path} is not writable (read-only file system)")

    monkeypatch.setattr(files, "ensure_writable", read_only)
    assert main(argv) == 0
    assert capsys.readouterr().out == first
    _refused(capsys, [*argv[:3], "0.06", *argv[4:]], "not writable")


def test_an_exported_user_image_result_carries_no_local_path_and_verifies_anywhere(tmp_path):
    """Finding 2: the result names the image by its hash and file name; it verifies after the
    file is gone (another checkout); the hash is the same wherever the file lay."""
    from mgdl_core.runs.results import export_result, read_result

    (tmp_path / "deep" / "folder").mkdir(parents=True)
    path = _image(tmp_path / "deep" / "folder" / "mine.png")
    config = ImageRegressionRun(image=str(path), **TINY)
    run_recorded(config, tmp_path / "runs")
    folder = export_result(record_dir(tmp_path / "runs", config.kind, config), "mine", tmp_path / "results")
    text = (folder / "config.json").read_text()
    assert str(tmp_path) not in text and '"mine.png"' in text
    path.unlink()
    result = read_result(folder)
    assert result.run.config.image == "mine.png" and result.run.config.image_sha256 == config.image_sha256
    moved = tmp_path / "mine.png"
    _image(moved)  # the same bytes elsewhere: the same computation, the same record
    assert record_dir(tmp_path / "runs", config.kind, ImageRegressionRun(image=str(moved), **TINY)) == \
        record_dir(tmp_path / "runs", config.kind, config)


def test_a_record_this_code_cannot_rebuild_is_unreadable_not_corrupt(tmp_path, capsys):
    """Finding 2: a verified record whose configuration this code refuses is reported as such,
    never as corrupt, and no message advises deleting it."""
    import json

    from mgdl_core.errors import UnreadableRecord
    from mgdl_core.runs.files import json_bytes, seal_digest, sha256_hex
    from mgdl_core.runs.records import config_digest
    from mgdl_core.tasks.synthetic import SyntheticRun

    out = tmp_path / "runs"
    config = SyntheticRun(method="sgdl", lr=0.05, epochs=30, dtype="float64")
    run_recorded(config, out)
    folder = record_dir(out, config.kind, config)
    doc = json.loads((folder / "config.json").read_text())
    doc["config"]["a_field_from_the_future"] = 1  # a later version's record, sealed consistently
    new = folder.with_name(config_digest("synthetic", doc["config"])[:16])
    folder.rename(new)
    (new / "config.json").write_bytes(json_bytes(doc))
    meta = json.loads((new / "summary.json").read_text())
    meta.pop("sha256")
    meta["files"]["config.json"] = sha256_hex((new / "config.json").read_bytes())
    meta["config_sha256"] = config_digest("synthetic", doc["config"])
    meta["sha256"] = seal_digest(meta)
    (new / "summary.json").write_text(json.dumps(meta))
    with pytest.raises(UnreadableRecord, match="its files verify") as info:
        load_record(new)
    assert "delete" not in str(info.value) and "corrupt" not in str(info.value)
    check = check_runs_dir(out)
    assert list(check) == [] and [f for f, _ in check.unreadable] == [new]
    assert main(["doctor", "--out", str(out)]) == 0
    assert "cannot read (intact)" in capsys.readouterr().out


def test_a_user_image_record_hashed_by_the_old_rule_still_verifies(tmp_path):
    """Records written before a user's image was hashed by content (the path in the hash) read
    as before: the folder's name is checked against that rule's digest."""
    import json

    from mgdl_core.runs.files import seal_digest
    from mgdl_core.runs.records import config_digest

    path = _image(tmp_path / "mine.png")
    config = ImageRegressionRun(image=str(path), **TINY)
    run_recorded(config, tmp_path / "runs")
    folder = record_dir(tmp_path / "runs", config.kind, config)
    cfg = json.loads((folder / "config.json").read_text())["config"]
    legacy = config_digest(config.kind, cfg, legacy=True)
    assert legacy != config_digest(config.kind, cfg)
    meta = json.loads((folder / "summary.json").read_text())
    meta.pop("sha256")
    meta["config_sha256"] = legacy
    meta["sha256"] = seal_digest(meta)
    (folder / "summary.json").write_text(json.dumps(meta))
    old = folder.rename(folder.with_name(legacy[:16]))
    assert load_record(old).config.image_sha256 == config.image_sha256


# --- found by our own search beyond the list (129 cases: 99 clean before, 110 after the
# first fixes; these are the rest, each failing before)

@pytest.mark.parametrize("argv,needle", [
    (["run", "synthetic", "--lr", "0.1", "--structure", "[1]->[2]x1000000000->[1]"], "more than 1,000,000 layers"),
    (["run", "synthetic", "--lr", "0.1", "--structure", "[1]->[2]x99999999999999->[1]"], "is not '[n]'"),
    (["run", "synthetic", "--lr", "0.1", "--structure", "[1]->[\u0663]->[1]"], "is not '[n]'"),
    (["run", "synthetic", "--lr", "0.1", "--device", "cpu:99"], "the CPU is one device"),
    (["run", "image", "--image", "/tmp/" + "\u00fc" * 300 + ".png"], "not a usable path"),
    (["sweep", "synthetic", "--lrs", "0.1,,0.2"], "an empty item"),
    # a user's own image, so that the refusal does not depend on the paper's images being here
    (["sweep", "restore", "--image", "{image}", "--lrs", "0.001,0.01", "--backend", "batched"],
     "a batched sweep needs"),
])
def test_more_bad_input_is_one_line_before_any_work(capsys, tmp_path, argv, needle):
    out = tmp_path / "runs"
    argv = [str(_image(tmp_path / "own.png")) if a == "{image}" else a for a in argv]
    _refused(capsys, [*argv, "--epochs", "1", "--quiet", "--out", str(out)], needle, out)


def test_an_empty_or_unusable_out_is_refused(capsys, tmp_path):
    base = ["run", "synthetic", "--lr", "0.1", "--epochs", "1", "--quiet"]
    _refused(capsys, [*base, "--out", ""], "--out is empty")
    _refused(capsys, [*base, "--out", str(tmp_path / ("b" * 300))], "not a usable path")
    _refused(capsys, [*base, "--out", str(tmp_path / "/".join(["d" * 200] * 25))], "not a usable path")
    _refused(capsys, ["paper", "plan", "--only", ""], "--only is empty")


def test_a_memory_refusal_comes_before_the_folder_and_the_lock(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MGDL_MEMORY_LIMIT_GB", "1e-300")
    out = tmp_path / "runs"
    err = _refused(capsys, ["run", "synthetic", "--lr", "0.1", "--epochs", "1", "--quiet", "--out", str(out)],
                   "MGDL_MEMORY_LIMIT_GB", out)
    assert "0.0 GiB" not in err  # a small size keeps its digits


def test_a_bad_data_url_is_a_failed_download_not_a_wrong_file(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("MGDL_DATA_DIR", raising=False)
    monkeypatch.setenv("MGDL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MGDL_DATA_URL", "not a url")
    err = _refused(capsys, ["run", "image", "--epochs", "1", "--quiet", "--out", str(tmp_path / "runs")], "failed")
    assert "not the paper's file" not in err


def test_a_large_image_gets_a_quick_profile(tmp_path):
    path = _image(tmp_path / "wide.png", (600, 9000))
    config = ImageRegressionRun.profile("quick", image=str(path), section=4)
    assert config.downscale == 141


def test_the_doctor_and_export_survive_a_temporary_with_an_impossible_pid(capsys, tmp_path):
    out = tmp_path / "runs"
    assert main(["run", "synthetic", "--lr", "0.05", "--method", "sgdl", "--epochs", "20", "--quiet",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    (out / "synthetic" / f".0123456789abcdef.tmp-{'9' * 23}-1").mkdir()
    assert main(["doctor", "--out", str(out)]) == 0
    assert "every one verifies" in capsys.readouterr().out


def test_a_kind_folder_linking_out_of_out_is_refused(capsys, tmp_path):
    out, victim = tmp_path / "runs", tmp_path / "victim"
    out.mkdir()
    victim.mkdir()
    (out / "synthetic").symlink_to(victim)
    _refused(capsys, ["run", "synthetic", "--lr", "0.05", "--epochs", "1", "--quiet", "--out", str(out)],
             "symbolic link")
    assert not any(victim.iterdir())


def test_one_computation_one_hash_whatever_the_device_is_called(tmp_path, monkeypatch):
    """Finding 6: device=None and the device None means here are one computation, one record;
    a record sealed on a machine where that device was the default verifies anywhere, and so do
    records sealed under the old rule (the device as written)."""
    import json
    import torch

    from mgdl_core.runs import records
    from mgdl_core.runs.files import seal_digest
    from mgdl_core.runs.records import config_digest, config_hash
    from mgdl_core.tasks.synthetic import SyntheticRun

    here = "cuda" if torch.cuda.is_available() else "cpu"
    named, auto = (SyntheticRun(method="sgdl", lr=0.05, epochs=20, device=d) for d in (here, None))
    assert config_hash(named.kind, named) == config_hash(auto.kind, auto)
    out = tmp_path / "runs"
    first = run_recorded(named, out)
    assert run_recorded(auto, out).seconds == first.seconds  # served, not trained again
    folder = record_dir(out, named.kind, named)

    elsewhere = torch.device("cuda" if here == "cpu" else "cpu")  # a machine whose default is the other one
    monkeypatch.setattr(records, "get_device", lambda device=None: elsewhere if device is None else torch.device(device))
    assert config_hash(named.kind, named) != config_hash(auto.kind, auto)  # there they are two computations
    assert load_record(folder).config.device == here  # and this record still verifies there
    monkeypatch.undo()

    cfg = json.loads((folder / "config.json").read_text())["config"]  # sealed under the old rule
    legacy = config_digest(named.kind, cfg, legacy=True)
    meta = json.loads((folder / "summary.json").read_text())
    meta.pop("sha256")
    meta["config_sha256"] = legacy
    meta["sha256"] = seal_digest(meta)
    (folder / "summary.json").write_text(json.dumps(meta))
    assert load_record(folder.rename(folder.with_name(legacy[:16]))).config.device == here


def test_the_fused_and_the_reference_step_never_share_a_record(tmp_path, monkeypatch):
    """Finding 6: with MGDL_FUSED=0 a run that could take the fused oneDNN step (float32, CPU,
    ReLU'(0) = 0) is another computation (another rounding), so another record; a run that never
    could (the synthetic task's ReLU'(0) = 1/2) keeps its one record; a record sealed either way
    verifies on a machine that takes the other path."""
    from mgdl_core.core.fused import available
    from mgdl_core.runs.records import config_hash
    from mgdl_core.tasks.synthetic import SyntheticRun

    own = str(_image(tmp_path / "own.png", (64, 64)))  # a user's file: no dependence on the paper's images
    image = ImageRegressionRun(image=own, section=4, method="sgdl", epochs=2, downscale=8, dtype="float32",
                               record_every=1, relu_prime_at_zero=0.0, device="cpu")
    synthetic = SyntheticRun(method="sgdl", lr=0.05, epochs=20)
    monkeypatch.setenv("MGDL_FUSED", "1")
    fused_on = {c.kind: config_hash(c.kind, c) for c in (image, synthetic)}
    monkeypatch.setenv("MGDL_FUSED", "0")
    fused_off = {c.kind: config_hash(c.kind, c) for c in (image, synthetic)}
    assert fused_off["synthetic"] == fused_on["synthetic"]
    assert (fused_off["image_regression"] != fused_on["image_regression"]) == (
        available.__globals__["torch"].backends.mkldnn.is_available())
    out = tmp_path / "runs"
    run_recorded(image, out)  # sealed on the reference path
    folder = record_dir(out, image.kind, image)
    monkeypatch.setenv("MGDL_FUSED", "1")
    assert load_record(folder).epochs_run == 2  # verifies where the fused path is on
