"""Diffusers pipelines of EAD-Net."""

from eadnet.pipelines.pipeline_eadnet import EADNetPipeline, GenerationCancelled, WindowOutput, default_scheduler
from eadnet.pipelines.pipeline_output import EADNetPipelineOutput

__all__ = ["EADNetPipeline", "EADNetPipelineOutput", "GenerationCancelled", "WindowOutput", "default_scheduler"]
