"""Frozen transformers text encoder producing guidance tokens for the denoiser's emotion cross-attention.

Any transformers text encoder with its tokenizer can be wrapped: CLIP text towers (as in Stable Diffusion), BERT-like
sentence encoders such as ``sentence-transformers/all-MiniLM-L6-v2``, or the encoder half of T5-like models. The
wrapper tokenizes emotion descriptions, runs the encoder and returns the last hidden states together with a boolean
attention mask.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from typing import Any

import torch
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForTextEncoding,
    AutoTokenizer,
    CLIPTextModel,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

logger = logging.getLogger(__name__)

#: File written next to the encoder weights holding the settings of this wrapper.
SETTINGS_NAME = "eadnet_text_encoder.json"

#: ``model_type`` values loaded as a `CLIPTextModel` (a full CLIP checkpoint keeps only its text tower).
CLIP_MODEL_TYPES = ("clip", "clip_text_model")

#: Upper bound of the default ``max_length`` (tokenizers without a limit report a huge ``model_max_length``).
MAX_DEFAULT_LENGTH = 512

# Keyword arguments of ``from_pretrained`` that also make sense for the config and tokenizer loaders.
_HUB_KWARGS = ("cache_dir", "force_download", "local_files_only", "token", "revision", "subfolder", "proxies")


def _is_positive_int(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and value >= 1


class EmotionTextEncoder(torch.nn.Module):
    r"""Frozen text encoder turning emotion descriptions into guidance tokens.

    CLIP text towers (``model_type`` ``clip_text_model``) pad every prompt to ``max_length`` (77 for CLIP) with
    truncation, exactly as Stable Diffusion does; like Stable Diffusion, the attention mask is only passed to CLIP when
    its config sets ``use_attention_mask``. Other encoders pad to the longest prompt of the batch, truncate at
    ``max_length`` and always receive the attention mask.

    Args:
        text_encoder (`PreTrainedModel`):
            A transformers text encoder whose output has a ``last_hidden_state`` (e.g. `CLIPTextModel`, `BertModel`,
            `T5EncoderModel`). A full `CLIPModel` is rejected: pass its text tower (`CLIPTextModel`) instead.
        tokenizer (`PreTrainedTokenizerBase`):
            The tokenizer matching ``text_encoder``. If it has no pad token, its EOS token is used for padding.
        max_length (`int`, *optional*):
            Maximum number of tokens per prompt. Defaults to the tokenizer's ``model_max_length`` capped at 512 and at
            the encoder's ``max_position_embeddings``.
        freeze (`bool`, *optional*, defaults to `True`):
            Disable gradients of the encoder and keep it in eval mode (also across ``train()`` calls).
    """

    def __init__(
        self,
        text_encoder: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        max_length: int | None = None,
        *,
        freeze: bool = True,
    ):
        super().__init__()
        if not isinstance(text_encoder, torch.nn.Module) or not hasattr(text_encoder, "config"):
            raise ValueError(
                f"`text_encoder` must be a transformers model with a `config`, got {type(text_encoder).__name__}."
            )
        if not callable(tokenizer):
            raise ValueError(f"`tokenizer` must be a callable transformers tokenizer, got {type(tokenizer).__name__}.")
        if max_length is not None and not _is_positive_int(max_length):
            raise ValueError(f"`max_length` must be a positive int or None, got {max_length!r}.")

        config = text_encoder.config
        if getattr(config, "model_type", None) == "clip":
            raise ValueError(
                "`text_encoder` is a full CLIPModel; pass its text tower instead (`CLIPTextModel`), or load the "
                "checkpoint with `EmotionTextEncoder.from_pretrained`, which keeps only the text tower."
            )
        if self._hidden_size_of(config) is None:
            raise ValueError(
                f"Cannot determine the hidden size of `text_encoder` ({type(text_encoder).__name__}): its config has "
                "neither `hidden_size` nor `d_model`."
            )

        if getattr(tokenizer, "pad_token", None) is None:
            eos = getattr(tokenizer, "eos_token", None)
            if eos is None:
                raise ValueError("`tokenizer` has neither a pad token nor an EOS token to pad with.")
            logger.info("Tokenizer has no pad token; padding with its EOS token %r.", eos)
            tokenizer.pad_token = eos

        self.text_encoder = text_encoder
        self.tokenizer = tokenizer
        self._max_length_arg = max_length
        self.max_length = max_length if max_length is not None else self._default_max_length(tokenizer, config)
        self.pad_to_max_length = getattr(config, "model_type", None) == "clip_text_model"
        self.frozen = freeze

        if freeze:
            self.requires_grad_(False)
            self.eval()

    # ------------------------------------------------------------------------------------------------ properties
    @staticmethod
    def _hidden_size_of(config: Any) -> int | None:
        if hasattr(config, "get_text_config"):
            config = config.get_text_config()
        return getattr(config, "hidden_size", None) or getattr(config, "d_model", None)

    @staticmethod
    def _default_max_length(tokenizer: PreTrainedTokenizerBase, config: Any) -> int:
        length = MAX_DEFAULT_LENGTH
        model_max_length = getattr(tokenizer, "model_max_length", None)
        if isinstance(model_max_length, int) and model_max_length > 0:
            length = min(length, model_max_length)
        max_positions = getattr(config, "max_position_embeddings", None)
        if isinstance(max_positions, int) and max_positions > 0:
            length = min(length, max_positions)
        return length

    @property
    def hidden_size(self) -> int:
        """Width ``D`` of the returned guidance tokens."""
        return self._hidden_size_of(self.text_encoder.config)

    @property
    def dtype(self) -> torch.dtype:
        """Parameter dtype of the text encoder."""
        return next(self.text_encoder.parameters()).dtype

    @property
    def device(self) -> torch.device:
        """Device of the text encoder."""
        return next(self.text_encoder.parameters()).device

    def train(self, mode: bool = True) -> EmotionTextEncoder:
        """Set train/eval mode; a frozen encoder stays in eval mode (dropout off) whatever ``mode`` is."""
        return super().train(mode and not self.frozen)

    # ------------------------------------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(
        cls,
        path_or_repo: str | os.PathLike,
        *,
        max_length: int | None = None,
        freeze: bool = True,
        **kwargs: Any,
    ) -> EmotionTextEncoder:
        """Load a text encoder and its tokenizer from a local directory or a Hub id.

        A config with ``model_type`` ``clip`` (a full CLIP checkpoint such as ``openai/clip-vit-large-patch14``) or
        ``clip_text_model`` is loaded as a `CLIPTextModel` (text tower only). Encoder-decoder checkpoints (e.g. T5) are
        loaded with `AutoModelForTextEncoding` (encoder only) when transformers maps them; anything else with
        `AutoModel`. The tokenizer is loaded with `AutoTokenizer`.

        Args:
            path_or_repo (`str` or `os.PathLike`):
                Local directory or Hugging Face Hub repository id.
            max_length (`int`, *optional*):
                Maximum tokens per prompt. Defaults to the value saved by `save_pretrained`, else the tokenizer's
                ``model_max_length`` capped at 512.
            freeze (`bool`, *optional*, defaults to `True`):
                Disable gradients and keep the encoder in eval mode.
            **kwargs:
                Forwarded to the transformers model loader (e.g. ``dtype``, ``revision``, ``cache_dir``,
                ``local_files_only``); the Hub-related ones are also forwarded to the config and tokenizer loaders.

        Returns:
            `EmotionTextEncoder`: the wrapped encoder (frozen and in eval mode by default).
        """
        hub_kwargs = {k: kwargs[k] for k in _HUB_KWARGS if k in kwargs}
        config = AutoConfig.from_pretrained(path_or_repo, **hub_kwargs)
        model_type = getattr(config, "model_type", None)
        if model_type in CLIP_MODEL_TYPES:
            text_encoder = CLIPTextModel.from_pretrained(path_or_repo, **kwargs)
        elif getattr(config, "is_encoder_decoder", False):
            try:
                text_encoder = AutoModelForTextEncoding.from_pretrained(path_or_repo, **kwargs)
            except ValueError:
                logger.info("No text-encoding class for model_type %r; falling back to AutoModel.", model_type)
                text_encoder = AutoModel.from_pretrained(path_or_repo, **kwargs)
        else:
            text_encoder = AutoModel.from_pretrained(path_or_repo, **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(path_or_repo, **hub_kwargs)

        if max_length is None:
            local_dir = os.path.join(os.fspath(path_or_repo), hub_kwargs.get("subfolder") or "")
            settings_file = os.path.join(local_dir, SETTINGS_NAME)
            if os.path.isfile(settings_file):
                with open(settings_file, encoding="utf-8") as f:
                    max_length = json.load(f).get("max_length")
        logger.info("Loaded %s text encoder from %s", type(text_encoder).__name__, path_or_repo)
        return cls(text_encoder, tokenizer, max_length=max_length, freeze=freeze)

    def save_pretrained(self, save_directory: str | os.PathLike, **kwargs: Any) -> None:
        """Write the encoder weights/config, the tokenizer and the wrapper settings.

        Args:
            save_directory (`str` or `os.PathLike`):
                Target directory (created if missing).
            **kwargs:
                Forwarded to the encoder's ``save_pretrained`` (e.g. ``safe_serialization``).
        """
        os.makedirs(save_directory, exist_ok=True)
        self.text_encoder.save_pretrained(save_directory, **kwargs)
        self.tokenizer.save_pretrained(save_directory)
        with open(os.path.join(save_directory, SETTINGS_NAME), "w", encoding="utf-8") as f:
            json.dump({"max_length": self._max_length_arg}, f, indent=2)
        logger.info("Saved EmotionTextEncoder to %s", save_directory)

    # ------------------------------------------------------------------------------------------------ encoding
    @staticmethod
    def _check_texts(texts: str | Sequence[str]) -> list[str]:
        if isinstance(texts, str):
            texts = [texts]
        elif not isinstance(texts, (list, tuple)):
            raise ValueError(f"`texts` must be a string or a list of strings, got {type(texts).__name__}.")
        if len(texts) == 0:
            raise ValueError("`texts` must not be an empty list.")
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(f"`texts` must contain only strings, but item {i} is {type(text).__name__}.")
            if not text.strip():
                raise ValueError(
                    f"`texts` item {i} is empty or blank; use `encode_unconditional` for the empty prompt."
                )
        return list(texts)

    def _encode(self, texts: list[str], padding: str | None = None, max_length: int | None = None) -> tuple:
        if padding is None:
            padding = "max_length" if self.pad_to_max_length else "longest"
        max_length = max_length if max_length is not None else self.max_length
        encoded = self.tokenizer(texts, padding=padding, truncation=True, max_length=max_length, return_tensors="pt")
        device = self.device
        input_ids = encoded["input_ids"].to(device)
        attention_mask = encoded.get("attention_mask")
        attention_mask = (
            torch.ones_like(input_ids, dtype=torch.bool)
            if attention_mask is None
            else attention_mask.to(device).bool()
        )

        model_inputs: dict[str, torch.Tensor] = {"input_ids": input_ids}
        if not self.pad_to_max_length or getattr(self.text_encoder.config, "use_attention_mask", False):
            model_inputs["attention_mask"] = attention_mask.long()

        needs_grad = torch.is_grad_enabled() and any(p.requires_grad for p in self.text_encoder.parameters())
        with torch.set_grad_enabled(needs_grad):
            outputs = self.text_encoder(**model_inputs, return_dict=True)
        hidden_states = outputs.last_hidden_state
        return hidden_states, attention_mask

    def forward(self, texts: str | Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode emotion descriptions into guidance tokens.

        Args:
            texts (`str` or `list[str]`):
                One description or a batch of descriptions; each must contain non-whitespace text.

        Returns:
            `tuple[torch.Tensor, torch.Tensor]`: the last hidden states of shape ``(B, L, D)`` and the boolean
            attention mask of shape ``(B, L)`` (`True` on real tokens, `False` on padding). ``L`` is ``max_length``
            (77) for CLIP and the longest tokenized prompt of the batch otherwise.
        """
        return self._encode(self._check_texts(texts))

    def encode_unconditional(
        self, batch_size: int = 1, length: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokens of the empty prompt ``""``, the null condition of text classifier-free guidance.

        Args:
            batch_size (`int`, *optional*, defaults to 1):
                Number of (identical) rows.
            length (`int`, *optional*):
                Pad (with a masked-out tail) or truncate the sequence to this many tokens, e.g. to concatenate it with
                conditional tokens. CLIP always uses ``max_length`` (77) unless ``length`` is given.

        Returns:
            `tuple[torch.Tensor, torch.Tensor]`: hidden states ``(batch_size, L, D)`` and boolean mask
            ``(batch_size, L)``.
        """
        if not _is_positive_int(batch_size):
            raise ValueError(f"`batch_size` must be a positive int, got {batch_size!r}.")
        if length is not None and not _is_positive_int(length):
            raise ValueError(f"`length` must be a positive int or None, got {length!r}.")
        if length is None:
            hidden_states, attention_mask = self._encode([""])
        else:
            hidden_states, attention_mask = self._encode([""], padding="max_length", max_length=length)
        # Encode once and repeat: every row is exactly the same null condition.
        return hidden_states.repeat(batch_size, 1, 1), attention_mask.repeat(batch_size, 1)
