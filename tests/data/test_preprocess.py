"""`eadnet preprocess`: raw videos → clip dataset. Pure helpers (paths, labels, splits, clip plans, face checks,
resampling), then runs with MediaPipe over a folder of one good video (the example portrait, moving a little, with
the example speech), one without a face, one without sound and one corrupt file."""

import json
import logging

import cv2
import numpy as np
import pytest
from PIL import Image

from eadnet.assets import example_portrait_path, example_speech_path
from eadnet.cli import main
from eadnet.data import load_clip_audio, load_clip_features, load_clip_frames, read_dataset_info, read_manifest
from eadnet.data.format import _CLIP_ID
from eadnet.data.preprocess import (
    PreprocessConfig,
    _FileProcessor,
    _num_output_frames,
    _resampled_frames,
    assign_split,
    check_face_track,
    clip_id,
    describe_source,
    find_audio_file,
    find_videos,
    parse_source_path,
    plan_clips,
    preprocess_videos,
    read_label_file,
)
from eadnet.face import FaceDetection, template_points5
from eadnet.face.alignment import MESH_EYE_LEFT_CORNERS, MESH_EYE_RIGHT_CORNERS, MESH_MOUTH_LEFT, MESH_MOUTH_RIGHT
from eadnet.io import load_audio, write_video
from eadnet.models.emotion_captioner import describe_label

GOOD = "W011/video/front/happy/level_3/001.mp4"
NO_AUDIO = "W011/video/front/sad/level_1/002.mp4"
NO_FACE = "noface.mp4"
CORRUPT = "broken.mp4"
# Small and short so that a run takes seconds: 64 px crops, 1-2 s clips (the 4.5 s good video gives 3 clips).
CONFIG = dict(crop_size=64, min_clip_seconds=1.0, max_clip_seconds=2.0, min_face_size=32.0)


# ------------------------------------------------------------------------------------------------- pure helpers
def test_parse_source_path_mead_layout():
    assert parse_source_path("M003/video/front/angry/level_1/001.mp4") == {
        "emotion": "angry",
        "intensity": 1,
        "speaker": "M003",
    }
    assert parse_source_path("W015/video/left_30/Surprised/level_3/012.mp4") == {
        "emotion": "surprised",
        "intensity": 3,
        "speaker": "W015",
    }
    # no MEAD speaker: the top-level folder, else the file name; no label: None
    assert parse_source_path("obama/clip_07.mp4") == {"emotion": None, "intensity": None, "speaker": "obama"}
    assert parse_source_path("WDA_BarackObama_000.mp4")["speaker"] == "WDA_BarackObama_000"
    assert parse_source_path("takes/sad.mov")["emotion"] == "sad"


def test_find_audio_file_in_mead_audio_tree(tmp_path):
    video = tmp_path / "M003/video/front/angry/level_1/001.mp4"
    audio = tmp_path / "M003/audio/angry/level_1/001.m4a"
    for path in (video, audio):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"x")
    assert find_audio_file(video) == audio
    assert find_audio_file(tmp_path / "M003/video/front/angry/level_1/002.mp4") is None
    assert find_audio_file(tmp_path / "clip.mp4") is None


def test_a_video_without_sound_uses_its_mead_audio_file(tmp_path):
    import soundfile

    video = tmp_path / "M009/video/front/sad/level_2/003.mp4"
    audio = tmp_path / "M009/audio/sad/level_2/003.wav"
    video.parent.mkdir(parents=True)
    audio.parent.mkdir(parents=True)
    write_video(video, np.zeros((5, 32, 32, 3), np.uint8), 25)
    tone = 0.3 * np.sin(np.linspace(0, 2000, 44100)).astype(np.float32)
    soundfile.write(audio, tone, 44100)
    config = PreprocessConfig()
    processor = _FileProcessor(config, config.dataset_info(None), None, with_reference=False)
    waveform, used = processor._load_audio(video, has_track=False)
    assert used == audio and waveform.shape == (16000,)


