"""§5 at the paper's scale: the paper's claims as data, and runs held against them."""
import math

import numpy as np
import pytest

from mgdl_core.tasks.fit import RunSummary
from mgdl_core.tasks.synthetic import SyntheticRun
from mgdl_core.runs.recorded import run_recorded
from mgdl_core.runs.results import export_result
from mgdl_core.pages.sweep_report import (PAPER_SWEEP, agreement, disagreements_text, expected, load_sweep_results,
                                    result_name, sweep_provenance, sweep_runs, sweep_scale_counts,
                                    sweep_scale_report)


def _run(setting, method, lr, loss, outcome="completed"):
    config = SyntheticRun(setting=setting, method=method, lr=lr, epochs=10)
    h = {"epoch": np.array([0, 10]), "train_loss": np.array([1.0, loss])}
    return RunSummary(config, outcome, 5 if outcome == "diverged" else None, loss, loss, loss, 10, 0.1, h)


@pytest.mark.parametrize("key, lr, want", [
    ((1, "sgdl"), 0.0308, "edge"),  # the paper's "0.03": within 10 %, no verdict
    ((1, "sgdl"), 0.05, "below"), ((1, "sgdl"), 0.0727, "below"), ((1, "sgdl"), 0.09, "converges"),
    ((1, "sgdl"), 0.2629, "converges"), ((1, "sgdl"), 0.3257, "edge"), ((1, "sgdl"), 0.4036, "fails"),
    ((1, "mgdl"), 0.0106, "edge"), ((1, "mgdl"), 0.2629, "below"), ((1, "mgdl"), 0.4036, "not below"),
    ((2, "sgdl"), 0.0045, "converges"), ((2, "sgdl"), 0.0056, "edge"), ((2, "sgdl"), 0.0069, "fails"),
    ((2, "mgdl"), 0.0308, "not below"), ((2, "mgdl"), 0.09, "below"), ((2, "mgdl"), 0.2, "below"),
])
def test_the_papers_expectation_at_a_rate(key, lr, want):
    assert PAPER_SWEEP[key].expects(lr) == want
    assert expected(_run(*key, lr, 0.5)) == want


def test_agreement_is_exact_on_committed_data_and_knows_divergence():
    assert agreement(_run(1, "sgdl", 0.05, 1e-4)) == ("below", "agrees")
    assert agreement(_run(1, "sgdl", 0.05, 0.12)) == ("not below", "disagrees")
    assert agreement(_run(1, "sgdl", 0.05, 8e-4)) == ("below", "agrees")  # committed: no room
    assert agreement(_run(1, "sgdl", 0.05, 1e-3)) == ("not below", "disagrees")  # "below" is strict
    assert agreement(_run(1, "sgdl", 0.4, math.nan, "diverged")) == ("diverged", "agrees")
    assert agreement(_run(1, "mgdl", 0.05, math.nan, "diverged")) == ("diverged", "disagrees")
    assert agreement(_run(2, "sgdl", 0.0069, math.nan, "diverged")) == ("diverged", "agrees")
    assert agreement(_run(2, "sgdl", 0.0056, math.nan, "diverged")) == ("diverged", "edge")
    assert agreement(_run(1, "sgdl", 0.0308, 0.5)) == ("not below", "edge")
    assert agreement(_run(2, "mgdl", 0.2, 3e-3)) == ("below", "agrees")
    assert agreement(_run(1, "mgdl", 0.45, 1e-2)) == ("not below", "agrees")
    # between its good interval and 0.3 the paper's SGDL converges: a divergence there disagrees
    assert agreement(_run(1, "sgdl", 0.09, math.nan, "diverged")) == ("diverged", "disagrees")
    assert agreement(_run(1, "sgdl", 0.2, 0.5)) == ("not below", "agrees")
    assert agreement(_run(1, "sgdl", 0.2, 1e-4)) == ("below", "disagrees")
    assert agreement(_run(2, "sgdl", 0.0045, 0.3)) == ("not below", "agrees")


