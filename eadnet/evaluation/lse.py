"""LSE-C / LSE-D: lip-sync error with the SyncNet protocol of Chung & Zisserman ("Out of time: automated lip sync in
the wild", ACCV 2016 workshops), as used by Wav2Lip, LatentSync and most talking-head papers.

The protocol, after ``SyncNetInstance.evaluate`` of syncnet_python (https://github.com/joonson/syncnet_python, MIT)
and its copy in LatentSync (``eval/syncnet/syncnet_eval.py``, Apache-2.0); rewritten here, not copied:

1. Video at 25 fps, face crops resized to 224×224, BGR, raw 0–255 values; audio 16 kHz mono, 16-bit PCM values.
2. Audio features: 13 MFCCs at 100 Hz (:func:`mfcc`, python_speech_features' defaults).
3. For every start frame ``i`` (``0 <= i < min(F, samples // 640) - 5``) the lip tower embeds frames ``i .. i+4``
   (0.2 s) and the audio tower MFCC steps ``4i .. 4i+19`` (the same 0.2 s).
4. For each offset ``d`` in ``-vshift .. +vshift`` (``vshift = 15``) the L2 distance between video window ``i`` and
   audio window ``i + d`` (a zero vector outside the clip, as the reference pads) is averaged over ``i``.
5. LSE-D = the smallest mean distance; LSE-C = median over offsets − LSE-D; AV offset = ``−d*`` for the best
   ``d*`` (the reference's ``vshift − argmin``): video window ``i`` matches audio window ``i − offset`` best, so a
   positive offset means the sound comes ``offset`` frames before the mouth moves (audio leads), a negative one
   that it comes after (audio lags).

:func:`sync_offset_scores` implements steps 4–5 on any embeddings, :func:`sync_scores_from_embedders` steps 3–5 on
any pair of window-embedding callables, and two scorers supply the callables:

- :class:`SyncNetV2Scorer` with :class:`SyncNetV2`, the syncnet_python network; its ``syncnet_v2.model`` loads with
  :meth:`SyncNetV2.from_syncnet_python` (``torch.load(weights_only=True)`` and a key check). These are the numbers
  papers report.
- :class:`StableSyncNetScorer` with EAD-Net's own :class:`~eadnet.models.syncnet.SyncNet` (LatentSync's StableSyncNet:
  16-frame windows of aligned 256 px crops and 80-band mel windows). Same offset protocol; its distances are between
  L2-normalised embeddings, so they are **not** comparable with syncnet_v2's LSE-C/LSE-D.

Face crops: :func:`syncnet_face_crops` reproduces syncnet_python's crop of a tracked face box (median-smoothed box,
``crop_scale`` 0.4 margin, more room below the box than above, grey 110 padding, resized to 224).
"""

from __future__ import annotations

import decimal
import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from eadnet.evaluation.fid import check_state_dict, read_state_dict

logger = logging.getLogger(__name__)

__all__ = [
    "SYNCNET_V2_WEIGHTS_NAME",
    "StableSyncNetScorer",
    "SyncNetV2",
    "SyncNetV2Scorer",
    "SyncScores",
    "mfcc",
    "pcm16",
    "sync_offset_scores",
    "sync_scores_from_embedders",
    "syncnet_face_crops",
]

#: File name of syncnet_python's released weights (its ``download_model.sh``).
SYNCNET_V2_WEIGHTS_NAME = "syncnet_v2.model"

#: The protocol's constants: 25 fps video, 16 kHz audio, 5-frame windows, 100 Hz MFCC (4 steps per frame).
PROTOCOL_FPS = 25
PROTOCOL_SAMPLE_RATE = 16000
PROTOCOL_CROP_SIZE = 224
V2_WINDOW_FRAMES = 5
_MFCC_STEPS_PER_FRAME = 4
_MFCC_WINDOW = 20
_SAMPLES_PER_FRAME = PROTOCOL_SAMPLE_RATE // PROTOCOL_FPS  # 640


