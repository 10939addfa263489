"""A two-layer grade as a convex program (Appendix A, Theorem 3), against brute force."""

import numpy as np
import pytest
import torch

from mgdl_core.theory.convex import (activation_patterns, pack_two_layer, random_two_layer, recover_network, solve_convex_grade,
                              two_layer_loss, two_layer_objective, unpack_two_layer, with_bias_column)
from mgdl_core.theory.convergence import gradient_descent

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


def _gd_two_layer(x, e, beta, m, seeds, steps=4000, lr=0.05):
    """GD (mgdl_core.theory.convergence.gradient_descent, float64) on eq. (8), the non-convex problem, from one
    random initialisation per seed: the runs side by side as one vector, the sum of their losses (each
    block's gradient is its own run's), so that one autograd call per step serves every run."""
    xt, et = torch.from_numpy(x), torch.from_numpy(e)
    starts = [random_two_layer(x.shape[1], m, torch.Generator().manual_seed(s)) for s in seeds]
    loss = torch.func.vmap(lambda v: two_layer_loss(v, xt, et, beta))
    vector, _ = gradient_descent(lambda v: loss(v.view(len(starts), -1)).sum(), np.concatenate(starts), lr, steps)
    return [two_layer_objective(*unpack_two_layer(v, x.shape[1]), x, e, beta) for v in vector.reshape(len(starts), -1)]


def test_no_gd_run_of_the_nonconvex_problem_beats_the_convex_optimum():
    """The convex optimum is global: 10 GD runs of (8) from random starts end at or above it (7 of
    them within 3.5 % of it on this data)."""
    x, e = _data()
    beta = 1e-2
    sol = solve_convex_grade(x, e, beta)
    runs = _gd_two_layer(x, e, beta, m=max(2 * sol.m_star, 8), seeds=range(10))
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


def test_convex_mgdl_grades_are_the_programs_of_their_features_and_residuals():
    """Grade 1 is program (9) on [x, 1] and y; grade 2 the program on grade 1's ReLU layer and
    residual; the fit's prediction is the sum of the grades, its losses eq. (3)."""
    from mgdl_core.theory.convex_grades import convex_mgdl

    x, e = _data(16, seed=4)
    fit = convex_mgdl(x[:, 0], e, 2, 1e-2, samples=300, seed=5)
    first = solve_convex_grade(x, e, 1e-2)
    assert fit.grades[0].objective == pytest.approx(first.value, rel=1e-6)
    assert fit.grades[0].neurons == first.m_star == fit.grades[0].w.shape[1]
    h = np.maximum(x @ fit.grades[0].w, 0.0)
    residual = e - h @ fit.grades[0].alpha
    second = solve_convex_grade(with_bias_column(h), residual, 1e-2,
                                activation_patterns(with_bias_column(h), samples=300, seed=6))
    assert fit.grades[1].objective == pytest.approx(second.value, rel=1e-6)
    for grades, loss in zip((1, 2), fit.losses):
        assert loss == pytest.approx(np.mean((e - fit.predict(x[:, 0], grades)) ** 2) / 2, rel=1e-9)
    assert fit.losses[1] < fit.losses[0]