def test_report_lines_fit_the_column_and_say_what_is_missing():
    sweeps = {(1, "sgdl"): [_run(1, "sgdl", 0.0727, 0.12), _run(1, "sgdl", 0.4036, math.nan, "diverged"),
                            _run(1, "sgdl", 0.05, 8e-4)]}
    text = sweep_scale_report(sweeps, [(1, "sgdl"), (2, "mgdl")])
    lines = text.splitlines()
    assert max(map(len, lines)) <= 76
    assert lines[0] == "Setting 1 SGDL (level 0.001)"
    assert "0.0727" in lines[3] and "0.12" in lines[3] and lines[3].endswith("disagrees")
    assert lines[4].split()[1:3] == ["–", "diverged"] and "NaN" not in text and lines[4].endswith("agrees")
    assert lines[5].split()[2:] == ["below", "below", "agrees"]
    assert len({line.index("verdict") if "verdict" in line else None for line in lines} - {None}) == 1
    assert lines[-1] == "  not computed at the paper's scale yet"
    assert disagreements_text(sweeps) == ("Setting 1 SGDL at η = 0.0727 ends at 0.12 after 10 epochs, where the "
                                          "paper expects a loss below 0.001")
    assert disagreements_text({}) == "none"
    assert sweep_scale_counts(sweeps) == {"runs": 3, "agrees": 2, "disagrees": 1, "edge": 0}


def test_load_sweep_results_reads_the_committed_names(tmp_path):
    config = SyntheticRun(setting=1, method="sgdl", lr=0.05, epochs=300, record_every=10)
    run_recorded(config, tmp_path / "runs")
    record = next((tmp_path / "runs" / "synthetic").glob("[0-9a-f]*"))
    assert result_name(1, "sgdl", 0.0726705795435964) == "s5-setting1-sgdl-eta0.07267"
    export_result(record, result_name(1, "sgdl", 0.05), tmp_path / "results")
    export_result(record, "s6-setting1-sgdl", tmp_path / "results")  # another page's: not a sweep run
    results = load_sweep_results(tmp_path / "results")
    assert list(results) == [(1, "sgdl")] and sweep_runs(results)[1, "sgdl"][0].config == config
    assert sweep_provenance(results).startswith("1 run of ") and " on cpu (torch " in sweep_provenance(results)
    assert sweep_provenance({}) == "none computed yet"


def test_a_misnamed_result_is_refused(tmp_path):
    from mgdl_core.errors import ConfigError

    config = SyntheticRun(setting=1, method="sgdl", lr=0.05, epochs=300, record_every=10)
    run_recorded(config, tmp_path / "runs")
    record = next((tmp_path / "runs" / "synthetic").glob("[0-9a-f]*"))
    export_result(record, result_name(2, "mgdl", 0.05), tmp_path / "results")  # the wrong setting and method
    with pytest.raises(ConfigError, match="its name should be s5-setting1-sgdl-eta0.05"):
        load_sweep_results(tmp_path / "results")


def test_extra_draws_are_read_by_name_and_reported_per_rate(tmp_path):
    from mgdl_core.pages.sweep_report import draws_text, load_sweep_draws

    base = SyntheticRun(setting=1, method="sgdl", lr=0.05, epochs=300, record_every=10)
    for seed in (1, 0):
        run_recorded(base.replace(seed=seed), tmp_path / "runs")
    for record in (tmp_path / "runs" / "synthetic").glob("[0-9a-f]*"):
        seed = __import__("json").loads((record / "config.json").read_text())["config"]["seed"]
        export_result(record, f"{result_name(1, 'sgdl', 0.05)}-seed{seed}", tmp_path / "results")
    draws = load_sweep_draws(tmp_path / "results")
    assert list(draws) == [(1, "sgdl", 0.05)] and [r.run.config.seed for r in draws[1, "sgdl", 0.05]] == [0, 1]
    assert load_sweep_results(tmp_path / "results") == {}  # draws are not the sweep's own runs
    authors = _run(1, "sgdl", 0.05, 0.12)
    text = draws_text({(1, "sgdl"): [authors]}, draws, {(1, "sgdl"): (0.05,), (2, "mgdl"): (0.2,)})
    lines = text.splitlines()
    assert lines[0] == "Setting 1 SGDL η=0.05, 3 draws:"
    assert lines[1].split() == ["seed", "42:", "0.12", "not", "below", "disagrees"]
    assert [line.split()[1] for line in lines[2:4]] == ["0:", "1:"]
    assert lines[-2:] == ["Setting 2 MGDL η=0.2, 0 draws:", "  none computed yet"]
