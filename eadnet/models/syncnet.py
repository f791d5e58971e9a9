"""SyncNet: the lip-sync discriminator used as a training loss (LatentSync stage 2) and as a sync metric.

A reconstruction of LatentSync's ``StableSyncNet`` (https://github.com/bytedance/LatentSync,
``latentsync/models/stable_syncnet.py``, ``configs/syncnet/*.yaml``, ``latentsync/utils/audio.py``; Apache-2.0),
written anew in diffusers style:

- an audio tower reads a mel-spectrogram window ``(1, 80, 52)`` (16 frames at 25 fps = 0.64 s = 51.2 mel steps at
  80 steps/s, rounded up), a visual tower reads the lower half of 16 stacked RGB face crops ``(48, H/2, W)``;
- each tower is a plain convolutional down-encoder (residual blocks that each end in a strided convolution,
  optional self-attention blocks) that must reduce its input to ``(D, 1, 1)``; a final ReLU makes both
  embeddings non-negative, so after L2 normalisation their cosine similarity lies in ``[0, 1]`` and is read
  directly as the probability that video and audio are in sync (BCE against the label).

Module and parameter names equal LatentSync's, so its ``stable_syncnet.pt`` loads with the identity key mapping
(a ``module.`` prefix left by DDP is stripped); :meth:`SyncNet.from_latentsync_checkpoint` checks every key.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import torch
import torch.nn.functional as F
import yaml
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.attention import FeedForward
from diffusers.models.modeling_utils import ModelMixin
from diffusers.utils import BaseOutput
from torch import nn

from eadnet.io.checkpoint import load_latentsync_checkpoint
from eadnet.models.attention import Attention

logger = logging.getLogger(__name__)

__all__ = [
    "stack_lower_half",
    "MEL_PARAMS",
    "SyncNet",
    "SyncNetKeyError",
    "SyncNetOutput",
    "MEL_STEPS_PER_SECOND",
    "mel_spectrogram",
    "mel_start",
    "mel_window",
    "mel_window_length",
    "syncnet_kwargs_from_latentsync",
    "syncnet_kwargs_from_state_dict",
]

#: LatentSync's audio parameters (``configs/audio.yaml``, after Wav2Lip's ``hparams.py``).
MEL_PARAMS: dict[str, float] = {
    "sample_rate": 16000,
    "n_fft": 800,
    "hop_length": 200,
    "win_length": 800,
    "num_mels": 80,
    "fmin": 55.0,
    "fmax": 7600.0,
    "preemphasis": 0.97,
    "min_level_db": -100.0,
    "ref_level_db": 20.0,
    "max_abs_value": 4.0,
}
#: Mel steps per second of audio (``sample_rate / hop_length``).
MEL_STEPS_PER_SECOND = MEL_PARAMS["sample_rate"] / MEL_PARAMS["hop_length"]

DownsampleFactor = int | Sequence[int]


# ----------------------------------------------------------------------------------------------------------------
# Audio features
# ----------------------------------------------------------------------------------------------------------------


def mel_spectrogram(waveform: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Normalised log-mel spectrogram of 16 kHz mono speech, exactly as LatentSync's ``melspectrogram``.

    Pre-emphasis (0.97) → STFT (n_fft 800, hop 200, Hann window 800, centred, zero padding) → magnitude → 80 mel
    bands (55–7600 Hz, Slaney) → dB with a -100 dB floor, minus the 20 dB reference level → linear map of
    ``[-100, 0]`` dB onto ``[-4, 4]``, clipped.

    Args:
        waveform (`np.ndarray` or `torch.Tensor`): ``(T,)`` float samples at 16 kHz.

    Returns:
        `torch.Tensor`: float32 ``(80, 1 + T // 200)``, 80 steps per second, values in ``[-4, 4]``.
    """
    if isinstance(waveform, torch.Tensor):
        waveform = waveform.detach().cpu().numpy()
    samples = np.asarray(waveform, dtype=np.float64)
    if samples.ndim != 1 or samples.size == 0:
        raise ValueError(f"waveform must be non-empty mono (T,), got shape {samples.shape}")
    p = MEL_PARAMS
    emphasised = np.concatenate([samples[:1], samples[1:] - p["preemphasis"] * samples[:-1]])
    # librosa >= 0.10 pads with zeros by default; said explicitly so that older versions agree.
    spectrum = librosa.stft(
        y=emphasised,
        n_fft=int(p["n_fft"]),
        hop_length=int(p["hop_length"]),
        win_length=int(p["win_length"]),
        pad_mode="constant",
    )
    mel_basis = _mel_basis()
    mel = mel_basis @ np.abs(spectrum)
    min_level = 10.0 ** (p["min_level_db"] / 20.0)
    decibels = 20.0 * np.log10(np.maximum(min_level, mel)) - p["ref_level_db"]
    scale = 2.0 * p["max_abs_value"] / -p["min_level_db"]
    normalised = np.clip(
        scale * (decibels - p["min_level_db"]) - p["max_abs_value"], -p["max_abs_value"], p["max_abs_value"]
    )
    return torch.from_numpy(normalised.astype(np.float32))


