"""Policy instruments: each pays out, moves its own target, respects its window, budget and
eligibility, draws only from its own stream, and bad instrument settings stop before the run.

Effects are measured on paired worlds: the same seeds with and without the instrument
(N=2000 firms, 60 months, window [6, 48) set explicitly). What happened at the moment of
each payment (the firm's cash, capability, alliance) is recorded by a spy that wraps the
instrument's ``pay`` and hooks; nothing in the model is changed.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from sim import AllianceModel, ConfigError, load_config
from sim.alliance_types import TYPE
from sim.policies import REGISTRY
from sim.policies.training import first_by_priority
from sim.rng import RandomStreams
from tests.conftest import PROJECT_ROOT, SEEDS, run_cli_cases

N = 2000
MONTHS = 60
START, STOP = 6, 48
#: Every registered instrument: a new one meets the shared tests below with no list here to extend.
INSTRUMENTS = tuple(REGISTRY)
#: Firm traits drawn at founding that no process changes afterwards.
FOUNDING_TRAITS = ("firm_id", "sector", "locality", "founding_workers", "birth_month", "input_cost_share",
                   "worker_cost", "quality", "owner_age", "volatility", "exposure", "cooperativeness", "planned",
                   "goal", "resources")
DEMAND_COLUMNS = ["demand_commerce", "demand_services", "demand_manufacturing"]
GROSS = ("cash", "in_kind", "loan")  # every form but repayments counts against the budget


def test_registry_covers_every_instrument_kind_and_config_file():
    """Each policy file under configs/policy/ (but none.yaml) names a registered kind, and each registered
    class has its kind as key and a configs/policy/<kind>.yaml."""
    files = {p.stem for p in (PROJECT_ROOT / "configs" / "policy").glob("*.yaml")} - {"none"}
    assert files == set(REGISTRY), f"expected one policy file per instrument {sorted(REGISTRY)}, got {sorted(files)}"
    for kind, cls in REGISTRY.items():
        assert cls.kind == kind, f"expected {cls.__name__}.kind == {kind!r}, got {cls.kind!r}"
        assert (PROJECT_ROOT / "configs" / "policy" / f"{kind}.yaml").is_file(), f"expected configs/policy/{kind}.yaml"


#: A complete instrument module, as a new one would be written: a Policy subclass with a kind and Params.
TOY_INSTRUMENT = """
from dataclasses import dataclass

from sim.params import param
from sim.policies.base import Policy


@dataclass
class Params:
    amount: float = param(1.0, 0, 10, "currency", "paid to each eligible firm")


class ToyGrant(Policy):
    kind = "toy_grant"
    Params = Params
"""


def test_a_new_instrument_module_is_registered_and_accepted_by_the_validation(tmp_path, monkeypatch):
    """Adding an instrument is one module: dropped into the package it is in the registry the discovery
    builds, and once registered the validation accepts its kind everywhere a kind is named."""
    import sys

    import sim.policies as policies
    (tmp_path / "toy_grant.py").write_text(TOY_INSTRUMENT)
    monkeypatch.setattr(policies, "__path__", [*policies.__path__, str(tmp_path)])
    monkeypatch.delitem(sys.modules, "sim.policies.toy_grant", raising=False)
    found = policies._instruments()
    sys.modules.pop("sim.policies.toy_grant", None)
    assert set(found) == set(REGISTRY) | {"toy_grant"}, f"expected the new kind registered, got {sorted(found)}"
    assert found["toy_grant"].Params().amount == 1.0

    monkeypatch.setitem(REGISTRY, "toy_grant", found["toy_grant"])
    cfg = load_config("experiment=policy_compare", "experiment.instruments=[toy_grant,credit]",
                      "experiment.instrument=toy_grant", "+policies.toy={kind:toy_grant,params:{amount:2.0}}")
    assert list(cfg.experiment.instruments) == ["toy_grant", "credit"] and cfg.policies.toy.kind == "toy_grant"
    with pytest.raises(ConfigError, match=r"policies\.toy\.params\.amount"):
        load_config("+policies.toy={kind:toy_grant,params:{amount:20.0}}")


def test_an_unregistered_kind_is_refused_naming_the_registered_ones():
    """A kind that no instrument module defines is refused in one line listing every registered kind."""
    for override, path in (("experiment.instruments=[toy_grant]", "experiment.instruments"),
                           ("experiment.instrument=toy_grant", "experiment.instrument"),
                           ("+policies.toy={kind:toy_grant}", "policies.toy.kind")):
        with pytest.raises(ConfigError) as info:
            load_config(override)
        assert path in str(info.value) and all(kind in str(info.value) for kind in REGISTRY), (
            f"expected {path} and every registered kind named: {info.value}")


def test_empty_instrument_list_compares_every_registered_instrument():
    """experiment.instruments=[] (the default) means every instrument of the registry, written into the config."""
    from sim.config import check
    cfg = check(load_config("experiment=policy_compare", "experiment.instruments=[]"))
    assert cfg.experiment.instruments == list(REGISTRY), f"expected {list(REGISTRY)}, got {cfg.experiment.instruments}"


# ---------------------------------------------------------------------------- helpers
def window(name: str, start: int = START, stop: int = STOP) -> list[str]:
    return [f"policies.{name}.start_month={start}", f"policies.{name}.stop_month={stop}"]


class Spy:
    """Wraps one instrument's ``pay`` and hooks (instance attributes; the class is untouched).

    ``payments``: per call of ``pay``, the month, rows, requested and paid amounts, form, and
    the firms' cash, capability and alliance just before the payment. ``hooks``: per hook call,
    the month, hook name and the capability column before and after it, and for
    ``after_alliance_costs`` the running costs of every active alliance seat at that moment.
    """

    def __init__(self, model: AllianceModel, policy):
        self.model, self.policy = model, policy
        self.payments: list[dict] = []
        self.hooks: list[dict] = []
        orig_pay = policy.pay

        def pay(rows, amounts, form="cash"):
            t = model.firms
            rows = np.asarray(rows, dtype=np.int64)
            rec = {"month": model.month, "rows": rows.copy(), "requested": np.array(amounts, dtype=float),
                   "form": form, "cash": t.cash[rows].copy(), "capability": t.capability[rows].copy(),
                   "alliance_id": t.alliance_id[rows].copy()}
            paid = orig_pay(rows, amounts, form)
            rec["paid"] = np.array(paid, dtype=float)
            self.payments.append(rec)
            return paid

        policy.pay = pay
        for name in policy.HOOKS:
            if getattr(policy, name, None) is not None:
                setattr(policy, name, self._wrap(name, getattr(policy, name)))

    def _wrap(self, name, orig):
        def hook(*args):
            m = self.model
            n = m.firms.n
            rec = {"month": m.month, "hook": name, "cap_before": m.firms.capability[:n].copy()}
            if name == "after_alliance_costs" and m.alliances is not None:
                t = m.alliances.table
                act = t.active_rows()
                seat = t.members[act] >= 0
                rec["seat_rows"] = t.members[act][seat]
                rec["seat_kind"] = np.broadcast_to(t.kind[act][:, None], seat.shape)[seat]
                rec["seat_cost"] = t.cost_month[act][seat].copy()
            out = orig(*args)
            rec["cap_after"] = m.firms.capability[:n].copy()
            self.hooks.append(rec)
            return out
        return hook

    def frame(self) -> pd.DataFrame:
        """One row per requested payment (including unpaid ones)."""
        if not self.payments:
            return pd.DataFrame(columns=["month", "row", "requested", "paid", "form", "cash", "capability",
                                         "alliance_id"])
        return pd.concat([pd.DataFrame({"month": p["month"], "row": p["rows"], "requested": p["requested"],
                                        "paid": p["paid"], "form": p["form"], "cash": p["cash"],
                                        "capability": p["capability"], "alliance_id": p["alliance_id"]})
                          for p in self.payments], ignore_index=True)


class ClusterCostProbe:
    """Model-level probe (works without any policy): running costs of cluster alliances per month."""

    def __init__(self, model: AllianceModel):
        self.gross: dict[int, float] = {}
        self.seats: dict[int, int] = {}
        orig = model.policies.run

        def run(hook, *args):
            if hook == "after_alliance_costs" and model.alliances is not None:
                t = model.alliances.table
                act = t.active_rows()
                act = act[t.kind[act] == TYPE["cluster"]]
                seat = t.members[act] >= 0
                self.gross[model.month] = float(t.cost_month[act][seat].sum())
                self.seats[model.month] = int(seat.sum())
            return orig(hook, *args)

        model.policies.run = run


@functools.lru_cache(maxsize=None)
def world(instrument: str | None, seed: int, extra: tuple[str, ...] = (), n: int = N, months: int = MONTHS,
          start: int = START, stop: int = STOP):
    """(model, spy of the first policy or None, cluster cost probe) after a full run; cached."""
    overrides = [f"firms.n_firms={n}", f"months={months}", f"seed={seed}"]
    if instrument is not None:
        overrides += [f"policy={instrument}", *window(instrument, start, stop)]
    cfg = load_config(*overrides, *extra)
    m = AllianceModel.from_config(cfg)
    spy = Spy(m, m.policies.items[0]) if m.policies.items else None
    probe = ClusterCostProbe(m)
    m.workforce = [m.firms.workers[: m.firms.n].copy()]  # workers by row at the end of each month (index = month)
    m.observers.append(lambda model: model.workforce.append(model.firms.workers[: model.firms.n].copy()))
    m.run_for(months)
    return m, spy, probe


def workers_at(m: AllianceModel, rows: np.ndarray, months: np.ndarray, end_of: int) -> np.ndarray:
    """Each row's workforce at the end of month ``months + end_of`` (firms grow and shrink, sim.learning)."""
    return np.array([m.workforce[mo + end_of][r] if r < len(m.workforce[mo + end_of]) else -1
                     for r, mo in zip(rows, months)])


