"""Shared fixtures and helpers: small named instances, built in code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import os

import pytest
from hypothesis import settings

# CI runs the same examples every time (a red main must come from a change, not a draw);
# locally hypothesis explores new examples on every run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

from allocator.io.loading import check_instance
from allocator.io.schemas import Instance, Model

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
DK_INSTANCE = ROOT / "instances" / "dk-2020-almen-medicin" / "instance.yaml"
SYNTHETIC_INSTANCE = ROOT / "instances" / "synthetic-20-leaves" / "instance.yaml"
MODELS = ROOT / "models"


def make_instance(**fields: Any) -> Instance:
    """Validate and cross-check an instance given as plain data."""
    fields.setdefault("name", "test")
    instance = Instance.model_validate(fields)
    check_instance(instance)
    return instance


def make_model(**fields: Any) -> Model:
    """Validate a model given as plain data."""
    fields.setdefault("name", "test-model")
    return Model.model_validate(fields)


@pytest.fixture
def two_regions() -> Instance:
    """Two training regions with two leaves each, two specialties, a shared cap and a floor."""
    return make_instance(
        specialties=[{"id": "gp", "total": 20}, {"id": "psych", "total": 7}],
        areas=[
            {"id": "North"}, {"id": "South"},
            {"id": "n1", "parent": "North", "population": 1000, "indicators": {"per_gp": 2000}},
            {"id": "n2", "parent": "North", "population": 3000, "indicators": {"per_gp": 1500}, "underserved": True},
            {"id": "s1", "parent": "South", "population": 2500, "indicators": {"per_gp": 1800}},
            {"id": "s2", "parent": "South", "population": 500, "indicators": {"per_gp": 2400}},
        ],
        bounds=[
            {"area": "North", "max": 14},
            {"area": "s2", "specialty": "gp", "min": 3},
        ],
        previous=[{"area": leaf, "specialty": s, "posts": p}
                  for leaf, s, p in [("n1", "gp", 4), ("n2", "gp", 8), ("s1", "gp", 6), ("s2", "gp", 2),
                                     ("n1", "psych", 1), ("n2", "psych", 2), ("s1", "psych", 3), ("s2", "psych", 1)]],
    )
