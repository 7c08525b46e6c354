"""The classical apportionment methods: real published results seat for seat, and their defining properties."""

from __future__ import annotations

import csv
import json
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from allocator.apportion import DIVISOR_METHODS, METHODS, apportion, claim, method_named
from allocator.cli import main
from allocator.errors import InfeasibleError, InputError

from tests.conftest import DATA

CASES = yaml.safe_load((DATA / "apportionment" / "cases.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_reproduces_published_apportionment(case: dict, tmp_path: Path) -> None:
    """`allocator apportion` gives every area exactly its published seats."""
    table = DATA / "apportionment" / case["table"]
    out = tmp_path / "out"
    options = [option for key in ("threshold", "first_divisor") if key in case
               for option in (f"--{key.replace('_', '-')}", str(case[key]))]
    result = CliRunner().invoke(main, ["apportion", str(table), "--total", str(case["total"]), "--method",
                                       case["method"], "--weight-column", case["weights"], "--out", str(out),
                                       *options])
    assert result.exit_code == 0, result.output
    with table.open(encoding="utf-8") as stream:
        published = {row["area"]: int(row[case["published"]]) for row in csv.DictReader(stream)}
    with (out / "apportionment.csv").open(encoding="utf-8") as stream:
        written = {row["area"]: int(row["posts"]) for row in csv.DictReader(stream)}
    assert written == published
    assert sum(published.values()) == case["total"]
    document = json.loads((out / "apportionment.json").read_text(encoding="utf-8"))
    assert document["ties"] == []
    assert len(document["next"]) == 10


def test_methods_differ_on_the_1790_census() -> None:
    """The 1790 figures separate the methods: Jefferson's 105 seats give Virginia 19, Webster's 18."""
    with (DATA / "apportionment" / "us-house-1790.csv").open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    areas, weights = [r["area"] for r in rows], [int(r["population"]) for r in rows]
    jefferson = apportion(areas, weights, 105, "dhondt").as_dict()
    webster = apportion(areas, weights, 105, "webster").as_dict()
    assert (jefferson["Virginia"], webster["Virginia"]) == (19, 18)
    assert (jefferson["Delaware"], webster["Delaware"]) == (1, 2)


def test_alabama_paradox_is_reported() -> None:
    """Hamilton: 10 seats give C two, 11 give it one; the priority list says so instead of naming C."""
    result = apportion(["A", "B", "C"], [6, 6, 2], 10, "hamilton")
    assert result.as_dict() == {"A": 4, "B": 4, "C": 2}
    assert result.next[0] is None
    assert result.paradoxes[0] == {"total": 11, "gained": {"A": 1, "B": 1}, "lost": {"C": 1}}


@pytest.mark.parametrize("method", METHODS)
def test_ties_are_reported_not_hidden(method: str, tmp_path: Path) -> None:
    """Three equal areas and 4 seats: the fourth seat is a tie, broken by area id and reported."""
    result = apportion(["c", "b", "a"], [5, 5, 5], 4, method)
    assert result.as_dict() == {"a": 2, "b": 1, "c": 1}
    deciding = [tie for tie in result.ties if tie.decides_total]
    assert len(deciding) == 1 and deciding[0].areas == ["a", "b", "c"] and deciding[0].awarded == ["a"]
    table = tmp_path / "t.csv"
    table.write_text("area,population\nc,5\nb,5\na,5\n", encoding="utf-8")
    run = CliRunner().invoke(main, ["apportion", str(table), "-n", "4", "-M", method, "-o", str(tmp_path / "o")])
    assert run.exit_code == 0
    assert "tie: a, b, c have exactly equal claims" in run.output


def test_bounds_are_honoured_and_located_errors(tmp_path: Path) -> None:
    """min and max columns bind; bad cells name the file, line and column; impossible bounds exit 3."""
    table = tmp_path / "bounded.csv"
    table.write_text("area,population,floor,cap\nbig,900,,5\nmid,90,,\nsmall,10,2,\n", encoding="utf-8")
    out = tmp_path / "o"
    run = CliRunner().invoke(main, ["apportion", str(table), "-n", "10", "-M", "jefferson", "--min-column", "floor",
                                    "--max-column", "cap", "-o", str(out)])
    assert run.exit_code == 0, run.output
    assert (out / "apportionment.csv").read_text(encoding="utf-8").splitlines()[1:] == [
        "big,5,9.000000", "mid,3,0.900000", "small,2,0.100000"]
    bad = tmp_path / "bad.csv"
    bad.write_text("area,population,min,max\nx,10,3,1\n", encoding="utf-8")
    run = CliRunner().invoke(main, ["apportion", str(bad), "-n", "2", "-o", str(tmp_path / "b")])
    assert run.exit_code == 2 and "bad.csv, line 2, field 'min'" in run.output
    bad.write_text("area,population\nx,ten\n", encoding="utf-8")
    run = CliRunner().invoke(main, ["apportion", str(bad), "-n", "2", "-o", str(tmp_path / "b")])
    assert run.exit_code == 2 and "line 2, field 'population'" in run.output
    bad.write_text("area,population,max\nx,10,1\ny,10,1\n", encoding="utf-8")
    run = CliRunner().invoke(main, ["apportion", str(bad), "-n", "3", "-o", str(tmp_path / "b")])
    assert run.exit_code == 3 and not (tmp_path / "b").exists()
    with pytest.raises(InputError, match="unknown apportionment method"):
        method_named("borda")
    with pytest.raises(InfeasibleError):
        apportion(["x"], [1], 3, "webster", hi=[2])


weights_st = st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=8)


@given(weights=weights_st, total=st.integers(min_value=0, max_value=60), method=st.sampled_from(DIVISOR_METHODS))
def test_priority_list_is_what_more_seats_add(weights: list[int], total: int, method: str) -> None:
    """For a divisor method, total+k seats are exactly the total's seats plus the first k areas of ``next``."""
    areas = [f"a{i}" for i in range(len(weights))]
    base = apportion(areas, weights, total, method)
    for k, area in enumerate(base.next, start=1):
        grown = apportion(areas, weights, total + k, method).as_dict()
        expected = base.as_dict()
        for added in base.next[:k]:
            expected[added] += 1
        if not any(tie.seats[0] <= total + k <= tie.seats[-1] for tie in base.ties):
            assert grown == expected, (k, area)


@given(weights=weights_st, total=st.integers(min_value=0, max_value=60), method=st.sampled_from(DIVISOR_METHODS),
       data=st.data())
def test_bounded_divisor_max_min_inequality(weights: list[int], total: int, method: str, data: st.DataObject) -> None:
    """Within bounds, no area's claim on one more seat beats another's claim on its last seat above its min."""
    n = len(weights)
    lo = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    hi = data.draw(st.lists(st.one_of(st.none(), st.integers(3, 20)), min_size=n, max_size=n))
    assume(sum(lo) <= total and (any(h is None for h in hi) or total <= sum(h for h in hi if h is not None)))
    result = apportion([f"a{i}" for i in range(n)], weights, total, method, lo, hi)
    posts = result.posts
    assert sum(posts) == total
    assert all(low <= p and (high is None or p <= high) for p, low, high in zip(posts, lo, hi))
    could_grow = [claim(method, Fraction(w), p) for w, p, high in zip(weights, posts, hi) if high is None or p < high]
    could_give = [claim(method, Fraction(w), p - 1) for w, p, low in zip(weights, posts, lo) if p > low]
    if could_grow and could_give:
        assert max(could_grow) <= min(could_give)


@given(weights=weights_st, total=st.integers(min_value=0, max_value=200))
def test_hamilton_stays_within_quota(weights: list[int], total: int) -> None:
    """Without bounds Hamilton gives every area its quota rounded down or up."""
    result = apportion([f"a{i}" for i in range(len(weights))], weights, total, "hamilton")
    for posts, quota in zip(result.posts, result.quotas):
        assert quota - 1 < posts < quota + 1


def _flat_instance(weights: list[int], total: int, lo: list[int] | None = None, hi: list[int | None] | None = None):
    from tests.conftest import make_instance

    areas = [{"id": f"a{i:02d}", "population": w} for i, w in enumerate(weights)]
    bounds = [{"area": f"a{i:02d}", "specialty": "s", **({"min": low} if low else {}),
               **({"max": high} if high is not None else {})}
              for i, (low, high) in enumerate(zip(lo or [0] * len(weights), hi or [None] * len(weights)))
              if low or high is not None]
    return make_instance(specialties=[{"id": "s", "total": total}], areas=areas, bounds=bounds)


def _clear_margin(result, method: str) -> bool:
    """True when the last seat given and the first withheld differ by more than float noise (not a near-tie)."""
    weights = [Fraction(w) for w in result.weights]
    if method == "hamilton":
        remainders = sorted((q - int(q) for q in result.quotas), reverse=True)
        left = result.total - sum(int(q) for q in result.quotas)
        return not (0 < left < len(remainders)) or remainders[left - 1] - remainders[left] > Fraction(1, 10**6)
    grow = [claim(method, w, p) for w, p, h in zip(weights, result.posts, result.hi) if h is None or p < h]
    give = [claim(method, w, p - 1) for w, p, low in zip(weights, result.posts, result.lo) if p > low]
    if not grow or not give:
        return True
    top, bottom = max(grow), min(give)
    return top[0] == 0 and bottom[0] == 0 and bottom[1] - top[1] > Fraction(1, 10**6) * bottom[1] or top[0] < bottom[0]


@settings(max_examples=60, deadline=None)
@given(weights=st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=8),
       total=st.integers(min_value=0, max_value=80))
