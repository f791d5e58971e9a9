"""Attention layers of the EAD-Net denoiser: spatial transformer (self, audio and emotion-text cross
attention) and the temporal (motion) module.

Module and parameter names follow LatentSync's U-Net (github.com/bytedance/LatentSync,
``latentsync/models/attention.py`` and ``motion_module.py``, themselves adapted from AnimateDiff) so that
its checkpoints map onto ours by renaming prefixes only; the emotion-text attention is EAD-Net's.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from diffusers.models.attention import FeedForward
from torch import nn


def sinusoidal_positions(length: int, dim: int, device=None, dtype=None) -> torch.Tensor:
    """Transformer sinusoidal position table of shape ``(length, dim)``.

    Same values as AnimateDiff's/LatentSync's ``PositionalEncoding`` (sin on even, cos on odd channels), but
    computed on the fly so the temporal module accepts any number of frames instead of at most 24.
    """
    position = torch.arange(length, device=device, dtype=torch.float32).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim, device=device, dtype=torch.float32)
    table[:, 0::2] = torch.sin(position * div_term)
    table[:, 1::2] = torch.cos(position * div_term[: dim // 2])
    return table.to(dtype) if dtype is not None else table


def zero_module(module: nn.Module) -> nn.Module:
    """Sets every parameter of ``module`` to zero and returns it (zero-initialised residual branches)."""
    for parameter in module.parameters():
        nn.init.zeros_(parameter)
    return module


class Attention(nn.Module):
    r"""Multi-head (cross-)attention through ``torch.nn.functional.scaled_dot_product_attention``.

    Args:
        query_dim (`int`): Channels of the queries (and of the output).
        cross_attention_dim (`int`, *optional*): Channels of the keys/values source; defaults to ``query_dim``
            (self-attention).
        heads (`int`, *optional*, defaults to 8): Number of heads.
        dim_head (`int`, *optional*, defaults to 64): Channels per head.
        bias (`bool`, *optional*, defaults to `False`): Bias on the query/key/value projections.
    """

    def __init__(
        self,
        query_dim: int,
        cross_attention_dim: int | None = None,
        heads: int = 8,
        dim_head: int = 64,
        bias: bool = False,
    ):
        super().__init__()
        inner_dim = heads * dim_head
        kv_dim = cross_attention_dim if cross_attention_dim is not None else query_dim
        self.heads = heads
        self.to_q = nn.Linear(query_dim, inner_dim, bias=bias)
        self.to_k = nn.Linear(kv_dim, inner_dim, bias=bias)
        self.to_v = nn.Linear(kv_dim, inner_dim, bias=bias)
        # A ModuleList with a dropout slot keeps the ``to_out.0`` key name of diffusers/LatentSync checkpoints.
        self.to_out = nn.ModuleList([nn.Linear(inner_dim, query_dim), nn.Dropout(0.0)])

    def forward(
        self,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``hidden_states`` ``(N, Lq, query_dim)``, ``encoder_hidden_states`` ``(N, Lk, kv_dim)``,
        ``attention_mask`` boolean ``(N, Lk)`` (True = attend) → ``(N, Lq, query_dim)``."""
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        batch = hidden_states.shape[0]
        query = self.to_q(hidden_states).unflatten(-1, (self.heads, -1)).transpose(1, 2)
        key = self.to_k(context).unflatten(-1, (self.heads, -1)).transpose(1, 2)
        value = self.to_v(context).unflatten(-1, (self.heads, -1)).transpose(1, 2)
        mask = None
        if attention_mask is not None:
            mask = attention_mask[:, None, None, :].to(torch.bool)
        out = F.scaled_dot_product_attention(query, key, value, attn_mask=mask)
        out = out.transpose(1, 2).reshape(batch, -1, self.heads * query.shape[-1])
        return self.to_out[1](self.to_out[0](out))


