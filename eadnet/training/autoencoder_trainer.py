"""Training a small image autoencoder (diffusers ``AutoencoderTiny`` or ``AutoencoderKL``) from scratch on the face
crops of a clip dataset, so that an EAD-Net can ship with a VAE that was trained offline.

The autoencoder must keep the U-Net's input convention (4 latent channels, 8× downscaling: 4 noisy + 4 masked +
1 mask + 4 reference channels = 13). After training, the latents of a fixed sample of training frames are measured
and ``scaling_factor = 1 / std`` is written into the saved config, so that
:func:`~eadnet.models.autoencoder.vae_encode` returns latents of about unit standard deviation (Stable Diffusion's
0.18215 was found the same way, https://github.com/CompVis/latent-diffusion).

Data: random augmented frames of the clips (`eadnet.data.frame_dataset`). Loss: a readable weighted sum of pixel L1
and MSE, an SSIM term (1 − SSIM at full and half resolution), an image-gradient L1 (edges) — the terms of
`eadnet.losses.reconstruction` — and the posterior KL for ``AutoencoderKL``, with the pixel terms optionally weighted
up in the lower face (:func:`eadnet.face.mouth_mask`), since the mouth is what the talking head has to get right.

As in the U-Net trainer, `accelerate` runs it (one process or ``accelerate launch``), and a checkpoint holds the
weights, optimizer, learning-rate scheduler, every RNG and the data position, so a resumed run continues exactly as
the uninterrupted one would have.

Output folder::

    recipe.json                  the recipe of the run
    metrics.jsonl                one row per logged update
    checkpoints/step-N/          resumable state
    vae/                         the final autoencoder (``save_pretrained``, with the measured ``scaling_factor``)
    metrics.json                 scaling factor, latent statistics, validation PSNR / SSIM
    reconstructions.png          validation frames (top) and their reconstructions (bottom)

```python
from eadnet.training.autoencoder_trainer import AutoencoderTrainConfig, train_autoencoder

summary = train_autoencoder(AutoencoderTrainConfig.from_yaml("recipes/vae_small_cpu.yaml"))
```
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import diffusers
import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from diffusers.optimization import get_scheduler
from PIL import Image

from eadnet.data.format import read_manifest
from eadnet.data.frame_dataset import FaceFrameDataset, spread_frames
from eadnet.data.loading import make_loader
from eadnet.evaluation.image_quality import video_psnr_ssim
from eadnet.face import mouth_mask
from eadnet.losses.reconstruction import reconstruction_losses
from eadnet.models.autoencoder import vae_decode, vae_encode
from eadnet.training.checkpointing import CheckpointedRun
from eadnet.training.config import OptimizerConfig, RecipeMixin, _build_section
from eadnet.training.unet_trainer import weights_digest

logger = logging.getLogger(__name__)

__all__ = [
    "AUTOENCODER_CLASSES",
    "AutoencoderDataConfig",
    "AutoencoderLossConfig",
    "AutoencoderRunConfig",
    "AutoencoderTrainConfig",
    "AutoencoderTrainer",
    "build_autoencoder",
    "train_autoencoder",
]

#: The diffusers classes the trainer builds: four down/up stages give 8× downscaling (as the SD VAE), three give 4×
#: (small crops, e.g. the 64 px offline model with 16×16 latents). The pipeline reads the factor from the config.
AUTOENCODER_CLASSES = ("AutoencoderTiny", "AutoencoderKL")
LATENT_CHANNELS = 4
DOWNSCALES = (4, 8)
DOWNSCALE = 8  # the resolution granularity checked before the model is built (a multiple of 8 suits both)
MODEL_DIR = "vae"


# ------------------------------------------------------------------------------------------------------ config
@dataclass
class AutoencoderDataConfig:
    """Face crops to train on.

    Args:
        root (`str`): Dataset folder (``eadnet preprocess``; ``--frames-format npy`` reads fastest).
        train_split (`str`, *optional*, defaults to `"train"`): Manifest split to train on.
        val_split (`str`, *optional*, defaults to `"val"`): Split for PSNR / SSIM at the end (skipped when empty).
        resolution (`int`, *optional*): Train at this size (crops are resized); default the dataset's crop size.
        batch_size (`int`, *optional*, defaults to 4): Clips per process and micro-batch.
        frames_per_clip (`int`, *optional*, defaults to 4): Random frames taken from each clip (one clip is read
            once for all of them); a batch holds ``batch_size × frames_per_clip`` frames.
        num_workers (`int`, *optional*, defaults to 0): DataLoader worker processes.
        flip (`bool`, *optional*, defaults to `True`): Random horizontal flips.
        color_jitter (`float`, *optional*, defaults to 0.05): Largest brightness offset and relative contrast and
            saturation change (0 disables it).
    """

    root: str = ""
    train_split: str = "train"
    val_split: str = "val"
    resolution: int | None = None
    batch_size: int = 4
    frames_per_clip: int = 4
    num_workers: int = 0
    flip: bool = True
    color_jitter: float = 0.05


@dataclass
class AutoencoderRunConfig:
    """The training run.

    Args:
        max_steps (`int`, *optional*, defaults to 1000): Optimizer updates.
        gradient_accumulation_steps (`int`, *optional*, defaults to 1): Micro-batches per update.
        mixed_precision (`str`, *optional*, defaults to `"no"`): ``no``, ``fp16`` or ``bf16`` (accelerate).
        seed (`int`, *optional*, defaults to 0): Seed of the initial weights, data order and augmentation.
        output_dir (`str`, *optional*, defaults to `"runs/vae"`): Checkpoints, metrics and the final ``vae/``.
        checkpoint_every (`int`, *optional*, defaults to 500): Resumable checkpoint every N updates (0: none).
        checkpoints_total_limit (`int`, *optional*, defaults to 2): Keep only the newest N checkpoints (0: all).
        log_every (`int`, *optional*, defaults to 10): Write a metrics row every N updates.
        resume (`str`, *optional*): ``latest`` or a checkpoint folder to continue from.
        num_scale_frames (`int`, *optional*, defaults to 256): Training frames (spread evenly over the clips, not
            augmented) whose latents set ``scaling_factor``.
        shift_latents (`bool`, *optional*, defaults to `False`): Also store the latent mean as ``shift_factor``
            (SD3 / Flux style), so that scaled latents have zero mean as well as unit variance.
        num_val_frames (`int`, *optional*, defaults to 64): Validation frames (spread evenly over the val clips).
    """

    max_steps: int = 1000
    gradient_accumulation_steps: int = 1
    mixed_precision: str = "no"
    seed: int = 0
    output_dir: str = "runs/vae"
    checkpoint_every: int = 500
    checkpoints_total_limit: int = 2
    log_every: int = 10
    resume: str | None = None
    num_scale_frames: int = 256
    shift_latents: bool = False
    num_val_frames: int = 64


@dataclass
class AutoencoderLossConfig:
    """Loss weights; the total is ``Σ weight × term``.

    Args:
        l1 (`float`, *optional*, defaults to 1.0): Pixel L1.
        mse (`float`, *optional*, defaults to 0.0): Pixel MSE.
        ssim (`float`, *optional*, defaults to 0.0): ``1 − SSIM`` (Gaussian 11×11 window, on [0, 1] images),
            averaged over full and half resolution: a cheap structural term that needs no pretrained network.
        edge (`float`, *optional*, defaults to 0.0): L1 between the horizontal and vertical image gradients.
        kl (`float`, *optional*, defaults to 0.0): KL of an ``AutoencoderKL`` posterior to N(0, I), summed over a
            frame's latent elements and averaged over frames (the LDM convention: ~1e-6).
        lower_face (`float`, *optional*, defaults to 0.0): Extra pixel weight inside
            ``mouth_mask(S, "lower_face")``: the pixel terms weigh ``1 + lower_face`` there, 1 elsewhere.
    """

    l1: float = 1.0
    mse: float = 0.0
    ssim: float = 0.0
    edge: float = 0.0
    kl: float = 0.0
    lower_face: float = 0.0


@dataclass
class AutoencoderTrainConfig(RecipeMixin):
    """An autoencoder training recipe (``eadnet train vae --config recipe.yaml``). Sections: ``data``, ``model``
    (``class_name`` plus the constructor arguments of that diffusers class), ``train``, ``optimizer`` (as for the
    U-Net), ``loss``. Unknown keys are errors."""

    data: AutoencoderDataConfig = field(default_factory=AutoencoderDataConfig)
    model: dict[str, Any] = field(default_factory=lambda: {"class_name": "AutoencoderTiny"})
    train: AutoencoderRunConfig = field(default_factory=AutoencoderRunConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    loss: AutoencoderLossConfig = field(default_factory=AutoencoderLossConfig)

    @classmethod
    def from_dict(cls, data: dict) -> AutoencoderTrainConfig:
        data = dict(data or {})
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ValueError(f"unknown recipe section(s) {unknown}; sections: {names}")
        sections = {"model": _check_model_block(data.get("model") or {})}
        for f in dataclasses.fields(cls):
            if f.name != "model":
                section = _build_section(f.default_factory().__class__, data.get(f.name) or {}, f.name)
                sections[f.name] = _parse_numbers(section, f.name)
        config = cls(**sections)
        config.validate()
        return config

    def validate(self) -> None:
        data, run, loss = self.data, self.train, self.loss
        if not data.root:
            raise ValueError("data.root is required: a dataset folder made by `eadnet preprocess`")
        if data.resolution is not None and (data.resolution < 16 or data.resolution % DOWNSCALE):
            raise ValueError(f"data.resolution must be a multiple of {DOWNSCALE} and >= 16, got {data.resolution}")
        if data.batch_size < 1 or data.frames_per_clip < 1:
            raise ValueError("data.batch_size and data.frames_per_clip must be >= 1")
        if not 0.0 <= data.color_jitter < 1.0:
            raise ValueError(f"data.color_jitter must be in [0, 1), got {data.color_jitter}")
        if run.max_steps < 1 or run.gradient_accumulation_steps < 1:
            raise ValueError("train.max_steps and train.gradient_accumulation_steps must be >= 1")
        if run.mixed_precision not in ("no", "fp16", "bf16"):
            raise ValueError(f"train.mixed_precision must be no, fp16 or bf16, got {run.mixed_precision!r}")
        if run.num_scale_frames < 1:
            raise ValueError("train.num_scale_frames must be >= 1")
        weights = dataclasses.asdict(loss)
        if any(value < 0 for value in weights.values()):
            raise ValueError(f"loss weights must be >= 0, got {weights}")
        if not any(weights[name] for name in ("l1", "mse", "ssim", "edge")):
            raise ValueError("set at least one reconstruction loss weight (loss.l1, mse, ssim or edge)")
        if loss.kl and self.model["class_name"] != "AutoencoderKL":
            raise ValueError("loss.kl needs model.class_name: AutoencoderKL (AutoencoderTiny has no posterior)")


def _parse_numbers(section, name: str):
    """YAML 1.1 reads ``1e-3`` (no dot) as a string: take it as the number it spells in a number field."""
    for f in dataclasses.fields(section):
        value, kind = getattr(section, f.name), f.type.split(" |")[0]
        if isinstance(value, str) and kind in ("int", "float"):
            try:
                setattr(section, f.name, int(value) if kind == "int" else float(value))
            except ValueError:
                raise ValueError(f"{name}.{f.name} must be a number, got {value!r}") from None
    return section


def _check_model_block(values: dict) -> dict:
    if not isinstance(values, dict):
        raise ValueError("recipe section 'model' must be a mapping: class_name and constructor arguments")
    values = dict(values)
    class_name = values.pop("class_name", "AutoencoderTiny")
    if class_name not in AUTOENCODER_CLASSES:
        raise ValueError(f"model.class_name must be one of {AUTOENCODER_CLASSES}, got {class_name!r}")
    accepted = set(inspect.signature(getattr(diffusers, class_name).__init__).parameters) - {"self"}
    unknown = sorted(set(values) - accepted)
    if unknown:
        raise ValueError(f"unknown {class_name} argument(s) {unknown} in recipe section 'model'")
    if values.get("latent_channels", LATENT_CHANNELS) != LATENT_CHANNELS:
        raise ValueError(f"model.latent_channels must be {LATENT_CHANNELS} (the U-Net's 13-channel input)")
    return {"class_name": class_name, **{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}}


def build_autoencoder(model: dict):
    """A freshly initialised autoencoder from a recipe's ``model:`` block (draws from the global RNG), checked to
    map ``(1, 3, 64, 64)`` to ``(1, 4, 8, 8)`` or ``(1, 4, 16, 16)`` (8× or 4× downscaling)."""
    arguments = dict(model)
    vae = getattr(diffusers, arguments.pop("class_name"))(**arguments)
    with torch.no_grad():
        shape = tuple(vae_encode(vae.eval(), torch.zeros(1, 3, 64, 64)).shape)
    if shape not in [(1, LATENT_CHANNELS, 64 // factor, 64 // factor) for factor in DOWNSCALES]:
        raise ValueError(
            f"the model block maps 64 px to latents {shape}; it must downscale 8× (four down/up stages) "
            f"or 4× (three) to {LATENT_CHANNELS} channels"
        )
    return vae.train()


# ------------------------------------------------------------------------------------------------------- data
def _batches(frames: np.ndarray, size: int = 32) -> list[np.ndarray]:
    return np.array_split(frames, -(-len(frames) // size))


def _to_pixels(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def _to_frames(pixels: torch.Tensor) -> np.ndarray:
    return ((pixels.float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


# ------------------------------------------------------------------------------------------------------ model
class _Reconstruction(torch.nn.Module):
    """Encode → decode in one ``forward``, so that a DDP wrapper (``accelerate launch``) sees the whole graph.
    Training decodes a posterior sample (``AutoencoderKL``) or the latents as they are (``AutoencoderTiny``)."""

    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, 3, S, S)`` in [-1, 1] → the reconstruction and the mean per-frame KL (0 without a posterior)."""
        encoded = self.vae.encode(pixels)
        if hasattr(encoded, "latent_dist"):
            latents, kl = encoded.latent_dist.sample(), encoded.latent_dist.kl().mean()
        else:
            latents, kl = encoded.latents, pixels.new_zeros(())
        return self.vae.decode(latents).sample, kl


