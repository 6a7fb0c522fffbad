"""Interactive browser view of the model (Mesa's SolaraViz), for students and workshops.

Run it with ``solara run experiments/app.py`` and open the address it prints.
Sliders set a few levers (size of the world, seed, alliances on or off, search
rate, control intensity, cluster savings, a crisis); their defaults and ranges
are read from the schema (``sim.params``), never repeated here. Each slider
change builds a new ``AllianceModel`` through ``load_config``, so the browser
runs exactly the model that the command line runs. Panels: firms alive and
share allied, revenue of allied and independent firms, alliance formations and
ends by cause, and survival of the founding cohort against INEGI's figures.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import solara
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from sim import AllianceModel, load_config
from sim.alliance_table import END_CAUSES
from sim.params import AlliancesConfig, AllianceTypesConfig, FirmsConfig, SearchConfig, StructureConfig

#: Slider name -> (config path, schema class, field, step, upper bound for the slider).
LEVERS = {
    "n_firms": ("firms.n_firms", FirmsConfig, "n_firms", 100, 5000),
    "p_seek_max": ("alliances.search.p_seek_max", SearchConfig, "p_seek_max", 0.01, 0.5),
    "control_intensity": ("alliances.structure.control_intensity", StructureConfig, "control_intensity", 0.1, 3.0),
    "cluster_max_savings": ("alliances.types.cluster_max_savings", AllianceTypesConfig, "cluster_max_savings",
                            0.01, 0.3),
}


def _schema_field(schema: type, name: str):
    return next(f for f in fields(schema) if f.name == name)


def model_params() -> dict:
    """SolaraViz parameter specs; values and lower bounds come from the schema's defaults and ranges."""
    params = {"seed": {"type": "InputText", "value": 0, "label": "seed"}}
    for key, (path, schema, name, step, top) in LEVERS.items():
        f = _schema_field(schema, name)
        lo = max(f.metadata.get("lo") or 0, step if name == "n_firms" else 0)
        params[key] = {"type": "SliderFloat" if isinstance(f.default, float) else "SliderInt",
                       "value": f.default, "min": lo, "max": min(top, f.metadata.get("hi") or top),
                       "step": step, "label": f"{path} ({f.metadata.get('unit') or 'value'})"}
    params["alliances_enabled"] = {"type": "Checkbox", "value": _schema_field(AlliancesConfig, "enabled").default,
                                   "label": "alliances.enabled"}
    params["crisis"] = {"type": "Checkbox", "value": False, "label": "scenario=crisis"}
    return params


class AppModel(AllianceModel):
    """The model built from slider values through the same config path as the command line."""

    def __init__(self, seed=0, n_firms=None, p_seek_max=None, control_intensity=None, cluster_max_savings=None,
                 alliances_enabled=True, crisis=False):
        values = {"n_firms": n_firms, "p_seek_max": p_seek_max, "control_intensity": control_intensity,
                  "cluster_max_savings": cluster_max_savings}
        overrides = [f"seed={int(seed)}", f"alliances.enabled={str(bool(alliances_enabled)).lower()}"]
        overrides += [f"{LEVERS[k][0]}={v}" for k, v in values.items() if v is not None]
        if crisis:
            overrides.append("scenario=crisis")
        super().__init__(load_config(*overrides))


def population_figure(model: AllianceModel) -> Figure:
    """Firms alive (left axis) and share of living firms in an alliance (right axis), by month."""
    fig = Figure(figsize=(6, 3.4))
    ax = fig.subplots()
    s = model.series()
    if len(s):
        ax.plot(s["month"], s["firms_alive"], color="tab:blue", label="firms alive")
        ax2 = ax.twinx()
        ax2.plot(s["month"], 100 * s["share_allied"], color="tab:orange", label="allied (%)")
        ax2.set_ylabel("living firms in an alliance (%)")
    ax.set(xlabel="month", ylabel="firms alive", title="Population")
    fig.tight_layout()
    return fig


def revenue_figure(model: AllianceModel) -> Figure:
    """Mean monthly revenue of allied, independent and never-allied living firms (MXN)."""
    fig = Figure(figsize=(6, 3.4))
    ax = fig.subplots()
    s = model.series()
    if len(s):
        for col, label in (("mean_revenue_allied", "in an alliance"), ("mean_revenue_independent", "independent"),
                           ("mean_revenue_never_allied", "never allied")):
            ax.plot(s["month"], s[col], label=label)
        ax.legend(frameon=False, fontsize=8)
    ax.set(xlabel="month", ylabel=f"mean monthly revenue ({model.cfg.currency})",
           title="Revenue (a naive comparison: allied firms are selected)")
    fig.tight_layout()
    return fig


def alliances_figure(model: AllianceModel) -> Figure:
    """Alliances formed and ended by cause, cumulated over months."""
    fig = Figure(figsize=(6, 3.4))
    ax = fig.subplots()
    s = model.series()
    if len(s):
        ax.plot(s["month"], s["alliances_formed"].cumsum(), color="black", label="formed")
        for cause in END_CAUSES:
            ax.plot(s["month"], s[f"ended_{cause}"].cumsum(), label=f"ended: {cause}")
        ax.legend(frameon=False, fontsize=7)
    ax.set(xlabel="month", ylabel="alliances (cumulative)", title="Alliance lifecycle")
    fig.tight_layout()
    return fig


def survival_figure(model: AllianceModel) -> Figure:
    """Share of the founding population still operating, with INEGI's 1- and 5-year cohort figures."""
    fig = Figure(figsize=(6, 3.4))
    ax = fig.subplots()
    s = model.series()
    if len(s):
        ax.plot(np.r_[0, s["month"]], np.r_[1.0, s["initial_cohort_alive"] / model.n_initial], label="model")
    ax.plot([12, 60], [0.64, 0.30], "kx", label="INEGI cohorts 1989-2009")
    ax.set(xlabel="month", ylabel="share of founding firms operating", ylim=(0, 1.02), title="Survival")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def _panel(build):
    @solara.component
    def Panel(model):
        update_counter.get()  # re-render after every step
        solara.FigureMatplotlib(build(model), format="png")

    return Panel


COMPONENTS = [(_panel(f), 0) for f in (population_figure, revenue_figure, alliances_figure, survival_figure)]

model = AppModel()
page = SolaraViz(model, components=COMPONENTS, model_params=model_params(), name="alianzas: microenterprise alliances")
