"""The paper queue: the one list of every paper-scale run the book reads, and what is done of it.

Each :class:`PaperItem` is one configuration a page builds with ``profile="paper"`` (from
:mod:`mgdl_core.pages.plans`, the same functions the pages call), the name under which the page looks
its result up in ``results/`` (``<kind>/<name>``), the paper's figure, and a priority. The
queue's state is read from the files, never stored: an item is *committed* when
``results/<kind>/<name>/`` exists, *finished* when its record is complete in the runs folder,
*partial* when a checkpoint exists (with its epoch), else *not started*.

- :func:`paper_items`: the plan, by priority (1: Figure 1's 120 runs and three more draws of
  its disagreeing rates, :data:`FIG1_DRAW_RATES`; 2: the §6 and §7 runs; 3: Figures 21–24 and
  Figure 15's decisive cells (:func:`fig15_configs`); 4: the §6 image runs of Figures 18–20; 5: Table 1 and 6: Tables 2–3 at the
  paper's protocol on images area-averaged to the side of :data:`~mgdl_core.pages.plans.TIER_SIDES`,
  the middle tier, named with that side: :func:`table1_name`, :func:`restoration_tier_name`).
- :func:`estimate_seconds`: a run's cost on this machine: the seconds per epoch measured on a
  short probe of the same structure and size (cached per structure in the runs folder), times
  its epochs (all grades; an upper bound: early stopping ends most runs sooner).
- :func:`item_state`, :func:`plan_rows`: what the plan table of ``mgdl paper plan`` shows.
- :func:`run_queue`: trains what is not done, by priority and then cost, through the durable
  sweep (:func:`mgdl_core.runs.sweeps.sweep`: resumable, checkpointing), and stops at a budget by
  sending itself SIGTERM, which checkpoints the runs in flight.
- :func:`export_finished`: exports every finished, not yet committed item through
  :func:`mgdl_core.runs.results.export_result` (verified and replayed) under its name.

Items whose estimate is over :data:`CPU_LIMIT_HOURS` on this CPU are marked "needs a GPU" and
are left out of a CPU queue.
"""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..runs.numeric_paths import path_fields
from ..runs.records import default_runs_dir, is_complete, record_dir
from ..runs.results import results_dir
from ..runtime import PROJECT_ROOT
from .plans import (TIER_SIDES, denoise_configs, msdl_tracked_configs, rate_sweep_configs, restoration_tier_configs,
                    s6_image_configs, table1_configs, tracked_configs)

# An item whose estimate on this CPU is longer than this needs a GPU (or a lot of patience).
CPU_LIMIT_HOURS = 24.0
# The seeds of the §6 draws (the authors' seed is 42): three more initialisations per run.
DRAW_SEEDS = (0, 1, 2)
DRAW_KEYS = ((1, "mgdl"), (2, "mgdl"), (1, "sgdl"))
# Figure 1's rates where the authors' draw (seed 42, committed by c83b842) disagrees with the
# paper: three more draws each (DRAW_SEEDS), to tell a disagreement from one draw of the rounding.
FIG1_DRAW_RATES = {(1, "sgdl"): (0.07267, 0.09004, 0.2629), (1, "mgdl"): (0.008525,), (2, "sgdl"): (0.00292,),
                   (2, "mgdl"): (0.1712, 0.2629)}
# Figure 15's decisive cells: the paper's SGDL fails near η = 1 on the images, MGDL does not.
FIG15_IMAGES, FIG15_LR = ("cameraman", "pirate"), 1.0


@dataclass(frozen=True)
class PaperItem:
    """One paper-scale run: its result name (``<kind>/<name>`` under ``results/``), the paper's
    figure it belongs to, its priority (1 first) and its configuration."""

    name: str
    figure: str
    priority: int
    config: object
    page: str

    @property
    def kind(self) -> str:
        return self.config.kind

    @property
    def words(self) -> str:
        """The configuration in a few words."""
        c = self.config
        where = f"Setting {c.setting}" if c.kind == "synthetic" else getattr(c, "image", "?")
        if c.kind == "restoration":
            where += f" {c.problem} " + (f"σ={c.noise:g}" if c.problem == "denoise" else f"blur {c.blur:g}")
        if getattr(c, "downscale", 1) > 1:
            where += f" at 1/{c.downscale} side"
        extra = f", seed {c.seed}" if c.kind == "synthetic" and c.seed != 42 else ""
        per = " per grade" if c.graded else ""
        return f"{c.method.upper()} {where}, η={c.lr:g}, {c.epochs:,} epochs{per}{extra}"


def _s5_name(config) -> str:
    from .sweep_report import result_name

    return f"synthetic/{result_name(config.setting, config.method, config.lr)}"


