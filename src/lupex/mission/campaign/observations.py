"""What a campaign leg measured, as observations for the maps, and the maps fused from them.

Observations fed to the maps (one GP per quantity, see :func:`lupex.prospect.fusion.fuse_water_maps`):

* WEH: the neutron spectrometer's two-layer posterior as the Gaussian in ``log(WEH + c)`` with the same 68 %
  interval, one per ``ns_window_s`` window (not its mean, biased high along the WEH-burial degeneracy; see
  :func:`survey_observations`);
* ice-table depth: the GPR window picks with their sigma; a window with no pick becomes a soft "deeper than
  the radar sees" pseudo-observation of ``2.0 +- 0.5 m`` (the same choice as :mod:`lupex.prospect.strategy`);
* surface water: ALIS retrievals.

Dense tracks are thinned by inverse-variance binning (``bin_m``) before the exact GP fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import xarray as xr

from lupex.errors import InputError
from lupex.instruments.gpr_forward import GprParams
from lupex.mission.campaign.params import DEPTH_BOUNDS_M, NO_ICE_DEPTH_M, NO_ICE_SIGMA_M, CampaignParams
from lupex.mission.survey import SurveyResult, run_survey
from lupex.mission.survey_instruments import NS_DETECT_LO95_WT_PCT
from lupex.prospect import fusion

__all__ = ["SurveyObservations", "fuse", "gpr_model_sigma_m", "latent_gaussian", "survey_leg", "survey_observations"]


@dataclass(frozen=True)
class SurveyObservations:
    """Observations of one or more survey legs, by map (each :class:`~lupex.prospect.fusion.Observations` or None)."""

    ns: fusion.Observations | None = None     # WEH (neutron windows, labelled "ns" / "ns_dry")
    gpr: fusion.Observations | None = None    # ice-table depth (GPR picks, NS burial depth, "none seen")
    alis: fusion.Observations | None = None   # surface water

    def merged(self, new: SurveyObservations) -> SurveyObservations:
        """These observations followed by ``new``'s, map by map."""
        def cat(a, b):
            parts = [o for o in (a, b) if o is not None]
            return fusion.concat_observations(*parts) if parts else None

        return SurveyObservations(ns=cat(self.ns, new.ns), gpr=cat(self.gpr, new.gpr), alis=cat(self.alis, new.alis))

    def as_dict(self) -> dict:
        """{"ns", "gpr", "alis"} -> Observations or None (the form :class:`CampaignPlan` carries)."""
        return {"ns": self.ns, "gpr": self.gpr, "alis": self.alis}


def latent_gaussian(tr, lo, hi, z=1.959963984540054):
    """(value, sigma) in original units of the Gaussian in ``tr``'s latent space with the central interval ``[lo, hi]``.

    The interval spans +-``z`` sigma (1.96: a 95 % interval; 1: a 68 % one): centre the midpoint of the
    transformed bounds (the median of that Gaussian), latent sigma the half-width over ``z``, mapped back by the
    transform's derivative at the centre (as :mod:`lupex.prospect.fusion` maps it in):
    ``v = T^-1((T(lo) + T(hi)) / 2)``, ``sigma = max((T(hi) - T(lo)) / (2 z), 1e-6) / |T'(v)|``.

    Parameters
    ----------
    tr : transform
        The map's latent transform T, with ``forward``, ``inverse`` and ``derivative``
        (:class:`~lupex.prospect.fusion.LogShift` for WEH, :class:`~lupex.prospect.fusion.Logit` for depth).
    lo, hi : float or numpy.ndarray
        Lower and upper bounds of the interval in the quantity's unit (wt% or m), same shape (n,); ``hi > lo``
        and both inside T's domain.
    z : float, optional
        Standard normal quantile of the interval's half-width: 1.959964 (default) for 95 %, 1 for 68 %.

    Returns
    -------
    tuple of numpy.ndarray
        ``(value, sigma)`` in the quantity's unit, each the shape of ``lo``.
    """
    zl, zh = tr.forward(lo), tr.forward(hi)
    v = tr.inverse(0.5 * (zl + zh))
    return v, np.maximum((zh - zl) / (2 * z), 1e-6) / np.abs(tr.derivative(v))


def gpr_model_sigma_m(sr: SurveyResult) -> float:
    """The GPR pick's model error (m): the quarter-wavelength vertical resolution in the top layer.

    lambda / 4 = c / (4 f sqrt(eps')) (Annan 2009, in Jol (ed.), Ground Penetrating Radar: Theory and
    Applications, ch. 1), added in quadrature to each window's sigma. The picks' own sigmas (~0.01-0.02 m)
    leave out the wavelet's peak offset and the ground's variation within a 10 m window: their errors vs the
    truth are ~0.03 m.
    """
    eps = float(sr.summary.get("gpr_eps_top", np.nan))
    eps = eps if np.isfinite(eps) and eps >= 1.0 else 3.0
    return 299_792_458.0 / (4.0 * GprParams().centre_frequency_hz * math.sqrt(eps))


