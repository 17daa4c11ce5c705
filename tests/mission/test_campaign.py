"""Prospecting campaign: determinism, resume, budget, fitted GP, scores recomputed by brute force from the
maps, outputs, and bad input (Monte Carlo on Dask = serial: tests/mission/campaign/test_montecarlo.py). A small
synthetic truth (16 x 16 cells of 10 m around the start) and a tiny budget keep it fast; the truth is built here,
not by the campaign."""

import dataclasses
import json
import shutil

import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr

from lupex.errors import ConfigError, InputError, LupexError
from lupex.light.visibility import VisibilitySeries
from lupex.mission import campaign as C
from lupex.mission.checkpoint import Checkpoints
from lupex.subsurface.ground_truth import make_ground_truth
from lupex.terrain.io import dem_from_array

T0 = np.datetime64("2027-01-02T00:00:00", "ns")
N, PX = 24, 10.0

P = C.CampaignParams(area_half_m=80.0, drive_budget_wh=150.0, rounds=6, leg_m=60.0, min_leg_m=25.0, drills=1,
                     drill_depth_m=0.6, drill_bite_m=0.2, gpr_spacing_m=1.0, alis_every_m=50.0, duration_days=20.0,
                     min_drill_separation_m=20.0)


def small_site(corr_length_m=60.0, seed=3, cold_frac=0.5, n=N):
    x = (np.arange(n) - n / 2 + 0.5) * PX + 5000.0
    y = -(np.arange(n) - n / 2 + 0.5) * PX
    dem = dem_from_array(np.zeros((n, n)), x, y)
    cold = np.broadcast_to(x >= np.quantile(x, 1 - cold_frac) - 1e-9, (n, n))
    gt = make_ground_truth(dem, seed=seed, t_max_surface_k=np.where(cold, 90.0, 250.0),
                           t_mean_surface_k=np.where(cold, 50.0, 150.0),
                           stability_depth_m=np.where(cold, 0.05, np.inf), corr_length_m=corr_length_m,
                           ice_free_fraction=0.2, weh_median_wt_pct=3.0, weh_sigma_ln=0.6, overburden_median_m=0.2,
                           overburden_sigma_ln=0.4, rock_abundance=0.001)
    return dem, gt


