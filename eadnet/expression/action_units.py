"""FACS action units as displacement fields on the 478-point face mesh: the one source of truth for expression
geometry.

Every action unit (Ekman & Friesen's Facial Action Coding System, 1978; 2002 manual) is a displacement of the mesh
points at full intensity, in face units (:mod:`eadnet.expression.mesh`), built once per face from its own mesh by
:class:`ActionUnitBasis`. An expression is a vector of intensities in ``[0, 1]`` (FACS A–E ≈ 0.2, 0.4, 0.6, 0.8, 1)
and its displacement is the intensity-weighted sum of the fields, so it is linear: the same fields that move a face
measure an expression on another one (:mod:`eadnet.expression.measure`).

Bilateral units also exist one-sided: ``AU12L`` / ``AU12R`` are the subject's left / right half of AU12 (the
subject's left is the image's right), as FACS scores unilateral actions (contempt: unilateral AU12 + AU14).

The speech articulations of :mod:`eadnet.expression.mouth_params` (jaw opening, lip spread, rounding, pressing, the
lower lip against the teeth, the upper-lip raise) are fields of the same basis, so the mesh engine adds speech to an
expression by adding vectors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from eadnet.expression.mesh import (
    BROW_INNER,
    BROW_MIDDLE,
    BROW_OUTER,
    CHEEKS,
    EYES,
    LOWER_INNER,
    LOWER_OUTER,
    MOUTH_CORNERS,
    NOSTRILS,
    NUM_MESH,
    UPPER_INNER,
    UPPER_OUTER,
    FaceFrame,
    check_landmarks,
    smoothstep,
)
from eadnet.expression.mouth_params import MOUTH_PARAMS


@dataclass(frozen=True)
class ActionUnit:
    """One FACS action unit.

    Args:
        code (`str`): ``"AU12"``.
        name (`str`): The FACS name (``"lip corner puller"``).
        description (`str`): What it looks like, in words (used by the captioner and to match free text).
        bilateral (`bool`): Whether FACS scores it per side (then ``AU12L`` / ``AU12R`` exist).
    """

    code: str
    name: str
    description: str
    bilateral: bool = True


#: The action units the engine animates, by code (FACS 2002 numbering).
ACTION_UNITS: Mapping[str, ActionUnit] = {
    unit.code: unit
    for unit in (
        ActionUnit("AU1", "inner brow raiser", "the inner ends of the eyebrows are raised"),
        ActionUnit("AU2", "outer brow raiser", "the outer ends of the eyebrows are raised"),
        ActionUnit("AU4", "brow lowerer", "the eyebrows are lowered and drawn together into a frown"),
        ActionUnit("AU5", "upper lid raiser", "the upper eyelids are raised, the eyes are wide open"),
        ActionUnit("AU6", "cheek raiser", "the cheeks are raised, narrowing the eyes from below"),
        ActionUnit("AU7", "lid tightener", "the eyelids are tightened, narrowing the eyes"),
        ActionUnit("AU9", "nose wrinkler", "the nose is wrinkled and the nostrils are pulled up"),
        ActionUnit("AU10", "upper lip raiser", "the upper lip is raised"),
        ActionUnit("AU12", "lip corner puller", "the lip corners are pulled up and back into a smile"),
        ActionUnit("AU14", "dimpler", "the lip corners are tightened inward, making dimples"),
        ActionUnit("AU15", "lip corner depressor", "the lip corners are pulled down"),
        ActionUnit("AU17", "chin raiser", "the chin is raised, pushing the lower lip up", bilateral=False),
        ActionUnit("AU20", "lip stretcher", "the lips are stretched sideways, towards the ears"),
        ActionUnit("AU23", "lip tightener", "the lips are tightened and narrowed", bilateral=False),
        ActionUnit("AU24", "lip pressor", "the lips are pressed together", bilateral=False),
        ActionUnit("AU25", "lips part", "the lips are parted", bilateral=False),
        ActionUnit("AU26", "jaw drop", "the jaw drops and the mouth opens", bilateral=False),
        ActionUnit("AU43", "eyes closed", "the eyes are closed"),
        ActionUnit("AU45", "blink", "the eyelids close briefly in a blink"),
    )
}

_CODE = re.compile(r"^(?:AU)?(\d{1,2})([LR]?)$", re.IGNORECASE)


def normalize_au(name: str) -> str:
    """The canonical code of an action unit: ``"12"``, ``"au12"``, ``"AU12"`` → ``"AU12"``; ``"12l"`` →
    ``"AU12L"``. Raises `ValueError` for units the engine does not animate, listing those it does."""
    match = _CODE.match(str(name).strip()) if isinstance(name, str | int) else None
    code = f"AU{int(match.group(1))}" if match else None
    if code is None or code not in ACTION_UNITS:
        raise ValueError(f"unknown action unit {name!r}; known: {', '.join(ACTION_UNITS)} (with L/R for one side)")
    side = match.group(2).upper()
    if side and not ACTION_UNITS[code].bilateral:
        raise ValueError(f"{code} ({ACTION_UNITS[code].name}) has no one-sided variant")
    return code + side


def normalize_action_units(action_units: Mapping[str, float] | None) -> dict[str, float]:
    """Canonical codes with finite intensities in ``[0, 1]`` (zeros dropped); raises `ValueError` otherwise."""
    result: dict[str, float] = {}
    for name, value in (action_units or {}).items():
        code = normalize_au(name)
        if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
            raise ValueError(f"{code}: intensity must be a number in [0, 1], got {value!r}")
        value = float(value)
        if not (np.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError(f"{code}: intensity must be in [0, 1], got {value!r}")
        if value > 0:
            result[code] = result.get(code, 0.0) + value
    return {code: min(value, 1.0) for code, value in result.items()}


def sided_action_units(action_units: Mapping[str, float] | None) -> dict[str, float]:
    """The same expression with every bilateral unit written as its two sides (``AU12`` 0.8 → ``AU12L`` 0.8 +
    ``AU12R`` 0.8; the fields add up, so it moves the face the same); one-sided and midline units as they are."""
    sided: dict[str, float] = {}
    for code, value in normalize_action_units(action_units).items():
        names = [code + "L", code + "R"] if code in ACTION_UNITS and ACTION_UNITS[code].bilateral else [code]
        for name in names:
            sided[name] = min(1.0, sided.get(name, 0.0) + value)
    return sided


def replace_expression(target: Mapping[str, float] | None, own: Mapping[str, float] | None) -> dict[str, float]:
    """The change (signed intensities, bilateral units per side) that takes a face showing ``own`` to the expression
    ``target``: a unit the target does not use is taken away (a smile on a face asked to look sad), a unit it uses
    is raised to the target's intensity and never lowered (a broad smile asked to look happy keeps its smile)."""
    wanted, shown = sided_action_units(target), sided_action_units(own)
    change = {code: max(value - shown.get(code, 0.0), 0.0) for code, value in wanted.items()}
    change.update({code: -value for code, value in shown.items() if code not in wanted})
    return {code: value for code, value in change.items() if value != 0.0}


