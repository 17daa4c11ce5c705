"""Ground penetrating radar (LUPEX rover GPR, sounding to ~1.5 m): forward model and retrieval.

The instrument is split by concern (sources are cited in each module):

- :mod:`lupex.instruments.gpr_dielectric`: Olhoeft & Strangway (1975) permittivity and
  loss of dry regolith, ice by logarithmic (default) or CRIM mixing, and the inverses;
- :mod:`lupex.instruments.gpr_forward`: B-scans along a traverse of ground-truth columns;
- :mod:`lupex.instruments.gpr_processing`: dewow, time-zero, background removal, gain,
  matched filter, Stolt migration;
- :mod:`lupex.instruments.gpr_retrieval`: hyperbola velocity analysis, ice-table depth
  and WEH below it, with 1-sigma uncertainties;
- :mod:`lupex.instruments.gpr_velocity`: time-to-depth through a constant eps' or eps'(z) of
  a published density profile.

Typical use::

    rg = forward_radargram(columns, positions_m, rng=np.random.default_rng(1))
    result = retrieve(rg)
    result.depth_m, result.depth_sigma_m, result.weh_wt_pct, result.weh_sigma_wt_pct
"""

from lupex.instruments.gpr_dielectric import (
    column_dielectric,
    dry_loss_tangent,
    dry_permittivity,
    fresnel_reflection,
    ice_volume_fraction,
    mix_ice,
    regolith_dielectric,
    velocity_m_s,
    weh_from_permittivity,
)
from lupex.instruments.gpr_forward import (
    GprParams,
    Radargram,
    column_two_way_time,
    forward_radargram,
    ricker,
    two_medium_time,
)
from lupex.instruments.gpr_processing import (
    agc,
    background_removal,
    dewow,
    envelope,
    focusing,
    matched_filter,
    sec_gain,
    stolt_migration,
    time_zero,
)
from lupex.instruments.gpr_retrieval import (
    HyperbolaFit,
    IceRetrieval,
    combine_eps,
    detect_diffractions,
    drop_surface_picks,
    fit_hyperbola,
    min_pick_depth_m,
    pick_ice_table,
    preprocess,
    retrieve,
    velocity_analysis,
    weh_from_contrast,
)
from lupex.instruments.gpr_velocity import VelocityModel

__all__ = [
    "GprParams", "HyperbolaFit", "IceRetrieval", "Radargram", "agc", "background_removal", "column_dielectric",
    "column_two_way_time", "combine_eps", "detect_diffractions", "dewow", "drop_surface_picks", "dry_loss_tangent", "dry_permittivity",
    "envelope", "fit_hyperbola", "focusing", "forward_radargram", "fresnel_reflection", "ice_volume_fraction",
    "matched_filter", "min_pick_depth_m", "mix_ice", "pick_ice_table", "preprocess", "regolith_dielectric", "retrieve", "ricker",
    "sec_gain", "stolt_migration", "time_zero", "two_medium_time", "velocity_analysis", "velocity_m_s", "VelocityModel",
    "weh_from_contrast", "weh_from_permittivity",
]
