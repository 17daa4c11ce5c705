"""Map and time-series figures for the run report (matplotlib, Agg backend).

Hillshade follows the standard analytical form (Horn 1981 gradients; Burrough &
McDonnell 1998, eq. 8.x): cos(zenith)cos(slope) + sin(zenith)sin(slope)cos(az - aspect).
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.patheffects as pe  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402


def hillshade(z: np.ndarray, pixel_m: float, sun_az_deg: float = 315.0, sun_el_deg: float = 30.0) -> np.ndarray:
    """Analytical hillshade in [0, 1] for a north-up grid (grid azimuth clockwise from +y).

    cos(zenith) cos(slope) + sin(zenith) sin(slope) cos(az - aspect) (Burrough & McDonnell 1998; module
    docstring), with central-difference gradients, clipped to [0, 1].

    Parameters
    ----------
    z : np.ndarray, (ny, nx)
        Heights, m; rows run towards -y.
    pixel_m : float
        Grid spacing, m.
    sun_az_deg : float
        Illumination azimuth, deg, grid azimuth clockwise from +y.
    sun_el_deg : float
        Illumination elevation, deg.

    Returns
    -------
    np.ndarray
        float64 (ny, nx) shade, 0 (dark) to 1 (facing the light).
    """
    gy, gx = np.gradient(np.asarray(z, float), pixel_m)
    gy = -gy  # rows run towards -y
    slope = np.arctan(np.hypot(gx, gy))
    # aspect: grid azimuth of the downhill direction
    aspect = np.arctan2(-gx, -gy)
    zen = np.radians(90.0 - sun_el_deg)
    az = np.radians(sun_az_deg)
    hs = np.cos(zen) * np.cos(slope) + np.sin(zen) * np.sin(slope) * np.cos(az - aspect)
    return np.clip(hs, 0.0, 1.0)


def _extent_km(da):
    x = np.asarray(da["x"], float) / 1000.0
    y = np.asarray(da["y"], float) / 1000.0
    dx = (x[1] - x[0]) / 2 if x.size > 1 else 0.0
    dy = (y[1] - y[0]) / 2 if y.size > 1 else 0.0
    return [x[0] - dx, x[-1] + dx, y[-1] + dy, y[0] - dy]


# colour-blind-safe pair for 0/1 masks (Okabe & Ito 2008): blue = yes (safe, shadowed...), orange = no
MASK_YES = "#0072B2"
MASK_NO = "#E69F00"


def robust_limits(a, vmin=None, vmax=None, pct=(2.0, 98.0)):
    """Return colour limits fitted to the data: (vmin, vmax).

    Colour limits fitted to the data: the given ones, else the 2nd and 98th percentiles of the finite values
    (a few outliers neither wash out the scale nor hide the range); (0, 1) for an empty map.

    Parameters
    ----------
    a : array_like
        The values to be coloured, any shape; NaN and inf are left out.
    vmin, vmax : float, optional
        Limits to keep as given (in the unit of ``a``); None: from the percentiles.
    pct : tuple of float
        (low, high) percentiles, %.

    Returns
    -------
    tuple of float
        (vmin, vmax) in the unit of ``a``, with vmax > vmin.
    """
    v = np.asarray(a, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return (0.0 if vmin is None else vmin, 1.0 if vmax is None else vmax)
    lo, hi = np.percentile(v, pct)
    lo = float(lo) if vmin is None else vmin
    hi = float(hi) if vmax is None else vmax
    if not hi > lo:
        hi = lo + (abs(lo) * 1e-3 or 1.0)
    return lo, hi


def nice_length(span: float) -> float:
    """A round scale-bar length (1, 2 or 5 times a power of ten) of about a fifth of ``span``."""
    target = max(span / 5.0, 1e-9)
    mag = 10 ** np.floor(np.log10(target))
    for f in (5, 2, 1):
        if f * mag <= target:
            return float(f * mag)
    return float(mag)


def scale_bar(ax, extent, *, unit: str = "km") -> None:
    """A black-on-white scale bar in the lower-left corner of a map whose axes are in ``unit`` (km or m)."""
    x0, x1, y0, y1 = extent
    ylo, yhi = min(y0, y1), max(y0, y1)
    L = nice_length(x1 - x0)
    bx, by = x0 + 0.05 * (x1 - x0), ylo + 0.05 * (yhi - ylo)
    ax.plot([bx, bx + L], [by, by], color="white", lw=6, solid_capstyle="butt", zorder=7)
    ax.plot([bx, bx + L], [by, by], color="black", lw=3, solid_capstyle="butt", zorder=8)
    metres = L * (1000.0 if unit == "km" else 1.0)
    text = f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"
    ax.text(bx + L / 2, by + 0.025 * (yhi - ylo), text, ha="center", va="bottom", fontsize=9, zorder=8,
            bbox=dict(facecolor="white", alpha=0.85, edgecolor="none", pad=1))


def site_markers(ax, sites) -> None:
    """Draw the ranked landing-site markers on ``ax``.

    Ranked landing-site markers legible on any colour map: white rings with a black edge, white numbers
    outlined in black.
    """
    x = np.asarray(sites["x_m"], float) / 1000
    y = np.asarray(sites["y_m"], float) / 1000
    ax.scatter(x, y, s=70, facecolor="none", edgecolor="black", linewidth=3.0, zorder=6)
    ax.scatter(x, y, s=70, facecolor="none", edgecolor="white", linewidth=1.4, zorder=7,
               label="candidate landing sites (rank)")
    for xi, yi, r in zip(x, y, np.asarray(sites["rank"])):
        ax.annotate(str(int(r)), (xi, yi), color="white", fontsize=9, fontweight="bold", xytext=(5, 5),
                    textcoords="offset points", zorder=8,
                    path_effects=[pe.withStroke(linewidth=2.5, foreground="black")])


def map_png(da, title: str, *, cmap: str = "viridis", label: str = "", vmin=None, vmax=None,
            sites=None, background=None, margin_m: float = 0.0, dpi: int = 100, robust: bool = True,
            mask_labels: tuple[str, str] | None = None) -> bytes:
    """Return a PNG map of ``da`` (x/y in km).

    A map of ``da`` (x/y in km) with a scale bar, an optional hillshade underlay, site markers and a dashed
    box ``margin_m`` inside the border (where values are trusted); PNG bytes.

    Colour limits not given are the 2nd-98th percentiles of the data (``robust``; the colour bar then shows
    arrows for values beyond them). ``mask_labels`` = (label of 1, label of 0) draws a 0/1 mask in the
    colour-blind-safe blue/orange pair with a legend instead of a colour bar.

    Parameters
    ----------
    da : xr.DataArray, (ny, nx)
        The map, with ``x`` and ``y`` coordinates in m (polar stereographic); any unit of value.
    title : str
        Figure title.
    cmap : str
        Matplotlib colour map name (``"gray"``: no robust limits).
    label : str
        Colour-bar label (with the unit); empty: no colour bar.
    vmin, vmax : float, optional
        Colour limits in the unit of ``da``.
    sites : pandas.DataFrame, optional
        Landing sites to mark, with ``x_m``, ``y_m`` (m) and ``rank`` columns.
    background : np.ndarray, (ny, nx), optional
        Underlay in [0, 1] drawn in grey beneath the map (e.g. :func:`hillshade`).
    margin_m : float
        Distance of the dashed trust box inside the border, m (0: none).
    dpi : int
        Resolution, dots per inch (the figure is 7.6 x 6.4 in).
    robust : bool
        Fit missing colour limits with :func:`robust_limits`.
    mask_labels : tuple of str, optional
        (label of 1, label of 0) for a 0/1 mask.

    Returns
    -------
    bytes
        The PNG file.
    """
    fig, ax = plt.subplots(figsize=(7.6, 6.4), dpi=dpi)
    ext = _extent_km(da)
    z = np.asarray(da, float)
    if mask_labels is not None:
        cmap, vmin, vmax, label = ListedColormap([MASK_NO, MASK_YES]), 0.0, 1.0, ""
    elif robust and cmap != "gray":
        vmin, vmax = robust_limits(z, vmin, vmax)
    if background is not None:
        ax.imshow(background, extent=ext, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    im = ax.imshow(z, extent=ext, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest",
                   alpha=0.75 if background is not None else None)
    if label:
        fin = z[np.isfinite(z)]
        lo_out = vmin is not None and fin.size and fin.min() < vmin
        hi_out = vmax is not None and fin.size and fin.max() > vmax
        extend = {(True, True): "both", (True, False): "min", (False, True): "max"}.get((bool(lo_out), bool(hi_out)),
                                                                                        "neither")
        fig.colorbar(im, ax=ax, shrink=0.85, label=label, extend=extend)
    if margin_m > 0:
        m = margin_m / 1000.0
        x0, x1, y0, y1 = ext[0] + m, ext[1] - m, ext[2] + m, ext[3] - m
        if x1 > x0 and y1 > y0:
            ax.plot([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0], ls="--", color="white", lw=1.0)
    if sites is not None and len(sites):
        site_markers(ax, sites)
    if mask_labels is not None:
        ax.legend(handles=[Patch(color=MASK_YES, label=mask_labels[0]), Patch(color=MASK_NO, label=mask_labels[1])],
                  loc="upper right", fontsize=8, framealpha=0.9)
    scale_bar(ax, ext)
    ax.set_xlabel("x (km, polar stereographic)")
    ax.set_ylabel("y (km)")
    ax.set_title(title, fontsize=11)
    return png_bytes(fig)


def series_png(times, series: dict[str, np.ndarray], title: str, ylabel: str, *, ylim=None, dpi: int = 90) -> bytes:
    """Line plot of several time series sharing a time axis; PNG bytes.

    Parameters
    ----------
    times : array_like, (n,)
        UTC datetime64 times.
    series : dict of str to np.ndarray
        Legend name to (n,) values, all in the unit of ``ylabel``.
    title : str
        Figure title.
    ylabel : str
        y-axis label (with the unit).
    ylim : tuple of float, optional
        (low, high) y-axis limits.
    dpi : int
        Resolution, dots per inch (the figure is 9 x 3 in).
    """
    fig, ax = plt.subplots(figsize=(9.0, 3.0), dpi=dpi)
    t = np.asarray(times).astype("datetime64[s]").astype("O")
    for name, y in series.items():
        ax.plot(t, np.asarray(y, float), lw=0.8, label=name)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=7, loc="upper right", ncol=min(len(series), 4))
    fig.autofmt_xdate()
    return png_bytes(fig)


def png_bytes(fig, *, dpi=None, tight_layout: bool = True, bbox_tight: bool = False) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it (every lupex figure goes through here).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure; closed afterwards.
    dpi : float, optional
        Resolution, dots per inch; None: the figure's own.
    tight_layout : bool
        Run ``fig.tight_layout()`` first.
    bbox_tight : bool
        Crop the PNG to the drawn content (``bbox_inches="tight"``).
    """
    buf = io.BytesIO()
    if tight_layout:
        fig.tight_layout()
    fig.savefig(buf, format="png", dpi=dpi if dpi is not None else "figure",
                bbox_inches="tight" if bbox_tight else None)
    plt.close(fig)
    return buf.getvalue()


