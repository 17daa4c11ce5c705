"""``lupex run --resume``: a run killed mid-way and resumed gives the files of an uninterrupted run.

The reference is an independent, uninterrupted run of the same configuration
(it runs at the same time as the one that is killed, to keep the wall time
down); the comparison is of bytes, file by file, with only what must differ
(timings, the run's own directory name, the log) taken out first.
"""

import errno
import filecmp
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cli_in_process
from lupex.config import load
from lupex.errors import ConfigError, LupexError
from lupex.mission.rundir import FINGERPRINT, RunDir, Terminated, fingerprint

# A small, fast run: a 2 km synthetic site at 40 m, 10 days at 6 h, 36 azimuths, one descent, no rendered frame
# (about 50 CPU-s, most of it the survey, the drilling figures and the report).
TINY = ["--set", "site.name=synthetic", "--set", "site.size_m=2000", "--set", "site.pixel_m=40", "--set", "sites.edge_margin_m=200",
        "--days", "10", "--step-hours", "6", "--azimuths", "36", "--set", "sites.count=2",
        "--set", "sites.min_separation_m=200", "--set", "landing.runs=1", "--set", 'landing.frame_altitudes_m=""',
        "--set", "subsurface.seed=5", "-q"]  # seed 5: the nearest first drill site (250 m), so a short survey
KILL_AFTER = "campaign-strategy-round-000"  # checkpoint whose appearance triggers the SIGKILL: mid-campaign
TIMING = re.compile(r"timings?_s|wall[ _-]?time|elapsed", re.I)


def lupex_cmd(*args):
    return [sys.executable, "-m", "lupex", *map(str, args)]


def cli(capsys, *args) -> tuple[int, str]:
    """``lupex ARGS`` in this process; (exit status, stderr on one line)."""
    code, err = cli_in_process.cli(capsys, *args)
    return code, " ".join(err.split())


def snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def _normalised(name: str, data: bytes) -> bytes:
    """What of a product must match: all of it but timings and the run's own path."""
    if name == "manifest.json":
        man = json.loads(data)
        man.pop("timings_s", None)
        return json.dumps(man, sort_keys=True).encode()
    if name == FINGERPRINT:
        fp = json.loads(data)
        fp["config_toml"] = _normalised("config.toml", fp["config_toml"].encode()).decode()
        return json.dumps(fp, sort_keys=True).encode()
    if name == "config.toml":
        return b"\n".join(ln for ln in data.splitlines() if not ln.startswith(b"directory = "))
    if name == "report.html":
        return b"\n".join(ln for ln in data.splitlines() if not TIMING.search(ln.decode("utf-8", "replace")))
    return data


