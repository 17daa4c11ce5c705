"""Launch-to-landing delta-v and mass budget: H3 from Tanegashima to the lunar south pole.

Method
------
1. **Launch (H3-24, not modelled, capability only).** The H3 puts the whole
   spacecraft (``launch_mass_kg``, ~6,000 kg for LUPEX) into a GTO-like elliptic
   Earth parking orbit (default 250 x 36,000 km, i = 30.4 deg = Tanegashima's
   latitude, no dog-leg), the way LVM3 put Chandrayaan-3 into a 170 x 36,500 km
   EPO. Published H3 capability: H3-24 > 6.5 t to a GTO with a remaining
   delta-v to GSO of 1,500 m/s (JAXA H3 programme figures; also the design
   target quoted at H3's 2015 go-ahead); H3-30 ~4 t to a 500 km SSO. A 1,500 m/s
   GTO is a *higher-energy* orbit (raised perigee, lower inclination after a
   long coast) than our low-perigee, 30.4 deg parking orbit, so 6.5 t is a
   conservative capability for it; no H3 C3/TLI curve is published that we
   could cite, so the launcher's side is a comparison, not a model.
   Tanegashima (Yoshinobu pad ~30.4 N): a due-east launch gains
   ~401 m/s from Earth's rotation (inside the launcher's figure) and reaches
   i = 30.4 deg; the Moon's declination never exceeds ~28.6 deg, so a 30.4 deg
   parking plane can contain the Moon's position at arrival by choosing the
   launch time; the apsidal alignment is done in phasing orbits and costs a
   stated allowance (``earth_phasing_dv_m_s``).
2. **Earth-Moon transfer, patched conics** (:mod:`lupex.mission.astro`): TLI
   is a perigee burn from the parking ellipse to an ellipse with its apogee at
   the Moon's distance (vis-viva; done in several perigee burns as
   Chandrayaan-3 did, so a small finite-burn loss fraction), transfer time =
   half the transfer ellipse's period (~5 days), v_inf at the Moon = Moon's
   orbital speed (1.02 km/s) minus the apogee speed (0.19 km/s).
3. **Lunar orbit insertion** into a polar circular orbit (default 100 km) by
   periselene burns from the arrival hyperbola (the aim point in the B-plane
   chooses the polar plane at no first-order cost; several periselene burns
   through an elliptic capture orbit cost the same ideal delta-v as one).
4. **Descent**: a descent-orbit-insertion burn to 100 x 30 km (Chandrayaan-3's
   pre-descent orbit; SLIM and Apollo used ~15 km), then powered descent from
   perilune, whose delta-v is the perilune orbital speed (1.68 km/s at 30 km,
   matching Chandrayaan-3's published 1.68 km/s) plus a gravity-loss
   allowance, then terminal descent with hover and hazard-avoidance
   retargeting (Chandrayaan-3: hazard detection near 150 m, retargeting up to
   ~60 m; SLIM hovered at ~50 m).
   With the landing Monte Carlo's runs (:func:`descent_from_monte_carlo`), the
   powered descent is not this estimate but the Monte Carlo's own: each run's
   propellant from PDI to touchdown (braking, approach, hover, hazard retargets,
   terminal descent) turned into the delta-v it bought with the vehicle it flew,
   ``dv = Isp g0 ln(m_PDI / (m_PDI - m_prop))``; the budget carries the
   ``descent_quantile`` (99 %) of that distribution plus the deterministic margin,
   at the descent engines' Isp and from the Monte Carlo's PDI altitude: one model
   of the lander for both. In a run the Monte Carlo flies the budget's own
   lander (:func:`lander_at_pdi`: with the launch mass fixed, the mass at PDI
   does not depend on the descent), so its kilograms and the budget's are one
   lander's; with ``landing.lander_from_budget = false`` it flies
   ``[lander_vehicle]`` and only the delta-v carries over (both masses shown).
5. **Margins**: every deterministic manoeuvre gets ``deterministic_dv_margin``
   (default 5 %), stochastic ones (TCMs) ``stochastic_dv_margin`` (100 %),
   residual/unusable propellant 2 % of the load, attitude-control propellant 2 %
   of the main-engine propellant, dry-mass growth 20 % -- the numbers of ESA's
   margin philosophy for science assessment studies (ESA SRE-PA/2011.097; 5 %
   on deterministic delta-v, 100 % on TCMs, 2 % residuals, 20 % system dry
   mass margin -- as recalled, check the issue you cite) and within AIAA
   S-120A-2015's mass-growth allowances for early designs.
6. **Mass chain**: per manoeuvre m_f = m_0 exp(-dv / (Isp g0)). Two stages by
   default, Chandrayaan-3's architecture: a propulsion module (PM) carries the
   stack to the lunar orbit and is jettisoned; the lander does the rest.
   Each stage's dry mass = (fixed + tank_ratio * propellant loaded) * (1 +
   growth): tanks, pressurant and feed scale with the propellant. Stages are
   sized bottom-up for a surface payload; the payload the 6,000 kg stack can
   land is found by root finding on the required launch mass
   (:func:`solve_max_payload`); :func:`launch_to_landing_budget` then flies
   that vehicle manoeuvre by manoeuvre and reports the table and the margin
   against the 350 kg requirement.

Published analogue used for calibration and a test: Chandrayaan-3 (ISRO, 2023)
-- PM 2,145 kg of which 1,696.39 kg MMH/MON-3 propellant, lander 1,749.86 kg
incl. the 26 kg rover, 3,900 kg at launch (ISRO mission brochure, masses as
reproduced by NASA NSSDCA); EPO 170 x 36,500 km; ~150 kg left in the PM after
lander separation (ISRO statement, Aug 2023, via press reports); powered
descent from 30 km at 1.68 km/s. Chandrayaan-2 (2019): Vikram 1,471 kg wet,
626 kg dry incl. the 27 kg rover (ISRO; from memory).

Published LUPEX design (docs/REFERENCES.md#lupex-mission; ISRO/JAXA/MHI technical
interface meeting, May 2025, as reported): launch on an H3-24L from Tanegashima,
~6,000 kg launch mass, >= 350 kg surface payload (the rover). No launch orbit,
lander dry mass or propellant load has been published: the parking orbit, stage
masses, Isp and losses are assumptions. When the budget does not close,
:func:`closing_changes` solves, for each assumption in turn, the value that would
close it; the verdict names the one that needs the smallest relative change
(the binding assumption) and by how much.

Numbers marked *assumption* in :class:`BudgetParams` are not published LUPEX
figures; each says why it is plausible. Replace them as ISRO/JAXA publish.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from lupex.errors import ConfigError
from lupex.landing.descent import DescentParams, LanderVehicleParams
from lupex.mission import astro
from lupex.mission.budget_params import ARCHITECTURES, G_MOON_SURFACE_M_S2, STAGES, BudgetParams

__all__ = [  # the parameters live in budget_params; importing them from here keeps working
    "ARCHITECTURES", "G_MOON_SURFACE_M_S2", "STAGES", "Budget", "BudgetParams", "Manoeuvre", "MonteCarloDescent",
    "closing_changes", "descent_from_monte_carlo", "fly", "lander_at_pdi", "launch_to_landing_budget",
    "manoeuvre_plan", "payload_sensitivity", "required_launch_mass_kg", "size_stages", "solve_max_payload",
    "transfer_geometry",
]

@dataclass(frozen=True)
class Manoeuvre:
    """One budgeted manoeuvre: ideal (impulsive) delta-v, losses, margin, engine."""

    phase: str
    stage: str
    dv_ideal_m_s: float
    loss_m_s: float
    margin: float
    isp_s: float

    @property
    def dv_m_s(self) -> float:
        """Budgeted delta-v: (ideal + losses) * (1 + margin)."""
        return (self.dv_ideal_m_s + self.loss_m_s) * (1.0 + self.margin)


def transfer_geometry(params: BudgetParams) -> dict[str, float]:
    """Patched-conic numbers of the transfer: radii, TLI and LOI impulsive delta-v, time of flight, v_inf."""
    rp = astro.R_EARTH_M + params.parking_perigee_altitude_m
    ra = astro.R_EARTH_M + params.parking_apogee_altitude_m
    d = params.earth_moon_distance_m
    r_lo = astro.R_MOON_M + params.lunar_orbit_altitude_m
    r_pd = astro.R_MOON_M + params.descent_perilune_altitude_m
    v_inf = astro.arrival_v_inf(rp, d, d)
    return {
        "tli_dv_m_s": float(astro.perigee_raise_dv(astro.MU_EARTH_M3_S2, rp, ra, d)),
        "transfer_time_s": float(astro.half_period_s(astro.MU_EARTH_M3_S2, rp, d)),
        "v_inf_m_s": v_inf,
        "loi_dv_m_s": float(astro.capture_dv(v_inf, r_lo)),
        "doi_dv_m_s": float(astro.periapsis_lowering_dv(astro.MU_MOON_M3_S2, r_lo, r_pd)),
        "perilune_speed_m_s": float(astro.apsis_speeds(astro.MU_MOON_M3_S2, r_pd, r_lo)[0]),
        "launch_azimuth_deg": float(astro.launch_azimuth_deg(params.launch_latitude_deg, params.launch_latitude_deg)),
        "earth_rotation_gain_m_s": float(astro.surface_rotation_speed(params.launch_latitude_deg)),
    }


def manoeuvre_plan(params: BudgetParams) -> list[Manoeuvre]:
    """The budgeted manoeuvres in flight order, each assigned to the stage that flies it."""
    g = transfer_geometry(params)
    det, sto = params.deterministic_dv_margin, params.stochastic_dv_margin
    pm = "pm" if params.architecture == "pm+lander" else "lander"
    isp_pm = params.pm_isp_s if pm == "pm" else params.lander_isp_s
    isp_l = params.lander_isp_s
    hover = G_MOON_SURFACE_M_S2 * params.hover_time_s
    if params.powered_descent_dv_m_s > 0:   # the landing Monte Carlo's own descent (see descent_from_monte_carlo)
        descent = [Manoeuvre(f"Powered descent PDI to touchdown (landing Monte Carlo, "
                             f"{100 * params.descent_quantile:g} % quantile)", "lander",
                             params.powered_descent_dv_m_s, 0.0, det, isp_l)]
    else:
        descent = [Manoeuvre("Powered descent (braking)", "lander", g["perilune_speed_m_s"], params.gravity_loss_m_s, det, isp_l),
                   Manoeuvre("Hover, hazard avoidance, touchdown", "lander", hover + params.hazard_avoidance_dv_m_s, 0.0, det, isp_l)]
    return [
        Manoeuvre("Earth phasing and apsidal alignment", pm, params.earth_phasing_dv_m_s, 0.0, det, isp_pm),
        Manoeuvre("Trans-lunar injection", pm, g["tli_dv_m_s"], params.tli_loss_frac * g["tli_dv_m_s"], det, isp_pm),
        Manoeuvre("Transfer TCMs", pm, params.transfer_tcm_dv_m_s, 0.0, sto, isp_pm),
        Manoeuvre("Lunar orbit insertion (polar, circular)", pm, g["loi_dv_m_s"], params.loi_loss_frac * g["loi_dv_m_s"], det, isp_pm),
        Manoeuvre("Lunar orbit maintenance and phasing", pm, params.lunar_orbit_ops_dv_m_s, 0.0, det, isp_pm),
        Manoeuvre("Descent orbit insertion", "lander", g["doi_dv_m_s"], 0.0, det, isp_l),
    ] + descent


def _fixed_dry_kg(params: BudgetParams, stage: str) -> float:
    return params.pm_fixed_dry_kg if stage == "pm" else params.lander_fixed_dry_kg


def _stage_mass_ratio(plan: list[Manoeuvre], stage: str) -> float:
    """Product of exp(dv / (Isp g0)) over the stage's burns (m_start / m_end of its main-engine propellant)."""
    return float(np.exp(sum(m.dv_m_s / (m.isp_s * astro.G0_M_S2) for m in plan if m.stage == stage)))


