"""Regenerate the parameter tables of docs/ODD.md (section 8) from the schema.

The tables list every field of every dataclass in ``sim/params.py`` and
``sim/alliance_params.py`` (reached from
``Config``; ``PolicyConfig`` and ``EligibilityConfig`` under ``policies.<name>.``)
and every field of each instrument's ``Params`` dataclass in ``sim/policies/``.
The columns default, unit, allowed and meaning are read from the schema (the
field defaults and their ``param(...)`` metadata), so they cannot drift from it.
The column "source / status" is prose the schema does not hold: it is kept from
the block currently in docs/ODD.md, row by row (matched by config path, or by
kind and parameter for instruments). A field that is new to the schema gets the
source ``MISSING``, which ``--check`` reports until someone writes it.

Usage (from the repository root, with the project's interpreter)::

    python docs/gen_param_table.py            # print the regenerated block to stdout
    python docs/gen_param_table.py --write    # rewrite the block between the markers in docs/ODD.md
    python docs/gen_param_table.py --check    # exit 1, with a diff, if docs/ODD.md is out of date

``tests/test_docs.py`` runs the check.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from dataclasses import fields, is_dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import experiments.kinds  # noqa: E402, F401  (registers the experiment kinds, which experiment.kind lists)
from sim import alliance_params, params  # noqa: E402
from sim.param_docs import allowed, default_of, value, walk  # noqa: E402
from sim.policies import REGISTRY  # noqa: E402

ODD = ROOT / "docs" / "ODD.md"
START, END = "<!-- params:start -->", "<!-- params:end -->"
MISSING = "MISSING: write the source or status of this parameter"

MAIN_HEADER = ("| config path | default | unit | allowed | meaning | source / status |\n"
               "|---|---|---|---|---|---|")
INSTRUMENT_HEADER = ("| kind | parameter (`policies.<name>.params.`) | default | unit | allowed | meaning "
                     "| source / status |\n|---|---|---|---|---|---|---|")


def cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def main_rows(seen: set) -> list[tuple[str, list[str]]]:
    rows = []
    for path, f in walk(params.Config, "", seen):
        meta, d = f.metadata, default_of(f)
        rows.append((path, [f"`{path}`", value(d), meta.get("unit") or "-", allowed(meta, d),
                            cell(meta.get("doc", ""))]))
    return rows


def instrument_rows() -> list[tuple[tuple[str, str], list[str]]]:
    rows = []
    for kind, cls in REGISTRY.items():
        for f in fields(cls.Params):
            meta, d = f.metadata, default_of(f)
            rows.append(((kind, f.name), [f"`{kind}`", f"`{f.name}`", value(d), meta.get("unit") or "-",
                                          allowed(meta, d), cell(meta.get("doc", ""))]))
    return rows


def split_row(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def current_block(text: str) -> str:
    """The text between the markers in ODD.md (empty if the markers are missing)."""
    if START not in text or END not in text:
        return ""
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n")


def sources_in(block: str) -> tuple[dict, dict]:
    """Sources already written in a block: by config path, and by (kind, parameter)."""
    main, inst = {}, {}
    for line in block.splitlines():
        if not line.startswith("| `"):
            continue
        cells = split_row(line)
        if len(cells) == 6:
            main[cells[0].strip("`")] = cells[5]
        elif len(cells) == 7:
            inst[(cells[0].strip("`"), cells[1].strip("`"))] = cells[6]
    return main, inst


def generate(block: str) -> tuple[str, list[str]]:
    """The regenerated block and the problems found (missing sources, dataclasses not covered)."""
    src_main, src_inst = sources_in(block)
    seen: set = set()
    problems = []
    lines = [MAIN_HEADER]
    for path, cells in main_rows(seen):
        source = src_main.get(path) or MISSING
        if source == MISSING:
            problems.append(f"no source / status for {path}")
        lines.append("| " + " | ".join(cells + [source]) + " |")
    lines += ["", "Instrument parameters (`policies.<name>.params.<parameter>`, by kind; schemas in "
              "`sim/policies/<kind>.py`):", "", INSTRUMENT_HEADER]
    for key, cells in instrument_rows():
        source = src_inst.get(key) or MISSING
        if source == MISSING:
            problems.append(f"no source / status for instrument parameter {key[0]}.{key[1]}")
        lines.append("| " + " | ".join(cells + [source]) + " |")
    schemas = {obj for module in (params, alliance_params) for obj in vars(module).values()
               if isinstance(obj, type) and is_dataclass(obj) and obj.__module__ == module.__name__}
    problems += [f"dataclass {s.__module__}.{s.__name__} is not in the table" for s in schemas - seen]
    return "\n".join(lines), problems


def check() -> list[str]:
    """Problems that make docs/ODD.md disagree with the schema (empty when it agrees)."""
    text = ODD.read_text()
    block = current_block(text)
    if not block:
        return [f"docs/ODD.md has no block between {START} and {END}"]
    fresh, problems = generate(block)
    if fresh != block:
        diff = difflib.unified_diff(block.splitlines(), fresh.splitlines(), "docs/ODD.md (current)",
                                    "regenerated from the schema", lineterm="", n=0)
        problems.insert(0, "the parameter table differs from the schema:\n" + "\n".join(diff))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the block in docs/ODD.md")
    mode.add_argument("--check", action="store_true", help="exit 1 if docs/ODD.md is out of date")
    args = parser.parse_args(argv)
    text = ODD.read_text()
    block = current_block(text)
    if args.check:
        problems = check()
        for p in problems:
            print(p, file=sys.stderr)
        return 1 if problems else 0
    fresh, problems = generate(block)
    for p in problems:
        print(f"warning: {p}", file=sys.stderr)
    if args.write:
        if not block and START not in text:
            print(f"docs/ODD.md has no markers {START} ... {END}; add them where the table goes", file=sys.stderr)
            return 2
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        ODD.write_text(f"{head}{START}\n{fresh}\n{END}{tail}")
        return 0
    print(fresh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
