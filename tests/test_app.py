"""The browser view's world and panels: what it builds and what each chart shows (no browser here).

The real-browser test is ``tests/test_app_browser.py``.
"""

import json

import numpy as np
import pytest
import solara

from experiments import app, app_panels
from experiments.app_model import APP_N_FIRMS, LEVERS, POLICIES, AppModel, default_settings, world_overrides
from sim import AllianceModel, ConfigError, load_config


def _cfg_value(cfg, path):
    for part in path.split("."):
        cfg = cfg[part] if isinstance(cfg, dict) else getattr(cfg, part)
    return cfg


def test_slider_defaults_are_the_schema_defaults():
    """Each lever starts at the default of the config path it sets (the world size aside, by design)."""
    cfg = load_config("policy=training")
    settings = default_settings()
    for key, lever in LEVERS.items():
        if key != "n_firms":
            expected = _cfg_value(cfg, lever.path.format(policy="training"))
            assert settings[key] == expected, f"expected lever {key} to start at {lever.path}={expected}"
    assert settings["n_firms"] == app.AppModel().n_initial == APP_N_FIRMS
    assert settings["policy"] == "none" and not settings["crisis"]


def test_lever_labels_are_short_and_show_value_and_unit():
    """A lever's line reads 'label: value unit' in display units, and round-trips to the config value."""
    assert LEVERS["p_seek_max"].text(0.06) == "Partner search: 6 % a month at most"
    assert LEVERS["budget"].text(1_000_000.0) == "Policy budget: 1,000 thousand MXN"
    assert LEVERS["n_firms"].text(1200) == "Firms at start: 1,200 firms"
    for key, lever in LEVERS.items():
        assert len(lever.label) <= 20, f"expected a short label for {key}, got {lever.label!r}"
    assert LEVERS["p_seek_max"].config_value(6.5) == pytest.approx(0.065)
    assert LEVERS["n_firms"].config_value(1100.0) == 1100 and isinstance(LEVERS["n_firms"].config_value(1100.0), int)


def test_app_model_is_the_command_line_model_for_the_same_settings():
    """AppModel(settings) runs what load_config runs with the same overrides, and its twin is alliances off."""
    a = AppModel(seed=3, n_firms=300, p_seek_max=0.1, crisis=True, policy="training", budget=200_000.0,
                 start_month=6, stop_month=30)
    overrides = ["seed=3", "firms.n_firms=300", "alliances.search.p_seek_max=0.1", "scenario=crisis",
                 "policy=training", "policies.training.budget=200000", "policies.training.start_month=6",
                 "policies.training.stop_month=30"]
    b = AllianceModel(load_config(*overrides))
    twin = AllianceModel(load_config(*overrides, "alliances.enabled=false"))
    for _ in range(40):
        a.step()
    b.run_for(40)
    twin.run_for(40)
    assert a.summary() == b.summary(), "expected identical summaries from the app and the config path"
    assert a.twin.summary() == twin.summary(), "expected the twin to be the alliances-off world, stepped in lockstep"
    assert a.twin.month == a.month == 40 and a.twin.alliances is None
    assert a.summary()["public_cost"] > 0, "expected the chosen policy to spend"


def test_every_policy_choice_builds_and_bad_settings_are_refused():
    """Every instrument in configs/policy/ can be chosen; an empty window or unknown policy is a clear error."""
    assert set(POLICIES) == {"none", "cluster_programme", "credit", "formation_grant", "matchmaking", "training"}
    for policy in POLICIES:
        m = AppModel(n_firms=100, policy=policy)
        assert list(m.cfg.policies) == ([] if policy == "none" else [policy])
    with pytest.raises(ConfigError, match="window"):
        AppModel(n_firms=100, policy="credit", start_month=50, stop_month=20)
    with pytest.raises(ValueError, match="allowed"):
        world_overrides({"policy": "lottery"})


