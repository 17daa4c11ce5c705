"""Where to drive and where to drill next, by an explicit objective.

And the fixed survey patterns to compare against on the same truth and budget
(their geometry is :mod:`lupex.prospect.paths`).

Driving: information gain per unit energy
-----------------------------------------
The gain of observing the latent WEH field at the points ``P`` sampled along
a drive segment is the mutual information between the field and the new
noisy observations under the current GP posterior,

    I(P) = 0.5 log det(I + N^-1/2 Sigma_P N^-1/2),

with ``Sigma_P`` the posterior covariance at ``P`` (incl. mean-coefficient
uncertainty) and ``N`` the latent noise (retrieval sigma mapped by the
transform's derivative at the predicted value, plus the fitted nugget)
(Krause, Singh & Guestrin 2008, JMLR 9:235, sec. 2 and eq. 5). The next segment
is the affordable candidate maximising ``I(P) / energy``. For a GP with fixed
hyperparameters ``I`` depends on the positions only (not on the values seen),
so the greedy rule is a cost-aware space-filling design whose spacing adapts to
the fitted length scale; with the log transform the noise is relatively
smaller where WEH is high, which tilts it slightly towards wet ground.

Driving: expected reduction of the water-mapping risk per unit energy
-------------------------------------------------------------------
The campaign is scored on the water it *locates*: cells where the map's median
says WEH > ``thr`` (:func:`lupex.prospect.scoring.ice_mass_located`). For a cell
with latent ``W = log(WEH + c) ~ N(mu, sd^2)`` and ``h = log(thr + c)`` the two
map decisions lose, in expectation,

    not located: L0 = E[(e^W - c) 1{W > h}]
               = e^(mu + sd^2/2) Phi((mu + sd^2 - h)/sd) - c Phi((mu - h)/sd)
    located:     L1 = thr Phi((h - mu)/sd)

(the water missed, by the lognormal partial expectation; a false alarm costed
at the threshold WEH), and the Bayes risk is ``min(L0, L1)``. Observing the
points ``P`` of a leg leaves each cell's posterior sd at ``sd'`` and moves its
mean to ``mu' ~ N(mu, sd^2 - sd'^2)`` (the preposterior of a GP), so the
expected risk after the leg is ``E[min(L0, L1)(mu', sd')]``, by Gauss-Legendre
quadrature over ``mu'``. The leg's value is the risk reduction summed over the
area's cells, each weighted by the fraction of the drill column the orbital
prior lets hold ice: the expected value of sample information (Raiffa &
Schlaifer 1961; as a one-step lookahead, the knowledge gradient of Frazier,
Powell & Dayanik 2008, SIAM J. Control Optim. 47:2410), non-negative by the
concavity of ``min``. The next leg maximises it per Wh; where it vanishes on
every candidate (nothing near the threshold), the information gain per Wh
above decides.

Drilling: expected water per unit time
--------------------------------------
A drill to ``D`` (1.5 m) into ground with WEH ``W`` below an ice table at depth
``d`` and dry above it measures ``W max(0, D - d) / D`` averaged over the core.
With independent WEH and depth posteriors the expected measurement is
``E[W] E[max(0, D - d)] / D`` (the brief's ``E[W] P(d < D)`` is its
upper bound); the next drill maximises it per hour (travel + drilling).
``criterion="ucb"`` uses the upper confidence bound ``mean + kappa sd`` of WEH
instead, and :func:`expected_improvement` gives Jones et al. 1998 (J. Global
Optim. 13:455, eq. 15) for a maximisation.

Fixed plans: :func:`lawnmower` (boustrophedon lines at a fixed spacing) and
:func:`drill_grid` (evenly spaced drill spots).

:func:`compare_strategies` runs both on one ground truth and one energy budget,
with the same simulated instruments (a stated simplification of the lupex
instrument chain: NS retrieval = true WEH + Gaussian noise with its sigma; GPR
= true ice-table depth + noise where it is within 1.5 m, else a soft
"deeper than 1.5 m" pseudo-observation of 2.0 +- 0.5 m).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy import special

from lupex.errors import InputError
from lupex.params import check_rng
from lupex.prospect import fusion, scoring
from lupex.prospect.paths import (  # noqa: F401  (moved there; still importable from here)
    Area,
    _area,
    candidate_waypoints,
    drill_grid,
    lawnmower,
    lawnmower_spacing_for_budget,
    path_points,
    straight_line_cost,
    truncate_path,
)

__all__ = [
    "Area",
    "straight_line_cost",
    "lawnmower",
    "lawnmower_spacing_for_budget",
    "drill_grid",
    "path_points",
    "truncate_path",
    "candidate_waypoints",
    "information_gain",
    "LocatedWater",
    "mapping_risk",
    "risk_reduction",
    "DriveChoice",
    "choose_drive",
    "expected_drill_water",
    "expected_improvement",
    "choose_drill",
    "plan_drills",
    "simulate_survey",
    "compare_strategies",
]


# --------------------------------------------------------------------------- driving objective


def _latent_noise_var(model: fusion.GPModel, mean_value, noise_sd):
    d = np.abs(model.transform.derivative(np.maximum(mean_value, 0.0)))
    return (np.asarray(noise_sd, float) * d) ** 2 + model.nugget


def information_gain(model: fusion.GPModel, xy, noise_sd) -> float:
    """Mutual information (nats) between the latent field and noisy observations at the points ``xy`` (m, 2).

    Retrieval sd ``noise_sd`` in original units, scalar or per point, under the GP posterior.
    """
    xy = np.asarray(xy, float).reshape(-1, 2)
    if xy.shape[0] == 0:
        return 0.0
    if np.any(np.asarray(noise_sd) <= 0):
        raise InputError("noise_sd must be > 0")
    mu, cov = fusion.predict_latent(model, xy, full_cov=True)
    mean_v, _ = model.transform.moments(mu, np.sqrt(np.maximum(np.diag(cov), 0)))
    nv = np.broadcast_to(_latent_noise_var(model, mean_v, noise_sd), mu.shape)
    s = 1.0 / np.sqrt(nv)
    M = cov * s[:, None] * s[None, :]
    M[np.diag_indices_from(M)] += 1.0
    sign, logdet = np.linalg.slogdet(M)
    return float(0.5 * logdet) if sign > 0 else 0.0


@dataclass(frozen=True)
class LocatedWater:
    """What the risk objective scores.

    The area's cells (m, 2), a weight per cell (the fraction of the drill column the orbital prior lets hold ice,
    0-1) and the WEH threshold (wt%) of 'water located'.
    """

    xy: np.ndarray
    weight: np.ndarray
    threshold_wt_pct: float

    def __post_init__(self):
        xy = np.asarray(self.xy, float).reshape(-1, 2)
        w = np.asarray(self.weight, float).ravel()
        if w.size != xy.shape[0] or not (np.isfinite(w).all() and (w >= 0).all()):
            raise InputError("LocatedWater needs one finite, non-negative weight per cell")
        if not (self.threshold_wt_pct > 0):
            raise InputError(f"threshold_wt_pct must be > 0, got {self.threshold_wt_pct}")
        object.__setattr__(self, "xy", xy)
        object.__setattr__(self, "weight", w)


_GL_Z, _GL_W = np.polynomial.legendre.leggauss(128)   # the min() has a kink: 48 nodes err by ~2 %, 128 by ~0.2 %
_Z_MAX = 6.5


def mapping_risk(mu, sd, transform, threshold_wt_pct: float) -> np.ndarray:
    """Bayes risk ``min(L0, L1)`` (wt%) of the located / not-located decision per cell (see the module notes).

    Latent ``N(mu, sd^2)`` under a :class:`~lupex.prospect.fusion.LogShift` ``transform``: L0 by the lognormal
    partial expectation, L1 the threshold times the probability of a false alarm (module docstring, "expected
    reduction of the water-mapping risk").

    Parameters
    ----------
    mu : array_like
        Posterior latent mean per cell, log(wt% + c).
    sd : array_like
        Posterior latent sd per cell, same shape (floored at 1e-9).
    transform : LogShift
        The map's transform log(WEH + c), c in wt%.
    threshold_wt_pct : float
        WEH above which water counts as located, wt%.

    Returns
    -------
    numpy.ndarray
        Bayes risk per cell, wt%, the broadcast shape of ``mu`` and ``sd``.
    """
    if not isinstance(transform, fusion.LogShift):
        raise InputError("the mapping risk is defined for the log(WEH + c) transform (fusion.LogShift)")
    c = transform.c
    h = float(np.log(threshold_wt_pct + c))
    mu = np.asarray(mu, float)
    sd = np.maximum(np.asarray(sd, float), 1e-9)
    with np.errstate(over="ignore"):
        l0 = np.exp(mu + 0.5 * sd**2) * special.ndtr((mu + sd**2 - h) / sd) - c * special.ndtr((mu - h) / sd)
    l1 = threshold_wt_pct * special.ndtr((h - mu) / sd)
    return np.minimum(np.maximum(l0, 0.0), l1)


def risk_reduction(mu, sd, sd_after, transform, threshold_wt_pct: float) -> np.ndarray:
    """Expected reduction of :func:`mapping_risk` (wt%) per cell when the posterior sd falls to ``sd_after``.

    The preposterior mean is ``mu' ~ N(mu, sd^2 - sd_after^2)``; >= 0 up to quadrature error. The expected value of
    sample information (Raiffa & Schlaifer 1961; the knowledge gradient of Frazier, Powell & Dayanik 2008), by
    128-node Gauss-Legendre quadrature over +- 6.5 sd of ``mu'``.

    Parameters
    ----------
    mu : array_like
        Posterior latent mean per cell now, log(wt% + c).
    sd : array_like
        Posterior latent sd per cell now.
    sd_after : array_like
        Posterior latent sd per cell after the observations (clipped to ``sd``).
    transform : LogShift
        The map's transform log(WEH + c), c in wt%.
    threshold_wt_pct : float
        WEH above which water counts as located, wt%.

    Returns
    -------
    numpy.ndarray
        Risk reduction per cell, wt%, >= 0, the broadcast shape of the inputs.
    """
    mu = np.asarray(mu, float)
    sd = np.asarray(sd, float)
    sa = np.minimum(np.asarray(sd_after, float), sd)
    s = np.sqrt(np.maximum(sd**2 - sa**2, 0.0))
    now = mapping_risk(mu, sd, transform, threshold_wt_pct)
    z = _Z_MAX * _GL_Z
    w = _Z_MAX * _GL_W * np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
    after = (mapping_risk(mu[..., None] + s[..., None] * z, sa[..., None], transform, threshold_wt_pct) * w).sum(-1)
    after = after / w.sum()
    return np.maximum(now - after, 0.0)


def _leg_risk_reduction(model: fusion.GPModel, pts, grid, target: LocatedWater, mu, sd, noise_sd) -> float:
    """Weighted risk reduction over the target's cells from noisy latent observations at ``pts``.

    ``grid``: their factors, ``mu``/``sd``: their posterior, both computed once per decision.
    """
    side = fusion._side(model, pts)
    mv, _ = model.transform.moments(side.mean, np.zeros_like(side.mean))
    C_pg = fusion._side_cov(model, side, grid)
    C_pp = fusion._side_cov(model, side, side)
    C_pp[np.diag_indices_from(C_pp)] += np.broadcast_to(_latent_noise_var(model, mv, noise_sd), (side.xy.shape[0],))
    try:
        Lc = np.linalg.cholesky(C_pp)
    except np.linalg.LinAlgError:
        return 0.0
    V = np.linalg.solve(Lc, C_pg)
    sd_after = np.sqrt(np.maximum(sd**2 - np.einsum("ij,ij->j", V, V), 0.0))
    return float(target.weight @ risk_reduction(mu, sd, sd_after, model.transform, target.threshold_wt_pct))


@dataclass(frozen=True)
class DriveChoice:
    """The chosen drive: candidate index, waypoint (m), gain (nats), energy (Wh), time (h), every candidate's score."""

    index: int
    waypoint: np.ndarray
    gain_nats: float
    energy_wh: float
    time_h: float
    scores: np.ndarray
    objective: str = "information"


def choose_drive(model: fusion.GPModel, position, candidates, cost, *, noise_sd, step_m: float,
                 remaining_wh: float = np.inf, threshold: float | None = None,
                 target: LocatedWater | None = None) -> DriveChoice | None:
    """The affordable candidate waypoint maximising, per Wh, the value of the observations on the way to it.

    The drive is straight. None if none is affordable.

    With ``target`` the value is the expected reduction of the water-mapping risk over its cells (module
    notes; ``gain_nats`` then holds it, in weighted wt%), falling back to the information gain when it is
    zero on every candidate, and to the mean distance from the data (m, a space-filling rule) when that is
    zero too (``objective`` says which decided). Without it, the information gain; with ``threshold`` that gain is weighted by
    the mean posterior probability that WEH exceeds it along the segment (a heuristic, not a lookahead).
    Information gain: Krause, Singh & Guestrin 2008 eq. 5 (module docstring).

    Parameters
    ----------
    model : fusion.GPModel
        Current WEH map model (latent field).
    position : array_like, shape (2,)
        Rover position (x, y), m.
    candidates : array_like, shape (k, 2)
        Candidate waypoints (x, y), m.
    cost : callable
        ``cost(p0, p1) -> (energy in Wh, time in h)``, vectorised over ``p1`` (:func:`straight_line_cost`).
    noise_sd : float or array_like
        1-sigma WEH retrieval error of the observations, wt% (scalar or one per point).
    step_m : float
        Spacing of the observations along each drive, m.
    remaining_wh : float
        Energy left, Wh; candidates costing more are not affordable.
    threshold : float or None
        WEH whose exceedance probability weights the information gain, wt%; None: unweighted.
    target : LocatedWater or None
        Cells, weights and threshold of the risk objective; None: the information gain.

    Returns
    -------
    DriveChoice or None
        The chosen candidate with its value, energy (Wh), time (h), every candidate's score per Wh (-inf where
        unaffordable) and which objective decided.
    """
    c = np.asarray(candidates, float).reshape(-1, 2)
    p = np.asarray(position, float)
    if c.shape[0] == 0:
        return None
    e, t = (np.broadcast_to(np.asarray(v, float), (c.shape[0],)) for v in cost(p, c))
    if not (np.all(np.isfinite(e)) and np.all(e > 0)):
        raise InputError("cost(from, to) must return positive, finite energies (Wh) for every candidate")
    scores = np.full(c.shape[0], -np.inf)
    gains = np.zeros(c.shape[0])
    ok = np.flatnonzero(e <= remaining_wh)
    if target is not None and ok.size:
        mu, sd = fusion.predict_latent(model, target.xy)
        grid = fusion._side(model, target.xy)
        for i in ok:
            pts = path_points([p, c[i]], step_m)
            if pts.shape[0]:
                gains[i] = _leg_risk_reduction(model, pts, grid, target, mu, sd, noise_sd)
        if gains[ok].max() > 1e-9 * max(float(target.weight.sum()), 1.0):
            scores[ok] = gains[ok] / e[ok]
            i = int(np.argmax(scores))
            return DriveChoice(i, c[i], float(gains[i]), float(e[i]), float(t[i]), scores, "risk")
        gains[:] = 0.0
    for i in ok:
        pts = path_points([p, c[i]], step_m)
        gains[i] = information_gain(model, pts, noise_sd)
        if threshold is not None and pts.shape[0]:
            mu, sd = fusion.predict_latent(model, pts)
            z = (mu - model.transform.forward(threshold)) / np.maximum(sd, 1e-12)
            gains[i] *= float(np.mean(special.ndtr(z)))
        scores[i] = gains[i] / e[i]
    if not np.isfinite(scores).any():
        return None
    objective = "information"
    if gains[ok].max() <= 1e-12:     # the model claims to know everything: go where it has seen least
        for i in ok:
            pts = path_points([p, c[i]], step_m)
            d2 = fusion._sq_dist(pts, model.X) if pts.shape[0] else np.zeros((1, 1))
            gains[i] = float(np.mean(np.sqrt(d2.min(axis=1))))
            scores[i] = gains[i] / e[i]
        objective = "distance"
    i = int(np.argmax(scores))
    return DriveChoice(i, c[i], float(gains[i]), float(e[i]), float(t[i]), scores, objective)


# --------------------------------------------------------------------------- drilling objective


def expected_drill_water(weh_mean, depth_latent_mean, depth_latent_sd, depth_transform,
                         drill_depth_m: float = 1.5):
    """``E[W] * E[max(0, D - d)] / D``.

    The expected core-averaged WEH of a drill to ``D`` (dry above the ice table), depth posterior Gaussian in latent
    space; ``E[max(0, D - d)]`` by Gauss-Hermite quadrature (module docstring, "Drilling").

    Parameters
    ----------
    weh_mean : array_like
        Posterior mean WEH per spot, wt%.
    depth_latent_mean : array_like
        Posterior latent mean of the ice-table depth per spot, same shape.
    depth_latent_sd : array_like
        Posterior latent sd of the ice-table depth per spot, same shape.
    depth_transform : Logit or other fusion transform
        Link from depth (m) to its latent space.
    drill_depth_m : float
        Drill depth D, m.

    Returns
    -------
    numpy.ndarray
        Expected core-averaged WEH per spot, wt%, the inputs' shape.
    """
    mu = np.asarray(depth_latent_mean, float)[..., None]
    sd = np.asarray(depth_latent_sd, float)[..., None]
    d = depth_transform.inverse(mu + sd * fusion._GH_X)
    frac = (np.maximum(drill_depth_m - d, 0.0) / drill_depth_m * fusion._GH_W).sum(-1)
    return np.asarray(weh_mean, float) * frac


def expected_improvement(mean, sd, best):
    """Expected improvement over ``best`` for maximisation (Jones et al. 1998 eq. 15)."""
    mean, sd = np.asarray(mean, float), np.maximum(np.asarray(sd, float), 1e-300)
    z = (mean - best) / sd
    return (mean - best) * special.ndtr(z) + sd * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)


