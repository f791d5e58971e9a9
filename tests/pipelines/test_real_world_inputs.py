"""Real-world inputs for both engines: a source video streamed from disk (same result as in memory, memory flat in
its length), the source's frame rate kept, the face chosen in a group shot (the others untouched), and a resting
mouth in the pauses of real speech."""

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from eadnet.expression.rig import FaceRig
from eadnet.face import FaceChoiceError, FaceProcessor
from eadnet.io import VideoWriter, probe_video, read_video
from eadnet.io.video_source import VideoSource
from eadnet.models.voice_activity import speech_frames
from eadnet.pipelines import EADNetPipeline, write_talking_video
from eadnet.testing import StaticFaceDetector, tiny_components, tiny_mesh_pipeline

SR = 16000
DATA = Path(__file__).parent / "data"
UPPER_LIP, LOWER_LIP = 13, 14  # inner lip midpoints of the MediaPipe face mesh


def tone(seconds: float) -> np.ndarray:
    times = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * 180 * times) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * times))).astype(np.float32)


def real_speech_with_a_pause() -> tuple[np.ndarray, int]:
    """4.4 s of real speech (Silero VAD's test recording): speech, a 2.3 s pause, speech."""
    waveform, rate = sf.read(DATA / "speech_with_pause.flac", dtype="float32")
    return waveform, rate


def write_clip(path, frames, fps) -> Path:
    with VideoWriter(path, fps, overwrite=True) as writer:
        writer.write(frames)
    return Path(path)


def moving_frames(image: np.ndarray, count: int) -> np.ndarray:
    """``count`` frames of ``image`` with a slow one-pixel drift (a source video that is not a still)."""
    return np.stack([np.roll(image, index % 4, axis=1) for index in range(count)])


def two_faces(portrait: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.concatenate([portrait, portrait[:, ::-1]], axis=1))


def box_region(box, margin: int = 10):
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    return slice(max(0, y0 - margin), y1 + margin), slice(max(0, x0 - margin), x1 + margin)


@pytest.fixture(scope="module")
def diffusion():
    from eadnet.testing import BoxFaceProcessor

    pipe = EADNetPipeline(**tiny_components(seed=0, face_processor=BoxFaceProcessor()))
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="module")
def mesh(example_portrait, example_landmarks):
    return tiny_mesh_pipeline(StaticFaceDetector(example_landmarks, example_portrait.shape[:2]))


# ----------------------------------------------------------------------------------------------------- streaming
def test_a_streamed_source_gives_the_same_clip_as_the_same_frames_in_memory(diffusion, tmp_path):
    rng = np.random.default_rng(0)
    frames = np.clip(rng.normal(128, 40, (1, 64, 72, 3)) + np.arange(20)[:, None, None, None] * 3, 0, 255)
    path = write_clip(tmp_path / "source.mp4", frames.astype(np.uint8), 25)
    decoded, fps = read_video(path)
    options = {"num_inference_steps": 1, "output_type": "np", "close_mouth_in_silence": False, "window_size": 8}
    audio = tone(1.3)  # 33 frames: the 20-frame source plays forward, back and forward again
    streamed = diffusion(audio=audio, sample_rate=SR, video=str(path), generator=torch.manual_seed(3), **options)
    in_memory = diffusion(audio=audio, sample_rate=SR, video=decoded, video_fps=fps, generator=torch.manual_seed(3),
                          **options)  # fmt: skip
    assert streamed.frames.shape == (33, 64, 72, 3) and streamed.fps == 25.0
    np.testing.assert_array_equal(streamed.frames, in_memory.frames)


@pytest.mark.parametrize("engine", ["mesh", "diffusion"])
def test_memory_does_not_grow_with_the_length_of_a_streamed_source(engine, request, example_portrait, tmp_path):
    pipe = request.getfixturevalue(engine)
    image = np.ascontiguousarray(example_portrait[::2, ::2])  # 256 x 256: 196 KB a frame
    frame_bytes = image.nbytes
    options = {"num_inference_steps": 1} if engine == "diffusion" else {}

    def peak(count: int) -> int:
        path = write_clip(tmp_path / f"source{count}.mp4", moving_frames(image, count), 25)
        source = VideoSource.open(path, cache_bytes=8 * frame_bytes)
        tracemalloc.start()
        try:
            report = write_talking_video(
                pipe, tmp_path / f"out{count}.mp4", audio=tone(count / 25), sample_rate=SR, video=source,
                overwrite=True, window_size=8, **options,
            )  # fmt: skip
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            assert report.num_frames == count

    short, long = peak(40), peak(160)
    # holding the 120 extra frames would cost 120 x 196 KB = 23.6 MB; the growth is a small fraction of that
    assert long - short < 0.15 * 120 * frame_bytes, (short, long)


