"""An eigenvalue explorer for a live kernel: the spectra of I − ηH a run tracked, checkpoint by
checkpoint, beside its loss, driven by widgets (ipywidgets) instead of the pages' fixed figures.

``explore("s6-setting1-sgdl", "s6-setting1-mgdl")`` ending a notebook cell shows, per run chosen,
the tracked eigenvalues of I − ηH (``eig_smallest``/``eig_largest``, recorded every ``track_every``
epochs by :class:`~mgdl_core.theory.hessian.EigenTracker`) at the slider's epoch or over training,
with the ±1 lines (below −1: a curvature λ(H) above 2/η, the edge of stability), and the loss
with that epoch marked: the §6 and §7 pages' panels (:mod:`mgdl_core.pages.plots`), drawn without
pyplot. ipywidgets (the ``book`` and ``test`` extras) is needed only when an explorer is built.
"""
from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from io import BytesIO
from pathlib import Path
from typing import Any, Union

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..errors import ConfigError, CorruptRecord, UnreadableRecord
from ..runs.recorded import load_record
from ..runs.results import Result, list_results, read_result, results_dir
from ..tasks.fit import RunSummary
from ..tasks.kinds import KINDS
from ..theory.hessian import edge_of_stability
from .plots import COLORS, EIG_FLOOR, LABELS, epoch_axis, plot_eigen_trajectories, plot_loss_curve

__all__ = ["explore", "Explorer"]

_Source = Union[str, Path, RunSummary, Result]
_EIG_KEYS = ("eig_epoch", "eig_smallest", "eig_largest", "eig_grade")
_ROW_KEYS = ("epoch", "train_loss", "val_loss", "grade")


def _tracked(run: RunSummary) -> bool:
    return np.size(run.history.get("eig_epoch", ())) > 0


def _run_label(run: RunSummary, tag: str = "") -> str:
    c = run.config
    return f"{LABELS[c.method]} {c.title()} η = {c.lr:g}" + (f" ({tag})" if tag else "")


def _has_spectra(folder: Path) -> bool:
    """Whether ``folder``'s history lists spectra (unverified: a damaged file is the reader's to report)."""
    try:
        with np.load(folder / "history.npz") as z:
            return "eig_epoch" in z.files
    except (OSError, ValueError):
        return True


def _read(folder: Path) -> tuple[str, RunSummary]:
    """A result folder (labelled by its name) or a record folder (by its run and hash), verified."""
    if (folder / "result.json").is_file():
        return folder.name, read_result(folder).run
    run = load_record(folder)
    return _run_label(run, folder.name[:7]), run


def _folder_runs(folder: Path) -> list[tuple[str, RunSummary]]:
    """Every tracked record and result in a runs or results folder (or one of its kind folders);
    one that fails verification is left out with a warning."""
    found = []
    for marker in ("*/summary.json", "*/*/summary.json", "*/result.json", "*/*/result.json"):
        for p in sorted(folder.glob(marker)):
            if any(part.startswith(".") for part in p.relative_to(folder).parts) or not _has_spectra(p.parent):
                continue
            try:
                found.append(_read(p.parent))
            except (CorruptRecord, UnreadableRecord) as exc:
                warnings.warn(f"explore: left out {p.parent}: {exc}", stacklevel=4)
    return [(label, run) for label, run in found if _tracked(run)]


def _result_folder(name: str, root: Path) -> Path:
    """The committed result ``name`` (``"s6-setting1-sgdl"`` or ``"synthetic/s6-setting1-sgdl"``) under ``root``."""
    for folder in [root / name] if "/" in name else [root / kind / name for kind in KINDS]:
        if (folder / "result.json").is_file():
            return folder
    examples = [p.name for p in list_results(root) if _has_spectra(p)][:3]
    raise ConfigError(f"{name!r} is neither a folder nor a committed result under {root}/ "
                      f"(results with spectra: {', '.join(examples) or 'none there'})")


