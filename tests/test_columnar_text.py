"""The column-by-column JSON and CSV text equals what json and csv write for the same rows."""

from __future__ import annotations

import csv
import io
import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.columnar_text import (
    csv_fields,
    csv_lines,
    csv_table,
    encode_numbers,
    encode_repeated,
    encode_rows,
    encode_runs,
)
from allocator.results.plan import Plan, PlanRow
from allocator.writers.plan import PLAN_COLUMNS, plan_csv, plan_json
from allocator.writers.text import format_number

#: Strings that csv must quote, or that json must escape, among plain ones.
awkward_text = st.one_of(
    st.sampled_from(["", "a", "Region Hovedstaden", "a,b", 'say "x"', "two\nlines", "cr\rhere", "Ærø Syd", "%s %d",
                     "tab\there", "back\\slash", "\u2028", " lead", "trail "]),
    st.text(max_size=8),
)
numbers = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0, 1.0, 1e16, 1e300, 0.1]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(numbers, max_size=30))
def test_numbers_spell_as_json_does(values: list) -> None:
    assert encode_numbers(values) == [json.dumps(value) for value in values]
    assert encode_runs(values) == [json.dumps(value) for value in values]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=30))
def test_finite_floats_take_the_fast_path_to_the_same_text(values: list[float]) -> None:
    assert encode_numbers(values) == [json.dumps(value) for value in values]


def test_a_run_of_one_object_is_encoded_once_but_equal_objects_keep_their_own_spelling() -> None:
    index = 0.123456789
    assert encode_runs([index, index, index, 2.5]) == ["0.123456789"] * 3 + ["2.5"]
    # Equal by ==, spelled differently by json: identity keeps them apart.
    assert encode_runs([0.0, -0.0, 1, True]) == ["0.0", "-0.0", "1", "true"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(awkward_text, st.lists(awkward_text, max_size=3).map(tuple), st.booleans(), numbers),
                max_size=20))
def test_rows_equal_json_dumps_of_the_records(rows: list) -> None:
    keys = ["name", "labels", "flag", "value"]
    records = [dict(zip(keys, (name, list(labels), flag, value))) for name, labels, flag, value in rows]
    names, labels, flags, values = zip(*rows) if rows else ((), (), (), ())
    columns = [encode_repeated(names), encode_repeated(labels), encode_repeated(flags), encode_numbers(values)]
    expected = json.dumps(records, ensure_ascii=False)[1:-1]
    assert encode_rows(keys, columns) == expected


def test_keys_with_percent_signs_and_quotes_are_encoded_as_keys() -> None:
    keys = ['a "b"', "100%", "%s"]
    assert encode_rows(keys, [['"x"'], ["1"], ["null"]]) == json.dumps([{'a "b"': "x", "100%": 1, "%s": None}])[1:-1]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(awkward_text, awkward_text, st.integers(0, 99)), max_size=20))
def test_csv_lines_equal_csv_writer_and_read_back(rows: list) -> None:
    first, second, count = zip(*rows) if rows else ((), (), ())
    text = csv_lines([csv_fields(first), csv_fields(second), [str(n) for n in count]])
    assert list(csv.reader(io.StringIO(text, newline=""))) == [[a, b, str(n)] for a, b, n in rows]
    if not any("\r" in a or "\r" in b for a, b, _ in rows):
        expected = io.StringIO()
        csv.writer(expected, lineterminator="\n").writerows(rows)
        assert text == expected.getvalue()


def test_a_carriage_return_is_quoted_so_the_row_stays_whole() -> None:
    """Regression: Python 3.11's csv left 'Site\\ronto' bare with "\\n" line ends; readers split the row."""
    assert csv_fields(["Site\ronto", "plain"]) == ['"Site\ronto"', "plain"]
    text = csv_table([("area", "posts"), ("Site\ronto", 3), ("Other", None)])
    assert list(csv.reader(io.StringIO(text, newline=""))) == [["area", "posts"], ["Site\ronto", "3"], ["Other", ""]]


def test_an_empty_field_stays_bare_beside_others() -> None:
    # csv quotes a lone empty field ('""'), never one beside others.
    assert csv_fields(["", "a,b"]) == ["", '"a,b"']
    assert csv_lines([csv_fields([""]), ["1"]]) == ",1\n"


def _plan(rows: list[PlanRow]) -> Plan:
    return Plan(instance="t", model="m", unit=0.5, objective=math.pi, rows=rows, metadata={"solver": "flow"})


@settings(max_examples=100, deadline=None)
@given(st.lists(st.builds(
    PlanRow, area=awkward_text, area_name=awkward_text, region=awkward_text, specialty=awkward_text,
    posts=st.integers(0, 40).map(lambda n: n / 2), target=st.floats(0, 100), previous=st.none() | st.floats(0, 40),
    min=st.none() | st.integers(0, 5).map(float), max=st.none() | st.integers(5, 40).map(float),
    binding=st.lists(st.sampled_from(["min", "max", "max_change", "max A-1 (all specialties)"]), max_size=2).map(tuple),
    underserved=st.booleans(), need_index=st.floats(0, 5)), max_size=12))
def test_plan_files_equal_the_record_by_record_encoding(rows: list[PlanRow]) -> None:
    plan = _plan(rows)
    records = [dict(zip(PLAN_COLUMNS, (row.area, row.area_name, row.region, row.specialty, row.posts, row.target,
                                       row.previous, row.change, row.min, row.max, list(row.binding), row.underserved,
                                       row.need_index))) for row in rows]
    document = json.loads(plan_json(plan))
    assert document["rows"] == records
    expected_rows = ",\n    ".join(json.dumps(record, ensure_ascii=False) for record in records)
    assert (expected_rows in plan_json(plan)) if rows else document["rows"] == []
    # The same table through csv.writer, field by field (a name with "\r" is quoted only by us: see above).
    expected = io.StringIO()
    writer = csv.writer(expected, lineterminator="\n")
    writer.writerow(PLAN_COLUMNS)
    writer.writerows([r.area, r.area_name, r.region, r.specialty, format_number(r.posts), f"{r.target:.4f}",
                      format_number(r.previous), format_number(r.change), format_number(r.min), format_number(r.max),
                      "; ".join(r.binding), "yes" if r.underserved else "no", f"{r.need_index:.6f}"] for r in rows)
    if not any("\r" in "".join((r.area, r.area_name, r.region, r.specialty)) for r in rows):
        assert plan_csv(plan) == expected.getvalue()
    parsed = list(csv.reader(io.StringIO(plan_csv(plan), newline="")))
    assert [line[:4] for line in parsed[1:]] == [[r.area, r.area_name, r.region, r.specialty] for r in rows]
