"""Diffusers pipelines of EAD-Net."""

from eadnet.pipelines.pipeline_eadnet import (
    EADNetPipeline,
    FacePlan,
    GenerationCancelled,
    WindowOutput,
    default_scheduler,
)
from eadnet.pipelines.pipeline_output import EADNetPipelineOutput

__all__ = [
    "EADNetPipeline",
    "EADNetPipelineOutput",
    "FacePlan",
    "GenerationCancelled",
    "WindowOutput",
    "default_scheduler",
]
