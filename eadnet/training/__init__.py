"""Training loops driven by YAML recipes: the SyncNet (`eadnet.training.syncnet_trainer`) and the EAD-Net U-Net
(`eadnet.training.unet_trainer`, recipe dataclasses in `eadnet.training.config`).

Names are imported on first use, so ``import eadnet.training`` stays cheap.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "SyncNetTrainConfig": "eadnet.training.syncnet_trainer",
    "SyncNetTrainer": "eadnet.training.syncnet_trainer",
    "train_syncnet": "eadnet.training.syncnet_trainer",
    "UNetTrainConfig": "eadnet.training.config",
    "train_unet": "eadnet.training.unet_trainer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