def row_of(m: AllianceModel) -> dict[int, int]:
    """firm_id -> row."""
    return {int(f): r for r, f in enumerate(m.firms.firm_id[: m.firms.n])}


def rows_for(m: AllianceModel, firm_ids) -> np.ndarray:
    lookup = row_of(m)
    return np.array([lookup[int(f)] for f in firm_ids], dtype=np.int64)


def memberships(m: AllianceModel) -> pd.DataFrame:
    """One row per (alliance, member): firm_id, alliance type, agreement, start (-1 = talks never
    completed) and end month (-1 = active)."""
    a = m.alliance_table()
    out = a[["alliance_id", "members", "type", "agreed_month", "start_month", "end_month"]].explode("members")
    return out.rename(columns={"members": "firm_id"}).astype({"firm_id": "int64"})


def allied_at_month_start(m: AllianceModel, firm_ids, months) -> np.ndarray:
    """Whether each firm sat in an alliance at the start of the month (formed earlier, not yet ended).

    Alliances form after the start-of-month hook and end after trading or at exit, so at the
    start of month t a firm is allied iff an alliance of it started before t and ended at t or later.
    """
    ms = memberships(m)
    ms = ms[ms["start_month"] >= 0]
    by_firm = {f: g[["start_month", "end_month"]].to_numpy() for f, g in ms.groupby("firm_id")}
    out = []
    for f, t in zip(firm_ids, months):
        spans = by_firm.get(int(f))
        out.append(spans is not None and bool(np.any((spans[:, 0] < t) & ((spans[:, 1] < 0) | (spans[:, 1] >= t)))))
    return np.array(out, dtype=bool)


def ledger_of(m: AllianceModel, instrument: str) -> pd.DataFrame:
    led = m.ledger.table()
    return led[led["instrument"] == instrument].reset_index(drop=True)


def in_window_formed(m: AllianceModel) -> pd.DataFrame:
    a = m.alliance_table()
    return a[(a["start_month"] >= START) & (a["start_month"] < STOP)]


# ------------------------------------------------------------- every instrument pays out
@pytest.mark.parametrize("instrument", INSTRUMENTS)
def test_instrument_pays_out_within_window_and_budget(instrument):
    """Over the seed list each instrument pays something; every gross payment falls in [6, 48);
    gross payments never exceed the budget and what came back to it (a revolving fund lends its
    repayments again) and equal the instrument's ``spent``."""
    for seed in SEEDS:
        m, _, _ = world(instrument, seed)
        pol = m.policies.items[0]
        led = ledger_of(m, instrument)
        gross = led[led["form"].isin(GROSS)]
        assert gross["amount"].sum() > 0, f"{instrument} seed {seed}: expected payments > 0, ledger is empty"
        assert (gross["amount"] > 0).all(), f"{instrument} seed {seed}: expected every gross payment > 0"
        outside = gross[(gross["month"] < START) | (gross["month"] >= STOP)]
        assert outside.empty, (f"{instrument} seed {seed}: expected no payment outside [{START}, {STOP}), "
                               f"got months {sorted(outside['month'].unique())}")
        total = float(gross["amount"].sum())
        cap = pol.cfg.budget + pol.recovered()
        assert total <= cap * (1 + 1e-12), (
            f"{instrument} seed {seed}: gross payments {total:,.2f} exceed the budget and recoveries {cap:,.2f}")
        assert total == pytest.approx(pol.spent, rel=1e-9), (
            f"{instrument} seed {seed}: expected ledger gross {total:,.2f} == spent {pol.spent:,.2f}")
        assert m.ledger.paid_out(instrument) == pytest.approx(total, rel=1e-12)
        assert m.summary()["public_cost"] == pytest.approx(led["amount"].sum(), rel=1e-12), (
            "expected summary public_cost == the net ledger total")


