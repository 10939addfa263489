"""The Hessian of eq. (1) and the spectrum of I − ηH (§6), each checked against brute force."""
import numpy as np
import pytest
import torch

from mgdl_core.theory.hessian import (EigenTracker, Spectrum, dense_hessian, edge_of_stability, hessian_spectrum,
                               hvp)
from mgdl_core.core.mgdl import train_mgdl
from mgdl_core.core.nets import Network, init_params, msdl_network, sgdl_network
from mgdl_core.core.step import gd_step_, gradients, loss_value, mlp_features, mlp_forward
from mgdl_core.tasks.synthetic import synthetic_dataset
from mgdl_core.core.training import TrainConfig, train

F64 = torch.float64


@pytest.fixture(scope="module")
def data():
    return synthetic_dataset(1, n_train=128, n_val=32, n_test=64, dtype=F64)


def _trained(net, data, steps, lr):
    for _ in range(steps):
        gd_step_(net, data.train.x, data.train.y, lr)
    return net


@pytest.fixture(scope="module")
def sgdl(data):  # a (26)-like net, trained a bit: M = 593
    return _trained(sgdl_network("[1]->[16]x3->[1]", seed=3, dtype=F64), data, 300, 0.05)


@pytest.fixture(scope="module")
def msdl(data):  # §7's four-branch network: M = 964
    return _trained(msdl_network(seed=1, dtype=F64), data, 200, 0.02)


def _grad_vector(net, x, y):
    return torch.cat([g.t().reshape(-1) if g.ndim == 2 else g for g in gradients(net, x, y)[1]])


def _eig_room(m, n, lam):
    """Room for an eigenvalue of an M×M Hessian built from sums over N samples, compared across two
    routes (dense eigvalsh, ARPACK Lanczos at tol = 0, or two roundings of H): each is backward
    stable, within ~max(M, N)·ε·‖H‖ of the exact eigenvalue; 10× that."""
    return 10 * max(m, n) * np.finfo(np.float64).eps * float(np.abs(lam).max())


@pytest.mark.parametrize("which", ["sgdl", "msdl"])
def test_lanczos_matches_dense_eigvalsh(which, request, data):
    net = request.getfixturevalue(which)
    x, y, eta, k = data.train.x, data.train.y, 0.05, 6
    lan = hessian_spectrum(net, x, y, eta, k=k, method="lanczos")
    assert lan.method == "lanczos" and lan.hvps < net.num_parameters()
    lam = torch.linalg.eigvalsh(dense_hessian(net, x, y)).numpy()  # brute force
    ref_small, ref_large = np.sort(1 - eta * lam[-k:]), np.sort(1 - eta * lam[:k])
    room = _eig_room(net.num_parameters(), x.shape[0], lam)  # ~1e-11 (‖H‖ ≈ 14 and 4)
    np.testing.assert_allclose(lan.smallest, ref_small, rtol=0, atol=eta * room)
    np.testing.assert_allclose(lan.largest, ref_large, rtol=0, atol=eta * room)
    assert lan.lambda_max == pytest.approx(lam[-1], rel=0, abs=room)
    assert lan.lambda_min == pytest.approx(lam[0], rel=0, abs=room)  # λ_min ≈ 0 for MSDL: absolute
    assert lan.hessian_norm == pytest.approx(max(abs(lam)), rel=0, abs=room)
    if which == "sgdl":
        den = hessian_spectrum(net, x, y, eta, k=k, method="dense")
        assert den.method == "dense" and den.hvps == net.num_parameters()
        # the same dense_hessian + eigvalsh as the reference (equal in practice); |1 − ηλ| ≤ 1
        np.testing.assert_allclose(den.smallest, ref_small, rtol=0, atol=1e-12)
        np.testing.assert_allclose(den.largest, ref_large, rtol=0, atol=1e-12)


