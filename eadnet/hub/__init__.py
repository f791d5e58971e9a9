"""Weights: presets, resolution and download, and converters (LatentSync checkpoints, CTranslate2 Whisper).

``load_components("offline-demo")`` builds a complete (untrained) model with no network at all;
``load_components("latentsync-1.5")`` a LatentSync-initialised EAD-Net once its weights are downloaded
(``eadnet download latentsync-1.5``) or placed in the models folder.

Presets and resolution import quickly; the converters and loaders (which import torch, diffusers and
transformers) are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from eadnet.hub.presets import (
    COMPONENTS,
    OFFLINE_SOURCES,
    PINNED_REVISIONS_TODO,
    ComponentSource,
    OfflineSource,
    Preset,
    get_preset,
    list_presets,
)
from eadnet.hub.resolve import (
    ComponentStatus,
    MissingComponent,
    MissingWeightsError,
    WeightsIntegrityError,
    component_folder,
    default_cache_dir,
    default_models_dir,
    download_component,
    is_offline,
    offline_source_path,
    resolve_component,
    resolve_components,
)

_LAZY = {
    "ConversionError": "eadnet.hub.converters",
    "ConversionReport": "eadnet.hub.converters",
    "convert_latentsync_unet": "eadnet.hub.converters",
    "unet_config_from_latentsync": "eadnet.hub.converters",
    "CT2ConversionReport": "eadnet.hub.ctranslate2",
    "convert_ct2_whisper": "eadnet.hub.ctranslate2",
    "read_ct2_model": "eadnet.hub.ctranslate2",
    "load_components": "eadnet.hub.loading",
}

if TYPE_CHECKING:  # pragma: no cover
    from eadnet.hub.converters import (
        ConversionError,
        ConversionReport,
        convert_latentsync_unet,
        unet_config_from_latentsync,
    )
    from eadnet.hub.ctranslate2 import CT2ConversionReport, convert_ct2_whisper, read_ct2_model
    from eadnet.hub.loading import load_components

__all__ = [
    "COMPONENTS",
    "OFFLINE_SOURCES",
    "PINNED_REVISIONS_TODO",
    "CT2ConversionReport",
    "ComponentSource",
    "ComponentStatus",
    "ConversionError",
    "ConversionReport",
    "MissingComponent",
    "MissingWeightsError",
    "OfflineSource",
    "Preset",
    "WeightsIntegrityError",
    "component_folder",
    "convert_ct2_whisper",
    "convert_latentsync_unet",
    "default_cache_dir",
    "default_models_dir",
    "download_component",
    "get_preset",
    "is_offline",
    "list_presets",
    "load_components",
    "offline_source_path",
    "read_ct2_model",
    "resolve_component",
    "resolve_components",
    "unet_config_from_latentsync",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'eadnet.hub' has no attribute {name!r}")
