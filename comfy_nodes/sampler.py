"""Sampler and decode nodes: windowed denoising of the face crops → ``EADNET_LATENTS`` → crops ``IMAGE``.

Widget order is public API: append new inputs at the end, never reorder or remove.
"""

from __future__ import annotations

import torch

from eadnet.hub import get_preset
from eadnet.settings import FALLBACK_SAMPLING

from .loaders import SAMPLER_DEFAULTS_MODEL
from .runtime import StepMonitor
from .types import (
    EADNET_AUDIO,
    EADNET_EMOTION,
    EADNET_FACE,
    EADNET_LATENTS,
    EADNET_MODEL,
    EADNetAudio,
    EADNetFace,
    EADNetLatents,
    EADNetModel,
    EmotionValue,
    uint8_to_image,
)

MAX_SEED = 0xFFFFFFFFFFFFFFFF


#: The sampler's emotion-warp switch: the model's setting (on for presets whose emotion-text path is untrained), or
#: forced on or off.
#: An optional on/off setting whose first choice leaves it to the model's preset.
SWITCH_CHOICES = ("model default", "on", "off")
EMOTION_WARP_CHOICES = SWITCH_CHOICES


def _switch(choice: str) -> bool | None:
    """A :data:`SWITCH_CHOICES` widget value as a setting: `None` (the model's default), True or False."""
    return None if choice == SWITCH_CHOICES[0] else choice == "on"


def make_generator(seed: int) -> torch.Generator:
    # A CPU generator gives the same noise on every device (diffusers' randn_tensor moves it).
    return torch.Generator(device="cpu").manual_seed(int(seed) & MAX_SEED)


def sampling_inputs() -> dict:
    """The sampling widgets shared by the sampler and the all-in-one node; steps and guidance default to the bundled
    diffusion model's preset (a widget's default cannot follow the model that is connected; eadnet-mesh samples
    nothing and ignores them)."""
    defaults = get_preset(SAMPLER_DEFAULTS_MODEL).sampling
    return {
        "steps": (
            "INT",
            {
                "default": defaults.num_inference_steps,
                "min": 1,
                "max": 200,
                "tooltip": f"Denoising steps per window (more = slower, finer; {SAMPLER_DEFAULTS_MODEL}'s "
                f"default is {defaults.num_inference_steps}, the LatentSync presets' {FALLBACK_SAMPLING.num_inference_steps}).",
            },
        ),
        "audio_guidance": (
            "FLOAT",
            {
                "default": defaults.audio_guidance_scale,
                "min": 0.0,
                "max": 10.0,
                "step": 0.1,
                "tooltip": "Classifier-free guidance on the speech: higher = stronger lip sync (1 = off).",
            },
        ),
        "text_guidance": (
            "FLOAT",
            {
                "default": defaults.text_guidance_scale,
                "min": 0.0,
                "max": 10.0,
                "step": 0.1,
                "tooltip": "Classifier-free guidance on the emotion description: higher = "
                "stronger expression (1 = off).",
            },
        ),
        "seed": (
            "INT",
            {"default": 0, "min": 0, "max": MAX_SEED, "tooltip": "Seed of the initial noise (shared by all frames)."},
        ),
    }


