"""1-D heat conduction in lunar regolith with a radiative surface (Hayne et al. 2017).

Model (Hayne et al. 2017, JGR Planets 122:2371, appendix A; Table A1):

* conductivity ``k = k_c(z) [1 + chi (T/350 K)^3]`` (eq. A4), chi = 2.7, with the
  contact conductivity ``k_c(z) = k_d - (k_d - k_s) exp(-z/H)`` (eq. A3 with the
  density profile of eq. A2), k_s = 7.4e-4, k_d = 3.4e-3 W m^-1 K^-1, H = 0.06 m;
* density ``rho(z) = rho_d - (rho_d - rho_s) exp(-z/H)``, 1100 / 1800 kg m^-3;
* heat capacity ``c_p(T) = c0 + c1 T + c2 T^2 + c3 T^3 + c4 T^4`` (eq. A6, a fit
  to Ledlow et al. 1992 and Hemingway et al. 1981 data) with
  c0 = -3.6125, c1 = 2.7431, c2 = 2.3616e-3, c3 = -1.2340e-5, c4 = 8.9093e-9
  (J kg^-1 K^-1; valid above ~10 K; clamped to >= 1 J kg^-1 K^-1 below);
* emissivity 0.95; bolometric albedo ``A(i) = A0 + a (i/45deg)^3 + b (i/90deg)^8``
  (Keihm 1984, Icarus 60:568; Hayne 2017 eq. A5), A0 = 0.12, a = 0.06, b = 0.25;
* basal (geothermal) heat flux 0.018 W m^-2 (Hayne 2017 Table A1; Langseth et
  al. 1976, Proc. LSC 7:3143 measured 0.021 and 0.014 W m^-2 at Apollo 15/17);
* surface energy balance ``absorbed(t) - eps sigma T_s^4 + k dT/dz|_0 = 0`` with a
  half-cell of heat capacity at the surface node; solar constant 1361 W m^-2
  (Kopp & Lean 2011, GRL 38:L01706).

Numerics: finite volumes on a geometrically stretched grid; fully implicit
(backward Euler, L-stable, so 1-h steps are stable on mm-thin surface cells)
with Newton iterations on the radiative term. Heat flux is written with the
Kirchhoff variable ``U(T) = int_0^T (1 + chi (T'/350)^3) dT'`` so that the flux
between nodes is ``-k_c (U_{i+1} - U_i)/dz`` - exact for this separable k(T, z).
Spin-up to the periodic state: a periodic solution stores no heat over one
period, so the period-mean flux equals the basal flux at every depth, i.e.
``<U>(z) = <U_s> + int_0^z Q_b / k_c dz`` exactly. After each cycle the profile is
shifted so that every node's cycle-mean U meets that condition; this converges
in a few cycles instead of the decades a deep column needs to relax.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from lupex.constants import SOLAR_CONSTANT_W_M2
from lupex.constants import STEFAN_BOLTZMANN_W_M2_K4 as SIGMA_SB
from lupex.errors import InputError
from lupex.params import check_non_negative, check_positive, check_range, param
from lupex.subsurface.vapor import _sublimation_rate_scalar

SYNODIC_MONTH_S = 29.530589 * 86400.0
T_REF_CHI_K = 350.0


_HAYNE = "Hayne et al. 2017 Table A1 (docs/REFERENCES.md#hayne2017)"


@dataclass(frozen=True)
class RegolithThermalParams:
    """Regolith thermophysical parameters; defaults are Hayne et al. 2017 Table A1."""

    k_s_w_m_k: float = param(7.4e-4, "W/m/K", "contact conductivity at the surface", _HAYNE)
    k_d_w_m_k: float = param(3.4e-3, "W/m/K", "contact conductivity at depth", _HAYNE)
    chi: float = param(2.7, "-", "radiative conductivity parameter: k = k_c (1 + chi (T / 350 K)^3)", _HAYNE)
    rho_s_kg_m3: float = param(1100.0, "kg/m^3", "density at the surface", _HAYNE)
    rho_d_kg_m3: float = param(1800.0, "kg/m^3", "density at depth", _HAYNE)
    h_m: float = param(0.06, "m", "e-folding depth of density and conductivity (H parameter)", _HAYNE)
    cp_coeffs: tuple[float, ...] = param((8.9093e-9, -1.2340e-5, 2.3616e-3, 2.7431, -3.6125), "J/kg/K",
                                         "c_p polynomial coefficients, highest power first (np.polyval order): "
                                         "c4, c3, c2, c1, c0", f"{_HAYNE}, eq. A6")
    emissivity: float = param(0.95, "-", "infrared emissivity", _HAYNE)
    albedo_0: float = param(0.12, "-", "bolometric albedo at normal incidence A0", _HAYNE)
    albedo_a: float = param(0.06, "-", "albedo coefficient a of (i / 45 deg)^3", f"{_HAYNE}; Keihm 1984")
    albedo_b: float = param(0.25, "-", "albedo coefficient b of (i / 90 deg)^8", f"{_HAYNE}; Keihm 1984")
    heat_flux_w_m2: float = param(0.018, "W/m^2", "basal (geothermal) heat flux",
                                  f"{_HAYNE}; Langseth et al. 1976 (docs/REFERENCES.md#langseth1976)")

    def __post_init__(self):
        check_positive(self, "k_s_w_m_k", "k_d_w_m_k", "rho_s_kg_m3", "rho_d_kg_m3", "h_m")
        check_range(self, "emissivity", 0.0, 1.0, lo_open=True)
        check_non_negative(self, "chi", "heat_flux_w_m2")

    def contact_conductivity_w_m_k(self, z_m) -> np.ndarray:
        """Return the contact (radiation-free) conductivity at depth ``z_m`` (W/m/K), Hayne et al. 2017 eq. A3."""
        z = np.asarray(z_m, float)
        return self.k_d_w_m_k - (self.k_d_w_m_k - self.k_s_w_m_k) * np.exp(-z / self.h_m)

    def density_kg_m3(self, z_m) -> np.ndarray:
        """Return the density at depth ``z_m`` (kg/m^3), Hayne et al. 2017 eq. A2."""
        z = np.asarray(z_m, float)
        return self.rho_d_kg_m3 - (self.rho_d_kg_m3 - self.rho_s_kg_m3) * np.exp(-z / self.h_m)

    def heat_capacity_j_kg_k(self, t_k) -> np.ndarray:
        """Return the specific heat at temperature ``t_k`` (J/kg/K), the polynomial ``cp_coeffs`` (Hayne et al. 2017 eq. A6)."""
        return np.maximum(np.polyval(np.asarray(self.cp_coeffs, float), np.asarray(t_k, float)), 1.0)

    def conductivity_w_m_k(self, z_m, t_k) -> np.ndarray:
        """Return the conductivity (W/m/K): contact conductivity times (1 + chi (T / 350 K)^3)."""
        return self.contact_conductivity_w_m_k(z_m) * (1.0 + self.chi * (np.asarray(t_k, float) / T_REF_CHI_K) ** 3)

    def albedo(self, incidence_deg) -> np.ndarray:
        """Return the albedo at solar incidence ``incidence_deg`` (Keihm 1984 form, Hayne et al. 2017 eq. A5)."""
        i = np.clip(np.asarray(incidence_deg, float), 0.0, 90.0)
        return self.albedo_0 + self.albedo_a * (i / 45.0) ** 3 + self.albedo_b * (i / 90.0) ** 8


HAYNE2017 = RegolithThermalParams()


def kirchhoff_u(t_k, chi: float) -> np.ndarray:
    """U(T) = T + chi T^4 / (4 * 350^3): the Kirchhoff transform of 1 + chi (T/350)^3."""
    t = np.asarray(t_k, float)
    return t + chi * t**4 / (4.0 * T_REF_CHI_K**3)


def kirchhoff_t(u, chi: float) -> np.ndarray:
    """Inverse of :func:`kirchhoff_u` (Newton; U is strictly increasing for T > 0)."""
    u = np.asarray(u, float)
    t = u.copy()
    for _ in range(50):
        f = kirchhoff_u(t, chi) - u
        t = t - f / (1.0 + chi * (t / T_REF_CHI_K) ** 3)
        if np.all(np.abs(f) < 1e-10 * np.maximum(1.0, np.abs(u))):
            break
    return t


@dataclass(frozen=True)
class Grid:
    """Node depths (m), z[0] = 0 the surface; finite-volume cell widths derived from them."""

    z_m: np.ndarray

    def __post_init__(self):
        z = np.asarray(self.z_m, float)
        if z.ndim != 1 or z.size < 3 or z[0] != 0.0 or np.any(np.diff(z) <= 0):
            raise InputError("a thermal grid needs >= 3 increasing depths starting at 0 m")

    @property
    def cell_width_m(self) -> np.ndarray:
        """Return the width of each grid cell (m), between the midpoints of its neighbours."""
        z = np.asarray(self.z_m, float)
        edges = np.concatenate([[0.0], 0.5 * (z[1:] + z[:-1]), [z[-1]]])
        return np.diff(edges)


def make_grid(z_max_m: float = 3.0, dz0_m: float = 0.002, growth: float = 1.1) -> Grid:
    """Geometric grid: first spacing ``dz0_m`` (<= diurnal skin depth / 10, Hayne 2017 A.2), growing by ``growth``."""
    if not (z_max_m > 0 and dz0_m > 0 and growth >= 1.0 and dz0_m < z_max_m):
        raise InputError("make_grid needs z_max_m > dz0_m > 0 and growth >= 1")
    z = [0.0]
    dz = dz0_m
    while z[-1] < z_max_m:
        z.append(z[-1] + dz)
        dz *= growth
    return Grid(np.array(z))


def incidence_deg(sun_elevation_deg, sun_azimuth_deg=0.0, slope_deg=0.0, aspect_deg=0.0) -> np.ndarray:
    """Solar incidence angle on a tilted plane (aspect = azimuth the slope faces, downhill).

    cos i = sin e cos s + cos e sin s cos(az_sun - aspect).

    Parameters
    ----------
    sun_elevation_deg : float or array_like
        Sun elevation e, deg.
    sun_azimuth_deg : float or array_like
        Sun azimuth, deg, in the same convention as ``aspect_deg``.
    slope_deg : float or array_like
        Slope s of the plane, deg.
    aspect_deg : float or array_like
        Azimuth the slope faces (downhill), deg.

    Returns
    -------
    np.ndarray
        Incidence angle i, deg, in [0, 180], the broadcast shape of the inputs (> 90: Sun behind the plane).
    """
    e = np.radians(np.asarray(sun_elevation_deg, float))
    s = np.radians(np.asarray(slope_deg, float))
    daz = np.radians(np.asarray(sun_azimuth_deg, float) - np.asarray(aspect_deg, float))
    c = np.sin(e) * np.cos(s) + np.cos(e) * np.sin(s) * np.cos(daz)
    return np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))


def absorbed_flux_w_m2(incidence_deg_, visible_fraction=1.0, *, props: RegolithThermalParams = HAYNE2017,
                       solar_constant_w_m2: float = SOLAR_CONSTANT_W_M2, distance_au=1.0,
                       scattered_w_m2=0.0, scatter_fraction: float = 0.0, sun_elevation_deg=None) -> np.ndarray:
    """Absorbed surface flux: direct sunlight times (1 - A(i)), plus terrain scattering/IR.

    ``visible_fraction`` is the visible fraction of the solar disk (0..1, from the light
    core). ``scattered_w_m2`` adds a fixed absorbed flux (scattered light and thermal IR
    from surrounding terrain); ``scatter_fraction`` adds that fraction of the unobstructed
    insolation on a horizontal plane (needs ``sun_elevation_deg``).

    Direct term ``(1 - A(i)) S cos(i) f`` with the bolometric albedo ``A(i)`` of Keihm 1984 / Hayne et al. 2017
    eq. A5 and S the solar constant of Kopp & Lean 2011 scaled by 1/d^2 (module docstring).

    Parameters
    ----------
    incidence_deg_ : float or array_like
        Solar incidence angle i on the surface, deg (cos clipped at 0 beyond 90 deg).
    visible_fraction : float or array_like
        Visible fraction f of the solar disk, 0..1; broadcasts with ``incidence_deg_``.
    props : RegolithThermalParams
        Regolith properties; their albedo law is used (default Hayne et al. 2017).
    solar_constant_w_m2 : float
        Total solar irradiance at 1 au, W/m^2.
    distance_au : float or array_like
        Sun distance d, au.
    scattered_w_m2 : float or array_like
        Fixed extra absorbed flux (scattered light and IR from the terrain), W/m^2.
    scatter_fraction : float
        Extra absorbed flux as a fraction of the unobstructed insolation on a horizontal plane.
    sun_elevation_deg : float or array_like, optional
        Sun elevation, deg; needed with ``scatter_fraction``.

    Returns
    -------
    np.ndarray
        Absorbed flux, W/m^2, the broadcast shape of the inputs.
    """
    i = np.asarray(incidence_deg_, float)
    v = np.asarray(visible_fraction, float)
    if np.any(~np.isfinite(i)) or np.any(~np.isfinite(v)):
        raise InputError("incidence angles and visible fractions must be finite (no NaN)")
    if np.any(v < 0) or np.any(v > 1):
        raise InputError("visible_fraction must be between 0 and 1")
    s = solar_constant_w_m2 / np.asarray(distance_au, float) ** 2
    direct = (1.0 - props.albedo(i)) * s * np.clip(np.cos(np.radians(i)), 0.0, None) * v
    extra = np.asarray(scattered_w_m2, float)
    if scatter_fraction:
        if sun_elevation_deg is None:
            raise InputError("scatter_fraction needs sun_elevation_deg")
        extra = extra + scatter_fraction * s * np.clip(np.sin(np.radians(np.asarray(sun_elevation_deg, float))), 0, None)
    return direct + extra


# --------------------------------------------------------------------------- kernel


# one numba kernel: backward Euler with Newton per step; splitting it costs a call per time step and iteration
@njit(cache=True)
def _cycle(T, dzc, G, rho, chi, cpc, hpc, emis, qb, flux, tsurf, dirichlet, dt,
           tmin, tmax, tsum, usum, esum, ts_out, record, newton_tol, max_newton):
    """Advance T (in place) through the whole forcing series with backward Euler.

    Accumulates per-node min/max/sum(T)/sum(U)/sum(sublimation rate) and the surface
    temperature series when ``record``; sum(U) is always accumulated.
    """
    n = T.size
    c3 = chi / T_REF_CHI_K**3
    c4 = chi / (4.0 * T_REF_CHI_K**3)
    eps_sig = emis * SIGMA_SB
    told = np.empty(n)
    a = np.empty(n)
    g = np.empty(n)
    u = np.empty(n)
    lo = np.empty(n)
    di = np.empty(n)
    up = np.empty(n)
    rhs = np.empty(n)
    cp_ = np.empty(n)
    dp = np.empty(n)
    hold = np.empty(n)
    hnew = np.empty(n)
    nc = cpc.size
    nh = hpc.size
    for step in range(flux.size):
        for i in range(n):
            told[i] = T[i]
            h = 0.0
            for j in range(nh):
                h = h * T[i] + hpc[j]
            hold[i] = h
        for it in range(max_newton):
            for i in range(n):
                t = T[i]
                cp = 0.0
                for j in range(nc):
                    cp = cp * t + cpc[j]
                if cp < 1.0:
                    cp = 1.0
                cp_[i] = cp
                a[i] = rho[i] * cp * dzc[i] / dt
                h = 0.0
                for j in range(nh):
                    h = h * t + hpc[j]
                # storage as an enthalpy difference: exactly conservative, so a periodic state
                # has a period-mean flux equal to the basal flux at every face
                hnew[i] = rho[i] * dzc[i] / dt * (h - hold[i])
                g[i] = 1.0 + c3 * t * t * t
                u[i] = t + c4 * t * t * t * t
            # surface node
            if dirichlet:
                lo[0] = 0.0
                di[0] = 1.0
                up[0] = 0.0
                rhs[0] = tsurf[step] - T[0]
            else:
                t0 = T[0]
                lo[0] = 0.0
                di[0] = a[0] + 4.0 * eps_sig * t0 * t0 * t0 + G[0] * g[0]
                up[0] = -G[0] * g[1]
                rhs[0] = -(hnew[0] - flux[step] + eps_sig * t0 * t0 * t0 * t0 + G[0] * (u[0] - u[1]))
            for i in range(1, n - 1):
                lo[i] = -G[i - 1] * g[i - 1]
                di[i] = a[i] + (G[i - 1] + G[i]) * g[i]
                up[i] = -G[i] * g[i + 1]
                rhs[i] = -(hnew[i] - G[i - 1] * (u[i - 1] - u[i]) + G[i] * (u[i] - u[i + 1]))
            m = n - 1
            lo[m] = -G[m - 1] * g[m - 1]
            di[m] = a[m] + G[m - 1] * g[m]
            up[m] = 0.0
            rhs[m] = -(hnew[m] - G[m - 1] * (u[m - 1] - u[m]) - qb)
            # Thomas algorithm
            for i in range(1, n):
                w = lo[i] / di[i - 1]
                di[i] -= w * up[i - 1]
                rhs[i] -= w * rhs[i - 1]
            dp[n - 1] = rhs[n - 1] / di[n - 1]
            for i in range(n - 2, -1, -1):
                dp[i] = (rhs[i] - up[i] * dp[i + 1]) / di[i]
            # damped Newton: a sunrise step can ask the surface for a jump of thousands of K
            # from the convex T^4 term; limit any node to a 50 % change per iteration
            damp = 1.0
            for i in range(n):
                lim = 0.5 * T[i]
                if abs(dp[i]) * damp > lim:
                    damp = lim / abs(dp[i])
            dmax = 0.0
            for i in range(n):
                tn = T[i] + damp * dp[i]
                if tn < 1.0:
                    tn = 1.0
                d = abs(tn - T[i])
                if d > dmax:
                    dmax = d
                T[i] = tn
            if dmax < newton_tol:
                break
        for i in range(n):
            t = T[i]
            usum[i] += t + c4 * t * t * t * t
            if record:
                if t < tmin[i]:
                    tmin[i] = t
                if t > tmax[i]:
                    tmax[i] = t
                tsum[i] += t
                esum[i] += _sublimation_rate_scalar(t)
        if record:
            ts_out[step] = T[0]


# --------------------------------------------------------------------------- drivers


@dataclass(frozen=True)
class ThermalResult:
    """Periodic-state temperatures: surface series and per-depth statistics over one period."""

    z_m: np.ndarray
    dt_s: float
    t_surface_k: np.ndarray
    t_min_k: np.ndarray
    t_mean_k: np.ndarray
    t_max_k: np.ndarray
    mean_sublimation_rate_kg_m2_s: np.ndarray
    t_final_k: np.ndarray
    cycles: int
    converged: bool


def _check_series(name, x) -> np.ndarray:
    x = np.ascontiguousarray(np.asarray(x, float).ravel())
    if x.size < 1:
        raise InputError(f"{name} is empty; give a time series with at least one step")
    if not np.all(np.isfinite(x)):
        raise InputError(f"{name} contains NaN or infinite values; fill the gaps before running the thermal model")
    return x


def _setup(props: RegolithThermalParams, grid: Grid):
    z = np.asarray(grid.z_m, float)
    zf = 0.5 * (z[1:] + z[:-1])
    G = props.contact_conductivity_w_m_k(zf) / np.diff(z)
    cpc = np.asarray(props.cp_coeffs, float)
    hpc = np.concatenate([cpc / np.arange(cpc.size, 0, -1), [0.0]])  # int_0^T c_p dT, highest power first
    return (np.ascontiguousarray(grid.cell_width_m), np.ascontiguousarray(G),
            np.ascontiguousarray(props.density_kg_m3(z)), cpc, hpc)


def integrate(t_init_k, absorbed_w_m2, dt_s: float, *, props: RegolithThermalParams = HAYNE2017,
              grid: Grid | None = None, surface_t_k=None, n_repeat: int = 1) -> ThermalResult:
    """Plain time stepping (no spin-up acceleration) from ``t_init_k`` through the series.

    ``surface_t_k`` (same length as the series) switches the surface to a prescribed
    temperature (Dirichlet) instead of the radiative balance. Statistics are over the last
    repetition.

    Backward Euler with Newton iterations on the radiative term, Hayne et al. 2017 appendix A
    (module docstring).

    Parameters
    ----------
    t_init_k : float or array_like, (n_z,)
        Initial temperature at each grid node (or one for all), K (> 0).
    absorbed_w_m2 : array_like, (nt,)
        Absorbed surface flux at the end of each step, W/m^2.
    dt_s : float
        Step length, s (> 0).
    props : RegolithThermalParams
        Regolith thermophysical properties (default Hayne et al. 2017 Table A1).
    grid : Grid, optional
        Depth grid (default :func:`make_grid`).
    surface_t_k : array_like, (nt,), optional
        Prescribed surface temperature per step, K; None: radiative surface balance.
    n_repeat : int
        How many times to run through the series.

    Returns
    -------
    ThermalResult
        (n_z,) node depths, m; the step, s; the surface temperature at the end of each step of the (last)
        period, K; per node the minimum, mean and maximum temperature over it, K, and the mean free-surface
        sublimation rate, kg m^-2 s^-1; the final profile, K; the number of cycles run and whether converged.
    """
    grid = grid or make_grid()
    flux = _check_series("absorbed_w_m2", absorbed_w_m2)
    if not (dt_s > 0 and np.isfinite(dt_s)):
        raise InputError(f"dt_s must be a positive number of seconds, got {dt_s}")
    dirichlet = surface_t_k is not None
    tsurf = _check_series("surface_t_k", surface_t_k) if dirichlet else np.zeros(flux.size)
    if tsurf.size != flux.size:
        raise InputError("surface_t_k must have the same length as absorbed_w_m2")
    n = np.asarray(grid.z_m).size
    T = np.broadcast_to(np.asarray(t_init_k, float), (n,)).astype(float).copy()
    if not np.all(np.isfinite(T)) or np.any(T <= 0):
        raise InputError("initial temperatures must be finite and > 0 K")
    dzc, G, rho, cpc, hpc = _setup(props, grid)
    for rep in range(n_repeat):
        rec = rep == n_repeat - 1
        tmin = np.full(n, np.inf)
        tmax = np.full(n, -np.inf)
        tsum = np.zeros(n)
        usum = np.zeros(n)
        esum = np.zeros(n)
        ts = np.zeros(flux.size)
        _cycle(T, dzc, G, rho, props.chi, cpc, hpc, props.emissivity, props.heat_flux_w_m2, flux, tsurf,
               dirichlet, float(dt_s), tmin, tmax, tsum, usum, esum, ts, rec, 1e-4, 40)
    nt = flux.size
    return ThermalResult(np.asarray(grid.z_m, float), float(dt_s), ts, tmin, tsum / nt, tmax, esum / nt,
                         T.copy(), n_repeat, True)


def periodic_temperatures(absorbed_w_m2, dt_s: float, *, props: RegolithThermalParams = HAYNE2017,
                          grid: Grid | None = None, tol_k: float = 0.05, max_cycles: int = 40) -> ThermalResult:
    """Spin the column up to the periodic state of a forcing series that repeats.

    ``absorbed_w_m2`` is the absorbed surface flux at the end of each step of length
    ``dt_s`` over one full period (e.g. one lunation or one year at 1-h steps; see
    :func:`absorbed_flux_w_m2`). Returns statistics over one period once the
    cycle-to-cycle change of every node is below ``tol_k``.

    After each cycle the profile is shifted so that every node's cycle-mean Kirchhoff variable carries the
    basal flux (module docstring; model of Hayne et al. 2017 appendix A).

    Parameters
    ----------
    absorbed_w_m2 : array_like, (nt,)
        Absorbed surface flux over one period, W/m^2 (>= 0).
    dt_s : float
        Step length, s (> 0).
    props : RegolithThermalParams
        Regolith thermophysical properties (default Hayne et al. 2017 Table A1).
    grid : Grid, optional
        Depth grid (default :func:`make_grid`).
    tol_k : float
        Largest cycle-to-cycle change of any node at convergence, K.
    max_cycles : int
        Most periods run.

    Returns
    -------
    ThermalResult
        (n_z,) node depths, m; the step, s; the surface temperature at the end of each step of the (last)
        period, K; per node the minimum, mean and maximum temperature over it, K, and the mean free-surface
        sublimation rate, kg m^-2 s^-1; the final profile, K; the number of cycles run and whether converged.
    """
    grid = grid or make_grid()
    flux = _check_series("absorbed_w_m2", absorbed_w_m2)
    if np.any(flux < 0):
        raise InputError("absorbed_w_m2 must be >= 0 W/m^2")
    if not (dt_s > 0 and np.isfinite(dt_s)):
        raise InputError(f"dt_s must be a positive number of seconds, got {dt_s}")
    z = np.asarray(grid.z_m, float)
    n = z.size
    dzc, G, rho, cpc, hpc = _setup(props, grid)
    chi, qb, eps_sig = props.chi, props.heat_flux_w_m2, props.emissivity * SIGMA_SB
    # cumulative Q_b * int dz / k_c from the surface node to each node
    geo_u = np.concatenate([[0.0], np.cumsum(qb / G)])
    ts0 = ((flux.mean() + qb) / eps_sig) ** 0.25 * 0.85  # <T> < <T^4>^(1/4); any start converges
    T = kirchhoff_t(kirchhoff_u(ts0, chi) + geo_u, chi)
    tsurf = np.zeros(flux.size)
    nt = flux.size
    converged = False
    for cycle in range(1, max_cycles + 1):
        t_start = T.copy()
        tmin = np.full(n, np.inf)
        tmax = np.full(n, -np.inf)
        tsum = np.zeros(n)
        usum = np.zeros(n)
        esum = np.zeros(n)
        ts = np.zeros(nt)
        _cycle(T, dzc, G, rho, chi, cpc, hpc, props.emissivity, qb, flux, tsurf, False, float(dt_s),
               tmin, tmax, tsum, usum, esum, ts, True, 1e-4, 40)
        change = float(np.max(np.abs(T - t_start)))
        if change < tol_k:
            converged = True
            break
        # mean-flux correction: every node's cycle-mean U must equal <U_0> + Q_b int dz/k_c
        umean = usum / nt
        du = (umean[0] + geo_u) - umean
        du[0] = 0.0
        T = np.maximum(T + du / (1.0 + chi * (T / T_REF_CHI_K) ** 3), 1.0)
    return ThermalResult(z, float(dt_s), ts, tmin, tsum / nt, tmax, esum / nt, T.copy(), cycle, converged)


def skin_depth_m(k_w_m_k: float, rho_kg_m3: float, cp_j_kg_k: float, period_s: float) -> float:
    """Thermal skin depth sqrt(kappa P / pi) (Carslaw & Jaeger 1959, sec. 2.6).

    Parameters
    ----------
    k_w_m_k : float
        Thermal conductivity, W m^-1 K^-1.
    rho_kg_m3 : float
        Density, kg/m^3.
    cp_j_kg_k : float
        Specific heat capacity, J kg^-1 K^-1.
    period_s : float
        Period P of the surface wave, s (e.g. a synodic month).

    Returns
    -------
    float
        Depth at which the wave's amplitude falls by 1/e, m; kappa = k / (rho c_p).
    """
    return math.sqrt(k_w_m_k / (rho_kg_m3 * cp_j_kg_k) * period_s / math.pi)
