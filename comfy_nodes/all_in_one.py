"""All-in-one node for simple graphs: portrait + speech + emotion → frames, fps and the emotion caption.

Widget order is public API: append new inputs at the end, never reorder or remove.
"""

from __future__ import annotations

import torch

from eadnet.emotion import EmotionSpec

from .encoders import check_intensity, check_label, emotion_labels
from .runtime import StepMonitor
from .sampler import make_generator, sampling_inputs
from .types import EADNET_MODEL, EADNetModel, audio_waveform, image_to_uint8, uint8_to_image

FPS = 25.0


class EADNetGenerate:
    DESCRIPTION = (
        "Animates one portrait to the speech with the chosen emotion (label + intensity, or a free text "
        "that overrides the label) in one node. For source videos, reference-frame emotions or window "
        "settings use the staged nodes (Audio Encode, Emotion, Face Crop, Sampler, Decode, Paste Back)."
    )
    CATEGORY = "EAD-Net"
    RETURN_TYPES = ("IMAGE", "FLOAT", "STRING")
    RETURN_NAMES = ("frames", "fps", "caption")
    FUNCTION = "generate"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "model": (EADNET_MODEL, {"tooltip": "From EAD-Net Model Loader."}),
                "image": ("IMAGE", {"tooltip": "One portrait with a clearly visible face."}),
                "audio": ("AUDIO", {"tooltip": "The speech to lip-sync (e.g. from Load Audio); one clip."}),
                "emotion_label": (emotion_labels(), {"default": "neutral", "tooltip": "MEAD emotion to show."}),
                "intensity": (
                    "INT",
                    {"default": 2, "min": 1, "max": 3, "step": 1, "tooltip": "1 = slight, 2 = clear, 3 = strong."},
                ),
                "emotion_text": (
                    "STRING",
                    {
                        "default": "",
                        "multiline": True,
                        "tooltip": "Optional free description; when not empty it replaces the label.",
                    },
                ),
                **sampling_inputs(),
            }
        }

    def generate(
        self,
        model: EADNetModel,
        image,
        audio,
        emotion_label: str,
        intensity: int,
        emotion_text: str,
        steps: int,
        audio_guidance: float,
        text_guidance: float,
        seed: int,
    ):
        if isinstance(image, torch.Tensor) and image.ndim == 4 and image.shape[0] > 1:
            raise ValueError(
                f"image holds a batch of {image.shape[0]} images but EAD-Net Generate animates one "
                "portrait: connect one image, or pass video frames to EAD-Net Face Crop (the staged "
                "nodes) to dub a video"
            )
        portrait = image_to_uint8(image)[0]
        waveform, sample_rate = audio_waveform(audio)
        text = emotion_text.strip() if emotion_text else ""
        if not text:
            check_label(emotion_label)
            check_intensity(intensity)
        monitor = StepMonitor()
        frames, caption = [], ""
        with model.active() as pipe:
            for window in pipe.generate_windows(
                image=portrait,
                audio=waveform.numpy(),
                sample_rate=sample_rate,
                emotion=None if text else EmotionSpec(label=emotion_label, intensity=int(intensity)),
                emotion_text=text or None,
                num_inference_steps=int(steps),
                audio_guidance_scale=float(audio_guidance),
                text_guidance_scale=float(text_guidance),
                generator=make_generator(seed),
                fps=FPS,
                callback_on_step_end=monitor,
            ):
                frames.append(uint8_to_image(window.frames))
                caption = window.report.emotion_description or ""
        return (torch.cat(frames), FPS, caption)
