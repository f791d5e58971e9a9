"""The identity-preserving warp: a piecewise-affine map over the face mesh, feathered into the untouched background.

Control points are the 468 mesh points, two rings around the face (the face oval scaled by 1.4 and 2.1 about its
centre) and points on the image border. The inner ring follows the head (pose), the outer ring and the border stay,
so the displacement fades to zero between the rings and every pixel outside the moved triangles is copied unchanged.
The points are triangulated once (Delaunay) on a layout with the lips apart, so the inside of the mouth is
triangulated between the lips and never across them; each frame, the affine map of every moved triangle from output
to source is rasterised and applied with one ``cv2.remap`` (backward mapping: every output pixel reads the source, so
skin is moved, never repainted).

A piecewise-affine map is fold-free exactly when every triangle keeps its orientation (the Jacobian determinant,
the ratio of signed areas, stays positive): :meth:`MeshWarp.jacobian_determinants` measures it and
:meth:`MeshWarp.fold_free` mends a displacement until it holds.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.spatial import Delaunay

from eadnet.expression.mesh import EYES, FACE_OVAL, LOWER_INNER, NUM_MESH, UPPER_INNER

#: Smallest allowed ratio of a triangle's output area to its source area (a fold is a ratio ≤ 0).
MIN_AREA_RATIO = 0.05
#: Triangles smaller than this (square pixels) in the source are not checked for folds: slivers that cover no
#: source pixel.
MIN_CHECKED_AREA = 1.0
#: The openings of the face: triangles with every corner on one of these contours lie inside the mouth or an eye.
#: They close when the lips or lids meet (a closed mouth, a blink) — that is not a fold, and the lip and lid contact
#: of :meth:`~eadnet.expression.action_units.ActionUnitBasis.resolve_contact` keeps them from turning over — so the
#: fold check leaves them out; what shows inside them is drawn (:mod:`eadnet.expression.interior`).
OPENINGS: tuple[frozenset[int], ...] = (
    frozenset(UPPER_INNER + LOWER_INNER),
    *(frozenset([*eye["corners"], *eye["upper"], *eye["lower"]]) for eye in EYES),
)


class MeshWarp:
    r"""Piecewise-affine warp of one image over its face mesh.

    Args:
        landmarks (`np.ndarray`): ``(478, 2)`` or ``(468, 2)`` mesh pixels in the source image.
        size (`tuple[int, int]`): ``(height, width)`` of the source image.
        layout_displacement (`np.ndarray`, *optional*): ``(468, 2)`` pixels added to the mesh for the
            triangulation only (the lips held apart).
    """

    def __init__(self, landmarks: np.ndarray, size: tuple[int, int], layout_displacement: np.ndarray | None = None):
        self.height, self.width = int(size[0]), int(size[1])
        mesh = np.asarray(landmarks, dtype=np.float64)[:NUM_MESH]
        oval = mesh[FACE_OVAL]
        centre = oval.mean(axis=0)
        self.face_centre = centre
        ring_inner = centre + 1.4 * (oval - centre)
        ring_outer = centre + 2.1 * (oval - centre)
        w, h = self.width, self.height
        border = []
        for k in range(8):
            t = k / 8.0
            border += [(t * w - 0.5, -1.0), (w, t * h - 0.5), ((1 - t) * w - 0.5, h), (-1.0, (1 - t) * h - 0.5)]
        self.source_points = np.concatenate([mesh, ring_inner, ring_outer, np.array(border)])
        self.num_inner = NUM_MESH + len(ring_inner)  # the points that follow the head
        layout = self.source_points.copy()
        if layout_displacement is not None:
            layout[:NUM_MESH] += layout_displacement
        triangles = Delaunay(layout).simplices.astype(np.int32)
        # orient every triangle counter-clockwise in the source, so signed areas compare directly
        src = self.source_points[triangles]
        area = _signed_area(src)
        triangles[area < 0] = triangles[area < 0][:, [0, 2, 1]]
        keep = np.any(triangles < self.num_inner, axis=1) & (
            np.abs(_signed_area(self.source_points[triangles])) > 1e-6
        )
        self.triangles = triangles[keep]  # triangles touching only the outer ring and the border never move
        self._source_area = _signed_area(self.source_points[self.triangles])
        inside = np.zeros(len(self.triangles), dtype=bool)
        for opening in OPENINGS:
            inside |= np.isin(self.triangles, list(opening)).all(axis=1)
        self._checked = (self._source_area >= MIN_CHECKED_AREA) & ~inside

    def points(self, mesh_displacement: np.ndarray | None = None, head: np.ndarray | None = None) -> np.ndarray:
        """Output control points ``(P, 2)``: the mesh moved by ``mesh_displacement`` ``(468, 2)`` and then the mesh
        and inner ring by the 2×3 ``head`` transform (or a ``(P_inner, 2)`` array of moved inner points)."""
        points = self.source_points.copy()
        if mesh_displacement is not None:
            points[:NUM_MESH] += mesh_displacement
        if head is not None:
            head = np.asarray(head, dtype=np.float64)
            inner = points[: self.num_inner]
            if head.shape == (2, 3):
                points[: self.num_inner] = inner @ head[:, :2].T + head[:, 2]
            else:
                points[: self.num_inner] = inner + head
        return points

    def jacobian_determinants(self, points: np.ndarray) -> np.ndarray:
        """Per triangle of skin (at least :data:`MIN_CHECKED_AREA` in the source and not inside an opening, see
        :data:`OPENINGS`), the determinant of the forward map's Jacobian (output area / source area); a fold is ≤ 0.
        ``points`` may be ``(P, 2)`` or ``(F, P, 2)``."""
        triangles = self.triangles[self._checked]
        return _signed_area(np.asarray(points)[..., triangles, :]) / self._source_area[self._checked]

    def fold_free(self, displacement: np.ndarray, iterations: int = 30) -> tuple[np.ndarray, bool]:
        """``displacement`` ``(P, 2)`` of the control points, mended where it would fold the skin: returns the
        displacement (unchanged when no triangle's area ratio drops below :data:`MIN_AREA_RATIO`) and whether it was
        changed.

        The mend is local: each round, the corners of every offending triangle are pulled halfway towards the
        triangle's mean displacement (a pure translation, which folds nothing), so the rest of the face keeps its
        motion (a mouth still closes when a thin lip corner would have turned over). If that does not settle, the
        whole displacement is scaled back by bisection, which always ends fold-free.
        """
        source = self.source_points
        if np.min(self.jacobian_determinants(source + displacement)) >= MIN_AREA_RATIO:
            return displacement, False
        checked = self.triangles[self._checked]
        mended = np.array(displacement, dtype=np.float64, copy=True)
        for _ in range(iterations):
            bad = self.jacobian_determinants(source + mended) < MIN_AREA_RATIO
            if not np.any(bad):
                return mended, True
            corners = checked[bad]  # (B, 3)
            means = mended[corners].mean(axis=1)  # (B, 2)
            total = np.zeros_like(mended)
            count = np.zeros(len(mended))
            np.add.at(total, corners.reshape(-1), np.repeat(means, 3, axis=0))
            np.add.at(count, corners.reshape(-1), 1.0)
            touched = count > 0
            mended[touched] = 0.5 * mended[touched] + 0.5 * total[touched] / count[touched, None]
        low, high = 0.0, 1.0
        for _ in range(12):
            mid = (low + high) / 2.0
            if np.min(self.jacobian_determinants(source + mid * mended)) >= MIN_AREA_RATIO:
                low = mid
            else:
                high = mid
        return low * mended, True

    def maps(self, points: np.ndarray):
        """Backward maps for one frame: ``(box, map_x, map_y, covered)`` where ``box = (x0, y0, x1, y1)`` bounds the
        moved triangles (or `None` when nothing moves), the maps give each output pixel of the box its source
        position, and ``covered`` marks the pixels that read a moved triangle (the rest stay as they are)."""
        points = np.asarray(points, dtype=np.float64)
        moved = np.any(np.abs(points[self.triangles] - self.source_points[self.triangles]) > 1e-3, axis=(1, 2))
        if not np.any(moved):
            return None, None, None, None
        triangles = self.triangles[moved]
        target = points[triangles]
        source = self.source_points[triangles]
        corners = np.concatenate([target.reshape(-1, 2), source.reshape(-1, 2)])
        x0, y0 = np.floor(corners.min(axis=0)).astype(int) - 1
        x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 2
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(self.width, x1), min(self.height, y1)
        if x1 <= x0 or y1 <= y0:
            return None, None, None, None
        # affine target → source per triangle: p_src = s0 + [sa sb] inv([ta tb]) (p - t0)
        a = target[:, 1] - target[:, 0]
        b = target[:, 2] - target[:, 0]
        det = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
        valid = np.abs(det) > 0.02
        det = np.where(valid, det, 1.0)
        inv = np.stack([np.stack([b[:, 1], -b[:, 0]], -1), np.stack([-a[:, 1], a[:, 0]], -1)], 1) / det[:, None, None]
        basis = np.stack([source[:, 1] - source[:, 0], source[:, 2] - source[:, 0]], -1)
        linear = basis @ inv
        offset = source[:, 0] - np.einsum("tij,tj->ti", linear, target[:, 0])
        coeffs = np.concatenate([linear.reshape(-1, 4), offset], axis=1).astype(np.float32)
        ids = np.full((y1 - y0, x1 - x0), -1, dtype=np.int32)
        fixed = np.round((target - (x0, y0)) * 16.0).astype(np.int32)
        for index in np.flatnonzero(valid):
            cv2.fillConvexPoly(ids, fixed[index], int(index), lineType=cv2.LINE_8, shift=4)
        covered = ids >= 0
        gathered = coeffs[np.where(covered, ids, 0)]
        gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        map_x = gathered[..., 0] * gx + gathered[..., 1] * gy + gathered[..., 4]
        map_y = gathered[..., 2] * gx + gathered[..., 3] * gy + gathered[..., 5]
        return (x0, y0, x1, y1), np.where(covered, map_x, gx), np.where(covered, map_y, gy), covered

    def apply(self, source: np.ndarray, points: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Warps ``source`` (``(H, W)`` or ``(H, W, C)``, uint8 / uint16 / float32) to the output ``points``;
        pixels outside the moved triangles are copied from ``out`` (default: a copy of ``source``)."""
        frame = source.copy() if out is None else out
        box, map_x, map_y, covered = self.maps(points)
        if box is None:
            return frame
        x0, y0, x1, y1 = box
        warped = cv2.remap(source, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if warped.ndim < frame.ndim:
            warped = warped[..., None]
        region = frame[y0:y1, x0:x1]
        mask = covered if region.ndim == 2 else covered[..., None]
        frame[y0:y1, x0:x1] = np.where(mask, warped, region)
        return frame


def _signed_area(triangles: np.ndarray) -> np.ndarray:
    a = triangles[..., 1, :] - triangles[..., 0, :]
    b = triangles[..., 2, :] - triangles[..., 0, :]
    return 0.5 * (a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0])
