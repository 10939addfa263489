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
