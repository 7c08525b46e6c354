"""Hostile input files, made in code: spreadsheet bombs and lies, broken XML, formulas, odd ids.

Nothing here is stored as a file: the bomb alone would be a gigabyte unpacked.
Each builder writes a small instance into a folder and returns the command
line to run on it, (``--out`` inside the folder, see :data:`OUT`) so that docs/bad-input.md can
name a case (``hostile:NAME``) and ``tests/test_bad_input.py`` runs it like a
stored bad file.
"""

from __future__ import annotations

import functools
import io
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from openpyxl.utils import get_column_letter

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    '</Types>')
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Areas" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'sharedStrings" Target="sharedStrings.xml"/></Relationships>')
SHEET = "xl/worksheets/sheet1.xml"
#: The output folder of every case, inside the case's folder: nothing may appear there on exit code 2.
OUT = "out"
STRINGS = "xl/sharedStrings.xml"

#: A table a tiny instance can use: two leaves under one region, one of them under-served.
AREAS = [["id", "parent", "population", "underserved"], ["R", None, None, None], ["a", "R", 2000, None],
         ["b", "R", 1000, 1]]


def cell(column: int, row: int, value: Any, *, strings: list[str] | None = None) -> str:
    """One ``<c>`` element: a number, a shared or inline string, or a formula (text starting '=')."""
    ref = f"{get_column_letter(column)}{row}"
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith("="):
        return f'<c r="{ref}"><f>{escape(value[1:])}</f></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{value}</v></c>'
    if strings is not None:
        strings.append(value)
        return f'<c r="{ref}" t="s"><v>{len(strings) - 1}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'


def sheet_xml(rows: Iterable[Iterable[Any]], *, dimension: str | None = None, prolog: str = "",
              strings: list[str] | None = None, first_row: int = 1) -> str:
    """A worksheet part holding ``rows`` from ``first_row`` on, with any ``<dimension>`` claim."""
    body = "".join(
        f'<row r="{number}">' + "".join(cell(column, number, value, strings=strings)
                                       for column, value in enumerate(values, start=1)) + "</row>"
        for number, values in enumerate(rows, start=first_row))
    claim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{prolog}'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f"{claim}<sheetData>{body}</sheetData></worksheet>")


def strings_xml(strings: list[str]) -> str:
    """A shared-strings part."""
    items = "".join(f"<si><t>{escape(text)}</t></si>" for text in strings)
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>')


