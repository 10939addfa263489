"""Network structures of Appendix D, their initialisers, and the parameter vector W of §2.

A fully connected ReLU network is described by its widths ``(d_0, d_1, ..., d_D)`` and held
as a list of ``(W_j, b_j)`` pairs with ``W_j`` of shape ``[d_{j-1}, d_j]`` and ``b_j`` of shape
``[d_j]``, so a layer is ``H_j = σ(W_j^T H_{j-1} + b_j)`` exactly as in §2 (rows = samples here,
hence ``h @ W + b``). Structures are written the way Appendix D writes them::

    parse_structure("[1]->[32]x4->[1]")        # (1, 32, 32, 32, 32, 1), structure (26)
    sgdl_structure("(28)")                     # (2, 128, 128, ..., 1)
    mgdl_structure("(30)")                     # [(1, 32, 1), (32, 32, 1), (32, 32, 1), (32, 32, 1)]

An MGDL grade l > 1 reads the frozen features of grade l − 1 (its last hidden layer), so its
input width is that layer's width; the paper's "[32]_F" layers are therefore not repeated in a
grade's own structure.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch

Params = list[tuple[torch.Tensor, torch.Tensor]]
Widths = tuple[int, ...]

_LAYER = re.compile(r"^\[([0-9]{1,12})\](?:\s*[x×*]\s*([0-9]{1,12}))?$")  # ASCII digits: '[٣]' is not '[3]'
MAX_LAYERS = 1_000_000  # layers in one structure string (a network that deep is already far past any memory)

SGDL_STRUCTURES: dict[str, str] = {
    "26": "[1]->[32]x4->[1]",
    "27": "[2]->[48]x4->[1]",
    "28": "[2]->[128]x8->[1]",
    "29": "[2]->[128]x12->[1]",
}
MGDL_STRUCTURES: dict[str, list[str]] = {
    "30": ["[1]->[32]->[1]"] + ["[32]->[32]->[1]"] * 3,
    "31": ["[2]->[48]->[1]"] + ["[48]->[48]->[1]"] * 3,
    "32": ["[2]->[128]x2->[1]"] + ["[128]->[128]x2->[1]"] * 3,
    "33": ["[2]->[128]x3->[1]"] + ["[128]->[128]x3->[1]"] * 3,
}
MSDL_SUBNETWORK = "[1]->[8]x4->[1]"
MSDL_SCALES = (1.0, 2.0, 4.0, 8.0)


class StructureError(ValueError):
    """A network structure string that does not follow Appendix D's notation."""


def parse_structure(spec: str) -> Widths:
    """Widths of a structure written as in Appendix D, e.g. ``"[2]->[128]x8->[1]"``.

    ``[n]xk`` (or ``[n]×k``) is k layers of n neurons. A preset name such as ``"(26)"`` is also
    accepted. Errors name the offending part.
    """
    if not isinstance(spec, str):
        raise StructureError(f"a structure must be a string like '[1]->[32]x4->[1]', got {spec!r}")
    key = spec.strip().strip("()")
    if key in SGDL_STRUCTURES:
        return parse_structure(SGDL_STRUCTURES[key])
    parts = [p.strip() for p in spec.replace("→", "->").split("->")]
    if len(parts) < 2:
        raise StructureError(f"structure {_short(spec)} needs at least an input and an output layer, "
                             "joined by '->', e.g. '[1]->[32]x4->[1]'")
    widths: list[int] = []
    for i, part in enumerate(parts):
        m = _LAYER.match(part)
        if m is None:
            raise StructureError(f"in structure {_short(spec)}: part {i + 1} {part!r} is not '[n]' or '[n]xk'")
        n, k = int(m.group(1)), int(m.group(2) or 1)
        if len(widths) + k > MAX_LAYERS:  # before any list is built: '[2]x10^9' must not take the memory
            raise StructureError(f"in structure {_short(spec)}: more than {MAX_LAYERS:,} layers")
        if n < 1 or k < 1:
            raise StructureError(f"in structure {_short(spec)}: part {part!r} has a zero width or count")
        if k > 1 and i in (0, len(parts) - 1):
            raise StructureError(f"in structure {_short(spec)}: the {'input' if i == 0 else 'output'} "
                                 f"layer {part!r} cannot be repeated")
        widths += [n] * k
    return tuple(widths)


def _short(spec: str) -> str:
    """A structure string for a message: at most 60 characters of it."""
    return repr(spec) if len(spec) <= 60 else repr(spec[:57] + "...")


def sgdl_structure(spec: str) -> Widths:
    """An SGDL structure: a preset ``"(26)"``–``"(29)"`` or an explicit string."""
    return parse_structure(spec)


