"""Tests of `EmotionCaptioner`: MEAD templates, free text, and reference captioning with a tiny random Idefics3 VLM."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import (
    Idefics3ForConditionalGeneration,
    Idefics3Processor,
)

from eadnet.emotion import EMOTION_LABELS, EmotionSpec, normalize_text, parse_emotion_spec
from eadnet.models.emotion_captioner import DEFAULT_PROMPT, EmotionCaptioner, describe_label, sample_frame_indices
from eadnet.testing import VLM_IMAGE_SEQ_LEN as IMAGE_SEQ_LEN
from eadnet.testing import VLM_SPECIAL_TOKENS as SPECIAL_TOKENS
from eadnet.testing import save_tiny_vlm
from eadnet.testing import tiny_vlm_tokenizer as _tiny_tokenizer

# A word (stem) of each emotion that its descriptions must contain.
EMOTION_WORDS = {
    "angry": "angry",
    "contempt": "contempt",
    "disgusted": "disgusted",
    "fear": "fear",
    "happy": "happy",
    "neutral": "neutral",
    "sad": "sad",
    "surprised": "surprised",
}


# ---------------------------------------------------------------------------------------------------- MEAD labels
def test_all_label_intensity_pairs_distinct():
    assert EMOTION_LABELS == ("angry", "contempt", "disgusted", "fear", "happy", "neutral", "sad", "surprised")
    descriptions = {}
    for label, intensity in itertools.product(EMOTION_LABELS, (1, 2, 3)):
        text = describe_label(label, intensity)
        assert isinstance(text, str) and text.strip() == text and len(text) > 20
        assert EMOTION_WORDS[label] in text.lower()
        descriptions[(label, intensity)] = text
    assert len(set(descriptions.values())) == 24


def test_label_descriptions_come_from_the_expression_table():
    # the captioner's words and the expression engine's geometry are one table: every unit the warp applies for a
    # label is named in its description
    from eadnet.expression.action_units import ACTION_UNITS
    from eadnet.expression.emotions import emotion_action_units

    for label, intensity in itertools.product(EMOTION_LABELS, (1, 2, 3)):
        plain = describe_label(label, intensity).replace("slightly ", "").replace("strongly ", "")
        for code in emotion_action_units(label, intensity):
            clause = ACTION_UNITS[code.rstrip("LR")].description.split(",")[0]
            assert clause.split(" are ", 1)[-1] in plain, (label, intensity, code)


def test_intensity_words_and_default():
    assert "strongly happy" in describe_label("happy", 3)
    assert "into a smile" in describe_label("happy", 3)
    assert "slightly" in describe_label("sad", 1)
    assert "moderately" in describe_label("angry", 2)
    assert describe_label("fear") == describe_label("fear", 2)


@pytest.mark.parametrize(
    ("alias", "label"),
    [
        ("anger", "angry"),
        ("ANGRY", "angry"),
        ("Disgust", "disgusted"),
        ("fearful", "fear"),
        ("Happiness", "happy"),
        ("sadness", "sad"),
        ("surprise", "surprised"),
        ("  Neutral ", "neutral"),
        ("contemptuous", "contempt"),
    ],
)
def test_aliases_and_case(alias, label):
    assert describe_label(alias, 3) == describe_label(label, 3)


@pytest.mark.parametrize("label", ["calm", "joy", "", "happy sad", None])
def test_unknown_label_raises(label):
    with pytest.raises(ValueError, match="label"):
        describe_label(label, 2)


@pytest.mark.parametrize("intensity", [0, 4, -1, 2.0, "2", True, None])
def test_bad_intensity_raises(intensity):
    with pytest.raises(ValueError, match="intensity"):
        describe_label("happy", intensity)


def test_neutral_accepts_all_intensities():
    assert all(describe_label("neutral", level) for level in (1, 2, 3))
    with pytest.raises(ValueError, match="intensity"):
        describe_label("neutral", 5)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("happy:3", ("happy", 3)),
        ("happy", ("happy", 2)),
        ("  Sadness : 1 ", ("sad", 1)),
        ("SURPRISE:2", ("surprised", 2)),
        ("neutral:3", ("neutral", 3)),
    ],
)
def test_parse_emotion_spec(spec, expected):
    assert parse_emotion_spec(spec) == expected


@pytest.mark.parametrize("spec", ["", "happy:", "happy:4", "happy:0", "happy:x", "joy:2", "happy:2:3", None])
def test_parse_emotion_spec_errors(spec):
    with pytest.raises(ValueError, match="spec"):
        parse_emotion_spec(spec)


# ---------------------------------------------------------------------------------------------------- free text
def test_free_text_normalisation():
    captioner = EmotionCaptioner()
    assert captioner(EmotionSpec(text="  a   nervous\n smile\twith darting eyes  ")) == (
        "a nervous smile with darting eyes"
    )
    assert normalize_text("x" * 500) == "x" * 500


@pytest.mark.parametrize("text", ["", "   \n\t", 12])
def test_free_text_empty_or_wrong_type_raises(text):
    with pytest.raises(ValueError, match="text"):
        EmotionCaptioner().caption(EmotionSpec(text=text))


def test_free_text_too_long_raises_instead_of_truncating():
    captioner = EmotionCaptioner(max_text_chars=20)
    assert captioner(EmotionSpec(text="a" * 10 + "   " + "b" * 9)) == "a" * 10 + " " + "b" * 9
    with pytest.raises(ValueError, match="text.*21"):
        captioner(EmotionSpec(text="a" * 21))
    with pytest.raises(ValueError, match="text"):
        normalize_text("y" * 501)


# ---------------------------------------------------------------------------------------------------- spec routing
def test_spec_label_route():
    assert EmotionCaptioner().caption(EmotionSpec(label="Happy", intensity=3)) == describe_label("happy", 3)


@pytest.mark.parametrize(
    "spec",
    [
        EmotionSpec(),
        EmotionSpec(label="happy", text="smiling"),
        EmotionSpec(text="smiling", reference=np.zeros((4, 4, 3))),
    ],
)
def test_spec_needs_exactly_one_source(spec):
    with pytest.raises(ValueError, match="emotion"):
        EmotionCaptioner().caption(spec)


def test_spec_type_checked():
    with pytest.raises(ValueError, match="emotion"):
        EmotionCaptioner().caption("happy:3")


def test_reference_without_vlm_explains_how_to_enable():
    frames = np.zeros((2, 8, 8, 3), dtype=np.uint8)
    with pytest.raises(RuntimeError, match="from_pretrained"):
        EmotionCaptioner()(EmotionSpec(reference=frames))


def test_model_and_processor_required_together():
    with pytest.raises(ValueError, match="vlm_processor"):
        EmotionCaptioner(vlm_model=torch.nn.Linear(1, 1))


# ---------------------------------------------------------------------------------------------------- frames
def test_sample_frame_indices():
    assert sample_frame_indices(10, 4) == [0, 3, 6, 9]
    assert sample_frame_indices(3, 4) == [0, 1, 2]
    assert sample_frame_indices(5, 1) == [2]


def _numbered_frames(num: int, size: int = 8) -> np.ndarray:
    """``(F, H, W, 3)`` uint8 frames whose pixel value is ``10 * frame_index``."""
    return np.stack([np.full((size, size, 3), 10 * i, dtype=np.uint8) for i in range(num)])


def test_sample_frames_numpy_uint8():
    images = EmotionCaptioner(num_frames=4).sample_frames(_numbered_frames(10))
    assert [img.getpixel((0, 0))[0] for img in images] == [0, 30, 60, 90]
    assert all(img.mode == "RGB" and img.size == (8, 8) for img in images)


def test_sample_frames_comfy_tensor_and_float_array():
    captioner = EmotionCaptioner(num_frames=2)
    tensor = torch.from_numpy(_numbered_frames(5)).float() / 255.0  # ComfyUI IMAGE: (F, H, W, 3) in [0, 1]
    images = captioner.sample_frames(tensor)
    assert [img.getpixel((0, 0))[0] for img in images] == [0, 40]
    single = captioner.sample_frames(np.full((6, 5, 3), 0.5, dtype=np.float32))
    assert len(single) == 1 and single[0].size == (5, 6) and single[0].getpixel((0, 0)) == (128, 128, 128)


def test_sample_frames_pil_inputs():
    captioner = EmotionCaptioner(num_frames=4)
    gray = Image.new("L", (7, 5), 9)
    assert len(captioner.sample_frames(gray)) == 1
    assert captioner.sample_frames(gray)[0].mode == "RGB"
    assert len(captioner.sample_frames([gray] * 6)) == 4


@pytest.mark.parametrize(
    "frames",
    [
        np.zeros((8, 8), dtype=np.uint8),  # rank 2
        np.zeros((1, 2, 8, 8, 3), dtype=np.uint8),  # rank 5
        np.zeros((2, 8, 8, 4), dtype=np.uint8),  # RGBA
        np.zeros((0, 8, 8, 3), dtype=np.uint8),  # no frames
        np.full((8, 8, 3), 2.0, dtype=np.float32),  # float outside [0, 1]
        np.zeros((8, 8, 3), dtype=np.int32),
        torch.zeros(3, 8, 8),  # channels first
        [],
        ["not an image"],
        "image.png",
    ],
)
def test_bad_frames_raise(frames):
    with pytest.raises(ValueError, match="frames"):
        EmotionCaptioner().sample_frames(frames)


# ---------------------------------------------------------------------------------------------------- tiny VLM
@pytest.fixture(scope="module")
def tiny_vlm_dir(tmp_path_factory):
    """A tiny randomly initialised Idefics3 (SmolVLM architecture) model + processor saved with save_pretrained."""
    return save_tiny_vlm(tmp_path_factory.mktemp("tiny_idefics3"))


@pytest.fixture(scope="module")
def vlm_captioner(tiny_vlm_dir) -> EmotionCaptioner:
    tokenizer = _tiny_tokenizer()
    special_ids = [tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS]
    return EmotionCaptioner.from_pretrained(
        tiny_vlm_dir,
        max_new_tokens=6,
        num_frames=4,
        # Random weights: force a few non-special tokens so that the decoded text cannot be empty.
        generation_kwargs={"min_new_tokens": 6, "suppress_tokens": special_ids},
    )


@pytest.fixture
def generate_spy(vlm_captioner, monkeypatch):
    calls = []
    original = vlm_captioner.vlm_model.generate

    def spy(**kwargs):
        output = original(**kwargs)
        calls.append({"kwargs": kwargs, "output": output})
        return output

    monkeypatch.setattr(vlm_captioner.vlm_model, "generate", spy)
    return calls


def test_from_pretrained_loads_vlm(vlm_captioner):
    assert isinstance(vlm_captioner.vlm_model, Idefics3ForConditionalGeneration)
    assert isinstance(vlm_captioner.vlm_processor, Idefics3Processor)
    assert vlm_captioner.has_vlm
    assert vlm_captioner.prompt == DEFAULT_PROMPT


def test_prompt_has_one_image_entry_per_frame(vlm_captioner):
    text = vlm_captioner.build_prompt(3)
    assert text.count("<image>") == 3
    assert DEFAULT_PROMPT in text
    assert text.endswith("Assistant:")
    for forbidden in ("identity", "clothing", "background"):
        assert forbidden in DEFAULT_PROMPT  # the prompt tells the model what not to describe


@pytest.mark.parametrize(
    ("reference", "expected_frames"),
    [
        (_numbered_frames(2, size=40), 2),
        (Image.new("RGB", (48, 36), (200, 120, 90)), 1),
        (torch.rand(10, 24, 24, 3), 4),
    ],
    ids=["two-frame-array", "single-pil", "ten-frame-tensor"],
)
def test_caption_reference_with_tiny_idefics3(vlm_captioner, generate_spy, reference, expected_frames):
    description = vlm_captioner(EmotionSpec(reference=reference))
    assert isinstance(description, str) and description
    assert description == " ".join(description.split())

    assert len(generate_spy) == 1
    kwargs = generate_spy[0]["kwargs"]
    input_ids = kwargs["input_ids"]
    processor = vlm_captioner.vlm_processor
    tokenizer = processor.tokenizer
    # One image block (global image tag + image_seq_len image tokens) per sampled frame.
    assert int((input_ids == tokenizer.convert_tokens_to_ids("<global-img>")).sum()) == expected_frames
    assert int((input_ids == processor.image_token_id).sum()) == expected_frames * IMAGE_SEQ_LEN
    assert kwargs["pixel_values"].shape[:2] == (1, expected_frames)
    assert kwargs["do_sample"] is False and kwargs["max_new_tokens"] == 6
    # generate produced new tokens after the prompt, and only those are decoded.
    output = generate_spy[0]["output"]
    assert output.shape[1] == input_ids.shape[1] + 6
    new_text = tokenizer.decode(output[0, input_ids.shape[1] :], skip_special_tokens=True)
    assert description == " ".join(new_text.split())
    assert "Assistant" not in description and DEFAULT_PROMPT[:30] not in description


def test_caption_reference_is_deterministic(vlm_captioner):
    frames = _numbered_frames(2, size=40)
    assert vlm_captioner.caption_reference(frames) == vlm_captioner.caption_reference(frames)


def test_empty_vlm_output_raises(vlm_captioner, monkeypatch):
    def only_prompt(**kwargs):
        return kwargs["input_ids"]

    monkeypatch.setattr(vlm_captioner.vlm_model, "generate", only_prompt)
    with pytest.raises(RuntimeError, match="empty"):
        vlm_captioner.caption_reference(_numbered_frames(1, size=40))


def test_generate_returning_only_new_tokens(vlm_captioner, monkeypatch):
    """Some VLMs (encoder-decoder style) return only the continuation; it is decoded as is."""
    new_ids = vlm_captioner.vlm_processor.tokenizer("  raised   brows", add_special_tokens=False, return_tensors="pt")

    monkeypatch.setattr(vlm_captioner.vlm_model, "generate", lambda **kwargs: new_ids.input_ids)
    assert vlm_captioner.caption_reference(_numbered_frames(1, size=40)) == "raised brows"


def test_vlm_captioner_still_handles_labels_and_text(vlm_captioner):
    assert vlm_captioner(EmotionSpec(label="sad", intensity=1)) == describe_label("sad", 1)
    assert vlm_captioner(EmotionSpec(text=" calm ")) == "calm"


def test_cli_caption_sources(tiny_vlm_dir, tmp_path, capsys):
    from eadnet.cli import main

    assert main(["caption", "--emotion", "Sad:1"]) == 0
    assert capsys.readouterr().out.strip() == describe_label("sad", 1)
    assert main(["caption", "--text", "  a  warm, relaxed smile "]) == 0
    assert capsys.readouterr().out.strip() == "a warm, relaxed smile"
    assert main(["caption", "--emotion", "joyous"]) == 2
    assert "joyous" in capsys.readouterr().err

    paths = []
    for index in range(2):
        path = tmp_path / f"ref{index}.png"
        Image.fromarray(np.full((24, 24, 3), 40 * index, dtype=np.uint8)).save(path)
        paths.append(str(path))
    assert main(["caption", "--reference", *paths, "--vlm", str(tiny_vlm_dir), "--num-frames", "2"]) == 0
    assert capsys.readouterr().out.strip()
    assert main(["caption", "--reference", str(tmp_path / "missing.png")]) == 2
    assert "missing.png" in capsys.readouterr().err
