"""The browser view in a real browser: Debian's Chromium, driven by Playwright, against ``solara run``.

The app is served on 127.0.0.1 from a subprocess; every request the page makes
to any other host is refused, so the test also shows that the page needs no
internet. Screenshots and the measured PLAY rate go to ``results/browser/``
(git-ignored). CI installs chromium (``.ci/run``); without it the tests skip.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright import sync_api

from tests.conftest import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
#: Flags that work in this sandbox (no GPU, closed network, root); Playwright adds a fresh profile dir.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SHOTS = PROJECT_ROOT / "results" / "browser"
#: Upper bounds of every wait, in seconds (the first page load compiles the front end).
SERVER_START_S, FIRST_LOAD_S, UPDATE_S = 90, 120, 30

if not CHROMIUM.exists():
    pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (.ci/run installs it)", allow_module_level=True)

# Total points in each chart (in page order), read from the ECharts instance the page drew.
CHART_POINTS_JS = """() => Array.from(document.querySelectorAll('.alianzas-chart')).map(el => {
  const chart = el.__vue__ && el.__vue__.chart;
  if (!chart) return -1;
  return chart.getOption().series.reduce((n, s) => n + (s.data || []).length, 0); })"""
#: The charts' names in page order (data-chart), and those that grow by a point a month without a policy.
CHARTS = ["network", "lifecycle", "twin", "policy_twin", "selection", "survival", "firm"]
GROWING = [CHARTS.index(name) for name in ("lifecycle", "twin", "selection", "survival")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url():
    """``solara run experiments/app.py`` on a free port of 127.0.0.1; the whole process group is ended after."""
    port = _free_port()
    solara = Path(sys.executable).with_name("solara")
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    SHOTS.mkdir(parents=True, exist_ok=True)
    log = open(SHOTS / "server.log", "w")
    server = subprocess.Popen([str(solara), "run", "experiments/app.py", "--host", "127.0.0.1", "--port",
                               str(port), "--production", "--no-open"], cwd=PROJECT_ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            assert server.poll() is None, f"solara run exited with code {server.returncode}"
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"the app did not answer on {url} within {SERVER_START_S} s"
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=15)
        log.close()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, through Playwright (never Playwright's own browser download)."""
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


class Visitor:
    """One browser context (one visitor) on the app, with every request to another host refused."""

    def __init__(self, browser, url: str):
        self.context = browser.new_context(viewport={"width": 1500, "height": 1200})
        self.context.set_default_timeout(UPDATE_S * 1000)
        self.refused: list[str] = []
        self.failed: list[tuple[int, str]] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("response", lambda r: self.failed.append((r.status, r.url)) if r.status >= 400 else None)
        self.url = url
        self.page.goto(url, timeout=FIRST_LOAD_S * 1000)
        self.page.wait_for_function("() => document.querySelectorAll('.alianzas-chart canvas').length >= 6",
                                    timeout=FIRST_LOAD_S * 1000)

    def _route(self, route):
        if route.request.url.startswith(self.url):
            route.continue_()
        else:
            self.refused.append(route.request.url)
            route.abort()

    def month(self) -> int:
        return int(re.search(r"Month (\d+)", self.page.locator(".alianzas-month").inner_text()).group(1))

    def wait_for_month(self, test: str) -> None:
        """Wait until the shown month satisfies ``test``, a JavaScript expression in ``m``."""
        self.page.wait_for_function(
            f"() => {{ const e = document.querySelector('.alianzas-month'); if (!e) return false;"
            f" const m = Number(e.innerText.replace(/\\D/g, '')); return {test}; }}", timeout=UPDATE_S * 1000)

    def chart_points(self) -> list[int]:
        return self.page.evaluate(CHART_POINTS_JS)

    def wait_for_points(self, more_than: list[int]) -> list[int]:
        """Wait until every chart of a time series (``GROWING``) has redrawn with more points than ``more_than``.

        The network can shrink as firms close, the inspected firm can close too, and the policy twin is empty
        without a policy.
        """
        self.page.wait_for_function(
            f"() => {{ const now = ({CHART_POINTS_JS})(); const before = {json.dumps(more_than)};"
            f" return {json.dumps(GROWING)}.every(i => now[i] > before[i]); }}", timeout=UPDATE_S * 1000)
        return self.chart_points()

    def button_enabled(self, label: str) -> bool:
        return self.page.get_by_role("button", name=label, exact=True).is_enabled()

    def press(self, label: str) -> None:
        self.page.get_by_role("button", name=label, exact=True).click()

    def status(self) -> str:
        return self.page.locator(".alianzas-status").inner_text()

    def screenshot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / name), full_page=True)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visitor(browser, app_url):
    v = Visitor(browser, app_url)
    yield v
    v.close()


