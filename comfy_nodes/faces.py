"""Face nodes: portrait or source frames → aligned crops (``EADNET_FACE``); generated crops → full frames.

Widget order is public API: append new inputs at the end, never reorder or remove.
"""

from __future__ import annotations

import dataclasses

from eadnet.face import FaceChoice, NoFaceError
from eadnet.settings import NO_FACE_POLICIES

from .types import (
    EADNET_AUDIO,
    EADNET_FACE,
    EADNET_MODEL,
    EADNetAudio,
    EADNetFace,
    EADNetModel,
    image_to_uint8,
    uint8_to_image,
)


def plan_faces(pipe, frames, num_frames: int, fps: float, video_fps: float, no_face: str, face: str = "largest"):
    """``pipe.prepare_faces`` for a uint8 batch: one frame is a portrait, several are a source video."""
    portrait = frames[0] if len(frames) == 1 else None
    video = frames if len(frames) > 1 else None
    try:
        return pipe.prepare_faces(portrait, video, num_frames, fps, video_fps or None, no_face, face=face)
    except NoFaceError as error:
        hint = (
            "use a portrait where one face is clearly visible"
            if video is None
            else "set no_face to 'skip' or 'hold' to pass over frames without a face, or trim the video"
        )
        raise ValueError(f"{error} ({hint})") from error


class EADNetFaceCrop:
    DESCRIPTION = (
        "Finds and aligns the face: one image is a portrait that is animated; several images are the "
        "frames of a source video to dub (resampled to the output fps and played back and forth when "
        "shorter than the speech). Outputs the face plan and the aligned crops for preview."
    )
    CATEGORY = "EAD-Net/face"
    RETURN_TYPES = (EADNET_FACE, "IMAGE")
    RETURN_NAMES = ("face", "crops")
    FUNCTION = "crop"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "model": (EADNET_MODEL, {"tooltip": "From EAD-Net Model Loader."}),
                "image": (
                    "IMAGE",
                    {"tooltip": "One portrait, or the frames of a source video (e.g. Get Video Components → images)."},
                ),
                "audio": (EADNET_AUDIO, {"tooltip": "From EAD-Net Audio Encode: sets how many frames to make."}),
                "no_face": (
                    list(NO_FACE_POLICIES),
                    {
                        "default": "error",
                        "tooltip": "Video frames without a face: stop with an error, "
                        "skip them, or hold the last face.",
                    },
                ),
                "video_fps": (
                    "FLOAT",
                    {
                        "default": 25.0,
                        "min": 0.0,
                        "max": 240.0,
                        "step": 0.01,
                        "tooltip": "Frame rate of the source video frames (ignored for a portrait; "
                        "0 = same as the output).",
                    },
                ),
            },
            "optional": {
                "face": (
                    "STRING",
                    {
                        "default": "largest",
                        "tooltip": "Which face talks in a group shot: largest, center, N (0 = leftmost), X,Y (the "
                        "face under this pixel) or X0,Y0,X1,Y1 (a box); in a video it is chosen in the first frame "
                        "and followed. The other faces are left untouched.",
                    },
                ),
                "face_mask": (
                    "MASK",
                    {"tooltip": "Optional: paint over the face that should talk (overrides 'face')."},
                ),
            },
        }

    def crop(
        self,
        model: EADNetModel,
        image,
        audio: EADNetAudio,
        no_face: str,
        video_fps: float,
        face: str = "largest",
        face_mask=None,
    ):
        frames = image_to_uint8(image)
        choice = face_choice(face, face_mask, frames.shape[1:3])
        with model.active("EAD-Net Face Crop") as pipe:
            plan = plan_faces(pipe, frames, audio.num_frames, audio.fps, float(video_fps), no_face, str(choice))
        if getattr(audio, "silent", None) is not None:
            plan = dataclasses.replace(plan, silent=audio.silent)  # pauses of the speech: a resting mouth
        return (EADNetFace(plan=plan, fps=audio.fps), uint8_to_image(plan.crops))


def face_choice(face: str, face_mask, frame_size) -> FaceChoice:
    """The face to animate: the painted ``face_mask`` (ComfyUI ``MASK`` ``[B, H, W]`` or ``[H, W]``, the first
    mask of a batch; scaled to the frames when its size differs) or else the ``face`` text."""
    if face_mask is None:
        try:
            return FaceChoice.parse(face)
        except ValueError as error:
            raise ValueError(f"face: {error}") from error
    mask = face_mask.detach().cpu().float().numpy() if hasattr(face_mask, "detach") else face_mask
    while mask.ndim > 2:
        mask = mask[0]
    choice = FaceChoice.from_mask(mask)
    height, width = frame_size
    if mask.shape != (height, width):
        sy, sx = height / mask.shape[0], width / mask.shape[1]
        x0, y0, x1, y1 = choice.values
        choice = FaceChoice("box", values=(x0 * sx, y0 * sy, x1 * sx, y1 * sy))
    return choice


class EADNetPasteBack:
    DESCRIPTION = (
        "Pastes generated face crops back into the portrait or source frames (feathered along the face "
        "mask) → full frames and their fps, ready for Create Video."
    )
    CATEGORY = "EAD-Net/face"
    RETURN_TYPES = ("IMAGE", "FLOAT")
    RETURN_NAMES = ("frames", "fps")
    FUNCTION = "paste"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "model": (EADNET_MODEL, {"tooltip": "From EAD-Net Model Loader."}),
                "face": (EADNET_FACE, {"tooltip": "From EAD-Net Face Crop."}),
                "crops": ("IMAGE", {"tooltip": "Face crops from EAD-Net Decode (one per output frame)."}),
            }
        }

    def paste(self, model: EADNetModel, face: EADNetFace, crops):
        crops = image_to_uint8(crops)
        size = face.plan.crops.shape[1:3]
        if crops.shape[1:3] != size or len(crops) != face.num_frames:
            raise ValueError(
                f"crops are {len(crops)} × {crops.shape[1]}×{crops.shape[2]} but the face plan needs "
                f"{face.num_frames} × {size[0]}×{size[1]}: connect EAD-Net Decode made from this face"
            )
        with model.active("EAD-Net Paste Back") as pipe:
            frames = pipe.paste_back(face.plan, crops, start=0)
        return (uint8_to_image(frames), float(face.fps))