def differing_files(ref: Path, other: Path) -> list[str]:
    skip = {"run.log"}  # timestamps; the resumed run appends to it
    a = {str(p.relative_to(ref)) for p in ref.rglob("*") if p.is_file()} - skip
    b = {str(p.relative_to(other)) for p in other.rglob("*") if p.is_file()} - skip
    out = [f"{n} (only in the uninterrupted run)" for n in sorted(a - b)]
    out += [f"{n} (only in the resumed run)" for n in sorted(b - a)]
    for n in sorted(a & b):
        if n in ("manifest.json", FINGERPRINT, "config.toml", "report.html"):
            same = _normalised(n, (ref / n).read_bytes()) == _normalised(n, (other / n).read_bytes())
        else:
            same = filecmp.cmp(ref / n, other / n, shallow=False)
        if not same:
            out.append(n)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """An uninterrupted run, and the same run SIGKILLed mid-way then resumed (both started together)."""
    base = tmp_path_factory.mktemp("resume")
    ref, killed = base / "reference", base / "killed"
    partial = killed.with_name("killed.partial")
    logs = {n: (base / f"{n}.out").open("w") for n in ("ref", "killed")}

    def log(n):
        logs[n].flush()
        return (base / f"{n}.out").read_text()

    t0 = time.perf_counter()
    p_ref = subprocess.Popen(lupex_cmd("run", "--out", ref, *TINY), stdout=logs["ref"], stderr=subprocess.STDOUT)
    p_kill = subprocess.Popen(lupex_cmd("run", "--out", killed, *TINY), stdout=logs["killed"], stderr=subprocess.STDOUT)
    marker = partial / "checkpoints" / f"{KILL_AFTER}.pkl"
    try:
        while not marker.exists():
            if p_kill.poll() is not None:
                pytest.fail(f"the run to kill ended (status {p_kill.returncode}) before its {KILL_AFTER} "
                            f"checkpoint:\n{log('killed')}")
            if time.perf_counter() - t0 > 300:
                pytest.fail(f"no {KILL_AFTER} checkpoint after 300 s")
            time.sleep(0.05)
        p_kill.send_signal(signal.SIGKILL)
        assert p_kill.wait() == -signal.SIGKILL
        at_kill = sorted(p.stem for p in (partial / "checkpoints").glob("*.pkl"))
        spare = base / "spare" / "run.partial"  # a copy of the killed run for the bad-resume tests
        shutil.copytree(partial, spare)
        r = subprocess.run(lupex_cmd("run", "--resume", killed, "-q"), capture_output=True, text=True)
        assert r.returncode == 0, r.stderr + r.stdout
        assert p_ref.wait() == 0, log("ref")
    finally:
        for p in (p_kill, p_ref):
            if p.poll() is None:
                p.kill()
                p.wait()
        for f in logs.values():
            f.close()
    return {"ref": ref, "resumed": killed, "partial": partial, "at_kill": at_kill, "spare": spare,
            "wall_s": time.perf_counter() - t0}


def test_killed_run_resumes_to_the_uninterrupted_result(runs):
    # really killed mid-campaign: every phase before it was checkpointed, the campaign's first round too,
    # the campaign as a whole and the phases after it were not
    assert {"site", "landing", "subsurface", "rover", "survey", "drilling", KILL_AFTER} <= set(runs["at_kill"]), \
        runs["at_kill"]
    assert not {"campaign", "budget"} & set(runs["at_kill"]), runs["at_kill"]
    resumed, ref = runs["resumed"], runs["ref"]
    assert not runs["partial"].exists()
    assert not (resumed / "checkpoints").exists()  # a complete run has nothing left to resume
    leftovers = [p.name for p in resumed.rglob(".*")]
    assert not leftovers, f"temporary files of the killed run were left behind: {leftovers}"
    products = {p.suffix for p in ref.iterdir()}
    assert {".parquet", ".geojson", ".tif", ".csv", ".nc", ".png", ".html"} <= products  # the comparison covers them
    diffs = differing_files(ref, resumed)
    assert "resuming" in (resumed / "run.log").read_text()
    # byte for byte, the campaign's GP-fitted maps included: they used to differ (~0.2 % in the lawnmower's
    # hyperparameters) because the neutron response table, built once per process, took its last bits from the
    # BLAS thread count of the phase that first needed it (see lupex.instruments.neutron.load_table)
    assert not diffs, f"the resumed run differs from the uninterrupted one in {len(diffs)} files: {', '.join(diffs)}"


def test_resume_with_another_config_is_refused(runs, capsys):
    spare = runs["spare"]
    before = snapshot(spare)
    code, err = cli(capsys, "run", "--resume", spare, "--days", "11", "--set", "landing.runs=2", "-q")
    assert code == 2, err
    assert "time.days (run: 10.0, now: 11.0)" in err and "landing.runs (run: 1, now: 2)" in err, err
    # the config file names the same run: accepted as far as the check goes, and [compute] may change
    cfg_file = spare / "config.toml"
    code, err = cli(capsys, "run", "--resume", spare, "--config", cfg_file, "--set", "light.n_azimuths=72", "-q")
    assert code == 2 and "light.n_azimuths (run: 36, now: 72)" in err, err
    assert snapshot(spare) == before  # a refused resume touches nothing


