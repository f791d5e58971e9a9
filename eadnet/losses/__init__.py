"""Training losses: the SyncNet lip-sync loss, TREPA, the diffusion helpers (mixed noise, one-step x̂₀) and the
autoencoder's pixel reconstruction terms."""

from eadnet.losses.diffusion import mixed_noise, predicted_original
from eadnet.losses.reconstruction import reconstruction_losses
from eadnet.losses.sync import SyncLoss, sync_bce
from eadnet.losses.trepa import TREPALoss

__all__ = [
    "SyncLoss",
    "TREPALoss",
    "mixed_noise",
    "predicted_original",
    "reconstruction_losses",
    "sync_bce",
]
