"""Stages 1 and 2 of the alliance lifecycle (000): rethink business, then find and choose a partner.

Stage 1, rethink business: an unallied firm that can afford it (cash of at
least ``min(min_cash_months, cash_target_months)`` of fixed cost, counting a formation
grant it would receive) starts seeking with monthly probability ``p_seek_max * cooperativeness * need``, where need mixes its largest
resource gap (000's four dimensions) and performance pressure (revenue short
of what it expects to sell).
Planned firms weigh gaps, opportunistic ones pressure (Veilleux et al. 2012, 003).
The wanted type follows the largest gap: finance -> cluster (shared purchasing),
market access -> bridge, technology or know-how -> innovation (001's three models).

Stage 2, design and integration: each seeker sees a bounded set of candidates
(random contacts, of its own local market, sector x locality, for a cluster; referrals and prior ties
through past partners; extra candidates from any registered source such as a
broker policy), scores them on strategic compatibility, complementarity,
perceived capability, reputation and prior ties with perception noise (planned
seekers judge better), and proposes to the best one above its threshold. The
candidate judges the seeker the same way; both must agree. Matching costs
O(seekers x candidates): no all-pairs scoring.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from sim import alliance_types
from sim.alliance_table import seat_max
from sim.population import FirmTable
from sim.rng import Stream

#: A candidate source: (model, seeker rows) -> (candidate rows (S x m, -1 = none), trust bonus (S x m)).
CandidateSource = Callable[..., tuple[np.ndarray, np.ndarray]]


@dataclass
class Proposals:
    """Agreed matches of one month, before conflicts between them are resolved."""

    seeker: np.ndarray
    partner: np.ndarray
    kind: np.ndarray       # type code wanted by the seeker
    tie: np.ndarray        # 1 past partner, 0.5 referral, 0 stranger
    brokered: np.ndarray   # initial-trust bonus from a broker


def type_need(firms: FirmTable, rows: np.ndarray, enabled: list) -> np.ndarray:
    """Need for each alliance type (columns in registry order) from resource gaps; -inf for types
    not in ``enabled``. Each type's own rule says which gap it fills (``sim.alliance_types``)."""
    return alliance_types.need(1.0 - firms.resources[rows], enabled)


def pressure(firms: FirmTable, rows: np.ndarray) -> np.ndarray:
    """Performance pressure, 0-1: how far last month's revenue fell short of what the firm
    expects to sell (its base revenue, with the productivity and the capital it has gained)."""
    expected = np.maximum(firms.base_revenue[rows] * firms.productivity[rows] * firms.capital_factor[rows], 1e-9)
    return np.clip(1.0 - firms.revenue[rows] / expected, 0.0, 1.0)


def cash_health(firms: FirmTable, rows: np.ndarray, cash_target_months: float) -> np.ndarray:
    """Financial soundness, 0-1: cash as a share of the owner's target buffer."""
    target = np.maximum(cash_target_months * firms.fixed_cost[rows], 1e-9)
    return np.clip(firms.cash[rows] / target, 0.0, 1.0)


def seek_cash_floor(min_cash_months: float, cash_target_months: float) -> float:
    """Cash, in months of fixed cost, a firm needs to afford a search.

    ``min_cash_months``, capped at the owner's buffer ``cash_target_months``: the owner
    draws everything above that buffer, so a floor above it would be out of reach and
    one at it a knife edge. The cap (less a relative tolerance of 1e-9, so a firm sitting
    at its buffer reaches it) makes alliance counts change smoothly with either parameter.
    """
    return min(min_cash_months, cash_target_months) * (1.0 - 1e-9)


def free_firms(firms: FirmTable, month: int, min_age_months: int) -> np.ndarray:
    """Rows, in order, of living firms in no alliance and at least ``min_age_months`` old."""
    n = firms.n
    rows = np.flatnonzero(firms.alive[:n])
    rows = rows[firms.alliance_id[rows] < 0]
    return rows[month - firms.birth_month[rows] >= min_age_months]


def choose_seekers(firms: FirmTable, month: int, sc, draws: Stream, cash_target_months: float,
                   free: np.ndarray | None = None) -> np.ndarray:
    """Stage 1: rows of unallied firms that start seeking a partner this month.

    The lottery is keyed by the firm and the month, so a firm eligible in two arms
    draws the same number in both. ``free`` is this month's ``free_firms``, when the
    caller has them."""
    rows = free_firms(firms, month, sc.min_age_months) if free is None else free
    floor = seek_cash_floor(sc.min_cash_months, cash_target_months)
    rows = rows[(month - firms.last_alliance_end[rows] >= sc.cooldown_months)
                & (firms.cash[rows] + firms.formation_subsidy[rows] >= floor * firms.fixed_cost[rows])]
    gap = seat_max(1.0 - firms.resources[rows])
    press = pressure(firms, rows)
    planned = firms.planned[rows]
    w_gap = np.where(planned, sc.planned_gap_focus, sc.weight_gap)
    w_press = np.where(planned, 1.0 - sc.planned_gap_focus, sc.weight_pressure)
    p = sc.p_seek_max * firms.cooperativeness[rows] * (w_gap * gap + w_press * press)
    # A search that began in an earlier month goes on (stage 2 takes time) while the firm can pay for it.
    searching = (firms.seeking_since[rows] >= 0) & (month - firms.seeking_since[rows] < sc.max_search_months)
    return rows[(draws.uniform(month, firms.firm_id[rows], "seek") < p) | searching]


