#!/usr/bin/env python3
"""Independent measures of generated talking-head videos and edited portraits.

Nothing here comes from EAD-Net (this script imports nothing from ``eadnet``): identity and face presence come
from dlib's face recogniser (through ``face_recognition``), expression from ``fer``'s FER-2013 CNN and similarity
from scikit-image's SSIM, so the numbers judge the engine with tools its authors did not build.

What is measured, for each frame of a video (or each still image) against the portrait it was made from:

* **face found**: dlib's HOG detector (``face_recognition.face_locations``, upsample 1) finds at least one face;
  the largest one is used for the rest.
* **dlib distance**: Euclidean distance between the 128-d dlib embeddings of that face and the portrait's face;
  by dlib's convention two faces of the same person are closer than 0.6 (``--threshold``).
* **upper-face SSIM**: grayscale SSIM between the frame and the portrait over the portrait's upper face: the box
  spanning the 68 dlib landmarks (``face_recognition.face_landmarks``) horizontally, from a little above the
  eyebrows down to the nose tip (landmark 30). No alignment: the engine keeps the portrait's framing, so the same
  box is cut from every frame (scaled if the frame's size differs from the portrait's). It is computed for every
  frame, face found or not.
* **fer expression**: ``fer.FER(mtcnn=False).detect_emotions`` on the frame (as BGR). Its face box comes from fer's
  own Haar cascade (largest face); when the cascade finds none, dlib's box is passed as ``face_rectangles``
  (``--fer-box auto``, the default; ``haar`` uses the cascade only, ``dlib`` always dlib's box). Reported: the
  share of frames per top label, the mean probability of each label and, with ``--expect LABEL``, the share of
  frames (or images) whose top label is LABEL.

Frames or images without a face are counted, never fatal (their distance is missing and excluded from means).

Usage (run it with the measurement venv's Python, not the project's)::

    measure-venv/bin/python scripts/measure_faces.py video --source portrait.png out.mp4 [out2.mp4 ...] \\
        [--pairs pairs.txt] [--every 2] [--max-frames 200] [--expect happy] [--json result.json]
    measure-venv/bin/python scripts/measure_faces.py images --source portrait.png edited1.png edited2.png \\
        [--expect happy] [--json result.json]

``--pairs`` names a text file with one ``SOURCE OUTPUT`` pair per line (whitespace, tab or comma separated;
``#`` starts a comment); those pairs are measured after the ones given on the command line.

Installation (a separate venv; never install these into the project's ``.venv``)::

    python3.11 -m venv measure-venv
    measure-venv/bin/pip install --upgrade pip
    measure-venv/bin/pip install dlib-bin face-recognition-models pillow click numpy
    measure-venv/bin/pip install --no-deps face-recognition
    measure-venv/bin/pip install tensorflow-cpu "opencv-python-headless<5" pillow av
    measure-venv/bin/pip install --no-deps fer
    measure-venv/bin/pip install scikit-image imageio-ffmpeg

(Tried with dlib-bin 20.0.1.post1, face-recognition 1.3.0, fer 25.10.3, tensorflow-cpu 2.21.0,
opencv-python-headless 4.14.0.94, av 18.1.0, scikit-image 0.26.0 on Python 3.11. OpenCV 5 lacks the Haar
cascade fer uses, hence the pin.) Videos are read with PyAV (``av``); imageio-ffmpeg is a fallback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FER_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
SAME_PERSON_THRESHOLD = 0.6
UPSAMPLE = 1


# ---------------------------------------------------------------------------------------------- loading
def load_image(path: str | Path) -> np.ndarray:
    """An image file as a uint8 RGB ``(H, W, 3)`` array."""
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).copy()


def iter_video(path: str | Path, every: int = 1, max_frames: int | None = None):
    """Yields ``(frame_index, rgb_frame)`` for every ``every``-th frame of a video, at most ``max_frames``."""
    count = 0
    try:
        import av
    except ImportError:  # pragma: no cover - depends on the environment
        av = None
    if av is not None:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for index, frame in enumerate(container.decode(stream)):
                if index % every:
                    continue
                yield index, np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
                count += 1
                if max_frames is not None and count >= max_frames:
                    return
        return
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    meta = next(reader)
    width, height = meta["size"]
    for index, raw in enumerate(reader):
        if index % every:
            continue
        yield index, np.frombuffer(raw, np.uint8).reshape(height, width, 3).copy()
        count += 1
        if max_frames is not None and count >= max_frames:
            return


def video_info(path: str | Path) -> dict[str, Any]:
    """Frame rate, frame count, size, duration and audio presence of a video, as far as the container says."""
    info: dict[str, Any] = {}
    try:
        import av

        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.base_rate
            info["fps"] = float(rate) if rate else None
            info["frames"] = int(stream.frames) or None
            info["size"] = [stream.codec_context.width, stream.codec_context.height]
            if container.duration:
                info["duration_s"] = container.duration / 1_000_000
            elif stream.duration and stream.time_base:
                info["duration_s"] = float(stream.duration * stream.time_base)
            info["has_audio"] = bool(container.streams.audio)
    except Exception as error:  # noqa: BLE001 - informative only
        info["error"] = f"{type(error).__name__}: {error}"
    return info


# ---------------------------------------------------------------------------------------------- models
def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    warnings.filterwarnings("ignore", category=UserWarning, module=r"tensorflow.*")
    warnings.filterwarnings("ignore", category=DeprecationWarning)


class Models:
    """dlib (through face_recognition) and fer, loaded once."""

    def __init__(self, fer_box: str = "auto"):
        import face_recognition

        _quiet_tensorflow()
        from fer.fer import FER

        self.fr = face_recognition
        self.fer = FER(mtcnn=False)
        self.fer_box = fer_box

    # dlib ------------------------------------------------------------------------------------------
    def faces(self, rgb: np.ndarray) -> list[tuple[int, int, int, int]]:
        """dlib HOG face boxes ``(top, right, bottom, left)``, largest first."""
        locations = self.fr.face_locations(rgb, number_of_times_to_upsample=UPSAMPLE, model="hog")
        return sorted(locations, key=lambda box: -(box[2] - box[0]) * (box[1] - box[3]))

    def encoding(self, rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        return self.fr.face_encodings(rgb, known_face_locations=[box])[0]

    def landmarks(self, rgb: np.ndarray, box: tuple[int, int, int, int]) -> dict[str, list[tuple[int, int]]]:
        return self.fr.face_landmarks(rgb, face_locations=[box], model="large")[0]

    # fer -------------------------------------------------------------------------------------------
    def emotions(self, rgb: np.ndarray, dlib_box: tuple[int, int, int, int] | None) -> tuple[dict | None, str]:
        """fer's label probabilities for the most prominent face and where its box came from."""
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        results: list[dict] = []
        origin = "none"
        if self.fer_box in ("auto", "haar"):
            results = self.fer.detect_emotions(bgr)
            origin = "haar"
        if not results and dlib_box is not None and self.fer_box in ("auto", "dlib"):
            top, right, bottom, left = dlib_box
            results = self.fer.detect_emotions(bgr, face_rectangles=[(left, top, right - left, bottom - top)])
            origin = "dlib"
        if not results:
            return None, "none"
        best = max(results, key=lambda r: int(r["box"][2]) * int(r["box"][3]))
        return {label: float(best["emotions"][label]) for label in FER_LABELS}, origin


