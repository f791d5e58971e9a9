"""Face-mesh measures of generated clips: mouth opening, landmark jitter, window seams, identity drift, expression
geometry.

Everything here works on the 478-point MediaPipe face mesh (:class:`eadnet.face.MediaPipeFaceDetector`) in pixels,
``(F, 478, 2)`` with NaN rows for frames without a face (:func:`face_landmarks`). Distances are divided by the
inter-ocular distance (between the eye centres, each the midpoint of its two eye corners; about 63 mm on an adult),
so numbers are comparable across resolutions and face sizes: ``0.01`` is about 0.6 mm on a real face.

```python
from eadnet.evaluation.landmarks import face_landmarks, landmark_jitter_per_frame, mouth_opening, seam_jitter

landmarks = face_landmarks(frames)  # (F, 478, 2), frames uint8 (F, H, W, 3)
opening = mouth_opening(landmarks)  # (F,)
per_frame = landmark_jitter_per_frame(landmarks, region="mouth")
seams = seam_jitter(per_frame, window=16, overlap=2)  # jitter at the pipeline's window seams vs elsewhere
```
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from eadnet.face import MediaPipeFaceDetector, NoFaceError
from eadnet.face.alignment import estimate_similarity, transform_points, warp_to_crop

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_NEUTRAL_GEOMETRY",
    "EMOTION_GEOMETRY_LABELS",
    "GEOMETRY_FEATURES",
    "GeometryExpressionClassifier",
    "REGIONS",
    "expression_geometry",
    "face_landmarks",
    "geometry_emotion",
    "identity_drift",
    "inter_ocular_distance",
    "landmark_jitter",
    "landmark_jitter_per_frame",
    "mouth_opening",
    "seam_frames",
    "seam_jitter",
]

NUM_LANDMARKS = 478

# MediaPipe's FACEMESH_* connection sets, as point indices. "left" / "right" are the image's sides (MediaPipe's own
# names are the subject's, the other way round), as in eadnet.face.alignment.
_LIPS = (
    0,
    13,
    14,
    17,
    37,
    39,
    40,
    61,
    78,
    80,
    81,
    82,
    84,
    87,
    88,
    91,
    95,
    146,
    178,
    181,
    185,
    191,
    267,
    269,
    270,
    291,
    308,
    310,
    311,
    312,
    314,
    317,
    318,
    321,
    324,
    375,
    402,
    405,
    409,
    415,
)
_EYE_LEFT = (7, 33, 133, 144, 145, 153, 154, 155, 157, 158, 159, 160, 161, 163, 173, 246)
_EYE_RIGHT = (249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398, 466)
_BROW_LEFT = (46, 52, 53, 55, 63, 65, 66, 70, 105, 107)
_BROW_RIGHT = (276, 282, 283, 285, 293, 295, 296, 300, 334, 336)
_NOSE = (1, 2, 4, 5, 6, 19, 45, 48, 64, 94, 97, 98, 115, 168, 195, 197, 220, 275, 278, 294, 326, 327, 344, 440)
_FACE_OVAL = (
    10,
    21,
    54,
    58,
    67,
    93,
    103,
    109,
    127,
    132,
    136,
    148,
    149,
    150,
    152,
    162,
    172,
    176,
    234,
    251,
    284,
    288,
    297,
    323,
    332,
    338,
    356,
    361,
    365,
    377,
    378,
    379,
    389,
    397,
    400,
    454,
)
# Points that move with the skull but not with speech, blinks or brows: eye corners, the nose bridge and tip, the
# forehead's midline and the temples. Head pose is fitted on these.
_RIGID = (33, 133, 362, 263, 6, 168, 197, 195, 5, 4, 1, 10, 151, 9, 8, 127, 356, 234, 454)

#: Named landmark subsets (MediaPipe mesh indices) accepted as ``region`` by the jitter functions.
REGIONS: dict[str, tuple[int, ...]] = {
    "all": tuple(range(NUM_LANDMARKS)),
    "mouth": _LIPS,
    "eyes": _EYE_LEFT + _EYE_RIGHT,
    "brows": _BROW_LEFT + _BROW_RIGHT,
    "nose": _NOSE,
    "oval": _FACE_OVAL,
    "upper_face": _EYE_LEFT + _EYE_RIGHT + _BROW_LEFT + _BROW_RIGHT + _NOSE,
    "rigid": _RIGID,
}

# Single points used by the geometry features.
_EYE_CORNERS_LEFT, _EYE_CORNERS_RIGHT = (33, 133), (362, 263)
_INNER_LIP_TOP, _INNER_LIP_BOTTOM = 13, 14
_OUTER_LIP_TOP, _OUTER_LIP_BOTTOM = 0, 17
_MOUTH_CORNER_LEFT, _MOUTH_CORNER_RIGHT = 61, 291
_LID_LEFT, _LID_RIGHT = (159, 145), (386, 374)  # upper, lower lid at the middle of each eye
_BROW_UPPER_LEFT, _BROW_UPPER_RIGHT = (70, 63, 105, 66, 107), (300, 293, 334, 296, 336)
_BROW_INNER_LEFT, _BROW_INNER_RIGHT = 107, 336
_NOSE_TIP = 1


# ------------------------------------------------------------------------------------------------ helpers
def _as_landmarks(landmarks: Any) -> np.ndarray:
    """``(F, N, 2)`` float64 (a single ``(N, 2)`` mesh becomes ``F = 1``)."""
    points = np.asarray(landmarks, dtype=np.float64)
    if points.ndim == 2:
        points = points[None]
    if points.ndim != 3 or points.shape[2] != 2 or points.shape[1] < 468:
        raise ValueError(f"landmarks must be MediaPipe face meshes (F, 478, 2) or (478, 2), got shape {points.shape}")
    return points


def _region_indices(region: str | Sequence[int]) -> np.ndarray:
    if isinstance(region, str):
        if region not in REGIONS:
            raise ValueError(f"region must be one of {sorted(REGIONS)} or a list of mesh indices, got {region!r}")
        return np.asarray(REGIONS[region])
    indices = np.asarray(region, dtype=np.int64).reshape(-1)
    if indices.size == 0 or indices.min() < 0 or indices.max() >= NUM_LANDMARKS:
        raise ValueError(f"region indices must be in [0, {NUM_LANDMARKS}), got {region!r}")
    return indices


def _valid(points: np.ndarray) -> np.ndarray:
    return np.isfinite(points).all(axis=(1, 2))


def _eye_centres(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return points[:, _EYE_CORNERS_LEFT].mean(axis=1), points[:, _EYE_CORNERS_RIGHT].mean(axis=1)


def inter_ocular_distance(landmarks: Any) -> np.ndarray:
    """Distance between the eye centres (midpoints of the eye corners) of each mesh.

    Args:
        landmarks (`np.ndarray`): ``(F, 478, 2)`` or ``(478, 2)`` pixel coordinates.

    Returns:
        `np.ndarray`: ``(F,)`` float64 pixels (NaN for missing frames).
    """
    left, right = _eye_centres(_as_landmarks(landmarks))
    return np.linalg.norm(right - left, axis=-1)


def _face_frame(points: np.ndarray) -> np.ndarray:
    """Meshes in a per-frame face coordinate system: origin midway between the eye centres, x along the eye line,
    y down the face, unit = inter-ocular distance. Removes in-plane rotation, scale and translation."""
    left, right = _eye_centres(points)
    axis = right - left
    iod = np.linalg.norm(axis, axis=-1, keepdims=True)
    ex = axis / iod
    ey = np.stack([-ex[:, 1], ex[:, 0]], axis=-1)  # ex rotated by +90° in image coordinates (y down)
    centred = points - ((left + right) / 2)[:, None]
    return np.stack([(centred * ex[:, None]).sum(-1), (centred * ey[:, None]).sum(-1)], axis=-1) / iod[:, None]


# ------------------------------------------------------------------------------------------------ landmarks
def face_landmarks(frames: np.ndarray | Sequence[np.ndarray], detector: Any = None) -> np.ndarray:
    """The 478-point face mesh of every frame.

    Args:
        frames (`np.ndarray` or sequence of `np.ndarray`): uint8 RGB ``(F, H, W, 3)`` (one ``(H, W, 3)`` image is
            treated as ``F = 1``).
        detector ([`~eadnet.face.FaceDetector`], *optional*): Defaults to a [`~eadnet.face.MediaPipeFaceDetector`]
            with ``tracking=False`` (closed afterwards): every frame is meshed on its own, so identical frames get
            identical landmarks. MediaPipe's tracking mode feeds each frame's landmarks into the next frame's
            region of interest, and on a still image that loop oscillates with a two-frame period (measured on the
            example portrait: mouth opening alternating 0.158 / 0.171, landmark jitter 0.011 where the image has
            none), which would be counted as the clip's own jitter. Meshing every frame costs about the same.

    Returns:
        `np.ndarray`: float64 ``(F, 478, 2)`` pixel coordinates, NaN rows for frames without a face.
    """
    if isinstance(frames, np.ndarray) and frames.ndim == 3:
        frames = frames[None]
    owned = detector is None
    if owned:
        detector = MediaPipeFaceDetector(tracking=False)
    try:
        detections = list(detector.detect_video(frames))
    finally:
        if owned:
            detector.close()
    landmarks = np.full((len(detections), NUM_LANDMARKS, 2), np.nan)
    for index, detection in enumerate(detections):
        if detection is not None:
            points = np.asarray(detection.landmarks, dtype=np.float64)[:, :2]
            landmarks[index, : min(len(points), NUM_LANDMARKS)] = points[:NUM_LANDMARKS]
    missing = int((~_valid(landmarks)).sum())
    if missing:
        logger.info("no face in %d of %d frames", missing, len(detections))
    return landmarks


def mouth_opening(landmarks: Any) -> np.ndarray:
    """Gap between the inner lips (mesh points 13 and 14) divided by the inter-ocular distance.

    Args:
        landmarks (`np.ndarray`): ``(F, 478, 2)`` or ``(478, 2)`` pixel coordinates.

    Returns:
        `np.ndarray`: ``(F,)`` float64, about 0 for closed lips and 0.3-0.6 for a wide-open mouth; NaN for missing
        frames.
    """
    points = _as_landmarks(landmarks)
    gap = np.linalg.norm(points[:, _INNER_LIP_TOP] - points[:, _INNER_LIP_BOTTOM], axis=-1)
    return gap / inter_ocular_distance(points)


# ------------------------------------------------------------------------------------------------ jitter
def _pose_aligned(points: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Each valid mesh mapped onto the first valid one by the similarity fitted on the rigid points, in units of
    that mesh's inter-ocular distance."""
    reference = points[np.flatnonzero(valid)[0]]
    rigid = list(_RIGID)
    aligned = np.full_like(points, np.nan)
    for index in np.flatnonzero(valid):
        matrix = estimate_similarity(points[index, rigid], reference[rigid])
        aligned[index] = transform_points(points[index], matrix)
    return aligned / inter_ocular_distance(reference)[0]


