"""Small networks at compiled speed: many GD epochs per call of a C kernel (``native_mlp.c``).

The paper's synthetic runs are small ReLU networks stepped millions of times ((26) on 1,024
points for 10⁶ epochs; MGDL grades on cached features). In the reference step
(:func:`mgdl_core.core.step.gd_step_`) each epoch is about 40–55 PyTorch calls, each a trip through
Python and the dispatcher, and MKL's kernels for [1,024 × 32] × [32 × 32] products run at about
two thirds of what this CPU's FMA units allow. ``native_mlp.c`` runs a chunk of epochs (up to the
next callback of the training loop) in one call: one register-blocked product kernel, the ReLU and
its derivative applied as each tile is stored, no allocation, the Python interpreter released.
bench/bench_vs_jax.py measures it against the reference step and JAX's ``jit(fori_loop)``.

It is eq. (2) on eq. (1) exactly as the reference step computes it (ReLU'(0) as configured), but
its sums run in another order, so it rounds differently: about 1e-6 relative on the parameters
after one step, as far from a float64 step as JAX's (tests/test_native.py). Because the paper
queue's committed runs were made on the reference path, this path is **opt-in**: ``MGDL_NATIVE=1``
turns it on; a run that takes it says so in its record's environment, and its configuration's
hash carries ``numeric_path: native`` (:data:`mgdl_core.runs.records.NATIVE_PATH`), so the
records of the two paths never mix.

Where it runs: GD (not Adam) that allows it (``TrainConfig.native``; a task allows it by one rule
that also decides its records' hash, :meth:`mgdl_core.tasks.base.RunConfig.native_step`: the
synthetic task), the objective of eq. (1), one branch with scale 1 (SGDL, an MGDL grade; not
MSDL), float32 contiguous tensors on the CPU whose shapes fit the network (the kernel trusts
them: :func:`eligible` checks), N · (widest layer) ≤ :data:`MAX_WORK` (past that size the
products dominate, not the calls) and at most :data:`KERNEL_LAYERS` layers.

The kernel is compiled on first use with the system's C compiler (``$CC``, else ``cc``) for this
CPU (``-O3 -march=native``) and cached under ``$MGDL_CACHE_DIR`` (else the user's cache folder) by
a hash of the source, the compiler, the flags and the CPU; without a compiler the reference step
runs and :func:`describe` says why.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import torch

from ..runtime import cache_dir, env_flag
from .nets import Network
from .objectives import HalfMSE, Objective

SOURCE = Path(__file__).with_name("native_mlp.c")
MAX_WORK = 1 << 16  # N · widest layer: 1,024 points through 64-wide layers (bench/bench_vs_jax.py --sizes)
KERNEL_LAYERS = 63  # native_mlp.c's layer tables
CHUNK = 1000  # epochs per call at most: an interrupt (Ctrl-C) waits for one call
FLAGS = ("-O3", "-march=native", "-fPIC", "-shared", "-fno-math-errno", "-std=gnu11")


def _compiler() -> list[str] | None:
    """The C compiler's command (``$CC``, which may carry a launcher such as ``ccache gcc``, else
    ``cc``), or ``None`` when it is not found."""
    words = shlex.split(os.environ.get("CC", "").strip() or "cc")
    path = shutil.which(words[0]) if words else None
    return [path, *words[1:]] if path else None


@lru_cache(maxsize=1)
def _build() -> tuple[ctypes.CDLL | None, str]:
    """(the loaded kernel, "") or (None, why not): compiled once per source, compiler and CPU."""
    cc = _compiler()
    if cc is None:
        return None, f"no C compiler ({os.environ.get('CC', '').strip() or 'cc'} not found; set CC)"
    try:
        version = subprocess.run([*cc, "--version"], capture_output=True, text=True, timeout=30).stdout
        source = SOURCE.read_bytes()
    except (OSError, subprocess.SubprocessError) as e:
        return None, f"the C compiler or the kernel's source is unusable: {e}"
    key = hashlib.sha256(b"\0".join([source, version.encode(), " ".join(FLAGS).encode(),
                                      platform.machine().encode(), _cpu_flags().encode()])).hexdigest()[:16]
    folder = cache_dir() / "native"
    lib = folder / f"native_mlp-{key}.so"
    for attempt in (1, 2):  # a cached build that does not load is built again, once
        if not lib.is_file():
            why = _compile(cc, folder, lib)
            if why:
                return None, why
        try:
            dll = ctypes.CDLL(str(lib))
            break
        except OSError as e:
            if attempt == 2:
                return None, f"the compiled kernel does not load: {e}"
            try:
                lib.unlink()
            except OSError:
                return None, f"the cached kernel {lib} does not load and cannot be removed: {e}"
    dll.mlp_workspace.restype = ctypes.c_long
    dll.mlp_workspace.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_long]
    dll.mlp_gd_epochs.restype = ctypes.c_int
    dll.mlp_gd_epochs.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                  ctypes.c_void_p, ctypes.c_long, ctypes.c_float, ctypes.c_float, ctypes.c_long,
                                  ctypes.c_void_p]
    return dll, ""


def _compile(cc: list[str], folder: Path, lib: Path) -> str:
    """Build the kernel into ``lib`` (aside, then moved in at once: builds may race); "" or why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            out = Path(tmp) / lib.name
            done = subprocess.run([*cc, *FLAGS, "-o", str(out), str(SOURCE)], capture_output=True, text=True,
                                  timeout=300)
            if done.returncode != 0 or not out.is_file():
                return f"the kernel did not compile ({' '.join(cc)}): {done.stderr.strip()[:300]}"
            os.replace(out, lib)
    except (OSError, subprocess.SubprocessError) as e:
        return f"the kernel could not be built in {folder}: {e}"
    return ""


