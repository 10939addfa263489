"""Linear operators on images, each with its adjoint: the A and B of the ROF model (Appendix C).

- :class:`Identity`: A for denoising.
- :class:`GaussianBlur`: A for deblurring, as the authors' code builds it (shared/notes/
  anchor-repo.md §2.3): a Gaussian of standard deviation σ̂ on a (6σ̂ + 1)-tap grid
  ``arange(-size//2 + 1, size//2 + 1)``, normalised to sum 1, applied after padding the image
  *symmetrically* (NumPy's ``'symmetric'``: the edge sample repeated, ``c b a | a b c | c b a``;
  PyTorch's ``reflect`` omits the edge sample and is a different operator) and keeping the
  "valid" part, so the output has the image's size. The kernel is an outer product of one 1-D
  Gaussian, so A(X) = M_r X M_cᵀ with an H × H and a W × W matrix that fold padding and
  convolution together; its adjoint is Aᵀ(Y) = M_rᵀ Y M_c, exactly.
- :class:`FiniteDifference`: B of total variation, the first-order differences stacked into a
  2H × W array [D_v X; D_h X]. ``"forward"`` is the authors' §4 code (``diff(X, append=X[-1:])``:
  x_{i+1} − x_i with a zero last row/column, the Neumann boundary); ``"backward"`` is their §6
  denoising code (``prepend``: x_i − x_{i−1} with a zero first row/column).

Every operator works on a 2-D image ``[H, W]`` or a batch ``[..., H, W]`` and keeps its dtype
and device; tests/test_operators.py checks ⟨Ax, y⟩ = ⟨x, Aᵀy⟩ for each. :func:`soft_threshold`
is the proximity operator of t‖·‖_{1,1} that step (20) applies.
"""
from __future__ import annotations

import math

import torch


def soft_threshold(x: torch.Tensor, t: float) -> torch.Tensor:
    """prox_{t‖·‖₁}(x) = sign(x)·max(|x| − t, 0), elementwise (the u-update of eq. 20)."""
    if not t >= 0:
        raise ValueError(f"a threshold must be >= 0, got {t!r}")
    return torch.sign(x) * torch.clamp(x.abs() - t, min=0.0)


class Identity:
    """A = I (denoising)."""

    name = "identity"

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return y

    def norm_squared_bound(self) -> float:
        return 1.0

    def __repr__(self) -> str:
        return "Identity()"


def _image_like(x: torch.Tensor, what: str) -> torch.Tensor:
    if x.ndim < 2:
        raise ValueError(f"{what} works on images [..., H, W], got a tensor of shape {tuple(x.shape)}")
    return x


