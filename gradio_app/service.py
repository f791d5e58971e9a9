"""The generation service behind the Gradio app: one loaded pipeline per process, input limits, outputs.

Plain Python (no ``gradio`` import): the UI layer turns :class:`ServiceError` into ``gr.Error`` and feeds
``gr.Progress`` from ``progress_callback``.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from eadnet.emotion import (
    DEFAULT_INTENSITY,
    DEFAULT_MAX_TEXT_CHARS,
    EMOTION_LABELS,
    EmotionSpec,
    check_intensity,
    normalize_label,
)
from eadnet.face import FaceChoice, FaceChoiceError, NoFaceError
from eadnet.hub import get_preset, list_presets
from eadnet.hub.local import resolve_model
from eadnet.io.audio import AudioError, check_speech, load_audio
from eadnet.io.image import ImageError, load_image
from eadnet.io.video import VideoError, probe_video, read_video
from eadnet.io.video_source import VideoSource
from eadnet.pipelines.engines import DEFAULT_MODEL, is_mesh_model

logger = logging.getLogger(__name__)

EMOTION_MODES = ("label", "text", "reference")
DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_AUDIO_SECONDS = 60.0
DEFAULT_OUTPUT_MAX_AGE = 3600.0
MAX_STEPS = 50
#: Longest side of source-video frames in the app: larger videos are scaled down as they are read.
MAX_VIDEO_SIDE = 1920
#: The expression editor's slider groups, in the order the app shows them (see eadnet.expression.editor.AU_GROUPS).
EXPRESSION_SLIDERS = ("brow_raise", "frown", "eye_open", "smile", "lip_corner_depress", "nose_wrinkle", "jaw")


#: The emotion-warp choices of the advanced options: the model's own setting, or forced on or off.
EMOTION_WARP_CHOICES = ("model default", "on", "off")


def _emotion_warp(choice: str | None) -> bool | None:
    if choice in (None, "", EMOTION_WARP_CHOICES[0]):
        return None
    if choice not in EMOTION_WARP_CHOICES:
        raise ServiceError(f"Emotion warp must be one of {', '.join(EMOTION_WARP_CHOICES)}, got {choice!r}.")
    return choice == "on"


class ServiceError(ValueError):
    """An input or request the service refuses; the message is meant for the person using the app."""


class GenerationCancelledError(ServiceError):
    """The request was cancelled between denoising steps."""


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return float(value)
    except ValueError as error:
        raise ValueError(f"{name}={value!r} is not a number") from error


#: The diffusion models' precisions the app can load (``$EADNET_DTYPE``).
DTYPES = ("float32", "float16", "bfloat16")


class GenerationService:
    """Owns the pipeline (loaded on first use, guarded by a lock) and turns app inputs into an mp4.

    Args:
        model: ``eadnet-mesh``, a weights preset name or a model folder (default: ``$EADNET_MODEL`` or
            ``eadnet-mesh``, the face-geometry engine that animates any face offline).
        allowed_dirs: folders whose files may be read (the upload folder); any other path is refused.
        max_upload_bytes: largest accepted input file.
        max_audio_seconds: longest accepted speech (default: ``$EADNET_MAX_AUDIO_SECONDS`` or 60).
        output_max_age: outputs older than this many seconds are deleted on each request.
        device: torch device (default: cuda when available).
        dtype: the diffusion models' precision, ``float32``, ``float16`` or ``bfloat16`` (default: ``$EADNET_DTYPE``,
            else float16 on a GPU and float32 on a CPU); Whisper and the sampler's arithmetic stay float32.
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        allowed_dirs: Iterable[str | os.PathLike] = (),
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
        max_audio_seconds: float | None = None,
        output_max_age: float = DEFAULT_OUTPUT_MAX_AGE,
        device: str | None = None,
        dtype: str | None = None,
    ) -> None:
        self.model = str(model or os.environ.get("EADNET_MODEL") or DEFAULT_MODEL)
        self.dtype = dtype or os.environ.get("EADNET_DTYPE") or None
        if self.dtype not in (None, *DTYPES):
            raise ValueError(f"dtype (EADNET_DTYPE) must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        self.allowed_dirs = [Path(d).resolve() for d in allowed_dirs]
        self.max_upload_bytes = int(max_upload_bytes)
        self.max_audio_seconds = (
            float(max_audio_seconds)
            if max_audio_seconds is not None
            else _env_float("EADNET_MAX_AUDIO_SECONDS", DEFAULT_MAX_AUDIO_SECONDS)
        )
        self.output_max_age = float(output_max_age)
        self.device = device
        self.output_dir = Path(tempfile.mkdtemp(prefix="eadnet-gradio-"))
        self._lock = threading.Lock()
        self._pipe = None
        self._preset = None
        self._editor = None

    # ------------------------------------------------------------------------------------------- pipeline
    def _pipeline(self):
        """The loaded pipeline; call with ``self._lock`` held."""
        if self._pipe is None:
            # lazy: torch and the pipeline (diffusers, transformers) load with the model on the first request, so
            # the app starts in seconds
            import torch

            from eadnet.pipelines.engines import load_pipeline

            preset = None
            if not is_mesh_model(self.model):
                try:
                    preset, _ = resolve_model(self.model)
                except (ValueError, FileNotFoundError) as error:
                    raise ServiceError(f"model {self.model!r}: {error}") from error
            device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
            dtype = self.dtype or ("float16" if device.startswith("cuda") else "float32")
            logger.info("loading EAD-Net %s on %s (%s)", self.model, device, dtype)
            try:
                self._pipe = load_pipeline(self.model, device=device, dtype=getattr(torch, dtype))
            except FileNotFoundError as error:
                raise ServiceError(f"model {self.model!r}: {error}") from error
            self._pipe.set_progress_bar_config(disable=True)
            self._preset = preset
            if preset is not None and not preset.trained:
                logger.warning("preset %s carries untrained weights: the face region will be noise", preset.name)
        return self._pipe

    @property
    def preset(self):
        return self._preset

    def model_notice(self) -> str | None:
        """One line about the configured model for the page (Markdown), read from its preset without loading
        weights; ``None`` for a model folder."""
        if is_mesh_model(self.model):
            return (
                f"Model: `{self.model}`, the face-geometry engine: it moves the person's own face (any face, any "
                "resolution, no GPU). Its model card is `eadnet/weights/eadnet-mesh/MODEL_CARD.md`."
            )
        if self.model not in list_presets():
            return None
        preset = get_preset(self.model)
        if not preset.trained:
            return f"**Note:** the `{preset.name}` model is untrained: the face region will be noise."
        if preset.name == "eadnet-mini":
            return (
                f"Model: `{preset.name}`, the small trained EAD-Net bundled with the package (runs offline; "
                f"the face is generated at {preset.resolution} px). It was trained on ONE face and paints other "
                "faces as a blur: its model card, `eadnet/weights/eadnet-mini/MODEL_CARD.md`, says more."
            )
        return f"Model: `{preset.name}`."

    # ------------------------------------------------------------------------------------------- inputs
    def _check_path(self, path: str | os.PathLike | None, what: str, required: bool = False) -> Path | None:
        if path is None or str(path) == "":
            if required:
                raise ServiceError(f"Please provide the {what}.")
            return None
        resolved = Path(path).resolve()
        if not any(resolved.is_relative_to(folder) for folder in self.allowed_dirs):
            raise ServiceError(f"The {what} must be an uploaded file; {Path(path).name!r} is not one.")
        if not resolved.is_file():
            raise ServiceError(f"The {what} {resolved.name!r} does not exist (upload it again).")
        size = resolved.stat().st_size
        if size > self.max_upload_bytes:
            raise ServiceError(
                f"The {what} is {size / 2**20:.1f} MB; the limit is {self.max_upload_bytes / 2**20:.1f} MB."
            )
        if size == 0:
            raise ServiceError(f"The {what} is an empty file.")
        return resolved

    @staticmethod
    def _is_image(path: Path) -> bool:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as image:
                image.verify()
            return True
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            return False

    def _read_image(self, path: Path, what: str):
        if not self._is_image(path):
            raise ServiceError(f"The {what} is not an image file (checked by content, not by its name).")
        try:
            return load_image(path)
        except (ImageError, OSError, ValueError) as error:
            raise ServiceError(f"The {what} could not be read: {error}") from error

    def _read_video(self, path: Path, what: str, max_frames: int | None = None):
        try:
            probe_video(path)
            return read_video(path, max_frames=max_frames)
        except (VideoError, OSError) as error:
            raise ServiceError(f"The {what} is not a readable video: {error}") from error

    def _open_video(self, path: Path, what: str):
        """The source video, streamed (frames decoded as the generation needs them; larger than 1080p is scaled
        down to :data:`MAX_VIDEO_SIDE` on the way in); it keeps its own frame rate."""
        try:
            return VideoSource.open(path, max_side=MAX_VIDEO_SIDE)
        except (VideoError, OSError) as error:
            raise ServiceError(f"The {what} is not a readable video: {error}") from error

    def _read_audio(self, path: Path):
        try:
            waveform, sample_rate = load_audio(path, max_duration=self.max_audio_seconds)
        except AudioError as error:
            if "long" in str(error).lower() or "longer" in str(error).lower():
                raise ServiceError(
                    f"The speech is too long: the limit is {self.max_audio_seconds:g} seconds. ({error})"
                ) from error
            raise ServiceError(f"The speech is not a readable audio file (checked by content): {error}") from error
        except OSError as error:
            raise ServiceError(f"The speech could not be read: {error}") from error
        try:
            check_speech(waveform, sample_rate, name="speech")
        except AudioError as error:
            raise ServiceError(str(error)) from error
        return waveform, sample_rate

    # ------------------------------------------------------------------------------------------- outputs
    def cleanup(self, max_age_seconds: float | None = None) -> int:
        """Deletes outputs older than ``max_age_seconds`` (default: ``output_max_age``); returns how many."""
        max_age = self.output_max_age if max_age_seconds is None else max_age_seconds
        cutoff = time.time() - max_age
        removed = 0
        if not self.output_dir.is_dir():
            self.output_dir.mkdir(parents=True, exist_ok=True)
            return 0
        for entry in self.output_dir.iterdir():
            try:
                if entry.stat().st_mtime <= cutoff:
                    if entry.is_dir():
                        shutil.rmtree(entry, ignore_errors=True)
                    else:
                        entry.unlink(missing_ok=True)
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    # ------------------------------------------------------------------------------------------- generate
    def generate(
        self,
        portrait_path=None,
        video_path=None,
        audio_path=None,
        emotion_mode: str = "label",
        label: str | None = "neutral",
        intensity: float | int = 2,
        text: str | None = None,
        reference_path=None,
        steps: int | float | None = None,
        audio_guidance: float | None = None,
        text_guidance: float | None = None,
        seed: int | float | None = 0,
        emotion_warp: str | None = None,
        face: str | None = None,
        progress_callback: Callable[[float, str], None] | None = None,
        cancel_event: threading.Event | None = None,
    ) -> tuple[str, str, str]:
        """Makes the talking-head mp4; returns ``(mp4 path, emotion description, timings text)``.

        ``face`` chooses who talks in a group shot (``"largest"``, ``"center"``, ``"N"``, ``"X,Y"`` or
        ``"X0,Y0,X1,Y1"``, see :mod:`eadnet.face.choice`); empty or `None` leaves the model's default.

        Raises:
            ServiceError: a readable message for any refused input; ``GenerationCancelledError`` when
                ``cancel_event`` is set during generation.
        """
        started = time.perf_counter()
        self.cleanup()
        report = progress_callback or (lambda fraction, message: None)

        portrait = self._check_path(portrait_path, "portrait")
        video = self._check_path(video_path, "source video")
        if portrait is None and video is None:
            raise ServiceError("Please provide a portrait image or a source video.")
        audio = self._check_path(audio_path, "speech", required=True)

        emotion = emotion_text = reference = None
        mode = (emotion_mode or "label").strip().lower()
        if mode not in EMOTION_MODES:
            raise ServiceError(f"Unknown emotion mode {emotion_mode!r}; use one of {', '.join(EMOTION_MODES)}.")
        if mode == "label":
            try:
                name = normalize_label(label or "neutral")
            except ValueError as error:
                raise ServiceError(f"Unknown emotion {label!r}; use one of {', '.join(EMOTION_LABELS)}.") from error
            try:
                level = check_intensity(round(float(intensity if intensity is not None else DEFAULT_INTENSITY)))
            except ValueError as error:
                raise ServiceError(f"Emotion intensity must be 1, 2 or 3, got {intensity}.") from error
            emotion = EmotionSpec(label=name, intensity=level)
        elif mode == "text":
            emotion_text = (text or "").strip()
            if not emotion_text:
                raise ServiceError("Please describe the emotion in the text box (or pick a label).")
            if len(emotion_text) > DEFAULT_MAX_TEXT_CHARS:
                raise ServiceError(f"The emotion text is too long ({DEFAULT_MAX_TEXT_CHARS} characters at most).")
        else:
            reference = self._check_path(reference_path, "emotion reference video", required=True)

        if steps is not None and not 1 <= int(steps) <= MAX_STEPS:
            raise ServiceError(f"Steps must be between 1 and {MAX_STEPS}, got {steps}.")
        for name, value in (("Audio guidance", audio_guidance), ("Text guidance", text_guidance)):
            if value is not None and not 0.0 <= float(value) <= 10.0:
                raise ServiceError(f"{name} must be between 0 and 10, got {value}.")
        face = (face or "").strip() or None
        if face is not None:
            try:
                FaceChoice.parse(face)  # refused before any file is read or the model loads; the pipeline parses it
            except ValueError as error:
                raise ServiceError(str(error)) from error

        report(0.0, "reading inputs")
        waveform, sample_rate = self._read_audio(audio)
        image = source = None
        if video is not None:
            source = self._open_video(video, "source video")
        else:
            image = self._read_image(portrait, "portrait")
        emotion_reference = None
        if reference is not None:
            if self._is_image(reference):
                emotion_reference = [self._read_image(reference, "emotion reference")]
            else:
                emotion_reference, _ = self._read_video(reference, "emotion reference video", max_frames=250)

        import torch  # lazy: see _pipeline

        from eadnet.pipelines import GenerationCancelled, write_talking_video

        output = self.output_dir / f"eadnet-{uuid.uuid4().hex[:12]}.mp4"
        with self._lock:
            report(0.02, "loading the model")
            load_start = time.perf_counter()
            pipe = self._pipeline()
            needs_vlm = emotion_reference is not None and not is_mesh_model(self.model)
            if needs_vlm and getattr(pipe, "captioner", None) is None:
                try:
                    from eadnet.models.emotion_captioner import DEFAULT_VLM_ID, EmotionCaptioner  # lazy: as torch

                    pipe.register_modules(
                        captioner=EmotionCaptioner.from_pretrained(DEFAULT_VLM_ID, device=pipe.device)
                    )
                except Exception as error:  # a missing VLM must read as a refused request, not a crash
                    raise ServiceError(
                        f"Emotion from a reference video needs the vision-language model, which "
                        f"could not be loaded here: {error}"
                    ) from error
            load_seconds = time.perf_counter() - load_start
            preset = self._preset

            if cancel_event is not None and cancel_event.is_set():
                raise GenerationCancelledError("Generation was cancelled.")

            unit = "frame" if is_mesh_model(self.model) else "denoising step"

            def on_progress(done: int, total: int) -> None:
                report(0.05 + 0.9 * done / total, f"{unit} {done}/{total}")

            try:
                result = write_talking_video(
                    pipe,
                    output,
                    image=image,
                    video=source,
                    audio=waveform,
                    sample_rate=sample_rate,
                    emotion=emotion,
                    emotion_text=emotion_text,
                    emotion_reference=emotion_reference,
                    generator=torch.Generator(device="cpu").manual_seed(int(seed or 0)),
                    progress=on_progress,
                    cancel=cancel_event,
                    num_inference_steps=None if steps is None else int(steps),
                    audio_guidance_scale=None if audio_guidance is None else float(audio_guidance),
                    text_guidance_scale=None if text_guidance is None else float(text_guidance),
                    emotion_warp=_emotion_warp(emotion_warp),
                    face=face,
                )
            except GenerationCancelled as error:
                raise GenerationCancelledError("Generation was cancelled.") from error
            except FaceChoiceError as error:
                raise ServiceError(
                    f"{error}. Choose one of these (a number counts from 0 = leftmost), click it on the portrait, "
                    "or leave the face at 'largest'."
                ) from error
            except NoFaceError as error:
                raise ServiceError(f"No face was found: {error}") from error
            except ServiceError:
                raise
            except ValueError as error:
                raise ServiceError(str(error)) from error

        report(1.0, "done")
        timings_text = (
            f"{result.num_frames} frames at {result.fps:g} fps ({result.duration:.2f} s); "
            f"{result.format_timings(load=load_seconds, total=time.perf_counter() - started)} s"
        )
        if preset is not None and not preset.trained:
            timings_text += f"\nNote: model '{preset.name}' is untrained; the face region is noise."
        description = result.emotion_description or ""
        return str(output), description, timings_text

    # ------------------------------------------------------------------------------------------- editor
    def edit_expression(
        self,
        image_path=None,
        emotion: str | None = "none",
        intensity: float | int = 2,
        sliders: dict[str, float] | None = None,
        pitch: float = 0.0,
        yaw: float = 0.0,
        roll: float = 0.0,
        keep_expression: bool = False,
    ) -> str:
        """Applies an expression to an uploaded photo; returns the path of the edited PNG (same size as the input).

        Raises:
            ServiceError: a readable message for any refused input (no face, a bad value, not an image).
        """
        # lazy: the editor imports OpenCV, SciPy and MediaPipe
        from eadnet.expression.editor import ExpressionEditor, group_action_units
        from eadnet.expression.rig import HeadPose

        self.cleanup()
        path = self._check_path(image_path, "photo", required=True)
        image = self._read_image(path, "photo")
        label = None if emotion in (None, "", "none") else emotion
        try:
            level = check_intensity(round(float(intensity if intensity is not None else DEFAULT_INTENSITY)))
            units = group_action_units(**{name: float(value or 0.0) for name, value in (sliders or {}).items()})
            pose = HeadPose(pitch=float(pitch or 0.0), yaw=float(yaw or 0.0), roll=float(roll or 0.0))
            if label is not None:
                label = normalize_label(label)
        except ValueError as error:
            raise ServiceError(str(error)) from error
        with self._lock:
            if self._editor is None:
                self._editor = ExpressionEditor()
            try:
                edited = self._editor.edit(
                    image, action_units=units, emotion=label, intensity=level, pose=pose,
                    keep_expression=bool(keep_expression),
                )  # fmt: skip
            except NoFaceError as error:
                raise ServiceError(f"No face was found: {error}") from error
            except ValueError as error:
                raise ServiceError(str(error)) from error
        from PIL import Image  # lazy: PIL comes with the editor's imports anyway

        output = self.output_dir / f"expression-{uuid.uuid4().hex[:12]}.png"
        Image.fromarray(edited).save(output)
        return str(output)
