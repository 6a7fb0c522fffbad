"""How many visitors can the browser view's server carry, and how fast does each one's PLAY run?

The server of ``alianzas app`` (one Solara process) does, for each visitor who
presses PLAY, what this script does: step that visitor's worlds month after month
(``AppModel.step``: the world, its twin without alliances, with a policy the world
without it) and, at most ``experiments.app.REDRAWS_PER_SECOND`` times a second,
build every panel's ECharts option and serialise it. The browser's own drawing
happens on the visitors' machines and is not counted.

Two measurements:

1. **cost**: one visitor alone, the CPU milliseconds of a month and of a redraw
   (median over a 120-month run), and from them the capacity of one core: how many
   visitors it serves at ``--speed`` months a second (a Python server holds the
   interpreter lock while it steps and draws, so one process uses about one core).
2. **class**: ``--visitors`` visitors playing at once, each on a thread as in the
   server (no pause between months), for ``--seconds``: the months a second each one
   got (min, median, max) and the processor time used.

Run: ``.venv/bin/python benchmarks/app_capacity.py`` (about a minute;
``--visitors 6`` or ``--firms 500`` to vary the class). Prints a JSON record.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import logging  # noqa: E402

from experiments import app_panels  # noqa: E402
from experiments.app import REDRAWS_PER_SECOND, _dump  # noqa: E402
from experiments.app_model import APP_N_FIRMS, AppModel  # noqa: E402

PANELS = (app_panels.network_option, app_panels.lifecycle_option, app_panels.twin_option,
          app_panels.policy_twin_option, app_panels.selection_option, app_panels.survival_option,
          lambda m: app_panels.firm_option(m, None))


def redraw(model: AppModel) -> int:
    """What the server does at a redraw: every panel's option as JSON, the status lines; bytes sent."""
    sent = sum(len(_dump(build(model))) for build in PANELS)
    return sent + len(app_panels.world_status(model)) + len(app_panels.first_steps(model))


def cost(settings: dict, months: int) -> dict:
    """Median CPU milliseconds of one month and of one redraw, for one visitor alone."""
    model = AppModel(**settings)
    steps, draws, sent = [], [], []
    for _ in range(months):
        t0 = time.process_time()
        model.step()
        t1 = time.process_time()
        sent.append(redraw(model))
        t2 = time.process_time()
        steps.append(1000 * (t1 - t0))
        draws.append(1000 * (t2 - t1))
    return {"month_ms": round(statistics.median(steps), 2), "redraw_ms": round(statistics.median(draws), 2),
            "redraw_kb": round(statistics.median(sent) / 1000, 1)}


def per_visitor_ms(c: dict, speed: float) -> float:
    """CPU milliseconds a second one visitor costs at ``speed`` months a second."""
    return speed * c["month_ms"] + min(speed, REDRAWS_PER_SECOND) * c["redraw_ms"]


def play_class(settings: dict, visitors: int, seconds: float) -> dict:
    """``visitors`` threads, each playing its own world as fast as it can with throttled redraws."""
    months = [0] * visitors
    stop = threading.Event()

    def play(k: int) -> None:
        model = AppModel(**{**settings, "seed": k})
        last = 0.0
        while not stop.is_set():
            if not model.running:  # a world that reaches month 120 starts again, as after RESET
                model = AppModel(**{**settings, "seed": k})
            model.step()
            months[k] += 1
            now = time.monotonic()
            if now - last >= 1 / REDRAWS_PER_SECOND:
                last = now
                redraw(model)

    threads = [threading.Thread(target=play, args=(k,), daemon=True) for k in range(visitors)]
    cpu0, t0 = time.process_time(), time.monotonic()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
    rates = sorted(m / wall for m in months)
    return {"visitors": visitors, "seconds": round(wall, 1), "months_per_second_min": round(rates[0], 2),
            "months_per_second_median": round(statistics.median(rates), 2),
            "months_per_second_max": round(rates[-1], 2), "cpu_cores_used": round(cpu / wall, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=APP_N_FIRMS, help="firms at start (the view's default)")
    parser.add_argument("--policy", default="none", help="an instrument, to count its twin world too")
    parser.add_argument("--visitors", type=int, default=20, help="visitors playing at once")
    parser.add_argument("--speed", type=float, default=5.0, help="the months a second each visitor should get")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the class plays")
    parser.add_argument("--months", type=int, default=120, help="months of the lone visitor's run (cost)")
    args = parser.parse_args(argv)
    logging.getLogger("MESA").setLevel(logging.WARNING)
    settings = {"n_firms": args.firms, "policy": args.policy}
    alone = cost(settings, args.months)
    need = per_visitor_ms(alone, args.speed)
    record = {"firms": args.firms, "policy": args.policy, "redraws_per_second": REDRAWS_PER_SECOND,
              "alone": alone, "speed": args.speed, "cpu_ms_per_visitor_second": round(need, 1),
              "visitors_per_core_at_speed": int(1000 // need),
              "class": play_class(settings, args.visitors, args.seconds),
              "cores": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
              "date": time.strftime("%Y-%m-%d")}
    print(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
