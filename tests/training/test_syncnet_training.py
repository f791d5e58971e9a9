"""SyncNet training: recipes, the loop, checkpoints and resume, and a tiny SyncNet that learns lip sync on held-out
synthetic talking clips."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from eadnet.data import ClipRecord, DatasetInfo, write_clip, write_dataset_info
from eadnet.models.syncnet import SyncNet
from eadnet.training.syncnet_trainer import SyncNetTrainConfig, SyncNetTrainer, train_syncnet

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
CROP = 32
SAMPLE_RATE, FPS = 16000, 25
HOP = SAMPLE_RATE // FPS

# Training and held-out clips never share a sentence (nor, for the stand-in, a random audio seed).
TRAIN_SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "She sells sea shells by the sea shore.",
    "A big black bug bit a big black bear.",
    "Peter Piper picked a peck of pickled peppers.",
    "How much wood would a woodchuck chuck?",
    "The rain in Spain stays mainly in the plain.",
    "I scream, you scream, we all scream for ice cream.",
    "Red lorry, yellow lorry, red lorry, yellow lorry.",
    "Around the rugged rocks the ragged rascal ran.",
    "Betty bought a bit of better butter.",
    "Six slippery snails slid slowly seaward.",
    "We will meet at the old mill at noon today.",
    "Open the window and let the fresh air in.",
    "My mother made marmalade on Monday morning.",
    "Bob walked to the market to buy some bread.",
    "The cat sat on the mat and ate a fat rat.",
    "Please pass the salt and the pepper to me.",
    "Many mumbling mice are making midnight music.",
    "Today is a wonderful day for a long walk.",
    "Whether the weather is warm or cold, we go.",
    "Eleven benevolent elephants ate apples.",
    "Fuzzy Wuzzy was a bear with no hair.",
    "I saw Susie sitting in a shoe shine shop.",
    "Good blood, bad blood, good blood, bad blood.",
]
VAL_SENTENCES = [
    "A proper copper coffee pot is on the table.",
    "Unique New York, you know you need unique New York.",
    "The big bad wolf blew the house down.",
    "Mama made me mash my peas and carrots.",
    "Can you can a can as a canner can can a can?",
    "Fresh French fried fly fritters for breakfast.",
    "Lesser leather never weathered wetter weather better.",
    "Bake big batches of brown blueberry bread.",
]


# Small convolutions: one intra-op thread (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_thread")


# ------------------------------------------------------------------------------------------------- test data
def _face_box(frames: np.ndarray, box: tuple[slice, slice]) -> np.ndarray:
    import cv2

    return np.stack([cv2.resize(f[box], (CROP, CROP), interpolation=cv2.INTER_AREA) for f in frames])


def synthetic_clips():
    """(split, frames, audio) of espeak-ng sentences spoken by the example portrait, warped by its face mesh
    (`eadnet.data.synthetic`), the mouth opening with the loudness of the speech; `None` when that module,
    espeak-ng or MediaPipe is unavailable."""
    try:
        from eadnet.assets import example_portrait_path
        from eadnet.data.synthetic import SyntheticTalker, make_synthetic_clip
        from eadnet.data.synthetic.speech import synthesize_speech
        from eadnet.io import load_image

        # A 256 px cut-out around the face keeps the warp cheap.
        talker = SyntheticTalker(load_image(example_portrait_path())[10:266, 97:353])
        synthesize_speech("Hi.", sample_rate=SAMPLE_RATE)
    except Exception:  # noqa: BLE001 - any missing piece means "use the stand-in"
        return None

    def clips():
        sentences = [("train", s) for s in TRAIN_SENTENCES] + [("val", s) for s in VAL_SENTENCES]
        for index, (split, sentence) in enumerate(sentences):
            rng = np.random.default_rng(index)
            speech = synthesize_speech(
                sentence, rate=int(rng.integers(150, 190)), pitch=int(rng.integers(30, 70)), sample_rate=SAMPLE_RATE
            )
            # Audio without a phoneme timeline: the mouth follows the loudness (a tighter audio-visual link than
            # the phoneme curve, which a tiny SyncNet learns in a few hundred steps).
            clip = make_synthetic_clip(talker, speech=(speech.waveform, SAMPLE_RATE), text=sentence, seed=index)
            # The face box of the cut-out (about the detector's box): the lower half holds nose tip, mouth, chin.
            yield split, _face_box(clip.frames, (slice(56, 152), slice(80, 176))), clip.audio

    return clips()


def _babble(seed: int, seconds: float) -> np.ndarray:
    """Speech-like audio: voiced syllables of random length, pitch and vowel colour, separated by pauses."""
    rng = np.random.default_rng(seed)
    audio = np.zeros(int(seconds * SAMPLE_RATE), np.float32)
    t = rng.uniform(0.0, 0.2)
    while t < seconds:
        length = rng.uniform(0.08, 0.3)
        a, b = int(t * SAMPLE_RATE), min(int((t + length) * SAMPLE_RATE), audio.size)
        if b - a > 16:
            time = np.arange(b - a) / SAMPLE_RATE
            f0 = rng.uniform(90, 220) * (1 + rng.uniform(-0.15, 0.15) * time / length)
            phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
            formant = rng.uniform(400, 1200)
            voice = sum(
                np.sin(k * phase) / k * np.exp(-(((k * f0.mean() - formant) / 600) ** 2)) for k in range(1, 25)
            )
            envelope = np.sin(np.pi * time / length) ** 0.7 * rng.uniform(0.3, 1.0)
            audio[a:b] += 0.5 * voice / (np.abs(voice).max() + 1e-6) * envelope
        t += length + (rng.uniform(0.3, 0.6) if rng.random() < 0.15 else rng.uniform(0.03, 0.2))
    return audio + rng.normal(0, 1e-3, audio.size).astype(np.float32)


def standin_clips(seconds: float = 3.0):
    """(split, frames, audio): the example portrait's face with a dark mouth ellipse whose height follows the
    loudness of babble audio, for when `eadnet.data.synthetic` cannot run."""
    import cv2

    from eadnet.assets import example_portrait_path
    from eadnet.io import load_image

    face = cv2.resize(load_image(example_portrait_path())[50:170, 165:285], (128, 128), interpolation=cv2.INTER_AREA)
    num_frames = int(seconds * FPS)
    for index in range(len(TRAIN_SENTENCES) + len(VAL_SENTENCES)):
        split = "train" if index < len(TRAIN_SENTENCES) else "val"
        audio = _babble(1000 + index, seconds)
        loudness = np.sqrt((audio[: num_frames * HOP].reshape(num_frames, HOP) ** 2).mean(axis=1))
        rng = np.random.default_rng(index)
        frames = []
        for opening in np.clip(loudness / 0.2, 0, 1):
            image = face.copy()
            centre = (64 + int(rng.integers(-2, 3)), 98 + int(rng.integers(-2, 3)))
            cv2.ellipse(image, centre, (16, int(round(1 + 12 * opening))), 0, 0, 360, (70, 20, 30), -1, cv2.LINE_AA)
            frames.append(cv2.resize(image, (CROP, CROP), interpolation=cv2.INTER_AREA))
        yield split, np.stack(frames), audio


@pytest.fixture(scope="module")
def talking_dataset(tmp_path_factory):
    """24 training and 8 held-out talking clips of 32 px face crops (raw ``frames.npy`` for fast reads)."""
    root = tmp_path_factory.mktemp("syncnet-clips")
    write_dataset_info(root, DatasetInfo(crop_size=CROP))
    clips = synthetic_clips()
    source = "synthetic" if clips is not None else "stand-in"
    for index, (split, frames, audio) in enumerate(clips if clips is not None else standin_clips()):
        audio = np.pad(audio, (0, max(0, len(frames) * HOP - len(audio))))[: len(frames) * HOP]
        write_clip(
            root, ClipRecord(f"{split}{index:02d}", 0, split=split, source=source), frames, audio, frames_format="npy"
        )
    return root


def tiny_config(data_root, output_dir, **overrides) -> SyncNetTrainConfig:
    config = SyncNetTrainConfig.from_yaml(RECIPES / "syncnet_tiny_cpu.yaml")
    config.data_root, config.output_dir = str(data_root), str(output_dir)
    for name, value in overrides.items():
        setattr(config, name, value)
    return config


# ------------------------------------------------------------------------------------------------------ tests
def test_recipes_build_their_models():
    tiny = SyncNetTrainConfig.from_yaml(RECIPES / "syncnet_tiny_cpu.yaml")
    assert SyncNet(**tiny.model).config.image_size == CROP
    full = SyncNetTrainConfig.from_yaml(RECIPES / "syncnet_256.yaml", overrides=["data_root=/data/x", "seed=3"])
    assert (full.data_root, full.seed) == ("/data/x", 3)
    with torch.device("meta"):
        model = SyncNet(**full.model)
    assert model.visual_input_shape == (48, 128, 256) and model.embedding_dim == 2048
    mini = SyncNetTrainConfig.from_yaml(RECIPES / "syncnet_eadnet_mini.yaml", overrides=["data_root=/data/c"])
    model = SyncNet(**mini.model)
    assert model.visual_input_shape == (48, 16, 32)  # the lower half of 16 frames of 32 px crops
    out = model(torch.randn(2, *model.visual_input_shape), torch.randn(2, *model.audio_input_shape))
    assert out.vision_embeds.shape == out.audio_embeds.shape == (2, model.embedding_dim)


def test_config_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown SyncNet training keys"):
        SyncNetTrainConfig.from_dict({"data_root": "x", "learning_rte": 1.0})
    with pytest.raises(ValueError, match="needs data_root"):
        SyncNetTrainConfig.from_dict({})
    with pytest.raises(ValueError, match="key=value"):
        SyncNetTrainConfig.from_yaml(RECIPES / "syncnet_tiny_cpu.yaml", overrides=["seed"])


def test_loss_decreases_on_a_fixed_batch(talking_dataset, tmp_path):
    """The loop's pieces (model, loss, optimizer) fit one batch: a quick check that gradients flow."""
    trainer = SyncNetTrainer(tiny_config(talking_dataset, tmp_path, learning_rate=1e-3, val_split=None))
    batch = next(iter(trainer._loader(0, 1)))
    losses = []
    for _ in range(30):
        loss, _ = trainer.compute_loss(batch)
        trainer.accelerator.backward(loss)
        trainer.optimizer.step()
        trainer.optimizer.zero_grad()
        losses.append(float(loss.detach()))
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5]), losses


