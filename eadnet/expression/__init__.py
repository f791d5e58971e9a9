"""Facial expression as geometry: FACS action units on the 478-point face mesh, the emotion table, the
identity-preserving warp that applies them, and the tracks a talking face is rendered from (docs/design.md §3a).

| module | what it holds |
| --- | --- |
| :mod:`~eadnet.expression.mesh` | mesh landmark groups, a face's own frame (face units) |
| :mod:`~eadnet.expression.action_units` | the AU table and the per-face displacement fields (+ speech articulations) |
| :mod:`~eadnet.expression.emotions` | emotion label × intensity → AUs, and the words for them (the captioner's) |
| :mod:`~eadnet.expression.text_units` | free text → AUs |
| :mod:`~eadnet.expression.measure` | a face mesh → AUs against a neutral face, and the emotion they show |
| :mod:`~eadnet.expression.warp` | the fold-free piecewise-affine warp |
| :mod:`~eadnet.expression.interior` | drawing the inside of the mouth and the eyes |
| :mod:`~eadnet.expression.rig` | :class:`FaceRig`: one face ready to move |
| :mod:`~eadnet.expression.animation` | :class:`MotionTrack` and the renderer of a clip |
| :mod:`~eadnet.expression.editor` | :class:`ExpressionEditor`: images or frames + AUs → edited frames |

Names are imported on first use, so reading the emotion table (the captioner does) does not load OpenCV or SciPy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "ACTION_UNITS": "eadnet.expression.action_units",
    "ActionUnitBasis": "eadnet.expression.action_units",
    "normalize_action_units": "eadnet.expression.action_units",
    "EMOTION_ACTION_UNITS": "eadnet.expression.emotions",
    "describe_action_units": "eadnet.expression.emotions",
    "describe_emotion": "eadnet.expression.emotions",
    "emotion_action_units": "eadnet.expression.emotions",
    "text_action_units": "eadnet.expression.text_units",
    "measure_action_units": "eadnet.expression.measure",
    "measure_expression": "eadnet.expression.measure",
    "classify_action_units": "eadnet.expression.measure",
    "MeshWarp": "eadnet.expression.warp",
    "FaceRig": "eadnet.expression.rig",
    "HeadPose": "eadnet.expression.rig",
    "MotionTrack": "eadnet.expression.animation",
    "render_track": "eadnet.expression.animation",
    "ExpressionEditor": "eadnet.expression.editor",
    "MOUTH_PARAMS": "eadnet.expression.mouth_params",
    "NUM_MOUTH_PARAMS": "eadnet.expression.mouth_params",
}

__all__ = [
    "ACTION_UNITS",
    "ActionUnitBasis",
    "EMOTION_ACTION_UNITS",
    "ExpressionEditor",
    "FaceRig",
    "HeadPose",
    "MOUTH_PARAMS",
    "MeshWarp",
    "MotionTrack",
    "NUM_MOUTH_PARAMS",
    "classify_action_units",
    "describe_action_units",
    "describe_emotion",
    "emotion_action_units",
    "measure_action_units",
    "measure_expression",
    "normalize_action_units",
    "render_track",
    "text_action_units",
]

if TYPE_CHECKING:  # pragma: no cover
    from eadnet.expression.action_units import ACTION_UNITS, ActionUnitBasis, normalize_action_units
    from eadnet.expression.animation import MotionTrack, render_track
    from eadnet.expression.editor import ExpressionEditor
    from eadnet.expression.emotions import (
        EMOTION_ACTION_UNITS,
        describe_action_units,
        describe_emotion,
        emotion_action_units,
    )
    from eadnet.expression.measure import classify_action_units, measure_action_units, measure_expression
    from eadnet.expression.mouth_params import MOUTH_PARAMS, NUM_MOUTH_PARAMS
    from eadnet.expression.rig import FaceRig, HeadPose
    from eadnet.expression.text_units import text_action_units
    from eadnet.expression.warp import MeshWarp


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
