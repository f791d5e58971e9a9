"""The expression editor: an image or frames + action units (or an emotion) + head-pose offsets, gaze and blink →
edited frames at the input's full resolution.

```py
>>> from eadnet.expression import ExpressionEditor
>>> editor = ExpressionEditor()
>>> smiling = editor.edit(photo, emotion="happy", intensity=2, action_units={"AU12": 0.9}, pose=HeadPose(yaw=4))
```
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from eadnet.emotion import check_intensity
from eadnet.expression.action_units import normalize_action_units, replace_expression
from eadnet.expression.emotions import emotion_action_units
from eadnet.expression.interior import rgb_uint8
from eadnet.expression.measure import measure_action_units
from eadnet.expression.rig import FaceRig, HeadPose, check_image
from eadnet.face import MediaPipeFaceDetector, NoFaceError
from eadnet.settings import NO_FACE_POLICIES


def combine_action_units(
    emotion: str | None = None, intensity: float = 2, action_units: Mapping[str, float] | None = None
) -> dict[str, float]:
    """The AU intensities of an edit: the emotion's prototype (if any), with every unit given in
    ``action_units`` set to its given value (so ``{"AU12": 0}`` removes the smile from "happy")."""
    combined = {} if emotion is None else emotion_action_units(emotion, intensity)
    for code, value in (action_units or {}).items():
        code_value = normalize_action_units({code: max(float(value), 1e-9)})
        for canonical in code_value:
            combined[canonical] = float(value)
    return {code: value for code, value in normalize_action_units(combined).items() if value > 0}


#: The slider groups of the editor's front ends (ComfyUI node, Gradio tab, CLI): each in ``[0, 1]`` sets the units
#: below scaled by its value, except ``eye_open`` in ``[-1, 1]``, whose negative half squints (``EYE_SQUINT``).
AU_GROUPS: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "brow_raise": {"AU1": 1.0, "AU2": 1.0},
        "frown": {"AU4": 1.0},
        "eye_open": {"AU5": 1.0},
        "smile": {"AU12": 1.0, "AU6": 0.6},
        "lip_corner_depress": {"AU15": 1.0},
        "nose_wrinkle": {"AU9": 1.0},
        "jaw": {"AU26": 1.0},
    }
)
EYE_SQUINT: Mapping[str, float] = MappingProxyType({"AU7": 1.0, "AU6": 0.3})


def group_action_units(**groups: float) -> dict[str, float]:
    """AU intensities of slider groups (:data:`AU_GROUPS` names, e.g. ``smile=0.8, eye_open=-0.5``); a unit set by
    two groups takes the larger value. Raises `ValueError` for an unknown group or a value out of range."""
    units: dict[str, float] = {}
    for name, value in groups.items():
        if name not in AU_GROUPS:
            raise ValueError(f"unknown expression slider {name!r}; known: {', '.join(AU_GROUPS)}")
        value = float(value)
        low = -1.0 if name == "eye_open" else 0.0
        if not (np.isfinite(value) and low <= value <= 1.0):
            raise ValueError(f"{name} must be in [{low:g}, 1], got {value!r}")
        table, amount = (EYE_SQUINT, -value) if value < 0 else (AU_GROUPS[name], value)
        for code, weight in table.items():
            units[code] = max(units.get(code, 0.0), weight * amount)
    return {code: value for code, value in units.items() if value > 0}


#: The units of a face's own expression that replacing it takes away: the lip corners, which measure reliably against
#: a neutral face of another person (the brows' rest height differs too much from person to person).
REPLACED_UNITS = ("AU12L", "AU12R", "AU14L", "AU14R", "AU15", "AU20")


def own_expression(rig: FaceRig) -> dict[str, float]:
    """The face's own lip-corner expression (a smile, a frown) measured against the canonical neutral face
    (:data:`~eadnet.expression.measure.CANONICAL_NEUTRAL`): what replacing its expression takes away."""
    return measure_action_units(rig.landmarks, basis=rig.basis, units=REPLACED_UNITS)


def _requested_units(emotion, intensity, action_units, gaze, blink) -> tuple[dict[str, float], tuple[float, float]]:
    """The checked units of an edit (the emotion's, the given ones over them, the blink as AU45) and the gaze."""
    if emotion is not None:
        check_intensity(intensity)
    units = combine_action_units(emotion, intensity, action_units)
    gaze, blink = _check_gaze(gaze), _check_blink(blink)
    if blink:
        units["AU45"] = max(units.get("AU45", 0.0), blink)
    return units, gaze


def _check_gaze(gaze) -> tuple[float, float]:
    values = tuple(float(v) for v in gaze)
    if len(values) != 2 or not all(np.isfinite(values)) or max(abs(v) for v in values) > 0.25:
        raise ValueError(f"gaze must be (x, y) in face units within ±0.25, got {gaze!r}")
    return values


def _check_blink(blink) -> float:
    value = float(blink)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"blink must be in [0, 1] (1: eyes closed), got {blink!r}")
    return value


