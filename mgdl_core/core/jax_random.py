"""The authors' random numbers without JAX: a NumPy port of JAX's default PRNG (threefry2x32).

Why. The authors' §5–§7 code draws its initial weights as ``jax.random.normal(subkey, shape) *
sqrt(2/fan_in)`` from ``PRNGKey(42)``, and its validation points as ``jax.random.uniform(
PRNGKey(1), (1, 1024))``. The draw matters more than one would hope: with ReLU'(0) = 1/2 the first
MGDL grade of Setting 1 ends at 0.440 from their weights and anywhere in 0.44–0.50 from other
He-normal draws (shared/notes/anchor-repo.md; README, "ReLU'(0)"), and every later grade builds on
it. Reproducing their numbers therefore needs their weights, and a dependency on JAX for six
arrays is not worth it: threefry is a short, fully specified hash (Salmon et al., "Parallel random
numbers: as easy as 1, 2, 3", SC 2011), and JAX's use of it is fixed by its source.

What is reproduced (JAX 0.4.x with the default ``jax_threefry_partitionable=False``, float32):
``PRNGKey(seed)``, ``split(key, 2)``, ``random_bits``, ``uniform`` and ``normal``. Bits, keys and
uniforms are bit-exact; ``normal`` uses XLA's single-precision inverse error function (Giles'
polynomial) evaluated in float32 here: 95 % of draws are bit-exact and the rest within 3 float32
ulps (XLA fuses some multiply-adds), measured against JAX 0.4.30 on 10^5 draws;
tests/test_jax_random.py checks values produced by JAX.
"""
from __future__ import annotations

import numpy as np

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = np.uint32(0x1BD11BDA)


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def threefry2x32(key: np.ndarray, x0: np.ndarray, x1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Threefry-2x32 with 20 rounds, as ``jax._src.prng.threefry2x32``: hashes the counter pairs
    (x0[i], x1[i]) under ``key`` (two uint32)."""
    k0, k1 = np.uint32(key[0]), np.uint32(key[1])
    ks = (k0, k1, k0 ^ k1 ^ _PARITY)
    x0 = x0.astype(np.uint32) + ks[0]
    x1 = x1.astype(np.uint32) + ks[1]
    with np.errstate(over="ignore"):
        for i in range(5):
            for r in _ROTATIONS[i % 2]:
                x0 = x0 + x1
                x1 = _rotl(x1, r) ^ x0
            x0 = x0 + ks[(i + 1) % 3]
            x1 = x1 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x0, x1


def _hash_counts(key: np.ndarray, n: int) -> np.ndarray:
    """JAX's ``threefry_2x32(key, iota(n))``: the counters split in two halves (padded with one 0
    when n is odd), hashed pairwise, concatenated."""
    counts = np.arange(n + (n % 2), dtype=np.uint32)
    if n % 2:
        counts[-1] = 0
    half = counts.size // 2
    y0, y1 = threefry2x32(key, counts[:half], counts[half:])
    return np.concatenate([y0, y1])[:n]


def prng_key(seed: int) -> np.ndarray:
    """``jax.random.PRNGKey(seed)`` for a seed in [0, 2^32): the pair (0, seed)."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2^32), got {seed!r}")
    return np.array([0, seed], dtype=np.uint32)


def split(key: np.ndarray, num: int = 2) -> np.ndarray:
    """``jax.random.split(key, num)``: ``num`` new keys, shape [num, 2]."""
    return _hash_counts(key, 2 * num).reshape(num, 2)


def random_bits(key: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``jax.random.bits`` (32-bit): uint32 values of the given shape."""
    n = int(np.prod(shape, dtype=np.int64))
    return _hash_counts(key, n).reshape(shape)


def uniform(key: np.ndarray, shape: tuple[int, ...], minval: float = 0.0, maxval: float = 1.0) -> np.ndarray:
    """``jax.random.uniform(key, shape, float32, minval, maxval)``."""
    bits = random_bits(key, shape)
    # 23 random mantissa bits under the exponent of 1.0: a float in [1, 2), minus 1
    floats = ((bits >> np.uint32(9)) | np.float32(1.0).view(np.uint32)).view(np.float32) - np.float32(1.0)
    lo, hi = np.float32(minval), np.float32(maxval)
    return np.maximum(lo, floats * (hi - lo) + lo)


def _erfinv_f32(x: np.ndarray) -> np.ndarray:
    """XLA's float32 ErfInv (M. Giles, "Approximating the erfinv function", 2010)."""
    x = x.astype(np.float32)
    one = np.float32(1.0)
    with np.errstate(divide="ignore"):
        w = -np.log1p(-x * x)
    small = w < np.float32(5.0)
    ws = w - np.float32(2.5)
    p = np.full_like(x, np.float32(2.81022636e-08))
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
              -0.00417768164, 0.246640727, 1.50140941):
        p = np.float32(c) + p * ws
    wl = np.sqrt(w) - np.float32(3.0)
    q = np.full_like(x, np.float32(-0.000200214257))
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
              0.00943887047, 1.00167406, 2.83297682):
        q = np.float32(c) + q * wl
    out = np.where(small, p, q) * x
    return np.where(np.abs(x) == one, np.copysign(np.float32(np.inf), x), out).astype(np.float32)


def normal(key: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``jax.random.normal(key, shape, float32)``: √2·erfinv(u), u uniform in (−1, 1)."""
    lo = np.nextafter(np.float32(-1.0), np.float32(0.0))
    u = uniform(key, shape, lo, 1.0)
    return (np.float32(np.sqrt(2.0)) * _erfinv_f32(u)).astype(np.float32)


def authors_he_normal(branches: list[tuple[int, ...]], seed: int = 42) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """The authors' initial parameters for hand-written ReLU MLPs (§5–§7): from ``PRNGKey(seed)``,
    for every branch (MSDL's scales, in order; one branch otherwise) and every layer a→b in turn,
    ``key, sub = split(key)``; W = normal(sub, (a, b))·√(2/a); ``key, _ = split(key)`` (a key
    spent on the zero bias). The key runs on across branches. W is [a, b] as in z = Wᵀa + b."""
    key = prng_key(seed)
    out = []
    for widths in branches:
        layers = []
        for a, b in zip(widths[:-1], widths[1:]):
            key, sub = split(key)
            w = normal(sub, (a, b)) * np.float32(np.sqrt(2.0 / a))
            key, _ = split(key)
            layers.append((w.astype(np.float32), np.zeros(b, dtype=np.float32)))
        out.append(layers)
    return out
