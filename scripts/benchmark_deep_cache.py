"""Benchmark: feature caching across denoising steps (DeepCache) on a diffusion model, against no caching.

For every speech clip and cache interval, generates the clip with the model's own settings (steps, guidance), then
prints the denoising time (the report's ``denoise`` stage) and its ratio to the uncached run, the PSNR of the frames
against the uncached run (over the box the model repaints), and a lip-sync proxy: the correlation of the mouth
opening (MediaPipe face mesh) with the speech envelope at the best lag (`eadnet.evaluation.speech_proxy`),
cached relative to uncached.

    python scripts/benchmark_deep_cache.py                                   # eadnet-mini, example speech
    python scripts/benchmark_deep_cache.py --speech a.wav b.wav --intervals 1 2 3 5 --depths 1 2

Numbers, not a test (the CI tests are tests/models/test_feature_cache.py). Run it on a quiet machine: timings of a
busy machine mislead.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def mouth_sync(frames: np.ndarray, waveform: np.ndarray, rate: int, fps: float, detector) -> float:
    from eadnet.evaluation.landmarks import face_landmarks, mouth_opening
    from eadnet.evaluation.speech_proxy import mouth_speech_sync, speech_envelope

    landmarks = face_landmarks(frames, detector=detector)
    opening = mouth_opening(landmarks)
    envelope = speech_envelope(waveform, rate, num_frames=len(frames), fps=fps)
    return float(mouth_speech_sync(opening, envelope, max_lag=4)["best_correlation"])


def psnr(a: np.ndarray, b: np.ndarray, box) -> float:
    rows, cols = box
    error = np.mean((a[:, rows, cols].astype(np.float64) - b[:, rows, cols].astype(np.float64)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255.0**2 / error))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="eadnet-mini")
    parser.add_argument("--image", type=Path, help="portrait (default: the example portrait)")
    parser.add_argument("--speech", type=Path, nargs="+", help="speech clips (default: the example speech)")
    parser.add_argument("--intervals", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--depths", type=int, nargs="+", default=[1])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()

    import torch

    from eadnet.assets import example_portrait_path, example_speech_path
    from eadnet.face import MediaPipeFaceDetector
    from eadnet.io import load_audio, load_image
    from eadnet.pipelines.engines import load_pipeline

    pipe = load_pipeline(args.model, device="cpu")
    pipe.set_progress_bar_config(disable=True)
    detector = MediaPipeFaceDetector()
    portrait = load_image(args.image or example_portrait_path())
    rows = []
    print("clip | interval | depth | steps | denoise s | speed-up | PSNR vs uncached dB | mouth sync | sync ratio")
    for speech in args.speech or [example_speech_path()]:
        waveform, rate = load_audio(speech)
        waveform = np.asarray(waveform, dtype=np.float32)
        waveform = waveform if waveform.ndim == 1 else waveform.mean(0)
        base = None
        for depth in args.depths:
            for interval in args.intervals:
                if interval == 1 and depth != args.depths[0]:
                    continue  # no caching: the depth does not matter
                out = pipe(image=portrait, audio=waveform, sample_rate=rate, emotion="happy:2", output_type="np",
                           generator=torch.Generator().manual_seed(args.seed), cache_interval=interval,
                           cache_depth=depth)  # fmt: skip
                frames = (out.frames * 255).round().astype(np.uint8)
                seconds = out.report.timings["denoise"]
                sync = mouth_sync(frames, waveform, rate, out.fps, detector)
                if base is None:
                    changed = np.argwhere(np.any(frames != portrait[None], axis=(0, 3)))
                    (y0, x0), (y1, x1) = changed.min(axis=0), changed.max(axis=0) + 1
                    base = {"frames": frames, "seconds": seconds, "sync": sync,
                            "box": (slice(y0, y1), slice(x0, x1))}  # fmt: skip
                row = {
                    "clip": Path(speech).name,
                    "interval": interval,
                    "depth": depth,
                    "steps": out.report.settings.sampling.num_inference_steps,
                    "denoise_seconds": seconds,
                    "speedup": base["seconds"] / seconds,
                    "psnr_db": psnr(frames, base["frames"], base["box"]),
                    "mouth_sync": sync,
                    "sync_ratio": sync / base["sync"] if base["sync"] else float("nan"),
                }
                rows.append(row)
                print(" | ".join([row["clip"], str(interval), str(depth), str(row["steps"]), f"{seconds:.2f}",
                                  f"{row['speedup']:.2f}x", f"{row['psnr_db']:.2f}", f"{sync:.3f}",
                                  f"{row['sync_ratio']:.3f}"]), flush=True)  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
