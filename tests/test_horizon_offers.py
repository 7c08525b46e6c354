"""An `offers` table over a horizon (issue 14 audit, item 2): the same plan and figures as `max: 0`.

BRIEF.md, "Multi-year mathematics": pi_l = pop_l / sum of pop over all leaves, and the inhabitants of a
leaf that trains no one in a specialty still need its specialists. docs/formats.md says the two writings
of "not offered" give the same plan; over a horizon they now give the same plan.csv, projection.csv and
objective. The instances are synthetic.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocator.cli import main
from allocator.errors import InfeasibleError
from allocator.io.schemas import DEFAULT_MODEL
from allocator.results.horizon import solve_horizon
from tests.test_horizon import _load, tiny_horizons, tiny_models

#: The audit's off1.yaml / off2.yaml: R -> A (20,000), B (10,000), C (30,000); C trains no one.
SHARED: dict[str, Any] = {
    "name": "offers", "horizon": {"first_year": 2021, "plan_years": 2, "outlook_years": 6},
    "specialties": [{"id": "gp", "total": 10, "training_years": 2, "inhabitants_per_specialist": 1000}],
    "areas": [{"id": "R"}, {"id": "A", "parent": "R", "population": 20000},
              {"id": "B", "parent": "R", "population": 10000}, {"id": "C", "parent": "R", "population": 30000}],
    "workforce": [{"area": "R", "specialty": "gp", "exit_rate": 0.1, "retention": 0.5},
                  {"area": "A", "specialty": "gp", "headcount": 10}, {"area": "B", "specialty": "gp", "headcount": 5},
                  {"area": "C", "specialty": "gp", "headcount": 0}]}


def _writings(data: dict[str, Any], offered: dict[str, list[str]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``data`` with ``offered`` (leaves per specialty) as an offers table, and as bound rows ``max: 0``.

    Rows the offers table refuses on a cell not offered (last year's posts, pipeline) are left out of both.
    """
    leaves = [area["id"] for area in data["areas"] if not any(a.get("parent") == area["id"] for a in data["areas"])]
    closed = {(leaf, s["id"]) for s in data["specialties"] for leaf in leaves if leaf not in offered[s["id"]]}
    base = copy.deepcopy(data)
    for key in ("previous", "pipeline"):
        if key in base:
            base[key] = [row for row in base[key] if (row["area"], row["specialty"]) not in closed]
    with_offers = {**copy.deepcopy(base), "offers": [{"area": leaf, "specialty": s} for s, chosen in offered.items()
                                                     for leaf in chosen]}
    with_max = copy.deepcopy(base)
    bounds = with_max.setdefault("bounds", [])
    for leaf, s in sorted(closed):
        own = [row for row in bounds if (row["area"], row.get("specialty")) == (leaf, s) and "year" not in row]
        if own:
            own[0]["max"] = 0
        else:
            bounds.append({"area": leaf, "specialty": s, "max": 0})
    return with_offers, with_max


def test_offers_and_max_0_write_the_same_files(tmp_path: Path) -> None:
    """Before: objective 397.27 with offers, 2042.43 with max: 0 (C's 30,000 inhabitants left out)."""
    outputs = []
    for name, data in zip(("offers", "max0"), _writings(SHARED, {"gp": ["A", "B"]})):
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        result = CliRunner().invoke(main, ["solve", str(path), "--out", str(tmp_path / name), "-q"])
        assert result.exit_code == 0, result.output
        outputs.append(tmp_path / name)
    for name in ("plan.csv", "projection.csv"):
        assert (outputs[0] / name).read_bytes() == (outputs[1] / name).read_bytes(), name
    documents = [json.loads((out / "plan.json").read_text(encoding="utf-8")) for out in outputs]
    assert documents[0]["objective"] == documents[1]["objective"] == pytest.approx(2042.425, abs=1e-9)
    projection = (outputs[0] / "projection.csv").read_text(encoding="utf-8")
    assert "\nC,gp,2021,30.0,0.0,30.0," in projection  # C's demand counts, with no posts of its own


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_horizons(), tiny_models(), st.data())
def test_offers_and_max_0_give_the_same_plan_on_generated_instances(data: dict[str, Any], model: Any,
                                                                    draw: st.DataObject) -> None:
    offered = {s["id"]: draw.draw(st.sampled_from([["A"], ["B"], ["A", "B"]]), label=s["id"])
               for s in data["specialties"]}
    plans = []
    for writing in _writings(data, offered):
        try:
            plans.append(solve_horizon(_load(writing), model, solver="highs"))
        except InfeasibleError:
            plans.append(None)
    if plans[0] is None or plans[1] is None:
        assert plans[0] is None and plans[1] is None
        return
    assert plans[0].objective == plans[1].objective
    assert plans[0].posts() == plans[1].posts()
    assert plans[0].projection.rows == plans[1].projection.rows


def test_the_one_year_instance_of_a_horizon_keeps_no_posts_in_a_cell_not_offered(tmp_path: Path) -> None:
    plan = solve_horizon(_load(_writings(SHARED, {"gp": ["A", "B"]})[0]), DEFAULT_MODEL)
    assert {key: value for key, value in plan.posts().items() if key[0] == "C"} == {("C", "gp", 2021): 0.0,
                                                                                   ("C", "gp", 2022): 0.0}
    # C still takes its share of the graduates who settle away from where they trained (pi over all leaves).
    assert plan.projection.by_cell()[("C", "gp", 2023)].new_specialists > 0