def test_hvp_equals_central_difference_of_gradient(sgdl, data):
    # Without the sample x = 0: neurons that never fired keep b = 0 exactly, so their
    # pre-activation at x = 0 sits on ReLU's kink and the gradient is not differentiable there.
    x, y = data.train.x[1:], data.train.y[1:]
    w = sgdl.vector().clone()
    v = torch.randn(w.numel(), generator=torch.Generator().manual_seed(0), dtype=F64)
    eps = 1e-6
    fd = (_grad_vector(sgdl.with_vector(w + eps * v), x, y)
          - _grad_vector(sgdl.with_vector(w - eps * v), x, y)) / (2 * eps)
    hv = hvp(sgdl, x, y)(v)
    assert hv.dtype == F64 and hv.shape == w.shape
    # Central difference at eps = 1e-6: truncation O(eps²); rounding ≲ N·u·Σ|terms|/eps, up to
    # ~1e-7 of ‖Hv‖ in the worst case (measured: 5e-10).
    assert torch.linalg.norm(hv - fd) <= 1e-6 * torch.linalg.norm(hv)
    # A float32 network gives the Hessian of its float64 copy; the network is not modified.
    net32 = sgdl.to(torch.float32)
    before = net32.vector().clone()
    x32, y32 = x.float(), y.float()
    hv32 = hvp(net32, x32, y32)(v.numpy())
    assert torch.equal(net32.vector(), before)
    ref = hvp(net32.to(F64), x32.double(), y32.double())(v)
    # the same float64 computation (equal in practice): 1e-10 is far above its rounding (~1e-14)
    # and far below the ~1e-7 a float32 Hessian would show
    assert torch.allclose(hv32, ref, rtol=0, atol=1e-10 * ref.abs().max())


def test_dense_hessian_equals_second_differences_of_loss(data):
    net = sgdl_network("[1]->[3]->[1]", seed=5, dtype=F64)  # 10 parameters
    net.branches[0][0][1].copy_(torch.tensor([0.1, -0.2, 0.3], dtype=F64))
    x, y = data.train.x[::8], data.train.y[::8]
    w = net.vector().clone()
    m, h = w.numel(), 1e-4
    assert m == 10
    loss = lambda u: loss_value(net.with_vector(u), x, y).item()
    fd = np.empty((m, m))
    for i in range(m):
        for j in range(m):
            ei, ej = torch.zeros(m, dtype=F64), torch.zeros(m, dtype=F64)
            ei[i], ej[j] = h, h
            fd[i, j] = (loss(w + ei + ej) - loss(w + ei - ej) - loss(w - ei + ej) + loss(w - ei - ej)) / (4 * h * h)
    hess = dense_hessian(net, x, y).numpy()
    assert np.array_equal(hess, hess.T)  # ½(h + hᵀ): IEEE addition commutes, symmetric exactly
    for chunk in (1, 3):  # plain loop and a ragged batched chunk give the same matrix
        # the same products, batched or not: at most a reordering of 16-sample sums (≲ 16ε|H|)
        np.testing.assert_allclose(dense_hessian(net, x, y, chunk=chunk).numpy(), hess, rtol=0,
                                   atol=1e-14 * abs(hess).max())
    # Second differences at h = 1e-4 of L ≈ 0.6: rounding ≲ 16·u·L/h² ≈ 1e-7 in the worst case
    # (measured 5e-9), truncation O(h²) ≈ 1e-9.
    np.testing.assert_allclose(hess, fd, rtol=0, atol=1e-6 * abs(hess).max())


def test_linear_network_is_a_known_quadratic():
    gen = torch.Generator().manual_seed(0)
    n, d = 64, 5
    x = torch.rand(n, d, generator=gen, dtype=F64)
    y = torch.randn(n, 1, generator=gen, dtype=F64)
    net = Network([init_params((d, 1), seed=2, dtype=F64)])
    a = torch.cat([x, torch.ones(n, 1, dtype=F64)], 1)  # W_1 (d entries), then b_1
    expected = a.t() @ a / n
    # entries ≤ 1 (x ∈ [0, 1]), sums of n = 64 non-negative terms: each side within (n − 1)·u
    assert torch.allclose(dense_hessian(net, x, y), expected, rtol=0,
                          atol=n * torch.finfo(F64).eps * expected.abs().max())
    lam = torch.linalg.eigvalsh(expected).numpy()
    eta = 0.3
    spec = hessian_spectrum(net, x, y, eta, k=3)
    assert spec.method == "dense"  # M = 6: automatic fallback
    room = _eig_room(6, n, lam)
    np.testing.assert_allclose(spec.smallest, np.sort(1 - eta * lam[-3:]), rtol=0, atol=eta * room)
    np.testing.assert_allclose(spec.largest, np.sort(1 - eta * lam[:3]), rtol=0, atol=eta * room)
    # Larger: Lanczos (forced) on the same quadratic.
    d = 60
    x = torch.rand(n, d, generator=gen, dtype=F64)
    net = Network([init_params((d, 1), seed=2, dtype=F64)])
    a = torch.cat([x, torch.ones(n, 1, dtype=F64)], 1)
    lam = torch.linalg.eigvalsh(a.t() @ a / n).numpy()
    spec = hessian_spectrum(net, x, y[:, :1], eta, k=4, dense_below=0, max_products=10**6)
    assert spec.method == "lanczos"
    room = _eig_room(d + 1, n, lam)  # ≈ 2e-12 (‖H‖ ≈ 16)
    np.testing.assert_allclose(spec.smallest, np.sort(1 - eta * lam[-4:]), rtol=0, atol=eta * room)
    np.testing.assert_allclose(spec.largest, np.sort(1 - eta * lam[:4]), rtol=0, atol=eta * room)


