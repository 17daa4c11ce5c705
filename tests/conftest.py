import os

os.environ.setdefault("MPLBACKEND", "Agg")


import pytest  # noqa: E402


@pytest.fixture
def one_blas_thread():
    """One BLAS thread for small dense linear algebra (faster than two on a shared 2-core machine)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        yield
        return
    with threadpool_limits(1):
        yield


# The small run several tests share (test_cli.py runs the same through the CLI): a 3 km site, 30 days at
# 4 h, 72 azimuths, 3 landing descents.
SMALL_OVERRIDES = ["site.name=synthetic", "site.size_m=3000", "site.pixel_m=30", "sites.edge_margin_m=300", 'sites.extra_points="-89.97,45"',
                   "time.days=30", "time.step_hours=4", "light.n_azimuths=72", "sites.count=3",
                   "sites.min_separation_m=300", "landing.runs=3", 'landing.frame_altitudes_m="2000"',
                   # a shorter campaign (a few legs, two drills a plan): the full one is the default run's
                   "campaign.drive_budget_wh=350", "campaign.drills=2", "campaign.area_half_m=150"]


@pytest.fixture(scope="session")
def small_mission(tmp_path_factory):
    """One in-process ``run_mission`` on SMALL_OVERRIDES for the whole session: (run dir, the section lists
    handed to the report renderer, the MissionResult)."""
    import json

    import lupex.report.html as report_html
    from lupex.config import load
    from lupex.mission.run import run_mission
    from lupex.report.build import build_report

    out = tmp_path_factory.mktemp("small-mission") / "run"
    calls = []
    real_render = report_html.render

    def spy(title, meta, sections, warning=""):
        calls.append(list(sections))
        return real_render(title, meta, sections, warning)

    mp = pytest.MonkeyPatch()
    mp.setattr(report_html, "render", spy)  # build_report looks render up in its module at call time
    try:
        result = run_mission(load(None, SMALL_OVERRIDES + [f"output.directory={json.dumps(str(out))}"]), progress=False,
                             report=build_report)
    finally:
        mp.undo()
    return result.run_dir, calls, result
