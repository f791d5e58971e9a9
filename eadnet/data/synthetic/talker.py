"""Synthetic talking clips: a real portrait warped by its own face mesh so that the mouth follows speech and the face
shows an emotion.

Used for tests and for training a small offline demo model when no talking-head data set is at hand. The method:

1. The portrait's 478-point MediaPipe face mesh is detected once. Around it, two rings (the face oval scaled by 1.4
   and 2.1) and points on the image border are added, and the points are triangulated (Delaunay, on a copy of the
   layout with the mouth held open so that the lips' inside is triangulated between upper and lower lip).
2. Per frame, each mesh point gets a displacement: the lips are first closed (a portrait with parted lips is brought
   to a closed mouth), then the lower lip and jaw drop and the upper lip rises with the frame's mouth opening, the
   emotion moves brows, lids, cheeks, nose and lip corners (FACS-style action units scaled by the intensity), blinks
   close the lids, and the face and inner ring move by a small smooth head motion. The outer ring and the border stay
   where they are, so everything outside the outer ring is left untouched.
3. The piecewise-affine map from each output triangle to its portrait triangle is rasterised in the region around
   the face and applied with a single ``cv2.remap``.
4. Where the lips part, the mouth's inside is painted: upper teeth under the upper lip (their colour taken from the
   portrait when it shows teeth), a dark cavity, a hint of tongue and of lower teeth.

```py
>>> from eadnet.data.synthetic import make_synthetic_clip
>>> clip = make_synthetic_clip(text="Hello there, how are you today?", emotion="happy", intensity=2)
>>> clip.frames.shape, clip.fps  # (F, 512, 512, 3) uint8, 25 fps; F = ceil(duration × fps)
```
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from eadnet.assets import example_portrait_path, example_speech_path, example_speech_text
from eadnet.data.synthetic.speech import (
    DEFAULT_VOICE,
    SpeechTrack,
    mouth_openness_from_audio,
    mouth_openness_from_phonemes,
    synthesize_speech,
)
from eadnet.emotion import check_intensity, normalize_label
from eadnet.face import MediaPipeFaceDetector, NoFaceError

# eadnet.io (PIL, soundfile, soxr) and scipy are imported where a portrait is loaded or triangulated and a clip is
# written, so that importing `eadnet.data.synthetic` for a corpus plan or for speech alone does not load them.

logger = logging.getLogger(__name__)

__all__ = [
    "LABELS_FILE",
    "IdentityAugmentation",
    "SyntheticClip",
    "SyntheticClipSpec",
    "SyntheticTalker",
    "emotion_strength",
    "make_synthetic_clip",
    "write_synthetic_videos",
]

# ---------------------------------------------------------------------------------------------------- mesh topology
# MediaPipe face-mesh indices (canonical topology; image-left is the subject's right side).
_FACE_OVAL = [
    10,
    338,
    297,
    332,
    284,
    251,
    389,
    356,
    454,
    323,
    361,
    288,
    397,
    365,
    379,
    378,
    400,
    377,
    152,
    148,
    176,
    149,
    150,
    136,
    172,
    58,
    132,
    93,
    234,
    127,
    162,
    21,
    54,
    103,
    67,
    109,
]
_UPPER_OUTER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]
_LOWER_OUTER = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291]
_UPPER_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
_LOWER_INNER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]
_MOUTH_CORNERS = (61, 291)
# eyes: upper and lower lid from the outer to the inner corner, and two rows of skin above the upper lid
_EYES = (
    {
        "upper": [246, 161, 160, 159, 158, 157, 173],
        "lower": [7, 163, 144, 145, 153, 154, 155],
        "crease": [247, 30, 29, 27, 28, 56, 190],
        "crease2": [113, 225, 224, 223, 222, 221, 189],
        "corners": [33, 133],
    },
    {
        "upper": [466, 388, 387, 386, 385, 384, 398],
        "lower": [249, 390, 373, 374, 380, 381, 382],
        "crease": [467, 260, 259, 257, 258, 286, 414],
        "crease2": [342, 445, 444, 443, 442, 441, 413],
        "corners": [263, 362],
    },
)
# brows (image-left, image-right): inner end, middle, outer end
_BROW_INNER = (55, 285)
_BROW_MIDDLE = (105, 334)
_BROW_OUTER = (46, 276)
_CHEEKS = (205, 425)
_NOSTRILS = (64, 294)
_NUM_MESH = 468  # the 10 iris points (468-477) are left out of the warp: they move with the lids' triangles

#: Expression strength for a MEAD intensity level (1 slight, 2 medium, 3 strong); in between is interpolated.
_LEVEL_STRENGTH = {0: 0.0, 1: 0.55, 2: 0.8, 3: 1.0}

# Emotion actions at full strength, in units of the inter-ocular distance (x towards the image's right, y down;
# "out" is away from the face's midline). FACS action units in brackets.
_EMOTIONS: dict[str, dict[str, Any]] = {
    "neutral": {},
    "happy": {  # AU6 + AU12 (+ AU25)
        "corners": (0.07, -0.10),
        "cheeks": (0.01, -0.045),
        "lower_lids": -0.02,
        "open": 0.12,
    },
    "sad": {  # AU1 + AU4 + AU15 (+ AU17)
        "corners": (-0.01, 0.14),
        "brow_inner": (-0.02, -0.09),
        "brow_outer": (0.0, 0.03),
        "upper_lids": 0.02,
        "chin": -0.025,
        "press": 0.3,
    },
    "angry": {  # AU4 + AU5 + AU7 + AU23/AU24
        "brow_inner": (-0.045, 0.09),
        "brow_middle": (-0.02, 0.07),
        "brow_outer": (0.0, 0.035),
        "upper_lids": -0.012,
        "lower_lids": -0.022,
        "corners": (-0.025, 0.01),
        "chin": -0.03,
        "nostrils": (0.015, -0.01),
        "press": 0.6,
    },
    "surprised": {  # AU1 + AU2 + AU5 + AU26
        "brow_inner": (0.0, -0.1),
        "brow_middle": (0.0, -0.12),
        "brow_outer": (0.0, -0.1),
        "upper_lids": -0.035,
        "corners": (-0.03, 0.02),
        "open": 0.4,
    },
    "fear": {  # AU1 + AU2 + AU4 + AU5 + AU20 + AU25
        "brow_inner": (-0.025, -0.09),
        "brow_middle": (-0.01, -0.05),
        "brow_outer": (0.0, -0.02),
        "upper_lids": -0.03,
        "corners": (0.07, 0.03),
        "open": 0.18,
    },
    "disgusted": {  # AU9 + AU10 (+ AU4, AU15)
        "upper_lip": -0.06,
        "nostrils": (0.005, -0.04),
        "brow_inner": (-0.025, 0.045),
        "brow_middle": (0.0, 0.03),
        "lower_lids": -0.025,
        "cheeks": (0.0, -0.02),
        "corners": (0.0, 0.04),
    },
    "contempt": {  # unilateral AU12 + AU14
        "corner_right": (0.06, -0.08),
        "cheek_right": (0.0, -0.015),
    },
}


def emotion_strength(intensity: float) -> float:
    """Expression strength in ``[0, 1]`` for an intensity: MEAD levels 1 (slight), 2 (medium), 3 (strong) give
    0.55, 0.8 and 1.0; values in between are interpolated, 0 gives no expression."""
    intensity = float(intensity)
    if not 0.0 <= intensity <= 3.0:
        raise ValueError(f"intensity must be in [0, 3] (MEAD levels 1-3), got {intensity!r}")
    levels = sorted(_LEVEL_STRENGTH)
    return float(np.interp(intensity, levels, [_LEVEL_STRENGTH[k] for k in levels]))


def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


# ---------------------------------------------------------------------------------------------------- augmentation
@dataclass
class IdentityAugmentation:
    """Changes of framing and look applied identically to every frame of a clip (so that one portrait gives many
    identities), after the face is animated.

    Args:
        flip (`bool`, *optional*, defaults to `False`): Mirror left-right.
        scale (`float`, *optional*, defaults to 1): Zoom about the image centre (> 1 crops in, < 1 shows more,
            the border being mirrored).
        shift (`tuple[float, float]`, *optional*, defaults to `(0, 0)`): Translation as fractions of width and
            height (a crop off-centre).
        rotation (`float`, *optional*, defaults to 0): Rotation in degrees, counter-clockwise.
        brightness (`float`, *optional*, defaults to 0): Added to all channels, as a fraction of 255.
        contrast (`float`, *optional*, defaults to 1): Factor about mid-grey.
        saturation (`float`, *optional*, defaults to 1): Factor on the distance from each pixel's grey.
        hue_shift (`float`, *optional*, defaults to 0): Hue rotation in degrees.
        gamma (`float`, *optional*, defaults to 1): Gamma applied after the other colour changes.
        light_strength (`float`, *optional*, defaults to 0): Side lighting: the gain runs linearly from
            ``1 - light_strength`` to ``1 + light_strength`` across the image.
        light_angle (`float`, *optional*, defaults to 0): Direction the light comes from, in degrees (0: from the
            image's right, 90: from the top).
    """

    flip: bool = False
    scale: float = 1.0
    shift: tuple[float, float] = (0.0, 0.0)
    rotation: float = 0.0
    brightness: float = 0.0
    contrast: float = 1.0
    saturation: float = 1.0
    hue_shift: float = 0.0
    gamma: float = 1.0
    light_strength: float = 0.0
    light_angle: float = 0.0

    def __post_init__(self):
        self.shift = (float(self.shift[0]), float(self.shift[1]))
        if not 0.25 <= self.scale <= 4.0:
            raise ValueError(f"scale must be in [0.25, 4], got {self.scale!r}")
        if self.contrast < 0 or self.saturation < 0 or self.gamma <= 0:
            raise ValueError("contrast and saturation must be >= 0 and gamma > 0")
        if not 0.0 <= self.light_strength < 1.0:
            raise ValueError(f"light_strength must be in [0, 1), got {self.light_strength!r}")

    @classmethod
    def random(cls, seed: int | np.random.Generator | None = None, strength: float = 1.0) -> IdentityAugmentation:
        """A random augmentation; ``strength`` scales every range (0: none, 1: moderate).

        Args:
            seed (`int` or `np.random.Generator`, *optional*): Seed or generator.
            strength (`float`, *optional*, defaults to 1): Scale of the ranges.
        """
        rng = np.random.default_rng(seed)
        s = float(strength)
        return cls(
            flip=bool(rng.random() < 0.5) if s > 0 else False,
            scale=float(np.exp(rng.uniform(-0.12, 0.18) * s)),
            shift=(float(rng.uniform(-0.05, 0.05) * s), float(rng.uniform(-0.05, 0.05) * s)),
            rotation=float(rng.uniform(-4.0, 4.0) * s),
            brightness=float(rng.uniform(-0.08, 0.08) * s),
            contrast=float(np.exp(rng.uniform(-0.2, 0.2) * s)),
            saturation=float(np.exp(rng.uniform(-0.35, 0.3) * s)),
            hue_shift=float(rng.uniform(-8.0, 8.0) * s),
            gamma=float(np.exp(rng.uniform(-0.2, 0.2) * s)),
            light_strength=float(min(0.9, rng.uniform(0.0, 0.3) * s)),
            light_angle=float(rng.uniform(0.0, 360.0)),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable values."""
        values = dataclasses.asdict(self)
        values["shift"] = list(self.shift)
        return values

    def is_geometric_identity(self) -> bool:
        return not self.flip and self.scale == 1.0 and self.shift == (0.0, 0.0) and self.rotation == 0.0

    def _matrix(self, width: int, height: int) -> np.ndarray:
        """2×3 map from input to output pixels."""
        centre = ((width - 1) / 2.0, (height - 1) / 2.0)
        matrix = cv2.getRotationMatrix2D(centre, self.rotation, self.scale)
        matrix[0, 2] += self.shift[0] * width
        matrix[1, 2] += self.shift[1] * height
        if self.flip:
            matrix = np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0]]) @ np.vstack([matrix, [0, 0, 1]])
        return matrix

    def _colour_tables(self, width: int, height: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        gain = None
        if self.light_strength > 0:
            angle = math.radians(self.light_angle)
            xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
            ys = np.linspace(1.0, -1.0, height, dtype=np.float32)[:, None]
            ramp = (xs * math.cos(angle) + ys * math.sin(angle)) / math.sqrt(2.0)
            gain = (1.0 + self.light_strength * ramp)[..., None]
        lut = None
        if self.brightness != 0 or self.contrast != 1 or self.gamma != 1:
            values = np.arange(256, dtype=np.float64) / 255.0
            values = (values - 0.5) * self.contrast + 0.5 + self.brightness
            values = np.clip(values, 0.0, 1.0) ** self.gamma
            lut = np.clip(np.round(values * 255.0), 0, 255).astype(np.uint8)
        return gain, lut

    def apply(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Applies the augmentation to uint8 RGB frames ``(H, W, 3)``; yields new frames."""
        matrix = gain = lut = None
        for frame in frames:
            height, width = frame.shape[:2]
            if matrix is None:
                matrix = None if self.is_geometric_identity() else self._matrix(width, height)
                gain, lut = self._colour_tables(width, height)
            out = frame
            if matrix is not None:
                out = cv2.warpAffine(
                    out, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
                )
            if self.saturation != 1 or self.hue_shift != 0:
                hsv = cv2.cvtColor(out, cv2.COLOR_RGB2HSV_FULL).astype(np.float32)
                hsv[..., 0] = (hsv[..., 0] + self.hue_shift * 256.0 / 360.0) % 256.0
                hsv[..., 1] = np.clip(hsv[..., 1] * self.saturation, 0, 255)
                out = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB_FULL)
            if gain is not None:
                out = np.clip(out.astype(np.float32) * gain, 0, 255).astype(np.uint8)
            if lut is not None:
                out = cv2.LUT(out, lut)
            yield np.ascontiguousarray(out)


# ---------------------------------------------------------------------------------------------------- talker
class SyntheticTalker:
    r"""Animates one portrait: mouth opening per frame, emotion, head motion and blinks, by a landmark-driven
    piecewise-affine warp (see the module docstring).

    Args:
        portrait (`np.ndarray`, `PIL.Image.Image`, `str` or `os.PathLike`): The face photo (anything
            `eadnet.io.load_image` reads); frames have its resolution.
        detector ([`~eadnet.face.FaceDetector`], *optional*): Gives the 478-point face mesh; defaults to a new
            [`~eadnet.face.MediaPipeFaceDetector`].
        landmarks (`np.ndarray`, *optional*): ``(478, 2)`` face-mesh pixel coordinates to use instead of detecting.

    Raises:
        `eadnet.face.NoFaceError`: no face was found in the portrait.
    """

    #: Largest lip gap (full mouth opening) in units of the inter-ocular distance.
    max_gap = 0.3

    def __init__(self, portrait: Any, detector: Any = None, landmarks: np.ndarray | None = None):
        from eadnet.io import load_image

        self.portrait = load_image(portrait)
        self.height, self.width = self.portrait.shape[:2]
        if landmarks is None:
            if detector is None:
                with MediaPipeFaceDetector() as own_detector:
                    detection = own_detector.detect(self.portrait)
            else:
                detection = detector.detect(self.portrait)
            if detection is None:
                raise NoFaceError()
            landmarks = detection.landmarks
        landmarks = np.asarray(landmarks, dtype=np.float64)
        if landmarks.ndim != 2 or landmarks.shape[0] < _NUM_MESH or landmarks.shape[1] != 2:
            raise ValueError(f"landmarks must be the (478, 2) MediaPipe face mesh, got shape {landmarks.shape}")
        self.landmarks = landmarks
        self._setup_frame()
        self._setup_weights()
        self._setup_points()
        self._setup_mouth_colours()

    # ------------------------------------------------------------------------------------------ set-up
    def _setup_frame(self) -> None:
        """Face-aligned axes: x along the eyes, y down the face; unit: the inter-ocular distance."""
        lm = self.landmarks
        left_eye = lm[[33, 133]].mean(axis=0)
        right_eye = lm[[263, 362]].mean(axis=0)
        axis = right_eye - left_eye
        self.iod = float(np.linalg.norm(axis))
        if self.iod < 8.0:
            raise ValueError(f"the face is too small to animate (eyes {self.iod:.1f} px apart; at least 8 needed)")
        self.ex = axis / self.iod
        self.ey = np.array([-self.ex[1], self.ex[0]])
        self.mouth_centre = lm[list(_MOUTH_CORNERS) + [13, 14]].mean(axis=0)
        self.face_centre = lm[_FACE_OVAL].mean(axis=0)
        # every mesh point in face units relative to the mouth centre
        rel = lm[:_NUM_MESH] - self.mouth_centre
        self.u = rel @ self.ex / self.iod
        self.v = rel @ self.ey / self.iod
        self.mouth_half = float(np.linalg.norm(lm[291] - lm[61]) / 2.0 / self.iod)

    def _lip_line(self, indices: list[int]) -> tuple[np.ndarray, np.ndarray]:
        u, v = self.u[indices], self.v[indices]
        order = np.argsort(u)
        return u[order], v[order]

    def _setup_weights(self) -> None:
        """Static per-point weights of the mouth motions (face units; ``uc``: position along the mouth, -1..1)."""
        u, v = self.u, self.v
        half = self.mouth_half
        uc = np.clip(u / half, -1.0, 1.0)
        self._uc = uc
        lines = {
            name: self._lip_line(idx)
            for name, idx in (("uo", _UPPER_OUTER), ("ui", _UPPER_INNER), ("li", _LOWER_INNER), ("lo", _LOWER_OUTER))
        }
        at = {name: np.interp(u, lu, lv) for name, (lu, lv) in lines.items()}
        mid = (at["ui"] + at["li"]) / 2.0
        beyond = np.maximum(np.abs(u) / half - 1.0, 0.0)
        lateral = np.exp(-((beyond / 0.3) ** 2))
        above = v <= mid
        # the lip contours by name: with closed lips the two inner contours touch, and the geometric test alone
        # could put an upper-lip point on the lower lip
        above[_UPPER_INNER[1:-1] + _UPPER_OUTER[1:-1]] = True
        above[_LOWER_INNER[1:-1] + _LOWER_OUTER[1:-1]] = False
        # upper lip body moves fully, the skin above it less and less up to the nose
        self._w_upper = np.where(above, np.exp(-((np.maximum(at["uo"] - v, 0.0) / 0.14) ** 2)) * lateral, 0.0)
        # lower lip body, and the skin below it for closing a parted mouth
        below_lip = np.maximum(v - at["lo"], 0.0)
        self._w_lower = np.where(~above, np.exp(-((below_lip / 0.2) ** 2)) * lateral, 0.0)
        # the jaw: points below the mouth, the boundary sloping down beyond the mouth corners
        jaw_member = _smoothstep(0.0, 0.35, v - mid - 0.3 * beyond * half)
        # the chin drops most, the jaw's angles (about one eye distance out) least
        self._w_jaw = jaw_member * np.clip(1.0 - 0.7 * u**2, 0.15, 1.0)
        self._below = ~above
        self._t_jaw = _smoothstep(0.0, 0.3, v - at["lo"])  # lip motion → jaw motion below the lower lip
        self._profile = (1.0 - uc**2) ** 0.6  # lip gap along the mouth: 0 at the corners
        # the portrait's own lip gap (pixels, along the face's y axis) as a function of the position on the mouth
        gaps = ((self.landmarks[_LOWER_INNER] - self.landmarks[_UPPER_INNER]) @ self.ey)[1:-1]
        gap_u = self.u[_UPPER_INNER][1:-1] / half
        order = np.argsort(gap_u)
        self._source_gap = np.interp(
            uc,
            np.concatenate([[-1.0], gap_u[order], [1.0]]),
            np.concatenate([[0.0], np.maximum(gaps[order], 0.0), [0.0]]),
        )
        self.source_lip_gap = float(max(0.0, (self.landmarks[14] - self.landmarks[13]) @ self.ey))
        # eyes: the portrait's lid gaps per pair
        self._eye_gaps = [
            np.maximum((self.landmarks[eye["lower"]] - self.landmarks[eye["upper"]]) @ self.ey, 0.0) for eye in _EYES
        ]

    def _setup_points(self) -> None:
        """Control points (mesh, two rings, border), their triangulation and the region the warp can change."""
        oval = self.landmarks[_FACE_OVAL]
        centre = self.face_centre
        ring_inner = centre + 1.4 * (oval - centre)
        ring_outer = centre + 2.1 * (oval - centre)
        w, h = self.width, self.height
        border = []
        for k in range(8):
            t = k / 8.0
            border += [(t * w - 0.5, -1.0), (w, t * h - 0.5), ((1 - t) * w - 0.5, h), (-1.0, (1 - t) * h - 0.5)]
        border = np.array(border)
        self._source_points = np.concatenate([self.landmarks[:_NUM_MESH], ring_inner, ring_outer, border])
        self._num_inner = _NUM_MESH + len(ring_inner)  # points that follow the head
        # triangulate a layout with the lips apart, so that the inside of the mouth is triangulated between the
        # lips (and never across them) even for a portrait with a closed mouth
        from scipy.spatial import Delaunay

        layout = self._source_points.copy()
        layout[:_NUM_MESH] += self._mouth_displacement(np.array(0.6), np.array(0.0))[0]
        triangles = Delaunay(layout).simplices.astype(np.int32)
        moving = np.any(triangles < self._num_inner, axis=1)
        self._triangles = triangles[moving]  # triangles touching only outer ring and border never move
        corners = self._source_points[np.unique(self._triangles)]
        x0, y0 = np.floor(corners.min(axis=0)).astype(int) - 1
        x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 2
        self._roi = (max(0, x0), max(0, y0), min(w, x1), min(h, y1))
        rx0, ry0, rx1, ry1 = self._roi
        gy, gx = np.mgrid[ry0:ry1, rx0:rx1].astype(np.float32)
        self._grid_x, self._grid_y = gx, gy

    def _setup_mouth_colours(self) -> None:
        """Teeth and cavity colours matched to the portrait's light; the portrait's own teeth when it shows them."""
        lm = self.landmarks
        skin_points = np.round(lm[[1, 4, 5, 50, 280, 101, 330, 205, 425]]).astype(int)
        skin_points[:, 0] = np.clip(skin_points[:, 0], 0, self.width - 1)
        skin_points[:, 1] = np.clip(skin_points[:, 1], 0, self.height - 1)
        skin = self.portrait[skin_points[:, 1], skin_points[:, 0]].astype(np.float64)
        light = float(np.clip(np.median(skin.mean(axis=1)) / 170.0, 0.35, 1.3))
        self._cavity = np.array([50.0, 16.0, 20.0]) * light
        self._tongue = np.array([150.0, 66.0, 68.0]) * light
        self._teeth = np.array([242.0, 236.0, 222.0]) * min(1.05, light)
        self._source_mouth = None
        self._warp_source = self._without_mouth_inside()
        if self.source_lip_gap >= 0.06 * self.iod:
            polygon = np.round(lm[_UPPER_INNER + _LOWER_INNER[::-1]]).astype(np.int32)
            mask = np.zeros(self.portrait.shape[:2], np.uint8)
            cv2.fillPoly(mask, [polygon], 1)
            inside = self.portrait[mask.astype(bool)].astype(np.float64)
            if len(inside) >= 8 and np.percentile(inside.mean(axis=1), 75) > 1.1 * np.median(skin.mean(axis=1)):
                # the portrait shows its upper teeth: they are reused, attached to the upper lip
                self._source_mouth = self._mouth_frame(lm)
                logger.debug("the portrait shows its teeth; reusing them inside the mouth")

    def _without_mouth_inside(self) -> np.ndarray:
        """The portrait with the inside of its mouth (teeth, the dark corners of a smile) filled in from the lips,
        which is what the warp reads: closing a parted mouth then never shows teeth or shadow along the seam."""
        polygon = np.round(self.landmarks[_UPPER_INNER + _LOWER_INNER[::-1]] * 4).astype(np.int32)
        inside = np.zeros(self.portrait.shape[:2], np.uint8)
        cv2.fillPoly(inside, [polygon], 255, lineType=cv2.LINE_8, shift=2)
        cv2.polylines(inside, [polygon], True, 255, thickness=1, lineType=cv2.LINE_8, shift=2)
        near = cv2.dilate(inside, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
        around = cv2.dilate(inside, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
        luminance = cv2.cvtColor(self.portrait, cv2.COLOR_RGB2GRAY)
        lips = cv2.dilate(around, np.ones((5, 5), np.uint8)) > 0
        lips &= around == 0
        if not np.any(lips):
            return self.portrait
        dark = luminance < 0.6 * float(np.median(luminance[lips]))
        mask = ((near > 0) | ((around > 0) & dark)).astype(np.uint8) * 255
        return cv2.inpaint(self.portrait, mask, 2, cv2.INPAINT_TELEA)

    @staticmethod
    def _mouth_frame(points: np.ndarray) -> dict[str, Any]:
        """Mouth axes from the inner corners and the inner lip curves ``(s, t)`` along them, sorted by ``s``."""
        origin = points[78]
        axis = points[308] - origin
        length = float(np.linalg.norm(axis))
        ex = axis / max(length, 1e-6)
        ey = np.array([-ex[1], ex[0]])
        curves = {}
        for name, indices in (("upper", _UPPER_INNER), ("lower", _LOWER_INNER)):
            rel = points[indices] - origin
            s, t = rel @ ex, rel @ ey
            order = np.argsort(s)
            curves[name] = (s[order], t[order])
        return {"origin": origin, "ex": ex, "ey": ey, "length": length, **curves}

    # ------------------------------------------------------------------------------------------ motions
    def _mouth_displacement(self, openness: np.ndarray, close: np.ndarray) -> np.ndarray:
        """Mesh displacements ``(F, 468, 2)`` in pixels for mouth openings ``(F,)``; ``close`` (F,) in [0, 1] is how
        much of the portrait's own lip gap is closed first."""
        openness = np.atleast_1d(openness).astype(np.float64)[:, None]
        close = np.atleast_1d(close).astype(np.float64)[:, None]
        gap = self.max_gap * self.iod * openness * self._profile  # (F, N) pixels
        jaw = 0.75 * self.max_gap * self.iod * openness
        # the lower lip follows the lip gap's shape, the skin below it blends into the jaw's motion
        lower = np.where(self._below, (1.0 - self._t_jaw) * 0.75 * gap + self._t_jaw * jaw * self._w_jaw, 0.0)
        dv = lower - 0.25 * gap * self._w_upper
        # the lips are closed a little past the middle of the portrait's gap (they press together), so that no
        # output pixel reads the portrait's teeth at the seam
        half_gap = close * np.where(self._source_gap > 0.5, self._source_gap / 2.0 + 0.6, self._source_gap / 2.0)
        dv = dv + half_gap * self._w_upper - half_gap * self._w_lower
        du = np.zeros_like(dv)
        # the corners come in a little and follow the jaw a little as the mouth opens
        for index, side in ((_MOUTH_CORNERS[0], 1.0), (_MOUTH_CORNERS[1], -1.0)):
            weight = self._gauss(index, 0.22)
            du = du + side * 0.06 * self.iod * openness * weight
            dv = dv + 0.1 * jaw * weight
        return du[..., None] * self.ex + dv[..., None] * self.ey

    def _gauss(self, index: int, sigma: float) -> np.ndarray:
        """Gaussian falloff (face units) around one mesh point, over all mesh points."""
        d2 = (self.u - self.u[index]) ** 2 + (self.v - self.v[index]) ** 2
        return np.exp(-d2 / (2.0 * sigma**2))

    def _lid_weights(self, eye: dict, part: str) -> np.ndarray:
        weights = np.zeros(_NUM_MESH)
        weights[eye[part]] = 1.0
        return weights

    def _emotion_displacement(self, emotion: str, strength: float) -> tuple[np.ndarray, float, float]:
        """Static displacement ``(468, 2)`` in pixels, extra mouth opening and lip pressing of an emotion."""
        actions = _EMOTIONS[emotion]
        du = np.zeros(_NUM_MESH)
        dv = np.zeros(_NUM_MESH)
        s = strength * self.iod

        def bilateral(indices: tuple[int, int], vector: tuple[float, float], sigma: float) -> None:
            nonlocal du, dv
            for index, out in zip(indices, (-1.0, 1.0), strict=True):  # image-left side: "out" is -x
                weight = self._gauss(index, sigma)
                du += out * vector[0] * s * weight
                dv += vector[1] * s * weight

        if "corners" in actions:
            bilateral(_MOUTH_CORNERS, actions["corners"], 0.2)
        if "cheeks" in actions:
            bilateral(_CHEEKS, actions["cheeks"], 0.28)
        if "brow_inner" in actions:
            bilateral(_BROW_INNER, actions["brow_inner"], 0.16)
        if "brow_middle" in actions:
            bilateral(_BROW_MIDDLE, actions["brow_middle"], 0.18)
        if "brow_outer" in actions:
            bilateral(_BROW_OUTER, actions["brow_outer"], 0.16)
        if "nostrils" in actions:
            bilateral(_NOSTRILS, actions["nostrils"], 0.1)
        if "corner_right" in actions:
            weight = self._gauss(_MOUTH_CORNERS[1], 0.2)
            du += actions["corner_right"][0] * s * weight
            dv += actions["corner_right"][1] * s * weight
        if "cheek_right" in actions:
            weight = self._gauss(_CHEEKS[1], 0.25)
            dv += actions["cheek_right"][1] * s * weight
        for eye in _EYES:
            if "upper_lids" in actions:
                amount = actions["upper_lids"] * s
                dv += amount * (self._lid_weights(eye, "upper") + 0.5 * self._lid_weights(eye, "crease"))
            if "lower_lids" in actions:
                dv += actions["lower_lids"] * s * self._lid_weights(eye, "lower")
        if "upper_lip" in actions:
            dv += actions["upper_lip"] * s * self._w_upper * (0.6 + 0.4 * np.abs(self._uc))
        if "chin" in actions:
            dv += actions["chin"] * s * self._w_lower * (1.0 - self._t_jaw * (1.0 - self._w_jaw))
        displacement = du[:, None] * self.ex + dv[:, None] * self.ey
        return displacement, strength * actions.get("open", 0.0), strength * actions.get("press", 0.0)

    def _blink_displacement(self, closure: np.ndarray) -> np.ndarray:
        """Lid displacements ``(F, 468, 2)`` for lid closures ``(F,)`` in [0, 1]."""
        closure = np.asarray(closure, dtype=np.float64)[:, None]
        dv = np.zeros((closure.shape[0], _NUM_MESH))
        for eye, gaps in zip(_EYES, self._eye_gaps, strict=True):
            upper = 0.85 * closure * gaps
            dv[:, eye["upper"]] += upper
            dv[:, eye["crease"]] += 0.45 * upper
            dv[:, eye["crease2"]] += 0.12 * upper
            dv[:, eye["lower"]] -= 0.15 * closure * gaps
        return dv[..., None] * self.ey

    # ------------------------------------------------------------------------------------------ schedules
    @staticmethod
    def _blink_schedule(num_frames: int, fps: float, rng: np.random.Generator) -> np.ndarray:
        times = np.arange(num_frames) / fps
        closure = np.zeros(num_frames)
        start = rng.uniform(0.4, 2.2)
        while start < times[-1] + 0.5:
            dt = times - start
            closing = np.clip(dt / 0.07, 0.0, 1.0)
            opening = np.clip(1.0 - (dt - 0.1) / 0.16, 0.0, 1.0)
            closure = np.maximum(closure, np.where(dt < 0, 0.0, np.minimum(closing, opening)))
            start += rng.uniform(2.0, 5.0)
        return closure

    def _head_motion(self, num_frames: int, fps: float, rng: np.random.Generator) -> np.ndarray:
        """Per-frame similarity transforms ``(F, 2, 3)`` about the face centre: a few pixels of sway and nodding."""
        times = np.arange(num_frames) / fps

        def wander(amplitude: float) -> np.ndarray:
            signal = np.zeros(num_frames)
            for weight, (low, high) in ((0.65, (0.12, 0.35)), (0.35, (0.35, 0.8))):
                frequency, phase = rng.uniform(low, high), rng.uniform(0.0, 2.0 * np.pi)
                signal += weight * np.sin(2.0 * np.pi * frequency * times + phase)
            return amplitude * signal

        shift_x = wander(0.05 * self.iod)
        shift_y = wander(0.035 * self.iod)
        angle = wander(1.3)
        scale = 1.0 + wander(0.008)
        matrices = np.empty((num_frames, 2, 3))
        cx, cy = self.face_centre
        for index in range(num_frames):
            matrix = cv2.getRotationMatrix2D((float(cx), float(cy)), float(angle[index]), float(scale[index]))
            matrix[:, 2] += (shift_x[index], shift_y[index])
            matrices[index] = matrix
        return matrices

    # ------------------------------------------------------------------------------------------ rendering
    def target_points(
        self,
        openness: np.ndarray,
        emotion: str = "neutral",
        intensity: float = 1,
        seed: int = 0,
        head_motion: bool = True,
        blink: bool = True,
        fps: float = 25.0,
    ) -> np.ndarray:
        """Where the control points go in each frame: ``(F, P, 2)`` pixels; the first 468 are the face mesh.

        Takes the same arguments as :meth:`render`.
        """
        openness = np.asarray(openness, dtype=np.float64)
        if openness.ndim != 1 or openness.size < 1:
            raise ValueError(f"openness must be a non-empty 1-D array (one value per frame), got {openness.shape}")
        if not np.all(np.isfinite(openness)):
            raise ValueError("openness must be finite")
        openness = np.clip(openness, 0.0, 1.0)
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps!r}")
        emotion = normalize_label(emotion)
        strength = emotion_strength(intensity)
        rng = np.random.default_rng(seed)
        num_frames = openness.size
        static, extra_open, press = self._emotion_displacement(emotion, strength)
        opening = extra_open + (1.0 - extra_open) * openness * (1.0 - 0.55 * press)
        mesh = self._mouth_displacement(opening, np.ones(num_frames)) + static
        blink_rng, head_rng = np.random.default_rng(rng.integers(2**63)), np.random.default_rng(rng.integers(2**63))
        if blink:
            mesh = mesh + self._blink_displacement(self._blink_schedule(num_frames, fps, blink_rng))
        points = np.repeat(self._source_points[None], num_frames, axis=0)
        points[:, :_NUM_MESH] += mesh
        if head_motion:
            matrices = self._head_motion(num_frames, fps, head_rng)
            inner = points[:, : self._num_inner]
            moved = np.einsum("fij,fnj->fni", matrices[:, :, :2], inner) + matrices[:, None, :, 2]
            points[:, : self._num_inner] = moved
        return points

    def _warp_maps(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Backward maps (output → portrait) over the region of interest, for one frame's control points."""
        triangles = self._triangles
        target = points[triangles]  # (T, 3, 2)
        source = self._source_points[triangles]
        # affine target → source per triangle: solve [x y 1] @ M = source
        a = target[:, 1] - target[:, 0]
        b = target[:, 2] - target[:, 0]
        det = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
        valid = np.abs(det) > 0.02
        det = np.where(valid, det, 1.0)
        inv = np.stack([np.stack([b[:, 1], -b[:, 0]], -1), np.stack([-a[:, 1], a[:, 0]], -1)], 1) / det[:, None, None]
        sa = source[:, 1] - source[:, 0]
        sb = source[:, 2] - source[:, 0]
        # p_src = s0 + [sa sb] @ inv @ (p - t0)
        basis = np.stack([sa, sb], -1)  # (T, 2, 2): columns sa, sb
        linear = basis @ inv  # (T, 2, 2)
        offset = source[:, 0] - np.einsum("tij,tj->ti", linear, target[:, 0])
        coeffs = np.concatenate([linear.reshape(-1, 4), offset], axis=1).astype(np.float32)  # (T, 6)
        rx0, ry0, rx1, ry1 = self._roi
        ids = np.full((ry1 - ry0, rx1 - rx0), -1, dtype=np.int32)
        fixed = np.round((target - (rx0, ry0)) * 16.0).astype(np.int32)
        for index in np.flatnonzero(valid):
            cv2.fillConvexPoly(ids, fixed[index], int(index), lineType=cv2.LINE_8, shift=4)
        covered = ids >= 0
        gathered = coeffs[np.where(covered, ids, 0)]
        gx, gy = self._grid_x, self._grid_y
        map_x = gathered[..., 0] * gx + gathered[..., 1] * gy + gathered[..., 4]
        map_y = gathered[..., 2] * gx + gathered[..., 3] * gy + gathered[..., 5]
        map_x = np.where(covered, map_x, gx)
        map_y = np.where(covered, map_y, gy)
        return map_x, map_y

    def _procedural_teeth(
        self, across: np.ndarray, depth: np.ndarray, height: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Upper teeth colours ``(h, w, 3)`` and their visible height ``(h, w)``: teeth of equal width along the
        dental arch (so narrower towards the corners), faint gaps between them, rounded tips, darker to the sides."""
        angle = np.arcsin(np.clip(across, -1.0, 1.0))
        phase = angle / 0.3  # one tooth per 0.3 rad of arch; the central gap at 0
        near_gap = np.abs(2.0 * (phase - np.floor(phase)) - 1.0)  # 1 at a gap between teeth, 0 mid-tooth
        tooth_px = 0.3 * 0.5 * self.iod * np.maximum(np.cos(angle), 0.05)  # projected half-width, pixels
        gap_shadow = 1.0 - 0.14 * np.exp(-(((1.0 - near_gap) * tooth_px / 0.6) ** 2))
        tip = height * (0.9 + 0.1 * np.sqrt(np.clip(1.0 - near_gap**2, 0.0, 1.0)))
        below_lip = np.clip(depth / np.maximum(tip, 1e-3), 0.0, 1.0)
        shade = (0.62 + 0.38 * np.cos(angle)) * (0.8 + 0.2 * below_lip) * gap_shadow
        return self._teeth * shade[..., None], tip

    def _paint_mouth(self, frame: np.ndarray, points: np.ndarray) -> None:
        """Paints the inside of the mouth where the output frame's lips are apart, and the line where they meet
        (in place)."""
        mouth = self._mouth_frame(points)
        length = mouth["length"]
        if length < 2.0:
            return
        upper_s, upper_t = mouth["upper"]
        lower_s, lower_t = mouth["lower"]
        polygon = points[_UPPER_INNER + _LOWER_INNER[::-1]]
        x0, y0 = np.floor(polygon.min(axis=0)).astype(int) - 2
        x1, y1 = np.ceil(polygon.max(axis=0)).astype(int) + 3
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(self.width, x1), min(self.height, y1)
        if x1 <= x0 or y1 <= y0:
            return
        gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
        rel_x, rel_y = gx - mouth["origin"][0], gy - mouth["origin"][1]
        s = rel_x * mouth["ex"][0] + rel_y * mouth["ex"][1]
        t = rel_x * mouth["ey"][0] + rel_y * mouth["ey"][1]
        top = np.interp(s, upper_s, upper_t)
        gap = np.interp(s, lower_s, lower_t) - top
        depth = t - top
        along = np.clip(s + 0.5, 0, 1) * np.clip(length - s + 0.5, 0, 1)
        across = np.clip(2.0 * s / length - 1.0, -1.0, 1.0)  # -1 .. 1 corner to corner
        front = np.sqrt(np.clip(1.0 - across**2, 0.0, 1.0))
        patch = frame[y0:y1, x0:x1].astype(np.float32)
        # where the lips meet, a soft dark line
        closed = np.clip(1.0 - gap / 1.5, 0.0, 1.0)
        line = (
            0.4 * closed * along * np.exp(-0.5 * ((depth - np.maximum(gap, 0.0) / 2) / 0.6) ** 2) * (0.4 + 0.6 * front)
        )[..., None].astype(np.float32)
        patch = patch * (1.0 - line) + (self._cavity * 1.6).astype(np.float32) * line
        # the inside, overlapped by half a pixel of lip on each side
        alpha = np.clip(depth + 0.5, 0, 1) * np.clip(gap - depth + 0.5, 0, 1) * along * np.clip(gap - 0.5, 0, 1)
        if np.any(alpha > 0):
            colour = self._mouth_inside(s, depth, gap, across, front, length)
            alpha = alpha[..., None].astype(np.float32)
            patch = patch * (1.0 - alpha) + colour * alpha
        frame[y0:y1, x0:x1] = np.clip(patch + 0.5, 0, 255).astype(np.uint8)

    def _mouth_inside(
        self, s: np.ndarray, depth: np.ndarray, gap: np.ndarray, across: np.ndarray, front: np.ndarray, length: float
    ) -> np.ndarray:
        """Colours ``(h, w, 3)`` of the inside of the mouth: upper teeth, cavity, tongue, a hint of lower teeth."""
        source = self._source_mouth
        if source is not None:
            # the portrait's own teeth, hanging from the upper lip
            s_src = s * source["length"] / length
            top_src = np.interp(s_src, *source["upper"])
            gap_src = np.interp(s_src, *source["lower"]) - top_src
            height = np.clip(gap_src - 1.0, 0.0, 0.13 * self.iod)
            where = source["origin"] + s_src[..., None] * source["ex"] + (top_src + depth)[..., None] * source["ey"]
            teeth = cv2.remap(
                self.portrait,
                where[..., 0].astype(np.float32),
                where[..., 1].astype(np.float32),
                interpolation=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            ).astype(np.float64)
            teeth *= (0.85 + 0.15 * np.clip(depth / np.maximum(height, 1e-3), 0, 1))[..., None]
        else:
            teeth, height = self._procedural_teeth(across, depth, 0.1 * self.iod * np.sqrt(front))
        teeth_alpha = (np.clip(height - depth + 0.5, 0.0, 1.0) * np.clip(depth + 1.0, 0.0, 1.0))[..., None]
        safe_gap = np.maximum(gap, 1e-3)
        to_bottom = np.clip((gap - depth) / safe_gap, 0, 1)[..., None]
        cavity = self._cavity * (0.55 + 0.45 * front[..., None]) * (0.8 + 0.2 * to_bottom)
        # a tongue shows at the bottom of a wide opening
        tongue = (
            np.clip(1.0 - (gap - depth) / (0.4 * safe_gap), 0, 1)
            * np.clip(gap / (0.2 * self.iod), 0, 1)
            * (0.3 + 0.7 * front)
        )[..., None]
        cavity = cavity * (1.0 - 0.7 * tongue) + self._tongue * 0.7 * tongue
        # the edges of the lower teeth just behind the lower lip
        lower_height = 0.04 * self.iod * front
        lower = (
            np.clip(lower_height - (gap - depth) + 0.5, 0, 1)
            * 0.5
            * np.clip((gap - height - 2.0) / (0.05 * self.iod), 0, 1)
        )[..., None]
        cavity = cavity * (1.0 - lower) + self._teeth * 0.75 * (0.5 + 0.5 * front[..., None]) * lower
        colour = teeth * teeth_alpha + cavity * (1.0 - teeth_alpha)
        return cv2.GaussianBlur(colour.astype(np.float32), (3, 3), 0.5)

    def iter_render(
        self,
        openness: np.ndarray,
        emotion: str = "neutral",
        intensity: float = 1,
        seed: int = 0,
        head_motion: bool = True,
        blink: bool = True,
        fps: float = 25.0,
        augmentation: IdentityAugmentation | None = None,
    ) -> Iterator[np.ndarray]:
        """Like :meth:`render`, one frame at a time (for long clips)."""
        points = self.target_points(openness, emotion, intensity, seed, head_motion, blink, fps)

        def frames() -> Iterator[np.ndarray]:
            rx0, ry0, rx1, ry1 = self._roi
            for frame_points in points:
                map_x, map_y = self._warp_maps(frame_points)
                frame = self.portrait.copy()
                frame[ry0:ry1, rx0:rx1] = cv2.remap(
                    self._warp_source, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
                )
                self._paint_mouth(frame, frame_points)
                yield frame

        if augmentation is None:
            return frames()
        return augmentation.apply(frames())

    def render(
        self,
        openness: np.ndarray,
        emotion: str = "neutral",
        intensity: float = 1,
        seed: int = 0,
        head_motion: bool = True,
        blink: bool = True,
        fps: float = 25.0,
        augmentation: IdentityAugmentation | None = None,
    ) -> np.ndarray:
        """Renders a talking clip of the portrait.

        Args:
            openness (`np.ndarray`): Mouth opening per frame ``(F,)`` in ``[0, 1]`` (0 closed lips, 1 wide open),
                e.g. from `eadnet.data.synthetic.speech.mouth_openness_from_phonemes`.
            emotion (`str`, *optional*, defaults to `"neutral"`): MEAD label (``angry``, ``contempt``,
                ``disgusted``, ``fear``, ``happy``, ``neutral``, ``sad``, ``surprised``) or an alias.
            intensity (`float`, *optional*, defaults to 1): MEAD level 1 (slight), 2 (medium) or 3 (strong);
                values in ``[0, 3]`` in between are interpolated (see `emotion_strength`).
            seed (`int`, *optional*, defaults to 0): Seed of the head motion and blink timing; the same arguments
                always give the same frames.
            head_motion (`bool`, *optional*, defaults to `True`): Add a small smooth head sway (a few pixels,
                about a degree).
            blink (`bool`, *optional*, defaults to `True`): Blink every 2–5 s.
            fps (`float`, *optional*, defaults to 25): Frame rate (timing of blinks and head motion).
            augmentation ([`IdentityAugmentation`], *optional*): Framing and colour changes applied to every frame.

        Returns:
            `np.ndarray`: uint8 RGB frames ``(F, H, W, 3)`` at the portrait's resolution.
        """
        frames = list(self.iter_render(openness, emotion, intensity, seed, head_motion, blink, fps, augmentation))
        return np.stack(frames)


# ---------------------------------------------------------------------------------------------------- clips
@dataclass
class SyntheticClip:
    """A synthetic talking clip.

    Args:
        frames (`np.ndarray`): uint8 RGB ``(F, H, W, 3)``.
        audio (`np.ndarray`): float32 mono speech ``(N,)``.
        sample_rate (`int`): Sample rate of ``audio``.
        fps (`float`): Frame rate; ``F = ceil(duration × fps)``.
        openness (`np.ndarray`): The mouth opening that drove the frames, float32 ``(F,)`` in ``[0, 1]``.
        emotion (`str`): MEAD label.
        intensity (`int`): MEAD level 1–3.
        text (`str`, *optional*, defaults to `""`): The words spoken (empty when the speech came as audio only).
        voice (`str`, *optional*, defaults to `""`): espeak-ng voice, when synthesised.
        timeline (`list[tuple[float, float, str]]`, *optional*): Phoneme timeline of the speech, when known.
        seed (`int`, *optional*, defaults to 0): Seed of the head motion and blinks.
        augmentation ([`IdentityAugmentation`], *optional*): The augmentation applied to the frames.
    """

    frames: np.ndarray
    audio: np.ndarray
    sample_rate: int
    fps: float
    openness: np.ndarray
    emotion: str
    intensity: int
    text: str = ""
    voice: str = ""
    timeline: list[tuple[float, float, str]] = field(default_factory=list)
    seed: int = 0
    augmentation: IdentityAugmentation | None = None

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def duration(self) -> float:
        """Length of the audio in seconds."""
        return len(self.audio) / float(self.sample_rate)


def _speech_track(text: str | None, speech: Any, voice: str, rate: int, pitch: int) -> SpeechTrack:
    """The speech of `make_synthetic_clip`: synthesised from ``text``, given, or the example speech."""
    if isinstance(speech, SpeechTrack):
        return speech
    if speech is None and text is not None:
        return synthesize_speech(text, voice=voice, rate=rate, pitch=pitch)
    if speech is None:
        speech, text = example_speech_path(), example_speech_text()
    if isinstance(speech, str | os.PathLike):
        from eadnet.io import load_audio

        waveform, sample_rate = load_audio(speech)
    elif isinstance(speech, tuple) and len(speech) == 2:
        waveform, sample_rate = speech
    else:
        raise TypeError(
            "speech must be a SpeechTrack, an audio file path or a (waveform, sample_rate) tuple, "
            f"got {type(speech).__name__}"
        )
    waveform = np.asarray(waveform, dtype=np.float32)
    if waveform.ndim == 2:
        waveform = waveform.mean(axis=0)
    if waveform.ndim != 1 or waveform.size == 0:
        raise ValueError(f"speech waveform must be (N,) or (channels, N) and not empty, got {waveform.shape}")
    if int(sample_rate) <= 0:
        raise ValueError(f"speech sample rate must be positive, got {sample_rate!r}")
    return SpeechTrack(waveform, int(sample_rate), [], text=text or "")


def make_synthetic_clip(
    portrait: Any = None,
    text: str | None = None,
    speech: Any = None,
    emotion: str = "neutral",
    intensity: int = 1,
    voice: str = DEFAULT_VOICE,
    rate: int = 160,
    pitch: int = 50,
    fps: float = 25.0,
    seed: int = 0,
    head_motion: bool = True,
    blink: bool = True,
    augmentation: IdentityAugmentation | None = None,
    detector: Any = None,
) -> SyntheticClip:
    """Makes a talking clip of a portrait saying a text (or any speech) with an emotion.

    The mouth follows the phoneme timeline when the speech is synthesised here (or given as a [`SpeechTrack`]),
    otherwise the loudness of the audio (`eadnet.data.synthetic.speech.mouth_openness_from_audio`).

    Args:
        portrait (`np.ndarray`, `str`, `os.PathLike`, `PIL.Image.Image` or [`SyntheticTalker`], *optional*): The face;
            defaults to the example portrait (`eadnet.assets.example_portrait_path`). Pass a talker to reuse its
            face mesh across clips.
        text (`str`, *optional*): Words to synthesise with espeak-ng; with ``speech``, only recorded as the words
            of that speech.
        speech ([`SpeechTrack`], `str`, `os.PathLike` or `tuple[np.ndarray, int]`, *optional*): Speech to use
            (mono or ``(channels, N)`` samples with their rate, or an audio file). With neither ``text`` nor
            ``speech``, the example speech (`eadnet.assets.example_speech_path`) is used.
        emotion (`str`, *optional*, defaults to `"neutral"`): MEAD label or alias.
        intensity (`int`, *optional*, defaults to 1): MEAD level 1 (slight), 2 (medium) or 3 (strong).
        voice (`str`, *optional*, defaults to `"en-us"`): espeak-ng voice for ``text``
            (see `eadnet.data.synthetic.speech.list_voices`).
        rate (`int`, *optional*, defaults to 160): Speaking rate in words per minute for ``text``.
        pitch (`int`, *optional*, defaults to 50): Voice pitch 0–99 for ``text``.
        fps (`float`, *optional*, defaults to 25): Frame rate.
        seed (`int`, *optional*, defaults to 0): Seed of the head motion and blinks.
        head_motion (`bool`, *optional*, defaults to `True`): Small smooth head sway.
        blink (`bool`, *optional*, defaults to `True`): Occasional blinks.
        augmentation ([`IdentityAugmentation`], *optional*): Framing and colour changes applied to every frame.
        detector ([`~eadnet.face.FaceDetector`], *optional*): Face-mesh detector when ``portrait`` is not a talker.

    Returns:
        [`SyntheticClip`]: ``ceil(duration × fps)`` frames at the portrait's resolution, with the speech.
    """
    emotion = normalize_label(emotion)
    intensity = check_intensity(intensity)
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps!r}")
    if isinstance(portrait, SyntheticTalker):
        talker = portrait
    else:
        if portrait is None:
            portrait = example_portrait_path()
        talker = SyntheticTalker(portrait, detector=detector)
    track = _speech_track(text, speech, voice, rate, pitch)
    num_frames = track.num_frames(fps)
    if track.timeline:
        openness = mouth_openness_from_phonemes(track.timeline, num_frames, fps=fps)
    else:
        openness = mouth_openness_from_audio(track.waveform, track.sample_rate, num_frames, fps=fps)
    frames = talker.render(openness, emotion, intensity, seed, head_motion, blink, fps, augmentation)
    return SyntheticClip(
        frames=frames,
        audio=np.asarray(track.waveform, dtype=np.float32),
        sample_rate=track.sample_rate,
        fps=float(fps),
        openness=openness,
        emotion=emotion,
        intensity=intensity,
        text=track.text if text is None else text,
        voice=track.voice,
        timeline=list(track.timeline),
        seed=int(seed),
        augmentation=augmentation,
    )


# ---------------------------------------------------------------------------------------------------- data sets
_FOLDER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")

#: Name of the label file `write_synthetic_videos` writes next to the speaker folders.
LABELS_FILE = "labels.jsonl"


@dataclass
class SyntheticClipSpec:
    """One clip for `write_synthetic_videos`.

    Args:
        text (`str`): Words to speak.
        emotion (`str`, *optional*, defaults to `"neutral"`): MEAD label or alias.
        intensity (`int`, *optional*, defaults to 1): MEAD level 1–3.
        voice (`str`, *optional*, defaults to `"en-us"`): espeak-ng voice.
        rate (`int`, *optional*, defaults to 160): Words per minute.
        pitch (`int`, *optional*, defaults to 50): Voice pitch 0–99.
        speaker (`str`, *optional*, defaults to `"synthetic"`): Speaker folder name (letters, digits, ``_ . -``).
        seed (`int`, *optional*, defaults to 0): Seed of head motion and blinks.
        portrait (`str`, *optional*): Portrait file for this clip; defaults to the ``portrait`` given to
            `write_synthetic_videos`.
        augmentation ([`IdentityAugmentation`] or `dict`, *optional*): Framing and colour changes for the clip.
    """

    text: str
    emotion: str = "neutral"
    intensity: int = 1
    voice: str = DEFAULT_VOICE
    rate: int = 160
    pitch: int = 50
    speaker: str = "synthetic"
    seed: int = 0
    portrait: str | None = None
    augmentation: IdentityAugmentation | None = None

    def __post_init__(self):
        if isinstance(self.augmentation, dict):
            self.augmentation = IdentityAugmentation(**self.augmentation)
        if not isinstance(self.text, str) or not self.text.strip():
            raise ValueError(f"text must be a non-empty string, got {self.text!r}")
        self.emotion = normalize_label(self.emotion)
        self.intensity = check_intensity(self.intensity)
        if not isinstance(self.speaker, str) or not _FOLDER_NAME.match(self.speaker):
            raise ValueError(f"speaker must be a folder name of letters, digits and _ . -, got {self.speaker!r}")


def write_synthetic_videos(
    out_dir: str | os.PathLike,
    specs: Iterable[SyntheticClipSpec | dict],
    portrait: Any = None,
    fps: float = 25.0,
    head_motion: bool = True,
    blink: bool = True,
    overwrite: bool = False,
    detector: Any = None,
) -> list[dict[str, Any]]:
    """Writes synthetic talking clips as MP4 videos (H.264 + AAC) in MEAD's folder layout, with a label file.

    ```
    OUT_DIR/
      labels.jsonl                               one JSON object per clip (below)
      {speaker}/{emotion}/level_{intensity}/001.mp4, 002.mp4, ...
    ```

    Each label row holds ``path`` (relative to ``out_dir``, with ``/``), ``speaker``, ``text``, ``voice``, ``rate``,
    ``pitch``, ``emotion``, ``intensity``, ``fps``, ``num_frames``, ``duration``, ``sample_rate``, ``seed``,
    ``augmentation`` (a dict or ``null``), ``timeline`` (``[start_s, end_s, phoneme]`` rows) and ``openness`` (the
    ground-truth mouth opening per frame). Clips are numbered per folder in the order of ``specs``.

    Args:
        out_dir (`str` or `os.PathLike`): Output folder (created if needed).
        specs (`Iterable[SyntheticClipSpec | dict]`): The clips; dicts are passed to [`SyntheticClipSpec`].
        portrait (`np.ndarray`, `str`, `os.PathLike`, `PIL.Image.Image` or [`SyntheticTalker`], *optional*): Default
            face; defaults to the example portrait.
        fps (`float`, *optional*, defaults to 25): Frame rate.
        head_motion (`bool`, *optional*, defaults to `True`): Small smooth head sway.
        blink (`bool`, *optional*, defaults to `True`): Occasional blinks.
        overwrite (`bool`, *optional*, defaults to `False`): Replace existing videos and ``labels.jsonl``.
        detector ([`~eadnet.face.FaceDetector`], *optional*): Face-mesh detector.

    Returns:
        `list[dict]`: the label rows, as written.

    Raises:
        `FileExistsError`: a video or ``labels.jsonl`` exists and ``overwrite`` is `False`.
    """
    from eadnet.io import atomic_output, write_video

    out_dir = Path(out_dir)
    specs = [spec if isinstance(spec, SyntheticClipSpec) else SyntheticClipSpec(**spec) for spec in specs]
    labels_path = out_dir / LABELS_FILE
    if labels_path.exists() and not overwrite:
        raise FileExistsError(f"{str(labels_path)!r} exists; pass overwrite=True to replace the data set")
    out_dir.mkdir(parents=True, exist_ok=True)
    talkers: dict[str, SyntheticTalker] = {}
    if isinstance(portrait, SyntheticTalker):
        talkers[""] = portrait

    def talker_for(spec: SyntheticClipSpec) -> SyntheticTalker:
        key = spec.portrait or ""
        if key not in talkers:
            source = spec.portrait
            if source is None:
                source = example_portrait_path() if portrait is None else portrait
            talkers[key] = SyntheticTalker(source, detector=detector)
        return talkers[key]

    counters: dict[tuple[str, str, int], int] = {}
    rows: list[dict[str, Any]] = []
    for spec in specs:
        folder = (spec.speaker, spec.emotion, spec.intensity)
        counters[folder] = counters.get(folder, 0) + 1
        relative = f"{spec.speaker}/{spec.emotion}/level_{spec.intensity}/{counters[folder]:03d}.mp4"
        track = synthesize_speech(spec.text, voice=spec.voice, rate=spec.rate, pitch=spec.pitch)
        talker = talker_for(spec)
        num_frames = track.num_frames(fps)
        openness = mouth_openness_from_phonemes(track.timeline, num_frames, fps=fps)
        frames = talker.iter_render(
            openness, spec.emotion, spec.intensity, spec.seed, head_motion, blink, fps, spec.augmentation
        )
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_video(path, frames, fps, audio=track.waveform, sample_rate=track.sample_rate, overwrite=overwrite)
        logger.info("wrote %s (%d frames, %s %d)", path, num_frames, spec.emotion, spec.intensity)
        rows.append(
            {
                "path": relative,
                "speaker": spec.speaker,
                "text": track.text,
                "voice": track.voice,
                "rate": spec.rate,
                "pitch": spec.pitch,
                "emotion": spec.emotion,
                "intensity": spec.intensity,
                "fps": float(fps),
                "num_frames": num_frames,
                "duration": round(track.duration, 6),
                "sample_rate": track.sample_rate,
                "seed": spec.seed,
                "portrait": spec.portrait,
                "augmentation": None if spec.augmentation is None else spec.augmentation.to_dict(),
                "timeline": [[round(start, 5), round(end, 5), name] for start, end, name in track.timeline],
                "openness": [round(float(value), 4) for value in openness],
            }
        )
    with atomic_output(labels_path, overwrite=overwrite) as tmp:
        tmp.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return rows
