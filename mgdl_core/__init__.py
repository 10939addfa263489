"""mgdl_core: the library behind the executable edition of *Computational Advantages of
Multi-Grade Deep Learning* (Fang & Xu).

Layers, lowest first (nothing imports a layer above it):

- ``errors``        the exception types and the argument checks that raise them
- ``runtime``       device, dtype, seeds, CPU tuning
- ``images``, ``synthetic``, ``grids``, ``baselines``   data: the paper's test images by name;
                    the §5 functions; pixel grids, splits, PSNR; interpolation, Fourier features
- ``nets``          structures of Appendix D, initialisers, the parameter vector W of §2
- ``objectives``    what is minimised, seen from the network output (eq. 1; next, Appendix C)
- ``step``          hand-written forward/backward; the step objects GD and Adam (the hot loop)
- ``train``         the one training loop (an objective and a step plug in) and its callbacks
- ``mgdl``          the one grade loop: frozen, cached features, residual or offset (§3)
- ``batched``, ``sweep``   many learning rates at once (processes on CPU, batched on GPU)
- ``hessian``       spectra of I − ηH and the eigenvalue tracker (§6)
- ``records``, ``checkpoints``   verified run records, locks; checkpoints and resume
- ``memory``, ``experiments``   what a run needs in memory; the run configuration base, the
                    synthetic runs, training, summaries and records of any run
- ``image_regression``   image-regression runs under §4, §5 and §6's protocols
- ``pool``          worker processes that stop like a single run (the CPU sweep backend)
- ``claims``        statements about runs at the precision they survive (checked outputs)
- ``analysis``, ``image_report``, ``plans``   what the pages compute from runs; their sizes
- ``paper``         the paper queue: every paper-scale run the book reads, its cost and state
- ``cli``           the ``mgdl`` command
- ``plots``, ``figures``, ``image_plots``, ``execute``   figures and the book's runner
"""

__version__ = "0.1.0"
