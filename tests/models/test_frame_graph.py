import pytest
import torch

from eadnet.models.frame_graph import TemporalFrameGraph


def test_shape_and_zero_init_identity():
    module = TemporalFrameGraph(16, node_dim=8)
    x = torch.randn(2, 16, 6, 4, 4)
    out, adjacency = module(x, return_adjacency=True)
    assert out.shape == x.shape
    assert torch.equal(out, x)
    assert adjacency.shape == (2, 6, 6)


def test_adjacency_rows_are_normalised_and_non_negative():
    module = TemporalFrameGraph(16, node_dim=8)
    _, adjacency = module(torch.randn(3, 16, 9, 4, 4), return_adjacency=True)
    assert torch.allclose(adjacency.sum(-1), torch.ones(3, 9), atol=1e-6)
    assert (adjacency >= 0).all()


def test_temporal_prior_is_a_decaying_band_for_any_length():
    module = TemporalFrameGraph(8, node_dim=8, prior_band=2)
    for frames in (1, 5, 40):
        prior = module.temporal_prior(frames)
        assert prior.shape == (frames, frames)
        assert torch.allclose(prior, prior.T)
    prior = module.temporal_prior(6)
    assert prior[0, 0] > prior[0, 1] > prior[0, 2] > 0
    assert prior[0, 3] == 0 and prior[5, 0] == 0


def test_gradients_reach_the_learned_adjacency():
    """Zero-initialised output ⇒ no gradient at step 0 beyond the output projection; after one optimiser step
    the content affinity (query/key) and the temporal prior receive gradients."""
    torch.manual_seed(0)
    module = TemporalFrameGraph(16, node_dim=8)
    x = torch.randn(2, 16, 6, 4, 4)
    target = torch.randn_like(x)
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)

    loss = (module(x) - target).square().mean()
    loss.backward()
    assert module.to_modulation.weight.grad.abs().sum() > 0
    optimizer.step()
    optimizer.zero_grad()

    (module(x) - target).square().mean().backward()
    for parameter in (module.prior_logits, module.query.weight, module.key.weight):
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0


def test_frames_exchange_information():
    torch.manual_seed(0)
    module = TemporalFrameGraph(16, node_dim=8)
    with torch.no_grad():
        module.to_modulation.weight.normal_(std=0.5)
    x = torch.randn(1, 16, 5, 4, 4)
    bumped = x.clone()
    bumped[:, :, 0] += 2.0 * torch.randn(1, 16, 4, 4)
    with torch.no_grad():
        delta = (module(bumped) - module(x)).abs().amax(dim=(0, 1, 3, 4))
    assert (delta[1:] > 1e-5).all(), "a change in frame 0 must reach every other frame through the graph"


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_layers"):
        TemporalFrameGraph(8, num_layers=0)
    with pytest.raises(ValueError, match="prior_band"):
        TemporalFrameGraph(8, prior_band=-1)
    with pytest.raises(ValueError, match="hidden_states"):
        TemporalFrameGraph(8)(torch.randn(8, 4, 4, 4))