def mean_cooperativeness(fc) -> float:
    """Population mean of the propensity to cooperate (mean of its Beta distribution)."""
    return fc.cooperativeness_a / (fc.cooperativeness_a + fc.cooperativeness_b)


def local_market(firms: FirmTable, rows: np.ndarray, n_localities: int) -> np.ndarray:
    """Market key (sector x locality) of each row: clusters form within one local market."""
    return firms.sector[rows] * n_localities + firms.locality[rows]


def n_localities(firms: FirmTable) -> int:
    """Localities in use (one more than the largest locality index)."""
    return int(firms.locality[: firms.n].max()) + 1 if firms.n else 1


def _random_contacts(firms: FirmTable, seekers: np.ndarray, same_market: np.ndarray, pool: np.ndarray,
                     k: int, month: int, draws: Stream) -> np.ndarray:
    """``k`` random firms from ``pool`` per seeker; from its own local market (sector x locality)
    where ``same_market``.

    Contact ``j`` of a seeker is the firm at quantile ``u_j`` of the pool (ordered by
    row), with ``u_j`` keyed by the seeker, the month and ``j``."""
    s = len(seekers)
    u = draws.uniform(month, firms.firm_id[seekers], "contact", width=k)
    any_pick = pool[np.minimum((u * len(pool)).astype(np.int64), len(pool) - 1)] if len(pool) else \
        np.full((s, k), -1)
    n_loc = n_localities(firms)
    pool_market = local_market(firms, pool, n_loc)
    mkt = local_market(firms, seekers, n_loc)
    n_markets = int(max(mkt.max(initial=0), pool_market.max(initial=0))) + 1
    # numpy's stable sort of 16-bit keys is a radix sort, many times quicker on a national pool.
    keys = pool_market.astype(np.int16) if n_markets <= np.iinfo(np.int16).max else pool_market
    order = np.argsort(keys, kind="stable")
    sorted_pool, sorted_market = pool[order], pool_market[order]
    start = np.searchsorted(sorted_market, np.arange(n_markets), side="left")
    stop = np.searchsorted(sorted_market, np.arange(n_markets), side="right")
    count = (stop - start)[mkt]
    idx = start[mkt][:, None] + np.minimum((u * count[:, None]).astype(np.int64),
                                           np.maximum(count[:, None] - 1, 0))
    own = np.where(count[:, None] > 0, sorted_pool[np.minimum(idx, len(sorted_pool) - 1)], -1) \
        if len(sorted_pool) else np.full((s, k), -1)
    return np.where(same_market[:, None], own, any_pick)


def _referrals(firms: FirmTable, seekers: np.ndarray, k: int, month: int, draws: Stream):
    """``k`` candidates per seeker through past partners: the partner itself (tie 1)
    or one of its own past partners (referral, tie 0.5)."""
    m = firms.past_partners.shape[1]
    ids = firms.firm_id[seekers]
    first = firms.past_partners[seekers[:, None], draws.integers(month, ids, m, "referral_partner", width=k)]
    second = np.where(first >= 0, firms.past_partners[np.maximum(first, 0),
                                                      draws.integers(month, ids, m, "referral_of", width=k)], -1)
    use_second = (draws.uniform(month, ids, "referral_use", width=k) < 0.5) & (second >= 0)
    cand = np.where(use_second, second, first)
    tie = np.where(cand < 0, 0.0, np.where(use_second, 0.5, 1.0))
    return cand, tie


