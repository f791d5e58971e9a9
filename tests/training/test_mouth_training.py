"""Audio-to-mouth training: the utterance plan and its held-out splits, espeak-ng utterances with pauses, the feature
cache, training windows, the loss, the recipe, and a few updates of a tiny model on a tiny Whisper encoder."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from eadnet.data.mouth_dataset import (
    MouthFeatureSet,
    MouthUtteranceSpec,
    MouthWindowDataset,
    build_mouth_features,
    plan_mouth_splits,
    synthesize_utterance,
)
from eadnet.data.synthetic.corpus import HELDOUT_SENTENCES
from eadnet.data.synthetic.speech import SpeechBackendError, espeak_backend
from eadnet.evaluation.mouth_params import evaluate_mouth_model
from eadnet.models.audio_to_mouth import AudioToMouthModel
from eadnet.testing import tiny_audio_encoder
from eadnet.training.mouth_trainer import MouthTrainConfig, mouth_loss, train_mouth

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "mouth_eadnet_mesh.yaml"
TINY_MODEL = {"num_states": 3, "feature_dim": 16, "hidden_dim": 8, "dilations": [1, 2], "dropout": 0.0}

pytestmark = pytest.mark.usefixtures("one_thread")


def _has_espeak() -> bool:
    try:
        espeak_backend()
    except SpeechBackendError:
        return False
    return True


needs_espeak = pytest.mark.skipif(
    not _has_espeak(), reason="no espeak-ng: pip install espeakng-loader, or apt install espeak-ng"
)


def _normalized(sentence):
    return " ".join(sentence.split()).casefold()


def test_plan_holds_out_voices_and_sentences():
    splits = plan_mouth_splits(num_train=60, num_val=6, num_test=12, seed=3)
    assert [len(splits[name]) for name in ("train", "val", "test")] == [60, 6, 12]
    heldout = {_normalized(s) for s in HELDOUT_SENTENCES}
    sentences = {name: {_normalized(s) for spec in specs for s in spec.sentences} for name, specs in splits.items()}
    voices = {name: {spec.voice for spec in specs} for name, specs in splits.items()}
    assert voices["test"] == {"en-gb-x-rp+f4"} and "en-gb-x-rp+f4" not in voices["train"] | voices["val"]
    assert sentences["test"] <= heldout and not (sentences["train"] | sentences["val"]) & heldout
    assert not sentences["train"] & sentences["val"]
    assert len(voices["train"]) == 7  # every other corpus voice, in rounds
    assert any(len(spec.sentences) > 1 for spec in splits["train"])
    assert splits == plan_mouth_splits(num_train=60, num_val=6, num_test=12, seed=3)  # deterministic
    with pytest.raises(ValueError, match="held-out voices"):
        plan_mouth_splits(heldout_voices=["no-such-voice"])


@needs_espeak
def test_utterance_joins_sentences_with_pauses():
    spec = MouthUtteranceSpec(
        sentences=("Maybe later.", "Bring the map."),
        voice="en-us",
        rate=170,
        pitch=50,
        silences_s=(0.3, 0.5, 0.2),
        noise_db=-50.0,
        gain_db=-6.0,
    )
    utterance = synthesize_utterance(spec)
    timeline = utterance.timeline
    assert timeline[0][0] == 0.0 and timeline[-1][1] == pytest.approx(utterance.duration, abs=1e-6)
    assert all(a[1] == pytest.approx(b[0]) for a, b in zip(timeline, timeline[1:], strict=False))
    pauses = [end - start for start, end, phoneme in timeline if phoneme == "_"]
    assert pauses[0] >= 0.3 - 1e-3 and max(pauses) >= 0.5 - 1e-3 and pauses[-1] >= 0.2 - 1e-3
    lead = utterance.waveform[: int(0.25 * utterance.sample_rate)]
    assert np.sqrt(np.mean(lead**2)) == pytest.approx(10 ** (-50 / 20), rel=0.1)  # the noise floor before speech


def _tiny_feature_set(lengths=(30, 130), seed=0):
    rng = np.random.default_rng(seed)
    timelines = []
    for length in lengths:
        seconds = length / 50
        timelines.append([(0.0, 0.2, "_"), (0.2, seconds / 2, "a"), (seconds / 2, seconds / 2 + 0.08, "m")])
        timelines[-1].append((seconds / 2 + 0.08, seconds, "o"))
    features = torch.from_numpy(rng.standard_normal((sum(lengths), 3, 16)).astype(np.float16))
    offsets = torch.cumsum(torch.tensor([0, *lengths]), 0)
    specs = [MouthUtteranceSpec(("x",), "en-us", 150, 50, (0.1, 0.1)) for _ in lengths]
    samples = [length * 320 for length in lengths]
    waveforms = torch.zeros(sum(samples), dtype=torch.int16)
    sample_offsets = torch.cumsum(torch.tensor([0, *samples]), 0)
    return MouthFeatureSet(features, offsets, specs, timelines, waveforms, sample_offsets)


def test_windows_pad_short_utterances_and_mask_cut_edges():
    dataset = MouthWindowDataset(_tiny_feature_set(), window_frames=50, margin=5, seed=1)
    assert len(dataset) == 1 + 3  # 30 frames: one window; 130 frames: three
    short = dataset[(0, 0)]
    assert short["features"].shape == (50, 3, 16) and short["targets"].shape == (50, 6)
    assert short["frame_mask"][:30].all() and not short["frame_mask"][30:].any()
    assert torch.equal(short["loss_mask"], short["frame_mask"].float())  # both edges are the utterance's own
    cuts = [dataset[(1, epoch)] for epoch in range(6)]
    assert all(item["frame_mask"].all() for item in cuts)
    interior = [item for item in cuts if item["loss_mask"][0] == 0 and item["loss_mask"][-1] == 0]
    assert interior and all(item["loss_mask"][5:45].all() for item in interior)
    assert torch.equal(dataset[(1, 2)]["features"], dataset[(1, 2)]["features"])  # seeded by (index, epoch)


def test_loss_weights_closures():
    targets = torch.zeros(1, 4, 6)
    targets[0, 1, 3] = 1.0  # a pressed frame
    predicted = targets.clone()
    mask = torch.ones(1, 4)
    weights = torch.ones(6)
    terms = mouth_loss(predicted, targets, mask, weights, l1=1.0, closure=2.0)
    assert float(terms["loss"]) == 0.0
    predicted[0, 1, 0] = 0.5  # the jaw open on the pressed frame
    terms = mouth_loss(predicted, targets, mask, weights, l1=1.0, closure=2.0)
    assert float(terms["l1"]) == pytest.approx(0.5 / 6 / 4)
    assert float(terms["closure"]) == pytest.approx(0.25)
    assert float(terms["loss"]) == pytest.approx(0.5 / 24 + 0.5)
    predicted[0, 2, 0] = 0.5  # an open jaw elsewhere adds only to the L1
    assert float(mouth_loss(predicted, targets, mask, weights)["closure"]) == pytest.approx(0.25)


def test_recipe_parses_and_rejects_unknown_keys(tmp_path):
    config = MouthTrainConfig.from_yaml(RECIPE)
    assert config.data.heldout_voices == ["en-gb-x-rp+f4"] and config.model["dilations"] == (1, 2, 4, 8)
    assert AudioToMouthModel(**config.model).config.num_states == 5
    overridden = MouthTrainConfig.from_yaml(RECIPE, ["train.max_steps=7", "loss.closure=0"])
    assert overridden.train.max_steps == 7 and overridden.loss.closure == 0
    with pytest.raises(ValueError, match="unknown"):
        MouthTrainConfig.from_dict({"data": {"num_trian": 3}})
    with pytest.raises(ValueError, match="AudioToMouthModel"):
        MouthTrainConfig.from_dict({"model": {"hidden": 3}})
    with pytest.raises(ValueError, match="channel_weights"):
        MouthTrainConfig.from_dict({"loss": {"channel_weights": [1.0]}})


@needs_espeak
def test_a_few_updates_on_a_tiny_model(tmp_path):
    config = MouthTrainConfig.from_dict(
        {
            "data": {
                "num_train": 3,
                "num_val": 1,
                "num_test": 1,
                "sentences_per_utterance": [1, 2],
                "window_frames": 60,
                "batch_size": 2,
            },
            "model": TINY_MODEL,
            "train": {"max_steps": 6, "output_dir": str(tmp_path / "run"), "log_every": 2, "validate_every": 3},
            "optimizer": {"lr": 1e-2},
            "evaluation": {"voice_activity": False},
        }
    )
    encoder = tiny_audio_encoder(d_model=16)
    summary = train_mouth(config, audio_encoder=encoder)
    losses = [row["loss"] for row in summary["history"]]
    assert summary["step"] == 6 and len(losses) == 6 and all(np.isfinite(losses))
    model = AudioToMouthModel.from_pretrained(summary["model_dir"])
    assert model.config.hidden_dim == 8
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert set(metrics["scores"]) == {"test", "val"} and "raw" in metrics["scores"]["test"]
    assert 0 <= metrics["scores"]["test"]["raw"]["bilabial_closed_rate"] <= 1
    # The features are cached: a second build of the same plan loads them instead of encoding again.
    cache = tmp_path / "run" / "features" / "test.safetensors"
    assert cache.is_file()

    def fail(*args, **kwargs):
        raise AssertionError("encoded again although the cache matches")

    encoder.encode_whisper_features = fail
    cached = build_mouth_features(config.data.plan()["test"], encoder, cache)
    assert len(cached) == 1 and cached.features.dtype == torch.float16
    duration = cached.timelines[0][-1][1]
    assert len(cached.utterance_waveform(0)) == pytest.approx(duration * 16000, abs=2)
    # The voice-activity gate of the scores reads the waveform kept with the features.
    calls = []

    def closed(waveform, sample_rate, num_frames, fps):
        calls.append((len(waveform), sample_rate))
        return np.zeros(num_frames)

    scores = evaluate_mouth_model(model, cached, 25.0, closed)
    assert scores["gated"] and calls == [(len(cached.utterance_waveform(0)), 16000)]
    assert scores["bilabial_frames"] == 0 or scores["bilabial_closed_rate"] == 1.0


@needs_espeak
def test_the_cli_trains_and_reports_bad_recipes(tmp_path, capsys):
    from eadnet.cli import main

    encoder_dir = tmp_path / "whisper"
    tiny_audio_encoder(d_model=16).save_pretrained(encoder_dir)
    overrides = [
        f"data.audio_encoder={encoder_dir}",
        "data.num_train=2",
        "data.num_val=0",
        "data.num_test=1",
        "data.sentences_per_utterance=[1]",
        "data.window_frames=60",
        "data.batch_size=2",
        "model.num_states=3",
        "model.feature_dim=16",
        "model.hidden_dim=8",
        "model.dilations=[1, 2]",
        "train.max_steps=2",
        "evaluation.voice_activity=false",
    ]
    arguments = ["train", "mouth", "--config", str(RECIPE), "--output-dir", str(tmp_path / "run")]
    assert main(arguments + [item for override in overrides for item in ("--set", override)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["step"] == 2 and Path(report["model_dir"]).is_dir() and "test" in report["scores"]
    assert main(["train", "mouth", "--config", str(RECIPE), "--set", "loss.channel_weights=[1]"]) == 2
