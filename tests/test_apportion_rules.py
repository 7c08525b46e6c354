"""Thresholds, tie rules, infinite claims, the new methods and totals of any size (issues 18 and 19)."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import allocator.apportion.methods as methods
from allocator.apportion import DIVISOR_METHODS, MAX_TOTAL, apportion, droop_quota, signpost_sums, signposts
from allocator.cli import main
from allocator.errors import InfeasibleError, InputError


def _table(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "t.csv"
    path.write_text("area,population\n" + rows, encoding="utf-8")
    return path


def test_threshold_excludes_below_the_share_and_lists_the_reason(tmp_path: Path) -> None:
    """5% of 1000 is 50: 49 is out, 50 stays in; the JSON names the excluded area and why."""
    table = _table(tmp_path, "a,600\nb,301\nc,50\nd,49\n")
    run = CliRunner().invoke(main, ["apportion", str(table), "-n", "10", "-M", "dhondt", "--threshold", "0.05",
                                    "-o", str(tmp_path / "o")])
    assert run.exit_code == 0, run.output
    document = json.loads((tmp_path / "o" / "apportionment.json").read_text(encoding="utf-8"))
    assert [e["area"] for e in document["excluded"]] == ["d"]
    assert "4.9% of the total 1000, below the threshold of 5%" in document["excluded"][0]["reason"]
    assert document["threshold"] == 0.05 and document["ties_option"] == "id"
    posts = {a["area"]: a["posts"] for a in document["areas"]}
    assert posts["d"] == 0 and sum(posts.values()) == 10
    assert posts == apportion(["a", "b", "c"], [600, 301, 50], 10, "dhondt").as_dict() | {"d": 0}
    assert "(excluded: weight 49" in run.output


def test_threshold_count_and_errors(tmp_path: Path) -> None:
    """An absolute threshold; a min on an excluded area, a bad share and a non-number are located exit 2."""
    result = apportion(["a", "b", "c"], [100, 40, 39], 5, "webster", threshold_count=40)
    assert result.excluded.keys() == {"c"} and result.posts[2] == 0
    with pytest.raises(InputError, match="min 1 but the threshold excludes it"):
        apportion(["a", "b"], [100, 1], 5, "webster", lo=[0, 1], threshold=Fraction(1, 20))
    with pytest.raises(InputError, match="not a share"):
        apportion(["a"], [1], 1, "webster", threshold=2)
    with pytest.raises(InputError, match="every weight is 0 after the threshold"):
        apportion(["a", "b"], [1, 1], 1, "webster", threshold_count=5)
    table = _table(tmp_path, "a,1\n")
    run = CliRunner().invoke(main, ["apportion", str(table), "-n", "1", "--threshold", "five", "-o",
                                    str(tmp_path / "o")])
    assert run.exit_code == 2 and "--threshold 'five' is not a number" in run.output


@pytest.mark.parametrize("method", ["adams", "huntington-hill", "dean"])
def test_infinite_claims_go_to_the_largest_weight_first(method: str) -> None:
    """Fewer seats than areas under a method with s(0) = 0: the largest areas get them, whatever their ids."""
    result = apportion(["a", "b", "c", "d"], [1, 5, 3, 4], 2, method)
    assert result.as_dict() == {"a": 0, "b": 1, "c": 0, "d": 1}
    assert not result.ties


def test_tie_rules(tmp_path: Path) -> None:
    """id serves by id, first-listed by table order, error stops with exit 3; the JSON records the choice."""
    assert apportion(["c", "b", "a"], [5, 5, 5], 1, "webster").as_dict() == {"a": 1, "b": 0, "c": 0}
    assert apportion(["c", "b", "a"], [5, 5, 5], 1, "webster", ties="first-listed").as_dict() == \
        {"a": 0, "b": 0, "c": 1}
    with pytest.raises(InfeasibleError, match="a tie decides the total"):
        apportion(["c", "b", "a"], [5, 5, 5], 1, "webster", ties="error")
    # A tie only in the priority list does not stop the run.
    assert apportion(["c", "b", "a"], [5, 5, 5], 3, "webster", ties="error").posts == [1, 1, 1]
    table = _table(tmp_path, "c,5\nb,5\na,5\n")
    run = CliRunner().invoke(main, ["apportion", str(table), "-n", "1", "--ties", "first-listed", "-o",
                                    str(tmp_path / "o")])
    assert run.exit_code == 0
    document = json.loads((tmp_path / "o" / "apportionment.json").read_text(encoding="utf-8"))
    assert document["ties_option"] == "first-listed" and document["tie_rule"].endswith("table order")
    run = CliRunner().invoke(main, ["apportion", str(table), "-n", "1", "--ties", "error", "-o", str(tmp_path / "e")])
    assert run.exit_code == 3 and "a tie decides the total" in run.output and not (tmp_path / "e").exists()


def test_modified_sainte_lague_first_divisor() -> None:
    """6:1 and 4 seats: Webster gives 3:1; a first divisor of 1.4 gives 4:0 (M. Lackner's apportionment tests)."""
    assert apportion(["a", "b"], [6, 1], 4, "webster").posts == [3, 1]
    assert apportion(["a", "b"], [6, 1], 4, "sainte-lague-modified").posts == [4, 0]
    # First divisor 1 is Webster again.
    assert apportion(["a", "b"], [6, 1], 4, "sainte-lague-modified", first_divisor=1).posts == [3, 1]
    with pytest.raises(InputError, match="outside"):
        apportion(["a"], [1], 1, "sainte-lague-modified", first_divisor=3)
    with pytest.raises(InputError, match="a first divisor belongs to sainte-lague-modified, not to webster"):
        apportion(["a"], [1], 1, "webster", first_divisor=1.2)


def test_droop_and_hare() -> None:
    """Droop's quota is floor(W/(S+1)) + 1; hare is hamilton."""
    assert droop_quota([Fraction(100)], 3) == 26
    assert apportion(["a", "b"], [3, 2], 3, "hare").as_dict() == apportion(["a", "b"], [3, 2], 3, "hamilton").as_dict()
    # Quota 8 (floor(22/3) + 1): whole quotas 2 and 0 fill both seats.
    result = apportion(["a", "b"], [17, 5], 2, "droop")
    assert droop_quota([Fraction(17), Fraction(5)], 2) == 8
    assert result.posts == [2, 0]
    result = apportion(["a", "b"], [17, 5], 3, "droop")  # quota 6: 2 and 0, remainders 5 and 5: a tie
    assert result.posts == [3, 0] and result.ties[0].areas == ["a", "b"]
    with pytest.raises(InputError, match="droop method takes no min or max"):
        apportion(["a"], [1], 1, "droop", lo=[1])


weights_st = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=10).filter(any)


