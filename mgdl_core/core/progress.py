"""Progress of a run where someone watches it: a tqdm bar on a terminal, updated every few
epochs with the loss and the rate. A callback of :func:`mgdl_core.core.training.train`."""
from __future__ import annotations

import sys

from .training import Callback, TrainState


class ProgressBar(Callback):
    """A tqdm bar with the loss, updated every ``every`` epochs; silent when not on a terminal."""

    def __init__(self, every: int = 1000, desc: str = "", disable: bool | None = None):
        self.every, self.desc = every, desc
        self.disable = (not sys.stderr.isatty()) if disable is None else disable

    def on_start(self, state: TrainState) -> None:
        from tqdm.auto import tqdm

        desc = self.desc + (f" grade {state.grade}" if state.grade else "")
        self._bar = tqdm(total=state.config.epochs, desc=desc.strip() or None, disable=self.disable,
                         leave=False, unit="epoch", initial=state.epoch)
        self._at = state.epoch

    def on_epoch(self, state: TrainState) -> None:
        self._bar.update(state.epoch - self._at)
        self._at = state.epoch
        if state.history.get("train_loss"):
            self._bar.set_postfix(loss=f"{state.history['train_loss'][-1]:.3e}", lr=state.config.lr)

    def on_end(self, state: TrainState) -> None:
        self.on_epoch(state)
        self._bar.close()

    def on_abort(self, state: TrainState) -> None:
        self._bar.close()
