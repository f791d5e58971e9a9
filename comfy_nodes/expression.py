"""Expression editor node: IMAGE (one photo or a batch of video frames) → IMAGE with another facial expression.

It needs no EAD-Net model and works in front of any other pack's nodes (a LoadImage → Expression Editor → any
lip-sync or image node chain). Widget order is public API: append new inputs at the end, never reorder or remove.
"""

from __future__ import annotations

import torch

from eadnet.emotion import EMOTION_LABELS
from eadnet.expression.editor import AU_GROUPS

from .runtime import progress_bar, throw_if_interrupted
from .types import image_to_uint8

NO_EMOTION = "none"
NO_FACE_CHOICES = ("error", "hold", "skip")

_SLIDER_TOOLTIPS = {
    "brow_raise": "Raise the eyebrows (AU1 + AU2).",
    "frown": "Lower and knit the brows (AU4).",
    "eye_open": "Widen the eyes (AU5); negative values squint (AU7).",
    "smile": "Smile: lip corners up, cheeks raised (AU12 + AU6).",
    "lip_corner_depress": "Pull the lip corners down (AU15).",
    "nose_wrinkle": "Wrinkle the nose (AU9).",
    "jaw": "Open the jaw (AU26).",
}


def _slider(name: str) -> tuple:
    low = -1.0 if name == "eye_open" else 0.0
    return ("FLOAT", {"default": 0.0, "min": low, "max": 1.0, "step": 0.05, "tooltip": _SLIDER_TOOLTIPS[name]})


def _degrees(what: str) -> tuple:
    return ("FLOAT", {"default": 0.0, "min": -30.0, "max": 30.0, "step": 0.5, "tooltip": f"Head {what}, degrees."})


class EADNetExpressionEditor:
    DESCRIPTION = (
        "Changes the facial expression of a photo or of every frame of a batch (video frames) by moving the "
        "person's own skin over the face mesh: an emotion (EMFACS action units) plus sliders for brows, eyes, "
        "smile, lip corners, nose, jaw, a small head turn, gaze and blink. Any size; the background is untouched. "
        "Needs no EAD-Net model: put it in front of any node that takes IMAGE."
    )
    CATEGORY = "EAD-Net/image"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("image",)
    FUNCTION = "edit"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "A photo, or a batch of frames (each is edited the same way)."}),
                "emotion": (
                    [NO_EMOTION, *EMOTION_LABELS],
                    {"default": NO_EMOTION, "tooltip": "MEAD emotion to apply ('none': only the sliders)."},
                ),
                "intensity": (
                    "INT",
                    {"default": 2, "min": 1, "max": 3, "step": 1, "tooltip": "1 = slight, 2 = clear, 3 = strong."},
                ),
                **{name: _slider(name) for name in AU_GROUPS},
                "pitch": _degrees("nod (positive: down)"),
                "yaw": _degrees("turn (positive: towards the image's right)"),
                "roll": _degrees("tilt (positive: counter-clockwise)"),
                "gaze_x": (
                    "FLOAT",
                    {"default": 0.0, "min": -0.2, "max": 0.2, "step": 0.01, "tooltip": "Look sideways."},
                ),
                "gaze_y": (
                    "FLOAT",
                    {"default": 0.0, "min": -0.2, "max": 0.2, "step": 0.01, "tooltip": "Look up/down."},
                ),
                "blink": (
                    "FLOAT",
                    {"default": 0.0, "min": 0.0, "max": 1.0, "step": 0.05, "tooltip": "Close the lids."},
                ),
                "keep_expression": (
                    "BOOLEAN",
                    {
                        "default": False,
                        "tooltip": "Add the emotion to the face's own expression instead of replacing it "
                        "(off: a smiling photo asked to look sad loses its smile).",
                    },
                ),
                "no_face": (
                    list(NO_FACE_CHOICES),
                    {
                        "default": "error",
                        "tooltip": "Frames without a face: stop with an error, keep them unedited (hold), or drop "
                        "them (skip).",
                    },
                ),
            }
        }

    def edit(
        self,
        image,
        emotion: str,
        intensity: int,
        brow_raise: float,
        frown: float,
        eye_open: float,
        smile: float,
        lip_corner_depress: float,
        nose_wrinkle: float,
        jaw: float,
        pitch: float,
        yaw: float,
        roll: float,
        gaze_x: float,
        gaze_y: float,
        blink: float,
        keep_expression: bool,
        no_face: str,
    ):
        # lazy: the editor imports OpenCV, SciPy and MediaPipe; ComfyUI start-up must not pay for them
        from eadnet.expression.editor import ExpressionEditor, group_action_units
        from eadnet.expression.rig import HeadPose

        if emotion != NO_EMOTION and emotion not in EMOTION_LABELS:
            raise ValueError(f"unknown emotion {emotion!r}: choose one of {NO_EMOTION}, {', '.join(EMOTION_LABELS)}")
        if no_face not in NO_FACE_CHOICES:
            raise ValueError(f"no_face must be one of {', '.join(NO_FACE_CHOICES)}, got {no_face!r}")
        sliders = {
            "brow_raise": brow_raise,
            "frown": frown,
            "eye_open": eye_open,
            "smile": smile,
            "lip_corner_depress": lip_corner_depress,
            "nose_wrinkle": nose_wrinkle,
            "jaw": jaw,
        }
        frames = image_to_uint8(image)
        editor = ExpressionEditor()
        edited = editor.edit_frames(
            frames,
            action_units=group_action_units(**sliders),
            emotion=None if emotion == NO_EMOTION else emotion,
            intensity=int(intensity),
            pose=HeadPose(pitch=float(pitch), yaw=float(yaw), roll=float(roll)),
            gaze=(float(gaze_x), float(gaze_y)),
            blink=float(blink),
            no_face=no_face,
            keep_expression=bool(keep_expression),
        )
        bar = progress_bar(len(frames))
        out = []
        for frame in edited:
            throw_if_interrupted()
            out.append(torch.from_numpy(frame).float().div_(255.0))
            bar.update(1)
        if not out:
            raise ValueError("no frame of the batch shows a face (no_face='skip' dropped them all)")
        return (torch.stack(out),)
