"""Tables 2 and 3's classical rows on the full-size images, computed once and committed.

The paper reports its networks on the full-size images (Butterfly, Pirate and Chest at their own
size); training the networks there is the paper queue's work (days on this CPU), but the classical
methods take minutes per cell. :func:`compute` runs them on every cell of Tables 2 and 3 (the
``restoration`` plan's ``paper`` profile) on the same observation a paper-protocol run sees (its
noise seed), with :func:`mgdl_core.pages.restoration_report.classical_rows`:

- denoising: the degraded input, the ROF model (18) tuned over :data:`DENOISE_TV_GRID` (solved to
  a relative duality gap of :data:`DENOISE_TV_TOL`, as on the page's own cells: on 512² Butterfly a
  gap of 1e-4 moved the PSNR by 0.02–0.06 dB and 1e-5 by 0.006–0.018 dB against 1e-6, at σ = 10
  and 60; 1e-6 costs 640–2,850 Chambolle–Pock iterations, 3–18 s on one core), scikit-image's isotropic Chambolle TV tuned over its grid, and BM3D at
  the true σ;
- deblurring: the input, ROF (18) tuned over :data:`DEBLUR_TV_GRID` with
  :data:`DEBLUR_TV_ITERATIONS` Condat–Vũ iterations (not converged: on 512² Butterfly at σ̂ = 3
  the PSNR still moves by about 0.3 dB between 1,000 and 3,000 iterations; one Condat–Vũ
  iteration costs about 40 ms there, so a tuned, converged solve is hours per cell), and a tuned
  Wiener filter.

Every tuning is an oracle (PSNR against the clean image, as the authors chose their λ, β and rate).

The file (``results/classical/tables23-full.json``) is a record: the grids and iterations, the
library's git SHA, the versions, the seconds per cell, and a SHA-256 of its content checked by
:func:`read` (:class:`~mgdl_core.errors.CorruptRecord` when it does not match). :func:`compute`
writes it after every cell (atomically) and skips the cells it already holds under the same
settings, so an interrupted run loses nothing finished. ``mgdl paper classical`` runs it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import ConfigError, CorruptRecord
from ..runs.files import atomic_write_bytes
from ..runs.records import git_sha
from .restoration_report import RestorationRow

__all__ = ["DENOISE_TV_GRID", "DEBLUR_TV_GRID", "DEBLUR_TV_ITERATIONS", "DENOISE_TV_TOL", "default_path", "cell_configs", "settings",
           "compute", "read", "read_rows", "paper_counts", "paper_claims"]

# Around the tuned values on the full-size images (Butterfly: ROF λ ≈ 0.02 at σ = 10, ≈ 3e-4 at
# σ̂ = 3); a tuned value at a grid's end is flagged in its row's note.
DENOISE_TV_GRID = tuple(float(v) for v in np.geomspace(3e-3, 0.3, 9))
DEBLUR_TV_GRID = tuple(float(v) for v in np.geomspace(3e-5, 3e-3, 5))
DEBLUR_TV_ITERATIONS = 1_000
DENOISE_TV_TOL = 1e-6
VERSION = 1


def default_path(results: str | Path | None = None) -> Path:
    from ..runs.results import results_dir

    return Path(results or results_dir()) / "classical" / "tables23-full.json"


def cell_configs(images: Sequence[str] | None = None) -> list:
    """One paper-profile configuration per cell of Tables 2 and 3 (SGDL's: only its data matter)."""
    from ..tasks.restoration import RestorationRun
    from .plans import page_plan

    plan = page_plan("restoration", "paper")
    chosen = plan["images"] if images is None else tuple(images)
    unknown = sorted(set(chosen) - set(plan["images"]))
    if unknown:
        raise ConfigError(f"Tables 2 and 3 have no image {', '.join(unknown)}: use {', '.join(plan['images'])}")
    return ([RestorationRun.profile("paper", method="sgdl", image=i, problem="denoise", noise=s)
             for i in chosen for s in plan["noises"]]
            + [RestorationRun.profile("paper", method="sgdl", image=i, problem="deblur", blur=b)
               for i in chosen for b in plan["blurs"]])


def _key(config) -> str:
    level = config.noise if config.problem == "denoise" else config.blur
    return f"{config.image}/{config.problem}/{level:g}"


def settings() -> dict:
    """What decides the rows besides the data: the grids and iteration counts."""
    from .restoration_report import CHAMBOLLE_GRID, WIENER_GRID

    return {"version": VERSION, "denoise_tv_grid": list(DENOISE_TV_GRID), "deblur_tv_grid": list(DEBLUR_TV_GRID),
            "deblur_tv_iterations": DEBLUR_TV_ITERATIONS, "denoise_tv_tol": DENOISE_TV_TOL, "chambolle_grid": [float(v) for v in CHAMBOLLE_GRID],
            "wiener_grid": [float(v) for v in WIENER_GRID]}


def _digest(doc: dict) -> str:
    body = {k: v for k, v in doc.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _environment() -> dict:
    import platform

    import torch

    from .. import __version__

    versions = {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
                "mgdl_core": __version__}
    for module in ("skimage", "bm3d", "scipy"):
        try:
            versions[module] = __import__(module).__version__
        except (ImportError, AttributeError):
            versions[module] = "absent"
    return {"versions": versions, "cpu": platform.processor() or platform.machine()}


def _config_doc(config) -> dict:
    return {k: v for k, v in dataclasses.asdict(config).items() if k in ("image", "problem", "noise", "blur",
                                                                         "noise_seed", "downscale")}


def compute(path: str | Path | None = None, images: Sequence[str] | None = None,
            progress: Callable[[str], None] | None = print) -> Path:
    """Compute every cell not yet in ``path`` (default :func:`default_path`), writing the file after
    each; a file made under other settings is started afresh. Returns the path."""
    from .restoration_report import classical_rows

    path = Path(path or default_path())
    configs = cell_configs(images)
    doc = {"settings": settings(), "cells": {}}
    if path.is_file():
        old = read(path)
        if old["settings"] == doc["settings"]:
            doc = old
    for n, config in enumerate(configs, 1):
        key = _key(config)
        if key in doc["cells"]:
            continue
        start = time.perf_counter()
        grid = DENOISE_TV_GRID if config.problem == "denoise" else DEBLUR_TV_GRID
        iterations = 5_000 if config.problem == "denoise" else DEBLUR_TV_ITERATIONS
        rows = classical_rows(config, tv_grid=grid, tv_iterations=iterations, tv_tol=DENOISE_TV_TOL)
        doc["cells"][key] = {"config": _config_doc(config),
                             "rows": [dataclasses.asdict(r) for r in rows],
                             "seconds": round(time.perf_counter() - start, 1)}
        doc.update(git_sha=git_sha(exclude=[path]), created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                   environment=_environment())
        doc["sha256"] = _digest(doc)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode())
        if progress:
            best = max((r for r in rows if r.method != "input"), key=lambda r: r.psnr)
            progress(f"[{n}/{len(configs)}] {key}: best {best.method} {best.psnr:.2f} dB "
                     f"({doc['cells'][key]['seconds']:.0f} s)")
    return path


def read(path: str | Path | None = None) -> dict:
    """The file, verified: its SHA-256 must match its content."""
    path = Path(path or default_path())
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise CorruptRecord(path.parent, path.name, f"cannot be read ({exc.strerror})") from None
    except ValueError as exc:
        raise CorruptRecord(path.parent, path.name, f"is not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("sha256") != _digest(doc):
        raise CorruptRecord(path.parent, path.name, "its SHA-256 does not match its content")
    return doc


def read_rows(path: str | Path | None = None) -> list[RestorationRow]:
    """The rows of every computed cell, in the file's order (none when there is no file)."""
    path = Path(path or default_path())
    if not path.is_file():
        return []
    return [RestorationRow(**row) for cell in read(path)["cells"].values() for row in cell["rows"]]


def paper_counts(rows: Sequence[RestorationRow]) -> dict[tuple[int, str], tuple[int, int]]:
    """Per (table, "sgdl" or "mgdl"): in how many of the computed cells the best tuned classical
    method is above the paper's network (both at full size: the same images), of how many."""
    from .restoration_report import paper_value

    out = {}
    for problem, table in (("denoise", 2), ("deblur", 3)):
        cells = list(dict.fromkeys(r.cell for r in rows if r.problem == problem))
        best = {c: max(r.psnr for r in rows if r.cell == c and r.method != "input") for c in cells}
        for method in ("sgdl", "mgdl"):
            out[table, method] = (sum(best[c] > paper_value(c[0], c[1], c[2], method) for c in cells), len(cells))
    return out


def paper_claims(rows: Sequence[RestorationRow]) -> list[str]:
    """:func:`paper_counts` in short lines (exact on committed data)."""
    out = []
    for (table, method), (above, n) in paper_counts(rows).items():
        if n == 0:
            if method == "sgdl":
                out.append(f"Table {table}: no cell computed yet")
            continue
        out.append(f"Table {table}: best classical above the paper's {method.upper()} in {above} of {n} cells")
    return out
