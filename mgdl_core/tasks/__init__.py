"""What is trained: the paper's images and functions, and each task's frozen run
configuration — synthetic (§5–§7), image regression (§4–§6), restoration (§4, §6) — listed once
in :data:`~mgdl_core.tasks.kinds.KINDS`.

Modules, lowest first (a module imports only those above it in this list, and the
packages below this one):

- ``memory``                What a run needs in memory, and what the machine has
- ``images``                The paper's test images, by name, as greyscale float arrays in [0, 1]
- ``fit``                   One fit path for every task: a configured run trained and summarised
- ``base``                  What every task's run configuration shares
- ``grids``                 Images as regression data
- ``synthetic``             The synthetic regression task of §5 (also used in §6 and §7), and its runs (:class:`SyntheticRun`)
- ``baselines``             Classical baselines for image regression, and the Fourier-feature input map
- ``restoration_baselines`` Classical restorers for the paper's denoising and deblurring tasks, and the objective that judges them
- ``image_regression``      Image regression runs (§4 Table 1, §5 Fig
- ``restoration``           Image denoising and deblurring (§4 Tables 2–3, Figs 7–14; §6 Figs 21–24) with SGDL and MGDL
- ``kinds``                 Every task's run configuration by the ``kind`` its records are filed under
"""
from .._face import lazy_face

__all__, __getattr__, __dir__ = lazy_face(__name__, {
    "memory": ("estimate_memory_bytes", "memory_limit_bytes", "check_memory"),
    "images": ("ImageNotFoundError", "ImageHashError", "TestImage", "IMAGES", "available_images",
        "file_sha256", "local_image_path", "image_path", "load_image", "resolve_image_field",
        "MIN_SIDE", "image_shape", "image_side", "check_image_size", "quick_downscale", "image_profile_lines"),
    "fit": ("Store", "FitPlan", "run_callbacks", "train_and_summarize", "summarize", "RunSummary",
        "grade_result"),
    "base": ("Method", "METHOD_TABLE", "METHODS", "PROFILES", "MAX_SEED", "SEED", "check_profile",
        "RunConfig", "config_device"),
    "grids": ("EIGEN_SUBSETS", "INVERTED_IN_S5_S6", "pixel_grid", "regression_dataset",
        "section_image", "eigen_subset", "psnr", "psnr_from_loss"),
    "synthetic": ("SyntheticSetting", "SETTINGS", "get_setting", "TRAIN_POINTS", "synthetic_dataset", "SyntheticRun"),
    "baselines": ("INTERPOLATIONS", "downscale", "train_mask", "heldout_mask",
        "interpolate_training_grid", "psnr_table_row", "fourier_frequencies", "fourier_features"),
    "restoration_baselines": ("Array", "RofSolution", "TunedResult", "rof_energy", "solve_rof", "solve_rof_grid",
        "split_energy", "solve_split", "tv_chambolle", "gaussian_psf", "wiener_deblur",
        "bm3d_denoise", "tune"),
    "image_regression": ("IMAGE_STRUCTURES", "ENCODINGS", "FOURIER_SIDE", "FIG5_EPOCHS", "S6_RATES",
        "SECTION_PROFILES", "ImageRegressionRun", "parse_grades", "PredictionSnapshots"),
    "restoration": ("PROBLEMS", "DEBLUR_NOISE", "PAPER_NOISES", "PAPER_BLURS", "MAX_NOISE",
        "MAX_BLUR", "MAX_WEIGHT", "S4_IMAGES", "S6_DENOISE", "S4_HYPER", "S6_HYPER",
        "RESTORATION_PROFILES", "degrade", "rms_scale", "RestorationRun", "PsnrRecorder",
        "restoration_psnr", "grade_psnrs"),
    "kinds": ("KINDS",),
})
