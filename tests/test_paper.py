"""The paper queue (`mgdl paper`): the plan is what the pages read, its states come from the
files, a budget stops it with its runs checkpointed, and a dirty library is refused."""
import math
import shutil
import threading
import time

import pytest

from mgdl_core.pages import paper
from mgdl_core.runs.checkpoints import RunStore
from mgdl_core.cli import main
from mgdl_core.tasks.synthetic import SyntheticRun
from mgdl_core.runs.recorded import run_recorded
from mgdl_core.runs.records import config_hash, record_dir
from mgdl_core.runs.results import list_results, read_result, results_dir


def _tiny(name="synthetic/s5-tiny", epochs=400, priority=1, **kw):
    config = SyntheticRun(setting=1, method="sgdl", lr=0.05, epochs=epochs, record_every=10, **kw)
    return paper.PaperItem(name, "Fig. 1", priority, config, "learning_rate")


def test_the_plan_is_every_page_item_once_and_the_committed_results_are_its_items():
    items = paper.paper_items()
    names = [i.name for i in items]
    assert len(names) == len(set(names)) == 238
    by_name = {i.name: i for i in items}
    assert sum(i.figure == "Fig. 1" for i in items) == 120  # 30 rates × 2 settings × 2 methods
    draws = [i for i in items if i.figure == "Fig. 1 (draws)"]  # 7 disagreeing rates × 3 seeds
    assert len(draws) == 21 and {i.config.seed for i in draws} == set(paper.DRAW_SEEDS)
    assert all(i.config.replace(seed=42) == by_name[i.name.rsplit("-seed", 1)[0]].config for i in draws)
    assert [i.config.image for i in items if i.figure == "Fig. 15"] == ["cameraman"] * 2 + ["pirate"] * 2
    # the middle tier: Table 1 on 5 images, Tables 2–3 on 3 images × (6 noises + 3 blurs), 2 methods
    tier = [i for i in items if i.figure.startswith("Table")]
    assert sum(i.figure == "Table 1" for i in tier) == 10 and len(tier) == 64
    assert all(i.name.split("/")[1].startswith(("t1-256-", "t2-64-", "t3-64-")) for i in tier)
    assert all(i.config.epochs == (10_000 if i.figure == "Table 1" else 20_000) for i in tier)  # the paper's protocol
    by_name = {i.name: i for i in items}
    committed = list_results()
    assert committed
    for folder in committed:  # each was exported from the configuration its page builds
        name = f"{folder.parent.name}/{folder.name}"
        config = read_result(folder).run.config
        if name.endswith("-aten-default"):  # the authors' draw on a second numeric path, without spectra
            name = name.removesuffix("-aten-default")
            config = config.replace(track_every=by_name[name].config.track_every)
        assert name in by_name, f"{name} is in results/ but not in the paper plan"
        planned = by_name[name].config
        # a §5 rate is 10**x from NumPy, whose SIMD power may round the last bit differently on
        # another CPU (0.03820804618934088 here, 0.038208046189340886 there): the same grid rate
        assert math.isclose(config.lr, planned.lr, rel_tol=1e-14), name
        assert config.replace(lr=planned.lr) == planned, name
    assert [i.priority for i in items] == sorted(i.priority for i in items)


def test_costs_are_measured_per_structure_and_positive(tmp_path, monkeypatch):
    calls = []

    def probe(config, epochs):
        calls.append(config.method)
        return 1e-4

    monkeypatch.setattr(paper, "_probe_seconds_per_epoch", probe)
    items = paper.select(paper.paper_items(), "Fig. 1")
    seconds = paper.estimate_seconds(items, tmp_path)
    assert len(calls) == 4  # one probe per (setting, method): a rate does not change the speed
    assert all(v > 0 for v in seconds.values())
    sgdl = next(i for i in items if i.config.method == "sgdl")
    mgdl = next(i for i in items if i.config.method == "mgdl")
    assert seconds[sgdl.name] == pytest.approx(1e-4 * 10**6)
    assert seconds[mgdl.name] == pytest.approx(1e-4 * 4 * 10**6)  # four grades of 10^6 epochs
    # cached: a second estimate probes nothing; without a probe an unmeasured structure is NaN
    paper.estimate_seconds(items, tmp_path)
    assert len(calls) == 4
    other = paper.select(paper.paper_items(), "Fig. 21")
    assert all(math.isnan(v) for v in paper.estimate_seconds(other, tmp_path, probe=False).values())


def test_states_are_read_from_the_runs_and_results_folders(tmp_path):
    runs, results = tmp_path / "runs", tmp_path / "results"
    item = _tiny()
    assert paper.item_state(item, runs, results) == "not started"
    store = RunStore(record_dir(runs, item.kind, item.config).with_name(
        config_hash(item.kind, item.config) + ".partial"))
    store.save_snapshot({"epoch": 123})
    assert paper.item_state(item, runs, results) == "partial at epoch 123"
    store.discard()
    run_recorded(item.config, runs)
    assert paper.item_state(item, runs, results) == "finished"
    exported = paper.export_finished([item], runs, results, replay=100)
    assert exported == [results / "synthetic" / "s5-tiny"]
    assert paper.item_state(item, runs, results) == "committed"
    assert paper.export_finished([item], runs, results) == []  # nothing left to export


