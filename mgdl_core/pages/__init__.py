"""What the book's pages compute, check and draw: each page's sizes (plans), the paper's
numbers, claims, reports, figures, the paper queue and the book's runner.

Modules, lowest first (a module imports only those above it in this list, and the
packages below this one):

- ``claims``                Claims a page can check
- ``paper_numbers``         What the paper states, as data
- ``book_style``            Figures a reader can read
- ``plans``                 The sizes of each book page's experiments under the ``quick`` and ``paper`` profiles
- ``analysis``              What the §5–§7 pages read off their runs
- ``image_report``          What the §4 image-regression page reports
- ``restoration_report``    Tables 2 and 3 (§4 denoising and deblurring) beside the paper's numbers and classical methods
- ``sweep_report``          §5 at the paper's scale
- ``execute``               Runner for the book
- ``plots``                 Figures shared by the notebooks
- ``classical_full``        Tables 2 and 3's classical rows on the full-size images, computed once and committed
- ``paper``                 The paper queue
- ``figures``               The §5–§7 pages' figure layouts (synthetic regression and the image spectra of §6)
- ``reproduction``          The reproduction report
- ``facts``                 The numbers a page's prose cites, as ordered dicts of name → formatted text
- ``image_plots``           The image pages' figure layouts
- ``theory_report``         What the theory page shows
- ``restoration_plots``     The restoration page's figures
- ``explorer``              An eigenvalue explorer for a live kernel
"""
from .._face import lazy_face

# Reached through their modules: image_report.PSNR_ROOM, network_row; reproduction.SpectrumMeasures, loss_rises, spectrum_measures; restoration_report.PSNR_ROOM, network_row; sweep_report.EDGE, PAPER_SWEEP, SweepClaim
# (another module of this package defines or re-exports the same name).

