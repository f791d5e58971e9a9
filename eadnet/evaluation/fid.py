"""Fréchet Inception Distance (FID): the Fréchet distance between Gaussians fitted to Inception-v3 pool3 features.

FID (Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium", 2017) is

    FID = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^½)

with (μ, Σ) the mean and (unbiased) covariance of the 2048-d pool3 features of each image set.

:class:`InceptionV3FeatureExtractor` is the "FID Inception" of pytorch-fid (https://github.com/mseitzer/pytorch-fid,
``pytorch_fid/inception.py``, Apache-2.0), written anew without torchvision: torchvision's Inception-v3 graph with
the four patches that make it match the TensorFlow graph the original FID numbers come from (average pools that
ignore the zero padding in the A, C and first E blocks; a max pool in the last E block). Module names equal
torchvision's, so pytorch-fid's weight file ``pt_inception-2015-12-05-6726825d.pth`` (converted from TF's
``2015-12-05`` Inception) loads key for key; :meth:`InceptionV3FeatureExtractor.from_pytorch_fid_weights` checks
every key. Inputs follow pytorch-fid: RGB in ``[0, 1]``, resized to 299×299 (bilinear) and mapped to ``[-1, 1]``.

The Fréchet distance itself (:func:`frechet_distance`) uses the eigen-decomposition
``Tr((Σ₁Σ₂)^½) = Σᵢ √λᵢ(Σ₁^½ Σ₂ Σ₁^½)`` by default: ``Σ₁^½ Σ₂ Σ₁^½`` is symmetric positive semi-definite and
similar to ``Σ₁Σ₂``, so its eigenvalues are real and non-negative and no complex residue appears; ``method="sqrtm"``
reproduces pytorch-fid's ``scipy.linalg.sqrtm`` route (with its ``eps`` fallback and imaginary-part check).

```python
from eadnet.evaluation.fid import InceptionV3FeatureExtractor, fid_from_frames

model = InceptionV3FeatureExtractor.from_pytorch_fid_weights("pt_inception-2015-12-05-6726825d.pth")
fid = fid_from_frames(generated_frames, reference_frames, model)  # uint8 (N, H, W, 3) each
```
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

logger = logging.getLogger(__name__)

__all__ = [
    "FID_WEIGHTS_NAME",
    "InceptionV3FeatureExtractor",
    "WeightsMismatchError",
    "check_state_dict",
    "feature_statistics",
    "fid_from_features",
    "fid_from_frames",
    "frechet_distance",
    "inception_features",
    "read_state_dict",
]

#: File name of pytorch-fid's FID Inception weights (its release ``fid_weights``).
FID_WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"

#: Buffers that old checkpoints may lack: BatchNorm's step counter is not used in eval mode.
_OPTIONAL_SUFFIXES = (".num_batches_tracked",)


# ------------------------------------------------------------------------------------------------ checkpoints
class WeightsMismatchError(ValueError):
    """A weight file does not fit a network; the message lists every difference.

    Args:
        message (`str`): The full report.
        missing (`list[str]`): Keys of the model absent from the file.
        unexpected (`list[str]`): Keys of the file the model does not have.
        mismatched (`list[str]`): ``"key: file shape vs model shape"`` lines.
    """

    def __init__(self, message: str, missing: list[str], unexpected: list[str], mismatched: list[str]):
        super().__init__(message)
        self.missing_keys = missing
        self.unexpected_keys = unexpected
        self.shape_mismatches = mismatched


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Reads a state dict saved with ``torch.save`` safely (``weights_only=True``: no pickled code runs).

    Args:
        path (`str` or `os.PathLike`): The file (zip or legacy format). A ``{"state_dict": ...}`` wrapper and a
            ``module.`` prefix (left by ``DataParallel``) are removed.

    Returns:
        `dict[str, torch.Tensor]`: the tensors on the CPU.

    Raises:
        `FileNotFoundError`: `path` does not exist.
        `ValueError`: the file holds no state dict.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"weight file not found: {str(path)!r}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError as error:
        if "mmap" not in str(error) and "zip" not in str(error):
            raise
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)  # legacy (non-zip) format
    if isinstance(checkpoint, Mapping) and isinstance(checkpoint.get("state_dict"), Mapping):
        checkpoint = checkpoint["state_dict"]
    if not isinstance(checkpoint, Mapping) or not all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise ValueError(f"{str(path)!r} does not hold a state dict (a mapping of names to tensors)")
    return {str(key).removeprefix("module."): value for key, value in checkpoint.items()}


def check_state_dict(model: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str = "state dict") -> None:
    """Loads ``state_dict`` into ``model`` after checking that every key and shape fits.

    BatchNorm step counters (``num_batches_tracked``) may be absent from the file; every other model key must be
    present with the same shape, and the file may hold nothing else.

    Args:
        model (`nn.Module`): The network.
        state_dict (`Mapping[str, torch.Tensor]`): The weights.
        source (`str`, *optional*): Name of the weights in the error message.

    Raises:
        [`WeightsMismatchError`]: (a `ValueError`) naming every missing, unexpected and wrongly shaped key.
    """
    target = model.state_dict()
    missing = sorted(k for k in set(target) - set(state_dict) if not k.endswith(_OPTIONAL_SUFFIXES))
    unexpected = sorted(set(state_dict) - set(target))
    mismatched = [
        f"{key}: file {tuple(state_dict[key].shape)} vs model {tuple(target[key].shape)}"
        for key in sorted(set(target) & set(state_dict))
        if tuple(state_dict[key].shape) != tuple(target[key].shape)
    ]
    if missing or unexpected or mismatched:
        lines = [f"{source} does not fit {type(model).__name__}:"]
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("shape mismatches", mismatched)):
            if keys:
                lines.append(f"  {len(keys)} {label}:")
                lines.extend(f"    {key}" for key in keys[:20])
                if len(keys) > 20:
                    lines.append(f"    ... and {len(keys) - 20} more")
        raise WeightsMismatchError("\n".join(lines), missing, unexpected, mismatched)
    with torch.no_grad():
        for key, value in state_dict.items():
            target[key].copy_(value)


# ------------------------------------------------------------------------------------------------ distance
def feature_statistics(features: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance (``np.cov``, ``ddof=1``) of a feature set, as pytorch-fid computes them.

    Args:
        features (`np.ndarray`): ``(N, D)`` features, ``N >= 2``.

    Returns:
        `tuple[np.ndarray, np.ndarray]`: float64 ``(D,)`` mean and ``(D, D)`` covariance.
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f"features must be (N, D), got shape {features.shape}")
    if features.shape[0] < 2:
        raise ValueError(f"a covariance needs at least 2 samples, got {features.shape[0]}")
    if not np.isfinite(features).all():
        raise ValueError("features contain NaN or inf")
    return features.mean(axis=0), np.atleast_2d(np.cov(features, rowvar=False))


def _symmetric_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Principal square root of a symmetric positive semi-definite matrix (negative round-off eigenvalues → 0)."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def _trace_sqrt_product_eigh(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    root1 = _symmetric_sqrt(sigma1)
    middle = root1 @ ((sigma2 + sigma2.T) / 2) @ root1
    values = np.linalg.eigvalsh((middle + middle.T) / 2)
    return float(np.sqrt(np.clip(values, 0.0, None)).sum())


def _trace_sqrt_product_sqrtm(sigma1: np.ndarray, sigma2: np.ndarray, eps: float) -> float:
    from scipy import linalg  # lazy: scipy.linalg (~0.3 s) only for method="sqrtm", not the default

    root = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(root).all():
        logger.warning("FID: the covariance product is singular; adding %g to the diagonals", eps)
        offset = np.eye(sigma1.shape[0]) * eps
        root = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(root):
        if not np.allclose(np.diagonal(root).imag, 0, atol=1e-3):
            raise ValueError(f"sqrtm left an imaginary component of {np.abs(root.imag).max():.3g}")
        root = root.real
    return float(np.trace(root))


def frechet_distance(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any, eps: float = 1e-6, method: str = "eigh") -> float:
    """Fréchet (2-Wasserstein) distance between N(μ₁, Σ₁) and N(μ₂, Σ₂), squared:
    ``‖μ₁ − μ₂‖² + Tr(Σ₁) + Tr(Σ₂) − 2 Tr((Σ₁Σ₂)^½)``.

    Args:
        mu1 (`np.ndarray`): ``(D,)`` mean of the first set.
        sigma1 (`np.ndarray`): ``(D, D)`` covariance of the first set.
        mu2 (`np.ndarray`): ``(D,)`` mean of the second set.
        sigma2 (`np.ndarray`): ``(D, D)`` covariance of the second set.
        eps (`float`, *optional*, defaults to 1e-6): Diagonal offset of the ``"sqrtm"`` method's fallback when the
            product is singular (pytorch-fid's).
        method (`str`, *optional*, defaults to `"eigh"`): ``"eigh"`` (eigenvalues of ``Σ₁^½ Σ₂ Σ₁^½``, real and
            non-negative by construction) or ``"sqrtm"`` (``scipy.linalg.sqrtm(Σ₁Σ₂)``, as pytorch-fid).

    Returns:
        `float`: the distance, ``>= 0`` (round-off below zero is returned as 0).
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, dtype=np.float64)), np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
    if mu1.shape != mu2.shape or mu1.ndim != 1:
        raise ValueError(f"the means must be vectors of one length, got {mu1.shape} and {mu2.shape}")
    if sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise ValueError(f"the covariances must be ({mu1.size}, {mu1.size}), got {sigma1.shape} and {sigma2.shape}")
    if method == "eigh":
        trace_root = _trace_sqrt_product_eigh(sigma1, sigma2)
    elif method == "sqrtm":
        trace_root = _trace_sqrt_product_sqrtm(sigma1, sigma2, eps)
    else:
        raise ValueError(f"method must be 'eigh' or 'sqrtm', got {method!r}")
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_root)
    return max(value, 0.0)


