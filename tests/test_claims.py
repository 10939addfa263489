"""Checked claims: decisions with room, and the spectrum split at the grades' initialisations."""
from __future__ import annotations

import math

import numpy as np
import pytest

from mgdl_core.pages.claims import decide, diverged_rates, grade_starts, lowest, share_below, spectrum_claims, spread
from mgdl_core.tasks.fit import RunSummary
from mgdl_core.tasks.synthetic import SyntheticRun


@pytest.mark.parametrize("value, op, threshold, room, expected", [
    (0.5, "<", 1.0, 0.2, "yes"), (0.85, "<", 1.0, 0.2, "too close to call"), (1.25, "<", 1.0, 0.2, "no"),
    (-1.35, "<", -1.0, 0.1, "yes"), (-0.997, ">", -1.0, 0.01, "too close to call"), (-0.2, ">", -1.0, 0.5, "yes"),
    (1.0, "<", 1.0, 0.0, "yes"),  # room 0: the threshold itself decides
])
def test_decide_needs_room(value, op, threshold, room, expected):
    assert decide(value, op, threshold, room) == expected


def test_decide_relative_is_a_factor_on_a_log_scale():
    assert decide(0.3, "<", 1e-3, 2, relative=True) == "no"
    assert decide(4e-4, "<", 1e-3, 2, relative=True) == "yes"
    assert decide(6e-4, "<", 1e-3, 2, relative=True) == "too close to call"
    assert decide(0.0, "<", 1e-3, 2, relative=True) == "yes"
    assert decide(3e-3, ">", 1e-3, 2, relative=True) == "yes"
    assert decide(math.nan, "<", 1e-3, 2, relative=True) == "no (diverged)"
    for bad in [dict(op="<=", room=1), dict(op="<", room=0.5, relative=True), dict(op="<", room=-1)]:
        with pytest.raises(ValueError):
            decide(1.0, bad.pop("op"), 1.0, **bad)


def _run(smallest, epochs, grades=None, method="mgdl", lr=0.1, outcome="completed"):
    h = {"eig_epoch": np.asarray(list(epochs)), "eig_smallest": np.asarray(smallest, dtype=float)[:, None]}
    if grades is not None:
        h["eig_grade"] = np.asarray(grades)
    return RunSummary(SyntheticRun(method=method, lr=lr), outcome, None, 0.1, 0.1, 0.1, 10, 1.0, h)


def test_spectrum_split_at_the_grades_initialisations():
    # two MGDL grades: each grade's first spectrum is its initialisation, before any step
    r = _run([-1.7, -0.9, -1.05, -2.0, -0.5, -0.99], [0, 10, 20, 20, 30, 40], grades=[1, 1, 1, 2, 2, 2])
    assert grade_starts(r).tolist() == [True, False, False, True, False, False]
    assert lowest(r, at_start=True) == -2.0 and lowest(r, at_start=False) == -1.05
    assert share_below(r) == 1 / 4  # one of the 4 spectra after a start: -1.05 (a count over a count: exact)
    sgdl = _run([-3.0, -1.2, -0.8], [0, 10, 20], method="sgdl")
    assert grade_starts(sgdl).tolist() == [True, False, False]
    assert share_below(sgdl) == 0.5 and lowest(sgdl, at_start=False) == -1.2


def test_diverged_rates_and_spread():
    runs = [_run([0.0], [0], lr=lr, outcome=o) for lr, o in [(0.5, "diverged"), (0.1, "completed"), (0.2, "diverged")]]
    assert diverged_rates(runs) == "η = 0.2, 0.5"
    assert diverged_rates(runs[1:2]) == "no rate"
    assert spread([0.3, 0.4, 0.2]) == pytest.approx(0.2 / 0.3, rel=2 * np.finfo(float).eps, abs=0)  # two roundings
    assert math.isnan(spread([0.3, math.nan]))