def test_resume_with_another_version_is_refused(runs, capsys):
    spare = runs["spare"]
    original = (spare / FINGERPRINT).read_text()
    fp = json.loads(original)
    fp["lupex_version"] = "0.0.0-old"
    (spare / FINGERPRINT).write_text(json.dumps(fp))
    try:
        before = snapshot(spare)
        code, err = cli(capsys, "run", "--resume", spare.with_name("run"), "-q")
        assert code == 2 and "Traceback" not in err, err
        assert "started by lupex 0.0.0-old" in err and "start a new run" in err, err
        assert snapshot(spare) == before
    finally:
        (spare / FINGERPRINT).write_text(original)


def test_resume_of_a_config_toml_edited_since_the_start_is_refused(tmp_path, capsys):
    final = _interrupted(tmp_path / "run")
    (final.with_name("run.partial") / "config.toml").write_text(
        (final.with_name("run.partial") / "config.toml").read_text().replace("seed = 1", "seed = 7"))
    code, err = cli(capsys, "run", "--resume", final, "-q")
    assert code == 2 and "subsurface.seed (run: 1, now: 7)" in err, err


@pytest.mark.parametrize("what", ["missing", "plain", "partial-without-fingerprint", "bad-fingerprint", "complete"])
def test_resume_of_something_else_exits_2(tmp_path, capsys, runs, what):
    target = tmp_path / "x"
    needle = "not a lupex run"
    if what == "missing":
        needle = "no run to resume"
    elif what == "plain":
        target.mkdir()
        (target / "notes.txt").write_text("hello")
    elif what == "partial-without-fingerprint":
        target = tmp_path / "x.partial"
        target.mkdir()
        (target / "dem.tif").write_bytes(b"II*\0")
    elif what == "bad-fingerprint":
        target = tmp_path / "x.partial"
        target.mkdir()
        (target / FINGERPRINT).write_text("{not json")
    elif what == "complete":
        target, needle = runs["ref"], "is a complete run"
    before = snapshot(target) if target.exists() else None
    code, err = cli(capsys, "run", "--resume", target, "-q")
    assert code == 2 and needle in err and "Traceback" not in err, err
    assert (snapshot(target) if target.exists() else None) == before


def _interrupted(final: Path) -> Path:
    """A run directory interrupted right after it started (Ctrl-C): kept, with its fingerprint and config."""
    from lupex.config import to_toml
    from lupex.io import write_text

    cfg = load(overrides=[f'output.directory="{final}"'])
    with pytest.raises(KeyboardInterrupt):
        with RunDir(final, fingerprint=fingerprint(cfg)) as work:
            write_text(work / "config.toml", to_toml(cfg))
            raise KeyboardInterrupt
    return final


def test_fresh_run_never_deletes_an_unfinished_one(tmp_path, capsys):
    final = _interrupted(tmp_path / "run")
    partial = final.with_name("run.partial")
    before = snapshot(partial)
    code, err = cli(capsys, "run", "--out", final, "-q")
    assert code == 2 and f"resume it with `lupex run --resume {final}`" in err and "--overwrite" in err, err
    assert snapshot(partial) == before
    with RunDir(final, overwrite=True) as work:  # --overwrite discards it
        assert not (work / FINGERPRINT).exists()


def test_resume_does_not_replace_a_run_made_meanwhile_unless_overwrite(tmp_path, capsys):
    final = _interrupted(tmp_path / "run")
    final.mkdir()
    code, err = cli(capsys, "run", "--resume", final, "-q")
    assert code == 2 and "already exists" in err and "--overwrite" in err, err
    assert final.with_name("run.partial").is_dir()


