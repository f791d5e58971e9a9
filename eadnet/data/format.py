"""The on-disk training dataset: aligned face clips, their 16 kHz audio, cached audio features and one manifest row
per clip.

```
DATASET/
  dataset.json                 DatasetInfo: format, version, fps, sample_rate, crop_size, mask_mode, audio encoder
  manifest.jsonl               one ClipRecord per line (JSON), appended as clips are finished
  clips/<clip id>/
    frames.mp4 | frames.npy    aligned face crops (F, S, S, 3) uint8 RGB: H.264 (compact) or raw (random access)
    audio.wav                  16 kHz mono PCM-16, exactly the clip's time span
    audio_features.safetensors optional: "features" (T_whisper, num_states, D) float16, the audio encoder's
                               `encode_whisper_features` of audio.wav (sliced per frame with `slice_frames`)
```

A clip folder is written to a temporary name and renamed into place before its manifest row is appended, so an
interrupted writer leaves either a whole clip or nothing, and a resumed writer skips the clips already listed.
LatentSync (https://github.com/bytedance/LatentSync) keeps the same three ingredients per clip (aligned video,
audio, cached Whisper features); the manifest with emotion label, intensity and description is ours.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

logger = logging.getLogger(__name__)

__all__ = [
    "DATASET_FORMAT",
    "DATASET_VERSION",
    "ClipRecord",
    "DatasetError",
    "DatasetInfo",
    "append_manifest",
    "clip_dir",
    "load_clip_audio",
    "load_clip_features",
    "load_clip_frames",
    "read_dataset_info",
    "read_manifest",
    "write_clip",
    "write_dataset_info",
]

DATASET_FORMAT = "eadnet-clips"
DATASET_VERSION = 1
FRAMES_MP4 = "frames.mp4"
FRAMES_NPY = "frames.npy"
#: Optional per clip: uint8 ``(K, S, S, 3)`` aligned crops of the same face with a neutral expression and closed mouth
#: (what a still portrait gives the pipeline at inference), used as reference frames by
#: ``UNetClipDataset(reference="neutral")`` so that the expression must come from the emotion text.
REFERENCE_NPY = "reference.npy"
AUDIO_FILE = "audio.wav"
FEATURES_FILE = "audio_features.safetensors"
MANIFEST = "manifest.jsonl"
INFO = "dataset.json"

_CLIP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


class DatasetError(ValueError):
    """A dataset folder or clip that cannot be read or written as asked."""


@dataclass
class DatasetInfo:
    """Dataset-wide facts, stored in ``dataset.json``.

    Args:
        fps (`float`, *optional*, defaults to 25): Frame rate of every clip.
        sample_rate (`int`, *optional*, defaults to 16000): Sample rate of every ``audio.wav``.
        crop_size (`int`, *optional*, defaults to 256): Side of the aligned crops.
        mask_mode (`str`, *optional*, defaults to `"lower_face"`): Regeneration mask the crops are meant for.
        audio_encoder (`dict`, *optional*): Identity of the encoder whose features are cached (e.g. its config
            name or path, ``num_states``, ``output_dim``); ``None`` when no features are cached.
        format (`str`): Always ``"eadnet-clips"``.
        version (`int`): Format version.
    """

    fps: float = 25.0
    sample_rate: int = 16000
    crop_size: int = 256
    mask_mode: str = "lower_face"
    audio_encoder: dict | None = None
    format: str = DATASET_FORMAT
    version: int = DATASET_VERSION


@dataclass
class ClipRecord:
    """One manifest row.

    Args:
        id (`str`): Unique clip id; also the clip's folder name (letters, digits, ``_ . -``).
        num_frames (`int`): Number of aligned frames.
        emotion (`str`, *optional*): MEAD label (``angry``, ``contempt``, ``disgusted``, ``fear``, ``happy``,
            ``neutral``, ``sad``, ``surprised``) or ``None`` when unknown.
        intensity (`int`, *optional*): 1–3 where known.
        description (`str`, *optional*, defaults to `""`): Emotion description from the captioner.
        speaker (`str`, *optional*): Speaker / identity id (used for held-out splits).
        source (`str`, *optional*): The raw file the clip was cut from.
        start (`float`, *optional*, defaults to 0): Start time of the clip in the source, in seconds.
        split (`str`, *optional*, defaults to `"train"`): ``train``, ``val`` or ``test``.
        extra (`dict`, *optional*): Anything else (e.g. a synthetic clip's ground-truth mouth opening).
    """

    id: str
    num_frames: int
    emotion: str | None = None
    intensity: int | None = None
    description: str = ""
    speaker: str | None = None
    source: str | None = None
    start: float = 0.0
    split: str = "train"
    extra: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, row: dict) -> ClipRecord:
        names = {f.name for f in dataclasses.fields(cls)}
        known = {k: v for k, v in row.items() if k in names}
        extra = dict(known.pop("extra", {}) or {})
        extra.update({k: v for k, v in row.items() if k not in names})
        return cls(**known, extra=extra)


def _root(root: str | os.PathLike) -> Path:
    return Path(root).expanduser()


def clip_dir(root: str | os.PathLike, clip: ClipRecord | str) -> Path:
    """Folder of a clip."""
    clip_id = clip.id if isinstance(clip, ClipRecord) else clip
    return _root(root) / "clips" / clip_id


def write_dataset_info(root: str | os.PathLike, info: DatasetInfo) -> Path:
    """Writes ``dataset.json`` (creating the folder); an existing one must agree on fps, rate, crop and mask."""
    root = _root(root)
    root.mkdir(parents=True, exist_ok=True)
    path = root / INFO
    if path.exists():
        old = read_dataset_info(root)
        for name in ("fps", "sample_rate", "crop_size", "mask_mode"):
            if getattr(old, name) != getattr(info, name):
                raise DatasetError(
                    f"{path} has {name}={getattr(old, name)!r}, not {getattr(info, name)!r}: write to a new folder "
                    "or use the same settings"
                )
    tmp = path.with_name(f".{INFO}.{secrets.token_hex(4)}")
    tmp.write_text(json.dumps(dataclasses.asdict(info), indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def read_dataset_info(root: str | os.PathLike) -> DatasetInfo:
    """Reads ``dataset.json``."""
    path = _root(root) / INFO
    if not path.is_file():
        raise DatasetError(f"{path.parent} is not an EAD-Net dataset (no {INFO}); make one with `eadnet preprocess`")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise DatasetError(f"{path} is not valid JSON: {error}") from error
    if data.get("format") != DATASET_FORMAT:
        raise DatasetError(f"{path} is not an {DATASET_FORMAT!r} dataset (format={data.get('format')!r})")
    if int(data.get("version", 0)) > DATASET_VERSION:
        raise DatasetError(f"{path} has format version {data['version']}; this eadnet reads up to {DATASET_VERSION}")
    names = {f.name for f in dataclasses.fields(DatasetInfo)}
    return DatasetInfo(**{k: v for k, v in data.items() if k in names})


def read_manifest(root: str | os.PathLike, split: str | None = None) -> list[ClipRecord]:
    """Clip records in manifest order (a later row with the same id replaces an earlier one); ``split`` filters."""
    path = _root(root) / MANIFEST
    if not path.is_file():
        return []
    records: dict[str, ClipRecord] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = ClipRecord.from_dict(json.loads(line))
            except (json.JSONDecodeError, TypeError) as error:
                # A writer killed mid-line leaves a torn last row: the clip is redone on resume.
                logger.warning("%s line %d is unreadable (%s); ignoring it", path, number, error)
                continue
            records.pop(record.id, None)
            records[record.id] = record
    rows = list(records.values())
    return [r for r in rows if r.split == split] if split is not None else rows


def _check_frames(frames: Any) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[1] != frames.shape[2]:
        raise DatasetError(f"frames must be uint8 (F, S, S, 3), got {frames.dtype} {tuple(frames.shape)}")
    if frames.shape[0] == 0:
        raise DatasetError("a clip needs at least one frame")
    return frames


def write_clip(
    root: str | os.PathLike,
    record: ClipRecord,
    frames: np.ndarray,
    audio: np.ndarray,
    features: torch.Tensor | np.ndarray | None = None,
    frames_format: str = "mp4",
    crf: int = 12,
) -> Path:
    """Writes one clip and appends its manifest row.

    Args:
        root (`str` or `os.PathLike`): Dataset folder (``dataset.json`` must exist: `write_dataset_info`).
        record ([`ClipRecord`]): Its ``num_frames`` is set from ``frames``.
        frames (`np.ndarray`): uint8 ``(F, S, S, 3)`` aligned crops, ``S`` = the dataset's ``crop_size``.
        audio (`np.ndarray`): float ``(T,)`` mono samples at the dataset's sample rate.
        features (`torch.Tensor` or `np.ndarray`, *optional*): ``(T_whisper, num_states, D)`` cached audio features.
        frames_format (`str`, *optional*, defaults to `"mp4"`): ``"mp4"`` (H.264, small) or ``"npy"`` (raw uint8,
            memory-mapped at training time: fastest for small crops).
        crf (`int`, *optional*, defaults to 12): x264 quality of ``frames.mp4`` (near-lossless by default).

    Returns:
        `Path`: the clip folder.
    """
    import soundfile

    from eadnet.io.video import write_video

    root = _root(root)
    info = read_dataset_info(root)
    if not _CLIP_ID.match(record.id):
        raise DatasetError(f"clip id {record.id!r} must be 1-200 letters, digits, '_', '.' or '-'")
    if frames_format not in ("mp4", "npy"):
        raise DatasetError(f"frames_format must be 'mp4' or 'npy', got {frames_format!r}")
    frames = _check_frames(frames)
    if frames.shape[1] != info.crop_size:
        raise DatasetError(f"frames are {frames.shape[1]} px; the dataset's crop_size is {info.crop_size}")
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1 or audio.size == 0:
        raise DatasetError(f"audio must be non-empty mono (T,), got shape {tuple(audio.shape)}")
    record = dataclasses.replace(record, num_frames=int(frames.shape[0]))

    final = clip_dir(root, record)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{record.id}.partial-{secrets.token_hex(4)}")
    tmp.mkdir()
    try:
        if frames_format == "npy":
            np.save(tmp / FRAMES_NPY, frames)
        else:
            write_video(tmp / FRAMES_MP4, frames, info.fps, crf=crf)
        soundfile.write(tmp / AUDIO_FILE, np.clip(audio, -1.0, 1.0), info.sample_rate, subtype="PCM_16")
        if features is not None:
            from safetensors.torch import save_file

            features = torch.as_tensor(features)
            if features.ndim != 3:
                raise DatasetError(f"features must be (T_whisper, num_states, D), got {tuple(features.shape)}")
            save_file({"features": features.detach().to("cpu", torch.float16).contiguous()}, str(tmp / FEATURES_FILE))
        if final.exists():
            shutil.rmtree(final)  # a clip written but never listed (the writer died before its manifest row)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    append_manifest(root, record)
    return final


def append_manifest(root: str | os.PathLike, record: ClipRecord) -> None:
    """Appends one manifest row (durably). A last row torn by a killed writer is closed first, so the new row never
    lands on its line."""
    path = _root(root) / MANIFEST
    with path.open("ab") as handle:
        if handle.tell() > 0:
            with path.open("rb") as reader:
                reader.seek(-1, os.SEEK_END)
                if reader.read(1) != b"\n":
                    handle.write(b"\n")
        handle.write((record.to_json() + "\n").encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())


def load_clip_frames(
    root: str | os.PathLike, record: ClipRecord, start: int = 0, count: int | None = None
) -> np.ndarray:
    """uint8 ``(n, S, S, 3)`` frames ``start .. start + count`` of a clip (all from ``start`` when ``count`` is None)."""
    folder = clip_dir(root, record)
    stop = record.num_frames if count is None else start + count
    if start < 0 or stop > record.num_frames or stop <= start:
        raise DatasetError(f"frames {start}..{stop} are outside clip {record.id!r} ({record.num_frames} frames)")
    npy = folder / FRAMES_NPY
    if npy.is_file():
        return np.array(np.load(npy, mmap_mode="r")[start:stop])
    mp4 = folder / FRAMES_MP4
    if not mp4.is_file():
        raise DatasetError(f"clip {record.id!r} has no {FRAMES_MP4} or {FRAMES_NPY} in {folder}")
    from eadnet.io.video import iter_video_frames

    frames = []
    for index, frame in enumerate(iter_video_frames(mp4, max_frames=stop)):
        if index >= start:
            frames.append(frame)
    if len(frames) != stop - start:
        raise DatasetError(f"{mp4} has fewer frames than its manifest row says ({record.num_frames})")
    return np.stack(frames)


def load_clip_reference(root: str | os.PathLike, record: ClipRecord) -> np.ndarray | None:
    """uint8 ``(K, S, S, 3)`` neutral reference crops of a clip (:data:`REFERENCE_NPY`), or `None` if it has none."""
    path = clip_dir(root, record) / REFERENCE_NPY
    if not path.is_file():
        return None
    frames = np.load(path)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise DatasetError(f"{path} must hold uint8 (K, S, S, 3) crops, got {frames.dtype} {frames.shape}")
    return frames


def write_clip_reference(root: str | os.PathLike, record: ClipRecord, frames: np.ndarray) -> Path:
    """Writes a clip's neutral reference crops (:data:`REFERENCE_NPY`) atomically; returns the file."""
    frames = np.asarray(frames)
    if frames.ndim == 3:
        frames = frames[None]
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise DatasetError(f"reference crops must be uint8 (K, S, S, 3), got {frames.dtype} {frames.shape}")
    path = clip_dir(root, record) / REFERENCE_NPY
    tmp = path.with_name(f".{path.name}.partial")
    with tmp.open("wb") as handle:
        np.save(handle, frames)
    tmp.replace(path)
    return path


def load_clip_audio(root: str | os.PathLike, record: ClipRecord) -> np.ndarray:
    """float32 ``(T,)`` mono samples of a clip at the dataset's sample rate."""
    import soundfile

    path = clip_dir(root, record) / AUDIO_FILE
    if not path.is_file():
        raise DatasetError(f"clip {record.id!r} has no {AUDIO_FILE} in {path.parent}")
    audio, _ = soundfile.read(path, dtype="float32", always_2d=False)
    return audio if audio.ndim == 1 else audio.mean(axis=1)


def load_clip_features(root: str | os.PathLike, record: ClipRecord) -> torch.Tensor | None:
    """Cached ``(T_whisper, num_states, D)`` float32 features, or ``None`` when the clip has none."""
    path = clip_dir(root, record) / FEATURES_FILE
    if not path.is_file():
        return None
    from safetensors.torch import load_file

    return load_file(str(path))["features"].float()
