"""Similarity alignment of a face to the model's square crop.

The face is aligned with five points — the two eye centres, the nose tip and the two mouth corners — taken from
the 478-point MediaPipe face mesh, fitted to a fixed template by a least-squares similarity transform (rotation,
uniform scale, translation; Umeyama, TPAMI 1991). LatentSync aligns with three points (eyebrow centres and the
nose) and a non-square 210 × 280 template that it then resizes to a square, which stretches the face
horizontally (`latentsync/utils/affine_transform.py`); we keep the face's aspect ratio and use five points, so
that the mouth, the part the model regenerates, is pinned down by the fit too.

Template (:data:`TEMPLATE_POINTS5`), in units of the crop size ``S`` (x to the right, y down, ``(0, 0)`` the
top-left corner of the crop, ``(1, 1)`` the bottom-right one):

| point | x | y |
| --- | --- | --- |
| eye centre, image left (the subject's right eye) | 0.355 | 0.400 |
| eye centre, image right (the subject's left eye) | 0.645 | 0.400 |
| nose tip | 0.500 | 0.565 |
| mouth corner, image left | 0.385 | 0.700 |
| mouth corner, image right | 0.615 | 0.700 |

Eye distance 0.29 S, eyes-to-mouth 0.30 S, mouth width 0.23 S: the ratios (eyes-to-mouth ≈ 1.03 × eye distance,
mouth width ≈ 0.8 × eye distance) lie between those of ArcFace's five-point template and of MediaPipe's mesh on
the test portrait, and the scale gives a LatentSync-like framing: the face fills most of the crop, with some
forehead and chin margin. On the test portrait (scikit-image's astronaut) the top of the face mesh (point 10,
below the hairline) lands at y ≈ 0.18 S, the chin (point 152) at y ≈ 0.92 S, the cheeks (points 234 / 454) at
x ≈ 0.19 S and 0.82 S, and the centre of the lips about 1 px from the template's mouth centre at 256 px.

Points are converted to pixels as ``p · S - 0.5`` (OpenCV's pixel-centre convention), so a 512 px crop is
geometrically a 2× enlargement of the 256 px one.
"""

from __future__ import annotations

import cv2
import numpy as np

# Five template points in units of the crop size, see the module docstring.
TEMPLATE_POINTS5 = np.array(
    [
        [0.355, 0.400],  # eye centre, image left
        [0.645, 0.400],  # eye centre, image right
        [0.500, 0.565],  # nose tip
        [0.385, 0.700],  # mouth corner, image left
        [0.615, 0.700],  # mouth corner, image right
    ],
    dtype=np.float64,
)

# MediaPipe face-mesh indices (478-point topology with refined irises). "Image left" is the subject's right.
MESH_EYE_LEFT_CORNERS = (33, 133)  # outer and inner corner of the eye on the image-left side
MESH_EYE_RIGHT_CORNERS = (362, 263)  # inner and outer corner of the eye on the image-right side
MESH_NOSE_TIP = 1
MESH_MOUTH_LEFT = 61
MESH_MOUTH_RIGHT = 291
# Outer and inner lip contours: their mean is the mouth centre used by tests and diagnostics.
MESH_LIPS = (
    61,
    146,
    91,
    181,
    84,
    17,
    314,
    405,
    321,
    375,
    291,
    185,
    40,
    39,
    37,
    0,
    267,
    269,
    270,
    409,
    78,
    95,
    88,
    178,
    87,
    14,
    317,
    402,
    318,
    324,
    308,
    191,
    80,
    81,
    82,
    13,
    312,
    311,
    310,
    415,
)


def template_points5(size: int) -> np.ndarray:
    """The five template points in pixels of a ``size`` × ``size`` crop.

    Args:
        size (`int`): Crop size ``S`` in pixels.

    Returns:
        `np.ndarray`: ``(5, 2)`` float64 pixel coordinates (OpenCV's convention, pixel centres at integers).
    """
    if size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    return TEMPLATE_POINTS5 * size - 0.5


