"""Parse speed over every upstream macro and rule condition, lists substituted.

Run: ``.venv/bin/python benchmarks/parse.py [--rounds N] [--rules DIR]``.
Reads the Falco rules files from ``../shared/falco/rules`` (or ``DETECTOR_SHARED``),
substitutes lists as Falco does, then parses every condition ``N`` times and
prints conditions per second.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from detector.language import parse, substitute_lists


def _default_rules_dir() -> Path:
    shared = os.environ.get("DETECTOR_SHARED")
    base = Path(shared) if shared else Path(__file__).resolve().parents[2] / "shared"
    return base / "falco" / "rules"


def _lists(items: Sequence[Any], inherited: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Each list's items, earlier lists named as items expanded in place (one level, as Falco does)."""
    raw: dict[str, list[str]] = {name: list(values) for name, values in inherited.items()}
    out: dict[str, list[str]] = dict(raw)
    for item in items:
        if isinstance(item, dict) and "list" in item:
            values = [str(v) for v in item.get("items") or []]
            expanded: list[str] = []
            for value in values:
                expanded.extend(raw.get(value, [value]))
            raw[str(item["list"])] = values
            out[str(item["list"])] = expanded
    return out


def upstream_conditions(rules_dir: Path) -> Iterator[tuple[str, str, str]]:
    """(file name, item name, condition with lists substituted) for every macro and rule.

    ``falco_rules.yaml``'s lists are visible to the incubating and sandbox
    files, which are written to be loaded after it.
    """
    base_file = rules_dir / "falco_rules.yaml"
    base_items = yaml.safe_load(base_file.read_text(encoding="utf-8")) or []
    base_lists = _lists(base_items, {})
    for path in sorted(rules_dir.glob("*.yaml")):
        items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        layered = path.name.startswith("falco-")
        lists = _lists(items, base_lists if layered else {})
        for item in items:
            if not isinstance(item, dict) or "condition" not in item:
                continue
            name = item.get("macro") or item.get("rule")
            if name is None:
                continue
            yield path.name, str(name), substitute_lists(str(item["condition"]), lists)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rules", type=Path, default=_default_rules_dir())
    args = parser.parse_args(argv)
    if not args.rules.is_dir():
        print(f"rules directory not found: {args.rules}", file=sys.stderr)
        return 2
    conditions = [text for _, _, text in upstream_conditions(args.rules)]
    started = time.perf_counter()
    parse("warm.up = 1")  # builds the Lark parser once
    build = time.perf_counter() - started
    chars = sum(len(text) for text in conditions)
    started = time.perf_counter()
    cpu_started = time.process_time()
    for _ in range(args.rounds):
        for text in conditions:
            parse(text)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    total = len(conditions) * args.rounds
    print(f"conditions: {len(conditions)} ({chars} characters after list substitution)")
    print(f"parser build: {build * 1000:.0f} ms")
    print(f"parsed {total} conditions in {elapsed:.2f} s: {total / elapsed:.0f} conditions/s")
    # CPU time is the steadier figure on a shared machine
    print(f"CPU time {cpu:.2f} s: {total / cpu:.0f} conditions per CPU second")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
