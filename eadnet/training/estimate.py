"""GPU memory and time of a U-Net training recipe, computed rather than guessed.

Everything is counted on PyTorch's ``meta`` device (shapes only: no memory, no weights, no GPU needed):

- parameters of the U-Net (trainable selection applied) and of every frozen network the recipe loads;
- training state: fp32 weights, fp32 gradients and two fp32 AdamW moments for the trainable parameters, an fp32 EMA
  copy when enabled;
- activations: the bytes of every tensor autograd saves for backward during one micro-batch forward (packed through
  ``torch.autograd.graph.saved_tensors_hooks``), in the recipe's precision (bf16/fp16 activations are modelled by
  running the meta forward in that dtype); with gradient checkpointing the saved set shrinks to the block inputs and
  the largest block's activations are added back as the recomputation peak;
- FLOPs of one micro-batch (``torch.utils.flop_counter``): U-Net forward, backward = 2 × forward (3 × with
  checkpointing's recomputation), VAE encodes of the target, masked and reference frames, and in stage 2 the VAE
  decode, SyncNet and TREPA forward + backward to their input.

Time per step = FLOPs / (the GPU's dense bf16 peak × an assumed model-FLOPs utilisation, 35 % by default — the one
assumption here; measured utilisation of diffusion U-Nets is typically 30–45 %). The CUDA context and allocator
slack are a fixed allowance (``CUDA_OVERHEAD_GIB``).
"""

from __future__ import annotations

import contextlib
import inspect
import json
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from eadnet.models.autoencoder import SD_VAE_ARCHITECTURE
from eadnet.training.config import UNetTrainConfig

__all__ = ["GPU_PEAK_TFLOPS", "estimate_recipe", "format_estimate"]

#: Dense bf16 tensor-core peak (TFLOP/s) from the vendors' data sheets (no sparsity).
GPU_PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0, "4090": 165.0, "A10G": 125.0}
GPU_MEMORY_GIB = {"H100": 80, "H200": 141, "A100": 80, "L40S": 48, "4090": 24, "A10G": 24}
CUDA_OVERHEAD_GIB = 1.5
DEFAULT_MFU = 0.35
_GIB = 2**30

# Architectures of the frozen networks of the LatentSync presets (public configs of the Hub repos).
_CLIP_L_TEXT = {
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "max_position_embeddings": 77,
    "vocab_size": 49408,
}
_MINILM = {
    "hidden_size": 384,
    "intermediate_size": 1536,
    "num_hidden_layers": 6,
    "num_attention_heads": 12,
    "vocab_size": 30522,
}
_WHISPER_TINY = {
    "d_model": 384,
    "encoder_layers": 4,
    "encoder_attention_heads": 6,
    "encoder_ffn_dim": 1536,
    "decoder_layers": 4,
    "decoder_attention_heads": 6,
    "decoder_ffn_dim": 1536,
    "num_mel_bins": 80,
}


def _count(module: torch.nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def _read_config(folder: Path) -> dict | None:
    path = folder / "config.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _component_configs(config: UNetTrainConfig) -> dict:
    """Architectures of the recipe's components without loading any weights."""
    from eadnet.hub.local import is_model_folder
    from eadnet.hub.presets import get_preset

    model = config.components.model
    if is_model_folder(model):
        folder = Path(model)
        vae = _read_config(folder / "vae") or {}
        text = _read_config(folder / "text_encoder" / "text_encoder") or _read_config(folder / "text_encoder") or {}
        return {
            "vae": vae,
            "text": ("bert" if text.get("model_type") == "bert" else "clip", text),
            "audio": _WHISPER_TINY,
        }
    preset = get_preset(model)
    vae_source = preset.component("vae")
    vae = (
        dict(vae_source.config)
        if vae_source.format == "random-init"
        else {"_class_name": "AutoencoderKL", **SD_VAE_ARCHITECTURE}
    )
    text = (
        ("bert", _MINILM) if "MiniLM" in (preset.component("text_encoder").repo_id or "") else ("clip", _CLIP_L_TEXT)
    )
    return {"vae": vae, "text": text, "audio": _WHISPER_TINY}


def _build_frozen(specs: dict) -> dict[str, torch.nn.Module]:
    import diffusers
    from transformers import BertConfig, BertModel, CLIPTextConfig, CLIPTextModel, WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    vae_config = {k: v for k, v in specs["vae"].items() if not k.startswith("_")}
    vae_cls = getattr(diffusers, specs["vae"].get("_class_name", "AutoencoderKL"))
    kind, text_config = specs["text"]
    text_config = {k: v for k, v in text_config.items() if not k.startswith("_") and k not in ("architectures",)}
    with torch.device("meta"):
        accepted = inspect.signature(vae_cls.__init__).parameters
        vae = vae_cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in vae_config.items() if k in accepted})
        if kind == "bert":
            text = BertModel(BertConfig(**{k: v for k, v in text_config.items() if k in BertConfig().to_dict()}))
        else:
            text = CLIPTextModel(
                CLIPTextConfig(**{k: v for k, v in text_config.items() if k in CLIPTextConfig().to_dict()})
            )
        audio = WhisperEncoder(WhisperConfig(**specs["audio"]))
    return {"vae": vae, "text_encoder": text, "audio_encoder": audio}


