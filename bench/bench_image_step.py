"""How close one full-batch Adam step of the image network (28) gets to this CPU's matmul peak.

Measures, in one process, 1 thread, float32, structure (28) ``[2]->[128]x8->[1]`` (116,097
parameters), N = 16,384 pixels (a 128x128 grid of coordinates in [0, 1), target [N, 1]), one Adam
step (betas (0.9, 0.999), eps 1e-8, constant lr 1e-3):

1. the peak: ``torch.mm`` (MKL) at 4096^3 and at this net's own GEMM shapes (forward
   [N,128]x[128,128], weight grad [128,N]x[N,128], input grad [N,128]x[128,128]); and the same
   through oneDNN (``torch.ops.mkldnn._linear_pointwise``, what the fast prototype uses), because
   on an AMD host MKL takes its AVX2 path and reaches only about half of what oneDNN's AVX-512
   kernels do (on Intel hosts the two are close);
2. the FLOPs of one step (2·N·d_in·d_out per GEMM; forward, weight grad, and input grad except
   for the first layer) and, per variant, ms/step, GFLOP/s, % of the ``torch.mm`` 4096^3 peak,
   % of the ``torch.mm`` own-shape speed, % of the oneDNN 4096^3 peak, and the time ratio to
   the library's ``adam_step_`` (below 1: faster than the library);
3. variants: (a) the library's ``mgdl_core.core.step.adam_step_``; (b) eager ``nn.Sequential`` +
   autograd + ``torch.optim.Adam(foreach=True)``; (c) the same with ``fused=True``; (d) hand-
   written prototypes in this file (no loss, hand backward, ReLU'(0) = 0): ``mkl_*`` keep the
   library's [N, d] layout and MKL GEMMs but write into buffers reused across steps
   (``out=``), mask in place and optionally use ``torch._fused_adam_``; ``dnnl_*`` hold
   activations feature-major ([d+1, N], a row of ones appended so that the bias is part of the
   GEMM, both in the forward and in the weight gradient) and run every large GEMM through
   oneDNN with the ReLU fused into the forward GEMM; (e) ``torch.compile`` of the MKL hand step
   (skipped with ``--no-compile``; its compile seconds are printed);
4. a correctness check: every variant runs 5 steps from the same parameters as the library step;
   printed are max|p - p_lib| / max|p_lib| over the whole parameter vector (the criterion: a
   variant above 1e-5 is reported as WRONG, not fast), the same per tensor (worst tensor; strict
   for the biases, which start at 0 and are only ~5e-3 after 5 steps), and the distance of each
   variant to the same 5 steps in float64 (the library's own float32 rounding error is the yard-
   stick: a variant that is no farther from float64 than the library is as accurate).

The fast prototype is :func:`fast_adam_step_` (variant d5): float32 CPU only; it is written as a
library function (params list of (W, b), x, y, lr, AdamState, buffers from :func:`fast_buffers`).

Usage (pin to one core; the machine is shared)::

    OMP_NUM_THREADS=1 taskset -c 1 .venv/bin/python bench/bench_image_step.py [--no-compile]
        [--blocks 7] [--repeats 3] [--no-mallopt]

``--no-mallopt`` skips the library's glibc tuning (``configure_cpu``: no mmap for big buffers),
to see which variants depend on it. Takes about 2-4 minutes.
"""
from __future__ import annotations

import argparse
import os
import time

import torch

from timing import eager_model, interleave, table  # bench/ is on sys.path when a bench script runs

from mgdl_core.core.nets import sgdl_network
from mgdl_core.runtime import configure_cpu
from mgdl_core.core.objectives import HALF_MSE
from mgdl_core.core.step import Adam, AdamState, adam_step_
from mgdl_core.core.step import adam_update_ as adam_foreach_  # the library's update, op for op

Tensor = torch.Tensor
Params = list[tuple[Tensor, Tensor]]

LR = 1e-3
BETAS = (0.9, 0.999)
EPS = 1e-8
TOL = 1e-5

_threshold_backward_out = torch.ops.aten.threshold_backward.grad_input
_linear = torch.ops.mkldnn._linear_pointwise  # (X, W, B, attr, scalars, algo) -> X @ W^T (+ B), oneDNN


