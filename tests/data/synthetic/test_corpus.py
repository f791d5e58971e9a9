"""The offline training corpus: coverage and held-out splits of the plan, the leak checks on a manifest, and a tiny
build rendered with espeak-ng and preprocessed."""

import json

import numpy as np
import pytest
import torch

from eadnet.data.format import (
    ClipRecord,
    DatasetError,
    DatasetInfo,
    append_manifest,
    load_clip_features,
    load_clip_frames,
    read_manifest,
    write_dataset_info,
)
from eadnet.data.synthetic.corpus import (
    DEFAULT_HELDOUT_VOICES,
    HELDOUT_SENTENCES,
    PITCH_RANGE,
    RATE_RANGE,
    TRAIN_SENTENCES,
    CorpusClipSpec,
    CorpusLeakError,
    build_corpus,
    describe_corpus,
    plan_corpus,
)
from eadnet.data.synthetic.speech import SpeechBackendError, espeak_backend, list_voices
from eadnet.emotion import EMOTION_LABELS

ALL_PAIRS = {(emotion, level) for emotion in EMOTION_LABELS for level in (1, 2, 3)}


def has_espeak() -> bool:
    try:
        espeak_backend()
    except SpeechBackendError:
        return False
    return True


def of_split(specs, split):
    return [spec for spec in specs if spec.split == split]


def factors(specs):
    return (
        {" ".join(spec.text.split()).casefold() for spec in specs},
        {spec.voice for spec in specs},
        {(spec.emotion, spec.intensity) for spec in specs},
    )


# ------------------------------------------------------------------------------------------------------ plan
def test_builtin_sentences_are_many_distinct_and_short():
    everything = [" ".join(s.split()).casefold() for s in TRAIN_SENTENCES + HELDOUT_SENTENCES]
    assert len(everything) >= 120 and len(set(everything)) == len(everything)
    assert not {s.casefold() for s in TRAIN_SENTENCES} & {s.casefold() for s in HELDOUT_SENTENCES}
    assert len(HELDOUT_SENTENCES) >= 20
    for sentence in everything:
        assert 6 <= len(sentence.split()) <= 11 and sentence[-1] in ".?!", sentence


def test_builtin_sentences_are_the_lines_of_the_package_data_files_in_order():
    from importlib.resources import files

    folder = files("eadnet.data.synthetic") / "sentences"
    for name, sentences in (("train", TRAIN_SENTENCES), ("heldout", HELDOUT_SENTENCES)):
        assert isinstance(sentences, tuple) and sentences
        assert list(sentences) == (folder / f"{name}.txt").read_text(encoding="utf-8").splitlines()


def test_plan_covers_every_pair_in_training_with_varied_voices_and_looks():
    specs = plan_corpus(num_train=48, num_heldout=8, num_val=4, seed=1)
    train, val, test = (of_split(specs, split) for split in ("train", "val", "test"))
    assert (len(train), len(val), len(test)) == (48, 4, 8)
    assert specs == train + val + test
    # shuffled rounds: every 24 consecutive training clips show all 24 pairs
    assert {(s.emotion, s.intensity) for s in train[:24]} == ALL_PAIRS
    assert {(s.emotion, s.intensity) for s in train[24:]} == ALL_PAIRS
    assert {s.voice for s in train} == set(list_voices()) - set(DEFAULT_HELDOUT_VOICES)
    assert {s.voice for s in test} == set(DEFAULT_HELDOUT_VOICES)
    assert all(RATE_RANGE[0] <= s.rate <= RATE_RANGE[1] and PITCH_RANGE[0] <= s.pitch <= PITCH_RANGE[1] for s in specs)
    assert len({s.rate for s in specs}) > 10 and len({s.pitch for s in specs}) > 10
    assert all(s.augmentation is not None for s in specs)
    assert len({s.augmentation.flip for s in specs}) == 2 and len({s.augmentation.scale for s in specs}) == len(specs)
    assert len({s.seed for s in specs}) == len(specs)
    assert {s.speaker for s in train} == {"syn-" + v.replace("+", "-") for v in {s.voice for s in train}}
    assert all(s.heldout == () for s in train) and all(s.heldout == ("sentence",) for s in val)
    assert all(s.heldout == ("sentence", "voice") for s in test)


