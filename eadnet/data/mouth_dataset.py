"""Training data of the audio-to-mouth model (:class:`~eadnet.models.audio_to_mouth.AudioToMouthModel`): espeak-ng
speech, its Whisper features at 50 Hz and mouth-parameter targets from its phoneme timeline.

1. `plan_mouth_utterances` lists utterances ([`MouthUtteranceSpec`]): one or several sentences of the synthetic
   corpus (``eadnet/data/synthetic/sentences``) spoken by one espeak-ng voice at one rate and pitch, with silences
   before, between and after them (the pauses between sentences, where the mouth must close and where Whisper's
   last layers put "massive activations"), and optionally a noise floor and a gain, so that silence is not always
   digital zero. `plan_mouth_splits` makes the three splits:

   * ``train``: the training sentences (less those reserved for ``val``) in every voice but the held-out ones;
   * ``val``: the reserved training sentences in the training voices (monitoring during training);
   * ``test``: the held-out sentences (``sentences/heldout.txt``) in the held-out voices only.

2. `synthesize_utterance` speaks a spec: the sentences one by one (`synthesize_speech`), joined by silences, with one
   timeline whose inserted silences are pauses (``"_"``).
3. `build_mouth_features` encodes every utterance once with the frozen Whisper encoder and caches the stacked states
   (float16) with the timelines and the 16 kHz waveforms (int16; espeak-ng is not bit-exact from one call to the
   next, so an evaluation that needs the audio, e.g. for voice activity, reads it here instead of speaking again)
   in one safetensors file; a rerun with the same plan and encoder loads the file.
   The targets are not cached: `MouthFeatureSet.targets` computes them from the timelines
   (:func:`~eadnet.data.synthetic.visemes.mouth_params_from_phonemes` at the features' 50 Hz), so that a change of
   the viseme table needs no new features.
4. `MouthWindowDataset` cuts training windows out of a feature set for the trainers' loaders
   (`eadnet.data.loading.make_loader`).

```py
>>> from eadnet.data.mouth_dataset import build_mouth_features, plan_mouth_splits
>>> from eadnet.data.preprocess import resolve_audio_encoder
>>> splits = plan_mouth_splits(num_train=480, num_val=24, num_test=40, seed=0)
>>> features = build_mouth_features(splits["test"], resolve_audio_encoder("offline-demo"), "runs/mouth/test.safetensors")
>>> features.targets()[0].shape  # (T_whisper, 6) of the first utterance
```
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soxr
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from eadnet.data.synthetic.corpus import DEFAULT_HELDOUT_VOICES, HELDOUT_SENTENCES, TRAIN_SENTENCES
from eadnet.data.synthetic.speech import list_voices, synthesize_speech
from eadnet.data.synthetic.visemes import mouth_params_from_phonemes

if TYPE_CHECKING:  # pragma: no cover
    from eadnet.models.audio_encoder import WhisperAudioEncoder

logger = logging.getLogger(__name__)

__all__ = [
    "FEATURE_RATE",
    "MOUTH_SPLITS",
    "WAVEFORM_RATE",
    "MouthFeatureSet",
    "MouthUtterance",
    "MouthUtteranceSpec",
    "MouthWindowDataset",
    "build_mouth_features",
    "plan_mouth_splits",
    "plan_mouth_utterances",
    "synthesize_utterance",
]

MOUTH_SPLITS = ("train", "val", "test")
#: Rate of the Whisper features and of the targets (Hz).
FEATURE_RATE = 50.0
#: Bump when the cached file's layout changes: older caches are rebuilt.
_CACHE_VERSION = 3
#: Sample rate of the waveforms kept with the features (Whisper's and Silero's).
WAVEFORM_RATE = 16000


# ---------------------------------------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class MouthUtteranceSpec:
    """One training or evaluation utterance.

    Args:
        sentences (`tuple[str]`): The sentences, spoken in order.
        voice (`str`): espeak-ng voice (`eadnet.data.synthetic.speech.list_voices`).
        rate (`int`): Words per minute.
        pitch (`int`): Base pitch 0–99.
        silences_s (`tuple[float]`): Seconds of silence before the first sentence, between the sentences and after
            the last one (``len(sentences) + 1`` values).
        noise_db (`float`, *optional*): RMS of white noise added to the whole utterance, dB re full scale; `None`
            keeps espeak's digital silence.
        gain_db (`float`, *optional*, defaults to 0): Gain applied to the speech (before the noise).
        split (`str`, *optional*, defaults to `"train"`): ``train``, ``val`` or ``test``.
        seed (`int`, *optional*, defaults to 0): Seed of the noise.
    """

    sentences: tuple[str, ...]
    voice: str
    rate: int
    pitch: int
    silences_s: tuple[float, ...]
    noise_db: float | None = None
    gain_db: float = 0.0
    split: str = "train"
    seed: int = 0

    def __post_init__(self):
        if not self.sentences:
            raise ValueError("an utterance needs at least one sentence")
        if len(self.silences_s) != len(self.sentences) + 1 or any(s < 0 for s in self.silences_s):
            raise ValueError(f"silences_s must be {len(self.sentences) + 1} values >= 0, got {self.silences_s!r}")
        if self.split not in MOUTH_SPLITS:
            raise ValueError(f"split must be one of {MOUTH_SPLITS}, got {self.split!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> MouthUtteranceSpec:
        data = dict(data)
        data["sentences"] = tuple(data["sentences"])
        data["silences_s"] = tuple(data["silences_s"])
        return cls(**data)


def _rounds(items: Sequence, rng: np.random.Generator) -> Iterator:
    """Endless shuffled rounds over ``items``: each once per round."""
    while True:
        for index in rng.permutation(len(items)):
            yield items[index]


def plan_mouth_utterances(
    split: str,
    num_utterances: int,
    sentences: Sequence[str],
    voices: Sequence[str],
    seed: int = 0,
    sentences_per_utterance: Sequence[int] = (1, 1, 2, 3, 4, 5, 6),
    pause_range: tuple[float, float] = (0.2, 1.0),
    edge_range: tuple[float, float] = (0.05, 0.6),
    rate_range: tuple[int, int] = (120, 200),
    pitch_range: tuple[int, int] = (30, 70),
    noise_probability: float = 0.5,
    noise_db_range: tuple[float, float] = (-70.0, -40.0),
    gain_db_range: tuple[float, float] = (-12.0, 0.0),
) -> list[MouthUtteranceSpec]:
    """Plans ``num_utterances`` utterances of one split.

    Sentences and voices are drawn in shuffled rounds (every sentence and voice equally often); the number of
    sentences of each utterance is drawn from ``sentences_per_utterance`` (repeat a value to draw it more often);
    pauses, edge silences, rate, pitch, noise level and gain uniformly from their ranges (both ends included).

    Args:
        split (`str`): ``train``, ``val`` or ``test``.
        num_utterances (`int`): Utterances to plan.
        sentences (`Sequence[str]`): Sentences to draw from.
        voices (`Sequence[str]`): espeak-ng voices to draw from.
        seed (`int`, *optional*, defaults to 0): Seed of every draw.
        sentences_per_utterance (`Sequence[int]`, *optional*): Sentence counts to draw from.
        pause_range (`tuple[float, float]`, *optional*, defaults to `(0.2, 1.0)`): Silence between sentences (s).
        edge_range (`tuple[float, float]`, *optional*, defaults to `(0.05, 0.6)`): Silence before and after (s).
        rate_range (`tuple[int, int]`, *optional*, defaults to `(120, 200)`): Words per minute.
        pitch_range (`tuple[int, int]`, *optional*, defaults to `(30, 70)`): espeak pitch.
        noise_probability (`float`, *optional*, defaults to 0.5): Share of utterances with a noise floor.
        noise_db_range (`tuple[float, float]`, *optional*, defaults to `(-70, -40)`): Noise RMS (dBFS).
        gain_db_range (`tuple[float, float]`, *optional*, defaults to `(-12, 0)`): Speech gain (dB).

    Returns:
        `list[MouthUtteranceSpec]`.
    """
    if isinstance(num_utterances, bool) or not isinstance(num_utterances, int) or num_utterances < 0:
        raise ValueError(f"num_utterances must be an int >= 0, got {num_utterances!r}")
    if num_utterances and (not sentences or not voices):
        raise ValueError(f"the {split} split needs sentences and voices to draw from")
    if not sentences_per_utterance or min(sentences_per_utterance) < 1:
        raise ValueError(f"sentences_per_utterance must hold counts >= 1, got {sentences_per_utterance!r}")
    if not 0.0 <= noise_probability <= 1.0:
        raise ValueError(f"noise_probability must be in [0, 1], got {noise_probability!r}")
    rng = np.random.default_rng([seed, MOUTH_SPLITS.index(split) if split in MOUTH_SPLITS else 99])
    sentence_order, voice_order = _rounds(list(sentences), rng), _rounds(list(voices), rng)
    specs = []
    for _ in range(num_utterances):
        count = int(rng.choice(list(sentences_per_utterance)))
        chosen = tuple(next(sentence_order) for _ in range(count))
        silences = (
            rng.uniform(*edge_range),
            *rng.uniform(*pause_range, size=count - 1),
            rng.uniform(*edge_range),
        )
        noisy = rng.random() < noise_probability
        noise_db = float(rng.uniform(*noise_db_range))
        specs.append(
            MouthUtteranceSpec(
                sentences=chosen,
                voice=next(voice_order),
                rate=int(rng.integers(rate_range[0], rate_range[1] + 1)),
                pitch=int(rng.integers(pitch_range[0], pitch_range[1] + 1)),
                silences_s=tuple(round(float(s), 3) for s in silences),
                noise_db=round(noise_db, 1) if noisy else None,
                gain_db=round(float(rng.uniform(*gain_db_range)), 1),
                split=split,
                seed=int(rng.integers(2**31)),
            )
        )
    return specs


def plan_mouth_splits(
    num_train: int = 480,
    num_val: int = 24,
    num_test: int = 40,
    seed: int = 0,
    voices: Sequence[str] | None = None,
    heldout_voices: Sequence[str] = DEFAULT_HELDOUT_VOICES,
    num_val_sentences: int = 8,
    train_sentences: Sequence[str] = TRAIN_SENTENCES,
    heldout_sentences: Sequence[str] = HELDOUT_SENTENCES,
    **draws,
) -> dict[str, list[MouthUtteranceSpec]]:
    """Plans the ``train``, ``val`` and ``test`` utterances (see the module docstring).

    Args:
        num_train (`int`, *optional*, defaults to 480): Training utterances.
        num_val (`int`, *optional*, defaults to 24): Validation utterances (reserved training sentences, training
            voices).
        num_test (`int`, *optional*, defaults to 40): Test utterances (held-out sentences, held-out voices).
        seed (`int`, *optional*, defaults to 0): Seed of every draw.
        voices (`Sequence[str]`, *optional*): All voices; defaults to `list_voices()`.
        heldout_voices (`Sequence[str]`, *optional*, defaults to the corpus's `("en-gb-x-rp+f4",)`): Test voices.
        num_val_sentences (`int`, *optional*, defaults to 8): Training sentences reserved for ``val`` (the last ones
            of a seeded shuffle).
        train_sentences (`Sequence[str]`, *optional*): Sentences of ``train`` and ``val``.
        heldout_sentences (`Sequence[str]`, *optional*): Sentences of ``test``; none may be a training sentence.
        **draws: The remaining arguments of `plan_mouth_utterances` (``sentences_per_utterance``, ranges …).

    Returns:
        `dict[str, list[MouthUtteranceSpec]]`: ``{"train": …, "val": …, "test": …}``.
    """
    voices = list(dict.fromkeys(list_voices() if voices is None else voices))
    heldout_voices = list(dict.fromkeys([heldout_voices] if isinstance(heldout_voices, str) else heldout_voices))
    if not heldout_voices or any(voice not in voices for voice in heldout_voices):
        raise ValueError(f"held-out voices must be among the voices {voices}, got {heldout_voices}")
    train_voices = [voice for voice in voices if voice not in heldout_voices]
    if not train_voices:
        raise ValueError("the held-out voices leave no voice to train on")
    shared = {" ".join(s.split()).casefold() for s in train_sentences} & {
        " ".join(s.split()).casefold() for s in heldout_sentences
    }
    if shared:
        raise ValueError(f"sentences in both the training and the held-out set: {sorted(shared)[:3]}")
    order = np.random.default_rng(seed).permutation(len(train_sentences))
    num_val_sentences = min(num_val_sentences, len(train_sentences) - 1) if num_val else 0
    val_sentences = [train_sentences[i] for i in sorted(order[len(order) - num_val_sentences :])]
    fit_sentences = [train_sentences[i] for i in sorted(order[: len(order) - num_val_sentences])]
    return {
        "train": plan_mouth_utterances("train", num_train, fit_sentences, train_voices, seed, **draws),
        "val": plan_mouth_utterances("val", num_val, val_sentences, train_voices, seed, **draws),
        "test": plan_mouth_utterances("test", num_test, list(heldout_sentences), heldout_voices, seed, **draws),
    }


# ---------------------------------------------------------------------------------------------------------- speech
@dataclass
class MouthUtterance:
    """A spoken [`MouthUtteranceSpec`].

    Args:
        spec ([`MouthUtteranceSpec`]): What was spoken.
        waveform (`np.ndarray`): float32 mono samples.
        sample_rate (`int`): Samples per second.
        timeline (`list[tuple[float, float, str]]`): ``(start_s, end_s, phoneme)`` covering the waveform, ``"_"``
            for pauses (the inserted silences included).
    """

    spec: MouthUtteranceSpec
    waveform: np.ndarray
    sample_rate: int
    timeline: list[tuple[float, float, str]] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.waveform) / float(self.sample_rate)


def _append(timeline: list[tuple[float, float, str]], start: float, end: float, phoneme: str) -> None:
    if end <= start:
        return
    if phoneme == "_" and timeline and timeline[-1][2] == "_":
        timeline[-1] = (timeline[-1][0], end, "_")
    else:
        timeline.append((start, end, phoneme))


def synthesize_utterance(spec: MouthUtteranceSpec) -> MouthUtterance:
    """Speaks an utterance: each sentence with espeak-ng, joined by the spec's silences, gain and noise applied.

    Returns:
        [`MouthUtterance`]: its waveform (espeak's sample rate) and timeline.

    Raises:
        `eadnet.data.synthetic.speech.SpeechBackendError`: no espeak-ng.
    """
    pieces: list[np.ndarray] = []
    timeline: list[tuple[float, float, str]] = []
    sample_rate, cursor = 0, 0
    for index, sentence in enumerate(spec.sentences):
        speech = synthesize_speech(sentence, voice=spec.voice, rate=spec.rate, pitch=spec.pitch)
        if sample_rate and speech.sample_rate != sample_rate:
            raise RuntimeError("espeak-ng changed its sample rate between two sentences")
        sample_rate = speech.sample_rate
        silence = int(round(spec.silences_s[index] * sample_rate))
        pieces.append(np.zeros(silence, dtype=np.float32))
        _append(timeline, cursor / sample_rate, (cursor + silence) / sample_rate, "_")
        cursor += silence
        offset = cursor / sample_rate
        for start, end, phoneme in speech.timeline:
            _append(timeline, offset + start, offset + end, phoneme)
        pieces.append(speech.waveform)
        cursor += len(speech.waveform)
    silence = int(round(spec.silences_s[-1] * sample_rate))
    pieces.append(np.zeros(silence, dtype=np.float32))
    _append(timeline, cursor / sample_rate, (cursor + silence) / sample_rate, "_")
    waveform = np.concatenate(pieces) * np.float32(10.0 ** (spec.gain_db / 20.0))
    if spec.noise_db is not None:
        noise = np.random.default_rng(spec.seed).standard_normal(len(waveform)).astype(np.float32)
        waveform = waveform + noise * np.float32(10.0 ** (spec.noise_db / 20.0))
    return MouthUtterance(spec, np.clip(waveform, -1.0, 1.0).astype(np.float32), sample_rate, timeline)


# ---------------------------------------------------------------------------------------------------------- features
def num_feature_frames(duration_s: float, feature_rate: float = FEATURE_RATE) -> int:
    """Whisper frames of a waveform of ``duration_s``: ``ceil(duration × 50)`` (as `encode_whisper_features`)."""
    return max(1, math.ceil(duration_s * feature_rate - 1e-6))


@dataclass
class MouthFeatureSet:
    """Whisper features of a list of utterances, concatenated, with their timelines.

    Args:
        features (`torch.Tensor` of shape `(N, num_states, feature_dim)`): Every utterance's stacked Whisper states
            (float16), one after the other.
        offsets (`torch.LongTensor` of shape `(U + 1,)`): Utterance ``u`` holds frames ``offsets[u]:offsets[u + 1]``.
        specs (`list[MouthUtteranceSpec]`): The utterances.
        timelines (`list[list[tuple[float, float, str]]]`): Their phoneme timelines.
        waveforms (`torch.Tensor` of shape `(M,)`): Every utterance's 16 kHz samples (int16), one after the other.
        sample_offsets (`torch.LongTensor` of shape `(U + 1,)`): Utterance ``u`` holds samples
            ``sample_offsets[u]:sample_offsets[u + 1]``.
        feature_rate (`float`, *optional*, defaults to 50): Frames per second.
    """

    features: torch.Tensor
    offsets: torch.Tensor
    specs: list[MouthUtteranceSpec]
    timelines: list[list[tuple[float, float, str]]]
    waveforms: torch.Tensor
    sample_offsets: torch.Tensor
    feature_rate: float = FEATURE_RATE

    def __len__(self) -> int:
        return len(self.specs)

    def lengths(self) -> list[int]:
        """Frames of each utterance."""
        return (self.offsets[1:] - self.offsets[:-1]).tolist()

    def utterance_features(self, index: int) -> torch.Tensor:
        """``(T_u, num_states, feature_dim)`` float16 features of utterance ``index``."""
        return self.features[int(self.offsets[index]) : int(self.offsets[index + 1])]

    def utterance_waveform(self, index: int) -> np.ndarray:
        """float32 ``(N,)`` samples at 16 kHz (`WAVEFORM_RATE`) of utterance ``index``, as they were encoded."""
        samples = self.waveforms[int(self.sample_offsets[index]) : int(self.sample_offsets[index + 1])]
        return samples.numpy().astype(np.float32) / 32768.0

    def targets(self) -> list[np.ndarray]:
        """Mouth-parameter targets ``(T_u, 6)`` per utterance, at the features' rate and frame centres
        ``(j + 0.5) / feature_rate`` (as `sample_at_frames` reads the model's output)."""
        return [
            mouth_params_from_phonemes(timeline, length, fps=self.feature_rate)
            for timeline, length in zip(self.timelines, self.lengths(), strict=True)
        ]


def plan_digest(specs: Sequence[MouthUtteranceSpec], encoder_key: dict) -> str:
    """SHA-256 of the plan and the encoder's identity: what a cached feature file must match."""
    payload = json.dumps(
        {"version": _CACHE_VERSION, "encoder": encoder_key, "specs": [spec.to_dict() for spec in specs]},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _encoder_key(audio_encoder: WhisperAudioEncoder) -> dict:
    config = audio_encoder.encoder.config
    return {
        "name_or_path": os.path.basename(str(getattr(config, "_name_or_path", "")).rstrip("/")),
        "num_states": audio_encoder.num_states,
        "output_dim": audio_encoder.output_dim,
        "num_mel_bins": config.num_mel_bins,
    }


_TENSORS = ("features", "offsets", "waveforms", "sample_offsets")


def _load_cache(path: Path, digest: str) -> MouthFeatureSet | None:
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            if metadata.get("digest") != digest:
                logger.info("%s was made from another plan or encoder: rebuilding it", path)
                return None
            tensors = {name: handle.get_tensor(name) for name in _TENSORS}
    except Exception as error:  # a truncated or foreign file: rebuild it
        logger.warning("cannot read %s (%s): rebuilding it", path, error)
        return None
    data = json.loads(metadata["data"])
    return MouthFeatureSet(
        features=tensors["features"],
        offsets=tensors["offsets"],
        specs=[MouthUtteranceSpec.from_dict(spec) for spec in data["specs"]],
        timelines=[[(float(a), float(b), str(p)) for a, b, p in timeline] for timeline in data["timelines"]],
        waveforms=tensors["waveforms"],
        sample_offsets=tensors["sample_offsets"],
        feature_rate=float(data["feature_rate"]),
    )


def _save_cache(path: Path, feature_set: MouthFeatureSet, digest: str) -> None:
    data = {
        "specs": [spec.to_dict() for spec in feature_set.specs],
        "timelines": [[[round(a, 5), round(b, 5), p] for a, b, p in t] for t in feature_set.timelines],
        "feature_rate": feature_set.feature_rate,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    save_file(
        {name: getattr(feature_set, name).contiguous() for name in _TENSORS},
        str(partial),
        metadata={"digest": digest, "data": json.dumps(data)},
    )
    os.replace(partial, path)


def build_mouth_features(
    specs: Sequence[MouthUtteranceSpec],
    audio_encoder: WhisperAudioEncoder,
    cache_file: str | os.PathLike | None = None,
) -> MouthFeatureSet:
    """Speaks every utterance and encodes it with the frozen Whisper encoder (one utterance at a time, as the
    pipeline encodes a clip: 30 s chunks, the last one zero-padded); cached in ``cache_file``.

    Args:
        specs (`Sequence[MouthUtteranceSpec]`): The utterances (e.g. a split of `plan_mouth_splits`).
        audio_encoder ([`~eadnet.models.audio_encoder.WhisperAudioEncoder`]): The frozen encoder.
        cache_file (`str` or `os.PathLike`, *optional*): A ``.safetensors`` file: loaded when it was made from the
            same specs and encoder, else (re)written.

    Returns:
        [`MouthFeatureSet`].
    """
    specs = list(specs)
    if not specs:
        raise ValueError("no utterances to encode")
    digest = plan_digest(specs, _encoder_key(audio_encoder))
    path = None if cache_file is None else Path(cache_file).expanduser()
    if path is not None:
        cached = _load_cache(path, digest)
        if cached is not None:
            logger.info("loaded the features of %d utterances from %s", len(cached), path)
            return cached
    # 1. Speak everything first (espeak-ng is fast), at the encoder's 16 kHz, so that the size of the features is
    # known and they fill one tensor allocated up front. Appending a small float16 copy per utterance after each of
    # the encoder's large float32 results fragmented the heap: the process grew by ~11 MB per utterance (7 GB peak
    # for the recipe's 480), none of it in use.
    waveforms: list[np.ndarray] = []
    timelines = []
    for spec in specs:
        utterance = synthesize_utterance(spec)
        samples = soxr.resample(utterance.waveform, utterance.sample_rate, WAVEFORM_RATE)
        waveforms.append(np.round(np.clip(samples, -1.0, 32767 / 32768) * 32768).astype(np.int16))
        timelines.append(utterance.timeline)
    rate = audio_encoder.sampling_rate / audio_encoder.samples_per_token
    lengths = [num_feature_frames(len(samples) / WAVEFORM_RATE, rate) for samples in waveforms]
    offsets = torch.cumsum(torch.tensor([0, *lengths]), 0)
    logger.info("spoke %d %s utterances (%.0f s)", len(specs), specs[0].split, sum(lengths) / rate)
    # 2. Encode each one as the pipeline encodes a clip.
    features = torch.empty((int(offsets[-1]), audio_encoder.num_states, audio_encoder.output_dim), dtype=torch.float16)
    for number, samples in enumerate(waveforms, 1):
        states = audio_encoder.encode_whisper_features(samples.astype(np.float32) / 32768.0, WAVEFORM_RATE)[0]
        if states.shape[0] != lengths[number - 1]:
            raise RuntimeError(f"the encoder gave {states.shape[0]} frames for {lengths[number - 1]} expected")
        features[int(offsets[number - 1]) : int(offsets[number])].copy_(states)
        if number % 50 == 0 or number == len(specs):
            logger.info("encoded %d/%d %s utterances", number, len(specs), specs[0].split)
    num_samples = torch.tensor([0] + [len(samples) for samples in waveforms])
    feature_set = MouthFeatureSet(
        features=features,
        offsets=offsets,
        specs=specs,
        timelines=timelines,
        waveforms=torch.from_numpy(np.concatenate(waveforms)),
        sample_offsets=torch.cumsum(num_samples, 0),
        feature_rate=rate,
    )
    if path is not None:
        _save_cache(path, feature_set, digest)
    return feature_set


# ---------------------------------------------------------------------------------------------------------- windows
class MouthWindowDataset(torch.utils.data.Dataset):
    r"""Training windows of a [`MouthFeatureSet`], addressed by ``(index, epoch)`` keys (`make_loader`).

    An utterance gives ``ceil(T / window_frames)`` items; each draws a window of ``window_frames`` frames at a
    position seeded by ``(seed, index, epoch)``. A shorter utterance is taken whole and padded. Frames within
    ``margin`` of a window edge that is not the utterance's own start or end are left out of the loss: the model
    would see zero padding there instead of the real neighbours.

    Each item is a dict: ``features`` `(window_frames, S, D)` float32, ``targets`` `(window_frames, 6)`,
    ``frame_mask`` `(window_frames,)` bool (real frames), ``loss_mask`` `(window_frames,)` float32.

    Args:
        feature_set ([`MouthFeatureSet`]): The features and timelines.
        window_frames (`int`, *optional*, defaults to 400): Frames per window (8 s at 50 Hz).
        margin (`int`, *optional*, defaults to 16): Frames left out of the loss at cut edges (the model's
            receptive half-width).
        seed (`int`, *optional*, defaults to 0): Seed of the window positions.
    """

    def __init__(self, feature_set: MouthFeatureSet, window_frames: int = 400, margin: int = 16, seed: int = 0):
        if window_frames < 1 or margin < 0 or 2 * margin >= window_frames:
            raise ValueError(
                f"need window_frames >= 1 and 0 <= 2 * margin < window_frames, got {window_frames}, {margin}"
            )
        self.feature_set = feature_set
        self.window_frames = int(window_frames)
        self.margin = int(margin)
        self.seed = int(seed)
        self.targets = [torch.from_numpy(target) for target in feature_set.targets()]
        self.items = [
            utterance
            for utterance, length in enumerate(feature_set.lengths())
            for _ in range(max(1, math.ceil(length / self.window_frames)))
        ]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: tuple[int, int] | int) -> dict[str, torch.Tensor]:
        index, epoch = key if isinstance(key, tuple) else (key, 0)
        utterance = self.items[int(index)]
        features = self.feature_set.utterance_features(utterance)
        targets = self.targets[utterance]
        length, size = features.shape[0], self.window_frames
        start = 0
        if length > size:
            start = int(np.random.default_rng([self.seed, int(index), int(epoch)]).integers(0, length - size + 1))
        stop = min(length, start + size)
        used = stop - start
        window = torch.zeros((size, *features.shape[1:]), dtype=torch.float32)
        window[:used] = features[start:stop].float()
        target = torch.zeros((size, targets.shape[1]), dtype=torch.float32)
        target[:used] = targets[start:stop]
        frame_mask = torch.zeros(size, dtype=torch.bool)
        frame_mask[:used] = True
        loss_mask = frame_mask.float()
        if start > 0:
            loss_mask[: self.margin] = 0.0
        if stop < length:
            loss_mask[used - self.margin : used] = 0.0
        return {"features": window, "targets": target, "frame_mask": frame_mask, "loss_mask": loss_mask}
