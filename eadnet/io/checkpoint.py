"""LatentSync's ``.pt`` checkpoints (U-Net, SyncNet), read without running pickled code.

LatentSync (github.com/bytedance/LatentSync) saves its models with ``torch.save`` as ``{"state_dict": {...},
"global_step": N}`` or as a bare state dict. Converting them into EAD-Net's modules is the job of their owners
(:func:`eadnet.hub.converters.convert_latentsync_unet`, :meth:`eadnet.models.syncnet.SyncNet.from_latentsync_checkpoint`);
this module only reads the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch


def load_latentsync_checkpoint(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a LatentSync checkpoint safely (``weights_only=True``, memory-mapped when possible).

    Args:
        path (`str` or `os.PathLike`): ``latentsync_unet.pt`` (``{"state_dict": ..., "global_step": N}``) or a bare
            state dict saved with ``torch.save``.

    Returns:
        `dict[str, torch.Tensor]`: the state dict (a ``dict`` subclass that also carries the checkpoint's
        ``global_step``, read it with :func:`checkpoint_global_step`).

    Raises:
        `pickle.UnpicklingError`: the file holds anything but tensors and plain containers (no code is run).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such LatentSync checkpoint: {path}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError as error:
        if "mmap" not in str(error):
            raise
        # Legacy (non-zip) torch.save format cannot be memory-mapped.
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(checkpoint, Mapping):
        raise ValueError(f"{path}: expected a state dict or {{'state_dict': ...}}, got {type(checkpoint).__name__}")
    global_step = None
    if "state_dict" in checkpoint and isinstance(checkpoint["state_dict"], Mapping):
        global_step = checkpoint.get("global_step")
        checkpoint = checkpoint["state_dict"]
    state_dict = _StateDict(checkpoint)
    state_dict.global_step = int(global_step) if isinstance(global_step, (int, torch.Tensor)) else None
    bad = [key for key, value in state_dict.items() if not isinstance(value, torch.Tensor)]
    if bad:
        raise ValueError(f"{path}: non-tensor entries in the state dict: {bad[:5]}")
    return state_dict


class _StateDict(dict):
    """A plain dict that can also carry the checkpoint's ``global_step``."""

    global_step: int | None = None


def checkpoint_global_step(state_dict: Mapping) -> int | None:
    """The ``global_step`` read by :func:`load_latentsync_checkpoint` (``None`` if unknown)."""
    return getattr(state_dict, "global_step", None)
