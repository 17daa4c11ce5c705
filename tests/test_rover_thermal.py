"""Thermal: analytic steady state, analytic time constants, thermostat power = analytic loss."""

import dataclasses
import math

import numpy as np
import pytest

from lupex.errors import InputError
from lupex.rover import thermal
from lupex.rover.vehicle import NodeParams, RoverParams, ThermalParams

SIGMA = 5.670374419e-8
P = RoverParams()


def _params(el: NodeParams, bat: NodeParams | None = None, g=0.0, sub=600.0):
    bat = bat or NodeParams(heat_capacity_j_k=1e3, radiator_area_m2=0.0, heater_max_w=0.0, dissipation_frac=0.0,
                            absorptivity=0.0, heater_setpoint_k=1.0, survival_min_k=1.0)
    return dataclasses.replace(P, thermal=ThermalParams(electronics=el, battery=bat, coupling_w_k=g, max_substep_s=sub))


def test_steady_state_matches_hand_formula():
    el = NodeParams(heat_capacity_j_k=5e3, radiator_area_m2=0.5, emissivity=0.8, absorptivity=0.3, sun_area_m2=0.2,
                    terrain_view_factor=0.5, dissipation_frac=1.0, heater_max_w=0.0, heater_setpoint_k=1.0, survival_min_k=1.0)
    p = _params(el)
    q = 40.0 + 0.3 * 1361.0 * 0.2 * 0.6  # dissipation + absorbed sun with 60% of the disk visible
    tt = 150.0
    want = (q / (0.8 * SIGMA * 0.5) + 0.5 * tt**4 + 0.5 * 2.725**4) ** 0.25
    t = np.arange(0, 400) * 3600.0  # tau ~ 5e3 / (4 * 0.8 * sigma * 0.5 * 290^3) ~ 2.2 h: 400 h is plenty
    tr = thermal.simulate(t, 0.6, 40.0, p, terrain_k=tt, t0_k=(200.0, 200.0))
    assert tr.temperature_k[-1, 0] == pytest.approx(want, rel=1e-9)
    assert thermal.steady_state_k(el, q, tt) == pytest.approx(want, rel=1e-12)
    assert want == pytest.approx(254.2, abs=0.1)


def test_linear_exponential_approach_exact_time_constant():
    # no radiation; coupled to a node of enormous heat capacity at 250 K: T - 250 = (T0 - 250) exp(-G t / C)
    el = NodeParams(heat_capacity_j_k=36_000.0, radiator_area_m2=0.0, absorptivity=0.0, dissipation_frac=0.0,
                    heater_max_w=0.0, heater_setpoint_k=1.0, survival_min_k=1.0)
    big = NodeParams(heat_capacity_j_k=1e18, radiator_area_m2=0.0, absorptivity=0.0, dissipation_frac=0.0,
                     heater_max_w=0.0, heater_setpoint_k=1.0, survival_min_k=1.0)
    p = _params(el, big, g=2.0, sub=60.0)
    tau = 36_000.0 / 2.0  # 5 h
    t = np.arange(0, 31) * 1800.0  # 15 h in half hours
    tr = thermal.simulate(t, 0.0, 0.0, p, terrain_k=0.0, t0_k=(300.0, 250.0))
    want = 250.0 + 50.0 * np.exp(-t / tau)
    np.testing.assert_allclose(tr.temperature_k[:, 0], want, rtol=0, atol=1e-4)  # Heun, h/tau = 1/300
    assert thermal.time_constant_s(el, 250.0, coupling_w_k=2.0) == pytest.approx(tau)


def test_radiative_linearised_time_constant():
    el = NodeParams(heat_capacity_j_k=20_000.0, radiator_area_m2=0.4, emissivity=0.5, absorptivity=0.0,
                    terrain_view_factor=0.0, dissipation_frac=1.0, heater_max_w=0.0, heater_setpoint_k=1.0, survival_min_k=1.0)
    p = _params(el)
    q = 30.0
    teq = (q / (0.5 * SIGMA * 0.4) + 2.725**4) ** 0.25
    tau = 20_000.0 / (4 * 0.5 * SIGMA * 0.4 * teq**3)
    t = np.linspace(0, 3 * tau, 61)
    tr = thermal.simulate(t, 0.0, q, p, terrain_k=0.0, t0_k=(teq + 0.5, 100.0))
    dev = tr.temperature_k[:, 0] - teq
    # small perturbation (0.5 K of ~250 K): linear theory to ~0.3%
    np.testing.assert_allclose(dev, 0.5 * np.exp(-t / tau), rtol=5e-3, atol=1e-6)


def test_heater_holds_setpoint_with_analytic_power():
    el = NodeParams(heat_capacity_j_k=30_000.0, radiator_area_m2=0.5, emissivity=0.3, absorptivity=0.0,
                    terrain_view_factor=0.5, dissipation_frac=1.0, heater_max_w=100.0, heater_setpoint_k=253.15,
                    survival_min_k=243.15)
    p = _params(el)
    tt, q = 70.0, 5.0
    loss = 0.3 * SIGMA * 0.5 * (253.15**4 - 0.5 * tt**4 - 0.5 * 2.725**4)
    t = np.arange(0, 101) * 3600.0
    tr = thermal.simulate(t, 0.0, q, p, terrain_k=tt)
    np.testing.assert_allclose(tr.temperature_k[:, 0], 253.15, atol=1e-9)
    np.testing.assert_allclose(tr.heater_w[:, 0], loss - q, rtol=1e-6)
    assert loss - q == pytest.approx(29.83, abs=0.01)


