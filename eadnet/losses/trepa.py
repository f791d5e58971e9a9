"""TREPA — Temporal REPresentation Alignment (LatentSync, arXiv 2412.09262 §3.3; EAD-Net names it as one of its
losses): features of the generated and of the real clip from a frozen self-supervised video transformer, mean-pooled
over tokens and L2-normalised, compared with an MSE. LatentSync uses VideoMAE-v2 ViT-g; here any transformers
``VideoMAEModel`` works (the in-library choice, docs/design.md §2.5)."""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F

__all__ = ["TREPALoss"]

# VideoMAE's image processor normalises with the ImageNet statistics.
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


class TREPALoss(torch.nn.Module):
    r"""TREPA loss with a frozen video transformer.

    Args:
        video_model (`transformers.VideoMAEModel`): Frozen here (``requires_grad_(False)``, eval mode); gradients
            still flow into the generated clip.
    """

    def __init__(self, video_model):
        super().__init__()
        self.video_model = video_model.eval().requires_grad_(False)
        config = video_model.config
        self.image_size = int(config.image_size)
        self.num_frames = int(config.num_frames)
        self.register_buffer("mean", torch.tensor(_MEAN).reshape(1, 1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).reshape(1, 1, 3, 1, 1), persistent=False)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, **kwargs) -> TREPALoss:
        """Loads a ``VideoMAEModel`` folder (``save_pretrained`` / a Hub snapshot)."""
        from transformers import VideoMAEModel

        return cls(VideoMAEModel.from_pretrained(path, **kwargs))

    def train(self, mode: bool = True) -> TREPALoss:
        super().train(mode)
        self.video_model.eval()  # frozen, always
        return self

    def features(self, video: torch.Tensor) -> torch.Tensor:
        """``(B, 3, F, H, W)`` in [-1, 1] → L2-normalised mean-pooled features ``(B, D)``."""
        batch, _, frames, height, width = video.shape
        if frames != self.num_frames:  # the model's position embeddings fix its clip length: resample in time
            index = torch.linspace(0, frames - 1, self.num_frames, device=video.device).round().long()
            video = video[:, :, index]
        video = video.transpose(1, 2).reshape(batch * self.num_frames, 3, height, width)
        if (height, width) != (self.image_size, self.image_size):
            video = F.interpolate(video, size=(self.image_size, self.image_size), mode="bicubic", align_corners=False)
        video = video.reshape(batch, self.num_frames, 3, self.image_size, self.image_size)
        video = ((video + 1) / 2).clamp(0, 1)
        pixel_values = (video - self.mean.to(video.dtype)) / self.std.to(video.dtype)
        hidden = self.video_model(pixel_values=pixel_values.to(self.video_model.dtype)).last_hidden_state
        return F.normalize(hidden.float().mean(dim=1), dim=-1)

    def forward(self, generated: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """Scalar TREPA loss between ``generated`` and ``real`` clips ``(B, 3, F, H, W)`` in [-1, 1]."""
        if generated.shape != real.shape:
            raise ValueError(f"clips differ in shape: {tuple(generated.shape)} vs {tuple(real.shape)}")
        with torch.no_grad():
            target = self.features(real)
        return F.mse_loss(self.features(generated), target)
