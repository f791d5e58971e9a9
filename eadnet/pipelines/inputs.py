"""Input handling shared by the engines: portraits and source frames as uint8 RGB, source videos streamed from disk
(:class:`~eadnet.io.video_source.VideoSource`), the output frame rate, and the source-frame schedule (by time; back
and forth when the speech outlasts the source)."""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import torch

from eadnet.io.image import load_image
from eadnet.io.video_source import VideoSource, ping_pong, schedule_by_time

#: Frame rate of a talking portrait (and of a source video whose rate is unknown) when none is asked for.
DEFAULT_FPS = 25.0


def mono_float(audio) -> np.ndarray:
    """A waveform ``(T,)``, ``(C, T)`` or ``(1, C, T)`` (numpy or torch, float or integer PCM) as mono float32."""
    waveform = audio.detach().cpu().float().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio)
    if waveform.ndim == 3 and waveform.shape[0] == 1:
        waveform = waveform[0]
    if np.issubdtype(waveform.dtype, np.integer):
        waveform = waveform.astype(np.float32) / float(np.iinfo(waveform.dtype).max)
    if waveform.ndim == 2:
        waveform = waveform.astype(np.float32).mean(axis=0)
    return np.ascontiguousarray(waveform, dtype=np.float32)


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


# ---------------------------------------------------------------------------------------------- source videos
def stage_progress(iterable, total: int, desc: str, unit: str, config: dict | None = None):
    """``iterable`` with a progress bar of its own for one stage (``desc``), shown as the pipeline's progress bar
    configuration says (``disable``, ``leave``, ...; diffusers' ``set_progress_bar_config``)."""
    from tqdm.auto import tqdm

    options = {key: value for key, value in (config or {}).items() if key not in ("desc", "unit", "total")}
    return tqdm(iterable, total=total, desc=desc, unit=unit, **options)


def open_source(video, video_fps: float | None = None, max_side: int | None = None) -> VideoSource:
    """A source video as a :class:`~eadnet.io.video_source.VideoSource`: a file path is opened for streaming
    (frames decoded on demand, memory flat in the length), frames in memory (array, tensor or list of images) are
    wrapped as they are, at ``video_fps`` (25 when unknown); a `VideoSource` is returned unchanged."""
    if isinstance(video, VideoSource):
        return video
    if isinstance(video, (str, os.PathLike)):
        return VideoSource.open(video, max_side=max_side)
    return VideoSource.from_frames(video_to_uint8(video), fps=video_fps)


def output_fps(settings_fps: float | None, source: VideoSource | None) -> float:
    """The output frame rate: the one asked for, else the source video's own rate, else 25 (portraits)."""
    if settings_fps:
        return float(settings_fps)
    if source is not None and source.fps > 0:
        return float(source.fps)
    return DEFAULT_FPS


def source_timeline(source: VideoSource, kept: np.ndarray, num_frames: int, fps: float) -> np.ndarray:
    """The source frame (an index into ``kept``, the frames that have a face) of every output frame, by time.

    When every frame is kept the real frame times are used (variable frame rates included); when frames without a
    face were dropped (``no_face="skip"``) the kept frames play one after the other at the source's rate."""
    if len(kept) == len(source):
        return schedule_by_time(num_frames, fps, source.timestamps, source.fps)
    return source_schedule(num_frames, fps, source.fps, len(kept))


class LazyFrames(Sequence):
    """Frames of a plan by plan index (``kept[i]`` of ``source``), read on demand; indexing with an array of
    indices stacks them."""

    def __init__(self, source: VideoSource, kept: np.ndarray):
        self.source = source
        self.kept = np.asarray(kept, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.kept)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self), *self.source.frame_size, 3)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return self.source[int(self.kept[index])]
        return np.stack([self[int(i)] for i in np.asarray(index).reshape(-1)])


class LazyCrops(Sequence):
    """Aligned face crops of a plan, made on demand from the frames and their matrices (an LRU cache keeps the
    last ``cache`` crops); :meth:`map` composes a per-crop edit (the emotion warp) applied on demand too."""

    def __init__(self, frames, matrices: np.ndarray, crop_size: int, crop_fn, edit=None, cache: int = 64):
        self.frames = frames
        self.matrices = matrices
        self.crop_size = int(crop_size)
        self._crop_fn = crop_fn
        self._edit = edit
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._capacity = int(cache)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self), self.crop_size, self.crop_size, 3)

    def __getitem__(self, index):
        if not isinstance(index, (int, np.integer)):
            return np.stack([self[int(i)] for i in np.asarray(index).reshape(-1)])
        index = int(index)
        crop = self._cache.get(index)
        if crop is None:
            crop = self._crop_fn(self.frames[index], self.matrices[index])
            if self._edit is not None:
                crop = self._edit(crop)
            self._cache[index] = crop
            if len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(index)
        return crop

    def map(self, edit) -> LazyCrops:
        """The same crops with ``edit(crop) -> crop`` applied (after any earlier edit)."""
        first = self._edit
        combined = edit if first is None else (lambda crop: edit(first(crop)))
        return LazyCrops(self.frames, self.matrices, self.crop_size, self._crop_fn, combined, self._capacity)
