"""Model loader node: a weights preset or a model folder from ``models/eadnet`` → ``EADNET_MODEL``.

Widget order of every node in this pack is public API (UI workflows store widget values by position): append new
inputs at the end, never reorder or remove.
"""

from __future__ import annotations

import logging

import torch

from eadnet.hub import list_presets
from eadnet.hub.local import resolve_model

from .runtime import local_model_names, local_model_path, models_dir, torch_device
from .types import EADNET_MODEL, OFFLOAD_CHOICES, EADNetModel

logger = logging.getLogger(__name__)

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
DEVICES = ("auto", "cpu", "cuda")
#: The loader's default: the small trained EAD-Net bundled with the package (no download). The sampling widgets
#: default to its preset's steps and guidance.
DEFAULT_MODEL = "eadnet-mini"


def model_choices() -> list[str]:
    return list(list_presets()) + [name for name in local_model_names() if name not in list_presets()]


class EADNetModelLoader:
    DESCRIPTION = (
        "Loads EAD-Net (denoiser, autoencoder, Whisper audio encoder, emotion text encoder, face "
        "alignment). The default, eadnet-mini, ships inside the package and needs no download; other "
        "presets download their pinned weights into models/eadnet on first use; model folders placed "
        "in models/eadnet load from disk."
    )
    CATEGORY = "EAD-Net/loaders"
    RETURN_TYPES = (EADNET_MODEL,)
    RETURN_NAMES = ("model",)
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls):
        choices = model_choices()
        return {
            "required": {
                "model": (
                    choices,
                    {
                        "default": DEFAULT_MODEL if DEFAULT_MODEL in choices else choices[0],
                        "tooltip": "A weights preset or a model folder found in models/eadnet. "
                        f"'{DEFAULT_MODEL}' (default) is the small trained model bundled "
                        "with EAD-Net (64 px face, no download); latentsync-* presets "
                        "download on first use into models/eadnet; 'offline-demo' is "
                        "untrained: the face comes out as noise.",
                    },
                ),
                "precision": (
                    list(PRECISIONS),
                    {"default": "fp32", "tooltip": "Weights dtype: fp16/bf16 halve GPU memory; use fp32 on CPU."},
                ),
                "device": (
                    list(DEVICES),
                    {"default": "auto", "tooltip": "Where the model runs: auto = ComfyUI's device."},
                ),
                "offload": (
                    list(OFFLOAD_CHOICES),
                    {
                        "default": OFFLOAD_CHOICES[0],
                        "tooltip": "Move the weights to CPU after each node runs "
                        "(frees GPU memory) or keep them on the device.",
                    },
                ),
            }
        }

    def load(self, model: str, precision: str, device: str, offload: str):
        # lazy: the pipeline imports diffusers and transformers (seconds); ComfyUI start-up must not pay for it
        from eadnet.pipelines import EADNetPipeline

        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        if offload not in OFFLOAD_CHOICES:
            raise ValueError(f"offload must be one of {OFFLOAD_CHOICES}, got {offload!r}")
        folder = local_model_path(model)
        preset, local_paths = resolve_model(str(folder) if folder is not None else model)
        if not preset.trained:
            logger.warning(
                "EAD-Net model %r carries UNTRAINED weights: the face region will be noise, not a "
                "talking face. Load trained weights (e.g. %s) for real results.",
                model,
                DEFAULT_MODEL,
            )
        target = torch_device(device)
        pipe = EADNetPipeline.from_preset(
            preset, device="cpu", dtype=PRECISIONS[precision], local_paths=local_paths, models_dir=models_dir()
        )
        pipe.set_progress_bar_config(disable=True)  # ComfyUI's own bar is driven per step instead
        wrapped = EADNetModel(
            pipeline=pipe,
            preset=preset,
            name=model,
            device=target,
            dtype=PRECISIONS[precision],
            offload=offload == OFFLOAD_CHOICES[0],
        )
        if not wrapped.offload:
            pipe.to(target)
        return (wrapped,)