# --------------------------------------------------------------------------------------------
# Adam updates (the library's foreach sequence, and torch's fused CPU kernel)
# --------------------------------------------------------------------------------------------

def adam_fused_(ps: list[Tensor], gs: list[Tensor], state: AdamState, lr: float, step: Tensor) -> None:
    """One ``torch._fused_adam_`` call (one pass over p, g, m, v); ``step`` is a float32 0-d
    tensor the kernel reads (it does not increment it: torch.optim does that before calling)."""
    b1, b2 = state.betas
    state.t += 1
    step.fill_(state.t)
    torch._fused_adam_(ps, gs, state.m, state.v, [], [step] * len(ps), lr=lr, beta1=b1, beta2=b2,
                       weight_decay=0.0, eps=state.eps, amsgrad=False, maximize=False)


# --------------------------------------------------------------------------------------------
# (d1) MKL, library layout [N, d], buffers reused across steps
# --------------------------------------------------------------------------------------------

def mkl_buffers(params: Params, n: int) -> dict:
    dt = params[0][0].dtype
    return {
        "z": [torch.empty(n, w.shape[1], dtype=dt) for w, _ in params],        # layer outputs
        "gp": [torch.empty(n, w.shape[0], dtype=dt) for w, _ in params[1:]],   # input grads
        "grads": [torch.empty_like(t) for wb in params for t in wb],
        "step": torch.zeros((), dtype=torch.float32),
    }


def mkl_adam_step_(params: Params, x: Tensor, y: Tensor, lr: float, state: AdamState, buf: dict,
                   fwd: str = "addmm", adam: str = "foreach") -> None:
    """The library's math in its [N, d] layout, every result written into a reused buffer, no
    loss, ReLU mask applied in place. ``fwd``: "addmm" (``addmm(b, h, W, out=z)``) or "mm_add"
    (``mm(h, W, out=z)`` then ``z.add_(b)``). ``adam``: "foreach" (library's ops) or "fused"."""
    n = x.shape[0]
    last = len(params) - 1
    zs, gps, grads = buf["z"], buf["gp"], buf["grads"]
    h = x
    for i, (w, b) in enumerate(params):
        z = zs[i]
        if fwd == "addmm":
            torch.addmm(b, h, w, out=z)
        else:
            torch.mm(h, w, out=z)
            z.add_(b)
        if i < last:
            z.relu_()
        h = z
    g = torch.sub(h, y, out=h).mul_(1.0 / n)      # dL/d(out) = (out - y) / N, in place
    for i in range(last, -1, -1):
        w, _ = params[i]
        hin = x if i == 0 else zs[i - 1]
        torch.mm(hin.t(), g, out=grads[2 * i])
        torch.sum(g, 0, out=grads[2 * i + 1])
        if i > 0:
            gp = torch.mm(g, w.t(), out=gps[i - 1])
            g = _threshold_backward_out(gp, hin, 0.0, grad_input=gp)
    ps = [t for wb in params for t in wb]
    if adam == "fused":
        adam_fused_(ps, grads, state, lr, buf["step"])
    else:
        adam_foreach_(ps, grads, state, lr)


# --------------------------------------------------------------------------------------------
# (d2) oneDNN, feature-major activations with a ones row (bias inside the GEMMs)
# --------------------------------------------------------------------------------------------

def fast_buffers(params: Params, n: int) -> dict:
    """Per-net scratch for :func:`fast_adam_step_`: the augmented transposed weights
    Wa_i = [[W_i^T, b_i], [0, 1]] ([d_out+1, d_in+1]; the last layer has no [0, 1] row, which
    exists only to carry the ones row to the next layer), the input [x^T; 1], and the Adam step."""
    dt = params[0][0].dtype
    last = len(params) - 1
    wa = []
    for i, (w, _) in enumerate(params):
        d_in, d_out = w.shape
        t = torch.zeros(d_out + (i < last), d_in + 1, dtype=dt)
        if i < last:
            t[d_out, d_in] = 1.0
        wa.append(t)
    d0 = params[0][0].shape[0]
    xa = torch.ones(d0 + 1, n, dtype=dt)
    return {"wa": wa, "xa": xa, "step": torch.zeros((), dtype=torch.float32)}


