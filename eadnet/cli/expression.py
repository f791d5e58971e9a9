"""``eadnet expression``: change the facial expression of a photo (or of every frame of a video), keeping the person."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eadnet.io.atomic import check_output_path

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}

EPILOG = """examples:
  eadnet expression me.jpg --emotion happy:2 --output me_happy.png
  eadnet expression me.jpg --au 12=0.8 --au 6=0.5 --yaw 5 --output smile.png
  eadnet expression me.jpg --emotion sad:3 --smile 0 --brow-raise 0.6 --output sad.png
  eadnet expression talk.mp4 --emotion surprised:1 --no-face hold --output surprised.mp4

Emotions: angry, contempt, disgusted, fear, happy, neutral, sad, surprised; intensity 1 (slight) to 3 (strong).
Action units (--au CODE=VALUE, value 0-1; L/R suffix for one side, e.g. 12L): 1 inner brow raiser, 2 outer brow
raiser, 4 brow lowerer, 5 upper lid raiser, 6 cheek raiser, 7 lid tightener, 9 nose wrinkler, 10 upper lip raiser,
12 lip corner puller, 14 dimpler, 15 lip corner depressor, 17 chin raiser, 20 lip stretcher, 23 lip tightener,
24 lip pressor, 25 lips part, 26 jaw drop, 43 eyes closed, 45 blink. The output keeps the input's size, format and
bit depth; only the face moves.
"""

_SLIDERS = {
    "brow_raise": "raise the eyebrows (AU1 + AU2), 0-1",
    "frown": "lower and knit the brows (AU4), 0-1",
    "eye_open": "widen the eyes (AU5), 0-1; negative squints (AU7), down to -1",
    "smile": "smile (AU12 + AU6), 0-1",
    "lip_corner_depress": "pull the lip corners down (AU15), 0-1",
    "nose_wrinkle": "wrinkle the nose (AU9), 0-1",
    "jaw": "open the jaw (AU26), 0-1",
}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "expression",
        help="change the facial expression of a photo or video (FACS action units, any face, any size)",
        description="Apply an emotion, facial action units and small head-pose offsets to the face in a photo or "
        "in every frame of a video, by moving the person's own skin (no generative model).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", type=Path, help="photo (png, jpg, webp, tiff, ...) or video (mp4, mov, ...)")
    parser.add_argument("--output", "-o", type=Path, required=True, help="output file (same kind as the input)")
    parser.add_argument("--overwrite", action="store_true", help="replace --output if it exists")
    parser.add_argument("--emotion", metavar="LABEL[:INTENSITY]", help="e.g. happy, sad:3, surprised:1")
    parser.add_argument(
        "--au",
        action="append",
        default=[],
        metavar="CODE=VALUE",
        help="an action unit and its intensity 0-1 (repeatable; overrides the emotion's value for that unit)",
    )
    for name, text in _SLIDERS.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=float, metavar="X", help=text)
    for name in ("pitch", "yaw", "roll"):
        parser.add_argument(f"--{name}", type=float, default=0.0, help=f"head {name} offset in degrees (±30)")
    parser.add_argument("--gaze", type=float, nargs=2, default=(0.0, 0.0), metavar=("X", "Y"), help="iris offset")
    parser.add_argument("--blink", type=float, default=0.0, help="lid closure 0-1 (1: eyes closed)")
    parser.add_argument(
        "--keep-expression",
        action="store_true",
        help="add the emotion to the face's own expression instead of replacing it",
    )
    parser.add_argument(
        "--no-face",
        choices=["error", "skip", "hold"],
        default="error",
        help="video frames without a face: fail, drop them, or keep them unedited",
    )
    parser.set_defaults(handler=run_expression)


def _parse_units(pairs: list[str]) -> dict[str, float]:
    units: dict[str, float] = {}
    for pair in pairs:
        code, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--au {pair!r}: expected CODE=VALUE, e.g. --au 12=0.8")
        try:
            units[code.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--au {pair!r}: the value must be a number in [0, 1]") from None
    return units


def run_expression(args: argparse.Namespace) -> int:
    # lazy: the editor imports OpenCV, SciPy and MediaPipe
    from eadnet.emotion import parse_emotion_spec
    from eadnet.expression.editor import ExpressionEditor, group_action_units
    from eadnet.expression.rig import HeadPose

    check_output_path(args.output, args.overwrite)
    is_image = args.input.suffix.lower() in IMAGE_SUFFIXES
    if is_image != (args.output.suffix.lower() in IMAGE_SUFFIXES):
        raise ValueError("--output must be an image for an image input and a video for a video input")
    emotion, intensity = parse_emotion_spec(args.emotion) if args.emotion else (None, 2)
    sliders = {name: getattr(args, name) for name in _SLIDERS if getattr(args, name) is not None}
    units = {**group_action_units(**sliders), **_parse_units(args.au)}
    pose = HeadPose(pitch=args.pitch, yaw=args.yaw, roll=args.roll)
    editor = ExpressionEditor()
    options = {
        "action_units": units,
        "emotion": emotion,
        "intensity": intensity,
        "pose": pose,
        "gaze": tuple(args.gaze),
        "blink": args.blink,
        "keep_expression": args.keep_expression,
    }
    if is_image:
        _edit_image(editor, args.input, args.output, args.overwrite, options)
    else:
        _edit_video(editor, args.input, args.output, args.overwrite, options, args.no_face)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _edit_image(editor, source: Path, output: Path, overwrite: bool, options: dict) -> None:
    import numpy as np
    from PIL import Image

    from eadnet.io.atomic import atomic_output

    with Image.open(source) as opened:
        opened.load()
        mode = opened.mode
        # keep what the file holds: 16-bit gray as uint16, RGBA with its alpha, palettes as RGB
        if mode in ("I;16", "I;16B", "I;16L", "I"):
            array = np.asarray(opened, dtype=np.uint16)
        elif mode in ("L", "RGB", "RGBA"):
            array = np.asarray(opened)
        else:
            array = np.asarray(opened.convert("RGBA" if "A" in mode or "transparency" in opened.info else "RGB"))
    edited = editor.edit(np.ascontiguousarray(array), **options)
    with atomic_output(output, overwrite=overwrite) as tmp:
        Image.fromarray(edited).save(tmp, format=Image.registered_extensions().get(output.suffix.lower()))


def _edit_video(editor, source: Path, output: Path, overwrite: bool, options: dict, no_face: str) -> None:
    from eadnet.io.audio import AudioError, load_audio
    from eadnet.io.video import VideoWriter, iter_video_frames, probe_video

    info = probe_video(source)
    with VideoWriter(output, info.fps, overwrite=overwrite) as writer:
        for frame in editor.edit_frames(iter_video_frames(source), no_face=no_face, **options):
            writer.write(frame[None])
        if info.has_audio:
            try:
                writer.set_audio(*load_audio(source))
            except AudioError as error:
                print(f"note: the video's sound could not be copied ({error})", file=sys.stderr)
