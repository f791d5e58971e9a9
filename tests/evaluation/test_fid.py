"""FID: the Fréchet distance against closed forms, and the FID Inception network's shapes and weight loading."""

import numpy as np
import pytest
import torch
from scipy import linalg

from eadnet.evaluation.fid import (
    InceptionV3FeatureExtractor,
    WeightsMismatchError,
    feature_statistics,
    fid_from_features,
    fid_from_frames,
    frechet_distance,
    inception_features,
)


def random_spd(rng, dim, scale=1.0):
    matrix = rng.normal(size=(dim, dim)) * scale
    return matrix @ matrix.T + 0.1 * np.eye(dim)


# ------------------------------------------------------------------------------------------------ distance
def test_fid_of_a_set_against_itself_is_zero():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(300, 64)) @ rng.normal(size=(64, 64)) + 3.0
    assert fid_from_features(features, features) == pytest.approx(0.0, abs=1e-6)
    assert fid_from_features(features, features, method="sqrtm") == pytest.approx(0.0, abs=1e-6)
    # fewer samples than dimensions: rank-deficient covariances
    few = rng.normal(size=(10, 64))
    assert fid_from_features(few, few) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("method", ["eigh", "sqrtm"])
def test_diagonal_gaussians_match_the_closed_form(method):
    # commuting (diagonal) covariances: Tr((S1 S2)^1/2) = sum sqrt(a_i b_i), so
    # FID = |mu1 - mu2|^2 + sum (sqrt(a_i) - sqrt(b_i))^2
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    expected = 1 + 0 + 4 + (1 - 2) ** 2 + (2 - 1) ** 2 + 0  # = 7
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b), method=method) == pytest.approx(expected, abs=1e-10)
    # scalar case: (m1 - m2)^2 + (s1 - s2)^2 with s the standard deviations
    assert frechet_distance([0.5], [[4.0]], [2.5], [[1.0]], method=method) == pytest.approx(4 + 1, abs=1e-12)


@pytest.mark.parametrize("method", ["eigh", "sqrtm"])
def test_random_spd_matches_an_independent_computation(method):
    rng = np.random.default_rng(1)
    dim = 12
    sigma1, sigma2 = random_spd(rng, dim), random_spd(rng, dim, scale=2.0)
    mu1, mu2 = rng.normal(size=dim), rng.normal(size=dim)
    # independent: Tr((S1 S2)^1/2) = Tr((S2^1/2 S1 S2^1/2)^1/2), computed with scipy's sqrtm of the symmetric form
    root2 = linalg.sqrtm(sigma2).real
    trace_root = np.trace(linalg.sqrtm(root2 @ sigma1 @ root2).real)
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_root
    assert frechet_distance(mu1, sigma1, mu2, sigma2, method=method) == pytest.approx(expected, rel=1e-9)
    # symmetric in its arguments
    assert frechet_distance(mu2, sigma2, mu1, sigma1) == pytest.approx(expected, rel=1e-9)


def test_sample_space_path_equals_the_covariance_path():
    rng = np.random.default_rng(2)
    features1 = rng.normal(size=(20, 50)) * rng.uniform(0.5, 2.0, 50)
    features2 = rng.normal(size=(30, 50)) + 0.3
    mu1, sigma1 = feature_statistics(features1)
    mu2, sigma2 = feature_statistics(features2)
    expected = frechet_distance(mu1, sigma1, mu2, sigma2, method="sqrtm")
    # N <= D: sample space. The covariances have rank N - 1 < D; the square roots of their round-off eigenvalues
    # (~1e-15) add ~1e-8 relative error to the covariance path, hence the tolerance
    assert fid_from_features(features1, features2) == pytest.approx(expected, rel=1e-7)
    many = rng.normal(size=(80, 50))
    mu3, sigma3 = feature_statistics(many)
    assert fid_from_features(many, features2) == pytest.approx(  # N > D: covariances
        frechet_distance(mu3, sigma3, mu2, sigma2, method="sqrtm"), rel=1e-7
    )


def test_feature_statistics_are_unbiased_and_checked():
    features = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 8.0]])
    mu, sigma = feature_statistics(features)
    np.testing.assert_allclose(mu, [2.0, 4.0])
    np.testing.assert_allclose(sigma, np.cov(features, rowvar=False))
    with pytest.raises(ValueError, match="at least 2"):
        feature_statistics(features[:1])
    with pytest.raises(ValueError, match="NaN"):
        feature_statistics([[0.0, np.nan], [1.0, 2.0]])
    with pytest.raises(ValueError, match="method"):
        frechet_distance([0.0], [[1.0]], [0.0], [[1.0]], method="svd")