def fast_adam_step_(params: Params, x: Tensor, y: Tensor, lr: float, state: AdamState, buffers: dict,
                    adam: str = "fused") -> None:
    """One full-batch Adam step of a ReLU MLP, L = 1/(2N)·Σ‖net(x) − y‖², ReLU'(0) = 0, in place.

    ``params``: [(W [d_in, d_out], b [d_out]), ...]; ``x`` [N, d_0]; ``y`` [N, d_L]; ``state``:
    the library's AdamState (m, v in W_1, b_1, W_2, ... order; ``t`` is advanced);
    ``buffers`` from :func:`fast_buffers`. Does not compute the loss. float32 on the CPU only
    (oneDNN, through the private ``torch.ops.mkldnn._linear_pointwise``, has no float64 GEMM).

    Activations are held feature-major with a row of ones, A_i = [H_i^T; 1] ([d_i+1, N]), and
    each layer is one oneDNN GEMM with the ReLU fused: A_{i+1} = relu(Wa_i @ A_i), where
    Wa_i = [[W_i^T, b_i], [0, 1]], so the bias add and the ones row of the next layer come out
    of the same GEMM. Backward, with G = (dL/dz)^T [d_out, N]: one GEMM A_i @ G^T = [dW_i; db_i]
    gives the weight and the bias gradient together; the input gradient W_i @ G is masked in
    place by ReLU'(z) (= [A_i > 0]). Then Adam (``torch._fused_adam_``, or the library's foreach
    sequence with ``adam="foreach"``).
    """
    if x.dtype != torch.float32 or x.device.type != "cpu":
        raise TypeError("fast_adam_step_ is the float32 CPU path (oneDNN has no float64 GEMM); "
                        f"got {x.dtype} on {x.device}: use mgdl_core.core.step.adam_step_")
    n = x.shape[0]
    last = len(params) - 1
    wa = buffers["wa"]
    for i, (w, b) in enumerate(params):
        d_in, d_out = w.shape
        wa[i][:d_out, :d_in].copy_(w.t())
        wa[i][:d_out, d_in].copy_(b)
    xa = buffers["xa"]
    xa[:-1].copy_(x.t())
    acts = [xa]
    a = xa
    for i in range(last):
        a = _linear(wa[i], a.t(), None, "relu", [], "")       # [d_out+1, N]: relu(W^T h + b); 1
        acts.append(a)
    out = torch.mm(wa[last], a)                                 # [d_L, N], a GEMV for d_L = 1
    g = out.sub_(y.t()).mul_(1.0 / n)                           # (dL/d out)^T = (out - y)^T / N
    grads: list[Tensor] = [None] * (2 * len(params))          # type: ignore[list-item]
    for i in range(last, -1, -1):
        w, _ = params[i]
        d_in = w.shape[0]
        a = acts[i]
        if i == last:
            gwb = torch.mm(a, g.t())                            # [d_in+1, d_L]
        else:
            gwb = _linear(a, g, None, "none", [], "")           # [d_in+1, d_out] = [dW; db]
        grads[2 * i], grads[2 * i + 1] = gwb[:d_in], gwb[d_in]
        if i > 0:
            if i == last:
                gp = torch.mul(w, g) if w.shape[1] == 1 else torch.mm(w, g)   # outer product
            else:
                gp = _linear(w, g.t(), None, "none", [], "")    # [d_in, N] = W @ G
            g = _threshold_backward_out(gp, a[:d_in], 0.0, grad_input=gp)
    ps = [t for wb in params for t in wb]
    if adam == "fused":
        adam_fused_(ps, grads, state, lr, buffers["step"])
    else:
        adam_foreach_(ps, grads, state, lr)


# --------------------------------------------------------------------------------------------
# (e) torch.compile of the MKL hand step (functional, whole step incl. Adam)
# --------------------------------------------------------------------------------------------

