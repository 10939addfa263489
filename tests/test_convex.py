"""A two-layer grade as a convex program (Appendix A, Theorem 3), against brute force."""
import math

import numpy as np
import pytest
import torch

from mgdl_core.convex import (activation_patterns, recover_network, solve_convex_grade, two_layer_objective,
                              with_bias_column)

cp = pytest.importorskip("cvxpy", reason="the convex program needs the optional extra 'convex' (cvxpy)")


def _data(n=12, seed=0):
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-1, 1, n))
    e = np.sin(3 * x) + 0.1 * rng.standard_normal(n)
    return with_bias_column(x), e


def _brute_patterns(x, samples=200_000, seed=1):
    w = np.random.default_rng(seed).standard_normal((x.shape[1], samples))
    s = (x @ w >= 0).T
    return {tuple(r) for r in s if r.any()}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_enumeration_equals_brute_force_sampling_in_2d(seed):
    x = np.random.default_rng(seed).standard_normal((9, 2))
    exact = {tuple(r) for r in activation_patterns(x)}
    assert exact == _brute_patterns(x)
    assert len(exact) <= 2 * x.shape[0]  # at most 2N sectors


def test_enumeration_of_1d_data_with_a_bias_column_and_without():
    x, _ = _data(8)
    assert {tuple(r) for r in activation_patterns(x)} == _brute_patterns(x)
    one = activation_patterns(np.array([[1.0], [-2.0], [3.0]]))
    assert {tuple(r) for r in one} == {(True, False, True), (False, True, False)}


def test_sampled_patterns_are_a_subset_and_reproducible():
    x = np.random.default_rng(3).standard_normal((10, 3))
    a, b = activation_patterns(x, samples=500, seed=4), activation_patterns(x, samples=500, seed=4)
    assert np.array_equal(a, b)
    assert {tuple(r) for r in a} <= _brute_patterns(x)
    with pytest.raises(ValueError, match="d <= 2"):
        activation_patterns(x)


@pytest.mark.parametrize("beta", [1e-3, 1e-2, 0.1])
def test_recovered_network_attains_the_convex_optimum(beta):
    """Theorem 3: the network built from (u*, v*) has (8)'s objective equal to (9)'s optimum."""
    x, e = _data()
    sol = solve_convex_grade(x, e, beta)
    w, alpha = recover_network(sol)
    assert w.shape == (2, sol.m_star) and alpha.shape == (sol.m_star,)
    assert two_layer_objective(w, alpha, x, e, beta) == pytest.approx(sol.value, rel=1e-6)
    np.testing.assert_allclose(sol.predict(x), np.maximum(x @ w, 0) @ alpha)


def _gd_two_layer(x, e, beta, m, seed, steps=4000, lr=0.05):
    """Plain GD (autograd, float64) on eq. (8): the non-convex problem, from one initialisation."""
    g = torch.Generator().manual_seed(seed)
    xt, et = torch.from_numpy(x), torch.from_numpy(e)
    w = (torch.randn(x.shape[1], m, generator=g, dtype=torch.float64) / math.sqrt(x.shape[1])).requires_grad_()
    a = (torch.randn(m, generator=g, dtype=torch.float64) / math.sqrt(m)).requires_grad_()
    opt = torch.optim.SGD([w, a], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = 0.5 * ((torch.relu(xt @ w) @ a - et) ** 2).sum() + 0.5 * beta * (w.pow(2).sum() + a.pow(2).sum())
        loss.backward()
        opt.step()
    return two_layer_objective(w.detach().numpy(), a.detach().numpy(), x, e, beta)


def test_no_gd_run_of_the_nonconvex_problem_beats_the_convex_optimum():
    """The convex optimum is global: 20 GD runs of (8) from random starts end at or above it."""
    x, e = _data()
    beta = 1e-2
    sol = solve_convex_grade(x, e, beta)
    runs = [_gd_two_layer(x, e, beta, m=max(2 * sol.m_star, 8), seed=s) for s in range(20)]
    assert min(runs) >= sol.value * (1 - 1e-6) - 1e-9
    # and GD gets near it from the best start: the program is a tight lower bound, not a loose one
    assert min(runs) <= sol.value * 1.05


def test_bad_inputs_are_clear_errors():
    x, e = _data()
    with pytest.raises(ValueError, match="beta"):
        solve_convex_grade(x, e, 0.0)
    with pytest.raises(ValueError, match="N = 12"):
        solve_convex_grade(x, e[:5], 0.1)
    with pytest.raises(ValueError, match="N × d"):
        activation_patterns(np.zeros(5))
    with pytest.raises(ValueError, match="samples"):
        activation_patterns(x, samples=0)
