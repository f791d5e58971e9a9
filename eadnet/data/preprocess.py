"""Preprocessing: a folder of raw talking videos → an `eadnet.data.format` training dataset.

For every video (``.mp4 .mov .mkv .avi .webm .m4v``, found recursively):

1. The sound is the video's own audio track; a video without one uses the audio file of the same name in the
   sibling ``audio/`` tree of MEAD's layout (`find_audio_file`). It is mixed to mono and resampled to 16 kHz.
2. The usable length (the shorter of video and audio, at ``fps``) is cut into clips of ``min_clip_seconds`` to
   ``max_clip_seconds`` (`plan_clips`: as few clips as possible, of equal length; a remainder too short to be a clip
   is dropped).
3. Frames are resampled to ``fps`` by timestamp (output frame ``k`` shows the source frame nearest to ``k / fps``;
   the source is taken to have a constant frame rate) and decoded twice, so that memory holds a few source frames
   and one clip of crops, never a clip of full-size frames: the first pass detects and tracks the face
   (`eadnet.face.FaceProcessor.track_frames`), the second makes the aligned crops.
4. A clip is skipped, with one log line giving the reason, when its audio is silent, a frame has no face, the face
   is smaller than ``min_face_size`` or jumps between frames (`check_face_track`), or the video ends early.
5. Kept clips get cached Whisper features (``encode_whisper_features`` of the clip's 16 kHz audio) when an audio
   encoder is given, and one emotion description: a label file's ``description``/``text``, else the emotion
   captioner's vision-language model on a few crops when one is given, else the label template.

Labels come from the path, MEAD style (`parse_source_path`): a folder (or file name) equal to one of the eight
labels, ``level_1`` … ``level_3`` for the intensity, a ``M003`` / ``W015`` speaker folder. A ``labels.jsonl`` or
``labels.csv`` in the input folder (`read_label_file`) overrides them per file.

Files are processed in parallel by ``workers`` processes (each with its own face detector and a copy of the audio
encoder). Workers write finished clips with `eadnet.data.format.write_clip` into a private staging dataset
(``OUTPUT/.staging/``); the parent process alone moves each clip folder into ``clips/`` (a rename) and then appends
its manifest row, so no two processes ever append to the manifest and a crash leaves whole clips or nothing. Clip
ids are made from the source's relative path and the clip's index (`clip_id`), so a second run skips the clips its
manifest already lists. Clip ids do not encode the clip lengths: resume with the same ``min_clip_seconds`` and
``max_clip_seconds``.

LatentSync's data pipeline (https://github.com/bytedance/LatentSync, ``preprocess/``) does the same steps with
ffmpeg subprocesses and one folder per step; this one streams through PyAV and writes each clip once.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import dataclasses
import hashlib
import json
import logging
import math
import os
import re
import shutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from eadnet.data.format import (
    ClipRecord,
    DatasetError,
    DatasetInfo,
    append_manifest,
    clip_dir,
    read_dataset_info,
    read_manifest,
    write_clip,
    write_dataset_info,
)
from eadnet.data.workers import map_in_processes
from eadnet.emotion import EMOTION_LABELS, EmotionSpec, check_intensity, normalize_label

# eadnet.face (OpenCV), eadnet.io (PIL, soundfile, soxr), PIL and the models are imported where they are used: the
# `eadnet` command imports this module on every start, for the defaults of `eadnet preprocess`.

if TYPE_CHECKING:  # pragma: no cover
    from eadnet.face import FaceDetection
    from eadnet.models.audio_encoder import WhisperAudioEncoder
    from eadnet.models.emotion_captioner import EmotionCaptioner

logger = logging.getLogger(__name__)

__all__ = [
    "AUDIO_EXTENSIONS",
    "LABEL_FILES",
    "MEAD_TEST_SPEAKERS",
    "VIDEO_EXTENSIONS",
    "PreprocessConfig",
    "PreprocessSummary",
    "SourceMetadata",
    "assign_split",
    "check_face_track",
    "clip_id",
    "describe_source",
    "find_audio_file",
    "find_videos",
    "parse_source_path",
    "plan_clips",
    "preprocess_videos",
    "read_label_file",
    "resolve_audio_encoder",
]

#: Video files looked for in the input folder (case-insensitive).
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"})
#: Separate audio files looked for next to MEAD-style videos without an audio track, in this order.
AUDIO_EXTENSIONS = (".m4a", ".wav", ".flac", ".mp3", ".aac", ".ogg")
#: MEAD's held-out test speakers.
MEAD_TEST_SPEAKERS = ("M003", "M030", "W009", "W015")
#: Per-file label overrides read from the input folder (both when both exist; the CSV's rows win).
LABEL_FILES = ("labels.jsonl", "labels.csv")
#: Default audio encoder: the Whisper of the offline demo preset (Whisper tiny.en from a Python package).
DEFAULT_AUDIO_ENCODER = "offline-demo"

SAMPLE_RATE = 16000
STAGING = ".staging"
LOCK_FILE = ".preprocess.lock"

_SPEAKER = re.compile(r"^[MW]\d{3}$")
_LEVEL = re.compile(r"^level_([123])$", re.IGNORECASE)
_LABEL_FIELDS = ("path", "emotion", "intensity", "speaker", "split", "description")
_SPLITS = ("train", "val", "test")

# Reasons, the keys of `PreprocessSummary.clips_skipped` and `PreprocessSummary.files_failed`.
NO_FACE = "no face"
SMALL_FACE = "small face"
UNSTABLE_FACE = "unstable face"
SILENT = "silent audio"
ENDED_EARLY = "video ended early"
ALIGNMENT_FAILED = "alignment failed"
UNREADABLE = "unreadable video"
NO_AUDIO = "no audio"
TOO_SHORT = "too short"
WORKER_ERROR = "error"


# ------------------------------------------------------------------------------------------------------ settings
@dataclass
class PreprocessConfig:
    """How raw videos become clips.

    Args:
        crop_size (`int`, *optional*, defaults to 256): Side of the aligned face crops.
        mask_mode (`str`, *optional*, defaults to `"lower_face"`): Regeneration mask the crops are meant for (stored
            in ``dataset.json``).
        fps (`float`, *optional*, defaults to 25): Frame rate of the clips.
        min_clip_seconds (`float`, *optional*, defaults to 5): Shortest clip; shorter videos and remainders are
            dropped (MEAD sentences last 3–5 s: use about 2 s there).
        max_clip_seconds (`float`, *optional*, defaults to 10): Longest clip.
        smoothing (`float`, *optional*, defaults to 2): Temporal smoothing of the alignment, in frames
            ([`~eadnet.face.FaceProcessor`]).
        min_face_size (`float`, *optional*, defaults to 64): Smallest accepted median face width (detector box) in
            source pixels.
        max_face_jump (`float`, *optional*, defaults to 0.3): Largest accepted movement of the face between two
            frames, in face widths; the face's width may change by at most this fraction per frame too.
        silence_threshold_db (`float`, *optional*, defaults to -60): Clips whose loudest 20 ms is below this level
            (dBFS) count as silent (`eadnet.io.is_silent`).
        frames_format (`str`, *optional*, defaults to `"mp4"`): ``"mp4"`` or ``"npy"`` (see `write_clip`).
        crf (`int`, *optional*, defaults to 12): x264 quality of ``frames.mp4``.
        val_speakers (`tuple[str]`, *optional*, defaults to `()`): Speakers whose clips go to the ``val`` split.
        test_speakers (`tuple[str]`, *optional*, defaults to MEAD's M003, M030, W009, W015): Speakers whose clips go
            to the ``test`` split.
        val_fraction (`float`, *optional*, defaults to 0): Fraction of the other source files put in ``val``,
            chosen by a hash of their relative path (stable across runs and machines).
        vlm_frames (`int`, *optional*, defaults to 4): Crops of each clip shown to the captioner's vision-language
            model, when one is given.
    """

    crop_size: int = 256
    mask_mode: str = "lower_face"
    fps: float = 25.0
    min_clip_seconds: float = 5.0
    max_clip_seconds: float = 10.0
    smoothing: float = 2.0
    min_face_size: float = 64.0
    max_face_jump: float = 0.3
    silence_threshold_db: float = -60.0
    frames_format: str = "mp4"
    crf: int = 12
    val_speakers: tuple[str, ...] = ()
    test_speakers: tuple[str, ...] = MEAD_TEST_SPEAKERS
    val_fraction: float = 0.0
    vlm_frames: int = 4

    def __post_init__(self) -> None:
        from eadnet.face import MASK_MODES

        self.val_speakers = tuple(self.val_speakers)
        self.test_speakers = tuple(self.test_speakers)
        if isinstance(self.crop_size, bool) or not isinstance(self.crop_size, int) or self.crop_size < 16:
            raise ValueError(f"crop_size must be an int >= 16, got {self.crop_size!r}")
        if self.mask_mode not in MASK_MODES:
            raise ValueError(f"mask_mode must be one of {MASK_MODES}, got {self.mask_mode!r}")
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be positive, got {self.fps!r}")
        if not 0 < self.min_clip_seconds <= self.max_clip_seconds:
            raise ValueError(
                f"need 0 < min_clip_seconds <= max_clip_seconds, got {self.min_clip_seconds} and {self.max_clip_seconds}"
            )
        if round(self.min_clip_seconds * self.fps) < 1:
            raise ValueError(f"min_clip_seconds={self.min_clip_seconds} is shorter than one frame at {self.fps} fps")
        if self.min_face_size < 0 or self.max_face_jump <= 0:
            raise ValueError("min_face_size must be >= 0 and max_face_jump > 0")
        if self.frames_format not in ("mp4", "npy"):
            raise ValueError(f"frames_format must be 'mp4' or 'npy', got {self.frames_format!r}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction!r}")
        if self.vlm_frames < 1:
            raise ValueError(f"vlm_frames must be >= 1, got {self.vlm_frames!r}")

    def dataset_info(self, audio_encoder: WhisperAudioEncoder | None) -> DatasetInfo:
        """The ``dataset.json`` of a dataset made with these settings and ``audio_encoder``."""
        return DatasetInfo(
            fps=float(self.fps),
            sample_rate=SAMPLE_RATE,
            crop_size=self.crop_size,
            mask_mode=self.mask_mode,
            audio_encoder=None if audio_encoder is None else _encoder_identity(audio_encoder),
        )


def _encoder_identity(encoder: WhisperAudioEncoder) -> dict:
    return {
        "class": type(encoder).__name__,
        "name_or_path": str(getattr(encoder.encoder.config, "_name_or_path", "") or "") or None,
        "num_states": int(encoder.num_states),
        "output_dim": int(encoder.output_dim),
        "fps": float(encoder.fps),
        "audio_feat_length": list(encoder.audio_feat_length),
    }


@dataclass
class PreprocessSummary:
    """What a `preprocess_videos` run did.

    Args:
        files (`int`): Video files found.
        files_with_clips (`int`): Files that gave at least one new clip.
        clips_written (`int`): Clips written by this run.
        clips_existing (`int`): Clips already listed in the manifest (skipped on resume).
        clips_skipped (`collections.Counter`): Clips dropped, by reason (``no face``, ``small face``, ``unstable
            face``, ``silent audio``, ``video ended early``, ``alignment failed``).
        files_failed (`collections.Counter`): Files that gave no clip at all, by reason (``unreadable video``,
            ``no audio``, ``too short``, ``error``).
    """

    files: int = 0
    files_with_clips: int = 0
    clips_written: int = 0
    clips_existing: int = 0
    clips_skipped: collections.Counter = field(default_factory=collections.Counter)
    files_failed: collections.Counter = field(default_factory=collections.Counter)

    @property
    def usable(self) -> bool:
        """Whether the dataset holds at least one clip of this input (written now or by an earlier run)."""
        return self.clips_written + self.clips_existing > 0

    def format(self) -> str:
        """A few human-readable lines."""

        def counts(counter: collections.Counter) -> str:
            return ", ".join(f"{reason} {count}" for reason, count in sorted(counter.items())) or "none"

        return "\n".join(
            [
                f"files: {self.files} ({self.files_with_clips} with new clips, {sum(self.files_failed.values())} failed)",
                f"clips written: {self.clips_written} (already in the manifest: {self.clips_existing})",
                f"clips skipped: {counts(self.clips_skipped)}",
                f"files failed: {counts(self.files_failed)}",
            ]
        )


# ------------------------------------------------------------------------------------------------ finding files
def find_videos(root: str | os.PathLike, exclude: str | os.PathLike | None = None) -> list[Path]:
    """Video files under ``root`` (recursive, sorted), skipping hidden files and folders and ``exclude``."""
    root = Path(root)
    excluded = Path(exclude).resolve() if exclude is not None else None
    found = []
    for directory, folders, files in os.walk(root):
        current = Path(directory)
        folders[:] = sorted(
            name
            for name in folders
            if not name.startswith(".") and (excluded is None or (current / name).resolve() != excluded)
        )
        found.extend(
            current / name
            for name in files
            if not name.startswith(".") and Path(name).suffix.lower() in VIDEO_EXTENSIONS
        )
    return sorted(found)


def find_audio_file(video_path: str | os.PathLike) -> Path | None:
    """The separate audio file of a MEAD-style video, or ``None``.

    MEAD keeps ``M003/video/front/angry/level_1/001.mp4`` and its sound ``M003/audio/angry/level_1/001.m4a``: the
    last ``video`` folder of the path is replaced by ``audio``, the folder right after it (the camera angle) is
    dropped, and the file name is tried with each of `AUDIO_EXTENSIONS`. The same place without dropping a folder
    is tried too.
    """
    parts = Path(video_path).parts
    folders = parts[:-1]
    if "video" not in folders:
        return None
    index = len(folders) - 1 - folders[::-1].index("video")
    base = Path(*parts[:index], "audio")
    rest = parts[index + 1 : -1]
    stem = Path(parts[-1]).stem
    for candidate_dir in (base.joinpath(*rest[1:]), base.joinpath(*rest)):
        for extension in AUDIO_EXTENSIONS:
            candidate = candidate_dir / (stem + extension)
            if candidate.is_file():
                return candidate
    return None


# ------------------------------------------------------------------------------------------------------ labels
@dataclass
class SourceMetadata:
    """Labels of one source file.

    Args:
        path (`str`): Path relative to the input folder, with ``/``.
        emotion (`str`, *optional*): MEAD label.
        intensity (`int`, *optional*): 1–3.
        speaker (`str`, *optional*): Speaker id.
        split (`str`, *optional*): Split forced by a label file.
        description (`str`, *optional*): Description given by a label file.
        extra (`dict`): Other label-file fields.
    """

    path: str
    emotion: str | None = None
    intensity: int | None = None
    speaker: str | None = None
    split: str | None = None
    description: str | None = None
    extra: dict = field(default_factory=dict)


def parse_source_path(relative_path: str | os.PathLike) -> dict:
    """Emotion, intensity and speaker from a MEAD-style relative path.

    The emotion is the last path component (folders, then the file name without extension) equal to one of the eight
    MEAD labels (any case); the intensity comes from a ``level_1`` … ``level_3`` folder; the speaker is a component
    like ``M003`` or ``W015``, else the top-level folder, else (a file at the top) the file name.

    Returns:
        `dict`: ``{"emotion": str | None, "intensity": int | None, "speaker": str}``.
    """
    path = Path(relative_path)
    components = [*path.parts[:-1], path.stem]
    emotion = intensity = speaker = None
    for component in components:
        if component.lower() in EMOTION_LABELS:
            emotion = component.lower()
        level = _LEVEL.match(component)
        if level:
            intensity = int(level.group(1))
        if speaker is None and _SPEAKER.match(component):
            speaker = component
    if speaker is None:
        speaker = path.parts[0] if len(path.parts) > 1 else path.stem
    return {"emotion": emotion, "intensity": intensity, "speaker": speaker}


def _relative_key(root: Path, path: str) -> str:
    candidate = Path(path)
    if candidate.is_absolute():
        with contextlib.suppress(ValueError):
            candidate = candidate.resolve().relative_to(root.resolve())
    return candidate.as_posix()


def _clean_label_row(row: dict, where: str) -> dict:
    row = {key: value for key, value in row.items() if value is not None and value != ""}
    cleaned: dict[str, Any] = {"extra": {k: v for k, v in row.items() if k not in _LABEL_FIELDS}}
    if "emotion" in row:
        try:
            cleaned["emotion"] = normalize_label(str(row["emotion"]))
        except ValueError:
            logger.warning("%s: emotion %r is not a MEAD label; ignoring it", where, row["emotion"])
    if "intensity" in row:
        try:
            cleaned["intensity"] = check_intensity(int(row["intensity"]))
        except (TypeError, ValueError):
            logger.warning("%s: intensity %r is not 1, 2 or 3; ignoring it", where, row["intensity"])
    if "split" in row:
        if row["split"] in _SPLITS:
            cleaned["split"] = row["split"]
        else:
            logger.warning("%s: split %r is not one of %s; ignoring it", where, row["split"], _SPLITS)
    for name in ("speaker", "description"):
        if name in row:
            cleaned[name] = str(row[name])
    return cleaned


def read_label_file(root: str | os.PathLike) -> dict[str, dict]:
    """Per-file label overrides from ``labels.jsonl`` and/or ``labels.csv`` in ``root``.

    Each row names a video by ``path`` (relative to ``root``, or absolute inside it) and may set ``emotion`` (a MEAD
    label or alias), ``intensity`` (1–3), ``speaker``, ``split`` (``train``/``val``/``test``) and ``description`` (a free-text emotion description, used as the
    clip's description). Any other field — e.g. the spoken ``text`` that `eadnet.data.synthetic` writes — is kept in
    ``ClipRecord.extra``.

    Returns:
        `dict[str, dict]`: cleaned rows keyed by relative path (``/``-separated); ``{}`` without a label file.

    Raises:
        `ValueError`: a row without ``path`` or a line that is not a JSON object.
    """
    root = Path(root)
    rows: dict[str, dict] = {}
    jsonl, csv_file = (root / name for name in LABEL_FILES)
    if jsonl.is_file():
        with jsonl.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                where = f"{jsonl}:{number}"
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise ValueError(f"{where} is not valid JSON: {error}") from error
                if not isinstance(row, dict) or not row.get("path"):
                    raise ValueError(f"{where} must be a JSON object with a 'path'")
                rows[_relative_key(root, str(row["path"]))] = _clean_label_row(row, where)
    if csv_file.is_file():
        with csv_file.open(encoding="utf-8", newline="") as handle:
            for number, row in enumerate(csv.DictReader(handle), 2):
                where = f"{csv_file}:{number}"
                if not row.get("path"):
                    raise ValueError(f"{where} has no 'path' (the first line must name the columns)")
                rows[_relative_key(root, row["path"])] = _clean_label_row(row, where)
    return rows


def describe_source(relative_path: str, labels: dict[str, dict] | None = None) -> SourceMetadata:
    """Labels of a source file: `parse_source_path`, overridden by its `read_label_file` row."""
    parsed = parse_source_path(relative_path)
    row = (labels or {}).get(relative_path, {})
    description = row.get("description")
    return SourceMetadata(
        path=relative_path,
        emotion=row.get("emotion", parsed["emotion"]),
        intensity=row.get("intensity", parsed["intensity"]),
        speaker=row.get("speaker", parsed["speaker"]),
        split=row.get("split"),
        description=" ".join(description.split()) if description else None,
        extra=dict(row.get("extra", {})),
    )


def _hash_fraction(text: str) -> float:
    return int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:8], "big") / 2.0**64


def assign_split(source: SourceMetadata, config: PreprocessConfig) -> str:
    """``train``, ``val`` or ``test``: a label file's split, else the speaker lists, else ``val_fraction`` by a hash of
    the relative path."""
    if source.split is not None:
        return source.split
    speaker = (source.speaker or "").casefold()
    if speaker in {s.casefold() for s in config.test_speakers}:
        return "test"
    if speaker in {s.casefold() for s in config.val_speakers}:
        return "val"
    if config.val_fraction > 0 and _hash_fraction(source.path) < config.val_fraction:
        return "val"
    return "train"


def clip_id(relative_path: str, index: int) -> str:
    """Deterministic clip id: a readable slug of the relative path, a short hash of it and the clip index."""
    stem = relative_path.rsplit(".", 1)[0] if "." in Path(relative_path).name else relative_path
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem.replace("/", "_"))[-120:].strip("._-") or "clip"
    digest = hashlib.sha1(relative_path.encode("utf-8")).hexdigest()[:8]
    return f"{slug}-{digest}-{index:03d}"


# ---------------------------------------------------------------------------------------------------- clips
def plan_clips(num_frames: int, fps: float, min_seconds: float, max_seconds: float) -> list[tuple[int, int]]:
    """Where to cut ``num_frames`` frames into clips of ``min_seconds`` to ``max_seconds``.

    As few clips as the maximum length allows, all of one length (``num_frames // n``; the < ``n`` frames left over
    end the last one): 12 s with 5–10 s clips gives two clips of 6 s. When equal clips would be shorter than the
    minimum (22 s with 8–10 s clips), clips of the maximum length are cut and the remainder is dropped (two of
    10 s). Sources shorter than the minimum give no clip.

    Returns:
        `list[tuple[int, int]]`: ``(start_frame, num_frames)`` per clip.
    """
    min_frames = max(1, math.ceil(min_seconds * fps - 1e-6))
    max_frames = max(min_frames, math.floor(max_seconds * fps + 1e-6))
    if num_frames < min_frames:
        return []
    count = math.ceil(num_frames / max_frames)
    length = num_frames // count
    if length < min_frames:
        count, length = num_frames // max_frames, max_frames
    return [(index * length, length) for index in range(count)]


def check_face_track(
    detections: Sequence[FaceDetection], min_face_size: float, max_jump: float
) -> tuple[str, str] | None:
    """Whether the raw detections of a clip show one stable, large-enough face.

    Args:
        detections (`list[FaceDetection]`): One per frame (none missing).
        min_face_size (`float`): Smallest accepted median box width, in pixels.
        max_jump (`float`): Largest accepted frame-to-frame movement of the five alignment points' centre, in face
            widths, and largest relative change of the box width.

    Returns:
        `tuple[str, str]` or `None`: ``(reason, message)`` when the clip should be dropped.
    """
    from eadnet.face import landmarks_to_points5

    widths = np.array([max(d.width, 1e-6) for d in detections])
    median = float(np.median(widths))
    if median < min_face_size:
        return SMALL_FACE, f"the face is {median:.0f} px wide (median), smaller than {min_face_size:g} px"
    if len(detections) < 2:
        return None
    centres = np.stack([landmarks_to_points5(np.asarray(d.landmarks)).mean(axis=0) for d in detections])
    steps = np.linalg.norm(np.diff(centres, axis=0), axis=1) / ((widths[1:] + widths[:-1]) / 2)
    frame = int(np.argmax(steps))
    if steps[frame] > max_jump:
        return UNSTABLE_FACE, (
            f"the face jumps by {steps[frame]:.2f} face widths between frames {frame} and {frame + 1} "
            f"(at most {max_jump:g})"
        )
    ratios = np.abs(np.log(widths[1:] / widths[:-1]))
    frame = int(np.argmax(ratios))
    if ratios[frame] > math.log1p(max_jump):
        return UNSTABLE_FACE, (
            f"the face size jumps from {widths[frame]:.0f} to {widths[frame + 1]:.0f} px between frames {frame} and "
            f"{frame + 1}"
        )
    return None


def _frame_ratio(source_fps: float, fps: float) -> Fraction:
    """Source frames per output frame, exactly."""
    return Fraction(source_fps).limit_denominator(100_000) / Fraction(fps).limit_denominator(100_000)


def _resampled_frames(path: Path, source_fps: float, fps: float) -> Iterator[np.ndarray]:
    """Frames at ``fps``: output frame ``k`` is the source frame nearest to time ``k / fps`` (constant source rate)."""
    from eadnet.io import iter_video_frames

    ratio = _frame_ratio(source_fps, fps)
    half = Fraction(1, 2)
    k = 0
    for index, frame in enumerate(iter_video_frames(path)):
        while math.floor(k * ratio + half) == index:
            yield frame
            k += 1


def _num_output_frames(num_source_frames: int, source_fps: float, fps: float) -> int:
    """How many frames `_resampled_frames` gives for ``num_source_frames`` source frames."""
    return max(0, math.ceil((num_source_frames - Fraction(1, 2)) / _frame_ratio(source_fps, fps)))


class _FrameStream:
    """One pass over a video's resampled frames, taken clip by clip."""

    def __init__(self, frames: Iterator[np.ndarray]):
        self._frames = frames
        self.position = 0
        self.exhausted = False

    def _next(self) -> np.ndarray | None:
        if not self.exhausted:
            try:
                frame = next(self._frames)
            except StopIteration:
                self.exhausted = True
            else:
                self.position += 1
                return frame
        return None

    def skip_to(self, index: int) -> None:
        while self.position < index and self._next() is not None:
            pass

    def take(self, count: int) -> Iterator[np.ndarray]:
        """The next ``count`` frames (fewer when the video ends)."""
        stop = self.position + count
        while self.position < stop:
            frame = self._next()
            if frame is None:
                return
            yield frame


class _RecordingDetector:
    """A face detector that keeps the raw detections of the last clip, so that the stability checks see what
    `FaceProcessor.track_frames` aligned to without detecting twice. The MediaPipe detector is made on first use."""

    def __init__(self):
        self._detector = None
        self.last: list = []

    @property
    def detector(self):
        if self._detector is None:
            from eadnet.face import MediaPipeFaceDetector

            self._detector = MediaPipeFaceDetector()
        return self._detector

    def detect(self, image: np.ndarray):
        return self.detector.detect(image)

    def detect_video(self, frames: Iterable[np.ndarray]) -> list:
        self.last = []
        self.last = list(self.detector.detect_video(frames))
        return self.last

    def close(self) -> None:
        if self._detector is not None:
            self._detector.close()


# ------------------------------------------------------------------------------------------------ per-file work
@dataclass
class _Task:
    path: Path
    source: SourceMetadata
    split: str
    done: frozenset[str]
    staging: Path


@dataclass
class _Clip:
    index: int
    id: str
    start: int
    length: int
    audio: np.ndarray
    matrices: np.ndarray | None = None


@dataclass
class _StagedClip:
    record: ClipRecord
    folder: Path
    reference: list[np.ndarray] | None = None


@dataclass
class _FileResult:
    relative_path: str
    staging: Path
    clips: list[_StagedClip] = field(default_factory=list)
    existing: int = 0
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (clip id, reason, message)
    failure: tuple[str, str] | None = None  # (reason, message)


class _FileFailed(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class _FileProcessor:
    """Turns one source file into clips in its staging dataset; one per process (it owns a face detector)."""

    def __init__(
        self,
        config: PreprocessConfig,
        info: DatasetInfo,
        audio_encoder: WhisperAudioEncoder | None,
        with_reference: bool,
    ):
        from eadnet.face import FaceProcessor

        self.config = config
        self.info = info
        self.audio_encoder = audio_encoder
        self.with_reference = with_reference
        self.detector = _RecordingDetector()
        self.faces = FaceProcessor(
            detector=self.detector, crop_size=config.crop_size, mask_mode=config.mask_mode, smoothing=config.smoothing
        )

    def close(self) -> None:
        self.faces.close()

    def process(self, task: _Task) -> _FileResult:
        result = _FileResult(task.source.path, task.staging)
        try:
            result.clips = self._process(task, result)
        except _FileFailed as failure:
            result.failure = (failure.reason, str(failure))
        except Exception as error:  # one bad file must not end a run over thousands
            logger.debug("unexpected error on %s", task.path, exc_info=True)
            result.failure = (WORKER_ERROR, f"{type(error).__name__}: {error}")
        if result.failure is not None:
            shutil.rmtree(task.staging, ignore_errors=True)
            result.clips = []
        return result

    def _load_audio(self, path: Path, has_track: bool) -> tuple[np.ndarray, Path | None]:
        """16 kHz mono sound of a video (its own track, else its MEAD audio file) and the audio file used."""
        from eadnet.io import AudioError, load_audio, to_mono_16k

        problem = "it has no audio track"
        if has_track:
            try:
                waveform, rate = load_audio(path)
                return to_mono_16k(waveform, rate), None
            except AudioError as error:
                problem = f"its audio track cannot be used ({error})"
        separate = find_audio_file(path)
        if separate is None:
            raise _FileFailed(NO_AUDIO, f"{problem} and there is no audio file for it in a sibling audio/ folder")
        try:
            waveform, rate = load_audio(separate)
        except (AudioError, OSError) as error:
            raise _FileFailed(NO_AUDIO, f"{problem} and its audio file cannot be used: {error}") from error
        return to_mono_16k(waveform, rate), separate

    def _process(self, task: _Task, result: _FileResult) -> list[_StagedClip]:
        from eadnet.io import VideoError, is_silent, probe_video

        config = self.config
        try:
            video = probe_video(task.path)
        except (VideoError, OSError) as error:
            raise _FileFailed(UNREADABLE, str(error)) from error
        if video.fps <= 0:
            raise _FileFailed(UNREADABLE, "the video has no frame rate")
        audio, audio_file = self._load_audio(task.path, video.has_audio)

        samples_per_frame = Fraction(SAMPLE_RATE) / Fraction(config.fps).limit_denominator(100_000)
        num_frames = min(
            _num_output_frames(video.num_frames, video.fps, config.fps), math.floor(len(audio) / samples_per_frame)
        )
        plan = plan_clips(num_frames, config.fps, config.min_clip_seconds, config.max_clip_seconds)
        if not plan:
            message = (
                f"its {num_frames / config.fps:.2f} s of video with sound are shorter than a clip "
                f"({config.min_clip_seconds:g} s)"
            )
            video_seconds = video.num_frames / video.fps
            if len(audio) / SAMPLE_RATE < video_seconds - 1.0:
                message += f"; the sound ends after {len(audio) / SAMPLE_RATE:.2f} s of {video_seconds:.2f} s of video"
            raise _FileFailed(TOO_SHORT, message)
        todo = []
        for index, (start, length) in enumerate(plan):
            identifier = clip_id(task.source.path, index)
            if identifier in task.done:
                result.existing += 1
                continue
            first = round(start * samples_per_frame)
            clip = _Clip(index, identifier, start, length, audio[first : first + round(length * samples_per_frame)])
            if is_silent(clip.audio, config.silence_threshold_db, sample_rate=SAMPLE_RATE):
                result.skipped.append((identifier, SILENT, f"its audio is below {config.silence_threshold_db:g} dBFS"))
                continue
            todo.append(clip)
        if not todo:
            return []
        try:
            accepted = self._track(task.path, video.fps, todo, result)
            return self._write(task, video.fps, accepted, audio_file) if accepted else []
        except VideoError as error:
            raise _FileFailed(UNREADABLE, str(error)) from error

    def _track(self, path: Path, source_fps: float, clips: list[_Clip], result: _FileResult) -> list[_Clip]:
        """First pass: the face track of each clip; returns the clips that pass, with their frame → crop matrices."""
        from eadnet.face import NoFaceError

        stream = _FrameStream(_resampled_frames(path, source_fps, self.config.fps))
        accepted = []
        for clip in clips:
            stream.skip_to(clip.start)
            reason = message = None
            try:
                clip.matrices, _, _ = self.faces.track_frames(stream.take(clip.length), no_face="error")
            except NoFaceError:
                missing = [i for i, d in enumerate(self.detector.last) if d is None]
                reason, message = NO_FACE, f"no face in {len(missing)} of {len(self.detector.last)} frames"
                if 0 < len(missing) < len(self.detector.last):
                    message += f" (the first is frame {missing[0]})"
            except ValueError as error:  # e.g. the frame size changes
                reason, message = ALIGNMENT_FAILED, str(error)
            if stream.exhausted and stream.position < clip.start + clip.length:
                reason = ENDED_EARLY
                message = f"the video has {max(0, stream.position - clip.start)} of the clip's {clip.length} frames"
            elif reason is None:
                checked = check_face_track(self.detector.last, self.config.min_face_size, self.config.max_face_jump)
                if checked is not None:
                    reason, message = checked
            if reason is not None:
                result.skipped.append((clip.id, reason, message))
                continue
            accepted.append(clip)
        return accepted

    def _write(self, task: _Task, source_fps: float, clips: list[_Clip], audio_file: Path | None) -> list[_StagedClip]:
        """Second pass: the crops of the accepted clips, written with their audio and features to the staging
        dataset."""
        from eadnet.io import VideoError
        from eadnet.models.emotion_captioner import describe_label, sample_frame_indices

        config, source = self.config, task.source
        description = source.description
        if description is None and source.emotion is not None:
            description = describe_label(source.emotion, source.intensity or 2)
        extra = dict(source.extra)
        if audio_file is not None:
            extra["audio_file"] = audio_file.name
        shutil.rmtree(task.staging, ignore_errors=True)
        write_dataset_info(task.staging, self.info)
        stream = _FrameStream(_resampled_frames(task.path, source_fps, config.fps))
        staged = []
        for clip in clips:
            stream.skip_to(clip.start)
            crops = np.empty((clip.length, config.crop_size, config.crop_size, 3), dtype=np.uint8)
            count = 0
            for count, (frame, matrix) in enumerate(zip(stream.take(clip.length), clip.matrices, strict=False), 1):
                crops[count - 1] = self.faces.crop_frame(frame, matrix)
            if count < clip.length:  # the first pass read these frames: only a file changed meanwhile gets here
                raise VideoError(f"{task.path} gave {count} of {clip.length} frames on the second read")
            features = None
            if self.audio_encoder is not None:
                features = self.audio_encoder.encode_whisper_features(clip.audio, SAMPLE_RATE)[0]
            record = ClipRecord(
                id=clip.id,
                num_frames=clip.length,
                emotion=source.emotion,
                intensity=source.intensity,
                description=description or "",
                speaker=source.speaker,
                source=source.path,
                start=clip.start / config.fps,
                split=task.split,
                extra=extra,
            )
            folder = write_clip(
                task.staging, record, crops, clip.audio, features, frames_format=config.frames_format, crf=config.crf
            )
            reference = None
            if self.with_reference and source.description is None:
                reference = [crops[i].copy() for i in sample_frame_indices(clip.length, config.vlm_frames)]
            staged.append(_StagedClip(record, folder, reference))
        return staged


def _worker_processor(
    config: PreprocessConfig, info: DatasetInfo, audio_encoder: Any, with_reference: bool, threads: int
) -> _FileProcessor:
    """A worker process's own `_FileProcessor` (face detector, audio encoder copy), torch held to its cores."""
    torch.set_num_threads(threads)
    return _FileProcessor(config, info, audio_encoder, with_reference)


# ----------------------------------------------------------------------------------------------------- the run
def resolve_audio_encoder(spec: str | os.PathLike = DEFAULT_AUDIO_ENCODER) -> WhisperAudioEncoder:
    """Loads the audio encoder whose features are cached: a local folder (`WhisperAudioEncoder.from_pretrained`),
    the name of a preset (its ``audio_encoder`` component, found as ``eadnet generate`` finds it: the offline demo's
    comes from a Python package) or a Hugging Face Hub id of a Whisper model."""
    from eadnet.hub import list_presets, resolve_component
    from eadnet.hub.loading import load_audio_encoder
    from eadnet.models.audio_encoder import WhisperAudioEncoder

    if Path(spec).expanduser().exists():
        return WhisperAudioEncoder.from_pretrained(Path(spec).expanduser())
    if str(spec) in list_presets():
        return load_audio_encoder(str(spec), resolve_component(str(spec), "audio_encoder"))
    return WhisperAudioEncoder.from_pretrained(str(spec))


@contextlib.contextmanager
def _exclusive(output_dir: Path) -> Iterator[None]:
    """Holds a lock on the output folder, so that two runs never write one dataset (POSIX; no lock elsewhere)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with (output_dir / LOCK_FILE).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"another `eadnet preprocess` is writing to {output_dir}; wait for it to end") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _prepare_output(output_dir: Path, info: DatasetInfo) -> set[str]:
    """Writes ``dataset.json`` (checking an existing dataset agrees) and returns the ids already in the manifest."""
    done = {record.id for record in read_manifest(output_dir)}
    if (output_dir / "dataset.json").is_file() and done:
        old = read_dataset_info(output_dir).audio_encoder
        new = info.audio_encoder
        shape = ("num_states", "output_dim")
        if (old is None) != (new is None) or (old and new and any(old.get(k) != new.get(k) for k in shape)):
            raise DatasetError(
                f"{output_dir} holds clips with audio features {'of ' + str(old) if old else 'none'}; this run would "
                f"cache {'features of ' + str(new) if new else 'none'}: use the same audio encoder setting or a new "
                "output folder"
            )
        if old is not None:
            info = dataclasses.replace(info, audio_encoder=old)
    write_dataset_info(output_dir, info)
    return done


def _commit(output_dir: Path, staged: _StagedClip, captioner: EmotionCaptioner | None) -> ClipRecord:
    """Moves a staged clip folder into the dataset and appends its manifest row (the parent process only)."""
    record = staged.record
    if captioner is not None and staged.reference is not None:
        from PIL import Image

        try:
            reference = [Image.fromarray(frame) for frame in staged.reference]
            record = dataclasses.replace(record, description=captioner.caption(EmotionSpec(reference=reference)))
        except (RuntimeError, ValueError) as error:
            logger.warning(
                "%s: the captioner failed (%s); keeping the description %r", record.id, error, record.description
            )
    final = clip_dir(output_dir, record)
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        shutil.rmtree(final)  # written by a run that died before its manifest row
    os.replace(staged.folder, final)
    append_manifest(output_dir, record)
    return record


def preprocess_videos(
    input_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    config: PreprocessConfig | None = None,
    *,
    audio_encoder: WhisperAudioEncoder | None = None,
    captioner: EmotionCaptioner | None = None,
    workers: int = 1,
) -> PreprocessSummary:
    """Turns a folder of raw talking videos into a training dataset (see the module docstring for the steps).

    Every dropped clip and every file that gives no clip is logged (a warning with the reason); a rerun into the
    same ``output_dir`` skips the clips its manifest lists.

    Args:
        input_dir (`str` or `os.PathLike`): Folder searched recursively for videos (and ``labels.jsonl`` /
            ``labels.csv``).
        output_dir (`str` or `os.PathLike`): Dataset folder (created; may be inside ``input_dir``).
        config ([`PreprocessConfig`], *optional*): Settings; defaults to `PreprocessConfig()`.
        audio_encoder ([`~eadnet.models.audio_encoder.WhisperAudioEncoder`], *optional*): Caches
            ``encode_whisper_features`` of each clip's audio; no features without it. With ``workers > 1`` each
            worker gets a copy (keep it on the CPU).
        captioner ([`~eadnet.models.emotion_captioner.EmotionCaptioner`], *optional*): A captioner with a
            vision-language model, which describes ``config.vlm_frames`` crops of each clip (in this process) instead
            of the label template; a label file's description still wins.
        workers (`int`, *optional*, defaults to 1): Processes working on files in parallel; 1 works in this process.
            Worker processes are spawned, so a script calling this with ``workers > 1`` must do so under
            ``if __name__ == "__main__":``.

    Returns:
        [`PreprocessSummary`].

    Raises:
        `FileNotFoundError`: ``input_dir`` is not a folder.
        `DatasetError`: ``output_dir`` holds a dataset made with other settings.
        `RuntimeError`: another run is writing to ``output_dir``, or a worker process died.
    """
    config = config or PreprocessConfig()
    input_dir, output_dir = Path(input_dir).expanduser(), Path(output_dir).expanduser()
    if not input_dir.is_dir():
        raise FileNotFoundError(f"input folder not found: {input_dir}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int, got {workers!r}")
    with_reference = captioner is not None and captioner.has_vlm
    if captioner is not None and not captioner.has_vlm:
        logger.warning("the captioner has no vision-language model; clips are described by their label")
    if audio_encoder is not None and float(audio_encoder.fps) != float(config.fps):
        logger.warning("the audio encoder is set up for %g fps, the clips are %g fps", audio_encoder.fps, config.fps)

    info = config.dataset_info(audio_encoder)
    labels = read_label_file(input_dir)
    videos = find_videos(input_dir, exclude=output_dir)
    summary = PreprocessSummary(files=len(videos))
    output_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(output_dir):
        done = _prepare_output(output_dir, info)
        staging_root = output_dir / STAGING
        shutil.rmtree(staging_root, ignore_errors=True)  # left by a run that was killed
        tasks = []
        for path in videos:
            relative = path.relative_to(input_dir).as_posix()
            source = describe_source(relative, labels)
            prefix = clip_id(relative, 0)[:-3]
            tasks.append(
                _Task(
                    path=path,
                    source=source,
                    split=assign_split(source, config),
                    done=frozenset(i for i in done if i.startswith(prefix)),
                    staging=staging_root / hashlib.sha1(relative.encode("utf-8")).hexdigest()[:16],
                )
            )
        logger.info("%d video files in %s; %d clips already in %s", len(videos), input_dir, len(done), output_dir)
        try:
            for number, result in enumerate(_results(tasks, config, info, audio_encoder, with_reference, workers), 1):
                _collect(output_dir, result, captioner, summary, f"[{number}/{len(tasks)}]")
        finally:
            shutil.rmtree(staging_root, ignore_errors=True)
    return summary


def _results(
    tasks: list[_Task],
    config: PreprocessConfig,
    info: DatasetInfo,
    audio_encoder: Any,
    with_reference: bool,
    workers: int,
) -> Iterator[_FileResult]:
    """Results of the tasks, in task order (so that the manifest order does not depend on ``workers``)."""
    if workers == 1 or len(tasks) <= 1:
        processor = _FileProcessor(config, info, audio_encoder, with_reference)
        try:
            for task in tasks:
                yield processor.process(task)
        finally:
            processor.close()
        return
    yield from map_in_processes(
        _FileProcessor.process,
        tasks,
        workers,
        setup=_worker_processor,
        setup_args=(config, info, audio_encoder, with_reference),
        died_message="a preprocessing worker process died (out of memory, or a crash in a native library); the "
        "clips finished so far are kept: rerun to resume, perhaps with fewer --workers",
    )


def _collect(
    output_dir: Path,
    result: _FileResult,
    captioner: EmotionCaptioner | None,
    summary: PreprocessSummary,
    progress: str,
) -> None:
    """Commits a file's clips and logs and counts what happened to it."""
    try:
        for staged in result.clips:
            _commit(output_dir, staged, captioner)
            summary.clips_written += 1
    finally:
        shutil.rmtree(result.staging, ignore_errors=True)
    summary.clips_existing += result.existing
    for identifier, reason, message in result.skipped:
        summary.clips_skipped[reason] += 1
        logger.warning("%s: skipping clip %s (%s): %s", result.relative_path, identifier, reason, message)
    if result.failure is not None:
        reason, message = result.failure
        summary.files_failed[reason] += 1
        logger.warning("%s: skipping the file (%s): %s", result.relative_path, reason, message)
    elif result.clips:
        summary.files_with_clips += 1
    logger.info(
        "%s %s: %d clips written, %d already there, %d skipped",
        progress,
        result.relative_path,
        len(result.clips),
        result.existing,
        len(result.skipped),
    )
