"""What each panel of the browser view draws, as ECharts options built from a live ``AppModel``.

Each function returns an ECharts option (plain JSON-able dicts and lists);
``experiments.app`` sends it as JSON to its chart widget, which redraws the
chart in place in the browser, so a month of PLAY sends some tens of
kilobytes of numbers, not rendered images. Keeping the options here, free of
widgets, lets the tests check what each panel shows.

Every time axis marks the onset of the crisis (when the scenario is on) and
shades the policy window ``[start, stop)`` (when an instrument is chosen).
"""

from __future__ import annotations

import numpy as np

from experiments.app_model import AppModel, policy_label
from sim.alliance_table import END_CAUSES
from sim.alliance_types import ALLIANCE_TYPES

#: Okabe and Ito's colour-blind-safe palette (Color Universal Design): every colour of every chart is one of
#: these, or grey; no colour stands for two things in one chart.
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73",
             "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7"}
_O = OKABE_ITO
#: Sector point colours (blue, orange, sky blue; then the rest) and alliance-type line colours (vermillion,
#: reddish purple, bluish green): the network never shows one colour for a sector and a tie.
SECTOR_COLOURS = (_O["blue"], _O["orange"], _O["sky_blue"], _O["yellow"], _O["black"])
TYPE_COLOURS = dict(zip(ALLIANCE_TYPES, (_O["vermillion"], _O["reddish_purple"], _O["bluish_green"]), strict=True))
WITH, WITHOUT, AHEAD, BEHIND = _O["blue"], "#7F7F7F", "rgba(0,158,115,0.35)", "rgba(213,94,0,0.35)"
#: The lifecycle chart's end causes, one colour each (running and formed are black and grey).
CAUSE_COLOURS = dict(zip(END_CAUSES, (_O["orange"], _O["vermillion"], _O["reddish_purple"], _O["sky_blue"],
                                      _O["bluish_green"], _O["blue"]), strict=True))

#: INEGI's share of a birth cohort still operating after 1 and 5 years (cohorts 1989-2009).
INEGI_SURVIVAL = ((12, 0.64), (60, 0.30))


def _points(months, values, digits: int = 1) -> list[list]:
    """[[month, value], ...] with NaN as a gap (None) and rounded values (smaller messages)."""
    rounded = np.round(np.asarray(values, dtype=float), digits).tolist()
    return [[m, None if v != v else v] for m, v in zip(np.asarray(months).tolist(), rounded)]  # v != v: NaN


def time_axis(model: AppModel, grid: int = 0) -> dict:
    """A month axis from 0 to the run's length (or further, once the run passes it)."""
    return {"type": "value", "name": "month", "nameLocation": "middle", "nameGap": 24, "min": 0,
            "max": max(int(model.cfg.months), model.month), "gridIndex": grid}


def time_markers(model: AppModel) -> dict:
    """markLine for the crisis onset and markArea for the policy window, to attach to one series per axis."""
    out: dict = {}
    crisis = model.cfg.market.crisis
    if crisis.enabled:
        out["markLine"] = {"symbol": "none", "silent": True, "animation": False,
                           "lineStyle": {"color": "#B00020", "type": "dashed"},
                           "label": {"formatter": "crisis", "position": "insideEndTop", "color": "#B00020"},
                           "data": [{"xAxis": int(crisis.start_month)}]}
    windows = [[{"xAxis": int(p.start_month), "name": policy_label(name)}, {"xAxis": int(p.stop_month)}]
               for name, p in model.cfg.policies.items()]
    if windows:  # the window's name at the bottom, the crisis at the top: they never overlap
        out["markArea"] = {"silent": True, "animation": False, "itemStyle": {"color": "rgba(240,228,66,0.22)"},
                           "label": {"position": "insideBottom", "color": "#6b5d00"}, "data": windows}
    return out


