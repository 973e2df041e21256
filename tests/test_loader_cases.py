"""Falco's engine unit-test rules files (conformance/loader_cases.json), one test each."""

from __future__ import annotations

from typing import Any

import pytest

from tests.loader_support import case_id, check_expectations, loader_cases, run_case

CASES = loader_cases()


@pytest.mark.skipif(not CASES, reason="shared conformance corpus not found")
@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_loader_case(case: dict[str, Any]) -> None:
    outcome = run_case(case, CASES)
    problems = check_expectations(case, outcome)
    assert not problems, "\n".join(problems) + "\n\n" + outcome.result.describe()
