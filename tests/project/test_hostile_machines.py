"""Hostile machines, second round (issue 21): a disk or a TMPDIR without room, a plan that fails half-way, a
traverse the terrain rules out, cross-key checks of the options.

Invariants: a run that cannot fit is refused before it starts, with the numbers, in one line (exit 2) and
nothing on disk; a memory-mapped temporary file never kills the process (SIGBUS); ``lupex plan`` leaves its
directory whole or absent; valid input that the site rules out (no traverse) is a finding: exit 0, the
products computed are kept and the report, the manifest and the console say why.
"""

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import _paths
from tests.cli_in_process import cli, one_line
from lupex.errors import InputError

SRC = str(_paths.SRC)
# A quick run: a 2 km synthetic site at 40 m, 2 days at 6 h, 8 azimuths, no landing Monte Carlo.
QUICK = ["--set", "site.name=synthetic", "--set", "site.size_m=2000", "--set", "site.pixel_m=40",
         "--set", "sites.edge_margin_m=200", "--days", "2", "--step-hours", "6", "--azimuths", "8",
         "--set", "sites.count=1", "--set", "landing.runs=0", "-q"]


def tree_bytes(d: Path) -> int:
    return sum(p.stat().st_size for p in d.rglob("*") if p.is_file())


class FakeStatvfs:
    """``os.statvfs`` of a file system with ``free`` bytes left (4 KiB blocks)."""

    def __init__(self, free: int):
        self.f_frsize = self.f_bsize = 4096
        self.f_bavail = self.f_bfree = free // 4096
        self.f_blocks = 10 * self.f_bavail + 1


# ----------------------------------------------------------------------------- disk estimate


def test_disk_estimate_refuses_a_full_out_with_the_numbers(tmp_path, capsys, monkeypatch):
    import lupex.mission.resources as R

    monkeypatch.setattr(R.os, "statvfs", lambda p: FakeStatvfs(20 * 2**20))
    code, err = cli(capsys, "run", "--out", tmp_path / "x", *QUICK)
    assert code == 2 and one_line(err), err
    assert "MiB of disk" in err and "20.0 MiB free" in err and "50 x 50 cells" in err, err
    assert list(tmp_path.iterdir()) == []  # refused before the lock, the partial directory or any product


def test_disk_estimate_scales_with_the_grid_and_span():
    """The model's terms: cells (uncompressed rasters and checkpoints), site area (rocks), steps x points."""
    from lupex.config import load
    from lupex.mission import resources as R

    base = ["site.name=\"synthetic\"", "site.pixel_m=40", "time.step_hours=6"]
    small = R.estimate_run(load(overrides=base + ["site.size_m=2000", "time.days=2"]))
    big = R.estimate_run(load(overrides=base + ["site.size_m=8000", "time.days=2"]))
    long = R.estimate_run(load(overrides=base + ["site.size_m=2000", "time.days=200"]))
    cells = 200 * 200 - 50 * 50
    assert big.disk_bytes - small.disk_bytes == pytest.approx(cells * (R.DISK_BYTES_PER_CELL + R.DISK_BYTES_PER_M2 * 1600))
    assert long.disk_bytes - small.disk_bytes == pytest.approx(R.DISK_BYTES_PER_STEP_AND_POINT * 3 * 792)
    assert small.tmp_bytes == 0  # the horizon cube fits light.memory_limit_gib: no temporary file


@pytest.fixture
def tmpfs(tmp_path):
    """A real tmpfs of the asked size (root only; skipped elsewhere), unmounted afterwards."""
    mounted = []

    def make(name: str, size: str) -> Path:
        mnt = tmp_path / name
        mnt.mkdir()
        if os.geteuid() != 0 or shutil.which("mount") is None:
            pytest.skip("mounting a tmpfs needs root")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], capture_output=True)
        if r.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
        mounted.append(mnt)
        return mnt

    yield make
    for mnt in mounted:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(mnt: Path, leave: int = 0) -> None:
    """Fill the file system of ``mnt`` up to ``leave`` bytes free."""
    free = shutil.disk_usage(mnt).free - leave
    with open(mnt / "filler", "wb", buffering=0) as fh:
        while free > 0:
            n = min(free, 1 << 20)
            try:
                fh.write(b"\0" * n)
                fh.flush()
            except OSError:
                break
            free -= n


