"""The biproportional divisor method: official Zürich allocations seat for seat, and its defining properties."""

from __future__ import annotations

import csv
import json
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.apportion import apportion, signpost
from allocator.apportion.biproportional import BIPROPORTIONAL_METHODS, biproportional
from allocator.cli import main
from allocator.errors import InfeasibleError

from tests.conftest import DATA

ZH = DATA / "apportionment"


@pytest.mark.parametrize("year", [2011, 2015, 2019])
def test_zurich_kantonsrat_seat_for_seat(year: int, tmp_path: Path) -> None:
    """The official Kantonsrat allocation of canton Zürich: 18 districts x the parties, every cell (README.md)."""
    base = ZH / f"zh-kantonsrat-{year}"
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["biproportional", f"{base}.csv", "--row-column", "district", "--column-column",
                                    "party", "--weight-column", "votes", "--row-totals", f"{base}-districts.csv",
                                    "--column-totals", f"{base}-parties.csv", "--out", str(out)])
    assert run.exit_code == 0, run.output
    with open(f"{base}.csv", encoding="utf-8") as stream:
        published = {(r["district"], r["party"]): int(r["seats"]) for r in csv.DictReader(stream)}
    with (out / "biproportional.csv").open(encoding="utf-8") as stream:
        written = {(r["row"], r["column"]): int(r["seats"]) for r in csv.DictReader(stream)}
    assert written == published
    document = json.loads((out / "biproportional.json").read_text(encoding="utf-8"))
    assert document["ties"] == [] and len(document["rows"]) == 18
    # Every cell is the standard rounding of votes / district divisor x party multiplier, as the JSON says.
    divisor = {r["row"]: Fraction(r["multiplier_exact"]) for r in document["rows"]}
    multiplier = {c["column"]: Fraction(c["multiplier_exact"]) for c in document["columns"]}
    with open(f"{base}.csv", encoding="utf-8") as stream:
        for r in csv.DictReader(stream):
            q = int(r["votes"]) * divisor[r["district"]] * multiplier[r["party"]]
            seats = published[(r["district"], r["party"])]
            assert (seats == 0 or q >= seats - Fraction(1, 2)) and q <= seats + Fraction(1, 2)


def _cells(path: Path, row: str, column: str) -> dict[tuple[str, str], int]:
    with open(path, encoding="utf-8") as stream:
        return {(r[row], r[column]): int(r["seats"]) for r in csv.DictReader(stream)}


@pytest.mark.parametrize("year", [2011, 2015, 2019])
def test_zurich_from_the_votes_alone(year: int, tmp_path: Path) -> None:
    """Party seats too: upper apportionment of 180 seats from the voters (votes / district seats), 5% in one district."""
    base = ZH / f"zh-kantonsrat-{year}"
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["biproportional", f"{base}.csv", "--row-column", "district", "--column-column",
                                    "party", "--weight-column", "votes", "--row-totals", f"{base}-districts.csv",
                                    "--total", "180", "--per-seat", "--row-threshold", "0.05", "--out", str(out)])
    assert run.exit_code == 0, run.output
    written = {(r["row"], r["column"]): int(r["seats"])
               for r in csv.DictReader((out / "biproportional.csv").open(encoding="utf-8"))}
    assert written == _cells(Path(f"{base}.csv"), "district", "party")


@pytest.mark.parametrize("upper", [False, True])
def test_zug_kantonsrat_2018(upper: bool, tmp_path: Path) -> None:
    """Zug 2018: 80 seats, 11 municipalities, 7 lists, quorum 5% in one municipality or 3% overall, winner-take-one.

    With ``upper`` the list seats come from the votes (--total 80 --per-seat), else from the published list seats.
    AuBü reaches neither quorum and is excluded.
    """
    base = ZH / "zg-kantonsrat-2018"
    totals = ["--total", "80", "--per-seat"] if upper else ["--column-totals", f"{base}-lists.csv"]
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["biproportional", f"{base}.csv", "--row-column", "district", "--column-column",
                                    "list", "--weight-column", "votes", "--row-totals", f"{base}-districts.csv",
                                    *totals, "--winner-take-one", "--threshold", "0.03", "--row-threshold", "0.05",
                                    "--out", str(out)])
    assert run.exit_code == 0, run.output
    published = _cells(Path(f"{base}.csv"), "district", "list")
    written = {(r["row"], r["column"]): int(r["seats"])
               for r in csv.DictReader((out / "biproportional.csv").open(encoding="utf-8"))}
    # The long table lists only the lists that ran in a municipality; the others get no seat there.
    assert {key: seats for key, seats in written.items() if key in published} == published
    assert all(seats == 0 for key, seats in written.items() if key not in published)
    document = json.loads((out / "biproportional.json").read_text(encoding="utf-8"))
    assert [e["column"] for e in document["excluded_columns"]] == ["AuBü"]
    assert len(document["winner_take_one"]) == 11


