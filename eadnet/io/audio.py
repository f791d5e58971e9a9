"""Reading speech audio: wav/flac/ogg through libsndfile, mp3/aac/m4a and the sound of video files through PyAV.

Every reader returns float32 samples in `[-1, 1]` laid out `(channels, samples)` at the file's own sample rate; the
model side resamples (`to_mono_16k`). Bad input fails early with an `AudioError` that says what is wrong and what to
do, never with a decoder traceback.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

logger = logging.getLogger(__name__)

__all__ = [
    "MIN_AUDIO_DURATION",
    "AudioError",
    "audio_duration",
    "check_speech",
    "is_silent",
    "load_audio",
    "to_mono_16k",
]

#: Shortest accepted audio, in seconds: one video frame at 25 fps.
MIN_AUDIO_DURATION = 0.04

#: Extensions read with libsndfile first; everything else (mp3, m4a, aac, video containers, …) goes to PyAV, which
#: is also the fallback when libsndfile cannot read a file.
SOUNDFILE_EXTENSIONS = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".aif", ".aiff", ".aifc", ".au"})

# Containers whose header holds the real duration (from an index or the last timestamp). Others (mp3, raw AAC) only
# have an estimate from the bit rate, which can be far off; those are measured by decoding, which stops as soon as
# `max_duration` is passed, so a long file is never decoded whole just to be rejected.
_EXACT_HEADER_FORMATS = frozenset({"mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm", "ogg", "flac", "wav"})
# Slack on the header before rejecting without decoding (timestamps of the last packet, edit lists).
_HEADER_SLACK_RATIO = 1.01
_HEADER_SLACK_SECONDS = 0.1
# Samples of encoder padding after the end of the sound that are trimmed to the header's duration (two AAC frames).
_MAX_END_PADDING = 2048

# PyAV sample formats (without the planar "p") → (numpy dtype, scale to [-1, 1], offset before scaling).
_SAMPLE_FORMATS = {
    "u8": (np.uint8, 1 / 128, -128.0),
    "s16": (np.int16, 1 / 32768, 0.0),
    "s32": (np.int32, 1 / 2**31, 0.0),
    "s64": (np.int64, 1 / 2**63, 0.0),
    "flt": (np.float32, 1.0, 0.0),
    "dbl": (np.float64, 1.0, 0.0),
}


class AudioError(ValueError):
    """Audio input that cannot be used: unreadable, without sound, silent, too short or too long."""


# ------------------------------------------------------------------------------------------------------------ helpers
def _check_file(path: str | os.PathLike) -> Path:
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"audio file not found: {str(path)!r}")
    if path.is_dir():
        raise AudioError(f"{str(path)!r} is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"audio file {str(path)!r} is empty (0 bytes)")
    return path


def _unreadable(path: Path, detail: object) -> AudioError:
    if isinstance(detail, BaseException):
        detail = getattr(detail, "strerror", None) or str(detail)
    return AudioError(
        f"cannot read audio from {str(path)!r} ({detail}); the file is damaged or not audio — convert it to "
        "wav/flac/mp3 (e.g. `ffmpeg -i input output.wav`) and try again"
    )


def _too_long(path: Path, duration: float, max_duration: float) -> AudioError:
    return AudioError(
        f"audio {str(path)!r} lasts {duration:.1f} s, more than the allowed {max_duration:g} s; "
        "cut it into shorter pieces or raise max_duration"
    )


def _check_length(path: Path, num_samples: int, sample_rate: int) -> None:
    if num_samples == 0:
        raise AudioError(f"audio {str(path)!r} contains no samples; use a recording with speech in it")
    duration = num_samples / sample_rate
    if duration < MIN_AUDIO_DURATION:
        raise AudioError(
            f"audio {str(path)!r} is too short ({duration * 1000:.1f} ms, {num_samples} samples); "
            f"at least {MIN_AUDIO_DURATION * 1000:.0f} ms (one video frame) is needed"
        )


def _as_float_numpy(waveform: Any) -> np.ndarray:
    """numpy / torch samples → a float numpy array; integer PCM is scaled to [-1, 1]."""
    if hasattr(waveform, "detach"):  # torch.Tensor, without importing torch here
        waveform = waveform.detach().float().cpu().numpy()
    waveform = np.asarray(waveform)
    if np.issubdtype(waveform.dtype, np.integer):
        waveform = waveform / float(-np.iinfo(waveform.dtype).min)
    elif not np.issubdtype(waveform.dtype, np.floating):
        raise ValueError(f"waveform must hold numbers, got dtype {waveform.dtype}")
    return waveform


def _finalise(samples: np.ndarray) -> np.ndarray:
    """float32, finite, clipped to [-1, 1] (float files may hold overs), C-contiguous."""
    samples = np.asarray(samples, dtype=np.float32)
    if not np.isfinite(samples).all():
        samples = np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0)
    np.clip(samples, -1.0, 1.0, out=samples)
    return np.ascontiguousarray(samples)


# ------------------------------------------------------------------------------------------------------- libsndfile
def _soundfile_info(path: Path) -> Any | None:
    try:
        return sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError):
        return None


def _load_soundfile(path: Path, info: Any, max_duration: float | None) -> tuple[np.ndarray, int]:
    sample_rate = int(info.samplerate)
    if max_duration is not None and info.frames / sample_rate > max_duration:
        raise _too_long(path, info.frames / sample_rate, max_duration)
    _check_length(path, int(info.frames), sample_rate)
    try:
        data, sample_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as error:
        raise _unreadable(path, error) from error
    _check_length(path, data.shape[0], sample_rate)
    return _finalise(data.T), int(sample_rate)


# ------------------------------------------------------------------------------------------------------------- PyAV
def _open_av(path: Path):
    import av  # lazy: PyAV loads the FFmpeg libraries; only non-libsndfile formats need it

    try:
        return av.open(str(path), mode="r")
    except av.error.FFmpegError as error:
        raise _unreadable(path, error) from error


def _av_audio_stream(container: Any, path: Path):
    if not container.streams.audio:
        kind = "video" if container.streams.video else "file"
        raise AudioError(
            f"{kind} {str(path)!r} has no audio track; use a file with speech in it or pass the speech separately"
        )
    return container.streams.audio[0]


def _av_header_duration(container: Any, stream: Any) -> float | None:
    """The duration the header gives, or `None` when it has none or only a bit-rate estimate."""
    if not set(container.format.name.split(",")) & _EXACT_HEADER_FORMATS:
        return None
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and not container.streams.video:  # with video it may be the video's length
        return container.duration / 1_000_000  # AV_TIME_BASE
    return None


def _frame_to_planar(frame: Any) -> np.ndarray:
    """One decoded PyAV audio frame → float32 `(channels, samples)` in [-1, 1]."""
    name = frame.format.name
    base = name[:-1] if name.endswith("p") else name
    if base not in _SAMPLE_FORMATS:
        raise ValueError(f"unsupported sample format {name!r}")
    _, scale, offset = _SAMPLE_FORMATS[base]
    array = frame.to_ndarray()
    if not frame.format.is_planar:
        array = array.reshape(-1, frame.layout.nb_channels).T
    array = array.astype(np.float64 if base in ("s32", "s64", "dbl") else np.float32)
    if offset:
        array += offset
    if scale != 1.0:
        array *= scale
    return array.astype(np.float32, copy=False)


def _load_av(path: Path, max_duration: float | None) -> tuple[np.ndarray, int]:
    import av  # lazy: PyAV loads the FFmpeg libraries; only non-libsndfile formats need it

    container = _open_av(path)
    try:
        stream = _av_audio_stream(container, path)
        header = _av_header_duration(container, stream)
        limit = None if max_duration is None else max_duration * _HEADER_SLACK_RATIO + _HEADER_SLACK_SECONDS
        if limit is not None and header is not None and header > limit:
            raise _too_long(path, header, max_duration)
        stream.thread_type = "AUTO"
        chunks: list[np.ndarray] = []
        sample_rate = channels = None
        total = 0
        try:
            for frame in container.decode(stream):
                if frame.samples == 0:
                    continue
                chunk = _frame_to_planar(frame)
                if sample_rate is None:
                    sample_rate, channels = int(frame.sample_rate), chunk.shape[0]
                if int(frame.sample_rate) != sample_rate:  # rare: the rate changes mid-stream
                    chunk = soxr.resample(chunk.T, float(frame.sample_rate), float(sample_rate), quality="HQ").T
                if chunk.shape[0] != channels:  # rare: the channel layout changes mid-stream
                    chunk = np.repeat(chunk.mean(axis=0, keepdims=True), channels, axis=0)
                chunks.append(np.ascontiguousarray(chunk, dtype=np.float32))
                total += chunk.shape[1]
                # (padding that is trimmed below may take the decoded length slightly over the limit)
                if max_duration is not None and total > max_duration * sample_rate + _MAX_END_PADDING:
                    raise _too_long(path, total / sample_rate, max_duration)
        except (av.error.FFmpegError, ValueError) as error:
            if isinstance(error, AudioError):
                raise
            if not chunks:
                raise _unreadable(path, error) from error
            # A damaged tail: keep what decoded, as ffmpeg does.
            logger.warning(
                "audio %s is damaged after %.2f s (%s); using the part that decodes", path, total / sample_rate, error
            )
        if sample_rate is None:
            raise AudioError(f"audio {str(path)!r} contains no samples; use a recording with speech in it")
        waveform = np.concatenate(chunks, axis=1)
        if header is not None and stream.duration is not None:
            # Decoders keep the zero padding of the last AAC (and some other) packets; the stream duration in the
            # header (from the mp4 edit list) says where the sound ends.
            expected = round(header * sample_rate)
            if 0 < expected < total <= expected + _MAX_END_PADDING:
                waveform = waveform[:, :expected]
        if max_duration is not None and waveform.shape[1] > max_duration * sample_rate:
            raise _too_long(path, waveform.shape[1] / sample_rate, max_duration)
        _check_length(path, waveform.shape[1], sample_rate)
        return _finalise(waveform), sample_rate
    finally:
        container.close()


# --------------------------------------------------------------------------------------------------------- public API
def load_audio(path: str | os.PathLike, *, max_duration: float | None = None) -> tuple[np.ndarray, int]:
    """Reads an audio file, or the first audio track of a video file.

    wav, flac, ogg (Vorbis, Opus) and aiff are read with libsndfile (`soundfile`); mp3, m4a/aac and video containers
    (mp4, mov, mkv, webm, avi, …) with PyAV, which decodes every audio frame of the first audio track (the encoder
    delay and padding of mp3 and AAC are removed as FFmpeg does). Integer samples are scaled to `[-1, 1]`; float
    files are clipped to it. Channels and sample rate are kept as they are.

    Args:
        path (`str` or `os.PathLike`):
            The file to read.
        max_duration (`float`, *optional*):
            Longest accepted audio in seconds. Files whose header already says they are longer are rejected without
            being decoded; files without a trustworthy header are rejected as soon as decoding passes the limit.

    Returns:
        `tuple[np.ndarray, int]`: float32 samples `(channels, samples)` and the sample rate in Hz.

    Raises:
        `FileNotFoundError`: `path` does not exist.
        `AudioError`: the file cannot be decoded, has no audio track, holds fewer than `MIN_AUDIO_DURATION` seconds
            of sound, or is longer than `max_duration`.
    """
    path = _check_file(path)
    if max_duration is not None and max_duration <= 0:
        raise ValueError(f"max_duration must be positive, got {max_duration}")
    if path.suffix.lower() in SOUNDFILE_EXTENSIONS:
        info = _soundfile_info(path)
        if info is not None and info.samplerate > 0:
            return _load_soundfile(path, info, max_duration)
        # libsndfile cannot read it (a codec it lacks, or a mislabelled file): let FFmpeg try.
    return _load_av(path, max_duration)


def audio_duration(path: str | os.PathLike) -> float:
    """The duration of an audio file (or of the first audio track of a video) in seconds.

    Read from the header for wav, flac, ogg, mp4/m4a/mov and mkv/webm; mp3 and raw AAC headers hold only an estimate
    from the bit rate, so those files are decoded (without keeping the samples).

    Args:
        path (`str` or `os.PathLike`):
            The file to inspect.

    Returns:
        `float`: seconds of audio.

    Raises:
        `FileNotFoundError`: `path` does not exist.
        `AudioError`: the file cannot be read or has no audio track.
    """
    path = _check_file(path)
    if path.suffix.lower() in SOUNDFILE_EXTENSIONS:
        info = _soundfile_info(path)
        if info is not None and info.samplerate > 0:
            return info.frames / info.samplerate
    container = _open_av(path)
    try:
        header = _av_header_duration(container, _av_audio_stream(container, path))
    finally:
        container.close()
    if header is not None:
        return header
    return _count_av_seconds(path)


def _count_av_seconds(path: Path) -> float:
    """Seconds of sound found by decoding (no samples are kept, so memory stays flat)."""
    import av  # lazy: PyAV loads the FFmpeg libraries; only non-libsndfile formats need it

    container = _open_av(path)
    try:
        stream = _av_audio_stream(container, path)
        seconds = 0.0
        try:
            for frame in container.decode(stream):
                seconds += frame.samples / frame.sample_rate
        except av.error.FFmpegError as error:
            if seconds == 0.0:
                raise _unreadable(path, error) from error
        return seconds
    finally:
        container.close()


def _loudest_block_db(waveform: np.ndarray, window: int) -> float:
    """RMS level of the loudest `window`-sample block over all channels, in dBFS, with each block's DC removed."""
    if waveform.size == 0:
        return -math.inf
    waveform = waveform.reshape(-1, waveform.shape[-1]) if waveform.ndim else waveform.reshape(1, 1)
    num_samples = waveform.shape[-1]
    window = max(1, min(window, num_samples))
    num_blocks = num_samples // window
    blocks_per_chunk = max(1, (1 << 20) // window)  # bounded float64 temporaries for long audio
    loudest = 0.0

    def measure(blocks: np.ndarray) -> float:
        blocks = blocks.astype(np.float64)
        blocks -= blocks.mean(axis=-1, keepdims=True)
        return float(np.sqrt(np.square(blocks).mean(axis=-1)).max())

    for first in range(0, num_blocks, blocks_per_chunk):
        count = min(blocks_per_chunk, num_blocks - first)
        chunk = waveform[:, first * window : (first + count) * window]
        loudest = max(loudest, measure(chunk.reshape(waveform.shape[0], count, window)))
    if num_blocks * window < num_samples:  # the tail, as a full block ending at the last sample
        loudest = max(loudest, measure(waveform[:, None, num_samples - window :]))
    return 20 * math.log10(loudest) if loudest > 0 else -math.inf


def _window(sample_rate: int | None) -> int:
    return max(1, round(0.02 * sample_rate)) if sample_rate else 512


def is_silent(waveform: Any, threshold_db: float = -60.0, *, sample_rate: int | None = None) -> bool:
    """Whether audio is digital silence, or so quiet that it carries no usable speech.

    The level is the RMS of the loudest 20 ms block (each block's DC offset removed) over all channels, in dBFS
    (0 dBFS = full scale); audio is silent when that level is below `threshold_db`. Digital silence, a constant
    offset and faint dither noise count as silent.

    Args:
        waveform (`np.ndarray` or `torch.Tensor`):
            Samples `(samples,)` or `(channels, samples)`: float in `[-1, 1]` or integer PCM.
        threshold_db (`float`, *optional*, defaults to `-60.0`):
            Level in dBFS below which audio counts as silent.
        sample_rate (`int`, *optional*):
            Sample rate in Hz, which sets the 20 ms block length; without it blocks are 512 samples.

    Returns:
        `bool`: `True` for silence (and for empty input).
    """
    return _loudest_block_db(_as_float_numpy(waveform), _window(sample_rate)) < threshold_db


def check_speech(waveform: Any, sample_rate: int, *, threshold_db: float = -60.0, name: str = "audio") -> None:
    """Raises an `AudioError` when audio is silent (see `is_silent`): a talking head needs speech to follow.

    Args:
        waveform (`np.ndarray` or `torch.Tensor`):
            Samples `(samples,)` or `(channels, samples)`: float in `[-1, 1]` or integer PCM.
        sample_rate (`int`):
            Sample rate in Hz.
        threshold_db (`float`, *optional*, defaults to `-60.0`):
            Level in dBFS below which audio counts as silent.
        name (`str`, *optional*, defaults to `"audio"`):
            What the audio is called in the error message (e.g. its file name).

    Raises:
        `AudioError`: the audio is silent or nearly so.
    """
    level = _loudest_block_db(_as_float_numpy(waveform), _window(sample_rate))
    if level < threshold_db:
        loudness = "digital silence" if level == -math.inf else f"loudest 20 ms at {level:.0f} dBFS"
        raise AudioError(
            f"{name} is silent ({loudness}, below {threshold_db:g} dBFS); a talking head needs speech — check that "
            "the right file or track was chosen and that the recording level is not zero"
        )


def to_mono_16k(waveform: Any, sample_rate: int) -> np.ndarray:
    """Mixes audio down to mono and resamples it to 16 kHz, the rate of the Whisper audio encoder.

    Args:
        waveform (`np.ndarray` or `torch.Tensor`):
            Samples `(samples,)` or `(channels, samples)`: float in `[-1, 1]` or integer PCM.
        sample_rate (`int`):
            Sample rate of `waveform` in Hz.

    Returns:
        `np.ndarray`: float32 samples `(samples,)` at 16 kHz.
    """
    waveform = _as_float_numpy(waveform)
    if waveform.ndim not in (1, 2):
        raise ValueError(f"waveform must be (samples,) or (channels, samples), got shape {waveform.shape}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    mono = waveform.astype(np.float32) if waveform.ndim == 1 else waveform.astype(np.float32).mean(axis=0)
    if sample_rate != 16000 and mono.size:
        # soxr directly (librosa's default "soxr_hq" backend): importing librosa.core costs seconds.
        mono = soxr.resample(mono, float(sample_rate), 16000.0, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)
