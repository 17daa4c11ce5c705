"""The survey's instruments along the path: ground columns per grid cell, then GPR, NS, ALIS and EMS-L.

:func:`lupex.mission.survey.run_survey` calls one runner per instrument (each with its own generator from
the survey's seed); the columns of the truth's cells are built once and shared (:class:`ColumnCache`), only
the traces next to a buried rock get their own copy carrying it (:func:`gpr_columns`). The names stay
importable from :mod:`lupex.mission.survey`. Each runner's ``prm`` is the survey's
:class:`lupex.mission.survey.SurveyParams` (named, not imported: the survey imports this module).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from lupex.errors import InputError
from lupex.instruments import alis, emsl, gpr, neutron
from lupex.mission.traverse import Grid, as_path, cell_runs
from lupex.params import check_rng
from lupex.subsurface import regolith
from lupex.subsurface.profile import Rock

EMSL_SPECIES = ("He", "Ar", "H2O")


# ----------------------------------------------------------------------------- columns


class ColumnCache:
    """Ground-truth columns built once per grid cell (rock-free; rocks are added per trace)."""

    def __init__(self, truth, depth_m: float = 2.0, dz_m: float = 0.01):
        self.truth, self.depth_m, self.dz_m = truth, depth_m, dz_m
        self.grid = Grid.of(truth.dataset)
        self._cols: dict = {}
        self.built = 0

    def get(self, iy: int, ix: int):
        """The ground-truth column of cell (iy, ix), built on first use and kept."""
        key = (int(iy), int(ix))
        c = self._cols.get(key)
        if c is None:
            c = self.truth.column(float(self.grid.x[key[1]]), float(self.grid.y[key[0]]), depth_m=self.depth_m,
                                  dz_m=self.dz_m, rock_search_m=0.0)
            if c.rocks:
                c = dataclasses.replace(c, rocks=())
            self._cols[key] = c
            self.built += 1
        return c


def rocks_along_path(rocks: pd.DataFrame, path_xy, search_m: float, depth_max_m: float) -> pd.DataFrame:
    """Buried rocks within ``search_m`` (cross-track) of a path, sorted by along-track ``s_m``.

    Along-track ``s_m``, signed ``cross_m`` (positive to the right of travel), depth and radius. Rocks
    reaching the surface (depth <= radius) or below ``depth_max_m`` are left out.

    Parameters
    ----------
    rocks : pandas.DataFrame or None
        The buried rocks (:attr:`lupex.subsurface.ground_truth.GroundTruth.rocks`): ``x_m``, ``y_m``
        (centre, m, the truth's CRS), ``depth_m`` (centre depth, m) and ``radius_m`` (m), one row per rock.
    path_xy : array_like
        The path's vertices (x, y), m, shape (n, 2), n >= 2, in travel order.
    search_m : float
        Largest distance of a rock's centre from the path (nearest point of a segment), m.
    depth_max_m : float
        Deepest top of a rock kept (``depth_m - radius_m`` must be below it), m: the ground-truth
        columns' depth.

    Returns
    -------
    pandas.DataFrame
        One row per rock kept, sorted by ``s_m``: ``s_m`` (along track from the first vertex, m),
        ``cross_m`` (m, positive to the right), ``depth_m``, ``radius_m``, ``x_m``, ``y_m`` (m); empty
        (same columns) when none.
    """
    path = as_path(path_xy)
    cols = ["s_m", "cross_m", "depth_m", "radius_m", "x_m", "y_m"]
    if rocks is None or not len(rocks):
        return pd.DataFrame({c: np.zeros(0) for c in cols})
    x, y = rocks["x_m"].to_numpy(float), rocks["y_m"].to_numpy(float)
    d, r = rocks["depth_m"].to_numpy(float), rocks["radius_m"].to_numpy(float)
    lo, hi = path.xy.min(axis=0) - search_m, path.xy.max(axis=0) + search_m
    sel = np.flatnonzero((x >= lo[0]) & (x <= hi[0]) & (y >= lo[1]) & (y <= hi[1]) & (d > r) & (d - r < depth_max_m))
    if sel.size == 0:
        return pd.DataFrame({c: np.zeros(0) for c in cols})
    px, py = x[sel], y[sel]
    rel_x = px[:, None] - path.xy[None, :-1, 0]
    rel_y = py[:, None] - path.xy[None, :-1, 1]
    u = path.seg / path.seg_len_m[:, None]
    t = rel_x * u[None, :, 0] + rel_y * u[None, :, 1]                    # along each segment (m)
    cross = rel_x * u[None, :, 1] - rel_y * u[None, :, 0]                # right of travel
    tc = np.clip(t, 0.0, path.seg_len_m[None, :])
    dist = np.hypot(rel_x - tc * u[None, :, 0], rel_y - tc * u[None, :, 1])
    j = np.argmin(dist, axis=1)
    k = np.arange(sel.size)
    s = path.cum_m[j] + t[k, j]
    cr = cross[k, j]
    ok = (np.abs(cr) <= search_m) & (s >= 0) & (s <= path.length_m) & (dist[k, j] <= search_m)
    out = pd.DataFrame({"s_m": s[ok], "cross_m": cr[ok], "depth_m": d[sel][ok], "radius_m": r[sel][ok],
                        "x_m": px[ok], "y_m": py[ok]})
    return out.sort_values("s_m", kind="stable").reset_index(drop=True)


def gpr_columns(cache: ColumnCache, path_xy, positions_m, rocks: pd.DataFrame | None = None):
    """One column per trace at ``positions_m`` (shared per cell), rocks attached to their nearest trace.

    Parameters
    ----------
    cache : ColumnCache
        The truth's rock-free columns, one per grid cell, built on first use.
    path_xy : array_like
        The path's vertices (x, y), m, shape (n, 2), n >= 2.
    positions_m : array_like
        The traces' distances along the path, m, shape (m,), increasing.
    rocks : pandas.DataFrame, optional
        :func:`rocks_along_path`'s table (``s_m``, ``cross_m``, ``depth_m``, ``radius_m``, m); each rock is
        attached to the trace nearest its ``s_m``, at its cross-track and along-track offsets from it.

    Returns
    -------
    list of lupex.subsurface.profile.Column
        One column per trace (length m); traces of one cell share one object unless a rock was attached.
    """
    path = as_path(path_xy)
    p = np.asarray(positions_m, float)
    x, y, _ = path.at(p)
    iy, ix = cache.grid.index(x, y)
    cols = [cache.get(a, b) for a, b in zip(iy, ix)]
    if rocks is not None and len(rocks):
        near = np.clip(np.searchsorted(p, rocks["s_m"].to_numpy()), 0, p.size - 1)
        prev = np.clip(near - 1, 0, p.size - 1)
        s_r = rocks["s_m"].to_numpy()
        near = np.where(np.abs(p[prev] - s_r) < np.abs(p[near] - s_r), prev, near)
        extra: dict[int, list] = {}
        for i, row in zip(near, rocks.itertuples(index=False)):
            extra.setdefault(int(i), []).append(Rock(float(row.depth_m), float(row.radius_m), float(row.cross_m),
                                                     float(row.s_m - p[i])))
        for i, rk in extra.items():
            cols[i] = dataclasses.replace(cols[i], rocks=tuple(rk))
    return cols


# ----------------------------------------------------------------------------- instruments


def _rngs(seed, rng):
    if (seed is None) == (rng is None):
        raise InputError("give exactly one of seed= (an integer) or rng= (a numpy.random.Generator)")
    if rng is not None:
        check_rng(rng)
        ss = np.random.SeedSequence(int(rng.integers(0, 2**63)))
    else:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InputError(f"seed must be a non-negative integer, got {seed!r}")
        ss = np.random.SeedSequence(int(seed))
    return dict(zip(("gpr", "ns", "alis", "emsl"), (np.random.default_rng(s) for s in ss.spawn(4))))


NS_DETECT_LO95_WT_PCT = 0.3
"""The NS "sees" a wet layer where its WEH 95 % lower bound is above this: over dry ground the lower bound sits
at the retrieval grid's floor (its lowest cell is 20/161 = 0.12 wt% wide), over ice within ~0.6 m it is
0.4-2.4 wt% (the 10-90 % range of the small test site's windows)."""


def _site_priors(truth) -> dict:
    """What a mission would assume without the truth: the site's FeO+TiO2, dry hydrogen and top density.

    The site-mean FeO+TiO2 (orbital), the mean dry (background) hydrogen, and the Carrier density of the top
    0.6 m (the regolith model).
    """
    ds = truth.dataset
    z = np.linspace(0.005, 0.595, 60)
    rho = float(np.mean(regolith.density_kg_m3(z, ds.attrs["density_model"])))
    return dict(feo_tio2_wt_pct=float(ds["feo_tio2_wt_pct"].mean()),
                dry_weh_wt_pct=float(ds["dry_weh_wt_pct"].mean()), density_kg_m3=rho)


def _run_gpr(cache, path, truth, rng, prm, gpr_config, priors):
    L = path.length_m
    p = np.arange(0.0, L + prm.gpr_spacing_m / 2, prm.gpr_spacing_m)
    p = p[p <= L + 1e-9]
    if p.size < prm.gpr_window_traces:
        raise InputError(f"the path ({L:.2f} m) is too short for one GPR window of {prm.gpr_window_traces} traces "
                         f"at {prm.gpr_spacing_m} m; give a longer path")
    rocks = rocks_along_path(truth.rocks, path.xy, prm.rock_search_m, prm.column_depth_m)
    cols = gpr_columns(cache, path.xy, p, rocks)
    rg = gpr.forward_radargram(cols, p, rng=rng, config=gpr_config or gpr.GprParams())
    # rocks of unknown size and cross-track position: fit radius and offset with each hyperbola (unless
    # gpr_fit_rock_size is off); the truth's ice fills the pores of the regolith (bulk density rises below
    # the table): that is the ground truth's convention, not a setting
    res = gpr.retrieve(rg, window_traces=prm.gpr_window_traces, feo_tio2_wt_pct=priors["feo_tio2_wt_pct"],
                       radius_m=None if prm.gpr_fit_rock_size else 0.0, aperture_m=prm.gpr_aperture_m,
                       max_fits=prm.gpr_max_fits, snr=prm.gpr_pick_snr, ice="pores",
                       weh_above_wt_pct=priors["dry_weh_wt_pct"],
                       eps_prior=gpr.VelocityModel.prior(prm.gpr_velocity_model, prm.gpr_eps_prior))
    return p, rg, gpr.drop_surface_picks(res, rg.config.centre_frequency_hz, prm.gpr_min_pick_periods), rocks


def _run_ns(cache, path, rng, prm, ns, priors):
    L = path.length_m
    edges, iy, ix = cell_runs(path, cache.grid)
    rates = np.array([neutron.expected_rates_cps(cache.get(a, b), ns) for a, b in zip(iy, ix)])
    T = L / prm.speed_m_s
    n = int(np.floor(T * prm.ns_rate_hz + 1e-9))
    if n < 2:
        raise InputError(f"the path ({L:.2f} m) is too short for two neutron samples at {prm.ns_rate_hz} Hz")
    t = np.arange(n + 1) / prm.ns_rate_hz
    s = t * prm.speed_m_s
    if edges.size == 2:     # a single cell: give the footprint a flat ground on both sides
        edges = np.array([edges[0] - 1.0, edges[1] + 1.0])
    ce, ct, me, mt = neutron.simulate_track_counts(t, s, edges, rates[:, 0], rates[:, 1], rng,
                                                   fwhm_m=ns.footprint_fwhm_m, beta=ns.beaming_exponent)
    se, live, t0 = neutron.segment_counts(ce, t, prm.ns_window_s)
    st, _, _ = neutron.segment_counts(ct, t, prm.ns_window_s)
    # the regolith temperature under each window, from the site's thermal model (the ground truth's mean
    # temperatures ARE that model's output: a mission computes them from illumination, it does not fit them)
    wx, wy, _ = path.at((t0 + 0.5 * live) * prm.speed_m_s)
    wiy, wix = cache.grid.index(wx, wy)
    temps = np.array([neutron.sampling_temperature_k(cache.get(a, b)) for a, b in zip(wiy, wix)])
    post = neutron.retrieve_two_layer(se, st, live, ns=ns, feo_tio2_wt_pct=priors["feo_tio2_wt_pct"],
                                      density_kg_m3=priors["density_kg_m3"], temperature_k=temps,
                                      weh_top_wt_pct=priors["dry_weh_wt_pct"], depth_max_m=prm.ns_depth_max_m,
                                      weh_max_wt_pct=prm.ns_weh_max_wt_pct, weh_prior=prm.ns_weh_prior)
    samples = dict(t_start_s=t[:-1], t_end_s=t[1:], s_start_m=s[:-1], s_end_m=s[1:], epi_counts=ce, th_counts=ct,
                   epi_expected=me, th_expected=mt)
    win = dict(t_start_s=t0, live_s=live, s_start_m=t0 * prm.speed_m_s, s_end_m=(t0 + live) * prm.speed_m_s,
               epi_counts=se, th_counts=st)
    return samples, win, post, (edges, iy, ix, rates)


def _run_alis(cache, path, rng, prm, ap):
    L = path.length_m
    s = np.arange(0.0, L + 1e-9, prm.alis_every_m)
    x, y, _ = path.at(s)
    iy, ix = cache.grid.index(x, y)
    lam = alis.wavelengths_um(ap.channel_step_um)
    rows, spectra = [], []
    for k in range(s.size):
        c = cache.get(iy[k], ix[k])
        water = float(c.weh_wt_pct[0])
        temp = float(c.temperature_k[0])
        y_rad, sig = alis.simulate_spectrum(lam, water, temp, prm.alis_incidence_deg, prm.alis_emission_deg, rng,
                                            params=ap)
        r = alis.retrieve_water(lam, y_rad, prm.alis_incidence_deg, prm.alis_emission_deg, sigma=sig,
                                temperature_k=temp, params=ap)
        rows.append((r.water_wt_pct, r.water_sigma_wt_pct, r.band_depth, water, temp))
        spectra.append(y_rad.astype(np.float64))
    a = np.array(rows, float).reshape(-1, 5)
    df = pd.DataFrame(dict(s_m=s, t_s=s / prm.speed_m_s, x_m=x, y_m=y, water_wt_pct=a[:, 0],
                           water_sigma_wt_pct=a[:, 1], band_depth=a[:, 2], true_water_wt_pct=a[:, 3],
                           temperature_k=a[:, 4], incidence_deg=prm.alis_incidence_deg,
                           emission_deg=prm.alis_emission_deg))
    df["radiance_w_m2_sr_m"] = spectra
    return df, lam


def _run_emsl(cache, path, rng, prm, ion_trap, outgassing):
    iy, ix = cache.grid.index(path.xy[:1, 0], path.xy[:1, 1])
    temp = float(cache.get(iy[0], ix[0]).temperature_k[0])
    n = int(prm.emsl_duration_s // prm.emsl_dwell_s)
    t = prm.emsl_start_s + prm.emsl_dwell_s * np.arange(n)
    recs, fits = [], []
    for sp in EMSL_SPECIES:
        counts, mu = emsl.simulate_series(sp, t, temp, prm.emsl_lander_distance_m, prm.emsl_dwell_s, rng,
                                          outgassing=outgassing, ion_trap=ion_trap)
        f = emsl.separate_series(sp, t, counts, temp, prm.emsl_lander_distance_m, prm.emsl_dwell_s, fit_rover=False,
                                 ion_trap=ion_trap)
        nat_true = emsl.natural_density_cm3(sp, np.full(t.shape, temp), t)
        cont_true = emsl.contamination_density_cm3(sp, t, prm.emsl_lander_distance_m, temp, outgassing)
        recs.append(pd.DataFrame(dict(species=sp, t_s=t, counts=counts.astype(np.int64), expected_counts=mu,
                                      temperature_k=temp, distance_m=prm.emsl_lander_distance_m,
                                      dwell_s=prm.emsl_dwell_s, natural_fit_cm3=f.natural_cm3,
                                      contamination_fit_cm3=f.contamination_cm3, natural_true_cm3=nat_true,
                                      contamination_true_cm3=cont_true)))
        fits.append(dict(species=sp, temperature_k=temp, natural_ref_cm3=f.natural_ref_cm3,
                         natural_ref_sigma_cm3=f.natural_ref_sigma_cm3,
                         natural_ref_true_cm3=float(emsl.NATURAL_REF_CM3[sp]),
                         natural_mean_fit_cm3=float(np.mean(f.natural_cm3)), natural_mean_true_cm3=float(np.mean(nat_true)),
                         lander_rate_1d_s=f.lander_rate_1d_s, lander_rate_sigma_s=f.lander_rate_sigma_s,
                         decay_index=f.decay_index, decay_index_sigma=f.decay_index_sigma))
    return pd.concat(recs, ignore_index=True), pd.DataFrame(fits)