class ExpressionEditor:
    r"""Edits the facial expression of the face in images or video frames, keeping the person's own skin.

    Args:
        detector ([`~eadnet.face.FaceDetector`], *optional*): Face mesh detector; a
            [`~eadnet.face.MediaPipeFaceDetector`] is created on first use when omitted.
    """

    def __init__(self, detector: Any = None):
        self._detector = detector

    @property
    def detector(self):
        if self._detector is None:
            self._detector = MediaPipeFaceDetector()
        return self._detector

    def rig(self, image, landmarks: np.ndarray | None = None) -> FaceRig:
        """A :class:`FaceRig` for the face in ``image`` (detected unless ``landmarks`` are given).

        Raises:
            `eadnet.face.NoFaceError`: no face in the image.
        """
        image = check_image(image)
        if landmarks is None:
            detection = self.detector.detect(rgb_uint8(image))
            if detection is None:
                raise NoFaceError(
                    "no face found in the image: use a photo where the face is clearly visible, well lit and at "
                    "least ~80 px wide"
                )
            landmarks = detection.landmarks
        return FaceRig(image, landmarks)

    def edit(
        self,
        image,
        action_units: Mapping[str, float] | None = None,
        emotion: str | None = None,
        intensity: float = 2,
        pose: HeadPose | None = None,
        gaze: tuple[float, float] = (0.0, 0.0),
        blink: float = 0.0,
        landmarks: np.ndarray | None = None,
        keep_expression: bool = False,
        replace_expression: bool | None = None,
    ) -> np.ndarray:
        """The image with the expression applied, same shape and dtype.

        Args:
            image (`np.ndarray`): ``(H, W)`` gray or ``(H, W, 3|4)`` RGB(A); uint8, uint16 or float in ``[0, 1]``.
            action_units (`Mapping[str, float]`, *optional*): AU intensities in ``[0, 1]`` (``{"AU12": 0.8}``;
                ``"12"``, ``"AU12L"`` accepted); they override the emotion's values for the same units.
            emotion (`str`, *optional*): A MEAD label (or alias) whose EMFACS prototype is applied.
            intensity (`float`, *optional*, defaults to 2): The emotion's MEAD level (1–3).
            pose ([`HeadPose`], *optional*): Small head rotation in degrees.
            gaze (`tuple[float, float]`, *optional*): Iris offset in face units (±0.25).
            blink (`float`, *optional*, defaults to 0): Lid closure (AU45), 1 = closed.
            landmarks (`np.ndarray`, *optional*): The face mesh, when already known.
            keep_expression (`bool`, *optional*, defaults to `False`): With an ``emotion``, keep the face's own
                lip-corner expression and add the emotion on top; by default it is replaced (a smiling photo asked to
                look sad loses its smile). Action units given alone are always added.
            replace_expression (`bool`, *optional*): Say outright whether the face's own lip-corner expression is
                taken away (default: with an ``emotion`` and not ``keep_expression``); for callers that turned an
                emotion into ``action_units`` themselves.

        Raises:
            `eadnet.face.NoFaceError`: no face in the image. `ValueError`: a bad argument.
        """
        units, gaze = _requested_units(emotion, intensity, action_units, gaze, blink)
        rig = self.rig(image, landmarks)
        if replace_expression is None:
            replace_expression = emotion is not None and not keep_expression
        return self._render(rig, units, pose, gaze, replace=replace_expression)

    @staticmethod
    def _render(rig: FaceRig, units: dict[str, float], pose: HeadPose | None, gaze, replace: bool) -> np.ndarray:
        change = replace_expression(units, own_expression(rig)) if replace else units
        if not change and (pose is None or pose.is_zero) and gaze == (0.0, 0.0):
            return rig.image.copy()
        mesh = rig.basis.displacements(np.array([list(change.values())]), list(change))[0]
        return rig.render(rig.points(mesh, pose=pose), gaze=gaze, close_mouth=False)

    def edit_frames(
        self,
        frames: Iterable,
        action_units: Mapping[str, float] | None = None,
        emotion: str | None = None,
        intensity: float = 2,
        pose: HeadPose | None = None,
        gaze: tuple[float, float] = (0.0, 0.0),
        blink: float = 0.0,
        no_face: str = "error",
        keep_expression: bool = False,
    ) -> Iterator[np.ndarray]:
        """Edits every frame of a video the same way (the face mesh tracked frame to frame); yields frames.

        Args:
            no_face (`str`, *optional*, defaults to `"error"`): What to do with a frame without a face: ``"error"``
                raises :class:`~eadnet.face.NoFaceError` naming the frame, ``"skip"`` drops it, ``"hold"`` passes
                it through unedited.
            Other arguments as in :meth:`edit`.
        """
        if no_face not in NO_FACE_POLICIES:
            raise ValueError(f"no_face must be one of {NO_FACE_POLICIES}, got {no_face!r}")
        units, gaze = _requested_units(emotion, intensity, action_units, gaze, blink)
        replace = emotion is not None and not keep_expression
        return self._edit_frames(frames, units, pose, gaze, no_face, replace)

    def _edit_frames(self, frames, units, pose, gaze, no_face, replace) -> Iterator[np.ndarray]:
        for index, frame in enumerate(frames):
            image = check_image(frame)
            detection = self.detector.detect(rgb_uint8(image))
            if detection is None:
                if no_face == "error":
                    raise NoFaceError(frame_index=index)
                if no_face == "hold":
                    yield image.copy()
                continue
            yield self._render(FaceRig(image, detection.landmarks), units, pose, gaze, replace)
