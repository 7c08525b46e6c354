"""A variant of a multi-year instance is verified against the rows, with the changes it declares.

Sensitivity shifts, a sweep's scaling and the app's what-if put cells or growth of their own. Each
declares what it changed (``HorizonInstance.changes``); the verifier resolves the rows again, applies
the declared changes by its own code and reports any other difference. Each test solves a real variant
of the Danish horizon instance, then the same variant made by a maker with a slip (one more field
changed than declared), which must be a verification error (exit 4 in the CLI).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from allocator.app import horizon_whatif
from allocator.app.horizon_whatif import horizon_settings_of, horizon_with
from allocator.errors import VerificationError
from allocator.io.horizon import load_horizon_instance
from allocator.io.schemas import DEFAULT_MODEL, CellFacts, HorizonInstance
from allocator.reports import horizon_sensitivity, sweep
from allocator.reports.horizon_sensitivity import apply_variant, variants_of
from allocator.reports.sweep import Change, SweepContext, scenario_horizon
from allocator.results.horizon import solve_horizon
from tests.conftest import ROOT
from tests.test_sweep_horizon import _axis

HORIZON = ROOT / "instances" / "dk-2021-almen-medicin-horizon" / "instance.yaml"


@pytest.fixture(scope="module")
def horizon() -> HorizonInstance:
    return load_horizon_instance(HORIZON).value


def _one_more_exit(**facts: float) -> CellFacts:
    """A maker's slip: the cell's exit rate raised by 1 % besides the change it declares."""
    return CellFacts(**{**facts, "exit_rate": facts["exit_rate"] * 1.01})


def test_a_sweep_scaling_is_verified_and_a_stray_change_is_caught(horizon: HorizonInstance,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    axes = (_axis("workforce.retention", 0.9), _axis("areas.population_growth", 2.0))
    context = SweepContext(horizon.instance, (DEFAULT_MODEL,), axes, None, horizon=horizon)
    scaled, model = scenario_horizon(context, Change(1, 0, (0.9, 2.0), 0))
    assert [change.field for change in scaled.changes] == ["retention", "population_growth"]
    assert solve_horizon(scaled, model).status == "optimal"
    monkeypatch.setattr(sweep, "CellFacts", _one_more_exit)
    slipped, model = scenario_horizon(context, Change(1, 0, (0.9, 2.0), 0))
    with pytest.raises(VerificationError, match="Hovedstaden, almen-medicin: exit_rate is .*, but the workforce rows "
                                                "give .* and the variant's declared changes"):
        solve_horizon(slipped, model)


def test_a_sensitivity_shift_is_verified_and_a_wrong_shift_is_caught(horizon: HorizonInstance,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    variant = next(v for v in variants_of(horizon, DEFAULT_MODEL) if v.field == "fill_rate" and v.area == "")
    shifted, model = apply_variant(horizon, DEFAULT_MODEL, variant)
    assert solve_horizon(shifted, model).status == "optimal"
    shift: Any = horizon_sensitivity._shifted
    monkeypatch.setattr(horizon_sensitivity, "_shifted",
                        lambda name, value, change: shift(name, value, 2 * change))  # twice the declared shift
    doubled, model = apply_variant(horizon, DEFAULT_MODEL, variant)
    with pytest.raises(VerificationError, match="fill_rate is .*, but the workforce rows give .* and the variant's"):
        solve_horizon(doubled, model)


def test_the_apps_what_if_is_verified_and_a_stray_change_is_caught(horizon: HorizonInstance,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    settings = dataclasses.replace(horizon_settings_of(horizon, DEFAULT_MODEL, "what-if"), fill_factor=0.8)
    scaled = horizon_with(horizon, settings)
    assert solve_horizon(scaled, DEFAULT_MODEL).status == "optimal"
    monkeypatch.setattr(horizon_whatif, "CellFacts", _one_more_exit)
    with pytest.raises(VerificationError, match="exit_rate is .*, but the workforce rows give"):
        solve_horizon(horizon_with(horizon, settings), DEFAULT_MODEL)


def test_an_undeclared_change_is_caught(horizon: HorizonInstance) -> None:
    """Before the changes were declared, any variant's cells were skipped by the check (they were another object)."""
    cells = dict(horizon.cells)
    cell = next(iter(cells))
    cells[cell] = dataclasses.replace(cells[cell], fill_rate=cells[cell].fill_rate / 2)
    with pytest.raises(VerificationError, match=f"{cell[0]}, {cell[1]}: fill_rate is .*, but the workforce rows give "
                                                r"[0-9.]+(?! and)"):
        solve_horizon(dataclasses.replace(horizon, cells=cells), DEFAULT_MODEL)
