"""Which face of a group shot talks: ``largest``, ``center``, the N-th from the left, the face under a point, the
face in a box or under a mask.

The choice is written as one string, the same in the pipeline (``face=`` option), the CLI (``--face``), the ComfyUI
face node and the Gradio app:

- ``"largest"`` (default): the face with the largest box;
- ``"center"``: the face nearest the centre of the image;
- ``"N"`` (an integer, 0 = leftmost): the N-th face counted left to right by the centre of its box;
- ``"X,Y"``: the face whose box holds the point (pixels of the original image; the nearest box when none holds it
  and the point lies within one face width of it);
- ``"X0,Y0,X1,Y1"``: the face whose box overlaps this box most.

A choice that matches none of the faces raises :class:`FaceChoiceError`, which lists the faces found so that the
user can pick one. In a video the choice is made on the first frame with a face and then followed by continuity
(:func:`follow_face`: the box nearest the previous one), so the talker stays the same person when others move.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: The ways of choosing a face by name; a number, a point ``X,Y`` or a box ``X0,Y0,X1,Y1`` are the others.
FACE_CHOICE_NAMES = ("largest", "center")

_NUMBER = r"\s*-?\d+(?:\.\d+)?\s*"
_POINT = re.compile(rf"^{_NUMBER},{_NUMBER}$")
_BOX = re.compile(rf"^{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}$")


class FaceChoiceError(ValueError):
    """The requested face is not among the faces found (the message lists them)."""


@dataclass(frozen=True)
class FaceChoice:
    """A parsed face choice (see the module docstring); build it with :meth:`parse`.

    Args:
        kind (`str`): ``"largest"``, ``"center"``, ``"index"``, ``"point"`` or ``"box"``.
        index (`int`, *optional*): For ``"index"``: the position from the left (0 = leftmost).
        values (`tuple[float, ...]`, *optional*): For ``"point"`` ``(x, y)``; for ``"box"`` ``(x0, y0, x1, y1)``.
    """

    kind: str = "largest"
    index: int = 0
    values: tuple[float, ...] = ()

    @classmethod
    def parse(cls, choice: str | int | FaceChoice | None) -> FaceChoice:
        """Reads ``"largest"``, ``"center"``, ``"N"``, ``"X,Y"`` or ``"X0,Y0,X1,Y1"`` (`None`: largest).

        Raises:
            `ValueError`: the text is none of these.
        """
        if isinstance(choice, FaceChoice):
            return choice
        if choice is None:
            return cls()
        if isinstance(choice, bool):
            raise ValueError(f"face must be largest, center, a number, X,Y or X0,Y0,X1,Y1; got {choice!r}")
        if isinstance(choice, (int, np.integer)):
            choice = str(int(choice))
        if not isinstance(choice, str):
            raise ValueError(f"face must be a string such as 'largest', '1' or '320,180', got {type(choice).__name__}")
        text = choice.strip().lower()
        if text in ("", "largest", "biggest", "auto"):
            return cls()
        if text in ("center", "centre", "middle"):
            return cls("center")
        if re.fullmatch(r"\d+", text):
            return cls("index", index=int(text))
        if _POINT.match(text):
            return cls("point", values=tuple(float(v) for v in text.split(",")))
        if _BOX.match(text):
            x0, y0, x1, y1 = (float(v) for v in text.split(","))
            if x1 <= x0 or y1 <= y0:
                raise ValueError(f"face box {choice!r} must be X0,Y0,X1,Y1 with X1 > X0 and Y1 > Y0")
            return cls("box", values=(x0, y0, x1, y1))
        raise ValueError(
            f"face must be 'largest', 'center', a number N (0 = leftmost face), a point 'X,Y' or a box "
            f"'X0,Y0,X1,Y1' in pixels; got {choice!r}"
        )

    @classmethod
    def from_mask(cls, mask) -> FaceChoice:
        """The face under a mask (`(H, W)` array, nonzero = the face to choose): the mask's bounding box."""
        mask = np.asarray(mask)
        if mask.ndim == 3:
            mask = mask.max(axis=-1) if mask.shape[-1] <= 4 else mask[0]
        if mask.ndim != 2:
            raise ValueError(f"the face mask must be (H, W), got shape {mask.shape}")
        rows = np.flatnonzero(np.asarray(mask > 0.5 if mask.dtype.kind == "f" else mask > 0).any(axis=1))
        cols = np.flatnonzero(np.asarray(mask > 0.5 if mask.dtype.kind == "f" else mask > 0).any(axis=0))
        if rows.size == 0:
            raise ValueError("the face mask is empty: paint over the face that should talk")
        return cls("box", values=(float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)))

    @property
    def is_default(self) -> bool:
        """Whether this is the default choice (the largest face)."""
        return self.kind == "largest"

    def __str__(self) -> str:
        if self.kind == "index":
            return str(self.index)
        if self.kind in ("point", "box"):
            return ",".join(f"{v:g}" for v in self.values)
        return self.kind

    def select(self, boxes: Sequence[np.ndarray] | np.ndarray, image_size: tuple[int, int]) -> int:
        """The index (into ``boxes``) of the chosen face.

        Args:
            boxes: face boxes ``(x0, y0, x1, y1)`` in pixels, in any order.
            image_size: ``(H, W)`` of the image.

        Raises:
            :class:`FaceChoiceError`: no face matches (the message lists the faces found).
        """
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        if len(boxes) == 0:
            raise FaceChoiceError("no face found")
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        areas = np.prod(np.maximum(boxes[:, 2:] - boxes[:, :2], 0), axis=1)
        if self.kind == "largest":
            return int(np.argmax(areas))
        if self.kind == "center":
            height, width = image_size
            return int(np.argmin(np.linalg.norm(centres - ((width - 1) / 2, (height - 1) / 2), axis=1)))
        if self.kind == "index":
            order = np.argsort(centres[:, 0], kind="stable")
            if self.index >= len(order):
                raise FaceChoiceError(
                    f"face {self.index} was asked for but only {len(order)} face(s) were found "
                    f"(0 = leftmost): {describe_faces(boxes)}"
                )
            return int(order[self.index])
        if self.kind == "point":
            point = np.array(self.values)
            inside = np.flatnonzero(np.all((boxes[:, :2] <= point) & (point <= boxes[:, 2:]), axis=1))
            if inside.size:
                return int(inside[np.argmin(areas[inside])])  # the innermost of nested boxes
            distances = np.linalg.norm(centres - point, axis=1)
            nearest = int(np.argmin(distances))
            if distances[nearest] <= np.max(boxes[nearest, 2:] - boxes[nearest, :2]):
                return nearest
            raise FaceChoiceError(f"no face at the point {self}: {describe_faces(boxes)}")
        overlap = box_iou(boxes, np.array(self.values))
        best = int(np.argmax(overlap))
        if overlap[best] <= 0.0:
            raise FaceChoiceError(f"no face overlaps the box {self}: {describe_faces(boxes)}")
        return best


