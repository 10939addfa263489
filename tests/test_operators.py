"""The linear operators of the ROF model (Appendix C): adjoints, the authors' boundary, the prox."""
import numpy as np
import pytest
import torch
from scipy.signal import correlate2d

from mgdl_core.operators import (FiniteDifference, GaussianBlur, Identity, gaussian_taps, soft_threshold,
                                 symmetric_index)

SHAPES = [(4, 4), (7, 9), (20, 20), (33, 17)]
OPERATORS = [Identity(), GaussianBlur(0.5), GaussianBlur(1.0), GaussianBlur(3.0), GaussianBlur(2.5),
             FiniteDifference("forward"), FiniteDifference("backward")]


@pytest.mark.parametrize("op", OPERATORS, ids=repr)
@pytest.mark.parametrize("shape", SHAPES)
def test_adjoint_identity(op, shape):
    """<A x, y> = <x, Aᵀ y> for random x, y, in float64, on every size (kernels wider than the image too)."""
    g = torch.Generator().manual_seed(hash((repr(op), shape)) % 2**31)
    x = torch.randn(shape, generator=g, dtype=torch.float64)
    ax = op(x)
    y = torch.randn(ax.shape, generator=g, dtype=torch.float64)
    lhs, rhs = (ax * y).sum().item(), (x * op.adjoint(y)).sum().item()
    assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-12)
    assert op.adjoint(y).shape == x.shape


@pytest.mark.parametrize("op", OPERATORS[1:], ids=repr)
def test_norm_bound_holds(op):
    """‖A‖² from the power method stays under the bound the solvers' step sizes use."""
    x = torch.randn(24, 19, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for _ in range(300):
        x = op.adjoint(op(x))
        x = x / x.norm()
    assert (op(x).norm() ** 2).item() <= op.norm_squared_bound() * (1 + 1e-9)


@pytest.mark.parametrize("sigma", [0.4, 1.0, 2.5, 3.0, 7.0])
def test_blur_is_numpys_symmetric_pad_then_a_valid_correlation(sigma):
    """The authors' blur: jnp.pad(mode='symmetric') then a VALID convolution with the normalised kernel."""
    taps = gaussian_taps(sigma)
    size = taps.numel()
    assert size == int(6 * sigma) + 1 and taps.sum().item() == pytest.approx(1.0)
    img = np.random.default_rng(1).random((45, 50))
    before = size // 2 - 1 if size % 2 == 0 else size // 2
    padded = np.pad(img, ((before, size - 1 - before),) * 2, mode="symmetric")
    ref = correlate2d(padded, np.outer(taps, taps), mode="valid")
    out = GaussianBlur(sigma)(torch.from_numpy(img)).numpy()
    np.testing.assert_allclose(out, ref, atol=1e-13)


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
    np.testing.assert_allclose(fwd, ref)
    bwd = FiniteDifference("backward")(torch.from_numpy(img)).numpy()
    ref = np.vstack([np.diff(img, axis=0, prepend=img[:1, :]), np.diff(img, axis=1, prepend=img[:, :1])])
    np.testing.assert_allclose(bwd, ref)
    assert fwd.shape == (12, 8)


def test_operators_keep_batch_dims_dtype_and_device():
    x = torch.randn(3, 10, 11, dtype=torch.float32)
    for op in OPERATORS:
        y = op(x)
        assert y.dtype == torch.float32 and y.shape[0] == 3
        torch.testing.assert_close(y[1], op(x[1]))
        torch.testing.assert_close(op.adjoint(y)[2], op.adjoint(y[2]))


@pytest.mark.parametrize("t", [0.0, 0.1, 0.7])
def test_soft_threshold_is_the_prox_of_the_l1_norm(t):
    """Closed form against brute force: argmin_z ½(z − x)² + t|z| on a fine grid."""
    x = torch.linspace(-2, 2, 41, dtype=torch.float64)
    z = torch.linspace(-3, 3, 60001, dtype=torch.float64)
    brute = z[(0.5 * (z[None, :] - x[:, None]) ** 2 + t * z.abs()[None, :]).argmin(dim=1)]
    torch.testing.assert_close(soft_threshold(x, t), brute, atol=2e-4, rtol=0)
    closed = torch.sign(x) * torch.clamp(x.abs() - t, min=0)
    torch.testing.assert_close(soft_threshold(x, t), closed)


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
