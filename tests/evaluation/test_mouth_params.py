"""Lip-sync scores of predicted mouth parameters against the phoneme truth."""

import math

import numpy as np
import pytest

from eadnet.data.synthetic.visemes import mouth_params_from_phonemes
from eadnet.evaluation.mouth_params import score_mouth_params, summarize_mouth_scores

TIMELINE = [
    (0.0, 0.3, "_"),
    (0.3, 0.5, "a"),
    (0.5, 0.6, "m"),
    (0.6, 0.8, "o"),
    (0.8, 1.2, "_"),  # a 0.4 s pause
    (1.2, 1.4, "i:"),
    (1.4, 1.5, "b"),
    (1.5, 1.7, "A:"),
    (1.7, 1.8, "_"),  # too short to score
]


def test_the_truth_scores_perfectly():
    fps = 25.0
    truth = mouth_params_from_phonemes(TIMELINE, 45, fps=fps)
    row = score_mouth_params(truth, TIMELINE, fps, pause_margin_s=0.05)
    assert row["jaw_r"] == pytest.approx(1.0)
    assert row["bilabial_frames"] == 5 and row["bilabial_closed"] == 5 == row["bilabial_pressed"]
    times = (np.arange(45) + 0.5) / fps
    scored_pause = ((times >= 0.05) & (times < 0.25)) | ((times >= 0.85) & (times < 1.15))
    assert row["pause_frames"] == scored_pause.sum() and row["pause_closed"] == row["pause_frames"]


def test_an_always_open_mouth_fails_closures_and_pooling_adds_up():
    fps = 25.0
    truth = mouth_params_from_phonemes(TIMELINE, 45, fps=fps)
    open_mouth = truth.copy()
    open_mouth[:, 0] = 0.5 + 0.1 * truth[:, 0]  # correlated, but never closed
    bad = score_mouth_params(open_mouth, TIMELINE, fps)
    assert bad["jaw_r"] == pytest.approx(1.0) and bad["bilabial_closed"] == 0 and bad["pause_closed"] == 0
    good = score_mouth_params(truth, TIMELINE, fps)
    summary = summarize_mouth_scores([good, bad])
    assert summary["utterances"] == 2 and summary["frames"] == 90
    assert summary["bilabial_closed_rate"] == pytest.approx(0.5) and summary["pause_closed_rate"] == pytest.approx(0.5)
    assert summary["jaw_r_mean"] == pytest.approx(1.0) and summary["jaw_r_pooled"] < 0.9
    assert summary["jaw_mae"] > 0


def test_constant_predictions_and_bad_shapes():
    row = score_mouth_params(np.zeros((45, 6)), TIMELINE, 25.0)
    assert math.isnan(row["jaw_r"]) and row["bilabial_closed"] == row["bilabial_frames"]
    assert math.isnan(summarize_mouth_scores([row])["jaw_r_mean"])
    with pytest.raises(ValueError, match="predicted"):
        score_mouth_params(np.zeros((45, 5)), TIMELINE, 25.0)
    with pytest.raises(ValueError, match="no scores"):
        summarize_mouth_scores([])