class _SavedTensors:
    """Counts the bytes autograd saves for backward, overall and per top-level U-Net block."""

    def __init__(self):
        self.seen: dict[int, int] = {}
        self.by_block: dict[str, int] = {}
        self.block: str | None = None

    def pack(self, tensor: torch.Tensor) -> torch.Tensor:
        base = tensor._base if tensor._base is not None else tensor
        if id(base) not in self.seen:
            size = base.numel() * base.element_size()
            self.seen[id(base)] = size
            if self.block is not None:
                self.by_block[self.block] = self.by_block.get(self.block, 0) + size
        return tensor

    @property
    def total(self) -> int:
        return sum(self.seen.values())

    @contextlib.contextmanager
    def attribute_blocks(self, unet: torch.nn.Module):
        handles = []
        for name, module in unet.named_children():
            if name in ("down_blocks", "up_blocks"):
                children = [(f"{name}.{i}", m) for i, m in enumerate(module)]
            elif name == "mid_block":
                children = [(name, module)]
            else:
                continue
            for block_name, block in children:
                handles.append(block.register_forward_pre_hook(lambda m, a, n=block_name: setattr(self, "block", n)))
                handles.append(block.register_forward_hook(lambda m, a, o: setattr(self, "block", None)))
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()


class _FlashAttentionSaves(torch.autograd.Function):
    """Stands in for ``scaled_dot_product_attention`` while counting saved tensors: on a GPU, SDPA runs a
    flash / memory-efficient kernel that saves q, k, v, the output and the row log-sum-exp (never the attention
    matrix), whereas the meta device would trace the math path and count F × F score matrices."""

    @staticmethod
    def forward(ctx, query, key, value):
        out = query.new_empty((*query.shape[:-1], value.shape[-1]))
        logsumexp = query.new_empty(query.shape[:-1], dtype=torch.float32)
        ctx.save_for_backward(query, key, value, out, logsumexp)
        return out

    @staticmethod
    def backward(ctx, grad):  # pragma: no cover - never run: the estimate does no backward
        raise NotImplementedError


def _flash_like_sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, **kwargs):
    return _FlashAttentionSaves.apply(query, key, value)


def _saved_bytes(fn, *, blocks_of: torch.nn.Module | None = None) -> _SavedTensors:
    from unittest import mock

    counter = _SavedTensors()
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(torch.nn.functional, "scaled_dot_product_attention", _flash_like_sdpa))
        if blocks_of is not None:
            stack.enter_context(counter.attribute_blocks(blocks_of))
        stack.enter_context(torch.autograd.graph.saved_tensors_hooks(counter.pack, lambda tensor: tensor))
        fn()
    return counter


