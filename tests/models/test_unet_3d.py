import json

import pytest
import torch

from eadnet.models.unet_3d import UNET_CONFIGS, EADUNet3DModel, is_ead_parameter

EAD_OFF = {"use_stda": False, "use_tfrm": False, "use_text_attention": False}


def make_inputs(batch=2, frames=4, size=16, seed=0, text_len=5):
    generator = torch.Generator().manual_seed(seed)
    config = UNET_CONFIGS["tiny"]
    sample = torch.randn(batch, 13, frames, size, size, generator=generator)
    audio = torch.randn(batch, frames, 50, config["cross_attention_dim"], generator=generator)
    text = torch.randn(batch, text_len, config["text_embed_dim"], generator=generator)
    return sample, audio, text


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    return EADUNet3DModel.from_named_config("tiny").eval()


def test_output_shape_and_tuple_return(tiny_model):
    sample, audio, text = make_inputs()
    with torch.no_grad():
        out = tiny_model(sample, 500, audio, text).sample
        (as_tuple,) = tiny_model(sample, torch.tensor([500, 500]), audio, text, return_dict=False)
    assert out.shape == (2, 4, 4, 16, 16)
    assert torch.equal(out, as_tuple)
    assert torch.isfinite(out).all()


def test_zero_init_equivalence_with_ead_modules_off(tiny_model):
    """Freshly initialised EAD modules leave the LatentSync-equivalent network's output unchanged (bitwise)."""
    baseline = EADUNet3DModel.from_named_config("tiny", **EAD_OFF).eval()
    missing, unexpected = baseline.load_state_dict(tiny_model.state_dict(), strict=False)
    assert missing == []
    assert unexpected and all(is_ead_parameter(key) for key in unexpected)
    sample, audio, text = make_inputs()
    with torch.no_grad():
        with_ead = tiny_model(sample, 321, audio, text).sample
        without = baseline(sample, 321, audio).sample
    assert torch.equal(with_ead, without)


def test_ead_modules_change_output_once_trained(tiny_model):
    """The equivalence above is not vacuous: non-zero EAD weights do change the output."""
    model = EADUNet3DModel.from_named_config("tiny").eval()
    model.load_state_dict(tiny_model.state_dict())
    sample, audio, text = make_inputs()
    with torch.no_grad():
        before = model(sample, 321, audio, text).sample
        for name, parameter in model.ead_parameters():
            if "to_out" in name or "to_modulation" in name:
                parameter.normal_(std=0.1)
        after = model(sample, 321, audio, text).sample
        other_text = model(sample, 321, audio, text + 1.0).sample
    assert not torch.allclose(before, after)
    assert not torch.allclose(after, other_text), "text tokens must steer a model with trained text attention"


def test_switches_remove_modules():
    model = EADUNet3DModel.from_named_config("tiny", **EAD_OFF)
    assert not any(is_ead_parameter(name) for name, _ in model.named_parameters())
    full = EADUNet3DModel.from_named_config("tiny")
    names = [name for name, _ in full.ead_parameters()]
    assert any(".attn_text." in n for n in names)
    assert any(".stda." in n for n in names)
    assert any(n.startswith("frame_graph_mid.") for n in names)
    assert any(n.startswith("frame_graph_out.") for n in names)


def test_latentsync_parameter_names():
    """Names mirror LatentSync's U-Net so its checkpoints convert by prefix renaming."""
    names = set(EADUNet3DModel.from_named_config("tiny", **EAD_OFF).state_dict())
    expected = {
        "conv_in.weight",
        "time_embedding.linear_1.weight",
        "down_blocks.0.resnets.0.conv1.weight",
        "down_blocks.0.resnets.0.time_emb_proj.weight",
        "down_blocks.0.attentions.0.proj_in.weight",
        "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight",
        "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight",
        "down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj.weight",
        "down_blocks.0.motion_modules.0.transformer_blocks.0.attention_blocks.1.to_out.0.weight",
        "down_blocks.0.downsamplers.0.conv.weight",
        "mid_block.attentions.0.transformer_blocks.0.norm3.weight",
        "up_blocks.0.upsamplers.0.conv.weight",
        "up_blocks.1.resnets.1.conv_shortcut.weight",
        "conv_out.weight",
    }
    assert expected <= names
    # Audio cross-attention keys/values take the Whisper width.
    model = EADUNet3DModel.from_named_config("tiny")
    attn2 = model.down_blocks[0].attentions[0].transformer_blocks[0].attn2
    attn_text = model.down_blocks[0].attentions[0].transformer_blocks[0].attn_text
    assert attn2.to_k.in_features == UNET_CONFIGS["tiny"]["cross_attention_dim"]
    assert attn_text.to_k.in_features == UNET_CONFIGS["tiny"]["text_embed_dim"]
    assert torch.count_nonzero(attn_text.to_out[0].weight) == 0