def test_graubuenden_2022_with_winner_take_one(tmp_path: Path) -> None:
    """Graubünden 2022: 120 seats, 39 districts, 3% quorum, winner-take-one (it changes 10 cells here), from the votes.

    In Rheinwald two lists tie for the most votes, so winner-take-one is not applied there (as in the source).
    """
    base = ZH / "gr-grossrat-2022"
    run = CliRunner().invoke(main, ["biproportional", f"{base}.csv", "--row-column", "district", "--column-column",
                                    "party", "--weight-column", "votes", "--row-totals", f"{base}-districts.csv",
                                    "--total", "120", "--per-seat", "--winner-take-one", "--threshold", "0.03",
                                    "--out", str(tmp_path / "out")])
    assert run.exit_code == 0, run.output
    written = {(r["row"], r["column"]): int(r["seats"])
               for r in csv.DictReader((tmp_path / "out" / "biproportional.csv").open(encoding="utf-8"))}
    assert written == _cells(Path(f"{base}.csv"), "district", "party")
    assert "row 'Rheinwald': columns FDP, SP&Grüne tie for the most weight and the row has 1 seat(s)" in run.output


def test_aargau_2020_from_voters(tmp_path: Path) -> None:
    """Aargau 2020: 140 seats, 11 districts, voters (Wählerzahlen) given, quorum 5% in one district or 3% overall."""
    base = ZH / "ag-grossrat-2020"
    run = CliRunner().invoke(main, ["biproportional", f"{base}.csv", "--row-column", "district", "--column-column",
                                    "party", "--weight-column", "voters", "--row-totals", f"{base}-districts.csv",
                                    "--total", "140", "--threshold", "0.03", "--row-threshold", "0.05",
                                    "--out", str(tmp_path / "out")])
    assert run.exit_code == 0, run.output
    written = {(r["row"], r["column"]): int(r["seats"])
               for r in csv.DictReader((tmp_path / "out" / "biproportional.csv").open(encoding="utf-8"))}
    published = _cells(Path(f"{base}.csv"), "district", "party")
    assert {key: seats for key, seats in written.items() if key in published} == published
    assert all(seats == 0 for key, seats in written.items() if key not in published)


def test_upper_apportionment_and_thresholds(tmp_path: Path) -> None:
    """--total apportions the party totals from the vote sums of the parties that pass --threshold."""
    base = ZH / "zh-kantonsrat-2019"
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["biproportional", f"{base}.csv", "--row-column", "district", "--column-column",
                                    "party", "--weight-column", "votes", "--row-totals", f"{base}-districts.csv",
                                    "--total", "180", "--threshold", "0.05",
                                    "--out", str(out)])
    assert run.exit_code == 0, run.output
    document = json.loads((out / "biproportional.json").read_text(encoding="utf-8"))
    assert "columns" in document["upper_apportionment"]
    totals = {c["column"]: c["total"] for c in document["columns"]}
    assert sum(totals.values()) == 180
    excluded = {e["column"] for e in document["excluded_columns"]}
    assert excluded == {"CVP", "EVL", "AL", "EDU"} and all(totals[c] == 0 for c in excluded)
    # 5% in one district keeps a party in: with --row-threshold as well, none of them is excluded here.
    from allocator.apportion.biproportional import column_thresholds

    with open(f"{base}.csv", encoding="utf-8") as stream:
        records = list(csv.DictReader(stream))
    parties = list(dict.fromkeys(r["party"] for r in records))
    districts = list(dict.fromkeys(r["district"] for r in records))
    votes = {(r["district"], r["party"]): Fraction(r["votes"]) for r in records}
    matrix = [[votes[(d, p)] for p in parties] for d in districts]
    assert column_thresholds(parties, matrix, Fraction(5, 100), None).keys() == excluded
    assert column_thresholds(parties, matrix, Fraction(5, 100), Fraction(5, 100)) == {}


