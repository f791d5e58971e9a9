"""Gradio front end of EAD-Net (``build_demo()`` in ``app.py``, the loaded pipeline in ``service.py``)."""
