"""CBC on a multi-year instance (issue 14 audit, item 7): the time limit as given, the bound CBC's log
states (and none when it states none), so that --accept-gap works with CBC and exit 4 names a gap."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from allocator.cli import main
from allocator.core.horizon import build_horizon
from allocator.io.horizon import load_horizon_instance
from allocator.io.schemas import DEFAULT_MODEL
from allocator.results.horizon import myopic
from allocator.solvers import horizon as solvers
from benchmarks.horizon import horizon_instance, write_instance
from tests.conftest import ROOT

DK_HORIZON = ROOT / "instances" / "dk-2021-almen-medicin-horizon" / "instance.yaml"

#: The closing lines of a real CBC log (the binary PuLP 3.3.2 ships), stopped by `-sec 0.5` on the
#: SYNTHETIC 98-leaf instance of benchmarks/horizon.py (seed 0), with the warm start.
STOPPED = """\
Cbc0012I Integer solution of -1103.2028 found by Reduced search after 0 iterations and 0 nodes (0.33 seconds)
Cbc0020I Exiting on maximum time
Cbc0005I Partial search - best objective -1103.2028 (best possible -1152.5865), took 0 iterations and 0 nodes (0.52 seconds)
Cuts at root node changed objective from -1152.59 to -1152.59

Result - Stopped on time limit

Objective value:                -1103.20283134
Lower bound:                    -1152.587
Gap:                            0.04
Enumerated nodes:               0
"""

#: ... and of a proven optimum (the bundled Danish horizon): no bound is stated.
OPTIMAL = """\
Cbc0001I Search completed - best objective 298.461880482899, took 0 iterations and 0 nodes (0.03 seconds)
Cbc0035I Maximum depth 0, 0 variables fixed on reduced cost

Result - Optimal solution found

Objective value:                298.46188048
Enumerated nodes:               0
"""


def test_the_bound_is_read_from_the_log_lowered_by_its_last_printed_digit() -> None:
    bound, incumbent = solvers._cbc_logged_bound(STOPPED)
    # "best possible -1152.5865" (lowered by 1e-4) is above "Lower bound: -1152.587" (lowered by 1e-3)
    assert bound == pytest.approx(-1152.5865 - 1e-4, abs=1e-9)
    assert incumbent == -1103.20283134
    assert solvers._cbc_logged_bound(STOPPED.replace("(best possible -1152.5865)", "")) == (
        pytest.approx(-1152.588, abs=1e-9), -1103.20283134)


@pytest.mark.parametrize("log", [OPTIMAL, "", STOPPED.replace("Objective value:                -1103.20283134\n", ""),
                                 STOPPED.replace("-1152.587", "1e+50").replace("-1152.5865", "1e+50")])
def test_a_log_that_states_no_bound_or_no_incumbent_gives_none(log: str) -> None:
    assert solvers._cbc_logged_bound(log) is None
    assert math.isnan(solvers._cbc_bound(log, 0.0, 1.0))


def test_the_bound_takes_the_constant_back_and_is_refused_when_the_incumbent_disagrees() -> None:
    constant = 8773.75248147674  # the objective's constant PuLP leaves out of the MPS file
    objective = -1103.20283134 + constant
    assert solvers._cbc_bound(STOPPED, constant, objective) == pytest.approx(-1152.5866 + constant, abs=1e-9)
    assert math.isnan(solvers._cbc_bound(STOPPED, 0.0, objective))  # the log is of another objective
    assert math.isnan(solvers._cbc_bound(STOPPED, constant, objective + 1.0))


@pytest.fixture(scope="module")
def gen98(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SYNTHETIC 98-leaf horizon of benchmarks/horizon.py, seed 0 (the audit's gen98.yaml)."""
    return write_instance(tmp_path_factory.mktemp("gen98") / "gen98.yaml", horizon_instance(0))


