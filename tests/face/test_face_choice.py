"""Choosing the face that talks: the choice's grammar, its selection among boxes, following it through a video, and
MediaPipe on a real two-face image."""

import numpy as np
import pytest

from eadnet.face import FaceChoice, FaceChoiceError, describe_faces, follow_face
from eadnet.settings import GenerationSettings

# two faces, the larger on the right, and a small one in the middle at the top (pixels of a 400 x 200 image)
BOXES = np.array([[250.0, 50.0, 350.0, 170.0], [20.0, 60.0, 100.0, 150.0], [180.0, 5.0, 220.0, 45.0]])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, "largest"),
        ("", "largest"),
        ("Largest", "largest"),
        ("centre", "center"),
        ("2", "2"),
        (1, "1"),
        (" 300 , 100 ", "300,100"),
        ("10,20,30.5,40", "10,20,30.5,40"),
    ],
)
def test_choices_parse_to_their_canonical_text(text, expected):
    assert str(FaceChoice.parse(text)) == expected
    assert GenerationSettings.from_options(face=text).face == expected


@pytest.mark.parametrize("text", ["left", "1,2,3", "-1", "30,40,10,50", True, 2.5])
def test_bad_choices_say_what_is_accepted(text):
    with pytest.raises(ValueError, match="face"):
        FaceChoice.parse(text)
    with pytest.raises(ValueError, match="face"):
        GenerationSettings.from_options(face=text)


def test_each_choice_selects_its_face():
    size = (200, 400)
    assert FaceChoice.parse("largest").select(BOXES, size) == 0
    assert FaceChoice.parse("center").select(BOXES, size) == 2
    # left to right by box centre: 1 (x 60), 2 (x 200), 0 (x 300)
    assert [FaceChoice.parse(str(n)).select(BOXES, size) for n in range(3)] == [1, 2, 0]
    assert FaceChoice.parse("60,100").select(BOXES, size) == 1
    assert FaceChoice.parse("110,100").select(BOXES, size) == 1  # just outside the box, within a face width
    assert FaceChoice.parse("240,40,360,180").select(BOXES, size) == 0
    assert FaceChoice.from_mask(_mask(size, BOXES[2])).select(BOXES, size) == 2


def test_a_choice_that_matches_no_face_lists_the_faces_found():
    size = (200, 400)
    for text in ("3", "170,190", "0,180,10,199"):
        with pytest.raises(FaceChoiceError, match=r"3 face\(s\) found .*face 0 at x 20-100.*face 2 at x 250-350"):
            FaceChoice.parse(text).select(BOXES, size)
    with pytest.raises(ValueError, match="empty"):
        FaceChoice.from_mask(np.zeros(size))
    assert describe_faces(np.zeros((0, 4))) == "no face found"


def test_following_a_face_keeps_the_same_person_when_another_grows_larger():
    previous = BOXES[1]
    moved = np.array([[240.0, 40.0, 380.0, 190.0], [28.0, 62.0, 108.0, 152.0]])  # the other face came closer
    assert follow_face(moved, previous) == 1
    assert follow_face(moved[:1], previous) is None  # our face left the frame
    assert follow_face(np.zeros((0, 4)), previous) is None


def _mask(size, box):
    mask = np.zeros(size, dtype=np.float32)
    x0, y0, x1, y1 = (int(v) for v in box)
    mask[y0 + 5 : y1 - 5, x0 + 5 : x1 - 5] = 1.0
    return mask


def two_faces(portrait: np.ndarray) -> np.ndarray:
    """The example portrait beside its mirror image: two real faces, 573 px apart."""
    return np.ascontiguousarray(np.concatenate([portrait, portrait[:, ::-1]], axis=1))


def test_mediapipe_chooses_each_face_of_a_real_two_face_image(example_portrait, face_detector):
    image = two_faces(example_portrait)
    boxes = face_detector.face_boxes(image)
    assert len(boxes) == 2 and boxes[0, 2] < 512 < boxes[1, 0]
    left, right = face_detector.detect(image, choice="0"), face_detector.detect(image, choice="1")
    assert left.landmarks[:, 0].max() < 512 < right.landmarks[:, 0].min()
    assert np.allclose(face_detector.detect(image).box, left.box)  # the left one is a little larger
    clicked = face_detector.detect(image, choice=f"{right.box[0] + 20:.0f},{right.box[1] + 20:.0f}")
    assert np.allclose(clicked.box, right.box)
    with pytest.raises(FaceChoiceError, match=r"only 2 face\(s\)"):
        face_detector.detect(image, choice="2")
    # in a video the chosen face is followed, whichever is larger later
    frames = [image, np.roll(image, 6, axis=1), np.roll(image, 12, axis=1)]
    tracked = face_detector.detect_video(frames, choice="1")
    assert all(d is not None and d.box[0] > 512 for d in tracked)
    shift = tracked[2].landmarks[:, 0].mean() - tracked[0].landmarks[:, 0].mean()
    assert shift == pytest.approx(12, abs=3)
