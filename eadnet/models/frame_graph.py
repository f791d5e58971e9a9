"""TFRM — Temporal Frame graph Reasoning Module (EAD-Net, arXiv 2604.23325).

The paper states that TFRM learns a graph over the frames of a clip and reasons over it with a GCN for
temporal coherence; its code is not public, so this is our reconstruction. Graph convolution follows Kipf &
Welling (ICLR 2017); the learned, content-dependent adjacency follows non-local / graph reasoning units
(Wang et al., "Videos as Space-Time Region Graphs", ECCV 2018; Chen et al., GloRe, CVPR 2019).

1. Each frame becomes a node: its feature map mean-pooled over H×W and projected to ``node_dim``.
2. Adjacency ``A = row_normalise(softmax(Q Kᵀ / √d) + P)``: content affinity plus a learnable temporal prior
   ``P``. ``P`` is a band (Toeplitz) matrix with one non-negative weight per frame offset ``|i - j| <= band``,
   initialised to decay with the offset (temporal proximity); parametrising it by offset lets one module
   serve windows of any length. Rows sum to one.
3. ``num_layers`` residual graph convolutions ``X ← X + GELU(LN(A X W))``.
4. The node states become a per-frame scale and shift of the feature map, through a zero-initialised
   projection: a freshly added TFRM is the identity.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from eadnet.models.attention import zero_module


class TemporalFrameGraph(nn.Module):
    r"""Frame-graph reasoning over a clip's frames, applied as a per-frame modulation.

    Args:
        channels (`int`): Channels ``C`` of the input ``(B, C, F, H, W)``.
        node_dim (`int`, *optional*): Width of the node features; defaults to ``min(channels, 256)``.
        num_layers (`int`, *optional*, defaults to 2): Graph-convolution layers.
        prior_band (`int`, *optional*, defaults to 4): Largest frame offset that the temporal prior links.
    """

    def __init__(self, channels: int, node_dim: int | None = None, num_layers: int = 2, prior_band: int = 4):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        if prior_band < 0:
            raise ValueError(f"prior_band must be >= 0, got {prior_band}")
        node_dim = node_dim if node_dim is not None else min(channels, 256)
        self.node_dim = node_dim
        self.prior_band = prior_band
        self.node_norm = nn.LayerNorm(channels)
        self.node_proj = nn.Linear(channels, node_dim)
        self.query = nn.Linear(node_dim, node_dim, bias=False)
        self.key = nn.Linear(node_dim, node_dim, bias=False)
        # softplus(prior_logits[k]) = exp(-k / 2): weight 1 for the frame itself, decaying with the offset.
        offsets = torch.arange(prior_band + 1, dtype=torch.float32)
        self.prior_logits = nn.Parameter(torch.log(torch.expm1(torch.exp(-offsets / 2))))
        self.gcn_weights = nn.ModuleList([nn.Linear(node_dim, node_dim, bias=False) for _ in range(num_layers)])
        self.gcn_norms = nn.ModuleList([nn.LayerNorm(node_dim) for _ in range(num_layers)])
        self.to_modulation = zero_module(nn.Linear(node_dim, 2 * channels))

    def temporal_prior(self, num_frames: int) -> torch.Tensor:
        """Band matrix ``(F, F)`` of non-negative weights that depend only on ``|i - j|``."""
        index = torch.arange(num_frames, device=self.prior_logits.device)
        offset = (index[:, None] - index[None, :]).abs()
        weights = F.softplus(self.prior_logits)[offset.clamp(max=self.prior_band)]
        return weights * (offset <= self.prior_band)

    def adjacency(self, nodes: torch.Tensor) -> torch.Tensor:
        """Row-normalised adjacency ``(B, F, F)`` from node features ``(B, F, node_dim)``."""
        affinity = self.query(nodes) @ self.key(nodes).transpose(1, 2) / math.sqrt(self.node_dim)
        adjacency = affinity.softmax(dim=-1) + self.temporal_prior(nodes.shape[1]).to(nodes.dtype)
        return adjacency / adjacency.sum(dim=-1, keepdim=True)

    def forward(self, hidden_states: torch.Tensor, return_adjacency: bool = False):
        """``hidden_states`` ``(B, C, F, H, W)`` → same shape (and the ``(B, F, F)`` adjacency if asked)."""
        if hidden_states.ndim != 5:
            raise ValueError(f"hidden_states must be (B, C, F, H, W), got shape {tuple(hidden_states.shape)}")
        nodes = self.node_proj(self.node_norm(hidden_states.mean(dim=(3, 4)).transpose(1, 2)))  # (B, F, node_dim)
        adjacency = self.adjacency(nodes)
        for weight, norm in zip(self.gcn_weights, self.gcn_norms, strict=True):
            nodes = nodes + F.gelu(norm(weight(adjacency @ nodes)))
        scale, shift = self.to_modulation(nodes).transpose(1, 2).chunk(2, dim=1)  # (B, C, F) each
        out = hidden_states * (1 + scale[..., None, None]) + shift[..., None, None]
        return (out, adjacency) if return_adjacency else out