def paper_items() -> list[PaperItem]:
    """Every paper-scale run of the book, by priority, each under the name its page reads."""
    items = [PaperItem(_s5_name(c), "Fig. 1", 1, c, "learning_rate") for c in rate_sweep_configs("paper")]
    items += [PaperItem(f"{_s5_name(c)}-seed{seed}", "Fig. 1 (draws)", 1, c.replace(seed=seed), "learning_rate")
              for c in fig1_draw_configs() for seed in DRAW_SEEDS]
    tracked = tracked_configs("paper")
    figure = {1: "Fig. 2", 2: "Fig. 16"}
    items += [PaperItem(f"synthetic/s6-setting{s}-{m}", figure[s], 2, c, "eigenvalues") for (s, m), c in tracked.items()]
    items += [PaperItem(f"synthetic/s7-setting{s}-msdl", f"Fig. {24 + s}", 2, c, "msdl")
              for (s, _), c in msdl_tracked_configs("paper").items()]
    items += [PaperItem(f"synthetic/s6-setting{s}-{m}-seed{seed}", f"{figure[s]} (draws)", 2,
                        tracked[s, m].replace(seed=seed, track_every=0), "eigenvalues")
              for s, m in DRAW_KEYS for seed in DRAW_SEEDS]
    den_figure = {("butterfly", 10): "Fig. 21", ("butterfly", 30): "Fig. 22", ("barbara", 10): "Fig. 23",
                  ("barbara", 30): "Fig. 24"}
    items += [PaperItem(f"restoration/s6-denoise{c.noise:g}-{c.image}-{c.method}",
                        den_figure.get((c.image, c.noise), "Figs. 21–24"), 3, c, "eigenvalues")
              for c in denoise_configs("paper")]
    items += [PaperItem(f"image_regression/s5-{c.image}-{c.method}-eta{c.lr:g}", "Fig. 15", 3, c, "learning_rate")
              for c in fig15_configs()]
    s6_figure = {"cameraman": "Fig. 18", "barbara": "Fig. 19", "butterfly": "Fig. 20"}
    items += [PaperItem(f"image_regression/s6-{c.image}-{c.method}", s6_figure.get(c.image, "Figs. 18–20"), 4, c,
                        "eigenvalues") for c in s6_image_configs("paper")]
    items += [PaperItem(table1_name(c), "Table 1", 5, c, "images") for c in table1_configs()]
    items += [PaperItem(restoration_tier_name(c), "Table 2" if c.problem == "denoise" else "Table 3", 6, c,
                        "restoration") for c in restoration_tier_configs()]
    names = [i.name for i in items]
    assert len(set(names)) == len(names), "two paper items share a result name"
    return items


def fig1_draw_configs() -> list:
    """The Figure 1 runs (seed 42) at the rates of :data:`FIG1_DRAW_RATES`, taken from the sweep's
    own grid (a listed rate matches a grid rate to 0.1 %)."""
    from .sweep_report import same_rate

    grid = rate_sweep_configs("paper")
    out = []
    for (setting, method), rates in FIG1_DRAW_RATES.items():
        for lr in rates:
            match = [c for c in grid if (c.setting, c.method) == (setting, method) and same_rate(c.lr, lr)]
            assert len(match) == 1, f"Figure 1's grid has no single rate {lr:g} for Setting {setting} {method}"
            out += match
    return out


def fig15_configs() -> list:
    """Figure 15's decisive cells at the paper's protocol (§5's image sweep: full images, GD,
    10^5 epochs): SGDL and MGDL at η = :data:`FIG15_LR` on :data:`FIG15_IMAGES`."""
    from ..tasks.image_regression import ImageRegressionRun

    return [ImageRegressionRun.profile("paper", section=5, image=image, method=m, lr=FIG15_LR)
            for image in FIG15_IMAGES for m in ("sgdl", "mgdl")]


def table1_name(config) -> str:
    """The result name of a Table 1 run of the middle tier: its side in the name
    (``image_regression/t1-256-cameraman-mgdl``)."""
    return f"image_regression/t1-{TIER_SIDES['images']}-{config.image}-{config.method}"


def restoration_tier_name(config) -> str:
    """The result name of a Tables 2–3 run of the middle tier
    (``restoration/t2-64-butterfly-sigma10-mgdl``, ``restoration/t3-64-chest-blur3-sgdl``)."""
    table, level = ("t2", f"sigma{config.noise:g}") if config.problem == "denoise" else ("t3", f"blur{config.blur:g}")
    return f"restoration/{table}-{TIER_SIDES['restoration']}-{config.image}-{level}-{config.method}"


def select(items: list[PaperItem], only: str | None) -> list[PaperItem]:
    """The items whose name or figure contains ``only`` (e.g. "Fig. 1", "s5-", "restoration")."""
    if not only:
        return items
    figure = only.replace(" ", "").lower()
    chosen = [i for i in items if only in i.name or i.figure.split(" (")[0].replace(" ", "").lower() == figure]
    if not chosen:
        raise ConfigError(f"no paper item matches {only!r} (try a figure such as 'Fig. 1' or a name part such as 's5-')")
    return chosen