# ------------------------------------------------------------------ formation grant
def test_formation_grant_pays_cash_only_to_members_of_alliances_formed_that_month():
    """Each grant row is cash, paid in the month an alliance of that firm was agreed, and equals
    grant_share x (formation_cost + formation_cost_formal x formality) of that alliance."""
    for seed in SEEDS[:3]:
        m, _, _ = world("formation_grant", seed)
        led = ledger_of(m, "formation_grant")
        assert set(led["form"]) == {"cash"}, f"seed {seed}: expected only cash grants, got {set(led['form'])}"
        ms = memberships(m).merge(m.alliance_table()[["alliance_id", "formality"]], on="alliance_id")
        hit = led.merge(ms, left_on=["firm_id", "month"], right_on=["firm_id", "agreed_month"], how="left")
        missing = hit[hit["alliance_id"].isna()]
        assert missing.empty, (f"seed {seed}: expected every grant to go to a member of an alliance formed "
                               f"that month; {len(missing)} did not, e.g. {missing.head(3).to_dict('records')}")
        sc, share = m.cfg.alliances.structure, m.policies.items[0].p.grant_share
        expected = share * (sc.formation_cost + sc.formation_cost_formal * hit["formality"])
        assert np.allclose(hit["amount"], expected, rtol=1e-12), (
            f"seed {seed}: expected each grant == {share} x that alliance's formation fee")
        assert len(hit) == len(led), f"seed {seed}: expected one alliance per grant row"


def test_formation_grant_raises_seekers_and_alliances_formed():
    """Paired against the same seeds without it, the grant (which also lowers the cash needed to
    afford a search) brings more seekers and forms at least 2% more alliances in the window, on
    average over the six seeds and in at least four of them. (Once firms invest, a grant-funded
    alliance moves later partner searches and single seeds can go the other way: seed 5 forms 3
    fewer of about 80.)"""
    seek, rel = [], []
    for seed in SEEDS:
        b, _, _ = world(None, seed)
        p, _, _ = world("formation_grant", seed)
        sb, sp = b.series(), p.series()
        win = lambda s: s[(s["month"] >= START) & (s["month"] < STOP)]  # noqa: E731
        seek.append(win(sp)["seekers"].sum() - win(sb)["seekers"].sum())
        rel.append(len(in_window_formed(p)) / len(in_window_formed(b)) - 1)
    assert np.mean(seek) > 0 and sum(d > 0 for d in seek) >= 4, f"expected more seekers with the grant, got {seek}"
    assert sum(r > 0 for r in rel) >= 4, f"expected more alliances with the grant in most seeds, got {rel}"
    assert np.mean(rel) >= 0.02, f"expected >= 2% more alliances formed on average, got {np.mean(rel):.1%}"


# ---------------------------------------------------------------------- matchmaking
def test_matchmaking_books_in_kind_service_to_eligible_seekers():
    """Matchmaking payments are in kind, service_cost each, to unallied firms old enough to seek."""
    for seed in SEEDS[:3]:
        m, spy, _ = world("matchmaking", seed)
        led = ledger_of(m, "matchmaking")
        pol = m.policies.items[0]
        assert len(led) > 0 and set(led["form"]) == {"in_kind"}, (
            f"seed {seed}: expected in-kind rows only, got {led['form'].value_counts().to_dict()}")
        assert np.allclose(led["amount"], pol.p.service_cost), (
            f"seed {seed}: expected every service booked at service_cost={pol.p.service_cost}")
        pays = spy.frame()
        pays = pays[pays["paid"] > 0]
        assert (pays["alliance_id"] < 0).all(), f"seed {seed}: expected served seekers to be unallied"
        age = pays["month"] - m.firms.birth_month[pays["row"].to_numpy()]
        assert (age >= m.cfg.alliances.search.min_age_months).all(), (
            f"seed {seed}: expected served seekers at least min_age_months old, youngest {age.min()}")


def test_matchmaking_raises_initial_goodwill_of_alliances_formed_in_window():
    """Brokered trust: alliances formed inside the window start with more goodwill (by >= 0.05 on
    average, each seed) than the same seed's alliances without the broker."""
    for seed in SEEDS:
        b, _, _ = world(None, seed)
        p, _, _ = world("matchmaking", seed)
        gb, gp = in_window_formed(b)["goodwill_initial"].mean(), in_window_formed(p)["goodwill_initial"].mean()
        assert gp >= gb + 0.05, f"seed {seed}: expected initial goodwill >= {gb:.3f} + 0.05, got {gp:.3f}"


def test_brokered_partners_are_old_enough_to_ally():
    """No alliance member is younger than alliances.search.min_age_months when the alliance is agreed."""
    m, _, _ = world("matchmaking", SEEDS[0])
    ms = memberships(m)
    ms = ms[ms.groupby(level=0).cumcount() < 2]  # the two founders (a replacement partner joins later)
    age = ms["agreed_month"].to_numpy() - m.firms.birth_month[rows_for(m, ms["firm_id"])]
    young = int((age < m.cfg.alliances.search.min_age_months).sum())
    assert young == 0, f"expected no member younger than min_age_months at formation, got {young}"


# ------------------------------------------------------------------------- training
def test_training_raises_capability_of_each_trainee_once_in_kind():
    """Training is booked in kind at cost_per_trainee; each firm at most once; the hook raises
    exactly the trainees' capability by capability_gain x (1 - capability) and nobody else's."""
    for seed in SEEDS[:3]:
        m, spy, _ = world("training", seed)
        pol = m.policies.items[0]
        led = ledger_of(m, "training")
        assert set(led["form"]) == {"in_kind"}, f"seed {seed}: expected in-kind only, got {set(led['form'])}"
        assert led["firm_id"].is_unique, f"seed {seed}: expected each firm trained at most once"
        assert np.allclose(led["amount"], pol.p.cost_per_trainee), f"seed {seed}: expected cost_per_trainee each"
        assert led.groupby("month").size().max() <= pol.p.trainees_per_month, (
            f"seed {seed}: expected at most trainees_per_month={pol.p.trainees_per_month} a month")
        for rec in (h for h in spy.hooks if h["hook"] == "start_of_month"):
            trained = rows_for(m, led.loc[led["month"] == rec["month"], "firm_id"])
            before, after = rec["cap_before"], rec["cap_after"]
            expect = before.copy()
            expect[trained] += pol.p.capability_gain * (1.0 - before[trained])
            assert np.allclose(after, expect, rtol=0, atol=1e-12), (
                f"seed {seed} month {rec['month']}: expected only trainees' capability to rise by gain x gap")


def test_trained_firms_end_with_higher_capability_than_without_training():
    """Same seed without the policy: the trained firms' final capability is higher by >= 0.1 on
    average (the course closes 30% of a gap of about 0.7)."""
    for seed in SEEDS:
        b, _, _ = world(None, seed)
        p, _, _ = world("training", seed)
        rows = rows_for(p, ledger_of(p, "training")["firm_id"])
        diff = p.firms.capability[rows] - b.firms.capability[rows]
        assert diff.mean() >= 0.1, f"seed {seed}: expected trainees' capability higher by >= 0.1, got {diff.mean():.3f}"


