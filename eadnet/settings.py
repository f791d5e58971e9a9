"""Generation settings, each with one owner.

- :class:`SamplingDefaults`: how a model likes to be sampled (steps, guidance, strength, audio offset, ...). A preset
  carries one (``Preset.sampling``) and a model folder stores one as the ``"sampling"`` block of its
  ``eadnet_model.json`` (:meth:`SamplingDefaults.to_json` / :meth:`SamplingDefaults.from_json`).
- :class:`GenerationSettings`: what one request asks for: overrides of the model's sampling defaults plus the
  request's own settings (frame rate, windows, what to do without a face).

A field left `None` is *unset* and inherits: a request's from the model's defaults, the model's from
:data:`FALLBACK_SAMPLING` (LatentSync's). Only the pipeline resolves them
(:meth:`eadnet.pipelines.EADNetPipeline.resolve_settings`); front ends pass what the user gave, `None` included, and
never fill in defaults themselves. Adding a sampling setting means adding a field here (with its fallback value in
:data:`FALLBACK_SAMPLING`) and using it in the pipeline: presets, model folders, the CLI, Gradio, ComfyUI and the
benchmarks carry it without changes.

This module imports nothing heavy (ComfyUI reads the defaults at start-up to draw its widgets).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

NO_FACE_POLICIES = ("error", "skip", "hold")


def on_off(choice: str | None) -> bool | None:
    """A command-line switch (``"on"`` / ``"off"``, `None` when not given) as a setting: True, False or unset."""
    return None if choice is None else choice == "on"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class SamplingDefaults:
    r"""How a model is sampled; every field may be unset (`None`), see the module docstring.

    Args:
        num_inference_steps (`int`, *optional*): Denoising steps per window.
        audio_guidance_scale (`float`, *optional*): Audio classifier-free guidance (1 = off; zero audio tokens are the
            null audio).
        text_guidance_scale (`float`, *optional*): Emotion-text guidance (1 = off; the empty prompt is the null text).
        strength (`float`, *optional*): In ``(0, 1]``: 1 starts every window from pure noise (LatentSync); lower starts
            from the reference latents noised to that fraction of the schedule and runs that fraction of the steps
            (SDEdit).
        audio_offset (`float`, *optional*): Condition each frame on the audio this many video frames later (negative:
            earlier), in Whisper's 20 ms steps: re-aligns a model whose mouth trails or leads the speech by a steady
            amount (measured on a validation split).
        null_audio_outliers (`bool`, *optional*): Give Whisper frames with massive activations the null audio
            (``WhisperAudioEncoder.outlier_frames``; mostly pauses between sentences). Right for models trained on
            single sentences (EAD-Net's own corpus), which never see them; off for LatentSync's U-Net, trained on real
            talking video with pauses.
        emotion_warp (`bool`, *optional*): Give the reference frames (and a source video's frames outside the
            inpainting mask) the emotion's facial action units with the expression engine's warp before denoising
            (:mod:`eadnet.expression`), so that a model whose emotion-text modules are untrained (the
            LatentSync-initialised presets) still shows the emotion; off where a trained text path carries it.
        cache_interval (`int`, *optional*): Feature caching across denoising steps (DeepCache,
            :class:`~eadnet.models.feature_cache.DeepCache`): the whole U-Net runs every ``cache_interval`` steps, the
            steps between reuse its deep features and run the shallow branch only; 1 runs every step in full.
        cache_depth (`int`, *optional*): Encoder/decoder stages in the shallow branch that runs at every step
            (1: the first and the last, as in DeepCache).
        cache_text_guidance (`bool`, *optional*): With caching on, the steps between full passes also skip the
            emotion-text guidance branch and reuse its guidance term from the last full pass (FasterCache's guidance
            reuse); the audio guidance branch always runs.
    """

    num_inference_steps: int | None = None
    audio_guidance_scale: float | None = None
    text_guidance_scale: float | None = None
    strength: float | None = None
    audio_offset: float | None = None
    null_audio_outliers: bool | None = None
    emotion_warp: bool | None = None
    cache_interval: int | None = None
    cache_depth: int | None = None
    cache_text_guidance: bool | None = None

    def __post_init__(self):
        steps = self.num_inference_steps
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
            raise ValueError(f"num_inference_steps must be a positive int, got {steps!r}")
        strength = self.strength
        if strength is not None and not (_is_number(strength) and 0.0 < strength <= 1.0):
            raise ValueError(f"strength must be in (0, 1], got {strength!r}")
        for name in ("audio_guidance_scale", "text_guidance_scale"):
            value = getattr(self, name)
            if value is not None and not (_is_number(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.audio_offset is not None and not _is_number(self.audio_offset):
            raise ValueError(f"audio_offset must be a finite number of frames, got {self.audio_offset!r}")
        for name in ("cache_interval", "cache_depth"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        for name in ("null_audio_outliers", "emotion_warp", "cache_text_guidance"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool):
                raise ValueError(f"{name} must be True or False, got {value!r}")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The setting names, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def given(self) -> dict[str, Any]:
        """The set fields (not `None`) by name."""
        return {name: getattr(self, name) for name in self.names() if getattr(self, name) is not None}

    def over(self, base: SamplingDefaults) -> SamplingDefaults:
        """These settings where set, ``base``'s elsewhere."""
        return dataclasses.replace(base, **self.given())

    def complete(self) -> SamplingDefaults:
        """These settings over :data:`FALLBACK_SAMPLING`: every field set."""
        return self.over(FALLBACK_SAMPLING)

    def to_json(self) -> dict[str, Any]:
        """The ``"sampling"`` block of a model folder's ``eadnet_model.json`` (set fields only)."""
        return self.given()

    @classmethod
    def from_json(cls, block: Mapping[str, Any] | None) -> SamplingDefaults:
        """Reads :meth:`to_json`'s block. Names this version does not know (a folder written by a newer EAD-Net) are
        skipped with a warning, so that the model still loads."""
        block = dict(block or {})
        unknown = sorted(set(block) - set(cls.names()))
        if unknown:
            logger.warning("ignoring sampling settings this EAD-Net version does not know: %s", ", ".join(unknown))
        return cls(**{name: block[name] for name in cls.names() if block.get(name) is not None})


#: What a model without its own defaults is sampled with: LatentSync's inference settings (docs/design.md §2.3:
#: 20 DDIM steps, audio guidance 1.5), no text guidance, full strength, no audio offset, null audio for outlier
#: frames, no emotion warp (a model folder of EAD-Net's own has a trained text path).
FALLBACK_SAMPLING = SamplingDefaults(
    num_inference_steps=20,
    audio_guidance_scale=1.5,
    text_guidance_scale=1.0,
    strength=1.0,
    audio_offset=0.0,
    null_audio_outliers=True,
    emotion_warp=False,
    cache_interval=1,
    cache_depth=1,
    cache_text_guidance=False,
)


@dataclass(frozen=True)
class GenerationSettings:
    r"""What one generation request asks for.

    Build it with :meth:`from_options` from flat keyword options (``num_inference_steps=10, fps=30``); an option
    that is `None` is unset.

    Args:
        sampling ([`SamplingDefaults`], *optional*): Overrides of the model's sampling defaults (unset fields inherit
            them).
        fps (`float`, *optional*): Output frame rate (the audio decides the frame count); unset, a source video
            keeps its own rate and a portrait gets 25.
        window_size (`int`, *optional*, defaults to 16): Frames denoised together.
        window_overlap (`int`, *optional*, defaults to 2): Frames each window shares with the previous one.
        no_face (`str`, *optional*, defaults to `"error"`): For a source video: what to do with frames without a
            face — ``"error"``, ``"skip"`` (drop them) or ``"hold"`` (reuse the nearest face).
        decode_chunk_size (`int`, *optional*, defaults to 8): Frames decoded by the VAE at once.
        synchronize_timings (`bool`, *optional*, defaults to `False`): Wait for the device at every stage boundary,
            so that the report's stage timings charge asynchronous CUDA work to the stage that launched it
            (benchmarks; costs a little speed).
        head_motion (`float`, *optional*, defaults to 1): Scale of the natural head motion a portrait is given
            (``eadnet-mesh``; 0 keeps the head still; a source video keeps its own motion).
        keep_expression (`bool`, *optional*, defaults to `False`): Keep the face's own expression and add the
            requested one on top, instead of replacing it (``eadnet-mesh`` and the emotion warp: a smiling portrait
            asked to look sad loses its smile unless this is set).
        face (`str`, *optional*, defaults to `"largest"`): Which face talks in a group shot: ``"largest"``,
            ``"center"``, ``"N"`` (0 = leftmost), ``"X,Y"`` (the face under a point) or ``"X0,Y0,X1,Y1"`` (a box), in
            pixels of the portrait or source video (:class:`~eadnet.face.choice.FaceChoice`); followed through a
            video by continuity, the other faces are left untouched.
        close_mouth_in_silence (`bool`, *optional*, defaults to `True`): In pauses of the speech (0.2 s or longer,
            voice activity detection) the face gets a closed, resting mouth, with every engine.
    """

    sampling: SamplingDefaults = field(default_factory=SamplingDefaults)
    fps: float | None = None
    window_size: int = 16
    window_overlap: int = 2
    no_face: str = "error"
    decode_chunk_size: int = 8
    synchronize_timings: bool = False
    head_motion: float = 1.0
    keep_expression: bool = False
    face: str = "largest"
    close_mouth_in_silence: bool = True

    def __post_init__(self):
        if not isinstance(self.sampling, SamplingDefaults):
            raise ValueError(f"sampling must be a SamplingDefaults, got {type(self.sampling).__name__}")
        if self.fps is not None and (not _is_number(self.fps) or not 0 < self.fps <= 240):
            raise ValueError(f"fps must be a number in (0, 240], got {self.fps!r}")
        if (
            not isinstance(self.window_size, int)
            or not isinstance(self.window_overlap, int)
            or self.window_size < 1
            or not 0 <= self.window_overlap < self.window_size
        ):
            raise ValueError(
                "need window_size >= 1 and 0 <= window_overlap < window_size, got "
                f"window_size={self.window_size}, window_overlap={self.window_overlap}"
            )
        if self.no_face not in NO_FACE_POLICIES:
            raise ValueError(f"no_face must be one of {NO_FACE_POLICIES}, got {self.no_face!r}")
        if isinstance(self.decode_chunk_size, bool) or not isinstance(self.decode_chunk_size, int):
            raise ValueError(f"decode_chunk_size must be a positive int, got {self.decode_chunk_size!r}")
        if self.decode_chunk_size < 1:
            raise ValueError(f"decode_chunk_size must be a positive int, got {self.decode_chunk_size!r}")
        if not _is_number(self.head_motion) or not 0.0 <= self.head_motion <= 3.0:
            raise ValueError(
                f"head_motion must be a number in [0, 3] (0: still, 1: natural), got {self.head_motion!r}"
            )
        if not isinstance(self.keep_expression, bool):
            raise ValueError(f"keep_expression must be True or False, got {self.keep_expression!r}")
        if not isinstance(self.close_mouth_in_silence, bool):
            raise ValueError(f"close_mouth_in_silence must be True or False, got {self.close_mouth_in_silence!r}")
        from eadnet.face.choice import FaceChoice  # numpy only; lazy to keep eadnet.settings free of eadnet.face

        object.__setattr__(self, "face", str(FaceChoice.parse(self.face)))

    @classmethod
    def from_options(cls, settings: GenerationSettings | None = None, **options: Any) -> GenerationSettings:
        """``settings`` (default: all unset) with flat ``options`` applied: names of :class:`SamplingDefaults` fields
        override the sampling, names of this class's own fields replace them; `None` leaves a field as it is.

        Raises:
            `TypeError`: an option that is neither.
        """
        settings = settings if settings is not None else cls()
        sampling_names = set(SamplingDefaults.names())
        own_names = {f.name for f in dataclasses.fields(cls)} - {"sampling"}
        unknown = sorted(set(options) - sampling_names - own_names)
        if unknown:
            raise TypeError(
                f"unknown generation option(s) {', '.join(unknown)}; known: "
                f"{', '.join(sorted(sampling_names | own_names))}"
            )
        given = {name: value for name, value in options.items() if value is not None}
        sampling = {name: value for name, value in given.items() if name in sampling_names}
        own = {name: value for name, value in given.items() if name in own_names}
        if sampling:
            own["sampling"] = SamplingDefaults(**sampling).over(settings.sampling)
        return dataclasses.replace(settings, **own) if own else settings

    def resolved(self, defaults: SamplingDefaults) -> GenerationSettings:
        """The same request with every sampling field set: these overrides, then ``defaults`` (a model's), then
        :data:`FALLBACK_SAMPLING`."""
        return dataclasses.replace(self, sampling=self.sampling.over(defaults.complete()))