def score(firms: FirmTable, judge: np.ndarray, other: np.ndarray, kind: np.ndarray, tie: np.ndarray,
          sc, noise: np.ndarray, tc, cash_target_months: float, mean_cooperativeness: float) -> np.ndarray:
    """How attractive ``other`` is as a partner for ``judge`` in an alliance of type ``kind``.

    ``compat + complementarity + capability + reputation + economic potential + tie + trustworthiness``,
    each weighted and divided by the sum of the five criteria's weights (a weighted mean on the
    criteria's 0-1 scale, so that a weight changes what counts, not how selective firms are),
    plus perception noise (already scaled, in those units). Trustworthiness is the candidate's
    cooperativeness as the judge perceives it, less the population mean: a judge of capability
    ``c`` sees ``c`` of the candidate's departure from the mean (due diligence), so capable firms
    choose partners less likely to cheat. Shapes broadcast (seekers x candidates).
    """
    o = np.maximum(other, 0)
    compat = 1.0 - np.abs(firms.goal[judge] - firms.goal[o])
    strength = alliance_types.partner_strength(firms, o, kind, tc)
    reputation = np.exp(-firms.opportunism_detected[o].astype(float))
    total = (sc.weight_compatibility * compat + sc.weight_complementarity * strength
             + sc.weight_capability * firms.capability[o] + sc.weight_reputation * reputation
             + sc.weight_economic_potential * cash_health(firms, o, cash_target_months)
             + sc.weight_prior_tie * tie
             + sc.weight_trustworthiness * firms.capability[judge] * (firms.cooperativeness[o] - mean_cooperativeness)
             ) / criteria_weight(sc) + noise
    return np.where(other >= 0, total, -np.inf)


def criteria_weight(sc) -> float:
    """Sum of the weights of the five partner criteria (compatibility, complementarity, capability,
    reputation, economic potential): the score's scale (1 when all five are 0)."""
    total = (sc.weight_compatibility + sc.weight_complementarity + sc.weight_capability + sc.weight_reputation
             + sc.weight_economic_potential)
    return total if total > 0 else 1.0


def find_partners(model, seekers: np.ndarray, cfg, sources: list[CandidateSource],
                  draws: Stream, joinable: np.ndarray | None = None,
                  draws_sources: Stream | None = None, free: np.ndarray | None = None,
                  kinds: np.ndarray | None = None) -> Proposals:
    """Stage 2: candidates, scoring and mutual consent; returns agreed proposals.

    ``joinable`` gives, per firm, the type code of its alliance when that alliance takes new
    members and has a free seat (-1 otherwise): a seeker of that type may propose to it to
    join that group. ``draws_sources`` draws the
    perception noise on candidates from extra sources. ``kinds`` gives a seeker's
    wanted type where it is >= 0 (a member seeking a replacement partner); other
    seekers want the type of their largest gap. Every draw is keyed by the seeker,
    the month and the candidate's column.
    """
    firms: FirmTable = model.firms
    sc = cfg.search
    month = model.month
    empty = np.zeros(0, dtype=np.int64)
    if len(seekers) == 0:
        return Proposals(empty, empty, empty, np.zeros(0), np.zeros(0))
    kind = np.argmax(type_need(firms, seekers, cfg.structure.types_enabled), axis=1)
    replacing = np.zeros(len(seekers), dtype=bool) if kinds is None else kinds >= 0
    if kinds is not None:
        kind = np.where(replacing, kinds, kind)
    pool = free_firms(firms, month, sc.min_age_months) if free is None else free
    if joinable is not None:  # and allied firms whose group has a free seat
        n = firms.n
        pool = np.union1d(pool, np.flatnonzero(firms.alive[:n] & (joinable[:n] >= 0)))

    k = max(sc.n_candidates_planned, sc.n_candidates_opportunistic)
    k_ref = int(round(sc.share_referrals * k))
    contacts = _random_contacts(firms, seekers, alliance_types.local(kind), pool, k - k_ref, month, draws)
    ref, ref_tie = _referrals(firms, seekers, k_ref, month, draws)
    cands = [contacts, ref]
    ties = [np.zeros(contacts.shape), ref_tie]
    bonus = [np.zeros(contacts.shape), np.zeros(ref.shape)]
    for source in sources:
        extra, extra_bonus = source(model, seekers)
        cands.append(extra)
        ties.append(np.zeros(extra.shape))
        bonus.append(extra_bonus)
    cand = np.concatenate(cands, axis=1)
    tie = np.concatenate(ties, axis=1)
    brokered = np.concatenate(bonus, axis=1)
    s, width = cand.shape

    # Each seeker sees its number of candidates, split between contacts and referrals in the
    # configured proportion; candidates from extra sources are always seen.
    planned = firms.planned[seekers]
    n_seen = np.where(planned, sc.n_candidates_planned, sc.n_candidates_opportunistic)[:, None]
    n_ref = np.minimum(np.rint(sc.share_referrals * n_seen).astype(np.int64), k_ref)
    col = np.arange(width)[None, :]
    seen = ((col < n_seen - n_ref) | ((col >= k - k_ref) & (col < k - k_ref + n_ref)) | (col >= k))
    c = np.maximum(cand, 0)
    old_enough = month - firms.birth_month[c] >= sc.min_age_months
    valid = ((cand >= 0) & seen & (cand != seekers[:, None]) & firms.alive[c] & (firms.alliance_id[c] < 0)
             & old_enough)
    if joinable is not None:  # groups: a seeker may join an alliance of the type it seeks with a free seat
        valid |= (cand >= 0) & seen & (joinable[c] == kind[:, None]) & ~replacing[:, None]
    # A local type (a cluster) takes partners from the seeker's own market: same sector and locality.
    n_loc = n_localities(firms)
    same_market = local_market(firms, c, n_loc) == local_market(firms, seekers, n_loc)[:, None]
    valid &= ~alliance_types.local(kind)[:, None] | same_market
    # Perception noise on every candidate. Candidates from extra sources (a broker) come
    # with better information, half the noise, drawn from a stream of their own so this
    # stream's draws are the same whether or not a source is registered.
    noise_scale = sc.perception_noise * np.where(planned, sc.planned_noise_factor, 1.0)[:, None]
    seeker_ids = firms.firm_id[seekers]
    noise = np.empty((s, width))
    noise[:, :k] = noise_scale * draws.normal(month, seeker_ids, "perception", width=k)
    if width > k:
        noise[:, k:] = 0.5 * noise_scale * draws_sources.normal(month, seeker_ids, "perception", width=width - k)
    tc = cfg.types
    cash_target = model.cfg.firms.cash_target_months
    mean_coop = mean_cooperativeness(model.cfg.firms)
    sc_own = score(firms, seekers[:, None], np.where(valid, cand, -1), kind[:, None], tie, sc, noise, tc,
                   cash_target, mean_coop)
    best = np.argmax(sc_own, axis=1)
    rows = np.arange(s)
    partner = cand[rows, best]
    wants = sc_own[rows, best] >= sc.accept_threshold

    # Consent: the candidate judges the seeker for the same alliance, with its own noise.
    p = np.maximum(partner, 0)
    back_noise = sc.perception_noise * np.where(firms.planned[p], sc.planned_noise_factor, 1.0) \
        * draws.normal(month, seeker_ids, "consent")
    back = score(firms, p, seekers, kind, tie[rows, best], sc, back_noise, tc, cash_target, mean_coop)
    agreed = wants & (back >= sc.accept_threshold)
    return Proposals(seekers[agreed], partner[agreed], kind[agreed], tie[rows, best][agreed],
                     brokered[rows, best][agreed])