def workbook(sheet: str | bytes, *, strings: list[str] | None = None, drop: Iterable[str] = (),
             write: Callable[[zipfile.ZipFile], None] | None = None) -> bytes:
    """An .xlsx file with one sheet; ``drop`` leaves parts out, ``write`` adds parts of its own."""
    buffer = io.BytesIO()
    parts = {"[Content_Types].xml": _CONTENT_TYPES, "_rels/.rels": _ROOT_RELS, "xl/workbook.xml": _WORKBOOK,
             "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS, SHEET: sheet, STRINGS: strings_xml(strings or [])}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            if name not in drop and not (write and name == SHEET and content == b""):
                archive.writestr(name, content)
        if write is not None:
            write(archive)
    return buffer.getvalue()


@functools.cache
def bomb_member(unpacked: int = 1 << 30) -> bytes:
    """The deflated bytes of a sheet that unpacks to ``unpacked`` bytes of blanks (built once: ~2.5 s per GiB)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open(SHEET, "w", force_zip64=True) as stream:
            head = sheet_xml(AREAS).encode()
            cut = head.index(b"<sheetData>")
            stream.write(head[:cut])
            chunk = b" " * (1 << 20)
            for _ in range((unpacked - len(head)) >> 20):
                stream.write(chunk)
            stream.write(head[cut:])
    return buffer.getvalue()


def bomb_workbook(unpacked: int = 1 << 30) -> bytes:
    """A workbook of about a megabyte per GiB whose sheet unpacks to ``unpacked`` bytes."""
    with zipfile.ZipFile(io.BytesIO(bomb_member(unpacked))) as source:
        info = source.infolist()[0]
        deflated = source.open(info).read() if unpacked < (1 << 24) else None

    def copy(archive: zipfile.ZipFile) -> None:
        if deflated is not None:
            archive.writestr(SHEET, deflated)
            return
        # Copy the member as it is (compressed), without unpacking a gigabyte to do it.
        with zipfile.ZipFile(io.BytesIO(bomb_member(unpacked))) as source:
            member = source.infolist()[0]
            with source.open(member) as stream, archive.open(member, "w", force_zip64=True) as target:
                while chunk := stream.read(1 << 22):
                    target.write(chunk)

    return workbook(b"", write=copy)


def write_instance(folder: Path, areas: str = "areas.xlsx", extra: str = "") -> Path:
    """instance.yaml of the tiny instance, reading its areas from ``areas``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "instance.yaml"
    path.write_text(f"name: hostile\nspecialties: [{{id: gp, total: 6}}]\nareas: {areas}\n{extra}",
                    encoding="utf-8")
    return path


def _xlsx_case(content: bytes, extra: str = "") -> Callable[[Path], list[str]]:
    def build(folder: Path) -> list[str]:
        path = write_instance(folder, extra=extra)
        (folder / "areas.xlsx").write_bytes(content)
        return ["solve", str(path), "--out", str(folder / OUT), "-q"]

    return build


def _xlsx_lazy(make: Callable[[], bytes], extra: str = "") -> Callable[[Path], list[str]]:
    def build(folder: Path) -> list[str]:
        return _xlsx_case(make(), extra)(folder)

    return build


_ENTITIES = ('<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
             '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>')


def _shared_strings_workbook() -> bytes:
    shared: list[str] = []
    sheet = sheet_xml(AREAS, strings=shared)
    return workbook(sheet, strings=shared)


def _missing_sheet_name(folder: Path) -> list[str]:
    (folder / "areas.xlsx").parent.mkdir(parents=True, exist_ok=True)
    (folder / "areas.xlsx").write_bytes(workbook(sheet_xml(AREAS)))
    return ["solve", str(write_instance(folder, "areas.xlsx#Regions")), "--out", str(folder / OUT), "-q"]


def _index_over_hand_written(folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.md").write_text("# Our own notes\n", encoding="utf-8")
    return ["index", str(folder)]


def _index_over_broken_plan(folder: Path) -> list[str]:
    plan = folder / "instance" / "model" / "plan.json"
    plan.parent.mkdir(parents=True, exist_ok=True)
    plan.write_text('{"rows": [{"posts": "many"}]}', encoding="utf-8")
    return ["index", str(folder)]


def _index_over_plan_with_mixed_years(folder: Path) -> list[str]:
    plan = folder / "instance" / "model" / "plan.json"
    plan.parent.mkdir(parents=True, exist_ok=True)
    plan.write_text('{"objective": 1, "rows": [{"posts": 1, "year": 2021}, {"posts": 2}]}', encoding="utf-8")
    return ["index", str(folder)]


def _generate_over_symlink(folder: Path) -> list[str]:
    (folder / OUT).mkdir(parents=True, exist_ok=True)
    (folder / "precious.csv").write_text("keep me\n", encoding="utf-8")
    (folder / OUT / "areas.csv").symlink_to(folder / "precious.csv")
    return ["generate", "--out", str(folder / OUT), "--force", "--tree", "2,4"]


def _yaml_instance(folder: Path, body: str) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "instance.yaml").write_text("name: ids\nspecialties: [{id: gp, total: 6}]\n" + body, encoding="utf-8")
    return ["solve", str(folder / "instance.yaml"), "--out", str(folder / OUT), "-q"]


def _csv_instance(folder: Path, areas: str) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "areas.csv").write_text(areas, encoding="utf-8")
    return _yaml_instance(folder, "areas: areas.csv\n")


