"""Pixel reconstruction losses of the image autoencoder (`eadnet.training.autoencoder_trainer`): L1, MSE, an image-
gradient L1 (edges) and ``1 − SSIM`` at full and half resolution, each optionally weighted per pixel (e.g. up in the
lower face, :func:`eadnet.face.mouth_mask`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from eadnet.evaluation.image_quality import gaussian_window

__all__ = ["reconstruction_losses"]


def _weighted_mean(error: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """Mean of ``error (N, C, h, w)`` under a pixel weight ``(1, 1, H, W)`` centre-cropped to ``h × w``."""
    if weight is None:
        return error.mean()
    top, left = (weight.shape[-2] - error.shape[-2]) // 2, (weight.shape[-1] - error.shape[-1]) // 2
    weight = weight[..., top : top + error.shape[-2], left : left + error.shape[-1]]
    return (error * weight).mean() / weight.mean()


def _ssim_map(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """SSIM map of images in [0, 1] ``(N, C, H, W)`` (Gaussian 11×11, σ 1.5, valid region: Wang et al. 2004)."""
    window = torch.from_numpy(gaussian_window()).to(x)
    maps = torch.cat([x, y, x * x, y * y, x * y], dim=1)
    groups = maps.shape[1]
    # The window is separable: two 1-D passes cost 22 instead of 121 multiplications per pixel.
    maps = F.conv2d(maps, window.view(1, 1, -1, 1).expand(groups, 1, -1, 1), groups=groups)
    maps = F.conv2d(maps, window.view(1, 1, 1, -1).expand(groups, 1, 1, -1), groups=groups)
    mu_x, mu_y, xx, yy, xy = maps.chunk(5, dim=1)
    c1, c2 = 0.01**2, 0.03**2
    var_x, var_y, cov = xx - mu_x**2, yy - mu_y**2, xy - mu_x * mu_y
    return ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))


def reconstruction_losses(
    reconstruction: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None, names: set[str]
) -> dict[str, torch.Tensor]:
    """Unweighted pixel loss terms (those in ``names``) of ``(N, 3, S, S)`` images in [-1, 1]; ``weight`` is the
    optional ``(1, 1, S, S)`` pixel weight (lower face)."""
    terms = {}
    difference = reconstruction - target
    if "l1" in names:
        terms["l1"] = _weighted_mean(difference.abs(), weight)
    if "mse" in names:
        terms["mse"] = _weighted_mean(difference.square(), weight)
    if "edge" in names:
        terms["edge"] = 0.5 * (
            _weighted_mean(difference.diff(dim=-1).abs(), weight)
            + _weighted_mean(difference.diff(dim=-2).abs(), weight)
        )
    if "ssim" in names:
        x, y, w, scales = (reconstruction + 1) / 2, (target + 1) / 2, weight, []
        while min(x.shape[-2:]) >= 16 and len(scales) < 2:
            scales.append(1 - _weighted_mean(_ssim_map(x, y), w))
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
            w = None if w is None else F.avg_pool2d(w, 2)
        terms["ssim"] = torch.stack(scales).mean()
    return terms