# ------------------------------------------------------------------------------------------------ network
@pytest.fixture(scope="module")
def inception():
    torch.manual_seed(0)
    return InceptionV3FeatureExtractor(resize_input=False)


def test_feature_extractor_shapes_and_parameter_names(inception):
    state = inception.state_dict()
    # torchvision / pytorch-fid names, so pt_inception-2015-12-05-6726825d.pth loads key for key
    for key in (
        "Conv2d_1a_3x3.conv.weight",
        "Conv2d_4a_3x3.bn.running_var",
        "Mixed_5b.branch_pool.conv.weight",
        "Mixed_6e.branch7x7dbl_5.conv.weight",
        "Mixed_7a.branch7x7x3_4.bn.bias",
        "Mixed_7c.branch3x3dbl_3b.conv.weight",
        "fc.weight",
    ):
        assert key in state
    assert tuple(state["Mixed_6b.branch7x7_1.conv.weight"].shape) == (128, 768, 1, 1)
    assert tuple(state["Mixed_7c.branch1x1.conv.weight"].shape) == (320, 2048, 1, 1)
    assert tuple(state["fc.weight"].shape) == (1008, 2048)
    assert sum(p.numel() for p in inception.parameters()) == 23_850_960  # torchvision's, minus AuxLogits, 1008 classes
    with torch.no_grad():
        features = inception(torch.rand(2, 3, 75, 75))
    assert features.shape == (2, 2048)
    assert torch.isfinite(features).all() and (features >= 0).all()  # average of ReLU outputs


def test_inception_features(inception):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (2, 75, 90, 3), dtype=np.uint8)
    features = inception_features(frames, inception)
    assert features.shape == (2, 2048) and features.dtype == np.float64
    assert fid_from_features(features, features) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="uint8"):
        inception_features(frames.astype(np.float32), inception)


def test_fid_from_frames_batches_any_feature_network():
    pooled = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten())  # 48-d "features"
    rng = np.random.default_rng(0)
    frames1 = rng.integers(0, 256, (6, 20, 24, 3), dtype=np.uint8)
    frames2 = np.clip(frames1.astype(int) + 40, 0, 255).astype(np.uint8)
    assert fid_from_frames(frames1, frames1, pooled, batch_size=4, device="cpu") == pytest.approx(0.0, abs=1e-9)
    expected = fid_from_features(
        inception_features(frames1, pooled, device="cpu"), inception_features(frames2, pooled, device="cpu")
    )
    assert fid_from_frames(frames1, frames2, pooled, batch_size=4, device="cpu") == pytest.approx(expected)
    assert expected > 0.01


def test_resize_input_brings_any_size_to_299(inception):
    class Stop(Exception):
        pass

    def record(module, args):
        seen.append(tuple(args[0].shape))
        raise Stop  # the rest of the network is not needed

    seen = []
    model = InceptionV3FeatureExtractor()
    model.Conv2d_1a_3x3.register_forward_pre_hook(record)
    with torch.no_grad(), pytest.raises(Stop):
        model(torch.rand(1, 3, 40, 50))
    assert seen == [(1, 3, 299, 299)]
    with pytest.raises(ValueError, match="75"):
        inception(torch.rand(1, 3, 40, 50))  # resize_input=False: too small for the network


def test_loading_checks_every_key(tmp_path, inception):
    state = {k: v for k, v in inception.state_dict().items() if not k.endswith("num_batches_tracked")}
    good = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    torch.save(state, good)
    loaded = InceptionV3FeatureExtractor.from_pytorch_fid_weights(good, resize_input=False)
    images = torch.rand(1, 3, 75, 75)
    with torch.no_grad():
        torch.testing.assert_close(loaded(images), inception(images))

    broken = dict(state)
    del broken["Mixed_6c.branch7x7_2.conv.weight"], broken["fc.bias"]
    broken["AuxLogits.fc.weight"] = torch.zeros(1000, 768)
    torch.save(broken, tmp_path / "broken.pth")
    with pytest.raises(WeightsMismatchError) as info:
        InceptionV3FeatureExtractor.from_pytorch_fid_weights(tmp_path / "broken.pth")
    assert info.value.missing_keys == ["Mixed_6c.branch7x7_2.conv.weight", "fc.bias"]
    assert info.value.unexpected_keys == ["AuxLogits.fc.weight"]
    assert "2 missing" in str(info.value) and "Mixed_6c.branch7x7_2.conv.weight" in str(info.value)
    with pytest.raises(FileNotFoundError):
        InceptionV3FeatureExtractor.from_pytorch_fid_weights(tmp_path / "absent.pth")
