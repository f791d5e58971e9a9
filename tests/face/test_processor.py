"""FaceProcessor: masks, no-face policies, temporal smoothing and paste-back (fake detector), then MediaPipe on the
test portrait (alignment, round trip, a synthetic moving clip, an 8000 px image)."""

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from eadnet.face import (
    AlignedFaces,
    FaceDetection,
    FaceProcessor,
    NoFaceError,
    invert_affine,
    mouth_mask,
    template_points5,
    transform_points,
    warp_affine,
)
from eadnet.face.alignment import (
    MESH_EYE_LEFT_CORNERS,
    MESH_EYE_RIGHT_CORNERS,
    MESH_LIPS,
    MESH_MOUTH_LEFT,
    MESH_MOUTH_RIGHT,
    MESH_NOSE_TIP,
)


def similarity(angle_deg: float, scale: float, tx: float, ty: float) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    rotation = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return np.concatenate([rotation, [[tx], [ty]]], axis=1)


# ----------------------------------------------------------------------------------------------------- fakes
def fake_mesh(crop_to_frame: np.ndarray, crop_size: int) -> np.ndarray:
    """478 landmarks whose five alignment points are the template's, carried into the frame by crop_to_frame."""
    template = template_points5(crop_size)
    mesh = np.tile(template.mean(axis=0), (478, 1))
    mesh[list(MESH_EYE_LEFT_CORNERS)] = template[0]
    mesh[list(MESH_EYE_RIGHT_CORNERS)] = template[1]
    mesh[[MESH_NOSE_TIP, MESH_MOUTH_LEFT, MESH_MOUTH_RIGHT]] = template[2:]
    return transform_points(mesh, crop_to_frame)


class FakeDetector:
    """Implements the FaceDetector protocol without MediaPipe. Frame i carries its index in pixel (0, 0, 0); a flat
    frame has no face. Its face is the template carried by ``crop_to_frame[i]``, plus optional seeded jitter."""

    def __init__(self, crop_to_frame: np.ndarray, crop_size: int, jitter: float = 0.0, seed: int = 0):
        self.crop_to_frame = crop_to_frame
        self.crop_size = crop_size
        self.jitter = jitter
        self.rng = np.random.default_rng(seed)
        self.video_calls = 0

    def detect(self, image):
        if image.std() == 0:
            return None
        landmarks = fake_mesh(self.crop_to_frame[int(image[0, 0, 0])], self.crop_size)
        if self.jitter:
            landmarks = landmarks + self.rng.normal(0, self.jitter, 2)
        box = np.concatenate([landmarks.min(0), landmarks.max(0)])
        return FaceDetection(box=box, landmarks=landmarks, score=0.99)

    def detect_video(self, frames):
        self.video_calls += 1
        return [self.detect(frame) for frame in frames]


def textured_frames(num_frames: int, height: int = 96, width: int = 128, blank=()) -> np.ndarray:
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (num_frames, height, width, 3), dtype=np.uint8)
    frames[:, 0, 0, 0] = np.arange(num_frames)
    for index in blank:
        frames[index] = 127
    return frames


def moving_face(num_frames: int, crop_size: int = 64) -> np.ndarray:
    """crop → frame transforms of a face that slides uniformly (constant rotation and scale)."""
    return np.stack([similarity(8, 1.2, 20 + 1.5 * t, 10 + 0.5 * t) for t in range(num_frames)])


