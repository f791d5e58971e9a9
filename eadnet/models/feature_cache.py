"""Feature caching across denoising steps for :class:`~eadnet.models.unet_3d.EADUNet3DModel` (DeepCache).

DeepCache (Ma, Fang and Wang, "DeepCache: Accelerating Diffusion Models for Free", CVPR 2024, arXiv 2312.00858)
observes that the U-Net's deep features change little from one denoising step to the next, while the shallow
branch (the first encoder stage, the skip connection and the last decoder stage) carries the fine detail. So every
``interval`` steps the whole U-Net runs and the input of its last ``depth`` decoder stages is kept; at the steps
between, only the first ``depth`` encoder stages and those decoder stages run, on the kept deep feature.

A :class:`DeepCache` belongs to one stream of calls with the same batch layout: the pipeline makes one per window
(the latents change completely at a new window) and the cache refuses a feature of another shape, so a change of
guidance branches (batch size) or window length runs the full U-Net instead of mixing features.

```py
>>> cache = DeepCache(interval=3, depth=1)
>>> for index, t in enumerate(timesteps):
...     cache.full = index % cache.interval == 0
...     noise = unet(sample, t, audio_embeds, deep_cache=cache).sample
```
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class DeepCache:
    r"""The kept deep feature of one stream of U-Net calls, and whether the next call may reuse it.

    Args:
        interval (`int`, *optional*, defaults to 3): A full U-Net pass every ``interval`` steps (1: every step, no
            caching).
        depth (`int`, *optional*, defaults to 1): How many encoder and decoder stages form the shallow branch that
            runs at every step (1: the first encoder stage and the last decoder stage, as in DeepCache).
    """

    interval: int = 3
    depth: int = 1
    full: bool = True  # the next call runs the whole U-Net (set by the caller per step)
    feature: torch.Tensor | None = field(default=None, repr=False)
    full_calls: int = 0
    cached_calls: int = 0

    def __post_init__(self):
        if isinstance(self.interval, bool) or not isinstance(self.interval, int) or self.interval < 1:
            raise ValueError(f"cache interval must be an int >= 1 (1 = no caching), got {self.interval!r}")
        if isinstance(self.depth, bool) or not isinstance(self.depth, int) or self.depth < 1:
            raise ValueError(f"cache depth must be an int >= 1, got {self.depth!r}")

    def step(self, index: int) -> None:
        """Prepares denoising step ``index`` of the stream: a full pass at multiples of :attr:`interval`."""
        self.full = index % self.interval == 0

    def usable(self, batch_frames: int) -> bool:
        """Whether the next call may reuse the kept feature: not a full step, and a feature of this batch layout
        (``batch × frames`` rows) is kept."""
        return not self.full and self.feature is not None and self.feature.shape[0] == batch_frames

    def keep(self, feature: torch.Tensor) -> None:
        self.feature = feature
        self.full_calls += 1

    def reset(self) -> None:
        """Forgets the kept feature (a new window: the next call runs the whole U-Net)."""
        self.feature, self.full = None, True


__all__ = ["DeepCache"]
