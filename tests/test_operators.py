"""The linear operators of the ROF model (Appendix C): adjoints, the authors' boundary, the prox."""
import zlib

import numpy as np
import pytest
import torch
from scipy.signal import correlate2d

from mgdl_core.core.operators import (FiniteDifference, GaussianBlur, Identity, gaussian_taps, soft_threshold,
                                 symmetric_index)

EPS = np.finfo(np.float64).eps
SHAPES = [(4, 4), (7, 9), (20, 20), (33, 17)]
OPERATORS = [Identity(), GaussianBlur(0.5), GaussianBlur(1.0), GaussianBlur(3.0), GaussianBlur(2.5),
             FiniteDifference("forward"), FiniteDifference("backward")]


@pytest.mark.parametrize("op", OPERATORS, ids=repr)
@pytest.mark.parametrize("shape", SHAPES)
def test_adjoint_identity(op, shape):
    """<A x, y> = <x, Aᵀ y> for random x, y, in float64, on every size (kernels wider than the image too)."""
    g = torch.Generator().manual_seed(zlib.crc32(repr((op, shape)).encode()))  # the same draw in every process
    x = torch.randn(shape, generator=g, dtype=torch.float64)
    ax = op(x)
    y = torch.randn(ax.shape, generator=g, dtype=torch.float64)
    lhs_terms, rhs_terms = ax * y, x * op.adjoint(y)
    lhs, rhs = lhs_terms.sum().item(), rhs_terms.sum().item()
    # Two sums of n = ax.numel() + x.numel() terms in all, each at most M in size (the operator's own
    # sums are shorter): they round within ~n·eps·M, whatever the order; <Ax, y> itself may be ~0.
    n, M = lhs_terms.numel() + rhs_terms.numel(), max(lhs_terms.abs().max().item(), rhs_terms.abs().max().item())
    assert lhs == pytest.approx(rhs, rel=0, abs=2 * n * EPS * M)
    assert op.adjoint(y).shape == x.shape