def test_firm_history_follows_revenue_cash_and_trust_in_the_partner():
    """The inspector's history is the firm's own revenue and cash each month, and its goodwill seat in its alliance."""
    m = AppModel(seed=1, n_firms=300)
    seen = {}
    for _ in range(60):
        m.step()
        table = m.alliances.table
        rows = np.flatnonzero(m.firms.alive[: m.firms.n] & (m.firms.alliance_id[: m.firms.n] >= 0))
        for r in rows[:5]:
            a = m.firms.alliance_id[r]
            seat = list(table.members[a]).index(r)
            seen[(int(r), m.month)] = (m.firms.revenue[r], m.firms.cash[r], table.goodwill[a, seat])
    assert seen, "expected some firms in alliances within 60 months"
    for (row, month), (revenue, cash, goodwill) in list(seen.items())[:20]:
        h = m.history.of(row).set_index("month").loc[month]
        assert (h["revenue"], h["cash"], h["goodwill"]) == pytest.approx((revenue, cash, goodwill))
    loner = int(np.flatnonzero(~m.firms.ever_allied[: m.n_initial])[0])
    assert m.history.of(loner)["goodwill"].isna().all(), "expected no trust for a firm never in an alliance"


def test_network_draws_living_firms_and_running_alliances():
    """Points are the living firms, sized by revenue; lines are the running alliances' ties, one series per type."""
    m = AppModel(seed=2, n_firms=400)
    for _ in range(50):
        m.step()
    option = app_panels.network_option(m)
    points = [p for s in option["series"] if s["type"] == "scatter" for p in s["data"]]
    assert sorted(int(p["name"]) for p in points) == sorted(m.firms.firm_id[m.living_rows].tolist())
    ties = sum(len(s["data"]) for s in option["series"] if s["type"] == "lines")
    table = m.alliances.table
    expected = int((table.size(table.active_rows()) - 1).sum())
    assert ties == expected > 0, f"expected one line per partner of each running alliance ({expected})"
    by_revenue = sorted(points, key=lambda p: p["value"][2])
    assert by_revenue[-1]["symbolSize"] > by_revenue[0]["symbolSize"], "expected bigger points for richer firms"
    again = app_panels.node_positions(m.firms.firm_id[:5], m.firms.sector[:5], 3)
    assert np.array_equal(again, app_panels.node_positions(m.firms.firm_id[:5], m.firms.sector[:5], 3))


def test_twin_panel_shows_both_worlds_and_their_gap():
    """The comparison draws both worlds' series month by month and the gap as with minus without."""
    m = AppModel(seed=0, n_firms=400)
    for _ in range(40):
        m.step()
    option = app_panels.twin_option(m)
    lines = {(s["name"], s["xAxisIndex"]): s["data"] for s in option["series"]}
    on, off = m.series(), m.twin.series()
    assert [p[1] for p in lines[("with alliances", 0)]] == on["firms_alive"].tolist()
    assert [p[1] for p in lines[("without alliances", 0)]] == off["firms_alive"].tolist()
    gap = (on["mean_revenue"] - off["mean_revenue"]).to_numpy()
    ahead = np.array([p[1] for p in lines[("alliances ahead", 3)]])
    behind = np.array([p[1] for p in lines[("alliances behind", 3)]])
    assert np.allclose(ahead + behind, gap, atol=0.1), "expected the shaded gap to be with minus without"
    assert (ahead >= 0).all() and (behind <= 0).all()


def test_time_axes_mark_the_crisis_and_the_policy_window():
    """With the crisis and a policy on, every time chart carries the onset line and the window band."""
    m = AppModel(n_firms=200, crisis=True, policy="credit", start_month=10, stop_month=40)
    m.step()
    for build in (app_panels.twin_option, app_panels.lifecycle_option, app_panels.selection_option,
                  app_panels.survival_option, lambda model: app_panels.firm_option(model, 1)):
        series = build(m)["series"]
        lines = [s["markLine"]["data"][0]["xAxis"] for s in series if "markLine" in s]
        areas = [s["markArea"]["data"][0] for s in series if "markArea" in s]
        assert lines and set(lines) == {m.cfg.market.crisis.start_month}, "expected the crisis onset marked"
        assert areas and areas[0][0]["xAxis"] == 10 and areas[0][1]["xAxis"] == 40, "expected the window shaded"
    plain = AppModel(n_firms=200)
    assert not any("markLine" in s or "markArea" in s for s in app_panels.lifecycle_option(plain)["series"])