def _cpu_flags() -> str:
    """This CPU's feature flags (Linux), so a cache shared between machines never mixes builds."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return platform.processor()


def enabled() -> bool:
    """Whether ``MGDL_NATIVE`` asks for this path (off when unset)."""
    return env_flag("MGDL_NATIVE")


def available() -> bool:
    """Whether this path is asked for and its kernel builds and loads here."""
    return enabled() and _build()[0] is not None


def small_enough(n: int, widths) -> bool:
    """Whether ``n`` samples through layers of ``widths`` are within :data:`MAX_WORK` (where the
    kernel is measured faster than the reference step; past it MKL's blocking for large
    products wins) and :data:`KERNEL_LAYERS`."""
    return len(widths) - 1 <= KERNEL_LAYERS and n * max(widths) <= MAX_WORK


def eligible(net: Network, x: torch.Tensor, y: torch.Tensor, objective: Objective) -> bool:
    """Whether GD epochs of ``net`` on (x, y) take this path (the module's conditions), shapes
    included: the kernel trusts them, so anything the reference step would refuse or broadcast
    stays with the reference step."""
    if not (isinstance(objective, HalfMSE) and len(net.branches) == 1 and net.scales == (1.0,)):
        return False
    params = net.branches[0]
    widths = net.widths[0]
    tensors = [x, y, *net.tensors()]
    return (all(t.device.type == "cpu" and t.dtype == torch.float32 and t.is_contiguous() and not t.requires_grad
                for t in tensors)
            and x.ndim == 2 and y.ndim == 2 and x.shape[0] == y.shape[0] > 0
            and x.shape[1] == widths[0] and y.shape[1] == widths[-1]
            and all(w.ndim == 2 and tuple(w.shape) == (widths[i], widths[i + 1]) and b.ndim == 1
                    and b.shape[0] == widths[i + 1] for i, (w, b) in enumerate(params))
            and small_enough(x.shape[0], widths) and available())


class NativeGD:
    """GD epochs of networks of one shape on data of one size through the kernel; holds the work
    space. Call it only where :func:`eligible` holds (:class:`~mgdl_core.core.step.GradientDescent` does)."""

    def __init__(self, widths, n: int):
        self.dll = _build()[0]
        self.shape = tuple(widths)
        self.widths = (ctypes.c_int * len(widths))(*widths)
        self.layers = len(widths) - 1
        self.work = torch.empty(int(self.dll.mlp_workspace(self.layers, self.widths, n)), dtype=torch.float32)
        self.n = n

    def run(self, net: Network, x: torch.Tensor, y: torch.Tensor, lr: float, relu_prime_at_zero: float,
            epochs: int) -> None:
        """``epochs`` GD epochs (eq. 2) on ``net``'s parameters, in place, :data:`CHUNK` per call."""
        if tuple(net.widths[0]) != self.shape or x.shape[0] != self.n:
            raise ValueError(f"this kernel's work space is for {self.shape} on {self.n} samples, "
                             f"not {tuple(net.widths[0])} on {x.shape[0]}")
        params = net.branches[0]
        ws = (ctypes.c_void_p * self.layers)(*[w.data_ptr() for w, _ in params])
        bs = (ctypes.c_void_p * self.layers)(*[b.data_ptr() for _, b in params])
        while epochs > 0:
            chunk = min(epochs, CHUNK)
            rc = self.dll.mlp_gd_epochs(self.layers, self.widths, ws, bs, x.data_ptr(), y.data_ptr(), self.n, lr,
                                        relu_prime_at_zero, chunk, self.work.data_ptr())
            if rc != 0:
                raise RuntimeError(f"the native GD kernel refused a network of {self.layers} layers")
            epochs -= chunk


def describe() -> str:
    """For run records: whether small float32 GD runs take this path here, and if not why."""
    if not enabled():
        return "off (MGDL_NATIVE unset)"
    dll, why = _build()
    return f"C kernel, {' '.join(FLAGS)} (mgdl_core.core.native)" if dll is not None else f"unavailable: {why}"
