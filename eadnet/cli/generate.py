"""``eadnet generate``: portrait (or video) + speech + emotion → talking-head mp4."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from eadnet.assets import example_portrait_path, example_speech_path
from eadnet.io.atomic import check_output_path
from eadnet.io.audio import check_speech, load_audio
from eadnet.io.image import load_image
from eadnet.io.video import probe_video, read_video
from eadnet.io.video_source import VideoSource
from eadnet.pipelines.engines import DEFAULT_MODEL, MESH_MODEL_NAME, is_mesh_model
from eadnet.settings import GenerationSettings, on_off

EPILOG = """examples:
  eadnet generate                                  # the shipped portrait and speech, eadnet-mesh engine
  eadnet generate --image me.jpg --audio hello.wav --emotion happy:3 --output hello.mp4
  eadnet generate --video talk.mp4 --audio dub.m4a --emotion-text "calm, warm smile" --no-face hold
  eadnet generate --image me.jpg --audio a.wav --emotion-video angry_clip.mp4 --model latentsync-1.5

Emotions: angry, contempt, disgusted, fear, happy, neutral, sad, surprised; intensity 1 (slight) to 3 (strong).
Models: eadnet-mesh (default: face geometry, works on any face at its own resolution, no GPU, no download);
diffusion presets eadnet-mini (small trained model bundled with EAD-Net: ONE face, 64 px), offline-demo (untrained,
for testing the pipeline), latentsync-1.5, latentsync-1.6 (GPU; `eadnet download --help`); `--model` also takes a
model folder of fine-tuned EAD-Net weights.
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="make a talking-head video from a portrait (or video), speech and an emotion",
        description="Make a talking-head mp4 from a portrait or a source video, a speech track and an emotion. "
        "With no --image/--audio it uses the example portrait and speech shipped with EAD-Net.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    face = parser.add_mutually_exclusive_group()
    face.add_argument("--image", type=Path, help="portrait image (jpg, png, webp, ...); default: the shipped example")
    face.add_argument("--video", type=Path, help="source video to dub instead of a portrait (its face is re-animated)")
    parser.add_argument(
        "--audio",
        type=Path,
        help="speech: wav, flac, mp3, ogg, m4a or a video's audio track; default: the shipped example",
    )
    emotion = parser.add_mutually_exclusive_group()
    emotion.add_argument("--emotion", metavar="LABEL[:INTENSITY]", help="e.g. happy, sad:3, surprised:1")
    emotion.add_argument("--emotion-text", metavar="TEXT", help='free text, e.g. "a warm smile with raised brows"')
    emotion.add_argument(
        "--emotion-video",
        type=Path,
        metavar="PATH",
        help="video or image whose facial emotion is copied (eadnet-mesh measures it from the face mesh; the "
        "diffusion models have a vision-language model describe it)",
    )
    parser.add_argument(
        "--vlm",
        metavar="MODEL",
        help="vision-language model id or folder for --emotion-video (default: SmolVLM2-2.2B)",
    )
    parser.add_argument(
        "--output",
        "-o",
        type=Path,
        help="output mp4 (default: outputs/eadnet-DATE-TIME.mp4); never overwritten unless --overwrite",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace --output if it exists")
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"{MESH_MODEL_NAME}, a weights preset name, or a model folder (default: {DEFAULT_MODEL}: face "
        "geometry, any face, runs offline on a CPU)",
    )
    parser.add_argument("--models-dir", type=Path, help="folder holding downloaded weights (<preset>/<component>)")
    parser.add_argument("--steps", type=int, help="denoising steps (default: the preset's)")
    parser.add_argument("--guidance", type=float, help="audio guidance scale (default: the preset's; 1 = off)")
    parser.add_argument("--text-guidance", type=float, help="emotion-text guidance scale (default: the preset's)")
    parser.add_argument(
        "--strength",
        type=float,
        help="denoising strength in (0, 1]: 1 starts from pure noise, lower starts from the noised "
        "portrait and runs that fraction of the steps (default: the preset's)",
    )
    parser.add_argument(
        "--audio-offset",
        type=float,
        help="condition each frame on the audio this many frames later (negative: earlier), to "
        "re-align a mouth that trails or leads the speech (default: the preset's)",
    )
    parser.add_argument(
        "--cache-interval",
        type=int,
        help="diffusion models: run the whole U-Net every N denoising steps and reuse its deep features between "
        "(DeepCache; 1 = off; default: the model's, 4 for eadnet-mini)",
    )
    parser.add_argument(
        "--cache-text-guidance",
        choices=["on", "off"],
        help="diffusion models with --cache-interval above 1: on the steps between full passes, skip the "
        "emotion-text guidance branch and reuse its term from the last full pass (default: the model's, on for "
        "eadnet-mini)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same video)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: cuda if available)")
    parser.add_argument(
        "--compile",
        action="store_true",
        help="diffusion models: torch.compile the U-Net (the first window waits for the compilation, minutes on a "
        "CPU; pays off on long clips and on GPUs)",
    )
    parser.add_argument(
        "--offload",
        action="store_true",
        help="diffusion models on a GPU: keep only the component that is working on the GPU (text encoder, Whisper, "
        "U-Net, VAE in turn; diffusers' model CPU offload): less GPU memory, a little slower",
    )
    parser.add_argument(
        "--decode-chunk-size",
        type=int,
        help="diffusion models: frames the VAE decodes at once (default 8); fewer need less memory at 512 px "
        "(`eadnet bench model --vae-chunks` measures it)",
    )
    parser.add_argument(
        "--dtype",
        choices=["float32", "float16", "bfloat16"],
        default="float32",
        help="diffusion models' U-Net, VAE and text encoder precision (Whisper and the sampler's arithmetic stay "
        "float32); float16 needs a GPU (default float32; bfloat16 is slow on most CPUs)",
    )
    parser.add_argument(
        "--fps",
        type=float,
        default=None,
        help="output frame rate (default: the --video's own rate, e.g. 23.976, 29.97 or 60; 25 for a portrait)",
    )
    parser.add_argument(
        "--face",
        default="largest",
        metavar="CHOICE",
        help="which face talks in a group shot: largest (default), center, N (0 = leftmost), X,Y (the face under "
        "this pixel) or X0,Y0,X1,Y1 (a box); in a video it is chosen in the first frame and followed",
    )
    parser.add_argument(
        "--no-face",
        choices=["error", "skip", "hold"],
        default="error",
        help="--video frames without a face: fail, drop them, or reuse the nearest face",
    )
    parser.add_argument("--max-duration", type=float, default=600.0, help="longest accepted speech in seconds")
    parser.add_argument(
        "--max-size",
        type=int,
        default=4096,
        help="larger inputs are scaled down to this longest side first (default 4096: "
        "H.264 players rarely handle more)",
    )
    parser.add_argument(
        "--head-motion",
        type=float,
        default=1.0,
        help="scale of the natural head motion given to a portrait (eadnet-mesh; 0 = still, default 1)",
    )
    parser.add_argument(
        "--emotion-warp",
        choices=["on", "off"],
        help="diffusion models: give the reference face the emotion's action units before denoising (default: the "
        "model's: on for the latentsync presets, whose emotion-text path is untrained; off for eadnet-mini)",
    )
    parser.add_argument(
        "--keep-expression",
        action="store_true",
        help="add the emotion to the face's own expression instead of replacing it (a smiling photo keeps its smile)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run_generate)


def _default_output() -> Path:
    return Path("outputs") / f"eadnet-{datetime.now():%Y%m%d-%H%M%S}.mp4"


def _fit(frames, max_size: int):
    """Scales uint8 frames ``(N, H, W, 3)`` down (area filter) so that the longest side is at most ``max_size``."""
    height, width = frames.shape[1:3]
    if max(height, width) <= max_size:
        return frames
    import cv2  # lazy: OpenCV only when an input is larger than --max-size

    scale = max_size / max(height, width)
    size = (max(2, round(width * scale)), max(2, round(height * scale)))
    print(f"note: input is {width}x{height}; scaled to {size[0]}x{size[1]} (--max-size {max_size})", file=sys.stderr)
    return np.stack([cv2.resize(frame, size, interpolation=cv2.INTER_AREA) for frame in frames])


def run_generate(args: argparse.Namespace) -> int:
    # lazy: torch and the pipeline (diffusers, transformers) take seconds; `eadnet --help` and the other
    # sub-commands must not pay for them
    import torch

    from eadnet.hub.local import resolve_model
    from eadnet.pipelines import write_talking_video
    from eadnet.pipelines.engines import load_pipeline

    started = time.perf_counter()
    output = args.output or _default_output()
    if args.output is None:
        output.parent.mkdir(parents=True, exist_ok=True)
    check_output_path(output, args.overwrite)  # fail before minutes of work, not after
    # Unset options (None) are the model's defaults, filled in by the pipeline; bad values fail here, before loading.
    settings = GenerationSettings.from_options(
        num_inference_steps=args.steps,
        audio_guidance_scale=args.guidance,
        text_guidance_scale=args.text_guidance,
        strength=args.strength,
        audio_offset=args.audio_offset,
        fps=args.fps,
        no_face=args.no_face,
        face=args.face,
        cache_interval=args.cache_interval,
        cache_text_guidance=on_off(args.cache_text_guidance),
        decode_chunk_size=args.decode_chunk_size,
        head_motion=args.head_motion,
        keep_expression=args.keep_expression,
        emotion_warp=on_off(args.emotion_warp),
    )
    preset = None if is_mesh_model(args.model) else resolve_model(args.model)[0]
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"--device {device}: no CUDA device is available here (torch {torch.__version__}); use --device cpu"
        )
    if device == "mps" and not torch.backends.mps.is_available():
        raise ValueError("--device mps: Apple's MPS backend is not available here; use --device cpu")

    audio_path = args.audio or example_speech_path()
    waveform, sample_rate = load_audio(audio_path, max_duration=args.max_duration)
    check_speech(waveform, sample_rate)
    if args.max_size < 64:
        raise ValueError(f"--max-size must be at least 64, got {args.max_size}")
    image = video = video_fps = None
    if args.video is not None:
        # streamed from disk: frames are decoded as they are needed, so a long source fits in memory
        video = VideoSource.open(args.video, max_side=args.max_size)
        info = probe_video(args.video)
        if max(video.frame_size) < max(info.width, info.height):
            height, width = video.frame_size
            print(f"note: --video is scaled to {width}x{height} (--max-size {args.max_size})", file=sys.stderr)
    else:
        image = _fit(load_image(args.image or example_portrait_path())[None], args.max_size)[0]
    emotion_reference = None
    if args.emotion_video is not None:
        if args.emotion_video.suffix.lower() in {".png", ".jpg", ".jpeg", ".webp", ".bmp"}:
            emotion_reference = [load_image(args.emotion_video)]
        else:
            emotion_reference, _ = read_video(args.emotion_video, max_frames=250)

    if preset is not None and not preset.trained:
        print(
            f"NOTE: preset '{preset.name}' carries UNTRAINED weights: the face region of the video will be "
            f"noise, not a talking face. Use --model {MESH_MODEL_NAME} (any face, offline) or trained weights "
            "(e.g. latentsync-1.5 on a connected machine) for real results.",
            file=sys.stderr,
        )

    load_start = time.perf_counter()
    if args.dtype == "float16" and device == "cpu":
        raise ValueError("--dtype float16 needs a GPU (--device cuda); on a CPU use float32 (or bfloat16)")
    dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[args.dtype]
    if args.offload and not device.startswith("cuda"):
        raise ValueError("--offload moves models between the GPU and the CPU: it needs --device cuda")
    pipe = load_pipeline(
        args.model, device=device, dtype=dtype, models_dir=args.models_dir, offload=args.offload, compile=args.compile
    )
    if args.emotion_video is not None and preset is not None:
        from eadnet.models.emotion_captioner import DEFAULT_VLM_ID, EmotionCaptioner  # lazy: see above

        pipe.register_modules(captioner=EmotionCaptioner.from_pretrained(args.vlm or DEFAULT_VLM_ID, device=device))
    pipe.set_progress_bar_config(disable=args.quiet, desc="denoising", unit="step")
    load_seconds = time.perf_counter() - load_start

    report = write_talking_video(
        pipe,
        output,
        image=image,
        video=video,
        video_fps=video_fps,
        audio=waveform,
        sample_rate=sample_rate,
        emotion=args.emotion,
        emotion_text=args.emotion_text,
        emotion_reference=emotion_reference,
        generator=torch.Generator(device="cpu").manual_seed(args.seed),
        settings=settings,
        overwrite=args.overwrite,
    )
    print(f"wrote {output} ({report.num_frames} frames at {report.fps:g} fps, {report.duration:.2f} s)")
    if report.emotion_description:
        print(f"emotion: {report.emotion_description}")
    total = time.perf_counter() - started
    print(f"timings (s): {report.format_timings(load=load_seconds, total=total)}")
    return 0
