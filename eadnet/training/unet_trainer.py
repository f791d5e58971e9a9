"""Training the EAD-Net U-Net: stage 1 (latent ε-MSE) and stage 2 (one-step x̂₀ decoded to pixels with SyncNet,
LPIPS and TREPA losses), LatentSync's two-stage recipe (arXiv 2412.09262 §3.4,
https://github.com/bytedance/LatentSync/blob/main/scripts/train_unet.py) with EAD-Net's emotion text, STDA and TFRM.

`accelerate` runs it on one device or many (``accelerate launch``), with mixed precision and gradient accumulation.
A checkpoint holds the model, optimizer, learning-rate scheduler, EMA, every RNG and the data position, so a resumed
run continues exactly as the uninterrupted run would have.

```python
from eadnet.training import UNetTrainConfig, train_unet

summary = train_unet(UNetTrainConfig.from_yaml("recipes/unet_tiny_cpu.yaml"))
```
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from eadnet.data.loading import make_loader
from eadnet.data.unet_dataset import UNetClipDataset, clip_description
from eadnet.losses.diffusion import mixed_noise, predicted_original
from eadnet.models.autoencoder import vae_decode, vae_encode
from eadnet.training.checkpointing import CheckpointedRun
from eadnet.training.config import UNetTrainConfig
from eadnet.training.ema import EMAWeights

logger = logging.getLogger(__name__)

__all__ = ["UNetTrainer", "build_unet", "select_trainable", "train_unet", "weights_digest"]


def weights_digest(module: torch.nn.Module) -> str:
    """SHA-256 of a module's state dict (names, dtypes, shapes and bytes): equal digests mean equal weights."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def select_trainable(unet: torch.nn.Module, patterns: list[str]) -> list[str]:
    """Freezes every parameter, then unfreezes those selected by ``patterns`` (``all``, ``ead`` or name substrings,
    e.g. LatentSync's ``motion_modules.`` and ``attentions.``). Returns the trainable names."""
    from eadnet.models.unet_3d import is_ead_parameter

    if not patterns:
        raise ValueError("train.trainable_modules is empty: name what to train (all, ead or parameter-name parts)")
    selected = []
    for name, parameter in unet.named_parameters():
        keep = any(
            p == "all" or (p == "ead" and is_ead_parameter(name)) or (p not in ("all", "ead") and p in name)
            for p in patterns
        )
        parameter.requires_grad_(keep)
        if keep:
            selected.append(name)
    if not selected:
        raise ValueError(f"train.trainable_modules {patterns} selects no U-Net parameter")
    return selected


def build_unet(config: UNetTrainConfig, audio_dim: int, text_dim: int):
    """The U-Net to train: fresh from a named config + the recipe's ``model:`` block, or loaded from ``unet.init``
    (a U-Net folder, a model folder, or a LatentSync checkpoint; EAD modules absent there stay zero-initialised)."""
    from eadnet.hub.local import is_model_folder
    from eadnet.models.unet_3d import UNET_CONFIGS, EADUNet3DModel, is_ead_parameter

    overrides = dict(config.model)
    for key, value in (("cross_attention_dim", audio_dim), ("text_embed_dim", text_dim)):
        if key in overrides and overrides[key] != value:
            raise ValueError(f"model.{key}={overrides[key]} does not match the components (width {value})")
        overrides[key] = value
    init = config.unet.init
    if init is None:
        if config.unet.config not in UNET_CONFIGS:
            raise ValueError(f"unet.config must be one of {sorted(UNET_CONFIGS)}, got {config.unet.config!r}")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.unet.seed)
            return EADUNet3DModel.from_named_config(config.unet.config, **overrides)
    path = Path(init).expanduser()
    if is_model_folder(path):
        path = path / "unet"
    if path.is_file():
        from eadnet.hub.converters import convert_latentsync_unet
        from eadnet.io.checkpoint import load_latentsync_checkpoint

        base = {**UNET_CONFIGS.get(config.unet.config, {}), **overrides}
        model, report = convert_latentsync_unet(load_latentsync_checkpoint(path), base)
        logger.info("U-Net initialised from LatentSync checkpoint %s\n%s", path, report.summary())
        return model
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"unet.init {init}: not a U-Net folder, model folder or checkpoint file")
    pretrained = EADUNet3DModel.from_pretrained(path)
    wanted = {**dict(pretrained.config), **overrides}
    wanted = {k: v for k, v in wanted.items() if not k.startswith("_")}
    model = EADUNet3DModel(**wanted)
    missing, unexpected = model.load_state_dict(pretrained.state_dict(), strict=False)
    bad = [k for k in missing if not is_ead_parameter(k)]
    if bad or unexpected:
        raise ValueError(
            f"unet.init {init} does not fit the recipe's model: missing {bad[:8]}, unexpected {list(unexpected)[:8]}"
        )
    if missing:
        logger.info("unet.init %s: %d EAD parameter(s) start zero-initialised", init, len(missing))
    return model


