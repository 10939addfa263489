"""A sweep of K learning rates against K sequential runs, per backend.

Usage: python bench/bench_sweep.py [--rates 32] [--epochs 2000] [--device cuda]
On a CPU it compares the process pool (the CPU default) and the batched path with a plain
loop; on CUDA the batched path is the default and the one that should win.
"""
from __future__ import annotations

import argparse
import time

from mgdl_core.tasks.synthetic import SyntheticRun
from mgdl_core.runtime import configure_cpu, get_device
from mgdl_core.runs.sweeps import available_cores, log_rates, sweep
from timing import table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rates", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=2000)
    ap.add_argument("--method", default="sgdl")
    ap.add_argument("--device", default=None)
    args = ap.parse_args()
    configure_cpu()
    device = str(get_device(args.device))
    configs = [SyntheticRun(setting=1, method=args.method, lr=float(lr), epochs=args.epochs, device=device)
               for lr in log_rates(0.001, 0.5, args.rates)]
    rows, base = [], None
    for backend in ("serial", "processes", "batched"):
        if backend == "processes" and device.startswith("cuda"):
            continue
        t = time.perf_counter()
        sweep(configs, backend=backend, progress=False)
        wall = time.perf_counter() - t
        base = base or wall
        rows.append([backend, f"{wall:.1f}", f"{base / wall:.2f}x"])
    print(f"{args.rates} rates x {args.epochs} epochs of {args.method} on {device}, {available_cores()} cores")
    print(table(rows, ["backend", "wall s", "vs sequential"]))


if __name__ == "__main__":
    main()
