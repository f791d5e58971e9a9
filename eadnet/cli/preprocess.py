"""``eadnet preprocess``: a folder of raw talking videos → a training dataset (`eadnet.data.preprocess`)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

EPILOG = """examples:
  eadnet preprocess raw/HDTF data/hdtf
  eadnet preprocess raw/MEAD data/mead --min-seconds 2 --max-seconds 6 --workers 4
  eadnet preprocess raw/clips data/clips --no-audio-features --val-fraction 0.05 --test-speakers
  eadnet preprocess raw/MEAD data/mead-vlm --vlm HuggingFaceTB/SmolVLM2-2.2B-Instruct

Labels come from MEAD-style paths (M003/video/front/angry/level_1/001.mp4: speaker M003, angry, intensity 1) or from
a labels.jsonl / labels.csv in the input folder (columns: path, emotion, intensity, speaker, split, description or
text; other columns are kept in the manifest's "extra"). A rerun into the same output folder resumes: clips already
in its manifest are skipped.
"""


def register(subparsers) -> None:
    from eadnet.data.preprocess import DEFAULT_AUDIO_ENCODER, MEAD_TEST_SPEAKERS

    parser = subparsers.add_parser(
        "preprocess",
        help="turn a folder of talking videos into a training dataset (aligned clips, audio, features, captions)",
        description="Cut the videos of a folder into 25 fps clips with 16 kHz audio, align the face of every frame, "
        "drop clips without a stable face or with silent audio, cache Whisper features and describe the emotion.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", type=Path, help="folder of videos (searched recursively)")
    parser.add_argument("output", type=Path, help="dataset folder (created; a rerun resumes it)")
    parser.add_argument("--crop-size", type=int, default=256, help="side of the aligned face crops (default 256)")
    parser.add_argument(
        "--mask-mode",
        choices=("lower_face", "face"),
        default="lower_face",
        help="regeneration mask the dataset is meant for (default lower_face)",
    )
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=5.0,
        help="shortest clip; shorter videos and remainders are dropped (default 5; MEAD: about 2)",
    )
    parser.add_argument("--max-seconds", type=float, default=10.0, help="longest clip (default 10)")
    parser.add_argument(
        "--min-face-size", type=float, default=64.0, help="smallest accepted face width in source pixels (default 64)"
    )
    parser.add_argument(
        "--max-face-jump",
        type=float,
        default=0.3,
        help="largest accepted face movement between frames, in face widths (default 0.3)",
    )
    features = parser.add_mutually_exclusive_group()
    features.add_argument(
        "--audio-encoder",
        default=DEFAULT_AUDIO_ENCODER,
        metavar="PATH_OR_PRESET",
        help="Whisper folder, preset name or Hub id whose features are cached "
        f"(default: the {DEFAULT_AUDIO_ENCODER} preset's Whisper tiny.en, no network)",
    )
    features.add_argument("--no-audio-features", action="store_true", help="do not cache audio features")
    parser.add_argument(
        "--vlm",
        default=None,
        metavar="PATH_OR_ID",
        help="describe each clip's emotion with this vision-language model instead of the label template",
    )
    parser.add_argument("--vlm-frames", type=int, default=4, help="crops of each clip shown to the VLM (default 4)")
    parser.add_argument("--device", default=None, help="device of the VLM (default: cuda when available, else cpu)")
    parser.add_argument(
        "--val-speakers", nargs="*", default=[], metavar="SPEAKER", help="speakers whose clips form the val split"
    )
    parser.add_argument(
        "--test-speakers",
        nargs="*",
        default=list(MEAD_TEST_SPEAKERS),
        metavar="SPEAKER",
        help=f"speakers whose clips form the test split (default MEAD's {' '.join(MEAD_TEST_SPEAKERS)}; "
        "give the flag alone for none)",
    )
    parser.add_argument(
        "--val-fraction",
        type=float,
        default=0.0,
        help="fraction of the other files put in val, chosen by a hash of their path (default 0)",
    )
    parser.add_argument(
        "--frames-format",
        choices=("mp4", "npy"),
        default="mp4",
        help="crops as near-lossless H.264 (compact) or raw uint8 .npy (fastest to read)",
    )
    parser.add_argument("--workers", type=int, default=1, help="files processed in parallel (default 1)")
    parser.set_defaults(handler=run_preprocess)


def run_preprocess(args: argparse.Namespace) -> int:
    from eadnet.data.preprocess import PreprocessConfig, preprocess_videos, resolve_audio_encoder

    module_logger = logging.getLogger("eadnet.data.preprocess")
    if module_logger.getEffectiveLevel() > logging.INFO:
        module_logger.setLevel(logging.INFO)  # one progress line per file
    config = PreprocessConfig(
        crop_size=args.crop_size,
        mask_mode=args.mask_mode,
        min_clip_seconds=args.min_seconds,
        max_clip_seconds=args.max_seconds,
        min_face_size=args.min_face_size,
        max_face_jump=args.max_face_jump,
        frames_format=args.frames_format,
        val_speakers=tuple(args.val_speakers),
        test_speakers=tuple(args.test_speakers),
        val_fraction=args.val_fraction,
        vlm_frames=args.vlm_frames,
    )
    if not args.input.is_dir():
        raise FileNotFoundError(f"input folder not found: {args.input}")
    audio_encoder = None if args.no_audio_features else resolve_audio_encoder(args.audio_encoder)
    captioner = None
    if args.vlm is not None:
        import torch

        from eadnet.models.emotion_captioner import EmotionCaptioner

        device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
        captioner = EmotionCaptioner.from_pretrained(args.vlm, device=device, num_frames=args.vlm_frames)
    summary = preprocess_videos(
        args.input, args.output, config, audio_encoder=audio_encoder, captioner=captioner, workers=args.workers
    )
    print(summary.format())
    if not summary.usable:
        print(
            f"eadnet preprocess: error: no usable clip in {args.input} (see the reasons above); each clip needs a "
            f"visible face in every frame, speech, and at least {args.min_seconds:g} s of video with sound",
            file=sys.stderr,
        )
        return 2
    return 0
