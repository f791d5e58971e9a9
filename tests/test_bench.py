"""``eadnet bench generate`` and ``eadnet bench compare`` on the tiny model folder (one step, sub-second clips)."""

import contextlib
import io
import json
import math

import numpy as np
import pytest
import torch

from eadnet.benchmarks.generate_bench import SCHEMA, STAGES, linear_fit, tile_speech
from eadnet.cli import main

DURATIONS = (0.5, 1.0)


def _run_cli(argv):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(argv)
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.fixture(scope="module")
def bench_result(tiny_model_dir, tmp_path_factory):
    """One in-process benchmark run: (exit code, stdout, stderr, JSON path, threads before the run)."""
    path = tmp_path_factory.mktemp("bench") / "tiny.json"
    threads = torch.get_num_threads()
    # One thread: on a loaded 2-core machine two OpenMP threads can be many times slower than one.
    code, stdout, stderr = _run_cli(
        [
            "bench",
            "generate",
            "--models",
            str(tiny_model_dir),
            "--durations",
            *map(str, DURATIONS),
            "--steps",
            "1",
            "--resolutions",
            "64",
            "128",
            "--threads",
            "1",
            "--warmup",
            "1",
            "--repeats",
            "1",
            "--cache-interval",
            "2",
            "--cache-text-guidance",
            "on",
            "--json",
            str(path),
        ]
    )
    return code, stdout, stderr, path, threads


def test_generate_bench_json_schema(bench_result):
    code, stdout, stderr, path, threads = bench_result
    assert code == 0, stderr
    assert torch.get_num_threads() == threads  # --threads does not leak out of the benchmark
    report = json.loads(path.read_text())
    assert report["schema"] == SCHEMA
    machine = report["machine"]
    for key in ("cpu_model", "cpu_count", "torch_threads", "torch", "diffusers", "cuda", "host_id"):
        assert key in machine
    assert "hostname" not in machine
    assert report["settings"]["threads"] == 1 and report["settings"]["warmup"] == 1

    rows = report["rows"]
    assert [row["duration_s"] for row in rows] == list(DURATIONS)
    for row, duration in zip(rows, DURATIONS, strict=True):
        assert row["resolution"] == 64 and row["steps"] == 1 and row["cache_interval"] == 2
        assert row["cache_text_guidance"] is True
        assert row["frames"] == math.ceil(duration * 25)
        assert set(row["stages_s"]) == set(STAGES)
        assert all(seconds >= 0 for seconds in row["stages_s"].values())
        assert row["stages_s"]["denoise"] > 0 and row["stages_s"]["mux"] > 0
        assert row["total_s"] >= sum(row["stages_s"].values()) - 1e-3
        assert row["denoise_per_step_s"] == pytest.approx(row["stages_s"]["denoise"] / row["denoise_steps"])
        assert row["denoise_steps"] == row["windows"] * row["steps"]
        assert row["fps"] > 0 and row["fps"] == pytest.approx(row["frames"] / row["total_s"])
        assert row["peak_rss_mib"] > 0 and row["cuda_peak_mib"] is None
        assert len(row["total_s_all"]) == 1
    (fit,) = report["fits"]
    assert fit["points"] == 2 and fit["frames"] == [13, 25]
    assert math.isfinite(fit["intercept_s"]) and math.isfinite(fit["seconds_per_frame"])
    # The model's crop size is fixed: 128 px is noted as not run, never faked.
    assert any("128 px not run" in note for note in report["notes"])
    assert "128 px not run" in stderr

    assert "s/step" in stdout and "peak MiB" in stdout
    assert stdout.count(rows[0]["model_name"][:15]) >= 3  # two rows and a fit line
    assert "x frames" in stdout and "wrote" in stdout


