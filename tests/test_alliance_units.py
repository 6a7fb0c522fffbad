"""Unit tests of the alliance building blocks: trust and control rules (sim.trust), the cluster
saving (sim.alliance_types), alliance outcome metrics (sim.metrics) on hand-made arrays, and
the candidate-source hook of the partner search (a broker)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import AllianceModel, alliance_types, metrics, trust
from sim.alliance_params import AllianceTypesConfig, BehaviourConfig, StructureConfig, TrustConfig
from sim.alliance_table import CAUSE, mean_over_partners, seat_all, seat_any, seat_max, seat_min, seat_sum
from sim.matching import serve_in_order
from tests.conftest import small_config

TC, BC, SC, TYC = TrustConfig(), BehaviourConfig(), StructureConfig(), AllianceTypesConfig()
#: No benefit taken by undetected opportunism this month (its erosion is tested in test_trust_dynamics.py).
NO_HIDDEN = 0.0
unit = st.floats(0.0, 1.0)


# ---------------------------------------------------------------------- trust
@settings(max_examples=50, deadline=None, derandomize=True)
@given(g=st.floats(0.2, 1.0), formal=unit)
def test_one_detected_act_costs_more_goodwill_than_one_good_month_builds(g, formal):
    """Above the exit threshold (0.2), losing trust is quicker than building it (defaults)."""
    good = trust.update_goodwill(np.array([g]), np.array([False]), np.array([formal]), NO_HIDDEN, TC)[0]
    bad = trust.update_goodwill(np.array([g]), np.array([True]), np.array([formal]), NO_HIDDEN, TC)[0]
    assert good >= g >= bad
    assert g - bad > good - g, f"expected loss {g - bad:.4f} > gain {good - g:.4f} at goodwill {g}, formal {formal}"


@pytest.mark.parametrize("g", [0.3, 0.5, 0.7, 0.9])
def test_recovering_from_one_detected_act_takes_several_good_months(g):
    """Starting at goodwill g with no formal control, one detected act takes at least 4 good months to undo
    (defaults: 4 at g=0.3, 7 at 0.5, 30 at 0.9)."""
    x = trust.update_goodwill(np.array([g]), np.array([True]), np.array([0.0]), NO_HIDDEN, TC)
    months = 0
    while x[0] < g and months < 1000:
        x = trust.update_goodwill(x, np.array([False]), np.array([0.0]), NO_HIDDEN, TC)
        months += 1
    assert months >= 4, f"expected >= 4 good months to recover from one detected act at goodwill {g}, took {months}"


def test_goodwill_stays_in_unit_interval_and_builds_towards_one():
    g = np.array([0.0, 0.35, 0.99, 1.0])
    for _ in range(200):
        g = trust.update_goodwill(g, np.zeros(4, bool), np.full(4, 0.5), NO_HIDDEN, TC)
        assert np.all((g >= 0) & (g <= 1))
    assert np.all(g > 0.99), f"expected goodwill to approach 1 after 200 good months, got {g}"


@settings(max_examples=50, deadline=None, derandomize=True)
@given(g=st.floats(0.0, 0.99), lo=st.floats(0.0, 0.5), hi=st.floats(0.51, 1.0), months=st.integers(1, 36))
def test_formal_control_crowds_out_goodwill(g, lo, hi, months):
    """Same history of good months, more formal control -> lower goodwill (crowding out > 0)."""
    a, b = np.array([g]), np.array([g])
    for _ in range(months):
        a = trust.update_goodwill(a, np.array([False]), np.array([lo]), NO_HIDDEN, TC)
        b = trust.update_goodwill(b, np.array([False]), np.array([hi]), NO_HIDDEN, TC)
    assert b[0] < a[0], f"expected lower goodwill with formal control {hi} than {lo}: {b[0]} vs {a[0]}"


def test_formal_control_is_formality_times_mean_of_behaviour_and_output_control():
    assert trust.formal_control(np.array([0.5]), np.array([0.4]), np.array([0.8]))[0] == pytest.approx(0.3)
    assert trust.formal_control(np.array([0.0]), np.array([1.0]), np.array([1.0]))[0] == 0.0


@pytest.mark.parametrize("channel", [0, 1, 2])
def test_detection_probability_rises_with_each_control(channel):
    """More of any one control (others fixed) detects more; with no control, only the base rate."""
    levels = np.linspace(0.0, 1.0, 11)
    args = [np.full(11, 0.3), np.full(11, 0.3), np.full(11, 0.3)]
    args[channel] = levels
    p = trust.detection_probability(*args, BC)
    assert np.all(np.diff(p) > 0), f"expected detection to rise with control channel {channel}, got {p}"
    assert np.all((p >= 0) & (p <= 1))
    zero = trust.detection_probability(np.zeros(1), np.zeros(1), np.zeros(1), BC)[0]
    assert zero == pytest.approx(BC.detection_base)


def test_control_cost_is_linear_in_each_control():
    cost = trust.control_cost(np.array([1.0, 0.0, 0.0, 0.5]), np.array([0.0, 1.0, 0.0, 0.5]),
                              np.array([0.0, 0.0, 1.0, 0.5]), SC)
    expected = [SC.cost_behaviour_control, SC.cost_output_control, SC.cost_social_control,
                0.5 * (SC.cost_behaviour_control + SC.cost_output_control + SC.cost_social_control)]
    np.testing.assert_allclose(cost, expected)


def test_choose_control_lower_goodwill_gives_more_control():
    """Trust and control substitute: lower initial goodwill -> more total control; formality splits it."""
    gw = np.linspace(0.0, 1.0, 21)
    formality = np.full(21, 0.4)
    cb, co, cs = trust.choose_control(gw, formality, SC)
    total = cb + co + cs
    assert np.all(np.diff(total) < 0), f"expected total control to fall as goodwill rises, got {total}"
    np.testing.assert_allclose(cb, co)
    assert np.all((cb >= 0) & (cb <= 1) & (cs >= 0) & (cs <= 1))
    assert np.all(cs > 0) and np.all(cb > 0), "expected both formal and social control at formality 0.4"


def test_choose_control_sets_each_formal_mechanism_to_the_formal_part():
    """Docstring: total control c = intensity * (base + substitution * (1 - goodwill)); behaviour and
    output control are each c * formality, social control c * (1 - formality)."""
    gw = np.array([0.2, 0.5, 0.8])
    formality = np.array([0.3, 0.6, 1.0])
    cb, co, cs = trust.choose_control(gw, formality, SC)
    c = SC.control_intensity * (SC.control_base + SC.control_trust_substitution * (1.0 - gw))
    np.testing.assert_allclose(cs, c * (1.0 - formality), err_msg="social control = (1 - formality) share of c")
    np.testing.assert_allclose(cb, c * formality, err_msg="behaviour control = formality share of c")
    np.testing.assert_allclose(co, c * formality, err_msg="output control = formality share of c")


def test_choose_control_scales_with_control_intensity_and_clips_at_one():
    gw, formality = np.array([0.5]), np.array([1.0])
    weak = trust.choose_control(gw, formality, StructureConfig(control_intensity=0.3))
    strong = trust.choose_control(gw, formality, StructureConfig(control_intensity=2.0))
    huge = trust.choose_control(np.array([0.0]), formality, StructureConfig(control_intensity=5.0))
    assert strong[0][0] > weak[0][0], "expected more behaviour control with a higher control_intensity"
    assert huge[0][0] == 1.0, "expected control clipped at 1"


def test_initial_trust_rises_with_capability_ties_and_brokerage():
    cap = np.array([0.0, 0.5, 1.0])
    g = trust.initial_goodwill(cap, np.zeros(3), TC)
    assert np.all(np.diff(g) > 0), "expected initial goodwill to rise with the partner's capability"
    assert trust.initial_goodwill(0.2, 1.0, TC) > trust.initial_goodwill(0.2, 0.0, TC), "expected prior ties to add"
    assert trust.initial_goodwill(0.2, 0.0, TC, 0.15) == pytest.approx(trust.initial_goodwill(0.2, 0.0, TC) + 0.15)
    assert trust.initial_goodwill(1.0, 1.0, TC, 1.0) == 1.0, "expected initial trust clipped at 1"
    assert trust.initial_goodwill(0.0, 0.0, TC) == pytest.approx(TC.goodwill_initial)


def test_competence_trust_builds_when_delivered_and_falls_with_shortfall():
    """Competence moves towards recent delivery capped at 1: over-delivery counts as full delivery."""
    c = np.full(4, 0.5)
    new = trust.update_competence(c, np.array([1.5, 1.0, 0.4, 0.0]), TC)
    assert new[0] == new[1] > 0.5 > new[2] > new[3], f"expected build at >=1 and deeper fall with shortfall, got {new}"


# ------------------------------------------------------------------ cluster saving
def test_cluster_saving_rises_with_pooled_volume_and_stays_below_max():
    revenue = np.array([1e3, 1e4, 2e4, 5e4, 1e5, 1e6, 1e8])
    firms = SimpleNamespace(input_cost_share=np.full(2 * len(revenue), 0.5),
                            base_revenue=np.repeat(revenue, 2))
    members = np.arange(2 * len(revenue)).reshape(-1, 2)
    s = alliance_types.cluster_saving(firms, members, members >= 0, TYC)
    assert np.all(np.diff(s) > 0), f"expected saving to rise with pooled volume, got {s}"
    assert np.all((s > 0) & (s < TYC.cluster_max_savings)), f"expected 0 < saving < max, got {s}"
    # Half the maximum when pooled purchases equal cluster_half_volume (2 x 0.5 x 2e4 = 2e4).
    assert s[2] == pytest.approx(0.5 * TYC.cluster_max_savings)


def test_cluster_saving_counts_only_seated_members():
    firms = SimpleNamespace(input_cost_share=np.array([0.5, 0.5, 0.5]), base_revenue=np.array([2e4, 2e4, 2e4]))
    dyad = np.array([[0, 1, -1]])
    trio = np.array([[0, 1, 2]])
    s2 = alliance_types.cluster_saving(firms, dyad, dyad >= 0, TYC)[0]
    s3 = alliance_types.cluster_saving(firms, trio, trio >= 0, TYC)[0]
    assert s3 > s2, "expected a third member's purchases to raise the saving"


def test_mean_over_partners_excludes_self_and_empty_seats():
    v = np.array([[1.0, 3.0, 9.0], [2.0, 4.0, 100.0]])
    valid = np.array([[True, True, True], [True, True, False]])
    out = mean_over_partners(v, valid)
    np.testing.assert_allclose(out[0], [6.0, 5.0, 2.0])
    np.testing.assert_allclose(out[1, :2], [4.0, 2.0])


# ---------------------------------------------------------------------- metrics
def test_alliance_end_share_on_hand_made_alliances():
    start = np.array([1, 10, 20, 30, 5, 70])
    end = np.array([30, 80, -1, 50, 65, 75])
    # formed by 60: first five; ended within 60 months: 1 (29), 4 (20), 5 (exactly 60) -> 3/5.
    assert metrics.alliance_end_share(start, end, horizon_month=130) == pytest.approx(3 / 5)
    assert metrics.alliance_end_share(np.array([61]), np.array([-1]), horizon_month=130) is None
    assert metrics.alliance_end_share(np.array([1, 2]), np.array([5, 9]), 130) == 1.0
    assert metrics.alliance_end_share(np.array([1, 2]), np.array([-1, -1]), 130) == 0.0


def test_alliance_end_share_is_unbiased_when_windows_are_censored():
    """Half the alliances last 10 months, half 100; one of each starts every month 1..60. The true
    share ending within 60 months is 0.5, at any horizon that observes enough windows (here 70)."""
    start = np.repeat(np.arange(1, 61), 2)
    duration = np.tile([10, 100], 60)
    horizon = 70
    end = np.where(start + duration <= horizon, start + duration, -1)
    full = metrics.alliance_end_share(start, start + duration, horizon_month=200)
    assert full == pytest.approx(0.5), "sanity: fully observed, the share is 0.5"
    est = metrics.alliance_end_share(start, end, horizon_month=horizon)
    assert est == pytest.approx(0.5, abs=0.05), f"expected about 0.5 at horizon {horizon}, got {est:.3f}"


def test_median_duration_without_censoring_is_the_plain_median():
    start = np.zeros(4, dtype=int)
    end = np.array([10, 20, 30, 40])
    assert metrics.median_duration(start, end, horizon_month=100) == pytest.approx(20.0)


def test_median_duration_accounts_for_censoring():
    """Kaplan-Meier: ends at 10 and 30 with two alliances still running at 50 -> S(10)=0.75, S(30)=0.5."""
    start = np.zeros(4, dtype=int)
    end = np.array([10, -1, -1, 30])
    assert metrics.median_duration(start, end, horizon_month=50) == pytest.approx(30.0)
    assert metrics.median_duration(start, np.full(4, -1), horizon_month=50) is None, (
        "expected no median while fewer than half have ended")
    assert metrics.median_duration(np.zeros(0, dtype=int), np.zeros(0, dtype=int), 50) is None


# ------------------------------------------------------------------ broker hook
class Broker:
    """A candidate source: offers each seeker ``k`` unallied firms of its own sector with a trust bonus,
    drawing from its own generator (never from the model's streams)."""

    def __init__(self, seed: int, k: int = 4, bonus: float = 0.3):
        self.rng = np.random.default_rng(seed)
        self.k, self.bonus = k, bonus
        self.offered: set[tuple[int, int, int]] = set()  # (month, seeker row, candidate row)
        self.calls = 0

    def __call__(self, model, seekers):
        self.calls += 1
        firms = model.firms
        n = firms.n
        cand = np.full((len(seekers), self.k), -1, dtype=np.int64)
        free = firms.alive[:n] & (firms.alliance_id[:n] < 0)
        for sec in np.unique(firms.sector[seekers]):
            pool = np.flatnonzero(free & (firms.sector[:n] == sec))
            mine = np.flatnonzero(firms.sector[seekers] == sec)
            if len(pool):
                cand[mine] = pool[self.rng.integers(0, len(pool), size=(len(mine), self.k))]
        for s, row in zip(seekers, cand):
            self.offered.update((model.month, int(s), int(c)) for c in row if c >= 0)
        return cand, np.where(cand >= 0, self.bonus, 0.0)


def test_broker_candidate_source_forms_alliances_with_higher_initial_goodwill():
    """Seeds 0-3, N=1000, 72 months: with the broker some alliances join seekers to offered candidates, those
    start with more goodwill than the others (by about the 0.3 bonus), and mean initial goodwill rises."""
    brokered_gw, other_gw, with_gw, without_gw = [], [], [], []
    for seed in (0, 1, 2, 3):
        base = AllianceModel.from_config(small_config(n=1000, months=72, seed=seed))
        base.run_for(72)
        without_gw.extend(base.alliance_table()["goodwill_initial"])

        m = AllianceModel.from_config(small_config(n=1000, months=72, seed=seed))
        broker = Broker(seed=1000 + seed)
        m.alliances.candidate_sources.append(broker)
        m.run_for(72)
        assert broker.calls > 0, "expected the search to consult the broker"
        t = m.alliances.table
        for a in range(t.n):
            key = (int(t.agreed_month[a]), int(t.members[a, 0]), int(t.members[a, 1]))
            (brokered_gw if key in broker.offered else other_gw).append(t.goodwill_initial[a])
        with_gw.extend(m.alliance_table()["goodwill_initial"])
    assert len(brokered_gw) > 50, f"expected >50 alliances formed with offered candidates, got {len(brokered_gw)}"
    gap = np.mean(brokered_gw) - np.mean(other_gw)
    assert 0.2 < gap < 0.35, f"expected brokered alliances to start with about 0.3 more goodwill, gap {gap:.3f}"
    assert np.mean(with_gw) > np.mean(without_gw), (
        f"expected higher mean initial goodwill with the broker: {np.mean(with_gw):.3f} vs {np.mean(without_gw):.3f}")


# ---------------------------------------------------------------- dissolution
def _seat_group(m, members):
    """A running cluster alliance of ``members`` (firm rows, in seat order) added by hand; its row."""
    t = m.alliances.table
    row = t.add_rows(1)
    t.active[row] = True
    t.members[row, : len(members)] = members
    m.firms.alliance_id[members] = row
    return int(row[0])


def test_dissolved_group_members_remember_partners_latest_first():
    """After a group ends, each member's past partners are its partners in reverse seat order, then the
    partners it remembered before, three in all; members are free and the cause is counted."""
    m = AllianceModel.from_config(small_config("alliances.structure.max_group_size=4", n=40))
    f = m.firms
    f.past_partners[3] = [20, 21, 22]
    group = _seat_group(m, [3, 7, 9])
    pair = _seat_group(m, [11, 12])
    proc = m.alliances
    proc.dissolve(np.array([group, pair]), np.full(2, CAUSE["lost_trust"]))
    assert f.past_partners[3].tolist() == [9, 7, 20], f"firm 3 remembers {f.past_partners[3].tolist()}"
    assert f.past_partners[7].tolist() == [9, 3, -1], f"firm 7 remembers {f.past_partners[7].tolist()}"
    assert f.past_partners[9].tolist() == [7, 3, -1], f"firm 9 remembers {f.past_partners[9].tolist()}"
    assert f.past_partners[11].tolist() == [12, -1, -1] and f.past_partners[12].tolist() == [11, -1, -1]
    assert np.all(f.alliance_id[[3, 7, 9, 11, 12]] == -1), "expected every member free"
    assert proc.ended_this_month["lost_trust"] == 2, "expected both ends counted under their cause"


def test_exit_of_a_member_leaves_a_group_running_and_ends_a_pair():
    """A member that closes leaves its group (which runs on with two) and ends its pair (partner exit)."""
    m = AllianceModel.from_config(small_config("alliances.structure.max_group_size=4", n=40))
    group = _seat_group(m, [3, 7, 9])
    pair = _seat_group(m, [11, 12])
    m.alliances.handle_exits(np.array([7, 12]))
    t, f = m.alliances.table, m.firms
    assert t.active[group] and t.members[group].tolist() == [3, -1, 9, -1], (
        f"expected the group to run on with firms 3 and 9, got {t.members[group].tolist()}")
    assert not t.active[pair] and t.end_cause[pair] == CAUSE["partner_exit"], "expected the pair ended by partner exit"
    assert f.alliance_id[7] == -1 and f.alliance_id[12] == -1 and f.alliance_id[11] == -1, (
        "expected the closed firms and the left partner out of any alliance")
    assert f.alliance_id[3] == group == f.alliance_id[9], "expected the remaining members still in the group"
    assert f.past_partners[11].tolist() == [-1, -1, -1], "expected no closed partner remembered from a pair"


# ------------------------------------------------------------ seat reductions
@pytest.mark.parametrize("seats", [1, 2, 3, 5, 7, 8, 20])
@pytest.mark.parametrize("rows", [1, 3, 1000])
def test_seat_reductions_give_numpy_reductions_to_the_bit(rows, seats):
    """seat_sum/any/all/min/max equal numpy's reductions over the last axis exactly (floats of mixed
    magnitudes, where the order of addition shows in the last bits; booleans count)."""
    rng = np.random.default_rng(seats * 1000 + rows)
    x = rng.random((rows, seats)) * 10.0 ** rng.integers(-6, 6, (rows, seats))
    flags = x > np.median(x)
    assert np.array_equal(seat_sum(x), x.sum(axis=-1)), "expected seat_sum == sum(axis=-1) bit for bit"
    assert np.array_equal(seat_sum(flags), flags.sum(axis=-1)) and seat_sum(flags).dtype == np.int64
    assert np.array_equal(seat_any(flags), flags.any(axis=-1)) and np.array_equal(seat_all(flags), flags.all(axis=-1))
    assert np.array_equal(seat_min(x), x.min(axis=-1)) and np.array_equal(seat_max(x), x.max(axis=-1))
    cube = rng.random((rows, seats, 4)) * 10.0 ** rng.integers(-6, 6, (rows, seats, 4))
    assert np.array_equal(seat_sum(cube) / 4, cube.mean(axis=2)), "expected resource means to the bit"


# ------------------------------------------------------------ conflict order
def _served_one_by_one(seeker, partner, group, room):
    """The serving loop that ``serve_in_order`` computes in rounds, written out (the reference)."""
    taken, room, stands = set(), dict(room), []
    for a, b, g in zip(seeker.tolist(), partner.tolist(), group.tolist()):
        ok = False
        if a not in taken:
            if g >= 0:
                if room[g] > 0:
                    room[g] -= 1
                    taken.add(a)
                    ok = True
            elif b not in taken:
                taken.update((a, b))
                ok = True
        stands.append(ok)
    return np.array(stands, dtype=bool)


@pytest.mark.parametrize("seed", range(40))
def test_proposals_served_in_rounds_stand_as_when_served_one_by_one(seed):
    """Crowded proposals (few firms, chains of shared partners, groups with few seats) give the same
    outcome as the one-by-one loop."""
    rng = np.random.default_rng(seed)
    count, firms = int(rng.integers(1, 60)), int(rng.integers(2, 40))
    seeker = rng.choice(firms, size=min(count, firms), replace=False)  # a firm seeks at most once a month
    partner = (seeker + rng.integers(1, firms, size=len(seeker))) % firms
    group = np.where(rng.random(len(seeker)) < 0.3, rng.integers(0, 4, len(seeker)), -1)
    partner = np.where(group >= 0, firms + group, partner)  # a group's member is allied, so it never seeks
    groups = np.unique(group[group >= 0])
    seats = rng.integers(0, 3, len(groups))
    expected = _served_one_by_one(seeker, partner, group, dict(zip(groups.tolist(), seats.tolist())))
    got = serve_in_order(seeker, partner, group, groups, seats)
    assert np.array_equal(got, expected), f"seed {seed}: rounds {got.astype(int)} vs loop {expected.astype(int)}"
