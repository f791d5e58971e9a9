"""The one place that touches ComfyUI (``comfy.*``, ``folder_paths``): every import is lazy and has a fallback, so
the node pack imports, and its nodes run, without ComfyUI (tests, scripts).

Facts read from ComfyUI's source (Comfy-Org/ComfyUI, ``folder_paths.py``, ``comfy/utils.py``,
``comfy/model_management.py``): ``folder_paths.add_model_folder_path(name, path)`` registers a models folder
(``folder_paths.models_dir`` is ``ComfyUI/models``); ``comfy.utils.ProgressBar(total).update(n)`` drives the UI
progress; ``comfy.model_management.throw_exception_if_processing_interrupted()`` raises when the user cancels;
``comfy.model_management.get_torch_device()`` is ComfyUI's compute device.
"""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path

import torch

from eadnet.hub.local import is_model_folder

logger = logging.getLogger(__name__)

#: Name of the models folder registered with ComfyUI (``ComfyUI/models/eadnet``).
MODEL_FOLDER = "eadnet"


def _optional(name: str):
    """``import name`` or ``None`` when ComfyUI (or that part of it) is not there."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def register_model_folder() -> str | None:
    """Registers ``models/eadnet`` with ComfyUI's ``folder_paths`` (no download, no folder creation) and returns it;
    ``None`` outside ComfyUI."""
    folder_paths = _optional("folder_paths")
    if folder_paths is None or not hasattr(folder_paths, "models_dir"):
        return None
    path = os.path.join(folder_paths.models_dir, MODEL_FOLDER)
    if hasattr(folder_paths, "add_model_folder_path"):
        folder_paths.add_model_folder_path(MODEL_FOLDER, path)
    else:  # very old ComfyUI: the mapping itself
        folder_paths.folder_names_and_paths.setdefault(MODEL_FOLDER, ([path], set()))
    return path


def model_folders() -> list[Path]:
    """The folders registered as ``eadnet`` (``models/eadnet`` and any ``extra_model_paths.yaml`` entries)."""
    folder_paths = _optional("folder_paths")
    if folder_paths is None:
        return []
    try:
        return [Path(p) for p in folder_paths.get_folder_paths(MODEL_FOLDER)]
    except (KeyError, AttributeError):
        return []


def models_dir() -> str | None:
    """Where the library looks for (and downloads) preset weights: ComfyUI's ``models/eadnet``, else its default."""
    folders = model_folders()
    return str(folders[0]) if folders else None


def local_model_names() -> list[str]:
    """Model folders (saved with ``eadnet.hub.local.save_model_folder``) directly under the ``eadnet`` folders."""
    names = []
    for folder in model_folders():
        if folder.is_dir():
            names += sorted(child.name for child in folder.iterdir() if child.is_dir() and is_model_folder(child))
    return names


def local_model_path(name: str) -> Path | None:
    for folder in model_folders():
        candidate = folder / name
        if candidate.is_dir():
            return candidate
    return None


def torch_device(choice: str) -> torch.device:
    """``auto`` → ComfyUI's device (CUDA when there is one outside ComfyUI); ``cpu``/``cuda`` as asked."""
    if choice == "cpu":
        return torch.device("cpu")
    if choice == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("device 'cuda' was chosen but no CUDA GPU is available: choose 'auto' or 'cpu'")
        return torch.device("cuda")
    model_management = _optional("comfy.model_management")
    if model_management is not None and hasattr(model_management, "get_torch_device"):
        return torch.device(model_management.get_torch_device())
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def comfy_unet_dtype(device: torch.device) -> torch.dtype:
    """ComfyUI's dtype for a diffusion model on ``device`` (``comfy.model_management.unet_dtype``, which honours its
    ``--fp16-unet`` / ``--bf16-unet`` / ``--fp32-unet`` flags and what the GPU supports); outside ComfyUI fp16 on CUDA,
    fp32 elsewhere."""
    model_management = _optional("comfy.model_management")
    if model_management is not None and hasattr(model_management, "unet_dtype"):
        return model_management.unet_dtype(
            device=device, supported_dtypes=[torch.float16, torch.bfloat16, torch.float32]
        )
    return torch.float16 if device.type == "cuda" else torch.float32


def offload_device() -> torch.device:
    model_management = _optional("comfy.model_management")
    if model_management is not None and hasattr(model_management, "unet_offload_device"):
        return torch.device(model_management.unet_offload_device())
    return torch.device("cpu")


def soft_empty_cache() -> None:
    model_management = _optional("comfy.model_management")
    if model_management is not None and hasattr(model_management, "soft_empty_cache"):
        model_management.soft_empty_cache()
    elif torch.cuda.is_available():
        torch.cuda.empty_cache()


def throw_if_interrupted() -> None:
    """Raises ComfyUI's interruption exception when the user pressed cancel (no-op outside ComfyUI)."""
    model_management = _optional("comfy.model_management")
    if model_management is not None:
        model_management.throw_exception_if_processing_interrupted()


class _NullProgress:
    def __init__(self, total: int):
        self.total = total

    def update(self, value: int) -> None:
        pass


def progress_bar(total: int):
    """ComfyUI's ``ProgressBar`` (shown on the running node), or a silent stand-in outside ComfyUI."""
    utils = _optional("comfy.utils")
    if utils is not None and hasattr(utils, "ProgressBar"):
        return utils.ProgressBar(total)
    return _NullProgress(total)


class StepMonitor:
    """A ``callback_on_step_end`` that checks for cancellation and advances one progress bar across all windows.

    The bar is created at the first step, when the pipeline knows ``total_steps`` (windows × steps).
    """

    def __init__(self):
        self.bar = None
        self.steps = 0

    def __call__(self, pipe, step: int, timestep, callback_kwargs: dict) -> dict:
        throw_if_interrupted()
        if self.bar is None:
            self.bar = progress_bar(int(pipe.total_steps))
        self.steps += 1
        self.bar.update(1)
        return callback_kwargs
