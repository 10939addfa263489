"""The reproduction report: every item of the paper has a row, and every number in it comes from
committed results or mgdl_core.pages.paper_numbers (an empty results folder leaves no number)."""
from __future__ import annotations

import ast
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from mgdl_core.pages import paper_numbers
from mgdl_core.pages.paper_numbers import PAPER_ITEMS
from mgdl_core.pages.reproduction import (VERDICTS, SpectrumMeasures, contrast_text, loss_rises, report_markdown, report_rows,
                                   report_text, spectrum_measures)
from mgdl_core.runs.results import results_dir

RESULTS = results_dir()


def test_every_item_of_the_paper_has_one_row():
    want = ({f"Theorem {i}" for i in range(1, 6)} | {"Appendix A", "Appendix C", "§3 remark"}
            | {f"Figure {i}" for i in range(1, 29)} | {f"Table {i}" for i in range(1, 4)})
    labels = [e.label for e in PAPER_ITEMS]
    assert len(labels) == len(set(labels)) and set(labels) == want
    rows = report_rows()
    assert [r.label for r in rows] == labels
    assert all(r.verdict in VERDICTS for r in rows)
    text, md = report_text(rows), report_markdown(rows)
    assert all(label in text and f"| {label} |" in md for label in labels)
    pages = {p.stem for p in (Path(__file__).parents[1] / "notebooks").glob("[0-9]*.py")}
    assert {r.page for r in rows} <= pages  # every row links to a page of the book


def test_without_results_no_row_has_a_number(tmp_path):
    """Numbers come from results/: with none, every item is untested (or shown) and says nothing."""
    rows = report_rows(tmp_path)
    assert {r.verdict for r in rows} <= {"not tested at scale", "shown", "partly"}
    assert [r.label for r in rows if r.verdict == "partly"] == ["Figure 4"]  # 6 of 7 images: no run
    assert all(r.ours == "" for r in rows if r.label != "Figure 4")


def test_a_figure_is_tested_only_by_its_own_results(tmp_path):
    for name in ("s6-setting1-sgdl", "s6-setting1-mgdl"):
        shutil.copytree(RESULTS / "synthetic" / name, tmp_path / "synthetic" / name)
    rows = {r.label: r for r in report_rows(tmp_path)}
    assert rows["Figure 2"].scale == "paper" and rows["Figure 2"].ours
    assert rows["Figure 16"].verdict == "not tested at scale" and not rows["Figure 16"].ours
    assert rows["Figure 25"].verdict == "not tested at scale"  # needs MSDL's result too
    assert rows["Theorem 1"].ours.startswith("S1 SGDL") and "S2" not in rows["Theorem 1"].ours


def _run(loss, grade=None, smallest=None, grades_eig=None, lam=None, epochs=None):
    h = {"train_loss": np.asarray(loss, float)}
    if grade is not None:
        h["grade"] = np.asarray(grade)
    if smallest is not None:
        h["eig_smallest"] = np.asarray(smallest, float)
        h["eig_epoch"] = np.asarray(epochs)
        h["lambda_max"] = np.asarray(lam, float)
        if grades_eig is not None:
            h["eig_grade"] = np.asarray(grades_eig)
    return SimpleNamespace(history=h)


def _rises_brute(loss, grade):
    count = 0
    for i in range(len(loss)):
        if not np.isfinite(loss[i]):
            break
        same = [j for j in range(i) if grade[j] == grade[i]]
        best = min((loss[j] for j in same), default=np.inf)
        prev_same = same and same[-1] == i - 1
        prev_above = prev_same and loss[i - 1] > 2 * min((loss[j] for j in same[:-1]), default=np.inf)
        count += loss[i] > 2 * best and not prev_above
    return count


@pytest.mark.parametrize("seed", range(20))
def test_loss_rises_against_a_direct_count(seed):
    rng = np.random.default_rng(seed)
    loss = np.exp(rng.normal(0, 1, 60)).cumsum()[::-1] * np.exp(rng.normal(0, 0.6, 60))
    grade = np.repeat([1, 2, 3], 20)
    if seed % 4 == 0:
        loss[45:] = np.nan
    assert loss_rises(_run(loss, grade)) == _rises_brute(loss, grade)
    assert loss_rises(_run([4.0, 1.0, 3.0, 2.5, 0.5, 1.2, 0.4])) == 2


