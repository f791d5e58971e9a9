"""ComfyUI-Manager post-install step (run from the pack folder after ``requirements.txt`` is installed).

Idempotent, fast, no network: it creates ComfyUI's ``models/eadnet`` folder when the pack sits in a ComfyUI
tree (``ComfyUI/custom_nodes/<pack>``) and says where weights go, and copies the example portrait, speech, source
video and emotion-reference clip into ``ComfyUI/input`` (as the names the example workflows load) when they are not
there yet; existing files are never replaced. Weights download lazily on first use.
"""

from __future__ import annotations

import os
import shutil
import sys

#: Shipped example file → the name the example workflows load from ``ComfyUI/input``.
EXAMPLE_INPUTS = {
    "portrait.png": "eadnet_portrait.png",
    "speech.flac": "eadnet_speech.flac",
    "source_talk.mp4": "source_talk.mp4",
    "emotion_reference.mp4": "emotion_reference.mp4",
}


def find_models_dir(pack_dir: str) -> str | None:
    """``ComfyUI/models/eadnet`` for a pack at ``ComfyUI/custom_nodes/<pack>``, else ``None``."""
    custom_nodes = os.path.dirname(os.path.abspath(pack_dir))
    if os.path.basename(custom_nodes) != "custom_nodes":
        return None
    return os.path.join(os.path.dirname(custom_nodes), "models", "eadnet")


def copy_example_inputs(pack_dir: str, input_dir: str) -> list[str]:
    """Copies the shipped examples into ``input_dir`` unless a file of that name exists; returns the copies made."""
    copied = []
    for source_name, target_name in EXAMPLE_INPUTS.items():
        source = os.path.join(pack_dir, "eadnet", "assets", source_name)
        target = os.path.join(input_dir, target_name)
        if os.path.isfile(source) and not os.path.exists(target):
            os.makedirs(input_dir, exist_ok=True)
            shutil.copyfile(source, target + ".part")
            os.replace(target + ".part", target)
            copied.append(target)
    return copied


def main() -> int:
    pack_dir = os.path.dirname(os.path.abspath(__file__))
    models_dir = find_models_dir(pack_dir)
    if models_dir is None:
        print("[EAD-Net] not inside ComfyUI/custom_nodes: nothing to prepare.")
        return 0
    os.makedirs(models_dir, exist_ok=True)
    print(f"[EAD-Net] weights go to {models_dir} (downloaded on first use, or put them there by hand).")
    input_dir = os.path.join(os.path.dirname(os.path.dirname(models_dir)), "input")
    for path in copy_example_inputs(pack_dir, input_dir):
        print(f"[EAD-Net] example input for the example workflows: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
