"""The emotion vocabulary every part of EAD-Net speaks: MEAD's eight labels, their aliases, intensity levels, the
``"LABEL[:INTENSITY]"`` spec and :class:`EmotionSpec`, the one value that says which emotion to show.

The captioner (`eadnet.models.emotion_captioner`) turns an :class:`EmotionSpec` into a description; the data code,
the evaluation and the front ends (CLI, ComfyUI, Gradio) validate labels and intensities here, so that a label one
of them accepts is accepted by all. This module imports nothing but numpy (ComfyUI and Gradio read it at start-up).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: The eight MEAD emotion labels.
EMOTION_LABELS: tuple[str, ...] = ("angry", "contempt", "disgusted", "fear", "happy", "neutral", "sad", "surprised")

#: Unambiguous alternative spellings accepted for the MEAD labels (matched case-insensitively).
EMOTION_ALIASES: dict[str, str] = {
    "anger": "angry",
    "contemptuous": "contempt",
    "disgust": "disgusted",
    "fearful": "fear",
    "afraid": "fear",
    "scared": "fear",
    "happiness": "happy",
    "sadness": "sad",
    "surprise": "surprised",
}

#: MEAD intensity levels and their names.
INTENSITY_NAMES: dict[int, str] = {1: "slight", 2: "medium", 3: "strong"}

#: The intensity of a label given without one (``"happy"`` is ``"happy:2"``).
DEFAULT_INTENSITY = 2

#: Default maximum number of characters of a free-text description.
DEFAULT_MAX_TEXT_CHARS = 500


def normalize_label(label: str) -> str:
    """Map a MEAD label or an accepted alias (any case) to its canonical MEAD label.

    Args:
        label (`str`):
            One of `EMOTION_LABELS` or a key of `EMOTION_ALIASES`.

    Returns:
        `str`: the canonical label.
    """
    if not isinstance(label, str):
        raise ValueError(f"`label` must be a string, got {type(label).__name__}.")
    key = label.strip().lower()
    key = EMOTION_ALIASES.get(key, key)
    if key not in EMOTION_LABELS:
        raise ValueError(
            f"`label` {label!r} is not a MEAD emotion; expected one of {', '.join(EMOTION_LABELS)} "
            f"(aliases: {', '.join(sorted(EMOTION_ALIASES))})."
        )
    return key


def check_intensity(intensity: int, name: str = "intensity") -> int:
    """Validate a MEAD intensity level (1 slight, 2 medium, 3 strong) and return it as an int."""
    if isinstance(intensity, bool) or not isinstance(intensity, int | np.integer) or intensity not in INTENSITY_NAMES:
        raise ValueError(f"`{name}` must be 1 (slight), 2 (medium) or 3 (strong), got {intensity!r}.")
    return int(intensity)


def parse_emotion_spec(spec: str) -> tuple[str, int]:
    """Parse ``"LABEL"`` or ``"LABEL:INTENSITY"`` (e.g. ``"happy:3"``, ``"Sadness"``) into ``(label, intensity)``.

    Args:
        spec (`str`):
            The specification; a missing intensity defaults to `DEFAULT_INTENSITY` (2).

    Returns:
        `tuple[str, int]`: the canonical MEAD label and the intensity.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"`spec` must be a non-empty string like 'happy' or 'happy:3', got {spec!r}.")
    label, sep, level = spec.strip().partition(":")
    try:
        label = normalize_label(label)
    except ValueError as err:
        raise ValueError(f"`spec` {spec!r}: {err}") from None
    if not sep:
        return label, DEFAULT_INTENSITY
    level = level.strip()
    if not level.isdigit() or int(level) not in INTENSITY_NAMES:
        raise ValueError(f"`spec` {spec!r}: the intensity after ':' must be 1, 2 or 3.")
    return label, int(level)


def normalize_text(text: str, max_chars: int = DEFAULT_MAX_TEXT_CHARS) -> str:
    """Strip and collapse whitespace of a free-text description and validate its length.

    Args:
        text (`str`):
            The description.
        max_chars (`int`, *optional*, defaults to 500):
            Maximum number of characters after normalisation; longer text raises instead of being truncated.

    Returns:
        `str`: the normalised description.
    """
    if not isinstance(text, str):
        raise ValueError(f"`text` must be a string, got {type(text).__name__}.")
    text = " ".join(text.split())
    if not text:
        raise ValueError("`text` is empty or blank; describe the emotion in words.")
    if len(text) > max_chars:
        raise ValueError(f"`text` has {len(text)} characters, more than the maximum of {max_chars}; shorten it.")
    return text


@dataclass
class EmotionSpec:
    r"""Which emotion to show; set exactly one of ``label``, ``text`` or ``reference``.

    Args:
        label (`str`, *optional*):
            A MEAD emotion label (or alias), described by a template at ``intensity``.
        intensity (`int`, *optional*, defaults to 2):
            MEAD intensity of ``label``: 1 (slight), 2 (medium) or 3 (strong).
        text (`str`, *optional*):
            A free-text description, used as given after whitespace normalisation.
        reference (*optional*):
            Reference image(s) or video frames (PIL image(s), numpy or torch ``(F, H, W, 3)``) described by the
            vision-language model.
    """

    label: str | None = None
    intensity: int = DEFAULT_INTENSITY
    text: str | None = None
    reference: Any = None

    @classmethod
    def from_label(cls, label: str, intensity: int = DEFAULT_INTENSITY) -> EmotionSpec:
        """A validated label spec (aliases and any case accepted)."""
        return cls(label=normalize_label(label), intensity=check_intensity(intensity))

    @classmethod
    def from_inputs(
        cls, emotion: str | EmotionSpec | None = None, text: str | None = None, reference: Any = None
    ) -> EmotionSpec | None:
        """The spec of exactly one of: a ``"LABEL[:INTENSITY]"`` string or an :class:`EmotionSpec` (``emotion``),
        free ``text``, or ``reference`` frames; `None` when none is given.

        Raises:
            `ValueError`: more than one is given, or ``emotion`` is neither a string nor an :class:`EmotionSpec`.
        """
        given = [
            name
            for name, value in (("emotion", emotion), ("emotion_text", text), ("emotion_reference", reference))
            if value is not None
        ]
        if len(given) > 1:
            raise ValueError(f"give only one of emotion, emotion_text, emotion_reference; got {', '.join(given)}")
        if isinstance(emotion, EmotionSpec):
            return emotion
        if isinstance(emotion, str):
            return cls.from_label(*parse_emotion_spec(emotion))
        if emotion is not None:
            raise ValueError(f"emotion must be a 'LABEL[:INTENSITY]' string or an EmotionSpec, got {type(emotion)}")
        if text is not None:
            return cls(text=text)
        if reference is not None:
            return cls(reference=reference)
        return None
