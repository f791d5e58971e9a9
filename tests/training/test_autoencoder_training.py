"""Autoencoder training on tiny configs and a small clip dataset made from the real portrait."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from eadnet.data.frame_dataset import FaceFrameDataset
from eadnet.training.autoencoder_trainer import AutoencoderTrainConfig, train_autoencoder

TINY = {
    "class_name": "AutoencoderTiny",
    "encoder_block_out_channels": [8, 8, 8, 8],
    "decoder_block_out_channels": [8, 8, 8, 8],
    "num_encoder_blocks": [0, 1, 1, 1],
    "num_decoder_blocks": [1, 1, 1, 0],
}
TINY_KL = {
    "class_name": "AutoencoderKL",
    "block_out_channels": [8, 8, 16, 16],
    "norm_num_groups": 4,
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "mid_block_add_attention": False,
}


def _portrait_clips(root, num_clips=4, num_frames=12, crop_size=64, val_clips=1):
    """Clips of the example portrait's face, each frame shifted by a few pixels and with a slightly different colour
    balance, and a dark mouth of changing size."""
    import cv2

    from eadnet.assets import example_portrait_path
    from eadnet.data import ClipRecord, DatasetInfo, write_clip, write_dataset_info
    from eadnet.io import load_image

    write_dataset_info(root, DatasetInfo(crop_size=crop_size, mask_mode="lower_face"))
    image = load_image(example_portrait_path())
    rng = np.random.default_rng(0)
    for index in range(num_clips):
        frames = []
        for _ in range(num_frames):
            dx, dy = rng.integers(-8, 9, size=2)
            face = cv2.resize(
                image[40 + dy : 200 + dy, 145 + dx : 305 + dx], (crop_size, crop_size), interpolation=cv2.INTER_AREA
            ).astype(np.float32)
            face = np.clip(face * rng.uniform(0.85, 1.15, size=3), 0, 255).astype(np.uint8)
            cv2.ellipse(
                face,
                (crop_size // 2, int(crop_size * 0.75)),
                (crop_size // 8, 1 + int(rng.uniform(0, crop_size / 8))),
                0,
                0,
                360,
                (60, 15, 20),
                -1,
            )
            frames.append(face)
        split = "val" if index >= num_clips - val_clips else "train"
        write_clip(
            root,
            ClipRecord(f"face{index}", 0, split=split),
            np.stack(frames),
            np.zeros(num_frames * 640, np.float32),
            frames_format="npy",
        )
    return root


# Small convolutions: one intra-op thread (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def face_dataset(tmp_path_factory):
    return _portrait_clips(tmp_path_factory.mktemp("faces"))


def recipe(tmp_path, dataset, model=TINY, **sections):
    data = {
        "data": {"root": str(dataset), "resolution": 32, "batch_size": 2, "frames_per_clip": 4},
        "model": dict(model),
        "train": {
            "max_steps": 10,
            "output_dir": str(tmp_path / "run"),
            "log_every": 1,
            "checkpoint_every": 0,
            "seed": 3,
            "num_scale_frames": 24,
            "num_val_frames": 8,
        },
        "optimizer": {"lr": 3e-3},
        "loss": {"l1": 1.0, "mse": 1.0, "ssim": 0.2, "edge": 0.5, "lower_face": 2.0},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return AutoencoderTrainConfig.from_dict(data)


def losses(summary, name="loss"):
    return [row[name] for row in summary["history"]]


def test_recipe_rejects_typos_and_impossible_models(tmp_path, face_dataset):
    with pytest.raises(ValueError, match="unknown recipe section"):
        recipe(tmp_path, face_dataset, unet={"config": "tiny"})
    with pytest.raises(ValueError, match="unknown key"):
        recipe(tmp_path, face_dataset, train={"max_step": 3})
    with pytest.raises(ValueError, match="unknown key"):
        recipe(tmp_path, face_dataset, loss={"lpips": 0.1})
    with pytest.raises(ValueError, match="unknown AutoencoderTiny argument"):
        recipe(tmp_path, face_dataset, model={**TINY, "block_out_channels": [8]})
    with pytest.raises(ValueError, match="class_name"):
        recipe(tmp_path, face_dataset, model={"class_name": "UNet2DModel"})
    with pytest.raises(ValueError, match="latent_channels"):
        recipe(tmp_path, face_dataset, model={**TINY, "latent_channels": 16})
    with pytest.raises(ValueError, match="AutoencoderKL"):
        recipe(tmp_path, face_dataset, loss={"kl": 1e-6})
    with pytest.raises(ValueError, match="multiple of 8"):
        recipe(tmp_path, face_dataset, data={"resolution": 60})
    with pytest.raises(ValueError, match="must be a number"):
        recipe(tmp_path, face_dataset, optimizer={"lr": "fast"})
    assert recipe(tmp_path, face_dataset, optimizer={"lr": "2e-3"}).optimizer.lr == 0.002  # YAML 1.1 reads a string


def test_recipe_file_parses(tmp_path):
    path = Path(__file__).resolve().parents[2] / "recipes" / "vae_small_cpu.yaml"
    config = AutoencoderTrainConfig.from_yaml(path, [f"data.root={tmp_path}", "train.max_steps=7"])
    assert config.model["class_name"] == "AutoencoderTiny" and config.train.max_steps == 7
    assert config.data.resolution in (64, 128)


def test_offline_model_recipe_builds_a_4x_autoencoder(tmp_path):
    from eadnet.models.autoencoder import vae_decode, vae_encode
    from eadnet.training.autoencoder_trainer import build_autoencoder

    path = Path(__file__).resolve().parents[2] / "recipes" / "vae_eadnet_mini.yaml"
    config = AutoencoderTrainConfig.from_yaml(path, [f"data.root={tmp_path}"])
    assert config.data.resolution == 64
    vae = build_autoencoder(config.model)
    pixels = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        latents = vae_encode(vae.eval(), pixels)
        assert latents.shape == (1, 4, 16, 16)  # 16x16 latents: the "mini" U-Net's sample_size
        assert vae_decode(vae, latents).shape == pixels.shape
    assert sum(p.numel() for p in vae.parameters()) * 4 < 2_000_000  # fits the 25 MB budget with the U-Net
    with pytest.raises(ValueError, match="8× \\(four down/up stages\\) or 4×"):
        build_autoencoder(
            {
                **TINY,
                "encoder_block_out_channels": (8, 8),
                "decoder_block_out_channels": (8, 8),
                "num_encoder_blocks": (1, 1),
                "num_decoder_blocks": (1, 1),
            }
        )


def test_frames_depend_only_on_seed_epoch_and_index(face_dataset):
    dataset = FaceFrameDataset(
        face_dataset, "train", resolution=32, frames_per_clip=3, flip=True, color_jitter=0.1, seed=1
    )
    first = dataset[(1, 0)]["pixel_values"]
    assert first.shape == (3, 3, 32, 32) and first.min() >= -1 and first.max() <= 1
    assert torch.equal(first, dataset[(1, 0)]["pixel_values"])
    assert not torch.equal(first, dataset[(1, 1)]["pixel_values"])


def test_training_lowers_the_loss_and_saves_a_scaled_loadable_vae(tmp_path, face_dataset):
    from diffusers import AutoencoderTiny

    from eadnet.hub.loading import load_vae
    from eadnet.models.autoencoder import vae_decode, vae_encode

    config = recipe(tmp_path, face_dataset, train={"max_steps": 50})
    summary = train_autoencoder(config)
    history = losses(summary)
    assert len(history) == 50
    assert np.mean(history[-5:]) < 0.6 * np.mean(history[:5])

    output = Path(config.train.output_dir)
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["scaling_factor"] == pytest.approx(1 / metrics["latent_std"])
    assert metrics["num_scale_frames"] == 24 and metrics["num_val_frames"] == 8
    assert np.isfinite(metrics["val_psnr"]) and metrics["val_psnr"] > 10 and 0 < metrics["val_ssim"] <= 1
    assert (output / "reconstructions.png").is_file()
    assert summary["scaling_factor"] == metrics["scaling_factor"]

    vae = load_vae("offline-demo", output / "vae")
    assert isinstance(vae, AutoencoderTiny)
    assert vae.config.scaling_factor == pytest.approx(metrics["scaling_factor"])
    assert AutoencoderTiny.from_pretrained(output / "vae").config.scaling_factor == vae.config.scaling_factor
    from eadnet.training.unet_trainer import weights_digest

    assert weights_digest(vae) == summary["weights_sha256"]

    from eadnet.data.format import load_clip_frames, read_manifest

    frames = np.concatenate([load_clip_frames(face_dataset, r) for r in read_manifest(face_dataset, "train")])
    pixels = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 127.5 - 1  # 64 px: other size than training
    with torch.no_grad():
        latents = vae_encode(vae, pixels)
        assert latents.shape == (len(frames), 4, 8, 8)
        assert 0.7 < float(latents.std()) < 1.4
        assert vae_decode(vae, latents).shape == pixels.shape


def test_resume_continues_bit_identically(tmp_path):
    # AutoencoderKL: training samples its posterior, so this also checks that the global RNG is restored.
    dataset = _portrait_clips(tmp_path / "data", num_clips=3, num_frames=6)
    model_kl = {**TINY_KL}
    settings = {
        "train": {"checkpoint_every": 5, "max_steps": 10, "num_scale_frames": 8},
        "loss": {"kl": 1e-4},
        "data": {"color_jitter": 0.1},
    }
    full = recipe(tmp_path / "a", dataset, model=model_kl, **settings)
    uninterrupted = train_autoencoder(full)

    resumed_dir = tmp_path / "b" / "run"
    (resumed_dir / "checkpoints").mkdir(parents=True)
    shutil.copytree(
        Path(full.train.output_dir) / "checkpoints" / "step-00000005", resumed_dir / "checkpoints" / "step-00000005"
    )
    settings["train"]["resume"] = "latest"
    resumed = train_autoencoder(recipe(tmp_path / "b", dataset, model=model_kl, **settings))
    assert [row["step"] for row in resumed["history"]] == list(range(6, 11))
    assert losses(resumed) == losses(uninterrupted)[5:]
    assert losses(resumed, "kl") == losses(uninterrupted, "kl")[5:]
    assert resumed["weights_sha256"] == uninterrupted["weights_sha256"]
    assert resumed["scaling_factor"] == uninterrupted["scaling_factor"]
