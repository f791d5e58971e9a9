"""Model loader node: a weights preset or a model folder from ``models/eadnet`` → ``EADNET_MODEL``.

Widget order of every node in this pack is public API (UI workflows store widget values by position): append new
inputs at the end, never reorder or remove.
"""

from __future__ import annotations

import logging

import torch

from eadnet.hub import list_presets
from eadnet.hub.local import resolve_model
from eadnet.pipelines.engines import MESH_MODEL_NAME, list_models

from .runtime import comfy_unet_dtype, local_model_names, local_model_path, models_dir, torch_device
from .types import EADNET_MODEL, OFFLOAD_CHOICES, EADNetModel

logger = logging.getLogger(__name__)

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
#: The precision choices: the dtypes, then "auto" (ComfyUI's own choice for a diffusion model on the device).
PRECISION_CHOICES = (*PRECISIONS, "auto")
DEVICES = ("auto", "cpu", "cuda")
#: The loader's default: the face-geometry engine, which animates any face with no download and no GPU.
DEFAULT_MODEL = MESH_MODEL_NAME
#: The diffusion model whose sampling settings the sampler widgets default to (the small trained EAD-Net bundled
#: with the package).
SAMPLER_DEFAULTS_MODEL = "eadnet-mini"


def model_choices() -> list[str]:
    return list_models() + [name for name in local_model_names() if name not in list_presets()]


class EADNetModelLoader:
    DESCRIPTION = (
        "Loads an EAD-Net engine. The default, eadnet-mesh, animates any face at its own resolution by face "
        "geometry (no GPU, no download; use it with EAD-Net Generate). The diffusion models (denoiser, "
        "autoencoder, Whisper, emotion text encoder) work with every node: eadnet-mini ships inside the package "
        "(one face, 64 px); other presets download their pinned weights into models/eadnet on first use; model "
        "folders placed in models/eadnet load from disk."
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
                        "tooltip": f"'{DEFAULT_MODEL}' (default): face geometry, any face, no download "
                        "(EAD-Net Generate only). Or a diffusion weights preset / model folder from "
                        f"models/eadnet: '{SAMPLER_DEFAULTS_MODEL}' is the small trained model bundled with "
                        "EAD-Net (one face, 64 px); latentsync-* presets download on first use (GPU); "
                        "'offline-demo' is untrained: the face comes out as noise.",
                    },
                ),
                "precision": (
                    list(PRECISION_CHOICES),
                    {
                        "default": "fp32",
                        "tooltip": "Weights dtype of the U-Net, VAE and text encoder (Whisper and the sampler's "
                        "arithmetic stay fp32): fp16/bf16 halve GPU memory; fp32 on CPU; auto = ComfyUI's choice for "
                        "the device (its --fp16-unet / --bf16-unet flags included).",
                    },
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
        from eadnet.pipelines.engines import load_pipeline

        if precision not in PRECISION_CHOICES:
            raise ValueError(f"precision must be one of {', '.join(PRECISION_CHOICES)}, got {precision!r}")
        if offload not in OFFLOAD_CHOICES:
            raise ValueError(f"offload must be one of {OFFLOAD_CHOICES}, got {offload!r}")
        target = torch_device(device)
        if model == MESH_MODEL_NAME:
            # two small fp32 networks; the warp itself runs on the CPU, so there is nothing to offload
            pipe = load_pipeline(model, device="cpu")
            return (
                EADNetModel(pipeline=pipe, preset=None, name=model, device=target, dtype=torch.float32, offload=False),
            )
        folder = local_model_path(model)
        preset, local_paths = resolve_model(str(folder) if folder is not None else model)
        if not preset.trained:
            logger.warning(
                "EAD-Net model %r carries UNTRAINED weights: the face region will be noise, not a "
                "talking face. Load trained weights (e.g. %s) for real results.",
                model,
                DEFAULT_MODEL,
            )
        dtype = comfy_unet_dtype(target) if precision == "auto" else PRECISIONS[precision]
        pipe = EADNetPipeline.from_preset(
            preset, device="cpu", dtype=dtype, local_paths=local_paths, models_dir=models_dir()
        )
        pipe.set_progress_bar_config(disable=True)  # ComfyUI's own bar is driven per step instead
        wrapped = EADNetModel(
            pipeline=pipe,
            preset=preset,
            name=model,
            device=target,
            dtype=dtype,
            offload=offload == OFFLOAD_CHOICES[0],
        )
        if not wrapped.offload:
            pipe.to(target)
        return (wrapped,)
