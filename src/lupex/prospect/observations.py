"""Point observations for the water maps: positions (m), values and 1-sigma errors, joined and binned.

The input of :func:`lupex.prospect.fusion.fit_gp` (its names stay importable from
:mod:`lupex.prospect.fusion`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lupex.errors import InputError

__all__ = ["Observations", "bin_observations", "concat_observations", "observations"]

@dataclass(frozen=True)
class Observations:
    """Retrievals at points: positions (m), values, 1-sigma errors, source labels."""

    x_m: np.ndarray
    y_m: np.ndarray
    value: np.ndarray
    sigma: np.ndarray
    source: np.ndarray

    @property
    def n(self) -> int:
        """Number of observations."""
        return int(self.value.size)

    @property
    def xy(self) -> np.ndarray:
        """Positions as an (n, 2) array of (x_m, y_m)."""
        return np.column_stack([self.x_m, self.y_m])


def observations(x_m, y_m, value, sigma, source="obs") -> Observations:
    """Validated :class:`Observations` (1-D float arrays of one length, finite, sigma > 0).

    Parameters
    ----------
    x_m, y_m : array_like, shape (n,)
        Positions of the retrievals in the site frame, m.
    value : array_like, shape (n,)
        Retrieved values in the quantity's own unit (WEH in wt%, ice-table depth in m).
    sigma : array_like, shape (n,)
        1-sigma uncertainty of each value, same unit, > 0.
    source : str or array_like of str, shape (n,)
        Instrument label of each retrieval (one label for all when a string).

    Returns
    -------
    Observations
        The arrays as float64 (``source`` as object), n >= 1 entries each.
    """
    arrs = {}
    for name, a in (("x_m", x_m), ("y_m", y_m), ("value", value), ("sigma", sigma)):
        a = np.atleast_1d(np.asarray(a, dtype=np.float64))
        if a.ndim != 1:
            raise InputError(f"observation {name} must be 1-D, got shape {a.shape}")
        arrs[name] = a
    n = arrs["value"].size
    if n == 0:
        raise InputError("the observation set is empty: a map needs at least one retrieval")
    for name, a in arrs.items():
        if a.size != n:
            raise InputError(f"observation {name} has {a.size} entries but value has {n}; pass arrays of one length")
        bad = ~np.isfinite(a)
        if bad.any():
            raise InputError(f"observation {name} has {int(bad.sum())} NaN/inf entries (first at index "
                             f"{int(np.argmax(bad))}); drop or fix those retrievals")
    if (arrs["sigma"] <= 0).any():
        i = int(np.argmax(arrs["sigma"] <= 0))
        raise InputError(f"observation sigma must be > 0 (index {i} has {arrs['sigma'][i]}); "
                         "give each retrieval its 1-sigma uncertainty")
    src = np.asarray(source)
    src = np.full(n, str(src), dtype=object) if src.ndim == 0 else src.astype(object)
    if src.size != n:
        raise InputError(f"observation source has {src.size} entries but value has {n}")
    return Observations(arrs["x_m"], arrs["y_m"], arrs["value"], arrs["sigma"], src)


def concat_observations(*obs: Observations) -> Observations:
    """Stack several observation sets (e.g. successive traverse legs)."""
    obs = [o for o in obs if o is not None]
    if not obs:
        raise InputError("no observation sets to concatenate")
    return Observations(*(np.concatenate([getattr(o, f) for o in obs])
                          for f in ("x_m", "y_m", "value", "sigma", "source")))


def bin_observations(obs: Observations, cell_m: float, sigma_floor: float = 0.0, *,
                     correlated: bool = False) -> Observations:
    """Thin dense tracks: inverse-variance means of the retrievals in square ``cell_m`` bins, per source.

    Position is the weighted centroid; sigma is ``max(1/sqrt(sum w), sigma_floor)`` with ``w = 1/sigma^2``
    (independent errors).

    ``correlated=True``: the errors within a bin are taken as fully correlated
    (one shared systematic error, e.g. a retrieval's prior-driven bias along
    track), so averaging does not reduce it: sigma is the weighted mean
    ``sum(w sigma) / sum(w)`` of the members' sigmas (JCGM 100:2008, GUM,
    eq. 16 with all correlation coefficients 1).

    Parameters
    ----------
    obs : Observations
        Retrievals to thin, n of them.
    cell_m : float
        Side of the square bins, m, > 0 (bins aligned on multiples of ``cell_m`` in x and y).
    sigma_floor : float
        Smallest sigma a bin keeps, the values' unit.
    correlated : bool
        Treat the errors within a bin as fully correlated (see above).

    Returns
    -------
    Observations
        One entry per occupied (source, bin), each keeping the source label of its first member.
    """
    if not (cell_m > 0 and np.isfinite(cell_m)):
        raise InputError(f"bin size cell_m must be a positive number of metres, got {cell_m}")
    ix = np.floor(obs.x_m / cell_m).astype(np.int64)
    iy = np.floor(obs.y_m / cell_m).astype(np.int64)
    _, src_code = np.unique(obs.source.astype(str), return_inverse=True)
    key = np.stack([src_code.ravel(), ix, iy], axis=1)
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.ravel()
    w = 1.0 / obs.sigma**2
    sw = np.bincount(inv, w)
    first = np.zeros(uniq.shape[0], np.int64)
    first[inv[::-1]] = np.arange(obs.n)[::-1]
    sig = np.bincount(inv, w * obs.sigma) / sw if correlated else 1.0 / np.sqrt(sw)
    return Observations(
        np.bincount(inv, w * obs.x_m) / sw,
        np.bincount(inv, w * obs.y_m) / sw,
        np.bincount(inv, w * obs.value) / sw,
        np.maximum(sig, sigma_floor),
        obs.source[first],
    )
