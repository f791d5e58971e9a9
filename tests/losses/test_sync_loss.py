"""SyncLoss: LatentSync's stage-2 sync loss through a frozen SyncNet; the gradient reaches the frames only."""

import pytest
import torch

from eadnet.losses import SyncLoss, sync_bce
from eadnet.models.syncnet import SyncNet, stack_lower_half
from eadnet.testing import TINY_SYNCNET_CONFIG

# Small convolutions: one intra-op thread (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_thread")


TINY = TINY_SYNCNET_CONFIG


@pytest.fixture(scope="module")
def syncnet():
    torch.manual_seed(0)
    return SyncNet(**TINY)


def inputs(size=32, batch=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    frames = torch.rand(batch, 3, 16, size, size, generator=generator) * 2 - 1
    mel = torch.rand(batch, 1, 80, 52, generator=generator) * 8 - 4
    return frames, mel


def test_gradient_reaches_frames_and_not_the_frozen_syncnet(syncnet):
    loss_fn = SyncLoss(syncnet)
    loss_fn.train()  # a parent module's train() must not wake the SyncNet up
    assert not loss_fn.syncnet.training
    assert not any(p.requires_grad for p in loss_fn.syncnet.parameters())
    frames, mel = inputs()
    frames.requires_grad_(True)
    loss = loss_fn(frames, mel)
    assert loss.ndim == 0 and torch.isfinite(loss) and loss > 0
    loss.backward()
    assert frames.grad is not None and frames.grad.abs().sum() > 0
    # The SyncNet reads the lower half only.
    assert frames.grad[..., :16, :].abs().sum() == 0
    assert frames.grad[..., 16:, :].abs().sum() > 0
    assert all(p.grad is None for p in loss_fn.syncnet.parameters())


def test_loss_is_latentsync_bce_of_the_similarity(syncnet):
    loss_fn = SyncLoss(syncnet)
    frames, mel = inputs(batch=3)
    with torch.no_grad():
        similarity = syncnet(stack_lower_half(frames, 32), mel).similarity
        torch.testing.assert_close(loss_fn.similarity(frames, mel), similarity)
        torch.testing.assert_close(loss_fn(frames, mel), -similarity.log().mean())


def test_frames_are_stacked_frame_major_and_cut_to_the_lower_half():
    frames = torch.arange(2 * 3 * 4 * 8 * 8, dtype=torch.float32).reshape(2, 3, 4, 8, 8)
    stacked = stack_lower_half(frames, 8)
    assert stacked.shape == (2, 12, 4, 8)
    for frame in range(4):
        for colour in range(3):
            torch.testing.assert_close(stacked[:, 3 * frame + colour], frames[:, colour, frame, 4:])


def test_larger_frames_are_resized_to_the_syncnet_size(syncnet):
    loss_fn = SyncLoss(syncnet)
    frames, mel = inputs(size=64)
    small = (
        torch.nn.functional.interpolate(
            frames.transpose(1, 2).flatten(0, 1), size=(32, 32), mode="bicubic", align_corners=False
        )
        .unflatten(0, (2, 16))
        .transpose(1, 2)
    )
    with torch.no_grad():
        torch.testing.assert_close(loss_fn(frames, mel), loss_fn(small, mel))


def test_clear_errors(syncnet):
    loss_fn = SyncLoss(syncnet)
    frames, mel = inputs()
    with pytest.raises(ValueError, match="16 frames"):
        loss_fn(frames[:, :, :8], mel)
    with pytest.raises(ValueError, match="batch size"):
        loss_fn(frames, mel[:1])
    with pytest.raises(ValueError, match=r"\(B, C, F, H, W\)"):
        stack_lower_half(frames[0], 32)


def test_sync_bce_clamps_rounding_and_takes_labels():
    similarity = torch.tensor([1.0000001, 0.5, 0.0])
    loss = sync_bce(similarity, torch.tensor([1.0, 0.0, 0.0]))
    expected = -(torch.log(torch.tensor(1.0)) + torch.log(torch.tensor(0.5)) + torch.log(torch.tensor(1.0))) / 3
    torch.testing.assert_close(loss, expected)
