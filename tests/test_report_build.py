"""lupex.report.build: the report's entry point draws everything from the phases' results alone.

Invariant: given the MissionResult a run returned and the run's own config.toml, ``build_report`` into another
directory writes the same report.html and the same drilling_*.png, byte for byte, as the run did (so the report
needs nothing the phases did not return, and a resumed run that only redraws the report gets the same files).
"""

from lupex.config import load
from lupex.report.build import build_report


def test_build_report_redraws_the_run_from_its_results(small_mission, tmp_path):
    run_dir, _calls, result = small_mission
    cfg = load(run_dir / "config.toml")
    path = build_report(tmp_path, result, cfg)
    assert path == tmp_path / "report.html"
    assert path.read_bytes() == (run_dir / "report.html").read_bytes()
    made = sorted(p.name for p in tmp_path.glob("drilling_*.png"))
    ran = sorted(p.name for p in run_dir.glob("drilling_*.png"))
    assert made and made == ran
    for name in made:
        assert (tmp_path / name).read_bytes() == (run_dir / name).read_bytes(), name
    assert {p.name for p in tmp_path.iterdir()} == {"report.html", *made}   # draws; writes no data product


def test_mission_results_hold_no_drawing(small_mission):
    """The phases return numbers: no PNG bytes anywhere in the rover's, the landing's or the drilling's result."""
    _run_dir, _calls, result = small_mission
    assert result.drilling.figures == {} and result.drilling.examples
    assert not any(isinstance(v, bytes) for v in vars(result.rover).values())
    for frame in result.landing.frames:
        assert frame.image.ndim == 2 and len(frame.crater_u_px) == len(frame.crater_radius_px)
