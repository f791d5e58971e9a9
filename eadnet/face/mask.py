"""Fixed masks of the region the model regenerates, in the aligned crop.

The alignment template (:mod:`eadnet.face.alignment`) puts every face at the same place in the crop, so, as in
LatentSync (which loads a fixed ``mask.png``), the mask depends only on the crop size and the mode. Values are
float32 in ``[0, 1]``, **1 where the model regenerates** and 0 where the reference is kept, with a feathered
edge. Shapes, in units of the crop size ``S`` (x right, y down; template: eyes at y 0.40, nose tip 0.565,
mouth 0.70; on a typical face the chin lands near 0.92):

- ``"lower_face"`` (LatentSync's style): inside the ellipse centred at ``(0.5, 0.56)`` with semi-axes
  ``(0.36, 0.41)`` — cheek to cheek, down past the chin to ``0.97`` so that an opening jaw stays inside — and
  below ``y = 0.53`` (the level of the nose tip), with a notch that keeps the nose: ``0.37 <= x <= 0.63`` stays
  out of the mask down to ``y = 0.60``, just above the upper lip.
- ``"face"`` (emotion generation: brows, eyes, cheeks, mouth): the ellipse centred at ``(0.5, 0.575)`` with
  semi-axes ``(0.36, 0.385)`` (from ``y = 0.19``, the top of the forehead below the hairline, to ``0.96``, past
  the chin; cheek to cheek at eye level), joined with the ``"lower_face"`` region.

The feather is an erosion of the hard shape by ``0.02 S`` followed by a Gaussian blur of the same radius, so the
mask rises from 0 at the shape's edge to exactly 1 at ``0.04 S`` inside it, and is exactly 0 outside the shape.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

MASK_MODES = ("lower_face", "face")

FEATHER = 0.04  # feather width in units of the crop size

_LOWER_FACE_CENTRE = (0.5, 0.56)
_LOWER_FACE_AXES = (0.36, 0.41)
_LOWER_FACE_TOP = 0.53
_NOSE_NOTCH = (0.37, 0.63, 0.60)  # x0, x1, bottom y
_FACE_ELLIPSE_CENTRE = (0.5, 0.575)
_FACE_AXES = (0.36, 0.385)
_MOUTH_CENTRE = (0.5, 0.73)  # the template mouth (y 0.70), shifted down for an opening jaw
_MOUTH_AXES = (0.2, 0.13)  # corner to corner with a margin; from under the nose (0.60) to the chin (0.86)


def _check_size(size) -> int:
    if not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(f"size must be an int >= 8, got {size!r}")
    return int(size)


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Normalised coordinates of the pixel centres, ``(1, S)`` x and ``(S, 1)`` y."""
    coords = (np.arange(size, dtype=np.float64) + 0.5) / size
    return coords[None, :], coords[:, None]


def _inside_ellipse(
    x: np.ndarray, y: np.ndarray, centre: tuple[float, float], axes: tuple[float, float]
) -> np.ndarray:
    return ((x - centre[0]) / axes[0]) ** 2 + ((y - centre[1]) / axes[1]) ** 2 <= 1.0


def _hard_mask(size: int, mode: str) -> np.ndarray:
    x, y = _grid(size)
    lower = _inside_ellipse(x, y, _LOWER_FACE_CENTRE, _LOWER_FACE_AXES) & (y >= _LOWER_FACE_TOP)
    notch_x0, notch_x1, notch_bottom = _NOSE_NOTCH
    lower &= ~((x >= notch_x0) & (x <= notch_x1) & (y < notch_bottom))
    if mode == "lower_face":
        return lower
    return lower | _inside_ellipse(x, y, _FACE_ELLIPSE_CENTRE, _FACE_AXES)


def _feather(hard: np.ndarray, size: int) -> np.ndarray:
    # Erode by half the feather width, then blur with a kernel of that radius: the result is exactly 0 outside
    # the hard shape and exactly 1 from the feather width inwards.
    radius = max(1, round(FEATHER * size / 2))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    core = cv2.erode(hard.astype(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    gaussian = cv2.getGaussianKernel(2 * radius + 1, radius / 2, cv2.CV_64F)
    gaussian /= gaussian.sum()
    soft = cv2.sepFilter2D(core.astype(np.float64), cv2.CV_64F, gaussian, gaussian, borderType=cv2.BORDER_CONSTANT)
    soft = np.where(hard, soft, 0.0)
    soft[soft > 1.0 - 1e-9] = 1.0
    return np.clip(soft, 0.0, 1.0).astype(np.float32)


@lru_cache(maxsize=16)
def _cached_mask(size: int, mode: str) -> np.ndarray:
    mask = _feather(_hard_mask(size, mode), size)
    mask.setflags(write=False)
    return mask


def mouth_mask(size: int, mode: str = "lower_face") -> np.ndarray:
    """The crop-space mask of the region the model regenerates.

    Args:
        size (`int`): Crop size ``S``.
        mode (`str`, *optional*, defaults to `"lower_face"`): ``"lower_face"`` (mouth, jaw and lower cheeks, as in
            LatentSync) or ``"face"`` (the whole face below the hairline, for emotion generation).

    Returns:
        `np.ndarray`: float32 ``(S, S)`` in ``[0, 1]``, 1 = regenerated, feathered edge (a fresh, writable copy).
    """
    if mode not in MASK_MODES:
        raise ValueError(f"mode must be one of {MASK_MODES}, got {mode!r}")
    return _cached_mask(_check_size(size), mode).copy()


@lru_cache(maxsize=16)
def _cached_mouth_region(size: int) -> np.ndarray:
    x, y = _grid(size)
    region = _feather(_inside_ellipse(x, y, _MOUTH_CENTRE, _MOUTH_AXES), size)
    region.setflags(write=False)
    return region


def mouth_region(size: int) -> np.ndarray:
    """The crop-space region of the lips and the opening jaw (an ellipse centred at ``(0.5, 0.73)`` with semi-axes
    ``(0.2, 0.13)``, feathered like the masks), for weighting losses on the part of the face the audio drives.

    Returns:
        `np.ndarray`: float32 ``(S, S)`` in ``[0, 1]``, 1 inside the mouth region (a fresh, writable copy).
    """
    return _cached_mouth_region(_check_size(size)).copy()