def _checked_features(features: Any, name: str) -> np.ndarray:
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"{name} must be (N, D) with N >= 2, got shape {features.shape}")
    if not np.isfinite(features).all():
        raise ValueError(f"{name} contain NaN or inf")
    return features


def _fid_sample_space(features1: np.ndarray, features2: np.ndarray) -> float:
    """The Fréchet distance computed in sample space, exact and cheap when ``N₁, N₂ <= D``.

    With centred features ``X`` and ``Σ = Xᵀ X / (N − 1)``, the non-zero eigenvalues of ``Σ₁Σ₂`` are those of
    ``M Mᵀ / c`` with ``M = X₁ X₂ᵀ`` (``N₁ × N₂``) and ``c = (N₁ − 1)(N₂ − 1)``, so ``Tr((Σ₁Σ₂)^½)`` is the sum of
    the singular values of ``M`` over ``√c``.
    """
    centred1 = features1 - features1.mean(axis=0)
    centred2 = features2 - features2.mean(axis=0)
    n1, n2 = len(features1), len(features2)
    trace1 = float((centred1**2).sum()) / (n1 - 1)
    trace2 = float((centred2**2).sum()) / (n2 - 1)
    trace_root = float(np.linalg.svd(centred1 @ centred2.T, compute_uv=False).sum()) / math.sqrt((n1 - 1) * (n2 - 1))
    diff = features1.mean(axis=0) - features2.mean(axis=0)
    return max(float(diff @ diff) + trace1 + trace2 - 2.0 * trace_root, 0.0)


