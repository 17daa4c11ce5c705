"""Figure of the neutron spectrometer's Monte Carlo response table against the published numbers it is
checked with (docs/figures/neutron_response.png). Run from the repository root:

    python tools/plot_neutron_response.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lupex.instruments import neutron as ns  # noqa: E402
from lupex.instruments import neutron_calibration as nc  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "figures" / "neutron_response.png"


def _finish(a, xlabel, ylabel, title, legend_size=8, ncol=1):
    """Unity line (the dry / reference rate), labels, legend."""
    a.axhline(1.0, color="k", lw=0.5)
    a.set(xlabel=xlabel, ylabel=ylabel, title=title)
    a.legend(fontsize=legend_size, ncol=ncol)


def main():
    t = ns.load_table()
    fig, ax = plt.subplots(2, 3, figsize=(16, 8.5))
    w = np.linspace(0, 20, 401)
    a = ax[0, 0]
    a.plot(w, ns.epithermal_ratio(w), label="lupex Monte Carlo table")
    a.plot(w, nc.nss_epithermal_ratio(w), "--", label="NSS calibration (vipersci.nss.uniform_weh)")
    a.errorbar(t.weh_bot, t.epithermal[0, :, 0], yerr=t.epithermal_sigma[0, :, 0], fmt="o", ms=3,
               label="table points (homogeneous)")
    a.set(xlim=(0, 20), xlabel="WEH (wt%)", ylabel="epithermal / dry", title="Homogeneous ground: epithermal")
    a.legend(fontsize=8)
    a = ax[0, 1]
    a.plot(w, ns.thermal_ratio(w), label="reference (FeO+TiO2 6 wt%)")
    a.plot(w, ns.thermal_ratio(w, feo_tio2_wt_pct=22.0), label="mare (22 wt%)")
    a.set(xlim=(0, 20), xlabel="WEH (wt%)", ylabel="thermal / dry reference", title="Homogeneous ground: thermal")
    a.legend(fontsize=8)
    a = ax[1, 0]
    m = np.linspace(0, 400, 401)
    for wb in (0.5, 2.0, 5.0, 15.0):
        e, th = ns.two_layer_ratios(0.0, wb, m)
        line, = a.plot(m, e, label=f"{wb:g} wt%: epithermal")
        a.plot(m, th, ":", color=line.get_color(), label="thermal")
    _finish(a, "dry overburden (g/cm^2; 150 = 1 m at 1.5 g/cm^3)", "ratio to dry", "Dry over wet: burial", 7, 2)
    a = ax[1, 1]
    m = np.linspace(0, 200, 401)
    for wt in (0.1, 0.3, 1.0, 3.0):
        a.plot(m, ns.two_layer_ratios(wt, 0.0, m)[0], label=f"{wt:g} wt% layer")
    a.axvline(30.0, color="grey", ls="--", lw=0.8)
    a.text(33, 0.62, "Lawrence et al. 2011:\nsign change ~30 g/cm^2", fontsize=7)
    _finish(a, "wet layer thickness (g/cm^2)", "epithermal / dry", "Wet over dry (epithermal)")
    a = ax[0, 2]
    temps = np.linspace(40.0, 350.0, 311)
    for i, w in enumerate(t.temperature_weh):
        fe, ft = t.temperature(temps, w)
        line, = a.plot(temps, ft, label=f"{w:g} wt%: thermal")
        a.errorbar(t.temperature_k, t.temperature_thermal[i], yerr=t.temperature_thermal_sigma[i], fmt="o", ms=3,
                   color=line.get_color())
        a.plot(temps, fe, ":", color=line.get_color(), lw=0.8)
    _finish(a, "regolith temperature (K)", "rate / rate at 150 K",
            "Temperature (homogeneous ground; dotted: epithermal)", 7, 2)
    a = ax[1, 2]
    m = np.linspace(0, 200, 401)
    for temp in (40.0, 60.0, 100.0, 150.0, 250.0):
        a.plot(m, ns.two_layer_ratios(0.0, 3.0, m, temperature_k=temp)[1], label=f"{temp:g} K")
    _finish(a, "dry overburden (g/cm^2)", "thermal / dry at 150 K", "3 wt% under dry regolith: thermal vs temperature")
    fig.suptitle(f"Neutron spectrometer response: lupex Monte Carlo (source build-up "
                 f"{t.meta['buildup_g_cm2']:.1f} g/cm^2 fitted to the NSS calibration); table at 150 K", fontsize=10)
    fig.tight_layout()
    fig.savefig(OUT, dpi=110)
    print(OUT)


if __name__ == "__main__":
    main()
