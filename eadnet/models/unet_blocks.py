"""Down, mid and up blocks of the EAD-Net 3D U-Net.

Spatial layers (ResNet blocks, spatial transformers, resamplers) run on frame-folded features
``(B*F, C, H, W)``; the temporal module and STDA unfold the frames. Block and parameter names follow
LatentSync's ``unet_blocks.py`` (``resnets``, ``attentions``, ``motion_modules``, ``downsamplers``,
``upsamplers``) so its checkpoints convert by prefix renaming.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers.models.resnet import Downsample2D, ResnetBlock2D, Upsample2D
from torch import nn

from eadnet.models.attention import SpatialTransformer, TemporalModule
from eadnet.models.strip_attention import StripAttention3D


@dataclass
class BlockOptions:
    """Settings shared by every block of one U-Net (a slice of the U-Net config)."""

    num_attention_heads: int
    cross_attention_dim: int
    text_embed_dim: int | None
    norm_num_groups: int
    norm_eps: float
    act_fn: str
    motion_num_attention_heads: int
    motion_num_transformer_blocks: int
    motion_num_attention_blocks: int
    motion_position_encoding: bool
    stda_heads_per_axis: int
    stda_max_kv_tokens: int


@dataclass
class Conditioning:
    """Per-forward inputs every block needs, already folded to ``B*F`` where they are per frame."""

    num_frames: int
    audio_embeds: torch.Tensor | None  # (B*F, N, Da)
    text_embeds: torch.Tensor | None  # (B*F, L, Dt)
    text_attention_mask: torch.Tensor | None  # (B*F, L) bool


def unfold_frames(hidden_states: torch.Tensor, num_frames: int) -> torch.Tensor:
    """``(B*F, C, H, W)`` → ``(B, C, F, H, W)``."""
    return hidden_states.unflatten(0, (-1, num_frames)).transpose(1, 2)


def fold_frames(hidden_states: torch.Tensor) -> torch.Tensor:
    """``(B, C, F, H, W)`` → ``(B*F, C, H, W)``."""
    return hidden_states.transpose(1, 2).flatten(0, 1)


class _Block3D(nn.Module):
    """The layer loop shared by down, mid and up blocks: resnet → spatial transformer → temporal module."""

    def __init__(self):
        super().__init__()
        self.gradient_checkpointing = False
        self.resnets: nn.ModuleList
        self.attentions: nn.ModuleList | None = None
        self.motion_modules: nn.ModuleList | None = None
        self.stda: StripAttention3D | None = None

    def _call(self, module: nn.Module, *args):
        if torch.is_grad_enabled() and self.gradient_checkpointing:
            return self._gradient_checkpointing_func(module, *args)
        return module(*args)

    def _build_layers(
        self,
        channels: list[int],
        out_channels: int,
        temb_channels: int,
        options: BlockOptions,
        has_attention: bool,
        has_motion: bool,
        use_stda: bool,
    ):
        self.resnets = nn.ModuleList(
            [
                ResnetBlock2D(
                    in_channels=in_channels,
                    out_channels=out_channels,
                    temb_channels=temb_channels,
                    eps=options.norm_eps,
                    groups=options.norm_num_groups,
                    non_linearity=options.act_fn,
                )
                for in_channels in channels
            ]
        )
        num_layers = len(channels)
        if has_attention:
            self.attentions = nn.ModuleList(
                [
                    SpatialTransformer(
                        out_channels,
                        options.num_attention_heads,
                        options.cross_attention_dim,
                        options.text_embed_dim,
                        options.norm_num_groups,
                    )
                    for _ in range(num_layers)
                ]
            )
        if has_motion:
            self.motion_modules = nn.ModuleList(
                [
                    TemporalModule(
                        out_channels,
                        num_attention_heads=options.motion_num_attention_heads,
                        num_transformer_blocks=options.motion_num_transformer_blocks,
                        num_attention_blocks=options.motion_num_attention_blocks,
                        position_encoding=options.motion_position_encoding,
                        norm_num_groups=options.norm_num_groups,
                    )
                    for _ in range(num_layers)
                ]
            )
        if use_stda:
            self.stda = StripAttention3D(
                out_channels, heads_per_axis=options.stda_heads_per_axis, max_kv_tokens=options.stda_max_kv_tokens
            )

    def _attend(self, index: int, hidden_states: torch.Tensor, cond: Conditioning) -> torch.Tensor:
        """Spatial transformer and temporal module of layer ``index`` (whichever exist)."""
        if self.attentions is not None:
            hidden_states = self._call(
                self.attentions[index], hidden_states, cond.audio_embeds, cond.text_embeds, cond.text_attention_mask
            )
        if self.motion_modules is not None:
            hidden_states = self._call(self.motion_modules[index], hidden_states, cond.num_frames)
        return hidden_states

    def _strip_attention(self, hidden_states: torch.Tensor, cond: Conditioning) -> torch.Tensor:
        if self.stda is None:
            return hidden_states
        video = unfold_frames(hidden_states, cond.num_frames)
        return fold_frames(self._call(self.stda, video))


class EADDownBlock3D(_Block3D):
    """Encoder stage: ``num_layers`` × (resnet → [spatial transformer] → [temporal module]) → [STDA] →
    [downsample]. Returns the output and the skip features for the decoder."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        temb_channels: int,
        num_layers: int,
        options: BlockOptions,
        has_attention: bool,
        has_motion: bool,
        use_stda: bool,
        add_downsample: bool,
        downsample_padding: int = 1,
    ):
        super().__init__()
        channels = [in_channels] + [out_channels] * (num_layers - 1)
        self._build_layers(channels, out_channels, temb_channels, options, has_attention, has_motion, use_stda)
        self.downsamplers = None
        if add_downsample:
            self.downsamplers = nn.ModuleList(
                [
                    Downsample2D(
                        out_channels, use_conv=True, out_channels=out_channels, padding=downsample_padding, name="op"
                    )
                ]
            )

    def forward(self, hidden_states, temb, cond: Conditioning):
        skips = []
        for index, resnet in enumerate(self.resnets):
            hidden_states = self._call(resnet, hidden_states, temb)
            hidden_states = self._attend(index, hidden_states, cond)
            if index == len(self.resnets) - 1:
                hidden_states = self._strip_attention(hidden_states, cond)
            skips.append(hidden_states)
        if self.downsamplers is not None:
            for downsampler in self.downsamplers:
                hidden_states = downsampler(hidden_states)
            skips.append(hidden_states)
        return hidden_states, skips


