"""The mouth-opening ↔ speech-loudness proxy: envelope, voice activity, and a planted lag found in real frames."""

import importlib.util

import numpy as np
import pytest

from eadnet.evaluation.speech_proxy import frame_rms, mouth_speech_sync, speech_envelope, voice_activity

HAS_SILERO = importlib.util.find_spec("silero_vad") is not None
HAS_SYNTHETIC = importlib.util.find_spec("eadnet.data.synthetic") is not None
FPS = 25


@pytest.fixture(scope="module")
def speech():
    from eadnet.assets import example_speech_path
    from eadnet.io import load_audio

    waveform, sample_rate = load_audio(example_speech_path())
    return waveform, sample_rate, int(waveform.shape[-1] / sample_rate * FPS)


# ------------------------------------------------------------------------------------------------ envelope
def test_frame_rms_and_envelope():
    sample_rate = 16000
    t = np.arange(sample_rate) / sample_rate
    tone = 0.5 * np.sin(2 * np.pi * 250 * t)  # 10 periods per 40 ms frame
    np.testing.assert_allclose(frame_rms(tone, sample_rate, 25), 0.5 / np.sqrt(2), rtol=1e-3)
    # stereo is mixed down, frames after the end are silent
    rms = frame_rms(np.stack([tone, tone]), sample_rate, 30)
    assert rms.shape == (30,) and np.allclose(rms[25:], 0)
    # smoothing is centred: a burst in frame 10 stays at frame 10
    burst = np.zeros(sample_rate)
    burst[10 * 640 : 11 * 640] = 0.3
    envelope = speech_envelope(burst, sample_rate, 25, smoothing=1.5)
    assert envelope.argmax() == 10 and envelope[9] == pytest.approx(envelope[11])
    with pytest.raises(ValueError, match="num_frames"):
        speech_envelope(tone, sample_rate, 0)


def test_envelope_of_the_example_speech(speech):
    waveform, sample_rate, num_frames = speech
    envelope = speech_envelope(waveform, sample_rate, num_frames, fps=FPS)
    assert envelope.shape == (num_frames,) and (envelope >= 0).all()
    assert envelope[:1].max() < 0.3 * envelope.max() and envelope[-2:].max() < 0.1 * envelope.max()


# ------------------------------------------------------------------------------------------------ VAD
@pytest.mark.parametrize(
    "method", ["energy", pytest.param("silero", marks=pytest.mark.skipif(not HAS_SILERO, reason="needs silero-vad"))]
)
def test_voice_activity_on_the_example_speech(speech, method):
    waveform, sample_rate, num_frames = speech
    active = voice_activity(waveform, sample_rate, num_frames, fps=FPS, method=method)
    assert active.shape == (num_frames,) and active.dtype == bool
    assert 0.75 < active.mean() < 0.95  # a sentence with short pauses
    assert not active[-2:].any()  # it ends in silence
    silence = voice_activity(np.zeros(sample_rate), sample_rate, 25, method=method)
    assert not silence.any()


@pytest.mark.skipif(not HAS_SILERO, reason="needs silero-vad")
def test_silero_and_energy_agree(speech):
    import torch

    waveform, sample_rate, num_frames = speech
    threads = torch.get_num_threads()
    silero = voice_activity(waveform, sample_rate, num_frames, method="silero")
    assert torch.get_num_threads() == threads  # restored after the single-threaded VAD run
    energy = voice_activity(waveform, sample_rate, num_frames, method="energy")
    assert (silero == energy).mean() > 0.85
    assert (voice_activity(waveform, sample_rate, num_frames) == silero).all()  # "auto" picks Silero


# ------------------------------------------------------------------------------------------------ sync
def test_sync_sign_convention_and_degenerate_cases():
    rng = np.random.default_rng(0)
    audio = np.convolve(rng.uniform(0, 1, 130), np.ones(3) / 3, mode="valid")[:120]
    for lag in (4, 0, -3):
        mouth = np.roll(audio, lag)  # mouth[t] = audio[t - lag]: the mouth follows the audio when lag > 0
        result = mouth_speech_sync(mouth, audio, max_lag=8)
        assert result["best_lag"] == lag and result["best_correlation"] > 0.9
        assert result["lags"] == list(range(-8, 9)) and len(result["curve"]) == 17
        assert not result["degenerate"]
    frozen = mouth_speech_sync(np.full(120, 0.2), audio)
    assert frozen["degenerate"] and frozen["correlation"] == 0 and frozen["best_lag"] == 0
    # missing frames are left out
    mouth = audio.copy()
    mouth[::7] = np.nan
    assert mouth_speech_sync(mouth, audio)["correlation"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="one length"):
        mouth_speech_sync(audio[:10], audio)


