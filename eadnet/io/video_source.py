"""A source video read on demand: frames by index in flat memory, with their presentation times.

Dubbing a long source must not hold the whole clip: one minute of 1080p is about 9 GB of RGB frames. A
:class:`VideoSource` knows every frame's presentation time from one pass over the container's packets (no decoding),
decodes frames only when they are asked for, and keeps a bounded cache of decoded frames (``cache_bytes``):

- frames asked for in order (dubbing) are decoded once, straight through;
- frames asked for backwards (the ping-pong loop of a source shorter than the speech) are decoded a cache-full at a
  time: seek to the key frame before the block, decode forward, serve the block from the cache in reverse;
- a variable-frame-rate source keeps its real frame times (:attr:`VideoSource.timestamps`), so that the output, at a
  constant rate, shows at each moment the source frame of that moment (:func:`schedule_by_time`).

Frames can be downscaled on the way in (``max_side``), which is how the CLI's ``--max-size`` applies to a stream.
:meth:`VideoSource.from_frames` gives the same interface over frames already in memory (ComfyUI, tests).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from eadnet.io.video import VideoError, _check_file, _describe, _frame_to_rgb, _open_video, _stream_fps

logger = logging.getLogger(__name__)

#: Bytes of decoded frames a :class:`VideoSource` keeps by default (about 60 frames of 1080p).
DEFAULT_CACHE_BYTES = 384 * 1024 * 1024


def fit_size(height: int, width: int, max_side: int | None) -> tuple[int, int]:
    """``(H, W)`` scaled down (aspect kept, even sizes for H.264) so that the longest side is at most ``max_side``."""
    if max_side is None or max(height, width) <= max_side:
        return height, width
    scale = max_side / max(height, width)
    return max(2, round(height * scale / 2) * 2), max(2, round(width * scale / 2) * 2)


class VideoSource(Sequence):
    r"""The frames of a source video by index, decoded on demand (see the module docstring).

    Use :meth:`open` for a file and :meth:`from_frames` for frames in memory. ``source[i]`` is the uint8 RGB frame
    ``(H, W, 3)`` number ``i`` in presentation order; iterating decodes straight through.

    Args:
        timestamps (`np.ndarray`): float64 ``(N,)`` presentation time of every frame in seconds, from 0.
        fps (`float`): The average frame rate (frames / duration).
        frame_size (`tuple[int, int]`): ``(H, W)`` of the frames as returned (after ``max_side``).
    """

    def __init__(self, timestamps: np.ndarray, fps: float, frame_size: tuple[int, int]):
        self.timestamps = np.asarray(timestamps, dtype=np.float64)
        self.fps = float(fps)
        self.frame_size = (int(frame_size[0]), int(frame_size[1]))
        self.path: Path | None = None
        self._frames: np.ndarray | None = None
        self._max_side: int | None = None
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._capacity = 1
        self._decoder: Iterator | None = None
        self._next_index = 0  # the index of the frame the open decoder gives next
        self._pts: np.ndarray | None = None
        self.decoded_frames = 0  # frames decoded so far (tests and benchmarks watch the cost of seeking)

    # -------------------------------------------------------------------------------------------- making one
    @classmethod
    def open(
        cls, path: str | os.PathLike, *, max_side: int | None = None, cache_bytes: int = DEFAULT_CACHE_BYTES
    ) -> VideoSource:
        """Opens a video file: reads the frame times from the packets (no decoding) and decodes one frame to check
        the file and learn the frame size.

        Args:
            path: The video file.
            max_side (`int`, *optional*): Downscale frames whose longest side is larger (aspect kept).
            cache_bytes (`int`, *optional*): Memory for decoded frames (at least two frames are kept).

        Raises:
            `FileNotFoundError`, :class:`~eadnet.io.VideoError`: a missing, damaged or frameless file.
        """
        import av  # lazy, as in eadnet.io.video

        path = _check_file(path)
        container, stream = _open_video(path)
        try:
            pts = []
            try:
                for packet in container.demux(stream):
                    if packet.size and packet.pts is not None:
                        pts.append(packet.pts)
            except av.error.FFmpegError as error:
                if not pts:
                    raise VideoError(f"cannot read video {str(path)!r} ({_describe(error)})") from error
                logger.warning(
                    "video %s is damaged after %d packets (%s); using the frames before", path, len(pts), error
                )
            rate = _stream_fps(stream)
            time_base = stream.time_base
        finally:
            container.close()
        if not pts:
            raise VideoError(f"video {str(path)!r} has no frames (or no frame times); re-encode it to MP4")
        pts_array = np.unique(np.asarray(pts, dtype=np.int64))  # presentation order; duplicates are not frames
        seconds = (pts_array - pts_array[0]).astype(np.float64) * float(time_base)
        if len(seconds) > 1:
            step = float(np.median(np.diff(seconds)))
            fps = (len(seconds)) / (seconds[-1] + step) if step > 0 else float(rate or 25.0)
        else:
            fps = float(rate) if rate else 25.0
        if rate and abs(float(rate) - fps) / float(rate) < 0.002:
            fps = float(rate)  # a constant-rate file: its exact nominal rate (29.97 = 30000/1001)
        source = cls(seconds, fps, (0, 0))
        source.path, source._max_side, source._pts = path, max_side, pts_array
        first = source._read_first()
        source.frame_size = first.shape[:2]
        source._capacity = max(2, int(cache_bytes // max(first.nbytes, 1)))
        return source

    @classmethod
    def from_frames(cls, frames, fps: float | None = None, timestamps=None) -> VideoSource:
        """The same interface over frames in memory (uint8 ``(N, H, W, 3)``): no copy is made."""
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
            raise ValueError(f"video must be frames (N, H, W, 3), got shape {frames.shape}")
        fps = float(fps) if fps else 25.0
        times = np.arange(len(frames)) / fps if timestamps is None else np.asarray(timestamps, dtype=np.float64)
        if len(times) != len(frames):
            raise ValueError(f"{len(frames)} frames but {len(times)} timestamps")
        source = cls(times, fps, frames.shape[1:3])
        source._frames = frames
        return source

    # -------------------------------------------------------------------------------------------- access
    def __len__(self) -> int:
        return len(self.timestamps)

    @property
    def array(self) -> np.ndarray | None:
        """The frames, when they are in memory (:meth:`from_frames`); `None` for a streamed file."""
        return self._frames

    @property
    def duration(self) -> float:
        """Seconds covered by the frames (the last frame lasts one average frame)."""
        return float(self.timestamps[-1] + 1.0 / self.fps) if len(self) else 0.0

    @property
    def variable_rate(self) -> bool:
        """Whether the frame intervals differ by more than 10 % from the average."""
        if len(self) < 3:
            return False
        gaps = np.diff(self.timestamps)
        return bool(np.abs(gaps - 1.0 / self.fps).max() > 0.1 / self.fps)

    def until(self, seconds: float) -> VideoSource:
        """The frames that start before ``seconds`` (at least one), as a source over the same file: a clip needs no
        more of its source than the speech lasts (a long source is not tracked to its end for a short speech)."""
        count = max(1, int(np.searchsorted(self.timestamps, float(seconds) - 1e-6, side="left")))
        if count >= len(self):
            return self
        if self._frames is not None:
            return VideoSource.from_frames(self._frames[:count], self.fps, self.timestamps[:count])
        head = VideoSource(self.timestamps[:count], self.fps, self.frame_size)
        head.path, head._max_side, head._pts, head._capacity = self.path, self._max_side, self._pts, self._capacity
        return head

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        index = int(index)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"frame {index} of a {len(self)}-frame video")
        if self._frames is not None:
            return self._frames[index]
        frame = self._cache.get(index)
        if frame is not None:
            self._cache.move_to_end(index)
            return frame
        return self._decode_to(index)

    def __iter__(self) -> Iterator[np.ndarray]:
        """Frames in order, decoded straight through (independent of the cache used by indexing)."""
        if self._frames is not None:
            yield from self._frames
            return
        count = 0
        for count, frame in enumerate(self._decode_from(0), start=1):  # noqa: B007 (count is read after the loop)
            yield frame
            if count == len(self):
                return
        if 0 < count < len(self):  # packets that do not decode (a damaged or truncated end): the frames are fewer
            logger.warning("video %s: only %d of %d frames decode; using those", self.path, count, len(self))
            self.timestamps = self.timestamps[:count]

    def close(self) -> None:
        """Closes the decoder and drops the cached frames (the source can still be read again)."""
        self._cache.clear()
        self._close_decoder()

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __del__(self):  # pragma: no cover - best effort
        with contextlib.suppress(Exception):
            self._close_decoder()

    # -------------------------------------------------------------------------------------------- decoding
    def _convert(self, frame) -> np.ndarray:
        rgb = _frame_to_rgb(frame)
        height, width = fit_size(rgb.shape[0], rgb.shape[1], self._max_side)
        if (height, width) != rgb.shape[:2]:
            rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
        return rgb

    def _read_first(self) -> np.ndarray:
        for frame in self._decode_from(0):
            self._close_decoder()
            return frame
        raise VideoError(f"video {str(self.path)!r} has no frames that decode")  # pragma: no cover

    def _close_decoder(self) -> None:
        if self._decoder is not None:
            self._decoder.close()
            self._decoder = None

    def _decode_from(self, start: int) -> Iterator[np.ndarray]:
        """Frames ``start, start + 1, …`` from a fresh decoder (seeking to the key frame before ``start``)."""
        import av

        container, stream = _open_video(self.path)
        try:
            stream.thread_type = "AUTO"
            if start > 0:
                container.seek(int(self._pts[start]), stream=stream, backward=True, any_frame=False)
            index = None
            expected = start
            for frame in container.decode(stream):
                self.decoded_frames += 1
                if frame.pts is None:  # no times to place the frame by: count from the start instead
                    if start > 0:
                        yield from self._count_from(start)
                        return
                    index = 0 if index is None else index + 1
                else:
                    index = int(np.searchsorted(self._pts, frame.pts))
                if index < start:
                    continue
                if index > expected and expected == start and start > 0:
                    # the seek landed past the frame asked for: decode from the beginning instead
                    yield from self._count_from(start)
                    return
                expected = index + 1
                yield self._convert(frame)
        except av.error.FFmpegError as error:
            raise VideoError(
                f"cannot decode video {str(self.path)!r} near frame {start} ({_describe(error)})"
            ) from error
        finally:
            container.close()

    def _count_from(self, start: int) -> Iterator[np.ndarray]:
        """Frames from ``start`` by decoding from the very beginning and counting (files without frame times)."""
        container, stream = _open_video(self.path)
        try:
            for index, frame in enumerate(container.decode(stream)):
                self.decoded_frames += 1
                if index >= start:
                    yield self._convert(frame)
        finally:
            container.close()

    def _decode_to(self, index: int) -> np.ndarray:
        """Decodes up to frame ``index`` and caches the frames on the way (see the module docstring)."""
        ahead = self._decoder is not None and self._next_index <= index < self._next_index + self._capacity
        if not ahead:
            backwards = self._decoder is not None and index < self._next_index
            start = max(0, index - self._capacity + 1) if backwards else index
            self._close_decoder()
            self._decoder = self._decode_from(start)
            self._next_index = start
        frame = None
        while self._next_index <= index:
            try:
                frame = next(self._decoder)
            except StopIteration:
                self._close_decoder()
                raise VideoError(
                    f"video {str(self.path)!r} ends before frame {index} (the file is damaged or truncated)"
                ) from None
            self._cache[self._next_index] = frame
            self._next_index += 1
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
        return frame


def ping_pong(indices: np.ndarray, length: int) -> np.ndarray:
    """Folds indices into ``[0, length)`` back and forth: 0 1 2 3 2 1 0 1 2 … (a video shorter than the audio)."""
    if length == 1:
        return np.zeros_like(indices)
    period = 2 * (length - 1)
    folded = indices % period
    return np.where(folded < length, folded, period - folded)


def schedule_by_time(num_frames: int, fps: float, timestamps: np.ndarray, source_fps: float) -> np.ndarray:
    """The source frame of every output frame by time: output frame ``i`` (at ``fps``) shows the source frame on
    screen at ``i / fps`` (the last one that started by then; variable-rate sources included); when the speech
    outlasts the source, the source plays back and forth (0 1 … N-1 N-2 … 1 0 1 …)."""
    timestamps = np.asarray(timestamps, dtype=np.float64)
    count = len(timestamps)
    times = np.arange(num_frames) / float(fps) + 1e-6
    duration = timestamps[-1] + 1.0 / float(source_fps)
    inside = times < duration
    unfolded = np.empty(num_frames, dtype=np.int64)
    unfolded[inside] = np.searchsorted(timestamps, times[inside], side="right") - 1
    # past the end: keep counting frames at the average rate, then fold (the ping-pong of a short source)
    unfolded[~inside] = count + np.floor((times[~inside] - duration) * float(source_fps)).astype(np.int64)
    return ping_pong(np.maximum(unfolded, 0), count)


__all__ = ["DEFAULT_CACHE_BYTES", "VideoSource", "fit_size", "ping_pong", "schedule_by_time"]