def test_heldout_sentences_voices_and_pairs_never_reach_training():
    held_pairs = {("happy", 3), ("sad", 1)}
    specs = plan_corpus(
        num_train=96,
        num_heldout=24,
        num_val=8,
        seed=2,
        heldout_voices=["en-029+m2"],
        heldout_emotions=[("happy", 3), "sad:1"],
    )
    train, val, test = (of_split(specs, split) for split in ("train", "val", "test"))
    train_texts, train_voices, train_pairs = factors(train)
    val_texts, val_voices, val_pairs = factors(val)
    test_texts, test_voices, test_pairs = factors(test)

    assert train_pairs == ALL_PAIRS - held_pairs and val_pairs <= train_pairs and val_voices <= train_voices
    assert "en-029+m2" not in train_voices | val_voices
    assert not test_texts & (train_texts | val_texts) and not val_texts & train_texts
    assert test_texts <= {s.casefold() for s in HELDOUT_SENTENCES}
    assert held_pairs <= test_pairs and "en-029+m2" in test_voices
    for spec in test:  # every test clip is new in its sentence and in its voice or its pair
        assert spec.heldout[0] == "sentence" and len(spec.heldout) >= 2
        assert ("voice" in spec.heldout) == (spec.voice == "en-029+m2")
        assert ("emotion_intensity" in spec.heldout) == ((spec.emotion, spec.intensity) in held_pairs)
    # half the test clips are a training voice showing a held-out pair
    assert sum(spec.voice != "en-029+m2" for spec in test) == 12


def test_plan_is_deterministic_and_each_split_stable_as_others_grow():
    assert plan_corpus(num_train=30, num_heldout=6, num_val=3, seed=5) == plan_corpus(30, 6, 3, seed=5)
    assert plan_corpus(num_train=30, seed=5) != plan_corpus(num_train=30, seed=6)
    small, large = plan_corpus(10, 3, 2, seed=5), plan_corpus(40, 9, 5, seed=5)
    for split in ("train", "val", "test"):
        assert of_split(large, split)[: len(of_split(small, split))] == of_split(small, split)
    assert plan_corpus(0, 4, 0, seed=5) == of_split(plan_corpus(20, 4, 0, seed=5), "test")


def test_validation_clips_default_to_six_percent_of_training():
    assert len(of_split(plan_corpus(num_train=400, num_heldout=0), "val")) == 24
    assert len(of_split(plan_corpus(num_train=6, num_heldout=0), "val")) == 1
    assert plan_corpus(num_train=0, num_heldout=2) == of_split(plan_corpus(num_train=0, num_heldout=2), "test")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_train": -1},
        {"heldout_voices": list_voices()},
        {"heldout_voices": ["xx-unknown"]},
        {"heldout_emotions": list(EMOTION_LABELS)},
        {"heldout_emotions": ["happy:4"]},
        {"heldout_emotions": ["joyful"]},
        {"heldout_sentences": [TRAIN_SENTENCES[0]]},
        {"train_sentences": ["Only one sentence here."], "num_val": 2},
    ],
)
def test_plan_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        plan_corpus(**{"num_train": 4, "num_heldout": 2, "num_val": 1, **kwargs})


def test_corpus_clip_spec_validates_its_split():
    assert CorpusClipSpec("Hello there.", split="test", heldout=["sentence"]).heldout == ("sentence",)
    with pytest.raises(ValueError, match="split"):
        CorpusClipSpec("Hello there.", split="dev")
    with pytest.raises(ValueError, match="training clip"):
        CorpusClipSpec("Hello there.", heldout=("voice",))
    with pytest.raises(ValueError, match="heldout tags"):
        CorpusClipSpec("Hello there.", split="test", heldout=("speaker",))


