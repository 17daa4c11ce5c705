"""Neutron spectrometer: response anchors, footprint, counting statistics, retrieval coverage."""

import numpy as np
import pytest
from scipy import integrate

from lupex.errors import InputError
from lupex.instruments import neutron as ns
from lupex.subsurface.profile import two_layer_column

NS = ns.NeutronSpectrometer()


# ------------------------------------------------------------- response curves

def test_epithermal_response_shape():
    # dry is the reference; the response falls monotonically and saturates (Monte Carlo shape,
    # Lawrence et al. 2006): the 0.5 wt% contrast (24 %) is what lets a moving rover detect it
    r = ns.epithermal_ratio([0.0, 0.5, 1.0])
    assert r[0] == 1.0
    assert 1 - r[1] == pytest.approx(0.24, abs=0.01)
    assert 1 - r[2] == pytest.approx(0.37, abs=0.01)
    w = np.linspace(0, 100, 501)
    assert np.all(np.diff(ns.epithermal_ratio(w)) < 0)
    assert np.all(np.diff(ns.epithermal_ratio(w), 2) > 0)  # convex: each wt% matters less


def test_polar_depression_of_lunar_prospector_from_its_hydrogen_and_burial():
    # Published pair, independent of how a and b were set: Lunar Prospector saw
    # polar epithermal depressions of 3.0 % (south) and 4.6 % (north) below the
    # low-latitude average (Feldman et al. 1998, Science 281:1496), which
    # Lawrence et al. 2006 (JGR 111 E08001, abstract) interpret as 100-150 ppm H
    # buried under 10 +- 5 cm of dry soil. WEH = 9 x H (H2O/H2 mass ratio; the
    # NSS PDS description: 1500 ppm H = 1.35 wt% WEH). Our dry-over-wet
    # response for that ground, at 1.8 g/cm^3 (Lawrence et al. 2011's density):
    weh = 9.0 * np.array([100.0, 150.0]) * 1e-4
    epi, _ = ns.two_layer_ratios(0.0, weh, 10.0 * 1.8)
    depression = 100.0 * (1.0 - epi)
    assert depression[0] == pytest.approx(3.0, abs=1.5)  # 100 ppm: 4.2 %
    assert depression[1] == pytest.approx(4.6, abs=1.5)  # 150 ppm: 5.9 %
    # at the deep end of Lawrence's 10 +- 5 cm both come within 0.4 points
    deep, _ = ns.two_layer_ratios(0.0, weh, 15.0 * 1.8)
    np.testing.assert_allclose(100.0 * (1.0 - deep), [3.0, 4.6], atol=0.45)
    # burial matters as Lawrence's interval says: 5 cm is deeper still
    hi, _ = ns.two_layer_ratios(0.0, weh[0], 5.0 * 1.8)
    assert 1.0 - hi > depression[0] / 100.0 > 1.0 - deep[0]
    # LEND's homogeneous calibration (Sanin et al. 2012, JGR 117 E00H26: ~2 %
    # for ~125 ppm H) is 3.7x weaker than ours (7.5 %); kept as a recorded
    # disagreement (docs/VALIDATION.md), LP's is the one we follow.
    assert 100.0 * (1.0 - ns.epithermal_ratio(9.0 * 125e-4)) == pytest.approx(7.5, abs=0.1)


def test_epithermal_response_reproduces_the_nss_calibration_points():
    # The source's own check values (vipersci tests/test_nss.py): with C0 = 30.75,
    # an epithermal rate of C = 10 means 0.0397 WEH (fraction), C = 20 means 0.00900.
    from scipy import optimize

    for c, weh_frac in ((10.0, 0.0397), (20.0, 0.00900)):
        w = optimize.brentq(lambda x: ns.epithermal_ratio(x) - c / 30.75, 1e-6, 100.0)
        assert w / 100.0 == pytest.approx(weh_frac, rel=2e-3)
    # and its closed form, evaluated independently at a few rates
    c = np.array([5.0, 15.0, 25.0, 30.0])
    weh_pct = 100.0 * (0.0256 * (30.75 / c - 1.0)) ** 1.0990
    np.testing.assert_allclose(ns.epithermal_ratio(weh_pct), c / 30.75, rtol=1e-12)


def test_thermal_rises_then_falls_and_initial_slope_vs_voss_1969():
    # Voss 1969 (Rice thesis, hdl 1911/90070): +4 % slow neutrons for +0.1 wt%
    # water in basalt => ~0.4 per wt%. Ours is 0.3 per wt%; agree within 1.5x.
    slope = (ns.thermal_ratio(0.01) - 1.0) / 0.01
    assert 0.4 / 1.5 < slope < 0.4 * 1.5
    w = np.linspace(0, 60, 601)
    r = ns.thermal_ratio(w)
    assert 2 < w[np.argmax(r)] < 10          # peak at a few wt%
    assert r[-1] < 1.0                        # capture wins at high WEH