def test_heater_saturates_and_node_cools_below_setpoint():
    el = NodeParams(heat_capacity_j_k=30_000.0, radiator_area_m2=0.5, emissivity=0.3, absorptivity=0.0,
                    dissipation_frac=0.0, heater_max_w=5.0, heater_setpoint_k=253.15, survival_min_k=243.15)
    tr = thermal.simulate(np.arange(0, 1001) * 3600.0, 0.0, 0.0, _params(el), terrain_k=60.0)  # tau ~ 64 h at 156 K
    np.testing.assert_allclose(tr.heater_w[:, 0], 5.0)
    # ends near the steady state with 5 W: (5 / (eps sigma A) + F Tt^4)^(1/4)
    want = (5.0 / (0.3 * SIGMA * 0.5) + 0.5 * 60.0**4 + 0.5 * 2.725**4) ** 0.25
    assert tr.temperature_k[-1, 0] == pytest.approx(want, rel=1e-4)
    assert want < 243.15


def test_coupled_nodes_conserve_energy():
    # no radiation anywhere: the heat in both nodes changes only by what the heaters and loads put in
    el = NodeParams(heat_capacity_j_k=10_000.0, radiator_area_m2=0.0, absorptivity=0.0, dissipation_frac=1.0,
                    heater_max_w=0.0, heater_setpoint_k=1.0, survival_min_k=1.0)
    bat = NodeParams(heat_capacity_j_k=25_000.0, radiator_area_m2=0.0, absorptivity=0.0, dissipation_frac=0.0,
                     heater_max_w=0.0, heater_setpoint_k=1.0, survival_min_k=1.0)
    t = np.arange(0, 49) * 1800.0
    tr = thermal.simulate(t, 0.0, 12.0, _params(el, bat, g=1.5), terrain_k=0.0, t0_k=(280.0, 250.0))
    heat = 10_000.0 * (tr.temperature_k[-1, 0] - 280.0) + 25_000.0 * (tr.temperature_k[-1, 1] - 250.0)
    assert heat == pytest.approx(12.0 * t[-1], rel=1e-9)


def test_terrain_temperature_fallback():
    tp = P.terrain_thermal
    t = thermal.terrain_temperature_k(1.0, 1.5, P)
    want = ((1 - 0.12) * 1361 * math.sin(math.radians(1.5)) / (0.95 * SIGMA)) ** 0.25
    assert t == pytest.approx(want) and want == pytest.approx(155.3, abs=0.1)
    assert thermal.terrain_temperature_k(0.0, 1.5, P) == tp.night_k
    with pytest.raises(InputError, match="terrain_k"):
        thermal.simulate(np.arange(3.0), 0.0, 0.0, P)


def test_louvre_steady_state_matches_independent_root():
    """Part-open louvres: equilibrium where dissipation = eps(T) sigma A (T^4 - Tenv^4), found by brentq."""
    from scipy.optimize import brentq

    from lupex.rover import thermal as th
    from lupex.rover.vehicle import RoverParams

    node = RoverParams().thermal.electronics
    env = node.terrain_view_factor * 150.0**4 + (1 - node.terrain_view_factor) * th.T_SPACE_K**4
    for q in (40.0, 150.0, 250.0, 400.0):
        ref = brentq(lambda t: th.effective_emissivity(t, node) * th.SIGMA * node.radiator_area_m2 * (t**4 - env) - q,
                     20.0, 1000.0, xtol=1e-10)
        assert float(th.steady_state_k(node, q, 150.0)) == pytest.approx(ref, abs=1e-6)


def test_louvres_keep_a_driving_rover_in_full_sun_below_its_hot_limit():
    """Drive load (250 W) + full sun for 5 days: electronics settle where the louvres' loss balances it,
    the kernel reaches steady_state_k, and stay below survival_max_k (the planner found 400-450 K before louvres)."""
    from lupex.rover import thermal as th
    from lupex.rover.vehicle import RoverParams

    p = RoverParams()
    node = p.thermal.electronics
    times = np.datetime64("2027-01-01") + np.arange(0, 121 * 3600, 3600).astype("timedelta64[s]")
    trace = th.simulate(times, np.ones(times.size), np.full(times.size, 250.0), p, terrain_k=250.0)
    q = node.absorptivity * th.solar_irradiance_w_m2(None) * node.sun_area_m2 + 250.0
    t_ss = float(th.steady_state_k(node, q, 250.0))
    t_end = trace.temperature_k[-1, 0]
    assert t_end < node.survival_max_k
    assert t_end == pytest.approx(t_ss, abs=4.0)  # the 0.2 W/K coupling to the cooler battery shifts it a little
