"""Every input file a shipped workflow loads is shipped and installed; the example clips decode as described."""

import json
import runpy
from pathlib import Path

import pytest

from eadnet.assets import example_emotion_reference_path, example_source_video_path
from eadnet.io.video import probe_video

ROOT = Path(__file__).resolve().parents[1]

#: Core loader nodes that read a file from ComfyUI's input folder → the input holding the file name (API format).
LOADER_INPUTS = {"LoadImage": "image", "LoadAudio": "audio", "LoadVideo": "file"}


def _ui_loaded_files(workflow: dict) -> set[str]:
    # the file name is the loader's first widget (an upload button's value, if any, follows it)
    return {
        node["widgets_values"][0]
        for node in workflow["nodes"]
        if node.get("type") in LOADER_INPUTS and node.get("widgets_values")
    }


def _api_loaded_files(prompt: dict) -> set[str]:
    return {
        node["inputs"][LOADER_INPUTS[node["class_type"]]]
        for node in prompt.values()
        if node.get("class_type") in LOADER_INPUTS
    }


def workflow_input_files() -> dict[str, set[str]]:
    """Every file name each shipped workflow (UI and API format) loads, by workflow path."""
    loaded = {}
    for path in sorted((ROOT / "workflows").glob("*.json")):
        loaded[str(path.relative_to(ROOT))] = _ui_loaded_files(json.loads(path.read_text()))
    for path in sorted((ROOT / "workflows" / "api").glob("*.json")):
        loaded[str(path.relative_to(ROOT))] = _api_loaded_files(json.loads(path.read_text()))
    return loaded


def test_every_workflow_input_is_installed(tmp_path):
    install = runpy.run_path(str(ROOT / "install.py"))
    input_dir = tmp_path / "input"
    copied = install["copy_example_inputs"](str(ROOT), str(input_dir))
    installed = {Path(path).name for path in copied}
    assert installed == set(install["EXAMPLE_INPUTS"].values())
    loaded = workflow_input_files()
    assert any(loaded.values()), "no loader node found: the workflow parsing is broken"
    missing = {workflow: sorted(names - installed) for workflow, names in loaded.items() if names - installed}
    assert not missing, f"workflows load files that install.py does not provide: {missing}"
    # the copies are the shipped files, byte for byte
    for source_name, target_name in install["EXAMPLE_INPUTS"].items():
        assert (input_dir / target_name).read_bytes() == (ROOT / "eadnet" / "assets" / source_name).read_bytes()


@pytest.mark.parametrize(
    ("path_of", "seconds", "has_audio"),
    [(example_source_video_path, 3.0, True), (example_emotion_reference_path, 2.0, True)],
)
def test_example_clips_decode(path_of, seconds, has_audio):
    path = path_of()
    info = probe_video(path)
    assert info.codec == "h264"
    assert info.fps == pytest.approx(25.0)
    assert info.num_frames == round(seconds * 25)
    assert info.duration == pytest.approx(seconds, abs=0.05)
    assert info.has_audio is has_audio
    assert (info.width, info.height) == (320, 320)
    assert path.stat().st_size < 200_000, "keep the shipped clips small"