def size_stages(params: BudgetParams, payload_kg: float) -> dict[str, dict[str, float]]:
    """Size each stage bottom-up for a surface payload; returns per stage: dry, propellant load, wet mass.

    For a stage with main-engine mass ratio R carrying ``upper`` kg (payload and
    the stages above it), X = its mass at the end of its main-engine burns:
    main propellant X (R - 1), ACS propellant a X (R - 1), load
    (1 + a) X (R - 1) / (1 - r); end mass after ACS
    X - a X (R - 1) = upper + (1 + g)(F + k load) + r load, linear in X.
    Raises ConfigError when a stage cannot close (its dry-mass scaling eats the propellant).
    """
    plan = manoeuvre_plan(params)
    stages = [s for s in reversed(STAGES) if any(m.stage == s for m in plan)]
    g, k, r, a = params.dry_mass_growth, params.tank_ratio, params.residual_frac, params.acs_frac
    upper = float(payload_kg)
    out: dict[str, dict[str, float]] = {}
    for s in stages:
        R = _stage_mass_ratio(plan, s)
        F = _fixed_dry_kg(params, s)
        c = ((1 + g) * k + r) * (1 + a) / (1 - r)
        denom = 1.0 - a * (R - 1.0) - c * (R - 1.0)
        if denom <= 0:
            raise ConfigError(
                f"the {s} stage cannot close: its delta-v needs a mass ratio {R:.2f} that tank_ratio={k}, "
                f"residual_frac={r} and acs_frac={a} make impossible; raise the Isp or lower the delta-v")
        X = (upper + (1 + g) * F) / denom
        main = X * (R - 1.0)
        load = (1 + a) * main / (1 - r)
        dry = (1 + g) * (F + k * load)
        wet = dry + load
        out[s] = {"dry_kg": dry, "propellant_load_kg": load, "wet_kg": wet, "carried_kg": upper}
        upper = upper + wet
    return dict(reversed(list(out.items())))


