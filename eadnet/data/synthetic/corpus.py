"""Training data for a small offline EAD-Net: synthetic talking clips of built-in sentences, planned with held-out
sentences, voices and emotion–intensity pairs, rendered and preprocessed into an `eadnet.data.format` dataset.

1. `plan_corpus` lists the clips ([`CorpusClipSpec`]): sentences, espeak-ng voices, speaking rates and pitches, the
   eight MEAD emotions at three intensities, and a random identity augmentation per clip (crop, scale, rotation,
   colour, lighting, flip: `IdentityAugmentation.random`). Every clip belongs to a split:

   * ``train``: `TRAIN_SENTENCES` (``sentences/train.txt``, less those reserved for ``val``), every voice but the
     held-out ones, every emotion–intensity pair but the held-out ones (all 24 by default);
   * ``val``: the reserved training sentences, with training voices and pairs: the training distribution on words
     no training clip speaks;
   * ``test``: `HELDOUT_SENTENCES` (``sentences/heldout.txt``) only, each clip either spoken by a held-out voice
     (any pair) or showing a held-out pair (a training voice).

   A clip's ``heldout`` tags say what no clip of an earlier split (``train`` < ``val`` < ``test``) shares with it:
   ``"sentence"``, ``"voice"``, ``"emotion_intensity"``.
2. `build_corpus` renders the videos into ``OUT/raw/`` (`render_corpus_videos`: `write_synthetic_videos` clip by
   clip, and a ``labels.jsonl`` whose rows add ``split`` and ``heldout``) and preprocesses them into
   ``OUT/dataset/`` (`preprocess_videos`, one clip per sentence). The label rows reach the manifest: ``split`` as
   the clip's split, ``speaker`` (one per voice), the rest (``text``, ``voice``, ``heldout``, ``openness`` …) in
   ``ClipRecord.extra``. Both steps resume: a rerun renders only missing videos and preprocesses only missing clips.
3. `describe_corpus` counts a dataset's clips per split, emotion, intensity and voice from its manifest and raises
   [`CorpusLeakError`] when a held-out clip shares what it is tagged with with an earlier split.

All sentences were written for this project and are free to use.

```py
>>> from eadnet.data.synthetic.corpus import build_corpus, describe_corpus, plan_corpus
>>> specs = plan_corpus(num_train=400, num_heldout=48, seed=0)
>>> dataset = build_corpus("data/offline-corpus", specs, crop_size=64, workers=2)
>>> describe_corpus(dataset)["heldout"]["voices"]
['en-gb-x-rp+f4']
```
"""

from __future__ import annotations

import collections
import json
import logging
import os
import re
import shutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from eadnet.assets import example_portrait_path
from eadnet.data.format import (
    FRAMES_MP4,
    FRAMES_NPY,
    REFERENCE_NPY,
    DatasetError,
    clip_dir,
    read_dataset_info,
    read_manifest,
    write_clip_reference,
)
from eadnet.data.preprocess import PreprocessConfig, find_videos, preprocess_videos, resolve_audio_encoder
from eadnet.data.synthetic.speech import list_voices
from eadnet.data.synthetic.talker import (
    LABELS_FILE,
    IdentityAugmentation,
    SyntheticClipSpec,
    SyntheticTalker,
    write_synthetic_videos,
)
from eadnet.data.workers import map_in_processes
from eadnet.emotion import EMOTION_LABELS, check_intensity, normalize_label
from eadnet.face import FaceProcessor, NoFaceError
from eadnet.face.alignment import warp_to_crop

# eadnet.io (PIL, soundfile, soxr) is imported where a video is read or written, so that importing
# `eadnet.data.synthetic` for its plan or its speech does not load it.

if TYPE_CHECKING:  # pragma: no cover
    from eadnet.models.audio_encoder import WhisperAudioEncoder

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_HELDOUT_VOICES",
    "HELDOUT_SENTENCES",
    "HELDOUT_TAGS",
    "TRAIN_SENTENCES",
    "CorpusClipSpec",
    "CorpusLeakError",
    "build_corpus",
    "describe_corpus",
    "plan_corpus",
    "render_corpus_videos",
]

# ------------------------------------------------------------------------------------------------------ sentences
# One sentence a line, 2-4 s each at 130-180 words per minute with every voice of
# `eadnet.data.synthetic.speech.list_voices`; every fifth sentence written went to the held-out set.
_SENTENCES_DIR = Path(__file__).resolve().parent / "sentences"


