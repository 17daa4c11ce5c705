"""The run directory appears whole or not at all; atomic writers never leave half files."""

import errno

import pytest

from lupex.errors import ConfigError, LupexError
from lupex.io import atomic_path, write_text
from lupex.mission.rundir import RunDir


def test_failed_run_leaves_nothing(tmp_path):
    final = tmp_path / "run"
    with pytest.raises(RuntimeError):
        with RunDir(final) as work:
            (work / "a.txt").write_text("x")
            raise RuntimeError("boom")
    assert not final.exists()
    assert list(tmp_path.iterdir()) == []


def test_existing_run_is_kept_unless_overwrite(tmp_path):
    final = tmp_path / "run"
    with RunDir(final) as work:
        (work / "a.txt").write_text("first")
    with pytest.raises(ConfigError, match="already exists"):
        with RunDir(final):
            pass
    assert (final / "a.txt").read_text() == "first"
    with pytest.raises(RuntimeError):
        with RunDir(final, overwrite=True) as work:
            (work / "a.txt").write_text("second")
            raise RuntimeError("fails before completing")
    assert (final / "a.txt").read_text() == "first"  # a failed overwrite keeps the old run
    with RunDir(final, overwrite=True) as work:
        (work / "a.txt").write_text("second")
    assert (final / "a.txt").read_text() == "second"
    assert (final / "run.log").exists()


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    p = tmp_path / "f.txt"
    write_text(p, "old")
    with pytest.raises(ValueError):
        with atomic_path(p) as tmp:
            tmp.write_text("half")
            raise ValueError
    assert p.read_text() == "old"
    assert [q.name for q in tmp_path.iterdir()] == ["f.txt"]


def test_full_disk_is_a_clear_error(tmp_path):
    p = tmp_path / "f.txt"
    write_text(p, "old")
    with pytest.raises(LupexError, match="no space left"):
        with atomic_path(p):
            raise OSError(errno.ENOSPC, "No space left on device")
    assert p.read_text() == "old"
    assert [q.name for q in tmp_path.iterdir()] == ["f.txt"]


def test_outputs_follow_the_umask(tmp_path):
    import stat

    import lupex.io

    p = write_text(tmp_path / "f.txt", "x")
    assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~lupex.io._UMASK
    assert stat.S_IMODE(p.stat().st_mode) & 0o044  # readable by others under any usual umask