def choose_drill(value, candidates, position, cost, *, drill_time_h: float = 2.0) -> tuple[int, np.ndarray]:
    """Index of the candidate spot maximising ``value`` per hour of travel plus drilling, and all the scores.

    ``value``: expected water, UCB, EI...

    Parameters
    ----------
    value : array_like, shape (k,)
        Value of drilling each candidate (its own unit, e.g. wt%; -inf excludes a spot).
    candidates : array_like, shape (k, 2)
        Candidate drill spots (x, y), m.
    position : array_like, shape (2,)
        Rover position (x, y), m.
    cost : callable
        ``cost(p0, p1) -> (energy in Wh, time in h)``, vectorised over ``p1``; its time is the travel.
    drill_time_h : float
        Time to drill one spot, h.

    Returns
    -------
    index : int
        Best candidate.
    scores : numpy.ndarray, shape (k,)
        ``value`` per hour of travel plus drilling (-inf where not finite).
    """
    c = np.asarray(candidates, float).reshape(-1, 2)
    v = np.asarray(value, float).ravel()
    if v.size != c.shape[0] or c.shape[0] == 0:
        raise InputError(f"need one value per candidate spot (got {v.size} values, {c.shape[0]} spots)")
    _, t = cost(np.asarray(position, float), c)
    s = v / (np.broadcast_to(np.asarray(t, float), v.shape) + drill_time_h)
    s = np.where(np.isfinite(s), s, -np.inf)
    return int(np.argmax(s)), s


