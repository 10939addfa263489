"""Committed paper-scale results: export, verification, and a replay against the current code."""
import json
import shutil

import numpy as np
import pytest

from mgdl_core.cli import main
from mgdl_core.errors import CorruptRecord
from mgdl_core.experiments import SyntheticRun, run_recorded
from mgdl_core.records import _digest, _npz_bytes, _sha256
from mgdl_core.results import export_result, list_results, read_result, replay_result


def _record(tmp_path, method="sgdl"):
    kw = dict(setting=1, method=method, lr=0.05, epochs=600, record_every=10)
    if method == "mgdl":
        kw["grade_epochs"] = (300, 300, 300, 300)
    config = SyntheticRun(**kw)
    run_recorded(config, tmp_path / "runs")
    return next((tmp_path / "runs" / "synthetic").glob("[0-9a-f]*")), config


def _reseal(folder, **history_changes):
    """A consistent forgery: change history arrays, then recompute every digest and the seal."""
    z = dict(np.load(folder / "history.npz"))
    z.update(history_changes)
    (folder / "history.npz").write_bytes(_npz_bytes(z))
    meta = json.loads((folder / "result.json").read_text())
    meta.pop("sha256")
    meta["files"]["history.npz"] = _sha256((folder / "history.npz").read_bytes())
    meta["sha256"] = _digest(meta)
    (folder / "result.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("method", ["sgdl", "mgdl"])
def test_export_reads_back_thinned_and_replays(tmp_path, method):
    record, config = _record(tmp_path, method)
    folder = export_result(record, "tiny", tmp_path / "results", max_rows=30, whole_epochs=100, max_points=500)
    result = read_result(folder)
    run, full = result.run, np.load(record / "history.npz")
    assert run.config == config and result.meta["hash"] == record.name
    epochs = run.history["epoch"]
    assert epochs.size <= 30 + 4 and epochs.size < full["epoch"].size
    assert set(full["epoch"][full["epoch"] <= 100]) <= set(epochs)  # the replayed head kept whole
    assert run.history["train_loss"][-1] == full["train_loss"][-1] == pytest.approx(run.train_loss)
    assert run.test_pred.size <= 500 and not (folder / "params.pt").exists()
    assert replay_result(result, epochs=100).ok
    assert list_results(tmp_path / "results") == [folder]


def test_a_tampered_result_fails_verification_or_replay(tmp_path):
    record, _ = _record(tmp_path)
    good = export_result(record, "good", tmp_path / "results")
    # a changed byte in a file: its digest fails
    bad = shutil.copytree(good, tmp_path / "bytes")
    data = bytearray((bad / "history.npz").read_bytes())
    data[-10] ^= 1
    (bad / "history.npz").write_bytes(bytes(data))
    with pytest.raises(CorruptRecord, match="history.npz"):
        read_result(bad)
    # an edited number in the provenance: the seal fails
    bad = shutil.copytree(good, tmp_path / "meta")
    meta = json.loads((bad / "result.json").read_text())
    meta["train_loss"] /= 2
    (bad / "result.json").write_text(json.dumps(meta))
    with pytest.raises(CorruptRecord, match="result.json"):
        read_result(bad)
    # a configuration that no longer hashes to the exported run (re-sealed consistently)
    bad = shutil.copytree(good, tmp_path / "config")
    doc = json.loads((bad / "config.json").read_text())
    doc["config"]["lr"] = 0.06
    (bad / "config.json").write_text(json.dumps(doc))
    meta = json.loads((bad / "result.json").read_text())
    meta.pop("sha256")
    meta["files"]["config.json"] = _sha256((bad / "config.json").read_bytes())
    meta["sha256"] = _digest(meta)
    (bad / "result.json").write_text(json.dumps(meta))
    with pytest.raises(CorruptRecord, match="re-run it"):
        read_result(bad)
    # a consistent forgery of the losses: it verifies, but the current code does not reproduce it
    bad = shutil.copytree(good, tmp_path / "forged")
    _reseal(bad, train_loss=np.load(good / "history.npz")["train_loss"] * 1.5)
    forged = read_result(bad)
    assert not replay_result(forged, epochs=200).ok and replay_result(read_result(good), epochs=200).ok


def test_mgdl_export_command(tmp_path, capsys):
    record, _ = _record(tmp_path)
    code = main(["export", str(record), "--name", "cli", "--results", str(tmp_path / "results"), "--replay", "100"])
    out = capsys.readouterr().out
    assert code == 0 and "replay of 100 epochs" in out and ": ok" in out
    assert main(["export", str(record), "--name", "../x", "--results", str(tmp_path / "results")]) == 2


@pytest.mark.parametrize("folder", list_results(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_results_verify_and_replay_with_this_code(folder):
    """Every result in results/: its files, its configuration's hash under the current code, and
    its first 1,000 epochs re-trained now against its recorded loss history."""
    result = read_result(folder)
    replay = replay_result(result, epochs=1_000)
    assert replay.ok, f"{folder}: the current code does not reproduce it ({replay}); re-run or remove it"
