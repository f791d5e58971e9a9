"""Training losses."""

from eadnet.losses.sync import SyncLoss, stack_lower_half, sync_bce

__all__ = ["SyncLoss", "stack_lower_half", "sync_bce"]
