"""One generic full-batch training loop: an objective and a step plug into it, callbacks extend it.

SGDL, every MGDL grade and MSDL all train through :func:`train`. The *objective*
(:mod:`mgdl_core.core.objectives`; eq. (1) by default) says what is minimised; the *step*
(:mod:`mgdl_core.core.step`: GD, Adam, or any :class:`~mgdl_core.core.step.Step`) how the parameters move,
and is checkpointed with them. What happens besides the step — recording the loss, early
stopping, the progress bar, eigenvalue tracking, PSNR, checkpoints — is a :class:`Callback`
called every ``callback.every`` epochs, so the inner loop stays a bare ``step()``.

The stopping rules (:func:`is_diverged`, :meth:`EarlyStopping.should_stop`) are shared with the
batched sweep (:mod:`mgdl_core.core.batched`), so a run stops at the same epoch either way.

Divergence is an outcome, not a crash: when the recorded training loss is NaN, infinite or
above ``TrainConfig.diverge_above``, the run stops and reports :attr:`Outcome.DIVERGED` with the
epoch at which it was detected (a multiple of ``record_every``, or the last epoch).
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
import torch

from ..errors import Bound, ConfigError, as_config_error, check_bounds, check_int, check_number, plain
from .data import Dataset
from .nets import Network
from .objectives import HALF_MSE, Objective
from .step import STEPS, Step, check_relu_prime_at_zero, loss_value

# Sane limits, checked before training: 10^9 epochs is 1000x the paper's protocol (§5), and a
# GD rate above 1000 diverges at the first step on any of the paper's tasks.
MAX_EPOCHS = 10**9
MAX_LR = 1e3
# the ranges of a run's rate and epochs, declared once: TrainConfig, every task's RunConfig and the
# mgdl command's options read these (mgdl_core.errors.Bound)
LR = Bound(0.0, MAX_LR, low_open=True, what="the learning rate (lr)")
EPOCHS = Bound(0, MAX_EPOCHS, integer=True)
RECORD_EVERY = Bound(1, MAX_EPOCHS, integer=True)


class Outcome(str, Enum):
    """How a run ended. A ``str``: it compares equal to, prints as and is written to records as
    its value (the values records have always held)."""

    COMPLETED = "completed"          # every epoch ran
    EARLY_STOPPED = "early_stopped"  # the authors' early stopping (§5: :class:`EarlyStopping`)
    DIVERGED = "diverged"            # the loss left the floats or passed ``diverge_above``
    EIG_STOPPED = "eig_stopped"      # §6: the spectrum reached its level (:class:`~mgdl_core.theory.hessian.EigenStop`)

    __str__ = str.__str__
    __format__ = str.__format__


@dataclass(frozen=True)
class EarlyStopping:
    """The authors' rule: every ``smooth`` records, stop when the mean of the last ``smooth``
    recorded validation losses changed by less than ``rel_error`` relative to the previous mean."""

    smooth: int = 20
    rel_error: float = 1e-6

    def __post_init__(self) -> None:
        object.__setattr__(self, "smooth", check_int("EarlyStopping.smooth", self.smooth, 1, 10**6))
        object.__setattr__(self, "rel_error", check_number("EarlyStopping.rel_error", self.rel_error, 0.0, 1.0,
                                                           low_open=True))

    def should_stop(self, previous_mean: float | None, mean: float) -> bool:
        """The rule, given the previous and the current mean of ``smooth`` recorded losses."""
        return previous_mean is not None and abs(mean - previous_mean) <= self.rel_error * abs(previous_mean)


def is_diverged(loss: float, diverge_above: float) -> bool:
    """A recorded training loss that ends a run as diverged: NaN, infinite or above the threshold."""
    return not math.isfinite(loss) or loss > diverge_above


@dataclass(frozen=True)
class TrainConfig:
    """How one network (or one MGDL grade) is trained."""

    epochs: int = field(metadata={"bound": EPOCHS})
    lr: float = field(metadata={"bound": LR})
    optimizer: str = "gd"  # a name in mgdl_core.core.step.STEPS: "gd" (eq. 2) or "adam" (§4)
    record_every: int = field(default=100, metadata={"bound": RECORD_EVERY})
    early_stopping: EarlyStopping | None = None
    diverge_above: float = 1e8
    adam_betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = 1e-8
    # ReLU'(0) in the backward pass (mgdl_core.core.step): 0 PyTorch's, 0.5 JAX's (the authors' runs)
    relu_prime_at_zero: float = 0.0
    # whether GD may run in the C kernel (mgdl_core.core.native) where MGDL_NATIVE=1 and it applies; a
    # task sets it from its configuration (RunConfig.native_step), so that its record's hash says so
    native: bool = True

    def __post_init__(self) -> None:
        """Every field checked (and NumPy scalars coerced) here, so a bad value fails before
        the first epoch with a :class:`~mgdl_core.errors.ConfigError`."""
        check_bounds(self)
        values = dict(
            diverge_above=_check_threshold(self.diverge_above),
            adam_betas=_check_betas(self.adam_betas),
            adam_eps=check_number("adam_eps", self.adam_eps, 0.0, 1.0, low_open=True),
        )
        with as_config_error():
            values["relu_prime_at_zero"] = check_relu_prime_at_zero(plain(self.relu_prime_at_zero))
        for name, value in values.items():
            object.__setattr__(self, name, value)
        if not isinstance(self.native, bool):
            raise ConfigError(f"native must be True or False, got {self.native!r}")
        if self.optimizer not in STEPS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}: use one of {', '.join(map(repr, STEPS))}")
        if self.early_stopping is not None and not isinstance(self.early_stopping, EarlyStopping):
            raise ConfigError(f"early_stopping must be an EarlyStopping or None, got {self.early_stopping!r}")


    def make_step(self) -> Step:
        """A fresh step object for this configuration (its optimiser state starts empty)."""
        if self.optimizer == "adam":
            return STEPS["adam"](self.lr, self.relu_prime_at_zero, self.adam_betas, self.adam_eps)
        if self.optimizer == "gd":
            return STEPS["gd"](self.lr, self.relu_prime_at_zero, native=self.native)
        return STEPS[self.optimizer](self.lr, self.relu_prime_at_zero)


def check_learning_rate(lr) -> float:
    """A GD/Adam rate: a finite number in (0, :data:`MAX_LR`] (:data:`LR`)."""
    return LR.check("lr", lr)


def _check_threshold(value) -> float:
    """``diverge_above``: a positive number; ``inf`` turns divergence detection off (NaN still counts)."""
    value = plain(value)
    if value == math.inf:
        return math.inf
    return check_number("diverge_above", value, 0.0, math.inf, low_open=True)


def _check_betas(betas) -> tuple[float, float]:
    betas = plain(betas)
    if not isinstance(betas, tuple) or len(betas) != 2:
        raise ConfigError(f"adam_betas must be two numbers in [0, 1), got {betas!r}")
    out = tuple(check_number("adam_betas", b, 0.0, 1.0) for b in betas)
    if 1.0 in out:
        raise ConfigError(f"adam_betas must be two numbers in [0, 1), got {betas!r}")
    return out


@dataclass
class TrainState:
    """What callbacks see: the network, the epoch, the histories, and a way to stop."""

    net: Network
    data: Dataset
    config: TrainConfig
    epoch: int = 0
    grade: int | None = None
    history: dict[str, list[float]] = field(default_factory=dict)
    stop_reason: Outcome | None = None
    diverged_epoch: int | None = None
    step: Step | None = None
    objective: Objective = HALF_MSE
    callbacks: list["Callback"] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    earlier_seconds: float = 0.0  # training time before a resume

    @property
    def seconds(self) -> float:
        """Training wall time so far, across interruptions."""
        return self.earlier_seconds + time.perf_counter() - self.started

    def snapshot(self) -> dict:
        """Everything needed to resume this run exactly: parameters, optimiser state, histories,
        epoch, callbacks' state and the RNG state. Tensors only (loadable with weights_only)."""
        return {
            "epoch": self.epoch,
            "grade": self.grade,
            "params": [t.detach().cpu().clone() for t in self.net.tensors()],
            # as tensors: numbers and per-checkpoint arrays (eigenvalues) load with weights_only
            "history": {k: torch.as_tensor(np.asarray(v)) for k, v in self.history.items()},
            "optimizer": self.step.state_dict() if self.step is not None else None,
            "callbacks": [cb.state_dict() for cb in self.callbacks],
            "rng": torch.get_rng_state(),
            "seconds": self.seconds,
            "stop_reason": None if self.stop_reason is None else self.stop_reason.value,
            "diverged_epoch": self.diverged_epoch,
        }

    def stop(self, reason: Outcome) -> None:
        if self.stop_reason is None:
            self.stop_reason = Outcome(reason)

    def append(self, key: str, value: float) -> None:
        self.history.setdefault(key, []).append(value)


