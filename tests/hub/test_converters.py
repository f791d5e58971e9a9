import inspect
import pickle
import re

import pytest
import torch

from eadnet.hub.converters import (
    ConversionError,
    convert_latentsync_unet,
    rename_latentsync_key,
    unet_config_from_latentsync,
)
from eadnet.io.checkpoint import checkpoint_global_step, load_latentsync_checkpoint
from eadnet.models.attention import sinusoidal_positions
from eadnet.models.unet_3d import UNET_CONFIGS, EADUNet3DModel, is_ead_parameter

EAD_OFF = {"use_stda": False, "use_tfrm": False, "use_text_attention": False}
TINY = UNET_CONFIGS["tiny"]


def to_latentsync(state_dict: dict) -> dict:
    """Our names → LatentSync's: ``temporal_transformer.`` inserted, ``pos_encoder.pe`` buffers added."""
    out = {}
    for key, value in state_dict.items():
        new_key = re.sub(r"(\.motion_modules\.\d+\.)", r"\1temporal_transformer.", key)
        out[new_key] = value.clone()
        match = re.match(r"(.*\.attention_blocks\.\d+\.)to_q\.weight$", new_key)
        if match:
            channels = value.shape[1]
            out[match.group(1) + "pos_encoder.pe"] = sinusoidal_positions(24, channels)[None]
    return out


@pytest.fixture(scope="module")
def original():
    torch.manual_seed(0)
    model = EADUNet3DModel.from_named_config("tiny", **EAD_OFF).eval()
    # Give the zero-initialised temporal output projections weights, so the temporal path is really exercised.
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if ".motion_modules." in name and "proj_out" in name:
                parameter.normal_(std=0.05)
    return model


@pytest.fixture(scope="module")
def checkpoint(original, tmp_path_factory):
    path = tmp_path_factory.mktemp("latentsync") / "latentsync_unet.pt"
    torch.save({"state_dict": to_latentsync(original.state_dict()), "global_step": 5}, path)
    return path


def inputs(seed=0, frames=4):
    generator = torch.Generator().manual_seed(seed)
    sample = torch.randn(1, 13, frames, 16, 16, generator=generator)
    audio = torch.randn(1, frames, 50, TINY["cross_attention_dim"], generator=generator)
    text = torch.randn(1, 7, TINY["text_embed_dim"], generator=generator)
    return sample, audio, text


def test_synthetic_checkpoint_really_uses_latentsync_names(checkpoint):
    keys = torch.load(checkpoint, weights_only=True)["state_dict"].keys()
    assert any(".temporal_transformer." in key for key in keys)
    assert any(key.endswith(".pos_encoder.pe") for key in keys)


def test_converted_model_reproduces_the_original(original, checkpoint):
    state_dict = load_latentsync_checkpoint(checkpoint)
    assert checkpoint_global_step(state_dict) == 5
    model, report = convert_latentsync_unet(state_dict, "tiny")
    assert report.ok and report.global_step == 5
    assert report.missing_keys == [] and report.unexpected_keys == [] and report.shape_mismatches == []
    assert report.dropped_keys and all(key.endswith(".pos_encoder.pe") for key in report.dropped_keys)
    assert report.renamed_keys > 0
    assert report.missing_ead_keys and all(is_ead_parameter(key) for key in report.missing_ead_keys)
    assert report.loaded_keys == len(original.state_dict())

    sample, audio, text = inputs()
    with torch.no_grad():
        expected = original(sample, 500, audio).sample
        with_ead = model(sample, 500, audio, text).sample  # EAD modules on, text given: still LatentSync
    assert torch.equal(with_ead, expected)


def test_ead_off_conversion_is_the_plain_latentsync_network(original, checkpoint):
    model, report = convert_latentsync_unet(load_latentsync_checkpoint(checkpoint), {**TINY, **EAD_OFF})
    assert report.ok and report.missing_ead_keys == []
    for key, value in original.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_bare_state_dict_and_wrapped_dict_are_accepted(original, tmp_path):
    latentsync = to_latentsync(original.state_dict())
    bare = tmp_path / "bare.pt"
    torch.save(latentsync, bare)
    state_dict = load_latentsync_checkpoint(bare)
    assert checkpoint_global_step(state_dict) is None
    assert convert_latentsync_unet(state_dict, "tiny")[1].ok
    model, report = convert_latentsync_unet({"state_dict": latentsync, "global_step": 7}, "tiny")
    assert report.ok and report.global_step == 7