def test_base_config_is_latentsync_shaped():
    with torch.device("meta"):
        model = EADUNet3DModel.from_named_config("base")
    config = model.config
    assert config.in_channels == 13 and config.out_channels == 4
    assert tuple(config.block_out_channels) == (320, 640, 1280, 1280)
    assert config.cross_attention_dim == 384
    assert config.layers_per_block == 2
    assert model.down_blocks[3].attentions is None and model.down_blocks[3].motion_modules is not None
    assert model.mid_block.motion_modules is None
    assert len(model.up_blocks[3].resnets) == 3


def test_text_attention_mask_matters(tiny_model):
    model = EADUNet3DModel.from_named_config("tiny").eval()
    model.load_state_dict(tiny_model.state_dict())
    with torch.no_grad():
        for name, parameter in model.ead_parameters():
            if ".attn_text.to_out" in name:
                parameter.normal_(std=0.1)
    sample, audio, text = make_inputs()
    full_mask = torch.ones(2, 5, dtype=torch.bool)
    partial = full_mask.clone()
    partial[:, 3:] = False
    with torch.no_grad():
        out_full = model(sample, 10, audio, text, full_mask).sample
        out_unmasked = model(sample, 10, audio, text).sample
        out_partial = model(sample, 10, audio, text, partial).sample
        garbage = text.clone()
        garbage[:, 3:] = 100.0
        out_partial_garbage = model(sample, 10, audio, garbage, partial).sample
    assert torch.allclose(out_full, out_unmasked, atol=1e-6)
    assert not torch.allclose(out_full, out_partial)
    # Masked tokens are really ignored.
    assert torch.allclose(out_partial, out_partial_garbage, atol=1e-5)


def test_any_number_of_frames_and_batch_independence(tiny_model):
    sample, audio, text = make_inputs(batch=2, frames=7)
    with torch.no_grad():
        both = tiny_model(sample, 10, audio, text).sample
        first = tiny_model(sample[:1], 10, audio[:1], text[:1]).sample
    assert both.shape[2] == 7
    assert torch.allclose(both[:1], first, atol=1e-5)


def test_save_load_round_trip(tmp_path, tiny_model):
    tiny_model.save_pretrained(tmp_path)
    loaded = EADUNet3DModel.from_pretrained(tmp_path).eval()

    def public(config):
        return json.loads(json.dumps({k: v for k, v in config.items() if not k.startswith("_")}))

    assert public(loaded.config) == public(tiny_model.config)
    sample, audio, text = make_inputs()
    with torch.no_grad():
        assert torch.equal(tiny_model(sample, 7, audio, text).sample, loaded(sample, 7, audio, text).sample)


def test_gradient_checkpointing_same_gradients():
    torch.manual_seed(1)
    model = EADUNet3DModel.from_named_config("tiny")
    with torch.no_grad():
        for _, parameter in model.ead_parameters():
            parameter.add_(0.01)
    sample, audio, text = make_inputs(batch=1, frames=3)

    def grads():
        model.zero_grad()
        model(sample, 10, audio, text).sample.square().mean().backward()
        return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    plain = grads()
    model.enable_gradient_checkpointing()
    assert model.down_blocks[0].gradient_checkpointing
    checkpointed = grads()
    assert plain.keys() == checkpointed.keys() and len(plain) > 0
    for name in plain:
        assert torch.allclose(plain[name], checkpointed[name], atol=1e-6), name


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"sample": torch.randn(13, 4, 16, 16)}, "sample"),
        ({"sample": torch.randn(1, 9, 4, 16, 16)}, "sample"),
        ({"sample": torch.randn(1, 13, 4, 15, 16)}, "sample"),
        ({"audio_embeds": torch.randn(1, 3, 50, 16)}, "audio_embeds"),
        ({"audio_embeds": torch.randn(1, 4, 16)}, "audio_embeds"),
        ({"audio_embeds": torch.randn(1, 4, 50, 8)}, "audio_embeds"),
        ({"text_embeds": torch.randn(1, 5, 7)}, "text_embeds"),
        ({"text_embeds": torch.randn(5, 24)}, "text_embeds"),
        ({"text_attention_mask": torch.zeros(1, 5, dtype=torch.bool)}, "text_attention_mask"),
        ({"text_attention_mask": torch.ones(1, 4, dtype=torch.bool)}, "text_attention_mask"),
    ],
)
def test_bad_inputs_raise_value_error_naming_argument(tiny_model, kwargs, argument):
    sample, audio, text = make_inputs(batch=1)
    inputs = {"sample": sample, "audio_embeds": audio, "text_embeds": text}
    inputs.update(kwargs)
    with pytest.raises(ValueError, match=argument):
        tiny_model(timestep=10, **inputs)


def test_bad_config_raises():
    with pytest.raises(ValueError, match="down_block_types"):
        EADUNet3DModel.from_named_config("tiny", down_block_types=("CrossAttnDownBlock3D",))
    with pytest.raises(ValueError, match="up_block_types"):
        EADUNet3DModel.from_named_config("tiny", up_block_types=("UpBlock3D", "Nope"))
    with pytest.raises(ValueError, match="name"):
        EADUNet3DModel.from_named_config("huge")