def _compiled_body(ps: list[Tensor], ms: list[Tensor], vs: list[Tensor], x: Tensor, y: Tensor,
                   step_size: Tensor, c2_sqrt: Tensor) -> None:
    n = x.shape[0]
    nl = len(ps) // 2
    hs = [x]
    h = x
    for i in range(nl):
        z = torch.addmm(ps[2 * i + 1], h, ps[2 * i])
        h = torch.relu(z) if i < nl - 1 else z
        hs.append(h)
    g = (h - y) * (1.0 / n)
    grads: list[Tensor] = [None] * len(ps)  # type: ignore[list-item]
    for i in range(nl - 1, -1, -1):
        hin = hs[i]
        grads[2 * i] = hin.t() @ g
        grads[2 * i + 1] = g.sum(0)
        if i > 0:
            g = torch.ops.aten.threshold_backward(g @ ps[2 * i].t(), hin, 0.0)
    b1, b2 = BETAS
    for p, m, v, gr in zip(ps, ms, vs, grads):
        m.lerp_(gr, 1.0 - b1)
        v.mul_(b2).addcmul_(gr, gr, value=1.0 - b2)
        p.sub_(step_size * m / (v.sqrt() / c2_sqrt + EPS))


def make_compiled_step():
    fn = torch.compile(_compiled_body, fullgraph=True, dynamic=False)
    scal = {"ss": torch.zeros(()), "c2": torch.zeros(())}

    def step(params: Params, x: Tensor, y: Tensor, lr: float, state: AdamState) -> None:
        b1, b2 = state.betas
        state.t += 1
        scal["ss"].fill_(lr / (1.0 - b1 ** state.t))
        scal["c2"].fill_((1.0 - b2 ** state.t) ** 0.5)
        fn([t for wb in params for t in wb], state.m, state.v, x, y, scal["ss"], scal["c2"])
    return step


# --------------------------------------------------------------------------------------------
# eager nn.Sequential + torch.optim.Adam
# --------------------------------------------------------------------------------------------

def eager_step_fn(params: Params, x: Tensor, y: Tensor, **adam_kw):
    model = eager_model(params)
    opt = torch.optim.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS, **adam_kw)
    n = x.shape[0]

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss = 0.5 * ((model(x) - y) ** 2).sum() / n
        loss.backward()
        opt.step()

    def current() -> list[Tensor]:
        lins = [m for m in model if isinstance(m, torch.nn.Linear)]
        return [t for lin in lins for t in (lin.weight.detach().t(), lin.bias.detach())]
    return step, current


# --------------------------------------------------------------------------------------------

def image_data(side: int = 128) -> tuple[Tensor, Tensor]:
    c = torch.arange(side, dtype=torch.float64) / side            # [0, 1)
    x = torch.cartesian_prod(c, c)
    u, v = x[:, :1], x[:, 1:]
    y = 0.5 * torch.sin(7 * u) * torch.cos(5 * v) + 0.3 * torch.sin(23 * u * v) + 0.2 * (u - v) ** 2
    return x.float().contiguous(), y.float().contiguous()


def step_flops(widths: tuple[int, ...], n: int) -> int:
    total = 0
    for j, (a, b) in enumerate(zip(widths, widths[1:])):
        total += 2 * n * a * b * (2 if j == 0 else 3)
    return total


def max_rel(ps: list[Tensor], ref: list[Tensor]) -> float:
    """Worst tensor: max over tensors of max|p - r| / max|r| (strict for the small biases)."""
    return max(((p.double() - r.double()).abs().max() / r.double().abs().max()).item() for p, r in zip(ps, ref))


def vec_rel(ps: list[Tensor], ref: list[Tensor]) -> float:
    """The parameter vector W: max|p - r| / max|r| over all entries (the check's criterion)."""
    d = max((p.double() - r.double()).abs().max().item() for p, r in zip(ps, ref))
    return d / max(r.double().abs().max().item() for r in ref)


