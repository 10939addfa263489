"""What the paper states, as data: its published numbers and its items, in one module.

Every number of Fang & Xu that the book holds a result against lives here, typed once from the
paper (``shared/paper/``) or, where the paper prints only a figure, from the authors' notebooks
(``shared/notes/anchor-repo.md``), with the place it comes from:

- :data:`PAPER_TABLE1` (§4, image regression), :data:`PAPER_TABLE2` (denoising),
  :data:`PAPER_TABLE3` (deblurring): PSNR in dB;
- :data:`PAPER_SWEEP`: what §5 reads off Figure 1, rate by rate (:class:`SweepClaim`);
- :data:`AUTHORS_TRAIN_LOSS`, :data:`AUTHORS_GRADE_LOSSES`: the final losses of the §6–§7 runs
  in the authors' notebooks; :data:`S6_SETTING2_SGDL_STABLE_EPOCHS`: §6's "at the initial 2×10⁵
  epochs, all eigenvalues fall in (−1, 1)";
- :data:`PAPER_ITEMS`: every figure, table, theorem and appendix the book answers, with the
  paper's claim in a line and the page that answers it (the reproduction report's rows).

The library's pages and reports import these; nothing here imports the library.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["PAPER_TABLE1", "PAPER_TABLE2", "PAPER_TABLE3", "EDGE", "SweepClaim", "PAPER_SWEEP",
           "AUTHORS_TRAIN_LOSS", "AUTHORS_GRADE_LOSSES", "AUTHORS_DENOISE_PSNR", "S6_SETTING2_SGDL_STABLE_EPOCHS", "PaperEntry",
           "PAPER_ITEMS", "PAGE_TITLES"]

# Table 1: (TrPSNR, TePSNR) in dB. Walnut's file is not public (mgdl_core.tasks.images).
PAPER_TABLE1: Mapping[str, Mapping[str, tuple[float, float]]] = {
    "cameraman": {"sgdl": (27.05, 24.79), "mgdl": (31.80, 25.21)},
    "barbara": {"sgdl": (23.14, 22.75), "mgdl": (24.36, 23.84)},
    "butterfly": {"sgdl": (26.22, 24.87), "mgdl": (28.23, 27.06)},
    "pirate": {"sgdl": (24.20, 24.34), "mgdl": (27.40, 26.45)},
    "chest": {"sgdl": (34.77, 34.56), "mgdl": (39.44, 38.50)},
    "walnut": {"sgdl": (19.94, 20.05), "mgdl": (21.83, 21.31)},
}

# Table 2: (σ, method) → {image: PSNR}; Table 3: (image, method) → {σ̂: PSNR}.
PAPER_TABLE2 = {
    (10, "sgdl"): dict(butterfly=27.53, pirate=25.13, chest=36.20), (10, "mgdl"): dict(butterfly=31.67, pirate=29.36, chest=38.58),
    (20, "sgdl"): dict(butterfly=26.73, pirate=25.02, chest=35.34), (20, "mgdl"): dict(butterfly=28.39, pirate=27.74, chest=36.89),
    (30, "sgdl"): dict(butterfly=26.05, pirate=24.63, chest=34.30), (30, "mgdl"): dict(butterfly=27.09, pirate=27.20, chest=35.48),
    (40, "sgdl"): dict(butterfly=25.54, pirate=24.47, chest=33.55), (40, "mgdl"): dict(butterfly=26.37, pirate=26.25, chest=34.61),
    (50, "sgdl"): dict(butterfly=24.65, pirate=24.01, chest=33.51), (50, "mgdl"): dict(butterfly=25.84, pirate=25.77, chest=33.94),
    (60, "sgdl"): dict(butterfly=24.30, pirate=23.82, chest=32.90), (60, "mgdl"): dict(butterfly=25.21, pirate=25.32, chest=33.06),
}
PAPER_TABLE3 = {
    ("butterfly", "sgdl"): {3: 25.43, 5: 24.20, 7: 22.70}, ("butterfly", "mgdl"): {3: 27.06, 5: 25.19, 7: 23.65},
    ("pirate", "sgdl"): {3: 24.72, 5: 23.79, 7: 23.13}, ("pirate", "mgdl"): {3: 26.47, 5: 24.95, 7: 23.98},
    ("chest", "sgdl"): {3: 35.40, 5: 34.61, 7: 33.69}, ("chest", "mgdl"): {3: 38.24, 5: 36.51, 7: 35.14},
}

# The paper's interval ends are one or two rounded digits read off its plot, and its sweep's
# rates are not published: a rate within 10 % of an end is on the edge, where no verdict is given
# (this book's 30 log-spaced rates are 24 % apart, so at most one rate per end).
EDGE = 1.10


@dataclass(frozen=True)
class SweepClaim:
    """What the paper says about one (setting, method) sweep of Figure 1: the loss ``level``, the
    interval ``good`` of rates below it (None: no rate reaches it), and the rate above which
    training ``fails_above`` (None: not stated; below it, training converges)."""

    level: float
    good: tuple[float, float] | None
    fails_above: float | None
    words: str  # the paper's claim, in a few words

    def expects(self, lr: float) -> str:
        """``"below"``, ``"fails"``, ``"converges"``, ``"not below"``, or ``"edge"`` within
        :data:`EDGE` of an end the paper states (its ends are rounded: "0.03" for a rate near
        0.031)."""
        ends = [*(self.good or ()), *([self.fails_above] if self.fails_above else [])]
        if any(end / EDGE <= lr <= end * EDGE for end in ends):
            return "edge"
        if self.good is not None and self.good[0] <= lr <= self.good[1]:
            return "below"
        if self.fails_above is not None:
            return "fails" if lr > self.fails_above else "converges"
        return "not below"


# §5's reading of Figure 1 (quoted in mgdl_core.pages.sweep_report's docstring).
PAPER_SWEEP: Mapping[tuple[int, str], SweepClaim] = {
    (1, "sgdl"): SweepClaim(1e-3, (0.03, 0.08), 0.3, "loss < 1e-3 for η in [0.03, 0.08]; fails for η > 0.3"),
    (1, "mgdl"): SweepClaim(1e-3, (0.01, 0.3), None, "loss < 1e-3 for η in [0.01, 0.3]"),
    (2, "sgdl"): SweepClaim(1e-2, None, 0.006, "best at η = 0.005 (no loss level given); struggles for η > 0.006"),
    (2, "mgdl"): SweepClaim(1e-2, (0.08, 0.3), None, "loss < 1e-2 for η in [0.08, 0.3]"),
}

# The authors' own final training losses (0.5·MSE) for the paper's §6–§7 runs, from the outputs
# of their notebooks (shared/notes/anchor-repo.md §4.1 and §6; the paper prints only figures).
AUTHORS_TRAIN_LOSS = {(1, "mgdl"): 8.39e-5, (2, "sgdl"): 0.364, (1, "msdl"): 0.0112}
AUTHORS_GRADE_LOSSES = {(1, "mgdl"): (0.4403, 0.1138, 0.003185, 8.39e-5)}
# The final PSNR (dB) of the authors' Figure 21 runs (Butterfly, σ = 10), from their notebooks.
AUTHORS_DENOISE_PSNR = {(10, "butterfly", "sgdl"): 18.27, (10, "butterfly", "mgdl"): 18.11}
# §6, Setting 2, SGDL: "At the initial 2×10⁵ epochs, all eigenvalues fall in (−1, 1) [...] After
# 2×10⁵ epochs, the smallest eigenvalue (index 0), drops to −1".
S6_SETTING2_SGDL_STABLE_EPOCHS = 200_000

# The book's pages, by notebook stem, as the table of contents titles them.
PAGE_TITLES = {
    "03_theory": "§3 Theory", "04_images": "§4 Image regression", "08_restoration": "§4 Restoration",
    "05_learning_rate": "§5 Learning rate", "06_eigenvalues": "§6 Eigenvalues", "07_msdl": "§7 MSDL",
}


@dataclass(frozen=True)
class PaperEntry:
    """One item of the paper the book answers: its ``label`` ("Figure 1"), the paper's ``claim``
    in a line, and the ``page`` (notebook stem) that computes it."""

    label: str
    claim: str
    page: str


def _e(label: str, claim: str, page: str) -> PaperEntry:
    return PaperEntry(label, claim, page)


PAPER_ITEMS: tuple[PaperEntry, ...] = (
    _e("Theorem 1", "GD on the SGDL loss (1) converges when η < 2/α, α the Hessian's norm", "03_theory"),
    _e("Theorem 2", "GD on grade l of MGDL converges when η_l < 2/α_l, with α_l ≪ α", "03_theory"),
    _e("§3 remark", "α_l ≪ α: a grade's Hessian norm is far below the deep network's", "03_theory"),
    _e("Theorem 3", "a grade is a convex program (9) with the optimal value of (8)", "03_theory"),
    _e("Theorem 4", "linearised GD (7) converges when τ = sup‖I − ηH‖ < 1", "03_theory"),
    _e("Theorem 5", "GD (6) and linearised GD (7) converge to the same point when τ < 1", "03_theory"),
    _e("Appendix A", "the convex program of a grade (8)–(9)", "03_theory"),
    _e("Figure 4", "the seven clean test images", "04_images"),
    _e("Table 1", "MGDL's PSNR above SGDL's on every image (regression)", "04_images"),
    _e("Figure 5", "Cameraman: SGDL's loss oscillates, MGDL's grade 4 decreases smoothly", "04_images"),
    _e("Figure 6", "the same on Barbara, Butterfly, Pirate, Chest, Walnut", "04_images"),
    _e("Appendix C", "denoising and deblurring as the splitting (20)–(22)", "08_restoration"),
    _e("Figure 7", "the noisy inputs, σ = 10 … 60", "08_restoration"),
    _e("Table 2", "MGDL's denoising PSNR above SGDL's in every cell", "08_restoration"),
    _e("Figure 8", "Butterfly denoising: MGDL's PSNR above SGDL's", "08_restoration"),
    _e("Figure 9", "Pirate denoising: MGDL's PSNR above SGDL's", "08_restoration"),
    _e("Figure 10", "Chest denoising: MGDL's PSNR above SGDL's", "08_restoration"),
    _e("Figure 11", "the blurred inputs, σ̂ = 3, 5, 7", "08_restoration"),
    _e("Table 3", "MGDL's deblurring PSNR above SGDL's in every cell", "08_restoration"),
    _e("Figure 12", "Butterfly deblurring: MGDL's PSNR above SGDL's", "08_restoration"),
    _e("Figure 13", "Pirate deblurring: MGDL's PSNR above SGDL's", "08_restoration"),
    _e("Figure 14", "Chest deblurring: MGDL's PSNR above SGDL's", "08_restoration"),
    _e("Figure 1", "MGDL's loss below the level over a wider interval of η than SGDL's", "05_learning_rate"),
    _e("Figure 15", "images: MGDL above SGDL at every η; SGDL fails near η = 1", "05_learning_rate"),
    _e("Figure 17", "predictions: similar in Setting 1, MGDL much better in Setting 2", "05_learning_rate"),
    _e("Figure 2", "Setting 1: SGDL's eigenvalues of I − ηH below −1 and its loss oscillates; "
       "MGDL's stay in (−1, 1)", "06_eigenvalues"),
    _e("Figure 16", "Setting 2: SGDL stable for 2×10⁵ epochs, then below −1 and oscillating; "
       "MGDL stable", "06_eigenvalues"),
    _e("Figure 3", "Resolution chart: the same contrast on an image", "06_eigenvalues"),
    _e("Figure 18", "Cameraman: the same contrast", "06_eigenvalues"),
    _e("Figure 19", "Barbara: the same contrast", "06_eigenvalues"),
    _e("Figure 20", "Butterfly: the same contrast", "06_eigenvalues"),
    _e("Figure 21", "Butterfly denoising σ = 10: the same contrast", "06_eigenvalues"),
    _e("Figure 22", "Butterfly denoising σ = 30: the same contrast", "06_eigenvalues"),
    _e("Figure 23", "Barbara denoising σ = 10: the same contrast", "06_eigenvalues"),
    _e("Figure 24", "Barbara denoising σ = 30: the same contrast", "06_eigenvalues"),
    _e("Figure 25", "Setting 1: MSDL's eigenvalues near or below −1 more often than MGDL's", "07_msdl"),
    _e("Figure 26", "Setting 2: the same", "07_msdl"),
    _e("Figure 27", "MSDL's predictions", "07_msdl"),
    _e("Figure 28", "MSDL more sensitive to η than MGDL", "07_msdl"),
)
