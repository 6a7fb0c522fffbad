"""Interactive browser view of the model, for students and workshops: ``solara run experiments/app.py``.

Each visitor (each browser tab) gets a world of their own, ``AppModel``: the
model of the chosen settings stepped in lockstep with its twin without
alliances (``experiments.app_model``). The page uses Mesa's
``update_counter`` (the signal after which SolaraViz redraws): every panel is
redrawn in place when it is bumped. Its controls (RESET, PLAY, STEP) are
:func:`WorldController`, not Mesa's ``ModelController``: Mesa's keeps whether it
is playing and whether the model still runs in state of its own, which only its
RESET clears, so a world swapped in by a lever after PLAY had reached the
horizon found PLAY and STEP disabled. Here that state belongs to the world: a
new world is never playing, STEP and PLAY are enabled while the world has months
to run (``model.running``), and a PLAY loop stops as soon as its world is
replaced. It lays out its own sidebar, because SolaraViz's parameter card
applies a change only at RESET: here a change to a lever builds the new world
at once, and RESET restarts the same settings from month 0.

While PLAY runs the panels are redrawn at most :data:`REDRAWS_PER_SECOND` times a
second (every month is still stepped; the page skips to the newest), which
keeps a classroom's server from spending its processor on frames nobody sees
(``benchmarks/app_capacity.py`` measures what a server can carry).

Panels (ECharts, drawn in the browser and updated in place, ``experiments.app_panels``):
the alliance network; the alliance lifecycle; the same world with and without
alliances, and with and without the chosen policy; what a survey of allied firms would see; survival against
INEGI; and a firm inspector (click a firm in the network, or type its id). Time axes mark
the crisis onset and shade the policy window.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipyvuetify
import reacton.ipyvuetify as rv
import solara
import traitlets
from mesa.visualization.utils import force_update, update_counter

from experiments import app_panels
from experiments.cli import TELEMETRY_ENV
from experiments.app_model import LEVERS, POLICIES, AppModel, Lever, default_settings, policy_label
from sim import ConfigError

if TELEMETRY_ENV not in os.environ:  # also when served with `solara run` directly: no usage reports unless asked
    import solara.server.settings

    solara.server.settings.telemetry.mixpanel_enable = False

#: Pause between months while PLAY runs (ms). Mesa's default of 100 ms caps PLAY at 10 months a second.
PLAY_INTERVAL_MS = 10

#: Most redraws of the panels a second while PLAY runs (STEP and the end of PLAY always redraw).
REDRAWS_PER_SECOND = 4

#: The PLAY pause as a slider (it sets no config value, hence no path).
PAUSE_LEVER = Lever("", "Pause between months", "ms", 0, 500, 10)

TITLE = "alianzas: microenterprise alliances"
CHART_HEIGHT = 380


class EchartsChart(ipyvuetify.VuetifyTemplate):
    """An ECharts chart fed a JSON string (``echarts_chart.vue``), redrawn in place when the string changes.

    Solara's own ``FigureEcharts`` takes the option as nested lists and dicts,
    which the renderer walks element by element on every update; a network of a
    thousand firms made that walk cost about 0.3 s a month. A string is one value.
    """

    template_file = (str(Path(__file__).with_name("echarts_chart.vue")), "echarts_chart.vue")
    option_json = traitlets.Unicode("{}").tag(sync=True)
    height = traitlets.Int(CHART_HEIGHT).tag(sync=True)
    name = traitlets.Unicode("").tag(sync=True)  # data-chart on the page: which panel this is
    on_click = traitlets.Callable(None, allow_none=True)

    def vue_chart_click(self, data):
        """Called by the browser with the clicked item's series type and name."""
        if self.on_click is not None:
            self.on_click(data)


def _dump(option: dict) -> str:
    return json.dumps(option, separators=(",", ":"))


