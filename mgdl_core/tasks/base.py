"""What every task's run configuration shares: the frozen :class:`RunConfig` with ``quick`` and
``paper`` profiles, and the table of methods (:data:`METHOD_TABLE`); a configuration trains
through :func:`mgdl_core.tasks.fit.train_and_summarize` into a :class:`~mgdl_core.tasks.fit.RunSummary`.

A configuration says everything a run needs (task, method, structure, learning rate, epochs,
seed, dtype, device); its ``run()`` trains it and returns a :class:`RunSummary`. The tasks
(:mod:`~mgdl_core.tasks.synthetic`, :mod:`~mgdl_core.tasks.image_regression`,
:mod:`~mgdl_core.tasks.restoration`) subclass it; notebooks and sweeps go through them, so the
same configuration gives the same run wherever it is asked for. Checkpoints come in through the
:class:`~mgdl_core.tasks.fit.Store` protocol; records are :mod:`mgdl_core.runs.recorded`'s.

Profiles: ``paper`` is the paper's protocol (§5: 10^6 GD epochs, per grade for MGDL, with the
authors' early stopping: loss recorded every 100 epochs, smoothed over 20 records, relative
change 1e-6); ``quick`` is the same task with far fewer epochs, so that the book builds in
minutes on a 2-core CPU.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch

from ..core.data import Dataset
from ..core.nets import (MSDL_SCALES, MSDL_SUBNETWORK, InitScheme, Network, mgdl_structure, msdl_network,
                         parse_structure, sgdl_network)
from ..core.step import check_relu_prime_at_zero
from ..core.training import EPOCHS, LR, MAX_EPOCHS, RECORD_EVERY, EarlyStopping, TrainConfig
from ..errors import Bound, ConfigError, as_config_error, bounded, check_bounds, plain
from ..runtime import configure_cpu, get_device, get_dtype
from .fit import FitPlan, RunSummary, Store, train_and_summarize


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
    # the one network of a method that is not graded: (structure, init=, seed=, dtype=, device=) → Network
    network: Callable[..., Network] | None = None
    # whether each step trains one plain MLP (SGDL, an MGDL grade), not a sum of scaled branches (MSDL)
    one_mlp: bool = True


METHOD_TABLE: dict[str, Method] = {m.name: m for m in (
    Method("sgdl", "SGDL", graded=False, synthetic_structure="(26)", colour="tab:red", network=sgdl_network),
    Method("mgdl", "MGDL", graded=True, synthetic_structure="(30)", colour="tab:blue"),
    Method("msdl", "MSDL", graded=False, synthetic_structure=MSDL_SUBNETWORK, colour="tab:green",
           network=lambda structure, **kw: msdl_network(structure, MSDL_SCALES, **kw), one_mlp=False),
)}
METHODS = tuple(METHOD_TABLE)

PROFILES: dict[str, dict[str, object]] = {
    "quick": {"epochs": 20_000, "record_every": 100, "early_stopping": False},
    "paper": {"epochs": 1_000_000, "record_every": 100, "early_stopping": True},
}
MAX_SEED = 2**32 - 1  # the authors' init seeds JAX's PRNGKey, a uint32 (mgdl_core.core.jax_random)
SEED = Bound(0, MAX_SEED, integer=True)


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
    lr: float = bounded(0.06, LR)
    epochs: int = bounded(20_000, EPOCHS)
    grade_epochs: tuple[int, ...] | None = None
    structure: str | None = None
    # The authors' initial weights: He-normal drawn by JAX's PRNG from PRNGKey(42) (mgdl_core.core.nets)
    init: str = "he-jax"
    # ReLU'(0) in training: 0.5 is JAX's, i.e. what the authors' §5–§7 runs used (mgdl_core.core.step)
    relu_prime_at_zero: float = 0.5
    seed: int = bounded(42, SEED)
    dtype: str = "float32"
    device: str | None = None
    record_every: int = bounded(100, RECORD_EVERY)
    early_stopping: bool = False
    # > 0: record the spectrum of I − ηH every this many epochs (§6)
    track_every: int = bounded(0, Bound(0, MAX_EPOCHS, integer=True))
    track_k: int = bounded(10, Bound(1, 1000, integer=True))

    kind: ClassVar[str] = ""
    methods: ClassVar[tuple[str, ...]] = METHODS
    # the optimiser and early-stopping tolerance of a task without such fields (mgdl_core.core.step.STEPS)
    optimizer: ClassVar[str] = "gd"
    rel_error: ClassVar[float] = 1e-6
    # whether runs that differ only in lr and seed can train as one stacked computation (mgdl_core.core.batched)
    batchable: ClassVar[bool] = True
    # whether an exported result may keep every k-th test prediction (a curve: yes; an image: no, it is the image)
    thin_predictions: ClassVar[bool] = False

    def __post_init__(self) -> None:
        self._check()

    @classmethod
    def native_step(cls, config: dict) -> bool:
        """Whether the steps of a run of ``config`` (a record's fields) are ones the C kernel of
        :mod:`mgdl_core.core.native` takes (GD on eq. (1), one small MLP per step) where it is on:
        the one rule for the run's steps (:meth:`train_config`) and its record's hash
        (:mod:`mgdl_core.runs.numeric_paths`). No task's but the synthetic one's (an image
        network's size depends on the image; the ROF objectives are not eq. (1))."""
        return False

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
        check_bounds(self)  # every field declared with a Bound, the task's own included
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
            put("grade_epochs", tuple(EPOCHS.check("grade_epochs", e) for e in self.grade_epochs))

    # --- what a task says about itself ---------------------------------------------------------
    task: ClassVar[str] = "regression"

    # the ``mgdl`` command's name for the task and its line in ``mgdl list``
    command: ClassVar[str] = ""
    about: ClassVar[str] = ""
    # the task's own options of the mgdl command (argparse names); the command refuses the others' options
    options: ClassVar[tuple[str, ...]] = ()

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
                           relu_prime_at_zero=self.relu_prime_at_zero, native=self.native_step(vars(self)),
                           early_stopping=EarlyStopping(20, self.rel_error) if self.early_stopping else None)

    def check_inputs(self) -> None:
        """Build now the data the run will train on (an image read, its hash checked) and check
        the memory it needs (:func:`~mgdl_core.tasks.memory.check_memory`), so a missing or
        changed file or a structure too large is one line before the ``mgdl`` command makes a
        folder, takes a lock or trains."""
        from .memory import check_memory

        check_memory(self, self.dataset())

    def extra_callbacks(self, data: Dataset) -> list:
        """Callbacks the task itself needs besides tracking (e.g. prediction snapshots)."""
        return []

    def network(self, structure: str, *, dtype: torch.dtype, device: torch.device) -> Network:
        """The one network of an SGDL or MSDL run (its method's, :data:`METHOD_TABLE`), initialised."""
        build = METHOD_TABLE[self.method].network
        if build is None:
            raise ValueError(f"{self.method} trains grade by grade, not one network")
        return build(structure, init=self.init, seed=self.seed, dtype=dtype, device=device)

    def fit_plan(self, data: Dataset) -> FitPlan:
        """How this task trains beyond rate and epochs (:class:`~mgdl_core.tasks.fit.FitPlan`):
        regression by default."""
        return FitPlan()

    def run(self, callbacks=(), store: Store | None = None) -> "RunSummary":
        """Train this configuration and summarise it (no training state is shared between runs).

        With a :class:`~mgdl_core.runs.checkpoints.RunStore` the run checkpoints into it and resumes from
        whatever it already holds."""
        configure_cpu()
        data = self.dataset()
        return train_and_summarize(self, data, self.structure or self.default_structure(),
                                   [*self.extra_callbacks(data), *callbacks], store)


def config_device(config) -> torch.device:
    """The configuration's device; one that does not exist here is a ConfigError."""
    with as_config_error():
        return get_device(config.device)