class Callback:
    """Called every ``every`` epochs (0: never periodically), plus at the start and the end."""

    every: int = 0

    def on_start(self, state: TrainState) -> None: ...

    def on_epoch(self, state: TrainState) -> None: ...

    def on_end(self, state: TrainState) -> None: ...

    def on_abort(self, state: TrainState) -> None:
        """Training raised (an interruption, an error): release what ``on_start`` took."""

    def state_dict(self) -> dict:
        """What a checkpoint must keep of this callback to resume exactly."""
        return {}

    def load_state_dict(self, sd: dict) -> None: ...


class Recorder(Callback):
    """A callback that records into the history every ``every`` epochs, at most once per epoch,
    across resumes: at the start when the epoch is a period's (epoch 0, or a resume on a period
    boundary) unless the history already holds that epoch in ``epoch_key``; a resume between two
    periods records nothing extra. Subclasses say what to record (:meth:`record`) and what to
    take back from a resumed history (:meth:`resume`). With ``at_end`` it also records the last
    epoch, unless a period already did."""

    epoch_key = "epoch"
    at_end = False

    def __init__(self, every: int):
        self.every = every

    def on_start(self, state: TrainState) -> None:
        epochs = state.history.get(self.epoch_key)
        self._last = epochs[-1] if epochs else None
        self.resume(state)
        if state.epoch % self.every == 0:
            self.on_epoch(state)

    def on_epoch(self, state: TrainState) -> None:
        if self._last == state.epoch:
            return
        self._last = state.epoch
        self.record(state)

    def on_end(self, state: TrainState) -> None:
        if self.at_end:
            self.on_epoch(state)

    def resume(self, state: TrainState) -> None:
        """Take back what this callback keeps besides the history, from a resumed run's history."""

    def record(self, state: TrainState) -> None:
        raise NotImplementedError


