"""ComfyUI nodes of EAD-Net: thin adapters over :mod:`eadnet`. All ComfyUI imports stay in this package.

The node classes arrive with the node-pack issue; until then the pack registers no nodes but loads cleanly.
"""

NODE_CLASS_MAPPINGS: dict[str, type] = {}
NODE_DISPLAY_NAME_MAPPINGS: dict[str, str] = {}
