"""A lip-sync proxy that needs no SyncNet: does the mouth open when the speech is loud?

The loudness envelope of the speech (RMS per video frame) is correlated with the mouth opening measured by the face
mesh (:func:`eadnet.evaluation.landmarks.mouth_opening`) at a range of frame lags. A synchronised clip peaks near lag
0 with a clearly positive correlation; an offset clip peaks at its offset; a mouth that does not follow the audio
gives correlations near zero everywhere. It is a coarse measure — loudness is not articulation (an "ee" is loud with
a narrow mouth, an "m" hums with closed lips) — so compare clips of the same speech rather than reading the
correlation as a quality score on its own; LSE-C/LSE-D with a real SyncNet remain the standard.

```python
from eadnet.evaluation.landmarks import face_landmarks, mouth_opening
from eadnet.evaluation.speech_proxy import mouth_speech_sync, speech_envelope

opening = mouth_opening(face_landmarks(frames))
envelope = speech_envelope(waveform, sample_rate, num_frames=len(frames), fps=25)
sync = mouth_speech_sync(opening, envelope, max_lag=10)  # sync["best_lag"] > 0: the mouth lags the audio
```
"""

from __future__ import annotations

import importlib.util
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from eadnet.io.audio import to_mono_16k

logger = logging.getLogger(__name__)

__all__ = [
    "VAD_METHODS",
    "frame_rms",
    "mouth_speech_sync",
    "speech_envelope",
    "voice_activity",
]

#: Methods accepted by :func:`voice_activity`.
VAD_METHODS = ("auto", "silero", "energy")

# Silero VAD works on 512-sample chunks at 16 kHz (32 ms).
_SILERO_RATE = 16000
_SILERO_CHUNK = 512
_MIN_PAIRS = 8  # fewest frame pairs a correlation is computed from


def _mono(waveform: Any) -> np.ndarray:
    """Float64 mono samples from ``(samples,)`` or ``(channels, samples)``."""
    samples = np.asarray(waveform, dtype=np.float64)
    if samples.ndim == 2:
        samples = samples.mean(axis=0)
    if samples.ndim != 1 or samples.size == 0:
        raise ValueError(
            f"waveform must be (samples,) or (channels, samples) and not empty, got shape {samples.shape}"
        )
    return samples


def _check_timing(sample_rate: int, num_frames: int, fps: float) -> None:
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate!r}")
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames!r}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps!r}")


def _gaussian_smooth(values: np.ndarray, sigma: float) -> np.ndarray:
    """Centred (zero-lag) Gaussian smoothing with edge-value padding."""
    if sigma <= 0 or values.size < 2:
        return values
    radius = max(1, math.ceil(3 * sigma))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(values, radius, mode="edge")
    return np.convolve(padded, kernel, mode="valid")


def frame_rms(waveform: Any, sample_rate: int, num_frames: int, fps: float = 25) -> np.ndarray:
    """RMS of the (DC-free, mono) waveform over each video frame's span ``[i / fps, (i + 1) / fps)``.

    Args:
        waveform (`np.ndarray`): Float samples ``(samples,)`` or ``(channels, samples)``.
        sample_rate (`int`): Samples per second.
        num_frames (`int`): Video frames ``F``; frames past the end of the audio get 0.
        fps (`float`, *optional*, defaults to 25): Video frame rate.

    Returns:
        `np.ndarray`: ``(F,)`` float64.
    """
    _check_timing(sample_rate, num_frames, fps)
    samples = _mono(waveform)
    samples = samples - samples.mean()
    bounds = np.round(np.arange(num_frames + 1) * sample_rate / fps).astype(np.int64)
    energy = np.concatenate([[0.0], np.cumsum(samples**2)])
    start = np.clip(bounds[:-1], 0, samples.size)
    end = np.clip(bounds[1:], 0, samples.size)
    count = end - start
    rms = np.zeros(num_frames)
    has = count > 0
    rms[has] = np.sqrt(np.maximum(energy[end[has]] - energy[start[has]], 0.0) / count[has])
    return rms