_MEL_BASIS: np.ndarray | None = None


def _mel_basis() -> np.ndarray:
    global _MEL_BASIS
    if _MEL_BASIS is None:
        p = MEL_PARAMS
        _MEL_BASIS = librosa.filters.mel(
            sr=int(p["sample_rate"]), n_fft=int(p["n_fft"]), n_mels=int(p["num_mels"]), fmin=p["fmin"], fmax=p["fmax"]
        )
    return _MEL_BASIS


def mel_window_length(num_frames: int = 16, fps: float = 25.0) -> int:
    """Mel steps covering ``num_frames`` video frames: ``ceil(num_frames / fps * 80)`` (52 for 16 frames)."""
    return math.ceil(round(num_frames * MEL_STEPS_PER_SECOND / fps, 6))


def mel_start(start_frame: int, fps: float = 25.0) -> int:
    """First mel step of video frame ``start_frame`` (LatentSync truncates: ``int(80 * start_frame / fps)``)."""
    return int(MEL_STEPS_PER_SECOND * (start_frame / float(fps)))


def mel_window(
    mel: torch.Tensor | np.ndarray, start_frame: int, num_frames: int = 16, fps: float = 25.0
) -> torch.Tensor:
    """The mel window aligned with video frames ``start_frame .. start_frame + num_frames``.

    Args:
        mel (`torch.Tensor` or `np.ndarray`): ``(80, T_mel)`` from :func:`mel_spectrogram` of the whole clip.
        start_frame (`int`): First video frame of the window.
        num_frames (`int`, *optional*, defaults to 16): Frames in the window.
        fps (`float`, *optional*, defaults to 25): Video frame rate.

    Returns:
        `torch.Tensor`: ``(1, 80, mel_window_length(num_frames, fps))`` (``(1, 80, 52)`` by default).

    Raises:
        `ValueError`: the window reaches past either end of the spectrogram.
    """
    mel = torch.as_tensor(mel)
    if mel.ndim != 2:
        raise ValueError(f"mel must be (num_mels, T_mel), got shape {tuple(mel.shape)}")
    start = mel_start(start_frame, fps)
    length = mel_window_length(num_frames, fps)
    if start_frame < 0 or start + length > mel.shape[1]:
        raise ValueError(
            f"frames {start_frame}..{start_frame + num_frames} need mel steps {start}..{start + length}, but the "
            f"spectrogram has {mel.shape[1]} steps"
        )
    return mel[:, start : start + length].unsqueeze(0)


# ----------------------------------------------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------------------------------------------


def _factor_pair(factor: DownsampleFactor) -> tuple[int, int]:
    if isinstance(factor, int):
        return factor, factor
    factor = tuple(int(f) for f in factor)
    if len(factor) != 2:
        raise ValueError(f"a downsample factor is an int or a (height, width) pair, got {factor!r}")
    return factor


