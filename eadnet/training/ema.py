"""Exponential moving average of trained weights (Polyak averaging), checkpointed with the run."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import torch

__all__ = ["EMAWeights"]


class EMAWeights:
    r"""Float32 shadow copies of parameters, ``shadow ← decay·shadow + (1 − decay)·param`` after each update.

    Args:
        parameters (`Iterable[torch.nn.Parameter]`): The trained parameters (their order is the state's order).
        decay (`float`, *optional*, defaults to 0.999): Averaging decay.
        start_step (`int`, *optional*, defaults to 0): Before this update the shadow is a plain copy.
    """

    def __init__(self, parameters: Iterable[torch.nn.Parameter], decay: float = 0.999, start_step: int = 0):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        self.parameters = list(parameters)
        self.decay = float(decay)
        self.start_step = int(start_step)
        self.shadow = [p.detach().float().clone() for p in self.parameters]
        self.num_updates = 0

    @torch.no_grad()
    def update(self, step: int) -> None:
        decay = 0.0 if step < self.start_step else self.decay
        for shadow, parameter in zip(self.shadow, self.parameters, strict=True):
            shadow.lerp_(parameter.detach().float(), 1.0 - decay)
        self.num_updates += 1

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        """Temporarily puts the averaged weights into the parameters (validation, saving)."""
        saved = [p.detach().clone() for p in self.parameters]
        with torch.no_grad():
            for shadow, parameter in zip(self.shadow, self.parameters, strict=True):
                parameter.copy_(shadow.to(parameter.dtype))
        try:
            yield
        finally:
            with torch.no_grad():
                for value, parameter in zip(saved, self.parameters, strict=True):
                    parameter.copy_(value)

    def state_dict(self) -> dict:
        return {
            "decay": self.decay,
            "start_step": self.start_step,
            "num_updates": self.num_updates,
            "shadow": [s.clone() for s in self.shadow],
        }

    def load_state_dict(self, state: dict) -> None:
        if len(state["shadow"]) != len(self.shadow):
            raise ValueError(f"EMA state has {len(state['shadow'])} tensors, the model {len(self.shadow)}")
        self.decay = float(state["decay"])
        self.start_step = int(state["start_step"])
        self.num_updates = int(state["num_updates"])
        for shadow, value in zip(self.shadow, state["shadow"], strict=True):
            shadow.copy_(value)