def landmark_jitter_per_frame(landmarks: Any, region: str | Sequence[int] = "all", align: bool = True) -> np.ndarray:
    """Per-frame landmark acceleration: the temporal second difference, the measure behind :func:`landmark_jitter`.

    Value ``t`` is the mean over the region's points of ``‖x[t+1] - 2 x[t] + x[t-1]‖``, with ``x`` the landmarks in
    inter-ocular units. A still face gives 0, a face moving at constant speed 0, smooth motion little, and noise
    or a jump (a window seam) a lot: a jump between frames ``t`` and ``t+1`` shows at ``t`` and ``t+1``.

    Args:
        landmarks (`np.ndarray`): ``(F, 478, 2)`` pixel coordinates, NaN rows for missing frames.
        region (`str` or sequence of `int`, *optional*, defaults to `"all"`): A key of :data:`REGIONS` or mesh
            indices.
        align (`bool`, *optional*, defaults to `True`): Remove head pose first: every mesh is mapped onto the
            first valid one by a similarity (rotation, scale, translation) fitted on the rigid points (eye
            corners, nose, forehead, temples), so rigid head motion, smooth or shaky, does not count and what is
            left is the face's own movement and flicker. With `False` the meshes are only divided by the first
            valid frame's inter-ocular distance and head motion counts too.

    Returns:
        `np.ndarray`: ``(F,)`` float64; NaN at the first and last frame and wherever one of the three frames has
        no face.
    """
    points = _as_landmarks(landmarks)
    indices = _region_indices(region)
    valid = _valid(points)
    per_frame = np.full(points.shape[0], np.nan)
    if valid.sum() < 3:
        return per_frame
    if align:
        points = _pose_aligned(points, valid)
    else:
        points = points / inter_ocular_distance(points[np.flatnonzero(valid)[0]])[0]
    points = points[:, indices]
    acceleration = points[2:] - 2 * points[1:-1] + points[:-2]
    per_frame[1:-1] = np.linalg.norm(acceleration, axis=-1).mean(axis=-1)
    return per_frame