def describe_faces(boxes) -> str:
    """``"face 0 at x 10-90, y 20-110; face 1 at …"``, counted left to right, for error messages and the UI."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    order = np.argsort((boxes[:, 0] + boxes[:, 2]) / 2, kind="stable")
    parts = [
        f"face {rank} at x {boxes[i, 0]:.0f}-{boxes[i, 2]:.0f}, y {boxes[i, 1]:.0f}-{boxes[i, 3]:.0f}"
        for rank, i in enumerate(order)
    ]
    found = f"{len(boxes)} face(s) found (left to right): " if len(boxes) else "no face found"
    return found + "; ".join(parts)


def follow_face(boxes: Sequence[np.ndarray] | np.ndarray, previous: np.ndarray) -> int | None:
    """The box that continues ``previous`` (the chosen face in the last frame that had it): the best overlap, or
    the nearest centre within one face width; `None` when no box is near (the face left the frame)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if len(boxes) == 0:
        return None
    previous = np.asarray(previous, dtype=np.float64)
    overlap = box_iou(boxes, previous)
    best = int(np.argmax(overlap))
    if overlap[best] > 0.2:
        return best
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    distances = np.linalg.norm(centres - (previous[:2] + previous[2:]) / 2, axis=1)
    nearest = int(np.argmin(distances))
    return nearest if distances[nearest] <= np.max(previous[2:] - previous[:2]) else None


def box_iou(boxes: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Intersection over union of each box ``(n, 4)`` with ``box`` ``(4,)`` (all ``(x0, y0, x1, y1)``) → ``(n,)``."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    box = np.asarray(box, dtype=np.float64)
    low = np.maximum(boxes[:, :2], box[:2])
    high = np.minimum(boxes[:, 2:], box[2:])
    inter = np.prod(np.maximum(high - low, 0), axis=1)
    union = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1) + np.prod(box[2:] - box[:2]) - inter
    return inter / np.maximum(union, 1e-9)


__all__ = ["FACE_CHOICE_NAMES", "FaceChoice", "FaceChoiceError", "box_iou", "describe_faces", "follow_face"]
