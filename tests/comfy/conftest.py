"""A small stand-in for the pieces of ComfyUI the node pack uses, the pack loaded the way ComfyUI loads it, and a
tiny real model folder in the stub's ``models/eadnet``.

Stubbed after ComfyUI's source (Comfy-Org/ComfyUI: ``folder_paths.py``, ``comfy/utils.py`` ``ProgressBar``,
``comfy/model_management.py``): only names the nodes call, with the same signatures.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image

pytest.importorskip("mediapipe")

ROOT = Path(__file__).resolve().parents[2]
PACK_MODULE = "EAD-Net pack_odd name"  # ComfyUI uses the folder name, which need not be an identifier
TINY_MODEL = "tiny-eadnet"


class InterruptProcessingException(Exception):
    pass


class ComfyStub:
    """State of the fake ComfyUI: progress bars made, interruption checks counted, registered model folders."""

    Interrupt = InterruptProcessingException
    tiny_model = TINY_MODEL

    def __init__(self, base: Path):
        self.base = base
        self.progress_bars: list = []
        self.interrupt_checks = 0
        self.interrupt_after: int | None = None  # raise on this call of throw_exception_if_processing_interrupted
        self.modules = self._build()

    def _build(self) -> dict[str, types.ModuleType]:
        stub = self
        folder_paths = types.ModuleType("folder_paths")
        folder_paths.models_dir = str(self.base / "models")
        folder_paths.folder_names_and_paths = {}

        def add_model_folder_path(folder_name, full_folder_path, is_default=False):
            paths, _ = folder_paths.folder_names_and_paths.setdefault(folder_name, ([], set()))
            if full_folder_path not in paths:
                paths.insert(0, full_folder_path) if is_default else paths.append(full_folder_path)

        def get_folder_paths(folder_name):
            return list(folder_paths.folder_names_and_paths[folder_name][0])

        folder_paths.add_model_folder_path = add_model_folder_path
        folder_paths.get_folder_paths = get_folder_paths

        class ProgressBar:
            def __init__(self, total, node_id=None):
                self.total = total
                self.current = 0
                stub.progress_bars.append(self)

            def update(self, value):
                self.current = min(self.current + value, self.total)

        comfy = types.ModuleType("comfy")
        utils = types.ModuleType("comfy.utils")
        utils.ProgressBar = ProgressBar
        model_management = types.ModuleType("comfy.model_management")
        model_management.InterruptProcessingException = InterruptProcessingException
        model_management.get_torch_device = lambda: torch.device("cpu")
        model_management.unet_offload_device = lambda: torch.device("cpu")
        model_management.soft_empty_cache = lambda force=False: None

        def throw_exception_if_processing_interrupted():
            stub.interrupt_checks += 1
            if stub.interrupt_after is not None and stub.interrupt_checks >= stub.interrupt_after:
                raise InterruptProcessingException()

        model_management.throw_exception_if_processing_interrupted = throw_exception_if_processing_interrupted
        comfy.utils = utils
        comfy.model_management = model_management
        return {
            "folder_paths": folder_paths,
            "comfy": comfy,
            "comfy.utils": utils,
            "comfy.model_management": model_management,
        }


@pytest.fixture(scope="session")
def comfy_base(tmp_path_factory):
    """A fake ComfyUI folder whose ``models/eadnet`` holds the tiny model folder."""
    from eadnet.testing import save_tiny_model_folder

    base = tmp_path_factory.mktemp("ComfyUI")
    save_tiny_model_folder(base / "models" / "eadnet" / TINY_MODEL)
    return base


@pytest.fixture
def comfy(comfy_base, monkeypatch):
    """Installs the stub into ``sys.modules`` for one test and registers ``models/eadnet`` as the pack does."""
    stub = ComfyStub(comfy_base)
    for name, module in stub.modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    pack = load_pack()
    pack.runtime.register_model_folder()
    return stub


_PACK = {}


def load_pack():
    """The root ``__init__.py`` loaded by file path under an odd name, as ComfyUI's ``load_custom_node`` does
    (once per session: ComfyUI imports a pack once)."""
    if "module" not in _PACK:
        spec = importlib.util.spec_from_file_location(
            PACK_MODULE, ROOT / "__init__.py", submodule_search_locations=[str(ROOT)]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        module.runtime = sys.modules[f"{PACK_MODULE}.comfy_nodes.runtime"]
        _PACK["module"] = module
    return _PACK["module"]


@pytest.fixture
def pack(comfy):
    return load_pack()


@pytest.fixture(scope="session")
def portrait_image():
    from eadnet.assets import example_portrait_path

    array = np.array(Image.open(example_portrait_path()).convert("RGB"))
    return torch.from_numpy(array).float()[None] / 255.0


@pytest.fixture(scope="session")
def speech_audio():
    """The first 0.32 s (8 frames at 25 fps: one window) of the shipped speech as core ``AUDIO``."""
    from eadnet.assets import example_speech_path

    speech, rate = sf.read(example_speech_path(), dtype="float32", always_2d=True)
    waveform = torch.from_numpy(speech[: int(0.32 * rate)].T.copy())[None]  # (1, C, T)
    return {"waveform": waveform, "sample_rate": rate}