def required_launch_mass_kg(params: BudgetParams, payload_kg: float) -> float:
    """Launch mass (kg) of the vehicle sized to land ``payload_kg``."""
    st = size_stages(params, payload_kg)
    return float(payload_kg + sum(v["wet_kg"] for v in st.values()))


def solve_max_payload(params: BudgetParams) -> float:
    """Surface payload (kg) the architecture can land from ``launch_mass_kg``, by root finding on the mass chain.

    Finds p with required_launch_mass_kg(p) = launch_mass_kg (Brent's method).
    A negative result means the stack cannot land even its own empty lander:
    the architecture is that many kg short.
    """
    L = params.launch_mass_kg

    def f(p):
        return required_launch_mass_kg(params, p) - L

    lo, hi = -L, L
    if f(hi) < 0:  # cannot happen for a physical chain (required mass >= payload), guard anyway
        return float(hi)
    return float(brentq(f, lo, hi, xtol=1e-9, rtol=1e-12))


def fly(params: BudgetParams, payload_kg: float, stages: dict[str, dict[str, float]]) -> pd.DataFrame:
    """Fly the sized vehicle manoeuvre by manoeuvre (rocket equation), jettisoning the PM after its last burn.

    Returns one row per event: phase, stage, dv_ideal_m_s, dv_m_s, isp_s,
    mass_before_kg, mass_after_kg, propellant_kg, jettisoned_kg,
    stage_propellant_left_kg.
    """
    plan = manoeuvre_plan(params)
    m = payload_kg + sum(v["wet_kg"] for v in stages.values())
    tank = {s: v["propellant_load_kg"] for s, v in stages.items()}
    main_used = {s: 0.0 for s in stages}
    rows = []

    def row(phase, stage, dv_i, dv, isp, m0, m1, prop, jett):
        rows.append({"phase": phase, "stage": stage, "dv_ideal_m_s": dv_i, "dv_m_s": dv, "isp_s": isp,
                     "mass_before_kg": m0, "mass_after_kg": m1, "propellant_kg": prop, "jettisoned_kg": jett,
                     "stage_propellant_left_kg": tank.get(stage, 0.0)})

    for i, man in enumerate(plan):
        m1 = float(astro.final_mass(m, man.dv_m_s, man.isp_s))
        prop = m - m1
        tank[man.stage] -= prop
        main_used[man.stage] += prop
        row(man.phase, man.stage, man.dv_ideal_m_s, man.dv_m_s, man.isp_s, m, m1, prop, 0.0)
        m = m1
        last_of_stage = i + 1 == len(plan) or plan[i + 1].stage != man.stage
        if last_of_stage:
            acs = params.acs_frac * main_used[man.stage]
            tank[man.stage] -= acs
            row(f"Attitude control ({man.stage})", man.stage, 0.0, 0.0, np.nan, m, m - acs, acs, 0.0)
            m -= acs
            if man.stage == "pm":
                jett = stages["pm"]["dry_kg"] + tank["pm"]
                tank["pm"] = 0.0
                row("PM separation", "pm", 0.0, 0.0, np.nan, m, m - jett, 0.0, jett)
                m -= jett
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class MonteCarloDescent:
    """The landing Monte Carlo's powered descent as the budget uses it (see :func:`descent_from_monte_carlo`)."""

    n_runs: int                   # descents used (the successful ones; all when none succeeded)
    quantile: float
    dv_mean_m_s: float
    dv_quantile_m_s: float
    dv_max_m_s: float
    isp_s: float                  # the descent engines' Isp the Monte Carlo flew
    pdi_mass_kg: float            # the Monte Carlo lander's mass at PDI
    pdi_propellant_kg: float      # and its propellant on board there
    pdi_altitude_m: float
    propellant_mean_kg: float     # the Monte Carlo's own propellant, for its own lander
    propellant_quantile_kg: float
    propellant_max_kg: float

    def apply(self, params: BudgetParams) -> BudgetParams:
        """``params`` flying this descent: its delta-v quantile, its Isp and its PDI altitude."""
        return params.replace(powered_descent_dv_m_s=self.dv_quantile_m_s, lander_isp_s=self.isp_s,
                              descent_perilune_altitude_m=self.pdi_altitude_m, descent_quantile=self.quantile)