def test_mgdl_grade_hessian_is_the_grades_own():
    data = synthetic_dataset(1, n_train=48, n_val=16, n_test=16, dtype=F64)
    x, y = data.train.x, data.train.y
    res = train_mgdl([(1, 6, 1), (6, 5, 1)], data, TrainConfig(epochs=200, lr=0.05))
    g1, g2 = res.model.grades
    feats = res.model.features(x, 2)
    resid = y - mlp_forward(g1.branches[0], x)
    hess = dense_hessian(g2, feats, resid)
    assert hess.shape == (g2.num_parameters(),) * 2 == (41, 41)

    # Reference: the Hessian of the composed map (Θ_1, Θ_2) ↦ L_2, taken end to end; its Θ_2 block
    # is the grade's H. Earlier grades enter only through the features and the residual.
    m1 = g1.num_parameters()

    def composed(w):
        n1, n2 = g1.with_vector(w[:m1]), g2.with_vector(w[m1:])
        f = torch.relu(x @ n1.branches[0][0][0] + n1.branches[0][0][1])
        r = y - (f @ n1.branches[0][1][0] + n1.branches[0][1][1])
        out = torch.relu(f @ n2.branches[0][0][0] + n2.branches[0][0][1]) @ n2.branches[0][1][0] + n2.branches[0][1][1]
        return 0.5 * (out - r).pow(2).sum() / x.shape[0]

    w = torch.cat([g1.vector(), g2.vector()])
    full = torch.autograd.functional.hessian(composed, w)
    # two autograd routes to the same 48-sample sums: ≲ 48·ε·|H| ≈ 1e-14·|H| apart (|H| = 1 here:
    # the last bias's entry)
    assert torch.allclose(hess, full[m1:, m1:], rtol=0, atol=1e-12 * full[m1:, m1:].abs().max())
    # Perturbing grade 1 changes grade 2's H only through the recomputed features and residual.
    w_p = w.clone()
    w_p[:m1] += 0.05 * torch.randn(m1, generator=torch.Generator().manual_seed(1), dtype=F64)
    g1p = g1.with_vector(w_p[:m1])
    hess_p = dense_hessian(g2, mlp_features(g1p.branches[0], x), y - mlp_forward(g1p.branches[0], x))
    full_p = torch.autograd.functional.hessian(composed, w_p)
    assert torch.allclose(hess_p, full_p[m1:, m1:], rtol=0, atol=1e-12 * full_p[m1:, m1:].abs().max())
    assert not torch.allclose(hess_p, hess, atol=1e-6)  # it moves by ~0.07: far above rounding


