"""The on-disk clip dataset."""

import json

import numpy as np
import pytest
import torch

from eadnet.data import (
    ClipRecord,
    DatasetError,
    DatasetInfo,
    clip_dir,
    load_clip_audio,
    load_clip_features,
    load_clip_frames,
    read_dataset_info,
    read_manifest,
    write_clip,
    write_dataset_info,
)


def smooth_frames(count, size=32):
    y, x = np.mgrid[0:size, 0:size]
    return np.stack(
        [np.stack([(x * 6 + t * 3) % 256, (y * 6) % 256, np.full_like(x, 128)], -1) for t in range(count)]
    ).astype(np.uint8)


def test_round_trip_npy_and_mp4(tmp_path):
    write_dataset_info(tmp_path, DatasetInfo(crop_size=32))
    frames = smooth_frames(10)
    audio = np.sin(np.arange(6400) / 10).astype(np.float32) * 0.5
    features = torch.randn(20, 3, 8)
    write_clip(tmp_path, ClipRecord("a", 0, emotion="sad", intensity=3, extra={"k": 1}), frames, audio, features)
    write_clip(tmp_path, ClipRecord("b", 0), frames, audio, frames_format="npy")
    a, b = read_manifest(tmp_path)
    assert (a.id, a.num_frames, a.emotion, a.intensity, a.extra) == ("a", 10, "sad", 3, {"k": 1})
    assert np.array_equal(load_clip_frames(tmp_path, b, 2, 4), frames[2:6])
    assert np.abs(load_clip_frames(tmp_path, a, 2, 4).astype(int) - frames[2:6]).mean() < 3
    assert np.abs(load_clip_audio(tmp_path, a) - audio).max() < 1e-3
    torch.testing.assert_close(load_clip_features(tmp_path, a), features.half().float())
    assert load_clip_features(tmp_path, b) is None
    with pytest.raises(DatasetError, match="outside"):
        load_clip_frames(tmp_path, a, 8, 4)


def test_bad_input_is_refused_and_leaves_nothing(tmp_path):
    write_dataset_info(tmp_path, DatasetInfo(crop_size=32))
    frames = smooth_frames(4)
    with pytest.raises(DatasetError, match="crop_size"):
        write_clip(tmp_path, ClipRecord("a", 0), smooth_frames(4, 16), np.zeros(100))
    with pytest.raises(DatasetError, match="clip id"):
        write_clip(tmp_path, ClipRecord("../x", 0), frames, np.zeros(100))
    with pytest.raises(DatasetError, match="features"):
        write_clip(tmp_path, ClipRecord("a", 0), frames, np.zeros(100), torch.zeros(3, 3))
    assert read_manifest(tmp_path) == []
    assert not list((tmp_path / "clips").iterdir())
    with pytest.raises(DatasetError, match="crop_size"):
        write_dataset_info(tmp_path, DatasetInfo(crop_size=64))
    with pytest.raises(DatasetError, match="eadnet preprocess"):
        read_dataset_info(tmp_path / "nothing")


def test_torn_manifest_rows_are_ignored_and_later_rows_win(tmp_path):
    write_dataset_info(tmp_path, DatasetInfo(crop_size=32))
    write_clip(tmp_path, ClipRecord("a", 0, split="train"), smooth_frames(3), np.zeros(100), frames_format="npy")
    with (tmp_path / "manifest.jsonl").open("a") as handle:
        handle.write(json.dumps({"id": "a", "num_frames": 3, "split": "val"}) + "\n")
        handle.write('{"id": "b", "num_fr')
    (record,) = read_manifest(tmp_path)
    assert record.split == "val"
    write_clip(tmp_path, ClipRecord("c", 0), smooth_frames(3), np.zeros(100), frames_format="npy")
    assert [r.id for r in read_manifest(tmp_path)] == ["a", "c"]  # the torn row did not swallow the new one
    assert [r.id for r in read_manifest(tmp_path, split="train")] == ["c"]
    assert clip_dir(tmp_path, record).is_dir()
