"""One face ready to move: its action-unit basis, its warp, its mouth and eye painters.

:class:`FaceRig` is the single renderer of facial motion in EAD-Net. The expression editor, the ``eadnet-mesh``
talking-face engine, the diffusion pipeline's emotion warp and the synthetic training clips all go through it:

```py
>>> rig = FaceRig(image, landmarks)                        # any size; gray, RGB or RGBA; uint8, uint16 or float
>>> mesh = rig.basis.displacement({"AU12": 0.8, "AU6": 0.6}, mouth=[0.4, 0, 0, 0, 0, 0], close_mouth=1.0)
>>> points = rig.points(mesh, pose=HeadPose(yaw=5))        # fold-free output control points
>>> frame = rig.render(points)                             # same shape and dtype as ``image``
```
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from eadnet.expression.action_units import ActionUnitBasis
from eadnet.expression.interior import Canvas, EyePainter, MouthPainter, rgb_uint8
from eadnet.expression.mesh import EYES, FACE_OVAL, LOWER_INNER, NOSE_TIP, NUM_MESH, UPPER_INNER, check_landmarks
from eadnet.expression.warp import MeshWarp

#: Largest head-pose offset accepted, in degrees (the warp turns a 2-D face; larger turns need a 3-D model).
MAX_POSE_DEGREES = 30.0


@dataclass(frozen=True)
class HeadPose:
    """A small head rotation in degrees: ``pitch`` > 0 nods down, ``yaw`` > 0 turns towards the image's right,
    ``roll`` > 0 tilts counter-clockwise (as seen in the image)."""

    pitch: float = 0.0
    yaw: float = 0.0
    roll: float = 0.0

    def __post_init__(self):
        for name in ("pitch", "yaw", "roll"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number of degrees, got {value!r}")
            if abs(value) > MAX_POSE_DEGREES:
                raise ValueError(f"{name} must be within ±{MAX_POSE_DEGREES:g} degrees, got {value!r}")

    @property
    def is_zero(self) -> bool:
        return self.pitch == 0 and self.yaw == 0 and self.roll == 0


def check_image(image) -> np.ndarray:
    """``image`` as an array the rig renders: ``(H, W)`` or ``(H, W, 1|3|4)``, uint8, uint16 or float (float64 is
    converted to float32); raises `ValueError` with what is accepted."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] not in (1, 3, 4) or array.ndim not in (2, 3):
        raise ValueError(f"image must be (H, W) gray or (H, W, 3|4) RGB(A), got shape {array.shape}")
    if array.shape[0] < 16 or array.shape[1] < 16:
        raise ValueError(f"image is too small ({array.shape[1]}x{array.shape[0]}); at least 16x16 is needed")
    if array.dtype == np.float64 or array.dtype == np.float16:
        array = array.astype(np.float32)
    if array.dtype not in (np.uint8, np.uint16, np.float32):
        raise ValueError(f"image must be uint8, uint16 or float in [0, 1], got dtype {array.dtype}")
    return np.ascontiguousarray(array)


