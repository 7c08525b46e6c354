"""The methods agree with the test cases of published apportionment libraries (tests/data/apportionment/library-cases.yaml)."""

from __future__ import annotations

import pytest
import yaml

from allocator.apportion import apportion
from allocator.errors import InfeasibleError

from tests.conftest import DATA

CASES = yaml.safe_load((DATA / "apportionment" / "library-cases.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_library_case(case: dict) -> None:
    """Our result equals the library's expected seats, with the library's threshold and tie rule."""
    areas = [f"p{i:02d}" for i in range(len(case["weights"]))]
    result = apportion(areas, case["weights"], case["seats"], case["method"], ties=case.get("ties", "id"),
                       threshold=case.get("threshold"), threshold_count=case.get("threshold_count"),
                       first_divisor=case.get("first_divisor"))
    assert result.posts == case["expected"]


def test_lackner_no_ties_allowed_is_refused_with_ties_error() -> None:
    """lackner's test_no_ties_allowed: [11, 11, 11] and 4 seats has no tie-free result; --ties error stops."""
    for method in ("hamilton", "dhondt", "sainte-lague", "huntington-hill", "adams", "dean", "droop"):
        with pytest.raises(InfeasibleError, match="a tie decides the total"):
            apportion(["a", "b", "c"], [11, 11, 11], 4, method, ties="error")
