"""mgdl_core: the library behind the executable edition of *Computational Advantages of
Multi-Grade Deep Learning* (Fang & Xu).

Packages by concept, lowest first; a module imports its own package and those below it, never
one above (``tests/test_layout.py`` reads every import, those inside functions too):

- ground            ``errors`` (exceptions and argument checks), ``runtime`` (device, dtype,
                    seeds, CPU tuning, the project root), ``_face`` (the packages' faces)
- ``core/``         the engine (§2–3, App. C): networks, objectives, operators, ROF, the step,
                    the one training loop, the one grade loop, stacked models. torch only
- ``theory/``       what the paper proves, measured: the spectrum of I − ηH (§6), the
                    convergence theorems, a grade as a convex program (App. A)
- ``tasks/``        what is trained: images, the §5 functions, each task's frozen configuration
                    (synthetic, image regression, restoration), listed once in ``kinds``
- ``runs/``         durable, resumable, many: files, verified records, checkpoints, the recorded
                    runner and its doctor, worker pools, sweeps, committed results
- ``pages/``        what the book's pages compute, check and draw, the paper queue, the runner
- ``cli``           the ``mgdl`` command, on top (its grammar: ``cli_parser``)

Each package's ``__init__`` is its face: ``from mgdl_core.runs import sweep, load_results``
(names are imported on first use). Pages and users import faces; library modules import modules.
"""

__version__ = "0.1.0"