def descent_from_monte_carlo(runs: pd.DataFrame, vehicle: LanderVehicleParams | None = None, config: DescentParams | None = None,
                             quantile: float = 0.99) -> MonteCarloDescent:
    """The delta-v distribution of the landing Monte Carlo's descents (m/s), from each run's propellant.

    Each run's ``dv = Isp g0 ln(m_PDI / (m_PDI - propellant))`` (the rocket equation, Tsiolkovsky) is what
    the lander spent from PDI to touchdown, gravity losses, hover and retargets included. Only the
    successful runs count, or all of them when none succeeded; runs with non-finite propellant are dropped.

    Parameters
    ----------
    runs : pandas.DataFrame
        :func:`lupex.landing.montecarlo.run_monte_carlo`'s table, one row per descent: ``propellant_kg``
        (propellant burnt from PDI to touchdown, kg) and, optionally, ``success`` (bool).
    vehicle : LanderVehicleParams, optional
        The lander the Monte Carlo flew: its ``wet_mass_kg`` is m_PDI (kg), its ``isp_s`` the Isp (s),
        its ``propellant_kg`` the propellant on board at PDI (kg). Default: the model's defaults.
    config : DescentParams, optional
        The descent it flew; only ``pdi_altitude_m`` (m above the reference sphere) is used.
        Default: the model's defaults.
    quantile : float, optional
        Quantile of the delta-v (and propellant) distribution the budget flies, in (0, 1); default 0.99.

    Returns
    -------
    MonteCarloDescent
        Number of runs used; delta-v mean, ``quantile`` and maximum (m/s); propellant mean, quantile and
        maximum (kg); and the Isp (s), PDI mass and propellant (kg) and PDI altitude (m) they were flown at.

    Raises
    ------
    lupex.errors.ConfigError
        If ``quantile`` is outside (0, 1), ``runs`` is empty or lacks ``propellant_kg``, or a run's
        propellant is not below the lander's wet mass.
    """
    v = vehicle or LanderVehicleParams()
    c = config or DescentParams()
    if not 0.0 < quantile < 1.0:
        raise ConfigError(f"descent quantile must be in (0, 1), got {quantile!r}")
    if runs is None or not len(runs) or "propellant_kg" not in runs:
        raise ConfigError("the landing Monte Carlo has no runs with propellant_kg; run the landing phase "
                          "(landing.runs > 0) or budget without it")
    ok = runs["success"].to_numpy(bool) if "success" in runs else np.ones(len(runs), bool)
    prop = runs["propellant_kg"].to_numpy(float)[ok if ok.any() else slice(None)]
    prop = prop[np.isfinite(prop)]
    if not len(prop) or np.any(prop >= v.wet_mass_kg):
        raise ConfigError("the landing Monte Carlo's propellant must be finite and below the lander's wet mass")
    dv = v.isp_s * astro.G0_M_S2 * np.log(v.wet_mass_kg / (v.wet_mass_kg - prop))
    return MonteCarloDescent(
        n_runs=int(len(prop)), quantile=float(quantile), dv_mean_m_s=float(dv.mean()),
        dv_quantile_m_s=float(np.quantile(dv, quantile)), dv_max_m_s=float(dv.max()), isp_s=float(v.isp_s),
        pdi_mass_kg=float(v.wet_mass_kg), pdi_propellant_kg=float(v.propellant_kg), pdi_altitude_m=float(c.pdi_altitude_m),
        propellant_mean_kg=float(prop.mean()), propellant_quantile_kg=float(np.quantile(prop, quantile)),
        propellant_max_kg=float(prop.max()))


