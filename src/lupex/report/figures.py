"""Map and time-series figures for the run report (matplotlib, Agg backend).

Hillshade follows the standard analytical form (Horn 1981 gradients; Burrough &
McDonnell 1998, eq. 8.x): cos(zenith)cos(slope) + sin(zenith)sin(slope)cos(az - aspect).
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def hillshade(z: np.ndarray, pixel_m: float, sun_az_deg: float = 315.0, sun_el_deg: float = 30.0) -> np.ndarray:
    """Analytical hillshade in [0, 1] for a north-up grid (grid azimuth clockwise from +y)."""
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


def map_png(da, title: str, *, cmap: str = "viridis", label: str = "", vmin=None, vmax=None,
            sites=None, background=None, margin_m: float = 0.0, dpi: int = 90) -> bytes:
    """A map of ``da`` (x/y in km) with an optional hillshade underlay, site markers and a dashed box
    ``margin_m`` inside the border (where values are trusted); PNG bytes."""
    fig, ax = plt.subplots(figsize=(6.4, 5.4), dpi=dpi)
    ext = _extent_km(da)
    if background is not None:
        ax.imshow(background, extent=ext, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        im = ax.imshow(np.asarray(da, float), extent=ext, cmap=cmap, vmin=vmin, vmax=vmax, alpha=0.75,
                       interpolation="nearest")
    else:
        im = ax.imshow(np.asarray(da, float), extent=ext, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    if label:
        fig.colorbar(im, ax=ax, shrink=0.85, label=label)
    if margin_m > 0:
        m = margin_m / 1000.0
        x0, x1, y0, y1 = ext[0] + m, ext[1] - m, ext[2] + m, ext[3] - m
        if x1 > x0 and y1 > y0:
            ax.plot([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0], ls="--", color="cyan", lw=0.9)
    if sites is not None and len(sites):
        ax.scatter(np.asarray(sites["x_m"]) / 1000, np.asarray(sites["y_m"]) / 1000, s=36, facecolor="none",
                   edgecolor="red", linewidth=1.4)
        for _, s in sites.iterrows():
            ax.annotate(str(int(s["rank"])), (s["x_m"] / 1000, s["y_m"] / 1000), color="red", fontsize=8,
                        xytext=(4, 4), textcoords="offset points")
    ax.set_xlabel("x (km, polar stereographic)")
    ax.set_ylabel("y (km)")
    ax.set_title(title, fontsize=10)
    return png_bytes(fig)


def series_png(times, series: dict[str, np.ndarray], title: str, ylabel: str, *, ylim=None, dpi: int = 90) -> bytes:
    """Line plot of several time series sharing a time axis; PNG bytes."""
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
    """Render a matplotlib figure to PNG bytes and close it (every lupex figure goes through here)."""
    buf = io.BytesIO()
    if tight_layout:
        fig.tight_layout()
    fig.savefig(buf, format="png", dpi=dpi if dpi is not None else "figure",
                bbox_inches="tight" if bbox_tight else None)
    plt.close(fig)
    return buf.getvalue()