def _flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def estimate_recipe(
    config: UNetTrainConfig,
    gpu: str = "H100",
    mfu: float = DEFAULT_MFU,
    text_tokens: int | None = None,
    crop_size: int | None = None,
) -> dict:
    """Memory (GiB per GPU) and time of ``config`` on ``gpu``; see the module docstring for the method.

    Args:
        config ([`UNetTrainConfig`]): The recipe.
        gpu (`str`, *optional*, defaults to `"H100"`): A key of :data:`GPU_PEAK_TFLOPS`.
        mfu (`float`, *optional*, defaults to 0.35): Assumed model-FLOPs utilisation.
        text_tokens (`int`, *optional*): Emotion-description length (default 77 for CLIP, 48 for MiniLM).
        crop_size (`int`, *optional*): Face crop size; default from the dataset (``dataset.json``) or the preset.
    """
    from eadnet.hub.local import is_model_folder
    from eadnet.hub.presets import get_preset
    from eadnet.models.unet_3d import UNET_CONFIGS, EADUNet3DModel
    from eadnet.training.unet_trainer import select_trainable

    gpu_key = next((k for k in GPU_PEAK_TFLOPS if k.lower() in gpu.lower()), None)
    if gpu_key is None:
        raise ValueError(f"unknown GPU {gpu!r}; known: {', '.join(GPU_PEAK_TFLOPS)}")
    specs = _component_configs(config)
    frozen = _build_frozen(specs)
    text_kind, text_config = specs["text"]
    text_dim = int(text_config.get("hidden_size", 768))
    tokens = text_tokens or (77 if text_kind == "clip" else 48)
    if crop_size is None:
        info = Path(config.data.root) / "dataset.json"
        if info.is_file():
            crop_size = int(json.loads(info.read_text())["crop_size"])
        elif is_model_folder(config.components.model):
            crop_size = int(
                json.loads((Path(config.components.model) / "eadnet_model.json").read_text())["resolution"]
            )
        else:
            crop_size = get_preset(config.components.model).resolution
    batch, frames = config.data.batch_size, config.data.num_frames
    latent = crop_size // 8
    mixed = config.train.mixed_precision in ("bf16", "fp16")
    act_dtype = torch.bfloat16 if mixed else torch.float32

    unet_args = {
        **UNET_CONFIGS.get(config.unet.config, {}),
        **config.model,
        "cross_attention_dim": specs["audio"]["d_model"],
        "text_embed_dim": text_dim,
    }
    with torch.device("meta"):
        unet = EADUNet3DModel(**unet_args)
    trainable_names = select_trainable(unet, config.train.trainable_modules)
    total_params, trainable_params = _count(unet), _count(unet, trainable_only=True)
    unet = unet.to(act_dtype).train()
    with torch.device("meta"):
        sample = torch.empty(batch, unet.config.in_channels, frames, latent, latent, dtype=act_dtype)
        audio = torch.empty(batch, frames, 50, unet.config.cross_attention_dim, dtype=act_dtype)
        text = torch.empty(batch, tokens, text_dim, dtype=act_dtype)
        timestep = torch.zeros(batch, dtype=torch.long)

    def unet_forward():
        return unet(sample, timestep, audio_embeds=audio, text_embeds=text).sample

    plain = _saved_bytes(unet_forward, blocks_of=unet)
    forward_flops = _flops(unet_forward)
    activations = plain.total
    if config.train.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
        checkpointed = _saved_bytes(unet_forward)
        activations = checkpointed.total + max(plain.by_block.values(), default=0)
    backward_factor = 3.0 if config.train.gradient_checkpointing else 2.0

    vae = frozen["vae"].to(act_dtype)
    with torch.device("meta"):
        pixels = torch.empty(batch * frames, 3, crop_size, crop_size, dtype=act_dtype)
        latents = torch.empty(batch * frames, vae.config.latent_channels, latent, latent, dtype=act_dtype)
    encode_flops = 3 * _flops(lambda: vae.encode(pixels))
    flops = forward_flops * (1 + backward_factor) + encode_flops
    stage2 = {}
    if config.train.stage == 2:
        latents.requires_grad_(True)
        decode_saved = _saved_bytes(lambda: vae.decode(latents).sample)
        decode_flops = _flops(lambda: vae.decode(latents).sample)
        activations += decode_saved.total
        flops += 3 * decode_flops  # forward + backward to the latents (≈ 2 × forward)
        stage2["vae_decode_activations_gib"] = decode_saved.total / _GIB
        if config.loss.sync:
            from eadnet.models.syncnet import SyncNet

            with torch.device("meta"):
                syncnet = SyncNet().to(act_dtype)
            size = syncnet.config.get("image_size", crop_size) if hasattr(syncnet, "config") else crop_size
            frozen["syncnet"] = syncnet
            stage2["syncnet_params_m"] = _count(syncnet) / 1e6
            stage2["syncnet_input_px"] = size
        if config.loss.trepa:
            from transformers import VideoMAEConfig, VideoMAEModel

            trepa_config = _read_config(Path(config.loss.trepa_model or "-")) or {}
            known = VideoMAEConfig().to_dict()
            with torch.device("meta"):
                videomae = VideoMAEModel(VideoMAEConfig(**{k: v for k, v in trepa_config.items() if k in known}))
            videomae = videomae.to(act_dtype)
            size, count = videomae.config.image_size, videomae.config.num_frames
            with torch.device("meta"):
                clip = torch.empty(batch, count, 3, size, size, dtype=act_dtype, requires_grad=True)
            trepa_saved = _saved_bytes(lambda: videomae(pixel_values=clip).last_hidden_state)
            trepa_flops = _flops(lambda: videomae(pixel_values=clip).last_hidden_state)
            activations += trepa_saved.total
            flops += 4 * trepa_flops  # real + generated forward, backward on the generated one
            frozen["trepa"] = videomae
            stage2["trepa_params_m"] = _count(videomae) / 1e6
            stage2["trepa_activations_gib"] = trepa_saved.total / _GIB

    frozen_params = sum(_count(m) for m in frozen.values())
    state_bytes = 4 * total_params + 4 * trainable_params + 8 * trainable_params
    if config.ema.enabled:
        state_bytes += 4 * trainable_params
    frozen_bytes = 4 * frozen_params  # the trainer keeps frozen networks in fp32; autocast casts on the fly
    memory = (state_bytes + frozen_bytes + activations) / _GIB + CUDA_OVERHEAD_GIB
    seconds_per_micro = flops / (GPU_PEAK_TFLOPS[gpu_key] * 1e12 * mfu)
    steps = config.train.max_steps * config.train.gradient_accumulation_steps
    return {
        "gpu": gpu_key,
        "crop_size": crop_size,
        "batch_per_gpu": batch,
        "frames": frames,
        "stage": config.train.stage,
        "mixed_precision": config.train.mixed_precision,
        "gradient_checkpointing": config.train.gradient_checkpointing,
        "unet_params_m": total_params / 1e6,
        "trainable_params_m": trainable_params / 1e6,
        "trainable_tensors": len(trainable_names),
        "frozen_params_m": frozen_params / 1e6,
        "weights_and_optimizer_gib": state_bytes / _GIB,
        "frozen_networks_gib": frozen_bytes / _GIB,
        "activations_gib": activations / _GIB,
        "cuda_overhead_gib": CUDA_OVERHEAD_GIB,
        "memory_per_gpu_gib": memory,
        "fits": memory <= GPU_MEMORY_GIB[gpu_key],
        "tflops_per_micro_batch": flops / 1e12,
        "assumed_mfu": mfu,
        "seconds_per_step": seconds_per_micro * config.train.gradient_accumulation_steps,
        "max_steps": config.train.max_steps,
        "hours": seconds_per_micro * steps / 3600,
        **stage2,
    }