def test_panels_are_json_and_draw_the_run():
    """Every option serialises (it is sent as JSON) and has data once the model has run."""
    m = AppModel(seed=1, n_firms=200, p_seek_max=0.06)
    builds = (app_panels.network_option, app_panels.twin_option, app_panels.lifecycle_option,
              app_panels.selection_option, app_panels.survival_option,
              lambda model: app_panels.firm_option(model, int(model.firms.firm_id[0])))
    for build in builds:
        json.dumps(build(m))  # before the first step
    for _ in range(30):
        m.step()
    for build in builds:
        option = json.loads(json.dumps(build(m)))
        assert any(len(s.get("data", [])) > 1 for s in option["series"]), "expected a series with data"
    assert "No firm" in app_panels.firm_option(m, 10**9)["title"]["text"]
    followed = app_panels.firm_option(m, None)["title"]["text"]
    assert followed.startswith(f"Firm {app_panels.followed_firm(m)}:") and "oldest running alliance" in followed
    table = m.alliances.table
    oldest = table.active_rows()[np.argmin(table.start_month[table.active_rows()])]
    assert m.row_of(app_panels.followed_firm(m)) in table.members[oldest], "expected a member of the oldest alliance"
    assert f"{m.n_initial:,} founding firms" in app_panels.world_status(m)


def test_page_renders_headless_and_each_session_gets_its_own_model():
    """Two renders of the page (two visitors) hold two different models."""
    _, first = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
    _, second = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
    charts = first.find(app.EchartsChart).widgets
    assert [c.name for c in charts] == ["network", "lifecycle", "twin", "policy_twin", "selection", "survival",
                                        "firm"], "expected seven charts, the two twins side by side"
    models = [json.loads(c.option_json) for c in (charts[0], second.find(app.EchartsChart).widgets[0])]
    assert models[0]["title"]["text"] == "Alliance network, month 0" == models[1]["title"]["text"]
    import ipyvuetify as v

    step = [b for b in first.find(v.Btn).widgets if b.children == ["Step"]][0]
    step.click()
    assert json.loads(first.find(app.EchartsChart).widgets[0].option_json)["title"]["text"].endswith("month 1")
    assert json.loads(second.find(app.EchartsChart).widgets[0].option_json)["title"]["text"].endswith("month 0"), \
        "expected the second visitor's world untouched by the first one's STEP"


def _network_size(rc) -> tuple[str, int]:
    option = json.loads(rc.find(app.EchartsChart).widgets[0].option_json)
    return option["title"]["text"], sum(len(s["data"]) for s in option["series"] if s["type"] == "scatter")


def test_a_lever_rebuilds_the_world_at_once_and_reset_keeps_its_settings():
    """Releasing the firms slider builds a new world at month 0; RESET restarts it with the same settings;
    an empty policy window is reported and leaves the world as it was."""
    import ipyvuetify as v

    _, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)

    def button(name):
        return [b for b in rc.find(v.Btn).widgets if b.children == [name]][0]

    def slider(key):
        return [s for s in rc.find(v.Slider).widgets if f"alianzas-slider-{key}" in (s.class_ or "")][0]

    button("Step").click()
    slider("n_firms").fire_event("change", 1200)
    assert _network_size(rc) == ("Alliance network, month 0", 1200)
    button("Step").click()
    button("Step").click()
    assert _network_size(rc)[0].endswith("month 2")
    button("Reset").click()
    assert _network_size(rc) == ("Alliance network, month 0", 1200), "expected RESET to keep 1,200 firms"

    [select] = [s for s in rc.find(v.Select).widgets if s.label == "Instrument"]
    select.v_model = "Credit line"
    slider("start_month").fire_event("change", 100)
    errors = rc.find(v.Alert).widgets
    assert errors and "window" in str(errors[0].children), "expected the empty window reported in the sidebar"
    status = rc.find(solara.widgets.HTML).widgets
    assert any("policy Credit line (budget 1,000,000 MXN, months 12-72)" in w.unsafe_innerHTML for w in status), \
        "expected the world to keep the last valid settings"


