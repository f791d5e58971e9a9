"""SyncNet: LatentSync's key layout, shapes, L2-normalised embeddings, checked checkpoint loading, mel features."""

import inspect
import math

import numpy as np
import pytest
import torch

from eadnet.models.syncnet import (
    MEL_PARAMS,
    SyncNet,
    SyncNetKeyError,
    mel_spectrogram,
    mel_window,
    mel_window_length,
    syncnet_kwargs_from_latentsync,
)
from eadnet.testing import TINY_SYNCNET_CONFIG

# Small convolutions: one intra-op thread (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_thread")


# The tiny SyncNet with one attention block per tower (LatentSync's attn layout, small).
TINY = {**TINY_SYNCNET_CONFIG, "visual_attn_blocks": (0, 0, 0, 1, 0), "audio_attn_blocks": (0, 0, 0, 1, 0, 0, 0)}

# LatentSync's configs/syncnet/syncnet_16_pixel_attn.yaml (the configuration of the released stable_syncnet.pt).
LATENTSYNC_ATTN_YAML = """
model:
  audio_encoder: # input (1, 80, 52)
    in_channels: 1
    block_out_channels: [32, 64, 128, 256, 512, 1024, 2048]
    downsample_factors: [[2, 1], 2, 2, 1, 2, 2, [2, 3]]
    attn_blocks: [0, 0, 0, 1, 1, 0, 0]
    dropout: 0.0
  visual_encoder: # input (48, 128, 256)
    in_channels: 48
    block_out_channels: [64, 128, 256, 256, 512, 1024, 2048, 2048]
    downsample_factors: [[1, 2], 2, 2, 2, 2, 2, 2, 2]
    attn_blocks: [0, 0, 0, 0, 1, 1, 0, 0]
    dropout: 0.0
data:
  num_frames: 16
  resolution: 256
"""


def latentsync_keys(in_channels, block_out_channels, downsample_factors, attn_blocks, prefix):
    """Key → shape of one ``DownEncoder2D`` tower, written from LatentSync's ``stable_syncnet.py`` (a flat
    ``down_blocks`` list where a ``ResnetBlock2D`` is followed by an ``AttentionBlock2D`` when ``attn_blocks[i]``;
    diffusers' GEGLU ``FeedForward`` with 4× width; attention projections with bias)."""
    keys = {f"{prefix}.conv_in.weight": (block_out_channels[0], in_channels, 3, 3)}
    keys[f"{prefix}.conv_in.bias"] = (block_out_channels[0],)
    index, channels = 0, block_out_channels[0]
    for out, factor, attention in zip(block_out_channels, downsample_factors, attn_blocks, strict=True):
        block = f"{prefix}.down_blocks.{index}"
        for name, shape in (
            ("norm1", (channels,)),
            ("norm2", (out,)),
        ):
            keys[f"{block}.{name}.weight"] = keys[f"{block}.{name}.bias"] = shape
        keys[f"{block}.conv1.weight"], keys[f"{block}.conv1.bias"] = (out, channels, 3, 3), (out,)
        keys[f"{block}.conv2.weight"], keys[f"{block}.conv2.bias"] = (out, out, 3, 3), (out,)
        if channels != out:
            keys[f"{block}.conv_shortcut.weight"], keys[f"{block}.conv_shortcut.bias"] = (out, channels, 1, 1), (out,)
        if factor != 1:
            keys[f"{block}.downsample_conv.weight"], keys[f"{block}.downsample_conv.bias"] = (out, out, 3, 3), (out,)
        index += 1
        if attention:
            block = f"{prefix}.down_blocks.{index}"
            for name in ("norm1", "norm2", "norm3"):
                keys[f"{block}.{name}.weight"] = keys[f"{block}.{name}.bias"] = (out,)
            keys[f"{block}.ff.net.0.proj.weight"], keys[f"{block}.ff.net.0.proj.bias"] = (8 * out, out), (8 * out,)
            keys[f"{block}.ff.net.2.weight"], keys[f"{block}.ff.net.2.bias"] = (out, 4 * out), (out,)
            for name in ("conv_in", "conv_out"):
                keys[f"{block}.{name}.weight"], keys[f"{block}.{name}.bias"] = (out, out, 1, 1), (out,)
            for name in ("to_q", "to_k", "to_v", "to_out.0"):
                keys[f"{block}.attn.{name}.weight"], keys[f"{block}.attn.{name}.bias"] = (out, out), (out,)
            index += 1
        channels = out
    keys[f"{prefix}.norm_out.weight"] = keys[f"{prefix}.norm_out.bias"] = (channels,)
    return keys


