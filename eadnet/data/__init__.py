"""Training data: the on-disk clip dataset (`eadnet.data.format`, exported here); the torch datasets the trainers read
(`eadnet.data.unet_dataset`, `eadnet.data.syncnet_dataset`, `eadnet.data.frame_dataset`) and their resumable loader
(`eadnet.data.loading`); preprocessing of real videos (`eadnet.data.preprocess`); the synthetic data factory
(`eadnet.data.synthetic`: talker, speech, corpus); and the process pool the last two share (`eadnet.data.workers`)."""

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