def test_find_videos_skips_hidden_and_output(tmp_path):
    for name in ("a/one.MP4", "b/two.mkv", "notes.txt", ".hidden/three.mp4", "out/clips/x/frames.mp4"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    found = find_videos(tmp_path, exclude=tmp_path / "out")
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a/one.MP4", "b/two.mkv"]


def test_label_file_overrides_path_labels(tmp_path, caplog):
    rows = [
        {
            "path": "M003/video/front/angry/level_1/001.mp4",
            "emotion": "Happiness",
            "intensity": 2,
            "description": "  a  calm smile ",
            "text": "hello there",
            "mouth_open": [0.1, 0.2],
            "seed": 7,
        },
        {"path": "synthetic/clip_1.mp4", "emotion": "bored", "split": "val"},
    ]
    (tmp_path / "labels.jsonl").write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    (tmp_path / "labels.csv").write_text("path,speaker,intensity\nother/x.mp4,S9,3\n")
    with caplog.at_level(logging.WARNING, logger="eadnet.data.preprocess"):
        labels = read_label_file(tmp_path)
    assert "not a MEAD label" in caplog.text

    source = describe_source("M003/video/front/angry/level_1/001.mp4", labels)
    assert (source.emotion, source.intensity, source.speaker) == ("happy", 2, "M003")
    assert source.description == "a calm smile"
    assert source.extra == {"text": "hello there", "mouth_open": [0.1, 0.2], "seed": 7}
    synthetic = describe_source("synthetic/clip_1.mp4", labels)
    assert (synthetic.emotion, synthetic.split, synthetic.speaker) == (None, "val", "synthetic")
    other = describe_source("other/x.mp4", labels)
    assert (other.speaker, other.intensity) == ("S9", 3)
    assert describe_source("M030/video/front/sad/level_2/001.mp4", labels).description is None


def test_assign_split():
    config = PreprocessConfig(val_speakers=("W011",))
    assert assign_split(describe_source("M003/video/front/sad/level_1/001.mp4"), config) == "test"
    assert assign_split(describe_source("W011/video/front/sad/level_1/001.mp4"), config) == "val"
    assert assign_split(describe_source("W012/video/front/sad/level_1/001.mp4"), config) == "train"
    by_hash = PreprocessConfig(test_speakers=(), val_fraction=0.3)
    splits = [assign_split(describe_source(f"spk/{i:03d}.mp4"), by_hash) for i in range(200)]
    assert splits == [assign_split(describe_source(f"spk/{i:03d}.mp4"), by_hash) for i in range(200)]
    assert 30 < splits.count("val") < 90 and set(splits) == {"train", "val"}


def test_clip_ids_are_deterministic_valid_and_distinct():
    first = clip_id("M003/video/front/angry/level_1/001.mp4", 0)
    assert first == clip_id("M003/video/front/angry/level_1/001.mp4", 0)
    assert first.startswith("M003_video_front_angry_level_1_001-") and first.endswith("-000")
    assert clip_id("a/b_c.mp4", 0) != clip_id("a_b/c.mp4", 0) != clip_id("a_b/c.mov", 0)
    assert _CLIP_ID.match(clip_id("../ünïcode dir/" + "x" * 300 + ".mp4", 12))


@pytest.mark.parametrize(
    "seconds, min_seconds, max_seconds, expected",
    [
        (12.0, 5, 10, [(0, 150), (150, 150)]),  # two equal 6 s clips rather than 10 s + a dropped 2 s
        (10.0, 5, 10, [(0, 250)]),
        (4.0, 5, 10, []),  # shorter than a clip
        (22.0, 8, 10, [(0, 250), (250, 250)]),  # 3 equal clips would be 7.3 s < 8 s: 2 × 10 s, 2 s dropped
        (31.0, 5, 10, [(0, 193), (193, 193), (386, 193), (579, 193)]),
    ],
)
def test_plan_clips(seconds, min_seconds, max_seconds, expected):
    plan = plan_clips(round(seconds * 25), 25, min_seconds, max_seconds)
    assert plan == expected
    for start, length in plan:
        assert min_seconds * 25 <= length <= max_seconds * 25 and start + length <= seconds * 25


def _detections(centres, widths):
    """Fake detections whose five alignment points are the template's, scaled to ``width`` around ``centre``."""
    template = template_points5(1) + 0.5 - template_points5(1).mean(axis=0)
    detections = []
    for (x, y), width in zip(centres, widths, strict=True):
        points = template * width + (x, y)
        mesh = np.tile(points.mean(axis=0), (478, 1))
        mesh[list(MESH_EYE_LEFT_CORNERS)] = points[0]
        mesh[list(MESH_EYE_RIGHT_CORNERS)] = points[1]
        mesh[[1, MESH_MOUTH_LEFT, MESH_MOUTH_RIGHT]] = points[2:]
        box = np.array([x - width / 2, y - width / 2, x + width / 2, y + width / 2])
        detections.append(FaceDetection(box=box, landmarks=mesh, score=0.9))
    return detections


def test_check_face_track():
    steady = _detections([(100 + i, 100) for i in range(10)], [80] * 10)
    assert check_face_track(steady, min_face_size=64, max_jump=0.3) is None
    assert check_face_track(steady, min_face_size=100, max_jump=0.3)[0] == "small face"
    jump = _detections([(100, 100)] * 5 + [(160, 100)] * 5, [80] * 10)
    reason, message = check_face_track(jump, min_face_size=64, max_jump=0.3)
    assert reason == "unstable face" and "frames 4 and 5" in message
    zoom = _detections([(100, 100)] * 10, [80] * 5 + [120] * 5)
    assert check_face_track(zoom, min_face_size=64, max_jump=0.3)[0] == "unstable face"


def test_resampling_30_to_25_fps_picks_the_nearest_frames(tmp_path):
    path = tmp_path / "thirty.mp4"
    write_video(path, np.stack([np.full((32, 32, 3), 12 * i, np.uint8) for i in range(15)]), 30)
    frames = list(_resampled_frames(path, 30.0, 25.0))
    assert len(frames) == _num_output_frames(15, 30.0, 25.0) == 13
    source_index = [round(float(frame.mean()) / 12) for frame in frames]
    assert source_index == [int(np.floor(k * 1.2 + 0.5)) for k in range(13)]
    assert _num_output_frames(300, 30, 25) == 250 and _num_output_frames(112, 25, 25) == 112


# ---------------------------------------------------------------------------------------------------- runs
def _good_frames(count: int) -> np.ndarray:
    """The example portrait around its face (256 px, face ~95 px wide), drifting a few pixels."""
    portrait = np.asarray(Image.open(example_portrait_path()).convert("RGB"))[0:288, 80:368]
    base = cv2.resize(portrait, (256, 256), interpolation=cv2.INTER_AREA)
    shifts = [np.float32([[1, 0, 3 * np.sin(i / 6)], [0, 1, 2 * np.cos(i / 9)]]) for i in range(count)]
    return np.stack([cv2.warpAffine(base, m, (256, 256), borderMode=cv2.BORDER_REFLECT) for m in shifts])


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("raw")
    speech, rate = load_audio(example_speech_path())  # 4.5 s
    frames = _good_frames(112)
    good = root / GOOD
    good.parent.mkdir(parents=True)
    write_video(good, frames, 25, audio=speech, sample_rate=rate)
    y, x = np.mgrid[0:128, 0:128]
    noise = np.random.default_rng(0).integers(0, 40, (62, 128, 128, 3))
    gradients = np.stack([np.stack([2 * x, 2 * y, (x + y + 4 * i) % 256], axis=-1) for i in range(62)])
    write_video(
        root / NO_FACE, np.clip(gradients + noise, 0, 255).astype(np.uint8), 25, audio=speech, sample_rate=rate
    )
    (root / NO_AUDIO).parent.mkdir(parents=True)
    write_video(root / NO_AUDIO, frames[:30], 25)
    (root / CORRUPT).write_bytes(good.read_bytes()[:2000])
    return root


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory):
    from eadnet.testing import tiny_audio_encoder

    directory = tmp_path_factory.mktemp("tiny-whisper")
    tiny_audio_encoder().save_pretrained(directory)
    return directory


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.messages = []

    def emit(self, record):
        self.messages.append((record.levelno, record.getMessage()))


