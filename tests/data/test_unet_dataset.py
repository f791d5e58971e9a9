"""Training windows of the U-Net dataset."""

import numpy as np
import pytest
import torch

from eadnet.data.unet_dataset import UNetClipDataset
from eadnet.testing import tiny_audio_encoder


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from eadnet.data import ClipRecord, DatasetInfo, write_clip, write_dataset_info

    root = tmp_path_factory.mktemp("windows")
    write_dataset_info(root, DatasetInfo(crop_size=16))
    for index, length in enumerate([20, 30, 5]):
        frames = np.full((length, 16, 16, 3), 0, np.uint8)
        frames[:, 0, 0, 0] = np.arange(length)  # each frame carries its index
        write_clip(
            root,
            ClipRecord(f"c{index}", 0, emotion="happy" if index else None),
            frames,
            np.random.default_rng(index).normal(0, 0.1, length * 640),
            frames_format="npy",
        )
    encoder = tiny_audio_encoder()
    return UNetClipDataset(root, num_frames=8, slice_audio=encoder.slice_frames, audio_encoder=encoder, seed=1)


def frame_ids(pixels):
    return ((pixels[0, :, 0, 0] + 1) * 127.5).round().long().tolist()


def test_items_are_consecutive_windows_with_a_reference_from_elsewhere(dataset):
    assert len(dataset) == 2  # the 5-frame clip is too short for 8-frame windows
    for epoch in range(3):
        item = dataset[(1, epoch)]
        start = item["start"]
        assert item["pixel_values"].shape == (3, 8, 16, 16)
        assert frame_ids(item["pixel_values"]) == list(range(start, start + 8))
        assert frame_ids(item["ref_pixel_values"])[0] != start
        assert item["audio_embeds"].shape[0] == 8
        assert "happy" in item["description"]
    assert dataset[(0, 0)]["description"] == ""


def test_items_depend_only_on_index_epoch_and_seed(dataset):
    first = dataset[(1, 4)]
    torch.manual_seed(123)
    np.random.seed(5)
    again = dataset[(1, 4)]
    assert first["start"] == again["start"]
    assert torch.equal(first["audio_embeds"], again["audio_embeds"])
    assert {dataset[(1, e)]["start"] for e in range(10)} != {first["start"]}
