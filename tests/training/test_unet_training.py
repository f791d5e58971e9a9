"""EAD-Net U-Net training on a tiny model and a small real-portrait clip dataset."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from eadnet.training.config import UNetTrainConfig
from eadnet.training.unet_trainer import UNetTrainer, build_unet, train_unet, weights_digest


def recipe(tmp_path, dataset, model_dir, **sections):
    data = {
        "data": {"root": str(dataset), "num_frames": 8, "batch_size": 2},
        "components": {"model": str(model_dir)},
        "unet": {"config": "tiny"},
        "train": {
            "stage": 1,
            "max_steps": 12,
            "output_dir": str(tmp_path / "run"),
            "log_every": 1,
            "checkpoint_every": 0,
            "seed": 3,
        },
        "optimizer": {"lr": 1e-3},
        "validation": {"num_clips": 0},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return UNetTrainConfig.from_dict(data)


def losses(summary, name="loss"):
    return [row[name] for row in summary["history"]]


# ------------------------------------------------------------------------------------------------ config
def test_recipe_rejects_typos_and_inconsistent_settings(tmp_path, clip_dataset, tiny_model_dir):
    with pytest.raises(ValueError, match="unknown key"):
        recipe(tmp_path, clip_dataset, tiny_model_dir, train={"max_step": 3})
    with pytest.raises(ValueError, match="unknown EADUNet3DModel argument"):
        recipe(tmp_path, clip_dataset, tiny_model_dir, model={"use_strip": True})
    with pytest.raises(ValueError, match="stage 1"):
        recipe(tmp_path, clip_dataset, tiny_model_dir, loss={"sync": 0.05, "syncnet": "x"})
    with pytest.raises(ValueError, match="syncnet"):
        recipe(tmp_path, clip_dataset, tiny_model_dir, train={"stage": 2}, loss={"sync": 0.05})


def test_recipe_files_parse(tmp_path):
    recipes = sorted(Path(__file__).resolve().parents[2].joinpath("recipes").glob("unet_*.yaml"))
    recipes += sorted(Path(__file__).resolve().parents[2].joinpath("recipes").glob("eadnet_*.yaml"))
    assert len(recipes) >= 3
    for path in recipes:
        config = UNetTrainConfig.from_yaml(path, [f"data.root={tmp_path}"])
        assert config.data.num_frames == 16 or "tiny" in path.name


def test_yaml_overrides(tmp_path, clip_dataset, tiny_model_dir):
    import yaml

    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(recipe(tmp_path, clip_dataset, tiny_model_dir).to_dict()))
    config = UNetTrainConfig.from_yaml(path, ["train.max_steps=7", "model.use_stda=false"])
    assert config.train.max_steps == 7 and config.model == {"use_stda": False}


# ------------------------------------------------------------------------------------------------ training
def test_stage1_lowers_the_loss_and_writes_a_usable_model(tmp_path, clip_dataset, tiny_model_dir):
    config = recipe(
        tmp_path,
        clip_dataset,
        tiny_model_dir,
        train={"max_steps": 24},
        validation={"num_clips": 1, "num_frames": 10, "num_inference_steps": 2},
    )
    summary = train_unet(config)
    history = losses(summary)
    assert summary["step"] == 24 and len(history) == 24
    assert np.mean(history[-6:]) < 0.8 * np.mean(history[:6])

    run = Path(config.train.output_dir)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss" in r] == list(range(1, 25))
    # validation: an mp4 with audio and its metrics
    (sample,) = (run / "samples").glob("step-*/clip*.mp4")
    from eadnet.io import probe_video

    info = probe_video(sample)
    assert info.num_frames == 10 and info.has_audio
    metrics = json.loads((sample.parent / "metrics.json").read_text())
    assert metrics[sample.stem]["frames"] == 10 and metrics[sample.stem]["psnr"] > 5
    # the saved model folder loads and holds the trained weights
    from eadnet.hub.local import load_model_folder
    from eadnet.models.unet_3d import EADUNet3DModel

    preset, paths = load_model_folder(run / "model")
    assert preset.trained and preset.resolution == 64
    assert weights_digest(EADUNet3DModel.from_pretrained(paths["unet"])) == summary["weights_sha256"]


def test_stage2_pixel_losses_lower_the_loss(tmp_path, clip_dataset, tiny_model_dir, tiny_video_model_dir):
    from eadnet.models.syncnet import SyncNet
    from eadnet.testing import TINY_SYNCNET_CONFIG

    syncnet_dir = tmp_path / "syncnet"
    SyncNet(**TINY_SYNCNET_CONFIG).save_pretrained(syncnet_dir)
    config = recipe(
        tmp_path,
        clip_dataset,
        tiny_model_dir,
        data={"num_frames": 16, "batch_size": 1},
        train={"stage": 2, "max_steps": 16},
        loss={
            "mse": 1.0,
            "pixel_l1": 1.0,
            "sync": 0.05,
            "trepa": 10.0,
            "syncnet": str(syncnet_dir),
            "trepa_model": str(tiny_video_model_dir),
        },
    )
    summary = train_unet(config)
    rows = summary["history"]
    assert {"mse", "pixel_l1", "sync", "trepa", "loss"} <= set(rows[0])
    assert all(np.isfinite(r["loss"]) for r in rows)
    assert np.mean(losses(summary)[-5:]) < np.mean(losses(summary)[:5])
    assert np.mean(losses(summary, "pixel_l1")[-5:]) < np.mean(losses(summary, "pixel_l1")[:5])


def test_resume_continues_bit_identically(tmp_path, clip_dataset, tiny_model_dir):
    full = recipe(
        tmp_path / "a",
        clip_dataset,
        tiny_model_dir,
        train={"checkpoint_every": 5, "max_steps": 10},
        ema={"enabled": True, "decay": 0.9},
    )
    uninterrupted = train_unet(full)

    resumed_dir = tmp_path / "b" / "run"
    (resumed_dir / "checkpoints").mkdir(parents=True)
    shutil.copytree(
        Path(full.train.output_dir) / "checkpoints" / "step-00000005", resumed_dir / "checkpoints" / "step-00000005"
    )
    resumed = train_unet(
        recipe(
            tmp_path / "b",
            clip_dataset,
            tiny_model_dir,
            train={"checkpoint_every": 5, "max_steps": 10, "resume": "latest"},
            ema={"enabled": True, "decay": 0.9},
        )
    )
    assert [r["step"] for r in resumed["history"]] == list(range(6, 11))
    assert losses(resumed) == losses(uninterrupted)[5:]
    assert resumed["weights_sha256"] == uninterrupted["weights_sha256"]


def test_only_selected_modules_train_and_ema_is_what_is_saved(tmp_path, clip_dataset, tiny_model_dir):
    config = recipe(
        tmp_path,
        clip_dataset,
        tiny_model_dir,
        train={"max_steps": 4, "trainable_modules": ["ead"]},
        ema={"enabled": True, "decay": 0.5},
    )
    trainer = UNetTrainer(config)
    trainer.setup()
    before = {k: v.clone() for k, v in trainer.unwrapped_unet().state_dict().items()}
    summary = trainer.train()
    from eadnet.models.unet_3d import EADUNet3DModel, is_ead_parameter

    after = trainer.unwrapped_unet().state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(is_ead_parameter(k) for k in changed)
    saved = EADUNet3DModel.from_pretrained(Path(config.train.output_dir) / "model" / "unet")
    assert weights_digest(saved) == summary["weights_sha256"] != weights_digest(trainer.unwrapped_unet())


def test_init_from_a_unet_without_ead_modules_keeps_its_output(tmp_path, clip_dataset, tiny_model_dir):
    from eadnet.testing import tiny_unet

    source = tiny_unet(seed=5, use_stda=False, use_tfrm=False, use_text_attention=False)
    source.save_pretrained(tmp_path / "plain")
    config = recipe(
        tmp_path,
        clip_dataset,
        tiny_model_dir,
        unet={"init": str(tmp_path / "plain")},
        model={"use_stda": True, "use_tfrm": True, "use_text_attention": True},
    )
    model = build_unet(config, source.config.cross_attention_dim, source.config.text_embed_dim).eval()
    assert model.config.use_stda and model.config.use_tfrm and model.config.use_text_attention
    generator = torch.Generator().manual_seed(0)
    sample = torch.randn(1, 13, 4, 8, 8, generator=generator)
    audio = torch.randn(1, 4, 10, source.config.cross_attention_dim, generator=generator)
    text = torch.randn(1, 5, source.config.text_embed_dim, generator=generator)
    with torch.no_grad():
        expected = source(sample, 10, audio_embeds=audio).sample
        actual = model(sample, 10, audio_embeds=audio, text_embeds=text).sample
    torch.testing.assert_close(actual, expected, rtol=0, atol=0)


@pytest.mark.skipif(sys.platform == "win32", reason="gloo launcher test is POSIX-only")
def test_two_processes_train_the_same_weights(tmp_path, clip_dataset, tiny_model_dir):
    import yaml

    config = recipe(
        tmp_path, clip_dataset, tiny_model_dir, train={"max_steps": 4, "log_every": 1, "checkpoint_every": 2}
    )
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(config.to_dict()))
    accelerate = Path(sys.executable).with_name("accelerate")
    command = [
        str(accelerate),
        "launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "-m",
        "eadnet",
        "train",
        "unet",
        "--config",
        str(path),
    ]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [json.loads(p.read_text()) for p in sorted((Path(config.train.output_dir) / "ranks").glob("rank-*.json"))]
    assert len(ranks) == 2
    assert all(r["num_processes"] == 2 and r["step"] == 4 for r in ranks)
    assert ranks[0]["weights_sha256"] == ranks[1]["weights_sha256"]
    assert json.loads(result.stdout)["weights_sha256"] == ranks[0]["weights_sha256"]
    assert (Path(config.train.output_dir) / "checkpoints" / "step-00000004" / "trainer_state.json").is_file()


def test_the_cli_trains_and_reports_bad_recipes(tmp_path, clip_dataset, tiny_model_dir, capsys):
    import yaml

    from eadnet.cli import main

    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe(tmp_path, clip_dataset, tiny_model_dir, train={"max_steps": 2}).to_dict()))
    assert main(["train", "unet", "--config", str(path), "--output-dir", str(tmp_path / "cli")]) == 0
    assert json.loads(capsys.readouterr().out)["step"] == 2
    assert main(["train", "unet", "--config", str(path), "--set", "train.stage=3"]) == 2
    assert "stage" in capsys.readouterr().err
    assert main(["train", "unet", "--config", str(tmp_path / "missing.yaml")]) == 2


def test_neutral_reference_and_own_autoencoder(tmp_path, clip_dataset, tiny_model_dir):
    """data.reference=neutral serves each clip's reference.npy; components.vae swaps in a (4x) autoencoder that
    the saved model folder then carries."""
    import diffusers

    from eadnet.data.format import DatasetError, load_clip_frames, read_manifest, write_clip_reference
    from eadnet.hub.loading import load_vae
    from eadnet.hub.local import load_model_folder

    dataset = tmp_path / "clips"
    shutil.copytree(clip_dataset, dataset)
    config = recipe(tmp_path, dataset, tiny_model_dir, data={"reference": "neutral"}, train={"max_steps": 2})
    with pytest.raises(DatasetError, match="no neutral reference crops"):
        UNetTrainer(config).setup()
    for record in read_manifest(dataset):
        write_clip_reference(dataset, record, load_clip_frames(dataset, record, 0, 1))
    torch.manual_seed(0)
    vae = diffusers.AutoencoderTiny(
        encoder_block_out_channels=(8, 8, 8),
        decoder_block_out_channels=(8, 8, 8),
        num_encoder_blocks=(1, 1, 1),
        num_decoder_blocks=(1, 1, 1),
        latent_channels=4,
    )
    vae.save_pretrained(tmp_path / "vae4x")
    config = recipe(
        tmp_path,
        dataset,
        tiny_model_dir,
        data={"reference": "neutral"},
        train={"max_steps": 2},
        components={"vae": str(tmp_path / "vae4x")},
    )
    trainer = UNetTrainer(config)
    trainer.setup()
    item = trainer.dataset[0]
    first = load_clip_frames(dataset, trainer.dataset.records[0], 0, 1)[0]
    assert torch.allclose(item["ref_pixel_values"][:, -1], torch.from_numpy(first).permute(2, 0, 1) / 127.5 - 1)
    summary = train_unet(config)
    assert summary["step"] == 2 and all(np.isfinite(losses(summary)))
    preset, paths = load_model_folder(Path(config.train.output_dir) / "model")
    saved = load_vae(preset, paths["vae"])
    assert tuple(saved.config.block_out_channels) == (8, 8, 8)
    expected = vae.state_dict()
    assert saved.state_dict().keys() == expected.keys()
    assert all(torch.equal(value, expected[key]) for key, value in saved.state_dict().items())
    with pytest.raises(ValueError, match="not a diffusers autoencoder folder"):
        UNetTrainer(recipe(tmp_path, dataset, tiny_model_dir, components={"vae": str(tmp_path)})).setup()
    with pytest.raises(ValueError, match="data.reference"):
        recipe(tmp_path, dataset, tiny_model_dir, data={"reference": "mirror"})


def test_mouth_face_and_min_snr_weighting_of_the_mse(tmp_path, clip_dataset, tiny_model_dir):
    """loss.mouth_weight/face_weight weight the ε-MSE by region (a mean-1 map, so unit weights give the plain MSE)
    and loss.snr_gamma by timestep (Min-SNR-γ); a recipe with them trains."""
    from eadnet.face import mouth_mask, mouth_region

    plain = UNetTrainer(recipe(tmp_path, clip_dataset, tiny_model_dir))
    plain.setup()
    weighted = UNetTrainer(
        recipe(
            tmp_path, clip_dataset, tiny_model_dir, loss={"mouth_weight": 10.0, "face_weight": 3.0, "snr_gamma": 5.0}
        )
    )
    weighted.setup()
    size = 8  # the tiny model's latent size (64 px crops, 8x autoencoder)
    generator = torch.Generator().manual_seed(0)
    prediction, target = torch.randn(2, 4, 3, size, size, generator=generator), torch.zeros(2, 4, 3, size, size)
    timesteps = torch.tensor([10, 900])
    assert torch.allclose(plain._weighted_mse(prediction, target, timesteps), (prediction**2).mean())

    # an error in the mouth counts more than the same error in the background, under the same timestep weight
    region = torch.from_numpy(mouth_region(64))[None, None]
    mouth = torch.nn.functional.interpolate(region, size=(size, size), mode="area")[0, 0] > 0.9
    background = (
        torch.nn.functional.interpolate(
            torch.from_numpy(mouth_mask(64, "face"))[None, None], size=(size, size), mode="area"
        )[0, 0]
        == 0
    )
    assert mouth.any() and background.any()
    late = torch.tensor([999, 999])
    error_mouth, error_background = torch.zeros_like(target), torch.zeros_like(target)
    error_mouth[..., mouth] = 1.0
    error_background[..., background] = 1.0
    scale = mouth.sum() / background.sum()  # same total squared error in both
    in_mouth = weighted._weighted_mse(error_mouth, target, late)
    in_background = weighted._weighted_mse(error_background * scale.sqrt(), target, late)
    assert in_mouth > 5 * in_background
    assert torch.allclose(
        plain._weighted_mse(error_mouth, target, late),
        plain._weighted_mse(error_background * scale.sqrt(), target, late),
    )

    # Min-SNR-γ: a nearly clean timestep (SNR >> 5) is down-weighted by γ/SNR, a noisy one (SNR < 5) is not
    alphas = weighted.scheduler.alphas_cumprod
    snr = alphas / (1 - alphas)
    uniform = torch.ones_like(target)
    early, noisy = torch.tensor([10, 10]), torch.tensor([900, 900])
    assert snr[10] > 5 > snr[900]
    ratio = weighted._weighted_mse(uniform, target, early) / weighted._weighted_mse(uniform, target, noisy)
    assert torch.isclose(ratio, 5 / snr[10], rtol=1e-4)

    summary = weighted.train()
    assert summary["step"] == 12 and all(np.isfinite(losses(summary)))
    with pytest.raises(ValueError, match="snr_gamma"):
        recipe(tmp_path, clip_dataset, tiny_model_dir, loss={"snr_gamma": 0.0})
    with pytest.raises(ValueError, match="mouth_weight"):
        recipe(tmp_path, clip_dataset, tiny_model_dir, loss={"mouth_weight": -1.0})