def latentsync_state_shapes(kwargs):
    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(SyncNet.__init__).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }
    model = {**defaults, **kwargs}
    audio = latentsync_keys(
        1,
        model["audio_block_out_channels"],
        model["audio_downsample_factors"],
        model["audio_attn_blocks"],
        "audio_encoder",
    )
    visual = latentsync_keys(
        3 * model["num_frames"],
        model["visual_block_out_channels"],
        model["visual_downsample_factors"],
        model["visual_attn_blocks"],
        "visual_encoder",
    )
    return {**audio, **visual}


def shapes(model):
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def random_inputs(model, batch=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    visual = torch.rand(batch, *model.visual_input_shape, generator=generator) * 2 - 1
    mel = torch.rand(batch, *model.audio_input_shape, generator=generator) * 8 - 4
    return visual, mel


def randomise(model, seed=0):
    """Perturb every parameter (norm weights included) so that a load that drops a key would show."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.05)
    return model


def test_default_is_latentsync_syncnet_16_pixel():
    with torch.device("meta"):
        model = SyncNet()
    assert shapes(model) == latentsync_state_shapes({})
    assert model.visual_input_shape == (48, 128, 256)
    assert model.audio_input_shape == (1, 80, 52)
    assert model.embedding_dim == 2048


def test_latentsync_attention_config_has_latentsync_keys(tmp_path):
    path = tmp_path / "syncnet_16_pixel_attn.yaml"
    path.write_text(LATENTSYNC_ATTN_YAML)
    kwargs = syncnet_kwargs_from_latentsync(path)
    assert kwargs["audio_attn_blocks"] == (0, 0, 0, 1, 1, 0, 0)
    assert kwargs["audio_downsample_factors"] == ((2, 1), 2, 2, 1, 2, 2, (2, 3))
    assert kwargs["image_size"] == 256 and kwargs["num_frames"] == 16
    with torch.device("meta"):
        model = SyncNet(**kwargs)
    expected = latentsync_state_shapes(kwargs)
    assert shapes(model) == expected
    # 266 entries: LatentSync's StableSyncNet with this config has exactly these.
    assert len(expected) == 266


def test_forward_shapes_and_unit_embeddings():
    model = SyncNet(**TINY).eval()
    assert shapes(model) == latentsync_state_shapes(TINY)
    visual, mel = random_inputs(model, batch=3)
    with torch.no_grad():
        output = model(visual, mel)
    assert output.vision_embeds.shape == output.audio_embeds.shape == (3, 32)
    torch.testing.assert_close(output.vision_embeds.norm(dim=1), torch.ones(3))
    torch.testing.assert_close(output.audio_embeds.norm(dim=1), torch.ones(3))
    assert (output.vision_embeds >= 0).all() and (output.audio_embeds >= 0).all()
    torch.testing.assert_close(
        output.similarity, torch.nn.functional.cosine_similarity(output.vision_embeds, output.audio_embeds)
    )
    assert ((output.similarity >= 0) & (output.similarity <= 1 + 1e-6)).all()
    as_tuple = model(visual, mel, return_dict=False)
    torch.testing.assert_close(as_tuple[2], output.similarity)


def test_visual_temporal_centering_sees_only_motion():
    """With visual_temporal_centering the visual embedding ignores anything constant over the window (identity,
    colour, lighting) and still follows the motion; without it, a constant change moves the embedding."""
    torch.manual_seed(0)
    centred = SyncNet(**TINY, visual_temporal_centering=True).eval()
    plain = SyncNet(**TINY).eval()
    plain.load_state_dict(centred.state_dict())
    visual, mel = random_inputs(centred, batch=2)
    frames, channels = centred.config.num_frames, centred.config.image_channels
    still = torch.randn(2, 1, channels, *visual.shape[-2:]).expand(-1, frames, -1, -1, -1).flatten(1, 2)
    moved = visual.unflatten(1, (frames, channels)).clone()
    moved[:, 3:9] += 0.5  # a change that varies over the window
    with torch.no_grad():
        base = centred(visual, mel).vision_embeds
        torch.testing.assert_close(centred(visual + still, mel).vision_embeds, base, atol=1e-5, rtol=1e-4)
        assert not torch.allclose(centred(moved.flatten(1, 2), mel).vision_embeds, base, atol=1e-3)
        assert not torch.allclose(
            plain(visual + still, mel).vision_embeds, plain(visual, mel).vision_embeds, atol=1e-3
        )
    assert SyncNet.from_config(centred.config).config.visual_temporal_centering is True


def test_wrong_input_shapes_and_bad_configs_raise():
    model = SyncNet(**TINY)
    visual, mel = random_inputs(model)
    with pytest.raises(ValueError, match="visual_inputs must be"):
        model(visual[:, :, :8], mel)
    with pytest.raises(ValueError, match="mel must be"):
        model(visual, mel[..., :50])
    with pytest.raises(ValueError, match=r"reduce its input to \(2, 2\)"):
        SyncNet(**{**TINY, "visual_downsample_factors": ((1, 2), 2, 2, 2, 1)})
    with pytest.raises(ValueError, match="same embedding size"):
        SyncNet(**{**TINY, "visual_block_out_channels": (16, 16, 32, 32, 16)})


def test_gradient_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    model = SyncNet(**TINY)
    visual, mel = random_inputs(model)
    model(visual, mel).similarity.sum().backward()
    reference = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    model.enable_gradient_checkpointing()
    model(visual, mel).similarity.sum().backward()
    for name, parameter in model.named_parameters():
        torch.testing.assert_close(parameter.grad, reference[name], msg=name)


def test_save_pretrained_round_trip(tmp_path):
    model = randomise(SyncNet(**TINY)).eval()
    model.save_pretrained(tmp_path / "syncnet")
    assert (tmp_path / "syncnet" / "diffusion_pytorch_model.safetensors").is_file()
    loaded = SyncNet.from_pretrained(tmp_path / "syncnet").eval()
    visual, mel = random_inputs(model)
    with torch.no_grad():
        torch.testing.assert_close(loaded(visual, mel).similarity, model(visual, mel).similarity, rtol=0, atol=0)


@pytest.mark.parametrize("wrapped", [True, False])
def test_from_latentsync_checkpoint_round_trip(tmp_path, wrapped):
    model = randomise(SyncNet(**TINY)).eval()
    state_dict = model.state_dict()
    if not wrapped:  # a DDP-wrapped bare state dict
        state_dict = {f"module.{key}": value for key, value in state_dict.items()}
    path = tmp_path / "stable_syncnet.pt"
    torch.save({"state_dict": state_dict, "global_step": 7} if wrapped else state_dict, path)

    # Attention layout and widths are read off the keys; strides and crop size cannot be and are given.
    strides = {k: TINY[k] for k in ("image_size", "visual_downsample_factors", "norm_num_groups")}
    loaded = SyncNet.from_latentsync_checkpoint(path, **strides)
    assert loaded.config.audio_attn_blocks == TINY["audio_attn_blocks"]
    assert loaded.config.visual_block_out_channels == TINY["visual_block_out_channels"]
    assert not loaded.training
    visual, mel = random_inputs(model)
    with torch.no_grad():
        torch.testing.assert_close(loaded(visual, mel).similarity, model(visual, mel).similarity, rtol=0, atol=0)
    explicit = SyncNet.from_latentsync_checkpoint(path, config=TINY)
    assert explicit.config.visual_attn_blocks == TINY["visual_attn_blocks"]


def test_from_latentsync_checkpoint_reports_every_bad_key(tmp_path):
    state_dict = SyncNet(**TINY).state_dict()
    del state_dict["audio_encoder.down_blocks.0.conv1.weight"]
    del state_dict["visual_encoder.norm_out.bias"]
    state_dict["visual_encoder.extra_head.weight"] = torch.zeros(3)
    state_dict["audio_encoder.conv_in.bias"] = torch.zeros(99)
    path = tmp_path / "broken.pt"
    torch.save({"state_dict": state_dict}, path)
    with pytest.raises(SyncNetKeyError) as caught:
        SyncNet.from_latentsync_checkpoint(path, config=TINY)
    error = caught.value
    assert error.missing_keys == ["audio_encoder.down_blocks.0.conv1.weight", "visual_encoder.norm_out.bias"]
    assert error.unexpected_keys == ["visual_encoder.extra_head.weight"]
    assert len(error.shape_mismatches) == 1 and "audio_encoder.conv_in.bias" in error.shape_mismatches[0]
    message = str(error)
    for key in ("down_blocks.0.conv1.weight", "norm_out.bias", "extra_head.weight", "(99,)"):
        assert key in message


def test_from_latentsync_checkpoint_rejects_pickled_code(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "payload": np.dtype("float32")}, path)  # not loadable with weights_only
    with pytest.raises(Exception, match="(?i)weights_only|unpickl|global"):
        SyncNet.from_latentsync_checkpoint(path, config=TINY)


# ------------------------------------------------------------------------------------------------------ mel


def reference_mel(waveform):
    """LatentSync's ``melspectrogram`` written with scipy and librosa's own mel spectrogram."""
    import librosa
    from scipy.signal import lfilter

    p = MEL_PARAMS
    emphasised = lfilter([1, -p["preemphasis"]], [1], waveform.astype(np.float64))
    mel = librosa.feature.melspectrogram(
        y=emphasised,
        sr=16000,
        n_fft=800,
        hop_length=200,
        win_length=800,
        power=1.0,
        n_mels=80,
        fmin=55,
        fmax=7600,
        pad_mode="constant",
    )
    decibels = 20 * np.log10(np.maximum(1e-5, mel)) - 20
    return np.clip(8 * (decibels + 100) / 100 - 4, -4, 4)


def test_mel_spectrogram_matches_latentsync_formula():
    rng = np.random.default_rng(0)
    time = np.arange(16000 * 2) / 16000
    waveform = 0.3 * np.sin(2 * np.pi * 220 * time) * (time % 0.5 < 0.25) + 0.01 * rng.normal(size=time.size)
    mel = mel_spectrogram(waveform.astype(np.float32))
    assert mel.dtype == torch.float32 and mel.shape == (80, 1 + waveform.size // 200)
    assert mel.min() >= -4 and mel.max() <= 4
    np.testing.assert_allclose(mel.numpy(), reference_mel(waveform), atol=1e-4)
    silence = mel_spectrogram(np.zeros(3200, np.float32))
    assert torch.all(silence == -4)
    with pytest.raises(ValueError, match="mono"):
        mel_spectrogram(np.zeros((2, 100), np.float32))


def test_mel_window_follows_latentsync_arithmetic():
    assert mel_window_length(16, 25) == 52 == math.ceil(16 / 5 * 16)
    assert mel_window_length(5, 25) == 16
    assert mel_window_length(25, 25) == 80
    mel = torch.arange(80 * 200, dtype=torch.float32).reshape(80, 200)
    for start_frame in (0, 3, 5, 40):
        window = mel_window(mel, start_frame)
        start = int(80.0 * (start_frame / 25.0))  # LatentSync's crop_audio_window
        assert window.shape == (1, 80, 52)
        torch.testing.assert_close(window[0], mel[:, start : start + 52])
    assert int(mel_window(mel, 3)[0, 0, 0]) == 9  # 3 frames = 0.12 s = 9.6 steps, truncated
    with pytest.raises(ValueError, match="mel steps"):
        mel_window(mel, 47)  # needs steps 150..202 of 200