def test_spectrum_claims_say_what_survives_rounding():
    sgdl = _run([-0.8] + [-1.3, -1.5, -0.95, -1.2] * 2, range(0, 90, 10), method="sgdl")  # 8 spectra after it
    assert spectrum_claims(sgdl) == ["no: below -1 at initialisation", "yes: below -1 at most checkpoints after it"]
    rides = _run([-1.66] + [-1.07, -0.96, -0.9, -0.95] * 2, range(0, 90, 10), grades=[1] * 9)
    assert spectrum_claims(rides) == ["yes: below -1 at initialisation", "no: below -1 at most checkpoints after it",
                                      "too close to call: stays above -1 after it (room 0.3)"]
    inside = _run([0.01] + [-0.2, 0.5] * 4, range(0, 90, 10), grades=[1] * 9)
    assert spectrum_claims(inside)[2] == "yes: stays above -1 after it (room 0.3)"


def test_a_check_too_close_to_call_says_which_way_it_leans():
    from mgdl_core.pages.claims import Check, leans, spectrum_checks

    rides = _run([-1.66] + [-1.07, -0.96, -0.9, -0.95] * 2, range(0, 90, 10), grades=[1] * 9)
    checks = spectrum_checks(rides)
    assert [c.line() for c in checks] == spectrum_claims(rides)
    # lowest after the initialisation: -1.07, 0.07 below -1, inside the room 0.3: leans no
    assert leans(checks) == ["stays above -1 after it (room 0.3):\n  leans no: -1.07 against -1 (by 0.07; room 0.3)"]
    assert Check("x", -0.9, ">", -1, 0.3).lean() == "leans yes: -0.9 against -1 (by 0.1; room 0.3)"
    assert Check("x", -0.997, ">", -1, 0.3).lean() == "leans yes: -0.997 against -1 (by 0.003; room 0.3)"
    assert Check("x", 0.5, ">", 0.5, 0.15).lean().startswith("leans neither way")
    assert Check("x", -0.5, ">", -1, 0.3).lean() == ""  # decided: nothing to explain
    # a relative check: a factor against a factor room
    assert Check("r", 1.2, ">", 1.0, 1.4, relative=True).lean() == "leans yes: 1.2 against 1 (a factor 1.20; room 1.4x)"
    assert Check("r", 1 / 1.25, ">", 1.0, 1.4, relative=True).lean().startswith("leans no: 0.8 against 1 (a factor 1.25")
    assert Check("d", math.nan, ">", 0, 1, if_nan="no (MGDL diverged)").line() == "no (MGDL diverged): d"
    assert leans([Check("x", -0.5, ">", -1, 0.3)]) == []
    from mgdl_core.pages.claims import leans_text

    assert leans_text({"decided": [Check("x", -0.5, ">", -1, 0.3)]}) == "every checked line above is decided"
    assert leans_text({"a": checks, "b": []}).splitlines() == ["a:", "  stays above -1 after it (room 0.3):",
                                                                "    leans no: -1.07 against -1 (by 0.07; room 0.3)"]
    assert max(len(line) for line in leans_text({"a": checks}).splitlines()) <= 60  # fits an output box


def test_too_few_spectra_after_the_initialisation_make_no_claim_about_the_training():
    from mgdl_core.pages.claims import MIN_SPECTRA, later_spectra, spectrum_checks

    few = _run([-1.5, -0.2, -0.1, -0.3], [0, 10, 20, 30], method="sgdl")
    assert later_spectra(few) == 3 < MIN_SPECTRA
    assert spectrum_claims(few) == ["yes: below -1 at initialisation",
                                    f"3 spectra after it: too few to say more (< {MIN_SPECTRA})"]
    assert len(spectrum_checks(few)) == 1
    enough = _run([-0.5] + [-0.2] * MIN_SPECTRA, list(range(0, 10 * (MIN_SPECTRA + 1), 10)), method="sgdl")
    assert later_spectra(enough) == MIN_SPECTRA and len(spectrum_claims(enough)) == 3
