"""Benchmark: dub a long 1080p source video and report peak memory and the output's audio/video lengths.

Everything is made offline: a 10 s 1080p clip of the example portrait (scaled into a 1920x1080 frame, drifting
slowly, so the face has to be tracked), looped to the requested length by remuxing (no re-encoding), and speech of the
same length (the example speech with pauses between repeats, or ``--speech FILE`` looped). Then
``eadnet generate --video SOURCE`` runs in a child process; its peak resident memory (``getrusage`` of the
children) and the output's frame count, frame rate and audio length are printed.

    python scripts/benchmark_long_source.py --minutes 10 --out /tmp/long            # eadnet-mesh
    python scripts/benchmark_long_source.py --minutes 1 --model eadnet-mini --out /tmp/long

Numbers, not a test: the CI test `tests/pipelines/test_real_world_inputs.py` checks that memory does not grow with
the length on a short clip.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def make_clip(path: Path, seconds: float = 10.0, fps: int = 25) -> None:
    """``seconds`` of 1080p: the example portrait at 1024 px on a gradient, drifting left and right."""
    import cv2

    from eadnet.assets import example_portrait_path
    from eadnet.io import VideoWriter, load_image

    face = cv2.resize(load_image(example_portrait_path()), (1024, 1024), interpolation=cv2.INTER_CUBIC)[:1000]
    background = np.zeros((1080, 1920, 3), np.uint8)
    background[...] = np.linspace(40, 160, 1920, dtype=np.uint8)[None, :, None]
    count = int(seconds * fps)
    with VideoWriter(path, fps, overwrite=True, crf=23, preset="veryfast") as writer:
        for index in range(count):
            frame = background.copy()
            x = 448 + int(round(60 * np.sin(2 * np.pi * index / count)))
            frame[40:1040, x : x + 1024] = face
            writer.write(frame[None])


def loop_video(clip: Path, output: Path, repeats: int) -> None:
    """``clip`` ``repeats`` times in a row, by copying its packets with shifted times (no re-encoding)."""
    import av

    with av.open(str(output), "w") as out:
        stream = None
        offset = 0
        for _ in range(repeats):
            with av.open(str(clip)) as source:
                video = source.streams.video[0]
                if stream is None:
                    stream = out.add_stream_from_template(video)
                last = 0
                for packet in source.demux(video):
                    if packet.dts is None:
                        continue
                    packet.pts += offset
                    packet.dts += offset
                    packet.stream = stream
                    last = max(last, packet.pts + (packet.duration or 0))
                    out.mux(packet)
                offset = last


def make_speech(path: Path, seconds: float, speech: Path | None) -> None:
    """``seconds`` of speech: ``speech`` (default: the example speech followed by a 0.6 s pause) repeated."""
    import soundfile as sf

    from eadnet.assets import example_speech_path
    from eadnet.io import load_audio

    waveform, rate = load_audio(speech or example_speech_path())
    waveform = np.asarray(waveform, dtype=np.float32).reshape(-1) if np.ndim(waveform) == 1 else waveform.mean(0)
    if speech is None:
        waveform = np.concatenate([waveform, np.zeros(int(0.6 * rate), np.float32)])
    total = int(seconds * rate)
    sf.write(path, np.resize(waveform, total), rate)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--model", default="eadnet-mesh")
    parser.add_argument("--speech", type=Path, help="speech to loop (default: the example speech with pauses)")
    parser.add_argument("--out", type=Path, required=True, help="working folder")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more `eadnet generate` arguments")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    seconds = args.minutes * 60

    clip, source, speech = (
        args.out / "clip1080.mp4",
        args.out / f"source_{args.minutes:g}min.mp4",
        args.out / "speech.flac",
    )
    started = time.perf_counter()
    if not clip.exists():
        make_clip(clip)
    if not source.exists():
        loop_video(clip, source, int(np.ceil(seconds / 10.0)))
    make_speech(speech, seconds - 1.0, args.speech)  # under --max-duration (600 s)
    print(f"inputs made in {time.perf_counter() - started:.1f} s")

    from eadnet.io import load_audio, probe_video

    info = probe_video(source)
    print(f"source: {info.width}x{info.height}, {info.num_frames} frames at {info.fps:g} fps ({info.duration:.1f} s)")
    output = args.out / f"dubbed_{args.model}_{args.minutes:g}min.mp4"
    command = [
        sys.executable, "-m", "eadnet", "generate", "--model", args.model, "--video", str(source),
        "--audio", str(speech), "-o", str(output), "--overwrite", "--quiet", *args.extra,
    ]  # fmt: skip
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - started
    print(result.stdout.strip())
    if result.returncode != 0:
        print(result.stderr[-4000:], file=sys.stderr)
        return result.returncode
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    out = probe_video(output)
    waveform, rate = load_audio(output)
    audio_seconds = np.shape(waveform)[-1] / rate
    speech_seconds = np.shape(load_audio(speech)[0])[-1] / load_audio(speech)[1]
    video_seconds = out.num_frames / out.fps
    print(f"model: {args.model}")
    print(f"output: {out.width}x{out.height}, {out.num_frames} frames at {out.fps:g} fps = {video_seconds:.3f} s")
    print(f"speech: {speech_seconds:.3f} s; output audio: {audio_seconds:.3f} s")
    print(f"video - speech: {(video_seconds - speech_seconds) * out.fps:+.2f} frames")
    print(f"peak RSS of the generating process: {peak_mb:.0f} MB")
    print(f"wall time: {wall:.1f} s for {speech_seconds:.1f} s of speech ({wall / speech_seconds:.2f} s per second)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
