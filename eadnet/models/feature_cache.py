"""Feature caching across denoising steps for :class:`~eadnet.models.unet_3d.EADUNet3DModel` (DeepCache).

DeepCache (Ma, Fang and Wang, "DeepCache: Accelerating Diffusion Models for Free", CVPR 2024, arXiv 2312.00858)
observes that the U-Net's deep features change little from one denoising step to the next, while the shallow
branch (the first encoder stage, the skip connection and the last decoder stage) carries the fine detail. So every
``interval`` steps the whole U-Net runs and the input of its last ``depth`` decoder stages is kept; at the steps
between, only the first ``depth`` encoder stages and those decoder stages run, on the kept deep feature.

A :class:`DeepCache` belongs to one stream of calls with the same batch layout: the pipeline makes one per window
(the latents change completely at a new window) and the cache refuses a feature of another layout, so a change of
window length or a batch larger than the kept one runs the full U-Net instead of mixing features.

With ``reuse_text_guidance`` the cached steps also skip the emotion-text guidance branch: the full pass keeps its
guidance term (``(s_t − 1)(ε(a, t) − ε(a, ∅))``) and a cached step runs the other branches only, on the leading rows of
the kept feature (the text branch is the batch's last), and adds the kept term. The idea is FasterCache's reuse of
the conditional/unconditional difference across steps (Lv et al., "FasterCache: Training-Free Video Diffusion Model
Acceleration with High Quality", arXiv 2410.19355). Only the text term is reused: the emotion changes slowly from
step to step, while reusing the audio term as well lost 8 % of the mouth/speech sync on eadnet-mini
(docs/benchmarks.md).

```py
>>> cache = DeepCache(interval=3, depth=1)
>>> for index, t in enumerate(timesteps):
...     cache.step(index)  # a full pass at every third step
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
    reuse_text_guidance: bool = False
    full: bool = True  # the next call runs the whole U-Net (set by the caller per step)
    feature: torch.Tensor | None = field(default=None, repr=False)
    batch: int = 0  # the batch size of the call that kept the feature
    text_guidance: torch.Tensor | None = field(default=None, repr=False)
    # calls counted outside torch.compile only: a compiled U-Net that read and bumped a Python int would be
    # specialised on its value and recompiled for every new count
    full_calls: int = 0
    cached_calls: int = 0

    def __post_init__(self):
        if isinstance(self.interval, bool) or not isinstance(self.interval, int) or self.interval < 1:
            raise ValueError(f"cache interval must be an int >= 1 (1 = no caching), got {self.interval!r}")
        if isinstance(self.depth, bool) or not isinstance(self.depth, int) or self.depth < 1:
            raise ValueError(f"cache depth must be an int >= 1, got {self.depth!r}")
        if not isinstance(self.reuse_text_guidance, bool):
            raise ValueError(f"reuse_text_guidance must be True or False, got {self.reuse_text_guidance!r}")

    def step(self, index: int) -> None:
        """Prepares denoising step ``index`` of the stream: a full pass at multiples of :attr:`interval`."""
        self.full = index % self.interval == 0

    def usable(self, batch: int, num_frames: int) -> bool:
        """Whether the next call (``batch`` samples of ``num_frames`` frames) may reuse the kept feature: not a full
        step, and a feature of the same window kept by a call with at least this many samples (a smaller batch takes
        the leading ones: the conditional branch alone)."""
        if self.full or self.feature is None or not 0 < batch <= self.batch:
            return False
        return self.feature.shape[0] == self.batch * num_frames

    def cached_feature(self, batch: int, num_frames: int) -> torch.Tensor:
        """The kept feature's rows for the first ``batch`` samples (check :meth:`usable` first)."""
        if not torch.compiler.is_compiling():
            self.cached_calls += 1
        return self.feature if batch == self.batch else self.feature[: batch * num_frames]

    def keep(self, feature: torch.Tensor, batch: int) -> None:
        self.feature, self.batch = feature, int(batch)
        if not torch.compiler.is_compiling():
            self.full_calls += 1

    def text_guidance_usable(self, batch: int, num_frames: int) -> bool:
        """Whether the next step may run its first ``batch`` branches alone and add the kept text-guidance term."""
        return self.reuse_text_guidance and self.text_guidance is not None and self.usable(batch, num_frames)

    def reset(self) -> None:
        """Forgets the kept feature and text-guidance term (a new window: the next call runs the whole U-Net)."""
        self.feature, self.batch, self.text_guidance, self.full = None, 0, None, True


__all__ = ["DeepCache"]