def test_sigterm_keeps_the_run_for_resume(tmp_path):
    final = tmp_path / "run"
    with pytest.raises(Terminated) as info:
        with RunDir(final, fingerprint=fingerprint(load())) as work:
            (work / "a.txt").write_text("kept")
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises before this ends
    partial = final.with_name("run.partial")
    assert (partial / "a.txt").read_text() == "kept" and (partial / FINGERPRINT).is_file()
    assert info.value.lupex_resume == str(final.absolute())
    assert f"lupex run --resume {final.absolute()}" in (partial / "run.log").read_text()


def test_interrupted_run_without_fingerprint_is_removed(tmp_path):
    """lupex land and the other commands cannot resume: Ctrl-C removes their partial run, and its leftover is replaced."""
    final = tmp_path / "land"
    with pytest.raises(KeyboardInterrupt):
        with RunDir(final) as work:
            (work / "a.txt").write_text("x")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    final.with_name("land.partial").mkdir()  # as a SIGKILL leaves it
    with RunDir(final) as work:
        assert list(work.iterdir()) == [work / "run.log"]
    assert final.is_dir()


def test_sigterm_handler_is_restored(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(RuntimeError):
        with RunDir(tmp_path / "run"):
            assert signal.getsignal(signal.SIGTERM) is not before
            raise RuntimeError
    assert signal.getsignal(signal.SIGTERM) is before
    assert not (tmp_path / "run.partial").exists()  # an error still removes the partial run


def test_full_disk_during_overwrite_keeps_the_earlier_run(runs, tmp_path, capsys, monkeypatch):
    """ENOSPC half-way through the subsurface phase's NetCDF, while --overwrite replaces a complete run."""
    import xarray as xr

    final = tmp_path / "run"
    shutil.copytree(runs["ref"], final)
    before = snapshot(final)
    half_written = []
    real = xr.Dataset.to_netcdf
    real_write_bytes = Path.write_bytes

    def half_then_full(path):
        real_write_bytes(Path(path), b"\x89HDF\r\n\x1a\n" + b"\0" * 4096)  # half a file, then the disk is full
        half_written.append(Path(path))
        raise OSError(errno.ENOSPC, "No space left on device")

    def to_netcdf(self, path=None, *a, **k):
        if path is not None and "ground_truth" in Path(path).name:
            half_then_full(path)
        return real(self, path, *a, **k)

    def write_bytes(self, data):  # lupex.io.write_netcdf builds small files in memory, then writes the bytes
        if "ground_truth" in self.name:
            half_then_full(self)
        return real_write_bytes(self, data)

    monkeypatch.setattr(xr.Dataset, "to_netcdf", to_netcdf)
    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    code, err = cli(capsys, "run", "--out", final, *TINY, "--overwrite")
    assert code == 2 and "no space left" in err and "Traceback" not in err, err
    assert "ground_truth.nc" in err.replace(" ", ""), err  # the console may wrap the path
    assert half_written and not any(p.exists() for p in half_written)  # the atomic writer removed its temporary
    assert snapshot(final) == before  # the earlier complete run, byte for byte
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no run.partial, run.old or temporaries


def test_atomic_writers_leave_no_half_file_on_full_disk(tmp_path, monkeypatch):
    import pandas as pd

    from lupex.io import write_dataframe

    p = tmp_path / "t.parquet"
    write_dataframe(p, pd.DataFrame({"a": [1, 2]}))
    old = p.read_bytes()

    def to_parquet(self, path, *a, **k):
        Path(path).write_bytes(b"PAR1half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)
    with pytest.raises(LupexError, match="no space left"):
        write_dataframe(p, pd.DataFrame({"a": [3]}))
    assert p.read_bytes() == old
    assert [q.name for q in tmp_path.iterdir()] == ["t.parquet"]


def test_resume_config_keeps_compute_free(tmp_path):
    from lupex.cli.run import resume_config

    final = _interrupted(tmp_path / "run")
    cfg = resume_config(final.with_name("run.partial"), overrides=["compute.workers=2"])
    assert cfg.compute.workers == 2 and cfg.output.directory == str(final.absolute())
    with pytest.raises(ConfigError, match="site.seed"):
        resume_config(final, overrides=["site.seed=3"])