@pytest.fixture(scope="module")
def dataset(raw_dir, encoder_dir, tmp_path_factory):
    """One single-process run over the four files, with cached features; returns (folder, summary, log)."""
    from eadnet.models.audio_encoder import WhisperAudioEncoder

    output = tmp_path_factory.mktemp("dataset")
    handler = _Records()
    logger = logging.getLogger("eadnet.data.preprocess")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        summary = preprocess_videos(
            raw_dir, output, PreprocessConfig(**CONFIG), audio_encoder=WhisperAudioEncoder.from_pretrained(encoder_dir)
        )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return output, summary, handler.messages


def test_keeps_the_good_video_and_reports_the_others(dataset):
    output, summary, messages = dataset
    assert summary.files == 4 and summary.files_with_clips == 1
    assert summary.clips_written == 3 and summary.clips_existing == 0
    assert dict(summary.clips_skipped) == {"no face": 2}
    assert dict(summary.files_failed) == {"no audio": 1, "unreadable video": 1}
    assert summary.usable

    warnings = [text for level, text in messages if level == logging.WARNING]
    assert sum(NO_FACE in text and "(no face)" in text for text in warnings) == 2  # one line per skipped clip
    assert sum(NO_AUDIO in text and "(no audio)" in text for text in warnings) == 1
    assert sum(CORRUPT in text and "(unreadable video)" in text for text in warnings) == 1
    assert not any(GOOD in text for text in warnings)

    records = read_manifest(output)
    assert [r.id for r in records] == [clip_id(GOOD, i) for i in range(3)]
    assert [r.start for r in records] == pytest.approx([0.0, 1.48, 2.96])
    description = describe_label("happy", 3)
    for record in records:
        assert (record.source, record.num_frames, record.split) == (GOOD, 37, "train")
        assert (record.emotion, record.intensity, record.speaker) == ("happy", 3, "W011")
        assert record.description == description
        frames = load_clip_frames(output, record)
        assert frames.shape == (37, 64, 64, 3) and frames.std() > 20  # a face, not a flat crop
    info = read_dataset_info(output)
    assert (info.fps, info.sample_rate, info.crop_size) == (25.0, 16000, 64)
    assert not (output / ".staging").exists()
    assert sorted(p.name for p in (output / "clips").iterdir()) == [r.id for r in records]


