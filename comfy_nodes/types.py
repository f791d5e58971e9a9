"""The values that travel between EAD-Net nodes (custom ``EADNET_*`` types) and conversions to ComfyUI's core types.

Core types only at the graph's edges: ``IMAGE`` is a float tensor ``[B, H, W, 3]`` in 0..1 (B = frames), ``AUDIO``
is ``{"waveform": [B, C, T], "sample_rate": int}``. Everything private to EAD-Net is a typed object below, never
``LATENT`` or ``VIDEO`` (other packs' nodes would accept and misread them).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .runtime import offload_device, soft_empty_cache

logger = logging.getLogger(__name__)

EADNET_MODEL = "EADNET_MODEL"
EADNET_AUDIO = "EADNET_AUDIO"
EADNET_EMOTION = "EADNET_EMOTION"
EADNET_FACE = "EADNET_FACE"
EADNET_LATENTS = "EADNET_LATENTS"
CUSTOM_TYPES = (EADNET_MODEL, EADNET_AUDIO, EADNET_EMOTION, EADNET_FACE, EADNET_LATENTS)

OFFLOAD_CHOICES = ("offload after run", "keep loaded")


@dataclass
class EADNetModel:
    """A loaded pipeline and how to place it: on ``device`` while a node runs, on ``offload_device`` between runs
    when ``offload`` is set (ComfyUI keeps node outputs alive, so an idle GPU copy would hold its memory)."""

    pipeline: Any
    preset: Any
    name: str
    device: torch.device
    dtype: torch.dtype
    offload: bool = True
    captioners: dict[str, Any] = field(default_factory=dict)

    @property
    def is_mesh(self) -> bool:
        """Whether this is the ``eadnet-mesh`` engine (it renders in one node; there are no stages to wire)."""
        return self.preset is None

    @contextlib.contextmanager
    def active(self, stage: str | None = None):
        """The pipeline on its compute device for the block; moved back afterwards when offloading. ``stage`` names a
        node of the staged (diffusion) graph, which the ``eadnet-mesh`` engine has no use for."""
        if stage is not None and self.is_mesh:
            raise ValueError(
                f"{stage} is a stage of the diffusion models; the {self.name} engine renders frames in one step: "
                "connect the model to EAD-Net Generate (all-in-one), or load a diffusion model (eadnet-mini, "
                "latentsync-1.5, ...) for the staged nodes"
            )
        self.pipeline.to(self.device)
        try:
            yield self.pipeline
        finally:
            if self.offload and self.device != offload_device():
                self.pipeline.to(offload_device())
                for captioner in self.captioners.values():
                    if captioner.vlm_model is not None:
                        captioner.vlm_model.to(offload_device())
                soft_empty_cache()


@dataclass
class EADNetAudio:
    """Whisper features of the whole track (on CPU) and the clip's frame count at ``fps``."""

    features: torch.Tensor
    num_frames: int
    fps: float
    waveform: torch.Tensor  # (C, T) float, CPU
    sample_rate: int
    silent: Any = None  # bool (F,): frames in a pause of the speech (a closed, resting mouth), or None

    @property
    def seconds(self) -> float:
        return self.waveform.shape[-1] / self.sample_rate


@dataclass
class EmotionValue:
    """The description that guides generation (``None``: no emotion guidance), where it came from, and the facial
    action units it asks for (the emotion warp gives them to the face crops)."""

    description: str | None
    source: str
    action_units: dict[str, float] = field(default_factory=dict)


@dataclass
class EADNetFace:
    """The pipeline's ``FacePlan`` (aligned crops, affine maps, output frame → source frame) at ``fps``."""

    plan: Any
    fps: float

    @property
    def num_frames(self) -> int:
        return len(self.plan.schedule)


@dataclass
class EADNetLatents:
    """Denoised crop latents ``(1, 4, F, h, w)`` on CPU for all ``F`` output frames, and the face plan they were
    denoised on when it differs from the Face Crop's (the emotion warp changed its crops; Decode keeps them outside
    the mask)."""

    latents: torch.Tensor
    fps: float
    plan: Any = None

    @property
    def num_frames(self) -> int:
        return self.latents.shape[2]


def image_to_uint8(image: torch.Tensor) -> np.ndarray:
    """ComfyUI ``IMAGE`` ``[B, H, W, C]`` float 0..1 → uint8 ``(B, H, W, 3)`` (alpha dropped, gray repeated)."""
    if not isinstance(image, torch.Tensor) or image.ndim != 4:
        shape = tuple(image.shape) if hasattr(image, "shape") else type(image).__name__
        raise ValueError(f"expected an IMAGE [batch, height, width, channels], got {shape}")
    if image.shape[0] == 0:
        raise ValueError("the IMAGE input is empty (a batch of 0 images)")
    array = (image.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return np.ascontiguousarray(array[..., :3])


def uint8_to_image(frames: np.ndarray) -> torch.Tensor:
    """uint8 ``(B, H, W, 3)`` → ComfyUI ``IMAGE`` float 0..1."""
    return torch.from_numpy(np.ascontiguousarray(frames)).float().div_(255.0)


def audio_waveform(audio: Any) -> tuple[torch.Tensor, int]:
    """Core ``AUDIO`` → ``(C, T)`` float waveform and sample rate, with errors a user can act on."""
    if not isinstance(audio, dict) or "waveform" not in audio or "sample_rate" not in audio:
        raise ValueError(
            "audio must be a ComfyUI AUDIO value ({'waveform': [1, C, T], 'sample_rate': int}); "
            "connect a Load Audio node"
        )
    waveform = torch.as_tensor(audio["waveform"])
    if waveform.ndim == 3:
        if waveform.shape[0] != 1:
            raise ValueError(f"audio holds a batch of {waveform.shape[0]} clips: connect one clip (one Load Audio)")
        waveform = waveform[0]
    elif waveform.ndim == 1:
        waveform = waveform[None]
    if waveform.ndim != 2 or waveform.shape[-1] == 0:
        raise ValueError(f"audio is empty (waveform shape {tuple(waveform.shape)}): connect a speech track")
    return waveform.detach().float().cpu(), int(audio["sample_rate"])