def lupex(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lupex", *map(str, args)], capture_output=True, text=True,
                          timeout=900, env={**os.environ, "PYTHONPATH": SRC, **(env or {})})


def test_small_real_tmpfs_is_refused_before_the_run(tmpfs):
    mnt = tmpfs("small", "3m")
    r = lupex("run", "--out", mnt / "x", *QUICK)
    assert r.returncode == 2 and one_line(r.stderr) and "of disk" in r.stderr and "free" in r.stderr, r.stderr
    assert list(mnt.iterdir()) == []


# ----------------------------------------------------------------------------- TMPDIR


@pytest.mark.parametrize("kind", ["missing", "a-file", "full"])
def test_unusable_tmpdir_exits_2(tmp_path, capsys, monkeypatch, kind):
    import lupex.mission.resources as R

    t = tmp_path / "t"
    if kind == "a-file":
        t.write_text("not a directory")
    elif kind == "full":
        t.mkdir()
        real = os.statvfs
        monkeypatch.setattr(R.os, "statvfs", lambda p: FakeStatvfs(64 * 2**10) if Path(p) == t else real(p))
    monkeypatch.setenv("TMPDIR", str(t))
    # a cube of 50 x 50 x 8 x 4 B = 80 KiB above a 1 KiB memory limit: streamed through a file in TMPDIR
    code, err = cli(capsys, "run", "--out", tmp_path / "x", *QUICK, "--set", "light.memory_limit_gib=1e-6")
    assert code == 2 and one_line(err) and f"TMPDIR={t}" in err, err
    assert ("is not a directory" if kind != "full" else "temporary space") in err, err
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.partial").exists()