def landmarks_to_points5(landmarks: np.ndarray) -> np.ndarray:
    """Reduces a 478-point (or 468-point) MediaPipe face mesh to the five alignment points.

    Eye centres are the midpoints of the eye corners rather than the irises, so that gaze does not move the
    alignment.

    Args:
        landmarks (`np.ndarray`): ``(N, 2)`` pixel coordinates of the face mesh, ``N >= 468``.

    Returns:
        `np.ndarray`: ``(5, 2)`` float64: image-left eye, image-right eye, nose tip, image-left and image-right
        mouth corners (the order of :data:`TEMPLATE_POINTS5`).
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.ndim != 2 or landmarks.shape[1] < 2 or landmarks.shape[0] < 468:
        raise ValueError(f"landmarks must be a (478, 2) MediaPipe face mesh, got shape {landmarks.shape}")
    landmarks = landmarks[:, :2]
    return np.stack(
        [
            landmarks[list(MESH_EYE_LEFT_CORNERS)].mean(axis=0),
            landmarks[list(MESH_EYE_RIGHT_CORNERS)].mean(axis=0),
            landmarks[MESH_NOSE_TIP],
            landmarks[MESH_MOUTH_LEFT],
            landmarks[MESH_MOUTH_RIGHT],
        ]
    )


def estimate_similarity(
    src_points: np.ndarray, dst_points: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Least-squares similarity transform (rotation, uniform scale, translation; no reflection).

    Minimises ``Σ wᵢ ‖dstᵢ - (s R srcᵢ + t)‖²`` in closed form (Umeyama, "Least-squares estimation of
    transformation parameters between two point patterns", TPAMI 1991).

    Args:
        src_points (`np.ndarray`): ``(N, 2)`` points, ``N >= 2``.
        dst_points (`np.ndarray`): ``(N, 2)`` corresponding points.
        weights (`np.ndarray`, *optional*): ``(N,)`` non-negative weights; equal weights by default.

    Returns:
        `np.ndarray`: ``(2, 3)`` float64 matrix ``[s R | t]`` mapping ``src`` to ``dst`` (OpenCV's layout, usable
        with ``cv2.warpAffine``).
    """
    src = np.asarray(src_points, dtype=np.float64)
    dst = np.asarray(dst_points, dtype=np.float64)
    if src.ndim != 2 or src.shape[1] != 2 or src.shape != dst.shape or src.shape[0] < 2:
        raise ValueError(f"src_points and dst_points must both be (N, 2) with N >= 2, got {src.shape} and {dst.shape}")
    if weights is None:
        w = np.full(src.shape[0], 1.0 / src.shape[0])
    else:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        if w.shape[0] != src.shape[0] or (w < 0).any() or w.sum() <= 0:
            raise ValueError("weights must be (N,) non-negative with a positive sum")
        w = w / w.sum()
    mean_src = w @ src
    mean_dst = w @ dst
    src_c = src - mean_src
    dst_c = dst - mean_dst
    var_src = float(w @ (src_c**2).sum(axis=1))
    if var_src <= 1e-12:
        raise ValueError("src_points are all at one place: a similarity transform is undefined")
    covariance = (dst_c * w[:, None]).T @ src_c  # (2, 2)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # the best orthogonal map would be a reflection
        sign[-1] = -1.0
    rotation = (u * sign) @ vt
    scale = float((singular * sign).sum() / var_src)
    translation = mean_dst - scale * rotation @ mean_src
    return np.concatenate([scale * rotation, translation[:, None]], axis=1)


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a ``(..., 2, 3)`` affine matrix (or a batch of them).

    Args:
        matrix (`np.ndarray`): ``(..., 2, 3)`` affine matrices.

    Returns:
        `np.ndarray`: ``(..., 2, 3)`` float64 inverses.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape[-2:] != (2, 3):
        raise ValueError(f"matrix must be (..., 2, 3), got shape {matrix.shape}")
    linear_inv = np.linalg.inv(matrix[..., :2])
    translation = -np.einsum("...ij,...j->...i", linear_inv, matrix[..., 2])
    return np.concatenate([linear_inv, translation[..., None]], axis=-1)


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Applies a ``(2, 3)`` affine matrix to ``(N, 2)`` points; returns ``(N, 2)`` float64."""
    points = np.asarray(points, dtype=np.float64)
    matrix = np.asarray(matrix, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def matrix_scale(matrix: np.ndarray) -> float:
    """Geometric-mean scale factor ``sqrt(|det A|)`` of the linear part of a ``(2, 3)`` affine matrix."""
    return float(np.sqrt(abs(np.linalg.det(np.asarray(matrix, dtype=np.float64)[:, :2]))))


def _compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """``outer ∘ inner`` for ``(2, 3)`` affine matrices."""
    linear = outer[:, :2] @ inner[:, :2]
    translation = outer[:, :2] @ inner[:, 2] + outer[:, 2]
    return np.concatenate([linear, translation[:, None]], axis=1)


def warp_to_crop(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Warps ``image`` into a ``size`` × ``size`` crop with an affine matrix (image → crop).

    Bilinear, with area averaging first when the crop shrinks the image by more than 2× (see
    :func:`warp_affine`); crop pixels that fall outside the image replicate the image's border.

    Args:
        image (`np.ndarray`): ``(H, W, C)`` or ``(H, W)`` image (uint8 or float).
        matrix (`np.ndarray`): ``(2, 3)`` affine matrix from image pixels to crop pixels.
        size (`int`): Crop size ``S``.

    Returns:
        `np.ndarray`: ``(S, S, C)`` (or ``(S, S)``) crop with the dtype of ``image``.
    """
    if int(size) < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    return warp_affine(image, matrix, (int(size), int(size)), border="replicate")