@pytest.mark.parametrize("op", OPERATORS[1:], ids=repr)
def test_norm_bound_holds(op):
    """‖A‖² from the power method stays under the bound the solvers' step sizes use."""
    x = torch.randn(24, 19, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for _ in range(300):
        x = op.adjoint(op(x))
        x = x / x.norm()
    # An odd blur attains its bound 1 (constant images): the Rayleigh quotient may pass it by the
    # rounding of the normalisation and ‖·‖² (24·19-term sums) and of the operator's 24- and 19-term sums.
    slack = (x.numel() + sum(x.shape)) * EPS
    assert (op(x).norm() ** 2).item() <= op.norm_squared_bound() * (1 + slack)


@pytest.mark.parametrize("sigma", [0.4, 1.0, 2.5, 3.0, 7.0])
def test_blur_is_numpys_symmetric_pad_then_a_valid_correlation(sigma):
    """The authors' blur: jnp.pad(mode='symmetric') then a VALID convolution with the normalised kernel."""
    taps = gaussian_taps(sigma)
    size = taps.numel()
    # normalised taps: their sum is 1 up to the rounding of two size-term sums of positive terms
    assert size == int(6 * sigma) + 1 and taps.sum().item() == pytest.approx(1.0, rel=0, abs=size * EPS)
    img = np.random.default_rng(1).random((45, 50))
    before = size // 2 - 1 if size % 2 == 0 else size // 2
    padded = np.pad(img, ((before, size - 1 - before),) * 2, mode="symmetric")
    ref = correlate2d(padded, np.outer(taps, taps), mode="valid")
    out = GaussianBlur(sigma)(torch.from_numpy(img)).numpy()
    # Sums of positive terms (pixels in [0, 1), positive taps), each within (terms)·eps/2 relative in any
    # order: correlate2d's size²; the blur matrices' entries and the two products' ≤ size nonzero terms each.
    np.testing.assert_allclose(out, ref, rtol=(size**2 + 4 * size) * EPS / 2, atol=0)


def test_symmetric_index_is_numpys_symmetric_pad():
    a = np.arange(5)
    for before, after in [(2, 2), (4, 4), (7, 9)]:
        np.testing.assert_array_equal(a[symmetric_index(5, before, after).numpy()], np.pad(a, (before, after), "symmetric"))


def test_pytorch_reflect_is_a_different_boundary():
    """Why the blur pads by hand: PyTorch's 'reflect' omits the edge sample."""
    x = torch.arange(5.0).reshape(1, 1, 5)
    reflect = torch.nn.functional.pad(x, (2, 2), mode="reflect")[0, 0]
    assert not torch.equal(reflect, torch.arange(5.0)[symmetric_index(5, 2, 2)])


def test_differences_are_the_authors_diff_with_append_or_prepend():
    img = np.random.default_rng(2).random((6, 8))
    fwd = FiniteDifference("forward")(torch.from_numpy(img)).numpy()
    ref = np.vstack([np.diff(img, axis=0, append=img[-1:, :]), np.diff(img, axis=1, append=img[:, -1:])])
    np.testing.assert_array_equal(fwd, ref)  # each entry is one rounded subtraction of the same two pixels
    bwd = FiniteDifference("backward")(torch.from_numpy(img)).numpy()
    ref = np.vstack([np.diff(img, axis=0, prepend=img[:1, :]), np.diff(img, axis=1, prepend=img[:, :1])])
    np.testing.assert_array_equal(bwd, ref)
    assert fwd.shape == (12, 8)


def test_operators_keep_batch_dims_dtype_and_device():
    x = torch.randn(3, 10, 11, dtype=torch.float32)
    # float32: a batched and a single matrix product may sum the blur's H- and W-term products (rows of
    # taps summing to 1, so each partial sum is at most max|x|) in different orders: each within
    # (2H + W)·eps/2·max|x|. The differences and the identity are elementwise (bitwise).
    room = 2 * (x.shape[-2] + x.shape[-1]) * torch.finfo(torch.float32).eps * x.abs().max().item()
    for op in OPERATORS:
        y = op(x)
        assert y.dtype == torch.float32 and y.shape[0] == 3
        torch.testing.assert_close(y[1], op(x[1]), rtol=0, atol=room)
        torch.testing.assert_close(op.adjoint(y)[2], op.adjoint(y[2]), rtol=0, atol=room)


@pytest.mark.parametrize("t", [0.0, 0.1, 0.7])
def test_soft_threshold_is_the_prox_of_the_l1_norm(t):
    """Closed form against brute force: argmin_z ½(z − x)² + t|z| on a fine grid."""
    x = torch.linspace(-2, 2, 41, dtype=torch.float64)
    z = torch.linspace(-3, 3, 60001, dtype=torch.float64)
    brute = z[(0.5 * (z[None, :] - x[:, None]) ** 2 + t * z.abs()[None, :]).argmin(dim=1)]
    # the objective is convex, so its argmin on the grid is a neighbour of the minimiser: within one spacing
    torch.testing.assert_close(soft_threshold(x, t), brute, atol=(z[1] - z[0]).item(), rtol=0)
    closed = torch.sign(x) * torch.clamp(x.abs() - t, min=0)
    torch.testing.assert_close(soft_threshold(x, t), closed, rtol=0, atol=0)  # the same expression: bitwise


def test_bad_operator_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="positive"):
        GaussianBlur(0)
    with pytest.raises(ValueError, match="direction"):
        FiniteDifference("central")
    with pytest.raises(ValueError, match=">= 0"):
        soft_threshold(torch.zeros(2), -1.0)


def test_operators_refuse_what_is_not_an_image():
    with pytest.raises(ValueError, match="images"):
        GaussianBlur(1.0)(torch.zeros(5))
    with pytest.raises(ValueError, match="images"):
        FiniteDifference()(torch.zeros(5))
    with pytest.raises(ValueError, match="stacked"):
        FiniteDifference().adjoint(torch.zeros(5, 4))
    with pytest.raises(ValueError, match="positive"):
        GaussianBlur(True)
