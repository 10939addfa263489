"""Tables 2–3 beside the paper: the paper's numbers, the rows' text, and the checked claims."""
import math

import numpy as np
import pytest

from mgdl_core.pages.restoration_report import (ENERGY_ROOM, PAPER_TABLE2, PAPER_TABLE3, PSNR_ROOM, RestorationRow,
                                          energy_text, paper_value, restoration_claims, table_text)


def test_paper_tables_hold_every_cell_and_the_stated_ranges():
    """Table 2's 36 entries and Table 3's 18; the paper's ranges of MGDL − SGDL (0.16–4.23 dB
    denoising, 0.85–2.84 dB deblurring) follow from them."""
    den = [PAPER_TABLE2[s, "mgdl"][i] - PAPER_TABLE2[s, "sgdl"][i]
           for s in (10, 20, 30, 40, 50, 60) for i in ("butterfly", "pirate", "chest")]
    deb = [PAPER_TABLE3[i, "mgdl"][b] - PAPER_TABLE3[i, "sgdl"][b] for i in ("butterfly", "pirate", "chest") for b in (3, 5, 7)]
    assert len(den) == 18 and len(deb) == 9
    # differences of 2-decimal entries (< 40 dB), each within eps/2 of its decimal: exact up to eps·40
    top = max(v for table in (PAPER_TABLE2, PAPER_TABLE3) for row in table.values() for v in row.values())
    room = 2 * np.finfo(float).eps * top
    assert min(den) == pytest.approx(0.16, abs=room) and max(den) == pytest.approx(4.23, abs=room)
    assert min(deb) == pytest.approx(0.85, abs=room) and max(deb) == pytest.approx(2.84, abs=room)
    assert paper_value("butterfly", "denoise", 10, "mgdl") == 31.67
    assert paper_value("chest", "deblur", 7, "sgdl") == 33.69
    assert paper_value("cameraman", "denoise", 10, "sgdl") is None


def _rows(sgdl, mgdl, classical, level=10, problem="denoise", image="butterfly", energy=2.0):
    cell = dict(image=image, problem=problem, level=level)
    return [RestorationRow(method="input", psnr=20.0, **cell),
            RestorationRow(method="sgdl", psnr=sgdl, paper=27.53, energy=energy, minimum=1.0, minimum_psnr=25.0, lam=1e-4, beta=0.1, **cell),
            RestorationRow(method="mgdl", psnr=mgdl, paper=31.67, energy=1.0 + ENERGY_ROOM / 2, minimum=1.0,
                           minimum_psnr=26.0, lam=1e-2, beta=1.0, **cell),
            RestorationRow(method="tv-rof", psnr=classical, **cell)]


def test_claims_count_with_rooms():
    rows = (_rows(20.0, 20.0 + PSNR_ROOM + 0.1, 19.0) + _rows(20.0, 20.0 + PSNR_ROOM - 0.1, 25.0, image="chest")
            + _rows(22.0, 30.0, 31.0, problem="deblur", level=3))
    claims = restoration_claims(rows)
    assert claims[0] == f"1 of 2 images at σ = 10: MGDL above SGDL by > {PSNR_ROOM:g} dB"
    assert claims[1] == f"1 of 1 images at sigma_hat = 3: MGDL above SGDL by > {PSNR_ROOM:g} dB"
    assert not any("\u0302" in line for line in claims)  # no combining circumflex in printed text
    assert claims[2].startswith("3 of 6 network runs: objective over")  # every SGDL, no MGDL
    assert claims[3] == "2 of 3 cells: a tuned classical method above both networks"
    assert all(len(line) <= 60 for line in claims)  # legible in the book's column


def test_tables_print_the_paper_labelled_and_no_difference():
    text = table_text(_rows(22.2, 27.1, 29.6))
    assert "butterfly, σ = 10" in text
    line = next(l for l in text.splitlines() if l.strip().startswith("MGDL"))
    assert "(paper, full size: 31.67)" in line and "-4.57" not in line
    assert max(len(l) for l in text.splitlines()) <= 60
    energy = energy_text(_rows(22.2, 27.1, 29.6)).splitlines()
    assert len(energy) == 3 and "2.00" in energy[1] and math.isfinite(float(energy[2].split()[4]))