def landmark_jitter(landmarks: Any, region: str | Sequence[int] = "all", align: bool = True) -> float:
    """Temporal instability of the face mesh: mean of :func:`landmark_jitter_per_frame` over the frames where it is
    defined (inter-ocular units per frame²; NaN when fewer than three consecutive frames have a face).

    Args:
        landmarks (`np.ndarray`): ``(F, 478, 2)`` pixel coordinates, NaN rows for missing frames.
        region (`str` or sequence of `int`, *optional*, defaults to `"all"`): A key of :data:`REGIONS` or mesh
            indices.
        align (`bool`, *optional*, defaults to `True`): Remove head pose first (see
            :func:`landmark_jitter_per_frame`).

    Returns:
        `float`: the jitter.
    """
    per_frame = landmark_jitter_per_frame(landmarks, region=region, align=align)
    return float(np.nanmean(per_frame)) if np.isfinite(per_frame).any() else float("nan")


def seam_frames(num_frames: int, window: int = 16, overlap: int = 2) -> np.ndarray:
    """First frame generated by each window after the first, as the pipeline lays out windows.

    Windows start every ``window - overlap`` frames and the last one is moved back to end at the clip's end; each
    window's first frames are pinned to the previous window's result, so new content starts where the previous
    window ended: frame ``b = start_prev + window`` (14, 28, … for 16/2).

    Args:
        num_frames (`int`): Frames in the clip.
        window (`int`, *optional*, defaults to 16): Frames per window.
        overlap (`int`, *optional*, defaults to 2): Frames shared by consecutive windows.

    Returns:
        `np.ndarray`: int64 seam frames ``b``; the jump, if any, is between frames ``b - 1`` and ``b``.
    """
    if window < 1 or not 0 <= overlap < window:
        raise ValueError(f"need window >= 1 and 0 <= overlap < window, got window={window}, overlap={overlap}")
    if num_frames <= window:
        return np.zeros(0, dtype=np.int64)
    starts = list(range(0, num_frames - window + 1, window - overlap))
    if starts[-1] + window < num_frames:
        starts.append(num_frames - window)
    return np.array([previous + window for previous in starts[:-1]], dtype=np.int64)