def test_page_works_offline_and_step_and_play_advance_the_charts(visitor):
    """The charts appear with no internet; STEP adds a month; PLAY runs months and the charts follow."""
    assert visitor.month() == 0
    assert not visitor.failed, f"expected every local asset to load, failed: {visitor.failed[:5]}"
    assert not visitor.refused, f"expected the page to ask no other host, it asked: {visitor.refused[:5]}"
    start = visitor.chart_points()
    assert all(n >= 0 for n in start), f"expected seven drawn charts, got {start}"
    names = visitor.page.evaluate("() => Array.from(document.querySelectorAll('.alianzas-chart'))"
                                  ".map(el => el.dataset.chart)")
    assert names == CHARTS, f"expected the charts in page order {CHARTS}, got {names}"
    assert "Press ▶ (PLAY)" in visitor.page.locator(".alianzas-hint").inner_text(), "expected the first view to "\
        "say what to do"
    visitor.screenshot("01_start.png")

    visitor.press("Step")
    visitor.wait_for_month("m === 1")
    after_step = visitor.wait_for_points(start)

    visitor.press("▶")
    visitor.wait_for_month("m >= 3")
    t0, m0 = time.monotonic(), visitor.month()
    # 2 s: at the fastest PLAY seen here (about 30 months a second) the world stays short of its
    # 120-month horizon, where the model stops (running = False) and PAUSE is disabled.
    time.sleep(2)
    m1, t1 = visitor.month(), time.monotonic()
    if m1 < 110:
        visitor.press("❚❚")
    rate = (m1 - m0) / (t1 - t0)
    assert m1 > m0, "expected PLAY to advance the month"
    after_play = visitor.wait_for_points(after_step)
    visitor.screenshot("02_after_play.png")
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "play_rate.json").write_text(json.dumps(
        {"firms": 1000, "months_per_second": round(rate, 1), "months": [m0, m1], "seconds": round(t1 - t0, 2),
         "load_average_1min": os.getloadavg()[0]}, indent=1))
    print(f"PLAY at 1,000 firms: {rate:.1f} months/second (month {m0} to {m1})")
    assert after_play[CHARTS.index("twin")] > after_step[CHARTS.index("twin")], \
        "expected the comparison chart to grow during PLAY"
    assert not visitor.failed, f"expected no failed request, got {visitor.failed[:5]}"


def test_moving_a_slider_builds_a_model_with_the_new_value(visitor):
    """Pressing the right arrow on the firms slider rebuilds the world, at month 0, with 100 more firms."""
    visitor.press("Step")
    visitor.wait_for_month("m === 1")
    assert "1,000 founding firms" in visitor.status()
    slider = visitor.page.locator(".alianzas-slider-n_firms [role=slider]")
    slider.focus()
    slider.press("ArrowRight")
    visitor.page.wait_for_function(
        "() => document.querySelector('.alianzas-status').innerText.includes('1,100 founding firms')",
        timeout=UPDATE_S * 1000)
    assert visitor.month() == 0, "expected a new world, at month 0"
    assert "Firms at start: 1,100 firms" in visitor.page.locator(".alianzas-lever").first.inner_text()
    network = visitor.page.evaluate("() => document.querySelector('[data-chart=network]').__vue__.chart"
                                    ".getOption().series.filter(s => s.type === 'scatter')"
                                    ".reduce((n, s) => n + s.data.length, 0)")
    assert network == 1100, f"expected the network to show the 1,100 founding firms, got {network}"
    visitor.screenshot("03_slider.png")


def test_a_second_visitor_has_a_model_of_their_own(browser, app_url, visitor):
    """A second browser context starts at month 0 and stepping it leaves the first visitor's world alone."""
    for _ in range(3):
        visitor.press("Step")
    visitor.wait_for_month("m === 3")
    other = Visitor(browser, app_url)
    try:
        assert other.month() == 0, "expected the second visitor to start a world of their own"
        other.press("Step")
        other.wait_for_month("m === 1")
        time.sleep(1)
        assert visitor.month() == 3, "expected the first visitor's world untouched by the second's STEP"
        other.screenshot("04_second_visitor.png")
    finally:
        other.close()


