"""`eadnet expression`: photos of every layout and depth, videos with their sound, clear errors, nothing half-written."""

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from eadnet.assets import example_portrait_path, example_speech_path
from eadnet.cli import main
from eadnet.io.video import VideoWriter, probe_video, read_video

pytest.importorskip("mediapipe")


@pytest.fixture(scope="module")
def portrait():
    return np.asarray(Image.open(example_portrait_path()).convert("RGB"))


def expression(*args):
    return main(["expression", *map(str, args)])


def test_a_photo_keeps_its_size_format_and_depth(portrait, tmp_path):
    out = tmp_path / "happy.png"
    assert expression(example_portrait_path(), "--emotion", "happy:3", "--au", "4=0.3", "--yaw", "4", "-o", out) == 0
    edited = np.asarray(Image.open(out))
    assert edited.shape == portrait.shape and edited.dtype == np.uint8
    assert np.abs(edited.astype(int) - portrait.astype(int)).max() > 30
    np.testing.assert_array_equal(edited[:40], portrait[:40])  # the top of the frame: hair and background
    deep = tmp_path / "deep.png"
    Image.fromarray((portrait.mean(axis=2) * 257).astype(np.uint16)).save(deep)
    out16 = tmp_path / "deep_sad.png"
    assert expression(deep, "--emotion", "sad", "--smile", "0", "--frown", "0.5", "-o", out16) == 0
    with Image.open(out16) as image:
        assert image.mode.startswith("I") and image.size == (portrait.shape[1], portrait.shape[0])
    rgba = tmp_path / "rgba.png"
    Image.fromarray(np.dstack([portrait, np.full(portrait.shape[:2], 128, np.uint8)])).save(rgba)
    out_rgba = tmp_path / "rgba_out.png"
    assert expression(rgba, "--eye-open", "-0.6", "-o", out_rgba) == 0
    assert np.asarray(Image.open(out_rgba)).shape[2] == 4


def test_a_video_is_edited_frame_by_frame_with_its_sound(portrait, tmp_path):
    source = tmp_path / "talk.mp4"
    speech, rate = sf.read(example_speech_path(), dtype="float32")
    with VideoWriter(source, 25) as writer:
        writer.write(np.repeat(portrait[None], 10, axis=0))
        writer.set_audio(speech[: int(0.4 * rate)], rate)
    out = tmp_path / "surprised.mp4"
    assert expression(source, "--emotion", "surprised:2", "-o", out) == 0
    frames, fps = read_video(out)
    assert len(frames) == 10 and fps == 25 and probe_video(out).has_audio
    original, _ = read_video(source)
    assert np.abs(frames.astype(int) - original.astype(int)).max() > 30


def test_errors_are_clear_and_nothing_is_overwritten(tmp_path, capsys):
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((200, 200, 3), 90, np.uint8)).save(blank)
    out = tmp_path / "out.png"
    assert expression(blank, "--emotion", "happy", "-o", out) == 2
    assert "no face found" in capsys.readouterr().err and not out.exists()
    out.write_bytes(b"precious")
    assert expression(example_portrait_path(), "--emotion", "happy", "-o", out) == 2
    assert "exists" in capsys.readouterr().err and out.read_bytes() == b"precious"
    assert expression(example_portrait_path(), "--au", "12=2", "-o", tmp_path / "x.png") == 2
    assert "[0, 1]" in capsys.readouterr().err
    assert expression(example_portrait_path(), "--emotion", "happy", "-o", tmp_path / "x.mp4") == 2
    assert "image" in capsys.readouterr().err
    assert not list(tmp_path.glob(".*partial*"))
