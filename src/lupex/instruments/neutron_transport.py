"""Monte Carlo neutron transport in layered regolith.

The leakage spectrum and what a pair of 3He tubes (one Cd-wrapped) counts above it. The nuclear data and
regolith chemistry it reads are :mod:`lupex.instruments.neutron_materials`.

This is the independent physics model behind the neutron spectrometer's
response functions (:mod:`lupex.instruments.neutron`): their thermal curve,
depth kernels, wet-over-dry term, composition factor and thermal/epithermal
rate ratio are fitted to it (``benchmarks/calibrate_neutron.py``), and the
tests re-run it to check them. It is checked against published numbers
the fits do not use (docs/VALIDATION.md): the NSS team's epithermal
calibration, Lunar Prospector's polar depressions, Lawrence et al. 2011's
wet-over-dry sign change, and Voss 1969's laboratory thermal slope.

Geometry and units
------------------
A horizontally infinite half-space of plane layers, vacuum above. Depth is
areal mass z (g/cm^2) and cross sections are per gram (cm^2/g), so bulk
density never enters: a path of s g/cm^2 through any layer has optical depth
Sigma_m s. Neutrons deeper than ``z_max_g_cm2`` (default 1500 g/cm^2, ten
source e-folding lengths) are dropped.

Nuclear data
------------
* Thermal scattering and absorption cross sections of the elements from Sears
  1992 (Neutron News 3(3):26, "Neutron scattering lengths and cross
  sections"), read from the ``periodictable`` package (NIST; ``element.neutron
  .total`` is the bound scattering cross section, ``.absorption`` the 2200 m/s
  absorption). Bound cross sections are turned into free-atom ones by
  sigma_free = sigma_bound (A / (A + 1))^2 (A = atomic mass / neutron mass).
* Absorption follows the 1/v law, sigma_a(E) = sigma_a0 sqrt(0.0253 eV / E),
  at all energies (resonance capture above thermal, e.g. in Fe, Mn, Sm, Gd, is
  left out).
* Hydrogen's elastic cross section at all energies from the n-p effective
  range expansion (Blatt & Weisskopf 1952, Theoretical Nuclear Physics, ch. 2):
  sigma = 3 pi / (k^2 + (-1/a_t + r_t k^2/2)^2) + pi / (k^2 + (-1/a_s + r_s k^2/2)^2),
  k^2 = m_n E / (2 hbar^2) (centre-of-mass wave number), a_t = 5.424 fm,
  r_t = 1.759 fm, a_s = -23.74 fm, r_s = 2.75 fm (Dumbrajs et al. 1983, Nucl.
  Phys. A 216:277): 20.48 b at low energy (Sears' free value 20.49 b), 4.26 b at
  1 MeV (the ENDF/B value is 4.26 b).
* Other elements keep their low-energy free-atom scattering cross section at
  all energies: the resonance structure above ~100 keV and inelastic
  scattering above ~1 MeV are left out. Scattering is elastic and isotropic in
  the centre-of-mass frame.
* Thermal motion: below 400 kT/A... (the MCNP convention, 400 kT) the target's
  velocity is drawn from the free gas at the regolith temperature with the
  constant-cross-section rejection method (Lux & Koblinger 1991, Monte Carlo
  Particle Transport Methods, sec. 5.3; as in MCNP and OpenMC), and the
  collision rate uses the free-gas effective cross section
  sigma F(y), F(y) = (1 + 1/(2 y^2)) erf(y) + exp(-y^2)/(y sqrt(pi)),
  y = sqrt(A E / kT). Chemical binding (the S(alpha, beta) of H in ice or
  minerals) is not modelled.

Source
------
Cosmic-ray secondary neutrons are born isotropically with an evaporation
spectrum N(E) ~ E exp(-E / Theta) (Weisskopf 1937, Phys. Rev. 52:295),
Theta = 1 MeV, at depths distributed as

    S(z) ~ exp(-z / Lambda) - exp(-z (1/Lambda + 1/b)),

a production that builds up over b below the surface, peaks at
b ln(1 + Lambda/b) and falls off with Lambda = 160 g/cm^2, the attenuation
length of the nucleon cascade in rock (Lal 1991, EPSL 104:424). That lunar
production rises to a broad maximum within the top ~100 g/cm^2 is
Lingenfelter et al. 1972 (EPSL 16:355); the build-up length b is the one
constant fitted: to the NSS team's uniform-WEH calibration, by
:mod:`lupex.instruments.neutron_calibration` (b = 39.85 g/cm^2, peak at
64 g/cm^2). Without the build-up (b = 0, a source peaked at the surface) the
hydrogen response is ~0.7x the NSS calibration's; Theta hardly matters
(0.5-2 MeV change the 1 wt% epithermal ratio by < 2 %).

Tallies and detector
--------------------
Each escaping neutron adds weight/mu to the scalar flux at the surface (mu its
direction cosine, clamped at 0.05; over an infinite plane the flux is the same
at any height). Two identical 3He tubes count it with efficiency
1 - exp(-tau0 sqrt(0.0253 eV / E)) (the 3He(n,p) cross section is 1/v; tau0
is the tube's optical thickness at 2200 m/s along its mean chord). One is
wrapped in cadmium, modelled as a sharp cut-off at 0.5 eV (the NSS epithermal
band, docs/REFERENCES.md#nss); the other is bare. Epithermal = Cd tube, thermal = bare
minus Cd tube, as the NSS team defines its channels.

Variance reduction: implicit capture (the weight is multiplied by the
scattering probability at each collision) with Russian roulette below weight
0.05. Random numbers: xoshiro256+ streams, one per chunk of histories, seeded
by splitmix64 from (seed, chunk), so results do not depend on threading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numba as nb
import numpy as np
from scipy.special import erf

from lupex.errors import InputError
from lupex.instruments.neutron_materials import (  # noqa: F401  (moved there; still importable from here)
    BARN_CM2,
    CD_CUTOFF_EV,
    E_2200_EV,
    ELEMENTS,
    GD_PPM_DEFAULT,
    H_INDEX,
    HBAR_C_MEV_FM,
    K_B_EV,
    MASS_RATIO,
    MASS_U,
    MN_C2_MEV,
    NEUTRON_MASS_U,
    NP_AS,
    NP_AT,
    NP_RS,
    NP_RT,
    OXIDES_A11,
    OXIDES_A16,
    SIGMA_A_2200_B,
    SIGMA_S_FREE_B,
    SM_PPM_DEFAULT,
    atoms_per_gram,
    element_mass_fractions,
    macroscopic_absorption_cm2_g,
    np_cross_section_b,
    oxides_for,
)

# ------------------------------------------------------------------ numerics

@nb.njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@nb.njit(cache=True)
def _splitmix(x):
    x = x + np.uint64(0x9E3779B97F4A7C15)
    z = x
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x, z ^ (z >> np.uint64(31))


@nb.njit(cache=True)
def _seed_state(seed, stream):
    s = np.empty(4, np.uint64)
    x = np.uint64(seed) * np.uint64(0x100000001B3) + np.uint64(stream)
    for i in range(4):
        x, s[i] = _splitmix(x)
    return s


@nb.njit(cache=True, inline="always")
def _uniform(s):
    """xoshiro256+ step, a double in (0, 1)."""
    result = s[0] + s[3]
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return ((result >> np.uint64(11)) + np.uint64(1)) * (1.0 / 9007199254740994.0)


@nb.njit(cache=True, inline="always")
def _np_sigma(e_ev):
    k2 = MN_C2_MEV * (e_ev * 1e-6) / (2.0 * HBAR_C_MEV_FM * HBAR_C_MEV_FM)
    dt = -1.0 / NP_AT + 0.5 * NP_RT * k2
    ds = -1.0 / NP_AS + 0.5 * NP_RS * k2
    return (3.0 * math.pi / (k2 + dt * dt) + math.pi / (k2 + ds * ds)) * 0.01


@nb.njit(cache=True)
def _xs(e, k, nh, heavy, sa0, kt, th_loge0, th_dloge, th_ss):
    """Macroscopic scattering and absorption per gram in layer k at energy e (eV).

    Above 400 kT only H's cross section varies with energy; below it the free-gas scattering is read from the
    layer's table.
    """
    sa = sa0[k] * math.sqrt(E_2200_EV / e) * BARN_CM2
    if e >= 400.0 * kt:
        return (heavy[k] + nh[k] * _np_sigma(e)) * BARN_CM2, sa
    x = (math.log(e) - th_loge0) / th_dloge
    n = th_ss.shape[1]
    if x <= 0.0:
        return th_ss[k, 0] * BARN_CM2, sa
    i = int(x)
    if i >= n - 1:
        return th_ss[k, n - 1] * BARN_CM2, sa
    f = x - i
    return (th_ss[k, i] * (1.0 - f) + th_ss[k, i + 1] * f) * BARN_CM2, sa


@nb.njit(cache=True)
def _isotropic(s):
    w = 2.0 * _uniform(s) - 1.0
    phi = 2.0 * math.pi * _uniform(s)
    r = math.sqrt(max(0.0, 1.0 - w * w))
    return r * math.cos(phi), r * math.sin(phi), w


@nb.njit(cache=True)
def _target_speed(s, y):
    """X = beta v_T of the struck nucleus and the cosine between it and the neutron.

    Free gas, constant cross section: Lux & Koblinger 1991 sec. 5.3.
    """
    p1 = 2.0 / (2.0 + math.sqrt(math.pi) * y)
    while True:
        if _uniform(s) < p1:
            x = math.sqrt(-math.log(_uniform(s) * _uniform(s)))
        else:
            c = math.cos(0.5 * math.pi * _uniform(s))
            x = math.sqrt(-math.log(_uniform(s)) - math.log(_uniform(s)) * c * c)
        mu = 2.0 * _uniform(s) - 1.0
        vrel = math.sqrt(max(y * y + x * x - 2.0 * x * y * mu, 0.0))
        if _uniform(s) * (x + y) < vrel:
            return x, mu


@nb.njit(cache=True)
def _scatter(s, e, u, v, w, a, kt):
    """Elastic, isotropic in the centre of mass, off a nucleus of mass ratio ``a``. Returns (E', u', v', w')."""
    # neutron velocity in units where |v_n| = sqrt(E)
    vn = math.sqrt(e)
    vx, vy, vz = vn * u, vn * v, vn * w
    tx = ty = tz = 0.0
    if e < 400.0 * kt:
        y = math.sqrt(a * e / kt)
        x, mu = _target_speed(s, y)
        vt = x * math.sqrt(kt / a)          # same units (sqrt of energy per neutron mass)
        # direction of the target at cosine mu to the neutron's
        ou, ov, ow = _rotate(s, u, v, w, mu)
        tx, ty, tz = vt * ou, vt * ov, vt * ow
    cx = (vx + a * tx) / (1.0 + a)
    cy = (vy + a * ty) / (1.0 + a)
    cz = (vz + a * tz) / (1.0 + a)
    rx, ry, rz = vx - cx, vy - cy, vz - cz
    r = math.sqrt(rx * rx + ry * ry + rz * rz)
    du, dv, dw = _isotropic(s)
    nx, ny, nz = cx + r * du, cy + r * dv, cz + r * dw
    e2 = nx * nx + ny * ny + nz * nz
    n = math.sqrt(e2)
    return e2, nx / n, ny / n, nz / n


@nb.njit(cache=True)
def _rotate(s, u, v, w, mu):
    """A direction at cosine ``mu`` to (u, v, w), uniform in azimuth."""
    phi = 2.0 * math.pi * _uniform(s)
    sn = math.sqrt(max(0.0, 1.0 - mu * mu))
    c, d = math.cos(phi), math.sin(phi)
    if abs(w) > 0.99999:
        return sn * c, sn * d, mu * (1.0 if w > 0 else -1.0)
    t = math.sqrt(1.0 - w * w)
    nu = mu * u + sn * (u * w * c - v * d) / t
    nv = mu * v + sn * (v * w * c + u * d) / t
    nw = mu * w - sn * c * t
    return nu, nv, nw


@nb.njit(cache=True)
def _pick(cum, u):
    j = 0
    n = cum.shape[0]
    while j < n - 1 and cum[j] < u:
        j += 1
    return j


# one numba kernel: each history's flight-collide loop; splitting it costs a call per collision
@nb.njit(cache=True)
def _history_chunk(n, seed, stream, edges, nh, heavy, sa0, heavy_cum, th_ss, th_cum, th_loge0, th_dloge, aratio,
                   kt, src_lambda, src_buildup, src_theta_ev, z_max, tau0, e_cd, log_e_lo, dlog_e, n_ebins,
                   n_mubins, tally, spec, ang):
    s = _seed_state(seed, stream)
    nl = nh.shape[0]
    nth = th_ss.shape[1]
    src_norm = 1.0 - math.exp(-z_max / src_lambda)
    lam2 = 1.0 / (1.0 / src_lambda + 1.0 / src_buildup) if src_buildup > 0.0 else 0.0
    for _ in range(n):
        # source: depth ~ exp(-z/Lambda) - exp(-z/lam2) (the sum of two exponential variates) truncated at
        # z_max; energy ~ Gamma(2, Theta); isotropic
        if lam2 > 0.0:
            z = z_max
            while z >= z_max:
                z = -src_lambda * math.log(_uniform(s)) - lam2 * math.log(_uniform(s))
        else:
            z = -src_lambda * math.log(1.0 - _uniform(s) * src_norm)
        e = -src_theta_ev * math.log(_uniform(s) * _uniform(s))
        u, v, w = _isotropic(s)
        wt = 1.0
        k = 0
        while k < nl - 1 and z >= edges[k + 1]:
            k += 1
        while True:
            ss, sa = _xs(e, k, nh, heavy, sa0, kt, th_loge0, th_dloge, th_ss)
            st = ss + sa
            tau = -math.log(_uniform(s))
            escaped = False
            lost = False
            while True:
                if w > 0.0:
                    bound = edges[k + 1]
                    dist = (bound - z) / w
                elif w < 0.0:
                    bound = edges[k]
                    dist = (bound - z) / w
                else:
                    dist = 1e300
                if tau < st * dist:
                    z += w * tau / st
                    break
                tau -= st * dist
                z = bound
                if w > 0.0:
                    if k == nl - 1:
                        lost = True
                        break
                    k += 1
                else:
                    if k == 0:
                        escaped = True
                        break
                    k -= 1
                ss, sa = _xs(e, k, nh, heavy, sa0, kt, th_loge0, th_dloge, th_ss)
                st = ss + sa
            if lost:
                break
            if escaped:
                mu = max(-w, 0.05)
                f = wt / mu
                eff = 1.0 - math.exp(-tau0 * math.sqrt(E_2200_EV / e))
                tally[0] += f * eff                     # bare tube
                if e > e_cd:
                    tally[1] += f * eff                 # Cd-wrapped tube
                tally[2] += wt                          # leakage current
                tally[3] += f                           # surface flux
                b = int((math.log(e) - log_e_lo) / dlog_e)
                if 0 <= b < n_ebins:
                    spec[b] += f
                mb = int(-w * n_mubins)
                if mb >= n_mubins:
                    mb = n_mubins - 1
                ang[0 if e > e_cd else 1, mb] += wt
                break
            # collision: implicit capture (Russian roulette below weight 0.05), then pick the nucleus
            wt *= ss / st
            if wt < 0.05:
                if _uniform(s) < wt / 0.5:
                    wt = 0.5
                else:
                    break
            r = _uniform(s)
            if e >= 400.0 * kt:
                ph = nh[k] * _np_sigma(e) * BARN_CM2 / ss
                if r < ph:
                    j = 0
                else:
                    j = 1 + _pick(heavy_cum[k], (r - ph) / (1.0 - ph))
            else:
                i = int((math.log(e) - th_loge0) / th_dloge + 0.5)
                i = min(max(i, 0), nth - 1)
                j = _pick(th_cum[k, i], r)
            e, u, v, w = _scatter(s, e, u, v, w, aratio[j], kt)


@nb.njit(parallel=True, cache=True)
def _run(n_chunks, per_chunk, seed, edges, nh, heavy, sa0, heavy_cum, th_ss, th_cum, th_loge0, th_dloge, aratio,
         kt, src_lambda, src_buildup, src_theta_ev, z_max, tau0, e_cd, log_e_lo, dlog_e, n_ebins, n_mubins):
    tally = np.zeros((n_chunks, 4))
    spec = np.zeros((n_chunks, n_ebins))
    ang = np.zeros((n_chunks, 2, n_mubins))
    for c in nb.prange(n_chunks):
        _history_chunk(per_chunk, seed, c, edges, nh, heavy, sa0, heavy_cum, th_ss, th_cum, th_loge0, th_dloge,
                       aratio, kt, src_lambda, src_buildup, src_theta_ev, z_max, tau0, e_cd, log_e_lo, dlog_e,
                       n_ebins, n_mubins, tally[c], spec[c], ang[c])
    return tally, spec, ang


def free_gas_factor(y):
    """Free-gas effective cross section over the nucleus-at-rest one for constant sigma.

    F(y) = (1 + 1/(2 y^2)) erf(y) + exp(-y^2) / (y sqrt(pi)), y = sqrt(A E / kT).
    """
    y = np.asarray(y, float)
    return (1.0 + 0.5 / y ** 2) * erf(y) + np.exp(-y ** 2) / (y * np.sqrt(np.pi))


def _layer_tables(natoms, kt, n_th=1024):
    """Per-layer constants of the kernel.

    H density, heavy-element scattering, absorption at 2200 m/s, the heavy elements' cumulative selection
    probabilities, and the free-gas tables below 400 kT.
    """
    nh = natoms[:, H_INDEX].copy()
    hv = natoms * SIGMA_S_FREE_B
    hv[:, H_INDEX] = 0.0
    heavy = hv.sum(axis=1)
    sa0 = natoms @ SIGMA_A_2200_B
    heavy_cum = np.cumsum(hv[:, 1:], axis=1) / heavy[:, None]
    heavy_cum[:, -1] = 1.0
    loge0 = math.log(1e-6)
    dloge = (math.log(400.0 * kt) - loge0) / (n_th - 1)
    e = np.exp(loge0 + dloge * np.arange(n_th))
    sig = np.tile(SIGMA_S_FREE_B, (n_th, 1))
    sig[:, H_INDEX] = np_cross_section_b(e)
    sig = sig * free_gas_factor(np.sqrt(MASS_RATIO[None, :] * e[:, None] / kt))
    per = natoms[:, None, :] * sig[None, :, :]               # (layer, energy, element)
    th_ss = per.sum(axis=2)
    th_cum = np.cumsum(per, axis=2) / th_ss[:, :, None]
    th_cum[:, :, -1] = 1.0
    return nh, heavy, sa0, np.ascontiguousarray(heavy_cum), th_ss, np.ascontiguousarray(th_cum), loge0, dloge


# ------------------------------------------------------------------- public

BUILDUP_G_CM2 = 39.85     # fitted to the NSS calibration by lupex.instruments.neutron_calibration


@dataclass(frozen=True)
class Source:
    """Cosmic-ray neutron source (module docstring).

    Evaporation temperature (MeV), attenuation length of the production profile and its build-up length (g/cm^2; 0
    for none). The build-up default is the value fitted to the NSS calibration
    (``lupex.instruments.neutron_calibration``).
    """

    theta_mev: float = 1.0
    attenuation_g_cm2: float = 160.0
    buildup_g_cm2: float = BUILDUP_G_CM2


@dataclass(frozen=True)
class Detector:
    """Two identical 3He tubes, one Cd-wrapped.

    ``tau0`` is the tube's optical thickness for 2200 m/s neutrons along its mean chord: n sigma_0 (pi d / 4) = 5.3
    for a 10 atm, 5 cm tube (sigma_0 = 5333 b, the 3He(n,p) thermal cross section, Sears 1992) -- a stand-in for the
    NSS tubes, whose fill and size were not checked against the instrument paper.
    """

    tau0: float = 5.3
    cd_cutoff_ev: float = CD_CUTOFF_EV


@dataclass(frozen=True)
class LeakageResult:
    """What :func:`simulate_leakage` tallies, per source neutron: tube counts, escaping current, spectra."""

    histories: int
    epithermal: float            # Cd-tube counts per source neutron (relative units)
    thermal: float               # bare minus Cd tube
    bare: float
    current: float               # escaping neutrons per source neutron
    flux: float
    epithermal_sigma: float      # 1-sigma statistical error of each, from the spread over chunks
    thermal_sigma: float
    energy_edges_ev: np.ndarray
    flux_spectrum: np.ndarray    # surface flux per source neutron in each energy bin
    mu_edges: np.ndarray
    current_by_mu: np.ndarray    # (2, nmu): epithermal, thermal escaping weight per cosine bin


@dataclass(frozen=True)
class Slab:
    """A layer ``thickness_g_cm2`` thick of regolith with the given WEH and composition.

    The last layer of a column is a half-space: its thickness is ignored.
    """

    thickness_g_cm2: float
    weh_wt_pct: float = 0.0
    feo_tio2_wt_pct: float = 6.0
    sm_ppm: float = SM_PPM_DEFAULT
    gd_ppm: float = GD_PPM_DEFAULT
    extra: dict = field(default_factory=dict)


def simulate_leakage(layers, histories: int = 200_000, seed: int = 0, temperature_k: float = 150.0,
                     source: Source = Source(), detector: Detector = Detector(), z_max_g_cm2: float = 1500.0,
                     chunks: int = 64) -> LeakageResult:
    """Leakage and tube counts per source neutron, by transporting ``histories`` neutrons through ``layers``.

    ``layers``: a list of :class:`Slab`, top first; the last is a half-space. Tallies what escapes and what the
    two tubes count. The physics (Sears 1992 cross sections, the n-p effective-range expansion, free-gas
    thermalisation, 1/v absorption, the evaporation source of Weisskopf 1937 with Lal 1991's attenuation) is in the
    module docstring.

    Parameters
    ----------
    layers : sequence of Slab
        The column, top first; every layer but the last has a positive thickness (g/cm^2), the last is a half-space.
    histories : int
        Source neutrons to transport (count, >= ``chunks``); rounded up to a multiple of ``chunks``.
    seed : int
        Random seed (its low 32 bits); one xoshiro256+ stream per chunk, so equal seeds give equal results.
    temperature_k : float
        Regolith temperature of the free-gas thermalisation, K in [10, 1000].
    source : Source
        Cosmic-ray source: evaporation temperature (MeV), attenuation and build-up lengths (g/cm^2).
    detector : Detector
        3He tube optical thickness at 2200 m/s and the Cd cut-off (eV).
    z_max_g_cm2 : float
        Depth below which neutrons are dropped, g/cm^2; must lie below the last layer's top.
    chunks : int
        Independent batches of histories (parallel work units and the spread behind the 1-sigma errors).

    Returns
    -------
    LeakageResult
        Tallies per source neutron and their 1-sigma statistical errors (from the spread over chunks).
    """
    if not layers:
        raise InputError("give at least one layer")
    if not (isinstance(histories, (int, np.integer)) and histories >= chunks > 0):
        raise InputError(f"histories must be an integer >= chunks ({chunks}), got {histories!r}")
    if not (np.isfinite(temperature_k) and 10.0 <= temperature_k <= 1000.0):
        raise InputError(f"temperature_k must be within [10, 1000] K, got {temperature_k!r}")
    tops = [0.0]
    for lay in layers[:-1]:
        t = float(lay.thickness_g_cm2)
        if not (np.isfinite(t) and t > 0):
            raise InputError(f"layer thickness must be positive (g/cm^2), got {lay.thickness_g_cm2!r}")
        tops.append(tops[-1] + t)
    edges = np.array(tops + [z_max_g_cm2], float)
    if edges[-2] >= z_max_g_cm2:
        raise InputError("the layers above the half-space reach below z_max_g_cm2")
    natoms = np.array([atoms_per_gram(element_mass_fractions(l.feo_tio2_wt_pct, l.weh_wt_pct, l.sm_ppm, l.gd_ppm))
                       for l in layers])
    per = -(-int(histories) // chunks)
    e_lo, e_hi, nb_e = 1e-4, 2e7, 216
    dlog = (math.log(e_hi) - math.log(e_lo)) / nb_e
    nmu = 20
    kt = K_B_EV * temperature_k
    nh, heavy, sa0, heavy_cum, th_ss, th_cum, loge0, dloge = _layer_tables(natoms, kt)
    tally, spec, ang = _run(chunks, per, int(seed) & 0xFFFFFFFF, edges, nh, heavy, sa0, heavy_cum, th_ss, th_cum,
                            loge0, dloge, MASS_RATIO, kt, float(source.attenuation_g_cm2), float(source.buildup_g_cm2),
                            float(source.theta_mev) * 1e6, float(z_max_g_cm2), float(detector.tau0),
                            float(detector.cd_cutoff_ev), math.log(e_lo), dlog, nb_e, nmu)
    n = chunks * per
    tot = tally.sum(axis=0) / n
    per_chunk = tally / per
    th = per_chunk[:, 0] - per_chunk[:, 1]
    return LeakageResult(
        histories=n, epithermal=float(tot[1]), thermal=float(tot[0] - tot[1]), bare=float(tot[0]),
        current=float(tot[2]), flux=float(tot[3]),
        epithermal_sigma=float(per_chunk[:, 1].std(ddof=1) / math.sqrt(chunks)),
        thermal_sigma=float(th.std(ddof=1) / math.sqrt(chunks)),
        energy_edges_ev=np.exp(math.log(e_lo) + dlog * np.arange(nb_e + 1)),
        flux_spectrum=spec.sum(axis=0) / n, mu_edges=np.linspace(0.0, 1.0, nmu + 1),
        current_by_mu=ang.sum(axis=0) / n)