class UNetTrainer(CheckpointedRun):
    r"""Owns one training run. ``train()`` runs it to ``train.max_steps`` and returns a summary.

    Args:
        config ([`UNetTrainConfig`]): The recipe.
        accelerator (`accelerate.Accelerator`, *optional*): Created from the recipe when omitted.
    """

    def __init__(self, config: UNetTrainConfig, accelerator=None):
        self.config = config
        self.output_dir = Path(config.train.output_dir).expanduser()
        if accelerator is None:
            from accelerate import Accelerator
            from accelerate.utils import DistributedDataParallelKwargs

            accelerator = Accelerator(
                gradient_accumulation_steps=config.train.gradient_accumulation_steps,
                mixed_precision=config.train.mixed_precision,
                cpu=not torch.cuda.is_available(),
                kwargs_handlers=[
                    DistributedDataParallelKwargs(find_unused_parameters=config.train.find_unused_parameters)
                ],
            )
        self.accelerator = accelerator
        self.step = 0
        self.checkpoints_total_limit = config.train.checkpoints_total_limit
        self._text_cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    # ------------------------------------------------------------------------------------------------ setup
    def setup(self) -> None:
        from accelerate.utils import set_seed
        from diffusers.optimization import get_scheduler

        from eadnet.face import mouth_mask, mouth_region
        from eadnet.hub.loading import load_components
        from eadnet.hub.local import resolve_model

        config, accelerator = self.config, self.accelerator
        set_seed(config.train.seed)
        preset, local_paths = resolve_model(config.components.model)
        if config.components.vae:
            vae_dir = Path(config.components.vae).expanduser()
            if not (vae_dir / "config.json").is_file():
                raise ValueError(
                    f"components.vae={config.components.vae!r} is not a diffusers autoencoder folder "
                    "(no config.json); point it at the vae/ folder an `eadnet train vae` run writes"
                )
            local_paths = {**(local_paths or {}), "vae": vae_dir}
        self.preset = preset
        components = load_components(
            preset,
            device=accelerator.device,
            local_paths=local_paths,
            models_dir=config.components.models_dir,
            components=("vae", "audio_encoder", "text_encoder", "scheduler"),
        )
        self.vae = components["vae"].requires_grad_(False).eval()
        self.audio_encoder = components["audio_encoder"].requires_grad_(False).eval()
        self.text_encoder = components["text_encoder"].requires_grad_(False).eval()
        self.scheduler = components["scheduler"]
        text_dim = self.text_encoder.hidden_size
        self.unet = build_unet(config, self.audio_encoder.output_dim, text_dim)
        if config.train.gradient_checkpointing:
            self.unet.enable_gradient_checkpointing()
        self.trainable_names = select_trainable(self.unet, config.train.trainable_modules)
        self.unet.train()

        from eadnet.data.format import read_dataset_info

        info = read_dataset_info(config.data.root)
        self.info = info
        self.mask_mode = config.data.mask_mode or info.mask_mode
        keep = 1.0 - torch.from_numpy(np.ascontiguousarray(mouth_mask(info.crop_size, self.mask_mode), np.float32))
        self.keep_pixels = keep[None, None].to(accelerator.device)  # (1, 1, S, S): 1 where the reference is kept
        losses = config.loss
        self.loss_weight_pixels = None  # the ε-MSE's region weights (mouth, face), or None for the plain MSE
        if losses.mouth_weight != 1.0 or losses.face_weight != 1.0:
            weight = (
                1.0
                + (losses.face_weight - 1.0) * (1.0 - keep)
                + (losses.mouth_weight - 1.0) * torch.from_numpy(mouth_region(info.crop_size))
            )
            self.loss_weight_pixels = weight[None, None].to(accelerator.device)
        self._loss_weights: dict[int, torch.Tensor] = {}  # latent size → mean-1 map (1, 1, 1, h, w)
        self.dataset = self._dataset(config.data.train_split, with_mel=config.loss.sync > 0)
        logger.info("Training on %d clip(s) of %s", len(self.dataset), config.data.root)

        parameters = [p for p in self.unet.parameters() if p.requires_grad]
        optim = config.optimizer
        self.optimizer = torch.optim.AdamW(
            parameters, lr=optim.lr, betas=tuple(optim.betas), eps=optim.eps, weight_decay=optim.weight_decay
        )
        self.lr_scheduler = get_scheduler(
            optim.lr_scheduler,
            self.optimizer,
            num_warmup_steps=optim.warmup_steps,
            num_training_steps=config.train.max_steps,
        )
        self.unet, self.optimizer = accelerator.prepare(self.unet, self.optimizer)
        accelerator.register_for_checkpointing(self.lr_scheduler)
        self.ema = None
        if config.ema.enabled:
            trained = [p for p in accelerator.unwrap_model(self.unet).parameters() if p.requires_grad]
            self.ema = EMAWeights(trained, decay=config.ema.decay, start_step=config.ema.start_step)
            accelerator.register_for_checkpointing(self.ema)
        self._setup_pixel_losses()

    def _dataset(self, split: str, with_mel: bool = False) -> UNetClipDataset:
        return UNetClipDataset(
            self.config.data.root,
            num_frames=self.config.data.num_frames,
            split=split,
            slice_audio=self.audio_encoder.slice_frames,
            audio_encoder=self.audio_encoder,
            with_mel=with_mel,
            emotions=self.config.data.emotions,
            seed=self.config.train.seed,
            reference=self.config.data.reference,
        )

    def _setup_pixel_losses(self) -> None:
        losses, device = self.config.loss, self.accelerator.device
        self.sync_loss = self.trepa_loss = self.lpips_loss = None
        if self.config.train.stage != 2:
            return
        if losses.sync:
            from eadnet.losses.sync import SyncLoss
            from eadnet.models.syncnet import SyncNet

            path = Path(losses.syncnet).expanduser()
            syncnet = SyncNet.from_latentsync_checkpoint(path) if path.is_file() else SyncNet.from_pretrained(path)
            self.sync_loss = SyncLoss(syncnet).to(device)
        if losses.trepa:
            from eadnet.losses.trepa import TREPALoss

            self.trepa_loss = TREPALoss.from_pretrained(losses.trepa_model).to(device)
        if losses.lpips:
            try:
                import lpips  # needs torchvision
            except Exception as error:  # noqa: BLE001 - any import failure means "not available"
                logger.warning(
                    "loss.lpips is set but the lpips package is unavailable (%s); training without it", error
                )
            else:
                self.lpips_loss = lpips.LPIPS(net="vgg").to(device).eval().requires_grad_(False)

    # -------------------------------------------------------------------------------------------- conditioning
    def _text_tokens(self, descriptions: list[str], drop: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-sample text tokens (the empty prompt where ``drop``), padded to one length with a masked tail."""
        rows = []
        for description, dropped in zip(descriptions, drop.tolist(), strict=True):
            text = "" if dropped or not description.strip() else description
            if text not in self._text_cache:
                with torch.no_grad():
                    encoded = self.text_encoder.encode_unconditional(1) if not text else self.text_encoder(text)
                self._text_cache[text] = (encoded[0][0].float(), encoded[1][0])
            rows.append(self._text_cache[text])
        length = max(tokens.shape[0] for tokens, _ in rows)
        tokens = torch.zeros(len(rows), length, rows[0][0].shape[-1], device=self.accelerator.device)
        mask = torch.zeros(len(rows), length, dtype=torch.bool, device=self.accelerator.device)
        for i, (row_tokens, row_mask) in enumerate(rows):
            tokens[i, : row_tokens.shape[0]] = row_tokens
            mask[i, : row_mask.shape[0]] = row_mask
        return tokens, mask

    def _encode_frames(self, pixels: torch.Tensor) -> torch.Tensor:
        """``(B, 3, F, S, S)`` → latents ``(B, 4, F, h, w)`` with the frozen VAE."""
        batch, _, frames = pixels.shape[:3]
        flat = pixels.transpose(1, 2).flatten(0, 1)
        latents = vae_encode(self.vae, flat)
        return latents.unflatten(0, (batch, frames)).transpose(1, 2)

    def _decode_frames(self, latents: torch.Tensor) -> torch.Tensor:
        batch, _, frames = latents.shape[:3]
        pixels = vae_decode(self.vae, latents.transpose(1, 2).flatten(0, 1).to(self.vae.dtype), clamp=False)
        return pixels.unflatten(0, (batch, frames)).transpose(1, 2)

    # ------------------------------------------------------------------------------------------------ step
    def compute_losses(self, batch: dict) -> dict[str, torch.Tensor]:
        """The weighted loss terms of one micro-batch (``loss`` is their sum)."""
        config, device = self.config, self.accelerator.device
        pixels = batch["pixel_values"].to(device)
        batch_size, _, num_frames = pixels.shape[:3]
        with torch.no_grad():
            latents = self._encode_frames(pixels)
            masked = self._encode_frames(pixels * self.keep_pixels[:, :, None])
            refs = self._encode_frames(batch["ref_pixel_values"].to(device))
        latent_size = latents.shape[-1]
        keep_latent = F.interpolate(
            self.keep_pixels, size=(latent_size, latent_size), mode="bilinear", align_corners=False
        )
        keep_latent = keep_latent[:, :, None].expand(batch_size, 1, num_frames, latent_size, latent_size)

        noise = mixed_noise(tuple(latents.shape), config.train.mixed_noise_alpha, device=device, dtype=latents.dtype)
        timesteps = torch.randint(0, self.scheduler.config.num_train_timesteps, (batch_size,), device=device)
        noisy = self.scheduler.add_noise(latents, noise, timesteps)
        audio = batch["audio_embeds"].to(device)
        drop_audio = torch.rand(batch_size, device=device) < config.train.audio_dropout
        audio = torch.where(drop_audio[:, None, None, None], torch.zeros_like(audio), audio)
        drop_text = torch.rand(batch_size) < config.train.text_dropout
        text_tokens, text_mask = self._text_tokens(list(batch["description"]), drop_text)

        unet_input = torch.cat([noisy, keep_latent.to(noisy.dtype), masked, refs], dim=1)
        with self.accelerator.autocast():
            noise_pred = self.unet(
                unet_input, timesteps, audio_embeds=audio, text_embeds=text_tokens, text_attention_mask=text_mask
            ).sample
        terms = {"mse": self._weighted_mse(noise_pred.float(), noise.float(), timesteps)}
        if config.train.stage == 2:
            terms.update(self._pixel_losses(batch, pixels, noise_pred, timesteps, noisy))
        weights = dataclasses.asdict(config.loss)
        terms["loss"] = sum(weights[name] * value for name, value in terms.items())
        return terms

    def _weighted_mse(self, prediction: torch.Tensor, target: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """The ε-MSE with the recipe's spatial weights (mouth, face; a mean-1 map at latent size) and Min-SNR-γ
        timestep weights; the plain MSE when neither is set."""
        losses = self.config.loss
        squared = (prediction - target) ** 2  # (B, C, F, h, w)
        if self.loss_weight_pixels is not None:
            size = squared.shape[-1]
            if size not in self._loss_weights:
                weight = F.interpolate(self.loss_weight_pixels, size=(size, size), mode="area")
                self._loss_weights[size] = (weight / weight.mean())[:, :, None]
            squared = squared * self._loss_weights[size]
        per_sample = squared.flatten(1).mean(1)
        if losses.snr_gamma is not None:
            alphas = self.scheduler.alphas_cumprod.to(per_sample.device)[timesteps.to(per_sample.device)]
            snr = alphas / (1.0 - alphas)
            per_sample = per_sample * torch.clamp(snr, max=losses.snr_gamma) / snr
        return per_sample.mean()

    def _pixel_losses(self, batch, pixels, noise_pred, timesteps, noisy) -> dict[str, torch.Tensor]:
        losses = self.config.loss
        x0 = predicted_original(self.scheduler, noise_pred.float(), timesteps, noisy.float())
        with self.accelerator.autocast():
            decoded = self._decode_frames(x0)  # (B, 3, F, S, S); gradients reach the U-Net through x̂₀
        decoded = decoded.float()
        terms = {}
        if losses.pixel_l1:
            terms["pixel_l1"] = F.l1_loss(decoded, pixels)
        if self.sync_loss is not None:
            terms["sync"] = self.sync_loss(decoded, batch["mel"].to(decoded.device))
        if self.trepa_loss is not None:
            terms["trepa"] = self.trepa_loss(decoded, pixels)
        if self.lpips_loss is not None:
            half = decoded.shape[-2] // 2
            lower = decoded[..., half:, :].transpose(1, 2).flatten(0, 1)
            target = pixels[..., half:, :].transpose(1, 2).flatten(0, 1)
            terms["lpips"] = self.lpips_loss(lower, target).mean()
        return terms

    # ------------------------------------------------------------------------------------------------ loop
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
        if not hasattr(self, "unet"):
            self.setup()
        self.output_dir.mkdir(parents=True, exist_ok=True)
        if config.train.resume:
            self.load_checkpoint(config.train.resume)
        elif accelerator.is_main_process:
            (self.output_dir / "recipe.json").write_text(json.dumps(config.to_dict(), indent=2, default=str))
        accumulation = config.train.gradient_accumulation_steps
        remaining = config.train.max_steps - self.step
        loader = self._loader(self.step * accumulation, max(remaining, 0) * accumulation)
        history = self.run_updates(
            self.unet,
            loader,
            self.compute_losses,
            max_steps=config.train.max_steps,
            accumulation=accumulation,
            max_grad_norm=config.optimizer.max_grad_norm,
            log_every=config.train.log_every,
            checkpoint_every=config.train.checkpoint_every,
        )
        return self._finish(history)

    def on_update(self) -> None:
        if self.ema is not None:
            self.ema.update(self.step)

    def on_step_end(self) -> None:
        if self.config.train.validate_every and self.step % self.config.train.validate_every == 0:
            self.validate()

    # ------------------------------------------------------------------------------------------------ end
    def unwrapped_unet(self):
        return self.accelerator.unwrap_model(self.unet)

    def _finish(self, history: list[dict]) -> dict:
        accelerator = self.accelerator
        accelerator.wait_for_everyone()
        unet = self.unwrapped_unet()
        with self.ema.applied() if self.ema is not None else contextlib.nullcontext():
            digest = weights_digest(unet)
            ranks = self.output_dir / "ranks"
            ranks.mkdir(parents=True, exist_ok=True)
            (ranks / f"rank-{accelerator.process_index}.json").write_text(
                json.dumps({"step": self.step, "weights_sha256": digest, "num_processes": accelerator.num_processes})
            )
            if accelerator.is_main_process:
                self.save_model(self.output_dir / "model")
        summary = {
            "step": self.step,
            "weights_sha256": digest,
            "history": history,
            "num_processes": accelerator.num_processes,
            "is_main_process": accelerator.is_main_process,
        }
        if self.config.validation.num_clips > 0 and accelerator.is_main_process:
            summary["validation"] = self.validate()
        accelerator.wait_for_everyone()
        accelerator.end_training()
        return summary

    def save_model(self, directory: Path) -> Path:
        """Writes a complete model folder (``eadnet generate --model DIR``) with the current U-Net weights."""
        from eadnet.hub.local import save_model_folder

        directory = Path(directory)
        tmp = directory.with_name(f".{directory.name}.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        unet = self.unwrapped_unet()
        was_training = unet.training
        unet.eval()
        save_model_folder(
            tmp,
            {
                "unet": unet,
                "vae": self.vae,
                "audio_encoder": self.audio_encoder,
                "text_encoder": self.text_encoder,
                "scheduler": self.scheduler,
            },
            resolution=self.info.crop_size,
            mask_mode=self.mask_mode,
            trained=True,
            sampling=self.preset.sampling,
            description=f"EAD-Net U-Net trained with eadnet train unet ({self.step} steps, stage "
            f"{self.config.train.stage}) on {self.config.data.root}",
        )
        unet.train(was_training)
        if directory.exists():
            shutil.rmtree(directory)
        tmp.rename(directory)
        return directory

    # ------------------------------------------------------------------------------------------- validation
    @torch.no_grad()
    def validate(self) -> dict:
        """Generates the first ``validation.num_clips`` validation clips from their own masked frames, audio and
        description; writes ``samples/step-N/<clip>.mp4`` and ``metrics.json`` (PSNR/SSIM against the real crops, the
        fixed-noise validation MSE). Main process only; returns the metrics."""
        if not self.accelerator.is_main_process:
            return {}
        val = self._dataset(self.config.data.val_split)
        if len(val) == 0:
            logger.info("No %r clips long enough for validation; skipping it", self.config.data.val_split)
            return {}
        unet = self.unwrapped_unet()
        was_training = unet.training
        unet.eval()
        folder = self.output_dir / "samples" / f"step-{self.step:08d}"
        folder.mkdir(parents=True, exist_ok=True)
        results = {}
        with self.ema.applied() if self.ema is not None else contextlib.nullcontext():
            for index in range(min(self.config.validation.num_clips, len(val))):
                results[val.records[index].id] = self._validate_clip(val, index, folder)
        unet.train(was_training)
        (folder / "metrics.json").write_text(json.dumps(results, indent=2))
        with (self.output_dir / "metrics.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"step": self.step, "validation": results}) + "\n")
        return results

    def _validate_clip(self, dataset: UNetClipDataset, index: int, folder: Path) -> dict:
        from eadnet.data.format import load_clip_audio, load_clip_frames
        from eadnet.face import FaceProcessor
        from eadnet.io import write_video
        from eadnet.pipelines.pipeline_eadnet import EADNetPipeline, FacePlan, default_scheduler

        record = dataset.records[index]
        settings = self.config.validation
        count = min(record.num_frames, settings.num_frames)
        crops = load_clip_frames(dataset.root, record, 0, count)
        identity = np.tile(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), (count, 1, 1))
        plan = FacePlan(crops, crops, identity, np.arange(count))
        pipe = EADNetPipeline(
            unet=self.unwrapped_unet(),
            vae=self.vae,
            scheduler=default_scheduler(),
            audio_encoder=self.audio_encoder,
            text_encoder=self.text_encoder,
            face_processor=FaceProcessor(detector=None, crop_size=self.info.crop_size, mask_mode=self.mask_mode),
        )
        pipe.set_progress_bar_config(disable=True)
        features = dataset.clip_features(record)[None].to(self.accelerator.device)
        text = pipe.encode_emotion(clip_description(record) or None, settings.text_guidance_scale)
        generator = torch.Generator().manual_seed(self.config.train.seed)
        windows = pipe.denoise_windows(
            plan,
            features,
            count,
            text,
            num_inference_steps=settings.num_inference_steps,
            audio_guidance_scale=settings.audio_guidance_scale,
            text_guidance_scale=settings.text_guidance_scale,
            generator=generator,
            fps=self.info.fps,
            window_size=self.config.data.num_frames,
            decode=False,
        )
        generated = np.concatenate([pipe.decode_crops(w.latents, plan, start=w.start) for w in windows])
        audio = load_clip_audio(dataset.root, record)[: int(round(count / self.info.fps * self.info.sample_rate))]
        write_video(
            folder / f"{record.id}.mp4",
            generated,
            self.info.fps,
            audio=audio,
            sample_rate=self.info.sample_rate,
            overwrite=True,
        )
        from eadnet.evaluation.image_quality import video_psnr_ssim

        quality = video_psnr_ssim(generated, crops)
        metrics = {
            "frames": count,
            "psnr": quality["psnr"],
            "ssim": quality["ssim"],
            "emotion": record.emotion,
            "description": clip_description(record),
        }
        return metrics


def train_unet(config: UNetTrainConfig) -> dict:
    """Runs a U-Net training recipe (see :class:`UNetTrainer`)."""
    return UNetTrainer(config).train()