def plan_drills(maps: xr.Dataset, n: int, position, cost, *, criterion: str = "expected_water",
                depth_transform=None, drill_depth_m: float = 1.5, kappa: float = 2.0,
                min_separation_m: float = 20.0, drill_time_h: float = 2.0) -> np.ndarray:
    """Greedy sequence of ``n`` drill spots on the cells of fused ``maps`` (from :func:`fusion.fuse_water_maps`).

    Each the best ``criterion`` per hour from the previous one, at least ``min_separation_m`` apart.
    ``expected_water``: :func:`expected_drill_water` when the maps have an ice-table depth, else the WEH mean;
    ``ucb``: WEH mean + kappa sd (module docstring, "Drilling").

    Parameters
    ----------
    maps : xarray.Dataset
        Fused maps on a (y, x) grid in m: ``weh_mean`` (wt%), ``weh_sd`` for ``ucb``, and optionally
        ``ice_depth_latent_mean`` / ``ice_depth_latent_sd``; NaN cells are never chosen.
    n : int
        Most drill spots to plan.
    position : array_like, shape (2,)
        Rover position (x, y) before the first drill, m.
    cost : callable
        ``cost(p0, p1) -> (energy in Wh, time in h)``, vectorised over ``p1``.
    criterion : {"expected_water", "ucb"}
        What each drill maximises per hour.
    depth_transform : transform or None
        Link of the ice-table depth map; None: ``Logit(0, 3)`` m, the default of :func:`fusion.fuse_water_maps`.
    drill_depth_m : float
        Drill depth, m.
    kappa : float
        Weight of the WEH sd in ``ucb``.
    min_separation_m : float
        Smallest distance between two drill spots, m.
    drill_time_h : float
        Time to drill one spot, h.

    Returns
    -------
    numpy.ndarray, shape (k, 2)
        Drill spots (x, y) in order, m, k <= ``n`` (fewer when no cell is left).
    """
    if criterion not in ("expected_water", "ucb"):
        raise InputError(f"unknown drilling criterion {criterion!r}; use 'expected_water' or 'ucb'")
    pts = fusion.grid_points(maps)
    if criterion == "ucb":
        val = (maps["weh_mean"] + kappa * maps["weh_sd"]).values.ravel()
    elif "ice_depth_latent_mean" in maps:
        tr = depth_transform or fusion.Logit(0.0, 3.0)
        val = expected_drill_water(maps["weh_mean"].values.ravel(), maps["ice_depth_latent_mean"].values.ravel(),
                                   maps["ice_depth_latent_sd"].values.ravel(), tr, drill_depth_m)
    else:
        val = maps["weh_mean"].values.ravel().copy()
    val = val.astype(float).copy()
    pos = np.asarray(position, float)
    spots = []
    for _ in range(int(n)):
        if not np.isfinite(val).any() or np.all(val == -np.inf):
            break
        i, _ = choose_drill(val, pts, pos, cost, drill_time_h=drill_time_h)
        spots.append(pts[i])
        pos = pts[i]
        val[np.linalg.norm(pts - pos, axis=1) < min_separation_m] = -np.inf
    return np.array(spots).reshape(-1, 2)