#: Århus spelt with the precomposed Å (NFC) and with A + combining ring (NFD): they print alike.
AARHUS_NFC, AARHUS_NFD = "\u00c5rhus", "A\u030arhus"

#: Builders of hostile cases by name: each writes its files into a folder and returns the arguments
#: of ``allocator``. docs/bad-input.md refers to them as ``hostile:NAME``.
CASES: dict[str, Callable[[Path], list[str]]] = {
    "xlsx_bomb": _xlsx_lazy(bomb_workbook),
    "xlsx_far_dimension": _xlsx_case(workbook(sheet_xml(AREAS, dimension="A1:XFD1048576"))),
    "xlsx_stale_dimension": _xlsx_case(workbook(sheet_xml(AREAS, dimension="A1:C3"))),
    "xlsx_formula_without_value": _xlsx_case(workbook(sheet_xml(
        [AREAS[0], AREAS[1], ["a", "R", "=1000+1000", None], AREAS[3]]))),
    "xlsx_entity_expansion": _xlsx_case(workbook(sheet_xml(
        [["id", "&lol3;"], ["a", 1]], prolog=_ENTITIES).replace("&amp;lol3;", "&lol3;"))),
    "xlsx_undefined_entity": _xlsx_case(workbook(sheet_xml(AREAS).replace("<t>R</t>", "<t>&nope;</t>", 1))),
    "xlsx_mismatched_tag": _xlsx_case(workbook(sheet_xml(AREAS).replace("</row>", "</col>", 1))),
    "xlsx_missing_sheet_part": _xlsx_case(workbook(sheet_xml(AREAS), drop=[SHEET])),
    "xlsx_missing_sheet_name": _missing_sheet_name,
    "xlsx_stray_cell_far_right": _xlsx_case(workbook(sheet_xml(
        AREAS[:3] + [AREAS[3] + [None] * 16379 + ["note"]]))),
    "xlsx_shared_strings": _xlsx_lazy(_shared_strings_workbook),
    "index_over_hand_written": _index_over_hand_written,
    "index_over_broken_plan": _index_over_broken_plan,
    "index_over_plan_with_mixed_years": _index_over_plan_with_mixed_years,
    "generate_over_symlink": _generate_over_symlink,
    "yaml_bare_ids": lambda folder: _yaml_instance(folder, (
        "areas: [{id: 0101, population: 1}, {id: 1:20, population: 2}, {id: 0x1F, population: 3},\n"
        "        {id: 1_000, population: 4}, {id: no, population: 5}]\n"
        "bounds: [{area: 0101, specialty: gp, min: 1}, {area: no, specialty: gp, max: 2}]\n")),
    "csv_header_in_capitals": lambda folder: _csv_instance(
        folder, "id,population,Underserved\na,2000,0\nb,1000,1\n"),
    "ids_nfc_and_nfd": lambda folder: _csv_instance(
        folder, f"id,population\n{AARHUS_NFC},2000\n{AARHUS_NFD},1000\n"),
    "ids_differing_in_case": lambda folder: _csv_instance(folder, "id,population\nAarhus,2000\naarhus,1000\n"),
    "reference_in_nfd": lambda folder: _csv_instance(folder, f"id,population\n{AARHUS_NFC},2000\nOdense,1000\n")
    and _yaml_instance(folder, f"areas: areas.csv\nbounds: [{{area: {AARHUS_NFD}, specialty: gp, max: 3}}]\n"),
}


# --- Fuzzing: random hostile workbooks and CSV files (benchmarks/fuzz_files.py runs thousands) ---------------

#: The kinds of input the fuzzer makes, each with its builder below.
FUZZ_KINDS = ("bomb", "dimension", "formula", "shared_strings", "malformed_xml", "csv")

