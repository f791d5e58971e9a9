"""The app's API as `gradio_client` sees it, on a recording fake service: optional inputs have defaults, the face
choice is the last input, `predict(portrait, speech)` is a whole call; and the example rows."""

import socket
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

from eadnet.assets import (  # noqa: E402
    example_emotion_reference_path,
    example_portrait_path,
    example_source_video_path,
    example_speech_path,
)
from gradio_app import app as app_module  # noqa: E402
from gradio_app.app import DEFAULT_FACE, build_demo, example_rows  # noqa: E402

GENERATE_PARAMETERS = (
    "portrait",
    "audio",
    "video",
    "emotion_mode",
    "label",
    "intensity",
    "text",
    "reference",
    "steps",
    "audio_guidance",
    "text_guidance",
    "seed",
    "emotion_warp",
    "face",
)
# the order `GenerationService.generate` takes them in (what the recording service sees)
SERVICE_PARAMETERS = ("portrait", "video", "audio", *GENERATE_PARAMETERS[3:])


class RecordingService:
    """Stands in for `GenerationService`: records each call's arguments and returns small real files."""

    def __init__(self, folder: Path):
        self.calls = []
        self.video = folder / "result.mp4"
        with av.open(str(self.video), "w") as container:
            stream = container.add_stream("libx264", rate=25)
            stream.width = stream.height = 32
            stream.pix_fmt = "yuv420p"
            for _ in range(2):
                frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
                container.mux(stream.encode(frame))
            container.mux(stream.encode())
        self.image = folder / "edited.png"
        Image.new("RGB", (32, 32)).save(self.image)

    def model_notice(self):
        return None

    def generate(self, *args, **kwargs):
        self.calls.append(("generate", args))
        return str(self.video), "happy (intensity 2)", "1 frames"

    def edit_expression(self, *args):
        self.calls.append(("edit_expression", args))
        return str(self.image)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    return RecordingService(tmp_path_factory.mktemp("fake-service"))


@pytest.fixture(scope="module")
def demo(service):
    return build_demo(service)


@pytest.fixture(scope="module")
def client(demo):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield gradio_client.Client(url, verbose=False, httpx_kwargs={"timeout": 60})
    finally:
        demo.close()


@pytest.fixture
def last_call(service):
    service.calls.clear()
    return lambda: service.calls[-1]


def parameters(client, endpoint):
    return client.view_api(print_info=False, return_format="dict")["named_endpoints"][endpoint]["parameters"]


def test_api_info_marks_every_input_but_the_speech_and_photo_optional(client):
    generate = parameters(client, "/generate")
    assert tuple(p["parameter_name"] for p in generate) == GENERATE_PARAMETERS  # positions are the API: never reorder
    assert [p["parameter_name"] for p in generate if not p["parameter_has_default"]] == ["audio"]
    defaults = {p["parameter_name"]: p["parameter_default"] for p in generate}
    assert defaults["emotion_mode"] == "label" and defaults["seed"] == 0 and defaults["face"] == DEFAULT_FACE
    assert defaults["portrait"] is defaults["video"] is defaults["steps"] is None
    edit = parameters(client, "/edit_expression")
    assert [p["parameter_name"] for p in edit if not p["parameter_has_default"]] == ["image"]


def test_generate_with_only_the_portrait_and_the_speech(client, last_call):
    video, description, timings = client.predict(
        gradio_client.handle_file(str(example_portrait_path())),
        gradio_client.handle_file(str(example_speech_path())),
        api_name="/generate",
    )
    name, args = last_call()
    assert name == "generate" and len(args) == len(GENERATE_PARAMETERS)
    sent = dict(zip(SERVICE_PARAMETERS, args, strict=True))
    assert Path(sent["portrait"]).name == "portrait.png" and Path(sent["audio"]).name == "speech.flac"
    assert sent["video"] is sent["text"] is sent["reference"] is sent["steps"] is None
    assert (sent["emotion_mode"], sent["label"], sent["intensity"], sent["seed"]) == ("label", "happy", 2, 0)
    assert (sent["emotion_warp"], sent["face"]) == ("model default", DEFAULT_FACE)
    # gradio 6.31 / gradio_client 2.x: a video output comes back as the path of the downloaded file
    assert isinstance(video, str) and Path(video).suffix == ".mp4" and Path(video).is_file()
    assert description == "happy (intensity 2)" and timings == "1 frames"


def test_the_speech_is_required(client):
    with pytest.raises(TypeError, match="audio"):
        client.predict(gradio_client.handle_file(str(example_portrait_path())), api_name="/generate")


def test_dubbing_and_the_face_by_keyword(client, last_call):
    client.predict(
        video=gradio_client.handle_file(str(example_portrait_path())),  # the fake service does not read it
        audio=gradio_client.handle_file(str(example_speech_path())),
        face="120,80",
        api_name="/generate",
    )
    sent = dict(zip(SERVICE_PARAMETERS, last_call()[1], strict=True))
    assert sent["portrait"] is None and sent["video"] and sent["face"] == "120,80"


def test_a_positional_call_without_the_face_gets_the_default_face(client, last_call):
    client.predict(
        gradio_client.handle_file(str(example_portrait_path())),
        gradio_client.handle_file(str(example_speech_path())),
        None,
        "label",
        "sad",
        3,
        "",
        None,
        None,
        None,
        None,
        7,
        "off",
        api_name="/generate",
    )
    sent = dict(zip(SERVICE_PARAMETERS, last_call()[1], strict=True))
    assert (sent["label"], sent["intensity"], sent["seed"], sent["emotion_warp"]) == ("sad", 3, 7, "off")
    assert sent["face"] == DEFAULT_FACE


def test_edit_expression_with_only_the_photo(client, last_call):
    result = client.predict(gradio_client.handle_file(str(example_portrait_path())), api_name="/edit_expression")
    name, args = last_call()
    assert name == "edit_expression" and Path(result).suffix == ".png"
    _, emotion, intensity, sliders, pitch, yaw, roll, keep = args
    assert (emotion, intensity, pitch, yaw, roll, keep) == ("happy", 2, 0, 0, 0, False)
    assert set(sliders.values()) == {0}


def test_clicking_the_portrait_writes_the_point_into_the_face_box(demo):
    (select,) = [fn for fn in demo.fns.values() if any(trigger[1] == "select" for trigger in fn.targets)]
    (face,) = select.outputs
    assert face.label == "Face" and face.value == DEFAULT_FACE
    assert select.fn(gr.SelectData(None, {"index": [120, 80], "value": None})) == "120,80"


def test_example_rows_fill_every_input_and_add_the_clips_only_when_shipped(demo, monkeypatch, tmp_path):
    count = len(demo.get_api_info()["named_endpoints"]["/generate"]["parameters"])

    def missing():
        raise FileNotFoundError("not shipped")

    monkeypatch.setattr(app_module, "example_source_video_path", lambda: tmp_path / "absent.mp4")
    monkeypatch.setattr(app_module, "example_emotion_reference_path", missing)
    base = example_rows()
    assert len(base) == len(app_module.EXAMPLE_EMOTIONS)
    assert all(len(row) == count and row[0] and row[1] and row[2] is None and row[-1] == DEFAULT_FACE for row in base)

    monkeypatch.undo()
    dubbing, reference = example_rows()[len(base) :]
    assert len(dubbing) == len(reference) == count
    assert dubbing[0] is None and dubbing[2] == str(example_source_video_path()) and dubbing[1] == base[0][1]
    assert reference[0] == base[0][0] and reference[3] == "reference"
    assert reference[7] == str(example_emotion_reference_path())
