"""The eigenvalue explorer (mgdl_core.pages.explorer), driven through its widgets' Python API:
tiny tracked runs in a temporary runs folder, and two committed §6 results. Every expected
value is read from the record or result itself, never typed in."""
from __future__ import annotations

import numpy as np
import pytest

from mgdl_core.errors import ConfigError
from mgdl_core.pages import explorer
from mgdl_core.pages.explorer import Explorer, explore
from mgdl_core.runs.recorded import run_recorded
from mgdl_core.runs.records import record_dir
from mgdl_core.runs.results import read_result, results_dir
from mgdl_core.tasks.synthetic import SyntheticRun

TRACKED = dict(lr=0.05, epochs=20, track_every=10, track_k=2, record_every=5)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A runs folder with a tracked SGDL and MGDL run (seconds) and an untracked SGDL run."""
    out = tmp_path_factory.mktemp("runs")
    tracked = {m: run_recorded(SyntheticRun(method=m, **TRACKED), out) for m in ("sgdl", "mgdl")}
    plain = SyntheticRun(method="sgdl", lr=0.05, epochs=20, record_every=5)
    run_recorded(plain, out)
    return out, tracked, record_dir(out, "synthetic", plain)


def _by_method(ex: Explorer, method: str) -> str:
    return next(label for label, r in ex.runs.items() if r.config.method == method)


def _line(ax, gid: str):
    found = [line for line in ax.lines if line.get_gid() == gid]
    assert len(found) == 1, [line.get_gid() for line in ax.lines]
    return found[0]


def _spectrum(run, i: int) -> np.ndarray:
    h = run.history
    return np.concatenate([h["eig_smallest"][i], h["eig_largest"][i]])


def test_a_runs_folder_offers_its_tracked_runs_and_two_runs_double_the_axes(runs):
    out, tracked, _ = runs
    ex = explore(out)
    assert sorted(r.config.method for r in ex.runs.values()) == ["mgdl", "sgdl"]  # the untracked run is not offered
    assert set(ex.controls) == {"runs", "grade", "eigenvalues", "view", "epoch"}
    assert len(ex.figure.axes) == 4  # the first two runs, side by side with their losses
    ex.controls["runs"].value = (_by_method(ex, "sgdl"),)
    assert len(ex.figure.axes) == 2
    ex.controls["runs"].value = tuple(ex.runs)
    assert len(ex.figure.axes) == 4
    ex.controls["runs"].value = ()
    assert not ex.figure.axes  # "choose a run"


def test_the_epoch_slider_moves_the_spectrum_and_the_marked_epoch(runs):
    _, tracked, _ = runs
    run = tracked["sgdl"]
    ex = explore(run)
    slider = ex.controls["epoch"]
    epochs = run.history["eig_epoch"]
    assert (slider.min, slider.max) == (epochs[0], epochs[-1])
    for i, e in enumerate(epochs):
        slider.value = int(e)
        ax_eig, ax_loss = ex.figure.axes
        np.testing.assert_array_equal(_line(ax_eig, "eigenvalues").get_ydata(), _spectrum(run, i))
        assert list(_line(ax_loss, "epoch").get_xdata()) == [e, e]
        assert f"epoch {int(e):,}," in ax_eig.get_title()
        below = int((_spectrum(run, i) < -1).sum())
        assert ax_eig.get_title().endswith(f"{below} below −1")
    slider.value = int(epochs[1]) + 1  # between checkpoints: the last one before
    np.testing.assert_array_equal(_line(ex.figure.axes[0], "eigenvalues").get_ydata(), _spectrum(run, 1))


def test_the_eigenvalue_choice_picks_an_index_or_an_end(runs):
    _, tracked, _ = runs
    run = tracked["sgdl"]
    ex = explore(run)
    k = run.history["eig_smallest"].shape[1]
    ex.controls["epoch"].value = int(run.history["eig_epoch"][-1])
    for choice, columns in ((2 * k - 1, [2 * k - 1]), (0, [0]), ("smallest", range(k)), ("largest", range(k, 2 * k))):
        ex.controls["eigenvalues"].value = choice
        dots = _line(ex.figure.axes[0], "eigenvalues")
        assert list(dots.get_xdata()) == list(columns)
        np.testing.assert_array_equal(dots.get_ydata(), _spectrum(run, -1)[list(columns)])


def test_a_grade_restricts_an_mgdl_run_to_its_checkpoints(runs):
    _, tracked, _ = runs
    run = tracked["mgdl"]
    h = run.history
    ex = explore(run)
    grade, slider = ex.controls["grade"], ex.controls["epoch"]
    assert list(grade.options) == ["all", *np.unique(h["eig_grade"]).tolist()] and not grade.disabled
    grade.value = 2
    mine = np.flatnonzero(h["eig_grade"] == 2)
    assert (slider.min, slider.max) == (h["eig_epoch"][mine[0]], h["eig_epoch"][mine[-1]])
    slider.value = int(h["eig_epoch"][mine[-1]])
    ax_eig, ax_loss = ex.figure.axes
    np.testing.assert_array_equal(_line(ax_eig, "eigenvalues").get_ydata(), _spectrum(run, mine[-1]))
    assert ", grade 2," in ax_eig.get_title()
    np.testing.assert_array_equal(ax_loss.lines[0].get_xdata(), h["epoch"][h["grade"] == 2])  # the grade's loss only
    grade.value = "all"
    assert (slider.min, slider.max) == (h["eig_epoch"][0], h["eig_epoch"][-1])
    sgdl = explore(tracked["sgdl"]).controls["grade"]
    assert list(sgdl.options) == ["all"] and sgdl.disabled


def test_trajectories_mark_the_slider_epoch(runs):
    _, tracked, _ = runs
    run = tracked["sgdl"]
    ex = explore(run)
    ex.controls["view"].value = "trajectories"
    ex.controls["eigenvalues"].value = 0
    ax_eig = ex.figure.axes[0]
    (trajectory,) = [line for line in ax_eig.lines if line.get_label() == "index 0"]
    np.testing.assert_array_equal(trajectory.get_ydata(), run.history["eig_smallest"][:, 0])
    for e in run.history["eig_epoch"][[0, -1]]:
        ex.controls["epoch"].value = int(e)
        for ax in ex.figure.axes:
            assert list(_line(ax, "epoch").get_xdata()) == [e, e]
    ex.controls["eigenvalues"].value = "both"  # the pages' panel: every tracked eigenvalue
    assert len(ex.figure.axes[0].lines) >= run.history["eig_smallest"].shape[1]


def test_it_displays_as_its_widget_and_renders(runs):
    ex = explore(runs[1]["sgdl"])
    bundle = ex._repr_mimebundle_()
    bundle = bundle[0] if isinstance(bundle, tuple) else bundle
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == ex.widget.model_id
    assert ex.png.startswith(b"\x89PNG")


def test_bad_input_is_one_line_config_error_before_any_widget(runs, tmp_path, monkeypatch):
    _, _, untracked = runs
    monkeypatch.setattr(explorer, "Explorer", lambda *a: pytest.fail("widgets built for bad input"))
    for bad, match in (("no-such-result", "neither a folder nor a committed result"),
                       (tmp_path, "no record or result with tracked eigenvalues"),
                       (untracked, "tracked no eigenvalues"), (42, "a source is")):
        with pytest.raises(ConfigError, match=match) as info:
            explore(bad)
        assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="name a committed result"):
        explore()


def test_committed_section_6_results():
    """The §6 page's Figure 2 runs, SGDL and MGDL of Setting 1, side by side."""
    ex = explore("s6-setting1-sgdl", "synthetic/s6-setting1-mgdl")
    assert list(ex.runs) == ["s6-setting1-sgdl", "s6-setting1-mgdl"] and len(ex.figure.axes) == 4
    sgdl = read_result(results_dir() / "synthetic" / "s6-setting1-sgdl").run
    i = len(sgdl.history["eig_epoch"]) // 2
    ex.controls["epoch"].value = int(sgdl.history["eig_epoch"][i])
    np.testing.assert_array_equal(_line(ex.figure.axes[0], "eigenvalues").get_ydata(), _spectrum(sgdl, i))
    assert list(ex.controls["grade"].options)[1:] == np.unique(ex.runs["s6-setting1-mgdl"].history["eig_grade"]).tolist()