# ------------------------------------------------------------------------------------------------ MFCC
def _round_half_up(value: float) -> int:
    return int(decimal.Decimal(value).quantize(decimal.Decimal("1"), rounding=decimal.ROUND_HALF_UP))


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def _mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def _triangular_filterbank(num_filters: int, nfft: int, sample_rate: int, low_hz: float, high_hz: float) -> np.ndarray:
    """``(num_filters, nfft // 2 + 1)`` triangles on FFT bins ``floor((nfft + 1) f / sr)`` of mel-spaced edges,
    peak 1, as python_speech_features' ``get_filterbanks`` (HTK mel formula)."""
    edges_mel = np.linspace(_hz_to_mel(low_hz), _hz_to_mel(high_hz), num_filters + 2)
    bins = np.floor((nfft + 1) * _mel_to_hz(edges_mel) / sample_rate)
    bank = np.zeros((num_filters, nfft // 2 + 1))
    for j in range(num_filters):
        left, centre, right = bins[j], bins[j + 1], bins[j + 2]
        rising = np.arange(int(left), int(centre))
        bank[j, rising] = (rising - left) / (centre - left)
        falling = np.arange(int(centre), int(right))
        bank[j, falling] = (right - falling) / (right - centre)
    return bank


def mfcc(
    signal: Any,
    sample_rate: int = 16000,
    window_seconds: float = 0.025,
    step_seconds: float = 0.01,
    num_cepstra: int = 13,
    num_filters: int = 26,
    nfft: int | None = None,
    preemphasis: float = 0.97,
    cepstral_lifter: int = 22,
    append_energy: bool = True,
) -> np.ndarray:
    """MFCCs computed as ``python_speech_features.mfcc`` does with its defaults (what SyncNet was trained on).

    Steps: pre-emphasis ``y[n] = x[n] − 0.97 x[n−1]`` (first sample kept) → frames of 25 ms every 10 ms (lengths
    rounded half up; the last frame zero-padded; one frame if the signal is shorter than a window) with a
    rectangular window → power spectrum ``|rfft(frame, nfft)|² / nfft`` (``nfft`` = the next power of two ≥ the
    window, 512 at 16 kHz) → 26 triangular mel filters from 0 Hz to ``sr / 2`` (HTK mel scale, edges on
    ``floor((nfft + 1) f / sr)`` bins) → natural log (zeros replaced by float64 eps) → orthonormal DCT-II, first
    13 → sinusoidal lifter ``1 + 11 sin(πn / 22)`` → coefficient 0 replaced by the log of the frame's total power.

    The input's scale matters (coefficient 0 and the log energies shift with it): the protocol feeds 16-bit PCM
    values (``scipy.io.wavfile`` of an ``s16le`` wav), see :func:`pcm16`. Checked against python_speech_features
    0.6 on speech and noise: equal to float64 round-off.

    Args:
        signal (`np.ndarray`): ``(T,)`` mono samples.
        sample_rate (`int`, *optional*, defaults to 16000): Sample rate in Hz.
        window_seconds (`float`, *optional*, defaults to 0.025): Analysis window.
        step_seconds (`float`, *optional*, defaults to 0.01): Hop.
        num_cepstra (`int`, *optional*, defaults to 13): Coefficients kept.
        num_filters (`int`, *optional*, defaults to 26): Mel filters.
        nfft (`int`, *optional*): FFT size; the next power of two ≥ the window length by default.
        preemphasis (`float`, *optional*, defaults to 0.97): Pre-emphasis coefficient (0 turns it off).
        cepstral_lifter (`int`, *optional*, defaults to 22): Lifter parameter (0 turns it off).
        append_energy (`bool`, *optional*, defaults to `True`): Replace coefficient 0 by the log frame energy.

    Returns:
        `np.ndarray`: float64 ``(num_frames, num_cepstra)`` with ``num_frames = 1 + ceil((T − 400) / 160)`` at
        16 kHz (1 when ``T <= 400``).
    """
    from scipy.fft import dct  # lazy: scipy.fft (~0.3 s), needed only by the MFCCs

    samples = np.asarray(signal, dtype=np.float64)
    if samples.ndim != 1 or samples.size == 0:
        raise ValueError(f"signal must be non-empty mono (T,), got shape {samples.shape}")
    frame_length = _round_half_up(window_seconds * sample_rate)
    frame_step = _round_half_up(step_seconds * sample_rate)
    if nfft is None:
        nfft = 1 << max(frame_length - 1, 0).bit_length()
    if frame_length > nfft:
        logger.warning("MFCC: frame length %d is longer than nfft %d; frames are truncated", frame_length, nfft)

    emphasised = np.concatenate([samples[:1], samples[1:] - preemphasis * samples[:-1]])
    num_frames = 1 if emphasised.size <= frame_length else 1 + math.ceil((emphasised.size - frame_length) / frame_step)
    padded = np.zeros((num_frames - 1) * frame_step + frame_length)
    padded[: emphasised.size] = emphasised
    index = np.arange(frame_length)[None, :] + frame_step * np.arange(num_frames)[:, None]
    frames = padded[index]

    power = np.abs(np.fft.rfft(frames, nfft)) ** 2 / nfft
    eps = np.finfo(np.float64).eps
    energy = power.sum(axis=1)
    energy = np.where(energy == 0, eps, energy)
    bank = _triangular_filterbank(num_filters, nfft, sample_rate, 0.0, sample_rate / 2)
    filtered = power @ bank.T
    filtered = np.where(filtered == 0, eps, filtered)

    cepstra = dct(np.log(filtered), type=2, axis=1, norm="ortho")[:, :num_cepstra]
    if cepstral_lifter > 0:
        cepstra = cepstra * (1 + (cepstral_lifter / 2.0) * np.sin(np.pi * np.arange(num_cepstra) / cepstral_lifter))
    if append_energy:
        cepstra[:, 0] = np.log(energy)
    return cepstra


def pcm16(waveform: Any) -> np.ndarray:
    """Float samples in ``[-1, 1]`` → the 16-bit PCM values a ``pcm_s16le`` wav holds (as float64)."""
    samples = np.asarray(waveform, dtype=np.float64)
    return np.clip(np.round(samples * 32768.0), -32768, 32767)


# ------------------------------------------------------------------------------------------------ network
def _pool_spec(kernel: tuple[int, ...], stride: tuple[int, ...], padding: tuple[int, ...] | int = 0) -> dict:
    return {"kernel_size": kernel, "stride": stride, "padding": padding}


class SyncNetV2(ModelMixin, ConfigMixin):
    r"""syncnet_python's SyncNet (``SyncNetModel.S``), the network behind LSE-C / LSE-D.

    Audio tower ``netcnnaud`` on MFCC windows ``(N, 1, 13, 20)``: conv 3×3 → BN → ReLU → (1×1 pool) → conv 3×3 →
    BN → ReLU → max-pool 3×3 stride (1, 2) → three conv 3×3 → BN → ReLU → max-pool 3×3/2 → conv (5, 4) → BN → ReLU
    → ``(N, C, 1, 1)``. Lip tower ``netcnnlip`` on 5-frame clips ``(N, 3, 5, 224, 224)``: conv (5, 7, 7) stride
    (1, 2, 2) → BN → ReLU → max-pool → conv (1, 5, 5)/2 → BN → ReLU → max-pool → three conv (1, 3, 3) → BN → ReLU →
    max-pool → conv (1, 6, 6) → BN → ReLU → ``(N, C, 1, 1, 1)``. Heads ``netfcaud`` / ``netfclip``: linear → BN →
    ReLU → linear. Module indices equal the reference's ``nn.Sequential`` layout, so ``syncnet_v2.model`` loads key
    for key. The spatial sizes are fixed by the last convolutions: only the widths are configurable (tiny tests).

    Args:
        audio_channels (`tuple[int]`, *optional*, defaults to `(64, 192, 384, 256, 256, 512)`): Widths of the six
            audio convolutions.
        lip_channels (`tuple[int]`, *optional*, defaults to `(96, 256, 256, 256, 256, 512)`): Widths of the six lip
            convolutions.
        hidden_dim (`int`, *optional*, defaults to 512): Width of the heads' hidden layer.
        embedding_dim (`int`, *optional*, defaults to 1024): Output size of both heads
            (``num_layers_in_fc_layers``).
    """

    @register_to_config
    def __init__(
        self,
        audio_channels: tuple[int, ...] = (64, 192, 384, 256, 256, 512),
        lip_channels: tuple[int, ...] = (96, 256, 256, 256, 256, 512),
        hidden_dim: int = 512,
        embedding_dim: int = 1024,
    ):
        super().__init__()
        if len(audio_channels) != 6 or len(lip_channels) != 6:
            raise ValueError(
                f"audio_channels and lip_channels need 6 widths each, got {audio_channels}, {lip_channels}"
            )
        a = audio_channels
        # (out, kernel, stride, padding, pool after the ReLU); the 1x1 pool keeps the reference's layer indices.
        audio_layers = [
            (a[0], 3, 1, 1, _pool_spec((1, 1), (1, 1))),
            (a[1], 3, 1, 1, _pool_spec((3, 3), (1, 2))),
            (a[2], 3, 1, 1, None),
            (a[3], 3, 1, 1, None),
            (a[4], 3, 1, 1, _pool_spec((3, 3), (2, 2))),
            (a[5], (5, 4), 1, 0, None),
        ]
        self.netcnnaud = self._tower(nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d, 1, audio_layers)
        v = lip_channels
        lip_layers = [
            (v[0], (5, 7, 7), (1, 2, 2), 0, _pool_spec((1, 3, 3), (1, 2, 2))),
            (v[1], (1, 5, 5), (1, 2, 2), (0, 1, 1), _pool_spec((1, 3, 3), (1, 2, 2), (0, 1, 1))),
            (v[2], (1, 3, 3), 1, (0, 1, 1), None),
            (v[3], (1, 3, 3), 1, (0, 1, 1), None),
            (v[4], (1, 3, 3), 1, (0, 1, 1), _pool_spec((1, 3, 3), (1, 2, 2))),
            (v[5], (1, 6, 6), 1, 0, None),
        ]
        self.netcnnlip = self._tower(nn.Conv3d, nn.BatchNorm3d, nn.MaxPool3d, 3, lip_layers)
        self.netfcaud = self._head(a[5], hidden_dim, embedding_dim)
        self.netfclip = self._head(v[5], hidden_dim, embedding_dim)

    @staticmethod
    def _tower(conv, norm, pool, in_channels: int, layers: list) -> nn.Sequential:
        modules: list[nn.Module] = []
        for out_channels, kernel, stride, padding, pool_args in layers:
            modules += [
                conv(in_channels, out_channels, kernel, stride=stride, padding=padding),
                norm(out_channels),
                nn.ReLU(),
            ]
            if pool_args is not None:
                modules.append(pool(**pool_args))
            in_channels = out_channels
        return nn.Sequential(*modules)

    @staticmethod
    def _head(in_features: int, hidden: int, out_features: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Linear(in_features, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, out_features)
        )

    def forward_audio(self, mfcc_windows: torch.Tensor) -> torch.Tensor:
        """Audio embeddings.

        Args:
            mfcc_windows (`torch.Tensor`): ``(N, 1, 13, 20)`` MFCC windows (coefficients × 100 Hz steps).

        Returns:
            `torch.Tensor`: ``(N, embedding_dim)``, not normalised.
        """
        if mfcc_windows.ndim != 4 or tuple(mfcc_windows.shape[1:]) != (1, 13, _MFCC_WINDOW):
            raise ValueError(f"mfcc_windows must be (N, 1, 13, {_MFCC_WINDOW}), got {tuple(mfcc_windows.shape)}")
        return self.netfcaud(self.netcnnaud(mfcc_windows).flatten(1))

    def forward_lip(self, clips: torch.Tensor) -> torch.Tensor:
        """Lip (video) embeddings.

        Args:
            clips (`torch.Tensor`): ``(N, 3, 5, 224, 224)`` BGR face crops, raw 0–255 values.

        Returns:
            `torch.Tensor`: ``(N, embedding_dim)``, not normalised.
        """
        expected = (3, V2_WINDOW_FRAMES, PROTOCOL_CROP_SIZE, PROTOCOL_CROP_SIZE)
        if clips.ndim != 5 or tuple(clips.shape[1:]) != expected:
            raise ValueError(f"clips must be (N, {', '.join(map(str, expected))}), got {tuple(clips.shape)}")
        return self.netfclip(self.netcnnlip(clips).flatten(1))

    def forward(self, clips: torch.Tensor, mfcc_windows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(lip_embeds, audio_embeds)`` of :meth:`forward_lip` and :meth:`forward_audio`."""
        return self.forward_lip(clips), self.forward_audio(mfcc_windows)

    @classmethod
    def from_syncnet_python(cls, path: str | os.PathLike, **kwargs) -> SyncNetV2:
        """Builds the network from syncnet_python's ``syncnet_v2.model`` (a plain state dict).

        Args:
            path (`str` or `os.PathLike`): The file; read with ``torch.load(weights_only=True)``.
            **kwargs: Constructor arguments (the defaults fit the released file).

        Returns:
            [`SyncNetV2`] in eval mode, gradients off.

        Raises:
            [`~eadnet.evaluation.fid.WeightsMismatchError`]: the file does not fit (every difference listed).
        """
        model = cls(**kwargs)
        check_state_dict(model, read_state_dict(path), source=str(path))
        return model.eval().requires_grad_(False)


# ------------------------------------------------------------------------------------------------ protocol
@dataclass
class SyncScores:
    """Result of the offset search.

    Args:
        lse_d (`float`): Smallest mean distance over the offsets (LSE-D; lower is better).
        lse_c (`float`): Median of the mean distances minus the smallest (LSE-C, "confidence"; higher is better).
        av_offset (`int`): Offset of the smallest mean distance in the reference's convention (``vshift − argmin``):
            video window ``i`` matches audio window ``i − av_offset`` best; 0 for a synchronised clip.
        offsets (`list[int]`): Offset of each entry of ``mean_distances`` (``vshift`` down to ``−vshift``).
        mean_distances (`list[float]`): Mean distance per offset.
        num_windows (`int`): Windows averaged.
        vshift (`int`): Largest offset tried each way.
    """

    lse_d: float
    lse_c: float
    av_offset: int
    offsets: list[int]
    mean_distances: list[float]
    num_windows: int
    vshift: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sync_offset_scores(video_embeds: Any, audio_embeds: Any, vshift: int = 15) -> SyncScores:
    """Steps 4–5 of the protocol on per-window embeddings.

    For each window ``i`` and each ``j`` in ``0 .. 2 vshift``, the distance
    ``‖v_i − a_{i+j−vshift} + 1e-6‖₂`` (``torch.nn.functional.pairwise_distance``; audio embeddings outside the
    clip are zero vectors, as the reference pads them) is averaged over ``i``.

    Args:
        video_embeds (`torch.Tensor` or `np.ndarray`): ``(N, D)`` embeddings of video windows ``0 .. N−1``.
        audio_embeds (`torch.Tensor` or `np.ndarray`): ``(N, D)`` embeddings of the audio windows at the same starts.
        vshift (`int`, *optional*, defaults to 15): Largest offset tried each way.

    Returns:
        [`SyncScores`].
    """
    video = torch.as_tensor(np.asarray(video_embeds) if not isinstance(video_embeds, torch.Tensor) else video_embeds)
    audio = torch.as_tensor(np.asarray(audio_embeds) if not isinstance(audio_embeds, torch.Tensor) else audio_embeds)
    video, audio = video.detach().cpu().float(), audio.detach().cpu().float()
    if video.ndim != 2 or video.shape != audio.shape:
        raise ValueError(
            f"video_embeds and audio_embeds must both be (N, D), got {tuple(video.shape)} and {tuple(audio.shape)}"
        )
    if video.shape[0] < 1:
        raise ValueError("no windows to score")
    if vshift < 0:
        raise ValueError(f"vshift must be >= 0, got {vshift}")
    width = 2 * vshift + 1
    padded = F.pad(audio, (0, 0, vshift, vshift))
    distances = torch.stack(
        [F.pairwise_distance(video[i : i + 1].expand(width, -1), padded[i : i + width]) for i in range(len(video))]
    )  # (N, 2 vshift + 1)
    mean_distances = distances.mean(dim=0).double().numpy()
    best = int(np.argmin(mean_distances))
    return SyncScores(
        lse_d=float(mean_distances[best]),
        lse_c=float(np.median(mean_distances) - mean_distances[best]),
        av_offset=vshift - best,
        offsets=[vshift - j for j in range(width)],
        mean_distances=mean_distances.tolist(),
        num_windows=int(video.shape[0]),
        vshift=int(vshift),
    )


WindowEmbedder = Callable[[Sequence[int]], torch.Tensor]


@torch.no_grad()
def sync_scores_from_embedders(
    num_windows: int,
    embed_video: WindowEmbedder,
    embed_audio: WindowEmbedder,
    vshift: int = 15,
    batch_size: int = 20,
) -> SyncScores:
    """Steps 3–5 of the protocol: embeds the windows at starts ``0 .. num_windows − 1`` in batches, then searches
    the offsets.

    Args:
        num_windows (`int`): Windows in the clip.
        embed_video (`Callable[[Sequence[int]], torch.Tensor]`): Start frames → ``(B, D)`` video-window embeddings.
        embed_audio (`Callable[[Sequence[int]], torch.Tensor]`): Start frames → ``(B, D)`` audio-window embeddings
            (aligned in time with the video windows of the same start).
        vshift (`int`, *optional*, defaults to 15): Largest offset tried each way.
        batch_size (`int`, *optional*, defaults to 20): Windows per call.

    Returns:
        [`SyncScores`].
    """
    if num_windows < 1:
        raise ValueError(f"the clip is too short for one sync window (num_windows={num_windows})")
    video, audio = [], []
    for start in range(0, num_windows, batch_size):
        starts = list(range(start, min(start + batch_size, num_windows)))
        video.append(torch.as_tensor(embed_video(starts)).detach().cpu().float())
        audio.append(torch.as_tensor(embed_audio(starts)).detach().cpu().float())
    return sync_offset_scores(torch.cat(video), torch.cat(audio), vshift=vshift)


def _check_crops(face_crops: Any) -> np.ndarray:
    crops = np.asarray(face_crops)
    if crops.ndim != 4 or crops.shape[-1] != 3 or crops.dtype != np.uint8:
        raise ValueError(f"face_crops must be uint8 RGB (F, S, S, 3), got {crops.dtype} of shape {crops.shape}")
    return crops


def _check_waveform(waveform_16k: Any) -> np.ndarray:
    samples = np.asarray(waveform_16k, dtype=np.float64)
    if samples.ndim != 1 or samples.size == 0:
        raise ValueError(f"waveform_16k must be non-empty mono (T,) at 16 kHz, got shape {samples.shape}")
    return samples


class SyncNetV2Scorer:
    """The syncnet_python protocol with a :class:`SyncNetV2`: face crops + 16 kHz audio → [`SyncScores`].

    Args:
        model ([`SyncNetV2`]): The network (``SyncNetV2.from_syncnet_python`` for published numbers).
        device (`str` or `torch.device`, *optional*): Where to run; the model's device by default.
        batch_size (`int`, *optional*, defaults to 20): Windows per forward pass (the reference's).
    """

    window_frames = V2_WINDOW_FRAMES

    def __init__(self, model: SyncNetV2, device: str | torch.device | None = None, batch_size: int = 20):
        self.model = model.eval()
        self.device = torch.device(device) if device is not None else model.device
        self.model.to(self.device)
        self.batch_size = int(batch_size)

    def prepare(self, face_crops: Any, waveform_16k: Any) -> tuple[int, WindowEmbedder, WindowEmbedder]:
        """Window count and the two window embedders of a clip.

        Args:
            face_crops (`np.ndarray`): uint8 RGB ``(F, H, W, 3)`` face crops at 25 fps (resized to 224×224 with
                OpenCV's bilinear ``resize`` when they are another size, as the reference does).
            waveform_16k (`np.ndarray`): ``(T,)`` float samples in ``[-1, 1]`` at 16 kHz, aligned with frame 0.

        Returns:
            `tuple`: ``(num_windows, embed_video, embed_audio)`` for :func:`sync_scores_from_embedders`.
        """
        import cv2  # lazy: OpenCV (~0.1 s), needed only to resize the crops

        crops = _check_crops(face_crops)
        samples = _check_waveform(waveform_16k)
        if crops.shape[1:3] != (PROTOCOL_CROP_SIZE, PROTOCOL_CROP_SIZE):
            crops = np.stack([cv2.resize(crop, (PROTOCOL_CROP_SIZE, PROTOCOL_CROP_SIZE)) for crop in crops])
        # (F, H, W, RGB) -> (3, F, H, W) BGR, raw 0-255 values as the reference feeds cv2 frames
        video = torch.from_numpy(np.ascontiguousarray(crops[..., ::-1])).permute(3, 0, 1, 2).float()
        cepstra = torch.from_numpy(mfcc(pcm16(samples), PROTOCOL_SAMPLE_RATE).T.copy()).float()  # (13, T)
        num_frames = min(len(crops), samples.size // _SAMPLES_PER_FRAME)
        num_windows = num_frames - V2_WINDOW_FRAMES
        if num_windows < 1:
            raise ValueError(
                f"the clip is too short for SyncNet: {len(crops)} frames and {samples.size / 16000:.2f} s of audio "
                f"give {num_frames} usable frames; at least {V2_WINDOW_FRAMES + 1} are needed"
            )

        def embed_video(starts: Sequence[int]) -> torch.Tensor:
            clips = torch.stack([video[:, s : s + V2_WINDOW_FRAMES] for s in starts]).to(self.device)
            return self.model.forward_lip(clips)

        def embed_audio(starts: Sequence[int]) -> torch.Tensor:
            step = _MFCC_STEPS_PER_FRAME
            windows = torch.stack([cepstra[None, :, s * step : s * step + _MFCC_WINDOW] for s in starts])
            return self.model.forward_audio(windows.to(self.device))

        return num_windows, embed_video, embed_audio

    def score(self, face_crops: Any, waveform_16k: Any, vshift: int = 15) -> SyncScores:
        """LSE-C / LSE-D of a clip (see the module docstring)."""
        num_windows, embed_video, embed_audio = self.prepare(face_crops, waveform_16k)
        return sync_scores_from_embedders(
            num_windows, embed_video, embed_audio, vshift=vshift, batch_size=self.batch_size
        )


class StableSyncNetScorer:
    """The same offset protocol with EAD-Net's own :class:`~eadnet.models.syncnet.SyncNet` (LatentSync's
    StableSyncNet): windows of ``num_frames`` (16) aligned face crops and the matching mel window (0.64 s).

    Distances are between L2-normalised embeddings (``√(2 − 2 cos)``), so the numbers are on another scale than
    syncnet_v2's; compare them only with each other.

    Args:
        model ([`~eadnet.models.syncnet.SyncNet`]): A trained SyncNet.
        device (`str` or `torch.device`, *optional*): Where to run; the model's device by default.
        batch_size (`int`, *optional*, defaults to 8): Windows per forward pass.
    """

    def __init__(self, model: Any, device: str | torch.device | None = None, batch_size: int = 8):
        self.model = model.eval()
        self.device = torch.device(device) if device is not None else model.device
        self.model.to(self.device)
        self.batch_size = int(batch_size)

    @property
    def window_frames(self) -> int:
        return int(self.model.config.num_frames)

    def prepare(
        self, face_crops: Any, waveform_16k: Any, fps: float | None = None
    ) -> tuple[int, WindowEmbedder, WindowEmbedder]:
        """Window count and the two window embedders of a clip.

        Args:
            face_crops (`np.ndarray`): uint8 RGB ``(F, S, S, 3)`` aligned face crops (the :mod:`eadnet.face`
                template, as the SyncNet was trained on); resized to the model's ``image_size`` when needed.
            waveform_16k (`np.ndarray`): ``(T,)`` float samples at 16 kHz, aligned with frame 0.
            fps (`float`, *optional*): Frame rate of the crops; the model's ``fps`` by default.

        Returns:
            `tuple`: ``(num_windows, embed_video, embed_audio)``.
        """
        # lazy: EAD-Net's SyncNet module (librosa, diffusers attention; ~50 ms more), needed only by this scorer
        from eadnet.models.syncnet import mel_spectrogram, mel_start, mel_window, mel_window_length, stack_lower_half

        config = self.model.config
        fps = float(fps if fps is not None else config.fps)
        crops = _check_crops(face_crops)
        samples = _check_waveform(waveform_16k)
        mel = mel_spectrogram(samples.astype(np.float32))
        frames = torch.from_numpy(crops).permute(3, 0, 1, 2).float() / 127.5 - 1.0  # (3, F, S, S) in [-1, 1]
        length = mel_window_length(config.num_frames, fps)
        num_windows = 0
        while num_windows + config.num_frames <= len(crops) and mel_start(num_windows, fps) + length <= mel.shape[1]:
            num_windows += 1
        if num_windows < 1:
            raise ValueError(
                f"the clip is too short for the SyncNet's {config.num_frames}-frame windows ({len(crops)} frames, "
                f"{samples.size / 16000:.2f} s of audio)"
            )

        def embed_video(starts: Sequence[int]) -> torch.Tensor:
            clips = torch.stack([frames[:, s : s + config.num_frames] for s in starts]).to(self.device)
            visual = stack_lower_half(clips, config.image_size).to(self.model.dtype)
            return F.normalize(self.model.visual_encoder(visual).flatten(1), p=2, dim=1)

        def embed_audio(starts: Sequence[int]) -> torch.Tensor:
            windows = torch.stack([mel_window(mel, s, config.num_frames, fps) for s in starts]).to(self.device)
            return F.normalize(self.model.audio_encoder(windows.to(self.model.dtype)).flatten(1), p=2, dim=1)

        return num_windows, embed_video, embed_audio

    def score(self, face_crops: Any, waveform_16k: Any, vshift: int = 15, fps: float | None = None) -> SyncScores:
        """Offset search with the model's windows (see the class docstring)."""
        num_windows, embed_video, embed_audio = self.prepare(face_crops, waveform_16k, fps=fps)
        return sync_scores_from_embedders(
            num_windows, embed_video, embed_audio, vshift=vshift, batch_size=self.batch_size
        )


# ------------------------------------------------------------------------------------------------ face crops
def syncnet_face_crops(
    frames: Any,
    boxes: Any,
    crop_scale: float = 0.4,
    size: int = PROTOCOL_CROP_SIZE,
    median_kernel: int = 13,
    pad_value: int = 110,
) -> np.ndarray:
    """syncnet_python's face-track crop (``run_pipeline.crop_video``) from per-frame face boxes.

    The box half-size ``s = max(w, h) / 2`` and centre are median-filtered over ``median_kernel`` frames
    (``scipy.signal.medfilt``, zero-padded at the ends as there; shortened for clips of fewer frames); each frame is
    padded with grey ``pad_value`` and cut to rows ``cy − s .. cy + s (1 + 2 crop_scale)`` and columns
    ``cx ± s (1 + crop_scale)`` (a square of side ``2 s (1 + crop_scale)``, extending further below the box than
    above, to keep the mouth), then resized to ``size`` with OpenCV's bilinear ``resize``.

    Args:
        frames (`np.ndarray`): uint8 RGB ``(F, H, W, 3)``.
        boxes (`np.ndarray`): ``(F, 4)`` ``x0, y0, x1, y1`` face boxes in pixels (no missing frames: fill gaps first).
        crop_scale (`float`, *optional*, defaults to 0.4): Margin around the box, in units of its half-size.
        size (`int`, *optional*, defaults to 224): Output side.
        median_kernel (`int`, *optional*, defaults to 13): Odd length of the median filter (1 turns it off).
        pad_value (`int`, *optional*, defaults to 110): Grey level of the padding.

    Returns:
        `np.ndarray`: uint8 RGB ``(F, size, size, 3)``.
    """
    # lazy: OpenCV (~0.1 s) and scipy.signal (~1.2 s), needed only by these crops
    import cv2
    from scipy.signal import medfilt

    frames = np.asarray(frames)
    boxes = np.asarray(boxes, dtype=np.float64)
    if frames.ndim != 4 or frames.dtype != np.uint8 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 RGB (F, H, W, 3), got {frames.dtype} of shape {frames.shape}")
    if boxes.shape != (len(frames), 4) or not np.isfinite(boxes).all():
        raise ValueError(f"boxes must be finite (F, 4) with F = {len(frames)}, got shape {boxes.shape}")
    if median_kernel < 1 or median_kernel % 2 == 0:
        raise ValueError(f"median_kernel must be a positive odd number, got {median_kernel}")
    half = np.maximum(boxes[:, 3] - boxes[:, 1], boxes[:, 2] - boxes[:, 0]) / 2
    centre_y = (boxes[:, 1] + boxes[:, 3]) / 2
    centre_x = (boxes[:, 0] + boxes[:, 2]) / 2
    # The reference only crops tracks of >= 50 frames; a kernel longer than a short clip would make the zero-padded
    # median 0, so it is shortened to the clip's (odd) length.
    kernel = min(median_kernel, len(frames) if len(frames) % 2 else len(frames) - 1)
    if kernel > 1:
        half, centre_y, centre_x = (medfilt(v, kernel_size=kernel) for v in (half, centre_y, centre_x))
    crops = np.empty((len(frames), size, size, 3), dtype=np.uint8)
    for index, frame in enumerate(frames):
        s = float(half[index])
        border = int(s * (1 + 2 * crop_scale))
        padded = np.pad(frame, ((border, border), (border, border), (0, 0)), constant_values=pad_value)
        cy, cx = centre_y[index] + border, centre_x[index] + border
        face = padded[
            int(cy - s) : int(cy + s * (1 + 2 * crop_scale)),
            int(cx - s * (1 + crop_scale)) : int(cx + s * (1 + crop_scale)),
        ]
        if face.size == 0:
            raise ValueError(f"frame {index}: the face box {boxes[index].tolist()} gives an empty crop")
        crops[index] = cv2.resize(np.ascontiguousarray(face), (size, size))
    return crops
