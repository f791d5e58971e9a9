"""SyncNet lip-sync loss on decoded frames (LatentSync stage 2; EAD-Net's "SyncNet supervision").

LatentSync (https://github.com/bytedance/LatentSync, ``scripts/train_unet.py``) decodes the one-step estimate of
the clean latents to pixels in ``[-1, 1]``, resizes them to the SyncNet's resolution (bicubic), stacks the 16
frames along channels, keeps the lower half and takes ``BCE(cos(v, a), 1)``; the SyncNet is frozen.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from eadnet.models.syncnet import SyncNet, stack_lower_half

__all__ = ["SyncLoss", "sync_bce"]


def sync_bce(similarity: torch.Tensor, labels: torch.Tensor | float) -> torch.Tensor:
    """Mean BCE between a SyncNet's similarity (read as a probability) and 1 (in sync) / 0 (not).

    The towers end in a ReLU, so the cosine of their embeddings lies in ``[0, 1]`` up to rounding; it is clamped
    there because ``binary_cross_entropy`` refuses anything outside.

    Args:
        similarity (`torch.Tensor`): ``(B,)`` cosine similarities.
        labels (`torch.Tensor` or `float`): ``(B,)`` targets in ``{0, 1}``, or one value for all.
    """
    probability = similarity.float().clamp(0.0, 1.0)
    target = torch.as_tensor(labels, dtype=probability.dtype, device=probability.device).expand_as(probability)
    return F.binary_cross_entropy(probability, target)


class SyncLoss(nn.Module):
    r"""``BCE(cos(v, a), 1)`` of a frozen :class:`~eadnet.models.syncnet.SyncNet` on generated face crops.

    The SyncNet is put in eval mode with ``requires_grad`` off and kept there (``train()`` on a parent module
    does not switch it back), so the gradient reaches the frames only.

    Args:
        syncnet ([`SyncNet`]): A trained SyncNet; its config fixes the frame count and crop size.
    """

    def __init__(self, syncnet: SyncNet):
        super().__init__()
        self.syncnet = syncnet.eval().requires_grad_(False)

    def train(self, mode: bool = True) -> SyncLoss:
        super().train(mode)
        self.syncnet.eval()
        return self

    def similarity(self, frames: torch.Tensor, mel: torch.Tensor) -> torch.Tensor:
        """``(B,)`` in-sync probabilities of ``frames`` ``(B, 3, F, H, W)`` in ``[-1, 1]`` and ``mel`` ``(B, 1, 80, 52)``."""
        config = self.syncnet.config
        if frames.shape[2] != config.num_frames:
            raise ValueError(
                f"the SyncNet reads {config.num_frames} frames, got {frames.shape[2]} (frames (B, 3, F, H, W))"
            )
        if frames.shape[0] != mel.shape[0]:
            raise ValueError(f"frames and mel disagree on the batch size: {frames.shape[0]} vs {mel.shape[0]}")
        parameter = next(self.syncnet.parameters())
        visual_inputs = stack_lower_half(frames.to(parameter.dtype), config.image_size)
        return self.syncnet(visual_inputs, mel.to(device=parameter.device, dtype=parameter.dtype)).similarity

    def forward(self, frames: torch.Tensor, mel: torch.Tensor) -> torch.Tensor:
        r"""Sync loss of a batch of generated windows.

        Args:
            frames (`torch.Tensor`): ``(B, 3, F, H, W)`` decoded full face crops in ``[-1, 1]`` (``F`` = the
                SyncNet's ``num_frames``; any square size, resized to the SyncNet's ``image_size``).
            mel (`torch.Tensor`): ``(B, 1, 80, 52)`` mel windows of the same time span
                (:func:`~eadnet.models.syncnet.mel_window`).

        Returns:
            `torch.Tensor`: scalar float32 loss.
        """
        return sync_bce(self.similarity(frames, mel), 1.0)
