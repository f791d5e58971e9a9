"""Emotion label × intensity → action-unit intensities, and the words for them: one table for geometry and text.

The prototypes are the EMFACS ones (Friesen & Ekman 1983, as tabulated in the FACS Investigator's Guide, 2002):
happiness 6+12, sadness 1+4+15, surprise 1+2+5B+26, fear 1+2+4+5+7+20+26, anger 4+5+7+23, disgust 9+15+16,
contempt R12A+R14A. Adaptations for the mesh, each an EMFACS variant or a frequent companion of the prototype:
disgust's AU16 (lower lip depressor) is not animated, so AU10 and AU17 (the upper lip raised, the lower lip pushed up,
the variant 10+17) stand for it; anger also presses the lips (AU24, the variant 4+5+7+24); a strong smile opens
the lips over the teeth (6+12+25+26, the broad smile); sadness raises the chin (1+4+15+17). A warp moves the skin but
adds no wrinkles, so the smile's visible teeth and the sad chin carry what a photo's texture would (measured with an
expression CNN on six real faces, docs/benchmarks.md: with the lips only slightly parted, a thin-lipped face's smile
read as neutral). The captioner's label descriptions
(:func:`describe_emotion`) are written from this table, so what the text says and what the warp shows agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from eadnet.emotion import EMOTION_LABELS, INTENSITY_NAMES, normalize_label
from eadnet.expression.action_units import ACTION_UNITS, normalize_action_units

#: Apex AU intensities at MEAD level 3 (strong), per label.
EMOTION_ACTION_UNITS: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "neutral": {},
        "happy": {"AU6": 0.8, "AU12": 1.0, "AU25": 0.8, "AU26": 0.4},
        "sad": {"AU1": 1.0, "AU4": 0.5, "AU15": 1.0, "AU17": 0.7},
        "surprised": {"AU1": 1.0, "AU2": 1.0, "AU5": 0.8, "AU26": 0.8},
        "fear": {"AU1": 0.9, "AU2": 0.6, "AU4": 0.5, "AU5": 0.9, "AU7": 0.3, "AU20": 0.8, "AU26": 0.4},
        "angry": {"AU4": 1.0, "AU5": 0.5, "AU7": 0.8, "AU23": 0.8, "AU24": 0.5},
        "disgusted": {"AU4": 0.4, "AU9": 1.0, "AU10": 0.8, "AU15": 0.5, "AU17": 0.4},
        "contempt": {"AU12L": 0.8, "AU14L": 0.7},
    }
)

#: Expression strength for a MEAD intensity level (1 slight, 2 medium, 3 strong); in between is interpolated.
LEVEL_STRENGTH: Mapping[int, float] = MappingProxyType({0: 0.0, 1: 0.55, 2: 0.8, 3: 1.0})

_ADJECTIVES = {
    "angry": "angry",
    "contempt": "contemptuous",
    "disgusted": "disgusted",
    "fear": "fearful",
    "happy": "happy",
    "neutral": "neutral",
    "sad": "sad",
    "surprised": "surprised",
}
_ADVERBS = {1: "slightly", 2: "moderately", 3: "strongly"}
# No action units: the levels only vary the wording ("how neutral" has no geometry).
_NEUTRAL = {
    1: "a neutral speaker with a relaxed face, level brows and calm eyes while talking",
    2: "a neutral speaker with a calm, expressionless face, brows at rest and relaxed lip corners while talking",
    3: "a fully neutral speaker with a composed, blank face and no brow, cheek or lip-corner movement while talking",
}


def emotion_strength(intensity: float) -> float:
    """Expression strength in ``[0, 1]`` for an intensity: MEAD levels 1 (slight), 2 (medium), 3 (strong) give
    0.55, 0.8 and 1.0; values in between are interpolated, 0 gives no expression."""
    intensity = float(intensity)
    if not 0.0 <= intensity <= 3.0:
        raise ValueError(f"intensity must be in [0, 3] (MEAD levels 1-3), got {intensity!r}")
    levels = sorted(LEVEL_STRENGTH)
    return float(np.interp(intensity, levels, [LEVEL_STRENGTH[k] for k in levels]))


def emotion_action_units(emotion: str, intensity: float = 2) -> dict[str, float]:
    """AU intensities of a MEAD label at an intensity (1–3, in between interpolated; 0 none).

    ```py
    >>> emotion_action_units("happy", 3)
    {'AU6': 0.8, 'AU12': 1.0, 'AU25': 0.8, 'AU26': 0.4}
    ```
    """
    label = normalize_label(emotion)
    strength = emotion_strength(intensity)
    return {code: round(value * strength, 6) for code, value in EMOTION_ACTION_UNITS[label].items() if strength > 0}


def _phrase(code: str, value: float) -> str:
    base = code.rstrip("LR") if code[-1] in "LR" else code
    text = ACTION_UNITS[base].description
    if code != base:
        side = "left" if code.endswith("L") else "right"
        text = text.replace("the lip corners are", f"the {side} lip corner is")
    adverb = "slightly " if value < 0.4 else "strongly " if value > 0.85 else ""
    if adverb:
        for verb in (" are ", " is "):
            if verb in text:
                head, tail = text.split(verb, 1)
                return f"{head}{verb}{adverb}{tail}"
    return text


def describe_action_units(action_units: Mapping[str, float]) -> str:
    """Words for an expression: the action units from the strongest down, joined into one clause."""
    units = sorted(normalize_action_units(action_units).items(), key=lambda item: (-item[1], item[0]))
    phrases = [_phrase(code, value) for code, value in units]
    if not phrases:
        return "a relaxed face with no facial action beyond speaking"
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def describe_emotion(emotion: str, intensity: int = 2) -> str:
    """The description of a MEAD label at a level (1–3), written from :data:`EMOTION_ACTION_UNITS`.

    ```py
    >>> describe_emotion("happy", 3)
    'a strongly happy speaker: the lip corners are strongly pulled up and back into a smile, the lips are parted, ...'
    ```
    """
    label = normalize_label(emotion)
    level = int(intensity)
    if level not in INTENSITY_NAMES:
        raise ValueError(f"intensity must be one of {sorted(INTENSITY_NAMES)}, got {intensity!r}")
    if label == "neutral":
        return _NEUTRAL[level]
    clause = describe_action_units(emotion_action_units(label, level))
    return f"a {_ADVERBS[level]} {_ADJECTIVES[label]} speaker: {clause}, while talking"


__all__ = [
    "EMOTION_ACTION_UNITS",
    "EMOTION_LABELS",
    "LEVEL_STRENGTH",
    "describe_action_units",
    "describe_emotion",
    "emotion_action_units",
    "emotion_strength",
]
