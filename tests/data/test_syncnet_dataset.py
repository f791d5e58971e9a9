"""SyncNetDataset: in-sync / shifted pairs, labels, windows, determinism, mel caching."""

import numpy as np
import pytest
import torch

from eadnet.data import ClipRecord, DatasetError, DatasetInfo, write_clip, write_dataset_info
from eadnet.data import syncnet_dataset as module
from eadnet.data.syncnet_dataset import SyncNetDataset
from eadnet.models.syncnet import mel_spectrogram, mel_window

# Small convolutions: one intra-op thread (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_thread")


CROP = 16
LENGTHS = {"a": 40, "b": 30, "c": 25, "short": 18}


@pytest.fixture(scope="module")
def dataset_root(tmp_path_factory):
    """Four clips of random frames and noise; ``short`` is too short for a window and a 5-frame shift."""
    root = tmp_path_factory.mktemp("syncnet-data")
    write_dataset_info(root, DatasetInfo(crop_size=CROP))
    rng = np.random.default_rng(0)
    for index, (clip_id, num_frames) in enumerate(LENGTHS.items()):
        frames = rng.integers(0, 256, (num_frames, CROP, CROP, 3), dtype=np.uint8)
        audio = (rng.normal(size=num_frames * 640) * 0.1).astype(np.float32)
        split = "val" if index == 2 else "train"
        write_clip(root, ClipRecord(clip_id, 0, split=split), frames, audio, frames_format="npy")
    return root


def test_items_are_windows_of_the_clip(dataset_root):
    dataset = SyncNetDataset(dataset_root, split="train", samples_per_clip=20, seed=3)
    assert sorted(r.id for r in dataset.records) == ["a", "b"]  # "short" skipped, "c" is val
    assert len(dataset) == 40
    for index in range(len(dataset)):
        item = dataset[index]
        record = dataset.records[index % 2]
        assert item["clip_id"] == record.id
        assert item["frames"].shape == (3, 16, CROP, CROP) and item["frames"].dtype == torch.float32
        assert item["mel"].shape == (1, 80, 52) and item["mel"].dtype == torch.float32
        assert item["label"].shape == () and float(item["label"]) in (0.0, 1.0)
        clip = np.load(dataset_root / "clips" / record.id / "frames.npy")
        expected = clip[item["frame_start"] : item["frame_start"] + 16].transpose(3, 0, 1, 2) / 127.5 - 1.0
        np.testing.assert_allclose(item["frames"].numpy(), expected, atol=1e-6)
        full_mel = dataset.clip_mel(record)
        torch.testing.assert_close(item["mel"], mel_window(full_mel, item["audio_start"]))


def test_labels_are_balanced_and_negatives_shifted_by_at_least_min_offset(dataset_root):
    dataset = SyncNetDataset(dataset_root, split="train", samples_per_clip=200, min_offset=5, seed=0)
    labels, shifts = [], []
    for index in range(len(dataset)):
        item = dataset[index]
        shift = item["audio_start"] - item["frame_start"]
        labels.append(float(item["label"]))
        shifts.append(shift)
        if item["label"] == 1:
            assert shift == 0
        else:
            assert abs(shift) >= 5
    assert 0.4 < np.mean(labels) < 0.6
    negative_shifts = [s for s, label in zip(shifts, labels, strict=True) if label == 0]
    assert min(negative_shifts) < 0 < max(negative_shifts)  # audio both earlier and later than the frames
    always = SyncNetDataset(dataset_root, split="train", positive_fraction=1.0)
    assert all(float(always[i]["label"]) == 1.0 for i in range(len(always)))


def test_items_are_deterministic_given_seed_index_and_epoch(dataset_root):
    first = SyncNetDataset(dataset_root, split="train", samples_per_clip=10, seed=7)
    second = SyncNetDataset(dataset_root, split="train", samples_per_clip=10, seed=7)
    other_seed = SyncNetDataset(dataset_root, split="train", samples_per_clip=10, seed=8)

    def key(item):
        return item["clip_id"], item["frame_start"], item["audio_start"], float(item["label"])

    order = [5, 2, 19, 0, 11]  # access order must not matter
    assert [key(first[i]) for i in order] == [key(second[i]) for i in order]
    torch.testing.assert_close(first[4]["frames"], second[4]["frames"])
    windows = [key(first[i]) for i in range(len(first))]
    assert windows != [key(other_seed[i]) for i in range(len(first))]
    assert windows != [key(first[(i, 1)]) for i in range(len(first))]  # another epoch, other windows
    assert key(first[(3, 0)]) == key(first[3])


def test_mel_is_computed_once_per_clip(dataset_root, monkeypatch):
    calls = []

    def counting(waveform):
        calls.append(len(waveform))
        return mel_spectrogram(waveform)

    monkeypatch.setattr(module, "mel_spectrogram", counting)
    dataset = SyncNetDataset(dataset_root, split="train", samples_per_clip=10)
    for index in range(len(dataset)):
        dataset[index]
    assert sorted(calls) == [LENGTHS["b"] * 640, LENGTHS["a"] * 640]


def test_crop_size_resizes_frames(dataset_root):
    dataset = SyncNetDataset(dataset_root, split="val", crop_size=8)
    item = dataset[0]
    assert item["frames"].shape == (3, 16, 8, 8)
    assert item["frames"].min() >= -1 and item["frames"].max() <= 1


def test_clear_errors(dataset_root):
    with pytest.raises(DatasetError, match="frames a SyncNet window"):
        SyncNetDataset(dataset_root, split="train", num_frames=40)
    with pytest.raises(ValueError, match="min_offset"):
        SyncNetDataset(dataset_root, min_offset=0)
    dataset = SyncNetDataset(dataset_root, split="train")
    with pytest.raises(IndexError):
        dataset[len(dataset)]


def test_batches_through_a_dataloader(dataset_root):
    dataset = SyncNetDataset(dataset_root, split="train", samples_per_clip=4)
    batch = next(iter(torch.utils.data.DataLoader(dataset, batch_size=4)))
    assert batch["frames"].shape == (4, 3, 16, CROP, CROP)
    assert batch["mel"].shape == (4, 1, 80, 52)
    assert batch["label"].shape == (4,)


def test_paired_items_share_frames_and_differ_in_audio(dataset_root):
    dataset = SyncNetDataset(dataset_root, split="train", samples_per_clip=10, min_offset=6, paired=True, seed=2)
    assert len(dataset) == 2 * 2 * 10
    for pair in range(len(dataset) // 2):
        positive, negative = dataset[2 * pair], dataset[2 * pair + 1]
        assert (float(positive["label"]), float(negative["label"])) == (1.0, 0.0)
        assert positive["clip_id"] == negative["clip_id"]
        assert positive["frame_start"] == negative["frame_start"] == positive["audio_start"]
        assert abs(negative["audio_start"] - negative["frame_start"]) >= 6
        torch.testing.assert_close(positive["frames"], negative["frames"])
    assert dataset[(3, 1)]["frame_start"] == dataset[(2, 1)]["frame_start"]