# --------------------------------------------------------------------------- credit
def test_rescue_line_lends_only_to_firms_short_of_cash_and_books_repayments_negative():
    """Rescue mode: loans are positive 'loan' rows to firms with cash < 0 at that moment, never more than the
    shortfall or the line; repayments are negative 'repayment' rows from earlier borrowers."""
    for seed in SEEDS[:3]:
        m, spy, _ = world("credit", seed, RESCUE)
        pol = m.policies.items[0]
        led = ledger_of(m, "credit")
        assert set(led["form"]) <= {"loan", "repayment"}, f"seed {seed}: unexpected forms {set(led['form'])}"
        loans, reps = led[led["form"] == "loan"], led[led["form"] == "repayment"]
        assert len(loans) > 0 and (loans["amount"] > 0).all(), f"seed {seed}: expected positive loans"
        assert len(reps) > 0 and (reps["amount"] < 0).all(), f"seed {seed}: expected negative repayments"
        pays = spy.frame()
        lent = pays[pays["paid"] > 0]
        assert (lent["cash"] < 0).all(), (f"seed {seed}: expected no loan to a firm with cash >= 0; max cash "
                                          f"before a loan {lent['cash'].max():.2f}")
        assert (lent["paid"] <= -lent["cash"] + 1e-9).all(), f"seed {seed}: expected loans <= the shortfall"
        line = pol.p.line_months * m.firms.fixed_cost[lent["row"].to_numpy()]
        assert (lent["paid"] <= line + 1e-9).all(), f"seed {seed}: expected each loan within the credit line"
        assert (loans["month"] < STOP).all(), f"seed {seed}: expected no loan after the window closes"
        first_loan = loans.groupby("firm_id")["month"].min()
        late = reps[reps["month"] <= reps["firm_id"].map(first_loan).fillna(np.inf)]
        assert late.empty, f"seed {seed}: expected repayments only after a firm's first loan"


def test_credit_repayments_continue_after_the_window_closes():
    """Window [6, 12): loans stop at month 12, repayments go on being collected after it."""
    after, late_loans = [], []
    for seed in SEEDS[:3]:
        led = ledger_of(world("credit", seed, RESCUE, N, MONTHS, 6, 12)[0], "credit")
        after.append(int(((led["form"] == "repayment") & (led["month"] >= 12)).sum()))
        late_loans.append(int(((led["form"] == "loan") & (led["month"] >= 12)).sum()))
    assert sum(late_loans) == 0, f"expected no loan from month 12, got counts {late_loans}"
    assert sum(after) > 0, f"expected repayments after the window closes, got counts {after}"


def test_rescue_line_keeps_firms_alive_that_would_have_exited():
    """Rescue mode: in the first loan month the worlds are identical up to then: every borrower exits that
    month without credit; with credit, every borrower whose shortfall was fully covered survives it."""
    for seed in SEEDS[:3]:
        b, _, _ = world(None, seed)
        p, spy, _ = world("credit", seed, RESCUE)
        pays = spy.frame()
        lent = pays[pays["paid"] > 0]
        t0 = int(lent["month"].min())
        first = lent[lent["month"] == t0]
        rows = first["row"].to_numpy()
        assert (b.firms.death_month[rows] == t0).all(), (
            f"seed {seed}: expected the month-{t0} borrowers to exit at {t0} without credit, got "
            f"{np.unique(b.firms.death_month[rows])}")
        covered = rows[np.isclose(first["paid"], -first["cash"], rtol=1e-12)]
        assert len(covered) > 0, f"seed {seed}: expected some shortfalls fully covered"
        # >= 95%, not all: a solvent firm may still close that month for outside reasons (firms.p_closure).
        survived = np.mean(p.firms.death_month[covered] != t0)
        assert survived >= 0.95, (
            f"seed {seed}: expected fully covered borrowers to survive month {t0}, only {survived:.1%} did")


def test_credit_adds_firm_years():
    """Over the seed list, credit adds firm-years against the same seeds without it (every seed)."""
    extra = []
    for seed in SEEDS:
        b, _, _ = world(None, seed)
        p, _, _ = world("credit", seed)
        extra.append(p.summary()["firm_years"] - b.summary()["firm_years"])
    assert all(e > 0 for e in extra), f"expected more firm-years with credit on every seed, got {np.round(extra, 1)}"


def test_microlender_lends_solvent_screened_firms_for_investment_within_its_limits():
    """Default credit: every loan goes to a firm with cash >= 0, at least six months old, with no loan
    outstanding; loans lie in [min_loan, max_loan] (a budget-cut last loan may be smaller) and become
    capital at once; at every month what is lent and has not come back stays within the budget."""
    for seed in SEEDS[:3]:
        m, spy, _ = world("credit", seed)
        pol = m.policies.items[0]
        pays = spy.frame()
        lent = pays[pays["paid"] > 0]
        assert len(lent) > 20, f"seed {seed}: expected loans, got {len(lent)}"
        assert (lent["cash"] >= 0).all(), f"seed {seed}: expected no loan to an insolvent firm"
        rows = lent["row"].to_numpy()
        age = lent["month"].to_numpy() - m.firms.birth_month[rows]
        assert (age >= 6).all(), f"seed {seed}: expected six months of trading history, youngest {age.min()}"
        full = lent["paid"] >= lent["requested"] - 1e-9
        amounts = lent.loc[full, "paid"]
        assert amounts.between(pol.p.min_loan - 1e-9, pol.p.max_loan + 1e-9).all(), (
            f"seed {seed}: expected loans in [{pol.p.min_loan}, {pol.p.max_loan}], got {amounts.describe()}")
        assert not lent.duplicated(["row", "month"]).any(), f"seed {seed}: expected one loan per firm and month"
        led = ledger_of(m, "credit")
        by_month = led.groupby("month")["amount"].sum().cumsum()
        assert (by_month <= pol.cfg.budget * (1 + 1e-9)).all(), (
            f"seed {seed}: expected lent minus repaid within the budget, max {by_month.max():,.0f}")


def test_microlender_recovers_most_of_what_it_lends():
    """Under the defaults most principal comes back: at most 10% of what was lent is written off (Mexican
    microlenders recover the great majority of their loans); most borrowers still trade at the horizon."""
    for seed in SEEDS[:3]:
        m, _, _ = world("credit", seed)
        rec = m.policies.report()[0]
        assert rec["share_principal_written_off"] <= 0.10, (
            f"seed {seed}: expected at most 10% of principal written off, got {rec['share_principal_written_off']:.3f}")
        assert rec["repaid"] > 0.8 * rec["spent"], f"seed {seed}: expected most of the lent money back, got {rec}"