def test_relu_prime_at_zero_matters_only_at_exact_zeros():
    net = sgdl_network("[1]->[8]x2->[1]", seed=0, dtype=F64)  # He init: zero biases
    assert all((b == 0).all() for _, b in net.branches[0])
    grid0 = (torch.arange(-10, 11, dtype=F64) / 10)[:, None]  # contains x = 0 exactly
    assert (grid0 == 0).any()
    y0 = torch.sin(3 * grid0)
    h0, h1 = dense_hessian(net, grid0, y0, 0), dense_hessian(net, grid0, y0, 1)
    assert (h0 - h1).abs().max() > 1e-3  # measured 0.03 (|H| ≈ 1.4); rounding is ~1e-15
    s0 = hessian_spectrum(net, grid0, y0, 0.1, k=3, relu_prime_at_zero=0)
    s1 = hessian_spectrum(net, grid0, y0, 0.1, k=3, relu_prime_at_zero=1)
    # they differ by ~2e-3 relative (4.861 vs 4.870), not by rounding (~1e-14)
    assert abs(s0.lambda_max - s1.lambda_max) > 1e-6 * abs(s1.lambda_max)
    # A grid without 0: no pre-activation is exactly 0, the conventions agree.
    grid = grid0[grid0[:, 0] != 0]
    y = torch.sin(3 * grid)
    assert torch.equal(dense_hessian(net, grid, y, 0), dense_hessian(net, grid, y, 1))
    # Non-zero biases: x = 0 no longer gives exact zeros either.
    for _, b in net.branches[0]:
        b.add_(0.01)
    assert torch.equal(dense_hessian(net, grid0, y0, 0), dense_hessian(net, grid0, y0, 1))


def test_eigen_tracker_records_at_multiples_of_every(data):
    net = sgdl_network("[1]->[8]x2->[1]", seed=1, dtype=F64)
    tracker = EigenTracker(every=40, k=3)
    r = train(net, data, TrainConfig(epochs=130, lr=0.05, record_every=50), [tracker])
    h = r.history
    assert list(h["eig_epoch"]) == [0, 40, 80, 120]
    assert h["eig_smallest"].shape == h["eig_largest"].shape == (4, 3)
    assert np.all(np.diff(h["eig_smallest"], axis=1) >= 0)
    assert tracker.alpha == h["hessian_norm"].max()  # the max of the same floats
    assert np.all(h["hessian_norm"] >= np.abs(h["lambda_max"]))
    # the same expression 1 − ηλ_max on the same floats (the smallest of 1 − ηλ is at λ_max): exact
    np.testing.assert_array_equal(h["eig_smallest"][:, 0], 1 - 0.05 * h["lambda_max"])
    # Epoch 0 is W^0 (before the first update): recompute it from a fresh copy.
    fresh = sgdl_network("[1]->[8]x2->[1]", seed=1, dtype=F64)
    s0 = hessian_spectrum(fresh, data.train.x, data.train.y, 0.05, k=3)
    # the same dense solve (M = 97) at the same W^0: equal in practice; values ~1
    np.testing.assert_allclose(h["eig_smallest"][0], s0.smallest, rtol=1e-12)
    # At the last record, W^120: replay 120 steps.
    replay = _trained(sgdl_network("[1]->[8]x2->[1]", seed=1, dtype=F64), data, 120, 0.05)
    s = hessian_spectrum(replay, data.train.x, data.train.y, 0.05, k=3)
    # 120 GD steps by another caller (the same kernels, equal in practice): room for their rounding
    np.testing.assert_allclose(h["eig_largest"][-1], s.largest, rtol=1e-10)


def test_eigen_tracker_in_mgdl_tracks_each_grade(data):
    tracker = EigenTracker(every=50, k=2)
    res = train_mgdl([(1, 6, 1), (6, 6, 1)], data, TrainConfig(epochs=100, lr=0.05), callbacks=[tracker])
    assert [list(r.history["eig_epoch"]) for r in res.grade_results] == [[0, 50, 100]] * 2
    assert set(tracker.alpha_by_grade) == {1, 2}
    assert tracker.alpha == max(tracker.alpha_by_grade.values())


