"""Regression fixtures, each named after the bug it caught."""

from __future__ import annotations

from allocator.io.schemas import DEFAULT_MODEL
from allocator.results.solve import solve
from tests.conftest import make_instance


def test_floor_on_parent_with_single_leaf_is_kept() -> None:
    """A floor on a parent that has one leaf was dropped as if it were the leaf's own bound.

    Found by the brute-force property test; the verifier rejected the plan.
    """
    instance = make_instance(
        specialties=[{"id": "s0", "total": 3}, {"id": "s1", "total": 2}],
        areas=[{"id": "p0"}, {"id": "l0", "parent": "p0", "population": 1}, {"id": "l1", "population": 99}],
        bounds=[{"area": "p0", "specialty": "s0", "min": 2}],
    )
    posts = solve(instance, DEFAULT_MODEL).posts()
    assert posts[("l0", "s0")] == 2