# ----------------------------------------------------------------------------------------------------- masks
@pytest.mark.parametrize("size", [64, 256, 512])
def test_masks_shape_range_coverage_and_feather(size):
    lower = mouth_mask(size, "lower_face")
    face = mouth_mask(size, "face")
    template = template_points5(size)
    mouth = np.round(template[3:].mean(axis=0)).astype(int)
    eye = np.round(template[0]).astype(int)
    for mask in (lower, face):
        assert mask.shape == (size, size) and mask.dtype == np.float32
        assert mask.min() == 0.0 and mask.max() == 1.0
        assert ((mask > 0) & (mask < 1)).mean() > 0.02  # feathered edge
        assert mask[mouth[1], mouth[0]] == 1.0
        np.testing.assert_allclose(mask, mask[:, ::-1], atol=1e-6)  # left-right symmetric
    assert lower[: size // 2].max() == 0.0  # nothing above the middle of the crop
    r = size // 32
    assert lower[mouth[1] - r : mouth[1] + r + 1, mouth[0] - 3 * r : mouth[0] + 3 * r + 1].min() > 0.999
    assert lower[eye[1], eye[0]] == 0.0 and face[eye[1], eye[0]] == 1.0  # only "face" covers the eyes
    assert face.sum() > 1.5 * lower.sum() and np.all(face >= lower - 1e-6)
    assert lower[0].max() == 0 and face[0].max() == 0 and face[:, 0].max() == 0  # away from the crop's edges


def test_mask_modes_and_processor_mask():
    with pytest.raises(ValueError, match="mode"):
        mouth_mask(64, "eyes")
    processor = FaceProcessor(detector=FakeDetector(moving_face(1), 64), crop_size=64, mask_mode="face")
    mask = processor.mask()
    np.testing.assert_array_equal(mask, mouth_mask(64, "face"))
    mask[:] = 0  # a copy: the cached mask is untouched
    assert processor.mask().max() == 1.0


def test_processor_validates_its_arguments():
    with pytest.raises(ValueError, match="mask_mode"):
        FaceProcessor(mask_mode="mouth")
    with pytest.raises(ValueError, match="crop_size"):
        FaceProcessor(crop_size=8)
    with pytest.raises(ValueError, match="smoothing"):
        FaceProcessor(smoothing=-1)
    with pytest.raises(ValueError, match="detector"):
        FaceProcessor(detector=object())
    assert FaceProcessor()._detector is None  # the MediaPipe detector is created on first use only


# ----------------------------------------------------------------------------------------------------- policies
def test_align_frames_recovers_the_transforms():
    truth = moving_face(10)
    frames = textured_frames(10)
    for smoothing in (0.0, 2.0):  # uniform motion: smoothing changes nothing
        processor = FaceProcessor(detector=FakeDetector(truth, 64), crop_size=64, smoothing=smoothing)
        aligned = processor.align_frames(frames)
        assert isinstance(aligned, AlignedFaces) and len(aligned) == 10
        assert aligned.crops.shape == (10, 64, 64, 3) and aligned.crops.dtype == np.uint8
        assert aligned.frame_size == (96, 128) and aligned.crop_size == 64
        np.testing.assert_array_equal(aligned.source_index, np.arange(10))
        np.testing.assert_allclose(aligned.matrices, invert_affine(truth), atol=1e-6)
    # one-shot iterators are accepted
    aligned = processor.align_frames(iter(list(frames)))
    np.testing.assert_allclose(aligned.matrices, invert_affine(truth), atol=1e-6)
    # transforms only, reading a generator once (long clips), then crops one frame at a time
    matrices, source_index, frame_size = processor.track_frames(frame for frame in frames)
    np.testing.assert_allclose(matrices, aligned.matrices, atol=1e-9)
    np.testing.assert_array_equal(source_index, np.arange(10))
    assert frame_size == (96, 128)
    np.testing.assert_array_equal(processor.crop_frame(frames[4], matrices[4]), aligned.crops[4])


def test_align_frames_smoothing_removes_jitter_but_follows_motion():
    truth = moving_face(30)
    frames = textured_frames(30)

    def mouth_in_crop(smoothing):
        processor = FaceProcessor(
            detector=FakeDetector(truth, 64, jitter=1.5, seed=3), crop_size=64, smoothing=smoothing
        )
        aligned = processor.align_frames(frames)
        true_mouth = [transform_points(template_points5(64)[3:].mean(0, keepdims=True), m)[0] for m in truth]
        return np.array([transform_points(p[None], m)[0] for p, m in zip(true_mouth, aligned.matrices, strict=True)])

    raw, smooth = mouth_in_crop(0.0), mouth_in_crop(2.0)
    template_mouth = template_points5(64)[3:].mean(0)
    raw_jitter = np.linalg.norm(np.diff(raw, axis=0), axis=1).mean()
    smooth_jitter = np.linalg.norm(np.diff(smooth, axis=0), axis=1).mean()
    assert smooth_jitter < 0.35 * raw_jitter
    # the crops follow the sliding face (43 px over the clip): the mouth stays at the template, closer than raw
    raw_error = np.linalg.norm(raw - template_mouth, axis=1)
    smooth_error = np.linalg.norm(smooth - template_mouth, axis=1)
    assert smooth_error.mean() < 0.7 * raw_error.mean() and smooth_error.max() < 4


def test_no_face_policies():
    truth = moving_face(10)
    frames = textured_frames(10, blank=(0, 4, 5))
    processor = FaceProcessor(detector=FakeDetector(truth, 64), crop_size=64)
    with pytest.raises(NoFaceError, match=r"frame 0 \(and 2 other frames\)") as info:
        processor.align_frames(frames)
    assert info.value.frame_index == 0
    with pytest.raises(NoFaceError, match="frame 3 "):
        processor.align_frames(frames[1:], no_face="error")  # frames are named by their index in the input
    skipped = processor.align_frames(frames, no_face="skip")
    np.testing.assert_array_equal(skipped.source_index, [1, 2, 3, 6, 7, 8, 9])
    np.testing.assert_allclose(skipped.matrices, invert_affine(truth[[1, 2, 3, 6, 7, 8, 9]]), atol=1e-6)
    held = processor.align_frames(frames, no_face="hold")
    np.testing.assert_array_equal(held.source_index, np.arange(10))
    np.testing.assert_array_equal(held.matrices[4], held.matrices[3])
    np.testing.assert_array_equal(held.matrices[5], held.matrices[3])
    np.testing.assert_array_equal(held.matrices[0], held.matrices[1])  # the next good one at the start
    assert (held.crops[4] == 127).all()  # the blank frame itself, cropped with the held transform
    with pytest.raises(ValueError, match="no_face"):
        processor.align_frames(frames, no_face="drop")
    for policy in ("error", "skip", "hold"):
        with pytest.raises(NoFaceError, match="any of the 3 frames"):
            processor.align_frames(textured_frames(3, blank=(0, 1, 2)), no_face=policy)


def test_align_frames_validates_frames():
    processor = FaceProcessor(detector=FakeDetector(moving_face(3), 64), crop_size=64)
    frames = list(textured_frames(3))
    with pytest.raises(ValueError, match=r"frames\[1\]"):
        processor.align_frames([frames[0], frames[1][..., 0], frames[2]])
    with pytest.raises(ValueError, match="one size"):
        processor.align_frames([frames[0], frames[1][:50]])
    with pytest.raises(ValueError, match="empty"):
        processor.align_frames([])
    with pytest.raises(ValueError, match=r"image must be a uint8 RGB"):
        processor.align_portrait(frames[0].astype(np.float32))


# ----------------------------------------------------------------------------------------------------- paste back
def footprint(matrix: np.ndarray, size: int, frame_shape) -> np.ndarray:
    """Frame pixels that the crop's area covers at all (bilinear support included)."""
    ones = np.ones((size, size), np.float32)
    return warp_affine(ones, invert_affine(matrix), (frame_shape[1], frame_shape[0]), border="constant") > 0


def test_paste_back_changes_only_the_masked_face_region():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (180, 240, 3), dtype=np.uint8)
    crop_to_frame = similarity(10, 2.0, 60, 20)  # a 64 px crop covering ~128 px of the frame
    matrix = invert_affine(crop_to_frame)
    crop = np.zeros((64, 64, 3), np.uint8)
    crop[..., 0] = 255
    processor = FaceProcessor(detector=FakeDetector(moving_face(1), 64), crop_size=64)
    out = processor.paste_back_frame(frame, crop, matrix)
    assert out.shape == frame.shape and out.dtype == np.uint8
    outside = ~footprint(matrix, 64, frame.shape)
    assert outside.sum() > 10_000
    np.testing.assert_array_equal(out[outside], frame[outside])  # bit-identical outside the crop's area
    # where the (warped-back) mask is 0 the frame is untouched too, e.g. at the eyes
    eye = np.round(transform_points(template_points5(64)[:1], crop_to_frame)[0]).astype(int)
    np.testing.assert_array_equal(out[eye[1], eye[0]], frame[eye[1], eye[0]])
    # inside the mask the crop appears
    mouth = np.round(transform_points(template_points5(64)[3:].mean(0, keepdims=True), crop_to_frame)[0]).astype(int)
    np.testing.assert_allclose(
        out[mouth[1] - 3 : mouth[1] + 4, mouth[0] - 3 : mouth[0] + 4].reshape(-1, 3),
        np.tile([255, 0, 0], (49, 1)),
        atol=1,
    )
    changed = (out != frame).any(axis=-1)
    assert changed.sum() > 1000
    # a float crop in [0, 1] gives the same result
    np.testing.assert_array_equal(processor.paste_back_frame(frame, crop / 255.0, matrix), out)
    # a full blend mask fills the crop's area, with the border feathered
    full = processor.paste_back_frame(frame, crop, matrix, blend_mask=np.ones((64, 64), np.float32))
    centre = np.round(transform_points([[31.5, 31.5]], crop_to_frame)[0]).astype(int)
    np.testing.assert_array_equal(full[centre[1], centre[0]], [255, 0, 0])
    assert (full != frame).any(axis=-1).sum() > 2 * changed.sum()
    np.testing.assert_array_equal(full[outside], frame[outside])


