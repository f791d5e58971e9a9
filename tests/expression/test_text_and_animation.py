"""Free text → action units, reference measurement, and the motion tracks."""

import numpy as np
import pytest

from eadnet.expression import MotionTrack, emotion_action_units, text_action_units
from eadnet.expression.animation import blink_track, expression_envelope, head_motion_track, render_track
from eadnet.expression.measure import measure_reference
from eadnet.expression.mesh import NUM_MESH


def _no_embedder(texts):
    raise AssertionError("the literal passes should have answered")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("very angry", emotion_action_units("angry", 3)),
        ("Slightly sad, please", emotion_action_units("sad", 1)),
        ("AU12 and au4", {"AU12": 0.8, "AU4": 0.8}),
        ("a smirk", {"AU12L": 0.64, "AU14L": 0.48}),  # phrases at level 2 (0.8 of full)
        ("strongly raised eyebrows", {"AU1": 1.0, "AU2": 1.0}),
        ("lip corner puller", {"AU12": 0.8}),
    ],
)
def test_labels_au_codes_and_phrases_are_read_literally(text, expected):
    assert text_action_units(text, embedder=_no_embedder) == pytest.approx(expected)


def test_the_similarity_pass_picks_the_closest_description():
    def embedder(texts):
        # a toy embedding: 1 on the axis of "joyful"/"cheerful", else orthogonal
        return np.array([[1.0, 0.0] if ("joy" in t or "cheerful" in t) else [0.0, 1.0] for t in texts])

    assert text_action_units("so joyful today", embedder=embedder) == emotion_action_units("happy", 2)
    assert text_action_units("xyzzy", embedder=lambda texts: np.eye(len(texts))) == {}  # nothing similar enough
    with pytest.raises(ValueError, match="empty"):
        text_action_units("  ")


def test_a_reference_clip_is_measured_against_its_own_first_frames(landmarks):
    from eadnet.expression import ActionUnitBasis

    basis = ActionUnitBasis(landmarks)
    frames = []
    for index in range(12):
        moved = landmarks.copy()
        if index >= 4:  # three rest frames, then a growing frown
            moved[:NUM_MESH] += basis.displacement({"AU4": min(1.0, 0.2 * (index - 3))})
        frames.append(moved)
    units = measure_reference(frames)
    assert units.get("AU4", 0) > 0.6


def test_envelope_blinks_and_head_motion():
    envelope = expression_envelope(50, 25.0, onset_s=0.5)
    assert envelope[0] < 0.05 and envelope[12:].min() == pytest.approx(1.0) and np.all(np.diff(envelope) >= 0)
    assert expression_envelope(50, 25.0, onset_s=0.2, offset_s=0.4)[-1] < 0.05
    blinks = blink_track(250, 25.0, np.random.default_rng(0))
    assert blinks.max() == pytest.approx(1.0) and 0.01 < (blinks > 0.5).mean() < 0.1
    pose = head_motion_track(250, 25.0, np.random.default_rng(0))
    assert 0.5 < np.abs(pose).max() < 3.0 and np.abs(np.diff(pose, axis=0)).max() < 0.5  # smooth, a few degrees
    assert np.all(head_motion_track(10, 25.0, np.random.default_rng(0), scale=0.0) == 0)
    with pytest.raises(ValueError):
        expression_envelope(0, 25.0)


def test_tracks_are_seeded_and_validated():
    mouth = np.zeros((40, 6))
    first = MotionTrack.build(mouth, {"AU12": 0.8}, seed=3)
    again = MotionTrack.build(mouth, {"AU12": 0.8}, seed=3)
    other = MotionTrack.build(mouth, {"AU12": 0.8}, seed=4)
    np.testing.assert_array_equal(first.pose, again.pose)
    assert not np.array_equal(first.pose, other.pose)
    # replacing: the target's units are raised to it (never lowered), the face's other units taken away (per side)
    replaced = MotionTrack.build(mouth, {"AU12": 0.8}, remove={"AU12": 0.5, "AU15": 0.2}, onset_s=0.0)
    change = dict(zip(replaced.unit_names, replaced.action_units[0], strict=True))
    assert change == pytest.approx({"AU12L": 0.3, "AU12R": 0.3, "AU15L": -0.2, "AU15R": -0.2})
    kept = MotionTrack.build(mouth, {"AU12": 0.4}, remove={"AU12L": 0.9, "AU12R": 0.9}, onset_s=0.0)
    assert kept.unit_names == ()  # a broad smile asked to look a little happy keeps its smile
    assert first.slice(10, 20).num_frames == 10
    with pytest.raises(ValueError, match="mouth"):
        MotionTrack(np.zeros((4, 5)))


def test_render_track_draws_on_given_backgrounds(rig):
    track = MotionTrack.build(np.zeros((3, 6)), None, head_motion=0.0, blink=False)
    backgrounds = [np.full_like(rig.image, value) for value in (0, 100, 200)]
    frames = list(render_track(rig, track, backgrounds))
    assert [int(frame[0, 0, 0]) for frame in frames] == [0, 100, 200]
