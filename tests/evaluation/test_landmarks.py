"""Face-mesh measures: mouth opening, jitter, seams, identity drift and expression geometry."""

import importlib.util

import cv2
import numpy as np
import pytest

from eadnet.evaluation.landmarks import (
    EMOTION_GEOMETRY_LABELS,
    REGIONS,
    GeometryExpressionClassifier,
    expression_geometry,
    face_landmarks,
    geometry_emotion,
    identity_drift,
    inter_ocular_distance,
    landmark_jitter,
    landmark_jitter_per_frame,
    mouth_opening,
    seam_frames,
    seam_jitter,
)

pytest.importorskip("mediapipe", reason="needs mediapipe==0.10.14")

HAS_SYNTHETIC = importlib.util.find_spec("eadnet.data.synthetic") is not None


@pytest.fixture(scope="module")
def detector():
    from eadnet.face import MediaPipeFaceDetector

    with MediaPipeFaceDetector(tracking=False) as detector:
        yield detector


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    from eadnet.assets import example_portrait_path
    from eadnet.io import load_image

    return load_image(example_portrait_path())


@pytest.fixture(scope="module")
def mesh(portrait, detector) -> np.ndarray:
    return face_landmarks(portrait, detector)[0]


def rotation(angle_deg: float, scale: float = 1.0, shift=(0.0, 0.0), centre=(256.0, 256.0)) -> np.ndarray:
    return cv2.getRotationMatrix2D(centre, angle_deg, scale) + np.array([[0, 0, shift[0]], [0, 0, shift[1]]])


