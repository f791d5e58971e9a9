"""Evaluates a model on the held-out split of the offline corpus against the ground-truth synthetic clips, with
`eadnet evaluate` (face-mesh mouth/speech sync, landmark jitter and window seams, geometry emotion recognition), and
on one long clip (30 s) for the seams. Prints the model-card table and writes everything under OUT.

    python scripts/evaluate_offline_model.py --corpus data/offline-corpus --model eadnet-mini --out eval/mini
    python scripts/evaluate_offline_model.py --corpus data/offline-corpus --model runs/eadnet-mini/stage2-ablation/model \
        --out eval/ablation --gt-from eval/mini           # reuse the ground-truth scores measured for eval/mini

For each test clip the source is the clip's face as a still portrait (its identity augmentation, neutral, closed
mouth — what `eadnet.data.synthetic.corpus.write_reference_frames` renders, at full size), the audio is the clip's speech and
the emotion its label and intensity. The ground truth is the rendered synthetic clip itself.

OUT/
  sources/<id>.png   gen/<id>.mp4   gt/<id>.mp4   labels.json
  gen.json gt.json   (`eadnet evaluate` reports)
  long/{gen,gt}/long.mp4 long/{gen,gt}.json
  results.json       (the aggregated table)
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

logger = logging.getLogger("evaluate_offline_model")

METRICS = ["mouth_sync", "landmarks", "emotion_geometry"]
LONG_SECONDS = 30.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", required=True, help="corpus folder (scripts/make_offline_corpus.py --out)")
    parser.add_argument("--model", default="eadnet-mini", help="preset name or model folder (default eadnet-mini)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--split", default="test", help="split to evaluate (default test: the held-out one)")
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N clips")
    parser.add_argument("--steps", type=int, default=None, help="denoising steps (default: the model's)")
    parser.add_argument("--seed", type=int, default=0, help="generation seed (default 0)")
    parser.add_argument("--strength", type=float, default=None, help="denoising strength (default: the model's)")
    parser.add_argument("--audio-guidance", type=float, default=None, help="audio guidance (default: the model's)")
    parser.add_argument(
        "--text-guidance", type=float, default=None, help="emotion-text guidance (default: the model's)"
    )
    parser.add_argument(
        "--audio-offset",
        type=float,
        default=None,
        help="audio offset in video frames (default: the model's; see EADNetPipeline.__call__)",
    )
    parser.add_argument(
        "--cache-interval", type=int, default=None, help="DeepCache interval, 1 = off (default: the model's)"
    )
    parser.add_argument(
        "--cache-text-guidance",
        choices=["on", "off"],
        default=None,
        help="reuse the text-guidance term on cached steps (default: the model's)",
    )
    parser.add_argument("--gt-from", default=None, help="an earlier OUT whose ground-truth reports are reused")
    parser.add_argument("--no-long", action="store_true", help="skip the 30 s clip")
    return parser.parse_args(argv)


def generate(
    pipe, image: np.ndarray, audio: np.ndarray, sample_rate: int, emotion: str, out: Path, settings, seed: int
):
    """Generates one clip into ``out`` (mp4 with the audio) with the resolved ``settings``; returns frames and
    seconds."""
    import torch

    from eadnet.pipelines import write_talking_video

    report = write_talking_video(
        pipe,
        out,
        image=image,
        audio=audio,
        sample_rate=sample_rate,
        emotion=emotion,
        settings=settings,
        generator=torch.Generator().manual_seed(seed),
        overwrite=True,
    )
    return {"frames": report.num_frames, "seconds": report.total_seconds}


def run_evaluate(
    folder: Path, labels: Path | None, out_json: Path, metrics: list[str], portraits: Path | None = None
) -> dict:
    """`eadnet evaluate` on a folder; ``portraits`` (matched by stem) are each clip's neutral face, the baseline of
    the geometry emotion recogniser."""
    command = [sys.executable, "-m", "eadnet", "evaluate", str(folder), "--metrics", *metrics, "--json", str(out_json)]
    if labels is not None:
        command += ["--emotion", str(labels)]
    if portraits is not None:
        command += ["--reference-portrait", str(portraits)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return json.loads(out_json.read_text())


def _scores(report: dict) -> dict[str, dict]:
    return {Path(video["video"]).stem: video.get("scores", {}) for video in report["videos"]}


def _numbers(values) -> list[float]:
    return [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)]


def _mean(values) -> float | None:
    numbers = _numbers(values)
    return float(np.mean(numbers)) if numbers else None


def _median(values) -> float | None:
    numbers = _numbers(values)
    return float(np.median(numbers)) if numbers else None


def aggregate(gen: dict, gt: dict, labels: dict[str, str]) -> dict:
    """Per-metric means of generated and ground-truth clips and their ratio (generated / ground truth)."""
    gen_scores, gt_scores = _scores(gen), _scores(gt)
    stems = sorted(set(gen_scores) & set(gt_scores))
    table: dict[str, dict] = {}

    def row(name: str, gen_values, gt_values) -> None:
        g, t = _mean(gen_values), _mean(gt_values)
        table[name] = {"generated": g, "ground_truth": t, "ratio": None if g is None or t is None or t == 0 else g / t}

    for key in ("mouth_sync_corr", "mouth_sync_best_corr", "landmark_jitter", "mouth_jitter", "seam_jitter_ratio"):
        row(key, [gen_scores[s].get(key) for s in stems], [gt_scores[s].get(key) for s in stems])
    row(
        "mouth_sync_lag_within_1",
        [float(abs(gen_scores[s].get("mouth_sync_best_lag", 99)) <= 1) for s in stems],
        [float(abs(gt_scores[s].get("mouth_sync_best_lag", 99)) <= 1) for s in stems],
    )
    table["mouth_sync_best_lag_median"] = {
        "generated": _median([gen_scores[s].get("mouth_sync_best_lag") for s in stems]),
        "ground_truth": _median([gt_scores[s].get("mouth_sync_best_lag") for s in stems]),
    }
    # emotion recognised: the clip's majority geometry label is the requested one
    recognised = {}
    for name, scores in (("generated", gen_scores), ("ground_truth", gt_scores)):
        recognised[name] = [float(scores[s].get("geometry_emotion") == labels[s]) for s in stems]
    row("emotion_recognised", recognised["generated"], recognised["ground_truth"])
    per_emotion = {}
    for label in sorted(set(labels[s] for s in stems)):
        members = [i for i, s in enumerate(stems) if labels[s] == label]
        per_emotion[label] = {name: float(np.mean([recognised[name][i] for i in members])) for name in recognised}
        per_emotion[label]["clips"] = len(members)
    row(
        "emotion_frame_accuracy",
        [gen_scores[s].get("geometry_emotion_accuracy") for s in stems],
        [gt_scores[s].get("geometry_emotion_accuracy") for s in stems],
    )
    return {"clips": len(stems), "table": table, "emotion_per_label": per_emotion}


def long_clip(corpus: Path, talker, pipe, out: Path, settings, seed: int, gt_from: Path | None) -> dict:
    """A ≥30 s clip of held-out sentences in the held-out voice: ground truth rendered, generated from the still
    portrait; landmark jitter and seam jitter of both."""
    from eadnet.data.format import read_manifest
    from eadnet.data.synthetic import make_synthetic_clip
    from eadnet.data.synthetic.corpus import neutral_still
    from eadnet.io import VideoWriter

    (out / "gen").mkdir(parents=True, exist_ok=True)
    (out / "gt").mkdir(parents=True, exist_ok=True)
    records = read_manifest(corpus / "dataset", split="test")
    texts = []
    for record in records:
        text = record.extra.get("text")
        if text and text not in texts:
            texts.append(text)
    voice = next(
        (r.extra.get("voice") for r in records if "voice" in r.extra.get("heldout", [])), records[0].extra.get("voice")
    )
    emotion, intensity = "happy", 2
    gt_video = out / "gt" / "long.mp4"
    if gt_from is not None and (gt_from / "gt" / "long.mp4").is_file():  # gt_from: an earlier OUT/long
        shutil.copyfile(gt_from / "gt" / "long.mp4", gt_video)
        shutil.copyfile(gt_from / "gt.json", out / "gt.json")
    if not gt_video.is_file():
        words, clip = [], None
        for text in texts:  # about 15 characters a second: synthesise once there is enough text, then top up
            words.append(text)
            if sum(len(w) for w in words) < 14 * LONG_SECONDS and text != texts[-1]:
                continue
            clip = make_synthetic_clip(
                talker, text=" ".join(words), emotion=emotion, intensity=intensity, voice=voice, seed=seed
            )
            if clip.duration >= LONG_SECONDS:
                break
        with VideoWriter(gt_video, clip.fps, overwrite=True) as writer:
            writer.write(clip.frames)
            writer.set_audio(clip.audio, clip.sample_rate)
    from eadnet.io import load_audio

    audio, rate = load_audio(gt_video)
    source = neutral_still(talker, None)
    timing = generate(pipe, source, audio, rate, f"{emotion}:{intensity}", out / "gen" / "long.mp4", settings, seed)
    result = {
        "seconds_of_audio": np.asarray(audio).shape[-1] / rate,
        "generation": timing,
        "emotion": f"{emotion}:{intensity}",
        "voice": voice,
    }
    for name in ("gen", "gt"):
        if name == "gt" and (out / "gt.json").is_file():
            report = json.loads((out / "gt.json").read_text())
        else:
            report = run_evaluate(out / name, None, out / f"{name}.json", ["landmarks", "mouth_sync"])
        result[name] = report["videos"][0]["scores"]
    return result


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from PIL import Image

    from eadnet.assets import example_portrait_path
    from eadnet.data.format import load_clip_audio, read_dataset_info, read_manifest
    from eadnet.data.synthetic import LABELS_FILE, SyntheticTalker
    from eadnet.data.synthetic.corpus import neutral_still
    from eadnet.hub.local import resolve_model
    from eadnet.pipelines import EADNetPipeline
    from eadnet.settings import on_off

    corpus, out = Path(args.corpus).expanduser(), Path(args.out).expanduser()
    gt_from = Path(args.gt_from).expanduser() if args.gt_from else None
    dataset = corpus / "dataset"
    info = read_dataset_info(dataset)
    records = read_manifest(dataset, split=args.split)[: args.limit]
    rows = {}
    for line in (corpus / "raw" / LABELS_FILE).read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            rows[row["path"]] = row
    for name in ("sources", "gen", "gt"):
        (out / name).mkdir(parents=True, exist_ok=True)

    preset, local_paths = resolve_model(args.model)
    pipe = EADNetPipeline.from_preset(preset, local_paths=local_paths)
    pipe.set_progress_bar_config(disable=True)
    # resolved once, by the pipeline: options left unset (None) are the model's defaults
    settings = pipe.resolve_settings(
        num_inference_steps=args.steps,
        audio_guidance_scale=args.audio_guidance,
        text_guidance_scale=args.text_guidance,
        strength=args.strength,
        audio_offset=args.audio_offset,
        cache_interval=args.cache_interval,
        cache_text_guidance=on_off(args.cache_text_guidance),
        fps=25.0,
    )
    sampling = settings.sampling
    talker = SyntheticTalker(example_portrait_path())
    labels, timings = {}, []
    for number, record in enumerate(records, 1):
        row = rows[record.source]
        labels[record.id] = record.emotion
        source_path = out / "sources" / f"{record.id}.png"
        if not source_path.is_file():
            Image.fromarray(neutral_still(talker, row.get("augmentation"))).save(source_path)
        gt_path = out / "gt" / f"{record.id}.mp4"
        if not gt_path.is_file():
            shutil.copyfile(corpus / "raw" / record.source, gt_path)
        gen_path = out / "gen" / f"{record.id}.mp4"
        if not gen_path.is_file():
            image = np.asarray(Image.open(source_path).convert("RGB"))
            timing = generate(
                pipe,
                image,
                load_clip_audio(dataset, record),
                info.sample_rate,
                f"{record.emotion}:{record.intensity}",
                gen_path,
                settings,
                args.seed,
            )
            timings.append(timing)
            logger.info(
                "[%d/%d] %s (%s:%s): %d frames in %.1f s",
                number,
                len(records),
                record.id,
                record.emotion,
                record.intensity,
                timing["frames"],
                timing["seconds"],
            )
    (out / "labels.json").write_text(json.dumps(labels, indent=2))

    gen = run_evaluate(out / "gen", out / "labels.json", out / "gen.json", METRICS, out / "sources")
    if gt_from is not None and (gt_from / "gt.json").is_file():
        gt = json.loads((gt_from / "gt.json").read_text())
        shutil.copyfile(gt_from / "gt.json", out / "gt.json")
    else:
        gt = run_evaluate(out / "gt", out / "labels.json", out / "gt.json", METRICS, out / "sources")
    results = {
        "model": args.model,
        "steps": sampling.num_inference_steps,
        "strength": sampling.strength,
        "audio_guidance": sampling.audio_guidance_scale,
        "text_guidance": sampling.text_guidance_scale,
        "audio_offset": sampling.audio_offset,
        "cache_interval": sampling.cache_interval,
        "cache_text_guidance": sampling.cache_text_guidance,
        "split": args.split,
        **aggregate(gen, gt, labels),
    }
    if timings:
        results["generation"] = {
            "clips": len(timings),
            "frames": sum(t["frames"] for t in timings),
            "seconds": sum(t["seconds"] for t in timings),
        }
    if not args.no_long:
        results["long_clip"] = long_clip(
            corpus,
            talker,
            pipe,
            out / "long",
            settings,
            args.seed,
            gt_from / "long" if gt_from is not None else None,
        )
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
