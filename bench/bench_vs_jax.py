"""The library's GD step and training loop against JAX's best loop on the same small networks (issue 26).

The paper-scale synthetic runs are small networks stepped millions of times, so the time per epoch
decides how much of the paper a CPU reaches. This compares, on one core, per epoch:

- ``library``: :func:`mgdl_core.core.step.gd_step_` called once per epoch from Python (what
  :class:`~mgdl_core.core.step.GradientDescent` does for these sizes);
- ``train()``: the whole :func:`mgdl_core.core.training.train` loop with its callbacks, recording
  the loss every 100 epochs as the experiments do;
- ``JAX``: the form a JAX user would write at its fastest, ``jit`` of a ``lax.fori_loop`` over the
  same GD epochs (the authors' own loop, one jitted call per epoch, is slower than ours).

Same network and initial weights, data, objective (eq. (1): 1/(2N) Σ‖y − N(x)‖²), rate, float32 and
ReLU'(0) convention on both sides: ½ is what ``jnp.maximum(z, 0)`` differentiates to (the authors'
training, the paper's numbers), 0 is ``jax.nn.relu``'s and PyTorch's. Nets: SGDL (26) on Setting 1's
1,024 training points, and an MGDL grade [32]→[32]→[1] on 1,024 cached 32-wide features.

Timing: the process is pinned to one core (``--core``), XLA to one thread; variants alternate
block by block (bench/timing.py), so a shared machine slows them alike and the ratios stay
meaningful. Say the machine's load when quoting them. ``--profile`` also prints the ATen calls
of one library step (what a fused or compiled step would remove).

Rounding: the last two columns are the largest error of one float32 GD step in any weight,
against the same step in float64. The library's step fuses the weight gradient and the update in
one ``addmm_``; for a thin layer (the first layer of (26) has one input row) MKL accumulates the
1,024 products onto the weight itself, so the update carries about √N ulps of the weight's size
(~1e-5 at |W| ≈ 3), where a gradient computed first and then subtracted (JAX) carries about one.

Usage: ``pip install -e .[bench]`` (JAX, CPU), then
``python bench/bench_vs_jax.py [--epochs 2000] [--blocks 5] [--core 0] [--profile]``.
"""
from __future__ import annotations

import argparse
import os
import sys

# One XLA thread, set before JAX is imported: the comparison is one core against one core.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MGDL_NATIVE", "1")  # the C kernel's path (mgdl_core.core.native), opt-in in the library


def _nets(torch, seed: int = 0):
    """[(label, Network, x, y)]: SGDL (26) on Setting 1, an MGDL grade on cached features."""
    from mgdl_core.core.nets import sgdl_network
    from mgdl_core.tasks.synthetic import synthetic_dataset

    data = synthetic_dataset(1, dtype=torch.float32).train
    sgdl = sgdl_network("(26)", seed=seed, dtype=torch.float32)
    g = torch.Generator().manual_seed(seed)
    feats = torch.relu(torch.randn(data.x.shape[0], 32, generator=g, dtype=torch.float32))  # a grade's features
    grade = sgdl_network("[32]->[32]->[1]", seed=seed + 1, dtype=torch.float32)
    return [("SGDL (26), N = 1,024", sgdl, data.x, data.y),
            ("MGDL grade [32]→[32]→[1], N = 1,024", grade, feats, data.y - data.y.mean())]