def test_paste_back_at_and_beyond_the_frame_edges_and_in_batches():
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (3, 120, 160, 3), dtype=np.uint8)
    crops = rng.integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    matrices = invert_affine(
        np.stack(
            [
                similarity(0, 1.5, -40, -30),  # hangs off the top-left corner
                similarity(30, 1.0, 120, 80),  # hangs off the bottom-right corner
                similarity(0, 1.0, 500, 500),  # entirely outside the frame
            ]
        )
    )
    processor = FaceProcessor(detector=FakeDetector(moving_face(1), 64), crop_size=64)
    out = processor.paste_back(frames, crops, matrices, blend_mask=np.ones((64, 64)))
    assert out.shape == frames.shape and out.dtype == np.uint8
    for index in range(3):
        np.testing.assert_array_equal(
            out[index], processor.paste_back_frame(frames[index], crops[index], matrices[index], np.ones((64, 64)))
        )
        outside = ~footprint(matrices[index], 64, frames.shape[1:])
        np.testing.assert_array_equal(out[index][outside], frames[index][outside])
    assert (out[0] != frames[0]).any() and (out[1] != frames[1]).any()
    np.testing.assert_array_equal(out[2], frames[2])
    with pytest.raises(ValueError, match="one entry per frame"):
        processor.paste_back(frames, crops[:2], matrices)
    with pytest.raises(ValueError, match="crop"):
        processor.paste_back_frame(frames[0], crops[0][:32], matrices[0])
    with pytest.raises(ValueError, match="blend_mask"):
        processor.paste_back_frame(frames[0], crops[0], matrices[0], blend_mask=np.ones((32, 32)))
    with pytest.raises(ValueError, match="frame must be a uint8 RGB"):
        processor.paste_back_frame(frames[0].astype(np.float32), crops[0], matrices[0])
    with pytest.raises(ValueError, match="matrix"):
        processor.paste_back_frame(frames[0], crops[0], matrices[0][:1])


