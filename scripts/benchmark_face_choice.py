"""Benchmark: choosing the face that talks in a real group photo, with the geometry engine.

For every face MediaPipe finds in the photo (``--face N``, left to right), generates a clip of that face talking
(real speech, an emotion) in-process and reports: whether every other face's box (with a margin) is bit-identical
to the photo in every frame, how much the chosen face's box changed, and writes two crops per face for an identity
check with tools we did not build: ``crops/faceN.png`` (the face in the photo) and ``crops/faceN.mp4`` (the same box
of the clip), listed in ``pairs.txt`` for ``scripts/measure_faces.py video --pairs`` (dlib's recogniser, in its own
venv).

    python scripts/benchmark_face_choice.py --photo group.jpg --speech speech.wav --out group-bench
    measure-venv/bin/python scripts/measure_faces.py video --pairs group-bench/pairs.txt --every 4

The group photo of `scripts/fetch_benchmark_media.sh` (insightface's ``t1.jpg``) is the one used in
docs/benchmarks.md. Numbers, not a test.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photo", type=Path, required=True)
    parser.add_argument("--speech", type=Path, help="speech (default: the example speech)")
    parser.add_argument("--seconds", type=float, default=4.0, help="speech used (default 4 s)")
    parser.add_argument("--emotion", default="happy:2")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    import torch
    from PIL import Image

    from eadnet.assets import example_speech_path
    from eadnet.face import MediaPipeFaceDetector
    from eadnet.io import VideoWriter, load_audio, load_image
    from eadnet.pipelines.engines import load_pipeline

    photo = load_image(args.photo)
    waveform, rate = load_audio(args.speech or example_speech_path())
    waveform = np.asarray(waveform, dtype=np.float32)
    waveform = (waveform if waveform.ndim == 1 else waveform.mean(0))[: int(args.seconds * rate)]
    pipe = load_pipeline("eadnet-mesh")
    pipe.set_progress_bar_config(disable=True)
    boxes = MediaPipeFaceDetector().face_boxes(photo)
    crops = args.out / "crops"
    crops.mkdir(parents=True, exist_ok=True)
    pairs = []
    print(f"{len(boxes)} faces found in {args.photo.name} ({photo.shape[1]}x{photo.shape[0]})")
    print("face | box | other faces identical (pixels) | chosen face: mean |change| (max) | frames")
    for index, box in enumerate(boxes):
        out = pipe(image=photo, audio=waveform, sample_rate=rate, emotion=args.emotion, face=str(index),
                   generator=torch.manual_seed(0), output_type="np")  # fmt: skip
        frames = (out.frames * 255).round().astype(np.uint8)
        identical = total = 0
        for other_index, other in enumerate(boxes):
            if other_index == index:
                continue
            rows, cols = _region(other, photo.shape, margin=0.1)
            region = frames[:, rows, cols]
            identical += int(np.all(region == photo[rows, cols][None], axis=-1).sum())
            total += region.shape[0] * region.shape[1] * region.shape[2]
        rows, cols = _region(box, photo.shape, margin=0.0)
        change = np.abs(frames[:, rows, cols].astype(int) - photo[rows, cols].astype(int))
        rows, cols = _region(box, photo.shape, margin=0.6)
        Image.fromarray(photo[rows, cols]).save(crops / f"face{index}.png")
        with VideoWriter(crops / f"face{index}.mp4", out.fps, overwrite=True) as writer:
            writer.write(np.ascontiguousarray(frames[:, rows, cols]))
        pairs.append(f"{crops / f'face{index}.png'} {crops / f'face{index}.mp4'}")
        share = identical / total if total else float("nan")
        print(f"{index} | x {box[0]:.0f}-{box[2]:.0f}, y {box[1]:.0f}-{box[3]:.0f} | {share:.2%} of {total} | "
              f"{change.mean():.1f} ({change.max()}) | {len(frames)}")  # fmt: skip
    (args.out / "pairs.txt").write_text("\n".join(pairs) + "\n")
    print(f"identity pairs for scripts/measure_faces.py: {args.out / 'pairs.txt'}")
    return 0


def _region(box, shape, margin: float):
    x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) * margin, (y1 - y0) * margin
    height, width = shape[:2]
    return (
        slice(max(0, int(y0 - dy)), min(height, int(np.ceil(y1 + dy)))),
        slice(max(0, int(x0 - dx)), min(width, int(np.ceil(x1 + dx)))),
    )


if __name__ == "__main__":
    sys.exit(main())
