"""`VideoSource`: frames of a file by index with a bounded cache (forward, backward, back and forth), frame times of
constant and variable-rate files, the schedule by time, and clear errors."""

from fractions import Fraction

import av
import numpy as np
import pytest

from eadnet.io import VideoError, VideoWriter, read_video
from eadnet.io.video_source import VideoSource, fit_size, ping_pong, schedule_by_time


def numbered_frames(count: int, height: int = 48, width: int = 64) -> np.ndarray:
    """Frames whose brightness and a bar's length say their index (survives H.264 well enough to tell apart)."""
    frames = np.zeros((count, height, width, 3), np.uint8)
    for index in range(count):
        frames[index, :, :, 0] = (index * 5) % 256
        frames[index, : 2 + index % (height - 2), : width // 2, 1] = 220
    return frames


def write_clip(path, frames, fps) -> None:
    with VideoWriter(path, fps, overwrite=True) as writer:
        writer.write(frames)


def write_variable_rate(path, frames, times_ms) -> None:
    """An mp4 whose frames are shown at the given times (milliseconds): a variable frame rate."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for frame, time_ms in zip(frames, times_ms, strict=True):
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            video_frame.pts, video_frame.time_base = int(time_ms), Fraction(1, 1000)
            container.mux(stream.encode(video_frame))
        container.mux(stream.encode())


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("source") / "numbered.mp4"
    write_clip(path, numbered_frames(90), 30)
    return path


def test_frames_by_index_in_any_order_equal_the_decoded_video_and_the_cache_stays_bounded(clip):
    reference, fps = read_video(clip)
    frame_bytes = reference[0].nbytes
    source = VideoSource.open(clip, cache_bytes=12 * frame_bytes)
    assert (len(source), source.fps, source.frame_size) == (90, fps, (48, 64))
    assert source.fps == 30.0 and not source.variable_rate and source.array is None
    order = [*range(90), *range(88, -1, -1), *range(1, 40), 75, 3]  # forward, backward, forward again, jumps
    for index in order:
        np.testing.assert_array_equal(source[index], reference[index])
        assert len(source._cache) <= 12
    # backwards in blocks of the cache: the decoding cost stays within a small multiple of the frames served
    assert source.decoded_frames < 4 * len(order)
    assert all(np.array_equal(a, b) for a, b in zip(source, reference, strict=True))
    with pytest.raises(IndexError):
        source[90]


def test_a_source_ends_where_the_speech_ends_and_frames_can_be_downscaled(clip):
    source = VideoSource.open(clip)
    head = source.until(1.0)
    assert len(head) == 30 and len(source.until(60.0)) == 90 and len(source.until(0.0)) == 1
    assert len(list(head)) == 30
    np.testing.assert_array_equal(head[29], source[29])
    small = VideoSource.open(clip, max_side=32)
    assert small.frame_size == (24, 32) and small[5].shape == (24, 32, 3)
    assert fit_size(1080, 1920, 1280) == (720, 1280) and fit_size(1080, 1920, None) == (1080, 1920)


@pytest.mark.parametrize(("fps", "expected"), [(24, 24.0), (30000 / 1001, 30000 / 1001), (50, 50.0)])
def test_constant_rates_are_read_exactly(tmp_path, fps, expected):
    path = tmp_path / "rate.mp4"
    write_clip(path, numbered_frames(20), fps)
    source = VideoSource.open(path)
    assert source.fps == pytest.approx(expected, rel=1e-6)
    np.testing.assert_allclose(source.timestamps, np.arange(20) / expected, atol=1e-3)


def test_a_variable_rate_source_keeps_its_frame_times_and_is_shown_by_time(tmp_path):
    path = tmp_path / "vfr.mp4"
    times_ms = [0, 40, 80, 120, 133, 166, 200, 300, 400, 500]  # 25 fps, then 30, then 10
    write_variable_rate(path, numbered_frames(10), times_ms)
    source = VideoSource.open(path)
    np.testing.assert_allclose(source.timestamps, np.array(times_ms) / 1000, atol=1e-6)
    assert source.variable_rate
    # output at 50 fps: the frame on screen at i / 50 s
    schedule = schedule_by_time(25, 50.0, source.timestamps, source.fps)
    expected = [np.searchsorted(np.array(times_ms) / 1000, i / 50 + 1e-6, side="right") - 1 for i in range(25)]
    np.testing.assert_array_equal(schedule, expected)


def test_the_schedule_plays_a_short_source_back_and_forth():
    timestamps = np.arange(4) / 25
    np.testing.assert_array_equal(schedule_by_time(10, 25.0, timestamps, 25.0), [0, 1, 2, 3, 2, 1, 0, 1, 2, 3])
    np.testing.assert_array_equal(ping_pong(np.arange(5), 1), np.zeros(5))


def test_in_memory_frames_have_the_same_interface():
    frames = numbered_frames(6)
    source = VideoSource.from_frames(frames, fps=30)
    assert source.array is frames and len(source) == 6 and source.fps == 30
    assert source.until(0.1).array.shape[0] == 3
    np.testing.assert_array_equal(np.stack(list(source)), frames)
    with pytest.raises(ValueError, match="frames"):
        VideoSource.from_frames(np.zeros((0, 8, 8, 3), np.uint8))


def test_damaged_and_missing_files_say_what_is_wrong(tmp_path, clip):
    with pytest.raises(FileNotFoundError):
        VideoSource.open(tmp_path / "absent.mp4")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 50)
    with pytest.raises(VideoError, match="damaged or not a video"):
        VideoSource.open(broken)
    # a file cut short: the frames that decode are read, and after one pass the source knows how many there are
    truncated = tmp_path / "truncated.mp4"
    data = clip.read_bytes()
    truncated.write_bytes(data[: len(data) * 2 // 3])
    source = VideoSource.open(truncated)
    assert 0 < len(source) < 90
    decoded = list(source)
    assert len(source) == len(decoded) and np.array_equal(source[len(source) - 1], decoded[-1])
