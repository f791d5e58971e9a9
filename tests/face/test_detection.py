"""MediaPipe face detection and mesh on the test portrait (the astronaut from scikit-image, public domain)."""

import os
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from eadnet.face.detection import (
    FaceDetection,
    FaceDetector,
    MediaPipeFaceDetector,
    NoFaceError,
    check_rgb_uint8,
)

pytest.importorskip("mediapipe", reason="needs mediapipe==0.10.14 (pip install mediapipe==0.10.14)")

# MediaPipe 0.10.14 on the astronaut: BlazeFace short-range box (x0, y0, x1, y1) and lip points 13 / 14.
EXPECTED_BOX = np.array([177.6, 82.9, 272.9, 178.2])
EXPECTED_LIP_Y = (143.0, 150.0)


def portrait_path() -> Path | None:
    """``eadnet/assets/portrait.png`` (or ``$EADNET_TEST_PORTRAIT``, a copy of scikit-image's astronaut)."""
    candidates = []
    try:
        from eadnet.assets import example_portrait_path

        candidates.append(Path(example_portrait_path()))
    except (ImportError, AttributeError, FileNotFoundError):
        pass
    candidates.append(Path(__file__).resolve().parents[2] / "eadnet" / "assets" / "portrait.png")
    if os.environ.get("EADNET_TEST_PORTRAIT"):
        candidates.append(Path(os.environ["EADNET_TEST_PORTRAIT"]))
    return next((path for path in candidates if path.is_file()), None)


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    path = portrait_path()
    if path is None:
        pytest.skip(
            "test portrait eadnet/assets/portrait.png (scikit-image's astronaut, 512x512) is missing; "
            "set EADNET_TEST_PORTRAIT to a copy"
        )
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def detector():
    with MediaPipeFaceDetector() as detector:
        yield detector


def test_detects_the_portrait(portrait, detector):
    assert isinstance(detector, FaceDetector)
    detection = detector.detect(portrait)
    assert isinstance(detection, FaceDetection)
    assert detection.score > 0.8
    np.testing.assert_allclose(detection.box, EXPECTED_BOX, atol=8)
    assert detection.landmarks.shape == (478, 2)
    np.testing.assert_allclose(detection.landmarks[[13, 14], 1], EXPECTED_LIP_Y, atol=3)
    # the mesh sits on the face: its centre is inside the box
    centre = detection.landmarks.mean(axis=0)
    assert detection.box[0] < centre[0] < detection.box[2] and detection.box[1] < centre[1] < detection.box[3]


@pytest.mark.parametrize("kind", ["grey", "noise"])
def test_no_face_gives_none(detector, kind):
    if kind == "grey":
        image = np.full((320, 400, 3), 128, np.uint8)
    else:
        image = np.random.default_rng(0).integers(0, 256, (320, 400, 3), dtype=np.uint8)
    assert detector.detect(image) is None


def test_large_image_is_detected_on_a_downscaled_copy(portrait, detector):
    small = detector.detect(portrait)
    big = cv2.resize(portrait, (8000, 8000), interpolation=cv2.INTER_LINEAR)
    factor = 8000 / portrait.shape[0]
    detection = detector.detect(big)
    del big
    assert detection is not None and detection.score > 0.8
    np.testing.assert_allclose(detection.box / factor, small.box, atol=8)
    # landmarks refined on a full-resolution cut-out agree with those of the 512 px original
    error = np.abs((detection.landmarks + 0.5) / factor - 0.5 - small.landmarks).mean()
    assert error < 1.5


def test_picks_the_largest_face(portrait, detector):
    # a sharp face and a larger, blurred one that BlazeFace scores lower: the larger one must win
    face_region = portrait[20:280, 100:360]  # the face, about 95 px wide
    canvas = np.full((420, 720, 3), 200, np.uint8)
    canvas[10:310, 10:310] = cv2.resize(face_region, (300, 300), interpolation=cv2.INTER_AREA)
    large = cv2.resize(face_region, (400, 400), interpolation=cv2.INTER_AREA)
    canvas[10:410, 310:710] = cv2.GaussianBlur(large, (0, 0), 6)
    boxes = detector._find_boxes(canvas)
    assert len(boxes) == 2
    (first_box, first_score), (second_box, second_score) = sorted(boxes, key=lambda item: -item[1])
    assert first_box[2] - first_box[0] < second_box[2] - second_box[0]  # the best-scored face is the smaller
    detection = detector.detect(canvas)
    assert detection is not None
    np.testing.assert_allclose(detection.box, second_box)
    assert detection.landmarks[:, 0].min() > 310 and detection.width > 120


def test_detect_video_tracks_and_reports_missing_frames(portrait, detector):
    grey = np.full_like(portrait, 127)
    frames = [portrait, portrait, grey, portrait, np.roll(portrait, 6, axis=1)]
    results = detector.detect_video(frames)
    assert [r is None for r in results] == [False, False, True, False, False]
    still = detector.detect(portrait)
    for index in (0, 1, 3):
        assert np.abs(results[index].landmarks - still.landmarks).mean() < 1.5
    shift = (results[4].landmarks - results[3].landmarks).mean(axis=0)
    np.testing.assert_allclose(shift, [6, 0], atol=1.0)
    static = MediaPipeFaceDetector(tracking=False)
    try:
        assert [r is None for r in static.detect_video(iter(frames))] == [False, False, True, False, False]
    finally:
        static.close()


def test_input_validation_names_the_argument(detector):
    with pytest.raises(ValueError, match=r"image must be a uint8 RGB array"):
        detector.detect(np.zeros((64, 64), np.uint8))
    with pytest.raises(ValueError, match=r"RGBA"):
        detector.detect(np.zeros((64, 64, 4), np.uint8))
    with pytest.raises(ValueError, match=r"frames\[1\]"):
        detector.detect_video([np.zeros((64, 64, 3), np.uint8), np.zeros((64, 64, 3), np.float32)])
    with pytest.raises(ValueError, match="frame"):
        check_rgb_uint8([[1, 2, 3]], "frame")


def test_close_and_reuse(portrait):
    detector = MediaPipeFaceDetector()
    assert detector.detect(portrait) is not None
    detector.close()
    assert detector._static_mesh is None and not detector._box_detectors
    assert detector.detect(portrait) is not None  # graphs are recreated on demand
    detector.close()


def test_missing_mediapipe_gives_an_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "mediapipe.python.solutions", None)
    with pytest.raises(ImportError, match=r"pip install mediapipe==0\.10\.14"):
        MediaPipeFaceDetector()


def test_no_face_error_says_what_to_do():
    error = NoFaceError(frame_index=7)
    assert isinstance(error, ValueError) and error.frame_index == 7
    assert "frame 7" in str(error) and "80 px" in str(error)
    assert "portrait" in str(NoFaceError())