def test_cached_features_match_the_encoder_and_the_clip_audio(dataset, encoder_dir):
    from eadnet.models.audio_encoder import WhisperAudioEncoder

    output, _, _ = dataset
    encoder = WhisperAudioEncoder.from_pretrained(encoder_dir)
    info = read_dataset_info(output)
    assert info.audio_encoder["num_states"] == encoder.num_states
    assert info.audio_encoder["output_dim"] == encoder.output_dim
    for record in read_manifest(output):
        audio = load_clip_audio(output, record)
        assert audio.shape == (record.num_frames * 640,)  # 16 kHz / 25 fps
        features = load_clip_features(output, record)
        assert features.shape == (record.num_frames * 2, encoder.num_states, encoder.output_dim)  # 50 Hz
        expected = encoder.encode_whisper_features(audio, 16000)[0]
        assert torch_allclose(features, expected)
        # the slicing the trainer does works on the cached features
        assert encoder.slice_frames(features[None], record.num_frames).shape[1] == record.num_frames


def torch_allclose(cached, fresh) -> bool:
    # cached as float16; the clip audio was re-read from 16-bit PCM
    return bool(((cached - fresh.float()).abs() <= 0.02 + 0.02 * fresh.float().abs()).float().mean() > 0.99)


def test_resume_writes_nothing_new(dataset, raw_dir, encoder_dir):
    from eadnet.models.audio_encoder import WhisperAudioEncoder

    output, _, _ = dataset
    manifest = (output / "manifest.jsonl").read_bytes()
    summary = preprocess_videos(
        raw_dir, output, PreprocessConfig(**CONFIG), audio_encoder=WhisperAudioEncoder.from_pretrained(encoder_dir)
    )
    assert summary.clips_written == 0 and summary.clips_existing == 3 and summary.usable
    assert (output / "manifest.jsonl").read_bytes() == manifest


def test_two_workers_give_the_same_manifest(dataset, raw_dir, tmp_path):
    output, _, _ = dataset
    summary = preprocess_videos(raw_dir, tmp_path / "two", PreprocessConfig(**CONFIG), workers=2)
    assert summary.clips_written == 3 and dict(summary.clips_skipped) == {"no face": 2}
    assert [r.id for r in read_manifest(tmp_path / "two")] == [r.id for r in read_manifest(output)]
    assert read_dataset_info(tmp_path / "two").audio_encoder is None
    assert not (tmp_path / "two" / "clips" / read_manifest(output)[0].id / "audio_features.safetensors").exists()


def test_cli_writes_a_dataset_with_a_vlm(raw_dir, encoder_dir, tmp_path, capsys):
    from eadnet.testing import save_tiny_vlm

    single = tmp_path / "single"
    (single / "W011").mkdir(parents=True)
    (single / "W011" / "talk.mp4").write_bytes((raw_dir / GOOD).read_bytes())
    vlm = save_tiny_vlm(tmp_path / "vlm")
    code = main(
        [
            "preprocess",
            str(single),
            str(tmp_path / "out"),
            "--crop-size",
            "64",
            "--min-seconds",
            "1.5",
            "--max-seconds",
            "3",
            "--min-face-size",
            "32",
            "--audio-encoder",
            str(encoder_dir),
            "--vlm",
            str(vlm),
            "--vlm-frames",
            "2",
            "--device",
            "cpu",
            "--frames-format",
            "npy",
        ]
    )
    assert code == 0
    assert "clips written: 2" in capsys.readouterr().out
    records = read_manifest(tmp_path / "out")
    assert [r.num_frames for r in records] == [56, 56]
    for record in records:
        assert record.emotion is None and record.speaker == "W011"
        assert isinstance(record.description, str) and record.description  # the tiny VLM's (random) words
        assert (tmp_path / "out" / "clips" / record.id / "frames.npy").is_file()


def test_cli_exits_2_when_nothing_is_usable(raw_dir, tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in (CORRUPT, NO_AUDIO):
        (bad / name.replace("/", "_")).write_bytes((raw_dir / name).read_bytes())
    assert main(["preprocess", str(bad), str(tmp_path / "out"), "--no-audio-features"]) == 2
    captured = capsys.readouterr()
    assert "files failed: no audio 1, unreadable video 1" in captured.out
    assert "no usable clip" in captured.err
    assert main(["preprocess", str(tmp_path / "missing"), str(tmp_path / "out")]) == 2