# ----------------------------------------------------------------------------------------------------- MediaPipe
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
    pytest.importorskip("mediapipe", reason="needs mediapipe==0.10.14 (pip install mediapipe==0.10.14)")
    path = portrait_path()
    if path is None:
        pytest.skip(
            "test portrait eadnet/assets/portrait.png (scikit-image's astronaut, 512x512) is missing; "
            "set EADNET_TEST_PORTRAIT to a copy"
        )
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def mediapipe_detector(portrait):
    from eadnet.face import MediaPipeFaceDetector

    with MediaPipeFaceDetector() as detector:
        yield detector


class JitteryDetector:
    """Adds seeded per-frame jitter (a shift of the whole mesh plus per-point noise) to another detector's video
    results, like a noisy landmark detector."""

    def __init__(self, inner, sigma: float, seed: int = 0):
        self.inner, self.sigma, self.rng = inner, sigma, np.random.default_rng(seed)

    def detect(self, image):
        return self.inner.detect(image)

    def detect_video(self, frames):
        results = self.inner.detect_video(frames)
        for result in results:
            if result is not None:
                noise = self.rng.normal(0, self.sigma, 2) + self.rng.normal(0, self.sigma / 2, result.landmarks.shape)
                result.landmarks = result.landmarks + noise
        return results