def test_thermal_highland_mare_contrast():
    # Lunar Prospector thermal maps: highlands ~1.5x maria (order of magnitude).
    ratio = ns.thermal_ratio(0.0, feo_tio2_wt_pct=5.0) / ns.thermal_ratio(0.0, feo_tio2_wt_pct=25.0)
    assert 1.3 < ratio < 1.7


def test_dry_over_wet_attenuates_exponentially_with_areal_mass():
    w = 5.0
    s0 = 1 - ns.epithermal_ratio(w)
    m = np.array([0.0, 20.0, 45.0, 90.0, 150.0])
    epi, _ = ns.two_layer_ratios(0.0, w, m)
    np.testing.assert_allclose(1 - epi, s0 * np.exp(-m / 45.0), rtol=1e-12)
    assert np.all(epi <= 1.0)


def test_wet_over_dry_sign_flip_lawrence_2011():
    # Lawrence et al. 2011 (JGR 116 E01002, abstract): for wet layers thinner than
    # ~30 g/cm^2 over dry ground the epithermal flux INCREASES with H content;
    # thicker wet layers behave like the homogeneous case (decrease).
    w = np.array([0.1, 0.3, 1.0])
    for t in (3.0, 10.0, 25.0):
        epi, _ = ns.two_layer_ratios(w, 0.0, t)
        assert np.all(epi > 1.0) and np.all(np.diff(epi) > 0)
    for t in (35.0, 60.0, 200.0):
        epi, _ = ns.two_layer_ratios(w, 0.0, t)
        assert np.all(epi < 1.0) and np.all(np.diff(epi) < 0)
    # Goldschmidt residuals of +1-3 % fit 3-30 g/cm^2 layers of 0.1-1 wt% WEH:
    t = np.linspace(3, 30, 28)
    e = np.concatenate([ns.two_layer_ratios(x, 0.0, t)[0] for x in (0.1, 0.3, 1.0)]) - 1
    assert e.max() > 0.03 and np.any((e > 0.01) & (e < 0.03))
    # the 1-3 % residuals come from the thin / low-WEH end; 1 wt% layers give up to ~11 %
    # (the enhancement scales with the homogeneous contrast s(W) of the NSS calibration)
    e01 = ns.two_layer_ratios(0.1, 0.0, t)[0] - 1
    assert 0.005 < e01.max() < 0.03 and e.max() < 0.12


def test_column_kernel_matches_closed_form_two_layer():
    for d, top, bot in [(0.0, 0.0, 4.0), (0.25, 0.0, 4.0), (0.7, 0.0, 10.0), (0.1, 1.0, 0.0), (0.4, 2.0, 0.5)]:
        c = two_layer_column(dry_thickness_m=d, weh_top_wt_pct=top, weh_bottom_wt_pct=bot,
                             feo_tio2_wt_pct=9.0, depth_m=4.0)
        got = ns.column_ratios(c)
        want = ns.two_layer_ratios(top, bot, c.column_mass_g_cm2(0.0, d), feo_tio2_wt_pct=9.0)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------ footprint

def test_footprint_fwhm_and_normalisation():
    x = np.linspace(-3, 3, 600001)
    k = ns.footprint_kernel(x, 1.0)
    above = x[k >= k.max() / 2]
    assert above[-1] - above[0] == pytest.approx(1.0, abs=1e-4)
    assert integrate.quad(lambda u: ns.footprint_kernel(u, 1.0), -np.inf, np.inf)[0] == pytest.approx(1.0)


def test_step_smoothing_matches_2d_cosine_law_integral():
    # Independent route: integrate the 2-D ground weight h^2/(pi (r^2+h^2)^2) over
    # the wet half-plane (along-track coordinate > 0) seen from x.
    h = 1.0 / ns.FWHM_PER_HEIGHT
    edges = np.arange(-20.0, 20.0 + 1e-9, 0.1)
    rate = np.where(edges[:-1] >= 0.0, 12.0, 20.0)
    xs = np.array([-2.0, -0.3, 0.0, 1.0])
    got = ns.smoothed_rates(xs, edges, rate, 1.0)
    for x, g in zip(xs, got):
        frac_wet = integrate.dblquad(lambda y, u: h * h / (np.pi * ((u - x) ** 2 + y * y + h * h) ** 2),
                                     0.0, np.inf, -np.inf, np.inf)[0]
        assert g == pytest.approx(20.0 + (12.0 - 20.0) * frac_wet, abs=5e-3)
    # 10-90 % width of the smoothed step: x/sqrt(x^2+h^2) = 0.8 at x = 4h/3, so 8h/3
    fine = np.linspace(-3, 3, 60001)
    r = ns.smoothed_rates(fine, edges, rate, 1.0)
    frac = (20.0 - r) / 8.0
    width = fine[np.searchsorted(frac, 0.9)] - fine[np.searchsorted(frac, 0.1)]
    assert width == pytest.approx(8.0 / 3.0 * h, rel=2e-3)