def test_bad_input_raises(sgdl, data):
    x, y = data.train.x, data.train.y
    for kwargs in ({"eta": 0.0}, {"eta": -1.0}, {"eta": float("nan")}, {"eta": 0.1, "k": 0},
                   {"eta": 0.1, "method": "arnoldi"}, {"eta": 0.1, "relu_prime_at_zero": 1.5},
                   {"eta": 0.1, "tol": -1.0}):
        with pytest.raises(ValueError):
            hessian_spectrum(sgdl, x, y, **kwargs)
    with pytest.raises(ValueError):
        hessian_spectrum(sgdl, x, y[:5], 0.1)
    with pytest.raises(ValueError):
        hessian_spectrum(sgdl, torch.cat([x, x], 1), y, 0.1)
    with pytest.raises(ValueError):
        hvp(sgdl, x, y)(torch.ones(3))
    with pytest.raises(ValueError):
        hvp(sgdl, x, y, relu_prime_at_zero=2)
    for kwargs in ({"every": 0}, {"every": 10, "k": 0}, {"every": 10, "method": "x"}):
        with pytest.raises(ValueError):
            EigenTracker(**kwargs)
    with pytest.raises(ValueError):
        dense_hessian(sgdl, x, y, chunk=0)
    with pytest.raises(ValueError):
        edge_of_stability(0)
    assert edge_of_stability(0.08) == pytest.approx(25.0, rel=1e-15, abs=0)  # 2/η: one rounding
    assert isinstance(hessian_spectrum(sgdl, x, y, 0.1, k=1), Spectrum)


def test_eigen_stop_ends_a_grade_at_the_first_spectrum_below_the_threshold(data):
    from mgdl_core.theory.hessian import EigenStop

    cfg = TrainConfig(epochs=200, lr=0.05, record_every=20)
    # threshold above every eigenvalue: stops at the first spectrum after epoch 0, never at 0
    r = train(sgdl_network("[1]->[8]x2->[1]", seed=1, dtype=F64), data, cfg, [EigenTracker(40, k=2), EigenStop(40, 2.0)])
    assert r.outcome == "eig_stopped" and r.epochs_run == 40
    # the real rule: stop exactly when the recorded smallest eigenvalue first falls below it
    tracked = train(sgdl_network("[1]->[8]x2->[1]", seed=1, dtype=F64), data, cfg, [EigenTracker(40, k=2)])
    low = tracked.history["eig_smallest"][:, 0]
    # a level crossed part-way: just above the median (values ~1, so 1e-12 is ~5,000 ulps above it)
    threshold = float(np.sort(low[1:])[len(low[1:]) // 2]) + 1e-12
    first = int(tracked.history["eig_epoch"][1:][low[1:] < threshold][0])
    r = train(sgdl_network("[1]->[8]x2->[1]", seed=1, dtype=F64), data, cfg,
              [EigenTracker(40, k=2), EigenStop(40, threshold)])
    assert r.outcome == "eig_stopped" and r.epochs_run == first
    never = train(sgdl_network("[1]->[8]x2->[1]", seed=1, dtype=F64), data, cfg, [EigenTracker(40, k=2), EigenStop(40, -100.0)])
    assert never.outcome == "completed"
    with pytest.raises(RuntimeError, match="EigenTracker"):
        train(sgdl_network("[1]->[8]x2->[1]", seed=1, dtype=F64), data, cfg, [EigenStop(40)])


def test_eigen_tracker_alpha_covers_spectra_recorded_before_a_resume(data):
    from mgdl_core.core.training import TrainState

    net = sgdl_network("[1]->[8]x2->[1]", seed=1, dtype=F64)
    state = TrainState(net, data, TrainConfig(epochs=100, lr=0.05), epoch=50, grade=2,
                       history={"eig_epoch": [0], "hessian_norm": [9.0]})
    tracker = EigenTracker(every=100)
    tracker.on_start(state)  # epoch 50: no new spectrum, but α must include the recorded 9.0
    assert tracker.alpha == 9.0 and tracker.alpha_by_grade == {2: 9.0}


def test_stalled_lanczos_falls_back_to_dense(sgdl, data):
    x, y = data.train.x, data.train.y
    m = sgdl.num_parameters()
    assert m > 200  # the Lanczos path
    dense = hessian_spectrum(sgdl, x, y, 0.1, k=3, method="dense")
    stalled = hessian_spectrum(sgdl, x, y, 0.1, k=3, max_products=5)  # far too few to converge
    assert stalled.method == "dense" and stalled.hvps == 5 + m
    np.testing.assert_array_equal(stalled.smallest, dense.smallest)
    lanczos = hessian_spectrum(sgdl, x, y, 0.1, k=3)  # the default budget (M) is enough here
    assert lanczos.method == "lanczos" and lanczos.hvps < m
    with pytest.raises(ValueError, match="max_products"):
        hessian_spectrum(sgdl, x, y, 0.1, max_products=0)
