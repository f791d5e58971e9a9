"""Tests for `eadnet.io.audio`: every supported format, sample rate and channel count, and every error path.

All media are made on the fly: lossless files with soundfile, lossy ones (mp3, m4a, the sound of an mp4) with PyAV.
"""

from __future__ import annotations

import time

import av
import numpy as np
import pytest
import soundfile as sf
import torch

from eadnet.io import audio as audio_module
from eadnet.io.audio import AudioError, audio_duration, check_speech, is_silent, load_audio, to_mono_16k


def _tone(sample_rate: int, seconds: float, channels: int = 1, frequency: float = 440.0, level: float = 0.5):
    """float32 `(channels, samples)`: a sine per channel (channel k at `frequency * (k + 1)`)."""
    t = np.arange(round(sample_rate * seconds)) / sample_rate
    return np.stack([level * np.sin(2 * np.pi * frequency * (k + 1) * t) for k in range(channels)]).astype(np.float32)


def _encode(path, waveform, sample_rate, codec, *, video_frames: int = 0, fps: int = 25):
    """Writes `waveform` (and optionally a few video frames) with PyAV."""
    layout = "mono" if waveform.shape[0] == 1 else "stereo"
    with av.open(str(path), "w") as out:
        if video_frames:
            video = out.add_stream("libx264", rate=fps)
            video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        sound = out.add_stream(codec, rate=sample_rate, layout=layout)
        if video_frames:
            for index in range(video_frames):
                frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), index * 8 % 256, np.uint8), format="rgb24")
                frame.pts = index
                out.mux(video.encode(frame))
            out.mux(video.encode(None))
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(waveform), format="fltp", layout=layout)
        frame.sample_rate = sample_rate
        frame.pts = 0
        out.mux(sound.encode(frame))
        out.mux(sound.encode(None))
    return path


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    n = min(a.shape[-1], b.shape[-1])
    return float(np.corrcoef(a[..., :n].ravel(), b[..., :n].ravel())[0, 1])


# ------------------------------------------------------------------------------------------------------- formats
@pytest.mark.parametrize(
    ("name", "subtype", "sample_rate", "channels", "tolerance"),
    [
        ("int16.wav", "PCM_16", 16000, 1, 1 / 32768),
        ("float.wav", "FLOAT", 48000, 2, 1e-7),
        ("pcm24.flac", "PCM_24", 8000, 1, 1 / 2**23),
        ("stereo.flac", "PCM_16", 44100, 2, 1 / 32768),
    ],
)
def test_lossless_formats_are_sample_exact(tmp_path, name, subtype, sample_rate, channels, tolerance):
    original = _tone(sample_rate, 0.7, channels)
    path = tmp_path / name
    sf.write(path, original.T, sample_rate, subtype=subtype)
    waveform, rate = load_audio(path)
    assert rate == sample_rate
    assert waveform.dtype == np.float32 and waveform.shape == original.shape
    np.testing.assert_allclose(waveform, original, atol=tolerance * 1.01)
    assert audio_duration(path) == pytest.approx(0.7, abs=1 / sample_rate)


def test_ogg_vorbis(tmp_path):
    original = _tone(48000, 1.0, 2)
    sf.write(tmp_path / "a.ogg", original.T, 48000)
    waveform, rate = load_audio(tmp_path / "a.ogg")
    assert rate == 48000 and waveform.shape[0] == 2
    assert waveform.shape[1] / rate == pytest.approx(1.0, abs=0.005)
    assert _correlation(waveform, original) > 0.99


