"""The pages' plans: both profiles of every page, the same knobs, quick never larger than paper."""
from __future__ import annotations

import pytest

from mgdl_core.errors import ConfigError
from mgdl_core.pages.plans import page_plan, pages


@pytest.mark.parametrize("page", pages())
def test_every_page_has_both_profiles_with_the_same_knobs(page):
    quick, paper = page_plan(page, "quick"), page_plan(page, "paper")
    assert set(quick) == set(paper)
    for key, value in quick.items():
        if isinstance(value, int) and not isinstance(value, bool) and key.endswith(("epochs", "rates")):
            assert 0 < value <= paper[key], key
    if "early_stopping" in quick:  # the images page's runs take their section's protocol (below)
        assert quick["early_stopping"] is False and paper["early_stopping"] is True  # the paper's protocol


@pytest.mark.parametrize("section", [4, 5, 6])
def test_image_sections_quick_is_smaller_than_the_paper(section):
    from mgdl_core.tasks.image_regression import SECTION_PROFILES

    quick, paper = SECTION_PROFILES[section]["quick"], SECTION_PROFILES[section]["paper"]
    assert quick["epochs"] < paper["epochs"] and quick["early_stopping"] is False and paper["early_stopping"] is True
    assert quick["optimizer"] == paper["optimizer"] and quick["lr" if section == 4 else "init"] == paper["lr" if section == 4 else "init"]


def test_plans_are_read_only_and_names_are_checked():
    plan = page_plan("learning_rate", "quick")
    with pytest.raises(TypeError):
        plan["rates"] = 3
    with pytest.raises(ConfigError, match="unknown page"):
        page_plan("learning_rates", "quick")
    with pytest.raises(ConfigError, match="unknown profile"):
        page_plan("msdl", "fast")


def test_the_msdl_page_runs_msdl_beside_the_s6_mgdl_runs_and_sweeps_both():
    from mgdl_core.pages.plans import MSDL_RATES, msdl_page_configs, msdl_tracked_configs, tracked_configs
    from mgdl_core.runs.sweeps import log_rates

    for profile in ("quick", "paper"):
        plan = page_plan("msdl", profile)
        tracked, swept = msdl_page_configs(profile)
        assert list(tracked) == [(1, "msdl"), (1, "mgdl"), (2, "msdl"), (2, "mgdl")]
        for (s, m), c in tracked.items():
            # the same configurations (so the same records) as the §6 page's MGDL and msdl_tracked_configs
            assert c == (tracked_configs(profile) if m == "mgdl" else msdl_tracked_configs(profile))[s, m]
            assert c.track_every == plan[f"{m}_every"] and c.epochs == plan[f"{m}_epochs"]
        assert [tracked[s, "msdl"].lr for s in (1, 2)] == [MSDL_RATES[1], MSDL_RATES[2]]
        rates = [float(r) for r in log_rates(0.001, 0.5, plan["rates"])]
        assert [(c.setting, c.method, c.lr) for c in swept] == [
            (s, m, r) for s in (1, 2) for m in ("msdl", "mgdl") for r in rates]
        assert all(c.epochs == (plan["sweep_msdl_epochs"] if c.method == "msdl" else plan["mgdl_epochs"])
                   and not c.track_every for c in swept)


def test_the_figure_3_and_full_size_runs_are_planned_at_their_rates():
    from mgdl_core.pages.plans import FIG3_RATES, FULL_SIZE_RATE, fig3_configs, full_size_config

    for profile in ("quick", "paper"):
        plan = page_plan("eigenvalues", profile)
        fig3 = fig3_configs(profile)
        assert list(fig3) == ["sgdl", "mgdl", "mgdl-eigstop"]
        assert [fig3[m].lr for m in ("sgdl", "mgdl")] == [FIG3_RATES["sgdl"], FIG3_RATES["mgdl"]]
        assert fig3["mgdl-eigstop"] == fig3["mgdl"].replace(eig_stop=-0.95)
        assert all(c.image == "resolution_chart" and c.track_every for c in fig3.values())
        full = full_size_config(profile)
        assert (full.lr, full.epochs, full.track_every) == (FULL_SIZE_RATE, plan["full_epochs"], plan["full_every"])
