"""What every trainer here shares: the update loop (gradient accumulation, clipping, LR schedule, logging,
checkpoints), resumable checkpoints (``accelerate`` state + the step), the metrics log and loss averaging across
processes."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import torch

logger = logging.getLogger(__name__)

__all__ = ["CHECKPOINTS", "TRAINER_STATE", "CheckpointedRun"]

CHECKPOINTS = "checkpoints"
TRAINER_STATE = "trainer_state.json"


class CheckpointedRun:
    """Mixin for a trainer with ``self.accelerator``, ``self.output_dir`` (`Path`) and ``self.step`` (updates done).

    A checkpoint ``checkpoints/step-N`` is ``accelerator.save_state`` (model, optimizer, registered objects such as
    the LR scheduler and EMA, every RNG) plus ``trainer_state.json``; the step fixes the data position, because the
    trainers' samplers are addressed by batch number. ``trainer_state.json`` is written last, so a folder without it
    is an interrupted save and is never resumed from.
    """

    #: Newest checkpoints kept (0: all); trainers set it from their config.
    checkpoints_total_limit: int = 0

    def on_update(self) -> None:
        """Hook run right after each optimizer update (``self.step`` already counts it), e.g. an EMA update."""

    def on_step_end(self) -> None:
        """Hook run after an update's logging and checkpointing, e.g. periodic validation."""

    def run_updates(
        self,
        model: torch.nn.Module,
        batches: Iterable,
        compute_losses: Callable[[dict], dict],
        *,
        max_steps: int,
        accumulation: int,
        max_grad_norm: float,
        log_every: int,
        checkpoint_every: int,
    ) -> list[dict]:
        """Trains ``model`` on ``batches`` until ``self.step == max_steps``; ``compute_losses(batch)`` returns the
        loss terms with their weighted sum under ``"loss"``. Needs ``self.optimizer`` and ``self.lr_scheduler``
        (stepped once per update). Returns one row per update (terms averaged over micro-batches and processes)."""
        accelerator = self.accelerator
        history: list[dict] = []
        sums: dict[str, float] = {}
        started = time.perf_counter()
        for batch in batches:
            if self.step >= max_steps:
                break
            with accelerator.accumulate(model):
                terms = compute_losses(batch)
                accelerator.backward(terms["loss"])
                if accelerator.sync_gradients and max_grad_norm > 0:
                    accelerator.clip_grad_norm_(model.parameters(), max_grad_norm)
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
            for name, value in terms.items():
                sums[name] = sums.get(name, 0.0) + float(value.detach()) / accumulation
            if not accelerator.sync_gradients:
                continue
            self.lr_scheduler.step()
            self.step += 1
            self.on_update()
            row = {
                "step": self.step,
                **self._mean_over_processes(sums),
                "lr": self.lr_scheduler.get_last_lr()[0],
                "seconds": time.perf_counter() - started,
            }
            history.append(row)
            sums = {}
            if self.step % log_every == 0 or self.step == max_steps:
                self._log(row)
            if checkpoint_every and self.step % checkpoint_every == 0:
                self.save_checkpoint()
            self.on_step_end()
        return history

    def on_checkpoint_saved(self, folder: Path) -> None:
        """Hook run on the main process after a checkpoint is complete (e.g. refresh an exported model)."""

    def save_checkpoint(self) -> Path:
        """Saves ``checkpoints/step-N`` (every process must call it) and prunes old ones."""
        accelerator = self.accelerator
        folder = self.output_dir / CHECKPOINTS / f"step-{self.step:08d}"
        accelerator.wait_for_everyone()
        accelerator.save_state(str(folder))
        if accelerator.is_main_process:
            (folder / TRAINER_STATE).write_text(json.dumps({"step": self.step}))
            self.on_checkpoint_saved(folder)
            folders = sorted((self.output_dir / CHECKPOINTS).glob("step-*"))
            limit = self.checkpoints_total_limit
            for old in folders[: max(0, len(folders) - limit)] if limit > 0 else []:
                shutil.rmtree(old, ignore_errors=True)
        accelerator.wait_for_everyone()
        logger.info("Saved checkpoint %s", folder)
        return folder

    def latest_checkpoint(self) -> Path | None:
        """The newest complete checkpoint in ``output_dir``, or `None`."""
        folders = [f for f in sorted((self.output_dir / CHECKPOINTS).glob("step-*")) if (f / TRAINER_STATE).is_file()]
        return folders[-1] if folders else None

    def load_checkpoint(self, checkpoint: str | os.PathLike) -> None:
        """Restores a checkpoint folder, or with ``"latest"`` the newest complete one (none: start at step 0)."""
        if str(checkpoint) == "latest":
            folder = self.latest_checkpoint()
            if folder is None:
                logger.warning("resume=latest but %s holds no checkpoint: starting from step 0", self.output_dir)
                return
        else:
            folder = Path(checkpoint).expanduser()
            if not (folder / TRAINER_STATE).is_file():
                raise FileNotFoundError(f"{folder} is not a complete checkpoint (no {TRAINER_STATE})")
        self.accelerator.load_state(str(folder))
        self.step = int(json.loads((folder / TRAINER_STATE).read_text())["step"])
        logger.info("Resumed from %s at step %d", folder, self.step)

    def _mean_over_processes(self, values: dict[str, float]) -> dict[str, float]:
        if self.accelerator.num_processes == 1:
            return dict(values)
        names = sorted(values)
        tensor = torch.tensor([values[n] for n in names], device=self.accelerator.device)
        return dict(zip(names, self.accelerator.reduce(tensor, reduction="mean").tolist(), strict=True))

    def _log(self, row: dict) -> None:
        """One ``metrics.jsonl`` row (main process only)."""
        if not self.accelerator.is_main_process:
            return
        logger.info(
            "step %d: %s",
            row["step"],
            ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items() if k != "step"),
        )
        with (self.output_dir / "metrics.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
