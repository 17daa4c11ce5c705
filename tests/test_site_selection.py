"""Landing-site ranking against brute force: safety, separation and optimality of the first pick."""

import numpy as np
import pytest
import xarray as xr

import lupex.terrain.geo  # noqa: F401  (registers .rio)

from lupex.errors import InputError
from lupex.site_selection import landing_candidates, pick_separated, rank_landing_sites, site_score, sites_geojson


def _dem(n=60, px=20.0):
    x = (np.arange(n) - n / 2 + 0.5) * px
    y = -x
    da = xr.DataArray(np.zeros((n, n)), dims=("y", "x"), coords={"x": x, "y": y}, name="elevation")
    return da.rio.write_crs("IAU_2015:30135")


def test_candidates_equal_brute_force_disk_check():
    rng = np.random.default_rng(0)
    safe = rng.random((40, 40)) > 0.08
    px, radius = 20.0, 50.0
    got = landing_candidates(safe, px, radius)
    r = int(radius // px)
    for i in range(40):
        for j in range(40):
            ok = True
            for di in range(-r, r + 1):
                for dj in range(-r, r + 1):
                    if (di * px) ** 2 + (dj * px) ** 2 <= radius**2 + 1e-9:
                        ii, jj = i + di, j + dj
                        if not (0 <= ii < 40 and 0 <= jj < 40) or not safe[ii, jj]:
                            ok = False
            assert got[i, j] == ok


def test_pick_separated_brute_force():
    rng = np.random.default_rng(1)
    score = rng.random((50, 50))
    elig = rng.random((50, 50)) > 0.3
    rows, cols = pick_separated(score, elig, 10.0, 8, 100.0)
    # first pick is the global best eligible cell
    best = np.unravel_index(np.argmax(np.where(elig, score, -np.inf)), score.shape)
    assert (rows[0], cols[0]) == best
    # all eligible, pairwise separated, scores non-increasing
    assert elig[rows, cols].all()
    d = np.hypot(rows[:, None] - rows[None], cols[:, None] - cols[None]) * 10.0
    assert (d[np.triu_indices(len(rows), 1)] >= 100.0).all()
    assert np.all(np.diff(score[rows, cols]) <= 0)
    # every unpicked eligible cell better than the last pick is within 100 m of a better pick
    last = score[rows[-1], cols[-1]]
    for i, j in zip(*np.nonzero(elig & (score > last))):
        if (i, j) in set(zip(rows, cols)):
            continue
        near = np.hypot(rows - i, cols - j) * 10.0 < 100.0
        assert np.any(near & (score[rows, cols] >= score[i, j]))


def test_score_bounds_and_order():
    s = site_score([100, 0], [100, 0], [0, 8760], 8760, (0.5, 0.3, 0.2))
    assert s[0] == pytest.approx(1.0) and s[1] == pytest.approx(0.0)


def test_rank_sites_and_geojson():
    dem = _dem()
    n = dem.shape[0]
    slope = dem.copy(data=np.full((n, n), 5.0))
    slope[:, :10] = 30.0  # a steep strip on the west: never a candidate
    ill = np.tile(np.linspace(0, 100, n), (n, 1))  # brighter to the east
    stats = xr.Dataset({
        "illumination_pct": (("y", "x"), ill),
        "earth_visible_pct": (("y", "x"), np.full((n, n), 50.0)),
        "longest_darkness_h": (("y", "x"), np.full((n, n), 100.0)),
        "sun_and_earth_pct": (("y", "x"), ill / 2),
    })
    df = rank_landing_sites(dem, slope, stats, max_slope_deg=12, landing_radius_m=40, span_h=8760, count=5,
                            min_separation_m=200)
    assert len(df) == 5 and list(df["rank"]) == [1, 2, 3, 4, 5]
    assert (df["slope_deg"] <= 12).all() and (df["col"] >= 12).all()
    assert df["col"].iloc[0] == n - 3  # easternmost column whose 40 m disk stays in the grid
    assert (df["lat_deg"] < -89).all()
    gj = sites_geojson(df)
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == 5
    assert gj["features"][0]["geometry"]["coordinates"][1] == pytest.approx(df["lat_deg"].iloc[0])
    slope[:] = 30.0
    with pytest.raises(InputError, match="landing disk"):
        rank_landing_sites(dem, slope, stats, max_slope_deg=12, landing_radius_m=40, span_h=8760)


def test_edge_margin_keeps_sites_inside():
    """Horizons are truncated at the DEM's end: no site may lie within the margin of the border."""
    dem = _dem(60, 20.0)
    n = dem.shape[0]
    slope = dem.copy(data=np.full((n, n), 1.0))
    ill = np.tile(np.linspace(0, 100, n), (n, 1))  # best light right at the eastern edge
    stats = xr.Dataset({k: (("y", "x"), v) for k, v in {
        "illumination_pct": ill, "earth_visible_pct": np.full((n, n), 50.0),
        "longest_darkness_h": np.full((n, n), 100.0), "sun_and_earth_pct": ill / 2}.items()})
    df = rank_landing_sites(dem, slope, stats, max_slope_deg=12, landing_radius_m=0, span_h=8760, count=4,
                            min_separation_m=100, edge_margin_m=200)
    k = 10  # 200 m at 20 m/px
    assert (df["col"] >= k).all() and (df["col"] <= n - 1 - k).all()
    assert (df["row"] >= k).all() and (df["row"] <= n - 1 - k).all()
    assert df["col"].iloc[0] == n - 1 - k
    with pytest.raises(InputError, match="inside the DEM's border"):
        rank_landing_sites(dem, slope, stats, max_slope_deg=12, landing_radius_m=0, span_h=8760, edge_margin_m=700)