# ---------------------------------------------------------------- counting

def test_poisson_mean_and_variance_along_track():
    rng = np.random.default_rng(1)
    n = 20000
    t = np.arange(n + 1.0)
    s = 0.1 * t
    edges = np.array([-100.0, 5000.0])
    ce, ct, me, mt = ns.simulate_track_counts(t, s, edges, [17.0], [35.0], rng)
    np.testing.assert_allclose(me, 17.0)
    for c, mu in ((ce, 17.0), (ct, 35.0)):
        assert c.mean() == pytest.approx(mu, abs=4 * np.sqrt(mu / n))
        # var of the sample variance of a Poisson ~ (mu + 2 mu^2)/n
        assert c.var() == pytest.approx(mu, abs=4 * np.sqrt((mu + 2 * mu * mu) / n))


def test_same_seed_same_counts():
    t = np.arange(101.0)
    a = ns.simulate_track_counts(t, 0.1 * t, [-5, 3, 20], [20, 15], [30, 40], np.random.default_rng(7))
    b = ns.simulate_track_counts(t, 0.1 * t, [-5, 3, 20], [20, 15], [30, 40], np.random.default_rng(7))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


# ---------------------------------------------------------------- retrieval

def _simulate_stops(rng, truth_w, truth_d, live_s, f, density=1500.0):
    epi, th = ns.two_layer_ratios(0.0, truth_w, truth_d * density * 0.1)
    ge = 1 + f * rng.standard_normal(truth_w.shape)
    gt = 1 + f * rng.standard_normal(truth_w.shape)
    return (rng.poisson(epi * NS.epi_dry_rate_cps * live_s * ge),
            rng.poisson(th * NS.th_dry_rate_cps * live_s * gt))


def test_credible_interval_coverage_over_200_stops():
    # Truths drawn from the prior: Bayesian intervals must cover at their level.
    rng = np.random.default_rng(2024)
    n = 200
    w = rng.uniform(0, 20, n)
    d = rng.uniform(0, 1.2, n)
    ne, nt = _simulate_stops(rng, w, d, 60.0, 0.02)
    post = ns.retrieve_two_layer(ne, nt, 60.0, n_weh=101, n_depth=61, systematic_frac=0.02)
    cov95_w = np.mean((post.weh_ci95_wt_pct[:, 0] <= w) & (w <= post.weh_ci95_wt_pct[:, 1]))
    cov68_w = np.mean((post.weh_ci68_wt_pct[:, 0] <= w) & (w <= post.weh_ci68_wt_pct[:, 1]))
    cov95_d = np.mean((post.depth_ci95_m[:, 0] <= d) & (d <= post.depth_ci95_m[:, 1]))
    assert 0.90 <= cov95_w <= 0.99, cov95_w
    assert 0.90 <= cov95_d <= 0.99, cov95_d
    assert 0.58 <= cov68_w <= 0.78, cov68_w


def test_log_uniform_prior_coverage_and_errors():
    """With ``weh_prior="log-uniform"`` the grid prior is 1/W per cell: truths drawn from exactly that prior
    (cell with probability ~ 1/W, uniform inside it) are covered at the intervals' level; a bad prior name
    is refused."""
    rng = np.random.default_rng(7)
    n, n_weh = 200, 101
    dw = 20.0 / n_weh
    centres = (np.arange(n_weh) + 0.5) * dw
    p = (1 / centres) / (1 / centres).sum()
    w = (rng.choice(n_weh, n, p=p) + rng.uniform(0, 1, n)) * dw
    d = rng.uniform(0, 1.2, n)
    ne, nt = _simulate_stops(rng, w, d, 60.0, 0.02)
    post = ns.retrieve_two_layer(ne, nt, 60.0, n_weh=n_weh, n_depth=61, systematic_frac=0.02, weh_prior="log-uniform")
    cov95_w = np.mean((post.weh_ci95_wt_pct[:, 0] <= w) & (w <= post.weh_ci95_wt_pct[:, 1]))
    cov95_d = np.mean((post.depth_ci95_m[:, 0] <= d) & (d <= post.depth_ci95_m[:, 1]))
    assert 0.90 <= cov95_w <= 0.99, cov95_w
    assert 0.90 <= cov95_d <= 0.99, cov95_d
    with pytest.raises(InputError, match="weh_prior"):
        ns.retrieve_two_layer(ne[:2], nt[:2], 60.0, weh_prior="flat")


