"""The warp and the expression editor: fold-free at extremes, the background untouched, every image layout, errors."""

import numpy as np
import pytest

from eadnet.expression import ExpressionEditor, FaceRig, HeadPose
from eadnet.expression.editor import combine_action_units, own_expression
from eadnet.expression.measure import FEATURE_NAMES, mesh_features
from eadnet.expression.mesh import NUM_MESH
from eadnet.face import NoFaceError
from eadnet.testing import StaticFaceDetector

EXTREME = {
    "AU1": 1.0,
    "AU2": 1.0,
    "AU4": 1.0,
    "AU5": 1.0,
    "AU6": 1.0,
    "AU7": 1.0,
    "AU9": 1.0,
    "AU10": 1.0,
    "AU12": 1.0,
    "AU15": 1.0,
    "AU17": 1.0,
    "AU20": 1.0,
    "AU23": 1.0,
    "AU24": 1.0,
    "AU26": 1.0,
    "AU43": 1.0,
}


@pytest.fixture()
def editor(portrait, landmarks):
    return ExpressionEditor(detector=StaticFaceDetector(landmarks, portrait.shape[:2]))


@pytest.mark.parametrize(
    ("units", "mouth", "pose"),
    [
        (EXTREME, None, HeadPose(pitch=30, yaw=-30, roll=30)),
        ({"AU26": 1.0, "AU5": 1.0, "AU1": 1.0, "AU2": 1.0}, [1, 0, 1, 0, 0, 1], HeadPose(yaw=30)),
        ({"AU24": 1.0, "AU17": 1.0, "AU43": 1.0, "AU4": 1.0}, [0, 1, 0, 1, 1, 0], HeadPose(pitch=-30, roll=-30)),
    ],
)
def test_the_warp_never_folds_the_skin_at_extreme_intensities(rig, units, mouth, pose):
    mesh = rig.basis.displacement(units, mouth=mouth, close_mouth=1.0)
    points = rig.points(mesh, pose=pose)
    assert rig.warp.jacobian_determinants(points).min() > 0
    assert np.abs(points[:NUM_MESH] - rig.landmarks[:NUM_MESH]).max() > 3  # and it still moves
    frame = rig.render(points)
    assert frame.shape == rig.image.shape and frame.dtype == rig.image.dtype


def test_pixels_outside_the_face_are_untouched(rig, portrait, face_box):
    mesh = rig.basis.displacement({"AU12": 1.0, "AU1": 1.0, "AU26": 1.0}, close_mouth=1.0)
    frame = rig.render(rig.points(mesh, pose=HeadPose(yaw=10, pitch=5)))
    (x0, y0), (x1, y1) = face_box
    outside = np.ones(portrait.shape[:2], dtype=bool)
    outside[max(0, y0) : y1, max(0, x0) : x1] = False
    np.testing.assert_array_equal(frame[outside], portrait[outside])
    assert np.abs(frame.astype(int) - portrait.astype(int)).max() > 40


def test_edit_keeps_size_and_dtype_for_every_layout(editor, portrait):
    gray = portrait.mean(axis=2).astype(np.uint8)
    rgba = np.concatenate([portrait, np.full(portrait.shape[:2] + (1,), 200, np.uint8)], axis=2)
    deep = portrait.astype(np.uint16) * 257
    floating = portrait.astype(np.float32) / 255.0
    for image in (portrait, gray, rgba, deep, floating):
        edited = editor.edit(image, emotion="happy", intensity=3)
        assert edited.shape == image.shape and edited.dtype == image.dtype
        assert not np.array_equal(edited, image)
    np.testing.assert_array_equal(editor.edit(rgba, emotion="sad")[..., 3], rgba[..., 3])  # alpha left alone
    # 16-bit keeps its depth: the low byte is not thrown away outside the edit
    edited = editor.edit(deep, action_units={"AU12": 0.5})
    assert edited[0, 0, 0] == deep[0, 0, 0] and np.unique(edited % 257).size > 1


