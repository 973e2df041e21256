"""Every macro and rule condition of the upstream Falco rules parses, after list substitution."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from detector.language import as_string, parse, substitute_lists
from tests.shared import shared_dir


def _lists(items: Sequence[Any], inherited: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Final items per list, in definition order.

    An item naming an earlier list is replaced by that list's items as
    written (one level, as Falco's compile_list_infos does).
    """
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


def _conditions() -> list[Any]:
    base = shared_dir()
    if base is None:
        return []
    rules_dir = base / "falco" / "rules"
    if not rules_dir.is_dir():
        return []
    base_file = rules_dir / "falco_rules.yaml"
    base_lists = _lists(yaml.safe_load(base_file.read_text(encoding="utf-8")) or [], {})
    params = []
    for path in sorted(rules_dir.glob("*.yaml")):
        items = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
        # the incubating and sandbox files are loaded on top of falco_rules.yaml
        lists = _lists(items, base_lists if path.name.startswith("falco-") else {})
        for item in items:
            if not isinstance(item, dict) or "condition" not in item:
                continue
            kind = "macro" if "macro" in item else "rule" if "rule" in item else None
            if kind is None:
                continue
            text = substitute_lists(str(item["condition"]), lists)
            params.append(pytest.param(text, id=f"{path.name}:{kind}:{item[kind]}"))
    return params


CONDITIONS = _conditions()


@pytest.mark.parametrize("text", CONDITIONS or [None])
def test_upstream_condition_parses_and_round_trips(text: str | None) -> None:
    if text is None:
        pytest.skip("upstream rules not found in the shared material")
    ast = parse(text)
    assert parse(as_string(ast)) == ast


def test_upstream_corpus_is_complete() -> None:
    """All four upstream files were read (guards against a silently empty parametrization)."""
    if not CONDITIONS:
        pytest.skip("upstream rules not found in the shared material")
    files = {p.id.split(":", 1)[0] for p in CONDITIONS}
    assert files == {
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
        "k8s_audit_rules.yaml",
    }
