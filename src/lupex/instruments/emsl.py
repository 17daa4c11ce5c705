"""EMS-L exospheric mass spectrometer.

Natural exosphere at the surface, the lander's and rover's outgassing as a decaying contaminant, ion-trap
counting, and a fit that separates the two.

Natural exosphere (surface number density, cm^-3)
-------------------------------------------------
* Non-condensable gases (He, Ne) in an exosphere whose source is uniform:
  n proportional to T**-5/2 (Hodges & Johnson 1968, JGR 73:7307; the law the
  Apollo 17 LACE day/night contrast follows, Hoffman et al. 1973, Proc. LSC 4).
  Reference values at T_ref = 100 K (night): He 4e4 cm^-3 (LACE night value as
  usually quoted, Hoffman et al. 1973), Ne 4e4 cm^-3 (same order; Ne could not
  be separated cleanly by LACE and its night value is uncertain by ~2x).
  docs/REFERENCES.md#hoffman1973, docs/REFERENCES.md#lamp-helium: LACE night total ~2e5 cm^-3, LAMP He ~7e3 cm^-3.
* Ar-40 is condensable: the gas fraction is t_hop / (t_hop + tau) with the
  residence time tau = 1e-13 s * exp(U / kT) (Frenkel) and the ballistic hop
  time t_hop = 2 sqrt(2kT/m) / g. U = 0.28 eV (~6.5 kcal/mol) puts the
  freeze-out near 85-95 K, as needed for the night-time Ar adsorption and
  sunrise release of Hodges (1975, Proc. LSC 6; 1980). The U value is an
  assumption, not a table value. n_ref(Ar) = 4e4 cm^-3 at 100 K (LACE pre-dawn
  Ar order of magnitude; uncertain by ~2x).
* H2O: a constant background (default 0; LADEE NMS saw no steady water) plus
  sporadic events during meteoroid streams (Benna et al. 2019, Nature
  Geoscience 12:333), passed in as boxcar (start, end, density) tuples.
* Polar/cold-trap assumption: at a polar site the same laws are applied to the
  local surface temperature; cold-trapping of condensables at the site below
  ~85 K follows from the Ar adsorption term. No lateral transport is modelled.

Contamination
-------------
Outgassing rate of spacecraft materials Q(t) = Q_1d (t / 1 day)**-n with
n ~ 1 for water desorbing from surfaces (Dayton 1959, Trans. 6th Nat. Vac.
Symp.; the standard power law of vacuum outgassing), n ~ 0.5 for diffusion out
of polymers. PITMS on Peregrine (2024) found the lander's outgassing dominating
early, as modelled. The lander is a point source emitting into a half-space:
n = Q / (2 pi r^2 vbar) at distance r (free molecular flow); the rover's own
outgassing adds a term with no distance dependence and the same exponent.

Instrument (assumptions, in :class:`IonTrapParams`)
---------------------------------------------------
Ion-trap MS (PITMS / ProSPA heritage): m/z 2-150, unit mass resolution; each
species counted at its parent m/z (cracking patterns and the N2/CO overlap at
m/z 28 are ignored). Sensitivity 1e-3 counts/s per cm^-3 for N2, scaled by
ion-gauge relative sensitivities (He 0.18, Ne 0.30, Ar 1.29, H2O 1.12,
CO2 1.42; Bartmess & Georgiadis 1983, Vacuum 33:149, values from memory to
~10 %), 0.05 counts/s background per channel, Poisson counting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import constants as sc
from scipy.optimize import minimize_scalar

from lupex.constants import G_MOON_M_S2
from lupex.errors import ConfigError, InputError
from lupex.params import ASSUMED, check_non_negative, check_pair, check_positive, check_range, check_rng, param

T_REF_K = 100.0
DAY_S = 86400.0
MASS_U = {"He": 4.0026, "Ne": 19.99, "Ar": 39.96, "H2O": 18.015, "N2": 28.013, "CO2": 44.01}
RELATIVE_SENSITIVITY = {"He": 0.18, "Ne": 0.30, "Ar": 1.29, "H2O": 1.12, "N2": 1.0, "CO2": 1.42}
NATURAL_REF_CM3 = {"He": 4e4, "Ne": 4e4, "Ar": 4e4, "H2O": 0.0, "N2": 0.0, "CO2": 0.0}
ADSORPTION_EV = {"Ar": 0.28}


@dataclass(frozen=True)
class IonTrapParams:
    """The ion-trap mass spectrometer (assumptions of PITMS / ProSPA class; see the module docstring)."""

    sensitivity_n2_cps_per_cm3: float = param(1e-3, "counts/s per cm^-3", "count rate per unit N2 number density (other species scaled by ion-gauge relative sensitivities)",
                                              f"{ASSUMED}: PITMS/ProSPA-class ion trap")
    background_cps: float = param(0.05, "counts/s", "background count rate per mass channel", f"{ASSUMED}: ion-trap noise floor")
    mass_range_u: tuple[float, float] = param((2.0, 150.0), "u", "[low, high] m/z range; species outside it cannot be counted",
                                              f"{ASSUMED}: PITMS-class m/z 2-150")
    resolution_m_dm: float = param(150.0, "m/dm", "mass resolving power (informational: species are counted at their parent m/z, so it does not enter the count model)",
                                   f"{ASSUMED}: unit mass resolution over the range")
    relative_sensitivity: dict[str, float] = param(unit="- (N2 = 1)", help="sensitivity of each species relative to N2 "
                                                   "(the names given replace those values)",
                                                   source="ion-gauge relative sensitivities, Bartmess & Georgiadis 1983, "
                                                   "Vacuum 33:149 (from memory, ~10 %)",
                                                   factory=lambda: dict(RELATIVE_SENSITIVITY))

    def __post_init__(self):
        check_positive(self, "sensitivity_n2_cps_per_cm3", "resolution_m_dm")
        check_non_negative(self, "background_cps")
        check_pair(self, "mass_range_u", increasing=True, positive=True)
        _check_species_table(self, "relative_sensitivity", positive=True, complete=True)


def _check_species_table(obj, name: str, *, positive: bool = False, complete: bool = False) -> None:
    """A species -> value table: known species, finite values (> 0 or >= 0); every species when ``complete``."""
    d = getattr(obj, name)
    where = f"{type(obj).__name__}.{name}"
    if not isinstance(d, dict):
        raise ConfigError(f"{where} must be a table of species = value, got {d!r}")
    for sp, v in d.items():
        if sp not in MASS_U:
            raise ConfigError(f"{where}: unknown species {sp!r}; choose from {sorted(MASS_U)}")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or (v <= 0 if positive else v < 0):
            raise ConfigError(f"{where}.{sp} must be a finite number {'> 0' if positive else '>= 0'}, got {v!r}")
    if complete and set(d) != set(MASS_U):
        raise ConfigError(f"{where} needs every species {sorted(MASS_U)}; missing {sorted(set(MASS_U) - set(d))}")


@dataclass(frozen=True)
class OutgassingParams:
    """Lander rate at 1 day (molecules/s) and rover self-density at 1 day (cm^-3), per species; power-law decay."""

    lander_rate_1d_s: dict[str, float] = param(unit="molecules/s", help="lander outgassing rate 1 day after landing, "
                                               "per species (the names given replace those values)",
                                               source=f"{ASSUMED}: order of spacecraft outgassing; PITMS on Peregrine "
                                               "saw the lander's outgassing dominate early",
                                               factory=lambda: {"H2O": 1e18, "N2": 2e17, "CO2": 5e16})
    rover_density_1d_cm3: dict[str, float] = param(unit="cm^-3", help="rover's own outgassing density at the "
                                                   "instrument 1 day after landing, per species",
                                                   source=f"{ASSUMED}: below the lander's contribution at 10 m",
                                                   factory=lambda: {"H2O": 2e4, "N2": 5e3, "CO2": 1e3})
    index: float = param(1.0, "-", "power-law decay index n of Q(t) = Q_1d (t / 1 day)^-n",
                         "Dayton 1959: n ~ 1 for water desorbing from surfaces")

    def __post_init__(self):
        _check_species_table(self, "lander_rate_1d_s")
        _check_species_table(self, "rover_density_1d_cm3")
        check_range(self, "index", 0.0, 3.0, lo_open=True)


def _arr(x, name):
    a = np.asarray(x, float)
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name} contains NaN or infinite values")
    return a


def _times(t_s):
    t = _arr(t_s, "t_s")
    if t.ndim != 1 or t.size < 2:
        raise InputError("t_s must be a 1-D array of at least two sample times")
    if np.any(np.diff(t) <= 0):
        raise InputError("t_s must increase strictly; sort the samples or drop duplicates")
    if t[0] <= 0:
        raise InputError("t_s counts seconds since landing and must be positive")
    return t


def _temps(temperature_k):
    t = _arr(temperature_k, "temperature_k")
    if np.any(t <= 0):
        raise InputError("temperature_k must be positive (kelvin)")
    return t


def _species(s):
    if s not in MASS_U:
        raise InputError(f"unknown species {s!r}; choose one of {sorted(MASS_U)}")
    return s


def mean_speed_m_s(species, temperature_k):
    """Maxwell-Boltzmann mean speed ``sqrt(8 k T / (pi m))`` of ``species`` at ``temperature_k`` (K), m/s."""
    m = MASS_U[_species(species)] * sc.atomic_mass
    return np.sqrt(8 * sc.k * _temps(temperature_k) / (np.pi * m))


def gas_fraction(species, temperature_k):
    """Fraction of a species' molecules in flight rather than adsorbed."""
    t = _temps(temperature_k)
    u = ADSORPTION_EV.get(_species(species))
    if u is None:
        return np.ones_like(t)
    m = MASS_U[species] * sc.atomic_mass
    t_hop = 2 * np.sqrt(2 * sc.k * t / m) / G_MOON_M_S2
    with np.errstate(over="ignore"):
        tau = 1e-13 * np.exp(u * sc.e / (sc.k * t))
    return t_hop / (t_hop + tau)


