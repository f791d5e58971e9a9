"""The voice-activity gate of the mouth: segment and gate logic on given probabilities, and real Silero VAD on the
shipped example speech with silence around and inside it."""

import importlib.util
import math

import numpy as np
import pytest
import torch

from eadnet.models.voice_activity import VoiceActivityDetector, load_silero_model, speech_frames


class _Scripted:
    """A Silero stand-in that returns given window probabilities."""

    def __init__(self, probabilities):
        self.probabilities = torch.tensor(probabilities, dtype=torch.float32)

    def audio_forward(self, samples, sample_rate):
        assert samples.shape == (1, samples.shape[1]) and sample_rate == 16000
        return self.probabilities[None, : math.ceil(samples.shape[1] / 512)]


def test_segments_use_hysteresis_drop_bursts_and_pad():
    vad = VoiceActivityDetector(threshold=0.5, neg_threshold=0.3, min_speech_s=0.1, speech_pad_s=0.0)
    window = vad.window_s
    probabilities = [0.0, 0.6, 0.4, 0.4, 0.9, 0.1, 0.0, 0.8, 0.0, 0.0, 0.7, 0.7, 0.7, 0.7]
    # 1-4: one segment (0.4 stays above neg_threshold); 7: a 32 ms burst, dropped; 10-13: runs to the end
    assert vad.segments_from_probabilities(probabilities) == [
        pytest.approx((1 * window, 5 * window)),
        pytest.approx((10 * window, 14 * window)),
    ]
    padded = VoiceActivityDetector(threshold=0.5, min_speech_s=0.1, speech_pad_s=0.05)
    segments = padded.segments_from_probabilities([0.9] * 4 + [0.0] * 2 + [0.9] * 4)
    assert segments == [pytest.approx((0.0, 10 * window + 0.05))]  # the 64 ms gap closes after padding


def test_gate_closes_long_pauses_with_ramps_only():
    vad = VoiceActivityDetector(min_silence_s=0.2, ramp_s=0.04)
    segments = [(0.5, 1.5), (1.6, 2.5), (3.0, 4.0)]  # pauses: before 0.5, 0.1 s (kept open), 0.5 s, after 4.0
    assert vad.pauses(segments) == [(-math.inf, 0.5), (2.5, 3.0), (4.0, math.inf)]
    # 0.15 s between padded segments was 0.21 s of silence before the 30 ms padding on each side: it closes
    assert vad.pauses([(0.5, 1.5), (1.65, 2.5)])[1] == (1.5, 1.65)
    fps = 100.0
    gate = vad.gate_from_segments(segments, 460, fps)
    times = (np.arange(460) + 0.5) / fps
    assert gate.shape == (460,) and gate.dtype == np.float32
    assert np.all(gate[times < 0.46] == 0) and np.all(gate[(times > 2.54) & (times < 2.96)] == 0)
    assert np.all(gate[times > 4.04] == 0)
    assert np.all(gate[(times > 0.5) & (times < 2.5)] == 1)  # speech and the short pause
    ramp = (times > 2.5) & (times < 2.54)
    assert ramp.any() and np.all((gate[ramp] > 0) & (gate[ramp] < 1))  # the 40 ms ramp inside the pause
    assert np.all(VoiceActivityDetector(min_silence_s=0.2).gate_from_segments([], 10, 25.0) == 0)


def test_scripted_model_gives_frames(monkeypatch):
    probabilities = [0.0] * 10 + [1.0] * 30 + [0.0] * 20 + [1.0] * 30
    vad = VoiceActivityDetector(model=_Scripted(probabilities))
    waveform = np.zeros(512 * 90, dtype=np.float32)
    mask = vad.speech_mask(waveform, 16000, 72, 25.0)  # 2.88 s
    times = (np.arange(72) + 0.5) / 25
    assert not mask[times < 0.3].any() and mask[(times > 0.4) & (times < 1.2)].all()
    assert not mask[(times > 1.35) & (times < 1.85)].any()
    gate = vad.mouth_gate(waveform, 16000, 72, 25.0)
    assert np.all(gate[~mask & (times > 0.45) & (times < 1.8)] < 1)


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="threshold"):
        VoiceActivityDetector(threshold=0.5, neg_threshold=0.6)
    with pytest.raises(ValueError, match="ramp_s"):
        VoiceActivityDetector(ramp_s=-1)
    vad = VoiceActivityDetector(model=_Scripted([0.0]))
    with pytest.raises(ValueError, match="num_frames"):
        vad.gate_from_segments([], 0, 25.0)
    with pytest.raises(ValueError, match="waveform"):
        vad.speech_probabilities(np.zeros((1, 1, 10)), 16000)


@pytest.fixture(scope="module")
def silero():
    # find_spec, not importorskip: importing silero_vad here would set the process's thread count to 1
    if importlib.util.find_spec("silero_vad") is None:
        pytest.skip("needs silero-vad (pip install silero-vad)")
    threads = torch.get_num_threads()
    model = load_silero_model()
    assert torch.get_num_threads() == threads  # silero_vad's import-time set_num_threads(1) is undone
    return model


def test_real_silero_flags_the_silences_of_the_example_speech(silero):
    from eadnet.assets import example_speech_path
    from eadnet.io import load_audio, to_mono_16k

    speech, rate = load_audio(example_speech_path())
    speech = to_mono_16k(speech, rate)[int(0.68 * 16000) : int(2.68 * 16000)]  # 2 s of speech without a pause
    silence = np.zeros(16000, dtype=np.float32)
    waveform = np.concatenate([silence, speech, silence[:8000], speech, silence])  # 1 s, 2 s, 0.5 s, 2 s, 1 s
    vad = VoiceActivityDetector(model=silero)
    fps = 25.0
    num_frames = int(len(waveform) / 16000 * fps)
    times = (np.arange(num_frames) + 0.5) / fps
    mask = vad.speech_mask(waveform, 16000, num_frames, fps)
    silent = (times < 0.85) | ((times > 3.15) & (times < 3.35)) | (times > 5.65)  # 0.15 s inside the silences
    assert not mask[silent].any()
    assert mask[((times > 1.3) & (times < 2.8)) | ((times > 3.8) & (times < 5.3))].mean() > 0.9
    gate = vad.mouth_gate(waveform, 16000, num_frames, fps)
    assert np.all(gate[silent] == 0)
    assert gate[mask].mean() > 0.95
    assert np.array_equal(vad(waveform, 16000, num_frames, fps), gate)  # a detector is the gate function
    assert np.array_equal(speech_frames(waveform, 16000, num_frames, fps), gate)  # the shared default detector
