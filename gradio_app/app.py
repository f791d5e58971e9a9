"""Layout and event wiring of the EAD-Net Gradio app (the pipeline lives in :mod:`gradio_app.service`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import gradio as gr

from eadnet.assets import (
    example_emotion_reference_path,
    example_portrait_path,
    example_source_video_path,
    example_speech_path,
)
from eadnet.emotion import EMOTION_LABELS
from eadnet.io.audio import audio_duration
from eadnet.settings import GenerationSettings
from gradio_app.service import (
    EMOTION_WARP_CHOICES,
    EXPRESSION_SLIDERS,
    MAX_STEPS,
    GenerationCancelledError,
    GenerationService,
    ServiceError,
)

MODE_CHOICES = [("Label + intensity", "label"), ("Free text", "text"), ("Reference video", "reference")]
#: The examples: the bundled portrait and speech with several emotions, ``(label, intensity)`` or free text.
EXAMPLE_EMOTIONS = (
    ("happy", 2),
    ("sad", 2),
    ("angry", 3),
    ("surprised", 2),
    "a calm speaker with a faint, warm smile",
)
AXES = ("pitch", "yaw", "roll")
#: The face that talks when none is chosen (the library's default, shown in the Face box).
DEFAULT_FACE = GenerationSettings.face
FACE_INFO = (
    "Which face talks in a group shot: largest, center, N (0 = leftmost), X,Y (click the face on the portrait) or "
    "X0,Y0,X1,Y1, in pixels of the portrait or the source video."
)
GPU_SECONDS_PER_AUDIO_SECOND = 4.0
GPU_BASE_SECONDS = 30.0
GPU_MAX_SECONDS = 300.0


def gpu_decorator(duration_fn: Callable[..., float]) -> Callable[[Callable], Callable]:
    """``spaces.GPU(duration=duration_fn)`` on a ZeroGPU Space; a no-op wherever ``spaces`` is not installed."""
    try:
        import spaces  # only on Hugging Face Spaces
    except ImportError:
        return lambda fn: fn
    return spaces.GPU(duration=duration_fn)


def gpu_seconds(portrait=None, video=None, audio=None, *args, **kwargs) -> int:
    """ZeroGPU time to ask for: a base plus a share per second of speech, capped."""
    seconds = 0.0
    if audio:
        try:
            seconds = audio_duration(audio)
        except Exception:  # an unreadable file fails later with a readable error; ask for the base time
            seconds = 0.0
    return int(min(GPU_MAX_SECONDS, GPU_BASE_SECONDS + GPU_SECONDS_PER_AUDIO_SECOND * seconds))


def _upload_dirs() -> list[str]:
    from gradio.utils import get_upload_folder  # gradio's helper module, imported where it is used (private API)

    return [get_upload_folder(), str(example_portrait_path().parent)]


def _shipped(accessor: Callable[[], Path]) -> str | None:
    """The path of an example clip of :mod:`eadnet.assets`, or `None` where the installation lacks the file."""
    try:
        path = Path(accessor())
    except FileNotFoundError:
        return None
    return str(path) if path.is_file() else None


def _example_row(
    speech: str,
    portrait: str | None = None,
    video: str | None = None,
    emotion_mode: str = "label",
    label: str = "neutral",
    intensity: int = 2,
    text: str = "",
    reference: str | None = None,
) -> list:
    """One row of the ``/generate`` inputs, in their order, with the model's default steps and guidance (empty
    fields), seed 0, the model's emotion warp and the default face."""
    return [
        portrait,
        speech,
        video,
        emotion_mode,
        label,
        intensity,
        text,
        reference,
        None,
        None,
        None,
        0,
        EMOTION_WARP_CHOICES[0],
        DEFAULT_FACE,
    ]


def example_rows() -> list[list]:
    """The app's example rows: one per entry of :data:`EXAMPLE_EMOTIONS` on the bundled portrait and speech, then,
    when the package ships the clips, dubbing the bundled talking clip and the emotion of the bundled reference clip
    on the portrait."""
    portrait, speech = str(example_portrait_path()), str(example_speech_path())
    rows = []
    for emotion in EXAMPLE_EMOTIONS:
        if isinstance(emotion, str):
            rows.append(_example_row(speech, portrait, emotion_mode="text", text=emotion))
        else:
            label, intensity = emotion
            rows.append(_example_row(speech, portrait, label=label, intensity=intensity))
    source_video = _shipped(example_source_video_path)
    if source_video is not None:
        rows.append(_example_row(speech, video=source_video, label="happy", intensity=2))
    reference = _shipped(example_emotion_reference_path)
    if reference is not None:
        rows.append(_example_row(speech, portrait, emotion_mode="reference", reference=reference))
    return rows