# ----------------------------------------------------------------------------------------------------- frame rate
@pytest.mark.parametrize("rate", [24.0, 30.0, 30000 / 1001])
def test_dubbing_keeps_the_source_s_frame_rate(mesh, example_portrait, tmp_path, rate):
    image = np.ascontiguousarray(example_portrait[::4, ::4])
    path = write_clip(tmp_path / "source.mp4", moving_frames(image, 30), rate)
    out = tmp_path / "dubbed.mp4"
    report = write_talking_video(mesh, out, audio=tone(1.5), sample_rate=SR, video=str(path))
    info = probe_video(out)
    assert report.fps == pytest.approx(rate) and info.fps == pytest.approx(rate, rel=1e-4)
    assert info.num_frames == int(np.ceil(1.5 * rate - 1e-9))
    assert abs(info.num_frames / info.fps - 1.5) <= 1 / rate  # video within a frame of the speech
    forced = write_talking_video(mesh, tmp_path / "forced.mp4", audio=tone(1.5), sample_rate=SR, video=str(path),
                                 fps=25.0)  # fmt: skip
    assert forced.fps == 25.0 and probe_video(tmp_path / "forced.mp4").fps == 25.0


def test_a_portrait_stays_at_25_fps(mesh, example_portrait):
    out = mesh(image=example_portrait[::4, ::4], audio=tone(0.4), sample_rate=SR, output_type="np")
    assert out.fps == 25.0 and len(out.frames) == 10


# ----------------------------------------------------------------------------------------------------- face choice
@pytest.fixture(scope="module")
def group_mesh(face_detector):
    return tiny_mesh_pipeline(face_detector)


def test_the_chosen_face_talks_and_the_other_stays_bit_identical(group_mesh, example_portrait, face_detector):
    image = two_faces(example_portrait)
    left, right = face_detector.face_boxes(image)
    for choice, talking, still in (("1", right, left), ("0", left, right), (f"{right[0] + 30:.0f},120", right, left)):
        out = group_mesh(image=image, audio=tone(0.6), sample_rate=SR, face=choice, head_motion=0.0,
                         emotion="happy:3", output_type="np")  # fmt: skip
        frames = (out.frames * 255).round().astype(np.uint8)
        rows, cols = box_region(still)
        assert np.array_equal(frames[:, rows, cols], np.broadcast_to(image[rows, cols], frames[:, rows, cols].shape))
        rows, cols = box_region(talking, margin=0)
        assert np.abs(frames[-1, rows, cols].astype(int) - image[rows, cols]).max() > 30
    with pytest.raises(FaceChoiceError, match=r"only 2 face\(s\) were found"):
        group_mesh(image=image, audio=tone(0.4), sample_rate=SR, face="2")


def test_the_chosen_face_of_a_video_is_followed_and_the_other_is_untouched(
    group_mesh, example_portrait, face_detector, tmp_path
):
    image = two_faces(example_portrait[::2, ::2])
    left, _ = face_detector.face_boxes(image)
    path = write_clip(tmp_path / "group.mp4", moving_frames(image, 12), 25)
    source, _ = read_video(path)
    out = tmp_path / "group_dubbed.mp4"
    write_talking_video(group_mesh, out, audio=tone(0.48), sample_rate=SR, video=str(path), face="1",
                        emotion="surprised:3")  # fmt: skip
    # compare before compression: render again in memory
    frames = group_mesh(audio=tone(0.48), sample_rate=SR, video=source, video_fps=25, face="1",
                        emotion="surprised:3", output_type="np").frames  # fmt: skip
    frames = (frames * 255).round().astype(np.uint8)
    rows, cols = box_region(left + np.array([0, 0, 4, 0]))  # the left face and its one-pixel drift
    np.testing.assert_array_equal(frames[:, rows, cols], source[:12][:, rows, cols])
    assert probe_video(out).num_frames == 12


