"""Where and how computations run: device choice, dtypes, seeds and CPU tuning.

Every other module asks this one for a device instead of naming one, so the library runs on
CUDA when it is present and on the CPU otherwise, and a user can force either.
"""
from __future__ import annotations

import ctypes
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from .errors import Bound, ConfigError

# The folder above the package: the repository checkout when the library is imported from one
# (an editable install, or the source tree), site-packages when it is installed as a wheel.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


# The library's numeric environment variables and their ranges; every one is parsed strictly
# (:func:`env_number`, :func:`env_flag`) and checked up front by the mgdl command (:func:`check_environment`).
ENV_NUMBERS: dict[str, Bound] = {
    "MGDL_MEMORY_LIMIT_GB": Bound(0.0, 1e6, low_open=True, what="MGDL_MEMORY_LIMIT_GB (GiB)"),
    "MGDL_STATUS_EVERY": Bound(0.0, 1e6, what="MGDL_STATUS_EVERY (seconds between status lines)"),
}
ENV_FLAGS: dict[str, bool] = {"MGDL_FUSED": True, "MGDL_NATIVE": False}  # name → its value when unset
_TRUE, _FALSE = ("1", "on", "true", "yes"), ("0", "off", "false", "no")


def checkout_root() -> Path | None:
    """The source checkout this library is imported from (the folder holding its
    ``pyproject.toml``), or ``None`` for an installed copy (a wheel in site-packages)."""
    try:
        text = (PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeError):
        return None
    return PROJECT_ROOT if 'name = "mgdl-core"' in text else None


def default_folder(env: str, name: str) -> Path:
    """A default folder of the library's files (``runs``, ``results``): ``$env`` when set, else
    ``<name>/`` in the source checkout the library is imported from (the book's pages, the tests
    and the command line then share it), else ``<name>/`` of the working directory — never a
    folder inside an installed package."""
    given = os.environ.get(env, "").strip()
    if given:
        return Path(given)
    root = checkout_root()
    return (root if root is not None else Path.cwd()) / name


def cache_dir() -> Path:
    """The library's cache folder (downloaded images, built kernels): ``$MGDL_CACHE_DIR``, else the
    user's cache folder for ``mgdl`` (``pooch.os_cache``)."""
    env = os.environ.get("MGDL_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("mgdl"))


def env_number(name: str) -> float | None:
    """The number in environment variable ``name`` (one of :data:`ENV_NUMBERS`), or ``None`` when
    it is unset or empty; anything else than a finite number in its range is a :class:`ConfigError`."""
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    bound = ENV_NUMBERS[name]
    try:
        return bound.check(name, float(text))
    except (ValueError, ConfigError):
        raise ConfigError(f"{bound.what or name} must be a finite number in "
                          f"{'(' if bound.low_open else '['}{bound.low:g}, {bound.high:g}], got {text!r}") from None


def env_flag(name: str) -> bool:
    """The switch in environment variable ``name`` (one of :data:`ENV_FLAGS`): 1/on/true/yes or
    0/off/false/no in any case; unset or empty: its default; anything else a :class:`ConfigError`."""
    text = os.environ.get(name, "").strip().lower()
    if not text:
        return ENV_FLAGS[name]
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ConfigError(f"{name} must be one of {'/'.join(_TRUE)} or {'/'.join(_FALSE)}, got {os.environ[name]!r}")


def check_environment() -> None:
    """Parse every variable of :data:`ENV_NUMBERS` and :data:`ENV_FLAGS` now, so a bad value is
    one line before any work starts rather than a surprise mid-run (or a silent default)."""
    for name in ENV_NUMBERS:
        env_number(name)
    for name in ENV_FLAGS:
        env_flag(name)


def get_device(device: str | torch.device | None = None) -> torch.device:
    """The device to compute on: ``device`` when given, else CUDA when available, else CPU.

    Asking for ``"cuda"`` on a machine without CUDA is a clear ``ValueError``, not a torch
    error at the first tensor.
    """
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"unknown device {device!r}: use 'cpu', 'cuda', 'cuda:N' or 'auto'") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for, but CUDA is not available on this machine")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"unsupported device {device!r}: use 'cpu' or 'cuda'")
    if dev.type == "cpu" and dev.index not in (None, 0):
        raise ValueError(f"unknown device {device!r}: the CPU is one device, 'cpu'")
    return dev


def get_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """``"float32"``/``"float64"`` (or the torch dtype itself) as a torch dtype."""
    if isinstance(dtype, torch.dtype):
        if dtype not in _DTYPES.values():
            raise ValueError(f"unsupported dtype {dtype}: use float32 or float64")
        return dtype
    try:
        return _DTYPES[str(dtype)]
    except KeyError:
        raise ValueError(f"unsupported dtype {dtype!r}: use 'float32' or 'float64'") from None


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a CPU generator seeded with ``seed``.

    Initialisers take the returned generator explicitly, so a model's initial weights depend
    on its seed alone and not on what ran before it.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return torch.Generator().manual_seed(seed)


@lru_cache(maxsize=1)
@contextmanager
def intra_op_threads(threads: int = 1) -> Iterator[None]:
    """The block (or, as a decorator, the function) with ``threads`` intra-op threads, the number
    before restored after. For loops of tiny tensor operations in a process that did not call
    :func:`configure_cpu` (a notebook's kernel): each operation pays an OpenMP barrier, and on a
    busy 2-core machine two threads made a 32×32 float64 matmul pair 57× slower than one
    (920 µs against 16 µs, 2026-12-07), the quick ROF deblurring solver 2–10× slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def configure_cpu(threads: int = 1) -> None:
    """One intra-op thread and no mmap for large buffers (both measured on the 2-core CI box).

    Two OpenMP threads on a shared 2-core machine were 1.2-1.6x slower than one (barrier waits
    on a descheduled thread), and glibc's mmap of every >= 32 MiB activation page-faults it in
    on each step (1.6-2x on the image networks); see ``shared/notes/performance.md`` §5.4-5.5.
    Parallelism comes from independent processes instead (``sweep``). Idempotent.
    """
    torch.set_num_threads(threads)
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-4, 0)  # M_MMAP_MAX = 0
        libc.mallopt(-1, 2**30)  # M_TRIM_THRESHOLD = 1 GiB
    except OSError:  # not glibc (macOS, musl): nothing to tune
        pass
    # TF32 would blur the eigenvalues near -1 the paper is about; keep full fp32 matmuls.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
