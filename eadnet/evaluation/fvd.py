"""Fréchet Video Distance (FVD): the Fréchet distance between Gaussians fitted to I3D features of video clips.

FVD (Unterthiner et al., "Towards Accurate Generative Models of Video: A New Metric & Challenges", 2018) uses an
Inflated-3D ConvNet (Carreira & Zisserman, 2017) trained on Kinetics-400. The commonly used PyTorch port is the
TorchScript file ``i3d_torchscript.pt`` released with StyleGAN-V (Skorokhodov et al., 2022; "a perfectly reproduced
torchscript version" of the TF-Hub I3D) and used by LatentSync (``eval/fvd.py``) and
common_metrics_on_video_quality. Its forward takes a batch ``(B, 3, T, H, W)`` and the keyword switches
``rescale`` (map 0–255 input to ``[-1, 1]``), ``resize`` (resize to 224) and ``return_features`` (return the 400-d
logits before the softmax, the FVD features). As in those projects, clips are prepared here (:func:`preprocess_clips`:
resize the short side to 224 with bilinear interpolation, centre crop to 224×224, map ``[0, 1]`` to ``[-1, 1]``) and
the model is called with ``rescale=False, resize=False, return_features=True`` (:data:`I3D_FEATURE_KWARGS`).

Clips are 16 frames (:data:`FVD_CLIP_FRAMES`), the usual FVD length. FVD needs *sets* of clips: at least 2 per
side for a covariance, and hundreds or more for a stable number (feature dimension 400). Values from small sets are
biased upward and only comparable between runs on the same number of clips.

```python
from eadnet.evaluation.fvd import I3DFeatureExtractor, fvd_from_videos

extractor = I3DFeatureExtractor("i3d_torchscript.pt")
fvd = fvd_from_videos(generated_videos, reference_videos, extractor)  # lists of uint8 (F, H, W, 3) videos
```
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from eadnet.evaluation.fid import fid_from_features

logger = logging.getLogger(__name__)

__all__ = [
    "FVD_CLIP_FRAMES",
    "I3D_FEATURE_KWARGS",
    "I3D_WEIGHTS_NAME",
    "I3DFeatureExtractor",
    "fvd_from_features",
    "fvd_from_videos",
    "preprocess_clips",
    "split_clips",
]

#: File name of the StyleGAN-V I3D TorchScript model.
I3D_WEIGHTS_NAME = "i3d_torchscript.pt"
#: Keyword arguments of the I3D call that return the 400-d pre-softmax features of prepared clips.
I3D_FEATURE_KWARGS = {"rescale": False, "resize": False, "return_features": True}
#: Frames per FVD clip.
FVD_CLIP_FRAMES = 16
#: Side of the I3D input.
I3D_RESOLUTION = 224


def split_clips(video: Any, num_frames: int = FVD_CLIP_FRAMES, stride: int | None = None) -> np.ndarray:
    """Cuts a video into clips of ``num_frames`` consecutive frames.

    Args:
        video (`np.ndarray`): uint8 RGB ``(F, H, W, 3)``.
        num_frames (`int`, *optional*, defaults to 16): Frames per clip.
        stride (`int`, *optional*): Start-to-start distance; ``num_frames`` (no overlap) by default. Frames after the
            last whole clip are left out.

    Returns:
        `np.ndarray`: uint8 ``(K, num_frames, H, W, 3)``; ``K = 0`` when the video is shorter than one clip.
    """
    video = np.asarray(video)
    if video.ndim != 4 or video.shape[-1] != 3:
        raise ValueError(f"video must be (F, H, W, 3), got shape {video.shape}")
    stride = num_frames if stride is None else stride
    if num_frames < 1 or stride < 1:
        raise ValueError(f"num_frames and stride must be >= 1, got {num_frames} and {stride}")
    starts = range(0, len(video) - num_frames + 1, stride)
    if len(starts) == 0:
        return np.zeros((0, num_frames, *video.shape[1:]), dtype=video.dtype)
    return np.stack([video[s : s + num_frames] for s in starts])


def preprocess_clips(clips: Any, resolution: int = I3D_RESOLUTION) -> torch.Tensor:
    """uint8 clips → the I3D input (common_metrics_on_video_quality's ``preprocess_single``).

    The short side is resized to ``resolution`` (bilinear, ``align_corners=False``; the long side rounded up), the
    centre ``resolution × resolution`` is cut out and values are mapped from ``[0, 1]`` to ``[-1, 1]``.

    Args:
        clips (`np.ndarray` or `torch.Tensor`): uint8 RGB ``(B, T, H, W, 3)``.
        resolution (`int`, *optional*, defaults to 224): Output side.

    Returns:
        `torch.Tensor`: float32 ``(B, 3, T, resolution, resolution)`` in ``[-1, 1]``.
    """
    clips = torch.as_tensor(np.asarray(clips)) if not isinstance(clips, torch.Tensor) else clips
    if clips.ndim != 5 or clips.shape[-1] != 3 or clips.dtype != torch.uint8:
        raise ValueError(f"clips must be uint8 RGB (B, T, H, W, 3), got {clips.dtype} of shape {tuple(clips.shape)}")
    batch, num_frames, height, width, _ = clips.shape
    frames = clips.reshape(batch * num_frames, height, width, 3).permute(0, 3, 1, 2).float() / 255.0
    scale = resolution / min(height, width)
    size = (resolution, math.ceil(width * scale)) if height < width else (math.ceil(height * scale), resolution)
    frames = F.interpolate(frames, size=size, mode="bilinear", align_corners=False)
    top, left = (size[0] - resolution) // 2, (size[1] - resolution) // 2
    frames = frames[:, :, top : top + resolution, left : left + resolution]
    frames = (frames - 0.5) * 2.0
    return frames.reshape(batch, num_frames, 3, resolution, resolution).permute(0, 2, 1, 3, 4).contiguous()


class I3DFeatureExtractor:
    """The StyleGAN-V I3D TorchScript model as a clip → 400-d feature function.

    Args:
        model (`str`, `os.PathLike` or `torch.nn.Module`): Path of ``i3d_torchscript.pt`` (loaded with
            ``torch.jit.load``: a TorchScript archive holds code, so load only files from a source you trust) or an
            already loaded module taking ``(B, 3, T, 224, 224)`` and the :data:`I3D_FEATURE_KWARGS` keywords.
        device (`str` or `torch.device`, *optional*, defaults to `"cpu"`): Where to run.
        batch_size (`int`, *optional*, defaults to 8): Clips per forward pass.
    """

    def __init__(
        self, model: str | os.PathLike | torch.nn.Module, device: str | torch.device = "cpu", batch_size: int = 8
    ):
        self.device = torch.device(device)
        if isinstance(model, (str, os.PathLike)):
            path = Path(model).expanduser()
            if not path.is_file():
                raise FileNotFoundError(f"I3D model not found: {str(path)!r}")
            model = torch.jit.load(str(path), map_location=self.device)
        self.model = model.eval().to(self.device)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = int(batch_size)

    @torch.no_grad()
    def features(self, clips: Any) -> np.ndarray:
        """I3D features of uint8 clips.

        Args:
            clips (`np.ndarray`): uint8 RGB ``(B, T, H, W, 3)`` (:func:`split_clips`).

        Returns:
            `np.ndarray`: float64 ``(B, 400)``.
        """
        clips = np.asarray(clips)
        outputs = []
        for start in range(0, len(clips), self.batch_size):
            batch = preprocess_clips(clips[start : start + self.batch_size]).to(self.device)
            output = self.model(batch, **I3D_FEATURE_KWARGS)
            if not isinstance(output, torch.Tensor) or output.ndim != 2 or output.shape[0] != len(batch):
                shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
                raise ValueError(f"the I3D model returned {shape} for {len(batch)} clips, expected (B, 400) features")
            outputs.append(output.double().cpu().numpy())
        if not outputs:
            raise ValueError("no clips to embed")
        return np.concatenate(outputs)

    def video_features(
        self, videos: Iterable[Any], num_frames: int = FVD_CLIP_FRAMES, stride: int | None = None
    ) -> np.ndarray:
        """Features of every whole clip of every video (:func:`split_clips`).

        Args:
            videos (iterable of `np.ndarray`): uint8 RGB videos ``(F, H, W, 3)``.
            num_frames (`int`, *optional*, defaults to 16): Frames per clip.
            stride (`int`, *optional*): Start-to-start distance of clips (``num_frames`` by default).

        Returns:
            `np.ndarray`: float64 ``(K, 400)``.
        """
        features = []
        for video in videos:
            clips = split_clips(video, num_frames=num_frames, stride=stride)
            if len(clips):
                features.append(self.features(clips))
        if not features:
            raise ValueError(f"no video has {num_frames} frames: FVD needs clips of {num_frames} frames")
        return np.concatenate(features)


def fvd_from_features(features1: Any, features2: Any) -> float:
    """FVD between two sets of I3D features ``(N₁, 400)`` and ``(N₂, 400)``, ``N >= 2`` each."""
    return fid_from_features(features1, features2)


def fvd_from_videos(
    videos1: Iterable[Any],
    videos2: Iterable[Any],
    extractor: I3DFeatureExtractor,
    num_frames: int = FVD_CLIP_FRAMES,
    stride: int | None = None,
) -> float:
    """FVD between two sets of videos, each cut into clips of ``num_frames``.

    Args:
        videos1 (iterable of `np.ndarray`): uint8 RGB videos ``(F, H, W, 3)`` (e.g. generated).
        videos2 (iterable of `np.ndarray`): uint8 RGB videos (e.g. real).
        extractor ([`I3DFeatureExtractor`]): The I3D model.
        num_frames (`int`, *optional*, defaults to 16): Frames per clip.
        stride (`int`, *optional*): Start-to-start distance of clips.

    Returns:
        `float`: the FVD (needs at least 2 clips per side).
    """
    features1 = extractor.video_features(videos1, num_frames=num_frames, stride=stride)
    features2 = extractor.video_features(videos2, num_frames=num_frames, stride=stride)
    return fvd_from_features(features1, features2)