def test_charts_keep_the_current_month_after_play_and_pause():
    """PLAY then PAUSE re-renders the controls; the charts and the month shown must stay at the model's month
    (they are written in place, so the renderer must not put back the values of their first render)."""
    import time

    import ipyvuetify as v

    _, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)

    def button(name):
        return [b for b in rc.find(v.Btn).widgets if b.children == [name]][0]

    def shown_month():
        return [w.unsafe_innerHTML for w in rc.find(solara.widgets.HTML).widgets
                if (w.unsafe_innerHTML or "").startswith("Month")]

    button("Step").click()
    button("▶").click()
    deadline = time.monotonic() + 60
    while int(_network_size(rc)[0].rsplit(" ", 1)[1]) < 3:
        assert time.monotonic() < deadline, "expected PLAY to run months within 60 s"
        time.sleep(0.05)
    button("❚❚").click()
    time.sleep(0.5)  # the PLAY thread finishes the month it is in
    month = int(_network_size(rc)[0].rsplit(" ", 1)[1])
    assert month >= 3 and shown_month() == [f"Month {month}"], "expected the chart and the label at one month"
    button("Step").click()
    assert _network_size(rc)[0] == f"Alliance network, month {month + 1}"


def _buttons(rc):
    import ipyvuetify as v

    return {b.children[0]: b for b in rc.find(v.Btn).widgets if b.children and b.children[0] in
            ("Reset", "▶", "❚❚", "Step")}


def test_play_to_the_horizon_then_a_lever_leaves_play_and_step_working():
    """The issue's lock: PLAY to month 120 disables PLAY and STEP (the world has ended); a lever then builds a
    new world at month 0 whose PLAY and STEP work, without RESET."""
    import time

    _, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)

    def slider(key):
        import ipyvuetify as v

        return [s for s in rc.find(v.Slider).widgets if f"alianzas-slider-{key}" in (s.class_ or "")][0]

    slider("n_firms").fire_event("change", 200)  # a small world reaches month 120 quickly
    _buttons(rc)["▶"].click()
    deadline = time.monotonic() + 120
    while _network_size(rc)[0] != "Alliance network, month 120":
        assert time.monotonic() < deadline, f"expected PLAY to reach month 120, at {_network_size(rc)[0]}"
        time.sleep(0.1)
    time.sleep(0.3)
    buttons = _buttons(rc)
    assert buttons["▶"].disabled and buttons["Step"].disabled, "expected PLAY and STEP off at the horizon"

    slider("control_intensity").fire_event("change", 2.0)  # a lever: a new world
    assert _network_size(rc)[0] == "Alliance network, month 0"
    buttons = _buttons(rc)
    assert not buttons["▶"].disabled and not buttons["Step"].disabled, "expected PLAY and STEP on in the new world"
    buttons["Step"].click()
    assert _network_size(rc)[0] == "Alliance network, month 1"
    _buttons(rc)["▶"].click()
    deadline = time.monotonic() + 60
    while int(_network_size(rc)[0].rsplit(" ", 1)[1]) < 5:
        assert time.monotonic() < deadline, "expected PLAY to run the new world"
        time.sleep(0.05)
    _buttons(rc)["❚❚"].click()


def test_policy_twin_is_the_same_world_without_the_instrument():
    """With an instrument chosen, the view also steps the world without it (alliances on, same seed): the
    command line's world without policy=..."""
    a = AppModel(seed=2, n_firms=300, policy="credit", budget=300_000.0)
    for _ in range(40):
        a.step()
    b = AllianceModel(load_config("seed=2", "firms.n_firms=300"))
    b.run_for(40)
    assert a.policy_twin.summary() == b.summary() and a.policy_twin.alliances is not None
    option = app_panels.policy_twin_option(a)
    lines = {(s["name"], s["xAxisIndex"]): [p[1] for p in s["data"]] for s in option["series"]}
    assert lines[("without the policy", 0)] == b.series()["firms_alive"].tolist()
    assert "Credit line" in option["title"]["text"]
    plain = AppModel(n_firms=100)
    assert plain.policy_twin is None and not app_panels.policy_twin_option(plain)["series"]
    assert "choose an instrument" in app_panels.policy_twin_option(plain)["title"]["subtext"]