def serve_in_order(seeker: np.ndarray, partner: np.ndarray, group: np.ndarray, groups: np.ndarray,
                   seats: np.ndarray) -> np.ndarray:
    """Which agreed proposals stand when they are served one by one in the given order.

    Served in order, a proposal fails if its seeker is already taken; one to a member of a
    group (``group`` >= 0; ``seats`` free seats per alliance in ``groups``, sorted) takes
    the seeker into it while a seat is left; one to a free firm takes both firms unless
    the partner is taken. That loop is computed in rounds of whole-array operations: a
    proposal is decided once no earlier undecided proposal shares a firm (or a group)
    with it, since only those can change its outcome, and proposals whose firm is taken
    (or whose group is full) are dropped; each round decides at least the earliest one.

    Returns:
        A mask over the proposals (in serving order) of those that stand.
    """
    count = len(seeker)
    firm_ids, node = np.unique(np.concatenate([seeker, partner]), return_inverse=True)
    seeker_node, partner_node = node[:count], node[count:]
    joins = group >= 0
    group_index = np.where(joins, np.searchsorted(groups, group), 0)
    room = np.append(np.asarray(seats, dtype=np.int64), 0)  # a last, empty slot for pairs
    group_index[~joins] = len(groups)
    taken = np.zeros(len(firm_ids), dtype=bool)
    accepted = np.zeros(count, dtype=bool)
    open_ = np.arange(count)
    while len(open_):
        pair = open_[~joins[open_]]
        first_on_firm = np.full(len(firm_ids), count)
        np.minimum.at(first_on_firm, seeker_node[open_], open_)
        np.minimum.at(first_on_firm, partner_node[pair], pair)
        first_in_group = np.full(len(room), count)
        np.minimum.at(first_in_group, group_index[open_], open_)
        ready = (first_on_firm[seeker_node[open_]] == open_) & np.where(
            joins[open_], first_in_group[group_index[open_]] == open_, first_on_firm[partner_node[open_]] == open_)
        now = open_[ready]
        stands = ~taken[seeker_node[now]] & np.where(joins[now], room[group_index[now]] > 0,
                                                     ~taken[partner_node[now]])
        won = now[stands]
        accepted[won] = True
        taken[seeker_node[won]] = True
        taken[partner_node[won[~joins[won]]]] = True
        room[group_index[won[joins[won]]]] -= 1
        open_ = open_[~ready]
        lost = taken[seeker_node[open_]] | np.where(joins[open_], room[group_index[open_]] <= 0,
                                                    taken[partner_node[open_]])
        open_ = open_[~lost]
    return accepted
