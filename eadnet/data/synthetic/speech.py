"""Offline English speech with phoneme timings (espeak-ng), and mouth-openness curves for synthetic talking clips.

Two espeak-ng back ends are supported, tried in this order by ``backend="auto"``:

1. **library**: libespeak-ng driven through `ctypes` in synchronous mode, taken from the ``espeakng-loader`` wheel
   (``pip install espeakng-loader``: the library and its voice data ship inside the wheel, no system package
   needed) or, failing that, from a system installation (``apt install espeak-ng``). Phoneme events give exact
   phoneme timings.
2. **binary**: the ``espeak-ng`` (or ``espeak``) program. The waveform comes from ``-w``, the phonemes from ``-x``;
   their timings are estimated by spreading each clause's phonemes over one stretch of sound in the waveform.

The timeline is a list of ``(start_s, end_s, phoneme)`` with espeak's ASCII phoneme mnemonics (stress marks removed,
``"_"`` for pauses), e.g. ``(0.012, 0.067, "h")``. `mouth_openness_from_phonemes` turns it into one mouth-opening
value per video frame; `mouth_openness_from_audio` gives a comparable curve from any waveform's loudness.

Example:

```py
>>> from eadnet.data.synthetic.speech import synthesize_speech, mouth_openness_from_phonemes
>>> speech = synthesize_speech("Hello there, how are you today?", voice="en-us+f3")
>>> num_frames = speech.num_frames(fps=25)
>>> openness = mouth_openness_from_phonemes(speech.timeline, num_frames, fps=25)  # (F,) float32 in [0, 1]
```
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import math
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

__all__ = [
    "BACKENDS",
    "DEFAULT_VOICE",
    "SpeechBackendError",
    "SpeechTrack",
    "espeak_backend",
    "list_voices",
    "mouth_openness_from_audio",
    "mouth_openness_from_phonemes",
    "phoneme_openness",
    "synthesize_speech",
]

#: Accepted values of the ``backend`` argument of `synthesize_speech`.
BACKENDS = ("auto", "library", "binary")

DEFAULT_VOICE = "en-us"

# English voices and variants (``language+variant``) that every espeak-ng installation ships (1.51 and later).
_ENGLISH_VOICES = (
    "en-us",
    "en-us+f3",
    "en-us+m3",
    "en",
    "en+f2",
    "en-gb-scotland",
    "en-gb-x-rp+f4",
    "en-029+m2",
)

# libespeak-ng's espeak_SetVoiceByName matches voice file names; the command line also accepts these language codes
_LIBRARY_VOICE_ALIASES = {"en-gb": "en", "en-uk": "en"}

_INSTALL_HINT = (
    "install the espeakng-loader wheel (pip install espeakng-loader: libespeak-ng and its voices inside the wheel) "
    "or the system package (apt install espeak-ng / brew install espeak-ng)"
)

_MAX_TEXT_CHARS = 5000

Timeline = list[tuple[float, float, str]]


class SpeechBackendError(RuntimeError):
    """No espeak-ng back end is available, or espeak-ng failed to speak the text."""


@dataclass
class SpeechTrack:
    """Synthesised speech and the timing of its phonemes.

    Args:
        waveform (`np.ndarray`): float32 mono samples ``(N,)`` in ``[-1, 1]``.
        sample_rate (`int`): Samples per second.
        timeline (`list[tuple[float, float, str]]`): ``(start_s, end_s, phoneme)`` in time order, covering the
            waveform from 0 to its end without gaps; ``"_"`` marks pauses.
        text (`str`, *optional*, defaults to `""`): The words spoken.
        voice (`str`, *optional*, defaults to `""`): The espeak-ng voice used.
        backend (`str`, *optional*, defaults to `""`): ``"library"`` or ``"binary"``; with ``"binary"`` the phoneme
            timings are estimates.
    """

    waveform: np.ndarray
    sample_rate: int
    timeline: list[tuple[float, float, str]] = field(default_factory=list)
    text: str = ""
    voice: str = ""
    backend: str = ""

    @property
    def duration(self) -> float:
        """Length of the waveform in seconds."""
        return len(self.waveform) / float(self.sample_rate)

    def num_frames(self, fps: float = 25.0) -> int:
        """Number of video frames that cover the speech at ``fps``: ``ceil(duration × fps)``."""
        return max(1, math.ceil(self.duration * fps - 1e-6))


# ---------------------------------------------------------------------------------------------------- back ends
class _EspeakEvent(ctypes.Structure):
    # espeak_EVENT of speak_lib.h; `id` is a union of int, const char * and char[8] (phoneme names)
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_EspeakEvent)
)

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_DONT_EXIT = 0x8000
_EVENT_LIST_TERMINATED = 0
_EVENT_PHONEME = 7
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE = 1
_PARAM_PITCH = 3


class _EspeakLibrary:
    """libespeak-ng through ctypes. The library keeps global state, so there is one instance per library file and
    every synthesis holds its lock."""

    def __init__(self, library_path: str, data_path: str | None):
        self.library_path = library_path
        self.data_path = data_path
        self._lock = threading.Lock()
        lib = ctypes.CDLL(library_path)
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_Synchronize.restype = ctypes.c_int
        path = None if data_path is None else os.fsencode(data_path)
        sample_rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, path, _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_DONT_EXIT
        )
        if sample_rate <= 0:
            raise SpeechBackendError(f"espeak_Initialize failed ({sample_rate}) for {library_path!r}")
        self.sample_rate = int(sample_rate)
        self._lib = lib
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, str]] = []
        # keep a reference: ctypes frees the trampoline when the Python object dies
        self._callback = _SYNTH_CALLBACK(self._on_synth)
        lib.espeak_SetSynthCallback(self._callback)

    def _on_synth(self, samples, num_samples, events) -> int:
        if num_samples > 0 and samples:
            self._chunks.append(np.ctypeslib.as_array(samples, (num_samples,)).copy())
        index = 0
        while events[index].type != _EVENT_LIST_TERMINATED:
            event = events[index]
            if event.type == _EVENT_PHONEME:
                name = bytes(event.id).split(b"\0", 1)[0].decode("ascii", "replace")
                self._events.append((int(event.sample), name))
            index += 1
        return 0

    def synthesize(self, text: str, voice: str, rate: int, pitch: int) -> tuple[np.ndarray, list[tuple[int, str]]]:
        """int16 samples and ``(sample index, phoneme)`` events."""
        with self._lock:
            base, plus, variant = voice.partition("+")
            name = _LIBRARY_VOICE_ALIASES.get(base.lower(), base) + plus + variant
            if self._lib.espeak_SetVoiceByName(name.encode("utf-8")) != 0:
                raise SpeechBackendError(f"espeak-ng has no voice {voice!r}; try one of {', '.join(list_voices())}")
            self._lib.espeak_SetParameter(_PARAM_RATE, int(rate), 0)
            self._lib.espeak_SetParameter(_PARAM_PITCH, int(pitch), 0)
            self._chunks, self._events = [], []
            data = text.encode("utf-8")
            status = self._lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            self._lib.espeak_Synchronize()
            chunks, events = self._chunks, self._events
            self._chunks, self._events = [], []
        if status != 0:
            raise SpeechBackendError(f"espeak_Synth failed with status {status}")
        samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
        return samples, events


_LIBRARIES: dict[str, _EspeakLibrary] = {}
_LIBRARIES_LOCK = threading.Lock()


def _library_location() -> tuple[str, str | None] | None:
    """``(library path, data path or None)`` of the espeakng-loader wheel, else of a system libespeak-ng."""
    try:
        import espeakng_loader  # optional: the `train` extra
    except ImportError:
        espeakng_loader = None
    if espeakng_loader is not None:
        try:
            library, data = espeakng_loader.get_library_path(), espeakng_loader.get_data_path()
        except Exception as error:  # a broken wheel: fall through to the system library
            logger.debug("espeakng-loader is installed but unusable: %s", error)
        else:
            if Path(library).is_file():
                return library, data
    system = ctypes.util.find_library("espeak-ng")
    if system is not None:
        return system, None
    return None


def _load_library() -> _EspeakLibrary | None:
    location = _library_location()
    if location is None:
        return None
    library_path, data_path = location
    with _LIBRARIES_LOCK:
        if library_path not in _LIBRARIES:
            # only one libespeak-ng per process: a second library file would fight over the first one's state
            if _LIBRARIES:
                return next(iter(_LIBRARIES.values()))
            try:
                _LIBRARIES[library_path] = _EspeakLibrary(library_path, data_path)
            except (OSError, SpeechBackendError) as error:
                logger.info("cannot use libespeak-ng at %s: %s", library_path, error)
                return None
            logger.debug("espeak-ng library %s (data %s)", library_path, data_path or "built-in path")
        return _LIBRARIES[library_path]


def _binary() -> str | None:
    return shutil.which("espeak-ng") or shutil.which("espeak")


def espeak_backend(backend: str = "auto") -> str:
    """The espeak-ng back end that `synthesize_speech` would use.

    Args:
        backend (`str`, *optional*, defaults to `"auto"`): ``"auto"``, ``"library"`` or ``"binary"``.

    Returns:
        `str`: ``"library"`` or ``"binary"``.

    Raises:
        `SpeechBackendError`: the requested back end (or, for ``"auto"``, any) is not available; the message names
            both ways to install one.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend in ("auto", "library") and _library_location() is not None:
        return "library"
    if backend in ("auto", "binary") and _binary() is not None:
        return "binary"
    what = "espeak-ng" if backend == "auto" else f"the espeak-ng {backend} back end"
    raise SpeechBackendError(f"{what} is not available: {_INSTALL_HINT}")