def speech_envelope(
    waveform: Any, sample_rate: int, num_frames: int, fps: float = 25, smoothing: float = 1.0
) -> np.ndarray:
    """Loudness envelope of speech at the video frame rate: :func:`frame_rms` smoothed over time.

    Args:
        waveform (`np.ndarray`): Float samples ``(samples,)`` or ``(channels, samples)``.
        sample_rate (`int`): Samples per second.
        num_frames (`int`): Video frames ``F``.
        fps (`float`, *optional*, defaults to 25): Video frame rate.
        smoothing (`float`, *optional*, defaults to 1.0): Standard deviation, in frames, of a centred Gaussian
            (no lag is introduced); 0 turns it off.

    Returns:
        `np.ndarray`: ``(F,)`` float64 RMS in the waveform's units (linear, not dB).
    """
    if smoothing < 0:
        raise ValueError(f"smoothing must be >= 0, got {smoothing!r}")
    return _gaussian_smooth(frame_rms(waveform, sample_rate, num_frames, fps), float(smoothing))


def _silero_model_path() -> Path | None:
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.jit"
    return path if path.is_file() else None


_SILERO_CACHE: dict[str, Any] = {}


def _silero_chunk_probabilities(samples_16k: np.ndarray) -> np.ndarray:
    """Silero VAD speech probability of every 512-sample chunk (32 ms) of 16 kHz audio."""
    import torch  # lazy: torch (~2 s) only for the optional Silero VAD (pip install eadnet[eval])

    path = _silero_model_path()
    if path is None:
        raise ImportError("voice_activity(method='silero') needs the silero-vad package: pip install silero-vad")
    # The jit file is loaded directly: importing silero_vad would set torch's global thread count to 1.
    key = str(path)
    if key not in _SILERO_CACHE:
        _SILERO_CACHE[key] = torch.jit.load(key, map_location="cpu").eval()
    model = _SILERO_CACHE[key]
    padded = np.pad(samples_16k, (0, (-samples_16k.size) % _SILERO_CHUNK)).astype(np.float32)
    # The model steps a small recurrent net through 32 ms chunks. Measured on a busy 2-core CPU: with two intra-op
    # threads, under inference_mode, or with the profiling executor's optimisation on, the first call takes 4-16 s
    # instead of 0.2 s, hence one thread (restored afterwards), no_grad and no JIT optimisation.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad(), torch.jit.optimized_execution(False):
            probs = model.audio_forward(torch.from_numpy(padded)[None], _SILERO_RATE)
    finally:
        torch.set_num_threads(threads)
    return probs[0].float().numpy()


def voice_activity(
    waveform: Any,
    sample_rate: int,
    num_frames: int,
    fps: float = 25,
    method: str = "auto",
    threshold: float | None = None,
) -> np.ndarray:
    """Which video frames have speech.

    Args:
        waveform (`np.ndarray`): Float samples ``(samples,)`` or ``(channels, samples)``.
        sample_rate (`int`): Samples per second.
        num_frames (`int`): Video frames ``F``.
        fps (`float`, *optional*, defaults to 25): Video frame rate.
        method (`str`, *optional*, defaults to `"auto"`): ``"silero"`` (Silero VAD, ``pip install silero-vad``;
            the frame's speech probability is the mean over the 32 ms chunks its span overlaps), ``"energy"``
            (frames within ``threshold`` dB of the loudest frame and above -60 dBFS), or ``"auto"`` (Silero when
            installed, energy otherwise).
        threshold (`float`, *optional*): Silero probability threshold (default 0.5), or the energy method's
            distance below the loudest frame in dB (default 30).

    Returns:
        `np.ndarray`: ``(F,)`` bool; frames past the end of the audio are silent.
    """
    if method not in VAD_METHODS:
        raise ValueError(f"method must be one of {VAD_METHODS}, got {method!r}")
    _check_timing(sample_rate, num_frames, fps)
    if method == "auto":
        method = "silero" if _silero_model_path() is not None else "energy"
        logger.debug("voice_activity: using the %s method", method)

    if method == "energy":
        margin_db = 30.0 if threshold is None else float(threshold)
        rms = frame_rms(waveform, sample_rate, num_frames, fps)
        level_db = 20 * np.log10(np.maximum(rms, 1e-10))
        return (level_db > level_db.max() - margin_db) & (level_db > -60.0)

    samples = _mono(waveform)
    samples_16k = np.asarray(to_mono_16k(samples[None].astype(np.float32), sample_rate), dtype=np.float32)
    chunk_probs = _silero_chunk_probabilities(samples_16k)
    chunk_edges = np.arange(chunk_probs.size + 1) * _SILERO_CHUNK / _SILERO_RATE
    active = np.zeros(num_frames, dtype=bool)
    limit = 0.5 if threshold is None else float(threshold)
    for index in range(num_frames):
        start, end = index / fps, (index + 1) / fps
        lo = np.searchsorted(chunk_edges, start, side="right") - 1
        hi = np.searchsorted(chunk_edges, end, side="left")
        lo, hi = max(lo, 0), min(hi, chunk_probs.size)
        if hi > lo:
            active[index] = chunk_probs[lo:hi].mean() > limit
    return active