__all__, __getattr__, __dir__ = lazy_face(__name__, {
    "claims": ("decide", "Check", "leans", "leans_text", "grade_starts", "lowest", "share_below",
        "spectrum_checks", "spectrum_claims", "later_spectra", "diverged_rates", "spread"),
    "paper_numbers": ("PAPER_TABLE1", "PAPER_TABLE2", "PAPER_TABLE3", "EDGE", "SweepClaim",
        "PAPER_SWEEP", "AUTHORS_TRAIN_LOSS", "AUTHORS_GRADE_LOSSES", "AUTHORS_DENOISE_PSNR",
        "S6_SETTING2_SGDL_STABLE_EPOCHS", "PaperEntry", "PAPER_ITEMS", "PAGE_TITLES"),
    "book_style": ("BOOK_RC", "COLUMN_PX", "MIN_TEXT_PX", "FigureNotLegible", "use_book_style",
        "shown_text_px", "legibility_problems", "check_legible", "glue_figure", "compact_png"),
    "facts": ("glue_facts", "plan_facts", "sweep_facts", "seed_facts", "tracked_run_facts", "msdl_run_facts", "image_spectra_facts", "draw_facts",
        "denoise_paper_facts", "full_size_facts", "restoration_facts", "classical_full_facts", "rate_bound_facts",
        "regression_plan_facts", "table1_facts", "linearisation_facts", "convex_facts", "NOT_YET"),
    "plans": ("page_plan", "pages", "TRACKED_RATES", "SWEEP_KEYS", "tracked_configs",
        "rate_sweep_configs", "RELU0_EPOCHS", "relu0_configs", "MSDL_RATES", "msdl_tracked_configs", "msdl_page_configs", "FIG3_RATES",
        "FULL_SIZE_RATE", "fig3_configs", "full_size_config", "denoise_configs",
        "s6_image_configs", "TIER_SIDES", "table1_configs", "restoration_tier_configs"),
    "analysis": ("split_runs", "best_loss", "best_run", "interval_text", "first_diverged",
        "loss_text", "loss_table", "rates_below", "group_by_rate", "n_diverged", "loss_range_text",
        "seed_spread_text", "count_below", "checkpoints_below", "first_epoch_below",
        "first_below_text", "min_eigenvalue", "lowest_where", "grade_lowest", "grade_ends",
        "grades_ended_early", "RISE", "SpectrumMeasures", "loss_rises", "spectrum_measures"),
    "image_report": ("TRAIN_ROOM", "BILINEAR_MARGIN", "BILINEAR_ROOM", "PSNRRow", "baseline_rows",
        "paper_gains", "full_size_rows", "full_size_text", "FULL_ROOM", "full_size_claims",
        "tier_rows", "table1_text", "table1_checks", "table1_claims", "snapshots", "loss_spikes",
        "mgdl_below_sgdl_check", "mgdl_below_sgdl"),
    "restoration_report": ("ENERGY_ROOM", "TV_GRID", "CHAMBOLLE_GRID", "WIENER_GRID",
        "RestorationRow", "paper_value", "restoration_level", "direct_minimum", "classical_rows",
        "METHOD_LABELS", "level_name", "table_text", "energy_text", "restoration_claims",
        "table_rows", "pairs_by_cell", "psnr_drops", "TABLE2_METHODS", "TABLE3_METHODS",
        "PAPER_LEVELS", "IMAGES", "table_markdown", "paper_gain_range", "nominal_input_psnr",
        "input_deviation", "drops_text"),
    "sweep_report": ("result_name", "load_sweep_results", "sweep_runs", "sweep_provenance",
        "expected", "agreement", "sweep_scale_report", "sweep_scale_counts", "disagreements_text",
        "load_sweep_draws", "draws_text", "same_rate"),
    "execute": ("NOTEBOOKS", "EXECUTED", "PROFILES",
        "NotebookFailed", "sources", "normalize", "write_notebook", "execute_one", "default_jobs", "longest_first",
        "execute_all", "css_urls",
        "external_references", "build_book", "main"),
    "plots": ("COLORS", "EIG_FLOOR", "LABELS", "plot_loss_vs_rate", "plot_seed_spread",
        "epoch_axis", "plot_loss_curve", "plot_prediction", "plot_eigen_trajectories",
        "plot_spectrum_rows", "spectrum_player"),
    "classical_full": ("DENOISE_TV_GRID", "DEBLUR_TV_GRID", "DEBLUR_TV_ITERATIONS",
        "DENOISE_TV_TOL", "default_path", "cell_configs", "settings", "compute", "read",
        "read_rows", "paper_counts", "paper_claims"),
    "paper": ("CPU_LIMIT_HOURS", "DRAW_SEEDS", "DRAW_KEYS", "FIG1_DRAW_RATES", "PaperItem",
        "paper_items", "fig1_draw_configs", "fig15_configs", "table1_name", "restoration_tier_name",
        "select", "total_epochs", "speeds_file", "estimate_seconds", "item_state", "plan_rows",
        "plan_table", "totals_table", "page_status", "library_is_dirty", "queue", "run_queue",
        "export_finished"),
    "figures": ("loss_vs_rate_figure", "seed_spread_figure", "best_runs_figure",
        "eigen_loss_figure", "prediction_figure", "spectrum_rows_figure", "figure_legend"),
    "reproduction": ("VERDICTS", "ReportRow", "contrast_text", "report_rows", "verdict_counts",
        "report_text", "report_markdown", "report_figure", "page_title"),
    "image_plots": ("FONT", "DPI", "image_title", "show_image", "fig5_figure", "fig6_figure",
        "fig15_figure", "eigen_figure"),
    "theory_report": ("RATE_ROOM", "RATIO_ROOM", "ACTIVATIONS", "rate_rows", "rate_text",
        "alpha_after_start", "alpha_scale_text", "EDGE_BAND", "EDGE_ROOM", "edge_claims",
        "rate_claims", "rate_bound_figure", "GradeProblem", "grade_problem", "SHRUNK", "path_glue",
        "GAP_FLOOR", "linearisation_figure", "path_claims", "convex_rows", "convex_claims",
        "convex_fit_figure"),
    "restoration_plots": ("inputs_figure", "plot_psnr_curve", "training_figure"),
    "explorer": ("explore", "Explorer"),
})
