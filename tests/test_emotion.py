"""The emotion vocabulary (`eadnet.emotion`): one place for labels, aliases, intensities and EmotionSpec."""

import numpy as np
import pytest

from eadnet.emotion import (
    EMOTION_LABELS,
    EmotionSpec,
    check_intensity,
    normalize_label,
    parse_emotion_spec,
)


def test_aliases_and_case_map_to_mead_labels():
    assert normalize_label(" Sadness ") == "sad" and normalize_label("AFRAID") == "fear"
    assert all(normalize_label(label.upper()) == label for label in EMOTION_LABELS)
    with pytest.raises(ValueError, match="not a MEAD emotion"):
        normalize_label("joyful")


def test_intensity_accepts_ints_and_numpy_ints_only():
    assert check_intensity(np.int64(3)) == 3
    for bad in (0, 4, 2.0, True, "2"):
        with pytest.raises(ValueError, match="must be 1"):
            check_intensity(bad)


def test_from_inputs_takes_exactly_one_source():
    assert EmotionSpec.from_inputs() is None
    assert EmotionSpec.from_inputs("Happiness:3") == EmotionSpec(label="happy", intensity=3)
    assert EmotionSpec.from_inputs("sad") == EmotionSpec(label="sad", intensity=2)
    assert EmotionSpec.from_inputs(text="a warm smile") == EmotionSpec(text="a warm smile")
    frames = [np.zeros((4, 4, 3), np.uint8)]
    assert EmotionSpec.from_inputs(reference=frames).reference is frames
    given = EmotionSpec(label="fear", intensity=1)
    assert EmotionSpec.from_inputs(given) is given
    with pytest.raises(ValueError, match="only one of emotion, emotion_text"):
        EmotionSpec.from_inputs("happy", text="calm")
    with pytest.raises(ValueError, match="LABEL\\[:INTENSITY\\]"):
        EmotionSpec.from_inputs(3)


def test_from_label_validates():
    assert EmotionSpec.from_label("Surprise", 1) == EmotionSpec(label="surprised", intensity=1)
    with pytest.raises(ValueError):
        EmotionSpec.from_label("happy", 5)
    assert parse_emotion_spec("angry:1") == ("angry", 1)
