"""Example media shipped with EAD-Net: a portrait, a short spoken sentence and two short clips of that portrait made
by the ``eadnet-mesh`` engine (see `README.md` here for sources and rights).

They are what the command line, the ComfyUI workflows, the Gradio Space and the tests use when no input is given.

Example:

```py
>>> from eadnet.assets import example_portrait_path, example_speech_path
>>> example_portrait_path().name, example_speech_path().name
('portrait.png', 'speech.flac')
```
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ASSETS_DIR",
    "example_emotion_reference_path",
    "example_portrait_path",
    "example_source_video_path",
    "example_speech_path",
    "example_speech_text",
]

#: The folder holding the example media.
ASSETS_DIR = Path(__file__).resolve().parent


def _asset(name: str) -> Path:
    path = ASSETS_DIR / name
    if not path.is_file():
        raise FileNotFoundError(
            f"example asset {name!r} is missing from {str(ASSETS_DIR)!r}; the installation is incomplete "
            "(reinstall eadnet, or check that the package data was included)"
        )
    return path


def example_portrait_path() -> Path:
    """The example portrait: NASA's public-domain photograph of astronaut Eileen Collins, 512×512 RGB PNG.

    Returns:
        `Path`: the path of `portrait.png`.
    """
    return _asset("portrait.png")


def example_speech_path() -> Path:
    """The example speech: one English sentence (about 4.5 s) synthesised with espeak-ng, 16 kHz mono FLAC.

    Returns:
        `Path`: the path of `speech.flac`; its words are in `example_speech_text()`.
    """
    return _asset("speech.flac")


def example_speech_text() -> str:
    """The words spoken in `example_speech_path()`.

    Returns:
        `str`: the sentence, without a trailing newline.
    """
    return _asset("speech.txt").read_text(encoding="utf-8").strip()


def example_source_video_path() -> Path:
    """The example source video to dub: the example portrait (its 320×320 head-and-shoulders square) saying the
    first half of the example sentence with no emotion added, 3 s at 25 fps, H.264 + AAC.

    Made by the ``eadnet-mesh`` engine with `scripts/make_example_media.py`.

    Returns:
        `Path`: the path of `source_talk.mp4`.
    """
    return _asset("source_talk.mp4")


def example_emotion_reference_path() -> Path:
    """The example emotion reference: the same face strongly surprised (raised brows, wide eyes) saying "Hello!",
    2 s at 25 fps, H.264 + AAC.

    Made by the ``eadnet-mesh`` engine with `scripts/make_example_media.py`.

    Returns:
        `Path`: the path of `emotion_reference.mp4`.
    """
    return _asset("emotion_reference.mp4")
