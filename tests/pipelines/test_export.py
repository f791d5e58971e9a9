"""The one export path (`eadnet.pipelines.write_talking_video`): windows streamed into an mp4 with the speech."""

import threading

import numpy as np
import pytest
import torch

from eadnet.io import probe_video
from eadnet.pipelines import GenerationCancelled, write_talking_video
from eadnet.settings import GenerationSettings

SAMPLE_RATE = 16000


@pytest.fixture(scope="module")
def portrait():
    # smooth, so that H.264 keeps it close (random pixels would not survive the encoder)
    y, x = np.mgrid[0:60, 0:70]
    return np.stack([x * 3, y * 4, (x + y) * 2], axis=-1).clip(0, 255).astype(np.uint8)


def speech(seconds):
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def test_writes_the_clip_and_reports_what_it_did(pipe, portrait, tmp_path):
    seen = []
    out = tmp_path / "clip.mp4"
    report = write_talking_video(
        pipe,
        out,
        image=portrait,
        audio=speech(0.7),
        sample_rate=SAMPLE_RATE,
        emotion="happy:2",
        generator=torch.Generator().manual_seed(0),
        progress=lambda done, total: seen.append((done, total)),
        num_inference_steps=2,
        window_size=8,
        window_overlap=2,
    )
    info = probe_video(out)
    assert report.output == out and info.num_frames == report.num_frames == 18
    assert abs(info.duration - 0.72) < 0.05
    assert seen == [(step, report.total_steps) for step in range(1, report.total_steps + 1)]
    assert report.total_steps == 2 * 3  # 3 windows of 8 frames with 2 shared, 2 steps each
    assert "happy" in report.emotion_description
    assert report.settings.sampling.num_inference_steps == 2 and report.settings.window_size == 8
    assert report.timings["denoise"] > 0 and report.timings["mux"] > 0
    assert sum(report.timings.values()) <= report.total_seconds
    assert pipe.total_steps is None  # nothing of the run is left on the pipeline


def test_frames_equal_the_pipeline_call(pipe, portrait, tmp_path):
    from eadnet.io import read_video

    settings = GenerationSettings.from_options(num_inference_steps=1)
    audio = speech(0.3)
    report = write_talking_video(
        pipe,
        tmp_path / "a.mp4",
        image=portrait,
        audio=audio,
        sample_rate=SAMPLE_RATE,
        settings=settings,
        generator=torch.Generator().manual_seed(2),
    )
    direct = pipe(
        image=portrait,
        audio=audio,
        sample_rate=SAMPLE_RATE,
        settings=settings,
        generator=torch.Generator().manual_seed(2),
        output_type="np",
    )
    frames, _ = read_video(report.output)
    assert len(frames) == len(direct.frames) == report.num_frames == direct.report.num_frames
    error = np.abs(frames.astype(np.float32) - direct.frames * 255).mean()
    assert error < 6.0, error  # only H.264's loss apart


def test_cancel_and_failure_leave_no_file_and_keep_an_existing_one(pipe, portrait, tmp_path):
    out = tmp_path / "keep.mp4"
    out.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        write_talking_video(pipe, out, image=portrait, audio=speech(0.3), sample_rate=SAMPLE_RATE)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(GenerationCancelled):
        write_talking_video(
            pipe, out, image=portrait, audio=speech(0.3), sample_rate=SAMPLE_RATE, cancel=cancel, overwrite=True
        )
    assert out.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.mp4"]
    with pytest.raises(ValueError, match="strength"):
        write_talking_video(pipe, tmp_path / "x.mp4", image=portrait, audio=speech(0.3), sample_rate=16000, strength=2)
    assert not (tmp_path / "x.mp4").exists()


def test_a_failed_write_ends_the_run(pipe, portrait, tmp_path, monkeypatch):
    from eadnet.io.video import VideoWriter

    def broken(self, frames):
        raise OSError("disk full")

    monkeypatch.setattr(VideoWriter, "write", broken)
    try:
        write_talking_video(pipe, tmp_path / "x.mp4", image=portrait, audio=speech(0.3), sample_rate=SAMPLE_RATE)
    except OSError as error:
        held = error  # a caller holding the error (and so its traceback) must not hold a half-finished run
        assert "disk full" in str(held)
        assert pipe.total_steps is None
    else:
        pytest.fail("the failed write was not reported")
    assert not (tmp_path / "x.mp4").exists()