def lander_at_pdi(params: BudgetParams, vehicle: LanderVehicleParams, descent: DescentParams | None = None) -> LanderVehicleParams:
    """``vehicle`` with the budget's mass at powered-descent initiation: the lander the landing Monte Carlo flies.

    The launch mass is fixed (``launch_mass_kg``), so the lander's mass at PDI follows from the burns before
    it (PM transfer and insertion, PM jettison, descent orbit insertion from ``descent``'s PDI altitude) and not
    from the descent's own delta-v: flying the Monte Carlo at that mass and then the budget with the Monte
    Carlo's delta-v (:func:`descent_from_monte_carlo`) is one lander, not two, in one pass. Its propellant
    limit is everything above the lander stage's dry mass (structure, tanks and growth, from
    :func:`size_stages`): the Monte Carlo measures what the descent needs, and the budget then says how much
    of the rest can be payload. Engines, thrust and Isp stay ``vehicle``'s; the budget flies the same Isp.
    """
    c = descent or DescentParams()
    p = params.replace(lander_isp_s=vehicle.isp_s, descent_perilune_altitude_m=c.pdi_altitude_m)
    b = launch_to_landing_budget(p)
    row = b.table[b.table.phase.str.startswith("Powered descent")]
    if not len(row):
        raise ConfigError("the budget has no powered-descent phase to take the lander's PDI mass from")
    wet = float(row["mass_before_kg"].iloc[0])
    dry = float(b.stages["lander"]["dry_kg"])
    if not 0.0 < dry < wet:
        raise ConfigError(f"the budget's lander has {dry:.0f} kg dry mass at a {wet:.0f} kg PDI mass: nothing to "
                          "burn; lower lander_fixed_dry_kg or raise launch_mass_kg")
    return dataclasses.replace(vehicle, wet_mass_kg=wet, propellant_kg=wet - dry)