def _read_sentences(name: str) -> tuple[str, ...]:
    """The sentences of ``sentences/{name}.txt`` in file order (`plan_corpus` draws them by position: reordering a
    file changes every plan)."""
    text = (_SENTENCES_DIR / f"{name}.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


#: Sentences of the training (and validation) clips.
TRAIN_SENTENCES: tuple[str, ...] = _read_sentences("train")
#: Sentences kept for the held-out test clips only.
HELDOUT_SENTENCES: tuple[str, ...] = _read_sentences("heldout")

# ------------------------------------------------------------------------------------------------------ settings
SPLITS = ("train", "val", "test")
#: What a held-out clip shares with no clip of an earlier split.
HELDOUT_TAGS = ("sentence", "voice", "emotion_intensity")
#: Voice kept for the test split by default (one of `eadnet.data.synthetic.speech.list_voices`).
DEFAULT_HELDOUT_VOICES = ("en-gb-x-rp+f4",)
#: Speaking rates (words per minute) and voice pitches drawn per clip, both ends included.
RATE_RANGE = (130, 180)
PITCH_RANGE = (35, 65)
#: Clip lengths given to `preprocess_videos`: every sentence (2-4 s) becomes exactly one clip.
MIN_CLIP_SECONDS = 1.5
MAX_CLIP_SECONDS = 6.0
#: Folders of `build_corpus`'s output.
RAW_DIR = "raw"
DATASET_DIR = "dataset"

_STAGING = ".staging"  # hidden: `find_videos` does not look inside
_VAL_SENTENCE_FRACTION = 0.1
_VAL_FRACTION = 0.06
_SPLIT_ORDER = {split: rank for rank, split in enumerate(SPLITS)}
_IDENTITY_FIELDS = (
    "text",
    "voice",
    "rate",
    "pitch",
    "emotion",
    "intensity",
    "speaker",
    "seed",
    "portrait",
    "augmentation",
    "split",
    "heldout",
)


class CorpusLeakError(DatasetError):
    """A held-out clip shares its sentence, voice or emotion–intensity pair with a clip of an earlier split."""


@dataclass
class CorpusClipSpec(SyntheticClipSpec):
    """A [`~eadnet.data.synthetic.SyntheticClipSpec`] with the split it belongs to.

    Args:
        split (`str`, *optional*, defaults to `"train"`): ``"train"``, ``"val"`` or ``"test"``.
        heldout (`tuple[str]`, *optional*, defaults to `()`): What no clip of an earlier split (``train`` <
            ``val`` < ``test``) shares with this one: ``"sentence"``, ``"voice"``, ``"emotion_intensity"``. Training
            clips have none.

    The other arguments are those of [`~eadnet.data.synthetic.SyntheticClipSpec`].
    """

    split: str = "train"
    heldout: tuple[str, ...] = ()

    def __post_init__(self):
        super().__post_init__()
        self.heldout = tuple(self.heldout)
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {self.split!r}")
        unknown = sorted(set(self.heldout) - set(HELDOUT_TAGS))
        if unknown:
            raise ValueError(f"heldout tags must be among {HELDOUT_TAGS}, got {unknown}")
        if self.split == "train" and self.heldout:
            raise ValueError(f"a training clip cannot be held out, got heldout={self.heldout!r}")


# -------------------------------------------------------------------------------------------------------- plan
def _normalize_text(text: str) -> str:
    return " ".join(text.split()).casefold()


def _unique_sentences(sentences: Iterable[str], name: str) -> list[str]:
    unique: dict[str, str] = {}
    for sentence in sentences:
        if not isinstance(sentence, str) or not sentence.strip():
            raise ValueError(f"{name} must hold non-empty strings, got {sentence!r}")
        unique.setdefault(_normalize_text(sentence), " ".join(sentence.split()))
    return list(unique.values())


def _parse_pairs(heldout_emotions: Iterable[str | tuple[str, int]]) -> list[tuple[str, int]]:
    """``("happy", 3)``, ``"happy:3"`` or ``"happy"`` (all three levels) → sorted unique ``(label, level)`` pairs."""
    if isinstance(heldout_emotions, str):
        heldout_emotions = [heldout_emotions]
    pairs = set()
    for item in heldout_emotions:
        if isinstance(item, str) and ":" not in item:
            pairs.update((normalize_label(item), level) for level in (1, 2, 3))
            continue
        emotion, level = item.split(":", 1) if isinstance(item, str) else item
        try:
            level = int(level)
        except (TypeError, ValueError):
            raise ValueError(f"held-out intensity must be 1, 2 or 3, got {level!r} in {item!r}") from None
        pairs.add((normalize_label(str(emotion).strip()), check_intensity(level)))
    return sorted(pairs)


def _speaker_name(voice: str) -> str:
    """Speaker folder of a voice: ``en-us+f3`` → ``syn-en-us-f3``."""
    return "syn-" + (re.sub(r"[^A-Za-z0-9_.-]+", "-", voice).strip("-") or "voice")


def _rounds(items: Sequence[Any], rng: np.random.Generator) -> Iterator[Any]:
    """Endless shuffled rounds over ``items``: each item once per round, so that any ``len(items)`` consecutive
    draws cover them all."""
    while True:
        for index in rng.permutation(len(items)):
            yield items[index]


def _generators(seed_sequence: np.random.SeedSequence, count: int) -> list[np.random.Generator]:
    return [np.random.default_rng(child) for child in seed_sequence.spawn(count)]


def _make_specs(
    split: str,
    count: int,
    sentences: Sequence[str],
    factors: Iterator[tuple[str, tuple[str, int], tuple[str, ...]]],
    rng_sentences: np.random.Generator,
    rng_params: np.random.Generator,
    augmentation_strength: float,
) -> list[CorpusClipSpec]:
    """``count`` specs of one split; ``factors`` yields ``(voice, (emotion, intensity), heldout tags)``."""
    order = _rounds(sentences, rng_sentences)
    specs = []
    for _ in range(count):
        voice, (emotion, intensity), heldout = next(factors)
        rate = int(rng_params.integers(RATE_RANGE[0], RATE_RANGE[1] + 1))
        pitch = int(rng_params.integers(PITCH_RANGE[0], PITCH_RANGE[1] + 1))
        seed = int(rng_params.integers(2**31))
        augmentation_seed = int(rng_params.integers(2**31))
        augmentation = (
            IdentityAugmentation.random(augmentation_seed, augmentation_strength)
            if augmentation_strength > 0
            else None
        )
        specs.append(
            CorpusClipSpec(
                text=next(order),
                emotion=emotion,
                intensity=intensity,
                voice=voice,
                rate=rate,
                pitch=pitch,
                speaker=_speaker_name(voice),
                seed=seed,
                augmentation=augmentation,
                split=split,
                heldout=heldout,
            )
        )
    return specs


def plan_corpus(
    num_train: int = 400,
    num_heldout: int = 48,
    num_val: int | None = None,
    seed: int = 0,
    heldout_voices: Sequence[str] = DEFAULT_HELDOUT_VOICES,
    heldout_emotions: Iterable[str | tuple[str, int]] = (),
    voices: Sequence[str] | None = None,
    train_sentences: Sequence[str] = TRAIN_SENTENCES,
    heldout_sentences: Sequence[str] = HELDOUT_SENTENCES,
    augmentation_strength: float = 1.0,
) -> list[CorpusClipSpec]:
    """Plans a corpus of synthetic talking clips with ``train``, ``val`` and ``test`` splits (see the module
    docstring).

    Every factor is drawn in shuffled rounds, so that ``num_train >= 24`` training clips show every training
    emotion–intensity pair, and any run of as many clips as there are training voices hears every training voice.
    Rates, pitches, head-motion seeds and augmentations are drawn per clip. Each split has its own random streams,
    so the first ``n`` clips of a split do not depend on the other splits' sizes nor on ``n`` (a corpus can be
    grown in place by `build_corpus`), except that the training sentences depend on whether ``num_val`` is 0.

    Args:
        num_train (`int`, *optional*, defaults to 400): Training clips.
        num_heldout (`int`, *optional*, defaults to 48): Test clips (held-out sentences; held-out voice or pair).
        num_val (`int`, *optional*): Validation clips; defaults to 6 % of ``num_train`` (at least one; 24 for 400).
            When above 0, a tenth of the training sentences (at least one) is reserved for them.
        seed (`int`, *optional*, defaults to 0): Seed of every choice; equal arguments give equal plans.
        heldout_voices (`Sequence[str]`, *optional*, defaults to `("en-gb-x-rp+f4",)`): Voices (among ``voices``)
            heard only in the test split.
        heldout_emotions (`Iterable`, *optional*, defaults to `()`): Emotion–intensity pairs shown only in the test
            split: ``("happy", 3)``, ``"happy:3"``, or ``"happy"`` for all three levels. By default the training
            split covers all 24 pairs.
        voices (`Sequence[str]`, *optional*): espeak-ng voices; defaults to `eadnet.data.synthetic.speech.list_voices`.
        train_sentences (`Sequence[str]`, *optional*, defaults to `TRAIN_SENTENCES`): Sentences of the training and
            validation clips.
        heldout_sentences (`Sequence[str]`, *optional*, defaults to `HELDOUT_SENTENCES`): Sentences of the test
            clips; none may be a training sentence.
        augmentation_strength (`float`, *optional*, defaults to 1): ``strength`` of `IdentityAugmentation.random`;
            0 leaves the portrait as it is.

    Returns:
        `list[CorpusClipSpec]`: the training clips, then the validation clips, then the test clips.

    Raises:
        `ValueError`: negative counts, held-out voices or pairs that leave training none, a held-out voice not
            among ``voices``, or a sentence in both sentence sets.
    """
    if num_val is None and isinstance(num_train, int | np.integer):
        num_val = max(1, round(_VAL_FRACTION * num_train)) if num_train > 0 else 0
    for name, value in (("num_train", num_train), ("num_heldout", num_heldout), ("num_val", num_val)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    if not augmentation_strength >= 0:
        raise ValueError(f"augmentation_strength must be >= 0, got {augmentation_strength!r}")
    voices = list(dict.fromkeys(list_voices() if voices is None else voices))
    heldout_voices = list(dict.fromkeys([heldout_voices] if isinstance(heldout_voices, str) else heldout_voices))
    unknown = [voice for voice in heldout_voices if voice not in voices]
    if unknown:
        raise ValueError(f"held-out voices must be among the voices {voices}, got {unknown}")
    train_voices = [voice for voice in voices if voice not in heldout_voices]
    if not train_voices:
        raise ValueError("every voice is held out; training needs at least one")
    pairs = [(emotion, level) for emotion in EMOTION_LABELS for level in (1, 2, 3)]
    heldout_pairs = _parse_pairs(heldout_emotions)
    train_pairs = [pair for pair in pairs if pair not in heldout_pairs]
    if not train_pairs:
        raise ValueError("every emotion-intensity pair is held out; training needs at least one")
    train_pool = _unique_sentences(train_sentences, "train_sentences")
    test_pool = _unique_sentences(heldout_sentences, "heldout_sentences")
    shared = {_normalize_text(s) for s in train_pool} & {_normalize_text(s) for s in test_pool}
    if shared:
        raise ValueError(f"sentences in both train_sentences and heldout_sentences: {sorted(shared)[:5]}")
    if num_heldout and not test_pool:
        raise ValueError("num_heldout > 0 needs heldout_sentences")

    reserve, train_seq, val_seq, test_seq = np.random.SeedSequence(seed).spawn(4)
    val_pool: list[str] = []
    if num_val:
        if len(train_pool) < 2:
            raise ValueError("num_val > 0 needs at least two training sentences (one is reserved for validation)")
        count = max(1, round(len(train_pool) * _VAL_SENTENCE_FRACTION))
        chosen = set(np.random.default_rng(reserve).choice(len(train_pool), size=count, replace=False).tolist())
        val_pool = [s for i, s in enumerate(train_pool) if i in chosen]
        train_pool = [s for i, s in enumerate(train_pool) if i not in chosen]
    if num_train and not train_pool:
        raise ValueError("num_train > 0 needs train_sentences")

    def in_distribution(rng_voices, rng_pairs, heldout):
        for voice, pair in zip(_rounds(train_voices, rng_voices), _rounds(train_pairs, rng_pairs), strict=False):
            yield voice, pair, heldout

    def held_out(rng_voices, rng_pairs, rng_train_voices, rng_train_pairs):
        # Alternate the two kinds of test clip; each kind cycles through its own voices and pairs.
        kinds = []
        if heldout_voices:
            kinds.append(zip(_rounds(heldout_voices, rng_voices), _rounds(pairs, rng_pairs), strict=False))
        if heldout_pairs:
            kinds.append(
                zip(_rounds(train_voices, rng_train_voices), _rounds(heldout_pairs, rng_train_pairs), strict=False)
            )
        if not kinds:
            kinds.append(
                zip(_rounds(train_voices, rng_train_voices), _rounds(train_pairs, rng_train_pairs), strict=False)
            )
        index = 0
        while True:
            voice, pair = next(kinds[index % len(kinds)])
            index += 1
            tags = (
                ("sentence",)
                + (("voice",) if voice in heldout_voices else ())
                + (("emotion_intensity",) if pair in heldout_pairs else ())
            )
            yield voice, pair, tags

    strength = float(augmentation_strength)
    voices_rng, pairs_rng, sentences_rng, params_rng = _generators(train_seq, 4)
    specs = _make_specs(
        "train", num_train, train_pool, in_distribution(voices_rng, pairs_rng, ()), sentences_rng, params_rng, strength
    )
    voices_rng, pairs_rng, sentences_rng, params_rng = _generators(val_seq, 4)
    specs += _make_specs(
        "val",
        num_val,
        val_pool,
        in_distribution(voices_rng, pairs_rng, ("sentence",)),
        sentences_rng,
        params_rng,
        strength,
    )
    *factor_rngs, sentences_rng, params_rng = _generators(test_seq, 6)
    specs += _make_specs("test", num_heldout, test_pool, held_out(*factor_rngs), sentences_rng, params_rng, strength)
    return specs


# ------------------------------------------------------------------------------------------------------ videos
def _as_corpus_spec(spec: SyntheticClipSpec | dict) -> CorpusClipSpec:
    if isinstance(spec, CorpusClipSpec):
        return spec
    if isinstance(spec, SyntheticClipSpec):
        return CorpusClipSpec(**{name: getattr(spec, name) for name in SyntheticClipSpec.__dataclass_fields__})
    return CorpusClipSpec(**spec)


def _video_paths(specs: Sequence[CorpusClipSpec]) -> list[str]:
    """``{speaker}/{emotion}/level_{k}/{split}-{n:04d}.mp4``, ``n`` counting the clips of a split in plan order (a
    grown plan keeps the paths of the clips it shares with the smaller one)."""
    counters: collections.Counter = collections.Counter()
    paths = []
    for spec in specs:
        paths.append(
            f"{spec.speaker}/{spec.emotion}/level_{spec.intensity}/{spec.split}-{counters[spec.split]:04d}.mp4"
        )
        counters[spec.split] += 1
    return paths


def _identity(spec: CorpusClipSpec) -> dict[str, Any]:
    """The label-row fields that say which clip a video is (as they read back from JSON)."""
    values = {
        "text": " ".join(spec.text.split()),
        "voice": spec.voice.strip(),
        "rate": spec.rate,
        "pitch": spec.pitch,
        "emotion": spec.emotion,
        "intensity": spec.intensity,
        "speaker": spec.speaker,
        "seed": spec.seed,
        "portrait": spec.portrait,
        "augmentation": None if spec.augmentation is None else spec.augmentation.to_dict(),
        "split": spec.split,
        "heldout": list(spec.heldout),
    }
    return json.loads(json.dumps(values))


def _read_label_rows(path: Path) -> dict[str, dict]:
    """Rows of a ``labels.jsonl`` being appended to, by path; a torn last line (a killed run) is ignored."""
    rows: dict[str, dict] = {}
    if not path.is_file():
        return rows
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                logger.warning("%s line %d is unreadable; its video is rendered again", path, number)
                continue
            if isinstance(row, dict) and isinstance(row.get("path"), str):
                rows[row["path"]] = row
    return rows


@dataclass
class _RenderJob:
    spec: CorpusClipSpec
    path: str
    staging: Path


def _render_clip(talker: SyntheticTalker, job: _RenderJob, fps: float) -> tuple[_RenderJob, dict, Path]:
    """Renders one clip into its staging folder; returns the label row (with the final path) and the video."""
    row = write_synthetic_videos(job.staging, [job.spec], portrait=talker, fps=fps, overwrite=True)[0]
    staged = job.staging / row["path"]
    row = {**row, "path": job.path, "split": job.spec.split, "heldout": list(job.spec.heldout)}
    return job, row, staged


def _worker_talker(
    portrait: np.ndarray, landmarks: np.ndarray, fps: float, threads: int
) -> tuple[SyntheticTalker, float]:
    """A worker process's talker, built from the parent's portrait and face mesh (no detection), OpenCV held to its
    cores."""
    cv2.setNumThreads(threads)
    return SyntheticTalker(portrait, landmarks=landmarks), fps


def _render_in_worker(state: tuple[SyntheticTalker, float], job: _RenderJob) -> tuple[_RenderJob, dict, Path]:
    talker, fps = state
    return _render_clip(talker, job, fps)


def _render(
    jobs: list[_RenderJob], portrait: Any, fps: float, workers: int
) -> Iterator[tuple[_RenderJob, dict, Path]]:
    """Rendered clips in job order, from this process or from ``workers`` spawned processes."""
    if isinstance(portrait, SyntheticTalker):
        talker = portrait
    else:
        if portrait is None:
            portrait = example_portrait_path()
        talker = SyntheticTalker(portrait)
    if workers == 1 or len(jobs) <= 1:
        for job in jobs:
            yield _render_clip(talker, job, fps)
        return
    yield from map_in_processes(
        _render_in_worker,
        jobs,
        workers,
        setup=_worker_talker,
        setup_args=(talker.portrait, talker.landmarks, fps),
        died_message="a rendering worker process died; the videos finished so far are kept: rerun to resume",
    )


def render_corpus_videos(
    raw_dir: str | os.PathLike,
    specs: Iterable[SyntheticClipSpec | dict],
    portrait: Any = None,
    fps: float = 25.0,
    workers: int = 1,
) -> list[dict[str, Any]]:
    """Renders the clips of a plan as MP4 videos with a ``labels.jsonl`` that gives each its split; resumable.

    Each clip is made by `write_synthetic_videos` and lands at ``RAW_DIR/{speaker}/{emotion}/level_{k}/
    {split}-{n:04d}.mp4`` (``n`` counts the clips of a split). Its label row is `write_synthetic_videos`'s with
    ``split`` and ``heldout`` added; rows are appended as videos are finished and rewritten in plan order at the
    end. A rerun renders only the clips without a video and a row; a grown plan (more clips per split, same seed)
    renders only the new clips.

    Args:
        raw_dir (`str` or `os.PathLike`): Output folder (created if needed).
        specs (`Iterable[SyntheticClipSpec | dict]`): The clips, e.g. from `plan_corpus`; a plain
            [`~eadnet.data.synthetic.SyntheticClipSpec`] is a training clip.
        portrait (`np.ndarray`, `str`, `os.PathLike`, `PIL.Image.Image` or
            [`~eadnet.data.synthetic.SyntheticTalker`], *optional*): The face; defaults to the example portrait.
        fps (`float`, *optional*, defaults to 25): Frame rate.
        workers (`int`, *optional*, defaults to 1): Processes rendering in parallel (spawned: call under
            ``if __name__ == "__main__":`` from a script).

    Returns:
        `list[dict]`: the label rows, in the order of ``specs``.

    Raises:
        `ValueError`: ``raw_dir`` holds videos or label rows that are not clips of this plan (another plan, or a
            plan made smaller); use another folder.
    """
    from eadnet.io import atomic_output

    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int, got {workers!r}")
    raw_dir = Path(raw_dir).expanduser()
    specs = [_as_corpus_spec(spec) for spec in specs]
    paths = _video_paths(specs)
    expected = {path: _identity(spec) for path, spec in zip(paths, specs, strict=True)}
    raw_dir.mkdir(parents=True, exist_ok=True)
    labels_path = raw_dir / LABELS_FILE
    done = _read_label_rows(labels_path)
    foreign = sorted(
        path for path, row in done.items() if expected.get(path) != {name: row.get(name) for name in _IDENTITY_FIELDS}
    )
    foreign += sorted(
        relative
        for relative in (video.relative_to(raw_dir).as_posix() for video in find_videos(raw_dir))
        if relative not in expected
    )
    if foreign:
        raise ValueError(
            f"{raw_dir} holds {len(foreign)} videos or label rows that are not clips of this plan (e.g. "
            f"{foreign[:3]}); render another plan into another folder"
        )
    done = {path: row for path, row in done.items() if (raw_dir / path).is_file()}
    jobs = [
        _RenderJob(spec, path, raw_dir / _STAGING / f"{number:05d}")
        for number, (spec, path) in enumerate(zip(specs, paths, strict=True))
        if path not in done
    ]
    logger.info("%d clips planned; %d already rendered in %s", len(specs), len(specs) - len(jobs), raw_dir)
    if jobs:
        shutil.rmtree(raw_dir / _STAGING, ignore_errors=True)
        try:
            with labels_path.open("a", encoding="utf-8") as labels:
                for number, (job, row, staged) in enumerate(_render(jobs, portrait, fps, workers), 1):
                    final = raw_dir / job.path
                    final.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staged, final)
                    labels.write(json.dumps(row, ensure_ascii=False) + "\n")
                    labels.flush()
                    done[job.path] = row
                    shutil.rmtree(job.staging, ignore_errors=True)
                    logger.info(
                        "[%d/%d] rendered %s (%s, %.2f s)",
                        number,
                        len(jobs),
                        job.path,
                        job.spec.split,
                        row["duration"],
                    )
        finally:
            shutil.rmtree(raw_dir / _STAGING, ignore_errors=True)
    rows = [done[path] for path in paths]
    with atomic_output(labels_path, overwrite=True) as tmp:
        tmp.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return rows


# ------------------------------------------------------------------------------------------------------ dataset
def build_corpus(
    out_dir: str | os.PathLike,
    specs: Iterable[SyntheticClipSpec | dict],
    crop_size: int = 64,
    workers: int = 1,
    audio_encoder: str | os.PathLike | WhisperAudioEncoder | None = "offline-demo",
    frames_format: str = "npy",
    portrait: Any = None,
) -> Path:
    """Renders a planned corpus and preprocesses it into a training dataset; resumable.

    ```
    OUT_DIR/
      raw/       the videos and their labels.jsonl (`render_corpus_videos`)
      dataset/   the `eadnet.data.format` dataset (`preprocess_videos`, clips of 1.5-6 s: one per sentence)
    ```

    A rerun renders only the missing videos and preprocesses only the clips the manifest does not list yet. The
    finished dataset is checked with `describe_corpus`.

    Args:
        out_dir (`str` or `os.PathLike`): Output folder (created if needed).
        specs (`Iterable[SyntheticClipSpec | dict]`): The clips, e.g. from `plan_corpus`.
        crop_size (`int`, *optional*, defaults to 64): Side of the aligned face crops.
        workers (`int`, *optional*, defaults to 1): Processes for rendering and for preprocessing (spawned: call
            under ``if __name__ == "__main__":`` from a script).
        audio_encoder (`str`, `os.PathLike` or [`~eadnet.models.audio_encoder.WhisperAudioEncoder`], *optional*,
            defaults to `"offline-demo"`): Encoder whose features are cached with each clip: an encoder, or what
            `eadnet.data.preprocess.resolve_audio_encoder` loads (a preset name, a folder, a Hub id); `None` caches
            none.
        frames_format (`str`, *optional*, defaults to `"npy"`): ``"npy"`` (raw crops, fast random access) or
            ``"mp4"``.
        portrait (`np.ndarray`, `str`, `os.PathLike`, `PIL.Image.Image` or
            [`~eadnet.data.synthetic.SyntheticTalker`], *optional*): The face; defaults to the example portrait.

    Returns:
        `Path`: the dataset folder, ``OUT_DIR/dataset``.

    Raises:
        `ValueError`: ``OUT_DIR/raw`` holds clips of another plan.
        `DatasetError`: ``OUT_DIR/dataset`` was made with another crop size or frame format or audio encoder.
        `CorpusLeakError`: a held-out clip shares its sentence, voice or pair with an earlier split.
        `RuntimeError`: no clip could be made.
    """
    out_dir = Path(out_dir).expanduser()
    raw_dir, dataset_dir = out_dir / RAW_DIR, out_dir / DATASET_DIR
    config = PreprocessConfig(
        crop_size=crop_size,
        min_clip_seconds=MIN_CLIP_SECONDS,
        max_clip_seconds=MAX_CLIP_SECONDS,
        frames_format=frames_format,
        val_speakers=(),
        test_speakers=(),
    )
    existing = read_manifest(dataset_dir)
    if existing:
        # preprocess_videos checks the audio features of a dataset it resumes, not the crops
        info = read_dataset_info(dataset_dir)
        frames_file = FRAMES_NPY if frames_format == "npy" else FRAMES_MP4
        if info.crop_size != crop_size or not (clip_dir(dataset_dir, existing[0]) / frames_file).is_file():
            raise DatasetError(
                f"{dataset_dir} holds {info.crop_size} px clips in another format or size than asked "
                f"({crop_size} px, {frames_format}); use the same settings or another folder"
            )
    rows = render_corpus_videos(raw_dir, specs, portrait=portrait, workers=workers)
    preprocessed = {record.source for record in read_manifest(dataset_dir)}
    pending = sum(row["path"] not in preprocessed for row in rows)
    if pending:
        if isinstance(audio_encoder, str | os.PathLike):
            audio_encoder = resolve_audio_encoder(audio_encoder)
        summary = preprocess_videos(
            raw_dir, dataset_dir, config, audio_encoder=audio_encoder, workers=min(workers, pending)
        )
        logger.info("preprocessed %s:\n%s", raw_dir, summary.format())
        if not summary.usable:
            raise RuntimeError(f"no clip could be made from the videos in {raw_dir} (see the warnings above)")
        lost = sum(summary.clips_skipped.values()) + sum(summary.files_failed.values())
        if lost:
            logger.warning("%d of %d videos gave no clip (see the warnings above)", lost, summary.files)
    else:
        logger.info("all %d videos are preprocessed in %s already", len(rows), dataset_dir)
    write_reference_frames(out_dir, portrait=portrait)
    describe_corpus(dataset_dir)
    return dataset_dir


def neutral_still(talker: SyntheticTalker, augmentation: IdentityAugmentation | dict | None = None) -> np.ndarray:
    """A clip's face as a still portrait, full frame: its identity augmentation (an `IdentityAugmentation` or its
    ``to_dict()`` as stored in the labels), a neutral expression, closed lips, no head motion or blink."""
    if isinstance(augmentation, dict):
        augmentation = IdentityAugmentation(**augmentation)
    return talker.render(
        np.zeros(1), emotion="neutral", intensity=1, seed=0, head_motion=False, blink=False, augmentation=augmentation
    )[0]


def _align_still(processor, frame: np.ndarray, video: Path) -> np.ndarray:
    """The aligned crop ``(1, S, S, 3)`` of a clip's still frame; when the detector misses the still (a dark or
    strongly recoloured look), the alignment of the first frame of the clip's video where it finds the face."""
    from eadnet.io import iter_video_frames

    try:
        return processor.align_portrait(frame).crops
    except NoFaceError:
        for index, video_frame in enumerate(iter_video_frames(video, max_frames=25)):
            try:
                matrix = processor.align_portrait(video_frame).matrices[0]
            except NoFaceError:
                continue
            logger.debug("%s: still aligned with frame %d of the clip", video, index)
            return warp_to_crop(frame, matrix, processor.crop_size)[None]
    raise NoFaceError(f"no face in the still of {video} nor in its first 25 frames")


def write_reference_frames(out_dir: str | os.PathLike, portrait: Any = None, detector: Any = None) -> int:
    """Gives every clip of a built corpus its neutral reference crop (``reference.npy``, see
    `eadnet.data.format.REFERENCE_NPY`); resumable, clips that have one are skipped.

    The reference is the clip's face as a still portrait shows it at inference: the same identity augmentation
    (framing, colour, lighting, flip), a neutral expression, closed lips, no head motion or blink, aligned like the
    clip's frames. Training on it (``data.reference: neutral``) leaves the emotion text as the only source of the
    expression — with a window of the clip itself as reference, the model copies the expression it shows.

    Returns:
        `int`: the number of reference crops written.
    """
    out_dir = Path(out_dir).expanduser()
    raw_dir, dataset_dir = out_dir / RAW_DIR, out_dir / DATASET_DIR
    rows = _read_label_rows(raw_dir / LABELS_FILE)
    pending = [r for r in read_manifest(dataset_dir) if not (clip_dir(dataset_dir, r) / REFERENCE_NPY).is_file()]
    if not pending:
        return 0
    info = read_dataset_info(dataset_dir)
    processor = FaceProcessor(crop_size=info.crop_size, mask_mode=info.mask_mode, detector=detector)
    talkers: dict[str, SyntheticTalker] = {}
    written = 0
    try:
        for record in pending:
            row = rows.get(record.source or "")
            if row is None:
                raise DatasetError(
                    f"clip {record.id!r} comes from {record.source!r}, which {raw_dir / LABELS_FILE} "
                    "does not list: not a corpus built by build_corpus"
                )
            key = row.get("portrait") or ""
            if key not in talkers:
                source = row.get("portrait") or portrait
                if source is None:
                    source = example_portrait_path()

                talkers[key] = (
                    source
                    if isinstance(source, SyntheticTalker)
                    else SyntheticTalker(source, detector=processor.detector)
                )
            frame = neutral_still(talkers[key], row.get("augmentation"))
            write_clip_reference(dataset_dir, record, _align_still(processor, frame, raw_dir / record.source))
            written += 1
    finally:
        processor.close()
    logger.info("wrote %d neutral reference crop(s) in %s", written, dataset_dir)
    return written


# ------------------------------------------------------------------------------------------------------ checks
@dataclass
class _ClipFacts:
    id: str
    split: str
    text: str
    voice: str
    pair: tuple[str, int]
    heldout: tuple[str, ...]
    seconds: float

    def factor(self, tag: str) -> Any:
        return {"sentence": _normalize_text(self.text), "voice": self.voice, "emotion_intensity": self.pair}[tag]


def _pair_name(pair: tuple[str, int]) -> str:
    return f"{pair[0]}-{pair[1]}"


def _counts(values: Iterable[Any]) -> dict[Any, int]:
    return dict(sorted(collections.Counter(values).items()))


def _find_leaks(facts: list[_ClipFacts]) -> list[str]:
    """One line per held-out clip that shares a factor it is tagged with with a clip of an earlier split."""
    seen: dict[str, dict[str, set]] = {
        split: {tag: {f.factor(tag) for f in facts if f.split == split} for tag in HELDOUT_TAGS} for split in SPLITS
    }
    leaks = []
    for clip in facts:
        rank = _SPLIT_ORDER.get(clip.split)
        for tag in clip.heldout:
            if tag not in HELDOUT_TAGS or rank is None:
                continue
            value = clip.factor(tag)
            for earlier in SPLITS[:rank]:
                if value in seen[earlier][tag]:
                    shown = _pair_name(value) if tag == "emotion_intensity" else value
                    leaks.append(f"{clip.id} ({clip.split}): its {tag} {shown!r} is also in {earlier}")
    return leaks


def describe_corpus(dataset: str | os.PathLike) -> dict[str, Any]:
    """Counts a corpus dataset's clips and checks its held-out split, from the manifest.

    Args:
        dataset (`str` or `os.PathLike`): A dataset made by `build_corpus` (whose manifest rows hold ``text``,
            ``voice`` and ``heldout`` in ``extra``).

    Returns:
        `dict`: ``clips``, ``seconds``; ``splits``: per split ``clips``, ``seconds``, ``sentences`` (distinct),
        ``emotions``, ``intensities``, ``emotion_intensity`` (``"happy-3"``) and ``voices`` (clip counts);
        ``heldout``: the test split's held-out ``sentences`` (count), ``voices`` and ``emotion_intensity``;
        ``train_missing_emotion_intensity``: pairs no training clip shows.

    Raises:
        `DatasetError`: no clip, or a clip without the ``text`` and ``voice`` of a corpus.
        `CorpusLeakError`: a held-out clip shares a sentence, voice or pair it is tagged with with a clip of an
            earlier split (``train`` < ``val`` < ``test``).
    """
    dataset = Path(dataset).expanduser()
    records = read_manifest(dataset)
    if not records:
        raise DatasetError(f"{dataset} lists no clips")
    fps = read_dataset_info(dataset).fps
    facts = []
    for record in records:
        text, voice = record.extra.get("text"), record.extra.get("voice")
        if not text or not voice or record.emotion is None or record.intensity is None:
            raise DatasetError(
                f"clip {record.id} has no text, voice, emotion or intensity: {dataset} is not a corpus of "
                "`build_corpus`"
            )
        facts.append(
            _ClipFacts(
                record.id,
                record.split,
                text,
                voice,
                (record.emotion, int(record.intensity)),
                tuple(record.extra.get("heldout") or ()),
                record.num_frames / fps,
            )
        )
    splits = {}
    for split in [*SPLITS, *sorted({f.split for f in facts} - set(SPLITS))]:
        members = [f for f in facts if f.split == split]
        if members:
            splits[split] = {
                "clips": len(members),
                "seconds": round(sum(f.seconds for f in members), 2),
                "sentences": len({_normalize_text(f.text) for f in members}),
                "emotions": _counts(f.pair[0] for f in members),
                "intensities": _counts(f.pair[1] for f in members),
                "emotion_intensity": _counts(_pair_name(f.pair) for f in members),
                "voices": _counts(f.voice for f in members),
            }
    test = [f for f in facts if f.split == "test"]
    trained = {f.pair for f in facts if f.split == "train"}
    description = {
        "dataset": str(dataset),
        "clips": len(facts),
        "seconds": round(sum(f.seconds for f in facts), 2),
        "splits": splits,
        "heldout": {
            "sentences": len({_normalize_text(f.text) for f in test if "sentence" in f.heldout}),
            "voices": sorted({f.voice for f in test if "voice" in f.heldout}),
            "emotion_intensity": sorted({_pair_name(f.pair) for f in test if "emotion_intensity" in f.heldout}),
        },
        "train_missing_emotion_intensity": [
            _pair_name((emotion, level))
            for emotion in EMOTION_LABELS
            for level in (1, 2, 3)
            if (emotion, level) not in trained
        ],
    }
    leaks = _find_leaks(facts)
    if leaks:
        more = f"\n… and {len(leaks) - 10} more" if len(leaks) > 10 else ""
        raise CorpusLeakError(f"{dataset}: {len(leaks)} held-out clips leak:\n" + "\n".join(leaks[:10]) + more)
    return description