class FaceRig:
    r"""Renders one face with any expression, mouth shape, head-pose offset and gaze, at the image's resolution.

    Args:
        image (`np.ndarray`): The source image (see `check_image`); output frames have its shape and dtype.
        landmarks (`np.ndarray`): ``(478, 2)`` face-mesh pixels of the face in ``image``.
        reuse_teeth (`bool`, *optional*, defaults to `True`): Reuse the source's own teeth when it shows them.
    """

    def __init__(self, image, landmarks, reuse_teeth: bool = True):
        self.image = check_image(image)
        self.landmarks = check_landmarks(landmarks)
        self.height, self.width = self.image.shape[:2]
        self.rgb = rgb_uint8(self.image)
        self.basis = ActionUnitBasis(self.landmarks)
        self.iod = self.basis.frame.iod
        self.warp = MeshWarp(self.landmarks, (self.height, self.width), 0.6 * self.basis.field("jaw_open"))
        self.mouth = MouthPainter(self.rgb, self.landmarks, self.iod, reuse_teeth=reuse_teeth)
        self.eyes = EyePainter(self.rgb, self.landmarks, self.iod)
        self._closed_source: np.ndarray | None = None
        self._depth = self._depth_proxy()

    # ------------------------------------------------------------------------------------------ geometry
    def _depth_proxy(self) -> np.ndarray:
        """Depth towards the camera of the inner control points (pixels): an ellipsoid over the face oval with the
        nose standing out; the inner ring lies at depth 0, so a turn fades out before the background."""
        points = self.warp.source_points[: self.warp.num_inner]
        oval = self.landmarks[FACE_OVAL]
        centre = self.warp.face_centre
        half = np.maximum((oval.max(axis=0) - oval.min(axis=0)) / 2.0, 1.0)
        rel = (points - centre) / half
        depth = np.sqrt(np.clip(1.0 - np.sum(rel**2, axis=1), 0.0, 1.0)) * 0.5 * half.mean()
        nose = np.exp(-np.sum((points - self.landmarks[NOSE_TIP]) ** 2, axis=1) / (2 * (0.25 * self.iod) ** 2))
        depth += 0.3 * self.iod * nose
        depth[NUM_MESH:] = 0.0
        return depth

    def pose_offsets(self, pose: HeadPose) -> np.ndarray:
        """Displacement ``(P_inner, 2)`` of the inner control points for a head-pose offset (orthographic
        projection of the rotated depth proxy about the face centre)."""
        pitch, yaw, roll = (math.radians(v) for v in (pose.pitch, pose.yaw, pose.roll))
        points = self.warp.source_points[: self.warp.num_inner]
        rel = np.concatenate([points - self.warp.face_centre, self._depth[:, None]], axis=1)
        cy, sy, cp, sp, cr, sr = (
            math.cos(yaw),
            math.sin(yaw),
            math.cos(pitch),
            math.sin(pitch),
            math.cos(roll),
            math.sin(roll),
        )
        # image axes x right, y down, z towards the camera
        yaw_m = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
        pitch_m = np.array([[1.0, 0.0, 0.0], [0.0, cp, sp], [0.0, -sp, cp]])
        roll_m = np.array([[cr, sr, 0.0], [-sr, cr, 0.0], [0.0, 0.0, 1.0]])
        moved = rel @ (roll_m @ pitch_m @ yaw_m).T
        offsets = moved[:, :2] - rel[:, :2]
        offsets[NUM_MESH:] *= 0.0  # the inner ring holds the background
        return offsets

    def points(
        self,
        mesh_displacement: np.ndarray | None = None,
        head: np.ndarray | None = None,
        pose: HeadPose | None = None,
    ) -> np.ndarray:
        """Fold-free output control points ``(P, 2)`` for a mesh displacement ``(468, 2)`` (pixels), a 2×3 head
        transform of the inner points (``head``) and a head-pose offset; a displacement that would fold a triangle
        is mended locally (see :meth:`MeshWarp.fold_free`)."""
        displacement = np.zeros_like(self.warp.source_points)
        if mesh_displacement is not None:
            displacement[:NUM_MESH] = mesh_displacement
        if pose is not None and not pose.is_zero:
            displacement[: self.warp.num_inner] += self.pose_offsets(pose)
        displacement, _ = self.warp.fold_free(displacement)
        points = self.warp.source_points + displacement
        if head is not None:
            head = np.asarray(head, dtype=np.float64)
            inner = points[: self.warp.num_inner]
            points[: self.warp.num_inner] = inner @ head[:, :2].T + head[:, 2]
        return points

    # ------------------------------------------------------------------------------------------ rendering
    def _source_closed(self) -> np.ndarray:
        """The source with the inside of its mouth (teeth, dark corners) filled from the lips, which is what the warp
        reads when the mouth is closed by the mesh, so that no teeth or shadow show along the seam."""
        if self._closed_source is None:
            polygon = np.round(self.landmarks[UPPER_INNER + LOWER_INNER[::-1]] * 4).astype(np.int32)
            inside = np.zeros((self.height, self.width), np.uint8)
            cv2.fillPoly(inside, [polygon], 255, lineType=cv2.LINE_8, shift=2)
            cv2.polylines(inside, [polygon], True, 255, thickness=1, lineType=cv2.LINE_8, shift=2)
            near = cv2.dilate(inside, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
            around = cv2.dilate(inside, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
            luminance = cv2.cvtColor(self.rgb, cv2.COLOR_RGB2GRAY)
            lips = (cv2.dilate(around, np.ones((5, 5), np.uint8)) > 0) & (around == 0)
            source = self.image.copy()
            if np.any(lips):
                dark = luminance < 0.6 * float(np.median(luminance[lips]))
                mask = ((near > 0) | ((around > 0) & dark)).astype(np.uint8) * 255
                ys, xs = np.nonzero(mask)
                if len(ys):
                    y0, y1 = max(0, ys.min() - 4), min(self.height, ys.max() + 5)
                    x0, x1 = max(0, xs.min() - 4), min(self.width, xs.max() + 5)
                    filled = cv2.inpaint(self.rgb[y0:y1, x0:x1], mask[y0:y1, x0:x1], 2, cv2.INPAINT_TELEA)
                    canvas = Canvas(source)
                    keep = (mask[y0:y1, x0:x1] > 0)[..., None]
                    canvas.write(
                        y0, y1, x0, x1, np.where(keep, filled.astype(np.float32), canvas.read(y0, y1, x0, x1))
                    )
            self._closed_source = source
        return self._closed_source

    def rest_frame(self) -> np.ndarray:
        """The image with the face's mouth closed at rest (lips together, jaw up) and nothing else changed: what a
        talking face shows in a pause of the speech, whatever its mouth was doing in the source."""
        mesh = self.basis.displacements(np.zeros((1, 0)), [], mouth=np.zeros((1, 6)), close_mouth=np.ones(1))[0]
        return self.render(self.points(mesh), close_mouth=True)

    def render(
        self,
        points: np.ndarray,
        gaze: tuple[float, float] = (0.0, 0.0),
        close_mouth: bool = True,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """One output frame for output control points ``points`` (from :meth:`points`).

        Args:
            points (`np.ndarray`): ``(P, 2)`` output control points.
            gaze (`tuple[float, float]`, *optional*): Iris offset in face units (x right, y down; ±0.1 is a glance).
            close_mouth (`bool`, *optional*, defaults to `True`): Read the source with its mouth interior filled in
                (use it whenever the mesh closes the source's lip gap).
            out (`np.ndarray`, *optional*): Background to draw on (default: a copy of the source).
        """
        source = self._source_closed() if close_mouth else self.image
        frame = self.warp.apply(source, points, out=self.image.copy() if out is None else out)
        canvas = Canvas(frame)
        displacement = points[:NUM_MESH] - self.landmarks[:NUM_MESH]
        mouth_points = UPPER_INNER + LOWER_INNER
        if close_mouth or np.abs(displacement[mouth_points]).max() > 0.05:
            self.mouth.paint(canvas, points)
        eye_points = [index for eye in EYES for index in (*eye["upper"], *eye["lower"])]
        relative = displacement[eye_points] - displacement[eye_points].mean(axis=0)
        if np.abs(relative).max() > 0.3 or np.any(np.asarray(gaze) != 0):
            self.eyes.paint(canvas, points, gaze)
        return frame
