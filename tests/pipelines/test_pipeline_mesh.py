"""The eadnet-mesh engine with tiny models and a fixed face: the generation seam, portraits and videos, errors."""

import threading

import numpy as np
import pytest
import torch

from eadnet.face import NoFaceError
from eadnet.pipelines import GenerationCancelled, write_talking_video
from eadnet.testing import StaticFaceDetector, tiny_mesh_pipeline

SR = 16000


def speech(seconds: float, pause: tuple[float, float] | None = None) -> np.ndarray:
    times = np.arange(int(seconds * SR)) / SR
    wave = 0.3 * np.sin(2 * np.pi * 180 * times) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * times))
    if pause is not None:
        wave[int(pause[0] * SR) : int(pause[1] * SR)] = 0.0
    return wave.astype(np.float32)


@pytest.fixture(scope="module")
def pipe(example_portrait, example_landmarks):
    return tiny_mesh_pipeline(StaticFaceDetector(example_landmarks, example_portrait.shape[:2]))


def test_portrait_clip_has_the_audio_s_length_and_the_portrait_s_resolution(pipe, example_portrait):
    out = pipe(image=example_portrait, audio=speech(1.0), sample_rate=SR, emotion="happy:3", output_type="np")
    assert len(out.frames) == 25 and out.frames.shape[1:] == example_portrait.shape and out.fps == 25
    assert out.report.total_steps == 25 and set(out.report.timings) >= {"audio", "face", "emotion", "render"}
    assert "happy" in out.emotion_description
    # the background is the portrait's own, the face moves
    frames = (out.frames * 255).round().astype(np.uint8)
    np.testing.assert_array_equal(frames[:, :20, :20], np.broadcast_to(example_portrait[:20, :20], (25, 20, 20, 3)))
    assert np.abs(frames[-1].astype(int) - example_portrait.astype(int)).max() > 30


def test_emotion_eases_in_and_a_seed_fixes_blinks_and_head_motion(pipe, example_portrait):
    def run(seed):
        generator = torch.Generator().manual_seed(seed)
        return pipe(image=example_portrait, audio=speech(1.0), sample_rate=SR, emotion="surprised:3",
                    generator=generator, output_type="np").frames  # fmt: skip

    first, again, other = run(1), run(1), run(2)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    still = pipe(image=example_portrait, audio=speech(1.0), sample_rate=SR, head_motion=0.0, output_type="np")
    assert still.report.settings.head_motion == 0.0


def test_silence_closes_the_mouth(pipe):
    mouth = pipe.mouth_parameters(speech(2.0, pause=(0.6, 1.4)), SR, 50, 25.0)
    assert mouth.shape == (50, 6)
    assert np.all(mouth[17:33] == 0.0)  # frames well inside the pause
    assert mouth[:12].max() > 0.0


def test_source_video_keeps_its_frames_and_follows_the_no_face_policy(example_portrait, example_landmarks):
    dark = np.zeros_like(example_portrait)
    detector = StaticFaceDetector(
        example_landmarks, example_portrait.shape[:2], missing=lambda image: image.max() == 0
    )
    pipe = tiny_mesh_pipeline(detector)
    video = np.stack([example_portrait, example_portrait, dark, example_portrait])
    with pytest.raises(NoFaceError, match="frame 2"):
        pipe(video=video, audio=speech(0.4), sample_rate=SR)
    held = pipe(video=video, audio=speech(0.4), sample_rate=SR, no_face="hold", output_type="np")
    assert len(held.frames) == 10
    np.testing.assert_array_equal((held.frames[2] * 255).round(), dark)  # the faceless frame shown as it is
    skipped = pipe(video=video, audio=speech(0.4), sample_rate=SR, no_face="skip", output_type="np")
    assert all(frame.max() > 0 for frame in skipped.frames)


def test_bad_inputs_give_clear_errors(pipe, example_portrait):
    with pytest.raises(ValueError, match="silent"):
        pipe(image=example_portrait, audio=np.zeros(SR, np.float32), sample_rate=SR)
    with pytest.raises(ValueError, match="exactly one"):
        pipe(audio=speech(0.2), sample_rate=SR)
    with pytest.raises(ValueError, match="corrupt"):
        pipe(image=example_portrait, audio=np.full(SR, np.nan, np.float32), sample_rate=SR)
    with pytest.raises(ValueError, match="head_motion"):
        pipe(image=example_portrait, audio=speech(0.2), sample_rate=SR, head_motion=-1)
    faceless = tiny_mesh_pipeline(StaticFaceDetector(np.zeros((478, 2)), (1, 1), missing=lambda image: True))
    with pytest.raises(NoFaceError):
        faceless(image=example_portrait, audio=speech(0.2), sample_rate=SR)


def test_export_writes_an_mp4_with_the_speech_and_cancels_cleanly(pipe, example_portrait, tmp_path):
    from eadnet.io.video import probe_video

    seen = []
    report = write_talking_video(
        pipe, tmp_path / "out.mp4", audio=speech(1.2), sample_rate=SR, image=example_portrait, emotion="sad",
        progress=lambda done, total: seen.append((done, total)),
    )  # fmt: skip
    info = probe_video(tmp_path / "out.mp4")
    assert report.num_frames == 30 and seen[-1] == (30, 30)
    assert abs(info.duration - 1.2) < 2 / 25 + 0.05
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(GenerationCancelled):
        write_talking_video(pipe, tmp_path / "cancelled.mp4", audio=speech(1.2), sample_rate=SR,
                            image=example_portrait, cancel=cancel)  # fmt: skip
    assert not (tmp_path / "cancelled.mp4").exists()
    assert pipe.total_steps is None and not pipe.interrupt


def test_emotion_from_text_and_from_a_reference(pipe, example_portrait, face_detector):
    units, description = pipe.emotion_units(emotion_text="a big smile")
    assert units["AU12"] > 0.5 and description == "a big smile"
    with pytest.raises(ValueError, match="only one"):
        pipe.emotion_units(emotion="happy", emotion_text="sad")
    # a reference clip that turns sad is measured from its face mesh (MediaPipe), no vision-language model
    from eadnet.expression import ExpressionEditor

    editor = ExpressionEditor(detector=face_detector)
    clip = [example_portrait] * 3 + [editor.edit(example_portrait, emotion="sad", intensity=3)] * 6
    measuring = tiny_mesh_pipeline(face_detector)
    units, description = measuring.emotion_units(emotion_reference=np.stack(clip))
    assert units.get("AU15", 0) > 0.3 and "pulled down" in description


def test_missing_mouth_weights_say_how_to_get_them(tmp_path):
    from eadnet.pipelines.pipeline_mesh import EADNetMeshPipeline

    with pytest.raises(FileNotFoundError, match="eadnet train mouth"):
        EADNetMeshPipeline.from_pretrained(tmp_path / "not-a-model")
