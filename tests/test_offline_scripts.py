"""The offline model's training driver (scripts/train_offline_model.py) and held-out evaluation
(scripts/evaluate_offline_model.py): the commands each stage runs, the export into the package, and the
model-card aggregation of `eadnet evaluate` reports."""

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _value(command, key):
    values = [
        command[i + 1].split("=", 1)[1]
        for i, item in enumerate(command[:-1])
        if item == "--set" and command[i + 1].startswith(f"{key}=")
    ]
    return values[-1] if values else None


def test_every_stage_resumes_and_the_ablation_differs_only_in_stda_and_tfrm(tmp_path):
    driver = load_script("train_offline_model")
    args = driver.parse_args(
        ["--corpus", str(tmp_path / "c"), "--runs", str(tmp_path / "r"), "--set", "stage1:train.max_steps=7"]
    )
    commands = driver.stage_commands(args)
    assert set(commands) == {"vae", "syncnet", "stage1", "stage1-ablation", "stage2", "stage2-ablation"}
    data = str(tmp_path / "c" / "dataset")
    for name, command in commands.items():
        assert "--resume" in command  # an interrupted stage continues from its newest checkpoint
        assert _value(command, "data.root" if name != "syncnet" else "data_root") == data
    for stage in ("stage1", "stage2"):
        main, ablation = commands[stage], commands[f"{stage}-ablation"]
        assert _value(main, "model.use_stda") is None and _value(ablation, "model.use_stda") == "false"
        assert _value(ablation, "model.use_tfrm") == "false"
        assert (
            _value(main, "components.vae") == _value(ablation, "components.vae") == str(tmp_path / "r" / "vae" / "vae")
        )

        # apart from the two switches and its own output (and stage-1 init) folders, the same command
        def pairs(command):
            return [
                item
                for item in command
                if "use_stda" not in item
                and "use_tfrm" not in item
                and "output_dir" not in item
                and "unet.init" not in item
            ]

        assert [item for item in pairs(ablation) if item != "--set"] == [
            item for item in pairs(main) if item != "--set"
        ]
        assert _value(ablation, "train.output_dir") == str(tmp_path / "r" / f"{stage}-ablation")
    # same budget: the override reaches both stage-1 runs, and stage 2 starts from its own variant's stage 1
    assert (
        _value(commands["stage1"], "train.max_steps") == _value(commands["stage1-ablation"], "train.max_steps") == "7"
    )
    assert _value(commands["stage2-ablation"], "unet.init") == str(tmp_path / "r" / "stage1-ablation" / "model")
    assert _value(commands["stage2"], "loss.syncnet") == str(tmp_path / "r" / "syncnet" / "syncnet")
    with pytest.raises(SystemExit, match="STAGE:KEY=VALUE"):
        driver.stage_commands(driver.parse_args(["--corpus", "c", "--set", "max_steps=3"]))


def test_timings_of_drivers_sharing_a_runs_folder_add_up(tmp_path):
    driver = load_script("train_offline_model")
    runs = tmp_path / "r"
    runs.mkdir()
    driver.add_timing(runs, "vae", 60.0)
    # each call reads the file again: a stage finished by another driver on the same RUNS is kept, not overwritten
    driver.add_timing(runs, "syncnet", 30.0)
    table = driver.add_timing(runs, "vae", 15.0)
    assert table == json.loads((runs / "timings.json").read_text()) == {"vae": 75.0, "syncnet": 30.0}
    assert not list(runs.glob("*partial*"))


