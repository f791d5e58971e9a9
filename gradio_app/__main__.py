"""``python -m gradio_app``: serves the EAD-Net app (default http://127.0.0.1:7860, the eadnet-mesh engine).

The address is ``--host`` / ``--port``, else Gradio's own ``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT``, else
127.0.0.1:7860.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gradio_app", description="Serve the EAD-Net Gradio app.")
    parser.add_argument(
        "--host", default=None, help=f"address to listen on (default: $GRADIO_SERVER_NAME or {DEFAULT_HOST})"
    )
    parser.add_argument(
        "--port", type=int, default=None, help=f"port (default: $GRADIO_SERVER_PORT or {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--model", default=None, help="engine, weights preset or model folder (default: $EADNET_MODEL or eadnet-mesh)"
    )
    parser.add_argument(
        "--verbose", action="store_true", help="show third-party log lines and warnings (hidden by default)"
    )
    return parser


def parse_args(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> argparse.Namespace:
    """The command line with ``host`` and ``port`` resolved: the flags, else ``GRADIO_SERVER_NAME`` /
    ``GRADIO_SERVER_PORT`` from ``environ`` (default: ``os.environ``), else 127.0.0.1:7860.

    Exits with a usage error when ``GRADIO_SERVER_PORT`` is not a port number.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    environ = os.environ if environ is None else environ
    if args.host is None:
        args.host = environ.get("GRADIO_SERVER_NAME") or DEFAULT_HOST
    if args.port is None:
        value = environ.get("GRADIO_SERVER_PORT")
        try:
            args.port = int(value) if value else DEFAULT_PORT
        except ValueError:
            parser.error(f"GRADIO_SERVER_PORT={value!r} is not a port number")
    if not 0 < args.port < 65536:
        parser.error(f"port {args.port} is not between 1 and 65535")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from eadnet.logs import quiet_third_party

    quiet_third_party(verbose=args.verbose)
    if args.model:
        os.environ["EADNET_MODEL"] = args.model

    from gradio_app.app import build_demo  # lazy: `--help` answers without importing gradio and torch

    demo = build_demo()
    demo.launch(server_name=args.host, server_port=args.port)


if __name__ == "__main__":
    main()
