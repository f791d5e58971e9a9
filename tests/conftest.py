"""Test-wide settings: offline Hub, deterministic CPU, opt-in slow tests."""

import os

# Weights and data never download at test time.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(min(2, torch.get_num_threads()))


def pytest_collection_modifyitems(config, items):
    if os.environ.get("EADNET_RUN_SLOW") != "1":
        skip_slow = pytest.mark.skip(reason="slow test: set EADNET_RUN_SLOW=1 to run it")
        for item in items:
            if "slow" in item.keywords:
                item.add_marker(skip_slow)
    if not torch.cuda.is_available():  # with or without the slow tests
        skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip_gpu)


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op thread: small convolutions run several times slower with two on a busy two-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny real model folder (``eadnet.testing.save_tiny_model_folder``), shared by the CLI, Gradio tests."""
    from eadnet.testing import save_tiny_model_folder

    return save_tiny_model_folder(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def tiny_video_model_dir(tmp_path_factory):
    """A tiny random transformers VideoMAEModel folder (TREPA's frozen video transformer)."""
    import torch
    from transformers import VideoMAEConfig, VideoMAEModel

    torch.manual_seed(0)
    config = VideoMAEConfig(
        image_size=32,
        patch_size=8,
        num_frames=8,
        tubelet_size=2,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
    )
    directory = tmp_path_factory.mktemp("videomae")
    VideoMAEModel(config).save_pretrained(directory)
    return directory


# --- the example portrait and its face mesh, detected once by MediaPipe (expression and mesh-engine tests) ----------
@pytest.fixture(scope="session")
def example_portrait():
    """The example portrait, uint8 RGB (512, 512, 3)."""
    from eadnet.assets import example_portrait_path
    from eadnet.io import load_image

    return load_image(example_portrait_path())


@pytest.fixture(scope="session")
def face_detector():
    """A MediaPipe face detector shared by the session."""
    from eadnet.face import MediaPipeFaceDetector

    with MediaPipeFaceDetector() as detector:
        yield detector


@pytest.fixture(scope="session")
def example_landmarks(example_portrait, face_detector):
    """Its 478-point face mesh in pixels."""
    return face_detector.detect(example_portrait).landmarks
