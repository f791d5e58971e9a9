"""End-to-end cost of ``eadnet generate``: stage timings and peak memory per clip length.

Each run is a separate ``eadnet generate`` process on the shipped portrait with the shipped speech repeated to
the requested duration; its peak resident memory is that child's own (``os.wait4`` rusage).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

_TIMINGS = re.compile(r"timings \(s\): (.*)")


@dataclass
class GenerateRun:
    audio_seconds: float
    wall_seconds: float
    peak_rss_mib: float
    stages: dict[str, float]


def make_speech(duration: float, path: Path) -> Path:
    """The shipped example speech repeated (with short pauses) up to ``duration`` seconds, as 16 kHz FLAC."""
    from eadnet.assets import example_speech_path

    speech, rate = sf.read(example_speech_path(), dtype="float32", always_2d=False)
    if speech.ndim == 2:
        speech = speech.mean(axis=1)
    unit = np.concatenate([speech, np.zeros(int(0.3 * rate), dtype=np.float32)])
    repeats = int(np.ceil(duration * rate / len(unit)))
    sf.write(path, np.tile(unit, repeats)[: int(duration * rate)], rate)
    return path


def run_generate(duration: float, model: str = "offline-demo", extra_args: list[str] | None = None) -> GenerateRun:
    """Runs ``eadnet generate`` on ``duration`` seconds of speech in a child process and measures it."""
    with tempfile.TemporaryDirectory(prefix="eadnet-bench-") as directory:
        folder = Path(directory)
        audio = make_speech(duration, folder / "speech.flac")
        command = [sys.executable, "-m", "eadnet", "generate", "--audio", str(audio), "--model", model,
                   "--output", str(folder / "out.mp4"), "--quiet", *(extra_args or [])]
        start = time.perf_counter()
        with open(folder / "stdout.txt", "w") as out, open(folder / "stderr.txt", "w") as err:
            process = subprocess.Popen(command, stdout=out, stderr=err)
            _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        stdout = (folder / "stdout.txt").read_text()
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"eadnet generate failed:\n{(folder / 'stderr.txt').read_text()}")
    stages = {}
    match = _TIMINGS.search(stdout)
    if match:
        for item in match.group(1).split(", "):
            name, value = item.rsplit(" ", 1)
            stages[name] = float(value)
    # ru_maxrss is KiB on Linux, bytes on macOS.
    peak = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
    return GenerateRun(duration, wall, peak, stages)