_DIMENSIONS = ["A1:XFD1048576", "A1", "A1:A1", "B2:C3", "A1:ZZZ9", "XFD1048576", "", "A0:B-1", "A1:XFE1048577",
               "AAAAAAAA1:B2", "1:2", "A1:D" + "9" * 30]


def _random_rows(rng: Any) -> list[list[Any]]:
    """An areas table with a random shape: extra columns, blanks, far rows, odd values."""
    rows: list[list[Any]] = [list(row) for row in AREAS]
    for row in rows[2:]:
        if rng.random() < 0.3:
            row[2] = rng.choice([-1, 0, 1e300, "1.835.562", "924,5", "nan", "", " ", "x", 10 ** 20])
    if rng.random() < 0.3:
        rows[0].append(rng.choice(["per_gp", "Underserved", "", "id", "x" * 300]))
        for row in rows[1:]:
            row.append(rng.choice([None, 1, "ja", "=1"]))
    if rng.random() < 0.2:
        rows.extend([[None] * 4] * rng.randrange(3) + [["c", "R", 500, None]])
    return rows


def _fuzz_bomb(rng: Any) -> bytes:
    size = rng.choice([1 << 20, 64 << 20, 96 << 20, 120 << 20, 1 << 30])
    if rng.random() < 0.5:
        return bomb_workbook(size)
    # The bomb in the shared strings instead of the sheet.
    with zipfile.ZipFile(io.BytesIO(bomb_member(size))) as source:
        member = source.infolist()[0]
        blob = source.open(member).read() if size <= (64 << 20) else None

    def strings(archive: zipfile.ZipFile) -> None:
        if blob is not None:
            archive.writestr(STRINGS, blob.replace(b"<worksheet", b"<sst", 1))
            return
        with zipfile.ZipFile(io.BytesIO(bomb_member(size))) as source:
            with source.open(member) as stream, archive.open(STRINGS, "w", force_zip64=True) as target:
                while chunk := stream.read(1 << 22):
                    target.write(chunk)

    return workbook(sheet_xml(AREAS), drop=[STRINGS], write=strings)


def _fuzz_dimension(rng: Any) -> bytes:
    rows = _random_rows(rng)
    first = rng.choice([1, 1, 2, 1000, 1048576 - len(rows)])
    return workbook(sheet_xml(rows, dimension=rng.choice(_DIMENSIONS), first_row=first))


def _fuzz_formula(rng: Any) -> bytes:
    rows = _random_rows(rng)
    for row in rows[rng.randrange(len(rows)):]:
        column = rng.randrange(len(row))
        row[column] = rng.choice(["=1+1", "=A1", "=SUM(C1:C3)", "=cmd|' /C calc'!A0", "=HYPERLINK(\"x\")"])
    sheet = sheet_xml(rows)
    if rng.random() < 0.5:  # some formulas carry a saved value, as Excel writes them
        sheet = sheet.replace("</f></c>", "</f><v>7</v></c>", rng.randrange(1, 4))
    return workbook(sheet)


def _fuzz_shared_strings(rng: Any) -> bytes:
    shared: list[str] = []
    sheet = sheet_xml(_random_rows(rng), strings=shared)
    roll = rng.random()
    if roll < 0.25:
        sheet = sheet.replace('t="s"><v>0</v>', f't="s"><v>{rng.choice([-1, 10 ** 6, "x", ""])}</v>', 1)
    elif roll < 0.5:
        shared = shared[: rng.randrange(len(shared) + 1)]
    elif roll < 0.75:
        shared = [text * rng.choice([1, 1000]) + rng.choice(["", "\x00", "&amp;", "\u202e"]) for text in shared]
    return workbook(sheet, strings=shared)


