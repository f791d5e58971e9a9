"""In-sync and shifted (video, audio) windows for training a :class:`~eadnet.models.syncnet.SyncNet`.

LatentSync (https://github.com/bytedance/LatentSync, ``latentsync/data/syncnet_dataset.py``) pairs a random
16-frame window of a clip with the mel window of the same time span (label 1) or of another random window of the
same clip (label 0), half and half. Here the negative keeps the frames and takes the audio at least
``min_offset`` frames away (default 5 = 0.2 s, longer than a syllable's mouth movement), so a shift is never so
small that it still looks in sync. With ``paired=True`` every window comes twice, in sync and shifted (balanced
batches that contrast the audio alone). Every choice is drawn from a generator seeded by ``(seed, epoch, index)``:
the items, and so a resumed training run, are reproducible.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import torch
import torch.nn.functional as F

from eadnet.data.format import (
    ClipRecord,
    DatasetError,
    load_clip_audio,
    load_clip_frames,
    read_dataset_info,
    read_manifest,
)
from eadnet.models.syncnet import mel_spectrogram, mel_start, mel_window, mel_window_length

logger = logging.getLogger(__name__)

__all__ = ["SyncNetDataset"]


class SyncNetDataset(torch.utils.data.Dataset):
    r"""Labelled (frames, mel) windows of an EAD-Net clip dataset (``eadnet.data.format``).

    Item ``index`` belongs to clip ``index % num_clips`` (``(index // 2) % num_clips`` when ``paired``;
    ``samples_per_clip`` items or pairs per clip); a key
    ``(index, epoch)`` (what :class:`~eadnet.data.loading.ResumableBatchSampler` yields) draws a fresh window
    of the same clip for every epoch. An item is a dict:

    - ``frames``: float32 ``(3, F, S, S)`` full face crops in ``[-1, 1]`` (the SyncNet reads the lower half);
    - ``mel``: float32 ``(1, 80, 52)`` mel window (for ``F = 16`` at 25 fps);
    - ``label``: float32 scalar, 1 in sync, 0 shifted;
    - ``clip_id`` (`str`), ``frame_start`` and ``audio_start`` (`int`, video frames).

    Args:
        root (`str` or `os.PathLike`): Dataset folder.
        split (`str`, *optional*): Manifest split (``train``, ``val``, ``test``); `None` for every clip.
        num_frames (`int`, *optional*, defaults to 16): Frames per window ``F``.
        crop_size (`int`, *optional*): Resize the crops to this side ``S`` (default: the dataset's crop size).
        min_offset (`int`, *optional*, defaults to 5): Smallest audio shift of a negative, in frames.
        positive_fraction (`float`, *optional*, defaults to 0.5): Probability that an item is in sync.
        samples_per_clip (`int`, *optional*, defaults to 1): Items per clip and epoch.
        seed (`int`, *optional*, defaults to 0): Seed of every random choice.
        paired (`bool`, *optional*, defaults to `False`): Items ``2k`` and ``2k + 1`` show the same frames, ``2k``
            with its own audio (label 1), ``2k + 1`` with shifted audio (label 0); ``positive_fraction`` is then
            ignored and the length doubles. Batches that keep pairs together (as ``SyncNetTrainer`` does) contrast
            each negative with its own positive, which lets a small SyncNet leave the 0.69 plateau far sooner
            than LatentSync's independent 50/50 draws.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        split: str | None = None,
        num_frames: int = 16,
        crop_size: int | None = None,
        min_offset: int = 5,
        positive_fraction: float = 0.5,
        samples_per_clip: int = 1,
        seed: int = 0,
        paired: bool = False,
    ):
        if min_offset < 1:
            raise ValueError(f"min_offset must be at least one frame, got {min_offset}")
        if samples_per_clip < 1:
            raise ValueError(f"samples_per_clip must be >= 1, got {samples_per_clip}")
        self.root = root
        self.info = read_dataset_info(root)
        self.num_frames = int(num_frames)
        self.crop_size = int(crop_size or self.info.crop_size)
        self.min_offset = int(min_offset)
        self.positive_fraction = float(positive_fraction)
        self.samples_per_clip = int(samples_per_clip)
        self.seed = int(seed)
        self.paired = bool(paired)
        self.mel_length = mel_window_length(self.num_frames, self.info.fps)

        records = read_manifest(root, split)
        # A negative needs a second window `min_offset` frames away.
        self.records = [r for r in records if r.num_frames >= self.num_frames + self.min_offset]
        if len(self.records) < len(records):
            logger.warning(
                "%d of %d clips in %s (split %r) are shorter than %d frames and are skipped",
                len(records) - len(self.records),
                len(records),
                root,
                split,
                self.num_frames + self.min_offset,
            )
        if not self.records:
            raise DatasetError(
                f"no clip in {root} (split {split!r}) has the {self.num_frames + self.min_offset} frames a "
                "SyncNet window and its shifted negative need"
            )
        self._mels: dict[str, torch.Tensor] = {}
        self._last_starts: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.records) * self.samples_per_clip * (2 if self.paired else 1)

    def record(self, index: int) -> ClipRecord:
        """The clip of item ``index``."""
        sample = index // 2 if self.paired else index
        return self.records[sample % len(self.records)]

    def clip_mel(self, record: ClipRecord) -> torch.Tensor:
        """``(80, T_mel)`` mel spectrogram of a whole clip, computed once per dataset instance."""
        if record.id not in self._mels:
            if self.info.sample_rate != 16000:
                raise DatasetError(f"SyncNet mels need 16 kHz audio; {self.root} has {self.info.sample_rate} Hz")
            self._mels[record.id] = mel_spectrogram(load_clip_audio(self.root, record))
        return self._mels[record.id]

    def last_start(self, record: ClipRecord) -> int:
        """The last start frame whose video window and mel window both lie inside the clip."""
        if record.id not in self._last_starts:
            total_steps = self.clip_mel(record).shape[1]
            last = record.num_frames - self.num_frames
            while last >= 0 and mel_start(last, self.info.fps) + self.mel_length > total_steps:
                last -= 1
            self._last_starts[record.id] = last
        return self._last_starts[record.id]

    def window(self, index: int, epoch: int = 0) -> tuple[int, int, bool]:
        """``(frame_start, audio_start, in_sync)`` of item ``index`` in ``epoch``."""
        record = self.record(index)
        last = self.last_start(record)
        if last < self.min_offset:
            raise DatasetError(
                f"clip {record.id!r}: its audio covers too few frames for a window and a {self.min_offset}-frame "
                f"shift ({record.num_frames} frames, last window start {last})"
            )
        sample = index // 2 if self.paired else index
        rng = np.random.default_rng([self.seed, int(epoch), int(sample)])
        in_sync = index % 2 == 0 if self.paired else bool(rng.random() < self.positive_fraction)
        if in_sync and not self.paired:
            start = int(rng.integers(0, last + 1))
            return start, start, True
        # Starts that have a partner at least min_offset away, then a partner.
        starts = np.arange(last + 1)
        has_partner = (starts >= self.min_offset) | (starts <= last - self.min_offset)
        start = int(rng.choice(starts[has_partner]))
        partners = starts[np.abs(starts - start) >= self.min_offset]
        partner = int(rng.choice(partners))
        return (start, start, True) if in_sync else (start, partner, False)

    def _frames(self, record: ClipRecord, start: int) -> torch.Tensor:
        frames = load_clip_frames(self.root, record, start, self.num_frames)  # (F, S, S, 3) uint8
        # NumPy for the per-item conversion: torch's intra-op threads cost more than the work on small crops.
        pixels = np.ascontiguousarray(frames.transpose(3, 0, 1, 2), dtype=np.float32) / np.float32(127.5) - 1.0
        pixels = torch.from_numpy(pixels)  # (3, F, S, S)
        if pixels.shape[-1] != self.crop_size:
            pixels = (
                F.interpolate(
                    pixels.transpose(0, 1),
                    size=(self.crop_size, self.crop_size),
                    mode="bilinear",
                    antialias=True,
                    align_corners=False,
                )
                .transpose(0, 1)
                .clamp_(-1.0, 1.0)
                .contiguous()
            )
        return pixels

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        index, epoch = key if isinstance(key, tuple) else (key, 0)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} is outside the dataset (length {len(self)})")
        record = self.record(index)
        frame_start, audio_start, in_sync = self.window(index, epoch)
        mel = mel_window(self.clip_mel(record), audio_start, self.num_frames, self.info.fps)
        return {
            "frames": self._frames(record, frame_start),
            "mel": mel.float(),
            "label": torch.tensor(1.0 if in_sync else 0.0),
            "clip_id": record.id,
            "frame_start": frame_start,
            "audio_start": audio_start,
        }
