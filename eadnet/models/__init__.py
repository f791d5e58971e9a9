"""EAD-Net's models: the denoiser and its modules, the conditioning encoders, the emotion captioner and SyncNet.

Names are imported on first use (like ``eadnet`` itself), so ``import eadnet.models.audio_encoder`` does not load
every model's dependencies.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "EADUNet3DModel": "eadnet.models.unet_3d",
    "EADUNet3DOutput": "eadnet.models.unet_3d",
    "UNET_CONFIGS": "eadnet.models.unet_3d",
    "StripAttention3D": "eadnet.models.strip_attention",
    "TemporalFrameGraph": "eadnet.models.frame_graph",
    "WhisperAudioEncoder": "eadnet.models.audio_encoder",
    "EmotionTextEncoder": "eadnet.models.text_encoder",
    "EmotionCaptioner": "eadnet.models.emotion_captioner",
    "SyncNet": "eadnet.models.syncnet",
    "SyncNetOutput": "eadnet.models.syncnet",
    "vae_decode": "eadnet.models.autoencoder",
    "vae_encode": "eadnet.models.autoencoder",
    "AudioToMouthModel": "eadnet.models.audio_to_mouth",
    "VoiceActivityDetector": "eadnet.models.voice_activity",
}

__all__ = [
    "AudioToMouthModel",
    "EADUNet3DModel",
    "EADUNet3DOutput",
    "EmotionCaptioner",
    "EmotionTextEncoder",
    "StripAttention3D",
    "SyncNet",
    "SyncNetOutput",
    "TemporalFrameGraph",
    "UNET_CONFIGS",
    "VoiceActivityDetector",
    "WhisperAudioEncoder",
    "vae_decode",
    "vae_encode",
]

if TYPE_CHECKING:  # pragma: no cover
    from eadnet.models.audio_encoder import WhisperAudioEncoder
    from eadnet.models.audio_to_mouth import AudioToMouthModel
    from eadnet.models.autoencoder import vae_decode, vae_encode
    from eadnet.models.emotion_captioner import EmotionCaptioner
    from eadnet.models.frame_graph import TemporalFrameGraph
    from eadnet.models.strip_attention import StripAttention3D
    from eadnet.models.syncnet import SyncNet, SyncNetOutput
    from eadnet.models.text_encoder import EmotionTextEncoder
    from eadnet.models.unet_3d import UNET_CONFIGS, EADUNet3DModel, EADUNet3DOutput
    from eadnet.models.voice_activity import VoiceActivityDetector


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'eadnet.models' has no attribute {name!r}")
