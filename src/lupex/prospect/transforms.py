"""Link transforms between a mapped quantity and the Gaussian process's latent field.

:class:`Identity`, :class:`LogShift` (log(v + c), skewed non-negative quantities) and :class:`Logit`
(quantities bounded in (lo, hi)); each maps forward and back, gives the derivative, checks values and the
``moments`` of the back-transformed Gaussian. Used by :mod:`lupex.prospect.fusion`, which re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from lupex.errors import InputError

__all__ = ["Identity", "LogShift", "Logit"]

@dataclass(frozen=True)
class Identity:
    """No transform (values already Gaussian-like and unbounded)."""

    def forward(self, v):
        """Latent value(s) ``z`` of ``v`` in original units."""
        return np.asarray(v, dtype=np.float64)

    def inverse(self, z):
        """Value(s) in original units of latent ``z``."""
        return np.asarray(z, dtype=np.float64)

    def derivative(self, v):
        """dz/dv at ``v`` (per original unit)."""
        return np.ones_like(np.asarray(v, dtype=np.float64))

    def check(self, v, name="value"):
        """Raise InputError where ``v`` is outside the transform's domain (none: every value is accepted)."""

    def moments(self, mu, sd):
        """Mean and sd in original units of a latent ``N(mu, sd^2)``."""
        return np.asarray(mu, float), np.asarray(sd, float)


@dataclass(frozen=True)
class LogShift:
    """``z = log(v + c)`` for non-negative, skewed quantities (WEH in wt%)."""

    c: float = 0.1

    def __post_init__(self):
        if not self.c > 0:
            raise InputError(f"LogShift offset c must be > 0, got {self.c}")

    def forward(self, v):
        """Latent value(s) ``z`` of ``v`` in original units."""
        return np.log(np.asarray(v, dtype=np.float64) + self.c)

    def inverse(self, z):
        """Value(s) in original units of latent ``z``."""
        return np.exp(z) - self.c

    def derivative(self, v):
        """dz/dv at ``v`` (per original unit)."""
        return 1.0 / (np.asarray(v, dtype=np.float64) + self.c)

    def check(self, v, name="value"):
        """Raise InputError where ``v`` is outside the transform's domain."""
        if (np.asarray(v) + self.c <= 0).any():
            raise InputError(f"{name} must be > -{self.c} for log(v + {self.c}); clip negative retrievals at 0")

    def moments(self, mu, sd):
        """Mean and sd in original units of a latent ``N(mu, sd^2)``."""
        # lognormal mean and variance, then shift back
        s2 = np.asarray(sd, float) ** 2
        mean = np.exp(mu + 0.5 * s2)
        var = np.expm1(s2) * np.exp(2 * mu + s2)
        return mean - self.c, np.sqrt(var)


_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(40)
_GH_W = _GH_W / _GH_W.sum()


@dataclass(frozen=True)
class Logit:
    """``z = logit((v - lo) / (hi - lo))`` for a quantity bounded in (lo, hi) (ice-table depth).

    Values within ``eps*(hi-lo)`` of a bound are pulled in.
    """

    lo: float = 0.0
    hi: float = 3.0
    eps: float = 1e-3

    def __post_init__(self):
        if not self.hi > self.lo:
            raise InputError(f"Logit bounds need hi > lo, got lo={self.lo}, hi={self.hi}")

    def _u(self, v):
        u = (np.asarray(v, dtype=np.float64) - self.lo) / (self.hi - self.lo)
        return np.clip(u, self.eps, 1 - self.eps)

    def forward(self, v):
        """Latent value(s) ``z`` of ``v`` in original units."""
        return special.logit(self._u(v))

    def inverse(self, z):
        """Value(s) in original units of latent ``z``."""
        return self.lo + (self.hi - self.lo) * special.expit(z)

    def derivative(self, v):
        """dz/dv at ``v`` (per original unit)."""
        u = self._u(v)
        return 1.0 / ((self.hi - self.lo) * u * (1 - u))

    def check(self, v, name="value"):
        """Raise InputError where ``v`` is outside the transform's domain."""
        v = np.asarray(v)
        if ((v < self.lo) | (v > self.hi)).any():
            raise InputError(f"{name} must lie in [{self.lo}, {self.hi}] for the Logit transform; "
                             "widen the bounds or clip the retrievals")

    def moments(self, mu, sd):
        """Mean and sd in original units of a latent ``N(mu, sd^2)``."""
        mu = np.asarray(mu, float)[..., None]
        sd = np.asarray(sd, float)[..., None]
        v = self.inverse(mu + sd * _GH_X)
        m = (v * _GH_W).sum(-1)
        var = np.maximum(((v - m[..., None]) ** 2 * _GH_W).sum(-1), 0.0)
        return m, np.sqrt(var)
