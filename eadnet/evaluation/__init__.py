"""Metrics for generated talking-head videos.

- :mod:`eadnet.evaluation.evaluate`: :func:`evaluate_video`, :func:`evaluate_folder` and the :class:`Evaluator`
  behind ``eadnet evaluate``: every metric below in one JSON-serialisable report, metrics without inputs or weights
  left out with a reason.
- :mod:`eadnet.evaluation.lse`: LSE-C / LSE-D with the SyncNet protocol (syncnet_python's ``syncnet_v2.model``, or
  EAD-Net's own SyncNet), python_speech_features-compatible MFCCs.
- :mod:`eadnet.evaluation.fid`: Fréchet distance and the FID Inception-v3 (pytorch-fid's weights).
- :mod:`eadnet.evaluation.fvd`: FVD with the StyleGAN-V I3D TorchScript model.
- :mod:`eadnet.evaluation.image_quality`: SSIM and PSNR against a ground-truth video.
- :mod:`eadnet.evaluation.expression`: emotion accuracy with an expression classifier (fer's mini-XCEPTION offline).
- :mod:`eadnet.evaluation.landmarks`: face-mesh measures: mouth opening, landmark jitter, window seams, identity
  drift, expression geometry.
- :mod:`eadnet.evaluation.speech_proxy`: mouth opening ↔ speech loudness correlation, voice activity.

Submodules are imported on first use, so ``import eadnet.evaluation`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Evaluator", "evaluate_folder", "evaluate_video"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("eadnet.evaluation.evaluate"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