def _ns_weh(r, p: CampaignParams):
    """(WEH observations or None, ok mask, wet mask) of the NS windows of a retrievals table."""
    x, y = r["x_m"].to_numpy(float), r["y_m"].to_numpy(float)
    lo = r["ns_weh_lo95_wt_pct"].to_numpy(float)
    hi = r["ns_weh_hi95_wt_pct"].to_numpy(float)
    lo68 = r["ns_weh_lo68_wt_pct"].to_numpy(float)
    hi68 = r["ns_weh_hi68_wt_pct"].to_numpy(float)
    blo = r["ns_burial_lo95_m"].to_numpy(float)
    bhi = r["ns_burial_hi95_m"].to_numpy(float)
    ok = np.isfinite(lo) & np.isfinite(hi) & (hi > lo) & np.isfinite(lo68) & np.isfinite(hi68) & (hi68 > lo68)
    wet = ok & (lo > NS_DETECT_LO95_WT_PCT) & np.isfinite(blo) & np.isfinite(bhi) & (bhi > blo)
    tw = fusion.LogShift(p.weh_offset_wt_pct)
    ns = None
    if ok.any():
        v, sg = latent_gaussian(tw, np.maximum(lo68, 0.0), np.maximum(hi68, 0.0), z=1.0)
        ns = fusion.observations(x[ok], y[ok], v[ok], np.maximum(sg, 1e-3)[ok], np.where(wet, "ns", "ns_dry")[ok])
    return ns, ok, wet


def _ice_depth(sr: SurveyResult, ok, wet):
    """Ice-table depth observations (GPR picks, NS burial depth, "none seen") or None."""
    r = sr.retrievals
    x, y = r["x_m"].to_numpy(float), r["y_m"].to_numpy(float)
    parts = []
    g = sr.gpr_windows
    d = g["ice_depth_m"].to_numpy(float)
    ds = g["ice_depth_sigma_m"].to_numpy(float)
    seen = np.isfinite(d) & np.isfinite(ds)
    if seen.any():
        parts.append(fusion.observations(g["x_m"].to_numpy(float)[seen], g["y_m"].to_numpy(float)[seen],
                                         np.clip(d[seen], 0.01, DEPTH_BOUNDS_M[1] - 0.01),
                                         np.hypot(ds[seen], gpr_model_sigma_m(sr)), "gpr"))
    if wet.any():
        blo = r["ns_burial_lo95_m"].to_numpy(float)
        bhi = r["ns_burial_hi95_m"].to_numpy(float)
        td = fusion.Logit(*DEPTH_BOUNDS_M)
        bl = np.clip(blo[wet], 0.01, DEPTH_BOUNDS_M[1] - 0.01)
        bh = np.clip(bhi[wet], bl + 1e-3, DEPTH_BOUNDS_M[1] - 0.01)
        bv, bs = latent_gaussian(td, bl, bh)
        parts.append(fusion.observations(x[wet], y[wet], bv, bs, "ns_burial"))
    none = ok & ~wet & ~(r["gpr_n_picks"].to_numpy() > 0) if "gpr_n_picks" in r else ok & ~wet
    if none.any():
        parts.append(fusion.observations(x[none], y[none], np.full(int(none.sum()), NO_ICE_DEPTH_M),
                                         np.full(int(none.sum()), NO_ICE_SIGMA_M), "none_seen"))
    return fusion.concat_observations(*parts) if parts else None


def _surface_water(sr: SurveyResult):
    """ALIS surface-water observations or None."""
    a = sr.alis
    av = a["water_wt_pct"].to_numpy(float)
    asg = a["water_sigma_wt_pct"].to_numpy(float)
    ok = np.isfinite(av) & np.isfinite(asg) & (asg > 0)
    if not ok.any():
        return None
    return fusion.observations(a["x_m"].to_numpy(float)[ok], a["y_m"].to_numpy(float)[ok], np.maximum(av[ok], 0.0),
                               asg[ok], "alis")