def use_monthly(el, trait: str, compute: Callable[[], Any], dependencies: list) -> None:
    """Set ``trait`` of ``el``'s widget to ``compute()`` now and after every month, in place.

    The controller bumps ``update_counter`` after a month (at most ``REDRAWS_PER_SECOND`` times a
    second while PLAY runs). A component
    that read it would make the renderer walk the whole page (about 125
    widgets) every month; subscribing and writing into the widget sends the
    same message at a fraction of the cost. ``trait`` must not be one of the
    element's arguments: the renderer re-applies those, stale, whenever any
    state on the page changes (PLAY, PAUSE), and the chart would jump back.
    """

    def follow():
        widget = solara.get_widget(el)

        def refresh(*_):
            setattr(widget, trait, compute())

        refresh()
        return update_counter.subscribe(refresh)

    solara.use_effect(follow, dependencies)


@solara.component
def LiveChart(name: str, build: Callable[[], dict], dependencies: list, on_click=None,
              height: int = CHART_HEIGHT):
    """Chart ``name`` of ``build()`` (an ECharts option), ``height`` pixels tall, redrawn in place after every month."""
    el = EchartsChart.element(name=name, on_click=on_click, height=height)
    use_monthly(el, "option_json", lambda: _dump(build()), dependencies)
    return el


@solara.component
def LiveHTML(build: Callable[[], str], dependencies: list, classes: list[str], style: str):
    """HTML of ``build()``, rewritten in place after every month."""
    el = solara.widgets.HTML.element(tag="div", attributes={"class": " ".join(classes), "style": style})
    use_monthly(el, "unsafe_innerHTML", build, dependencies)
    return el


@solara.component
def LeverSlider(key: str, lever: Lever, value: float, on_change):
    """A slider with ``label: value unit`` above it; ``on_change(key, value)`` fires when it is released."""
    solara.Text(lever.text(value), classes=["alianzas-lever"], style={"font-size": "0.9em"})
    slider = rv.Slider(v_model=lever.display(value), min=lever.lo, max=lever.hi, step=lever.step,
                       thumb_label=True, hide_details=True, dense=True, class_=f"alianzas-slider-{key}")
    rv.use_event(slider, "change", lambda _widget, _event, shown: on_change(key, lever.config_value(shown)))


@solara.component
def WorldController(model: solara.Reactive, reset: Callable[[], None], play_interval: solara.Reactive):
    """RESET, PLAY/PAUSE and STEP for the world in ``model``; their state is the world's, not the controller's.

    A new world (a lever, RESET) is never playing; PLAY and STEP are enabled while
    ``model.value.running`` (Mesa's flag, false at the horizon); a PLAY loop steps only
    the world it was started for and stops when that world is replaced.
    """
    world = model.value
    playing = solara.use_reactive(False)
    ended = solara.use_reactive(not world.running)

    def new_world():
        playing.set(False)
        ended.set(not world.running)

    solara.use_effect(new_world, [world])

    def play():
        if not playing.value:  # the task also starts on every render of a paused world: nothing to do
            return
        last = 0.0
        while playing.value and world.running and model.value is world:
            time.sleep(play_interval.value / 1000)
            world.step()
            now = time.monotonic()
            if now - last >= 1 / REDRAWS_PER_SECOND or not world.running:
                last = now
                force_update()
        if model.value is world:
            force_update()
            ended.set(not world.running)
            playing.set(False)

    solara.lab.use_task(play, dependencies=[playing.value, world], prefer_threaded=True)

    def step():
        world.step()
        ended.set(not world.running)
        force_update()

    def play_pause():
        playing.set(not playing.value)

    can_run = world.running and not ended.value
    with solara.Row(justify="space-between"):
        solara.Button(label="Reset", color="primary", on_click=reset)
        solara.Button(label="❚❚" if playing.value else "▶", color="primary", on_click=play_pause,
                      disabled=not can_run and not playing.value)
        solara.Button(label="Step", color="primary", on_click=step, disabled=playing.value or not can_run)


@solara.component
def WorldStatus(model: AppModel):
    """The month and what the running world is, read from the model itself."""
    # HTML, not solara.Markdown: Markdown loads KaTeX from the internet (solara-assets does not ship it)
    LiveHTML(lambda: f"Month {model.month}", [model], classes=["alianzas-month"],
             style="font-size: 1.3em; font-weight: bold;")
    LiveHTML(lambda: app_panels.world_status(model), [model], classes=["alianzas-status"], style="font-size: 0.85em;")


