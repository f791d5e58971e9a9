"""The example portrait's face rig (the portrait and its mesh come from tests/conftest.py)."""

import numpy as np
import pytest


@pytest.fixture(scope="session")
def portrait(example_portrait):
    return example_portrait


@pytest.fixture(scope="session")
def landmarks(example_landmarks):
    return example_landmarks


@pytest.fixture(scope="session")
def detector(face_detector):
    return face_detector


@pytest.fixture(scope="session")
def rig(portrait, landmarks):
    from eadnet.expression import FaceRig

    return FaceRig(portrait, landmarks)


@pytest.fixture()
def face_box(landmarks):
    """``(x0, y0, x1, y1)`` of the face oval grown by 2.2 (the warp's outer ring lies within 2.1)."""
    from eadnet.expression.mesh import FACE_OVAL

    oval = landmarks[FACE_OVAL]
    centre = oval.mean(axis=0)
    grown = centre + 2.2 * (oval - centre)
    return np.floor(grown.min(axis=0)).astype(int), np.ceil(grown.max(axis=0)).astype(int)
