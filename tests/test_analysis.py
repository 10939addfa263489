"""The §5–§7 pages' raw numbers (mgdl_core.pages.analysis) against direct computation on hand-made
runs, and the figure layouts (mgdl_core.pages.figures) on a few tiny real runs."""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mgdl_core.pages.analysis import (best_loss, best_run, checkpoints_below, count_below, first_below_text,  # noqa: E402
                                first_diverged, first_epoch_below, grade_ends, grade_lowest, grades_ended_early,
                                group_by_rate, interval_text, loss_range_text, loss_table, loss_text,
                                lowest_where, min_eigenvalue, n_diverged, seed_spread_text, split_runs)
from mgdl_core.tasks.fit import RunSummary
from mgdl_core.tasks.synthetic import SyntheticRun
from mgdl_core.pages import figures  # noqa: E402
from mgdl_core.tasks.synthetic import SETTINGS  # noqa: E402


def _run(lr=0.1, loss=0.5, val=None, method="sgdl", seed=42, outcome="completed", history=None):
    """A hand-made RunSummary: only the fields the analysis reads."""
    diverged = outcome == "diverged"
    train = math.nan if diverged else loss
    return RunSummary(SyntheticRun(method=method, lr=lr, seed=seed), outcome, 5 if diverged else None,
                      train, math.nan if diverged else (loss if val is None else val), train, 10, 1.0, history or {})


def _spectra(smallest, epochs, grades=None):
    h = {"eig_epoch": np.asarray(epochs), "eig_smallest": np.asarray(smallest, dtype=float),
         "eig_largest": np.ones((len(epochs), np.asarray(smallest).shape[1]))}
    if grades is not None:
        h["eig_grade"] = np.asarray(grades)
    return _run(method="mgdl" if grades is not None else "sgdl", history=h)


# ------------------------------------------------------------------------------- rate sweeps
def _sweep():
    # rates 0.01 … 0.5; the two largest diverged (NaN losses)
    losses = [(0.01, 5e-3), (0.02, 8e-4), (0.05, 2e-4), (0.1, 3e-3), (0.2, 9e-4), (0.3, None), (0.5, None)]
    return [_run(lr, loss, outcome="diverged" if loss is None else "completed") for lr, loss in losses]


def test_interval_text_is_the_widest_run_of_rates_below_the_level():
    runs = _sweep()
    assert interval_text(runs, 1e-3) == "[0.02, 0.05]"  # 0.2 alone is a shorter run
    assert interval_text(runs, 1e-2) == "[0.01, 0.2]"  # the diverged NaNs count as above
    assert interval_text(runs, 1e-4) == "none of the rates"
    assert interval_text(runs[::-1], 1e-3) == "[0.02, 0.05]"  # order of the sweep does not matter


def test_best_loss_first_diverged_and_best_run():
    runs = _sweep()
    assert best_loss(runs) == 2e-4
    assert math.isnan(best_loss(runs[-2:])) and math.isnan(best_loss([]))
    assert first_diverged(runs) == "η ≥ 0.3"
    assert first_diverged(runs[:5]) == "no rate"
    assert best_run(runs).config.lr == 0.05
    by_val = [_run(0.1, 1e-3, val=0.5), _run(0.2, 1e-2, val=0.1), _run(0.3, outcome="diverged")]
    assert best_run(by_val).config.lr == 0.2  # by validation loss, not training loss
    assert best_run(by_val, key="train_loss").config.lr == 0.1
    assert best_run(by_val[2:]) is None


def test_split_runs_cuts_consecutive_chunks():
    runs = _sweep()[:6]
    parts = split_runs(runs, [(1, "sgdl"), (1, "mgdl"), (2, "sgdl")])
    assert list(parts) == [(1, "sgdl"), (1, "mgdl"), (2, "sgdl")]
    assert [[r.config.lr for r in rs] for rs in parts.values()] == [[0.01, 0.02], [0.05, 0.1], [0.2, 0.3]]
    with pytest.raises(ValueError):
        split_runs(runs, ["a", "b", "c", "d"])


def test_loss_table_lines_up_rates_and_methods():
    sgdl = [_run(0.001, 0.3125), _run(0.5, outcome="diverged")]
    mgdl = [_run(0.001, 0.25, method="mgdl"), _run(0.5, 4e-3, method="mgdl")]
    assert loss_table({"SGDL": sgdl, "MGDL": mgdl}).splitlines() == [
        "       η       SGDL       MGDL",
        "  0.0010    3.1e-01    2.5e-01",
        "  0.5000   diverged    4.0e-03",
    ]
    assert loss_text(sgdl[1], diverged="NaN") == "NaN" and loss_text(mgdl[1]) == "4.0e-03"