def gemm_fns(n: int) -> dict[str, tuple]:
    """The GEMMs that define the peak, as (fn, FLOP per call of fn); timed in the same
    interleaved run as the steps, so that both see the same neighbours' load."""
    s = 4096
    a, b, c = torch.randn(s, s), torch.randn(s, s), torch.empty(s, s)
    h, w, g = torch.randn(n, 128), torch.randn(128, 128), torch.randn(n, 128)
    z, gw = torch.empty(n, 128), torch.empty(128, 128)
    ht, gt = h.t().contiguous(), g.t().contiguous()
    wt = w.t().contiguous()
    fl_sq, fl_h, k = 2 * s ** 3, 2 * n * 128 * 128, 10

    def rep(f):
        def run() -> None:
            for _ in range(k):
                f()
        return run
    return {
        "mm 4096^3": (lambda: torch.mm(a, b, out=c), fl_sq),
        "onednn 4096^3": (lambda: _linear(a, b, None, "none", [], ""), fl_sq),
        "mm fwd [N,128]x[128,128]": (rep(lambda: torch.mm(h, w, out=z)), k * fl_h),
        "mm wgrad [128,N]x[N,128]": (rep(lambda: torch.mm(h.t(), g, out=gw)), k * fl_h),
        "mm igrad [N,128]x[128,128]": (rep(lambda: torch.mm(g, w.t(), out=z)), k * fl_h),
        "onednn fwd (feature-major)": (rep(lambda: _linear(wt, ht.t(), None, "none", [], "")), k * fl_h),
        "onednn wgrad (feature-major)": (rep(lambda: _linear(ht, gt, None, "none", [], "")), k * fl_h),
        "onednn igrad (feature-major)": (rep(lambda: _linear(w, gt.t(), None, "none", [], "")), k * fl_h),
    }