def test_a_fraction_of_a_second_reaches_cbc_as_given(gen98: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pulp

    given: list[dict[str, Any]] = []
    real = pulp.PULP_CBC_CMD

    def spy(**options: Any) -> Any:
        given.append(dict(options))
        return real(**options)

    monkeypatch.setattr(pulp, "PULP_CBC_CMD", spy)
    horizon = load_horizon_instance(gen98).value
    problem = build_horizon(horizon, DEFAULT_MODEL)
    result = solvers.solve_cbc(problem, time_limit=0.5, hint=myopic(horizon, DEFAULT_MODEL)[0])
    assert given[0]["timeLimit"] == 0.5  # it was max(1, int(0.5)) = 1
    # CBC stops at the limit with the warm start's plan and states a bound below it
    assert result.status == "time_limit" and result.units is not None
    assert math.isfinite(result.bound) and result.bound < result.objective
    assert 0 < result.gap < 0.05


def test_accept_gap_works_with_cbc_and_exit_4_names_the_gap(gen98: Path, tmp_path: Path) -> None:
    stopped = CliRunner().invoke(main, ["solve", str(gen98), "--solver", "cbc", "--time-limit", "0.5",
                                        "-o", str(tmp_path / "a"), "-q"])
    assert stopped.exit_code == 4, stopped.output
    assert "the solver stopped at the time limit of 0.5 s with a gap of" in stopped.output
    assert "add --accept-gap" in stopped.output and not (tmp_path / "a").exists()
    accepted = CliRunner().invoke(main, ["solve", str(gen98), "--solver", "cbc", "--time-limit", "0.5",
                                         "--accept-gap", "0.5", "-o", str(tmp_path / "b"), "-q"])
    assert accepted.exit_code == 0, accepted.output
    plan = json.loads((tmp_path / "b" / "plan.json").read_text(encoding="utf-8"))
    assert plan["status"] == "gap ≤ 0.5" and plan["metadata"]["verified"]
    assert plan["best_bound"] < plan["objective"]
    assert plan["gap"] == pytest.approx((plan["objective"] - plan["best_bound"]) / plan["objective"], rel=1e-12)


def test_a_cbc_optimum_claims_no_bound(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["solve", str(DK_HORIZON), "--solver", "cbc", "-o", str(tmp_path / "o"), "-q"])
    assert result.exit_code == 0, result.output
    plan = json.loads((tmp_path / "o" / "plan.json").read_text(encoding="utf-8"))
    assert plan["status"] == "optimal" and plan["best_bound"] is None and plan["gap"] == 0.0
    # the optimum HiGHS proves on the same instance
    highs = CliRunner().invoke(main, ["solve", str(DK_HORIZON), "--solver", "highs", "-o", str(tmp_path / "h"), "-q"])
    assert highs.exit_code == 0, highs.output
    proven = json.loads((tmp_path / "h" / "plan.json").read_text(encoding="utf-8"))
    assert proven["status"] == "optimal" and proven["best_bound"] is not None
    assert plan["objective"] == pytest.approx(proven["objective"], rel=1e-12)


def test_the_one_year_cbc_backend_passes_its_limit_as_given_too(monkeypatch: pytest.MonkeyPatch) -> None:
    import pulp

    from allocator.core.problem import build_problem
    from allocator.io.loading import load_instance
    from allocator.solvers.cbc import CbcBackend
    from tests.conftest import SYNTHETIC_INSTANCE

    given: list[float] = []
    real = pulp.PULP_CBC_CMD

    def spy(**options: Any) -> Any:
        given.append(options["timeLimit"])
        return real(**options)

    monkeypatch.setattr(pulp, "PULP_CBC_CMD", spy)
    result = CbcBackend().solve(build_problem(load_instance(SYNTHETIC_INSTANCE).value, DEFAULT_MODEL), time_limit=30.25)
    assert result.status == "optimal"
    assert given and all(0 < limit <= 30.25 and limit != int(limit) for limit in given)  # never rounded
