"""FVD: loading a TorchScript I3D (a tiny stand-in saved with torch.jit.save), the clip preparation, the distance."""

import numpy as np
import pytest
import torch

from eadnet.evaluation.fvd import (
    I3D_FEATURE_KWARGS,
    I3DFeatureExtractor,
    fvd_from_features,
    fvd_from_videos,
    preprocess_clips,
    split_clips,
)


class TinyI3D(torch.nn.Module):
    """Stand-in with the StyleGAN-V I3D call signature: 400-d features only with return_features=True, and only
    on prepared clips (rescale/resize off)."""

    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(3 * 4 * 4, 400)

    def forward(
        self, x: torch.Tensor, rescale: bool = True, resize: bool = True, return_features: bool = False
    ) -> torch.Tensor:
        if rescale or resize:
            raise RuntimeError("the stand-in expects prepared clips")
        if x.shape[1] != 3 or x.shape[-1] != 224 or x.shape[-2] != 224:
            raise RuntimeError("expected (B, 3, T, 224, 224)")
        pooled = torch.nn.functional.adaptive_avg_pool3d(x, (1, 4, 4)).flatten(1)
        features = self.proj(pooled)
        if return_features:
            return features
        return features.softmax(dim=1)[:, :10]


@pytest.fixture(scope="module")
def i3d_path(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("i3d") / "i3d_torchscript.pt"
    torch.jit.save(torch.jit.script(TinyI3D()), str(path))
    return path


def test_feature_kwargs_are_the_documented_ones():
    assert I3D_FEATURE_KWARGS == {"rescale": False, "resize": False, "return_features": True}


def test_split_clips():
    video = np.zeros((40, 8, 8, 3), dtype=np.uint8)
    video[:, 0, 0, 0] = np.arange(40)
    clips = split_clips(video)
    assert clips.shape == (2, 16, 8, 8, 3)
    assert clips[1, 0, 0, 0, 0] == 16
    assert split_clips(video, stride=8).shape[0] == 4  # starts 0, 8, 16, 24
    assert split_clips(video[:10]).shape == (0, 16, 8, 8, 3)


def test_preprocess_resizes_the_short_side_and_centre_crops():
    clips = np.zeros((1, 2, 100, 300, 3), dtype=np.uint8)
    clips[..., 130:170, :] = 255  # a bright vertical band in the middle
    prepared = preprocess_clips(clips)
    assert prepared.shape == (1, 3, 2, 224, 224) and prepared.dtype == torch.float32
    assert prepared.min() >= -1.0 and prepared.max() <= 1.0
    assert prepared[0, :, :, :, 112].min() == pytest.approx(1.0)  # the band stays in the centre, full white
    assert prepared[0, :, :, :, 0].max() == pytest.approx(-1.0)  # the edges are black
    with pytest.raises(ValueError, match="uint8"):
        preprocess_clips(clips.astype(np.float32))


def test_torchscript_file_loads_and_gives_400_d_features(i3d_path):
    extractor = I3DFeatureExtractor(i3d_path, batch_size=2)
    rng = np.random.default_rng(0)
    clips = rng.integers(0, 256, (3, 16, 64, 80, 3), dtype=np.uint8)
    features = extractor.features(clips)
    assert features.shape == (3, 400) and features.dtype == np.float64
    with pytest.raises(FileNotFoundError):
        I3DFeatureExtractor(i3d_path.with_name("absent.pt"))


def test_fvd_of_a_set_against_itself_is_zero_and_differs_otherwise(i3d_path):
    extractor = I3DFeatureExtractor(i3d_path)
    rng = np.random.default_rng(1)
    videos = [rng.integers(0, 256, (32, 48, 48, 3), dtype=np.uint8) for _ in range(2)]
    assert fvd_from_videos(videos, videos, extractor) == pytest.approx(0.0, abs=1e-6)
    darker = [(video // 2) for video in videos]
    assert fvd_from_videos(videos, darker, extractor) > 1.0
    with pytest.raises(ValueError, match="16 frames"):
        fvd_from_videos([videos[0][:8]], videos, extractor)


def test_fvd_from_features_is_the_frechet_distance():
    a = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    assert fvd_from_features(a, a + 1.0) == pytest.approx(2.0)  # only the means differ: |(1, 1)|^2
