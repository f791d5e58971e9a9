"""EAD-Net's engines — the diffusion pipeline and the ``eadnet-mesh`` geometry engine — their outputs, choosing one
by name, and the one export path to mp4.

Names are imported on first use (like :mod:`eadnet.models`), so that listing the engines
(:mod:`eadnet.pipelines.engines`) does not load diffusers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "EADNetPipeline": "eadnet.pipelines.pipeline_eadnet",
    "FacePlan": "eadnet.pipelines.pipeline_eadnet",
    "GenerationCancelled": "eadnet.pipelines.pipeline_eadnet",
    "default_scheduler": "eadnet.pipelines.pipeline_eadnet",
    "EADNetMeshPipeline": "eadnet.pipelines.pipeline_mesh",
    "EADNetPipelineOutput": "eadnet.pipelines.pipeline_output",
    "GenerationReport": "eadnet.pipelines.pipeline_output",
    "WindowOutput": "eadnet.pipelines.pipeline_output",
    "load_pipeline": "eadnet.pipelines.engines",
    "list_models": "eadnet.pipelines.engines",
    "write_talking_video": "eadnet.pipelines.export",
}

__all__ = [
    "EADNetMeshPipeline",
    "EADNetPipeline",
    "EADNetPipelineOutput",
    "FacePlan",
    "GenerationCancelled",
    "GenerationReport",
    "WindowOutput",
    "default_scheduler",
    "list_models",
    "load_pipeline",
    "write_talking_video",
]

if TYPE_CHECKING:  # pragma: no cover
    from eadnet.pipelines.engines import list_models, load_pipeline
    from eadnet.pipelines.export import write_talking_video
    from eadnet.pipelines.pipeline_eadnet import EADNetPipeline, FacePlan, GenerationCancelled, default_scheduler
    from eadnet.pipelines.pipeline_mesh import EADNetMeshPipeline
    from eadnet.pipelines.pipeline_output import EADNetPipelineOutput, GenerationReport, WindowOutput


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
