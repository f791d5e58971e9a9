"""Reading and writing video with PyAV: RGB frames in, H.264 + AAC MP4 out, written atomically.

Reading returns uint8 RGB frames `(H, W, 3)` with the container's display rotation applied (phone videos are stored
sideways with a rotation tag), converted from YUV with the colour matrix and range the stream is tagged with.

Writing (`VideoWriter`, `write_video`) streams frames through libx264 (yuv420p, BT.709 colour tags, CRF rate
control) into a hidden temporary file next to the output. On close, the video is remuxed together with the audio
(AAC, trimmed or zero-padded to the length of the video) into a second temporary file with the index at the front
(`+faststart`, so browsers start playing before the download ends), which is then renamed onto the output path. If
anything fails, both temporary files are removed and an existing file at the output path is left as it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from eadnet.io.atomic import _unlink_quietly, atomic_output, check_output_path, partial_path
from eadnet.io.audio import _as_float_numpy, load_audio

logger = logging.getLogger(__name__)

__all__ = ["VideoError", "VideoInfo", "VideoWriter", "iter_video_frames", "probe_video", "read_video", "write_video"]

#: Output containers `VideoWriter` can write (H.264 video + AAC audio).
WRITABLE_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".mkv"})

#: Sample rates PyAV's (FFmpeg's native) AAC encoder accepts; audio at other rates is resampled to 48 kHz.
AAC_SAMPLE_RATES = frozenset({96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000})


class VideoError(ValueError):
    """Video input that cannot be used, or a video that cannot be written."""


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """What `probe_video` finds out about a video file.

    Args:
        width (`int`): Frame width in pixels, as displayed (after the rotation tag).
        height (`int`): Frame height in pixels, as displayed (after the rotation tag).
        fps (`float`): Average frame rate.
        num_frames (`int`): Number of frames: from the container index when it has one, otherwise estimated from
            the duration.
        duration (`float`): Duration of the video track in seconds (0.0 when unknown).
        has_audio (`bool`): Whether the file has an audio track.
        rotation (`int`, defaults to 0): Counter-clockwise rotation in degrees applied for display (0, 90, 180, 270).
        codec (`str`, defaults to `""`): Name of the video codec.
    """

    width: int
    height: int
    fps: float
    num_frames: int
    duration: float
    has_audio: bool
    rotation: int = 0
    codec: str = ""


# ------------------------------------------------------------------------------------------------------------ reading
def _check_file(path: str | os.PathLike) -> Path:
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"video file not found: {str(path)!r}")
    if path.is_dir():
        raise VideoError(f"{str(path)!r} is a folder, not a video file")
    if path.stat().st_size == 0:
        raise VideoError(f"video file {str(path)!r} is empty (0 bytes)")
    return path


def _describe(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error)


def _open_video(path: Path):
    import av  # lazy: PyAV loads the FFmpeg libraries; keeps `import eadnet.io` light for audio/image users

    try:
        container = av.open(str(path), mode="r")
    except av.error.FFmpegError as error:
        raise VideoError(
            f"cannot read video {str(path)!r} ({_describe(error)}); the file is damaged or not a video — convert it "
            "to MP4 (e.g. `ffmpeg -i input output.mp4`) and try again"
        ) from error
    if not container.streams.video:
        container.close()
        raise VideoError(f"{str(path)!r} has no video track; give a video file (mp4, mov, mkv, webm, …)")
    return container, container.streams.video[0]


def _stream_fps(stream: Any) -> Fraction | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and rate > 0:
            return Fraction(rate)
    return None


def _quarter_turns(rotation: float | None) -> int:
    """Counter-clockwise display rotation in degrees → number of `np.rot90` quarter turns."""
    return round((rotation or 0) / 90) % 4


# AVColorSpace of a decoded frame → the swscale matrix that undoes it. Unspecified (2) is BT.601, as in FFmpeg.
_YUV_MATRICES = {1: "ITU709", 4: "FCC", 5: "ITU601", 6: "SMPTE170M", 7: "SMPTE240M", 9: "BT2020", 10: "BT2020"}


def _frame_to_rgb(frame: Any) -> np.ndarray:
    if frame.format.name.startswith(("yuv", "nv", "p0", "p2")):
        # Tags passed explicitly: PyAV < 17 ignores the frame's own colour matrix and range when converting.
        full_range = frame.color_range == 2 or frame.format.name.startswith("yuvj")
        array = frame.to_ndarray(
            format="rgb24",
            src_colorspace=_YUV_MATRICES.get(frame.colorspace, "ITU601"),
            src_color_range="JPEG" if full_range else "MPEG",
            dst_colorspace="ITU601",  # irrelevant for RGB; set so that PyAV < 17 does not skip the source matrix
            dst_color_range="JPEG",
        )
    else:
        array = frame.to_ndarray(format="rgb24")
    turns = _quarter_turns(frame.rotation)
    if turns:
        array = np.rot90(array, turns)
    return np.ascontiguousarray(array)


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Reads the size, frame rate, length and audio presence of a video without decoding it (one frame is decoded
    to find the display rotation and to check that the video decodes).

    Args:
        path (`str` or `os.PathLike`):
            The video file.

    Returns:
        `VideoInfo`: the video's properties.

    Raises:
        `FileNotFoundError`: `path` does not exist.
        `VideoError`: the file cannot be read or has no video track.
    """
    import av  # lazy: PyAV loads the FFmpeg libraries; keeps `import eadnet.io` light for audio/image users

    path = _check_file(path)
    container, stream = _open_video(path)
    try:
        fps = _stream_fps(stream)
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        else:
            duration = 0.0
        num_frames = int(stream.frames or 0)
        if num_frames <= 0 and fps is not None:
            num_frames = round(duration * fps)
        try:
            first = next(container.decode(stream), None)
        except av.error.FFmpegError as error:
            raise VideoError(f"cannot decode video {str(path)!r} ({_describe(error)})") from error
        if first is None:
            raise VideoError(f"video {str(path)!r} has no frames")
        turns = _quarter_turns(first.rotation)
        width, height = (first.height, first.width) if turns % 2 else (first.width, first.height)
        return VideoInfo(
            width=int(width),
            height=int(height),
            fps=float(fps) if fps is not None else 0.0,
            num_frames=max(num_frames, 1),
            duration=duration,
            has_audio=bool(container.streams.audio),
            rotation=turns * 90,
            codec=stream.codec_context.name,
        )
    finally:
        container.close()


