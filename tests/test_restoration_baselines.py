"""The ROF energy and solver against direct computation, and the classical restorers on small images."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from scipy.optimize import lsq_linear

from mgdl_core.tasks.grids import psnr
from mgdl_core.core.operators import FiniteDifference, GaussianBlur, Identity, gaussian_taps
from mgdl_core.tasks.restoration_baselines import (RofSolution, bm3d_denoise, gaussian_psf, rof_energy,
                                             solve_rof, solve_rof_grid, tune, tv_chambolle, wiener_deblur)

B = FiniteDifference("forward")


def _smooth(n: int) -> np.ndarray:
    i, j = np.mgrid[0:n, 0:n] / n
    return 0.5 + 0.3 * np.sin(3 * i) * np.cos(2 * j) + 0.1 * (i > 0.5)


def _noisy(clean: np.ndarray, sigma255: float, seed: int = 0) -> np.ndarray:
    return clean + np.random.default_rng(seed).normal(0, sigma255 / 255, clean.shape)


# Independent numpy versions of A and B (eq. 18), written from their definitions.
def _np_blur(x: np.ndarray, sigma: float) -> np.ndarray:
    taps = gaussian_taps(sigma).numpy()
    assert taps.size % 2 == 1  # the centred, odd kernels keep this reference simple
    r = taps.size // 2
    padded = np.pad(x, r, mode="symmetric")
    rows = sum(t * padded[k:k + x.shape[0], :] for k, t in enumerate(taps))
    return sum(t * rows[:, k:k + x.shape[1]] for k, t in enumerate(taps))


def _np_diff(x: np.ndarray, forward: bool) -> np.ndarray:
    kw = {"append": x[-1:]} if forward else {"prepend": x[:1]}
    kh = {"append": x[:, -1:]} if forward else {"prepend": x[:, :1]}
    return np.vstack([np.diff(x, axis=0, **kw), np.diff(x, axis=1, **kh)])


@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("sigma", [None, 1.0])
def test_rof_energy_is_eq18(direction, sigma):
    rng = np.random.default_rng(1)
    f, fhat, lam = rng.random((9, 11)), rng.random((9, 11)), 0.37
    A = Identity() if sigma is None else GaussianBlur(sigma)
    af = f if sigma is None else _np_blur(f, sigma)
    expected = 0.5 * np.sum((fhat - af) ** 2) + lam * np.abs(_np_diff(f, direction == "forward")).sum()
    got = rof_energy(f, fhat, A, FiniteDifference(direction), lam)
    assert got == pytest.approx(expected, rel=1e-13)
    assert rof_energy(torch.tensor(f, dtype=torch.float32), torch.tensor(fhat), A,
                      FiniteDifference(direction), lam) == pytest.approx(expected, rel=1e-6)


def test_invalid_inputs_fail_clearly():
    f = np.zeros((6, 6))
    with pytest.raises(ValueError, match="lam"):
        solve_rof(f, Identity(), B, -0.1)
    with pytest.raises(ValueError, match="2-D"):
        solve_rof(np.zeros((2, 6, 6)), Identity(), B, 0.1)
    with pytest.raises(ValueError, match="iterations"):
        solve_rof(f, Identity(), B, 0.1, iterations=0)
    with pytest.raises(ValueError, match="same shape"):
        solve_rof(f, FiniteDifference(), B, 0.1)  # A f would be 12 × 6
    with pytest.raises(ValueError, match="differ in shape"):
        rof_energy(np.zeros((5, 6)), f, Identity(), B, 0.1)
    with pytest.raises(ValueError, match="NaN"):
        solve_rof(np.full((6, 6), np.nan), Identity(), B, 0.1)


def test_denoising_gap_certifies_a_minimiser():
    fhat = _noisy(_smooth(16), 20)
    lam, tol = 0.05, 1e-9
    sol = solve_rof(fhat, Identity(), B, lam, iterations=20000, tol=tol)
    assert isinstance(sol, RofSolution) and sol.image.dtype == np.float64
    assert 0 <= sol.gap <= tol * sol.energy and sol.iterations < 20000
    assert sol.energy == pytest.approx(rof_energy(sol.image, fhat, Identity(), B, lam), rel=1e-14)
    energy = lambda f: rof_energy(f, fhat, Identity(), B, lam)
    assert sol.energy <= energy(fhat)
    assert sol.energy <= energy(np.full_like(fhat, fhat.mean()))
    # Brute force: no perturbation, dense or of one pixel, beats the certified lower bound E − gap.
    rng = np.random.default_rng(2)
    lower = sol.energy - sol.gap
    for scale in (1e-2, 1e-4, 1e-6):
        for _ in range(50):
            assert energy(sol.image + scale * rng.standard_normal(fhat.shape)) >= lower
            one = np.zeros_like(fhat)
            one[tuple(rng.integers(0, 16, 2))] = scale * rng.choice([-1, 1])
            assert energy(sol.image + one) >= lower


def test_huge_lambda_gives_the_mean_and_zero_lambda_the_observation():
    fhat = np.random.default_rng(3).random((8, 8))
    sol = solve_rof(fhat, Identity(), B, 100.0, iterations=50000, tol=1e-12)
    assert sol.gap <= 1e-12 * sol.energy
    # Neumann TV with A = I: a constant minimiser must be the mean; ½‖f − f*‖² ≤ gap bounds the error.
    err = np.sqrt(np.sum((sol.image - fhat.mean()) ** 2))
    assert err <= np.sqrt(2 * sol.gap) + 1e-12 and err < 1e-4
    zero = solve_rof(fhat, Identity(), B, 0.0)
    np.testing.assert_array_equal(zero.image, fhat)
    assert zero.gap == 0.0 and zero.energy == 0.0


def _dense(op, shape: tuple[int, int]) -> np.ndarray:
    """The matrix of ``op`` on vectorised images, column by column."""
    n = shape[0] * shape[1]
    basis = torch.eye(n, dtype=torch.float64).reshape(n, *shape)
    return np.stack([op(e).reshape(-1).numpy() for e in basis], axis=1)


@pytest.mark.parametrize("lam", [0.003, 0.03])
def test_deblurring_matches_a_dual_bound_constrained_reference(lam):
    """Reference: the dual of (18), max over ‖p‖∞ ≤ λ of ½‖f̂‖² − ½‖L⁻¹b‖² with b = Aᵀf̂ − Bᵀp and
    AᵀA = LLᵀ, a bound-constrained least-squares problem that scipy's BVLS (an active-set
    method) solves exactly. f = (AᵀA)⁻¹b recovers the image, and the dual value is a lower
    bound on the optimal energy, so the reference certifies itself."""
    shape, sigma = (6, 6), 1.0
    clean = _smooth(6)
    x = _np_blur(clean, sigma)
    fhat = x + np.random.default_rng(4).normal(0, 3 / 255, shape)
    A_op = GaussianBlur(sigma)
    A, Bm = _dense(A_op, shape), _dense(B, shape)
    np.testing.assert_allclose(A @ clean.reshape(-1), x.reshape(-1), atol=1e-14)  # A is the blur
    np.testing.assert_allclose(Bm @ clean.reshape(-1), _np_diff(clean, True).reshape(-1), atol=1e-14)
    y = fhat.reshape(-1)
    L = np.linalg.cholesky(A.T @ A)
    G, h = np.linalg.solve(L, Bm.T), np.linalg.solve(L, A.T @ y)
    p = lsq_linear(G, h, bounds=(-lam, lam), method="bvls", tol=1e-15).x
    f_ref = np.linalg.solve(A.T @ A, A.T @ y - Bm.T @ p).reshape(shape)
    e_ref, lower = rof_energy(f_ref, fhat, A_op, B, lam), 0.5 * y @ y - 0.5 * np.sum((G @ p - h) ** 2)
    # The bound is a difference of two sums of about ½‖f̂‖² ≈ 5 each that cancel to ≈ 0.01: its
    # rounding is of order n·eps·½‖f̂‖² (n = 36 terms), not eps·energy. A solver energy that
    # meets the bound lies within that room of it, on either side (1.2e-15 below it on one CPU).
    room = 4 * y.size * np.finfo(float).eps * (0.5 * y @ y + e_ref)  # ≈ 1.6e-13, 2e-11 of the energy
    assert -room <= e_ref - lower <= 1e-9 * e_ref  # the reference is optimal to 1e-9

    sol = solve_rof(fhat, A_op, B, lam, iterations=20000, tol=0.0)
    assert sol.gap is None
    assert lower - room <= sol.energy <= e_ref * (1 + 1e-6)
    np.testing.assert_allclose(sol.image, f_ref, atol=1e-3)  # cond(AᵀA) ≈ 8e5 limits this


def test_deblurring_stops_early_on_a_stalled_energy():
    fhat = _np_blur(_smooth(12), 1.0)
    sol = solve_rof(fhat, GaussianBlur(1.0), B, 1e-3, iterations=100000, tol=1e-4)
    assert sol.iterations < 100000 and sol.iterations % 100 == 0


@pytest.mark.parametrize("blur", [None, 1.0])
def test_a_grid_of_lambdas_equals_one_solve_per_lambda(blur):
    """solve_rof_grid against a direct loop of solve_rof: each λ stops at its own iteration (a
    stopped one frozen while the others go on) and ends at the same image, energy and gap. λ = 0
    stops at once (denoising: f = f̂); the largest λ needs the most iterations."""
    clean = _smooth(14)
    A = Identity() if blur is None else GaussianBlur(blur)
    fhat = _noisy(clean, 20) if blur is None else _np_blur(clean, blur) + _noisy(clean, 2) - clean
    lams = [0.0, 0.02, 0.005, 0.1] if blur is None else [0.002, 1e-4, 0.01]
    kw = dict(iterations=3000, tol=1e-7) if blur is None else dict(iterations=3000, tol=1e-5)
    grid = solve_rof_grid(fhat, A, B, lams, **kw)
    loop = [solve_rof(fhat, A, B, lam, **kw) for lam in lams]
    assert len({s.iterations for s in loop}) == len(lams)  # every λ stops at its own step
    for g, one in zip(grid, loop):
        assert g.iterations == one.iterations
        np.testing.assert_allclose(g.image, one.image, rtol=0, atol=1e-12)
        assert g.energy == pytest.approx(one.energy, rel=1e-12)
        assert (g.gap is None) == (one.gap is None) and (g.gap is None or g.gap == pytest.approx(one.gap, abs=1e-12))
    if blur is None:
        assert grid[0].iterations == 0 and np.array_equal(grid[0].image, fhat)
    with pytest.raises(ValueError, match="at least one"):
        solve_rof_grid(fhat, A, B, [])
    with pytest.raises(ValueError, match="lam"):
        solve_rof_grid(fhat, A, B, [0.1, -1.0])


@pytest.mark.parametrize("sigma", [1.0, 1.5])  # kernel sizes 7 and 10: odd and even
def test_the_wiener_psf_is_the_blur_operator(sigma):
    uft = pytest.importorskip("skimage.restoration.uft")
    x = np.random.default_rng(5).random((20, 17))
    pad = gaussian_taps(sigma).numel()
    padded = np.pad(x, pad, mode="symmetric")
    # skimage's forward model: the PSF's transfer function times the image's spectrum
    spectrum = uft.ir2tf(gaussian_psf(sigma), padded.shape) * np.fft.rfft2(padded)
    conv = np.fft.irfft2(spectrum, s=padded.shape)[pad:-pad, pad:-pad]
    np.testing.assert_allclose(conv, GaussianBlur(sigma)(torch.tensor(x)).numpy(), atol=1e-12)


@pytest.mark.parametrize("sigma, balance", [(1.0, 1e-4), (2.0, 1e-3)])
def test_wiener_undoes_a_noiseless_blur(sigma, balance):
    """A small balance, not a vanishing one: the padded band is no exact blur of anything, and the
    transfer function falls to ~1e-9 at Nyquist for σ̂ = 2, so balance 1e-8 amplifies that
    mismatch into garbage (about 0 dB) even without noise."""
    pytest.importorskip("skimage")
    i, j = np.mgrid[0:48, 0:48] / 48
    clean = 0.5 + 0.2 * np.sin(20 * i + 3 * j) * np.cos(14 * j) + 0.1 * (i > 0.5)
    blurred = GaussianBlur(sigma)(torch.tensor(clean)).numpy()
    restored = wiener_deblur(blurred, sigma, balance)
    assert restored.shape == clean.shape and restored.dtype == np.float64
    assert psnr(restored, clean) > psnr(blurred, clean) + 10


def test_wiener_improves_a_noisy_blur():
    pytest.importorskip("skimage")
    clean = _smooth(48)
    observed = _noisy(GaussianBlur(2.0)(torch.tensor(clean)).numpy(), 3)
    assert psnr(wiener_deblur(observed, 2.0, 0.05), clean) > psnr(observed, clean)


def test_tv_chambolle_and_solve_rof_denoise():
    pytest.importorskip("skimage")
    clean = _smooth(32)
    noisy = _noisy(clean, 20)
    out = tv_chambolle(noisy, 0.08)
    assert out.dtype == np.float64 and psnr(out, clean) > psnr(noisy, clean) + 2
    assert psnr(solve_rof(noisy, Identity(), B, 0.05).image, clean) > psnr(noisy, clean) + 2


def test_bm3d_denoises():
    pytest.importorskip("bm3d")
    clean = _smooth(32)
    noisy = _noisy(clean, 20)
    out = bm3d_denoise(noisy, 20)
    assert out.shape == clean.shape and out.dtype == np.float64
    assert psnr(out, clean) > psnr(noisy, clean) + 2


def test_missing_optional_package_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "bm3d", None)  # makes "import bm3d" raise ImportError
    with pytest.raises(ImportError, match="pip install bm3d"):
        bm3d_denoise(np.zeros((8, 8)), 10)


def test_tune_picks_the_argmax():
    clean = np.zeros((4, 4))
    offsets = [0.3, 0.1, 0.05, 0.2, 0.05]
    result = tune(lambda v: clean + v, offsets, clean)
    assert result.value == 0.05 and result.psnr == pytest.approx(-10 * np.log10(0.05 ** 2))
    np.testing.assert_array_equal(result.image, clean + 0.05)
    assert result.psnrs == {v: psnr(clean + v, clean) for v in offsets}
    assert max(result.psnrs.values()) == result.psnr
    with pytest.raises(ValueError, match="at least one"):
        tune(lambda v: clean, [], clean)


# --- the networks' own objective: (22) minimised over u ------------------------------------------

def _split_case(seed=0, shape=(9, 8)):
    rng = np.random.default_rng(seed)
    return rng.random(shape), rng.random(shape)


@pytest.mark.parametrize("lam,beta", [(1e-4, 0.1), (1e-2, 1.0), (0.1, 0.01), (0.05, 50.0)])
def test_split_energy_is_the_splitting_minimised_over_u(lam, beta):
    """J(f) = min_u L(f, u) of eq. (22): attained at u = soft(B f, λ/β); no other u is lower."""
    from mgdl_core.core.operators import soft_threshold
    from mgdl_core.tasks.restoration_baselines import split_energy
    from mgdl_core.core.rof import Auxiliary, RofObjective

    f, fhat = _split_case()
    A, B = GaussianBlur(1.0), FiniteDifference()
    ft, fh = torch.from_numpy(f), torch.from_numpy(fhat)
    u_star = soft_threshold(B(ft), lam / beta)
    objective = RofObjective(f.shape, A, B, beta, lam, aux=Auxiliary(u_star))
    at_star = objective.value(ft.reshape(-1, 1), fh.reshape(-1, 1)).item()
    assert split_energy(f, fhat, A, B, lam, beta) == pytest.approx(at_star, rel=1e-12)
    rng = np.random.default_rng(1)
    for _ in range(20):
        objective.aux = Auxiliary(u_star + 1e-2 * torch.from_numpy(rng.standard_normal(u_star.shape)))
        assert objective.value(ft.reshape(-1, 1), fh.reshape(-1, 1)).item() >= at_star


@pytest.mark.parametrize("A", [Identity(), GaussianBlur(1.0)], ids=["denoise", "deblur"])
def test_solve_split_reaches_a_certified_minimum(A):
    from mgdl_core.tasks.restoration_baselines import solve_split, split_energy

    _, fhat = _split_case(2, (12, 12))
    B = FiniteDifference()
    for lam, beta in [(1e-3, 0.1), (0.05, 5.0)]:
        sol = solve_split(fhat, A, B, lam, beta)
        if isinstance(A, Identity):
            assert sol.gap is not None and sol.gap < 1e-12  # J − min J ≤ ‖∇J‖²/2 (1-strongly convex)
        rng = np.random.default_rng(3)
        for _ in range(20):
            assert split_energy(sol.image + 1e-3 * rng.standard_normal(fhat.shape), fhat, A, B, lam, beta) >= sol.energy


def test_split_tends_to_rof_as_beta_grows():
    """As β → ∞ the Huber function tends to λ|t|: min J tends to min (18)."""
    from mgdl_core.tasks.restoration_baselines import solve_rof, solve_split

    _, fhat = _split_case(4, (16, 16))
    B = FiniteDifference()
    rof = solve_rof(fhat, Identity(), B, 0.05, iterations=50_000, tol=1e-10)
    split = solve_split(fhat, Identity(), B, 0.05, 1e6)
    assert split.energy == pytest.approx(rof.energy, rel=1e-5)


def test_solve_split_refuses_beta_zero():
    from mgdl_core.tasks.restoration_baselines import solve_split

    with pytest.raises(ValueError, match="beta"):
        solve_split(np.zeros((4, 4)), Identity(), FiniteDifference(), 0.1, 0.0)


def test_the_iterative_solvers_run_on_one_intra_op_thread_and_restore_the_count(monkeypatch):
    """solve_rof/solve_split loop over tiny operations: they run on one thread (an OpenMP barrier
    per matmul on a busy machine costs far more than the matmul) and leave the caller's count."""
    import torch

    from mgdl_core.core.operators import FiniteDifference, GaussianBlur
    from mgdl_core.tasks import restoration_baselines as rb

    seen, blur_call = [], GaussianBlur.__call__

    def spy(self, x):
        seen.append(torch.get_num_threads())
        return blur_call(self, x)

    monkeypatch.setattr(GaussianBlur, "__call__", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        image = torch.rand(8, 8, dtype=torch.float64)
        rb.solve_rof(image, GaussianBlur(1.0), FiniteDifference(), 1e-3, iterations=5)
        rb.solve_split(image, GaussianBlur(1.0), FiniteDifference(), 1e-3, 0.1, iterations=5)
        assert seen and set(seen) == {1}
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
