"""Output of :class:`eadnet.pipelines.EADNetPipeline`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import PIL.Image
import torch
from diffusers.utils import BaseOutput


@dataclass
class EADNetPipelineOutput(BaseOutput):
    """Output of :class:`~eadnet.pipelines.EADNetPipeline`.

    Args:
        frames (`list[PIL.Image.Image]`, `np.ndarray` or `torch.Tensor`):
            The talking-head video at the input's resolution: a list of PIL images (``output_type="pil"``),
            a float array `(F, H, W, 3)` in ``[0, 1]`` (``"np"``), a float tensor `(F, 3, H, W)` in ``[0, 1]``
            (``"pt"``), or the denoised crop latents `(1, 4, F, h, w)` (``"latent"``).
        fps (`float`): Frame rate of ``frames``.
        emotion_description (`str` or `None`): The description of the emotion that guided generation.
    """

    frames: list[PIL.Image.Image] | np.ndarray | torch.Tensor
    fps: float
    emotion_description: str | None