def fid_from_features(features1: Any, features2: Any, method: str = "eigh") -> float:
    """Fréchet distance between the Gaussians fitted to two feature sets (:func:`feature_statistics`).

    When neither set has more samples than dimensions (a per-video FID: ~100 frames, 2048-d features) the distance
    is computed exactly in sample space (an SVD of the ``N₁ × N₂`` cross-product of the centred features) instead
    of from the ``D × D`` covariances, which is much faster and gives the same value.

    Args:
        features1 (`np.ndarray`): ``(N₁, D)`` features, ``N₁ >= 2``.
        features2 (`np.ndarray`): ``(N₂, D)`` features, ``N₂ >= 2``.
        method (`str`, *optional*, defaults to `"eigh"`): See :func:`frechet_distance` (used with large sets).

    Returns:
        `float`: the distance.
    """
    features1 = _checked_features(features1, "features1")
    features2 = _checked_features(features2, "features2")
    if features1.shape[1] != features2.shape[1]:
        raise ValueError(f"the feature sets have {features1.shape[1]} and {features2.shape[1]} dimensions")
    if method not in ("eigh", "sqrtm"):
        raise ValueError(f"method must be 'eigh' or 'sqrtm', got {method!r}")
    if method == "eigh" and max(len(features1), len(features2)) <= features1.shape[1]:
        return _fid_sample_space(features1, features2)
    mu1, sigma1 = feature_statistics(features1)
    mu2, sigma2 = feature_statistics(features2)
    return frechet_distance(mu1, sigma1, mu2, sigma2, method=method)


