"""``eadnet caption``: print the emotion description EAD-Net would be guided by."""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from eadnet.emotion import EmotionSpec, parse_emotion_spec


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "caption",
        help="turn an emotion (label, free text or reference images) into the description that guides generation",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--emotion",
        metavar="LABEL[:INTENSITY]",
        help="MEAD label (angry, contempt, disgusted, fear, happy, neutral, sad, surprised) "
        "with optional intensity 1-3, e.g. happy:3",
    )
    source.add_argument("--text", help="free-text description (validated and normalised)")
    source.add_argument(
        "--reference",
        type=Path,
        nargs="+",
        metavar="IMAGE",
        help="reference image(s) described by a vision-language model",
    )
    source.add_argument("--all-labels", action="store_true", help="print all 8 x 3 label descriptions")
    parser.add_argument(
        "--vlm", default=None, help="vision-language model id or local folder for --reference (default: SmolVLM2-2.2B)"
    )
    parser.add_argument("--num-frames", type=int, default=4, help="reference frames given to the VLM")
    parser.set_defaults(handler=run_caption)


def run_caption(args: argparse.Namespace) -> int:
    # lazy: keeps `eadnet --help` from importing torch (the captioner's module imports it)
    from eadnet.models.emotion_captioner import DEFAULT_VLM_ID, EmotionCaptioner, describe_labels

    if args.all_labels:
        for (label, intensity), description in describe_labels().items():
            print(f"{label}:{intensity}\t{description}")
        return 0
    if args.emotion is not None:
        label, intensity = parse_emotion_spec(args.emotion)
        print(EmotionCaptioner().caption(EmotionSpec(label=label, intensity=intensity)))
        return 0
    if args.text is not None:
        print(EmotionCaptioner().caption(EmotionSpec(text=args.text)))
        return 0

    images = []
    for path in args.reference:
        if not path.is_file():
            raise FileNotFoundError(f"--reference: no such file: {path}")
        with Image.open(path) as image:
            images.append(image.convert("RGB"))
    captioner = EmotionCaptioner.from_pretrained(args.vlm or DEFAULT_VLM_ID, num_frames=args.num_frames)
    print(captioner.caption(EmotionSpec(reference=images)))
    return 0