#: the assumptions :func:`closing_changes` varies (none of them a published LUPEX figure), with the physical
#: range searched for a value that closes the budget
CLOSING_RANGES = {
    "lander_fixed_dry_kg": (0.0, 3000.0), "pm_fixed_dry_kg": (0.0, 3000.0), "dry_mass_growth": (0.0, 1.0),
    "tank_ratio": (0.0, 0.5), "lander_isp_s": (200.0, 460.0), "pm_isp_s": (200.0, 460.0),
    "parking_apogee_altitude_m": (1000e3, 300_000e3), "deterministic_dv_margin": (0.0, 0.5),
    "powered_descent_dv_m_s": (1500.0, 3500.0), "gravity_loss_m_s": (0.0, 1000.0),
}


def closing_changes(params: BudgetParams, names=None) -> pd.DataFrame:
    """For each assumption, the value that alone makes the deliverable payload equal the requirement.

    Returns one row per parameter: value, unit, closing_value, change (closing - value), change_frac, and
    ``possible`` (False when no value in :data:`CLOSING_RANGES` closes it). Sorted by ``|change_frac|``; the
    first possible row is the binding assumption: the one the verdict depends on most, relative to its value.
    ``powered_descent_dv_m_s`` is varied only when the budget flies the Monte Carlo's descent, the analytic
    ``gravity_loss_m_s`` only when it does not. Brent's method on the mass chain (:func:`solve_max_payload`).
    """
    req = params.required_surface_payload_kg
    meta = {f.name: f.metadata for f in fields(params)}
    mc = params.powered_descent_dv_m_s > 0
    names = names or [n for n in CLOSING_RANGES if not (n == "powered_descent_dv_m_s" and not mc)
                      and not (n == "gravity_loss_m_s" and mc)]
    if params.architecture == "integrated":
        names = [n for n in names if n not in ("pm_fixed_dry_kg", "pm_isp_s")]
    rows = []
    for n in names:
        v = float(getattr(params, n))
        lo, hi = CLOSING_RANGES[n]
        if n == "parking_apogee_altitude_m":
            hi = min(hi, params.earth_moon_distance_m - astro.R_EARTH_M - 1e3)

        def f(x, n=n):
            try:
                return solve_max_payload(params.replace(**{n: x})) - req
            except (ConfigError, ValueError):   # a stage cannot close, or no payload root: nothing lands
                return -np.inf
        x = np.nan
        fl, fh = f(lo), f(hi)
        if np.isfinite(fl) and np.isfinite(fh) and fl * fh <= 0:
            x = float(brentq(f, lo, hi, xtol=1e-9 * max(1.0, abs(hi)), rtol=1e-10))
        elif np.isfinite(fl) != np.isfinite(fh):   # one end cannot close a stage: bracket inside the feasible side
            grid = np.linspace(lo, hi, 65)
            vals = np.array([f(g) for g in grid])
            k = np.flatnonzero(np.isfinite(vals[:-1]) & np.isfinite(vals[1:]) & (vals[:-1] * vals[1:] <= 0))
            if len(k):
                x = float(brentq(f, grid[k[0]], grid[k[0] + 1], xtol=1e-9 * max(1.0, abs(hi)), rtol=1e-10))
        rows.append({"parameter": n, "value": v, "unit": meta[n]["unit"], "closing_value": x, "change": x - v,
                     "change_frac": (x - v) / v if v else np.nan, "possible": bool(np.isfinite(x))})
    df = pd.DataFrame(rows)
    df["_k"] = np.where(df["possible"], np.abs(df["change_frac"].fillna(np.inf)), np.inf)
    return df.sort_values("_k", kind="stable").drop(columns="_k").set_index("parameter")