def test_microlender_loans_raise_borrowers_capital_and_revenue():
    """Paired by firm against the same seed without credit: borrowers alive in both worlds at the horizon
    hold more capital and sell more (direction, every seed; effect >= 1% of revenue on average)."""
    gains = []
    for seed in SEEDS[:3]:
        b, _, _ = world(None, seed)
        p, _, _ = world("credit", seed)
        pol = p.policies.items[0]
        n = b.firms.n
        borrowers = np.flatnonzero(pol.borrowed[:n] & b.firms.alive[:n] & p.firms.alive[:n])
        assert len(borrowers) > 20, f"seed {seed}: expected borrowers alive in both worlds"
        dk = p.firms.capital[borrowers].sum() - b.firms.capital[borrowers].sum()
        rel = p.firms.capital_factor[borrowers].mean() / b.firms.capital_factor[borrowers].mean() - 1
        assert dk > 0, f"seed {seed}: expected borrowers to hold more capital with credit"
        gains.append(rel)
    assert np.mean(gains) >= 0.01, f"expected borrowers' revenue factor up >= 1% on average, got {gains}"


def test_a_solvent_borrower_repays_within_term_months():
    """A firm that borrows 1000 and then always has cash repays loan plus interest in term_months
    instalments, each a fraction of the loan, and owes nothing after the term."""
    cfg = load_config("firms.n_firms=50", "months=40", "seed=0", "policy=credit", *window("credit", 1, 2), *RESCUE)
    m = AllianceModel.from_config(cfg)
    pol = m.policies.items[0]
    row = int(m.living_rows[0])
    assert pol.p.line_months * m.firms.fixed_cost[row] > 1000, "expected a credit line above 1000"
    m.month = 1
    m.firms.cash[: m.firms.n] = 1e6
    m.firms.cash[row] = -1000.0
    pol.before_exit()
    assert pol.debt[row] == pytest.approx(1000.0), f"expected a loan of 1000, got {pol.debt[row]:.2f}"
    term, i = pol.p.term_months, pol.p.interest_monthly
    for k in range(term):
        m.month = 2 + k  # outside the window: collections only
        m.firms.cash[row] = 1e9
        pol.before_exit()
    led = ledger_of(m, "credit")
    reps = -led.loc[(led["form"] == "repayment") & (led["firm_id"] == m.firms.firm_id[row]), "amount"]
    assert len(reps) == term, f"expected {term} instalments, got {len(reps)}"
    assert reps.max() < 0.2 * 1000, f"expected instalments spread over the term, largest {reps.max():.2f}"
    assert 1000 <= reps.sum() <= 1000 * (1 + i) ** term, f"expected loan plus at most compound interest, got {reps.sum():.2f}"
    assert pol.debt[row] == pytest.approx(0.0, abs=1e-6), (
        f"expected the loan repaid after {term} months, {pol.debt[row]:.2f} still owed")


# ---------------------------------------------------------------- cluster programme
CLUSTER_CASES = {
    "cluster-any-sector": (),
    "innovation-sector-2": ("policies.cluster_programme.params.alliance_type=innovation",
                            "policies.cluster_programme.params.sector=2"),
}


@pytest.mark.parametrize("case", list(CLUSTER_CASES))
def test_cluster_programme_pays_cost_share_only_to_members_of_active_supported_alliances(case):
    """Each month, exactly the seats of active alliances of the supported type (and sector) are
    paid cost_share x that seat's running cost, in cash; each paid firm was then in such an alliance."""
    extra = CLUSTER_CASES[case]
    m, spy, _ = world("cluster_programme", SEEDS[0], extra)
    pol = m.policies.items[0]
    led = ledger_of(m, "cluster_programme")
    assert len(led) > 0 and set(led["form"]) == {"cash"}, f"{case}: expected cash payments, got {len(led)} rows"
    kind = TYPE[pol.p.alliance_type]
    for rec in (h for h in spy.hooks if h["hook"] == "after_alliance_costs" and START <= h["month"] < STOP):
        ok = rec["seat_kind"] == kind
        if pol.p.sector >= 0:
            ok &= m.firms.sector[rec["seat_rows"]] == pol.p.sector
        exp = pd.DataFrame({"firm_id": m.firms.firm_id[rec["seat_rows"][ok]],
                            "amount": pol.p.cost_share * rec["seat_cost"][ok]})
        exp = exp[exp["amount"] > 0].sort_values(["firm_id", "amount"]).reset_index(drop=True)
        got = led.loc[led["month"] == rec["month"], ["firm_id", "amount"]].sort_values(["firm_id", "amount"])
        got = got.reset_index(drop=True)
        assert len(got) == len(exp) and (got["firm_id"].to_numpy() == exp["firm_id"].to_numpy()).all(), (
            f"{case} month {rec['month']}: expected payments to exactly the {len(exp)} supported seats, got {len(got)}")
        assert np.allclose(got["amount"], exp["amount"], rtol=1e-12), (
            f"{case} month {rec['month']}: expected cost_share x running cost per seat")
    ms = memberships(m)
    ms = ms[ms["type"] == pol.p.alliance_type]
    hit = led.merge(ms, on="firm_id")
    hit = hit[(hit["start_month"] <= hit["month"]) & ((hit["end_month"] < 0) | (hit["end_month"] >= hit["month"]))]
    assert set(zip(led["firm_id"], led["month"])) <= set(zip(hit["firm_id"], hit["month"])), (
        f"{case}: expected every paid firm to sit in an active {pol.p.alliance_type} alliance that month")
    if pol.p.sector >= 0:
        assert (m.firms.sector[rows_for(m, led["firm_id"])] == pol.p.sector).all(), (
            f"{case}: expected payments only to sector {pol.p.sector}")


def test_cluster_programme_halves_members_net_running_costs():
    """In the window, cluster members' running costs net of the programme are cost_share lower than
    gross, and per member-month lower than the same seed without the programme (by >= 40%)."""
    for seed in SEEDS[:4]:
        b, _, pb = world(None, seed)
        p, _, pp = world("cluster_programme", seed)
        led = ledger_of(p, "cluster_programme")
        months = range(START, STOP)
        gross = sum(pp.gross[t] for t in months)
        paid = led.loc[led["month"].between(START, STOP - 1), "amount"].sum()
        share = p.policies.items[0].p.cost_share
        assert paid == pytest.approx(share * gross, rel=1e-9), (
            f"seed {seed}: expected payments == {share} x gross cluster running costs ({gross:,.0f}), got {paid:,.0f}")
        net_p = (gross - paid) / sum(pp.seats[t] for t in months)
        net_b = sum(pb.gross[t] for t in months) / sum(pb.seats[t] for t in months)
        assert net_p <= 0.6 * net_b, (
            f"seed {seed}: expected net cost per cluster member-month <= 60% of {net_b:.1f}, got {net_p:.1f}")


# ------------------------------------------------------------------------- budgets
#: The old liquidity line (credit's ``rescue_insolvent`` option) with the terms it had as the default.
RESCUE = ("++policies.credit.params.rescue_insolvent=true", "++policies.credit.params.line_months=2.0",
          "policies.credit.params.interest_monthly=0.01", "policies.credit.params.term_months=24",
          "++policies.credit.eligibility.min_age_months=0")

