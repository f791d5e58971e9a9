"""Mixed noise, the one-step x̂₀ estimate and TREPA."""

import pytest
import torch

from eadnet.losses.diffusion import mixed_noise, predicted_original
from eadnet.losses.trepa import TREPALoss
from eadnet.pipelines.pipeline_eadnet import default_scheduler


@pytest.mark.parametrize("alpha", [0.0, 1.0, 3.0])
def test_mixed_noise_has_unit_variance_and_the_planned_frame_correlation(alpha):
    noise = mixed_noise((64, 4, 6, 8, 8), alpha, generator=torch.Generator().manual_seed(0))
    assert abs(noise.std().item() - 1.0) < 0.02
    a, b = noise[:, :, 0].flatten(), noise[:, :, 3].flatten()
    correlation = torch.corrcoef(torch.stack([a, b]))[0, 1].item()
    assert abs(correlation - alpha**2 / (1 + alpha**2)) < 0.03


def test_mixed_noise_checks_its_arguments():
    with pytest.raises(ValueError):
        mixed_noise((1, 4, 8, 8), 1.0)
    with pytest.raises(ValueError):
        mixed_noise((1, 4, 2, 8, 8), -1.0)


def test_predicted_original_inverts_add_noise_and_passes_gradients():
    scheduler = default_scheduler()
    clean = torch.randn(3, 4, 2, 8, 8)
    noise = torch.randn_like(clean).requires_grad_(True)
    timesteps = torch.tensor([0, 500, 999])
    noisy = scheduler.add_noise(clean, noise.detach(), timesteps)
    estimate = predicted_original(scheduler, noise, timesteps, noisy)
    torch.testing.assert_close(estimate, clean, atol=2e-3, rtol=1e-3)
    estimate.sum().backward()
    assert noise.grad is not None and noise.grad.abs().sum() > 0


def test_trepa_is_zero_for_the_same_clip_and_trains_the_generated_one(tiny_video_model_dir):
    loss = TREPALoss.from_pretrained(tiny_video_model_dir)
    real = torch.rand(2, 3, 12, 40, 40) * 2 - 1  # other length and size than the model's: resampled
    assert loss(real, real).item() == pytest.approx(0.0, abs=1e-7)
    fake = (real + 0.5 * torch.randn_like(real)).clamp(-1, 1).requires_grad_(True)
    value = loss(fake, real)
    assert value.item() > 0
    value.backward()
    assert fake.grad.abs().sum() > 0
    assert all(p.grad is None for p in loss.video_model.parameters())
    with pytest.raises(ValueError, match="shape"):
        loss(real[:, :, :8], real)
