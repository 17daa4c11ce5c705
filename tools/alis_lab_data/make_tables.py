"""Resample the transcribed laboratory spectra to ALIS's 20 nm channels.

Reads the hand-transcribed rows next to this script (``highlands_62231_rows.txt``,
``morb_d38a_rows.csv``; their headers name the source files) and writes the two tables that
``lupex.instruments.alis`` loads:

* ``src/lupex/instruments/data/alis_62231.csv``: RELAB LR-CMP-098 (Apollo 16 soil 62231) per
  channel, as measured and with its terrestrial-water 3 um band replaced by a straight line;
* ``src/lupex/instruments/data/alis_morb_d38a.csv``: the four MORB D38A glass spectra per channel.

A channel's value is the mean over its 20 nm (centre +- 10 nm) of the piecewise-linear
interpolant through the rows (trapezoid rule, band edges interpolated). Run from the repository
root:  python tools/alis_lab_data/make_tables.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE.parents[1] / "src" / "lupex" / "instruments" / "data"
CHANNELS_UM = np.round(np.arange(0.5, 3.6 + 1e-9, 0.02), 6)      # lupex.instruments.alis.wavelengths_um()
HALF_WIDTH_UM = 0.01
WATER_LINE_UM = (2.65, 3.8)          # Cremons & Honniball 2022: straight line over the soils' lab-water band


def channel_mean(lam_um, r, centre_um, half_um=HALF_WIDTH_UM):
    """Mean of the linear interpolant of (lam, r) over [centre - half, centre + half]; NaN if not covered."""
    o = np.argsort(lam_um)
    lam, val = np.asarray(lam_um, float)[o], np.asarray(r, float)[o]
    a, b = centre_um - half_um, centre_um + half_um
    if lam[0] > a + 1e-12 or lam[-1] < b - 1e-12:
        return np.nan
    inside = (lam > a) & (lam < b)
    x = np.concatenate([[a], lam[inside], [b]])
    y = np.interp(x, lam, val)
    return float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(x)) / (b - a))


def remove_water_band(lam_um, r):
    """Straight line between the rows nearest 2.65 and 3.8 um replaces the rows between them."""
    lam, out = np.asarray(lam_um, float), np.array(r, float)
    i, j = (int(np.argmin(np.abs(lam - w))) for w in WATER_LINE_UM)
    out[i:j + 1] = out[i] + (out[j] - out[i]) * (lam[i:j + 1] - lam[i]) / (lam[j] - lam[i])
    return out, (lam[i], out[i]), (lam[j], out[j])


def main():
    soil = np.loadtxt(HERE / "highlands_62231_rows.txt", comments="#")
    lam, refl = soil[:, 1], soil[:, 2]
    dry, p1, p2 = remove_water_band(lam, refl)
    raw_c = [channel_mean(lam, refl, c) for c in CHANNELS_UM]
    dry_c = [channel_mean(lam, dry, c) for c in CHANNELS_UM]
    head = [
        "# Apollo 16 mature highland soil 62231: RELAB bidirectional reflectance spectrum LR-CMP-098 (BKR1LR098),",
        "# i = 30 deg, e = 0 deg, as released with Cremons & Honniball 2022 (Earth and Space Science 9, e2022EA002277;",
        "# data/Highlands_62231_Spectra.txt of github.com/philiplinden/cremons-et-al-2022).",
        "# Resampled by tools/alis_lab_data/make_tables.py: mean of the linearly interpolated spectrum over each ALIS",
        "# channel (centre +- 10 nm; source sampling 5 nm below 2.55 um, 1.2-2.5 nm above).",
        "# reflectance: as measured (it keeps the sample's terrestrial-water/organics band near 3 um).",
        f"# reflectance_dry: rows between {p1[0]:g} um ({p1[1]:.5f}) and {p2[0]:g} um ({p2[1]:.5f}) replaced by the",
        "# straight line through those two rows (the rows nearest 2.65 and 3.8 um), as Cremons & Honniball did.",
        "wavelength_um,reflectance,reflectance_dry",
    ]
    rows = [f"{c:.2f},{a:.6f},{b:.6f}" for c, a, b in zip(CHANNELS_UM, raw_c, dry_c)]
    (OUT / "alis_62231.csv").write_text("\n".join(head + rows) + "\n")

    morb = np.loadtxt(HERE / "morb_d38a_rows.csv", delimiter=",", comments="#")
    lam_m = 1e4 / morb[:, 1]
    cols = [[channel_mean(lam_m, morb[:, k] / 100.0, c) for c in CHANNELS_UM] for k in range(2, 6)]
    keep = ~np.isnan(cols[0])
    head = [
        "# MORB glass D38A, FTIR reflectance after step heating to 650, 700, 750, 800 C; total water by SIMS",
        "# 1522, 762, 176, 22 ppm. Source: data/650^oC.csv, 700^oC.csv, 750^oC.CSV, 800^oC.CSV of",
        "# github.com/philiplinden/cremons-et-al-2022 (data release of Cremons & Honniball 2022, Earth and Space",
        "# Science 9, e2022EA002277; water contents from its Hydrated_Regolith_Spectra_Generator_and_Retrieval.m).",
        "# Grain size 69 um, density 2.8 g/cm3 (same source). Reflectance as a fraction, not normalised.",
        "# Resampled by tools/alis_lab_data/make_tables.py from every 10th-11th row of the files (the row at or",
        "# above each multiple of 5 cm^-1, 2740-4090 cm^-1): mean of the linear interpolant over each ALIS channel",
        "# (centre +- 10 nm). Atmospheric water-vapour lines in the 650, 750 and 800 C spectra above ~3560 cm^-1",
        "# (< 2.81 um; +-0.1-0.7 % absolute, some 15 cm^-1 apart) are aliased by that subsampling into channel",
        "# noise of order 0.1-1 % of the value.",
        "wavelength_um,r_650c,r_700c,r_750c,r_800c",
    ]
    rows = [f"{c:.2f}," + ",".join(f"{col[i]:.6f}" for col in cols) for i, c in enumerate(CHANNELS_UM) if keep[i]]
    (OUT / "alis_morb_d38a.csv").write_text("\n".join(head + rows) + "\n")


if __name__ == "__main__":
    main()
