"""Training windows for the EAD-Net U-Net, read from a clip dataset (`eadnet.data.format`); the trainer reads them in
the resumable order of `eadnet.data.loading`.

Each item is a window of ``num_frames`` consecutive aligned frames, a reference window from elsewhere in the same
clip (LatentSync's reference frames, https://github.com/bytedance/LatentSync/blob/main/latentsync/data/unet_dataset.py:
a different moment, so the model cannot copy the mouth), the audio tokens of the window, optionally the SyncNet mel
window, and the emotion description.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence

import numpy as np
import torch

from eadnet.data.format import (
    REFERENCE_NPY,
    ClipRecord,
    DatasetError,
    clip_dir,
    load_clip_audio,
    load_clip_features,
    load_clip_frames,
    load_clip_reference,
    read_dataset_info,
    read_manifest,
)

logger = logging.getLogger(__name__)

__all__ = ["REFERENCE_SOURCES", "UNetClipDataset", "clip_description"]

#: Where `UNetClipDataset` takes reference frames from.
REFERENCE_SOURCES = ("clip", "neutral")


def clip_description(record: ClipRecord) -> str:
    """The clip's emotion description, or the label template when only a label is known, or ``""``."""
    if record.description:
        return record.description
    if record.emotion:
        from eadnet.models.emotion_captioner import describe_label

        return describe_label(record.emotion, record.intensity or 2)
    return ""


def _to_pixels(frames: np.ndarray) -> torch.Tensor:
    """uint8 ``(F, S, S, 3)`` → float ``(3, F, S, S)`` in [-1, 1]."""
    return torch.from_numpy(frames).permute(3, 0, 1, 2).float() / 127.5 - 1.0


