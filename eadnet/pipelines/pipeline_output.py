"""Outputs of :class:`eadnet.pipelines.EADNetPipeline`: the clip, the windows it streams, and the report of a run."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import PIL.Image
import torch
from diffusers.utils import BaseOutput

from eadnet.settings import GenerationSettings

#: Stages a run is timed in, in pipeline order: the diffusion pipeline's own, the mesh engine's ``render`` (its
#: stages are face, audio, emotion and render), then the export's ``mux`` (encoding the frames and muxing them with the
#: audio).
STAGES = ("face", "audio", "emotion", "encode", "denoise", "decode", "paste", "render", "mux")


@dataclass
class GenerationReport:
    """What one generation did: known before the first window is denoised (frames, steps, description), completed
    as the windows are produced (timings) and by the export (``output``, ``mux``).

    Args:
        num_frames (`int`): Frames of the clip.
        fps (`float`): Its frame rate.
        total_steps (`int`): Denoising steps over all windows (the progress total).
        emotion_description (`str`, *optional*): The description of the emotion that guided generation.
        settings ([`~eadnet.settings.GenerationSettings`], *optional*): The resolved settings (every sampling
            field set).
        timings (`dict[str, float]`): Wall seconds per stage (:data:`STAGES`); the stages are disjoint.
        output (`Path`, *optional*): The mp4 written by :func:`~eadnet.pipelines.export.write_talking_video`.
        total_seconds (`float`): Wall seconds of the whole export (set by it).
    """

    num_frames: int = 0
    fps: float = 25.0
    total_steps: int = 0
    emotion_description: str | None = None
    settings: GenerationSettings | None = None
    timings: dict[str, float] = field(default_factory=dict)
    output: Path | None = None
    total_seconds: float = 0.0

    @property
    def duration(self) -> float:
        """Seconds of video."""
        return self.num_frames / self.fps if self.fps else 0.0

    @contextmanager
    def timed(self, stage: str, synchronize: torch.device | None = None):
        """Adds the wall time of the block to ``timings[stage]``; with ``synchronize`` (a CUDA device) the device
        is waited for before the clock starts and stops, so asynchronous kernels are charged to this stage."""
        if synchronize is not None:
            torch.cuda.synchronize(synchronize)
        start = time.perf_counter()
        try:
            yield
            if synchronize is not None:
                torch.cuda.synchronize(synchronize)
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - start

    def stage_seconds(self, **extra: float) -> dict[str, float]:
        """Seconds per stage for people: ``extra`` stages first (e.g. ``load``), then the stages the run went through
        (an engine without a VAE has no ``decode``), decode and paste-back together."""
        seconds = {name: float(value) for name, value in extra.items()}
        timings = dict(self.timings)
        if "paste" in timings:
            timings["decode"] = timings.get("decode", 0.0) + timings.pop("paste")
        for stage in STAGES:
            if stage in timings:
                seconds[stage] = float(timings[stage])
        return seconds

    def format_timings(self, total: float | None = None, **extra: float) -> str:
        """``"load 1.20, face 0.30, ..., total 9.80"`` (seconds) — what the CLI and the Gradio app print;
        ``total`` defaults to the export's wall time plus the ``extra`` stages."""
        stages = ", ".join(f"{name} {value:.2f}" for name, value in self.stage_seconds(**extra).items())
        total = self.total_seconds + sum(extra.values()) if total is None else total
        return f"{stages}, total {total:.2f}"


@dataclass
class WindowOutput:
    """Frames finished by one window of :meth:`EADNetPipeline.generate_windows`.

    Args:
        start (`int`): Index in the output clip of the first frame in ``frames``.
        frames (`np.ndarray` or `None`): uint8 `(n, H, W, 3)` full-resolution frames (`None` when the
            window was not decoded).
        latents (`torch.Tensor`, *optional*): Denoised crop latents `(1, 4, n, h, w)` of the same frames (`None` for an
            engine without latents, such as ``eadnet-mesh``).
        report ([`GenerationReport`]): The run's report, up to date as of this window (the same object in every
            window of a run).
    """

    start: int
    frames: np.ndarray | None
    latents: torch.Tensor | None
    report: GenerationReport


@dataclass
class EADNetPipelineOutput(BaseOutput):
    """Output of :class:`~eadnet.pipelines.EADNetPipeline`.

    Args:
        frames (`list[PIL.Image.Image]`, `np.ndarray` or `torch.Tensor`):
            The talking-head video at the input's resolution: a list of PIL images (``output_type="pil"``),
            a float array `(F, H, W, 3)` in ``[0, 1]`` (``"np"``), a float tensor `(F, 3, H, W)` in ``[0, 1]``
            (``"pt"``), or the denoised crop latents `(1, 4, F, h, w)` (``"latent"``).
        fps (`float`): Frame rate of ``frames``.
        emotion_description (`str` or `None`): The description of the emotion that guided generation.
        report ([`GenerationReport`]): Stage timings, step count and the resolved settings of the run.
    """

    frames: list[PIL.Image.Image] | np.ndarray | torch.Tensor
    fps: float
    emotion_description: str | None
    report: GenerationReport | None = None