@dataclass(frozen=True)
class Budget:
    """The launch-to-landing budget: the flown table and the verdict against the required payload."""

    params: BudgetParams
    table: pd.DataFrame
    stages: dict
    geometry: dict
    surface_payload_kg: float
    required_surface_payload_kg: float
    margin_kg: float
    required_launch_mass_kg: float
    launcher_margin_kg: float
    descent: MonteCarloDescent | None = None   # the landing Monte Carlo's descent, when the budget flies it
    closing: pd.DataFrame | None = None         # closing_changes() when the budget does not close

    @property
    def closes(self) -> bool:
        """Return whether the deliverable surface payload meets the requirement."""
        return self.margin_kg >= 0

    @property
    def total_dv_m_s(self) -> float:
        """Return the total budgeted delta-v (m/s)."""
        return float(self.table["dv_m_s"].sum())

    @property
    def landed_mass_kg(self) -> float:
        """Return the mass on the surface after touchdown (kg)."""
        return float(self.table["mass_after_kg"].iloc[-1])

    def verdict(self) -> str:
        """Return one line: closes or not, by how many kg, and the binding assumption when it does not."""
        p, req = self.surface_payload_kg, self.required_surface_payload_kg
        if self.closes:
            head = f"CLOSES: {p:.0f} kg surface payload deliverable vs {req:.0f} kg required (margin {self.margin_kg:+.0f} kg)"
        else:
            head = f"DOES NOT CLOSE: {p:.0f} kg deliverable vs {req:.0f} kg required, short by {-self.margin_kg:.0f} kg"
        out = (f"{head}; a vehicle sized for {req:.0f} kg would launch at {self.required_launch_mass_kg:.0f} kg "
               f"vs {self.params.launch_mass_kg:.0f} kg; H3 margin {self.launcher_margin_kg:+.0f} kg")
        b = self.binding()
        if b is not None:
            name, row = b
            out += (f"; binding assumption: {name} = {row['value']:,.4g} {row['unit']} would have to be "
                    f"{row['closing_value']:,.4g} {row['unit']} ({row['change']:+,.4g} {row['unit']}, "
                    f"{100 * row['change_frac']:+.1f} %) to close it")
        return out

    def binding(self):
        """Return (name, row of :attr:`closing`) of the assumption that closes the budget, or None.

        The assumption is the one with the smallest relative change; None when the
        budget closes (or nothing can close it).
        """
        if self.closes or self.closing is None or not len(self.closing) or not self.closing["possible"].any():
            return None
        c = self.closing[self.closing["possible"]]
        return c.index[0], c.iloc[0]

    def descent_line(self) -> str:
        """One line: the powered descent the budget carries and where it comes from."""
        t = self.table
        row = t[t.phase.str.startswith(("Powered descent", "Hover"))]
        prop = float(row["propellant_kg"].sum())
        pdi = float(row["mass_before_kg"].iloc[0]) if len(row) else float("nan")
        on_board = self.pdi_propellant_kg()
        d = self.descent
        if d is None:
            return (f"powered descent from the analytic estimate (perilune speed + {self.params.gravity_loss_m_s:g} m/s "
                    f"gravity loss, hover, hazard avoidance): {prop:,.0f} kg from a {pdi:,.0f} kg lander at PDI")
        same = abs(d.pdi_mass_kg - pdi) <= 1e-6 * pdi   # lander_at_pdi gave the Monte Carlo this lander
        flew = (f"the Monte Carlo flew this lander: propellant used mean {d.propellant_mean_kg:,.0f}, "
                f"{100 * d.quantile:g} % {d.propellant_quantile_kg:,.0f}, max {d.propellant_max_kg:,.0f} kg" if same else
                f"the Monte Carlo flew a {d.pdi_mass_kg:,.0f} kg lander with {d.pdi_propellant_kg:,.0f} kg: propellant "
                f"used mean {d.propellant_mean_kg:,.0f}, {100 * d.quantile:g} % {d.propellant_quantile_kg:,.0f}, max "
                f"{d.propellant_max_kg:,.0f} kg; landing.lander_from_budget = true flies the budget's lander")
        return (f"powered descent from the landing Monte Carlo ({d.n_runs} descents at Isp {d.isp_s:g} s): delta-v "
                f"mean {d.dv_mean_m_s:,.0f}, {100 * d.quantile:g} % {d.dv_quantile_m_s:,.0f}, max {d.dv_max_m_s:,.0f} m/s; "
                f"the budget carries the {100 * d.quantile:g} % quantile + {100 * self.params.deterministic_dv_margin:g} % "
                f"margin = {float(row['dv_m_s'].sum()):,.0f} m/s: {prop:,.0f} kg for its {pdi:,.0f} kg lander at PDI, "
                f"which carries {on_board:,.0f} kg of propellant there; {flew}")

    def pdi_propellant_kg(self) -> float:
        """Propellant (kg) on board the lander at powered-descent initiation (after descent orbit insertion)."""
        t = self.table
        row = t[t.phase.str.startswith(("Powered descent", "Hover"))]
        if not len(row):
            return float("nan")
        return float(row["stage_propellant_left_kg"].iloc[0] + row["propellant_kg"].iloc[0])

    def report(self) -> str:
        """Return the budget as text: the manoeuvre table, totals and the verdict."""
        cols = ["phase", "stage", "dv_ideal_m_s", "dv_m_s", "isp_s", "mass_before_kg", "mass_after_kg", "propellant_kg", "jettisoned_kg"]
        t = self.table[cols].to_string(index=False, float_format=lambda x: f"{x:,.0f}")
        return (f"{t}\ntotal dv {self.total_dv_m_s:,.0f} m/s, landed mass {self.landed_mass_kg:,.0f} kg\n"
                f"{self.descent_line()}\n{self.verdict()}")