def natural_shape(species, temperature_k):
    """n(T) / n_ref for the natural exosphere (1 at 100 K for non-condensables)."""
    t = _temps(temperature_k)
    if species == "H2O":
        return np.ones_like(t)
    if species not in ("He", "Ne", "Ar"):
        return np.zeros_like(t)
    return (t / T_REF_K) ** -2.5 * gas_fraction(species, t) / gas_fraction(species, T_REF_K)


def natural_density_cm3(species, temperature_k, t_s=None, n_ref_cm3=None, h2o_events=()):
    """Natural surface number density (cm^-3) vs surface temperature (and time, for H2O events).

    Parameters
    ----------
    species : str
        One of He, Ne, Ar, H2O, N2, CO2.
    temperature_k : array_like
        Surface temperature, K.
    t_s : array_like, optional
        Seconds since landing; needed with ``h2o_events``.
    n_ref_cm3 : float, optional
        Density at the reference temperature, cm^-3 (default: the species' value).
    h2o_events : sequence of tuple
        ``(start_s, end_s, density_cm3)`` H2O released between those times.
    """
    n_ref = NATURAL_REF_CM3[_species(species)] if n_ref_cm3 is None else n_ref_cm3
    n = n_ref * natural_shape(species, temperature_k)
    if species == "H2O" and h2o_events:
        t = _arr(t_s, "t_s")
        for start, end, dens in h2o_events:
            n = n + np.where((t >= start) & (t < end), dens, 0.0)
    return n