def seam_jitter(per_frame: Any, window: int = 16, overlap: int = 2) -> dict[str, Any]:
    """Compares the jitter at the generation windows' seams with the jitter elsewhere.

    Args:
        per_frame (`np.ndarray`): ``(F,)`` per-frame jitter (:func:`landmark_jitter_per_frame`).
        window (`int`, *optional*, defaults to 16): Frames per generation window.
        overlap (`int`, *optional*, defaults to 2): Frames shared by consecutive windows.

    Returns:
        `dict`: ``seams`` (seam frames ``b``, see :func:`seam_frames`), ``seam_values`` (per seam, the larger of the
        values at ``b - 1`` and ``b``, where a jump shows), ``seam_mean``, ``other_mean`` (mean over all other
        frames), ``ratio`` (``seam_mean / other_mean``: about 1 when seams do not show, NaN without seams).
    """
    values = np.asarray(per_frame, dtype=np.float64).reshape(-1)
    seams = seam_frames(values.size, window=window, overlap=overlap)
    at_seam = np.zeros(values.size, dtype=bool)
    seam_values = []
    for b in seams:
        at_seam[b - 1 : b + 1] = True
        pair = values[b - 1 : b + 1]
        seam_values.append(float(np.nanmax(pair)) if np.isfinite(pair).any() else float("nan"))
    others = values[~at_seam & np.isfinite(values)]
    seam_mean = float(np.nanmean(seam_values)) if np.isfinite(seam_values).any() else float("nan")
    other_mean = float(others.mean()) if others.size else float("nan")
    ratio = seam_mean / other_mean if np.isfinite(seam_mean) and other_mean > 0 else float("nan")
    return {
        "seams": seams.tolist(),
        "seam_values": seam_values,
        "seam_mean": seam_mean,
        "other_mean": other_mean,
        "ratio": float(ratio),
    }


