"""``python -m gradio_app``: serves the EAD-Net app (default http://127.0.0.1:7860, bundled eadnet-mini model)."""

from __future__ import annotations

import argparse
import os


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gradio_app", description="Serve the EAD-Net Gradio app.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument(
        "--model", default=None, help="weights preset or model folder (default: $EADNET_MODEL or eadnet-mini)"
    )
    args = parser.parse_args(argv)
    if args.model:
        os.environ["EADNET_MODEL"] = args.model

    from gradio_app.app import build_demo  # lazy: `--help` answers without importing gradio and torch

    demo = build_demo()
    demo.launch(server_name=args.host, server_port=args.port)


if __name__ == "__main__":
    main()