def world_status(model: AppModel) -> str:
    """The sidebar's summary of the running world (HTML), every figure read from the model itself."""
    s = model.monthly
    alive = int(s["firms_alive"][-1]) if len(s) else model.n_initial
    alive_twin = int(model.twin_monthly["firms_alive"][-1]) if len(s) else model.n_initial
    table = model.alliances.table
    running = int(table.active[: table.n].sum())
    cfg = model.cfg
    policy = ", ".join(f"{policy_label(name)} (budget {p.budget:,.0f} {cfg.currency}, months "
                       f"{p.start_month}-{p.stop_month})"
                       for name, p in cfg.policies.items()) or "none"
    crisis = f"from month {cfg.market.crisis.start_month}" if cfg.market.crisis.enabled else "off"
    return (f"{alive:,} firms operating ({alive_twin:,} without alliances), {running:,} alliances running. "
            f"Public cost so far: {model.ledger.total():,.0f} {cfg.currency}.<br><i>This world:</i> "
            f"{model.n_initial:,} founding firms, seed {cfg.seed}, "
            f"partner search {100 * cfg.alliances.search.p_seek_max:g}% a month, "
            f"control x{cfg.alliances.structure.control_intensity:g}, "
            f"cluster savings {100 * cfg.alliances.types.cluster_max_savings:g}%, crisis {crisis}, policy {policy}.")


def first_steps(model: AppModel) -> str:
    """What to do, above the panels: how to start at month 0, what to look at once the world runs."""
    if model.month == 0:
        return ("<b>Press &#9654; (PLAY) in the sidebar</b> to run this world month by month, or STEP for one "
                "month. Every change under World or Policy builds a new world at month 0.")
    return ("Compare the two worlds below: the same firms with and without alliances (left), and with and "
            "without the policy chosen in the sidebar (right). Click a firm in the network to follow it.")


def _chart(title: str, series: list, y_axis, x_axis, grid=None) -> dict:
    # A plain legend wraps onto more lines instead of paging (a paged legend hides colours)
    return {"animation": False, "title": {"text": title, "textStyle": {"fontSize": 13}},
            "tooltip": {"trigger": "axis"}, "legend": {"top": 22, "type": "plain", "itemGap": 8},
            "grid": grid or {"top": 60, "left": 60, "right": 60, "bottom": 40},
            "xAxis": x_axis, "yAxis": y_axis, "series": series}


def _line(name: str, points: list, colour: str | None = None, **extra) -> dict:
    out = {"name": name, "type": "line", "showSymbol": False, "data": points, **extra}
    if colour:
        out["itemStyle"] = {"color": colour}
    return out