def contamination_density_cm3(species, t_s, distance_m, temperature_k, outgassing: OutgassingParams = OutgassingParams()):
    """Lander + rover outgassing density at the instrument (cm^-3).

    Parameters
    ----------
    species : str
        One of He, Ne, Ar, H2O, N2, CO2.
    t_s : array_like
        Seconds since landing.
    distance_m : array_like
        Distance from the lander, m.
    temperature_k : array_like
        Surface temperature, K (sets the gas' mean speed).
    outgassing : OutgassingParams
        The lander's and rover's outgassing.
    """
    t = _times(t_s)
    r = _arr(distance_m, "distance_m")
    if np.any(r <= 0):
        raise InputError("distance_m from the lander must be positive")
    decay = (t / DAY_S) ** -outgassing.index
    q = outgassing.lander_rate_1d_s.get(_species(species), 0.0)
    lander = q / (2 * np.pi * r ** 2 * mean_speed_m_s(species, temperature_k)) * 1e-6 * decay
    rover = outgassing.rover_density_1d_cm3.get(species, 0.0) * decay
    return lander + rover


def pressure_pa(densities_cm3, temperature_k):
    """Gas-kinetic pressure p = n k T summed over species (densities in cm^-3)."""
    n = sum(np.asarray(v, float) for v in densities_cm3.values()) * 1e6
    return n * sc.k * _temps(temperature_k)


