"""Mouth-parameter targets from espeak-ng phoneme timelines: the training truth of the audio-to-mouth model.

`phoneme_mouth_params` maps one espeak mnemonic (as in [`SpeechTrack.timeline`]) onto the six parameters of
:data:`eadnet.expression.mouth_params.MOUTH_PARAMS` (a viseme table); `mouth_params_from_phonemes` turns a whole
timeline into one row per video frame, with the coarticulation smoothing of
:func:`~eadnet.data.synthetic.speech.mouth_openness_from_phonemes` (targets held over each phoneme's span on a 5 ms
grid, blended by a Gaussian, read at each frame's centre).

- ``jaw_open`` *is* :func:`~eadnet.data.synthetic.speech.phoneme_openness`, so the mesh engine's mouth and the
  synthetic clips of `eadnet.data.synthetic.talker` open alike; outside bilabial closures the curve equals
  `mouth_openness_from_phonemes`.
- Bilabial closure survives the smoothing: the smoothed jaw would otherwise still be half open inside a 50 ms /b/
  between two open vowels. Inside each /m b p/ span, held ``closure_hold_s`` (10 ms) past both ends, the jaw is
  forced to 0 and ``lip_press`` to 1, with a short ramp (a third of the smoothing width) beyond, because the lips
  close fast. The hold is half a frame of the audio-to-mouth model's 50 Hz output: a video frame whose centre lies
  in the span reads the 50 Hz curve between its two neighbouring samples, and both are then closed (a /p/ of
  espeak-ng lasts 35 ms, less than a 25 fps frame).
- Diphthongs glide: the lip shape (spread, rounding) moves from the first vowel's to the second's over the span
  (/aU/ ends rounded, /aI/ spread); the jaw keeps `phoneme_openness` of the whole diphthong.

```py
>>> from eadnet.data.synthetic.speech import synthesize_speech
>>> from eadnet.data.synthetic.visemes import mouth_params_from_phonemes
>>> speech = synthesize_speech("Maybe bring the papers.")
>>> params = mouth_params_from_phonemes(speech.timeline, speech.num_frames(25), fps=25)  # (F, 6) float32
```
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from eadnet.data.synthetic.speech import _check_frames, _clean_phoneme, _gaussian_smooth, phoneme_openness
from eadnet.expression.mouth_params import MOUTH_PARAMS, NUM_MOUTH_PARAMS

__all__ = ["BILABIALS", "is_bilabial", "mouth_params_from_phonemes", "phoneme_mouth_params"]

#: espeak mnemonics of the bilabial stops and nasal: the lips are pressed shut.
BILABIALS = frozenset({"p", "b", "m"})

_GRID_S = 0.005  # the 5 ms grid of `mouth_openness_from_phonemes`
_JAW, _SPREAD, _ROUND, _PRESS, _TUCK, _RAISE = (
    MOUTH_PARAMS.index(name)
    for name in ("jaw_open", "lip_spread", "lip_round", "lip_press", "lower_lip_tuck", "upper_lip_raise")
)

# (lip_spread, lip_round, upper_lip_raise) of the vowels, keyed by espeak's English mnemonics. Close front vowels
# spread the lips and show the upper teeth a little; back rounded vowels round them; the schwa family is neutral.
_VOWEL_SHAPES: dict[str, tuple[float, float, float]] = {
    "i": (0.8, 0.0, 0.2),
    "I": (0.55, 0.0, 0.15),
    "y": (0.2, 0.7, 0.1),
    "Y": (0.2, 0.6, 0.1),
    "e": (0.6, 0.0, 0.15),
    "E": (0.45, 0.0, 0.1),
    "a": (0.25, 0.0, 0.05),
    "A": (0.1, 0.05, 0.0),
    "V": (0.1, 0.0, 0.0),
    "0": (0.0, 0.45, 0.0),
    "O": (0.0, 0.6, 0.0),
    "o": (0.0, 0.75, 0.0),
    "U": (0.0, 0.6, 0.0),
    "u": (0.0, 0.9, 0.0),
    "@": (0.1, 0.0, 0.0),
    "3": (0.05, 0.3, 0.0),
}
# Long vowels that differ from the first letter's shape (i: is tenser than i, u: rounder than u, 3: r-coloured).
_LONG_VOWELS: dict[str, tuple[float, float, float]] = {
    "i:": (0.9, 0.0, 0.25),
    "u:": (0.0, 1.0, 0.0),
    "3:": (0.05, 0.35, 0.0),
    "O:": (0.0, 0.7, 0.0),
}
# Consonants: (lip_spread, lip_round, lip_press, lower_lip_tuck, upper_lip_raise). The jaw comes from
# `phoneme_openness`. Unlisted consonants (k, g, h, ?, x ...) keep a neutral lip shape and take the neighbouring
# vowels' through the smoothing.
_CONSONANT_SHAPES: dict[str, tuple[float, float, float, float, float]] = {
    "p": (0.0, 0.0, 1.0, 0.0, 0.0),
    "b": (0.0, 0.0, 1.0, 0.0, 0.0),
    "m": (0.0, 0.0, 1.0, 0.0, 0.0),
    "f": (0.0, 0.0, 0.0, 1.0, 0.35),
    "v": (0.0, 0.0, 0.0, 0.9, 0.3),
    "w": (0.0, 1.0, 0.0, 0.0, 0.0),
    "S": (0.0, 0.65, 0.0, 0.0, 0.45),
    "Z": (0.0, 0.6, 0.0, 0.0, 0.4),
    "tS": (0.0, 0.6, 0.0, 0.0, 0.45),
    "dZ": (0.0, 0.55, 0.0, 0.0, 0.4),
    "r": (0.0, 0.4, 0.0, 0.0, 0.05),
    "s": (0.35, 0.0, 0.0, 0.0, 0.5),
    "z": (0.3, 0.0, 0.0, 0.0, 0.45),
    "T": (0.15, 0.0, 0.0, 0.0, 0.45),
    "D": (0.15, 0.0, 0.0, 0.0, 0.4),
    "t": (0.15, 0.0, 0.0, 0.0, 0.3),
    "d": (0.15, 0.0, 0.0, 0.0, 0.25),
    "n": (0.1, 0.0, 0.0, 0.0, 0.2),
    "l": (0.1, 0.0, 0.0, 0.0, 0.2),
    "j": (0.5, 0.0, 0.0, 0.0, 0.15),
    "k": (0.1, 0.0, 0.0, 0.0, 0.05),
    "g": (0.1, 0.0, 0.0, 0.0, 0.05),
    "N": (0.1, 0.0, 0.0, 0.0, 0.05),
}


def _vowel_shape(name: str) -> tuple[float, float, float] | None:
    """Lip shape of a vowel mnemonic (``"i:"``, ``"aI"``'s first part ...), `None` for a consonant."""
    if name[:2] in _LONG_VOWELS:
        return _LONG_VOWELS[name[:2]]
    return _VOWEL_SHAPES.get(name[0])


def _consonant_key(name: str) -> str:
    """The table key of a consonant: two-letter affricates first, then diacritics (``t#``, ``r-``, ``w#``) dropped."""
    return name[:2] if name[:2] in _CONSONANT_SHAPES else name[0]


def is_bilabial(phoneme: str) -> bool:
    """Whether an espeak mnemonic is /p/, /b/ or /m/ (the lips closed), stress marks and diacritics ignored."""
    name = _clean_phoneme(phoneme)
    return name != "_" and name[0] in BILABIALS and (len(name) == 1 or not name[1].isalpha())


def phoneme_mouth_params(phoneme: str) -> np.ndarray:
    """Mouth-parameter target of one espeak phoneme mnemonic (a viseme).

    Args:
        phoneme (`str`): espeak ASCII mnemonic as in a [`SpeechTrack`] timeline (``"aI"``, ``"m"``, ``"t#"``);
            stress marks are ignored, ``"_"`` is a pause.

    Returns:
        `np.ndarray`: float32 ``(6,)`` in ``[0, 1]``, ordered as :data:`MOUTH_PARAMS`. ``jaw_open`` is
        :func:`phoneme_openness`; a pause is all 0; /m b p/ have ``jaw_open`` 0 and ``lip_press`` 1; a diphthong
        gets the lip shape of its first vowel (`mouth_params_from_phonemes` glides to the second).
    """
    params = np.zeros(NUM_MOUTH_PARAMS, dtype=np.float32)
    name = _clean_phoneme(phoneme)
    if name == "_":
        return params
    params[_JAW] = phoneme_openness(name)
    vowel = _vowel_shape(name)
    if vowel is not None:
        params[[_SPREAD, _ROUND, _RAISE]] = vowel
    else:
        shape = _CONSONANT_SHAPES.get(_consonant_key(name))
        if shape is not None:
            params[[_SPREAD, _ROUND, _PRESS, _TUCK, _RAISE]] = shape
    return params


def _glide_target(name: str) -> np.ndarray | None:
    """Lip shape at the end of a diphthong (``aI`` → ``I``, ``aU`` → ``U``, ``eI``, ``oU``, ``OI``; ``e@`` → ``@``),
    `None` for a monophthong."""
    if _vowel_shape(name) is None:
        return None
    rest = name[2:] if name[:2] in _LONG_VOWELS else name[1:]
    rest = rest.lstrip("#:23")
    if not rest or _vowel_shape(rest) is None:
        return None
    return phoneme_mouth_params(rest)


def mouth_params_from_phonemes(
    timeline: Sequence[tuple[float, float, str]],
    num_frames: int,
    fps: float = 25.0,
    smoothing_s: float = 0.03,
    closure_hold_s: float = 0.01,
) -> np.ndarray:
    """Mouth parameters per video frame from a phoneme timeline, with coarticulation smoothing and bilabial closure.

    Args:
        timeline (`list[tuple[float, float, str]]`): ``(start_s, end_s, phoneme)`` as in [`SpeechTrack`].
        num_frames (`int`): Number of frames ``F``.
        fps (`float`, *optional*, defaults to 25): Frame rate; frame ``i`` is read at its centre ``(i + 0.5) / fps``.
        smoothing_s (`float`, *optional*, defaults to 0.03): Standard deviation of the Gaussian smoothing, seconds.
        closure_hold_s (`float`, *optional*, defaults to 0.01): How long the lips stay shut past both ends of a
            /m b p/ span, seconds.

    Returns:
        `np.ndarray`: float32 ``(F, 6)`` in ``[0, 1]``, columns as :data:`MOUTH_PARAMS`; frames past the timeline's
        end are 0 (closed). Frames whose centre lies in a /m b p/ span (or within ``closure_hold_s`` of it) have
        ``jaw_open == 0`` and ``lip_press == 1``.
    """
    _check_frames(num_frames, fps)
    if not closure_hold_s >= 0:
        raise ValueError(f"closure_hold_s must be >= 0, got {closure_hold_s!r}")
    end = max([segment[1] for segment in timeline] + [num_frames / fps]) + 0.1
    size = int(math.ceil(end / _GRID_S)) + 1
    grid = np.zeros((NUM_MOUTH_PARAMS, size), dtype=np.float64)
    closed = np.zeros(size, dtype=np.float64)
    for start, stop, phoneme in timeline:
        first, last = int(round(start / _GRID_S)), int(round(stop / _GRID_S))
        last = max(last, first + 1)
        target = phoneme_mouth_params(phoneme)
        grid[:, first:last] = target[:, None]
        glide = _glide_target(_clean_phoneme(phoneme))
        if glide is not None:
            # The lip shape moves from the first vowel's to the second's over the span; the jaw stays.
            weight = np.linspace(0.0, 1.0, last - first)
            for channel in (_SPREAD, _ROUND, _RAISE):
                grid[channel, first:last] = (1 - weight) * target[channel] + weight * glide[channel]
        if is_bilabial(phoneme):
            hold_first = max(0, int(round((start - closure_hold_s) / _GRID_S)))
            closed[hold_first : max(int(round((stop + closure_hold_s) / _GRID_S)), hold_first + 1)] = 1.0
    sigma = smoothing_s / _GRID_S
    smoothed = np.stack([_gaussian_smooth(channel, sigma) for channel in grid])
    if closed.any():
        # The closure spreads a third as far as the coarticulation and is complete over the held span (2 × the
        # half-height of a smoothed step at its edges), so every frame centred in it is shut.
        closure = np.clip(2.0 * _gaussian_smooth(closed, sigma / 3), 0.0, 1.0)
        closure[closed > 0] = 1.0
        smoothed[_JAW] *= 1.0 - closure
        smoothed[_PRESS] = np.maximum(smoothed[_PRESS], closure)
    times = (np.arange(int(num_frames)) + 0.5) / fps
    positions = np.arange(size) * _GRID_S
    params = np.stack([np.interp(times, positions, channel) for channel in smoothed], axis=1)
    # Exact at the frame centres too (the 5 ms grid rounds the span's edges).
    for start, stop, phoneme in timeline:
        if is_bilabial(phoneme):
            inside = (times >= start - closure_hold_s) & (times < stop + closure_hold_s)
            params[inside, _JAW], params[inside, _PRESS] = 0.0, 1.0
    return np.clip(params, 0.0, 1.0).astype(np.float32)