def test_infeasible_totals_exit_3_naming_them(tmp_path: Path) -> None:
    """A column whose only weight sits in a row too small for it: exit 3, the message names the column."""
    weights = tmp_path / "w.csv"
    weights.write_text("row,column,weight\nA,x,10\nA,y,10\nB,y,10\n", encoding="utf-8")
    rows = tmp_path / "r.csv"
    rows.write_text("row,total\nA,1\nB,3\n", encoding="utf-8")
    columns = tmp_path / "c.csv"
    columns.write_text("column,total\nx,2\ny,2\n", encoding="utf-8")
    run = CliRunner().invoke(main, ["biproportional", str(weights), "--row-totals", str(rows), "--column-totals",
                                    str(columns), "-o", str(tmp_path / "o")])
    assert run.exit_code == 3 and "column(s) x cannot reach" in run.output and not (tmp_path / "o").exists()
    columns.write_text("column,total\nx,2\ny,3\n", encoding="utf-8")
    run = CliRunner().invoke(main, ["biproportional", str(weights), "--row-totals", str(rows), "--column-totals",
                                    str(columns), "-o", str(tmp_path / "o")])
    assert run.exit_code == 3 and "row totals add up to 4 but the column totals to 5" in run.output
    columns.write_text("column,total\nx,2\nz,2\n", encoding="utf-8")
    run = CliRunner().invoke(main, ["biproportional", str(weights), "--row-totals", str(rows), "--column-totals",
                                    str(columns), "-o", str(tmp_path / "o")])
    assert run.exit_code == 2 and "c.csv, line 3, field 'column'" in run.output
    run = CliRunner().invoke(main, ["biproportional", str(weights), "-o", str(tmp_path / "o")])
    assert run.exit_code == 2 and "totals are missing" in run.output
    run = CliRunner().invoke(main, ["biproportional", str(weights), "--total", "4", "--per-seat", "-o",
                                    str(tmp_path / "o")])
    assert run.exit_code == 2 and "--per-seat divides by the row totals, which are not given" in run.output


def test_winner_take_one_and_ties() -> None:
    """The strongest party of each row gets a seat; a symmetric matrix reports its tie."""
    plain = biproportional(["d1", "d2"], ["big", "small"], [[100, 90], [1000, 10]], [1, 3], [3, 1])
    assert plain.seats == [[0, 1], [3, 0]]  # 'big' is strongest in d1 but gets its seats in d2
    floor = biproportional(["d1", "d2"], ["big", "small"], [[100, 90], [1000, 10]], [1, 3], [3, 1],
                           winner_take_one=True)
    assert floor.seats == [[1, 0], [2, 1]] and floor.minimum == [[1, 0], [1, 0]]
    both = biproportional(["d1", "d2"], ["x", "y", "z"], [[5, 5, 1], [1, 1, 9]], [2, 2], [1, 1, 2],
                          winner_take_one=True)
    assert both.minimum[0] == [1, 1, 0] and both.seats[0] == [1, 1, 0] and not both.notes
    tied = biproportional(["a", "b"], ["x", "y"], [[1, 1], [1, 1]], [1, 1], [1, 1])
    assert tied.ties and {cell["could"] for cell in tied.ties[0]} == {"gain", "lose"}


def _matrices(draw: st.DrawFn, positive: bool) -> tuple[list[list[int]], list[int], list[int]]:
    n_rows, n_cols = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    weights = [[draw(st.integers(1, 1000)) for _ in range(n_cols)] for _ in range(n_rows)]
    # Totals from a random whole matrix (at least 1 per cell under adams and huntington-hill): always feasible.
    seats = [[draw(st.integers(1 if positive else 0, 6)) for _ in range(n_cols)] for _ in range(n_rows)]
    return weights, [sum(row) for row in seats], [sum(col) for col in zip(*seats)]


