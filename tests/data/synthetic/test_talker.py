"""Synthetic talking clips: espeak-ng speech with phoneme timings, mouth-openness curves, and the landmark-driven warp
of the example portrait, checked by re-running the face mesh on the output."""

import json
import math

import numpy as np
import pytest

from eadnet.data.synthetic import speech as speech_module
from eadnet.data.synthetic.speech import (
    SpeechBackendError,
    espeak_backend,
    list_voices,
    mouth_openness_from_audio,
    mouth_openness_from_phonemes,
    phoneme_openness,
    synthesize_speech,
)
from eadnet.data.synthetic.talker import (
    IdentityAugmentation,
    SyntheticClipSpec,
    SyntheticTalker,
    emotion_strength,
    make_synthetic_clip,
    write_synthetic_videos,
)

SENTENCE = "Hello there, how are you today?"
# A 256 px cut-out of the 512 px example portrait around the face: the face keeps its full resolution (the mesh is
# precise on it), the frames are a quarter of the pixels.
CROP = (slice(10, 266), slice(97, 353))


def has_espeak(backend: str = "auto") -> bool:
    try:
        espeak_backend(backend)
    except SpeechBackendError:
        return False
    return True


needs_espeak = pytest.mark.skipif(
    not has_espeak(), reason="no espeak-ng: pip install espeakng-loader, or apt install espeak-ng"
)


@pytest.fixture(scope="module")
def speech():
    if not has_espeak():
        pytest.skip("no espeak-ng: pip install espeakng-loader, or apt install espeak-ng")
    return synthesize_speech(SENTENCE, voice="en-us+f3")


@pytest.fixture(scope="module")
def detector():
    pytest.importorskip("mediapipe", reason="needs mediapipe==0.10.14 (pip install mediapipe==0.10.14)")
    from eadnet.face import MediaPipeFaceDetector

    with MediaPipeFaceDetector() as detector:
        yield detector


@pytest.fixture(scope="module")
def portrait():
    from eadnet.assets import example_portrait_path
    from eadnet.io import load_image

    return np.ascontiguousarray(load_image(example_portrait_path())[CROP])


@pytest.fixture(scope="module")
def talker(portrait, detector):
    return SyntheticTalker(portrait, detector=detector)


@pytest.fixture(scope="module")
def clip(talker, speech):
    return make_synthetic_clip(talker, speech=speech, emotion="neutral", intensity=1, seed=3)


def landmarks(detector, frame: np.ndarray) -> np.ndarray:
    detection = detector.detect(frame)
    assert detection is not None, "the face mesh lost the face in a rendered frame"
    return detection.landmarks


# ---------------------------------------------------------------------------------------------------- speech
@pytest.mark.parametrize("backend", ["library", "binary"])
def test_synthesize_speech_gives_sound_and_a_timeline_covering_it(backend):
    if not has_espeak(backend):
        pytest.skip(f"no espeak-ng {backend} back end: pip install espeakng-loader, or apt install espeak-ng")
    from eadnet.io import is_silent

    track = synthesize_speech(SENTENCE, voice="en-us", rate=170, backend=backend)
    assert track.backend == backend
    assert track.waveform.dtype == np.float32 and track.waveform.ndim == 1
    assert 1.0 < track.duration < 4.0
    assert not is_silent(track.waveform, sample_rate=track.sample_rate)
    timeline = track.timeline
    assert timeline[0][0] == 0.0
    assert timeline[-1][1] == pytest.approx(track.duration, abs=1e-6)
    for (_, end, _), (start, _, _) in zip(timeline, timeline[1:], strict=False):
        assert start == pytest.approx(end, abs=1e-9)  # contiguous
    assert all(end > start for start, end, _ in timeline)
    spoken = [name for _, _, name in timeline if name != "_"]
    assert len(spoken) >= 15 and any(phoneme_openness(name) >= 0.8 for name in spoken)


@needs_espeak
def test_voices_resample_and_parameters():
    voices = list_voices()
    assert "en-us" in voices and len(voices) >= 4
    female = synthesize_speech("Good morning.", voice="en-us+f3", sample_rate=16000)
    assert female.sample_rate == 16000
    slow = synthesize_speech("Good morning.", voice="en-us", rate=100)
    fast = synthesize_speech("Good morning.", voice="en-us", rate=300)
    assert slow.duration > fast.duration * 1.5
    with pytest.raises(ValueError, match="rate"):
        synthesize_speech("Good morning.", rate=20)
    with pytest.raises(ValueError, match="text"):
        synthesize_speech("  ")