def mgdl_structure(spec: str | Sequence[str]) -> list[Widths]:
    """MGDL grades: a preset ``"(30)"``–``"(33)"``, a list of per-grade structure strings, or
    those strings joined by ``;`` (a single structure string is a one-grade MGDL).

    Grade l + 1's input width must equal grade l's last hidden width (its frozen features).
    """
    if isinstance(spec, str) and (";" in spec or spec.strip().startswith("[")):
        # "[1]->[32]->[1]; [32]->[32]->[1]; ..." (the CLI's form); one structure is one grade
        spec = [part for part in spec.split(";") if part.strip()]
    if isinstance(spec, str):
        key = spec.strip().strip("()")
        if key not in MGDL_STRUCTURES:
            raise StructureError(f"unknown MGDL preset {_short(spec)}: use one of "
                                 f"{', '.join(f'({k})' for k in MGDL_STRUCTURES)} or a list of grade structures")
        spec = MGDL_STRUCTURES[key]
    grades = [parse_structure(s) for s in spec]
    if not grades:
        raise StructureError("an MGDL structure needs at least one grade")
    for l, (prev, cur) in enumerate(zip(grades, grades[1:]), start=2):
        if len(prev) < 3:
            raise StructureError(f"grade {l - 1} {prev} has no hidden layer to pass on as features")
        if cur[0] != prev[-2]:
            raise StructureError(f"grade {l} takes {cur[0]} inputs, but grade {l - 1}'s last hidden "
                                 f"layer (its features) has {prev[-2]} neurons")
    return grades


def format_structure(widths: Sequence[int]) -> str:
    """Inverse of :func:`parse_structure`: ``(1, 32, 32, 1)`` → ``"[1]->[32]x2->[1]"``."""
    inner = list(widths[1:-1])
    parts, i = [f"[{widths[0]}]"], 0
    while i < len(inner):
        j = i
        while j < len(inner) and inner[j] == inner[i]:
            j += 1
        parts.append(f"[{inner[i]}]" + (f"x{j - i}" if j - i > 1 else ""))
        i = j
    return "->".join(parts + [f"[{widths[-1]}]"])


def parameter_count(widths: Sequence[int]) -> int:
    """M = Σ_j (d_{j-1} + 1) d_j (§2)."""
    return sum((a + 1) * b for a, b in zip(widths, widths[1:]))


INIT_SCHEMES = ("he", "he-jax", "glorot")


@dataclass(frozen=True)
class InitScheme:
    """How weights and biases start. ``"he"``: N(0, 2/fan_in) weights and zero biases (the
    authors' §5–§7 scheme, drawn by torch); ``"he-jax"``: the same scheme drawn with JAX's PRNG
    from ``PRNGKey(seed)`` exactly as the authors' code does (:mod:`mgdl_core.core.jax_random`; their
    seed is 42), so that their initial weights, and hence their runs, are reproduced; ``"glorot"``: truncated-normal Glorot weights (variance 2/(fan_in +
    fan_out), cut at ±2σ, as ``jax.nn.initializers.glorot_normal``) and N(0, 0.01²) biases (their
    §4 stax code)."""

    name: str = "he"

    def __post_init__(self) -> None:
        if self.name not in INIT_SCHEMES:
            raise ValueError(f"unknown init scheme {self.name!r}: use one of {', '.join(INIT_SCHEMES)}")


