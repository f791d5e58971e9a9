"""Face frames of a clip dataset for training an image autoencoder (`eadnet.training.autoencoder_trainer`): random,
augmented frames per clip (`FaceFrameDataset`), and a fixed sample spread over the clips (`spread_frames`) for the
latent statistics and validation."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np
import torch

from eadnet.data.format import ClipRecord, load_clip_frames, read_dataset_info, read_manifest

__all__ = ["FaceFrameDataset", "spread_frames"]


def _resize(frames: np.ndarray, size: int) -> np.ndarray:
    """uint8 ``(N, S, S, 3)`` → ``(N, size, size, 3)`` (area filter when shrinking)."""
    if frames.shape[1] == size:
        return frames
    import cv2  # OpenCV only when resizing: importing the dataset does not load it

    interpolation = cv2.INTER_AREA if size < frames.shape[1] else cv2.INTER_CUBIC
    return np.stack([cv2.resize(frame, (size, size), interpolation=interpolation) for frame in frames])


class FaceFrameDataset(torch.utils.data.Dataset):
    r"""Random frames of the aligned face clips of one split, augmented, as autoencoder training items.

    Item ``(clip_index, epoch)`` holds ``frames_per_clip`` frames of one clip; which frames and their augmentation
    depend only on the seed, the epoch and the index (never on a global RNG or worker processes), so a resumed run
    draws exactly the frames of an uninterrupted one.

    Args:
        root (`str` or `os.PathLike`): Dataset folder.
        split (`str`, *optional*, defaults to `"train"`): Manifest split; `None` for all clips.
        resolution (`int`, *optional*): Output size; default the dataset's crop size.
        frames_per_clip (`int`, *optional*, defaults to 1): Frames per item.
        flip (`bool`, *optional*, defaults to `False`): Random horizontal flips.
        color_jitter (`float`, *optional*, defaults to 0.0): Brightness / contrast / saturation jitter amplitude.
        seed (`int`, *optional*, defaults to 0): Seed of the frame choice and augmentation.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        split: str | None = "train",
        resolution: int | None = None,
        frames_per_clip: int = 1,
        flip: bool = False,
        color_jitter: float = 0.0,
        seed: int = 0,
    ):
        self.root = root
        self.info = read_dataset_info(root)
        self.records = read_manifest(root, split=split)
        self.resolution = int(resolution or self.info.crop_size)
        self.frames_per_clip = int(frames_per_clip)
        self.flip = flip
        self.color_jitter = float(color_jitter)
        self.seed = int(seed)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        index, epoch = key if isinstance(key, tuple) else (key, 0)
        record = self.records[index]
        rng = np.random.default_rng([self.seed, int(epoch), int(index)])
        count = self.frames_per_clip
        picks = np.sort(rng.choice(record.num_frames, size=count, replace=record.num_frames < count))
        frames = load_clip_frames(self.root, record, int(picks[0]), int(picks[-1] - picks[0]) + 1)[picks - picks[0]]
        pixels = torch.from_numpy(_resize(frames, self.resolution)).permute(0, 3, 1, 2).float() / 255.0
        if self.flip:
            flipped = torch.from_numpy(rng.random(count) < 0.5)
            pixels = torch.where(flipped[:, None, None, None], pixels.flip(-1), pixels)
        if self.color_jitter:
            brightness, contrast, saturation = torch.from_numpy(
                rng.uniform(-self.color_jitter, self.color_jitter, (3, count, 1, 1, 1))
            ).float()
            mean = pixels.mean(dim=(1, 2, 3), keepdim=True)
            pixels = (pixels - mean) * (1 + contrast) + mean
            gray = (pixels * torch.tensor([0.299, 0.587, 0.114])[:, None, None]).sum(1, keepdim=True)
            pixels = (gray + (pixels - gray) * (1 + saturation) + brightness).clamp(0, 1)
        return {"pixel_values": pixels * 2.0 - 1.0, "clip_id": record.id}


def spread_frames(root: str | os.PathLike, records: Sequence[ClipRecord], count: int, resolution: int) -> np.ndarray:
    """uint8 ``(≤ count, S, S, 3)``: frames spread evenly over the clips and over each clip (a fixed, un-augmented
    sample for the latent statistics and validation)."""
    if not records or count < 1:
        return np.zeros((0, resolution, resolution, 3), np.uint8)
    per_clip = math.ceil(count / len(records))
    frames = []
    for record in records:
        picks = np.unique(np.linspace(0, record.num_frames - 1, min(per_clip, record.num_frames)).round().astype(int))
        frames.append(load_clip_frames(root, record)[picks])
    return _resize(np.concatenate(frames)[:count], resolution)