# ------------------------------------------------------------------------------------------------ network
class _ConvBN(nn.Module):
    """torchvision's ``BasicConv2d``: convolution without bias → BatchNorm (eps 1e-3, TF's) → ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int = 1,
        padding: int | tuple[int, int] = 0,
    ):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(hidden_states)))


def _tf_avg_pool(hidden_states: torch.Tensor) -> torch.Tensor:
    # TensorFlow's 3x3 average pool leaves the zero padding out of the mean (the FID Inception patch).
    return F.avg_pool2d(hidden_states, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class FIDInceptionA(nn.Module):
    """35×35 block (``Mixed_5b``–``5d``): 1×1, 5×5, double 3×3 and pool branches; outputs ``224 + pool_features``."""

    def __init__(self, in_channels: int, pool_features: int):
        super().__init__()
        self.branch1x1 = _ConvBN(in_channels, 64, 1)
        self.branch5x5_1 = _ConvBN(in_channels, 48, 1)
        self.branch5x5_2 = _ConvBN(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = _ConvBN(in_channels, 64, 1)
        self.branch3x3dbl_2 = _ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _ConvBN(96, 96, 3, padding=1)
        self.branch_pool = _ConvBN(in_channels, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), branch5x5, branch3x3dbl, self.branch_pool(_tf_avg_pool(x))], dim=1)


class InceptionB(nn.Module):
    """35→17 reduction (``Mixed_6a``): strided 3×3, strided double 3×3 and max-pool branches."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3 = _ConvBN(in_channels, 384, 3, stride=2)
        self.branch3x3dbl_1 = _ConvBN(in_channels, 64, 1)
        self.branch3x3dbl_2 = _ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _ConvBN(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), branch3x3dbl, F.max_pool2d(x, kernel_size=3, stride=2)], dim=1)