def lips_centre(landmarks: np.ndarray) -> np.ndarray:
    return landmarks[list(MESH_LIPS)].mean(axis=0)


def test_align_portrait_puts_the_mouth_at_the_template(portrait, mediapipe_detector):
    processor = FaceProcessor(detector=mediapipe_detector, crop_size=256)
    aligned = processor.align_portrait(portrait)
    assert aligned.crops.shape == (1, 256, 256, 3) and aligned.crops.dtype == np.uint8
    assert aligned.matrices.shape == (1, 2, 3) and aligned.frame_size == (512, 512)
    np.testing.assert_array_equal(aligned.source_index, [0])
    landmarks = transform_points(mediapipe_detector.detect(portrait).landmarks, aligned.matrices[0])
    template = template_points5(256)
    assert np.linalg.norm(lips_centre(landmarks) - template[3:].mean(axis=0)) < 3.0
    left_eye = landmarks[list(MESH_EYE_LEFT_CORNERS)].mean(axis=0)
    right_eye = landmarks[list(MESH_EYE_RIGHT_CORNERS)].mean(axis=0)
    roll = np.degrees(np.arctan2(right_eye[1] - left_eye[1], right_eye[0] - left_eye[0]))
    assert abs(roll) < 2.0
    # LatentSync-like framing: the face fills most of the crop, the chin and the top of the mesh inside it
    assert 0.85 * 256 < landmarks[152, 1] < 0.97 * 256 and 0.08 * 256 < landmarks[10, 1] < 0.3 * 256
    assert landmarks[454, 0] - landmarks[234, 0] > 0.55 * 256


def test_portrait_round_trip_and_generated_content(portrait, mediapipe_detector):
    processor = FaceProcessor(detector=mediapipe_detector, crop_size=256)
    aligned = processor.align_portrait(portrait)
    back = processor.paste_back(portrait[None], aligned.crops, aligned.matrices)[0]
    matrix = aligned.matrices[0]
    outside = ~footprint(matrix, 256, portrait.shape)
    np.testing.assert_array_equal(back[outside], portrait[outside])
    alpha = warp_affine(processor.mask(), invert_affine(matrix), (512, 512), border="constant")
    region = alpha > 0.5
    assert region.sum() > 2000
    error = np.abs(back.astype(int) - portrait.astype(int))[region]
    assert error.mean() < 3.0  # interpolation error only
    # a "generated" crop: its content shows up at the mouth of the original
    generated = aligned.crops[0].copy()
    generated[processor.mask() > 0.99] = (0, 255, 0)
    pasted = processor.paste_back_frame(portrait, generated, matrix)
    x, y = np.round(lips_centre(mediapipe_detector.detect(portrait).landmarks)).astype(int)
    np.testing.assert_allclose(
        pasted[y - 2 : y + 3, x - 2 : x + 3].reshape(-1, 3), np.tile([0, 255, 0], (25, 1)), atol=2
    )


@pytest.mark.parametrize("kind", ["grey", "noise"])
def test_portrait_without_a_face_raises(mediapipe_detector, kind):
    if kind == "grey":
        image = np.full((300, 300, 3), 128, np.uint8)
    else:
        image = np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    with pytest.raises(NoFaceError, match="no face found in the portrait"):
        FaceProcessor(detector=mediapipe_detector).align_portrait(image)


