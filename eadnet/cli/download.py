"""``eadnet download``: fetch and verify a preset's weights (into the Hugging Face cache or a models folder)."""

from __future__ import annotations

import argparse
from pathlib import Path

from eadnet.hub.presets import COMPONENTS, get_preset, list_presets
from eadnet.hub.resolve import MissingWeightsError, download_component


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "download",
        help="download and verify a preset's weights",
        description=(
            "Download every component of PRESET at its pinned revision and check sizes and SHA-256 hashes. Files go "
            "into the Hugging Face cache, or into DIR/PRESET/COMPONENT/ with --models-dir (copy that folder to an "
            "offline machine and point EADNET_MODELS_DIR at it). Components shipped by installed Python packages or "
            "built from a config need no download."
        ),
    )
    parser.add_argument("preset", metavar="PRESET", help=f"weights preset: {', '.join(list_presets())}")
    parser.add_argument("--models-dir", type=Path, help="put the files in DIR/PRESET/COMPONENT/ instead of the cache")
    parser.add_argument(
        "--component", choices=COMPONENTS, action="append", help="only this component (repeatable); default: all"
    )
    parser.add_argument("--no-verify", action="store_true", help="skip the SHA-256 check of files already present")
    parser.set_defaults(handler=run_download)


def run_download(args: argparse.Namespace) -> int:
    preset = get_preset(args.preset)
    components = args.component or list(COMPONENTS)
    print(f"preset {preset.name}: {preset.description}")
    errors: list[MissingWeightsError] = []
    offline = None
    for name in components:
        try:
            status = download_component(
                preset, name, models_dir=args.models_dir, verify=not args.no_verify, offline=offline
            )
        except MissingWeightsError as error:
            errors.append(error)
            print(f"  {name}: MISSING")
            if error.network_error:
                offline = True  # the Hub is unreachable: only check the disk for the remaining components
            continue
        where = f" -> {status.path}" if status.path is not None else ""
        if status.origin == "downloaded":
            fetched = ", ".join(status.fetched) or "nothing new"
            print(f"  {name}: downloaded {fetched}{where}")
        elif status.origin == "present":
            check = "present" if args.no_verify else "present, verified"
            print(f"  {name}: {check}{where}")
        elif status.origin == "package":
            print(f"  {name}: from {status.detail}{where}")
        else:
            print(f"  {name}: {status.detail}")
    if errors:
        raise MissingWeightsError.merge(errors)
    if not preset.trained:
        print(f"note: preset {preset.name} is UNTRAINED; it produces noise, not talking heads.")
    return 0
