"""The examples of docs/authoring.md ("Explaining a rule", "Linting") are real output.

Each ```console block of those sections that starts with ``$ detector ...`` is run again and
its output must be what the doc shows, so the doc cannot drift from the tool.  After a
deliberate change of output, regenerate the blocks with::

    .venv/bin/python -m tests.test_explain_docs
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from detector.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "authoring.md"
SECTIONS = ("## Explaining a rule", "## Linting")
_BLOCK = re.compile(r"^```console\n(.*?)^```$", re.S | re.M)


@dataclass(frozen=True, slots=True)
class Example:
    command: str
    output: str
    start: int  # where the output starts in the doc text
    end: int


def _section_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for title in SECTIONS:
        start = text.find("\n" + title + "\n")
        assert start != -1, f"{DOC} has no section {title!r}"
        nxt = text.find("\n## ", start + 1)
        spans.append((start, len(text) if nxt == -1 else nxt))
    return spans


def examples(text: str) -> list[Example]:
    found: list[Example] = []
    for lo, hi in _section_spans(text):
        for match in _BLOCK.finditer(text, lo, hi):
            body = match.group(1)
            lines = body.splitlines(keepends=True)
            if not lines or not lines[0].startswith("$ detector ") or all(x.startswith("$ ") for x in lines):
                continue  # not an example, or a list of commands without their output
            taken = 1
            command = lines[0][2:].rstrip("\n")
            while command.endswith("\\") and taken < len(lines):
                command = command[:-1] + lines[taken].strip()
                taken += 1
            output = "".join(lines[taken:])
            start = match.start(1) + sum(len(line) for line in lines[:taken])
            found.append(Example(command, output, start, start + len(output)))
    return found


def run(command: str) -> str:
    args = shlex.split(command)
    assert args[0] == "detector"
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        result = CliRunner().invoke(cli, args[1:], color=False)
    finally:
        os.chdir(cwd)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 0, (command, result.output)
    return result.stdout


def _examples_or_empty() -> list[Example]:
    return examples(DOC.read_text(encoding="utf-8")) if DOC.exists() else []


def test_the_doc_has_the_three_explain_cases_and_a_lint_example() -> None:
    found = _examples_or_empty()
    verdicts = [line for ex in found for line in ex.output.splitlines() if line.startswith("verdict: ")]
    assert "verdict: fired" in verdicts
    assert any("because exception" in v for v in verdicts)
    assert any("is absent" in v for v in verdicts)
    assert any(ex.command.startswith("detector validate --lint") for ex in found)


@pytest.mark.parametrize("example", _examples_or_empty(), ids=lambda ex: ex.command[:60])
def test_doc_example_output_is_current(example: Example) -> None:
    assert run(example.command) == example.output


def regenerate() -> int:
    """Rewrite every example's output in the doc from a fresh run; the number changed."""
    text = DOC.read_text(encoding="utf-8")
    changed = 0
    for ex in reversed(examples(text)):
        fresh = run(ex.command)
        if fresh != ex.output:
            changed += 1
            text = text[:ex.start] + fresh + text[ex.end:]
    DOC.write_text(text, encoding="utf-8")
    return changed


if __name__ == "__main__":
    print(f"{regenerate()} example(s) updated in {DOC}")