def test_missing_espeak_names_both_installs(monkeypatch):
    monkeypatch.setattr(speech_module, "_library_location", lambda: None)
    monkeypatch.setattr(speech_module, "_binary", lambda: None)
    with pytest.raises(SpeechBackendError, match="espeakng-loader") as error:
        synthesize_speech(SENTENCE)
    assert "apt install espeak-ng" in str(error.value)


def test_phoneme_openness_targets():
    assert phoneme_openness("_") == 0.0
    assert phoneme_openness("m") == phoneme_openness("b") == 0.0
    assert phoneme_openness("'aI") > phoneme_openness("i:") > phoneme_openness("p")
    timeline = [(0.0, 0.2, "_"), (0.2, 0.3, "m"), (0.3, 0.6, "A:"), (0.6, 0.7, "p"), (0.7, 1.0, "_")]
    openness = mouth_openness_from_phonemes(timeline, 25, fps=25)
    assert openness.shape == (25,) and openness.dtype == np.float32
    assert openness[:3].max() < 0.05 and openness[11] > 0.9 and openness[-3:].max() < 0.05


def test_openness_from_audio_shapes_and_silence():
    sample_rate = 16000
    assert not mouth_openness_from_audio(np.zeros(sample_rate), sample_rate, 25).any()
    t = np.arange(sample_rate) / sample_rate
    tone = np.sin(2 * np.pi * 220 * t) * (t > 0.5)  # silence, then sound
    openness = mouth_openness_from_audio(np.stack([tone, tone]), sample_rate, 25, fps=25)
    assert openness.shape == (25,) and openness.dtype == np.float32
    assert openness[:10].max() < 0.05 and openness[15:].min() > 0.9


def test_openness_from_phonemes_and_from_audio_agree(speech):
    num_frames = speech.num_frames(25)
    from_phonemes = mouth_openness_from_phonemes(speech.timeline, num_frames)
    from_audio = mouth_openness_from_audio(speech.waveform, speech.sample_rate, num_frames)
    for curve in (from_phonemes, from_audio):
        assert curve.shape == (num_frames,) and curve.min() >= 0.0 and curve.max() <= 1.0
    assert np.corrcoef(from_phonemes, from_audio)[0, 1] > 0.6


# ---------------------------------------------------------------------------------------------------- rendering
def test_clip_has_one_frame_per_25th_of_a_second_and_leaves_the_background(clip, portrait, speech):
    assert clip.num_frames == math.ceil(speech.duration * 25 - 1e-6)
    assert clip.frames.shape == (clip.num_frames, *portrait.shape) and clip.frames.dtype == np.uint8
    assert clip.openness.shape == (clip.num_frames,) and clip.fps == 25.0
    assert clip.sample_rate == speech.sample_rate and clip.text == SENTENCE
    np.testing.assert_array_equal(clip.audio, speech.waveform)
    size = 24
    for rows in (slice(0, size), slice(-size, None)):
        for cols in (slice(0, size), slice(-size, None)):
            difference = np.abs(clip.frames[:, rows, cols].astype(int) - portrait[rows, cols].astype(int))
            assert difference.max() <= 2
    # the face itself moves
    assert np.abs(clip.frames.astype(int) - portrait.astype(int)).max() > 50


def test_lip_gap_in_the_output_tracks_the_openness(clip, detector):
    frames = range(0, clip.num_frames, 2)
    gaps = []
    for index in frames:
        mesh = landmarks(detector, clip.frames[index])
        gaps.append(np.linalg.norm(mesh[14] - mesh[13]))
    openness = clip.openness[list(frames)]
    assert openness.max() > 0.8 and openness.min() < 0.1
    assert np.corrcoef(openness, gaps)[0, 1] > 0.8


def test_happy_and_sad_move_the_mouth_corners_opposite_ways(talker, detector):
    closed = np.zeros(1)
    corner_y = {}
    for emotion in ("neutral", "happy", "sad"):
        frame = talker.render(closed, emotion=emotion, intensity=3, head_motion=False, blink=False)[0]
        corner_y[emotion] = landmarks(detector, frame)[[61, 291], 1].mean()
    assert corner_y["happy"] - corner_y["neutral"] < -0.5  # up
    assert corner_y["sad"] - corner_y["neutral"] > 0.5  # down


def test_render_is_deterministic_for_a_seed(talker):
    openness = np.linspace(0.0, 1.0, 6)
    first = talker.render(openness, emotion="surprised", intensity=2, seed=7)
    np.testing.assert_array_equal(first, talker.render(openness, emotion="surprised", intensity=2, seed=7))
    assert not np.array_equal(first, talker.render(openness, emotion="surprised", intensity=2, seed=8))