@st.composite
def _cases(draw: st.DrawFn) -> tuple[str, list[list[int]], list[int], list[int]]:
    method = draw(st.sampled_from(BIPROPORTIONAL_METHODS))
    weights, r, c = _matrices(draw, method in ("adams", "huntington-hill"))
    return method, weights, r, c


@settings(max_examples=120, deadline=None)
@given(case=_cases(), data=st.data())
def test_biproportional_properties(case: tuple[str, list[list[int]], list[int], list[int]],
                                   data: st.DataObject) -> None:
    """Sums met; each cell rounds weight x row multiplier x column multiplier; order does not matter."""
    method, weights, r, c = case
    rows, cols = [f"r{i}" for i in range(len(r))], [f"c{j}" for j in range(len(c))]
    result = biproportional(rows, cols, weights, r, c, method)
    assert [sum(row) for row in result.seats] == r
    assert [sum(col) for col in zip(*result.seats)] == c
    power = 2 if method == "huntington-hill" else 1
    for i in range(len(r)):
        for j in range(len(c)):
            q = Fraction(weights[i][j]) ** power * result.row_multipliers[i] * result.column_multipliers[j]
            x = result.seats[i][j]
            assert q <= signpost(method, x) and (x == 0 or signpost(method, x - 1) <= q)
    row_perm = data.draw(st.permutations(range(len(r))))
    col_perm = data.draw(st.permutations(range(len(c))))
    shuffled = biproportional([rows[i] for i in row_perm], [cols[j] for j in col_perm],
                              [[weights[i][j] for j in col_perm] for i in row_perm], [r[i] for i in row_perm],
                              [c[j] for j in col_perm], method)
    assert [[shuffled.seats[a][b] for b in range(len(c))] for a in range(len(r))] == \
        [[result.seats[i][j] for j in col_perm] for i in row_perm]


@settings(max_examples=80, deadline=None)
@given(weights=st.lists(st.integers(1, 10**5), min_size=1, max_size=6), total=st.integers(0, 40),
       method=st.sampled_from(("webster", "jefferson")))
def test_one_row_is_the_single_apportionment(weights: list[int], total: int, method: str) -> None:
    """With one row, the column totals from the single apportionment come back cell for cell."""
    cols = [f"c{j}" for j in range(len(weights))]
    single = apportion(cols, weights, total, method)
    result = biproportional(["only"], cols, [weights], [total], single.posts, method)
    assert result.seats == [single.posts]


def test_one_row_with_other_column_totals_is_infeasible_or_equal() -> None:
    """One row: totals other than the single apportionment's can still be met (the column multipliers absorb
    them), but the row divisor then says nothing; with the single apportionment's totals the multipliers are 1."""
    result = biproportional(["only"], ["a", "b"], [[3, 1]], [4], [3, 1])
    assert result.seats == [[3, 1]]
    with pytest.raises(InfeasibleError):
        biproportional(["only"], ["a", "b"], [[3, 0]], [4], [3, 1])


def test_a_tie_in_the_upper_apportionment_is_reported(tmp_path: Path) -> None:
    """Two columns of equal weight and an odd total: the upper apportionment's tie is in the JSON and on stderr."""
    weights = tmp_path / "w.csv"
    weights.write_text("row,column,weight\nA,x,10\nA,y,10\nB,x,10\nB,y,10\n", encoding="utf-8")
    rows = tmp_path / "r.csv"
    rows.write_text("row,total\nA,2\nB,1\n", encoding="utf-8")
    run = CliRunner().invoke(main, ["biproportional", str(weights), "--row-totals", str(rows), "--total", "3",
                                    "-o", str(tmp_path / "o")])
    assert run.exit_code == 0, run.output
    document = json.loads((tmp_path / "o" / "biproportional.json").read_text(encoding="utf-8"))
    assert document["upper_apportionment"]["column_ties"] and "tie in the upper apportionment" in run.output