def test_retrieval_recovers_buried_layer():
    rng = np.random.default_rng(3)
    ne, nt = _simulate_stops(rng, np.array([6.0]), np.array([0.3]), 600.0, 0.0)
    post = ns.retrieve_two_layer(ne, nt, 600.0, systematic_frac=0.0)
    assert post.weh_ci95_wt_pct[0, 0] <= 6.0 <= post.weh_ci95_wt_pct[0, 1]
    assert post.depth_ci95_m[0, 0] <= 0.3 <= post.depth_ci95_m[0, 1]
    assert post.depth_ci95_m[0, 1] - post.depth_ci95_m[0, 0] < 0.4
    np.testing.assert_allclose(post.posterior.sum(axis=(1, 2)), 1.0)


def test_segment_counts_sums_windows():
    t = np.arange(26.0)
    c = np.ones(25)
    sums, live, start = ns.segment_counts(c, t, 10.0)
    np.testing.assert_array_equal(sums, [10, 10, 5])
    np.testing.assert_array_equal(live, [10, 10, 5])
    np.testing.assert_array_equal(start, [0, 10, 20])


# ----------------------------------------------------------- detection limit

def test_detection_time_half_percent_analytic_and_simulated():
    f = 0.02
    t = float(ns.detection_time_s(0.5, 3.0, systematic_frac=f))
    # independent arithmetic: C0 = 20 cps, Cw = C0 C(W)/C0 from the NSS calibration's closed form
    c0 = 20.0
    cw = c0 / (1 + (0.005 ** (1 / 1.0990)) / 0.0256)
    assert t == pytest.approx(9 * cw / ((c0 - cw) ** 2 - 9 * f * f * c0 * c0), rel=1e-12)
    assert 3 < t < 10            # within the ~10 s a ~1 m footprint takes to pass at 0.1 m/s
    # simulation: D = R0 t - N with the reference rate known to 2 %
    rng = np.random.default_rng(11)
    m = 40000
    r0 = c0 * (1 + f * rng.standard_normal(m))
    d = r0 * t - rng.poisson(cw * t, m)
    assert d.mean() / d.std() == pytest.approx(3.0, rel=0.03)
    assert ns.detection_limit_wt_pct(t, 3.0, systematic_frac=f) == pytest.approx(0.5, rel=1e-6)


def test_detection_limit_floor_from_systematics():
    # with f = 3 %, a 3-sigma detection needs a deficit > 9 %: below ~0.13 wt% never
    assert np.isinf(ns.detection_time_s(0.1, 3.0, systematic_frac=0.03))
    assert np.isfinite(ns.detection_time_s(0.2, 3.0, systematic_frac=0.03))
    lim = ns.detection_limit_wt_pct(np.array([10.0, 100.0, 1e5]), systematic_frac=0.03)
    assert np.all(np.diff(lim) < 0)
    assert 1 - ns.epithermal_ratio(lim[-1]) == pytest.approx(0.09, rel=0.01)


# -------------------------------------------------------------- bad inputs

@pytest.mark.parametrize("call", [
    lambda: ns.epithermal_ratio(-1.0),
    lambda: ns.epithermal_ratio(101.0),
    lambda: ns.epithermal_ratio(np.nan),
    lambda: ns.retrieve_two_layer(-3, 10, 1.0),
    lambda: ns.retrieve_two_layer(np.nan, 10, 1.0),
    lambda: ns.retrieve_two_layer(3.5, 10, 1.0),
    lambda: ns.retrieve_two_layer(3, 10, 0.0),
    lambda: ns.segment_counts([1, 2], [0.0, 2.0, 1.0], 1.0),
    lambda: ns.simulate_track_counts([0.0, 1.0, 1.0], [0, 0, 0], [-1, 1], [1], [1], np.random.default_rng()),
    lambda: ns.simulate_track_counts([0.0, 1.0], [0, 0], [-1, 1], [1], [1], 42),
    lambda: ns.smoothed_rates([0.0], [-1, 1], [np.nan]),
    lambda: ns.detection_limit_wt_pct(-5.0),
])
def test_bad_inputs_raise_input_error(call):
    with pytest.raises(InputError):
        call()