class LossRecorder(Recorder):
    """Records train/validation loss at W^k every ``every`` epochs (and at 0 and the end) and
    detects divergence."""

    at_end = True

    def record(self, state: TrainState) -> None:
        data, objective = state.data, state.objective
        with torch.no_grad():
            train = loss_value(state.net, data.train.x, data.train.y, objective).item()
            val = loss_value(state.net, data.val.x, data.val.y, objective).item() if data.val is not None else math.nan
        state.append("epoch", state.epoch)
        state.append("train_loss", train)
        state.append("val_loss", val)
        if is_diverged(train, state.config.diverge_above):
            state.diverged_epoch = state.epoch
            state.stop(Outcome.DIVERGED)


class EarlyStopper(Callback):
    """Applies :class:`EarlyStopping` to the recorded validation (else training) loss."""

    def __init__(self, rule: EarlyStopping, record_every: int):
        self.rule, self.every = rule, record_every * rule.smooth

    def on_start(self, state: TrainState) -> None:
        if not hasattr(self, "_previous"):
            self._previous = None

    def state_dict(self) -> dict:
        return {"previous": self._previous}

    def load_state_dict(self, sd: dict) -> None:
        self._previous = sd["previous"]

    def on_epoch(self, state: TrainState) -> None:
        key = "val_loss" if state.data.val is not None else "train_loss"
        recent = state.history.get(key, [])[-self.rule.smooth:]
        mean = float(np.mean(recent))
        if self.rule.should_stop(self._previous, mean):
            state.stop(Outcome.EARLY_STOPPED)
        self._previous = mean


