"""The ``eadnet`` command. Each sub-command lives in its own module and registers itself here."""

from __future__ import annotations

import argparse
import logging
import sys

from eadnet import __version__
from eadnet.cli import bench, caption, convert, download, evaluate, expression, generate, preprocess, train
from eadnet.logs import quiet_third_party

_COMMANDS = (generate, expression, caption, download, convert, preprocess, train, evaluate, bench)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eadnet", description="EAD-Net emotion-aware talking-head generation.")
    parser.add_argument("--version", action="version", version=f"eadnet {__version__}")
    verbose_help = (
        "log debug messages and let third-party output through (MediaPipe's native log lines, library warnings); "
        "without it they are hidden"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help=verbose_help)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in _COMMANDS:
        command.register(subparsers)
    # also after the sub-command (`eadnet generate ... -v`); SUPPRESS keeps a value given before it
    for subparser in subparsers.choices.values():
        subparser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=verbose_help)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # before any command imports MediaPipe, TensorFlow Lite or the Hugging Face libraries
    quiet_third_party(verbose=args.verbose)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return int(args.handler(args) or 0)
    except (ValueError, OSError, RuntimeError) as error:
        print(f"eadnet {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
