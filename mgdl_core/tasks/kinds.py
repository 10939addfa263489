"""Every task's run configuration by the ``kind`` its records are filed under.

The one list of tasks: what reads a record or a result by its kind (:mod:`mgdl_core.runs.recorded`,
:mod:`mgdl_core.runs.results`, the ``mgdl`` command) looks the class up here. Listed, not
registered as a side effect of importing.
"""
from __future__ import annotations

from .base import RunConfig
from .image_regression import ImageRegressionRun
from .restoration import RestorationRun
from .synthetic import SyntheticRun

__all__ = ["KINDS"]

KINDS: dict[str, type[RunConfig]] = {c.kind: c for c in (SyntheticRun, ImageRegressionRun, RestorationRun)}
