"""Face detection and 478-point face landmarks.

:class:`FaceDetector` is the protocol the face stage is written against; :class:`MediaPipeFaceDetector` implements
it with MediaPipe 0.10.14, whose wheel ships the BlazeFace detectors and the face-mesh model (Apache-2.0), so it
works offline. Later MediaPipe releases ship no models, hence the pin.

How :class:`MediaPipeFaceDetector` finds a face in an ``(H, W, 3)`` image:

1. Images larger than ``max_side`` are searched on a copy downscaled to that longest side (area averaging).
2. BlazeFace short-range (faces that fill a good part of the image) gives boxes and scores; when it finds
   nothing, BlazeFace full-range (small or distant faces) is tried. The largest box wins.
3. A square of twice the box's size around it is cut from the full-resolution image, resampled to
   ``mesh_crop_size`` pixels and given to the face mesh (with refined irises: 478 points). The mesh's own
   detector then sees a face filling half of its input whatever the face's size in the original, and the
   landmarks are mapped back to original pixels. The score and box are BlazeFace's.

For video (:meth:`MediaPipeFaceDetector.detect_video`) step 2 runs on every frame (presence, score, box, choice
of face) and the mesh runs in MediaPipe's tracking mode on the (downscaled) frames, where each frame's mesh
region comes from the previous frame's landmarks, which is steadier than re-detecting; frames where tracking
does not return the chosen face fall back to step 3.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from eadnet.face.alignment import invert_affine, transform_points, warp_to_crop
from eadnet.face.choice import FaceChoice, box_iou, follow_face

logger = logging.getLogger(__name__)

MEDIAPIPE_REQUIREMENT = "mediapipe==0.10.14"
NUM_MESH_LANDMARKS = 478
_LARGEST = FaceChoice()


class NoFaceError(ValueError):
    """No usable face was found in an image (or in a frame of a video)."""

    def __init__(self, message: str | None = None, frame_index: int | None = None):
        if message is None:
            where = "the portrait" if frame_index is None else f"frame {frame_index}"
            message = (
                f"no face found in {where}: use a frontal photo where the face is clearly visible, well lit "
                "and at least ~80 px wide"
            )
        super().__init__(message)
        self.frame_index = frame_index


@dataclass
class FaceDetection:
    """One detected face.

    Args:
        box (`np.ndarray`): ``(4,)`` float ``x0, y0, x1, y1`` bounding box in pixels of the image.
        landmarks (`np.ndarray`): ``(N, 2)`` float pixel coordinates of the face mesh (``N = 478`` for MediaPipe;
            OpenCV's convention, pixel centres at integers).
        score (`float`): Detector confidence in ``[0, 1]``.
    """

    box: np.ndarray
    landmarks: np.ndarray
    score: float

    @property
    def width(self) -> float:
        """Width of the box in pixels."""
        return float(self.box[2] - self.box[0])


@runtime_checkable
class FaceDetector(Protocol):
    """What the face stage needs from a detector. Images are uint8 RGB ``(H, W, 3)``.

    A detector that can choose among several faces also takes a keyword ``choice``
    (:class:`~eadnet.face.choice.FaceChoice`) in both methods, as :class:`MediaPipeFaceDetector` does; the face stage
    passes it only when a face other than the largest is asked for."""

    def detect(self, image: np.ndarray) -> FaceDetection | None:
        """The most prominent (largest) face in ``image``, or ``None``."""
        ...

    def detect_video(self, frames: Iterable[np.ndarray]) -> list[FaceDetection | None]:
        """One result per frame of a clip; may track the face from frame to frame."""
        ...


def check_rgb_uint8(image: Any, name: str = "image") -> np.ndarray:
    """Returns ``image`` as a contiguous uint8 ``(H, W, 3)`` array, or raises a `ValueError` naming ``name``."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(
            f"{name} must be a uint8 RGB array of shape (H, W, 3), got dtype {image.dtype} and shape {image.shape}; "
            "convert grayscale or RGBA images to RGB first (e.g. PIL's Image.convert('RGB'))"
        )
    return np.ascontiguousarray(image)


def _import_mediapipe_solutions():
    # lazy: mediapipe loads its TFLite runtime at import (~1 s) and has no wheel for Python >= 3.13
    from eadnet.logs import quiet_mediapipe_module, quiet_native_logs

    quiet_native_logs()  # before the import: the native libraries read their log levels when they load
    try:
        from mediapipe.python.solutions import face_detection, face_mesh
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"MediaPipeFaceDetector needs MediaPipe: pip install {MEDIAPIPE_REQUIREMENT} (that release ships the face "
            "models inside the wheel; it has wheels for Python 3.9-3.12)"
        ) from error
    return quiet_mediapipe_module(face_detection), quiet_mediapipe_module(face_mesh)


