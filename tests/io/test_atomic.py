"""Tests for `eadnet.io.atomic`: output appears complete or not at all, and existing files are safe."""

from __future__ import annotations

import os
import stat
import sys

import pytest

from eadnet.io.atomic import atomic_output, check_output_path


def test_success_renames_a_hidden_temporary_file_into_place(tmp_path):
    target = tmp_path / "result.mp4"
    with atomic_output(target) as tmp:
        assert tmp.parent == tmp_path
        assert tmp.name.startswith(".result.partial-") and tmp.suffix == ".mp4"
        assert tmp.exists() and not target.exists()
        tmp.write_bytes(b"video")
    assert target.read_bytes() == b"video"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.mp4"]


def test_suffix_can_be_chosen(tmp_path):
    with atomic_output(tmp_path / "result.mp4", suffix=".mkv") as tmp:
        assert tmp.suffix == ".mkv"
        tmp.write_text("x")
    assert (tmp_path / "result.mp4").read_text() == "x"


@pytest.mark.parametrize("error", [RuntimeError("failed"), KeyboardInterrupt()])
def test_failure_removes_the_temporary_file_and_keeps_the_old_one(tmp_path, error):
    target = tmp_path / "result.txt"
    target.write_text("old")
    with pytest.raises(type(error)), atomic_output(target, overwrite=True) as tmp:
        tmp.write_text("half-written")
        raise error
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.txt"]


def test_existing_file_needs_overwrite(tmp_path):
    target = tmp_path / "result.txt"
    target.write_text("old")
    with pytest.raises(FileExistsError, match="overwrite=True / --overwrite"), atomic_output(target):
        pytest.fail("the block must not run")
    with pytest.raises(FileExistsError, match="result.txt"):
        check_output_path(target)
    assert target.read_text() == "old"
    assert check_output_path(target, overwrite=True) == target
    with atomic_output(target, overwrite=True) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"


def test_missing_parent_folder(tmp_path):
    target = tmp_path / "not_there" / "result.txt"
    with pytest.raises(FileNotFoundError, match="not_there"):
        check_output_path(target)
    with pytest.raises(FileNotFoundError, match="not_there"), atomic_output(target):
        pytest.fail("the block must not run")
    assert not (tmp_path / "not_there").exists()


def test_folder_is_never_replaced(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(IsADirectoryError):
        check_output_path(tmp_path / "out", overwrite=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        check_output_path(tmp_path / "file" / "out.mp4")


def test_file_created_meanwhile_is_not_replaced(tmp_path):
    target = tmp_path / "result.txt"
    with pytest.raises(FileExistsError, match="kept at") as info, atomic_output(target) as tmp:
        tmp.write_text("mine")
        target.write_text("someone else's")
    assert target.read_text() == "someone else's"
    kept = [p for p in tmp_path.iterdir() if p.name.startswith(".result.partial-")]
    assert len(kept) == 1 and kept[0].read_text() == "mine" and str(kept[0]) in str(info.value)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_output_gets_normal_permissions(tmp_path):
    old_umask = os.umask(0o022)
    try:
        with atomic_output(tmp_path / "result.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((tmp_path / "result.txt").stat().st_mode) == 0o644
