"""Build ready-to-use components from a preset: U-Net, VAE, audio encoder, text encoder and scheduler.

This module deliberately imports no pipeline: the pipeline calls :func:`load_components`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
from safetensors.torch import load_file

from eadnet.hub.ctranslate2 import _quiet_progress_bars
from eadnet.hub.presets import COMPONENTS, Preset, get_preset
from eadnet.hub.resolve import resolve_components
from eadnet.io.checkpoint import load_latentsync_checkpoint

logger = logging.getLogger(__name__)

_CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".safetensors")


@contextlib.contextmanager
def _seeded(seed: int):
    """Context in which module initialisation draws from ``seed``, leaving the global RNG state untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _read_json(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _diffusers_class(name: str, kind: str):
    import diffusers  # lazy: ~2 s on top of torch (more per model class); only the VAE and scheduler need it

    cls = getattr(diffusers, name, None)
    if cls is None:
        raise ValueError(f"unknown diffusers {kind} class {name!r}")
    return cls


def _load_unet_checkpoint(path: Path, config: dict):
    from eadnet.hub.converters import convert_latentsync_unet  # lazy: imports the U-Net model (diffusers, ~2.7 s)

    state_dict = load_file(path) if path.suffix == ".safetensors" else load_latentsync_checkpoint(path)
    model, report = convert_latentsync_unet(state_dict, config)
    logger.info("Loaded U-Net from checkpoint %s:\n%s", path, report.summary())
    return model


def load_unet(preset: str | Preset, path: str | os.PathLike | None):
    """The preset's ``EADUNet3DModel`` from ``path`` (a diffusers folder, a LatentSync checkpoint file or a folder
    holding one), or freshly initialised with the preset's seed when ``path`` is `None` (``random-init``)."""
    from eadnet.models.unet_3d import EADUNet3DModel  # lazy: diffusers (~2.7 s); each loader imports only its model

    preset = get_preset(preset)
    source = preset.component("unet")
    config = preset.full_unet_config()
    if path is None:
        if source.format != "random-init":
            raise ValueError(f"preset {preset.name!r}: the U-Net needs weights (format {source.format!r})")
        with _seeded(source.seed):
            model = EADUNet3DModel(**{**config, **dict(source.config or {})})
        logger.info("Initialised an untrained U-Net (%s config, seed %d)", preset.unet_config_name, source.seed)
        return model.eval()
    path = Path(path)
    if path.is_file():
        if path.suffix not in _CHECKPOINT_SUFFIXES:
            raise ValueError(f"unsupported U-Net checkpoint {path} (expected one of {_CHECKPOINT_SUFFIXES})")
        return _load_unet_checkpoint(path, config)
    if (path / "config.json").is_file():
        return EADUNet3DModel.from_pretrained(path).eval()
    for filename in source.files:
        if (path / filename).is_file():
            return _load_unet_checkpoint(path / filename, config)
    raise FileNotFoundError(f"{path} holds neither a diffusers U-Net (config.json) nor {list(source.files)}")


def load_vae(preset: str | Preset, path: str | os.PathLike | None):
    """The preset's VAE (``AutoencoderKL`` or ``AutoencoderTiny``) from a diffusers folder, or freshly initialised
    from the preset's config and seed when ``path`` is `None`."""
    preset = get_preset(preset)
    source = preset.component("vae")
    if path is None:
        if source.format != "random-init":
            raise ValueError(f"preset {preset.name!r}: the VAE needs weights (format {source.format!r})")
        config = dict(source.config or {})
        cls = _diffusers_class(config.pop("_class_name", "AutoencoderTiny"), "VAE")
        with _seeded(source.seed):
            vae = cls(**config)
        logger.info("Initialised an untrained %s (seed %d)", cls.__name__, source.seed)
        return vae.eval()
    path = Path(path)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path} is not a diffusers VAE folder (no config.json)")
    class_name = _read_json(path / "config.json").get("_class_name", "AutoencoderKL")
    if not class_name.startswith("Autoencoder"):
        raise ValueError(f"{path}: expected a diffusers autoencoder, config names {class_name!r}")
    return _diffusers_class(class_name, "VAE").from_pretrained(path).eval()


def load_audio_encoder(preset: str | Preset, path: str | os.PathLike):
    """The frozen ``WhisperAudioEncoder`` from a transformers Whisper folder."""
    from eadnet.models.audio_encoder import WhisperAudioEncoder  # lazy: transformers (~3 s)

    if path is None:
        raise ValueError("the audio encoder needs weights")
    with _quiet_progress_bars():
        return WhisperAudioEncoder.from_pretrained(Path(path))


