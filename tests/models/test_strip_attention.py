import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from eadnet.models.strip_attention import FullSpatioTemporalAttention, StripAttention3D


def trained_stda(channels=16, **kwargs):
    torch.manual_seed(0)
    module = StripAttention3D(channels, **kwargs)
    with torch.no_grad():
        module.to_out.weight.normal_(std=0.2)
    return module.eval()


def test_shape_and_zero_init_identity():
    module = StripAttention3D(16)
    x = torch.randn(2, 16, 5, 6, 7)
    out = module(x)
    assert out.shape == x.shape
    assert torch.equal(out, x)


@pytest.mark.parametrize("max_kv_tokens", [16, 2])
def test_perturbation_spreads_along_each_axis_only(max_kv_tokens):
    """A change at one (f, h, w) reaches its row, column and temporal strip, and nothing off those strips
    (also when keys are pooled to fewer tokens than the strip length)."""
    module = trained_stda(max_kv_tokens=max_kv_tokens)
    x = torch.randn(1, 16, 5, 6, 7)
    f0, h0, w0 = 2, 3, 4
    bumped = x.clone()
    bumped[0, :, f0, h0, w0] += 3.0 * torch.randn(16)
    with torch.no_grad():
        delta = (module(bumped) - module(x)).abs().amax(dim=(0, 1))  # (F, H, W)
    delta[f0, h0, w0] = 0  # the perturbed position itself trivially differs
    assert (delta[f0, h0, :] > 1e-5).sum() == 6, "width strip"
    assert (delta[f0, :, w0] > 1e-5).sum() == 5, "height strip"
    assert (delta[:, h0, w0] > 1e-5).sum() == 4, "time strip"
    on_cross = torch.zeros_like(delta, dtype=torch.bool)
    on_cross[f0, h0, :] = on_cross[f0, :, w0] = on_cross[:, h0, w0] = True
    assert delta[~on_cross].max() < 1e-6


@pytest.mark.parametrize("axis", ["width", "height", "time"])
def test_single_axis_branch(axis):
    module = trained_stda(axes=(axis,))
    x = torch.randn(1, 16, 4, 4, 4)
    bumped = x.clone()
    bumped[0, :, 1, 1, 1] += 3.0 * torch.randn(16)
    with torch.no_grad():
        delta = (module(bumped) - module(x)).abs().amax(dim=(0, 1))
    index = {"time": (slice(None), 1, 1), "height": (1, slice(None), 1), "width": (1, 1, slice(None))}[axis]
    assert (delta[index] > 1e-5).all()
    delta[index] = 0
    assert delta.max() < 1e-6


def count_flops(module, shape):
    with torch.device("meta"):
        x = torch.empty(shape)
    with FlopCounterMode(display=False) as counter:
        module.to("meta")(x)
    return counter.get_total_flops()


def test_cost_grows_linearly_with_frames_and_size():
    stda = StripAttention3D(64)
    full = FullSpatioTemporalAttention(64)
    stda_16 = count_flops(stda, (1, 64, 16, 32, 32))
    stda_64 = count_flops(stda, (1, 64, 64, 32, 32))
    full_64 = count_flops(full, (1, 64, 64, 32, 32))
    assert stda_64 / stda_16 <= 4.5
    assert full_64 / stda_64 >= 10
    # Doubling H and W quadruples the positions: at most ~4x the cost (no quadratic term in H or W).
    assert count_flops(stda, (1, 64, 16, 64, 64)) / stda_16 <= 4.5


def test_bad_arguments():
    with pytest.raises(ValueError, match="axes"):
        StripAttention3D(8, axes=("depth",))
    with pytest.raises(ValueError, match="max_kv_tokens"):
        StripAttention3D(8, max_kv_tokens=0)
    with pytest.raises(ValueError, match="hidden_states"):
        StripAttention3D(8)(torch.randn(8, 4, 4, 4))