# ------------------------------------------------------------------------------------------------ describe
CLEAN = [  # (split, text, voice, emotion, intensity, heldout)
    ("train", "The cat sat on the mat.", "en-us", "happy", 1, []),
    ("train", "A dog ran in the park.", "en", "sad", 2, []),
    ("val", "The sun came up early.", "en-us", "sad", 2, ["sentence"]),
    ("test", "We sailed across the bay.", "en+f2", "happy", 1, ["sentence", "voice"]),
    ("test", "Bread rises in a warm room.", "en", "angry", 3, ["sentence", "emotion_intensity"]),
]


def fake_dataset(root, rows):
    """A manifest of corpus rows (no clip folders: `describe_corpus` reads the manifest only)."""
    write_dataset_info(root, DatasetInfo(crop_size=64))
    for number, (split, text, voice, emotion, intensity, heldout) in enumerate(rows):
        append_manifest(
            root,
            ClipRecord(
                id=f"clip-{number:03d}",
                num_frames=50,
                emotion=emotion,
                intensity=intensity,
                split=split,
                speaker="syn-" + voice,
                extra={"text": text, "voice": voice, "heldout": heldout},
            ),
        )
    return root


def test_describe_counts_a_clean_corpus(tmp_path):
    description = describe_corpus(fake_dataset(tmp_path, CLEAN))
    assert description["clips"] == 5 and description["seconds"] == pytest.approx(10.0)
    train, test = description["splits"]["train"], description["splits"]["test"]
    assert (train["clips"], train["sentences"], train["seconds"]) == (2, 2, 4.0)
    assert train["emotions"] == {"happy": 1, "sad": 1} and train["intensities"] == {1: 1, 2: 1}
    assert train["voices"] == {"en": 1, "en-us": 1} and train["emotion_intensity"] == {"happy-1": 1, "sad-2": 1}
    assert test["voices"] == {"en": 1, "en+f2": 1}
    assert description["heldout"] == {"sentences": 2, "voices": ["en+f2"], "emotion_intensity": ["angry-3"]}
    assert len(description["train_missing_emotion_intensity"]) == 22
    json.dumps(description)  # printable as JSON


@pytest.mark.parametrize(
    ("planted", "what"),
    [
        (("train", "We sailed across the bay.", "en-us", "happy", 1, []), "sentence"),
        (("val", "we sailed  across the bay.", "en-us", "happy", 1, ["sentence"]), "sentence"),
        (("train", "A new sentence for training.", "en+f2", "happy", 1, []), "voice"),
        (("train", "A new sentence for training.", "en-us", "angry", 3, []), "emotion_intensity"),
        (("train", "The sun came up early.", "en-us", "happy", 1, []), "sentence"),  # a val sentence
    ],
)
def test_describe_raises_on_a_planted_leak(tmp_path, planted, what):
    with pytest.raises(CorpusLeakError, match=f"its {what} "):
        describe_corpus(fake_dataset(tmp_path, [*CLEAN, planted]))


def test_describe_rejects_a_dataset_that_is_no_corpus(tmp_path):
    append_manifest(tmp_path, ClipRecord(id="clip", num_frames=10, emotion="happy", intensity=1))
    write_dataset_info(tmp_path, DatasetInfo())
    with pytest.raises(DatasetError, match="not a corpus"):
        describe_corpus(tmp_path)
    with pytest.raises(DatasetError, match="no clips"):
        describe_corpus(tmp_path / "empty")


# ------------------------------------------------------------------------------------------------- tiny build
@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    if not has_espeak():
        pytest.skip("no espeak-ng back end: pip install espeakng-loader, or apt install espeak-ng")
    pytest.importorskip("mediapipe", reason="needs mediapipe==0.10.14 (pip install mediapipe==0.10.14)")
    from eadnet.testing import tiny_audio_encoder

    out = tmp_path_factory.mktemp("corpus")
    specs = plan_corpus(num_train=2, num_heldout=1, num_val=1, seed=3)
    dataset = build_corpus(out, specs, crop_size=64, workers=1, audio_encoder=tiny_audio_encoder())
    return out, specs, dataset


