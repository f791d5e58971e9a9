"""Tests for the frozen Whisper audio encoder (tiny random Whisper, CPU)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soxr
import torch
from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

from eadnet.models.audio_encoder import WhisperAudioEncoder

D_MODEL = 16
LAYERS = 2
NUM_STATES = LAYERS + 1
TOKENS = 10 * NUM_STATES
SR = 16000


def _tiny_whisper() -> WhisperModel:
    torch.manual_seed(0)
    config = WhisperConfig(
        vocab_size=100,
        num_mel_bins=80,
        d_model=D_MODEL,
        encoder_layers=LAYERS,
        encoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_layers=1,
        decoder_attention_heads=2,
        decoder_ffn_dim=32,
        max_source_positions=1500,
        max_target_positions=16,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=1,
    )
    return WhisperModel(config).eval()


@pytest.fixture(scope="module")
def whisper() -> WhisperModel:
    return _tiny_whisper()


@pytest.fixture(scope="module")
def encoder(whisper) -> WhisperAudioEncoder:
    return WhisperAudioEncoder(whisper, WhisperFeatureExtractor())


def _speech(seconds: float, sr: int = SR, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = round(seconds * sr)
    t = np.arange(n) / sr
    tone = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    return (tone + 0.05 * rng.standard_normal(n)).astype(np.float32)


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return _speech(1.37)


@pytest.fixture(scope="module")
def clip_features(encoder, clip) -> torch.Tensor:
    return encoder.encode_whisper_features(clip, SR)


def test_properties(encoder, whisper):
    assert encoder.output_dim == D_MODEL
    assert encoder.num_states == NUM_STATES
    assert encoder.tokens_per_frame == TOKENS
    assert encoder.dtype == torch.float32
    assert encoder.device == torch.device("cpu")
    # Only the encoder is kept.
    assert not any("decoder" in name for name, _ in encoder.named_parameters())
    assert encoder.encoder is whisper.encoder


@pytest.mark.parametrize(
    ("seconds", "expected_frames"),
    [(1.37, 35), (0.05, 2), (0.04, 1)],
)
def test_output_shape_and_frame_count(encoder, seconds, expected_frames):
    audio = _speech(seconds)
    assert expected_frames == math.ceil(len(audio) / SR * 25 - 1e-9)
    out = encoder(audio, SR)
    assert out.shape == (1, expected_frames, TOKENS, D_MODEL)
    assert torch.isfinite(out).all()


def test_batched_input_shape_and_independence(encoder):
    a, b = _speech(0.5, seed=1), _speech(0.5, seed=2)
    batch = torch.from_numpy(np.stack([a, b])[:, None])  # (B=2, C=1, T)
    out = encoder(batch, SR)
    assert out.shape == (2, 13, TOKENS, D_MODEL)
    torch.testing.assert_close(out[1:], encoder(b, SR))
    assert not torch.allclose(out[0], out[1])


def test_windows_line_up_with_frames(encoder, clip, clip_features):
    num_whisper = clip_features.shape[1]
    assert num_whisper == math.ceil(len(clip) / 320)
    out = encoder(clip, SR)
    num_frames = out.shape[1]
    for i in (0, num_frames // 2, num_frames - 1):
        idx = [min(max(j, 0), num_whisper - 1) for j in range(2 * i - 4, 2 * i + 6)]
        expected = clip_features[0, idx].reshape(TOKENS, D_MODEL)  # whisper-frame-major, layer-minor
        torch.testing.assert_close(out[0, i], expected)
    # Token ordering: token k*S + s is whisper frame k of the window, state s.
    i = num_frames // 2
    torch.testing.assert_close(out[0, i, 1 * NUM_STATES + 2], clip_features[0, 2 * i - 3, 2])
    # Frame 0 is left-padded by repeating whisper frame 0.
    torch.testing.assert_close(out[0, 0, 0], clip_features[0, 0, 0])
    torch.testing.assert_close(out[0, 0, 4 * NUM_STATES], clip_features[0, 0, 0])
    torch.testing.assert_close(out[0, 0, 5 * NUM_STATES], clip_features[0, 1, 0])


def test_stacked_states_match_manual_layers_and_skip_layer_norm(encoder, whisper, clip, clip_features):
    mel = encoder.feature_extractor(clip, sampling_rate=SR, return_tensors="pt").input_features
    enc = whisper.encoder
    with torch.no_grad():
        hidden = torch.nn.functional.gelu(enc.conv1(mel))
        hidden = torch.nn.functional.gelu(enc.conv2(hidden)).permute(0, 2, 1)
        hidden = hidden + enc.embed_positions.weight
        manual = [hidden]
        for layer in enc.layers:
            hidden = layer(hidden, None)
            hidden = hidden[0] if isinstance(hidden, tuple) else hidden
            manual.append(hidden)
        final = enc(mel).last_hidden_state
    n = clip_features.shape[1]
    for s, state in enumerate(manual):
        torch.testing.assert_close(clip_features[0, :, s], state[0, :n])
    # The last stacked state is the raw last-layer output, not the layer-normed encoder output.
    torch.testing.assert_close(enc.layer_norm(clip_features[0, :, -1]), final[0, :n])
    assert not torch.allclose(clip_features[0, :, -1], final[0, :n], atol=1e-3)


def test_stereo_44k_matches_resampled_mono(encoder):
    mono_44k = _speech(0.7, sr=44100, seed=3)
    rng = np.random.default_rng(4)
    diff = 0.1 * rng.standard_normal(mono_44k.shape).astype(np.float32)
    stereo = np.stack([mono_44k + diff, mono_44k - diff])  # mean is mono_44k
    out = encoder(torch.from_numpy(stereo), 44100)
    assert out.shape[1] == math.ceil(len(mono_44k) / 44100 * 25)
    mono_16k = soxr.resample(mono_44k, 44100, SR, quality="HQ")
    ref = encoder(mono_16k, SR, num_frames=out.shape[1])
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)


def test_long_audio_is_chunked(encoder):
    rng = np.random.default_rng(5)
    audio = (0.1 * rng.standard_normal(31 * SR)).astype(np.float32)
    features = encoder.encode_whisper_features(audio, SR)
    assert features.shape == (1, 31 * 50, NUM_STATES, D_MODEL)
    # The first 30 s match encoding the first chunk alone; the tail matches encoding the last second alone.
    torch.testing.assert_close(features[:, :1500], encoder.encode_whisper_features(audio[: 30 * SR], SR))
    torch.testing.assert_close(features[:, 1500:], encoder.encode_whisper_features(audio[30 * SR :], SR))
    out = encoder.slice_frames(features, encoder.num_video_frames(len(audio), SR))
    assert out.shape == (1, 31 * 25, TOKENS, D_MODEL)
    # Frame 750 straddles the chunk boundary: its window is whisper frames 1496..1505 of the concatenation.
    torch.testing.assert_close(out[0, 750], features[0, 1496:1506].reshape(TOKENS, D_MODEL))


def test_num_frames_override(encoder, clip, clip_features):
    out = encoder(clip, SR, num_frames=5)
    assert out.shape == (1, 5, TOKENS, D_MODEL)
    longer = encoder(clip, SR, num_frames=60)  # past the end of the 1.37 s clip
    assert longer.shape == (1, 60, TOKENS, D_MODEL)
    last = clip_features[0, -1].reshape(1, NUM_STATES, D_MODEL).expand(10, -1, -1).reshape(TOKENS, D_MODEL)
    torch.testing.assert_close(longer[0, -1], last)
    torch.testing.assert_close(longer[:, :35], encoder(clip, SR))


def test_silence_is_valid(encoder):
    out = encoder(np.zeros(SR // 2, dtype=np.float32), SR)
    assert out.shape == (1, 13, TOKENS, D_MODEL)
    assert torch.isfinite(out).all()


def test_frozen_and_stays_eval(encoder):
    assert all(not p.requires_grad for p in encoder.parameters())
    encoder.train()
    assert not encoder.training
    assert not any(m.training for m in encoder.modules())
    out = encoder(_speech(0.2), SR)
    assert not out.requires_grad


def test_save_load_round_trip(tmp_path, whisper, clip):
    original = WhisperAudioEncoder(whisper, WhisperFeatureExtractor(), fps=30, audio_feat_length=(1, 3))
    original.save_pretrained(tmp_path)
    loaded = WhisperAudioEncoder.from_pretrained(tmp_path)
    assert loaded.fps == 30
    assert loaded.audio_feat_length == (1, 3)
    ref = original(clip, SR)
    out = loaded(clip, SR)
    assert out.shape == (1, math.ceil(1.37 * 30), 10 * NUM_STATES, D_MODEL)
    torch.testing.assert_close(out, ref, atol=0, rtol=0)


def test_from_pretrained_accepts_full_whisper_checkpoint(tmp_path, whisper, clip, encoder):
    whisper.save_pretrained(tmp_path)
    WhisperFeatureExtractor().save_pretrained(tmp_path)
    loaded = WhisperAudioEncoder.from_pretrained(tmp_path)
    torch.testing.assert_close(loaded(clip, SR), encoder(clip, SR), atol=0, rtol=0)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"waveform": np.zeros((1, 1, 1, 100), dtype=np.float32)}, "waveform"),
        ({"waveform": np.zeros((0,), dtype=np.float32)}, "waveform"),
        ({"waveform": np.zeros((2, 0), dtype=np.float32)}, "waveform"),
        ({"waveform": np.array([0.0, np.nan, 0.1], dtype=np.float32)}, "waveform"),
        ({"waveform": torch.tensor([0.0, float("inf")])}, "waveform"),
        ({"sample_rate": 0}, "sample_rate"),
        ({"sample_rate": -16000}, "sample_rate"),
        ({"num_frames": 0}, "num_frames"),
        ({"num_frames": -3}, "num_frames"),
    ],
)
def test_bad_input_raises(encoder, kwargs, name):
    args = {"waveform": np.zeros(1600, dtype=np.float32), "sample_rate": SR, **kwargs}
    with pytest.raises(ValueError, match=name):
        encoder(**args)


def test_slice_frames_rejects_bad_features(encoder):
    with pytest.raises(ValueError, match="features"):
        encoder.slice_frames(torch.zeros(10, NUM_STATES, D_MODEL), 3)
    with pytest.raises(ValueError, match="num_frames"):
        encoder.slice_frames(torch.zeros(1, 10, NUM_STATES, D_MODEL), 0)


def test_windows_of_a_long_clip_match_slicing_the_whole_clip(encoder):
    features = torch.randn(1, 300, encoder.num_states, encoder.output_dim)
    whole = encoder.slice_frames(features, 100)
    for start in (0, 13, 84):
        window = encoder.slice_frames(features, 16, start_frame=start)
        assert torch.equal(window, whole[:, start : start + 16])
    at_30fps = encoder.frame_indices(4, 300, fps=30, start_frame=3)
    assert at_30fps[:, 4].tolist() == [3 * 50 // 30, 4 * 50 // 30, 5 * 50 // 30, 6 * 50 // 30]
    with pytest.raises(ValueError, match="start_frame"):
        encoder.slice_frames(features, 4, start_frame=-1)


def test_shift_moves_every_window_by_whole_whisper_frames(encoder):
    features = torch.randn(1, 300, encoder.num_states, encoder.output_dim)
    plain = encoder.frame_indices(8, 300, start_frame=5)
    shifted = encoder.frame_indices(8, 300, start_frame=5, shift=2)
    assert torch.equal(shifted, plain + 2)  # 2 Whisper frames = one 25 fps video frame later
    # frame t shifted by one video frame gets exactly frame t+1's unshifted tokens
    assert torch.equal(
        encoder.slice_frames(features, 8, start_frame=5, shift=2),
        encoder.slice_frames(features, 9, start_frame=5)[:, 1:],
    )
    # clamped at both ends of the track
    assert encoder.frame_indices(2, 300, shift=-40).min() == 0
    assert encoder.frame_indices(2, 300, start_frame=140, shift=40).max() == 299
    for bad in (0.5, True, "1"):
        with pytest.raises(ValueError, match="shift"):
            encoder.frame_indices(2, 300, shift=bad)


def test_outlier_frames_flag_massive_activations_only():
    torch.manual_seed(0)
    features = torch.randn(2, 60, NUM_STATES, D_MODEL)
    assert not WhisperAudioEncoder.outlier_frames(features).any()  # ordinary states stay within 3x the median
    features[0, 17, -1] *= 40.0  # the last layer of one frame, as Whisper does in pauses between sentences
    features[1, 3:5, 0] *= 5.0
    outliers = WhisperAudioEncoder.outlier_frames(features)
    assert outliers.shape == (2, 60) and outliers.dtype == torch.bool
    assert torch.nonzero(outliers).tolist() == [[0, 17], [1, 3], [1, 4]]
    assert not WhisperAudioEncoder.outlier_frames(features, factor=50.0).any()
    assert not WhisperAudioEncoder.outlier_frames(torch.zeros(1, 5, NUM_STATES, D_MODEL)).any()  # all-zero track
    with pytest.raises(ValueError, match="4-D"):
        WhisperAudioEncoder.outlier_frames(features[0])
