"""A tuning grid of ROF solves (eq. 18) at once against one solve per λ.

The restoration page tunes λ of eq. (18) over ``TV_GRID`` (16 values) for every cell, on the
quick profile's 32² images, and ``mgdl paper classical`` on the full-size ones. On a small image
the solvers' time goes to calling tiny operations, so :func:`solve_rof_grid` runs every λ as one
stack of images (a λ leaves the stack when its own stopping rule holds); on a large image the
arithmetic dominates and the two should cost about the same.

Prints, per image side and problem: the seconds of a loop of :func:`solve_rof` over the grid and
of one :func:`solve_rof_grid` call (interleaved blocks, median), their ratio, and the largest
pixel difference between the two (they differ by rounding only).

Usage (one thread; the machine is shared)::

    OMP_NUM_THREADS=1 MGDL_DATA_DIR=../shared/data/images .venv/bin/python bench/bench_rof_grid.py [--sides 32 128] [--blocks 3]
"""
from __future__ import annotations

import argparse

import numpy as np
from timing import interleave, table

from mgdl_core.pages.restoration_report import TV_GRID
from mgdl_core.tasks import RestorationRun
from mgdl_core.tasks.images import quick_downscale
from mgdl_core.tasks.restoration_baselines import solve_rof, solve_rof_grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument("--image", default="pirate")
    args = parser.parse_args()
    rows = []
    for side in args.sides:
        for problem, level in (("denoise", dict(noise=40)), ("deblur", dict(blur=3))):
            config = RestorationRun.profile("quick", image=args.image, problem=problem, method="sgdl",
                                            downscale=quick_downscale(args.image, side), **level)
            obs = config.observation()
            A, B = config.operators()
            kw = dict(iterations=5000, tol=1e-6)
            loop = [solve_rof(obs, A, B, lam, **kw) for lam in TV_GRID]
            grid = solve_rof_grid(obs, A, B, TV_GRID, **kw)
            diff = max(float(np.abs(a.image - b.image).max()) for a, b in zip(loop, grid))
            t = interleave({"loop": lambda: [solve_rof(obs, A, B, lam, **kw) for lam in TV_GRID],
                            "grid": lambda: solve_rof_grid(obs, A, B, TV_GRID, **kw)},
                           repeats=1, blocks=args.blocks, warmup=0)
            rows.append([f"{obs.shape[0]}²", problem, f"{len(TV_GRID)}", f"{sum(s.iterations for s in loop):,}",
                         f"{t['loop']:.2f}", f"{t['grid']:.2f}", f"{t['loop'] / t['grid']:.2f}", f"{diff:.1e}"])
    print(table(rows, ["image", "problem", "λ", "iterations (all λ)", "loop s", "grid s", "loop / grid",
                       "max |Δ pixel|"]))


if __name__ == "__main__":
    main()