# ------------------------------------------------------------------------------------------------ identity
_APPEARANCE_SIZE = 128  # side of the canonical crop the upper faces are compared in


def _is_image_stack(value: np.ndarray) -> bool:
    return value.dtype == np.uint8 and value.shape[-1] == 3


def identity_drift(
    frames: Any,
    reference: Any,
    *,
    frames_landmarks: np.ndarray | None = None,
    reference_landmarks: np.ndarray | None = None,
    detector: Any = None,
) -> dict[str, Any]:
    """How far the upper face (eyes, brows, nose; not the mouth, which is meant to change) drifts from a reference
    portrait, in shape and in appearance.

    * Geometry: the frame's upper-face points are fitted to the reference's by a similarity transform; the distance
      is the RMS residual in reference inter-ocular units (0 for the same face in any position, size or in-plane
      rotation; expressions that move brows or eyelids add a little, a different face or a warped one more).
    * Appearance (images only): both upper faces are warped into a canonical 128 px crop by transforms fitted on the
      upper-face points and compared inside the upper-face hull: ``appearance`` is the mean absolute RGB difference
      in ``[0, 1]`` units, ``appearance_structure`` is ``1 - `` the zero-mean normalised cross-correlation of the
      grey levels (insensitive to brightness and contrast; 0 for identical, about 1 for unrelated textures).

    Args:
        frames (`np.ndarray`): uint8 RGB frames ``(F, H, W, 3)`` (or face crops), or their meshes ``(F, 478, 2)``.
        reference (`np.ndarray`): uint8 RGB portrait ``(H, W, 3)``, or its mesh ``(478, 2)``.
        frames_landmarks (`np.ndarray`, *optional*): Meshes of ``frames`` when they are images (detected otherwise).
        reference_landmarks (`np.ndarray`, *optional*): Mesh of ``reference`` when it is an image.
        detector ([`~eadnet.face.FaceDetector`], *optional*): For the detections; MediaPipe by default.

    Returns:
        `dict`: ``geometry`` and ``appearance`` / ``appearance_structure`` (means over frames with a face; the
        appearance values are `None` without images), the per-frame lists ``geometry_per_frame``,
        ``appearance_per_frame``, ``appearance_structure_per_frame`` (NaN where no face), ``num_frames`` and
        ``frames_without_face``.
    """
    frames = np.asarray(frames)
    reference = np.asarray(reference)
    frame_images = frames if _is_image_stack(frames) else None
    if frame_images is not None and frame_images.ndim == 3:
        frame_images = frame_images[None]
    reference_image = reference if _is_image_stack(reference) and reference.ndim == 3 else None

    owned = detector is None and (
        (frame_images is not None and frames_landmarks is None)
        or (reference_image is not None and reference_landmarks is None)
    )
    if owned:
        detector = MediaPipeFaceDetector(tracking=False)
    try:
        if frame_images is not None:
            points = (
                face_landmarks(frame_images, detector) if frames_landmarks is None else _as_landmarks(frames_landmarks)
            )
        else:
            points = _as_landmarks(frames)
        if reference_image is not None:
            if reference_landmarks is None:
                detection = detector.detect(reference_image)
                if detection is None:
                    raise NoFaceError()
                reference_landmarks = detection.landmarks
            reference_points = _as_landmarks(reference_landmarks)[0]
        else:
            reference_points = _as_landmarks(reference)[0]
    finally:
        if owned:
            detector.close()

    upper = list(REGIONS["upper_face"])
    reference_iod = float(inter_ocular_distance(reference_points)[0])
    valid = _valid(points)
    geometry = np.full(points.shape[0], np.nan)
    appearance = np.full(points.shape[0], np.nan)
    structure = np.full(points.shape[0], np.nan)

    compare_images = frame_images is not None and reference_image is not None
    if compare_images:
        # canonical crop: the reference's upper face centred, its inter-ocular distance at 35 % of the crop
        size = _APPEARANCE_SIZE
        centre = reference_points[upper].mean(axis=0)
        scale = 0.35 * size / reference_iod
        to_canonical = np.array(
            [[scale, 0.0, size / 2 - scale * centre[0]], [0.0, scale, size / 2 - scale * centre[1]]]
        )
        hull = cv2.convexHull(transform_points(reference_points[upper], to_canonical).astype(np.float32))
        mask = np.zeros((size, size), dtype=np.uint8)
        cv2.fillConvexPoly(mask, np.round(hull).astype(np.int32), 1)
        mask = mask.astype(bool)
        reference_crop = warp_to_crop(reference_image, to_canonical, size).astype(np.float64) / 255.0
        reference_gray = reference_crop[mask].mean(axis=-1)

    for index in np.flatnonzero(valid):
        matrix = estimate_similarity(points[index, upper], reference_points[upper])
        residual = transform_points(points[index, upper], matrix) - reference_points[upper]
        geometry[index] = np.sqrt((residual**2).sum(axis=-1).mean()) / reference_iod
        if compare_images:
            full = np.vstack([matrix, [0.0, 0.0, 1.0]])
            crop = warp_to_crop(frame_images[index], to_canonical @ full, size).astype(np.float64) / 255.0
            appearance[index] = np.abs(crop[mask] - reference_crop[mask]).mean()
            gray = crop[mask].mean(axis=-1)
            a, b = gray - gray.mean(), reference_gray - reference_gray.mean()
            denominator = np.sqrt((a**2).sum() * (b**2).sum())
            structure[index] = 1.0 - float((a * b).sum() / denominator) if denominator > 0 else 1.0

    def mean(values: np.ndarray) -> float | None:
        return float(np.nanmean(values)) if np.isfinite(values).any() else None

    return {
        "geometry": mean(geometry),
        "appearance": mean(appearance) if compare_images else None,
        "appearance_structure": mean(structure) if compare_images else None,
        "geometry_per_frame": geometry.tolist(),
        "appearance_per_frame": appearance.tolist() if compare_images else None,
        "appearance_structure_per_frame": structure.tolist() if compare_images else None,
        "num_frames": int(points.shape[0]),
        "frames_without_face": int((~valid).sum()),
    }


