"""Whatever the rules text, loading returns diagnostics and never raises."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detector.loader import load_rules

FRAGMENTS = [
    "- rule: r\n", "- macro: m\n", "- list: l\n", "  desc: d\n", "  condition: evt.type = open\n",
    "  condition: m and not\n", "  output: '%proc.name'\n", "  priority: INFO\n", "  items: [a, m]\n",
    "  append: true\n", "  override:\n", "    condition: append\n", "    items: replace\n",
    "  exceptions:\n", "    - name: e\n", "      fields: [proc.name]\n", "      values: [[a]]\n",
    "  enabled: false\n", "  tags: [x]\n", "  source: k8s_audit\n", "---\n", "- required_engine_version: 1\n",
    "  condition: (((\n", "  condition: l\n", "\t", ": ", "[", "]", "{", "&a ", "*a ", "'", '"', "%", "\n",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=25), st.booleans())
def test_loading_never_raises(parts: list[str], all_errors: bool) -> None:
    result = load_rules("- list: seed\n" + "".join(parts), all_errors=all_errors)
    for diag in result.diagnostics:
        assert diag.code.startswith("LOAD_")
        assert diag.line >= 1 and diag.column >= 1
        assert isinstance(diag.snippet, str)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text: str) -> None:
    load_rules(text if "\n" in text else text + "\n")
