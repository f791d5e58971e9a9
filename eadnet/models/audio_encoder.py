"""Frozen Whisper audio encoder producing per-video-frame audio token windows.

The encoder follows LatentSync (ByteDance, arXiv 2412.09262): speech is encoded with a frozen Whisper encoder, the
input embedding and the output of every encoder layer (before the final ``layer_norm``) are stacked, and each video
frame receives a small window of 50 Hz Whisper frames around its timestamp. The windowing idea (``audio_feat_length``
of ``(2, 2)``, i.e. Whisper frames ``[2i - 4, 2i + 6)`` for video frame ``i`` at 25 fps) is LatentSync's
``get_sliced_feature``; this module re-implements it in batched torch.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import soxr
import torch
from transformers import (
    WhisperConfig,
    WhisperFeatureExtractor,
    WhisperForConditionalGeneration,
    WhisperModel,
)
from transformers.models.whisper.modeling_whisper import WhisperEncoder

logger = logging.getLogger(__name__)

#: File written next to the Whisper weights holding the windowing settings of this wrapper.
SETTINGS_NAME = "eadnet_audio_encoder.json"

# LatentSync steps the window by two Whisper frames per unit of ``audio_feat_length`` (50 Hz Whisper frames,
# 25 fps video). The step is kept fixed so that the number of tokens per frame does not depend on ``fps``.
_WHISPER_FRAMES_PER_STEP = 2

# Keyword arguments of ``from_pretrained`` that also make sense for the feature extractor loader.
_HUB_KWARGS = ("cache_dir", "force_download", "local_files_only", "token", "revision", "subfolder", "proxies")


def _as_fraction(value: float | int) -> Fraction:
    """Exact-ish rational form of a rate so that frame counts do not suffer from float rounding (0.04 s * 25)."""
    if isinstance(value, int):
        return Fraction(value)
    return Fraction(value).limit_denominator(1_000_000)


class WhisperAudioEncoder(torch.nn.Module):
    r"""Frozen Whisper encoder turning raw speech into per-video-frame audio token windows.

    For every video frame ``i`` the Whisper encoder frames (50 Hz) with indices
    ``[center - 2 * left, center + 2 * (right + 1))``, ``center = floor(i * 50 / fps)``, are gathered (indices clamped
    into the valid range) and their stacked hidden states are flattened whisper-frame-major, layer-minor into
    ``tokens_per_frame = 2 * (left + right + 1) * num_states`` tokens of width ``output_dim``. With the default
    ``audio_feat_length=(2, 2)`` and whisper-tiny this gives ``(50, 384)`` tokens per frame.

    Args:
        encoder (`WhisperEncoder`, `WhisperModel` or `WhisperForConditionalGeneration`):
            The Whisper model; only its encoder is kept.
        feature_extractor (`WhisperFeatureExtractor`, *optional*):
            Log-mel feature extractor. Defaults to a `WhisperFeatureExtractor` with ``feature_size`` equal to the
            encoder's ``num_mel_bins``.
        fps (`float`, *optional*, defaults to 25):
            Video frame rate the audio tokens are aligned to.
        audio_feat_length (`tuple[int, int]`, *optional*, defaults to `(2, 2)`):
            Left and right context, in units of two Whisper frames, around each video frame.
        batch_size (`int`, *optional*, defaults to 8):
            Number of 30 s chunks encoded together.
    """

    def __init__(
        self,
        encoder: WhisperEncoder | WhisperModel | WhisperForConditionalGeneration,
        feature_extractor: WhisperFeatureExtractor | None = None,
        fps: float = 25,
        audio_feat_length: Sequence[int] = (2, 2),
        batch_size: int = 8,
    ) -> None:
        super().__init__()
        if isinstance(encoder, WhisperForConditionalGeneration):
            encoder = encoder.model.encoder
        elif isinstance(encoder, WhisperModel):
            encoder = encoder.encoder
        if not isinstance(encoder, WhisperEncoder):
            raise TypeError(
                "`encoder` must be a WhisperEncoder, WhisperModel or WhisperForConditionalGeneration, "
                f"got {type(encoder).__name__}."
            )
        if len(encoder.layers) == 0:
            raise ValueError("`encoder` must have at least one encoder layer.")
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
            raise ValueError(f"`fps` must be a positive finite number, got {fps!r}.")
        audio_feat_length = tuple(audio_feat_length)
        if len(audio_feat_length) != 2 or any(
            isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in audio_feat_length
        ):
            raise ValueError(
                f"`audio_feat_length` must be two non-negative ints (left, right), got {audio_feat_length!r}."
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive int, got {batch_size!r}.")

        config = encoder.config
        if feature_extractor is None:
            feature_extractor = WhisperFeatureExtractor(feature_size=config.num_mel_bins)
        if feature_extractor.feature_size != config.num_mel_bins:
            raise ValueError(
                f"`feature_extractor` produces {feature_extractor.feature_size} mel bins but the encoder expects "
                f"{config.num_mel_bins}."
            )
        mel_frames = config.max_source_positions * encoder.conv1.stride[0] * encoder.conv2.stride[0]
        if feature_extractor.nb_max_frames != mel_frames:
            raise ValueError(
                f"`feature_extractor` pads to {feature_extractor.nb_max_frames} mel frames but the encoder expects "
                f"{mel_frames} (max_source_positions={config.max_source_positions})."
            )

        self.encoder = encoder
        self.feature_extractor = feature_extractor
        self.fps = fps
        self.audio_feat_length = audio_feat_length
        self.batch_size = batch_size
        # Samples of 16 kHz audio per Whisper encoder frame (160 hop * conv stride 2 = 320, i.e. 50 Hz).
        self.samples_per_token = feature_extractor.hop_length * encoder.conv1.stride[0] * encoder.conv2.stride[0]
        self.chunk_samples = feature_extractor.n_samples

        self.requires_grad_(False)
        self.eval()

    # ------------------------------------------------------------------------------------------------ properties
    @property
    def sampling_rate(self) -> int:
        """Sample rate (Hz) the Whisper feature extractor expects; input audio is resampled to it."""
        return self.feature_extractor.sampling_rate

    @property
    def num_states(self) -> int:
        """Number of stacked hidden states: the input embedding plus one per encoder layer."""
        return len(self.encoder.layers) + 1

    @property
    def output_dim(self) -> int:
        """Width of each audio token (the encoder's ``d_model``)."""
        return self.encoder.config.d_model

    @property
    def window_size(self) -> int:
        """Number of Whisper frames gathered per video frame (10 for ``audio_feat_length=(2, 2)``)."""
        left, right = self.audio_feat_length
        return _WHISPER_FRAMES_PER_STEP * (left + right + 1)

    @property
    def tokens_per_frame(self) -> int:
        """Number of audio tokens per video frame: ``window_size * num_states``."""
        return self.window_size * self.num_states

    @property
    def dtype(self) -> torch.dtype:
        """Parameter dtype of the Whisper encoder."""
        return next(self.encoder.parameters()).dtype

    @property
    def device(self) -> torch.device:
        """Device of the Whisper encoder."""
        return next(self.encoder.parameters()).device

    def train(self, mode: bool = True) -> WhisperAudioEncoder:
        """Keep the frozen encoder in eval mode whatever ``mode`` is (dropout/LayerDrop stay off)."""
        return super().train(False)

    # ------------------------------------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(
        cls,
        path_or_repo: str | os.PathLike,
        *,
        fps: float | None = None,
        audio_feat_length: Sequence[int] | None = None,
        batch_size: int = 8,
        **kwargs: Any,
    ) -> WhisperAudioEncoder:
        """Load the Whisper encoder and feature extractor from a local directory or a Hub id.

        Checkpoints written by `save_pretrained` (encoder-only) and full Whisper checkpoints (e.g.
        ``openai/whisper-tiny``) are both accepted; only the encoder is kept.

        Args:
            path_or_repo (`str` or `os.PathLike`):
                Local directory or Hugging Face Hub repository id.
            fps (`float`, *optional*):
                Video frame rate. Defaults to the saved setting, else 25.
            audio_feat_length (`tuple[int, int]`, *optional*):
                Window context. Defaults to the saved setting, else ``(2, 2)``.
            batch_size (`int`, *optional*, defaults to 8):
                Number of 30 s chunks encoded together.
            **kwargs:
                Forwarded to the transformers model loader (e.g. ``dtype``, ``revision``, ``cache_dir``,
                ``local_files_only``); the Hub-related ones are also forwarded to the feature extractor loader.

        Returns:
            `WhisperAudioEncoder`: the frozen encoder, in eval mode.
        """
        hub_kwargs = {k: kwargs[k] for k in _HUB_KWARGS if k in kwargs}
        config = WhisperConfig.from_pretrained(path_or_repo, **hub_kwargs)
        architectures = getattr(config, "architectures", None) or []
        if "WhisperEncoder" in architectures:
            encoder = WhisperEncoder.from_pretrained(path_or_repo, **kwargs)
        else:
            encoder = WhisperModel.from_pretrained(path_or_repo, **kwargs).encoder
        feature_extractor = WhisperFeatureExtractor.from_pretrained(path_or_repo, **hub_kwargs)

        settings: dict[str, Any] = {}
        local_dir = os.path.join(os.fspath(path_or_repo), hub_kwargs.get("subfolder") or "")
        settings_file = os.path.join(local_dir, SETTINGS_NAME)
        if os.path.isfile(settings_file):
            with open(settings_file, encoding="utf-8") as f:
                settings = json.load(f)
        return cls(
            encoder,
            feature_extractor,
            fps=fps if fps is not None else settings.get("fps", 25),
            audio_feat_length=(
                audio_feat_length if audio_feat_length is not None else settings.get("audio_feat_length", (2, 2))
            ),
            batch_size=batch_size,
        )

    def save_pretrained(self, save_directory: str | os.PathLike, **kwargs: Any) -> None:
        """Write the encoder weights/config, the feature extractor config and the windowing settings.

        Args:
            save_directory (`str` or `os.PathLike`):
                Target directory (created if missing).
            **kwargs:
                Forwarded to the encoder's ``save_pretrained`` (e.g. ``safe_serialization``).
        """
        os.makedirs(save_directory, exist_ok=True)
        self.encoder.save_pretrained(save_directory, **kwargs)
        self.feature_extractor.save_pretrained(save_directory)
        with open(os.path.join(save_directory, SETTINGS_NAME), "w", encoding="utf-8") as f:
            json.dump({"fps": self.fps, "audio_feat_length": list(self.audio_feat_length)}, f, indent=2)
        logger.info("Saved WhisperAudioEncoder to %s", save_directory)

    # ------------------------------------------------------------------------------------------------ input prep
    @staticmethod
    def _check_sample_rate(sample_rate: float) -> None:
        if (
            isinstance(sample_rate, bool)
            or not isinstance(sample_rate, (int, float, np.integer, np.floating))
            or not math.isfinite(sample_rate)
            or sample_rate <= 0
        ):
            raise ValueError(f"`sample_rate` must be a positive finite number, got {sample_rate!r}.")

    @staticmethod
    def _check_num_frames(num_frames: int | None) -> None:
        if num_frames is None:
            return
        if isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer)) or num_frames < 1:
            raise ValueError(f"`num_frames` must be an int >= 1 or None, got {num_frames!r}.")

    @staticmethod
    def _to_batched_mono(waveform: torch.Tensor | np.ndarray) -> np.ndarray:
        """Validate ``waveform`` and mix it to a float32 ``(B, T)`` numpy array."""
        if isinstance(waveform, torch.Tensor):
            array = waveform.detach().cpu()
            if array.is_floating_point() and array.dtype not in (torch.float32, torch.float64):
                array = array.float()
            array = array.numpy()
        else:
            try:
                array = np.asarray(waveform)
            except Exception as err:  # pragma: no cover - exotic inputs
                raise ValueError(f"`waveform` must be a torch.Tensor or numpy array, got {type(waveform)!r}.") from err

        if array.dtype == np.bool_ or not (
            np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
        ):
            raise ValueError(f"`waveform` must hold real float or integer PCM samples, got dtype {array.dtype}.")
        if array.ndim not in (1, 2, 3):
            raise ValueError(
                f"`waveform` must have shape (T,), (C, T) or (B, C, T), got {array.ndim}-D shape {tuple(array.shape)}."
            )
        if array.size == 0:
            raise ValueError(f"`waveform` is empty (shape {tuple(array.shape)}).")
        if np.issubdtype(array.dtype, np.integer):
            # Integer PCM (e.g. int16 from a wav file) is scaled to [-1, 1).
            array = array.astype(np.float32) / float(np.iinfo(array.dtype).max + 1)
        if not np.all(np.isfinite(array)):
            raise ValueError("`waveform` contains NaN or infinite samples.")

        if array.ndim == 1:
            array = array[None, None]
        elif array.ndim == 2:
            array = array[None]
        return array.astype(np.float32, copy=False).mean(axis=1)

    def _prepare_audio(self, waveform: torch.Tensor | np.ndarray, sample_rate: float) -> tuple[np.ndarray, int]:
        """Return mono 16 kHz float32 audio ``(B, T_16k)`` and the original number of samples."""
        self._check_sample_rate(sample_rate)
        mono = self._to_batched_mono(waveform)
        num_samples = mono.shape[-1]
        if sample_rate != self.sampling_rate:
            # soxr (librosa's default "soxr_hq" backend) called directly: importing librosa.core costs seconds.
            # It expects (frames, channels), so the batch rides along as channels.
            mono = soxr.resample(mono.T, float(sample_rate), self.sampling_rate, quality="HQ").T
            mono = np.ascontiguousarray(mono, dtype=np.float32)
        return mono, num_samples

    # ------------------------------------------------------------------------------------------------ encoding
    def _encode_mel(self, input_features: torch.Tensor) -> torch.Tensor:
        """Run the encoder on ``(N, n_mels, 3000)`` log-mels and return stacked states ``(N, 1500, S, D)``.

        The states are the input of layer 0 (conv + positional embedding) and the raw output of every layer, i.e.
        before the encoder's final ``layer_norm`` (transformers' ``output_hidden_states`` would replace the last one
        with its layer-normed version, so the states are captured with hooks instead).
        """
        states: list[torch.Tensor | None] = [None] * self.num_states

        def capture_input(module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
            states[0] = args[0] if args else kwargs["hidden_states"]

        def make_output_hook(index: int):
            def capture_output(module: torch.nn.Module, args: tuple, output: Any) -> None:
                states[index] = output[0] if isinstance(output, (tuple, list)) else output

            return capture_output

        handles = [self.encoder.layers[0].register_forward_pre_hook(capture_input, with_kwargs=True)]
        for i, layer in enumerate(self.encoder.layers):
            handles.append(layer.register_forward_hook(make_output_hook(i + 1)))
        try:
            self.encoder(input_features)
        finally:
            for handle in handles:
                handle.remove()
        if any(s is None for s in states):
            raise RuntimeError("Failed to capture all Whisper encoder hidden states (is LayerDrop active?).")
        return torch.stack(states, dim=2)

    @torch.no_grad()
    def encode_whisper_features(self, waveform: torch.Tensor | np.ndarray, sample_rate: float) -> torch.Tensor:
        r"""Encode speech into stacked Whisper hidden states at 50 Hz.

        Audio is mixed to mono, resampled to 16 kHz, split into consecutive 30 s chunks (the last one zero-padded),
        encoded in batches of ``batch_size`` chunks, and only the encoder frames covering real audio
        (``ceil(samples / 320)`` in total) are kept.

        Args:
            waveform (`torch.Tensor` or `np.ndarray` of shape `(T,)`, `(C, T)` or `(B, C, T)`):
                Speech samples at ``sample_rate``, any channel count. Integer PCM is scaled to ``[-1, 1)``.
            sample_rate (`float`):
                Sample rate of ``waveform`` in Hz.

        Returns:
            `torch.Tensor` of shape `(B, T_whisper, num_states, output_dim)`: stacked states (input embedding, then
            each layer's output before the final layer norm), on the encoder's device and dtype.
        """
        audio, _ = self._prepare_audio(waveform, sample_rate)
        return self._encode_audio(audio)

    def _encode_audio(self, audio: np.ndarray) -> torch.Tensor:
        batch, length = audio.shape
        num_chunks = math.ceil(length / self.chunk_samples)
        num_tokens = math.ceil(length / self.samples_per_token)
        chunks = [
            audio[b, c * self.chunk_samples : (c + 1) * self.chunk_samples]
            for b in range(batch)
            for c in range(num_chunks)
        ]
        logger.debug(
            "Encoding %d x %d Whisper chunk(s) for %d samples -> %d frames", batch, num_chunks, length, num_tokens
        )

        outputs = []
        for start in range(0, len(chunks), self.batch_size):
            mel = self.feature_extractor(
                chunks[start : start + self.batch_size],
                sampling_rate=self.sampling_rate,
                padding="max_length",
                return_tensors="pt",
            ).input_features
            outputs.append(self._encode_mel(mel.to(device=self.device, dtype=self.dtype)))
        states = torch.cat(outputs, dim=0)  # (B * num_chunks, 1500, S, D)
        states = states.reshape(batch, num_chunks * states.shape[1], self.num_states, self.output_dim)
        # Every full chunk is a multiple of 320 samples, so the valid frames are a prefix of the concatenation.
        return states[:, :num_tokens]

    @staticmethod
    def outlier_frames(features: torch.Tensor, factor: float = 3.0) -> torch.Tensor:
        r"""Whisper frames holding a massive activation: a state whose norm is more than ``factor`` times that
        layer's median over the track.

        Whisper's last layers put activations tens of times larger than usual on a few frames, mostly in the
        pauses between sentences (the "massive activations" of Sun et al. 2024, arXiv 2402.17762). Single-sentence
        training clips never contain them (on the offline corpus no frame exceeds 1.5× its layer's median), and
        a U-Net that meets them renders noise instead of a face; the pipeline gives those frames the null audio
        (:meth:`EADNetPipeline.prepare_audio`).

        Args:
            features (`torch.Tensor` of shape `(B, T_whisper, num_states, D)`): Output of
                :meth:`encode_whisper_features`.
            factor (`float`, *optional*, defaults to 3): How many times its layer's median norm a state must
                exceed.

        Returns:
            `torch.BoolTensor` of shape `(B, T_whisper)`.
        """
        if not isinstance(features, torch.Tensor) or features.ndim != 4:
            shape = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
            raise ValueError(f"`features` must be a 4-D tensor (B, T_whisper, num_states, D), got {shape}.")
        norms = features.float().norm(dim=-1)  # (B, T, S)
        median = norms.median(dim=1, keepdim=True).values.clamp_min(torch.finfo(torch.float32).tiny)
        return (norms > factor * median).any(dim=-1)

    # ------------------------------------------------------------------------------------------------ windowing
    def num_video_frames(self, num_samples: int, sample_rate: float) -> int:
        """Number of video frames covering ``num_samples`` samples: ``ceil(duration * fps)`` computed exactly."""
        self._check_sample_rate(sample_rate)
        return max(1, math.ceil(Fraction(int(num_samples)) * _as_fraction(self.fps) / _as_fraction(sample_rate)))

    def frame_indices(
        self,
        num_frames: int,
        num_whisper_frames: int,
        device: torch.device | None = None,
        start_frame: int = 0,
        fps: float | None = None,
        shift: int = 0,
    ) -> torch.Tensor:
        """Whisper frame indices gathered for each video frame.

        Args:
            num_frames (`int`): Number of video frames ``F``.
            num_whisper_frames (`int`): Number of valid Whisper frames ``T_whisper``.
            device (`torch.device`, *optional*): Device of the result.
            start_frame (`int`, *optional*, defaults to 0): Index of the first video frame, so that a window of a
                long clip gets the same tokens as the whole clip sliced at once.
            fps (`float`, *optional*): Video frame rate; defaults to the encoder's ``fps``.
            shift (`int`, *optional*, defaults to 0): Whisper frames (20 ms each) added to every window centre: a
                positive shift gives each video frame the audio that comes ``shift`` × 20 ms later (a model whose
                mouth trails the speech is re-aligned this way; see ``eadnet.settings.SamplingDefaults``).

        Returns:
            `torch.LongTensor` of shape `(F, window_size)`: indices into the Whisper frames, clamped to
            ``[0, num_whisper_frames - 1]``.
        """
        self._check_num_frames(num_frames)
        whisper_rate = Fraction(self.sampling_rate, self.samples_per_token)  # 50 Hz
        if isinstance(start_frame, bool) or not isinstance(start_frame, (int, np.integer)) or start_frame < 0:
            raise ValueError(f"`start_frame` must be an int >= 0, got {start_frame!r}.")
        if isinstance(shift, bool) or not isinstance(shift, (int, np.integer)):
            raise ValueError(f"`shift` must be an int (Whisper frames), got {shift!r}.")
        ratio = whisper_rate / _as_fraction(self.fps if fps is None else fps)
        # Exact floor(i * 50 / fps) (LatentSync's int(vid_idx * 50 / fps)).
        centers = torch.tensor(
            [
                (i * ratio.numerator) // ratio.denominator + int(shift)
                for i in range(start_frame, start_frame + num_frames)
            ],
            dtype=torch.long,
            device=device,
        )
        left, right = self.audio_feat_length
        offsets = torch.arange(
            -_WHISPER_FRAMES_PER_STEP * left, _WHISPER_FRAMES_PER_STEP * (right + 1), dtype=torch.long, device=device
        )
        return (centers[:, None] + offsets[None, :]).clamp_(0, num_whisper_frames - 1)

    def slice_frames(
        self,
        features: torch.Tensor,
        num_frames: int,
        start_frame: int = 0,
        fps: float | None = None,
        shift: int = 0,
    ) -> torch.Tensor:
        r"""Gather the per-video-frame windows from stacked Whisper states.

        Args:
            features (`torch.Tensor` of shape `(B, T_whisper, num_states, D)`):
                Output of `encode_whisper_features` (possibly cached).
            num_frames (`int`):
                Number of video frames ``F``; frames past the end of the audio reuse the last Whisper frame.
            start_frame (`int`, *optional*, defaults to 0):
                Index of the first of those video frames in the clip (windowed generation of long clips).
            fps (`float`, *optional*):
                Video frame rate; defaults to the encoder's ``fps``.
            shift (`int`, *optional*, defaults to 0):
                Whisper frames added to every window centre (see :meth:`frame_indices`).

        Returns:
            `torch.Tensor` of shape `(B, F, window_size * num_states, D)`: tokens ordered whisper-frame-major,
            layer-minor.
        """
        if not isinstance(features, torch.Tensor) or features.ndim != 4:
            shape = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
            raise ValueError(f"`features` must be a 4-D tensor (B, T_whisper, num_states, D), got {shape}.")
        if features.shape[1] == 0:
            raise ValueError("`features` has no Whisper frames (T_whisper == 0).")
        self._check_num_frames(num_frames)
        if num_frames is None:
            raise ValueError("`num_frames` must be an int >= 1, got None.")
        batch, num_tokens, num_states, dim = features.shape
        index = self.frame_indices(
            int(num_frames), num_tokens, device=features.device, start_frame=start_frame, fps=fps, shift=shift
        )  # (F, W)
        windows = features[:, index.reshape(-1)]  # (B, F * W, S, D)
        return windows.reshape(batch, int(num_frames), index.shape[1] * num_states, dim)

    @torch.no_grad()
    def forward(
        self, waveform: torch.Tensor | np.ndarray, sample_rate: float, num_frames: int | None = None
    ) -> torch.Tensor:
        r"""Encode speech into per-video-frame audio tokens.

        Args:
            waveform (`torch.Tensor` or `np.ndarray` of shape `(T,)`, `(C, T)` or `(B, C, T)`):
                Speech samples at ``sample_rate``, any channel count (mixed to mono) and any length.
            sample_rate (`float`):
                Sample rate of ``waveform`` in Hz; resampled to 16 kHz internally.
            num_frames (`int`, *optional*):
                Number of video frames ``F``. Defaults to ``ceil(T / sample_rate * fps)``.

        Returns:
            `torch.Tensor` of shape `(B, F, tokens_per_frame, output_dim)`, e.g. `(B, F, 50, 384)` for whisper-tiny.
        """
        self._check_num_frames(num_frames)
        audio, num_samples = self._prepare_audio(waveform, sample_rate)
        if num_frames is None:
            num_frames = self.num_video_frames(num_samples, sample_rate)
        features = self._encode_audio(audio)
        return self.slice_frames(features, int(num_frames))
