"""Lip-sync scores of predicted mouth parameters against the phoneme-derived truth (the audio-to-mouth model of the
``eadnet-mesh`` engine, :class:`~eadnet.models.audio_to_mouth.AudioToMouthModel`).

Per video frame, with the truth from :func:`~eadnet.data.synthetic.visemes.mouth_params_from_phonemes` at the same
frame centres ``(i + 0.5) / fps``:

- **jaw correlation**: Pearson r of the predicted and true ``jaw_open`` over all frames of an utterance (the mean
  over utterances, and pooled over all frames);
- **bilabial closure**: among the frames whose centre lies inside an /m b p/ phoneme, the share whose predicted
  ``jaw_open`` is below ``closed_threshold`` (0.1 by default: a lip gap of a tenth of the widest, 0.03 face units
  in the mesh renderer); the share with ``lip_press > 0.5`` is reported beside it;
- **pause closure**: among the frames inside pauses longer than ``min_pause_s`` (0.2 s), at least
  ``pause_margin_s`` from the pause's edges (the truth itself takes that long to close: its coarticulation smoothing
  has a standard deviation of 30 ms), the share whose predicted ``jaw_open`` is below ``closed_threshold``.

`score_mouth_params` scores one utterance into sums that `summarize_mouth_scores` pools over many;
`evaluate_mouth_model` runs a model over a [`~eadnet.data.mouth_dataset.MouthFeatureSet`] and does both.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from eadnet.data.mouth_dataset import WAVEFORM_RATE
from eadnet.data.synthetic.visemes import is_bilabial, mouth_params_from_phonemes
from eadnet.expression.mouth_params import MOUTH_PARAMS

if TYPE_CHECKING:  # pragma: no cover
    from eadnet.data.mouth_dataset import MouthFeatureSet
    from eadnet.models.audio_to_mouth import AudioToMouthModel
    from eadnet.models.voice_activity import VoiceActivityDetector

__all__ = ["evaluate_mouth_model", "score_mouth_params", "summarize_mouth_scores"]

_JAW, _PRESS = MOUTH_PARAMS.index("jaw_open"), MOUTH_PARAMS.index("lip_press")
_SUMS = ("n", "sx", "sy", "sxx", "syy", "sxy", "abs_error")


def _pearson_from_sums(sums: dict[str, float]) -> float:
    n = sums["n"]
    if n < 2:
        return float("nan")
    cov = sums["sxy"] - sums["sx"] * sums["sy"] / n
    var_x = sums["sxx"] - sums["sx"] ** 2 / n
    var_y = sums["syy"] - sums["sy"] ** 2 / n
    if var_x <= 1e-12 or var_y <= 1e-12:
        return float("nan")
    return float(cov / math.sqrt(var_x * var_y))


def score_mouth_params(
    predicted: np.ndarray,
    timeline: Sequence[tuple[float, float, str]],
    fps: float,
    closed_threshold: float = 0.1,
    min_pause_s: float = 0.2,
    pause_margin_s: float = 0.06,
) -> dict[str, float]:
    """Scores one utterance's predicted mouth parameters against its phoneme timeline.

    Args:
        predicted (`np.ndarray`): ``(F, 6)`` parameters per video frame (columns as :data:`MOUTH_PARAMS`).
        timeline (`list[tuple[float, float, str]]`): The utterance's ``(start_s, end_s, phoneme)``.
        fps (`float`): Video frame rate; frame ``i`` is read at ``(i + 0.5) / fps``.
        closed_threshold (`float`, *optional*, defaults to 0.1): ``jaw_open`` below this counts as closed lips.
        min_pause_s (`float`, *optional*, defaults to 0.2): Pauses scored are longer than this.
        pause_margin_s (`float`, *optional*, defaults to 0.06): Frames this close to a pause's edge are not scored.

    Returns:
        `dict`: ``jaw_r`` (this utterance's correlation), the sums ``n, sx, sy, sxx, syy, sxy, abs_error`` of the
        jaw pairs (predicted x, true y), ``bilabial_frames``, ``bilabial_closed``, ``bilabial_pressed``,
        ``pause_frames``, ``pause_closed``.
    """
    predicted = np.asarray(predicted, dtype=np.float64)
    if predicted.ndim != 2 or predicted.shape[1] != len(MOUTH_PARAMS) or len(predicted) == 0:
        raise ValueError(f"`predicted` must be (F, {len(MOUTH_PARAMS)}) with F >= 1, got {predicted.shape}")
    num_frames = len(predicted)
    truth = mouth_params_from_phonemes(list(timeline), num_frames, fps=fps).astype(np.float64)
    times = (np.arange(num_frames) + 0.5) / fps
    bilabial = np.zeros(num_frames, dtype=bool)
    pause = np.zeros(num_frames, dtype=bool)
    for start, end, phoneme in timeline:
        if is_bilabial(phoneme):
            bilabial |= (times >= start) & (times < end)
        elif phoneme == "_" and end - start > min_pause_s:
            pause |= (times >= start + pause_margin_s) & (times < end - pause_margin_s)
    x, y = predicted[:, _JAW], truth[:, _JAW]
    closed = x < closed_threshold
    sums = {
        "n": float(num_frames),
        "sx": float(x.sum()),
        "sy": float(y.sum()),
        "sxx": float((x * x).sum()),
        "syy": float((y * y).sum()),
        "sxy": float((x * y).sum()),
        "abs_error": float(np.abs(x - y).sum()),
    }
    return {
        "jaw_r": _pearson_from_sums(sums),
        **sums,
        "bilabial_frames": float(bilabial.sum()),
        "bilabial_closed": float((closed & bilabial).sum()),
        "bilabial_pressed": float(((predicted[:, _PRESS] > 0.5) & bilabial).sum()),
        "pause_frames": float(pause.sum()),
        "pause_closed": float((closed & pause).sum()),
    }


def summarize_mouth_scores(rows: Iterable[dict[str, float]]) -> dict[str, float]:
    """Pools `score_mouth_params` rows.

    Returns:
        `dict`: ``utterances``, ``frames``, ``jaw_r_mean`` (mean of the utterances' correlations), ``jaw_r_pooled``
        (over all frames), ``jaw_mae``, ``bilabial_frames``, ``bilabial_closed_rate``, ``bilabial_pressed_rate``,
        ``pause_frames``, ``pause_closed_rate`` (NaN where there is nothing to count).
    """
    rows = list(rows)
    if not rows:
        raise ValueError("no scores to summarize")
    sums = {name: sum(row[name] for row in rows) for name in _SUMS}
    correlations = [row["jaw_r"] for row in rows if math.isfinite(row["jaw_r"])]
    bilabial = sum(row["bilabial_frames"] for row in rows)
    pauses = sum(row["pause_frames"] for row in rows)
    nan = float("nan")
    return {
        "utterances": len(rows),
        "frames": int(sums["n"]),
        "jaw_r_mean": float(np.mean(correlations)) if correlations else nan,
        "jaw_r_pooled": _pearson_from_sums(sums),
        "jaw_mae": sums["abs_error"] / sums["n"],
        "bilabial_frames": int(bilabial),
        "bilabial_closed_rate": sum(row["bilabial_closed"] for row in rows) / bilabial if bilabial else nan,
        "bilabial_pressed_rate": sum(row["bilabial_pressed"] for row in rows) / bilabial if bilabial else nan,
        "pause_frames": int(pauses),
        "pause_closed_rate": sum(row["pause_closed"] for row in rows) / pauses if pauses else nan,
    }


def evaluate_mouth_model(
    model: AudioToMouthModel,
    feature_set: MouthFeatureSet,
    fps: float = 25.0,
    voice_activity: VoiceActivityDetector | Callable[..., np.ndarray] | None = None,
    **thresholds: Any,
) -> dict[str, float]:
    """Scores a model on every utterance of a feature set at ``fps`` (see the module docstring).

    Args:
        model ([`AudioToMouthModel`]): The model.
        feature_set ([`~eadnet.data.mouth_dataset.MouthFeatureSet`]): Cached Whisper features, specs and timelines.
        fps (`float`, *optional*, defaults to 25): Video frame rate of the scored frames.
        voice_activity ([`~eadnet.models.voice_activity.VoiceActivityDetector`] or `Callable`, *optional*): Gate the
            prediction as :meth:`AudioToMouthModel.predict` does, on the 16 kHz waveforms kept with the features;
            `None` scores the model's own output.
        **thresholds: ``closed_threshold``, ``min_pause_s``, ``pause_margin_s`` of `score_mouth_params`.

    Returns:
        `dict`: `summarize_mouth_scores` of the utterances, plus ``fps`` and ``gated``.
    """
    rows = []
    for index, timeline in enumerate(feature_set.timelines):
        duration = timeline[-1][1]
        num_frames = max(1, math.ceil(duration * fps - 1e-6))
        features = feature_set.utterance_features(index)[None]
        predicted = model.predict_frames(features, num_frames, fps)[0].cpu().numpy()
        if voice_activity is not None:
            gate = voice_activity(feature_set.utterance_waveform(index), WAVEFORM_RATE, num_frames, fps)
            predicted = predicted * np.asarray(gate, dtype=np.float32)[:, None]
        rows.append(score_mouth_params(predicted, timeline, fps, **thresholds))
    return {**summarize_mouth_scores(rows), "fps": float(fps), "gated": voice_activity is not None}