def test_export_copies_the_unet_and_vae_with_their_digests(tmp_path, tiny_model_dir):
    import shutil

    import diffusers

    from eadnet.hub.resolve import sha256_file

    driver = load_script("train_offline_model")
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    shutil.rmtree(model / "vae")
    diffusers.AutoencoderTiny(
        encoder_block_out_channels=(8, 8, 8),
        decoder_block_out_channels=(8, 8, 8),
        num_encoder_blocks=(1, 1, 1),
        num_decoder_blocks=(1, 1, 1),
    ).save_pretrained(model / "vae")
    target = tmp_path / "weights" / "eadnet-mini"
    (target / "unet").mkdir(parents=True)
    (target / "unet" / "stale.bin").write_bytes(b"old")
    for component in ("unet", "vae"):  # as a folder saved by a from_pretrained-loaded model carries it
        config = json.loads((model / component / "config.json").read_text())
        config["_name_or_path"] = "/some/training/machine/folder"
        (model / component / "config.json").write_text(json.dumps(config))
    files = driver.export_model(model, target)
    assert set(files) == {
        f"{c}/{n}" for c in ("unet", "vae") for n in ("config.json", "diffusion_pytorch_model.safetensors")
    }
    for relative, (size, digest) in files.items():
        assert (target / relative).stat().st_size == size and sha256_file(target / relative) == digest
        if relative.endswith(".safetensors"):
            assert sha256_file(model / relative) == digest
    # the configs lose the training machine's path (_name_or_path) and, for the VAE, the key AutoencoderTiny
    # warns about; they load to the same configuration
    from eadnet.hub.loading import load_vae

    for component, dropped in (("unet", {"_name_or_path"}), ("vae", {"_name_or_path", "block_out_channels"})):
        source = json.loads((model / component / "config.json").read_text())
        exported = json.loads((target / component / "config.json").read_text())
        assert "block_out_channels" in source and "_name_or_path" not in exported
        assert {k: v for k, v in source.items() if k not in dropped} == exported
    assert tuple(load_vae("eadnet-mini", target / "vae").config.block_out_channels) == (8, 8, 8)
    assert not (target / "unet" / "stale.bin").exists()
    assert not list(target.glob(".*partial"))


def _report(scores: dict) -> dict:
    return {"videos": [{"video": f"/x/{stem}.mp4", "scores": values} for stem, values in scores.items()]}


def test_aggregate_compares_generated_with_ground_truth():
    evaluation = load_script("evaluate_offline_model")
    labels = {"a": "happy", "b": "sad", "c": "sad"}
    gen = _report(
        {
            "a": {
                "mouth_sync_corr": 0.4,
                "mouth_sync_best_lag": 0,
                "landmark_jitter": 2.0,
                "geometry_emotion": "happy",
            },
            "b": {
                "mouth_sync_corr": 0.2,
                "mouth_sync_best_lag": 3,
                "landmark_jitter": 4.0,
                "geometry_emotion": "fear",
            },
            "c": {
                "mouth_sync_corr": 0.3,
                "mouth_sync_best_lag": -1,
                "landmark_jitter": 3.0,
                "geometry_emotion": "sad",
            },
        }
    )
    gt = _report(
        {
            "a": {
                "mouth_sync_corr": 0.6,
                "mouth_sync_best_lag": 0,
                "landmark_jitter": 2.0,
                "geometry_emotion": "happy",
            },
            "b": {"mouth_sync_corr": 0.6, "mouth_sync_best_lag": 1, "landmark_jitter": 2.0, "geometry_emotion": "sad"},
            "c": {"mouth_sync_corr": 0.6, "mouth_sync_best_lag": 0, "landmark_jitter": 2.0, "geometry_emotion": "sad"},
            "d": {"mouth_sync_corr": 0.9},  # not generated: left out
        }
    )
    result = evaluation.aggregate(gen, gt, {**labels, "d": "happy"})
    table = result["table"]
    assert result["clips"] == 3
    assert table["mouth_sync_corr"]["generated"] == pytest.approx(0.3)
    assert table["mouth_sync_corr"]["ratio"] == pytest.approx(0.5)
    assert table["landmark_jitter"]["ratio"] == pytest.approx(1.5)
    assert table["mouth_sync_lag_within_1"]["generated"] == pytest.approx(2 / 3)
    assert table["mouth_sync_lag_within_1"]["ground_truth"] == pytest.approx(1.0)
    assert table["emotion_recognised"]["generated"] == pytest.approx(2 / 3)
    assert table["emotion_recognised"]["ratio"] == pytest.approx(2 / 3)
    assert result["emotion_per_label"]["sad"] == {"generated": 0.5, "ground_truth": 1.0, "clips": 2}
    json.dumps(result)  # the results file is plain JSON
