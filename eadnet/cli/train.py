"""``eadnet train``: train the SyncNet, the EAD-Net U-Net, a small autoencoder or the mesh engine's audio-to-mouth model
from a YAML recipe, or estimate a recipe's GPU memory and time.

One process::

    eadnet train unet --config recipes/unet_tiny_cpu.yaml

Several GPUs / machines (accelerate)::

    accelerate launch --multi_gpu --num_processes 8 -m eadnet train unet --config recipes/eadnet_512_stage1.yaml

Two processes on a CPU-only machine (gloo)::

    accelerate launch --multi_gpu --num_processes 2 --num_machines 1 --mixed_precision no --dynamo_backend no \\
        -m eadnet train unet --config recipes/unet_tiny_cpu.yaml
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train the SyncNet, the U-Net, a small autoencoder or the audio-to-mouth model from a YAML recipe",
    )
    targets = parser.add_subparsers(dest="target", required=True, metavar="TARGET")

    unet = targets.add_parser("unet", help="train the EAD-Net U-Net (stage 1 or 2)")
    _common(unet)
    unet.add_argument(
        "--resume", metavar="CHECKPOINT", help="'latest' or a checkpoint folder (overrides train.resume)"
    )
    unet.set_defaults(handler=run_train_unet)

    syncnet = targets.add_parser("syncnet", help="train a SyncNet (lip-sync discriminator)")
    _common(syncnet)  # SyncNet recipes are flat: --set key=value, --set model.key=value
    syncnet.add_argument("--resume", action="store_true", help="continue from the newest checkpoint")
    syncnet.set_defaults(handler=run_train_syncnet)

    vae = targets.add_parser("vae", help="train a small image autoencoder (the pipeline's VAE) from scratch")
    _common(vae)
    vae.add_argument("--resume", metavar="CHECKPOINT", help="'latest' or a checkpoint folder (overrides train.resume)")
    vae.set_defaults(handler=run_train_vae)

    mouth = targets.add_parser("mouth", help="train the eadnet-mesh engine's audio-to-mouth model (CPU, espeak-ng)")
    _common(mouth)
    mouth.add_argument(
        "--resume", metavar="CHECKPOINT", help="'latest' or a checkpoint folder (overrides train.resume)"
    )
    mouth.set_defaults(handler=run_train_mouth)

    estimate = targets.add_parser("estimate", help="computed GPU memory and time of a U-Net recipe")
    estimate.add_argument("--config", type=Path, required=True, help="U-Net recipe (YAML)")
    estimate.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a recipe value (repeatable)",
    )
    estimate.add_argument("--gpu", default="H100", help="GPU model for the time estimate (H100, A100, L40S, 4090)")
    estimate.add_argument("--json", action="store_true", help="print JSON")
    estimate.set_defaults(handler=run_estimate)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, required=True, help="recipe (YAML), see recipes/")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a recipe value, e.g. --set train.max_steps=100 (repeatable)",
    )
    parser.add_argument("--output-dir", help="overrides train.output_dir")


def _sectioned_overrides(args: argparse.Namespace) -> list[str]:
    """``--set`` values plus ``--output-dir`` / ``--resume`` as overrides of a recipe's ``train:`` section."""
    overrides = list(args.overrides)
    if args.output_dir:
        overrides.append(f"train.output_dir={args.output_dir}")
    if args.resume:
        overrides.append(f"train.resume={args.resume}")
    return overrides


def _quiet_logging() -> None:
    logging.getLogger("eadnet").setLevel(min(logging.getLogger().level, logging.INFO))


def run_train_unet(args: argparse.Namespace) -> int:
    from eadnet.training.config import UNetTrainConfig
    from eadnet.training.unet_trainer import train_unet

    config = UNetTrainConfig.from_yaml(args.config, _sectioned_overrides(args))
    _quiet_logging()
    summary = train_unet(config)
    if not summary["is_main_process"]:
        return 0
    last = summary["history"][-1] if summary["history"] else {}
    print(
        json.dumps(
            {
                "step": summary["step"],
                "loss": last.get("loss"),
                "weights_sha256": summary["weights_sha256"],
                "model": str(Path(config.train.output_dir) / "model"),
                "validation": summary.get("validation"),
            },
            indent=2,
        )
    )
    return 0


def run_train_syncnet(args: argparse.Namespace) -> int:
    from eadnet.training.syncnet_trainer import SyncNetTrainConfig, train_syncnet

    overrides = list(args.overrides)
    if args.output_dir:
        overrides.append(f"output_dir={args.output_dir}")
    if args.resume:
        overrides.append("resume=true")
    config = SyncNetTrainConfig.from_yaml(args.config, overrides)
    _quiet_logging()
    print(json.dumps(train_syncnet(config), indent=2, default=str))
    return 0


def run_train_vae(args: argparse.Namespace) -> int:
    from eadnet.training.autoencoder_trainer import AutoencoderTrainConfig, train_autoencoder

    config = AutoencoderTrainConfig.from_yaml(args.config, _sectioned_overrides(args))
    _quiet_logging()
    summary = train_autoencoder(config)
    if not summary["is_main_process"]:
        return 0
    keys = ("step", "weights_sha256", "scaling_factor", "val_psnr", "val_ssim", "vae_dir")
    print(json.dumps({key: summary.get(key) for key in keys}, indent=2))
    return 0


def run_train_mouth(args: argparse.Namespace) -> int:
    from eadnet.training.mouth_trainer import MouthTrainConfig, train_mouth

    config = MouthTrainConfig.from_yaml(args.config, _sectioned_overrides(args))
    _quiet_logging()
    summary = train_mouth(config)
    if not summary["is_main_process"]:
        return 0
    keys = ("step", "feature_seconds", "train_seconds", "splits", "scores", "model_dir")
    print(json.dumps({key: summary.get(key) for key in keys}, indent=2))
    return 0


def run_estimate(args: argparse.Namespace) -> int:
    from eadnet.training.config import UNetTrainConfig
    from eadnet.training.estimate import estimate_recipe, format_estimate

    config = UNetTrainConfig.from_yaml(args.config, args.overrides)
    estimate = estimate_recipe(config, gpu=args.gpu)
    print(json.dumps(estimate, indent=2) if args.json else format_estimate(estimate))
    return 0
