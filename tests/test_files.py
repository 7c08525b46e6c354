"""Reading tables: Danish CSV, Windows-1252, XLSX, inline rows, and numbers in every notation."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from allocator.errors import InputError
from allocator.io.cells import CellError, parse_flag, parse_number
from allocator.io.loading import load_instance
from allocator.results.solve import solve
from allocator.io.schemas import DEFAULT_MODEL
from tests.conftest import DK_INSTANCE


@pytest.mark.parametrize(("text", "decimal_comma", "expected"), [
    ("1.835.562", True, 1835562), ("924,5", True, 924.5), ("1.835.562,25", True, 1835562.25),
    ("12.5", False, 12.5), ("1,835,562", False, 1835562), ("  350 ", None, 350), ("924,5", None, 924.5),
    ("1 835 562", True, 1835562), ("", True, None), ("-3", False, -3), ("1e3", False, 1000.0),
])
def test_parse_number(text: str, decimal_comma: bool | None, expected: float | None) -> None:
    assert parse_number(text, decimal_comma=decimal_comma) == expected


@pytest.mark.parametrize("text", ["abc", "nan", "inf", "1,2,3", "12-3", "--1"])
def test_parse_number_rejects(text: str) -> None:
    with pytest.raises(CellError):
        parse_number(text, decimal_comma=False)


def test_parse_flag() -> None:
    assert parse_flag("ja") and parse_flag("X") and parse_flag("true") and not parse_flag("nej")
    assert not parse_flag(None) and not parse_flag("")
    with pytest.raises(CellError):
        parse_flag("maybe")


def test_danish_instance_reads_danish_spreadsheet() -> None:
    instance = load_instance(DK_INSTANCE).value
    hovedstaden = instance.area_by_id["Hovedstaden"]
    assert hovedstaden.population == 1835562
    assert hovedstaden.indicators == {"gps": 1033, "inhabitants_per_gp": 1776.9, "closed_practice_share": 77.0}
    assert instance.area_by_id["Sjælland"].underserved is True
    assert instance.area_by_id["Øst"].population is None
    assert sum(instance.area_by_id[leaf].population for leaf in instance.leaves) == 5806081


def _write_instance(folder: Path, areas_ref: str) -> Path:
    path = folder / "instance.yaml"
    path.write_text(f"name: t\nspecialties:\n  - {{id: gp, total: 10}}\nareas: {areas_ref}\n", encoding="utf-8")
    return path


def test_windows_1252_semicolon_csv(tmp_path: Path) -> None:
    (tmp_path / "areas.csv").write_bytes("id;navn;population\nSjælland;x;836.738\nØst;y;1.000,0\n"
                                         .replace("navn", "name").encode("cp1252"))
    instance = load_instance(_write_instance(tmp_path, "areas.csv")).value
    assert instance.area_by_id["Sjælland"].population == 836738
    assert instance.area_by_id["Øst"].population == 1000


def test_utf8_bom_csv(tmp_path: Path) -> None:
    (tmp_path / "areas.csv").write_bytes("\ufeffid,population\na,10\nb,30\n".encode("utf-8"))
    instance = load_instance(_write_instance(tmp_path, "areas.csv")).value
    assert instance.leaves == ["a", "b"]


def test_xlsx_table_with_sheet(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "ignore"
    sheet = book.create_sheet("Områder")
    sheet.append(["id", "parent", "population", "underserved", "per_gp"])
    sheet.append(["R", None, None, None, None])
    sheet.append([101, "R", 1200, "ja", 1800.5])
    sheet.append([102, "R", 800, None, 1500])
    book.save(tmp_path / "areas.xlsx")
    instance = load_instance(_write_instance(tmp_path, "areas.xlsx#Områder")).value
    assert instance.leaves == ["101", "102"]
    assert instance.area_by_id["101"].underserved and instance.area_by_id["101"].indicators == {"per_gp": 1800.5}
    plan = solve(instance, DEFAULT_MODEL)
    assert {row.area: row.posts for row in plan.rows} == {"101": 6, "102": 4}


def test_xlsx_bad_cell_is_located(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["id", "population"])
    book.active.append(["a", "many"])
    book.save(tmp_path / "areas.xlsx")
    with pytest.raises(InputError) as caught:
        load_instance(_write_instance(tmp_path, "areas.xlsx"))
    assert "areas.xlsx, sheet 'Sheet' row 2, field 'population'" in str(caught.value)


def test_csv_with_extra_cells_is_located(tmp_path: Path) -> None:
    (tmp_path / "areas.csv").write_text("id,population\na,1,5\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2"):
        load_instance(_write_instance(tmp_path, "areas.csv"))


def test_half_posts(tmp_path: Path) -> None:
    path = tmp_path / "instance.yaml"
    path.write_text("name: halves\nunit: 0.5\nspecialties:\n  - {id: gp, total: 10.5}\nareas:\n"
                    "  - {id: a, population: 1}\n  - {id: b, population: 1}\n  - {id: c, population: 1}\n",
                    encoding="utf-8")
    plan = solve(load_instance(path).value, DEFAULT_MODEL)
    assert sorted(row.posts for row in plan.rows) == [3.5, 3.5, 3.5]


def test_yaml_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 10) + "]")
    lines.append("name: bomb")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="expands to more than"):
        load_instance(path)


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("name: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="nested"):
        load_instance(path)


def test_json_instance(tmp_path: Path) -> None:
    import json

    path = tmp_path / "instance.json"
    path.write_text(json.dumps({"name": "j", "specialties": [{"id": "gp", "total": 4}],
                                "areas": [{"id": "a", "population": 3}, {"id": "b", "population": 1}],
                                "bounds": [{"area": "b", "specialty": "gp", "min": 2}]}), encoding="utf-8")
    plan = solve(load_instance(path).value, DEFAULT_MODEL)
    assert plan.posts() == {("a", "gp"): 2, ("b", "gp"): 2}


def test_json_syntax_error_is_located(tmp_path: Path) -> None:
    path = tmp_path / "instance.json"
    path.write_text('{"name": "j",\n "specialties": [}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"instance.json, line 2, column \d+: not valid JSON"):
        load_instance(path)


def test_deep_block_nesting_is_refused_in_our_words(tmp_path: Path) -> None:
    """Regression: PyYAML 6.0.4's libyaml refuses deep documents with its own message; ours must win."""
    path = tmp_path / "deep_block.yaml"
    path.write_text("\n".join(" " * depth + f"k{depth}:" for depth in range(1200)) + " 1\n", encoding="utf-8")
    with pytest.raises(InputError, match="nested more than 200 levels"):
        load_instance(path)


def test_quoted_brackets_do_not_count_as_nesting(tmp_path: Path) -> None:
    path = tmp_path / "quoted.yaml"
    path.write_text("name: '" + "[" * 500 + "'\nspecialties: [}\n", encoding="utf-8")
    with pytest.raises(InputError, match="not valid YAML"):
        load_instance(path)