def init_params(widths: Sequence[int], scheme: str | InitScheme = "he", *, seed: int = 0,
                dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> Params:
    """Fresh parameters for ``widths``; the draw depends on ``seed`` alone (CPU generator), so
    the same seed gives the same network on every device and dtype."""
    scheme = scheme if isinstance(scheme, InitScheme) else InitScheme(scheme)
    if scheme.name == "he-jax":
        return _authors_params([tuple(widths)], seed, dtype, device)[0]
    gen = torch.Generator().manual_seed(seed)
    params: Params = []
    for fan_in, fan_out in zip(widths, widths[1:]):
        if scheme.name == "he":
            w = torch.randn(fan_in, fan_out, generator=gen, dtype=torch.float64) * math.sqrt(2.0 / fan_in)
            b = torch.zeros(fan_out, dtype=torch.float64)
        else:
            # 0.8796... is the std of a standard normal truncated to [-2, 2] (JAX's constant).
            std = math.sqrt(2.0 / (fan_in + fan_out)) / 0.87962566103423978
            w = torch.empty(fan_in, fan_out, dtype=torch.float64)
            torch.nn.init.trunc_normal_(w, 0.0, 1.0, -2.0, 2.0, generator=gen)
            w *= std
            b = torch.randn(fan_out, generator=gen, dtype=torch.float64) * 0.01
        params.append((w.to(dtype=dtype, device=device), b.to(dtype=dtype, device=device)))
    return params


def _authors_params(branches: Sequence[Sequence[int]], seed: int, dtype: torch.dtype,
                    device: torch.device | str) -> list[Params]:
    from .jax_random import authors_he_normal

    return [[(torch.from_numpy(w).to(dtype=dtype, device=device), torch.from_numpy(b).to(dtype=dtype, device=device))
             for w, b in layers] for layers in authors_he_normal([tuple(w) for w in branches], seed)]


def clone_params(params: Params) -> Params:
    """A deep copy (training updates parameters in place)."""
    return [(w.clone(), b.clone()) for w, b in params]


def widths_of(params: Params) -> Widths:
    return (params[0][0].shape[0],) + tuple(w.shape[1] for w, _ in params)


def flatten_params(params: Params) -> torch.Tensor:
    """The single vector W = (W_1, b_1, ..., W_D, b_D) of §2, each matrix with its columns
    stacked (column-major vec), so that the Hessian of a later section acts on this vector."""
    return torch.cat([t for w, b in params for t in (w.t().reshape(-1), b)])


def unflatten_params(vector: torch.Tensor, widths: Sequence[int]) -> Params:
    """Inverse of :func:`flatten_params` for the given widths."""
    if vector.ndim != 1 or vector.numel() != parameter_count(widths):
        raise ValueError(f"a vector of {parameter_count(widths)} entries is needed for widths "
                         f"{tuple(widths)}, got shape {tuple(vector.shape)}")
    params, i = [], 0
    for a, b in zip(widths, widths[1:]):
        w = vector[i:i + a * b].reshape(b, a).t()
        i += a * b
        params.append((w, vector[i:i + b]))
        i += b
    return params


@dataclass
class Network:
    """A sum of ReLU MLP branches, branch k fed ``scales[k] * x``.

    SGDL is one branch with scale 1; MSDL (§7) is four ``[1]->[8]x4->[1]`` branches with scales
    1, 2, 4, 8 whose outputs are summed. The tensors are owned by the network and updated in
    place by the training step (that is what makes the step fast); use :meth:`clone` to keep a
    copy.
    """

    branches: list[Params]
    scales: tuple[float, ...] = (1.0,)

    def __post_init__(self) -> None:
        if len(self.branches) != len(self.scales):
            raise ValueError(f"{len(self.branches)} branches but {len(self.scales)} scales")

    @property
    def widths(self) -> list[Widths]:
        return [widths_of(p) for p in self.branches]

    @property
    def dtype(self) -> torch.dtype:
        return self.branches[0][0][0].dtype

    @property
    def device(self) -> torch.device:
        return self.branches[0][0][0].device

    def tensors(self) -> list[torch.Tensor]:
        """All parameter tensors in the order of the vector W (branch by branch)."""
        return [t for p in self.branches for wb in p for t in wb]

    def num_parameters(self) -> int:
        return sum(t.numel() for t in self.tensors())

    def clone(self) -> "Network":
        return Network([clone_params(p) for p in self.branches], self.scales)

    def to(self, dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> "Network":
        return Network([[(w.to(dtype=dtype, device=device), b.to(dtype=dtype, device=device))
                         for w, b in p] for p in self.branches], self.scales)

    def vector(self) -> torch.Tensor:
        """The parameter vector W of §2 (branches concatenated)."""
        return torch.cat([flatten_params(p) for p in self.branches])

    def with_vector(self, vector: torch.Tensor) -> "Network":
        """A network with the same structure whose parameters are views into ``vector``."""
        out, i = [], 0
        for w in self.widths:
            m = parameter_count(w)
            out.append(unflatten_params(vector[i:i + m], w))
            i += m
        if i != vector.numel():
            raise ValueError(f"vector has {vector.numel()} entries, the network {i}")
        return Network(out, self.scales)


def sgdl_network(structure: str | Sequence[int], *, init: str = "he", seed: int = 0,
                 dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> Network:
    """A plain deep ReLU network (SGDL) for a structure string, preset or width tuple."""
    widths = parse_structure(structure) if isinstance(structure, str) else tuple(structure)
    return Network([init_params(widths, init, seed=seed, dtype=dtype, device=device)])


def msdl_network(subnetwork: str = MSDL_SUBNETWORK, scales: Sequence[float] = MSDL_SCALES, *,
                 init: str = "he", seed: int = 0, dtype: torch.dtype = torch.float32,
                 device: torch.device | str = "cpu") -> Network:
    """The multi-scale network of §7: one sub-network per scale, outputs summed.

    Each sub-network gets its own seed (``seed + k``) so the scales start different, as the
    authors' sequentially split PRNG keys do; with ``init="he-jax"`` one key runs on across the
    sub-networks, exactly as their code.
    """
    widths = parse_structure(subnetwork)
    scales = tuple(float(s) for s in scales)
    if init == "he-jax":
        return Network(_authors_params([widths] * len(scales), seed, dtype, device), scales)
    return Network([init_params(widths, init, seed=seed + k, dtype=dtype, device=device)
                    for k in range(len(scales))], scales)
