"""``EADNetPipeline``: portrait or source video + speech + emotion → talking-head frames.

Life cycle of one call (docs/design.md §3): check inputs → face stage (detect, align to the model's square crop,
smooth over time) → audio stage (Whisper features once, per-frame windows on demand) → emotion stage
(description → text tokens) → denoise the clip window by window (``window_size`` frames, the first
``window_overlap`` frames of each window pinned to the previous window's result so seams don't show, memory
independent of the clip length) → decode → blend the generated face region with the reference outside the
mask → paste back into the original frames with a feathered inverse transform.

The conditioning layout is LatentSync's (``latentsync/pipelines/lipsync_pipeline.py``): the U-Net input is
``[noisy latents 4 | keep-mask 1 | masked-frame latents 4 | reference latents 4]`` where the keep-mask is 1 on
the pixels kept from the reference (LatentSync's mask image convention), zero audio tokens are the
unconditional audio branch, and one initial noise is shared by all frames.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import PIL.Image
import torch
import torch.nn.functional as F
from diffusers import DiffusionPipeline
from diffusers.schedulers import DDIMScheduler
from diffusers.utils.torch_utils import randn_tensor

from eadnet.emotion import EmotionSpec
from eadnet.face import FaceProcessor
from eadnet.face.choice import FaceChoice
from eadnet.hub import get_preset, load_components
from eadnet.hub.presets import Preset
from eadnet.models.audio_encoder import WhisperAudioEncoder
from eadnet.models.autoencoder import vae_decode, vae_encode
from eadnet.models.emotion_captioner import EmotionCaptioner
from eadnet.models.feature_cache import DeepCache
from eadnet.models.text_encoder import EmotionTextEncoder
from eadnet.models.unet_3d import EADUNet3DModel
from eadnet.pipelines.inputs import (
    DEFAULT_FPS,
    LazyCrops,
    LazyFrames,
    mono_float,
    open_source,
    output_fps,
    source_timeline,
    stage_progress,
    to_uint8_rgb,
)
from eadnet.pipelines.pipeline_output import EADNetPipelineOutput, GenerationReport, WindowOutput
from eadnet.settings import NO_FACE_POLICIES, GenerationSettings, SamplingDefaults

logger = logging.getLogger(__name__)

OUTPUT_TYPES = ("pil", "np", "pt", "latent")
# Peak amplitude below which a speech track counts as silent (about -80 dBFS).
SILENCE_PEAK = 1e-4


class GenerationCancelled(RuntimeError):
    """Raised when a ``callback_on_step_end`` asks the pipeline to stop (``pipe.interrupt = True``)."""


@dataclass
class FacePlan:
    """Aligned source faces and, for every output frame, which of them (and which original frame) to use.

    For a source video streamed from disk, ``originals`` and ``crops`` are read on demand
    (:class:`~eadnet.pipelines.inputs.LazyFrames`, :class:`~eadnet.pipelines.inputs.LazyCrops`): index them
    like arrays, one frame or an array of indices at a time.

    Args:
        originals (`np.ndarray`): uint8 `(N, H, W, 3)` original frames (N = 1 for a portrait).
        crops (`np.ndarray`): uint8 `(N, S, S, 3)` aligned face crops.
        matrices (`np.ndarray`): `(N, 2, 3)` affine maps original → crop.
        schedule (`np.ndarray`): int `(F,)`: the source index of every output frame.
        silent (`np.ndarray`, *optional*): bool `(F,)`: output frames in a pause of the speech, which get the
            source's face with a closed, resting mouth (:meth:`EADNetPipeline.rest_latents`).
    """

    originals: np.ndarray  # uint8 (N, H, W, 3) original frames (N = 1 for a portrait)
    crops: np.ndarray  # uint8 (N, S, S, 3)
    matrices: np.ndarray  # (N, 2, 3) original -> crop
    schedule: np.ndarray  # int (F,) index into crops/originals for each output frame
    silent: np.ndarray | None = None

    @property
    def crop_size(self) -> int:
        return int(self.crops.shape[1])


class EADNetPipeline(DiffusionPipeline):
    r"""Emotion-aware talking-head generation.

    Args:
        unet ([`EADUNet3DModel`]): The denoiser.
        vae ([`~diffusers.AutoencoderKL`] or [`~diffusers.AutoencoderTiny`]): Image autoencoder for the face crops.
        scheduler ([`~diffusers.SchedulerMixin`]): Any diffusers scheduler (DDIM by default in the presets).
        audio_encoder ([`WhisperAudioEncoder`]): Speech → per-frame audio tokens.
        text_encoder ([`EmotionTextEncoder`]): Emotion description → guidance tokens.
        captioner ([`EmotionCaptioner`], *optional*): Emotion label / text / reference frames → description;
            a label/text-only captioner is created when omitted.
        face_processor (`eadnet.face.FaceProcessor`, *optional*): Face detection, alignment, mask and paste-back;
            created (MediaPipe) on first use when omitted.
    """

    model_cpu_offload_seq = "text_encoder->audio_encoder->unet->vae"
    _optional_components = ["captioner", "face_processor"]
    _callback_tensor_inputs = ["latents"]

    def __init__(
        self,
        unet: EADUNet3DModel,
        vae,
        scheduler,
        audio_encoder: WhisperAudioEncoder,
        text_encoder: EmotionTextEncoder,
        captioner: EmotionCaptioner | None = None,
        face_processor=None,
    ):
        super().__init__()
        self.register_modules(
            unet=unet,
            vae=vae,
            scheduler=scheduler,
            audio_encoder=audio_encoder,
            text_encoder=text_encoder,
            captioner=captioner,
            face_processor=face_processor,
        )
        self.vae_scale_factor = 2 ** (len(self.vae.config.block_out_channels) - 1)
        self._interrupt = False
        self._report: GenerationReport | None = None  # the run in progress
        self._synchronize_device: torch.device | None = None

    @classmethod
    def from_preset(
        cls,
        preset: str | Preset = "eadnet-mini",
        *,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        local_paths: dict[str, str] | None = None,
        models_dir: str | None = None,
        offline: bool | None = None,
        face_processor=None,
    ) -> EADNetPipeline:
        """Builds the pipeline of a weights preset (see :mod:`eadnet.hub.presets`), resolving every component
        from ``local_paths`` → ``models_dir`` → the Hugging Face cache → the Hub (pinned revisions).

        The default, ``"eadnet-mini"``, is the small trained model bundled with the package (64 px, no download);
        ``"offline-demo"`` is an untrained model for exercising the pipeline.

        Raises:
            `eadnet.hub.MissingWeightsError`: weights are missing and cannot be downloaded (offline); the
                message lists the files, repo ids and the folder to put them in.
        """
        spec = get_preset(preset) if isinstance(preset, str) else preset
        components = load_components(
            spec, device=device, dtype=dtype, local_paths=local_paths, models_dir=models_dir, offline=offline
        )
        if face_processor is None:
            face_processor = FaceProcessor(crop_size=spec.resolution, mask_mode=spec.mask_mode)
        # oneDNN convolutions are ~25 % faster in channels-last layout on CPU (measured on the TAESD decoder).
        components["vae"].to(memory_format=torch.channels_last)
        pipeline = cls(**components, face_processor=face_processor)
        pipeline.preset = spec
        return pipeline

    # ----------------------------------------------------------------------------------------------- helpers
    @property
    def interrupt(self) -> bool:
        return self._interrupt

    @interrupt.setter
    def interrupt(self, value: bool) -> None:
        self._interrupt = bool(value)

    @property
    def crop_size(self) -> int:
        return self._face_processor().crop_size

    @property
    def total_steps(self) -> int | None:
        """Denoising steps of the run in progress over all its windows, for ``callback_on_step_end`` progress bars
        (diffusers' ``num_timesteps``); `None` between runs. A finished run's count is in its report."""
        return None if self._report is None else self._report.total_steps

    @property
    def sampling_defaults(self) -> SamplingDefaults:
        """This model's complete sampling defaults: its preset's (a pipeline made by :meth:`from_preset`), else
        LatentSync's (:data:`~eadnet.settings.FALLBACK_SAMPLING`)."""
        preset = getattr(self, "preset", None)
        return (preset.sampling if preset is not None else SamplingDefaults()).complete()

    def _timed(self, stage: str):
        """Times the block into the report of the run in progress (no-op outside a run)."""
        if self._report is None:
            return contextlib.nullcontext()
        return self._report.timed(stage, self._synchronize_device)

    def _face_processor(self):
        if self.face_processor is None:
            self.register_modules(face_processor=FaceProcessor())
        return self.face_processor

    def _captioner(self) -> EmotionCaptioner:
        if self.captioner is None:
            self.register_modules(captioner=EmotionCaptioner())
        return self.captioner

    # ------------------------------------------------------------------------------------------ input stages
    def describe_emotion(
        self,
        emotion: str | EmotionSpec | None = None,
        emotion_text: str | None = None,
        emotion_reference=None,
    ) -> str | None:
        """The description that guides generation, from exactly one of: a label spec (``"happy"``,
        ``"happy:3"``) or an :class:`EmotionSpec`, free text, or reference frames. ``None`` if none is given."""
        spec = EmotionSpec.from_inputs(emotion, emotion_text, emotion_reference)
        return None if spec is None else self._captioner().caption(spec)

    def encode_emotion(self, description: str | None, text_guidance_scale: float):
        """Text tokens and mask for the description and, when text guidance is on, for the empty prompt."""
        if description is None or not self.unet.config.use_text_attention:
            return None
        tokens, mask = self.text_encoder(description)
        uncond = None
        if text_guidance_scale > 1.0:
            uncond = self.text_encoder.encode_unconditional(1, length=tokens.shape[1])
        return tokens, mask, uncond

    def emotion_action_units(self, emotion=None, emotion_text: str | None = None, emotion_reference=None):
        """The facial action units of the requested emotion (a label's EMFACS prototype, free text read by
        :func:`~eadnet.expression.text_units.text_action_units`, or reference frames measured from their face mesh),
        for the emotion warp; ``{}`` when no emotion is given."""
        from eadnet.expression.requested import ActionUnitReader  # lazy: only the emotion warp needs it

        spec = EmotionSpec.from_inputs(emotion, emotion_text, emotion_reference)
        detector = getattr(self._face_processor(), "detector", None)
        return ActionUnitReader(detector=detector).read(spec)[0]

    def warp_emotion(self, plan: FacePlan, action_units, keep_expression: bool = False) -> FacePlan:
        """The emotion warp: ``plan`` with its aligned face crops given ``action_units`` by the expression engine's
        fold-free warp (:class:`~eadnet.expression.editor.ExpressionEditor`; the face's own lip-corner expression is
        replaced unless ``keep_expression``). The reference and masked-frame latents are encoded from the crops, and
        the decoded faces keep them outside the mask, so the U-Net starts from a face that already shows the emotion
        — how a model whose emotion-text modules are untrained (the LatentSync-initialised presets) shows it at all.
        No units, or all zero: ``plan`` itself, untouched."""
        if not any(float(value) > 0 for value in (action_units or {}).values()):
            return plan
        from eadnet.expression.editor import ExpressionEditor  # lazy: OpenCV and SciPy only for the warp

        editor = ExpressionEditor(detector=getattr(self._face_processor(), "detector", None))

        def edit(crop):
            return editor.edit(crop, action_units=action_units, replace_expression=not keep_expression)

        if isinstance(plan.crops, LazyCrops):  # a streamed source: each crop is warped when it is read
            return dataclasses.replace(plan, crops=plan.crops.map(edit))
        return dataclasses.replace(plan, crops=np.stack([edit(crop) for crop in plan.crops]))

    def silent_frames(self, audio, sample_rate: float, num_frames: int, fps: float) -> np.ndarray:
        """bool ``(F,)``: the output frames inside a pause of the speech (0.2 s or longer, found by Silero VAD,
        :func:`~eadnet.models.voice_activity.speech_frames`), which get a closed, resting mouth."""
        from eadnet.models.voice_activity import speech_frames  # lazy: Silero is loaded on first use

        return np.asarray(speech_frames(mono_float(audio), sample_rate, num_frames, fps)) <= 0.0

    def rest_crop(self, crop: np.ndarray) -> np.ndarray:
        """An aligned crop with the face's mouth closed at rest (:meth:`FaceRig.rest_frame
        <eadnet.expression.rig.FaceRig.rest_frame>`); the crop itself when its face mesh is not found."""
        from eadnet.expression.rig import FaceRig  # lazy: OpenCV and SciPy only for the rest face

        detector = getattr(self._face_processor(), "detector", None)
        detection = None if detector is None else detector.detect(crop)
        if detection is None or np.asarray(detection.landmarks).shape[0] < 468:
            return crop
        return np.ascontiguousarray(FaceRig(crop, detection.landmarks).rest_frame())

    def prepare_audio(
        self, audio, sample_rate: int | float, fps: float, null_outliers: bool | None = None
    ) -> tuple[torch.Tensor, int]:
        """Stacked Whisper features for the whole track and the number of output frames.

        With ``null_outliers`` (`None`: the model's ``null_audio_outliers``, see :attr:`sampling_defaults`) the
        Whisper frames holding a massive activation (:meth:`WhisperAudioEncoder.outlier_frames`, mostly pauses
        between sentences) are zeroed: zero tokens are the null audio the U-Net learns with audio dropout. Never
        seen in training on single sentences, those frames turned eadnet-mini's face into noise."""
        if audio is None:
            raise ValueError("audio is required: a waveform (T,), (C, T) or (1, C, T) and its sample_rate")
        if sample_rate is None:
            raise ValueError("sample_rate is required with audio")
        waveform = audio.detach().cpu().float().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio)
        if waveform.ndim == 3:
            if waveform.shape[0] != 1:
                raise ValueError(f"audio must hold one clip, got a batch of {waveform.shape[0]}")
            waveform = waveform[0]
        if waveform.ndim not in (1, 2) or waveform.size == 0:
            raise ValueError(f"audio must be a non-empty (T,) or (C, T) waveform, got shape {waveform.shape}")
        if np.issubdtype(waveform.dtype, np.floating) and np.abs(waveform).max() < SILENCE_PEAK:
            raise ValueError("audio is silent: give a speech track (the talking head follows the speech)")
        num_samples = waveform.shape[-1]
        num_frames = max(1, math.ceil(num_samples * fps / sample_rate))
        features = self.audio_encoder.encode_whisper_features(waveform, sample_rate)
        if null_outliers is None:
            null_outliers = self.sampling_defaults.null_audio_outliers
        if null_outliers:
            outliers = self.audio_encoder.outlier_frames(features)
            if outliers.any():
                logger.info(
                    "audio: %d of %d Whisper frames hold massive activations; they get the null audio",
                    int(outliers.sum()),
                    outliers.numel(),
                )
                features = features.masked_fill(outliers[:, :, None, None], 0.0)
        return features, num_frames

    def prepare_faces(
        self,
        image,
        video,
        num_frames: int,
        fps: float,
        video_fps: float | None,
        no_face: str,
        face: str | None = None,
    ) -> FacePlan:
        """Aligns the portrait (or every source frame) and schedules a source frame for each output frame.

        ``video`` is frames in memory or a :class:`~eadnet.io.video_source.VideoSource` / file path, which is
        streamed: the face is tracked in one pass over the frames, and frames and crops are read again on demand
        (memory flat in the length). A source video is shown by time at ``fps`` and, when shorter than the audio,
        played back and forth. ``face`` chooses the face that talks (:class:`~eadnet.face.choice.FaceChoice`)."""
        if (image is None) == (video is None):
            raise ValueError("give exactly one of image (a portrait) or video (source frames)")
        if no_face not in NO_FACE_POLICIES:
            raise ValueError(f"no_face must be one of {NO_FACE_POLICIES}, got {no_face!r}")
        processor = self._face_processor()
        # the choice goes to the processor only when it is not the default (face processors written before
        # face choice existed keep working)
        choice = FaceChoice.parse(face)
        chosen = {} if choice.is_default else {"face": str(choice)}
        if image is not None:
            portrait = to_uint8_rgb(image, "image")
            aligned = processor.align_portrait(portrait, **chosen)
            return FacePlan(portrait[None], aligned.crops, aligned.matrices, np.zeros(num_frames, dtype=np.int64))
        source = open_source(video, video_fps)
        if source.array is not None:
            aligned = processor.align_frames(source.array, no_face=no_face, **chosen)
            originals, crops, matrices = source.array[aligned.source_index], aligned.crops, aligned.matrices
            kept = aligned.source_index
        else:
            frames = stage_progress(
                iter(source), len(source), "tracking the face", "frame", getattr(self, "_progress_bar_config", None)
            )
            matrices, kept, _ = processor.track_frames(frames, no_face=no_face, **chosen)
            originals = LazyFrames(source, kept)
            crops = LazyCrops(originals, matrices, processor.crop_size, processor.crop_frame)
        schedule = source_timeline(source, kept, num_frames, fps)
        return FacePlan(originals, crops, matrices, schedule)

    # ---------------------------------------------------------------------------------------------- VAE
    def _vae_encode(self, pixels: torch.Tensor) -> torch.Tensor:
        """``(N, 3, S, S)`` in [-1, 1] → scaled latents ``(N, 4, S/8, S/8)``."""
        return vae_encode(self.vae, pixels)

    def _vae_decode(self, latents: torch.Tensor, chunk: int) -> torch.Tensor:
        """Scaled latents ``(N, 4, h, w)`` → pixels ``(N, 3, S, S)`` in [-1, 1], ``chunk`` frames at a time."""
        return vae_decode(self.vae, latents, chunk)

    # ---------------------------------------------------------------------------------------------- settings
    def resolve_settings(self, settings: GenerationSettings | None = None, **options) -> GenerationSettings:
        """The one place settings are resolved: ``settings`` with the flat ``options`` applied
        (:meth:`GenerationSettings.from_options`; `None` values are unset), then every unset sampling field taken
        from this model's :attr:`sampling_defaults`. Invalid values raise `ValueError` here, before any work."""
        return GenerationSettings.from_options(settings, **options).resolved(self.sampling_defaults)

    def audio_shift(self, audio_offset: float | None, fps: float) -> int:
        """Whisper frames (20 ms) the audio windows move by for ``audio_offset`` video frames (`None`: the model's
        default) at ``fps``."""
        if audio_offset is None:
            audio_offset = self.sampling_defaults.audio_offset
        if (
            isinstance(audio_offset, bool)
            or not isinstance(audio_offset, (int, float))
            or not math.isfinite(audio_offset)
        ):
            raise ValueError(f"audio_offset must be a finite number of frames, got {audio_offset!r}")
        whisper_rate = self.audio_encoder.sampling_rate / self.audio_encoder.samples_per_token
        shift = round(float(audio_offset) * whisper_rate / float(fps))
        if abs(shift) > 5 * whisper_rate:
            raise ValueError(f"audio_offset must be within 5 s, got {audio_offset!r} frames at {fps} fps")
        return int(shift)

    def check_inputs(self, output_type: str = "pil", callback_on_step_end_tensor_inputs: list[str] | None = None):
        """Checks what :class:`GenerationSettings` does not hold (the settings check themselves)."""
        if output_type not in OUTPUT_TYPES:
            raise ValueError(f"output_type must be one of {OUTPUT_TYPES}, got {output_type!r}")
        unknown = [k for k in callback_on_step_end_tensor_inputs or [] if k not in self._callback_tensor_inputs]
        if unknown:
            raise ValueError(
                f"callback_on_step_end_tensor_inputs: unknown {unknown}; allowed {self._callback_tensor_inputs}"
            )

    @contextlib.contextmanager
    def _run(self, report: GenerationReport, settings: GenerationSettings):
        """The state of one run: its report (stage timings go there), cancellation reset, hooks freed at the end.

        A new run takes over from one whose windows were abandoned half-way (a generator that was neither
        exhausted nor closed); the abandoned one, when it is finally closed, leaves the new run's state alone."""
        self._report, self._interrupt = report, False
        device = self._execution_device
        sync = settings.synchronize_timings and device.type == "cuda"
        self._synchronize_device = device if sync else None
        try:
            yield report
        finally:
            if self._report is report:
                self._report, self._synchronize_device = None, None
                self.maybe_free_model_hooks()

    # --------------------------------------------------------------------------------------------- generate
    def generate_windows(
        self,
        image=None,
        audio=None,
        sample_rate: int | None = None,
        emotion: str | EmotionSpec | None = None,
        emotion_text: str | None = None,
        emotion_reference=None,
        video=None,
        video_fps: float | None = None,
        *,
        settings: GenerationSettings | None = None,
        generator: torch.Generator | None = None,
        callback_on_step_end: Callable | None = None,
        callback_on_step_end_tensor_inputs: list[str] | None = None,
        **options,
    ) -> Iterator[WindowOutput]:
        r"""Streams the talking-head clip window by window (what :meth:`__call__` collects).

        Memory does not grow with the clip length: only the current window's latents and frames exist at a time
        (plus the Whisper features of the whole track, a few MB per minute). Arguments as in :meth:`__call__`;
        settings are checked at once, the inputs when the first window is asked for. Every window carries the
        run's :class:`GenerationReport`, whose frame count, step count and emotion description are known from the
        first window on.

        Yields:
            :class:`WindowOutput` with the frames finished by each window, in order.
        """
        settings = self.resolve_settings(settings, **options)
        self.check_inputs("pil", callback_on_step_end_tensor_inputs)
        self.audio_shift(settings.sampling.audio_offset, settings.fps or DEFAULT_FPS)  # fails before any work
        inputs = (image, audio, sample_rate, emotion, emotion_text, emotion_reference, video, video_fps)
        return self._generate(inputs, settings, generator, callback_on_step_end, callback_on_step_end_tensor_inputs)

    @torch.no_grad()
    def _generate(self, inputs, settings, generator, callback_on_step_end, callback_tensor_inputs):
        image, audio, sample_rate, emotion, emotion_text, emotion_reference, video, video_fps = inputs
        sampling = settings.sampling
        source = None if video is None else open_source(video, video_fps)
        settings = dataclasses.replace(settings, fps=output_fps(settings.fps, source))
        with self._run(GenerationReport(fps=settings.fps, settings=settings), settings) as report:
            with self._timed("audio"):
                features, num_frames = self.prepare_audio(
                    audio, sample_rate, settings.fps, null_outliers=sampling.null_audio_outliers
                )
                silent = None
                if settings.close_mouth_in_silence:
                    silent = self.silent_frames(audio, sample_rate, num_frames, settings.fps)
            report.num_frames = num_frames
            if source is not None:
                source = source.until(num_frames / settings.fps)
            with self._timed("face"):
                plan = self.prepare_faces(
                    image, source, num_frames, settings.fps, None, settings.no_face, face=settings.face
                )
                plan = dataclasses.replace(plan, silent=silent)
            with self._timed("emotion"):
                description = self.describe_emotion(emotion, emotion_text, emotion_reference)
                text = self.encode_emotion(description, sampling.text_guidance_scale)
                if sampling.emotion_warp:
                    units = self.emotion_action_units(emotion, emotion_text, emotion_reference)
                    plan = self.warp_emotion(plan, units, settings.keep_expression)
            report.emotion_description = description
            yield from self._denoise(
                plan,
                features,
                num_frames,
                text,
                settings,
                generator,
                True,
                callback_on_step_end,
                callback_tensor_inputs,
            )

    def denoise_windows(
        self,
        plan: FacePlan,
        features: torch.Tensor,
        num_frames: int,
        text=None,
        *,
        settings: GenerationSettings | None = None,
        generator: torch.Generator | None = None,
        decode: bool = True,
        callback_on_step_end: Callable | None = None,
        callback_on_step_end_tensor_inputs: list[str] | None = None,
        action_units=None,
        **options,
    ) -> Iterator[WindowOutput]:
        r"""The denoising stage on prepared inputs (what the ComfyUI sampler node calls): ``plan`` from
        :meth:`prepare_faces`, ``features``/``num_frames`` from :meth:`prepare_audio`, ``text`` from
        :meth:`encode_emotion`, ``action_units`` from :meth:`emotion_action_units` (given to the crops by
        :meth:`warp_emotion` when the ``emotion_warp`` setting is on). With ``decode=False`` the windows carry
        latents only (decode them later with :meth:`decode_crops` and :meth:`paste_back` on the same plan). Other
        arguments as in :meth:`__call__`."""
        settings = self.resolve_settings(settings, **options)
        settings = dataclasses.replace(settings, fps=output_fps(settings.fps, None))
        self.check_inputs("pil", callback_on_step_end_tensor_inputs)
        self.audio_shift(settings.sampling.audio_offset, settings.fps)
        if settings.sampling.emotion_warp and action_units:
            plan = self.warp_emotion(plan, action_units, settings.keep_expression)
        return self._denoise_run(
            plan, features, num_frames, text, settings, generator, decode, callback_on_step_end,
            callback_on_step_end_tensor_inputs,
        )  # fmt: skip

    @torch.no_grad()
    def _denoise_run(self, plan, features, num_frames, text, settings, *args):
        report = GenerationReport(num_frames=num_frames, fps=settings.fps, settings=settings)
        with self._run(report, settings):
            yield from self._denoise(plan, features, num_frames, text, settings, *args)

    def _denoise(
        self,
        plan: FacePlan,
        features: torch.Tensor,
        num_frames: int,
        text,
        settings: GenerationSettings,
        generator: torch.Generator | None,
        decode: bool,
        callback_on_step_end: Callable | None,
        callback_tensor_inputs: list[str] | None,
    ) -> Iterator[WindowOutput]:
        """The window loop of a run (inside :meth:`_run`, settings resolved)."""
        report = self._report
        sampling = settings.sampling
        callback_tensor_inputs = callback_tensor_inputs or ["latents"]
        device = self._execution_device
        # Latents and the scheduler's arithmetic stay in fp32 whatever the models' dtype (a half-precision U-Net
        # and VAE get their inputs cast and give fp32 back: _guided_noise, _source_latents, _known_latents).
        dtype = torch.float32
        vae_dtype = self.vae.dtype
        fps, window_size = settings.fps, settings.window_size

        crop_size = plan.crop_size
        latent_size = crop_size // self.vae_scale_factor
        regen_mask = torch.from_numpy(np.ascontiguousarray(self._face_processor().mask(), dtype=np.float32))
        keep_mask = (1.0 - regen_mask).to(device=device)[None, None]  # (1, 1, S, S), fp32
        keep_mask_latent = F.interpolate(
            keep_mask, size=(latent_size, latent_size), mode="bilinear", align_corners=False
        )
        keep_mask_pixels = keep_mask.to(dtype=vae_dtype)

        # One initial noise shared by every frame and window (LatentSync): consistent look, reproducible seams.
        base_noise = randn_tensor((1, 4, 1, latent_size, latent_size), generator=generator, device=device, dtype=dtype)
        starts = _window_starts(num_frames, window_size, settings.window_overlap)
        self.scheduler.set_timesteps(sampling.num_inference_steps, device=device)
        timesteps = self.scheduler.timesteps
        if sampling.strength < 1.0:
            # Start from the reference noised part-way (SDEdit, Meng et al. 2022; diffusers' img2img "strength"):
            # the face's layout comes from the reference, the model only runs the last steps of the schedule.
            kept = max(1, round(sampling.num_inference_steps * sampling.strength))
            timesteps = timesteps[len(timesteps) - kept :]
        report.total_steps = len(starts) * len(timesteps)
        shift = self.audio_shift(sampling.audio_offset, fps)

        source_cache: dict[int, torch.Tensor] = {}
        rest_cache: dict[int, torch.Tensor] = {}
        deep_cache = None
        if sampling.cache_interval > 1:
            deep_cache = DeepCache(
                interval=sampling.cache_interval,
                depth=sampling.cache_depth,
                reuse_text_guidance=sampling.cache_text_guidance,
            )
        previous: torch.Tensor | None = None  # clean latents of the previous window
        previous_start = previous_end = 0
        step_counter = 0
        with self.progress_bar(total=report.total_steps) as progress:
            for start in starts:
                end = min(start + window_size, num_frames)
                length = end - start
                sources = plan.schedule[start:end]
                with self._timed("encode"):
                    masked_latents, ref_latents = self._source_latents(
                        plan, sources, keep_mask_pixels, source_cache, device, vae_dtype
                    )
                audio_embeds = self.audio_encoder.slice_frames(
                    features, length, start_frame=start, fps=fps, shift=shift
                )
                audio_embeds = audio_embeds.to(device=device, dtype=self.unet.dtype)

                if sampling.strength < 1.0:
                    latents = self._noised(ref_latents.transpose(0, 1)[None], base_noise, timesteps[0])
                else:
                    latents = base_noise.expand(-1, -1, length, -1, -1).clone() * self.scheduler.init_noise_sigma
                # Frames this window shares with the previous one (more than window_overlap for a last window
                # moved back to end at the clip's end), and frames in a pause of the speech: both are known and
                # pinned (temporal "known region" conditioning, as in RePaint-style inpainting).
                pinned = 0 if previous is None else min(max(previous_end - start, 0), length)
                known, known_index = self._known_latents(
                    plan, previous, start - previous_start, pinned, start, sources, rest_cache, device, vae_dtype
                )
                if known is not None:
                    latents[:, :, known_index] = self._noised(known, base_noise, timesteps[0])

                conditioning = torch.cat(
                    [keep_mask_latent.expand(length, -1, -1, -1), masked_latents, ref_latents], dim=1
                )
                conditioning = conditioning.transpose(0, 1)[None]  # (1, 9, n, h, w)
                if deep_cache is not None:
                    deep_cache.reset()  # a new window: new latents, the first step runs in full
                for step_index, timestep in enumerate(timesteps):
                    if self._interrupt:
                        raise GenerationCancelled("generation was cancelled")
                    with self._timed("denoise"):
                        model_input = self.scheduler.scale_model_input(latents, timestep)
                        if deep_cache is not None:
                            deep_cache.step(step_index)
                        noise_pred = self._guided_noise(
                            model_input, conditioning, timestep, audio_embeds, text, sampling, deep_cache
                        )
                        latents = self.scheduler.step(noise_pred, timestep, latents).prev_sample
                    if known is not None:
                        # Pin the known frames, noised to the level of the next step.
                        next_t = timesteps[step_index + 1] if step_index + 1 < len(timesteps) else None
                        latents[:, :, known_index] = (
                            known if next_t is None else self._noised(known, base_noise, next_t)
                        )
                    if callback_on_step_end is not None:
                        callback_kwargs = {"latents": latents} if callback_tensor_inputs else {}
                        outputs = callback_on_step_end(self, step_counter, timestep, callback_kwargs)
                        latents = (outputs or {}).get("latents", latents)
                    step_counter += 1
                    progress.update()
                if self._interrupt:
                    raise GenerationCancelled("generation was cancelled")

                previous, previous_start, previous_end = latents, start, end
                finished = latents[:, :, pinned:]
                frames = None
                if decode:
                    crops = self.decode_crops(finished, plan, start=start + pinned, chunk=settings.decode_chunk_size)
                    frames = self.paste_back(plan, crops, start=start + pinned)
                yield WindowOutput(start=start + pinned, frames=frames, latents=finished, report=report)

    def _known_latents(self, plan, previous, offset, pinned, start, sources, rest_cache, device, dtype):
        """The clean latents ``(1, 4, k, h, w)`` of a window's known frames and their positions in the window: the
        first ``pinned`` frames (the previous window's result) and the frames in a pause of the speech (the
        source's face with its mouth at rest, encoded once per source frame); ``(None, None)`` when none."""
        positions = list(range(pinned))
        parts = [previous[:, :, offset : offset + pinned]] if pinned else []
        if plan.silent is not None:
            silent = np.asarray(plan.silent[start : start + len(sources)], dtype=bool)
            for position in np.flatnonzero(silent):
                if position < pinned:
                    continue
                source = int(sources[position])
                if source not in rest_cache:
                    if len(rest_cache) > 64:
                        rest_cache.clear()
                    with self._timed("rest"):
                        crop = torch.from_numpy(self.rest_crop(plan.crops[source])).to(device=device, dtype=dtype)
                        rest_cache[source] = self._vae_encode(crop.permute(2, 0, 1)[None] / 127.5 - 1.0).float()
                parts.append(rest_cache[source].transpose(0, 1)[None])  # (1, 4, 1, h, w)
                positions.append(int(position))
        if not positions:
            return None, None
        return torch.cat(parts, dim=2), torch.tensor(positions, device=device)

    def _noised(self, clean: torch.Tensor, base_noise: torch.Tensor, timestep) -> torch.Tensor:
        noise = base_noise.expand(-1, -1, clean.shape[2], -1, -1)
        return self.scheduler.add_noise(clean, noise, torch.as_tensor([timestep]).reshape(1))

    def _source_latents(self, plan: FacePlan, sources: np.ndarray, keep_mask_pixels, cache, device, dtype):
        """Masked-frame and reference latents ``(n, 4, h, w)`` of a window; each distinct source crop is encoded
        once per call (a portrait: once for the whole clip)."""
        masked, refs = [], []
        for source in sources.tolist():
            if source not in cache:
                crop = torch.from_numpy(plan.crops[source]).to(device=device, dtype=dtype)
                crop = crop.permute(2, 0, 1)[None] / 127.5 - 1.0
                if len(cache) > 64:  # a long source video: keep the cache bounded
                    cache.clear()
                cache[source] = self._vae_encode(torch.cat([crop * keep_mask_pixels[0], crop])).float()
            encoded = cache[source]
            masked.append(encoded[0:1])
            refs.append(encoded[1:2])
        return torch.cat(masked), torch.cat(refs)

    def _guided_noise(
        self, model_input, conditioning, timestep, audio_embeds, text, sampling: SamplingDefaults, deep_cache=None
    ):
        """Noise prediction with separate audio and text classifier-free guidance:
        ``ε = ε(a, t) + (s_a − 1)(ε(a, t) − ε(∅, t)) + (s_t − 1)(ε(a, t) − ε(a, ∅))``; each extra branch runs only
        when its scale is above 1 (zero audio tokens are the null audio, the empty prompt the null text)."""
        audio_scale, text_scale = sampling.audio_guidance_scale, sampling.text_guidance_scale
        unet_input = torch.cat([model_input, conditioning], dim=1)
        tokens, mask, uncond = text if text is not None else (None, None, None)
        branches = [(audio_embeds, tokens, mask)]
        use_audio_cfg = audio_scale > 1.0
        use_text_cfg = text_scale > 1.0 and uncond is not None
        if use_audio_cfg:
            branches.append((torch.zeros_like(audio_embeds), tokens, mask))
        if use_text_cfg:
            branches.append((audio_embeds, uncond[0], uncond[1]))
        num_frames = model_input.shape[2]
        # a cached step may skip the text branch (the last) and reuse its guidance term from the last full pass:
        # the emotion changes slowly across steps; the audio branch, which moves the mouth, always runs
        reuse_text = (
            use_text_cfg and deep_cache is not None and deep_cache.text_guidance_usable(len(branches) - 1, num_frames)
        )
        if reuse_text:
            branches.pop()
        batch = len(branches)
        cache = {} if deep_cache is None else {"deep_cache": deep_cache}  # all branches in one batch: one cache
        # decided here, as the U-Net decides it, rather than counted in the U-Net (whose counters a compiled U-Net
        # leaves alone)
        full_pass = deep_cache is not None and not deep_cache.usable(batch, num_frames)
        unet_dtype = self.unet.dtype
        predictions = (
            self.unet(
                unet_input.to(unet_dtype).expand(batch, -1, -1, -1, -1),
                timestep,
                audio_embeds=torch.cat([b[0] for b in branches]).to(unet_dtype),
                text_embeds=None if tokens is None else torch.cat([b[1] for b in branches]).to(unet_dtype),
                text_attention_mask=None if tokens is None else torch.cat([b[2] for b in branches]),
                **cache,
            )
            .sample.float()  # guidance and the scheduler step in fp32
            .chunk(batch)
        )
        noise = predictions[0]
        if use_audio_cfg:
            noise = noise + (audio_scale - 1.0) * (predictions[0] - predictions[1])
        if reuse_text:
            noise = noise + deep_cache.text_guidance
        elif use_text_cfg:
            term = (text_scale - 1.0) * (predictions[0] - predictions[-1])
            noise = noise + term
            if full_pass and deep_cache.reuse_text_guidance:
                deep_cache.text_guidance = term  # kept from a full pass only
        return noise

    def decode_crops(self, latents: torch.Tensor, plan: FacePlan, start: int = 0, chunk: int = 8) -> np.ndarray:
        """Decodes crop latents ``(1, 4, n, h, w)`` of output frames ``start .. start + n`` and keeps the reference
        crop outside the face mask → uint8 crops ``(n, S, S, 3)``."""
        count = latents.shape[2]
        if count == 0:
            return np.zeros((0, *plan.crops.shape[1:]), dtype=np.uint8)
        if start < 0 or start + count > len(plan.schedule):
            raise ValueError(
                f"latents cover frames {start}..{start + count - 1} but the face plan has {len(plan.schedule)} frames"
            )
        with self._timed("decode"):
            latents = latents.to(device=self._execution_device, dtype=self.vae.dtype)
            decoded = self._vae_decode(latents[0].transpose(0, 1), chunk)  # (n, 3, S, S)
            sources = plan.schedule[start : start + count]
            reference = torch.from_numpy(np.asarray(plan.crops[sources])).to(decoded.device, decoded.dtype)
            reference = reference.permute(0, 3, 1, 2) / 127.5 - 1.0
            regen = torch.from_numpy(np.ascontiguousarray(self._face_processor().mask(), dtype=np.float32))
            mask = regen.to(decoded.device, decoded.dtype)[None, None]
            crops = decoded * mask + reference * (1 - mask)
            return ((crops + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()

    def paste_back(self, plan: FacePlan, crops: np.ndarray, start: int = 0) -> np.ndarray:
        """Pastes uint8 crops ``(n, S, S, 3)`` of output frames ``start .. start + n`` back into their original
        frames → uint8 ``(n, H, W, 3)``."""
        count = len(crops)
        if start < 0 or start + count > len(plan.schedule):
            raise ValueError(
                f"crops cover frames {start}..{start + count - 1} but the face plan has {len(plan.schedule)} frames"
            )
        if count == 0:
            return np.zeros((0, *plan.originals.shape[1:]), dtype=np.uint8)
        with self._timed("paste"):
            processor = self._face_processor()
            sources = plan.schedule[start : start + count].tolist()
            return np.stack(
                [
                    processor.paste_back_frame(plan.originals[source], crop, plan.matrices[source])
                    for source, crop in zip(sources, crops, strict=True)
                ]
            )

    # ------------------------------------------------------------------------------------------------ call
    def __call__(
        self,
        image=None,
        audio=None,
        sample_rate: int | None = None,
        emotion: str | EmotionSpec | None = None,
        emotion_text: str | None = None,
        emotion_reference=None,
        video=None,
        video_fps: float | None = None,
        *,
        settings: GenerationSettings | None = None,
        generator: torch.Generator | None = None,
        output_type: str = "pil",
        return_dict: bool = True,
        callback_on_step_end: Callable | None = None,
        callback_on_step_end_tensor_inputs: list[str] | None = None,
        **options,
    ) -> EADNetPipelineOutput | tuple:
        r"""Generates a talking-head clip.

        Args:
            image (`PIL.Image.Image`, `np.ndarray` or `torch.Tensor`, *optional*): The portrait (RGB `(H, W, 3)`
                uint8 or float in [0, 1], or `(3, H, W)` tensor). Give this or ``video``.
            audio (`np.ndarray` or `torch.Tensor`): Speech, `(T,)` or `(C, T)`, any rate and channel count.
            sample_rate (`int`): Sample rate of ``audio``.
            emotion (`str` or `EmotionSpec`, *optional*): ``"LABEL"`` or ``"LABEL:INTENSITY"`` (MEAD labels,
                intensity 1–3), or an :class:`~eadnet.emotion.EmotionSpec`.
            emotion_text (`str`, *optional*): Free-text emotion description.
            emotion_reference (*optional*): Reference image(s)/frames whose facial emotion a VLM describes
                (needs a captioner with a vision-language model).
            video (`str`, `os.PathLike`, :class:`~eadnet.io.video_source.VideoSource`, `np.ndarray`
                `(N, H, W, 3)` uint8 or list of images, *optional*): The source video to dub instead of a portrait: a
                file is streamed (memory flat in its length); shown by time and played back and forth when shorter
                than the audio. The output keeps its frame rate unless ``fps`` is given.
            video_fps (`float`, *optional*): Frame rate of ``video`` frames given in memory (default 25).
            settings ([`~eadnet.settings.GenerationSettings`], *optional*): Sampling overrides (steps, guidance,
                strength, audio offset, ...; unset ones are the model's :attr:`sampling_defaults`) and the request's
                frame rate, windows, ``no_face`` policy and VAE chunk size.
            generator (`torch.Generator`, *optional*): Makes the result reproducible.
            output_type (`str`, *optional*, defaults to `"pil"`): ``"pil"``, ``"np"``, ``"pt"`` or ``"latent"``.
            return_dict (`bool`, *optional*, defaults to `True`): Return an :class:`EADNetPipelineOutput`.
            callback_on_step_end (`Callable`, *optional*): ``callback(pipe, step, timestep, callback_kwargs)``
                called after every denoising step (``step`` counts across windows up to ``pipe.total_steps``);
                may return ``{"latents": ...}``; setting ``pipe.interrupt = True`` cancels generation with
                :class:`GenerationCancelled`.
            callback_on_step_end_tensor_inputs (`list[str]`, *optional*): Tensors passed to the callback.
            **options: Fields of :class:`~eadnet.settings.GenerationSettings` or
                :class:`~eadnet.settings.SamplingDefaults` by name (``num_inference_steps=10, fps=30``), applied over
                ``settings``; `None` leaves a field unset.

        Returns:
            :class:`EADNetPipelineOutput` (or a tuple ``(frames, fps, emotion_description)``).
        """
        self.check_inputs(output_type, callback_on_step_end_tensor_inputs)
        frames, latents, report = [], [], None
        for window in self.generate_windows(
            image,
            audio,
            sample_rate,
            emotion,
            emotion_text,
            emotion_reference,
            video,
            video_fps,
            settings=settings,
            generator=generator,
            callback_on_step_end=callback_on_step_end,
            callback_on_step_end_tensor_inputs=callback_on_step_end_tensor_inputs,
            **options,
        ):
            report = window.report
            if output_type == "latent":
                latents.append(window.latents)
            else:
                frames.append(window.frames)
        if output_type == "latent":
            result = torch.cat(latents, dim=2)
        else:
            video_frames = np.concatenate(frames)
            if output_type == "pil":
                result = [PIL.Image.fromarray(frame) for frame in video_frames]
            elif output_type == "np":
                result = video_frames.astype(np.float32) / 255.0
            else:
                result = torch.from_numpy(video_frames).permute(0, 3, 1, 2).float() / 255.0
        if not return_dict:
            return result, report.fps, report.emotion_description
        return EADNetPipelineOutput(
            frames=result, fps=report.fps, emotion_description=report.emotion_description, report=report
        )


def _window_starts(num_frames: int, window_size: int, overlap: int) -> list[int]:
    """Start frames of the windows covering ``num_frames``; the last window ends exactly at the clip's end."""
    if num_frames <= window_size:
        return [0]
    step = window_size - overlap
    starts = list(range(0, num_frames - window_size + 1, step))
    if starts[-1] + window_size < num_frames:
        starts.append(num_frames - window_size)
    return starts


def default_scheduler() -> DDIMScheduler:
    """LatentSync's scheduler (docs/design.md §2.3): DDIM, 1000 steps, scaled-linear betas 0.00085–0.012."""
    return DDIMScheduler(
        num_train_timesteps=1000,
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        steps_offset=1,
        clip_sample=False,
        set_alpha_to_one=False,
    )
