"""Choosing an engine by name, as every front end does: ``eadnet-mesh`` (face geometry, any face, CPU) or a weights
preset / model folder of the diffusion engine (docs/design.md §3a).

```py
>>> from eadnet.pipelines.engines import load_pipeline
>>> pipe = load_pipeline("eadnet-mesh")                       # the default: no GPU, no download
>>> pipe = load_pipeline("latentsync-1.5", device="cuda")     # diffusion, weights from the Hub
```
"""

from __future__ import annotations

import os

from eadnet.hub import list_presets
from eadnet.hub.local import resolve_model

#: The geometry engine's name (:class:`~eadnet.pipelines.pipeline_mesh.EADNetMeshPipeline`); kept here too so that
#: front ends can list the choices without importing torch.
MESH_MODEL_NAME = "eadnet-mesh"

#: The model used when none is named: the one offline engine that works on any face.
DEFAULT_MODEL = MESH_MODEL_NAME


def list_models() -> list[str]:
    """Every model name a front end offers: the mesh engine first, then the diffusion presets."""
    return [MESH_MODEL_NAME, *list_presets()]


def is_mesh_model(model: str | os.PathLike | None) -> bool:
    """Whether ``model`` names the geometry engine."""
    return str(model) == MESH_MODEL_NAME


def load_pipeline(
    model: str | os.PathLike = DEFAULT_MODEL,
    *,
    device: str = "cpu",
    dtype=None,
    models_dir: str | os.PathLike | None = None,
    face_processor=None,
    offload: bool = False,
    compile: bool = False,
):
    """The pipeline of ``model``: :class:`~eadnet.pipelines.pipeline_mesh.EADNetMeshPipeline` for ``eadnet-mesh``,
    else :class:`~eadnet.pipelines.EADNetPipeline` built from the preset or model folder (see
    :meth:`EADNetPipeline.from_preset <eadnet.pipelines.EADNetPipeline.from_preset>`). Both offer the same
    generation seam; ``pipe.preset`` is the diffusion preset (`None` for the mesh engine).

    For the diffusion engine, ``offload`` keeps only the working model on the CUDA ``device`` (diffusers' model CPU
    offload) and ``compile`` wraps the U-Net in ``torch.compile``; the mesh engine has neither and ignores them.

    Raises:
        `ValueError`: an unknown name (the message lists the known ones), ``offload`` without a CUDA device.
        `eadnet.hub.MissingWeightsError`: weights missing with no network.
    """
    # lazy: torch, diffusers and transformers load in seconds; listing the models must not pay for them
    import torch

    if is_mesh_model(model):
        from eadnet.pipelines.pipeline_mesh import EADNetMeshPipeline

        return EADNetMeshPipeline.from_pretrained(device=device)
    from eadnet.pipelines.pipeline_eadnet import EADNetPipeline

    try:
        preset, local_paths = resolve_model(model)
    except ValueError as error:
        raise ValueError(f"{error}; or {MESH_MODEL_NAME} (face geometry, any face, no download)") from None
    if offload and not str(device).startswith("cuda"):
        raise ValueError("offload moves models between the GPU and the CPU: it needs a CUDA device")
    pipe = EADNetPipeline.from_preset(
        preset,
        device="cpu" if offload else device,
        dtype=dtype if dtype is not None else torch.float32,
        local_paths=local_paths,
        models_dir=models_dir,
        face_processor=face_processor,
    )
    if offload:
        pipe.enable_model_cpu_offload(device=device)
    if compile:
        pipe.unet = torch.compile(pipe.unet)  # DeepCache's full and cached steps compile to one graph each
    return pipe
