"""Training losses: the SyncNet lip-sync loss, TREPA, and the diffusion helpers (mixed noise, one-step x̂₀)."""

from eadnet.losses.diffusion import mixed_noise, predicted_original
from eadnet.losses.sync import SyncLoss, stack_lower_half, sync_bce
from eadnet.losses.trepa import TREPALoss

__all__ = ["SyncLoss", "TREPALoss", "mixed_noise", "predicted_original", "stack_lower_half", "sync_bce"]