# --------------------------------------------------------------------------- a campaign on a synthetic truth


def _observe(truth: xr.Dataset, xy, rng, ns_sigma_abs, ns_sigma_rel, gpr_sigma_m, drill_depth_m):
    w = scoring.sample_grid(truth["weh_wt_pct"], xy)
    sig = np.hypot(ns_sigma_abs, ns_sigma_rel * w)
    wv = np.maximum(w + sig * rng.standard_normal(w.shape), 0.0)
    ns = fusion.observations(xy[:, 0], xy[:, 1], wv, np.hypot(ns_sigma_abs, ns_sigma_rel * wv), "ns")
    if "ice_depth_m" not in truth:
        return ns, None
    d = scoring.sample_grid(truth["ice_depth_m"], xy)
    seen = d < drill_depth_m
    dv = np.where(seen, np.clip(d + gpr_sigma_m * rng.standard_normal(d.shape), 0.0, drill_depth_m), 2.0)
    gpr = fusion.observations(xy[:, 0], xy[:, 1], dv, np.where(seen, gpr_sigma_m, 0.5), "gpr")
    return ns, gpr


def simulate_survey(truth: xr.Dataset, plan: str, *, budget_wh: float, cost, rng: np.random.Generator,
                    start=None, step_m: float = 10.0, reach_m: float = 60.0, spacing_m: float | None = None,
                    prior: dict | None = None, refit_every: int = 8, kernel: str = "matern32",
                    weh_offset_wt_pct: float = 0.1, ns_sigma_abs: float = 0.2, ns_sigma_rel: float = 0.1,
                    gpr_sigma_m: float = 0.05, drill_depth_m: float = 1.5,
                    reach_options_m: tuple = (), ice_threshold: float | None = None) -> dict:
    """Path, observations and energy/time used of a survey over ``truth`` until ``budget_wh`` is spent.

    ``truth``: Dataset with ``weh_wt_pct`` and optionally ``ice_depth_m`` on a grid; ``plan``: ``"info_gain"``
    or ``"lawnmower"``; observations every ``step_m``.

    Parameters
    ----------
    truth : xarray.Dataset
        Ground truth on a (y, x) grid in m: ``weh_wt_pct`` (wt%) and optionally ``ice_depth_m`` (m).
    plan : {"info_gain", "lawnmower"}
        Greedy information gain per Wh (:func:`choose_drive`) or a boustrophedon (:func:`lawnmower`).
    budget_wh : float
        Drive energy budget, Wh, > 0.
    cost : callable
        ``cost(p0, p1) -> (energy in Wh, time in h)``, vectorised over ``p1`` (:func:`straight_line_cost`).
    rng : numpy.random.Generator
        Source of the retrieval noise.
    start : array_like of shape (2,) or None
        Start position (x, y), m; None: the grid's (x_min, y_min) corner.
    step_m : float
        Spacing of the observations along the path, m.
    reach_m : float
        Length of the candidate legs, m (and the leg length that sizes the lawnmower's budget).
    spacing_m : float or None
        Lawnmower line spacing, m; None: the spacing whose lawnmower the budget pays for.
    prior : dict or None
        Fixed hyperparameters of the first GP (``variance``, ``nugget`` in latent units^2, ``length_m`` in m);
        None: 1, 1e-3 and a tenth of the area's diagonal.
    refit_every : int
        Legs between ML-II refits (once 30 observations are in); in between the GP is only re-conditioned.
    kernel : {"matern32", "matern52", "se"}
        Covariance kernel of the GP.
    weh_offset_wt_pct : float
        Offset c of the LogShift transform log(WEH + c), wt%.
    ns_sigma_abs : float
        Absolute part of the NS retrieval's 1-sigma error, wt%.
    ns_sigma_rel : float
        Relative part, fraction of WEH (combined in quadrature with the absolute part).
    gpr_sigma_m : float
        1-sigma error of a GPR ice-table depth within ``drill_depth_m``, m.
    drill_depth_m : float
        Depth the GPR resolves the ice table within, m; deeper reads as 2.0 +- 0.5 m.
    reach_options_m : tuple of float
        Further leg lengths offered as candidates, m.
    ice_threshold : float or None
        WEH whose exceedance probability weights the information gain, wt% (:func:`choose_drive`).

    Returns
    -------
    dict
        ``plan``, ``path`` (k, 2) m, ``ns`` and ``gpr`` (:class:`fusion.Observations`; ``gpr`` None without
        ``ice_depth_m``), ``energy_wh`` (Wh), ``time_h`` (h), and ``spacing_m`` (lawnmower) or ``final_model``
        (info_gain).
    """
    if plan not in ("info_gain", "lawnmower"):
        raise InputError(f"unknown survey plan {plan!r}; use 'info_gain' or 'lawnmower'")
    check_rng(rng)
    if not budget_wh > 0:
        raise InputError(f"budget_wh must be > 0, got {budget_wh}")
    area = Area.of_grid(truth)
    start = np.array([area.x_min, area.y_min]) if start is None else np.asarray(start, float)
    if plan == "lawnmower":
        if spacing_m is None:
            spacing_m = lawnmower_spacing_for_budget(area, _distance_for_budget(cost, budget_wh, reach_m))
        wps = np.vstack([start, lawnmower(area, spacing_m, start)])
        path, e, t = truncate_path(wps, cost, budget_wh)
        xy = np.vstack([start, path_points(path, step_m)])
        ns, gpr = _observe(truth, xy, rng, ns_sigma_abs, ns_sigma_rel, gpr_sigma_m, drill_depth_m)
        return {"plan": plan, "path": path, "ns": ns, "gpr": gpr, "energy_wh": e, "time_h": t,
                "spacing_m": spacing_m}

    tr = fusion.LogShift(weh_offset_wt_pct)
    prior = prior or {"variance": 1.0, "length_m": 0.1 * np.hypot(area.x_max - area.x_min, area.y_max - area.y_min),
                      "nugget": 1e-3}
    pos = start.copy()
    ns, gpr = _observe(truth, pos[None], rng, ns_sigma_abs, ns_sigma_rel, gpr_sigma_m, drill_depth_m)
    model = fusion.fit_gp(ns, kernel=kernel, transform=tr, fixed=prior)
    path, e_tot, t_tot, k = [pos.copy()], 0.0, 0.0, 0
    noise = ns_sigma_abs
    while True:
        cands = np.vstack([candidate_waypoints(pos, area, r) for r in (reach_m, *reach_options_m)])
        ch = choose_drive(model, pos, cands, cost, noise_sd=noise, step_m=step_m, remaining_wh=budget_wh - e_tot,
                          threshold=ice_threshold)
        if ch is None:
            break
        xy = path_points([pos, ch.waypoint], step_m)
        pos = ch.waypoint.copy()
        path.append(pos)
        e_tot += ch.energy_wh
        t_tot += ch.time_h
        k += 1
        if xy.shape[0]:
            a, b = _observe(truth, xy, rng, ns_sigma_abs, ns_sigma_rel, gpr_sigma_m, drill_depth_m)
            ns = fusion.concat_observations(ns, a)
            gpr = fusion.concat_observations(gpr, b) if b is not None else None
        if k % refit_every == 0 and ns.n >= 30:
            init = {"variance": model.variance, "length_m": model.length_m, "nugget": model.nugget}
            model = fusion.fit_gp(ns, kernel=kernel, transform=tr, init=init, n_restarts=1)
        else:
            model = fusion.condition(model, ns)
    return {"plan": plan, "path": np.array(path), "ns": ns, "gpr": gpr, "energy_wh": e_tot, "time_h": t_tot,
            "final_model": model}


