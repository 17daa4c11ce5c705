"""Hostile machines: signals, two runs on one --out, failed and damaged resumes, a full disk, a crash.

Each test checks an invariant of the run directory (issue 21): a run is either
complete under its name, or kept whole as ``NAME.partial`` for ``--resume``, or
absent; a second process never writes into the first one's run; a resume never
deletes or ships what it cannot trust; every way the CLI ends has the
documented exit status and one line on stderr.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import _paths
from tests.cli_in_process import cli, one_line
from lupex.config import load, to_toml
from lupex.io import JOURNAL, write_text
from lupex.mission.checkpoint import Checkpoints
from lupex.mission.rundir import CHECKPOINTS, RunDir, fingerprint

SRC = str(_paths.SRC)
# A quick run: a 2 km synthetic site at 40 m, 2 days at 6 h, 8 azimuths, no landing Monte Carlo.
QUICK = ["--set", "site.name=synthetic", "--set", "site.size_m=2000", "--set", "site.pixel_m=40", "--set", "sites.edge_margin_m=200",
         "--days", "2", "--step-hours", "6", "--azimuths", "8", "--set", "sites.count=1",
         "--set", "landing.runs=0", "-q"]


def lupex(*args, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": SRC, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}
    return subprocess.Popen([sys.executable, "-m", "lupex", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kw)


def interrupted(final: Path, ckpt: dict | None = None) -> Path:
    """An unfinished run as Ctrl-C leaves it: fingerprint, config.toml, a product and checkpoints (journaled)."""
    cfg = load(overrides=[f'output.directory="{final}"'])
    with pytest.raises(KeyboardInterrupt):
        with RunDir(final, fingerprint=fingerprint(cfg)) as work:
            write_text(work / "config.toml", to_toml(cfg))
            write_text(work / "sites.csv", "x_m,y_m\n1,2\n")
            for name, obj in (ckpt or {}).items():
                Checkpoints(work / CHECKPOINTS).save(name, obj)
            raise KeyboardInterrupt
    return final.with_name(final.name + ".partial")


def started_run(final: Path, *, poll_s: float) -> subprocess.Popen:
    """``lupex run --out final`` (quick config), returned once its ``.partial`` holds config.toml (the run has
    started writing); fails if it exits first or has not started within 180 s."""
    p = lupex("run", "--out", final, *QUICK)
    marker = final.with_name(final.name + ".partial") / "config.toml"
    t0 = time.monotonic()
    while not marker.exists():
        assert p.poll() is None, p.communicate()
        assert time.monotonic() - t0 < 180, "the run did not start"
        time.sleep(poll_s)
    return p


def snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


# ----------------------------------------------------------------------------- two runs, one --out


def test_second_run_on_the_same_out_exits_2_and_leaves_the_first_intact(tmp_path, capsys):
    """The first run holds NAME.lock (here a process that entered RunDir and waits); the second, even with
    --overwrite or --resume, stops before touching anything."""
    final = tmp_path / "x"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from lupex.mission.rundir import RunDir\n"
         f"with RunDir({str(final)!r}) as w:\n (w / 'a.txt').write_text('first'); print('in', flush=True); "
         "time.sleep(60)"], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": SRC})
    try:
        assert holder.stdout.readline().strip() == "in"
        partial = final.with_name("x.partial")
        before = snapshot(partial)
        for extra in ([], ["--overwrite"]):
            code, err = cli(capsys, "run", "--out", final, *QUICK, *extra)
            assert code == 2 and one_line(err) and "being written by another lupex run" in err, err
        assert snapshot(partial) == before and not final.exists()
    finally:
        holder.kill()
        holder.wait()
    # the lock died with its holder (flock): the next run may go on, here discarding the leftover
    with RunDir(final, overwrite=True) as work:
        (work / "a.txt").write_text("second")
    assert (final / "a.txt").read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]


def test_final_rename_never_replaces_a_run_without_overwrite(tmp_path):
    final = tmp_path / "x"
    with pytest.raises(Exception, match="appeared while this run was writing"):
        with RunDir(final) as work:
            (work / "a.txt").write_text("new")
            final.mkdir()  # someone else's complete run appears meanwhile
            (final / "theirs.txt").write_text("keep")
    assert (final / "theirs.txt").read_text() == "keep"
    assert (tmp_path / "x.partial" / "a.txt").read_text() == "new"


def test_overwrite_ignores_an_existing_old_directory(tmp_path):
    final, old = tmp_path / "x", tmp_path / "x.old"
    with RunDir(final) as work:
        (work / "a.txt").write_text("first")
    old.mkdir()
    (old / "mine.txt").write_text("the user's")
    with RunDir(final, overwrite=True) as work:
        (work / "a.txt").write_text("second")
    assert (final / "a.txt").read_text() == "second"
    assert (old / "mine.txt").read_text() == "the user's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x", "x.old"]


# ----------------------------------------------------------------------------- resume


def test_failed_resume_keeps_the_partial(tmp_path):
    partial = interrupted(tmp_path / "x")
    before = snapshot(partial)
    p = lupex("run", "--resume", tmp_path / "x", "--scheduler", "tcp://127.0.0.1:1", "-q")
    out, err = p.communicate(timeout=240)
    assert p.returncode == 2 and one_line(err) and "kept in" in err, err
    after = snapshot(partial)
    assert {k: v for k, v in after.items() if k != "run.log"} == {k: v for k, v in before.items() if k != "run.log"}
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("damage", ["emptied", "deleted", "config-deleted", "checkpoint-truncated"])
def test_damaged_partial_is_refused_and_kept(tmp_path, capsys, damage):
    partial = interrupted(tmp_path / "x", ckpt={"site": list(range(1000))})
    if damage == "emptied":
        (partial / "sites.csv").write_bytes(b"")
    elif damage == "deleted":
        (partial / "sites.csv").unlink()
    elif damage == "config-deleted":
        (partial / "config.toml").unlink()
    else:
        p = partial / CHECKPOINTS / "site.pkl"
        p.write_bytes(p.read_bytes()[:100])
    before = snapshot(partial)
    code, err = cli(capsys, "run", "--resume", tmp_path / "x", "-q")
    assert code == 2 and one_line(err) and "changed after they were written" in err, err
    assert ("damaged checkpoint" if damage == "checkpoint-truncated" else
            "config.toml (deleted)" if damage == "config-deleted" else "sites.csv") in err, err
    assert snapshot(partial) == before


def test_journal_accepts_the_previous_version_of_a_rewritten_file(tmp_path):
    """A kill between journaling a rewrite and its rename leaves the previous file: not damage."""
    from lupex.mission.rundir import verify_written

    partial = interrupted(tmp_path / "x")
    old = (partial / "sites.csv").read_bytes()
    write_text(partial / "sites.csv", "x_m,y_m\n3,4\n")
    (partial / "sites.csv").write_bytes(old)
    verify_written(partial)
    assert (partial / JOURNAL).read_text().count("sites.csv") == 2


# ----------------------------------------------------------------------------- signals


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_exit_status_and_kept_run(tmp_path, sig, code):
    final = tmp_path / "x"
    p = started_run(final, poll_s=0.05)
    p.send_signal(sig)
    out, err = p.communicate(timeout=120)
    assert p.returncode == code, (p.returncode, err)
    assert one_line(err) and f"lupex run --resume {final}" in err, err
    assert final.with_name("x.partial").is_dir() and not final.exists()
    assert not final.with_name("x.lock").exists()


# ----------------------------------------------------------------------------- unexpected errors, a full disk


def test_unexpected_error_exits_1_with_a_log(tmp_path, capsys, monkeypatch):
    import lupex.cli.dem as dem_cli

    def boom(*a, **k):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(dem_cli, "generate_site", boom)   # where `lupex dem synth` looks it up
    monkeypatch.setenv("LUPEX_LOG_DIR", str(tmp_path / "logs"))
    code, err = cli(capsys, "dem", "synth", "--out", tmp_path / "d.tif", "--size-m", "800", "--pixel-m", "40")
    assert code == 1 and one_line(err) and "ZeroDivisionError" in err, err
    logs = list((tmp_path / "logs").glob("lupex-crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in err and "Traceback" in logs[0].read_text()


def test_rich_markup_in_messages_is_printed_literally(capsys):
    code, err = cli(capsys, "run", "--set", "foo.bar=1", "-q")
    assert code == 2 and "unknown table [foo]" in err and one_line(err), err


@pytest.fixture
def small_tmpfs(tmp_path):
    mnt = tmp_path / "full"
    mnt.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_full_disk_exits_2_and_leaves_nothing_that_looks_complete(small_tmpfs):
    """The disk fills up mid-run (a file takes the tmpfs's last bytes once the run has started, after the
    disk estimate let it in): HDF5 used to segfault at exit there (status 139)."""
    final = small_tmpfs / "x"
    p = started_run(final, poll_s=0.02)
    with open(small_tmpfs / "filler", "wb", buffering=0) as fh:  # the disk is full from here on
        try:
            while True:
                fh.write(b"\0" * (1 << 20))
        except OSError:
            pass
    out, err = p.communicate(timeout=300)
    assert p.returncode == 2 and one_line(err) and "no space left" in err.lower(), (p.returncode, err)
    assert not final.exists()
    leftovers = [q.name for q in small_tmpfs.iterdir()]
    assert not any(n == "x" or n.endswith(".lock") for n in leftovers), leftovers
