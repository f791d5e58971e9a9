"""ComfyUI nodes of EAD-Net: thin adapters over :mod:`eadnet`. All ComfyUI imports stay in this package (and only
:mod:`comfy_nodes.runtime` makes them, lazily).

Node ids and the order of each node's widgets are public API (saved workflows refer to them): add nodes and append
widgets, never rename or reorder.
"""

import logging

from eadnet.logs import quiet_third_party

from .all_in_one import EADNetGenerate
from .encoders import EADNetAudioEncode, EADNetEmotion
from .expression import EADNetExpressionEditor
from .faces import EADNetFaceCrop, EADNetPasteBack
from .loaders import EADNetModelLoader
from .runtime import register_model_folder
from .sampler import EADNetDecode, EADNetSampler

# Registration only (no download, no folder creation): weights resolve when a loader node runs.
register_model_folder()

# Hides MediaPipe's native start-up lines and known harmless warnings only: ComfyUI's loggers, the root logger and
# the loggers of libraries other packs share are left alone. ComfyUI's `--verbose DEBUG` lets everything through.
quiet_third_party(verbose=logging.getLogger().isEnabledFor(logging.DEBUG), python_loggers=False)

NODE_CLASS_MAPPINGS: dict[str, type] = {
    "EADNet_ModelLoader": EADNetModelLoader,
    "EADNet_AudioEncode": EADNetAudioEncode,
    "EADNet_Emotion": EADNetEmotion,
    "EADNet_FaceCrop": EADNetFaceCrop,
    "EADNet_Sampler": EADNetSampler,
    "EADNet_Decode": EADNetDecode,
    "EADNet_PasteBack": EADNetPasteBack,
    "EADNet_Generate": EADNetGenerate,
    "EADNet_ExpressionEditor": EADNetExpressionEditor,
}

NODE_DISPLAY_NAME_MAPPINGS: dict[str, str] = {
    "EADNet_ModelLoader": "EAD-Net Model Loader",
    "EADNet_AudioEncode": "EAD-Net Audio Encode",
    "EADNet_Emotion": "EAD-Net Emotion",
    "EADNet_FaceCrop": "EAD-Net Face Crop",
    "EADNet_Sampler": "EAD-Net Sampler",
    "EADNet_Decode": "EAD-Net Decode",
    "EADNet_PasteBack": "EAD-Net Paste Back",
    "EADNet_Generate": "EAD-Net Generate (all-in-one)",
    "EADNet_ExpressionEditor": "EAD-Net Expression Editor",
}

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
