"""Diffusion-training helpers: the mixed noise of video diffusion and the one-step x̂₀ estimate that the pixel-space
losses of stage 2 are computed on."""

from __future__ import annotations

import math

import torch

__all__ = ["mixed_noise", "predicted_original"]


def mixed_noise(
    shape: tuple[int, ...], alpha: float, generator: torch.Generator | None = None, device=None, dtype=None
) -> torch.Tensor:
    r"""Unit-variance noise ``(B, C, F, H, W)`` mixing one component shared by all frames with one per frame.

    ``ε = √(α²/(1+α²))·ε_shared + √(1/(1+α²))·ε_frame`` (PYoCo, Ge et al., arXiv 2305.10474; LatentSync trains with
    α = 1). Correlated noise across frames matches inference, where every frame starts from one shared noise.
    ``α = 0`` gives independent noise per frame.
    """
    if len(shape) != 5:
        raise ValueError(f"shape must be (B, C, F, H, W), got {shape}")
    if alpha < 0:
        raise ValueError(f"alpha must be >= 0, got {alpha}")
    batch, channels, frames, height, width = shape
    independent = torch.randn(shape, generator=generator, device=device, dtype=dtype)
    if alpha == 0:
        return independent
    shared = torch.randn((batch, channels, 1, height, width), generator=generator, device=device, dtype=dtype)
    shared_std = math.sqrt(alpha**2 / (1 + alpha**2))
    return shared_std * shared.expand(shape) + math.sqrt(1 / (1 + alpha**2)) * independent


def predicted_original(
    scheduler, noise_pred: torch.Tensor, timesteps: torch.Tensor, noisy: torch.Tensor
) -> torch.Tensor:
    r"""One-step estimate of the clean latents from an ε prediction, ``x̂₀ = (x_t − √(1−ᾱ_t)·ε̂) / √ᾱ_t`` (DDIM,
    arXiv 2010.02502 eq. 12; LatentSync decodes it for its pixel losses). Gradients flow into ``noise_pred``."""
    if scheduler.config.prediction_type != "epsilon":
        raise NotImplementedError(f"prediction_type {scheduler.config.prediction_type!r}: only 'epsilon' is supported")
    alphas = scheduler.alphas_cumprod.to(device=noisy.device)[timesteps.to(noisy.device)]
    alphas = alphas.to(noise_pred.dtype).reshape(-1, *([1] * (noisy.ndim - 1)))
    return (noisy - (1 - alphas).sqrt() * noise_pred) / alphas.sqrt()
