"""Hypothesis strategies that generate whole instances and models."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from allocator.io.schemas import Instance, Model
from tests.conftest import make_instance, make_model


@st.composite
def instances(draw: st.DrawFn, *, max_leaves: int = 3, max_specialties: int = 2, max_total: int = 6,
              tree: bool = True, shared: bool = True, units: tuple[float, ...] = (1, 0.5)) -> Instance:
    """A small instance: leaves optionally under parents, bounds on any level, last year's posts."""
    unit = draw(st.sampled_from(units))
    n_leaves = draw(st.integers(1, max_leaves))
    n_specs = draw(st.integers(1, max_specialties))
    leaves = [f"l{i}" for i in range(n_leaves)]
    specs = [f"s{i}" for i in range(n_specs)]
    parents = draw(st.integers(0, 2)) if tree else 0
    areas: list[dict[str, Any]] = [{"id": f"p{j}"} for j in range(parents)]
    for i, leaf in enumerate(leaves):
        area: dict[str, Any] = {
            "id": leaf, "population": draw(st.integers(1, 100)), "underserved": draw(st.booleans()),
            "indicators": {"per_gp": draw(st.integers(1, 50))},
        }
        if parents:
            area["parent"] = f"p{i % parents}"
        areas.append(area)
    # A parent without leaves would be a leaf without population: keep only used parents.
    used = {a.get("parent") for a in areas}
    areas = [a for a in areas if not a["id"].startswith("p") or a["id"] in used]
    specialties = [{"id": s, "total": draw(st.integers(0, max_total)) * unit} for s in specs]

    def limits() -> dict[str, float]:
        low = draw(st.none() | st.integers(0, max_total))
        high = draw(st.none() | st.integers(0, max_total))
        result = {}
        if low is not None:
            result["min"] = low * unit
        if high is not None:
            result["max"] = high * unit
        if low is not None and high is not None and low > high:
            result["min"], result["max"] = result["max"], result["min"]
        return result or {"max": max_total * unit}

    bounds = []
    targets_of_bounds = [(leaf, s) for leaf in leaves for s in specs]
    if shared:
        targets_of_bounds += [(leaf, None) for leaf in leaves]
        targets_of_bounds += [(a["id"], s) for a in areas if a["id"].startswith("p") for s in [None, *specs]]
    for area, specialty in draw(st.lists(st.sampled_from(targets_of_bounds), unique=True, max_size=4)):
        bounds.append({"area": area, "specialty": specialty, **limits()})
    previous = []
    if draw(st.booleans()):
        for leaf in leaves:
            for s in specs:
                if draw(st.booleans()):
                    previous.append({"area": leaf, "specialty": s, "posts": draw(st.integers(0, 4)) * unit})
    return make_instance(unit=unit, specialties=specialties, areas=areas, bounds=bounds, previous=previous)


@st.composite
def models(draw: st.DrawFn, *, stability: bool = True, apportionment: bool = False) -> Model:
    """A model: any objective (apportionment only when asked), optional criterion, under-served weight, stability."""
    objectives = ["absolute", "squared", "apportionment"] if apportionment else ["absolute", "squared"]
    fields: dict[str, Any] = {"objective": draw(st.sampled_from(objectives))}
    if fields["objective"] == "apportionment":
        fields["method"] = draw(st.sampled_from(["hamilton", "jefferson", "webster", "huntington-hill", "adams",
                                                 "dean"]))
    else:
        fields["underserved_weight"] = draw(st.sampled_from([1, 1.5, 3]))
    if draw(st.booleans()):
        fields["criteria"] = [{"indicator": "per_gp", "weight": 1,
                               "direction": draw(st.sampled_from(["higher_is_worse", "higher_is_better"]))}]
    if stability:
        fields["stability"] = {"max_change": draw(st.none() | st.integers(0, 3)),
                               "weight": draw(st.sampled_from([0, 0.25, 1]))}
    return make_model(**fields)
