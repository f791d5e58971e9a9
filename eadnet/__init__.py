"""EAD-Net: emotion-aware talking-head generation as diffusers/transformers components.

Heavy submodules are imported lazily so that ``import eadnet`` stays cheap (ComfyUI imports the
pack at start-up).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "EADUNet3DModel": "eadnet.models.unet_3d",
    "StripAttention3D": "eadnet.models.strip_attention",
    "TemporalFrameGraph": "eadnet.models.frame_graph",
    "WhisperAudioEncoder": "eadnet.models.audio_encoder",
    "EmotionTextEncoder": "eadnet.models.text_encoder",
    "EmotionCaptioner": "eadnet.models.emotion_captioner",
}

__all__ = [
    "__version__",
    "EADUNet3DModel",
    "StripAttention3D",
    "TemporalFrameGraph",
    "WhisperAudioEncoder",
    "EmotionTextEncoder",
    "EmotionCaptioner",
]

if TYPE_CHECKING:  # pragma: no cover
    from eadnet.models.audio_encoder import WhisperAudioEncoder
    from eadnet.models.emotion_captioner import EmotionCaptioner
    from eadnet.models.frame_graph import TemporalFrameGraph
    from eadnet.models.strip_attention import StripAttention3D
    from eadnet.models.text_encoder import EmotionTextEncoder
    from eadnet.models.unet_3d import EADUNet3DModel


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'eadnet' has no attribute {name!r}")