@contextmanager
def _quiet_protobuf() -> Iterator[None]:
    # MediaPipe 0.10.14's solution API calls a protobuf method that newer protobuf releases deprecate.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype", category=UserWarning)
        yield


class MediaPipeFaceDetector:
    r"""Face detector and 478-point face mesh from MediaPipe 0.10.14 (see the module docstring for the method).

    MediaPipe graphs are created on first use and reused; they are not thread-safe, so calls are serialised by a
    lock. Call :meth:`close` (or use the detector as a context manager) to free them.

    Args:
        min_detection_confidence (`float`, *optional*, defaults to 0.5): BlazeFace score threshold.
        max_side (`int`, *optional*, defaults to 1280): Images whose longest side is larger are searched on a
            downscaled copy; landmarks are still refined on a full-resolution cut-out.
        mesh_crop_size (`int`, *optional*, defaults to 384): Side of the square cut-out given to the face mesh.
        tracking (`bool`, *optional*, defaults to `True`): Use MediaPipe's tracking mode for the mesh in
            :meth:`detect_video`.
    """

    def __init__(
        self,
        min_detection_confidence: float = 0.5,
        max_side: int = 1280,
        mesh_crop_size: int = 384,
        tracking: bool = True,
    ):
        if not 0.0 <= min_detection_confidence <= 1.0:
            raise ValueError(f"min_detection_confidence must be in [0, 1], got {min_detection_confidence!r}")
        if max_side < 64:
            raise ValueError(f"max_side must be >= 64, got {max_side!r}")
        if mesh_crop_size < 128:
            raise ValueError(f"mesh_crop_size must be >= 128, got {mesh_crop_size!r}")
        self.min_detection_confidence = float(min_detection_confidence)
        self.max_side = int(max_side)
        self.mesh_crop_size = int(mesh_crop_size)
        self.tracking = bool(tracking)
        self._lock = threading.RLock()
        self._face_detection_module, self._face_mesh_module = _import_mediapipe_solutions()
        self._box_detectors: dict[int, Any] = {}
        self._static_mesh: Any = None

    # ------------------------------------------------------------------------------------------ resources
    def close(self) -> None:
        """Frees the MediaPipe graphs (they are recreated if the detector is used again)."""
        with self._lock:
            for graph in [*self._box_detectors.values(), self._static_mesh]:
                if graph is not None:
                    graph.close()
            self._box_detectors = {}
            self._static_mesh = None

    def __enter__(self) -> MediaPipeFaceDetector:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __del__(self):  # pragma: no cover - best effort at interpreter shutdown
        with suppress(Exception):
            self.close()

    def _box_detector(self, model_selection: int):
        if model_selection not in self._box_detectors:
            self._box_detectors[model_selection] = self._face_detection_module.FaceDetection(
                model_selection=model_selection, min_detection_confidence=self.min_detection_confidence
            )
        return self._box_detectors[model_selection]

    def _mesh(self):
        if self._static_mesh is None:
            self._static_mesh = self._face_mesh_module.FaceMesh(
                static_image_mode=True, max_num_faces=2, refine_landmarks=True, min_detection_confidence=0.3
            )
        return self._static_mesh

    # ------------------------------------------------------------------------------------------ steps
    def _downscale(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        """``image`` with its longest side at most ``max_side`` and the factor original / small."""
        height, width = image.shape[:2]
        longest = max(height, width)
        if longest <= self.max_side:
            return image, 1.0
        factor = longest / self.max_side
        size = (max(1, round(width / factor)), max(1, round(height / factor)))
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA), factor

    def _find_boxes(self, image: np.ndarray, every_model: bool = False) -> list[tuple[np.ndarray, float]]:
        """BlazeFace boxes ``(x0, y0, x1, y1)`` in pixels of ``image`` with their scores: short range first, full
        range when it finds nothing (or, with ``every_model``, the faces of both with duplicates merged — a group
        shot mixes near and far faces)."""
        height, width = image.shape[:2]
        found: list[tuple[np.ndarray, float]] = []
        for model_selection in (0, 1):
            with _quiet_protobuf():
                result = self._box_detector(model_selection).process(image)
            for detection in result.detections or []:
                rel = detection.location_data.relative_bounding_box
                box = np.array(
                    [
                        rel.xmin * width,
                        rel.ymin * height,
                        (rel.xmin + rel.width) * width,
                        (rel.ymin + rel.height) * height,
                    ],
                    dtype=np.float64,
                )
                if box[2] - box[0] < 1 or box[3] - box[1] < 1:
                    continue
                if found and box_iou([other for other, _ in found], box).max() > 0.4:
                    continue  # the same face from the other model
                found.append((box, float(detection.score[0])))
            if found and not every_model:
                break
        return found

    @staticmethod
    def _mesh_faces(mesh, image: np.ndarray) -> list[np.ndarray]:
        """Face meshes of ``image`` as ``(478, 2)`` pixel arrays (pixel-centre convention)."""
        with _quiet_protobuf():
            result = mesh.process(image)
        height, width = image.shape[:2]
        faces = []
        for face in result.multi_face_landmarks or []:
            points = np.array([[p.x, p.y] for p in face.landmark], dtype=np.float64)
            faces.append(points * np.array([width, height]) - 0.5)
        return faces

    @staticmethod
    def _nearest_face(faces: list[np.ndarray], box: np.ndarray) -> np.ndarray | None:
        """The mesh whose landmark bounding box best overlaps ``box`` (IoU > 0.3), or ``None``."""
        best, best_iou = None, 0.3
        for points in faces:
            mesh_box = np.concatenate([points.min(axis=0), points.max(axis=0)])
            inter_w = min(box[2], mesh_box[2]) - max(box[0], mesh_box[0])
            inter_h = min(box[3], mesh_box[3]) - max(box[1], mesh_box[1])
            if inter_w <= 0 or inter_h <= 0:
                continue
            inter = inter_w * inter_h
            union = (box[2] - box[0]) * (box[3] - box[1]) + np.prod(mesh_box[2:] - mesh_box[:2]) - inter
            iou = inter / union
            if iou > best_iou:
                best, best_iou = points, iou
        return best

    def _mesh_in_cutout(self, image: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        """Face mesh of the face in ``box`` (original pixels), run on a square cut-out around it."""
        size = self.mesh_crop_size
        centre = (box[:2] + box[2:]) / 2
        side = 2.0 * max(box[2] - box[0], box[3] - box[1])
        scale = size / side
        # the square [corner, corner + side] of the image (pixel edges) onto [0, size] of the cut-out, in
        # pixel-centre coordinates: c = scale * (p + 0.5 - corner) - 0.5
        corner = centre - side / 2
        offset = scale * (0.5 - corner) - 0.5
        matrix = np.array([[scale, 0.0, offset[0]], [0.0, scale, offset[1]]])
        cutout = warp_to_crop(image, matrix, size)
        faces = self._mesh_faces(self._mesh(), cutout)
        if not faces:
            return None
        # the face we cut out is the one nearest the centre of the cut-out
        points = min(faces, key=lambda p: float(np.linalg.norm(p.mean(axis=0) - (size - 1) / 2)))
        return transform_points(points, invert_affine(matrix))

    def _chosen_box(self, image, small, factor, choice: FaceChoice, previous: np.ndarray | None):
        """The chosen face's BlazeFace ``(box, score)`` in original pixels: by ``choice``, or the one continuing
        ``previous`` (a video's chosen face in the last frame that had it); `None` when there is no face or the
        followed face is gone."""
        boxes = [(box * factor, score) for box, score in self._find_boxes(small, every_model=not choice.is_default)]
        if not boxes:
            return None
        if previous is not None:
            index = follow_face([box for box, _ in boxes], previous)
            return None if index is None else boxes[index]
        return boxes[choice.select([box for box, _ in boxes], image.shape[:2])]

    def _detect_locked(
        self,
        image: np.ndarray,
        small: np.ndarray,
        factor: float,
        choice: FaceChoice = _LARGEST,
        previous: np.ndarray | None = None,
    ) -> FaceDetection | None:
        chosen = self._chosen_box(image, small, factor, choice, previous)
        if chosen is None:
            return None
        box, score = chosen
        landmarks = self._mesh_in_cutout(image, box)
        if landmarks is None:
            logger.debug("face mesh found no face in the cut-out around box %s; trying the whole image", box)
            faces = self._mesh_faces(self._mesh(), small)
            nearest = self._nearest_face([(p + 0.5) * factor - 0.5 for p in faces], box)
            if nearest is None:
                logger.info("BlazeFace found a face (score %.2f) but the face mesh did not: no face", score)
                return None
            landmarks = nearest
        return FaceDetection(box=box, landmarks=landmarks, score=score)

    # ------------------------------------------------------------------------------------------ public
    def detect(self, image: np.ndarray, choice: FaceChoice | str | None = None) -> FaceDetection | None:
        """Detects the chosen face of an image (the largest by default).

        Args:
            image (`np.ndarray`): uint8 RGB ``(H, W, 3)``.
            choice (:class:`~eadnet.face.choice.FaceChoice` or `str`, *optional*): Which face (``"largest"``,
                ``"center"``, ``"N"``, ``"X,Y"``, ``"X0,Y0,X1,Y1"``).

        Returns:
            [`FaceDetection`] or `None`: box and score from BlazeFace, 478 landmarks in pixels of ``image``.

        Raises:
            :class:`~eadnet.face.choice.FaceChoiceError`: faces were found but none matches ``choice``.
        """
        image = check_rgb_uint8(image, "image")
        choice = FaceChoice.parse(choice)
        small, factor = self._downscale(image)
        with self._lock:
            return self._detect_locked(image, small, factor, choice)

    def face_boxes(self, image: np.ndarray) -> np.ndarray:
        """Boxes ``(n, 4)`` ``(x0, y0, x1, y1)`` of every face BlazeFace finds (both ranges), in pixels of
        ``image``, left to right (for choosing a face and for messages listing the faces)."""
        image = check_rgb_uint8(image, "image")
        small, factor = self._downscale(image)
        with self._lock:
            boxes = [box * factor for box, _ in self._find_boxes(small, every_model=True)]
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        return boxes[np.argsort(boxes[:, 0] + boxes[:, 2], kind="stable")]

    def detect_video(
        self, frames: Iterable[np.ndarray], choice: FaceChoice | str | None = None
    ) -> list[FaceDetection | None]:
        """Detects the chosen face in every frame of a clip, tracking the face mesh from frame to frame.

        The face is chosen (``choice``, the largest by default) in the first frame that has one, then followed by
        continuity (:func:`~eadnet.face.choice.follow_face`), so the same person is tracked when others come,
        go or grow larger; frames where that face is not found give `None`.

        Args:
            frames (`Iterable[np.ndarray]`): uint8 RGB frames ``(H, W, 3)`` (an ``(F, H, W, 3)`` array works).
            choice (:class:`~eadnet.face.choice.FaceChoice` or `str`, *optional*): As in :meth:`detect`.

        Returns:
            `list`: one [`FaceDetection`] or `None` per frame.
        """
        choice = FaceChoice.parse(choice)
        results: list[FaceDetection | None] = []
        previous: np.ndarray | None = None  # the chosen face's box in the last frame that had it
        with self._lock:
            tracker = None
            if self.tracking:
                tracker = self._face_mesh_module.FaceMesh(
                    static_image_mode=False,
                    max_num_faces=2,
                    refine_landmarks=True,
                    min_detection_confidence=0.3,
                    min_tracking_confidence=0.5,
                )
            try:
                for index, frame in enumerate(frames):
                    image = check_rgb_uint8(frame, f"frames[{index}]")
                    small, factor = self._downscale(image)
                    if tracker is None:
                        detection = self._detect_locked(image, small, factor, choice, previous)
                    else:
                        detection = self._track_locked(tracker, image, small, factor, choice, previous)
                    if detection is not None:
                        previous = detection.box
                    results.append(detection)
            finally:
                if tracker is not None:
                    tracker.close()
        return results

    def _track_locked(self, tracker, image, small, factor, choice, previous) -> FaceDetection | None:
        # the tracker sees every frame, so that its state follows the clip
        tracked = [(p + 0.5) * factor - 0.5 for p in self._mesh_faces(tracker, small)]
        chosen = self._chosen_box(image, small, factor, choice, previous)
        if chosen is None:
            return None
        box, score = chosen
        landmarks = self._nearest_face(tracked, box)
        if landmarks is None:
            landmarks = self._mesh_in_cutout(image, box)
        return None if landmarks is None else FaceDetection(box, landmarks, score)


def detect_face(detector: FaceDetector, image: np.ndarray, face: FaceChoice | str | None = None):
    """``detector.detect(image)`` for the chosen face; the choice is passed (as ``choice=``) only when it is not the
    default, so detectors that cannot choose keep working for the largest face."""
    choice = FaceChoice.parse(face)
    return detector.detect(image) if choice.is_default else detector.detect(image, choice=choice)


def detect_face_in_video(detector: FaceDetector, frames: Iterable[np.ndarray], face: FaceChoice | str | None = None):
    """``detector.detect_video(frames)`` for the chosen face, passed as in :func:`detect_face`."""
    choice = FaceChoice.parse(face)
    return detector.detect_video(frames) if choice.is_default else detector.detect_video(frames, choice=choice)
