"""``eadnet convert``: turn other projects' checkpoints into EAD-Net folders (``eadnet convert latentsync``)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser("convert", help="convert checkpoints of other projects into EAD-Net folders")
    formats = parser.add_subparsers(dest="convert_format", required=True, metavar="FORMAT")
    latentsync = formats.add_parser(
        "latentsync",
        help="a LatentSync latentsync_unet.pt into an EADUNet3DModel folder (safetensors)",
        description=(
            "Read CHECKPOINT (torch.load with weights_only=True: no code is executed), rename its keys, check every "
            "entry against the EAD-Net U-Net (EAD modules zero-initialised) and save the model to OUTPUT_DIR with "
            "save_pretrained (safetensors). Fails, naming the keys, if anything but the EAD modules is missing, "
            "unexpected or of another shape."
        ),
    )
    latentsync.add_argument("checkpoint", type=Path, metavar="CHECKPOINT.pt")
    latentsync.add_argument("output_dir", type=Path, metavar="OUTPUT_DIR")
    latentsync.add_argument(
        "--config",
        default="base",
        metavar="base|PATH.yaml",
        help="named EAD-Net U-Net config, or a LatentSync model YAML (e.g. configs/unet/stage2.yaml); default: base",
    )
    latentsync.add_argument("--text-embed-dim", type=int, help="width of the emotion-text tokens (default: config's)")
    latentsync.add_argument("--no-ead", action="store_true", help="EAD modules off (the plain LatentSync network)")
    latentsync.add_argument("--overwrite", action="store_true", help="write into a non-empty OUTPUT_DIR")
    latentsync.set_defaults(handler=run_convert_latentsync)


def run_convert_latentsync(args: argparse.Namespace) -> int:
    # lazy: keeps `eadnet --help` from importing torch/diffusers
    from eadnet.hub.converters import convert_latentsync_unet, save_conversion_report, unet_config_from_latentsync
    from eadnet.io.checkpoint import load_latentsync_checkpoint
    from eadnet.models.unet_3d import UNET_CONFIGS

    output_dir: Path = args.output_dir
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"OUTPUT_DIR exists and is not a folder: {output_dir}")
    if output_dir.is_dir() and any(output_dir.iterdir()) and not args.overwrite:
        raise ValueError(f"OUTPUT_DIR is not empty: {output_dir} (pass --overwrite to write into it)")

    overrides = {}
    if args.text_embed_dim is not None:
        overrides["text_embed_dim"] = args.text_embed_dim
    if args.no_ead:
        overrides.update(use_stda=False, use_tfrm=False, use_text_attention=False)
    if args.config in UNET_CONFIGS:
        config = {**UNET_CONFIGS[args.config], **overrides}
    else:
        config_path = Path(args.config)
        if not config_path.is_file():
            raise ValueError(f"--config must be one of {sorted(UNET_CONFIGS)} or a YAML file, got {args.config!r}")
        config = unet_config_from_latentsync(config_path, **overrides)

    state_dict = load_latentsync_checkpoint(args.checkpoint)
    model, report = convert_latentsync_unet(state_dict, config)
    print(report.summary())
    output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output_dir, safe_serialization=True)
    save_conversion_report(report, output_dir / "eadnet_conversion.json")
    print(f"saved EADUNet3DModel to {output_dir}")
    return 0
