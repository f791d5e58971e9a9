"""Mouth-parameter targets from phoneme timelines: the viseme table, bilabial closures at frame centres, diphthong
glides, pauses, and a real espeak-ng sentence."""

import numpy as np
import pytest

from eadnet.data.synthetic.speech import SpeechBackendError, espeak_backend, phoneme_openness, synthesize_speech
from eadnet.data.synthetic.visemes import is_bilabial, mouth_params_from_phonemes, phoneme_mouth_params
from eadnet.expression.mouth_params import MOUTH_PARAMS

JAW, SPREAD, ROUND, PRESS, TUCK, RAISE = range(6)


def _has_espeak() -> bool:
    try:
        espeak_backend()
    except SpeechBackendError:
        return False
    return True


def _frame_centres(num_frames, fps):
    return (np.arange(num_frames) + 0.5) / fps


def test_columns_follow_mouth_params():
    assert (
        MOUTH_PARAMS[JAW] == "jaw_open"
        and MOUTH_PARAMS[PRESS] == "lip_press"
        and MOUTH_PARAMS[TUCK] == ("lower_lip_tuck")
    )


def test_viseme_table():
    assert np.array_equal(phoneme_mouth_params("_"), np.zeros(6, np.float32))
    for bilabial in ("m", "b", "p", "'m"):
        params = phoneme_mouth_params(bilabial)
        assert params[JAW] == 0 and params[PRESS] == 1
    assert phoneme_mouth_params("f")[TUCK] == 1 and phoneme_mouth_params("v")[TUCK] > 0.5
    assert phoneme_mouth_params("u:")[ROUND] > 0.8 and phoneme_mouth_params("i:")[SPREAD] > 0.8
    assert phoneme_mouth_params("s")[RAISE] > phoneme_mouth_params("k")[RAISE]
    for name in ("a", "i:", "t", "aI", "@2", "h"):
        params = phoneme_mouth_params(name)
        assert params.dtype == np.float32 and params.shape == (6,)
        assert params[JAW] == pytest.approx(phoneme_openness(name))
        assert np.all((params >= 0) & (params <= 1))
    assert np.array_equal(phoneme_mouth_params("'a"), phoneme_mouth_params("a"))  # stress marks ignored


def test_is_bilabial():
    assert all(is_bilabial(name) for name in ("m", "b", "p", ",m", "p#"))
    assert not any(is_bilabial(name) for name in ("_", "f", "n", "a", "@", "mb"))


@pytest.mark.parametrize("fps", [25.0, 30.0, 50.0, 60.0])
def test_shapes_range_and_bilabials_closed_at_frame_centres(fps):
    timeline = [
        (0.0, 0.1, "_"),
        (0.1, 0.3, "a"),
        (0.3, 0.37, "b"),
        (0.37, 0.6, "a"),
        (0.6, 0.65, "m"),
        (0.65, 0.9, "A:"),
    ]
    timeline.append((0.9, 1.3, "_"))
    num_frames = int(1.4 * fps)
    params = mouth_params_from_phonemes(timeline, num_frames, fps=fps)
    assert params.shape == (num_frames, 6) and params.dtype == np.float32
    assert np.all((params >= 0) & (params <= 1))
    times = _frame_centres(num_frames, fps)
    inside = ((times >= 0.3) & (times < 0.37)) | ((times >= 0.6) & (times < 0.65))
    assert inside.any()
    assert np.all(params[inside, JAW] == 0) and np.all(params[inside, PRESS] == 1)
    vowel = np.argmin(np.abs(times - 0.2))
    assert params[vowel, JAW] > 0.8 and params[vowel, PRESS] < 0.1


def test_pauses_and_frames_past_the_end_are_closed():
    timeline = [(0.0, 0.3, "a"), (0.3, 1.0, "_"), (1.0, 1.2, "o")]
    params = mouth_params_from_phonemes(timeline, 40, fps=25)  # 1.6 s: 0.4 s past the timeline
    times = _frame_centres(40, 25)
    assert np.all(params[(times > 0.45) & (times < 0.85)] < 1e-3)
    assert np.all(params[times > 1.4] < 1e-3)
    assert params[np.argmin(np.abs(times - 0.15)), JAW] > 0.9


def test_diphthongs_glide():
    params = mouth_params_from_phonemes([(0.0, 0.1, "_"), (0.1, 0.5, "aU"), (0.5, 0.6, "_")], 60, fps=100)
    start, end = 15, 45  # 0.155 s and 0.455 s
    assert params[end, ROUND] > params[start, ROUND] + 0.3
    assert params[start, JAW] == pytest.approx(params[end, JAW], abs=0.1)
    params = mouth_params_from_phonemes([(0.0, 0.1, "_"), (0.1, 0.5, "aI"), (0.5, 0.6, "_")], 60, fps=100)
    assert params[end, SPREAD] > params[start, SPREAD] + 0.15


def test_bad_frame_counts_raise():
    with pytest.raises(ValueError, match="num_frames"):
        mouth_params_from_phonemes([(0.0, 0.1, "a")], 0)
    with pytest.raises(ValueError, match="fps"):
        mouth_params_from_phonemes([(0.0, 0.1, "a")], 4, fps=0)


@pytest.mark.skipif(not _has_espeak(), reason="no espeak-ng: pip install espeakng-loader, or apt install espeak-ng")
def test_real_sentence_closes_the_lips_on_every_bilabial():
    speech = synthesize_speech("Maybe bring the papers to Bob.", voice="en-us")
    num_frames = speech.num_frames(50)
    params = mouth_params_from_phonemes(speech.timeline, num_frames, fps=50)
    times = _frame_centres(num_frames, 50)
    bilabial = np.zeros(num_frames, dtype=bool)
    for start, end, phoneme in speech.timeline:
        if is_bilabial(phoneme):
            bilabial |= (times >= start) & (times < end)
    assert bilabial.sum() >= 8
    assert np.all(params[bilabial, JAW] == 0) and np.all(params[bilabial, PRESS] == 1)
    assert params[~bilabial, JAW].max() > 0.7
