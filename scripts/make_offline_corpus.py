"""Training data for the small offline EAD-Net: synthetic talking clips of the built-in sentences, rendered and
preprocessed into a dataset with train / val / test splits (`eadnet.data.synthetic.corpus`).

The test split holds sentences, a voice (and, on request, emotion–intensity pairs) that no training clip has. The
run resumes where it stopped: run the same command again. Rendering and preprocessing take a few seconds per clip
on one CPU core.

    python scripts/make_offline_corpus.py --out data/offline-corpus                  # 400 train, 24 val, 48 test
    python scripts/make_offline_corpus.py --out /tmp/corpus --num-train 6 --num-heldout 3   # 6 + 1 + 3 clips
    python scripts/make_offline_corpus.py --out data/c --heldout-emotions happy:3 sad:1 --plan-only

Prints the corpus description (clips per split, emotion, intensity and voice) as JSON.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import time
from pathlib import Path

logger = logging.getLogger("make_offline_corpus")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from eadnet.data.synthetic.corpus import DEFAULT_HELDOUT_VOICES

    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", required=True, help="output folder (raw/ videos and dataset/)")
    parser.add_argument("--num-train", type=int, default=400, help="training clips (default 400)")
    parser.add_argument(
        "--num-val", type=int, default=None, help="validation clips (default 6%% of --num-train, at least 1)"
    )
    parser.add_argument("--num-heldout", type=int, default=48, help="held-out test clips (default 48)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the plan (default 0)")
    parser.add_argument(
        "--heldout-voices",
        nargs="*",
        default=list(DEFAULT_HELDOUT_VOICES),
        metavar="VOICE",
        help=f"espeak-ng voices heard only in the test split (default {' '.join(DEFAULT_HELDOUT_VOICES)})",
    )
    parser.add_argument(
        "--heldout-emotions",
        nargs="*",
        default=[],
        metavar="EMOTION[:LEVEL]",
        help="emotion-intensity pairs shown only in the test split, e.g. happy:3 (default none)",
    )
    parser.add_argument("--crop-size", type=int, default=64, help="side of the aligned face crops (default 64)")
    parser.add_argument("--workers", type=int, default=2, help="processes rendering and preprocessing (default 2)")
    parser.add_argument(
        "--audio-encoder",
        default="offline-demo",
        help="audio encoder whose features are cached: preset, folder, Hub id or 'none' (default offline-demo)",
    )
    parser.add_argument(
        "--frames-format", choices=("npy", "mp4"), default="npy", help="how clip frames are stored (default npy)"
    )
    parser.add_argument("--plan-only", action="store_true", help="print the plan's counts and render nothing")
    return parser.parse_args(argv)


def plan_counts(specs: list) -> dict:
    """Clips per split, and per voice and emotion–intensity pair within each split, of a plan."""
    counts: dict = {}
    for split in ("train", "val", "test"):
        members = [spec for spec in specs if spec.split == split]
        counts[split] = {
            "clips": len(members),
            "voices": dict(sorted(collections.Counter(spec.voice for spec in members).items())),
            "emotion_intensity": dict(
                sorted(collections.Counter(f"{spec.emotion}-{spec.intensity}" for spec in members).items())
            ),
        }
    return counts


def main(argv: list[str] | None = None) -> None:
    from eadnet.data.format import read_manifest
    from eadnet.data.synthetic.corpus import DATASET_DIR, build_corpus, describe_corpus, plan_corpus

    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    specs = plan_corpus(
        num_train=args.num_train,
        num_heldout=args.num_heldout,
        num_val=args.num_val,
        seed=args.seed,
        heldout_voices=args.heldout_voices,
        heldout_emotions=args.heldout_emotions,
    )
    if args.plan_only:
        print(json.dumps(plan_counts(specs), indent=2))
        return
    encoder = None if args.audio_encoder.lower() == "none" else args.audio_encoder
    before = len(read_manifest(Path(args.out) / DATASET_DIR))
    start = time.perf_counter()
    dataset = build_corpus(
        args.out,
        specs,
        crop_size=args.crop_size,
        workers=args.workers,
        audio_encoder=encoder,
        frames_format=args.frames_format,
    )
    elapsed = time.perf_counter() - start
    new = len(read_manifest(dataset)) - before
    logger.info(
        "built %s in %.1f s: %d new clips (%.1f s each, start-up included), %d from earlier runs",
        dataset,
        elapsed,
        new,
        elapsed / max(1, new),
        before,
    )
    print(json.dumps(describe_corpus(dataset), indent=2))


if __name__ == "__main__":
    main()
