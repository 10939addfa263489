"""Seconds per spectrum of I − ηH (10 + 10 extreme eigenvalues, §6): Lanczos vs dense.

    python bench/bench_hessian.py                     # the three cases, 3 interleaved repeats
    python bench/bench_hessian.py --skip-dense-large  # without the minutes-long dense (27)
    python bench/bench_hessian.py --tracking          # EigenTracker overhead while training (26)
    python bench/bench_hessian.py --full-size         # beyond the paper: (28) on a full §4 training set

One process, one thread (``mgdl_core.runtime.configure_cpu``), alternatives interleaved block by
block so that the neighbours' load hits both alike; tables give medians. "Agreement" is the
largest |Δλ(H)| over the 20 eigenvalues divided by ‖H‖, dense being the reference.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from mgdl_core.theory.hessian import EigenTracker, hessian_spectrum
from mgdl_core.core.mgdl import train_mgdl
from mgdl_core.core.nets import mgdl_structure, sgdl_network
from mgdl_core.runtime import configure_cpu
from mgdl_core.core.step import gd_step_, mlp_forward
from mgdl_core.tasks.synthetic import synthetic_dataset
from mgdl_core.core.data import Dataset, Split
from mgdl_core.core.training import TrainConfig, train

F64 = torch.float64


def image_split(n: int = 64) -> Split:
    """A 64×64 synthetic grey image (sine patterns) on the grid of [0, 1]²: N = 4096 points."""
    t = torch.linspace(0, 1, n, dtype=F64)
    u, v = torch.meshgrid(t, t, indexing="ij")
    img = 0.5 + 0.25 * torch.sin(2 * torch.pi * 3 * u) * torch.cos(2 * torch.pi * 2 * v) \
        + 0.2 * torch.sin(2 * torch.pi * 5 * (u + v))
    return Split(torch.stack([u, v], -1).reshape(-1, 2), img.reshape(-1, 1))


def cases(steps26: int, steps27: int, mgdl_epochs: int):
    """(name, net, x, y, eta) after a little GD, so that H has structure."""
    out = []
    syn = synthetic_dataset(1, dtype=F64)
    net = sgdl_network("(26)", dtype=F64)
    for _ in range(steps26):
        gd_step_(net, syn.train.x, syn.train.y, 0.05)
    out.append(("SGDL (26), synthetic N=1024", net, syn.train.x, syn.train.y, 0.05))
    img = image_split()
    net = sgdl_network("(27)", dtype=F64)
    for _ in range(steps27):
        gd_step_(net, img.x, img.y, 0.05)
    out.append(("SGDL (27), image N=4096", net, img.x, img.y, 0.05))
    res = train_mgdl(mgdl_structure("(30)")[:2], syn, TrainConfig(epochs=mgdl_epochs, lr=0.06))
    g1, g2 = res.model.grades
    feats = res.model.features(syn.train.x, 2)
    resid = syn.train.y - mlp_forward(g1.branches[0], syn.train.x)
    out.append(("MGDL grade 2 [32]->[32]->[1]", g2, feats, resid, 0.06))
    return out


def timed(fn):
    t = time.perf_counter()
    r = fn()
    return time.perf_counter() - t, r


def bench_spectra(args) -> None:
    t0 = time.perf_counter()
    cs = cases(args.steps26, args.steps27, args.mgdl_epochs)
    print(f"setup (training the checkpoints): {time.perf_counter() - t0:.1f} s")
    times = {c[0]: {"lanczos": [], "dense": []} for c in cs}
    spectra: dict[str, dict[str, object]] = {c[0]: {} for c in cs}
    for rep in range(args.repeats):
        for name, net, x, y, eta in cs:
            large = net.num_parameters() > 5000
            for method in ("lanczos", "dense"):
                if method == "dense" and large and (args.skip_dense_large or rep >= args.dense_large_repeats):
                    continue
                dt, spec = timed(lambda: hessian_spectrum(net, x, y, eta, k=10, method=method))
                times[name][method].append(dt)
                spectra[name][method] = spec
                print(f"  rep {rep}: {name:32s} {method:8s} {dt:8.2f} s  ({spec.hvps} HVPs)", flush=True)
    print()
    print("| case | M | Lanczos s (median) | HVPs | dense s (median) | dense/Lanczos | agreement max Δλ / ‖H‖ | λ_max(H) | min eig(I−ηH) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, net, x, y, eta in cs:
        lt, dt = times[name]["lanczos"], times[name]["dense"]
        lan = spectra[name]["lanczos"]
        lm = statistics.median(lt)
        if dt:
            den = spectra[name]["dense"]
            dm = statistics.median(dt)
            lam_l = np.r_[(1 - lan.smallest) / eta, (1 - lan.largest) / eta]
            lam_d = np.r_[(1 - den.smallest) / eta, (1 - den.largest) / eta]
            agree = np.abs(lam_l - lam_d).max() / den.hessian_norm
            dcol = f"{dm:.2f}" + ("" if len(dt) == len(lt) else f" ({len(dt)} run)")
            extra = f"{dcol} | {dm / lm:.0f}× | {agree:.1e}"
        else:
            extra = "skipped | – | –"
        print(f"| {name} | {net.num_parameters()} | {lm:.3f} | {lan.hvps} | {extra} | {lan.lambda_max:.4g} | {lan.smallest[0]:.4f} |")


def bench_tracking(args) -> None:
    syn = synthetic_dataset(1)  # float32 training, as the experiments; the tracker works in float64
    data = Dataset(syn.train, syn.val)
    cfg = TrainConfig(epochs=args.track_epochs, lr=0.08, record_every=100)
    every = args.track_every
    res: dict[str, list[float]] = {"without": [], "with": []}
    evals = 0
    for rep in range(args.track_repeats):
        for mode in ("without", "with"):
            tracker = [EigenTracker(every=every, k=10)] if mode == "with" else []
            r = train(sgdl_network("(26)"), data, cfg, tracker)
            res[mode].append(r.seconds)
            if tracker:
                evals = len(r.history["eig_epoch"])
                alpha = tracker[0].alpha
            print(f"  rep {rep}: {mode:7s} tracker: {r.seconds:.1f} s", flush=True)
    t_without, t_with = statistics.median(res["without"]), statistics.median(res["with"])
    per_eval = (t_with - t_without) / evals
    per_epoch = t_without / args.track_epochs
    paper = per_eval / (10_000 * per_epoch)
    print()
    print("| quantity | value |\n|---|---:|")
    print(f"| training (26), {args.track_epochs} epochs, no tracker | {t_without:.1f} s ({1e3 * per_epoch:.2f} ms/epoch) |")
    print(f"| same with EigenTracker(every={every}), {evals} evaluations | {t_with:.1f} s |")
    print(f"| measured overhead | {100 * (t_with - t_without) / t_without:.0f}% |")
    print(f"| cost per evaluation (difference / evaluations) | {per_eval:.2f} s |")
    print(f"| extrapolated overhead at the paper's cadence (1 per 1e4 epochs) | {100 * paper:.1f}% |")
    print(f"| extrapolated: 1e6 epochs + 101 evaluations | {1e6 * per_epoch / 60:.1f} min + {101 * per_eval / 60:.1f} min |")
    print(f"| running α = max ‖H‖ seen | {alpha:.4g} (2/η = {2 / 0.08:.4g}) |")


def calibration() -> str:
    """How loaded the core is: a float64 [1024,32]@[32,32] GEMM takes ≈ 30–40 µs on an idle core
    of the project's CPU (51–71 GFLOP/s, shared/notes/performance.md §5.2)."""
    a, b = torch.randn(1024, 32, dtype=F64), torch.randn(32, 32, dtype=F64)
    ts = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(200):
            torch.mm(a, b)
        ts.append((time.perf_counter() - t) / 200)
    return f"calibration: f64 GEMM [1024,32]@[32,32] = {1e6 * statistics.median(ts):.0f} µs (idle core ≈ 30–40 µs)"