# ------------------------------------------------------------------------------------------------ expression
#: Geometry features of :func:`expression_geometry`.
GEOMETRY_FEATURES = (
    "mouth_corner_lift",
    "mouth_corner_asymmetry",
    "mouth_width",
    "mouth_opening",
    "brow_height",
    "brow_inner_gap",
    "eye_opening",
    "nose_to_lip",
)


def expression_geometry(landmarks: Any) -> dict[str, np.ndarray]:
    """Simple expression features of face meshes, in a face-aligned frame (eye line horizontal) and inter-ocular
    units, so head roll, position and size do not matter (head yaw and pitch do: use near-frontal faces).

    Args:
        landmarks (`np.ndarray`): ``(F, 478, 2)`` or ``(478, 2)`` pixel coordinates.

    Returns:
        `dict[str, np.ndarray]`: ``(F,)`` float64 arrays (NaN for missing frames):
            ``mouth_corner_lift`` (height of the mouth corners above the lips' centre: positive in a smile,
            negative when the corners turn down), ``mouth_corner_asymmetry`` (height difference of the two corners,
            a one-sided smirk), ``mouth_width`` (corner to corner), ``mouth_opening`` (inner-lip gap),
            ``brow_height`` (upper brow above the eye centres), ``brow_inner_gap`` (between the inner brow ends;
            smaller in a frown), ``eye_opening`` (lid gap at the middle of the eyes), ``nose_to_lip`` (nose tip to
            upper lip; shorter when the upper lip is raised, as in disgust).
    """
    face = _face_frame(_as_landmarks(landmarks))
    x, y = face[..., 0], face[..., 1]
    lip_centre_y = (
        y[:, _OUTER_LIP_TOP] + y[:, _OUTER_LIP_BOTTOM] + y[:, _INNER_LIP_TOP] + y[:, _INNER_LIP_BOTTOM]
    ) / 4
    corner_left, corner_right = y[:, _MOUTH_CORNER_LEFT], y[:, _MOUTH_CORNER_RIGHT]
    brow = np.concatenate([y[:, list(_BROW_UPPER_LEFT)], y[:, list(_BROW_UPPER_RIGHT)]], axis=1).mean(axis=1)
    lids = [np.linalg.norm(face[:, top] - face[:, bottom], axis=-1) for top, bottom in (_LID_LEFT, _LID_RIGHT)]
    return {
        "mouth_corner_lift": lip_centre_y - (corner_left + corner_right) / 2,
        "mouth_corner_asymmetry": np.abs(corner_left - corner_right),
        "mouth_width": np.linalg.norm(face[:, _MOUTH_CORNER_LEFT] - face[:, _MOUTH_CORNER_RIGHT], axis=-1),
        "mouth_opening": np.linalg.norm(face[:, _INNER_LIP_TOP] - face[:, _INNER_LIP_BOTTOM], axis=-1),
        "brow_height": -brow,  # the eye centres are at y = 0, y grows down the face
        "brow_inner_gap": np.abs(x[:, _BROW_INNER_RIGHT] - x[:, _BROW_INNER_LEFT]),
        "eye_opening": (lids[0] + lids[1]) / 2,
        "nose_to_lip": y[:, _OUTER_LIP_TOP] - y[:, _NOSE_TIP],
    }


