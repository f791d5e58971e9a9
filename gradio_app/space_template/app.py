"""Hugging Face Space entry point for EAD-Net (assembled by ``python -m gradio_app.space build``)."""

import contextlib

with contextlib.suppress(ImportError):  # on a ZeroGPU Space, `spaces` must be imported before CUDA is touched
    import spaces  # noqa: F401

from eadnet.logs import quiet_third_party
from gradio_app.app import build_demo  # generation is wrapped in gradio_app.app.gpu_decorator (ZeroGPU)

quiet_third_party()  # MediaPipe's native log lines and library chatter stay out of the Space's logs
demo = build_demo()

if __name__ == "__main__":
    demo.launch()
