"""ComfyUI entry point of the EAD-Net node pack.

ComfyUI imports this file by path, as a package named after the pack folder. It must import cleanly with or
without ComfyUI, and with or without ``eadnet`` pip-installed: when it is not installed, the pack folder
itself is put on ``sys.path`` so ``import eadnet`` finds the copy shipped beside this file.
"""

import os
import sys

_PACK_DIR = os.path.dirname(os.path.abspath(__file__))
if _PACK_DIR not in sys.path:
    sys.path.insert(0, _PACK_DIR)

if __package__:
    from .comfy_nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS
else:  # imported as a plain module (e.g. by a test runner collecting the repository root)
    from comfy_nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