def list_voices() -> list[str]:
    """English espeak-ng voices (language and voice variant) that work offline with every back end.

    Returns:
        `list[str]`: names for the ``voice`` argument of `synthesize_speech`, e.g. ``"en-us"``, ``"en-us+f3"``
        (female variant 3), ``"en-gb-scotland"``. Any other espeak-ng voice name also works.
    """
    return list(_ENGLISH_VOICES)


# ---------------------------------------------------------------------------------------------------- timelines
def _clean_phoneme(name: str) -> str:
    """espeak mnemonic without stress and syllable marks; every pause becomes ``"_"``."""
    name = name.strip().lstrip("',%=")
    return "_" if not name or name.startswith("_") else name


def _timeline_from_events(events: list[tuple[int, str]], num_samples: int, sample_rate: int) -> Timeline:
    """Contiguous segments from phoneme start events (sample indices); the gaps around them are pauses."""
    timeline: list[tuple[float, float, str]] = []
    starts = [(min(max(sample, 0), num_samples), _clean_phoneme(name)) for sample, name in events]
    starts.sort(key=lambda item: item[0])
    cursor = 0
    for index, (start, name) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else num_samples
        if start > cursor:
            timeline.append((cursor, start, "_"))
        if end > start:
            timeline.append((start, end, name))
        cursor = max(cursor, end)
    if cursor < num_samples:
        timeline.append((cursor, num_samples, "_"))
    return _merge_pauses([(a / sample_rate, b / sample_rate, p) for a, b, p in timeline])