class EADMidBlock3D(_Block3D):
    """Bottleneck: resnet → ``num_layers`` × (spatial transformer → [temporal module] → resnet)."""

    def __init__(
        self, channels: int, temb_channels: int, options: BlockOptions, has_motion: bool, num_layers: int = 1
    ):
        super().__init__()
        self._build_layers(
            [channels] * (num_layers + 1),
            channels,
            temb_channels,
            options,
            has_attention=False,
            has_motion=False,
            use_stda=False,
        )
        self.attentions = nn.ModuleList(
            [
                SpatialTransformer(
                    channels,
                    options.num_attention_heads,
                    options.cross_attention_dim,
                    options.text_embed_dim,
                    options.norm_num_groups,
                )
                for _ in range(num_layers)
            ]
        )
        if has_motion:
            self.motion_modules = nn.ModuleList(
                [
                    TemporalModule(
                        channels,
                        options.motion_num_attention_heads,
                        options.motion_num_transformer_blocks,
                        options.motion_num_attention_blocks,
                        options.motion_position_encoding,
                        options.norm_num_groups,
                    )
                    for _ in range(num_layers)
                ]
            )

    def forward(self, hidden_states, temb, cond: Conditioning):
        hidden_states = self._call(self.resnets[0], hidden_states, temb)
        for index, resnet in enumerate(self.resnets[1:]):
            hidden_states = self._attend(index, hidden_states, cond)
            hidden_states = self._call(resnet, hidden_states, temb)
        return hidden_states


class EADUpBlock3D(_Block3D):
    """Decoder stage: ``num_layers`` × (concat skip → resnet → [spatial transformer] → [temporal module]) →
    [STDA] → [upsample]."""

    def __init__(
        self,
        in_channels: int,
        prev_output_channels: int,
        out_channels: int,
        temb_channels: int,
        num_layers: int,
        options: BlockOptions,
        has_attention: bool,
        has_motion: bool,
        use_stda: bool,
        add_upsample: bool,
    ):
        super().__init__()
        channels = []
        for index in range(num_layers):
            skip_channels = in_channels if index == num_layers - 1 else out_channels
            resnet_in = prev_output_channels if index == 0 else out_channels
            channels.append(resnet_in + skip_channels)
        self._build_layers(channels, out_channels, temb_channels, options, has_attention, has_motion, use_stda)
        self.upsamplers = None
        if add_upsample:
            self.upsamplers = nn.ModuleList([Upsample2D(out_channels, use_conv=True, out_channels=out_channels)])

    def forward(self, hidden_states, skips: list[torch.Tensor], temb, cond: Conditioning):
        for index, resnet in enumerate(self.resnets):
            hidden_states = torch.cat([hidden_states, skips.pop()], dim=1)
            hidden_states = self._call(resnet, hidden_states, temb)
            hidden_states = self._attend(index, hidden_states, cond)
            if index == len(self.resnets) - 1:
                hidden_states = self._strip_attention(hidden_states, cond)
        if self.upsamplers is not None:
            for upsampler in self.upsamplers:
                hidden_states = upsampler(hidden_states)
        return hidden_states
