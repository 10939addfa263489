"""A sweep of K learning rates against K sequential runs, per backend and numeric path.

Usage: python bench/bench_sweep.py [--rates 30] [--epochs 2000] [--method sgdl] [--device cuda]
On a CPU it compares, on all the machine's cores, the process pool (the CPU default) and the
batched path (K stacked models in one process) with a plain loop, each on the reference step and
(where a C compiler is found) on the C kernel of mgdl_core.core.native (``MGDL_NATIVE=1``; the
batched path has no kernel). On CUDA the batched path is the default and the one that should win.
Wall times include starting the worker processes; no records are written.
"""
from __future__ import annotations

import argparse
import os
import time

from mgdl_core.core import native
from mgdl_core.runs.sweeps import available_cores, log_rates, sweep
from mgdl_core.runtime import configure_cpu, get_device
from mgdl_core.tasks.synthetic import SyntheticRun
from timing import table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rates", type=int, default=30)
    ap.add_argument("--epochs", type=int, default=2000)
    ap.add_argument("--method", default="sgdl")
    ap.add_argument("--device", default=None)
    args = ap.parse_args()
    configure_cpu()
    device = str(get_device(args.device))
    configs = [SyntheticRun(setting=1, method=args.method, lr=float(lr), epochs=args.epochs, device=device)
               for lr in log_rates(0.001, 0.5, args.rates)]
    paths = ["reference"]
    os.environ["MGDL_NATIVE"] = "1"
    if not device.startswith("cuda") and native.available():
        paths.append("native")
    rows, base = [], None
    for path in paths:
        os.environ["MGDL_NATIVE"] = "1" if path == "native" else "0"  # the workers inherit it
        for backend in ("serial", "processes", "batched"):
            if (backend == "processes" and device.startswith("cuda")) or (backend == "batched" and path == "native"):
                continue
            t = time.perf_counter()
            sweep(configs, backend=backend, progress=False)
            wall = time.perf_counter() - t
            base = base or wall
            rows.append([backend, path, f"{wall:.1f}", f"{base / wall:.2f}x"])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{args.rates} rates x {args.epochs} epochs of {args.method} on {device}, {available_cores()} cores, "
          f"load average {load:.2f}")
    print(table(rows, ["backend", "step", "wall s", "vs serial reference"]))


if __name__ == "__main__":
    main()
