"""The project skeleton: ComfyUI entry point, install step, metadata, README quick start and CLI."""

import importlib.util
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_root_init_loads_by_path_without_comfyui(monkeypatch):
    """ComfyUI imports the pack folder by file path under a name derived from the folder."""
    for name in [m for m in sys.modules if m == "comfy" or m.startswith("comfy.")]:
        monkeypatch.delitem(sys.modules, name)
    spec = importlib.util.spec_from_file_location(
        "odd-pack.name_EADNet", ROOT / "__init__.py", submodule_search_locations=[str(ROOT)]
    )
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    assert isinstance(module.NODE_CLASS_MAPPINGS, dict)
    assert isinstance(module.NODE_DISPLAY_NAME_MAPPINGS, dict)
    assert all(key.startswith("EADNet_") for key in module.NODE_CLASS_MAPPINGS)
    assert "comfy" not in sys.modules


def test_library_does_not_import_front_ends():
    code = (
        "import sys, eadnet, eadnet.models.unet_3d, eadnet.models.audio_encoder, eadnet.models.text_encoder, "
        "eadnet.models.emotion_captioner, eadnet.cli\n"
        "bad = [m for m in ('comfy', 'folder_paths', 'gradio', 'spaces') if m in sys.modules]\n"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_install_py_prepares_models_folder_idempotently(tmp_path, capsys):
    pack = tmp_path / "ComfyUI" / "custom_nodes" / "eadnet"
    (pack / "eadnet" / "assets").mkdir(parents=True)
    shutil.copy(ROOT / "install.py", pack / "install.py")
    for name in ("portrait.png", "speech.flac"):
        shutil.copy(ROOT / "eadnet" / "assets" / name, pack / "eadnet" / "assets" / name)
    input_dir = tmp_path / "ComfyUI" / "input"
    input_dir.mkdir()
    (input_dir / "eadnet_speech.flac").write_bytes(b"the user's own file")  # never replaced
    outputs = []
    for _ in range(2):
        with pytest.raises(SystemExit) as exit_info:
            runpy.run_path(str(pack / "install.py"), run_name="__main__")
        assert exit_info.value.code == 0
        outputs.append(capsys.readouterr().out)
    assert (tmp_path / "ComfyUI" / "models" / "eadnet").is_dir()
    assert "models/eadnet" in outputs[0] and "models/eadnet" in outputs[1]
    # The example workflows' inputs: copied once when missing, an existing file left alone.
    assert (input_dir / "eadnet_portrait.png").read_bytes() == (
        ROOT / "eadnet" / "assets" / "portrait.png"
    ).read_bytes()
    assert (input_dir / "eadnet_speech.flac").read_bytes() == b"the user's own file"
    assert "eadnet_portrait.png" in outputs[0] and "eadnet_portrait.png" not in outputs[1]
    assert sorted(p.name for p in input_dir.iterdir()) == ["eadnet_portrait.png", "eadnet_speech.flac"]


def test_metadata_torch_is_a_range_and_extras_exist():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    torch_requirements = [req for req in project["dependencies"] if re.match(r"torch\b", req)]
    assert torch_requirements and "==" not in torch_requirements[0] and "<" in torch_requirements[0]
    assert {"comfy", "gradio", "train", "dev", "all"} <= set(project["optional-dependencies"])
    requirements = [
        line.strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    names = {re.split(r"[<>=\[ ]", req)[0].lower() for req in requirements}
    assert not names & {"torch", "torchvision", "torchaudio", "gradio"}
    declared = {
        re.split(r"[<>=\[ ]", req)[0].lower()
        for req in project["dependencies"] + project["optional-dependencies"]["offline"]
    }
    assert names <= declared, names - declared


def test_readme_quick_start_and_ci_agree():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [
        line
        for line in re.findall(r"```bash\n(.*?)```", section, re.S)[0].splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci, "CI must run the README's test command"
    assert "ruff check" in ci


def test_cli_version_and_flop_benchmark(capsys):
    from eadnet.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert main(["bench", "model", "--configs", "tiny", "--no-time", "--skip-attention", "--resolution", "64"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"tiny: EAD modules add \+\d+\.\d+% FLOPs", out)
    assert main(["bench", "model", "--resolution", "65"]) == 2


def test_package_data_ships_every_example_asset():
    """`pip install` (not only a git checkout) must carry every example file, the videos included."""
    import fnmatch

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assets = [
        path.name
        for path in (ROOT / "eadnet" / "assets").iterdir()
        if path.is_file() and path.suffix not in (".py", ".pyc")
    ]
    assert {"portrait.png", "speech.flac", "source_talk.mp4", "emotion_reference.mp4"} <= set(assets)
    unshipped = [name for name in assets if not any(fnmatch.fnmatch(name, p) for p in patterns["eadnet.assets"])]
    assert not unshipped, f"add these to [tool.setuptools.package-data] eadnet.assets: {unshipped}"
    install = runpy.run_path(str(ROOT / "install.py"))
    assert set(install["EXAMPLE_INPUTS"]) <= set(assets)
