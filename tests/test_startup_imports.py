"""Start-up cost: what ``import detector`` and ``detector replay`` import, and that the lazy
package namespace gives every public name as the eager one did."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import detector
from tests.shared import PROJECT_ROOT

RULES = """\
- list: shells
  items: [sh, bash]
- macro: spawned
  condition: evt.type = execve and evt.dir = <
- rule: Shell spawned
  desc: a shell
  condition: spawned and proc.name in (shells)
  output: "shell %proc.name"
  priority: WARNING
"""

# Modules a replay start-up must not pay for: the sidecar and its network stack, the
# summary/progress renderer, the parser generator (when its tables are cached) and RE2
# (no rule uses a regex here).
NEVER_AT_REPLAY_START = ("detector.service", "grpc", "aiohttp", "rich", "re2")


def _modules_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120, check=True)
    modules: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return set(modules)


def _loaded(modules: set[str], top: str) -> bool:
    return any(m == top or m.startswith(top + ".") for m in modules)


def test_import_detector_loads_no_stage() -> None:
    modules = _modules_after("import detector")
    stages = sorted(m for m in modules if m.startswith("detector."))
    assert stages == []
    for heavy in ("lark", "yaml", "click", "rich", "re2", "msgspec", "grpc", "aiohttp"):
        assert not _loaded(modules, heavy), heavy


def test_every_public_name_resolves_to_the_stage_object() -> None:
    from detector.codegen import compile_condition
    from detector.engine import Engine
    from detector.language import parse
    from detector.lint import lint
    from detector.loader import load_rules

    namespace: dict[str, object] = {}
    exec("from detector import *", namespace)
    assert set(detector.__all__) <= set(namespace)
    assert set(detector.__all__) <= set(dir(detector))
    assert detector.Engine is Engine
    assert detector.load_rules is load_rules
    assert detector.compile_condition is compile_condition
    assert detector.parse_condition is parse
    assert detector.lint is lint
    with pytest.raises(AttributeError):
        detector.no_such_name  # noqa: B018


def test_lint_stays_the_function_whichever_import_comes_first() -> None:
    # ``detector.lint`` is both a package and the public function; the function keeps the name.
    script = ("import detector.lint.run, detector\n"
              "from detector import lint\n"
              "from detector.lint import lint as function\n"
              "assert lint is function and detector.lint is function\n")
    _modules_after(script)


def test_replay_start_up_imports_only_what_it_needs(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    out = tmp_path / "alerts.out"
    env = {"DETECTOR_CACHE_DIR": str(tmp_path / "cache")}
    code = ("from detector.cli.main import cli\n"
            f"cli(['replay', '-r', {str(rules)!r}, '/dev/null', '--output-file', {str(out)!r}, "
            "'--no-summary', '--no-progress'], standalone_mode=False)\n")
    first = _modules_after(code, env)  # builds the parser tables and keeps them in the cache
    second = _modules_after(code, env)
    for modules in (first, second):
        for name in NEVER_AT_REPLAY_START:
            assert not _loaded(modules, name), name
    assert _loaded(first, "lark")
    assert not _loaded(second, "lark")  # the cached tables parse without Lark
    assert "detector.loader" in second and "detector.engine" in second


def test_replay_with_a_settings_override_still_works(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    out = tmp_path / "alerts.out"
    event = {"evt.type": "execve", "evt.dir": "<", "proc.name": "bash", "evt.time": 1}
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(event) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "detector", "replay", "-r", str(rules), str(events), "-o", "json_output=true",
         "--output-file", str(out), "--no-summary", "--no-progress"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    alert = json.loads(out.read_text().splitlines()[0])
    assert alert["rule"] == "Shell spawned"


def test_a_settings_override_does_not_import_the_network_stack() -> None:
    """``replay -o key=value`` parses the key with the sidecar's override code; the package's
    own names (the service, its network inputs and outputs) load only when asked for."""
    modules = _modules_after("from detector.service.overrides import apply_override")
    assert not any(_loaded(modules, top) for top in ("grpc", "aiohttp", "detector.service.service"))
    modules = _modules_after("from detector.service import Service")
    assert _loaded(modules, "detector.service.service")
