"""Input handling shared by the engines: portraits and source frames as uint8 RGB, and the source-frame schedule of
a clip longer than its source video."""

from __future__ import annotations

import numpy as np
import torch

from eadnet.io.image import load_image


def ping_pong(indices: np.ndarray, length: int) -> np.ndarray:
    """Folds indices into ``[0, length)`` back and forth: 0 1 2 3 2 1 0 1 2 … (a video shorter than the audio)."""
    if length == 1:
        return np.zeros_like(indices)
    period = 2 * (length - 1)
    folded = indices % period
    return np.where(folded < length, folded, period - folded)


def to_uint8_rgb(image, name: str) -> np.ndarray:
    """A portrait as uint8 RGB ``(H, W, 3)``: PIL (any mode), numpy (uint8 / uint16 / float 0..1, gray, RGBA)
    or a torch tensor ``(H, W, 3)`` / ``(3, H, W)`` in [0, 1]."""
    if isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[-1] == 3:
        return image
    try:
        return load_image(image)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name}: {error}") from error


def video_to_uint8(video) -> np.ndarray:
    if isinstance(video, list | tuple):
        if not video:
            raise ValueError("video has no frames")
        return np.stack([to_uint8_rgb(frame, "video") for frame in video])
    if isinstance(video, torch.Tensor):
        video = video.detach().cpu().numpy()
    video = np.asarray(video)
    if video.ndim != 4 or video.shape[-1] != 3 or video.shape[0] == 0:
        raise ValueError(f"video must be frames (N, H, W, 3), got shape {video.shape}")
    if video.dtype != np.uint8:
        video = (np.clip(video, 0, 1) * 255).round().astype(np.uint8)
    return video


def source_schedule(num_frames: int, fps: float, source_fps: float | None, num_sources: int) -> np.ndarray:
    """The source frame of every output frame: output frame ``i`` (at ``fps``) shows the source frame at the same
    time (at ``source_fps``; the output's rate when unknown), played back and forth when the audio outlasts the
    source."""
    rate = source_fps if source_fps else fps
    timeline = np.floor(np.arange(num_frames) * rate / fps + 1e-9).astype(np.int64)
    return ping_pong(timeline, num_sources)