@pytest.fixture(scope="module")
def moving_clip(portrait):
    """16 frames of 256 px: the face region of the portrait sliding 22 px and turning 5 degrees, with the
    ground-truth frame → frame transforms."""
    base = np.ascontiguousarray(portrait[2:258, 97:353])
    frames, warps = [], []
    for t in range(16):
        warp = cv2.getRotationMatrix2D((128, 128), 5 * np.sin(np.pi * t / 15), 1.0 + 0.01 * t)
        warp[:, 2] += (1.5 * t - 12, 0.8 * t - 6)
        frames.append(cv2.warpAffine(base, warp, (256, 256), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
        warps.append(warp)
    return base, np.stack(frames), np.stack(warps)


def test_video_smoothing_removes_jitter_and_follows_the_motion(moving_clip, mediapipe_detector):
    base, frames, warps = moving_clip
    true_lips = np.array(
        [transform_points(lips_centre(mediapipe_detector.detect(base).landmarks)[None], w)[0] for w in warps]
    )
    assert np.linalg.norm(true_lips[-1] - true_lips[0]) > 15  # the face really moves

    def mouth_in_crop(smoothing):
        processor = FaceProcessor(
            detector=JitteryDetector(mediapipe_detector, 1.5, seed=0), crop_size=128, smoothing=smoothing
        )
        aligned = processor.align_frames(frames)
        return np.array([transform_points(p[None], m)[0] for p, m in zip(true_lips, aligned.matrices, strict=True)])

    raw, smooth = mouth_in_crop(0.0), mouth_in_crop(2.0)
    raw_jitter = np.linalg.norm(np.diff(raw, axis=0), axis=1).mean()
    smooth_jitter = np.linalg.norm(np.diff(smooth, axis=0), axis=1).mean()
    assert smooth_jitter < 0.4 * raw_jitter
    template_mouth = template_points5(128)[3:].mean(axis=0)
    assert np.linalg.norm(smooth - template_mouth, axis=1).max() < 2.5


def test_video_no_face_policies_with_mediapipe(moving_clip, mediapipe_detector):
    _, frames, _ = moving_clip
    frames = frames[:10].copy()
    frames[[3, 7]] = 127
    processor = FaceProcessor(detector=mediapipe_detector, crop_size=64)
    with pytest.raises(NoFaceError, match="frame 3"):
        processor.align_frames(frames)
    skipped = processor.align_frames(frames, no_face="skip")
    np.testing.assert_array_equal(skipped.source_index, [0, 1, 2, 4, 5, 6, 8, 9])
    held = processor.align_frames(frames, no_face="hold")
    assert len(held) == 10
    np.testing.assert_array_equal(held.matrices[3], held.matrices[2])
    np.testing.assert_array_equal(held.matrices[7], held.matrices[6])
    assert (held.crops[3] == 127).all()


def test_huge_portrait_is_aligned(portrait, mediapipe_detector):
    processor = FaceProcessor(detector=mediapipe_detector, crop_size=256)
    small = processor.align_portrait(portrait)
    big = cv2.resize(portrait, (8000, 8000), interpolation=cv2.INTER_LINEAR)
    aligned = processor.align_portrait(big)
    del big
    assert aligned.frame_size == (8000, 8000) and aligned.crops.shape == (1, 256, 256, 3)
    difference = np.abs(aligned.crops[0].astype(int) - small.crops[0].astype(int))
    assert difference.mean() < 4.0
    # the same matrix up to the 8000 / 512 change of pixel size
    scale = 8000 / 512
    small_to_big = np.array([[scale, 0, 0.5 * scale - 0.5], [0, scale, 0.5 * scale - 0.5]])
    linear, translation = aligned.matrices[0][:, :2], aligned.matrices[0][:, 2]
    composed = np.concatenate([linear @ small_to_big[:, :2], (linear @ small_to_big[:, 2] + translation)[:, None]], 1)
    np.testing.assert_allclose(composed[:, :2], small.matrices[0][:, :2], rtol=0.02, atol=0.02)
    np.testing.assert_allclose(composed[:, 2], small.matrices[0][:, 2], atol=2.5)