def survey_observations(sr: SurveyResult, p: CampaignParams) -> SurveyObservations:
    """Observations from a SurveyResult (see the module notes), what each retrieval really knows.

    * ``ns`` (WEH): the NS two-layer posterior (log-uniform WEH prior) is broad and right-skewed along the
      WEH-burial degeneracy: its mean is biased high (+3 wt% over ice) and its 68 % half-width in wt% too small
      for it. Each window becomes the Gaussian in the WEH map's latent space ``log(WEH + c)`` with the same
      central 68 % interval (centre: the interval's log-midpoint, ~ the posterior median; sigma: its latent
      half-width). Windows whose 95 % lower bound is above
      :data:`~lupex.mission.survey_instruments.NS_DETECT_LO95_WT_PCT` are labelled ``ns`` (a wet layer seen),
      the others ``ns_dry`` (the interval reaches ~0: over dry ground its centre is 0.2-0.8 wt% and its sigma
      is wide enough to cover the dry background). Within a ``bin_m`` bin the windows' errors are taken as
      fully correlated (the prior-driven skew is shared along track), so binning does not shrink them
      (:func:`lupex.prospect.fusion.bin_observations`, ``correlated``);
    * ``gpr`` (ice-table depth): the GPR window picks, sigma with the radar's resolution added
      (:func:`gpr_model_sigma_m`); the NS burial depth where the NS sees a wet layer (the dry overburden IS the
      depth to the ice table), as the Gaussian in the depth map's logit space with its 95 % interval; where
      neither sees anything, ``2.0 +- 0.5 m`` ("deeper than they see");
    * ``alis`` (surface water): the ALIS retrievals.
    """
    ns, ok, wet = _ns_weh(sr.retrievals, p)
    return SurveyObservations(ns=ns, gpr=_ice_depth(sr, ok, wet), alis=_surface_water(sr))


def survey_leg(gt, dem, path, rng, p: CampaignParams, instruments: dict):
    """(SurveyResult, SurveyObservations): one campaign leg along ``path`` surveyed by :func:`run_survey`.

    Parameters
    ----------
    gt : lupex.subsurface.ground_truth.GroundTruth
        The ground truth the instruments measure.
    dem : xarray.DataArray or None
        The site DEM (m): gives each GPR trace its elevation, and the path must lie on it; None: elevations NaN.
    path : array_like
        The leg's vertices (x, y), m, shape (n, 2), n >= 2.
    rng : numpy.random.Generator
        The plan's generator; the survey draws its instruments' generators from it.
    p : CampaignParams
        The campaign settings: their spacings and rates replace the survey's (:meth:`CampaignParams.survey_params`).
    instruments : dict
        The run's instrument models as keywords of :func:`lupex.mission.survey.run_survey`, and its
        ``[survey]`` table as ``params`` (whose spacings and rates the campaign's own replace).

    Returns
    -------
    tuple
        ``(SurveyResult, SurveyObservations)``: the leg's retrievals (not written) and the observations
        :func:`survey_observations` makes of them.
    """
    inst = dict(instruments)
    sr = run_survey(gt, dem, np.asarray(path, float), rng=rng, params=p.survey_params(inst.pop("params", None)),
                    write=False, **inst)
    return sr, survey_observations(sr, p)


def fuse(template, obs: SurveyObservations, p: CampaignParams, drift=None) -> xr.Dataset:
    """The fused water maps on ``template``'s grid (:func:`lupex.prospect.fusion.fuse_water_maps`).

    ``drift`` (the orbital prior, :func:`lupex.mission.campaign.screen.reach_fraction`) is the maps' external
    drift when ``campaign.orbital_drift``; ALIS enters only with at least three retrievals.

    Parameters
    ----------
    template : xarray.DataArray
        The map grid, dims (y, x) in m (the campaign area's cells); its values are not read.
    obs : SurveyObservations
        Everything the plan measured so far; ``obs.ns`` must not be None.
    p : CampaignParams
        The maps' settings: ``kernel``, ``weh_offset_wt_pct`` (wt%), ``drill_depth_m`` (m), ``bin_m`` (m),
        ``gp_min_sd_log`` (ln units), ``orbital_drift``, ``drift_prior_sd`` and ``gp_max_length_m`` (m).
    drift : xarray.DataArray, optional
        The orbital prior, fraction 0-1 on a grid covering ``template``; None: constant-mean maps.

    Returns
    -------
    xarray.Dataset
        On ``template``'s grid (ny, nx): ``weh_*`` (wt%), ``ice_depth_*`` (m) and, with enough ALIS retrievals,
        ``alis_*`` (wt%), each ``mean``, ``sd``, ``median``, ``lower``, ``upper``, ``latent_mean``,
        ``latent_sd``; and ``p_ice_within_drill`` (probability 0-1 that the ice table is shallower than
        ``drill_depth_m``) when there are depth observations.

    Raises
    ------
    lupex.errors.InputError
        When there is no neutron retrieval to map.
    """
    if obs.ns is None:
        raise InputError("the campaign produced no neutron retrieval to map; raise campaign.drive_budget_wh")
    kw = {k: v for k, v in obs.as_dict().items() if v is not None and (k != "alis" or v.n >= 3)}
    return fusion.fuse_water_maps(template, kernel=p.kernel, weh_offset_wt_pct=p.weh_offset_wt_pct,
                                  depth_bounds_m=DEPTH_BOUNDS_M, drill_depth_m=p.drill_depth_m, bin_m=p.bin_m,
                                  correlated_bins=True, min_latent_sd=p.gp_min_sd_log,
                                  drift=fusion.Drift.of(drift, prior_sd=p.drift_prior_sd) if p.orbital_drift and
                                  drift is not None else None, max_length_m=p.gp_max_length_m, **kw)
