"""GD beside its linearisation (7), and α along a run (Theorems 1–2, 4–5), against direct computation."""
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from mgdl_core.theory.convergence import LinearisedPath, alpha_by_grade, gradient_descent, linearised_gd


def _quadratic(m=6, seed=0):
    """F(W) = ½ Wᵀ Q W − bᵀ W + 3 with Q symmetric positive definite: ∇F = QW − b, H = Q."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, m))
    q = a @ a.T / m + 0.1 * np.eye(m)
    b = rng.standard_normal(m)
    qt, bt = torch.from_numpy(q), torch.from_numpy(b)
    return (lambda w: 0.5 * w @ qt @ w - bt @ w + 3.0), q, b


def test_on_a_quadratic_the_linearised_iteration_is_gd_exactly():
    f, q, b = _quadratic()
    lam = np.linalg.eigvalsh(q)
    for eta in (0.5 / lam[-1], 1.9 / lam[-1], 2.2 / lam[-1]):  # τ < 1, τ < 1 near the edge, τ > 1
        path = linearised_gd(f, np.ones(6), eta, 60)
        # 60 steps of 6-term sums: ≲ 60·6·ε of |W| (which grows as τ^k past the edge); measured 7e-15
        assert path.gap.max() <= 1e-12 * (1 + np.abs(path.w).max())
        # τ_k = ‖I − ηQ‖ at every step: the closed form (6×6 eigen-solves: ~6ε·η‖Q‖ ≈ 1e-15 apart)
        np.testing.assert_allclose(path.tau, np.abs(1 - eta * lam).max(), rtol=1e-12)
        np.testing.assert_allclose(path.a_min, 1 - eta * lam[-1], rtol=1e-12)


def test_gd_equals_the_closed_form_iterates_of_a_quadratic():
    f, q, b = _quadratic()
    eta, w = 0.3, np.ones(6)
    last, losses = gradient_descent(f, w, eta, 25)
    for _ in range(25):
        w = w - eta * (q @ w - b)
    # 25 steps of 6-term sums in another order (torch vs NumPy): rounding scales with |W| (≤ 4.5),
    # not with each entry (one is 0.05)
    np.testing.assert_allclose(last, w, rtol=0, atol=1e-12 * np.abs(w).max())
    # F(1) = ½ Σq − Σb + 3: 43 terms, rounding ≲ 43·ε·Σ|terms|
    terms = 0.5 * np.abs(q).sum() + np.abs(b).sum() + 3.0
    assert losses.size == 26 and losses[0] == pytest.approx(0.5 * 6 * q.sum() / 6 - b.sum() + 3.0,
                                                            rel=0, abs=50 * np.finfo(float).eps * terms)


def _smooth(seed=1):
    """A non-quadratic, strongly convex F: ½‖Aw − c‖² + ¼ Σ w⁴ (r ≠ 0 in (6))."""
    rng = np.random.default_rng(seed)
    a, c = torch.from_numpy(rng.standard_normal((8, 5))), torch.from_numpy(rng.standard_normal(8))
    return lambda w: 0.5 * (a @ w - c).pow(2).sum() + 0.25 * w.pow(4).sum()


def test_the_recursion_is_eq_7_as_written():
    """W̃^{k+1} = A^{k−1} W̃^k − η u^{k−1}, u = ∇F − H W, computed literally with dense matrices."""
    f = _smooth()
    eta, steps = 0.02, 12
    path = linearised_gd(f, np.full(5, 0.8), eta, steps)
    ws = [torch.full((5,), 0.8, dtype=torch.float64)]
    for _ in range(steps):
        w = ws[-1].clone().requires_grad_(True)
        (g,) = torch.autograd.grad(f(w), w)
        ws.append(ws[-1] - eta * g)
    tilde = [ws[0], ws[1]]
    for k in range(1, steps):
        wk1 = ws[k - 1].clone().requires_grad_(True)
        (g,) = torch.autograd.grad(f(wk1), wk1)
        h = torch.autograd.functional.hessian(f, ws[k - 1])
        a, u = torch.eye(5, dtype=torch.float64) - eta * h, g - h @ ws[k - 1]
        tilde.append(a @ tilde[k] - eta * u)
    gaps = [float((x - y).norm()) for x, y in zip(ws, tilde)]
    # a gap is a difference of iterates with |W| ≤ 0.8: its rounding (~12 steps·8 terms·ε) scales
    # with |W|, not with the gap (~2e-3)
    np.testing.assert_allclose(path.gap, gaps, rtol=0, atol=1e-12 * float(ws[0].abs().max()))
    # W̃^0 = W^0 and W̃^1 = W^1 by construction; r ≠ 0 makes them part by ~2e-3 after W^1, far
    # above what rounding alone could (~1e-15)
    assert path.gap[:2].max() == 0 and path.gap[2:].max() > 1e-6


def test_theorem_5_both_converge_to_the_same_point_when_tau_below_1():
    f = _smooth()
    path = linearised_gd(f, np.full(5, 0.8), 0.05, 3000, tol=1e-13)
    assert path.tau_sup < 1 and path.outcome == "converged"
    # GD stops at a step ≤ 1e-13: both are then within ~1e-13/(1 − τ) ≈ 2e-12 of the limit
    # (measured gap 1e-14); the largest gap is 0.03
    assert path.gap[-1] < 1e-11 and path.gap.max() > 1e3 * path.gap[-1]


def test_divergence_is_an_outcome_and_past_2_over_lambda_the_two_part():
    f, q, _ = _quadratic()  # on a quadratic (7) is GD: this checks that divergence is an outcome
    eta = 2.5 / np.linalg.eigvalsh(q)[-1]
    path = linearised_gd(f, np.ones(6), eta, 3000)
    assert path.outcome == "diverged" and path.tau_sup > 1
    f = _smooth()
    # non-quadratic: a rate past 2/λ_max at the start makes W̃ leave GD (which stays bounded by w⁴)
    g = linearised_gd(f, np.full(5, 0.8), 0.6, 400)
    assert g.tau_sup > 1 and g.gap.max() > 1.0


def test_crossing_a_kink_is_marked():
    f = lambda w: 0.5 * (w + 1.0).pow(2).sum()
    path = linearised_gd(f, np.array([1.0]), 0.1, 40, patterns=lambda w: w >= 0)
    assert path.crossed.dtype == bool and path.crossed.sum() == 1
    assert not linearised_gd(f, np.array([1.0]), 0.1, 5).crossed.any()


def test_alpha_along_a_run_is_the_largest_recorded_norm_per_grade():
    sgdl = SimpleNamespace(history={"hessian_norm": [3.0, 7.5, 6.0]})
    assert alpha_by_grade(sgdl) == [7.5]
    mgdl = SimpleNamespace(history={"hessian_norm": [1.0, 2.0, 9.0, 4.0, 0.5], "eig_grade": [1, 1, 2, 2, 3]})
    assert alpha_by_grade(mgdl) == [2.0, 9.0, 0.5]
    with pytest.raises(ValueError, match="track_every"):
        alpha_by_grade(SimpleNamespace(history={}))


@pytest.mark.parametrize("bad", [dict(lr=0.0), dict(lr=math.nan), dict(steps=0), dict(w0=[math.nan]), dict(lr=True)])
def test_bad_input_is_a_clear_error(bad):
    kw = dict(w0=[1.0], lr=0.1, steps=3) | bad
    with pytest.raises(ValueError):
        linearised_gd(lambda w: w.pow(2).sum(), **kw)
    with pytest.raises(ValueError):
        gradient_descent(lambda w: w.pow(2).sum(), **kw)


def test_gd_stops_with_a_nan_when_the_gradient_leaves_the_floats():
    _, losses = gradient_descent(lambda w: w.pow(4).sum(), [10.0], 1.0, 50)  # w ← w − 4w³ blows up
    assert not math.isfinite(losses[-1]) and losses.size < 51 and np.isfinite(losses[:-1]).all()


def test_rate_claims_decide_with_room_on_the_largest_grade():
    from mgdl_core.pages.theory_report import rate_claims

    def run(setting, method, lr, norms, grades=None, outcome="completed"):
        h = {"hessian_norm": norms} | ({"eig_grade": grades} if grades else {})
        return SimpleNamespace(config=SimpleNamespace(setting=setting, method=method, lr=lr), history=h, outcome=outcome)

    tracked = {(1, "sgdl"): run(1, "sgdl", 0.1, [10.0, 30.0]),  # η·α̂ = 3: yes
               (1, "mgdl"): run(1, "mgdl", 0.1, [5.0, 21.0], [1, 2]),  # 2.1: inside the 8 % band
               (2, "sgdl"): run(2, "sgdl", 0.1, [12.0], outcome="diverged")}
    lines = rate_claims(tracked)
    assert lines[0].endswith(": yes") and lines[2].endswith("too close to call") and lines[4].endswith(": no")
    assert lines[5].endswith("diverging: no")
    assert lines[6] == "Setting 1: SGDL's alpha_hat > 2 × MGDL's alpha_hat_1: yes" and len(lines) == 7  # 30/5 = 6
    assert not any("\u0302" in line for line in lines)  # no combining circumflex in printed text


def _path(tau, gap):
    tau, gap = np.asarray(tau, float), np.asarray(gap, float)
    z = np.zeros_like(tau)
    return LinearisedPath(0.1, z, gap, tau, z, z, z, z.astype(bool), np.zeros(1), np.zeros(1), "max_steps")


def test_path_claims_answer_with_room():
    from mgdl_core.pages.theory_report import path_claims

    lines = path_claims({"meets": _path([1.2, 1.1, 0.999, 0.998], [0, 0, 1e-2, 1e-4]),
                         "parts": _path([1.2, 1.3, 1.2, 1.00005], [0, 0, 5.0, 2e-3]),
                         "close": _path([1, 1, 1, 1], [0, 0, 0.5, 1e-3])})
    assert lines[1:4] == ["  τ_k < 1 on the second half: yes", "  they part, gap above 1: no",
                          "  they meet, gap at the end below 1e-3: yes"]
    assert lines[5:8] == ["  τ_k < 1 on the second half: no", "  they part, gap above 1: yes",
                          "  they meet, gap at the end below 1e-3: no"]
    assert set(lines[9:12]) == {"  τ_k < 1 on the second half: too close to call",
                                "  they part, gap above 1: too close to call",
                                "  they meet, gap at the end below 1e-3: too close to call"}


def test_grade_problem_patterns_are_the_pre_activation_signs():
    from mgdl_core.theory.convex import unpack_two_layer
    from mgdl_core.pages.theory_report import grade_problem

    p = grade_problem("relu", n=5, width=3)
    w, _ = unpack_two_layer(p.start, 2)
    x = (np.arange(5) + 0.5) / 5
    expected = np.c_[x, np.ones(5)] @ w >= 0
    assert np.array_equal(p.patterns(torch.from_numpy(p.start)).numpy(), expected)
    assert grade_problem("softplus").patterns is None
    with pytest.raises(ValueError, match="activation"):
        grade_problem("tanh")


@pytest.mark.parametrize("activation", ["softplus", "relu"])
def test_closed_form_derivatives_of_a_grade_equal_autograd(activation):
    """two_layer_derivatives against autograd's value, gradient and dense Hessian of eq. (8), at the
    page's start and at a point GD reached; for ReLU also at a point with exact zero
    pre-activations, where both take σ'(0) = 0. Then a path of (6)–(7) with either is the same."""
    from mgdl_core.pages.theory_report import grade_problem
    from mgdl_core.theory.convergence import _hessian, _value_and_gradient
    from mgdl_core.theory.convex import two_layer_derivatives

    p = grade_problem(activation, n=9, width=5, beta=0.1)
    start = torch.from_numpy(p.start)
    moved = torch.from_numpy(gradient_descent(p.objective, p.start, 0.05, 200)[0])
    kink = start.clone()
    kink[[0, 5]] = 0.0  # neuron 0's weight and bias (W row by row: x, then 1): its pre-activations are all 0
    points = [start, moved] + ([kink] if activation == "relu" else [])
    for w in points:
        value, grad, hess = p.derivatives(w)
        v_ref, g_ref = _value_and_gradient(p.objective, w)
        h_ref = _hessian(p.objective, w)
        assert value == pytest.approx(v_ref, rel=1e-14, abs=1e-15)
        np.testing.assert_allclose(grad.numpy(), g_ref.numpy(), rtol=0, atol=1e-13)
        np.testing.assert_allclose(hess.numpy(), h_ref.numpy(), rtol=0, atol=1e-13)
        np.testing.assert_array_equal(hess.numpy(), hess.numpy().T)
    # η = 0.01: τ_k ≤ 1.03 on this path, so rounding is not amplified (at 0.05, τ_k reaches 2.07 and
    # GD itself parts from its own rounding after ~85 steps); measured ≤ 3e-12 relative (the gap)
    a = linearised_gd(p.objective, p.start, 0.01, 300, patterns=p.patterns)
    b = linearised_gd(p.objective, p.start, 0.01, 300, patterns=p.patterns, derivatives=p.derivatives)
    for key in ("loss", "gap", "tau", "a_min", "a_max", "step"):
        np.testing.assert_allclose(getattr(b, key), getattr(a, key), rtol=1e-9, atol=1e-14)
    np.testing.assert_array_equal(a.crossed, b.crossed)
    with pytest.raises(ValueError, match="activation"):
        two_layer_derivatives(start, torch.ones(9, 2, dtype=torch.float64), torch.ones(9, dtype=torch.float64), 0.1,
                              "tanh")