def _resolve(source: _Source, root: Path) -> list[tuple[str, RunSummary]]:
    """The labelled tracked runs one source offers; a source that offers none is a ConfigError."""
    if isinstance(source, Result):
        runs = [(source.folder.name, source.run)]
    elif isinstance(source, RunSummary):
        runs = [(_run_label(source), source)]
    elif not isinstance(source, (str, Path)):
        raise ConfigError(f"explore: a source is a result name, a folder or a run, not a {type(source).__name__}")
    elif Path(source).is_dir() and not any((Path(source) / f).is_file() for f in ("result.json", "summary.json")):
        runs = _folder_runs(Path(source))
        if not runs:
            raise ConfigError(f"{source}: no record or result with tracked eigenvalues in it (track_every > 0)")
    else:
        runs = [_read(Path(source) if Path(source).is_dir() else _result_folder(str(source), root))]
    for label, run in runs:
        if not _tracked(run):
            raise ConfigError(f"{source}: {label} tracked no eigenvalues (train it with track_every > 0)")
    return runs


class Explorer:
    """The widgets of :func:`explore` and the figure they draw: ``controls`` (by name: ``runs``,
    ``grade``, ``eigenvalues``, ``view``, ``epoch``), ``figure`` (the matplotlib Figure drawn
    last, redrawn on every change) and ``widget`` (the box a notebook displays; a cell ending in
    the explorer displays it). Per chosen run, one row: the eigenvalues of I − ηH at the
    checkpoint shown (the last at or before the slider's epoch) or over training, and the loss,
    that epoch marked in both. Eigenvalue indices 0 to k − 1 are the k smallest (the paper's
    0–9), k to 2k − 1 the k largest; a grade shows that grade of an MGDL run (others: whole)."""

    figure: Figure | None

    def __init__(self, runs: Sequence[tuple[str, RunSummary]]):
        import ipywidgets as w  # the book and test extras
        self.runs: dict[str, RunSummary] = {}
        for n, (label, run) in enumerate(runs):
            self.runs[label if label not in self.runs else f"{label} #{n + 1}"] = run
        self.k = k = min(min(np.shape(r.history[key])[1] for key in ("eig_smallest", "eig_largest"))
                         for r in self.runs.values())
        choices = [(f"{k} smallest and {k} largest", "both"), (f"{k} smallest", "smallest"), (f"{k} largest", "largest")]
        choices += [(f"index {i}" + (" (the smallest)" if i == 0 else " (the largest)" if i == 2 * k - 1 else ""), i)
                    for i in range(2 * k)]
        self.controls: dict[str, Any] = {
            "runs": w.SelectMultiple(options=list(self.runs), value=tuple(self.runs)[:2], rows=min(len(self.runs), 8), description="runs"),
            "grade": w.Dropdown(options=["all"], value="all", description="grade"),
            "eigenvalues": w.Dropdown(options=choices, value="both", description="eigenvalues"),
            "view": w.ToggleButtons(options=[("at the epoch", "epoch"), ("over epochs", "trajectories")], description="view"),
            "epoch": w.IntSlider(description="epoch", continuous_update=False, layout=w.Layout(width="95%")),
        }
        c, self._output, self.figure, self._holding = self.controls, w.Output(), None, False
        self.widget = w.VBox([w.HBox([c["runs"], w.VBox([c["grade"], c["eigenvalues"], c["view"]])]), c["epoch"],
                              self._output])
        self._update_choices()
        for control in c.values():
            control.observe(self._changed, names="value")
        self._draw()

    def chosen(self) -> list[tuple[str, RunSummary | None]]:
        """The chosen runs, each as the chosen grade shows it (None: the run has no such grade)."""
        return [(label, self._view(self.runs[label])) for label in self.controls["runs"].value]

    def _view(self, run: RunSummary) -> RunSummary | None:
        g, h = self.controls["grade"].value, run.history
        if g == "all" or "eig_grade" not in h:
            return run
        eig = np.asarray(h["eig_grade"]) == g
        if not eig.any():
            return None
        rows = np.asarray(h["grade"]) == g
        history = {key: np.asarray(h[key])[eig] for key in _EIG_KEYS if key in h}
        history.update({key: np.asarray(h[key])[rows] for key in _ROW_KEYS if key in h})
        return dataclasses.replace(run, history=history)

    def checkpoint(self, run: RunSummary) -> int:
        """The index (into ``run``'s spectra) of the last checkpoint at or before the slider's epoch."""
        epochs = np.asarray(run.history["eig_epoch"])
        return max(int(np.searchsorted(epochs, self.controls["epoch"].value, side="right")) - 1, 0)

    def values(self, run: RunSummary) -> tuple[np.ndarray, np.ndarray]:
        """The chosen eigenvalues' indices and their values at every checkpoint of ``run``."""
        h, k, choice = run.history, self.k, self.controls["eigenvalues"].value
        both = np.concatenate([np.asarray(h["eig_smallest"])[:, :k], np.asarray(h["eig_largest"])[:, -k:]], axis=1)
        columns = {"both": np.arange(2 * k), "smallest": np.arange(k), "largest": np.arange(k, 2 * k)}.get(choice)
        columns = np.array([choice]) if columns is None else columns
        return columns, both[:, columns]

    def _changed(self, change: dict | None = None) -> None:
        if self._holding:
            return
        if change is not None and change["owner"] in (self.controls["runs"], self.controls["grade"]):
            self._update_choices()
        self._draw()

    def _update_choices(self) -> None:
        """The grades of the chosen runs, and the slider's range over their (grade's) checkpoints."""
        grade, slider = self.controls["grade"], self.controls["epoch"]
        self._holding = True
        try:
            found = {int(g) for label in self.controls["runs"].value
                     for g in np.unique(self.runs[label].history.get("eig_grade", []))}
            options = ["all", *sorted(found)]
            if list(grade.options) != options:
                grade.options, grade.value = options, grade.value if grade.value in options else "all"
            grade.disabled = not found
            shown = [np.asarray(r.history["eig_epoch"]) for _, r in self.chosen() if r is not None]
            epochs = np.unique(np.concatenate(shown)) if shown else np.zeros(1, int)
            lo, hi = int(epochs[0]), int(epochs[-1])
            value = min(max(slider.value, lo), hi)
            slider.min = min(lo, slider.min)  # never above the old max: ipywidgets refuses min > max
            slider.max, slider.min = hi, lo
            slider.step = max(int(np.gcd.reduce(epochs - lo)), 1)
            slider.value = value
        finally:
            self._holding = False

    def _draw(self) -> None:
        chosen = self.chosen()
        fig = Figure(figsize=(9.5, 3.6 * max(len(chosen), 1)), layout="constrained")
        if not chosen:
            fig.text(0.5, 0.5, "choose a run", ha="center", va="center")
        else:
            axes = fig.subplots(len(chosen), 2, squeeze=False, gridspec_kw=dict(width_ratios=[1.25, 1]))
            for (label, run), (ax_eig, ax_loss) in zip(chosen, axes):
                if run is None:
                    ax_eig.set_axis_off(), ax_loss.set_axis_off()
                    ax_eig.set_title(f"{label}: no grade {self.controls['grade'].value}")
                else:
                    self._draw_run(ax_eig, ax_loss, label, run)
        self.figure = fig
        self._show()

    def _draw_run(self, ax_eig, ax_loss, label: str, run: RunSummary) -> None:
        h, method = run.history, run.config.method
        i = self.checkpoint(run)
        epoch = int(h["eig_epoch"][i])
        columns, vals = self.values(run)
        finite = vals[np.isfinite(vals)]
        own = not (self.controls["view"].value == "trajectories" and self.controls["eigenvalues"].value == "both")
        if not own:
            plot_eigen_trajectories(ax_eig, run)  # the pages' panel (Figures 2, 16, 25, 26), floor and ±1 lines
        elif self.controls["view"].value == "trajectories":
            cmap = colormaps["viridis"]
            for j, c in enumerate(columns):
                ax_eig.plot(h["eig_epoch"], vals[:, j], color=cmap(j / max(len(columns) - 1, 1)), lw=1.2,
                            label=f"index {c}")
            epoch_axis(ax_eig, run)
        else:
            ax_eig.plot(columns, vals[i], "o", color=COLORS[method], ms=5, gid="eigenvalues")
            ax_eig.set_xlabel(f"index (0 to {self.k - 1}: the smallest; {self.k} to {2 * self.k - 1}: the largest)")
            lo, hi = min(finite.min(initial=-1.05), -1.05), max(finite.max(initial=1.05), 1.05)
            pad = 0.05 * (hi - lo)  # one axis for every epoch: the dots move, not the axis
            ax_eig.set_ylim(lo - pad, hi + pad)
            ax_eig.set_xlim(columns[0] - 0.6, columns[-1] + 0.6)
            ax_eig.xaxis.set_major_locator(MaxNLocator(integer=True))
        if own:
            for level in (-1, 1):
                ax_eig.axhline(level, color="k", lw=0.8, ls=":")
            ax_eig.set_ylabel("eigenvalues of I − ηH")
            if finite.size and finite.min() < EIG_FLOOR:  # as the pages' panel: an initialisation far below −1
                ax_eig.set_ylim(bottom=EIG_FLOOR)
                ax_eig.text(0.02, 0.02, f"lowest {finite.min():.3g}, below the axis".replace("-", "−"),
                            transform=ax_eig.transAxes, ha="left", va="bottom")
        if self.controls["view"].value == "trajectories":
            ax_eig.axvline(epoch, color="k", lw=1, gid="epoch")
        ax_eig.text(0.99, -1, f"−1: λ(H) = 2/η = {edge_of_stability(run.config.lr):.3g}",
                    transform=ax_eig.get_yaxis_transform(), ha="right", va="bottom", fontsize="small",
                    bbox=dict(facecolor="white", alpha=0.8, lw=0, pad=1))
        tracked = np.concatenate([np.asarray(h["eig_smallest"])[i], np.asarray(h["eig_largest"])[i]])
        grade = f", grade {int(h['eig_grade'][i])}" if "eig_grade" in h else ""
        ax_eig.set_title(f"{label}: epoch {epoch:,}{grade}, {int((tracked < -1).sum())} below −1", fontsize="medium")
        plot_loss_curve(ax_loss, run, label=LABELS[method])
        ax_loss.axvline(epoch, color="k", lw=1, gid="epoch")

    @property
    def png(self) -> bytes:
        """The current figure as PNG bytes (what the notebook shows)."""
        buf = BytesIO()
        self.figure.savefig(buf, format="png", dpi=90)
        return buf.getvalue()

    def _show(self) -> None:
        """The figure into the output area, in a kernel (outside one there is nothing to show it)."""
        from IPython import get_ipython
        from IPython.display import Image, display
        if get_ipython() is None:
            return
        with self._output:
            self._output.clear_output(wait=True)
            display(Image(self.png))

    def _ipython_display_(self) -> None:
        from IPython.display import display
        display(self.widget)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def explore(*sources: _Source, out: str | Path | None = None) -> Explorer:
    """An :class:`Explorer` of the tracked runs of ``sources``: each a committed result's name
    (``"s6-setting1-sgdl"``, or ``"synthetic/s6-setting1-sgdl"``; looked up under ``out``,
    default :func:`~mgdl_core.runs.results.results_dir`), a record or result folder, a runs or
    results folder (every tracked run in it is offered; one that fails verification is left out
    with a warning), or a run (a RunSummary or Result). The first two are shown at first. A name
    that is no result, a run without spectra, a folder without any tracked run or no source is a
    one-line :class:`~mgdl_core.errors.ConfigError`, before any widget exists.

    >>> explore("s6-setting1-sgdl", "s6-setting1-mgdl")   # doctest: +SKIP"""
    if not sources:
        raise ConfigError("explore: name a committed result (e.g. 's6-setting1-sgdl'), a record folder or a runs folder")
    return Explorer([entry for source in sources for entry in _resolve(source, Path(out or results_dir()))])