def test_psnr_drops_counts_each_fall_once_and_restarts_per_grade():
    import numpy as np

    from mgdl_core.pages.restoration_report import psnr_drops

    class Run:
        history = {"psnr": np.array([10, 12, 10.5, 10.9, 12.5, 11.0, 13, 5, 6, 7]),
                   "psnr_grade": np.array([1, 1, 1, 1, 1, 1, 1, 2, 2, 2])}

    assert psnr_drops(Run()) == 2  # 12 → 10.5 (once, not again at 10.9), 12.5 → 11.0; grade 2 starts afresh
    Run.history = {"psnr": np.array([1.0, 3.0, 1.0])}
    assert psnr_drops(Run()) == 1 and psnr_drops(Run(), db=3.0) == 0


def test_table_markdown_shows_the_computed_levels_and_the_papers_rows_labelled():
    from mgdl_core.pages.restoration_report import table_markdown

    rows = _rows(22.2, 27.1, 29.6) + _rows(20.0, 21.0, 22.0, level=40, image="chest")
    text = table_markdown(rows, "denoise", "32×32")
    lines = text.splitlines()
    assert lines[0] == "| σ | method (ours: 32×32) | Butterfly | Pirate | Chest |"
    body = [l for l in lines if l.startswith("|")][2:]
    # 2 computed levels × (6 methods + the paper's 2 rows); nothing of σ = 20, 30, 50, 60
    assert len(body) == 2 * (6 + 2)
    assert "|  | MGDL (33) | 27.10 | – | – |" in lines and "| 40 | degraded input | – | – | 20.00 |" in lines
    assert "|  | *MGDL (33), the paper's Table 2 (full size)* | 31.67 | 29.36 | 38.58 |" in lines
    assert "-4.57" not in text and "ours − paper" not in text
    assert text.endswith("Not computed by this build: σ = 20, 30, 50, 60 (the paper's values for them are in its Table 2).")
    deblur = table_markdown(_rows(22.0, 30.0, 31.0, problem="deblur", level=3), "deblur", "32×32")
    assert "σ̂" not in deblur and "|  | SGDL (29) | 22.00 | – | – |" in deblur and "= 5, 7 (" in deblur


def test_paper_gain_range_brute_force():
    from mgdl_core.pages.restoration_report import paper_gain_range

    den = [PAPER_TABLE2[s, "mgdl"][i] - PAPER_TABLE2[s, "sgdl"][i]
           for s in (10, 20, 30, 40, 50, 60) for i in ("butterfly", "pirate", "chest")]
    deb = [PAPER_TABLE3[i, "mgdl"][b] - PAPER_TABLE3[i, "sgdl"][b] for i in ("butterfly", "pirate", "chest") for b in (3, 5, 7)]
    assert paper_gain_range("denoise") == (min(den), max(den))
    assert paper_gain_range("deblur") == (min(deb), max(deb))


def test_input_deviation_is_the_largest_distance_from_the_nominal_psnr():
    from types import SimpleNamespace

    from mgdl_core.tasks.grids import psnr
    from mgdl_core.pages.restoration_report import input_deviation, nominal_input_psnr

    assert nominal_input_psnr(10) == pytest.approx(28.1308, abs=1e-4) and nominal_input_psnr(255) == 0
    rng = np.random.default_rng(1)
    clean = rng.random((32, 32))
    configs = []
    for noise in (10, 40):
        obs = clean + noise / 255 * rng.standard_normal(clean.shape)
        configs.append(SimpleNamespace(problem="denoise", noise=noise, observation=lambda o=obs: o, clean_image=lambda: clean))
    configs.append(SimpleNamespace(problem="deblur", noise=3, observation=lambda: clean * 0, clean_image=lambda: clean))
    expected = max(abs(psnr(c.observation(), clean) - 20 * math.log10(255 / c.noise)) for c in configs[:2])
    assert input_deviation(configs) == expected and 0 < expected < 1


def test_drops_text_states_the_counts_and_names_the_larger():
    from mgdl_core.pages.restoration_report import drops_text

    assert drops_text(9, 24) == ("SGDL's PSNR fell more than 1 dB below its best so far 9 times, MGDL's 24 times "
                                 "(within a grade): MGDL's PSNR fell more often than SGDL's")
    assert drops_text(5, 2).endswith("SGDL's PSNR fell more often than MGDL's")
    assert drops_text(3, 3, db=2).endswith("both fell as often") and "2 dB" in drops_text(3, 3, db=2)