def _fuzz_malformed_xml(rng: Any) -> bytes:
    parts = {SHEET: sheet_xml(_random_rows(rng)), "xl/workbook.xml": _WORKBOOK, "[Content_Types].xml": _CONTENT_TYPES,
             "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS, STRINGS: strings_xml([])}
    target = rng.choice(sorted(parts))
    text = parts[target]
    roll = rng.random()
    if roll < 0.2:
        text = text[: rng.randrange(len(text))]
    elif roll < 0.4:
        position = rng.randrange(len(text))
        text = text[:position] + rng.choice(["<", ">", "&", "&nope;", "</x>", "\x00", "<!--", "]]>", "\"", "\ufffe"]) + \
            text[position:]
    elif roll < 0.55:
        text = text.replace("?>", "?>" + _ENTITIES, 1).replace("<t>R</t>", "<t>&lol3;</t>", 1)
    elif roll < 0.7:
        text = text.replace("?>", '?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>', 1) \
            .replace("<t>R</t>", "<t>&e;</t>", 1)
    elif roll < 0.85:
        depth = rng.choice([100, 10_000, 200_000])
        text = text.replace("<sheetData>", "<sheetData>" + "<x>" * depth + "</x>" * depth, 1)
    else:
        text = text.replace("worksheet", rng.choice(["worksheets", "x:worksheet", ""]), 1)
    builder = dict(parts)
    builder[target] = text
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in builder.items():
            if rng.random() < 0.05:
                continue  # now and then a part is missing altogether
            archive.writestr(name, content)
    data = buffer.getvalue()
    if rng.random() < 0.1:  # and now and then the zip itself is cut or flipped
        position = rng.randrange(len(data))
        data = data[:position] + bytes([rng.randrange(256)]) + data[position + 1:] if rng.random() < 0.5 \
            else data[:position]
    return data


def _fuzz_csv(rng: Any) -> bytes:
    lines = ["id,parent,population,underserved", "R,,,", "a,R,2000,", "b,R,1000,yes"]
    roll = rng.random()
    if roll < 0.2:
        lines.append(",".join(["x"] * rng.choice([5, 10_000, 200_000])))
    elif roll < 0.4:
        lines[2] = lines[2].replace("a", rng.choice(['"a', '"', "a\x00", "=1+1", "'=1", "\r", "a\rb", "\ufeff"]), 1)
    elif roll < 0.6:
        # Long tables: valid ones up to 20,000 areas (scale is measured by `make bench`, not here), and
        # 100,000 rows with one bad row at the very end, which must be read through to be found.
        count = rng.choice([10, 20_000, 100_000])
        lines += [f"l{k},R,{rng.randrange(10 ** 6)}," for k in range(count)]
        if count == 100_000:
            lines.append("l-bad,R,many,")
    elif roll < 0.8:
        lines = [line.replace(",", rng.choice([";", "\t", ",,", '","'])) for line in lines]
    else:
        lines[0] = rng.choice(["Id,Parent,Population,Underserved", "id,id,population", "\ufeffid,population",
                               "", " , , ", "id," + ",".join(f"c{k}" for k in range(5000))])
    data = "\n".join(lines).encode("utf-8")
    if rng.random() < 0.2:
        data = data.decode("utf-8").encode("cp1252", "replace")
    return data


_FUZZERS = {"bomb": _fuzz_bomb, "dimension": _fuzz_dimension, "formula": _fuzz_formula,
            "shared_strings": _fuzz_shared_strings, "malformed_xml": _fuzz_malformed_xml, "csv": _fuzz_csv}


def fuzz_case(kind: str, seed: int, folder: Path) -> list[str]:
    """Write one random hostile input of ``kind`` (see :data:`FUZZ_KINDS`) and return the solve command for it."""
    import random

    rng = random.Random(f"{kind}-{seed}")
    content = _FUZZERS[kind](rng)
    name = "areas.csv" if kind == "csv" else "areas.xlsx"
    path = write_instance(folder, name)
    (folder / name).write_bytes(content)
    return ["solve", str(path), "--out", str(folder / OUT), "-q", "--no-xlsx"]