def test_the_diffusion_engine_dubs_the_chosen_face_only(example_portrait, face_detector):
    processor = FaceProcessor(detector=face_detector, crop_size=64, mask_mode="face")
    pipe = EADNetPipeline(**tiny_components(seed=0, face_processor=processor))
    pipe.set_progress_bar_config(disable=True)
    image = two_faces(example_portrait[::2, ::2])
    left, right = face_detector.face_boxes(image)
    out = pipe(image=image, audio=tone(0.3), sample_rate=SR, face="1", num_inference_steps=1, output_type="np",
               close_mouth_in_silence=False)  # fmt: skip
    frames = (out.frames * 255).round().astype(np.uint8)
    rows, cols = box_region(left)
    assert np.array_equal(frames[:, rows, cols], np.broadcast_to(image[rows, cols], frames[:, rows, cols].shape))
    rows, cols = box_region(right, margin=0)
    assert np.abs(frames[0, rows, cols].astype(int) - image[rows, cols]).max() > 30


# ----------------------------------------------------------------------------------------------------- silence
def test_real_pauses_are_found_by_voice_activity():
    waveform, rate = real_speech_with_a_pause()
    gate = speech_frames(waveform, rate, 110, 25.0)
    assert gate[:20].min() > 0.5 and gate[85:105].min() > 0.5  # speech before and after
    assert np.all(gate[26:78] == 0.0)  # the pause (0.9 s to 3.3 s), less the ramps


def test_the_diffusion_engine_rests_the_mouth_in_a_real_pause(diffusion):
    waveform, rate = real_speech_with_a_pause()
    portrait = np.random.default_rng(1).integers(0, 255, (60, 70, 3), dtype=np.uint8)
    options = {"num_inference_steps": 2, "output_type": "np", "window_size": 16, "window_overlap": 2}
    out = diffusion(image=portrait, audio=waveform, sample_rate=rate, generator=torch.manual_seed(0), **options)
    silent = np.flatnonzero(speech_frames(waveform, rate, len(out.frames), 25.0) == 0.0)
    assert len(silent) > 40
    # every frame of the pause shows the same resting face (the source's, through the autoencoder), across windows
    rest = out.frames[silent[0]]
    assert all(np.array_equal(out.frames[index], rest) for index in silent)
    assert not np.array_equal(out.frames[5], rest)  # speech frames are generated
    free = diffusion(image=portrait, audio=waveform, sample_rate=rate, generator=torch.manual_seed(0),
                     close_mouth_in_silence=False, **options)  # fmt: skip
    assert not all(np.array_equal(free.frames[index], free.frames[silent[0]]) for index in silent)


def test_the_mesh_engine_closes_the_mouth_in_a_real_pause(example_portrait, example_landmarks):
    pipe = tiny_mesh_pipeline(StaticFaceDetector(example_landmarks, example_portrait.shape[:2]), voice_activity=None)
    pipe._voice_activity = speech_frames  # the real Silero gate (the tiny pipeline's default is a level gate)
    waveform, rate = real_speech_with_a_pause()
    mouth = pipe.mouth_parameters(waveform, rate, 110, 25.0)
    assert np.all(mouth[26:78] == 0.0) and np.abs(mouth[:20]).max() > 0


def test_the_resting_face_closes_an_open_mouth(example_portrait, example_landmarks, face_detector):
    rig = FaceRig(example_portrait, example_landmarks)
    mesh = rig.basis.displacements(np.zeros((1, 0)), [], mouth=np.array([[1.0, 0, 0, 0, 0, 0]]))[0]
    talking = np.ascontiguousarray(rig.render(rig.points(mesh), close_mouth=False))
    open_points = face_detector.detect(talking).landmarks
    rest = FaceRig(talking, open_points).rest_frame()
    closed_points = face_detector.detect(rest).landmarks

    def gap(points):
        return float(np.linalg.norm(points[LOWER_LIP] - points[UPPER_LIP]))

    assert gap(open_points) > 10 and gap(closed_points) < 0.35 * gap(open_points)
    # the portrait's own parted lips (7 px) close too
    assert gap(example_landmarks) > 5
    assert gap(face_detector.detect(rig.rest_frame()).landmarks) < 1.0