def test_tiny_build_gives_a_dataset_with_its_splits_and_labels(tiny_corpus):
    out, specs, dataset = tiny_corpus
    assert dataset == out / "dataset"
    labels = [json.loads(line) for line in (out / "raw" / "labels.jsonl").read_text().splitlines()]
    assert [row["split"] for row in labels] == ["train", "train", "val", "test"]
    spec_of = {row["path"]: spec for row, spec in zip(labels, specs, strict=True)}
    records = read_manifest(dataset)
    assert sorted(r.split for r in records) == ["test", "train", "train", "val"]
    for record in records:
        spec = spec_of[record.source]
        assert (record.split, record.emotion, record.intensity) == (spec.split, spec.emotion, spec.intensity)
        assert record.extra["text"] == spec.text and record.extra["voice"] == spec.voice
        assert record.speaker == spec.speaker and record.extra["heldout"] == list(spec.heldout)
        assert 2.0 <= record.num_frames / 25 <= 4.0  # one clip per sentence
        frames = load_clip_frames(dataset, record)
        assert frames.shape == (record.num_frames, 64, 64, 3) and frames.std() > 20
        assert load_clip_features(dataset, record) is not None
    description = describe_corpus(dataset)
    assert {split: values["clips"] for split, values in description["splits"].items()} == {
        "train": 2,
        "val": 1,
        "test": 1,
    }
    assert description["heldout"]["voices"] == list(DEFAULT_HELDOUT_VOICES)


def test_tiny_build_resumes_without_redoing_anything_and_refuses_another_plan(tiny_corpus):
    out, specs, dataset = tiny_corpus
    videos = sorted((out / "raw").rglob("*.mp4"))
    stamps = [video.stat().st_mtime_ns for video in videos]
    manifest = (dataset / "manifest.jsonl").read_bytes()
    assert build_corpus(out, specs, crop_size=64, audio_encoder=None) == dataset  # nothing left to preprocess
    assert [video.stat().st_mtime_ns for video in sorted((out / "raw").rglob("*.mp4"))] == stamps
    assert (dataset / "manifest.jsonl").read_bytes() == manifest
    with pytest.raises(ValueError, match="not clips of this plan"):
        build_corpus(out, plan_corpus(num_train=2, num_heldout=1, num_val=1, seed=4), audio_encoder=None)
    with pytest.raises(DatasetError, match="another format or size"):
        build_corpus(out, specs, crop_size=96, audio_encoder=None)


def test_tiny_build_gives_every_clip_a_neutral_reference_of_its_own_look(tiny_corpus):
    from eadnet.data.format import REFERENCE_NPY, clip_dir, load_clip_reference
    from eadnet.data.synthetic.corpus import write_reference_frames
    from eadnet.data.unet_dataset import UNetClipDataset

    out, _, dataset = tiny_corpus
    records = read_manifest(dataset)
    references = {r.id: load_clip_reference(dataset, r) for r in records}
    for record in records:
        reference = references[record.id]
        assert reference.shape == (1, 64, 64, 3) and reference.dtype == np.uint8
        # the same augmented look as the clip's frames: colour statistics close to the clip's mean frame
        frames = load_clip_frames(dataset, record).astype(np.float64)
        assert np.abs(reference[0].astype(np.float64).mean((0, 1)) - frames.mean((0, 1, 2))).max() < 12
    # clips differ in framing and colour, so their references differ
    values = list(references.values())
    assert any(np.abs(a.astype(int) - b.astype(int)).mean() > 3 for a in values for b in values)
    record = records[0]
    # resumable: nothing left to write; a deleted one is written again, identical
    assert write_reference_frames(out) == 0
    path = clip_dir(dataset, record) / REFERENCE_NPY
    before = path.read_bytes()
    path.unlink()
    assert write_reference_frames(out) == 1 and path.read_bytes() == before
    # the dataset serves it as the reference window
    item = UNetClipDataset(dataset, num_frames=8, split=None, with_audio=False, reference="neutral")[0]
    expected = torch.from_numpy(references[item["clip_id"]][0]).permute(2, 0, 1).float() / 127.5 - 1
    assert item["ref_pixel_values"].shape[1] == 8
    assert torch.allclose(item["ref_pixel_values"][:, 3], expected, atol=1e-6)
