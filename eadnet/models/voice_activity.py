"""Voice activity for the mouth: where a waveform holds speech, and a per-video-frame gate that shuts the mouth in the
pauses.

A thin wrapper around Silero VAD (the ``silero-vad`` package, MIT licence, https://github.com/snakers4/silero-vad;
the model file ships inside the wheel, nothing is downloaded). Silero scores 32 ms windows of 16 kHz audio (512
samples) with a speech probability; `VoiceActivityDetector` turns the scores into speech segments the way Silero's own
``get_speech_timestamps`` does (hysteresis between ``threshold`` and ``neg_threshold``, short bursts dropped, each
segment padded by ``speech_pad_s``), and the pauses in which it hears no speech for at least ``min_silence_s`` into a
gate: 1 in speech, 0 inside a long pause, with a linear ramp of ``ramp_s`` at each edge of the pause (inside the pause,
so that no speech frame is damped and the mouth does not snap shut).

The mouth parameters of the audio-to-mouth model are multiplied by the gate
(:meth:`~eadnet.models.audio_to_mouth.AudioToMouthModel.predict` with ``voice_activity=``): whatever Whisper says in
a pause (its last layers carry "massive activations" there), the mouth rests. A detector is itself the gate function
``(waveform, sample_rate, num_frames, fps) -> (F,)``; `speech_frames` is the gate of one shared default detector.

```py
>>> from eadnet.models.voice_activity import VoiceActivityDetector, speech_frames
>>> vad = VoiceActivityDetector()
>>> gate = vad(waveform, 16000, 100, 25.0)  # (100,) float32 in [0, 1], as vad.mouth_gate(...) and speech_frames(...)
```
"""

from __future__ import annotations

import logging
import math
import threading
from typing import Any

import numpy as np
import soxr
import torch

logger = logging.getLogger(__name__)

__all__ = ["VoiceActivityDetector", "load_silero_model", "speech_frames"]

#: Sample rate Silero VAD runs at here, and its window (32 ms) at that rate.
VAD_SAMPLE_RATE = 16000
VAD_WINDOW_SAMPLES = 512


def load_silero_model() -> Any:
    """The Silero VAD TorchScript model from the ``silero-vad`` package (no download).

    Importing ``silero_vad`` calls ``torch.set_num_threads(1)`` for the whole process; the caller's thread count is
    put back.

    Raises:
        `ImportError`: ``silero-vad`` is not installed (``pip install silero-vad``).
    """
    threads = torch.get_num_threads()
    try:
        from silero_vad import load_silero_vad
    except ImportError as error:
        raise ImportError("voice activity needs the silero-vad package: pip install silero-vad") from error
    finally:
        torch.set_num_threads(threads)
    model = load_silero_vad()
    logger.debug("loaded Silero VAD from the silero-vad package")
    return model


def _mono_16k(waveform: np.ndarray | torch.Tensor, sample_rate: float) -> np.ndarray:
    """float32 mono samples at 16 kHz from ``(T,)`` or ``(C, T)`` audio at ``sample_rate``."""
    if isinstance(waveform, torch.Tensor):
        waveform = waveform.detach().cpu().float().numpy()
    samples = np.asarray(waveform)
    if samples.ndim not in (1, 2) or samples.shape[-1] == 0:
        raise ValueError(f"`waveform` must be (T,) or (C, T) with T >= 1, got shape {samples.shape}.")
    if np.issubdtype(samples.dtype, np.integer):
        samples = samples.astype(np.float32) / float(np.iinfo(samples.dtype).max + 1)
    samples = samples.astype(np.float32, copy=False)
    if samples.ndim == 2:
        samples = samples.mean(axis=0)
    if not math.isfinite(sample_rate) or sample_rate <= 0:
        raise ValueError(f"`sample_rate` must be positive, got {sample_rate!r}.")
    if sample_rate != VAD_SAMPLE_RATE:
        samples = soxr.resample(samples, float(sample_rate), VAD_SAMPLE_RATE).astype(np.float32)
    return np.ascontiguousarray(samples)


