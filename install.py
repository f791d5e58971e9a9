"""ComfyUI-Manager post-install step (run from the pack folder after ``requirements.txt`` is installed).

Idempotent, fast, no network: it creates ComfyUI's ``models/eadnet`` folder when the pack sits in a ComfyUI
tree (``ComfyUI/custom_nodes/<pack>``) and says where weights go. Weights download lazily on first use.
"""

from __future__ import annotations

import os
import sys


def find_models_dir(pack_dir: str) -> str | None:
    """``ComfyUI/models/eadnet`` for a pack at ``ComfyUI/custom_nodes/<pack>``, else ``None``."""
    custom_nodes = os.path.dirname(os.path.abspath(pack_dir))
    if os.path.basename(custom_nodes) != "custom_nodes":
        return None
    return os.path.join(os.path.dirname(custom_nodes), "models", "eadnet")


def main() -> int:
    pack_dir = os.path.dirname(os.path.abspath(__file__))
    models_dir = find_models_dir(pack_dir)
    if models_dir is None:
        print("[EAD-Net] not inside ComfyUI/custom_nodes: nothing to prepare.")
        return 0
    os.makedirs(models_dir, exist_ok=True)
    print(f"[EAD-Net] weights go to {models_dir} (downloaded on first use, or put them there by hand).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
