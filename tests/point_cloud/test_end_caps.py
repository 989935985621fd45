"""End-cap centres: the circle fit with per-point radii, on analytic caps."""

from __future__ import annotations

import numpy as np
import pytest

from point_cloud.end_caps import CAP_EXPONENT, cap_centre, circle_centre


def cap_flank(centre_u: float, sign: float, n: int = 400, seed: int = 0,
              half_width: float = 3.0, height: float = 2.0,
              v_range: tuple[float, float] = (-2.5, 2.5)) -> tuple[np.ndarray, np.ndarray]:
    """(uv, height) of points on the nominal cap around ``(centre_u, 0)``, outward ``sign``."""
    rng = np.random.default_rng(seed)
    rho = rng.uniform(0.3, 1.0, n)
    theta = rng.uniform(-np.pi / 2, np.pi / 2, n)
    u = centre_u + sign * half_width * rho * np.cos(theta)
    v = half_width * rho * np.sin(theta)
    keep = (v >= v_range[0]) & (v <= v_range[1])
    h = height * (1.0 - rho**2) ** CAP_EXPONENT
    return np.column_stack([u, v])[keep], h[keep]


def test_circle_fit_with_known_radii_is_exact_on_an_arc():
    rng = np.random.default_rng(1)
    theta = rng.uniform(-1.0, 1.0, 50)
    radii = rng.uniform(1.5, 2.5, 50)
    true = np.array([17.3, -0.2])
    pts = true + radii[:, None] * np.column_stack([np.cos(theta), np.sin(theta)])
    fit = circle_centre(pts, radii, np.array([17.0, 0.0]))
    assert fit is not None
    np.testing.assert_allclose(fit, true, atol=1e-6)


@pytest.mark.parametrize("sign", [-1.0, 1.0])
def test_cap_centre_of_a_noisy_cap_within_0p02_mm(sign):
    uv, h = cap_flank(sign * 17.0, sign, n=2000)
    h = h + np.random.default_rng(2).normal(0.0, 0.02, len(h))  # scanner noise
    u = cap_centre(uv, h, np.ones(len(h), dtype=bool), sign, sign * 18.5, 3.0, 2.0)
    assert u is not None
    assert u == pytest.approx(sign * 17.0, abs=0.02)


def test_a_wrong_nominal_width_moves_both_caps_alike():
    # the bead's centre is the caps' midpoint: a 5 % width error must cancel there
    ends = []
    for sign in (-1.0, 1.0):
        uv, h = cap_flank(sign * 17.0 + 0.4, sign, n=2000, half_width=3.15)
        ends.append(cap_centre(uv, h, np.ones(len(h), dtype=bool), sign, sign * 18.5 + 0.4,
                               3.0, 2.0))
    assert None not in ends
    assert ends[1] - ends[0] == pytest.approx(34.0, abs=0.3)
    assert 0.5 * (ends[0] + ends[1]) == pytest.approx(0.4, abs=0.01)


def test_a_cap_in_shadow_gives_none():
    uv, h = cap_flank(17.0, 1.0, n=2000)
    seen = uv[:, 0] < 17.2  # the shadow takes everything beyond the cap's centre
    assert cap_centre(uv[seen], h[seen], np.ones(int(seen.sum()), dtype=bool), 1.0, 18.5,
                      3.0, 2.0) is None
