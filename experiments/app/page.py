"""Interactive browser view of the model, for students and workshops: ``solara run experiments/app/page.py``.

Each visitor (each browser tab) gets a world of their own, ``AppModel``: the
model of the chosen settings stepped in lockstep with its twin without
alliances (``experiments.app.model``). The page is built from Mesa's SolaraViz
parts: its ``ModelController`` (Reset, Play, Step; PLAY steps on a thread) and
its ``update_counter``, which it bumps after every month and after which every
panel is redrawn in place. It lays out its own sidebar, because SolaraViz's
parameter card applies a change only at RESET: here a change to a lever builds
the new world at once, and RESET restarts the same settings from month 0.

Panels (ECharts, drawn in the browser and updated in place, ``experiments.app.panels``):
the alliance network; the same world with and without alliances; the
alliance lifecycle; what a survey of allied firms would see; survival against
INEGI; and a firm inspector (click a firm in the network, or type its id). Time axes mark
the crisis onset and shade the policy window.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipyvuetify
import reacton.ipyvuetify as rv
import solara
import traitlets
from mesa.visualization.solara_viz import ModelController
from mesa.visualization.utils import update_counter

from experiments.app import panels as app_panels
from experiments.app.model import LEVERS, POLICIES, AppModel, Lever, default_settings
from sim import ConfigError

#: Pause between months while PLAY runs (ms). Mesa's default of 100 ms caps PLAY at 10 months a second.
PLAY_INTERVAL_MS = 10

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
    on_click = traitlets.Callable(None, allow_none=True)

    def vue_chart_click(self, data):
        """Called by the browser with the clicked item's series type and name."""
        if self.on_click is not None:
            self.on_click(data)


def _dump(option: dict) -> str:
    return json.dumps(option, separators=(",", ":"))


def use_monthly(el, trait: str, compute: Callable[[], Any], dependencies: list) -> None:
    """Set ``trait`` of ``el``'s widget to ``compute()`` now and after every month, in place.

    Mesa's controller bumps ``update_counter`` after each month. A component
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
def LiveChart(build: Callable[[], dict], dependencies: list, on_click=None, height: int = CHART_HEIGHT):
    """A chart of ``build()`` (an ECharts option), ``height`` pixels tall, redrawn in place after every month."""
    el = EchartsChart.element(on_click=on_click, height=height)
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

    with solara.Columns([1, 1]):
        LiveChart(lambda: app_panels.network_option(model), [model], on_click=pick_firm, height=470)
        LiveChart(lambda: app_panels.twin_option(model), [model], height=470)
    with solara.Columns([1, 1]):
        LiveChart(lambda: app_panels.lifecycle_option(model), [model])
        LiveChart(lambda: app_panels.selection_option(model), [model])
    with solara.Columns([1, 1]):
        LiveChart(lambda: app_panels.survival_option(model), [model])
        with solara.Card("Firm inspector"):
            solara.InputInt("Firm id (or click a firm in the network)", value=firm_id, optional=True,
                            classes=["alianzas-firm-id"])
            LiveChart(lambda: app_panels.firm_option(model, firm_id.value), [model, firm_id.value])


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
    render_interval = solara.use_reactive(1)
    use_threads = solara.use_reactive(False)

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
            ModelController(model, model_parameters=settings, play_interval=play_interval,
                            render_interval=render_interval, use_threads=use_threads)
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
            solara.Select("Instrument", values=list(POLICIES), value=values["policy"],
                          on_value=lambda v: change("policy", v))
            if values["policy"] != "none":
                for key in ("budget", "start_month", "stop_month"):
                    LeverSlider(key, LEVERS[key], values[key], change)
        if problem.value:
            solara.Error(problem.value)
        with solara.Card("Speed"):
            LeverSlider("play_interval", PAUSE_LEVER, play_interval.value, lambda _key, v: play_interval.set(int(v)))

    Panels(model.value, firm_id)


page = Page
