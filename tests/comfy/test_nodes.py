"""The node pack as ComfyUI sees it: loading by path, the V1 node contract, runtime behaviour, actionable errors."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
TINY_MODEL = "tiny-eadnet"  # the folder conftest saves under the stub's models/eadnet

CORE_TYPES = {"IMAGE", "AUDIO", "FLOAT", "INT", "STRING", "MASK", "BOOLEAN"}


def _inputs(node):
    spec = node.INPUT_TYPES()
    return {**spec.get("required", {}), **spec.get("optional", {})}, set(spec.get("optional", {}))


def test_pack_loads_by_path_with_all_nodes(pack):
    mappings = pack.NODE_CLASS_MAPPINGS
    assert set(mappings) == {
        "EADNet_ModelLoader",
        "EADNet_AudioEncode",
        "EADNet_Emotion",
        "EADNet_FaceCrop",
        "EADNet_Sampler",
        "EADNet_Decode",
        "EADNet_PasteBack",
        "EADNet_Generate",
        "EADNet_ExpressionEditor",
    }
    assert set(pack.NODE_DISPLAY_NAME_MAPPINGS) == set(mappings)
    # Loaded through the pack's own module tree, not a pip-installed comfy_nodes.
    assert all(cls.__module__.startswith("EAD-Net pack_odd name.comfy_nodes") for cls in mappings.values())


def test_v1_contract_of_every_node(pack):
    for node_id, node in pack.NODE_CLASS_MAPPINGS.items():
        assert node_id.startswith("EADNet_")
        assert node.CATEGORY.split("/")[0] == "EAD-Net", node_id
        assert isinstance(node.DESCRIPTION, str) and node.DESCRIPTION, node_id
        assert len(node.RETURN_NAMES) == len(node.RETURN_TYPES), node_id
        function = getattr(node, node.FUNCTION)
        inputs, optional = _inputs(node)
        params = list(inspect.signature(function).parameters.values())[1:]  # without self
        assert [p.name for p in params] == list(inputs), node_id
        assert all((p.default is not inspect.Parameter.empty) == (p.name in optional) for p in params), node_id
        for name, (kind, options) in inputs.items():
            assert options.get("tooltip"), f"{node_id}.{name} has no tooltip"
            assert isinstance(kind, list) or kind in CORE_TYPES or kind.startswith("EADNET_"), (node_id, name)
            if isinstance(kind, list) and "default" in options:
                assert options["default"] in kind, (node_id, name)
        for kind in node.RETURN_TYPES:
            assert kind in CORE_TYPES or kind.startswith("EADNET_"), (node_id, kind)
            assert kind not in ("LATENT", "VIDEO")


def test_widget_order_is_stable(pack):
    """Shared UI workflows store widget values by position: this order may only grow at the end."""
    expected = {
        "EADNet_ModelLoader": ["model", "precision", "device", "offload"],
        "EADNet_AudioEncode": ["model", "audio", "fps"],
        "EADNet_Emotion": ["model", "source", "label", "intensity", "text", "reference", "vlm"],
        "EADNet_FaceCrop": ["model", "image", "audio", "no_face", "video_fps", "face", "face_mask"],
        "EADNet_Sampler": [
            "model",
            "face",
            "audio",
            "emotion",
            "steps",
            "audio_guidance",
            "text_guidance",
            "seed",
            "window",
            "overlap",
            "emotion_warp",
            "cache_interval",
            "cache_text_guidance",
        ],
        "EADNet_Decode": ["model", "latents", "face"],
        "EADNet_PasteBack": ["model", "face", "crops"],
        "EADNet_Generate": [
            "model",
            "image",
            "audio",
            "emotion_label",
            "intensity",
            "emotion_text",
            "steps",
            "audio_guidance",
            "text_guidance",
            "seed",
        ],
        "EADNet_ExpressionEditor": [
            "image",
            "emotion",
            "intensity",
            "brow_raise",
            "frown",
            "eye_open",
            "smile",
            "lip_corner_depress",
            "nose_wrinkle",
            "jaw",
            "pitch",
            "yaw",
            "roll",
            "gaze_x",
            "gaze_y",
            "blink",
            "keep_expression",
            "no_face",
        ],
    }
    for node_id, names in expected.items():
        assert list(_inputs(pack.NODE_CLASS_MAPPINGS[node_id])[0]) == names, node_id


def test_loader_lists_presets_and_model_folders_and_registers_the_folder(pack, comfy):
    import folder_paths

    assert folder_paths.get_folder_paths("eadnet") == [str(comfy.base / "models" / "eadnet")]
    choices, options = pack.NODE_CLASS_MAPPINGS["EADNet_ModelLoader"].INPUT_TYPES()["required"]["model"]
    assert {"eadnet-mesh", "eadnet-mini", "offline-demo", "latentsync-1.5", "latentsync-1.6", TINY_MODEL} <= set(
        choices
    )
    assert options["default"] == "eadnet-mesh"  # the engine that animates any face: no download, no GPU


def test_sampling_widgets_default_to_the_default_models_preset(pack):
    from eadnet.hub import get_preset

    preset = get_preset("eadnet-mini")
    for node_id in ("EADNet_Sampler", "EADNet_Generate"):
        inputs = _inputs(pack.NODE_CLASS_MAPPINGS[node_id])[0]
        assert inputs["steps"][1]["default"] == preset.sampling.num_inference_steps, node_id
        assert inputs["audio_guidance"][1]["default"] == preset.sampling.audio_guidance_scale, node_id
        assert inputs["text_guidance"][1]["default"] == preset.sampling.text_guidance_scale, node_id


def test_library_and_pack_import_without_comfyui():
    code = (
        "import sys, eadnet, eadnet.pipelines\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('comfy', 'folder_paths')]\n"
        "import comfy_nodes\n"
        "assert len(comfy_nodes.NODE_CLASS_MAPPINGS) == 9\n"
        "assert 'comfy' not in sys.modules and 'folder_paths' not in sys.modules\n"
        "assert comfy_nodes.runtime.models_dir() is None\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.fixture
def model(pack, comfy, caplog):
    with caplog.at_level("WARNING"):
        (loaded,) = pack.NODE_CLASS_MAPPINGS["EADNet_ModelLoader"]().load(
            TINY_MODEL, "fp32", "auto", "offload after run"
        )
    assert "UNTRAINED" in caplog.text
    return loaded


def _generate(pack, model, image, audio, label="happy", text="", steps=1):
    return pack.NODE_CLASS_MAPPINGS["EADNet_Generate"]().generate(
        model, image, audio, label, 2, text, steps, 1.0, 1.0, 0
    )


def test_interruption_stops_the_all_in_one_between_steps(pack, model, comfy, portrait_image, speech_audio):
    comfy.interrupt_after = 2
    with pytest.raises(comfy.Interrupt):
        _generate(pack, model, portrait_image, speech_audio, steps=3)
    (bar,) = comfy.progress_bars
    assert bar.total == 3 and comfy.interrupt_checks == 2 and bar.current == 1  # stopped after step 2 of 3
    assert next(model.pipeline.unet.parameters()).device.type == "cpu"  # offloaded even when interrupted


def test_staged_sampler_progress_spans_windows_and_stops_between_steps(
    pack, model, comfy, portrait_image, speech_audio
):
    nodes = pack.NODE_CLASS_MAPPINGS
    (audio,) = nodes["EADNet_AudioEncode"]().encode(model, speech_audio, 25.0)
    face, crops = nodes["EADNet_FaceCrop"]().crop(model, portrait_image, audio, "error", 25.0)
    emotion, caption = nodes["EADNet_Emotion"]().describe(model, "text", "neutral", 2, "calm, warm smile")
    assert audio.num_frames == 8 and crops.shape == (1, 64, 64, 3) and "calm" in caption
    comfy.interrupt_after = 3  # the check after step 3 of 4: the first step of the second window
    with pytest.raises(comfy.Interrupt):
        nodes["EADNet_Sampler"]().sample(model, face, audio, emotion, 2, 1.0, 1.0, 0, 4, 0)
    (bar,) = comfy.progress_bars
    assert bar.total == 4 and bar.current == 2 and comfy.interrupt_checks == 3  # 2 windows × 2 steps in one bar


def test_the_sampler_cache_widgets_reach_the_pipeline(pack, model, portrait_image, speech_audio, monkeypatch):
    """cache_interval 0 and 'model default' leave the choice to the preset (None); set ones are passed on."""
    nodes = pack.NODE_CLASS_MAPPINGS
    (audio,) = nodes["EADNet_AudioEncode"]().encode(model, speech_audio, 25.0)
    face, _ = nodes["EADNet_FaceCrop"]().crop(model, portrait_image, audio, "error", 25.0)
    emotion, _ = nodes["EADNet_Emotion"]().describe(model, "label", "happy", 2, "", None, "")
    seen = []
    denoise_windows = type(model.pipeline).denoise_windows

    def recording(pipe, *args, **options):
        seen.append((options["cache_interval"], options["cache_text_guidance"]))
        return denoise_windows(pipe, *args, **options)

    monkeypatch.setattr(type(model.pipeline), "denoise_windows", recording)
    sampler = nodes["EADNet_Sampler"]()
    (plain,) = sampler.sample(model, face, audio, emotion, 2, 1.0, 1.0, 0, 8, 0)
    (cached,) = sampler.sample(model, face, audio, emotion, 2, 1.0, 2.0, 0, 8, 0, "model default", 2, "on")
    sampler.sample(model, face, audio, emotion, 2, 1.0, 2.0, 0, 8, 0, "off", 1, "off")
    assert seen == [(None, None), (2, True), (1, False)]
    assert cached.latents.shape == plain.latents.shape
    with pytest.raises(ValueError, match="cache_text_guidance must be one of"):
        sampler.sample(model, face, audio, emotion, 2, 1.0, 1.0, 0, 8, 0, "model default", 0, "yes")


def test_batch_of_portraits_to_all_in_one_says_what_to_do(pack, model, portrait_image, speech_audio):
    with pytest.raises(ValueError, match="connect one image, or pass video frames"):
        _generate(pack, model, portrait_image.repeat(3, 1, 1, 1), speech_audio)


@pytest.mark.parametrize(
    "waveform, message",
    [
        (torch.zeros(1, 1, 0), "audio is empty"),
        (torch.zeros(1, 1, 16000), "audio is silent"),
        (torch.zeros(2, 1, 16000), "batch of 2 clips"),
    ],
)
def test_empty_silent_or_batched_audio_is_refused(pack, model, portrait_image, waveform, message):
    audio = {"waveform": waveform, "sample_rate": 16000}
    with pytest.raises(ValueError, match=message):
        _generate(pack, model, portrait_image, audio)
    with pytest.raises(ValueError, match=message):
        pack.NODE_CLASS_MAPPINGS["EADNet_AudioEncode"]().encode(model, audio, 25.0)


def test_unknown_label_names_the_choices(pack, model, portrait_image, speech_audio):
    with pytest.raises(ValueError, match="unknown emotion label 'joyful'.*angry, contempt"):
        _generate(pack, model, portrait_image, speech_audio, label="joyful")
    with pytest.raises(ValueError, match="unknown emotion label"):
        pack.NODE_CLASS_MAPPINGS["EADNet_Emotion"]().describe(model, "label", "joyful", 2, "")


def test_no_face_and_missing_reference_are_explained(pack, model, speech_audio):
    nodes = pack.NODE_CLASS_MAPPINGS
    (audio,) = nodes["EADNet_AudioEncode"]().encode(model, speech_audio, 25.0)
    blank = torch.full((1, 128, 128, 3), 0.5)
    with pytest.raises(ValueError, match="face"):
        nodes["EADNet_FaceCrop"]().crop(model, blank, audio, "error", 25.0)
    with pytest.raises(ValueError, match="no reference IMAGE is connected"):
        nodes["EADNet_Emotion"]().describe(model, "reference", "neutral", 2, "")


def test_auto_precision_is_comfyui_s_choice_and_whisper_stays_fp32(pack, comfy, monkeypatch):
    loader = pack.NODE_CLASS_MAPPINGS["EADNet_ModelLoader"]()
    assert "auto" in loader.INPUT_TYPES()["required"]["precision"][0]
    (cpu,) = loader.load(TINY_MODEL, "auto", "cpu", "offload after run")
    assert cpu.dtype == torch.float32  # the stub has no unet_dtype: fp32 on a CPU
    asked = {}

    def unet_dtype(device=None, supported_dtypes=()):
        asked.update(device=device, supported=list(supported_dtypes))
        return torch.bfloat16  # as ComfyUI started with --bf16-unet

    monkeypatch.setattr(comfy.modules["comfy.model_management"], "unet_dtype", unet_dtype, raising=False)
    (half,) = loader.load(TINY_MODEL, "auto", "cpu", "offload after run")
    assert half.dtype == half.pipeline.unet.dtype == torch.bfloat16 and asked["device"] == torch.device("cpu")
    assert half.pipeline.audio_encoder.dtype == torch.float32 and torch.bfloat16 in asked["supported"]


def test_face_crop_picks_the_face_by_its_widget_or_a_painted_mask(pack, model, portrait_image, speech_audio):
    nodes = pack.NODE_CLASS_MAPPINGS
    (audio,) = nodes["EADNet_AudioEncode"]().encode(model, speech_audio, 25.0)
    group = torch.cat([portrait_image, portrait_image.flip(2)], dim=2)  # two real faces side by side, 1024 px wide

    def face_x(**choice):
        (face, _) = nodes["EADNet_FaceCrop"]().crop(model, group, audio, "error", 25.0, **choice)
        matrix = face.plan.matrices[0]
        centre = np.linalg.solve(matrix[:, :2], np.full(2, face.plan.crop_size / 2) - matrix[:, 2])
        return centre[0]  # the crop centre in the photo

    assert face_x() < 512 and face_x(face="0") < 512 < face_x(face="1")
    mask = torch.zeros(1, 256, 512)  # a MASK at half the image's size, painted over the right face
    mask[0, 40:100, 360:440] = 1.0
    assert face_x(face="0", face_mask=mask) > 512  # the mask wins over the widget
    with pytest.raises(ValueError, match=r"only 2 face\(s\) were found"):
        face_x(face="2")
    with pytest.raises(ValueError, match="face: face must be"):
        face_x(face="the left one")


# --- the expression editor: no EAD-Net model, a batch in, a batch out ----------------------------------------------
def _edit(pack, image, **changes):
    values = {
        "emotion": "none",
        "intensity": 2,
        "brow_raise": 0.0,
        "frown": 0.0,
        "eye_open": 0.0,
        "smile": 0.0,
        "lip_corner_depress": 0.0,
        "nose_wrinkle": 0.0,
        "jaw": 0.0,
        "pitch": 0.0,
        "yaw": 0.0,
        "roll": 0.0,
        "gaze_x": 0.0,
        "gaze_y": 0.0,
        "blink": 0.0,
        "keep_expression": False,
        "no_face": "error",
    }
    (edited,) = pack.NODE_CLASS_MAPPINGS["EADNet_ExpressionEditor"]().edit(image, **{**values, **changes})
    return edited


def test_expression_editor_edits_every_image_of_a_batch(pack, comfy, portrait_image):
    batch = torch.cat([portrait_image, portrait_image.flip(2)])  # the portrait and its mirror image
    edited = _edit(pack, batch, emotion="surprised", intensity=3, yaw=5.0)
    assert edited.shape == batch.shape and edited.dtype == torch.float32
    for index in range(2):
        assert (edited[index] - batch[index]).abs().max() > 0.1
    assert comfy.progress_bars[-1].current == comfy.progress_bars[-1].total == 2
    unchanged = _edit(pack, portrait_image)  # nothing asked: the image as it was (8-bit rounding aside)
    assert (unchanged - portrait_image).abs().max() <= 1 / 255 + 1e-6


def test_expression_editor_errors_and_no_face_policy(pack, portrait_image):
    blank = torch.full_like(portrait_image, 0.4)
    with pytest.raises(ValueError, match="no face found"):
        _edit(pack, blank, smile=0.5)
    held = _edit(pack, torch.cat([portrait_image, blank]), smile=0.5, no_face="hold")
    assert held.shape[0] == 2 and (held[1] - blank[0]).abs().max() <= 1 / 255 + 1e-6
    with pytest.raises(ValueError, match=r"smile must be in \[0, 1\]"):
        _edit(pack, portrait_image, smile=2.0)