# ------------------------------------------------------------------------------------ cost


def total_epochs(config) -> int:
    """Every epoch a run may train: its epochs, times the grades of MGDL."""
    if config.graded:
        from ..core.nets import mgdl_structure

        grades = len(mgdl_structure(config.structure or config.default_structure()))
        return config.epochs * grades
    return config.epochs


def _signature(config) -> str:
    """What decides a run's speed: its kind, method, data and network and the numeric path it
    takes here (named only off the default path: the C kernel), not its rate or seed."""
    doc = {k: v for k, v in vars(config).items()
           if k not in ("lr", "seed", "epochs", "grade_epochs", "early_stopping", "track_every", "noise", "lam", "beta",
                        "noise_seed", "record_every", "psnr_every")}
    return json.dumps({"kind": config.kind, **doc, **path_fields(config.kind, vars(config))}, sort_keys=True,
                      default=str)


def _short(config, epochs: int):
    """``config`` cut to ``epochs`` epochs (grade 1 only for MGDL), without spectra or early stop."""
    changes: dict = {"epochs": epochs, "track_every": 0, "early_stopping": False}
    if config.graded:
        changes["grade_epochs"] = (epochs,) + (0,) * (total_epochs(config) // config.epochs - 1)
    return config.replace(**changes)


def _probe_seconds_per_epoch(config, epochs: int) -> float:
    """Seconds per epoch of ``config``: ``epochs`` epochs timed after a tenth as many."""
    _short(config, max(1, epochs // 10)).run()  # warm-up: data, caches, the allocator
    start = time.perf_counter()
    _short(config, epochs).run()
    return (time.perf_counter() - start) / epochs


def speeds_file(results: str | Path | None = None) -> Path:
    """The measured seconds per epoch of each structure, committed beside the results so that a
    page's estimates are the same on every machine (measured on the project's 2-core CPU)."""
    return Path(results or results_dir()) / "paper-speeds.json"


def estimate_seconds(items: list[PaperItem], results: str | Path | None = None, probe: bool = True) -> dict[str, float]:
    """Seconds each item would take on one core: measured seconds per epoch of its structure (a
    probe of 2,000 epochs of a synthetic run, 20 of an image task, cached in
    :func:`speeds_file`) times :func:`total_epochs`. Without ``probe`` an item whose structure
    was never measured gets NaN."""
    cache_file = speeds_file(results)
    try:
        cache = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cache = {}
    out, changed = {}, False
    for item in items:
        key = _signature(item.config)
        if key not in cache and probe:
            cache[key] = _probe_seconds_per_epoch(item.config, 2_000 if item.kind == "synthetic" else 20)
            changed = True
        out[item.name] = cache.get(key, math.nan) * total_epochs(item.config)
    if changed:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(f".{cache_file.name}.{os.getpid()}")
        tmp.write_text(json.dumps(cache, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, cache_file)
    return out


# ----------------------------------------------------------------------------------- state


def item_state(item: PaperItem, runs: str | Path | None | bool = None, results: str | Path | None = None) -> str:
    """"committed", "finished" (a complete record, not exported), "partial at epoch N" or
    "not started", read from the results and runs folders (``runs=False``: the results only)."""
    if (Path(results or results_dir()) / item.name / "result.json").is_file():
        return "committed"
    if runs is False:
        return "not started"
    folder = record_dir(runs or default_runs_dir(), item.kind, item.config)
    if is_complete(folder):
        return "finished"
    partial = folder.with_name(folder.name + ".partial")
    if partial.is_dir():
        return f"partial at epoch {_partial_epoch(partial):,}"
    return "not started"


def _partial_epoch(partial: Path) -> int:
    """The epochs a checkpoint folder holds: its finished grades' and its snapshot's."""
    from ..errors import CorruptRecord
    from ..runs.checkpoints import RunStore

    try:
        store = RunStore(partial)
        done = sum(int(g["epochs_run"]) for g in store.finished_grades())
        snap = store.snapshot()
        return done + (int(snap["epoch"]) if snap else 0)
    except (CorruptRecord, KeyError, TypeError, ValueError):
        return 0


def plan_rows(items: list[PaperItem], runs=None, results=None, probe: bool = True) -> list[dict]:
    """One row per item: name, figure, words, estimated hours, where it can run, state."""
    seconds = estimate_seconds(items, results, probe)
    rows = []
    for item in items:
        hours = seconds[item.name] / 3600
        where = "needs a GPU" if hours > CPU_LIMIT_HOURS else "this CPU"
        rows.append({"name": item.name, "figure": item.figure, "priority": item.priority, "words": item.words,
                     "hours": hours, "where": where, "state": item_state(item, runs, results)})
    return rows


def plan_table(rows: list[dict]) -> str:
    """The plan as text: one line per item, then totals per figure and overall (core-hours)."""
    lines = [f"{'name':48} {'figure':15} {'hours':>7}  {'where':11}  {'state':22}  configuration"]
    for r in rows:
        lines.append(f"{r['name']:48} {r['figure']:15} {r['hours']:7.2f}  {r['where']:11}  {r['state']:22}  {r['words']}")
    return "\n".join(lines + ["", totals_table(rows)])


def totals_table(rows: list[dict]) -> str:
    """Per figure and overall: runs, committed, left, the CPU hours left on one core (upper
    bounds) and the items left that need a GPU. A figure's extra draws (other seeds) are a line
    of their own ("Fig. 1 draws"), so a figure's runs are its own."""
    figures: dict[str, list[dict]] = {}
    for r in rows:
        figures.setdefault(r["figure"].replace(" (draws)", " draws"), []).append(r)
    lines = [f"{'figure':13} {'runs':>5} {'done':>5} {'left':>5} {'left, CPU h':>12} {'left, GPU runs':>15}"]
    for label, rs in [*figures.items(), ("all", rows)]:
        left = [r for r in rs if r["state"] != "committed"]
        cpu = sum(r["hours"] for r in left if r["where"] == "this CPU" and not math.isnan(r["hours"]))
        gpu = sum(1 for r in left if r["where"] != "this CPU")
        lines.append(f"{label:13} {len(rs):5d} {len(rs) - len(left):5d} {len(left):5d} {cpu:12.1f} {gpu:15d}")
    return "\n".join(lines)


def page_status(page: str, results: str | Path | None = None) -> str:
    """A page's paper-scale items: computed (committed in ``results/``) and left, with the cost
    of what is left from the committed speeds, per figure: the same on every machine."""
    items = [i for i in paper_items() if i.page == page]
    if not items:
        raise ConfigError(f"no paper item belongs to the page {page!r}")
    rows = plan_rows(items, runs=False, results=results, probe=False)
    return totals_table(rows)


# ------------------------------------------------------------------------------------- run


def library_is_dirty(root: Path | None = None) -> bool | None:
    """Whether the checkout has uncommitted changes to the library (``mgdl_core/``,
    ``pyproject.toml``); None outside a git checkout."""
    root = root or PROJECT_ROOT
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--", "mgdl_core", "pyproject.toml"], cwd=root,
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(out.stdout.strip()) if out.returncode == 0 else None


def queue(items: list[PaperItem], runs=None, results=None) -> list[PaperItem]:
    """What :func:`run_queue` trains, in order: items not committed nor finished that this CPU
    can run, by priority, then the cheapest first."""
    rows = {r["name"]: r for r in plan_rows(items, runs, results)}
    todo = [i for i in items if rows[i.name]["state"] not in ("committed", "finished")
            and rows[i.name]["where"] == "this CPU"]
    return sorted(todo, key=lambda i: (i.priority, rows[i.name]["hours"]))


def run_queue(items: list[PaperItem], *, budget_s: float | None, workers: int = 1, runs=None,
              progress: bool | None = None) -> tuple[int, bool]:
    """Train ``items`` in order through the durable sweep until done or until ``budget_s``
    seconds: then SIGTERM to this process makes the sweep checkpoint the runs in flight and stop.
    Returns (runs finished, whether the budget stopped it)."""
    from ..runs.sweeps import SweepInterrupted, sweep

    if not items:
        return 0, False
    out = Path(runs or default_runs_dir())
    timer, fired = None, threading.Event()
    if budget_s is not None:
        def stop() -> None:
            fired.set()
            os.kill(os.getpid(), signal.SIGTERM)

        timer = threading.Timer(budget_s, stop)
        timer.daemon = True
        timer.start()
    try:
        sweep([i.config for i in items], backend="processes", workers=workers, out=out, progress=progress)
        return len(items), False
    except SweepInterrupted:
        if not fired.is_set():
            raise
        return sum(is_complete(record_dir(out, i.kind, i.config)) for i in items), True
    finally:
        if timer is not None:
            timer.cancel()


def export_finished(items: list[PaperItem], runs=None, results=None, replay: int | None = None) -> list[Path]:
    """Export every finished, not yet committed item under its name (verified, replayed)."""
    from ..runs.results import export_result

    done = []
    for item in items:
        if item_state(item, runs, results) == "finished":
            kind, name = item.name.split("/", 1)
            if kind != item.kind:
                raise ConfigError(f"{item.name}: a {item.kind} run cannot be exported under {kind}/")
            folder = record_dir(runs or default_runs_dir(), item.kind, item.config)
            done.append(export_result(folder, name, results, replay=replay))
    return done
