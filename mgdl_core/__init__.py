"""mgdl_core: the library behind the executable edition of *Computational Advantages of
Multi-Grade Deep Learning* (Fang & Xu).

Layers, lowest first (nothing imports a layer above it):

- ``errors``        the exception types and the argument checks that raise them
- ``runtime``       device, dtype, seeds, CPU tuning
- ``images``, ``synthetic``   data: the paper's test images by name; the §5 functions
- ``nets``          structures of Appendix D, initialisers, the parameter vector W of §2
- ``step``          hand-written forward/backward, GD and Adam (the hot loop)
- ``train``         the generic training loop and its callbacks
- ``mgdl``          multi-grade training on residuals with frozen, cached features (§3)
- ``batched``, ``sweep``   many learning rates at once (processes on CPU, batched on GPU)
- ``hessian``       spectra of I − ηH and the eigenvalue tracker (§6)
- ``records``, ``checkpoints``   verified run records, locks; checkpoints and resume
- ``memory``, ``experiments``   what a run needs in memory; named experiments and their runs
- ``pool``          worker processes that stop like a single run (the CPU sweep backend)
- ``claims``        statements about runs at the precision they survive (checked outputs)
- ``cli``           the ``mgdl`` command
- ``plots``, ``execute``   figures and the papermill runner of the book
"""

__version__ = "0.1.0"