def test_resume_reproduces_an_uninterrupted_run(talking_dataset, tmp_path):
    common = {"max_steps": 4, "batch_size": 4, "log_every": 1, "validate_every": 0, "val_split": None}
    straight = train_syncnet(tiny_config(talking_dataset, tmp_path / "straight", checkpoint_every=0, **common))
    assert straight["step"] == 4

    interrupted = tiny_config(talking_dataset, tmp_path / "resumed", checkpoint_every=2, **common)
    interrupted.max_steps = 2
    train_syncnet(interrupted)
    interrupted.max_steps, interrupted.resume = 4, True
    resumed = train_syncnet(interrupted)
    assert resumed["step"] == 4

    weights = "diffusion_pytorch_model.safetensors"
    expected = load_file(tmp_path / "straight" / "syncnet" / weights)
    actual = load_file(tmp_path / "resumed" / "syncnet" / weights)
    for key, value in expected.items():
        torch.testing.assert_close(actual[key], value, msg=key)
    assert SyncNet.from_pretrained(tmp_path / "resumed" / "syncnet").config.image_size == CROP
    checkpoints = sorted(p.name for p in (tmp_path / "resumed" / "checkpoints").iterdir())
    assert checkpoints == ["step-00000002", "step-00000004"]
    rows = [json.loads(line) for line in (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [1, 2, 3, 4]
    assert json.loads((tmp_path / "resumed" / "config.json").read_text())["max_steps"] == 2


# ~85 s on 2 cores: the acceptance test, so it runs by default (the whole suite stays well under 15 min).
def test_tiny_syncnet_learns_lip_sync_on_held_out_clips(talking_dataset, tmp_path):
    config = tiny_config(talking_dataset, tmp_path)
    metrics = train_syncnet(config)
    assert metrics["step"] == config.max_steps
    # Held-out sentences, half in sync, half with the audio shifted by >= 5 frames; chance is 50 %.
    assert metrics["val_accuracy"] >= 0.7, metrics
    assert metrics["val_sim_in_sync"] > metrics["val_sim_shifted"] + 0.1, metrics
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert any("val_accuracy" in row for row in rows) and any("loss" in row for row in rows)
