"""The library's hand-written GD step against a plain nn.Module + autograd loop on the same net.

Target (issue 3): >= 1.8x on CPU for structure (26). Also the cost of the JAX convention
ReLU'(0) = 1/2 (the authors' training; one extra elementwise op per hidden layer) against the
in-place-ReLU step with ReLU'(0) = 0. Usage: python bench/bench_step.py [--device cuda]
"""
from __future__ import annotations

import argparse

import torch

from mgdl_core.core.nets import sgdl_network
from mgdl_core.runtime import configure_cpu, get_device
from mgdl_core.core.step import gd_step_
from mgdl_core.tasks.synthetic import synthetic_dataset
from timing import eager_model, interleave, table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default=None)
    ap.add_argument("--structures", default="(26),(27)")
    args = ap.parse_args()
    configure_cpu()
    device = get_device(args.device)
    rows = []
    for dtype in (torch.float32, torch.float64):
        for structure in args.structures.split(","):
            net = sgdl_network(structure, dtype=dtype, device=device)
            d_in = net.widths[0][0]
            if d_in == 1:
                data = synthetic_dataset(1, dtype=dtype, device=device).train
                x, y = data.x, data.y
            else:
                g = torch.linspace(0, 1, 64, dtype=dtype, device=device)
                x = torch.cartesian_prod(g, g)
                y = torch.sin(6 * x[:, :1]) * torch.cos(4 * x[:, 1:])
            model = eager_model(net.branches[0])

            def hand() -> None:
                gd_step_(net, x, y, 1e-3)

            def hand_half() -> None:
                gd_step_(net, x, y, 1e-3, relu_prime_at_zero=0.5)

            def eager() -> None:
                model.zero_grad(set_to_none=True)
                loss = 0.5 * ((model(x) - y) ** 2).sum() / x.shape[0]
                loss.backward()
                with torch.no_grad():
                    for p in model.parameters():
                        p.add_(p.grad, alpha=-1e-3)

            reps = 200 if x.shape[0] <= 1024 else 20
            t = interleave({"hand": hand, "hand_half": hand_half, "eager": eager}, repeats=reps)
            rows.append([structure, str(dtype).replace("torch.", ""), f"{x.shape[0]}", f"{t['hand'] * 1e6:.0f}",
                         f"{t['eager'] * 1e6:.0f}", f"{t['eager'] / t['hand']:.2f}x",
                         f"{t['hand_half'] * 1e6:.0f}", f"{t['hand_half'] / t['hand']:.2f}"])
    print(f"device: {device}, threads: {torch.get_num_threads()}")
    print(table(rows, ["structure", "dtype", "N", "hand µs/step", "nn.Module+autograd µs/step", "speed-up",
                      "hand, ReLU'(0)=½ µs/step", "½ / 0"]))


if __name__ == "__main__":
    main()