class UNetClipDataset(torch.utils.data.Dataset):
    r"""Windows of aligned face clips with their audio tokens and emotion description.

    Items are addressed by ``(clip_index, epoch)`` so that the random window of an item depends only on the seed,
    the epoch and the index (never on a global RNG or on worker processes): a run resumed from a checkpoint draws
    exactly the windows the uninterrupted run would have drawn.

    Args:
        root (`str` or `os.PathLike`): Dataset folder.
        num_frames (`int`, *optional*, defaults to 16): Window length ``F``.
        split (`str`, *optional*, defaults to `"train"`): Manifest split; `None` for all clips.
        slice_audio (`Callable`, *optional*): ``slice_audio(features (1, T, S, D), num_frames, start_frame, fps)
            → (1, F, N, D)`` — the audio encoder's `slice_frames`. Required unless ``with_audio=False``.
        audio_encoder (`WhisperAudioEncoder`, *optional*): Encodes the audio of clips without cached features
            (once per clip and dataset instance).
        with_audio (`bool`, *optional*, defaults to `True`): Return ``audio_embeds``.
        with_mel (`bool`, *optional*, defaults to `False`): Return the SyncNet mel window ``mel`` ``(1, 80, T)``.
        emotions (`list[str]`, *optional*): Keep only clips with these labels.
        seed (`int`, *optional*, defaults to 0): Seed of the window choice.
        reference (`str`, *optional*, defaults to `"clip"`): Where the reference frames come from: ``"clip"``
            (another window of the same clip, LatentSync's choice) or ``"neutral"`` (the clip's neutral-expression
            crops, ``reference.npy``, repeated over the window). With ``"clip"`` the reference shows the clip's own
            emotion, so a model learns to copy the expression and ignore the emotion text; ``"neutral"`` matches
            inference from a still portrait (EAD-Net's emotion comes from the description).
    """

    def __init__(
        self,
        root: str | os.PathLike,
        num_frames: int = 16,
        split: str | None = "train",
        slice_audio: Callable | None = None,
        audio_encoder=None,
        with_audio: bool = True,
        with_mel: bool = False,
        emotions: Sequence[str] | None = None,
        seed: int = 0,
        reference: str = "clip",
    ):
        if reference not in REFERENCE_SOURCES:
            raise ValueError(f"reference must be one of {REFERENCE_SOURCES}, got {reference!r}")
        self.root = root
        self.reference = reference
        self.info = read_dataset_info(root)
        self.num_frames = int(num_frames)
        records = read_manifest(root, split=split)
        if emotions:
            records = [r for r in records if r.emotion in set(emotions)]
        short = [r.id for r in records if r.num_frames < self.num_frames]
        if short:
            logger.warning("Skipping %d clip(s) shorter than %d frames: %s", len(short), self.num_frames, short[:5])
        self.records = [r for r in records if r.num_frames >= self.num_frames]
        if reference == "neutral":
            missing = [r.id for r in self.records if not (clip_dir(root, r) / REFERENCE_NPY).is_file()]
            if missing:
                raise DatasetError(
                    f"{len(missing)} clip(s) of {root} have no neutral reference crops ({REFERENCE_NPY}), e.g. "
                    f"{missing[:3]}; make them with `python scripts/make_offline_corpus.py` (synthetic corpora) or "
                    "train with data.reference=clip"
                )
        if with_audio and slice_audio is None:
            raise ValueError("slice_audio (the audio encoder's slice_frames) is required when with_audio=True")
        self.slice_audio = slice_audio
        self.audio_encoder = audio_encoder
        self.with_audio = with_audio
        self.with_mel = with_mel
        self.seed = int(seed)
        self._features: dict[str, torch.Tensor] = {}
        self._mels: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.records)

    def clip_features(self, record: ClipRecord) -> torch.Tensor:
        """The clip's cached audio features ``(T_whisper, num_states, D)`` (computed once when the dataset has none)."""
        if record.id not in self._features:
            features = load_clip_features(self.root, record)
            if features is None:
                if self.audio_encoder is None:
                    raise DatasetError(
                        f"clip {record.id!r} has no cached audio features and no audio encoder was given; rerun "
                        "`eadnet preprocess` with an audio encoder or pass audio_encoder="
                    )
                audio = load_clip_audio(self.root, record)
                features = self.audio_encoder.encode_whisper_features(audio, self.info.sample_rate)[0].cpu().float()
            self._features[record.id] = features
        return self._features[record.id]

    def _clip_mel(self, record: ClipRecord) -> np.ndarray:
        if record.id not in self._mels:
            from eadnet.models.syncnet import mel_spectrogram, mel_start, mel_window_length

            mel = np.asarray(mel_spectrogram(load_clip_audio(self.root, record)))
            # Audio a few samples short of the last frame (rounding in preprocessing): repeat the last mel step.
            needed = mel_start(record.num_frames - self.num_frames, self.info.fps) + mel_window_length(
                self.num_frames, self.info.fps
            )
            if mel.shape[1] < needed:
                mel = np.pad(mel, ((0, 0), (0, needed - mel.shape[1])), mode="edge")
            self._mels[record.id] = mel
        return self._mels[record.id]

    def _reference_frames(self, record: ClipRecord, ref_start: int, count: int) -> np.ndarray:
        if self.reference == "clip":
            return load_clip_frames(self.root, record, ref_start, count)
        crops = load_clip_reference(self.root, record)
        return crops[np.arange(count) % len(crops)]

    def window(self, index: int, epoch: int = 0) -> tuple[int, int]:
        """``(start, ref_start)`` of item ``index`` in ``epoch``."""
        record = self.records[index]
        rng = np.random.default_rng([self.seed, int(epoch), int(index)])
        last = record.num_frames - self.num_frames
        start = int(rng.integers(0, last + 1))
        ref_start = int(rng.integers(0, last + 1))
        if last > 0 and ref_start == start:
            ref_start = (start + 1 + int(rng.integers(0, last))) % (last + 1)
        return start, ref_start

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        index, epoch = key if isinstance(key, tuple) else (key, 0)
        record = self.records[index]
        start, ref_start = self.window(index, epoch)
        count = self.num_frames
        item = {
            "pixel_values": _to_pixels(load_clip_frames(self.root, record, start, count)),
            "ref_pixel_values": _to_pixels(self._reference_frames(record, ref_start, count)),
            "description": clip_description(record),
            "clip_id": record.id,
            "start": start,
        }
        if self.with_audio:
            features = self.clip_features(record)[None]
            item["audio_embeds"] = self.slice_audio(features, count, start_frame=start, fps=self.info.fps)[0]
        if self.with_mel:
            from eadnet.models.syncnet import mel_window

            item["mel"] = torch.as_tensor(
                np.asarray(mel_window(self._clip_mel(record), start, count, self.info.fps)), dtype=torch.float32
            )
        return item
