"""What the warp cannot move: the inside of the mouth and of the eyes, drawn where lips or lids open beyond the source.

The lips are moved by the mesh; where the output's inner lip contours are apart, the cavity, the upper and lower
teeth and the tongue are drawn with shading and soft edges, in colours taken from the face (its skin light, its lip
colour, its own teeth when the source shows them). Inside the eyes the eyeball does not stretch with the lids:
the output eye opening reads the source eye at its own scale (moved by the gaze), and what the source never showed
(the white above the iris when the lids open wide) is drawn in the colour of the source's own eye whites.

Images of any layout go through a :class:`Canvas`, which gives painters a float RGB view (0–255) of a region and
writes it back in the image's own format (gray, RGB, RGBA, uint8, uint16 or float in ``[0, 1]``).
"""

from __future__ import annotations

import logging
from typing import Any

import cv2
import numpy as np

from eadnet.expression.mesh import EYES, LOWER_INNER, UPPER_INNER

logger = logging.getLogger(__name__)


class Canvas:
    """A float RGB (0–255) window onto an image of any supported layout; alpha is left alone.

    Args:
        image (`np.ndarray`): ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)``; uint8, uint16 or float.
    """

    def __init__(self, image: np.ndarray):
        self.image = image
        self.gray = image.ndim == 2 or image.shape[2] == 1
        if image.dtype == np.uint8:
            self.scale = 1.0
        elif image.dtype == np.uint16:
            self.scale = 65535.0 / 255.0
        else:
            self.scale = 1.0 / 255.0
        self.height, self.width = image.shape[:2]

    def read(self, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        patch = self.image[y0:y1, x0:x1].astype(np.float32) / self.scale
        if self.gray:
            patch = patch.reshape(patch.shape[0], patch.shape[1], 1)
            return np.repeat(patch, 3, axis=2)
        return patch[..., :3]

    def write(self, y0: int, y1: int, x0: int, x1: int, patch: np.ndarray) -> None:
        patch = patch.astype(np.float32)
        if self.gray:
            patch = (patch @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
            if self.image.ndim == 2:
                patch = patch[..., 0]
        values = patch * self.scale
        if np.issubdtype(self.image.dtype, np.integer):
            top = np.iinfo(self.image.dtype).max
            values = np.clip(values + 0.5, 0, top)
        if self.gray or self.image.shape[2] == 3:
            self.image[y0:y1, x0:x1] = values.astype(self.image.dtype)
        else:
            self.image[y0:y1, x0:x1, :3] = values.astype(self.image.dtype)


def rgb_uint8(image: np.ndarray) -> np.ndarray:
    """A uint8 RGB copy of an image of any supported layout (for detection and colour sampling)."""
    if image.dtype == np.uint8:
        out = image
    elif image.dtype == np.uint16:
        out = (image >> 8).astype(np.uint8)
    else:
        out = np.clip(np.asarray(image, dtype=np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if out.ndim == 2:
        out = out[..., None]
    if out.shape[2] == 1:
        out = np.repeat(out, 3, axis=2)
    return np.ascontiguousarray(out[..., :3])


def _box(points: np.ndarray, width: int, height: int, pad: int = 2):
    x0, y0 = np.floor(points.min(axis=0)).astype(int) - pad
    x1, y1 = np.ceil(points.max(axis=0)).astype(int) + pad + 1
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def mouth_axes(points: np.ndarray) -> dict[str, Any]:
    """Mouth axes from the inner corners and the inner lip curves ``(s, t)`` along them, sorted by ``s``."""
    origin = points[78]
    axis = points[308] - origin
    length = float(np.linalg.norm(axis))
    ex = axis / max(length, 1e-6)
    ey = np.array([-ex[1], ex[0]])
    curves = {}
    for name, indices in (("upper", UPPER_INNER), ("lower", LOWER_INNER)):
        rel = points[indices] - origin
        s, t = rel @ ex, rel @ ey
        order = np.argsort(s)
        curves[name] = (s[order], t[order])
    return {"origin": origin, "ex": ex, "ey": ey, "length": length, **curves}


class MouthPainter:
    """Draws the inside of the mouth of one face.

    Args:
        source (`np.ndarray`): uint8 RGB source image (colours are sampled from it).
        landmarks (`np.ndarray`): ``(478, 2)`` mesh pixels of the source face.
        iod (`float`): The face's inter-ocular distance in pixels.
        reuse_teeth (`bool`, *optional*, defaults to `True`): Reuse the source's own upper teeth when it shows them.
    """

    def __init__(self, source: np.ndarray, landmarks: np.ndarray, iod: float, reuse_teeth: bool = True):
        self.source = source
        self.iod = float(iod)
        height, width = source.shape[:2]
        lm = landmarks
        samples = np.round(lm[[1, 4, 5, 50, 280, 101, 330, 205, 425]]).astype(int)
        samples[:, 0] = np.clip(samples[:, 0], 0, width - 1)
        samples[:, 1] = np.clip(samples[:, 1], 0, height - 1)
        skin = source[samples[:, 1], samples[:, 0]].astype(np.float64)
        skin_level = float(np.median(skin.mean(axis=1)))
        light = float(np.clip(skin_level / 170.0, 0.35, 1.3))
        lip_points = np.round(lm[[0, 17, 37, 267, 84, 314, 39, 269]]).astype(int)
        lip_points[:, 0] = np.clip(lip_points[:, 0], 0, width - 1)
        lip_points[:, 1] = np.clip(lip_points[:, 1], 0, height - 1)
        lip = np.median(source[lip_points[:, 1], lip_points[:, 0]].astype(np.float64), axis=0)
        # the cavity and the tongue take the hue of the face's own lips (a red-brown for any skin), darkened and
        # lifted to the light of the face; teeth are a warm white under the same light
        lip_hue = lip / max(float(lip.max()), 1.0)
        self.cavity = np.array([50.0, 16.0, 20.0]) * light * 0.6 + 40.0 * lip_hue * light * 0.4
        self.tongue = np.array([150.0, 66.0, 68.0]) * light * 0.6 + 150.0 * lip_hue * light * 0.4
        # teeth in a photo are an off-white, never paper white, and warm. Their brightest part is about as bright as
        # the face's highlights (the 98th percentile of the face's brightness; on the two benchmark portraits that
        # show their own teeth, the teeth's upper quartile is 0.96 and 1.02 of it). The lip's shade and the arch's
        # sides leave the brightest drawn teeth ~0.83 of the base colour, hence 1.2 × the highlight; never below ~1.3 ×
        # the skin around the mouth. (Skin level alone made teeth grey under dim or warm light: 130 of 255 on a ruddy
        # face, read as a grimace by an expression CNN.)
        level = float(np.clip(max(1.3 * skin_level, 1.2 * face_highlight(source, lm)), 0.45 * 236.0, 245.0))
        skin_hue = np.median(skin, axis=0) / max(float(np.median(skin, axis=0).max()), 1.0)
        self.teeth = level * (0.85 * np.array([1.0, 0.94, 0.8]) + 0.15 * skin_hue)
        self.teeth_mouth = None
        gap = float(max(0.0, (lm[14] - lm[13]) @ _down(lm)))
        if reuse_teeth and gap >= 0.06 * self.iod:
            polygon = np.round(lm[UPPER_INNER + LOWER_INNER[::-1]]).astype(np.int32)
            mask = np.zeros(source.shape[:2], np.uint8)
            cv2.fillPoly(mask, [polygon], 1)
            inside = source[mask.astype(bool)].astype(np.float64)
            if len(inside) >= 8 and np.percentile(inside.mean(axis=1), 75) > 1.1 * skin_level:
                self.teeth_mouth = mouth_axes(lm)
                logger.debug("the source shows its teeth; reusing them inside the mouth")

    def _procedural_teeth(self, across, depth, height):
        """Upper teeth colours and visible height: teeth of equal width along the dental arch (narrower towards the
        corners), faint gaps between them, rounded tips, darker to the sides."""
        angle = np.arcsin(np.clip(across, -1.0, 1.0))
        phase = angle / 0.3  # one tooth per 0.3 rad of arch; the central gap at 0
        near_gap = np.abs(2.0 * (phase - np.floor(phase)) - 1.0)
        tooth_px = 0.3 * 0.5 * self.iod * np.maximum(np.cos(angle), 0.05)
        gap_shadow = 1.0 - 0.14 * np.exp(-(((1.0 - near_gap) * tooth_px / 0.6) ** 2))
        tip = height * (0.9 + 0.1 * np.sqrt(np.clip(1.0 - near_gap**2, 0.0, 1.0)))
        below_lip = np.clip(depth / np.maximum(tip, 1e-3), 0.0, 1.0)
        # the upper lip shades the top of the teeth; the sides of the arch turn away from the light
        shade = (0.6 + 0.4 * np.cos(angle)) * (0.72 + 0.28 * below_lip) * gap_shadow
        return self.teeth * shade[..., None], tip

    def _inside(self, s, depth, gap, across, front, length):
        """Colours of the inside of the mouth: upper teeth, cavity, tongue, a hint of lower teeth."""
        source = self.teeth_mouth
        if source is not None:
            s_src = s * source["length"] / length
            top_src = np.interp(s_src, *source["upper"])
            gap_src = np.interp(s_src, *source["lower"]) - top_src
            height = np.clip(gap_src - 1.0, 0.0, 0.13 * self.iod)
            where = source["origin"] + s_src[..., None] * source["ex"] + (top_src + depth)[..., None] * source["ey"]
            teeth = cv2.remap(
                self.source,
                where[..., 0].astype(np.float32),
                where[..., 1].astype(np.float32),
                interpolation=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            ).astype(np.float64)
            teeth *= (0.85 + 0.15 * np.clip(depth / np.maximum(height, 1e-3), 0, 1))[..., None]
        else:
            teeth, height = self._procedural_teeth(across, depth, 0.1 * self.iod * np.sqrt(front))
        teeth_alpha = (np.clip(height - depth + 0.5, 0.0, 1.0) * np.clip(depth + 1.0, 0.0, 1.0))[..., None]
        safe_gap = np.maximum(gap, 1e-3)
        to_bottom = np.clip((gap - depth) / safe_gap, 0, 1)[..., None]
        cavity = self.cavity * (0.55 + 0.45 * front[..., None]) * (0.8 + 0.2 * to_bottom)
        tongue = (
            np.clip(1.0 - (gap - depth) / (0.4 * safe_gap), 0, 1)
            * np.clip(gap / (0.2 * self.iod), 0, 1)
            * (0.3 + 0.7 * front)
        )[..., None]
        cavity = cavity * (1.0 - 0.7 * tongue) + self.tongue * 0.7 * tongue
        lower_height = 0.04 * self.iod * front
        lower = (
            np.clip(lower_height - (gap - depth) + 0.5, 0, 1)
            * 0.5
            * np.clip((gap - height - 2.0) / (0.05 * self.iod), 0, 1)
        )[..., None]
        cavity = cavity * (1.0 - lower) + self.teeth * 0.75 * (0.5 + 0.5 * front[..., None]) * lower
        colour = teeth * teeth_alpha + cavity * (1.0 - teeth_alpha)
        return cv2.GaussianBlur(colour.astype(np.float32), (3, 3), 0.5)

    def paint(self, canvas: Canvas, points: np.ndarray) -> None:
        """Paints the inside of the mouth where the output lips (``points``, the output mesh) are apart, and the
        soft line where they meet."""
        mouth = mouth_axes(points)
        length = mouth["length"]
        if length < 2.0:
            return
        box = _box(points[UPPER_INNER + LOWER_INNER[::-1]], canvas.width, canvas.height)
        if box is None:
            return
        x0, y0, x1, y1 = box
        gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
        rel_x, rel_y = gx - mouth["origin"][0], gy - mouth["origin"][1]
        s = rel_x * mouth["ex"][0] + rel_y * mouth["ex"][1]
        t = rel_x * mouth["ey"][0] + rel_y * mouth["ey"][1]
        top = np.interp(s, *mouth["upper"])
        gap = np.interp(s, *mouth["lower"]) - top
        depth = t - top
        along = np.clip(s + 0.5, 0, 1) * np.clip(length - s + 0.5, 0, 1)
        across = np.clip(2.0 * s / length - 1.0, -1.0, 1.0)
        front = np.sqrt(np.clip(1.0 - across**2, 0.0, 1.0))
        patch = canvas.read(y0, y1, x0, x1)
        closed = np.clip(1.0 - gap / 1.5, 0.0, 1.0)
        line = (
            0.4 * closed * along * np.exp(-0.5 * ((depth - np.maximum(gap, 0.0) / 2) / 0.6) ** 2) * (0.4 + 0.6 * front)
        )
        line = line[..., None].astype(np.float32)
        patch = patch * (1.0 - line) + (self.cavity * 1.6).astype(np.float32) * line
        alpha = np.clip(depth + 0.5, 0, 1) * np.clip(gap - depth + 0.5, 0, 1) * along * np.clip(gap - 0.5, 0, 1)
        if np.any(alpha > 0):
            colour = self._inside(s, depth, gap, across, front, length)
            alpha = alpha[..., None].astype(np.float32)
            patch = patch * (1.0 - alpha) + colour * alpha
        canvas.write(y0, y1, x0, x1, patch)


def face_highlight(image: np.ndarray, landmarks: np.ndarray, percentile: float = 98.0) -> float:
    """The brightness (channel mean, 0–255) of the face's highlights: a high percentile inside the mesh's hull."""
    height, width = image.shape[:2]
    hull = cv2.convexHull(np.round(landmarks[:, :2]).astype(np.int32))
    x, y, w, h = cv2.boundingRect(hull)
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    if x1 <= x0 or y1 <= y0:
        return 0.0
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [hull - np.array([x0, y0], np.int32)], 1)
    pixels = image[y0:y1, x0:x1][mask > 0]
    if len(pixels) == 0:
        return 0.0
    return float(np.percentile(pixels.reshape(len(pixels), -1).astype(np.float64).mean(axis=1), percentile))


def _down(landmarks: np.ndarray) -> np.ndarray:
    axis = landmarks[[263, 362]].mean(axis=0) - landmarks[[33, 133]].mean(axis=0)
    axis = axis / max(float(np.linalg.norm(axis)), 1e-6)
    return np.array([-axis[1], axis[0]])


def _eye_polygon(points: np.ndarray, eye: dict) -> np.ndarray:
    return points[[eye["corners"][0], *eye["upper"], eye["corners"][1], *eye["lower"][::-1]]]


class EyePainter:
    """Draws the inside of the eyes: the source eyeball at its own scale (shifted by the gaze) inside the output lid
    opening, and the eye white where the source never showed any.

    Args:
        source (`np.ndarray`): uint8 RGB source image.
        landmarks (`np.ndarray`): ``(478, 2)`` mesh pixels of the source face.
        iod (`float`): The face's inter-ocular distance in pixels.
    """

    def __init__(self, source: np.ndarray, landmarks: np.ndarray, iod: float):
        self.source = source
        self.landmarks = landmarks
        self.iod = float(iod)
        height, width = source.shape[:2]
        self.eyes = []
        for eye in EYES:
            polygon = _eye_polygon(landmarks, eye)
            box = _box(polygon, width, height, pad=3)
            if box is None:
                self.eyes.append(None)
                continue
            x0, y0, x1, y1 = box
            mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
            cv2.fillPoly(mask, [np.round((polygon - (x0, y0)) * 4).astype(np.int32)], 255, shift=2)
            pixels = source[y0:y1, x0:x1][mask > 0].astype(np.float64)
            if len(pixels) < 4:
                self.eyes.append(None)
                continue
            brightness = pixels.mean(axis=1)
            white = np.median(pixels[brightness >= np.percentile(brightness, 75)], axis=0)
            centre = landmarks[eye["iris"][0]] if len(landmarks) > eye["iris"][0] else polygon.mean(axis=0)
            inside = cv2.erode(mask, np.ones((3, 3), np.uint8)).astype(np.float32) / 255.0
            self.eyes.append({"box": box, "mask": inside, "white": white, "centre": centre})

    def paint(self, canvas: Canvas, points: np.ndarray, gaze: tuple[float, float] = (0.0, 0.0)) -> None:
        """Redraws both eye openings of the output mesh ``points``; ``gaze`` moves the iris (face units)."""
        for eye, info in zip(EYES, self.eyes, strict=True):
            if info is None:
                continue
            polygon = _eye_polygon(points, eye)
            box = _box(polygon, canvas.width, canvas.height, pad=1)
            if box is None:
                continue
            x0, y0, x1, y1 = box
            area = cv2.contourArea(polygon.astype(np.float32))
            if area < 2.0:
                continue
            mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
            cv2.fillPoly(mask, [np.round((polygon - (x0, y0)) * 4).astype(np.int32)], 255, shift=2)
            alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (3, 3), 0.6)
            # the eyeball moves with the eye's corners (the head), not with the lids
            src_corners = self.landmarks[eye["corners"]].mean(axis=0)
            out_corners = points[eye["corners"]].mean(axis=0)
            shift = out_corners - src_corners + np.asarray(gaze, dtype=np.float64) * self.iod
            gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
            map_x, map_y = gx - np.float32(shift[0]), gy - np.float32(shift[1])
            eyeball = cv2.remap(self.source, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            bx0, by0, bx1, by1 = info["box"]
            seen = cv2.remap(
                info["mask"],
                map_x - np.float32(bx0),
                map_y - np.float32(by0),
                cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=0,
            )[..., None]
            # what the source never showed: eye white, a little darker under the upper lid
            upper = points[eye["upper"]]
            order = np.argsort(upper[:, 0])
            top = np.interp(gx, upper[order, 0], upper[order, 1])
            shade = np.clip(0.78 + 0.22 * (gy - top) / max(0.08 * self.iod, 1.0), 0.78, 1.0)[..., None]
            white = info["white"].astype(np.float32) * shade
            inside = eyeball.astype(np.float32) * seen + white * (1.0 - seen)
            patch = canvas.read(y0, y1, x0, x1)
            patch = patch * (1.0 - alpha[..., None]) + inside * alpha[..., None]
            canvas.write(y0, y1, x0, x1, patch)