def test_horizon_file_on_a_full_disk_is_an_error_not_sigbus(tmp_path, monkeypatch):
    """posix_fallocate reserves the memory-mapped file's blocks: ENOSPC now, never SIGBUS while writing it."""
    from lupex.light.illumination import horizon_store

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full)
    with pytest.raises(InputError, match="No space left"):
        horizon_store((64, 64), 8, 1024, tmpdir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # the temporary file is removed


def test_run_with_tmpdir_on_an_almost_full_tmpfs_exits_2(tmpfs, tmp_path):
    """The case that died of SIGBUS (exit 135) and left a resumable-looking .partial: the horizon cube
    (1.2 MiB) memory-mapped in a TMPDIR with 300 KiB left. And horizon_store itself on that tmpfs."""
    mnt = tmpfs("tmp", "1m")
    fill(mnt, leave=300 * 1024)
    big = [a.replace("site.size_m=2000", "site.size_m=8000") for a in QUICK]
    r = lupex("run", "--out", tmp_path / "x", *big, "--set", "light.memory_limit_gib=1e-4", env={"TMPDIR": str(mnt)})
    assert r.returncode == 2 and one_line(r.stderr) and "temporary space" in r.stderr, (r.returncode, r.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]
    from lupex.light.illumination import horizon_store

    with pytest.raises(InputError, match="No space left"):
        horizon_store((200, 200), 8, 1024, tmpdir=mnt)
    assert sorted(p.name for p in mnt.iterdir()) == ["filler"]


# ----------------------------------------------------------------------------- lupex plan


PLAN_SITE = ["--site", "synthetic", "--size-m", "3000", "--pixel-m", "30", "--seed", "1", "--azimuths", "36",
             "--days", "3"]


@pytest.fixture(scope="module")
def plan_args():
    from lupex.terrain import generate_site
    from lupex.terrain.geo import lonlat_grid

    lon, lat = lonlat_grid(generate_site(seed=1, size_m=3000, pixel_m=30).dem)
    ll = [f"{lat[r, c]:.6f},{lon[r, c]:.6f}" for r, c in ((10, 10), (40, 12))]
    return ["plan", "--from", ll[0], "--to", ll[1], "--start", "2027-01-03T00:00:00", *PLAN_SITE]


def test_plan_that_fails_while_writing_leaves_no_directory(tmp_path, capsys, monkeypatch, plan_args):
    import lupex.io as io

    real = io.write_bytes

    def full_at_the_profile(path, data):
        if Path(path).name == "plan_profile.png":  # the last of the four files
            raise io.LupexError(f"no space left on the device while writing {path}")
        return real(path, data)

    monkeypatch.setattr(io, "write_bytes", full_at_the_profile)
    code, err = cli(capsys, *plan_args, "--out", tmp_path / "plan")
    assert code == 2 and one_line(err) and "no space left" in err, err
    assert list(tmp_path.iterdir()) == []  # neither plan/ nor its hidden temporary sibling
    # into an existing directory: its files stay as they were
    (tmp_path / "plan").mkdir()
    (tmp_path / "plan" / "plan.geojson").write_text("old")
    code, err = cli(capsys, *plan_args, "--out", tmp_path / "plan")
    assert code == 2
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["plan", "plan.geojson"]
    assert (tmp_path / "plan" / "plan.geojson").read_text() == "old"
    monkeypatch.setattr(io, "write_bytes", real)
    code, err = cli(capsys, *plan_args, "--out", tmp_path / "plan")
    assert code == 0, err
    assert json.loads((tmp_path / "plan" / "plan.geojson").read_text())["type"] == "FeatureCollection"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan"]


# ----------------------------------------------------------------------------- a traverse the site rules out


def test_run_without_a_traverse_is_a_finding(tmp_path, capsys, monkeypatch):
    """Valid input where the planner finds no first traverse (here forced: the goal on an impassable slope,
    as the default site gave for 30 days at 6 h with 90 azimuths): exit 0, every other phase's products, and
    the reason on the console, in the report and in the manifest. The disk estimate bounds what the run held
    at its peak (products and checkpoints, measured just before the final rename)."""
    import lupex.mission.rundir as rundir
    import lupex.mission.run as run_mod
    from lupex.rover.planner import PlanError

    reason = "the goal cell (31, 17) is on an impassable slope (steeper than the planner's max_slope_deg); move it"

    def no_traverse(*a, **k):
        raise PlanError(reason)

    peak = {}
    publish = rundir.RunDir._publish

    def measure(self):
        peak["bytes"] = tree_bytes(self.partial)
        return publish(self)

    monkeypatch.setattr(run_mod, "run_rover", no_traverse)
    monkeypatch.setattr(rundir.RunDir, "_publish", measure)
    final = tmp_path / "x"
    # a short campaign (3 rounds, no six-month timeline) keeps the test quick; it still runs and writes
    code, err = cli(capsys, "run", "--out", final, *QUICK, "--set", "campaign.rounds=3", "--set", "campaign.schedule=false")
    assert code == 0, err
    for product in ("dem.tif", "sites.csv", "light_statistics.nc", "ground_truth.nc", "survey_ns.parquet",
                    "drilling.parquet", "campaign_scores.parquet", "report.html"):
        assert (final / product).is_file(), product
    assert not (final / "rover_plan.geojson").exists()
    notes = json.loads((final / "manifest.json").read_text())["notes"]
    assert len(notes) == 1 and "First traverse: NOT PLANNED" in notes[0] and reason in notes[0], notes
    assert "First traverse: NOT PLANNED" in (final / "report.html").read_text()
    log = (final / "run.log").read_text()
    assert "first traverse not planned" in log and "estimate:" in log
    from lupex.config import load
    from lupex.mission.resources import estimate_run

    est = estimate_run(load(final / "config.toml"))
    assert peak["bytes"] <= est.disk_bytes, (peak, est.line())


def test_no_traverse_note_reaches_the_console(capsys, monkeypatch):
    """The CLI prints each note after the verdicts (exit 0)."""
    import lupex.mission.run as run_mod
    from lupex.mission.run import MissionResult, NoTraverse

    class Site:
        sites = ()

    note = NoTraverse("start and goal are the same cell; nothing to plan").line()
    monkeypatch.setattr(run_mod, "run_mission", lambda cfg, **k: MissionResult(
        run_dir=Path("/r"), site=Site(), landing=None, ground_truth=None, survey=None, drilling=None, rover=None,
        notes=(note,)))
    from lupex.cli import main

    argv, sys.argv = sys.argv, ["lupex", "run", "-q", "--days", "2"]
    try:
        with pytest.raises(SystemExit) as info:
            main()
    finally:
        sys.argv = argv
    got = capsys.readouterr()
    assert info.value.code == 0, got.err
    assert "First traverse: NOT PLANNED: start and goal are the same cell" in " ".join(got.out.split())


# ----------------------------------------------------------------------------- options checked together


@pytest.mark.parametrize("args, needle, not_in", [
    # each --set used to be checked alone: the span with the default 1 h step, "time.step_hours 1"
    (["--days", "1e9", "--step-hours", "1e9"], "coverage", "step_hours 1 "),
    (["--days", "1e6", "--step-hours", "1e5"], "coverage", "step_hours 1 "),
    (["--days", "1e9"], "time steps", "1882"),
    (["--workers", "100000"], "compute.workers", "Traceback"),
])
def test_options_are_checked_together(tmp_path, capsys, args, needle, not_in):
    code, err = cli(capsys, "run", *args, "--out", tmp_path / "x", "-q")
    assert code == 2 and one_line(err) and needle in err and not_in not in err, err
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- determinism across processes


def test_neutron_table_does_not_depend_on_the_blas_thread_count():
    """The table is smoothed by dense solves once per process; built with 2 BLAS threads (a run's first survey)
    and with 1 (a resumed run's first campaign leg) it must be the same to the last bit, or every retrieval
    after a resume differs (the cause of the resume test's old xfail)."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from lupex.instruments import neutron

    def build(n):
        with threadpool_limits(n):
            t = neutron.load_table.__wrapped__("builtin")
        splines, norm = t._splines
        return [s.get_coeffs() for per_top in splines for s in per_top] + [np.array(norm)] + \
            [g.values for g in t._temperature_grid]

    one, two = build(1), build(2)
    assert all(np.array_equal(a, b) for a, b in zip(one, two))


def test_run_log_on_a_full_disk_prints_no_traceback(tmp_path, capsys):
    """logging prints "--- Logging error ---" and a traceback on stderr when its file cannot be written; the
    run's log drops the record instead (the next product written reports the full disk in one line)."""
    import logging

    from lupex.mission.rundir import RunDir

    class Full:
        def write(self, s):
            raise OSError(errno.ENOSPC, "No space left on device")

        flush = close = lambda self: None

    rd = RunDir(tmp_path / "x")
    with rd:
        real, rd._handler.stream = rd._handler.stream, Full()
        logging.getLogger("lupex.test").warning("a line that does not fit")
        rd._handler.stream = real
    assert "Logging error" not in capsys.readouterr().err


# ----------------------------------------------------------------------------- the reported late aborts, for real


@pytest.mark.slow
@pytest.mark.parametrize("args", [
    # "start and goal are the same cell" (issue 21): the quick 8 km synthetic site over 30 days
    ["--set", "site.name=synthetic", "--set", "site.size_m=8000", "--set", "site.pixel_m=40", "--days", "30",
     "--step-hours", "6"],
    # "goal cell ... on an impassable slope" (issue 21): the default site, 30 days at 6 h, 90 azimuths
    ["--days", "30", "--step-hours", "6", "--azimuths", "90"],
], ids=["quick-30-days", "default-site-90-azimuths"])
def test_reported_late_aborts_complete(tmp_path, args):
    """The two valid inputs that used to stop late now finish (about 3 min each on 2 cores): exit 0, the site
    products, and either a planned first traverse or the note saying why there is none."""
    r = lupex("run", "--out", tmp_path / "x", *args, "-q")
    assert r.returncode == 0, r.stderr
    final = tmp_path / "x"
    assert (final / "dem.tif").is_file() and (final / "sites.csv").is_file() and (final / "report.html").is_file()
    notes = json.loads((final / "manifest.json").read_text())["notes"]
    assert (final / "rover_plan.geojson").is_file() or any("First traverse: NOT PLANNED" in n for n in notes)