def pieces(net0, n: int, blocks: int) -> str:
    """Per-call cost of the pieces the prototypes add or remove (hidden layer, [N, 128])."""
    h, w, g = torch.randn(n, 128).relu_(), torch.randn(128, 128) * 0.1, torch.randn(n, 128)
    b = torch.randn(128)
    z, gp = torch.empty(n, 128), torch.empty(n, 128)
    r, yy = torch.randn(n, 1), torch.randn(n, 1)
    wt = w.t().contiguous()
    ha = torch.cat([h.t(), torch.ones(1, n)]).contiguous()
    wa = torch.zeros(129, 129)
    wa[:128, :128], wa[:128, 128], wa[128, 128] = w.t(), b, 1.0
    net = net0.clone()
    ps = net.tensors()
    gs = [torch.randn_like(t) * 1e-2 for t in ps]
    st_a, st_b = AdamState.zeros_like(net, BETAS, EPS), AdamState.zeros_like(net, BETAS, EPS)
    step = torch.zeros(())
    items = {
        "MKL addmm(b, h, W) (library)": (lambda: torch.addmm(b, h, w), 8),
        "MKL addmm(b, h, W, out=z)": (lambda: torch.addmm(b, h, w, out=z), 8),
        "MKL mm(h, W, out=z) + z.add_(b)": (lambda: torch.mm(h, w, out=z).add_(b), 8),
        "MKL mm(h, W, out=z), no bias": (lambda: torch.mm(h, w, out=z), 8),
        "relu_ [N,128]": (lambda: z.relu_(), 8),
        "threshold_backward, new output (library)": (lambda: torch.ops.aten.threshold_backward(g, h, 0.0), 8),
        "threshold_backward, in place (out=)": (lambda: _threshold_backward_out(gp, h, 0.0, grad_input=gp), 8),
        "bias grad g.sum(0)": (lambda: g.sum(0), 9),
        "loss 0.5·Σ(out−y)²/N (library; not needed)": (lambda: 0.5 * (r - yy).pow(2).sum() / n, 1),
        "oneDNN fwd normal layout, bias + ReLU fused": (lambda: _linear(h, wt, b, "relu", [], ""), 8),
        "oneDNN fwd feature-major, ones row, no ReLU": (lambda: _linear(wa, ha.t(), None, "none", [], ""), 8),
        "oneDNN fwd feature-major, ones row, ReLU fused (prototype)":
            (lambda: _linear(wa, ha.t(), None, "relu", [], ""), 8),
        "Adam, library foreach sequence (116,097 params)": (lambda: adam_foreach_(ps, gs, st_a, LR), 1),
        "Adam, torch._fused_adam_ (116,097 params)": (lambda: adam_fused_(ps, gs, st_b, LR, step), 1),
    }
    t = interleave({k: f for k, (f, _) in items.items()}, repeats=10, blocks=blocks, warmup=3)
    rows = [[k, f"{t[k] * 1e3:.3f}", str(c), f"{t[k] * c * 1e3:.2f}"] for k, (_, c) in items.items()]
    return table(rows, ["piece (N = %d)" % n, "ms/call", "calls/step", "ms/step"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--blocks", type=int, default=7)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--no-mallopt", action="store_true")
    args = ap.parse_args()
    if args.no_mallopt:
        torch.set_num_threads(1)
    else:
        configure_cpu()
    torch.set_num_threads(1)
    t_start = time.perf_counter()

    x, y = image_data(128)
    n = x.shape[0]
    net0 = sgdl_network("(28)", seed=0)
    widths = net0.widths[0]
    flops = step_flops(widths, n)
    print(f"# (28) Adam step, N = {n}, float32, threads = {torch.get_num_threads()}, "
          f"OMP_NUM_THREADS = {os.environ.get('OMP_NUM_THREADS')}, affinity = {sorted(os.sched_getaffinity(0))}, "
          f"mallopt = {not args.no_mallopt}, torch {torch.__version__}")
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?") \
        if os.path.exists("/proc/cpuinfo") else "?"
    print(f"CPU: {cpu}; mkldnn available: {torch.backends.mkldnn.is_available()}")
    print(f"parameters: {net0.num_parameters():,}; GEMM FLOP per step: {flops / 1e9:.3f} G\n")

    print(pieces(net0, n, args.blocks))
    print()

    # ---- variants (2., 3.); the peak GEMMs (1.) are timed in the same interleaved run -----

    def lib_variant():
        net = net0.clone()
        st = AdamState.zeros_like(net, BETAS, EPS)
        return (lambda: adam_step_(net, x, y, LR, st)), (lambda: net.tensors())

    def hand_variant(kind: str, **kw):
        net = net0.clone()
        st = AdamState.zeros_like(net, BETAS, EPS)
        p = net.branches[0]
        if kind == "mkl":
            buf = mkl_buffers(p, n)
            return (lambda: mkl_adam_step_(p, x, y, LR, st, buf, **kw)), (lambda: net.tensors())
        buf = fast_buffers(p, n)
        return (lambda: fast_adam_step_(p, x, y, LR, st, buf, **kw)), (lambda: net.tensors())

    def lib_object_variant():
        net = net0.clone()
        step = Adam(LR, betas=BETAS, eps=EPS)  # what train() runs: the fused oneDNN gradient where eligible
        return (lambda: step(net, x, y, HALF_MSE)), (lambda: net.tensors())

    builders = {
        "(a) library adam_step_ (the reference step)": lib_variant,
        "(a2) library Adam step, as train() runs it (mgdl_core.core.fused)": lib_object_variant,
        "(b) eager + optim.Adam(foreach)": lambda: eager_step_fn(net0.branches[0], x, y, foreach=True),
    }
    try:
        eager_step_fn(net0.branches[0], x, y, fused=True)
        builders["(c) eager + optim.Adam(fused)"] = lambda: eager_step_fn(net0.branches[0], x, y, fused=True)
    except (RuntimeError, TypeError) as exc:
        print(f"(c) fused Adam unsupported on CPU here: {exc}")
    builders.update({
        "(d1) mkl: buffers, addmm(out=), in-place mask, no loss, foreach Adam":
            lambda: hand_variant("mkl", fwd="addmm", adam="foreach"),
        "(d2) mkl: as d1, mm(out=) + add_(b) instead of addmm":
            lambda: hand_variant("mkl", fwd="mm_add", adam="foreach"),
        "(d3) mkl: as d1, torch._fused_adam_": lambda: hand_variant("mkl", fwd="addmm", adam="fused"),
        "(d4) onednn feature-major, bias in GEMM, fused ReLU, foreach Adam":
            lambda: hand_variant("dnnl", adam="foreach"),
        "(d5) onednn as d4, torch._fused_adam_  [fast_adam_step_]": lambda: hand_variant("dnnl", adam="fused"),
    })
    compile_note = "skipped (--no-compile)"
    if not args.no_compile:
        def comp_variant():
            net = net0.clone()
            st = AdamState.zeros_like(net, BETAS, EPS)
            p = net.branches[0]
            stp = make_compiled_step()
            return (lambda: stp(p, x, y, LR, st)), (lambda: net.tensors())
        try:
            fn, cur = comp_variant()
            t0 = time.perf_counter()
            fn()
            compile_s = time.perf_counter() - t0
            compile_note = f"compiled in {compile_s:.1f} s (first call, includes one step)"
            builders["(e) torch.compile of the mkl hand step (incl. Adam)"] = comp_variant
        except Exception as exc:  # noqa: BLE001 - report any compile failure and go on
            compile_note = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    print(f"torch.compile: {compile_note}\n")

    # correctness: 5 steps from identical parameters, against the library (float32) and against
    # the same algorithm in float64 (the library's adam_step_ on float64 copies)
    ref_step, ref_cur = lib_variant()
    for _ in range(5):
        ref_step()
    ref = [t.clone() for t in ref_cur()]
    net64 = net0.to(torch.float64)
    st64 = AdamState.zeros_like(net64, BETAS, EPS)
    x64, y64 = x.double(), y.double()
    for _ in range(5):
        adam_step_(net64, x64, y64, LR, st64)
    ref64 = net64.tensors()
    check: dict[str, tuple[float, float, float, bool]] = {}
    for name, build in builders.items():
        fn, cur = build()
        for _ in range(5):
            fn()
        ps = [t.detach() for t in cur()]
        check[name] = (vec_rel(ps, ref), max_rel(ps, ref), vec_rel(ps, ref64),
                       all(torch.equal(p, r) for p, r in zip(ps, ref)))

    # timing: fresh copies, interleaved
    variants = {}
    for name, build in builders.items():
        variants[name] = build()[0]
    gemms = gemm_fns(n)
    variants.update({"GEMM " + k: f for k, (f, _) in gemms.items()})
    t = interleave(variants, repeats=args.repeats, blocks=args.blocks, warmup=2)
    pk = {k: fl / t.pop("GEMM " + k) / 1e9 for k, (_, fl) in gemms.items()}   # GFLOP/s
    peak_mm, peak_dnnl = pk["mm 4096^3"], pk["onednn 4096^3"]
    own = [("mm", "mm fwd [N,128]x[128,128]", "mm wgrad [128,N]x[N,128]", "mm igrad [N,128]x[128,128]"),
           ("onednn", "onednn fwd (feature-major)", "onednn wgrad (feature-major)", "onednn igrad (feature-major)")]
    own_mm, own_dnnl = (3 / sum(1 / pk[k] for k in ks) for _, *ks in own)   # the 3 GEMMs one after another
    rows = [[k, f"{v:.1f}"] for k, v in pk.items()]
    rows.append(["mm own-shape (the 3 hidden GEMMs together)", f"{own_mm:.1f}"])
    rows.append(["onednn own-shape (the 3 hidden GEMMs together)", f"{own_dnnl:.1f}"])
    print(table(rows, ["GEMM (1 thread, f32, timed interleaved with the steps)", "GFLOP/s"]))
    print()

    t_lib = t["(a) library adam_step_ (the reference step)"]
    rows = []
    for name, sec in t.items():
        gf = flops / sec / 1e9
        rel, worst, err64, same = check[name]
        agree = "bit-identical" if same else (f"{rel:.1e}" if rel <= TOL else f"{rel:.1e} WRONG")
        rows.append([name, f"{sec * 1e3:.1f}", f"{gf:.1f}", f"{100 * gf / peak_mm:.0f} %",
                     f"{100 * gf / own_mm:.0f} %", f"{100 * gf / peak_dnnl:.0f} %",
                     f"{100 * gf / own_dnnl:.0f} %", f"{sec / t_lib:.2f}",
                     agree, f"{worst:.1e}", f"{err64:.1e}"])
    print(table(rows, ["variant", "ms/step", "GFLOP/s", "% of mm 4096³ peak", "% of mm own-shape",
                       "% of oneDNN 4096³ peak", "% of oneDNN own-shape", "time / library",
                       "vs library: max|Δp|/max|p| (5 steps)", "worst tensor", "vs float64 library: max|Δp|/max|p|"]))
    print(f"\npeaks: torch.mm 4096³ {peak_mm:.1f} GFLOP/s, torch.mm own-shape {own_mm:.1f}, "
          f"oneDNN 4096³ {peak_dnnl:.1f}, oneDNN own-shape {own_dnnl:.1f}; medians of {args.blocks} "
          f"interleaved blocks x {args.repeats} steps; total {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