def _jax_loop(jax, jnp, params, x, y, lr: float, relu0: float, epochs: int):
    """A jitted ``fori_loop`` of ``epochs`` GD epochs on the MLP ``params`` [(W [a, b], b [b])]."""
    relu = (lambda z: jnp.maximum(z, 0.0)) if relu0 == 0.5 else jax.nn.relu

    def loss(ps):
        h = x
        for i, (w, b) in enumerate(ps):
            h = h @ w + b
            if i < len(ps) - 1:
                h = relu(h)
        return 0.5 * jnp.mean(jnp.sum((h - y) ** 2, axis=1))

    grad = jax.grad(loss)

    @jax.jit
    def run(ps):
        def body(_, ps):
            return jax.tree_util.tree_map(lambda p, g: p - lr * g, ps, grad(ps))
        return jax.lax.fori_loop(0, epochs, body, ps)

    return run, loss


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=2000, help="epochs per timed block (default 2000)")
    ap.add_argument("--blocks", type=int, default=5, help="alternating blocks per variant (default 5)")
    ap.add_argument("--core", type=int, default=0, help="the core to pin to (default 0)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--profile", action="store_true", help="also list the ATen calls of one library step")
    ap.add_argument("--sizes", action="store_true",
                    help="instead: the native kernel against the reference step as N and the width grow "
                         "(where mgdl_core.core.native.MAX_WORK comes from; JAX not needed)")
    args = ap.parse_args(argv)
    if args.sizes:
        return _sizes(args)
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        print("error: JAX is not installed: pip install -e .[bench] (or pip install 'jax[cpu]')", file=sys.stderr)
        return 2
    import numpy as np
    import torch

    from mgdl_core.core import native
    from mgdl_core.core.data import Dataset, Split
    from mgdl_core.core.objectives import HALF_MSE
    from mgdl_core.core.step import gd_step_
    from mgdl_core.core.training import TrainConfig, train
    from mgdl_core.runtime import configure_cpu

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.core})
    configure_cpu()
    torch.set_num_threads(1)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from timing import interleave, table

    rows = []
    for label, net, x, y in _nets(torch):
        params = [(jnp.asarray(w.numpy()), jnp.asarray(b.numpy())) for w, b in net.branches[0]]
        xj, yj = jnp.asarray(x.numpy()), jnp.asarray(y.numpy())
        for relu0 in (0.5, 0.0):
            run, loss = _jax_loop(jax, jnp, params, xj, yj, args.lr, relu0, args.epochs)
            # One GD step on both sides against the same step in float64 (the library's, exact to
            # ~1e-16): the largest error in any weight, library and JAX.
            exact = net.to(dtype=torch.float64)
            gd_step_(exact, x.double(), y.double(), args.lr, relu_prime_at_zero=relu0)
            one = net.clone()
            gd_step_(one, x, y, args.lr, relu_prime_at_zero=relu0)
            ref = _jax_loop(jax, jnp, params, xj, yj, args.lr, relu0, 1)[0](params)
            exact_w = [w.numpy() for w, _ in exact.branches[0]]

            def err(net_) -> float:
                return max(float(np.max(np.abs(w.double().numpy() - e))) for (w, _), e in zip(net_.branches[0], exact_w))

            err_lib = err(one)
            has_native = native.eligible(net, x, y, HALF_MSE)
            nat = net.clone()
            kernel = native.NativeGD(nat.widths[0], x.shape[0]) if has_native else None
            if kernel is not None:
                kernel.run(nat, x, y, args.lr, relu0, 1)
            err_nat = err(nat) if kernel is not None else float("nan")
            err_jax = max(float(np.max(np.abs(np.asarray(w, dtype=np.float64) - e))) for (w, _), e in zip(ref, exact_w))
            lib = net.clone()

            def library() -> None:
                for _ in range(args.epochs):
                    gd_step_(lib, x, y, args.lr, relu_prime_at_zero=relu0)

            config = TrainConfig(epochs=args.epochs, lr=args.lr, record_every=100, relu_prime_at_zero=relu0)
            data = Dataset(Split(x, y))

            def loop() -> None:
                train(net.clone(), data, config)

            def jax_fori() -> None:
                jax.block_until_ready(run(params))

            def native_run() -> None:
                kernel.run(nat, x, y, args.lr, relu0, args.epochs)

            variants = {"library": library, "train": loop, "jax": jax_fori}
            if kernel is not None:
                variants["native"] = native_run
            t = interleave(variants, repeats=1, blocks=args.blocks, warmup=1)
            per = {k: v / args.epochs * 1e3 for k, v in t.items()}
            nat_ms = per.get("native", float("nan"))
            rows.append([label, f"{relu0:g}", f"{per['library']:.3f}", f"{nat_ms:.3f}", f"{per['train']:.3f}",
                         f"{per['jax']:.3f}", f"{per['library'] / per['jax']:.2f}", f"{nat_ms / per['jax']:.2f}",
                         f"{per['train'] / per['jax']:.2f}", f"{err_lib:.1e}", f"{err_nat:.1e}", f"{err_jax:.1e}"])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, jax {jax.__version__}, one core (#{args.core}), float32, "
          f"{args.epochs:,} epochs per block, {args.blocks} blocks; load average {load:.2f}")
    print(f"native kernel: {native.describe()}")
    print(table(rows, ["net", "ReLU'(0)", "reference ms/epoch", "native ms/epoch", "train() ms/epoch",
                       "JAX fori_loop ms/epoch", "reference / JAX", "native / JAX", "train() / JAX",
                       "one step: reference's error", "native's error", "JAX's error"]))
    if args.profile:
        _profile(torch, gd_step_, args.lr)
    return 0