TINY = {  # budget, unit cost of a full payment (None: amounts vary)
    "formation_grant": (2500.0, None),
    "matchmaking": (1000.0, 400.0),
    "training": (6000.0, 2500.0),
    "credit": (3000.0, None),
    "cluster_programme": (2000.0, None),
    "cash_grant": (4000.0, 1500.0),
}


@pytest.mark.parametrize("instrument", INSTRUMENTS)
def test_tiny_budget_runs_out_mid_window_and_is_never_exceeded(instrument):
    """A budget that runs out in the window is never exceeded and nothing is paid after it is gone.
    Money (grants, loans, co-funding) is spent to the last peso, the last payment partial; a
    fixed-price service is bought in whole units (or, at most, one partial last unit) until the
    rest of the budget cannot buy another."""
    budget, unit = TINY[instrument]
    # The microlender's fund revolves (repayments are lent again), so the test reads the rescue line's budget.
    extra = (f"policies.{instrument}.budget={budget}", *(RESCUE if instrument == "credit" else ()))
    m, spy, _ = world(instrument, 1, extra, n=800, months=48, start=20, stop=40)
    pol = m.policies.items[0]
    led = ledger_of(m, instrument)
    gross = led[led["form"].isin(GROSS)]
    total = float(gross["amount"].sum())
    assert total <= budget * (1 + 1e-12), f"expected gross payments <= budget {budget}, got {total:.6f}"
    assert total == pytest.approx(pol.spent, rel=1e-12), "expected ledger gross == spent"
    assert gross["month"].max() < 40, "expected the budget to run out before the window closes"
    pays = spy.frame()
    short = pays[pays["paid"] < pays["requested"] - 1e-9]
    assert len(short) >= 1, "expected at least one request cut by the budget"
    partial = short[short["paid"] > 0]
    assert len(partial) <= 1, f"expected at most one partial payment, got {len(partial)}"
    after = pays.index > short.index[0]
    assert (pays.loc[after, "paid"] == 0).all(), "expected nothing paid after the budget ran out"
    if unit is None:
        assert total == pytest.approx(budget, rel=1e-12), f"expected the whole budget {budget} spent, got {total:.6f}"
        assert pol.remaining() == 0.0, f"expected no budget left, got {pol.remaining()}"
        return
    amounts = gross["amount"].to_numpy()
    full = np.isclose(amounts, unit, rtol=1e-12)
    if full.all():
        assert 0 <= budget - total < unit, (
            f"expected whole services of {unit} until less than one is left, spent {total} of {budget}")
    else:
        assert full[:-1].all() and 0 < amounts[-1] < unit and total == pytest.approx(budget, rel=1e-12), (
            f"expected full payments of {unit} and a partial last one spending the budget, got {amounts}")


def test_every_in_kind_training_payment_delivers_a_course():
    """Every firm in the training ledger had its capability raised."""
    m, spy, _ = world("training", 1, ("policies.training.budget=6000.0",), n=800, months=48, start=20, stop=40)
    led = ledger_of(m, "training")
    pol = m.policies.items[0]
    raised = set()
    for rec in (h for h in spy.hooks if h["hook"] == "start_of_month"):
        raised |= set(m.firms.firm_id[np.flatnonzero(rec["cap_after"] > rec["cap_before"])].tolist())
    undelivered = led[~led["firm_id"].isin(raised)]
    assert undelivered.empty, (f"expected every booked course delivered; booked but untrained: "
                               f"{undelivered[['firm_id', 'amount']].to_dict('records')} (cost {pol.p.cost_per_trainee})")


# --------------------------------------------------------------------- eligibility
ELIGIBILITY = {
    "formation_grant": ("eligibility.max_workers=1", "eligibility.sectors=[0]", "eligibility.min_age_months=24"),
    "matchmaking": ("eligibility.max_workers=1", "eligibility.sectors=[0]", "eligibility.min_age_months=24"),
    "training": ("eligibility.max_workers=1", "eligibility.sectors=[0]", "eligibility.allied=unallied",
                 "eligibility.min_age_months=12", "params.trainees_per_month=40"),
    "credit": ("eligibility.max_workers=1", "eligibility.sectors=[0]", "eligibility.min_age_months=12",
               "eligibility.max_age_months=36"),
    "cluster_programme": ("eligibility.min_workers=1", "eligibility.sectors=[1,2]", "eligibility.allied=allied"),
    "cash_grant": ("eligibility.max_workers=1", "eligibility.sectors=[0]", "eligibility.min_age_months=12"),
}


@pytest.mark.parametrize("instrument", INSTRUMENTS)
def test_no_payment_to_an_ineligible_firm(instrument):
    """With workers, sector, age and alliance filters, every paid firm met each of them in the
    payment month (workers as the firm had them just before or after that month's size review; sector
    is fixed over life; age from birth_month; alliance status from the alliance table); the filters
    bite (without them, excluded firms are paid)."""
    extra = tuple(f"++policies.{instrument}.{o}" if o.startswith("eligibility.") else f"policies.{instrument}.{o}"
                  for o in ELIGIBILITY[instrument])
    m, _, _ = world(instrument, 1, extra)
    e = m.policies.items[0].cfg.eligibility
    led = ledger_of(m, instrument)
    gross = led[led["form"].isin(GROSS)]
    assert len(gross) > 0, f"expected some eligible firm paid under {extra}"
    rows = rows_for(m, gross["firm_id"])
    t = m.firms
    sector = t.sector[rows]
    paid_in = gross["month"].to_numpy()
    age = paid_in - t.birth_month[rows]
    ok = np.zeros(len(rows), dtype=bool)
    for end_of in (-1, 0):
        w = workers_at(m, rows, paid_in, end_of)
        ok |= (w >= e.min_workers) & (w <= e.max_workers)
    assert ok.all(), f"expected workers in [{e.min_workers}, {e.max_workers}] in the payment month for every payee"
    assert np.isin(sector, e.sectors).all(), f"expected sectors {e.sectors}, got {sorted(set(sector.tolist()))}"
    assert ((age >= e.min_age_months) & (age <= e.max_age_months)).all(), (
        f"expected ages in [{e.min_age_months}, {e.max_age_months}], got {age.min()}..{age.max()}")
    if instrument == "training":
        allied = allied_at_month_start(m, gross["firm_id"], gross["month"])
        assert not allied.any(), f"expected only unallied trainees, {int(allied.sum())} were allied"
    if e.allied == "allied":
        ms = memberships(m)
        hit = gross.merge(ms, on="firm_id")
        hit = hit[(hit["start_month"] <= hit["month"]) & ((hit["end_month"] < 0) | (hit["end_month"] >= hit["month"]))]
        assert set(zip(gross["firm_id"], gross["month"])) <= set(zip(hit["firm_id"], hit["month"])), (
            "expected every paid firm allied in the payment month")
    free, _, _ = world(instrument, 1)
    unfiltered = ledger_of(free, instrument)
    r = rows_for(free, unfiltered.loc[unfiltered["form"].isin(GROSS), "firm_id"])
    w, s = free.firms.workers[r], free.firms.sector[r]
    assert ((w < e.min_workers) | (w > e.max_workers) | ~np.isin(s, e.sectors)).any(), (
        "expected the same run without filters to pay some firm the filters exclude (the filters must bite)")


