"""Full-reference image quality of a video against its ground truth: PSNR and SSIM, per frame and averaged.

SSIM follows Wang et al., "Image Quality Assessment: From Error Visibility to Structural Similarity" (IEEE TIP 2004):
local means, variances and covariance under an 11×11 Gaussian window (σ = 1.5, normalised to sum 1), constants
``C₁ = (0.01 L)²`` and ``C₂ = (0.03 L)²`` with ``L = 255``, and the SSIM map averaged over the pixels where the window
fits inside the image (a "valid" filter: 5 px are left out at each border). This equals scikit-image's
``structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)``.

Colour: ``channel="rgb"`` (default) computes SSIM on each RGB channel and averages the three (scikit-image's
``channel_axis=-1``, what most talking-head papers report); ``channel="y"`` uses the BT.601 luma
``Y = 0.299 R + 0.587 G + 0.114 B`` (on the 0–255 scale, as MATLAB's ``rgb2gray`` before ``ssim``). PSNR is over
all RGB values of a frame: ``10 log10(255² / MSE)``.

Identical frames have ``MSE = 0`` and an infinite PSNR. The per-frame values keep ``inf``; the video's
``psnr`` is the mean over the frames that differ, ``psnr_identical_frames`` counts the others, and a video identical
to its reference has ``psnr = inf``, which :func:`eadnet.evaluation.evaluate.to_jsonable` writes as ``null`` (JSON
has no infinity) next to ``psnr_identical_frames == num_frames``. ``psnr_pooled`` is the PSNR of the MSE pooled
over the whole video.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
from scipy import ndimage

logger = logging.getLogger(__name__)

__all__ = ["SSIM_CHANNELS", "gaussian_window", "psnr", "ssim", "video_psnr_ssim"]

#: Colour handling of :func:`ssim`.
SSIM_CHANNELS = ("rgb", "y")

_DATA_RANGE = 255.0
_K1, _K2 = 0.01, 0.03
_WINDOW_SIZE, _SIGMA = 11, 1.5
_LUMA = np.array([0.299, 0.587, 0.114])


def gaussian_window(size: int = _WINDOW_SIZE, sigma: float = _SIGMA) -> np.ndarray:
    """1-D Gaussian weights ``(size,)`` summing to 1 (the separable SSIM window)."""
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)
    return weights / weights.sum()


def _as_frames(video: Any, name: str) -> np.ndarray:
    frames = np.asarray(video)
    if frames.ndim == 3:
        frames = frames[None]
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"{name} must be uint8 RGB (F, H, W, 3) or (H, W, 3), got {frames.dtype} {frames.shape}")
    return frames


def _check_pair(video: Any, reference: Any) -> tuple[np.ndarray, np.ndarray]:
    frames, references = _as_frames(video, "video"), _as_frames(reference, "reference")
    if frames.shape != references.shape:
        raise ValueError(
            f"video and reference must have one shape, got {frames.shape} and {references.shape}; trim both to the "
            "same number of frames and resize the video to the reference's size first"
        )
    return frames, references


def psnr(video: Any, reference: Any) -> np.ndarray:
    """Per-frame PSNR in dB over all RGB values.

    Args:
        video (`np.ndarray`): uint8 RGB ``(F, H, W, 3)`` (or one frame ``(H, W, 3)``).
        reference (`np.ndarray`): The ground truth, same shape.

    Returns:
        `np.ndarray`: float64 ``(F,)``; ``inf`` where a frame equals its reference.
    """
    frames, references = _check_pair(video, reference)
    diff = frames.astype(np.float64) - references.astype(np.float64)
    mse = (diff**2).reshape(len(frames), -1).mean(axis=1)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(_DATA_RANGE**2 / mse)


def _valid_filter(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Separable correlation with ``window`` along the last two axes, keeping only fully covered pixels."""
    pad = (len(window) - 1) // 2
    filtered = ndimage.correlate1d(image, window, axis=-2, mode="constant")
    filtered = ndimage.correlate1d(filtered, window, axis=-1, mode="constant")
    return filtered[..., pad : image.shape[-2] - pad, pad : image.shape[-1] - pad]


