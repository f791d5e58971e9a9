"""The app served on 127.0.0.1 and called through `gradio_client`, as a Space's API users would."""

import av
import numpy as np
import pytest
import soundfile as sf
from PIL import Image

gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")
pytest.importorskip("mediapipe")


from eadnet.assets import example_portrait_path, example_speech_path  # noqa: E402
from gradio_app.app import gpu_decorator, gpu_seconds  # noqa: E402


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("media")
    speech, rate = sf.read(example_speech_path(), dtype="float32")
    sf.write(folder / "speech.wav", speech[:rate], rate)
    sf.write(folder / "long.wav", np.tile(speech, 3)[: 5 * rate], rate)
    Image.new("RGB", (256, 256), (128, 128, 128)).save(folder / "grey.png")
    (folder / "notes.wav").write_text("this is a text file, not audio\n" * 20)
    return folder


@pytest.fixture(scope="module")
def client(app_url):
    return gradio_client.Client(app_url, verbose=False, httpx_kwargs={"timeout": 60})


def call(client, portrait, audio, label="happy"):
    job = client.submit(
        gradio_client.handle_file(str(portrait)),
        gradio_client.handle_file(str(audio)),
        None,
        "label",
        label,
        2,
        "",
        None,
        None,
        None,
        None,
        0,
        api_name="/generate",
    )
    return job.result(timeout=120)


def test_generate_returns_a_playable_mp4_as_long_as_the_speech(client, media):
    video, description, timings = call(client, example_portrait_path(), media / "speech.wav")
    path = video["video"] if isinstance(video, dict) else video
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio, "the mp4 has no audio track"
        rate = float(container.streams.video[0].average_rate)
        frames = sum(1 for _ in container.decode(video=0))
    assert abs(frames / rate - 1.0) <= 1 / 25
    assert "happy" in description and "denoise" in timings


def test_generate_with_only_the_portrait_and_the_speech(client, media):
    # every other input has a default in the API (the emotion: happy, intensity 2); the face by its number
    video, description, _ = client.predict(
        gradio_client.handle_file(str(example_portrait_path())),
        gradio_client.handle_file(str(media / "speech.wav")),
        face="0",
        api_name="/generate",
    )
    with av.open(video) as container:
        assert container.streams.video and container.streams.audio
    assert "happy" in description
    with pytest.raises(gradio_client.exceptions.AppError, match="face must be 'largest', 'center'"):
        client.predict(
            gradio_client.handle_file(str(example_portrait_path())),
            audio=gradio_client.handle_file(str(media / "speech.wav")),
            face="the one on the left",
            api_name="/generate",
        )


@pytest.mark.parametrize(
    ("portrait", "audio", "message"),
    [("grey.png", "speech.wav", "face"), (None, "long.wav", "too long"), (None, "notes.wav", "not a readable audio")],
)
def test_refused_inputs_come_back_as_readable_errors(client, media, portrait, audio, message):
    with pytest.raises(gradio_client.exceptions.AppError, match=message):
        call(client, media / portrait if portrait else example_portrait_path(), media / audio)


def test_gpu_decorator_is_a_no_op_without_spaces_and_duration_follows_the_audio(media):
    def fn():
        return 1

    assert gpu_decorator(gpu_seconds)(fn) is fn
    assert gpu_seconds(None, None, str(media / "long.wav")) > gpu_seconds(None, None, str(media / "speech.wav"))
    assert gpu_seconds(None, None, None) == 30


def test_expression_editor_tab_through_the_api(client, media):
    result = client.predict(
        gradio_client.handle_file(str(example_portrait_path())),
        "sad",
        3,
        0.0,  # brow raise
        0.0,  # frown
        -0.3,  # eye open (negative: squint)
        0.0,  # smile
        0.5,  # lip-corner depress
        0.0,  # nose wrinkle
        0.0,  # jaw
        0.0,  # pitch
        5.0,  # yaw
        0.0,  # roll
        False,
        api_name="/edit_expression",
    )
    path = result["path"] if isinstance(result, dict) else result
    edited = np.asarray(Image.open(path).convert("RGB"))
    original = np.asarray(Image.open(example_portrait_path()).convert("RGB"))
    assert edited.shape == original.shape and np.abs(edited.astype(int) - original.astype(int)).max() > 30
    with pytest.raises(Exception, match="face"):
        client.predict(gradio_client.handle_file(str(media / "grey.png")), "happy", 2, *[0.0] * 10, False,
                       api_name="/edit_expression")  # fmt: skip
