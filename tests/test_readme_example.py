"""The README's Python API example runs as written (on the shipped rules and the demo events)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_python_api_example_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Python API"):]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    source = code.group(1)
    assert '"rules/"' in source and '"events.jsonl.gz"' in source
    source = source.replace('"rules/"', repr(str(ROOT / "rules")))
    source = source.replace('"events.jsonl.gz"', repr(str(ROOT / "examples" / "demo-events.jsonl")))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, "README.md", "exec"), {})
    lines = out.getvalue().splitlines()
    # each alert printed twice: Falco's text line, then its JSON
    assert len(lines) >= 20 and len(lines) % 2 == 0
    assert any("Terminal shell in a container" in line or "shell" in line.lower() for line in lines[::2])
    assert all(line.startswith("{") for line in lines[1::2])