def test_the_budget_stops_the_queue_with_its_run_checkpointed(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    long = _tiny("synthetic/s5-long", epochs=10**6)
    lock = runs / long.kind / f".{config_hash(long.kind, long.config)}.lock"

    class BudgetAfterFirstCheckpoint(threading.Thread):
        """The budget's timer, fired 2 s after the run has started (whatever the load on the
        machine: a fixed number of seconds may end before a loaded CPU starts the run)."""

        def __init__(self, seconds, function):
            super().__init__(daemon=True)
            self.function, self.cancelled = function, threading.Event()

        def run(self):
            while not self.cancelled.is_set() and not lock.exists():  # the run has started
                time.sleep(0.1)
            if not self.cancelled.is_set():
                time.sleep(2.0)  # some epochs, before the first timed checkpoint (10 s)
                self.function()

        def cancel(self):
            self.cancelled.set()

    monkeypatch.setattr(paper.threading, "Timer", BudgetAfterFirstCheckpoint)
    done, stopped = paper.run_queue([long], budget_s=4.0, runs=runs, progress=False)
    assert (done, stopped) == (0, True)
    state = paper.item_state(long, runs, tmp_path / "results")
    assert state.startswith("partial at epoch ") and int(state.split()[-1].replace(",", "")) > 0


def test_the_queue_orders_by_priority_then_cost_and_skips_what_is_done(tmp_path, monkeypatch):
    a, b, c = _tiny("synthetic/a", 4000, 2), _tiny("synthetic/b", 400, 2, seed=1), _tiny("synthetic/c", 8000, 1, seed=2)
    monkeypatch.setattr(paper, "_probe_seconds_per_epoch", lambda config, epochs: 1e-4)
    run_recorded(b.config, tmp_path / "runs")
    assert [i.name for i in paper.queue([a, b, c], tmp_path / "runs", tmp_path / "results")] == ["synthetic/c",
                                                                                                 "synthetic/a"]


def test_the_command_refuses_a_dirty_library_and_bad_input(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(paper, "library_is_dirty", lambda root=None: True)
    assert main(["paper", "run", "--only", "Fig. 25", "--out", str(tmp_path)]) == 2
    assert "uncommitted changes" in capsys.readouterr().err
    monkeypatch.setattr(paper, "_probe_seconds_per_epoch", lambda config, epochs: 1e-4)
    monkeypatch.setenv("MGDL_RESULTS_DIR", str(shutil.copytree(results_dir(), tmp_path / "results")))
    # --allow-dirty: Fig. 25's one run is committed, so there is nothing to train
    assert main(["paper", "run", "--only", "Fig. 25", "--out", str(tmp_path), "--allow-dirty"]) == 0
    assert "0 runs to train" in capsys.readouterr().out
    for bad in (["paper", "plan", "--only", "Fig. 99"], ["paper", "run", "--budget", "0"],
                ["paper", "run", "--budget", "2x"], ["paper", "run", "--workers", "0"]):
        assert main(bad) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("mgdl") and len(err.splitlines()) <= 2 and "Traceback" not in err


def test_the_plan_table_has_totals(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(paper, "_probe_seconds_per_epoch", lambda config, epochs: 1e-4)
    monkeypatch.setenv("MGDL_RESULTS_DIR", str(shutil.copytree(results_dir(), tmp_path / "results")))
    assert main(["paper", "plan", "--only", "Fig. 25", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "synthetic/s7-setting1-msdl" in out and "committed" in out
    assert out.strip().splitlines()[-1].split()[:4] == ["all", "1", "1", "0"]


def test_a_pages_status_reads_only_committed_data():
    """What a page prints: per figure, runs computed and left with the committed speeds, the same
    on every machine (no runs folder, no probe)."""
    text = paper.page_status("msdl")
    assert text.splitlines()[1].split() == ["Fig.", "25", "1", "1", "0", "0.0", "0"]
    fig1 = paper.page_status("learning_rate").splitlines()[1].split()
    assert fig1[:3] == ["Fig.", "1", "120"] and int(fig1[3]) >= 14
    draws = paper.page_status("learning_rate").splitlines()[2].split()
    assert draws[:4] == ["Fig.", "1", "draws", "21"]
    for page, figure, runs in (("images", "Table", "1"), ("restoration", "Table", "2")):
        first = paper.page_status(page).splitlines()[1].split()
        assert first[:2] == [figure, runs]
        assert all(not math.isnan(float(v)) for v in first[-2:]), f"{page}: a cost not measured in results/"
    with pytest.raises(Exception, match="no paper item"):
        paper.page_status("nowhere")
