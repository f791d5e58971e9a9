"""Alignment geometry: template, five points, similarity estimation, warps and temporal smoothing (no MediaPipe)."""

import cv2
import numpy as np
import pytest

from eadnet.face.alignment import (
    MESH_EYE_LEFT_CORNERS,
    MESH_EYE_RIGHT_CORNERS,
    MESH_MOUTH_LEFT,
    MESH_MOUTH_RIGHT,
    MESH_NOSE_TIP,
    TEMPLATE_POINTS5,
    estimate_similarity,
    invert_affine,
    landmarks_to_points5,
    smooth_points,
    template_points5,
    transform_points,
    warp_affine,
    warp_to_crop,
)


def similarity(angle_deg: float, scale: float, tx: float, ty: float) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    rotation = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return np.concatenate([rotation, [[tx], [ty]]], axis=1)


def smooth_test_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth colour image: low-frequency random field (bilinear round trips are accurate on it)."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, (height // 16 + 2, width // 16 + 2, 3)).astype(np.float32)
    return np.clip(cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8)


def test_template_is_symmetric_level_and_scales_with_size():
    points = template_points5(256)
    assert points.shape == (5, 2)
    assert points[0, 1] == points[1, 1] and points[3, 1] == points[4, 1]  # eyes and mouth corners level
    centre = 255 / 2
    np.testing.assert_allclose(points[[0, 3], 0] + points[[1, 4], 0], 2 * centre)  # mirror symmetric
    assert points[2, 0] == centre
    assert points[0, 1] < points[2, 1] < points[3, 1]  # eyes above nose above mouth
    # 512 px crop is the 256 px crop enlarged 2x about the crop's corner (pixel-centre convention)
    np.testing.assert_allclose(template_points5(512), (points + 0.5) * 2 - 0.5)
    assert np.all((TEMPLATE_POINTS5 > 0.2) & (TEMPLATE_POINTS5 < 0.8))
    with pytest.raises(ValueError, match="size"):
        template_points5(0)


def test_landmarks_to_points5_picks_eye_centres_nose_and_mouth_corners():
    rng = np.random.default_rng(0)
    landmarks = rng.uniform(0, 100, (478, 2))
    points = landmarks_to_points5(landmarks)
    np.testing.assert_allclose(points[0], landmarks[list(MESH_EYE_LEFT_CORNERS)].mean(0))
    np.testing.assert_allclose(points[1], landmarks[list(MESH_EYE_RIGHT_CORNERS)].mean(0))
    np.testing.assert_allclose(points[2:], landmarks[[MESH_NOSE_TIP, MESH_MOUTH_LEFT, MESH_MOUTH_RIGHT]])
    with pytest.raises(ValueError, match="478"):
        landmarks_to_points5(landmarks[:68])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_estimate_similarity_recovers_a_known_transform_exactly(seed):
    rng = np.random.default_rng(seed)
    truth = similarity(rng.uniform(-180, 180), rng.uniform(0.05, 20), *rng.uniform(-500, 500, 2))
    src = rng.uniform(-300, 300, (5, 2))
    dst = transform_points(src, truth)
    np.testing.assert_allclose(estimate_similarity(src, dst), truth, rtol=1e-9, atol=1e-8)


def test_estimate_similarity_never_reflects_and_respects_weights():
    src = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 1.0]])
    mirrored = src * [-1.0, 1.0]
    matrix = estimate_similarity(src, mirrored)
    assert np.linalg.det(matrix[:, :2]) > 0
    # an outlier with zero weight does not move the fit
    truth = similarity(20, 1.5, 3, -4)
    dst = transform_points(src, truth)
    dst[3] += 50
    np.testing.assert_allclose(estimate_similarity(src, dst, weights=[1, 1, 1, 0]), truth, atol=1e-9)
    assert np.abs(estimate_similarity(src, dst) - truth).max() > 1
    with pytest.raises(ValueError, match="one place"):
        estimate_similarity(np.ones((5, 2)), dst[:1].repeat(5, 0))
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        estimate_similarity(src, dst[:3])


def test_invert_affine_single_and_batched():
    rng = np.random.default_rng(3)
    matrices = np.stack(
        [similarity(*rng.uniform(-40, 40, 1), rng.uniform(0.5, 3), *rng.uniform(-9, 9, 2)) for _ in range(4)]
    )
    inverses = invert_affine(matrices)
    assert inverses.shape == (4, 2, 3)
    points = rng.uniform(-50, 50, (7, 2))
    for matrix, inverse in zip(matrices, inverses, strict=True):
        np.testing.assert_allclose(transform_points(transform_points(points, matrix), inverse), points, atol=1e-9)
        np.testing.assert_allclose(invert_affine(matrix), inverse)
    np.testing.assert_allclose(invert_affine(invert_affine(matrices)), matrices, atol=1e-12)