def test_compare_prints_ratios(bench_result, tmp_path):
    *_, path, _ = bench_result
    report = json.loads(path.read_text())
    for row in report["rows"]:  # "machine B" takes twice as long
        row["total_s"] *= 2
        row["fps"] /= 2
    slower = tmp_path / "slower.json"
    slower.write_text(json.dumps(report))
    code, stdout, stderr = _run_cli(["bench", "compare", str(path), str(slower)])
    assert code == 0, stderr
    assert stdout.count(" 2.000") == len(DURATIONS) and stdout.count(" 0.500") == len(DURATIONS)
    assert "geometric mean B/A over 2 rows: total x2.000, fps x0.500" in stdout


def test_compare_refuses_unrelated_files(bench_result, tmp_path):
    *_, path, _ = bench_result
    other = tmp_path / "other.json"
    other.write_text(json.dumps([{"audio_seconds": 4.0}]))
    code, _, stderr = _run_cli(["bench", "compare", str(path), str(other)])
    assert code == 2 and "not an `eadnet bench generate --json` result" in stderr

    report = json.loads(path.read_text())
    for row in report["rows"]:
        row["steps"] = 20
    other.write_text(json.dumps(report))
    code, _, stderr = _run_cli(["bench", "compare", str(path), str(other)])
    assert code == 2 and "no rows with the same" in stderr


def test_missing_model_is_a_clear_error(tmp_path):
    missing = tmp_path / "no-such-model"
    code, stdout, stderr = _run_cli(["bench", "generate", "--models", str(missing), "--durations", "0.5"])
    assert code == 2
    assert str(missing) in stderr and "no such folder" in stderr
    assert stdout == ""  # fails before the table header, not after minutes of measurements


def test_isolated_run_reports_a_row(tiny_model_dir, tmp_path):
    path = tmp_path / "isolated.json"
    code, _, stderr = _run_cli(
        [
            "bench",
            "generate",
            "--models",
            str(tiny_model_dir),
            "--durations",
            "0.5",
            "--warmup",
            "0",
            "--threads",
            "1",
            "--isolate",
            "--json",
            str(path),
        ]
    )
    assert code == 0, stderr
    (row,) = json.loads(path.read_text())["rows"]
    assert row["isolated"] and row["frames"] == 13 and row["total_s"] > 0 and row["peak_rss_mib"] > 0


def test_tile_speech_and_linear_fit():
    speech = np.ones(1000, dtype=np.float32)
    tiled = tile_speech(speech, 1000, 3.0)
    assert len(tiled) == 3000 and tiled[1000:1300].max() == 0 and tiled[1300] == 1  # repeated after a pause
    assert len(tile_speech(speech, 1000, 0.5)) == 500
    fit = linear_fit([10, 20, 40], [1.5, 2.5, 4.5])
    assert fit["intercept_s"] == pytest.approx(0.5) and fit["seconds_per_frame"] == pytest.approx(0.1)
    assert fit["r2"] == pytest.approx(1.0)
    assert linear_fit([13, 13], [1.0, 1.1]) is None


def test_model_bench_measures_the_vae_decode_per_chunk(tmp_path):
    """Section (d): the Stable Diffusion VAE's decode, one fresh process per chunk size (tiny latents here)."""
    path = tmp_path / "model.json"
    argv = ["bench", "model", "--configs", "tiny", "--no-time", "--skip-attention", "--skip-cache"]
    code, stdout, stderr = _run_cli([*argv, "--resolution", "16", "--vae-chunks", "1", "2", "--json", str(path)])
    assert code == 0, stderr
    assert "(d) VAE decode" in stdout and "MiB/frame" in stdout
    rows = json.loads(path.read_text())["vae_decode"]
    assert [(row["chunk"], row["resolution"], row["dtype"]) for row in rows] == [
        (1, 16, "float32"),
        (2, 16, "float32"),
    ]
    assert all(row["seconds_per_frame"] > 0 and row["peak_mib"] >= 0 for row in rows)
    code, _, stderr = _run_cli([*argv, "--resolution", "16", "--vae-chunks", "0"])
    assert code == 2 and "--vae-chunks must be positive" in stderr