def test_a_cell_twice_and_a_column_without_weight(tmp_path: Path) -> None:
    """The loader names the line of a repeated cell; a column total with no weight anywhere exits 3."""
    weights = tmp_path / "W.csv"
    weights.write_text("row,column,weight\nA,x,1\nA,x,2\n", encoding="utf-8")
    run = CliRunner().invoke(main, ["biproportional", str(weights), "--total", "1", "-o", str(tmp_path / "o")])
    assert run.exit_code == 2 and "W.csv, line 3, field 'column': the cell (A, x) appears twice (first on line 2)" \
        in run.output
    with pytest.raises(InfeasibleError, match="column 'x' has a total of 2 but no weight in any row"):
        biproportional(["A"], ["x", "y"], [[0, 5]], [2], [2, 0])


def test_xlsx_weights_and_totals(tmp_path: Path) -> None:
    """The long table and the totals may be XLSX sheets; the result equals the CSV run."""
    from openpyxl import Workbook

    base = ZH / "zh-kantonsrat-2019"
    book = Workbook()
    sheet = book.active
    with open(f"{base}.csv", encoding="utf-8") as stream:
        for k, record in enumerate(csv.reader(stream)):
            sheet.append(record if k == 0 else [record[0], record[1], int(record[2]), int(record[3])])
    book.save(tmp_path / "w.xlsx")
    for name in ("districts", "parties"):
        book = Workbook()
        with open(f"{base}-{name}.csv", encoding="utf-8") as stream:
            for k, record in enumerate(csv.reader(stream)):
                book.active.append(record if k == 0 else [record[0], int(record[1])])
        book.save(tmp_path / f"{name}.xlsx")
    run = CliRunner().invoke(main, ["biproportional", str(tmp_path / "w.xlsx"), "--row-column", "district",
                                    "--column-column", "party", "--weight-column", "votes", "--row-totals",
                                    str(tmp_path / "districts.xlsx"), "--column-totals",
                                    str(tmp_path / "parties.xlsx"), "--out", str(tmp_path / "out")])
    assert run.exit_code == 0, run.output
    written = {(r["row"], r["column"]): int(r["seats"])
               for r in csv.DictReader((tmp_path / "out" / "biproportional.csv").open(encoding="utf-8"))}
    assert written == _cells(Path(f"{base}.csv"), "district", "party")


def test_per_seat_with_given_column_totals_is_refused_and_fractions_accepted(tmp_path: Path) -> None:
    """--per-seat acts only on the upper apportionment; a threshold may be written as a fraction."""
    base = ZH / "zh-kantonsrat-2019"
    common = ["biproportional", f"{base}.csv", "--row-column", "district", "--column-column", "party",
              "--weight-column", "votes", "--row-totals", f"{base}-districts.csv"]
    run = CliRunner().invoke(main, [*common, "--column-totals", f"{base}-parties.csv", "--per-seat", "-o",
                                    str(tmp_path / "a")])
    assert run.exit_code == 2 and "--per-seat changes only the upper apportionment" in run.output
    run = CliRunner().invoke(main, [*common, "--total", "180", "--per-seat", "--row-threshold", "1/20", "-o",
                                    str(tmp_path / "b")])
    assert run.exit_code == 0, run.output
    document = json.loads((tmp_path / "b" / "biproportional.json").read_text(encoding="utf-8"))
    assert document["row_threshold"] == 0.05


def test_a_total_above_the_limit_is_refused(tmp_path: Path) -> None:
    """More than MAX_SEATS seats: exit 2 before any work, nothing written."""
    from allocator.apportion.biproportional import MAX_SEATS

    weights = tmp_path / "w.csv"
    weights.write_text("row,column,weight\nA,x,1\nA,y,1\nB,x,1\nB,y,1\n", encoding="utf-8")
    run = CliRunner().invoke(main, ["biproportional", str(weights), "--total", str(MAX_SEATS + 1), "-o",
                                    str(tmp_path / "o")])
    assert run.exit_code == 2 and "is above the limit of 1,000,000" in run.output
    assert not (tmp_path / "o").exists()