def apply(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


# ------------------------------------------------------------------------------------------------ mouth
def test_face_landmarks_and_mouth_opening_on_the_portrait(portrait, mesh, detector):
    assert mesh.shape == (478, 2)
    # lip points 13 / 14 at y ≈ 143 / 150 on the astronaut, eyes ≈ 42 px apart
    assert mesh[13, 1] == pytest.approx(143, abs=3) and mesh[14, 1] == pytest.approx(150, abs=3)
    assert inter_ocular_distance(mesh)[0] == pytest.approx(42, abs=3)
    opening = mouth_opening(mesh)
    assert opening.shape == (1,) and 0.1 < opening[0] < 0.25  # the portrait smiles with parted lips
    # a frame without a face gives a NaN row, not an error
    blank = np.full_like(portrait, 127)
    landmarks = face_landmarks(np.stack([portrait, blank]), detector)
    assert landmarks.shape == (2, 478, 2) and np.isnan(landmarks[1]).all()
    np.testing.assert_allclose(landmarks[0], mesh)
    assert np.isnan(mouth_opening(landmarks)[1])


def test_mouth_opening_is_scale_and_rotation_invariant(mesh):
    moved = apply(mesh, rotation(20, 1.7, (30, -12)))
    np.testing.assert_allclose(mouth_opening(moved), mouth_opening(mesh), rtol=1e-9)
    with pytest.raises(ValueError, match="478"):
        mouth_opening(np.zeros((10, 2)))


# ------------------------------------------------------------------------------------------------ jitter
def smooth_motion(mesh: np.ndarray, num_frames: int = 60) -> np.ndarray:
    """Slow head motion (±10°, ±20 px, ±5 %) plus a mouth opening and closing about twice a second."""
    frames = []
    mouth = list(REGIONS["mouth"])
    for t in range(num_frames):
        phase = 2 * np.pi * t / 50
        points = mesh.copy()
        points[mouth[len(mouth) // 2 :]] += [0, 4 * (1 - np.cos(2 * np.pi * t / 12))]  # lower lip, ~0.2 IOD
        frames.append(
            apply(
                points,
                rotation(10 * np.sin(phase), 1 + 0.05 * np.sin(phase / 2), (20 * np.sin(phase), 10 * np.cos(phase))),
            )
        )
    return np.stack(frames)


def test_jitter_still_smooth_shaking(mesh):
    rng = np.random.default_rng(0)
    still = np.repeat(mesh[None], 60, axis=0)
    smooth = smooth_motion(mesh)
    shaking = still + rng.normal(0, 0.01 * inter_ocular_distance(mesh)[0], size=still.shape)  # 1 % IOD noise
    jitter = {
        name: landmark_jitter(points) for name, points in (("still", still), ("smooth", smooth), ("shaking", shaking))
    }
    assert jitter["still"] == pytest.approx(0, abs=1e-9)
    assert jitter["still"] < jitter["smooth"] < jitter["shaking"]
    assert jitter["smooth"] < 0.005 < 0.02 < jitter["shaking"]
    # a head that moves at constant speed has no acceleration, aligned or not
    drift = np.stack([mesh + [t, 0.5 * t] for t in range(20)])
    assert landmark_jitter(drift, align=False) == pytest.approx(0, abs=1e-9)


def test_jitter_alignment_removes_rigid_shake_only(mesh):
    rng = np.random.default_rng(1)
    shake = np.stack(
        [apply(mesh, rotation(rng.normal(0, 3), 1 + rng.normal(0, 0.03), rng.normal(0, 5, 2))) for _ in range(40)]
    )
    assert landmark_jitter(shake, align=True) < 1e-9 < 0.05 < landmark_jitter(shake, align=False)


def test_jitter_per_frame_and_regions(mesh):
    points = np.repeat(mesh[None], 10, axis=0)
    points[5, list(REGIONS["mouth"])] += [0, 2.0]  # the lips jump for one frame
    per_frame = landmark_jitter_per_frame(points, region="mouth")
    assert np.isnan(per_frame[[0, 9]]).all()
    assert np.flatnonzero(per_frame > 1e-6).tolist() == [4, 5, 6]
    assert landmark_jitter(points, region="mouth") > landmark_jitter(points, region="all") > 0
    assert landmark_jitter(points, region="eyes") < 1e-9
    assert landmark_jitter(points, region=[13, 14]) > 0
    # missing frames leave holes, not errors
    points[2] = np.nan
    per_frame = landmark_jitter_per_frame(points)
    assert np.isnan(per_frame[1:4]).all() and np.isfinite(per_frame[4:9]).all()
    with pytest.raises(ValueError, match="region"):
        landmark_jitter(points, region="ears")
    assert np.isnan(landmark_jitter(points[:2]))


def test_seam_frames_follow_the_pipeline_windows():
    assert seam_frames(16).tolist() == []
    assert seam_frames(44).tolist() == [16, 30]  # windows 0, 14, 28: new content from 16 and 30 on
    assert seam_frames(50).tolist() == [16, 30, 44]  # the last window is moved back to start at 34
    assert seam_frames(30, window=10, overlap=0).tolist() == [10, 20]
    with pytest.raises(ValueError, match="overlap"):
        seam_frames(30, window=4, overlap=4)


def test_seam_jitter_finds_jumps_at_window_seams(mesh):
    smooth = smooth_motion(mesh, num_frames=58)
    plain = seam_jitter(landmark_jitter_per_frame(smooth), window=16, overlap=2)
    assert plain["seams"] == [16, 30, 44]
    assert 0.3 < plain["ratio"] < 3
    jumped = smooth.copy()
    for number, seam in enumerate(plain["seams"]):
        jumped[seam:, list(REGIONS["mouth"])] += [0, 1.5 if number % 2 == 0 else -1.5]  # the lips jump at each seam
    seams = seam_jitter(landmark_jitter_per_frame(jumped), window=16, overlap=2)
    assert seams["ratio"] > 3 and len(seams["seam_values"]) == 3
    assert seams["other_mean"] == pytest.approx(plain["other_mean"], rel=0.2)


@pytest.mark.skipif(not HAS_SYNTHETIC, reason="needs eadnet.data.synthetic")
def test_jitter_on_rendered_clips(portrait, detector):
    """Real frames: a still face, a smoothly talking one, and one whose mouth flickers at random."""
    from eadnet.data.synthetic import SyntheticTalker

    talker = SyntheticTalker(portrait, detector=detector)
    t = np.arange(30)
    openness = {
        "still": np.zeros(30),
        "smooth": 0.3 * (1 - np.cos(2 * np.pi * t / 15)),
        "shaking": np.random.default_rng(0).uniform(0, 0.6, 30),
    }
    jitter = {}
    for name, curve in openness.items():
        frames = talker.render(curve, head_motion=name == "smooth", blink=False)
        jitter[name] = landmark_jitter(face_landmarks(frames, detector), region="mouth")
    assert jitter["still"] < 1e-9
    assert jitter["still"] < jitter["smooth"] < jitter["shaking"] / 2


# ------------------------------------------------------------------------------------------------ identity
def test_identity_drift_from_landmarks(mesh):
    same = identity_drift(np.stack([mesh, apply(mesh, rotation(15, 0.8, (5, 9)))]), mesh)
    assert same["geometry"] < 1e-9 and same["appearance"] is None
    mouth_moved = mesh.copy()
    mouth_moved[list(REGIONS["mouth"])] += [0, 6.0]  # the mouth is not part of identity
    assert identity_drift(mouth_moved[None], mesh)["geometry"] < 1e-9
    wider_eyes = mesh.copy()
    centre = mesh[list(REGIONS["nose"])].mean(axis=0)
    for region in ("eyes", "brows"):
        index = list(REGIONS[region])
        wider_eyes[index, 0] = centre[0] + 1.15 * (mesh[index, 0] - centre[0])
    assert identity_drift(wider_eyes[None], mesh)["geometry"] > 0.02


def test_identity_drift_on_images(portrait, detector):
    similar = cv2.warpAffine(portrait, rotation(8, 0.9, (10, -6)), (512, 512), borderMode=cv2.BORDER_REFLECT)
    stretched = np.ascontiguousarray(cv2.resize(portrait, (640, 512))[:, 64:576])  # not a similarity
    hsv = cv2.cvtColor(portrait, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0].astype(int) + 30) % 180
    recoloured = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    report = identity_drift(np.stack([portrait, similar, stretched, recoloured]), portrait, detector=detector)
    geometry = report["geometry_per_frame"]
    appearance = report["appearance_per_frame"]
    structure = report["appearance_structure_per_frame"]
    # the portrait itself: zero up to the interpolation rounding of the OpenCV build (5.1 differs from 5.0 by ~1e-5)
    assert geometry[0] < 1e-9 and appearance[0] < 1e-4 and structure[0] < 1e-4
    assert geometry[1] < 0.02 and appearance[1] < 0.03  # moved, turned and scaled: the same face
    assert geometry[2] > 0.04 and structure[2] > 0.1  # a warped face
    assert appearance[3] > 0.05 and structure[3] < 0.1  # other colours, same structure
    assert report["num_frames"] == 4 and report["frames_without_face"] == 0
    assert report["geometry"] == pytest.approx(np.mean(geometry))


# ------------------------------------------------------------------------------------------------ expression
def test_expression_geometry_features(mesh):
    features = expression_geometry(mesh)
    assert set(features) >= {"mouth_corner_lift", "brow_height", "eye_opening", "mouth_width", "mouth_opening"}
    assert all(value.shape == (1,) for value in features.values())
    assert features["mouth_corner_lift"][0] > 0.08  # the astronaut smiles
    assert 0.8 < features["mouth_width"][0] < 1.3 and 0.2 < features["brow_height"][0] < 0.5
    turned = expression_geometry(apply(mesh, rotation(25, 0.6, (40, 0))))
    for name, value in features.items():
        np.testing.assert_allclose(turned[name], value, atol=1e-9, err_msg=name)


def moved(mesh: np.ndarray, moves: dict) -> np.ndarray:
    """``mesh`` with points moved by ``(dx, dy)`` in units of the inter-ocular distance."""
    points = mesh.copy()
    iod = inter_ocular_distance(mesh)[0]
    for indices, (dx, dy) in moves.items():
        points[list(indices)] += np.array([dx, dy]) * iod
    return points


def test_geometry_emotion_rules(mesh):
    neutral = expression_geometry(mesh)
    brows = REGIONS["brows"]
    upper_lids = (159, 158, 160, 386, 385, 387)
    cases = {
        "neutral": mesh,
        "happy": moved(mesh, {(61,): (-0.03, -0.08), (291,): (0.03, -0.08)}),
        "sad": moved(mesh, {(61, 291): (0, 0.08)}),
        "surprised": moved(mesh, {brows: (0, -0.1), upper_lids: (0, -0.06), (14, 17): (0, 0.2)}),
        "angry": moved(mesh, {brows: (0, 0.06), (107, 55, 65): (0.04, 0), (336, 285, 295): (-0.04, 0)}),
        "disgusted": moved(mesh, {(0, 13, 37, 267): (0, -0.08)}),
        "contempt": moved(mesh, {(291,): (0.02, -0.08)}),
    }
    for label, points in cases.items():
        guess = geometry_emotion(expression_geometry(points), neutral)
        scores = dict(zip(EMOTION_GEOMETRY_LABELS, guess["scores"][0].round(2), strict=True))
        assert guess["label"] == label, (label, scores)
    # without a neutral frame the defaults apply: the smiling portrait reads happy
    assert geometry_emotion(expression_geometry(mesh))["label"] == "happy"
    missing = geometry_emotion(expression_geometry(np.full((2, 478, 2), np.nan)))
    assert missing["labels"] == ["unknown", "unknown"] and missing["label"] == "unknown"


@pytest.mark.skipif(not HAS_SYNTHETIC, reason="needs eadnet.data.synthetic")
def test_geometry_emotion_on_rendered_expressions(portrait, detector):
    from eadnet.data.synthetic import SyntheticTalker

    talker = SyntheticTalker(portrait, detector=detector)
    frames = {
        label: talker.render(np.zeros(1), label, 3, head_motion=False, blink=False)
        for label in ("neutral", "happy", "sad", "surprised")
    }
    neutral = expression_geometry(face_landmarks(frames["neutral"], detector))
    for label, clip in frames.items():
        assert geometry_emotion(expression_geometry(face_landmarks(clip, detector)), neutral)["label"] == label
    classifier = GeometryExpressionClassifier(neutral=neutral, detector=detector)
    probs = classifier.predict(np.concatenate([frames["surprised"], np.full_like(frames["sad"], 127)]))
    assert probs.shape == (2, 8)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert classifier.labels[int(probs[0].argmax())] == "surprised"
    np.testing.assert_allclose(probs[1], 1 / 8)  # no face: uniform
