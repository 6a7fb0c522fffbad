"""The how-to guides for extending the model are executed, so they cannot go stale.

Each guide under ``docs/howto/`` that adds a kind is followed in a copy of the checkout:
a heading ``### `path``` followed by a code block writes that file; a heading
``### `path`, in `Name``` adds the block's lines at the end of the class ``Name`` (Python)
or of the mapping ``Name:`` (YAML) in that file; the bash block under ``## Check it`` is
then run line by line (``python`` is this interpreter, ``alianzas`` its command).
"""

from __future__ import annotations

import re
import shlex

import pytest

from tests.conftest import PROJECT_ROOT, copy_checkout, run_in

GUIDES = ("add-policy-instrument.md", "add-alliance-type.md")
STEP = re.compile(r"^### `([^`]+)`(?:, in `([^`]+)`)?\n+```\w+\n(.*?)^```", re.M | re.S)


def add_to_block(text: str, name: str, lines: str, python: bool) -> str:
    """``text`` with ``lines`` added at the end of the class (or top-level YAML mapping) ``name``."""
    head = re.search(rf"^class {re.escape(name)}\b.*\n" if python else rf"^{re.escape(name)}:.*\n", text, re.M)
    assert head, f"expected {'class ' if python else ''}{name} in the file the guide extends"
    end = head.end()
    for match in re.finditer(r"^.*\n?", text[head.end():], re.M):
        line = match.group(0)
        if line.strip() and not line.startswith((" ", "\t")):
            break
        if line.strip():
            end = head.end() + match.end()
    return text[:end] + lines + text[end:]


def follow(guide: str, root) -> list[str]:
    """Write and extend the files of ``guide`` in the copy ``root``; return its check commands."""
    text = (PROJECT_ROOT / "docs" / "howto" / guide).read_text()
    steps = STEP.findall(text)
    assert steps, f"expected files to write in {guide}"
    for path, name, body in steps:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if name:
            target.write_text(add_to_block(target.read_text(), name, body, path.endswith(".py")))
        else:
            target.write_text(body)
    check = re.search(r"^## Check it\n.*?```bash\n(.*?)```", text, re.M | re.S)
    assert check, f"expected a bash block under '## Check it' in {guide}"
    return [line for line in check.group(1).splitlines() if line.strip()]


@pytest.mark.parametrize("guide", GUIDES)
def test_guide_works_as_written(guide, tmp_path):
    """Following the guide in a copy of the checkout gives a new kind that its own test and commands accept."""
    root = copy_checkout(tmp_path)
    for line in follow(guide, root):
        words = shlex.split(line)
        if words[0] == "alianzas":
            words = ["-m", "experiments.cli", *words[1:]]
        elif words[0] == "python":
            words = words[1:]
        else:
            pytest.fail(f"{guide}: unexpected command {line!r} (expected python ... or alianzas ...)")
        out = run_in(root, *words, timeout=300)
        assert "error" not in out.lower() or words[:2] == ["-m", "pytest"], f"{guide}: {line} printed {out!r}"
