"""STDA — Spatio-Temporal Directional Attention (EAD-Net, arXiv 2604.23325).

The paper describes strip attention along height, width and time that models global motion in long clips
at low cost; its code is not public, so this is our reconstruction. The idea of attending along
one axis at a time comes from criss-cross / axial attention (Huang et al., CCNet, ICCV 2019; Ho et al.,
"Axial Attention in Multidimensional Transformers", 2019) and strip pooling (Hou et al., CVPR 2020).

Design:
- one LayerNorm and one fused query/key/value projection per position; the heads are split into three
  groups, one per direction (W, H, T), so the three branches together cost what one attention layer of
  ``3 * heads_per_axis * head_dim`` channels costs;
- each group attends along its own axis only: a query at ``(f, h, w)`` sees the strip ``(f, h, :)``, ``(f, :, w)``
  or ``(:, h, w)``;
- keys and values of a strip longer than ``max_kv_tokens`` are average-pooled to ``max_kv_tokens`` summary
  tokens, so the cost is ``O(F·H·W·max_kv_tokens)``: linear in each of F, H and W, where full
  spatio-temporal attention is quadratic in ``F·H·W``. Strips no longer than ``max_kv_tokens`` are attended
  exactly;
- sinusoidal positions along the strip are added to queries and keys (pooled with the keys);
- the output projection is zero-initialised, so a freshly added STDA block is the identity.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from eadnet.models.attention import sinusoidal_positions, zero_module

AXES = ("width", "height", "time")
# Position of each axis in a channels-last video tensor (B, F, H, W, heads, head_dim).
_AXIS_DIM = {"time": 1, "height": 2, "width": 3}


class StripAttention3D(nn.Module):
    r"""Directional strip attention along W, H and T over a video feature map.

    Args:
        channels (`int`): Channels ``C`` of the input ``(B, C, F, H, W)``.
        heads_per_axis (`int`, *optional*, defaults to 2): Heads given to each direction.
        head_dim (`int`, *optional*): Channels per head; defaults to ``max(channels // 16, 8)``.
        max_kv_tokens (`int`, *optional*, defaults to 16): Keys/values of a strip longer than this are
            average-pooled to this many tokens (bounds the cost per query).
        axes (`tuple[str]`, *optional*, defaults to ``("width", "height", "time")``): Directions to attend along.
    """

    def __init__(
        self,
        channels: int,
        heads_per_axis: int = 2,
        head_dim: int | None = None,
        max_kv_tokens: int = 16,
        axes: tuple[str, ...] = AXES,
    ):
        super().__init__()
        unknown = [axis for axis in axes if axis not in AXES]
        if unknown or not axes:
            raise ValueError(f"axes must be a non-empty subset of {AXES}, got {axes!r}")
        if max_kv_tokens < 1:
            raise ValueError(f"max_kv_tokens must be >= 1, got {max_kv_tokens}")
        self.axes = tuple(axes)
        self.heads_per_axis = heads_per_axis
        self.head_dim = head_dim if head_dim is not None else max(channels // 16, 8)
        self.max_kv_tokens = max_kv_tokens
        inner_dim = len(self.axes) * heads_per_axis * self.head_dim
        self.norm = nn.LayerNorm(channels)
        self.to_qkv = nn.Linear(channels, 3 * inner_dim, bias=False)
        self.to_out = zero_module(nn.Linear(inner_dim, channels))

    def _attend_along(self, query, key, value, axis: str) -> torch.Tensor:
        """Attention along one axis. Inputs/outputs ``(B, F, H, W, heads, head_dim)``."""
        dim = _AXIS_DIM[axis]
        length = query.shape[dim]
        positions = sinusoidal_positions(length, self.head_dim, query.device, query.dtype)
        # Move the strip axis next to the head axis: (..., L, heads, d), then fold the rest into the batch.
        query = query.movedim(dim, -3)
        key = key.movedim(dim, -3)
        value = value.movedim(dim, -3)
        outer_shape = query.shape[:-3]
        query = (query + positions[:, None, :]).reshape(-1, length, self.heads_per_axis, self.head_dim)
        key = (key + positions[:, None, :]).reshape(-1, length, self.heads_per_axis, self.head_dim)
        value = value.reshape(-1, length, self.heads_per_axis, self.head_dim)
        query, key, value = (t.transpose(1, 2) for t in (query, key, value))  # (N, heads, L, d)
        if length > self.max_kv_tokens:
            key = _pool_tokens(key, self.max_kv_tokens)
            value = _pool_tokens(value, self.max_kv_tokens)
        out = F.scaled_dot_product_attention(query, key, value)  # (N, heads, L, d)
        out = out.transpose(1, 2).reshape(*outer_shape, length, self.heads_per_axis, self.head_dim)
        return out.movedim(-3, dim)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """``hidden_states`` ``(B, C, F, H, W)`` → ``(B, C, F, H, W)`` (input plus the strip-attention residual)."""
        if hidden_states.ndim != 5:
            raise ValueError(f"hidden_states must be (B, C, F, H, W), got shape {tuple(hidden_states.shape)}")
        # Channels-last copy once: LayerNorm and the projections are several times faster on contiguous rows.
        tokens = hidden_states.permute(0, 2, 3, 4, 1).contiguous()  # (B, F, H, W, C)
        qkv = self.to_qkv(self.norm(tokens))
        del tokens
        qkv = qkv.unflatten(-1, (3, len(self.axes), self.heads_per_axis, self.head_dim))
        outputs = [
            self._attend_along(qkv[..., 0, index, :, :], qkv[..., 1, index, :, :], qkv[..., 2, index, :, :], axis)
            for index, axis in enumerate(self.axes)
        ]
        out = torch.stack(outputs, dim=-3).flatten(-3)  # (B, F, H, W, inner_dim), same order as to_qkv
        return hidden_states + self.to_out(out).permute(0, 4, 1, 2, 3)


def _pool_tokens(tokens: torch.Tensor, num_tokens: int) -> torch.Tensor:
    """Average-pools ``(N, heads, L, d)`` along ``L`` to ``num_tokens`` summary tokens."""
    batch, heads, length, dim = tokens.shape
    pooled = F.adaptive_avg_pool1d(tokens.reshape(batch * heads, length, dim).transpose(1, 2), num_tokens)
    return pooled.transpose(1, 2).reshape(batch, heads, num_tokens, dim)


class FullSpatioTemporalAttention(nn.Module):
    """Reference: one self-attention over all ``F·H·W`` positions (quadratic), used by the STDA benchmark."""

    def __init__(self, channels: int, num_heads: int = 6, head_dim: int | None = None):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = head_dim if head_dim is not None else max(channels // 16, 8)
        inner_dim = num_heads * self.head_dim
        self.norm = nn.LayerNorm(channels)
        self.to_qkv = nn.Linear(channels, 3 * inner_dim, bias=False)
        self.to_out = nn.Linear(inner_dim, channels)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        batch, channels, frames, height, width = hidden_states.shape
        tokens = hidden_states.permute(0, 2, 3, 4, 1).reshape(batch, frames * height * width, channels)
        qkv = self.to_qkv(self.norm(tokens)).unflatten(-1, (3, self.num_heads, self.head_dim))
        query, key, value = (qkv[:, :, i].transpose(1, 2) for i in range(3))
        out = F.scaled_dot_product_attention(query, key, value).transpose(1, 2).flatten(2)
        out = self.to_out(out).reshape(batch, frames, height, width, channels).permute(0, 4, 1, 2, 3)
        return hidden_states + out
