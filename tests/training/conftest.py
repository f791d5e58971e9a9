"""Fixtures for the training tests: a tiny model folder and a small clip dataset made from the real portrait."""

import numpy as np
import pytest


def _mouth_clips(root, num_clips=4, num_frames=40, crop_size=64, val_clips=1):
    """Clips of the example portrait's face (64 px) whose drawn mouth opens with the loudness of real speech."""
    import cv2

    from eadnet.assets import example_portrait_path, example_speech_path
    from eadnet.data import ClipRecord, DatasetInfo, write_clip, write_dataset_info
    from eadnet.io import load_audio, load_image, to_mono_16k

    write_dataset_info(root, DatasetInfo(crop_size=crop_size, mask_mode="face"))
    face = cv2.resize(
        load_image(example_portrait_path())[40:200, 145:305], (crop_size, crop_size), interpolation=cv2.INTER_AREA
    )
    speech, rate = load_audio(example_speech_path())
    speech = to_mono_16k(speech, rate)
    hop = 16000 // 25
    emotions = ["happy", "sad", "angry", "surprised", "neutral", "fear"]
    for index in range(num_clips):
        offset = (index * 9000) % max(1, len(speech) - num_frames * hop)
        audio = speech[offset : offset + num_frames * hop]
        envelope = np.sqrt((audio.reshape(num_frames, hop) ** 2).mean(axis=1))
        envelope = envelope / (envelope.max() + 1e-8)
        frames = np.repeat(face[None], num_frames, axis=0)
        for f in range(num_frames):
            cv2.ellipse(
                frames[f],
                (crop_size // 2, int(crop_size * 0.75)),
                (crop_size // 8, 1 + int(envelope[f] * crop_size / 8)),
                0,
                0,
                360,
                (60, 15, 20),
                -1,
            )
        split = "val" if index >= num_clips - val_clips else "train"
        write_clip(
            root,
            ClipRecord(f"clip{index}", 0, emotion=emotions[index % len(emotions)], intensity=2, split=split),
            frames,
            audio,
            frames_format="npy",
        )
    return root


@pytest.fixture(scope="session")
def clip_dataset(tmp_path_factory):
    return _mouth_clips(tmp_path_factory.mktemp("clips"))
