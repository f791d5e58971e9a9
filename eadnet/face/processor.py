"""The face stage of the pipeline: detect, align (with temporal smoothing), mask and paste back.

- :meth:`FaceProcessor.align_portrait` and :meth:`FaceProcessor.align_frames` turn a portrait or the frames of a
  source video into square crops of ``crop_size`` where the face sits at the template's place
  (:mod:`eadnet.face.alignment`), with the matrices that map each original frame to its crop.
- For video, the five alignment points of every frame are smoothed over time before the transforms are
  estimated (:func:`~eadnet.face.alignment.smooth_points`: Gaussian-weighted local linear regression over
  ``smoothing`` frames; centred, so it follows real head motion without lag while removing detection jitter).
  Frames without a face are handled by the ``no_face`` policy.
- :meth:`FaceProcessor.mask` is the crop-space mask of the regenerated region (:mod:`eadnet.face.mask`).
- :meth:`FaceProcessor.paste_back_frame` puts a (generated) crop back into its original frame with a feathered
  alpha — the blend mask times a feather of the crop's border, warped back — so that pixels outside the crop's
  footprint are bit-identical to the original frame. It works one frame at a time, so callers can stream.
  (Idea after LatentSync's ``AlignRestore.restore_img``, which erodes and blurs the warped-back crop area.)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from eadnet.face.alignment import (
    estimate_similarity,
    invert_affine,
    landmarks_to_points5,
    smooth_points,
    template_points5,
    transform_points,
    warp_affine,
    warp_to_crop,
)
from eadnet.face.choice import FaceChoice
from eadnet.face.detection import (
    FaceDetection,
    FaceDetector,
    MediaPipeFaceDetector,
    NoFaceError,
    check_rgb_uint8,
    detect_face,
    detect_face_in_video,
)
from eadnet.face.mask import MASK_MODES, mouth_mask

logger = logging.getLogger(__name__)

NO_FACE_POLICIES = ("error", "skip", "hold")

# Faces narrower than this (in pixels of the original) are upsampled a lot by the alignment: warn.
SMALL_FACE_WARNING_PX = 64

BORDER_FEATHER = 0.04  # width of the crop-border feather of the paste-back alpha, in units of the crop size


@dataclass
class AlignedFaces:
    """Aligned face crops and the transforms that made them.

    Args:
        crops (`np.ndarray`): uint8 ``(F, S, S, 3)`` aligned crops.
        matrices (`np.ndarray`): float64 ``(F, 2, 3)`` affine matrices, original frame pixels → crop pixels.
        source_index (`np.ndarray`): int64 ``(F,)`` index of the original frame each crop comes from.
        frame_size (`tuple[int, int]`): ``(H, W)`` of the original frames.
        crop_size (`int`): ``S``.
    """

    crops: np.ndarray
    matrices: np.ndarray
    source_index: np.ndarray
    frame_size: tuple[int, int]
    crop_size: int

    def __len__(self) -> int:
        return int(self.crops.shape[0])


def border_feather(size: int, width: float = BORDER_FEATHER) -> np.ndarray:
    """Float32 ``(S, S)`` ramp that is 0 on the crop's outermost pixels and 1 from ``width · S`` inwards."""
    distance = np.minimum(np.arange(size) + 0.5, size - 0.5 - np.arange(size)).astype(np.float32)
    ramp = np.clip((distance - 0.5) / max(width * size, 1.0), 0.0, 1.0)
    return np.minimum(ramp[:, None], ramp[None, :])