def _sizes(args) -> int:
    """Reference step / native kernel, ms per epoch, for [1]->[w]x4->[1] on N points, ReLU'(0) = ½."""
    import torch

    from mgdl_core.core import native
    from mgdl_core.core.nets import sgdl_network
    from mgdl_core.core.step import gd_step_
    from mgdl_core.runtime import configure_cpu

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.core})
    configure_cpu()
    torch.set_num_threads(1)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from timing import interleave, table

    if not native.available():
        print(f"error: the native kernel is not available here: {native.describe()}", file=sys.stderr)
        return 2
    rows = []
    for n, width in ((1024, 32), (1024, 64), (1024, 128), (1024, 256), (4096, 32), (16384, 32), (4096, 128)):
        net = sgdl_network(f"[1]->[{width}]x4->[1]", seed=0)
        x = torch.linspace(0, 1, n)[:, None]
        y = torch.sin(6 * x)
        ref, fast = net.clone(), net.clone()
        kernel = native.NativeGD(fast.widths[0], n)
        epochs = max(10, args.epochs * 32 * 1024 // (n * width))

        def reference() -> None:
            for _ in range(epochs):
                gd_step_(ref, x, y, args.lr, relu_prime_at_zero=0.5)

        def kernel_run() -> None:
            kernel.run(fast, x, y, args.lr, 0.5, epochs)

        t = interleave({"reference": reference, "native": kernel_run}, repeats=1, blocks=args.blocks, warmup=1)
        rows.append([f"{n:,}", str(width), f"{n * width:,}", f"{t['reference'] / epochs * 1e3:.3f}",
                     f"{t['native'] / epochs * 1e3:.3f}", f"{t['native'] / t['reference']:.2f}"])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, one core (#{args.core}), float32, ReLU'(0) = 0.5, [1]->[w]x4->[1]; "
          f"load average {load:.2f}; native: {native.describe()}")
    print(table(rows, ["N", "width", "N · width", "reference ms/epoch", "native ms/epoch", "native / reference"]))
    return 0


def _profile(torch, gd_step_, lr: float) -> None:
    """The ATen calls of one library step per net and convention, most frequent first."""
    from collections import Counter

    from torch.profiler import ProfilerActivity, profile

    for label, net, x, y in _nets(torch):
        for relu0 in (0.5, 0.0):
            for _ in range(5):
                gd_step_(net, x, y, lr, relu_prime_at_zero=relu0)
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                gd_step_(net, x, y, lr, relu_prime_at_zero=relu0)
            names = Counter(e.name for e in prof.events() if e.name.startswith("aten::") and e.cpu_parent is None)
            print(f"\n{label}, ReLU'(0) = {relu0:g}: {sum(names.values())} top-level ATen calls per step")
            print("  " + ", ".join(f"{n.removeprefix('aten::')} ×{c}" for n, c in names.most_common()))


if __name__ == "__main__":
    sys.exit(main())