def bench_full_size(args) -> None:
    """The spectrum of a full-size image network, which the paper had to avoid (it shrank to
    (27)/(31) and pixel subsets): SGDL (28), 116,097 parameters, on the §4 regression training
    set of 'cameraman' (the even rows and columns of the 256×256 image: 16,384 pixels), after a
    few hundred Adam steps at the paper's rate 1e-3."""
    from mgdl_core.tasks.images import load_image

    img = torch.as_tensor(load_image("cameraman"), dtype=torch.float32)
    n = img.shape[0]
    coords = torch.linspace(0, 1, n + 1)[:-1]  # linspace(0, 1, n, endpoint=False), as the authors
    grid = torch.stack(torch.meshgrid(coords, coords, indexing="ij")[::-1], -1)  # (col, row)
    x = grid[::2, ::2].reshape(-1, 2)
    y = img[::2, ::2].reshape(-1, 1)
    net = sgdl_network("(28)", init="glorot", seed=0)
    data = Dataset(Split(x, y))
    t = time.perf_counter()
    train(net, data, TrainConfig(epochs=args.full_size_steps, lr=1e-3, optimizer="adam", record_every=100))
    train_s = time.perf_counter() - t
    t = time.perf_counter()
    spec = hessian_spectrum(net, x, y, eta=1e-3, k=10)
    spec_s = time.perf_counter() - t
    print(f"SGDL (28), M = {net.num_parameters():,}, N = {x.shape[0]:,} pixels; "
          f"{args.full_size_steps} Adam steps in {train_s:.0f} s")
    print(f"Lanczos: {spec_s:.1f} s, {spec.hvps} Hessian-vector products; "
          f"λ_max(H) = {spec.lambda_max:.4g}, λ_min(H) = {spec.lambda_min:.4g}")
    print("10 smallest eigenvalues of I − ηH at η = 1e-3: " + " ".join(f"{v:.4f}" for v in spec.smallest))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--skip-dense-large", action="store_true", help="skip the dense (27) Hessian (minutes)")
    p.add_argument("--dense-large-repeats", type=int, default=1, help="dense (27) runs (default 1)")
    p.add_argument("--steps26", type=int, default=2000)
    p.add_argument("--steps27", type=int, default=500)
    p.add_argument("--mgdl-epochs", type=int, default=2000)
    p.add_argument("--tracking", action="store_true", help="measure EigenTracker's overhead instead")
    p.add_argument("--track-epochs", type=int, default=20_000)
    p.add_argument("--track-every", type=int, default=200)
    p.add_argument("--track-repeats", type=int, default=1)
    p.add_argument("--full-size", action="store_true", help="the spectrum of (28) on cameraman's 16,384 pixels")
    p.add_argument("--full-size-steps", type=int, default=300)
    args = p.parse_args()
    configure_cpu(1)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}; {calibration()}")
    if args.full_size:
        bench_full_size(args)
    elif args.tracking:
        bench_tracking(args)
    else:
        bench_spectra(args)
    print(calibration())


if __name__ == "__main__":
    main()