def test_squared_objective_without_criteria_or_bounds_is_webster(weights: list[int], total: int) -> None:
    """min sum (x - t)^2 / t over whole posts adding up to T is Sainte-Laguë: the objective's classical twin."""
    from allocator.io.schemas import Model
    from allocator.results.solve import solve

    expected = apportion([f"a{i:02d}" for i in range(len(weights))], weights, total, "webster")
    assume(not expected.ties and _clear_margin(expected, "webster"))
    plan = solve(_flat_instance(weights, total), Model(name="squared", objective="squared"))
    assert {row.area: int(row.posts) for row in plan.rows} == expected.as_dict()


@settings(max_examples=80, deadline=None)
@given(weights=st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=7),
       total=st.integers(min_value=0, max_value=60), method=st.sampled_from(("hamilton", *DIVISOR_METHODS)),
       data=st.data())
def test_apportionment_objective_is_the_method(weights: list[int], total: int, method: str,
                                               data: st.DataObject) -> None:
    """The model objective 'apportionment' solved as a convex integer program gives the classical result."""
    from allocator.io.schemas import Model
    from allocator.results.solve import solve

    n = len(weights)
    lo = data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    hi = data.draw(st.lists(st.one_of(st.none(), st.integers(2, 15)), min_size=n, max_size=n))
    if method == "hamilton":  # the model's Hamilton is (x - t)^2: the same as the table method without bounds
        lo, hi = [0] * n, [None] * n
    assume(sum(lo) <= total and (any(h is None for h in hi) or total <= sum(h for h in hi if h is not None)))
    expected = apportion([f"a{i:02d}" for i in range(n)], weights, total, method, lo, hi)
    assume(not expected.ties and _clear_margin(expected, method))
    model = Model(name=method, objective="apportionment", method=method)
    plan = solve(_flat_instance(weights, total, lo, hi), model)
    assert {row.area: int(row.posts) for row in plan.rows} == expected.as_dict()