@pytest.mark.parametrize(
    ("suffix", "codec", "sample_rate", "channels"),
    [
        (".mp3", "libmp3lame", 8000, 1),
        (".mp3", "libmp3lame", 48000, 2),
        (".m4a", "aac", 8000, 1),
        (".m4a", "aac", 48000, 2),
    ],
)
def test_lossy_formats_keep_rate_channels_and_length(tmp_path, suffix, codec, sample_rate, channels):
    original = _tone(sample_rate, 1.3, channels, frequency=300.0)
    path = _encode(tmp_path / f"a{suffix}", original, sample_rate, codec)
    waveform, rate = load_audio(path)
    assert rate == sample_rate and waveform.shape[0] == channels and waveform.dtype == np.float32
    # Encoder delay and padding are removed: the length matches within a few milliseconds.
    assert abs(waveform.shape[1] - original.shape[1]) / sample_rate < 0.005
    assert _correlation(waveform, original) > 0.95  # and the samples line up (no priming offset)
    assert float(np.abs(waveform).max()) <= 1.0
    assert audio_duration(path) == pytest.approx(1.3, abs=0.03)


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
def test_audio_track_of_a_video(tmp_path, suffix):
    original = _tone(44100, 1.2, 2)
    path = _encode(tmp_path / f"clip{suffix}", original, 44100, "aac", video_frames=30)
    waveform, rate = load_audio(path)
    assert rate == 44100 and waveform.shape[0] == 2
    # MP4/MOV record where the sound ends; Matroska does not, so AAC padding can remain there (up to two frames with
    # the FFmpeg of older PyAV wheels, which also keeps the encoder delay).
    tolerance = 2048 / 44100 if suffix == ".mkv" else 0.005
    assert 1.2 - 0.005 <= waveform.shape[1] / rate <= 1.2 + tolerance
    shifts = (0, 1024, 2048) if suffix == ".mkv" else (0,)  # there the encoder delay may remain too
    assert max(_correlation(waveform[:, shift:], original) for shift in shifts) > 0.95


def test_float_overs_are_clipped_and_nan_removed(tmp_path):
    data = np.array([[0.0, 1.5, -2.0, np.nan] * 400], dtype=np.float32)
    sf.write(tmp_path / "over.wav", data.T, 16000, subtype="FLOAT")
    waveform, _ = load_audio(tmp_path / "over.wav")
    assert np.isfinite(waveform).all()
    assert waveform.max() == 1.0 and waveform.min() == -1.0


def test_mislabelled_file_falls_back_to_ffmpeg(tmp_path):
    """An mp3 saved with a .wav name: libsndfile refuses it, PyAV reads it."""
    original = _tone(16000, 1.0)
    path = _encode(tmp_path / "real.mp3", original, 16000, "libmp3lame")
    renamed = path.rename(tmp_path / "actually_mp3.wav")
    waveform, rate = load_audio(renamed)
    assert rate == 16000 and abs(waveform.shape[1] - 16000) < 80


# -------------------------------------------------------------------------------------------------------- errors
def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_audio(tmp_path / "nope.wav")
    with pytest.raises(FileNotFoundError):
        audio_duration(tmp_path / "nope.mp3")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("random.wav", np.random.default_rng(0).bytes(20000)),
        ("random.mp3", np.random.default_rng(1).bytes(20000)),
        ("notes.wav", b"this is a text file, not a recording\n" * 50),
        ("zero_bytes.wav", b""),
    ],
)
def test_unreadable_files_raise_audio_error(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AudioError) as info:
        load_audio(path)
    assert name in str(info.value)
    assert isinstance(info.value, ValueError)


def test_folder_is_not_audio(tmp_path):
    with pytest.raises(AudioError, match="folder"):
        load_audio(tmp_path)


def test_empty_and_too_short(tmp_path):
    sf.write(tmp_path / "empty.wav", np.zeros((0, 1), np.float32), 16000)
    with pytest.raises(AudioError, match="no samples"):
        load_audio(tmp_path / "empty.wav")
    sf.write(tmp_path / "one.flac", np.full((1, 1), 0.5, np.float32), 16000)
    with pytest.raises(AudioError, match="too short"):
        load_audio(tmp_path / "one.flac")
    sf.write(tmp_path / "short.wav", _tone(16000, 0.03).T, 16000)  # 30 ms < one video frame
    with pytest.raises(AudioError, match="too short"):
        load_audio(tmp_path / "short.wav")
    sf.write(tmp_path / "ok.wav", _tone(16000, 0.05).T, 16000)
    assert load_audio(tmp_path / "ok.wav")[0].shape == (1, 800)


