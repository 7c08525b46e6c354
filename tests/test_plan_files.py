"""plan.csv and plan.json, written by polars from the plan's columns, hold exactly the plan's rows.

plan.csv is pinned to what Python's csv module writes for the same rows,
with one deliberate difference: a field holding a carriage return is quoted
(Python 3.11's csv leaves it bare with ``\\n`` line ends, and readers then
split the row). plan.json's rows equal the rows field by field.
"""

from __future__ import annotations

import csv
import io
import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.results.plan import Plan, PlanRow, PlanTable
from allocator.writers.plan import PLAN_COLUMNS, plan_csv, plan_json
from allocator.io.tables import unneutralised
from allocator.writers.text import csv_text, format_number, neutralised

#: Strings that CSV must quote, or that JSON must escape, among plain ones.
awkward_text = st.one_of(
    st.sampled_from(["=1+1", "=cmd|' /C calc'!A0", "+45", "-x", "@SUM(1)", "'quoted", "'=x", "\tlead",
                     "a", "Region Hovedstaden", "a,b", 'say "x"', "two\nlines", "cr\rhere", "Ærø Syd", "%s %d",
                     "tab\there", "back\\slash", "\u2028", " lead", "trail "]),
    st.text(min_size=1, max_size=8),
)


def _plan(rows: list[PlanRow]) -> Plan:
    return Plan(instance="t", model="m", unit=0.5, objective=math.pi, rows=rows, metadata={"solver": "flow"})


def _consistent(rows: list[PlanRow]) -> list[PlanRow]:
    """Rows as a plan has them: one name, region, designation and need index per area."""
    first = {row.area: row for row in reversed(rows)}
    return [row._replace(area_name=first[row.area].area_name, region=first[row.area].region,
                         underserved=first[row.area].underserved, need_index=first[row.area].need_index)
            for row in rows]


plan_rows = st.lists(st.builds(
    PlanRow, area=awkward_text, area_name=awkward_text, region=awkward_text, specialty=awkward_text,
    posts=st.integers(0, 40).map(lambda n: n / 2), target=st.floats(0, 100), previous=st.none() | st.floats(0, 40),
    min=st.none() | st.integers(0, 5).map(float), max=st.none() | st.integers(5, 40).map(float),
    binding=st.lists(st.sampled_from(["min", "max", "max_change", "max A-1 (all specialties)"]), max_size=2).map(tuple),
    underserved=st.booleans(), need_index=st.floats(0, 5)), max_size=12).map(_consistent)


@settings(max_examples=100, deadline=None)
@given(plan_rows)
def test_plan_files_hold_every_row_exactly(rows: list[PlanRow]) -> None:
    plan = _plan(rows)
    records = [dict(zip(PLAN_COLUMNS, (row.area, row.area_name, row.region, row.specialty, row.posts, row.target,
                                       row.previous, row.change, row.min, row.max, list(row.binding), row.underserved,
                                       row.need_index))) for row in rows]
    text = plan_json(plan).decode("utf-8")
    assert json.loads(text)["rows"] == records
    if rows:  # one row per line
        assert text.count("\n    {") == len(rows)
    expected = io.StringIO()
    writer = csv.writer(expected, lineterminator="\n")
    writer.writerow(PLAN_COLUMNS)
    writer.writerows([*map(neutralised, (r.area, r.area_name, r.region, r.specialty)), format_number(r.posts),
                      f"{r.target:.4f}",
                      format_number(r.previous), format_number(r.change), format_number(r.min), format_number(r.max),
                      "; ".join(r.binding), "yes" if r.underserved else "no", f"{r.need_index:.6f}"] for r in rows)
    if not any("\r" in "".join((r.area, r.area_name, r.region, r.specialty)) for r in rows):
        assert plan_csv(plan) == expected.getvalue()
    parsed = list(csv.reader(io.StringIO(plan_csv(plan), newline="")))
    # Every name reads back intact once the neutralising quote is taken off, as our CSV reader does.
    assert [[unneutralised(cell) for cell in line[:4]] for line in parsed[1:]] == \
        [[r.area, r.area_name, r.region, r.specialty] for r in rows]


def test_a_carriage_return_is_quoted_so_the_row_stays_whole() -> None:
    """Regression: Python 3.11's csv left 'Site\\ronto' bare with "\\n" line ends; readers split the row."""
    text = csv_text(["area", "posts"], [["Site\ronto", "Other"], ["3", ""]])
    assert text == 'area,posts\n"Site\ronto",3\nOther,\n'
    assert list(csv.reader(io.StringIO(text, newline=""))) == [["area", "posts"], ["Site\ronto", "3"], ["Other", ""]]


def test_an_empty_field_stays_bare_and_numbers_spell_as_before() -> None:
    assert csv_text(["a", "b"], [["", "x,y"], ["1", ""]]) == 'a,b\n,1\n"x,y",\n'
    assert [format_number(v) for v in (12.0, 12.5, -0.0, None, float("nan"), 0.1 + 0.2)] == \
        ["12", "12.5", "0", "", "", "0.3"]


def test_columns_and_rows_are_the_same_plan() -> None:
    rows = _consistent([PlanRow("b", "B", "R", "s1", 1.5, 1.2, None, 0.0, None, ("min",), True, 1.1),
                        PlanRow("a", "A", "R", "s2", 0.0, 0.4, 2.0, None, 3.0, (), False, 0.9),
                        PlanRow("b", "B", "R", "s2", 2.0, 2.1, 2.0, None, None, ("max", "max_change"), True, 1.1)])
    table = PlanTable.from_rows(rows)
    assert table.rows() == rows
    assert [table.row(k) for k in range(len(rows))] == rows
    assert _plan(rows).posts() == {("b", "s1"): 1.5, ("a", "s2"): 0.0, ("b", "s2"): 2.0}
