"""GPU check, under 5 minutes on one H100/H200: speed of the hot paths and agreement with the CPU.

1. Per-step time of SGDL (28) [2]->[128]x8->[1] on 65,536 pixels (a 256x256 grid), float32.
2. A 32-rate synthetic sweep (SGDL (26), Setting 1) batched on the GPU vs one GPU run, and the
   same 32 runs estimated sequentially.
3. A few hundred GD steps on the GPU against the CPU in float64 (max |ΔW|, loss difference).

Usage: python bench/gpu_check.py [--device cuda] [--steps 300] [--smoke]
``--smoke`` shrinks every size so the script can be checked on a CPU in seconds.
"""
from __future__ import annotations

import argparse
import time

import torch

from mgdl_core.tasks.synthetic import SyntheticRun
from mgdl_core.core.nets import sgdl_network
from mgdl_core.runs.records import environment_summary
from mgdl_core.runtime import configure_cpu, get_device
from mgdl_core.core.step import gd_step_, loss_value
from mgdl_core.runs.sweeps import log_rates, sweep
from timing import table


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def image_step(device: torch.device, side: int, steps: int) -> float:
    g = torch.linspace(0, 1, side, device=device)
    x = torch.cartesian_prod(g, g)
    y = torch.sin(8 * x[:, :1]) * torch.cos(5 * x[:, 1:])
    net = sgdl_network("(28)", device=device)
    for _ in range(5):
        gd_step_(net, x, y, 1e-3)
    _sync(device)
    t = time.perf_counter()
    for _ in range(steps):
        gd_step_(net, x, y, 1e-3)
    _sync(device)
    return (time.perf_counter() - t) / steps


def sweep_speed(device: torch.device, rates: int, epochs: int) -> tuple[float, float]:
    configs = [SyntheticRun(setting=1, method="sgdl", lr=float(lr), epochs=epochs, device=str(device))
               for lr in log_rates(0.001, 0.5, rates)]
    t = time.perf_counter()
    sweep(configs[:1], backend="batched" if device.type == "cuda" else "serial", progress=False)
    one = time.perf_counter() - t
    t = time.perf_counter()
    sweep(configs, backend="batched", progress=False)
    return one, time.perf_counter() - t


def agreement(device: torch.device, steps: int) -> tuple[float, float]:
    data = torch.linspace(0, 1, 1024, dtype=torch.float64)[:, None]
    y = torch.sin(2 * torch.pi * 5.5 * data) + torch.sin(2 * torch.pi * data)
    cpu = sgdl_network("(26)", dtype=torch.float64)
    gpu = cpu.to(device=device)
    xd, yd = data.to(device), y.to(device)
    for _ in range(steps):
        gd_step_(cpu, data, y, 0.05)
        gd_step_(gpu, xd, yd, 0.05)
    dw = (cpu.vector() - gpu.vector().cpu()).abs().max().item()
    dl = abs(loss_value(cpu, data, y).item() - loss_value(gpu, xd, yd).item())
    return dw, dl


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default=None)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    configure_cpu()
    device = get_device(args.device)
    side, img_steps, rates, epochs = (32, 3, 4, 200) if args.smoke else (256, 50, 32, 20_000)
    print(environment_summary(device))
    t0 = time.perf_counter()
    step = image_step(device, side, img_steps)
    one, batch = sweep_speed(device, rates, epochs)
    dw, dl = agreement(device, 20 if args.smoke else args.steps)
    rows = [
        [f"SGDL (28) GD step, {side * side:,} pixels, float32", f"{step * 1e3:.2f} ms"],
        [f"1 synthetic run, {epochs:,} epochs", f"{one:.1f} s"],
        [f"{rates} rates batched, {epochs:,} epochs", f"{batch:.1f} s ({rates * one / batch:.1f}x the sequential estimate)"],
        ["GPU vs CPU float64, max |ΔW| / |Δloss|", f"{dw:.2e} / {dl:.2e}"],
    ]
    print(table(rows, ["check", "result"]))
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