def count_rate_cps(species, density_cm3, ion_trap: IonTrapParams = IonTrapParams()):
    """Ion-trap count rate of ``species`` at ``density_cm3`` (cm^-3), counts/s, background included.

    InputError when the species' mass is outside the trap's mass range.
    """
    m = MASS_U[_species(species)]
    lo, hi = ion_trap.mass_range_u
    if not lo <= m <= hi:
        raise InputError(f"{species} (m/z {m:.0f}) is outside the mass range {lo}-{hi}")
    return ion_trap.background_cps + ion_trap.sensitivity_n2_cps_per_cm3 * ion_trap.relative_sensitivity[species] * \
        np.asarray(density_cm3, float)


def simulate_series(species, t_s, temperature_k, distance_m, dwell_s, rng: np.random.Generator, *,
                    n_ref_cm3=None, outgassing: OutgassingParams = OutgassingParams(),
                    ion_trap: IonTrapParams = IonTrapParams(), h2o_events=()):
    """Poisson ion counts at the species' m/z for each sample; returns (counts, expected).

    Parameters
    ----------
    species : str
        One of He, Ne, Ar, H2O, N2, CO2.
    t_s : array_like
        (n,) sample times, seconds since landing.
    temperature_k : array_like
        Surface temperature at each sample, K.
    distance_m : array_like
        Distance from the lander at each sample, m.
    dwell_s : array_like
        Counting time per sample, s.
    rng : np.random.Generator
        Source of the counting noise.
    n_ref_cm3 : float, optional
        Natural density at the reference temperature, cm^-3.
    outgassing : OutgassingParams
        The lander's and rover's outgassing.
    ion_trap : IonTrapParams
        The ion trap's sensitivity and background.
    h2o_events : sequence of tuple
        ``(start_s, end_s, density_cm3)`` H2O released between those times.
    """
    check_rng(rng)
    t = _times(t_s)
    n = natural_density_cm3(species, temperature_k, t, n_ref_cm3, h2o_events) + \
        contamination_density_cm3(species, t, distance_m, temperature_k, outgassing)
    mu = count_rate_cps(species, n, ion_trap) * dwell_s
    return rng.poisson(mu), mu


# ----------------------------------------------------------------- retrieval

@dataclass(frozen=True)
class SeparationFit:
    """Natural and contaminant parts of one species' time series, with 1-sigma errors."""

    species: str
    natural_ref_cm3: float          # n at 100 K (H2O: constant background)
    natural_ref_sigma_cm3: float
    lander_rate_1d_s: float
    lander_rate_sigma_s: float
    rover_density_1d_cm3: float
    rover_density_sigma_cm3: float
    decay_index: float
    decay_index_sigma: float
    natural_cm3: np.ndarray         # fitted natural density per sample
    contamination_cm3: np.ndarray   # fitted contaminant density per sample


def _design(species, t, temp, r, index, fit_lander, fit_rover, fit_natural):
    decay = (t / DAY_S) ** -index
    cols = []
    if fit_natural:
        cols.append(natural_shape(species, temp))
    if fit_lander:
        cols.append(decay / (2 * np.pi * r ** 2 * mean_speed_m_s(species, temp)) * 1e-6)
    if fit_rover:
        cols.append(decay)
    return np.stack(cols, axis=1)


def _irls(counts, x, b, iters=50):
    """Poisson MLE of non-negative beta for mu = b + x beta (identity link)."""
    scale = np.maximum(x.max(axis=0), 1e-300)
    xs = x / scale
    beta = np.linalg.lstsq(xs, np.maximum(counts - b, 0.0), rcond=None)[0].clip(1e-12)
    for _ in range(iters):
        mu = np.maximum(b + xs @ beta, 1e-12)
        w = 1.0 / mu
        a = xs.T @ (xs * w[:, None])
        new = np.linalg.solve(a + 1e-12 * np.trace(a) * np.eye(len(beta)), xs.T @ (w * (counts - b)))
        new = np.clip(new, 0.0, None)
        if np.allclose(new, beta, rtol=1e-10, atol=1e-14):
            beta = new
            break
        beta = new
    return beta / scale