@pytest.mark.parametrize("emotion", ["angry", "contempt", "disgusted", "fear"])
def test_every_emotion_changes_the_face(talker, emotion):
    closed = np.zeros(1)
    neutral = talker.render(closed, head_motion=False, blink=False)[0].astype(int)
    strong = talker.render(closed, emotion=emotion, intensity=3, head_motion=False, blink=False)[0].astype(int)
    slight = talker.render(closed, emotion=emotion, intensity=1, head_motion=False, blink=False)[0].astype(int)
    assert 0 < np.abs(slight - neutral).mean() < np.abs(strong - neutral).mean()


def test_render_rejects_bad_arguments(talker):
    with pytest.raises(ValueError, match="MEAD emotion"):
        talker.render(np.zeros(2), emotion="bored")
    with pytest.raises(ValueError, match="intensity"):
        talker.render(np.zeros(2), intensity=5)
    with pytest.raises(ValueError, match="openness"):
        talker.render(np.zeros((2, 2)))
    assert emotion_strength(0) == 0.0 and emotion_strength(1) < emotion_strength(2) < emotion_strength(3) == 1.0


def test_augmentation_is_applied_to_every_frame(talker):
    openness = np.array([0.0, 0.5, 1.0])
    plain = talker.render(openness, seed=1)
    flipped = talker.render(openness, seed=1, augmentation=IdentityAugmentation(flip=True))
    np.testing.assert_array_equal(flipped, plain[:, :, ::-1])
    augmentation = IdentityAugmentation.random(seed=5)
    assert augmentation == IdentityAugmentation.random(seed=5)
    augmented = talker.render(openness, seed=1, augmentation=augmentation)
    assert augmented.shape == plain.shape and not np.array_equal(augmented, plain)
    # the same change on every frame: the untouched background stays identical from frame to frame
    dimmer = talker.render(openness, seed=1, augmentation=IdentityAugmentation(brightness=-0.1))
    corners = (slice(0, 16), slice(0, 16))
    assert len({dimmer[(i, *corners)].tobytes() for i in range(3)}) == 1


# ---------------------------------------------------------------------------------------------------- data sets
@needs_espeak
def test_write_synthetic_videos_writes_mead_layout_and_labels(tmp_path, talker):
    from eadnet.io import probe_video

    specs = [
        SyntheticClipSpec(text="Good morning.", emotion="happy", intensity=2, speaker="S01", seed=1),
        {"text": "See you soon.", "emotion": "sadness", "intensity": 3, "speaker": "S01", "voice": "en+f2"},
        {
            "text": "Thank you.",
            "emotion": "happy",
            "intensity": 2,
            "speaker": "S01",
            "augmentation": {"flip": True, "brightness": 0.05},
        },
    ]
    rows = write_synthetic_videos(tmp_path, specs, portrait=talker)
    assert [row["path"] for row in rows] == [
        "S01/happy/level_2/001.mp4",
        "S01/sad/level_3/001.mp4",
        "S01/happy/level_2/002.mp4",
    ]
    labels = [json.loads(line) for line in (tmp_path / "labels.jsonl").read_text().splitlines()]
    assert labels == rows
    for row in labels:
        info = probe_video(tmp_path / row["path"])
        assert info.has_audio and info.codec == "h264"
        assert (info.width, info.height) == (256, 256) and info.fps == pytest.approx(25.0)
        assert abs(info.num_frames - row["num_frames"]) <= 1
        assert len(row["openness"]) == row["num_frames"] == math.ceil(row["duration"] * 25 - 1e-6)
        assert row["timeline"][-1][1] == pytest.approx(row["duration"], abs=1e-4)
    assert labels[1]["voice"] == "en+f2" and labels[2]["augmentation"]["flip"] is True
    with pytest.raises(FileExistsError):
        write_synthetic_videos(tmp_path, specs[:1], portrait=talker)


def test_clip_spec_validates():
    with pytest.raises(ValueError, match="speaker"):
        SyntheticClipSpec(text="Hi.", speaker="../up")
    with pytest.raises(ValueError, match="intensity"):
        SyntheticClipSpec(text="Hi.", intensity=0)
    assert SyntheticClipSpec(text="Hi.", emotion="Surprise").emotion == "surprised"


def test_example_speech_drives_the_mouth_by_loudness(talker):
    clip = make_synthetic_clip(talker, emotion="happy", intensity=1, head_motion=False, blink=False)
    assert clip.timeline == [] and clip.text
    assert clip.num_frames == math.ceil(clip.duration * 25 - 1e-6)
    assert clip.openness.max() > 0.8