def test_missing_key_gives_a_clear_error(original):
    latentsync = to_latentsync(original.state_dict())
    victim = next(key for key in latentsync if ".temporal_transformer." in key and key.endswith("proj_in.weight"))
    del latentsync[victim]
    with pytest.raises(ConversionError) as info:
        convert_latentsync_unet(latentsync, "tiny")
    assert rename_latentsync_key(victim) in str(info.value)
    assert "MISSING" in str(info.value)
    assert info.value.report.missing_keys == [rename_latentsync_key(victim)]


def test_shape_mismatch_and_unexpected_key_give_clear_errors(original):
    latentsync = to_latentsync(original.state_dict())
    latentsync["conv_in.weight"] = torch.zeros(32, 9, 3, 3)
    latentsync["audio_projection.weight"] = torch.zeros(3)
    with pytest.raises(ConversionError) as info:
        convert_latentsync_unet(latentsync, "tiny")
    message = str(info.value)
    assert "conv_in.weight" in message and "(32, 9, 3, 3)" in message and "(32, 13, 3, 3)" in message
    assert "audio_projection.weight" in message
    report = info.value.report
    assert report.shape_mismatches[0][0] == "conv_in.weight" and report.unexpected_keys == ["audio_projection.weight"]

    model, lenient = convert_latentsync_unet(latentsync, "tiny", strict=False)
    assert not lenient.ok and lenient.loaded_keys == len(original.state_dict()) - 1


def test_position_buffers_that_differ_are_rejected(original):
    latentsync = to_latentsync(original.state_dict())
    key = next(key for key in latentsync if key.endswith(".pos_encoder.pe"))
    latentsync[key] = latentsync[key] + 0.1
    with pytest.raises(ConversionError, match="POSITION"):
        convert_latentsync_unet(latentsync, "tiny")


def test_checkpoint_loading_never_unpickles_code(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"state_dict": {"x": Payload()}}, f, protocol=2)
    with pytest.raises(pickle.UnpicklingError):
        load_latentsync_checkpoint(path)
    with pytest.raises(FileNotFoundError):
        load_latentsync_checkpoint(tmp_path / "missing.pt")


LATENTSYNC_STAGE2_MODEL = {
    # The ``model:`` block of LatentSync's configs/unet/stage2.yaml (v1.5; stage2_512.yaml has the same block).
    "act_fn": "silu",
    "add_audio_layer": True,
    "attention_head_dim": 8,
    "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": False,
    "cross_attention_dim": 384,
    "down_block_types": ["CrossAttnDownBlock3D", "CrossAttnDownBlock3D", "CrossAttnDownBlock3D", "DownBlock3D"],
    "mid_block_type": "UNetMidBlock3DCrossAttn",
    "up_block_types": ["UpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D"],
    "downsample_padding": 1,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 13,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-5,
    "norm_num_groups": 32,
    "out_channels": 4,
    "sample_size": 64,
    "resnet_time_scale_shift": "default",
    "use_motion_module": True,
    "motion_module_resolutions": [1, 2, 4, 8],
    "motion_module_mid_block": False,
    "motion_module_decoder_only": False,
    "motion_module_type": "Vanilla",
    "motion_module_kwargs": {
        "num_attention_heads": 8,
        "num_transformer_block": 1,
        "attention_block_types": ["Temporal_Self"] * 2,
        "temporal_position_encoding": True,
        "temporal_position_encoding_max_len": 24,
        "temporal_attention_dim_div": 1,
        "zero_initialize": True,
    },
}


def test_latentsync_yaml_config_maps_to_the_base_config():
    config = unet_config_from_latentsync({"model": LATENTSYNC_STAGE2_MODEL}, text_embed_dim=768)
    # The constructor defaults are the "base" config, LatentSync's published U-Net.
    defaults = {name: p.default for name, p in inspect.signature(EADUNet3DModel.__init__).parameters.items()}
    for key, value in config.items():
        assert value == defaults[key] or key == "sample_size", key
    assert len(config) > 20
    assert config["num_attention_heads"] == 8 and config["motion_num_attention_blocks"] == 2
    assert config["block_out_channels"] == (320, 640, 1280, 1280)


def test_latentsync_yaml_with_unsupported_settings_is_refused():
    with pytest.raises(ValueError, match="motion_module_decoder_only"):
        unet_config_from_latentsync({**LATENTSYNC_STAGE2_MODEL, "motion_module_decoder_only": True})
    with pytest.raises(ValueError, match="add_audio_layer"):
        unet_config_from_latentsync({**LATENTSYNC_STAGE2_MODEL, "add_audio_layer": False})
