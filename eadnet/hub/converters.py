"""Convert LatentSync U-Net checkpoints into :class:`~eadnet.models.unet_3d.EADUNet3DModel`.

LatentSync (github.com/bytedance/LatentSync) saves its U-Net as ``{"state_dict": {...}, "global_step": N}`` in
``latentsync_unet.pt``. Its parameter names equal ours except that

- ``...motion_modules.{j}.temporal_transformer.X`` is our ``...motion_modules.{j}.X``;
- ``...attention_blocks.{k}.pos_encoder.pe`` buffers (sinusoidal frame positions, at most 24 frames) have no
  counterpart: ours are computed on the fly with the same values (checked during conversion);
- EAD-Net's modules (emotion-text attention, STDA, TFRM) are not in LatentSync: they keep their zero
  initialisation, so the converted model computes exactly LatentSync's function.

Checkpoints are read with :func:`eadnet.io.checkpoint.load_latentsync_checkpoint` (``torch.load(weights_only=True)``):
no pickled code is ever executed.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml

from eadnet.io.checkpoint import checkpoint_global_step
from eadnet.models.attention import sinusoidal_positions
from eadnet.models.unet_3d import UNET_CONFIGS, EADUNet3DModel, is_ead_parameter

logger = logging.getLogger(__name__)

_TEMPORAL_RE = re.compile(r"(\.motion_modules\.\d+\.)temporal_transformer\.")
_POS_ENCODER_SUFFIX = ".pos_encoder.pe"


class ConversionError(ValueError):
    """A checkpoint does not fit the target model; ``report`` says exactly how."""

    def __init__(self, message: str, report: ConversionReport):
        super().__init__(message)
        self.report = report


@dataclass
class ConversionReport:
    r"""What a LatentSync → EAD-Net conversion found.

    Args:
        source_keys (`int`): Entries in the checkpoint's state dict.
        loaded_keys (`int`): Entries loaded into the model.
        renamed_keys (`int`): Entries whose name changed (``temporal_transformer.`` removed).
        dropped_keys (`list[str]`): Checkpoint entries deliberately not loaded (``pos_encoder.pe`` buffers).
        missing_ead_keys (`list[str]`): EAD-Net entries the checkpoint does not have (expected: they stay
            zero-initialised).
        missing_keys (`list[str]`): Non-EAD entries of the model the checkpoint does not have (fatal).
        unexpected_keys (`list[str]`): Non-EAD checkpoint entries the model does not have (fatal).
        unexpected_ead_keys (`list[str]`): EAD entries in the checkpoint that the model (EAD modules switched off)
            does not have (ignored, with a warning).
        shape_mismatches (`list[tuple[str, tuple, tuple]]`): ``(key, checkpoint shape, model shape)`` (fatal).
        position_mismatches (`list[str]`): ``pos_encoder.pe`` buffers whose values differ from the sinusoidal
            positions the model computes (fatal: the model cannot represent them).
        global_step (`int`, *optional*): Training step stored in the checkpoint.
    """

    source_keys: int = 0
    loaded_keys: int = 0
    renamed_keys: int = 0
    dropped_keys: list[str] = field(default_factory=list)
    missing_ead_keys: list[str] = field(default_factory=list)
    missing_keys: list[str] = field(default_factory=list)
    unexpected_keys: list[str] = field(default_factory=list)
    unexpected_ead_keys: list[str] = field(default_factory=list)
    shape_mismatches: list[tuple[str, tuple, tuple]] = field(default_factory=list)
    position_mismatches: list[str] = field(default_factory=list)
    global_step: int | None = None

    @property
    def ok(self) -> bool:
        """True when nothing fatal was found (EAD keys may be missing: that is the expected case)."""
        return not (self.missing_keys or self.unexpected_keys or self.shape_mismatches or self.position_mismatches)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "source_keys": self.source_keys,
            "loaded_keys": self.loaded_keys,
            "renamed_keys": self.renamed_keys,
            "dropped_keys": self.dropped_keys,
            "missing_ead_keys": self.missing_ead_keys,
            "missing_keys": self.missing_keys,
            "unexpected_keys": self.unexpected_keys,
            "unexpected_ead_keys": self.unexpected_ead_keys,
            "shape_mismatches": [[key, list(a), list(b)] for key, a, b in self.shape_mismatches],
            "position_mismatches": self.position_mismatches,
            "global_step": self.global_step,
        }

    def summary(self, max_keys: int = 10) -> str:
        """Human-readable report (at most ``max_keys`` names per list)."""

        def names(keys) -> str:
            keys = list(keys)
            shown = ", ".join(str(key) for key in keys[:max_keys])
            return shown + (f", ... ({len(keys) - max_keys} more)" if len(keys) > max_keys else "")

        lines = [
            f"checkpoint entries: {self.source_keys} (global_step {self.global_step})",
            f"loaded: {self.loaded_keys} ({self.renamed_keys} renamed from temporal_transformer.*)",
            f"dropped pos_encoder.pe buffers (recomputed on the fly): {len(self.dropped_keys)}",
            f"EAD-Net entries not in the checkpoint (zero-initialised, expected): {len(self.missing_ead_keys)}",
        ]
        for label, keys in (
            ("MISSING non-EAD entries", self.missing_keys),
            ("UNEXPECTED entries", self.unexpected_keys),
            ("EAD entries ignored (EAD modules switched off)", self.unexpected_ead_keys),
            ("POSITION buffers differing from sinusoidal positions", self.position_mismatches),
        ):
            if keys:
                lines.append(f"{label} ({len(keys)}): {names(keys)}")
        if self.shape_mismatches:
            shown = [f"{key} checkpoint {tuple(a)} vs model {tuple(b)}" for key, a, b in self.shape_mismatches]
            lines.append(f"SHAPE mismatches ({len(shown)}): {names(shown)}")
        lines.append("result: OK" if self.ok else "result: FAILED")
        return "\n".join(lines)


def rename_latentsync_key(key: str) -> str:
    """LatentSync parameter name → EAD-Net parameter name (``temporal_transformer.`` removed)."""
    return _TEMPORAL_RE.sub(r"\1", key)


_LATENTSYNC_SAME_NAME = (
    "sample_size",
    "in_channels",
    "out_channels",
    "flip_sin_to_cos",
    "freq_shift",
    "down_block_types",
    "up_block_types",
    "block_out_channels",
    "layers_per_block",
    "downsample_padding",
    "act_fn",
    "norm_num_groups",
    "norm_eps",
    "cross_attention_dim",
    "use_motion_module",
    "motion_module_resolutions",
    "motion_module_mid_block",
)
# LatentSync settings that must have these values for the network to be the one EADUNet3DModel builds.
_LATENTSYNC_REQUIRED = {
    "mid_block_type": "UNetMidBlock3DCrossAttn",
    "center_input_sample": False,
    "resnet_time_scale_shift": "default",
    "add_audio_layer": True,
    "motion_module_type": "Vanilla",
    "motion_module_decoder_only": False,
    "mid_block_scale_factor": 1,
    "use_linear_projection": False,
    "only_cross_attention": False,
    "dual_cross_attention": False,
    "class_embed_type": None,
    "num_class_embeds": None,
}
_LATENTSYNC_IGNORED = {"upcast_attention", "use_inflated_groupnorm", "audio_condition_method", "custom_audio_layer"}


def unet_config_from_latentsync(model_config: Mapping | str | os.PathLike, **overrides) -> dict:
    """``EADUNet3DModel`` keyword arguments for a LatentSync U-Net config.

    Args:
        model_config (`dict`, or path to a YAML file): LatentSync's ``model:`` block (``configs/unet/stage2.yaml``);
            a YAML file may hold the whole training config (its ``model:`` block is used) or only the block.
        **overrides: EAD-Net settings to add (e.g. ``text_embed_dim=768``, ``use_stda=False``).

    Raises:
        `ValueError`: for settings whose network EADUNet3DModel does not build.
    """
    if not isinstance(model_config, Mapping):
        with open(model_config, encoding="utf-8") as f:
            model_config = yaml.safe_load(f)
        if not isinstance(model_config, Mapping):
            raise ValueError(f"{model_config}: not a YAML mapping")
    if "model" in model_config and isinstance(model_config["model"], Mapping):
        model_config = model_config["model"]
    config: dict[str, Any] = {}
    for key in _LATENTSYNC_SAME_NAME:
        if key in model_config:
            value = model_config[key]
            config[key] = tuple(value) if isinstance(value, list) else value
    for key, required in _LATENTSYNC_REQUIRED.items():
        if key in model_config and model_config[key] != required and not (required is None and not model_config[key]):
            raise ValueError(f"LatentSync setting {key}={model_config[key]!r} is not supported (needs {required!r})")
    heads = model_config.get("attention_head_dim")
    if heads is not None:
        if isinstance(heads, (list, tuple)):
            if len(set(heads)) != 1:
                raise ValueError(f"per-stage attention_head_dim {heads} is not supported")
            heads = heads[0]
        # AnimateDiff/LatentSync pass attention_head_dim as the number of heads.
        config["num_attention_heads"] = int(heads)
    motion = dict(model_config.get("motion_module_kwargs") or {})
    if motion:
        if "num_attention_heads" in motion:
            config["motion_num_attention_heads"] = int(motion.pop("num_attention_heads"))
        if "num_transformer_block" in motion:
            config["motion_num_transformer_blocks"] = int(motion.pop("num_transformer_block"))
        if "attention_block_types" in motion:
            types = list(motion.pop("attention_block_types"))
            if any(kind != "Temporal_Self" for kind in types):
                raise ValueError(f"motion attention_block_types {types} are not supported (only Temporal_Self)")
            config["motion_num_attention_blocks"] = len(types)
        if "temporal_position_encoding" in motion:
            config["motion_position_encoding"] = bool(motion.pop("temporal_position_encoding"))
        if motion.pop("temporal_attention_dim_div", 1) != 1:
            raise ValueError("temporal_attention_dim_div other than 1 is not supported")
        motion.pop("temporal_position_encoding_max_len", None)
        motion.pop("zero_initialize", None)
        if motion:
            logger.warning("Ignoring unknown LatentSync motion_module_kwargs: %s", sorted(motion))
    known = set(_LATENTSYNC_SAME_NAME) | set(_LATENTSYNC_REQUIRED) | _LATENTSYNC_IGNORED
    known |= {"attention_head_dim", "motion_module_kwargs"}
    unknown = sorted(set(model_config) - known)
    if unknown:
        logger.warning("Ignoring unknown LatentSync model settings: %s", unknown)
    config.update(overrides)
    return config


def _resolve_config(config: str | Mapping | None) -> dict:
    if config is None:
        return dict(UNET_CONFIGS["base"])
    if isinstance(config, str):
        if config not in UNET_CONFIGS:
            raise ValueError(f"unknown named config {config!r}; known: {sorted(UNET_CONFIGS)}")
        return dict(UNET_CONFIGS[config])
    return dict(config)


def convert_latentsync_unet(
    state_dict: Mapping[str, torch.Tensor],
    config: str | Mapping | None = None,
    *,
    strict: bool = True,
) -> tuple[EADUNet3DModel, ConversionReport]:
    """Build an ``EADUNet3DModel`` from a LatentSync U-Net state dict.

    Keys are renamed (``motion_modules.{j}.temporal_transformer.X`` → ``motion_modules.{j}.X``), the
    ``pos_encoder.pe`` buffers are checked against the sinusoidal positions the model computes and dropped, and
    everything else must match exactly: every non-EAD parameter of the model must be in the checkpoint with the
    same shape and the checkpoint may hold nothing else. EAD-Net modules keep their zero initialisation.

    Args:
        state_dict (`dict[str, torch.Tensor]`): From :func:`load_latentsync_checkpoint` (or a bare state dict).
        config (`str` or `dict`, *optional*): A name of ``UNET_CONFIGS`` or ``EADUNet3DModel`` keyword arguments
            (see :func:`unet_config_from_latentsync`); defaults to ``"base"`` (LatentSync 1.5/1.6 with EAD modules).
        strict (`bool`, *optional*, defaults to `True`): Raise :class:`ConversionError` on any fatal finding. With
            `False` the matching entries are loaded and the report is returned for inspection.

    Returns:
        `tuple[EADUNet3DModel, ConversionReport]`: the model (in eval mode, float32) and the report.

    Raises:
        `ConversionError`: (a `ValueError`) when ``strict`` and a non-EAD key is missing, unexpected or has a
        different shape, or a position buffer differs; the message names them.
    """
    wrapped = isinstance(state_dict, Mapping) and isinstance(state_dict.get("state_dict"), Mapping)
    if wrapped:
        global_step = state_dict.get("global_step")
        state_dict = state_dict["state_dict"]
    else:
        global_step = checkpoint_global_step(state_dict)
    model = EADUNet3DModel(**_resolve_config(config))
    target = model.state_dict()
    report = ConversionReport(source_keys=len(state_dict), global_step=global_step)

    converted: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        if key.endswith(_POS_ENCODER_SUFFIX):
            report.dropped_keys.append(key)
            table = value.reshape(-1, value.shape[-1]).float()
            expected = sinusoidal_positions(table.shape[0], table.shape[1])
            tolerance = 1e-5 if value.dtype == torch.float32 else 2e-3
            if not torch.allclose(table, expected, atol=tolerance, rtol=0):
                report.position_mismatches.append(key)
            continue
        new_key = rename_latentsync_key(key)
        if new_key != key:
            report.renamed_keys += 1
        converted[new_key] = value

    loadable: dict[str, torch.Tensor] = {}
    for key, value in converted.items():
        if key not in target:
            (report.unexpected_ead_keys if is_ead_parameter(key) else report.unexpected_keys).append(key)
        elif tuple(value.shape) != tuple(target[key].shape):
            report.shape_mismatches.append((key, tuple(value.shape), tuple(target[key].shape)))
        else:
            loadable[key] = value
    for key in target:
        if key not in converted:
            (report.missing_ead_keys if is_ead_parameter(key) else report.missing_keys).append(key)

    if strict and not report.ok:
        raise ConversionError(
            "the checkpoint does not match the EAD-Net U-Net configuration (is it a LatentSync U-Net, and is the "
            "config the one it was trained with?)\n" + report.summary(),
            report,
        )
    if report.unexpected_ead_keys:
        logger.warning(
            "Ignoring %d EAD-Net entries: the model has the EAD modules switched off.", len(report.unexpected_ead_keys)
        )
    model.load_state_dict(loadable, strict=False)
    report.loaded_keys = len(loadable)
    model.eval()
    logger.info(
        "Converted LatentSync U-Net: %d entries loaded, %d EAD entries zero-initialised",
        report.loaded_keys,
        len(report.missing_ead_keys),
    )
    return model, report


def save_conversion_report(report: ConversionReport, path: str | os.PathLike) -> None:
    """Write ``report`` as JSON (next to a converted model, for provenance)."""
    Path(path).write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
