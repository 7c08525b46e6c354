"""What we write is inert: no formula or link in plan.xlsx, no CSV injection, no escape codes on the terminal.

A plan.xlsx or plan.csv travels on to councils, whose spreadsheet program
would run a name such as ``=cmd|' /C calc'!A0`` as a formula.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from allocator.cli import main
from allocator.io.loading import load_instance
from allocator.io.tables import unneutralised

#: Names OWASP lists for CSV injection, links, and a quote that must survive the round trip.
HOSTILE_NAMES = ["=1+1", "=cmd|' /C calc'!A0", '=HYPERLINK("http://example.invalid","click")', "+45 1234",
                 "-2+3", "@SUM(1)", "http://example.invalid/x", "external:C:\\Windows\\calc.exe", "'quoted",
                 "plain"]


def _instance(folder: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "name", "parent", "population"])
    writer.writerow(["R", "Region", "", ""])
    writer.writerows([f"a{k}", name, "R", 1000 + k] for k, name in enumerate(names))
    (folder / "areas.csv").write_text(buffer.getvalue(), encoding="utf-8")
    (folder / "instance.yaml").write_text(
        'name: hostile\nspecialties: [{id: "=2+2", total: 30}]\nareas: areas.csv\n', encoding="utf-8")
    return folder / "instance.yaml"


def test_plan_xlsx_holds_no_formula_and_no_link(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["solve", str(_instance(tmp_path, HOSTILE_NAMES)), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out / "plan.xlsx")  # not read-only: hyperlinks are read only this way
    strings = set()
    for sheet in book.worksheets:
        assert not sheet._hyperlinks, sheet.title
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                assert cell.hyperlink is None, (sheet.title, cell.coordinate)
                if isinstance(cell.value, str):
                    strings.add(cell.value)
    assert set(HOSTILE_NAMES) | {"=2+2"} <= strings, "every name is kept as text, unchanged"


def test_plan_csv_is_neutralised_and_reads_back_intact(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert CliRunner().invoke(main, ["solve", str(_instance(tmp_path, HOSTILE_NAMES)), "-o", str(out),
                                     "-q", "--no-xlsx"]).exit_code == 0
    rows = list(csv.DictReader((out / "plan.csv").open(encoding="utf-8", newline="")))
    for row in rows:
        for column in ("area", "area_name", "region", "specialty", "binding"):
            assert not (row[column] or "x")[0] in "=+-@\t\r", (column, row[column])
    assert sorted(unneutralised(row["area_name"]) for row in rows) == sorted(HOSTILE_NAMES)
    assert {row["specialty"] for row in rows} == {"'=2+2"}
    assert "''quoted" in {row["area_name"] for row in rows}, "a leading quote is doubled, so the rule can be undone"
    assert all(float(row["posts"]) >= 0 for row in rows), "numbers stay numbers"
    # Our own reader takes the quote off: last year's plan.csv can be this year's 'previous' table.
    (tmp_path / "previous.csv").write_text("area,specialty,posts\n" + "".join(
        f"{row['area']},{row['specialty']},{row['posts']}\n" for row in rows), encoding="utf-8")
    with (tmp_path / "instance.yaml").open("a", encoding="utf-8") as stream:
        stream.write("previous: previous.csv\n")
    instance = load_instance(tmp_path / "instance.yaml").value
    assert {row.specialty for row in instance.previous} == {"=2+2"}


def test_comparison_and_apportionment_csv_are_neutralised(tmp_path: Path) -> None:
    instance = _instance(tmp_path / "in", HOSTILE_NAMES)
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(f"name: '=model-{name}'\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["compare", str(instance), "-m", str(tmp_path / "a.yaml"),
                                       "-m", str(tmp_path / "b.yaml"), "-o", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    header, *rows = list(csv.reader((tmp_path / "cmp" / "comparison.csv").open(encoding="utf-8", newline="")))
    assert "'=model-a" in header and not any(cell[:1] in "=+-@" for cell in header)
    assert {unneutralised(row[2]) for row in rows} == {"=2+2"}
    (tmp_path / "weights.csv").write_text("area,population\n=1+1,10\n@x,20\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["apportion", str(tmp_path / "weights.csv"), "-n", "3",
                                       "-o", str(tmp_path / "app")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "app" / "apportionment.csv").read_text(encoding="utf-8")
    assert "\n'=1+1," in text and "\n'@x," in text


def test_escape_codes_in_names_are_shown_escaped(tmp_path: Path) -> None:
    """Regression: a name holding ESC sequences (retitle the window, recolour) was echoed raw."""
    names = ["\x1b]0;owned\x07title", "\x1b[31mred", "left\u202eright", "plain"]
    result = CliRunner().invoke(main, ["solve", str(_instance(tmp_path, names)), "-o", str(tmp_path / "out"),
                                       "--no-xlsx"])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output and "\x07" not in result.output
    assert "\\x1b[31mred" in result.output and "left\\u202eright" in result.output
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "instance.yaml").write_text('name: x\nspecialties: [{id: gp, total: 1}]\nareas: [{id: a, population: 1}]\n'
                                       'bounds: [{area: "\\e[2Jgone", max: 1}]\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["solve", str(bad / "instance.yaml"), "-o", str(tmp_path / "o2")])
    assert result.exit_code == 2 and "\x1b" not in result.output and "\\x1b[2Jgone" in result.output
