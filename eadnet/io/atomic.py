"""Writing output files atomically: a finished file appears at its path, or nothing does.

Generating a video takes minutes. Writing straight to the final path would leave a truncated, unplayable file behind
when generation fails or is interrupted, and would destroy an existing file before its replacement exists. Output is
therefore written to a hidden temporary file in the same folder (so the final rename never crosses file systems)
and renamed onto the final path only once it is complete.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

__all__ = ["atomic_output", "check_output_path", "partial_path"]


def check_output_path(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Checks that an output file can be written at `path`, before any work is spent on it.

    Args:
        path (`str` or `os.PathLike`):
            Where the output file will be written.
        overwrite (`bool`, *optional*, defaults to `False`):
            Whether an existing file at `path` may be replaced.

    Returns:
        `Path`: `path` as a `Path`, with `~` expanded.

    Raises:
        `FileExistsError`: `path` exists and `overwrite` is `False`.
        `IsADirectoryError`: `path` is a folder (it is never replaced, even with `overwrite`).
        `FileNotFoundError`: the folder that should hold `path` does not exist.
        `NotADirectoryError`: the parent of `path` is a file.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        example = str(path / "out.mp4")
        raise IsADirectoryError(f"output path {str(path)!r} is a folder; give a file name such as {example!r}")
    if path.exists() and not overwrite:
        raise FileExistsError(f"output file {str(path)!r} exists; pass overwrite=True / --overwrite to replace it")
    parent = path.parent
    if not parent.exists():
        raise FileNotFoundError(f"output folder {str(parent)!r} does not exist; create it first (mkdir -p {parent})")
    if not parent.is_dir():
        raise NotADirectoryError(f"cannot write {str(path)!r}: {str(parent)!r} is a file, not a folder")
    return path


def partial_path(path: str | os.PathLike, suffix: str | None = None) -> Path:
    """A new hidden temporary file name next to `path`: `.<stem>.partial-<random><suffix>`.

    Args:
        path (`str` or `os.PathLike`):
            The final output path.
        suffix (`str`, *optional*):
            Extension of the temporary name (with its dot); defaults to the extension of `path`, so that muxers and
            encoders that pick the format from the file name pick the right one.

    Returns:
        `Path`: a name in the same folder as `path` that did not exist when the name was made (the file is not
        created).
    """
    path = Path(path).expanduser()
    suffix = path.suffix if suffix is None else suffix
    while True:
        candidate = path.with_name(f".{path.stem}.partial-{secrets.token_hex(4)}{suffix}")
        if not candidate.exists():
            return candidate


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as error:  # pragma: no cover - depends on the file system
        logger.warning("could not remove the temporary file %s: %s", path, error)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, overwrite: bool = False, suffix: str | None = None) -> Iterator[Path]:
    """Context manager yielding a temporary path to write to; renamed onto `path` when the block succeeds.

    The temporary file is created (empty, with the permissions a new file normally gets) in the same folder as
    `path`, under a hidden name `.<stem>.partial-<random><ext>` that keeps the extension of `path`. When the block
    exits normally it is renamed onto `path` with `os.replace` (atomic on POSIX and Windows). When the block raises
    (including `KeyboardInterrupt`), the temporary file is deleted, the exception propagates and an existing file at
    `path` is left untouched.

    Args:
        path (`str` or `os.PathLike`):
            The final output path.
        overwrite (`bool`, *optional*, defaults to `False`):
            Whether an existing file at `path` may be replaced.
        suffix (`str`, *optional*):
            Extension of the temporary file (with its dot); defaults to that of `path`.

    Yields:
        `Path`: the temporary file to write.

    Raises:
        `FileExistsError`: `path` exists and `overwrite` is `False` (checked before the block runs, and again before
            the rename: a file that appeared meanwhile is not replaced, and the finished output is kept at the
            temporary path named in the message).
        `FileNotFoundError`: the parent folder of `path` does not exist.

    Example:

    ```py
    >>> from eadnet.io.atomic import atomic_output
    >>> with atomic_output("result.txt", overwrite=True) as tmp:
    ...     _ = tmp.write_text("done")
    ```
    """
    path = check_output_path(path, overwrite)
    while True:
        tmp = partial_path(path, suffix)
        try:
            # O_EXCL: never reuse a name another writer just took; mode 0o666 so the umask applies as usual.
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:  # pragma: no cover - a 32-bit random name collided
            continue
    try:
        yield tmp
    except BaseException:
        _unlink_quietly(tmp)
        raise
    if not tmp.exists():
        raise FileNotFoundError(
            f"the temporary output {str(tmp)!r} was removed before it could be moved to {str(path)!r}"
        )
    if not overwrite and path.exists():
        raise FileExistsError(
            f"output file {str(path)!r} was created by someone else while this one was being written; the result "
            f"is kept at {str(tmp)!r}"
        )
    try:
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    logger.debug("wrote %s", path)