def test_video_without_audio_track(tmp_path):
    path = tmp_path / "silent_film.mp4"
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        for index in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            frame.pts = index
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    with pytest.raises(AudioError, match="no audio track"):
        load_audio(path)


def test_max_duration_rejects_long_flac_from_its_header(tmp_path, monkeypatch):
    sample_rate = 8000
    samples = np.zeros(sample_rate * 600, dtype=np.int16)  # 10 minutes, a tone only at the start: a small FLAC
    samples[:sample_rate] = (8000 * np.sin(2 * np.pi * 440 * np.arange(sample_rate) / sample_rate)).astype(np.int16)
    path = tmp_path / "ten_minutes.flac"
    sf.write(path, samples, sample_rate, subtype="PCM_16")
    assert audio_duration(path) == pytest.approx(600.0)

    def no_decoding(*args, **kwargs):
        raise AssertionError("the file was decoded although its header shows it is too long")

    monkeypatch.setattr(audio_module.sf, "read", no_decoding)
    start = time.perf_counter()
    with pytest.raises(AudioError, match=r"600\.0 s, more than the allowed 60 s"):
        load_audio(path, max_duration=60)
    assert time.perf_counter() - start < 0.5


def test_max_duration_rejects_long_m4a_from_its_header(tmp_path, monkeypatch):
    path = _encode(tmp_path / "long.m4a", np.zeros((1, 8000 * 120), np.float32), 8000, "aac")

    def no_decoding(*args, **kwargs):
        raise AssertionError("the file was decoded although its header shows it is too long")

    monkeypatch.setattr(audio_module, "_frame_to_planar", no_decoding)
    with pytest.raises(AudioError, match="more than the allowed 30 s"):
        load_audio(path, max_duration=30)
    assert audio_duration(path) == pytest.approx(120.0, abs=0.05)


def test_max_duration_stops_decoding_mp3_early(tmp_path, monkeypatch):
    """mp3 headers only estimate the duration: the file is decoded, but only until the limit is passed."""
    path = _encode(tmp_path / "long.mp3", np.zeros((1, 8000 * 120), np.float32), 8000, "libmp3lame")
    assert audio_duration(path) == pytest.approx(120.0, abs=0.1)
    decoded = []
    original = audio_module._frame_to_planar

    def counting(frame):
        decoded.append(frame.samples)
        return original(frame)

    monkeypatch.setattr(audio_module, "_frame_to_planar", counting)
    with pytest.raises(AudioError, match="more than the allowed 10 s"):
        load_audio(path, max_duration=10)
    assert 10 * 8000 <= sum(decoded) <= 11 * 8000  # 10 s of 120 s decoded


def test_max_duration_accepts_shorter_audio(tmp_path):
    sf.write(tmp_path / "a.wav", _tone(16000, 1.0).T, 16000)
    path = _encode(tmp_path / "a.mp3", _tone(16000, 1.0), 16000, "libmp3lame")
    assert load_audio(tmp_path / "a.wav", max_duration=1.0)[0].shape == (1, 16000)
    assert load_audio(path, max_duration=1.5)[0].shape[0] == 1
    exact = _encode(tmp_path / "exact.m4a", _tone(16000, 1.0), 16000, "aac")  # AAC padding does not count
    assert load_audio(exact, max_duration=1.0)[0].shape == (1, 16000)
    with pytest.raises(AudioError, match="allowed 0.9 s"):
        load_audio(exact, max_duration=0.9)
    with pytest.raises(ValueError, match="positive"):
        load_audio(path, max_duration=0)


