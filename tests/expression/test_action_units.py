"""Action units: the table, the fields, the round trip through measurement, lip and lid contact."""

import itertools

import numpy as np
import pytest

from eadnet.expression import ACTION_UNITS, EMOTION_ACTION_UNITS, ActionUnitBasis, emotion_action_units
from eadnet.expression.action_units import normalize_action_units, normalize_au
from eadnet.expression.measure import classify_action_units, measure_action_units, measure_expression
from eadnet.expression.mesh import EYES, LOWER_INNER, NUM_MESH, UPPER_INNER

REQUIRED = [1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 24, 25, 26, 43, 45]


def test_the_issue_s_action_units_exist_with_sides_where_facs_has_them():
    for number in REQUIRED:
        assert f"AU{number}" in ACTION_UNITS
    assert ACTION_UNITS["AU12"].bilateral and ACTION_UNITS["AU14"].bilateral
    assert normalize_au("12l") == "AU12L" and normalize_au(12) == "AU12" and normalize_au(" au4 ") == "AU4"
    with pytest.raises(ValueError, match="unknown action unit"):
        normalize_au("AU99")
    with pytest.raises(ValueError, match="no one-sided variant"):
        normalize_au("AU26L")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        normalize_action_units({"AU12": 1.5})
    assert normalize_action_units({"12": 0.3, "AU12": 0.9}) == {"AU12": 1.0}


def test_fields_are_per_face_pixels_and_sides_add_up(landmarks):
    basis = ActionUnitBasis(landmarks)
    for name in basis.names:
        field = basis.field(name)
        assert field.shape == (NUM_MESH, 2) and np.all(np.isfinite(field))
    np.testing.assert_allclose(basis.field("AU12L") + basis.field("AU12R"), basis.field("AU12"), atol=1e-9)
    # the subject's left is the image's right: AU12L moves the right-hand corner (291) more than the left (61)
    left = basis.field("AU12L")
    assert np.linalg.norm(left[291]) > 5 * np.linalg.norm(left[61])
    # face units: a face twice as large gets fields twice as large
    double = ActionUnitBasis(landmarks * 2.0)
    np.testing.assert_allclose(double.field("AU4"), 2.0 * basis.field("AU4"), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "units",
    [{"AU12": 0.6}, {"AU1": 0.5, "AU4": 0.5}, {"AU12L": 0.7}, {"AU26": 0.5}, {"AU5": 0.8}, {"AU15": 0.7}],
)
def test_round_trip_action_units_to_displacement_to_measured_units(landmarks, units):
    basis = ActionUnitBasis(landmarks)
    moved = landmarks.copy()
    moved[:NUM_MESH] += basis.displacement(units)
    measured = measure_action_units(moved, neutral=landmarks)
    for code, value in units.items():
        sides = [code + "L", code + "R"] if code in ("AU12",) else [code]
        for name in sides:
            assert measured.get(name, 0.0) == pytest.approx(value, abs=0.2), (code, measured)
    # and nothing far off is invented
    others = {
        code: value for code, value in measured.items() if code.rstrip("LR") not in {c.rstrip("LR") for c in units}
    }
    assert max(others.values(), default=0.0) < 0.2, others


@pytest.mark.parametrize("label", [label for label in EMOTION_ACTION_UNITS if label != "neutral"])
def test_every_emotion_is_recognised_from_the_geometry_it_applies(landmarks, label):
    basis = ActionUnitBasis(landmarks)
    moved = landmarks.copy()
    moved[:NUM_MESH] += basis.displacement(emotion_action_units(label, 3))
    result = measure_expression(moved, neutral=landmarks)
    assert result.emotion == label and result.similarity > 0.7
    assert classify_action_units({}) == ("neutral", 0.0)


def test_lips_and_lids_never_pass_through_each_other(landmarks):
    basis = ActionUnitBasis(landmarks)
    frame = basis.frame
    for units in ({"AU17": 1.0, "AU24": 1.0, "AU23": 1.0}, {"AU43": 1.0, "AU7": 1.0, "AU6": 1.0, "AU45": 1.0}):
        moved = landmarks[:NUM_MESH] + basis.displacement(units, close_mouth=1.0)
        down = moved @ frame.ey
        lip_gap = down[LOWER_INNER[1:-1]] - down[UPPER_INNER[1:-1]]
        assert lip_gap.min() >= -basis.lip_press_px - 0.01
        for eye in EYES:
            assert (down[eye["lower"]] - down[eye["upper"]]).min() >= -1e-6


def test_emotion_table_scales_with_intensity_and_levels():
    for label in EMOTION_ACTION_UNITS:
        slight, medium, strong = (emotion_action_units(label, level) for level in (1, 2, 3))
        assert set(slight) == set(medium) == set(strong)
        for code in strong:
            assert slight[code] < medium[code] < strong[code] <= 1.0
    assert emotion_action_units("neutral", 3) == {}
    assert set(emotion_action_units("contempt")) == {"AU12L", "AU14L"}  # one-sided, as EMFACS scores it
    with pytest.raises(ValueError):
        emotion_action_units("bored")


def test_all_pairs_of_units_combine_without_nan(landmarks):
    basis = ActionUnitBasis(landmarks)
    codes = ["AU1", "AU4", "AU12", "AU15", "AU24", "AU26", "AU43"]
    for a, b in itertools.combinations(codes, 2):
        assert np.all(np.isfinite(basis.displacement({a: 1.0, b: 1.0})))
