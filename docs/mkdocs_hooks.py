"""MkDocs hooks: build the site's pages from the files the repository already keeps.

The site is rendered from what is maintained anyway, so it cannot drift:

- ``README.md`` becomes the home page (the tour), ``results/README.md`` the
  results reference, with their links rewritten to the site's pages.
- ``docs/ODD.md`` stays one file (the tests check its parameter table); each
  of its ``## `` sections becomes one page under ``model/``, headings lifted
  one level, and the nav entry "Model (ODD)" lists them in order.
- ``api/<package>.md``: one page per package, a mkdocstrings ``:::`` block per
  module of ``sim``, ``agents`` and ``experiments``.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sim", "agents", "experiments")
#: Repository links of README.md and results/README.md, and the site page each becomes.
LINKS = {"docs/ODD.md": "model/index.md", "results/README.md": "results.md", "README.md": "index.md"}
MODEL_NAV = "Model (ODD)"


def slug(title: str) -> str:
    """A file name from a section title: "7. Submodels" -> "07-submodels"."""
    number = re.match(r"(\d+)\.", title)
    words = re.sub(r"[^a-z0-9]+", "-", title.lower().split(". ", 1)[-1]).strip("-")
    return f"{int(number.group(1)):02d}-{words}" if number else words


def lift_headings(text: str) -> str:
    """Every heading one level up (## -> #), code blocks left alone."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("##"):
            line = line[1:]
        out.append(line)
    return "\n".join(out) + "\n"


def odd_sections() -> list[tuple[str, str, str]]:
    """(file name, title, page text) for the ODD's preamble and each of its ``## `` sections."""
    text = (ROOT / "docs" / "ODD.md").read_text()
    parts = re.split(r"(?m)^## ", text)
    pages = [("index", "Overview", parts[0])]
    for part in parts[1:]:
        title = part.splitlines()[0].strip()
        pages.append((slug(title), title, lift_headings("## " + part)))
    return pages


def site_links(text: str, here: str) -> str:
    """Rewrite repository links to the site's pages; other repository paths become code."""
    depth = here.count("/")

    def rewrite(match: re.Match) -> str:
        label, target = match.group(1), match.group(2)
        if re.match(r"[a-z]+://|#", target):
            return match.group(0)
        path, _, anchor = target.partition("#")
        if path in LINKS:
            return f"[{label}]({'../' * depth}{LINKS[path]}{'#' + anchor if anchor else ''})"
        return label if label.startswith("`") else f"`{label}`"

    return re.sub(r"\[([^\]]+)\]\(([^)]+)\)", rewrite, text)


def api_page(package: str) -> str:
    """A page with one mkdocstrings block per module of ``package``."""
    modules = sorted(p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)
    lines = [f"# `{package}`", ""]
    for path in modules:
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        lines += [f"## `{name}`", "", f"::: {name}", "    options:", "      show_root_heading: false",
                  "      heading_level: 3"]
        if parts[-1] == "__init__" and "__all__" in path.read_text():
            lines.append("      members: false")  # what it re-exports is documented in its own module
        lines.append("")
    return "\n".join(lines)


def on_config(config, **kwargs):
    """Expand the "Model (ODD)" nav entry into one entry per ODD section."""
    sections = [{title: f"model/{name}.md"} for name, title, _ in odd_sections()]
    config["nav"] = [{MODEL_NAV: sections} if isinstance(item, dict) and MODEL_NAV in item else item
                     for item in config["nav"]]
    return config


def on_files(files, config, **kwargs):
    """Add the generated pages (home, results reference, ODD sections, API) to the site."""
    generated = {"index.md": site_links((ROOT / "README.md").read_text(), "index.md"),
                 "results.md": site_links((ROOT / "results" / "README.md").read_text(), "results.md")}
    for name, _, text in odd_sections():
        generated[f"model/{name}.md"] = text
    for package in PACKAGES:
        generated[f"api/{package}.md"] = api_page(package)
    for uri, content in generated.items():
        files.append(File.generated(config, uri, content=content))
    return files
