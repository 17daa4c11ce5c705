"""GPR velocity models: two-way time <-> depth, and what the ice-table amplitude needs above it.

A retrieval converts a reflection's two-way time below the surface echo to a
depth through the permittivity above it. Two models:

- **constant**: one eps' for the whole column above the reflector, from
  hyperbola fits or from the Chang'E-4 LPR prior (2.64-3.85, docs/REFERENCES.md#chang-e4-lpr).
- **density profile**: eps'(z) = s * 1.919^rho(z), the Olhoeft & Strangway
  (1975) relation applied to a published dry-density profile (Carrier et al.
  1991 eq. 9.6, or Hayne et al. 2017 eq. A2; :mod:`lupex.subsurface.regolith`),
  with a scale s = 1 +- sigma_s. Regolith loosens towards the surface (Carrier:
  1.30 g/cm^3 at 0, 1.65 at 0.3 m), so eps' grows with depth (2.33 to 3.00) and
  the time-averaged eps' above a reflector at 0.3 m is 2.76: a constant 3.25
  reads that depth 8 % too shallow.

  The prior's sigma_s is the published scatter of the relation: Strangway,
  Pearce & Olhoeft (1977, NASA Soviet-American Conf. on Cosmochemistry of the
  Moon and Planets; NTRS 19780005009) give K = (1.93 +- 0.17)^rho, a relative
  error rho * 0.17 / 1.93 in eps' (14.6 % at the Carrier mean 1.66 g/cm^3 of the
  top 0.6 m), combined in quadrature with the +-0.05 g/cm^3 of Carrier et al.
  1991 Table 9.4's depth-averaged densities (ln 1.919 * 0.05 = 3.3 %):
  sigma_s = 0.150.

With hyperbola fits the scale is measured: a fit's eps' is the time-averaged
eps' down to its apex, so s_i = eps'_fit / <eps'_p>(apex); the s_i are
combined like constant eps' values (:func:`lupex.instruments.gpr_retrieval.combine_eps`).

Depth from one-way time tau: tau(z) = sqrt(s) tau_p(z), tau_p = integral_0^z
sqrt(eps'_p)/c, inverted by interpolation on a 1 mm grid. Its sensitivities:
dz/dtau = c / n(z), dz/ds = -tau(z) / (2 s tau'(z)) (for constant eps' this is
the familiar -z/(2 eps')). The paraxial spreading length (Newman 1973) needs
integral dz/n and the attenuation integral alpha dz with the Olhoeft & Strangway loss
tangent at each depth's density; both match :mod:`lupex.instruments.gpr_forward`
for a column on the same profile.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from lupex.errors import InputError
from lupex.instruments.gpr_dielectric import (
    C_M_S,
    OLHOEFT_BASE,
    attenuation_np_m,
    check_permittivity,
    density_from_dry_permittivity,
    dry_loss_tangent,
)
from lupex.subsurface import regolith

OLHOEFT_BASE_SIGMA = 0.17           # Strangway, Pearce & Olhoeft 1977: K = (1.93 +- 0.17)^rho
OLHOEFT_BASE_1977 = 1.93
CARRIER_DENSITY_SIGMA_G_CM3 = 0.05  # Carrier et al. 1991 Table 9.4
PROFILE_MEAN_DENSITY_G_CM3 = 1.66   # Carrier et al. 1991 Table 9.4, 0-60 cm
PROFILE_SCALE_SIGMA = float(np.hypot(PROFILE_MEAN_DENSITY_G_CM3 * OLHOEFT_BASE_SIGMA / OLHOEFT_BASE_1977,
                                     np.log(OLHOEFT_BASE) * CARRIER_DENSITY_SIGMA_G_CM3))
VELOCITY_MODELS = ("constant", "carrier", "hayne")
_DZ = 1e-3
_Z_MAX = 20.0


@dataclass(frozen=True)
class VelocityModel:
    """eps'(z) above the reflectors.

    It is ``scale`` alone (``profile="constant"``), or ``scale`` times 1.919^rho(z) of the named density
    profile. ``scale_sigma`` is the 1-sigma of ``scale``;
    ``source`` says where the scale came from.
    """

    profile: str = "constant"
    scale: float = 3.25
    scale_sigma: float = 0.31
    source: str = "prior"
    _grid: tuple = field(default=(), repr=False, compare=False)

    def __post_init__(self):
        if self.profile not in VELOCITY_MODELS:
            raise InputError(f"velocity model must be one of {VELOCITY_MODELS}, got {self.profile!r}")
        if not (np.isfinite(self.scale) and self.scale > 0 and np.isfinite(self.scale_sigma) and self.scale_sigma >= 0):
            raise InputError(f"velocity model scale must be > 0 with a sigma >= 0, got {self.scale} +- {self.scale_sigma}")
        if self.profile == "constant":
            check_permittivity(self.scale)
        elif not self._grid:
            z = np.arange(0.0, _Z_MAX + _DZ / 2, _DZ)
            rho = regolith.density_kg_m3(z, self.profile)
            eps_p = OLHOEFT_BASE ** (rho / 1000.0)
            n = np.sqrt(eps_p)
            mid = 0.5 * (n[1:] + n[:-1]) * _DZ
            tau_p = np.concatenate([[0.0], np.cumsum(mid)]) / C_M_S
            inv_n = np.concatenate([[0.0], np.cumsum(0.5 * (1 / n[1:] + 1 / n[:-1]) * _DZ)])
            object.__setattr__(self, "_grid", (z, eps_p, tau_p, inv_n, rho))

    @classmethod
    def prior(cls, profile: str = "carrier", eps_prior=(3.25, 0.31)) -> "VelocityModel":
        """The prior model, before any hyperbola fit.

        Constant ``eps_prior`` (mean, sigma), or the named density profile with scale 1 +-
        :data:`PROFILE_SCALE_SIGMA`.
        """
        if profile == "constant":
            return cls("constant", float(eps_prior[0]), float(eps_prior[1]), "prior (no usable diffraction hyperbola)")
        return cls(profile, 1.0, PROFILE_SCALE_SIGMA,
                   f"prior: {profile} density profile, Olhoeft & Strangway eps' (no usable diffraction hyperbola)")

    def scaled(self, scale: float, scale_sigma: float | None = None, source: str | None = None) -> "VelocityModel":
        """The same model with a new ``scale`` (and, when given, ``scale_sigma`` and ``source``)."""
        return replace(self, scale=float(scale), scale_sigma=self.scale_sigma if scale_sigma is None else float(scale_sigma),
                       source=self.source if source is None else source)

    def _z(self, depth_m):
        z = np.asarray(depth_m, float)
        if self.profile != "constant" and np.any(np.nan_to_num(z) > _Z_MAX):
            raise InputError(f"depth beyond the velocity model's {_Z_MAX} m grid")
        return np.maximum(np.nan_to_num(z), 0.0)

    def eps_at(self, depth_m) -> np.ndarray:
        """Local eps' at depth."""
        if self.profile == "constant":
            return np.full(np.shape(depth_m), self.scale)
        z, eps_p, _, _, _ = self._grid
        return self.scale * np.interp(self._z(depth_m), z, eps_p)

    def one_way_time_s(self, depth_m) -> np.ndarray:
        """integral_0^z sqrt(eps') / c."""
        if self.profile == "constant":
            return self._z(depth_m) * np.sqrt(self.scale) / C_M_S
        z, _, tau_p, _, _ = self._grid
        return np.sqrt(self.scale) * np.interp(self._z(depth_m), z, tau_p)

    def mean_eps(self, depth_m) -> np.ndarray:
        """Time-averaged eps' above ``depth_m``, (c tau / z)^2: what a hyperbola or a known depth measures."""
        z = np.maximum(self._z(depth_m), 1e-6)
        if self.profile == "constant":
            return np.full(np.shape(z), self.scale)
        return (C_M_S * self.one_way_time_s(z) / z) ** 2

    def depth_m(self, two_way_time_s) -> np.ndarray:
        """Depth of a reflector ``two_way_time_s`` below the surface echo (NaN stays NaN)."""
        t = np.asarray(two_way_time_s, float)
        if self.profile == "constant":
            return C_M_S / np.sqrt(self.scale) * t / 2
        z, _, tau_p, _, _ = self._grid
        tau = t / 2 / np.sqrt(self.scale)
        if np.any(tau[np.isfinite(tau)] > tau_p[-1]):
            raise InputError(f"two-way time beyond the velocity model's {_Z_MAX} m grid")
        return np.where(np.isfinite(t), np.interp(np.maximum(np.nan_to_num(tau), 0.0), tau_p, z), np.nan)

    def depth_sigma_m(self, two_way_time_s, two_way_time_sigma_s) -> np.ndarray:
        """1-sigma depth from the scale's sigma and the timing sigma (first order)."""
        z = self.depth_m(two_way_time_s)
        dtau_dz = np.sqrt(self.eps_at(z)) / C_M_S
        dz_ds = -self.one_way_time_s(z) / (2 * self.scale * dtau_dz)
        dz_dt = 1 / (2 * dtau_dz)
        return np.hypot(dz_ds * self.scale_sigma, dz_dt * np.asarray(two_way_time_sigma_s, float))

    def inverse_n_integral_m(self, depth_m) -> np.ndarray:
        """integral_0^z dz / sqrt(eps'): the ground's share of the paraxial spreading length."""
        if self.profile == "constant":
            return self._z(depth_m) / np.sqrt(self.scale)
        z, _, _, inv_n, _ = self._grid
        return np.interp(self._z(depth_m), z, inv_n) / np.sqrt(self.scale)

    def density_kg_m3(self, depth_m) -> np.ndarray:
        """Dry density at depth, kg/m^3.

        It is the profile's (its scale is the permittivity relation's, not the
        density's: Strangway et al. 1977's +-0.17 is a scatter of eps' at a given density), or the
        density that a constant eps' implies through Olhoeft & Strangway inverted.
        """
        if self.profile == "constant":
            return np.full(np.shape(depth_m), float(density_from_dry_permittivity(self.scale)))
        z, _, _, _, rho = self._grid
        return np.interp(self._z(depth_m), z, rho)

    @property
    def density_sigma_kg_m3(self) -> float:
        """1-sigma of :meth:`density_kg_m3` beyond what the scale carries, kg/m^3.

        Carrier et al. 1991 Table 9.4's +-0.05 g/cm^3 for a profile, 0 for a constant eps' (its density moves
        with the scale).
        """
        return 0.0 if self.profile == "constant" else 1000.0 * CARRIER_DENSITY_SIGMA_G_CM3

    def attenuation_integral(self, depth_m, feo_tio2_wt_pct: float, frequency_hz: float) -> np.ndarray:
        """integral_0^z alpha dz (nepers), dry regolith at :meth:`density_kg_m3`."""
        if self.profile == "constant":
            rho = density_from_dry_permittivity(self.scale)
            return self._z(depth_m) * attenuation_np_m(self.scale, dry_loss_tangent(rho, feo_tio2_wt_pct), frequency_hz)
        z, eps_p, _, _, rho = self._grid
        a = attenuation_np_m(self.scale * eps_p, dry_loss_tangent(rho, feo_tio2_wt_pct), frequency_hz)
        cum = np.concatenate([[0.0], np.cumsum(0.5 * (a[1:] + a[:-1]) * _DZ)])
        return np.interp(self._z(depth_m), z, cum)

    def describe(self) -> str:
        """The model in words, with its scale and sigma."""
        if self.profile == "constant":
            return f"constant eps' {self.scale:.3f} +- {self.scale_sigma:.3f}"
        return f"{self.profile} profile x {self.scale:.3f} +- {self.scale_sigma:.3f}"


def fit_scale(model: VelocityModel, fits, combine) -> VelocityModel:
    """The model with its scale from hyperbola fits; the model itself where there are none.

    ``combine`` is the inverse-variance combiner. A fit's eps' is the time-averaged eps' to its apex.
    """
    if not fits:
        return model
    if model.profile == "constant":
        m, s, src = combine(fits, (model.scale, model.scale_sigma))
        return model.scaled(m, s, src)
    ref = np.array([float(model.scaled(1.0).mean_eps(f.depth_m)) for f in fits])
    scaled = [replace(f, eps=f.eps / r, eps_sigma=f.eps_sigma / r) for f, r in zip(fits, ref)]
    m, s, src = combine(scaled, (model.scale, model.scale_sigma))
    return model.scaled(m, s, f"{src} scaling the {model.profile} profile")
