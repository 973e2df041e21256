"""What several benchmark scripts share: the upstream rule files, loading them with every rule on,
and a CPU timer."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from detector.engine import RuleSelection
    from detector.loader.model import Ruleset

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM_RULE_FILES = ("falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml")


def shared_dir() -> Path | None:
    """The shared reference folder (``DETECTOR_SHARED``, else ``../shared``), if it is there."""
    env = os.environ.get("DETECTOR_SHARED")
    path = Path(env) if env else ROOT.parent / "shared"
    return path if path.is_dir() else None


def upstream_rules() -> tuple[list[Path], str | None]:
    """The three upstream syscall rule files, and why they cannot be used (``None``: they can)."""
    base = shared_dir()
    if base is None:
        return [], "the shared reference material (upstream rules) is absent; set DETECTOR_SHARED"
    paths = [base / "falco" / "rules" / name for name in UPSTREAM_RULE_FILES]
    missing = [str(p) for p in paths if not p.is_file()]
    return paths, (f"missing upstream rules: {', '.join(missing)}" if missing else None)


def bench_ruleset(rules: Sequence[str] = ()) -> Ruleset:
    """``rules`` loaded, or the three upstream files when none are given; a command-line error
    when they are missing or do not load."""
    import click

    from detector.loader import load_rules

    paths = list(rules) or [str(p) for p in upstream_rules()[0]]
    if not paths:
        raise click.ClickException(upstream_rules()[1] or "no rules")
    result = load_rules(*paths)
    if result.errors:
        raise click.ClickException(f"{len(result.errors)} error(s) loading {paths}")
    return result.ruleset


def every_rule() -> RuleSelection:
    """Every rule enabled, those the files ship disabled too (``--enable-rule '*'``)."""
    from detector.engine import RuleSelection, SelectionAction

    return RuleSelection((SelectionAction("enable", rule="*"),))


def best_cpu_seconds(fn: Callable[[], Any], repeat: int, *, collect: bool = False) -> float:
    """The least CPU time of ``repeat`` calls of ``fn`` (``collect``: a garbage collection first)."""
    best = float("inf")
    for _ in range(repeat):
        if collect:
            gc.collect()
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best