def build_demo(service: GenerationService | None = None) -> gr.Blocks:
    """The app: inputs on the left, the video and emotion description on the right."""
    if service is None:
        service = GenerationService(allowed_dirs=_upload_dirs())
    cancel_events: dict[str, threading.Event] = {}

    # The API (`/generate`) lists a parameter as optional when its component has a value or, failing that, when
    # its default here is None; new parameters go at the end, API callers rely on positions.
    @gpu_decorator(gpu_seconds)
    def generate(
        portrait=None,
        audio="",  # not None: the speech stays a required API parameter
        video=None,
        emotion_mode="label",
        label="happy",
        intensity=2,
        text=None,
        reference=None,
        steps=None,
        audio_guidance=None,
        text_guidance=None,
        seed=0,
        emotion_warp=EMOTION_WARP_CHOICES[0],
        face=DEFAULT_FACE,
        request: gr.Request = None,
        progress=gr.Progress(),  # noqa: B008 (Gradio injects progress through this default)
    ):
        session = request.session_hash if request is not None else "default"
        event = threading.Event()
        cancel_events[session] = event
        try:
            return service.generate(
                portrait,
                video,
                audio,
                emotion_mode,
                label,
                intensity,
                text,
                reference,
                steps,
                audio_guidance,
                text_guidance,
                seed,
                emotion_warp,
                face,
                progress_callback=lambda fraction, message: progress(fraction, desc=message),
                cancel_event=event,
            )
        except GenerationCancelledError as error:
            raise gr.Error(str(error), title="Cancelled") from error
        except ServiceError as error:
            raise gr.Error(str(error)) from error
        finally:
            cancel_events.pop(session, None)

    def edit_expression(
        image,  # no default: the photo is the one required API parameter of `/edit_expression`
        emotion="happy",
        intensity=2,
        brow_raise=0.0,
        frown=0.0,
        eye_open=0.0,
        smile=0.0,
        lip_corner_depress=0.0,
        nose_wrinkle=0.0,
        jaw=0.0,
        pitch=0.0,
        yaw=0.0,
        roll=0.0,
        keep_expression=False,
    ):
        sliders = {
            "brow_raise": brow_raise,
            "frown": frown,
            "eye_open": eye_open,
            "smile": smile,
            "lip_corner_depress": lip_corner_depress,
            "nose_wrinkle": nose_wrinkle,
            "jaw": jaw,
        }
        try:
            return service.edit_expression(image, emotion, intensity, sliders, pitch, yaw, roll, keep_expression)
        except ServiceError as error:
            raise gr.Error(str(error)) from error

    def face_at(event: gr.SelectData) -> str:
        x, y = event.index  # pixels of the uploaded image
        return f"{x},{y}"

    def cancel(request: gr.Request):
        event = cancel_events.get(request.session_hash if request is not None else "default")
        if event is not None:
            event.set()
            gr.Info("Cancelling after the current step…")

    with gr.Blocks(title="EAD-Net", delete_cache=(1800, 3600)) as demo:
        gr.Markdown(
            "# EAD-Net: emotion-aware talking heads\nA portrait (or a source video) + speech + an emotion "
            "→ a talking-head video."
        )
        with gr.Tab("Talking head") as talking_tab:
            notice = service.model_notice()
            if notice:
                gr.Markdown(notice)
            with gr.Row():
                with gr.Column():
                    portrait = gr.Image(label="Portrait", type="filepath")
                    video = gr.Video(label="Source video (optional, replaces the portrait)", sources=["upload"])
                    face = gr.Textbox(value=DEFAULT_FACE, label="Face", info=FACE_INFO, max_lines=1)
                    audio = gr.Audio(label="Speech", type="filepath", sources=["upload", "microphone"])
                    emotion_mode = gr.Radio(MODE_CHOICES, value="label", label="Emotion from")
                    with gr.Row():
                        label = gr.Dropdown(list(EMOTION_LABELS), value="happy", label="Emotion")
                        intensity = gr.Slider(1, 3, value=2, step=1, label="Intensity")
                    text = gr.Textbox(
                        label="Emotion text", placeholder="a warm smile with raised brows", visible=False
                    )
                    reference = gr.Video(label="Emotion reference video", sources=["upload"], visible=False)
                    with gr.Accordion("Advanced", open=False):
                        steps = gr.Number(
                            label="Denoising steps (empty: model default)",
                            value=None,
                            precision=0,
                            minimum=1,
                            maximum=MAX_STEPS,
                        )
                        audio_guidance = gr.Number(
                            label="Audio guidance (empty: model default)", value=None, minimum=0, maximum=10
                        )
                        text_guidance = gr.Number(
                            label="Text guidance (empty: model default)", value=None, minimum=0, maximum=10
                        )
                        seed = gr.Number(label="Seed", value=0, precision=0)
                        emotion_warp = gr.Dropdown(
                            list(EMOTION_WARP_CHOICES),
                            value=EMOTION_WARP_CHOICES[0],
                            label="Emotion warp (diffusion models: give the reference face the emotion first)",
                        )
                    with gr.Row():
                        run = gr.Button("Generate", variant="primary")
                        stop = gr.Button("Cancel", variant="stop")
                with gr.Column():
                    output = gr.Video(label="Result", interactive=False, elem_id="result")
                    description = gr.Textbox(label="Emotion description used", interactive=False)
                    timings = gr.Textbox(label="Timings (s)", interactive=False)

        inputs = [  # the API's positions: portrait and speech first, so `predict(portrait, speech)` is a call
            portrait,
            audio,
            video,
            emotion_mode,
            label,
            intensity,
            text,
            reference,
            steps,
            audio_guidance,
            text_guidance,
            seed,
            emotion_warp,
            face,
        ]
        portrait.select(face_at, inputs=None, outputs=face, api_visibility="private")
        for event in (portrait.upload, portrait.clear):  # a point on the previous image means nothing on a new one
            event(lambda: DEFAULT_FACE, inputs=None, outputs=face, api_visibility="private")
        emotion_mode.change(
            lambda mode: (
                gr.update(visible=mode == "label"),
                gr.update(visible=mode == "label"),
                gr.update(visible=mode == "text"),
                gr.update(visible=mode == "reference"),
            ),
            inputs=emotion_mode,
            outputs=[label, intensity, text, reference],
            api_visibility="private",
        )
        with talking_tab:
            gr.Examples(
                examples=example_rows(),
                inputs=inputs,
                cache_examples=False,
                label="Examples on the bundled media: emotions by label or text, dubbing a clip, a reference's emotion",
            )
        run.click(generate, inputs=inputs, outputs=[output, description, timings], api_name="generate")
        with gr.Tab("Expression editor"):
            gr.Markdown(
                "Change the facial expression of a photo: an emotion (FACS action units) and sliders, applied by "
                "moving the person's own face. Any size; the background stays as it is."
            )
            with gr.Row():
                with gr.Column():
                    edit_image = gr.Image(label="Photo", type="filepath")
                    with gr.Row():
                        edit_emotion = gr.Dropdown(["none", *EMOTION_LABELS], value="happy", label="Emotion to apply")
                        edit_intensity = gr.Slider(1, 3, value=2, step=1, label="Emotion intensity")
                    edit_sliders = [
                        gr.Slider(-1 if name == "eye_open" else 0, 1, value=0, step=0.05, label=name.replace("_", " "))
                        for name in EXPRESSION_SLIDERS
                    ]
                    with gr.Row():
                        edit_pose = [gr.Slider(-30, 30, value=0, step=1, label=f"head {axis} (°)") for axis in AXES]
                    keep = gr.Checkbox(label="Keep the photo's own expression (add the emotion on top)", value=False)
                    edit_run = gr.Button("Apply", variant="primary")
                with gr.Column():
                    edited = gr.Image(label="Edited", type="filepath", interactive=False)
            edit_inputs = [edit_image, edit_emotion, edit_intensity, *edit_sliders, *edit_pose, keep]
            edit_run.click(edit_expression, inputs=edit_inputs, outputs=edited, api_name="edit_expression")
            gr.Examples(
                examples=[[str(example_portrait_path()), "sad", 3, *[0] * len(EXPRESSION_SLIDERS), 0, 0, 0, False]],
                inputs=edit_inputs,
                cache_examples=False,
                label="Example: the bundled portrait, made sad",
            )
        stop.click(cancel, inputs=None, outputs=None, queue=False, api_visibility="private")
    demo.queue(default_concurrency_limit=1)
    return demo