#: Classes of :func:`geometry_emotion` (the MEAD labels).
EMOTION_GEOMETRY_LABELS: tuple[str, ...] = (
    "angry",
    "contempt",
    "disgusted",
    "fear",
    "happy",
    "neutral",
    "sad",
    "surprised",
)

#: Typical values of a neutral, frontal adult face, used when no neutral reference is given. Rough figures: no
#: neutral face photograph ships offline to measure them on, so they come from the smiling example portrait (mesh:
#: brows 0.31, inner brow gap 0.47, eyes 0.16, nose-to-lip 0.25, mouth width 1.03, corner lift 0.17) with the
#: smile taken out by hand. Prefer a neutral frame of the same person.
DEFAULT_NEUTRAL_GEOMETRY: dict[str, float] = {
    "mouth_corner_lift": 0.0,
    "mouth_corner_asymmetry": 0.0,
    "mouth_width": 0.85,
    "mouth_opening": 0.0,
    "brow_height": 0.32,
    "brow_inner_gap": 0.45,
    "eye_opening": 0.15,
    "nose_to_lip": 0.27,
}


def _ramp(value: np.ndarray, scale: float) -> np.ndarray:
    """``max(value, 0) / scale``, NaN kept."""
    return np.maximum(value, 0.0) / scale


