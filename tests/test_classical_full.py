"""Tables 2–3's classical rows on the full-size images: a verified, resumable, committed file."""
import json

import pytest

from mgdl_core.pages import classical_full, restoration_report
from mgdl_core.errors import ConfigError, CorruptRecord
from mgdl_core.pages.restoration_report import RestorationRow, paper_value


def _fake_rows(config, tv_grid, tv_iterations, tv_tol=1e-6):
    level = config.noise if config.problem == "denoise" else config.blur
    cell = dict(image=config.image, problem=config.problem, level=level)
    base = paper_value(config.image, config.problem, level, "mgdl")
    return [RestorationRow(method="input", psnr=20.0, **cell),
            RestorationRow(method="tv-rof", psnr=base + (0.5 if level in (10, 3) else -0.5), lam=tv_grid[0], **cell)]


@pytest.fixture
def fake(monkeypatch):
    calls = []

    def rows(config, tv_grid, tv_iterations, tv_tol):
        calls.append((config.image, config.problem, tv_iterations))
        return _fake_rows(config, tv_grid, tv_iterations)

    monkeypatch.setattr(restoration_report, "classical_rows", rows)
    return calls


def test_every_cell_of_tables_2_and_3_at_full_size():
    configs = classical_full.cell_configs()
    assert len(configs) == 3 * 6 + 3 * 3  # images × (noise levels + blurs), as the paper's tables
    assert all(c.downscale == 1 for c in configs)
    with pytest.raises(ConfigError, match="no image walnut"):
        classical_full.cell_configs(["walnut"])


def test_compute_writes_a_verified_file_and_resumes(tmp_path, fake, monkeypatch):
    path = tmp_path / "classical" / "t.json"
    classical_full.compute(path, ["chest"], progress=None)
    assert len(fake) == 9 and {it for _, p, it in fake if p == "deblur"} == {classical_full.DEBLUR_TV_ITERATIONS}
    doc = classical_full.read(path)
    assert doc["settings"] == classical_full.settings() and doc["git_sha"] and doc["environment"]["versions"]["torch"]
    assert len(doc["cells"]) == 9 and doc["cells"]["chest/denoise/10"]["config"]["noise_seed"] == 0
    rows = classical_full.read_rows(path)
    first = _fake_rows(classical_full.cell_configs(["chest"])[0], classical_full.DENOISE_TV_GRID, 0)
    assert len(rows) == 18 and first[1] in rows
    classical_full.compute(path, ["chest"], progress=None)  # nothing left: nothing recomputed
    assert len(fake) == 9
    # a changed setting starts afresh; a tampered file is refused
    monkeypatch.setattr(classical_full, "DEBLUR_TV_ITERATIONS", 7)
    classical_full.compute(path, ["chest"], progress=None)
    assert len(fake) == 18
    doc = json.loads(path.read_text())
    doc["cells"]["chest/denoise/10"]["rows"][1]["psnr"] += 1
    path.write_text(json.dumps(doc))
    with pytest.raises(CorruptRecord, match="SHA-256"):
        classical_full.read_rows(path)
    assert classical_full.read_rows(tmp_path / "none.json") == []


def test_paper_claims_count_cells_against_the_papers_numbers(tmp_path, fake):
    path = tmp_path / "t.json"
    classical_full.compute(path, ["butterfly", "pirate"], progress=None)
    rows = classical_full.read_rows(path)
    # the fake: 0.5 dB above the paper's MGDL at σ = 10 and σ̂ = 3, 0.5 below elsewhere
    brute = {}
    for problem, table in (("denoise", 2), ("deblur", 3)):
        for m in ("sgdl", "mgdl"):
            cells = {r.cell for r in rows if r.problem == problem}
            best = {c: max(r.psnr for r in rows if r.cell == c and r.method != "input") for c in cells}
            brute[table, m] = (sum(best[c] > paper_value(*c, m) for c in cells), len(cells))
    claims = classical_full.paper_claims(rows)
    assert claims == [f"Table {t}: best classical above the paper's {m.upper()} in {a} of {n} cells"
                      for (t, m), (a, n) in brute.items()]
    assert brute[2, "mgdl"] == (2, 12) and brute[3, "mgdl"] == (2, 6)


def test_a_table_with_no_cell_says_so():
    rows = _fake_rows(classical_full.cell_configs(["chest"])[0], classical_full.DENOISE_TV_GRID, 0)
    assert classical_full.paper_claims(rows)[-1] == "Table 3: no cell computed yet"
    assert classical_full.paper_counts(rows)[3, "mgdl"] == (0, 0)