def draw_open_mouth(image: np.ndarray, opening_px: float) -> np.ndarray:
    """The example portrait with its lower lip and jaw pulled down by up to ``opening_px`` pixels and the gap painted
    as a dark mouth (lip line y ≈ 147, mouth x ≈ 204-243 on the astronaut)."""
    import cv2

    height, width = image.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    gap = opening_px * np.clip(1 - ((xs - 223.5) / 19.0) ** 2, 0, None)
    below = np.clip(ys - 147.0, 0, None)
    source_y = np.where(ys >= 147.0, ys - gap * np.clip(1 - below / 70.0, 0, 1), ys).astype(np.float32)
    warped = cv2.remap(image, xs, source_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT).astype(np.float32)
    alpha = (np.clip(gap / (1 + gap / 70.0) - below, 0, 1) * (ys >= 147.0))[..., None]
    return np.round(warped * (1 - alpha) + np.array([70, 25, 30]) * alpha).astype(np.uint8)


@pytest.fixture(scope="module")
def detector():
    pytest.importorskip("mediapipe", reason="needs mediapipe==0.10.14")
    from eadnet.face import MediaPipeFaceDetector

    with MediaPipeFaceDetector(tracking=False) as detector:
        yield detector


@pytest.mark.parametrize(
    "renderer",
    [
        "drawn",
        pytest.param("synthetic", marks=pytest.mark.skipif(not HAS_SYNTHETIC, reason="needs eadnet.data.synthetic")),
    ],
)
def test_sync_finds_a_planted_lag_in_rendered_frames(speech, detector, renderer):
    from eadnet.assets import example_portrait_path
    from eadnet.evaluation.landmarks import face_landmarks, mouth_opening
    from eadnet.io import load_image

    waveform, sample_rate, num_frames = speech
    portrait = load_image(example_portrait_path())
    envelope = speech_envelope(waveform, sample_rate, num_frames, fps=FPS)
    lag = 3
    if renderer == "drawn":
        curve = envelope / envelope.max()
        delayed = np.concatenate([np.full(lag, curve[0]), curve[:-lag]])
        frames = np.stack([draw_open_mouth(portrait, 16 * value) for value in delayed])
    else:
        from eadnet.data.synthetic import SyntheticTalker, mouth_openness_from_audio

        openness = mouth_openness_from_audio(waveform, sample_rate, num_frames, fps=FPS)
        delayed = np.concatenate([np.full(lag, openness[0]), openness[:-lag]])
        frames = SyntheticTalker(portrait, detector=detector).render(delayed, fps=FPS)
    opening = mouth_opening(face_landmarks(frames, detector))
    assert np.isfinite(opening).all()

    result = mouth_speech_sync(opening, envelope, max_lag=10)
    assert result["best_lag"] == lag and result["best_correlation"] > 0.7
    assert result["best_correlation"] - result["correlation"] > 0.3
    # the same frames with the audio delayed by 5 frames: now the mouth leads by 2
    padded = np.concatenate([np.zeros((waveform.shape[0], 5 * sample_rate // FPS), waveform.dtype), waveform], axis=1)
    shifted = mouth_speech_sync(opening, speech_envelope(padded, sample_rate, num_frames, fps=FPS))
    assert shifted["best_lag"] == lag - 5


def test_sync_of_a_frozen_mouth_is_zero(speech, detector):
    from eadnet.assets import example_portrait_path
    from eadnet.evaluation.landmarks import face_landmarks, mouth_opening
    from eadnet.io import load_image

    waveform, sample_rate, num_frames = speech
    frames = np.repeat(load_image(example_portrait_path())[None], 40, axis=0)
    opening = mouth_opening(face_landmarks(frames, detector))
    result = mouth_speech_sync(opening, speech_envelope(waveform, sample_rate, 40, fps=FPS))
    # identical frames give identical meshes: a constant opening, flagged, with correlations reported as 0
    assert result["degenerate"] and abs(result["correlation"]) < 0.2 and abs(result["best_correlation"]) < 0.2
