"""The ``eadnet`` command. Each sub-command lives in its own module and registers itself here."""

from __future__ import annotations

import argparse
import logging
import sys

from eadnet import __version__
from eadnet.cli import bench, caption, convert, download, evaluate, expression, generate, preprocess, train

_COMMANDS = (generate, expression, caption, download, convert, preprocess, train, evaluate, bench)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eadnet", description="EAD-Net emotion-aware talking-head generation.")
    parser.add_argument("--version", action="version", version=f"eadnet {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in _COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return int(args.handler(args) or 0)
    except (ValueError, OSError, RuntimeError) as error:
        print(f"eadnet {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
