"""Training recipes: YAML files whose sections map onto the dataclasses below, and whose ``model:`` block maps 1:1
onto the arguments of :class:`~eadnet.models.unet_3d.EADUNet3DModel` (LatentSync's convention, see
https://github.com/bytedance/LatentSync/blob/main/configs/unet/stage2.yaml).

```yaml
data: {root: data/mead_256, num_frames: 16, batch_size: 1}
components: {model: offline-demo}          # VAE, audio and text encoders, scheduler (preset name or model folder)
unet: {config: small, init: null}          # named config + `model:` overrides, or weights to start from
model: {use_stda: true, use_tfrm: true}
train: {stage: 1, max_steps: 1000, output_dir: runs/stage1}
optimizer: {lr: 1.0e-4}
loss: {mse: 1.0}
```

Unknown keys are errors (a typo must not silently train something else).
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ComponentsConfig",
    "DataConfig",
    "EMAConfig",
    "LossConfig",
    "OptimizerConfig",
    "RecipeMixin",
    "RunConfig",
    "UNetInitConfig",
    "UNetTrainConfig",
    "ValidationConfig",
    "load_yaml",
]


@dataclass
class DataConfig:
    """Training data (a dataset folder written by ``eadnet preprocess`` or the synthetic-clip generator).

    Args:
        root (`str`): Dataset folder.
        train_split (`str`, *optional*, defaults to `"train"`): Manifest split to train on.
        val_split (`str`, *optional*, defaults to `"val"`): Split used for validation samples and loss.
        num_frames (`int`, *optional*, defaults to 16): Frames per training window (LatentSync: 16).
        batch_size (`int`, *optional*, defaults to 1): Windows per device and micro-batch.
        num_workers (`int`, *optional*, defaults to 0): DataLoader worker processes.
        mask_mode (`str`, *optional*): Regeneration mask (``lower_face`` / ``face``); default the dataset's.
        emotions (`list[str]`, *optional*): Train only on clips with these labels.
        reference (`str`, *optional*, defaults to `"clip"`): Reference frames: ``clip`` (another window of the
            clip, LatentSync) or ``neutral`` (the clip's neutral crops, so the emotion must come from the text; see
            `eadnet.data.unet_dataset.UNetClipDataset`).
    """

    root: str = ""
    train_split: str = "train"
    val_split: str = "val"
    num_frames: int = 16
    batch_size: int = 1
    num_workers: int = 0
    mask_mode: str | None = None
    emotions: list[str] | None = None
    reference: str = "clip"


@dataclass
class ComponentsConfig:
    """The frozen components: VAE, audio encoder, text encoder and noise scheduler.

    Args:
        model (`str`, *optional*, defaults to `"offline-demo"`): Preset name or model folder they come from.
        models_dir (`str`, *optional*): Models folder searched before the Hugging Face cache.
        vae (`str`, *optional*): A diffusers autoencoder folder (e.g. the ``vae/`` of an ``eadnet train vae`` run)
            used instead of the model's VAE; the saved model folder then carries it.
    """

    model: str = "offline-demo"
    models_dir: str | None = None
    vae: str | None = None


@dataclass
class UNetInitConfig:
    """Where the trained U-Net starts.

    Args:
        config (`str`, *optional*, defaults to `"small"`): Named config (``base``, ``small``, ``tiny``) that the
            recipe's ``model:`` block overrides.
        init (`str`, *optional*): Weights to start from: a U-Net folder (``save_pretrained``), a model folder, a
            LatentSync checkpoint (``latentsync_unet.pt``; EAD modules stay zero-initialised) — or `None` for a fresh
            model.
        seed (`int`, *optional*, defaults to 0): Initialisation seed of a fresh model.
    """

    config: str = "small"
    init: str | None = None
    seed: int = 0


@dataclass
class RunConfig:
    """The training run.

    Args:
        stage (`int`, *optional*, defaults to 1): 1 = latent MSE only; 2 = one-step x̂₀ decoded to pixels with the
            SyncNet / LPIPS / TREPA losses of ``loss:`` (LatentSync's two stages).
        max_steps (`int`, *optional*, defaults to 1000): Optimizer updates.
        gradient_accumulation_steps (`int`, *optional*, defaults to 1): Micro-batches per update.
        mixed_precision (`str`, *optional*, defaults to `"no"`): ``no``, ``fp16`` or ``bf16`` (accelerate).
        gradient_checkpointing (`bool`, *optional*, defaults to `False`): Recompute U-Net activations in backward.
        trainable_modules (`list[str]`, *optional*, defaults to `["all"]`): ``all``, ``ead`` (text attention, STDA,
            TFRM) or substrings of parameter names (LatentSync: ``motion_modules.``, ``attentions.``).
        text_dropout (`float`, *optional*, defaults to 0.1): Probability of training a window with the empty prompt
            (the unconditional branch of text guidance).
        audio_dropout (`float`, *optional*, defaults to 0.05): Probability of zeroing the audio tokens (audio
            guidance's null condition).
        mixed_noise_alpha (`float`, *optional*, defaults to 1.0): Shared/per-frame noise mix (PYoCo, arXiv
            2305.10474; LatentSync uses α = 1); ``0`` gives independent noise per frame.
        seed (`int`, *optional*, defaults to 0): Seed of data order, noise and dropout.
        output_dir (`str`, *optional*, defaults to `"runs/eadnet"`): Checkpoints, samples, logs, final weights.
        checkpoint_every (`int`, *optional*, defaults to 500): Save a resumable checkpoint every N updates.
        checkpoints_total_limit (`int`, *optional*, defaults to 3): Keep only the newest N checkpoints.
        log_every (`int`, *optional*, defaults to 10): Write a metrics row every N updates.
        validate_every (`int`, *optional*, defaults to 0): Validate every N updates (0: only at the end).
        resume (`str`, *optional*): ``latest`` or a checkpoint folder to continue from.
        find_unused_parameters (`bool`, *optional*, defaults to `False`): DDP option for partial graphs.
    """

    stage: int = 1
    max_steps: int = 1000
    gradient_accumulation_steps: int = 1
    mixed_precision: str = "no"
    gradient_checkpointing: bool = False
    trainable_modules: list[str] = field(default_factory=lambda: ["all"])
    text_dropout: float = 0.1
    audio_dropout: float = 0.05
    mixed_noise_alpha: float = 1.0
    seed: int = 0
    output_dir: str = "runs/eadnet"
    checkpoint_every: int = 500
    checkpoints_total_limit: int = 3
    log_every: int = 10
    validate_every: int = 0
    resume: str | None = None
    find_unused_parameters: bool = False


@dataclass
class OptimizerConfig:
    """AdamW and the learning-rate schedule (diffusers' ``get_scheduler`` names).

    Args:
        lr (`float`, *optional*, defaults to 1e-4): Learning rate.
        weight_decay (`float`, *optional*, defaults to 1e-2): AdamW weight decay.
        betas (`list[float]`, *optional*, defaults to `[0.9, 0.999]`): AdamW betas.
        eps (`float`, *optional*, defaults to 1e-8): AdamW epsilon.
        max_grad_norm (`float`, *optional*, defaults to 1.0): Gradient clipping (0 disables it).
        lr_scheduler (`str`, *optional*, defaults to `"constant"`): ``constant``, ``constant_with_warmup``,
            ``cosine``, ``linear``, …
        warmup_steps (`int`, *optional*, defaults to 0): Warm-up updates.
    """

    lr: float = 1e-4
    weight_decay: float = 1e-2
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    max_grad_norm: float = 1.0
    lr_scheduler: str = "constant"
    warmup_steps: int = 0


@dataclass
class LossConfig:
    """Loss weights and the frozen networks the pixel losses need (docs/design.md §6; LatentSync stage 2:
    ``1·MSE + 0.05·sync + 0.1·LPIPS + 10·TREPA``).

    Args:
        mse (`float`, *optional*, defaults to 1.0): Weight of the ε-prediction MSE.
        sync (`float`, *optional*, defaults to 0.0): Weight of the SyncNet loss (stage 2).
        lpips (`float`, *optional*, defaults to 0.0): Weight of LPIPS on the lower half (stage 2; needs the
            ``lpips`` package, which needs torchvision — skipped with a warning when missing).
        trepa (`float`, *optional*, defaults to 0.0): Weight of TREPA (stage 2).
        pixel_l1 (`float`, *optional*, defaults to 0.0): Weight of an L1 loss on decoded pixels (stage 2).
        syncnet (`str`, *optional*): SyncNet folder (``save_pretrained``) or LatentSync ``stable_syncnet.pt``.
        mouth_weight (`float`, *optional*, defaults to 1.0): Weight of the ε-MSE inside the mouth region
            (:func:`eadnet.face.mouth_region`) relative to the background; the region the audio drives is a few
            latent pixels of a small model's crop and is otherwise drowned by the rest of the frame.
        face_weight (`float`, *optional*, defaults to 1.0): Weight of the ε-MSE inside the regenerated mask
            (brows, eyes, cheeks: where the emotion shows) relative to the background. The weight map is
            normalised to mean 1, so the loss scale, and the learning rate that suits it, stay as they were.
        snr_gamma (`float`, *optional*): Min-SNR-γ timestep weighting ``min(SNR_t, γ) / SNR_t`` of the ε-MSE
            (Hang et al., arXiv 2303.09556; γ = 5 there): the nearly clean timesteps, where the noisy latents already
            show the mouth and the model need not listen to the audio, stop dominating the loss.
        trepa_model (`str`, *optional*): A transformers ``VideoMAEModel`` folder (LatentSync uses VideoMAE-v2 g).
    """

    mse: float = 1.0
    sync: float = 0.0
    lpips: float = 0.0
    trepa: float = 0.0
    pixel_l1: float = 0.0
    mouth_weight: float = 1.0
    face_weight: float = 1.0
    snr_gamma: float | None = None
    syncnet: str | None = None
    trepa_model: str | None = None


@dataclass
class EMAConfig:
    """Exponential moving average of the trained weights (used for validation and the saved model).

    Args:
        enabled (`bool`, *optional*, defaults to `False`): Keep an EMA copy.
        decay (`float`, *optional*, defaults to 0.999): EMA decay per update.
        start_step (`int`, *optional*, defaults to 0): Copy the weights (no averaging) before this update.
    """

    enabled: bool = False
    decay: float = 0.999
    start_step: int = 0


@dataclass
class ValidationConfig:
    """Validation samples written as mp4 with their metrics.

    Args:
        num_clips (`int`, *optional*, defaults to 1): Validation clips sampled (first N of the val split).
        num_frames (`int`, *optional*, defaults to 32): Frames generated per clip (windows of ``data.num_frames``).
        num_inference_steps (`int`, *optional*, defaults to 20): Denoising steps.
        audio_guidance_scale (`float`, *optional*, defaults to 1.5): Audio CFG scale.
        text_guidance_scale (`float`, *optional*, defaults to 1.0): Text CFG scale.
    """

    num_clips: int = 1
    num_frames: int = 32
    num_inference_steps: int = 20
    audio_guidance_scale: float = 1.5
    text_guidance_scale: float = 1.0


class RecipeMixin:
    """``from_yaml`` / ``to_dict`` for a recipe dataclass with sections (the class provides ``from_dict``)."""

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, overrides: list[str] | None = None):
        """Reads a YAML recipe; ``overrides`` are ``section.key=value`` strings (YAML values) applied on top."""
        data = load_yaml(path)
        for override in overrides or []:
            _apply_override(data, override)
        return cls.from_dict(data)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class UNetTrainConfig(RecipeMixin):
    """A whole EAD-Net U-Net training recipe (``eadnet train unet --config recipe.yaml``)."""

    data: DataConfig = field(default_factory=DataConfig)
    components: ComponentsConfig = field(default_factory=ComponentsConfig)
    unet: UNetInitConfig = field(default_factory=UNetInitConfig)
    model: dict[str, Any] = field(default_factory=dict)
    train: RunConfig = field(default_factory=RunConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    ema: EMAConfig = field(default_factory=EMAConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)

    @classmethod
    def from_dict(cls, data: dict, base_dir: str | os.PathLike | None = None) -> UNetTrainConfig:
        """Builds a config from nested dicts; relative paths are resolved against ``base_dir`` when it is given
        and the path exists there (a recipe next to its data), else kept relative to the working directory."""
        data = dict(data or {})
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(
                f"unknown recipe section(s) {unknown}; sections: {[f.name for f in dataclasses.fields(cls)]}"
            )
        sections = {}
        for f in dataclasses.fields(cls):
            value = data.get(f.name)
            if f.name == "model":
                sections["model"] = _check_model_block(value or {})
                continue
            section_cls = f.default_factory().__class__
            sections[f.name] = _build_section(section_cls, value or {}, f.name)
        config = cls(**sections)
        config.validate()
        return config

    def validate(self) -> None:
        run = self.train
        if run.stage not in (1, 2):
            raise ValueError(f"train.stage must be 1 or 2, got {run.stage!r}")
        if run.max_steps < 1 or run.gradient_accumulation_steps < 1:
            raise ValueError("train.max_steps and train.gradient_accumulation_steps must be >= 1")
        if run.mixed_precision not in ("no", "fp16", "bf16"):
            raise ValueError(f"train.mixed_precision must be no, fp16 or bf16, got {run.mixed_precision!r}")
        for name in ("text_dropout", "audio_dropout"):
            if not 0.0 <= getattr(run, name) <= 1.0:
                raise ValueError(f"train.{name} must be in [0, 1]")
        if self.data.num_frames < 1 or self.data.batch_size < 1:
            raise ValueError("data.num_frames and data.batch_size must be >= 1")
        if not self.data.root:
            raise ValueError("data.root is required: a dataset folder made by `eadnet preprocess`")
        if self.data.reference not in ("clip", "neutral"):
            raise ValueError(f"data.reference must be 'clip' or 'neutral', got {self.data.reference!r}")
        losses = self.loss
        if run.stage == 1 and any(getattr(losses, n) for n in ("sync", "lpips", "trepa", "pixel_l1")):
            raise ValueError("stage 1 trains with the latent MSE only; set train.stage: 2 for pixel losses")
        if losses.mouth_weight <= 0 or losses.face_weight <= 0:
            raise ValueError("loss.mouth_weight and loss.face_weight must be > 0")
        if losses.snr_gamma is not None and losses.snr_gamma <= 0:
            raise ValueError(f"loss.snr_gamma must be > 0 (or null for no timestep weighting), got {losses.snr_gamma}")
        if losses.sync and not losses.syncnet:
            raise ValueError("loss.sync > 0 needs loss.syncnet (a SyncNet folder or stable_syncnet.pt)")
        if losses.trepa and not losses.trepa_model:
            raise ValueError("loss.trepa > 0 needs loss.trepa_model (a transformers VideoMAEModel folder)")


def _build_section(section_cls, values: dict, name: str):
    if not isinstance(values, dict):
        raise ValueError(f"recipe section {name!r} must be a mapping, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(section_cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in recipe section {name!r}; known: {sorted(fields)}")
    return section_cls(**values)


def _check_model_block(values: dict) -> dict:
    from eadnet.models.unet_3d import EADUNet3DModel

    if not isinstance(values, dict):
        raise ValueError("recipe section 'model' must be a mapping of EADUNet3DModel arguments")
    accepted = set(inspect.signature(EADUNet3DModel.__init__).parameters) - {"self"}
    unknown = sorted(set(values) - accepted)
    if unknown:
        raise ValueError(f"unknown EADUNet3DModel argument(s) {unknown} in recipe section 'model'")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}


def load_yaml(path: str | os.PathLike) -> dict:
    import yaml

    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"recipe {path} does not exist")
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    if not isinstance(data, dict):
        raise ValueError(f"recipe {path} must be a YAML mapping")
    return data


def _apply_override(data: dict, override: str) -> None:
    import yaml

    if "=" not in override or "." not in override.split("=", 1)[0]:
        raise ValueError(f"override {override!r} must look like section.key=value")
    key, value = override.split("=", 1)
    *path, leaf = key.split(".")
    node = data
    for part in path:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ValueError(f"override {override!r}: {part!r} is not a section")
    node[leaf] = yaml.safe_load(value)