class TransformerBlock(nn.Module):
    r"""Spatial transformer block: self-attention → audio cross-attention → emotion-text cross-attention →
    feed-forward, each pre-normalised and residual.

    The text branch (``norm_text``/``attn_text``) is EAD-Net's semantic guidance; its output projection starts
    at zero so a model initialised from LatentSync weights is unchanged until fine-tuned.

    Args:
        dim (`int`): Channels.
        num_attention_heads (`int`): Heads; ``dim`` must be divisible by it.
        cross_attention_dim (`int`): Width of the audio tokens.
        text_embed_dim (`int`, *optional*): Width of the emotion-text tokens; ``None`` disables the text branch.
    """

    def __init__(self, dim: int, num_attention_heads: int, cross_attention_dim: int, text_embed_dim: int | None):
        super().__init__()
        head_dim = dim // num_attention_heads
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, heads=num_attention_heads, dim_head=head_dim)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, cross_attention_dim, heads=num_attention_heads, dim_head=head_dim)
        if text_embed_dim is not None:
            self.norm_text = nn.LayerNorm(dim)
            self.attn_text = Attention(dim, text_embed_dim, heads=num_attention_heads, dim_head=head_dim)
            zero_module(self.attn_text.to_out[0])
        else:
            self.norm_text = None
            self.attn_text = None
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim, activation_fn="geglu")

    def forward(
        self,
        hidden_states: torch.Tensor,
        audio_embeds: torch.Tensor | None,
        text_embeds: torch.Tensor | None = None,
        text_attention_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``hidden_states`` ``(B*F, H*W, C)``; ``audio_embeds`` ``(B*F, N, Da)``; ``text_embeds``
        ``(B*F, L, Dt)`` with mask ``(B*F, L)``."""
        hidden_states = hidden_states + self.attn1(self.norm1(hidden_states))
        if audio_embeds is not None:
            hidden_states = hidden_states + self.attn2(self.norm2(hidden_states), audio_embeds)
        if self.attn_text is not None and text_embeds is not None:
            hidden_states = hidden_states + self.attn_text(
                self.norm_text(hidden_states), text_embeds, attention_mask=text_attention_mask
            )
        return hidden_states + self.ff(self.norm3(hidden_states))


class SpatialTransformer(nn.Module):
    r"""Per-frame spatial transformer over frame-folded features ``(B*F, C, H, W)`` (LatentSync's
    ``Transformer3DModel`` with one block).

    Args:
        in_channels (`int`): Channels of the feature map.
        num_attention_heads (`int`): Heads.
        cross_attention_dim (`int`): Width of the audio tokens.
        text_embed_dim (`int`, *optional*): Width of the emotion-text tokens (``None`` = no text branch).
        norm_num_groups (`int`, *optional*, defaults to 32): Groups of the input GroupNorm.
    """

    def __init__(
        self,
        in_channels: int,
        num_attention_heads: int,
        cross_attention_dim: int,
        text_embed_dim: int | None,
        norm_num_groups: int = 32,
    ):
        super().__init__()
        self.norm = nn.GroupNorm(norm_num_groups, in_channels, eps=1e-6)
        self.proj_in = nn.Conv2d(in_channels, in_channels, kernel_size=1)
        self.transformer_blocks = nn.ModuleList(
            [TransformerBlock(in_channels, num_attention_heads, cross_attention_dim, text_embed_dim)]
        )
        self.proj_out = nn.Conv2d(in_channels, in_channels, kernel_size=1)

    def forward(
        self,
        hidden_states: torch.Tensor,
        audio_embeds: torch.Tensor | None,
        text_embeds: torch.Tensor | None = None,
        text_attention_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        residual = hidden_states
        batch_frames, channels, height, width = hidden_states.shape
        hidden_states = self.proj_in(self.norm(hidden_states))
        hidden_states = hidden_states.flatten(2).transpose(1, 2)  # (B*F, H*W, C)
        for block in self.transformer_blocks:
            hidden_states = block(hidden_states, audio_embeds, text_embeds, text_attention_mask)
        hidden_states = hidden_states.transpose(1, 2).reshape(batch_frames, channels, height, width)
        return self.proj_out(hidden_states) + residual


class TemporalTransformerBlock(nn.Module):
    """Two temporal self-attentions (with sinusoidal frame positions) and a feed-forward, per pixel."""

    def __init__(self, dim: int, num_attention_heads: int, num_attention_blocks: int, position_encoding: bool):
        super().__init__()
        head_dim = dim // num_attention_heads
        self.position_encoding = position_encoding
        self.attention_blocks = nn.ModuleList(
            [Attention(dim, heads=num_attention_heads, dim_head=head_dim) for _ in range(num_attention_blocks)]
        )
        self.norms = nn.ModuleList([nn.LayerNorm(dim) for _ in range(num_attention_blocks)])
        self.ff = FeedForward(dim, activation_fn="geglu")
        self.ff_norm = nn.LayerNorm(dim)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """``hidden_states`` ``(B*H*W, F, C)`` → same shape."""
        positions = None
        if self.position_encoding:
            positions = sinusoidal_positions(
                hidden_states.shape[1], hidden_states.shape[2], hidden_states.device, hidden_states.dtype
            )
        for attention, norm in zip(self.attention_blocks, self.norms, strict=True):
            normed = norm(hidden_states)
            if positions is not None:
                # AnimateDiff adds the frame positions to the normalised input of every temporal attention.
                normed = normed + positions
            hidden_states = hidden_states + attention(normed)
        return hidden_states + self.ff(self.ff_norm(hidden_states))


class TemporalModule(nn.Module):
    r"""Temporal (motion) module: attention across frames at every pixel, zero-initialised output.

    Works on frame-folded features ``(B*F, C, H, W)`` and needs ``num_frames`` to unfold them.

    Args:
        in_channels (`int`): Channels of the feature map.
        num_attention_heads (`int`, *optional*, defaults to 8): Heads.
        num_transformer_blocks (`int`, *optional*, defaults to 1): Temporal transformer blocks.
        num_attention_blocks (`int`, *optional*, defaults to 2): Temporal self-attentions per block.
        position_encoding (`bool`, *optional*, defaults to `True`): Sinusoidal frame positions.
        norm_num_groups (`int`, *optional*, defaults to 32): Groups of the input GroupNorm.
    """

    def __init__(
        self,
        in_channels: int,
        num_attention_heads: int = 8,
        num_transformer_blocks: int = 1,
        num_attention_blocks: int = 2,
        position_encoding: bool = True,
        norm_num_groups: int = 32,
    ):
        super().__init__()
        self.norm = nn.GroupNorm(norm_num_groups, in_channels, eps=1e-6)
        self.proj_in = nn.Linear(in_channels, in_channels)
        self.transformer_blocks = nn.ModuleList(
            [
                TemporalTransformerBlock(in_channels, num_attention_heads, num_attention_blocks, position_encoding)
                for _ in range(num_transformer_blocks)
            ]
        )
        self.proj_out = zero_module(nn.Linear(in_channels, in_channels))

    def forward(self, hidden_states: torch.Tensor, num_frames: int) -> torch.Tensor:
        residual = hidden_states
        batch_frames, channels, height, width = hidden_states.shape
        batch = batch_frames // num_frames
        hidden_states = self.norm(hidden_states)
        # (B*F, C, H, W) -> (B*H*W, F, C): each pixel's trajectory is one sequence.
        hidden_states = hidden_states.reshape(batch, num_frames, channels, height * width)
        hidden_states = hidden_states.permute(0, 3, 1, 2).reshape(batch * height * width, num_frames, channels)
        hidden_states = self.proj_in(hidden_states)
        for block in self.transformer_blocks:
            hidden_states = block(hidden_states)
        hidden_states = self.proj_out(hidden_states)
        hidden_states = hidden_states.reshape(batch, height * width, num_frames, channels).permute(0, 2, 3, 1)
        return hidden_states.reshape(batch_frames, channels, height, width) + residual
