"""The interactive browser view builds the same model as the command line and renders headless."""

import numpy as np
import solara

from experiments import app
from sim import load_config


def test_slider_defaults_are_the_schema_defaults():
    """Each slider starts at the schema default of the config path it sets (no repeated defaults)."""
    cfg = load_config()
    params = app.model_params()
    for key, (path, *_rest) in app.LEVERS.items():
        value = cfg
        for part in path.split("."):
            value = value[part]
        assert params[key]["value"] == value, f"expected slider {key} to start at {path}={value}"
    assert params["alliances_enabled"]["value"] == cfg.alliances.enabled


def test_app_model_is_the_command_line_model_for_the_same_settings():
    """AppModel(seed, n_firms, ...) gives the same run as load_config with the same overrides."""
    a = app.AppModel(seed=3, n_firms=300, p_seek_max=0.1)
    b = app.AllianceModel(load_config("seed=3", "firms.n_firms=300", "alliances.search.p_seek_max=0.1"))
    a.run_for(30)
    b.run_for(30)
    assert a.summary() == b.summary(), "expected identical summaries from the app and the config path"


def test_switches_reach_the_model():
    """Turning alliances off and the crisis on changes the model the app builds."""
    off = app.AppModel(n_firms=200, alliances_enabled=False, crisis=True)
    assert off.alliances is None and off.cfg.market.crisis.enabled, "expected no alliances and a crisis"


def test_panels_draw_the_run():
    """Every panel draws lines with data once the model has run (empty model: no error)."""
    m = app.AppModel(seed=1, n_firms=300)
    for build in (app.population_figure, app.revenue_figure, app.alliances_figure, app.survival_figure):
        build(m)  # before the first step
    m.run_for(40)
    for build in (app.population_figure, app.revenue_figure, app.alliances_figure, app.survival_figure):
        fig = build(m)
        lines = [line for ax in fig.axes for line in ax.get_lines() if len(line.get_xdata()) > 1]
        assert lines, f"expected {build.__name__} to draw at least one series"
    formed = app.alliances_figure(m).axes[0].get_lines()[0].get_ydata()
    assert np.all(np.diff(formed) >= 0) and formed[-1] == m.series()["alliances_formed"].sum()


def test_page_renders_headless():
    """The SolaraViz page renders to widgets without a browser or server."""
    box, _ = solara.render(app.page, handle_error=False)
    assert box is not None