class FIDInceptionC(nn.Module):
    """17×17 block (``Mixed_6b``–``6e``) with factorised 7×7 convolutions; outputs 768 channels."""

    def __init__(self, in_channels: int, channels_7x7: int):
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = _ConvBN(in_channels, 192, 1)
        self.branch7x7_1 = _ConvBN(in_channels, c7, 1)
        self.branch7x7_2 = _ConvBN(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = _ConvBN(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = _ConvBN(in_channels, c7, 1)
        self.branch7x7dbl_2 = _ConvBN(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = _ConvBN(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = _ConvBN(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = _ConvBN(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = _ConvBN(in_channels, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = x
        for layer in (
            self.branch7x7dbl_1,
            self.branch7x7dbl_2,
            self.branch7x7dbl_3,
            self.branch7x7dbl_4,
            self.branch7x7dbl_5,
        ):
            branch7x7dbl = layer(branch7x7dbl)
        return torch.cat([self.branch1x1(x), branch7x7, branch7x7dbl, self.branch_pool(_tf_avg_pool(x))], dim=1)


class InceptionD(nn.Module):
    """17→8 reduction (``Mixed_7a``): strided 3×3, strided 7×7-then-3×3 and max-pool branches."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3_1 = _ConvBN(in_channels, 192, 1)
        self.branch3x3_2 = _ConvBN(192, 320, 3, stride=2)
        self.branch7x7x3_1 = _ConvBN(in_channels, 192, 1)
        self.branch7x7x3_2 = _ConvBN(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = _ConvBN(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = _ConvBN(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3 = self.branch3x3_2(self.branch3x3_1(x))
        branch7x7x3 = x
        for layer in (self.branch7x7x3_1, self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            branch7x7x3 = layer(branch7x7x3)
        return torch.cat([branch3x3, branch7x7x3, F.max_pool2d(x, kernel_size=3, stride=2)], dim=1)


class FIDInceptionE(nn.Module):
    """8×8 block (``Mixed_7b``, ``Mixed_7c``) with split 1×3 / 3×1 branches; outputs 2048 channels.

    Args:
        in_channels (`int`): Input channels.
        pool (`str`): ``"avg"`` (``Mixed_7b``; padding left out of the mean) or ``"max"`` (``Mixed_7c``: the TF graph
            behind FID max-pools here, unlike the paper).
    """

    def __init__(self, in_channels: int, pool: str):
        super().__init__()
        if pool not in ("avg", "max"):
            raise ValueError(f"pool must be 'avg' or 'max', got {pool!r}")
        self.pool = pool
        self.branch1x1 = _ConvBN(in_channels, 320, 1)
        self.branch3x3_1 = _ConvBN(in_channels, 384, 1)
        self.branch3x3_2a = _ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = _ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = _ConvBN(in_channels, 448, 1)
        self.branch3x3dbl_2 = _ConvBN(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = _ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = _ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = _ConvBN(in_channels, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = torch.cat([self.branch3x3_2a(branch3x3), self.branch3x3_2b(branch3x3)], dim=1)
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = torch.cat([self.branch3x3dbl_3a(branch3x3dbl), self.branch3x3dbl_3b(branch3x3dbl)], dim=1)
        pooled = _tf_avg_pool(x) if self.pool == "avg" else F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        return torch.cat([self.branch1x1(x), branch3x3, branch3x3dbl, self.branch_pool(pooled)], dim=1)


class InceptionV3FeatureExtractor(ModelMixin, ConfigMixin):
    r"""The FID Inception-v3 up to its 2048-d pool3 features (plus the unused 1008-way ``fc`` of the weight file).

    Stem: 3×3/2 conv (32) → 3×3 (32) → 3×3 pad 1 (64) → 3×3/2 max-pool → 1×1 (80) → 3×3 (192) → 3×3/2 max-pool;
    then ``Mixed_5b``–``5d`` (35×35), ``Mixed_6a`` (→17×17), ``Mixed_6b``–``6e``, ``Mixed_7a`` (→8×8),
    ``Mixed_7b``–``7c``, global average pool. Every convolution is conv (no bias) → BatchNorm (eps 1e-3) → ReLU.

    Args:
        resize_input (`bool`, *optional*, defaults to `True`): Resize inputs to 299×299 (bilinear,
            ``align_corners=False``) as pytorch-fid does.
        normalize_input (`bool`, *optional*, defaults to `True`): Map inputs from ``[0, 1]`` to ``[-1, 1]``.
    """

    feature_dim = 2048
    num_classes = 1008  # the TF graph's classifier: 1000 ImageNet classes + 8 unused

    @register_to_config
    def __init__(self, resize_input: bool = True, normalize_input: bool = True):
        super().__init__()
        self.Conv2d_1a_3x3 = _ConvBN(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = _ConvBN(32, 32, 3)
        self.Conv2d_2b_3x3 = _ConvBN(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = _ConvBN(64, 80, 1)
        self.Conv2d_4a_3x3 = _ConvBN(80, 192, 3)
        self.Mixed_5b = FIDInceptionA(192, pool_features=32)
        self.Mixed_5c = FIDInceptionA(256, pool_features=64)
        self.Mixed_5d = FIDInceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
        self.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = FIDInceptionE(1280, pool="avg")
        self.Mixed_7c = FIDInceptionE(2048, pool="max")
        self.fc = nn.Linear(2048, self.num_classes)
        self.requires_grad_(False)
        self.eval()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """pool3 features.

        Args:
            images (`torch.Tensor`): ``(N, 3, H, W)`` RGB in ``[0, 1]`` (with ``normalize_input``; ``[-1, 1]``
                otherwise). Without ``resize_input``, ``H, W >= 75``.

        Returns:
            `torch.Tensor`: ``(N, 2048)`` features.
        """
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be (N, 3, H, W), got shape {tuple(images.shape)}")
        hidden_states = images
        if self.config.resize_input:
            hidden_states = F.interpolate(hidden_states, size=(299, 299), mode="bilinear", align_corners=False)
        elif min(hidden_states.shape[-2:]) < 75:
            raise ValueError(f"images must be at least 75×75 without resize_input, got {tuple(images.shape[-2:])}")
        if self.config.normalize_input:
            hidden_states = 2 * hidden_states - 1
        for layer in (self.Conv2d_1a_3x3, self.Conv2d_2a_3x3, self.Conv2d_2b_3x3):
            hidden_states = layer(hidden_states)
        hidden_states = F.max_pool2d(hidden_states, kernel_size=3, stride=2)
        hidden_states = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(hidden_states))
        hidden_states = F.max_pool2d(hidden_states, kernel_size=3, stride=2)
        for block in (
            self.Mixed_5b,
            self.Mixed_5c,
            self.Mixed_5d,
            self.Mixed_6a,
            self.Mixed_6b,
            self.Mixed_6c,
            self.Mixed_6d,
            self.Mixed_6e,
            self.Mixed_7a,
            self.Mixed_7b,
            self.Mixed_7c,
        ):
            hidden_states = block(hidden_states)
        return hidden_states.mean(dim=(-2, -1))

    @classmethod
    def from_pytorch_fid_weights(cls, path: str | os.PathLike, **kwargs) -> InceptionV3FeatureExtractor:
        """Builds the extractor from pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth``.

        Args:
            path (`str` or `os.PathLike`): The weight file (read with ``torch.load(weights_only=True)``).
            **kwargs: Constructor arguments (``resize_input``, ``normalize_input``).

        Returns:
            [`InceptionV3FeatureExtractor`] in eval mode, gradients off.

        Raises:
            [`WeightsMismatchError`]: the file's keys or shapes differ from the network's (every difference listed).
        """
        model = cls(**kwargs)
        check_state_dict(model, read_state_dict(path), source=str(path))
        return model.eval()


# ------------------------------------------------------------------------------------------------ frames
def _as_frame_batch(frames: Any) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim == 3:
        frames = frames[None]
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 RGB (N, H, W, 3), got {frames.dtype} of shape {frames.shape}")
    return frames


@torch.no_grad()
def inception_features(
    frames: Any | Iterable[Any],
    model: InceptionV3FeatureExtractor,
    batch_size: int = 32,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """pool3 features of uint8 RGB images.

    Args:
        frames (`np.ndarray` or iterable of `np.ndarray`): uint8 RGB ``(N, H, W, 3)`` images (one size per batch;
            an iterable may mix sizes between arrays).
        model ([`InceptionV3FeatureExtractor`]): The network (``normalize_input=True``), or any module mapping
            ``(N, 3, H, W)`` images in ``[0, 1]`` to ``(N, D)`` features.
        batch_size (`int`, *optional*, defaults to 32): Images per forward pass.
        device (`str` or `torch.device`, *optional*): Where to run; the model's device by default.

    Returns:
        `np.ndarray`: float64 ``(N, 2048)``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if device is None:
        parameter = next(iter(model.parameters()), None)
        device = getattr(model, "device", None) or (parameter.device if parameter is not None else "cpu")
    device = torch.device(device)
    chunks = [frames] if isinstance(frames, np.ndarray) else list(frames)
    features = []
    for chunk in chunks:
        chunk = _as_frame_batch(chunk)
        for start in range(0, len(chunk), batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(chunk[start : start + batch_size])).to(device)
            images = batch.permute(0, 3, 1, 2).float() / 255.0
            features.append(model(images).double().cpu().numpy())
    if not features:
        raise ValueError("frames is empty")
    return np.concatenate(features)


def fid_from_frames(
    frames1: Any,
    frames2: Any,
    model: InceptionV3FeatureExtractor,
    batch_size: int = 32,
    device: str | torch.device | None = None,
) -> float:
    """FID between two sets of uint8 RGB images (e.g. the frames of a generated and a real video).

    Args:
        frames1 (`np.ndarray`): uint8 RGB ``(N₁, H, W, 3)``, ``N₁ >= 2``.
        frames2 (`np.ndarray`): uint8 RGB ``(N₂, H', W', 3)``, ``N₂ >= 2``.
        model ([`InceptionV3FeatureExtractor`]): The network.
        batch_size (`int`, *optional*, defaults to 32): Images per forward pass.
        device (`str` or `torch.device`, *optional*): Where to run.

    Returns:
        `float`: the FID. With fewer images than feature dimensions (2048) the covariances are rank-deficient and
        the value is biased upward: compare numbers computed on equally many images only.
    """
    features1 = inception_features(frames1, model, batch_size=batch_size, device=device)
    features2 = inception_features(frames2, model, batch_size=batch_size, device=device)
    return fid_from_features(features1, features2)
