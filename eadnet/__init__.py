"""EAD-Net: emotion-aware talking-head generation as diffusers/transformers components.

Heavy submodules are imported lazily so that ``import eadnet`` stays cheap (ComfyUI imports the
pack at start-up).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "EADUNet3DModel",
    "StripAttention3D",
    "TemporalFrameGraph",
    "WhisperAudioEncoder",
    "EmotionTextEncoder",
    "EmotionCaptioner",
]
#: Model classes re-exported from `eadnet.models` (imported on first use: they pull in diffusers).
_MODELS = frozenset(__all__) - {"__version__"}

if TYPE_CHECKING:  # pragma: no cover
    from eadnet.models import (
        EADUNet3DModel,
        EmotionCaptioner,
        EmotionTextEncoder,
        StripAttention3D,
        TemporalFrameGraph,
        WhisperAudioEncoder,
    )


def __getattr__(name: str) -> Any:
    if name in _MODELS:
        return getattr(importlib.import_module("eadnet.models"), name)
    raise AttributeError(f"module 'eadnet' has no attribute {name!r}")