def load_text_encoder(preset: str | Preset, path: str | os.PathLike):
    """The frozen ``EmotionTextEncoder`` from a transformers text-encoder folder (with its tokenizer)."""
    from eadnet.models.text_encoder import EmotionTextEncoder  # lazy: transformers (~3.5 s)

    if path is None:
        raise ValueError("the text encoder needs weights")
    with _quiet_progress_bars():
        return EmotionTextEncoder.from_pretrained(Path(path))


def load_scheduler(preset: str | Preset, path: str | os.PathLike | None = None):
    """The preset's diffusers scheduler, from its inline config (or a folder with ``scheduler_config.json``)."""
    preset = get_preset(preset)
    if path is not None:
        path = Path(path)
        config_file = path / "scheduler_config.json" if path.is_dir() else path
        config = _read_json(config_file)
    else:
        config = dict(preset.component("scheduler").config or {})
    class_name = config.get("_class_name")
    if not class_name:
        raise ValueError(f"scheduler config of preset {preset.name!r} has no _class_name")
    return _diffusers_class(class_name, "scheduler").from_config(config)


_LOADERS = {
    "unet": load_unet,
    "vae": load_vae,
    "audio_encoder": load_audio_encoder,
    "text_encoder": load_text_encoder,
    "scheduler": load_scheduler,
}


#: Components kept in fp32 whatever the pipeline's dtype (see :func:`load_components`).
FULL_PRECISION_COMPONENTS = ("audio_encoder",)


def load_components(
    preset: str | Preset,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    local_paths: Mapping[str, str | os.PathLike] | None = None,
    models_dir: str | os.PathLike | None = None,
    offline: bool | None = None,
    components: Iterable[str] | None = None,
    hf_cache_dir: str | os.PathLike | None = None,
) -> dict[str, object]:
    """Resolve and build a preset's components.

    Every component is resolved first (see :func:`~eadnet.hub.resolve.resolve_component`), so missing weights are
    reported together in one :class:`~eadnet.hub.resolve.MissingWeightsError` before anything heavy is loaded.

    Args:
        preset (`str` or `Preset`): Preset name (``eadnet.hub.list_presets()``) or object.
        device (`str` or `torch.device`, *optional*, defaults to `"cpu"`): Device of the models.
        dtype (`torch.dtype`, *optional*, defaults to `torch.float32`): Dtype of the models.
        local_paths (`dict[str, path]`, *optional*): Explicit file/folder per component, used as is.
        models_dir (`str` or `os.PathLike`, *optional*): Models folder (``<dir>/<preset>/<component>/``).
        offline (`bool`, *optional*): Never use the network; default from ``HF_HUB_OFFLINE``.
        components (`list[str]`, *optional*): Build only these; default all five.
        hf_cache_dir (`str` or `os.PathLike`, *optional*): Hugging Face cache folder.

    Returns:
        `dict[str, object]`: ``{"unet": EADUNet3DModel, "vae": AutoencoderKL | AutoencoderTiny, "audio_encoder":
        WhisperAudioEncoder, "text_encoder": EmotionTextEncoder, "scheduler": DDIMScheduler}`` (models in eval mode).
    """
    preset = get_preset(preset)
    names = list(components) if components is not None else list(COMPONENTS)
    unknown = sorted(set(names) - set(COMPONENTS))
    if unknown:
        raise ValueError(f"unknown components {unknown}; components: {', '.join(COMPONENTS)}")
    paths = resolve_components(
        preset, names, local_paths=local_paths, models_dir=models_dir, offline=offline, hf_cache_dir=hf_cache_dir
    )
    loaded: dict[str, object] = {}
    for name in names:
        component = _LOADERS[name](preset, paths[name])
        if isinstance(component, torch.nn.Module):
            parameter = next(component.parameters(), None)
            # Whisper stays in fp32 in a half-precision pipeline: its features are computed once per clip, and
            # its activations (the "massive" ones in pauses) overflow fp16
            wanted = torch.float32 if name in FULL_PRECISION_COMPONENTS else dtype
            if parameter is not None and parameter.dtype != wanted:
                component = component.to(device=device, dtype=wanted)
            else:
                component = component.to(device=device)
        loaded[name] = component
    if not preset.trained:
        logger.warning("Preset %r is untrained: its output is noise, not talking heads.", preset.name)
    return loaded