def test_warp_to_crop_round_trip_on_a_synthetic_image():
    image = smooth_test_image(300, 400)
    matrix = similarity(12, 1.3, -150, -40)  # enlarges a region of the image into the crop
    crop = warp_to_crop(image, matrix, 192)
    assert crop.shape == (192, 192, 3) and crop.dtype == np.uint8
    back = warp_affine(crop, invert_affine(matrix), (400, 300), border="constant")
    footprint = warp_affine(np.ones((192, 192), np.float32), invert_affine(matrix), (400, 300), border="constant")
    inside = cv2.erode((footprint > 0.999).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert inside.sum() > 10_000
    error = np.abs(back.astype(int) - image.astype(int))[inside]
    assert error.mean() < 1.0 and error.max() <= 6
    # bilinear warps equal OpenCV's warp of the whole image (only the needed region is read)
    reference = cv2.warpAffine(image, matrix, (192, 192), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    assert np.abs(crop.astype(int) - reference.astype(int)).max() <= 1


def test_warp_to_crop_area_averages_large_reductions():
    # a 1 px checkerboard reduced 12x: area averaging gives flat grey, a bare bilinear warp aliases
    board = (np.indices((1200, 1200)).sum(0) % 2 * 255).astype(np.uint8)
    image = np.repeat(board[..., None], 3, axis=2)
    matrix = similarity(7, 1 / 12, 0, 0)
    crop = warp_to_crop(image, matrix, 80)
    interior = crop[10:70, 10:70].astype(float)
    assert abs(interior.mean() - 127.5) < 3 and interior.std() < 4
    naive = cv2.warpAffine(image, matrix, (80, 80), flags=cv2.INTER_LINEAR)[10:70, 10:70]
    assert naive.std() > 20  # the case the reduction exists for


def test_warp_to_crop_replicates_the_border_and_keeps_single_channels():
    image = np.zeros((50, 50, 3), np.uint8)
    image[:, -1] = 200  # right-most column
    crop = warp_to_crop(image, similarity(0, 1, -30, 0), 40)  # crop sees columns 30..69: 50.. outside
    assert (crop[:, 25:] == 200).all()
    gray = warp_to_crop(np.zeros((50, 50, 1), np.float32), similarity(0, 1, 0, 0), 10)
    assert gray.shape == (10, 10, 1) and gray.dtype == np.float32


def test_smooth_points_keeps_uniform_motion_and_removes_jitter():
    frames = np.arange(40, dtype=float)
    truth = np.stack([2.0 * frames + 5, -0.7 * frames], axis=1)[:, None, :].repeat(5, 1)  # (F, 5, 2)
    np.testing.assert_allclose(smooth_points(truth, 2.0), truth, atol=1e-9)  # no lag, also at the ends
    rng = np.random.default_rng(0)
    noisy = truth + rng.normal(0, 1.0, truth.shape)
    smoothed = smooth_points(noisy, 2.0)
    raw_jitter = np.abs(np.diff(noisy - truth, axis=0)).mean()
    smooth_jitter = np.abs(np.diff(smoothed - truth, axis=0)).mean()
    assert smooth_jitter < 0.3 * raw_jitter
    assert np.abs(smoothed - truth).mean() < 0.6 * np.abs(noisy - truth).mean()
    np.testing.assert_array_equal(smooth_points(noisy, 0), noisy)


def test_smooth_points_ignores_invalid_frames():
    frames = np.arange(12, dtype=float)
    truth = np.stack([frames, 3 * frames], axis=1)[:, None, :]
    garbage = truth.copy()
    valid = np.ones(12, bool)
    valid[[0, 5, 6]] = False
    garbage[~valid] = 1e6
    smoothed = smooth_points(garbage, 1.5, valid)
    np.testing.assert_allclose(smoothed, truth, atol=1e-6)  # invalid frames are filled from their neighbours
    with pytest.raises(ValueError, match="valid"):
        smooth_points(garbage, 1.5, valid[:3])
    with pytest.raises(ValueError, match="sigma"):
        smooth_points(garbage, -1)