def format_estimate(estimate: dict) -> str:
    """A readable summary of :func:`estimate_recipe`'s result."""
    lines = [
        f"stage {estimate['stage']}, {estimate['crop_size']} px, {estimate['frames']} frames x batch "
        f"{estimate['batch_per_gpu']} per GPU, {estimate['mixed_precision']} activations, gradient checkpointing "
        f"{'on' if estimate['gradient_checkpointing'] else 'off'}",
        f"U-Net {estimate['unet_params_m']:.1f} M parameters ({estimate['trainable_params_m']:.1f} M trainable), "
        f"frozen networks {estimate['frozen_params_m']:.1f} M",
        f"memory per GPU: {estimate['memory_per_gpu_gib']:.1f} GiB = weights+grads+AdamW"
        f"{'+EMA' if estimate['weights_and_optimizer_gib'] else ''} {estimate['weights_and_optimizer_gib']:.1f} + frozen "
        f"{estimate['frozen_networks_gib']:.1f} + activations {estimate['activations_gib']:.1f} + CUDA "
        f"{estimate['cuda_overhead_gib']:.1f} ({'fits' if estimate['fits'] else 'does NOT fit'} a {estimate['gpu']})",
        f"compute: {estimate['tflops_per_micro_batch']:.2f} TFLOP per micro-batch -> {estimate['seconds_per_step']:.2f} s "
        f"per step on a {estimate['gpu']} at {estimate['assumed_mfu']:.0%} utilisation; {estimate['max_steps']} steps "
        f"= {estimate['hours']:.1f} h (data parallel: the same wall time on any number of GPUs, global batch grows)",
    ]
    return "\n".join(lines)
