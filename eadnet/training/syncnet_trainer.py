"""Train a :class:`~eadnet.models.syncnet.SyncNet` on an EAD-Net clip dataset.

The recipe follows LatentSync's ``scripts/train_syncnet.py`` (https://github.com/bytedance/LatentSync): AdamW,
gradient clipping at 1.0, ``BCE(cos(v, a), label)`` on half in-sync, half shifted windows, and validation
accuracy with the similarity thresholded at 0.5 (``eval/eval_syncnet_acc.py``). Small SyncNets trained with a
large learning rate tend to collapse to input-independent embeddings (similarity 0.5, loss 0.69: the plateau
LatentSync's paper and Wav2Lip's issues describe); a low learning rate and ``paired`` batches (each window in
sync and shifted in the same batch) avoid it, see ``recipes/syncnet_tiny_cpu.yaml``. Devices, mixed precision,
gradient accumulation and multi-process runs go through ``accelerate``; checkpoints
(``accelerator.save_state``: weights, optimizer, RNG states, plus the step) make a run resumable to the same
weights it would have reached uninterrupted.

Output folder::

    config.json                 the recipe of the run
    metrics.jsonl               one JSON row per log or validation
    checkpoints/step-N/         resumable state
    syncnet/                    the latest weights, ``SyncNet.from_pretrained``-ready (safetensors)

```python
from eadnet.training.syncnet_trainer import SyncNetTrainConfig, train_syncnet

metrics = train_syncnet(SyncNetTrainConfig.from_yaml("recipes/syncnet_tiny_cpu.yaml"))
```
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml
from accelerate import Accelerator
from accelerate.utils import set_seed

from eadnet.data.loading import make_loader
from eadnet.data.syncnet_dataset import SyncNetDataset
from eadnet.losses.sync import sync_bce
from eadnet.models.syncnet import SyncNet, stack_lower_half
from eadnet.training.checkpointing import CheckpointedRun

logger = logging.getLogger(__name__)

__all__ = ["SyncNetTrainConfig", "SyncNetTrainer", "train_syncnet"]

MODEL_DIR = "syncnet"


@dataclass
class SyncNetTrainConfig:
    r"""A SyncNet training run. In YAML, every field is a top-level key and ``model:`` holds the
    :class:`SyncNet` constructor arguments; unknown keys are errors.

    Args:
        data_root (`str`): Dataset folder (``eadnet.data.format``).
        output_dir (`str`, *optional*, defaults to `"runs/syncnet"`): Checkpoints, metrics and the final model.
        model (`dict`, *optional*): :class:`SyncNet` keyword arguments (default: LatentSync's 256 px SyncNet).
        pretrained (`str`, *optional*): Start from a ``save_pretrained`` folder or a LatentSync ``stable_syncnet.pt``
            instead of random weights (``model`` is then ignored).
        train_split (`str`, *optional*, defaults to `"train"`): Manifest split to train on.
        val_split (`str`, *optional*, defaults to `"val"`): Held-out split; `None` skips validation.
        min_offset (`int`, *optional*, defaults to 5): Smallest audio shift of a negative pair, in frames.
        samples_per_clip (`int`, *optional*, defaults to 1): Training windows per clip and epoch.
        paired (`bool`, *optional*, defaults to `False`): Batches of (in-sync, shifted) pairs sharing their frames
            instead of LatentSync's independent 50/50 draws (see :class:`SyncNetDataset`); ``batch_size`` must be
            even. Much faster to leave the 0.69 plateau on small data.
        batch_size (`int`, *optional*, defaults to 32): Windows per process and micro-batch (LatentSync: 256).
        num_workers (`int`, *optional*, defaults to 0): DataLoader worker processes.
        learning_rate (`float`, *optional*, defaults to 1e-4): AdamW learning rate (LatentSync: 1e-5 at batch 256).
        weight_decay (`float`, *optional*, defaults to 1e-2): AdamW weight decay.
        max_grad_norm (`float`, *optional*, defaults to 1.0): Gradient clipping (0 = off).
        max_steps (`int`, *optional*, defaults to 1000): Optimizer updates.
        gradient_accumulation_steps (`int`, *optional*, defaults to 1): Micro-batches per update.
        mixed_precision (`str`, *optional*, defaults to `"no"`): ``no``, ``fp16`` or ``bf16``.
        gradient_checkpointing (`bool`, *optional*, defaults to `False`): Recompute activations in backward.
        seed (`int`, *optional*, defaults to 42): Seed of the initial weights, the data and its order.
        log_every (`int`, *optional*, defaults to 10): Metrics row every N updates.
        checkpoint_every (`int`, *optional*, defaults to 500): Resumable checkpoint every N updates (0 = only at the
            end).
        checkpoints_total_limit (`int`, *optional*, defaults to 2): Keep the newest N checkpoints (0 = all).
        validate_every (`int`, *optional*, defaults to 100): Validate every N updates (and always at the end).
        num_val_samples (`int`, *optional*, defaults to 256): Held-out windows per validation (fixed set).
        resume (`bool` or `str`, *optional*, defaults to `False`): `True` / ``"latest"`` continues from the newest
            checkpoint in ``output_dir``; a path continues from that checkpoint.
    """

    data_root: str
    output_dir: str = "runs/syncnet"
    model: dict = field(default_factory=dict)
    pretrained: str | None = None
    train_split: str | None = "train"
    val_split: str | None = "val"
    min_offset: int = 5
    samples_per_clip: int = 1
    paired: bool = False
    batch_size: int = 32
    num_workers: int = 0
    learning_rate: float = 1e-4
    weight_decay: float = 1e-2
    max_grad_norm: float = 1.0
    max_steps: int = 1000
    gradient_accumulation_steps: int = 1
    mixed_precision: str = "no"
    gradient_checkpointing: bool = False
    seed: int = 42
    log_every: int = 10
    checkpoint_every: int = 500
    checkpoints_total_limit: int = 2
    validate_every: int = 100
    num_val_samples: int = 256
    resume: bool | str = False

    @classmethod
    def from_dict(cls, data: dict) -> SyncNetTrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown SyncNet training keys {unknown}; known: {sorted(names)}")
        if "data_root" not in data:
            raise ValueError("a SyncNet recipe needs data_root (a dataset folder)")
        config = cls(**data)
        config.model = dict(config.model or {})
        if config.paired and config.batch_size % 2:
            raise ValueError(f"paired batches need an even batch_size, got {config.batch_size}")
        if config.mixed_precision not in ("no", "fp16", "bf16"):
            raise ValueError(f"mixed_precision must be no, fp16 or bf16, got {config.mixed_precision!r}")
        return config

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, overrides: list[str] | None = None) -> SyncNetTrainConfig:
        """Reads a recipe; ``overrides`` are ``key=value`` strings (YAML values; ``model.key=value`` for the model
        block), applied in order, e.g. ``["data_root=data/hdtf_256", "model.image_size=128"]``."""
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a recipe is a mapping of keys, got {type(data).__name__}")
        for override in overrides or []:
            key, sep, value = override.partition("=")
            if not sep or not key.strip():
                raise ValueError(f"an override is key=value, got {override!r}")
            *parents, name = key.strip().split(".")
            target = data
            for parent in parents:
                target = target.setdefault(parent, {})
                if not isinstance(target, dict):
                    raise ValueError(f"override {override!r}: {parent!r} is not a mapping")
            target[name] = yaml.safe_load(value)
        return cls.from_dict(data)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class SyncNetTrainer(CheckpointedRun):
    """The training loop of :func:`train_syncnet`, split into steps a test or a notebook can drive.

    Args:
        config ([`SyncNetTrainConfig`]): The run.
        accelerator (`accelerate.Accelerator`, *optional*): Default: one built from the config (CPU without CUDA).
    """

    def __init__(self, config: SyncNetTrainConfig, accelerator=None):
        self.config = config
        self.accelerator = accelerator or Accelerator(
            cpu=not torch.cuda.is_available(),
            mixed_precision=config.mixed_precision,
            gradient_accumulation_steps=config.gradient_accumulation_steps,
        )
        self.output_dir = Path(config.output_dir).expanduser()
        self.step = 0
        self.checkpoints_total_limit = config.checkpoints_total_limit
        set_seed(config.seed)
        model = self._build_model()
        window = {"num_frames": model.config.num_frames, "crop_size": model.config.image_size}
        self.train_dataset = self._dataset(config.train_split, config.samples_per_clip, **window)
        self.val_dataset = None
        if config.val_split is not None:
            num_val_clips = len(self._dataset(config.val_split, 1, **window).records)
            per_clip = math.ceil(config.num_val_samples / (num_val_clips * (2 if config.paired else 1)))
            self.val_dataset = self._dataset(config.val_split, per_clip, **window)
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
        self.model, self.optimizer = self.accelerator.prepare(model, optimizer)

    def _build_model(self) -> SyncNet:
        config = self.config
        if config.pretrained:
            path = Path(config.pretrained).expanduser()
            model = SyncNet.from_latentsync_checkpoint(path) if path.is_file() else SyncNet.from_pretrained(path)
        else:
            model = SyncNet(**config.model)
        if config.gradient_checkpointing:
            model.enable_gradient_checkpointing()
        logger.info("SyncNet: %.2fM parameters", sum(p.numel() for p in model.parameters()) / 1e6)
        return model.train()

    def _dataset(self, split: str | None, samples_per_clip: int, num_frames: int, crop_size: int) -> SyncNetDataset:
        config = self.config
        return SyncNetDataset(
            config.data_root,
            split=split,
            num_frames=num_frames,
            crop_size=crop_size,
            min_offset=config.min_offset,
            samples_per_clip=samples_per_clip,
            seed=config.seed,
            paired=config.paired,
        )

    # -------------------------------------------------------------------------------------------------- steps
    def compute_loss(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """``(loss, similarity (B,))`` of a batch from :class:`SyncNetDataset`."""
        device = self.accelerator.device
        frames = batch["frames"].to(device)
        visual_inputs = stack_frames(frames)
        similarity = self.model(visual_inputs, batch["mel"].to(device)).similarity
        return sync_bce(similarity, batch["label"].to(device)), similarity

    def _loader(self, start_batch: int, num_batches: int) -> torch.utils.data.DataLoader:
        config, accelerator = self.config, self.accelerator
        return make_loader(
            self.train_dataset,
            config.batch_size,
            seed=config.seed,
            start_batch=start_batch,
            num_batches=num_batches,
            rank=accelerator.process_index,
            world_size=accelerator.num_processes,
            num_workers=config.num_workers,
            paired=config.paired,
        )

    def train(self) -> dict:
        """Trains (or resumes) to ``max_steps``; returns the final metrics."""
        config, accelerator = self.config, self.accelerator
        self.output_dir.mkdir(parents=True, exist_ok=True)
        if config.resume:
            self.load_checkpoint("latest" if config.resume is True else config.resume)
        elif accelerator.is_main_process:
            (self.output_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=2))
        accumulation = config.gradient_accumulation_steps
        remaining = max(config.max_steps - self.step, 0)
        totals = {"loss": 0.0, "accuracy": 0.0, "batches": 0}
        last_train: dict = {}
        started = time.perf_counter()
        self.model.train()
        for batch in self._loader(self.step * accumulation, remaining * accumulation):
            with accelerator.accumulate(self.model):
                loss, similarity = self.compute_loss(batch)
                accelerator.backward(loss)
                if accelerator.sync_gradients and config.max_grad_norm > 0:
                    accelerator.clip_grad_norm_(self.model.parameters(), config.max_grad_norm)
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
            correct = ((similarity.detach() > 0.5).float() == batch["label"].to(similarity.device)).float().mean()
            totals["loss"] += float(loss.detach())
            totals["accuracy"] += float(correct)
            totals["batches"] += 1
            if not accelerator.sync_gradients:
                continue
            self.step += 1
            if self.step % config.log_every == 0 or self.step == config.max_steps:
                count = totals.pop("batches")
                last_train = {name: value / count for name, value in totals.items()}
                self._log({"step": self.step, **last_train, "seconds": round(time.perf_counter() - started, 3)})
                totals = {"loss": 0.0, "accuracy": 0.0, "batches": 0}
            if config.checkpoint_every and self.step % config.checkpoint_every == 0:
                self.save_checkpoint()
            if self.val_dataset is not None and config.validate_every and self.step % config.validate_every == 0:
                self.validate()
        return self._finish(last_train)

    @torch.no_grad()
    def validate(self) -> dict:
        """Loss, accuracy and mean similarities of in-sync / shifted pairs on the fixed held-out windows."""
        if self.val_dataset is None:
            return {}
        metrics: dict = {}
        if self.accelerator.is_main_process:
            model = self.accelerator.unwrap_model(self.model)
            was_training = model.training
            model.eval()
            loader = torch.utils.data.DataLoader(
                self.val_dataset, batch_size=self.config.batch_size, num_workers=self.config.num_workers
            )
            similarities, labels = [], []
            for batch in loader:
                visual_inputs = stack_frames(batch["frames"].to(self.accelerator.device))
                output = model(visual_inputs, batch["mel"].to(self.accelerator.device))
                similarities.append(output.similarity.float().cpu())
                labels.append(batch["label"].float())
            model.train(was_training)
            similarity, label = torch.cat(similarities), torch.cat(labels)
            metrics = {
                "val_loss": float(sync_bce(similarity, label)),
                "val_accuracy": float(((similarity > 0.5).float() == label).float().mean()),
                "val_sim_in_sync": float(similarity[label == 1].mean()) if (label == 1).any() else float("nan"),
                "val_sim_shifted": float(similarity[label == 0].mean()) if (label == 0).any() else float("nan"),
                "val_samples": int(label.numel()),
            }
            self._log({"step": self.step, **metrics})
        self.accelerator.wait_for_everyone()
        return metrics

    # --------------------------------------------------------------------------------------------- persistence
    def on_checkpoint_saved(self, folder: Path) -> None:
        self.save_model(self.output_dir / MODEL_DIR)  # ``syncnet/`` always holds the newest weights

    def save_model(self, directory: Path) -> Path:
        """``save_pretrained`` (safetensors) into ``directory``, replacing it only once complete."""
        directory = Path(directory)
        tmp = directory.with_name(f".{directory.name}.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        self.accelerator.unwrap_model(self.model).save_pretrained(tmp, safe_serialization=True)
        shutil.rmtree(directory, ignore_errors=True)
        tmp.rename(directory)
        return directory

    def _finish(self, last_train: dict) -> dict:
        config = self.config
        if config.checkpoint_every == 0 or self.step % config.checkpoint_every != 0:
            self.save_checkpoint()
        metrics = {"step": self.step, **{f"train_{k}": v for k, v in last_train.items()}}
        if self.val_dataset is not None:
            metrics.update(self.validate())
        metrics["model_dir"] = str(self.output_dir / MODEL_DIR)
        self.accelerator.end_training()
        return metrics


def stack_frames(frames: torch.Tensor) -> torch.Tensor:
    """Dataset frames ``(B, 3, F, S, S)`` → SyncNet visual input ``(B, 3 * F, S / 2, S)`` (no resizing: the
    dataset already resized them to the model's ``image_size``)."""
    return stack_lower_half(frames, frames.shape[-1])


def train_syncnet(config: SyncNetTrainConfig) -> dict:
    """Trains a SyncNet as ``config`` says; returns the final metrics (``step``, ``train_loss``,
    ``train_accuracy``, ``val_loss``, ``val_accuracy``, ``val_sim_in_sync``, ``val_sim_shifted``, ``model_dir``)."""
    return SyncNetTrainer(config).train()
