"""Sampling defaults and generation settings (`eadnet.settings`): one owner for every setting."""

import dataclasses
import json

import pytest

from eadnet.hub import get_preset
from eadnet.hub.local import MODEL_FILE, load_model_folder
from eadnet.settings import FALLBACK_SAMPLING, GenerationSettings, SamplingDefaults
from eadnet.testing import save_tiny_model_folder


def test_unset_fields_inherit_in_order():
    model = SamplingDefaults(num_inference_steps=10, audio_offset=1.0)
    request = SamplingDefaults(num_inference_steps=3)
    resolved = request.over(model.complete())
    assert resolved.num_inference_steps == 3  # the request wins
    assert resolved.audio_offset == 1.0  # then the model
    assert resolved.audio_guidance_scale == FALLBACK_SAMPLING.audio_guidance_scale  # then the fallback
    assert None not in FALLBACK_SAMPLING.given().values() and len(FALLBACK_SAMPLING.given()) == len(
        SamplingDefaults.names()
    )


@pytest.mark.parametrize(
    ("field", "bad", "message"),
    [
        ("num_inference_steps", 0, "positive int"),
        ("num_inference_steps", 2.0, "positive int"),
        ("strength", 1.5, "strength"),
        ("audio_guidance_scale", float("inf"), "finite number"),
        ("text_guidance_scale", -1.0, "finite number"),
        ("audio_offset", "1", "audio_offset"),
        ("null_audio_outliers", 1, "True or False"),
    ],
)
def test_bad_values_fail_at_construction(field, bad, message):
    with pytest.raises(ValueError, match=message):
        SamplingDefaults(**{field: bad})


def test_from_options_splits_flat_names_and_none_is_unset():
    settings = GenerationSettings.from_options(num_inference_steps=5, fps=30.0, audio_guidance_scale=None)
    assert settings.sampling == SamplingDefaults(num_inference_steps=5) and settings.fps == 30.0
    again = GenerationSettings.from_options(settings, text_guidance_scale=2.0, window_size=8)
    assert again.sampling == SamplingDefaults(num_inference_steps=5, text_guidance_scale=2.0)
    assert (again.fps, again.window_size) == (30.0, 8)
    with pytest.raises(TypeError, match="unknown generation option"):
        GenerationSettings.from_options(steps=5)
    with pytest.raises(ValueError, match="window_overlap"):
        GenerationSettings(window_size=4, window_overlap=4)
    with pytest.raises(ValueError, match="no_face"):
        GenerationSettings(no_face="ignore")


def test_presets_carry_complete_defaults():
    mini = get_preset("eadnet-mini").sampling
    assert mini.given().keys() == set(SamplingDefaults.names())
    assert (mini.num_inference_steps, mini.audio_offset) == (10, 1.0)
    latentsync = dataclasses.replace(FALLBACK_SAMPLING, null_audio_outliers=False, emotion_warp=True)
    assert get_preset("latentsync-1.5").sampling == latentsync  # its emotion-text path is untrained: warp on


def test_model_folder_stores_one_sampling_block(tmp_path):
    folder = save_tiny_model_folder(tmp_path / "model")
    stored = json.loads((folder / MODEL_FILE).read_text())
    assert set(stored["sampling"]) == set(SamplingDefaults.names())
    assert not any(key.startswith("default_") for key in stored)
    preset, _ = load_model_folder(folder)
    assert preset.sampling == SamplingDefaults.from_json(stored["sampling"])
    assert preset.sampling.num_inference_steps == 1


def test_model_folder_from_an_older_version_and_a_newer_one(tmp_path, caplog):
    folder = save_tiny_model_folder(tmp_path / "model")
    stored = json.loads((folder / MODEL_FILE).read_text())
    del stored["sampling"]
    stored.update(default_steps=7, default_audio_offset=0.5, null_audio_outliers=False)  # flat keys of 0.1 dev
    (folder / MODEL_FILE).write_text(json.dumps(stored))
    preset, _ = load_model_folder(folder)
    assert (preset.sampling.num_inference_steps, preset.sampling.audio_offset) == (7, 0.5)
    assert preset.sampling.null_audio_outliers is False
    stored.pop("default_steps")
    stored["sampling"] = {"num_inference_steps": 3, "cache_schedule": "adaptive"}  # a setting of a later version
    (folder / MODEL_FILE).write_text(json.dumps(stored))
    preset, _ = load_model_folder(folder)
    assert preset.sampling.num_inference_steps == 3 and "cache_schedule" in caplog.text