class FaceProcessor:
    r"""Face detection, alignment to the model's square crop, regeneration mask and paste-back.

    Args:
        detector ([`FaceDetector`], *optional*): Face detector; a [`MediaPipeFaceDetector`] is created on first use
            when omitted.
        crop_size (`int`, *optional*, defaults to 256): Side ``S`` of the aligned crops.
        mask_mode (`str`, *optional*, defaults to `"lower_face"`): Mask of :meth:`mask` and the default blend
            mask of :meth:`paste_back`: ``"lower_face"`` (LatentSync's) or ``"face"`` (emotion generation).
        smoothing (`float`, *optional*, defaults to 2.0): Standard deviation, in frames, of the temporal
            smoothing of the alignment points in :meth:`align_frames`; ``0`` turns it off.
    """

    def __init__(
        self,
        detector: FaceDetector | None = None,
        crop_size: int = 256,
        mask_mode: str = "lower_face",
        smoothing: float = 2.0,
    ):
        if not isinstance(crop_size, (int, np.integer)) or crop_size < 16:
            raise ValueError(f"crop_size must be an int >= 16, got {crop_size!r}")
        if mask_mode not in MASK_MODES:
            raise ValueError(f"mask_mode must be one of {MASK_MODES}, got {mask_mode!r}")
        if not np.isfinite(smoothing) or smoothing < 0:
            raise ValueError(f"smoothing must be a finite number >= 0, got {smoothing!r}")
        if detector is not None and not isinstance(detector, FaceDetector):
            raise ValueError(f"detector must implement detect() and detect_video(), got {type(detector).__name__}")
        self._detector = detector
        self.crop_size = int(crop_size)
        self.mask_mode = mask_mode
        self.smoothing = float(smoothing)

    # ----------------------------------------------------------------------------------------- detector
    @property
    def detector(self) -> FaceDetector:
        """The face detector (a MediaPipe one is created on first access when none was given)."""
        if self._detector is None:
            self._detector = MediaPipeFaceDetector()
        return self._detector

    def close(self) -> None:
        """Frees the detector's resources, if it has any."""
        close = getattr(self._detector, "close", None)
        if callable(close):
            close()

    def __repr__(self) -> str:
        detector = type(self._detector).__name__ if self._detector is not None else "MediaPipeFaceDetector (lazy)"
        return (
            f"{type(self).__name__}(detector={detector}, crop_size={self.crop_size}, mask_mode={self.mask_mode!r}, "
            f"smoothing={self.smoothing})"
        )

    # ----------------------------------------------------------------------------------------- alignment
    def template(self) -> np.ndarray:
        """The five template points ``(5, 2)`` in crop pixels."""
        return template_points5(self.crop_size)

    def matrix_from_points(self, points5: np.ndarray) -> np.ndarray:
        """``(2, 3)`` similarity from five alignment points (original pixels) to the crop."""
        return estimate_similarity(points5, self.template())

    def mask(self) -> np.ndarray:
        """Float32 ``(S, S)`` mask of the regenerated region for ``mask_mode`` (1 = regenerated)."""
        return mouth_mask(self.crop_size, self.mask_mode)

    def align_portrait(self, image: np.ndarray, face: FaceChoice | str | None = None) -> AlignedFaces:
        """Detects and aligns the face of a portrait.

        Args:
            image (`np.ndarray`): uint8 RGB ``(H, W, 3)``.
            face (:class:`~eadnet.face.choice.FaceChoice` or `str`, *optional*): Which face (default the largest).

        Returns:
            [`AlignedFaces`] with ``F = 1``.

        Raises:
            [`NoFaceError`]: when no face is found.
        """
        image = check_rgb_uint8(image, "image")
        detection = self.detect(image, face)
        if detection is None:
            raise NoFaceError()
        self._check_detection(detection)
        if detection.width < SMALL_FACE_WARNING_PX:
            logger.warning(
                "the face in the portrait is only %.0f px wide: the %d px crop will be blurry; use a larger photo",
                detection.width,
                self.crop_size,
            )
        matrix = self.matrix_from_points(landmarks_to_points5(detection.landmarks))
        crop = warp_to_crop(image, matrix, self.crop_size)
        return AlignedFaces(
            crops=crop[None],
            matrices=matrix[None],
            source_index=np.zeros(1, dtype=np.int64),
            frame_size=(int(image.shape[0]), int(image.shape[1])),
            crop_size=self.crop_size,
        )

    def detect(self, image: np.ndarray, face: FaceChoice | str | None = None) -> FaceDetection | None:
        """The chosen face of one image (``choice`` is given to the detector only when it is not the largest, so
        detectors that cannot choose keep working)."""
        return detect_face(self.detector, image, face)

    def detect_video(self, frames: Iterable[np.ndarray], face: FaceChoice | str | None = None) -> list:
        """The chosen face in every frame (see :meth:`MediaPipeFaceDetector.detect_video`)."""
        return detect_face_in_video(self.detector, frames, face)

    def align_frames(
        self,
        frames: np.ndarray | Sequence[np.ndarray] | Iterable[np.ndarray],
        no_face: str = "error",
        face: FaceChoice | str | None = None,
    ) -> AlignedFaces:
        """Detects and aligns the face in every frame of a clip, smoothing the alignment over time.

        Args:
            frames (`np.ndarray` or sequence of `np.ndarray`): uint8 RGB frames, ``(F, H, W, 3)`` or ``F`` arrays
                ``(H, W, 3)`` of one size. A one-shot iterator is read into a list (frames are read twice).
            no_face (`str`, *optional*, defaults to `"error"`): Frames without a face: ``"error"`` raises
                [`NoFaceError`] naming the first one; ``"skip"`` drops them (``source_index`` says which frames
                remain); ``"hold"`` reuses the last good transform (the next one before the first good frame).
            face (`str`, *optional*): Which face talks (:class:`~eadnet.face.choice.FaceChoice`; default the
                largest), chosen in the first frame with a face and followed by continuity.

        Returns:
            [`AlignedFaces`].

        Raises:
            [`NoFaceError`]: a frame has no face and ``no_face="error"``, or no frame has a face.
        """
        if no_face not in NO_FACE_POLICIES:
            raise ValueError(f"no_face must be one of {NO_FACE_POLICIES}, got {no_face!r}")
        if not isinstance(frames, (np.ndarray, Sequence)):
            frames = list(frames)
        matrices, source_index, frame_size = self.track_frames(frames, no_face=no_face, face=face)
        crops = np.empty((len(source_index), self.crop_size, self.crop_size, 3), dtype=np.uint8)
        for row, index in enumerate(source_index):
            crops[row] = self.crop_frame(frames[index], matrices[row])
        return AlignedFaces(
            crops=crops, matrices=matrices, source_index=source_index, frame_size=frame_size, crop_size=self.crop_size
        )

    def track_frames(
        self, frames: Iterable[np.ndarray], no_face: str = "error", face: FaceChoice | str | None = None
    ) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
        """The smoothed frame → crop transforms of a clip, without making the crops.

        Reads ``frames`` once, so a video reader's frame iterator works and long clips need no frame in memory
        at once; make the crops afterwards with :meth:`crop_frame` (this is what :meth:`align_frames` does).

        Args:
            frames (`Iterable[np.ndarray]`): uint8 RGB frames ``(H, W, 3)`` of one size.
            no_face (`str`, *optional*, defaults to `"error"`): As in :meth:`align_frames`.
            face (`str`, *optional*): As in :meth:`align_frames`.

        Returns:
            `tuple`: ``matrices`` float64 ``(F', 2, 3)``, ``source_index`` int64 ``(F',)`` and the frames' ``(H, W)``.
        """
        if no_face not in NO_FACE_POLICIES:
            raise ValueError(f"no_face must be one of {NO_FACE_POLICIES}, got {no_face!r}")
        if isinstance(frames, np.ndarray) and frames.ndim != 4:
            raise ValueError(f"frames must be (F, H, W, 3) uint8 RGB, got shape {frames.shape}")
        seen: list[tuple[int, int]] = []

        def checked(stream):
            for index, frame in enumerate(stream):
                frame = check_rgb_uint8(frame, f"frames[{index}]")
                if seen and frame.shape[:2] != seen[0]:
                    raise ValueError(
                        f"frames must all have one size: frames[0] is {seen[0]}, frames[{index}] is {frame.shape[:2]}"
                    )
                seen.append(frame.shape[:2])
                yield frame

        detections = list(self.detect_video(checked(frames), face))
        num_frames = len(seen)
        if num_frames == 0:
            raise ValueError("frames is empty")
        if len(detections) != num_frames:
            raise RuntimeError(f"the detector returned {len(detections)} results for {num_frames} frames")
        valid = np.array([d is not None for d in detections])
        missing = np.flatnonzero(~valid)
        if not valid.any():
            raise NoFaceError(
                f"no face found in any of the {num_frames} frames: use a video where the face is clearly visible, "
                "frontal and at least ~80 px wide",
                frame_index=0,
            )
        if missing.size and no_face == "error":
            others = f" (and {missing.size - 1} other frames)" if missing.size > 1 else ""
            raise NoFaceError(
                f"no face found in frame {missing[0]}{others}: use a video where the face stays visible, or pass "
                "no_face='skip' (drop such frames) or no_face='hold' (reuse the nearest face)",
                frame_index=int(missing[0]),
            )

        points = np.zeros((num_frames, 5, 2))
        for index, detection in enumerate(detections):
            if detection is not None:
                self._check_detection(detection, f"frame {index}")
                points[index] = landmarks_to_points5(detection.landmarks)
        smoothed = smooth_points(points, self.smoothing, valid)

        if no_face == "skip":
            keep = np.flatnonzero(valid)
        else:
            keep = np.arange(num_frames)
            # last good frame at or before each frame; the first good frame before any
            previous = np.maximum.accumulate(np.where(valid, np.arange(num_frames), -1))
            smoothed = smoothed[np.where(previous >= 0, previous, np.flatnonzero(valid)[0])]
        if missing.size:
            logger.info(
                "no face in %d of %d frames (%s): policy %r", missing.size, num_frames, _short_list(missing), no_face
            )
        matrices = np.stack([self.matrix_from_points(smoothed[index]) for index in keep])
        return matrices, keep.astype(np.int64), (int(seen[0][0]), int(seen[0][1]))

    def crop_frame(self, frame: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        """The uint8 ``(S, S, 3)`` crop of one uint8 RGB frame ``(H, W, 3)`` with a frame → crop matrix."""
        return warp_to_crop(check_rgb_uint8(frame, "frame"), matrix, self.crop_size)

    @staticmethod
    def _check_detection(detection: FaceDetection, where: str = "the portrait") -> None:
        landmarks = np.asarray(detection.landmarks)
        if landmarks.ndim != 2 or landmarks.shape[0] < 468 or not np.isfinite(landmarks).all():
            raise RuntimeError(f"the detector returned invalid landmarks for {where}: shape {landmarks.shape}")

    # ----------------------------------------------------------------------------------------- paste back
    def paste_back_frame(
        self, frame: np.ndarray, crop: np.ndarray, matrix: np.ndarray, blend_mask: np.ndarray | None = None
    ) -> np.ndarray:
        """Puts a crop back into its original frame with a feathered alpha.

        The alpha is ``blend_mask`` times a feather of the crop's border (:func:`border_feather`), warped back
        into the frame; only the frame's region under the crop's footprint is touched, and pixels where the
        alpha is 0 — all pixels outside the footprint — are bit-identical to ``frame``.

        Args:
            frame (`np.ndarray`): uint8 RGB ``(H, W, 3)`` original frame.
            crop (`np.ndarray`): ``(S, S, 3)`` crop, uint8 or float in ``[0, 1]``.
            matrix (`np.ndarray`): ``(2, 3)`` frame → crop matrix (from [`AlignedFaces`]).
            blend_mask (`np.ndarray`, *optional*): ``(S, S)`` float in ``[0, 1]`` (1 = take the crop);
                defaults to :meth:`mask` at the crop's size.

        Returns:
            `np.ndarray`: uint8 ``(H, W, 3)``, a new array.
        """
        frame = check_rgb_uint8(frame, "frame")
        crop = np.asarray(crop)
        if crop.ndim != 3 or crop.shape[2] != 3 or crop.shape[0] != crop.shape[1] or crop.shape[0] < 2:
            raise ValueError(f"crop must be (S, S, 3), got shape {crop.shape}")
        size = crop.shape[0]
        if crop.dtype == np.uint8:
            crop_f = crop.astype(np.float32)
        elif np.issubdtype(crop.dtype, np.floating):
            crop_f = np.clip(crop.astype(np.float32), 0.0, 1.0) * 255.0
        else:
            raise ValueError(f"crop must be uint8 or float in [0, 1], got dtype {crop.dtype}")
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.shape != (2, 3) or not np.isfinite(matrix).all():
            raise ValueError(f"matrix must be a finite (2, 3) array, got shape {matrix.shape}")
        if blend_mask is None:
            alpha = mouth_mask(size, self.mask_mode)
        else:
            alpha = np.asarray(blend_mask, dtype=np.float32)
            if alpha.ndim == 3 and alpha.shape[2] == 1:
                alpha = alpha[..., 0]
            if alpha.shape != (size, size):
                raise ValueError(f"blend_mask must be ({size}, {size}) like the crop, got shape {alpha.shape}")
            alpha = np.clip(alpha, 0.0, 1.0)
        alpha = alpha * border_feather(size)

        out = frame.copy()
        height, width = frame.shape[:2]
        to_frame = invert_affine(matrix)
        corners = transform_points(
            np.array([[-0.5, -0.5], [size - 0.5, -0.5], [-0.5, size - 0.5], [size - 0.5, size - 0.5]]), to_frame
        )
        x0 = max(0, int(np.floor(corners[:, 0].min())) - 1)
        y0 = max(0, int(np.floor(corners[:, 1].min())) - 1)
        x1 = min(width, int(np.ceil(corners[:, 0].max())) + 2)
        y1 = min(height, int(np.ceil(corners[:, 1].max())) + 2)
        if x1 <= x0 or y1 <= y0:
            return out  # the crop lies outside the frame
        # crop → region of the frame
        to_region = to_frame.copy()
        to_region[:, 2] -= (x0, y0)
        region_size = (x1 - x0, y1 - y0)
        face = warp_affine(crop_f, to_region, region_size, border="replicate")
        weight = warp_affine(alpha, to_region, region_size, border="constant")
        if weight.ndim == 3:
            weight = weight[..., 0]
        original = out[y0:y1, x0:x1]
        base = original.astype(np.float32)
        blended = np.clip(np.rint(base + weight[..., None] * (face - base)), 0, 255).astype(np.uint8)
        out[y0:y1, x0:x1] = np.where((weight > 0)[..., None], blended, original)
        return out

    def paste_back(
        self,
        frames: np.ndarray | Sequence[np.ndarray],
        crops: np.ndarray | Sequence[np.ndarray],
        matrices: np.ndarray,
        blend_mask: np.ndarray | None = None,
    ) -> np.ndarray:
        """Pastes crops back into their frames (:meth:`paste_back_frame` for each; any number of frames, so a
        caller can go window by window).

        Args:
            frames (`np.ndarray`): uint8 ``(F, H, W, 3)`` original frames (one per crop).
            crops (`np.ndarray`): ``(F, S, S, 3)`` crops, uint8 or float in ``[0, 1]``.
            matrices (`np.ndarray`): ``(F, 2, 3)`` frame → crop matrices.
            blend_mask (`np.ndarray`, *optional*): ``(S, S)`` blend mask shared by all frames (default
                :meth:`mask`).

        Returns:
            `np.ndarray`: uint8 ``(F, H, W, 3)``.
        """
        matrices = np.asarray(matrices, dtype=np.float64)
        if matrices.ndim != 3 or matrices.shape[1:] != (2, 3):
            raise ValueError(f"matrices must be (F, 2, 3), got shape {matrices.shape}")
        if not len(frames) == len(crops) == len(matrices):
            raise ValueError(
                f"frames, crops and matrices must have one entry per frame, got {len(frames)}, "
                f"{len(crops)} and {len(matrices)}"
            )
        if len(frames) == 0:
            raise ValueError("frames is empty")
        return np.stack(
            [
                self.paste_back_frame(frame, crop, matrix, blend_mask)
                for frame, crop, matrix in zip(frames, crops, matrices, strict=True)
            ]
        )


def _short_list(indices: np.ndarray, limit: int = 8) -> str:
    shown = ", ".join(str(int(i)) for i in indices[:limit])
    return shown + (", …" if len(indices) > limit else "")
