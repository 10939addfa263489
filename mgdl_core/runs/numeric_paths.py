"""Which numeric path a run takes on this machine, and what its configuration's hash says of it.

A float32 run on the CPU can take one of three roundings of the same mathematics: the reference
step (:mod:`mgdl_core.core.step`), the fused oneDNN gradient for large networks with ReLU'(0) = 0
(:mod:`mgdl_core.core.fused`, on unless ``MGDL_FUSED=0``), or the C kernel for GD on eq. (1)
(:mod:`mgdl_core.core.native`, off unless ``MGDL_NATIVE=1``). A record's environment says which
path this machine offers (:func:`cpu_paths`), and a run off the default path carries its path in
its configuration's hash (:func:`path_fields`), so the records of two paths never mix.
"""
from __future__ import annotations

import torch

from ..runtime import get_device

REFERENCE_PATH = {"numeric_path": "reference"}  # in the hash of a run the fused path could take but does not here
NATIVE_PATH = {"numeric_path": "native"}  # in the hash of a run that takes the C kernel (mgdl_core.core.native)
PATH_KEY = "numeric_path"


def _on_cpu(config: dict) -> bool:
    device = config.get("device")
    try:
        return (get_device(None) if device is None else torch.device(device)).type == "cpu"
    except (RuntimeError, TypeError, ValueError):
        return False


def _reference_path(config: dict) -> bool:
    """Whether a run of ``config`` could take the fused oneDNN step (float32, the CPU, ReLU'(0) =
    0: :mod:`mgdl_core.core.fused`) but takes the reference step here (``MGDL_FUSED`` off, or no
    oneDNN op): another rounding, so another computation than where the fused path runs."""
    from ..core.fused import available

    if config.get("dtype") != "float32" or config.get("relu_prime_at_zero") != 0.0:
        return False
    return _on_cpu(config) and not available()


def _native_path(kind: str | None, config: dict) -> bool:
    """Whether a run of ``config`` takes the C kernel here: ``MGDL_NATIVE=1`` and a kernel that
    builds, float32 on the CPU, and a task whose steps it can take (GD on eq. (1), one network:
    :meth:`mgdl_core.tasks.base.RunConfig.native_step`)."""
    from ..core import native
    from ..tasks.kinds import KINDS

    cls = KINDS.get(kind) if kind is not None else None
    return (cls is not None and config.get("dtype") == "float32" and _on_cpu(config) and native.enabled()
            and cls.native_step(config) and native.available())


def path_fields(kind: str | None, config: dict) -> dict:
    """What a run of ``config`` adds to its hash here: :data:`NATIVE_PATH` where it takes the C
    kernel, :data:`REFERENCE_PATH` where it could take the fused step but does not, else nothing."""
    if _native_path(kind, config):
        return dict(NATIVE_PATH)
    if _reference_path(config):
        return dict(REFERENCE_PATH)
    return {}


def cpu_paths() -> dict[str, str]:
    """For a record's environment: what the fused and the native paths do on this machine."""
    from ..core import fused, native

    return {"cpu_fused_step": fused.describe(), "cpu_native_step": native.describe()}
