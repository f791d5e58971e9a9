"""Tests for `eadnet.io.video`: the H.264/AAC writer (lengths, sizes, atomicity, memory) and the readers."""

from __future__ import annotations

import tracemalloc
from fractions import Fraction

import av
import numpy as np
import pytest
import soundfile as sf
import torch

from eadnet.io.video import (
    VideoError,
    VideoInfo,
    VideoWriter,
    iter_video_frames,
    probe_video,
    read_video,
    write_video,
)


def _frames(count: int, height: int = 48, width: int = 64) -> np.ndarray:
    """Smooth moving gradients (compress well, survive H.264 nearly unchanged)."""
    y, x = np.mgrid[:height, :width]
    frames = np.empty((count, height, width, 3), np.uint8)
    for index in range(count):
        frames[index, ..., 0] = (x * 200 // max(width - 1, 1) + index * 2) % 256
        frames[index, ..., 1] = y * 200 // max(height - 1, 1)
        frames[index, ..., 2] = 128
    return frames


def _tone(sample_rate: int, seconds: float, channels: int = 1, level: float = 0.4) -> np.ndarray:
    t = np.arange(round(sample_rate * seconds)) / sample_rate
    return np.stack([level * np.sin(2 * np.pi * 330 * (k + 1) * t) for k in range(channels)]).astype(np.float32)


def _inspect(path) -> dict:
    """What an independent reader (PyAV directly) finds in a written file."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        result = {
            "codec": video.codec_context.name,
            "pix_fmt": video.codec_context.pix_fmt,
            "size": (video.codec_context.width, video.codec_context.height),
            "fps": video.average_rate,
            "video_duration": float(video.duration * video.time_base),
            "frames": sum(1 for _ in container.decode(video)),
            "audio": None,
        }
    with av.open(str(path)) as container:
        if container.streams.audio:
            stream = container.streams.audio[0]
            chunks = [frame.to_ndarray() for frame in container.decode(stream)]
            samples = np.concatenate(chunks, axis=1)
            result["audio"] = {
                "codec": stream.codec_context.name,
                "sample_rate": stream.codec_context.sample_rate,
                "channels": stream.codec_context.layout.nb_channels,
                "duration": float(stream.duration * stream.time_base),
                "decoded_duration": samples.shape[1] / stream.codec_context.sample_rate,
                "samples": samples,
            }
    return result


def _leftovers(folder, keep=()) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


# -------------------------------------------------------------------------------------------------------- writing
def test_write_30_frames_with_audio(tmp_path):
    path = tmp_path / "out.mp4"
    frames = _frames(30)
    with VideoWriter(path, fps=25) as writer:
        writer.write(frames[:10])  # a batch
        for frame in frames[10:]:  # and single frames
            writer.write(frame)
        writer.set_audio(_tone(16000, 1.2), 16000)  # after the frames: still muxed
        assert not path.exists()  # nothing at the output path until close
    info = _inspect(path)
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p"
    assert info["size"] == (64, 48)
    assert info["frames"] == 30 and info["fps"] == 25
    assert info["video_duration"] == pytest.approx(1.2, abs=1e-3)
    audio = info["audio"]
    assert audio["codec"] == "aac" and audio["channels"] == 1 and audio["sample_rate"] == 16000
    assert abs(audio["duration"] - info["video_duration"]) < 1 / 25
    assert abs(audio["decoded_duration"] - info["video_duration"]) < 1 / 25
    assert _leftovers(tmp_path) == ["out.mp4"]
    assert writer.num_frames == 30 and writer.duration == pytest.approx(1.2)


@pytest.mark.parametrize(("seconds", "kind"), [(0.5, "shorter"), (3.0, "longer")])
def test_audio_is_fitted_to_the_video(tmp_path, seconds, kind):
    path = tmp_path / f"{kind}.mp4"
    audio = _tone(48000, seconds, channels=2)
    write_video(path, _frames(25), 25, audio=audio, sample_rate=48000)
    info = _inspect(path)
    sound = info["audio"]
    assert sound["channels"] == 2 and sound["sample_rate"] == 48000
    assert abs(sound["duration"] - 1.0) < 1 / 25
    assert abs(sound["decoded_duration"] - 1.0) < 1 / 25
    samples = sound["samples"]
    if kind == "shorter":  # padded with silence after 0.5 s, sound before
        assert np.abs(samples[:, 4800:19200]).max() > 0.2
        assert np.abs(samples[:, 28800:]).max() < 0.01
    else:  # cut at 1 s: sound up to the end
        assert np.abs(samples[:, -4800:]).max() > 0.2


def test_odd_size_is_cropped_to_even(tmp_path):
    frames = _frames(6, height=77, width=101)
    path = write_video(tmp_path / "odd.mp4", frames, 25)
    info = probe_video(path)
    assert (info.width, info.height) == (100, 76)
    back, _ = read_video(path)
    assert back.shape == (6, 76, 100, 3)
    # Cropped, not scaled: the pixels match the top-left 100×76 of the input.
    assert np.abs(back.astype(int) - frames[:, :76, :100].astype(int)).mean() < 3


def test_audio_at_rates_aac_does_not_take_is_resampled(tmp_path):
    path = write_video(tmp_path / "rate.mp4", _frames(10), 25, audio=_tone(22000, 0.4), sample_rate=22000)
    sound = _inspect(path)["audio"]
    assert sound["sample_rate"] == 48000
    assert abs(sound["decoded_duration"] - 0.4) < 1 / 25


def test_audio_layouts(tmp_path):
    # (samples, channels) as soundfile returns it, and more than two channels (mixed down to mono).
    path = write_video(tmp_path / "a.mp4", _frames(10), 25, audio=_tone(16000, 0.4, 2).T, sample_rate=16000)
    assert _inspect(path)["audio"]["channels"] == 2
    path = write_video(tmp_path / "b.mp4", _frames(10), 25, audio=_tone(16000, 0.4, 6), sample_rate=16000)
    assert _inspect(path)["audio"]["channels"] == 1
    audio_file = tmp_path / "speech.wav"
    sf.write(audio_file, _tone(44100, 0.4).T, 44100)
    path = write_video(tmp_path / "c.mp4", _frames(10), 25, audio=audio_file)
    assert _inspect(path)["audio"]["sample_rate"] == 44100
    with pytest.raises(ValueError, match="sample_rate"):
        write_video(tmp_path / "d.mp4", _frames(10), 25, audio=_tone(16000, 0.4))


def test_exception_inside_with_leaves_nothing(tmp_path):
    (tmp_path / "other.txt").write_text("unrelated")
    with pytest.raises(RuntimeError, match="generation failed"), VideoWriter(tmp_path / "out.mp4", 25) as writer:
        writer.write(_frames(12))
        writer.set_audio(_tone(16000, 1.0), 16000)
        raise RuntimeError("generation failed")
    assert _leftovers(tmp_path) == ["other.txt"]  # no output, no hidden temporary files


def test_existing_file_is_kept_unless_overwrite(tmp_path):
    path = tmp_path / "out.mp4"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="overwrite"):
        VideoWriter(path, 25)
    with pytest.raises(FileExistsError):
        write_video(path, _frames(5), 25)
    assert path.read_bytes() == b"precious"
    # A failure while overwriting keeps the old file too.
    with pytest.raises(KeyError), VideoWriter(path, 25, overwrite=True) as writer:
        writer.write(_frames(5))
        raise KeyError("boom")
    assert path.read_bytes() == b"precious"
    write_video(path, _frames(5), 25, overwrite=True)
    assert probe_video(path).num_frames == 5
    assert _leftovers(tmp_path) == ["out.mp4"]


def test_output_folder_must_exist(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing_folder"):
        VideoWriter(tmp_path / "missing_folder" / "out.mp4", 25)
    with pytest.raises(ValueError, match=r"\.mp4"):
        VideoWriter(tmp_path / "out.gif", 25)


def test_close_without_frames_writes_nothing(tmp_path):
    writer = VideoWriter(tmp_path / "empty.mp4", 25)
    with pytest.raises(VideoError, match="no frames"):
        writer.close()
    assert _leftovers(tmp_path) == []


def test_frames_must_keep_their_size(tmp_path):
    with pytest.raises(ValueError, match="size of the first"), VideoWriter(tmp_path / "a.mp4", 25) as writer:
        writer.write(_frames(2, 48, 64))
        writer.write(_frames(2, 64, 48))
    assert _leftovers(tmp_path) == []
    with pytest.raises(ValueError, match="64×48"), VideoWriter(tmp_path / "b.mp4", 25, width=64, height=48) as writer:
        writer.write(_frames(1, 50, 64))
    with pytest.raises(ValueError, match="RGB"), VideoWriter(tmp_path / "c.mp4", 25) as writer:
        writer.write(np.zeros((2, 48, 64, 4), np.uint8))
    assert _leftovers(tmp_path) == []


def test_float_and_tensor_frames(tmp_path):
    frames = _frames(8)
    as_float = frames.astype(np.float32) / 255.0
    as_float[0, 0, 0] = [1.5, -0.5, 0.5]  # out of range: clipped
    with VideoWriter(tmp_path / "float.mp4", 25) as writer:
        writer.write(as_float[:4])
        writer.write(torch.from_numpy(as_float[4:]))
    back, _ = read_video(tmp_path / "float.mp4")
    assert back.shape == frames.shape
    assert np.abs(back[1:].astype(int) - frames[1:].astype(int)).mean() < 3


def test_streaming_writer_keeps_memory_flat(tmp_path):
    """500 frames of 64×64 (6 MB as uint8) pass through with far less Python-side memory than that."""
    path = tmp_path / "long.mp4"
    writer = VideoWriter(path, 25, preset="ultrafast")
    writer.write(_frames(1, 64, 64))  # encoder set up before measuring
    tracemalloc.start()
    try:
        for index in range(499):
            writer.write(np.full((64, 64, 3), index % 256, np.uint8))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    writer.close()
    assert peak < 1_000_000, f"{peak} bytes held while streaming 6 MB of frames"
    info = probe_video(path)
    assert info.num_frames == 500 and info.duration == pytest.approx(20.0)


def test_ntsc_and_fractional_rates(tmp_path):
    path = write_video(tmp_path / "ntsc.mp4", _frames(6), 29.97)
    assert _inspect(path)["fps"] == Fraction(30000, 1001)
    assert probe_video(path).fps == pytest.approx(29.97, abs=1e-3)
    path = write_video(tmp_path / "half.mp4", _frames(6), 12.5)
    assert _inspect(path)["fps"] == Fraction(25, 2)
    with pytest.raises(ValueError, match="fps"):
        VideoWriter(tmp_path / "bad.mp4", 0)


def test_write_video_accepts_a_generator(tmp_path):
    path = write_video(tmp_path / "gen.mp4", (frame for frame in _frames(7)), 25)
    assert probe_video(path).num_frames == 7


# -------------------------------------------------------------------------------------------------------- reading
def test_read_iterate_and_probe_round_trip(tmp_path):
    frames = _frames(20)
    path = write_video(tmp_path / "clip.mp4", frames, 25, audio=_tone(16000, 0.8), sample_rate=16000)
    info = probe_video(path)
    assert info == VideoInfo(
        width=64,
        height=48,
        fps=25.0,
        num_frames=20,
        duration=pytest.approx(0.8),
        has_audio=True,
        rotation=0,
        codec="h264",
    )
    video, fps = read_video(path)
    assert fps == 25.0 and video.dtype == np.uint8 and video.shape == (20, 48, 64, 3)
    assert np.abs(video.astype(int) - frames.astype(int)).mean() < 3
    streamed = list(iter_video_frames(path))
    assert len(streamed) == 20
    np.testing.assert_array_equal(np.stack(streamed), video)
    assert read_video(path, max_frames=5)[0].shape[0] == 5
    assert len(list(iter_video_frames(path, max_frames=3))) == 3
    assert not probe_video(write_video(tmp_path / "mute.mp4", frames, 25)).has_audio


def test_rotation_tag_is_applied(tmp_path):
    """Phone videos are stored sideways with a display rotation; frames come back upright."""
    path = tmp_path / "phone.mp4"
    stored = np.zeros((48, 64, 3), np.uint8)
    stored[:16, :16] = 255  # marker at the stored top-left
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        if not hasattr(stream, "set_display_rotation"):
            pytest.skip("this PyAV cannot write a display rotation (PyAV >= 17 can)")
        stream.set_display_rotation(90)  # shown turned 90° counter-clockwise
        for index in range(3):
            frame = av.VideoFrame.from_ndarray(stored, format="rgb24")
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    info = probe_video(path)
    assert (info.width, info.height, info.rotation) == (48, 64, 90)
    video, _ = read_video(path)
    assert video.shape == (3, 64, 48, 3)
    bright = np.argwhere(video[0].mean(axis=-1) > 128)
    # Turned counter-clockwise, the top-left corner ends up at the bottom-left.
    assert bright[:, 0].min() >= 64 - 18 and bright[:, 1].max() < 18


def test_reading_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        probe_video(tmp_path / "missing.mp4")
    with pytest.raises(FileNotFoundError):
        iter_video_frames(tmp_path / "missing.mp4")  # raised at the call, not at the first frame
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(VideoError, match="corrupt.mp4"):
        read_video(corrupt)
    with pytest.raises(VideoError):
        next(iter_video_frames(corrupt))
    audio_only = tmp_path / "speech.wav"
    sf.write(audio_only, _tone(16000, 0.5).T, 16000)
    with pytest.raises(VideoError, match="no video track"):
        probe_video(audio_only)
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        probe_video(tmp_path / "empty.mp4")
