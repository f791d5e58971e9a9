"""The Gradio app launched once per module on 127.0.0.1 with the tiny model (client and browser tests)."""

import socket

import pytest


@pytest.fixture(scope="module")
def app_url(tiny_model_dir):
    pytest.importorskip("gradio")
    from gradio.utils import get_upload_folder

    from gradio_app.app import build_demo
    from gradio_app.service import GenerationService

    service = GenerationService(model=tiny_model_dir, allowed_dirs=[get_upload_folder()], max_audio_seconds=3)
    demo = build_demo(service)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield url
    finally:
        demo.close()
