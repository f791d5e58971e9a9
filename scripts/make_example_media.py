"""Makes the two example clips shipped in ``eadnet/assets/`` with EAD-Net's own face-geometry engine (``eadnet-mesh``).

The example ComfyUI workflows load them from ComfyUI's ``input`` folder (``install.py`` copies them there):

* ``source_talk.mp4`` (``dub_video_emotion_text``): the example portrait saying the first half of the example
  sentence ("Hello! This is a talking head made by EAD-Net,"), no emotion added, the speech as its sound track;
* ``emotion_reference.mp4`` (``reference_video_emotion``): the same face, strongly surprised, saying "Hello!" and
  then holding the expression with the mouth closed.

Both are the 320×320 head-and-shoulders square of the portrait (the face stays ~95 px wide, as in the portrait, so
that face detection finds it again in the workflows), 25 fps, H.264 (CRF 23) plus AAC: under 100 kB each.
Blinks and head motion are seeded, so the frames are the same on every run (the bytes may differ between x264
builds).

    python scripts/make_example_media.py                      # rewrites eadnet/assets/*.mp4
    python scripts/make_example_media.py --output-dir /tmp/x  # elsewhere
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
import torch

from eadnet.assets import ASSETS_DIR, example_portrait_path, example_speech_path
from eadnet.io import VideoWriter, load_audio, load_image
from eadnet.pipelines.engines import load_pipeline

logger = logging.getLogger("make_example_media")

FPS = 25
SEED = 0
#: x264 quality (higher: smaller and blurrier); 23 keeps skin, eyes and mouth clean at a few kB per frame.
CRF = 23
#: The head-and-shoulders square of the 512×512 portrait, x0, y0, x1, y1 (the face box is ~(178, 83, 273, 178)).
CROP_BOX = (64, 0, 384, 320)
#: source_talk.mp4: the speech is cut in its pause nearest to this time (after "made by EAD-Net,") ...
SOURCE_CUT_NEAR = 2.75
#: ... and padded with silence to this length.
SOURCE_SECONDS = 3.0
#: emotion_reference.mp4: silence, then the sentence's first word ("Hello!", cut in the pause nearest to
#: ``REFERENCE_CUT_NEAR``), then silence up to ``REFERENCE_SECONDS``.
REFERENCE_EMOTION = "surprised:3"
REFERENCE_CUT_NEAR = 0.55
REFERENCE_LEAD = 0.4
REFERENCE_SECONDS = 2.0

SOURCE_NAME = "source_talk.mp4"
REFERENCE_NAME = "emotion_reference.mp4"


def cut_at_pause(waveform: np.ndarray, sample_rate: int, near: float, search: float = 0.3) -> np.ndarray:
    """The speech up to its quietest 20 ms within ``near ± search`` seconds, with a 10 ms fade-out."""
    hop = int(0.02 * sample_rate)
    first, last = int((near - search) * sample_rate), int((near + search) * sample_rate)
    starts = range(max(0, first), min(len(waveform) - hop, last), hop // 2)
    quietest = min(starts, key=lambda start: float(np.sqrt(np.mean(waveform[start : start + hop] ** 2))))
    cut = waveform[: quietest + hop // 2].copy()
    fade = int(0.01 * sample_rate)
    cut[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=cut.dtype)
    return cut


def _padded(waveform: np.ndarray, sample_rate: int, seconds: float, lead: float = 0.0) -> np.ndarray:
    start = int(round(lead * sample_rate))
    total = int(round(seconds * sample_rate))
    if start + len(waveform) > total:
        raise ValueError(f"{len(waveform) / sample_rate:.2f} s of speech do not fit in {seconds} s after {lead} s")
    out = np.zeros(total, dtype=np.float32)
    out[start : start + len(waveform)] = waveform
    return out


def example_inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The cropped portrait and the two sound tracks (mono float32) with their sample rate."""
    x0, y0, x1, y1 = CROP_BOX
    portrait = load_image(example_portrait_path())[y0:y1, x0:x1]
    speech, sample_rate = load_audio(example_speech_path())
    speech = speech.mean(axis=0)
    source_audio = _padded(cut_at_pause(speech, sample_rate, SOURCE_CUT_NEAR), sample_rate, SOURCE_SECONDS)
    hello = cut_at_pause(speech, sample_rate, REFERENCE_CUT_NEAR, search=0.15)
    reference_audio = _padded(hello, sample_rate, REFERENCE_SECONDS, lead=REFERENCE_LEAD)
    return np.ascontiguousarray(portrait), source_audio, reference_audio, sample_rate


def render_clip(pipe, path: Path, portrait, audio, sample_rate: int, emotion: str | None, overwrite: bool) -> Path:
    """Renders one clip with ``pipe`` and writes it with the speech (H.264 at ``CRF`` + AAC)."""
    windows = pipe.generate_windows(
        image=portrait,
        audio=audio,
        sample_rate=sample_rate,
        emotion=emotion,
        generator=torch.Generator().manual_seed(SEED),
        fps=FPS,
    )
    try:
        with VideoWriter(path, FPS, crf=CRF, preset="veryslow", overwrite=overwrite) as writer:
            for window in windows:
                writer.write(window.frames)
            writer.set_audio(audio, sample_rate)
    finally:
        windows.close()
    return path


def make_example_media(output_dir: str | Path = ASSETS_DIR, *, overwrite: bool = True) -> list[Path]:
    """Writes ``source_talk.mp4`` and ``emotion_reference.mp4`` into ``output_dir``; returns their paths."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    portrait, source_audio, reference_audio, sample_rate = example_inputs()
    pipe = load_pipeline("eadnet-mesh")
    return [
        render_clip(pipe, output_dir / SOURCE_NAME, portrait, source_audio, sample_rate, None, overwrite),
        render_clip(
            pipe, output_dir / REFERENCE_NAME, portrait, reference_audio, sample_rate, REFERENCE_EMOTION, overwrite
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=ASSETS_DIR, help="where to write (default: eadnet/assets)")
    parser.add_argument("--keep", action="store_true", help="fail instead of replacing existing files")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logger.setLevel(logging.INFO)
    for path in make_example_media(args.output_dir, overwrite=not args.keep):
        logger.info("wrote %s (%.1f kB)", path, path.stat().st_size / 1000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