class EADNetSampler:
    DESCRIPTION = (
        "Generates the talking face: denoises the face crops window by window (overlapping windows keep "
        "long clips coherent), guided by the speech and the emotion. Outputs latents for EAD-Net Decode."
    )
    CATEGORY = "EAD-Net/sampling"
    RETURN_TYPES = (EADNET_LATENTS,)
    RETURN_NAMES = ("latents",)
    FUNCTION = "sample"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "model": (EADNET_MODEL, {"tooltip": "From EAD-Net Model Loader."}),
                "face": (EADNET_FACE, {"tooltip": "From EAD-Net Face Crop."}),
                "audio": (EADNET_AUDIO, {"tooltip": "From EAD-Net Audio Encode (the same one the face crop used)."}),
                "emotion": (EADNET_EMOTION, {"tooltip": "From EAD-Net Emotion."}),
                **sampling_inputs(),
                "window": (
                    "INT",
                    {
                        "default": 16,
                        "min": 1,
                        "max": 128,
                        "tooltip": "Frames denoised together; memory grows with it.",
                    },
                ),
                "overlap": (
                    "INT",
                    {
                        "default": 2,
                        "min": 0,
                        "max": 64,
                        "tooltip": "Frames shared by consecutive windows (smooth seams); less than window.",
                    },
                ),
            },
            "optional": {
                "emotion_warp": (
                    list(EMOTION_WARP_CHOICES),
                    {
                        "default": EMOTION_WARP_CHOICES[0],
                        "tooltip": "Give the face crops the emotion's facial action units (a warp of the person's "
                        "own face) before denoising: how models with an untrained emotion-text path (the "
                        "latentsync-* presets) show the emotion. 'model default': on for those, off for "
                        "eadnet-mini.",
                    },
                ),
                "cache_interval": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 10,
                        "tooltip": "DeepCache: run the whole U-Net every N steps and reuse its deep features between "
                        "(faster, nearly the same frames); 1 = off, 0 = the model's default (4 for eadnet-mini).",
                    },
                ),
                "cache_text_guidance": (
                    list(SWITCH_CHOICES),
                    {
                        "default": SWITCH_CHOICES[0],
                        "tooltip": "With caching: the cached steps skip the emotion-text guidance branch and reuse "
                        "its term from the last full pass (faster again; the audio branch always runs). "
                        "'model default': on for eadnet-mini.",
                    },
                ),
            },
        }

    def sample(
        self,
        model: EADNetModel,
        face: EADNetFace,
        audio: EADNetAudio,
        emotion: EmotionValue,
        steps: int,
        audio_guidance: float,
        text_guidance: float,
        seed: int,
        window: int,
        overlap: int,
        emotion_warp: str = EMOTION_WARP_CHOICES[0],
        cache_interval: int = 0,
        cache_text_guidance: str = SWITCH_CHOICES[0],
    ):
        for name, value in (("emotion_warp", emotion_warp), ("cache_text_guidance", cache_text_guidance)):
            if value not in SWITCH_CHOICES:
                raise ValueError(f"{name} must be one of {', '.join(SWITCH_CHOICES)}, got {value!r}")
        if face.num_frames != audio.num_frames:
            raise ValueError(
                f"the face plan has {face.num_frames} frames but the audio {audio.num_frames}: connect "
                "the same EAD-Net Audio Encode to Face Crop and Sampler"
            )
        monitor = StepMonitor()
        parts = []
        with model.active("EAD-Net Sampler") as pipe:
            text = pipe.encode_emotion(emotion.description, float(text_guidance))
            warp = _switch(emotion_warp)
            plan = face.plan
            if pipe.resolve_settings(emotion_warp=warp).sampling.emotion_warp:
                plan = pipe.warp_emotion(plan, emotion.action_units)
            for output in pipe.denoise_windows(
                plan,
                audio.features,
                audio.num_frames,
                text,
                num_inference_steps=int(steps),
                audio_guidance_scale=float(audio_guidance),
                text_guidance_scale=float(text_guidance),
                generator=make_generator(seed),
                fps=audio.fps,
                window_size=int(window),
                window_overlap=int(overlap),
                cache_interval=int(cache_interval) or None,
                cache_text_guidance=_switch(cache_text_guidance),
                decode=False,
                callback_on_step_end=monitor,
            ):
                parts.append(output.latents.detach().cpu())
        warped = plan if plan is not face.plan else None
        return (EADNetLatents(latents=torch.cat(parts, dim=2), fps=audio.fps, plan=warped),)


class EADNetDecode:
    DESCRIPTION = (
        "Decodes the sampler's latents into face crops, keeping the reference outside the face mask. "
        "Connect the crops to EAD-Net Paste Back."
    )
    CATEGORY = "EAD-Net/sampling"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("crops",)
    FUNCTION = "decode"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "model": (EADNET_MODEL, {"tooltip": "From EAD-Net Model Loader."}),
                "latents": (EADNET_LATENTS, {"tooltip": "From EAD-Net Sampler."}),
                "face": (EADNET_FACE, {"tooltip": "The EAD-Net Face Crop the sampler used."}),
            }
        }

    def decode(self, model: EADNetModel, latents: EADNetLatents, face: EADNetFace):
        if latents.num_frames != face.num_frames:
            raise ValueError(
                f"latents have {latents.num_frames} frames but the face plan {face.num_frames}: "
                "connect the face crop the sampler used"
            )
        with model.active("EAD-Net Decode") as pipe:
            crops = pipe.decode_crops(latents.latents, latents.plan or face.plan, start=0)
        return (uint8_to_image(crops),)