def _tracked(method, lr, norms, grades=None, epochs=100, early=False):
    h = {"hessian_norm": np.asarray(norms, float)} | ({"eig_grade": np.asarray(grades)} if grades else
                                                     {"eig_epoch": np.arange(len(norms)) * 10})
    return SimpleNamespace(config=SimpleNamespace(setting=1, method=method, graded=method == "mgdl", lr=lr, epochs=epochs,
                                                  early_stopping=early),
                           history=h, outcome="completed")


def test_alpha_after_start_leaves_out_each_grades_initialisation():
    from mgdl_core.pages.theory_report import alpha_after_start

    # brute force: drop the first spectrum of each grade, take the max of the rest
    norms, grades = [9.0, 2.0, 3.0, 40.0, 5.0, 6.0, 7.0], [1, 1, 1, 2, 2, 3, 3]
    expected = []
    for g in (1, 2, 3):
        values = [n for i, (n, k) in enumerate(zip(norms, grades)) if k == g and i != grades.index(g)]
        expected.append(max(values))
    assert alpha_after_start(_tracked("mgdl", 0.1, norms, grades)) == expected == [3.0, 5.0, 7.0]
    assert alpha_after_start(_tracked("sgdl", 0.1, [50.0, 4.0, 6.0])) == [6.0]  # epoch 0 is the start
    assert math.isnan(alpha_after_start(_tracked("mgdl", 0.1, [1.0, 2.0], [1, 2]))[0])  # no spectrum after


