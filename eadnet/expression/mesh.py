"""The 478-point MediaPipe face mesh: the landmark groups the expression code moves, and a face's own frame.

Coordinates are image pixels, x to the right, y down. "Face units" are the inter-ocular distance (the distance of
the two eye centres), measured along the face's own axes: ``u`` along the line of the eyes (towards the image's
right), ``v`` down the face, both from the centre of the mouth. Every action unit is defined in face units
(:mod:`eadnet.expression.action_units`), so one table fits faces of any size, position and roll.

Image-left is the subject's right side (a portrait faces the camera); FACS "left" and "right" are the subject's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# MediaPipe face-mesh indices (canonical topology).
FACE_OVAL = (
    [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377]
    + [152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]
)  # fmt: skip
UPPER_OUTER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]
LOWER_OUTER = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291]
UPPER_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
LOWER_INNER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]
MOUTH_CORNERS = (61, 291)
#: Eyes (image-left, image-right): upper and lower lid from the outer to the inner corner, two rows of skin above
#: the upper lid, the corners, and the iris points (centre first) of the refined mesh.
EYES = (
    {
        "upper": [246, 161, 160, 159, 158, 157, 173],
        "lower": [7, 163, 144, 145, 153, 154, 155],
        "crease": [247, 30, 29, 27, 28, 56, 190],
        "crease2": [113, 225, 224, 223, 222, 221, 189],
        "corners": [33, 133],
        "iris": [468, 469, 470, 471, 472],
    },
    {
        "upper": [466, 388, 387, 386, 385, 384, 398],
        "lower": [249, 390, 373, 374, 380, 381, 382],
        "crease": [467, 260, 259, 257, 258, 286, 414],
        "crease2": [342, 445, 444, 443, 442, 441, 413],
        "corners": [263, 362],
        "iris": [473, 474, 475, 476, 477],
    },
)
#: Brows (image-left, image-right): inner end, middle, outer end.
BROW_INNER = (55, 285)
BROW_MIDDLE = (105, 334)
BROW_OUTER = (46, 276)
CHEEKS = (205, 425)
NOSTRILS = (64, 294)
NOSE_TIP = 4
CHIN = 152
#: Points of the warp. The 10 iris points (468-477) are left out: the eye's inside is drawn, not warped.
NUM_MESH = 468
NUM_LANDMARKS = 478


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def check_landmarks(landmarks) -> np.ndarray:
    """``landmarks`` as a float64 ``(478, 2)`` array (the refined MediaPipe mesh, in pixels); raises `ValueError`."""
    points = np.asarray(landmarks, dtype=np.float64)
    if points.ndim != 2 or points.shape[0] < NUM_MESH or points.shape[1] != 2:
        raise ValueError(f"landmarks must be the (478, 2) MediaPipe face mesh in pixels, got shape {points.shape}")
    if not np.all(np.isfinite(points)):
        raise ValueError("landmarks must be finite")
    return points


@dataclass(frozen=True)
class FaceFrame:
    """A face's own axes and unit, from its mesh.

    Args:
        origin (`np.ndarray`): ``(2,)`` the mouth centre in pixels.
        ex (`np.ndarray`): ``(2,)`` unit vector along the eyes (towards the image's right).
        ey (`np.ndarray`): ``(2,)`` unit vector down the face.
        iod (`float`): Inter-ocular distance in pixels.
    """

    origin: np.ndarray
    ex: np.ndarray
    ey: np.ndarray
    iod: float

    @classmethod
    def from_landmarks(cls, landmarks) -> FaceFrame:
        lm = check_landmarks(landmarks)
        left_eye = lm[[33, 133]].mean(axis=0)
        right_eye = lm[[263, 362]].mean(axis=0)
        axis = right_eye - left_eye
        iod = float(np.linalg.norm(axis))
        if iod < 8.0:
            raise ValueError(f"the face is too small to animate (eyes {iod:.1f} px apart; at least 8 needed)")
        ex = axis / iod
        origin = lm[[*MOUTH_CORNERS, 13, 14]].mean(axis=0)
        return cls(origin=origin, ex=ex, ey=np.array([-ex[1], ex[0]]), iod=iod)

    def to_face(self, points: np.ndarray) -> np.ndarray:
        """Pixels ``(..., 2)`` → face units ``(..., 2)`` (u, v)."""
        rel = np.asarray(points, dtype=np.float64) - self.origin
        return np.stack([rel @ self.ex, rel @ self.ey], axis=-1) / self.iod

    def vectors_to_pixels(self, vectors: np.ndarray) -> np.ndarray:
        """Displacements in face units ``(..., 2)`` → pixels ``(..., 2)``."""
        vectors = np.asarray(vectors, dtype=np.float64)
        return self.iod * (vectors[..., :1] * self.ex + vectors[..., 1:2] * self.ey)

    def vectors_to_face(self, vectors: np.ndarray) -> np.ndarray:
        """Displacements in pixels ``(..., 2)`` → face units ``(..., 2)``."""
        vectors = np.asarray(vectors, dtype=np.float64)
        return np.stack([vectors @ self.ex, vectors @ self.ey], axis=-1) / self.iod


def mesh_similarity(source: np.ndarray, target: np.ndarray, indices=None) -> np.ndarray:
    """The least-squares similarity (rotation, uniform scale, translation) taking ``source`` points onto ``target``
    points, as a ``(2, 3)`` matrix (Umeyama 1991). ``indices`` picks the points that fit it (default: all)."""
    src = np.asarray(source, dtype=np.float64)
    dst = np.asarray(target, dtype=np.float64)
    if indices is not None:
        src, dst = src[indices], dst[indices]
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rotation = u @ sign @ vt
    scale = float(np.trace(np.diag(sig) @ sign) / max(np.mean(np.sum(s**2, axis=1)), 1e-12))
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = mu_d - scale * rotation @ mu_s
    return matrix


#: Points that move little with expression and speech (nose bridge, eye corners, temples, upper face oval): they fit
#: the head's similarity transform when an expression is measured.
STABLE_POINTS = [6, 168, 197, 195, 5, 4, 33, 133, 263, 362, 127, 356, 234, 454, 10, 109, 338, 151, 9]