# ------------------------------------------------------------------------------------------------------ trainer
class AutoencoderTrainer(CheckpointedRun):
    r"""Owns one autoencoder training run; ``train()`` runs it to ``train.max_steps`` and returns a summary.

    Args:
        config ([`AutoencoderTrainConfig`]): The recipe.
        accelerator (`accelerate.Accelerator`, *optional*): Created from the recipe when omitted.
    """

    def __init__(self, config: AutoencoderTrainConfig, accelerator=None):
        self.config = config
        self.accelerator = accelerator or Accelerator(
            gradient_accumulation_steps=config.train.gradient_accumulation_steps,
            mixed_precision=config.train.mixed_precision,
            cpu=not torch.cuda.is_available(),
        )
        self.output_dir = Path(config.train.output_dir).expanduser()
        self.step = 0
        self.checkpoints_total_limit = config.train.checkpoints_total_limit
        data = config.data
        set_seed(config.train.seed)
        self.dataset = FaceFrameDataset(
            data.root,
            data.train_split,
            data.resolution,
            data.frames_per_clip,
            data.flip,
            data.color_jitter,
            seed=config.train.seed,
        )
        self.resolution = self.dataset.resolution
        if not len(self.dataset):
            raise ValueError(f"{data.root} has no {data.train_split!r} clips to train on")
        if self.resolution % DOWNSCALE:
            raise ValueError(f"train at a multiple of {DOWNSCALE} px (set data.resolution), not {self.resolution}")
        vae = build_autoencoder(config.model)
        logger.info(
            "%s: %.3fM parameters, training at %d px on %d clip(s) of %s",
            type(vae).__name__,
            sum(p.numel() for p in vae.parameters()) / 1e6,
            self.resolution,
            len(self.dataset),
            data.root,
        )
        self.pixel_weight = None
        if config.loss.lower_face:
            mask = torch.from_numpy(mouth_mask(self.resolution, "lower_face"))
            self.pixel_weight = (1 + config.loss.lower_face * mask)[None, None].to(self.accelerator.device)
        optim = config.optimizer
        optimizer = torch.optim.AdamW(
            vae.parameters(), lr=optim.lr, betas=tuple(optim.betas), eps=optim.eps, weight_decay=optim.weight_decay
        )
        self.lr_scheduler = get_scheduler(
            optim.lr_scheduler,
            optimizer,
            num_warmup_steps=optim.warmup_steps,
            num_training_steps=config.train.max_steps,
        )
        self.model, self.optimizer = self.accelerator.prepare(_Reconstruction(vae), optimizer)
        self.accelerator.register_for_checkpointing(self.lr_scheduler)

    @property
    def vae(self):
        return self.accelerator.unwrap_model(self.model).vae

    def _pixels(self, frames: np.ndarray) -> torch.Tensor:
        return _to_pixels(frames).to(self.accelerator.device)

    # --------------------------------------------------------------------------------------------------- step
    def compute_losses(self, batch: dict) -> dict[str, torch.Tensor]:
        """The loss terms of one micro-batch (``loss`` is their weighted sum)."""
        pixels = batch["pixel_values"].to(self.accelerator.device).flatten(0, 1)  # (B·k, 3, S, S)
        with self.accelerator.autocast():
            reconstruction, kl = self.model(pixels)
        weights = dataclasses.asdict(self.config.loss)
        names = {name for name in ("l1", "mse", "ssim", "edge") if weights[name]}
        terms = reconstruction_losses(reconstruction.float(), pixels, self.pixel_weight, names)
        if weights["kl"]:
            terms["kl"] = kl.float()
        terms["loss"] = sum(weights[name] * value for name, value in terms.items())
        return terms

    def _loader(self, start_batch: int, num_batches: int) -> torch.utils.data.DataLoader:
        return make_loader(
            self.dataset,
            self.config.data.batch_size,
            seed=self.config.train.seed,
            start_batch=start_batch,
            num_batches=num_batches,
            rank=self.accelerator.process_index,
            world_size=self.accelerator.num_processes,
            num_workers=self.config.data.num_workers,
        )

    def train(self) -> dict:
        """Runs (or resumes) the training to ``train.max_steps``; returns the final summary."""
        config, accelerator = self.config, self.accelerator
        self.output_dir.mkdir(parents=True, exist_ok=True)
        if config.train.resume:
            self.load_checkpoint(config.train.resume)
        elif accelerator.is_main_process:
            (self.output_dir / "recipe.json").write_text(json.dumps(config.to_dict(), indent=2, default=str))
        accumulation = config.train.gradient_accumulation_steps
        remaining = max(config.train.max_steps - self.step, 0)
        self.model.train()
        loader = self._loader(self.step * accumulation, remaining * accumulation)
        history = self.run_updates(
            self.model,
            loader,
            self.compute_losses,
            max_steps=config.train.max_steps,
            accumulation=accumulation,
            max_grad_norm=config.optimizer.max_grad_norm,
            log_every=config.train.log_every,
            checkpoint_every=config.train.checkpoint_every,
        )
        return self._finish(history)

    # ---------------------------------------------------------------------------------------------------- end
    @torch.no_grad()
    def measure_latents(self) -> dict:
        """Sets ``scaling_factor`` (and with ``train.shift_latents`` ``shift_factor``) of the autoencoder's config
        from the latents of ``train.num_scale_frames`` training frames; returns the statistics."""
        vae, run = self.vae.eval(), self.config.train
        frames = spread_frames(self.dataset.root, self.dataset.records, run.num_scale_frames, self.resolution)
        latents = torch.cat([vae_encode(vae, self._pixels(chunk)).float().cpu() for chunk in _batches(frames)])
        latents = latents / vae.config.scaling_factor + (getattr(vae.config, "shift_factor", None) or 0.0)  # raw
        mean, std = float(latents.mean()), float(latents.std())
        updates = {"scaling_factor": 1.0 / std}
        if run.shift_latents:
            updates["shift_factor"] = mean
        vae.register_to_config(**updates)
        return {
            "scaling_factor": 1.0 / std,
            "shift_factor": getattr(vae.config, "shift_factor", None),
            "latent_mean": mean,
            "latent_std": std,
            "latent_channel_mean": latents.mean(dim=(0, 2, 3)).tolist(),
            "latent_channel_std": latents.std(dim=(0, 2, 3)).tolist(),
            "num_scale_frames": len(frames),
        }

    @torch.no_grad()
    def validate(self) -> dict:
        """PSNR / SSIM of ``vae_decode(vae_encode(x))`` against ``train.num_val_frames`` validation frames, and the
        contact sheet ``reconstructions.png``."""
        root, vae = self.config.data.root, self.vae.eval()
        records = read_manifest(root, self.config.data.val_split)
        frames = spread_frames(root, records, self.config.train.num_val_frames, self.resolution)
        if not len(frames):
            logger.info("No %r clips: skipping validation", self.config.data.val_split)
            return {}
        reconstructed = np.concatenate(
            [_to_frames(vae_decode(vae, vae_encode(vae, self._pixels(chunk)))) for chunk in _batches(frames)]
        )
        quality = video_psnr_ssim(reconstructed, frames)
        shown = np.linspace(0, len(frames) - 1, min(8, len(frames))).round().astype(int)
        sheet = np.concatenate(
            [np.concatenate(list(frames[shown]), axis=1), np.concatenate(list(reconstructed[shown]), axis=1)], axis=0
        )
        Image.fromarray(sheet).save(self.output_dir / "reconstructions.png")
        return {"val_psnr": quality["psnr"], "val_ssim": quality["ssim"], "num_val_frames": len(frames)}

    def _finish(self, history: list[dict]) -> dict:
        accelerator = self.accelerator
        accelerator.wait_for_everyone()
        digest = weights_digest(self.vae)
        summary = {
            "step": self.step,
            "weights_sha256": digest,
            "history": history,
            "num_processes": accelerator.num_processes,
            "is_main_process": accelerator.is_main_process,
        }
        if accelerator.is_main_process:
            metrics = {
                "step": self.step,
                "weights_sha256": digest,
                "resolution": self.resolution,
                **self.measure_latents(),
                **self.validate(),
            }
            summary.update(metrics, vae_dir=str(self.save_model(self.output_dir / MODEL_DIR)))
            (self.output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
        accelerator.wait_for_everyone()
        accelerator.end_training()
        return summary

    def save_model(self, directory: Path) -> Path:
        """``save_pretrained`` (safetensors) into ``directory``, replacing it only once complete."""
        directory = Path(directory)
        tmp = directory.with_name(f".{directory.name}.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        self.vae.save_pretrained(tmp, safe_serialization=True)
        shutil.rmtree(directory, ignore_errors=True)
        tmp.rename(directory)
        return directory


def train_autoencoder(config: AutoencoderTrainConfig) -> dict:
    """Trains an autoencoder as ``config`` says (see :class:`AutoencoderTrainer`); returns the summary: ``step``,
    ``weights_sha256``, ``history`` and, on the main process, ``scaling_factor``, the latent statistics,
    ``val_psnr`` / ``val_ssim`` and ``vae_dir``."""
    return AutoencoderTrainer(config).train()