def _distance_for_budget(cost, budget_wh, leg_m):
    """Metres a ``budget_wh`` buys on straight legs of ``leg_m``.

    Turn overheads included, as a lawnmower of that leg length would pay them.
    """
    e_leg = float(cost(np.zeros(2), np.array([leg_m, 0.0]))[0])
    return budget_wh / e_leg * leg_m


def compare_strategies(truth: xr.Dataset, *, budget_wh: float, cost, rng: np.random.Generator,
                       threshold_wt_pct: float = 1.0, n_drills: int = 6, drill_depth_m: float = 1.5,
                       kernel: str = "matern32", weh_offset_wt_pct: float = 0.1, **survey_kw) -> dict:
    """Scores of the adaptive and the fixed plan on one truth and budget: ``{"info_gain": ..., "lawnmower": ...}``.

    Runs the information-gain survey + expected-water drilling and the lawnmower survey + drill-grid plan on
    the same truth and energy budget, fuses each survey's retrievals into maps, and scores both (same seed ->
    same scores).

    Parameters
    ----------
    truth : xarray.Dataset
        Ground truth on a (y, x) grid in m: ``weh_wt_pct`` (wt%) and optionally ``ice_depth_m`` (m).
    budget_wh : float
        Drive energy budget of each survey, Wh.
    cost : callable
        ``cost(p0, p1) -> (energy in Wh, time in h)``, vectorised over ``p1``.
    rng : numpy.random.Generator
        Split into one noise stream per plan (``rng.spawn(2)``).
    threshold_wt_pct : float
        WEH of "water located" and of a drill hit, wt%.
    n_drills : int
        Drill spots per plan.
    drill_depth_m : float
        Drill depth, m.
    kernel : {"matern32", "matern52", "se"}
        Covariance kernel of the survey GP and the maps.
    weh_offset_wt_pct : float
        Offset c of the LogShift transform log(WEH + c), wt%.
    **survey_kw
        Further keywords of :func:`simulate_survey` (``start`` is shared by both plans).

    Returns
    -------
    dict
        Per plan: energy (Wh), time (h), observation count, fitted length scale (m), map errors (wt%), 95 %
        coverage, ice mass located (fraction, and per kWh), drill scores (:func:`scoring.drill_scores`), drill
        spots and path (m).
    """
    if "weh_wt_pct" not in truth:
        raise InputError("truth must be a Dataset with a 'weh_wt_pct' variable (and optionally 'ice_depth_m')")
    area = Area.of_grid(truth)
    start = survey_kw.pop("start", np.array([area.x_min, area.y_min]))
    out = {}
    noise_rng = rng.spawn(2)
    for plan, g in zip(("info_gain", "lawnmower"), noise_rng):
        s = simulate_survey(truth, plan, budget_wh=budget_wh, cost=cost, rng=g, start=start, kernel=kernel,
                            weh_offset_wt_pct=weh_offset_wt_pct, drill_depth_m=drill_depth_m, **survey_kw)
        maps = fusion.fuse_water_maps(truth, ns=s["ns"], gpr=s["gpr"], kernel=kernel,
                                      weh_offset_wt_pct=weh_offset_wt_pct, drill_depth_m=drill_depth_m)
        end = s["path"][-1]
        if plan == "info_gain":
            spots = plan_drills(maps, n_drills, end, cost, drill_depth_m=drill_depth_m)
        else:
            spots = drill_grid(area, n_drills)
        w = scoring.sample_grid(truth["weh_wt_pct"], spots)
        if "ice_depth_m" in truth:
            d = scoring.sample_grid(truth["ice_depth_m"], spots)
            core = w * np.maximum(drill_depth_m - d, 0.0) / drill_depth_m
            core_field = truth["weh_wt_pct"].values * np.maximum(drill_depth_m - truth["ice_depth_m"].values, 0) / drill_depth_m
        else:
            core, core_field = w, truth["weh_wt_pct"].values
        # "the map says WEH > threshold": posterior median above it, i.e. P > 0.5
        located = scoring.ice_mass_located(truth["weh_wt_pct"], maps["weh_median"], threshold_wt_pct)
        out[plan] = {
            "energy_wh": s["energy_wh"], "time_h": s["time_h"], "n_obs": s["ns"].n,
            "length_m": float(maps["weh_mean"].attrs["length_m"]),
            "map": scoring.map_errors(maps["weh_mean"], truth["weh_wt_pct"]),
            "calibration_95": scoring.calibration(truth["weh_wt_pct"], lower=maps["weh_lower"], upper=maps["weh_upper"]),
            "ice_mass_located": located,
            "ice_mass_located_per_kwh": located / (s["energy_wh"] / 1e3) if s["energy_wh"] > 0 else float("nan"),
            "drills": scoring.drill_scores(w, core, threshold_wt_pct, truth_field=core_field),
            "drill_spots": spots, "path": s["path"],
        }
    return out
