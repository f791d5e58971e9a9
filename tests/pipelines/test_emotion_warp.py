"""The emotion warp of the diffusion pipeline on tiny random models: the reference the U-Net receives carries the
action units, and no units change nothing."""

import numpy as np
import pytest
import torch

from eadnet.pipelines import EADNetPipeline
from eadnet.testing import TINY_CROP_SIZE, BoxFaceProcessor, StaticFaceDetector, tiny_components

BOX = (136, 30, 200)  # x0, y0, side of the example portrait's face square
SR = 16000


@pytest.fixture(scope="module")
def pipe(example_landmarks):
    processor = BoxFaceProcessor(box=BOX)
    scale = TINY_CROP_SIZE / BOX[2]
    crop_landmarks = (example_landmarks - np.array(BOX[:2])) * scale
    processor.detector = StaticFaceDetector(crop_landmarks, (TINY_CROP_SIZE, TINY_CROP_SIZE))
    pipeline = EADNetPipeline(**tiny_components(seed=0, face_processor=processor))
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def _speech(seconds=0.4):
    times = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * 200 * times)).astype(np.float32)


def _encoded_crops(pipe, **kwargs):
    """Runs a generation and returns what the VAE encoded (the masked and reference crops) and the frames."""
    seen = []
    encode = pipe._vae_encode

    def spy(pixels):
        seen.append(pixels.detach().clone())
        return encode(pixels)

    pipe._vae_encode = spy
    try:
        out = pipe(audio=_speech(), sample_rate=SR, num_inference_steps=2, output_type="np",
                   generator=torch.Generator().manual_seed(0), **kwargs)  # fmt: skip
    finally:
        pipe._vae_encode = encode
    return torch.cat(seen), out.frames


def test_the_reference_the_unet_receives_carries_the_action_units(pipe, example_portrait):
    plain, _ = _encoded_crops(pipe, image=example_portrait, emotion="surprised:3", emotion_warp=False)
    warped, _ = _encoded_crops(pipe, image=example_portrait, emotion="surprised:3", emotion_warp=True)
    reference_plain, reference_warped = plain[1], warped[1]  # (masked, reference) per source crop
    difference = (reference_warped - reference_plain).abs()
    assert difference.max() > 0.3  # brows up, eyes wide, jaw down: the face moved
    # what moved is the face (the middle of the crop), not the crop's corners
    assert difference[:, :4, :4].max() == 0 and difference[:, -4:, -4:].max() == 0
    units = pipe.emotion_action_units(emotion="surprised:3")
    assert units["AU5"] > 0 and units["AU26"] > 0


def test_no_action_units_change_nothing_bitwise(pipe, example_portrait):
    _, off = _encoded_crops(pipe, image=example_portrait, emotion="neutral", emotion_warp=False)
    _, on = _encoded_crops(pipe, image=example_portrait, emotion="neutral", emotion_warp=True)
    np.testing.assert_array_equal(on, off)
    plan = pipe.prepare_faces(example_portrait, None, 3, 25.0, None, "error")
    assert pipe.warp_emotion(plan, {}) is plan
    assert pipe.warp_emotion(plan, {"AU12": 0.0, "AU4": 0.0}) is plan


def test_presets_turn_the_warp_on_where_the_text_path_is_untrained():
    from eadnet.hub import get_preset

    assert get_preset("latentsync-1.5").sampling.emotion_warp is True
    assert get_preset("latentsync-1.6").sampling.emotion_warp is True
    assert get_preset("eadnet-mini").sampling.emotion_warp is False
