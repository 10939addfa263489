"""The NumPy port of JAX's PRNG against values JAX itself produced.

The reference numbers below were printed by JAX 0.4.30 (CPU, default config) with the calls
quoted next to them; JAX is not a dependency of this project, so they are pinned here. The
phases and the first validation points also appear in shared/notes/anchor-repo.md, read from the
authors' own code and outputs.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mgdl_core.core import jax_random as jr
from mgdl_core.core.nets import init_params, msdl_network
from mgdl_core.tasks.synthetic import SETTINGS, synthetic_dataset


def test_key_and_split_are_bit_exact():
    key = jr.prng_key(42)
    assert key.tolist() == [0, 42]  # jax.random.PRNGKey(42)
    # jax.random.split(PRNGKey(42))
    assert jr.split(key).tolist() == [[2465931498, 3679230171], [255383827, 267815257]]


def test_threefry_known_answer():
    # Random123's published known-answer vector for threefry2x32_20 (key = counter = 0)
    y0, y1 = jr.threefry2x32(np.zeros(2, np.uint32), np.zeros(1, np.uint32), np.zeros(1, np.uint32))
    assert (int(y0[0]), int(y1[0])) == (0x6B200159, 0x99BA4EFE)


def test_uniform_reproduces_the_authors_phases_and_validation_points():
    two_pi = 2 * np.pi
    # jax.random.uniform(PRNGKey(0), (3,), 0, 2π) and (5,): the phases of eq. (5)
    np.testing.assert_array_equal(jr.uniform(jr.prng_key(0), (3,), 0, two_pi),
                                  np.float32(SETTINGS[1].phi))
    np.testing.assert_array_equal(jr.uniform(jr.prng_key(0), (5,), 0, two_pi),
                                  np.float32(SETTINGS[2].phi))
    # jax.random.uniform(PRNGKey(1), (1, 1024))[0, :5]
    first = np.float32([0.1665808, 0.1392771, 0.6660441, 0.37331307, 0.9528992])
    np.testing.assert_array_equal(jr.uniform(jr.prng_key(1), (1, 1024))[0, :5], first)
    val = synthetic_dataset(1).val.x[:5, 0].numpy()
    np.testing.assert_array_equal(val, first)


def test_normal_matches_jax_within_a_few_ulps():
    # jax.random.normal(split(PRNGKey(42))[1], (1, 32)) * sqrt(2): the authors' first-grade W1
    w = jr.authors_he_normal([(1, 32, 1)])[0][0][0]
    ref = np.float32([-0.7796509, -2.0601113, -1.1391639, 0.17793639, 0.9295555, 1.6057588])
    # In float32 ulps: XLA fuses multiply-adds (≤ 3 ulps from this port, measured on 10^5 draws;
    # see mgdl_core/core/jax_random.py), and NumPy's float32 log1p dispatches on the CPU (+1).
    np.testing.assert_array_max_ulp(w[0, :6], ref, maxulp=4)
    # the sum of jax.random.normal(PRNGKey(42), (100000,)), in float64: 5 % of the draws differ by
    # a few ulps (~1e-7 of |x|), with random signs: ~√5,000·3e-7 ≈ 2e-5 (measured 8e-6)
    assert float(jr.normal(jr.prng_key(42), (100_000,)).astype(np.float64).sum()) == pytest.approx(
        88.59338226187447, abs=1e-3)
    # tails: no NaN or inf at the ends of the open interval
    assert np.isfinite(jr._erfinv_f32(np.float32([-0.99999994, 0.99999994]))).all()


def test_authors_init_for_mgdl_grades_and_msdl():
    # (30) grade 2, [32]->[32]->[1], W1: jax.random.normal(split(PRNGKey(42))[1], (32, 32)) * sqrt(2/32)
    w = init_params((32, 32, 1), "he-jax", seed=42, dtype=torch.float64)[0][0]
    # 1,024 float32 draws (Σ|w| ≈ 200) each within a few ulps, and JAX's own float32 sum
    # (ulp(4) = 4.8e-7): measured 2.3e-7
    assert w.sum().item() == pytest.approx(3.9147361153154634, abs=1e-5)
    # float32 values (exact in float64), within 4 float32 ulps of JAX's as above (measured: 3 for one)
    np.testing.assert_array_max_ulp(w[3, :4].numpy().astype(np.float32),
                                    np.float32([0.1642214, -0.2284455, -0.24105683, 0.13281243]), maxulp=4)
    # MSDL: one key runs through the four sub-networks; the last layer of the fourth
    net = msdl_network(init="he-jax", seed=42, dtype=torch.float64)
    ref = np.float32([0.31880885, 0.07104625, -0.013252392, -0.86846524, -1.1185462, 0.38389945, 0.55842185,
                      -0.1918121])
    np.testing.assert_array_max_ulp(net.branches[3][-1][0][:, 0].numpy().astype(np.float32), ref, maxulp=4)
    assert all((b == 0).all() for br in net.branches for _, b in br)


def test_bad_seed():
    for bad in (-1, 2**32, 1.5, True):
        with pytest.raises(ValueError, match="seed"):
            jr.prng_key(bad)
