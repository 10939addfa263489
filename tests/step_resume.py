"""A shared check for the tests of step objects: a resumed step continues its path bit for bit."""
from __future__ import annotations

import torch


def _copy(state):
    """A deep copy of a step's state_dict (tensors cloned), as a checkpoint would hold it."""
    if isinstance(state, torch.Tensor):
        return state.clone()
    if isinstance(state, dict):
        return {k: _copy(v) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(_copy(v) for v in state)
    return state


def step_straight_and_resumed(make_step, straight, resumed, x, y, objective, before: int, after: int) -> None:
    """``before + after`` steps of ``straight`` by one step object; ``before`` steps of ``resumed``,
    then a fresh step object loads a copy of the first one's state and takes ``after`` steps.
    Both networks (built alike) are changed in place, for the caller to compare."""
    step = make_step()
    for _ in range(before + after):
        step(straight, x, y, objective)
    first = make_step()
    for _ in range(before):
        first(resumed, x, y, objective)
    second = make_step()
    second.load_state_dict(_copy(first.state_dict()), resumed)
    for _ in range(after):
        second(resumed, x, y, objective)