def synthetic_light(n=N, days=22):
    """Lit ~21 of every 29.5 days, an always-lit haven in one corner, Earth in view 12 h of 24."""
    nt = days * 24
    k = np.arange(nt)
    sun = np.zeros((nt, n, n), np.uint8)
    sun[(k % 708) < 500] = 255
    sun[:, :3, :3] = 255
    earth = np.zeros_like(sun)
    earth[(k // 12) % 2 == 0] = 255
    return VisibilitySeries(times=T0 + (k * 3600 * 10**9).astype("timedelta64[ns]"), step_s=3600.0, row0=0, col0=0,
                            sun=sun, earth=earth, sun_azimuth_deg=np.full(nt, 90.0),
                            sun_elevation_deg=np.full(nt, 1.0), sun_distance_m=np.full(nt, 1.496e11),
                            earth_elevation_deg=np.full(nt, 5.0))


@pytest.fixture(scope="module")
def site():
    dem, gt = small_site()
    start = (float(dem.x[N // 2]), float(dem.y[N // 2]))
    return dem, gt, start, synthetic_light()


@pytest.fixture(scope="module")
def run1(site, tmp_path_factory):
    dem, gt, start, light = site
    d = tmp_path_factory.mktemp("campaign")
    r = C.run_campaign(P, gt, dem, light, start, "2027-01-02T00:00:00", d / "out", seed=5,
                       checkpoints=Checkpoints(d / "ck"))
    return r, d


def _same(a: C.CampaignResult, b: C.CampaignResult):
    pd.testing.assert_frame_equal(a.scores, b.scores)
    for n in C.PLANS:
        np.testing.assert_array_equal(a.plans[n].path_xy, b.plans[n].path_xy)
        np.testing.assert_array_equal(a.plans[n].drill_xy, b.plans[n].drill_xy)
        xr.testing.assert_identical(a.plans[n].maps, b.plans[n].maps)
        pd.testing.assert_frame_equal(a.plans[n].drilling, b.plans[n].drilling)
        if a.plans[n].timeline is not None:
            pd.testing.assert_frame_equal(a.plans[n].timeline.activities, b.plans[n].timeline.activities)


def test_resume_from_round_k_gives_identical_results(run1, site, tmp_path):
    """Deleting every checkpoint after round 1 (a kill there) and running again ends where the full run ended.
    The rerun repeats rounds 2.. and every later stage in this process, so it also checks same seed = same run."""
    r, d = run1
    dem, gt, start, light = site
    assert len(r.plans["strategy"].legs) >= 3
    ck = tmp_path / "ck"
    shutil.copytree(d / "ck", ck)
    for f in ck.iterdir():   # a kill after round 1: later rounds and the strategy's later stages are lost;
        # the lawnmower's stages (independent of the strategy's rounds) are reused from the base run
        keep = f.name in ("campaign-strategy-round-000.pkl", "campaign-strategy-round-001.pkl", "campaign-latest.pkl") \
            or f.name.startswith("campaign-lawnmower")
        if not keep:
            f.unlink()
    again = C.run_campaign(P, gt, dem, light, start, "2027-01-02T00:00:00", None, seed=5, checkpoints=Checkpoints(ck))
    _same(r, again)
    assert (ck / "campaign-strategy-round-002.pkl").is_file()      # the rounds were redone, not skipped


class _Kill(Exception):
    pass


class _KillingSteps:
    """A progress factory whose advance() raises after ``n`` calls: a run killed mid-campaign."""

    def __init__(self, n):
        self.n = n

    def task(self, desc, total):
        import contextlib

        @contextlib.contextmanager
        def cm():
            def advance(k=1):
                self.n -= k
                if self.n <= 0:
                    raise _Kill()
            yield advance
        return cm()


def test_killed_run_resumes_to_the_same_end(run1, site, tmp_path):
    r, _ = run1
    dem, gt, start, light = site
    ck = Checkpoints(tmp_path / "ck")
    with pytest.raises(_Kill):
        C.run_campaign(P, gt, dem, None, start, "2027-01-02T00:00:00", None, seed=5, checkpoints=ck,
                       steps=_KillingSteps(2))
    # everything after the kill is redone from the checkpoints; the lawnmower's stages come from the base run
    for f in (run1[1] / "ck").iterdir():
        if f.name.startswith("campaign-lawnmower-survey"):
            shutil.copy(f, tmp_path / "ck" / f.name)
    assert ck.has("campaign-strategy-round-001") and not ck.has("campaign-strategy-drilling")
    again = C.run_campaign(P, gt, dem, None, start, "2027-01-02T00:00:00", None, seed=5, checkpoints=ck)
    pd.testing.assert_frame_equal(again.scores.drop(columns=[c for c in again.scores if c.startswith("timeline")]),
                                  r.scores.drop(columns=[c for c in r.scores if c.startswith("timeline")]))
    # a checkpoint directory of another campaign is refused, not silently mixed in
    with pytest.raises(LupexError, match="another campaign"):
        C.run_campaign(P, gt, dem, None, start, "2027-01-02T00:00:00", None, seed=6, checkpoints=ck)


def test_budget_is_never_exceeded_and_legs_add_up(run1):
    r, _ = run1
    for n in C.PLANS:
        pl = r.plans[n]
        assert pl.survey_energy_wh <= P.drive_budget_wh + 1e-9
        seg = np.linalg.norm(np.diff(pl.path_xy, axis=0), axis=1)
        assert pl.survey_m == pytest.approx(seg.sum())
        # the energy is the vehicle's drive load over its speed, plus the per-leg overhead: recomputed here
        from lupex.rover import mobility
        from lupex.rover.vehicle import RoverParams

        rv = RoverParams()
        e = seg.sum() * rv.loads.drive_w / float(mobility.speed_m_s(0.0, rv)) / 3600 + P.leg_overhead_wh * seg.size
        assert pl.survey_energy_wh == pytest.approx(e, rel=1e-9)
    legs = r.plans["strategy"].legs
    assert (legs["gain_per_wh"] > 0).all() and (legs["length_m"] >= P.min_leg_m - 1e-6).all()
    # both stay in the area
    x0, x1, y0, y1 = r.area
    for n in C.PLANS:
        p = r.plans[n].path_xy
        assert (p[:, 0] >= x0 - 1e-6).all() and (p[:, 0] <= x1 + 1e-6).all()
        assert (p[:, 1] >= y0 - 1e-6).all() and (p[:, 1] <= y1 + 1e-6).all()


def test_energy_breakdown_adds_up(run1):
    """The planned energy by use, recomputed here from the plan's own records: the approach drive (drive load
    over speed along the straight line from the landing site to the area's centre, plus one leg overhead), the
    survey drives (<= the drive budget), the drives between drill sites and the drill's energy (the drilling
    table's joules); they add up to kwh_used. The six-month timeline's energy by mode adds up to its total, and
    the hibernation heaters are the heater power x time of the hibernating intervals of the trace."""
    from lupex.rover import mobility
    from lupex.rover.vehicle import RoverParams

    r, _ = run1
    rv = RoverParams()
    wh_per_m = rv.loads.drive_w / float(mobility.speed_m_s(0.0, rv)) / 3600
    s = r.scores.set_index("plan")
    for n in C.PLANS:
        pl, sc = r.plans[n], s.loc[n]
        d = np.hypot(r.survey_centre_xy[0] - r.start_xy[0], r.survey_centre_xy[1] - r.start_xy[1])
        approach = (d * wh_per_m + P.leg_overhead_wh) / 1000 if d > 0 else 0.0
        assert sc["energy_approach_kwh"] == pytest.approx(approach, rel=1e-9, abs=1e-12)
        assert sc["energy_survey_drive_kwh"] == pytest.approx(pl.survey_energy_wh / 1000, rel=1e-12)
        assert sc["energy_survey_drive_kwh"] <= P.drive_budget_wh / 1000 + 1e-12
        tour = np.vstack([pl.path_xy[-1:], pl.drill_xy])
        seg = np.linalg.norm(np.diff(tour, axis=0), axis=1)
        assert sc["energy_drill_tour_kwh"] == pytest.approx((seg.sum() * wh_per_m + P.leg_overhead_wh * seg.size) / 1000,
                                                             rel=1e-9)
        assert sc["energy_drill_kwh"] == pytest.approx(pl.drilling["energy_j"].sum() / 3.6e6, rel=1e-12)
        parts = [sc[k] for k in ("energy_approach_kwh", "energy_survey_drive_kwh", "energy_drill_tour_kwh",
                                 "energy_drill_kwh")]
        assert sum(parts) == pytest.approx(sc["kwh_used"], rel=1e-12)
        assert sc["energy_over_drive_budget_kwh"] == pytest.approx(sc["kwh_used"] - P.drive_budget_wh / 1000, rel=1e-12)
        tr = pl.timeline.trace
        modes = [k for k in sc.index if k.startswith("timeline_energy_") and k != "timeline_energy_kwh"]
        assert sum(sc[k] for k in modes) == pytest.approx(sc["timeline_energy_kwh"], rel=1e-9)
        assert sc["timeline_energy_kwh"] == pytest.approx(tr["energy_wh"].sum() / 1000, rel=1e-9)
        hib = tr[tr["mode"] == "hibernate"]
        h = (hib["heater_w"] * (hib["end_utc"] - hib["start_utc"]).dt.total_seconds() / 3.6e6).sum()
        assert sc["timeline_hibernate_heater_kwh"] == pytest.approx(h, rel=1e-9, abs=1e-12)
        assert sc["timeline_hibernate_heater_kwh"] <= sc["timeline_energy_hibernate_kwh"] + 1e-12


def test_scores_match_a_brute_force_recomputation(run1):
    r, _ = run1
    t = r.truth
    thr = P.weh_threshold_wt_pct
    for n in C.PLANS:
        pl, s = r.plans[n], r.scores.set_index("plan").loc[n]
        m = pl.maps
        tw = np.asarray(t["weh_wt_pct"].values, float).ravel()
        mean = np.asarray(m["weh_mean"].values, float).ravel()
        assert s["weh_rmse_wt_pct"] == pytest.approx(np.sqrt(sum((a - b) ** 2 for a, b in zip(mean, tw)) / tw.size))
        assert s["weh_bias_wt_pct"] == pytest.approx(sum(a - b for a, b in zip(mean, tw)) / tw.size)
        lo, hi = m["weh_lower"].values.ravel(), m["weh_upper"].values.ravel()
        assert s["weh_calibration_95"] == pytest.approx(sum(1 for a, b, c in zip(lo, tw, hi) if a <= b <= c) / tw.size)
        med = m["weh_median"].values.ravel()
        kg = t["water_kg"].values.ravel()
        num = sum(k for k, a, b in zip(kg, tw, med) if a > thr and b > thr)
        den = sum(k for k, a in zip(kg, tw) if a > thr)
        assert s["water_located_kg"] == pytest.approx(num)
        assert s["water_total_kg"] == pytest.approx(den)
        mass = sum(a for a, b in zip(tw, med) if a > thr and b > thr) / sum(a for a in tw if a > thr)
        assert s["ice_mass_located"] == pytest.approx(mass)
        km = (pl.approach_m + pl.survey_m + pl.drill_tour_m) / 1000
        assert s["km_driven"] == pytest.approx(km)
        assert s["water_located_kg_per_km"] == pytest.approx(num / km)
        assert s["kwh_used"] == pytest.approx((pl.approach_wh + pl.survey_energy_wh + pl.drill_tour_wh
                                               + pl.drill_energy_wh) / 1000)
        ds = pl.drill_sites
        assert s["drill_measured_total"] == pytest.approx(pl.drilling.groupby("site")["triton_water_wt_pct"].mean().sum())
        assert s["drill_hit_rate"] == pytest.approx(np.mean(ds["true_water_wt_pct"].to_numpy() > thr))


def test_truth_map_is_the_ground_truth(run1, site):
    r, _ = run1
    _, gt, _, _ = site
    g = gt.dataset.sel(x=r.truth["x"], y=r.truth["y"])
    table, weh, dry = (np.asarray(g[k].values, float) for k in ("ice_table_depth_m", "weh_wt_pct", "dry_weh_wt_pct"))
    for (i, j), v in np.ndenumerate(r.truth["weh_wt_pct"].values):
        reach = np.isfinite(table[i, j]) and weh[i, j] > 0 and table[i, j] < P.drill_depth_m
        assert v == (weh[i, j] if reach else dry[i, j])


def test_gp_hyperparameters_are_fitted_and_follow_the_correlation_length(run1):
    r, _ = run1
    legs = r.plans["strategy"].legs
    init_len = min(0.25 * np.hypot(r.area[1] - r.area[0], r.area[3] - r.area[2]), P.gp_max_length_m)
    # round 0 uses the prior; every later round refits (the length scale moves off the prior and between rounds)
    assert legs["gp_length_m"].iloc[0] == pytest.approx(init_len)
    assert not np.allclose(legs["gp_length_m"].iloc[1:], init_len)
    assert (np.diff(legs["gp_n_obs"].iloc[1:]) > 0).all()          # each refit sees the new leg's bins
    assert (legs["gp_length_m"] <= P.gp_max_length_m + 1e-6).all() and (legs["gp_variance"] >= P.gp_min_sd_log**2 - 1e-9).all()
    # same observations design, truths with a short and a long correlation length: the fitted length grows
    from lupex.prospect import fusion

    lens = []
    n = 30
    x = (np.arange(n) - n / 2 + 0.5) * PX + 5000.0
    dem = dem_from_array(np.zeros((n, n)), x, x[::-1] - 5000.0)
    for corr in (10.0, 300.0):
        gt = make_ground_truth(dem, seed=11, t_max_surface_k=np.full((n, n), 90.0),
                               t_mean_surface_k=np.full((n, n), 50.0), stability_depth_m=np.full((n, n), 0.05),
                               corr_length_m=corr, ice_free_fraction=0.0, rock_abundance=0.001)
        sub = gt.dataset
        x, y = np.meshgrid(sub["x"].values[::3], sub["y"].values[::3])
        w = np.asarray(sub["weh_wt_pct"].values, float)[::3, ::3]
        obs = fusion.observations(x.ravel(), y.ravel(), np.maximum(w.ravel(), 0.0), np.full(w.size, 0.05))
        m = fusion.fit_gp(obs, transform=fusion.LogShift(0.1))
        lens.append(m.length_m)
    assert lens[1] > 2 * lens[0]


def test_risk_objective_surveys_where_the_orbital_prior_allows_ice(run1, site):
    """The small site's orbital prior allows ice on its east half only: the adaptive plan (risk objective,
    orbital drift) spends its survey there, more than the lawnmower, and its maps carry the drift."""
    r, _ = run1
    _, gt, _, _ = site
    legs = r.plans["strategy"].legs
    assert (legs["objective"] == "risk").any()
    share = {}
    for n in C.PLANS:
        ns = r.plans[n].observations["ns"]
        stab = gt.dataset["stability_depth_m"].sel(x=xr.DataArray(ns.x_m), y=xr.DataArray(ns.y_m), method="nearest")
        share[n] = float(np.mean(np.isfinite(stab.values)))
        assert r.plans[n].maps["weh_mean"].attrs["drift_covariate"] == "orbital_ice_reach_fraction"
    assert share["strategy"] > 0.6 and share["strategy"] >= share["lawnmower"]
    s = r.scores.set_index("plan")
    assert ((s["claim_precision"] >= 0) & (s["claim_precision"] <= 1) | s["claim_precision"].isna()).all()


def test_outputs(run1):
    r, d = run1
    out = d / "out"
    for f in ("campaign_maps.nc", "campaign_weh_mean.tif", "campaign_weh_sd.tif", "campaign_paths.geojson",
              "campaign_timeline.parquet", "campaign_scores.parquet", "campaign_scores.json"):
        assert (out / f).is_file(), f
    with xr.open_dataset(out / "campaign_maps.nc", engine="h5netcdf") as ds:
        for n in C.PLANS:
            np.testing.assert_allclose(ds[f"{n}_weh_mean"].values, r.plans[n].maps["weh_mean"].values)
        np.testing.assert_allclose(ds["truth_weh_wt_pct"].values, r.truth["weh_wt_pct"].values)
    with rasterio.open(out / "campaign_weh_mean.tif") as src:
        assert src.crs is not None and src.shape == r.truth["weh_wt_pct"].shape
        np.testing.assert_allclose(src.read(1), r.plans["strategy"].maps["weh_mean"].values, rtol=1e-6)
    gj = json.loads((out / "campaign_paths.geojson").read_text())
    lines = [f for f in gj["features"] if f["geometry"]["type"] == "LineString"]
    assert sorted(f["properties"]["plan"] for f in lines) == sorted(C.PLANS)
    tl = pd.read_parquet(out / "campaign_timeline.parquet")
    assert set(tl["plan"]) == set(C.PLANS)
    # the scheduler's constraints hold at every interval of both timelines
    for n in C.PLANS:
        tr = r.plans[n].timeline.trace
        assert (tr["soc_end"] >= 0).all() and tr["mode"].isin(["drill"]).any()
        comm = tr["mode"] == "communicate"
        assert (tr.loc[comm, "earth_fraction"] >= 0.5).all()
    s = pd.read_parquet(out / "campaign_scores.parquet")
    pd.testing.assert_frame_equal(s, r.scores, check_dtype=False)
    # both plans flew (every dark period at a haven that survives it): marked so in the scores and the
    # feasibility product, with the one-line message the CLI prints
    assert (s["timeline_status"] == "flown").all() and s["timeline_flown"].all()
    feas = json.loads((out / "campaign_feasibility.json").read_text())
    assert {n: f["status"] for n, f in feas["plans"].items()} == {n: "flown" for n in C.PLANS}
    assert feas["line"].startswith("campaign timeline: strategy, lawnmower flown")


def test_bad_input_names_what_to_fix(site):
    dem, gt, start, light = site
    with pytest.raises(InputError, match="outside the ground truth grid"):
        C.run_campaign(P, gt, dem, None, (0.0, 0.0), "2027-01-02T00:00:00", None, seed=1)
    with pytest.raises(ConfigError, match="drive_budget_wh"):
        C.run_campaign(dataclasses.replace(P, drive_budget_wh=1.0),
                       gt, dem, None, start, "2027-01-02T00:00:00", None, seed=1)
    with pytest.raises(InputError, match="seed"):
        C.run_campaign(P, gt, dem, None, start, "2027-01-02T00:00:00", None, seed=-1)
    with pytest.raises(InputError, match="ISO 8601"):
        C.run_campaign(P, gt, dem, None, start, "yesterday", None, seed=1)
    with pytest.raises(InputError, match="GroundTruth"):
        C.run_campaign(P, object(), dem, None, start, "2027-01-02T00:00:00", None, seed=1)

    part = dataclasses.replace(light, sun=light.sun[:, :5, :5], earth=light.earth[:, :5, :5])
    with pytest.raises(InputError, match="campaign_window"):
        C.run_campaign(P, gt, dem, part, start, "2027-01-02T00:00:00", None, seed=1)
    with pytest.raises(InputError, match="at least one seed"):
        C.campaign_monte_carlo(P, lambda s: None, [])


def test_report_section(run1):
    from lupex.report.campaign import campaign_sections, scores_table
    from lupex.report.html import render

    r, _ = run1
    secs = campaign_sections(r)
    assert len(secs) == 1 and len(secs[0].figures) == 2           # maps + SOC (the scheduler ran)
    assert all(png[:8] == b"\x89PNG\r\n\x1a\n" for _, png in secs[0].figures)
    t = scores_table(r)
    row = t.set_index("score").loc["km driven"]
    assert row["strategy / lawnmower"] == pytest.approx(row["strategy"] / row["lawnmower"])
    page = render("campaign", "test", secs)
    assert "Prospecting campaign" in page and "<script src=" not in page


def test_area_is_the_nearest_prior_ice_region_and_the_approach_is_paid(run1, site):
    """The area's centre, recomputed by brute force: the nearest cell to the landing site whose square of
    side 2 x area_half_m holds at least 3/4 of the best share of prior-ice cells (stability depth within the
    drill's reach: the orbital prior, not the truth's ice). Both plans pay the same approach drive."""
    r, _ = run1
    dem, gt, start, _ = site
    st_ = gt.dataset["stability_depth_m"].values
    prior = np.isfinite(st_) & (st_ <= P.drill_depth_m)
    x, y = dem.x.values, dem.y.values
    h = int(round(P.area_half_m / PX))
    share = np.zeros(prior.shape)
    for i in range(N):
        for j in range(N):
            share[i, j] = prior[max(i - h, 0):i + h + 1, max(j - h, 0):j + h + 1].sum() / (2 * h + 1) ** 2
    dist = np.hypot(*np.meshgrid(x - start[0], y - start[1]))
    best = share[dist <= P.approach_max_m].max()
    ok = (dist <= P.approach_max_m) & (share >= 0.75 * best)
    i, j = np.unravel_index(np.argmin(np.where(ok, dist, np.inf)), dist.shape)
    assert r.survey_centre_xy == pytest.approx((x[j], y[i]))
    assert r.start_xy == pytest.approx(start)
    assert share[i, j] > share[N // 2, N // 2] or (i, j) == (N // 2, N // 2)
    a = [r.plans[n].approach_m for n in C.PLANS]
    assert a[0] == a[1] == pytest.approx(np.hypot(x[j] - start[0], y[i] - start[1]))
    for n in C.PLANS:    # every survey vertex starts at the centre; the timeline drives there from the landing site
        assert r.plans[n].path_xy[0] == pytest.approx(r.survey_centre_xy)
        assert r.plans[n].timeline.trace["mode"].iloc[0] in ("drive", "standby", "communicate", "hibernate", "science")