def test_eligible_share_is_drawn_once_per_firm_from_the_policys_own_stream():
    """eligibility.share=0.3 with unlimited places: the firms trained in the first window month are
    exactly the living firms whose keyed draw from a fresh stream 'policy:training' is below 0.3."""
    share = 0.3
    extra = (f"policies.training.eligibility.share={share}", "policies.training.eligibility.min_age_months=0",
             "policies.training.params.trainees_per_month=1000000", "policies.training.budget=1e10")
    m, _, _ = world("training", 2, extra)
    pol = m.policies.items[0]
    assert pol.draws is m.streams["policy:training"], "expected the policy to draw from stream 'policy:training'"
    n6 = int((m.firms.birth_month[: m.firms.n] <= START - 1).sum())  # rows that existed when month 6 began
    d = m.firms.death_month[:n6]
    alive6 = np.flatnonzero((d < 0) | (d >= START))
    draws = RandomStreams(m.cfg.seed)["policy:training"].uniform(0, m.firms.firm_id[:n6], "eligibility")
    led = ledger_of(m, "training")
    trained6 = set(led.loc[led["month"] == START, "firm_id"].tolist())
    expected = set(m.firms.firm_id[alive6[draws[alive6] < share]].tolist())
    assert trained6 == expected, (f"expected the {len(expected)} firms with draw < {share} trained in month {START}, "
                                  f"got {len(trained6)} ({len(trained6 ^ expected)} differ)")
    frac = len(trained6) / len(alive6)
    assert abs(frac - share) < 0.05, f"expected about {share} of living firms eligible, got {frac:.3f}"
    later = led[led["month"] > START]
    assert not set(later["firm_id"]) & trained6, "expected no firm trained twice"


# ----------------------------------------------------------- common random numbers
@pytest.mark.parametrize("instrument", [*INSTRUMENTS, "formation_grant,training,credit"])
def test_policy_leaves_demand_births_and_founding_traits_unchanged(instrument):
    """Same seed with and without the policy: identical demand series, births per month and the
    founding traits of every firm ever born."""
    names = instrument.split(",")
    overrides = ["firms.n_firms=800", "months=48", "seed=3"]
    base = load_config(*overrides)
    pol = load_config(*overrides, f"policy=[{instrument}]", *[o for n in names for o in window(n, 6, 40)])
    runs = []
    for cfg in (base, pol):
        m = AllianceModel.from_config(cfg)
        m.run_for(48)
        runs.append(m)
    b, p = runs
    assert len(p.ledger.table()) > 0, f"expected {instrument} to pay something in this run"
    sb, sp = b.series(), p.series()
    assert np.array_equal(sb[DEMAND_COLUMNS].to_numpy(), sp[DEMAND_COLUMNS].to_numpy()), (
        f"expected identical demand with and without {instrument}")
    assert np.array_equal(sb["births"], sp["births"]), f"expected identical births per month with {instrument}"
    assert b.firms.n == p.firms.n, "expected the same number of firms ever born"
    n = b.firms.n
    for name in FOUNDING_TRAITS:
        assert np.array_equal(getattr(b.firms, name)[:n], getattr(p.firms, name)[:n]), (
            f"expected founding trait {name!r} identical with and without {instrument}")
    for name in names:
        assert f"policy:{name}" in p.streams._streams, f"expected a stream named 'policy:{name}'"
    assert "policy" not in p.streams._streams, "expected no shared, un-named 'policy' stream"


@pytest.mark.parametrize("instrument", INSTRUMENTS)
def test_world_is_identical_before_the_window_opens(instrument):
    """Window [30, 40) in a 40-month run: until month 29 every monthly series value, every alliance
    formed and the ledger are the same as without the policy (seekers appear from month 18)."""
    b, _, _ = world(None, 0, (), N, 40, START, STOP)
    p, _, _ = world(instrument, 0, (), N, 40, 30, 40)
    sb, sp = b.series(), p.series()
    pre_b, pre_p = sb[sb["month"] < 30], sp[sp["month"] < 30]
    assert pre_b["seekers"].sum() > 0, "expected partner search before the window (the test needs it)"
    pd.testing.assert_frame_equal(pre_b, pre_p, check_exact=True, obj=f"series before the window ({instrument})")
    cols = ["agreed_month", "type", "goodwill_initial", "formality"]
    ab, ap = b.alliance_table(), p.alliance_table()
    ab, ap = ab[ab["agreed_month"] < 30], ap[ap["agreed_month"] < 30]
    founders = [list(ids[:2]) for ids in ab["members"]], [list(ids[:2]) for ids in ap["members"]]  # replacements join later
    assert len(ab) == len(ap) and ab[cols].equals(ap[cols]) and founders[0] == founders[1], (
        f"expected the same alliances formed before month 30 with {instrument}")
    assert (p.ledger.table()["month"] >= 30).all(), "expected no payment before the window"


# ---------------------------------------------------------------- several at once
def test_several_instruments_run_together_each_with_its_own_ledger_rows():
    """policy=[formation_grant,training,credit]: each instrument writes its own rows in its own
    forms, spends within its own budget, and the summary reports all three."""
    names = ("formation_grant", "training", "credit")
    cfg = load_config(f"firms.n_firms={N}", f"months={MONTHS}", "seed=4", f"policy=[{','.join(names)}]",
                      *[o for n in names for o in window(n)])
    m = AllianceModel.from_config(cfg)
    m.run_for(MONTHS)
    led = m.ledger.table()
    assert set(led["instrument"]) == set(names), f"expected rows of {names}, got {set(led['instrument'])}"
    forms = {n: set(led.loc[led["instrument"] == n, "form"]) for n in names}
    assert forms["formation_grant"] == {"cash"} and forms["training"] == {"in_kind"}, f"unexpected forms {forms}"
    assert forms["credit"] == {"loan", "repayment"}, f"expected loans and repayments, got {forms['credit']}"
    s = m.summary()
    assert [r["instrument"] for r in s["policies"]] == list(names), f"expected {names} in the summary"
    for pol in m.policies.items:
        assert pol.name == pol.cfg.kind and pol.spent <= pol.cfg.budget
        assert m.ledger.paid_out(pol.name) == pytest.approx(pol.spent, rel=1e-12), (
            f"expected {pol.name}'s ledger gross == its spent")
    assert s["public_cost"] == pytest.approx(led["amount"].sum(), rel=1e-12)
    alone = ledger_of(world("training", 4)[0], "training")
    assert len(led[led["instrument"] == "training"]) == len(alone), (
        "expected training to train as many firms alongside other instruments as alone")


