"""Random draws keyed by (seed, stream, month, firm, slot): their law, their independence, and the
common random numbers they give the arms of a comparison."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from sim import AllianceModel, load_config
from sim.config import check
from sim.rng import RandomStreams, Stream, beta_quantile

SEEDS = (0, 1, 2)


def test_keyed_uniforms_are_uniform_and_normals_normal():
    s = Stream(7, "firm_shocks")
    u = s.uniform(3, np.arange(200_000))
    assert 0.0 < u.min() and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-3, "expected keyed uniforms to pass a KS test"
    z = s.normal(3, np.arange(200_000))
    assert stats.kstest(z, "norm").pvalue > 1e-3, "expected keyed normals to pass a KS test"


@pytest.mark.parametrize("other", [dict(month=4), dict(slot="b"), dict(stream="exits"), dict(seed=8), dict(shift=1)])
def test_draws_under_different_keys_are_uncorrelated(other):
    ids = np.arange(100_000)
    base = Stream(7, "firm_shocks").uniform(3, ids, "a")
    stream = Stream(other.get("seed", 7), other.get("stream", "firm_shocks"))
    alt = stream.uniform(other.get("month", 3), ids + other.get("shift", 0), other.get("slot", "a"))
    r = np.corrcoef(base, alt)[0, 1]
    # Under independence r ~ N(0, 1/n): |r| < 5/sqrt(n) = 0.016 fails about once in 3 million.
    assert abs(r) < 0.016, f"expected draws under different keys to be uncorrelated, r = {r:.4f}"
    assert not np.array_equal(base, alt)


def test_a_firms_draw_does_not_depend_on_which_other_firms_draw():
    s = Stream(1, "alliance_search")
    every = s.uniform(5, np.arange(1000), "seek")
    some = np.array([3, 999, 17, 500])
    assert np.array_equal(s.uniform(5, some, "seek"), every[some])
    wide = s.normal(5, np.arange(1000), "contact", width=6)
    assert np.array_equal(s.normal(5, some, "contact", width=6), wide[some])
    assert np.array_equal(s.normal(5, some, "contact", width=3), wide[some, :3]), \
        "expected column j of a row of draws not to depend on how many columns are drawn"


def test_tabulated_beta_quantile_matches_the_exact_one():
    u = np.linspace(1e-6, 1 - 1e-6, 20_001)
    for a, b in ((2.0, 5.0), (2.0, 2.0), (0.8, 1.5), (5.0, 1.2)):
        err = np.abs(beta_quantile(a, b)(u) - special.betaincinv(a, b, u)).max()
        assert err < 1e-3, f"Beta({a}, {b}) tabulated quantile off by {err:.2e}"


def test_streams_are_pure_functions_of_their_keys():
    a, b = RandomStreams(3), RandomStreams(3)
    b["unrelated"].uniform(1, np.arange(10_000))  # another process draws first: nothing shifts
    ids = np.arange(50)
    for name in ("population", "exits", "policy:x"):
        assert np.array_equal(a[name].uniform(9, ids, "s"), b[name].uniform(9, ids, "s"))


def _model(*overrides):
    return AllianceModel(check(load_config(*overrides)))


def test_more_firms_leave_existing_firms_draws_and_lives_unchanged():
    """Without alliances and shared markets a firm's life depends only on its own draws and sector demand."""
    alone = ("alliances.enabled=false", "births.rate_monthly=0", "market.competition_intensity=0")
    small = _model("firms.n_firms=200", "months=48", *alone)
    big = _model("firms.n_firms=300", "months=48", *alone)
    small.run_for(48)
    big.run_for(48)
    ft_s, ft_b = small.firm_table(), big.firm_table().iloc[:200]
    for col in ("sector", "workers", "base_revenue", "capability", "death_month"):
        assert np.array_equal(ft_s[col].to_numpy(), ft_b[col].to_numpy()), \
            f"expected the first 200 firms' {col} not to change when 100 firms are added"
    assert np.allclose(small.firms.cash[:200], big.firms.cash[:200])


class DrawLog:
    """Records every keyed draw a model makes: (stream, month, slot, j, id) -> 64-bit word."""

    def __init__(self, monkeypatch):
        self.calls: list[tuple] = []
        original = Stream.bits

        def bits(stream, month, ids, slot="", width=None):
            out = original(stream, month, ids, slot, width)
            self.calls.append((stream.name, int(month), slot, np.asarray(ids).copy(), out.copy()))
            return out

        monkeypatch.setattr(Stream, "bits", bits)

    def take(self) -> dict:
        table = {}
        for name, month, slot, ids, out in self.calls:
            if np.size(ids) == 0:
                continue
            words = out.reshape(np.size(ids), -1)
            for key, row in zip(np.ravel(ids).tolist(), words.tolist()):
                for j, w in enumerate(row):
                    table[(name, month, slot, j, key)] = w
        self.calls = []
        return table


@pytest.mark.parametrize("policy", ["matchmaking", "training"])
def test_policy_arms_share_every_draw_of_firms_alive_in_both(monkeypatch, policy):
    """Two arms that differ only in a policy: a firm alive in both draws identical numbers for its
    shock, its closure lottery and, whenever it seeks in both, its search; entrants are identical."""
    log = DrawLog(monkeypatch)
    over = ("firms.n_firms=300", "months=40", "seed=5")
    pol = (f"policy={policy}", f"policies.{policy}.start_month=10", f"policies.{policy}.stop_month=40")
    base = _model(*over)
    base.run_for(40)
    drawn_base = log.take()
    arm = _model(*over, *pol)
    arm.run_for(40)
    drawn_arm = log.take()
    assert arm.summary()["public_cost"] > 0, "expected the policy arm to spend"

    common = drawn_base.keys() & drawn_arm.keys()
    assert all(drawn_base[k] == drawn_arm[k] for k in common), "expected one key to give one number in both arms"
    # Every firm alive in a month in both arms drew its shock and closure lottery in both.
    def firm_months(firms) -> set[tuple[int, int]]:
        n = firms.n
        return {(int(f), m) for f, b, d in zip(firms.firm_id[:n], firms.birth_month[:n], firms.death_month[:n])
                for m in range(max(b, 0) + 1, (d if d >= 0 else 41))}

    alive_b, alive_a = firm_months(base.firms), firm_months(arm.firms)
    both = alive_b & alive_a
    assert len(both) > 5000
    shock_keys = {("firm_shocks", m, "", 0, f) for f, m in both}
    assert shock_keys <= common, "expected every firm alive in both arms to draw its shock in both"
    # Entrants are identical: same number, same traits.
    fb, fa = base.firm_table(), arm.firm_table()
    assert len(fb) == len(fa)
    for col in ("sector", "locality", "founding_workers", "quality", "cooperativeness", "birth_month"):
        assert np.array_equal(fb[col].to_numpy(), fa[col].to_numpy()), f"expected identical entrants ({col})"
    # Before the window the two worlds are the same world.
    tb, ta = base.alliance_table(), arm.alliance_table()
    before_b = tb[tb.agreed_month < 10][["agreed_month", "members", "type"]]
    before_a = ta[ta.agreed_month < 10][["agreed_month", "members", "type"]]
    assert before_b.astype(str).equals(before_a.astype(str))
