"""The computed memory / time estimate of training recipes."""

from pathlib import Path

import pytest

from eadnet.training.config import UNetTrainConfig
from eadnet.training.estimate import estimate_recipe, format_estimate

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


def config(name, *overrides):
    return UNetTrainConfig.from_yaml(RECIPES / name, ["data.root=/nonexistent", *overrides])


def test_parameter_counts_and_memory_terms_add_up():
    estimate = estimate_recipe(config("unet_tiny_cpu.yaml"), gpu="H100")
    terms = ("weights_and_optimizer_gib", "frozen_networks_gib", "activations_gib", "cuda_overhead_gib")
    assert estimate["memory_per_gpu_gib"] == pytest.approx(sum(estimate[t] for t in terms))
    # fp32 weights + fp32 grads + two fp32 AdamW moments, everything trainable: 16 bytes per parameter
    assert estimate["weights_and_optimizer_gib"] == pytest.approx(estimate["unet_params_m"] * 1e6 * 16 / 2**30)
    assert estimate["trainable_params_m"] == estimate["unet_params_m"] > 0
    assert "memory per GPU" in format_estimate(estimate)


def test_activations_scale_with_batch_and_shrink_with_checkpointing_and_bf16():
    one = estimate_recipe(config("unet_tiny_cpu.yaml"))
    two = estimate_recipe(config("unet_tiny_cpu.yaml", "data.batch_size=2"))
    assert two["activations_gib"] == pytest.approx(2 * one["activations_gib"], rel=0.05)
    assert two["tflops_per_micro_batch"] == pytest.approx(2 * one["tflops_per_micro_batch"], rel=0.05)
    checkpointed = estimate_recipe(config("unet_tiny_cpu.yaml", "train.gradient_checkpointing=true"))
    assert checkpointed["activations_gib"] < one["activations_gib"]
    assert checkpointed["tflops_per_micro_batch"] > one["tflops_per_micro_batch"]  # recomputation
    half = estimate_recipe(config("unet_tiny_cpu.yaml", "train.mixed_precision=bf16"))
    assert half["activations_gib"] < 0.75 * one["activations_gib"]


def test_selecting_modules_shrinks_the_optimizer_state_and_the_time_follows_the_gpu():
    everything = estimate_recipe(config("unet_tiny_cpu.yaml"))
    ead_only = estimate_recipe(config("unet_tiny_cpu.yaml", "train.trainable_modules=[ead]"))
    assert 0 < ead_only["trainable_params_m"] < everything["trainable_params_m"]
    assert ead_only["weights_and_optimizer_gib"] < everything["weights_and_optimizer_gib"]
    a100 = estimate_recipe(config("unet_tiny_cpu.yaml"), gpu="A100")
    assert a100["hours"] == pytest.approx(everything["hours"] * 989 / 312, rel=1e-6)
    with pytest.raises(ValueError, match="unknown GPU"):
        estimate_recipe(config("unet_tiny_cpu.yaml"), gpu="Z80")