def test_the_theory_pages_neuron_counts_do_not_depend_on_rounding():
    """The theory page's convex grades (its quick plan): every u_i, v_i is either a neuron, above
    10⁻³ of the largest, or the solver's zero, below 10⁻⁵ of it, so the cut at 10⁻⁴ decides each
    one with a decade of room on both sides, and the features of the next grade (its input size
    m* + 1, so its sampled patterns) are the same on every machine. With an absolute cut at
    10⁻⁷ grade 1 counted one zero of norm 1.1e-7 as a neuron, and grade 2 33 or 34 by CPU."""
    from mgdl_core.theory.convex_grades import convex_mgdl
    from mgdl_core.pages.plans import page_plan
    from mgdl_core.tasks.synthetic import get_setting

    plan = page_plan("theory", "quick")
    x = np.linspace(0.0, 1.0, plan["points"])
    y = get_setting(1)(x)
    fit = convex_mgdl(x, y, plan["grades"], plan["beta"], samples=plan["samples"])
    features, e = x[:, None], y
    for level, grade in enumerate(fit.grades):
        xb = with_bias_column(features)
        patterns = activation_patterns(xb) if level == 0 else activation_patterns(xb, plan["samples"], level)
        sol = solve_convex_grade(xb, e, plan["beta"], patterns)
        norms = np.linalg.norm(np.concatenate([sol.u, sol.v]), axis=1) / np.linalg.norm(
            np.concatenate([sol.u, sol.v]), axis=1).max()
        assert not np.any((norms > 1e-5) & (norms < 1e-3)), f"grade {level + 1}: {np.sort(norms)[::-1][:30]}"
        assert sol.m_star == grade.neurons == grade.w.shape[1] == int((norms >= 1e-3).sum())
        e = e - grade.output(features)
        features = grade.hidden(features)


def test_gd_mgdl_grade_one_cannot_beat_the_convex_grade_one():
    from mgdl_core.theory.convex_grades import convex_mgdl, gd_mgdl

    x, e = _data(16, seed=4)
    convex = convex_mgdl(x[:, 0], e, 1, 1e-2)
    gd = gd_mgdl(x[:, 0], e, 2, 1e-2, width=16, lr=0.05, steps=1500, seed=0)
    assert gd.grades[0].objective >= convex.grades[0].objective * (1 - 1e-6)
    assert len(gd.grades) == 2 and gd.grades[1].w.shape == (17, 16)
    loss = np.mean((e - gd.predict(x[:, 0])) ** 2) / 2
    assert gd.losses[-1] == pytest.approx(loss, rel=1e-9)
    with pytest.raises(ValueError, match="n_grades"):
        gd_mgdl(x[:, 0], e, 0, 1e-2, width=4, lr=0.1, steps=3)
    with pytest.raises(ValueError, match="width"):
        gd_mgdl(x[:, 0], e, 1, 1e-2, width=0, lr=0.1, steps=3)
    with pytest.raises(ValueError, match="beta"):
        convex_mgdl(x[:, 0], e, 1, -1.0)
    with pytest.raises(ValueError, match="samples"):
        convex_mgdl(x[:, 0], e, 2, 1e-2, samples=0)
    with pytest.raises(ValueError, match="no neuron"):
        convex_mgdl(x[:, 0], e, 1, 1e6)
    with pytest.raises(ValueError, match="learning rate"):
        gd_mgdl(x[:, 0], e, 1, 1e-2, width=4, lr=-1.0, steps=3)


def test_two_layer_loss_layout_and_shapes():
    """The vector layout of (8) (W row by row, then α) agrees with pack/unpack and the NumPy
    objective; wrong shapes are clear errors, not broadcasts."""
    x, e = _data(6)
    rng = np.random.default_rng(0)
    w, a = rng.standard_normal((2, 3)), rng.standard_normal(3)
    v = pack_two_layer(w, a)
    uw, ua = unpack_two_layer(v, 2)
    assert np.array_equal(uw, w) and np.array_equal(ua, a)
    direct = 0.5 * np.sum((np.maximum(x @ w, 0) @ a - e) ** 2) + 0.05 * (np.sum(w * w) + a @ a)
    assert two_layer_objective(w, a, x, e, 0.1) == pytest.approx(direct, rel=1e-12)
    xt, et = torch.from_numpy(x), torch.from_numpy(e)
    with pytest.raises(ValueError, match="e \\[N\\]"):
        two_layer_loss(torch.from_numpy(v), xt, et[:1], 0.1)
    with pytest.raises(ValueError, match="m·\\(d \\+ 1\\)"):
        two_layer_loss(torch.from_numpy(v[:-1]), xt, et, 0.1)
    with pytest.raises(ValueError, match="m·\\(d \\+ 1\\)"):
        unpack_two_layer(v[:-1], 2)
