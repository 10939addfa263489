"""MGDL with convex grades (program (9), cvxpy) against MGDL with GD grades, per grade, on the
theory page's problem (mgdl_core.pages.plans, page "theory"): wall time and the objective (8) reached.

A grade's time is one solve (convex) or the plan's GD steps (GD), each repeated and the median
taken; the ratio column is convex / GD. The theory page prints no times (a committed notebook
must not change from one build to the next): they are here.
Usage: python bench/bench_convex_mgdl.py [quick|paper]
"""
from __future__ import annotations

import statistics
import sys
import time

import numpy as np

from mgdl_core.theory.convex_grades import convex_mgdl, gd_mgdl
from mgdl_core.pages.plans import page_plan
from mgdl_core.runtime import configure_cpu
from mgdl_core.tasks.synthetic import get_setting
from timing import table


def main(profile: str = "quick", repeats: int = 3) -> None:
    configure_cpu()
    plan = page_plan("theory", profile)
    x = np.linspace(0.0, 1.0, plan["points"])
    y = get_setting(1)(x)
    started = time.perf_counter()
    convex = [convex_mgdl(x, y, plan["grades"], plan["beta"], samples=plan["samples"]) for _ in range(repeats)]
    gd = [gd_mgdl(x, y, plan["grades"], plan["beta"], width=plan["width"], lr=plan["gd_lr"], steps=plan["gd_steps"])
          for _ in range(repeats)]
    rows = []
    for level in range(plan["grades"]):
        tc = statistics.median(f.grades[level].seconds for f in convex)
        tg = statistics.median(f.grades[level].seconds for f in gd)
        c, g = convex[0].grades[level], gd[0].grades[level]
        rows.append([str(level + 1), f"{tc:.2f}", f"{tg:.2f}", f"{tc / tg:.2f}", f"{c.objective:.3f}",
                     f"{g.objective:.3f}", f"{c.neurons}/{c.patterns}", f"{g.neurons}/{plan['width']}"])
    print(f"profile {profile}: {plan['points']} points of Setting 1, β = {plan['beta']}, GD {plan['gd_steps']:,} "
          f"steps at η = {plan['gd_lr']}, median of {repeats} ({time.perf_counter() - started:.0f} s in all)")
    print(table(rows, ["grade", "convex s", "GD s", "convex/GD", "(8) convex", "(8) GD", "neurons/patterns",
                       "neurons/width"]))


if __name__ == "__main__":
    main(*sys.argv[1:2])
