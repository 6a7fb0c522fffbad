"""The ``alianzas`` command: one entry point for runs, sweeps, tables, the browser view and the reference.

Each subcommand hands over to the module that does the work, so the command
and ``python -m experiments.run`` behave the same: ``alianzas run`` is the
Hydra entry point (``experiments.run``), ``alianzas collect`` is
``experiments.collect``, ``alianzas app`` serves ``experiments/app.py`` with
solara. ``alianzas params`` prints the schema of ``sim/params.py``.
"""

from __future__ import annotations

import importlib.util
import os
import sys

from sim import param_docs

USAGE = """\
usage: alianzas <command> [arguments]

  run [overrides]       one run, an experiment (experiment=uplift) or a sweep (-m sweep=trust_rates)
  validate [overrides]  the validation report (alianzas run experiment=validate)
  collect SWEEP_DIR     a sweep's job folders into one table (--heatmap X Y VALUE, --curve X VALUE)
  app [options]         the browser view (needs pip install "alianzas[app]")
  params [prefix]       every parameter with its default, unit, allowed values and meaning

Overrides are path=value pairs: alianzas run experiment=uplift firms.n_firms=500 seed=3
Run folders go to ./results/ (the checkout's results/ inside a checkout).
Parameter names: alianzas params firms. ; a command's own help: alianzas run --help"""


def fail(message: str) -> int:
    """Print a one-line error and return exit code 2 (bad input)."""
    print(f"alianzas: {message}", file=sys.stderr)
    return 2


def run(args: list[str]) -> int:
    """``alianzas run``: the Hydra entry point with ``args`` as its command line."""
    from experiments import run as entry

    sys.argv = ["alianzas run", *args]
    return entry.main(args)


def collect(args: list[str]) -> int:
    """``alianzas collect``: sweep folders into one table."""
    from experiments import collect as collector

    return collector.main(args)


#: Solara's usage telemetry (Mixpanel) switch; ``alianzas app`` sets it off unless the user has set it.
TELEMETRY_ENV = "SOLARA_TELEMETRY_MIXPANEL_ENABLE"


def app(args: list[str]) -> int:
    """``alianzas app``: serve the browser view with solara (replaces this process).

    Solara reports usage to Mixpanel unless ``SOLARA_TELEMETRY_MIXPANEL_ENABLE`` is false; the
    view switches it off, and a user who wants it on sets the variable to ``True``.
    """
    if importlib.util.find_spec("solara") is None:
        return fail("app needs the browser view's packages; install them with: pip install 'alianzas[app]'")
    os.environ.setdefault(TELEMETRY_ENV, "False")
    script = importlib.util.find_spec("experiments.app").origin
    os.execv(sys.executable, [sys.executable, "-m", "solara", "run", script, *args])
    return 0  # not reached: execv does not return


def format_row(row: param_docs.ParamRow) -> str:
    """Two lines for a terminal: path = default [unit], allowed; then the meaning, indented."""
    unit = "" if row.unit == "-" else f" {row.unit}"
    return f"{row.path} = {row.default.replace('`', '')}{unit}  (allowed: {row.allowed.replace('`', '')})\n" \
           f"    {row.meaning}"


def params(args: list[str]) -> int:
    """``alianzas params [prefix]``: the parameters whose config path starts with ``prefix``."""
    if any(a in ("-h", "--help") for a in args) or len(args) > 1:
        print("usage: alianzas params [prefix]\n\nLists every parameter whose config path starts with prefix "
              "(firms, alliances.search, policies...), with its default, unit, allowed values and meaning.")
        return 0 if len(args) <= 1 else 2
    prefix = args[0] if args else ""
    rows = param_docs.rows(prefix) + param_docs.instrument_rows(prefix)
    if not rows:
        top = sorted({r.path.split(".")[0] for r in param_docs.rows()})
        return fail(f"params: no parameter starts with {prefix!r}; top-level names: {', '.join(top)}")
    print("\n".join(format_row(r) for r in rows))
    return 0


COMMANDS = {"run": run, "collect": collect, "app": app, "params": params,
            "validate": lambda args: run(["experiment=validate", *args])}


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``alianzas <command> [arguments]``; return the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        return fail(f"{command!r} is not a command; allowed: {', '.join(COMMANDS)} (alianzas --help)")
    return COMMANDS[command](rest)


def entry_point() -> None:
    """The console script ``alianzas`` (pyproject.toml, [project.scripts])."""
    try:
        code = main()
    except BrokenPipeError:  # output piped into a reader that stopped early (alianzas params | head)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    raise SystemExit(code)


if __name__ == "__main__":
    entry_point()
