"""Benchmark: feature caching across denoising steps (DeepCache) on a diffusion model, against no caching.

For every speech clip and cache interval, generates the clip with the model's own settings (steps, guidance), then
prints the denoising time (the report's ``denoise`` stage) and its ratio to the uncached run, the PSNR of the frames
against the uncached run (over the box the model repaints), and a lip-sync proxy: the correlation of the mouth
opening (MediaPipe face mesh) with the speech envelope at the best lag (`eadnet.evaluation.speech_proxy`),
cached relative to uncached.

    python scripts/benchmark_deep_cache.py                                   # eadnet-mini, example speech
    python scripts/benchmark_deep_cache.py --speech a.wav b.wav --intervals 1 2 3 5 --depths 1 2
    python scripts/benchmark_deep_cache.py --intervals 1 3 5 --guidance off on      # + text-guidance reuse

On held-out clips with a ground truth, run ``scripts/evaluate_offline_model.py`` once per setting (``--cache-interval
1`` first, then e.g. ``--cache-interval 3 --cache-text-guidance on --gt-from OFF``) and compare the runs:

    python scripts/benchmark_deep_cache.py --heldout eval/off eval/c3 eval/c3t

which prints, per run, the PSNR of its frames against the uncached run's and against the ground truth (over the box
the model repaints), and the mouth/speech sync (`eadnet evaluate`'s best-lag correlation, the proxy of the first
mode; its zero-lag correlation too) relative to the uncached run's.

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


def compare_heldout(off: Path, runs: list[Path]) -> list[dict]:
    """Held-out runs of ``scripts/evaluate_offline_model.py`` against the uncached one (``off``)."""
    from PIL import Image

    from eadnet.io import read_video

    base = json.loads((off / "results.json").read_text())["table"]
    # the lip-sync proxy of the table above (best-lag correlation) and, for reference, the zero-lag one
    base_sync, base_sync0 = base["mouth_sync_best_corr"]["generated"], base["mouth_sync_corr"]["generated"]
    rows = []
    print(
        "run | interval | text reuse | clips | PSNR vs uncached dB | PSNR vs GT dB (uncached) | mouth sync | sync ratio | "
        "zero-lag sync ratio | emotion frame accuracy (uncached)"
    )
    base_emotion = base["emotion_frame_accuracy"]["generated"]
    for run in runs:
        results = json.loads((run / "results.json").read_text())
        to_off, to_gt, off_gt = [], [], []
        for video in sorted((off / "gen").glob("*.mp4")):
            source = np.asarray(Image.open(off / "sources" / f"{video.stem}.png").convert("RGB"))
            reference = read_video(video)[0]
            frames = read_video(run / "gen" / video.name)[0]
            truth = read_video(off / "gt" / video.name)[0]
            count = min(len(reference), len(frames), len(truth))
            changed = np.argwhere(np.any(reference[:count] != source[None], axis=(0, 3)))
            (y0, x0), (y1, x1) = changed.min(axis=0), changed.max(axis=0) + 1
            box = (slice(y0, y1), slice(x0, x1))
            to_off.append(psnr(frames[:count], reference[:count], box))
            to_gt.append(psnr(frames[:count], truth[:count], box))
            off_gt.append(psnr(reference[:count], truth[:count], box))
        sync = results["table"]["mouth_sync_best_corr"]["generated"]
        sync0 = results["table"]["mouth_sync_corr"]["generated"]
        row = {
            "run": run.name,
            "interval": results.get("cache_interval"),
            "text_reuse": results.get("cache_text_guidance"),
            "clips": len(to_off),
            "psnr_vs_uncached_db": float(np.mean(to_off)),
            "psnr_vs_gt_db": float(np.mean(to_gt)),
            "uncached_psnr_vs_gt_db": float(np.mean(off_gt)),
            "mouth_sync": sync,
            "sync_ratio": sync / base_sync if base_sync else float("nan"),
            "zero_lag_sync_ratio": sync0 / base_sync0 if base_sync0 else float("nan"),
            # the geometry rule's share of frames showing the requested emotion (eadnet evaluate)
            "emotion_frame_accuracy": results["table"]["emotion_frame_accuracy"]["generated"],
        }
        rows.append(row)
        print(" | ".join([run.name, str(row["interval"]), str(row["text_reuse"]), str(row["clips"]),
                          f"{row['psnr_vs_uncached_db']:.2f}", f"{row['psnr_vs_gt_db']:.2f} ({row['uncached_psnr_vs_gt_db']:.2f})",
                          f"{sync:.3f}", f"{row['sync_ratio']:.3f}", f"{row['zero_lag_sync_ratio']:.3f}",
                          f"{row['emotion_frame_accuracy']:.3f} ({base_emotion:.3f})"]), flush=True)  # fmt: skip
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="eadnet-mini")
    parser.add_argument("--image", type=Path, help="portrait (default: the example portrait)")
    parser.add_argument("--speech", type=Path, nargs="+", help="speech clips (default: the example speech)")
    parser.add_argument("--intervals", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--depths", type=int, nargs="+", default=[1])
    parser.add_argument(
        "--guidance", nargs="+", choices=["off", "on"], default=["off"],
        help="reuse of the text-guidance term on cached steps (cache_text_guidance) to measure (default off)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument(
        "--heldout", type=Path, nargs="+", metavar="DIR",
        help="compare held-out runs of scripts/evaluate_offline_model.py instead (the uncached run first)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.heldout:
        if len(args.heldout) < 2:
            parser.error("--heldout needs the uncached run and at least one other")
        rows = compare_heldout(args.heldout[0], args.heldout[1:])
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2))
        return 0

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
    print(
        "clip | interval | depth | guidance reuse | steps | denoise s | speed-up | PSNR vs uncached dB | mouth sync | "
        "sync ratio"
    )
    for speech in args.speech or [example_speech_path()]:
        waveform, rate = load_audio(speech)
        waveform = np.asarray(waveform, dtype=np.float32)
        waveform = waveform if waveform.ndim == 1 else waveform.mean(0)
        base = None
        runs = [(1, args.depths[0], "off")] if 1 in args.intervals else []
        runs += [(n, d, g) for d in args.depths for n in args.intervals if n > 1 for g in args.guidance]
        for interval, depth, reuse in runs:  # the uncached run first: the others are compared with it
            out = pipe(image=portrait, audio=waveform, sample_rate=rate, emotion="happy:2", output_type="np",
                       generator=torch.Generator().manual_seed(args.seed), cache_interval=interval,
                       cache_depth=depth, cache_text_guidance=reuse == "on")  # fmt: skip
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
                "guidance_reuse": reuse,
                "steps": out.report.settings.sampling.num_inference_steps,
                "denoise_seconds": seconds,
                "speedup": base["seconds"] / seconds,
                "psnr_db": psnr(frames, base["frames"], base["box"]),
                "mouth_sync": sync,
                "sync_ratio": sync / base["sync"] if base["sync"] else float("nan"),
            }
            rows.append(row)
            print(" | ".join([row["clip"], str(interval), str(depth), reuse, str(row["steps"]), f"{seconds:.2f}",
                              f"{row['speedup']:.2f}x", f"{row['psnr_db']:.2f}", f"{sync:.3f}",
                              f"{row['sync_ratio']:.3f}"]), flush=True)  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
