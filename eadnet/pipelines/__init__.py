"""Diffusers pipelines of EAD-Net, their outputs and the one export path to mp4."""

from eadnet.pipelines.export import write_talking_video
from eadnet.pipelines.pipeline_eadnet import EADNetPipeline, FacePlan, GenerationCancelled, default_scheduler
from eadnet.pipelines.pipeline_output import EADNetPipelineOutput, GenerationReport, WindowOutput

__all__ = [
    "EADNetPipeline",
    "EADNetPipelineOutput",
    "FacePlan",
    "GenerationCancelled",
    "GenerationReport",
    "WindowOutput",
    "default_scheduler",
    "write_talking_video",
]
