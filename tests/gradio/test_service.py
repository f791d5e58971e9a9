"""`GenerationService` on a tiny real model folder: outputs, limits and cancellation."""

import os
import threading
import time

import av
import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image

pytest.importorskip("mediapipe")

from eadnet.assets import example_portrait_path, example_speech_path  # noqa: E402
from gradio_app.service import GenerationCancelledError, GenerationService, ServiceError  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tiny_model_dir):
    return tiny_model_dir


@pytest.fixture(scope="module")
def uploads(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uploads")
    Image.open(example_portrait_path()).save(folder / "portrait.png")
    speech, rate = sf.read(example_speech_path(), dtype="float32")
    sf.write(folder / "speech.wav", speech[:rate], rate)
    Image.new("RGB", (256, 256), (128, 128, 128)).save(folder / "grey.png")
    (folder / "notes.wav").write_text("this is a text file, not audio\n" * 20)
    sf.write(folder / "long.wav", np.tile(speech, 3)[: 5 * rate], rate)
    return folder


@pytest.fixture(scope="module")
def service(model_dir, uploads):
    return GenerationService(model=model_dir, allowed_dirs=[uploads], max_audio_seconds=3)


def video_seconds(path):
    with av.open(str(path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
        rate = float(container.streams.video[0].average_rate)
    return frames / rate


def test_generate_writes_an_mp4_as_long_as_the_speech(service, uploads):
    fractions = []
    path, description, timings = service.generate(
        uploads / "portrait.png",
        None,
        uploads / "speech.wav",
        "label",
        "happy",
        2,
        "",
        None,
        None,
        None,
        None,
        0,
        progress_callback=lambda fraction, message: fractions.append(fraction),
    )
    assert os.path.dirname(path) == str(service.output_dir)
    assert path.endswith(".mp4") and os.path.getsize(path) > 0
    assert abs(video_seconds(path) - 1.0) <= 1 / 25
    assert "happy" in description
    assert "denoise" in timings and "untrained" in timings
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)


def test_free_text_emotion_is_used(service, uploads):
    _, description, _ = service.generate(
        uploads / "portrait.png",
        None,
        uploads / "speech.wav",
        "text",
        None,
        2,
        "a calm speaker with a faint smile",
        None,
        1,
        1.0,
        1.0,
        1,
    )
    assert description == "a calm speaker with a faint smile"


@pytest.mark.parametrize(
    ("portrait", "audio", "message"),
    [
        ("grey.png", "speech.wav", "face"),
        ("portrait.png", "long.wav", "too long"),
        ("portrait.png", "notes.wav", "not a readable audio file"),
        ("speech.wav", "speech.wav", "not an image"),
        (None, "speech.wav", "portrait image or a source video"),
    ],
)
def test_refused_inputs_have_readable_errors(service, uploads, portrait, audio, message):
    before = set(service.output_dir.iterdir())
    with pytest.raises(ServiceError, match=message):
        service.generate(
            portrait and uploads / portrait, None, uploads / audio, "label", "sad", 1, "", None, None, None, None, 0
        )
    assert set(service.output_dir.iterdir()) == before


def test_paths_outside_the_uploads_are_refused(service, uploads, tmp_path):
    outside = tmp_path / "portrait.png"
    outside.write_bytes((uploads / "portrait.png").read_bytes())
    with pytest.raises(ServiceError, match="must be an uploaded file"):
        service.generate(outside, None, uploads / "speech.wav")
    with pytest.raises(ServiceError, match="must be an uploaded file"):
        service.generate(uploads / "portrait.png", None, uploads / ".." / ".." / "etc" / "passwd")


def test_upload_size_limit(model_dir, uploads):
    small = GenerationService(model=model_dir, allowed_dirs=[uploads], max_upload_bytes=1000)
    with pytest.raises(ServiceError, match="limit is"):
        small.generate(uploads / "portrait.png", None, uploads / "speech.wav")


def test_cancel_after_the_first_step_leaves_no_mp4(service, uploads):
    event = threading.Event()
    before = set(service.output_dir.iterdir())

    def progress(fraction, message):
        if message.startswith("denoising step 1/"):
            event.set()

    with pytest.raises(GenerationCancelledError, match="cancelled"):
        service.generate(
            uploads / "portrait.png",
            None,
            uploads / "speech.wav",
            "label",
            "happy",
            2,
            "",
            None,
            2,
            None,
            None,
            0,
            progress_callback=progress,
            cancel_event=event,
        )
    assert set(service.output_dir.iterdir()) == before
    # the pipeline is usable again after a cancel
    path, _, _ = service.generate(uploads / "portrait.png", None, uploads / "speech.wav")
    assert os.path.exists(path)


def test_cleanup_removes_old_outputs_only(model_dir, uploads):
    fresh_service = GenerationService(model=model_dir, allowed_dirs=[uploads])
    old = fresh_service.output_dir / "old.mp4"
    new = fresh_service.output_dir / "new.mp4"
    old.write_bytes(b"x")
    new.write_bytes(b"x")
    past = time.time() - 7200
    os.utime(old, (past, past))
    assert fresh_service.cleanup(3600) == 1
    assert not old.exists() and new.exists()


def test_default_model_is_the_mesh_engine(monkeypatch):
    monkeypatch.delenv("EADNET_MODEL", raising=False)
    service = GenerationService()
    assert service.model == "eadnet-mesh"  # works on any face, offline, on a CPU
    assert "eadnet-mesh" in service.model_notice() and "untrained" not in service.model_notice()
    mini = GenerationService("eadnet-mini").model_notice()
    assert "eadnet-mini" in mini and "ONE face" in mini  # it says plainly that it learned one face
    assert "untrained" in GenerationService("offline-demo").model_notice()
    assert GenerationService("some-folder").model_notice() is None


def test_model_and_audio_limit_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("EADNET_MODEL", "some-folder")
    monkeypatch.setenv("EADNET_MAX_AUDIO_SECONDS", "12.5")
    configured = GenerationService()
    assert configured.model == "some-folder" and configured.max_audio_seconds == 12.5
    assert configured.output_dir.name.startswith("eadnet-gradio-")


def test_examples_animate_the_bundled_media_with_several_emotions():
    pytest.importorskip("gradio")
    from gradio_app.app import example_rows

    rows = example_rows()
    assert {row[4] for row in rows if row[3] == "label"} >= {"happy", "sad", "angry", "surprised"}
    assert any(row[3] == "text" and row[6] for row in rows)
    for portrait, speech, video, *_rest, steps, audio_guidance, text_guidance, _seed, _warp, face in rows:
        assert (portrait is None) != (video is None)  # a portrait, or a source video to dub
        assert portrait in (None, str(example_portrait_path())) and speech == str(example_speech_path())
        assert steps is audio_guidance is text_guidance is None  # the model's own defaults
        assert face == "largest"


def test_a_bad_face_choice_is_refused_before_any_work(service, uploads):
    with pytest.raises(ServiceError, match="face must be 'largest', 'center', a number"):
        service.generate(uploads / "portrait.png", None, uploads / "speech.wav", face="the left one")
    with pytest.raises(ServiceError, match="X1 > X0"):
        service.generate(uploads / "portrait.png", None, uploads / "speech.wav", face="50,50,10,10")


def test_the_face_choice_reaches_the_pipeline_and_a_missing_face_lists_the_faces(service, uploads, monkeypatch):
    import eadnet.pipelines
    from eadnet.face import FaceChoiceError

    received = []

    def write_talking_video(pipe, output, **kwargs):
        received.append(kwargs["face"])
        raise FaceChoiceError("face 3 was asked for but only 1 face(s) were found (0 = leftmost): face 0 at x 1-9")

    monkeypatch.setattr(eadnet.pipelines, "write_talking_video", write_talking_video)
    with pytest.raises(ServiceError, match=r"only 1 face\(s\) were found .*face 0 at x 1-9.*click it on the portrait"):
        service.generate(uploads / "portrait.png", None, uploads / "speech.wav", face=" 3 ")
    with pytest.raises(ServiceError):
        service.generate(uploads / "portrait.png", None, uploads / "speech.wav", face="")
    assert received == ["3", None]  # stripped; empty leaves the model's default


def test_the_precision_comes_from_eadnet_dtype(model_dir, uploads, monkeypatch):
    monkeypatch.setenv("EADNET_DTYPE", "bfloat16")
    service = GenerationService(model=model_dir, allowed_dirs=[uploads], device="cpu")
    pipe = service._pipeline()
    assert pipe.unet.dtype == torch.bfloat16 and pipe.audio_encoder.dtype == torch.float32
    monkeypatch.setenv("EADNET_DTYPE", "float64")
    with pytest.raises(ValueError, match="EADNET_DTYPE"):
        GenerationService(model=model_dir, allowed_dirs=[uploads])