def stack_lower_half(frames: torch.Tensor, image_size: int) -> torch.Tensor:
    """Face crops ``(B, C, F, H, W)`` → SyncNet visual input ``(B, F * C, image_size // 2, image_size)``.

    Frames that are not ``image_size`` square are first resized (bicubic, as LatentSync does), then the frames
    are stacked frame-major (channel ``C * f + c``) and the lower half is kept.
    """
    if frames.ndim != 5:
        raise ValueError(f"frames must be (B, C, F, H, W), got shape {tuple(frames.shape)}")
    batch, channels, num_frames, height, width = frames.shape
    frames = frames.transpose(1, 2).reshape(batch * num_frames, channels, height, width)
    if (height, width) != (image_size, image_size):
        frames = F.interpolate(frames, size=(image_size, image_size), mode="bicubic", align_corners=False)
    frames = frames.reshape(batch, num_frames * channels, image_size, image_size)
    return frames[:, :, image_size // 2 :, :]


class SyncNetResnetBlock(nn.Module):
    r"""Pre-activation residual block followed by an optional strided 3×3 convolution (LatentSync's
    ``ResnetBlock2D`` of ``stable_syncnet.py``).

    The strided convolution has no padding of its own; the map is padded by one on the bottom/right of each
    downsampled axis (and by one on both sides of an axis kept at stride 1), so an axis of size ``n`` becomes
    ``(n - 2) // s + 1``.

    Args:
        in_channels (`int`): Input channels.
        out_channels (`int`): Output channels.
        downsample_factor (`int` or `tuple[int, int]`, *optional*, defaults to 2): Stride (height, width); 1 = none.
        norm_num_groups (`int`, *optional*, defaults to 32): GroupNorm groups.
        dropout (`float`, *optional*, defaults to 0): Dropout before the second convolution.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        downsample_factor: DownsampleFactor = 2,
        norm_num_groups: int = 32,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.norm1 = nn.GroupNorm(norm_num_groups, in_channels, eps=1e-6)
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.norm2 = nn.GroupNorm(norm_num_groups, out_channels, eps=1e-6)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)
        self.act_fn = nn.SiLU()
        self.conv_shortcut = (
            nn.Conv2d(in_channels, out_channels, kernel_size=1) if in_channels != out_channels else None
        )

        stride_h, stride_w = _factor_pair(downsample_factor)
        if (stride_h, stride_w) == (1, 1):
            self.downsample_conv = None
            self.pad = None
        else:
            self.downsample_conv = nn.Conv2d(out_channels, out_channels, kernel_size=3, stride=(stride_h, stride_w))
            # F.pad order is (left, right, top, bottom); an axis with stride 1 is padded on both sides to keep size.
            pad_w = (1, 1) if stride_w == 1 else (0, 1)
            pad_h = (1, 1) if stride_h == 1 else (0, 1)
            self.pad = (*pad_w, *pad_h)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """``(N, C_in, H, W)`` → ``(N, C_out, H', W')``."""
        residual = hidden_states if self.conv_shortcut is None else self.conv_shortcut(hidden_states)
        hidden_states = self.conv1(self.act_fn(self.norm1(hidden_states)))
        hidden_states = self.conv2(self.dropout(self.act_fn(self.norm2(hidden_states))))
        hidden_states = hidden_states + residual
        if self.downsample_conv is not None:
            hidden_states = self.downsample_conv(F.pad(hidden_states, self.pad))
        return hidden_states


class SyncNetAttentionBlock(nn.Module):
    r"""Self-attention over the pixels of a feature map plus a GEGLU feed-forward, with a residual around both
    (LatentSync's ``AttentionBlock2D``).

    Args:
        channels (`int`): Channels of the feature map.
        num_attention_heads (`int`, *optional*, defaults to 8): Heads (``channels // heads`` channels each).
        norm_num_groups (`int`, *optional*, defaults to 32): Groups of the input GroupNorm.
        dropout (`float`, *optional*, defaults to 0): Feed-forward dropout.
    """

    def __init__(self, channels: int, num_attention_heads: int = 8, norm_num_groups: int = 32, dropout: float = 0.0):
        super().__init__()
        self.norm1 = nn.GroupNorm(norm_num_groups, channels, eps=1e-6)
        self.norm2 = nn.LayerNorm(channels)
        self.norm3 = nn.LayerNorm(channels)
        self.ff = FeedForward(channels, dropout=dropout, activation_fn="geglu")
        self.conv_in = nn.Conv2d(channels, channels, kernel_size=1)
        self.conv_out = nn.Conv2d(channels, channels, kernel_size=1)
        self.attn = Attention(channels, heads=num_attention_heads, dim_head=channels // num_attention_heads, bias=True)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` → ``(N, C, H, W)``."""
        residual = hidden_states
        batch, channels, height, width = hidden_states.shape
        hidden_states = self.conv_in(self.norm1(hidden_states))
        tokens = hidden_states.flatten(2).transpose(1, 2)  # (N, H*W, C)
        tokens = tokens + self.attn(self.norm2(tokens))
        tokens = tokens + self.ff(self.norm3(tokens))
        hidden_states = tokens.transpose(1, 2).reshape(batch, channels, height, width)
        return self.conv_out(hidden_states) + residual


class SyncNetEncoder(nn.Module):
    r"""One SyncNet tower: ``conv_in`` → residual (and attention) blocks → GroupNorm → ReLU
    (LatentSync's ``DownEncoder2D``). ``down_blocks`` interleaves them in one list, as LatentSync does, so that
    checkpoint indices agree.

    Args:
        in_channels (`int`): Input channels (1 for the mel window, ``3 * num_frames`` for stacked RGB frames).
        block_out_channels (`tuple[int]`): Output channels of each residual block.
        downsample_factors (`tuple`): Stride of each block: an int or a (height, width) pair.
        attn_blocks (`tuple[int]`): 1 where a block is followed by a self-attention block.
        norm_num_groups (`int`, *optional*, defaults to 32): GroupNorm groups.
        num_attention_heads (`int`, *optional*, defaults to 8): Heads of the attention blocks.
        dropout (`float`, *optional*, defaults to 0): Dropout inside the blocks.
    """

    def __init__(
        self,
        in_channels: int,
        block_out_channels: Sequence[int],
        downsample_factors: Sequence[DownsampleFactor],
        attn_blocks: Sequence[int],
        norm_num_groups: int = 32,
        num_attention_heads: int = 8,
        dropout: float = 0.0,
    ):
        super().__init__()
        if not (len(block_out_channels) == len(downsample_factors) == len(attn_blocks)):
            raise ValueError(
                "block_out_channels, downsample_factors and attn_blocks need one entry per block, got "
                f"{len(block_out_channels)}, {len(downsample_factors)} and {len(attn_blocks)}"
            )
        self.gradient_checkpointing = False
        self.conv_in = nn.Conv2d(in_channels, block_out_channels[0], kernel_size=3, padding=1)
        self.down_blocks = nn.ModuleList()
        channels = block_out_channels[0]
        for out_channels, factor, attention in zip(block_out_channels, downsample_factors, attn_blocks, strict=True):
            self.down_blocks.append(SyncNetResnetBlock(channels, out_channels, factor, norm_num_groups, dropout))
            if attention:
                self.down_blocks.append(
                    SyncNetAttentionBlock(out_channels, num_attention_heads, norm_num_groups, dropout)
                )
            channels = out_channels
        self.norm_out = nn.GroupNorm(norm_num_groups, channels, eps=1e-6)
        self.act_fn_out = nn.ReLU()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """``(N, C_in, H, W)`` → ``(N, D, H_out, W_out)`` (``(N, D, 1, 1)`` for a well-configured tower)."""
        hidden_states = self.conv_in(hidden_states)
        for block in self.down_blocks:
            if torch.is_grad_enabled() and self.gradient_checkpointing:
                hidden_states = self._gradient_checkpointing_func(block, hidden_states)
            else:
                hidden_states = block(hidden_states)
        return self.act_fn_out(self.norm_out(hidden_states))


def encoder_output_size(size: tuple[int, int], downsample_factors: Sequence[DownsampleFactor]) -> tuple[int, int]:
    """Spatial size after a tower's blocks: each strided axis of size ``n`` becomes ``(n - 2) // s + 1``."""
    height, width = size
    for factor in downsample_factors:
        stride_h, stride_w = _factor_pair(factor)
        if stride_h != 1:
            height = (height - 2) // stride_h + 1
        if stride_w != 1:
            width = (width - 2) // stride_w + 1
    return height, width


@dataclass
class SyncNetOutput(BaseOutput):
    """Output of :class:`SyncNet`.

    Args:
        vision_embeds (`torch.Tensor`): ``(B, D)`` L2-normalised, non-negative visual embeddings.
        audio_embeds (`torch.Tensor`): ``(B, D)`` L2-normalised, non-negative audio embeddings.
        similarity (`torch.Tensor`): ``(B,)`` cosine similarity in ``[0, 1]``, the in-sync probability.
    """

    vision_embeds: torch.Tensor
    audio_embeds: torch.Tensor
    similarity: torch.Tensor


class SyncNetKeyError(ValueError):
    """A checkpoint's keys or shapes do not fit the SyncNet; the message lists every difference."""

    def __init__(self, message: str, missing: list[str], unexpected: list[str], mismatched: list[str]):
        super().__init__(message)
        self.missing_keys = missing
        self.unexpected_keys = unexpected
        self.shape_mismatches = mismatched


class SyncNet(ModelMixin, ConfigMixin):
    r"""LatentSync's StableSyncNet: audio and visual towers whose L2-normalised embeddings agree (cosine
    similarity near 1) when a mouth moves with the speech.

    The defaults are LatentSync's ``configs/syncnet/syncnet_16_pixel.yaml`` (256 px crops, 16 frames, 2048-d
    embeddings, no attention); its released ``stable_syncnet.pt`` was trained with ``syncnet_16_pixel_attn.yaml``
    (``audio_attn_blocks=(0, 0, 0, 1, 1, 0, 0)``, ``visual_attn_blocks=(0, 0, 0, 0, 1, 1, 0, 0)``), which
    :meth:`from_latentsync_checkpoint` reads off the checkpoint's keys.

    Args:
        num_frames (`int`, *optional*, defaults to 16): Video frames per window.
        image_size (`int`, *optional*, defaults to 256): Side of the square face crops; the visual tower reads
            their lower half, ``(3 * num_frames, image_size // 2, image_size)``.
        image_channels (`int`, *optional*, defaults to 3): Channels per frame (3 for pixels in ``[-1, 1]``).
        fps (`float`, *optional*, defaults to 25): Video frame rate; with ``num_frames`` it fixes the mel window
            length (52 steps for 16 frames at 25 fps).
        num_mel_bins (`int`, *optional*, defaults to 80): Mel bands of the audio input.
        audio_block_out_channels (`tuple[int]`, *optional*, defaults to `(32, 64, 128, 256, 512, 1024, 2048)`):
            Channels of the audio tower's blocks; the last one is the embedding size.
        audio_downsample_factors (`tuple`, *optional*, defaults to `((2, 1), 2, 2, 1, 2, 2, (2, 3))`): Stride of each
            audio block (an int or a (height, width) pair); together they must reduce ``(80, 52)`` to ``(1, 1)``.
        audio_attn_blocks (`tuple[int]`, *optional*, defaults to all 0): 1 where an audio block has self-attention.
        visual_block_out_channels (`tuple[int]`, *optional*, defaults to
            `(64, 128, 256, 256, 512, 1024, 2048, 2048)`): Channels of the visual tower's blocks; the last one must
            equal the audio tower's.
        visual_downsample_factors (`tuple`, *optional*, defaults to `((1, 2), 2, 2, 2, 2, 2, 2, 2)`): Stride of each
            visual block; together they must reduce ``(image_size // 2, image_size)`` to ``(1, 1)``.
        visual_attn_blocks (`tuple[int]`, *optional*, defaults to all 0): 1 where a visual block has self-attention.
        norm_num_groups (`int`, *optional*, defaults to 32): GroupNorm groups (every block width must divide by it).
        num_attention_heads (`int`, *optional*, defaults to 8): Heads of the attention blocks.
        dropout (`float`, *optional*, defaults to 0): Dropout inside the blocks.
        visual_temporal_centering (`bool`, *optional*, defaults to `False`): Subtract from every frame of the window
            the window's mean frame before the visual tower, so it sees the motion only. Face identity, colour and
            lighting (all constant over a window) then cannot drown the small mouth movements of low-resolution
            crops; a SyncNet that read them stayed at chance on the offline corpus. LatentSync's nets read the
            plain frames (off).
    """

    _supports_gradient_checkpointing = True

    @register_to_config
    def __init__(
        self,
        num_frames: int = 16,
        image_size: int = 256,
        image_channels: int = 3,
        fps: float = 25.0,
        num_mel_bins: int = 80,
        audio_block_out_channels: tuple[int, ...] = (32, 64, 128, 256, 512, 1024, 2048),
        audio_downsample_factors: tuple[DownsampleFactor, ...] = ((2, 1), 2, 2, 1, 2, 2, (2, 3)),
        audio_attn_blocks: tuple[int, ...] = (0, 0, 0, 0, 0, 0, 0),
        visual_block_out_channels: tuple[int, ...] = (64, 128, 256, 256, 512, 1024, 2048, 2048),
        visual_downsample_factors: tuple[DownsampleFactor, ...] = ((1, 2), 2, 2, 2, 2, 2, 2, 2),
        visual_attn_blocks: tuple[int, ...] = (0, 0, 0, 0, 0, 0, 0, 0),
        norm_num_groups: int = 32,
        num_attention_heads: int = 8,
        dropout: float = 0.0,
        visual_temporal_centering: bool = False,
    ):
        super().__init__()
        if audio_block_out_channels[-1] != visual_block_out_channels[-1]:
            raise ValueError(
                f"both towers must end in the same embedding size, got audio {audio_block_out_channels[-1]} and "
                f"visual {visual_block_out_channels[-1]}"
            )
        audio_out = encoder_output_size((num_mel_bins, mel_window_length(num_frames, fps)), audio_downsample_factors)
        visual_out = encoder_output_size((image_size // 2, image_size), visual_downsample_factors)
        for name, size in (("audio", audio_out), ("visual", visual_out)):
            if size != (1, 1):
                raise ValueError(
                    f"the {name} downsample factors reduce its input to {size}, not (1, 1): change "
                    f"{name}_downsample_factors (see LatentSync's docs/syncnet_arch.md)"
                )
        shared = {"norm_num_groups": norm_num_groups, "num_attention_heads": num_attention_heads, "dropout": dropout}
        self.audio_encoder = SyncNetEncoder(
            1, audio_block_out_channels, audio_downsample_factors, audio_attn_blocks, **shared
        )
        self.visual_encoder = SyncNetEncoder(
            image_channels * num_frames,
            visual_block_out_channels,
            visual_downsample_factors,
            visual_attn_blocks,
            **shared,
        )

    @property
    def mel_window_length(self) -> int:
        """Mel steps of the audio input (52 for 16 frames at 25 fps)."""
        return mel_window_length(self.config.num_frames, self.config.fps)

    @property
    def embedding_dim(self) -> int:
        return self.config.audio_block_out_channels[-1]

    @property
    def visual_input_shape(self) -> tuple[int, int, int]:
        """``(C * F, H / 2, W)`` of the visual input: 16 stacked RGB lower halves."""
        size = self.config.image_size
        return self.config.image_channels * self.config.num_frames, size // 2, size

    @property
    def audio_input_shape(self) -> tuple[int, int, int]:
        """``(1, num_mel_bins, mel_window_length)``: ``(1, 80, 52)`` by default."""
        return 1, self.config.num_mel_bins, self.mel_window_length

    def forward(
        self, visual_inputs: torch.Tensor, mel: torch.Tensor, return_dict: bool = True
    ) -> SyncNetOutput | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        r"""Embeds a video window and an audio window and scores their agreement.

        Args:
            visual_inputs (`torch.Tensor`): ``(B, 3 * F, H / 2, W)`` lower halves of ``F`` face crops in ``[-1, 1]``,
                stacked frame-major (channel ``3 * f + c`` is colour ``c`` of frame ``f``).
            mel (`torch.Tensor`): ``(B, 1, 80, 52)`` mel windows from :func:`mel_window`.
            return_dict (`bool`, *optional*, defaults to `True`): Return a :class:`SyncNetOutput` or a tuple.

        Returns:
            :class:`SyncNetOutput` or ``(vision_embeds, audio_embeds, similarity)``: ``(B, D)``, ``(B, D)``, ``(B,)``.
        """
        if tuple(visual_inputs.shape[1:]) != self.visual_input_shape:
            raise ValueError(
                f"visual_inputs must be (B, {', '.join(map(str, self.visual_input_shape))}), got "
                f"{tuple(visual_inputs.shape)} (SyncLoss resizes and stacks (B, 3, F, H, W) frames for you)"
            )
        if tuple(mel.shape[1:]) != self.audio_input_shape:
            raise ValueError(f"mel must be (B, {', '.join(map(str, self.audio_input_shape))}), got {tuple(mel.shape)}")
        if self.config.visual_temporal_centering:
            frames = visual_inputs.unflatten(1, (self.config.num_frames, self.config.image_channels))
            visual_inputs = (frames - frames.mean(dim=1, keepdim=True)).flatten(1, 2)
        vision_embeds = F.normalize(self.visual_encoder(visual_inputs).flatten(1), p=2, dim=1)
        audio_embeds = F.normalize(self.audio_encoder(mel).flatten(1), p=2, dim=1)
        similarity = (vision_embeds * audio_embeds).sum(dim=1)
        if not return_dict:
            return vision_embeds, audio_embeds, similarity
        return SyncNetOutput(vision_embeds=vision_embeds, audio_embeds=audio_embeds, similarity=similarity)

    # ------------------------------------------------------------------------------------------------------------
    # LatentSync checkpoints
    # ------------------------------------------------------------------------------------------------------------

    @staticmethod
    def convert_latentsync_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """LatentSync key → our key: the identity, after stripping a ``module.`` prefix (a DDP-wrapped save)."""
        return {key.removeprefix("module."): value for key, value in state_dict.items()}

    @classmethod
    def from_latentsync_checkpoint(
        cls, path: str | os.PathLike, config: str | os.PathLike | Mapping | None = None, **overrides
    ) -> SyncNet:
        """Builds a SyncNet from LatentSync's ``stable_syncnet.pt`` (or any ``StableSyncNet`` state dict).

        The file is read with ``torch.load(weights_only=True)``; a ``{"state_dict": ...}`` wrapper is unwrapped.
        Every model key must be in the checkpoint with the same shape and the checkpoint may hold nothing else.

        Args:
            path (`str` or `os.PathLike`): The ``.pt`` file.
            config (`str`, `os.PathLike` or `dict`, *optional*): A LatentSync SyncNet YAML (``configs/syncnet/*.yaml``),
                its ``model:`` block, or :class:`SyncNet` keyword arguments. Without it, the LatentSync defaults are
                used with the tower widths and attention layout read off the checkpoint's keys.
            **overrides: :class:`SyncNet` keyword arguments applied last (e.g. ``image_size``).

        Returns:
            `SyncNet`: in eval mode.

        Raises:
            `SyncNetKeyError`: (a `ValueError`) listing every missing, unexpected and wrongly shaped key.
        """
        state_dict = cls.convert_latentsync_state_dict(load_latentsync_checkpoint(path))
        if config is None:
            kwargs = syncnet_kwargs_from_state_dict(state_dict)
            logger.info("SyncNet layout read from %s: %s", Path(path).name, kwargs)
        else:
            kwargs = syncnet_kwargs_from_latentsync(config)
        kwargs.update(overrides)
        model = cls(**kwargs)
        model.load_checked_state_dict(state_dict, source=str(path))
        return model.eval()

    def load_checked_state_dict(self, state_dict: Mapping[str, torch.Tensor], source: str = "state dict") -> None:
        """``load_state_dict`` after a check that names every missing, unexpected and wrongly shaped key."""
        target = self.state_dict()
        missing = sorted(set(target) - set(state_dict))
        unexpected = sorted(set(state_dict) - set(target))
        mismatched = [
            f"{key}: checkpoint {tuple(state_dict[key].shape)} vs model {tuple(target[key].shape)}"
            for key in sorted(set(target) & set(state_dict))
            if tuple(state_dict[key].shape) != tuple(target[key].shape)
        ]
        if missing or unexpected or mismatched:
            lines = [f"{source} does not fit this SyncNet configuration:"]
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("shape mismatches", mismatched)):
                if keys:
                    lines.append(f"  {len(keys)} {label}:")
                    lines.extend(f"    {key}" for key in keys)
            raise SyncNetKeyError("\n".join(lines), missing, unexpected, mismatched)
        self.load_state_dict(state_dict, strict=True)


_RESNET_CONV1 = re.compile(r"^(audio|visual)_encoder\.down_blocks\.(\d+)\.conv1\.weight$")
_ATTENTION_Q = re.compile(r"^(audio|visual)_encoder\.down_blocks\.(\d+)\.attn\.to_q\.weight$")


def syncnet_kwargs_from_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict:
    """Tower widths, attention layout and frame count of a StableSyncNet state dict (strides cannot be read off
    weights: LatentSync's ``syncnet_16_pixel`` ones are assumed)."""
    kwargs: dict = {}
    for tower in ("audio", "visual"):
        blocks: dict[int, tuple[str, int]] = {}
        for key, value in state_dict.items():
            if match := _RESNET_CONV1.match(key):
                if match.group(1) == tower:
                    blocks[int(match.group(2))] = ("resnet", int(value.shape[0]))
            elif (match := _ATTENTION_Q.match(key)) and match.group(1) == tower:
                blocks[int(match.group(2))] = ("attention", 0)
        channels: list[int] = []
        attention: list[int] = []
        for index in sorted(blocks):
            kind, width = blocks[index]
            if kind == "resnet":
                channels.append(width)
                attention.append(0)
            elif attention:
                attention[-1] = 1
        if channels:
            kwargs[f"{tower}_block_out_channels"] = tuple(channels)
            kwargs[f"{tower}_attn_blocks"] = tuple(attention)
    conv_in = state_dict.get("visual_encoder.conv_in.weight")
    if conv_in is not None and conv_in.shape[1] % 3 == 0:
        kwargs["num_frames"] = int(conv_in.shape[1]) // 3
    return kwargs


def syncnet_kwargs_from_latentsync(config: str | os.PathLike | Mapping) -> dict:
    """:class:`SyncNet` keyword arguments from a LatentSync SyncNet YAML, its ``model:`` block, or our own keyword
    arguments (returned unchanged).

    ``data.num_frames`` and ``data.resolution`` of a full YAML become ``num_frames`` and ``image_size``.
    """
    if not isinstance(config, Mapping):
        config = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
    config = dict(config)
    data = config.get("data") or {}
    model = config.get("model", config)
    if "audio_encoder" not in model:
        return dict(model)
    kwargs: dict = {}
    for tower in ("audio", "visual"):
        block = model[f"{tower}_encoder"]
        kwargs[f"{tower}_block_out_channels"] = tuple(block["block_out_channels"])
        kwargs[f"{tower}_downsample_factors"] = tuple(
            tuple(f) if isinstance(f, Sequence) else f for f in block["downsample_factors"]
        )
        kwargs[f"{tower}_attn_blocks"] = tuple(block["attn_blocks"])
        kwargs["dropout"] = block.get("dropout", 0.0)
    if "num_frames" in data:
        kwargs["num_frames"] = int(data["num_frames"])
    elif model["visual_encoder"]["in_channels"] % 3 == 0:
        kwargs["num_frames"] = model["visual_encoder"]["in_channels"] // 3
    if "resolution" in data:
        kwargs["image_size"] = int(data["resolution"])
    return kwargs
