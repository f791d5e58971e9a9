import pytest

from eadnet.hub import presets
from eadnet.hub.presets import (
    COMPONENTS,
    OFFLINE_SOURCES,
    PINNED_REVISIONS_TODO,
    ComponentSource,
    Preset,
    get_preset,
    is_pinned_revision,
    list_presets,
)


def test_known_presets():
    assert list_presets() == ["eadnet-mini", "latentsync-1.5", "latentsync-1.6", "offline-demo"]


@pytest.mark.parametrize("name", list_presets())
def test_every_preset_validates(name):
    preset = get_preset(name)
    assert preset.validate() == []
    assert set(preset.components) == set(COMPONENTS)
    for component, source in preset.components.items():
        if source.repo_id:
            pinned = is_pinned_revision(source.revision)
            assert pinned or (source.repo_id, source.revision) in PINNED_REVISIONS_TODO, (component, source.revision)
        for filename, digest in (source.sha256 or {}).items():
            assert filename in source.files and len(digest) == 64


def test_revisions_are_pinned_commits():
    # Every repository used by a preset has an established commit; nothing is left to pin.
    assert PINNED_REVISIONS_TODO == ()
    for name in list_presets():
        for source in get_preset(name).components.values():
            if source.repo_id:
                assert is_pinned_revision(source.revision), (name, source.repo_id)
    assert not is_pinned_revision("main")
    assert not is_pinned_revision("32A20D29AEAD0498E3E885E90DBBE8027DA1B61B")


def test_unknown_preset_lists_known_names():
    with pytest.raises(ValueError) as info:
        get_preset("latentsync-9")
    for name in list_presets():
        assert name in str(info.value)


def test_get_preset_passes_preset_objects_through():
    preset = get_preset("offline-demo")
    assert get_preset(preset) is preset


def test_latentsync_presets_match_the_design():
    for name, resolution, repo in (
        ("latentsync-1.5", 256, "ByteDance/LatentSync-1.5"),
        ("latentsync-1.6", 512, "ByteDance/LatentSync-1.6"),
    ):
        preset = get_preset(name)
        unet = preset.components["unet"]
        assert (unet.format, unet.repo_id, unet.files) == ("latentsync-pt", repo, ("latentsync_unet.pt",))
        assert preset.resolution == resolution and preset.mask_mode == "lower_face"
        assert preset.full_unet_config()["text_embed_dim"] == 768
        # LatentSync's published U-Net is the "base" config with its defaults (SD1.5 channels, 13 inputs).
        assert preset.unet_config_name == "base"
        assert not {"block_out_channels", "in_channels", "cross_attention_dim"} & set(preset.full_unet_config())
        assert preset.components["vae"].repo_id == "stabilityai/sd-vae-ft-mse"
        assert preset.components["audio_encoder"].repo_id == "openai/whisper-tiny"
        assert preset.components["text_encoder"].repo_id == "openai/clip-vit-large-patch14"
        scheduler = dict(preset.components["scheduler"].config)
        assert scheduler["_class_name"] == "DDIMScheduler" and scheduler["steps_offset"] == 1
        assert (scheduler["beta_start"], scheduler["beta_end"], scheduler["clip_sample"]) == (0.00085, 0.012, False)
        assert (
            preset.sampling.num_inference_steps,
            preset.sampling.audio_guidance_scale,
            preset.sampling.text_guidance_scale,
        ) == (20, 1.5, 1.0)
        assert preset.sampling.null_audio_outliers is False  # trained on real video, pauses included


def test_offline_demo_is_marked_untrained():
    preset = get_preset("offline-demo")
    assert preset.trained is False
    assert "untrained" in preset.description.lower()
    assert preset.components["unet"].format == "random-init" and preset.components["unet"].seed is not None
    assert preset.components["vae"].format == "random-init"
    assert preset.components["audio_encoder"].offline_source in OFFLINE_SOURCES
    assert preset.components["text_encoder"].offline_source in OFFLINE_SOURCES
    assert preset.full_unet_config()["text_embed_dim"] == 384  # MiniLM width
    assert (preset.mask_mode, preset.resolution, preset.sampling.num_inference_steps) == ("face", 256, 4)


def test_validation_catches_broken_presets():
    good = get_preset("offline-demo")
    broken = Preset(
        name="broken",
        description="",
        resolution=250,
        mask_mode="mouth",
        components={
            **good.components,
            "unet": ComponentSource(
                format="diffusers", repo_id="a/b", revision="main", files=("x",), sha256={"y": "0" * 64}
            ),
        },
    )
    problems = "\n".join(broken.validate())
    assert "neither a commit SHA nor listed in PINNED_REVISIONS_TODO" in problems
    assert "sha256 lists files that are not in files" in problems
    assert "mask_mode" in problems and "resolution" in problems
    missing = Preset(name="m", description="", resolution=256, mask_mode="face", components={})
    assert any("components must be exactly" in problem for problem in missing.validate())


def test_presets_are_read_only():
    preset = get_preset("latentsync-1.5")
    with pytest.raises(TypeError):
        preset.components["unet"] = None
    with pytest.raises(TypeError):
        preset.components["scheduler"].config["steps_offset"] = 0
    assert presets.DDIM_SCHEDULER_CONFIG["steps_offset"] == 1
