"""What every task's run configuration shares: the frozen :class:`RunConfig` with ``quick`` and
``paper`` profiles, training it (:func:`train_and_summarize`) and what a run leaves (:class:`RunSummary`).

A configuration says everything a run needs (task, method, structure, learning rate, epochs,
seed, dtype, device); its ``run()`` trains it and returns a :class:`RunSummary`. The tasks
(:mod:`~mgdl_core.tasks.synthetic`, :mod:`~mgdl_core.tasks.image_regression`,
:mod:`~mgdl_core.tasks.restoration`) subclass it; notebooks and sweeps go through them, so the
same configuration gives the same run wherever it is asked for. Checkpoints come in through the
:class:`Store` protocol; records are :mod:`mgdl_core.runs.recorded`'s.

Profiles: ``paper`` is the paper's protocol (§5: 10^6 GD epochs, per grade for MGDL, with the
authors' early stopping: loss recorded every 100 epochs, smoothed over 20 records, relative
change 1e-6); ``quick`` is the same task with far fewer epochs, so that the book builds in
minutes on a 2-core CPU.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

import numpy as np
import torch

from ..core.data import Dataset
from ..core.mgdl import train_mgdl
from ..core.nets import (MSDL_SCALES, MSDL_SUBNETWORK, InitScheme, Network, mgdl_structure, msdl_network,
                         parse_structure, sgdl_network)
from ..core.objectives import HALF_MSE
from ..core.step import check_relu_prime_at_zero, forward
from ..core.training import (MAX_EPOCHS, Callback, EarlyStopping, Outcome, TrainConfig, TrainResult,
                             check_learning_rate, train)
from ..errors import ConfigError, as_config_error, check_int, plain
from ..runtime import configure_cpu, get_device, get_dtype
from .memory import check_memory


@dataclass(frozen=True)
class Method:
    """One of the paper's ways to train: how configurations and records spell it, whether it
    trains grade by grade (§3: epochs per grade, a result per grade), its network on the
    synthetic task (Appendix D) and how the pages show it."""

    name: str
    label: str
    graded: bool
    synthetic_structure: str
    colour: str


METHOD_TABLE: dict[str, Method] = {m.name: m for m in (
    Method("sgdl", "SGDL", graded=False, synthetic_structure="(26)", colour="tab:red"),
    Method("mgdl", "MGDL", graded=True, synthetic_structure="(30)", colour="tab:blue"),
    Method("msdl", "MSDL", graded=False, synthetic_structure=MSDL_SUBNETWORK, colour="tab:green"),
)}
METHODS = tuple(METHOD_TABLE)

PROFILES: dict[str, dict[str, object]] = {
    "quick": {"epochs": 20_000, "record_every": 100, "early_stopping": False},
    "paper": {"epochs": 1_000_000, "record_every": 100, "early_stopping": True},
}
MAX_SEED = 2**32 - 1  # the authors' init seeds JAX's PRNGKey, a uint32 (mgdl_core.core.jax_random)


class Store(Protocol):
    """Where a run keeps its checkpoints while it trains (:class:`mgdl_core.runs.checkpoints.RunStore`):
    named here, so a task trains with one without importing the layer that writes it."""

    def snapshot(self) -> dict | None:
        """The last checkpoint of the network in training, if any."""

    def finished_grades(self) -> list[dict]:
        """The MGDL grades already finished, as :meth:`save_grade` saved them."""

    def save_grade(self, grade: int, result: TrainResult) -> None:
        """Keep a finished grade (1-based), so a resumed run starts after it."""

    def checkpointer(self) -> Callback:
        """The callback that writes checkpoints while the network trains."""


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}: use one of {', '.join(PROFILES)}")
    return profile


def _check_choice(name: str, value, choices) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"unknown {name} {value!r}: use one of {', '.join(choices)}")
    return value


@dataclass(frozen=True)
class RunConfig:
    """What every run configuration has: the method, its network, how it trains, what it tracks.

    A subclass is one task (:class:`~mgdl_core.tasks.synthetic.SyntheticRun`; :class:`~mgdl_core.tasks.image_regression.ImageRegressionRun`)
    and adds its data fields, ``kind`` (its records' folder), ``methods``, ``inputs`` (the
    input width its structures need), ``default_structure()``, ``dataset()`` and its profiles
    (``profile_values``). ``epochs`` counts epochs of the one network (SGDL, MSDL) or *per grade*
    (MGDL, the paper's protocol); ``grade_epochs`` overrides it per grade. The configuration is
    frozen and validated when made (:class:`~mgdl_core.errors.ConfigError` before any training);
    its content hash names its record (:func:`mgdl_core.runs.records.config_hash`).
    """

    method: str = "mgdl"
    lr: float = 0.06
    epochs: int = 20_000
    grade_epochs: tuple[int, ...] | None = None
    structure: str | None = None
    # The authors' initial weights: He-normal drawn by JAX's PRNG from PRNGKey(42) (mgdl_core.core.nets)
    init: str = "he-jax"
    # ReLU'(0) in training: 0.5 is JAX's, i.e. what the authors' §5–§7 runs used (mgdl_core.core.step)
    relu_prime_at_zero: float = 0.5
    seed: int = 42
    dtype: str = "float32"
    device: str | None = None
    record_every: int = 100
    early_stopping: bool = False
    track_every: int = 0  # > 0: record the spectrum of I − ηH every this many epochs (§6)
    track_k: int = 10

    kind: ClassVar[str] = ""
    methods: ClassVar[tuple[str, ...]] = METHODS
    # the optimiser and early-stopping tolerance of a task without such fields (mgdl_core.core.step.STEPS)
    optimizer: ClassVar[str] = "gd"
    rel_error: ClassVar[float] = 1e-6
    # whether runs that differ only in lr and seed can train as one stacked computation (mgdl_core.core.batched)
    batchable: ClassVar[bool] = True

    def __post_init__(self) -> None:
        self._check()

    def _check(self) -> None:
        """Validation shared by the run configurations, before any training starts: NumPy
        scalars (and lists) become Python numbers (and tuples), so the configuration hashes
        like the same values typed in; every field is checked for type and range; the
        structure must fit the task (``inputs`` in, one value out)."""
        def put(name: str, value) -> None:
            object.__setattr__(self, name, value)

        for f in dataclasses.fields(self):
            put(f.name, plain(getattr(self, f.name)))
        _check_choice("method", self.method, self.methods)
        put("lr", check_learning_rate(self.lr))
        put("epochs", check_int("epochs", self.epochs, 0, MAX_EPOCHS))
        put("seed", check_int("seed", self.seed, 0, MAX_SEED))
        put("record_every", check_int("record_every", self.record_every, 1, MAX_EPOCHS))
        put("track_every", check_int("track_every", self.track_every, 0, MAX_EPOCHS))
        put("track_k", check_int("track_k", self.track_k, 1, 1000))
        if not isinstance(self.early_stopping, bool):
            raise ConfigError(f"early_stopping must be True or False, got {self.early_stopping!r}")
        for name in ("structure", "device"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str) and not (name == "structure" and isinstance(value, tuple)):
                raise ConfigError(f"{name} must be a string or None, got {value!r}")
        with as_config_error():
            get_dtype(self.dtype)
            put("relu_prime_at_zero", check_relu_prime_at_zero(self.relu_prime_at_zero))
            InitScheme(self.init)
            spec = self.structure or self.default_structure()
            grades = mgdl_structure(spec) if self.graded else [parse_structure(spec)]
        inputs = self.inputs
        if grades[0][0] != inputs or any(g[-1] != 1 for g in grades):
            raise ConfigError(f"structure {spec!r} does not fit the {self.task} task: it needs {inputs} input"
                              f"{'s' if inputs > 1 else ''} and 1 output")
        if self.grade_epochs is not None:
            if not self.graded or not isinstance(self.grade_epochs, tuple) or len(self.grade_epochs) != len(grades):
                raise ConfigError(f"grade_epochs needs one entry per MGDL grade ({len(grades)}), got {self.grade_epochs}")
            put("grade_epochs", tuple(check_int("grade_epochs", e, 0, MAX_EPOCHS) for e in self.grade_epochs))

    # --- what a task says about itself ---------------------------------------------------------
    task: ClassVar[str] = "regression"

    # the ``mgdl`` command's name for the task and its line in ``mgdl list``
    command: ClassVar[str] = ""
    about: ClassVar[str] = ""

    @property
    def graded(self) -> bool:
        """Whether this run trains grade by grade (MGDL, §3)."""
        return METHOD_TABLE[self.method].graded

    @classmethod
    def cli_fields(cls, args, lr: float | None) -> dict:
        """The fields the ``mgdl`` command's task options set (``args``: its parsed options);
        a combination the task cannot take is a :class:`~mgdl_core.errors.ConfigError`."""
        return {}

    @classmethod
    def profile_lines(cls) -> list[str]:
        """What each profile sets, one line each (``mgdl list``)."""
        return [f"--profile {p}: " + ", ".join(f"{k}={v}" for k, v in values.items()) for p, values in PROFILES.items()]

    def title(self) -> str:
        """The task's words for this run (e.g. "setting 1", "barbara (§4)")."""
        return self.kind

    def summary_lines(self, summary: "RunSummary") -> list[str]:
        """A finished run in a few lines: how it ended, its losses, what the task measures."""
        lines = [f"{self.kind} {self.title()} {METHOD_TABLE[self.method].label} η={self.lr:g}: {summary.outcome}"
                 + (f" at epoch {summary.diverged_epoch}" if summary.diverged_epoch is not None else "")
                 + f", {summary.epochs_run} epochs, {summary.seconds:.1f} s",
                 f"  loss (0.5·MSE): train {summary.train_loss:.4e}  val {summary.val_loss:.4e}  "
                 f"test {summary.test_loss:.4e}"]
        return lines + self.measure_lines(summary)

    def measure_lines(self, summary: "RunSummary") -> list[str]:
        """What the task measures besides the loss (PSNR for images)."""
        return []

    @classmethod
    def sweep_table(cls, results: "list[RunSummary]") -> list[str]:
        """A sweep's results, a row per run (``mgdl sweep``)."""
        return [f"{'η':>10} {'outcome':>14} {'train loss':>12} {'test loss':>12}"] + [
            f"{r.config.lr:10.4g} {r.outcome:>14} {r.train_loss:12.4e} {r.test_loss:12.4e}" for r in results]

    def replay_epochs(self) -> int:
        """How far a routine check of a committed result replays (:func:`mgdl_core.runs.results.replay_result`):
        two recording periods (a few seconds at the paper's image sizes)."""
        return 2 * int(self.record_every)

    @property
    def inputs(self) -> int:
        """The input width of the task's data (the first width of a structure)."""
        raise NotImplementedError

    def default_structure(self) -> str:
        raise NotImplementedError

    def dataset(self) -> Dataset:
        raise NotImplementedError

    @classmethod
    def profile_values(cls, profile: str, overrides: dict) -> dict:
        """The fields a profile sets (before ``overrides``)."""
        return dict(PROFILES[profile])

    # --- shared behaviour ----------------------------------------------------------------------
    @classmethod
    def profile(cls, profile: str = "quick", **overrides):
        """The run under a profile (``quick`` or ``paper``), with ``overrides`` applied."""
        return cls(**{**cls.profile_values(check_profile(profile), overrides), **overrides})

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def train_config(self, epochs: int | None = None) -> TrainConfig:
        return TrainConfig(epochs=self.epochs if epochs is None else epochs, lr=float(self.lr),
                           optimizer=self.optimizer, record_every=self.record_every,
                           relu_prime_at_zero=self.relu_prime_at_zero,
                           early_stopping=EarlyStopping(20, self.rel_error) if self.early_stopping else None)

    def extra_callbacks(self) -> list:
        """Callbacks the task itself needs besides tracking (e.g. prediction snapshots)."""
        return []

    def run(self, callbacks=(), store: Store | None = None) -> "RunSummary":
        """Train this configuration and summarise it (no training state is shared between runs).

        With a :class:`~mgdl_core.runs.checkpoints.RunStore` the run checkpoints into it and resumes from
        whatever it already holds."""
        configure_cpu()
        return train_and_summarize(self, self.dataset(), self.structure or self.default_structure(),
                                   [*self.extra_callbacks(), *callbacks], store)


def run_callbacks(config: RunConfig, callbacks=(), store: Store | None = None) -> list:
    """The callbacks a configured run trains with: eigenvalue tracking (and its stop) when
    ``track_every`` is set, then ``callbacks``, then the store's checkpointer (last, so a
    checkpoint holds what every other callback recorded at that epoch)."""
    callbacks = list(callbacks)
    if config.track_every > 0:
        from ..theory.hessian import EigenTracker

        callbacks = [EigenTracker(config.track_every, config.track_k), *callbacks]
        if getattr(config, "eig_stop", None) is not None:
            from ..theory.hessian import EigenStop

            callbacks.insert(1, EigenStop(config.track_every, config.eig_stop))
    if store is not None:
        callbacks.append(store.checkpointer())
    return callbacks


def train_and_summarize(config, data: Dataset, structure: str, callbacks=(),
                        store: Store | None = None) -> "RunSummary":
    """Train ``config`` (a SyntheticRun or ImageRegressionRun) on ``data`` and summarise it;
    a structure that cannot fit in memory is refused first (:func:`check_memory`)."""
    check_memory(config, data)
    device, dtype = data.train.x.device, data.train.x.dtype
    resume = store.snapshot() if store is not None else None
    callbacks = run_callbacks(config, callbacks, store)
    if config.graded:
        grades = mgdl_structure(structure)
        epochs = config.grade_epochs or (config.epochs,) * len(grades)
        finished = [grade_result(g, grades[l]) for l, g in enumerate(store.finished_grades())] if store else []
        res = train_mgdl(grades, data, [config.train_config(e) for e in epochs], init=config.init,
                         seed=config.seed, callbacks=callbacks, finished=finished, resume=resume,
                         on_grade_end=store.save_grade if store is not None else None)
        hist = res.history()
        outcome, diverged = res.outcome, res.diverged_epoch
        with torch.no_grad():
            pred = res.model.predict(data.test.x)
        grade_losses = res.losses["train"]
        params = [g.vector().cpu() for g in res.model.grades]
        seconds = sum(r.seconds for r in res.grade_results)  # across interruptions
    else:
        if config.method == "sgdl":
            net = sgdl_network(structure, init=config.init, seed=config.seed, dtype=dtype, device=device)
        else:
            net = msdl_network(structure, MSDL_SCALES, init=config.init, seed=config.seed, dtype=dtype, device=device)
        r = train(net, data, config.train_config(), callbacks, resume=resume)
        hist, outcome, diverged = r.history, r.outcome, r.diverged_epoch
        with torch.no_grad():
            pred = forward(net, data.test.x)
        grade_losses = []
        params = [net.vector().cpu()]
        seconds = r.seconds
    return summarize(config, data, hist, outcome, diverged, pred, grade_losses, params, seconds)


def summarize(config: RunConfig, data, hist: dict[str, np.ndarray], outcome: Outcome, diverged: int | None,
              pred: torch.Tensor, grade_losses: list[float], params: list[torch.Tensor],
              seconds: float) -> "RunSummary":
    """A :class:`RunSummary` from a finished run (shared by the serial and batched paths)."""
    ok = outcome != Outcome.DIVERGED
    test_loss = HALF_MSE.value(pred, data.test.y).item() if ok else math.nan
    return RunSummary(
        config=config, outcome=outcome, diverged_epoch=diverged,
        train_loss=float(hist["train_loss"][-1]) if ok else math.nan,
        val_loss=float(hist["val_loss"][-1]) if ok else math.nan,
        test_loss=test_loss, epochs_run=int(hist["epoch"][-1]), seconds=seconds,
        history=hist, grade_train_losses=grade_losses,
        test_x=(data.test.x[:, 0] if data.test.x.shape[1] == 1 else data.test.x).cpu().double().numpy(),
        test_pred=pred[:, 0].cpu().double().numpy(),
        params=params)


@dataclass
class RunSummary:
    """What a run leaves behind: final losses (0.5·MSE, eq. 1), histories and predictions."""

    config: RunConfig
    outcome: Outcome
    diverged_epoch: int | None
    train_loss: float
    val_loss: float
    test_loss: float
    epochs_run: int
    seconds: float
    history: dict[str, np.ndarray] = field(repr=False)
    grade_train_losses: list[float] = field(default_factory=list)
    test_x: np.ndarray | None = field(default=None, repr=False)
    test_pred: np.ndarray | None = field(default=None, repr=False)
    params: list[torch.Tensor] = field(default_factory=list, repr=False)

    @property
    def diverged(self) -> bool:
        return self.outcome == Outcome.DIVERGED


def grade_result(saved: dict, widths) -> TrainResult:
    """A finished MGDL grade as saved by :meth:`mgdl_core.runs.checkpoints.RunStore.save_grade` (the :class:`Store`)."""
    vec = [t for t in saved["params"]]
    params = [(vec[2 * i], vec[2 * i + 1]) for i in range(len(vec) // 2)]
    return TrainResult(Network([params]), {k: v.numpy() for k, v in saved["history"].items()},
                       Outcome(saved["outcome"]), int(saved["epochs_run"]), saved["diverged_epoch"], float(saved["seconds"]),
                       saved.get("step_state"))


def config_device(config) -> torch.device:
    """The configuration's device; one that does not exist here is a ConfigError."""
    with as_config_error():
        return get_device(config.device)