def launch_to_landing_budget(params: BudgetParams | None = None, descent: MonteCarloDescent | None = None) -> Budget:
    """Delta-v and mass budget from H3 separation to touchdown; the verdict against the required payload.

    ``descent``: the landing Monte Carlo's descent (:func:`descent_from_monte_carlo`); the budget then flies its
    delta-v quantile at its Isp from its PDI altitude instead of the analytic descent estimate.
    """
    params = params or BudgetParams()
    if descent is not None:
        params = descent.apply(params)
    payload = solve_max_payload(params)
    stages = size_stages(params, payload)
    table = fly(params, payload, stages)
    return Budget(
        params=params,
        table=table,
        stages=stages,
        geometry=transfer_geometry(params),
        surface_payload_kg=payload,
        required_surface_payload_kg=params.required_surface_payload_kg,
        margin_kg=payload - params.required_surface_payload_kg,
        required_launch_mass_kg=required_launch_mass_kg(params, params.required_surface_payload_kg),
        launcher_margin_kg=params.launcher_capability_kg - params.launch_mass_kg,
        descent=descent,
        closing=closing_changes(params) if payload < params.required_surface_payload_kg else None,
    )


def payload_sensitivity(params: BudgetParams | None = None, names: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Deliverable surface payload's change per unit of each parameter (central finite differences).

    Returns a DataFrame indexed by parameter: value, unit, dpayload_kg_per_unit.
    """
    params = params or BudgetParams()
    names = names or ("launch_mass_kg", "pm_isp_s", "lander_isp_s", "pm_fixed_dry_kg", "lander_fixed_dry_kg",
                      "dry_mass_growth", "gravity_loss_m_s", "deterministic_dv_margin", "earth_phasing_dv_m_s",
                      "parking_apogee_altitude_m")
    meta = {f.name: f.metadata for f in fields(params)}
    rows = []
    for n in names:
        v = float(getattr(params, n))
        h = max(abs(v) * 1e-3, 1e-3)
        lo = max(v - h, 0.0)
        d = (solve_max_payload(params.replace(**{n: v + h})) - solve_max_payload(params.replace(**{n: lo}))) / (v + h - lo)
        rows.append({"parameter": n, "value": v, "unit": meta[n]["unit"], "dpayload_kg_per_unit": d})
    return pd.DataFrame(rows).set_index("parameter")