def geometry_emotion(features: dict[str, Any], neutral: dict[str, Any] | None = None) -> dict[str, Any]:
    """A rule-based emotion guess from :func:`expression_geometry` features: a cheap second opinion, not a
    classifier.

    Each feature's change from ``neutral`` (in inter-ocular units) scores the emotions whose facial actions move it:
    happy = corners up and mouth wider (AU12); sad = corners down (AU15); surprised = brows up, eyes wide, jaw
    dropped (AU1+2, AU5, AU26); fear = eyes wide and brows up with the mouth stretched but not smiling (AU1+2+4,
    AU5, AU20); angry = brows lowered and drawn together (AU4); disgusted = upper lip raised toward the nose (AU10)
    with the corners not lifting (a smile raises the upper lip as well);
    contempt = one corner higher than the other (unilateral AU12/14). ``neutral`` scores 1, so it wins when no
    change reaches its scale.

    Limits: the scales are hand-set, not fitted to data; without the person's own neutral frame (``neutral``) the
    guesses lean on :data:`DEFAULT_NEUTRAL_GEOMETRY`, and a person whose resting face smiles reads happy; the mouth
    moves with speech, so per-frame guesses on talking clips are noisy (use the clip's majority); fear and surprise
    share most actions; head yaw/pitch distort the 2-D geometry.

    Args:
        features (`dict`): :func:`expression_geometry` output (``(F,)`` arrays or scalars).
        neutral (`dict`, *optional*): The same features of a neutral face of the same person (e.g. the reference
            portrait's, when it is neutral); arrays are averaged over frames.

    Returns:
        `dict`: ``labels`` (per-frame argmax, ``"unknown"`` for missing frames), ``label`` (clip majority of the
        known frames, or ``"unknown"``), ``scores`` (``(F, 8)`` array over :data:`EMOTION_GEOMETRY_LABELS`).
    """
    base = dict(DEFAULT_NEUTRAL_GEOMETRY)
    if neutral is not None:
        base.update(
            {
                name: float(np.nanmean(np.asarray(value, dtype=np.float64)))
                for name, value in neutral.items()
                if name in base
            }
        )
    delta = {
        name: np.atleast_1d(np.asarray(features[name], dtype=np.float64)) - base[name] for name in GEOMETRY_FEATURES
    }
    lift, width, opening = delta["mouth_corner_lift"], delta["mouth_width"], delta["mouth_opening"]
    brows, eyes = delta["brow_height"], delta["eye_opening"]
    wide_eyed = _ramp(eyes, 0.04) + _ramp(brows, 0.05)
    scores = {
        "angry": _ramp(-brows, 0.04) + _ramp(-delta["brow_inner_gap"], 0.04),
        "contempt": _ramp(delta["mouth_corner_asymmetry"], 0.04),
        # a smile lifts the upper lip too (AU12 pulls it up and back): disgust raises it without the corners
        "disgusted": _ramp(-delta["nose_to_lip"], 0.04) - _ramp(lift, 0.03),
        "fear": 0.5 * wide_eyed + _ramp(width, 0.08) - _ramp(lift, 0.03),
        "happy": _ramp(lift, 0.04) + 0.5 * _ramp(width, 0.10),
        "neutral": np.ones_like(lift),
        "sad": _ramp(-lift, 0.03),
        "surprised": wide_eyed + 0.5 * _ramp(opening, 0.5),
    }
    matrix = np.stack([scores[label] for label in EMOTION_GEOMETRY_LABELS], axis=1)
    known = np.isfinite(matrix).all(axis=1)
    labels = ["unknown"] * matrix.shape[0]
    for index in np.flatnonzero(known):
        labels[index] = EMOTION_GEOMETRY_LABELS[int(matrix[index].argmax())]
    label = "unknown"
    if known.any():
        counts = {name: labels.count(name) for name in EMOTION_GEOMETRY_LABELS}
        label = max(EMOTION_GEOMETRY_LABELS, key=lambda name: counts[name])
    return {"labels": labels, "label": label, "scores": matrix}


class GeometryExpressionClassifier:
    r"""[`~eadnet.evaluation.expression.ExpressionClassifier`] built on :func:`geometry_emotion`: runs the face mesh
    on each crop and turns the rule scores into probabilities (normalised, missing faces uniform). Covers all eight
    MEAD labels, contempt included; see :func:`geometry_emotion` for its limits.

    Args:
        neutral (`dict`, *optional*): :func:`expression_geometry` features of a neutral face of the same person.
        detector ([`~eadnet.face.FaceDetector`], *optional*): MediaPipe by default.
    """

    labels: tuple[str, ...] = EMOTION_GEOMETRY_LABELS

    def __init__(self, neutral: dict[str, Any] | None = None, detector: Any = None):
        self.neutral = neutral
        self._detector = detector

    def predict(self, face_crops: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """``(N, 8)`` probabilities of uint8 RGB face crops ``(N, H, W, 3)``."""
        if self._detector is None:
            self._detector = MediaPipeFaceDetector()
        landmarks = np.full((len(face_crops), NUM_LANDMARKS, 2), np.nan)
        for index, crop in enumerate(face_crops):
            detection = self._detector.detect(np.ascontiguousarray(crop))
            if detection is not None:
                landmarks[index] = np.asarray(detection.landmarks, dtype=np.float64)[:NUM_LANDMARKS, :2]
        scores = np.clip(geometry_emotion(expression_geometry(landmarks), self.neutral)["scores"], 0.0, None)
        probs = np.full(scores.shape, 1.0 / len(self.labels))
        known = np.isfinite(scores).all(axis=1)
        probs[known] = scores[known] / scores[known].sum(axis=1, keepdims=True)
        return probs