def test_edge_claims_and_the_scale_table():
    from mgdl_core.pages.theory_report import alpha_scale_text, edge_claims

    at_edge = _tracked("mgdl", 0.1, [30.0, 19.5, 50.0, 20.4], [1, 1, 2, 2], epochs=10**6, early=True)  # 2/η = 20
    beyond = _tracked("sgdl", 0.1, [5.0, 31.0])  # η·α̂ = 3.1 after its start
    close = _tracked("mgdl", 0.1, [1.0, 21.1], [1, 1])  # 5.5 % off: inside the room
    lines = edge_claims({(1, "mgdl"): at_edge})
    assert lines[1].endswith("(after its start): yes")
    assert edge_claims({(1, "sgdl"): beyond})[1].endswith("(after its start): no")
    assert edge_claims({(1, "mgdl"): close})[1].endswith("too close to call")
    text = alpha_scale_text({(1, "mgdl"): close}, {(1, "mgdl"): at_edge})
    assert "2/η = 20.0" in text and "quick (100 epochs per grade):\n    alpha_hat = 21.1" in text
    assert "paper (1,000,000 epochs per grade, early stopping):\n    alpha_hat = 30.0, 50.0" in text
    assert max(len(line) for line in text.splitlines()) <= 64  # a phone's printed-output box
    assert "after each start: 19.5, 20.4" in text
    assert "paper: not computed" in alpha_scale_text({(1, "mgdl"): close}, {})
    assert "\u0302" not in text + "".join(lines)


