"""Training loops driven by YAML recipes: the SyncNet (`eadnet.training.syncnet_trainer`), the EAD-Net U-Net
(`eadnet.training.unet_trainer`, recipe dataclasses in `eadnet.training.config`), a small image autoencoder
(`eadnet.training.autoencoder_trainer`) and the computed memory/time estimate (`eadnet.training.estimate`).

Names are imported on first use, so ``import eadnet.training`` stays cheap.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "SyncNetTrainConfig": "eadnet.training.syncnet_trainer",
    "SyncNetTrainer": "eadnet.training.syncnet_trainer",
    "train_syncnet": "eadnet.training.syncnet_trainer",
    "UNetTrainConfig": "eadnet.training.config",
    "UNetTrainer": "eadnet.training.unet_trainer",
    "train_unet": "eadnet.training.unet_trainer",
    "AutoencoderTrainConfig": "eadnet.training.autoencoder_trainer",
    "train_autoencoder": "eadnet.training.autoencoder_trainer",
    "estimate_recipe": "eadnet.training.estimate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