def iter_video_frames(path: str | os.PathLike, *, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Decodes a video frame by frame: memory stays at a few frames however long the video is.

    Frames come in decoding (presentation) order, as stored: a variable-frame-rate video is not resampled to a
    constant rate.

    Args:
        path (`str` or `os.PathLike`):
            The video file.
        max_frames (`int`, *optional*):
            Stop after this many frames.

    Returns:
        `Iterator[np.ndarray]`: uint8 RGB frames `(H, W, 3)`, rotated for display.

    Raises:
        `FileNotFoundError`: `path` does not exist (raised at once, not at the first frame).
        `VideoError`: the file cannot be read or has no video track (raised at the first frame).
    """
    path = _check_file(path)
    if max_frames is not None and max_frames < 0:
        raise ValueError(f"max_frames must be >= 0, got {max_frames}")
    return _iter_frames(path, max_frames)


def _iter_frames(path: Path, max_frames: int | None) -> Iterator[np.ndarray]:
    import av  # lazy: PyAV loads the FFmpeg libraries; keeps `import eadnet.io` light for audio/image users

    if max_frames == 0:
        return
    container, stream = _open_video(path)
    try:
        stream.thread_type = "AUTO"
        count = 0
        try:
            for frame in container.decode(stream):
                yield _frame_to_rgb(frame)
                count += 1
                if max_frames is not None and count >= max_frames:
                    return
        except av.error.FFmpegError as error:
            if count == 0:
                raise VideoError(f"cannot decode video {str(path)!r} ({_describe(error)})") from error
            logger.warning("video %s is damaged after frame %d (%s); using the frames before", path, count, error)
        if count == 0:
            raise VideoError(f"video {str(path)!r} has no frames that decode")
    finally:
        container.close()


def read_video(path: str | os.PathLike, *, max_frames: int | None = None) -> tuple[np.ndarray, float]:
    """Decodes a whole video into memory.

    For long videos prefer `iter_video_frames`: one minute of 1080p is about 9 GB of RGB frames.

    Args:
        path (`str` or `os.PathLike`):
            The video file.
        max_frames (`int`, *optional*):
            Read at most this many frames.

    Returns:
        `tuple[np.ndarray, float]`: uint8 RGB frames `(F, H, W, 3)` (rotated for display) and the average frame
        rate.

    Raises:
        `FileNotFoundError`: `path` does not exist.
        `VideoError`: the file cannot be read, has no video track or no frames.
    """
    info = probe_video(path)
    expected = info.num_frames if max_frames is None else min(info.num_frames, max_frames)
    buffer: np.ndarray | None = None
    extra: list[np.ndarray] = []
    count = 0
    for frame in iter_video_frames(path, max_frames=max_frames):
        if buffer is None:  # filled in place: no second copy of the whole video (the frame count is an estimate)
            buffer = np.empty((max(expected, 1), *frame.shape), dtype=np.uint8)
        if frame.shape != buffer.shape[1:]:
            raise VideoError(f"video {str(path)!r} changes frame size at frame {count} ({frame.shape[:2]})")
        if count < len(buffer):
            buffer[count] = frame
        else:
            extra.append(frame)
        count += 1
    if buffer is None or count == 0:  # pragma: no cover - iter_video_frames raises first
        raise VideoError(f"video {str(path)!r} has no frames")
    frames = np.concatenate([buffer, np.stack(extra)]) if extra else buffer[:count]
    if frames.base is not None and count < len(buffer) // 2:
        frames = frames.copy()  # the estimate was far off: give the unused memory back
    return frames, info.fps


# ------------------------------------------------------------------------------------------------------------ writing
def _as_fps(fps: float | Fraction) -> Fraction:
    """A frame rate as an exact fraction; 23.976, 29.97 and 59.94 become the NTSC rates 24000/1001, …"""
    if isinstance(fps, Fraction):
        rate = fps
    else:
        value = float(fps)
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"fps must be a positive number, got {fps}")
        ntsc = round(value * 1.001)
        if abs(value - round(value)) < 1e-6:
            rate = Fraction(round(value))
        elif abs(value - ntsc / 1.001) < 1e-3:
            rate = Fraction(ntsc * 1000, 1001)
        else:
            rate = Fraction(value).limit_denominator(1001)
    if rate <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return rate


def _frames_to_uint8(frames: Any) -> np.ndarray:
    """One frame `(H, W, 3)` or a batch `(N, H, W, 3)` (numpy or torch; uint8, or float in [0, 1]) → uint8 `(N, H, W,
    3)`."""
    if hasattr(frames, "detach"):  # torch.Tensor, without importing torch here
        frames = frames.detach().cpu()
        frames = frames.float().numpy() if frames.is_floating_point() else frames.numpy()
    frames = np.asarray(frames)
    if frames.ndim == 3:
        frames = frames[None]
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be (H, W, 3) or (N, H, W, 3) RGB, got shape {frames.shape}")
    if frames.dtype == np.uint8:
        return frames
    if np.issubdtype(frames.dtype, np.floating):
        return (np.clip(frames, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if frames.dtype == np.bool_:
        return frames.astype(np.uint8) * 255
    raise ValueError(f"frames must be uint8 (0..255) or float (0..1), got dtype {frames.dtype}")


def _prepare_audio(waveform: Any, sample_rate: int) -> tuple[np.ndarray, int]:
    """Any waveform → float32 `(C, T)` with C in {1, 2} at a rate the AAC encoder accepts."""
    if not isinstance(sample_rate, int | np.integer) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    sample_rate = int(sample_rate)
    audio = _as_float_numpy(waveform)
    if audio.ndim == 1:
        audio = audio[None]
    elif audio.ndim == 2 and audio.shape[1] in (1, 2) and audio.shape[0] > 8:
        audio = audio.T  # (samples, channels), as soundfile returns it
    if audio.ndim != 2 or audio.shape[0] == 0:
        raise ValueError(f"audio must be (samples,) or (channels, samples), got shape {audio.shape}")
    if audio.shape[0] > 2:
        logger.info("mixing %d audio channels down to mono for AAC", audio.shape[0])
        audio = audio.mean(axis=0, keepdims=True)
    audio = np.clip(np.nan_to_num(audio.astype(np.float32)), -1.0, 1.0)
    if sample_rate not in AAC_SAMPLE_RATES:
        target = 48000
        if audio.shape[1]:
            audio = soxr.resample(audio.T, float(sample_rate), float(target), quality="HQ").T
        sample_rate = target
    return np.ascontiguousarray(audio, dtype=np.float32), sample_rate


class VideoWriter:
    """Writes an H.264 MP4 (with optional AAC audio) frame by frame, atomically.

    Frames are encoded as they are written (libx264, yuv420p, BT.709, `crf` quality), so memory does not grow with
    the length of the video; only the audio is kept in memory until `close`. H.264 in yuv420p needs an even width
    and height: frames with an odd size lose their last row and/or column (pixels are otherwise untouched, never
    scaled). The output appears at `path` only when `close` (or leaving the `with` block) succeeds; on an exception
    inside the `with` block nothing is left behind and an existing file at `path` stays as it was.

    Args:
        path (`str` or `os.PathLike`):
            Output file: `.mp4` (recommended), `.m4v`, `.mov` or `.mkv`.
        fps (`float` or `Fraction`):
            Frame rate (29.97 and friends are stored as exact NTSC fractions).
        width (`int`, *optional*):
            Expected frame width; frames of another width are refused. Defaults to the width of the first frame.
        height (`int`, *optional*):
            Expected frame height; frames of another height are refused. Defaults to that of the first frame.
        crf (`int`, *optional*, defaults to 18):
            x264 constant rate factor: 0 is lossless, 18 visually lossless, 23 x264's default, 51 worst.
        overwrite (`bool`, *optional*, defaults to `False`):
            Whether an existing file at `path` may be replaced.
        preset (`str`, *optional*, defaults to `"medium"`):
            x264 speed preset (`"ultrafast"` … `"veryslow"`).

    Raises:
        `FileExistsError`: `path` exists and `overwrite` is `False` (checked at construction).
        `FileNotFoundError`: the folder of `path` does not exist (checked at construction).

    Example:

    ```py
    >>> import numpy as np
    >>> from eadnet.io.video import VideoWriter
    >>> frames = np.zeros((25, 64, 64, 3), dtype=np.uint8)
    >>> with VideoWriter("out.mp4", fps=25, overwrite=True) as writer:
    ...     writer.write(frames)
    ...     writer.set_audio(np.zeros(16000, dtype=np.float32), 16000)
    ```
    """

    def __init__(
        self,
        path: str | os.PathLike,
        fps: float | Fraction,
        *,
        width: int | None = None,
        height: int | None = None,
        crf: int = 18,
        overwrite: bool = False,
        preset: str = "medium",
    ) -> None:
        self.path = check_output_path(path, overwrite)
        if self.path.suffix.lower() not in WRITABLE_EXTENSIONS:
            raise ValueError(
                f"cannot write H.264 video to {self.path.name!r}: use one of {', '.join(sorted(WRITABLE_EXTENSIONS))}"
            )
        self.fps = _as_fps(fps)
        if not 0 <= int(crf) <= 51:
            raise ValueError(f"crf must be in [0, 51], got {crf}")
        for name, value in (("width", width), ("height", height)):
            if value is not None and value < 2:
                raise ValueError(f"{name} must be at least 2 pixels, got {value}")
        self.crf = int(crf)
        self.preset = preset
        self.overwrite = overwrite
        self._expected_size = (height, width)
        self.width: int | None = None  # encoded size (even), known after the first frame
        self.height: int | None = None
        self.num_frames = 0
        self._audio: tuple[np.ndarray, int] | None = None
        self._container = None
        self._stream = None
        self._video_path: Path | None = None
        self._reformatter = None
        self._frame_size: tuple[int, int] | None = None
        self._closed = False

    # -------------------------------------------------------------------------------------------------- properties
    @property
    def duration(self) -> float:
        """Seconds of video written so far."""
        return float(self.num_frames / self.fps)

    # ------------------------------------------------------------------------------------------------------ frames
    def _open(self, frame_height: int, frame_width: int) -> None:
        import av  # lazy: PyAV loads the FFmpeg libraries; keeps `import eadnet.io` light for audio/image users

        expected_height, expected_width = self._expected_size
        self.height = (expected_height or frame_height) // 2 * 2
        self.width = (expected_width or frame_width) // 2 * 2
        if self.height < 2 or self.width < 2:
            raise ValueError(f"frames must be at least 2×2 pixels, got {frame_width}×{frame_height}")
        if self.height != frame_height or self.width != frame_width:
            logger.info(
                "H.264 needs an even frame size: cropping %d×%d frames to %d×%d",
                frame_width,
                frame_height,
                self.width,
                self.height,
            )
        self._frame_size = (frame_height, frame_width)
        self._video_path = partial_path(self.path, suffix=".video" + self.path.suffix)
        try:
            self._container = av.open(str(self._video_path), mode="w")
            stream = self._container.add_stream("libx264", rate=self.fps)
            stream.width, stream.height = self.width, self.height
            stream.pix_fmt = "yuv420p"
            stream.time_base = 1 / self.fps
            context = stream.codec_context
            context.options = {"crf": str(self.crf), "preset": self.preset}
            # Tag what the conversion below does, so that players decode the colours that were encoded.
            context.colorspace = 1  # AVCOL_SPC_BT709
            context.color_primaries = 1  # AVCOL_PRI_BT709
            context.color_trc = 1  # AVCOL_TRC_BT709
            context.color_range = 1  # AVCOL_RANGE_MPEG (limited, 16..235)
            self._stream = stream
            self._reformatter = av.video.reformatter.VideoReformatter()
        except av.error.FFmpegError as error:
            self._discard()
            raise VideoError(f"cannot start writing {str(self.path)!r}: {_describe(error)}") from error

    def write(self, frames: Any) -> None:
        """Encodes one frame `(H, W, 3)` or a batch `(N, H, W, 3)` of RGB frames.

        Args:
            frames (`np.ndarray`, `torch.Tensor` or a list of them):
                uint8 frames in 0..255, or float frames in [0, 1] (clipped, then rounded to uint8).

        Raises:
            `ValueError`: a frame has another shape than the first one (or than `width` × `height`).
        """
        import av  # lazy: PyAV loads the FFmpeg libraries; keeps `import eadnet.io` light for audio/image users

        if self._closed:
            raise RuntimeError("the VideoWriter is closed")
        if isinstance(frames, list | tuple):
            for frame in frames:
                self.write(frame)
            return
        batch = _frames_to_uint8(frames)
        if self._container is None:
            self._open(batch.shape[1], batch.shape[2])
        expected_height, expected_width = self._expected_size
        frame_height, frame_width = batch.shape[1:3]
        if (expected_height is not None and frame_height != expected_height) or (
            expected_width is not None and frame_width != expected_width
        ):
            raise ValueError(f"frames must be {expected_width}×{expected_height}, got {frame_width}×{frame_height}")
        if (frame_height, frame_width) != self._frame_size:
            raise ValueError(
                f"all frames must have the size of the first one; got {frame_width}×{frame_height} after "
                f"{self._frame_size[1]}×{self._frame_size[0]} frames"
            )
        batch = batch[:, : self.height, : self.width]
        try:
            for image in batch:
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
                frame = self._reformatter.reformat(
                    frame, format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG"
                )
                frame.pts = self.num_frames
                frame.time_base = 1 / self.fps
                for packet in self._stream.encode(frame):
                    self._container.mux(packet)
                self.num_frames += 1
        except av.error.FFmpegError as error:
            message = f"encoding frame {self.num_frames} of {str(self.path)!r} failed: {_describe(error)}"
            raise VideoError(message) from error

    # ------------------------------------------------------------------------------------------------------- audio
    def set_audio(self, waveform: Any, sample_rate: int) -> None:
        """Sets the sound track, muxed on `close` as AAC and fitted to the video's length.

        Audio longer than the video is cut at the last frame; shorter audio is padded with silence, so that audio and
        video end together (within one frame). Can be called at any time before `close`; a later call replaces an
        earlier one.

        Args:
            waveform (`np.ndarray` or `torch.Tensor`):
                Samples `(samples,)`, `(channels, samples)` (or `(samples, channels)` with 1 or 2 channels): float in
                `[-1, 1]` or integer PCM. Mono and stereo are kept; more channels are mixed down to mono.
            sample_rate (`int`):
                Sample rate in Hz; rates the AAC encoder does not take are resampled to 48 kHz.
        """
        if self._closed:
            raise RuntimeError("the VideoWriter is closed")
        self._audio = _prepare_audio(waveform, sample_rate)

    def _encode_audio(self, container: Any) -> tuple[Any, np.ndarray]:
        """Adds an AAC stream; returns it with the audio cut or padded to the length of the video."""
        audio, sample_rate = self._audio
        channels = audio.shape[0]
        target = round(self.num_frames * sample_rate / self.fps)
        if audio.shape[1] >= target:
            audio = audio[:, :target]
        else:
            audio = np.pad(audio, ((0, 0), (0, target - audio.shape[1])))
        layout = "mono" if channels == 1 else "stereo"
        stream = container.add_stream("aac", rate=sample_rate, layout=layout)
        stream.bit_rate = channels * min(64000, 3 * sample_rate)
        return stream, audio

    def _mux(self) -> Path:
        """Remuxes the video (and the audio) into the final temporary file, with the index at the front."""
        import av  # lazy: PyAV loads the FFmpeg libraries; keeps `import eadnet.io` light for audio/image users

        options = {"movflags": "+faststart"} if self.path.suffix.lower() in (".mp4", ".m4v", ".mov") else {}
        with atomic_output(self.path, overwrite=self.overwrite) as final, contextlib.ExitStack() as stack:
            source = stack.enter_context(av.open(str(self._video_path), mode="r"))
            output = stack.enter_context(av.open(str(final), mode="w", options=options))
            video_in = source.streams.video[0]
            video_out = output.add_stream_from_template(video_in)
            audio_packets: list = []
            if self._audio is not None:
                audio_stream, audio = self._encode_audio(output)
            output.start_encoding()
            if self._audio is not None:
                sample_rate = audio_stream.codec_context.sample_rate
                frame_size = audio_stream.codec_context.frame_size or 1024
                layout = "mono" if audio.shape[0] == 1 else "stereo"
                for start in range(0, audio.shape[1], frame_size):
                    chunk = np.ascontiguousarray(audio[:, start : start + frame_size])
                    frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
                    frame.sample_rate = sample_rate
                    frame.pts = start
                    frame.time_base = Fraction(1, sample_rate)
                    audio_packets.extend(audio_stream.encode(frame))
                audio_packets.extend(audio_stream.encode(None))
            # Interleave by time so that players streaming the file find audio next to its video.
            queue = iter(audio_packets)
            pending = next(queue, None)
            for packet in source.demux(video_in):
                if packet.dts is None and packet.pts is None:  # the flush packet
                    continue
                time = float((packet.dts if packet.dts is not None else packet.pts) * packet.time_base)
                while pending is not None and float(pending.pts * pending.time_base) <= time:
                    output.mux(pending)
                    pending = next(queue, None)
                packet.stream = video_out
                output.mux(packet)
            while pending is not None:
                output.mux(pending)
                pending = next(queue, None)
        return self.path

    # ------------------------------------------------------------------------------------------------- lifecycle
    def close(self) -> Path:
        """Finishes the video, muxes the audio and moves the file into place.

        Returns:
            `Path`: the output path.

        Raises:
            `VideoError`: no frame was written, or encoding/muxing failed (nothing is left at `path` then).
        """
        import av  # lazy: PyAV loads the FFmpeg libraries; keeps `import eadnet.io` light for audio/image users

        if self._closed:
            return self.path
        try:
            if self._container is None:
                raise VideoError(f"no frames were written to {str(self.path)!r}; nothing to save")
            try:
                for packet in self._stream.encode(None):
                    self._container.mux(packet)
                self._container.close()
                self._container = None
                self._mux()
            except av.error.FFmpegError as error:
                raise VideoError(f"writing {str(self.path)!r} failed: {_describe(error)}") from error
        finally:
            self._discard()
        logger.info(
            "wrote %s (%d frames, %.2f s%s)",
            self.path,
            self.num_frames,
            self.duration,
            ", with audio" if self._audio is not None else "",
        )
        return self.path

    def abort(self) -> None:
        """Stops writing and removes the temporary files; nothing is written to `path`."""
        self._discard()

    def _discard(self) -> None:
        self._closed = True
        if self._container is not None:
            with contextlib.suppress(Exception):  # the container is being thrown away
                self._container.close()
            self._container = None
        if self._video_path is not None:
            _unlink_quietly(self._video_path)
            self._video_path = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:  # a writer dropped without close(): leave no temporary files behind
        if not getattr(self, "_closed", True):
            self._discard()


def write_video(
    path: str | os.PathLike,
    frames: Any,
    fps: float | Fraction,
    audio: Any = None,
    sample_rate: int | None = None,
    overwrite: bool = False,
    crf: int = 18,
) -> Path:
    """Writes frames (and audio) to an H.264/AAC MP4 in one call; see `VideoWriter`.

    Args:
        path (`str` or `os.PathLike`):
            Output file (`.mp4`, `.m4v`, `.mov` or `.mkv`).
        frames (`np.ndarray`, `torch.Tensor` or an iterable of frames):
            `(N, H, W, 3)` RGB, uint8 or float in [0, 1]; an iterable (e.g. a generator) is written frame by frame.
        fps (`float` or `Fraction`):
            Frame rate.
        audio (`np.ndarray`, `torch.Tensor`, `str` or `os.PathLike`, *optional*):
            Sound track `(samples,)` or `(channels, samples)`, or the path of an audio file to read.
        sample_rate (`int`, *optional*):
            Sample rate of `audio` in Hz; required when `audio` is an array.
        overwrite (`bool`, *optional*, defaults to `False`):
            Whether an existing file at `path` may be replaced.
        crf (`int`, *optional*, defaults to 18):
            x264 constant rate factor.

    Returns:
        `Path`: the output path.
    """
    if audio is not None and isinstance(audio, str | os.PathLike):
        audio, sample_rate = load_audio(audio)
    if audio is not None and sample_rate is None:
        raise ValueError("sample_rate is required when audio is given as samples")
    with VideoWriter(path, fps, crf=crf, overwrite=overwrite) as writer:
        if isinstance(frames, np.ndarray) or hasattr(frames, "detach"):
            writer.write(frames)
        elif isinstance(frames, Iterable):
            for frame in frames:
                writer.write(frame)
        else:
            raise TypeError(f"frames must be an array or an iterable of frames, got {type(frames).__name__}")
        if audio is not None:
            writer.set_audio(audio, sample_rate)
    return writer.path
