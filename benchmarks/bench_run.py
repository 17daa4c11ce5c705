"""Wall time and peak memory of the default ``lupex run`` (the main job).

Usage: python benchmarks/bench_run.py [--days 365] [--workers 0]

There is no peer tool to race here; the reference is the budget the project
set itself (issue: default run under 5 minutes on 2 cores), so the ratio
printed is budget / measured (> 1 means within budget). The per-phase timings
come from the run's manifest; the hot paths inside have their own benchmarks.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

BUDGET_S = 300.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--days", type=float, default=365.0)
    ap.add_argument("--workers", type=int, default=0)
    args = ap.parse_args()

    from lupex.config import load
    from lupex.mission.run import run_mission

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cfg = load(overrides=[f'output.directory="{out}"', f"time.days={args.days}", f"compute.workers={args.workers}"])
        t0 = time.perf_counter()
        run_mission(cfg, progress=False)
        wall = time.perf_counter() - t0
        manifest = json.loads((out / "manifest.json").read_text())
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    child_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    print(f"default lupex run ({args.days:g} days): {wall:.1f} s wall, peak RSS {peak_gib:.2f} GiB "
          f"(largest child {child_gib:.2f} GiB)")
    print(f"ratio budget/measured: {BUDGET_S / wall:.2f} (budget {BUDGET_S:.0f} s)")
    for k, v in manifest["timings_s"].items():
        print(f"  {k:<10} {v:7.1f} s")
    print(json.dumps({"bench": "run", "wall_s": wall, "peak_rss_gib": peak_gib, "budget_s": BUDGET_S,
                      "ratio": BUDGET_S / wall, "phases_s": manifest["timings_s"]}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