def _unit_hash(ids: np.ndarray, salt: int) -> np.ndarray:
    """A number in [0, 1) from each id (splitmix64 finaliser): fixed per firm, scattered across firms."""
    z = np.asarray(ids, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(salt)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return ((z ^ (z >> np.uint64(31))) >> np.uint64(11)).astype(float) / 2.0**53


def node_positions(firm_ids: np.ndarray, sectors: np.ndarray, n_sectors: int) -> np.ndarray:
    """Fixed (x, y) of each firm: one disc per sector on a ring, the place within it from the firm id.

    The place depends on the firm's id alone, so a firm stays put from month to
    month while others are born and close; edges between discs are alliances
    across sectors.
    """
    angle = 2 * np.pi * np.asarray(sectors) / max(n_sectors, 1) - np.pi / 2
    radius = np.sqrt(_unit_hash(firm_ids, 1))  # uniform over the disc
    turn = 2 * np.pi * _unit_hash(firm_ids, 2)
    x = 2.2 * np.cos(angle) + radius * np.cos(turn)
    y = 2.2 * np.sin(angle) + radius * np.sin(turn)
    return np.column_stack([x, -y])


def network_option(model: AppModel) -> dict:
    """Living firms as points (colour: sector, size: last month's revenue), running alliances as lines (colour: type).

    Drawn as one scatter series per sector and one lines series per alliance
    type on a hidden plane, rather than as an ECharts graph: a graph of a
    thousand nodes took the browser about 0.15 s to redraw, the scatter a tenth of it.
    """
    t = model.firms
    rows = model.living_rows
    revenue = t.revenue[rows]
    top = float(np.percentile(revenue, 95)) if len(rows) and revenue.max() > 0 else 1.0
    sizes = np.round(3 + 11 * np.sqrt(np.clip(revenue / top, 0, 1.5)), 1)
    xy = np.round(node_positions(t.firm_id[rows], t.sector[rows], len(model.sector_names)), 3)
    series = []
    for code, sector in enumerate(model.sector_names):
        pick = t.sector[rows] == code
        points = [{"name": str(f), "value": [x, y, r], "symbolSize": z}
                  for f, x, y, r, z in zip(t.firm_id[rows][pick].tolist(), xy[pick, 0].tolist(),
                                           xy[pick, 1].tolist(), np.round(revenue[pick]).tolist(),
                                           sizes[pick].tolist())]
        series.append({"name": sector, "type": "scatter", "data": points, "z": 3,
                       "dimensions": ["x", "y", "revenue"], "encode": {"x": 0, "y": 1, "tooltip": [2]},
                       "tooltip": {"formatter": f"firm {{b}} ({sector}): revenue {{@revenue}} {model.cfg.currency} "
                                                "last month"},
                       "itemStyle": {"color": SECTOR_COLOURS[code % len(SECTOR_COLOURS)], "opacity": 0.8}})
    n_ties = 0
    if model.alliances is not None:
        table = model.alliances.table
        active = table.active_rows()
        place = np.full((t.n, 2), np.nan)
        place[rows] = xy
        for code, kind in enumerate(ALLIANCE_TYPES):
            members = table.members[active[table.kind[active] == code]]
            ends = [[place[seats[0]].tolist(), place[other].tolist()]
                    for seats in members for other in seats[1:] if other >= 0 and t.alive[seats[0]] and t.alive[other]]
            n_ties += len(ends)
            series.append({"name": f"{kind} tie", "type": "lines", "coordinateSystem": "cartesian2d",
                           "polyline": False, "silent": True, "z": 2, "data": [{"coords": c} for c in ends],
                           "lineStyle": {"color": TYPE_COLOURS[kind], "width": 1.6, "opacity": 0.9}})
    hidden = {"type": "value", "show": False, "min": -3.4, "max": 3.4}
    return {"animation": False,
            "title": {"text": f"Alliance network, month {model.month}",
                      "subtext": f"{len(rows):,} firms (points, by sector; size: revenue), "
                                 f"{n_ties:,} alliance ties (lines, by type)",
                      "textStyle": {"fontSize": 13}},
            "tooltip": {"trigger": "item", "confine": True},
            "legend": {"bottom": 0, "type": "plain", "itemGap": 6, "itemWidth": 14, "textStyle": {"fontSize": 11}},
            "grid": {"top": 55, "bottom": 30, "left": 10, "right": 10},
            "xAxis": hidden, "yAxis": hidden, "series": series}


def _pair_option(model: AppModel, on, off, what: str, panels: list[tuple[str, str, str]], title: str) -> dict:
    """Two worlds side by side on two measures (``panels``: title, series column, unit), each with its gap.

    Top: both worlds' lines (``with {what}`` solid, ``without {what}`` dashed). Below each: the gap
    (with minus without), shaded green where the world with ``what`` is ahead and orange where behind.
    """
    names = [f"with {what}", f"without {what}", f"{what} ahead", f"{what} behind"]
    series = []
    if len(on) and len(off):
        months = on["month"]
        for col, (_title, name, _unit) in enumerate(panels):
            top, bottom = 2 * col, 2 * col + 1
            with_, without = on[name], off[name]
            gap = with_ - without
            series += [_line(names[0], _points(months, with_), WITH, xAxisIndex=top, yAxisIndex=top,
                             **time_markers(model)),
                       _line(names[1], _points(months, without), WITHOUT, xAxisIndex=top,
                             yAxisIndex=top, lineStyle={"type": "dashed"}),
                       _line(names[2], _points(months, np.clip(gap, 0, None)), AHEAD, xAxisIndex=bottom,
                             yAxisIndex=bottom, areaStyle={"color": AHEAD}, lineStyle={"width": 0},
                             **time_markers(model)),
                       _line(names[3], _points(months, np.clip(gap, None, 0)), BEHIND,
                             xAxisIndex=bottom, yAxisIndex=bottom, areaStyle={"color": BEHIND},
                             lineStyle={"width": 0})]
    left, right = {"left": 60, "width": "36%"}, {"right": 30, "width": "36%"}
    grids = [{**left, "top": 75, "height": "42%"}, {**left, "bottom": 40, "height": "20%"},
             {**right, "top": 75, "height": "42%"}, {**right, "bottom": 40, "height": "20%"}]
    x_axes, y_axes = [], []
    for col, (panel, _name, unit) in enumerate(panels):
        for row in (0, 1):
            axis = time_axis(model, 2 * col + row)
            if row == 0:
                axis.update({"name": "", "axisLabel": {"show": False}})
            x_axes.append(axis)
            y_axes.append({"type": "value", "gridIndex": 2 * col + row, "scale": row == 0,
                           "splitNumber": 4 if row == 0 else 2,
                           "name": f"{panel} ({unit})" if row == 0 else "gap"})
    option = _chart(title, series, y_axes, x_axes, grid=grids)
    option["legend"] = {"top": 22, "data": names}
    option["title"]["subtext"] = (f"left: {panels[0][0]}; right: {panels[1][0]}; below each: the gap")
    return option


def twin_option(model: AppModel) -> dict:
    """The same world with and without alliances: firms alive and mean revenue per living firm, and their gap."""
    return _pair_option(model, model.monthly, model.twin_monthly, "alliances",
                        [("firms alive", "firms_alive", "firms"),
                         ("revenue per living firm", "mean_revenue", f"{model.cfg.currency} a month")],
                        "Same world, same seed: with alliances (solid) and without (dashed)")


def policy_twin_option(model: AppModel) -> dict:
    """The same world with and without the chosen instrument (alliances on in both): firms alive and
    alliances running, and their gap. Without an instrument, an empty chart that says how to choose one."""
    if model.policy_twin is None:
        option = _chart("Same world with and without a policy", [], {"type": "value"}, time_axis(model))
        option["title"]["subtext"] = "choose an instrument under Policy in the sidebar to compare"
        return option
    label = ", ".join(policy_label(name) for name in model.cfg.policies)
    return _pair_option(model, model.monthly, model.policy_twin_monthly, "the policy",
                        [("firms alive", "firms_alive", "firms"), ("alliances running", "alliances_active",
                                                                   "alliances")],
                        f"Same world with the policy ({label}, solid) and without (dashed)")


def lifecycle_option(model: AppModel) -> dict:
    """Alliances running, and alliances formed and ended by cause, cumulated over months."""
    s = model.monthly
    series = []
    if len(s):
        months = s["month"]
        series.append(_line("running", _points(months, s["alliances_active"]), "#000000", **time_markers(model),
                            lineStyle={"width": 3}))
        series.append(_line("formed (total)", _points(months, np.cumsum(s["alliances_formed"])), "#555555",
                            lineStyle={"type": "dotted"}))
        series += [_line(f"ended: {cause.replace('_', ' ')}", _points(months, np.cumsum(s[f"ended_{cause}"])),
                         CAUSE_COLOURS[cause]) for cause in END_CAUSES]
    option = _chart("Alliance lifecycle", series, {"type": "value", "name": "alliances"}, time_axis(model))
    option["grid"]["top"] = 115  # the legend's eight entries take up to three lines
    return option


def selection_option(model: AppModel) -> dict:
    """Mean revenue of allied, independent and never-allied living firms: the gap a survey would see."""
    s = model.monthly
    series = []
    if len(s):
        months = s["month"]
        series = [_line("in an alliance", _points(months, s["mean_revenue_allied"]), WITH, **time_markers(model)),
                  _line("independent", _points(months, s["mean_revenue_independent"]), _O["orange"]),
                  _line("never allied", _points(months, s["mean_revenue_never_allied"]), WITHOUT)]
    option = _chart("What a survey sees: revenue of allied and other firms", series,
                    {"type": "value", "name": f"{model.cfg.currency} a month", "scale": True}, time_axis(model))
    option["title"]["subtext"] = "allied firms are selected (older, richer): compare with the twin above"
    option["grid"]["top"] = 70
    return option


def survival_option(model: AppModel) -> dict:
    """Share of the founding firms still operating, with INEGI's 1- and 5-year cohort figures."""
    s, twin = model.monthly, model.twin_monthly
    on = [[0, 1.0]]
    off = [[0, 1.0]]
    if len(s):
        on += _points(s["month"], s["initial_cohort_alive"] / model.n_initial, 3)
        off += _points(twin["month"], twin["initial_cohort_alive"] / model.n_initial, 3)
    series = [_line("with alliances", on, WITH, **time_markers(model)),
              _line("without alliances", off, WITHOUT, lineStyle={"type": "dashed"}),
              {"name": "INEGI cohorts 1989-2009", "type": "scatter", "symbol": "diamond", "symbolSize": 11,
               "itemStyle": {"color": "#000000"}, "data": [list(p) for p in INEGI_SURVIVAL]}]
    return _chart("Survival of the founding firms", series,
                  {"type": "value", "name": "share operating", "min": 0, "max": 1}, time_axis(model))


def followed_firm(model: AppModel) -> int | None:
    """The firm the inspector shows until a visitor picks one: a member of the oldest running alliance,
    else the living firm with the highest revenue."""
    t = model.firms
    if model.alliances is not None:
        table = model.alliances.table
        active = table.active_rows()
        if len(active):
            oldest = active[np.argmin(table.start_month[active])]
            return int(t.firm_id[table.members[oldest, 0]])
    rows = model.living_rows
    return int(t.firm_id[rows[np.argmax(t.revenue[rows])]]) if len(rows) else None


def firm_option(model: AppModel, firm_id: int | None) -> dict:
    """One firm's revenue and cash (left axis) and its trust in its partners (right axis), month by month.

    With ``firm_id`` None it follows :func:`followed_firm`, which changes as alliances end.
    """
    following = firm_id is None
    firm_id = followed_firm(model) if following else firm_id
    row = None if firm_id is None else model.row_of(int(firm_id))
    if row is None:
        return _chart(f"No firm with id {firm_id}", [], {"type": "value"}, time_axis(model))
    h = model.history.of(row)
    t = model.firms
    status = "operating" if t.alive[row] else f"closed in month {int(t.death_month[row])}"
    sector = model.sector_names[int(t.sector[row])]
    months = h["month"]
    series = [_line("revenue", _points(months, h["revenue"]), _O["blue"], **time_markers(model)),
              _line("cash", _points(months, h["cash"]), _O["orange"]),
              _line("goodwill trust", _points(months, h["goodwill"], 3), _O["bluish_green"], yAxisIndex=1),
              _line("competence trust", _points(months, h["competence"], 3), _O["reddish_purple"], yAxisIndex=1,
                    lineStyle={"type": "dashed"})]
    y_axes = [{"type": "value", "name": model.cfg.currency, "scale": True},
              {"type": "value", "name": "trust in partner", "min": 0, "max": 1}]
    title = f"Firm {int(firm_id)}: {sector}, {int(t.workers[row])} workers, {status}"
    if following:
        title += " (a member of the oldest running alliance; pick a firm to keep one)"
    option = _chart(title, series, y_axes, time_axis(model))
    alliances = sorted({int(a) for a in h["alliance_id"] if a >= 0})
    option["title"]["subtext"] = (f"alliances: {', '.join(map(str, alliances))}" if alliances
                                  else "never in an alliance so far")
    option["grid"]["top"] = 70
    return option