NORWAY = DATA / "apportionment" / "no-storting-2021.csv"


def _constituencies() -> dict[str, list[dict[str, str]]]:
    with NORWAY.open(encoding="utf-8") as stream:
        out: dict[str, list[dict[str, str]]] = {}
        for row in csv.DictReader(stream):
            out.setdefault(row["constituency"], []).append(row)
        return out


@pytest.mark.parametrize("constituency", sorted(_constituencies()))
def test_norway_2021_constituency_seats_by_modified_sainte_lague(constituency: str, tmp_path: Path) -> None:
    """Storting 2021: each constituency's seats (levelling seats apart) by modified Sainte-Laguë, first divisor 1.4.

    Sources in tests/data/apportionment/README.md. The default first divisor is used, through the CLI.
    """
    rows = _constituencies()[constituency]
    table = tmp_path / "t.csv"
    with table.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["area", "votes"])
        writer.writerows([row["area"], row["votes"]] for row in rows)
    total = sum(int(row["seats"]) for row in rows)
    run = CliRunner().invoke(main, ["apportion", str(table), "-n", str(total), "-M", "sainte-lague-modified",
                                    "--weight-column", "votes", "-o", str(tmp_path / "o")])
    assert run.exit_code == 0, run.output
    with (tmp_path / "o" / "apportionment.csv").open(encoding="utf-8") as stream:
        written = {row["area"]: int(row["posts"]) for row in csv.DictReader(stream)}
    assert written == {row["area"]: int(row["seats"]) for row in rows}


def test_norway_2021_needs_the_first_divisor() -> None:
    """Plain Sainte-Laguë misses the published seats in 10 of the 19 constituencies."""
    differ = 0
    for rows in _constituencies().values():
        published = [int(row["seats"]) for row in rows]
        plain = apportion([row["area"] for row in rows], [int(row["votes"]) for row in rows], sum(published),
                          "webster").posts
        differ += plain != published
    assert differ == 10
