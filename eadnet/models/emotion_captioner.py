"""Emotion descriptions for the text-guided emotion branch.

An emotion reaches the denoiser as one English description of the speaker's facial action. `EmotionCaptioner` builds
that description from one of three sources:

* a MEAD emotion label with an intensity level (1 slight, 2 medium, 3 strong), described by the action units of its
  EMFACS prototype (one table with the expression engine: :mod:`eadnet.expression.emotions`);
* free text written by the user, normalised and validated;
* reference image(s) or video frames, described by a transformers vision-language model (image-text-to-text), by
  default ``HuggingFaceTB/SmolVLM2-2.2B-Instruct`` (Apache-2.0), loaded only on request.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from eadnet.emotion import (
    DEFAULT_MAX_TEXT_CHARS,
    EMOTION_LABELS,
    INTENSITY_NAMES,
    EmotionSpec,
    check_intensity,
    normalize_label,
    normalize_text,
)
from eadnet.expression.emotions import describe_emotion

logger = logging.getLogger(__name__)

#: Default vision-language model for reference captioning (Apache-2.0).
DEFAULT_VLM_ID = "HuggingFaceTB/SmolVLM2-2.2B-Instruct"

#: Instruction given to the vision-language model after the reference frames.
DEFAULT_PROMPT = (
    "These frames show a person speaking. Describe the speaker's facial emotion in one or two sentences. "
    "Describe only the facial action: eyebrows, eyes, cheeks, nose, lip corners, mouth and jaw, and how intense the "
    "expression is. Do not mention identity, age, gender, hair, clothing, accessories or the background."
)


def describe_label(label: str, intensity: int = 2) -> str:
    """Description of the facial action of a MEAD emotion at a given intensity, written from the action units the
    expression engine applies for it (:func:`eadnet.expression.emotions.describe_emotion`), so that what the text says
    and what the warp shows agree.

    Args:
        label (`str`):
            A MEAD label (``angry, contempt, disgusted, fear, happy, neutral, sad, surprised``) or an alias, any case.
        intensity (`int`, *optional*, defaults to 2):
            1 (slight), 2 (medium) or 3 (strong). For ``neutral`` it only varies the wording.

    Returns:
        `str`: the description, e.g. ``"a strongly happy speaker: the lip corners are pulled up ..."``.
    """
    return describe_emotion(normalize_label(label), check_intensity(intensity))


# ---------------------------------------------------------------------------------------------------- frames
def _array_to_frames(array: np.ndarray) -> np.ndarray:
    """Validate an ``(H, W, 3)`` / ``(F, H, W, 3)`` array and return ``(F, H, W, 3)`` uint8."""
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4:
        raise ValueError(
            f"`frames` must have shape (H, W, 3) or (F, H, W, 3) (channels last), got an array of shape {array.shape}."
        )
    if array.shape[-1] != 3:
        raise ValueError(f"`frames` must have 3 (RGB) channels in the last axis, got shape {array.shape}.")
    if 0 in array.shape:
        raise ValueError(f"`frames` must not be empty, got shape {array.shape}.")
    if array.dtype == np.uint8:
        return array
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ValueError("`frames` contains NaN or infinite values.")
        if array.min() < -1e-3 or array.max() > 1 + 1e-3:
            raise ValueError(
                f"float `frames` must lie in [0, 1], got values in [{array.min():.3g}, {array.max():.3g}]; "
                "pass uint8 for 0..255 data."
            )
        return np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)
    raise ValueError(f"`frames` must be uint8 or float in [0, 1], got dtype {array.dtype}.")


def _to_pil_list(frames: Any) -> list[Image.Image]:
    if isinstance(frames, Image.Image):
        return [frames.convert("RGB")]
    if isinstance(frames, torch.Tensor):
        tensor = frames.detach().cpu()
        frames = tensor.numpy() if tensor.dtype == torch.uint8 else tensor.float().numpy()
    if isinstance(frames, np.ndarray):
        return [Image.fromarray(frame) for frame in _array_to_frames(frames)]
    if isinstance(frames, (list, tuple)):
        if len(frames) == 0:
            raise ValueError("`frames` must not be an empty list.")
        images = []
        for i, frame in enumerate(frames):
            if isinstance(frame, Image.Image):
                images.append(frame.convert("RGB"))
            elif isinstance(frame, (np.ndarray, torch.Tensor)) and frame.ndim == 3:
                images.extend(_to_pil_list(frame))
            else:
                raise ValueError(
                    f"`frames` item {i} must be a PIL image or an (H, W, 3) array, got {type(frame).__name__}"
                    f"{' of shape ' + str(tuple(frame.shape)) if hasattr(frame, 'shape') else ''}."
                )
        return images
    raise ValueError(
        "`frames` must be a PIL image, a list of PIL images, a numpy array (H, W, 3) / (F, H, W, 3) or a torch tensor "
        f"(F, H, W, 3), got {type(frames).__name__}."
    )


def sample_frame_indices(num_available: int, num_frames: int) -> list[int]:
    """Indices of up to ``num_frames`` evenly spaced frames (first and last included) out of ``num_available``."""
    if num_available <= num_frames:
        return list(range(num_available))
    if num_frames == 1:
        return [(num_available - 1) // 2]
    return sorted({int(round(x)) for x in np.linspace(0, num_available - 1, num_frames)})


# ---------------------------------------------------------------------------------------------------- captioner
class EmotionCaptioner:
    r"""Turns an emotion (MEAD label + intensity, free text, or reference frames) into one description string.

    Args:
        vlm_model (`PreTrainedModel`, *optional*):
            A transformers image-text-to-text model (e.g. `SmolVLMForConditionalGeneration`,
            `Idefics3ForConditionalGeneration`, `LlavaForConditionalGeneration`). Needed only for references.
        vlm_processor (`ProcessorMixin`, *optional*):
            The processor matching ``vlm_model``, with a chat template.
        prompt (`str`, *optional*, defaults to `DEFAULT_PROMPT`):
            Instruction placed after the reference frames.
        max_new_tokens (`int`, *optional*, defaults to 60):
            Maximum number of generated tokens.
        num_frames (`int`, *optional*, defaults to 4):
            Maximum number of evenly spaced frames shown to the model.
        max_text_chars (`int`, *optional*, defaults to 500):
            Maximum length of free-text descriptions.
        generation_kwargs (`dict`, *optional*):
            Extra keyword arguments for ``generate`` (decoding is greedy; ``do_sample`` is forced to `False`).
    """

    def __init__(
        self,
        vlm_model: Any | None = None,
        vlm_processor: Any | None = None,
        prompt: str = DEFAULT_PROMPT,
        max_new_tokens: int = 60,
        num_frames: int = 4,
        *,
        max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
        generation_kwargs: dict[str, Any] | None = None,
    ):
        if (vlm_model is None) != (vlm_processor is None):
            raise ValueError("`vlm_model` and `vlm_processor` must be given together (or both left as None).")
        if vlm_processor is not None and getattr(vlm_processor, "chat_template", None) is None:
            raise ValueError("`vlm_processor` has no chat template; use the processor of an instruction-tuned VLM.")
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError("`prompt` must be a non-empty string.")
        for name, value in (
            ("max_new_tokens", max_new_tokens),
            ("num_frames", num_frames),
            ("max_text_chars", max_text_chars),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive int, got {value!r}.")
        self.vlm_model = vlm_model
        self.vlm_processor = vlm_processor
        self.prompt = prompt.strip()
        self.max_new_tokens = max_new_tokens
        self.num_frames = num_frames
        self.max_text_chars = max_text_chars
        self.generation_kwargs = dict(generation_kwargs or {})
        if vlm_model is not None:
            vlm_model.eval()

    @classmethod
    def from_pretrained(
        cls,
        model_id_or_path: str | os.PathLike = DEFAULT_VLM_ID,
        *,
        device: str | torch.device | None = None,
        processor_kwargs: dict[str, Any] | None = None,
        prompt: str = DEFAULT_PROMPT,
        max_new_tokens: int = 60,
        num_frames: int = 4,
        max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
        generation_kwargs: dict[str, Any] | None = None,
        **model_kwargs: Any,
    ) -> EmotionCaptioner:
        """Load a vision-language model and its processor for reference captioning.

        Uses `AutoProcessor` and `AutoModelForImageTextToText`. The default, ``HuggingFaceTB/SmolVLM2-2.2B-Instruct``,
        is downloaded on first use (about 4.5 GB in bfloat16) and its processor needs the ``num2words`` package.

        Args:
            model_id_or_path (`str` or `os.PathLike`, *optional*, defaults to `DEFAULT_VLM_ID`):
                Hub id or local directory of an image-text-to-text model.
            device (`str` or `torch.device`, *optional*):
                Device to move the model to (ignored when ``device_map`` is passed).
            processor_kwargs (`dict`, *optional*):
                Keyword arguments for `AutoProcessor.from_pretrained`.
            prompt, max_new_tokens, num_frames, max_text_chars, generation_kwargs:
                See `EmotionCaptioner`.
            **model_kwargs:
                Forwarded to `AutoModelForImageTextToText.from_pretrained` (e.g. ``dtype``, ``revision``,
                ``device_map``).

        Returns:
            `EmotionCaptioner`: a captioner able to describe references, labels and free text.
        """
        # lazy: only reference captioning needs the VLM classes; labels and free text need no transformers
        from transformers import AutoModelForImageTextToText, AutoProcessor

        processor_kwargs = dict(processor_kwargs or {})
        for key in ("cache_dir", "revision", "token", "local_files_only", "subfolder"):
            if key in model_kwargs and key not in processor_kwargs:
                processor_kwargs[key] = model_kwargs[key]
        processor = AutoProcessor.from_pretrained(model_id_or_path, **processor_kwargs)
        model = AutoModelForImageTextToText.from_pretrained(model_id_or_path, **model_kwargs)
        if device is not None and "device_map" not in model_kwargs:
            model = model.to(device)
        logger.info("Loaded %s for emotion captioning from %s", type(model).__name__, model_id_or_path)
        return cls(
            model,
            processor,
            prompt=prompt,
            max_new_tokens=max_new_tokens,
            num_frames=num_frames,
            max_text_chars=max_text_chars,
            generation_kwargs=generation_kwargs,
        )

    # ------------------------------------------------------------------------------------------------ sources
    @staticmethod
    def describe_label(label: str, intensity: int = 2) -> str:
        """See `describe_label`."""
        return describe_label(label, intensity)

    def normalize_text(self, text: str) -> str:
        """See `normalize_text`; the limit is ``max_text_chars``."""
        return normalize_text(text, self.max_text_chars)

    @property
    def has_vlm(self) -> bool:
        """Whether a vision-language model is configured for reference captioning."""
        return self.vlm_model is not None

    def sample_frames(self, frames: Any) -> list[Image.Image]:
        """Convert ``frames`` to RGB PIL images and keep up to ``num_frames`` evenly spaced ones.

        Args:
            frames:
                A PIL image, a list of PIL images (or ``(H, W, 3)`` arrays), a numpy array ``(H, W, 3)`` or
                ``(F, H, W, 3)`` (uint8, or float in [0, 1]), or a torch tensor ``(F, H, W, 3)`` in [0, 1] (ComfyUI
                ``IMAGE`` layout).

        Returns:
            `list[PIL.Image.Image]`: the sampled frames in temporal order.
        """
        images = _to_pil_list(frames)
        return [images[i] for i in sample_frame_indices(len(images), self.num_frames)]

    def build_messages(self, num_images: int) -> list[dict[str, Any]]:
        """Chat messages with one ``{"type": "image"}`` entry per frame followed by the prompt."""
        content: list[dict[str, Any]] = [{"type": "image"} for _ in range(num_images)]
        content.append({"type": "text", "text": self.prompt})
        return [{"role": "user", "content": content}]

    def build_prompt(self, num_images: int) -> str:
        """Chat-formatted prompt text (with the generation prompt) for ``num_images`` frames."""
        self._require_vlm()
        return self.vlm_processor.apply_chat_template(self.build_messages(num_images), add_generation_prompt=True)

    def prepare_inputs(self, frames: Any) -> Any:
        """Processor outputs (token ids, pixel values, ...) for ``frames``, on the model's device and dtype."""
        self._require_vlm()
        images = self.sample_frames(frames)
        text = self.build_prompt(len(images))
        inputs = self.vlm_processor(text=[text], images=images, return_tensors="pt")
        device = getattr(self.vlm_model, "device", None)
        dtype = getattr(self.vlm_model, "dtype", None)
        for key, value in list(inputs.items()):
            if isinstance(value, torch.Tensor):
                inputs[key] = value.to(device=device, dtype=dtype) if value.is_floating_point() else value.to(device)
        return inputs

    def _require_vlm(self) -> None:
        if self.vlm_model is None:
            raise RuntimeError(
                "Describing a `reference` needs a vision-language model, but none is configured. Load one with "
                f"`EmotionCaptioner.from_pretrained({DEFAULT_VLM_ID!r})` (or any image-text-to-text model), or pass "
                "`vlm_model=` and `vlm_processor=`; alternatively describe the emotion with `label` or `text`."
            )

    @torch.no_grad()
    def caption_reference(self, frames: Any) -> str:
        """Describe the facial emotion shown in reference image(s) or video frames with the vision-language model.

        Args:
            frames:
                See `sample_frames`.

        Returns:
            `str`: the generated description (whitespace-collapsed).
        """
        self._require_vlm()
        inputs = self.prepare_inputs(frames)
        generation_kwargs = {**self.generation_kwargs, "max_new_tokens": self.max_new_tokens, "do_sample": False}
        output_ids = self.vlm_model.generate(**inputs, **generation_kwargs)
        prompt_ids = inputs["input_ids"]
        prompt_len = prompt_ids.shape[1]
        # Decoder-only models return prompt + continuation; some encoder-decoder VLMs return only new tokens.
        if output_ids.shape[1] >= prompt_len and torch.equal(output_ids[:, :prompt_len], prompt_ids.to(output_ids)):
            output_ids = output_ids[:, prompt_len:]
        decode = getattr(self.vlm_processor, "batch_decode", None) or self.vlm_processor.tokenizer.batch_decode
        description = " ".join(decode(output_ids, skip_special_tokens=True)[0].split())
        if not description:
            raise RuntimeError(
                f"The vision-language model ({type(self.vlm_model).__name__}) produced an empty description of the "
                "reference; try other frames, a larger `max_new_tokens`, or describe the emotion with `label`/`text`."
            )
        logger.debug("Reference description: %s", description)
        return description

    # ------------------------------------------------------------------------------------------------ entry point
    def caption(self, emotion: EmotionSpec) -> str:
        """Description of ``emotion`` from whichever single source it sets.

        Args:
            emotion (`EmotionSpec`):
                Exactly one of ``label`` (with ``intensity``), ``text`` or ``reference`` must be set.

        Returns:
            `str`: the emotion description.
        """
        if not isinstance(emotion, EmotionSpec):
            raise ValueError(f"`emotion` must be an EmotionSpec, got {type(emotion).__name__}.")
        sources = [name for name in ("label", "text", "reference") if getattr(emotion, name) is not None]
        if len(sources) != 1:
            raise ValueError(f"`emotion` must set exactly one of label, text or reference; got {sources or 'none'}.")
        if emotion.label is not None:
            return describe_label(emotion.label, emotion.intensity)
        if emotion.text is not None:
            return self.normalize_text(emotion.text)
        return self.caption_reference(emotion.reference)

    __call__ = caption


def describe_labels(labels: Sequence[str] = EMOTION_LABELS) -> dict[tuple[str, int], str]:
    """All templated descriptions of ``labels`` keyed by ``(label, intensity)``."""
    return {
        (normalize_label(label), level): describe_label(label, level) for label in labels for level in INTENSITY_NAMES
    }
