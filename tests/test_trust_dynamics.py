"""Trust and control carry the alliance outcomes: competence against expectations, goodwill from what is
seen and what is felt, control that works through its channels even when it is free."""

from __future__ import annotations

import numpy as np

from experiments.analysis.targets import relational_failure
from sim import trust
from tests.conftest import run_model, small_config

TC = small_config().alliances.trust


def _follow(delivery_per_month: np.ndarray, months: int = 60, noise: float = 0.3, seed: int = 0) -> float:
    """Competence trust after ``months`` of noisy delivery around ``delivery_per_month`` (12-month window)."""
    rng = np.random.default_rng(seed)
    k = len(delivery_per_month)
    ct, d = np.full(k, 0.4), np.ones(k)
    expected = np.full(k, 1000.0)
    for month in range(months):
        realized = expected * delivery_per_month * np.exp(noise * rng.standard_normal(k) - noise * noise / 2)
        w = max(1 / 12, 1 / (month + 1))
        d = trust.update_delivery(d, realized, expected, w)
        ct = trust.update_competence(ct, d, TC)
    return ct


def test_a_partner_that_delivers_what_was_expected_earns_high_competence_trust():
    """Delivery as expected (with 30% monthly noise) lifts competence trust above 0.8; half of it holds it near 0.5."""
    ct = _follow(np.array([1.0] * 500 + [0.5] * 500))
    full, half = ct[:500].mean(), ct[500:].mean()
    assert full > 0.8, f"expected competence trust > 0.8 for a partner delivering as expected, got {full:.3f}"
    assert 0.4 < half < 0.6, f"expected competence trust near 0.5 for half delivery, got {half:.3f}"


def test_competence_is_lost_faster_than_built():
    """From the same distance to the target, a month of shortfall moves trust more than a month of delivery."""
    up = trust.update_competence(np.array([0.5]), np.array([1.0]), TC) - 0.5
    down = 0.5 - trust.update_competence(np.array([0.5]), np.array([0.0]), TC)
    assert down > 2 * up, f"expected trust lost faster than built: down {down[0]:.3f}, up {up[0]:.3f}"


def test_undetected_opportunism_erodes_goodwill_and_formal_control_crowds_out_its_building():
    """Same goodwill, no act seen: a partner's hidden cheating lowers goodwill; formal control slows its growth."""
    g = np.full(3, 0.5)
    seen = np.zeros(3, dtype=bool)
    formal = np.array([0.0, 0.0, 1.0])
    hidden = np.array([0.0, 0.3, 0.0])
    out = trust.update_goodwill(g, seen, formal, hidden, TC)
    assert out[1] < out[0], "expected goodwill to erode under undetected opportunism"
    assert out[2] < out[0], "expected full formal control to crowd out goodwill building"
    caught = trust.update_goodwill(g, np.ones(3, dtype=bool), formal, hidden, TC)
    assert np.all(caught < out[0] - 0.1), "expected a detected act to cut goodwill fast"


def test_control_changes_goodwill_and_continuation_even_when_free():
    """Control priced at zero: intensity 2.0 against 0.5 (seeds 0-3, N = 1,500, 120 months) detects more
    opportunism, lowers goodwill and raises relational failure within 60 months by at least 0.04: its
    effect runs through deterrence, detection and crowding out, not through its price."""
    free = ("alliances.structure.cost_behaviour_control=0", "alliances.structure.cost_output_control=0",
            "alliances.structure.cost_social_control=0")
    out = {}
    for intensity in (0.5, 2.0):
        fail, goodwill, detected = [], [], []
        for seed in range(4):
            m = run_model(small_config(*free, f"alliances.structure.control_intensity={intensity}",
                                       n=1500, months=120, seed=seed))
            at = m.alliance_table()
            fail.append(relational_failure(m))
            goodwill.append(at["goodwill_final"].mean())
            acts = at["opportunism_detected"] + at["opportunism_undetected"]
            detected.append(at["opportunism_detected"].sum() / max(acts.sum(), 1))
        out[intensity] = (np.mean(fail), np.mean(goodwill), np.mean(detected))
    (f_lo, g_lo, d_lo), (f_hi, g_hi, d_hi) = out[0.5], out[2.0]
    assert d_hi > d_lo, f"expected more control to detect a larger share of acts ({d_lo:.3f} -> {d_hi:.3f})"
    assert g_hi < g_lo, f"expected more control to end with less goodwill ({g_lo:.3f} -> {g_hi:.3f})"
    assert f_hi - f_lo >= 0.04, f"expected relational failure to rise by >= 0.04 ({f_lo:.3f} -> {f_hi:.3f})"