@dataclass
class TrainResult:
    """What a run leaves: the trained network, histories, and how it ended."""

    net: Network
    history: dict[str, np.ndarray]
    outcome: Outcome
    epochs_run: int
    diverged_epoch: int | None
    seconds: float
    # the step's state at the end (``Step.state_dict``): what a later stage carries on from it,
    # e.g. the ROF auxiliary variable u that the next MGDL grade starts from (mgdl_core.tasks.restoration)
    step_state: dict | None = None

    @property
    def final_train_loss(self) -> float:
        return math.nan if self.outcome == Outcome.DIVERGED else float(self.history["train_loss"][-1])

    @property
    def final_val_loss(self) -> float:
        return math.nan if self.outcome == Outcome.DIVERGED else float(self.history["val_loss"][-1])


def train(net: Network, data: Dataset, config: TrainConfig, callbacks: Sequence[Callback] = (),
          *, grade: int | None = None, resume: dict | None = None, objective: Objective = HALF_MSE,
          step: Step | None = None) -> TrainResult:
    """Train ``net`` in place on ``data.train``: minimise ``objective`` (eq. 1 by default) by
    ``step`` (default: ``config.make_step()``, full-batch GD or Adam).

    Loss is recorded every ``config.record_every`` epochs; ``config.early_stopping`` adds the
    authors' stopping rule; ``callbacks`` run after those, in order. ``resume`` is a
    :meth:`TrainState.snapshot` of an interrupted run of the same configuration: its parameters
    and the step's state are copied in and training goes on from its epoch, ending where the
    uninterrupted run would have ended.
    """
    x, y = data.train.x, data.train.y
    update = config.make_step() if step is None else step

    cbs: list[Callback] = [LossRecorder(config.record_every)]
    if config.early_stopping is not None:
        cbs.append(EarlyStopper(config.early_stopping, config.record_every))
    cbs += list(callbacks)
    state = TrainState(net, data, config, grade=grade, step=update, objective=objective, callbacks=cbs)
    if resume is not None:
        _restore(state, resume)
    state.started = time.perf_counter()
    periodic = [cb for cb in cbs if cb.every > 0]
    epoch = state.epoch
    next_at = min((((epoch // cb.every) + 1) * cb.every for cb in periodic), default=config.epochs + 1)
    try:
        for cb in cbs:
            cb.on_start(state)
        while epoch < config.epochs and state.stop_reason is None:
            # The only work between callbacks: the step's epochs up to the next multiple of a period.
            until = min(next_at, config.epochs)
            update.run(net, x, y, objective, until - epoch)
            state.epoch = epoch = until
            if epoch == next_at:
                for cb in periodic:
                    if epoch % cb.every == 0:
                        cb.on_epoch(state)
                next_at = min(((epoch // cb.every) + 1) * cb.every for cb in periodic)
        for cb in cbs:
            cb.on_end(state)
    except BaseException:
        for cb in cbs:
            cb.on_abort(state)
        raise
    hist = {k: np.asarray(v) for k, v in state.history.items()}
    outcome = state.stop_reason or Outcome.COMPLETED
    return TrainResult(net, hist, outcome, state.epoch, state.diverged_epoch, state.seconds,
                       update.state_dict())


def _restore(state: TrainState, snap: dict) -> None:
    """Load a :meth:`TrainState.snapshot` into a fresh state (parameters copied in place)."""
    tensors = state.net.tensors()
    if len(snap["params"]) != len(tensors) or any(a.shape != b.shape for a, b in zip(snap["params"], tensors)):
        raise ValueError("the checkpoint does not belong to this network (parameter shapes differ)")
    with torch.no_grad():
        for t, saved in zip(tensors, snap["params"]):
            t.copy_(saved)
    state.epoch = int(snap["epoch"])
    state.history = {k: v.tolist() if v.ndim == 1 else list(v.numpy()) for k, v in snap["history"].items()}
    if state.step is not None:
        state.step.load_state_dict(snap.get("optimizer"), state.net)
    for cb, sd in zip(state.callbacks, snap.get("callbacks", [])):
        cb.load_state_dict(sd)
    if snap.get("rng") is not None:
        torch.set_rng_state(snap["rng"])
    state.earlier_seconds = float(snap.get("seconds", 0.0))
    reason = snap.get("stop_reason")  # a stop found at the interrupted check stands
    state.stop_reason = None if reason is None else Outcome(reason)
    state.diverged_epoch = snap.get("diverged_epoch")