def test_a_named_instrument_added_on_the_command_line_uses_its_name():
    """+policies.x={kind:training,...}: the instrument runs under the name x: its ledger rows, its
    stream 'policy:x' (no 'policy:training'), its own budget."""
    cfg = load_config(f"firms.n_firms={N}", "months=30", "seed=5",
                      "+policies.x={kind:training,budget:50000,start_month:6,stop_month:20}")
    m = AllianceModel.from_config(cfg)
    m.run_for(30)
    led = m.ledger.table()
    assert len(led) > 0 and set(led["instrument"]) == {"x"}, f"expected rows of instrument x, got {set(led['instrument'])}"
    assert led["amount"].sum() <= 50000 + 1e-9 and led["month"].between(6, 19).all()
    pol = m.policies.items[0]
    assert pol.name == "x" and pol.kind == "training" and pol.draws is m.streams["policy:x"], (
        "expected instrument x of kind training drawing from stream 'policy:x'")
    assert "policy:training" not in m.streams._streams, "expected no stream named after the kind"


def test_documented_eligibility_override_is_accepted_without_plus():
    """policies.<name>.eligibility.max_workers=1 (as in docs/ODD.md) composes and is applied."""
    cfg = load_config("policy=training", "policies.training.eligibility.max_workers=1",
                      "policies.training.eligibility.sectors=[0]")
    pol = cfg.policies["training"]
    assert pol["eligibility"]["max_workers"] == 1 and list(pol["eligibility"]["sectors"]) == [0], (
        f"expected max_workers=1 and sectors=[0] applied, got {pol['eligibility']}")


# ------------------------------------------------------------------------ bad input
BAD = [
    pytest.param(("policy=training", "policies.training.kind=subsidy"), "policies.training.kind", id="unknown-kind"),
    pytest.param(("policy=training", "policies.training.budget=-5"), "policies.training.budget", id="negative-budget"),
    pytest.param(("policy=training", "policies.training.start_month=20", "policies.training.stop_month=20"),
                 "stop_month", id="empty-window"),
    pytest.param(("policy=credit", "policies.credit.start_month=30", "policies.credit.stop_month=10"),
                 "policies.credit", id="reversed-window"),
    pytest.param(("policy=training", "policies.training.params.foo=1"), "policies.training.params.foo",
                 id="unknown-param"),
    pytest.param(("policy=training", "+policies.training.params.foo=1"), "policies.training.params.foo",
                 id="unknown-param-added"),
    pytest.param(("policy=training", "policies.training.params.capability_gain=2"),
                 "policies.training.params.capability_gain", id="param-out-of-range"),
    pytest.param(("policy=cluster_programme", "policies.cluster_programme.params.alliance_type=joint"),
                 "policies.cluster_programme.params.alliance_type", id="param-not-a-choice"),
    pytest.param(("policy=training", "++policies.training.eligibility.sectors=[5]"),
                 "policies.training.eligibility.sectors", id="unknown-sector"),
    pytest.param(("policy=training", "++policies.training.eligibility.share=1.5"),
                 "policies.training.eligibility.share", id="share-above-1"),
    pytest.param(("policy=training", "+policies.training.foo=1"), "policies.training.foo", id="unknown-field"),
    pytest.param(("experiment.policy_start_month=30", "experiment.policy_stop_month=30"),
                 "experiment.policy_stop_month", id="empty-experiment-window"),
    pytest.param(("policy=training", "policies.training.params.trainees_per_month=2.5"),
                 "policies.training.params.trainees_per_month", id="float-for-int-param"),
    pytest.param(("policy=formation_grant", "policies.formation_grant.params.grant_share=abc"),
                 "policies.formation_grant.params.grant_share", id="string-for-float-param"),
    pytest.param(("+policies.x.kind=foo",), "policies.x.kind", id="added-policy-unknown-kind"),
]


@pytest.mark.parametrize("overrides, name", BAD)
def test_bad_policy_config_is_rejected_before_the_run_naming_the_parameter(overrides, name):
    """load_config raises a one-line ConfigError naming the parameter; no model is built."""
    with pytest.raises(ConfigError) as info:
        load_config("firms.n_firms=100", "months=24", *overrides)
    msg = str(info.value)
    assert name in msg, f"expected the message to name {name!r}, got: {msg}"
    assert "\n" not in msg, f"expected a one-line message, got: {msg!r}"


CLI_BAD = {
    "negative-budget": (["policy=training", "policies.training.budget=-5"], "policies.training.budget"),
    "unknown-kind": (["policy=credit", "policies.credit.kind=subsidy"], "policies.credit.kind"),
    "param-out-of-range": (["policy=training", "policies.training.params.capability_gain=2"],
                           "policies.training.params.capability_gain"),
}


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """Every bad command of CLI_BAD, run once: negative-budget as a real command (a fresh interpreter), the
    others through the same entry point in this process."""
    return run_cli_cases({case: args for case, (args, _) in CLI_BAD.items()}, tmp_path_factory,
                         in_subprocess=("negative-budget",))


@pytest.mark.parametrize("case", list(CLI_BAD))
def test_cli_rejects_bad_policy_with_exit_2_and_one_line(case, cli_runs):
    """experiments.run with a bad policy value (see cli_runs for which run as real commands): exit code 2,
    one stderr line naming the parameter, no traceback, no run folder."""
    proc, cwd = cli_runs[case]
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, f"expected exit code 2, got {proc.returncode}; stderr: {proc.stderr[-1500:]}"
    assert "Traceback" not in proc.stderr, f"expected no traceback, got: {proc.stderr[-1500:]}"
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}: {proc.stderr!r}"
    assert CLI_BAD[case][1] in lines[0], f"expected the line to name {CLI_BAD[case][1]!r}, got: {lines[0]}"
    assert not (cwd / "run").exists(), "expected no run folder for a rejected configuration"


@pytest.mark.parametrize("k", [1, 3, 25, 200])
def test_training_intake_is_the_first_by_priority_as_a_full_sort_gives(k):
    """first_by_priority picks the rows a full stable sort puts first, ties (repeated keys) in row order."""
    rng = np.random.default_rng(k)
    rows = np.sort(rng.choice(10_000, 100, replace=False))
    priority = rng.integers(0, 20, 100).astype(np.uint64)  # many ties
    expected = rows[np.argsort(priority, kind="stable")][:k]
    assert np.array_equal(first_by_priority(rows, priority, k), expected), f"expected the first {k} of a full sort"


def test_capability_eligibility_admits_only_firms_in_the_band():
    """eligibility.max_capability=0.25: every eligible living firm has capability at most 0.25, and living firms
    above it are excluded (N=300, 13 months)."""
    cfg = load_config("firms.n_firms=300", "months=13", "policy=training",
                      "policies.training.eligibility.min_age_months=0", "policies.training.eligibility.max_capability=0.25")
    m = AllianceModel.from_config(cfg)
    m.run_for(13)
    rows = m.living_rows
    ok = m.policies.items[0].eligible(rows)
    cap = m.firms.capability[rows]
    assert ok.any() and (cap[ok] <= 0.25).all(), "expected eligible firms, all with capability <= 0.25"
    assert (cap > 0.25).any() and not ok[cap > 0.25].any(), "expected firms above 0.25 alive and none eligible"