def warp_affine(
    image: np.ndarray, matrix: np.ndarray, output_size: tuple[int, int], border: str = "replicate"
) -> np.ndarray:
    """``cv2.warpAffine`` that reads only the part of ``image`` the output sees and does not alias.

    When the warp shrinks the image by more than 2×, that part is first reduced with area averaging
    (``cv2.INTER_AREA``) to about 1.5 source pixels per output pixel, then warped bilinearly; otherwise the warp
    is bilinear. Reading only the needed region keeps memory and time independent of the image size.

    Args:
        image (`np.ndarray`): ``(H, W, C)`` or ``(H, W)`` image (uint8 or float).
        matrix (`np.ndarray`): ``(2, 3)`` affine matrix from ``image`` pixels to output pixels.
        output_size (`tuple[int, int]`): Output ``(width, height)``.
        border (`str`, *optional*, defaults to `"replicate"`): ``"replicate"`` the image's edge or ``"constant"``
            zeros for output pixels that fall outside the image.

    Returns:
        `np.ndarray`: ``(height, width, C)`` (or ``(height, width)``) with the dtype of ``image``.
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3) or image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"image must be (H, W) or (H, W, C), got shape {image.shape}")
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (2, 3) or not np.isfinite(matrix).all():
        raise ValueError(f"matrix must be a finite (2, 3) array, got shape {matrix.shape}")
    if border not in ("replicate", "constant"):
        raise ValueError(f"border must be 'replicate' or 'constant', got {border!r}")
    out_w, out_h = int(output_size[0]), int(output_size[1])
    height, width = image.shape[:2]
    scale = matrix_scale(matrix)
    if scale <= 1e-9:
        raise ValueError("matrix is singular")
    inverse = invert_affine(matrix)
    corners = np.array([[-0.5, -0.5], [out_w - 0.5, -0.5], [-0.5, out_h - 0.5], [out_w - 0.5, out_h - 0.5]])
    source = transform_points(corners, inverse)
    margin = 2.0 + 2.0 / scale  # bilinear support, plus the reduction's footprint
    x0 = int(np.clip(np.floor(source[:, 0].min() - margin), 0, width - 1))
    y0 = int(np.clip(np.floor(source[:, 1].min() - margin), 0, height - 1))
    x1 = int(np.clip(np.ceil(source[:, 0].max() + margin) + 1, x0 + 1, width))
    y1 = int(np.clip(np.ceil(source[:, 1].max() + margin) + 1, y0 + 1, height))
    # When the output sees none of the image, the clipped region is an edge or corner strip: replicating it is
    # what replicating the whole image's border would give there.
    roi = image[y0:y1, x0:x1]
    to_image = np.array([[1.0, 0.0, x0], [0.0, 1.0, y0]])  # region pixel -> image pixel
    if scale < 0.5:
        roi_h, roi_w = roi.shape[:2]
        new_w = max(1, int(np.ceil(roi_w * scale * 1.5)))
        new_h = max(1, int(np.ceil(roi_h * scale * 1.5)))
        if new_w < roi_w and new_h < roi_h:
            roi = cv2.resize(roi, (new_w, new_h), interpolation=cv2.INTER_AREA)
            fx, fy = roi_w / new_w, roi_h / new_h
            # cv2.resize maps destination pixel d to source position (d + 0.5) · f - 0.5
            to_image = _compose(to_image, np.array([[fx, 0.0, 0.5 * fx - 0.5], [0.0, fy, 0.5 * fy - 0.5]]))
    border_mode = cv2.BORDER_REPLICATE if border == "replicate" else cv2.BORDER_CONSTANT
    warped = cv2.warpAffine(
        np.ascontiguousarray(roi),
        _compose(matrix, to_image),
        (out_w, out_h),
        flags=cv2.INTER_LINEAR,
        borderMode=border_mode,
        borderValue=0,
    )
    if image.ndim == 3 and warped.ndim == 2:  # OpenCV drops a single channel axis
        warped = warped[..., None]
    return warped


def smooth_points(points: np.ndarray, sigma: float, valid: np.ndarray | None = None) -> np.ndarray:
    """Temporal smoothing of point tracks by Gaussian-weighted local linear regression.

    Each frame's value is the value at that frame of a straight line fitted, with Gaussian weights of standard
    deviation ``sigma`` frames (truncated at 3 sigma), to the valid frames around it. The filter is centred (no
    lag), reproduces uniform motion exactly (also at the ends of the clip, where a plain moving average would
    pull the points inwards) and removes frame-to-frame jitter: white noise in the detections is reduced by about
    ``1 / sqrt(2 sqrt(pi) sigma)`` in amplitude (0.38× at ``sigma=2``). Motion faster than about ``fps / (2 pi
    sigma)`` Hz is attenuated, so ``sigma`` of 1–3 frames at 25 fps follows head motion and speech. Cost is
    ``O(F · sigma)``.

    Args:
        points (`np.ndarray`): ``(F, ...)`` values per frame, e.g. ``(F, 5, 2)`` alignment points.
        sigma (`float`): Standard deviation of the Gaussian in frames; ``0`` returns a copy of ``points``.
        valid (`np.ndarray`, *optional*): ``(F,)`` bool, frames whose points are known; the others take no part
            in the fits (their own output is still computed from their valid neighbours, when there are any).

    Returns:
        `np.ndarray`: ``(F, ...)`` float64 smoothed values (invalid frames without a valid neighbour within
        3 sigma keep their input values).
    """
    points = np.asarray(points, dtype=np.float64)
    num_frames = points.shape[0]
    valid = np.ones(num_frames, dtype=bool) if valid is None else np.asarray(valid, dtype=bool).reshape(-1)
    if valid.shape[0] != num_frames:
        raise ValueError(f"valid must have one entry per frame ({num_frames}), got {valid.shape[0]}")
    if sigma < 0 or not np.isfinite(sigma):
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma!r}")
    if sigma == 0 or num_frames < 2:
        return points.copy()
    flat = np.where(valid[:, None], points.reshape(num_frames, -1), 0.0)
    s0 = np.zeros(num_frames)
    s1 = np.zeros(num_frames)
    s2 = np.zeros(num_frames)
    t0 = np.zeros_like(flat)
    t1 = np.zeros_like(flat)
    radius = min(int(np.ceil(3 * sigma)), num_frames - 1)
    for offset in range(-radius, radius + 1):
        # frame i takes frame j = i + offset
        lo, hi = max(0, -offset), min(num_frames, num_frames - offset)
        weight = np.exp(-0.5 * (offset / sigma) ** 2) * valid[lo + offset : hi + offset]
        s0[lo:hi] += weight
        s1[lo:hi] += weight * offset
        s2[lo:hi] += weight * offset**2
        t0[lo:hi] += weight[:, None] * flat[lo + offset : hi + offset]
        t1[lo:hi] += (weight * offset)[:, None] * flat[lo + offset : hi + offset]
    det = s0 * s2 - s1**2
    linear = det > 1e-6 * np.maximum(s0, 1e-12) ** 2
    out = points.reshape(num_frames, -1).copy()
    has_data = s0 > 1e-12
    mean_fit = has_data & ~linear
    out[mean_fit] = t0[mean_fit] / s0[mean_fit, None]
    out[linear] = (s2[linear, None] * t0[linear] - s1[linear, None] * t1[linear]) / det[linear, None]
    return out.reshape(points.shape)