def gaussian_taps(sigma: float) -> torch.Tensor:
    """The authors' 1-D kernel: size int(6σ̂) + 1 (19, 31, 43 for σ̂ = 3, 5, 7), normalised, float64."""
    if isinstance(sigma, bool) or not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"the blur's standard deviation must be a positive number, got {sigma!r}")
    size = int(6 * sigma) + 1
    grid = torch.arange((-size) // 2 + 1, size // 2 + 1, dtype=torch.float64)
    taps = torch.exp(-grid ** 2 / (2.0 * sigma ** 2))
    return taps / taps.sum()


def symmetric_index(n: int, pad_before: int, pad_after: int) -> torch.Tensor:
    """Indices into an axis of length ``n`` that pad it as NumPy's ``'symmetric'`` mode does."""
    idx = torch.arange(-pad_before, n + pad_after)
    while ((idx < 0) | (idx >= n)).any():  # a pad wider than the axis reflects more than once
        idx = torch.where(idx < 0, -idx - 1, idx)
        idx = torch.where(idx >= n, 2 * n - 1 - idx, idx)
    return idx


def blur_matrix(n: int, taps: torch.Tensor) -> torch.Tensor:
    """The n × n matrix of "pad symmetrically, convolve with ``taps``, keep the valid part" on
    one axis (float64). The grid is centred on tap ``size//2 − 1`` (the authors'), so an even
    size pads one more sample after than before."""
    size = taps.numel()
    before = size // 2 - 1 if size % 2 == 0 else size // 2
    idx = symmetric_index(n, before, size - 1 - before)
    m = torch.zeros(n, n, dtype=torch.float64)
    for k in range(size):  # output i reads padded sample i + k, i.e. image sample idx[i + k]
        m.index_put_((torch.arange(n), idx[k:k + n]), taps[k].expand(n), accumulate=True)
    return m


class GaussianBlur:
    """A: the authors' Gaussian blur of standard deviation ``sigma`` (σ̂), symmetric boundary.
    Matrices are built once per image shape, dtype and device, and cached."""

    name = "gaussian_blur"

    def __init__(self, sigma: float):
        self.taps = gaussian_taps(sigma)
        self.sigma = float(sigma)
        self._cache: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}

    @property
    def size(self) -> int:
        return self.taps.numel()

    def _matrices(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        key = (x.shape[-2], x.shape[-1], x.dtype, x.device)
        if key not in self._cache:
            self._cache[key] = tuple(blur_matrix(n, self.taps).to(dtype=x.dtype, device=x.device)
                                     for n in key[:2])
        return self._cache[key]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        rows, cols = self._matrices(_image_like(x, "the blur"))
        return rows @ x @ cols.t()

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        rows, cols = self._matrices(_image_like(y, "the blur's adjoint"))
        return rows.t() @ y @ cols

    def norm_squared_bound(self) -> float:
        """A bound on ‖A‖². For an odd (symmetric) kernel, symmetric padding makes each axis's M
        diagonal in the DCT-II basis with eigenvalues the kernel's cosine transform, at most
        Σ taps = 1 in size, so ‖A‖² ≤ 1 (the paper's σ̂ = 3, 5, 7 give 19, 31, 43 taps). An even
        kernel is off-centre by half a sample: then only ‖M‖² ≤ ‖M‖₁‖M‖∞ ≤ 2·1 per axis holds
        (a sample appears at most twice in its padded axis)."""
        return 1.0 if self.size % 2 == 1 else 4.0

    def __repr__(self) -> str:
        return f"GaussianBlur(sigma={self.sigma:g}, size={self.size})"


class FiniteDifference:
    """B: the first-order differences of total variation, [D_v X; D_h X] (2H × W).

    ``direction="forward"`` (§4, the authors' ``diff(..., append=last)``): (D x)_i = x_{i+1} − x_i,
    0 at the last index. ``"backward"`` (§6 denoising, ``prepend=first``): x_i − x_{i−1}, 0 at the
    first. ‖B‖² ≤ 8 either way."""

    name = "finite_difference"
    DIRECTIONS = ("forward", "backward")

    def __init__(self, direction: str = "forward"):
        if direction not in self.DIRECTIONS:
            raise ValueError(f"unknown difference direction {direction!r}: use 'forward' or 'backward'")
        self.direction = direction

    @staticmethod
    def _diff(x: torch.Tensor, dim: int, forward: bool) -> torch.Tensor:
        d = x.diff(dim=dim)
        zero = torch.zeros_like(x.narrow(dim, 0, 1))
        return torch.cat([d, zero] if forward else [zero, d], dim=dim)

    @staticmethod
    def _diff_adjoint(p: torch.Tensor, dim: int, forward: bool) -> torch.Tensor:
        # forward: <Dx, p> = Σ_{i<n-1} (x_{i+1} − x_i) p_i, so (Dᵀp)_j = p_{j−1}[j ≥ 1] − p_j[j ≤ n−2];
        # backward is the mirror image (its live entries are 1..n−1).
        n = p.shape[dim]
        live = p.narrow(dim, 0, n - 1) if forward else p.narrow(dim, 1, n - 1)
        zero = torch.zeros_like(p.narrow(dim, 0, 1))
        return torch.cat([zero, live], dim=dim) - torch.cat([live, zero], dim=dim)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        fwd = self.direction == "forward"
        _image_like(x, "the differences")
        return torch.cat([self._diff(x, -2, fwd), self._diff(x, -1, fwd)], dim=-2)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        fwd = self.direction == "forward"
        if _image_like(y, "the differences' adjoint").shape[-2] % 2:
            raise ValueError(f"the differences' adjoint takes a stacked [2H, W] array, got {tuple(y.shape)}")
        h = y.shape[-2] // 2
        return self._diff_adjoint(y[..., :h, :], -2, fwd) + self._diff_adjoint(y[..., h:, :], -1, fwd)

    def norm_squared_bound(self) -> float:
        return 8.0

    def __repr__(self) -> str:
        return f"FiniteDifference({self.direction!r})"