#: Every field an :class:`ActionUnitBasis` holds, in a fixed order: bilateral units, one-sided variants, speech.
def basis_names() -> tuple[str, ...]:
    names = list(ACTION_UNITS)
    names += [code + side for code, unit in ACTION_UNITS.items() if unit.bilateral for side in "LR"]
    return (*names, *MOUTH_PARAMS)


class ActionUnitBasis:
    r"""The displacement fields of every action unit (and speech articulation) for one face.

    Args:
        landmarks (`np.ndarray`): ``(478, 2)`` face-mesh pixels of the face at rest (the fields depend on its
            shape: where its lips, lids and brows are, how far its eyes are open).

    The fields (``(468, 2)`` pixels each, :meth:`field`) are built in face units and sized by the face's
    inter-ocular distance; :meth:`displacement` adds them up for an expression. ``close_mouth`` is the field that
    brings this face's own parted lips together (a portrait or source frame that shows its teeth is first brought to
    a closed mouth, then speech opens it).
    """

    #: Largest lip gap (``jaw_open`` = 1) in face units.
    max_gap = 0.3
    #: How far (pixels) closed lips may press into each other before :meth:`resolve_contact` pushes them apart: the
    #: closing field overlaps them by about a pixel on purpose, so that no teeth show along the seam.
    lip_press_px = 1.5

    def __init__(self, landmarks):
        self.landmarks = check_landmarks(landmarks)
        self.frame = FaceFrame.from_landmarks(self.landmarks)
        face = self.frame.to_face(self.landmarks[:NUM_MESH])
        self.u, self.v = face[:, 0], face[:, 1]
        self._setup_weights()
        self._fields = self._build_fields()

    # ------------------------------------------------------------------------------------------ weights
    def _lip_line(self, indices: list[int]) -> tuple[np.ndarray, np.ndarray]:
        u, v = self.u[indices], self.v[indices]
        order = np.argsort(u)
        return u[order], v[order]

    def gauss(self, index: int, sigma: float) -> np.ndarray:
        """Gaussian falloff (face units) around one mesh point, over all mesh points."""
        d2 = (self.u - self.u[index]) ** 2 + (self.v - self.v[index]) ** 2
        return np.exp(-d2 / (2.0 * sigma**2))

    def _setup_weights(self) -> None:
        lm, frame = self.landmarks, self.frame
        u, v = self.u, self.v
        self.mouth_half = half = float(np.linalg.norm(lm[291] - lm[61]) / 2.0 / frame.iod)
        uc = np.clip(u / half, -1.0, 1.0)
        self._uc = uc
        lines = {
            name: self._lip_line(idx)
            for name, idx in (("uo", UPPER_OUTER), ("ui", UPPER_INNER), ("li", LOWER_INNER), ("lo", LOWER_OUTER))
        }
        at = {name: np.interp(u, lu, lv) for name, (lu, lv) in lines.items()}
        mid = (at["ui"] + at["li"]) / 2.0
        beyond = np.maximum(np.abs(u) / half - 1.0, 0.0)
        lateral = np.exp(-((beyond / 0.3) ** 2))
        above = v <= mid
        # the lip contours by name: with closed lips the two inner contours touch, and the geometric test alone
        # could put an upper-lip point on the lower lip
        above[UPPER_INNER[1:-1] + UPPER_OUTER[1:-1]] = True
        above[LOWER_INNER[1:-1] + LOWER_OUTER[1:-1]] = False
        self._above = above
        # the upper lip body moves fully, the skin above it less and less up to the nose
        self._w_upper = np.where(above, np.exp(-((np.maximum(at["uo"] - v, 0.0) / 0.14) ** 2)) * lateral, 0.0)
        below_lip = np.maximum(v - at["lo"], 0.0)
        self._w_lower = np.where(~above, np.exp(-((below_lip / 0.2) ** 2)) * lateral, 0.0)
        # lip body: 0 on the inner contour, 1 on the outer one (pressing thins the lips towards the mouth line)
        upper_body = np.clip((at["ui"] - v) / np.maximum(at["ui"] - at["uo"], 1e-3), 0.0, 1.0)
        lower_body = np.clip((v - at["li"]) / np.maximum(at["lo"] - at["li"], 1e-3), 0.0, 1.0)
        self._w_upper_body = np.where(above, upper_body, 0.0) * self._w_upper
        self._w_lower_body = np.where(~above, lower_body, 0.0) * self._w_lower
        # the jaw: points below the mouth, the boundary sloping down beyond the mouth corners; the chin drops most
        jaw_member = smoothstep(0.0, 0.35, v - mid - 0.3 * beyond * half)
        self._w_jaw = jaw_member * np.clip(1.0 - 0.7 * u**2, 0.15, 1.0)
        self._t_jaw = smoothstep(0.0, 0.3, v - at["lo"])  # lip motion → jaw motion below the lower lip
        self._profile = (1.0 - uc**2) ** 0.6  # lip gap along the mouth: 0 at the corners
        # the face's own lip gap (face units, along v) as a function of the position on the mouth
        gaps = ((lm[LOWER_INNER] - lm[UPPER_INNER]) @ frame.ey)[1:-1] / frame.iod
        gap_u = u[UPPER_INNER][1:-1] / half
        order = np.argsort(gap_u)
        self._source_gap = np.interp(
            uc,
            np.concatenate([[-1.0], gap_u[order], [1.0]]),
            np.concatenate([[0.0], np.maximum(gaps[order], 0.0), [0.0]]),
        )
        self.lip_gap = float(max(0.0, (lm[14] - lm[13]) @ frame.ey / frame.iod))
        self.eye_gaps = [np.maximum((lm[eye["lower"]] - lm[eye["upper"]]) @ frame.ey, 0.0) / frame.iod for eye in EYES]
        # the subject's left half is the image's right (u > 0); a soft seam at the midline
        self._left = smoothstep(-0.12, 0.12, u)
        # lip contact: the columns of the inner lip contours (corners excluded) and where each mesh point lies along
        # the mouth, to spread a correction found at the columns over the lips
        self._contact_upper = np.array(UPPER_INNER[1:-1])
        self._contact_lower = np.array(LOWER_INNER[1:-1])
        column_u = (u[self._contact_upper] + u[self._contact_lower]) / 2.0
        order = np.argsort(column_u)
        self._contact_order = order
        self._contact_u = np.concatenate([[-half], column_u[order], [half]])
        self._lid_upper = [np.array(eye["upper"]) for eye in EYES]
        self._lid_lower = [np.array(eye["lower"]) for eye in EYES]
        self._lid_follow = [(np.array(eye["crease"]), 0.45, np.array(eye["crease2"]), 0.12) for eye in EYES]

    # ------------------------------------------------------------------------------------------ fields
    def _points(self, *groups) -> np.ndarray:
        weights = np.zeros(NUM_MESH)
        for group in groups:
            weights[group] = 1.0
        return weights

    def _bilateral(self, indices: tuple[int, int], vector: tuple[float, float], sigma: float) -> np.ndarray:
        """A pair of mirrored Gaussian moves; ``vector[0]`` points away from the midline."""
        field = np.zeros((NUM_MESH, 2))
        for index, out in zip(indices, (-1.0, 1.0), strict=True):
            weight = self.gauss(index, sigma)[:, None]
            field += weight * np.array([out * vector[0], vector[1]])
        return field

    def _vertical(self, dv: np.ndarray) -> np.ndarray:
        return np.stack([np.zeros_like(dv), dv], axis=-1)

    def _lids(self, part: str, amount: float, crease: float = 0.0) -> np.ndarray:
        dv = np.zeros(NUM_MESH)
        for eye in EYES:
            dv += amount * (self._points(eye[part]) + crease * self._points(eye["crease"]))
        return self._vertical(dv)

    def _gap(self, amount: float) -> np.ndarray:
        """Lips parting by ``amount`` (face units at the middle of the mouth), the jaw not following."""
        gap = amount * self._profile
        lower = np.where(~self._above, (1.0 - self._t_jaw) * 0.7 * gap, 0.0)
        return self._vertical(lower - 0.3 * gap * self._w_upper)

    def _jaw(self) -> np.ndarray:
        """``jaw_open`` = 1: the jaw drops, the lips part, the corners come in a little and follow the jaw."""
        gap = self.max_gap * self._profile
        jaw = 0.75 * self.max_gap
        lower = np.where(~self._above, (1.0 - self._t_jaw) * 0.85 * gap + self._t_jaw * jaw * self._w_jaw, 0.0)
        # the jaw carries the lower lip; the upper lip moves little (and the nose not at all)
        field = self._vertical(lower - 0.15 * gap * self._w_upper)
        for index, side in ((MOUTH_CORNERS[0], 1.0), (MOUTH_CORNERS[1], -1.0)):
            weight = self.gauss(index, 0.22)
            field[:, 0] += side * 0.06 * weight
            field[:, 1] += 0.1 * jaw * weight
        return field

    def _close(self) -> np.ndarray:
        """Closes this face's own lip gap: the lips meet a little past the middle (they press together) so that the
        portrait's teeth never show at the seam."""
        pixel = 1.0 / self.frame.iod
        half_gap = self._source_gap / 2.0 + np.where(self._source_gap > 0.5 * pixel, 0.6 * pixel, 0.0)
        return self._vertical(half_gap * self._w_upper - half_gap * self._w_lower)

    def _build_fields(self) -> dict[str, np.ndarray]:
        corners = MOUTH_CORNERS
        upper_lip = self._w_upper * (0.6 + 0.4 * np.abs(self._uc))
        chin = self._w_lower * (1.0 - self._t_jaw * (1.0 - self._w_jaw))
        blink = np.zeros(NUM_MESH)
        for eye, gaps in zip(EYES, self.eye_gaps, strict=True):
            upper = 0.85 * gaps
            blink[eye["upper"]] += upper
            blink[eye["crease"]] += 0.45 * upper
            blink[eye["crease2"]] += 0.12 * upper
            blink[eye["lower"]] -= 0.15 * gaps
        fields = {
            "AU1": self._bilateral(BROW_INNER, (0.01, -0.13), 0.16) + self._bilateral(BROW_MIDDLE, (0.0, -0.07), 0.22),
            "AU2": self._bilateral(BROW_OUTER, (0.0, -0.13), 0.16) + self._bilateral(BROW_MIDDLE, (0.0, -0.10), 0.22),
            "AU4": self._bilateral(BROW_INNER, (-0.06, 0.15), 0.16)
            + self._bilateral(BROW_MIDDLE, (-0.03, 0.12), 0.18)
            + self._bilateral(BROW_OUTER, (0.0, 0.045), 0.16),
            "AU5": self._lids("upper", -0.045, crease=0.5),
            "AU6": self._bilateral(CHEEKS, (0.01, -0.045), 0.28) + self._lids("lower", -0.02),
            "AU7": self._lids("lower", -0.025) + self._lids("upper", 0.012),
            "AU9": self._bilateral(NOSTRILS, (0.005, -0.055), 0.1)
            + self._bilateral(BROW_INNER, (-0.01, 0.03), 0.16)
            + self._vertical(-0.03 * upper_lip),
            "AU10": self._vertical(-0.09 * upper_lip),
            "AU12": self._bilateral(corners, (0.08, -0.13), 0.2) + self._bilateral(CHEEKS, (0.0, -0.02), 0.25),
            "AU14": self._bilateral(corners, (0.03, -0.015), 0.15),
            "AU15": self._bilateral(corners, (-0.005, 0.10), 0.2),
            "AU17": self._vertical(-0.03 * chin),
            "AU20": self._bilateral(corners, (0.07, 0.025), 0.2),
            "AU23": self._bilateral(corners, (-0.025, 0.0), 0.2)
            + self._vertical(0.012 * self._w_upper_body - 0.012 * self._w_lower_body),
            "AU24": self._vertical(0.02 * self._w_upper_body - 0.02 * self._w_lower_body),
            "AU25": self._gap(0.06),
            "AU26": self._jaw() * 0.5,
            "AU43": self._vertical(blink),
            "AU45": self._vertical(blink),
        }
        for code, unit in ACTION_UNITS.items():
            if unit.bilateral:
                fields[code + "L"] = fields[code] * self._left[:, None]
                fields[code + "R"] = fields[code] * (1.0 - self._left)[:, None]
        fields.update(
            {
                "jaw_open": self._jaw(),
                "lip_spread": self._bilateral(corners, (0.06, -0.01), 0.2)
                + self._vertical(0.008 * self._w_upper_body - 0.008 * self._w_lower_body),
                "lip_round": self._bilateral(corners, (-0.08, 0.0), 0.22) + self._gap(0.03),
                "lip_press": self._vertical(0.03 * self._w_upper_body - 0.03 * self._w_lower_body),
                "lower_lip_tuck": self._vertical(-0.02 * self._w_lower_body * (1.0 - self._t_jaw))
                + self._vertical(-0.035 * upper_lip),
                "upper_lip_raise": self._vertical(-0.04 * upper_lip) + self._gap(0.015),
                "close_mouth": self._close(),
            }
        )
        return {name: self.frame.vectors_to_pixels(field) for name, field in fields.items()}

    # ------------------------------------------------------------------------------------------ contact
    def resolve_contact(self, displacement: np.ndarray) -> np.ndarray:
        """``displacement`` ``(468, 2)`` or ``(F, 468, 2)`` pixels with the lips and lids kept from passing through
        each other: where a column of the lower inner lip would end above the upper one (a chin raiser or a press on
        lips that are already closed), both lips give way by half the overlap, spread smoothly over the lips; where a
        lower lid would end above the upper lid, the upper lid (and the skin above it) stops at it. Summed fields are
        linear and know nothing of each other; this is what keeps the sum fold-free."""
        single = displacement.ndim == 2
        total = np.array(displacement[None] if single else displacement, dtype=np.float64)
        frame = self.frame
        rest_v = (self.landmarks[:NUM_MESH] - frame.origin) @ frame.ey  # pixels along the face's down axis
        upper, lower = self._contact_upper, self._contact_lower
        for _ in range(4):  # the spread weights are a little below 1 near the corners: a few rounds settle it
            dv = total @ frame.ey  # (F, 468)
            gap = (rest_v[lower] + dv[:, lower]) - (rest_v[upper] + dv[:, upper])  # (F, 9) pixels, < 0: overlap
            overlap = np.maximum(-gap - self.lip_press_px, 0.0)
            if not np.any(overlap > 1e-4):
                break
            columns = overlap[:, self._contact_order]
            padded = np.concatenate([np.zeros((len(total), 1)), columns, np.zeros((len(total), 1))], axis=1)
            along = np.stack([np.interp(self.u, self._contact_u, row) for row in padded])  # (F, 468)
            shift = 0.5 * along * (self._w_upper - self._w_lower)  # the upper lip up (-v), the lower lip down (+v)
            total -= shift[..., None] * frame.ey
        for lids_up, lids_down, (crease, k1, crease2, k2) in zip(
            self._lid_upper, self._lid_lower, self._lid_follow, strict=True
        ):
            dv = total @ frame.ey
            gap = (rest_v[lids_down] + dv[:, lids_down]) - (rest_v[lids_up] + dv[:, lids_up])
            overlap = np.maximum(-gap, 0.0)  # (F, 7)
            if np.any(overlap > 0):
                total[:, lids_up] -= overlap[..., None] * frame.ey
                total[:, crease] -= k1 * overlap[..., None] * frame.ey
                total[:, crease2] -= k2 * overlap[..., None] * frame.ey
        return total[0] if single else total

    # ------------------------------------------------------------------------------------------ public
    @property
    def names(self) -> tuple[str, ...]:
        """Names of the fields (action units, one-sided variants, mouth parameters, ``close_mouth``)."""
        return tuple(self._fields)

    def field(self, name: str) -> np.ndarray:
        """The displacement ``(468, 2)`` in pixels of one field at full intensity."""
        if name in self._fields:
            return self._fields[name]
        return self._fields[normalize_au(name)]

    def matrix(self, names) -> np.ndarray:
        """Fields stacked as columns: ``(468 * 2, K)`` pixels, for least squares."""
        return np.stack([self.field(name).reshape(-1) for name in names], axis=1)

    def displacement(
        self,
        action_units: Mapping[str, float] | None = None,
        mouth: np.ndarray | Mapping[str, float] | None = None,
        close_mouth: float = 0.0,
    ) -> np.ndarray:
        """Mesh displacement ``(468, 2)`` in pixels of an expression plus speech.

        Args:
            action_units (`Mapping[str, float]`, *optional*): Intensities in ``[0, 1]`` by AU code.
            mouth (`np.ndarray` or `Mapping[str, float]`, *optional*): The six mouth parameters
                (:data:`~eadnet.expression.MOUTH_PARAMS` order) or a mapping by name.
            close_mouth (`float`, *optional*, defaults to 0): How much of this face's own lip gap is closed first.
        """
        total = np.zeros((NUM_MESH, 2))
        for code, value in normalize_action_units(action_units).items():
            total += value * self._fields[code]
        if mouth is not None:
            values = mouth if isinstance(mouth, Mapping) else dict(zip(MOUTH_PARAMS, np.asarray(mouth), strict=True))
            for name, value in values.items():
                if name not in MOUTH_PARAMS:
                    raise ValueError(f"unknown mouth parameter {name!r}; expected {MOUTH_PARAMS}")
                total += float(np.clip(value, 0.0, 1.0)) * self._fields[name]
        if close_mouth:
            total += float(close_mouth) * self._fields["close_mouth"]
        return self.resolve_contact(total)

    def displacements(self, action_units: np.ndarray, names, mouth: np.ndarray | None = None, close_mouth=None):
        """Vectorised :meth:`displacement` over frames: ``action_units`` ``(F, K)`` intensities for ``names``,
        ``mouth`` ``(F, 6)``, ``close_mouth`` ``(F,)``; returns ``(F, 468, 2)`` pixels.

        An intensity may be negative (down to -1): it takes that much of the unit away, which is how an expression the
        face already shows is replaced by another one (:meth:`MotionTrack.build
        <eadnet.expression.animation.MotionTrack.build>` with ``remove``)."""
        action_units = np.asarray(action_units, dtype=np.float64)
        stack = np.stack([self.field(name) for name in names]) if len(names) else np.zeros((0, NUM_MESH, 2))
        total = np.einsum("fk,knd->fnd", np.clip(action_units, -1.0, 1.0), stack)
        if mouth is not None:
            mouth_stack = np.stack([self._fields[name] for name in MOUTH_PARAMS])
            total += np.einsum("fk,knd->fnd", np.clip(np.asarray(mouth, dtype=np.float64), 0.0, 1.0), mouth_stack)
        if close_mouth is not None:
            total += np.asarray(close_mouth, dtype=np.float64)[:, None, None] * self._fields["close_mouth"]
        return self.resolve_contact(total)