# ------------------------------------------------------------------------------------------------------- silence
def test_silence_detection():
    rng = np.random.default_rng(0)
    speechlike = _tone(16000, 1.0, level=0.05)  # -29 dBFS RMS
    assert not is_silent(speechlike, sample_rate=16000)
    check_speech(speechlike, 16000)  # no error

    assert is_silent(np.zeros(16000, np.float32))
    assert is_silent(np.zeros((2, 0), np.float32))
    assert is_silent(rng.normal(0, 10 ** (-75 / 20), 16000).astype(np.float32), sample_rate=16000)  # dither
    assert is_silent(np.full(16000, 0.4, np.float32))  # DC offset only
    assert not is_silent(rng.normal(0, 10 ** (-40 / 20), 16000), sample_rate=16000)
    # The threshold is respected: a -50 dBFS tone is silent at -45 dB, not at -60 dB.
    quiet = _tone(16000, 0.5, level=10 ** (-47 / 20))  # RMS -50 dBFS
    assert is_silent(quiet, threshold_db=-45.0, sample_rate=16000)
    assert not is_silent(quiet, threshold_db=-60.0, sample_rate=16000)


def test_silence_detection_finds_short_speech_in_long_silence():
    waveform = np.zeros((2, 16000 * 30), np.float32)
    waveform[1, 16000 * 29 + 5 : 16000 * 29 + 2005] = _tone(16000, 0.125, level=0.3)[0]  # 125 ms at the very end
    assert not is_silent(waveform, sample_rate=16000)
    tail_only = np.zeros(1000, np.float32)
    tail_only[-100:] = 0.5 * np.sin(np.arange(100))  # only in the incomplete last block
    assert not is_silent(tail_only, sample_rate=16000)


def test_check_speech_messages_and_input_types():
    with pytest.raises(AudioError, match="speech.wav is silent .*digital silence"):
        check_speech(np.zeros((1, 16000), np.float32), 16000, name="speech.wav")
    with pytest.raises(AudioError, match=r"-7\d dBFS"):
        check_speech(np.random.default_rng(0).normal(0, 10 ** (-75 / 20), 8000), 8000)
    check_speech(torch.from_numpy(_tone(16000, 0.5)), 16000)
    check_speech((_tone(16000, 0.5) * 32767).astype(np.int16), 16000)
    with pytest.raises(AudioError, match="silent"):
        check_speech(np.zeros(4000, np.int16), 8000)


# -------------------------------------------------------------------------------------------------------- resample
def test_to_mono_16k():
    stereo = _tone(48000, 1.0, 2, frequency=440.0)
    mono = to_mono_16k(stereo, 48000)
    assert mono.dtype == np.float32 and mono.shape == (16000,)
    spectrum = np.abs(np.fft.rfft(mono))
    peaks = sorted(np.argsort(spectrum)[-2:])  # 1 Hz bins: both channels' tones survive the mix
    assert peaks == [440, 880]
    already = _tone(16000, 0.5)[0]
    np.testing.assert_array_equal(to_mono_16k(already, 16000), already)
    assert to_mono_16k(torch.from_numpy(_tone(8000, 0.5)), 8000).shape == (8000,)
    with pytest.raises(ValueError, match="shape"):
        to_mono_16k(np.zeros((1, 2, 3)), 16000)


# --------------------------------------------------------------------------------------------------- the asset
def test_example_speech_asset():
    from eadnet.assets import example_speech_path, example_speech_text

    path = example_speech_path()
    waveform, rate = load_audio(path, max_duration=10)
    assert rate == 16000 and waveform.shape[0] == 1
    assert 3.5 < waveform.shape[1] / rate < 5.5
    check_speech(waveform, rate, name=path.name)
    assert float(np.abs(waveform).max()) > 0.5  # normalised, not a whisper
    assert example_speech_text().startswith("Hello!") and "EAD-Net" in example_speech_text()