def separate_series(species, t_s, counts, temperature_k, distance_m, dwell_s, *,
                    ion_trap: IonTrapParams = IonTrapParams(), fit_rover: bool | None = None,
                    index_bounds=(0.2, 3.0)) -> SeparationFit:
    """Fit natural density and outgassing (lander, rover, decay index) to a count series.

    Model: counts ~ Poisson(dwell (b + S [a f(T) + c_L u(t, r) + c_R v(t)])), f the
    natural temperature law, u the lander term (t/1d)^-n / (2 pi r^2 vbar), v =
    (t/1d)^-n. Given n the model is linear in (a, c_L, c_R), solved by Poisson
    IRLS; n is found by a bounded 1-D search on the profile likelihood. Errors
    come from the inverse Fisher matrix over (a, c_L, c_R, n). The lander and
    rover terms are told apart by the distance to the lander and, more weakly,
    by the lander term's 1/vbar ~ T^-1/2; with the rover parked and T constant
    they are degenerate (large errors on c_L, c_R): pass ``fit_rover=False``.

    Parameters
    ----------
    species : str
        One of He, Ne, Ar, H2O, N2, CO2.
    t_s : array_like
        (n,) sample times, seconds since landing.
    counts : array_like
        (n,) ion counts.
    temperature_k : array_like
        Surface temperature at each sample, K.
    distance_m : array_like
        Distance from the lander at each sample, m.
    dwell_s : array_like
        Counting time per sample, s.
    ion_trap : IonTrapParams
        The ion trap's sensitivity and background.
    fit_rover : bool, optional
        Fit the rover term (default: whenever outgassing is fitted).
    index_bounds : tuple of float
        Bounds of the decay index n.
    """
    t = _times(t_s)
    c = _arr(counts, "counts")
    temp = np.broadcast_to(_temps(temperature_k), t.shape)
    r = np.broadcast_to(_arr(distance_m, "distance_m"), t.shape)
    dw = np.broadcast_to(_arr(dwell_s, "dwell_s"), t.shape)
    if c.shape != t.shape:
        raise InputError("counts need one value per sample time")
    if np.any(c < 0) or np.any(c != np.round(c)):
        raise InputError("counts must be non-negative whole numbers")
    if np.any(r <= 0) or np.any(dw <= 0):
        raise InputError("distance_m and dwell_s must be positive")
    fit_natural = species in ("He", "Ne", "Ar", "H2O")
    has_cont = species in ("H2O", "N2", "CO2")
    fit_rover = has_cont if fit_rover is None else (bool(fit_rover) and has_cont)
    fit_lander = has_cont
    s = ion_trap.sensitivity_n2_cps_per_cm3 * ion_trap.relative_sensitivity[_species(species)]
    b = ion_trap.background_cps * dw

    def solve(index):
        x = _design(species, t, temp, r, index, fit_lander, fit_rover, fit_natural) * (s * dw)[:, None]
        beta = _irls(c, x, b)
        mu = np.maximum(b + x @ beta, 1e-300)
        return beta, mu, x

    def nll(index):
        _, mu, _ = solve(index)
        return float(np.sum(mu - c * np.log(mu)))

    if has_cont:
        index = minimize_scalar(nll, bounds=index_bounds, method="bounded",
                                options={"xatol": 1e-6}).x
    else:
        index = 1.0
    beta, mu, x = solve(index)
    # Fisher information over (beta..., index)
    cols = [x[:, k] for k in range(x.shape[1])]
    if has_cont:
        dmu_dn = -np.log(t / DAY_S) * (x[:, int(fit_natural):] @ beta[int(fit_natural):])
        cols.append(dmu_dn)
    j = np.stack(cols, axis=1)
    fisher = j.T @ (j / mu[:, None])
    d = np.sqrt(np.clip(np.diag(fisher), 1e-300, None))   # equilibrate: columns differ by ~1e20
    cov = np.linalg.pinv(fisher / np.outer(d, d)) / np.outer(d, d)
    err = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    k = 0
    out = {}
    for name, on in (("nat", fit_natural), ("lan", fit_lander), ("rov", fit_rover)):
        out[name] = (float(beta[k]), float(err[k])) if on else (0.0, 0.0)
        k += int(on)
    n_err = float(err[k]) if has_cont else 0.0
    xd = _design(species, t, temp, r, index, fit_lander, fit_rover, fit_natural)
    nat = xd[:, 0] * beta[0] if fit_natural else np.zeros_like(t)
    cont = xd[:, int(fit_natural):] @ beta[int(fit_natural):] if has_cont else np.zeros_like(t)
    return SeparationFit(species, *out["nat"], *out["lan"], *out["rov"],
                         float(index) if has_cont else float("nan"), n_err, nat, cont)


# the names before the one naming rule for parameter classes (*Params), for code that uses them
Outgassing = OutgassingParams
