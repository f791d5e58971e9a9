"""``eadnet evaluate``: score generated videos (LSE-C/D, FID, FVD, SSIM/PSNR, emotion and face-mesh proxies)."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

from eadnet.evaluation.evaluate import METRICS, evaluate_folder, evaluate_video, write_csv, write_json
from eadnet.io import check_output_path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score a generated video (or a folder of them): lip sync, image quality, emotion, stability",
        description="Metrics whose inputs or weights are missing are left out and the reason is reported. "
        "Weights not given by flag are looked up in $EADNET_MODELS_DIR/eval "
        "(default ~/.cache/eadnet/models/eval) or --weights-dir.",
    )
    parser.add_argument(
        "video",
        type=Path,
        metavar="VIDEO_OR_FOLDER",
        help="a video file, or a folder of videos (then --audio, --reference-video and "
        "--reference-portrait may be folders whose files are matched by stem)",
    )
    parser.add_argument(
        "--audio",
        type=Path,
        metavar="AUDIO",
        help="driving speech (default: the video's own audio track); a folder for a video folder",
    )
    parser.add_argument(
        "--reference-video",
        type=Path,
        metavar="VIDEO",
        help="ground-truth video for SSIM/PSNR/FID/FVD; a folder for a video folder",
    )
    parser.add_argument(
        "--reference-portrait",
        type=Path,
        metavar="IMAGE",
        help="source portrait for identity drift; a folder (matched by stem) for a video folder",
    )
    parser.add_argument(
        "--emotion",
        metavar="LABEL|FILE",
        help="intended MEAD emotion: angry, contempt, disgusted, fear, happy, neutral, sad, surprised; "
        "for a folder also a .json file {video stem: label} or a .csv with columns stem,emotion",
    )
    parser.add_argument(
        "--metrics",
        nargs="+",
        choices=METRICS,
        metavar="METRIC",
        help=f"metrics to run (default: all): {', '.join(METRICS)}",
    )
    parser.add_argument("--syncnet-v2", type=Path, metavar="PATH", help="syncnet_python's syncnet_v2.model (LSE-C/D)")
    parser.add_argument(
        "--syncnet",
        type=Path,
        metavar="PATH",
        help="EAD-Net's own SyncNet: a saved model folder or LatentSync's stable_syncnet.pt",
    )
    parser.add_argument(
        "--inception", type=Path, metavar="PATH", help="pytorch-fid's pt_inception-2015-12-05-6726825d.pth (FID)"
    )
    parser.add_argument("--i3d", type=Path, metavar="PATH", help="StyleGAN-V's i3d_torchscript.pt (FVD)")
    parser.add_argument(
        "--weights-dir",
        type=Path,
        metavar="DIR",
        help="folder searched for weight files not given by flag (default: $EADNET_MODELS_DIR/eval)",
    )
    parser.add_argument(
        "--lse-crop",
        choices=("syncnet", "aligned"),
        default="syncnet",
        help="face crops for LSE: syncnet_python's box crop (default) or EAD-Net's aligned crop",
    )
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda when available)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the full report as JSON")
    parser.add_argument("--csv", type=Path, metavar="OUT", help="write the scores as CSV (one row per video)")
    parser.set_defaults(handler=run_evaluate)


def _format(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _print_report(report: dict[str, Any]) -> None:
    print(
        f"{report['video']}  ({report['num_frames']} frames, {report['fps']:.3g} fps, "
        f"{report['width']}x{report['height']})"
    )
    scores = report.get("scores", {})
    if scores:
        width = max(len(key) for key in scores)
        for key, value in scores.items():
            print(f"  {key:<{width}}  {_format(value)}")
    for name, reason in report.get("skipped", {}).items():
        print(f"  [skipped] {name}: {reason}")


def _print_folder(result: dict[str, Any]) -> None:
    reports = result["videos"]
    columns: list[str] = []
    for report in reports:
        columns.extend(key for key in report["scores"] if key not in columns)
    names = [Path(report["video"]).name for report in reports]
    name_width = max([len("video"), *(len(n) for n in names)])
    widths = [max(len(column), 10) for column in columns]
    print("  ".join([f"{'video':<{name_width}}", *(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True))]))
    for name, report in zip(names, reports, strict=True):
        cells = [f"{_format(report['scores'].get(c)):>{w}}" for c, w in zip(columns, widths, strict=True)]
        print("  ".join([f"{name:<{name_width}}", *cells]))
    if result["summary"]:
        cells = [
            f"{_format(result['summary'].get(c, {}).get('mean')):>{w}}" for c, w in zip(columns, widths, strict=True)
        ]
        print("  ".join([f"{'mean':<{name_width}}", *cells]))
    for key, value in result["set_metrics"].items():
        print(f"folder {key}: {_format(value) if not isinstance(value, list) else value}")
    for name, reason in result["set_skipped"].items():
        print(f"folder [skipped] {name}: {reason}")
    for report in reports:
        if report.get("error"):
            print(f"[error] {Path(report['video']).name}: {report['error']}")
    skipped: dict[str, set[str]] = {}
    for report in reports:
        for name, reason in report["skipped"].items():
            skipped.setdefault(name, set()).add(reason)
    for name, reasons in skipped.items():
        print(f"[skipped] {name}: {' / '.join(sorted(reasons))}")


def read_emotion_labels(path: Path) -> dict[str, str]:
    """``{video stem: label}`` from a ``.json`` object or a ``.csv`` with ``stem`` and ``emotion`` columns."""
    if path.suffix.lower() == ".json":
        labels = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            raise ValueError(f"{path} must hold a JSON object {{video stem: emotion label}}")
        return {str(k): v for k, v in labels.items()}
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"stem", "emotion"} <= set(rows[0]):
        raise ValueError(f"{path} must be a CSV with the columns stem,emotion")
    return {row["stem"]: row["emotion"] for row in rows}


def run_evaluate(args: argparse.Namespace) -> int:
    weights = {
        kind: path
        for kind, path in (
            ("syncnet_v2", args.syncnet_v2),
            ("syncnet", args.syncnet),
            ("inception", args.inception),
            ("i3d", args.i3d),
        )
        if path is not None
    }
    if not args.video.exists():
        raise FileNotFoundError(f"no such video or folder: {args.video}")
    for path in (args.json, args.csv):
        if path is not None:
            check_output_path(path, overwrite=True)

    emotion = args.emotion
    if emotion is not None and Path(emotion).suffix.lower() in (".json", ".csv"):
        if not args.video.is_dir():
            raise ValueError("--emotion takes a labels file only when evaluating a folder; give one LABEL for a video")
        if not Path(emotion).is_file():
            raise FileNotFoundError(f"no such emotion labels file: {emotion}")
        emotion = read_emotion_labels(Path(emotion))
    if args.video.is_dir():
        for name, path in (("--audio", args.audio), ("--reference-video", args.reference_video)):
            if path is not None and not path.is_dir():
                raise ValueError(
                    f"{name} must be a folder (files matched by stem) when evaluating a folder, got {path}"
                )
        portrait_folder = (
            args.reference_portrait if args.reference_portrait and args.reference_portrait.is_dir() else None
        )
        result = evaluate_folder(
            args.video,
            reference_folder=args.reference_video,
            audio_folder=args.audio,
            portrait_folder=portrait_folder,
            reference_portrait=None if portrait_folder else args.reference_portrait,
            emotion=emotion,
            metrics=args.metrics,
            weights=weights,
            weights_dir=args.weights_dir,
            device=args.device,
            lse_crop=args.lse_crop,
            out_csv=args.csv,
            out_json=args.json,
        )
        _print_folder(result)
    else:
        for name, path in (
            ("--audio", args.audio),
            ("--reference-video", args.reference_video),
            ("--reference-portrait", args.reference_portrait),
        ):
            if path is not None and path.is_dir():
                raise ValueError(f"{name} must be a file when VIDEO is a file, got the folder {path}")
        report = evaluate_video(
            args.video,
            audio_path=args.audio,
            reference_video=args.reference_video,
            reference_portrait=args.reference_portrait,
            emotion=args.emotion,
            metrics=args.metrics,
            weights=weights,
            weights_dir=args.weights_dir,
            device=args.device,
            lse_crop=args.lse_crop,
        )
        _print_report(report)
        if args.json is not None:
            write_json(report, args.json)
        if args.csv is not None:
            write_csv([report], args.csv)
    for label, path in (("JSON", args.json), ("CSV", args.csv)):
        if path is not None:
            print(f"{label} written to {path}")
    return 0
