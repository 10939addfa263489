"""What the paper proves, measured: the Hessian and the spectrum of I − ηH (§6), the
convergence theorems (Theorems 1–2, 4–5), and a grade as a convex program (Appendix A, Theorem 3).

Modules, lowest first (a module imports only those above it in this list, and the
packages below this one):

- ``convergence``           The paper's convergence theorems measured on real iterations (§2–3 Theorems 1–2, §6 Theorems 4–5)
- ``convex``                A grade of one hidden ReLU layer as a convex program (Appendix A, Theorem 3; Pilanci & Ergen 2020)
- ``hessian``               The Hessian of the training loss and the extreme eigenvalues of I − ηH (§6)
- ``convex_grades``         MGDL whose grades are two-layer ReLU networks (§3, Appendix A), each grade solved as the convex program (9) or trained by GD on the non-convex problem (8), on the features of the grades before it
"""
from .._face import lazy_face

__all__, __getattr__, __dir__ = lazy_face(__name__, {
    "convergence": ("ScalarFunction", "Derivatives", "alpha_by_grade", "LinearisedPath", "gradient_descent",
        "linearised_gd"),
    "convex": ("SUPPORT_CUT", "with_bias_column", "activation_patterns", "ConvexGrade",
        "solve_convex_grade", "recover_network", "two_layer_loss", "random_two_layer",
        "pack_two_layer", "unpack_two_layer", "two_layer_objective", "ACTIVATION_DERIVATIVES",
        "two_layer_derivatives"),
    "hessian": ("DENSE_BELOW", "DENSE_FALLBACK_UP_TO", "edge_of_stability", "hvp", "dense_hessian",
        "Spectrum", "hessian_spectrum", "EigenTracker", "EigenStop"),
    "convex_grades": ("TwoLayerGrade", "TwoLayerMGDL", "convex_mgdl", "gd_mgdl"),
})
