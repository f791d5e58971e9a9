"""``EADUNet3DModel``: the EAD-Net denoiser.

A LatentSync-shaped 3D U-Net (github.com/bytedance/LatentSync, ``latentsync/models/unet.py``, adapted there
from AnimateDiff) — SD1.5 layout, 13 input channels, Whisper audio cross-attention, temporal modules — with
EAD-Net's additions (arXiv 2604.23325), each behind a switch and zero-initialised:

- emotion-text cross-attention in every spatial transformer block (``use_text_attention``);
- STDA strip attention at the end of every down and up stage (``use_stda``, :mod:`eadnet.models.strip_attention`);
- TFRM frame-graph reasoning after the mid block and after the last decoder stage
  (``use_tfrm``, :mod:`eadnet.models.frame_graph`).

With every switch off the network is LatentSync's; with them on and freshly initialised it computes exactly
the same function, so LatentSync weights load into it and reproduce LatentSync until fine-tuned.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from diffusers.models.modeling_utils import ModelMixin
from diffusers.utils import BaseOutput
from torch import nn

from eadnet.models.feature_cache import DeepCache
from eadnet.models.frame_graph import TemporalFrameGraph
from eadnet.models.unet_blocks import (
    BlockOptions,
    Conditioning,
    EADDownBlock3D,
    EADMidBlock3D,
    EADUpBlock3D,
    fold_frames,
    unfold_frames,
)

_DOWN_TYPES = {"CrossAttnDownBlock3D": True, "DownBlock3D": False}
_UP_TYPES = {"CrossAttnUpBlock3D": True, "UpBlock3D": False}

#: Named configurations. ``base`` is LatentSync's published U-Net (configs/unet/stage2.yaml) plus EAD modules
#: with a CLIP ViT-L/14 text width; ``small`` is a CPU-friendly variant for demos; ``mini`` is the offline model;
#: ``tiny`` is for tests (milliseconds per forward).
UNET_CONFIGS: dict[str, dict] = {
    "base": {},
    "small": {
        "block_out_channels": (64, 128, 256, 256),
        "text_embed_dim": 384,
        "sample_size": 32,
    },
    # The offline model (preset ``eadnet-mini``): 64 px crops through a 4x autoencoder give 16x16 latents;
    # 5.4M parameters (21.5 MB in fp32), about 0.3 s per 16-frame forward on one CPU core.
    "mini": {
        "block_out_channels": (32, 64, 128),
        "down_block_types": ("CrossAttnDownBlock3D", "CrossAttnDownBlock3D", "DownBlock3D"),
        "up_block_types": ("UpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D"),
        "layers_per_block": 1,
        "norm_num_groups": 16,
        "num_attention_heads": 4,
        "motion_num_attention_heads": 4,
        "motion_module_resolutions": (1, 2, 4),
        "text_embed_dim": 384,
        "tfrm_node_dim": 32,
        "sample_size": 16,
    },
    "tiny": {
        "block_out_channels": (32, 64),
        "down_block_types": ("CrossAttnDownBlock3D", "DownBlock3D"),
        "up_block_types": ("UpBlock3D", "CrossAttnUpBlock3D"),
        "layers_per_block": 1,
        "norm_num_groups": 8,
        "num_attention_heads": 2,
        "motion_num_attention_heads": 2,
        "motion_module_resolutions": (1, 2),
        "cross_attention_dim": 16,
        "text_embed_dim": 24,
        "tfrm_node_dim": 16,
        "sample_size": 8,
    },
}


@dataclass
class EADUNet3DOutput(BaseOutput):
    """Output of :class:`EADUNet3DModel`.

    Args:
        sample (`torch.Tensor` of shape `(batch, out_channels, frames, height, width)`): Predicted noise
            (or whatever the scheduler's prediction type is).
    """

    sample: torch.Tensor


class EADUNet3DModel(ModelMixin, ConfigMixin):
    r"""Emotion-aware video denoiser over latents ``(B, C, F, H, W)``.

    Args:
        sample_size (`int`, *optional*, defaults to 64): Nominal latent size (informative; any size divisible by
            ``2 ** (len(block_out_channels) - 1)`` works).
        in_channels (`int`, *optional*, defaults to 13): Noisy latents 4 + mouth mask 1 + masked-frame latents 4
            + reference latents 4 (LatentSync).
        out_channels (`int`, *optional*, defaults to 4): Predicted noise channels.
        down_block_types (`tuple[str]`, *optional*): ``"CrossAttnDownBlock3D"`` (with spatial transformers) or
            ``"DownBlock3D"`` per stage; defaults to three of the former then one of the latter.
        up_block_types (`tuple[str]`, *optional*): ``"UpBlock3D"`` / ``"CrossAttnUpBlock3D"`` per stage.
        block_out_channels (`tuple[int]`, *optional*, defaults to `(320, 640, 1280, 1280)`): Channels per stage.
        layers_per_block (`int`, *optional*, defaults to 2): ResNet layers per encoder stage (decoder: one more).
        num_attention_heads (`int`, *optional*, defaults to 8): Heads of the spatial transformers.
        cross_attention_dim (`int`, *optional*, defaults to 384): Width of the audio tokens (Whisper tiny).
        norm_num_groups (`int`, *optional*, defaults to 32): GroupNorm groups.
        norm_eps (`float`, *optional*, defaults to 1e-5): GroupNorm epsilon of the ResNet blocks.
        act_fn (`str`, *optional*, defaults to `"silu"`): ResNet activation.
        flip_sin_to_cos (`bool`, *optional*, defaults to `True`): Timestep embedding layout.
        freq_shift (`int`, *optional*, defaults to 0): Timestep embedding frequency shift.
        downsample_padding (`int`, *optional*, defaults to 1): Padding of the strided downsampling convolution.
        use_motion_module (`bool`, *optional*, defaults to `True`): Temporal modules in the stages listed in
            ``motion_module_resolutions``.
        motion_module_resolutions (`tuple[int]`, *optional*, defaults to `(1, 2, 4, 8)`): Downsampling factors
            of the stages that get temporal modules.
        motion_module_mid_block (`bool`, *optional*, defaults to `False`): A temporal module in the mid block.
        motion_num_attention_heads (`int`, *optional*, defaults to 8): Heads of the temporal attention.
        motion_num_transformer_blocks (`int`, *optional*, defaults to 1): Temporal transformer blocks per module.
        motion_num_attention_blocks (`int`, *optional*, defaults to 2): Temporal self-attentions per block.
        motion_position_encoding (`bool`, *optional*, defaults to `True`): Sinusoidal frame positions.
        use_text_attention (`bool`, *optional*, defaults to `True`): Emotion-text cross-attention.
        text_embed_dim (`int`, *optional*, defaults to 768): Width of the emotion-text tokens (CLIP ViT-L/14).
        use_stda (`bool`, *optional*, defaults to `True`): STDA strip attention in every down and up stage.
        stda_heads_per_axis (`int`, *optional*, defaults to 2): STDA heads per direction.
        stda_max_kv_tokens (`int`, *optional*, defaults to 16): STDA keys/values per strip before pooling.
        use_tfrm (`bool`, *optional*, defaults to `True`): TFRM after the mid block and the last decoder stage.
        tfrm_node_dim (`int`, *optional*): TFRM node width; defaults to ``min(channels, 256)``.
        tfrm_num_layers (`int`, *optional*, defaults to 2): TFRM graph-convolution layers.
        tfrm_prior_band (`int`, *optional*, defaults to 4): Largest frame offset of TFRM's temporal prior.
    """

    _supports_gradient_checkpointing = True

    @register_to_config
    def __init__(
        self,
        sample_size: int = 64,
        in_channels: int = 13,
        out_channels: int = 4,
        down_block_types: tuple[str, ...] = (
            "CrossAttnDownBlock3D",
            "CrossAttnDownBlock3D",
            "CrossAttnDownBlock3D",
            "DownBlock3D",
        ),
        up_block_types: tuple[str, ...] = (
            "UpBlock3D",
            "CrossAttnUpBlock3D",
            "CrossAttnUpBlock3D",
            "CrossAttnUpBlock3D",
        ),
        block_out_channels: tuple[int, ...] = (320, 640, 1280, 1280),
        layers_per_block: int = 2,
        num_attention_heads: int = 8,
        cross_attention_dim: int = 384,
        norm_num_groups: int = 32,
        norm_eps: float = 1e-5,
        act_fn: str = "silu",
        flip_sin_to_cos: bool = True,
        freq_shift: int = 0,
        downsample_padding: int = 1,
        use_motion_module: bool = True,
        motion_module_resolutions: tuple[int, ...] = (1, 2, 4, 8),
        motion_module_mid_block: bool = False,
        motion_num_attention_heads: int = 8,
        motion_num_transformer_blocks: int = 1,
        motion_num_attention_blocks: int = 2,
        motion_position_encoding: bool = True,
        use_text_attention: bool = True,
        text_embed_dim: int = 768,
        use_stda: bool = True,
        stda_heads_per_axis: int = 2,
        stda_max_kv_tokens: int = 16,
        use_tfrm: bool = True,
        tfrm_node_dim: int | None = None,
        tfrm_num_layers: int = 2,
        tfrm_prior_band: int = 4,
    ):
        super().__init__()
        num_stages = len(block_out_channels)
        if len(down_block_types) != num_stages or len(up_block_types) != num_stages:
            raise ValueError(
                f"down_block_types ({len(down_block_types)}) and up_block_types ({len(up_block_types)}) must both "
                f"have one entry per block_out_channels ({num_stages})"
            )
        for name, types, known in (
            ("down_block_types", down_block_types, _DOWN_TYPES),
            ("up_block_types", up_block_types, _UP_TYPES),
        ):
            unknown = [block for block in types if block not in known]
            if unknown:
                raise ValueError(f"{name} has unknown entries {unknown}; known: {sorted(known)}")

        options = BlockOptions(
            num_attention_heads=num_attention_heads,
            cross_attention_dim=cross_attention_dim,
            text_embed_dim=text_embed_dim if use_text_attention else None,
            norm_num_groups=norm_num_groups,
            norm_eps=norm_eps,
            act_fn=act_fn,
            motion_num_attention_heads=motion_num_attention_heads,
            motion_num_transformer_blocks=motion_num_transformer_blocks,
            motion_num_attention_blocks=motion_num_attention_blocks,
            motion_position_encoding=motion_position_encoding,
            stda_heads_per_axis=stda_heads_per_axis,
            stda_max_kv_tokens=stda_max_kv_tokens,
        )
        time_embed_dim = block_out_channels[0] * 4
        self.conv_in = nn.Conv2d(in_channels, block_out_channels[0], kernel_size=3, padding=1)
        self.time_proj = Timesteps(block_out_channels[0], flip_sin_to_cos, freq_shift)
        self.time_embedding = TimestepEmbedding(block_out_channels[0], time_embed_dim)

        self.down_blocks = nn.ModuleList()
        output_channels = block_out_channels[0]
        for index, block_type in enumerate(down_block_types):
            input_channels, output_channels = output_channels, block_out_channels[index]
            self.down_blocks.append(
                EADDownBlock3D(
                    input_channels,
                    output_channels,
                    time_embed_dim,
                    layers_per_block,
                    options,
                    has_attention=_DOWN_TYPES[block_type],
                    has_motion=use_motion_module and 2**index in motion_module_resolutions,
                    use_stda=use_stda,
                    add_downsample=index < num_stages - 1,
                    downsample_padding=downsample_padding,
                )
            )

        self.mid_block = EADMidBlock3D(
            block_out_channels[-1], time_embed_dim, options, has_motion=use_motion_module and motion_module_mid_block
        )

        self.up_blocks = nn.ModuleList()
        reversed_channels = list(reversed(block_out_channels))
        output_channels = reversed_channels[0]
        for index, block_type in enumerate(up_block_types):
            prev_output_channels, output_channels = output_channels, reversed_channels[index]
            input_channels = reversed_channels[min(index + 1, num_stages - 1)]
            self.up_blocks.append(
                EADUpBlock3D(
                    input_channels,
                    prev_output_channels,
                    output_channels,
                    time_embed_dim,
                    layers_per_block + 1,
                    options,
                    has_attention=_UP_TYPES[block_type],
                    has_motion=use_motion_module and 2 ** (num_stages - 1 - index) in motion_module_resolutions,
                    use_stda=use_stda,
                    add_upsample=index < num_stages - 1,
                )
            )

        if use_tfrm:
            self.frame_graph_mid = TemporalFrameGraph(
                block_out_channels[-1], tfrm_node_dim, tfrm_num_layers, tfrm_prior_band
            )
            self.frame_graph_out = TemporalFrameGraph(
                block_out_channels[0], tfrm_node_dim, tfrm_num_layers, tfrm_prior_band
            )
        else:
            self.frame_graph_mid = None
            self.frame_graph_out = None

        self.conv_norm_out = nn.GroupNorm(norm_num_groups, block_out_channels[0], eps=norm_eps)
        self.conv_act = nn.SiLU()
        self.conv_out = nn.Conv2d(block_out_channels[0], out_channels, kernel_size=3, padding=1)

    @classmethod
    def from_named_config(cls, name: str, **overrides) -> EADUNet3DModel:
        """Builds a freshly initialised model from :data:`UNET_CONFIGS` (``"base"``, ``"small"``, ``"tiny"``)."""
        if name not in UNET_CONFIGS:
            raise ValueError(f"name must be one of {sorted(UNET_CONFIGS)}, got {name!r}")
        return cls(**{**UNET_CONFIGS[name], **overrides})

    def _check_inputs(self, sample, audio_embeds, text_embeds, text_attention_mask) -> None:
        config = self.config
        if sample.ndim != 5:
            raise ValueError(f"sample must be (B, C, F, H, W), got shape {tuple(sample.shape)}")
        batch, channels, frames, height, width = sample.shape
        if channels != config.in_channels:
            raise ValueError(f"sample has {channels} channels, the model expects in_channels={config.in_channels}")
        factor = 2 ** (len(config.block_out_channels) - 1)
        if height % factor or width % factor:
            raise ValueError(f"sample height and width must be divisible by {factor}, got {height}x{width}")
        if audio_embeds is not None:
            if audio_embeds.ndim != 4:
                raise ValueError(f"audio_embeds must be (B, F, N, D), got shape {tuple(audio_embeds.shape)}")
            if audio_embeds.shape[1] != frames:
                raise ValueError(
                    f"audio_embeds has {audio_embeds.shape[1]} frames of tokens but sample has {frames} frames"
                )
            if audio_embeds.shape[0] != batch or audio_embeds.shape[-1] != config.cross_attention_dim:
                raise ValueError(
                    f"audio_embeds must be ({batch}, {frames}, N, {config.cross_attention_dim}), "
                    f"got shape {tuple(audio_embeds.shape)}"
                )
        if text_embeds is not None:
            if text_embeds.ndim != 3:
                raise ValueError(f"text_embeds must be (B, L, D), got shape {tuple(text_embeds.shape)}")
            if text_embeds.shape[0] != batch or text_embeds.shape[-1] != config.text_embed_dim:
                raise ValueError(
                    f"text_embeds must be ({batch}, L, {config.text_embed_dim}), got shape {tuple(text_embeds.shape)}"
                )
            if text_attention_mask is not None:
                if text_attention_mask.shape != text_embeds.shape[:2]:
                    raise ValueError(
                        f"text_attention_mask must be {tuple(text_embeds.shape[:2])}, "
                        f"got {tuple(text_attention_mask.shape)}"
                    )
                # a value check reads the mask back from the device: torch.compile would break the graph here
                if not torch.compiler.is_compiling() and not bool(text_attention_mask.to(torch.bool).any(dim=1).all()):
                    raise ValueError("text_attention_mask has a row with no token to attend to")
        elif text_attention_mask is not None:
            raise ValueError("text_attention_mask was given without text_embeds")

    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor | float | int,
        audio_embeds: torch.Tensor | None = None,
        text_embeds: torch.Tensor | None = None,
        text_attention_mask: torch.Tensor | None = None,
        return_dict: bool = True,
        deep_cache: DeepCache | None = None,
    ) -> EADUNet3DOutput | tuple[torch.Tensor]:
        r"""Denoises a window of video latents.

        Args:
            sample (`torch.Tensor` of shape `(B, in_channels, F, H, W)`): Noisy latents concatenated with the
                mouth mask, masked-frame latents and reference latents.
            timestep (`torch.Tensor`, `float` or `int`): Diffusion timestep, scalar or `(B,)`.
            audio_embeds (`torch.Tensor` of shape `(B, F, N, cross_attention_dim)`, *optional*): Per-frame audio
                tokens (Whisper windows); ``None`` skips the audio attention.
            text_embeds (`torch.Tensor` of shape `(B, L, text_embed_dim)`, *optional*): Emotion-description tokens;
                ``None`` (or ``use_text_attention=False``) skips the text attention.
            text_attention_mask (`torch.Tensor` of shape `(B, L)`, *optional*): True for tokens to attend to.
            return_dict (`bool`, *optional*, defaults to `True`): Return an :class:`EADUNet3DOutput`.
            deep_cache (:class:`~eadnet.models.feature_cache.DeepCache`, *optional*): Feature caching across
                denoising steps: a full pass keeps the input of the last ``depth`` decoder stages; a cached step
                (``deep_cache.full`` false, a kept feature of this batch layout) runs only the first ``depth``
                encoder stages and those decoder stages on it (a smaller batch than the full pass's on its leading
                samples).

        Returns:
            :class:`EADUNet3DOutput` or a one-element tuple with the `(B, out_channels, F, H, W)` prediction.
        """
        self._check_inputs(sample, audio_embeds, text_embeds, text_attention_mask)
        batch, _, num_frames, _, _ = sample.shape

        timesteps = torch.as_tensor(timestep, device=sample.device)
        if timesteps.ndim == 0:
            timesteps = timesteps[None]
        timesteps = timesteps.expand(batch)
        emb = self.time_embedding(self.time_proj(timesteps).to(dtype=self.dtype))
        # Spatial layers see frames as batch items, so each frame gets its clip's timestep embedding.
        emb = emb.repeat_interleave(num_frames, dim=0)

        if not self.config.use_text_attention:
            text_embeds = text_attention_mask = None
        cond = Conditioning(
            num_frames=num_frames,
            audio_embeds=None if audio_embeds is None else audio_embeds.flatten(0, 1),
            text_embeds=None if text_embeds is None else text_embeds.repeat_interleave(num_frames, dim=0),
            text_attention_mask=(
                None if text_attention_mask is None else text_attention_mask.repeat_interleave(num_frames, dim=0)
            ),
        )

        hidden_states = self.conv_in(fold_frames(sample))
        skips = [hidden_states]
        depth = 0 if deep_cache is None else min(deep_cache.depth, len(self.up_blocks) - 1)
        if depth and deep_cache.usable(batch, num_frames):
            # DeepCache step: the shallow branch only, on the deep feature of the last full pass
            for block in self.down_blocks[:depth]:
                hidden_states, block_skips = block(hidden_states, emb, cond)
                skips.extend(block_skips)
            del skips[sum(len(block.resnets) for block in self.up_blocks[-depth:]) :]  # the deep stages' skips
            hidden_states = deep_cache.cached_feature(batch, num_frames)
            up_blocks = self.up_blocks[-depth:]
        else:
            for block in self.down_blocks:
                hidden_states, block_skips = block(hidden_states, emb, cond)
                skips.extend(block_skips)

            hidden_states = self.mid_block(hidden_states, emb, cond)
            if self.frame_graph_mid is not None:
                hidden_states = fold_frames(self.frame_graph_mid(unfold_frames(hidden_states, num_frames)))
            up_blocks = self.up_blocks
            if depth:
                for block in self.up_blocks[:-depth]:
                    block_skips = [skips.pop() for _ in range(len(block.resnets))][::-1]
                    hidden_states = block(hidden_states, block_skips, emb, cond)
                deep_cache.keep(hidden_states, batch)
                up_blocks = self.up_blocks[-depth:]

        for block in up_blocks:
            block_skips = [skips.pop() for _ in range(len(block.resnets))][::-1]
            hidden_states = block(hidden_states, block_skips, emb, cond)

        if self.frame_graph_out is not None:
            hidden_states = fold_frames(self.frame_graph_out(unfold_frames(hidden_states, num_frames)))

        hidden_states = self.conv_out(self.conv_act(self.conv_norm_out(hidden_states)))
        output = unfold_frames(hidden_states, num_frames)
        if not return_dict:
            return (output,)
        return EADUNet3DOutput(sample=output)

    def ead_parameters(self):
        """Parameters of the EAD-Net additions (text attention, STDA, TFRM): the modules a LatentSync
        checkpoint does not contain, for fine-tuning selections and load reports."""
        for name, parameter in self.named_parameters():
            if is_ead_parameter(name):
                yield name, parameter


def is_ead_parameter(name: str) -> bool:
    """Whether a state-dict key belongs to an EAD-Net addition rather than the LatentSync architecture."""
    return any(part in name for part in (".attn_text.", ".norm_text.", ".stda.", "frame_graph_"))