@settings(max_examples=200, deadline=None)
@given(weights=weights_st, total=st.one_of(st.integers(min_value=0, max_value=40), st.integers(0, 3000)),
       method=st.sampled_from(DIVISOR_METHODS), data=st.data())
def test_the_jump_to_the_divisor_equals_seat_by_seat(weights: list[int], total: int, method: str,
                                                     data: st.DataObject) -> None:
    """With the jump forced on, every result, tie and priority list equals the seat-by-seat one."""
    n = len(weights)
    lo = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    hi = data.draw(st.lists(st.one_of(st.none(), st.integers(3, 200)), min_size=n, max_size=n))
    if sum(lo) > total or all(h is not None for h in hi) and total > sum(h for h in hi if h is not None):
        return
    areas = [f"a{i}" for i in range(n)]
    stepwise = apportion(areas, weights, total, method, lo, hi)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(methods, "_STEPWISE", -10**9)
        jumped = apportion(areas, weights, total, method, lo, hi)
    assert (jumped.posts, jumped.next, jumped.ties) == (stepwise.posts, stepwise.next, stepwise.ties)


@pytest.mark.parametrize("method", DIVISOR_METHODS)
def test_signpost_sums_in_closed_form(method: str) -> None:
    """S(n) in closed form equals the plain sum of the signposts (float) up to 20,000 and beyond the table."""
    import math

    import numpy as np

    steps = signposts(method, 20_000)
    n = np.array([0, 1, 2, 3, 100, 4095, 4096, 4097, 10_000, 19_999])
    expected = np.array([math.fsum(steps[:k]) for k in n])
    assert np.allclose(signpost_sums(method, n), expected, rtol=1e-14, atol=1e-9)


#: The child's own peak memory in kB (Linux). Not ru_maxrss: Linux keeps it across fork and exec, so a child
#: of a large pytest process reported the parent's size (424 MB) once the app's tests had run in it (issue 16).
PEAK_KB = "int(next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM:')))"


def test_a_total_of_a_trillion_takes_under_a_second_and_little_memory(tmp_path: Path) -> None:
    """apportion --total 10^12 runs in constant memory (issue 19); above MAX_TOTAL it is refused with exit 2."""
    table = Path(__file__).parent / "data" / "apportionment" / "us-house-1790.csv"
    code = ("import resource, sys, time; from allocator.cli import main; t = time.perf_counter();\n"
            "try:\n main(sys.argv[1:])\nexcept SystemExit: pass\n"
            f"print(time.perf_counter() - t, {PEAK_KB})")
    for method in ("huntington-hill", "jefferson", "hamilton"):
        run = subprocess.run([sys.executable, "-c", code, "apportion", str(table), "-n", str(10**12), "-M", method,
                              "-o", str(tmp_path / method)], capture_output=True, text=True, check=True)
        seconds, peak_kb = run.stdout.split()[-2:]
        assert float(seconds) < 5 and int(peak_kb) < 400_000, (method, seconds, peak_kb)
        document = json.loads((tmp_path / method / "apportionment.json").read_text(encoding="utf-8"))
        assert sum(a["posts"] for a in document["areas"]) == 10**12
    run = CliRunner().invoke(main, ["apportion", str(table), "-n", str(MAX_TOTAL + 1), "-o", str(tmp_path / "x")])
    assert run.exit_code == 2 and "above the limit" in run.output and not (tmp_path / "x").exists()


@pytest.mark.parametrize("method", ["huntington-hill", "dean", "sainte-lague-modified", "jefferson"])
def test_the_apportionment_objective_with_a_total_of_10_to_the_8(method: str) -> None:
    """objective: apportionment with 10^8 posts solves and verifies in constant memory (issue 19)."""
    from allocator.io.schemas import Model
    from allocator.results.solve import solve

    from tests.test_apportion import _flat_instance

    code = ("import resource, sys; sys.path.insert(0, '.');\n"
            "from tests.test_apportion import _flat_instance\n"
            "from allocator.io.schemas import Model\nfrom allocator.results.solve import solve\n"
            f"plan = solve(_flat_instance([500, 300, 200], 10**8), Model(name='m', objective='apportionment', "
            f"method='{method}'))\n"
            f"print(*[int(r.posts) for r in plan.rows], {PEAK_KB})")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent.parent)
    *posts, peak_kb = run.stdout.split()
    assert [int(p) for p in posts] == [50_000_000, 30_000_000, 20_000_000]
    assert int(peak_kb) < 400_000
    # The same plan as the classical method (small total, in process).
    plan = solve(_flat_instance([500, 300, 201], 1000), Model(name="m", objective="apportionment", method=method))
    assert [int(r.posts) for r in plan.rows] == apportion(["a00", "a01", "a02"], [500, 300, 201], 1000,
                                                          method).posts
