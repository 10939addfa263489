"""§5 at the paper's scale: the paper's claims as data, and runs held against them."""
import math

import numpy as np
import pytest

from mgdl_core.experiments import RunSummary, SyntheticRun, run_recorded
from mgdl_core.results import export_result
from mgdl_core.sweep_report import (PAPER_SWEEP, agreement, disagreements_text, expected, load_sweep_results,
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


def test_agreement_with_room_and_divergence():
    assert agreement(_run(1, "sgdl", 0.05, 1e-4)) == ("below", "agrees")
    assert agreement(_run(1, "sgdl", 0.05, 0.12)) == ("not below", "disagrees")
    assert agreement(_run(1, "sgdl", 0.05, 8e-4)) == ("too close to call", "too close to call")  # within 2×
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
    assert "NaN" in lines[4] and lines[4].endswith("agrees")
    assert lines[5].split()[2:] == ["close", "below", "close"]  # too close to call, in the column
    assert len({line.index("verdict") if "verdict" in line else None for line in lines} - {None}) == 1
    assert lines[-1] == "  not computed at the paper's scale yet"
    assert disagreements_text(sweeps) == ("Setting 1 SGDL at η = 0.0727 ends at 0.12 after 10 epochs, where the "
                                          "paper expects a loss below 0.001")
    assert disagreements_text({}) == "none"
    assert sweep_scale_counts(sweeps) == {"runs": 3, "agrees": 1, "disagrees": 1, "too close to call": 1, "edge": 0}


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