def test_play_to_the_horizon_then_a_lever_and_play_again(visitor):
    """The issue's lock, in a browser: PLAY runs to month 120, where PLAY and STEP go grey; switching the crisis
    on builds a new world at month 0 whose PLAY and STEP work at once (no RESET), and PLAY runs it."""
    slider = visitor.page.locator(".alianzas-slider-n_firms [role=slider]")
    slider.focus()
    slider.press("Home")  # 100 firms: the horizon comes sooner on a busy machine
    visitor.page.wait_for_function(
        "() => document.querySelector('.alianzas-status').innerText.includes('world: 100 founding firms')",
        timeout=UPDATE_S * 1000)
    visitor.press("▶")
    visitor.page.wait_for_function(
        "() => /Month 120$/.test(document.querySelector('.alianzas-month').innerText.trim())", timeout=240_000)
    sync_api.expect(visitor.page.get_by_role("button", name="Step", exact=True)).to_be_disabled()
    assert not visitor.button_enabled("▶"), "expected PLAY off at the horizon"
    visitor.screenshot("05_horizon.png")

    visitor.page.get_by_text("Crisis from month 36").click()  # the label (vuetify covers the box with a ripple)
    visitor.page.wait_for_function(
        "() => document.querySelector('.alianzas-status').innerText.includes('crisis from month')",
        timeout=UPDATE_S * 1000)
    visitor.wait_for_month("m === 0")
    sync_api.expect(visitor.page.get_by_role("button", name="Step", exact=True)).to_be_enabled()
    assert visitor.button_enabled("▶") and visitor.button_enabled("Step"), "expected PLAY and STEP back on"
    visitor.press("▶")
    visitor.wait_for_month("m >= 5")
    visitor.press("❚❚")
    visitor.screenshot("06_played_again.png")


def test_policy_twin_tooltip_and_legends_in_the_browser(visitor):
    """Choosing an instrument (by its readable name) draws the with/without-policy twin; hovering a firm shows
    its revenue (no unfilled template); no legend is paged."""
    visitor.page.locator(".v-select").filter(has_text="Instrument").locator(".v-select__selections").click()
    visitor.page.get_by_role("option", name="Alliance training").click()
    visitor.page.wait_for_function(
        "() => document.querySelector('.alianzas-status').innerText.includes('Alliance training (budget')",
        timeout=UPDATE_S * 1000)
    for _ in range(3):
        visitor.press("Step")
    visitor.wait_for_month("m === 3")
    visitor.page.wait_for_function(
        "() => { const c = document.querySelector('[data-chart=policy_twin]').__vue__.chart;"
        " return c && c.getOption().series.some(s => s.name === 'without the policy' && s.data.length === 3); }",
        timeout=UPDATE_S * 1000)
    paged = visitor.page.evaluate("() => Array.from(document.querySelectorAll('.alianzas-chart'))"
                                  ".filter(el => (el.__vue__.chart.getOption().legend || [])"
                                  ".some(l => l.type === 'scroll')).map(el => el.dataset.chart)")
    assert paged == [], f"expected no paged legend, got {paged}"
    point = visitor.page.evaluate(
        "() => { const el = document.querySelector('[data-chart=network]'); const c = el.__vue__.chart;"
        " const d = c.getOption().series[0].data[0]; const p = c.convertToPixel({seriesIndex: 0}, d.value.slice(0, 2));"
        " const r = el.getBoundingClientRect(); return [r.left + p[0], r.top + p[1]]; }")
    visitor.page.mouse.move(point[0], point[1])
    visitor.page.wait_for_function("() => Array.from(document.querySelectorAll('div'))"
                                   ".some(d => /^firm \\d+ .*revenue [\\d,.]+ MXN/.test(d.innerText || ''))",
                                   timeout=UPDATE_S * 1000)
    text = visitor.page.evaluate("() => Array.from(document.querySelectorAll('div')).map(d => d.innerText || '')"
                                 ".find(t => /^firm \\d+ /.test(t))")
    assert "{@" not in text and "revenue" in text, f"expected a filled tooltip, got {text!r}"
    visitor.screenshot("07_policy_twin_tooltip.png")