@solara.component
def Panels(model: AppModel, firm_id: solara.Reactive):
    """Every chart, redrawn in place from the model after each month."""

    def pick_firm(event):
        name = (event or {}).get("name") or ""
        if event.get("seriesType") == "scatter" and name.isdigit():
            firm_id.set(int(name))

    LiveHTML(lambda: app_panels.first_steps(model), [model], classes=["alianzas-hint"],
             style="font-size: 1.05em; margin: 4px 0 8px 0;")
    with solara.Columns([1, 1]):
        LiveChart("network", lambda: app_panels.network_option(model), [model], on_click=pick_firm, height=470)
        LiveChart("lifecycle", lambda: app_panels.lifecycle_option(model), [model], height=470)
    with solara.Columns([1, 1]):
        LiveChart("twin", lambda: app_panels.twin_option(model), [model], height=440)
        LiveChart("policy_twin", lambda: app_panels.policy_twin_option(model), [model], height=440)
    with solara.Columns([1, 1]):
        LiveChart("selection", lambda: app_panels.selection_option(model), [model])
        LiveChart("survival", lambda: app_panels.survival_option(model), [model])
    with solara.Columns([1, 1]):
        with solara.Card("Firm inspector"):
            solara.InputInt("Firm id (or click a firm in the network)", value=firm_id, optional=True,
                            classes=["alianzas-firm-id"])
            LiveChart("firm", lambda: app_panels.firm_option(model, firm_id.value), [model, firm_id.value])


@solara.component
def Page():
    """The whole view for one visitor: sidebar of levers and controls, and the panels."""
    first = solara.use_memo(lambda: AppModel(**default_settings()), [])
    model = solara.use_reactive(first)
    settings = solara.use_reactive(dict(first.settings))  # the last valid settings: what RESET rebuilds
    shown = solara.use_reactive(dict(first.settings))  # what the levers show, valid or not
    problem = solara.use_reactive("")
    firm_id = solara.use_reactive(None)  # None: the inspector follows app_panels.followed_firm
    play_interval = solara.use_reactive(PLAY_INTERVAL_MS)

    def change(key, value):
        wanted = {**shown.value, key: value}
        shown.set(wanted)
        try:
            world = AppModel(**wanted)
        except (ConfigError, ValueError) as e:
            problem.set(f"{e}. The world shown keeps its previous settings until this is fixed.")
            return
        problem.set("")
        settings.set(wanted)
        model.set(world)

    values = shown.value
    with solara.AppBar():
        solara.AppBarTitle(TITLE)
    with solara.Sidebar():
        with solara.Card("Run"):
            WorldController(model, lambda: model.set(AppModel(**settings.value)), play_interval)
            solara.Text("A change below builds a new world at once (month 0); RESET restarts it.",
                        style={"font-size": "0.8em"})
            WorldStatus(model.value)
        with solara.Card("World"):
            solara.InputInt("Seed", value=values["seed"], on_value=lambda v: change("seed", int(v)))
            for key in ("n_firms", "p_seek_max", "control_intensity", "cluster_max_savings"):
                LeverSlider(key, LEVERS[key], values[key], change)
            solara.Checkbox(label=f"Crisis from month {model.value.cfg.market.crisis.start_month}",
                            value=values["crisis"], on_value=lambda v: change("crisis", bool(v)))
        with solara.Card("Policy"):
            by_label = {policy_label(p): p for p in POLICIES}
            solara.Select("Instrument", values=list(by_label), value=policy_label(values["policy"]),
                          on_value=lambda v: change("policy", by_label[v]))
            if values["policy"] != "none":
                for key in ("budget", "start_month", "stop_month"):
                    LeverSlider(key, LEVERS[key], values[key], change)
        if problem.value:
            solara.Error(problem.value)
        with solara.Card("Speed"):
            LeverSlider("play_interval", PAUSE_LEVER, play_interval.value, lambda _key, v: play_interval.set(int(v)))

    Panels(model.value, firm_id)


page = Page
