"""Conditioning nodes: speech → ``EADNET_AUDIO``; emotion label / text / reference frames → ``EADNET_EMOTION``.

Widget order is public API: append new inputs at the end, never reorder or remove.
"""

from __future__ import annotations

from eadnet import emotion
from eadnet.emotion import EMOTION_LABELS, EmotionSpec
from eadnet.expression.emotions import describe_action_units
from eadnet.models.emotion_captioner import DEFAULT_VLM_ID, EmotionCaptioner

from .types import (
    EADNET_AUDIO,
    EADNET_EMOTION,
    EADNET_MODEL,
    EADNetAudio,
    EADNetModel,
    EmotionValue,
    audio_waveform,
    image_to_uint8,
)

EMOTION_SOURCES = ("label", "text", "reference")
#: ``vlm`` values that describe a reference by its measured facial action units instead of a vision-language model.
MESH_DESCRIBERS = ("face mesh", "mesh")


def emotion_labels() -> list[str]:
    return list(EMOTION_LABELS)


def check_label(label: str) -> None:
    labels = emotion_labels()
    if label not in labels:
        raise ValueError(
            f"unknown emotion label {label!r}: choose one of {', '.join(labels)} (or describe the emotion as text)"
        )


def check_intensity(intensity: int) -> None:
    try:
        emotion.check_intensity(int(intensity), name="emotion intensity")
    except (TypeError, ValueError) as error:
        raise ValueError(f"{error} (got {intensity!r})") from error


class EADNetAudioEncode:
    DESCRIPTION = (
        "Encodes speech with Whisper into per-frame features; the clip gets as many frames as the speech "
        "lasts at the chosen fps. Any sample rate and channel count."
    )
    CATEGORY = "EAD-Net/conditioning"
    RETURN_TYPES = (EADNET_AUDIO,)
    RETURN_NAMES = ("audio",)
    FUNCTION = "encode"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "model": (EADNET_MODEL, {"tooltip": "From EAD-Net Model Loader."}),
                "audio": ("AUDIO", {"tooltip": "The speech the face lip-syncs to (e.g. from Load Audio); one clip."}),
                "fps": (
                    "FLOAT",
                    {
                        "default": 25.0,
                        "min": 1.0,
                        "max": 240.0,
                        "step": 0.001,
                        "tooltip": "Frame rate of the generated video: 25 for a portrait; to dub a video, connect "
                        "its fps (Get Video Components → fps) so the output keeps the source's rate.",
                    },
                ),
            }
        }

    def encode(self, model: EADNetModel, audio, fps: float):
        waveform, sample_rate = audio_waveform(audio)
        with model.active("EAD-Net Audio Encode") as pipe:
            features, num_frames = pipe.prepare_audio(waveform.numpy(), sample_rate, float(fps))
            silent = pipe.silent_frames(waveform.numpy(), sample_rate, num_frames, float(fps))
        return (
            EADNetAudio(
                features=features.detach().cpu(),
                num_frames=num_frames,
                fps=float(fps),
                waveform=waveform,
                sample_rate=sample_rate,
                silent=silent,
            ),
        )


class EADNetEmotion:
    DESCRIPTION = (
        "The emotion to show, turned into the description that guides generation: a MEAD label with an "
        "intensity, free text, or reference frames described by a vision-language model (SmolVLM2 by "
        "default, downloaded on first use). Also outputs that description as text."
    )
    CATEGORY = "EAD-Net/conditioning"
    RETURN_TYPES = (EADNET_EMOTION, "STRING")
    RETURN_NAMES = ("emotion", "caption")
    FUNCTION = "describe"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "model": (EADNET_MODEL, {"tooltip": "From EAD-Net Model Loader."}),
                "source": (
                    list(EMOTION_SOURCES),
                    {
                        "default": "label",
                        "tooltip": "Which input describes the emotion: the label, the text, or the reference frames.",
                    },
                ),
                "label": (emotion_labels(), {"default": "neutral", "tooltip": "MEAD emotion (source = label)."}),
                "intensity": (
                    "INT",
                    {
                        "default": 2,
                        "min": 1,
                        "max": 3,
                        "step": 1,
                        "tooltip": "1 = slight, 2 = clear, 3 = strong (source = label).",
                    },
                ),
                "text": (
                    "STRING",
                    {
                        "default": "",
                        "multiline": True,
                        "tooltip": "Free description, e.g. 'calm, warm smile' (source = text).",
                    },
                ),
            },
            "optional": {
                "reference": (
                    "IMAGE",
                    {"tooltip": "Image(s) or video frames showing the emotion (source = reference)."},
                ),
                "vlm": (
                    "STRING",
                    {
                        "default": "",
                        "tooltip": "Who describes the reference: 'face mesh' measures its facial action units "
                        "(offline, no model to download); a vision-language model's Hub id or folder; "
                        "empty = SmolVLM2 (downloaded on first use).",
                    },
                ),
            },
        }

    def describe(
        self, model: EADNetModel, source: str, label: str, intensity: int, text: str, reference=None, vlm: str = ""
    ):
        if source == "label":
            check_label(label)
            check_intensity(intensity)
            with model.active("EAD-Net Emotion") as pipe:
                description = pipe.describe_emotion(emotion=f"{label}:{int(intensity)}")
                units = pipe.emotion_action_units(emotion=f"{label}:{int(intensity)}")
        elif source == "text":
            if not text.strip():
                raise ValueError(
                    "source is 'text' but the text is empty: describe the emotion, or choose source 'label'"
                )
            with model.active("EAD-Net Emotion") as pipe:
                description = pipe.describe_emotion(emotion_text=text.strip())
                units = pipe.emotion_action_units(emotion_text=text.strip())
        elif source == "reference":
            if reference is None:
                raise ValueError(
                    "source is 'reference' but no reference IMAGE is connected: connect image(s) or "
                    "video frames (e.g. Get Video Components → images)"
                )
            frames = image_to_uint8(reference)
            with model.active("EAD-Net Emotion") as pipe:
                units = pipe.emotion_action_units(emotion_reference=list(frames))
                if vlm.strip().lower() in MESH_DESCRIBERS:
                    description = describe_action_units(units)  # the measured expression in words, offline
                else:
                    description = reference_captioner(model, vlm).caption(EmotionSpec(reference=list(frames)))
        else:
            raise ValueError(f"source must be one of {', '.join(EMOTION_SOURCES)}, got {source!r}")
        return (EmotionValue(description=description, source=source, action_units=units), description or "")


def reference_captioner(model: EADNetModel, vlm: str = ""):
    """A captioner with a vision-language model, loaded once per model and kept beside it (never registered into
    the shared pipeline, which other nodes use concurrently)."""
    key = vlm.strip() or DEFAULT_VLM_ID
    captioner = model.captioners.get(key)
    if captioner is None:
        captioner = EmotionCaptioner.from_pretrained(key, device=model.device)
        model.captioners[key] = captioner
    elif captioner.vlm_model is not None:
        captioner.vlm_model.to(model.device)
    return captioner
