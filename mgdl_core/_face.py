"""A package's face: its modules' public names, imported on first use (PEP 562).

Each package's ``__init__`` lists what its modules export; ``from mgdl_core.runs import
run_recorded`` then imports :mod:`mgdl_core.runs.recorded` only, so ``mgdl --help`` and a page
that needs one name do not import every module below them (the ``mgdl`` command answers in
0.2 s without importing torch). Library modules import modules, never a face: faces are for
pages and users.
"""
from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def lazy_face(package: str, exports: dict[str, tuple[str, ...]]) -> tuple[list[str], Callable, Callable]:
    """``(__all__, __getattr__, __dir__)`` for ``package`` whose module ``m`` exports
    ``exports[m]``. A name listed under two modules is a mistake in the table, refused here."""
    where: dict[str, str] = {}
    for module, names in exports.items():
        for name in names:
            if name in where:
                raise ImportError(f"{package}: {name!r} is listed under {where[name]} and {module}")
            where[name] = module

    def __getattr__(name: str):
        if name in exports:  # a module not imported yet
            return importlib.import_module(f"{package}.{name}")
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        setattr(sys.modules[package], name, value)  # the next look-up is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted({*where, *exports, *vars(sys.modules[package])})

    return list(where), __getattr__, __dir__
