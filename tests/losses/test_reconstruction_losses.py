"""The autoencoder's pixel reconstruction losses: SSIM as the evaluation computes it, the lower-face weight."""

import numpy as np
import pytest
import torch

from eadnet.losses import reconstruction_losses


def test_ssim_term_is_one_minus_the_evaluation_ssim():
    from eadnet.evaluation.image_quality import ssim

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (2, 20, 20, 3), dtype=np.uint8)  # 20 px: one scale (half would be < 16 px)
    noisy = np.clip(frames.astype(int) + rng.integers(-40, 41, frames.shape), 0, 255).astype(np.uint8)
    pixels = [torch.from_numpy(f).permute(0, 3, 1, 2).double() / 127.5 - 1 for f in (noisy, frames)]
    term = reconstruction_losses(*pixels, None, {"ssim"})["ssim"]
    assert float(term) == pytest.approx(1 - ssim(noisy, frames).mean(), abs=1e-9)


def test_lower_face_weight_counts_mouth_errors_more():
    from eadnet.face import mouth_mask

    target = torch.zeros(1, 3, 32, 32)
    mask = torch.from_numpy(mouth_mask(32, "lower_face"))
    weight = (1 + 4 * mask)[None, None]
    mouth_error = target + 0.5 * (mask > 0.5)
    forehead_error = target.clone()
    forehead_error[..., :8, 8:24] = 0.5
    names = {"l1", "mse", "ssim", "edge"}
    for name in names:
        plain = reconstruction_losses(mouth_error, target, None, names)[name]
        weighted = reconstruction_losses(mouth_error, target, weight, names)[name]
        assert weighted > plain, name
    assert (
        reconstruction_losses(forehead_error, target, weight, {"l1"})["l1"]
        < reconstruction_losses(forehead_error, target, None, {"l1"})["l1"]
    )