class VoiceActivityDetector:
    r"""Speech probabilities, speech segments and a mouth gate per video frame, from Silero VAD.

    Args:
        threshold (`float`, *optional*, defaults to 0.5): Speech starts where a window's probability reaches it
            (Silero's default).
        neg_threshold (`float`, *optional*): Speech ends where the probability falls below it; defaults to
            ``threshold - 0.15`` (Silero's default).
        min_speech_s (`float`, *optional*, defaults to 0.1): Speech bursts shorter than this are dropped (clicks).
        min_silence_s (`float`, *optional*, defaults to 0.2): Pauses in which Silero hears no speech for at least
            this long (before the padding) close the mouth; shorter ones are left to the mouth model.
        speech_pad_s (`float`, *optional*, defaults to 0.03): Padding added to both ends of every speech segment
            (Silero's default ``speech_pad_ms=30``), so that soft onsets and endings stay open.
        ramp_s (`float`, *optional*, defaults to 0.04): Length of the gate's linear ramp at each edge of a closed
            pause.
        model (`Any`, *optional*): A Silero-like model whose ``audio_forward(samples (1, N) float32 at 16 kHz,
            16000)`` returns the ``(1, ceil(N / 512))`` window probabilities; default :func:`load_silero_model`,
            loaded on first use.
    """

    def __init__(
        self,
        threshold: float = 0.5,
        neg_threshold: float | None = None,
        min_speech_s: float = 0.1,
        min_silence_s: float = 0.2,
        speech_pad_s: float = 0.03,
        ramp_s: float = 0.04,
        model: Any = None,
    ):
        neg_threshold = max(threshold - 0.15, 0.01) if neg_threshold is None else neg_threshold
        if not 0.0 < neg_threshold <= threshold < 1.0:
            raise ValueError(f"need 0 < neg_threshold <= threshold < 1, got {neg_threshold!r} and {threshold!r}.")
        for name, value in (
            ("min_speech_s", min_speech_s),
            ("min_silence_s", min_silence_s),
            ("speech_pad_s", speech_pad_s),
            ("ramp_s", ramp_s),
        ):
            if not value >= 0:
                raise ValueError(f"`{name}` must be >= 0, got {value!r}.")
        self.threshold = float(threshold)
        self.neg_threshold = float(neg_threshold)
        self.min_speech_s = float(min_speech_s)
        self.min_silence_s = float(min_silence_s)
        self.speech_pad_s = float(speech_pad_s)
        self.ramp_s = float(ramp_s)
        self._model = model
        self._lock = threading.Lock()

    @property
    def window_s(self) -> float:
        """Seconds per probability: Silero's 512-sample window at 16 kHz (32 ms)."""
        return VAD_WINDOW_SAMPLES / VAD_SAMPLE_RATE

    @property
    def model(self) -> Any:
        """The Silero model (loaded on first use)."""
        if self._model is None:
            self._model = load_silero_model()
        return self._model

    # ------------------------------------------------------------------------------------------------ probabilities
    def speech_probabilities(self, waveform: np.ndarray | torch.Tensor, sample_rate: float) -> np.ndarray:
        """Silero's speech probability of each 32 ms window.

        Args:
            waveform (`np.ndarray` or `torch.Tensor` of shape `(T,)` or `(C, T)`): Audio (mixed to mono, resampled to
                16 kHz).
            sample_rate (`float`): Sample rate of ``waveform`` in Hz.

        Returns:
            `np.ndarray`: float32 ``(N,)``, window ``k`` covering ``[k, k + 1) × 32 ms`` (the last one zero-padded).
        """
        samples = torch.from_numpy(_mono_16k(waveform, sample_rate))[None]
        # One intra-op thread, no_grad and no TorchScript optimisation: the small recurrent net steps through 32 ms
        # windows, and with two threads or the profiling executor its first call took seconds instead of a fraction
        # of one on a busy 2-core CPU (measured for `eadnet.evaluation.speech_proxy`).
        threads = torch.get_num_threads()
        with self._lock:
            model = self.model
            torch.set_num_threads(1)
            try:
                with torch.no_grad(), torch.jit.optimized_execution(False):
                    probabilities = model.audio_forward(samples, VAD_SAMPLE_RATE)  # resets the recurrent state
            finally:
                torch.set_num_threads(threads)
        return probabilities.reshape(-1).float().numpy()

    # ------------------------------------------------------------------------------------------------ segments
    def segments_from_probabilities(self, probabilities: np.ndarray) -> list[tuple[float, float]]:
        """Speech segments ``(start_s, end_s)`` from window probabilities: hysteresis, bursts shorter than
        ``min_speech_s`` dropped, ``speech_pad_s`` added on both sides, overlaps merged."""
        segments: list[list[float]] = []
        speaking, start = False, 0
        for index, probability in enumerate(np.asarray(probabilities, dtype=np.float64).tolist() + [0.0]):
            if not speaking and probability >= self.threshold:
                speaking, start = True, index
            elif speaking and probability < self.neg_threshold:
                speaking = False
                begin, end = start * self.window_s, index * self.window_s
                if end - begin >= self.min_speech_s:
                    begin, end = max(0.0, begin - self.speech_pad_s), end + self.speech_pad_s
                    if segments and begin <= segments[-1][1]:
                        segments[-1][1] = end
                    else:
                        segments.append([begin, end])
        return [(begin, end) for begin, end in segments]

    def speech_segments(self, waveform: np.ndarray | torch.Tensor, sample_rate: float) -> list[tuple[float, float]]:
        """Speech segments ``(start_s, end_s)`` of a waveform (see :meth:`segments_from_probabilities`)."""
        return self.segments_from_probabilities(self.speech_probabilities(waveform, sample_rate))

    def pauses(self, segments: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """Pauses that close the mouth: the gaps between (padded) speech segments that were at least
        ``min_silence_s`` long before the padding, plus the time before the first segment and after the last
        (``-inf`` / ``inf`` ends; all time when there is no segment).
        """
        edges = [-math.inf, *[edge for segment in segments for edge in segment], math.inf]
        gaps = [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]
        return [(begin, end) for begin, end in gaps if end - begin + 2 * self.speech_pad_s >= self.min_silence_s]

    # ------------------------------------------------------------------------------------------------ frames
    @staticmethod
    def _frame_times(num_frames: int, fps: float) -> np.ndarray:
        if isinstance(num_frames, bool) or not isinstance(num_frames, int | np.integer) or num_frames < 1:
            raise ValueError(f"`num_frames` must be an int >= 1, got {num_frames!r}.")
        if not fps > 0:
            raise ValueError(f"`fps` must be positive, got {fps!r}.")
        return (np.arange(int(num_frames)) + 0.5) / fps

    def gate_from_segments(self, segments: list[tuple[float, float]], num_frames: int, fps: float) -> np.ndarray:
        """The mouth gate at the centre ``(i + 0.5) / fps`` of each frame (see :meth:`mouth_gate`)."""
        times = self._frame_times(num_frames, fps)
        gate = np.ones(len(times), dtype=np.float64)
        for begin, end in self.pauses(segments):
            inside = (times > begin) & (times < end)
            depth = np.minimum(times[inside] - begin, end - times[inside])
            ramp = np.clip(depth / self.ramp_s, 0.0, 1.0) if self.ramp_s > 0 else np.ones_like(depth)
            gate[inside] = np.minimum(gate[inside], 1.0 - ramp)
        return gate.astype(np.float32)

    def speech_mask(
        self, waveform: np.ndarray | torch.Tensor, sample_rate: float, num_frames: int, fps: float
    ) -> np.ndarray:
        """Whether each video frame's centre lies in a (padded) speech segment.

        Returns:
            `np.ndarray`: bool ``(F,)``; frames past the end of the audio are silent.
        """
        times = self._frame_times(num_frames, fps)
        mask = np.zeros(len(times), dtype=bool)
        for begin, end in self.speech_segments(waveform, sample_rate):
            mask |= (times >= begin) & (times < end)
        return mask

    def mouth_gate(
        self, waveform: np.ndarray | torch.Tensor, sample_rate: float, num_frames: int, fps: float
    ) -> np.ndarray:
        """Per video frame, how far the mouth may open: 1 in speech and short pauses, 0 inside pauses of at least
        ``min_silence_s`` (and before the first and after the last word), with a ``ramp_s`` linear ramp inside each
        pause's edges (after the ``speech_pad_s`` padding of the speech around it).

        Args:
            waveform (`np.ndarray` or `torch.Tensor` of shape `(T,)` or `(C, T)`): The speech.
            sample_rate (`float`): Its sample rate in Hz.
            num_frames (`int`): Number of video frames ``F`` (frames past the audio's end are silent).
            fps (`float`): Video frame rate; frame ``i`` is read at ``(i + 0.5) / fps``.

        Returns:
            `np.ndarray`: float32 ``(F,)`` in ``[0, 1]``.
        """
        self._frame_times(num_frames, fps)
        return self.gate_from_segments(self.speech_segments(waveform, sample_rate), num_frames, fps)

    __call__ = mouth_gate


_DEFAULT: VoiceActivityDetector | None = None
_DEFAULT_LOCK = threading.Lock()


def speech_frames(waveform: np.ndarray | torch.Tensor, sample_rate: float, num_frames: int, fps: float) -> np.ndarray:
    """The mouth gate per video frame (:meth:`VoiceActivityDetector.mouth_gate`) of a default
    `VoiceActivityDetector` shared by the process (Silero loaded on the first call): float32 ``(F,)`` in ``[0, 1]``,
    1 where there is speech, 0 inside pauses of 0.2 s or more, with 40 ms ramps."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = VoiceActivityDetector()
    return _DEFAULT.mouth_gate(waveform, sample_rate, num_frames, fps)
