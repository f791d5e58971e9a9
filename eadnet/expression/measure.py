"""Reading an expression off a face mesh: action-unit intensities measured against a neutral face, and the emotion
they show (the "geometry rule").

A face mesh is summarised by a few geometric features in face units (:func:`mesh_features`: brow heights, eye
openings, lip-corner heights, mouth width, lip gap, ...), measured in an eye-based frame that expression barely
moves (the eye corners). An expression changes the features; how much each action unit changes them on *this* face is
found by applying the unit's displacement field (:class:`~eadnet.expression.action_units.ActionUnitBasis`) to the
mesh and measuring again, so the measurement speaks the same units as the warp that applies them. The intensities are
the non-negative least-squares fit of those responses to the difference between the face and a neutral face — its
own first frames for a video, or :data:`CANONICAL_NEUTRAL` for a single image — so measuring what the warp applied
gives back what was asked (the round trip the tests check).

The emotion is the MEAD prototype (:data:`~eadnet.expression.emotions.EMOTION_ACTION_UNITS`) whose AU pattern is
most similar (cosine) to the measured one, or ``"neutral"`` when the expression is weak.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from eadnet.expression.action_units import ACTION_UNITS, ActionUnitBasis, normalize_action_units
from eadnet.expression.emotions import EMOTION_ACTION_UNITS
from eadnet.expression.mesh import (
    BROW_INNER,
    BROW_OUTER,
    CHIN,
    EYES,
    MOUTH_CORNERS,
    NOSTRILS,
    NUM_MESH,
    check_landmarks,
)

#: Names of :func:`mesh_features`, in order. ``_l`` / ``_r`` are the image's left / right (the subject's right /
#: left).
FEATURE_NAMES: tuple[str, ...] = (
    "brow_inner_l",
    "brow_inner_r",
    "brow_outer_l",
    "brow_outer_r",
    "brow_gap",
    "eye_open_l",
    "eye_open_r",
    "lower_lid_l",
    "lower_lid_r",
    "nostrils",
    "upper_lip",
    "corner_up_l",
    "corner_up_r",
    "corner_out_l",
    "corner_out_r",
    "lip_gap",
    "chin",
    "lip_thickness",
)

#: The action units measured: the bilateral units as one intensity each, the units of the one-sided emotions
#: (contempt) per side.
MEASURED_UNITS: tuple[str, ...] = (
    "AU1",
    "AU2",
    "AU4",
    "AU5",
    "AU6",
    "AU7",
    "AU9",
    "AU10",
    "AU12L",
    "AU12R",
    "AU14L",
    "AU14R",
    "AU15",
    "AU17",
    "AU20",
    "AU23",
    "AU24",
    "AU25",
    "AU26",
    "AU43",
)

#: Features of a neutral face with closed lips, in face units (:data:`FEATURE_NAMES` order): the reference for a
#: single image with no neutral frame of its own. Measured, not invented: the median over nine photos of eight people
#: (the public test images of the face_recognition and insightface packages and the example portrait) for the
#: features expression moves little (brows, lids, nose, chin, lip thickness), and the two closed-mouth, non-smiling
#: faces among them for the lip corners; the lip gap of a closed mouth is 0.
CANONICAL_NEUTRAL: Mapping[str, float] = {
    "brow_inner_l": 0.18,
    "brow_inner_r": 0.18,
    "brow_outer_l": 0.18,
    "brow_outer_r": 0.18,
    "brow_gap": 0.41,
    "eye_open_l": 0.11,
    "eye_open_r": 0.11,
    "lower_lid_l": -0.035,
    "lower_lid_r": -0.035,
    "nostrils": -0.66,
    "upper_lip": -0.95,
    "corner_up_l": -0.02,
    "corner_up_r": -0.02,
    "corner_out_l": 0.44,
    "corner_out_r": 0.44,
    "lip_gap": 0.0,
    "chin": -1.87,
    "lip_thickness": 0.22,
}

# Feature scales: a unit of each feature counts this much in the fit (small features like the lid gap would
# otherwise weigh nothing next to the chin).
_FEATURE_WEIGHTS = np.array(
    [2.0, 2.0, 2.0, 2.0, 2.0, 3.0, 3.0, 3.0, 3.0, 2.0, 2.0, 2.5, 2.5, 1.5, 1.5, 2.0, 1.0, 2.0], dtype=np.float64
)


# The same against :data:`CANONICAL_NEUTRAL`: brow heights, the nose, the upper lip, the chin and the lip thickness vary
# from person to person as much as expression moves them, the lip corners, the lip gap and the eye opening far less.
_CANONICAL_WEIGHTS = np.array(
    [0.7, 0.7, 0.7, 0.7, 0.7, 2.0, 2.0, 1.5, 1.5, 0.5, 0.5, 3.0, 3.0, 1.5, 1.5, 2.5, 0.3, 0.7], dtype=np.float64
)


def _eye_frame(points: np.ndarray):
    left = points[list(EYES[0]["corners"])].mean(axis=0)
    right = points[list(EYES[1]["corners"])].mean(axis=0)
    axis = right - left
    iod = float(np.linalg.norm(axis))
    ex = axis / max(iod, 1e-9)
    ey = np.array([-ex[1], ex[0]])
    origin = (left + right) / 2.0
    return origin, ex, ey, iod


def mesh_features(landmarks) -> np.ndarray:
    """Geometric features of a face mesh in face units (:data:`FEATURE_NAMES` order), in an eye-based frame: ``u``
    along the eyes, ``v`` down the face, origin between the eyes, unit the inter-ocular distance. Heights above the
    eyes are positive (``-v``)."""
    points = check_landmarks(landmarks)
    origin, ex, ey, iod = _eye_frame(points)
    rel = points[:NUM_MESH] - origin
    u, v = rel @ ex / iod, rel @ ey / iod
    features = []
    for index in BROW_INNER:
        features.append(-v[index])
    for index in BROW_OUTER:
        features.append(-v[index])
    features.append(u[BROW_INNER[1]] - u[BROW_INNER[0]])
    lids = []
    for eye in EYES:
        upper, lower = eye["upper"][3], eye["lower"][3]  # the middle of each lid
        lids.append((v[lower] - v[upper], -v[lower]))
    features += [lids[0][0], lids[1][0], lids[0][1], lids[1][1]]
    features.append(-np.mean(v[list(NOSTRILS)]))
    features.append(-v[0])
    mid = (v[13] + v[14]) / 2.0
    for index in MOUTH_CORNERS:
        features.append(mid - v[index])
    centre_u = (u[0] + u[17]) / 2.0
    for index, side in zip(MOUTH_CORNERS, (-1.0, 1.0), strict=True):
        features.append(side * (u[index] - centre_u))
    features.append(max(v[14] - v[13], 0.0))
    features.append(-v[CHIN])
    features.append((v[17] - v[14]) + (v[13] - v[0]))
    return np.asarray(features, dtype=np.float64)


def canonical_neutral_features() -> np.ndarray:
    return np.array([CANONICAL_NEUTRAL[name] for name in FEATURE_NAMES], dtype=np.float64)


@dataclass(frozen=True)
class ExpressionMeasurement:
    """Action units read off a face.

    Args:
        action_units (`dict[str, float]`): Intensities in ``[0, 1]`` (units measured below 0.05 left out).
        emotion (`str`): The MEAD label the pattern is most like (``"neutral"`` when weak).
        similarity (`float`): Cosine similarity of the pattern to that label's prototype (0 for neutral).
    """

    action_units: dict[str, float]
    emotion: str
    similarity: float


def _unit_responses(basis: ActionUnitBasis, landmarks: np.ndarray, units) -> np.ndarray:
    """How each unit at full intensity changes the features of this face: ``(num_features, len(units))``."""
    base = mesh_features(landmarks)
    columns = []
    for code in units:
        moved = landmarks.copy()
        moved[:NUM_MESH] += basis.field(code)
        columns.append(mesh_features(moved) - base)
    return np.stack(columns, axis=1)


def measure_action_units(
    landmarks,
    neutral=None,
    basis: ActionUnitBasis | None = None,
    units: Iterable[str] = MEASURED_UNITS,
) -> dict[str, float]:
    """AU intensities of a face against a neutral face.

    Args:
        landmarks (`np.ndarray`): ``(478, 2)`` mesh of the face to measure.
        neutral (`np.ndarray`, *optional*): The neutral reference: a ``(478, 2)`` mesh of the same person at rest
            (e.g. a video's first frames, averaged), or a feature vector (:func:`mesh_features`); default
            :data:`CANONICAL_NEUTRAL`.
        basis ([`ActionUnitBasis`], *optional*): The face's basis (built from ``landmarks`` when omitted).
        units (`Iterable[str]`, *optional*): Which units to fit (default :data:`MEASURED_UNITS`).

    Returns:
        `dict[str, float]`: intensities in ``[0, 1]``; units measured below 0.05 are left out.
    """
    landmarks = check_landmarks(landmarks)
    units = tuple(units)
    if neutral is None:
        reference = canonical_neutral_features()
    else:
        neutral = np.asarray(neutral, dtype=np.float64)
        reference = neutral if neutral.ndim == 1 else mesh_features(neutral)
    if reference.shape != (len(FEATURE_NAMES),):
        raise ValueError(f"neutral must be a (478, 2) mesh or {len(FEATURE_NAMES)} features, got {neutral.shape}")
    basis = basis if basis is not None else ActionUnitBasis(landmarks)
    # against another face's rest (the canonical neutral) the features that differ most between people weigh less
    weights = _FEATURE_WEIGHTS if neutral is not None else _CANONICAL_WEIGHTS
    responses = _unit_responses(basis, landmarks, units) * weights[:, None]
    target = (mesh_features(landmarks) - reference) * weights
    # a small ridge row per unit keeps units that no feature tells apart (AU1 vs AU2 on a flat brow) from trading
    ridge = 0.05 * np.eye(len(units))
    solution, _ = nnls(np.concatenate([responses, ridge]), np.concatenate([target, np.zeros(len(units))]))
    return {
        code: round(float(min(value, 1.0)), 4) for code, value in zip(units, solution, strict=True) if value >= 0.05
    }


def classify_action_units(action_units: Mapping[str, float], min_strength: float = 0.25) -> tuple[str, float]:
    """The MEAD label whose prototype is most similar (cosine over AU intensities) to ``action_units``, with the
    similarity; ``("neutral", 0.0)`` when the pattern's largest intensity is below ``min_strength``.

    Bilateral units are compared side by side, so that a symmetric smile measured as ``AU12L`` + ``AU12R`` matches
    "happy" (``AU12``) and a one-sided one "contempt" (``AU12L``).
    """
    measured = _expand_sides(normalize_action_units(action_units))
    if not measured or max(measured.values()) < min_strength:
        return "neutral", 0.0
    best, best_score = "neutral", 0.0
    for label, prototype in EMOTION_ACTION_UNITS.items():
        if not prototype:
            continue
        expanded = _expand_sides(dict(prototype))
        codes = sorted(set(expanded) | set(measured))
        a = np.array([measured.get(code, 0.0) for code in codes])
        b = np.array([expanded.get(code, 0.0) for code in codes])
        score = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))
        if score > best_score:
            best, best_score = label, score
    return best, best_score


def _expand_sides(units: Mapping[str, float]) -> dict[str, float]:
    """Every bilateral unit as its two sides (``AU12`` 0.8 → ``AU12L`` 0.8 + ``AU12R`` 0.8), one-sided and midline
    units as they are: symmetric and one-sided patterns then compare on one footing."""
    out: dict[str, float] = {}
    for code, value in units.items():
        sides = [code + "L", code + "R"] if code in ACTION_UNITS and ACTION_UNITS[code].bilateral else [code]
        for name in sides:
            out[name] = out.get(name, 0.0) + value
    return out


def measure_expression(landmarks, neutral=None, basis: ActionUnitBasis | None = None) -> ExpressionMeasurement:
    """:func:`measure_action_units` and :func:`classify_action_units` in one call."""
    units = measure_action_units(landmarks, neutral=neutral, basis=basis)
    label, score = classify_action_units(units)
    return ExpressionMeasurement(action_units=units, emotion=label, similarity=score)


def measure_reference(meshes, basis: ActionUnitBasis | None = None, project: bool = True) -> dict[str, float]:
    """The expression of an emotion reference: one mesh (a photo) against :data:`CANONICAL_NEUTRAL`; several (a
    clip) per unit the larger of the median over the frames against the canonical neutral and the 90th percentile
    against the clip's own first frames (which catches an expression that comes and goes on a face whose rest
    differs from the canonical one).

    Args:
        meshes (`Sequence[np.ndarray]`): ``(478, 2)`` meshes of the reference's frames, in order.
        basis ([`ActionUnitBasis`], *optional*): Basis of the first mesh (built when omitted).
        project (`bool`, *optional*, defaults to `True`): Keep only the units of the emotion the pattern shows
            (:func:`classify_action_units`), at their measured intensities: a face's build differs from the
            canonical neutral's in ways that read as stray units (a wide-eyed person "shows" AU5), and an emotion's
            own units are the ones worth copying. `False` returns every unit measured.
    """
    meshes = [check_landmarks(mesh) for mesh in meshes]
    if not meshes:
        raise ValueError("the emotion reference has no face to measure")
    basis = basis if basis is not None else ActionUnitBasis(meshes[0])
    canonical = [measure_action_units(mesh, basis=ActionUnitBasis(mesh)) for mesh in meshes]
    result = {code: float(np.median([units.get(code, 0.0) for units in canonical])) for code in MEASURED_UNITS}
    if len(meshes) >= 8:
        rest = np.mean([mesh_features(mesh) for mesh in meshes[:3]], axis=0)
        relative = [measure_action_units(mesh, neutral=rest, basis=basis) for mesh in meshes[3:]]
        for code in MEASURED_UNITS:
            result[code] = max(result[code], float(np.percentile([units.get(code, 0.0) for units in relative], 90)))
    measured = {code: round(value, 4) for code, value in result.items() if value >= 0.05}
    if not project:
        return measured
    label, _ = classify_action_units(measured)
    if label == "neutral":
        return {}
    wanted = _expand_sides(dict(EMOTION_ACTION_UNITS[label]))
    return {code: value for code, value in measured.items() if code in wanted or f"{code}L" in wanted}