# ------------------------------------------------------------------------------------ seeds
def test_group_by_rate_and_the_seed_table():
    runs = [_run(lr, 0.1 * (seed - 40), method=m, seed=seed) for m in ("sgdl", "mgdl") for lr in (0.05, 0.1)
            for seed in (42, 43, 44)]
    runs[4] = _run(0.1, method="sgdl", seed=43, outcome="diverged")
    groups = group_by_rate(runs)
    assert list(groups) == [("sgdl", 0.05), ("sgdl", 0.1), ("mgdl", 0.05), ("mgdl", 0.1)]
    assert [r.config.seed for r in groups["sgdl", 0.1]] == [42, 43, 44]
    assert all(r.config.method == m and r.config.lr == lr for (m, lr), rs in groups.items() for r in rs)
    ok = groups["sgdl", 0.05]  # losses 0.2, 0.3, 0.4: spread (0.4 - 0.2) / 0.3
    assert loss_range_text(ok) == "0.20–0.40" and n_diverged(ok) == 0
    assert seed_spread_text(ok) == f"{0.2 / 0.3:.0%}" == "67%"
    bad = groups["sgdl", 0.1]
    assert loss_range_text(bad) == "0.20–0.40" and n_diverged(bad) == 1 and seed_spread_text(bad) == "n/a"
    assert loss_range_text([_run(outcome="diverged")]) == "all diverged"
    assert type(n_diverged(bad)) is int  # glued: its repr is the page's text


# ---------------------------------------------------------------------------------- spectra
def test_counts_below_minus_one_on_a_made_up_eigen_history():
    smallest = [[-0.5, 0.1], [-1.2, -0.9], [-1.5, -1.1], [-0.99, 0.3], [-1.01, -1.0]]
    r = _spectra(smallest, [0, 100, 200, 300, 1500])
    assert count_below(r).tolist() == [0, 1, 2, 0, 1]  # -1.0 itself is not below
    assert count_below(r, level=-1.15).tolist() == [0, 1, 1, 0, 0]
    assert checkpoints_below(r) == 3 and type(checkpoints_below(r)) is int
    assert first_epoch_below(r) == 100 and first_below_text(r) == "epoch 100"
    assert first_epoch_below(r, level=-1.3) == 200
    assert first_epoch_below(r, level=-2) is None and first_below_text(r, level=-2) == "never"
    late = _spectra([[0.0], [-1.1]], [0, 12_500])
    assert first_below_text(late) == "epoch 12,500"
    assert min_eigenvalue(r) == -1.5
    assert lowest_where(r) == "epoch 200"


def test_lowest_where_names_the_grade_and_its_initialisation():
    mgdl = _spectra([[-0.5], [-0.8], [-1.7], [-0.9], [-1.2]], [0, 250, 250, 500, 1000], grades=[1, 1, 2, 2, 2])
    assert lowest_where(mgdl) == "epoch 250, grade 2 at its initialisation, before any step"
    later = _spectra([[-0.5], [-1.8], [-1.7], [-0.9]], [0, 250, 250, 500], grades=[1, 1, 2, 2])
    assert lowest_where(later) == "epoch 250, grade 1"


def _graded(lengths):
    """A recorded MGDL history whose grade g trains lengths[g - 1] epochs (epochs added up)."""
    epochs, grades, start = [], [], 0
    for g, n in enumerate(lengths, start=1):
        epochs += list(range(start + 1, start + n + 1))
        grades += [g] * n
        start += n
    return _run(method="mgdl", history={"epoch": np.asarray(epochs), "grade": np.asarray(grades)})


def test_grade_ends_on_a_hand_made_two_grade_history():
    r = _run(method="mgdl", history={"epoch": np.array([1, 2, 3, 4, 5, 6, 7]), "grade": np.array([1, 1, 1, 2, 2, 2, 2])})
    assert grade_ends(r) == [3, 7] and all(type(e) is int for e in grade_ends(r))
    planned, stopped = _graded([10, 10, 10, 10]), _graded([10, 4, 10, 7])
    assert grade_ends(planned) == [10, 20, 30, 40] and grade_ends(stopped) == [10, 14, 24, 31]
    assert grades_ended_early(stopped, planned) == 2
    assert grades_ended_early(planned, planned) == 0


# --------------------------------------------------------------------------------- figures
@pytest.fixture(scope="module")
def tiny():
    """Real 20-epoch runs, with spectra for the eigenvalue layouts (seconds)."""
    runs = {m: SyntheticRun(method=m, lr=0.05, epochs=20, track_every=10, track_k=2, record_every=5).run() for m in ("sgdl", "mgdl")}
    return runs