def test_edit_works_on_a_huge_image(portrait, landmarks):
    import cv2

    huge = cv2.resize(portrait, (4096, 4096), interpolation=cv2.INTER_LINEAR)
    editor = ExpressionEditor(detector=StaticFaceDetector(landmarks, portrait.shape[:2]))
    edited = editor.edit(huge, emotion="surprised", intensity=3)
    assert edited.shape == huge.shape
    changed = np.argwhere(np.any(edited != huge, axis=2))
    # only the face region (about a third of the side) changes
    assert changed.size and (changed.max(axis=0) - changed.min(axis=0)).max() < 0.75 * 4096


def test_no_face_is_a_clear_error(portrait, landmarks):
    editor = ExpressionEditor(detector=StaticFaceDetector(landmarks, portrait.shape[:2], missing=lambda image: True))
    with pytest.raises(NoFaceError, match="no face found"):
        editor.edit(portrait, emotion="happy")


def test_bad_arguments_are_rejected(editor, portrait):
    with pytest.raises(ValueError, match="intensity"):
        editor.edit(portrait, emotion="happy", intensity=5)
    with pytest.raises(ValueError, match="unknown action unit"):
        editor.edit(portrait, action_units={"AU99": 0.5})
    with pytest.raises(ValueError, match="gaze"):
        editor.edit(portrait, gaze=(1.0, 0.0))
    with pytest.raises(ValueError, match="degrees"):
        HeadPose(yaw=60)
    with pytest.raises(ValueError, match="image must be"):
        editor.edit(np.zeros((64, 64, 2), np.uint8))


def test_units_override_the_emotion_and_zero_removes_one():
    units = combine_action_units("happy", 3, {"AU12": 0, "AU4": 0.4})
    assert "AU12" not in units and units["AU4"] == 0.4 and units["AU6"] > 0


def test_replacing_the_expression_takes_the_portrait_s_smile_away(editor, portrait, rig, detector):
    # the example portrait smiles; asked to look sad, the lip corners go down further than when the smile is kept
    assert own_expression(rig).get("AU12L", 0) > 0.3
    replaced = detector.detect(editor.edit(portrait, emotion="sad", intensity=3)).landmarks
    kept = detector.detect(editor.edit(portrait, emotion="sad", intensity=3, keep_expression=True)).landmarks
    corners = [FEATURE_NAMES.index("corner_up_l"), FEATURE_NAMES.index("corner_up_r")]
    height_replaced = mesh_features(replaced)[corners].mean()
    height_kept = mesh_features(kept)[corners].mean()
    assert height_replaced < height_kept - 0.02  # face units: 2 % of the eye distance


def test_edit_frames_follows_the_no_face_policy(portrait, landmarks):
    dark = np.zeros_like(portrait)
    frames = [portrait, dark, portrait]
    editor = ExpressionEditor(
        detector=StaticFaceDetector(landmarks, portrait.shape[:2], missing=lambda image: image.max() == 0)
    )
    with pytest.raises(NoFaceError, match="frame 1"):
        list(editor.edit_frames(frames, emotion="happy"))
    assert len(list(editor.edit_frames(frames, emotion="happy", no_face="skip"))) == 2
    held = list(editor.edit_frames(frames, emotion="happy", no_face="hold"))
    assert len(held) == 3 and np.array_equal(held[1], dark) and not np.array_equal(held[0], portrait)


def test_gaze_and_blink_move_the_eyes(editor, portrait, landmarks):
    from eadnet.expression.mesh import EYES

    blink = editor.edit(portrait, blink=1.0)
    glance = editor.edit(portrait, gaze=(0.1, 0.0))
    for image in (blink, glance):
        x0, y0 = np.floor(landmarks[EYES[0]["upper"] + EYES[0]["lower"]].min(axis=0)).astype(int)
        x1, y1 = np.ceil(landmarks[EYES[0]["upper"] + EYES[0]["lower"]].max(axis=0)).astype(int)
        assert np.abs(image[y0:y1, x0:x1].astype(int) - portrait[y0:y1, x0:x1].astype(int)).max() > 30


def test_rig_rejects_a_face_too_small(portrait, landmarks):
    centre = landmarks.mean(axis=0)
    with pytest.raises(ValueError, match="too small"):
        FaceRig(portrait, centre + (landmarks - centre) * 0.05)