def test_spectrum_measures_leave_out_each_grades_initialisation():
    smallest = [[-1.5, 0.2], [-0.9, 0.1], [-1.2, -1.1], [-2.0, 0.0], [-0.5, 0.3], [-1.01, 0.2]]
    grades = [1, 1, 1, 2, 2, 2]  # checkpoints 0 and 3 are initialisations
    run = _run([1.0, 0.5], [1, 2], smallest, grades, lam=[50, 30, 40, 90, 20, 35], epochs=[0, 10, 20, 0, 10, 20])
    m = spectrum_measures(run)
    assert m.share == pytest.approx(2 / 4) and m.most == 2 and m.first == 20
    assert m.lowest == pytest.approx(-1.2) and m.alpha == 40
    assert m.parts() == ["below -1 at 50% of checkpoints", "up to 2 below -1 at once", "first below -1 at epoch 20",
                         "lowest -1.20", f"{m.rises} loss rises above 2x the minimum"]
    assert m.text("MGDL").startswith("MGDL: below −1 at 50% of checkpoints, up to 2 below −1 at once")


def test_contrast_text_says_which_way_each_measure_goes():
    msdl = SpectrumMeasures(share=0.82, most=2, first=170_000, lowest=-1.11, rises=34, alpha=30.0)
    mgdl = SpectrumMeasures(share=0.41, most=1, first=None, lowest=-1.01, rises=0, alpha=33.0)
    text = contrast_text(msdl, mgdl, "MSDL")
    assert "at more of its checkpoints than MGDL (82% against 41%)" in text
    assert "more eigenvalues below −1 at once (up to 2 against 1)" in text
    assert "−1.11 against −1.01" in text and "epoch 170,000 against never" in text
    assert "34 times against 0" in text
    assert "at fewer of its checkpoints" in contrast_text(mgdl, msdl, "MGDL")
    assert "as many eigenvalues" in contrast_text(mgdl, mgdl, "MGDL")


def test_the_papers_numbers_import_nothing():
    tree = ast.parse(Path(paper_numbers.__file__).read_text())
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    modules = {a.name for n in imports if isinstance(n, ast.Import) for a in n.names}
    modules |= {("." * n.level) + (n.module or "") for n in imports if isinstance(n, ast.ImportFrom)}
    assert modules <= {"__future__", "collections.abc", "dataclasses"}


def test_tables_read_the_middle_tier_when_it_is_committed(tmp_path, monkeypatch):
    """Table 2 from tier results: MGDL above SGDL counted per cell; a reduced size is at best partly."""
    from mgdl_core.pages import reproduction
    from mgdl_core.pages.paper import paper_items

    items = [i for i in paper_items() if i.figure == "Table 2"]
    psnr = {}

    def fake_results(names, results=None):
        out = {}
        for item in items:
            if item.name in names and item.name in psnr:
                out[item.name] = SimpleNamespace(run=SimpleNamespace(config=item.config, name=item.name))
        return out

    monkeypatch.setattr(reproduction, "load_results", fake_results)
    monkeypatch.setattr(reproduction, "_final_psnr", lambda run: psnr[run.name])
    by = {(i.config.image, i.config.noise, i.config.method): i.name for i in items}
    table2 = lambda: next(r for r in report_rows(tmp_path) if r.label == "Table 2")  # noqa: E731
    assert table2().verdict == "not tested at scale" and table2().ours == ""
    psnr.update({by["butterfly", 10, "sgdl"]: 20.0, by["butterfly", 10, "mgdl"]: 21.5,
                 by["pirate", 10, "sgdl"]: 22.0, by["pirate", 10, "mgdl"]: 21.0, by["chest", 10, "sgdl"]: 30.0})
    row = table2()  # chest has SGDL only: not a cell yet
    assert row.verdict == "partly" and row.scale == "≤64²"
    assert "MGDL above SGDL in 1 of 2 cells (18 planned)" in row.ours and "from −1.00 to +1.50 dB" in row.ours
    psnr[by["butterfly", 10, "mgdl"]] = 19.0
    assert table2().verdict == "contradicted"
