"""How much the far field changes the light at Site01's best landing sites (docs/figures/farfield_effect.png).

Run from the repository root (about 3-5 minutes on 2 cores):

    python tools/farfield_effect.py [--azimuths 360] [--days 365]

Site01 at 20 m (PGDA product 78, Barker et al. 2021) with an eye 2 m above the ground, one year of hourly
steps from 2027-01-01, the run's default site-selection settings. The light statistics are computed twice:
with the site DEM alone, and with the LOLA 240 m polar cap (LDEM_75S_120M, resampled) as far field out to
its edge. The top sites are ranked on the site DEM alone (what lupex picked before), and each site's
mean illumination, Earth-visible time and longest darkness are printed for both, with the difference;
the figure shows the maps of the change and the sites.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lupex import ephemeris as eph  # noqa: E402
from lupex.config import Config  # noqa: E402
from lupex.light.illumination import compute_light  # noqa: E402
from lupex.site_selection import rank_landing_sites  # noqa: E402
from lupex.terrain.io import read_dem  # noqa: E402
from lupex.terrain.slope import slope_deg  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "figures" / "farfield_effect.png"
DATA = Path(os.environ.get("LUPEX_LOLA_DIR", "/work/shared/data/lola_south_pole"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--azimuths", type=int, default=360)
    ap.add_argument("--days", type=float, default=365.0)
    ap.add_argument("--top", type=int, default=5)
    a = ap.parse_args(argv)
    cfg = Config()
    dem = read_dem(DATA / "lola_site01_connecting_ridge_20m.tif")
    cap = read_dem(DATA / "lola_ldem75s_southpole_240m.tif")
    t0 = np.datetime64("2027-01-01T00:00:00")
    times = eph.time_grid(t0, t0 + np.timedelta64(int(a.days * 86400), "s"), 1.0)
    h = cfg.light.observer_height_m
    near, _ = compute_light(dem, times, n_azimuths=a.azimuths, observer_height_m=h)
    far, _ = compute_light(dem, times, n_azimuths=a.azimuths, observer_height_m=h, far_field=[cap])
    slope = slope_deg(dem, cfg.lander.slope_baseline_m or None)
    span_h = a.days * 24.0
    sites = rank_landing_sites(
        dem, slope, near, max_slope_deg=cfg.lander.max_slope_deg, landing_radius_m=cfg.lander.landing_radius_m,
        span_h=span_h, count=a.top, min_separation_m=cfg.sites.min_separation_m,
        weights=(cfg.sites.weight_sun, cfg.sites.weight_earth, cfg.sites.weight_night),
        edge_margin_m=cfg.sites.edge_margin_m)
    sites_far = rank_landing_sites(
        dem, slope, far, max_slope_deg=cfg.lander.max_slope_deg, landing_radius_m=cfg.lander.landing_radius_m,
        span_h=span_h, count=a.top, min_separation_m=cfg.sites.min_separation_m,
        weights=(cfg.sites.weight_sun, cfg.sites.weight_earth, cfg.sites.weight_night),
        edge_margin_m=cfg.sites.edge_margin_m)
    names = [("illumination_pct", "illumination %"), ("earth_visible_pct", "Earth visible %"),
             ("longest_darkness_h", "longest darkness h")]
    rows, cols = sites["row"].to_numpy(), sites["col"].to_numpy()
    print(f"Site01 20 m, eye {h:g} m, {times.size} hourly steps from {str(times[0])[:10]}, {a.azimuths} azimuths; "
          f"far field: {cap.attrs.get('source')} (240 m) to its edge")
    print("top sites ranked on the site DEM alone; values: site DEM alone -> with the far field (change)")
    print("| site | lat, lon (deg) | " + " | ".join(n for _v, n in names) + " |")
    print("|---|---|" + "---|" * len(names))
    for i, (r, c) in enumerate(zip(rows, cols)):
        cells = []
        for v, _n in names:
            a0, a1 = float(near[v].values[r, c]), float(far[v].values[r, c])
            cells.append(f"{a0:.1f} -> {a1:.1f} ({a1 - a0:+.1f})")
        print(f"| {i + 1} | {sites['lat_deg'].iloc[i]:.4f}, {sites['lon_deg'].iloc[i]:.3f} | " + " | ".join(cells) + " |")
    inner = (slice(100, -100), slice(100, -100))  # >= 2 km inside the edge, as site selection requires
    for v, n in names:
        d = (far[v].values - near[v].values)[inner]
        print(f"whole site (2 km inside the edge): {n} change mean {d.mean():+.2f}, median {np.median(d):+.2f}, "
              f"5th percentile {np.percentile(d, 5):+.2f}, 95th {np.percentile(d, 95):+.2f}")
    ps0 = float(near["permanent_shadow"].values[inner].mean()) * 100
    ps1 = float(far["permanent_shadow"].values[inner].mean()) * 100
    print(f"permanently shadowed area: {ps0:.2f} % -> {ps1:.2f} % of the site")
    print("top sites ranked with the far field: " + "; ".join(
        f"{s.lat_deg:.4f},{s.lon_deg:.3f} ({s.illumination_pct:.1f} %, Earth {s.earth_visible_pct:.1f} %, "
        f"{s.longest_darkness_h:.0f} h)" for s in sites_far.itertuples()))
    _figure(dem, near, far, sites, sites_far, names, rows, cols)
    print(f"wrote {OUT}")


def _figure(dem, near, far, sites, sites_far, names, rows, cols):
    ext = [float(dem.x[0]) / 1e3, float(dem.x[-1]) / 1e3, float(dem.y[-1]) / 1e3, float(dem.y[0]) / 1e3]
    fig, ax = plt.subplots(1, 4, figsize=(20, 5))
    for k, (v, n) in enumerate(names[:2]):
        d = far[v].values - near[v].values
        im = ax[k].imshow(d, extent=ext, cmap="RdBu", vmin=-30, vmax=30)
        fig.colorbar(im, ax=ax[k], shrink=0.8, label=f"change of {n} (points)")
        ax[k].set(title=f"{n}: with far field - site DEM alone", xlabel="x km", ylabel="y km")
    d = far["longest_darkness_h"].values - near["longest_darkness_h"].values
    im = ax[2].imshow(d, extent=ext, cmap="magma_r", vmin=0, vmax=float(np.percentile(d, 99)) or 1)
    fig.colorbar(im, ax=ax[2], shrink=0.8, label="longer darkness, h")
    ax[2].set(title="longest darkness: with far field - alone", xlabel="x km", ylabel="y km")
    for a_ in ax[:3]:
        a_.plot(sites["x_m"] / 1e3, sites["y_m"] / 1e3, "k^", ms=7, mfc="none", label="top sites (site DEM alone)")
        a_.plot(sites_far["x_m"] / 1e3, sites_far["y_m"] / 1e3, "go", ms=6, mfc="none", label="top sites (far field)")
    ax[0].legend(fontsize=7, loc="lower left")
    w = 0.38
    i = np.arange(len(rows))
    for k, (v, n) in enumerate(names[:2]):
        ax[3].bar(i + (k - 0.5) * w, far[v].values[rows, cols] - near[v].values[rows, cols], w, label=n)
    ax[3].axhline(0, color="k", lw=0.5)
    ax[3].set(xticks=i, xticklabels=[f"site {j + 1}" for j in i], ylabel="change (points)",
              title="top sites: change with the far field")
    ax3b = ax[3].twinx()
    ax3b.plot(i, far["longest_darkness_h"].values[rows, cols] - near["longest_darkness_h"].values[rows, cols],
              "ks", label="longest darkness (h, right)")
    ax3b.set_ylabel("change of longest darkness, h")
    ax[3].legend(fontsize=7, loc="lower left")
    ax3b.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)


if __name__ == "__main__":
    main()
