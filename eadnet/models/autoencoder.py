"""Pixels ↔ scaled latents with a diffusers autoencoder (``AutoencoderKL`` or ``AutoencoderTiny``), shared by the
pipeline and the trainers so that training and inference see exactly the same latent space."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import torch

__all__ = ["SD_VAE_ARCHITECTURE", "vae_decode", "vae_encode"]

#: The Stable Diffusion VAE's architecture (the LatentSync presets' ``stabilityai/sd-vae-ft-mse``, its public
#: config): what memory and compute estimates build with random weights when the real weights are not at hand.
SD_VAE_ARCHITECTURE: Mapping = MappingProxyType(
    {
        "block_out_channels": (128, 256, 512, 512),
        "down_block_types": ("DownEncoderBlock2D",) * 4,
        "up_block_types": ("UpDecoderBlock2D",) * 4,
        "layers_per_block": 2,
        "latent_channels": 4,
        "norm_num_groups": 32,
    }
)


def _shift(vae) -> float:
    return getattr(vae.config, "shift_factor", None) or 0.0


def vae_encode(vae, pixels: torch.Tensor) -> torch.Tensor:
    """``(N, 3, S, S)`` in [-1, 1] → scaled latents ``(N, C, S/8, S/8)`` (the posterior mode: deterministic)."""
    encoded = vae.encode(pixels.contiguous(memory_format=torch.channels_last))
    latents = encoded.latent_dist.mode() if hasattr(encoded, "latent_dist") else encoded.latents
    return (latents - _shift(vae)) * vae.config.scaling_factor


def vae_decode(vae, latents: torch.Tensor, chunk: int | None = None, clamp: bool = True) -> torch.Tensor:
    """Scaled latents ``(N, C, h, w)`` → pixels ``(N, 3, S, S)`` in [-1, 1], ``chunk`` frames at a time (all at once
    when `None`). ``clamp=False`` keeps gradients alive outside [-1, 1] (training losses)."""
    latents = latents / vae.config.scaling_factor + _shift(vae)
    parts = [latents] if chunk is None else latents.split(chunk)
    pixels = torch.cat([vae.decode(part.contiguous(memory_format=torch.channels_last)).sample for part in parts])
    return pixels.clamp(-1, 1) if clamp else pixels
