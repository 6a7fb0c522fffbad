"""The ``alianzas`` command: short help, the parameter reference from the schema, one-line errors."""

from __future__ import annotations

from experiments import cli
from sim import param_docs
from sim.params import FirmsConfig
from tests.conftest import PROJECT_ROOT, run_cli


def test_params_prints_default_unit_range_and_meaning(capsys):
    assert cli.main(["params", "firms.p_closure"]) == 0
    out = capsys.readouterr().out.splitlines()
    meta = FirmsConfig.__dataclass_fields__["p_closure"].metadata
    expected = f"firms.p_closure = {param_docs.number(FirmsConfig().p_closure)} probability/month  (allowed: [0, 1])"
    assert out[0] == expected, out
    assert out[1].strip() == meta["doc"]


def test_params_without_prefix_lists_every_parameter_and_instrument_field(capsys):
    assert cli.main(["params"]) == 0
    paths = [line.split(" = ")[0] for line in capsys.readouterr().out.splitlines() if not line.startswith(" ")]
    expected = [path for path, _ in param_docs.walk()] + [r.path for r in param_docs.instrument_rows()]
    assert paths == expected, "expected one entry per schema leaf and per instrument parameter, in schema order"


def test_params_unknown_prefix_is_one_line(capsys):
    assert cli.main(["params", "firm.n"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no parameter starts with 'firm.n'" in err[0] and "firms" in err[0], err


def test_help_is_short_and_points_to_params(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) < 20 and "alianzas params" in out
    for command in ("run", "validate", "collect", "app", "params"):
        assert f"\n  {command} " in out, f"expected {command} in the usage"
    assert cli.main([]) == 2, "expected a bare command to print the usage and exit 2"


def test_unknown_command_is_one_line(capsys):
    assert cli.main(["sweep"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "alianzas: 'sweep' is not a command; allowed: run, collect, app, params, validate (alianzas --help)"


def test_run_help_is_short_and_lists_groups_not_the_config():
    done = run_cli(["--help"], cwd=PROJECT_ROOT, timeout=60)
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and len(lines) < 25, f"expected a short help, got {len(lines)} lines"
    assert "alianzas params" in done.stdout and "scenario: baseline, crisis" in done.stdout
    assert "sector_shares" not in done.stdout, "expected no dump of the raw config"
