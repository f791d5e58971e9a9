"""Training data: the on-disk clip dataset (`eadnet.data.format`), preprocessing of raw videos, synthetic talking
clips and the torch datasets the trainers read."""

from eadnet.data.format import (
    ClipRecord,
    DatasetError,
    DatasetInfo,
    append_manifest,
    clip_dir,
    load_clip_audio,
    load_clip_features,
    load_clip_frames,
    read_dataset_info,
    read_manifest,
    write_clip,
    write_dataset_info,
)

__all__ = [
    "ClipRecord",
    "DatasetError",
    "DatasetInfo",
    "append_manifest",
    "clip_dir",
    "load_clip_audio",
    "load_clip_features",
    "load_clip_frames",
    "read_dataset_info",
    "read_manifest",
    "write_clip",
    "write_dataset_info",
]