def test_layouts_draw_one_panel_per_run_or_setting(tiny):
    sweeps = {(1, "sgdl"): [tiny["sgdl"]], (1, "mgdl"): [tiny["mgdl"]]}
    layouts = [
        (figures.loss_vs_rate_figure(sweeps, thresholds={1: 1e-3}), 1),
        (figures.seed_spread_figure([tiny["sgdl"], tiny["mgdl"]], ("sgdl", "mgdl"), "seeds"), 1),
        (figures.best_runs_figure(sweeps, SETTINGS), 3),
        (figures.eigen_loss_figure([tiny["sgdl"], tiny["mgdl"]]), 4),
        (figures.prediction_figure({1: tiny["sgdl"]}, SETTINGS, {1: "Setting 1"}), 1),
        (figures.spectrum_rows_figure(tiny["sgdl"]), 2),
    ]
    for fig, panels in layouts:
        assert len(fig.axes) == panels
        plt.close(fig)
    fig = figures.eigen_loss_figure([tiny["mgdl"]], titles=["mine"])
    assert fig.axes[0].get_title() == "mine"
    plt.close(fig)
    fig = figures.eigen_loss_figure([tiny["sgdl"], tiny["mgdl"], tiny["sgdl"]])  # two, then one below
    assert len([ax for ax in fig.axes if ax.axison]) == 6 and len(fig.axes) == 8
    plt.close(fig)
    fig = figures.best_runs_figure(sweeps, SETTINGS)
    assert fig.axes[1].get_title().startswith("Setting 1, SGDL, η = 0.05\ntest loss ")
    plt.close(fig)


def test_layouts_are_legible_in_the_book_style(tiny):
    """Every layout of a page, drawn in the book's style, passes the book's legibility check
    (text at least MIN_TEXT_PX at the width the book shows it); in matplotlib's default style
    the same layouts do not, so the check has teeth."""
    from mgdl_core.pages.book_style import BOOK_RC, FigureNotLegible, check_legible

    sweeps = {(1, "sgdl"): [tiny["sgdl"]], (1, "mgdl"): [tiny["mgdl"]]}
    draw = [lambda: figures.loss_vs_rate_figure(sweeps, thresholds={1: 1e-3}),
            lambda: figures.seed_spread_figure([tiny["sgdl"], tiny["mgdl"]], ("sgdl", "mgdl"), "seeds"),
            lambda: figures.best_runs_figure(sweeps, SETTINGS),
            lambda: figures.eigen_loss_figure([tiny["sgdl"], tiny["mgdl"]]),
            lambda: figures.prediction_figure({1: tiny["sgdl"]}, SETTINGS, {1: "Setting 1"}),
            lambda: figures.spectrum_rows_figure(tiny["sgdl"])]
    with plt.rc_context(BOOK_RC):
        for d in draw:
            fig = d()
            check_legible(fig)
            plt.close(fig)
    with plt.rc_context({"font.size": 8, "legend.fontsize": 7}):
        fig = draw[0]()
        with pytest.raises(FigureNotLegible, match="below"):
            check_legible(fig)
        plt.close(fig)


def test_figure_legend_is_one_legend_below_the_panels_with_each_label_once(tiny):
    sweeps = {(1, "sgdl"): [tiny["sgdl"]], (1, "mgdl"): [tiny["mgdl"]]}
    fig = figures.loss_vs_rate_figure(sweeps)
    fig.axes[0].plot([], [], label="extra")
    fig.axes[0].plot([], [], label="SGDL")  # a label seen before: not repeated
    figures.figure_legend(fig)
    assert len(fig.legends) == 1 and all(ax.get_legend() is None for ax in fig.axes)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["SGDL", "MGDL", "extra"]
    plt.close(fig)


def test_legibility_counts_tick_labels_and_skips_hidden_axes():
    """Tick labels exist only once a figure is drawn; an axes switched off shows its title but
    no axis."""
    from mgdl_core.pages.book_style import BOOK_RC, legibility_problems

    with plt.rc_context({**BOOK_RC, "xtick.labelsize": 6}):
        fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3), layout="constrained")
        a.plot([0, 1], [0, 1])
        b.imshow(np.zeros((4, 4)))
        b.axis("off")
        b.set_title("an image", fontsize=6)
    problems = legibility_problems(fig)
    assert any(p.startswith("'0.0' at ") for p in problems)  # a's x tick labels: 6 pt, about 7.5 px
    assert any("'an image'" in p for p in problems)
    assert len(problems) == len(a.get_xticklabels()) + 1  # b's hidden tick labels are not counted
    plt.close(fig)


def test_grade_lowest_leaves_out_initialisations_and_says_if_still_descending():
    # grade 1: start −3.0 (left out), then −0.5, −0.9 (lowest at its last spectrum)
    # grade 2: start −2.0 (left out), then −0.7, −0.2 (lowest before its end)
    r = _spectra([[-3.0], [-0.5], [-0.9], [-2.0], [-0.7], [-0.2]], [0, 10, 20, 0, 10, 20], grades=[1, 1, 1, 2, 2, 2])
    assert grade_lowest(r) == [(-0.9, True), (-0.7, False)]
    sgdl = _spectra([[-0.1], [-0.4], [-0.3]], [0, 10, 20])
    assert grade_lowest(sgdl) == [(-0.4, False)]