def test_path_glue_counts_what_the_prose_quotes():
    from mgdl_core.pages.theory_report import path_glue

    n = 11
    tau = np.array([1.2, 1.1, 1.05] + [0.9] * (n - 3))
    a_max = np.array([1.2, 0.5, 1.05] + [0.9] * (n - 3))  # steps 0 and 2: a negative Hessian eigenvalue
    gap = np.linspace(1.0, 0.1, n)
    loss = np.array([5.0] * (n - 4) + [2.0, 3.0, 2.0, 3.0])  # a period-two cycle at the end
    w = np.r_[[1.0, 0.0, 0.001, 2.0], [0.0, 0.0, 0.0, 0.0], np.ones(4)]  # W [2, 4] row by row, then α
    p = LinearisedPath(0.1, loss, gap, tau, tau * 0, a_max, np.full(n, 0.5), np.r_[True, np.zeros(n - 1, bool)],
                       w, w, "max_steps")
    g = path_glue("relu, η = 0.1", p, width=4)
    assert g["relu-0.1-early-steps"] == "3" and g["relu-0.1-early-negative"] == "2"
    assert g["relu-0.1-tau-tail"] == "0.9000" and g["relu-0.1-above-one"] == "0%" and g["relu-0.1-tau-max"] == "1.200"
    assert g["relu-0.1-gap-fall"] == f"{gap[-3] / gap[-1]:.1f}"  # a fifth of 11 rows: 2 steps back
    assert g["relu-0.1-loss-cycle"] == "2.0000 and 3.0000" and g["relu-0.1-cycle-repeat"] == "0"
    assert g["relu-0.1-gap-floor"] == "1"  # the peak is 1.0
    flipped = LinearisedPath(0.1, np.r_[loss[:-4], 3.0, 2.0, 3.0, 2.0 + 7e-11], gap * 17, tau, tau * 0, a_max, np.full(n, 0.5),
                             np.zeros(n, bool), w, w, "max_steps")
    f = path_glue("softplus, η = 0.1", flipped, width=4)  # the cycle's other phase, the gap's other peak
    assert f["softplus-0.1-loss-cycle"] == "2.0000 and 3.0000" and f["softplus-0.1-cycle-repeat"] == "1e-10"
    assert f["softplus-0.1-gap-floor"] == "10"
    assert g["relu-0.1-kinks"] == "1"
    assert g["relu-0.1-shrunk"] == "2"  # neuron norms 1, 0, 0.001, 2: two below 1 % of 2
    smooth = LinearisedPath(0.1, loss, gap, tau, tau * 0, a_max, np.full(n, 0.5), np.zeros(n, bool), w, w, "max_steps")
    assert "softplus-0.1-kinks" not in path_glue("softplus, η = 0.1", smooth, width=4)
