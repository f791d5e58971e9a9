"""Model folders: a whole EAD-Net model saved on disk, usable wherever a preset name is (``--model DIR``).

Layout: one ``save_pretrained`` folder per component (``unet/``, ``vae/``, ``audio_encoder/``,
``text_encoder/``, ``scheduler/``) and ``eadnet_model.json`` with what a preset says beyond the weights
(crop resolution, mask mode, whether it is trained, and the ``"sampling"`` block: the model's
:class:`~eadnet.settings.SamplingDefaults`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from eadnet.hub.presets import COMPONENTS, ComponentSource, Preset, get_preset
from eadnet.settings import SamplingDefaults

MODEL_FILE = "eadnet_model.json"
_FORMATS = {
    "unet": "diffusers",
    "vae": "diffusers",
    "audio_encoder": "transformers",
    "text_encoder": "transformers",
    "scheduler": "scheduler-config",
}


def save_model_folder(
    directory: str | os.PathLike,
    components: dict,
    *,
    resolution: int,
    mask_mode: str,
    trained: bool,
    sampling: SamplingDefaults | None = None,
    description: str = "",
) -> Path:
    """Writes ``components`` (as returned by ``load_components``) and the model settings to ``directory``;
    ``sampling`` (default: none of its own) is stored complete, over :data:`~eadnet.settings.FALLBACK_SAMPLING`."""
    directory = Path(directory)
    missing = [name for name in COMPONENTS if name not in components]
    if missing:
        raise ValueError(f"components is missing {missing}")
    directory.mkdir(parents=True, exist_ok=True)
    for name in COMPONENTS:
        component = components[name]
        if name == "scheduler":
            component.save_config(directory / name)
        else:
            component.save_pretrained(directory / name)
    settings = {
        "description": description,
        "resolution": resolution,
        "mask_mode": mask_mode,
        "trained": trained,
        "sampling": (sampling or SamplingDefaults()).complete().to_json(),
    }
    (directory / MODEL_FILE).write_text(json.dumps(settings, indent=2))
    return directory


def is_model_folder(path: str | os.PathLike) -> bool:
    return (Path(path) / MODEL_FILE).is_file()


def load_model_folder(directory: str | os.PathLike) -> tuple[Preset, dict[str, Path]]:
    """The preset a model folder describes and the local path of each component (for ``load_components``)."""
    directory = Path(directory)
    if not is_model_folder(directory):
        raise FileNotFoundError(f"{directory} is not an EAD-Net model folder (no {MODEL_FILE})")
    settings = json.loads((directory / MODEL_FILE).read_text())
    paths = {name: directory / name for name in COMPONENTS}
    missing = [str(path) for path in paths.values() if not path.is_dir()]
    if missing:
        raise FileNotFoundError(f"model folder {directory} lacks component folders: {', '.join(missing)}")
    scheduler_config = json.loads((paths["scheduler"] / "scheduler_config.json").read_text())
    sources = {
        name: ComponentSource(
            format=_FORMATS[name],
            config=scheduler_config if name == "scheduler" else None,
            description=f"{name} from {paths[name]}",
        )
        for name in COMPONENTS
    }
    preset = Preset(
        name=directory.name,
        description=settings.get("description") or f"model folder {directory}",
        resolution=int(settings["resolution"]),
        mask_mode=settings["mask_mode"],
        components=sources,
        trained=bool(settings.get("trained", True)),
        sampling=_read_sampling(settings),
    )
    return preset, paths


# eadnet_model.json before the "sampling" block (EAD-Net 0.1 development versions) kept these flat keys.
_FLAT_SAMPLING_KEYS = {
    "default_steps": "num_inference_steps",
    "default_audio_guidance": "audio_guidance_scale",
    "default_text_guidance": "text_guidance_scale",
    "default_strength": "strength",
    "default_audio_offset": "audio_offset",
    "null_audio_outliers": "null_audio_outliers",
}


def _read_sampling(settings: dict) -> SamplingDefaults:
    if "sampling" in settings:
        return SamplingDefaults.from_json(settings["sampling"])
    return SamplingDefaults.from_json(
        {new: settings[old] for old, new in _FLAT_SAMPLING_KEYS.items() if old in settings}
    )


def resolve_model(model: str | os.PathLike) -> tuple[Preset, dict[str, Path] | None]:
    """A preset name or a model folder → ``(preset, local_paths)``; ``local_paths`` is ``None`` for a name."""
    if is_model_folder(model):
        return load_model_folder(model)
    if Path(model).is_dir():
        raise FileNotFoundError(f"{model} is a folder but not an EAD-Net model folder (no {MODEL_FILE})")
    return get_preset(str(model)), None