def _is_constant(values: np.ndarray) -> bool:
    return float(np.ptp(values)) <= 1e-9 * max(float(np.abs(values).max()), 1e-12)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < _MIN_PAIRS:
        return float("nan")
    a, b = a[keep], b[keep]
    if _is_constant(a) or _is_constant(b):  # a constant signal has no correlation with anything
        return float("nan")
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / math.sqrt(float((a**2).sum() * (b**2).sum())))


def mouth_speech_sync(mouth_opening: Any, envelope: Any, max_lag: int = 10) -> dict[str, Any]:
    """Pearson correlation of mouth opening and speech loudness over a range of frame lags.

    Lag convention: at lag ``k`` the mouth at frame ``t`` is paired with the audio at frame ``t - k``, so a
    **positive lag means the mouth lags (follows) the audio** by ``k`` frames and a negative one that it leads.
    ``best_lag`` is the lag of the highest (most positive) correlation, since the mouth should open when the
    speech is loud. Frames where either value is NaN (no face) are left out of each pair.

    Args:
        mouth_opening (`np.ndarray`): ``(F,)`` mouth opening per frame
            (:func:`eadnet.evaluation.landmarks.mouth_opening`).
        envelope (`np.ndarray`): ``(F,)`` speech envelope per frame (:func:`speech_envelope`).
        max_lag (`int`, *optional*, defaults to 10): Largest lag tried each way.

    Returns:
        `dict`: ``correlation`` (at lag 0), ``best_lag``, ``best_correlation``, ``lags`` and ``curve`` (the
        correlation per lag), ``offset_confidence`` (``best_correlation`` minus the median of the curve, like
        SyncNet's LSE-C), and ``degenerate`` (`True` when a signal is constant or too short, e.g. a frozen mouth:
        undefined correlations are then reported as 0 and ``best_lag`` is 0).
    """
    mouth = np.asarray(mouth_opening, dtype=np.float64).reshape(-1)
    audio = np.asarray(envelope, dtype=np.float64).reshape(-1)
    if mouth.shape != audio.shape:
        raise ValueError(f"mouth_opening and envelope must have one length, got {mouth.size} and {audio.size}")
    if max_lag < 0:
        raise ValueError(f"max_lag must be >= 0, got {max_lag!r}")
    size = mouth.size
    lags = list(range(-max_lag, max_lag + 1))
    curve = []
    for lag in lags:
        if abs(lag) >= size:
            curve.append(float("nan"))
        elif lag >= 0:
            curve.append(_pearson(mouth[lag:], audio[: size - lag]))
        else:
            curve.append(_pearson(mouth[: size + lag], audio[-lag:]))
    values = np.asarray(curve)
    degenerate = not np.isfinite(values).any()
    if np.isnan(values).any():
        logger.debug("mouth_speech_sync: %d of %d lags have no defined correlation", np.isnan(values).sum(), len(lags))
    values = np.nan_to_num(values, nan=0.0)
    best = int(values.argmax()) if not degenerate else lags.index(0)
    return {
        "correlation": float(values[lags.index(0)]),
        "best_lag": int(lags[best]),
        "best_correlation": float(values[best]),
        "lags": lags,
        "curve": values.tolist(),
        "offset_confidence": float(values[best] - np.median(values)),
        "degenerate": bool(degenerate),
    }