def _merge_pauses(timeline: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    merged: list[tuple[float, float, str]] = []
    for start, end, name in timeline:
        if merged and name == "_" and merged[-1][2] == "_":
            merged[-1] = (merged[-1][0], end, "_")
        else:
            merged.append((start, end, name))
    return merged


def _sound_islands(waveform: np.ndarray, sample_rate: int, min_gap_s: float = 0.08) -> list[tuple[int, int]]:
    """``(start, end)`` sample ranges of sound separated by silences longer than ``min_gap_s``."""
    hop = max(1, int(sample_rate * 0.01))
    num_hops = len(waveform) // hop
    if num_hops == 0:
        return []
    energy = np.sqrt(np.mean(waveform[: num_hops * hop].reshape(num_hops, hop).astype(np.float64) ** 2, axis=1))
    loud = energy > max(1e-4, 0.03 * float(energy.max()))
    islands: list[list[int]] = []
    min_gap = max(1, round(min_gap_s / 0.01))
    for index in np.flatnonzero(loud):
        if islands and index - islands[-1][1] <= min_gap:
            islands[-1][1] = index + 1
        else:
            islands.append([index, index + 1])
    return [(start * hop, min(end * hop, len(waveform))) for start, end in islands]


def _phoneme_weight(name: str) -> float:
    """Nominal relative duration of a phoneme, for spreading phonemes over a stretch of sound."""
    return 1.6 if _is_vowel(name) else 1.0


def _estimate_timeline(clauses: list[list[str]], waveform: np.ndarray, sample_rate: int) -> Timeline:
    """Phoneme timings for the binary back end: each clause's phonemes spread over one stretch of sound (or all
    phonemes over the whole sound when the stretches and clauses do not pair up)."""
    num_samples = len(waveform)
    clauses = [clause for clause in clauses if clause]
    islands = _sound_islands(waveform, sample_rate)
    if not clauses or not islands:
        return [(0.0, num_samples / sample_rate, "_")] if num_samples else []
    if len(islands) != len(clauses):
        islands = [(islands[0][0], islands[-1][1])]
        clauses = [[name for clause in clauses for name in clause]]
    segments: list[tuple[float, float, str]] = []
    for (start, end), phonemes in zip(islands, clauses, strict=True):
        weights = np.array([_phoneme_weight(name) for name in phonemes])
        bounds = start + (end - start) * np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
        segments.extend((bounds[i], bounds[i + 1], name) for i, name in enumerate(phonemes))
    timeline: list[tuple[float, float, str]] = []
    cursor = 0.0
    for start, end, name in segments:
        if start > cursor:
            timeline.append((cursor, start, "_"))
        timeline.append((start, end, name))
        cursor = end
    if cursor < num_samples:
        timeline.append((cursor, num_samples, "_"))
    return _merge_pauses([(float(a) / sample_rate, float(b) / sample_rate, p) for a, b, p in timeline])


def _run_binary(program: str, text: str, voice: str, rate: int, pitch: int) -> tuple[np.ndarray, int, list[list[str]]]:
    import soundfile  # the binary back end's WAV file only

    with tempfile.TemporaryDirectory(prefix="eadnet-espeak-") as folder:
        wav_path = Path(folder) / "speech.wav"
        common = [program, "-v", voice, "-s", str(int(rate)), "-p", str(int(pitch))]
        try:
            subprocess.run([*common, "-w", str(wav_path), "--", text], check=True, capture_output=True, timeout=120)
            phonemes = subprocess.run(
                [*common, "-q", "-x", "--sep= ", "--", text], check=True, capture_output=True, timeout=120
            )
        except subprocess.CalledProcessError as error:
            detail = error.stderr.decode("utf-8", "replace").strip()
            raise SpeechBackendError(f"{program} failed for voice {voice!r}: {detail or error}") from error
        samples, sample_rate = soundfile.read(str(wav_path), dtype="float32", always_2d=True)
    clauses = []
    for line in phonemes.stdout.decode("utf-8", "replace").splitlines():
        names = [_clean_phoneme(name) for name in line.split()]
        clauses.append([name for name in names if name != "_"])
    return samples.mean(axis=1), int(sample_rate), clauses


def synthesize_speech(
    text: str,
    voice: str = DEFAULT_VOICE,
    rate: int = 160,
    pitch: int = 50,
    sample_rate: int | None = None,
    backend: str = "auto",
) -> SpeechTrack:
    """Speaks English text with espeak-ng and returns the waveform with its phoneme timeline.

    Args:
        text (`str`): The words (plain text, up to 5000 characters).
        voice (`str`, *optional*, defaults to `"en-us"`): espeak-ng voice, optionally with a variant
            (``"en-us+f3"``); see `list_voices`. British English is ``"en"`` (or ``"en-gb"``).
        rate (`int`, *optional*, defaults to 160): Speaking rate in words per minute (80–450).
        pitch (`int`, *optional*, defaults to 50): Base pitch, 0–99.
        sample_rate (`int`, *optional*): Resample to this rate; by default espeak-ng's own rate (22050 Hz).
        backend (`str`, *optional*, defaults to `"auto"`): ``"library"`` (libespeak-ng from the espeakng-loader
            wheel or the system), ``"binary"`` (the ``espeak-ng`` program) or ``"auto"`` (the first available).

    Returns:
        [`SpeechTrack`]: float32 mono waveform, sample rate and ``(start_s, end_s, phoneme)`` timeline.

    Raises:
        `SpeechBackendError`: no espeak-ng is installed (the message says how to install one) or synthesis failed.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"text must be a non-empty string, got {text!r}")
    if len(text) > _MAX_TEXT_CHARS:
        raise ValueError(f"text is {len(text)} characters long; at most {_MAX_TEXT_CHARS} are spoken at once")
    if not 80 <= int(rate) <= 450:
        raise ValueError(f"rate must be 80-450 words per minute, got {rate!r}")
    if not 0 <= int(pitch) <= 99:
        raise ValueError(f"pitch must be 0-99, got {pitch!r}")
    if not isinstance(voice, str) or not voice.strip() or voice.strip().startswith("-"):
        raise ValueError(f"voice must be an espeak-ng voice name such as 'en-us', got {voice!r}")
    text, voice = " ".join(text.split()), voice.strip()
    chosen = espeak_backend(backend)
    library = _load_library() if chosen == "library" else None
    if library is None and chosen == "library" and backend == "auto" and _binary() is not None:
        chosen = "binary"
    if chosen == "library":
        if library is None:
            raise SpeechBackendError(f"libespeak-ng could not be loaded: {_INSTALL_HINT}")
        samples, events = library.synthesize(text, voice, rate, pitch)
        waveform = samples.astype(np.float32) / 32768.0
        native_rate = library.sample_rate
        timeline = _timeline_from_events(events, len(waveform), native_rate)
    else:
        waveform, native_rate, clauses = _run_binary(_binary(), text, voice, rate, pitch)
        timeline = _estimate_timeline(clauses, waveform, native_rate)
    if waveform.size == 0:
        raise SpeechBackendError(f"espeak-ng produced no sound for {text!r} with voice {voice!r}")
    if sample_rate is not None and int(sample_rate) != native_rate:
        import soxr  # only when a sample rate is asked for

        waveform = soxr.resample(waveform, native_rate, int(sample_rate)).astype(np.float32)
        native_rate = int(sample_rate)
    waveform = np.clip(waveform, -1.0, 1.0).astype(np.float32, copy=False)
    return SpeechTrack(waveform, native_rate, timeline, text=text, voice=voice, backend=chosen)


# ---------------------------------------------------------------------------------------------------- openness
# How far the mouth opens for a phoneme (espeak's English mnemonics), 0 closed, 1 wide open. Bilabials close the
# lips, labiodentals nearly; open vowels open widest, close vowels (i, u) little.
_CONSONANT_OPENNESS = {
    "p": 0.0,
    "b": 0.0,
    "m": 0.0,
    "f": 0.1,
    "v": 0.1,
    "w": 0.15,
    "s": 0.18,
    "z": 0.18,
    "S": 0.2,
    "Z": 0.2,
    "tS": 0.2,
    "dZ": 0.2,
    "T": 0.25,
    "D": 0.25,
    "t": 0.28,
    "d": 0.28,
    "n": 0.28,
    "r": 0.3,
    "k": 0.32,
    "g": 0.32,
    "N": 0.3,
    "j": 0.3,
    "l": 0.35,
    "h": 0.45,
    "x": 0.35,
    "?": 0.3,
}
_VOWEL_OPENNESS = {
    "a": 1.0,
    "A": 1.0,
    "V": 0.85,
    "0": 0.8,
    "O": 0.75,
    "3": 0.6,
    "E": 0.7,
    "e": 0.6,
    "o": 0.6,
    "@": 0.45,
    "I": 0.38,
    "i": 0.32,
    "U": 0.4,
    "u": 0.3,
    "y": 0.32,
    "Y": 0.38,
}


def _is_vowel(name: str) -> bool:
    return bool(name) and name[0] in _VOWEL_OPENNESS


def phoneme_openness(phoneme: str) -> float:
    """Mouth opening target in ``[0, 1]`` for one espeak phoneme mnemonic (``"_"`` pause: 0)."""
    name = _clean_phoneme(phoneme)
    if name == "_":
        return 0.0
    if name in _CONSONANT_OPENNESS:
        return _CONSONANT_OPENNESS[name]
    if name[0] in _VOWEL_OPENNESS:
        return _VOWEL_OPENNESS[name[0]]
    return _CONSONANT_OPENNESS.get(name[0], 0.3)


def _gaussian_smooth(values: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0 or values.size < 2:
        return values
    radius = max(1, int(math.ceil(3 * sigma)))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(values, radius, mode="edge")
    return np.convolve(padded, kernel, mode="valid")


def _check_frames(num_frames: int, fps: float) -> None:
    if int(num_frames) < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames!r}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps!r}")


def mouth_openness_from_phonemes(
    timeline: list[tuple[float, float, str]], num_frames: int, fps: float = 25.0, smoothing_s: float = 0.03
) -> np.ndarray:
    """Mouth opening per video frame from a phoneme timeline, with coarticulation smoothing.

    Each phoneme's target (`phoneme_openness`) is held over its span on a 5 ms grid, smoothed with a Gaussian of
    ``smoothing_s`` (neighbouring phonemes blend, as lips move continuously) and read at each frame's centre.

    Args:
        timeline (`list[tuple[float, float, str]]`): ``(start_s, end_s, phoneme)`` as in [`SpeechTrack`].
        num_frames (`int`): Number of frames ``F``.
        fps (`float`, *optional*, defaults to 25): Frame rate.
        smoothing_s (`float`, *optional*, defaults to 0.03): Standard deviation of the smoothing in seconds.

    Returns:
        `np.ndarray`: float32 ``(F,)`` in ``[0, 1]``; frames past the timeline's end are 0 (closed).
    """
    _check_frames(num_frames, fps)
    step = 0.005
    end = max([segment[1] for segment in timeline] + [num_frames / fps]) + 0.1
    grid = np.zeros(int(math.ceil(end / step)) + 1, dtype=np.float64)
    for start, stop, name in timeline:
        first, last = int(round(start / step)), int(round(stop / step))
        grid[first : max(last, first + 1)] = phoneme_openness(name)
    grid = _gaussian_smooth(grid, smoothing_s / step)
    times = (np.arange(int(num_frames)) + 0.5) / fps
    openness = np.interp(times, np.arange(grid.size) * step, grid)
    return np.clip(openness, 0.0, 1.0).astype(np.float32)


def mouth_openness_from_audio(
    waveform: np.ndarray,
    sample_rate: int,
    num_frames: int,
    fps: float = 25.0,
    dynamic_range_db: float = 30.0,
) -> np.ndarray:
    """Mouth opening per video frame from the loudness of a waveform (a smoothed RMS envelope).

    The RMS over a two-frame window around each frame's centre is taken in dB, mapped linearly from ``loud −
    dynamic_range_db`` (0) to ``loud`` (1), where ``loud`` is the 95th percentile over the frames, and smoothed over
    three frames. Loud vowels open the mouth, pauses close it.

    Args:
        waveform (`np.ndarray`): Samples ``(N,)`` or ``(channels, N)`` (channels are averaged).
        sample_rate (`int`): Sample rate in Hz.
        num_frames (`int`): Number of frames ``F``.
        fps (`float`, *optional*, defaults to 25): Frame rate.
        dynamic_range_db (`float`, *optional*, defaults to 30): Loudness range mapped onto ``[0, 1]``.

    Returns:
        `np.ndarray`: float32 ``(F,)`` in ``[0, 1]`` (all 0 for silence).
    """
    _check_frames(num_frames, fps)
    samples = np.asarray(waveform, dtype=np.float64)
    if samples.ndim == 2:
        samples = samples.mean(axis=0)
    if samples.ndim != 1:
        raise ValueError(f"waveform must be (N,) or (channels, N), got shape {np.shape(waveform)}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate!r}")
    num_frames = int(num_frames)
    half = max(1, int(round(sample_rate / fps)))
    centres = np.round((np.arange(num_frames) + 0.5) * sample_rate / fps).astype(np.int64)
    squares = np.concatenate([[0.0], np.cumsum(samples**2)])
    lo = np.clip(centres - half, 0, samples.size)
    hi = np.clip(centres + half, 0, samples.size)
    rms = np.sqrt((squares[hi] - squares[lo]) / np.maximum(hi - lo, 1))
    if not np.any(rms > 1e-5):
        return np.zeros(num_frames, dtype=np.float32)
    level = 20.0 * np.log10(np.maximum(rms, 1e-8))
    loud = float(np.percentile(level, 95))
    openness = np.clip((level - (loud - dynamic_range_db)) / dynamic_range_db, 0.0, 1.0)
    if num_frames >= 3:
        openness = np.convolve(np.pad(openness, 1, mode="edge"), [0.25, 0.5, 0.25], mode="valid")
    return openness.astype(np.float32)
