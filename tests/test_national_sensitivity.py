"""national-large (issue 13): answers from the residual network equal re-solves of the moved instance.

The instance is made once per session by ``allocator generate --tree 100,5000 --specialties 50
--posts 40000 --seed 2 --offered 10 --no-cell-caps`` (synthetic, as the generator says in its file),
solved under models/need-weighted.yaml; a sample of 20 tight bound rows (10 at their maximum, 10 at
their minimum, evenly spread) and 10 total deltas (±1 for 5 specialties) are re-solved from scratch.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from allocator.cli import main
from allocator.io.loading import load_instance, load_model
from allocator.reports.incremental import moved_row, ranging, rule_moves, with_total
from allocator.reports.sensitivity import resolve, solve_problem
from allocator.solvers.diagnose import rules_of
from allocator.solvers.flow import structure
from allocator.solvers.residual import Residual
from tests.conftest import MODELS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def national(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("national-large")
    done = CliRunner().invoke(main, ["generate", "--tree", "100,5000", "--specialties", "50", "--posts", "40000",
                                     "--seed", "2", "--offered", "10", "--no-cell-caps", "--out", str(folder)])
    assert done.exit_code == 0, done.output
    instance = load_instance(Path(folder) / "instance.yaml").value
    model = load_model(MODELS / "need-weighted.yaml").value
    base = resolve(instance, model)
    assert base.problem is not None and structure(base.problem) == "flow"
    return instance, model, base, Residual(base.problem, base.units)


def _close(found: float | None, expected: float | None, scale: float) -> bool:
    if found is None or expected is None:
        return found is None and expected is None
    return abs(found - expected) <= 1e-9 * max(1.0, scale)


def test_twenty_tight_rules_equal_re_solves(national) -> None:  # type: ignore[no-untyped-def]
    instance, model, base, residual = national
    unit = float(instance.unit)
    units = {cell: int(round(v / unit)) for cell, v in base.posts.items()}
    tight: dict[str, list] = {"max": [], "min": []}
    for rule in rules_of(instance, model):
        if rule.kind != "bound":
            continue
        total = sum(units.get(cell, 0) for cell in rule.cells)
        if rule.hi is not None and total == rule.hi and rule.hi > 1:
            tight["max"].append(rule)
        elif rule.lo > 0 and total == rule.lo:
            tight["min"].append(rule)
    assert len(tight["max"]) >= 10 and len(tight["min"]) >= 10
    weights = residual.reduced()
    checked = 0
    for side, rules in tight.items():
        for rule in rules[:: max(1, len(rules) // 10)][:10]:
            found = rule_moves(residual, rule, side, 0, weights)
            assert found is not None
            for value, step in zip(found, (+1, -1)):
                moved = moved_row(instance, rule, side, step)
                expected = None if moved is None else resolve(moved, model).objective
                expected = None if expected is None else expected - base.objective
                assert _close(value, expected, base.objective), (rule.name, side, step, value, expected)
            checked += 1
    assert checked == 20


def test_ten_total_deltas_equal_re_solves(national) -> None:  # type: ignore[no-untyped-def]
    instance, model, base, residual = national
    specialties = sorted(instance.specialties, key=lambda s: s.id)[::10][:5]
    checked = 0
    for specialty in specialties:
        steps, _ = ranging(instance, model, base.problem, residual, specialty, 1,
                           lambda moved: solve_problem(moved, instance.cells).units)
        for step in steps:
            fresh = resolve(with_total(instance, specialty.id, specialty.total + step.delta * float(instance.unit)),
                            model)
            assert step.posts == {leaf: v for (leaf, s), v in fresh.posts.items() if s == specialty.id}
            assert _close(step.objective, fresh.objective, base.objective)
            checked += 1
    assert checked == 10
