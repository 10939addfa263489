"""The committed executed notebooks (book/executed/) must match their sources (notebooks/).

nbval tests book/executed/*.ipynb, not the .py sources; these checks make sure that what nbval
and the book see is what the sources say: same cells, executed with the quick profile, and
every source listed in _toc.yml.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import yaml

jupytext = pytest.importorskip("jupytext")

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "notebooks").glob("[0-9]*.py"))
EXECUTED = ROOT / "book" / "executed"
RERUN = "re-run `make book` and commit book/executed/"


def _toc_files() -> set[str]:
    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("file", "root") and isinstance(value, str):
                    found.add(value.removesuffix(".ipynb").removesuffix(".md"))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load((ROOT / "_toc.yml").read_text()))
    return found


def _executed(src: Path):
    path = EXECUTED / f"{src.stem}.ipynb"
    assert path.exists(), f"{path.relative_to(ROOT)} is missing: {RERUN}"
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_executed_cells_match_source(src):
    want = [(c.cell_type, c.source) for c in jupytext.read(src).cells]
    got = [(c.cell_type, c.source) for c in _executed(src).cells
           if "injected-parameters" not in c.metadata.get("tags", [])]
    assert got == want, f"book/executed/{src.stem}.ipynb is stale (its cells differ from {src.name}): {RERUN}"


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_executed_with_quick_profile(src):
    params = _executed(src).metadata.get("papermill", {}).get("parameters", {})
    assert params.get("profile") == "quick", (
        f"book/executed/{src.stem}.ipynb was executed with profile={params.get('profile')!r}, "
        f"but the committed reference (nbval's) must use profile='quick': {RERUN}")


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_source_has_profile_parameter(src):
    cells = [c for c in jupytext.read(src).cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1 and "profile" in cells[0].source, (
        f'{src.name} needs exactly one `# %% tags=["parameters"]` cell defining `profile`')


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_source_listed_in_toc(src):
    assert f"book/executed/{src.stem}" in _toc_files(), (
        f"{src.name} is not in _toc.yml: add `- file: book/executed/{src.stem}` to its chapters")


def test_no_orphan_executed_notebooks():
    stems = {p.stem for p in SOURCES}
    orphans = sorted(p.name for p in EXECUTED.glob("*.ipynb") if p.stem not in stems)
    assert not orphans, f"book/executed/ has notebooks without a source in notebooks/: {orphans}"


def test_toc_entries_exist():
    missing = sorted(f for f in _toc_files()
                     if not any((ROOT / f"{f}{ext}").exists() for ext in (".md", ".ipynb")))
    assert not missing, f"_toc.yml lists files that do not exist: {missing}"
