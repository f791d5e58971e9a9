"""Training the audio-to-mouth model of the ``eadnet-mesh`` engine
(:class:`~eadnet.models.audio_to_mouth.AudioToMouthModel`) on espeak-ng speech (``eadnet train mouth``).

1. The data (`eadnet.data.mouth_dataset`): utterances of one to several corpus sentences with pauses between them,
   spoken in the training voices at random rates and pitches; their Whisper features (the frozen encoder of
   ``data.audio_encoder``) are computed once and cached in ``OUTPUT_DIR/features/{split}.safetensors``; the
   targets come from the phoneme timelines at 50 Hz.
2. The loss, one weighted sum: ``l1 × Σ_c channel_weights[c] · |ŷ_c − y_c| / Σ_c channel_weights[c]`` over the
   frames, plus ``closure ×`` the L1 of ``jaw_open`` and ``lip_press`` on the frames where the target presses the
   lips (``lip_press ≥ 0.5``: /m b p/): a closure lasts two or three 20 ms frames, and without the extra weight the
   model smooths it away.
3. Validation every ``train.validate_every`` updates on the ``val`` split (reserved sentences, training voices):
   the loss and the jaw correlation at 50 Hz. At the end, the lip-sync scores of
   `eadnet.evaluation.mouth_params` on the ``test`` split (held-out sentences in held-out voices) at
   ``evaluation.fps``, with and without the voice-activity gate, in ``metrics.json``.

Output folder::

    recipe.json                    the recipe of the run
    features/{train,val,test}.safetensors   cached Whisper features and timelines
    metrics.jsonl                  one row per logged update or validation
    checkpoints/step-N/            resumable state
    mouth/                         the model (``AudioToMouthModel.from_pretrained``-ready, safetensors)
    metrics.json                   the final scores

```python
from eadnet.training.mouth_trainer import MouthTrainConfig, train_mouth

summary = train_mouth(MouthTrainConfig.from_yaml("recipes/mouth_eadnet_mesh.yaml"))
```
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from diffusers.optimization import get_scheduler

from eadnet.data.loading import make_loader
from eadnet.data.mouth_dataset import (
    MouthFeatureSet,
    MouthWindowDataset,
    build_mouth_features,
    plan_mouth_splits,
)
from eadnet.data.preprocess import resolve_audio_encoder
from eadnet.evaluation.mouth_params import evaluate_mouth_model
from eadnet.expression.mouth_params import MOUTH_PARAMS, NUM_MOUTH_PARAMS
from eadnet.models.audio_to_mouth import AudioToMouthModel
from eadnet.models.voice_activity import VoiceActivityDetector
from eadnet.training.checkpointing import CheckpointedRun
from eadnet.training.config import OptimizerConfig, RecipeMixin, _build_section

logger = logging.getLogger(__name__)

__all__ = [
    "MouthDataConfig",
    "MouthEvaluationConfig",
    "MouthLossConfig",
    "MouthRunConfig",
    "MouthTrainConfig",
    "MouthTrainer",
    "mouth_loss",
    "train_mouth",
]

MODEL_DIR = "mouth"
FEATURES_DIR = "features"
_JAW, _PRESS = MOUTH_PARAMS.index("jaw_open"), MOUTH_PARAMS.index("lip_press")


# ------------------------------------------------------------------------------------------------------ config
@dataclass
class MouthDataConfig:
    """The utterances (`eadnet.data.mouth_dataset.plan_mouth_splits`) and the training windows.

    Args:
        audio_encoder (`str`, *optional*, defaults to `"offline-demo"`): Frozen Whisper encoder: a preset name, a
            folder or a Hub id (`eadnet.data.preprocess.resolve_audio_encoder`).
        voices (`list[str]`, *optional*): espeak-ng voices; default `list_voices()` (the corpus's).
        heldout_voices (`list[str]`, *optional*, defaults to `["en-gb-x-rp+f4"]`): Voices of the test split only.
        num_train (`int`, *optional*, defaults to 480): Training utterances.
        num_val (`int`, *optional*, defaults to 24): Validation utterances.
        num_test (`int`, *optional*, defaults to 40): Test utterances.
        num_val_sentences (`int`, *optional*, defaults to 8): Training sentences reserved for validation.
        sentences_per_utterance (`list[int]`, *optional*): Sentence counts drawn per utterance.
        pause_range (`list[float]`, *optional*, defaults to `[0.2, 1.0]`): Silence between sentences (s).
        edge_range (`list[float]`, *optional*, defaults to `[0.05, 0.6]`): Silence before and after (s).
        rate_range (`list[int]`, *optional*, defaults to `[120, 200]`): Words per minute.
        pitch_range (`list[int]`, *optional*, defaults to `[30, 70]`): espeak pitch.
        noise_probability (`float`, *optional*, defaults to 0.5): Share of utterances with a noise floor.
        noise_db_range (`list[float]`, *optional*, defaults to `[-70, -40]`): Noise RMS (dBFS).
        gain_db_range (`list[float]`, *optional*, defaults to `[-12, 0]`): Speech gain (dB).
        seed (`int`, *optional*, defaults to 0): Seed of the plan.
        window_frames (`int`, *optional*, defaults to 400): Frames per training window (50 Hz).
        batch_size (`int`, *optional*, defaults to 16): Windows per update.
        num_workers (`int`, *optional*, defaults to 0): DataLoader worker processes.
    """

    audio_encoder: str = "offline-demo"
    voices: list[str] | None = None
    heldout_voices: list[str] = field(default_factory=lambda: ["en-gb-x-rp+f4"])
    num_train: int = 480
    num_val: int = 24
    num_test: int = 40
    num_val_sentences: int = 8
    sentences_per_utterance: list[int] = field(default_factory=lambda: [1, 1, 2, 3, 4, 5, 6])
    pause_range: list[float] = field(default_factory=lambda: [0.2, 1.0])
    edge_range: list[float] = field(default_factory=lambda: [0.05, 0.6])
    rate_range: list[int] = field(default_factory=lambda: [120, 200])
    pitch_range: list[int] = field(default_factory=lambda: [30, 70])
    noise_probability: float = 0.5
    noise_db_range: list[float] = field(default_factory=lambda: [-70.0, -40.0])
    gain_db_range: list[float] = field(default_factory=lambda: [-12.0, 0.0])
    seed: int = 0
    window_frames: int = 400
    batch_size: int = 16
    num_workers: int = 0

    def plan(self) -> dict:
        """The three splits, `plan_mouth_splits` of these settings."""
        return plan_mouth_splits(
            num_train=self.num_train,
            num_val=self.num_val,
            num_test=self.num_test,
            seed=self.seed,
            voices=self.voices,
            heldout_voices=self.heldout_voices,
            num_val_sentences=self.num_val_sentences,
            sentences_per_utterance=tuple(self.sentences_per_utterance),
            pause_range=tuple(self.pause_range),
            edge_range=tuple(self.edge_range),
            rate_range=tuple(self.rate_range),
            pitch_range=tuple(self.pitch_range),
            noise_probability=self.noise_probability,
            noise_db_range=tuple(self.noise_db_range),
            gain_db_range=tuple(self.gain_db_range),
        )


@dataclass
class MouthRunConfig:
    """The training run.

    Args:
        max_steps (`int`, *optional*, defaults to 1200): Optimizer updates.
        gradient_accumulation_steps (`int`, *optional*, defaults to 1): Micro-batches per update.
        seed (`int`, *optional*, defaults to 0): Seed of the initial weights and the window order.
        output_dir (`str`, *optional*, defaults to `"runs/mouth"`): Features, checkpoints, metrics, the model.
        checkpoint_every (`int`, *optional*, defaults to 600): Resumable checkpoint every N updates (0: at the end).
        checkpoints_total_limit (`int`, *optional*, defaults to 2): Keep only the newest N checkpoints (0: all).
        log_every (`int`, *optional*, defaults to 50): Write a metrics row every N updates.
        validate_every (`int`, *optional*, defaults to 400): Validate every N updates (0: only at the end).
        resume (`str`, *optional*): ``latest`` or a checkpoint folder to continue from.
    """

    max_steps: int = 1200
    gradient_accumulation_steps: int = 1
    seed: int = 0
    output_dir: str = "runs/mouth"
    checkpoint_every: int = 600
    checkpoints_total_limit: int = 2
    log_every: int = 50
    validate_every: int = 400
    resume: str | None = None


@dataclass
class MouthLossConfig:
    """Loss weights; the total is ``l1 × L1 + closure × L1_closure`` (see the module docstring).

    Args:
        l1 (`float`, *optional*, defaults to 1.0): Weight of the channel-weighted L1 over all frames.
        channel_weights (`list[float]`, *optional*, defaults to `[2, 1, 1, 1, 1, 1]`): Relative weight of each
            parameter (:data:`MOUTH_PARAMS` order) in that L1: the jaw carries most of the lip-sync.
        closure (`float`, *optional*, defaults to 2.0): Weight of the L1 of ``jaw_open`` and ``lip_press`` on the
            frames whose target presses the lips (``lip_press >= 0.5``).
    """

    l1: float = 1.0
    channel_weights: list[float] = field(default_factory=lambda: [2.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    closure: float = 2.0


@dataclass
class MouthEvaluationConfig:
    """The final lip-sync scores (`eadnet.evaluation.mouth_params`).

    Args:
        fps (`float`, *optional*, defaults to 25): Video frame rate scored.
        closed_threshold (`float`, *optional*, defaults to 0.1): ``jaw_open`` below this counts as closed.
        min_pause_s (`float`, *optional*, defaults to 0.2): Pauses scored are longer than this.
        pause_margin_s (`float`, *optional*, defaults to 0.06): Frames this close to a pause's edge are not scored.
        voice_activity (`bool`, *optional*, defaults to `True`): Also score with the Silero voice-activity gate.
    """

    fps: float = 25.0
    closed_threshold: float = 0.1
    min_pause_s: float = 0.2
    pause_margin_s: float = 0.06
    voice_activity: bool = True

    def thresholds(self) -> dict[str, float]:
        return {
            "closed_threshold": self.closed_threshold,
            "min_pause_s": self.min_pause_s,
            "pause_margin_s": self.pause_margin_s,
        }


@dataclass
class MouthTrainConfig(RecipeMixin):
    """An audio-to-mouth training recipe (``eadnet train mouth --config recipe.yaml``). Sections: ``data``,
    ``model`` (the :class:`AudioToMouthModel` arguments), ``train``, ``optimizer`` (as for the U-Net), ``loss``,
    ``evaluation``. Unknown keys are errors."""

    data: MouthDataConfig = field(default_factory=MouthDataConfig)
    model: dict[str, Any] = field(default_factory=dict)
    train: MouthRunConfig = field(default_factory=MouthRunConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    loss: MouthLossConfig = field(default_factory=MouthLossConfig)
    evaluation: MouthEvaluationConfig = field(default_factory=MouthEvaluationConfig)

    @classmethod
    def from_dict(cls, data: dict) -> MouthTrainConfig:
        data = dict(data or {})
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ValueError(f"unknown recipe section(s) {unknown}; sections: {names}")
        sections: dict[str, Any] = {"model": _check_model_block(data.get("model") or {})}
        for f in dataclasses.fields(cls):
            if f.name != "model":
                sections[f.name] = _build_section(f.default_factory().__class__, data.get(f.name) or {}, f.name)
        config = cls(**sections)
        config.validate()
        return config

    def validate(self) -> None:
        data, run, loss = self.data, self.train, self.loss
        if data.num_train < 1 or data.window_frames < 1 or data.batch_size < 1:
            raise ValueError("data.num_train, data.window_frames and data.batch_size must be >= 1")
        if run.max_steps < 1 or run.gradient_accumulation_steps < 1:
            raise ValueError("train.max_steps and train.gradient_accumulation_steps must be >= 1")
        if len(loss.channel_weights) != NUM_MOUTH_PARAMS or min(loss.channel_weights) < 0:
            raise ValueError(f"loss.channel_weights must be {NUM_MOUTH_PARAMS} weights >= 0 ({MOUTH_PARAMS})")
        if loss.l1 < 0 or loss.closure < 0 or not (loss.l1 or loss.closure):
            raise ValueError("loss.l1 and loss.closure must be >= 0, and one of them > 0")
        if not self.evaluation.fps > 0:
            raise ValueError(f"evaluation.fps must be positive, got {self.evaluation.fps}")


def _check_model_block(values: dict) -> dict:
    if not isinstance(values, dict):
        raise ValueError("recipe section 'model' must be a mapping of AudioToMouthModel arguments")
    accepted = set(inspect.signature(AudioToMouthModel.__init__).parameters) - {"self"}
    unknown = sorted(set(values) - accepted)
    if unknown:
        raise ValueError(f"unknown AudioToMouthModel argument(s) {unknown} in recipe section 'model'")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}


# ------------------------------------------------------------------------------------------------------- loss
def mouth_loss(
    predicted: torch.Tensor,
    targets: torch.Tensor,
    loss_mask: torch.Tensor,
    channel_weights: torch.Tensor,
    l1: float = 1.0,
    closure: float = 2.0,
) -> dict[str, torch.Tensor]:
    """The loss terms of a batch and their weighted sum ``loss = l1 × l1_term + closure × closure_term``.

    Args:
        predicted (`torch.Tensor` of shape `(B, T, 6)`): Model output.
        targets (`torch.Tensor` of shape `(B, T, 6)`): Targets.
        loss_mask (`torch.Tensor` of shape `(B, T)`): 1 on scored frames, 0 elsewhere.
        channel_weights (`torch.Tensor` of shape `(6,)`): Relative weight of each parameter in the L1 term.
        l1 (`float`, *optional*, defaults to 1): Weight of the channel-weighted L1 over the scored frames.
        closure (`float`, *optional*, defaults to 2): Weight of the L1 of ``jaw_open`` and ``lip_press`` on the
            scored frames whose target has ``lip_press >= 0.5``.

    Returns:
        `dict[str, torch.Tensor]`: ``l1``, ``closure`` and ``loss`` (scalars).
    """
    error = (predicted.float() - targets.float()).abs()  # (B, T, C)
    mask = loss_mask.float()
    weights = channel_weights.to(error) / channel_weights.sum().clamp_min(1e-8)
    l1_term = ((error * weights).sum(-1) * mask).sum() / mask.sum().clamp_min(1.0)
    closing = mask * (targets[..., _PRESS] >= 0.5).float()
    closure_error = (error[..., _JAW] + error[..., _PRESS]) / 2
    closure_term = (closure_error * closing).sum() / closing.sum().clamp_min(1.0)
    return {"l1": l1_term, "closure": closure_term, "loss": l1 * l1_term + closure * closure_term}


# ------------------------------------------------------------------------------------------------------ trainer
class MouthTrainer(CheckpointedRun):
    r"""Owns one audio-to-mouth training run; ``train()`` runs it to ``train.max_steps`` and returns a summary.

    Args:
        config ([`MouthTrainConfig`]): The recipe.
        audio_encoder ([`~eadnet.models.audio_encoder.WhisperAudioEncoder`], *optional*): The frozen encoder;
            default ``resolve_audio_encoder(config.data.audio_encoder)``.
        voice_activity ([`~eadnet.models.voice_activity.VoiceActivityDetector`], *optional*): The gate scored at the
            end when ``evaluation.voice_activity`` is on; default a Silero one.
        accelerator (`accelerate.Accelerator`, *optional*): Created from the recipe when omitted.
    """

    def __init__(self, config: MouthTrainConfig, audio_encoder=None, voice_activity=None, accelerator=None):
        self.config = config
        self.accelerator = accelerator or Accelerator(
            gradient_accumulation_steps=config.train.gradient_accumulation_steps, cpu=not torch.cuda.is_available()
        )
        self.output_dir = Path(config.train.output_dir).expanduser()
        self.step = 0
        self.checkpoints_total_limit = config.train.checkpoints_total_limit
        self._voice_activity = voice_activity
        started = time.perf_counter()
        if audio_encoder is None:
            audio_encoder = resolve_audio_encoder(config.data.audio_encoder)
        self.splits: dict[str, MouthFeatureSet] = {}
        for split, specs in config.data.plan().items():
            if specs:
                cache = self.output_dir / FEATURES_DIR / f"{split}.safetensors"
                self.splits[split] = build_mouth_features(specs, audio_encoder, cache)
        self.feature_seconds = time.perf_counter() - started
        logger.info(
            "features ready in %.1f s: %s",
            self.feature_seconds,
            ", ".join(
                f"{s} {len(f)} utterances / {f.features.shape[0] / f.feature_rate:.0f} s"
                for s, f in self.splits.items()
            ),
        )
        set_seed(config.train.seed)
        model = AudioToMouthModel(**config.model)
        if (model.config.num_states, model.config.feature_dim) != tuple(self.splits["train"].features.shape[1:]):
            raise ValueError(
                f"model.num_states / feature_dim {model.config.num_states} / {model.config.feature_dim} do not match "
                f"the features {tuple(self.splits['train'].features.shape[1:])} of {config.data.audio_encoder!r}"
            )
        logger.info("AudioToMouthModel: %.3fM parameters", sum(p.numel() for p in model.parameters()) / 1e6)
        margin = model.receptive_field // 2
        self.dataset = MouthWindowDataset(self.splits["train"], config.data.window_frames, margin, config.train.seed)
        self.channel_weights = torch.tensor(config.loss.channel_weights, dtype=torch.float32)
        optim = config.optimizer
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=optim.lr, betas=tuple(optim.betas), eps=optim.eps, weight_decay=optim.weight_decay
        )
        self.lr_scheduler = get_scheduler(
            optim.lr_scheduler,
            optimizer,
            num_warmup_steps=optim.warmup_steps,
            num_training_steps=config.train.max_steps,
        )
        self.model, self.optimizer = self.accelerator.prepare(model.train(), optimizer)
        self.accelerator.register_for_checkpointing(self.lr_scheduler)

    @property
    def mouth_model(self) -> AudioToMouthModel:
        return self.accelerator.unwrap_model(self.model)

    @property
    def voice_activity(self):
        if self._voice_activity is None:
            self._voice_activity = VoiceActivityDetector()
        return self._voice_activity

    # --------------------------------------------------------------------------------------------------- step
    def compute_losses(self, batch: dict) -> dict[str, torch.Tensor]:
        """The loss terms of one micro-batch of `MouthWindowDataset` items (``loss`` is their weighted sum)."""
        device = self.accelerator.device
        predicted = self.model(batch["features"].to(device), batch["frame_mask"].to(device))
        loss = self.config.loss
        return mouth_loss(
            predicted,
            batch["targets"].to(device),
            batch["loss_mask"].to(device),
            self.channel_weights.to(device),
            l1=loss.l1,
            closure=loss.closure,
        )

    def on_step_end(self) -> None:
        every = self.config.train.validate_every
        if every and self.step % every == 0 and self.step < self.config.train.max_steps:
            self.validate()

    @torch.no_grad()
    def validate(self) -> dict:
        """Loss and jaw correlation at 50 Hz on the ``val`` split (whole utterances)."""
        feature_set = self.splits.get("val")
        if feature_set is None or not self.accelerator.is_main_process:
            return {}
        model = self.mouth_model
        was_training = model.training
        model.eval()
        device = self.accelerator.device
        terms: dict[str, float] = {}
        jaws, truths = [], []
        for index, target in enumerate(feature_set.targets()):
            features = feature_set.utterance_features(index)[None].to(device)
            predicted = model(features)
            target = torch.from_numpy(target)[None].to(device)
            mask = torch.ones(target.shape[:2], device=device)
            weights = self.channel_weights.to(device)
            utterance_terms = mouth_loss(
                predicted, target, mask, weights, l1=self.config.loss.l1, closure=self.config.loss.closure
            )
            for name, value in utterance_terms.items():
                terms[name] = terms.get(name, 0.0) + float(value) / len(feature_set)
            jaws.append(predicted[0, :, _JAW].cpu().numpy())
            truths.append(target[0, :, _JAW].cpu().numpy())
        model.train(was_training)
        metrics = {f"val_{name}": value for name, value in terms.items()}
        metrics["val_jaw_r_50hz"] = float(np.corrcoef(np.concatenate(jaws), np.concatenate(truths))[0, 1])
        self._log({"step": self.step, **metrics})
        return metrics

    @torch.no_grad()
    def evaluate(self) -> dict:
        """The lip-sync scores (`eadnet.evaluation.mouth_params`) on ``val`` and ``test`` at ``evaluation.fps``: the
        model's output (``raw``) and, with ``evaluation.voice_activity``, gated by the voice activity (``gated``)."""
        evaluation, model = self.config.evaluation, self.mouth_model.eval()
        scores: dict[str, dict] = {}
        for split in ("test", "val"):
            if split not in self.splits:
                continue
            scores[split] = {
                "raw": evaluate_mouth_model(model, self.splits[split], evaluation.fps, **evaluation.thresholds())
            }
            if evaluation.voice_activity:
                scores[split]["gated"] = evaluate_mouth_model(
                    model, self.splits[split], evaluation.fps, self.voice_activity, **evaluation.thresholds()
                )
        return scores

    def _loader(self, start_batch: int, num_batches: int) -> torch.utils.data.DataLoader:
        return make_loader(
            self.dataset,
            self.config.data.batch_size,
            seed=self.config.train.seed,
            start_batch=start_batch,
            num_batches=num_batches,
            rank=self.accelerator.process_index,
            world_size=self.accelerator.num_processes,
            num_workers=self.config.data.num_workers,
        )

    def train(self) -> dict:
        """Runs (or resumes) the training to ``train.max_steps``; returns the final summary."""
        config, accelerator = self.config, self.accelerator
        self.output_dir.mkdir(parents=True, exist_ok=True)
        if config.train.resume:
            self.load_checkpoint(config.train.resume)
        elif accelerator.is_main_process:
            (self.output_dir / "recipe.json").write_text(json.dumps(config.to_dict(), indent=2, default=str))
        accumulation = config.train.gradient_accumulation_steps
        remaining = max(config.train.max_steps - self.step, 0)
        started = time.perf_counter()
        self.model.train()
        history = self.run_updates(
            self.model,
            self._loader(self.step * accumulation, remaining * accumulation),
            self.compute_losses,
            max_steps=config.train.max_steps,
            accumulation=accumulation,
            max_grad_norm=config.optimizer.max_grad_norm,
            log_every=config.train.log_every,
            checkpoint_every=config.train.checkpoint_every,
        )
        return self._finish(history, time.perf_counter() - started)

    # ---------------------------------------------------------------------------------------------------- end
    def _finish(self, history: list[dict], train_seconds: float) -> dict:
        config, accelerator = self.config, self.accelerator
        if config.train.checkpoint_every == 0 or self.step % config.train.checkpoint_every != 0:
            self.save_checkpoint()
        summary: dict[str, Any] = {
            "step": self.step,
            "history": history,
            "is_main_process": accelerator.is_main_process,
        }
        if accelerator.is_main_process:
            metrics = {
                "step": self.step,
                "feature_seconds": round(self.feature_seconds, 1),
                "train_seconds": round(train_seconds, 1),
                "parameters": sum(p.numel() for p in self.mouth_model.parameters()),
                "splits": {
                    split: {"utterances": len(f), "seconds": round(f.features.shape[0] / f.feature_rate, 1)}
                    for split, f in self.splits.items()
                },
                **self.validate(),
                "scores": self.evaluate(),
            }
            (self.output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
            summary.update(metrics, model_dir=str(self.save_model(self.output_dir / MODEL_DIR)))
        accelerator.wait_for_everyone()
        accelerator.end_training()
        return summary

    def on_checkpoint_saved(self, folder: Path) -> None:
        self.save_model(self.output_dir / MODEL_DIR)  # ``mouth/`` always holds the newest weights

    def save_model(self, directory: Path) -> Path:
        """``save_pretrained`` (safetensors) into ``directory``, replacing it only once complete."""
        directory = Path(directory)
        tmp = directory.with_name(f".{directory.name}.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        self.mouth_model.save_pretrained(tmp, safe_serialization=True)
        shutil.rmtree(directory, ignore_errors=True)
        tmp.rename(directory)
        return directory


def train_mouth(config: MouthTrainConfig, audio_encoder=None, voice_activity=None) -> dict:
    """Trains an audio-to-mouth model as ``config`` says (see :class:`MouthTrainer`); returns the summary: ``step``,
    ``history`` and, on the main process, the split sizes, ``feature_seconds``, ``train_seconds``, the last
    validation, ``scores`` (test and val, raw and gated) and ``model_dir``."""
    return MouthTrainer(config, audio_encoder=audio_encoder, voice_activity=voice_activity).train()
