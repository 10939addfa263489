"""MGDL grade step with cached frozen features vs recomputing them every step.

Target (issue 3): the cached grade step is flat across grades (grade 4 / grade 2 ~ 1.0),
while recomputation grows with the depth of the frozen stack.
Usage: python bench/bench_mgdl_cache.py
"""
from __future__ import annotations


from mgdl_core.core.nets import Network, init_params, mgdl_structure
from mgdl_core.runtime import configure_cpu
from mgdl_core.core.step import gd_step_, mlp_features
from mgdl_core.tasks.synthetic import synthetic_dataset
from timing import interleave, table


def main() -> None:
    configure_cpu()
    data = synthetic_dataset(1).train
    grades = mgdl_structure("(30)")
    frozen = [init_params(w, seed=l) for l, w in enumerate(grades)]
    rows, cached_times = [], []
    for l, widths in enumerate(grades, start=1):
        net = Network([init_params(widths, seed=100 + l)])
        feats = data.x
        for p in frozen[:l - 1]:
            feats = mlp_features(p, feats)

        def cached() -> None:
            gd_step_(net, feats, data.y, 1e-4)

        def recompute() -> None:
            h = data.x
            for p in frozen[:l - 1]:
                h = mlp_features(p, h)
            gd_step_(net, h, data.y, 1e-4)

        t = interleave({"cached": cached, "recompute": recompute}, repeats=300)
        cached_times.append(t["cached"])
        rows.append([str(l), str(net.num_parameters()), str(l - 1), f"{t['cached'] * 1e6:.0f}",
                     f"{t['recompute'] * 1e6:.0f}", f"{t['recompute'] / t['cached']:.2f}"])
    print(table(rows, ["grade", "trainable M", "frozen grades", "cached µs/step", "recompute µs/step",
                       "recompute/cached"]))
    print(f"cached grade 4 / grade 2: {cached_times[3] / cached_times[1]:.2f} (flat = 1.0)")


if __name__ == "__main__":
    main()