def test_instruments_show_the_names_their_classes_own():
    """The select, the status line and the window's label read "Alliance training", never `training`."""
    from sim.policies import REGISTRY

    for kind, cls in REGISTRY.items():
        assert cls.label and "_" not in cls.label and app.policy_label(kind) == cls.label
    m = AppModel(n_firms=100, policy="cluster_programme")
    m.step()
    assert "Cluster programme (budget" in app_panels.world_status(m)
    marks = [s["markArea"] for s in app_panels.lifecycle_option(m)["series"] if "markArea" in s]
    assert marks[0]["data"][0][0]["name"] == "Cluster programme"
    _, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
    import ipyvuetify as v

    [select] = [s for s in rc.find(v.Select).widgets if s.label == "Instrument"]
    assert "Credit line" in select.items and "credit" not in select.items


def _colours(option) -> set[str]:
    found = set()

    def walk(node, key=""):
        if isinstance(node, dict):
            for k, val in node.items():
                walk(val, k)
        elif isinstance(node, list):
            for val in node:
                walk(val, key)
        elif key == "color" and isinstance(node, str) and node.startswith("#"):
            found.add(node.upper())
    walk(option.get("series", []))
    return found


def test_every_chart_uses_the_colour_blind_safe_palette_and_an_unpaged_legend():
    """Series colours are Okabe-Ito (or black, grey, the crisis red); sector and tie colours never coincide (the
    issue: innovation green beside manufacturing green); no legend is paged; crisis and policy labels sit at
    opposite edges."""
    m = AppModel(seed=1, n_firms=300, crisis=True, policy="training")
    for _ in range(40):
        m.step()
    allowed = {c.upper() for c in app_panels.OKABE_ITO.values()} | {"#7F7F7F", "#555555", "#B00020", "#6B5D00"}
    for build in (app_panels.network_option, app_panels.twin_option, app_panels.policy_twin_option,
                  app_panels.lifecycle_option, app_panels.selection_option, app_panels.survival_option,
                  lambda model: app_panels.firm_option(model, None)):
        option = build(m)
        assert _colours(option) <= allowed, f"{option['title']['text']}: {_colours(option) - allowed}"
        assert option.get("legend", {}).get("type") != "scroll", f"{option['title']['text']}: paged legend"
    n_sectors = len(m.sector_names)
    assert not set(app_panels.SECTOR_COLOURS[:n_sectors]) & set(app_panels.TYPE_COLOURS.values())
    lifecycle = app_panels.lifecycle_option(m)["series"]
    assert len({s["itemStyle"]["color"] for s in lifecycle}) == len(lifecycle), "expected one colour per series"
    marks = app_panels.time_markers(m)
    assert marks["markLine"]["label"]["position"].endswith("Top")
    assert marks["markArea"]["label"]["position"] == "insideBottom"


def test_network_tooltip_names_the_firm_and_its_revenue():
    """The tooltip template reads the revenue dimension by name (the issue saw "revenue {@[2]}" unfilled)."""
    m = AppModel(seed=1, n_firms=100)
    m.step()
    scatter = [s for s in app_panels.network_option(m)["series"] if s["type"] == "scatter"][0]
    assert scatter["dimensions"][2] == "revenue" and "{@revenue}" in scatter["tooltip"]["formatter"]


def test_the_first_view_says_press_play():
    m = AppModel(n_firms=100)
    assert "Press &#9654; (PLAY)" in app_panels.first_steps(m)
    m.step()
    assert "Press" not in app_panels.first_steps(m)


def test_alianzas_app_switches_solara_telemetry_off_unless_asked(monkeypatch):
    from experiments import cli

    launched = []
    monkeypatch.setattr(cli.os, "execv", lambda *a: launched.append(a))
    monkeypatch.delenv(cli.TELEMETRY_ENV, raising=False)
    cli.app(["--port", "1"])
    assert launched and cli.os.environ[cli.TELEMETRY_ENV] == "False"
    monkeypatch.setenv(cli.TELEMETRY_ENV, "True")
    cli.app([])
    assert cli.os.environ[cli.TELEMETRY_ENV] == "True", "expected a user's own choice kept"