def _ssim_planes(planes1: np.ndarray, planes2: np.ndarray) -> np.ndarray:
    """Mean SSIM of float64 planes ``(..., H, W)`` on the 0–255 scale → ``(...)``."""
    window = gaussian_window()
    if min(planes1.shape[-2:]) < _WINDOW_SIZE:
        raise ValueError(
            f"SSIM needs frames of at least {_WINDOW_SIZE}×{_WINDOW_SIZE} pixels, got {planes1.shape[-2:]}"
        )
    c1, c2 = (_K1 * _DATA_RANGE) ** 2, (_K2 * _DATA_RANGE) ** 2
    mu1, mu2 = _valid_filter(planes1, window), _valid_filter(planes2, window)
    sigma11 = _valid_filter(planes1 * planes1, window) - mu1 * mu1
    sigma22 = _valid_filter(planes2 * planes2, window) - mu2 * mu2
    sigma12 = _valid_filter(planes1 * planes2, window) - mu1 * mu2
    numerator = (2 * mu1 * mu2 + c1) * (2 * sigma12 + c2)
    denominator = (mu1**2 + mu2**2 + c1) * (sigma11 + sigma22 + c2)
    return (numerator / denominator).mean(axis=(-2, -1))


def ssim(video: Any, reference: Any, channel: str = "rgb") -> np.ndarray:
    """Per-frame SSIM (Gaussian 11×11, σ = 1.5, Wang et al.'s constants; see the module docstring).

    Args:
        video (`np.ndarray`): uint8 RGB ``(F, H, W, 3)`` (or one frame ``(H, W, 3)``), at least 11×11.
        reference (`np.ndarray`): The ground truth, same shape.
        channel (`str`, *optional*, defaults to `"rgb"`): ``"rgb"`` (mean of the per-channel SSIMs) or ``"y"``
            (BT.601 luma).

    Returns:
        `np.ndarray`: float64 ``(F,)`` in ``[-1, 1]``; 1 where a frame equals its reference.
    """
    if channel not in SSIM_CHANNELS:
        raise ValueError(f"channel must be one of {SSIM_CHANNELS}, got {channel!r}")
    frames, references = _check_pair(video, reference)
    values = np.empty(len(frames))
    for index, (frame, target) in enumerate(zip(frames, references, strict=True)):  # a frame at a time: memory
        frame, target = frame.astype(np.float64), target.astype(np.float64)
        if channel == "y":
            values[index] = _ssim_planes(frame @ _LUMA, target @ _LUMA)
        else:
            values[index] = _ssim_planes(np.moveaxis(frame, -1, 0), np.moveaxis(target, -1, 0)).mean()
    return values


def video_psnr_ssim(video: Any, reference: Any, channel: str = "rgb", trim: bool = True) -> dict[str, Any]:
    """PSNR and SSIM of a video against its ground truth.

    Args:
        video (`np.ndarray`): uint8 RGB ``(F, H, W, 3)``.
        reference (`np.ndarray`): uint8 RGB ``(F', H, W, 3)``.
        channel (`str`, *optional*, defaults to `"rgb"`): SSIM colour handling (see :func:`ssim`).
        trim (`bool`, *optional*, defaults to `True`): Compare the first ``min(F, F')`` frames when the lengths
            differ (logged); with `False` a length difference raises.

    Returns:
        `dict`: ``ssim`` (mean), ``psnr`` (mean over the frames that differ; ``inf`` when none does),
        ``psnr_pooled`` (PSNR of the video-wide MSE), ``psnr_identical_frames``, ``num_frames``, ``ssim_channel``,
        and the per-frame lists ``ssim_per_frame`` and ``psnr_per_frame`` (``inf`` for identical frames).
    """
    frames, references = _as_frames(video, "video"), _as_frames(reference, "reference")
    if len(frames) != len(references):
        if not trim:
            raise ValueError(f"video has {len(frames)} frames, reference {len(references)}")
        count = min(len(frames), len(references))
        logger.info(
            "PSNR/SSIM: comparing the first %d frames (video %d, reference %d)", count, len(frames), len(references)
        )
        frames, references = frames[:count], references[:count]
    per_frame_psnr = psnr(frames, references)
    per_frame_ssim = ssim(frames, references, channel=channel)
    finite = np.isfinite(per_frame_psnr)
    diff = frames.astype(np.float64) - references.astype(np.float64)
    pooled_mse = float((diff**2).mean())
    return {
        "ssim": float(per_frame_ssim.mean()),
        "psnr": float(per_frame_psnr[finite].mean()) if finite.any() else math.inf,
        "psnr_pooled": 10.0 * math.log10(_DATA_RANGE**2 / pooled_mse) if pooled_mse > 0 else math.inf,
        "psnr_identical_frames": int((~finite).sum()),
        "num_frames": len(frames),
        "ssim_channel": channel,
        "ssim_per_frame": per_frame_ssim.tolist(),
        "psnr_per_frame": per_frame_psnr.tolist(),
    }