# ---------------------------------------------------------------------------------------------- measures
@dataclass
class SourceFace:
    path: str
    shape: tuple[int, int]
    box: tuple[int, int, int, int]
    n_faces: int
    encoding: np.ndarray
    upper_box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive) in source pixels
    upper_gray: np.ndarray
    emotions: dict | None
    emotions_box: str

    def summary(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "size": [self.shape[1], self.shape[0]],
            "n_faces": self.n_faces,
            "face_box_trbl": list(self.box),
            "upper_face_box_xyxy": list(self.upper_box),
            "fer_top": top_label(self.emotions),
            "fer": self.emotions,
            "fer_box": self.emotions_box,
        }


def gray(rgb: np.ndarray) -> np.ndarray:
    """Luma in [0, 1] (ITU-R BT.601 weights, as skimage's rgb2gray uses BT.709; either is fine for SSIM)."""
    return (rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114) / 255.0


def upper_face_box(landmarks: dict[str, list[tuple[int, int]]], shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """``x0, y0, x1, y1``: all 68 landmarks' horizontal span, from above the brows down to the nose tip."""
    points = np.array([p for group in landmarks.values() for p in group], dtype=float)
    nose_tip_y = float(landmarks["nose_bridge"][-1][1])  # landmark 30
    brow_y = float(min(p[1] for p in landmarks["left_eyebrow"] + landmarks["right_eyebrow"]))
    y0 = brow_y - 0.3 * max(nose_tip_y - brow_y, 1.0)
    height, width = shape
    x0 = int(max(0, math.floor(points[:, 0].min())))
    x1 = int(min(width, math.ceil(points[:, 0].max()) + 1))
    y0i = int(max(0, math.floor(y0)))
    y1 = int(min(height, math.ceil(nose_tip_y) + 1))
    if x1 - x0 < 7 or y1 - y0i < 7:
        raise ValueError(f"upper-face box too small: {(x0, y0i, x1, y1)}")
    return x0, y0i, x1, y1


def prepare_source(models: Models, path: str) -> SourceFace:
    rgb = load_image(path)
    faces = models.faces(rgb)
    if not faces:
        raise ValueError(f"dlib finds no face in the source portrait {path}")
    box = faces[0]
    ubox = upper_face_box(models.landmarks(rgb, box), rgb.shape[:2])
    x0, y0, x1, y1 = ubox
    emotions, origin = models.emotions(rgb, box)
    return SourceFace(
        path=str(path),
        shape=rgb.shape[:2],
        box=tuple(int(v) for v in box),
        n_faces=len(faces),
        encoding=models.encoding(rgb, box),
        upper_box=ubox,
        upper_gray=gray(rgb[y0:y1, x0:x1].astype(np.float64)),
        emotions=emotions,
        emotions_box=origin,
    )


def upper_face_ssim(source: SourceFace, rgb: np.ndarray) -> float:
    """SSIM of ``rgb``'s upper face (the source's box, scaled to ``rgb``'s size) against the source's."""
    import cv2
    from skimage.metrics import structural_similarity

    sh, sw = source.shape
    fh, fw = rgb.shape[:2]
    x0, y0, x1, y1 = source.upper_box
    if (fh, fw) != (sh, sw):
        sx, sy = fw / sw, fh / sh
        x0, x1 = round(x0 * sx), max(round(x1 * sx), round(x0 * sx) + 1)
        y0, y1 = round(y0 * sy), max(round(y1 * sy), round(y0 * sy) + 1)
    crop = gray(rgb[y0:y1, x0:x1].astype(np.float64))
    target = source.upper_gray
    if crop.shape != target.shape:
        crop = cv2.resize(crop, (target.shape[1], target.shape[0]), interpolation=cv2.INTER_AREA)
    return float(structural_similarity(crop, target, data_range=1.0))


def top_label(emotions: dict | None) -> str | None:
    if not emotions:
        return None
    return max(FER_LABELS, key=lambda label: emotions[label])


def measure_frame(models: Models, source: SourceFace, rgb: np.ndarray) -> dict[str, Any]:
    faces = models.faces(rgb)
    row: dict[str, Any] = {"n_faces": len(faces), "distance": None}
    box = faces[0] if faces else None
    if box is not None:
        encoding = models.encoding(rgb, box)
        row["distance"] = float(np.linalg.norm(encoding - source.encoding))
    row["upper_ssim"] = upper_face_ssim(source, rgb)
    emotions, origin = models.emotions(rgb, box)
    row["fer_top"] = top_label(emotions)
    row["fer"] = emotions
    row["fer_box"] = origin
    return row


def summarise(rows: list[dict[str, Any]], threshold: float, expect: str | None) -> dict[str, Any]:
    """Aggregates per-frame (or per-image) rows."""
    n = len(rows)
    distances = [r["distance"] for r in rows if r["distance"] is not None]
    ssims = [r["upper_ssim"] for r in rows if r.get("upper_ssim") is not None]
    tops = [r["fer_top"] for r in rows]
    counted = Counter(t for t in tops if t is not None)
    with_fer = [r["fer"] for r in rows if r["fer"]]
    out: dict[str, Any] = {
        "n": n,
        "face_found": sum(r["n_faces"] > 0 for r in rows),
        "face_share": (sum(r["n_faces"] > 0 for r in rows) / n) if n else None,
        "multi_face": sum(r["n_faces"] > 1 for r in rows),
        "distance_mean": float(np.mean(distances)) if distances else None,
        "distance_max": float(np.max(distances)) if distances else None,
        "distance_min": float(np.min(distances)) if distances else None,
        # share of ALL frames whose face is the same person (no face counts as not the same person)
        "same_person_share": (sum(d < threshold for d in distances) / n) if n else None,
        "upper_ssim_mean": float(np.mean(ssims)) if ssims else None,
        "upper_ssim_min": float(np.min(ssims)) if ssims else None,
        "fer_found": len(with_fer),
        # shares of ALL frames; frames where fer had no face count under "none"
        "fer_top_share": {label: counted.get(label, 0) / n for label in FER_LABELS} if n else {},
        "fer_none_share": (sum(t is None for t in tops) / n) if n else None,
        "fer_mean_prob": (
            {label: float(np.mean([e[label] for e in with_fer])) for label in FER_LABELS} if with_fer else None
        ),
        "fer_mode": counted.most_common(1)[0][0] if counted else None,
    }
    if expect is not None:
        out["expect"] = expect
        out["expect_share"] = (counted.get(expect, 0) / n) if n else None
    return out


# ---------------------------------------------------------------------------------------------- printing
def _f(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


def short(path: str, width: int = 40) -> str:
    return path if len(path) <= width else "…" + path[-(width - 1) :]


def print_sources(sources: dict[str, SourceFace]) -> None:
    print("Sources (dlib face, fer label of the portrait itself):")
    rows = []
    for s in sources.values():
        x0, y0, x1, y1 = s.upper_box
        rows.append(
            [
                short(s.path),
                f"{s.shape[1]}x{s.shape[0]}",
                str(s.n_faces),
                f"{x1 - x0}x{y1 - y0}@{x0},{y0}",
                _f(top_label(s.emotions)),
                _f(s.emotions[top_label(s.emotions)], 2) if s.emotions else "-",
                s.emotions_box,
            ]
        )
    print_table(["source", "size", "faces", "upper box", "fer", "p", "fer box"], rows)
    print()


def print_video_results(results: list[dict[str, Any]], expect: str | None) -> None:
    headers = ["output", "frames", "face", "dist mean", "dist max", "same", "SSIM up", "SSIM min", "fer mode"]
    if expect:
        headers.append(f"={expect}")
    rows = []
    for r in results:
        if "error" in r:
            rows.append([short(r["output"]), "error: " + r["error"]] + [""] * (len(headers) - 2))
            continue
        s = r["summary"]
        mode = s["fer_mode"]
        row = [
            short(r["output"]),
            str(s["n"]),
            _pct(s["face_share"]),
            _f(s["distance_mean"]),
            _f(s["distance_max"]),
            _pct(s["same_person_share"]),
            _f(s["upper_ssim_mean"]),
            _f(s["upper_ssim_min"]),
            f"{mode} {_pct(s['fer_top_share'].get(mode))}" if mode else "-",
        ]
        if expect:
            row.append(_pct(s["expect_share"]))
        rows.append(row)
    print_table(headers, rows)
    print()
    print("fer per video: share of frames by top label / mean probability")
    rows = []
    for r in results:
        if "error" in r:
            continue
        s = r["summary"]
        probs = s["fer_mean_prob"] or {}
        rows.append(
            [short(r["output"])]
            + [f"{_pct(s['fer_top_share'][lb])}/{_f(probs.get(lb), 2)}" for lb in FER_LABELS]
            + [_pct(s["fer_none_share"])]
        )
    print_table(["output", *FER_LABELS, "no face"], rows)


def print_image_results(results: list[dict[str, Any]], expect: str | None) -> None:
    headers = ["image", "source", "faces", "dist", "same", "SSIM up", "fer", *[lb[:4] for lb in FER_LABELS]]
    rows = []
    for r in results:
        if "error" in r:
            rows.append([short(r["output"], 32), short(r["source"], 24), "error: " + r["error"]])
            rows[-1] += [""] * (len(headers) - 3)
            continue
        m = r["row"]
        d = m["distance"]
        rows.append(
            [
                short(r["output"], 32),
                short(r["source"], 24),
                str(m["n_faces"]),
                _f(d),
                "-" if d is None else ("yes" if d < r["threshold"] else "no"),
                _f(m["upper_ssim"]),
                _f(m["fer_top"]),
                *[_f(m["fer"][lb], 2) if m["fer"] else "-" for lb in FER_LABELS],
            ]
        )
    print_table(headers, rows)
    ok = [r["row"] for r in results if "row" in r]
    if ok:
        s = summarise(ok, results[0]["threshold"], expect)
        print()
        line = (
            f"{s['n']} images: face found {_pct(s['face_share'])}, dlib distance mean {_f(s['distance_mean'])} "
            f"max {_f(s['distance_max'])}, same person {_pct(s['same_person_share'])}, "
            f"upper-face SSIM mean {_f(s['upper_ssim_mean'])}"
        )
        if expect:
            line += f", fer top label = {expect}: {_pct(s['expect_share'])}"
        print(line)


# ---------------------------------------------------------------------------------------------- main
def read_pairs(path: str) -> list[tuple[str, str]]:
    pairs = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.replace(",", " ").replace("\t", " ").split()
        if len(parts) != 2:
            raise SystemExit(f"{path}:{number}: expected 'SOURCE OUTPUT', got {line!r}")
        pairs.append((parts[0], parts[1]))
    return pairs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Independent face measures (dlib identity, upper-face SSIM, fer expression) of generated "
        "videos or edited images against their source portrait.",
    )
    sub = parser.add_subparsers(dest="mode", required=True)
    for mode, help_text in (
        ("video", "generated videos against the portrait they were made from"),
        ("images", "edited still images against their source portrait (one row per image)"),
    ):
        p = sub.add_parser(mode, help=help_text)
        p.add_argument("outputs", nargs="*", help="videos (video) or images (images) made from --source")
        p.add_argument("--source", help="the source portrait the outputs were made from")
        p.add_argument("--pairs", help="text file of 'SOURCE OUTPUT' lines, measured after the positional ones")
        p.add_argument("--json", help="write all results, per frame included, to this JSON file")
        p.add_argument("--expect", choices=FER_LABELS, help="report the share whose fer top label is this one")
        p.add_argument(
            "--threshold",
            type=float,
            default=SAME_PERSON_THRESHOLD,
            help="dlib distance below which a face is the same person (default: %(default)s)",
        )
        p.add_argument(
            "--fer-box",
            choices=("auto", "haar", "dlib"),
            default="auto",
            help="face box for fer: its Haar cascade, falling back to dlib's (auto), or only one of them",
        )
        if mode == "video":
            p.add_argument("--every", type=int, default=1, help="measure every N-th frame (default: every frame)")
            p.add_argument("--max-frames", type=int, default=None, help="measure at most this many frames")
    return parser


def run_video(models: Models, pairs, args, sources) -> list[dict[str, Any]]:
    results = []
    for source_path, output in pairs:
        result: dict[str, Any] = {"source": source_path, "output": output, "threshold": args.threshold}
        results.append(result)
        try:
            source = sources[source_path]
            if isinstance(source, str):
                raise ValueError(source)
            result["video"] = video_info(output)
            start = time.perf_counter()
            frames = []
            for index, rgb in iter_video(output, args.every, args.max_frames):
                row = measure_frame(models, source, rgb)
                row["frame"] = index
                frames.append(row)
            result["seconds"] = time.perf_counter() - start
            if not frames:
                raise ValueError("no frames could be read")
            result["summary"] = summarise(frames, args.threshold, args.expect)
            result["frames"] = frames
            print(
                f"[{output}] {len(frames)} frames in {result['seconds']:.1f} s",
                file=sys.stderr,
            )
        except Exception as error:  # noqa: BLE001 - one bad pair must not stop the others
            result["error"] = f"{type(error).__name__}: {error}"
            print(f"[{output}] {result['error']}", file=sys.stderr)
    return results


def run_images(models: Models, pairs, args, sources) -> list[dict[str, Any]]:
    results = []
    for source_path, output in pairs:
        result: dict[str, Any] = {"source": source_path, "output": output, "threshold": args.threshold}
        results.append(result)
        try:
            source = sources[source_path]
            if isinstance(source, str):
                raise ValueError(source)
            result["row"] = measure_frame(models, source, load_image(output))
        except Exception as error:  # noqa: BLE001
            result["error"] = f"{type(error).__name__}: {error}"
            print(f"[{output}] {result['error']}", file=sys.stderr)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.outputs and not args.source:
        parser.error("positional outputs need --source")
    pairs = [(args.source, output) for output in args.outputs]
    if args.pairs:
        pairs += read_pairs(args.pairs)
    if not pairs:
        parser.error("nothing to measure: give --source and outputs, or --pairs")
    if args.mode == "video" and (args.every < 1 or (args.max_frames is not None and args.max_frames < 1)):
        parser.error("--every and --max-frames must be >= 1")

    models = Models(fer_box=args.fer_box)
    sources: dict[str, SourceFace | str] = {}
    for source_path, _ in pairs:
        if source_path not in sources:
            try:
                sources[source_path] = prepare_source(models, source_path)
            except Exception as error:  # noqa: BLE001
                sources[source_path] = f"source: {type(error).__name__}: {error}"
                print(f"[{source_path}] {sources[source_path]}", file=sys.stderr)
    good_sources = {k: v for k, v in sources.items() if isinstance(v, SourceFace)}
    if good_sources:
        print_sources(good_sources)

    if args.mode == "video":
        results = run_video(models, pairs, args, sources)
        print_video_results(results, args.expect)
    else:
        results = run_images(models, pairs, args, sources)
        print_image_results(results, args.expect)

    if args.json:
        payload = {
            "mode": args.mode,
            "settings": {
                "detector": f"dlib HOG, upsample {UPSAMPLE}",
                "threshold": args.threshold,
                "fer_box": args.fer_box,
                "expect": args.expect,
                "every": getattr(args, "every", None),
                "max_frames": getattr(args, "max_frames", None),
            },
            "sources": {k: (v.summary() if isinstance(v, SourceFace) else {"error": v}) for k, v in sources.items()},
            "results": results,
        }
        if args.mode == "images":
            ok = [r["row"] for r in results if "row" in r]
            payload["summary"] = summarise(ok, args.threshold, args.expect) if ok else None
        Path(args.json).write_text(json.dumps(payload, indent=1))
        print(f"\nwrote {args.json}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
