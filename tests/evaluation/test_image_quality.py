"""SSIM / PSNR of uint8 videos: identities, closed forms and an independent SSIM."""

import importlib.util
import math

import numpy as np
import pytest
from scipy import ndimage

from eadnet.evaluation.image_quality import gaussian_window, psnr, ssim, video_psnr_ssim


def frames(seed=0, shape=(3, 48, 40, 3)):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def noisy(video, seed=1, amplitude=25):
    noise = np.random.default_rng(seed).integers(-amplitude, amplitude + 1, video.shape)
    return np.clip(video.astype(int) + noise, 0, 255).astype(np.uint8)


def test_identical_videos():
    video = frames()
    np.testing.assert_allclose(ssim(video, video), 1.0)
    assert np.isinf(psnr(video, video)).all()
    report = video_psnr_ssim(video, video)
    assert report["ssim"] == 1.0
    assert math.isinf(report["psnr"]) and math.isinf(report["psnr_pooled"])  # written as null in JSON
    assert report["psnr_identical_frames"] == report["num_frames"] == 3


def test_psnr_of_a_constant_offset():
    video = np.full((2, 16, 16, 3), 100, dtype=np.uint8)
    shifted = video + np.uint8(5)  # MSE = 25
    expected = 10 * math.log10(255**2 / 25)  # 34.15 dB
    np.testing.assert_allclose(psnr(shifted, video), expected)
    partly = shifted.copy()
    partly[1] = video[1]  # one identical frame: left out of the mean, counted
    report = video_psnr_ssim(partly, video)
    assert report["psnr"] == pytest.approx(expected)
    assert report["psnr_identical_frames"] == 1
    assert report["psnr_pooled"] == pytest.approx(10 * math.log10(255**2 / 12.5))


def test_gaussian_window():
    window = gaussian_window()
    assert window.shape == (11,) and window.sum() == pytest.approx(1.0)
    assert window[5] / window[4] == pytest.approx(math.exp(0.5 / 1.5**2))


def independent_ssim(a, b):
    """Wang et al.'s SSIM, written out directly: 2-D Gaussian window, valid region only, sample moments."""
    size, sigma = 11, 1.5
    grid = np.arange(size) - 5
    kernel = np.exp(-(grid[:, None] ** 2 + grid[None, :] ** 2) / (2 * sigma**2))
    kernel /= kernel.sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    a, b = a.astype(np.float64), b.astype(np.float64)

    def blur(x):
        return ndimage.convolve(x, kernel, mode="nearest")[5:-5, 5:-5]

    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b, cov = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2, blur(a * b) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return ssim_map.mean()


def test_ssim_matches_an_independent_implementation():
    video, other = frames(), noisy(frames())
    per_channel = [
        np.mean([independent_ssim(x[..., c], y[..., c]) for c in range(3)]) for x, y in zip(video, other, strict=True)
    ]
    np.testing.assert_allclose(ssim(video, other), per_channel, atol=1e-10)
    luma = np.array([0.299, 0.587, 0.114])
    expected_y = [
        independent_ssim(x @ luma, y @ luma) for x, y in zip(video.astype(float), other.astype(float), strict=True)
    ]
    np.testing.assert_allclose(ssim(video, other, channel="y"), expected_y, atol=1e-10)


@pytest.mark.skipif(importlib.util.find_spec("skimage") is None, reason="scikit-image is not installed")
def test_ssim_and_psnr_match_scikit_image():
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    video, other = frames(2, (2, 64, 72, 3)), noisy(frames(2, (2, 64, 72, 3)), amplitude=40)
    expected = [
        structural_similarity(
            x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255, channel_axis=-1
        )
        for x, y in zip(video, other, strict=True)
    ]
    np.testing.assert_allclose(ssim(video, other), expected, atol=1e-3)
    np.testing.assert_allclose(
        psnr(video, other), [peak_signal_noise_ratio(x, y, data_range=255) for x, y in zip(video, other, strict=True)]
    )


def test_lengths_and_shapes_are_checked():
    video = frames()
    report = video_psnr_ssim(video, video[:2])
    assert report["num_frames"] == 2
    with pytest.raises(ValueError, match="frames"):
        video_psnr_ssim(video, video[:2], trim=False)
    with pytest.raises(ValueError, match="same number of frames"):
        ssim(video, video[:, :40])
    with pytest.raises(ValueError, match="channel"):
        ssim(video, video, channel="lab")
    with pytest.raises(ValueError, match="11"):
        ssim(video[:, :8, :8], video[:, :8, :8])
